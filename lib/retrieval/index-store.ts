/**
 * Exact in-memory indexes: every document's vectors in ONE contiguous buffer (float32, or float16 halves)
 * with per-document offsets. `MultiVectorIndex` ranks by MaxSim over token vectors; `DenseIndex` by the
 * dot product of single vectors (a document of one token scored by a query of one token is exactly that,
 * so both share one search loop).
 *
 * Search is brute force and exact, the reference any approximate index is checked against: queries in
 * batches through lib/scores' blocked MaxSim (`maxSimBlocked`), then top-k.
 *
 * Ranking: higher score first; equal scores → lower internal index (insertion order) first.
 * A document or query with no tokens scores 0, as in lib/scores.
 */
import { initBackend } from '../backend/index';
import { maxSimBlocked, type SearchTimings } from '../scores/maxsim-blocked';
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
  /** Where the products run (lib/scores maxSimBlocked): 'ort' (native, multi-core) or 'tfjs'; default ort where it loads unless CZ_ENGINE=tfjs. */
  product?: 'ort' | 'tfjs';
  /** ORT threads (default: all cores, or CZ_THREADS). */
  threads?: number;
}

export type { SearchTimings };

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
  /** The identity of the model whose vectors these are (`modelFingerprint`), when known; saved with the index. */
  modelFingerprint?: string;
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
      maxSimBlocked(batch, { dim, offsets: this.offsets, store: this.store }, out.slice(b0, b0 + queryBatch), { maxBlockFloats, tick: (n) => bar?.update((done += n)), timings: opts.timings, product: opts.product, threads: opts.threads });
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
