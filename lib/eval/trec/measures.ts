/**
 * The measure catalogue and trec_eval's `-m` syntax: `map`, `P.5,10`, `ndcg_cut.10`,
 * `iprec_at_recall..25,.5`, `ndcg.1=3,2=9`, `utility.2,-1,0,0`, nicknames `official` (the default),
 * `all_trec`, `set`; plus PyLate's `mrr@k`, `success@k`, `hits@k`.
 * Measures are computed and printed in trec_eval's order (measures.c), whatever order they are asked in.
 */
import { UserError } from '../../util/errors';
import type { ResRels } from './res-rels';
import * as m from './per-query';
import type { Ctx, Pair } from './per-query';
import { formatFixed } from './format';

export type ParamKind = 'none' | 'longCutoffs' | 'doubleCutoffs' | 'doubleParams' | 'pairs';

/**
 * How the `all` line is formed: mean over evaluated queries (trec_eval's calc_avg_meas_s), sum
 * (num_ret, num_rel_ret...), geometric mean (gm_*), the query count, or nothing (per-query only).
 */
export type Summary = 'mean' | 'sum' | 'numRel' | 'numQ' | 'gm' | 'none';

export type Params = number[] | Pair[];
export type Calc = (rr: ResRels, c: Ctx, p: Params) => number[] | number | string;

export interface MeasureDef {
  name: string;
  param: ParamKind;
  defaults: Params;
  summary: Summary;
  /** Printed for each query under -q (num_q, gm_map, gm_bpref, runid are summary-only). */
  perQuery: boolean;
  /** Printed as an integer (%ld). */
  integer: boolean;
  /** A string value (runid in the summary, relstring per query). */
  text: boolean;
  calc: Calc;
}

const CUTS = [5, 10, 15, 20, 30, 100, 200, 500, 1000];
const RECALL_POINTS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

function def(name: string, param: ParamKind, defaults: Params, summary: Summary, calc: Calc, extra: Partial<MeasureDef> = {}): MeasureDef {
  return { name, param, defaults, summary, perQuery: true, integer: false, text: false, calc, ...extra };
}

const nums = (p: Params) => p as number[];
const pairs = (p: Params) => p as Pair[];

