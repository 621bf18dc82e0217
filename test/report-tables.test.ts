/**
 * Tables from made-up but consistent result sets: averages, the paper's rounding, significance marks
 * against a baseline with the correction over the table, ablation deltas, and the spread over seeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ablationSummary,
  ablationTable,
  defaultBaseline,
  formatAblationSummary,
  formatAblationTable,
  formatMainTable,
  formatSeedTable,
  groupSettings,
  mainTable,
  percent,
  percentDelta,
  resolveOptions,
  seedTable,
} from '../lib/report/tables';
import { correct, pairedTTest } from '../lib/report/significance';
import { baseValues, better, DATASETS, mainSet, makeResult, worse } from './helpers/report';

const settingsOf = (rs: ReturnType<typeof mainSet>) => groupSettings(rs).get('smoke')!;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

test('percent: × 100, two decimals, halves away from zero despite binary fractions', () => {
  assert.equal(percent(0.54325), '54.33'); // 0.54325 × 10000 is 5432.499999… in binary
  assert.equal(percent(0.12345), '12.35');
  assert.equal(percent(0.123449), '12.34');
  assert.equal(percent(0.5), '50.00');
  assert.equal(percent(-0.00675, true), '−0.68');
  assert.equal(percent(0.0068, true), '+0.68');
  assert.equal(percent(0, true), '+0.00');
  assert.equal(percent(null), '–');
});

test('Table 2: rows in pipeline order, per-dataset values and Avg; marks against the baseline after Holm', () => {
  const settings = settingsOf(mainSet());
  assert.equal(defaultBaseline(settings), 'a-distilled');
  const t = mainTable(settings, 'a-distilled');
  assert.deepEqual(t.columns, ['alpha', 'beta']);
  assert.deepEqual(t.rows.map((r) => r.label), ['base', 'a-distilled', 'b-distilled', 'c-distilled']);
  const a = t.rows.find((r) => r.label === 'a-distilled')!;
  const wantAlpha = mean(baseValues('alpha', DATASETS.alpha));
  const wantBeta = mean(baseValues('beta', DATASETS.beta));
  assert.ok(Math.abs(a.cells[0].value! - wantAlpha) < 1e-12);
  assert.ok(Math.abs(a.avg.value! - (wantAlpha + wantBeta) / 2) < 1e-12);
  assert.equal(a.baseline, true);
  assert.equal(a.cells[0].comparison, undefined);
  // 3 rows × (2 datasets + Avg) comparisons in one family.
  assert.equal(t.comparisons, 9);
  const c = t.rows.find((r) => r.label === 'c-distilled')!;
  const b = t.rows.find((r) => r.label === 'b-distilled')!;
  const base = t.rows.find((r) => r.label === 'base')!;
  for (const cell of [...c.cells, c.avg]) assert.equal(cell.comparison!.outcome, 'better');
  for (const cell of [...base.cells, base.avg]) assert.equal(cell.comparison!.outcome, 'worse');
  for (const cell of [...b.cells, b.avg]) assert.equal(cell.comparison!.outcome, 'not significant');
  // The per-cell p-value is the paired t-test on that dataset's queries; the adjusted one is Holm over the family.
  const aAlpha = baseValues('alpha', DATASETS.alpha);
  const cAlpha = aAlpha.map((v, q) => better('alpha', q, v));
  const direct = pairedTTest(cAlpha, aAlpha).pValue;
  assert.ok(Math.abs(c.cells[0].comparison!.pValue - direct) <= 1e-9 * direct, `${c.cells[0].comparison!.pValue} vs ${direct}`);
  const all = t.rows.filter((r) => !r.baseline).flatMap((r) => [...r.cells, r.avg].map((x) => x.comparison!));
  const holm = correct(all.map((x) => x.pValue), 'holm');
  all.forEach((x, i) => assert.equal(x.pAdjusted, holm.adjusted[i]));

  const md = formatMainTable(t, resolveOptions());
  const lines = md.split('\n');
  assert.equal(lines[0], '| Model | Avg | alpha | beta |');
  assert.ok(lines.includes(`| a-distilled (baseline) | ${percent((wantAlpha + wantBeta) / 2)} | ${percent(wantAlpha)} | ${percent(wantBeta)} |`), md);
  assert.match(md, /\| c-distilled \| [\d.]+ ▲ \| [\d.]+ ▲ \| [\d.]+ ▲ \|/);
  assert.match(md, /\| base \| [\d.]+ ▼ \|/);
  assert.match(md, /\| b-distilled \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/);
  assert.match(md, /\*KD from dense supervised \(a, KD-only\)\*/);
  // The legend names the test, the correction, alpha, the number of comparisons and of queries.
  assert.match(md, /paired two-sided t-test over queries; Holm–Bonferroni \(holm\) correction over the 9 comparisons of this table; α = 0\.05/);
  assert.match(md, /Queries per dataset: alpha 40, beta 30\./);
});

