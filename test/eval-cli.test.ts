/** `colbert-zero eval-run` as a user runs it: trec_eval's output, JSON, and one-line errors. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../lib/cli/main';
import { runCli, type CliResult } from './helpers/cli';
import { sharedPath, skipWithoutShared } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('evalcli');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

test('eval-run on trec_eval test files prints out.test exactly', { skip: skipWithoutShared('trec_eval', 'out.test') }, () => {
  const r = runCli(['eval-run', '--qrels', sharedPath('trec_eval', 'qrels.test')!, '--run', sharedPath('trec_eval', 'results.test')!]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, fs.readFileSync(sharedPath('trec_eval', 'out.test')!, 'utf8'));
});

test('eval-run --metrics all_trec,relstring.20 --per-query --min-rel 2 prints out.test.aql', { skip: skipWithoutShared('trec_eval', 'out.test.aql') }, async () => {
  const r = await runInProcess([
    'eval-run',
    '--qrels', sharedPath('trec_eval', 'qrels.rel_level')!,
    '--run', sharedPath('trec_eval', 'results.test')!,
    '--metrics', 'all_trec,relstring.20',
    '--per-query',
    '--min-rel', '2',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, fs.readFileSync(sharedPath('trec_eval', 'out.test.aql')!, 'utf8'));
});

test('eval-run --json gives the numbers, with cut-off lists inside --metrics', async () => {
  const qrels = path.join(TMP, 'q.tsv');
  const run = path.join(TMP, 'r.run');
  fs.writeFileSync(qrels, 'query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tb\t2\n');
  fs.writeFileSync(run, 'q1 Q0 a 1 3 t\nq1 Q0 c 2 2 t\nq2 Q0 c 1 3 t\nq2 Q0 b 2 2 t\n');
  const r = await runInProcess(['eval-run', '--qrels', qrels, '--run', run, '--metrics', 'ndcg_cut.1,10,map', '--metrics', 'mrr@10', '--json', '--per-query']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.measures, ['map', 'ndcg_cut_1', 'ndcg_cut_10', 'mrr@10']);
  assert.equal(j.all.map, 0.75);
  assert.equal(j.all['mrr@10'], 0.75);
  assert.equal(j.all.ndcg_cut_1, 0.5);
  assert.equal(j.perQuery.q2.ndcg_cut_10, 2 / Math.log2(3) / 2);
});

/** The same entry point in this process (start-up is seconds per spawn), output captured. */
async function runInProcess(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    const code = await main([process.execPath, 'colbert-zero', ...args]);
    return { code, signal: null, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

async function oneErrorLine(args: string[], pattern: RegExp, spawn = false): Promise<void> {
  const r = spawn ? runCli(args) : await runInProcess(args);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
}

test('bad input is exit 1 and one stderr line naming file:line', async () => {
  const qrels = path.join(TMP, 'ok.qrels');
  fs.writeFileSync(qrels, '1 0 d1 1\n');
  const badRun = path.join(TMP, 'bad.run');
  fs.writeFileSync(badRun, '1 Q0 d1 1 0.9 t\n1 Q0 d2 2 n/a t\n');
  // one as a separate process, the rest through the same entry point in-process
  await oneErrorLine(['eval-run', '--qrels', qrels, '--run', badRun], new RegExp(`^colbert-zero: error: ${badRun}:2: score 'n/a'`), true);
  const shortRun = path.join(TMP, 'short.run');
  fs.writeFileSync(shortRun, '1 Q0 d1 1 0.9\n');
  await oneErrorLine(['eval-run', '--qrels', qrels, '--run', shortRun], new RegExp(`${shortRun}:1: expected 6 columns`));
  const badQrels = path.join(TMP, 'bad.qrels');
  fs.writeFileSync(badQrels, '1 0 d1 1\n1 0 d2 x\n');
  await oneErrorLine(['eval-run', '--qrels', badQrels, '--run', shortRun], new RegExp(`${badQrels}:2: relevance 'x'`));
  await oneErrorLine(['eval-run', '--qrels', path.join(TMP, 'absent'), '--run', badRun], /absent: not found \(expected a qrels file\)/);
  const otherRun = path.join(TMP, 'other.run');
  fs.writeFileSync(otherRun, '7 Q0 d1 1 0.9 t\n');
  await oneErrorLine(['eval-run', '--qrels', qrels, '--run', otherRun], /no query of the run is judged/);
  // An unknown measure is a usage error: exit 2, before any file is read.
  const m = await runInProcess(['eval-run', '--qrels', qrels, '--run', otherRun, '--metrics', 'ndcg@10']);
  assert.equal(m.code, 2, m.stderr);
  assert.match(m.stderr, /^error: option '--metrics <list>' argument 'ndcg@10' is invalid\. unknown measure 'ndcg@10'/);
});

test('missing required options are a usage error (exit 2)', async () => {
  const r = await runInProcess(['eval-run', '--run', 'x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--qrels/);
});
