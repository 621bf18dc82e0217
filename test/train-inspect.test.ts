/**
 * What the notebooks measure about training: gradcheck's max-abs differences, the memory of one step
 * (GradCache against one plain graph), the source mix of batches, and the phases a reproduce run left.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend, gradcheck, stepMemory, batchSourceMix, phaseModels, findPhaseModel, exampleConfig, parseTrainConfig } from '../lib/index';
import type { ReproduceSummary as ReproduceSummaryLike } from '../lib/pipelines/reproduce';
import { probeGradient } from '../lib/train/run';
import { maxAbsDifference } from '../lib/util/numeric';
import { tinyConfig, tmpDir } from './train-helpers/fixtures';

before(async () => {
  await initBackend();
});

test('maxAbsDifference: the largest element-wise |a − b|', () => {
  assert.equal(maxAbsDifference([1, 2, 3], [1, 2.5, 2]), 1);
  assert.equal(maxAbsDifference([NaN], [0]), Infinity);
  assert.throws(() => maxAbsDifference([1], [1, 2]), /different sizes/);
});

test('gradcheck reports max |difference| consistent with its relative errors (1 and 2 devices)', async () => {
  const cfg = tinyConfig(tmpDir('gc-abs'), { phase: 'supervised', batchSize: 8, miniBatch: 2 });
  const r = await gradcheck(cfg, 2);
  assert.ok(r.maxAbsGradient > 1e-4, 'the gradient is not trivially zero');
  // relative error = max|a − b| / max|plain|, so the two must agree.
  assert.ok(Math.abs(r.maxAbsDiff.gradCacheVsPlain - r.gradCacheVsPlain * r.maxAbsGradient) <= 1e-12 + 1e-9 * r.maxAbsGradient);
  assert.ok(r.maxAbsDiff.gradCacheVsPlain <= 1e-5 * r.maxAbsGradient);
  assert.ok(r.maxAbsDiff.devicesVsPlain !== undefined && r.maxAbsDiff.devicesVsPlain <= 1e-5 * r.maxAbsGradient);
  // 2 devices sum the same per-example gradients in another order than 1 device: float rounding, no more.
  assert.ok(r.maxAbsDiff.devicesVsOne !== undefined && r.maxAbsDiff.devicesVsOne <= 1e-5 * r.maxAbsGradient, `2 devices vs 1: max |difference| ${r.maxAbsDiff.devicesVsOne}`);
  assert.ok(r.devicesVsOne !== undefined && r.devicesVsOne <= 1e-5, `2 devices vs 1: relative ${r.devicesVsOne}`);
});

test('stepMemory: one plain graph holds more than GradCache; the peak holds at least the gradient; nothing leaks', async () => {
  const cfg = tinyConfig(tmpDir('mem'), { phase: 'unsupervised', batchSize: 16, miniBatch: 2 });
  const cached = await stepMemory(cfg);
  const plain = await stepMemory(cfg, { plain: true });
  const g = await probeGradient(cfg);
  assert.ok(cached.peakBytes >= 4 * g.gradient.length, `peak ${cached.peakBytes} < gradient ${4 * g.gradient.length} bytes`);
  assert.ok(plain.peakBytes > cached.peakBytes, `plain ${plain.peakBytes} vs GradCache ${cached.peakBytes}`);
  assert.ok(Math.abs(plain.loss - cached.loss) <= 1e-5 * Math.abs(plain.loss));
  assert.equal(cached.leakedBytes, 0);
  assert.equal(plain.leakedBytes, 0);
});

test('stepMemory measures GradCache and the plain graph on the same engine, also for a config that would train on ONNX Runtime', async () => {
  // A ModernBERT example config: its default training engine is ort, whose buffers are not tfjs tensors.
  const cfg = (batchSize: number, miniBatch: number) => parseTrainConfig({ ...exampleConfig('unsupervised-colbert', tmpDir('mem-ort')), batchSize, miniBatch, devices: 1 }, 'test');
  // One mini-batch that is the whole batch: GradCache and the plain graph are the same computation.
  const one = await stepMemory(cfg(8, 8));
  const onePlain = await stepMemory(cfg(8, 8), { plain: true });
  assert.ok(Math.abs(one.peakBytes - onePlain.peakBytes) <= 0.1 * onePlain.peakBytes, `batch = mini-batch: GradCache ${one.peakBytes} bytes vs plain ${onePlain.peakBytes}`);
  // Four mini-batches: GradCache keeps one mini-batch's activations at a time.
  const four = await stepMemory(cfg(16, 4));
  const fourPlain = await stepMemory(cfg(16, 4), { plain: true });
  assert.ok(fourPlain.peakBytes > 1.5 * four.peakBytes, `plain ${fourPlain.peakBytes} vs GradCache ${four.peakBytes}`);
});

test('batchSourceMix: single-source batches unless mixing is "shuffled"', () => {
  const o = { sizes: [60, 30], batchSize: 10, seed: 3 };
  for (const mixing of ['proportional', 'round-robin'] as const) {
    const mix = batchSourceMix({ ...o, mixing }, 6);
    for (const row of mix) {
      assert.equal(row.reduce((a, b) => a + b, 0), 10);
      assert.equal(row.filter((c) => c > 0).length, 1, `${mixing}: ${row}`);
    }
  }
  const shuffled = batchSourceMix({ ...o, mixing: 'shuffled' }, 6);
  assert.ok(shuffled.some((row) => row.filter((c) => c > 0).length === 2));
});

test('phaseModels: each phase with its model folder and its parent\'s; findPhaseModel picks one or names the candidates', () => {
  const spec = (id: string, objective: string, setting: string, init: object) => ({ id, objective, setting, init, data: [], prompts: false, extraLength: false, hyper: {}, seed: 0, dim: 8 });
  const summary = {
    preset: 'x',
    dryRun: false,
    plans: [{ phases: [spec('mlm', 'mlm', 'dense', { preset: 'tiny', initSeed: 1 }), spec('c/unsupervised-colbert', 'unsupervised', 'colbert', { parent: 'mlm' })], finals: [] }],
    runs: [{ phases: [{ id: 'mlm', modelDir: 'm/mlm' }, { id: 'c/unsupervised-colbert', modelDir: 'm/u' }], results: [], trainedPhases: 0, evaluated: 0 }],
  } as unknown as ReproduceSummaryLike;
  const ms = phaseModels(summary);
  assert.deepEqual(ms.map((m) => [m.id, m.modelDir, m.parent, m.parentModelDir]), [['mlm', 'm/mlm', null, null], ['c/unsupervised-colbert', 'm/u', 'mlm', 'm/mlm']]);
  assert.equal(findPhaseModel(ms, { objective: 'unsupervised', idPrefix: 'c/' }).modelDir, 'm/u');
  assert.throws(() => findPhaseModel(ms, { setting: 'colbert', objective: 'mlm' }), /0 phases match/);
  assert.throws(() => phaseModels(summary, 1), /no seed number 1/);
});
