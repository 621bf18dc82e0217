/**
 * Exact in-memory indexes: every document's vectors in ONE contiguous buffer (float32, or float16 halves)
 * with per-document offsets. `MultiVectorIndex` ranks by MaxSim over token vectors; `DenseIndex` by the
 * dot product of single vectors (a document of one token scored by a query of one token is exactly that,
 * so both share one search loop).
 *
 * Search is brute force and exact, the reference any approximate index is checked against. Where the time
 * goes: for a batch of queries (their scored tokens stacked into Q, m rows) and a block of documents
 * (T tokens), one 2-D product D_block·Qᵀ → [T, m] on the tfjs backend (~all the flops), then a tight
 * typed-array loop takes, per document, the max over its token rows for each query token and sums them per
 * query. Blocks bound memory: a block and its product are at most `maxBlockFloats` floats each, whatever
 * the corpus size (a single document longer than that is one block on its own).
 *
 * Ranking: higher score first; equal scores → lower internal index (insertion order) first.
 * A document or query with no tokens scores 0, as in lib/scores.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, matMul } from '../backend/index';
import { UserError } from '../util/errors';
import { progressBar } from '../util/progress';
import { decodeF16, encodeF16 } from '../util/f16';
import { topK } from './topk';

export type StorageDtype = 'float32' | 'float16';
export type IndexKind = 'multivector' | 'dense';

export interface Hit {
  /** Internal index: insertion order. */
  doc: number;
  id: string;
  score: number;
}

export interface SearchOptions {
  /** Queries per batch (their tokens share one product with each document block). Default 32. */
  queryBatch?: number;
  /** Upper bound on the floats of one document block [T, dim] and of its product [T, m]. Default 8M (32 MB). */
  maxBlockFloats?: number;
  /** Label of a progress bar (shown on a terminal); none when absent. */
  progress?: string;
  /** When given, seconds spent in each stage are added to it (where the time goes). */
  timings?: SearchTimings;
}

export interface SearchTimings {
  /** float16 → float32 conversion of document blocks. */
  decode: number;
  /** Moving a block in, the product D_block·Qᵀ, and reading the product back. */
  product: number;
  /** The typed-array max over each document's token rows and the sums per query. */
  segmentMax: number;
}

export interface IndexOptions {
  dim: number;
  dtype?: StorageDtype;
  /** Tokens to reserve up front (avoids regrowing the buffer when the corpus size is known). */
  capacityTokens?: number;
}

/** Storage and exact search shared by both index kinds. */
export abstract class VectorIndex {
  abstract readonly kind: IndexKind;
  readonly dim: number;
  readonly dtype: StorageDtype;
  readonly ids: string[] = [];
  private readonly idSet = new Set<string>();
  /** offsets[i]..offsets[i+1] are document i's tokens; offsets.length = size + 1. */
  protected offsets: number[] = [0];
  protected store: Float32Array | Uint16Array;

  constructor(opts: IndexOptions) {
    if (!Number.isInteger(opts.dim) || opts.dim <= 0) throw new UserError(`index: dim must be a positive integer, got ${opts.dim}`);
    this.dim = opts.dim;
    this.dtype = opts.dtype ?? 'float32';
    if (this.dtype !== 'float32' && this.dtype !== 'float16') throw new UserError(`index: dtype must be float32 or float16, got ${this.dtype}`);
    const cap = Math.max(16, opts.capacityTokens ?? 1024) * this.dim;
    this.store = this.dtype === 'float16' ? new Uint16Array(cap) : new Float32Array(cap);
  }

  get size(): number {
    return this.ids.length;
  }

  get totalTokens(): number {
    return this.offsets[this.offsets.length - 1];
  }

  /** Bytes held by the vector buffer's used part. */
  get vectorBytes(): number {
    return this.totalTokens * this.dim * this.store.BYTES_PER_ELEMENT;
  }

  /** Document i's vectors as float32 (a copy), [tokens × dim]. */
  vectors(i: number): Float32Array {
    const a = this.offsets[i] * this.dim;
    const b = this.offsets[i + 1] * this.dim;
    return this.store instanceof Uint16Array ? decodeF16(this.store.subarray(a, b)) : this.store.slice(a, b);
  }

  /** Document i's token count. */
  length(i: number): number {
    return this.offsets[i + 1] - this.offsets[i];
  }

