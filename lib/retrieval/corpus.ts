/**
 * The retrieval trip, spelled once: encode a corpus into an exact index, and encode queries and search
 * them into a TREC run. The CLI (`index`, `search`), the evaluator, pipelines and notebooks all call these.
 *
 *   const index = await indexCorpus(model, corpus);              // MultiVectorIndex (ColBERT) or DenseIndex
 *   const run = await searchQueries(model, index, queries, { k: 100 });
 *
 * Encoding goes in chunks, so only one chunk's tensors live at a time; documents are encoded as
 * `documentText` (title + text), queries as their text.
 */
import type { Doc, Query, Run } from '../data/types';
import { documentText } from '../data/beir';
import type { Encoder } from '../models/encoder';
import type { Encoded } from '../scores/encoded';
import type { Role } from '../tokenize/types';
import { UserError } from '../util/errors';
import { progressBar } from '../util/progress';
import { DenseIndex, MultiVectorIndex, unpad, type SearchOptions, type StorageDtype } from './index-store';

export interface EncodeTextsOptions {
  /** Texts per forward pass. Default 32. */
  batchSize?: number;
  /** Texts per `encode` call (bounds the tensors alive at once). Default 512. */
  chunkSize?: number;
  /** Label of a progress bar (shown on a terminal); none when absent. */
  progress?: string;
}

export interface IndexCorpusOptions extends EncodeTextsOptions {
  /** Vector storage. Default float32. */
  dtype?: StorageDtype;
  /** The model's identity (`modelFingerprint`), recorded in the index so a search with another model is refused. */
  modelFingerprint?: string;
}

export interface SearchQueriesOptions extends EncodeTextsOptions {
  /** Documents kept per query. Default 100. */
  k?: number;
  search?: SearchOptions;
  /** When given, receives the seconds spent encoding the queries and searching. */
  seconds?: { encode: number; search: number };
}

/** Each text's vectors: [scored tokens × dim] for ColBERT, [dim] for dense, handed to `sink` chunk by chunk. */
export async function encodeTexts(encoder: Encoder, texts: string[], role: Role, opts: EncodeTextsOptions, sink: (start: number, items: Float32Array[]) => void): Promise<void> {
  const batchSize = opts.batchSize ?? 32;
  const chunkSize = Math.max(1, opts.chunkSize ?? 512);
  const bar = opts.progress ? progressBar(opts.progress, texts.length, role === 'query' ? 'queries' : 'docs') : null;
  try {
    for (let start = 0; start < texts.length; start += chunkSize) {
      const chunk = texts.slice(start, start + chunkSize);
      const enc = await encoder.encode(chunk, role, { batchSize, onProgress: (done) => bar?.update(start + done) });
      try {
        sink(start, itemsOf(enc, chunk.length, encoder.dim));
      } finally {
        enc.embeddings.dispose();
        enc.mask?.dispose();
      }
      bar?.update(start + chunk.length);
    }
  } finally {
    bar?.stop();
  }
}

function itemsOf(enc: Encoded, n: number, dim: number): Float32Array[] {
  const shape = enc.embeddings.shape;
  if (shape[0] !== n || shape[shape.length - 1] !== dim) throw new UserError(`encoder returned embeddings [${shape}] for ${n} texts, dim ${dim}`);
  const values = enc.embeddings.dataSync() as Float32Array;
  if (enc.kind === 'dense') {
    if (shape.length !== 2) throw new UserError(`dense encoder returned embeddings [${shape}], expected [n, dim]`);
    return Array.from({ length: n }, (_, i) => values.slice(i * dim, (i + 1) * dim));
  }
  if (shape.length !== 3) throw new UserError(`ColBERT encoder returned embeddings [${shape}], expected [n, length, dim]`);
  const mask = enc.mask ? (enc.mask.dataSync() as Float32Array) : null;
  return unpad(values, mask, n, shape[1], dim);
}

/** Encodes every document and adds it to a new exact index of the encoder's kind. */
export async function indexCorpus(encoder: Encoder, corpus: Doc[], opts: IndexCorpusOptions = {}): Promise<MultiVectorIndex | DenseIndex> {
  const index = encoder.kind === 'dense' ? new DenseIndex({ dim: encoder.dim, dtype: opts.dtype }) : new MultiVectorIndex({ dim: encoder.dim, dtype: opts.dtype });
  index.modelFingerprint = opts.modelFingerprint;
  await encodeTexts(encoder, corpus.map(documentText), 'document', opts, (start, items) => items.forEach((v, i) => index.add(corpus[start + i].id, v)));
  return index;
}

/** Encodes the queries and returns each one's top-k documents of `index` as a run (query id → doc id → score). */
export async function searchQueries(encoder: Encoder, index: MultiVectorIndex | DenseIndex, queries: Query[], opts: SearchQueriesOptions = {}): Promise<Run> {
  const expected = encoder.kind === 'dense' ? 'dense' : 'multivector';
  if (index.kind !== expected) throw new UserError(`a ${encoder.kind} model cannot search a ${index.kind} index`);
  if (index.dim !== encoder.dim) throw new UserError(`the index holds vectors of dim ${index.dim}, the model produces ${encoder.dim}`);
  const vectors: Float32Array[] = [];
  const t0 = performance.now();
  await encodeTexts(encoder, queries.map((q) => q.text), 'query', { ...opts, progress: opts.progress && `${opts.progress}: encode` }, (_, items) => vectors.push(...items));
  const t1 = performance.now();
  const hits = await index.search(vectors, opts.k ?? 100, { ...(opts.progress ? { progress: `${opts.progress}: search` } : {}), ...opts.search });
  if (opts.seconds) {
    opts.seconds.encode = (t1 - t0) / 1000;
    opts.seconds.search = (performance.now() - t1) / 1000;
  }
  const run: Run = new Map();
  queries.forEach((q, i) => run.set(q.id, new Map(hits[i].map((h) => [h.id, h.score]))));
  return run;
}