test('Table 2: a row missing a dataset has no Avg; no baseline means no marks; an unknown baseline is an error', () => {
  const rs = [...mainSet(), makeResult({ id: 'bm25', pipeline: 'bm25', datasets: { alpha: 40 }, shift: worse })];
  const t = mainTable(settingsOf(rs), null);
  const bm25 = t.rows.find((r) => r.label === 'bm25')!;
  assert.equal(bm25.avg.value, null);
  assert.equal(bm25.cells[1].value, null);
  assert.equal(t.comparisons, 0);
  const md = formatMainTable(t, resolveOptions());
  assert.match(md, /\| bm25 \| – \| [\d.]+ \| – \|/);
  assert.match(md, /No baseline: no significance marks/);
  assert.throws(() => mainTable(settingsOf(rs), 'nope'), /baseline "nope" is not a row of the table/);
});

test('Table 2 with the randomization test and Bonferroni: the same verdicts, named in the legend', () => {
  const t = mainTable(settingsOf(mainSet()), 'a-distilled', { test: 'randomization', correction: 'bonferroni', permutations: 2000, seed: 3 });
  const c = t.rows.find((r) => r.label === 'c-distilled')!;
  assert.equal(c.avg.comparison!.outcome, 'better');
  assert.equal(c.avg.comparison!.pValue, 1 / 2001);
  assert.equal(c.avg.comparison!.pAdjusted, 9 / 2001);
  const md = formatMainTable(t, resolveOptions({ test: 'randomization', correction: 'bonferroni', permutations: 2000, seed: 3 }));
  assert.match(md, /randomization test over queries \(sign flips; exact when 2\^n ≤ 2000, else 2000 random flips, seed 3\); Bonferroni \(bonferroni\) correction/);
});

test('seeds: cells average the seeds; the seed table shows mean ± sample sd over n seeds', () => {
  const rs = [
    makeResult({ id: 'a-distilled', pipeline: 'a', phase: 'distillation' }),
    ...[1, 2, 3].map((seed) => makeResult({ id: `c-s${seed}`, label: 'c-distilled', pipeline: 'c', phase: 'distillation', seed, shift: (d, q, v) => better(d, q, v) + 0.01 * seed })),
  ];
  const settings = settingsOf(rs);
  const t = mainTable(settings, 'a-distilled');
  const c = t.rows.find((r) => r.label === 'c-distilled')!;
  assert.deepEqual(c.seeds, [1, 2, 3]);
  const seedAvg = (seed: number) => mean(['alpha', 'beta'].map((d) => mean(baseValues(d, DATASETS[d]).map((v, q) => better(d, q, v) + 0.01 * seed))));
  const avgs = [1, 2, 3].map(seedAvg);
  assert.ok(Math.abs(c.avg.value! - mean(avgs)) < 1e-12);
  // seeds shift by 0.01 each: the sample sd of the three averages is exactly 0.01
  assert.ok(Math.abs(c.avg.sd! - 0.01) < 1e-12);
  const s = seedTable(settings)!;
  assert.equal(s.rows.length, 1);
  assert.equal(s.rows[0].label, 'c-distilled');
  const md = formatSeedTable(s);
  assert.match(md, new RegExp(`\\| c-distilled \\| 3 \\| ${percent(mean(avgs))} ± 1\\.00 \\|`));
  assert.match(md, /mean ± sample standard deviation over n seeds \(seeds 1, 2, 3\)/);
  assert.equal(seedTable(settingsOf(mainSet())), null);
});

