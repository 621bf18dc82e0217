/**
 * Tables in the paper's shapes, built from result files only.
 *
 * - `mainTable` (Table 2): one row per setting (pipeline/phase label), one column per dataset, then Avg
 *   (the mean over datasets, shown only when the row has every dataset); nDCG@10 × 100 to 2 decimals.
 *   Each cell can carry a mark: significantly better (▲) or worse (▼) than a named baseline row, by the
 *   chosen paired test over that dataset's queries (Avg: the stratified test over all datasets), with the
 *   chosen correction over every comparison of the table.
 * - `ablationTable` (Table 4) and `ablationSummary` (Table 5): settings trained with the prompt / length
 *   switches, grouped by pipeline and unsupervised base, with each row's Avg and its delta to the group's
 *   reference row (no prompt, no length), tested the same way.
 * - `seedTable`: the spread over seeds (mean ± sd, n) of settings run with several seeds.
 *
 * A "setting" is every result of one preset with the same label: its seeds. Table cells average the
 * seeds; paired tests average each query's value over the seeds first.
 */
import { UserError } from '../util/errors';
import { PRIMARY_METRIC, type Ablation, type EvaluationResult, type Pipeline } from './results';
import { correct, correctionName, pairedTest, type Correction, type PairedTestResult, type Stratum, type TestName } from './significance';

export interface TableOptions {
  /** The metric key (default ndcg_cut_10). */
  measure?: string;
  test?: TestName;
  correction?: Correction;
  alpha?: number;
  /** Randomization test only. */
  permutations?: number;
  seed?: number;
}

export interface ResolvedOptions {
  measure: string;
  test: TestName;
  correction: Correction;
  alpha: number;
  permutations: number;
  seed: number;
}

export function resolveOptions(opts: TableOptions = {}): ResolvedOptions {
  const alpha = opts.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new UserError(`alpha must be between 0 and 1 (got ${alpha})`);
  return { measure: opts.measure ?? PRIMARY_METRIC, test: opts.test ?? 't', correction: opts.correction ?? 'holm', alpha, permutations: opts.permutations ?? 10000, seed: opts.seed ?? 0 };
}

// ── Settings: the seeds of one label ──

export interface Setting {
  preset: string;
  label: string;
  pipeline: Pipeline | null;
  phase: EvaluationResult['phase'];
  ablation: Ablation | null;
  results: EvaluationResult[];
}

/** Groups results by preset, then by label (seeds of one setting); results sharing a label must agree. */
export function groupSettings(results: EvaluationResult[]): Map<string, Setting[]> {
  const byPreset = new Map<string, Map<string, Setting>>();
  for (const r of results) {
    let labels = byPreset.get(r.preset);
    if (!labels) byPreset.set(r.preset, (labels = new Map()));
    const s = labels.get(r.label);
    if (!s) {
      labels.set(r.label, { preset: r.preset, label: r.label, pipeline: r.pipeline, phase: r.phase, ablation: r.ablation, results: [r] });
      continue;
    }
    const first = s.results[0];
    for (const key of ['pipeline', 'phase', 'ablation'] as const) {
      if (JSON.stringify(r[key]) !== JSON.stringify(first[key])) {
        throw new UserError(`results "${first.id}" and "${r.id}" share the label "${r.label}" (preset ${r.preset}) but differ in "${key}"`);
      }
    }
    const twin = s.results.find((x) => x.seed === r.seed);
    if (twin) throw new UserError(`results "${twin.id}" and "${r.id}" are the same setting "${r.label}" (preset ${r.preset}) with the same seed ${r.seed}`);
    s.results.push(r);
  }
  const out = new Map<string, Setting[]>();
  for (const [preset, labels] of [...byPreset].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    out.set(preset, [...labels.values()].map((s) => ({ ...s, results: s.results.sort((x, y) => x.seed - y.seed) })).sort(compareSettings));
  }
  return out;
}

