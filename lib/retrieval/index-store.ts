/**
 * Exact in-memory indexes: every document's vectors in ONE contiguous buffer (float32, or float16 halves)
 * with per-document offsets. `MultiVectorIndex` ranks by MaxSim over token vectors; `DenseIndex` by the
 * dot product of single vectors (a document of one token scored by a query of one token is exactly that,
 * so both share one search loop).
 *
 * Search is brute force and exact, the reference any approximate index is checked against: queries in
 * batches through lib/scores' blocked MaxSim (`maxSimBlocked`), then top-k. With several threads (the
 * default: all cores) the documents are split into shards by tokens; this thread and worker threads each
 * run the same blocked MaxSim and top-k over their shard of the store, which lives on a SharedArrayBuffer
 * (read in place: nothing is sent to the workers per query), and the shards' top-k lists are merged by the same rule: identical results.
 *
 * Ranking: higher score first; equal scores → lower internal index (insertion order) first.
 * A document or query with no tokens scores 0, as in lib/scores.
 */
import * as os from 'node:os';
import { initBackend } from '../backend/index';
import { defaultProduct } from '../backend/ort-gemm';
import { maxSimBlocked, type SearchTimings } from '../scores/maxsim-blocked';
import { UserError } from '../util/errors';
import { threadCount } from '../util/limits';
import { progressBar } from '../util/progress';
import { decodeF16, encodeF16 } from '../util/f16';
import { runOnWorkers } from './search-pool';
import { runShard, type ShardJob } from './search-shard';
import { ranksBefore, topKInto } from './topk';

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
  /** Where the products run (lib/scores maxSimBlocked): 'ort' (native, multi-core) or 'tfjs'; default: the engine resolveEngine picks. A caller that resolved an engine passes it here, so encoding and scoring agree. */
  product?: 'ort' | 'tfjs';
  /**
   * Threads for the search (default: all cores, or CZ_THREADS, at most the cores). 1: everything in this thread. More: the
   * documents are split into that many shards by tokens, scored by this thread and worker threads over
   * the shared store (single-threaded products each), and the shards' top-k merged. Results are identical.
   */
  threads?: number;
  /** Fewest document tokens per shard (default: 16384, and at least one block of documents): a smaller index uses fewer threads (one: no workers, products on `threads` ORT threads, at most the cores). */
  minShardTokens?: number;
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
  /** The identity of the model whose vectors these are (`modelFingerprint`), when known; saved with the index. */
  modelFingerprint?: string;
  private readonly idSet = new Set<string>();
  /** offsets[i]..offsets[i+1] are document i's tokens; offsets.length = size + 1. */
  protected offsets: number[] = [0];
  /** On a SharedArrayBuffer: search worker threads read it in place. */
  protected store: Float32Array | Uint16Array;
  private sharedOffsetsCache?: Float64Array;

  constructor(opts: IndexOptions) {
    if (!Number.isInteger(opts.dim) || opts.dim <= 0) throw new UserError(`index: dim must be a positive integer, got ${opts.dim}`);
    this.dim = opts.dim;
    this.dtype = opts.dtype ?? 'float32';
    if (this.dtype !== 'float32' && this.dtype !== 'float16') throw new UserError(`index: dtype must be float32 or float16, got ${this.dtype}`);
    const cap = Math.max(16, opts.capacityTokens ?? 1024) * this.dim;
    this.store = sharedArray(this.dtype, cap);
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
      const grown = sharedArray(this.dtype, Math.max(need, 2 * this.store.length));
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
    if (store.buffer instanceof SharedArrayBuffer) this.store = store;
    else {
      // Search worker threads read the store without a copy only from shared memory (loadIndex reads into it directly).
      this.store = sharedArray(this.dtype, store.length);
      this.store.set(store);
    }
  }

  /** The raw parts, for saving. */
  parts(): { ids: string[]; lengths: Uint32Array; store: Float32Array | Uint16Array } {
    const lengths = new Uint32Array(this.size);
    for (let i = 0; i < this.size; i++) lengths[i] = this.length(i);
    return { ids: this.ids, lengths, store: this.store.subarray(0, this.totalTokens * this.dim) };
  }

  /** Every document's score for every query: one Float64Array of length `size` per query. */
  async scoreAll(queries: Float32Array[], opts: SearchOptions = {}): Promise<Float64Array[]> {
    const plan = await this.plan(queries, opts);
    const size = this.size;
    const all = plan.shards > 1 ? new Float64Array(new SharedArrayBuffer(8 * queries.length * size)) : new Float64Array(queries.length * size);
    const out = queries.map((_, q) => all.subarray(q * size, (q + 1) * size));
    await this.run(queries, plan, opts, (b0, nb) => ({ scores: all.subarray(b0 * size, (b0 + nb) * size), k: 0, done: () => {} }));
    return out;
  }

  /** Top-k documents per query, best first (ties: lower internal index first). */
  async search(queries: Float32Array[], k: number, opts: SearchOptions = {}): Promise<Hit[][]> {
    if (!Number.isInteger(k) || k < 1) throw new UserError(`index search: k must be a positive integer, got ${k}`);
    const plan = await this.plan(queries, opts);
    const size = this.size;
    const kk = Math.min(k, size);
    // One score buffer for a batch, reused by every batch of this call.
    const floats = Math.min(plan.queryBatch, queries.length) * size;
    const scores = plan.shards > 1 ? new Float64Array(new SharedArrayBuffer(8 * floats)) : new Float64Array(floats);
    const hits: Hit[][] = [];
    const heads = new Int32Array(plan.shards); // per query: how far each shard's list has been taken
    await this.run(queries, plan, opts, (_b0, nb) => ({
      scores: scores.subarray(0, nb * size),
      k: kk,
      done: (topDocs, topCounts) => {
        // Each shard's lists are ranked; a merge by the same rule gives the top-k of the whole range.
        for (let q = 0; q < nb; q++) {
          const s = scores.subarray(q * size, (q + 1) * size);
          const row: Hit[] = [];
          heads.fill(0);
          while (row.length < kk) {
            let best = -1;
            let bestDoc = -1;
            for (let sh = 0; sh < plan.shards; sh++) {
              if (heads[sh] >= topCounts[sh * nb + q]) continue;
              const doc = topDocs[(sh * nb + q) * kk + heads[sh]];
              if (best < 0 || ranksBefore(s, doc, bestDoc)) {
                best = sh;
                bestDoc = doc;
              }
            }
            if (best < 0) break;
            heads[best]++;
            row.push({ doc: bestDoc, id: this.ids[bestDoc], score: s[bestDoc] });
          }
          hits.push(row);
        }
      },
    }));
    return hits;
  }

  /** Validates the queries and decides the batching and the shards (threads) of a search. */
  private async plan(queries: Float32Array[], opts: SearchOptions): Promise<SearchPlan> {
    await initBackend();
    const dim = this.dim;
    for (const [i, q] of queries.entries()) {
      if (q.length % dim !== 0) throw new UserError(`index search: query ${i} has ${q.length} values, not a multiple of dim ${dim}`);
    }
    // Threads asked for in code are honoured up to the work; the default (CZ_THREADS, else the cores) is at
    // most the cores, with a warning (999 threads ran a 3-second search past two minutes).
    const threads = opts.threads ?? threadCount(undefined, 'index search: threads');
    if (!Number.isSafeInteger(threads) || threads < 1) throw new UserError(`index search: threads must be a positive integer, got ${threads}`);
    const queryBatch = Math.max(1, opts.queryBatch ?? 32);
    const maxBlockFloats = Math.max(1, opts.maxBlockFloats ?? 8 * 1024 * 1024);
    // A shard is at least one block of documents (as maxSimBlocked cuts them for the largest query batch)
    // and 16384 tokens: more shards than that only start workers with nothing to do.
    let batchTokens = 1;
    for (let b0 = 0; b0 < queries.length; b0 += queryBatch) batchTokens = Math.max(batchTokens, queries.slice(b0, b0 + queryBatch).reduce((t, q) => t + q.length / dim, 0));
    const blockTokens = Math.max(1, Math.floor(maxBlockFloats / Math.max(batchTokens, dim)));
    const minShardTokens = Math.max(1, opts.minShardTokens ?? Math.max(16384, blockTokens));
    const shards = Math.max(1, Math.min(threads, this.size, Math.floor(this.totalTokens / minShardTokens)));
    return {
      // ONNX Runtime's pool for a single shard: never more threads than cores.
      threads: Math.min(threads, os.availableParallelism()),
      shards,
      queryBatch,
      maxBlockFloats,
      product: opts.product ?? defaultProduct(),
    };
  }

  /**
   * Scores the queries batch by batch. One shard: in this thread, products on `threads` ORT threads (the
   * single-thread path). Several: the document range split by tokens, shard 0 here and the others on
   * worker threads, each with single-threaded products, over the shared store.
   */
  private async run(queries: Float32Array[], plan: SearchPlan, opts: SearchOptions, batch: (b0: number, nb: number) => BatchSink): Promise<void> {
    const { dim, size } = this;
    const batches = Math.ceil(queries.length / plan.queryBatch);
    const bar = opts.progress ? progressBar(opts.progress, size * batches, 'docs') : null;
    let done = 0;
    const tick = (n: number) => bar?.update((done += n));
    const nbMax = Math.min(plan.queryBatch, queries.length);
    let shared: SharedParts | undefined;
    if (plan.shards > 1) {
      const maxTokens = Math.max(0, ...queries.map((q) => q.length / dim));
      shared = {
        offsets: this.sharedOffsets(),
        bounds: this.shardBounds(plan.shards),
        queries: new Float32Array(new SharedArrayBuffer(4 * Math.max(1, nbMax * maxTokens * dim))),
        queryStart: new Int32Array(new SharedArrayBuffer(4 * (nbMax + 1))),
      };
    }
    // Shards' top-k lists: [shard][query in batch][k].
    let topDocs: Int32Array | undefined;
    let topCounts: Int32Array | undefined;
    try {
      for (let b0 = 0; b0 < queries.length; b0 += plan.queryBatch) {
        const qs = queries.slice(b0, b0 + plan.queryBatch);
        const nb = qs.length;
        const sink = batch(b0, nb);
        if (sink.k > 0 && !topDocs) {
          const mk = (n: number) => (shared ? new Int32Array(new SharedArrayBuffer(4 * Math.max(1, n))) : new Int32Array(n));
          topDocs = mk(plan.shards * nbMax * sink.k);
          topCounts = mk(plan.shards * nbMax);
        }
        if (!shared) {
          const out = qs.map((_, q) => sink.scores.subarray(q * size, (q + 1) * size));
          maxSimBlocked(qs, { dim, offsets: this.offsets, store: this.store }, out, { maxBlockFloats: plan.maxBlockFloats, tick, timings: opts.timings, product: plan.product, threads: plan.threads });
          if (sink.k > 0) for (let q = 0; q < nb; q++) topCounts![q] = topKInto(out[q], 0, size, sink.k, topDocs!.subarray(q * sink.k, (q + 1) * sink.k));
        } else {
          let t = 0;
          shared.queryStart[0] = 0;
          qs.forEach((q, i) => {
            shared.queries.set(q, t * dim);
            t += q.length / dim;
            shared.queryStart[i + 1] = t;
          });
          const jobs: ShardJob[] = shared.bounds.slice(0, -1).map((from, slot) => ({
            dim,
            offsets: shared.offsets,
            store: this.store,
            queries: shared.queries,
            queryStart: shared.queryStart,
            nq: nb,
            scores: sink.scores,
            stride: size,
            from,
            to: shared.bounds[slot + 1],
            k: sink.k,
            slot,
            topDocs: topDocs ?? EMPTY_I32,
            topCounts: topCounts ?? EMPTY_I32,
            maxBlockFloats: plan.maxBlockFloats,
            product: plan.product,
            threads: 1,
          }));
          const others = runOnWorkers(jobs.slice(1), !!opts.timings);
          // Shard 0 here while the workers run theirs; wait for them even when it fails (they write into this call's buffers).
          let failure: unknown;
          try {
            runShard(jobs[0], opts.timings);
          } catch (e) {
            failure = e;
          }
          const theirs = await others.catch((e: unknown) => {
            failure ??= e;
            return [];
          });
          if (failure !== undefined) throw failure;
          if (opts.timings) for (const t of theirs) if (t) addTimings(opts.timings, t);
          tick(size);
        }
        if (sink.k > 0) sink.done(topDocs!, topCounts!);
        else sink.done(EMPTY_I32, EMPTY_I32);
      }
    } finally {
      bar?.stop();
    }
  }

  /** The offsets on a SharedArrayBuffer for worker threads (rebuilt after documents are added). */
  private sharedOffsets(): Float64Array {
    if (!this.sharedOffsetsCache || this.sharedOffsetsCache.length !== this.offsets.length) {
      const o = new Float64Array(new SharedArrayBuffer(8 * this.offsets.length));
      o.set(this.offsets);
      this.sharedOffsetsCache = o;
    }
    return this.sharedOffsetsCache;
  }

  /** shards + 1 document boundaries splitting the tokens as evenly as documents allow. */
  private shardBounds(shards: number): number[] {
    const bounds = [0];
    const total = this.totalTokens;
    let d = 0;
    for (let s = 1; s < shards; s++) {
      const target = (total * s) / shards;
      while (d < this.size && this.offsets[d] < target) d++;
      bounds.push(Math.max(d, bounds[bounds.length - 1]));
    }
    bounds.push(this.size);
    return bounds;
  }
}

const EMPTY_I32 = new Int32Array(0);

function addTimings(into: SearchTimings, t: SearchTimings): void {
  into.decode += t.decode;
  into.product += t.product;
  into.segmentMax += t.segmentMax;
}

interface SearchPlan {
  threads: number;
  shards: number;
  queryBatch: number;
  maxBlockFloats: number;
  product: 'ort' | 'tfjs';
}

/** What a batch's scores go into and what happens once they are done. */
interface BatchSink {
  /** [queries in batch × size]. */
  scores: Float64Array;
  /** > 0: the shards' top-k lists are wanted (topDocs/topCounts filled for `done`). */
  k: number;
  done: (topDocs: Int32Array, topCounts: Int32Array) => void;
}

interface SharedParts {
  offsets: Float64Array;
  bounds: number[];
  queries: Float32Array;
  queryStart: Int32Array;
}

/** A typed array of n elements on a SharedArrayBuffer (readable by search worker threads without a copy). */
function sharedArray(dtype: StorageDtype, n: number): Float32Array | Uint16Array {
  return dtype === 'float16' ? new Uint16Array(new SharedArrayBuffer(2 * n)) : new Float32Array(new SharedArrayBuffer(4 * n));
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
