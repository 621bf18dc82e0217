/**
 * Differentiable score kernels used by the losses (wasm fast-path matMuls only).
 * Masks are float32 {0,1}; masked document tokens never win the max, masked query tokens add nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul, batchMatMul } from '../backend/matmul';

const NEG = -1e4; // below any cosine similarity; keeps gradients finite unlike -Infinity

export function denseScoreMatrix(q: tf.Tensor2D, d: tf.Tensor2D): tf.Tensor2D {
  return matMul(q, d, false, true);
}

export function denseGroups(q: tf.Tensor2D, d: tf.Tensor2D, n: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, dim] = q.shape;
    return tf.sum(tf.mul(q.reshape([b, 1, dim]), d.reshape([b, n, dim])), 2) as tf.Tensor2D;
  });
}

export function maxsimMatrix(q: tf.Tensor3D, qMask: tf.Tensor2D, d: tf.Tensor3D, dMask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [bq, lq, dim] = q.shape;
    const [bd, ld] = d.shape;
    const sim = matMul(q.reshape([bq * lq, dim]), d.reshape([bd * ld, dim]), false, true).reshape([bq, lq, bd, ld]);
    const penalty = tf.mul(tf.sub(1, dMask), NEG).reshape([1, 1, bd, ld]);
    const best = tf.max(tf.add(sim, penalty), 3); // [bq, lq, bd]
    return tf.sum(tf.mul(best, qMask.reshape([bq, lq, 1])), 1) as tf.Tensor2D;
  });
}

export function maxsimGroups(q: tf.Tensor3D, qMask: tf.Tensor2D, d: tf.Tensor3D, dMask: tf.Tensor2D, n: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, lq, dim] = q.shape;
    const ld = d.shape[1];
    const sim = batchMatMul(q, d.reshape([b, n * ld, dim]), false, true).reshape([b, lq, n, ld]);
    const penalty = tf.mul(tf.sub(1, dMask), NEG).reshape([b, 1, n, ld]);
    const best = tf.max(tf.add(sim, penalty), 3); // [b, lq, n]
    return tf.sum(tf.mul(best, qMask.reshape([b, lq, 1])), 1) as tf.Tensor2D;
  });
}
