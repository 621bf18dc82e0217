/**
 * What the rest of the library needs from a model. Scores, retrieval and evaluation use `Encoder`;
 * training uses `TrainableEncoder`. ModernBERT with a dense or ColBERT head implements both.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Encoded, HeadKind } from '../scores/encoded';
import type { Role, TokenizedBatch } from '../tokenize/types';


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
