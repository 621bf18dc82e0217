/**
 * trec_eval 10.0's per-query measures, one function per m_<name>.c file, computed from the joined
 * ranking (ResRels). Loops keep trec_eval's order of floating-point operations so that values agree
 * to the last printed digit. `minRel` is trec_eval's relevance_level (-l, default 1).
 */
import { RELVALUE_NONPOOL, RELVALUE_UNJUDGED, type ResRels } from './res-rels';

export interface Ctx {
  minRel: number;
  /** trec_eval -N (only the utility measure's 4th coefficient uses it). */
  numDocsInColl: number;
}

export interface Pair {
  name: string;
  value: number;
}

export const MIN_GEO_MEAN = 0.00001;
const INFAP_EPSILON = 0.00001;

/** Precision-like measures at integer cut-offs share trec_eval's "value at i == cutoff" loop. */
function atCutoffs(rr: ResRels, cutoffs: number[], step: (rel: number) => void, value: (i: number) => number): number[] {
  const out = new Array<number>(cutoffs.length).fill(0);
  let ci = 0;
  for (let i = 0; i < rr.numRet; i++) {
    if (i === cutoffs[ci]) {
      out[ci] = value(i);
      if (++ci === cutoffs.length) return out;
    }
    step(rr.rels[i]);
  }
  for (; ci < cutoffs.length; ci++) out[ci] = value(cutoffs[ci]);
  return out;
}

export function averagePrecision(rr: ResRels, c: Ctx): number {
  let relSoFar = 0;
  let sum = 0;
  for (let i = 0; i < rr.numRet; i++) {
    if (rr.rels[i] >= c.minRel) {
      relSoFar++;
      sum += relSoFar / (i + 1);
    }
  }
  return relSoFar ? sum / rr.numRel : 0;
}

export function gmMap(rr: ResRels, c: Ctx): number {
  let relSoFar = 0;
  let sum = 0;
  for (let i = 0; i < rr.numRet; i++) {
    if (rr.rels[i] >= c.minRel) {
      relSoFar++;
      sum += relSoFar / (i + 1);
    }
  }
  if (relSoFar) sum = sum / rr.numRel;
  return Math.log(Math.max(sum, MIN_GEO_MEAN));
}

export function rPrec(rr: ResRels, c: Ctx): number {
  const n = Math.min(rr.numRet, rr.numRel);
  if (n === 0) return 0;
  let relSoFar = 0;
  for (let i = 0; i < n; i++) if (rr.rels[i] >= c.minRel) relSoFar++;
  return relSoFar / rr.numRel;
}

/** bpref (m_bpref.c); gm_bpref is its log, averaged geometrically. */
export function bpref(rr: ResRels, c: Ctx): number {
  let numNonrel = 0;
  for (let j = 0; j < c.minRel; j++) numNonrel += rr.relLevels[j] ?? 0;
  let nonrelSoFar = 0;
  let value = 0;
  for (let j = 0; j < rr.numRet; j++) {
    const r = rr.rels[j];
    if (r === RELVALUE_NONPOOL || r === RELVALUE_UNJUDGED) continue;
    if (r >= 0 && r < c.minRel) nonrelSoFar++;
    else if (nonrelSoFar > 0) {
      value += 1.0 - Math.min(nonrelSoFar, rr.numRel) / Math.min(numNonrel, rr.numRel);
    } else value += 1.0;
  }
  if (rr.numRel) value /= rr.numRel;
  return value;
}

export function recipRank(rr: ResRels, c: Ctx): number {
  for (let i = 0; i < rr.numRet; i++) if (rr.rels[i] >= c.minRel) return 1.0 / (i + 1);
  return 0;
}

/** Interpolated precision at recall levels; `average` gives 11pt_avg (m_11pt_avg.c). */
function interpolated(rr: ResRels, c: Ctx, percents: number[]): { values: number[]; sum: number } {
  const values = new Array<number>(percents.length).fill(0);
  let sum = 0;
  // v10 rounds (lround) where v9 added 0.9 and truncated.
  const cutoffs = percents.map((p) => Math.round(p * rr.numRel));
  let cur = percents.length - 1;
  while (cur >= 0 && cutoffs[cur] > rr.numRelRet) cur--;
  let precis = rr.numRelRet / rr.numRet;
  let intPrecis = precis;
  let relSoFar = rr.numRelRet;
  for (let i = rr.numRet; i > 0 && relSoFar > 0; i--) {
    precis = relSoFar / i;
    if (intPrecis < precis) intPrecis = precis;
    if (rr.rels[i - 1] >= c.minRel) {
      while (cur >= 0 && relSoFar === cutoffs[cur]) {
        values[cur] = intPrecis;
        sum += intPrecis;
        cur--;
      }
      relSoFar--;
    }
  }
  while (cur >= 0) {
    values[cur] = intPrecis;
    sum += intPrecis;
    cur--;
  }
  return { values, sum };
}

