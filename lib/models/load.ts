/** Opens any supported model folder as the encoder its layout describes. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { inspectCheckpoint } from './checkpoint-files';
import { ColbertModel, type ColbertLoadOptions } from './colbert';
import { DenseModel } from './dense';

/**
 * PyLate folder → ColbertModel; sentence-transformers folder with Pooling → DenseModel; a plain
 * ModernBERT folder → `fallback` ('colbert' builds PyLate's head on it, 'dense' mean-pools), else an error.
 */
export async function loadEncoder(dir: string, opts: { fallback?: 'colbert' | 'dense'; colbert?: ColbertLoadOptions } = {}): Promise<ColbertModel | DenseModel> {
  const layout = inspectCheckpoint(dir);
  const kind = layout.kind === 'transformer' ? opts.fallback : layout.kind;
  if (kind === 'colbert') return ColbertModel.fromPretrained(dir, opts.colbert);
  if (kind === 'dense') return DenseModel.fromPretrained(dir);
  throw new UserError(`${dir}: a plain transformer folder without a ColBERT or pooling head (save one with init-model --head, or load it with an explicit head)`);
}

/**
 * A model folder's identity: sha256 over every file that shapes its outputs (weights, configs, tokenizer;
 * not caches such as an exported ONNX graph), with their relative paths. Two folders with the same
 * weights and tokenization settings have the same fingerprint wherever they are.
 */
export function modelFingerprint(dir: string): string {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.(json|safetensors|txt|model)$/.test(e.name)) files.push(p);
    }
  };
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: not a model folder`);
  walk(dir);
  const h = crypto.createHash('sha256');
  for (const f of files.sort()) {
    h.update(path.relative(dir, f).split(path.sep).join('/') + '\0');
    h.update(fs.readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}
