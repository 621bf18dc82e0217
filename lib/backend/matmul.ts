/**
 * Matrix products that are fast on tfjs-wasm.
 *
 * On wasm (4.22) a 2-D matMul with a transpose flag runs ~15× slower than one without, and a batched
 * 3-D matMul ~10× slower than the same work as separate 2-D products. Its built-in matMul gradient uses
 * transpose flags too. So here: transposes are materialised, the gradient is written out with explicit
 * transposes, and batches are split into 2-D products. Other backends get tf.matMul unchanged.
 * Every model, score and loss multiplies through these two functions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { needsWasmFastPaths } from './select';

export type T2 = tf.Tensor2D;

/** op(a)·op(b) with materialised transposes (wasm's transpose flags are slow). */
function product(a: T2, b: T2, ta: boolean, tb: boolean): T2 {
  return tf.matMul(ta ? tf.transpose(a) : a, tb ? tf.transpose(b) : b);
}

/** a·b on 2-D tensors without transpose flags, with a gradient that also avoids them. */
const plainMatMul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: product(a as T2, b as T2, false, false),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as T2[];
      return [product(dy as T2, sb, false, true), product(sa, dy as T2, true, false)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: T2, b: T2) => T2;

/** 2-D matrix product op(a)·op(b), where op transposes when the flag is set. */
export function matMul(a: T2, b: T2, transposeA = false, transposeB = false): T2 {
  if (!needsWasmFastPaths()) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => plainMatMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b));
}

/**
 * Batched product over leading dimensions: [..., m, k]·[..., k, n] → [..., m, n] (after the optional
 * transposes of the last two axes). Both inputs must have the same leading shape.
 */
export function batchMatMul<R extends tf.Rank>(a: tf.Tensor<R>, b: tf.Tensor<R>, transposeA = false, transposeB = false): tf.Tensor<R> {
  if (a.rank === 2) return matMul(a as unknown as T2, b as unknown as T2, transposeA, transposeB) as unknown as tf.Tensor<R>;
  if (!needsWasmFastPaths()) return tf.matMul(a, b, transposeA, transposeB) as tf.Tensor<R>;
  const lead = a.shape.slice(0, -2);
  const leadB = b.shape.slice(0, -2);
  if (lead.length !== leadB.length || lead.some((d, i) => d !== leadB[i])) {
    throw new Error(`batchMatMul: leading shapes differ: [${a.shape}] vs [${b.shape}]`);
  }
  return tf.tidy(() => {
    const batch = lead.reduce((x, y) => x * y, 1);
    const a3 = a.reshape([batch, a.shape[a.rank - 2], a.shape[a.rank - 1]]) as tf.Tensor3D;
    const b3 = b.reshape([batch, b.shape[b.rank - 2], b.shape[b.rank - 1]]) as tf.Tensor3D;
    const as = tf.unstack(a3);
    const bs = tf.unstack(b3);
    const outs = as.map((x, i) => matMul(x as T2, bs[i] as T2, transposeA, transposeB));
    const y = tf.stack(outs) as tf.Tensor3D;
    return y.reshape([...lead, y.shape[1], y.shape[2]]) as tf.Tensor<R>;
  });
}