test('settings: one label with different pipelines, or a repeated seed, is an error naming both results', () => {
  assert.throws(() => groupSettings([makeResult({ id: 'x1', label: 'x', pipeline: 'a' }), makeResult({ id: 'x2', label: 'x', pipeline: 'b', seed: 1 })]), /results "x1" and "x2" share the label "x" \(preset smoke\) but differ in "pipeline"/);
  assert.throws(() => groupSettings([makeResult({ id: 'x1', label: 'x' }), makeResult({ id: 'x2', label: 'x' })]), /"x1" and "x2" are the same setting "x" \(preset smoke\) with the same seed 0/);
  // different presets never mix
  const g = groupSettings([makeResult({ id: 'p1', label: 'x' }), makeResult({ id: 'p2', label: 'x', preset: 'demo' })]);
  assert.deepEqual([...g.keys()], ['demo', 'smoke']);
});

test('Tables 4 and 5: prompt/length rows with Avg, Δ to the no-prompt no-length row, and tested deltas', () => {
  const abl = (kdPrompts: boolean, kdLength: boolean) => ({ kdPrompts, kdLength });
  const rs = [
    makeResult({ id: 'a-none', pipeline: 'a', phase: 'distillation', ablation: abl(false, false) }),
    makeResult({ id: 'a-prompt', pipeline: 'a', phase: 'distillation', ablation: abl(true, false), shift: better }),
    makeResult({ id: 'a-length', pipeline: 'a', phase: 'distillation', ablation: abl(false, true), shift: (d, q, v) => v + (q % 2 ? 0.002 : -0.002) }),
    makeResult({ id: 'a-both', pipeline: 'a', phase: 'distillation', ablation: abl(true, true), shift: (d, q, v) => better(d, q, v) + 0.02 }),
  ];
  const settings = settingsOf(rs);
  const t = ablationTable(settings)!;
  assert.deepEqual(t.rows.map((r) => r.label), ['a-none', 'a-prompt', 'a-length', 'a-both']);
  assert.deepEqual(t.rows.map((r) => [r.prompt, r.length]), [[false, false], [true, false], [false, true], [true, true]]);
  const none = t.rows[0];
  assert.equal(none.reference, null);
  assert.equal(t.comparisons, 3);
  for (const r of t.rows.slice(1)) {
    assert.equal(r.reference, 'a-none');
    assert.ok(Math.abs(r.delta! - (r.avg! - none.avg!)) < 1e-15);
  }
  assert.equal(t.rows[1].comparison!.outcome, 'better');
  assert.equal(t.rows[2].comparison!.outcome, 'not significant');
  assert.equal(t.rows[3].comparison!.outcome, 'better');
  const md = formatAblationTable(t, resolveOptions());
  assert.match(md, /\*KD from dense supervised\*/);
  assert.match(md, new RegExp(`\\| Distilled \\(a-prompt\\) \\| ✓ \\| × \\| ${percent(t.rows[1].avg)} \\| ${percentDelta(t.rows[1].avg, none.avg).replace('+', '\\+')} ▲ \\|`));
  assert.match(md, /correction over the 3 comparisons of this table/);
  // Table 5
  const sum = ablationSummary(t);
  assert.equal(sum.length, 1);
  assert.equal(sum[0].baseline, none.avg);
  assert.equal(sum[0].variants.both!.delta, t.rows[3].delta);
  const md5 = formatAblationSummary(sum, t, resolveOptions());
  assert.ok(md5.includes(`| Distilled | ${percent(none.avg)} | ${percentDelta(t.rows[1].avg, none.avg)} ▲ (${percent(t.rows[1].avg)}) |`), md5);
  // Main-setting results are not ablation rows; no ablation at all gives no table.
  assert.equal(ablationTable(settingsOf(mainSet())), null);
});

