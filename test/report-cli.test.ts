/**
 * `colbert-zero report` end to end, as a user runs it: result files in a folder → report.md and
 * report.json; usage errors exit 2, bad data exits 1 with one line naming the file and key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from './helpers/cli';
import { writeResult } from '../lib/report/results';
import { makeResult, mainSet, better } from './helpers/report';
import { findChromium } from '../lib/figures/render';
import { tmpDir } from './helpers/tmp';

function resultsDir(): { root: string; runs: string } {
  const root = tmpDir('report-cli');
  const runs = path.join(root, 'runs');
  for (const r of mainSet()) writeResult(runs, r);
  for (const seed of [1, 2]) writeResult(runs, makeResult({ id: `c-distilled-s${seed}`, label: 'c-distilled', pipeline: 'c', phase: 'distillation', seed, shift: (d, q, v) => better(d, q, v) + 0.005 * seed }));
  writeResult(runs, makeResult({ id: 'a-noprompt', pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: false, kdLength: false } }));
  writeResult(runs, makeResult({ id: 'a-prompt', pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: true, kdLength: false }, shift: better }));
  return { root, runs };
}

test('report: writes report.md and report.json from the result files; says what it found', () => {
  const { root, runs } = resultsDir();
  const out = path.join(root, 'report');
  const r = runCli(['report', '--results', runs, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^preset smoke: 8 results, 4 main rows \(baseline "a-distilled"\), 3 ablation rows; claims: \d+ supported, \d+ contradicted, \d+ unresolved$/m);
  assert.match(r.stdout, /wrote .*report\.md, .*report\.json/);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(md, /### Main results \(Table 2 shape\)/);
  assert.match(md, /\| c-distilled \[3 seeds\] \| [\d.]+ ▲ \|/);
  assert.match(md, /### Prompts and lengths \(Table 4 shape\)/);
  assert.match(md, /### Prompt and length effects on the average \(Table 5 shape\)/);
  assert.match(md, /### Spread over seeds/);
  assert.match(md, /\| c-distilled \| 3 \| [\d.]+ ± [\d.]+ \|/);
  assert.match(md, /### The paper's claims on these results/);
  assert.match(md, /\*\*supports\*\* \| "c-distilled" \(mean of 3 seeds\) [\d.]+ vs "a-distilled" [\d.]+ \(Δ \+[\d.]+\): significant/);
  assert.match(md, /paired two-sided t-test over queries; Holm–Bonferroni \(holm\) correction/);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(json.format, 'colbert-zero-report');
  assert.equal(json.presets[0].main.baseline, 'a-distilled');
  const claim = json.presets[0].claims.find((c: { id: string }) => c.id === 'c-beats-a');
  assert.equal(claim.verdict, 'supports');
  const prompt = json.presets[0].claims.find((c: { id: string }) => c.id === 'a-prompt-helps');
  assert.equal(prompt.verdict, 'supports');
  const png = findChromium() ? ['smoke-ablation-deltas.png', 'smoke-main.png'] : [];
  assert.deepEqual(fs.readdirSync(out).sort(), ['plotly.min.js', 'report.json', 'report.md', 'smoke-ablation-deltas.html', ...png.slice(0, 1), 'smoke-main.html', ...png.slice(1)].sort());
});

test('report: the figures as standalone HTML sharing one plotly bundle, and PNG where Chromium is installed; listed in report.md and report.json', async (t) => {
  const { root, runs } = resultsDir();
  const out = path.join(root, 'figs');
  const r = runCli(['report', '--results', runs, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.deepEqual(json.figures.map((f: { name: string }) => f.name), ['smoke-main', 'smoke-ablation-deltas']);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  for (const name of ['smoke-main', 'smoke-ablation-deltas']) {
    const html = fs.readFileSync(path.join(out, `${name}.html`), 'utf8');
    assert.match(html, /<script src="plotly\.min\.js"><\/script>/, 'the page loads the shared bundle');
    assert.ok(html.length < 20000, 'no copy of plotly inside the page');
    assert.match(md, new RegExp(`\\[${name}\\.html\\]\\(${name}\\.html\\)`));
  }
  assert.ok(fs.statSync(path.join(out, 'plotly.min.js')).size > 1e6);
  // The main figure's dots are the table's numbers.
  const main = fs.readFileSync(path.join(out, 'smoke-main.html'), 'utf8');
  const avg = json.presets[0].main.rows.find((x: { label: string }) => x.label === 'c-distilled').avg.value;
  assert.ok(main.includes(String(100 * avg)), 'the Avg dot of c-distilled');
  // --no-figures writes only the two report files (no Chromium involved, so checked everywhere).
  const bare = path.join(root, 'bare');
  const nf = runCli(['report', '--results', runs, '--out', bare, '--no-figures']);
  assert.equal(nf.code, 0, nf.stderr);
  assert.deepEqual(fs.readdirSync(bare).sort(), ['report.json', 'report.md']);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(bare, 'report.json'), 'utf8')).figures ?? [], [], 'report.json lists no figures');
  assert.doesNotMatch(fs.readFileSync(path.join(bare, 'report.md'), 'utf8'), /\.html\]\(/, 'report.md links no figure');
  if (!findChromium()) {
    t.skip('no Chromium (set CZ_CHROMIUM or install Debian\'s chromium): PNG export not checked');
    assert.equal(json.figures[0].png, null);
    assert.match(r.stdout, /HTML only \(no Chromium found/);
    return;
  }
  for (const name of ['smoke-main', 'smoke-ablation-deltas']) {
    const png = fs.readFileSync(path.join(out, `${name}.png`));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${name}.png is a PNG`);
    assert.equal(png.readUInt32BE(16), 860, 'width');
    // The height the figure asks for (a dot plot grows with its rows), else plotly's page default.
    const asked = /"height":(\d+)/.exec(fs.readFileSync(path.join(out, `${name}.html`), 'utf8'));
    assert.equal(png.readUInt32BE(20), asked ? Number(asked[1]) : 480, 'height');
    assert.ok(png.length > 5000, `${name}.png has content`);
  }
});

test('report: --test randomization --correction bonferroni --alpha 0.01 --baseline base are applied and named', () => {
  const { root, runs } = resultsDir();
  const out = path.join(root, 'r2');
  const r = runCli(['report', '--results', runs, '--out', out, '--test', 'randomization', '--correction', 'bonferroni', '--alpha', '0.01', '--baseline', 'base', '--permutations', '500', '--seed', '4']);
  assert.equal(r.code, 0, r.stderr);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(md, /better \/ worse than "base" — paired two-sided randomization test over queries \(sign flips; exact when 2\^n ≤ 500, else 500 random flips, seed 4\); Bonferroni \(bonferroni\) correction over the \d+ comparisons of this table; α = 0\.01/);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(json.options.test, 'randomization');
  assert.equal(json.options.correction, 'bonferroni');
  assert.equal(json.options.alpha, 0.01);
  // --baseline none: no marks
  const r3 = runCli(['report', '--results', runs, '--out', path.join(root, 'r3'), '--baseline', 'none']);
  assert.equal(r3.code, 0, r3.stderr);
  assert.match(fs.readFileSync(path.join(root, 'r3', 'report.md'), 'utf8'), /No baseline: no significance marks/);
});

test('report: usage errors exit 2; bad or missing data exits 1 with one line naming the file and key', () => {
  const { root, runs } = resultsDir();
  const bad = runCli(['report', '--results', runs, '--test', 'wilcoxon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /'--test <name>' argument 'wilcoxon' is invalid\. must be one of t, randomization/);
  assert.equal(runCli(['report', '--results', runs, '--alpha', '2']).code, 2);
  assert.equal(runCli(['report', '--results', runs, '--correction', 'sidak']).code, 2);

  const unknown = runCli(['report', '--results', runs, '--out', path.join(root, 'x'), '--baseline', 'nope']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^colbert-zero: error: baseline "nope" is not a label of the results \(labels: /);

  const empty = path.join(root, 'empty');
  fs.mkdirSync(empty);
  const e = runCli(['report', '--results', empty, '--out', path.join(root, 'x')]);
  assert.equal(e.code, 1);
  assert.equal(e.stderr, `colbert-zero: error: ${empty}: no result files (*.json) to report on\n`);

  const file = path.join(runs, 'base.json');
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  r.datasets[0].perQuery.q1.ndcg_cut_10 = '0.5';
  fs.writeFileSync(file, JSON.stringify(r));
  const b = runCli(['report', '--results', runs, '--out', path.join(root, 'x')]);
  assert.equal(b.code, 1);
  assert.equal(b.stderr.split('\n').filter(Boolean).length, 1, b.stderr);
  assert.match(b.stderr, new RegExp(`error: ${file.replace(/[.\\/]/g, '\\$&')}: "datasets\\.0\\.perQuery\\.q1\\.ndcg_cut_10": Invalid input: expected number`));
  assert.ok(!fs.existsSync(path.join(root, 'x')), 'nothing written when a result is bad');
});