  protected append(id: string, values: Float32Array): void {
    if (values.length % this.dim !== 0) throw new UserError(`index: document '${id}' has ${values.length} values, not a multiple of dim ${this.dim}`);
    if (this.idSet.has(id)) throw new UserError(`index: duplicate document id '${id}'`);
    const tokens = values.length / this.dim;
    const start = this.totalTokens;
    if (start + tokens > 0xffffffff) throw new UserError(`index: more than 2^32 tokens`);
    const need = (start + tokens) * this.dim;
    if (need > this.store.length) {
      const grown = this.store instanceof Uint16Array ? new Uint16Array(Math.max(need, 2 * this.store.length)) : new Float32Array(Math.max(need, 2 * this.store.length));
      grown.set(this.store.subarray(0, start * this.dim));
      this.store = grown;
    }
    const dst = this.store.subarray(start * this.dim, need);
    if (dst instanceof Uint16Array) encodeF16(values, dst);
    else dst.set(values);
    this.ids.push(id);
    this.idSet.add(id);
    this.offsets.push(start + tokens);
  }

  /** Fills an empty index with parts read from disk (loadIndex); lengths must already be validated. */
  restore(ids: string[], lengths: Uint32Array, store: Float32Array | Uint16Array): void {
    if (this.size > 0) throw new Error('index: restore into a non-empty index');
    for (let i = 0; i < ids.length; i++) {
      if (this.idSet.has(ids[i])) throw new UserError(`index: duplicate document id '${ids[i]}'`);
      this.ids.push(ids[i]);
      this.idSet.add(ids[i]);
      this.offsets.push(this.offsets[i] + lengths[i]);
    }
    this.store = store;
  }

  /** The raw parts, for saving. */
  parts(): { ids: string[]; lengths: Uint32Array; store: Float32Array | Uint16Array } {
    const lengths = new Uint32Array(this.size);
    for (let i = 0; i < this.size; i++) lengths[i] = this.length(i);
    return { ids: this.ids, lengths, store: this.store.subarray(0, this.totalTokens * this.dim) };
  }

  /** Every document's score for every query: one Float64Array of length `size` per query. */
  async scoreAll(queries: Float32Array[], opts: SearchOptions = {}): Promise<Float64Array[]> {
    await initBackend();
    const dim = this.dim;
    for (const [i, q] of queries.entries()) {
      if (q.length % dim !== 0) throw new UserError(`index search: query ${i} has ${q.length} values, not a multiple of dim ${dim}`);
    }
    const queryBatch = Math.max(1, opts.queryBatch ?? 32);
    const maxBlockFloats = Math.max(1, opts.maxBlockFloats ?? 8 * 1024 * 1024);
    const out = queries.map(() => new Float64Array(this.size));
    const batches = Math.ceil(queries.length / queryBatch);
    const bar = opts.progress ? progressBar(opts.progress, this.size * batches, 'docs') : null;
    let done = 0;
    for (let b0 = 0; b0 < queries.length; b0 += queryBatch) {
      const batch = queries.slice(b0, b0 + queryBatch);
      this.scoreBatch(batch, out.slice(b0, b0 + queryBatch), maxBlockFloats, (n) => bar?.update((done += n)), opts.timings);
    }
    bar?.stop();
    return out;
  }

  /** Top-k documents per query, best first (ties: lower internal index first). */
  async search(queries: Float32Array[], k: number, opts: SearchOptions = {}): Promise<Hit[][]> {
    if (!Number.isInteger(k) || k < 1) throw new UserError(`index search: k must be a positive integer, got ${k}`);
    const all = await this.scoreAll(queries, opts);
    return all.map((s) => topK(s, k).map((doc) => ({ doc, id: this.ids[doc], score: s[doc] })));
  }

