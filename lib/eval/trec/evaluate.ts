/**
 * `evaluate`: trec_eval 10.0's evaluation of a run against qrels, in-process.
 *
 * Which queries count (trec_eval.c): the queries of the qrels, in qid order (strcmp), that the run
 * also has. A judged query missing from the run is skipped — trec_eval's documented default ("queries
 * for which there are relevant docs but no retrieved docs are also ignored"); note that the 10.0
 * release instead stops with "result qid ... not found in qrels" (exit 4) in that case, a regression
 * of its reworked loop. With `complete` (-c) such a query is scored on trec_eval's one-document
 * "bogus" ranking (so it counts as 0 nearly everywhere) and the mean is over every judged query.
 * Run queries without judgments are ignored; a query with an empty ranking counts as missing. The `all` value is the mean over evaluated queries,
 * except sums (num_ret, num_rel, num_rel_ret, num_nonrel_judged_ret), num_q, and the geometric means.
 */
import type { Qrels, Run } from '../../data/types';
import { planMeasures, type MeasurePlan } from './measures';
import { MIN_GEO_MEAN, pylateAt, type Ctx } from './per-query';
import { formatFixed, padMeasure } from './format';
import { BOGUS_RANKING, formResRels } from './res-rels';

export interface EvalOptions {
  /** trec_eval `-m` specs ('map', 'P.5,10', 'ndcg_cut.10', 'all_trec', 'mrr@10'...). Default: 'official'. */
  measures?: string[];
  /** trec_eval -l: the lowest relevance that counts as relevant for binary measures. Default 1. */
  minRel?: number;
  /** trec_eval -c: average over every judged query; those missing from the run score (nearly) 0. */
  complete?: boolean;
  /** trec_eval -M: evaluate only the first N documents of each ranking. */
  maxDocsPerQuery?: number;
  /** trec_eval -J: drop unjudged documents from rankings first (trec_eval warns against it). */
  judgedOnly?: boolean;
  /** trec_eval -N: collection size (used only by utility's 4th coefficient). Default 0. */
  numDocsInCollection?: number;
  /** The run's tag, printed as `runid` (trec_eval takes it from the run file's last line). */
  runId?: string;
}

export interface EvalResult {
  /** Every key in trec_eval's print order (numeric keys, plus 'runid' / relstring keys when asked). */
  measures: string[];
  /** Per evaluated query (in evaluation order): the values trec_eval prints under -q. */
  perQuery: Map<string, Record<string, number>>;
  /** The `all` line of each measure. */
  all: Record<string, number>;
  /** String-valued measures: `runid` (summary) and `relstring` (per query), when requested. */
  text?: { all: Record<string, string>; perQuery: Map<string, Record<string, string>> };
}

