/**
 * A run's numbers beside the paper's: pipelines (a) (b) (c) of a preset's Table 2 beside Table 2's rows,
 * training cost beside Table 1's GPU-hours, and any checkpoint's evaluation beside Table 2's columns for
 * the same BEIR sets. Joins and figure data only; the numbers come from the result files, the
 * transcription (results/paper) and an evaluation report.
 */
import { UserError } from '../util/errors';
import { dotPlot, type Figure } from '../figures/figures';
import { beirRows, paperTable, PAPER_DIR, BEIR_IDS, type BeirId } from '../paper/tables';
import { PAPER_PIPELINES } from '../paper/training';
import { differenceInterval, type DifferenceInterval } from './significance';
import { isMainSetting, resolveOptions, strataFor, type Comparison, type MainTable, type Setting } from './tables';
import type { PipelineRunCost } from './phases';

/** Table 2 rows that are the same kind of model as a run's (pipeline, phase) row. */
const PAPER_ROW_OF: Record<string, string> = {
  'a/distillation': PAPER_PIPELINES.a.table2Row,
  'b/supervised': 'supervised-plus-kd-from-dense-unsupervised/embed-base-supervised',
  'b/distillation': PAPER_PIPELINES.b.table2Row,
  'c/supervised': 'colbert-zero-full-pre-training/supervised',
  'c/distillation': PAPER_PIPELINES.c.table2Row,
};

export interface PipelineBesidePaper {
  /** The run's row label (the preset's Table 2). */
  label: string;
  pipeline: string | null;
  phase: string | null;
  /** The run's Avg nDCG@10 × 100 (mean over its datasets). */
  run: number | null;
  /** The run's paired test against its baseline row (after the table's correction), when there is one. */
  comparison?: Comparison;
  baseline: boolean;
  /** The paper's Table 2 row of the same kind of model: its id, label and BEIR Avg (× 100); null for rows the paper does not have (BM25, the untrained base). */
  paperRow: string | null;
  paperLabel: string | null;
  paper: number | null;
}

/** Every row of a preset's main table with the paper's Table 2 row of the same kind (by pipeline and phase). */
export function pipelinesBesidePaper(main: MainTable, dir = PAPER_DIR): PipelineBesidePaper[] {
  const rows = new Map(beirRows(2, dir).map((r) => [r.id, r]));
  return main.rows.map((r) => {
    const id = PAPER_ROW_OF[`${r.pipeline}/${r.phase}`] ?? null;
    const p = id ? rows.get(id) ?? null : null;
    return {
      label: r.label,
      pipeline: r.pipeline,
      phase: r.phase,
      run: r.avg.value === null ? null : 100 * r.avg.value,
      ...(r.avg.comparison ? { comparison: r.avg.comparison } : {}),
      baseline: r.baseline,
      paperRow: p ? p.id : null,
      paperLabel: p ? `${p.group ? `${p.group}: ` : ''}${p.label}` : null,
      paper: p ? p.avg : null,
    };
  });
}

/**
 * For each run row with a paper counterpart: the run's Avg and the paper's BEIR Avg, each in its own panel
 * with its own axis (a preset's data and BEIR are different scales: only the order within a panel compares).
 */
export function pipelinesFigure(rows: PipelineBesidePaper[], o: { preset: string; datasets: string }): Figure {
  const both = rows.filter((r) => r.run !== null && r.paper !== null);
  return dotPlot({
    title: `Pipelines: this run (preset ${o.preset}) beside the paper (Table 2): compare the order, not the values`,
    y: 'model',
    rows: both.map((r) => r.label),
    panels: [
      { x: `this run: nDCG@10 × 100 (${o.datasets})`, series: [{ name: 'this run', values: both.map((r) => r.run!), emphasis: true }] },
      { x: 'paper: BEIR average, nDCG@10 × 100', series: [{ name: 'paper, Table 2', values: both.map((r) => r.paper!), emphasis: true, hover: both.map((r) => r.paperLabel ?? '') }] },
    ],
  });
}

/** The run's points for `costFigure` (lib/paper/figures.ts): each pipeline's ColBERT-phase seconds (`which: 'colbert'`) or every phase's. */
export function runCostPoints(costs: PipelineRunCost[], which: 'colbert' | 'total' = 'colbert'): Array<{ name: string; cost: number; ndcg10: number }> {
  return costs.map((c) => ({ name: `(${c.pipeline}) ${PAPER_PIPELINES[c.pipeline].name}`, cost: which === 'colbert' ? c.colbertSeconds : c.totalSeconds, ndcg10: c.ndcg10 }));
}

