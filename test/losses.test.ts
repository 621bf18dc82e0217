/**
 * Losses against PyTorch (test/fixtures/losses/losses.json, from test/reference/train_fixtures.py) and
 * against plain-JS references written here.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { contrastiveLoss, distillationFromScores, distillationLoss, groupScores, mlmLoss, maskTokens, infoNCEFromScores, IGNORE_INDEX } from '../lib/losses';
import { UserError } from '../lib/util/errors';
import type { Encoded } from '../lib/index';
import { assertClose, assertEachClose, seededFloats } from './helpers/tensors';

const FIX = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'losses', 'losses.json'), 'utf8'));

before(async () => {
  await initBackend();
});

function colbert(emb: number[], shape: number[], mask: number[]): Encoded {
  return { kind: 'colbert', embeddings: tf.tensor(emb, shape), mask: tf.tensor2d(mask, [shape[0], shape[1]]) };
}

test('InfoNCE dense with hard negatives and learnable temperature matches PyTorch (loss and gradients)', () => {
  const f = FIX.infonce_dense;
  const q = tf.tensor2d(f.q, [f.B, f.D]);
  const d = tf.tensor2d(f.d, [f.B * f.N, f.D]);
  const logT = tf.scalar(f.logTemperature);
  const g = tf.valueAndGrads((qq: tf.Tensor, dd: tf.Tensor, lt: tf.Tensor) =>
    contrastiveLoss({ kind: 'dense', embeddings: qq }, { kind: 'dense', embeddings: dd }, { docsPerQuery: f.N, temperature: tf.exp(lt) as tf.Scalar }),
  )([q, d, logT]);
  assertClose([g.value.arraySync() as number], [f.loss], 1e-5, 'loss');
  assertEachClose(g.grads[0], f.gradQ, 1e-5, 'dL/dq');
  assertEachClose(g.grads[1], f.gradD, 1e-5, 'dL/dd');
  assertClose(g.grads[2], [f.gradLogTemperature], 1e-5, 'dL/dlogT');
});

test('InfoNCE ColBERT (MaxSim with masks) matches PyTorch', () => {
  const f = FIX.infonce_colbert;
  const q = tf.tensor3d(f.q, [f.B, f.Lq, f.D]);
  const d = tf.tensor3d(f.d, [f.B * f.N, f.Ld, f.D]);
  const qm = tf.tensor2d(f.qMask, [f.B, f.Lq]);
  const dm = tf.tensor2d(f.dMask, [f.B * f.N, f.Ld]);
  const g = tf.valueAndGrads((qq: tf.Tensor, dd: tf.Tensor) =>
    contrastiveLoss({ kind: 'colbert', embeddings: qq, mask: qm }, { kind: 'colbert', embeddings: dd, mask: dm }, { docsPerQuery: f.N, temperature: f.temperature }),
  )([q, d]);
  assertClose([g.value.arraySync() as number], [f.loss], 1e-5, 'loss');
  assertEachClose(g.grads[0], f.gradQ, 1e-5, 'dL/dq');
  assertEachClose(g.grads[1], f.gradD, 1e-5, 'dL/dd');
});

for (const which of ['normalized', 'raw']) {
  test(`distillation KL(teacher‖student), student ${which}, matches PyTorch / PyLate convention`, () => {
    const f = FIX[`distillation_colbert_${which}`];
    const qm = tf.tensor2d(f.qMask, [f.B, f.Lq]);
    const dm = tf.tensor2d(f.dMask, [f.B * f.n, f.Ld]);
    const teacher = tf.tensor2d(f.teacher, [f.B, f.n]);
    const g = tf.valueAndGrads((qq: tf.Tensor, dd: tf.Tensor) =>
      distillationLoss({ kind: 'colbert', embeddings: qq, mask: qm }, { kind: 'colbert', embeddings: dd, mask: dm }, teacher, { normalizeStudent: f.normalize }),
    )([tf.tensor3d(f.q, [f.B, f.Lq, f.D]), tf.tensor3d(f.d, [f.B * f.n, f.Ld, f.D])]);
    assertClose([g.value.arraySync() as number], [f.loss], 1e-5, 'loss');
    assertEachClose(g.grads[0], f.gradQ, 1e-4, 'dL/dq');
    assertEachClose(g.grads[1], f.gradD, 1e-4, 'dL/dd');
  });
}

test('MLM cross-entropy matches PyTorch', () => {
  const f = FIX.mlm;
  const g = tf.valueAndGrad((x: tf.Tensor) => mlmLoss(x as tf.Tensor2D, Int32Array.from(f.targets)))(tf.tensor2d(f.logits, [f.M, f.V]));
  assertClose([g.value.arraySync() as number], [f.loss], 1e-6, 'loss');
  assertEachClose(g.grad, f.gradLogits, 1e-5, 'dL/dlogits');
});

test('InfoNCE from scores equals a plain-JS cross-entropy; shards with offsets sum to the global mean', () => {
  const nq = 4;
  const N = 2;
  const nd = nq * N;
  const s = Array.from(seededFloats(nq * nd, 3));
  let ref = 0;
  for (let i = 0; i < nq; i++) {
    const row = s.slice(i * nd, (i + 1) * nd).map((x) => x / 0.1);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
    ref += lse - row[i * N];
  }
  ref /= nq;
  const full = infoNCEFromScores(tf.tensor2d(s, [nq, nd]), { docsPerQuery: N, temperature: 0.1 }).arraySync() as number;
  assert.ok(Math.abs(full - ref) < 1e-5 * Math.abs(ref), `${full} vs ${ref}`);
  const top = infoNCEFromScores(tf.tensor2d(s.slice(0, 2 * nd), [2, nd]), { docsPerQuery: N, temperature: 0.1, normalizer: nq });
  const bottom = infoNCEFromScores(tf.tensor2d(s.slice(2 * nd), [2, nd]), { docsPerQuery: N, temperature: 0.1, queryOffset: 2, normalizer: nq });
  const sum = (top.arraySync() as number) + (bottom.arraySync() as number);
  assert.ok(Math.abs(sum - ref) < 1e-5 * Math.abs(ref), `shards ${sum} vs ${ref}`);
});

test('MLM masking: ~30% of eligible tokens, never padding or specials, 80/10/10 split, deterministic in the seed', () => {
  const n = 20000;
  const ids = new Int32Array(n);
  const att = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = i % 50 === 0 ? 1 : 5 + (i % 90); // 1 is a special token
    att[i] = i % 10 === 9 ? 0 : 1; // every 10th position is padding
  }
  const opts = { maskId: 4, vocabSize: 100, specialIds: [1], seed: 11 };
  const m = maskTokens(ids, att, opts);
  let eligible = 0;
  let masked = 0;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (att[i] === 1 && ids[i] !== 1) eligible++;
    if (m.labels[i] === IGNORE_INDEX) {
      assert.equal(m.inputIds[i], ids[i]);
      continue;
    }
    assert.ok(att[i] === 1 && ids[i] !== 1, `position ${i} must not be selected`);
    if (m.inputIds[i] === 4) masked++;
    else if (m.inputIds[i] === ids[i]) kept++;
  }
  const sel = m.positions.length;
  assert.ok(Math.abs(sel / eligible - 0.3) < 0.015, `selected ${sel / eligible}`);
  assert.ok(Math.abs(masked / sel - 0.8) < 0.02, `[MASK] share ${masked / sel}`);
  // "kept" also counts random replacements that drew the original id (1/100 of 10%).
  assert.ok(Math.abs(kept / sel - 0.101) < 0.02, `unchanged share ${kept / sel}`);
  assert.deepEqual(maskTokens(ids, att, opts).inputIds, m.inputIds);
  assert.notDeepEqual(maskTokens(ids, att, { ...opts, seed: 12 }).inputIds, m.inputIds);
});

test('mismatched tensors given to a loss are a UserError naming them and their shapes', () => {
  const student = tf.zeros([2, 3]) as tf.Tensor2D;
  assert.throws(() => distillationFromScores(student, tf.zeros([2, 4]) as tf.Tensor2D), (e: Error) => e instanceof UserError && /student scores \[2,3\] vs teacher scores \[2,4\]/.test(e.message));
  const q: Encoded = { kind: 'dense', embeddings: tf.zeros([2, 4]) };
  assert.throws(() => groupScores(q, { kind: 'dense', embeddings: tf.zeros([5, 4]) }, 3), (e: Error) => e instanceof UserError && /5 documents for 2 queries × 3/.test(e.message));
  tf.dispose([student, q.embeddings]);
});
