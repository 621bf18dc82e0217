/**
 * Hand-written gradients of lib/models/layers.ts against tf's autodiff of the textbook formula on the
 * reference cpu backend: same forward values, gradients within 1e-5 (normwise relative), no tensors left behind.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { activate, geglu, layerNorm } from '../lib/models/layers';
import { assertClose, assertEachClose, seededFloats } from './helpers/tensors';

/** torch.nn.LayerNorm as plain tf ops (tf differentiates it). */
function referenceLayerNorm(x: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D | undefined, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  const y = x.sub(mean).mul(variance.add(eps).rsqrt()).mul(w) as tf.Tensor2D;
  return b ? (y.add(b) as tf.Tensor2D) : y;
}

describe('layerNorm custom gradient', () => {
  before(async () => {
    await initBackend('cpu');
  });

  for (const withBias of [false, true]) {
    it(`matches autodiff ${withBias ? 'with' : 'without'} bias (value, dx, dw${withBias ? ', db' : ''})`, () => {
      const rows = 5;
      const H = 12;
      // Rows with different offsets and scales, so mean and variance both matter.
      const x = tf.tensor2d(seededFloats(rows * H, 1).map((v, i) => v * (1 + (i % 3)) + Math.floor(i / H)), [rows, H]);
      const w = tf.tensor1d(seededFloats(H, 2).map((v) => 1 + v));
      const b = withBias ? tf.tensor1d(seededFloats(H, 3)) : undefined;
      const up = tf.tensor2d(seededFloats(rows * H, 4), [rows, H]);
      const run = (f: typeof layerNorm) => {
        const loss = (xx: tf.Tensor, ww: tf.Tensor, bb?: tf.Tensor) => tf.sum(tf.mul(f(xx as tf.Tensor2D, ww as tf.Tensor1D, bb as tf.Tensor1D | undefined, 1e-5), up));
        const grads = b ? tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => loss(xx, ww, bb))([x, w, b]) : tf.grads((xx: tf.Tensor, ww: tf.Tensor) => loss(xx, ww))([x, w]);
        return { value: f(x, w, b, 1e-5), grads };
      };
      const n0 = tf.memory().numTensors;
      const ours = run(layerNorm);
      const oursLive = tf.memory().numTensors - n0;
      assert.equal(oursLive, 1 + ours.grads.length, 'tensors left alive besides the value and the gradients');
      const ref = run(referenceLayerNorm);
      assertClose(ours.value, ref.value, 0, 'value');
      ['dx', 'dw', 'db'].slice(0, ref.grads.length).forEach((name, i) => assertEachClose(ours.grads[i], ref.grads[i], 1e-5, name));
    });
  }

  it('the comparison is sensitive: dropping the mean(g·x̂) term is caught', () => {
    const x = tf.tensor2d(seededFloats(4 * 8, 5), [4, 8]);
    const w = tf.ones([8]) as tf.Tensor1D;
    const up = tf.tensor2d(seededFloats(4 * 8, 6), [4, 8]);
    const ref = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(referenceLayerNorm(xx as tf.Tensor2D, w, undefined, 1e-5), up)))(x);
    // The gradient without the projection term: r·(g − mean(g)).
    const wrong = tf.tidy(() => {
      const { variance } = tf.moments(x, -1, true);
      return up.sub(up.mean(-1, true)).mul(variance.add(1e-5).rsqrt());
    });
    assert.throws(() => assertClose(wrong, ref, 1e-5, 'dx'));
    const ours = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(layerNorm(xx as tf.Tensor2D, w, undefined, 1e-5), up)))(x);
    assertClose(ours, ref, 1e-5, 'dx');
  });
});

describe('GeGLU custom gradient', () => {
  before(async () => {
    await initBackend('cpu');
  });

  // Inputs spread over ±4, where GELU's slope goes from ~0 through its dip to ~1.
  const x = () => tf.tensor2d(seededFloats(6 * 10, 7).map((v) => 4 * v), [6, 10]);
  const gate = () => tf.tensor2d(seededFloats(6 * 10, 8), [6, 10]);
  const up = () => tf.tensor2d(seededFloats(6 * 10, 9), [6, 10]);
  const reference = (a: tf.Tensor2D, g: tf.Tensor2D) => activate(a, 'gelu').mul(g) as tf.Tensor2D;
  const grads = (f: (a: tf.Tensor2D, g: tf.Tensor2D) => tf.Tensor2D) =>
    tf.grads((a: tf.Tensor, g: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor2D, g as tf.Tensor2D), up())))([x(), gate()]);

  it('matches activate(input, "gelu") · gate and its autodiff (value, d input, d gate)', () => {
    assertClose(geglu(x(), gate()), reference(x(), gate()), 0, 'value');
    const ours = grads(geglu);
    const ref = grads(reference);
    assertClose(ours[0], ref[0], 1e-5, 'd input');
    assertClose(ours[1], ref[1], 1e-5, 'd gate');
  });

  it('the comparison is sensitive: GELU\'s slope without the x·φ(x) term is caught', () => {
    const ref = grads(reference);
    const wrong = tf.tidy(() => up().mul(gate()).mul(tf.erf(x().mul(Math.SQRT1_2)).add(1).mul(0.5)));
    assert.throws(() => assertClose(wrong, ref[0], 1e-5, 'd input'));
  });
});
