/**
 * The attention core of a ModernBERT layer as one differentiable op: from the fused projection
 * qkv [n·L, 3H] (rows token-major, columns [Q | K | V], each head a block of headDim) to the context
 * [n·L, H], with rotary embeddings, the additive mask, softmax and (seeded) dropout on the probabilities:
 *
 *   q, k = rope(q), rope(k);   P = dropout(softmax(q·kᵀ/√d + mask));   context = P·v      (per sequence, per head)
 *
 * Why one op with a hand-written gradient: tfjs-wasm's slice reads its whole input for every piece, so
 * splitting [n, heads, L, d] into n·heads matrices costs n·heads full copies, and its batched 3-D matMul
 * is several times slower than 2-D products. Here the input is read once, every (sequence, head) block is
 * cut out in plain JS (rope applied on the way, kᵀ laid out directly), and each block runs as 2-D products
 * on the backend. The backward pass recomputes the probabilities (as flash attention does) instead of
 * keeping n·heads·L² floats per layer alive, and regenerates the dropout masks from the same seeds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../backend';

export interface AttentionShape {
  n: number;
  L: number;
  heads: number;
  headDim: number;
}

export interface AttentionInputs extends AttentionShape {
  /** Rotary tables [L, headDim]. */
  cos: Float32Array;
  sin: Float32Array;
  /** Additive mask: [n, L] (key padding, same for every query) or [n, L, L] (sliding window). */
  mask: Float32Array;
  maskRows: 1 | 'L';
  /** Dropout on the probabilities: rate and a base seed (block b·heads+h uses seed + that index). */
  dropout?: { rate: number; seed: number };
}

/** Cuts (sequence b, head h) of section s (0 = q, 1 = k, 2 = v) out of qkv, rotated when `rope`. */
function block(qkv: Float32Array, a: AttentionInputs, b: number, h: number, s: number, rope: boolean, scale = 1): Float32Array {
  const { L, heads, headDim: d } = a;
  const H = heads * d;
  const half = d / 2;
  const out = new Float32Array(L * d);
  for (let l = 0; l < L; l++) {
    const src = (b * L + l) * 3 * H + s * H + h * d;
    const dst = l * d;
    if (!rope) {
      for (let j = 0; j < d; j++) out[dst + j] = qkv[src + j] * scale;
      continue;
    }
    const t = l * d;
    for (let j = 0; j < half; j++) {
      const x1 = qkv[src + j];
      const x2 = qkv[src + j + half];
      out[dst + j] = (x1 * a.cos[t + j] - x2 * a.sin[t + j]) * scale;
      out[dst + j + half] = (x2 * a.cos[t + j + half] + x1 * a.sin[t + j + half]) * scale;
    }
  }
  return out;
}

/** [L, d] → [d, L]. */
function transposeBlock(x: Float32Array, L: number, d: number): Float32Array {
  const out = new Float32Array(L * d);
  for (let l = 0; l < L; l++) for (let j = 0; j < d; j++) out[j * L + l] = x[l * d + j];
  return out;
}

/** Gradient through rope: dx = dy·cos + rotate_halfᵀ(dy·sin), rotate_halfᵀ([a, b]) = [b, -a]. */
function unrope(dy: Float32Array, a: AttentionInputs, l: number, j: number, half: number): number {
  const t = l * a.headDim;
  const c = dy[l * a.headDim + j] * a.cos[t + j];
  return j < half ? c + dy[l * a.headDim + j + half] * a.sin[t + j + half] : c - dy[l * a.headDim + j - half] * a.sin[t + j - half];
}

function maskTensor(a: AttentionInputs, b: number): tf.Tensor2D {
  const rows = a.maskRows === 1 ? 1 : a.L;
  return tf.tensor2d(a.mask.subarray(b * rows * a.L, (b + 1) * rows * a.L), [rows, a.L]);
}

/** Dropout keep-mask [L, L] scaled by 1/(1-rate) for block i (= b·heads + h): a pure function of the seed. */
export function attentionDropoutScale(L: number, rate: number, seed: number, i: number): tf.Tensor2D {
  return tf.tidy(() => tf.randomUniform([L, L], 0, 1, 'float32', seed + i).greaterEqual(rate).cast('float32').div(1 - rate) as tf.Tensor2D);
}

function dropoutScale(a: AttentionInputs, i: number): tf.Tensor2D | null {
  if (!a.dropout || a.dropout.rate <= 0) return null;
  return attentionDropoutScale(a.L, a.dropout.rate, a.dropout.seed, i);
}

