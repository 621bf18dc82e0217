/**
 * The main job on the smoke preset, as a user runs it: every pipeline trained and evaluated, result files
 * and the report written; a second run trains nothing; a run interrupted inside a phase resumes from that
 * phase's checkpoint; bad input stops before any training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from './helpers/cli';
import { tmpDir } from './train-helpers/fixtures';
import { readResults } from '../lib/report/results';
import { pipelineRunCosts, trainedModelDir } from '../lib/report/phases';
import { findChromium } from '../lib/report/render';

test('reproduce --preset smoke: trains each phase once, evaluates every pipeline, writes results and the report; a rerun trains nothing', () => {
  const dir = tmpDir('reproduce');
  const first = runCli(['reproduce', '--preset', 'smoke', '--results', dir]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /9 phases trained, 0 reused/);
  const results = readResults(path.join(dir, 'runs')).map((r) => r.result);
  assert.deepEqual(results.map((r) => r.label).sort(), ['(a) KD-only', '(b) supervised + KD', '(c) ColBERT-Zero', '(c) ColBERT-Zero, supervised', 'BM25', 'dense supervised', 'untrained base']);
  for (const r of results) {
    assert.equal(r.preset, 'smoke');
    assert.ok(r.notes!.some((n) => /unsupervised temperature 0\.2/.test(n)), 'the temperature choice is recorded');
    assert.equal(r.datasets[0].queries, Object.keys(r.datasets[0].perQuery).length);
  }
  // The shared phases exist once: the dense unsupervised model serves (a) and (b).
  const models = fs.readdirSync(path.join(dir, 'models'));
  assert.equal(models.filter((m) => m.startsWith('unsupervised-dense-')).length, 1);
  assert.equal(models.length, 9);
  assert.match(first.stdout, /Main results \(Table 2 shape\)/);
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

  // Interrupted inside the last phase: its marker and model gone, its checkpoint kept → it resumes there.
  const last = models.find((m) => m.startsWith('c_kd-colbert'))!;
  fs.rmSync(path.join(dir, 'models', last, 'phase.json'));
  fs.rmSync(path.join(dir, 'models', last, 'model'), { recursive: true });
  const again = runCli(['reproduce', '--preset', 'smoke', '--results', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /1 phases trained, 8 reused/);
  const log = fs.readFileSync(path.join(dir, 'models', last, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(log, Array.from({ length: 20 }, (_, i) => i + 1), 'the resumed run keeps the steps before the checkpoint and adds the rest');

  const third = runCli(['reproduce', '--preset', 'smoke', '--results', dir]);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /0 phases trained, 9 reused; 0 evaluations/);
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
