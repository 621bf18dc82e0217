/**
 * MaxSim and dense scores: PyLate's documented examples, a plain-loop reference on random masked inputs
 * (including all-negative similarities, where a padded token must not win), and gradients against cpu.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { UserError } from '../lib/index';
import { colbertScores, colbertScoresPairwise, colbertKdScores, dotScores, cosineScores, dotScoresPairwise, cosineScoresPairwise } from '../lib/index';
import { assertClose, seededFloats } from './helpers/tensors';
import { sharedPath, skipWithoutShared } from './helpers/shared';

/** Plain MaxSim of one query [lq, dim] vs one document [ld, dim] with 0/1 masks (null = all scored). */
function refMaxSim(q: Float32Array, qm: ArrayLike<number> | null, d: Float32Array, dm: ArrayLike<number> | null, dim: number): number {
  const lq = q.length / dim;
  const ld = d.length / dim;
  let total = 0;
  let any = false;
  for (let j = 0; j < ld; j++) if (!dm || dm[j]) any = true;
  if (!any) return 0;
  for (let i = 0; i < lq; i++) {
    if (qm && !qm[i]) continue;
    let best = -Infinity;
    for (let j = 0; j < ld; j++) {
      if (dm && !dm[j]) continue;
      let s = 0;
      for (let c = 0; c < dim; c++) s += q[i * dim + c] * d[j * dim + c];
      best = Math.max(best, s);
    }
    total += best;
  }
  return total;
}

/** Random 0/1 mask with at least `minOn` ones per row at the front (padding at the end, like tokenizers). */
function lengthMask(rows: number, len: number, seed: number, minOn = 1): Float32Array {
  const m = new Float32Array(rows * len);
  const r = seededFloats(rows, seed);
  for (let i = 0; i < rows; i++) {
    const on = minOn + Math.floor(((r[i] + 1) / 2) * (len - minOn + 1));
    for (let j = 0; j < Math.min(on, len); j++) m[i * len + j] = 1;
  }
  return m;
}

const slice = (a: Float32Array, i: number, size: number) => a.subarray(i * size, (i + 1) * size);

test('PyLate documented examples: matrix, pairwise and n-way (masked) scores', { skip: skipWithoutShared('test_vectors', 'maxsim_pylate.json') }, async () => {
  await initBackend('wasm');
  const v = JSON.parse(fs.readFileSync(sharedPath('test_vectors', 'maxsim_pylate.json')!, 'utf8'));
  const q = tf.tensor3d(v.queries_embeddings);
  const m = colbertScores(q, tf.tensor3d(v.colbert_scores.documents_embeddings));
  assert.deepEqual(m.arraySync(), v.colbert_scores.expected);
  const p = colbertScoresPairwise(q, tf.tensor3d(v.colbert_scores_pairwise.documents_embeddings));
  assert.deepEqual(p.arraySync(), v.colbert_scores_pairwise.expected);
  const kd = colbertKdScores(q, tf.tensor4d(v.colbert_kd_scores.documents_embeddings), undefined, tf.tensor3d(v.colbert_kd_scores.mask));
  assert.deepEqual(kd.arraySync(), v.colbert_kd_scores.expected);
});

/** Random inputs shifted so that every similarity is negative when `allNegative` (q ≥ 0, d ≤ 0). */
function inputs(nq: number, lq: number, nd: number, ld: number, dim: number, seed: number, allNegative: boolean) {
  const q = seededFloats(nq * lq * dim, seed);
  const d = seededFloats(nd * ld * dim, seed + 1);
  if (allNegative) {
    for (let i = 0; i < q.length; i++) q[i] = Math.abs(q[i]) + 0.01;
    for (let i = 0; i < d.length; i++) d[i] = -Math.abs(d[i]) - 0.01;
  }
  const qm = lengthMask(nq, lq, seed + 2);
  const dm = lengthMask(nd, ld, seed + 3);
  // Padded document tokens carry large values: if they were scored they would win (or dominate).
  for (let i = 0; i < nd * ld; i++) if (!dm[i]) for (let c = 0; c < dim; c++) d[i * dim + c] = allNegative ? 0 : 5;
  return { q, d, qm, dm };
}

