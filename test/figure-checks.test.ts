/**
 * Figures drawn for the comparison they serve: figureProblems' design checks (a colour range set by one
 * outlier, too many bars, overlapping translucent histograms, a crowded log axis), each with a figure that
 * trips it and one that does not; the paper's redrawn figures; a run's differences with confidence
 * intervals beside the paper's; and `show` writing one output with both plotly JSON and a PNG.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barChart, dotPlot, ecdfChart, figureProblems, heatmap, histogramChart, lineChart, type Figure } from '../lib/figures/figures';
import { show } from '../lib/figures/display';
import { closeRenderer, findChromium } from '../lib/figures/render';
import { table2Figure, table3Figure, table4DeltaFigure } from '../lib/paper/figures';
import { beirRows } from '../lib/paper/tables';
import { differenceInterval, pairedTTest } from '../lib/report/significance';
import { groupSettings } from '../lib/report/tables';
import { differencesFigure, differencesFromBaseline } from '../lib/report/compare';
import { mainSet } from './helpers/report';

const has = (fig: Figure, re: RegExp) => figureProblems(fig).some((p) => re.test(p));

test('a colour range set by one outlier is flagged; a clipped one, or an even spread, is not', () => {
  const z = Array.from({ length: 6 }, (_, i) => Array.from({ length: 5 }, (_, j) => ((i * 5 + j) % 7) / 3 - 1));
  const spiky = z.map((r) => [...r]);
  spiky[2][3] = -14;
  const base = { title: 't', x: 'x', y: 'y', xs: ['a', 'b', 'c', 'd', 'e'], ys: ['1', '2', '3', '4', '5', '6'], colorbar: 'Δ', diverging: true };
  const unclipped = heatmap({ ...base, z: spiky, clip: 14 });
  assert.ok(has(unclipped, /set by an outlier/), figureProblems(unclipped).join('; '));
  assert.deepEqual(figureProblems(heatmap({ ...base, z: spiky, clip: 2 })), []);
  assert.deepEqual(figureProblems(heatmap({ ...base, z })), []);
  // Left to choose, the builder clips at 3× the 95th percentile and says so on the colour bar.
  const auto = heatmap({ ...base, z: spiky, annotate: 2 });
  assert.deepEqual(figureProblems(auto), []);
  assert.match(JSON.stringify(auto.layout.coloraxis), /clipped at ±/);
  assert.equal((auto.data[0].text as string[][])[2][3], '-14.00');
});

test('more than 40 bars in one chart are flagged', () => {
  const cats = Array.from({ length: 14 }, (_, i) => `d${i}`);
  const series = (n: number) => Array.from({ length: n }, (_, k) => ({ name: `s${k}`, values: cats.map((_, i) => i + k) }));
  assert.ok(has(barChart({ title: 't', x: 'x', y: 'y', categories: cats, series: series(3) }), /42 bars/));
  assert.deepEqual(figureProblems(barChart({ title: 't', x: 'x', y: 'y', categories: cats, series: series(2) })), []);
});

test('more than 2 translucent histograms over each other are flagged; an ECDF of as many is not', () => {
  const series = [0, 1, 2].map((k) => ({ name: `s${k}`, values: [k, k + 1, k + 1, k + 2] }));
  assert.ok(has(histogramChart({ title: 't', x: 'x', y: 'y', series }), /3 translucent histograms/));
  assert.deepEqual(figureProblems(histogramChart({ title: 't', x: 'x', y: 'y', series: series.slice(0, 2) })), []);
  const ecdf = ecdfChart({ title: 't', x: 'score', y: 'fraction ≤ score', series });
  assert.deepEqual(figureProblems(ecdf), []);
  assert.deepEqual(ecdf.data[0].y, [0.25, 0.5, 0.75, 1]);
  assert.equal(ecdf.data[0].name, 's0 (n = 4)');
});

test('a log axis whose automatic ticks would label every digit is flagged; lineChart sets readable ticks', () => {
  const fig = lineChart({ title: 't', x: 'GPU-hours', y: 'nDCG', logX: true, series: [{ name: 's', x: [8, 40, 408], y: [54, 55, 55.4] }] });
  assert.equal((fig.layout.xaxis as { dtick?: unknown }).dtick, 'D2');
  assert.deepEqual(figureProblems(fig), []);
  delete (fig.layout.xaxis as { dtick?: unknown }).dtick;
  assert.ok(has(fig, /log xaxis writes about \d+ tick labels/));
  // Six decades: plotly would label 1, 2 and 5 of each; decades only are readable.
  const wide = lineChart({ title: 't', x: 'x', y: 'y', logX: true, series: [{ name: 's', x: [1, 1e6], y: [1, 2] }] });
  assert.equal((wide.layout.xaxis as { dtick?: unknown }).dtick, 1);
  assert.deepEqual(figureProblems(wide), []);
  // A few labels over a wide axis are left as plotly writes them.
  assert.equal((lineChart({ title: 't', x: 'x', y: 'y', logX: true, series: [{ name: 's', x: [1, 1e9], y: [1, 2] }] }).layout.xaxis as { dtick?: unknown }).dtick, undefined);
});

test('dotPlot: panels side by side sharing the rows, each x axis titled; an untitled second axis is caught', () => {
  const fig = dotPlot({ title: 't', y: 'model', rows: ['a', 'b'], panels: [{ x: 'run', series: [{ name: 'avg', values: [1, 2], low: [0, 1], high: [2, 3], emphasis: true }] }, { x: 'paper', series: [{ name: 'avg', values: [0.1, 0.2] }] }] });
  assert.deepEqual(figureProblems(fig), []);
  assert.deepEqual((fig.data[0].error_x as { array: number[]; arrayminus: number[] }).array, [1, 1]);
  assert.equal(fig.data[1].xaxis, 'x2');
  (fig.layout.xaxis2 as { title: { text: string } }).title.text = '';
  assert.deepEqual(figureProblems(fig), ['x axis 2 has no title']);
});

test("the paper's redrawn figures: Table 2 as differences from ColBERT-Zero (all 10 rows), Table 3, Table 4 clipped with the average apart", () => {
  const t2 = table2Figure();
  assert.deepEqual(figureProblems(t2), []);
  const avg = t2.data.find((t) => t.name === 'BEIR average (Avg)')!;
  assert.equal((avg.y as string[]).length, beirRows(2).length);
  assert.equal((avg.y as string[]).length, 10);
  // (b) distilled is 0.31 below ColBERT-Zero (55.12 vs 55.43), (a) 1.34 (54.09).
  const at = (label: RegExp) => (avg.x as number[])[(avg.y as string[]).findIndex((l) => label.test(l))];
  assert.equal(at(/^\(b\).*distilled/), -0.31);
  assert.equal(at(/^\(a\)/), -1.34);
  assert.ok(!t2.data.some((t) => t.type === 'bar'));

  const t3 = table3Figure();
  assert.deepEqual(figureProblems(t3), []);
  assert.deepEqual(t3.data.map((t) => t.y), [[54.44, 55.12], [54.17, 55.43], [54.61, 54.18]]);

  const t4 = table4DeltaFigure();
  assert.deepEqual(figureProblems(t4), []);
  assert.deepEqual(t4.data.map((t) => [t.type, (t.x as string[]).length]), [['heatmap', 1], ['heatmap', 15]]);
  const colours = t4.layout.coloraxis as { cmin: number; cmax: number };
  assert.deepEqual([colours.cmin, colours.cmax], [-3, 3]);
  assert.ok((t4.data[1].text as string[][]).flat().includes('-14.13'), 'the outlier is written in its cell');
});

test('differenceInterval: the t-test\'s interval, excluding 0 exactly when the test rejects at 5 %', () => {
  const a = [0.5, 0.6, 0.7, 0.4, 0.65, 0.55, 0.8, 0.45];
  const b = [0.45, 0.5, 0.72, 0.3, 0.6, 0.5, 0.7, 0.47];
  const ci = differenceInterval([{ a, b }]);
  const t = pairedTTest(a, b);
  assert.ok(Math.abs(ci.difference - 0.05125) < 1e-12);
  // D ± t₀.₉₇₅(7) · se, se = D / t (scipy.stats.t.ppf(0.975, 7) = 2.3646242510102993).
  const half = (ci.high - ci.low) / 2;
  assert.ok(Math.abs(half - 2.3646242510102993 * (ci.difference / t.statistic)) < 1e-9, `half-width ${half}`);
  assert.equal(ci.low > 0, t.pValue < 0.05);
});

test("differencesFromBaseline / differencesFigure: each pipeline's difference from (a) with its CI, beside the paper's Table 2 differences", () => {
  const settings = groupSettings(mainSet()).get('smoke')!;
  const d = differencesFromBaseline(settings, 'a-distilled');
  assert.deepEqual(d.rows.map((r) => r.label), ['b-distilled', 'c-distilled']);
  const c = d.rows[1];
  assert.ok(c.avg && c.avg.low > 0, 'c is clearly better: its interval is above 0');
  // The paper: (b) 55.12 − (a) 54.09 = 1.03, (c) 55.43 − 54.09 = 1.34.
  assert.deepEqual(d.rows.map((r) => r.paperAvg), [1.03, 1.34]);
  const fig = differencesFigure(d);
  assert.deepEqual(figureProblems(fig), []);
  assert.deepEqual(Object.keys(fig.layout).filter((k) => /^xaxis/.test(k)).sort(), ['xaxis', 'xaxis2']);
  assert.throws(() => differencesFromBaseline(settings, 'nope'), /baseline "nope"/);
});

test('show writes one display output holding the plotly JSON and the PNG', { skip: findChromium() ? false : 'no Chromium (set CZ_CHROMIUM)' }, async () => {
  const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };
  const sent: Array<{ data: Record<string, unknown> }> = [];
  jupyter.lastWriteDisplayData = (msg: { data: Record<string, unknown> }) => sent.push(msg);
  try {
    await show(barChart({ title: 'two bars', x: 'x', y: 'y', categories: ['a', 'b'], series: [{ name: 's', values: [1, Number.NaN] }] }));
  } finally {
    jupyter.lastWriteDisplayData = null;
    await closeRenderer();
  }
  assert.equal(sent.length, 1);
  const data = sent[0].data;
  assert.deepEqual(Object.keys(data).sort(), ['application/vnd.plotly.v1+json', 'image/png', 'text/plain']);
  const plotly = data['application/vnd.plotly.v1+json'] as { data: Array<{ y: unknown[] }>; layout: { title: { text: string } } };
  assert.equal(plotly.layout.title.text, 'two bars');
  assert.deepEqual(plotly.data[0].y, [1, null]);
  assert.equal(Buffer.from(data['image/png'] as string, 'base64').subarray(0, 8).toString('hex'), '89504e470d0a1a0a');
});
