/**
 * IEEE 754 half precision (binary16) ⇄ float32, for indexes stored at half the size.
 * Encoding rounds to nearest, ties to even; overflow becomes ±Infinity, underflow ±0 through the
 * subnormals; NaN stays NaN. Decoding goes through a 65,536-entry table (exact: every half is a float32).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** One float32 value → its binary16 bit pattern. */
export function halfFromFloat(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00; // NaN (quiet), ±Inf
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large → ±Inf
  if (e <= 0) {
    // Subnormal half: value = m · 2^-24 with m = round(M · 2^(exp-126)), M the 24-bit significand.
    const shift = 126 - exp;
    if (shift > 24) return sign; // below half the smallest subnormal → ±0
    const M = mant | 0x800000;
    let m = M >>> shift;
    const rem = M & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && m & 1)) m++; // may carry into the smallest normal: still right
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry may reach 0x7c00 = Inf: right too
  return sign | h;
}

/** One binary16 bit pattern → its value. */
export function floatFromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

let table: Float32Array | null = null;

/** All 65,536 halves decoded, built on first use. */
export function f16Table(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = floatFromHalf(h);
  }
  return table;
}

/** float32 values → halves (into `out` when given). */
export function encodeF16(src: ArrayLike<number>, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) out[i] = halfFromFloat(src[i]);
  return out;
}

/** Halves → float32 values (into `out` when given, which must be at least as long). */
export function decodeF16(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  const t = f16Table();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}
