/** The train and gradcheck commands, end to end through bin/colbert-zero.cjs (child processes). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTrainConfig } from '../lib/index';
import { EXAMPLES, exampleConfig } from '../lib/index';
import { tmpDir, writeData, TINY_MODULE } from './train-helpers/fixtures';
import { runCli } from './helpers/cli';


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
  const r = runCli(['train', '--example', 'supervised-colbert', '--data-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), exampleConfig('supervised-colbert', dir));
  for (const name of EXAMPLES) {
    const cfg = parseTrainConfig(exampleConfig(name, dir), name);
    assert.ok(cfg.data.sources.every((f) => fs.existsSync(f)));
  }
  assert.equal(EXAMPLES.length, 6);
  const bad = runCli(['train', '--example', 'nope']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown example "nope"/);
});

test('a training process killed mid-run and resumed with --resume ends with the weights of an uninterrupted run', () => {
  const dir = tmpDir('cli-kill');
  const full = runCli(['train', '--config', writeConfig(dir, 'full', { checkpointEvery: 3 })]);
  assert.equal(full.code, 0, full.stderr);
  assert.match(full.stdout, /trained 20 steps/);
  const cfg = writeConfig(dir, 'killed', { checkpointEvery: 3 });
  const log = path.join(dir, 'killed', 'log.jsonl');
  // Killed (SIGKILL, from inside, so it cannot finish first) right after logging step 7: the last
  // checkpoint is step 6's, and step 7's log line is past it.
  const hook = { NODE_OPTIONS: `--require ${path.join(__dirname, 'helpers', 'kill-at-step.cjs')}`, CZ_TEST_KILL_LOG: 'killed/log\\.jsonl$' };
  const killed = runCli(['train', '--config', cfg], { env: { ...hook, CZ_TEST_KILL_STEP: '7' } });
  assert.equal(killed.signal, 'SIGKILL', `not killed at step 7: ${killed.stderr}`);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'killed', 'checkpoints', 'latest.json'), 'utf8')).step, 6);
  assert.ok(!fs.existsSync(path.join(dir, 'killed', 'model')), 'no final model from a killed run');
  const steps = path.join(dir, 'steps.txt');
  const resumed = runCli(['train', '--config', cfg, '--resume'], { env: { ...hook, CZ_TEST_STEPS_FILE: steps } });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(fs.readFileSync(steps, 'utf8').trim().split('\n').map(Number), Array.from({ length: 14 }, (_, i) => 7 + i), 'the resumed run trains steps 7 to 20');
  const a = fs.readFileSync(path.join(dir, 'full', 'model', 'tiny-weights.json'), 'utf8');
  const b = fs.readFileSync(path.join(dir, 'killed', 'model', 'tiny-weights.json'), 'utf8');
  assert.equal(b, a);
  const losses = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  assert.deepEqual(losses(log), losses(path.join(dir, 'full', 'log.jsonl')));
});

test('train --devices 2: a loss that turns non-finite stops both replicas before the update, in one line naming the step; the checkpoints stay finite', () => {
  const dir = tmpDir('cli-nonfinite');
  // A learning rate of 1e30 makes step 1's update move the weights by ~1e30 (AdamW steps by about lr): they
  // stay finite, but step 2's products overflow float32, so its loss is NaN without any test hook.
  const cfg = writeConfig(dir, 'nf', { optimizer: { lr: 1e30, warmupSteps: 0 }, temperature: { value: 0.05, learnable: false }, steps: 6 });
  const r = runCli(['train', '--config', cfg, '--devices', '2'], { timeout: 300_000 });
  assert.ok(!r.timedOut, 'the replicas hung instead of stopping');
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, `colbert-zero: error: non-finite loss (NaN) at step 2; stopped before the update, last good checkpoint: ${path.join(dir, 'nf', 'checkpoints', 'step-0000001')}\n`);
  const logged = fs.readFileSync(path.join(dir, 'nf', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(logged, [1], 'step 2 was neither applied nor logged');
  const ckpts = fs.readdirSync(path.join(dir, 'nf', 'checkpoints')).filter((d) => d.startsWith('step-'));
  assert.deepEqual(ckpts, ['step-0000001']);
  const b = fs.readFileSync(path.join(dir, 'nf', 'checkpoints', 'step-0000001', 'trainer', 'variables.bin'));
  const vars = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  assert.ok(vars.length > 0 && vars.every(Number.isFinite), 'the last good checkpoint is finite');
  assert.ok(!fs.existsSync(path.join(dir, 'nf', 'model')), 'no final model');
});

test('gradcheck reports GradCache vs plain and 2 devices vs 1 as JSON', () => {
  const dir = tmpDir('cli-gc');
  const r = runCli(['gradcheck', '--config', writeConfig(dir, 'gc', { batchSize: 8 }), '--devices', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.ok(rep.ok && rep.gradCacheVsPlain <= 1e-5 && rep.devicesVsOne <= 1e-5, r.stdout);
  assert.ok(rep.parameters > 1000);
});

test('a config with an unknown key fails with one line naming the key path', () => {
  const dir = tmpDir('cli-bad');
  const file = writeConfig(dir, 'bad', { optimizer: { lr: 0.1, warmup: 3 } });
  const r = runCli(['train', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^colbert-zero: error: .*bad\.json: unknown key "optimizer\.warmup"\n$/);
});

test('usage errors exit with code 2', () => {
  for (const args of [['train'], ['train', '--config', 'x.json', '--devices', '0'], ['train', '--config', 'x.json', '--transport', 'carrier-pigeon'], ['gradcheck', '--config', 'x.json', '--tolerance', '-1']]) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
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
  const r = runCli(['train', '--config', file, '--sweep', '1e-3:1e-1:2', '--metrics', 'ndcg_cut_10']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('lr ')).length, 2);
  assert.match(r.stdout, /best lr (1\.000e-3|1\.000e-1) \(ndcg_cut_10 /);
});