export function iprecAtRecall(rr: ResRels, c: Ctx, percents: number[]): number[] {
  return interpolated(rr, c, percents).values;
}

export function elevenPtAvg(rr: ResRels, c: Ctx, percents: number[]): number {
  return interpolated(rr, c, percents).sum / percents.length;
}

export function precisionAt(rr: ResRels, c: Ctx, cutoffs: number[]): number[] {
  let relSoFar = 0;
  return atCutoffs(rr, cutoffs, (r) => void (r >= c.minRel && relSoFar++), (i) => relSoFar / i);
}

export function recallAt(rr: ResRels, c: Ctx, cutoffs: number[]): number[] {
  if (rr.numRel === 0) return cutoffs.map(() => 0);
  let relSoFar = 0;
  return atCutoffs(rr, cutoffs, (r) => void (r >= c.minRel && relSoFar++), () => relSoFar / rr.numRel);
}

export function relativePAt(rr: ResRels, c: Ctx, cutoffs: number[]): number[] {
  if (rr.numRel === 0) return cutoffs.map(() => 0);
  let relSoFar = 0;
  return atCutoffs(rr, cutoffs, (r) => void (r >= c.minRel && relSoFar++), (i) => relSoFar / (i > rr.numRel ? rr.numRel : i));
}

export function successAt(rr: ResRels, c: Ctx, cutoffs: number[]): number[] {
  let relSoFar = 0;
  return atCutoffs(rr, cutoffs, (r) => void (r >= c.minRel && relSoFar++), () => (relSoFar ? 1 : 0));
}

export function mapAt(rr: ResRels, c: Ctx, cutoffs: number[]): number[] {
  if (rr.numRel === 0) return cutoffs.map(() => 0);
  let relSoFar = 0;
  let sum = 0;
  let i = 0;
  // the step needs the rank, so keep our own counter in step with atCutoffs' loop
  return atCutoffs(
    rr,
    cutoffs,
    (r) => {
      if (r >= c.minRel) {
        relSoFar++;
        sum += relSoFar / (i + 1);
      }
      i++;
    },
    () => sum / rr.numRel,
  );
}

/** unj_N: fraction of the top N that the qrels do not judge. */
export function unjudgedAt(rr: ResRels, _c: Ctx, cutoffs: number[]): number[] {
  let unj = 0;
  return atCutoffs(rr, cutoffs, (r) => void ((r === RELVALUE_NONPOOL || r === RELVALUE_UNJUDGED) && unj++), (i) => unj / i);
}

/** The characters m_relstring.c prints for the first N relevance values. */
export function relstring(rr: ResRels, _c: Ctx, len: number): string {
  const n = Math.max(0, Math.min(Math.trunc(len), rr.numRet));
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rr.rels[i];
    s += r > 9 ? '>' : r >= 0 ? String(r) : r === RELVALUE_NONPOOL ? '-' : r === RELVALUE_UNJUDGED ? '.' : '<';
  }
  return s;
}

export function infAP(rr: ResRels, c: Ctx): number {
  let nonrelSoFar = 0;
  let relSoFar = 0;
  let poolUnjudgedSoFar = 0;
  let value = 0;
  for (let j = 0; j < rr.numRet; j++) {
    const r = rr.rels[j];
    if (r === RELVALUE_NONPOOL) continue;
    if (r === RELVALUE_UNJUDGED) {
      poolUnjudgedSoFar++;
      continue;
    }
    if (r >= 0 && r < c.minRel) nonrelSoFar++;
    else {
      relSoFar++;
      if (j === 0) value += 1.0;
      else {
        const fj = j;
        value +=
          1.0 / (fj + 1.0) +
          (fj / (fj + 1.0)) *
            ((relSoFar - 1 + nonrelSoFar + poolUnjudgedSoFar) / fj) *
            ((relSoFar - 1 + INFAP_EPSILON) / (relSoFar - 1 + nonrelSoFar + 2 * INFAP_EPSILON));
      }
    }
  }
  if (rr.numRel) value /= rr.numRel;
  return value;
}

