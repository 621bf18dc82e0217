/**
 * Masked-language-model pre-training loss and masking, as ModernBERT trains: 30% of the (non-special,
 * non-padding) tokens are selected; of those, by default 80% become [MASK], 10% a random token and 10%
 * stay unchanged (BERT's recipe, what Hugging Face's DataCollatorForLanguageModeling does and ModernBERT's
 * training used with mlm_probability 0.3). `replaceAll: true` masks every selected token instead.
 * The loss is the mean cross-entropy over selected tokens only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../util/rng';
import { logSoftmaxRows } from './softmax';

export const IGNORE_INDEX = -100;

export interface MaskingOptions {
  maskId: number;
  vocabSize: number;
  /** Token ids never selected (CLS, SEP, PAD, ...). */
  specialIds: number[];
  /** Fraction of eligible tokens selected (ModernBERT: 0.3). */
  probability?: number;
  /** Mask every selected token instead of 80/10/10. */
  replaceAll?: boolean;
  seed: number;
}

export interface MaskedBatch {
  inputIds: Int32Array;
  /** Original id at selected positions, IGNORE_INDEX elsewhere. */
  labels: Int32Array;
  /** Flat indices of selected positions (row-major over [n, length]). */
  positions: Int32Array;
}

/** Selects and corrupts tokens; deterministic in `seed`. Padding (attentionMask 0) is never selected. */
export function maskTokens(inputIds: Int32Array, attentionMask: Int32Array, opts: MaskingOptions): MaskedBatch {
  const rand = mulberry32(opts.seed);
  const p = opts.probability ?? 0.3;
  const special = new Set(opts.specialIds);
  const ids = Int32Array.from(inputIds);
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
  const positions: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    // Draw every random number unconditionally so the stream does not depend on earlier outcomes.
    const select = rand() < p;
    const how = rand();
    const randomId = Math.floor(rand() * opts.vocabSize);
    if (!select || attentionMask[i] === 0 || special.has(inputIds[i])) continue;
    labels[i] = inputIds[i];
    positions.push(i);
    if (opts.replaceAll || how < 0.8) ids[i] = opts.maskId;
    else if (how < 0.9) ids[i] = randomId;
  }
  return { inputIds: ids, labels, positions: Int32Array.from(positions) };
}

/** Mean cross-entropy of `logits` [M, vocab] (at the selected positions) against `targets` [M]. */
export function mlmLoss(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    const [m, v] = logits.shape;
    if (targets.length !== m) throw new Error(`mlmLoss: ${m} logit rows vs ${targets.length} targets`);
    if (m === 0) return tf.scalar(0);
    const logp = logSoftmaxRows(logits);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(targets, 'int32'), v)));
    return tf.div(tf.neg(picked), m) as tf.Scalar;
  });
}
