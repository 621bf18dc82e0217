/**
 * `train --config` as a user runs it: the evaluation (per eval step and final) is printed, not only the
 * last loss; `--resume` with nothing to resume says so instead of silently starting over.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from './helpers/cli';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('safety-train');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

test('train --config --resume on a fresh output says there is no checkpoint, and prints every evaluation', { timeout: 240_000 }, () => {
  const ex = runCli(['train', '--example', 'supervised-colbert', '--data-dir', path.join(TMP, 'ex')]);
  assert.equal(ex.code, 0, ex.stderr);
  // Short: 4 steps, evaluated at 2 and 4, on fewer evaluation queries than the example's.
  const config = { ...JSON.parse(ex.stdout), steps: 4, checkpointEvery: 2 };
  config.eval = { ...config.eval, every: 2 };
  const file = path.join(TMP, 'sup.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const r = runCli(['train', '--config', file, '--resume']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /--resume: no checkpoint in .*; starting from step 0/);
  const evals = r.stdout.split('\n').filter((l) => l.startsWith('eval step '));
  assert.equal(evals.length, 2, r.stdout);
  assert.match(evals[0], /^eval step 2\tndcg_cut_10 \d\.\d{4}\trecall_10 \d\.\d{4}$/);
  assert.match(r.stdout, /\nfinal \(step 4\)\tndcg_cut_10 \d\.\d{4}\trecall_10 \d\.\d{4}\n/);
  // The printed numbers are the logged ones.
  const logged = fs.readFileSync(path.join(config.output, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(evals[1].includes(`ndcg_cut_10 ${logged[1].mean.ndcg_cut_10.toFixed(4)}`));
});
