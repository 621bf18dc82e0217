/**
 * BM25 (Robertson & Zaragoza's probabilistic relevance framework), the lexical baseline. Defaults are
 * Anserini's / Pyserini's: k1 = 0.9, b = 0.4, and Lucene's non-negative idf:
 *
 *   score(q, d) = Σ_{t ∈ q} idf(t) · tf(t,d) · (k1 + 1) / (tf(t,d) + k1 · (1 − b + b · |d| / avgdl))
 *   idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
 *
 * A query term counts once per occurrence in the query (as Lucene's bag-of-words query does). Lucene (≥ 8)
 * drops the constant (k1 + 1) factor and stores document lengths lossily in one byte; neither changes the
 * ranking much, the first changes only the scale. Tokens: lower-cased runs of letters and digits — exact
 * token overlap, no stemming and no stopword list, unless a tokenizer is given.
 */

export interface Bm25Options {
  k1?: number;
  b?: number;
  tokenize?: (text: string) => string[];
}

/** Lower-cased maximal runs of Unicode letters, marks and digits. */
export function lexicalTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
}

interface Posting {
  doc: number;
  tf: number;
}

export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  readonly ids: string[];
  readonly avgdl: number;
  private readonly tokenize: (text: string) => string[];
  private readonly lengths: Float64Array;
  private readonly postings = new Map<string, Posting[]>();

  constructor(docs: { id: string; text: string }[], opts: Bm25Options = {}) {
    this.k1 = opts.k1 ?? 0.9;
    this.b = opts.b ?? 0.4;
    if (!(this.k1 >= 0) || !(this.b >= 0 && this.b <= 1)) throw new Error(`BM25: k1 must be ≥ 0 and b in [0, 1] (got k1=${this.k1}, b=${this.b})`);
    this.tokenize = opts.tokenize ?? lexicalTokens;
    this.ids = docs.map((d) => d.id);
    this.lengths = new Float64Array(docs.length);
    let total = 0;
    docs.forEach((d, i) => {
      const toks = this.tokenize(d.text);
      this.lengths[i] = toks.length;
      total += toks.length;
      const tf = new Map<string, number>();
      for (const t of toks) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, n] of tf) {
        let list = this.postings.get(t);
        if (!list) this.postings.set(t, (list = []));
        list.push({ doc: i, tf: n });
      }
    });
    this.avgdl = docs.length ? total / docs.length : 0;
  }

  get size(): number {
    return this.ids.length;
  }

  /** Document frequency of a (tokenized) term. */
  df(term: string): number {
    return this.postings.get(term)?.length ?? 0;
  }

  idf(term: string): number {
    const df = this.df(term);
    return Math.log(1 + (this.size - df + 0.5) / (df + 0.5));
  }

  /** Scores of every document that shares a term with the query (others score 0), by internal index. */
  scores(query: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const t of this.tokenize(query)) {
      const list = this.postings.get(t);
      if (!list) continue;
      const idf = this.idf(t);
      for (const { doc, tf } of list) {
        const norm = this.k1 * (1 - this.b + (this.b * this.lengths[doc]) / this.avgdl);
        out.set(doc, (out.get(doc) ?? 0) + (idf * tf * (this.k1 + 1)) / (tf + norm));
      }
    }
    return out;
  }

  /** The top-k documents for a query: [id, score], higher first, equal scores in corpus order. */
  search(query: string, k: number): [string, number][] {
    const hits = Array.from(this.scores(query));
    hits.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    return hits.slice(0, k).map(([doc, s]) => [this.ids[doc], s]);
  }

  /** A run (query id → document id → score) of the top-k documents of each query. */
  run(queries: { id: string; text: string }[], k = 1000): Map<string, Map<string, number>> {
    const run = new Map<string, Map<string, number>>();
    for (const q of queries) run.set(q.id, new Map(this.search(q.text, k)));
    return run;
  }
}
