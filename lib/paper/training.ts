/**
 * Table 1 (training settings per phase) as typed values, and the three pipelines of Figure 2 with what they
 * cost by Table 1 and score by Table 2.
 *
 *   trainingSettings()     Table 1 parsed: LR range, batch size, temperature, lengths, GPU-hours per phase
 *   PAPER_PIPELINES        (a) (b) (c): their Table 2 rows and the Table 1 phases each runs
 *   pipelineCosts()        each pipeline's BEIR average and GPU-hours
 */
import { UserError } from '../util/errors';
import { beirRows, paperTable, tableFile, PAPER_DIR } from './tables';

export interface PhaseSettings {
  phase: 'unsupervised' | 'supervised' | 'kd';
  /** learning-rate sweep bounds as printed, [high, low], swept logarithmically over `lrValues` values */
  lrRange: [number, number];
  lrValues: number;
  /** effective batch size (KD: with gradient accumulation) */
  batchSize: number;
  gradientAccumulation: number;
  /** InfoNCE temperature; null for KD ("n.a.") */
  temperature: number | null;
  /** lengths in tokens, prompt tokens included */
  queryLength: number;
  documentLength: number;
  gpuHours: number;
  gpus: number;
  gpu: string;
}

/** Table 1 parsed into typed settings per phase. */
export function trainingSettings(dir = PAPER_DIR): PhaseSettings[] {
  const t = paperTable(1, dir);
  const file = tableFile(1, dir);
  const facts = t.captionFacts;
  if (!facts) throw new UserError(`${file}: missing "captionFacts"`);
  const col = (label: string) => {
    const k = t.columns.findIndex((c) => c.label === label);
    if (k < 0) throw new UserError(`${file}: no column "${label}"`);
    return k;
  };
  const num = (r: number, label: string, text: string) => {
    if (!/^\d+(\.\d+)?$/.test(text)) throw new UserError(`${file}: rows.${r} column "${label}": "${text}" is not a number`);
    return Number(text);
  };
  return t.rows.map((row, r) => {
    const phase = row.id;
    if (phase !== 'unsupervised' && phase !== 'supervised' && phase !== 'kd') throw new UserError(`${file}: rows.${r}: unknown phase "${row.id}"`);
    const lr = /^\[(\d(?:\.\d+)?e-\d+), (\d(?:\.\d+)?e-\d+)\]$/.exec(row.cells[col('LR sweep range')]);
    if (!lr) throw new UserError(`${file}: rows.${r} column "LR sweep range": "${row.cells[col('LR sweep range')]}" is not "[a, b]"`);
    const bsText = row.cells[col('Batch size')];
    const starred = bsText.endsWith('*');
    const temp = row.cells[col('Temp.')];
    const nodes = facts.nodes[phase];
    if (nodes === undefined) throw new UserError(`${file}: captionFacts.nodes has no "${phase}"`);
    return {
      phase,
      lrRange: [Number(lr[1]), Number(lr[2])],
      lrValues: facts.lrValuesPerPhase,
      batchSize: num(r, 'Batch size', starred ? bsText.slice(0, -1) : bsText),
      gradientAccumulation: starred ? facts.kdGradientAccumulation : 1,
      temperature: temp === 'n.a.' ? null : num(r, 'Temp.', temp),
      queryLength: num(r, 'Query length', row.cells[col('Query length')]),
      documentLength: num(r, 'Doc. length', row.cells[col('Doc. length')]),
      gpuHours: num(r, 'GPU hours', row.cells[col('GPU hours')]),
      gpus: nodes * facts.gpusPerNode,
      gpu: facts.gpu,
    };
  });
}

export type PaperPipeline = 'a' | 'b' | 'c';

/**
 * The three pipelines of Figure 2 as Table 2 rows and the Table 1 phases each runs in the ColBERT setting:
 * (a) KD-only from the dense supervised model, (b) supervised + KD from the dense unsupervised model,
 * (c) ColBERT-Zero, every phase. The dense phases that (a) and (b) start from were trained by Nomic and are
 * not counted, as in the paper's "40 GH200-hours instead of 408".
 */
export const PAPER_PIPELINES: Record<PaperPipeline, { name: string; table2Row: string; phases: PhaseSettings['phase'][] }> = {
  a: { name: 'KD-only', table2Row: 'kd-from-dense-supervised/embed-base-distilled', phases: ['kd'] },
  b: { name: 'supervised + KD', table2Row: 'supervised-plus-kd-from-dense-unsupervised/embed-base-distilled', phases: ['supervised', 'kd'] },
  c: { name: 'ColBERT-Zero', table2Row: 'colbert-zero-full-pre-training/distilled', phases: ['unsupervised', 'supervised', 'kd'] },
};

/** Table 1 × Table 2: each pipeline's BEIR average and the GPU-hours of the phases it runs. */
export function pipelineCosts(dir = PAPER_DIR): { pipeline: PaperPipeline; name: string; avg: number; gpuHours: number }[] {
  const rows = new Map(beirRows(2, dir).map((r) => [r.id, r]));
  const hours = new Map(trainingSettings(dir).map((s) => [s.phase, s.gpuHours]));
  return (Object.keys(PAPER_PIPELINES) as PaperPipeline[]).map((p) => {
    const def = PAPER_PIPELINES[p];
    const row = rows.get(def.table2Row);
    if (!row) throw new UserError(`Table 2 has no row "${def.table2Row}" (pipeline ${p})`);
    return { pipeline: p, name: def.name, avg: row.avg, gpuHours: def.phases.reduce((s, ph) => s + hours.get(ph)!, 0) };
  });
}