const PIPELINE_ORDER: Array<Pipeline | null> = ['bm25', 'base', 'a', 'b', 'c', null];
const PHASE_ORDER: Array<EvaluationResult['phase']> = [null, 'mlm', 'unsupervised', 'supervised', 'distillation'];

function compareSettings(x: Setting, y: Setting): number {
  return (
    PIPELINE_ORDER.indexOf(x.pipeline) - PIPELINE_ORDER.indexOf(y.pipeline) ||
    (x.ablation?.unsupervisedPrompts === false ? 1 : 0) - (y.ablation?.unsupervisedPrompts === false ? 1 : 0) ||
    PHASE_ORDER.indexOf(x.phase) - PHASE_ORDER.indexOf(y.phase) ||
    settingOrder(x) - settingOrder(y) ||
    (x.label < y.label ? -1 : x.label > y.label ? 1 : 0)
  );
}

function settingOrder(s: Setting): number {
  const p = switches(s);
  return (p.prompt === true ? 1 : 0) + (p.length === true ? 2 : 0) + (p.prompt === 'mixed' || p.length === 'mixed' ? 4 : 0);
}

/** The paper's main setting: no ablation recorded, or every recorded switch on. */
export function isMainSetting(ablation: Ablation | null): boolean {
  return ablation === null || Object.values(ablation).every((v) => v !== false);
}

export type SwitchState = boolean | 'mixed' | null;

/**
 * The "+Prompt" and "+Length" of Table 4 for a setting: the switches of the phases it was fine-tuned with
 * (supervised and/or distillation; the unsupervised base is the group, not the setting).
 */
function switches(s: { ablation: Ablation | null; phase?: EvaluationResult['phase']; pipeline?: Pipeline | null }): { prompt: SwitchState; length: SwitchState } {
  const a = s.ablation;
  if (!a) return { prompt: null, length: null };
  const state = (vals: Array<boolean | undefined>): SwitchState => {
    const v = vals.filter((x): x is boolean => x !== undefined);
    return v.length === 0 ? null : v.every((x) => x) ? true : v.every((x) => !x) ? false : 'mixed';
  };
  // A supervised model is described by its supervised switches; a distilled one by the switches of the
  // fine-tuning phases it went through as ColBERT: KD only for (a) (its supervised phase is the dense
  // model's), supervised and KD for (b) and (c).
  const sup = s.pipeline !== 'a';
  const kd = s.phase !== 'supervised';
  return {
    prompt: state([sup ? a.supervisedPrompts : undefined, kd ? a.kdPrompts : undefined]),
    length: state([sup ? a.supervisedLength : undefined, kd ? a.kdLength : undefined]),
  };
}

/** The setting's value on one dataset: the mean over its seeds (null when a seed lacks it), sd and n. */
function datasetValue(s: Setting, dataset: string, measure: string): { value: number | null; sd: number | null; seeds: number[] } {
  const vals: number[] = [];
  for (const r of s.results) {
    const d = r.datasets.find((x) => x.name === dataset);
    if (!d || !(measure in d.metrics)) return { value: null, sd: null, seeds: [] };
    vals.push(d.metrics[measure]);
  }
  return { value: meanOf(vals), sd: vals.length > 1 ? sdOf(vals) : null, seeds: vals };
}

/** Per-query values on one dataset, averaged over the setting's seeds (queries every seed has). */
function perQuery(s: Setting, dataset: string, measure: string): Map<string, number> | null {
  let out: Map<string, number> | null = null;
  for (const r of s.results) {
    const d = r.datasets.find((x) => x.name === dataset);
    if (!d) return null;
    const next = new Map<string, number>();
    for (const [qid, m] of Object.entries(d.perQuery)) {
      if (!(measure in m)) continue;
      if (out && !out.has(qid)) continue;
      next.set(qid, (out ? out.get(qid)! : 0) + m[measure]);
    }
    out = next;
  }
  if (!out || out.size === 0) return null;
  for (const [q, v] of out) out.set(q, v / s.results.length);
  return out;
}