for (const allNegative of [false, true]) {
  for (const [nq, lq, nd, ld, dim] of [
    [3, 5, 4, 7, 6], // few query tokens: D·Qᵀ orientation
    [9, 8, 5, 6, 4], // many query tokens: Q·Dᵀ orientation
  ]) {
    test(`colbertScores matches the plain loop (${nq}x${lq} vs ${nd}x${ld}, dim ${dim}, allNegative=${allNegative})`, async () => {
      await initBackend('wasm');
      const { q, d, qm, dm } = inputs(nq, lq, nd, ld, dim, 11 + nq, allNegative);
      const want = new Float32Array(nq * nd);
      for (let a = 0; a < nq; a++)
        for (let b = 0; b < nd; b++) want[a * nd + b] = refMaxSim(slice(q, a, lq * dim), slice(qm, a, lq), slice(d, b, ld * dim), slice(dm, b, ld), dim);
      const got = colbertScores(tf.tensor3d(q, [nq, lq, dim]), tf.tensor3d(d, [nd, ld, dim]), tf.tensor2d(qm, [nq, lq]), tf.tensor2d(dm, [nd, ld]));
      assert.deepEqual(got.shape, [nq, nd]);
      assertClose(got, want, 1e-5, 'matrix scores');
      if (allNegative) assert.ok(Array.from(got.dataSync()).every((x) => x < 0), 'all similarities negative → negative scores');
    });
  }

  test(`colbertScoresPairwise and colbertKdScores match the plain loop (allNegative=${allNegative})`, async () => {
    await initBackend('wasm');
    const [n, k, lq, ld, dim] = [4, 3, 6, 5, 8];
    const { q, d, qm, dm } = inputs(n, lq, n * k, ld, dim, 40, allNegative);
    const kd = colbertKdScores(tf.tensor3d(q, [n, lq, dim]), tf.tensor4d(d, [n, k, ld, dim]), tf.tensor2d(qm, [n, lq]), tf.tensor3d(dm, [n, k, ld]));
    const want = new Float32Array(n * k);
    for (let a = 0; a < n; a++)
      for (let b = 0; b < k; b++) want[a * k + b] = refMaxSim(slice(q, a, lq * dim), slice(qm, a, lq), slice(d, a * k + b, ld * dim), slice(dm, a * k + b, ld), dim);
    assertClose(kd, want, 1e-5, 'n-way scores');
    // Pairwise on the first document of each group.
    const firstD = new Float32Array(n * ld * dim);
    const firstM = new Float32Array(n * ld);
    const wantP = new Float32Array(n);
    for (let a = 0; a < n; a++) {
      firstD.set(slice(d, a * k, ld * dim), a * ld * dim);
      firstM.set(slice(dm, a * k, ld), a * ld);
      wantP[a] = want[a * k];
    }
    const p = colbertScoresPairwise(tf.tensor3d(q, [n, lq, dim]), tf.tensor3d(firstD, [n, ld, dim]), tf.tensor2d(qm, [n, lq]), tf.tensor2d(firstM, [n, ld]));
    assertClose(p, wantP, 1e-5, 'pairwise scores');
  });
}

test('edge cases: negative similarities beside a zero padding token, fully masked document, no masks', async () => {
  await initBackend('wasm');
  const q = tf.tensor3d([[[1, 0, 0], [0, 1, 0]]]); // [1, 2, 3], both tokens scored (no query mask)
  // Doc 0: two real tokens with negative similarities and a zero padding token; doc 1: fully masked.
  const d = tf.tensor3d([[[-2, -1, 0], [-1, -3, 0], [0, 0, 0]], [[9, 9, 9], [9, 9, 9], [9, 9, 9]]]);
  const dm = tf.tensor2d([[1, 1, 0], [0, 0, 0]]);
  const s = Array.from(colbertScores(q, d, undefined, dm).dataSync());
  assert.deepEqual(s.map((x) => x + 0), [-1 + -1, 0]); // PyLate's mask-multiply would give 0 + 0 for doc 0
  const p = Array.from(colbertScoresPairwise(q, d.slice([0, 0, 0], [1, 3, 3]), undefined, dm.slice([0, 0], [1, 3])).dataSync());
  assert.deepEqual(p, [-2]);
  // Without masks every token is scored: the zero token wins for doc 0.
  assert.deepEqual(Array.from(colbertScores(q, d).dataSync()), [0, 18]);
  // Empty batches give empty score matrices.
  assert.deepEqual(colbertScores(tf.zeros([0, 2, 3]) as tf.Tensor3D, d).shape, [0, 2]);
  assert.deepEqual(colbertScores(q, tf.zeros([0, 3, 3]) as tf.Tensor3D).shape, [1, 0]);
  // A masked query token adds nothing.
  assert.deepEqual(Array.from(colbertScores(q, d, tf.tensor2d([[1, 0]]), dm).dataSync()).map((x) => x + 0), [-1, 0]);
});

