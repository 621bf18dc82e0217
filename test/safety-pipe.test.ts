/**
 * Every byte a command prints must reach whatever reads it: a slow reader on a pipe gets the same output
 * as a file, and a reader that goes away early (`| head -1`) ends the command quietly.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('pipe');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));
const BIN = path.join(PROJECT_ROOT, 'bin', 'colbert-zero.cjs');

/** qrels and run big enough that `--per-query` prints several times a pipe's 64 KiB buffer. */
function bigFiles(): { qrels: string; run: string } {
  const qrels = path.join(TMP, 'q.tsv');
  const run = path.join(TMP, 'r.run');
  const q: string[] = ['query-id\tcorpus-id\tscore'];
  const r: string[] = [];
  for (let i = 0; i < 1500; i++) {
    for (let d = 0; d < 5; d++) q.push(`q${i}\td${i}_${d * 3}\t1`);
    for (let d = 0; d < 20; d++) r.push(`q${i} Q0 d${i}_${d} ${d + 1} ${20 - d} t`);
  }
  fs.writeFileSync(qrels, q.join('\n') + '\n');
  fs.writeFileSync(run, r.join('\n') + '\n');
  return { qrels, run };
}

/** Runs the CLI with stdout to a file (the reference) . */
function toFile(args: string[]): Promise<{ code: number | null; bytes: number }> {
  const out = path.join(TMP, 'out.txt');
  const fd = fs.openSync(out, 'w');
  const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], env: { ...process.env, CZ_PROGRESS: '0' } });
  return new Promise((resolve) => p.on('close', (code) => { fs.closeSync(fd); resolve({ code, bytes: fs.statSync(out).size }); }));
}

/** Runs the CLI with stdout on a pipe read slowly: paused after each chunk, resumed later. */
function slowPipe(args: string[]): Promise<{ code: number | null; bytes: number }> {
  const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CZ_PROGRESS: '0' } });
  let bytes = 0;
  p.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    p.stdout.pause();
    setTimeout(() => p.stdout.resume(), 20);
  });
  return new Promise((resolve) => p.on('close', (code) => resolve({ code, bytes })));
}

test('eval-run --per-query through a slow pipe delivers the whole output (as to a file)', async () => {
  const { qrels, run } = bigFiles();
  for (const extra of [[], ['--json']]) {
    const args = ['eval-run', '--qrels', qrels, '--run', run, '--per-query', '--metrics', 'all_trec', ...extra];
    const file = await toFile(args);
    assert.equal(file.code, 0);
    assert.ok(file.bytes > 4 * 65536, `output too small to test a pipe: ${file.bytes}`);
    const pipe = await slowPipe(args);
    assert.equal(pipe.code, 0);
    assert.equal(pipe.bytes, file.bytes, `pipe got ${pipe.bytes} bytes, a file ${file.bytes} (${extra.join(' ') || 'text'})`);
  }
});

test('a reader that closes the pipe early (| head -1) ends the command quietly', async () => {
  const { qrels, run } = bigFiles();
  const p = spawn(process.execPath, [BIN, 'eval-run', '--qrels', qrels, '--run', run, '--per-query', '--metrics', 'all_trec'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CZ_PROGRESS: '0' },
  });
  let stderr = '';
  p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  p.stdout.once('data', () => p.stdout.destroy()); // the first line arrived: stop reading, as head does
  const code = await new Promise<number | null>((resolve) => p.on('close', (c) => resolve(c)));
  assert.equal(stderr, '', 'no stack or error text on EPIPE');
  assert.equal(code, 0);
});