/** The paired strata of A against B on the given datasets (their common queries); null if one lacks a dataset. */
export function strataFor(a: Setting, b: Setting, datasets: string[], measure: string): { strata: Stratum[]; queries: Record<string, number> } | null {
  const strata: Stratum[] = [];
  const queries: Record<string, number> = {};
  for (const name of datasets) {
    const qa = perQuery(a, name, measure);
    const qb = perQuery(b, name, measure);
    if (!qa || !qb) return null;
    const common = [...qa.keys()].filter((q) => qb.has(q)).sort();
    if (common.length === 0) return null;
    strata.push({ a: common.map((q) => qa.get(q)!), b: common.map((q) => qb.get(q)!) });
    queries[name] = common.length;
  }
  return strata.length ? { strata, queries } : null;
}

/** A paired comparison as tables and claims show it. */
export interface Comparison {
  against: string;
  difference: number;
  pValue: number;
  /** After the correction over the table's (or the claims') family. */
  pAdjusted: number;
  significant: boolean;
  /** 'better' / 'worse' when significant, else 'not significant'. */
  outcome: 'better' | 'worse' | 'not significant';
  test: string;
  queries: number;
}

/** Runs the chosen test of A against B on the datasets (null when data is missing). */
export function runComparison(a: Setting, b: Setting, datasets: string[], o: ResolvedOptions, shift = 1): PairedTestResult | null {
  const s = strataFor(a, b, datasets, o.measure);
  if (!s) return null;
  // A scaled reference (shift ≠ 1) tests a − shift·b, e.g. "A reaches at least 99.4 % of B".
  const strata = shift === 1 ? s.strata : s.strata.map((x) => ({ a: x.a, b: x.b.map((v) => shift * v) }));
  if (o.test === 't' && strata.some((x) => x.a.length < 2)) return null;
  return pairedTest(strata, o.test, { permutations: o.permutations, seed: o.seed });
}

/** Applies the correction to a family of raw test results, filling in each comparison. */
export function finishFamily(family: Array<{ raw: PairedTestResult; against: string; set: (c: Comparison) => void }>, o: ResolvedOptions): void {
  const corrected = correct(family.map((f) => f.raw.pValue), o.correction, o.alpha);
  family.forEach((f, i) => {
    const significant = corrected.reject[i] && f.raw.difference !== 0;
    f.set({
      against: f.against,
      difference: f.raw.difference,
      pValue: f.raw.pValue,
      pAdjusted: corrected.adjusted[i],
      significant,
      outcome: significant ? (f.raw.difference > 0 ? 'better' : 'worse') : 'not significant',
      test: f.raw.name,
      queries: f.raw.n,
    });
  });
}

// ── Shared formatting ──

/** A fraction as the paper prints it: × 100, 2 decimals, halves rounded away from zero. */
export function percent(x: number | null | undefined, signed = false): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const r = Math.round(Number(Math.abs(x * 10000).toPrecision(12)));
  const s = (r / 100).toFixed(2);
  return r === 0 ? (signed ? '+0.00' : '0.00') : x < 0 ? `−${s}` : signed ? `+${s}` : s;
}

/** The value in hundredths of a percent point, rounded as `percent` rounds it. */
function hundredths(x: number): number {
  return Math.sign(x) * Math.round(Number(Math.abs(x * 10000).toPrecision(12)));
}

/**
 * A difference as the paper prints it (Table 5): the difference of the two printed values, so the
 * printed numbers add up (53.83 − 52.58 = +1.25 although the unrounded difference is 1.2447).
 */
export function percentDelta(x: number | null | undefined, reference: number | null | undefined): string {
  if (x === null || x === undefined || reference === null || reference === undefined || !Number.isFinite(x) || !Number.isFinite(reference)) return '–';
  return percent((hundredths(x) - hundredths(reference)) / 10000, true);
}

