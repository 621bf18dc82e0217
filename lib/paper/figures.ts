/**
 * The paper's tables as something to look at: each table's rows as printed (for display, cell for cell
 * the transcription), and the figures notebook 7 draws — Table 2 as differences from ColBERT-Zero, Table 3
 * as prompts in pre-training × fine-tuning, Tables 4 and 5 as delta heatmaps, and nDCG@10 against GPU-hours for the three pipelines (Table 1 × Table 2),
 * the shape a run's own cost is drawn in beside it (lib/report/compare.ts). Every number comes from
 * `results/paper/` through lib/paper/tables.ts.
 */
import { dotPlot, heatmap, lineChart, type Figure } from '../figures/figures';
import { ablationRows, beirRows, deltaRows, paperTable, PAPER_DIR, BEIR_IDS, type BeirId } from './tables';
import { pipelineCosts, PAPER_PIPELINES, type PaperPipeline } from './training';

/** Table n as printed: one object per row, "row" first, then every column label with its printed cell. */
export function printedRows(n: number, dir = PAPER_DIR): Array<Record<string, string>> {
  const t = paperTable(n, dir);
  return t.rows.map((r) => {
    const row: Record<string, string> = { row: r.group && n !== 1 ? `${r.group} — ${r.label}` : r.label };
    t.columns.forEach((c, k) => (row[c.label] = r.cells[k]));
    return row;
  });
}

/** Table 2's column label of each BEIR id (the paper's own spelling). */
function datasetLabels(dir: string): Record<BeirId, string> {
  const out = {} as Record<BeirId, string>;
  for (const c of paperTable(2, dir).columns) if (c.dataset) out[c.dataset] = c.label;
  return out;
}

/** A Table 4/5 group as a short name: which pipeline's stage, from which base. */
function shortGroup(group: string | undefined): string {
  const g = group ?? '';
  if (/^KD from dense supervised/.test(g)) return '(a) KD-only';
  if (/^Supervised \+ KD from dense unsupervised/.test(g)) return '(b) sup.+KD, dense base';
  if (/^Supervised \+ KD from ColBERT unsupervised \(without prompts\)/.test(g)) return '(c) base w/o prompts';
  if (/^Supervised \+ KD from ColBERT unsupervised/.test(g)) return '(c) ColBERT-Zero';
  return g;
}

/** A Table 2 row as a short name: the pipeline's letter for its stages, "(dense)" for dense baselines. */
function table2Name(r: { id: string; group?: string; label: string }): string {
  const pipeline = (Object.keys(PAPER_PIPELINES) as PaperPipeline[]).find((p) => PAPER_PIPELINES[p].table2Row.split('/')[0] === r.id.split('/')[0]);
  if (pipeline) return `(${pipeline}) ${PAPER_PIPELINES[pipeline].name}: ${r.label.replace(/^embed-base /, '').toLowerCase()}`;
  return /modernbert-embed|gte-modernbert$/.test(r.id) ? `${r.label} (dense)` : r.label;
}

/**
 * Table 2 as differences from ColBERT-Zero, every row: the average on its own scale (labelled diamonds,
 * so the gaps the paper argues from, 0.31 between (b) and (c), are visible, which bars from 0 to 55
 * hide), and beside it each BEIR dataset as a dot (the spread the average sums up).
 */
export function table2Figure(dir = PAPER_DIR): Figure {
  const rows = beirRows(2, dir);
  const labels = datasetLabels(dir);
  const ref = rows.find((r) => r.id === PAPER_PIPELINES.c.table2Row);
  if (!ref) throw new Error(`Table 2 has no row ${PAPER_PIPELINES.c.table2Row}`);
  const datasets = BEIR_IDS.filter((d) => d in labels);
  const names = rows.map((r) => (r === ref ? `${table2Name(r)} = 0` : table2Name(r)));
  const diff = (v: (r: (typeof rows)[number]) => number) => rows.map((r) => Math.round((v(r) - v(ref)) * 100) / 100);
  return dotPlot({
    title: 'Table 2: nDCG@10 minus ColBERT-Zero\'s (distilled), in points; > 0: better',
    y: 'Table 2 row',
    rows: names,
    decimals: 2,
    panels: [
      { x: 'BEIR average', zero: true, series: [{ name: 'BEIR average (Avg)', values: diff((r) => r.avg), emphasis: true }] },
      {
        x: 'each BEIR dataset',
        zero: true,
        weight: 1.6,
        series: datasets.map((d) => ({ name: labels[d], group: 'one BEIR dataset', values: diff((r) => r.values[d]), hover: rows.map(() => labels[d]) })),
      },
    ],
  });
}

/**
 * Table 3: the BEIR average after supervised + KD, by whether the unsupervised model was pre-trained with
 * prompts (one line each) and whether fine-tuning used them (the two ends of a line): prompts in
 * fine-tuning help only a model pre-trained with them.
 */
