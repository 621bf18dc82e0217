/**
 * A smaller copy of a BEIR set for quick evaluations (NanoBEIR's recipe in spirit): a seeded sample of the
 * judged queries, and a corpus holding every document judged for those queries plus seeded random
 * distractors up to a size. Retrieval on the smaller corpus is easier than on the full one, so numbers
 * from a sample are not comparable to published full-corpus numbers; the sample says how it was made.
 */
import { UserError } from '../util/errors';
import { mulberry32, shuffleInPlace } from '../util/rng';
import type { Doc, Qrels, Query } from './types';

export interface SampleOptions {
  /** Judged queries to keep (all when there are fewer). */
  queries: number;
  /** Corpus size to aim at: every judged document of the kept queries, then distractors up to this many. */
  documents: number;
  seed?: number;
}

export interface BeirSample {
  corpus: Doc[];
  queries: Query[];
  qrels: Qrels;
  /** What was kept out of what, in one sentence. */
  note: string;
  /** Judged documents of the kept queries that the corpus holds (all of them, even past `documents`). */
  judgedDocuments: number;
}

/**
 * Samples `o.queries` of the judged queries (seeded), keeps their judgments, and a corpus of every
 * document those judgments name (that the corpus has) plus random others up to `o.documents`. Corpus and
 * queries keep their original order.
 */
export function sampleBeir(set: { corpus: Doc[]; queries: Query[]; qrels: Qrels }, o: SampleOptions): BeirSample {
  if (!(Number.isInteger(o.queries) && o.queries > 0)) throw new UserError(`sampleBeir: queries must be a positive integer (got ${o.queries})`);
  if (!(Number.isInteger(o.documents) && o.documents > 0)) throw new UserError(`sampleBeir: documents must be a positive integer (got ${o.documents})`);
  const rand = mulberry32(o.seed ?? 0);
  const judged = set.queries.filter((q) => set.qrels.has(q.id));
  const keepQ = new Set(shuffleInPlace(judged.map((q) => q.id), rand).slice(0, o.queries));
  const queries = judged.filter((q) => keepQ.has(q.id));
  const qrels: Qrels = new Map([...set.qrels].filter(([qid]) => keepQ.has(qid)).map(([qid, docs]) => [qid, new Map(docs)]));
  const inCorpus = new Set(set.corpus.map((d) => d.id));
  const keepD = new Set<string>();
  for (const docs of qrels.values()) for (const id of docs.keys()) if (inCorpus.has(id)) keepD.add(id);
  const judgedDocuments = keepD.size;
  const others = shuffleInPlace(set.corpus.filter((d) => !keepD.has(d.id)).map((d) => d.id), rand);
  for (const id of others) {
    if (keepD.size >= o.documents) break;
    keepD.add(id);
  }
  const corpus = set.corpus.filter((d) => keepD.has(d.id));
  const note =
    `${queries.length} of ${judged.length} judged queries (seed ${o.seed ?? 0}); ${corpus.length} of ${set.corpus.length} documents: ` +
    `the ${judgedDocuments} judged for those queries and ${corpus.length - judgedDocuments} random others`;
  return { corpus, queries, qrels, note, judgedDocuments };
}