function meanOf(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

function sdOf(xs: number[]): number {
  const m = meanOf(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

function mark(c: Comparison | undefined): string {
  return !c || !c.significant ? '' : c.outcome === 'better' ? ' ▲' : ' ▼';
}

function measureName(measure: string): string {
  const m = /^ndcg_cut_(\d+)$/.exec(measure);
  return m ? `nDCG@${m[1]}` : measure;
}

function legendTest(o: ResolvedOptions, family: number): string {
  const test = o.test === 't' ? 'paired two-sided t-test over queries' : `paired two-sided randomization test over queries (sign flips; exact when 2^n ≤ ${o.permutations}, else ${o.permutations} random flips, seed ${o.seed})`;
  return `${test}; ${correctionName(o.correction)} correction over the ${family} comparison${family === 1 ? '' : 's'} of this table; α = ${o.alpha}`;
}

function queriesLine(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([d, n]) => `${d} ${n}`);
  return parts.length ? `Queries per dataset: ${parts.join(', ')}.` : '';
}

function datasetQueries(settings: Setting[], columns: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of columns) {
    for (const s of settings) {
      const d = s.results[0].datasets.find((x) => x.name === c);
      if (d) {
        out[c] = Math.max(out[c] ?? 0, d.queries);
      }
    }
  }
  return out;
}

function datasetColumns(settings: Setting[]): string[] {
  const cols: string[] = [];
  for (const s of settings) for (const r of s.results) for (const d of r.datasets) if (!cols.includes(d.name)) cols.push(d.name);
  return cols;
}

function rowAverage(cells: Array<{ value: number | null }>): number | null {
  return cells.length && cells.every((c) => c.value !== null) ? meanOf(cells.map((c) => c.value!)) : null;
}

function mdRow(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

// ── Table 2 ──

export interface Cell {
  value: number | null;
  /** Over seeds, when there are several. */
  sd: number | null;
  seeds: number;
  comparison?: Comparison;
}

export interface MainRow {
  label: string;
  pipeline: Pipeline | null;
  phase: EvaluationResult['phase'];
  seeds: number[];
  avg: Cell;
  cells: Cell[];
  baseline: boolean;
}

export interface MainTable {
  kind: 'main';
  preset: string;
  measure: string;
  columns: string[];
  baseline: string | null;
  rows: MainRow[];
  test: TestName;
  correction: Correction;
  alpha: number;
  comparisons: number;
  queries: Record<string, number>;
}

const GROUP_TITLES: Record<string, string> = {
  bm25: 'Baselines',
  base: 'Baselines',
  a: 'KD from dense supervised (a, KD-only)',
  b: 'Supervised + KD from dense unsupervised (b)',
  c: 'ColBERT-Zero (c, full pre-training)',
  other: 'Other models',
};

/** The baseline chosen when none is named: the paper's (KD-only (a), distilled), else the untrained base, else BM25. */
export function defaultBaseline(settings: Setting[]): string | null {
  const main = settings.filter((s) => isMainSetting(s.ablation));
  const pick = main.find((s) => s.pipeline === 'a' && s.phase === 'distillation') ?? main.find((s) => s.pipeline === 'base') ?? main.find((s) => s.pipeline === 'bm25');
  return pick ? pick.label : null;
}

/**
 * Table 2: the main-setting rows (no ablation, or every switch on) × datasets + Avg. With a baseline
 * label, every other row's cells are tested against it (per dataset, and Avg stratified over datasets).
 */
export function mainTable(settings: Setting[], baseline: string | null, opts: TableOptions = {}): MainTable {
  const o = resolveOptions(opts);
  const rowsOf = settings.filter((s) => isMainSetting(s.ablation));
  if (rowsOf.length === 0) throw new UserError('no result of the main setting (ablation null or every switch on) to tabulate');
  const columns = datasetColumns(rowsOf);
  const base = baseline === null ? null : rowsOf.find((s) => s.label === baseline);
  if (baseline !== null && !base) throw new UserError(`baseline "${baseline}" is not a row of the table (rows: ${rowsOf.map((s) => `"${s.label}"`).join(', ')})`);
  const family: Array<{ raw: PairedTestResult; against: string; set: (c: Comparison) => void }> = [];
  const rows: MainRow[] = rowsOf.map((s) => {
    const cells: Cell[] = columns.map((c) => {
      const v = datasetValue(s, c, o.measure);
      return { value: v.value, sd: v.sd, seeds: v.seeds.length };
    });
    const seedAvgs = s.results.map((r) => {
      const vals = columns.map((c) => r.datasets.find((d) => d.name === c)?.metrics[o.measure]);
      return vals.every((v) => v !== undefined) ? meanOf(vals as number[]) : null;
    });
    const avgValue = rowAverage(cells);
    const avg: Cell = { value: avgValue, sd: avgValue !== null && seedAvgs.length > 1 && seedAvgs.every((x) => x !== null) ? sdOf(seedAvgs as number[]) : null, seeds: s.results.length };
    if (base && s !== base) {
      columns.forEach((c, i) => {
        const raw = runComparison(s, base, [c], o);
        if (raw) family.push({ raw, against: base.label, set: (x) => (cells[i].comparison = x) });
      });
      // With one dataset the Avg test is that dataset's test: counted once in the family.
      if (columns.length > 1 && avg.value !== null && rowAverage(columns.map((c) => ({ value: datasetValue(base, c, o.measure).value }))) !== null) {
        const raw = runComparison(s, base, columns, o);
        if (raw) family.push({ raw, against: base.label, set: (x) => (avg.comparison = x) });
      }
    }
    return { label: s.label, pipeline: s.pipeline, phase: s.phase, seeds: s.results.map((r) => r.seed), avg, cells, baseline: s === base };
  });
  finishFamily(family, o);
  if (columns.length === 1) for (const r of rows) r.avg.comparison = r.cells[0].comparison;
  return {
    kind: 'main',
    preset: rowsOf[0].preset,
    measure: o.measure,
    columns,
    baseline: base ? base.label : null,
    rows,
    test: o.test,
    correction: o.correction,
    alpha: o.alpha,
    comparisons: family.length,
    queries: datasetQueries(rowsOf, columns),
  };
}

export function formatMainTable(t: MainTable, o: ResolvedOptions): string {
  const lines: string[] = [];
  lines.push(mdRow(['Model', 'Avg', ...t.columns]));
  lines.push(mdRow(['---', ...Array(t.columns.length + 1).fill('---:')]));
  let group = '';
  for (const r of t.rows) {
    const g = GROUP_TITLES[r.pipeline ?? 'other'];
    if (g !== group) {
      lines.push(mdRow([`*${g}*`, ...Array(t.columns.length + 1).fill('')]));
      group = g;
    }
    const name = `${r.label}${r.baseline ? ' (baseline)' : ''}${r.seeds.length > 1 ? ` [${r.seeds.length} seeds]` : ''}`;
    lines.push(mdRow([name, percent(r.avg.value) + mark(r.avg.comparison), ...r.cells.map((c) => percent(c.value) + mark(c.comparison))]));
  }
  const legend: string[] = [`${measureName(t.measure)} × 100.`];
  if (t.columns.length > 1) legend.push('Avg: the mean over datasets (– when a dataset is missing).');
  if (t.baseline) {
    legend.push(`▲ / ▼: significantly better / worse than "${t.baseline}" — ${legendTest(o, t.comparisons)}; each dataset tested over its queries${t.columns.length > 1 ? ', Avg over all datasets (stratified: the difference of the averages)' : ''}; an unmarked difference is not significant.`);
  } else legend.push('No baseline: no significance marks.');
  if (t.rows.some((r) => r.seeds.length > 1)) legend.push('Rows with several seeds show the mean over seeds (spread below); tests use per-query values averaged over seeds.');
  legend.push(queriesLine(t.queries));
  return `${lines.join('\n')}\n\n${legend.filter(Boolean).join(' ')}\n`;
}

// ── Tables 4 and 5 ──

export interface AblationRow {
  group: string;
  phase: EvaluationResult['phase'];
  label: string;
  prompt: SwitchState;
  length: SwitchState;
  seeds: number[];
  avg: number | null;
  cells: Cell[];
  /** The group's reference row (no prompt, no length) for this phase, and the delta of Avg to it. */
  reference: string | null;
  delta: number | null;
  comparison?: Comparison;
}

export interface AblationTable {
  kind: 'ablation';
  preset: string;
  measure: string;
  columns: string[];
  rows: AblationRow[];
  test: TestName;
  correction: Correction;
  alpha: number;
  comparisons: number;
  queries: Record<string, number>;
}

function ablationGroup(s: Setting): string {
  const base = s.pipeline === 'a' ? 'KD from dense supervised' : s.pipeline === 'b' ? 'Supervised + KD from dense unsupervised' : s.pipeline === 'c' ? 'Supervised + KD from ColBERT unsupervised' : s.pipeline ?? 'other';
  const up = s.ablation?.unsupervisedPrompts;
  return up === undefined ? base : `${base} (${up ? 'with' : 'without'} prompts)`;
}

/** Table 4: settings with recorded switches, grouped by pipeline and unsupervised base; Avg and delta to the reference. */
export function ablationTable(settings: Setting[], opts: TableOptions = {}): AblationTable | null {
  const o = resolveOptions(opts);
  const fineTuned = (s: Setting) => s.phase === 'supervised' || s.phase === 'distillation';
  const recorded = settings.filter((s) => s.ablation !== null && fineTuned(s));
  // A main-setting result (no switches recorded) of a pipeline and phase that has ablation results is that
  // group's "every switch on" row (Table 4's ✓ ✓ rows are Table 2's models).
  const mains = settings
    .filter((s) => s.ablation === null && fineTuned(s))
    .flatMap((s) => {
      const peers = recorded.filter((x) => x.pipeline === s.pipeline && x.phase === s.phase);
      if (peers.length === 0) return [];
      const keys = [...new Set(peers.flatMap((x) => Object.keys(x.ablation!)))];
      return [{ ...s, ablation: Object.fromEntries(keys.map((k) => [k, true])) as Ablation }];
    });
  // Only groups (pipeline, unsupervised base, phase) where a switch is off: a main-setting row alone is Table 2's.
  const groupKey = (s: Setting) => `${ablationGroup(s)}\u0000${s.phase}`;
  const varied = new Set(recorded.filter((s) => !isMainSetting(s.ablation)).map(groupKey));
  const rowsOf = [...recorded, ...mains].filter((s) => varied.has(groupKey(s))).sort(compareSettings);
  if (rowsOf.length === 0) return null;
  const columns = datasetColumns(rowsOf);
  const family: Array<{ raw: PairedTestResult; against: string; set: (c: Comparison) => void }> = [];
  const rows: AblationRow[] = rowsOf.map((s) => {
    const cells: Cell[] = columns.map((c) => {
      const v = datasetValue(s, c, o.measure);
      return { value: v.value, sd: v.sd, seeds: v.seeds.length };
    });
    const sw = switches(s);
    return { group: ablationGroup(s), phase: s.phase, label: s.label, prompt: sw.prompt, length: sw.length, seeds: s.results.map((r) => r.seed), avg: rowAverage(cells), cells, reference: null, delta: null };
  });
  rows.forEach((row, i) => {
    const refs = rows.filter((x) => x.group === row.group && x.phase === row.phase && x.prompt === false && x.length === false);
    if (refs.length !== 1 || refs[0] === row) return;
    const ref = refs[0];
    row.reference = ref.label;
    if (row.avg !== null && ref.avg !== null) row.delta = row.avg - ref.avg;
    const raw = row.delta === null ? null : runComparison(rowsOf[i], rowsOf[rows.indexOf(ref)], columns, o);
    if (raw) family.push({ raw, against: ref.label, set: (c) => (row.comparison = c) });
  });
  finishFamily(family, o);
  return { kind: 'ablation', preset: rowsOf[0].preset, measure: o.measure, columns, rows, test: o.test, correction: o.correction, alpha: o.alpha, comparisons: family.length, queries: datasetQueries(rowsOf, columns) };
}

function tick(s: SwitchState): string {
  return s === true ? '✓' : s === false ? '×' : s === 'mixed' ? 'mixed' : '–';
}

function phaseName(p: EvaluationResult['phase']): string {
  return p === 'distillation' ? 'Distilled' : p === 'supervised' ? 'Supervised' : p ?? '–';
}

export function formatAblationTable(t: AblationTable, o: ResolvedOptions): string {
  const lines: string[] = [];
  lines.push(mdRow(['Method', '+Prompt', '+Length', 'Avg', 'Δ', ...t.columns]));
  lines.push(mdRow(['---', ':---:', ':---:', '---:', '---:', ...t.columns.map(() => '---:')]));
  let group = '';
  for (const r of t.rows) {
    if (r.group !== group) {
      lines.push(mdRow([`*${r.group}*`, ...Array(t.columns.length + 4).fill('')]));
      group = r.group;
    }
    const ref = t.rows.find((x) => x.label === r.reference);
    const delta = r.reference === null ? '' : percentDelta(r.avg, ref?.avg) + mark(r.comparison);
    lines.push(mdRow([`${phaseName(r.phase)} (${r.label})${r.seeds.length > 1 ? ` [${r.seeds.length} seeds]` : ''}`, tick(r.prompt), tick(r.length), percent(r.avg), delta, ...r.cells.map((c) => percent(c.value))]));
  }
  const legend = [
    `${measureName(t.measure)} × 100. +Prompt / +Length: the fine-tuning phases (supervised, distillation) used the prompts / the +7 lengths.`,
    'Δ: Avg minus the Avg of the same group and phase without prompt and length (the difference of the printed values, as the paper computes it).',
    t.comparisons ? `▲ / ▼ on Δ: significant — ${legendTest(o, t.comparisons)}; stratified over all datasets (the difference of the averages).` : 'No reference rows: no deltas tested.',
    queriesLine(t.queries),
  ];
  return `${lines.join('\n')}\n\n${legend.filter(Boolean).join(' ')}\n`;
}

export interface AblationSummaryRow {
  group: string;
  phase: EvaluationResult['phase'];
  baseline: number | null;
  /** '+Prompt', '+Length', '+Both': the setting's Avg and its delta to the baseline. */
  variants: Record<'prompt' | 'length' | 'both', { avg: number; delta: number | null; comparison?: Comparison } | null>;
}

/** Table 5: per group and phase, the reference Avg and the deltas of +Prompt, +Length and +Both (from Table 4's tests). */
export function ablationSummary(t: AblationTable): AblationSummaryRow[] {
  const out: AblationSummaryRow[] = [];
  const keys = [...new Set(t.rows.map((r) => `${r.group}\u0000${r.phase}`))];
  for (const key of keys) {
    const rows = t.rows.filter((r) => `${r.group}\u0000${r.phase}` === key);
    const find = (p: boolean, l: boolean) => {
      const hits = rows.filter((r) => r.prompt === p && r.length === l);
      return hits.length === 1 ? hits[0] : null;
    };
    const ref = find(false, false);
    const variant = (r: AblationRow | null) => (r && r.avg !== null ? { avg: r.avg, delta: ref && ref.avg !== null ? r.avg - ref.avg : null, comparison: r.comparison } : null);
    out.push({ group: rows[0].group, phase: rows[0].phase, baseline: ref?.avg ?? null, variants: { prompt: variant(find(true, false)), length: variant(find(false, true)), both: variant(find(true, true)) } });
  }
  return out;
}

export function formatAblationSummary(rows: AblationSummaryRow[], t: AblationTable, o: ResolvedOptions): string {
  const lines = [mdRow(['Method / Training', 'Baseline', '+Prompt', '+Length', '+Both']), mdRow(['---', '---:', '---:', '---:', '---:'])];
  let group = '';
  for (const r of rows) {
    if (r.group !== group) {
      lines.push(mdRow([`*${r.group}*`, '', '', '', '']));
      group = r.group;
    }
    const v = (x: AblationSummaryRow['variants']['prompt']) => (x === null ? '–' : x.delta === null ? `(${percent(x.avg)})` : `${percentDelta(x.avg, r.baseline)}${mark(x.comparison)} (${percent(x.avg)})`);
    lines.push(mdRow([phaseName(r.phase), percent(r.baseline), v(r.variants.prompt), v(r.variants.length), v(r.variants.both)]));
  }
  const legend = `Average ${measureName(t.measure)} × 100 and Δ to the baseline (no prompt, no length); ▲ / ▼ as in the table above (${legendTest(o, t.comparisons)}).`;
  return `${lines.join('\n')}\n\n${legend}\n`;
}

// ── Seeds ──

export interface SeedRow {
  label: string;
  seeds: number[];
  /** Each seed's Avg over the columns (null when the seed lacks a dataset). */
  perSeed: Array<number | null>;
  mean: number | null;
  sd: number | null;
  cells: Cell[];
}

export interface SeedTable {
  kind: 'seeds';
  measure: string;
  columns: string[];
  rows: SeedRow[];
}

/** The spread over seeds of every setting run with at least two seeds (null when none). */
export function seedTable(settings: Setting[], opts: TableOptions = {}): SeedTable | null {
  const o = resolveOptions(opts);
  const multi = settings.filter((s) => s.results.length > 1);
  if (multi.length === 0) return null;
  const columns = datasetColumns(multi);
  const rows = multi.map((s) => {
    const perSeed = s.results.map((r) => {
      const vals = columns.map((c) => r.datasets.find((d) => d.name === c)?.metrics[o.measure]);
      return vals.every((v) => v !== undefined) ? meanOf(vals as number[]) : null;
    });
    const complete = perSeed.every((x) => x !== null);
    const cells = columns.map((c) => {
      const v = datasetValue(s, c, o.measure);
      return { value: v.value, sd: v.sd, seeds: v.seeds.length };
    });
    return { label: s.label, seeds: s.results.map((r) => r.seed), perSeed, mean: complete ? meanOf(perSeed as number[]) : null, sd: complete ? sdOf(perSeed as number[]) : null, cells };
  });
  return { kind: 'seeds', measure: o.measure, columns, rows };
}

function pm(value: number | null, sd: number | null): string {
  return value === null ? '–' : sd === null ? percent(value) : `${percent(value)} ± ${percent(sd)}`;
}

export function formatSeedTable(t: SeedTable): string {
  const lines = [mdRow(['Setting', 'n', 'Avg', ...t.columns]), mdRow(['---', '---:', '---:', ...t.columns.map(() => '---:')])];
  for (const r of t.rows) lines.push(mdRow([r.label, String(r.seeds.length), pm(r.mean, r.sd), ...r.cells.map((c) => pm(c.value, c.sd))]));
  return `${lines.join('\n')}\n\n${measureName(t.measure)} × 100: mean ± sample standard deviation over n seeds (seeds ${[...new Set(t.rows.flatMap((r) => r.seeds))].sort((a, b) => a - b).join(', ')}).\n`;
}