/** Probabilities P (before dropout) of block (b, h) from rotated, pre-scaled q and kᵀ. */
function probs(q: Float32Array, kT: Float32Array, mask: tf.Tensor2D, a: AttentionInputs): tf.Tensor2D {
  const s = matMul(tf.tensor2d(q, [a.L, a.headDim]), tf.tensor2d(kT, [a.headDim, a.L]));
  return tf.softmax(s.add(mask)) as tf.Tensor2D;
}

function forward(qkv: Float32Array, a: AttentionInputs): Float32Array {
  const { n, L, heads, headDim: d } = a;
  const H = heads * d;
  const scale = 1 / Math.sqrt(d);
  const out = new Float32Array(n * L * H);
  for (let b = 0; b < n; b++) {
    tf.tidy(() => {
      const mask = maskTensor(a, b);
      for (let h = 0; h < heads; h++) {
        const ctx = tf.tidy(() => {
          const q = block(qkv, a, b, h, 0, true, scale);
          const kT = transposeBlock(block(qkv, a, b, h, 1, true), L, d);
          let p = probs(q, kT, mask, a);
          const keep = dropoutScale(a, b * heads + h);
          if (keep) p = p.mul(keep);
          return matMul(p, tf.tensor2d(block(qkv, a, b, h, 2, false), [L, d]));
        });
        const c = ctx.dataSync();
        ctx.dispose();
        for (let l = 0; l < L; l++) out.set(c.subarray(l * d, (l + 1) * d), (b * L + l) * H + h * d);
      }
    });
  }
  return out;
}

function backward(qkv: Float32Array, dy: Float32Array, a: AttentionInputs): Float32Array {
  const { n, L, heads, headDim: d } = a;
  const H = heads * d;
  const half = d / 2;
  const scale = 1 / Math.sqrt(d);
  const dqkv = new Float32Array(n * L * 3 * H);
  for (let b = 0; b < n; b++) {
    tf.tidy(() => {
      const mask = maskTensor(a, b);
      for (let h = 0; h < heads; h++) {
        const [dq, dk, dv] = tf.tidy(() => {
          const q = block(qkv, a, b, h, 0, true, scale);
          const k = block(qkv, a, b, h, 1, true);
          const v = block(qkv, a, b, h, 2, false);
          const p = probs(q, transposeBlock(k, L, d), mask, a);
          const keep = dropoutScale(a, b * heads + h);
          const pd = keep ? p.mul(keep) : p;
          const dO = new Float32Array(L * d);
          for (let l = 0; l < L; l++) dO.set(dy.subarray((b * L + l) * H + h * d, (b * L + l) * H + (h + 1) * d), l * d);
          const dOt = tf.tensor2d(dO, [L, d]);
          const dV = matMul(pd as tf.Tensor2D, dOt, true, false);
          let dP = matMul(dOt, tf.tensor2d(transposeBlock(v, L, d), [d, L]));
          if (keep) dP = dP.mul(keep);
          // softmax backward: dS = P ⊙ (dP − rowsum(dP ⊙ P))
          const dS = p.mul(dP.sub(dP.mul(p).sum(1, true))) as tf.Tensor2D;
          const dQ = matMul(dS, tf.tensor2d(k, [L, d])).mul(scale);
          const dK = matMul(dS, tf.tensor2d(q, [L, d]), true, false);
          return [dQ.dataSync() as Float32Array, dK.dataSync() as Float32Array, dV.dataSync() as Float32Array];
        });
        for (let l = 0; l < L; l++) {
          const row = (b * L + l) * 3 * H + h * d;
          for (let j = 0; j < d; j++) {
            dqkv[row + j] = unrope(dq, a, l, j, half);
            dqkv[row + H + j] = unrope(dk, a, l, j, half);
            dqkv[row + 2 * H + j] = dv[l * d + j];
          }
        }
      }
    });
  }
  return dqkv;
}

/** Context [n·L, H] from qkv [n·L, 3H]; differentiable with respect to qkv. */
export function attention(qkv: tf.Tensor2D, a: AttentionInputs): tf.Tensor2D {
  const H = a.heads * a.headDim;
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    const data = x.dataSync() as Float32Array;
    return {
      value: tf.tensor2d(forward(data, a), [a.n * a.L, H]),
      gradFunc: (dy: tf.Tensor) => tf.tensor2d(backward(data, dy.dataSync() as Float32Array, a), [a.n * a.L, 3 * H]),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
  return op(qkv);
}
