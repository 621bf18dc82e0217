/** Row slicing and concatenation of tokenized batches and encoder outputs (mini-batches, device shards). */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded } from '../scores/encoded';
import type { TokenizedBatch } from '../tokenize/types';

export function sliceRows(b: TokenizedBatch, start: number, end: number): TokenizedBatch {
  const L = b.length;
  return {
    n: end - start,
    length: L,
    inputIds: b.inputIds.subarray(start * L, end * L),
    attentionMask: b.attentionMask.subarray(start * L, end * L),
    scoringMask: b.scoringMask.subarray(start * L, end * L),
  };
}

/** Concatenates encoder outputs along the batch axis (all of one kind). */
export function concatEncoded(parts: Encoded[]): Encoded {
  if (parts.length === 1) return parts[0];
  const kind = parts[0].kind;
  const embeddings = tf.concat(parts.map((p) => p.embeddings), 0);
  if (kind === 'dense') return { kind, embeddings };
  return { kind, embeddings, mask: tf.concat(parts.map((p) => p.mask!), 0) as tf.Tensor2D };
}

/** Row ranges [start, end) of at most `size` rows covering [from, to). */
export function chunks(from: number, to: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = from; s < to; s += size) out.push([s, Math.min(to, s + size)]);
  return out;
}

/** tf.tidy for a function returning Encoded: keeps only its embeddings and mask. */
export function tidyEncoded(fn: () => Encoded): Encoded {
  let kind: Encoded['kind'] = 'dense';
  const r = tf.tidy(() => {
    const e = fn();
    kind = e.kind;
    return e.mask ? { embeddings: e.embeddings, mask: e.mask } : { embeddings: e.embeddings };
  });
  return { kind, embeddings: r.embeddings, mask: (r as { mask?: tf.Tensor2D }).mask };
}
