/**
 * A run's numbers beside the paper's: pipelines (a) (b) (c) of a preset's Table 2 beside Table 2's rows,
 * training cost beside Table 1's GPU-hours, and any checkpoint's evaluation beside Table 2's columns for
 * the same BEIR sets. Joins and figure data only; the numbers come from the result files, the
 * transcription (results/paper) and an evaluation report.
 */
import { barChart, type Figure } from '../figures/figures';
import { beirRows, PAPER_DIR, BEIR_IDS, type BeirId } from '../paper/tables';
import { PAPER_PIPELINES } from '../paper/training';
import type { Comparison, MainTable } from './tables';
import type { PipelineRunCost } from './phases';

/** Table 2 rows that are the same kind of model as a run's (pipeline, phase) row. */
const PAPER_ROW_OF: Record<string, string> = {
  'a/distillation': PAPER_PIPELINES.a.table2Row,
  'b/supervised': 'supervised-plus-kd-from-dense-unsupervised/embed-base-supervised',
  'b/distillation': PAPER_PIPELINES.b.table2Row,
  'c/supervised': 'colbert-zero-full-pre-training/supervised',
  'c/distillation': PAPER_PIPELINES.c.table2Row,
};

interface PipelineBesidePaper {
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

/** Grouped bars: for each run row with a paper counterpart, the run's Avg and the paper's BEIR Avg. */
export function pipelinesFigure(rows: PipelineBesidePaper[], o: { preset: string; datasets: string }): Figure {
  const both = rows.filter((r) => r.run !== null && r.paper !== null);
  return barChart({
    title: `Pipelines: this run (preset ${o.preset}) beside the paper (Table 2)`,
    x: 'model',
    y: 'nDCG@10 × 100',
    categories: both.map((r) => r.label),
    series: [
      { name: `this run: ${o.datasets}`, values: both.map((r) => r.run!) },
      { name: 'paper: BEIR average (15 sets)', values: both.map((r) => r.paper!) },
    ],
  });
}

/** The run's points for `costFigure` (lib/paper/figures.ts): each pipeline's ColBERT-phase seconds (`which: 'colbert'`) or every phase's. */
export function runCostPoints(costs: PipelineRunCost[], which: 'colbert' | 'total' = 'colbert'): Array<{ name: string; cost: number; ndcg10: number }> {
  return costs.map((c) => ({ name: `(${c.pipeline}) ${PAPER_PIPELINES[c.pipeline].name}`, cost: which === 'colbert' ? c.colbertSeconds : c.totalSeconds, ndcg10: c.ndcg10 }));
}

interface CheckpointRow {
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
  const fig = barChart({
    title: o.title ?? 'Your checkpoint beside the paper (Table 2)',
    x: 'BEIR dataset',
    y: 'nDCG@10 × 100',
    categories: t.datasets,
    series: t.rows.map((r) => ({ name: r.model, values: t.datasets.map((d) => r.values[d] ?? NaN) })),
  });
  // Many long row names: the legend goes to the right, one name per line, clear of the x axis title.
  fig.layout.legend = { orientation: 'v', x: 1.02, y: 1, font: { size: 11 } };
  fig.layout.margin = { t: 60, r: 20, b: 60, l: 70 };
  return fig;
}
