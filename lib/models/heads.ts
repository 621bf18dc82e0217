/**
 * The retrieval heads on top of the backbone's last hidden state, as PyLate and sentence-transformers
 * compute them: ColBERT projects every token (bias-free Linear) and L2-normalises each vector; the dense
 * head mean-pools (or takes [CLS]) and L2-normalises. Normalisation is torch's F.normalize (norm ≥ 1e-12).
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../backend/index';

/** x / max(‖x‖₂, 1e-12) along the last axis. */
export function l2NormalizeLast<T extends tf.Tensor>(x: T): T {
  const norm = x.square().sum(-1, true).sqrt();
  return x.div(tf.maximum(norm, 1e-12)) as T;
}

/** ColBERT: hidden [n, L, H] · kernel [H, dim] (+ bias) → per-token unit vectors [n, L, dim]. */
export function colbertProject(hidden: tf.Tensor3D, kernel: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor3D {
  const [n, L, H] = hidden.shape;
  let y = matMul(hidden.reshape([n * L, H]) as tf.Tensor2D, kernel);
  if (bias) y = y.add(bias);
  return l2NormalizeLast(y).reshape([n, L, kernel.shape[1]]) as tf.Tensor3D;
}

export type Pooling = 'mean' | 'cls';

/** sentence-transformers Pooling: mean over attended tokens (count clamped at 1e-9) or the first token. */
export function pool(hidden: tf.Tensor3D, attention: tf.Tensor2D, mode: Pooling): tf.Tensor2D {
  const [n, , H] = hidden.shape;
  if (mode === 'cls') return hidden.slice([0, 0, 0], [n, 1, H]).reshape([n, H]) as tf.Tensor2D;
  const m = attention.expandDims(2);
  const sum = hidden.mul(m).sum(1);
  return sum.div(tf.maximum(m.sum(1), 1e-9)) as tf.Tensor2D;
}
