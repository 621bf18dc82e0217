/**
 * MaxSim, cosine scores and the three losses as ONNX graphs (lib/scores/graph.ts, lib/losses/graph.ts)
 * against their TensorFlow.js definitions (lib/scores, lib/losses — themselves checked against PyTorch in
 * losses.test.ts and scores.test.ts): values and gradients, element by element, with masks, documents
 * without a scored token, fully masked queries, and a learnable temperature.
 */
import { test, before } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/backend';
import { colbertKdScores, colbertScores, cosineScores } from '../lib/scores';
import { cosineGroups, cosineMatrix, maxSimGroups, maxSimMatrix } from '../lib/scores/graph';
import { distillationGraph, infoNCEGraph, mlmGraph } from '../lib/losses/graph';
import { distillationFromScores, groupScores, infoNCEFromScores, mlmLoss } from '../lib/losses';
import { assertElementwise, checkGraph } from './helpers/graph-check';
import { DiffGraph } from '../lib/backend/onnx-autodiff';
import { createSession, loadOrt } from '../lib/backend/ort';

before(async () => {
  await initBackend();
});

/** Unit-length rows (as ColBERT's embeddings are), so MaxSim values are in [−Lq, Lq]. */
function unitRows(n: number, dim: number, seed: number): Float32Array {
  const x = new Float32Array(n * dim);
  let s = seed;
  for (let i = 0; i < x.length; i++) x[i] = Math.sin((s += 1.7) * 12.9898) * 2;
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += x[r * dim + j] ** 2;
    for (let j = 0; j < dim; j++) x[r * dim + j] /= Math.sqrt(norm);
  }
  return x;
}

const mask = (rows: number[][]) => Float32Array.from(rows.flat());

test('MaxSim, all queries × all documents, equals colbertScores (value and gradients)', async () => {
  const qm = mask([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]]); // the last query scores nothing
  const dm = mask([[1, 1, 1, 1, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 0, 0]]); // document 2 has no scored token
  await checkGraph(
    'maxSimMatrix',
    [{ dims: [3, 4, 6], data: unitRows(12, 6, 1) }, { dims: [3, 4], data: qm, constant: true }, { dims: [4, 5, 6], data: unitRows(20, 6, 2) }, { dims: [4, 5], data: dm, constant: true }],
    (g, [q, qMask, d, dMask]) => maxSimMatrix(g, q, qMask, d, dMask),
    (q, qMask, d, dMask) => colbertScores(q as tf.Tensor3D, d as tf.Tensor3D, qMask as tf.Tensor2D, dMask as tf.Tensor2D),
  );
});

test('MaxSim, each query against its own k documents, equals colbertKdScores', async () => {
  const qm = mask([[1, 1, 1], [1, 1, 0]]);
  const dm = mask([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 1, 0]]);
  await checkGraph(
    'maxSimGroups',
    [{ dims: [2, 3, 5], data: unitRows(6, 5, 3) }, { dims: [2, 3], data: qm, constant: true }, { dims: [6, 4, 5], data: unitRows(24, 5, 4) }, { dims: [6, 4], data: dm, constant: true }],
    (g, [q, qMask, d, dMask]) => maxSimGroups(g, q, qMask, d, dMask, 3),
    (q, qMask, d, dMask) => colbertKdScores(q as tf.Tensor3D, d.reshape([2, 3, 4, 5]) as tf.Tensor4D, qMask as tf.Tensor2D, dMask.reshape([2, 3, 4]) as tf.Tensor3D),
  );
});

test('cosine scores (matrix and groups) equal the dense scores', async () => {
  await checkGraph('cosineMatrix', [{ dims: [3, 7] }, { dims: [5, 7] }], (g, [q, d]) => cosineMatrix(g, q, d), (q, d) => cosineScores(q as tf.Tensor2D, d as tf.Tensor2D));
  await checkGraph('cosineGroups', [{ dims: [2, 7] }, { dims: [6, 7] }], (g, [q, d]) => cosineGroups(g, q, d, 3), (q, d) =>
    groupScores({ kind: 'dense', embeddings: q }, { kind: 'dense', embeddings: d }, 3));
});

