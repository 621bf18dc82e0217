import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { preload, runCli } from './helpers/cli';

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

test('backend reports both engines: the one commands use by default, ONNX Runtime (or why it does not load) and tfjs', () => {
  const r = runCli(['backend', '--size', '16'], { env: { CZ_BACKEND: 'wasm', CZ_ENGINE: '' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^engine\tort \(chosen by default/m);
  assert.match(r.stdout, /^ort\tonnxruntime-node \d+\.\d+\.\d+, provider cpu, \d+ threads$/m);
  assert.match(r.stdout, /^tfjs\twasm /m);
  const blocked = runCli(['backend', '--json', '--size', '16'], { env: { CZ_BACKEND: 'wasm', CZ_ENGINE: '', ...preload('block-onnxruntime.cjs') } });
  assert.equal(blocked.code, 0, blocked.stderr);
  const j = JSON.parse(blocked.stdout);
  assert.equal(j.engine, 'tfjs');
  assert.equal(j.ort.available, false);
  assert.match(j.ort.reason, /libonnxruntime\.so\.1/);
  const asked = runCli(['backend', '--json', '--size', '16'], { env: { CZ_BACKEND: 'wasm', CZ_ENGINE: 'tfjs' } });
  assert.deepEqual([JSON.parse(asked.stdout).engine, JSON.parse(asked.stdout).engineChosenBy], ['tfjs', 'CZ_ENGINE']);
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

test('CZ_DEBUG=1 adds the stack trace under the one error line; without it there is none', () => {
  // A user error (a missing model folder) and an internal one (a backend that cannot load) alike.
  for (const [args, env] of [[['encode', '--model', 'no-such-model', '--input', 'x.jsonl', '--as', 'query', '--out', 'never-written.safetensors'], {}], [['backend'], { CZ_BACKEND: 'node-gpu' }]] as const) {
    const plain = runCli([...args], { env: { ...env, CZ_DEBUG: '' } });
    const debug = runCli([...args], { env: { ...env, CZ_DEBUG: '1' } });
    assert.equal(plain.code, 1, plain.stderr);
    assert.equal(debug.code, 1, debug.stderr);
    const first = plain.stderr.split('\n')[0];
    assert.match(first, /^colbert-zero: error: /);
    assert.doesNotMatch(plain.stderr, /^\s+at /m, `${args[0]}: no stack without CZ_DEBUG`);
    const lines = debug.stderr.trimEnd().split('\n');
    assert.equal(lines[0], first, 'the same error line first');
    // the stack: the error's own line, then frames that point into the library
    assert.ok(lines.slice(1).some((l) => /^\s+at .*[/\\]lib[/\\].*\.ts:\d+:\d+\)?$/.test(l)), `${args[0]}: a stack into lib/ under CZ_DEBUG=1:\n${debug.stderr}`);
  }
});

test('help NAME SUB shows the subcommand\'s help (help data fetch is data fetch --help)', () => {
  const r = runCli(['help', 'data', 'fetch']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: colbert-zero data fetch \[options\] <id>/);
  const top = runCli(['help', 'train']);
  assert.match(top.stdout, /^Usage: colbert-zero train \[options\]/);
});
