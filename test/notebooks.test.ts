/**
 * The committed notebooks: they import only the public API, were executed top to bottom without an error,
 * and carry their figures as static images; notebook 7 shows the paper's tables exactly as transcribed.
 * The figures the library draws name their axes and legends, and do so once drawn in a real browser.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './helpers/shared';
import { figureProblems, barChart, heatmap, lineChart, histogramChart, type Figure } from '../lib/figures/figures';
import { table2Figure, table3Figure, table4DeltaFigure, table5Figure, paperCostFigure } from '../lib/paper/figures';
import { closeRenderer, findChromium, inspectPage, writeFigures } from '../lib/figures/render';
import { htmlTable } from '../lib/figures/display';
import { errorOutputs, pngOutputs } from '../notebooks/tools/run';
import { proseNumberProblems } from '../lib/figures/prose';
import { tmpDir } from './helpers/tmp';

const NOTEBOOKS = path.join(PROJECT_ROOT, 'notebooks');
const EXPECTED = [
  '01-late-interaction.ipynb',
  '02-unsupervised.ipynb',
  '03-supervised.ipynb',
  '04-distillation.ipynb',
  '05-pipelines.ipynb',
  '06-prompts-and-length.ipynb',
  '07-paper-tables.ipynb',
  '08-your-checkpoint.ipynb',
];

interface Output {
  output_type: string;
  data?: Record<string, string | string[]>;
  text?: string | string[];
}
interface Cell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: Output[];
}
interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: { name?: string }; colbert_zero?: { preset?: string } };
}

const joined = (x: string | string[] | undefined) => (Array.isArray(x) ? x.join('') : (x ?? ''));
const committed = () => fs.readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();
const load = (name: string) => JSON.parse(fs.readFileSync(path.join(NOTEBOOKS, name), 'utf8')) as Notebook;

/** Every module a cell's code names: static imports, `export … from`, dynamic import() and require(). */
export function importedModules(code: string): string[] {
  const out: string[] = [];
  for (const re of [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g, /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g]) {
    for (const m of code.matchAll(re)) out.push(m[1]);
  }
  // A computed module name cannot be checked: count it as a violation.
  if (/\b(?:require|import)\s*\(\s*[^'"`\s)]/.test(code)) out.push('<computed>');
  return out;
}

test('the notebooks are the eight the workbook promises, in reading order', () => {
  assert.deepEqual(committed(), EXPECTED);
});

test('the import check sees every way to load a module', () => {
  assert.deepEqual(importedModules("import { a } from './lib/index';\nimport * as tf from '@tensorflow/tfjs';"), ['./lib/index', '@tensorflow/tfjs']);
  assert.deepEqual(importedModules("const fs = require('node:fs'); await import(\"./lib/models/load\");"), ['./lib/models/load', 'node:fs']);
  assert.deepEqual(importedModules("import './lib/x';"), ['./lib/x']);
  assert.deepEqual(importedModules('const m = require(name);'), ['<computed>']);
});

for (const name of committed()) {
  test(`${name}: imports only ./lib/index, runs on the colbert-zero kernel, has its preset variable`, () => {
    const nb = load(name);
    assert.equal(nb.metadata.kernelspec?.name, 'colbert-zero');
    const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => joined(c.source));
    const bad = code.flatMap(importedModules).filter((m) => m !== './lib/index');
    assert.deepEqual(bad, [], `${name} imports something other than ./lib/index`);
    assert.match(code[0], /const PRESET = process\.env\.CZ_NOTEBOOK_PRESET \?\? 'smoke'/, `${name}: the first code cell sets PRESET`);
  });

  test(`${name}: committed executed, top to bottom, with no error and static figures`, () => {
    const nb = load(name);
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    // nbclient records when each cell ran; the runner numbers the cells once all ran without an error.
    const ran = code.map((c) => (c as { metadata?: { execution?: Record<string, string> } }).metadata?.execution?.['iopub.status.idle']);
    assert.ok(ran.every((t) => typeof t === 'string'), `${name}: a code cell was not executed`);
    assert.deepEqual(ran, [...(ran as string[])].sort(), `${name}: cells were not executed top to bottom`);
    assert.deepEqual(code.map((c) => c.execution_count), code.map((_, i) => i + 1), `${name}: execution counts`);
    assert.deepEqual(errorOutputs(nb as never), []);
    for (const c of code) {
      for (const o of c.outputs ?? []) {
        const png = o.data?.['image/png'];
        if (png) assert.equal(Buffer.from(joined(png), 'base64').subarray(0, 8).toString('hex'), '89504e470d0a1a0a', `${name}: an image/png output is not a PNG`);
        // Code hosts do not run scripts: a figure must be an image, not HTML/JS. Plotly JSON (interactive
        // in JupyterLab) may come only beside a PNG of the same figure, in the same output (`show`).
        assert.ok(!o.data?.['application/vnd.plotly.v1+json'] || o.data?.['image/png'], `${name}: a plotly figure without its PNG`);
        assert.ok(!/<script/i.test(joined(o.data?.['text/html'])), `${name}: an output needs JavaScript to show`);
      }
    }
    assert.ok(fs.statSync(path.join(NOTEBOOKS, name)).size < 2_000_000, `${name} is over 2 MB`);
  });

  test(`${name}: committed as the demo preset ran it, ending with exercises`, () => {
    const nb = load(name);
    assert.equal(nb.metadata.colbert_zero?.preset, 'demo', `${name}: rebuild it with npm run notebooks -- --preset demo --update`);
    const markdown = nb.cells.filter((c) => c.cell_type === 'markdown').map((c) => joined(c.source));
    assert.ok(markdown.some((m) => /^#+ .*(exercise|try next)/im.test(m)), `${name}: no "Exercises" / "Try next" section`);
  });

  test(`${name}: every number its prose quotes was produced by a cell or is marked as the paper's`, () => {
    const problems = proseNumberProblems(load(name) as never);
    assert.deepEqual(problems.map((p) => `cell ${p.cell}: ${p.number} in "${p.context}"`), []);
  });
}

/** The rows of every HTML table output whose title starts with `title`. */
function htmlTables(nb: Notebook): Array<{ title: string; header: string[]; rows: string[][] }> {
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const cells = (tr: string, tag: string) => [...tr.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => unescape(m[1]));
  const out: Array<{ title: string; header: string[]; rows: string[][] }> = [];
  for (const c of nb.cells) {
    for (const o of c.outputs ?? []) {
      const html = joined(o.data?.['text/html']);
      if (!html.includes('<table>')) continue;
      const title = unescape(/<p><b>([\s\S]*?)<\/b><\/p>/.exec(html)?.[1] ?? '');
      const trs = [...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]);
      out.push({ title, header: cells(trs[0] ?? '', 'th'), rows: trs.slice(1).map((tr) => cells(tr, 'td')) });
    }
  }
  return out;
}

test('the HTML table reader reads what showTable writes', () => {
  const html = htmlTable([{ row: 'a <b>', 'x&y': '1.50' }, { row: 'c', 'x&y': '–' }], 'Table 9: t');
  const got = htmlTables({ cells: [{ cell_type: 'code', source: '', outputs: [{ output_type: 'display_data', data: { 'text/html': html } }] }], metadata: {} });
  assert.deepEqual(got, [{ title: 'Table 9: t', header: ['row', 'x&y'], rows: [['a <b>', '1.50'], ['c', '–']] }]);
});

/** results/paper/<file> read as plain JSON: what notebook 7 must show, with none of the code that printed it. */
const paperJson = <T>(file: string): T => JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'results', 'paper', file), 'utf8')) as T;
interface PaperTableJson {
  caption: string;
  columns: Array<{ label: string; kind?: string }>;
  rows: Array<{ id: string; group?: string; label: string; cells: string[] }>;
}
const NB7 = fs.existsSync(path.join(NOTEBOOKS, '07-paper-tables.ipynb')) ? false : 'notebook 7 not committed';

