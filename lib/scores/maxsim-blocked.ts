/**
 * MaxSim over ragged token matrices, for exact search: every query against every document of a corpus
 * whose vectors sit in ONE contiguous buffer (float32, or float16 halves) with per-document offsets.
 * The padded, differentiable MaxSim for training and small batches is in ./maxsim.ts; this is the same
 * score (Σ over query tokens of the max over document tokens of the dot product) for corpora.
 *
 * Where the time goes: for a batch of queries (their tokens stacked into Q, m rows) and a block of
 * documents (T tokens), one 2-D product D_block·Qᵀ → [T, m] on the tfjs backend (~all the flops), then a
 * tight typed-array loop takes, per document, the max over its token rows for each query token and sums
 * them per query. Blocks bound memory: a block and its product are at most `maxBlockFloats` floats each,
 * whatever the corpus size (a single document longer than that is one block on its own).
 * A document or query with no tokens scores 0, as in ./maxsim.ts. A dense index is the case of one token
 * per document and per query: the score is the dot product.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../backend/index';
import { gemm, useOrtProducts } from '../backend/ort-gemm';
import { decodeF16 } from '../util/f16';

/** Documents' vectors: document d's tokens are rows offsets[d]..offsets[d+1] of `store` ([tokens × dim]). */
export interface RaggedVectors {
  dim: number;
  offsets: ArrayLike<number>;
  store: Float32Array | Uint16Array;
}

export interface SearchTimings {
  /** float16 → float32 conversion of document blocks. */
  decode: number;
  /** Moving a block in, the product D_block·Qᵀ, and reading the product back. */
  product: number;
  /** The typed-array max over each document's token rows and the sums per query. */
  segmentMax: number;
}

export interface MaxSimBlockedOptions {
  /** Upper bound on the floats of one document block [T, dim] and of its product [T, m]. Default 8M (32 MB). */
  maxBlockFloats?: number;
  /** Called with the number of documents finished after each block. */
  tick?: (docs: number) => void;
  /** When given, seconds spent in each stage are added to it. */
  timings?: SearchTimings;
  /**
   * Where the block products run: 'ort' (ONNX Runtime's native GEMM, all cores or `threads`) or 'tfjs'
   * (the active tfjs backend). Default: ort where it loads, unless CZ_ENGINE=tfjs.
   */
  product?: 'ort' | 'tfjs';
  /** ORT threads for the products (default: all cores, or CZ_THREADS). */
  threads?: number;
}

/** Scores every query (row-major [tokens × dim]) against every document; out[q][d] receives the score. */
export function maxSimBlocked(queries: Float32Array[], docs: RaggedVectors, out: Float64Array[], opts: MaxSimBlockedOptions = {}): void {
  const timings = opts.timings;
  const tick = opts.tick ?? (() => {});
  const clock = () => (timings ? performance.now() / 1000 : 0);
  const { dim, offsets, store } = docs;
  const size = offsets.length - 1;
  const totalTokens = offsets[size];
  const maxBlockFloats = Math.max(1, opts.maxBlockFloats ?? 8 * 1024 * 1024);
  // Stack the batch's tokens transposed, Qᵀ [dim, m], so the product needs no transpose flag.
  const qStart = [0];
  for (const q of queries) qStart.push(qStart[qStart.length - 1] + q.length / dim);
  const m = qStart[queries.length];
  if (m === 0) return tick(size); // no query tokens: every score stays 0
  const qt = new Float32Array(dim * m);
  queries.forEach((q, qi) => {
    for (let r = 0; r < q.length / dim; r++) for (let c = 0; c < dim; c++) qt[c * m + qStart[qi] + r] = q[r * dim + c];
  });
  const native = (opts.product ?? (useOrtProducts() ? 'ort' : 'tfjs')) === 'ort';
  const qtT = native ? null : tf.tensor2d(qt, [dim, m]);
  // Both the block [T, dim] and its product [T, m] stay within maxBlockFloats (unless one document is longer).
  const blockTokens = Math.max(1, Math.floor(maxBlockFloats / Math.max(m, dim)));
  const rowMax = new Float32Array(m);
  let longest = 0;
  for (let d = 0; d < size; d++) longest = Math.max(longest, offsets[d + 1] - offsets[d]);
  const scratchTokens = Math.max(Math.min(blockTokens, totalTokens), longest);
  const f16Scratch = store instanceof Uint16Array ? new Float32Array(scratchTokens * dim) : null;
  try {
    let d0 = 0;
    while (d0 < size) {
      // A block: consecutive documents up to blockTokens tokens (at least one document).
      let d1 = d0 + 1;
      while (d1 < size && offsets[d1 + 1] - offsets[d0] <= blockTokens) d1++;
      const t0 = offsets[d0];
      const T = offsets[d1] - t0;
      if (T > 0) {
        const raw = store.subarray(t0 * dim, (t0 + T) * dim);
        const c0 = clock();
        const block = raw instanceof Uint16Array ? decodeF16(raw, f16Scratch!).subarray(0, T * dim) : raw;
        const c1 = clock();
        let s: Float32Array;
        if (native) {
          s = gemm(block, qt, T, dim, m, { threads: opts.threads });
        } else {
          const sims = tf.tidy(() => matMul(tf.tensor2d(block, [T, dim]), qtT!));
          s = sims.dataSync() as Float32Array;
          sims.dispose();
        }
        const c2 = clock();
        for (let d = d0; d < d1; d++) {
          const a = offsets[d] - t0;
          const b = offsets[d + 1] - t0;
          if (a === b) continue; // empty document: score 0
          rowMax.set(s.subarray(a * m, a * m + m));
          for (let t = a + 1; t < b; t++) {
            const base = t * m;
            for (let j = 0; j < m; j++) {
              const v = s[base + j];
              if (v > rowMax[j]) rowMax[j] = v;
            }
          }
          for (let qi = 0; qi < queries.length; qi++) {
            let sum = 0;
            for (let j = qStart[qi]; j < qStart[qi + 1]; j++) sum += rowMax[j];
            out[qi][d] = sum;
          }
        }
        if (timings) {
          const f16 = raw instanceof Uint16Array;
          timings.decode += f16 ? c1 - c0 : 0;
          timings.product += c2 - (f16 ? c1 : c0);
          timings.segmentMax += clock() - c2;
        }
      }
      tick(d1 - d0);
      d0 = d1;
    }
  } finally {
    qtT?.dispose();
  }
}
