/**
 * MaxSim over ragged token matrices, for exact search: every query against every document of a corpus
 * whose vectors sit in ONE contiguous buffer (float32, or float16 halves) with per-document offsets.
 * The padded, differentiable MaxSim for training and small batches is in ./maxsim.ts; this is the same
 * score (Σ over query tokens of the max over document tokens of the dot product) for corpora.
 *
 * Where the time goes: for a batch of queries (their tokens stacked into Q, m rows) and a block of
 * documents (T tokens), the products D·Qᵀ (~all the flops) and, per document, the max over its token rows
 * for each query token, then sums per query. On ONNX Runtime (the default) product and max are one
 * native graph per group of similar-length documents (MatMul + ReduceMax, see nativeBlock); on tfjs one
 * 2-D product [T, m] then a typed-array loop for the max. Blocks bound memory: a block and its product
 * are at most `maxBlockFloats` floats each, whatever the corpus size (a single document longer than that
 * is one block on its own).
 * A document or query with no tokens scores 0, as in ./maxsim.ts. A dense index is the case of one token
 * per document and per query: the score is the dot product.
 */
import type * as Tf from '@tensorflow/tfjs-core';
import { blockMaxSim, defaultProduct } from '../backend/ort-gemm';
import { UserError } from '../util/errors';
import { decodeF16 } from '../util/f16';

// tfjs loads only when a product runs on it: search worker threads use ORT and skip its ~0.4 s of loading.
type TfjsModules = { tf: typeof Tf; matMul: typeof import('../backend/matmul').matMul };
let tfjs: TfjsModules | undefined;
function loadTfjs(): TfjsModules {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  tfjs ??= { tf: require('@tensorflow/tfjs-core') as typeof Tf, matMul: (require('../backend/index') as typeof import('../backend/index')).matMul };
  return tfjs;
}

// Scratch buffers reused across calls (one set per thread: each worker has its own module instance).
let qtScratch: Float32Array = new Float32Array(0);
let blockScratch: Float32Array = new Float32Array(0);
let rowMaxScratch: Float32Array = new Float32Array(0);
let orderScratch: Int32Array = new Int32Array(0);
function grown(buf: Float32Array, n: number): Float32Array {
  return buf.length >= n ? buf : new Float32Array(Math.max(n, Math.ceil(buf.length * 1.5)));
}
function grownInt(buf: Int32Array, n: number): Int32Array {
  return buf.length >= n ? buf : new Int32Array(Math.max(n, Math.ceil(buf.length * 1.5)));
}

/** Documents' vectors: document d's tokens are rows offsets[d]..offsets[d+1] of `store` ([tokens × dim]). */
export interface RaggedVectors {
  dim: number;
  offsets: ArrayLike<number>;
  store: Float32Array | Uint16Array;
}

