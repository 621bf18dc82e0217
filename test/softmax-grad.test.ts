/**
 * logSoftmaxRows (lib/losses/softmax.ts): same value as tf.logSoftmax, gradient equal to tf's autodiff
 * on the reference cpu backend, and no subnormal floats in the gradient of very wide logit rows.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { logSoftmaxRows } from '../lib/losses/softmax';
import { assertClose, assertEachClose, seededFloats } from './helpers/tensors';

before(async () => {
  await initBackend('cpu');
});

const ROWS = 6;
const COLS = 9;

/** Value and gradient of Σ w ⊙ f(x) for logits spread over ±spread. */
function valueAndGrad(f: (x: tf.Tensor2D) => tf.Tensor2D, spread: number): { value: Float32Array; grad: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor2d(seededFloats(ROWS * COLS, 11).map((v) => v * spread), [ROWS, COLS]);
    const w = tf.tensor2d(seededFloats(ROWS * COLS, 12), [ROWS, COLS]);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor2D), w)))(x);
    return { value: f(x).dataSync() as Float32Array, grad: grad.dataSync() as Float32Array };
  });
}

test('logSoftmaxRows: value and gradient match tf autodiff on cpu', () => {
  for (const spread of [1, 20]) {
    const ours = valueAndGrad(logSoftmaxRows, spread);
    const ref = valueAndGrad((x) => tf.logSoftmax(x, 1), spread);
    assertClose(ours.value, ref.value, 1e-6, `value (spread ${spread})`);
    assertEachClose(ours.grad, ref.grad, 1e-5, `gradient (spread ${spread})`);
  }
});

test('logSoftmaxRows: gradient of rows whose probabilities underflow to subnormals has none', () => {
  // exp(-90) … exp(-100) are subnormal in float32; tf's gradient carries them, ours zeroes them.
  const row = [0, -1, -90, -95, -100, -3];
  const x = tf.tensor2d([...row, ...row.map((v) => v * 0.5)], [2, row.length]);
  // Weight only on column 0, as InfoNCE's one-hot pick: the other columns' gradient is −p·Σw alone.
  const w = tf.tensor2d([1.5, 0, 0, 0, 0, 0, -0.7, 0, 0, 0, 0, 0], [2, row.length]);
  const grad = (f: (t: tf.Tensor2D) => tf.Tensor2D) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor2D), w)))(x).dataSync() as Float32Array;
  const ours = grad(logSoftmaxRows);
  const ref = grad((t) => tf.logSoftmax(t, 1));
  const subnormal = (g: Float32Array) => g.filter((v) => v !== 0 && Math.abs(v) < 2 ** -126).length;
  assert.ok(subnormal(ref) > 0, 'the autodiff gradient should contain subnormals for this input');
  assert.equal(subnormal(ours), 0);
  assertEachClose(ours, ref, 1e-6, 'gradient');
});
