/** Opens any supported model folder as the tfjs model its layout describes. */
import { UserError } from '../util/errors';
import { ColbertModel, type ColbertLoadOptions } from './colbert';
import { DenseModel } from './dense';
import type { HeadKind } from '../scores/encoded';
import { folderFingerprint, ModelFolder } from './model-folder';

export interface TfjsLoadOptions {
  /** Head for a plain ModernBERT folder: 'colbert' builds PyLate's head on it, 'dense' mean-pools; unset, such a folder is an error. */
  fallback?: HeadKind;
  /** PyLate settings (tokenization overrides; projection size and seed for a plain folder). */
  colbert?: ColbertLoadOptions;
  /** Sentence-transformers settings of a dense folder (e.g. the max_seq_length an evaluation reads at). */
  dense?: { maxSeqLength?: number };
}

/**
 * PyLate folder → ColbertModel; sentence-transformers folder with Pooling → DenseModel; a plain
 * ModernBERT folder → `fallback`, else an error. The tfjs step of `loadEncoder` (./engine), which is the
 * entry point; the ONNX export builds its graph from this.
 */
export async function loadTfjsModel(source: string | ModelFolder, opts: TfjsLoadOptions = {}): Promise<ColbertModel | DenseModel> {
  const folder = ModelFolder.of(source);
  const kind = folder.kind === 'transformer' ? opts.fallback : folder.kind;
  if (kind === 'colbert') return ColbertModel.fromPretrained(folder, opts.colbert);
  if (kind === 'dense') return DenseModel.fromPretrained(folder, opts.dense?.maxSeqLength ? { maxSeqLength: opts.dense.maxSeqLength } : {});
  throw new UserError(`${folder.dir}: a plain transformer folder without a ColBERT or pooling head (save one with init-model --head, or load it with an explicit head)`);
}

/**
 * A model folder's identity (see `folderFingerprint`): sha256 over the files that shape its outputs.
 * An open `ModelFolder` computes it once.
 */
export function modelFingerprint(source: string | ModelFolder): string {
  return typeof source === 'string' ? folderFingerprint(source) : source.fingerprint();
}
