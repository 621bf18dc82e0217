/** Opens any supported model folder as the encoder its layout describes. */
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