export function table3Figure(dir = PAPER_DIR): Figure {
  const rows = beirRows(3, dir);
  const bases = rows.filter((r) => !r.group);
  const fineTuned = (base: string, withPrompts: boolean) => {
    const r = rows.find((x) => x.group === base && /with(out)? prompts$/i.test(x.label) && /without/i.test(x.label) !== withPrompts);
    if (!r) throw new Error(`Table 3 has no row for "${base}" fine-tuned ${withPrompts ? 'with' : 'without'} prompts`);
    return r.avg;
  };
  const fig = lineChart({
    title: 'Table 3: prompts in pre-training × in fine-tuning (BEIR Avg after supervised + KD)',
    x: 'prompts in the supervised + KD phases',
    y: 'nDCG@10 (BEIR Avg, ×100)',
    series: bases.map((b) => {
      const y = [fineTuned(b.label, false), fineTuned(b.label, true)];
      return { name: `pre-trained: ${b.label.replace(/-unsupervised/, ' unsupervised')}${/ModernBERT/.test(b.label) ? ' (dense)' : ''}`, x: [0, 1], y, labels: y.map((v) => v.toFixed(2)), mode: 'lines+markers' as const };
    }),
  });
  for (const t of fig.data) {
    t.mode = 'lines+markers+text';
    t.textposition = ['middle left', 'middle right'];
  }
  Object.assign(fig.layout.xaxis as Record<string, unknown>, { tickvals: [0, 1], ticktext: ['without prompts', 'with prompts'], range: [-0.4, 1.4], zeroline: false });
  fig.layout.legend = { orientation: 'h', y: -0.25 };
  return fig;
}

/**
 * Table 4: each row minus its block's no-prompt, no-length row, per dataset, with the average in a panel
 * of its own. Colours span ±3 points (one FEVER cell at −14 would otherwise wash the rest out); every
 * cell is written with its value.
 */
export function table4DeltaFigure(dir = PAPER_DIR): Figure {
  const rows = ablationRows(dir);
  const labels = datasetLabels(dir);
  const baselineOf = (id: string) => id.replace(/\/prompt-[a-z]+-length-[a-z]+$/, '/prompt-no-length-no');
  const byId = new Map(rows.map((r) => [r.id, r]));
  const shown = rows.filter((r) => !r.id.endsWith('/prompt-no-length-no'));
  const mark = (v: boolean | 'eval-only') => (v === 'eval-only' ? '†' : v ? '✓' : '×');
  const fig = heatmap({
    title: 'Table 4: gain over the same stage without prompt and length (nDCG@10 points)',
    x: 'BEIR dataset',
    apartTitle: 'average',
    apart: 1,
    y: 'stage (group, phase, +Prompt +Length)',
    xs: ['Avg', ...BEIR_IDS.map((d) => labels[d])],
    ys: shown.map((r) => `${shortGroup(r.group)} ${r.label.toLowerCase()} P${mark(r.prompt)} L${mark(r.length)}`),
    z: shown.map((r) => {
      const b = byId.get(baselineOf(r.id));
      if (!b) throw new Error(`Table 4 row ${r.id} has no baseline row`);
      return [r.avg - b.avg, ...BEIR_IDS.map((d) => r.values[d] - b.values[d])].map((x) => Math.round(x * 100) / 100);
    }),
    colorbar: 'Δ nDCG@10',
    diverging: true,
    clip: 3,
    annotate: 2,
  });
  fig.layout.width = 1100;
  return fig;
}

/** Table 5: the deltas of +Prompt, +Length and +Both over each stage's baseline ("–" is an empty cell). */
export function table5Figure(dir = PAPER_DIR): Figure {
  const rows = deltaRows(dir);
  return heatmap({
    title: 'Table 5: BEIR-average gain of prompts and length over each baseline',
    x: 'added at training',
    y: 'stage',
    xs: ['+Prompt', '+Length', '+Both'],
    ys: rows.map((r) => `${shortGroup(r.group)} ${r.label.toLowerCase()} (${r.baseline.toFixed(2)})`),
    z: rows.map((r) => [r.prompt, r.length, r.both].map((c) => (c ? c.delta : Number.NaN))),
    colorbar: 'Δ nDCG@10',
    diverging: true,
    annotate: 2,
  });
}

/** Table 1 × Table 2: each pipeline's BEIR average against the GPU-hours of the phases it runs. */
export function paperCostFigure(dir = PAPER_DIR): Figure {
  return costFigure(paperCostPoints(dir), {
    title: 'nDCG@10 against training cost (GPU-hours of the ColBERT phases)',
    x: 'GH200 GPU-hours (log scale)',
    series: 'the paper (Table 1 × Table 2)',
    logX: true,
  });
}

/** nDCG@10 against training cost: one labelled point per pipeline (the run's seconds, or the paper's GPU-hours). */
export function costFigure(points: Array<{ name: string; cost: number; ndcg10: number }>, o: { title: string; x: string; series: string; logX?: boolean }): Figure {
  const lo = Math.min(...points.map((p) => p.cost));
  const hi = Math.max(...points.map((p) => p.cost));
  const fig = lineChart({
    title: o.title,
    x: o.x,
    y: 'nDCG@10 × 100',
    logX: o.logX,
    series: [{ name: o.series, x: points.map((p) => p.cost), y: points.map((p) => p.ndcg10), labels: points.map((p) => p.name) }],
  });
  // Labels lean inwards at the ends of the axis (so the plot area does not cut them) and sit below the points between.
  if (points.length > 1) fig.data[0].textposition = points.map((p) => (p.cost === hi ? 'top left' : p.cost === lo ? 'top right' : 'bottom center'));
  return fig;
}

/** The paper's points for `costFigure`: Table 2's Avg against Table 1's GPU-hours of the pipeline's ColBERT phases. */
export function paperCostPoints(dir = PAPER_DIR): Array<{ name: string; cost: number; ndcg10: number; pipeline: PaperPipeline }> {
  return pipelineCosts(dir).map((c) => ({ name: `(${c.pipeline}) ${c.name}`, cost: c.gpuHours, ndcg10: c.avg, pipeline: c.pipeline }));
}
