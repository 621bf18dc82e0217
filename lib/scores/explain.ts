/**
 * MaxSim written out for one query and one document, for reading rather than speed: the whole
 * token-by-token similarity matrix, each query token's best document token and its value, and the sum.
 * It is the score `colbertScores` computes for the pair (same masks, same tie rule: the first of equal
 * maxima wins, as torch's max does), with every intermediate kept.
 *
 *   const e = explainMaxSim(qVectors, dVectors, qMask, dMask);
 *   e.picks[3]   // { queryToken: 3, documentToken: 7, max: 0.82, scored: true }
 *   e.score      // Σ of the scored query tokens' maxima
 */
import { UserError } from '../util/errors';

/** One query token's part of the score. */
export interface MaxSimPick {
  queryToken: number;
  /** Index of the chosen (most similar, scored) document token; null when the document has no scored token. */
  documentToken: number | null;
  /** Its similarity (0 when no document token is scored). */
  max: number;
  /** Whether this query token counts (its query mask is 1). */
  scored: boolean;
  /** What it adds to the score: `max` when scored, else 0. */
  contribution: number;
}

export interface MaxSimExplanation {
  /** q_i · d_j for every query token i and document token j, masked ones included ([Lq][Ld]). */
  similarities: number[][];
  /** Which document tokens can be chosen (document mask). */
  documentScored: boolean[];
  picks: MaxSimPick[];
  /** Σ of the contributions: the MaxSim score. */
  score: number;
}

export type Vectors = ArrayLike<ArrayLike<number>>;

/**
 * MaxSim of one pair from its token vectors (`q`: [Lq][dim], `d`: [Ld][dim]) and optional {0,1} masks
 * (query: which tokens count; document: which tokens can be chosen, e.g. not skiplisted punctuation).
 */
export function explainMaxSim(q: Vectors, d: Vectors, qMask?: ArrayLike<number>, dMask?: ArrayLike<number>): MaxSimExplanation {
  const lq = q.length;
  const ld = d.length;
  if (qMask && qMask.length !== lq) throw new UserError(`explainMaxSim: query mask has ${qMask.length} entries for ${lq} tokens`);
  if (dMask && dMask.length !== ld) throw new UserError(`explainMaxSim: document mask has ${dMask.length} entries for ${ld} tokens`);
  const dim = lq ? q[0].length : ld ? d[0].length : 0;
  for (const [what, v] of [['query', q], ['document', d]] as const) {
    for (let i = 0; i < v.length; i++) if (v[i].length !== dim) throw new UserError(`explainMaxSim: ${what} token ${i} has ${v[i].length} dimensions, expected ${dim}`);
  }
  const documentScored = Array.from({ length: ld }, (_, j) => !dMask || dMask[j] > 0);
  const similarities: number[][] = [];
  const picks: MaxSimPick[] = [];
  let score = 0;
  for (let i = 0; i < lq; i++) {
    const row = new Array<number>(ld);
    let best: number | null = null;
    for (let j = 0; j < ld; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += q[i][k] * d[j][k];
      row[j] = s;
      if (documentScored[j] && (best === null || s > row[best])) best = j;
    }
    similarities.push(row);
    const scored = !qMask || qMask[i] > 0;
    const max = best === null ? 0 : row[best];
    const contribution = scored ? max : 0;
    score += contribution;
    picks.push({ queryToken: i, documentToken: best, max, scored, contribution });
  }
  return { similarities, documentScored, picks, score };
}
