/**
 * NanoBEIR-style retrieval evaluation of an Encoder (dense or ColBERT) on one or more BEIR datasets:
 * encode the corpus (in chunks, so only one chunk's tensors live at a time) and the judged queries,
 * build the exact index (lib/retrieval), take the top-k per query, score the run with `evaluate`
 * (trec_eval semantics, every judged query counted), then report each dataset and the mean over datasets.
 *
 * The run keeps the index's top-k: equal scores at the cut keep the lower corpus position. Inside the
 * run, `evaluate` orders equal scores as trec_eval does (document id descending).
 */
import { initBackend } from '../backend/index';
import { UserError } from '../util/errors';
import type { Doc, Qrels, Query, Run } from '../data/types';
import { loadBeir } from '../data/beir';
import type { Encoder } from '../models/encoder';
import type { Encoded } from '../scores/encoded';
import { DenseIndex, MultiVectorIndex, unpad, type SearchOptions, type StorageDtype } from '../retrieval/index';
import { progressBar } from '../util/progress';
import { writeJsonAtomic } from '../util/atomic';
import { evaluate } from './metrics';

/** A dataset to evaluate on: a BEIR folder (read with lib/data's loadBeir) or records already loaded. */
export type EvalDataset =
  | { name?: string; dir: string; split?: string }
  | { name: string; corpus: Doc[]; queries: Query[]; qrels: Qrels };

export const DEFAULT_RETRIEVAL_MEASURES = ['ndcg_cut.10', 'map', 'recip_rank', 'mrr@10', 'recall.10,100', 'P.1'];

export interface RetrievalEvalOptions {
  /** Documents kept per query. Default 100. */
  k?: number;
  /** `evaluate` measure specs. Default DEFAULT_RETRIEVAL_MEASURES. */
  measures?: string[];
  /** Encoder batch size. Default 32. */
  batchSize?: number;
  /** Documents encoded per encode() call (bounds the tensors alive at once). Default 512. */
  chunkSize?: number;
  /** Index storage. Default float32. */
  dtype?: StorageDtype;
  search?: SearchOptions;
  /** Write the report here as JSON (atomically). */
  out?: string;
  /** A name for the model in the report. */
  model?: string;
  /** Keep each dataset's run in the returned report (not written to JSON). */
  keepRuns?: boolean;
}

export interface DatasetReport {
  name: string;
  source: string;
  split?: string;
  documents: number;
  queries: number;
  tokens: number;
  metrics: Record<string, number>;
  perQuery: Record<string, Record<string, number>>;
  seconds: { encodeCorpus: number; encodeQueries: number; search: number; evaluate: number };
  warnings: string[];
  run?: Run;
}

export interface RetrievalReport {
  model?: string;
  encoder: { kind: string; dim: number };
  k: number;
  measures: string[];
  datasets: DatasetReport[];
  /** Unweighted mean over datasets of each measure (NanoBEIR's aggregate). */
  mean: Record<string, number>;
  createdAt: string;
}

/** Text of a document as encoded: title and text joined by a space, trimmed (as PyLate's BEIR evaluation). */
export function documentText(d: Doc): string {
  return `${d.title} ${d.text}`.trim();
}

/** Encodes `texts` and returns each item's vectors: [tokens × dim] (ColBERT, scored tokens) or [dim]. */
async function encodeAll(encoder: Encoder, texts: string[], role: 'query' | 'document', batchSize: number, chunkSize: number, label: string, sink: (start: number, items: Float32Array[]) => void): Promise<void> {
  const bar = progressBar(label, texts.length, role === 'query' ? 'queries' : 'docs');
  try {
    for (let start = 0; start < texts.length; start += chunkSize) {
      const chunk = texts.slice(start, start + chunkSize);
      const enc: Encoded = await encoder.encode(chunk, role, { batchSize, onProgress: (done) => bar.update(start + done) });
      try {
        sink(start, itemsOf(enc, chunk.length, encoder.dim));
      } finally {
        enc.embeddings.dispose();
        enc.mask?.dispose();
      }
      bar.update(start + chunk.length);
    }
  } finally {
    bar.stop();
  }
}

function itemsOf(enc: Encoded, n: number, dim: number): Float32Array[] {
  const shape = enc.embeddings.shape;
  if (shape[0] !== n || shape[shape.length - 1] !== dim) throw new UserError(`encoder returned embeddings [${shape}] for ${n} texts, dim ${dim}`);
  const values = enc.embeddings.dataSync() as Float32Array;
  if (enc.kind === 'dense') {
    if (shape.length !== 2) throw new UserError(`dense encoder returned embeddings [${shape}], expected [n, dim]`);
    return Array.from({ length: n }, (_, i) => values.subarray(i * dim, (i + 1) * dim));
  }
  if (shape.length !== 3) throw new UserError(`ColBERT encoder returned embeddings [${shape}], expected [n, length, dim]`);
  const mask = enc.mask ? (enc.mask.dataSync() as Float32Array) : null;
  return unpad(values, mask, n, shape[1], dim);
}

