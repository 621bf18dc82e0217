/**
 * Joins one query's ranking with its judgments the way trec_eval 10.0 does (form_res_rels.c):
 * rank by score descending, ties by document id descending; each retrieved document gets its
 * judged relevance, RELVALUE_NONPOOL (-1) when the qrels do not mention it, or RELVALUE_UNJUDGED
 * (-2) when the qrels list it with a negative value ("in the pool but not judged").
 */
import { UserError } from '../../util/errors';
import { rankDocs } from '../../data/trec';

export const RELVALUE_NONPOOL = -1;
export const RELVALUE_UNJUDGED = -2;

/** Everything a trec_eval measure looks at for one query (trec_eval's RES_RELS). */
export interface ResRels {
  /** Relevance of each retrieved document, in rank order. */
  rels: Int32Array;
  numRet: number;
  /** Judged documents with relevance ≥ minRel. */
  numRel: number;
  numRelRet: number;
  numNonpool: number;
  numUnjudged: number;
  /** relLevels[r] = number of judged documents with relevance r ≥ 0 (retrieved or not). */
  relLevels: number[];
  /** 1 + the highest level with a judged document (0 when nothing is judged ≥ 0). */
  numRelLevels: number;
}

export interface RelsOptions {
  minRel: number;
  /** trec_eval -M: use only the first N ranked documents. */
  maxDocsPerQuery: number;
  /** trec_eval -J: drop every retrieved document that is not judged. */
  judgedOnly: boolean;
}

/** The ranking trec_eval substitutes for a judged query missing from the run under -c. */
export const BOGUS_RANKING: ReadonlyMap<string, number> = new Map([['ceci_nest_pas_un_docno', 1.0]]);

export function formResRels(judged: Map<string, number>, ranking: ReadonlyMap<string, number>, opts: RelsOptions): ResRels {
  let ranked = rankDocs(ranking as Map<string, number>);
  if (ranked.length > opts.maxDocsPerQuery) ranked = ranked.slice(0, opts.maxDocsPerQuery);

  let maxRel = -Infinity;
  for (const [doc, r] of judged) {
    if (!Number.isInteger(r)) throw new UserError(`relevance of document '${doc}' is ${r}; judgments must be integers`);
    if (r > maxRel) maxRel = r;
  }
  const relLevels: number[] = new Array(Math.max(0, maxRel + 1)).fill(0);
  for (const r of judged.values()) if (r >= 0) relLevels[r]++;

  const rels = new Int32Array(ranked.length);
  let n = 0;
  let numRelRet = 0;
  let numNonpool = 0;
  let numUnjudged = 0;
  for (const doc of ranked) {
    const j = judged.get(doc);
    const rel = j === undefined ? RELVALUE_NONPOOL : j < 0 ? RELVALUE_UNJUDGED : j;
    if (opts.judgedOnly) {
      if (rel < 0) continue; // ranks close up over the dropped documents
    } else if (rel === RELVALUE_NONPOOL) numNonpool++;
    else if (rel === RELVALUE_UNJUDGED) numUnjudged++;
    if (rel >= opts.minRel && rel >= 0) numRelRet++;
    rels[n++] = rel;
  }

  let numRel = 0;
  let numRelLevels = 0;
  for (let i = 0; i < relLevels.length; i++) {
    if (relLevels[i]) {
      numRelLevels = i + 1;
      if (i >= opts.minRel) numRel += relLevels[i];
    }
  }
  return {
    rels: n === rels.length ? rels : rels.subarray(0, n),
    numRet: n,
    numRel,
    numRelRet,
    numNonpool,
    numUnjudged,
    relLevels,
    numRelLevels,
  };
}
