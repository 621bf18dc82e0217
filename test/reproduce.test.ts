/**
 * The main job on the smoke preset, as a user runs it: every pipeline trained and evaluated, result files
 * and the report written, and a closing sentence on whether (c) beats the untrained base and BM25; a run
 * killed between two checkpoints of a phase resumes from the last one and ends with the weights of a run
 * never killed; a second run trains nothing; too little disk, or bad input, stops before any training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { preload, runCli } from './helpers/cli';
import { tmpDir } from './train-helpers/fixtures';
import { sha256File } from '../lib/util/hash';
import { readResults } from '../lib/report/results';
import { pipelineRunCosts, trainedModelDir } from '../lib/report/phases';
import { findChromium } from '../lib/figures/render';
import { PROJECT_ROOT } from './helpers/shared';

/** sha256 of every file under `dir`, by relative path. */
function fileHashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), sha256File(p));
    }
  };
  walk(dir);
  return out;
}

const logSteps = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; lr: number; gradNorm: number });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('reproduce --preset smoke: trains each phase once, evaluates every pipeline, writes results and the report; a run killed mid-phase resumes to the same weights; a rerun trains nothing', () => {
  const dir = tmpDir('reproduce');
  const first = runCli(['reproduce', '--preset', 'smoke', '--results', dir]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /9 phases trained \(180 steps\), 0 reused; 7 evaluations/);
  const results = readResults(path.join(dir, 'runs')).map((r) => r.result);
  assert.deepEqual(results.map((r) => r.label).sort(), ['(a) KD-only', '(b) supervised + KD', '(c) ColBERT-Zero', '(c) ColBERT-Zero, supervised', 'BM25', 'dense supervised', 'untrained base']);
  for (const r of results) {
    assert.equal(r.preset, 'smoke');
    assert.ok(r.notes!.some((n) => /unsupervised temperature 0\.2/.test(n)), 'the temperature choice is recorded');
    assert.equal(r.datasets[0].queries, Object.keys(r.datasets[0].perQuery).length);
    // One evaluation length for every encoded model (the smoke lengths 16/32 plus "+Length"); BM25 encodes nothing.
    assert.deepEqual(r.evalLengths, r.label === 'BM25' ? undefined : { queryLength: 23, documentLength: 39 }, r.label);
  }
  // A result names no path of the machine that ran it: data files are relative to the results folder.
  for (const f of fs.readdirSync(path.join(dir, 'runs'))) {
    const text = fs.readFileSync(path.join(dir, 'runs', f), 'utf8');
    assert.ok(!text.includes(path.resolve(dir)) && !text.includes(os.tmpdir()), `${f} records an absolute path`);
  }
  const kd = results.find((r) => r.label === '(a) KD-only')!;
  const data = (kd.config as { phase: { data: string[] } }).phase.data;
  assert.ok(data.length > 0 && data.every((d) => !path.isAbsolute(d) && fs.existsSync(path.join(dir, d))), data.join(', '));
  // The shared phases exist once: the dense unsupervised model serves (a) and (b).
  const models = fs.readdirSync(path.join(dir, 'models'));
  assert.equal(models.filter((m) => m.startsWith('unsupervised-dense-')).length, 1);
  assert.equal(models.length, 9);
  assert.match(first.stdout, /Main results \(Table 2 shape\)/);
  // It ends, after the report, with where the report is (paths that open from where the command ran) and the verdicts.
  const closing = first.stderr.trim().split('\n').slice(-3);
  assert.match(closing[0], /^report: /);
  for (const f of closing[0].slice('report: '.length).split(', ')) assert.ok(fs.existsSync(path.resolve(PROJECT_ROOT, f)), f);
  assert.match(closing[1], /^ColBERT-Zero \(c\) .* the untrained base on the test set: /);
  assert.match(closing[2], /^ColBERT-Zero \(c\) .* BM25 on the test set: /);
  assert.ok(fs.existsSync(path.join(dir, 'report', 'report.json')));
  // The report's figures beside it (HTML always; PNG where Chromium is installed).
  assert.ok(fs.existsSync(path.join(dir, 'report', 'smoke-main.html')));
  assert.equal(fs.existsSync(path.join(dir, 'report', 'smoke-main.png')), findChromium() !== null);
  // Each phase records its parent's key, so a pipeline's training time is the sum over its chain.
  const record = (prefix: string) => JSON.parse(fs.readFileSync(path.join(dir, 'models', models.find((m) => m.startsWith(prefix))!, 'phase.json'), 'utf8'));
  assert.equal(record('c_kd-colbert').parentKey, record('c_supervised-colbert').key);
  assert.equal(record('mlm-').parentKey, null);
  const costs = pipelineRunCosts(dir, 'smoke');
  assert.deepEqual(costs.map((c) => c.pipeline), ['a', 'b', 'c']);
  const c = costs[2];
  const sum = ['mlm-', 'c_unsupervised-colbert', 'c_supervised-colbert', 'c_kd-colbert'].reduce((t, p) => t + record(p).seconds, 0);
  assert.ok(Math.abs(c.totalSeconds - sum) < 1e-9, `(c) total ${c.totalSeconds} vs the records' ${sum}`);
  assert.ok(Math.abs(c.colbertSeconds - (sum - record('mlm-').seconds)) < 1e-9, '(c) ColBERT phases: all but the backbone');
  assert.equal(trainedModelDir(dir, 'smoke', 'c'), path.join(dir, 'models', models.find((m) => m.startsWith('c_kd-colbert'))!, 'model'));

  // The closing sentences: one per baseline, saying what the report's significance test found, in the
  // direction of the mean nDCG@10 that the result files hold.
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'report', 'report.json'), 'utf8')) as { presets: Array<{ preset: string; claims: Array<{ id: string; verdict: string }> }> };
  const claims = report.presets.find((p) => p.preset === 'smoke')!.claims;
  const meanNdcg = (label: string) => results.find((r) => r.label === label)!.mean.ndcg_cut_10;
  for (const [id, what, label] of [['c-beats-base', 'the untrained base', 'untrained base'], ['c-beats-bm25', 'BM25', 'BM25']] as const) {
    const line = first.stderr.split('\n').filter((l) => l.startsWith('ColBERT-Zero (c) ') && l.includes(` ${what} on the test set: `));
    assert.equal(line.length, 1, `one closing sentence about ${what}:\n${first.stderr}`);
    const said = /^ColBERT-Zero \(c\) (beats|does not significantly beat|does NOT beat \(it is significantly worse than\)) /.exec(line[0])?.[1];
    const verdict = claims.find((x) => x.id === id)!.verdict;
    assert.equal(said, { supports: 'beats', 'cannot resolve': 'does not significantly beat', contradicts: 'does NOT beat (it is significantly worse than)' }[verdict], line[0]);
    const delta = meanNdcg('(c) ColBERT-Zero') - meanNdcg(label);
    if (said === 'beats') assert.ok(delta > 0, `"beats" ${what}, yet its mean nDCG@10 is ${delta} lower`);
    if (said?.startsWith('does NOT')) assert.ok(delta < 0, `"significantly worse than" ${what}, yet its mean nDCG@10 is ${delta} higher`);
  }

  // A real interruption inside the last phase: the process is killed (SIGKILL, no clean-up) right after
  // step 7 of 20, between its checkpoints of steps 5 and 10.
  const last = models.find((m) => m.startsWith('c_kd-colbert'))!;
  const phase = path.join(dir, 'models', last);
  const uninterrupted = fileHashes(path.join(phase, 'model'));
  const uninterruptedLog = logSteps(path.join(phase, 'log.jsonl'));
  assert.deepEqual(uninterruptedLog.map((l) => l.step), range(1, 20));
  fs.rmSync(phase, { recursive: true });
  const kill = { CZ_TEST_KILL_LOG: `${last}/log\\.jsonl$`, CZ_TEST_KILL_STEP: '7' };
  const killed = runCli(['reproduce', '--preset', 'smoke', '--results', dir], { env: { ...preload('kill-at-step.cjs'), ...kill } });
  assert.equal(killed.signal, 'SIGKILL', `the run was not killed at step 7:\n${killed.stderr}`);
  assert.ok(!fs.existsSync(path.join(phase, 'phase.json')) && !fs.existsSync(path.join(phase, 'model')), 'the killed phase is unfinished');
  assert.equal(JSON.parse(fs.readFileSync(path.join(phase, 'checkpoints', 'latest.json'), 'utf8')).step, 5);
  assert.deepEqual(logSteps(path.join(phase, 'log.jsonl')).map((l) => l.step), range(1, 7), 'steps 6 and 7 ran after the last checkpoint');

  const steps = path.join(dir, 'steps-trained.txt');
  const again = runCli(['reproduce', '--preset', 'smoke', '--results', dir], { env: { ...preload('kill-at-step.cjs'), CZ_TEST_KILL_LOG: `${last}/log\\.jsonl$`, CZ_TEST_STEPS_FILE: steps } });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /\] c\/kd-colbert[^:]*: trained steps 6-20 \(resumed from the checkpoint of step 5\)/);
  assert.deepEqual(fs.readFileSync(steps, 'utf8').trim().split('\n').map(Number), range(6, 20), 'the resumed process trained steps 6 to 20, no more, no fewer');
  // The same final weights as the run never killed, byte for byte; so the same fingerprint, and its
  // evaluation is not repeated.
  assert.match(again.stderr, /1 phases trained \(15 steps\), 8 reused; 0 evaluations/);
  const resumed = fileHashes(path.join(phase, 'model'));
  assert.ok(resumed.has('model.safetensors'), [...resumed.keys()].join(', '));
  for (const [f, h] of resumed) assert.equal(h, uninterrupted.get(f), `model/${f} differs from the uninterrupted run's`);
  const strip = (l: ReturnType<typeof logSteps>[number]) => ({ step: l.step, loss: l.loss, lr: l.lr, gradNorm: l.gradNorm });
  assert.deepEqual(logSteps(path.join(phase, 'log.jsonl')).map(strip), uninterruptedLog.map(strip), 'the log holds each step once, with the numbers of the run never killed');

  // Interrupted after its last checkpoint (step 20) but before it was marked done: it resumes with no step
  // left, writes the same model again, and does not count as a phase trained.
  fs.rmSync(path.join(phase, 'phase.json'));
  fs.rmSync(path.join(phase, 'model'), { recursive: true });
  const finished = runCli(['reproduce', '--preset', 'smoke', '--results', dir]);
  assert.equal(finished.code, 0, finished.stderr);
  assert.match(finished.stderr, /\] c\/kd-colbert[^:]*: no step left to train \(resumed from the checkpoint of step 20\)/);
  assert.match(finished.stderr, /0 phases trained \(0 steps\), 9 reused; 0 evaluations/);
  for (const [f, h] of fileHashes(path.join(phase, 'model'))) assert.equal(h, uninterrupted.get(f), `model/${f} rewritten from the last checkpoint differs`);

  // Nothing left to train: no phase counts, and the disk check (about the phases left) does not stand in the way.
  const third = runCli(['reproduce', '--preset', 'smoke', '--results', dir], { env: { ...preload('small-disk.cjs'), CZ_TEST_FREE_BYTES: '1000000' } });
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /0 phases trained \(0 steps\), 9 reused; 0 evaluations/);
});

