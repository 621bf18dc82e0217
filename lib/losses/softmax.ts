/**
 * Row-wise log-softmax whose gradient never carries subnormal floats.
 *
 * InfoNCE divides MaxSim scores (up to the query length) by a small temperature, so a row of logits can
 * span hundreds of units and softmax probabilities fall below float32's smallest normal (2^-126). Those
 * subnormal values then flow through every backward matrix product, and wasm has no flush-to-zero mode:
 * a product with subnormal inputs runs ~100× slower (a training step of the tiny benchmark model spent
 * most of its backward there). The backward here zeroes probabilities below 2^-64 before using them:
 * next to the row's largest probability (≥ 1/row length) such a term is below float32 rounding of any
 * sum it enters, so the gradient is the same up to rounding. The forward value is tf.logSoftmax's.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Probabilities below this are dropped from the gradient (see above). */
const SOFTMAX_GRAD_FLOOR = 2 ** -64;

/** log(softmax(x)) over axis 1 of [rows, cols] logits. */
export const logSoftmaxRows = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const value = tf.logSoftmax(x as tf.Tensor2D, 1);
  save([value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const p = tf.exp(saved[0]);
      const kept = tf.mul(p, tf.cast(tf.greaterEqual(p, SOFTMAX_GRAD_FLOOR), 'float32'));
      return tf.sub(dy, tf.mul(kept, tf.sum(dy, 1, true)));
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
