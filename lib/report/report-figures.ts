/**
 * The report's figures, from its tables: Table 2 as a dot plot (each model's datasets and its Avg), and Table 4's
 * deltas (each ablation row minus its reference row, per dataset and Avg) as a diverging heatmap.
 */
import { dotPlot, heatmap, type Figure } from '../figures/figures';
import type { AblationTable, MainTable } from './tables';

const pct = (x: number | null | undefined): number => (x === null || x === undefined ? NaN : 100 * x);

/**
 * One row per model of the main table: its Avg as the marked dot (labelled), each dataset as a grey dot
 * (hover names it). Dots, not bars from 0: the gaps between models are a few points on a 0-100 scale.
 */
export function mainTableFigure(t: MainTable): Figure {
  return dotPlot({
    title: `Main results (Table 2 shape), preset ${t.preset}`,
    y: 'model',
    rows: t.rows.map((r) => r.label),
    panels: [
      {
        x: `${t.measure === 'ndcg_cut_10' ? 'nDCG@10' : t.measure} × 100`,
        series: [
          ...t.columns.map((c, i) => ({ name: c, group: 'each dataset', values: t.rows.map((r) => pct(r.cells[i].value)), hover: t.rows.map(() => c) })),
          { name: 'Avg', values: t.rows.map((r) => pct(r.avg.value)), emphasis: true },
        ],
      },
    ],
  });
}

/**
 * Table 4's deltas: rows are the ablation rows that have a reference (the same group and phase without
 * prompt and length), columns the datasets and Avg, cells the row's value minus the reference's (× 100).
 * Null when no row has a reference.
 */
export function ablationDeltaFigure(t: AblationTable): Figure | null {
  const rows = t.rows.filter((r) => r.reference !== null);
  if (rows.length === 0) return null;
  const z = rows.map((r) => {
    const ref = t.rows.find((x) => x.label === r.reference)!;
    const cells = r.cells.map((c, i) => (c.value === null || ref.cells[i].value === null ? NaN : 100 * (c.value - ref.cells[i].value!)));
    return [...cells, r.avg === null || ref.avg === null ? NaN : 100 * (r.avg - ref.avg)];
  });
  return heatmap({
    title: `Prompt and length deltas (Table 4 shape), preset ${t.preset}`,
    x: 'dataset',
    y: 'setting (against its reference without prompt and length)',
    xs: [...t.columns, 'Avg'],
    ys: rows.map((r) => r.label),
    z,
    colorbar: 'Δ nDCG@10 × 100',
    diverging: true,
    annotate: 2,
  });
}
