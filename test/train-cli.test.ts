/** The train and gradcheck commands, end to end through bin/colbert-zero.cjs (child processes). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { parseTrainConfig } from '../lib/index';
import { EXAMPLES, exampleConfig } from '../lib/index';
import { tmpDir, writeData, TINY_MODULE } from './train-helpers/fixtures';

const BIN = path.join(__dirname, '..', 'bin', 'colbert-zero.cjs');
const env = { ...process.env, CZ_PROGRESS: '0' };

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
}

function writeConfig(dir: string, name: string, over: Record<string, unknown> = {}): string {
  const cfg = {
    model: { type: 'module', module: TINY_MODULE, options: { dropout: 0.1, seed: 2 } },
    head: 'colbert',
    phase: 'supervised',
    data: { sources: [writeData(dir, 'supervised', 40)] },
    batchSize: 4,
    miniBatch: 2,
    optimizer: { lr: 0.05, warmupSteps: 2 },
    temperature: { value: 0.05, learnable: true },
    steps: 20,
    seed: 5,
    checkpointEvery: 1,
    output: name,
    ...over,
  };
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(cfg));
  return file;
}

test('train --example prints a valid config for every phase and setting', () => {
  const dir = tmpDir('cli-ex');
  const r = cli(['train', '--example', 'supervised-colbert', '--data-dir', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), exampleConfig('supervised-colbert', dir));
  for (const name of EXAMPLES) {
    const cfg = parseTrainConfig(exampleConfig(name, dir), name);
    assert.ok(cfg.data.sources.every((f) => fs.existsSync(f)));
  }
  assert.equal(EXAMPLES.length, 6);
  const bad = cli(['train', '--example', 'nope']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /unknown example "nope"/);
});

test('a training process killed mid-run and resumed with --resume ends with the weights of an uninterrupted run', async (t) => {
  const dir = tmpDir('cli-kill');
  const full = cli(['train', '--config', writeConfig(dir, 'full')]);
  assert.equal(full.status, 0, full.stderr);
  assert.match(full.stdout, /trained 20 steps/);
  const cfg = writeConfig(dir, 'killed');
  const log = path.join(dir, 'killed', 'log.jsonl');
  const child = spawn(process.execPath, [BIN, 'train', '--config', cfg], { env, stdio: 'ignore' });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  // Kill it once it has logged a few steps (whatever step it is in then, resuming must give the same end).
  while (!(fs.existsSync(log) && fs.readFileSync(log, 'utf8').split('\n').length > 4)) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const interrupted = child.exitCode === null;
  child.kill('SIGKILL');
  await exited;
  const latest = JSON.parse(fs.readFileSync(path.join(dir, 'killed', 'checkpoints', 'latest.json'), 'utf8')).step;
  t.diagnostic(interrupted ? `killed with the last checkpoint at step ${latest} of 20` : 'the run finished before the kill');
  if (interrupted) assert.ok(latest < 20);
  const resumed = cli(['train', '--config', cfg, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const a = fs.readFileSync(path.join(dir, 'full', 'model', 'tiny-weights.json'), 'utf8');
  const b = fs.readFileSync(path.join(dir, 'killed', 'model', 'tiny-weights.json'), 'utf8');
  assert.equal(b, a);
  const losses = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  assert.deepEqual(losses(log), losses(path.join(dir, 'full', 'log.jsonl')));
});

test('gradcheck reports GradCache vs plain and 2 devices vs 1 as JSON', () => {
  const dir = tmpDir('cli-gc');
  const r = cli(['gradcheck', '--config', writeConfig(dir, 'gc', { batchSize: 8 }), '--devices', '2', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.ok(rep.ok && rep.gradCacheVsPlain <= 1e-5 && rep.devicesVsOne <= 1e-5, r.stdout);
  assert.ok(rep.parameters > 1000);
});

test('a config with an unknown key fails with one line naming the key path', () => {
  const dir = tmpDir('cli-bad');
  const file = writeConfig(dir, 'bad', { optimizer: { lr: 0.1, warmup: 3 } });
  const r = cli(['train', '--config', file]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^colbert-zero: error: .*bad\.json: unknown key "optimizer\.warmup"\n$/);
});

test('usage errors exit with code 2', () => {
  for (const args of [['train'], ['train', '--config', 'x.json', '--devices', '0'], ['train', '--config', 'x.json', '--transport', 'carrier-pigeon'], ['gradcheck', '--config', 'x.json', '--tolerance', '-1']]) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('train --sweep runs one training per learning rate and names the best by the evaluation', () => {
  const dir = tmpDir('cli-sweep');
  const beir = path.join(dir, 'beir');
  fs.mkdirSync(path.join(beir, 'qrels'), { recursive: true });
  const topics = ['apple river stone', 'cloud green orange', 'tiger maple violet', 'copper silver lemon'];
  fs.writeFileSync(path.join(beir, 'corpus.jsonl'), topics.map((t, i) => JSON.stringify({ _id: `d${i}`, title: '', text: t })).join('\n') + '\n');
  fs.writeFileSync(path.join(beir, 'queries.jsonl'), topics.map((t, i) => JSON.stringify({ _id: `q${i}`, text: t.split(' ')[0] })).join('\n') + '\n');
  fs.writeFileSync(path.join(beir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\n' + topics.map((_, i) => `q${i}\td${i}\t1`).join('\n') + '\n');
  const file = writeConfig(dir, 'sweep', { steps: 2, eval: { datasets: [{ dir: beir }], k: 4, measures: ['ndcg_cut.10'] } });
  const r = cli(['train', '--config', file, '--sweep', '1e-3:1e-1:2', '--metrics', 'ndcg_cut_10']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('lr ')).length, 2);
  assert.match(r.stdout, /best lr (1\.000e-3|1\.000e-1) \(ndcg_cut_10 /);
});