/** Precision at multiples of R (m_Rprec_mult.c): cut-off = (long)(mult * R + 0.9). */
export function rPrecMult(rr: ResRels, c: Ctx, mults: number[]): number[] {
  const values = new Array<number>(mults.length).fill(0);
  const cutoffs = mults.map((m) => Math.trunc(m * rr.numRel + 0.9));
  let cur = mults.length - 1;
  while (cur >= 0 && cutoffs[cur] > rr.numRet) {
    values[cur] = rr.numRelRet / cutoffs[cur];
    cur--;
  }
  let relSoFar = rr.numRelRet;
  for (let i = rr.numRet; i > 0 && relSoFar > 0; i--) {
    const precis = relSoFar / i;
    while (cur >= 0 && i === cutoffs[cur]) {
      values[cur] = precis;
      cur--;
    }
    if (rr.rels[i - 1] >= c.minRel) relSoFar--;
  }
  return values;
}

export function utility(rr: ResRels, c: Ctx, p: number[]): number {
  if (p.length !== 4) throw new Error('utility needs exactly 4 coefficients');
  return (
    p[0] * rr.numRelRet +
    p[1] * (rr.numRet - rr.numRelRet) +
    p[2] * (rr.numRel - rr.numRelRet) +
    p[3] * (c.numDocsInColl + rr.numRelRet - rr.numRet - rr.numRel)
  );
}

export function binG(rr: ResRels, c: Ctx): number {
  let relSoFar = 0;
  let sum = 0;
  for (let i = 0; i < rr.numRet; i++) {
    if (rr.rels[i] >= c.minRel) {
      relSoFar++;
      sum += 1.0 / Math.log2(3 + i - relSoFar);
    }
  }
  return relSoFar ? sum / rr.numRel : 0;
}

interface Gain {
  level: number;
  gain: number;
  numAtLevel: number;
}

/** gain_init.c: gain = relevance level unless a `level=gain` parameter overrides it; sorted by gain. */
function setupGains(rr: ResRels, pairs: Pair[]): Gain[] {
  const gains: Gain[] = [];
  for (const p of pairs) {
    if (!/^[+-]?\d+$/.test(p.name)) continue; // e.g. rbp's "p=0.8"
    gains.push({ level: parseInt(p.name, 10), gain: p.value, numAtLevel: 0 });
  }
  const given = gains.length;
  for (let i = 0; i < rr.numRelLevels; i++) {
    let j = 0;
    while (j < given && gains[j].level !== i) j++;
    if (j < given) gains[j].numAtLevel = rr.relLevels[i];
    else gains.push({ level: i, gain: i, numAtLevel: rr.relLevels[i] });
  }
  // trec_eval's comparator returns (int)(g1 - g2): gains closer than 1 compare equal.
  gains.sort((a, b) => Math.trunc(a.gain - b.gain));
  return gains;
}

function gainOf(rel: number, gains: Gain[]): number {
  for (const g of gains) if (g.level === rel) return g.gain;
  return 0;
}

/** Walks the ideal ranking: gains from the highest level down, each repeated numAtLevel times. */
class IdealWalk {
  cur: number;
  numAtLevel = 0;
  gain: number;
  constructor(private gains: Gain[]) {
    this.cur = gains.length - 1;
    this.gain = this.cur >= 0 ? gains[this.cur].gain : 0;
  }
  next(): number {
    this.numAtLevel++;
    while (this.cur >= 0 && this.numAtLevel > this.gains[this.cur].numAtLevel) {
      this.numAtLevel = 1;
      this.cur--;
      this.gain = this.cur >= 0 ? this.gains[this.cur].gain : 0;
    }
    return this.gain;
  }
}

/** m_ndcg.c: returns [ndcg, dcg, ideal dcg] with gain = relevance level (or the given pairs). */
export function ndcgParts(rr: ResRels, pairs: Pair[]): { ndcg: number; dcg: number; idcg: number } {
  const gains = setupGains(rr, pairs);
  const ideal = new IdealWalk(gains);
  let dcg = 0;
  let idcg = 0;
  let i = 0;
  for (; i < rr.numRet && ideal.gain > 0; i++) {
    const g = gainOf(rr.rels[i], gains);
    if (g !== 0) dcg += g / Math.log2(i + 2);
    const ig = ideal.next();
    if (ig > 0) idcg += ig / Math.log2(i + 2);
  }
  for (; i < rr.numRet; i++) {
    const g = gainOf(rr.rels[i], gains);
    if (g !== 0) dcg += g / Math.log2(i + 2);
  }
  while (ideal.gain > 0) {
    const ig = ideal.next();
    if (ig > 0) idcg += ig / Math.log2(i + 2);
    i++;
  }
  return { ndcg: idcg > 0 ? dcg / idcg : 0, dcg, idcg };
}

