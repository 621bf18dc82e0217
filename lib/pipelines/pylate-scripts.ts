/**
 * The exported training scripts (lib/pipelines/export-pylate.ts), assembled from the Python files in
 * ./pylate: one self-contained script per phase — head.py (the header comment and the phase's settings as a
 * JSON block, PHASE), common.py (arguments, the world size, JSONL sources, precision, the atomic final
 * save), then its objective's code. Masked LM (mlm.py) with transformers' Trainer; contrastive phases with
 * sentence-transformers (contrastive_dense.py: CachedMultipleNegativesRankingLoss /
 * MultipleNegativesRankingLoss) or PyLate (contrastive_colbert.py: CachedContrastive / Contrastive);
 * distillation (distillation.py) with PyLate's Distillation loss; data.py and st_args.py are shared by the
 * sentence-transformers phases. Written against torch 2.10, transformers 5.3, sentence-transformers 5.3
 * and pylate 1.6. The fragments use PHASE, which head.py defines.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fillTemplate } from '../util/template';

/** The Python files, beside this module (the CLI and notebooks run the sources as they are). */
export const PYLATE_DIR = path.join(__dirname, 'pylate');

export const PYLATE_FILES = ['head.py', 'common.py', 'data.py', 'st_args.py', 'mlm.py', 'contrastive_colbert.py', 'contrastive_dense.py', 'distillation.py'] as const;
type PylateFile = (typeof PYLATE_FILES)[number];

const cache = new Map<PylateFile, string>();
function py(name: PylateFile): string {
  let text = cache.get(name);
  if (text === undefined) cache.set(name, (text = fs.readFileSync(path.join(PYLATE_DIR, name), 'utf8')));
  return text;
}

/** The files of one phase's script, in order, after head.py. */
function bodyFiles(objective: string, setting: string): PylateFile[] {
  if (objective === 'mlm') return ['common.py', 'mlm.py'];
  if (objective === 'distillation') return ['common.py', 'data.py', 'st_args.py', 'distillation.py'];
  return ['common.py', 'data.py', 'st_args.py', setting === 'dense' ? 'contrastive_dense.py' : 'contrastive_colbert.py'];
}

/** The script of one phase: header, settings (JSON, read with json.loads), common helpers, its objective's code. */
export function phaseScript(o: { header: string[]; settings: Record<string, unknown>; objective: string; setting: string }): string {
  const json = JSON.stringify(o.settings, null, 2);
  if (json.includes("'''")) throw new Error('phase settings contain a triple quote');
  const head = fillTemplate(py('head.py'), { HEADER: o.header.map((l) => `# ${l}`).join('\n'), PHASE_JSON: json }, 'pylate/head.py');
  return [head, ...bodyFiles(o.objective, o.setting).map(py)].join('\n');
}