test('reproduce: a disk too small for the phases left to train stops with one line before any training', () => {
  const dir = tmpDir('reproduce-disk');
  const r = runCli(['reproduce', '--preset', 'smoke', '--results', dir], { env: { ...preload('small-disk.cjs'), CZ_TEST_FREE_BYTES: '1000000' } });
  assert.equal(r.code, 1, r.stderr);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('colbert-zero: error: '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], /: 0\.00 GB free, the 9 phases left to train need about \d+\.\d\d GB \(models and checkpoints\); free some space or choose another --results$/);
  assert.doesNotMatch(r.stderr, /training /);
  const models = path.join(dir, 'models');
  assert.ok(!fs.existsSync(models) || fs.readdirSync(models).length === 0, 'no phase started');
});

test('reproduce: an unknown preset is one line before any work', () => {
  const dir = tmpDir('reproduce-bad');
  const r = runCli(['reproduce', '--preset', 'nope', '--results', dir]);
  assert.equal(r.code, 2); // a usage error, as the README says
  assert.match(r.stderr, /^error: option '--preset <name>' argument 'nope' is invalid\. must be one of smoke, demo, study, paper\n/);
  assert.ok(!fs.existsSync(path.join(dir, 'models')));
});

test('reproduce and report write only into folders they made: a user folder is refused before any work', () => {
  const dir = tmpDir('reproduce-user');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  const r = runCli(['reproduce', '--preset', 'smoke', '--results', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim().split('\n').pop()!, /--results .*: exists and is not a previous reproduce output/);
  assert.deepEqual(fs.readdirSync(dir), ['notes.txt']);
  const rep = runCli(['report', '--results', dir, '--out', dir]);
  assert.equal(rep.code, 1);
  assert.match(rep.stderr, /--out .*: exists and is not a previous report output/);
  assert.deepEqual(fs.readdirSync(dir), ['notes.txt']);
});

test('reproduce --seeds replaces the preset seeds: one plan per seed, every phase trained with it; a bad list is one line', async () => {
  const { reproduce } = await import('../lib/index');
  const lines: string[] = [];
  const r = await reproduce({ preset: 'paper', resultsDir: tmpDir('reproduce-seeds'), seeds: [3, 5], log: (l) => lines.push(l) });
  assert.equal(r.plans.length, 2);
  assert.match(lines.join('\n'), /seeds: 3, 5 \(the preset's: 0\)/);
  assert.deepEqual(r.plans.map((p) => [...new Set(p.phases.map((x) => x.seed))]), [[3], [5]], 'every phase of a plan trains with its seed (the seed is part of the phase key)');
  await assert.rejects(reproduce({ preset: 'paper', resultsDir: 'unused', seeds: [1, 1] }), /seeds: 1,1: give distinct non-negative integers/);
  const bad = runCli(['reproduce', '--preset', 'smoke', '--seeds', '1,x', '--results', tmpDir('reproduce-seeds-cli')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--seeds.*expected comma-separated non-negative integers/);
});