/** m_ndcg_rel.c: nDCG averaged over the ranks of relevant documents. */
export function ndcgRel(rr: ResRels, pairs: Pair[]): number {
  const gains = setupGains(rr, pairs);
  const ideal = new IdealWalk(gains);
  let dcg = 0;
  let idcg = 0;
  let sum = 0;
  let numRelRet = 0;
  let numRel = 0;
  let i = 0;
  for (; i < rr.numRet && ideal.gain > 0; i++) {
    const g = gainOf(rr.rels[i], gains);
    if (g !== 0) dcg += g / Math.log2(i + 2);
    const ig = ideal.next();
    if (ig > 0) {
      numRel++;
      idcg += ig / Math.log2(i + 2);
    }
    if (g > 0) {
      sum += dcg / idcg;
      numRelRet++;
    }
  }
  for (; i < rr.numRet; i++) {
    const g = gainOf(rr.rels[i], gains);
    if (g !== 0) dcg += g / Math.log2(i + 2);
    if (g > 0) {
      sum += dcg / idcg;
      numRelRet++;
    }
  }
  while (ideal.gain > 0) {
    const ig = ideal.next();
    if (ig > 0) {
      numRel++;
      idcg += ig / Math.log2(i + 2);
    }
    i++;
  }
  sum += ((numRel - numRelRet) * dcg) / idcg;
  return sum > 0 ? sum / numRel : 0;
}

/** m_Rndcg.c: nDCG averaged at the ranks where the ideal gain changes. */
export function rNdcg(rr: ResRels, pairs: Pair[]): number {
  const gains = setupGains(rr, pairs);
  if (rr.numRel === 0) return 0;
  const ideal = new IdealWalk(gains);
  let dcg = 0;
  let idcg = 0;
  let sum = 0;
  let changes = 0;
  let oldGain = ideal.gain;
  let i = 0;
  for (; i < rr.numRet && ideal.gain > 0; i++) {
    const g = gainOf(rr.rels[i], gains);
    const ig = ideal.next();
    if (oldGain !== ig) {
      if (idcg > 0) {
        sum += dcg / idcg;
        changes++;
      }
      oldGain = ig;
    }
    if (g !== 0) dcg += g / Math.log2(i + 2);
    if (ig > 0) idcg += ig / Math.log2(i + 2);
  }
  if (i < rr.numRet) {
    for (; i < rr.numRet; i++) {
      const g = gainOf(rr.rels[i], gains);
      if (g !== 0) dcg += g / Math.log2(i + 2);
    }
    if (idcg > 0) {
      sum += dcg / idcg;
      changes++;
    }
  }
  while (ideal.gain > 0) {
    const ig = ideal.next();
    if (oldGain !== ig) {
      if (idcg > 0) {
        sum += dcg / idcg;
        changes++;
      }
      oldGain = ig;
    }
    if (ig > 0) idcg += ig / Math.log2(i + 2);
    i++;
  }
  return sum / changes;
}

/** m_G.c: normalized gain G (experimental in trec_eval, but part of all_trec). */
export function gMeasure(rr: ResRels, pairs: Pair[]): number {
  const gains = setupGains(rr, pairs);
  const ideal = new IdealWalk(gains);
  let resultsG = 0;
  let sumResults = 0;
  let sumIdeal = 0;
  let sumCost = 0;
  const minCost = 1.0;
  let i = 0;
  for (; i < rr.numRet && ideal.gain > 0; i++) {
    const g = gainOf(rr.rels[i], gains);
    sumResults += g;
    const ig = ideal.next();
    if (ig > 0) sumIdeal += ig;
    sumCost += ig >= minCost ? ig : minCost;
    if (g !== 0) resultsG += g / Math.log2(2 + sumCost - sumResults);
  }
  for (; i < rr.numRet; i++) {
    const g = gainOf(rr.rels[i], gains);
    sumResults += g;
    sumCost += minCost;
    if (g !== 0) resultsG += g / Math.log2(2 + sumCost - sumResults);
  }
  while (ideal.gain > 0) {
    const ig = ideal.next();
    if (ig > 0) sumIdeal += ig;
  }
  return sumIdeal > 0 ? resultsG / sumIdeal : 0;
}

/**
 * m_ndcg_cut.c: nDCG at cut-offs with gain = the raw relevance value (pairs are not supported there,
 * and -l does not apply: a level-1 document still gains 1 under -l2).
 */