/** Keys trec_eval prints as integers. */
const INTEGER_KEYS = new Set(['num_q', 'num_ret', 'num_rel', 'num_rel_ret', 'num_nonrel_judged_ret']);

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function evaluate(qrels: Qrels, run: Run, opts: EvalOptions = {}): EvalResult {
  const plan: MeasurePlan = planMeasures(opts.measures);
  const ctx: Ctx = { minRel: opts.minRel ?? 1, numDocsInColl: opts.numDocsInCollection ?? 0 };
  const relsOpts = {
    minRel: ctx.minRel,
    maxDocsPerQuery: opts.maxDocsPerQuery ?? Infinity,
    judgedOnly: opts.judgedOnly ?? false,
  };
  const complete = opts.complete ?? false;

  const measures: string[] = [];
  for (const inst of plan.trec) {
    if (inst.def.name === 'runid' && opts.runId === undefined) continue; // nothing to print
    measures.push(...inst.keys);
  }
  for (const a of plan.atK) measures.push(a.key);

  const perQuery = new Map<string, Record<string, number>>();
  const textPerQuery = new Map<string, Record<string, string>>();
  const sums: Record<string, number> = {};
  for (const k of measures) sums[k] = 0;
  let evaluated = 0;

  const qids = Array.from(qrels.keys()).sort(compareBytes);
  for (const qid of qids) {
    const judged = qrels.get(qid)!;
    const ranking = run.get(qid);
    const missing = ranking === undefined || ranking.size === 0;
    if (missing && !complete) continue;
    const rr = formResRels(judged, missing ? BOGUS_RANKING : ranking!, relsOpts);
    const values: Record<string, number> = {};
    const texts: Record<string, string> = {};
    for (const inst of plan.trec) {
      const { def } = inst;
      if (def.name === 'runid') continue;
      const out = def.calc(rr, ctx, inst.params);
      if (typeof out === 'string') {
        texts[inst.keys[0]] = missing && inst.keys[0] === 'relstring' ? '' : out; // clear_relstr(), by exact name
        continue;
      }
      const arr = typeof out === 'number' ? [out] : out;
      for (let i = 0; i < inst.keys.length; i++) {
        const key = inst.keys[i];
        let v = arr[i];
        // trec_eval.c resets these after scoring the bogus ranking (by exact name, so a
        // parameterised 'utility_...' keeps its value, as in trec_eval).
        if (missing && (key === 'num_ret' || key === 'utility' || key === 'rbp_resid' || key.startsWith('unj'))) v = 0;
        sums[key] += v;
        if (def.perQuery) values[key] = v;
      }
    }
    for (const a of plan.atK) {
      const v = pylateAt(rr, ctx, a.kind, a.k);
      sums[a.key] += v;
      values[a.key] = v;
    }
    perQuery.set(qid, values);
    if (Object.keys(texts).length) textPerQuery.set(qid, texts);
    evaluated++;
  }

  const n = complete ? qrels.size : evaluated;
  const all: Record<string, number> = {};
  for (const inst of plan.trec) {
    const { def } = inst;
    if (def.text) continue;
    for (const key of inst.keys) {
      const s = sums[key];
      switch (def.summary) {
        case 'mean':
          all[key] = n ? s / n : 0;
          break;
        case 'gm':
          all[key] = n ? Math.exp((s + (n - evaluated) * Math.log(MIN_GEO_MEAN)) / n) : 0;
          break;
        case 'numQ':
          all[key] = n;
          break;
        case 'numRel':
          all[key] = complete ? countRelevantAll(qrels) : s;
          break;
        default:
          all[key] = s;
      }
    }
  }
  for (const a of plan.atK) all[a.key] = n ? sums[a.key] / n : 0;

  const result: EvalResult = { measures, perQuery, all };
  const hasRunId = opts.runId !== undefined && plan.trec.some((i) => i.def.name === 'runid');
  if (hasRunId || textPerQuery.size) {
    result.text = { all: hasRunId ? { runid: opts.runId! } : {}, perQuery: textPerQuery };
  }
  return result;
}

/** m_num_rel.c under -c counts judgments with relevance > 0 in every query (ignoring -l). */
function countRelevantAll(qrels: Qrels): number {
  let n = 0;
  for (const docs of qrels.values()) for (const r of docs.values()) if (r > 0) n++;
  return n;
}

function formatValue(key: string, v: number): string {
  if (INTEGER_KEYS.has(key)) return String(Math.trunc(v));
  const text = formatFixed(v, 4);
  return text.length < 6 ? text.padStart(6) : text; // %6.4f: only "-nan" is ever short
}

/**
 * trec_eval's output: `%-22s\t%s\t%6.4f` lines (integers as %ld, relstring quoted), each query's
 * block first (with `perQuery`), then the `all` block.
 */
export function formatTrecEval(result: EvalResult, opts: { perQuery?: boolean } = {}): string {
  const lines: string[] = [];
  if (opts.perQuery) {
    for (const [qid, values] of result.perQuery) {
      const texts = result.text?.perQuery.get(qid);
      for (const key of result.measures) {
        if (key in values) lines.push(`${padMeasure(key)}\t${qid}\t${formatValue(key, values[key])}`);
        else if (texts && key in texts) lines.push(`${padMeasure(key)}\t${qid}\t'${texts[key]}'`);
      }
    }
  }
  for (const key of result.measures) {
    if (key in result.all) lines.push(`${padMeasure(key)}\tall\t${formatValue(key, result.all[key])}`);
    else if (result.text && key in result.text.all) lines.push(`${padMeasure(key)}\tall\t${result.text.all[key]}`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