  private scoreBatch(queries: Float32Array[], out: Float64Array[], maxBlockFloats: number, tick: (docs: number) => void, timings?: SearchTimings): void {
    const clock = () => (timings ? performance.now() / 1000 : 0);
    const dim = this.dim;
    // Stack the batch's tokens transposed, Qᵀ [dim, m], so the product needs no transpose flag.
    const qStart = [0];
    for (const q of queries) qStart.push(qStart[qStart.length - 1] + q.length / dim);
    const m = qStart[queries.length];
    if (m === 0) return tick(this.size); // no query tokens: every score stays 0
    const qt = new Float32Array(dim * m);
    queries.forEach((q, qi) => {
      for (let r = 0; r < q.length / dim; r++) for (let c = 0; c < dim; c++) qt[c * m + qStart[qi] + r] = q[r * dim + c];
    });
    const qtT = tf.tensor2d(qt, [dim, m]);
    // Both the block [T, dim] and its product [T, m] stay within maxBlockFloats (unless one document is longer).
    const blockTokens = Math.max(1, Math.floor(maxBlockFloats / Math.max(m, dim)));
    const rowMax = new Float32Array(m);
    const scratchTokens = Math.max(Math.min(blockTokens, this.totalTokens), this.maxLength());
    const f16Scratch = this.store instanceof Uint16Array ? new Float32Array(scratchTokens * dim) : null;
    try {
      let d0 = 0;
      while (d0 < this.size) {
        // A block: consecutive documents up to blockTokens tokens (at least one document).
        let d1 = d0 + 1;
        while (d1 < this.size && this.offsets[d1 + 1] - this.offsets[d0] <= blockTokens) d1++;
        const t0 = this.offsets[d0];
        const T = this.offsets[d1] - t0;
        if (T > 0) {
          const raw = this.store.subarray(t0 * dim, (t0 + T) * dim);
          const c0 = clock();
          const block = raw instanceof Uint16Array ? decodeF16(raw, f16Scratch!).subarray(0, T * dim) : raw;
          const c1 = clock();
          const sims = tf.tidy(() => matMul(tf.tensor2d(block, [T, dim]), qtT));
          const s = sims.dataSync() as Float32Array;
          sims.dispose();
          const c2 = clock();
          for (let d = d0; d < d1; d++) {
            const a = this.offsets[d] - t0;
            const b = this.offsets[d + 1] - t0;
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
      qtT.dispose();
    }
  }

  private maxLength(): number {
    let best = 0;
    for (let i = 0; i < this.size; i++) best = Math.max(best, this.length(i));
    return best;
  }
}

/** Multi-vector (ColBERT) index: documents are token matrices, scored by MaxSim. */
export class MultiVectorIndex extends VectorIndex {
  readonly kind = 'multivector' as const;

  /** Adds one document: its scored tokens only, row-major [tokens × dim]. */
  add(id: string, tokens: Float32Array): void {
    this.append(id, tokens);
  }

  /** Adds padded encoder output: embeddings [n × length × dim] and mask [n × length] (1 = scored). */
  addPadded(ids: string[], embeddings: Float32Array, mask: ArrayLike<number> | null, length: number): void {
    for (const [i, toks] of unpad(embeddings, mask, ids.length, length, this.dim).entries()) this.add(ids[i], toks);
  }
}

/** Single-vector index: one vector per document, scored by dot product. */
export class DenseIndex extends VectorIndex {
  readonly kind = 'dense' as const;

  add(id: string, vector: Float32Array): void {
    if (vector.length !== this.dim) throw new UserError(`dense index: document '${id}' has ${vector.length} values, expected dim ${this.dim}`);
    this.append(id, vector);
  }

  /** Adds rows of a [n × dim] matrix. */
  addRows(ids: string[], vectors: Float32Array): void {
    if (vectors.length !== ids.length * this.dim) throw new UserError(`dense index: ${vectors.length} values for ${ids.length} ids × dim ${this.dim}`);
    ids.forEach((id, i) => this.add(id, vectors.subarray(i * this.dim, (i + 1) * this.dim)));
  }
}

/** Padded [n × length × dim] embeddings with a [n × length] mask → each item's scored tokens (copies). */
export function unpad(embeddings: Float32Array, mask: ArrayLike<number> | null, n: number, length: number, dim: number): Float32Array[] {
  if (embeddings.length !== n * length * dim) throw new UserError(`unpad: ${embeddings.length} values, expected ${n}×${length}×${dim}`);
  if (mask && mask.length !== n * length) throw new UserError(`unpad: mask has ${mask.length} values, expected ${n}×${length}`);
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let t = 0; t < length; t++) if (!mask || mask[i * length + t]) count++;
    const toks = new Float32Array(count * dim);
    let r = 0;
    for (let t = 0; t < length; t++) {
      if (mask && !mask[i * length + t]) continue;
      const src = (i * length + t) * dim;
      toks.set(embeddings.subarray(src, src + dim), r * dim);
      r++;
    }
    out.push(toks);
  }
  return out;
}
