/**
 * The two score layouts the losses need, on `Encoded` outputs (kernels from lib/scores):
 *   pairwiseScores: every query against every document → [queries, documents]   (contrastive)
 *   groupScores:    each query against its own n documents (query-major) → [B, n] (distillation)
 * Dense: cosine similarity (sentence-transformers' default; equals the dot product for normalised vectors). ColBERT: MaxSim with masks.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded } from '../scores/encoded';
import { colbertKdScores, colbertScores, cosineScores, l2Normalize } from '../scores/index';
import { UserError } from '../util/errors';

/**
 * Similarities per MaxSim block during training: 4M floats (16 MB). Smaller than lib/scores' default so
 * that scoring a large in-batch-negatives batch does not dominate a GradCache step's memory.
 */
export const TRAIN_MAXSIM_BLOCK_FLOATS = 4 * 1024 * 1024;

export function pairwiseScores(q: Encoded, d: Encoded): tf.Tensor2D {
  if (q.kind !== d.kind) throw new UserError(`scores: query ${q.kind} vs document ${d.kind} embeddings`);
  if (q.kind === 'dense') return cosineScores(q.embeddings as tf.Tensor2D, d.embeddings as tf.Tensor2D);
  return colbertScores(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask, { blockFloats: TRAIN_MAXSIM_BLOCK_FLOATS });
}

export function groupScores(q: Encoded, d: Encoded, n: number): tf.Tensor2D {
  if (q.kind !== d.kind) throw new UserError(`scores: query ${q.kind} vs document ${d.kind} embeddings`);
  const b = q.embeddings.shape[0];
  if (d.embeddings.shape[0] !== b * n) throw new UserError(`scores: ${d.embeddings.shape[0]} documents for ${b} queries × ${n}`);
  return tf.tidy(() => {
    if (q.kind === 'dense') {
      const dim = q.embeddings.shape[1]!;
      const qn = l2Normalize(q.embeddings as tf.Tensor2D).reshape([b, 1, dim]);
      return tf.sum(tf.mul(qn, l2Normalize(d.embeddings as tf.Tensor2D).reshape([b, n, dim])), 2) as tf.Tensor2D;
    }
    const [, ld, dim] = d.embeddings.shape as number[];
    return colbertKdScores(
      q.embeddings as tf.Tensor3D,
      d.embeddings.reshape([b, n, ld, dim]) as tf.Tensor4D,
      q.mask,
      d.mask ? (d.mask.reshape([b, n, ld]) as tf.Tensor3D) : undefined,
    );
  });
}