test('bad shapes throw a UserError naming the shapes', async () => {
  await initBackend('wasm');
  const q = tf.zeros([2, 3, 4]) as tf.Tensor3D;
  assert.throws(() => colbertScores(q, tf.zeros([2, 3, 5]) as tf.Tensor3D), (e: Error) => e instanceof UserError && /dim 4 vs document dim 5/.test(e.message));
  assert.throws(() => colbertScores(q, q, tf.zeros([2, 4]) as tf.Tensor2D), (e: Error) => e instanceof UserError && /query mask has shape \[2,4\]/.test(e.message));
  assert.throws(() => colbertKdScores(q, tf.zeros([3, 2, 3, 4]) as tf.Tensor4D), /2 queries vs 3 document groups/);
  assert.throws(() => dotScoresPairwise(tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([3, 4]) as tf.Tensor2D), UserError);
});

test('dense dot and cosine, matrix and pairwise, match plain loops', async () => {
  await initBackend('wasm');
  const [n, m, dim] = [5, 7, 6];
  const a = seededFloats(n * dim, 70);
  const b = seededFloats(m * dim, 71);
  const dot = (x: Float32Array, i: number, y: Float32Array, j: number) => {
    let s = 0;
    for (let c = 0; c < dim; c++) s += x[i * dim + c] * y[j * dim + c];
    return s;
  };
  const wantDot = new Float32Array(n * m);
  const wantCos = new Float32Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      wantDot[i * m + j] = dot(a, i, b, j);
      wantCos[i * m + j] = dot(a, i, b, j) / Math.sqrt(dot(a, i, a, i) * dot(b, j, b, j));
    }
  const ta = tf.tensor2d(a, [n, dim]);
  const tb = tf.tensor2d(b, [m, dim]);
  assertClose(dotScores(ta, tb), wantDot, 1e-5, 'dot');
  assertClose(cosineScores(ta, tb), wantCos, 1e-5, 'cosine');
  const tb5 = tb.slice([0, 0], [n, dim]) as tf.Tensor2D;
  assertClose(dotScoresPairwise(ta, tb5), Array.from({ length: n }, (_, i) => wantDot[i * m + i]), 1e-5, 'dot pairwise');
  assertClose(cosineScoresPairwise(ta, tb5), Array.from({ length: n }, (_, i) => wantCos[i * m + i]), 1e-5, 'cosine pairwise');
});

test('gradients of all three MaxSim shapes and of cosine match the cpu backend', async () => {
  const [nq, lq, nd, ld, dim, k] = [3, 4, 6, 5, 4, 2];
  const { q, d, qm, dm } = inputs(nq, lq, nd, ld, dim, 90, false);
  const w = seededFloats(nq * nd, 91); // a fixed weighting makes the upstream gradient non-trivial
  const run = () =>
    tf.tidy(() => {
      const tq = tf.tensor3d(q, [nq, lq, dim]);
      const td = tf.tensor3d(d, [nd, ld, dim]);
      const tqm = tf.tensor2d(qm, [nq, lq]);
      const tdm = tf.tensor2d(dm, [nd, ld]);
      const tw = tf.tensor2d(w, [nq, nd]);
      const f = (x: tf.Tensor, y: tf.Tensor) => {
        const x3 = x as tf.Tensor3D;
        const y3 = y as tf.Tensor3D;
        const mat = colbertScores(x3, y3, tqm, tdm).mul(tw).sum();
        const kd = colbertKdScores(x3, y3.reshape([nq, k, ld, dim]) as tf.Tensor4D, tqm, tdm.reshape([nq, k, ld]) as tf.Tensor3D).square().sum();
        const pw = colbertScoresPairwise(x3, y3.slice([0, 0, 0], [nq, ld, dim]), tqm, tdm.slice([0, 0], [nq, ld]) as tf.Tensor2D).sum();
        const cos = cosineScores(x3.reshape([nq, lq * dim]) as tf.Tensor2D, y3.reshape([nd, ld * dim]).slice([0, 0], [nd, lq * dim]) as tf.Tensor2D).sum();
        return mat.add(kd).add(pw).add(cos);
      };
      const [gq, gd] = tf.grads(f)([tq, td]);
      return [f(tq, td), gq, gd].map((t) => t.dataSync() as Float32Array);
    });
  await initBackend('wasm');
  const wasm = run();
  await initBackend('cpu');
  const cpu = run();
  await initBackend('wasm');
  for (let i = 0; i < 3; i++) assertClose(wasm[i], cpu[i], 1e-5, ['value', 'dQ', 'dD'][i]);
  // Padded document tokens never win, so they get no MaxSim gradient.
  const gd = tf.tidy(() => {
    const f = (y: tf.Tensor) => colbertScores(tf.tensor3d(q, [nq, lq, dim]), y as tf.Tensor3D, tf.tensor2d(qm, [nq, lq]), tf.tensor2d(dm, [nd, ld])).sum();
    return tf.grad(f)(tf.tensor3d(d, [nd, ld, dim])).dataSync();
  });
  for (let t = 0; t < nd * ld; t++) if (!dm[t]) for (let c = 0; c < dim; c++) assert.equal(gd[t * dim + c], 0, `padded token ${t} got a gradient`);
});