export interface SearchTimings {
  /** Building the product's input: float16 → float32 decoding, or float32's copy (and padding) out of shared memory. */
  decode: number;
  /** The product D·Qᵀ, moving data in and out; on ORT with the max over document tokens fused in. */
  product: number;
  /** JS: the max over each document's token rows and the sums per query (tfjs), or only the sums (ORT). */
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
   * Where the block products run: 'ort' (ONNX Runtime's native MatMul + max, all cores or `threads`) or 'tfjs'
   * (the active tfjs backend). Default: the engine resolveEngine picks (lib/backend/engine).
   */
  product?: 'ort' | 'tfjs';
  /** ORT threads for the products (default: all cores, or CZ_THREADS). */
  threads?: number;
  /** Only documents from..to-1 are scored (a shard of the corpus; the others' out entries are untouched). Default: all. */
  from?: number;
  to?: number;
}

/**
 * Scores every query (row-major [tokens × dim]) against every document (or documents opts.from..opts.to-1);
 * out[q][d] receives the score. A document's score does not depend on which block or shard it falls in.
 */
export function maxSimBlocked(queries: Float32Array[], docs: RaggedVectors, out: Float64Array[], opts: MaxSimBlockedOptions = {}): void {
  const timings = opts.timings;
  const tick = opts.tick ?? (() => {});
  const { dim, offsets, store } = docs;
  const from = opts.from ?? 0;
  const size = opts.to ?? offsets.length - 1;
  if (from < 0 || size > offsets.length - 1 || from > size) throw new UserError(`maxSimBlocked: document range ${from}..${size} outside 0..${offsets.length - 1}`);
  const totalTokens = offsets[size] - offsets[from];
  const maxBlockFloats = Math.max(1, opts.maxBlockFloats ?? 8 * 1024 * 1024);
  // Stack the batch's tokens transposed, Qᵀ [dim, m], so the product needs no transpose flag.
  const qStart = [0];
  for (const q of queries) qStart.push(qStart[qStart.length - 1] + q.length / dim);
  const m = qStart[queries.length];
  if (m === 0) {
    // no query tokens: every score is 0
    for (const o of out) o.fill(0, from, size);
    return tick(size - from);
  }
  const qt = (qtScratch = grown(qtScratch, dim * m)).subarray(0, dim * m);
  queries.forEach((q, qi) => {
    for (let r = 0; r < q.length / dim; r++) for (let c = 0; c < dim; c++) qt[c * m + qStart[qi] + r] = q[r * dim + c];
  });
  const native = (opts.product ?? defaultProduct()) === 'ort';
  // A block [T, dim] and its product [T, m] stay within maxBlockFloats (unless one document is longer).
  const blockTokens = Math.max(1, Math.floor(maxBlockFloats / Math.max(m, dim)));
  let longest = 0;
  for (let d = from; d < size; d++) longest = Math.max(longest, offsets[d + 1] - offsets[d]);
  const ctx: BlockContext = { dim, offsets, store, out, qt, m, qStart, nq: queries.length, threads: opts.threads, timings };
  const block = native ? nativeBlock(ctx, Math.max(Math.min(blockTokens, totalTokens), longest)) : tfjsBlock(ctx, Math.max(Math.min(blockTokens, totalTokens), longest));
  try {
    let d0 = from;
    while (d0 < size) {
      // A block: consecutive documents up to blockTokens tokens (at least one document).
      let d1 = d0 + 1;
      while (d1 < size && offsets[d1 + 1] - offsets[d0] <= blockTokens) d1++;
      if (offsets[d1] > offsets[d0]) block.run(d0, d1);
      else for (const o of out) o.fill(0, d0, d1); // a block of empty documents: scores 0
      tick(d1 - d0);
      d0 = d1;
    }
  } finally {
    block.dispose();
  }
}

interface BlockContext {
  dim: number;
  offsets: ArrayLike<number>;
  store: Float32Array | Uint16Array;
  out: Float64Array[];
  /** The batch's query tokens transposed, Qᵀ [dim, m]; query qi is columns qStart[qi]..qStart[qi+1]. */
  qt: Float32Array;
  m: number;
  qStart: number[];
  nq: number;
  threads?: number;
  timings?: SearchTimings;
}

interface BlockScorer {
  /** Scores documents d0..d1-1 (at least one token among them) into ctx.out. */
  run(d0: number, d1: number): void;
  dispose(): void;
}

const clock = () => performance.now() / 1000;

/**
 * ORT: the block's documents, grouped by length (sorted, each group padded to its longest member with
 * copies of each document's first row — a max over repeated rows is unchanged, so scores are exact),
 * go through one graph per group: MatMul with Qᵀ and ReduceMax over document tokens (blockMaxSim), so
 * the max runs in native code and only [documents × m] comes back; JS sums per query in float64.
 * Input is always copied (or float16-decoded) into a scratch: ORT cannot read a SharedArrayBuffer —
 * except float32 documents of one length in an ordinary buffer, passed as they are.
 */
function nativeBlock(ctx: BlockContext, scratchTokens: number): BlockScorer {
  const { dim, offsets, store, out, qt, m, qStart, nq, timings } = ctx;
  const shared = store.buffer instanceof SharedArrayBuffer;
  return {
    run(d0, d1) {
      const c0 = timings ? clock() : 0;
      let n = 0;
      const order = (orderScratch = grownInt(orderScratch, d1 - d0));
      let uniform = true;
      for (let d = d0; d < d1; d++) {
        const len = offsets[d + 1] - offsets[d];
        if (len === 0) {
          for (let qi = 0; qi < nq; qi++) out[qi][d] = 0; // empty document: score 0
          continue;
        }
        if (n > 0 && len !== offsets[order[0] + 1] - offsets[order[0]]) uniform = false;
        order[n++] = d;
      }
      const docs = order.subarray(0, n);
      const len = (d: number) => offsets[d + 1] - offsets[d];
      if (!uniform) docs.sort((a, b) => len(a) - len(b) || a - b);
      let i = 0;
      let prep = 0;
      let product = 0;
      while (i < n) {
        // A group: sorted lengths within 1/8 (at least 8 tokens) of its shortest, padded to its longest.
        const l0 = len(docs[i]);
        let j = i + 1;
        while (j < n && len(docs[j]) <= l0 + Math.max(8, l0 >> 3)) j++;
        const L = len(docs[j - 1]);
        const B = j - i;
        const t1 = timings ? clock() : 0;
        let input: Float32Array;
        if (uniform && !shared && store instanceof Float32Array) {
          // One length, ordinary memory, consecutive documents (no empty ones here): the store itself.
          input = store.subarray(offsets[docs[i]] * dim, offsets[docs[j - 1] + 1] * dim);
        } else {
          input = (blockScratch = grown(blockScratch, Math.max(scratchTokens, B * L) * dim)).subarray(0, B * L * dim);
          for (let g = 0; g < B; g++) {
            const d = docs[i + g];
            const a = offsets[d] * dim;
            const l = offsets[d + 1] - offsets[d];
            const at = g * L * dim;
            const dst = input.subarray(at, at + l * dim);
            if (store instanceof Uint16Array) decodeF16(store.subarray(a, a + l * dim), dst);
            else dst.set(store.subarray(a, a + l * dim));
            for (let r = l; r < L; r++) input.copyWithin(at + r * dim, at, at + dim);
          }
        }
        const t2 = timings ? clock() : 0;
        const best = blockMaxSim(input, B, L, dim, qt, m, { threads: ctx.threads });
        const t3 = timings ? clock() : 0;
        for (let g = 0; g < B; g++) {
          const d = docs[i + g];
          const base = g * m;
          for (let qi = 0; qi < nq; qi++) {
            let sum = 0;
            for (let c = qStart[qi]; c < qStart[qi + 1]; c++) sum += best[base + c];
            out[qi][d] = sum;
          }
        }
        if (timings) {
          prep += t2 - t1;
          product += t3 - t2;
        }
        i = j;
      }
      if (timings) {
        const total = clock() - c0;
        timings.decode += prep;
        timings.product += product;
        timings.segmentMax += total - prep - product; // the sums, and ordering the block's documents
      }
    },
    dispose() {},
  };
}

/**
 * tfjs: one 2-D product D_block·Qᵀ → [T, m] on the active backend, then a typed-array loop takes each
 * document's max over its token rows per query token and sums them per query.
 */
function tfjsBlock(ctx: BlockContext, scratchTokens: number): BlockScorer {
  const { dim, offsets, store, out, qt, m, qStart, nq, timings } = ctx;
  const tf = loadTfjs();
  const qtT = tf.tf.tensor2d(qt, [dim, m]);
  const rowMax = (rowMaxScratch = grown(rowMaxScratch, m)).subarray(0, m);
  const decoded = store instanceof Uint16Array ? (blockScratch = grown(blockScratch, scratchTokens * dim)) : null;
  return {
    run(d0, d1) {
      const t0 = offsets[d0];
      const T = offsets[d1] - t0;
      const raw = store.subarray(t0 * dim, (t0 + T) * dim);
      const c0 = timings ? clock() : 0;
      const block = raw instanceof Uint16Array ? decodeF16(raw, decoded!.subarray(0, T * dim)) : raw;
      const c1 = timings ? clock() : 0;
      const sims = tf.tf.tidy(() => tf.matMul(tf.tf.tensor2d(block, [T, dim]), qtT));
      const s = sims.dataSync() as Float32Array;
      sims.dispose();
      const c2 = timings ? clock() : 0;
      for (let d = d0; d < d1; d++) {
        const a = offsets[d] - t0;
        const b = offsets[d + 1] - t0;
        if (a === b) {
          for (let qi = 0; qi < nq; qi++) out[qi][d] = 0; // empty document: score 0
          continue;
        }
        rowMax.set(s.subarray(a * m, a * m + m));
        for (let t = a + 1; t < b; t++) {
          const base = t * m;
          for (let j = 0; j < m; j++) {
            const v = s[base + j];
            if (v > rowMax[j]) rowMax[j] = v;
          }
        }
        for (let qi = 0; qi < nq; qi++) {
          let sum = 0;
          for (let j = qStart[qi]; j < qStart[qi + 1]; j++) sum += rowMax[j];
          out[qi][d] = sum;
        }
      }
      if (timings) {
        timings.decode += c1 - c0;
        timings.product += c2 - c1;
        timings.segmentMax += clock() - c2;
      }
    },
    dispose() {
      qtT.dispose();
    },
  };
}
