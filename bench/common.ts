import { mulberry32 } from '../lib/util/rng';

/**
 * Seeded normal token vectors (Box–Muller over mulberry32), each row of `dim` L2-normalised, written
 * into `out`: the same benchmark data on every machine.
 */
export function fillNormalisedRows(out: Float32Array, dim: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const u = () => 1 - next(); // (0, 1]: keeps log() finite
  for (let r = 0; r < out.length / dim; r++) {
    let norm = 0;
    for (let c = 0; c < dim; c++) {
      const v = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
      out[r * dim + c] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let c = 0; c < dim; c++) out[r * dim + c] /= norm;
  }
  return out;
}

/** n × L token ids below `vocab` from a fixed linear congruential sequence (the same ids on every run). */
export function randomIds(n: number, L: number, vocab: number, seed = 12345): Int32Array {
  let s = seed;
  return Int32Array.from({ length: n * L }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % vocab;
  });
}