test("Table 4: the main-setting result of a pipeline and phase is its ✓ ✓ row; a supervised model's switches ignore the KD ones", () => {
  const rs = [
    makeResult({ id: 'b-sup-none', pipeline: 'b', phase: 'supervised', ablation: { unsupervisedPrompts: true, supervisedPrompts: false, supervisedLength: false, kdPrompts: true, kdLength: true } }),
    makeResult({ id: 'b-sup-main', pipeline: 'b', phase: 'supervised', shift: better }),
    makeResult({ id: 'b-kd-none', pipeline: 'b', phase: 'distillation', ablation: { unsupervisedPrompts: true, supervisedPrompts: false, supervisedLength: false, kdPrompts: false, kdLength: false } }),
    makeResult({ id: 'b-kd-main', pipeline: 'b', phase: 'distillation', shift: worse }),
    makeResult({ id: 'c-kd-main', pipeline: 'c', phase: 'distillation' }), // no ablation results for c: not in Table 4
  ];
  const t = ablationTable(settingsOf(rs))!;
  assert.deepEqual(t.rows.map((r) => [r.label, r.group, r.prompt, r.length, r.reference]), [
    ['b-sup-none', 'Supervised + KD from dense unsupervised (with prompts)', false, false, null],
    ['b-sup-main', 'Supervised + KD from dense unsupervised (with prompts)', true, true, 'b-sup-none'],
    ['b-kd-none', 'Supervised + KD from dense unsupervised (with prompts)', false, false, null],
    ['b-kd-main', 'Supervised + KD from dense unsupervised (with prompts)', true, true, 'b-kd-none'],
  ]);
  assert.equal(t.rows[1].comparison!.outcome, 'better');
  assert.equal(t.rows[3].comparison!.outcome, 'worse');
  const sum = ablationSummary(t);
  assert.deepEqual(sum.map((r) => r.phase), ['supervised', 'distillation']);
  assert.equal(sum[1].variants.both!.delta, t.rows[3].delta);
  assert.equal(sum[1].variants.prompt, null);
  assert.match(formatAblationSummary(sum, t, resolveOptions()), /\| Distilled \| [\d.]+ \| – \| – \| −[\d.]+ ▼ \([\d.]+\) \|/);
});

// The paper's own arithmetic as a reference: per-dataset nDCG@10 of Table 2 and Table 4 (one "query" per
// dataset carrying the published value) must give the Avg and the Table 5 deltas the paper prints.
const BEIR = ['FIQA', 'NFCorpus', 'TREC-COVID', 'Touche', 'ArguAna', 'Quora', 'SCIDOCS', 'SciFact', 'NQ', 'ClimateFEVER', 'HotpotQA', 'DBpedia', 'CQADupstack', 'FEVER', 'MSMARCO'];
const PAPER_ROWS: Record<string, string> = {
  // Table 2, "ColBERT-Zero (full pre-training)", Distilled: Avg 55.43
  'c-distilled': '42.62 37.28 78.69 36.13 53.07 85.24 19.88 76.50 61.66 35.72 79.41 47.48 41.34 90.59 45.80',
  // Table 2, "GTE-ModernColBERT": Avg 54.67
  'gte-moderncolbert': '45.28 37.93 83.59 31.23 48.51 86.61 19.06 76.34 61.80 30.62 77.32 48.03 41.00 87.44 45.32',
  // Table 4, "KD from dense supervised (with prompts)", Distilled: × ×, ✓ ×, × ✓, ✓ ✓ (Avg 52.58, 53.83, 53.28, 54.09)
  'a-none': '41.58 36.33 78.69 33.30 50.16 82.59 18.01 75.15 60.30 25.00 75.00 45.92 39.39 82.27 45.06',
  'a-prompt': '41.74 36.87 79.65 34.52 51.06 87.31 18.41 76.06 61.24 27.56 75.38 47.48 40.43 84.24 45.47',
  'a-length': '41.99 36.41 78.79 36.76 47.77 87.51 18.18 75.21 60.56 25.63 76.34 45.83 39.61 83.42 45.16',
  'a-both': '42.51 37.01 79.52 34.58 51.75 87.67 18.15 75.04 61.45 28.31 76.70 47.54 40.68 84.82 45.57',
};
const paperValues = (id: string) => Object.fromEntries(PAPER_ROWS[id].split(' ').map((v, i) => [BEIR[i], [Number(v) / 100]]));

