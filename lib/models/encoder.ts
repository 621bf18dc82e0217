/**
 * What the rest of the library needs from a model. Scores, retrieval and evaluation use `Encoder`;
 * training uses `TrainableEncoder`. ModernBERT with a dense or ColBERT head implements both.
 */
import type * as tf from '@tensorflow/tfjs-core';

export type Role = 'query' | 'document';
export type HeadKind = 'dense' | 'colbert';

/** Token ids for a batch, row-major [n, length], padded. */
export interface TokenizedBatch {
  n: number;
  length: number;
  inputIds: Int32Array;
  /** 1 where the encoder attends (0 for padding, and for expansion [MASK]s unless attended). */
  attentionMask: Int32Array;
  /** 1 where the token's output embedding takes part in scoring (ColBERT: after skiplist, incl. expansion). */
  scoringMask: Int32Array;
}

/**
 * Encoder output as tensors. Dense: embeddings [n, dim], no mask. ColBERT: embeddings [n, length, dim]
 * (L2-normalised per token) and mask [n, length] (float32, 1 = scored).
 */
export interface Encoded {
  kind: HeadKind;
  embeddings: tf.Tensor;
  mask?: tf.Tensor2D;
}

/** Something that turns texts into embeddings (inference). */
export interface Encoder {
  readonly kind: HeadKind;
  /** Output dimension per vector. */
  readonly dim: number;
  encode(texts: string[], role: Role, opts?: { batchSize?: number; onProgress?: (done: number, total: number) => void }): Promise<Encoded>;
}

/** An encoder whose forward pass is differentiable with respect to `trainableVariables`. */
export interface TrainableEncoder extends Encoder {
  readonly trainableVariables: tf.Variable[];
  tokenize(texts: string[], role: Role): TokenizedBatch;
  /**
   * Differentiable forward pass (call inside tf.tidy / tf.variableGrads). With `training`, dropout is
   * active and driven by `seed` alone, so the same seed replays the same masks (GradCache needs this).
   */
  forward(batch: TokenizedBatch, opts: { training: boolean; seed?: number }): Encoded;
}
