/**
 * The small building blocks of ModernBERT, each written the way PyTorch defines it: linear layers,
 * LayerNorm, activations, rotary embeddings, seeded dropout. Every product goes through lib/backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../backend/index';
import type { Activation } from './config';

/** y = x·W (+ b), with W stored as [in, out] (the transpose of PyTorch's [out, in]) so no transpose runs per step. */
export function linear(x: tf.Tensor2D, kernel: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const y = matMul(x, kernel);
  return bias ? y.add(bias) : y;
}

/**
 * Embedding lookup table[ids]. Its gradient is the scatter-add of the rows alone: tf.gather's own gradient
 * follows it with an identity transpose, a full copy of a vocabulary-sized tensor on every step.
 */
export function embed(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const op = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    return {
      value: tf.gather(t, tf.tensor1d(ids, 'int32')),
      gradFunc: (dy: tf.Tensor) => tf.unsortedSegmentSum(dy, tf.tensor1d(ids, 'int32'), t.shape[0]),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (t: tf.Tensor2D) => tf.Tensor2D;
  return op(table);
}

/**
 * torch.nn.LayerNorm over the last axis (biased variance), optional bias. The gradient is written out
 * (autodiff through tf.moments builds ~20 small kernels per norm): with x̂ = (x − μ)·r, r = 1/√(σ² + eps),
 * g = dy ⊙ w:  dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)),  dw = Σ_rows dy ⊙ x̂,  db = Σ_rows dy.
 */
export function layerNorm(x: tf.Tensor2D, weight: tf.Tensor1D, bias: tf.Tensor1D | undefined, eps: number): tf.Tensor2D {
  return bias ? layerNormWithBias(eps)(x, weight, bias) : layerNormNoBias(eps)(x, weight);
}

function normalize(x: tf.Tensor, eps: number): { xhat: tf.Tensor; r: tf.Tensor } {
  const { mean, variance } = tf.moments(x, -1, true);
  const r = variance.add(eps).rsqrt();
  return { xhat: x.sub(mean).mul(r), r };
}

function layerNormInputGrad(dy: tf.Tensor, xhat: tf.Tensor, r: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const g = dy.mul(w);
  return g.sub(g.mean(-1, true)).sub(xhat.mul(g.mul(xhat).mean(-1, true))).mul(r);
}

type Grad = Parameters<typeof tf.customGrad>[0];
const noBias = new Map<number, (x: tf.Tensor2D, w: tf.Tensor1D) => tf.Tensor2D>();
const withBias = new Map<number, (x: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor2D>();

function layerNormNoBias(eps: number): (x: tf.Tensor2D, w: tf.Tensor1D) => tf.Tensor2D {
  let op = noBias.get(eps);
  if (!op) {
    op = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
      const { xhat, r } = normalize(x, eps);
      save([xhat, r, w]);
      return {
        value: xhat.mul(w),
        gradFunc: (dy: tf.Tensor, [sx, sr, sw]: tf.Tensor[]) => [layerNormInputGrad(dy, sx, sr, sw), dy.mul(sx).sum(0)],
      };
    }) as unknown as Grad) as unknown as (x: tf.Tensor2D, w: tf.Tensor1D) => tf.Tensor2D;
    noBias.set(eps, op);
  }
  return op;
}

function layerNormWithBias(eps: number): (x: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor2D {
  let op = withBias.get(eps);
  if (!op) {
    op = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const { xhat, r } = normalize(x, eps);
      save([xhat, r, w]);
      return {
        value: xhat.mul(w).add(b),
        gradFunc: (dy: tf.Tensor, [sx, sr, sw]: tf.Tensor[]) => [layerNormInputGrad(dy, sx, sr, sw), dy.mul(sx).sum(0), dy.sum(0)],
      };
    }) as unknown as Grad) as unknown as (x: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor2D;
    withBias.set(eps, op);
  }
  return op;
}

/** Activations as transformers' ACT2FN defines them; `gelu` is the exact (erf) form. */
export function activate(x: tf.Tensor, kind: Activation): tf.Tensor {
  switch (kind) {
    case 'gelu':
      return x.mul(0.5).mul(tf.erf(x.mul(Math.SQRT1_2)).add(1));
    case 'gelu_new':
    case 'gelu_pytorch_tanh': {
      const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
      return x.mul(0.5).mul(tf.tanh(inner).add(1));
    }
    case 'relu':
      return tf.relu(x);
    case 'silu':
      return x.mul(tf.sigmoid(x));
  }
}

/**
 * GeGLU with exact GELU: gelu(input) ⊙ gate. Same forward ops as activate(input, 'gelu').mul(gate); the
 * gradient is written out (autodiff through erf and the products built twice as many kernels):
 *   d input = dy ⊙ gate ⊙ (½(1 + erf(x/√2)) + x·φ(x)),  φ(x) = exp(−x²/2)/√(2π);   d gate = dy ⊙ gelu(x).
 */
export const geglu = tf.customGrad(((input: tf.Tensor, gate: tf.Tensor, save: tf.GradSaveFunc) => {
  const cdf = tf.erf(input.mul(Math.SQRT1_2)).add(1);
  const act = input.mul(0.5).mul(cdf);
  save([input, gate, cdf, act]);
  return {
    value: act.mul(gate),
    gradFunc: (dy: tf.Tensor, [x, g, c, a]: tf.Tensor[]) => {
      const pdf = tf.exp(x.square().mul(-0.5)).mul(1 / Math.sqrt(2 * Math.PI));
      const dAct = c.mul(0.5).add(x.mul(pdf));
      return [dy.mul(g).mul(dAct), dy.mul(a)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (input: tf.Tensor2D, gate: tf.Tensor2D) => tf.Tensor2D;

/**
 * cos and sin tables [length, headDim] for rotary embeddings, computed in float32 steps as transformers
 * does: inv_freq = 1 / theta^(2i/d), angle = position * inv_freq, duplicated over both halves.
 */
export function ropeTables(length: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
  const cos = new Float32Array(length * headDim);
  const sin = new Float32Array(length * headDim);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * inv[i]);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * headDim + i] = c;
      cos[p * headDim + half + i] = c;
      sin[p * headDim + i] = s;
      sin[p * headDim + half + i] = s;
    }
  }
  return { cos, sin };
}

/**
 * Dropout whose masks are a pure function of (seed, call order): the same seed replays the same masks,
 * which GradCache's second forward pass relies on. Inactive (identity) outside training.
 */
export class SeededDropout {
  private calls = 0;
  constructor(
    readonly active: boolean,
    private readonly seed: number,
  ) {}

  /** The next seed of the stream: seed and call index mixed into 32 bits (tf seeds alea from its string form). */
  nextSeed(): number {
    this.calls++;
    return (Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(this.calls, 0xc2b2ae35)) >>> 0;
  }

  apply<T extends tf.Tensor>(x: T, rate: number): T {
    if (!this.active || rate <= 0) return x;
    return tf.mul(x, dropoutMultiplier(x.shape, rate, this.nextSeed())) as T;
  }
}

/** tf.dropout's multiplier for `shape`: floor(u + keep) / keep with u ~ U[0, 1) seeded (0 or 1/keep). */
export function dropoutMultiplier(shape: number[], rate: number, seed: number): tf.Tensor {
  const keep = 1 - rate;
  return tf.tidy(() => tf.div(tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed), keep)), keep));
}
