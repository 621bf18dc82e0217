/** Data parallelism over worker threads: 2 devices = 1 device on the same global batch; failures end the run cleanly. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/index';
import { probeGradient } from '../lib/train/run';
import { train } from '../lib/index';
import { probeOnDevices } from '../lib/train/devices/pool';
import { latestCheckpoint } from '../lib/train/checkpoint';
import { tinyConfig, tmpDir } from './train-helpers/fixtures';
import { maxRelError } from './helpers/tensors';

before(async () => {
  await initBackend();
});

for (const [phase, head] of [['supervised', 'colbert'], ['distillation', 'colbert']] as const) {
  test(`2 devices give the loss and gradient of 1 device: ${phase} ${head} (GradCache, dropout${phase === 'supervised' ? ', learnable temperature' : ''})`, async () => {
    const dir = tmpDir('dev');
    const cfg = tinyConfig(dir, { phase, head, batchSize: 8, miniBatch: 2 });
    const one = await probeGradient(cfg);
    const two = await probeOnDevices(cfg, 2);
    assert.ok(Math.abs(two.loss - one.loss) <= 1e-6 * Math.abs(one.loss), `loss ${two.loss} vs ${one.loss}`);
    const err = maxRelError(two.gradient, one.gradient);
    assert.ok(err <= 1e-5, `gradient relative error ${err}`);
    // Against the plain one-graph reference as well.
    const plain = await probeGradient(cfg, undefined, { plain: true });
    assert.ok(maxRelError(one.gradient, plain.gradient) <= 1e-5);
  });
}

test('2 devices whose shard is one mini-batch (one graph per device, no replay) give the gradient of 1 device', async () => {
  for (const [phase, head] of [['unsupervised', 'dense']] as const) {
    const cfg = tinyConfig(tmpDir('dev-onegraph'), { phase, head, batchSize: 8, miniBatch: 4 });
    const one = await probeGradient(cfg);
    const two = await probeOnDevices(cfg, 2);
    assert.ok(Math.abs(two.loss - one.loss) <= 1e-6 * Math.abs(one.loss), `${phase}: loss ${two.loss} vs ${one.loss}`);
    assert.ok(maxRelError(two.gradient, one.gradient) <= 1e-5, `${phase}: relative error ${maxRelError(two.gradient, one.gradient)}`);
  }
});

test('training on 2 devices follows training on 1 device (3 steps)', async () => {
  const dir = tmpDir('dev-train');
  const a = tinyConfig(dir, { output: 'one', batchSize: 8, steps: 3 });
  const b = tinyConfig(dir, { output: 'two', batchSize: 8, steps: 3 });
  await train(a, { devices: 1 });
  await train(b, { devices: 2 });
  const wa = JSON.parse(fs.readFileSync(path.join(a.output, 'model', 'tiny-weights.json'), 'utf8')).weights;
  const wb = JSON.parse(fs.readFileSync(path.join(b.output, 'model', 'tiny-weights.json'), 'utf8')).weights;
  for (const k of Object.keys(wa)) assert.ok(maxRelError(wb[k], wa[k]) <= 1e-5, `${k}: ${maxRelError(wb[k], wa[k])}`);
  const la = fs.readFileSync(path.join(a.output, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  const lb = fs.readFileSync(path.join(b.output, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  assert.ok(maxRelError(lb, la) <= 1e-5);
});

for (const how of ['exit', 'throw'] as const) {
  test(`a device that ${how === 'exit' ? 'exits' : 'throws'} mid-run ends the run with a clear error; the last checkpoint stays intact`, async () => {
    const dir = tmpDir(`dev-${how}`);
    // Per device and step: 4 queries + 8 documents in mini-batches of 2 = 6 forwards, twice (embed + replay) = 12: forward 30 is in step 3.
    const cfg = tinyConfig(dir, { batchSize: 8, steps: 6, checkpointEvery: 1, model: { type: 'module', module: path.join(__dirname, 'train-helpers', 'tiny-encoder.ts'), options: { seed: 2, die: { rank: 1, afterForwards: 30, how } } } });
    await assert.rejects(train(cfg, { devices: 2 }), (e: Error) => {
      assert.match(e.message, how === 'exit' ? /device 1 failed: worker exited with code 3/ : /device 1 failed: injected failure/);
      return true;
    });
    const ck = latestCheckpoint(cfg.output)!;
    assert.ok(ck.endsWith('step-0000002'), ck);
    assert.ok(fs.existsSync(path.join(ck, 'trainer', 'optimizer.bin')));
    // And it resumes from there on one device.
    const r = await train(cfg, { devices: 1, resume: true }).catch((e) => e);
    assert.ok(!(r instanceof Error), String(r));
    assert.equal(r.startStep, 2);
  });
}

test('the process transport (IPC, one process per device) gives the gradient of 1 device; a crashing process ends the run', async () => {
  const dir = tmpDir('dev-proc');
  const cfg = tinyConfig(dir, { batchSize: 8, miniBatch: 2, deviceTransport: 'processes' });
  const one = await probeGradient(cfg);
  const two = await probeOnDevices(cfg, 2, 'processes');
  assert.ok(maxRelError(two.gradient, one.gradient) <= 1e-5, `relative error ${maxRelError(two.gradient, one.gradient)}`);
  const bad = tinyConfig(dir, { output: 'bad', batchSize: 8, steps: 6, checkpointEvery: 1, deviceTransport: 'processes', model: { type: 'module', module: path.join(__dirname, 'train-helpers', 'tiny-encoder.ts'), options: { seed: 2, die: { rank: 1, afterForwards: 30, how: 'exit' } } } });
  await assert.rejects(train(bad, { devices: 2 }), /device 1 failed: process exited with code 3/);
  assert.ok(latestCheckpoint(bad.output)!.endsWith('step-0000002'));
});
