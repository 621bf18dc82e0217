/**
 * The wasm fast paths must compute what the reference `cpu` backend computes, values and gradients.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, matMul, batchMatMul } from '../lib/backend';
import { assertClose, seededFloats } from './helpers/tensors';

type Run = () => tf.Tensor[];

/** Runs `f` on wasm and on cpu with the same inputs; returns both outputs as plain arrays. */
async function onBoth(f: Run): Promise<{ wasm: Float32Array[]; cpu: Float32Array[] }> {
  await initBackend('wasm');
  const wasm = tf.tidy(f).map((t) => t.dataSync() as Float32Array);
  await initBackend('cpu');
  const cpu = tf.tidy(f).map((t) => t.dataSync() as Float32Array);
  await initBackend('wasm');
  return { wasm, cpu };
}

const t2 = (r: number, c: number, seed: number) => tf.tensor2d(seededFloats(r * c, seed), [r, c]);

for (const [tA, tB] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const) {
  test(`2-D matMul transposeA=${tA} transposeB=${tB}: value and gradients match cpu`, async () => {
    const { wasm, cpu } = await onBoth(() => {
      const a = tA ? t2(23, 17, 1) : t2(17, 23, 1);
      const b = tB ? t2(9, 23, 2) : t2(23, 9, 2);
      const w = t2(17, 9, 3); // a fixed weighting makes the gradient non-trivial
      const f = (x: tf.Tensor, y: tf.Tensor) => matMul(x as tf.Tensor2D, y as tf.Tensor2D, tA, tB).mul(w).sum();
      const [ga, gb] = tf.grads(f)([a, b]);
      return [matMul(a, b, tA, tB), ga, gb];
    });
    for (let i = 0; i < 3; i++) assertClose(wasm[i], cpu[i], 1e-5, ['value', 'dA', 'dB'][i]);
  });
}

test('batched matMul (4-D, attention-shaped) with transposes: value and gradients match cpu', async () => {
  const { wasm, cpu } = await onBoth(() => {
    const q = tf.tensor4d(seededFloats(2 * 3 * 7 * 5, 4), [2, 3, 7, 5]);
    const k = tf.tensor4d(seededFloats(2 * 3 * 7 * 5, 5), [2, 3, 7, 5]);
    const w = tf.tensor4d(seededFloats(2 * 3 * 7 * 7, 6), [2, 3, 7, 7]);
    const f = (x: tf.Tensor, y: tf.Tensor) => batchMatMul(x as tf.Tensor4D, y as tf.Tensor4D, false, true).mul(w).sum();
    const [gq, gk] = tf.grads(f)([q, k]);
    return [batchMatMul(q, k, false, true), gq, gk];
  });
  for (let i = 0; i < 3; i++) assertClose(wasm[i], cpu[i], 1e-5, ['value', 'dQ', 'dK'][i]);
});

test('gather gradient (UnsortedSegmentSum kernel) works on wasm and matches cpu', async () => {
  const { wasm, cpu } = await onBoth(() => {
    const table = t2(11, 6, 7);
    const ids = tf.tensor2d([3, 3, 0, 10, 5, 3], [2, 3], 'int32'); // repeated ids must accumulate
    const w = tf.tensor3d(seededFloats(2 * 3 * 6, 8), [2, 3, 6]);
    const g = tf.grad((t: tf.Tensor) => tf.gather(t, ids).mul(w).sum())(table);
    return [g];
  });
  assertClose(wasm[0], cpu[0], 1e-5, 'dTable');
  // rows never gathered get exactly zero gradient
  assert.equal(wasm[0][1 * 6], 0);
});

test('a requested backend that cannot load is a clear error', async () => {
  await assert.rejects(initBackend('node-gpu'), /backend 'node-gpu' could not be loaded/);
  await initBackend('wasm');
});