/** trec_eval 10.0's measures (measures.c order), except those needing other file formats (prefs, qrels_jg, yaap). */
const MEASURES: MeasureDef[] = [
  def('runid', 'none', [], 'none', () => '', { text: true, perQuery: false }),
  def('num_q', 'none', [], 'numQ', () => 1, { integer: true, perQuery: false }),
  def('num_ret', 'none', [], 'sum', (rr) => rr.numRet, { integer: true }),
  def('num_rel', 'none', [], 'numRel', (rr) => rr.numRel, { integer: true }),
  def('num_rel_ret', 'none', [], 'sum', (rr) => rr.numRelRet, { integer: true }),
  def('map', 'none', [], 'mean', (rr, c) => m.averagePrecision(rr, c)),
  def('gm_map', 'none', [], 'gm', (rr, c) => m.gmMap(rr, c), { perQuery: false }),
  def('Rprec', 'none', [], 'mean', (rr, c) => m.rPrec(rr, c)),
  def('bpref', 'none', [], 'mean', (rr, c) => m.bpref(rr, c)),
  def('recip_rank', 'none', [], 'mean', (rr, c) => m.recipRank(rr, c)),
  def('iprec_at_recall', 'doubleCutoffs', RECALL_POINTS, 'mean', (rr, c, p) => m.iprecAtRecall(rr, c, nums(p))),
  def('P', 'longCutoffs', CUTS, 'mean', (rr, c, p) => m.precisionAt(rr, c, nums(p))),
  def('relstring', 'doubleParams', [10], 'none', (rr, c, p) => m.relstring(rr, c, nums(p)[0]), { text: true }),
  def('recall', 'longCutoffs', CUTS, 'mean', (rr, c, p) => m.recallAt(rr, c, nums(p))),
  def('infAP', 'none', [], 'mean', (rr, c) => m.infAP(rr, c)),
  def('gm_bpref', 'none', [], 'gm', (rr, c) => Math.log(Math.max(m.bpref(rr, c), m.MIN_GEO_MEAN)), { perQuery: false }),
  def('Rprec_mult', 'doubleCutoffs', [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0], 'mean', (rr, c, p) => m.rPrecMult(rr, c, nums(p))),
  def('utility', 'doubleParams', [1.0, -1.0, 0.0, 0.0], 'mean', (rr, c, p) => m.utility(rr, c, nums(p))),
  def('11pt_avg', 'doubleParams', RECALL_POINTS, 'mean', (rr, c, p) => m.elevenPtAvg(rr, c, nums(p))),
  def('binG', 'none', [], 'mean', (rr, c) => m.binG(rr, c)),
  def('G', 'pairs', [], 'mean', (rr, _c, p) => m.gMeasure(rr, pairs(p))),
  def('dcg', 'pairs', [], 'mean', (rr, _c, p) => m.ndcgParts(rr, pairs(p)).dcg),
  def('ideal_dcg', 'pairs', [], 'mean', (rr, _c, p) => m.ndcgParts(rr, pairs(p)).idcg),
  def('ndcg', 'pairs', [], 'mean', (rr, _c, p) => m.ndcgParts(rr, pairs(p)).ndcg),
  def('ndcg_rel', 'pairs', [], 'mean', (rr, _c, p) => m.ndcgRel(rr, pairs(p))),
  def('Rndcg', 'pairs', [], 'mean', (rr, _c, p) => m.rNdcg(rr, pairs(p))),
  def('ndcg_cut', 'longCutoffs', CUTS, 'mean', (rr, c, p) => m.ndcgAt(rr, c, nums(p))),
  def('map_cut', 'longCutoffs', CUTS, 'mean', (rr, c, p) => m.mapAt(rr, c, nums(p))),
  def('relative_P', 'longCutoffs', CUTS, 'mean', (rr, c, p) => m.relativePAt(rr, c, nums(p))),
  def('success', 'longCutoffs', [1, 5, 10], 'mean', (rr, c, p) => m.successAt(rr, c, nums(p))),
  def('set_P', 'none', [], 'mean', (rr) => m.setP(rr)),
  def('set_relative_P', 'none', [], 'mean', (rr) => m.setRelativeP(rr)),
  def('set_recall', 'none', [], 'mean', (rr) => m.setRecall(rr)),
  def('set_map', 'none', [], 'mean', (rr) => m.setMap(rr)),
  def('set_F', 'doubleParams', [1.0], 'mean', (rr, c, p) => m.setF(rr, c, nums(p))),
  def('num_nonrel_judged_ret', 'none', [], 'sum', (rr) => m.numNonrelJudgedRet(rr), { integer: true }),
  def('rbp', 'pairs', [], 'mean', (rr, _c, p) => m.rbp(rr, pairs(p))),
  def('rbp_resid', 'pairs', [], 'mean', (rr, _c, p) => m.rbpResid(rr, pairs(p))),
  def('unj', 'longCutoffs', [5, 10, 20], 'mean', (rr, c, p) => m.unjudgedAt(rr, c, nums(p))),
];

const BY_NAME = new Map(MEASURES.map((d) => [d.name, d]));

/** trec_eval's nicknames (measures.c). */
const NICKNAMES: Record<string, string[]> = {
  official: ['runid', 'num_q', 'num_ret', 'num_rel', 'num_rel_ret', 'map', 'gm_map', 'Rprec', 'bpref', 'recip_rank', 'iprec_at_recall', 'P'],
  all_trec: [
    'runid', 'num_q', 'num_ret', 'num_rel', 'num_rel_ret', 'map', 'gm_map', 'Rprec', 'bpref', 'recip_rank',
    'iprec_at_recall', 'P', 'relstring', 'recall', 'unj', 'rbp', 'rbp_resid', 'infAP', 'gm_bpref', 'utility',
    '11pt_avg', 'ndcg', 'relative_P', 'Rprec_mult', 'success', 'map_cut', 'ndcg_cut', 'ndcg_rel', 'Rndcg',
    'binG', 'G', 'set_P', 'set_recall', 'set_relative_P', 'set_map', 'set_F', 'num_nonrel_judged_ret',
  ],
  set: ['runid', 'num_q', 'num_ret', 'num_rel', 'num_rel_ret', 'utility', 'set_P', 'set_recall', 'set_relative_P', 'set_map', 'set_F'],
};

/** A measure ready to compute: its definition, parameters and the keys trec_eval prints. */
export interface MeasureInstance {
  def: MeasureDef;
  params: Params;
  keys: string[];
}

/** PyLate-style `mrr@k` / `success@k` / `hits@k`, computed after the trec_eval measures. */
export interface AtKMeasure {
  key: string;
  kind: 'mrr' | 'success' | 'hits';
  k: number;
}

export interface MeasurePlan {
  trec: MeasureInstance[];
  atK: AtKMeasure[];
}

/** C's atol: leading integer of the text (0 when there is none). */
function atol(s: string): number {
  const x = /^\s*([+-]?\d+)/.exec(s);
  return x ? parseInt(x[1], 10) : 0;
}

