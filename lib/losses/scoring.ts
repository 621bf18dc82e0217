/**
 * The two score layouts the losses need, on `Encoded` outputs:
 *   pairwiseScores: every query against every document → [queries, documents]   (contrastive)
 *   groupScores:    each query against its own n documents (query-major) → [B, n] (distillation)
 * Dense: dot product of the (normalised) vectors. ColBERT: MaxSim — for each query token the best
 * document token among scored ones, summed over scored query tokens.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded } from '../models/encoder';
import { maxsimGroups, maxsimMatrix, denseScoreMatrix, denseGroups } from './scores-adapter';

export function pairwiseScores(q: Encoded, d: Encoded): tf.Tensor2D {
  if (q.kind !== d.kind) throw new Error(`scores: query ${q.kind} vs document ${d.kind} embeddings`);
  if (q.kind === 'dense') return denseScoreMatrix(q.embeddings as tf.Tensor2D, d.embeddings as tf.Tensor2D);
  return maxsimMatrix(q.embeddings as tf.Tensor3D, q.mask!, d.embeddings as tf.Tensor3D, d.mask!);
}

export function groupScores(q: Encoded, d: Encoded, n: number): tf.Tensor2D {
  if (q.kind !== d.kind) throw new Error(`scores: query ${q.kind} vs document ${d.kind} embeddings`);
  if (d.embeddings.shape[0] !== q.embeddings.shape[0] * n) {
    throw new Error(`scores: ${d.embeddings.shape[0]} documents for ${q.embeddings.shape[0]} queries × ${n}`);
  }
  if (q.kind === 'dense') return denseGroups(q.embeddings as tf.Tensor2D, d.embeddings as tf.Tensor2D, n);
  return maxsimGroups(q.embeddings as tf.Tensor3D, q.mask!, d.embeddings as tf.Tensor3D, d.mask!, n);
}