test('notebook 7 prints every table of the paper cell for cell as results/paper/ holds it', { skip: NB7 }, () => {
  const tables = htmlTables(load('07-paper-tables.ipynb'));
  for (const n of [1, 2, 3, 4, 5]) {
    const t = paperJson<PaperTableJson>(`table-${n}.json`);
    const shown = tables.filter((x) => x.title.startsWith(`Table ${n}:`));
    assert.equal(shown.length, 1, `notebook 7 shows Table ${n} once`);
    assert.equal(shown[0].title, `Table ${n}: ${t.caption}`);
    assert.deepEqual(shown[0].header, ['row', ...t.columns.map((c) => c.label)], `Table ${n}: columns`);
    // A row is named by its group and label (Table 1 has no groups), then its printed cells unchanged.
    assert.deepEqual(shown[0].rows, t.rows.map((r) => [r.group ? `${r.group} — ${r.label}` : r.label, ...r.cells]), `Table ${n}: cells`);
  }
});

test("notebook 7's derived tables and claim verdicts are what results/paper/ gives, recomputed here", { skip: NB7 }, () => {
  const nb = load('07-paper-tables.ipynb');
  const tables = htmlTables(nb);
  const close = (printed: string, v: number, what: string) => assert.ok(Math.abs(Number(printed.replace(/ %$/, '')) - v) <= 0.005 + 1e-9, `${what}: printed ${printed}, recomputed ${v}`);
  // Table 2 ranked by its Avg column, each row's datasets above ColBERT-Zero's and its gap to it.
  const t2 = paperJson<PaperTableJson>('table-2.json');
  const avgAt = t2.columns.findIndex((c) => c.label === 'Avg');
  const datasetCols = t2.columns.flatMap((c, k) => (c.kind === 'dataset' ? [k] : []));
  const zero = t2.rows.find((r) => r.id === 'colbert-zero-full-pre-training/distilled')!;
  const ranked = [...t2.rows].sort((a, b) => Number(b.cells[avgAt]) - Number(a.cells[avgAt]));
  const shown = tables.find((x) => x.title === 'Table 2 ranked by average (a data frame)')!;
  assert.deepEqual(shown.rows.map((r) => r[0]), ranked.map((r) => `${r.group} — ${r.label}`), 'ranked by Avg');
  ranked.forEach((r, i) => {
    const [, avg, above, delta] = shown.rows[i];
    close(avg, Number(r.cells[avgAt]), `${r.id} avg`);
    assert.equal(Number(above), datasetCols.filter((k) => Number(r.cells[k]) > Number(zero.cells[k])).length, `${r.id}: datasets above ColBERT-Zero`);
    close(delta, Number(r.cells[avgAt]) - Number(zero.cells[avgAt]), `${r.id} Δ`);
  });
  // Each pipeline's final model (Table 2) against the GPU hours of its phases (Table 1).
  const t1 = paperJson<PaperTableJson>('table-1.json');
  const hours = (id: string) => Number(t1.rows.find((r) => r.id === id)!.cells[t1.columns.findIndex((c) => c.label === 'GPU hours')]);
  const avgOf = (id: string) => Number(t2.rows.find((r) => r.id === id)!.cells[avgAt]);
  const pipelines = [
    ['(a) KD-only', avgOf('kd-from-dense-supervised/embed-base-distilled'), hours('kd')],
    ['(b) supervised + KD', avgOf('supervised-plus-kd-from-dense-unsupervised/embed-base-distilled'), hours('supervised') + hours('kd')],
    ['(c) ColBERT-Zero', avgOf('colbert-zero-full-pre-training/distilled'), hours('unsupervised') + hours('supervised') + hours('kd')],
  ] as const;
  const costs = tables.find((x) => x.title === 'Each pipeline: score and cost')!;
  assert.deepEqual(costs.rows.map((r) => r[0]), pipelines.map((p) => p[0]));
  pipelines.forEach(([name, avg, h], i) => {
    const [, a, g, scoreShare, costShare] = costs.rows[i];
    close(a, avg, `${name} avg`);
    assert.equal(Number(g), h, `${name} GPU-hours`);
    // shares are printed with one decimal
    assert.ok(Math.abs(Number(scoreShare.replace(/ %$/, '')) - (100 * avg) / pipelines[2][1]) <= 0.05 + 1e-9, `${name}: ${scoreShare}`);
    assert.ok(Math.abs(Number(costShare.replace(/ %$/, '')) - (100 * h) / pipelines[2][2]) <= 0.05 + 1e-9, `${name}: ${costShare}`);
  });
  // Every claim printed with the verdict and the recomputed checks that claims.json records.
  const printed = nb.cells.flatMap((c) => (c.outputs ?? []).map((o) => joined(o.text))).join('');
  const claims = paperJson<{ claims: Array<{ claim: string; verdict: string; checks: Array<{ label: string; recomputed: number; pass: boolean }> }> }>('claims.json').claims;
  const mark: Record<string, string> = { supported: 'PASS   ', 'partly supported': 'PARTLY ', contradicted: 'FAIL   ' };
  for (const c of claims) {
    const at = printed.indexOf(`${mark[c.verdict]} ${c.claim}\n`);
    assert.ok(at >= 0, `notebook 7 prints "${c.claim}" as ${c.verdict}`);
    const detail = printed.slice(at).split('\n')[1];
    for (const k of c.checks) assert.ok(detail.includes(`${k.label}: ${k.recomputed} ${k.pass ? 'pass' : 'FAIL'}`), `${c.claim}: ${k.label}`);
  }
  const count = (v: string) => claims.filter((c) => c.verdict === v).length;
  assert.ok(printed.includes(`${claims.length} claims: ${count('supported')} supported, ${count('partly supported')} partly supported, ${count('contradicted')} contradicted`));
});