function resolve(ds: EvalDataset): { name: string; source: string; split?: string; corpus: Doc[]; queries: Query[]; qrels: Qrels; warnings: string[] } {
  if ('dir' in ds) {
    const split = ds.split ?? 'test';
    const b = loadBeir(ds.dir, split);
    const name = ds.name ?? (ds.dir.replace(/[\\/]+$/, '').split(/[\\/]/).pop() || ds.dir);
    return { name, source: ds.dir, split, corpus: b.corpus, queries: b.queries, qrels: b.qrels, warnings: b.warnings.messages };
  }
  return { name: ds.name, source: '(in memory)', corpus: ds.corpus, queries: ds.queries, qrels: ds.qrels, warnings: [] };
}

const now = () => performance.now() / 1000;

/** Evaluates `encoder` on each dataset; see the module comment. */
export async function evaluateRetrieval(encoder: Encoder, datasets: EvalDataset[], opts: RetrievalEvalOptions = {}): Promise<RetrievalReport> {
  await initBackend();
  if (datasets.length === 0) throw new UserError('evaluateRetrieval: no datasets given');
  const k = opts.k ?? 100;
  const measures = opts.measures ?? DEFAULT_RETRIEVAL_MEASURES;
  const batchSize = opts.batchSize ?? 32;
  const chunkSize = Math.max(1, opts.chunkSize ?? 512);
  const reports: DatasetReport[] = [];
  let keys: string[] = [];
  for (const spec of datasets) {
    const ds = resolve(spec);
    if (ds.corpus.length === 0) throw new UserError(`${ds.source}: empty corpus`);
    const seconds = { encodeCorpus: 0, encodeQueries: 0, search: 0, evaluate: 0 };

    let t = now();
    const index = encoder.kind === 'dense' ? new DenseIndex({ dim: encoder.dim, dtype: opts.dtype }) : new MultiVectorIndex({ dim: encoder.dim, dtype: opts.dtype });
    await encodeAll(encoder, ds.corpus.map(documentText), 'document', batchSize, chunkSize, `${ds.name}: corpus`, (start, items) =>
      items.forEach((v, i) => index.add(ds.corpus[start + i].id, v)),
    );
    seconds.encodeCorpus = now() - t;

    t = now();
    const queryVecs: Float32Array[] = [];
    await encodeAll(encoder, ds.queries.map((q) => q.text), 'query', batchSize, chunkSize, `${ds.name}: queries`, (_, items) => queryVecs.push(...items.map((x) => x.slice())));
    seconds.encodeQueries = now() - t;

    t = now();
    const hits = await index.search(queryVecs, k, { progress: `${ds.name}: search`, ...opts.search });
    const run: Run = new Map();
    ds.queries.forEach((q, i) => run.set(q.id, new Map(hits[i].map((h) => [h.id, h.score]))));
    seconds.search = now() - t;

    t = now();
    const result = evaluate(ds.qrels, run, { measures, complete: true });
    seconds.evaluate = now() - t;
    keys = result.measures.filter((m) => m !== 'runid');
    const metrics: Record<string, number> = {};
    for (const key of keys) metrics[key] = result.all[key];
    const perQuery: Record<string, Record<string, number>> = {};
    for (const [qid, vals] of result.perQuery) perQuery[qid] = vals;
    reports.push({
      name: ds.name,
      source: ds.source,
      split: ds.split,
      documents: index.size,
      queries: ds.queries.length,
      tokens: index.totalTokens,
      metrics,
      perQuery,
      seconds,
      warnings: ds.warnings,
      ...(opts.keepRuns ? { run } : {}),
    });
  }
  const mean: Record<string, number> = {};
  for (const key of keys) mean[key] = reports.reduce((s, r) => s + (r.metrics[key] ?? 0), 0) / reports.length;
  const report: RetrievalReport = {
    model: opts.model,
    encoder: { kind: encoder.kind, dim: encoder.dim },
    k,
    measures: keys,
    datasets: reports,
    mean,
    createdAt: new Date().toISOString(),
  };
  if (opts.out) writeJsonAtomic(opts.out, { ...report, datasets: reports.map(({ run: _run, ...r }) => r) });
  return report;
}

/** A one-table summary of a report: one row per dataset and the mean. */
export function formatRetrievalReport(r: RetrievalReport): string {
  const head = ['dataset', ...r.measures];
  const rows = [...r.datasets.map((d) => [d.name, ...r.measures.map((m) => d.metrics[m].toFixed(4))]), ['mean', ...r.measures.map((m) => r.mean[m].toFixed(4))]];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