test('InfoNCE with a query offset and a learnable temperature equals infoNCEFromScores', async () => {
  // 2 queries of a shard starting at global query 1, 3 documents per query, 9 documents in all.
  const scores = Float32Array.from({ length: 18 }, (_, i) => Math.sin(i * 1.3) * 20);
  await checkGraph(
    'infoNCE',
    [{ dims: [2, 9], data: scores }, { dims: [], data: Float32Array.of(Math.log(0.05)) }],
    (g, [s, logTau]) => infoNCEGraph(g, s, g.exp(logTau), g.ints('offset', [], [1]), g.ints('n', [], [3]), g.scalar(3)),
    (s, logTau) => infoNCEFromScores(s as tf.Tensor2D, { docsPerQuery: 3, temperature: tf.exp(logTau) as tf.Scalar, queryOffset: 1, normalizer: 3 }),
    2e-5,
  );
});

test('distillation KL (student min–max normalised or not) equals distillationFromScores', async () => {
  const student = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i * 0.7) * 9 + 10);
  const teacher = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i * 2.1) * 4);
  for (const normalizeStudent of [true, false]) {
    await checkGraph(
      `distillation normalizeStudent=${normalizeStudent}`,
      [{ dims: [3, 4], data: student }, { dims: [3, 4], data: teacher, constant: true }],
      (g, [s, t]) => distillationGraph(g, s, t, g.scalar(3), { normalizeStudent }),
      (s, t) => distillationFromScores(s as tf.Tensor2D, t as tf.Tensor2D, { normalizeStudent }),
    );
  }
});

test('masked-LM cross-entropy equals mlmLoss (scaled by masked tokens of the global batch)', async () => {
  const targets = [3, 0, 7, 7, 2];
  await checkGraph(
    'mlm',
    [{ dims: [5, 9] }],
    (g, [logits]) => mlmGraph(g, logits, g.ints('targets', [5], targets), g.scalar(5 / 8 / 5)),
    (logits) => tf.mul(mlmLoss(logits as tf.Tensor2D, Int32Array.from(targets)), 5 / 8),
  );
});

test("MaxSim's hand-written sparse gradient equals the derived one (dense one-hot products)", async () => {
  const ort = loadOrt();
  const cases = [
    { name: 'matrix', q: [3, 4, 6], d: [4, 5, 6], k: 0 },
    { name: 'groups', q: [2, 3, 5], d: [6, 4, 5], k: 3 },
  ];
  for (const c of cases) {
    const grads: Float32Array[][] = [];
    for (const derived of [false, true]) {
      const g = new DiffGraph();
      const q = g.input('q', 'float', c.q, { differentiable: true });
      const d = g.input('d', 'float', c.d, { differentiable: true });
      const qm = g.input('qm', 'float', c.q.slice(0, 2));
      const dm = g.input('dm', 'float', c.d.slice(0, 2));
      const y = c.k ? maxSimGroups(g, q, qm, d, dm, c.k, { derived }) : maxSimMatrix(g, q, qm, d, dm, { derived });
      const seed = g.input('seed', 'float', c.k ? [c.q[0], c.k] : [c.q[0], c.d[0]]);
      g.gradients([{ value: y, grad: seed }], [q, d]).forEach((x, i) => g.output(x, `d${i}`));
      const s = await createSession(g.serialize({ producer: 'test', version: '1' }), c.name, { threads: 1 });
      const n = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
      const dmask = Float32Array.from({ length: n(c.d.slice(0, 2)) }, (_, i) => (i % 7 === 5 ? 0 : 1));
      const out = await s.run({
        q: new ort.Tensor('float32', unitRows(n(c.q.slice(0, 2)), c.q[2], 11), c.q),
        d: new ort.Tensor('float32', unitRows(n(c.d.slice(0, 2)), c.d[2], 12), c.d),
        qm: new ort.Tensor('float32', Float32Array.from({ length: n(c.q.slice(0, 2)) }, (_, i) => (i % 5 === 4 ? 0 : 1)), c.q.slice(0, 2)),
        dm: new ort.Tensor('float32', dmask, c.d.slice(0, 2)),
        seed: new ort.Tensor('float32', Float32Array.from({ length: c.k ? c.q[0] * c.k : c.q[0] * c.d[0] }, (_, i) => Math.sin(i + 1)), c.k ? [c.q[0], c.k] : [c.q[0], c.d[0]]),
      });
      grads.push([out.d0.data as Float32Array, out.d1.data as Float32Array]);
      await s.release();
    }
    grads[0].forEach((gr, i) => assertElementwise(gr, grads[1][i], 1e-6, 1e-7, `${c.name}: gradient ${i}, hand-written vs derived`));
  }
});