/** MaxSim written the obvious way (broadcast product, where-masking), differentiated by tfjs autodiff. */
function naiveMatrix(q: tf.Tensor3D, d: tf.Tensor3D, qm: tf.Tensor2D, dm: tf.Tensor2D): tf.Tensor2D {
  const [nq, lq, dim] = q.shape;
  const [nd, ld] = d.shape;
  const sims = tf.sum(tf.mul(q.reshape([nq, lq, 1, 1, dim]), d.reshape([1, 1, nd, ld, dim])), 4);
  const keep = tf.broadcastTo(tf.greater(dm, 0).reshape([1, 1, nd, ld]), [nq, lq, nd, ld]);
  const best = tf.max(tf.where(keep, sims, tf.fill([nq, lq, nd, ld], -1e9)), 3);
  const present = tf.cast(tf.greater(tf.sum(dm, 1), 0), 'float32').reshape([1, nd]);
  return tf.mul(tf.sum(tf.mul(best, qm.reshape([nq, lq, 1])), 1), present) as tf.Tensor2D;
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`colbertScores' written-out gradient equals autodiff of a naive MaxSim, one block and many (${backend})`, async () => {
    await initBackend(backend);
    try {
      for (const [nq, lq, nd, ld, dim] of [
        [3, 4, 7, 5, 6], // D·Qᵀ orientation
        [6, 50, 5, 4, 3], // Q·Dᵀ orientation
      ]) {
        const { q, d, qm, dm } = inputs(nq, lq, nd, ld, dim, 300 + nq, false);
        dm.fill(0, 2 * ld, 3 * ld); // document 2 has no tokens
        const w = seededFloats(nq * nd, 301);
        tf.tidy(() => {
          const tq = tf.tensor3d(q, [nq, lq, dim]);
          const td = tf.tensor3d(d, [nd, ld, dim]);
          const tqm = tf.tensor2d(qm, [nq, lq]);
          const tdm = tf.tensor2d(dm, [nd, ld]);
          const tw = tf.tensor2d(w, [nq, nd]);
          const loss = (fn: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor2D) => (x: tf.Tensor, y: tf.Tensor) => fn(x as tf.Tensor3D, y as tf.Tensor3D).mul(tw).sum();
          const [wq, wd] = tf.grads(loss((x, y) => naiveMatrix(x, y, tqm, tdm)))([tq, td]);
          const want = naiveMatrix(tq, td, tqm, tdm);
          for (const blockFloats of [undefined, 1]) {
            const ours = (x: tf.Tensor3D, y: tf.Tensor3D) => colbertScores(x, y, tqm, tdm, { blockFloats });
            const [gq, gd] = tf.grads(loss(ours))([tq, td]);
            const tag = `${nq}x${lq} vs ${nd}x${ld}, blockFloats ${blockFloats ?? 'default'}`;
            assertClose(ours(tq, td), want, 1e-5, `value ${tag}`);
            assertClose(gq, wq, 1e-5, `dQ ${tag}`);
            assertClose(gd, wd, 1e-5, `dD ${tag}`);
          }
        });
      }
    } finally {
      await initBackend('wasm');
    }
  });
}

test('tied document tokens: the gradient goes to the first of them (as torch max does)', async () => {
  await initBackend('wasm');
  const q = tf.tensor3d([[[1, 0]]]);
  const d = tf.tensor3d([[[0, 1], [2, 0], [2, 0]]]); // tokens 1 and 2 tie
  const gd = tf.grad((y: tf.Tensor) => colbertScores(q, y as tf.Tensor3D).sum())(d);
  assert.deepEqual(gd.arraySync(), [[[0, 0], [1, 0], [0, 0]]]);
});

