/**
 * Outputs never destroy what the command did not write: an existing path that is not a previous output
 * of the same command is an error naming it; `--overwrite` replaces only a previous output; a path where
 * folders cannot be made fails at once with one line (it used to spin forever).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from './helpers/cli';
import { PROJECT_ROOT } from './helpers/shared';
import { checkOutput, checkOutputFolder } from '../lib/util/output';
import { makeDirs } from '../lib/util/fs-errors';
import { UserError } from '../lib/util/errors';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('output');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

/** A folder that looks like a BEIR dataset: precious, not ours. */
function fakeDataset(name: string): string {
  const d = path.join(TMP, name);
  fs.mkdirSync(path.join(d, 'qrels'), { recursive: true });
  fs.writeFileSync(path.join(d, 'corpus.jsonl'), '{"_id":"d1","text":"a b c"}\n');
  fs.writeFileSync(path.join(d, 'queries.jsonl'), '{"_id":"q1","text":"a"}\n');
  fs.writeFileSync(path.join(d, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
  return d;
}

function oneErrorLine(r: { code: number; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
}

test('init-model --out refuses an existing file, a dataset folder and the current directory, and leaves them as they were', () => {
  const file = path.join(TMP, 'notes.txt');
  fs.writeFileSync(file, 'keep me\n');
  oneErrorLine(runCli(['init-model', '--config', 'tiny', '--out', file]), /notes\.txt.*not a folder|notes\.txt: exists/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'keep me\n');

  const beir = fakeDataset('beir-a');
  oneErrorLine(runCli(['init-model', '--config', 'tiny', '--out', beir, '--overwrite']), /beir-a: exists and is not a previous init-model output/);
  assert.ok(fs.existsSync(path.join(beir, 'corpus.jsonl')), 'the dataset survives, even with --overwrite');

  const cwd = fakeDataset('cwd');
  oneErrorLine(runCli(['init-model', '--config', 'tiny', '--out', '.', '--overwrite'], { cwd }), /current directory/);
  assert.ok(fs.existsSync(path.join(cwd, 'corpus.jsonl')));
});

test('init-model replaces its own previous output only with --overwrite', () => {
  const out = path.join(TMP, 'm');
  const weights = (dir: string) => fs.readFileSync(path.join(dir, 'model.safetensors'));
  let r = runCli(['init-model', '--config', 'tiny', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const first = weights(out);
  oneErrorLine(runCli(['init-model', '--config', 'tiny', '--out', out]), /holds a previous init-model output; add --overwrite/);
  assert.ok(weights(out).equals(first), 'refused: the previous output is untouched');
  r = runCli(['init-model', '--config', 'tiny', '--out', out, '--overwrite', '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  // Replaced by the new output: seed 3's weights, byte for byte what a fresh folder gets, not seed 0's.
  const fresh = path.join(TMP, 'm-seed3');
  assert.equal(runCli(['init-model', '--config', 'tiny', '--out', fresh, '--seed', '3']).code, 0);
  assert.ok(!weights(out).equals(first), 'the weights were replaced');
  assert.ok(weights(out).equals(weights(fresh)), 'the replacement is the seed-3 model');
  assert.deepEqual(fs.readdirSync(TMP).filter((f) => f.includes('.tmp-')), [], 'no temporary folders left');
});

test('index --out refuses a dataset folder before loading anything', () => {
  const beir = fakeDataset('beir-b');
  oneErrorLine(runCli(['index', '--model', path.join(TMP, 'no-model'), '--corpus', beir, '--out', beir, '--overwrite']), /beir-b: exists and is not a previous index output/);
  assert.ok(fs.existsSync(path.join(beir, 'corpus.jsonl')));
});

test('file outputs (encode, search, score) replace an existing file only with --overwrite', () => {
  const file = path.join(TMP, 'precious.run');
  fs.writeFileSync(file, 'q Q0 d 1 1 t\n');
  for (const args of [
    ['encode', '--model', 'x', '--input', 'y', '--as', 'query', '--out', file],
    ['search', '--model', 'x', '--index', 'y', '--queries', 'z', '--out', file],
    ['score', '--model', 'x', '--queries', 'y', '--documents', 'z', '--out', file],
  ]) {
    oneErrorLine(runCli(args), /precious\.run: file exists; add --overwrite/);
  }
  assert.equal(fs.readFileSync(file, 'utf8'), 'q Q0 d 1 1 t\n');
  assert.throws(() => checkOutput(TMP, { command: 'search', kind: 'file', overwrite: true }), /exists and is not a file/);
  assert.doesNotThrow(() => checkOutput(file, { command: 'search', kind: 'file', overwrite: true }));
});

test('a training output that is somebody else\'s folder is refused; an empty or new one is made', () => {
  const beir = fakeDataset('beir-c');
  assert.throws(() => checkOutputFolder(beir, { command: 'train' }), (e) => e instanceof UserError && /beir-c: exists and is not a previous train output/.test(e.message));
  const fresh = path.join(TMP, 'runs', 'a', 'b');
  checkOutputFolder(fresh, { command: 'train' });
  assert.ok(fs.statSync(fresh).isDirectory());
});

test('an output under a path where folders cannot be made fails at once, naming it (no endless mkdir)', { timeout: 20_000 }, () => {
  // /proc refuses new folders (Node's recursive mkdirSync loops there forever); a file as a parent fails everywhere.
  const blocker = path.join(TMP, 'a-file');
  fs.writeFileSync(blocker, '');
  const targets = [path.join(blocker, 'out')];
  if (fs.existsSync('/proc/self')) targets.push('/proc/xyz/out');
  for (const t of targets) {
    assert.throws(() => makeDirs(t), (e) => e instanceof UserError && e.message.includes(t));
    assert.throws(() => checkOutputFolder(t, { command: 'train' }), (e) => e instanceof UserError && e.message.includes(t));
  }
});

test('train with an output under /proc stops with one line instead of hanging', { timeout: 60_000, skip: !fs.existsSync('/proc/self') && 'no /proc' }, () => {
  const ex = path.join(TMP, 'ex');
  const r0 = runCli(['train', '--example', 'supervised-colbert', '--data-dir', ex]);
  assert.equal(r0.code, 0, r0.stderr);
  const config = { ...JSON.parse(r0.stdout), output: '/proc/xyz/out' };
  const file = path.join(TMP, 'proc.json');
  fs.writeFileSync(file, JSON.stringify(config));
  // A time limit: a hang must fail the test, not stall the suite.
  const r = runCli(['train', '--config', file], { timeout: 40_000 });
  assert.ok(!r.timedOut, 'train hung on an unwritable output');
  oneErrorLine(r, /\/proc\/xyz\/out/);
});
