/**
 * Figures as plotly.js JSON ({ data, layout }): built here from plain numbers, shown in notebooks
 * (`show`), written as HTML and PNG by the report (`writeFigures`). Every builder takes a title and both
 * axis titles, and every figure has a legend (a colour bar for heatmaps), so a figure never shows data a
 * reader cannot name. `figureProblems` checks that, for tests and before rendering.
 */

export type Trace = Record<string, unknown>;
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
}

export interface Axes {
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

export interface Series {
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

export interface Points {
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
  if (a.logX) Object.assign(fig.layout.xaxis as Record<string, unknown>, { type: 'log', ...readableLogTicks(a.series.flatMap((s) => s.x), 860 - 110, 'x') });
  if (a.logY) Object.assign(fig.layout.yaxis as Record<string, unknown>, { type: 'log', ...readableLogTicks(a.series.flatMap((s) => s.y), 480 - 150, 'y') });
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
 * Empirical CDFs of several distributions (before/after, teacher/student, positives/negatives): for each
 * x, the fraction of values ≤ x. Unlike overlaid histograms, any number of series stay readable, and a
 * shift between two distributions reads directly as the horizontal gap between their curves.
 */
export function ecdfChart(a: Axes & { series: Array<{ name: string; values: number[] }>; logX?: boolean }): Figure {
  const fig: Figure = {
    data: a.series.map((s) => {
      const v = s.values.filter(Number.isFinite).sort((x, y) => x - y);
      return { type: 'scatter', mode: 'lines', line: { shape: 'hv', width: 2 }, name: `${s.name} (n = ${v.length})`, x: v, y: v.map((_, i) => (i + 1) / v.length) };
    }),
    layout: layout(a),
  };
  (fig.layout.yaxis as Record<string, unknown>).range = [0, 1.02];
  if (a.logX) Object.assign(fig.layout.xaxis as Record<string, unknown>, { type: 'log', ...readableLogTicks(a.series.flatMap((s) => s.values), 860 - 110, 'x') });
  return fig;
}

export interface DotSeries {
  name: string;
  /** One value per row (NaN: no dot). */
  values: number[];
  /** An interval per row (a 95 % confidence interval, say), drawn as a horizontal error bar. */
  low?: number[];
  high?: number[];
  /** Larger, dark, labelled with its values: the series the figure is about (the average, say). */
  emphasis?: boolean;
  /** Series of one group share a colour and a single legend entry (the datasets behind an average). */
  group?: string;
  /** Hover text per row (the interactive view), e.g. the dataset's name. */
  hover?: string[];
}

export interface DotPanel {
  /** The panel's x-axis title. */
  x: string;
  series: DotSeries[];
  /** A vertical line at 0 (differences). */
  zero?: boolean;
  /** The panel's share of the width, relative to the others' (default 1). */
  weight?: number;
}

const MUTED = '#9aa5b1';
const STRONG = '#1f2d3d';

/**
 * A dot plot: one row per item (top to bottom as given), values along x, in one or more panels side by
 * side that share the rows (a run's differences beside the paper's). For differences between close
 * numbers, where bars from 0 would hide the gaps.
 */
export function dotPlot(a: { title: string; y: string; rows: string[]; panels: DotPanel[]; decimals?: number }): Figure {
  const gap = 0.08;
  const total = a.panels.reduce((t, p) => t + (p.weight ?? 1), 0);
  const unit = (1 - gap * (a.panels.length - 1)) / total;
  let from = 0;
  const data: Trace[] = [];
  const extra: Record<string, unknown> = {};
  const shapes: Array<Record<string, unknown>> = [];
  const shown = new Set<string>();
  a.panels.forEach((p, k) => {
    const ax = k === 0 ? '' : String(k + 1);
    const w = unit * (p.weight ?? 1);
    extra[`xaxis${ax}`] = { title: { text: p.x }, automargin: true, domain: [from, Math.min(1, from + w)], zeroline: false, anchor: 'y' };
    from += w + gap;
    if (p.zero) shapes.push({ type: 'line', xref: `x${ax}`, yref: 'paper', x0: 0, x1: 0, y0: 0, y1: 1, line: { color: '#555', width: 1, dash: 'dot' } });
    for (const s of p.series) {
      if (s.values.length !== a.rows.length) throw new Error(`dotPlot "${a.title}": series "${s.name}" has ${s.values.length} values for ${a.rows.length} rows`);
      const key = s.group ?? s.name;
      const interval = s.low && s.high ? { error_x: { type: 'data', symmetric: false, array: s.high.map((h, i) => h - s.values[i]), arrayminus: s.low.map((l, i) => s.values[i] - l), thickness: s.emphasis ? 2 : 1, width: s.emphasis ? 6 : 3, color: s.emphasis ? STRONG : MUTED } } : {};
      data.push({
        type: 'scatter',
        mode: s.emphasis ? 'markers+text' : 'markers',
        name: s.group ?? s.name,
        legendgroup: key,
        showlegend: !shown.has(key),
        xaxis: `x${ax}`,
        yaxis: 'y',
        x: s.values,
        y: a.rows,
        marker: s.emphasis ? { size: 13, symbol: 'diamond', color: STRONG } : { size: 8, color: s.group ? MUTED : undefined, opacity: 0.8, line: { width: 0 } },
        ...(s.emphasis ? { text: s.values.map((v) => (Number.isFinite(v) ? v.toFixed(a.decimals ?? 2) : '')), textposition: 'top center', textfont: { size: 11, color: STRONG } } : {}),
        ...(s.hover ? { hovertext: s.hover, hoverinfo: 'text+x' } : {}),
        ...interval,
      });
      shown.add(key);
    }
  });
  return {
    data,
    layout: layout(
      { title: a.title, x: a.panels[0].x, y: a.y },
      {
        ...extra,
        yaxis: { title: { text: a.y }, automargin: true, autorange: 'reversed', type: 'category' },
        shapes,
        height: Math.max(440, 230 + 36 * a.rows.length),
        hovermode: 'closest',
        // Below the axis titles, clear of them.
        legend: { orientation: 'h', yref: 'container', y: 0.01, yanchor: 'bottom' },
        margin: { t: 60, r: 20, b: 130, l: 70 },
      },
    ),
  };
}

/** The q-quantile of values (linear interpolation); NaN when there are none. */
function quantile(values: number[], q: number): number {
  const v = values.filter(Number.isFinite).sort((x, y) => x - y);
  if (v.length === 0) return NaN;
  const at = (v.length - 1) * q;
  const lo = Math.floor(at);
  return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (at - lo);
}

/** How far past the 95th percentile of |z| one value may set a colour range (figureProblems' limit). */
const OUTLIER_RANGE = 3;

/**
 * A diverging heatmap's half-range: `clip` when given, else max |z| — unless one outlier would set it
 * (more than 3× the 95th percentile of |z|): then that 3× (cells beyond saturate; annotate them).
 */
function divergingExtent(z: number[], clip?: number): number {
  if (clip !== undefined) return clip;
  const abs = z.filter(Number.isFinite).map(Math.abs);
  const max = Math.max(...abs, 1e-9);
  const p95 = quantile(abs, 0.95);
  return p95 > 0 && max > OUTLIER_RANGE * p95 ? Number((OUTLIER_RANGE * p95).toPrecision(2)) : max;
}

/**
 * A matrix as colours: rows are `ys` (top to bottom as given), columns `xs`. `marks` circles cells (each
 * query token's chosen document token); `diverging` centres the colour scale on 0 (deltas), over ±`clip`
 * when given (else see divergingExtent); `annotate` writes each cell's value (unclipped) at that many
 * decimals. `apart` puts the first that many columns (an average) in a panel of their own, left of the
 * rest, on the same colour scale; `apartTitle` names that panel's x axis.
 */
export function heatmap(
  a: Axes & {
    xs: string[];
    ys: string[];
    z: number[][];
    colorbar: string;
    marks?: Array<[row: number, col: number]>;
    diverging?: boolean;
    annotate?: number;
    clip?: number;
    apart?: number;
    apartTitle?: string;
  },
): Figure {
  if (a.z.length !== a.ys.length || a.z.some((r) => r.length !== a.xs.length)) {
    throw new Error(`heatmap "${a.title}": z must be ${a.ys.length} rows of ${a.xs.length} values`);
  }
  const apart = a.apart ?? 0;
  if (apart && (a.marks?.length || apart >= a.xs.length)) throw new Error(`heatmap "${a.title}": apart must leave columns and cannot go with marks`);
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
  const extent = divergingExtent(flat, a.clip);
  const clipped = a.diverging && flat.some((v) => Math.abs(v) > extent);
  const colours = {
    colorscale: a.diverging ? 'RdBu' : 'Viridis',
    reversescale: a.diverging ? true : false,
    ...(a.diverging ? { cmin: -extent, cmax: extent } : {}),
    colorbar: { title: { text: clipped ? `${a.colorbar}<br>(colour clipped at ±${extent})` : a.colorbar } },
  };
  const cells = (from: number, to: number, axis: string): Trace => {
    const z = a.z.map((r) => r.slice(from, to));
    return {
      type: 'heatmap',
      name: a.colorbar,
      x: xs.slice(from, to),
      y: ys,
      z,
      coloraxis: 'coloraxis',
      xaxis: axis,
      ...(a.annotate !== undefined ? { text: z.map((r) => r.map((v) => (Number.isFinite(v) ? v.toFixed(a.annotate) : ''))), texttemplate: '%{text}', textfont: { size: 11 } } : {}),
    };
  };
  const data: Trace[] = apart ? [cells(0, apart, 'x'), cells(apart, xs.length, 'x2')] : [cells(0, xs.length, 'x')];
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
  const left = apart ? Math.max(0.06, (0.94 * apart) / xs.length) : 1;
  return {
    data,
    layout: layout(a, {
      height,
      coloraxis: colours,
      ...(apart
        ? {
            xaxis: { title: { text: a.apartTitle ?? 'average' }, automargin: true, dtick: 1, domain: [0, left] },
            xaxis2: { title: { text: a.x }, automargin: true, dtick: 1, domain: [left + 0.03, 1], anchor: 'y' },
            yaxis: { title: { text: a.y }, autorange: 'reversed', automargin: true, dtick: 1 },
          }
        : {
            xaxis: { title: { text: a.x }, automargin: true, dtick: 1 },
            yaxis: { title: { text: a.y }, autorange: 'reversed', automargin: true, dtick: 1 },
          }),
    }),
  };
}

function axisTitle(l: Record<string, unknown>, axis: string): string {
  const t = (l[axis] as { title?: { text?: string } } | undefined)?.title?.text;
  return typeof t === 'string' ? t.trim() : '';
}

/** Limits of figureProblems' design checks. */
const MAX_BARS = 40;
const MAX_TRANSLUCENT_HISTOGRAMS = 2;
const MAX_LOG_LABELS = 8;
/** …unless each label still has this many pixels. */
const LOG_LABEL_PX = 60;
const crowded = (labels: number, px: number) => labels > MAX_LOG_LABELS && px / labels < LOG_LABEL_PX;

/** The numbers of a heatmap's z, and the half-range its colours span (its zmin/zmax, its colour axis's, else max |z|). */
function heatmapRange(fig: Figure, t: Trace): { abs: number[]; extent: number } {
  const abs = ((t.z as number[][] | undefined) ?? []).flat().filter((v) => typeof v === 'number' && Number.isFinite(v)).map(Math.abs);
  const axis = typeof t.coloraxis === 'string' ? (fig.layout[t.coloraxis] as { cmin?: number; cmax?: number } | undefined) : undefined;
  const lo = (t.zmin as number | undefined) ?? axis?.cmin;
  const hi = (t.zmax as number | undefined) ?? axis?.cmax;
  const extent = typeof lo === 'number' && typeof hi === 'number' ? Math.max(Math.abs(lo), Math.abs(hi)) : Math.max(0, ...abs);
  return { abs, extent };
}

/** The values of a log axis's traces' coordinate (`x` or `y`) on axis reference `ref` ('x', 'x2', …). */
function logValues(fig: Figure, coord: 'x' | 'y', ref: string): number[] {
  return fig.data.filter((t) => ((t[`${coord}axis`] as string | undefined) ?? coord) === ref).flatMap((t) => (t[coord] as unknown[] | undefined) ?? []).filter((v): v is number => typeof v === 'number' && v > 0);
}

/**
 * The tick labels plotly writes on a log axis over [lo, hi] drawn `px` long when left to choose, as its
 * autoTicks does: about one tick per 80 px (x) or 40 px (y), 4 to 9 of them, in decades; when that is
 * under 0.7 decade per tick it also labels 2s and 5s ("D2") or, under 0.3, every digit ("D1").
 */
function logTickLabels(lo: number, hi: number, px: number, coord: 'x' | 'y', dtick?: unknown): number {
  const span = Math.log10(hi / lo) * 1.1; // autorange pads the data a little
  if (!(span > 0)) return 1;
  const nt = Math.min(9, Math.max(4, px / (coord === 'x' ? 80 : 40))) + 1;
  const rough = span / nt;
  const kind = dtick ?? (rough > 0.7 ? Math.ceil(rough) : span < 1 ? 'L' : rough > 0.3 ? 'D2' : 'D1');
  const pad = Math.pow(10, 0.05 * Math.log10(hi / lo));
  const [a, b] = [lo / pad, hi * pad];
  const count = (mults: number[], step = 1) => {
    let n = 0;
    for (let e = Math.floor(Math.log10(a)); e <= Math.ceil(Math.log10(b)); e += step) for (const m of mults) if (m * 10 ** e >= a && m * 10 ** e <= b) n++;
    return n;
  };
  if (kind === 'D1') return count([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  if (kind === 'D2') return count([1, 2, 5]);
  if (typeof kind === 'number') return count([1], kind);
  return Math.round(nt * 1.5); // under a decade: linear ticks, fully labelled
}

/** A log axis's ticks that stay readable: plotly's own unless they would label every digit, then 2s and 5s, then decades. */
function readableLogTicks(values: number[], px: number, coord: 'x' | 'y'): Record<string, unknown> {
  const v = values.filter((x) => x > 0);
  if (v.length < 2) return {};
  const [lo, hi] = [Math.min(...v), Math.max(...v)];
  if (!crowded(logTickLabels(lo, hi, px, coord), px)) return {};
  return { dtick: crowded(logTickLabels(lo, hi, px, coord, 'D2'), px) ? 1 : 'D2' };
}

/**
 * What a figure lacks to be read on its own — a title, axis titles, data, a legend or colour bar — and
 * what makes it mislead or crowd: a colour range set by one outlier (max |z| over 3× the 95th percentile
 * of |z|), more than 40 bars, more than 2 translucent histograms drawn over each other, a log axis whose
 * automatic ticks would write more than 8 labels, under 60 px apart.
 */
export function figureProblems(fig: Figure): string[] {
  return [...readingProblems(fig), ...designProblems(fig)];
}

/** The part of figureProblems that makes a figure unreadable: rendering refuses these. */
export function readingProblems(fig: Figure): string[] {
  const out: string[] = [];
  const title = (fig.layout.title as { text?: string } | undefined)?.text;
  if (!title?.trim()) out.push('no title');
  for (const axis of Object.keys(fig.layout).filter((k) => /^[xy]axis\d*$/.test(k)).concat(['xaxis', 'yaxis']).filter((k, i, all) => all.indexOf(k) === i).sort()) {
    if (!axisTitle(fig.layout, axis)) out.push(`${axis[0]} axis${axis.length > 5 ? ` ${axis.slice(5)}` : ''} has no title`);
  }
  if (fig.data.length === 0) out.push('no data');
  for (const t of fig.data) {
    if (t.type === 'heatmap') {
      const axis = typeof t.coloraxis === 'string' ? (fig.layout[t.coloraxis] as { colorbar?: { title?: { text?: string } } } | undefined) : undefined;
      if (!((t.colorbar as { title?: { text?: string } } | undefined)?.title?.text ?? axis?.colorbar?.title?.text)) out.push('heatmap has no colour-bar title');
    } else if (!(typeof t.name === 'string' && t.name.trim())) out.push(`a ${String(t.type)} trace has no legend name`);
  }
  if (fig.layout.showlegend !== true && fig.data.some((t) => t.type !== 'heatmap')) out.push('legend hidden');
  return out;
}

/** The part of figureProblems about the comparison a figure serves: it misleads or crowds, but can be drawn. */
function designProblems(fig: Figure): string[] {
  const out: string[] = [];
  for (const t of fig.data.filter((x) => x.type === 'heatmap')) {
    const { abs, extent } = heatmapRange(fig, t);
    const p95 = quantile(abs, 0.95);
    if (abs.length >= 10 && p95 > 0 && extent > OUTLIER_RANGE * p95) {
      out.push(`colour range ±${Number(extent.toPrecision(3))} is set by an outlier (95 % of |values| are within ${Number(p95.toPrecision(3))}): clip it`);
    }
  }
  const bars = fig.data.filter((t) => t.type === 'bar').reduce((n, t) => n + ((t.orientation === 'h' ? t.x : t.y) as unknown[] | undefined ?? []).length, 0);
  if (bars > MAX_BARS) out.push(`${bars} bars in one chart (more than ${MAX_BARS}): show differences, or fewer series`);
  const translucent = fig.data.filter((t) => t.type === 'histogram' && typeof t.opacity === 'number' && t.opacity < 1).length;
  if (translucent > MAX_TRANSLUCENT_HISTOGRAMS) out.push(`${translucent} translucent histograms drawn over each other: use an ECDF`);
  const width = typeof fig.layout.width === 'number' ? fig.layout.width : 860;
  const height = typeof fig.layout.height === 'number' ? fig.layout.height : 480;
  for (const axis of Object.keys(fig.layout).filter((k) => /^[xy]axis\d*$/.test(k))) {
    const a = fig.layout[axis] as { type?: string; dtick?: unknown; tickvals?: unknown; domain?: [number, number] };
    if (a.type !== 'log' || a.tickvals !== undefined) continue;
    const coord = axis[0] as 'x' | 'y';
    const xs = logValues(fig, coord, `${coord}${axis.slice(5)}`);
    if (xs.length < 2) continue;
    const px = (coord === 'x' ? width - 110 : height - 150) * (a.domain ? a.domain[1] - a.domain[0] : 1);
    const n = logTickLabels(Math.min(...xs), Math.max(...xs), px, coord, a.dtick);
    if (crowded(n, px)) out.push(`log ${axis} writes about ${n} tick labels: set its ticks (dtick 'D2' or 1, or tickvals)`);
  }
  return out;
}
