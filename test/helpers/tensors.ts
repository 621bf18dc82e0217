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

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so tests never depend on tf's RNG. */
export function seededFloats(n: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = next() * 2 - 1;
  return out;
}
