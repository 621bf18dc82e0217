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
 *
 * Short sequences are packed: g sequences of one head share one block of g·L rows, with −∞ between
 * different sequences (so they get exactly zero weight, and a row with no allowed key in its own sequence
 * still averages its own sequence, as eager transformers does). That spends g× the (tiny) score flops to
 * save g−1 rounds of per-op overhead, which is what dominates at query length.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../backend/index';

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
  /** Dropout on the probabilities: rate and a base seed (block i uses seed + i). */
  dropout?: { rate: number; seed: number };
  /** Sequences packed per block (default: as many as fit in PACK_ROWS rows). */
  group?: number;
}

/** Rows per packed block for short sequences. */
const PACK_ROWS = 128;

function groupSize(a: AttentionInputs): number {
  return Math.max(1, Math.min(a.n, a.group ?? Math.floor(PACK_ROWS / a.L)));
}

/**
 * Cuts head h of section s (0 = q, 1 = k, 2 = v) for sequences b0 … b0+g−1 out of qkv as [g·L, d],
 * rotated when `rope`, times `scale`.
 */
function block(qkv: Float32Array, a: AttentionInputs, b0: number, g: number, h: number, s: number, rope: boolean, scale = 1): Float32Array {
  const { L, heads, headDim: d } = a;
  const H = heads * d;
  const half = d / 2;
  const out = new Float32Array(g * L * d);
  for (let r = 0; r < g * L; r++) {
    const l = r % L;
    const src = (b0 * L + r) * 3 * H + s * H + h * d;
    const dst = r * d;
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

/** Gradient through rope at row r (position r mod L): dx = dy·cos + rotate_halfᵀ(dy·sin), rotate_halfᵀ([a, b]) = [b, -a]. */
function unrope(dy: Float32Array, a: AttentionInputs, r: number, j: number, half: number): number {
  const d = a.headDim;
  const t = (r % a.L) * d;
  const c = dy[r * d + j] * a.cos[t + j];
  return j < half ? c + dy[r * d + j + half] * a.sin[t + j + half] : c - dy[r * d + j - half] * a.sin[t + j - half];
}

/** The additive mask of a packed block [g·L, g·L]: each sequence's own mask on the diagonal, −∞ elsewhere. */
function maskTensor(a: AttentionInputs, b0: number, g: number): tf.Tensor2D {
  const { L } = a;
  if (g === 1 && a.maskRows === 1) return tf.tensor2d(a.mask.subarray(b0 * L, (b0 + 1) * L), [1, L]);
  const W = g * L;
  const m = new Float32Array(W * W).fill(-Infinity);
  for (let i = 0; i < g; i++) {
    for (let r = 0; r < L; r++) {
      const src = a.maskRows === 1 ? (b0 + i) * L : ((b0 + i) * L + r) * L;
      m.set(a.mask.subarray(src, src + L), (i * L + r) * W + i * L);
    }
  }
  return tf.tensor2d(m, [W, W]);
}

/** Dropout keep-mask [W, W] scaled by 1/(1-rate) for block i: a pure function of the seed. */
export function attentionDropoutScale(W: number, rate: number, seed: number, i: number): tf.Tensor2D {
  return tf.tidy(() => tf.randomUniform([W, W], 0, 1, 'float32', seed + i).greaterEqual(rate).cast('float32').div(1 - rate) as tf.Tensor2D);
}

/**
 * The keep-masks `attention` applies to the probabilities of n sequences, unpacked per sequence and head:
 * [n, heads, L, L] (block (b0/g)·heads + h holds sequences b0 … b0+g−1 of head h on its diagonal).
 */
export function attentionDropoutMasks(s: AttentionShape, rate: number, seed: number): Float32Array {
  const { n, L, heads } = s;
  const g = groupSize({ ...s, cos: new Float32Array(0), sin: new Float32Array(0), mask: new Float32Array(0), maskRows: 1 });
  const out = new Float32Array(n * heads * L * L);
  for (let b0 = 0; b0 < n; b0 += g) {
    const gs = Math.min(g, n - b0);
    const W = gs * L;
    for (let h = 0; h < heads; h++) {
      const t = attentionDropoutScale(W, rate, seed, (b0 / g) * heads + h);
      const block = t.dataSync() as Float32Array;
      t.dispose();
      for (let j = 0; j < gs; j++) {
        for (let r = 0; r < L; r++) {
          const src = (j * L + r) * W + j * L;
          out.set(block.subarray(src, src + L), (((b0 + j) * heads + h) * L + r) * L);
        }
      }
    }
  }
  return out;
}

function dropoutScale(a: AttentionInputs, W: number, i: number): tf.Tensor2D | null {
  if (!a.dropout || a.dropout.rate <= 0) return null;
  return attentionDropoutScale(W, a.dropout.rate, a.dropout.seed, i);
}

/** Probabilities P (before dropout) of a block from rotated, pre-scaled q [W, d] and kᵀ [d, W]. */
function probs(q: Float32Array, kT: Float32Array, mask: tf.Tensor2D, W: number, d: number): tf.Tensor2D {
  const s = matMul(tf.tensor2d(q, [W, d]), tf.tensor2d(kT, [d, W]));
  return tf.softmax(s.add(mask)) as tf.Tensor2D;
}

function forward(qkv: Float32Array, a: AttentionInputs): Float32Array {
  const { n, L, heads, headDim: d } = a;
  const H = heads * d;
  const g = groupSize(a);
  const scale = 1 / Math.sqrt(d);
  const out = new Float32Array(n * L * H);
  for (let b0 = 0; b0 < n; b0 += g) {
    const gs = Math.min(g, n - b0);
    const W = gs * L;
    tf.tidy(() => {
      const mask = maskTensor(a, b0, gs);
      for (let h = 0; h < heads; h++) {
        const ctx = tf.tidy(() => {
          const q = block(qkv, a, b0, gs, h, 0, true, scale);
          const kT = transposeBlock(block(qkv, a, b0, gs, h, 1, true), W, d);
          let p = probs(q, kT, mask, W, d);
          const keep = dropoutScale(a, W, (b0 / g) * heads + h);
          if (keep) p = p.mul(keep);
          return matMul(p, tf.tensor2d(block(qkv, a, b0, gs, h, 2, false), [W, d]));
        });
        const c = ctx.dataSync();
        ctx.dispose();
        for (let r = 0; r < W; r++) out.set(c.subarray(r * d, (r + 1) * d), (b0 * L + r) * H + h * d);
      }
    });
  }
  return out;
}

function backward(qkv: Float32Array, dy: Float32Array, a: AttentionInputs): Float32Array {
  const { n, L, heads, headDim: d } = a;
  const H = heads * d;
  const half = d / 2;
  const g = groupSize(a);
  const scale = 1 / Math.sqrt(d);
  const dqkv = new Float32Array(n * L * 3 * H);
  for (let b0 = 0; b0 < n; b0 += g) {
    const gs = Math.min(g, n - b0);
    const W = gs * L;
    tf.tidy(() => {
      const mask = maskTensor(a, b0, gs);
      for (let h = 0; h < heads; h++) {
        const [dq, dk, dv] = tf.tidy(() => {
          const q = block(qkv, a, b0, gs, h, 0, true, scale);
          const k = block(qkv, a, b0, gs, h, 1, true);
          const v = block(qkv, a, b0, gs, h, 2, false);
          const p = probs(q, transposeBlock(k, W, d), mask, W, d);
          const keep = dropoutScale(a, W, (b0 / g) * heads + h);
          const pd = keep ? p.mul(keep) : p;
          const dO = new Float32Array(W * d);
          for (let r = 0; r < W; r++) dO.set(dy.subarray((b0 * L + r) * H + h * d, (b0 * L + r) * H + (h + 1) * d), r * d);
          const dOt = tf.tensor2d(dO, [W, d]);
          const dV = matMul(pd as tf.Tensor2D, dOt, true, false);
          let dP = matMul(dOt, tf.tensor2d(transposeBlock(v, W, d), [d, W]));
          if (keep) dP = dP.mul(keep);
          // softmax backward: dS = P ⊙ (dP − rowsum(dP ⊙ P))
          const dS = p.mul(dP.sub(dP.mul(p).sum(1, true))) as tf.Tensor2D;
          const dQ = matMul(dS, tf.tensor2d(k, [W, d])).mul(scale);
          const dK = matMul(dS, tf.tensor2d(q, [W, d]), true, false);
          return [dQ, dK, dV];
        }).map((t) => {
          // Read outside the tidy: a tidy returning typed arrays would walk every element looking for tensors.
          const v = t.dataSync() as Float32Array;
          t.dispose();
          return v;
        });
        for (let r = 0; r < W; r++) {
          const row = (b0 * L + r) * 3 * H + h * d;
          for (let j = 0; j < d; j++) {
            dqkv[row + j] = unrope(dq, a, r, j, half);
            dqkv[row + H + j] = unrope(dk, a, r, j, half);
            dqkv[row + 2 * H + j] = dv[r * d + j];
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
