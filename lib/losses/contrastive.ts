/**
 * InfoNCE (in-batch contrastive) loss, PyLate / sentence-transformers conventions:
 * every query is scored against every document of the (global) batch — its positive, its own hard
 * negatives and everyone else's — scores are divided by the temperature, and cross-entropy picks the
 * positive. Documents are laid out query-major: query i owns columns [i·N, (i+1)·N), positive first,
 * so the label of query i is i·N (plus the offset of its shard when queries are split over devices).
 * The loss is the SUM over the given queries divided by `normalizer` (default: their count), so shards
 * of one global batch add up to the global mean.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded } from '../scores/encoded';
import { pairwiseScores } from './embedding-scores';
import { logSoftmaxRows } from './softmax';

export interface InfoNCEOptions {
  /** Documents per query in the layout (1 positive + hard negatives). */
  docsPerQuery: number;
  /** Temperature τ: a number, or a scalar tensor (e.g. exp(logτ) of a learnable variable). */
  temperature: number | tf.Scalar;
  /** Global index of the first query here (when scoring a shard of queries against all documents). */
  queryOffset?: number;
  /** Divisor of the summed loss; default the number of queries given. */
  normalizer?: number;
}

/** Labels of `count` queries starting at `offset`: query i's positive sits at column i·N. */
function contrastiveLabels(count: number, docsPerQuery: number, offset = 0): Int32Array {
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) labels[i] = (offset + i) * docsPerQuery;
  return labels;
}

/** InfoNCE from a score matrix [queries, documents]. */
export function infoNCEFromScores(scores: tf.Tensor2D, opts: InfoNCEOptions): tf.Scalar {
  return tf.tidy(() => {
    const [nq, nd] = scores.shape;
    const labels = contrastiveLabels(nq, opts.docsPerQuery, opts.queryOffset ?? 0);
    for (const l of labels) if (l >= nd) throw new Error(`infoNCE: positive column ${l} outside ${nd} documents`);
    const logits = tf.div(scores, opts.temperature);
    const logp = logSoftmaxRows(logits as tf.Tensor2D);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(labels, 'int32'), nd)));
    return tf.div(tf.neg(picked), opts.normalizer ?? nq) as tf.Scalar;
  });
}

/** InfoNCE on embeddings: dense (cosine/dot on [n, dim]) or ColBERT (MaxSim on [n, len, dim] + masks). */
export function contrastiveLoss(queries: Encoded, documents: Encoded, opts: InfoNCEOptions): tf.Scalar {
  return tf.tidy(() => infoNCEFromScores(pairwiseScores(queries, documents), opts));
}
