/**
 * GradCache and data parallelism with the real encoder: a tiny random ModernBERT (preset "tiny", dropout
 * 0.1) with ColBERT and dense heads. The gradient with cached embedding gradients and seeded dropout
 * replay equals the one-graph gradient; 2 devices equal 1.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/index';
import { parseTrainConfig, resolvePaths } from '../lib/train/config';
import { probeGradient, runReplica } from '../lib/train/run';
import { probeOnDevices } from '../lib/train/devices/pool';
import { tmpDir, writeData } from './train-helpers/fixtures';
import { maxRelError } from './helpers/tensors';

before(async () => {
  await initBackend();
});

function config(dir: string, phase: 'supervised' | 'unsupervised', head: 'colbert' | 'dense') {
  const raw = {
    model: { type: 'modernbert', preset: 'tiny', vocabSize: 2000, dim: 16, queryLength: 12, documentLength: 24, dropout: 0.1 },
    head,
    phase,
    data: { sources: [writeData(dir, phase, 12)] },
    batchSize: 4,
    miniBatch: 1,
    temperature: { value: 0.05, learnable: true },
    optimizer: { lr: 1e-3 },
    steps: 1,
    output: 'out',
  };
  return resolvePaths(parseTrainConfig(raw, 'test'), dir);
}

for (const [phase, head] of [['supervised', 'colbert'], ['unsupervised', 'dense']] as const) {
  test(`ModernBERT ${head}, ${phase}: GradCache (mini-batch 1 of 4) = one-graph gradient, with dropout`, async () => {
    const cfg = config(tmpDir('mb-gc'), phase, head);
    const cached = await probeGradient(cfg);
    const plain = await probeGradient(cfg, undefined, { plain: true });
    assert.ok(Math.abs(cached.loss - plain.loss) <= 1e-6 * Math.abs(plain.loss), `loss ${cached.loss} vs ${plain.loss}`);
    const err = maxRelError(cached.gradient, plain.gradient);
    assert.ok(err <= 1e-5, `relative error ${err}`);
    // Dropout is active: another seed moves the loss.
    const other = await probeGradient({ ...cfg, seed: cfg.seed + 1 });
    assert.notEqual(other.loss, cached.loss);
  });
}

test('ModernBERT ColBERT: 2 devices = 1 device', async () => {
  const cfg = config(tmpDir('mb-dev'), 'supervised', 'colbert');
  const one = await probeGradient(cfg);
  const two = await probeOnDevices(cfg, 2);
  const err = maxRelError(two.gradient, one.gradient);
  assert.ok(err <= 1e-5, `relative error ${err}`);
});

test('ModernBERT ColBERT: a run interrupted after step 1 and resumed saves the same safetensors as an uninterrupted run', async () => {
  const dir = tmpDir('mb-resume');
  const a = { ...config(dir, 'supervised', 'colbert'), steps: 3, checkpointEvery: 1 };
  const b = { ...a, output: path.join(dir, 'resumed') };
  await runReplica(a);
  await assert.rejects(runReplica(b, undefined, { hooks: { onStepEnd: (s) => { if (s === 1) throw new Error('crash'); } } }), /crash/);
  await runReplica(b, undefined, { resume: true });
  const bytes = (out: string) => fs.readFileSync(path.join(out, 'model', 'model.safetensors')).toString('base64');
  assert.equal(bytes(b.output), bytes(a.output));
  assert.ok(fs.existsSync(path.join(b.output, 'model', '1_Dense')), 'PyLate layout');
});
