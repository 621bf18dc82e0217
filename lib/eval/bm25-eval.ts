/**
 * BM25 (lib/retrieval/bm25.ts: k1 = 0.9, b = 0.4) evaluated like an encoder: each dataset's corpus
 * indexed (title and text, `documentText`), every judged query searched for its top k, the run scored by
 * `evaluate` (trec_eval semantics, every judged query counted). The lexical scale to put beside a model
 * evaluated with `evaluateRetrieval` on the same documents and queries (a sample from `sampleBeir`, say).
 */
import { UserError } from '../util/errors';
import type { Doc, Qrels, Query } from '../data/types';
import { loadBeir, documentText } from '../data/beir';
import { Bm25Index } from '../retrieval/bm25';
import { evaluate } from './trec/evaluate';

export interface Bm25DatasetReport {
  name: string;
  documents: number;
  queries: number;
  metrics: Record<string, number>;
  perQuery: Record<string, Record<string, number>>;
}

/** BM25's metrics on each dataset (records in memory, or a BEIR folder and split). */
export function evaluateBm25(
  datasets: Array<{ name: string; corpus: Doc[]; queries: Query[]; qrels: Qrels } | { name: string; dir: string; split?: string }>,
  opts: { k?: number; measures?: string[] } = {},
): { measures: string[]; datasets: Bm25DatasetReport[] } {
  if (datasets.length === 0) throw new UserError('evaluateBm25: no datasets given');
  const k = opts.k ?? 100;
  let keys: string[] = [];
  const out: Bm25DatasetReport[] = datasets.map((spec) => {
    const ds = 'dir' in spec ? { name: spec.name, ...loadBeir(spec.dir, spec.split ?? 'test') } : spec;
    if (ds.corpus.length === 0) throw new UserError(`evaluateBm25: ${ds.name} has an empty corpus`);
    const index = new Bm25Index(ds.corpus.map((d) => ({ id: d.id, text: documentText(d) })));
    const r = evaluate(ds.qrels, index.run(ds.queries, k), { measures: opts.measures, complete: true });
    keys = r.measures.filter((m) => m !== 'runid');
    const metrics = Object.fromEntries(keys.map((m) => [m, r.all[m]]));
    const perQuery: Record<string, Record<string, number>> = {};
    for (const [qid, v] of r.perQuery) perQuery[qid] = v;
    return { name: ds.name, documents: ds.corpus.length, queries: ds.queries.length, metrics, perQuery };
  });
  return { measures: keys, datasets: out };
}
