/**
 * Deterministic randomness for training. Every random choice (sampling order, dropout seeds) is a pure
 * function of (run seed, labels), so a resumed run replays exactly what an uninterrupted one would.
 */

/** Mixes integers into one 32-bit seed (splitmix-style avalanche), e.g. seedFor(runSeed, step, rank). */
export function seedFor(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** mulberry32: a small, fast, well-mixed 32-bit generator. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place with the given generator. */
export function shuffleInPlace<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}

/** A permutation of 0..n-1. */
export function permutation(n: number, rand: () => number): number[] {
  return shuffleInPlace(Array.from({ length: n }, (_, i) => i), rand);
}