export function ndcgAt(rr: ResRels, _c: Ctx, cutoffs: number[]): number[] {
  let sum = 0;
  let i = 0;
  const values = atCutoffs(
    rr,
    cutoffs,
    (r) => {
      if (r > 0) sum += r / Math.log2(i + 2);
      i++;
    },
    () => sum,
  );
  let ci = 0;
  let lvl = rr.numRelLevels - 1;
  let count = 0;
  let idcg = 0;
  if (lvl >= 1) {
    for (let k = 0; ; k++) {
      count++;
      while (lvl > 0 && count > rr.relLevels[lvl]) {
        lvl--;
        count = 1;
      }
      if (lvl === 0) break;
      if (k === cutoffs[ci]) {
        if (idcg > 0) values[ci] /= idcg;
        if (++ci === cutoffs.length) break;
      }
      idcg += lvl / Math.log2(k + 2);
    }
  }
  for (; ci < cutoffs.length; ci++) if (idcg > 0) values[ci] /= idcg;
  return values;
}

export function setP(rr: ResRels): number {
  return rr.numRet ? rr.numRelRet / rr.numRet : 0;
}

export function setRelativeP(rr: ResRels): number {
  return rr.numRet && rr.numRel ? rr.numRelRet / Math.min(rr.numRet, rr.numRel) : 0;
}

export function setRecall(rr: ResRels): number {
  return rr.numRel ? rr.numRelRet / rr.numRel : 0;
}

export function setMap(rr: ResRels): number {
  return rr.numRet && rr.numRel ? (rr.numRelRet * rr.numRelRet) / (rr.numRet * rr.numRel) : 0;
}

export function setF(rr: ResRels, _c: Ctx, p: number[]): number {
  if (!rr.numRelRet) return 0;
  const P = rr.numRelRet / rr.numRet;
  const R = rr.numRelRet / rr.numRel;
  const x = p[0];
  return ((x + 1.0) * P * R) / (x * P + R);
}

export function numNonrelJudgedRet(rr: ResRels): number {
  return rr.numRet - rr.numNonpool - rr.numUnjudged - rr.numRelRet;
}

function rbpPersistence(pairs: Pair[]): number {
  let p = 0.9;
  for (const q of pairs) if (q.name === 'p') p = q.value;
  return p;
}

/** m_rbp.c: rank-biased precision, gains rescaled into [0, 1] when any falls outside. */
export function rbp(rr: ResRels, pairs: Pair[]): number {
  const p = rbpPersistence(pairs);
  const gains = setupGains(rr, pairs);
  // trec_eval leaves min/max uninitialised; level 0 (gain 0) is always present, so start from 0.
  let min = 0;
  let max = 0;
  for (const g of gains) {
    if (g.gain < min) min = g.gain;
    if (g.gain > max) max = g.gain;
  }
  if (min < 0 || max > 1) for (const g of gains) g.gain = (g.gain - min) / (max - min);
  let sum = 0;
  let cur = 1.0;
  for (let i = 0; i < rr.numRet; i++) {
    const g = gainOf(rr.rels[i], gains);
    if (g !== 0) sum += g * cur;
    cur = cur * p;
  }
  return (1.0 - p) * sum;
}

/** m_rbp_resid.c: the RBP mass left to unjudged documents and beyond the ranking. */
export function rbpResid(rr: ResRels, pairs: Pair[]): number {
  const p = rbpPersistence(pairs);
  let unj = 0;
  let sum = 0;
  let cur = 1.0;
  for (let i = 0; i < rr.numRet; i++) {
    if (rr.rels[i] < 0) {
      unj++;
      sum += cur;
    }
    cur = cur * p;
  }
  return unj ? cur + (1 - p) * sum : 0;
}

/**
 * PyLate reports sentence-transformers' InformationRetrievalEvaluator metrics (PyLate's evaluator
 * subclasses it) and, in `pylate.evaluation.evaluate`, ranx's:
 *   mrr@k      = 1/rank of the first relevant document within the top k, else 0
 *                (sentence-transformers "MRR@k"; ranx "mrr@k")
 *   success@k  = 1 if a relevant document is within the top k, else 0
 *                (sentence-transformers "Accuracy@k"; ranx "hit_rate@k"; trec_eval success_k)
 *   hits@k     = number of relevant documents within the top k (ranx "hits@k", PyLate's default)
 * "Relevant" is relevance ≥ minRel. Ties follow trec_eval's order (sentence-transformers keeps
 * whatever order its heap leaves equal scores in).
 */
export function pylateAt(rr: ResRels, c: Ctx, kind: 'mrr' | 'success' | 'hits', k: number): number {
  const n = Math.min(k, rr.numRet);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    if (rr.rels[i] >= c.minRel) {
      if (kind === 'mrr') return 1 / (i + 1);
      if (kind === 'success') return 1;
      hits++;
    }
  }
  return hits;
}
