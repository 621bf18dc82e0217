/**
 * Embeddings as the scores, losses and models share them. The type lives here, below both models (which
 * produce it) and losses (which consume it), so no import runs back up.
 */
import type * as tf from '@tensorflow/tfjs-core';

export type HeadKind = 'dense' | 'colbert';

/**
 * Encoder output as tensors. Dense: embeddings [n, dim], no mask. ColBERT: embeddings [n, length, dim]
 * (L2-normalised per token) and mask [n, length] (float32, 1 = scored).
 */
export interface Encoded {
  kind: HeadKind;
  embeddings: tf.Tensor;
  mask?: tf.Tensor2D;
}