export interface CheckpointRow {
  /** "your checkpoint" or the paper's row ("ColBERT-Zero (full pre-training): Distilled"). */
  model: string;
  source: 'this evaluation' | 'paper, Table 2';
  /** nDCG@10 × 100 per BEIR id asked for (null when not evaluated). */
  values: Partial<Record<BeirId, number | null>>;
}

/**
 * A checkpoint's nDCG@10 on BEIR sets (dataset name → value in [0, 1], e.g. an evaluation report's
 * `metrics.ndcg_cut_10` per dataset, the name being the BEIR id) beside every Table 2 row's values for the
 * same sets. Names that are not BEIR ids of Table 2 are left out.
 */
export function checkpointBesidePaper(values: Record<string, number>, o: { model?: string; dir?: string } = {}): { datasets: BeirId[]; rows: CheckpointRow[] } {
  const datasets = BEIR_IDS.filter((id) => id in values);
  const mine: CheckpointRow = { model: o.model ?? 'your checkpoint', source: 'this evaluation', values: Object.fromEntries(datasets.map((d) => [d, 100 * values[d]])) };
  const paper = beirRows(2, o.dir ?? PAPER_DIR).map(
    (r): CheckpointRow => ({ model: `${r.group ? `${r.group}: ` : ''}${r.label}`, source: 'paper, Table 2', values: Object.fromEntries(datasets.map((d) => [d, r.values[d]])) }),
  );
  return { datasets, rows: [mine, ...paper] };
}

/** Grouped bars of `checkpointBesidePaper`'s rows: one group per dataset, one bar per row. */
export function checkpointFigure(t: { datasets: BeirId[]; rows: CheckpointRow[] }, o: { title?: string } = {}): Figure {
  const mine = t.rows.filter((r) => r.source === 'this evaluation');
  const paper = t.rows.filter((r) => r.source !== 'this evaluation');
  // One row per dataset: the paper's rows as grey dots (hover names them), the checkpoint as the marked one.
  return dotPlot({
    title: o.title ?? 'Your checkpoint beside the paper (Table 2), per BEIR set',
    y: 'BEIR dataset',
    rows: t.datasets,
    panels: [
      {
        x: 'nDCG@10 × 100',
        series: [
          ...paper.map((r) => ({ name: r.model, group: "the paper's Table 2 rows", values: t.datasets.map((d) => r.values[d] ?? NaN), hover: t.datasets.map(() => r.model) })),
          ...mine.map((r) => ({ name: r.model, values: t.datasets.map((d) => r.values[d] ?? NaN), emphasis: true })),
        ],
      },
    ],
  });
}

// ── Differences from a baseline, with confidence intervals, beside the paper's ──

export interface DifferenceRow {
  label: string;
  pipeline: string | null;
  phase: string | null;
  /** The run's difference from the baseline × 100, Avg over its datasets (stratified), with its interval; null when untestable. */
  avg: DifferenceInterval | null;
  /** The same per dataset (the run's dataset names). */
  datasets: Record<string, DifferenceInterval | null>;
  /** The paper's Table 2 row of the same kind, and its difference from the baseline's row (× 100 as printed), Avg and per BEIR id. */
  paperLabel: string | null;
  paperAvg: number | null;
  paperDatasets: Partial<Record<BeirId, number>>;
}

export interface DifferencesFromBaseline {
  preset: string;
  baseline: string;
  /** The paper's row the baseline stands for ("KD from dense supervised: embed-base distilled"), if any. */
  paperBaseline: string | null;
  datasets: string[];
  level: number;
  rows: DifferenceRow[];
}

const scaled = (x: DifferenceInterval | null) => (x ? { ...x, difference: 100 * x.difference, low: 100 * x.low, high: 100 * x.high } : null);

/**
 * Each main-setting row's difference from the baseline row (default: the paper's rows only, i.e. the
 * pipelines' stages) with its confidence interval from the paired queries (per dataset and on average,
 * the interval of the t-test the tables run), beside the paper's Table 2 difference between the same kinds
 * of model. Intervals are not corrected for multiplicity; the tables' Holm-corrected tests are.
 */
