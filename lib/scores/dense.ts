/**
 * Single-vector scores beside MaxSim: dot product and cosine similarity, as a matrix (every a against
 * every b → [n, m]) or pairwise (row i against row i → [n]). Differentiable; products via lib/backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../backend/index';
import { UserError } from '../util/errors';

function check2d(a: tf.Tensor, b: tf.Tensor, sameRows: boolean): void {
  const ok = a.rank === 2 && b.rank === 2 && a.shape[1] === b.shape[1] && (!sameRows || a.shape[0] === b.shape[0]);
  if (!ok) throw new UserError(`dense scores: shapes [${a.shape}] and [${b.shape}] do not fit`);
}

/** Rows scaled to unit L2 norm (a zero row stays zero rather than becoming NaN). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

/** a [n, d] · b [m, d]ᵀ → [n, m]. */
export function dotScores(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  check2d(a, b, false);
  return matMul(a, b, false, true);
}

/** Cosine similarity of every row of a with every row of b → [n, m]. */
export function cosineScores(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  check2d(a, b, false);
  return tf.tidy(() => matMul(l2Normalize(a), l2Normalize(b), false, true));
}

/** Row i of a · row i of b → [n]. */
export function dotScoresPairwise(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  check2d(a, b, true);
  return tf.tidy(() => tf.sum(tf.mul(a, b), 1) as tf.Tensor1D);
}

/** Cosine similarity of row i of a with row i of b → [n]. */
export function cosineScoresPairwise(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  check2d(a, b, true);
  return tf.tidy(() => tf.sum(tf.mul(l2Normalize(a), l2Normalize(b)), 1) as tf.Tensor1D);
}
