/**
 * Figures as plotly.js JSON ({ data, layout }): built here from plain numbers, shown in notebooks
 * (`show`), written as HTML and PNG by the report (`writeFigures`). Every builder takes a title and both
 * axis titles, and every figure has a legend (a colour bar for heatmaps), so a figure never shows data a
 * reader cannot name. `figureProblems` checks that, for tests and before rendering.
 */

type Trace = Record<string, unknown>;
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
}

interface Axes {
  title: string;
  x: string;
  y: string;
}

const FONT = { family: 'Helvetica, Arial, sans-serif', size: 13 };

function layout(a: Axes, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: { text: a.title },
    font: FONT,
    xaxis: { title: { text: a.x }, automargin: true },
    yaxis: { title: { text: a.y }, automargin: true },
    showlegend: true,
    legend: { orientation: 'h', y: -0.2 },
    margin: { t: 60, r: 20, b: 90, l: 70 },
    ...extra,
  };
}

interface Series {
  name: string;
  values: number[];
  /** One error-bar half-width per value (e.g. the standard deviation over seeds). */
  errors?: number[];
}

/** Bars: one group per category, one bar per series (Table 2 per dataset, say). */
export function barChart(a: Axes & { categories: string[]; series: Series[]; yRange?: [number, number] }): Figure {
  for (const s of a.series) {
    if (s.values.length !== a.categories.length) throw new Error(`barChart "${a.title}": series "${s.name}" has ${s.values.length} values for ${a.categories.length} categories`);
  }
  return {
    data: a.series.map((s) => ({
      type: 'bar',
      name: s.name,
      x: a.categories,
      y: s.values,
      ...(s.errors ? { error_y: { type: 'data', array: s.errors, visible: true } } : {}),
    })),
    layout: layout(a, { barmode: 'group', ...(a.yRange ? { yaxis: { title: { text: a.y }, range: a.yRange, automargin: true } } : {}) }),
  };
}

interface Points {
  name: string;
  x: number[];
  y: number[];
  /** A label written beside each point. */
  labels?: string[];
  mode?: 'markers' | 'lines' | 'lines+markers';
}

/** Points or lines: nDCG@10 against GPU-hours, memory against batch size, loss against steps. */
export function lineChart(a: Axes & { series: Points[]; logX?: boolean; logY?: boolean }): Figure {
  const fig: Figure = {
    data: a.series.map((s) => ({
      type: 'scatter',
      name: s.name,
      x: s.x,
      y: s.y,
      mode: s.mode ?? (s.labels ? 'markers+text' : 'lines+markers'),
      ...(s.labels ? { text: s.labels, textposition: 'top center' } : {}),
      marker: { size: 9 },
    })),
    layout: layout(a),
  };
  if (a.logX) (fig.layout.xaxis as Record<string, unknown>).type = 'log';
  if (a.logY) (fig.layout.yaxis as Record<string, unknown>).type = 'log';
  return fig;
}

/** Overlaid histograms of several score distributions (teacher vs student, positives vs negatives). */
export function histogramChart(a: Axes & { series: Array<{ name: string; values: number[] }>; bins?: number }): Figure {
  return {
    data: a.series.map((s) => ({ type: 'histogram', name: s.name, x: s.values, opacity: 0.6, ...(a.bins ? { nbinsx: a.bins } : {}) })),
    layout: layout(a, { barmode: 'overlay' }),
  };
}

/**
 * A matrix as colours: rows are `ys` (top to bottom as given), columns `xs`. `marks` circles cells (each
 * query token's chosen document token); `diverging` centres the colour scale on 0 (deltas).
 */
export function heatmap(
  a: Axes & { xs: string[]; ys: string[]; z: number[][]; colorbar: string; marks?: Array<[row: number, col: number]>; diverging?: boolean; annotate?: number },
): Figure {
  if (a.z.length !== a.ys.length || a.z.some((r) => r.length !== a.xs.length)) {
    throw new Error(`heatmap "${a.title}": z must be ${a.ys.length} rows of ${a.xs.length} values`);
  }
  // Plotly joins equal category labels into one column; make repeated tokens distinct but readable.
  const unique = (labels: string[]) => {
    const seen = new Map<string, number>();
    return labels.map((l) => {
      const n = seen.get(l) ?? 0;
      seen.set(l, n + 1);
      return n === 0 ? l : `${l}${'\u200b'.repeat(n)}`;
    });
  };
  const xs = unique(a.xs);
  const ys = unique(a.ys);
  const flat = a.z.flat().filter(Number.isFinite);
  const extent = Math.max(...flat.map(Math.abs), 1e-9);
  const data: Trace[] = [
    {
      type: 'heatmap',
      name: a.colorbar,
      x: xs,
      y: ys,
      z: a.z,
      colorscale: a.diverging ? 'RdBu' : 'Viridis',
      reversescale: a.diverging ? true : false,
      ...(a.diverging ? { zmin: -extent, zmax: extent } : {}),
      colorbar: { title: { text: a.colorbar } },
      ...(a.annotate !== undefined ? { text: a.z.map((r) => r.map((v) => (Number.isFinite(v) ? v.toFixed(a.annotate) : ''))), texttemplate: '%{text}' } : {}),
    },
  ];
  if (a.marks?.length) {
    data.push({
      type: 'scatter',
      name: 'chosen (max)',
      mode: 'markers',
      x: a.marks.map(([, c]) => xs[c]),
      y: a.marks.map(([r]) => ys[r]),
      marker: { symbol: 'circle-open', size: 14, color: 'red', line: { width: 2 } },
    });
  }
  // Every row and column labelled (plotly skips labels when crowded): one tick each, and room for them.
  const height = Math.max(480, 200 + 24 * ys.length);
  return {
    data,
    layout: layout(a, {
      height,
      xaxis: { title: { text: a.x }, automargin: true, dtick: 1 },
      yaxis: { title: { text: a.y }, autorange: 'reversed', automargin: true, dtick: 1 },
    }),
  };
}

function axisTitle(l: Record<string, unknown>, axis: string): string {
  const t = (l[axis] as { title?: { text?: string } } | undefined)?.title?.text;
  return typeof t === 'string' ? t.trim() : '';
}

/** What a figure lacks to be read on its own: a title, axis titles, data, a legend or colour bar. */
export function figureProblems(fig: Figure): string[] {
  const out: string[] = [];
  const title = (fig.layout.title as { text?: string } | undefined)?.text;
  if (!title?.trim()) out.push('no title');
  if (!axisTitle(fig.layout, 'xaxis')) out.push('x axis has no title');
  if (!axisTitle(fig.layout, 'yaxis')) out.push('y axis has no title');
  if (fig.data.length === 0) out.push('no data');
  for (const t of fig.data) {
    if (t.type === 'heatmap') {
      if (!(t.colorbar as { title?: { text?: string } } | undefined)?.title?.text) out.push('heatmap has no colour-bar title');
    } else if (!(typeof t.name === 'string' && t.name.trim())) out.push(`a ${String(t.type)} trace has no legend name`);
  }
  if (fig.layout.showlegend !== true && fig.data.some((t) => t.type !== 'heatmap')) out.push('legend hidden');
  return out;
}
