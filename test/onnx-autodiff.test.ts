/**
 * The ONNX differentiator (lib/backend/onnx-autodiff) against TensorFlow.js's autodiff: every operator's
 * vector-Jacobian product, on random inputs with broadcasting, run on ONNX Runtime and compared with
 * tf.grads of the same function, element by element.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/backend';
import { DiffGraph, type Sym } from '../lib/backend/onnx-autodiff';
import { createSession, loadOrt } from '../lib/backend/ort';
import { seededFloats } from './helpers/tensors';
import { assertElementwise, checkGraph } from './helpers/graph-check';

before(async () => {
  await initBackend();
});

const check = checkGraph;

test('element-wise operators with broadcasting', async () => {
  await check('add', [{ dims: [2, 3, 4] }, { dims: [4] }], (g, [a, b]) => g.add(a, b), (a, b) => tf.add(a, b));
  await check('sub', [{ dims: [2, 1, 4] }, { dims: [3, 1] }], (g, [a, b]) => g.sub(a, b), (a, b) => tf.sub(a, b));
  await check('mul', [{ dims: [2, 3, 4] }, { dims: [2, 3, 1] }], (g, [a, b]) => g.mul(a, b), (a, b) => tf.mul(a, b));
  await check('div', [{ dims: [3, 4] }, { dims: [3, 1], positive: true }], (g, [a, b]) => g.div(a, b), (a, b) => tf.div(a, b));
  await check('max', [{ dims: [3, 4] }, { dims: [4] }], (g, [a, b]) => g.max(a, b), (a, b) => tf.maximum(a, tf.broadcastTo(b, [3, 4])));
  await check('scalar', [{ dims: [3, 4] }, { dims: [] }], (g, [a, b]) => g.mul(a, g.exp(b)), (a, b) => tf.mul(a, tf.exp(b)));
});

test('unary operators', async () => {
  const d = [{ dims: [5, 6] }];
  await check('neg', d, (g, [x]) => g.neg(x), (x) => tf.neg(x));
  await check('exp', d, (g, [x]) => g.exp(x), (x) => tf.exp(x));
  await check('erf', d, (g, [x]) => g.erf(x), (x) => tf.erf(x));
  await check('tanh', d, (g, [x]) => g.tanh(x), (x) => tf.tanh(x));
  await check('sigmoid', d, (g, [x]) => g.sigmoid(x), (x) => tf.sigmoid(x));
  await check('relu', d, (g, [x]) => g.relu(x), (x) => tf.relu(x));
  await check('sqrt', [{ dims: [5, 6], positive: true }], (g, [x]) => g.sqrt(x), (x) => tf.sqrt(x));
  await check('log', [{ dims: [5, 6], positive: true }], (g, [x]) => g.log(x), (x) => tf.log(x));
  const pattern = Array.from({ length: 20 }, (_, i) => (i * 7) % 3 === 0);
  await check('where', [{ dims: [4, 5] }, { dims: [5] }], (g, [a, b]) => g.where(g.cast(g.ints('cond', [4, 5], pattern.map(Number)), 'bool'), a, b), (a, b) =>
    tf.where(tf.tensor(pattern, [4, 5], 'bool'), a, tf.broadcastTo(b, [4, 5])));
});

test('reductions: sum, mean, max and min (first winner or all ties)', async () => {
  await check('reduceSum', [{ dims: [2, 3, 4] }], (g, [x]) => g.reduceSum(x, [0, 2], false), (x) => tf.sum(x, [0, 2]));
  await check('reduceSum keepdims', [{ dims: [2, 3, 4] }], (g, [x]) => g.reduceSum(x, [1], true), (x) => tf.sum(x, 1, true));
  await check('reduceMean', [{ dims: [2, 3, 4] }], (g, [x]) => g.reduceMean(x, [-1], true), (x) => tf.mean(x, -1, true));
  await check('reduceMax all', [{ dims: [3, 5] }], (g, [x]) => g.reduceMax(x, 1, false, 'all'), (x) => tf.max(x, 1));
  await check('reduceMin all', [{ dims: [3, 5] }], (g, [x]) => g.reduceMax(x, 0, true, 'all', 'min'), (x) => tf.min(x, 0, true));
  // Ties: 'first' gives the whole gradient to the first maximal element, 'all' to each of them (as tf.max).
  const tied = Float32Array.of(1, 3, 3, 0, 2, 2, 2, 1);
  const first = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([t]);
    return { value: tf.max(t, 1), gradFunc: (dy: tf.Tensor, [x]: tf.Tensor[]) => tf.mul(tf.oneHot(tf.argMax(x, 1), x.shape[1]!), dy.expandDims(1)) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
  await check('reduceMax first (ties)', [{ dims: [2, 4], data: tied }], (g, [x]) => g.reduceMax(x, 1, false, 'first'), first);
  await check('reduceMax all (ties)', [{ dims: [2, 4], data: tied }], (g, [x]) => g.reduceMax(x, 1, false, 'all'), (x) => tf.max(x, 1));
});

test('products: batched, shared weight, Gemm with every transpose', async () => {
  await check('matmul batched', [{ dims: [2, 3, 4, 5] }, { dims: [2, 3, 5, 2] }], (g, [a, b]) => g.matmul(a, b), (a, b) => tf.matMul(a, b));
  await check('matmul shared weight', [{ dims: [2, 3, 4] }, { dims: [4, 6] }], (g, [a, b]) => g.matmul(a, b), (a, b) => tf.matMul(a.reshape([6, 4]), b).reshape([2, 3, 6]));
  await check('matmul broadcast batch', [{ dims: [3, 4, 5] }, { dims: [1, 5, 2] }], (g, [a, b]) => g.matmul(a, b), (a, b) => tf.matMul(a, tf.tile(b, [3, 1, 1])));
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      await check(`gemm ${+transA}${+transB}`, [{ dims: transA ? [5, 3] : [3, 5] }, { dims: transB ? [4, 5] : [5, 4] }], (g, [a, b]) => g.gemm(a, b, { transA, transB }), (a, b) => tf.matMul(a, b, transA, transB));
    }
  }
});

test('layout: reshape, transpose, (un)squeeze, split, concat', async () => {
  await check('reshape', [{ dims: [2, 3, 4] }], (g, [x]) => g.reshape(x, [0, -1], [2, 12]), (x) => x.reshape([2, 12]));
  await check('transpose', [{ dims: [2, 3, 4] }], (g, [x]) => g.transpose(x, [2, 0, 1]), (x) => tf.transpose(x, [2, 0, 1]));
  await check('unsqueeze/squeeze', [{ dims: [3, 4] }], (g, [x]) => g.squeeze(g.mul(g.unsqueeze(x, [1]), g.scalar(2)), [1]), (x) => x.mul(2));
  await check('split', [{ dims: [3, 6] }], (g, [x]) => {
    const [a, , c] = g.split(x, 1, [1, 2, 3]);
    return g.add(g.reduceSum(a, [1], true), c); // the middle part gets no gradient
  }, (x) => tf.add(x.slice([0, 0], [3, 1]).sum(1, true), x.slice([0, 3], [3, 3])));
  await check('concat', [{ dims: [2, 3] }, { dims: [2, 2] }], (g, [a, b]) => g.concat([a, g.exp(b)], 1), (a, b) => tf.concat([a, tf.exp(b)], 1));
});

test('gather (repeated ids scatter-add) and gatherElements', async () => {
  const g = new DiffGraph();
  const table = g.input('table', 'float', [5, 3], { differentiable: true });
  const ids = g.input('ids', 'int64', [2, 4]);
  const y = g.gather(table, ids);
  const seed = g.input('seed', 'float', [2, 4, 3]);
  const [d] = g.gradients([{ value: y, grad: seed }], [table]);
  g.output(y, 'y');
  g.output(d, 'd');
  const s = await createSession(g.serialize({ producer: 'test', version: '1' }), 'gather', { threads: 2 });
  const ort = loadOrt();
  const t = seededFloats(15, 1);
  const idv = [0, 3, 3, 1, 4, 3, 0, 0];
  const sd = seededFloats(24, 2);
  const out = await s.run({ table: new ort.Tensor('float32', t, [5, 3]), ids: new ort.Tensor('int64', BigInt64Array.from(idv.map(BigInt)), [2, 4]), seed: new ort.Tensor('float32', sd, [2, 4, 3]) });
  const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, tf.tensor1d(idv, 'int32')).reshape([2, 4, 3]), tf.tensor(sd, [2, 4, 3])));
  assertElementwise(out.d.data as Float32Array, tf.grad(f)(tf.tensor(t, [5, 3])).dataSync(), 1e-6, 1e-6, 'gather gradient');
  await s.release();
  const idx = Float32Array.of(2, 0, 1); // one column per row
  await check('gatherElements', [{ dims: [3, 4] }], (gg, [x]) => gg.gatherElements(x, gg.ints('idx', [3, 1], Array.from(idx)), 1), (x) => tf.sum(tf.mul(x, tf.oneHot(tf.tensor1d(Array.from(idx), 'int32'), 4)), 1, true));
});

test('softmax, log-softmax and LayerNorm (with and without bias)', async () => {
  await check('softmax', [{ dims: [2, 3, 7] }], (g, [x]) => g.softmax(x), (x) => tf.softmax(x));
  await check('logSoftmax', [{ dims: [4, 7] }], (g, [x]) => g.logSoftmax(x), (x) => tf.logSoftmax(x));
  const ln = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    const y = x.sub(mean).mul(variance.add(1e-5).rsqrt()).mul(w);
    return b ? y.add(b) : y;
  };
  await check('layerNorm', [{ dims: [2, 3, 8] }, { dims: [8] }, { dims: [8] }], (g, [x, w, b]) => g.layerNorm(x, w, b, 1e-5), ln, 2e-5);
  await check('layerNorm without bias', [{ dims: [5, 8] }, { dims: [8] }], (g, [x, w]) => g.layerNorm(x, w, undefined, 1e-5), (x, w) => ln(x, w), 2e-5);
});

test('an operator without a gradient on a differentiable path is refused', () => {
  const g = new DiffGraph();
  const x = g.input('x', 'float', [3], { differentiable: true });
  assert.throws(() => g.raw('Floor', [x], {}, [3], 'float'), /Floor has no gradient/);
  const c = g.input('c', 'float', [3]);
  assert.doesNotThrow(() => g.raw('Floor', [c], {}, [3], 'float'));
});

test("gather's gradient with many repeated ids is the same on every run on 2 threads (no racing adds)", async () => {
  const g = new DiffGraph();
  const table = g.input('table', 'float', [64, 32], { differentiable: true });
  const ids = g.input('ids', 'int64', [200000]);
  const seed = g.input('seed', 'float', [200000, 32]);
  g.output(g.gradients([{ value: g.gather(table, ids), grad: seed }], [table])[0], 'd');
  const s = await createSession(g.serialize({ producer: 'test', version: '1' }), 'gather', { threads: 2 });
  const ort = loadOrt();
  const feeds = {
    table: new ort.Tensor('float32', new Float32Array(64 * 32), [64, 32]),
    ids: new ort.Tensor('int64', BigInt64Array.from({ length: 200000 }, (_, i) => BigInt((i * 7919) % 64)), [200000]),
    seed: new ort.Tensor('float32', seededFloats(200000 * 32, 3), [200000, 32]),
  };
  const first = Buffer.from(((await s.run(feeds)).d.data as Float32Array).buffer);
  for (let r = 0; r < 5; r++) assert.ok(Buffer.from(((await s.run(feeds)).d.data as Float32Array).buffer).equals(first), `run ${r + 2} differs from the first`);
  await s.release();
});

test("GeGLU's hand-written gradient (keeping only input and gate) equals the derived one and tfjs's", async () => {
  const { geglu } = await import('../lib/models/onnx/modernbert-onnx');
  const layers = await import('../lib/models/layers');
  const args = [{ dims: [6, 5] }, { dims: [6, 5] }];
  const ref = (a: tf.Tensor, b: tf.Tensor) => layers.geglu(a as tf.Tensor2D, b as tf.Tensor2D);
  await check('geglu (hand-written)', args, (g, [a, b]) => geglu(g, a, b), ref);
  await check('geglu (derived)', args, (g, [a, b]) => geglu(g, a, b, { derived: true }), ref);
});
