/** Training runs: deterministic, resumable to the same numbers, stop on non-finite loss, strict configs. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { runReplica, loadData, NonFiniteLossError, type LogRecord } from '../lib/train/run';
import { embeddingTask } from '../lib/train/tasks';
import type { Example } from '../lib/data/training';
import { UserError } from '../lib/util/errors';
import { parseTrainConfig, loadTrainConfig } from '../lib/index';
import { readTrainingFile } from '../lib/index';
import { latestCheckpoint } from '../lib/train/checkpoint';
import { tinyConfig, tmpDir, writeData } from './train-helpers/fixtures';

before(async () => {
  await initBackend();
});

function weights(out: string): Record<string, number[]> {
  return JSON.parse(fs.readFileSync(path.join(out, 'model', 'tiny-weights.json'), 'utf8')).weights;
}
function logOf(out: string): LogRecord[] {
  return fs.readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}
const numbers = (r: LogRecord[]) => r.map(({ step, loss, lr, temperature, gradNorm }) => ({ step, loss, lr, temperature, gradNorm }));

test('a run interrupted after step 3 and resumed ends with exactly the weights and log of an uninterrupted run', async () => {
  const dir = tmpDir('resume');
  const full = tinyConfig(dir, { output: 'full' });
  const a = await runReplica(full);
  assert.equal(a.steps, 6);
  assert.ok(Number.isFinite(a.finalLoss));
  const part = tinyConfig(dir, { output: 'part', checkpointEvery: 1 });
  await assert.rejects(
    runReplica(part, undefined, { hooks: { onStepEnd: (s) => { if (s === 3) throw new Error('injected crash'); } } }),
    /injected crash/,
  );
  assert.ok(latestCheckpoint(part.output)!.endsWith('step-0000003'));
  const b = await runReplica(part, undefined, { resume: true });
  assert.equal(b.startStep, 3);
  const wa = weights(full.output);
  const wb = weights(part.output);
  assert.deepEqual(Object.keys(wb), ['embeddings', 'linear.weight', 'linear.bias']);
  for (const k of Object.keys(wa)) assert.deepEqual(wb[k], wa[k], `variable ${k}`);
  assert.deepEqual(numbers(logOf(part.output)), numbers(logOf(full.output)));
  // The weights moved and the temperature was learned.
  const log = logOf(full.output);
  assert.equal(log.length, 6);
  assert.notEqual(log[5].temperature, 0.05);
});

test('same config and seed give the same numbers; another seed gives others', async () => {
  const dir = tmpDir('det');
  const r1 = await runReplica(tinyConfig(dir, { output: 'a', steps: 3 }));
  const r2 = await runReplica(tinyConfig(dir, { output: 'b', steps: 3 }));
  const r3 = await runReplica(tinyConfig(dir, { output: 'c', steps: 3, seed: 14 }));
  assert.equal(r1.finalLoss, r2.finalLoss);
  assert.notEqual(r1.finalLoss, r3.finalLoss);
});

test('a non-finite loss stops the run naming the step and leaves the last good checkpoint untouched', async () => {
  const dir = tmpDir('nan');
  const cfg = tinyConfig(dir, { checkpointEvery: 2 });
  let snapshot = '';
  const run = runReplica(cfg, undefined, {
    hooks: {
      onStepEnd: (s, params) => {
        if (s !== 2) return;
        snapshot = fs.readFileSync(path.join(latestCheckpoint(cfg.output)!, 'trainer', 'variables.bin')).toString('base64');
        params.fill(NaN); // weights corrupted after step 2: step 3's loss is NaN
      },
    },
  });
  await assert.rejects(run, (e: unknown) => e instanceof NonFiniteLossError && e.step === 3 && /at step 3/.test(e.message) && /step-0000002/.test(e.message));
  const ck = latestCheckpoint(cfg.output)!;
  assert.ok(ck.endsWith('step-0000002'));
  assert.equal(fs.readFileSync(path.join(ck, 'trainer', 'variables.bin')).toString('base64'), snapshot);
  assert.equal(logOf(cfg.output).length, 2);
});

test('distillation and unsupervised dense phases train (loss decreases on a repeated batch)', async () => {
  const dir = tmpDir('phases');
  for (const [phase, head] of [['distillation', 'colbert'], ['unsupervised', 'dense']] as const) {
    const cfg = tinyConfig(dir, { phase, head, output: `out-${phase}`, steps: 8, optimizer: { lr: 0.05 }, data: { sources: [writeData(dir, phase, 4, `${phase}-4.jsonl`)] }, accumulationSteps: phase === 'distillation' ? 2 : 1 });
    await runReplica(cfg);
    const log = logOf(cfg.output);
    assert.ok(log[7].loss < log[0].loss, `${phase}: loss ${log[0].loss} → ${log[7].loss}`);
  }
});

test('configs are strict: unknown keys name their path; inconsistent settings are explained', () => {
  const dir = tmpDir('cfg');
  const good = JSON.parse(JSON.stringify(tinyConfig(dir)));
  assert.throws(() => parseTrainConfig({ ...good, optimizer: { ...good.optimizer, lrr: 1 } }, 'c.json'), /c\.json: unknown key "optimizer\.lrr"/);
  assert.throws(() => parseTrainConfig({ ...good, extra: 1 }, 'c.json'), /unknown key "extra"/);
  assert.throws(() => parseTrainConfig({ ...good, epochs: 2 }, 'c.json'), /exactly one of "steps" and "epochs"/);
  assert.throws(() => parseTrainConfig({ ...good, batchSize: 5, devices: 2 }, 'c.json'), /divisible/);
  assert.throws(() => parseTrainConfig({ ...good, head: 'sparse' }, 'c.json'), /"head"/);
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, '{"model": ');
  assert.throws(() => loadTrainConfig(file), /c\.json: not valid JSON/);
});

test('training data errors name the file and line', () => {
  const dir = tmpDir('data');
  const f = path.join(dir, 'bad.jsonl');
  fs.writeFileSync(f, '{"query": "a", "positive": "b", "negatives": ["c"]}\n{"query": "a", "positive": "b"}\n');
  assert.throws(() => readTrainingFile(f, 'supervised'), new RegExp(`bad\\.jsonl:2: missing key "negatives"`));
  fs.writeFileSync(f, '{"query": "a", "documents": ["x", "y"], "scores": [1]}\n');
  assert.throws(() => readTrainingFile(f, 'distillation'), /bad\.jsonl:1: "documents" has 2 entries but "scores" has 1/);
  fs.writeFileSync(f, '{"query": "a", "document": "b", "label": 1}\n');
  assert.throws(() => readTrainingFile(f, 'unsupervised'), /bad\.jsonl:1: unknown key "label"/);
});

test('an output folder with checkpoints is not silently restarted; a resume with other settings is refused', async () => {
  const dir = tmpDir('guard');
  const cfg = tinyConfig(dir, { steps: 2 });
  await runReplica(cfg);
  await assert.rejects(runReplica(cfg), /already holds checkpoints of a run; use --resume/);
  await assert.rejects(runReplica({ ...cfg, optimizer: { ...cfg.optimizer, lr: 0.01 } }, undefined, { resume: true }), /different "optimizer\.lr"/);
  const done = await runReplica({ ...cfg, logEvery: 5 }, undefined, { resume: true }); // how it runs may change
  assert.equal(done.startStep, 2);
  assert.ok(Number.isFinite(done.finalLoss));
});

test('runs free every tensor they create (no per-step leak)', async () => {
  const dir = tmpDir('leak');
  const before = tf.memory().numTensors;
  await runReplica(tinyConfig(dir, { steps: 3, output: 'a' }));
  assert.equal(tf.memory().numTensors, before);
});

test('"epochs" runs every full batch of each epoch once (24 examples, batch 4, 2 epochs = 12 steps)', async () => {
  const dir = tmpDir('epochs');
  const cfg = tinyConfig(dir, { steps: undefined, epochs: 2, checkpointEvery: 100 });
  const r = await runReplica(cfg);
  assert.equal(r.steps, 12);
  assert.equal(logOf(cfg.output).length, 12);
});

test("PyLate's data rules: a supervised source trains with min(its fewest negatives, the config's) per line; distillation keeps the first candidates of longer lines, a shorter one is an error naming file:line", () => {
  const dir = tmpDir('pylate-rules');
  const negs = (n: number, salt: string) => Array.from({ length: n }, (_, i) => `${salt} negative ${i}`);
  const write = (name: string, rows: object[]) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return f;
  };
  // One source whose lines have 5, 2 and 4 negatives; one with 6 each; the config asks for 3.
  const mixed = write('mixed.jsonl', [5, 2, 4, 5].map((n, i) => ({ query: `mixed query ${i}`, positive: `mixed positive ${i}`, negatives: negs(n, `m${i}`) })));
  const full = write('full.jsonl', [6, 6, 6, 6].map((n, i) => ({ query: `full query ${i}`, positive: `full positive ${i}`, negatives: negs(n, `f${i}`) })));
  const cfg = tinyConfig(dir, { data: { sources: [mixed, full] }, negatives: 3, batchSize: 2, miniBatch: 2 });
  const { sources, sampler } = loadData(cfg);
  assert.deepEqual(sources[0].map((ex) => (ex as { negatives: string[] }).negatives.length), [2, 2, 2, 2]);
  assert.deepEqual(sources[1].map((ex) => (ex as { negatives: string[] }).negatives.length), [3, 3, 3, 3]);
  assert.deepEqual((sources[0][0] as { negatives: string[] }).negatives, ['m0 negative 0', 'm0 negative 1'], 'the first ones');
  const seen = new Set<number>();
  for (let step = 0; step < 4; step++) {
    const ref = sampler.batchAt(step);
    const { task } = embeddingTask(cfg, ref.items.map((it) => sources[it.source][it.index]));
    assert.equal(task.docsPerQuery, ref.source === 0 ? 3 : 4, `step ${step}, source ${ref.source}`);
    assert.equal(task.documents.length, ref.items.length * task.docsPerQuery);
    seen.add(ref.source);
  }
  assert.equal(seen.size, 2, 'both sources trained');
  // Distillation: more candidates than the config's are cut to its number; fewer is an error naming the line.
  const cand = (n: number, i: number) => ({ query: `q${i}`, documents: negs(n, `d${i}`), scores: Array.from({ length: n }, (_, j) => n - j) });
  const long = write('long.jsonl', [10, 8, 9, 8].map(cand));
  const kd = tinyConfig(dir, { phase: 'distillation', data: { sources: [long] }, candidates: 8, batchSize: 4, miniBatch: 4 });
  const d = loadData(kd);
  const { task } = embeddingTask(kd, d.sources[0] as Example[]);
  assert.equal(task.docsPerQuery, 8);
  assert.deepEqual(Array.from(task.teacher!.subarray(0, 8)), [10, 9, 8, 7, 6, 5, 4, 3]);
  const short = write('short.jsonl', [8, 8, 7, 8].map(cand));
  const s = loadData(tinyConfig(dir, { phase: 'distillation', data: { sources: [short] }, candidates: 8, batchSize: 4, miniBatch: 4 }));
  assert.throws(() => embeddingTask(kd, s.sources[0] as Example[]), (e) => e instanceof UserError && e.message.startsWith(`${short}:3: has 7 documents, the config's "candidates" needs 8`));
});
