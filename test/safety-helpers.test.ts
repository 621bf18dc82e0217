/**
 * The helpers every command's safety rests on (issue 15), each tested on its own: the output-folder
 * writer (replaces only the files its record lists), the lock (one run at a time, a dead run's lock taken
 * over), the thread cap, the environment checks and the errno-to-sentence messages.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { OUTPUT_MARKER, readMarker, writeMarker, writeOutputDir } from '../lib/util/output';
import { claimLock } from '../lib/util/lock';
import { threadCount } from '../lib/util/limits';
import { ENV_VARS, checkEnvironment, envValue } from '../lib/util/env';
import { fsProblem, makeDirs } from '../lib/util/fs-errors';
import { UsageError, UserError } from '../lib/util/errors';
import { BACKEND_NAMES } from '../lib/backend/select';
import { integerBetween, nonNegativeIntList } from '../lib/cli/options';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('safety-helpers');
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => path.join(TMP, `${name}-${++n}`);

const write = (files: Record<string, string>) => (dir: string) => {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
};

const tree = (dir: string) =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();

test('writeOutputDir: the marker lists the files; a rewrite replaces exactly those, keeps the user\'s, removes what it no longer writes', async () => {
  const out = fresh('out');
  assert.deepEqual(await writeOutputDir(out, 'tool', write({ 'a.txt': '1', 'sub/b.txt': '1', 'old.txt': '1' })), ['a.txt', 'old.txt', 'sub/b.txt']);
  assert.deepEqual(readMarker(out)?.files, ['a.txt', 'old.txt', 'sub/b.txt']);
  // Nothing of the user's: swapped whole.
  await writeOutputDir(out, 'tool', write({ 'a.txt': '2', 'sub/b.txt': '2', 'old.txt': '2' }));
  assert.equal(fs.readFileSync(path.join(out, 'a.txt'), 'utf8'), '2');
  // The user's files, beside and inside the tool's folders, stay; the tool's old files it no longer writes go.
  fs.writeFileSync(path.join(out, 'mine.txt'), 'mine');
  fs.writeFileSync(path.join(out, 'sub', 'mine.txt'), 'mine');
  fs.mkdirSync(path.join(out, 'empty-of-mine'));
  await writeOutputDir(out, 'tool', write({ 'a.txt': '3', 'sub/b.txt': '3' }));
  assert.deepEqual(tree(out), [OUTPUT_MARKER, 'a.txt', 'mine.txt', 'sub/b.txt', 'sub/mine.txt']);
  assert.ok(fs.existsSync(path.join(out, 'empty-of-mine')));
  assert.equal(fs.readFileSync(path.join(out, 'sub', 'b.txt'), 'utf8'), '3');
  assert.deepEqual(readMarker(out)?.files, ['a.txt', 'sub/b.txt']);
  // A file of the user's where the tool would write: refused before anything changes.
  fs.writeFileSync(path.join(out, 'new.txt'), 'mine too');
  const before = tree(out).map((f) => [f, fs.readFileSync(path.join(out, f), 'utf8')]);
  await assert.rejects(writeOutputDir(out, 'tool', write({ 'a.txt': '4', 'new.txt': '4' })), (e: Error) => e instanceof UserError && /new\.txt: exists and was not written by tool; not overwritten/.test(e.message));
  assert.deepEqual(tree(out).map((f) => [f, fs.readFileSync(path.join(out, f), 'utf8')]), before);
  assert.deepEqual(fs.readdirSync(TMP).filter((f) => f.includes('.tmp-')), [], 'no temporary folder left');
});

test('writeOutputDir refuses another command\'s folder and a folder of the user\'s; a new or empty path is fine', async () => {
  const other = fresh('other');
  await writeOutputDir(other, 'index', write({ 'x.txt': '1' }));
  await assert.rejects(writeOutputDir(other, 'init-model', write({ 'x.txt': '2' })), /exists and is not a previous init-model output/);
  const mine = fresh('mine');
  fs.mkdirSync(mine);
  fs.writeFileSync(path.join(mine, 'data.csv'), 'keep');
  await assert.rejects(writeOutputDir(mine, 'tool', write({ 'x.txt': '1' })), /exists and is not a previous tool output/);
  assert.deepEqual(fs.readdirSync(mine), ['data.csv']);
  const empty = fresh('empty');
  fs.mkdirSync(empty);
  await writeOutputDir(empty, 'tool', write({ 'x.txt': '1' }));
  assert.ok(fs.existsSync(path.join(empty, 'x.txt')));
});

test('writeOutputDir with an output\'s own manifest as its record: no marker, and only the manifest\'s files are replaced', async () => {
  const out = fresh('own');
  const record = { file: 'manifest.json', files: (d: string) => (JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8')) as { files: string[] }).files };
  await writeOutputDir(out, 'export', write({ 'a.py': '1', 'manifest.json': JSON.stringify({ files: ['a.py', 'manifest.json'] }) }), { record });
  assert.deepEqual(fs.readdirSync(out).sort(), ['a.py', 'manifest.json']);
  fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
  await writeOutputDir(out, 'export', write({ 'b.py': '2', 'manifest.json': JSON.stringify({ files: ['b.py', 'manifest.json'] }) }), { record });
  assert.deepEqual(fs.readdirSync(out).sort(), ['b.py', 'manifest.json', 'notes.txt']);
});

test('a marker is written whole (rename), and one from an older version without files is read as such', () => {
  const d = fresh('marker');
  fs.mkdirSync(d);
  writeMarker(d, 'train');
  assert.deepEqual(Object.keys(readMarker(d)!).sort(), ['command', 'written']);
  fs.writeFileSync(path.join(d, OUTPUT_MARKER), JSON.stringify({ command: 'x', files: ['../outside'] }));
  assert.equal(readMarker(d)?.files, undefined, 'a path leaving the folder is never trusted');
});

function liveProcess(): { pid: number; stop: () => void } {
  const p = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
  return { pid: p.pid!, stop: () => p.kill('SIGKILL') };
}

test('claimLock: a live holder stops a second claim with its process id; a dead one\'s lock is taken over; release frees it', () => {
  const file = path.join(fresh('locks'), 'x.lock');
  const holder = liveProcess();
  try {
    makeDirs(path.dirname(file));
    fs.writeFileSync(file, JSON.stringify({ pid: holder.pid, host: os.hostname(), command: 'reproduce --preset demo', started: '2026-01-01T00:00:00Z' }));
    assert.throws(() => claimLock(file, 'the folder'), (e: Error) => e instanceof UserError && e.message === `the folder is in use by another run (process ${holder.pid}, colbert-zero reproduce --preset demo, since 2026-01-01T00:00:00Z); wait for it to end or stop it (if none is running, remove ${file})`);
  } finally {
    holder.stop();
  }
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
  fs.writeFileSync(file, String(gone)); // the bare process id older locks held
  const release = claimLock(file, 'the folder');
  assert.equal((JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number }).pid, process.pid);
  assert.throws(() => claimLock(file, 'the folder'), /in use by another run/, 'held: a second claim, even from this process, is refused');
  release();
  assert.ok(!fs.existsSync(file));
  claimLock(file, 'the folder')();
});

test('threadCount: the cores at most, one warning per value; CZ_THREADS the same', () => {
  const cores = os.availableParallelism();
  const lines: string[] = [];
  assert.equal(threadCount(1, '--threads', (l) => lines.push(l)), 1);
  assert.equal(threadCount(cores + 5, '--threads', (l) => lines.push(l)), cores);
  assert.equal(threadCount(cores + 5, '--threads', (l) => lines.push(l)), cores);
  assert.deepEqual(lines, [`--threads ${cores + 5}: more than the ${cores} cores here; using ${cores} threads`]);
  const saved = process.env.CZ_THREADS;
  try {
    process.env.CZ_THREADS = String(cores + 7);
    assert.equal(threadCount(undefined, '--threads', (l) => lines.push(l)), cores);
    assert.equal(lines[1], `CZ_THREADS ${cores + 7}: more than the ${cores} cores here; using ${cores} threads`);
    process.env.CZ_THREADS = '0';
    assert.throws(() => threadCount(), (e: Error) => e instanceof UsageError && /^CZ_THREADS=0: takes a positive integer/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.CZ_THREADS;
    else process.env.CZ_THREADS = saved;
  }
});

test('the environment: every variable checked with the values it takes; CZ_BACKEND takes what the backend chooser does', () => {
  assert.equal(ENV_VARS.CZ_BACKEND.takes, BACKEND_NAMES.join(', ').replace(/, (?=[^,]+$)/, ' or '));
  for (const b of BACKEND_NAMES) assert.equal(ENV_VARS.CZ_BACKEND.check(b), null);
  const saved = { ...process.env };
  try {
    for (const [name, bad] of [['CZ_PROGRESS', 'maybe'], ['CZ_THREADS', '1.5'], ['CZ_THREADS', '1e3'], ['CZ_ORT_PROVIDER', 'rocm'], ['CZ_ORT_PROFILE', path.join(TMP, 'none', 'prof')], ['CZ_MANIFESTS_DIR', path.join(TMP, 'none')], ['CZ_CHROMIUM', path.join(TMP, 'none')]] as const) {
      process.env[name] = bad;
      assert.throws(() => checkEnvironment(), (e: Error) => e instanceof UsageError && e.message.startsWith(`${name}=${bad}: `), `${name}=${bad}`);
      delete process.env[name];
    }
    process.env.CZ_PROGRESS = ' 1 ';
    assert.equal(envValue('CZ_PROGRESS'), '1');
    process.env.CZ_PROGRESS = '';
    assert.equal(envValue('CZ_PROGRESS'), undefined, 'empty is unset');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('fsProblem: write failures in words, never errno text', () => {
  const e = (code: string) => Object.assign(new Error(`${code}: something, open 'x'`), { code });
  assert.equal(fsProblem('/m/model.onnx', e('EROFS'), 'a file', 'write'), '/m/model.onnx: is on a read-only file system');
  assert.equal(fsProblem('/m', e('EACCES'), 'a folder', 'write'), '/m: permission denied');
  assert.equal(fsProblem('/m', e('ENOSPC'), 'a folder', 'write'), '/m: no space left on the device');
  assert.equal(fsProblem('/a/file/x', e('ENOTDIR'), 'a folder', 'write'), '/a/file/x: a part of this path is a file, not a folder');
  assert.equal(fsProblem('/x', e('ENOENT'), 'a JSON file'), '/x: not found (expected a JSON file)');
});

test('option parsers: seeds must be exact integers; sizes have a ceiling', () => {
  assert.deepEqual(nonNegativeIntList('0,1,2'), [0, 1, 2]);
  assert.deepEqual(nonNegativeIntList(String(Number.MAX_SAFE_INTEGER)), [Number.MAX_SAFE_INTEGER]);
  assert.throws(() => nonNegativeIntList('99999999999999999999'), /99999999999999999999 is too large for an exact seed/);
  assert.equal(integerBetween(1, 4096)('4096'), 4096);
  assert.throws(() => integerBetween(1, 4096)('4097'), /must be an integer from 1 to 4096/);
  assert.throws(() => integerBetween(1, 4096)('0'), /positive integer/);
});