test('colbertScores without a tape keeps no tensors; with one, releases them after backprop', async () => {
  await initBackend('wasm');
  const q = tf.tensor3d(seededFloats(2 * 3 * 4, 1), [2, 3, 4]);
  const d = tf.tensor3d(seededFloats(5 * 6 * 4, 2), [5, 6, 4]);
  const dm = tf.tensor2d(lengthMask(5, 6, 3), [5, 6]);
  const before = tf.memory().numTensors;
  colbertScores(q, d, undefined, dm, { blockFloats: 10 }).dispose();
  assert.equal(tf.memory().numTensors, before);
  const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => colbertScores(x as tf.Tensor3D, y as tf.Tensor3D, undefined, dm, { blockFloats: 10 }).sum())([q, d]);
  g.forEach((t) => t.dispose());
  assert.equal(tf.memory().numTensors, before);
});

/** n-way MaxSim the obvious way, differentiated by autodiff. */
function naiveKd(q: tf.Tensor3D, d: tf.Tensor4D, qm: tf.Tensor2D, dm: tf.Tensor3D): tf.Tensor2D {
  const [n, lq, dim] = q.shape;
  const [, k, ld] = d.shape;
  const sims = tf.sum(tf.mul(q.reshape([n, lq, 1, 1, dim]), d.reshape([n, 1, k, ld, dim])), 4);
  const keep = tf.broadcastTo(tf.greater(dm, 0).reshape([n, 1, k, ld]), [n, lq, k, ld]);
  const best = tf.max(tf.where(keep, sims, tf.fill([n, lq, k, ld], -1e9)), 3);
  const present = tf.cast(tf.greater(tf.sum(dm, 2), 0), 'float32');
  return tf.mul(tf.sum(tf.mul(best, qm.reshape([n, lq, 1])), 1), present) as tf.Tensor2D;
}

test("colbertKdScores' and colbertScoresPairwise's written-out gradients equal autodiff of a naive MaxSim", async () => {
  await initBackend('wasm');
  const [n, k, lq, ld, dim] = [3, 4, 5, 6, 7];
  const { q, d, qm, dm } = inputs(n, lq, n * k, ld, dim, 500, false);
  dm.fill(0, 5 * ld, 6 * ld); // one document without tokens
  const w = seededFloats(n * k, 501);
  tf.tidy(() => {
    const tq = tf.tensor3d(q, [n, lq, dim]);
    const td = tf.tensor4d(d, [n, k, ld, dim]);
    const tqm = tf.tensor2d(qm, [n, lq]);
    const tdm = tf.tensor3d(dm, [n, k, ld]);
    const tw = tf.tensor2d(w, [n, k]);
    const loss = (fn: typeof naiveKd) => (x: tf.Tensor, y: tf.Tensor) => fn(x as tf.Tensor3D, y as tf.Tensor4D, tqm, tdm).mul(tw).sum();
    const [wq, wd] = tf.grads(loss(naiveKd))([tq, td]);
    const [gq, gd] = tf.grads(loss(colbertKdScores))([tq, td]);
    assertClose(colbertKdScores(tq, td, tqm, tdm), naiveKd(tq, td, tqm, tdm), 1e-5, 'n-way value');
    assertClose(gq, wq, 1e-5, 'n-way dQ');
    assertClose(gd, wd, 1e-5, 'n-way dD');
    // Pairwise = the first document of each group.
    const d1 = td.slice([0, 0, 0, 0], [n, 1, ld, dim]).reshape([n, ld, dim]) as tf.Tensor3D;
    const m1 = tdm.slice([0, 0, 0], [n, 1, ld]).reshape([n, ld]) as tf.Tensor2D;
    const pw = (x: tf.Tensor, y: tf.Tensor) => colbertScoresPairwise(x as tf.Tensor3D, y as tf.Tensor3D, tqm, m1).mul(tw.slice([0, 0], [n, 1]).reshape([n])).sum();
    const nv = (x: tf.Tensor, y: tf.Tensor) =>
      naiveKd(x as tf.Tensor3D, y.reshape([n, 1, ld, dim]) as tf.Tensor4D, tqm, m1.reshape([n, 1, ld]) as tf.Tensor3D).reshape([n]).mul(tw.slice([0, 0], [n, 1]).reshape([n])).sum();
    const [pq, pd] = tf.grads(pw)([tq, d1]);
    const [nq, nd] = tf.grads(nv)([tq, d1]);
    assertClose(pq, nq, 1e-5, 'pairwise dQ');
    assertClose(pd, nd, 1e-5, 'pairwise dD');
  });
});
