/**
 * NanoBEIR-style retrieval evaluation of an Encoder (dense or ColBERT) on one or more BEIR datasets:
 * index the corpus and search the judged queries (lib/retrieval's `indexCorpus` / `searchQueries`: the
 * exact index, top-k per query), score the run with `evaluate`
 * (trec_eval semantics, every judged query counted), then report each dataset and the mean over datasets.
 *
 * The run keeps the index's top-k: equal scores at the cut keep the lower corpus position. Inside the
 * run, `evaluate` orders equal scores as trec_eval does (document id descending).
 */
import { initBackend } from '../backend/index';
import { productFor } from '../backend/ort-gemm';
import { UserError } from '../util/errors';
import type { Doc, Qrels, Query, Run } from '../data/types';
import { loadBeir } from '../data/beir';
import type { Encoder } from '../models/encoder';
import type { SearchOptions, StorageDtype } from '../retrieval/index-store';
import { indexCorpus, searchQueries } from '../retrieval/corpus';
import { writeJsonAtomic } from '../util/atomic';
import { evaluate } from './trec/evaluate';

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
  // Scoring runs where the encoder runs (an encoder opened on tfjs is scored on tfjs), unless the caller says.
  const engine = (encoder as { engine?: unknown }).engine;
  const searchOptions: SearchOptions | undefined = opts.search?.product || (engine !== 'ort' && engine !== 'tfjs') ? opts.search : { ...opts.search, product: productFor({ engine, chosenBy: 'default' }) };
  for (const spec of datasets) {
    const ds = resolve(spec);
    if (ds.corpus.length === 0) throw new UserError(`${ds.source}: empty corpus`);
    const seconds = { encodeCorpus: 0, encodeQueries: 0, search: 0, evaluate: 0 };

    let t = now();
    const index = await indexCorpus(encoder, ds.corpus, { dtype: opts.dtype, batchSize, chunkSize, progress: `${ds.name}: corpus` });
    seconds.encodeCorpus = now() - t;

    t = now();
    const split = { encode: 0, search: 0 };
    const run = await searchQueries(encoder, index, ds.queries, { k, batchSize, chunkSize, progress: `${ds.name}: queries`, search: searchOptions, seconds: split });
    seconds.encodeQueries = split.encode;
    seconds.search = split.search;

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
