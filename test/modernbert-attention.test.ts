/**
 * The fused attention op (lib/models/attention.ts) against the same computation written with plain tf
 * ops and tf's own autodiff: outputs and gradients, with padding, a sliding window and dropout.
 */
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { attention, attentionDropoutScale, type AttentionInputs } from '../lib/models/attention';
import { ropeTables } from '../lib/models/layers';
import { assertEachClose, seededFloats } from './helpers/tensors';

const F32_MIN = -3.4028234663852886e38;

/** Straightforward reference: split heads, rope, scores, mask, softmax, dropout, context; tf autodiff. */
function reference(qkv: tf.Tensor2D, a: AttentionInputs): tf.Tensor2D {
  const { n, L, heads, headDim: d } = a;
  const H = heads * d;
  const cos = tf.tensor2d(a.cos, [L, d]);
  const sin = tf.tensor2d(a.sin, [L, d]);
  const rope = (x: tf.Tensor) => {
    const [x1, x2] = tf.split(x, 2, -1);
    return x.mul(cos).add(tf.concat([x2.neg(), x1], -1).mul(sin));
  };
  const outs: tf.Tensor[] = [];
  for (let b = 0; b < n; b++) {
    const rows = qkv.slice([b * L, 0], [L, 3 * H]);
    const maskRows = a.maskRows === 1 ? 1 : L;
    const mask = tf.tensor2d(a.mask.slice(b * maskRows * L, (b + 1) * maskRows * L), [maskRows, L]);
    const heads_: tf.Tensor[] = [];
    for (let h = 0; h < heads; h++) {
      const q = rope(rows.slice([0, h * d], [L, d]));
      const k = rope(rows.slice([0, H + h * d], [L, d]));
      const v = rows.slice([0, 2 * H + h * d], [L, d]);
      let p = tf.softmax(tf.matMul(q as tf.Tensor2D, k as tf.Tensor2D, false, true).mul(1 / Math.sqrt(d)).add(mask));
      if (a.dropout) p = p.mul(attentionDropoutScale(L, a.dropout.rate, a.dropout.seed, b * heads + h));
      heads_.push(tf.matMul(p as tf.Tensor2D, v as tf.Tensor2D));
    }
    outs.push(tf.concat(heads_, 1));
  }
  return tf.concat(outs, 0) as tf.Tensor2D;
}

function inputs(dropout?: { rate: number; seed: number }, sliding = true): { qkv: tf.Tensor2D; a: AttentionInputs } {
  const n = 2, L = 7, heads = 2, d = 8;
  const lengths = [7, 4];
  const { cos, sin } = ropeTables(L, d, 100);
  const mask = new Float32Array(n * L * (sliding ? L : 1));
  for (let b = 0; b < n; b++)
    for (let i = 0; i < (sliding ? L : 1); i++)
      for (let j = 0; j < L; j++) mask[(b * (sliding ? L : 1) + i) * L + j] = j < lengths[b] && (!sliding || Math.abs(i - j) <= 2) ? 0 : F32_MIN;
  const qkv = tf.tensor2d(seededFloats(n * L * 3 * heads * d, 9), [n * L, 3 * heads * d]).mul(2) as tf.Tensor2D;
  return { qkv, a: { n, L, heads, headDim: d, cos, sin, mask, maskRows: sliding ? 'L' : 1, dropout } };
}

describe('fused attention op', () => {
  before(async () => {
    await initBackend();
  });

  for (const [name, dropout, sliding, group] of [
    ['global mask', undefined, false, 1],
    ['global mask, sequences packed in one block', undefined, false, undefined],
    ['sliding window with padding (a row with no allowed key)', undefined, true, 1],
    ['sliding window with padding, packed', undefined, true, undefined],
    ['sliding window with dropout', { rate: 0.3, seed: 11 }, true, 1],
  ] as const) {
    it(`matches plain tf ops and their gradients: ${name}`, () => {
      const { qkv, a: base } = inputs(dropout, sliding);
      const a = { ...base, group };
      const weights = tf.tensor2d(seededFloats(a.n * a.L * a.heads * a.headDim, 4), [a.n * a.L, a.heads * a.headDim]);
      const loss = (f: (x: tf.Tensor2D) => tf.Tensor2D) => (x: tf.Tensor) => f(x as tf.Tensor2D).mul(weights).sum();
      // Element by element, each entry to its own size (many gradient entries are 1e-4 of the largest, which a
      // normwise check would let be wrong by 100 %), down to 1e-6 of the largest entry.
      assertEachClose(attention(qkv, a), reference(qkv, a), 1e-5, 'forward');
      const gOurs = tf.grad(loss((x) => attention(x, a)))(qkv);
      const gRef = tf.grad(loss((x) => reference(x, a)))(qkv);
      assertEachClose(gOurs, gRef, 1e-5, 'gradient');
    });
  }
});
