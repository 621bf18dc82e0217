/**
 * Checks a graph built on the ONNX differentiator against the same function on TensorFlow.js: the values,
 * and the gradients of Σ y ⊙ seed with respect to every argument, element by element on ONNX Runtime.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type * as Ort from 'onnxruntime-node';
import { DiffGraph, type Sym } from '../../lib/backend/onnx-autodiff';
import { createSession, loadOrt } from '../../lib/backend/ort';
import { seededFloats } from './tensors';

/** |a − b| ≤ rel·|b| + abs for every element. */
export function assertElementwise(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} vs ${expected.length} elements`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    assert.ok(Math.abs(a - b) <= rel * Math.abs(b) + abs, `${what}[${i}]: ${a} vs ${b}`);
  }
}

export interface Arg {
  dims: number[];
  data?: Float32Array;
  /** Positive values only (sqrt, log). */
  positive?: boolean;
  /** Not differentiated (a mask, teacher scores): fed as a plain input. */
  constant?: boolean;
}

/** Compares y = f(x1, …) and its gradients (non-constant arguments) on both engines. */
export async function checkGraph(name: string, args: Arg[], onnx: (g: DiffGraph, xs: Sym[]) => Sym, tfjs: (...xs: tf.Tensor[]) => tf.Tensor, tol = 1e-5): Promise<void> {
  const values = args.map((a, i) => a.data ?? seededFloats(a.dims.reduce((p, q) => p * q, 1), 100 + i).map((v) => (a.positive ? Math.abs(v) + 0.1 : v)));
  const g = new DiffGraph();
  const xs = args.map((a, i) => g.input(`x${i}`, 'float', a.dims, { differentiable: !a.constant }));
  const y = onnx(g, xs);
  const expectY = tf.tidy(() => tfjs(...values.map((v, i) => tf.tensor(v, args[i].dims))));
  const seedDims = expectY.shape;
  const seed = g.input('seed', 'float', seedDims);
  const wrt = xs.filter((_, i) => !args[i].constant);
  const grads = g.gradients([{ value: y, grad: seed }], wrt);
  g.output(y, 'y');
  grads.forEach((d, i) => g.output(d, `d${i}`));
  const session = await createSession(g.serialize({ producer: 'test', version: '1' }), name, { threads: 1 });
  const ort = loadOrt();
  const seedData = seededFloats(expectY.size, 7);
  const feeds: Record<string, Ort.Tensor> = { seed: new ort.Tensor('float32', seedData, seedDims) };
  values.forEach((v, i) => (feeds[`x${i}`] = new ort.Tensor('float32', v, args[i].dims)));
  const out = await session.run(feeds);
  assertElementwise(out.y.data as Float32Array, expectY.dataSync(), tol, tol, `${name}: value`);
  assert.deepEqual(Array.from(out.y.dims), expectY.shape, `${name}: output shape`);
  const diffIdx = args.map((a, i) => (a.constant ? -1 : i)).filter((i) => i >= 0);
  const f = (...ts: tf.Tensor[]) => {
    const all = values.map((v, i) => (args[i].constant ? tf.tensor(v, args[i].dims) : ts[diffIdx.indexOf(i)]));
    return tf.sum(tf.mul(tfjs(...all), tf.tensor(seedData, seedDims)));
  };
  const expectD = tf.grads(f)(diffIdx.map((i) => tf.tensor(values[i], args[i].dims)));
  expectD.forEach((d, j) => {
    const i = diffIdx[j];
    assert.deepEqual(Array.from(out[`d${j}`].dims), args[i].dims, `${name}: gradient ${i} shape`);
    assertElementwise(out[`d${j}`].data as Float32Array, d.dataSync(), tol, tol, `${name}: gradient of argument ${i}`);
  });
  expectY.dispose();
  expectD.forEach((d) => d.dispose());
  await session.release();
}
