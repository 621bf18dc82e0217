import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { runCli } from './helpers/cli';

test('--help lists the commands and exits 0', () => {
  const r = runCli(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: colbert-zero/);
  assert.match(r.stdout, /backend/);
});

test('an unknown command exits 2 with a short message', () => {
  const r = runCli(['no-such-command']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'no-such-command'/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/); // no stack trace
});

test('backend prints the active backend and a positive GFLOP/s', () => {
  const r = runCli(['backend', '--json', '--size', '64'], { env: { CZ_BACKEND: 'wasm' } });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.backend, 'wasm');
  assert.ok(j.matmul.gflops > 0);
});

test('a backend that cannot load is one error line and exit 1', () => {
  const r = runCli(['backend'], { env: { CZ_BACKEND: 'node-gpu' } });
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^colbert-zero: error: backend 'node-gpu' could not be loaded/);
});

test('an invalid CZ_BACKEND value is named in the error (a usage error, as a bad option is)', () => {
  const r = runCli(['backend'], { env: { CZ_BACKEND: 'tpu' } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /CZ_BACKEND=tpu: takes wasm, node, node-gpu or cpu/);
});
