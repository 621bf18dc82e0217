/** AdamW, the warm-up/decay schedule and clipping against torch.optim.AdamW (test/fixtures/train/adamw.json). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AdamW, clipCoefficient, learningRateAt, logSpaced, sumOfSquares, sweepLearningRates } from '../lib/train/optim';

const F = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'train', 'adamw.json'), 'utf8'));

const flat = (xs: number[][]) => Float32Array.from(xs.flat());

test('AdamW + linear warm-up/decay + global-norm clipping follow torch step by step', () => {
  const params = flat(F.init);
  const opt = new AdamW(params.length, { betas: F.betas, eps: F.eps, weightDecay: F.weightDecay });
  const schedule = { kind: 'linear' as const, lr: F.lr, warmupSteps: F.warmup, totalSteps: F.total };
  F.grads.forEach((gs: number[][], step: number) => {
    const lr = learningRateAt(step, schedule);
    assert.ok(Math.abs(lr - F.lrs[step]) < 1e-12, `lr at ${step}: ${lr} vs ${F.lrs[step]}`);
    const grads = flat(gs);
    const norm = Math.sqrt(sumOfSquares(grads));
    assert.ok(Math.abs(norm - F.norms[step]) < 1e-5 * F.norms[step], `norm at ${step}`);
    opt.apply(params, grads, lr, clipCoefficient(norm, F.clip));
  });
  const want = flat(F.final);
  params.forEach((p, i) => assert.ok(Math.abs(p - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])), `parameter element ${i}: ${p} vs ${want[i]}`));
});

test('AdamW state round-trips: continuing from a saved state equals continuing in place', () => {
  const a = Float32Array.of(1, -2, 3);
  const oa = new AdamW(3, { weightDecay: 0.05 });
  const g = (k: number) => Float32Array.of(0.1 * k, -0.3, 0.2 + k);
  oa.apply(a, g(1), 0.1);
  const b = a.slice();
  const ob = new AdamW(3, { weightDecay: 0.05 });
  ob.setState(oa.getState());
  oa.apply(a, g(2), 0.05);
  ob.apply(b, g(2), 0.05);
  assert.deepEqual(Array.from(b), Array.from(a));
  assert.equal(ob.step, 2);
});

test('learning-rate sweep: log-spaced values, best by validation score, diverged runs ignored', async () => {
  const lrs = logSpaced(1e-5, 3e-3, 10);
  assert.equal(lrs.length, 10);
  assert.ok(Math.abs(lrs[0] - 3e-3) < 1e-15 && Math.abs(lrs[9] - 1e-5) < 1e-18);
  const ratio = lrs[1] / lrs[0];
  lrs.forEach((x, i) => i > 0 && assert.ok(Math.abs(x / lrs[i - 1] - ratio) < 1e-9));
  const r = await sweepLearningRates(lrs, async (lr) => (lr > 1e-3 ? NaN : -Math.abs(Math.log(lr / 1e-4))));
  assert.ok(Math.abs(r.best.lr - lrs[5]) < 1e-15 || Math.abs(r.best.lr - lrs[4]) < 1e-15, `best ${r.best.lr}`);
  assert.equal(r.results.length, 10);
});
