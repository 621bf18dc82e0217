/**
 * A non-finite gradient (with a finite loss) must stop the run before the optimizer applies it: one
 * line naming the step and "gradient", and every checkpoint — the last one named included — finite.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { runReplica, NonFiniteLossError, type LogRecord } from '../lib/train/run';
import { tinyConfig, tmpDir } from './train-helpers/fixtures';

before(async () => {
  await initBackend();
});

function allFinite(file: string): boolean {
  const b = fs.readFileSync(file);
  const v = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return v.every(Number.isFinite);
}

for (const value of [NaN, Infinity]) {
  test(`a ${value} gradient at step 3 stops the run before the update; every checkpoint stays finite`, async () => {
    const dir = tmpDir(`nf-grad-${value}`);
    const cfg = tinyConfig(dir, { checkpointEvery: 1 });
    const logged: LogRecord[] = [];
    const run = runReplica(cfg, undefined, {
      hooks: {
        onLog: (r) => logged.push(r),
        onGradients: (step, grads) => {
          // One element of the gradient overflows, as a too-large learning rate makes happen.
          if (step === 3) grads[grads.length - 2] = value;
        },
      },
    });
    await assert.rejects(run, (e: unknown) => e instanceof NonFiniteLossError && e.what === 'gradient' && e.step === 3
      && /non-finite gradient .* at step 3; stopped before the update, last good checkpoint: .*step-0000002/.test(e.message) && !e.message.includes('\n'));
    assert.equal(logged.length, 2, 'step 3 was not applied or logged');
    assert.ok(logged.every((r) => Number.isFinite(r.gradNorm)));
    const ckDir = path.join(cfg.output, 'checkpoints');
    const cks = fs.readdirSync(ckDir).sort();
    assert.deepEqual(cks.filter((c) => c.startsWith('step-')), ['step-0000001', 'step-0000002']);
    for (const c of cks.filter((x) => x.startsWith('step-'))) {
      const vars = path.join(ckDir, c, 'trainer', 'variables.bin');
      assert.ok(allFinite(vars), `${c}: non-finite weights`);
    }
  });
}

test('weights that overflow after an update (finite loss and gradient, a huge learning rate) are never written as a checkpoint', async () => {
  const dir = tmpDir('nf-weights');
  const cfg = tinyConfig(dir, { checkpointEvery: 1, optimizer: { lr: 1e39, warmupSteps: 0, clipNorm: 1.0, weightDecay: 0.01 } });
  await assert.rejects(runReplica(cfg), (e: unknown) => e instanceof NonFiniteLossError && e.what === 'weights' && e.step === 1
    && /non-finite weights after the update of step 1 .*stopped before writing its checkpoint \(no checkpoint written yet\)/.test(e.message));
  const ckDir = path.join(cfg.output, 'checkpoints');
  assert.ok(!fs.existsSync(ckDir) || fs.readdirSync(ckDir).every((c) => !c.startsWith('step-')), 'no checkpoint holds the overflowed weights');
});