test("the paper's printed numbers: Table 2 Avg (55.43, 54.67) and Table 5's row for KD-only (52.58 | +1.25 (53.83) | +0.70 (53.28) | +1.51 (54.09))", () => {
  const main = mainTable(settingsOf([
    makeResult({ id: 'c-distilled', pipeline: 'c', phase: 'distillation', values: paperValues('c-distilled') }),
    makeResult({ id: 'gte-moderncolbert', values: paperValues('gte-moderncolbert') }),
  ]), null);
  assert.deepEqual(main.columns, BEIR);
  assert.deepEqual(main.rows.map((r) => [r.label, percent(r.avg.value)]), [['c-distilled', '55.43'], ['gte-moderncolbert', '54.67']]);
  assert.ok(formatMainTable(main, resolveOptions()).includes('| c-distilled | 55.43 | 42.62 | 37.28 | 78.69 | 36.13 | 53.07 | 85.24 | 19.88 | 76.50 | 61.66 | 35.72 | 79.41 | 47.48 | 41.34 | 90.59 | 45.80 |'));
  const abl = (kdPrompts: boolean, kdLength: boolean) => ({ unsupervisedPrompts: true, kdPrompts, kdLength });
  const t = ablationTable(settingsOf([
    makeResult({ id: 'a-none', pipeline: 'a', phase: 'distillation', ablation: abl(false, false), values: paperValues('a-none') }),
    makeResult({ id: 'a-prompt', pipeline: 'a', phase: 'distillation', ablation: abl(true, false), values: paperValues('a-prompt') }),
    makeResult({ id: 'a-length', pipeline: 'a', phase: 'distillation', ablation: abl(false, true), values: paperValues('a-length') }),
    makeResult({ id: 'a-both', pipeline: 'a', phase: 'distillation', ablation: abl(true, true), values: paperValues('a-both') }),
  ]))!;
  // one value per dataset: nothing to pair for a t-test, so no marks
  assert.equal(t.comparisons, 0);
  const md5 = formatAblationSummary(ablationSummary(t), t, resolveOptions());
  assert.ok(md5.includes('| *KD from dense supervised (with prompts)* |'), md5);
  assert.ok(md5.includes('| Distilled | 52.58 | +1.25 (53.83) | +0.70 (53.28) | +1.51 (54.09) |'), md5);
  // the unrounded difference would print +1.24: the paper subtracts the printed averages
  assert.equal(percent(t.rows[1].delta, true), '+1.24');
});

test('results as the pipelines record them (every switch written, main = all on): Table 2 takes the main rows, Table 4 only groups with a switch off', () => {
  const ON = { unsupervisedPrompts: true, supervisedPrompts: true, supervisedLength: true, kdPrompts: true, kdLength: true };
  const rs = [
    makeResult({ id: 'dense-supervised', pipeline: 'base', phase: 'supervised', shift: worse }),
    makeResult({ id: 'a', pipeline: 'a', phase: 'distillation', ablation: ON }),
    makeResult({ id: 'a-kd-off', pipeline: 'a', phase: 'distillation', ablation: { ...ON, kdPrompts: false, kdLength: false }, shift: worse }),
    makeResult({ id: 'b', pipeline: 'b', phase: 'distillation', ablation: ON }),
    makeResult({ id: 'c', pipeline: 'c', phase: 'distillation', ablation: ON, shift: better }),
    makeResult({ id: 'c-off', pipeline: 'c', phase: 'distillation', ablation: { ...ON, supervisedPrompts: false, supervisedLength: false, kdPrompts: false, kdLength: false } }),
  ];
  const settings = settingsOf(rs);
  assert.deepEqual(mainTable(settings, 'a').rows.map((r) => r.label), ['dense-supervised', 'a', 'b', 'c']);
  const t = ablationTable(settings)!;
  // (a)'s switches are its KD ones (its supervised phase is the dense model's): × × then ✓ ✓, not "mixed"
  assert.deepEqual(t.rows.map((r) => [r.label, r.prompt, r.length, r.reference]), [
    ['a-kd-off', false, false, null],
    ['a', true, true, 'a-kd-off'],
    ['c-off', false, false, null],
    ['c', true, true, 'c-off'],
  ]);
  assert.equal(t.rows[1].comparison!.outcome, 'better');
});

test('Table 2 with one dataset: the Avg cell carries that dataset\'s test, counted once in the correction', () => {
  const rs = mainSet().map((r) => ({ ...r, datasets: r.datasets.slice(0, 1), mean: { ndcg_cut_10: r.datasets[0].metrics.ndcg_cut_10, recall_100: r.datasets[0].metrics.recall_100 } }));
  const t = mainTable(settingsOf(rs), 'a-distilled');
  assert.deepEqual(t.columns, ['alpha']);
  assert.equal(t.comparisons, 3);
  const c = t.rows.find((r) => r.label === 'c-distilled')!;
  assert.equal(c.avg.comparison, c.cells[0].comparison);
  assert.equal(c.avg.comparison!.outcome, 'better');
  assert.match(formatMainTable(t, resolveOptions()), /correction over the 3 comparisons of this table/);
});
