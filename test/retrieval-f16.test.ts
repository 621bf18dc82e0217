/**
 * binary16 conversion: every half round-trips, special values land where IEEE 754 puts them, and
 * encoding picks the nearest half (ties to even), checked by looking at the neighbours.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { halfFromFloat, floatFromHalf, encodeF16, decodeF16, f16Table } from '../lib/retrieval';
import { seededFloats } from './helpers/tensors';

test('every one of the 65,536 halves round-trips through float32 (NaNs stay NaN)', () => {
  let nans = 0;
  for (let h = 0; h < 65536; h++) {
    const v = floatFromHalf(h);
    if (Number.isNaN(v)) {
      nans++;
      assert.ok(Number.isNaN(floatFromHalf(halfFromFloat(v))));
      continue;
    }
    assert.equal(halfFromFloat(v), h, `half 0x${h.toString(16)} → ${v} → 0x${halfFromFloat(v).toString(16)}`);
  }
  assert.equal(nans, 2 * 1023); // exponent all ones, mantissa non-zero, both signs
  assert.deepEqual(Array.from(f16Table().subarray(0x3c00, 0x3c02)), [1, 1 + 1 / 1024]);
});

test('special values and rounding boundaries', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [65519, 0x7bff], // just below the midpoint to 65536: rounds down
    [65520, 0x7c00], // the midpoint rounds to even = Infinity
    [1e10, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // exactly half of it: ties to even → 0
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002], // 1.5 ulp: tie between 1 and 2 → even (2)
    [-(2 ** -26), 0x8000], // underflow keeps the sign
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10 → even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 1+2^-10 and 1+2^-9 → even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [2 ** -14 - 2 ** -25, 0x0400], // tie between the largest subnormal (odd) and smallest normal → normal
  ];
  for (const [v, h] of cases) assert.equal(halfFromFloat(v), h, `${v} → 0x${halfFromFloat(v).toString(16)}, expected 0x${h.toString(16)}`);
  const nan = halfFromFloat(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0);
  assert.ok(Object.is(floatFromHalf(0x8000), -0));
});

test('encoding picks the nearest half for random values of many magnitudes', () => {
  const r = seededFloats(20000, 5);
  const values = Array.from(r, (x, i) => x * 2 ** ((i % 40) - 26)); // spans subnormals to large normals
  const halves = encodeF16(values);
  const back = decodeF16(halves);
  for (let i = 0; i < values.length; i++) {
    const v = Math.fround(values[i]);
    const err = Math.abs(v - back[i]);
    for (const nb of [halves[i] - 1, halves[i] + 1]) {
      if ((nb & 0x7fff) >= 0x7c00 || nb < 0 || nb > 0xffff || (nb ^ halves[i]) & 0x8000) continue; // stay finite, same sign
      assert.ok(err <= Math.abs(v - floatFromHalf(nb)), `value ${v}: half ${back[i]} is not nearest (neighbour ${floatFromHalf(nb)})`);
    }
  }
});
