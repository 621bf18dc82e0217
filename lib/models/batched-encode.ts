/**
 * Inference over many texts: longest texts first (as PyLate and sentence-transformers sort, so each
 * batch pads little), one forward pass per batch, results put back in input order. Token-level outputs
 * are padded to the longest batch so they fit one [n, length, dim] tensor, and every position the mask
 * leaves out (padding, skiplist) is zero, so the result does not depend on how texts were batched.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded, HeadKind } from '../scores/encoded';
import type { Role, TokenizedBatch } from '../tokenize/types';

export interface EncodeOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function encodeBatched(
  kind: HeadKind,
  dim: number,
  texts: string[],
  role: Role,
  tokenize: (texts: string[], role: Role) => TokenizedBatch,
  forward: (batch: TokenizedBatch) => Encoded | Promise<Encoded>,
  opts: EncodeOptions = {},
): Promise<Encoded> {
  const batchSize = Math.max(1, opts.batchSize ?? 32);
  const n = texts.length;
  // Sort by length, longest first (sentence-transformers' _text_length is the character count).
  const order = texts.map((_, i) => i).sort((a, b) => texts[b].length - texts[a].length || a - b);
  const parts: { rows: number[]; L: number; emb: Float32Array; mask?: Float32Array }[] = [];
  let done = 0;
  for (let start = 0; start < n; start += batchSize) {
    const rows = order.slice(start, start + batchSize);
    const batch = tokenize(rows.map((i) => texts[i]), role);
    const out = await forward(batch);
    parts.push({ rows, L: batch.length, emb: (await out.embeddings.data()) as Float32Array, mask: out.mask ? ((await out.mask.data()) as Float32Array) : undefined });
    tf.dispose([out.embeddings, out.mask].filter((t): t is tf.Tensor => !!t));
    done += rows.length;
    opts.onProgress?.(done, n);
    await new Promise((r) => setImmediate(r));
  }
  if (kind === 'dense') {
    const all = new Float32Array(n * dim);
    for (const p of parts) p.rows.forEach((row, j) => all.set(p.emb.subarray(j * dim, (j + 1) * dim), row * dim));
    return { kind, embeddings: tf.tensor2d(all, [n, dim]) };
  }
  const L = Math.max(0, ...parts.map((p) => p.L));
  const emb = new Float32Array(n * L * dim);
  const mask = new Float32Array(n * L);
  for (const p of parts) {
    p.rows.forEach((row, j) => {
      for (let t = 0; t < p.L; t++) {
        const m = p.mask![j * p.L + t];
        mask[row * L + t] = m;
        if (m) emb.set(p.emb.subarray((j * p.L + t) * dim, (j * p.L + t + 1) * dim), (row * L + t) * dim);
      }
    });
  }
  return { kind, embeddings: tf.tensor3d(emb, [n, L, dim]), mask: tf.tensor2d(mask, [n, L]) };
}