const paperFigures: Array<[string, () => Figure]> = [
  ['table-2', table2Figure],
  ['table-3', table3Figure],
  ['table-4', table4DeltaFigure],
  ['table-5', table5Figure],
  ['cost', paperCostFigure],
];

test("the paper's figures have titles, axis titles and legends", () => {
  for (const [name, make] of paperFigures) assert.deepEqual(figureProblems(make()), [], name);
});

test('figureProblems catches a figure a reader could not name', () => {
  const ok = barChart({ title: 't', x: 'x', y: 'y', categories: ['a'], series: [{ name: 's', values: [1] }] });
  assert.deepEqual(figureProblems(ok), []);
  assert.deepEqual(figureProblems({ ...ok, layout: { ...ok.layout, title: { text: ' ' } } }), ['no title']);
  assert.deepEqual(figureProblems({ ...ok, layout: { ...ok.layout, xaxis: {} } }), ['x axis has no title']);
  assert.deepEqual(figureProblems({ ...ok, data: [{ type: 'bar', name: '' }] }), ['a bar trace has no legend name']);
  assert.deepEqual(figureProblems({ ...ok, layout: { ...ok.layout, showlegend: false } }), ['legend hidden']);
  const hm = heatmap({ title: 't', x: 'x', y: 'y', xs: ['a'], ys: ['b'], z: [[1]], colorbar: '' });
  assert.deepEqual(figureProblems(hm), ['heatmap has no colour-bar title']);
  assert.throws(() => barChart({ title: 't', x: 'x', y: 'y', categories: ['a', 'b'], series: [{ name: 's', values: [1] }] }), /1 values for 2 categories/);
  assert.deepEqual(figureProblems(lineChart({ title: 't', x: 'x', y: 'y', series: [{ name: 's', x: [1], y: [2] }] })), []);
  assert.deepEqual(figureProblems(histogramChart({ title: 't', x: 'x', y: 'y', series: [{ name: 's', values: [1, 2] }] })), []);
});

