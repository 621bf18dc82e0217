/**
 * binary16 conversion: every half round-trips, special values land where IEEE 754 puts them, and
 * encoding picks the nearest half (ties to even), checked by looking at the neighbours.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { halfFromFloat, floatFromHalf, encodeF16, decodeF16, f16Table } from '../lib/util/f16';
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

/**
 * (float32 bits, half bits) as numpy 2.4 computes them (`v.astype(np.float16)`): random values of many
 * magnitudes from numpy's generator, then rounding boundaries, -0 and overflow.
 */
const NUMPY_PAIRS: [number, number][] = [
  [0x36a13d19, 0x0051], [0x3198f52d, 0x0000], [0xb40c5bcc, 0x8002], [0xbce3fdd4, 0xa720], [0xc668ca9c, 0xf346],
  [0xbbfddc8c, 0x9fef], [0x41765923, 0x4bb3], [0x462b8c2c, 0x715c], [0xc37c027e, 0xdbe0], [0xbf1ed771, 0xb8f7],
  [0x3afacc94, 0x17d6], [0x3c36b9e5, 0x21b6], [0x35d7e36d, 0x001b], [0xbc6e3327, 0xa372], [0xb76fa185, 0x80f0],
  [0x36b1ff64, 0x0059], [0xc7ac0f39, 0xfc00], [0xb16a4c9d, 0x8000], [0xb4735b44, 0x8004], [0xb6250f93, 0x8029],
  [0xc76bbdf9, 0xfb5e], [0xbff0bbbb, 0xbf86], [0xc5223bb0, 0xe912], [0x350ae329, 0x0009], [0x477fefff, 0x7bff],
  [0x477ff000, 0x7c00], [0x38800000, 0x0400], [0x33800000, 0x0001], [0x33000000, 0x0000], [0x33400000, 0x0001],
  [0x3f801000, 0x3c00], [0x3f803000, 0x3c02], [0x80000000, 0x8000], [0x7f7fc99e, 0x7c00],
];

test('encoding agrees with numpy float16 on random values and boundaries', () => {
  const bits = new Uint32Array(1);
  const value = new Float32Array(bits.buffer);
  for (const [f, h] of NUMPY_PAIRS) {
    bits[0] = f;
    assert.equal(halfFromFloat(value[0]), h, `float32 0x${f.toString(16)} (${value[0]})`);
  }
});