/** C's atof: leading number of the text (0 when there is none). */
function atof(s: string): number {
  const v = parseFloat(s);
  return Number.isNaN(v) ? 0 : v;
}

function parseParams(d: MeasureDef, spec: string, text: string): Params {
  const items = text.split(',');
  switch (d.param) {
    case 'none':
      return [];
    case 'longCutoffs': {
      const v = items.map(atol).sort((a, b) => a - b);
      if (v[0] <= 0) throw new UserError(`measure '${spec}': cut-offs must be positive integers`);
      for (let i = 1; i < v.length; i++) if (v[i] === v[i - 1]) throw new UserError(`measure '${spec}': duplicate cut-off ${v[i]}`);
      return v;
    }
    case 'doubleCutoffs': {
      const v = items.map(atof).sort((a, b) => a - b);
      for (let i = 1; i < v.length; i++) if (v[i] === v[i - 1]) throw new UserError(`measure '${spec}': duplicate cut-off ${v[i]}`);
      return v;
    }
    case 'doubleParams':
      return items.map(atof);
    case 'pairs':
      return items.map((it) => {
        const eq = it.indexOf('=');
        if (eq < 0 || it.indexOf('=', eq + 1) >= 0) {
          throw new UserError(`measure '${spec}': parameters must be 'level=gain' pairs separated by commas`);
        }
        return { name: it.slice(0, eq), value: atof(it.slice(eq + 1)) };
      });
  }
}

function keysOf(d: MeasureDef, params: Params, printable: string | null): string[] {
  switch (d.param) {
    case 'none':
      return [d.name];
    case 'longCutoffs':
      return nums(params).map((c) => `${d.name}_${c}`);
    case 'doubleCutoffs':
      return nums(params).map((c) => `${d.name}_${formatFixed(c, 2)}`);
    default:
      return [printable === null ? d.name : `${d.name}_${printable}`];
  }
}

const AT_K = /^(mrr|success|hits)@(\d+)$/;

/**
 * Parses measure specs as trec_eval's `-m` flags. With no specs, `official` (trec_eval's default).
 * When one measure is given twice with parameters, the first parameters win (as in trec_eval).
 */
export function planMeasures(specs?: string[]): MeasurePlan {
  const list = specs && specs.length ? specs : ['official'];
  const marked = new Set<string>();
  const given = new Map<string, string>(); // measure → its parameter text
  const atK: AtKMeasure[] = [];
  for (const raw of list) {
    const spec = raw.trim();
    const at = AT_K.exec(spec);
    if (at) {
      const k = parseInt(at[2], 10);
      if (k <= 0) throw new UserError(`measure '${spec}': k must be positive`);
      if (!atK.some((a) => a.key === spec)) atK.push({ key: spec, kind: at[1] as AtKMeasure['kind'], k });
      continue;
    }
    const dot = spec.indexOf('.');
    const name = dot < 0 ? spec : spec.slice(0, dot);
    if (dot >= 0) {
      const text = spec.slice(dot + 1);
      if (text === '') throw new UserError(`measure '${spec}': empty parameter list`);
      if (!given.has(name)) given.set(name, text);
    }
    const nick = NICKNAMES[name];
    if (nick) nick.forEach((n) => marked.add(n));
    else if (BY_NAME.has(name)) marked.add(name);
    else {
      throw new UserError(
        `unknown measure '${spec}' (use trec_eval names such as map, P.10, ndcg_cut.10, recall.100, recip_rank, all_trec, or mrr@10 / success@10 / hits@10)`,
      );
    }
  }
  const trec: MeasureInstance[] = [];
  for (const d of MEASURES) {
    if (!marked.has(d.name)) continue;
    const text = given.get(d.name);
    const params = text === undefined ? d.defaults : parseParams(d, `${d.name}.${text}`, text);
    trec.push({ def: d, params, keys: keysOf(d, params, text ?? null) });
  }
  return { trec, atK };
}

/**
 * Splits a comma-separated list of specs where commas also separate cut-offs:
 * "ndcg_cut.10,100,map,P.5" → ["ndcg_cut.10,100", "map", "P.5"]. A piece that is a number or a
 * `level=gain` pair continues the previous spec.
 */
export function splitMeasureList(text: string): string[] {
  const out: string[] = [];
  for (const piece of text.split(',')) {
    const p = piece.trim();
    if (p === '') continue;
    const isParam = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(p) || /^[^.@]*=/.test(p);
    if (isParam && out.length && out[out.length - 1].includes('.')) out[out.length - 1] += ',' + p;
    else out.push(p);
  }
  return out;
}