test('drawn in headless Chromium, each figure shows its title, axis titles, legend and data', { skip: findChromium() ? false : 'no Chromium (install Debian\'s chromium or set CZ_CHROMIUM)', timeout: 180_000 }, async () => {
  const dir = tmpDir('fig');
  try {
    const figs = paperFigures.map(([name, make]) => ({ name, figure: make() }));
    const { files, png } = await writeFigures(dir, figs);
    assert.ok(png, 'PNG files were written');
    assert.equal(files.filter((f) => f.endsWith('plotly.min.js')).length, 1, 'one shared plotly bundle');
    for (const { name, figure } of figs) {
      const html = fs.readFileSync(path.join(dir, `${name}.html`), 'utf8');
      assert.match(html, /<script src="plotly\.min\.js"><\/script>/);
      assert.ok(html.length < 100_000, `${name}.html holds no copy of plotly`);
      assert.equal(fs.readFileSync(path.join(dir, `${name}.png`)).subarray(0, 8).toString('hex'), '89504e470d0a1a0a');
      const seen = await inspectPage(path.join(dir, `${name}.html`));
      assert.ok(seen);
      assert.equal(seen.plots.length, 1, name);
      const p = seen.plots[0];
      assert.equal(p.title, (figure.layout.title as { text: string }).text);
      assert.equal(p.xTitle, (figure.layout.xaxis as { title: { text: string } }).title.text);
      assert.equal(p.yTitle, (figure.layout.yaxis as { title: { text: string } }).title.text);
      const named = figure.data.filter((t) => t.type !== 'heatmap' && t.showlegend !== false).map((t) => t.name);
      assert.deepEqual(p.legend, named, `${name}: legend`);
      if (figure.data.some((t) => t.type === 'heatmap')) assert.ok(p.colorbar.length > 0, `${name}: colour bar title`);
      assert.ok(p.traces >= figure.data.length, `${name}: ${p.traces} traces drawn for ${figure.data.length}`);
    }
  } finally {
    await closeRenderer();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pngOutputs counts the figures of a notebook', () => {
  assert.equal(pngOutputs({ cells: [{ outputs: [{ data: { 'image/png': 'x' } }, { data: { 'text/plain': 'y' } }] }, { outputs: [{ data: { 'image/png': 'z' } }] }] }), 2);
});
