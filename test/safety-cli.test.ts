/**
 * The command line says what is wrong, in one line, with the right exit code: unknown help topics,
 * --version, required options marked, one integer parser, one `--metrics` spelling, no silently
 * replaced values, configs validated by key, file errors in words, data errors with file:line.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from './helpers/cli';
import { PROJECT_ROOT } from './helpers/shared';
import { integerAtLeast, positiveInt } from '../lib/cli/options';
import { parseModernBertConfig, toHfConfig, presetConfig } from '../lib/models/config';
import { readJsonFile } from '../lib/util/json';
import { UserError } from '../lib/util/errors';
import { loadTrainConfig } from '../lib/train/config';
import { readQrelsFile } from '../lib/data/qrels';
import { readTrainingFile } from '../lib/data/training';
import { readSafetensorsHeader } from '../lib/models/safetensors';
import { contrastiveTask, distillationTask } from '../lib/train/tasks';
import type { DistillationExample, TripletExample } from '../lib/data/training';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('safety-cli');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

test('help for an unknown command is a usage error (exit 2), not the whole help', () => {
  const r = runCli(['help', 'foo']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'foo'/);
  assert.equal(r.stdout, '');
});

test('--version prints package.json\'s version', () => {
  const r = runCli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version);
});

test('help marks required options', () => {
  const r = runCli(['help', 'encode']);
  assert.equal(r.code, 0, r.stderr);
  for (const o of ['--model', '--input', '--as', '--out']) assert.match(r.stdout, new RegExp(`${o} <[^>]+>[^\\n]*(\\n {20,}[^\\n]*)*\\(required\\)`), `${o} not marked`);
  assert.doesNotMatch(r.stdout.split('\n').filter((l) => l.includes('--batch-size')).join(''), /required/);
});

test('backend --size with a bad value is a usage error, not silently 512', () => {
  for (const v of ['x', '0', '-3', '1.5']) {
    const r = runCli(['backend', '--size', v]);
    assert.equal(r.code, 2, `--size ${v}: ${r.stderr}`);
    assert.match(r.stderr, /--size/);
  }
});

test('one integer parser: refuses what is not written as an integer', () => {
  for (const v of ['', ' ', '1.5', '0x10', '1e3', 'abc', '0']) assert.throws(() => positiveInt(v), /positive integer/, JSON.stringify(v));
  assert.equal(positiveInt('12'), 12);
  assert.equal(integerAtLeast(-5)('-5'), -5);
  assert.throws(() => integerAtLeast(-5)('-6'), /≥ -5/);
  // No command keeps a private integer parser.
  const dir = path.join(PROJECT_ROOT, 'lib', 'cli', 'commands');
  for (const f of fs.readdirSync(dir)) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    assert.doesNotMatch(src, /function (positiveInt|integer|positiveNumber|number|choice)\b/, `${f} defines its own parser`);
  }
  const r = runCli(['index', '--model', 'm', '--corpus', 'c', '--out', path.join(TMP, 'i'), '--workers', '1.5']);
  assert.equal(r.code, 2, r.stderr);
});

test('every command spells it --metrics (train --sweep too)', () => {
  const help = runCli(['help', 'train']).stdout;
  assert.match(help, /--metrics <key>/);
  assert.doesNotMatch(help, /--metric </);
  const r = runCli(['train', '--metric', 'ndcg_cut_10']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--metric'/);
});

test('a ModernBERT config with a bad size names the key (no TensorFlow shape error)', () => {
  const base = toHfConfig(presetConfig('tiny')!);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ hidden_size: -64 }, /"hidden_size" must be a positive integer, got -64/],
    [{ hidden_size: 0 }, /"hidden_size" must be a positive integer/],
    [{ num_hidden_layers: 1.5 }, /"num_hidden_layers" must be a positive integer/],
    [{ num_attention_heads: 3 }, /hidden_size 64 is not a multiple of num_attention_heads 3/],
    [{ intermediate_size: 0 }, /"intermediate_size"/],
    [{ vocab_size: -1 }, /"vocab_size"/],
    [{ embedding_dropout: 1.5 }, /"embedding_dropout" must be in \[0, 1\)/],
    [{ norm_eps: 0 }, /"norm_eps" must be > 0/],
    [{ pad_token_id: -1 }, /"pad_token_id"/],
  ];
  for (const [over, re] of cases) {
    assert.throws(() => parseModernBertConfig({ ...base, ...over }, 'c.json'), (e) => e instanceof UserError && re.test(e.message) && e.message.startsWith('c.json: '), JSON.stringify(over));
  }
  assert.doesNotThrow(() => parseModernBertConfig(base, 'c.json'));
});

test('init-model: a config vocab_size smaller than the tokenizer is an error naming the key', () => {
  const cfg = path.join(TMP, 'small-vocab.json');
  fs.writeFileSync(cfg, JSON.stringify({ ...toHfConfig(presetConfig('tiny')!), vocab_size: 100 }));
  const r = runCli(['init-model', '--config', cfg, '--out', path.join(TMP, 'sv')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /small-vocab\.json: "vocab_size" is 100, but the tokenizer .* needs at least \d+/);
  assert.ok(!fs.existsSync(path.join(TMP, 'sv', 'config.json')));
});

test('a folder where a file is expected is one line in words, never EISDIR', () => {
  const dir = fs.mkdtempSync(path.join(TMP, 'folder-'));
  const readers: Array<[string, () => unknown]> = [
    ['readJsonFile', () => readJsonFile(dir)],
    ['loadTrainConfig', () => loadTrainConfig(dir)],
    ['readQrelsFile', () => readQrelsFile(dir)],
    ['readTrainingFile', () => readTrainingFile(dir, 'supervised')],
    ['readSafetensorsHeader', () => readSafetensorsHeader(dir)],
  ];
  for (const [name, read] of readers) {
    assert.throws(read, (e) => e instanceof UserError && e.message.includes(dir) && /is a folder \(expected /.test(e.message) && !/EISDIR|illegal operation/.test(e.message), name);
  }
  const r = runCli(['eval-run', '--qrels', dir, '--run', dir]);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stderr, /EISDIR/);
});

test('too few negatives or candidates in a data file is a UserError naming file:line', () => {
  const sup = path.join(TMP, 'sup.jsonl');
  fs.writeFileSync(sup, [
    JSON.stringify({ query: 'a', positive: 'b', negatives: ['c', 'd'] }),
    JSON.stringify({ query: 'e', positive: 'f', negatives: ['g'] }),
  ].join('\n') + '\n');
  const ex = readTrainingFile(sup, 'supervised') as TripletExample[];
  assert.throws(() => contrastiveTask(ex, 2), (e) => e instanceof UserError && e.message.startsWith(`${sup}:2: has 1 negatives`));
  const dis = path.join(TMP, 'dis.jsonl');
  fs.writeFileSync(dis, JSON.stringify({ query: 'a', documents: ['b'], scores: [1] }) + '\n');
  const dx = readTrainingFile(dis, 'distillation') as DistillationExample[];
  assert.throws(() => distillationTask(dx, 3), (e) => e instanceof UserError && e.message.startsWith(`${dis}:1: has 1 documents`));
  assert.deepEqual(ex[0], { query: 'a', positive: 'b', negatives: ['c', 'd'] }, 'the origin stays hidden');
});