export function differencesFromBaseline(
  settings: Setting[],
  baseline: string,
  o: { level?: number; measure?: string; rows?: 'paper' | 'all'; dir?: string } = {},
): DifferencesFromBaseline {
  const measure = resolveOptions({ measure: o.measure }).measure;
  const level = o.level ?? 0.95;
  const main = settings.filter((s) => isMainSetting(s.ablation));
  const base = main.find((s) => s.label === baseline);
  if (!base) throw new UserError(`baseline "${baseline}" is not a main-setting row (rows: ${main.map((s) => `"${s.label}"`).join(', ')})`);
  const datasets = [...new Set(base.results.flatMap((r) => r.datasets.map((d) => d.name)))];
  const dir = o.dir ?? PAPER_DIR;
  const paper = new Map(beirRows(2, dir).map((r) => [r.id, r]));
  const paperOf = (s: Setting) => paper.get(PAPER_ROW_OF[`${s.pipeline}/${s.phase}`] ?? '') ?? null;
  const paperBase = paperOf(base);
  const ids = new Set(paperTable(2, dir).columns.flatMap((c) => (c.dataset ? [c.dataset] : [])));
  const interval = (s: Setting, names: string[]) => {
    const st = strataFor(s, base, names, measure);
    return st && st.strata.every((x) => x.a.length >= 2) ? scaled(differenceInterval(st.strata, level)) : null;
  };
  const rows = main
    .filter((s) => s !== base && ((o.rows ?? 'paper') === 'all' || paperOf(s)))
    .map((s): DifferenceRow => {
      const p = paperOf(s);
      const both = p && paperBase;
      return {
        label: s.label,
        pipeline: s.pipeline,
        phase: s.phase,
        avg: interval(s, datasets),
        datasets: Object.fromEntries(datasets.map((d) => [d, interval(s, [d])])),
        paperLabel: p ? `${p.group ? `${p.group}: ` : ''}${p.label}` : null,
        paperAvg: both ? Math.round((p.avg - paperBase.avg) * 100) / 100 : null,
        paperDatasets: both ? Object.fromEntries(BEIR_IDS.filter((d) => ids.has(d)).map((d) => [d, Math.round((p.values[d] - paperBase.values[d]) * 100) / 100])) : {},
      };
    });
  return { preset: base.preset, baseline, paperBaseline: paperBase ? `${paperBase.group ? `${paperBase.group}: ` : ''}${paperBase.label}` : null, datasets, level, rows };
}

/**
 * Two panels sharing the rows: this run's differences from its baseline with their confidence intervals
 * (the average emphasised, each test set behind it), and the paper's Table 2 differences between the
 * same kinds of model (its average, and each BEIR dataset). The scales differ on purpose: the run's
 * numbers and the paper's are not comparable as numbers, only their signs and whether the interval
 * excludes 0.
 */
export function differencesFigure(d: DifferencesFromBaseline): Figure {
  const rows = d.rows.map((r) => r.label);
  const pct = Math.round(d.level * 100);
  const perDataset = d.datasets.length > 1;
  const iv = (get: (r: DifferenceRow) => DifferenceInterval | null) => ({
    values: d.rows.map((r) => get(r)?.difference ?? NaN),
    low: d.rows.map((r) => get(r)?.low ?? NaN),
    high: d.rows.map((r) => get(r)?.high ?? NaN),
  });
  const paperIds = [...new Set(d.rows.flatMap((r) => Object.keys(r.paperDatasets)))] as BeirId[];
  return dotPlot({
    title: `Difference from ${d.baseline}: this run (preset ${d.preset}, ${pct} % CI) beside the paper (Table 2)`,
    y: 'model',
    rows,
    panels: [
      {
        x: 'this run: Δ nDCG@10 × 100',
        zero: true,
        series: [
          ...(perDataset ? d.datasets.map((name) => ({ name, group: `one test set, ${pct} % CI`, ...iv((r) => r.datasets[name]), hover: rows.map(() => name) })) : []),
          { name: `${perDataset ? 'average over test sets' : d.datasets[0]}, ${pct} % CI`, emphasis: true, ...iv((r) => r.avg) },
        ],
      },
      {
        x: 'paper (Table 2): Δ nDCG@10 × 100',
        zero: true,
        series: [
          ...paperIds.map((id) => ({ name: id, group: 'paper: one BEIR dataset', values: d.rows.map((r) => r.paperDatasets[id] ?? NaN), hover: rows.map(() => id) })),
          { name: 'paper: BEIR average', emphasis: true, values: d.rows.map((r) => r.paperAvg ?? NaN) },
        ],
      },
    ],
  });
}
