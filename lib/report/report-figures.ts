/**
 * The report's figures, from its tables: Table 2 as grouped bars per dataset (Avg included), and Table 4's
 * deltas (each ablation row minus its reference row, per dataset and Avg) as a diverging heatmap.
 */
import { barChart, heatmap, type Figure } from '../figures/figures';
import type { AblationTable, MainTable } from './tables';

const pct = (x: number | null | undefined): number => (x === null || x === undefined ? NaN : 100 * x);

/** Grouped bars: one group per dataset and Avg, one bar per row of the main table (nDCG@10 × 100). */
export function mainTableFigure(t: MainTable): Figure {
  return barChart({
    title: `Main results (Table 2 shape), preset ${t.preset}`,
    x: 'dataset',
    y: `${t.measure === 'ndcg_cut_10' ? 'nDCG@10' : t.measure} × 100`,
    categories: [...t.columns, 'Avg'],
    series: t.rows.map((r) => ({ name: r.label, values: [...r.cells.map((c) => pct(c.value)), pct(r.avg.value)] })),
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
