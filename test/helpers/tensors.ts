import * as tf from '@tensorflow/tfjs-core';
import * as assert from 'node:assert/strict';
import { relativeError } from '../../lib/util/numeric';
import { mulberry32 } from '../../lib/util/rng';

/** Normwise relative error max|a-b| / max|b| (see lib/util/numeric). */
export const maxRelError = relativeError;

export function assertClose(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>, tol: number, what = 'tensor'): void {
  const a = actual instanceof tf.Tensor ? actual.dataSync() : actual;
  const b = expected instanceof tf.Tensor ? expected.dataSync() : expected;
  const err = maxRelError(a, b);
  assert.ok(err <= tol, `${what}: max relative error ${err.toExponential(3)} > ${tol}`);
}

/**
 * Element by element: |a − b| ≤ atol + rtol·|b| for every entry. A normwise check (max|a−b| / max|b|) lets an
 * entry far smaller than the largest be wrong by the largest's tolerance; this one holds each entry to its
 * own size, down to the absolute floor `atol` (where float rounding of the large entries dominates).
 */
export function assertElementwiseClose(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>, o: { rtol: number; atol: number }, what = 'tensor'): void {
  const a = actual instanceof tf.Tensor ? actual.dataSync() : actual;
  const b = expected instanceof tf.Tensor ? expected.dataSync() : expected;
  assert.equal(a.length, b.length, `${what}: ${a.length} vs ${b.length} entries`);
  let worst = -1;
  let ratio = 0;
  for (let i = 0; i < a.length; i++) {
    const r = Math.abs(a[i] - b[i]) / (o.atol + o.rtol * Math.abs(b[i]));
    if (!(r <= ratio)) (ratio = Number.isNaN(r) ? Infinity : r), (worst = i);
  }
  assert.ok(ratio <= 1, `${what}: entry ${worst} is ${a[worst]}, expected ${b[worst]} (|Δ| > ${o.atol} + ${o.rtol}·|expected|)`);
}

/**
 * assertElementwiseClose with the floor at 1e-6 of the largest expected entry: a few float32 rounding steps
 * of the sums that entry comes from, below which no implementation can be held.
 */
export function assertEachClose(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>, rtol: number, what = 'tensor'): void {
  const b = expected instanceof tf.Tensor ? expected.dataSync() : expected;
  let largest = 0;
  for (let i = 0; i < b.length; i++) largest = Math.max(largest, Math.abs(b[i]));
  assertElementwiseClose(actual, b, { rtol, atol: 1e-6 * largest }, what);
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so tests never depend on tf's RNG. */
export function seededFloats(n: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = next() * 2 - 1;
  return out;
}
