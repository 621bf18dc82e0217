import * as tf from '@tensorflow/tfjs-core';
import * as assert from 'node:assert/strict';

/**
 * Normwise relative error: max|a-b| / max|b|. Element-wise ratios are meaningless where a sum cancels
 * to near zero, so every comparison in this project uses this definition.
 */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff === 0 ? 0 : diff / Math.max(scale, 1e-30);
}

export function assertClose(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>, tol: number, what = 'tensor'): void {
  const a = actual instanceof tf.Tensor ? actual.dataSync() : actual;
  const b = expected instanceof tf.Tensor ? expected.dataSync() : expected;
  const err = maxRelError(a, b);
  assert.ok(err <= tol, `${what}: max relative error ${err.toExponential(3)} > ${tol}`);
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so tests never depend on tf's RNG. */
export function seededFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
