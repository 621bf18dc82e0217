/**
 * The committed golden fixtures of the model tests (test/fixtures/models, made by
 * test/reference/make_model_fixtures.py): `golden.safetensors` holds PyLate's and sentence-transformers'
 * token ids, masks and embeddings, and in its metadata the texts they came from.
 */
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { readCheckpointTensors, readSafetensors } from '../../lib/models/safetensors';
import type { TokenizedBatch } from '../../lib/index';
import { PROJECT_ROOT } from './shared';

/** The fixture folder: model checkpoints (`colbert`, `dense`, `hf-mlm`, ...) beside `golden.safetensors`. */
export const FIX = path.join(PROJECT_ROOT, 'test', 'fixtures', 'models');

export type G = { shape: number[]; data: Float32Array | Int32Array };
const golden = readSafetensors(path.join(FIX, 'golden.safetensors'));

/** A golden tensor by key; a missing key fails the test naming it. */
export const g = (k: string): G => {
  const t = golden.tensors.get(k);
  assert.ok(t, `golden lacks ${k}`);
  return t as unknown as G;
};

/** A list of texts recorded in the golden metadata (`queries`, `documents`, `dense_texts`). */
export const meta = (k: string): string[] => JSON.parse(golden.metadata[k]);

/** The golden batch for a prefix, as a TokenizedBatch. */
export function goldenBatch(prefix: string): TokenizedBatch {
  const ids = g(`${prefix}.input_ids`);
  return {
    n: ids.shape[0],
    length: ids.shape[1],
    inputIds: ids.data as Int32Array,
    attentionMask: g(`${prefix}.attention_mask`).data as Int32Array,
    scoringMask: g(`${prefix}.mask`).data as Int32Array,
  };
}

/** Embeddings at scored positions only: [n·L, dim] rows where mask = 1. */
export function scored(emb: ArrayLike<number>, mask: ArrayLike<number>, dim: number): Float32Array {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) for (let d = 0; d < dim; d++) out.push(emb[i * dim + d]);
  return Float32Array.from(out);
}

/**
 * The transformers ModernBERT masked-LM fixture (`hf-mlm`): its folder and a getter of its tensors by the
 * backbone's names (transformers saves them with or without the `model.` prefix).
 */
export function hfMlmFixture(): { dir: string; get: (name: string) => { shape: number[]; data: Float32Array } | undefined } {
  const dir = path.join(FIX, 'hf-mlm');
  const { tensors } = readCheckpointTensors(dir);
  return {
    dir,
    get: (name) => {
      const t = tensors.get(name) ?? tensors.get(`model.${name}`);
      return t ? { shape: t.shape, data: t.data as Float32Array } : undefined;
    },
  };
}
