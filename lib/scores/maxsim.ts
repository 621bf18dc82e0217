/**
 * MaxSim (late interaction) scores, the three shapes PyLate has:
 *   colbertScores          all queries × all documents          [nq, Lq, d] × [nd, Ld, d]     → [nq, nd]
 *   colbertScoresPairwise  query i vs document i                 [n, Lq, d] × [n, Ld, d]       → [n]
 *   colbertKdScores        query i vs its own k documents        [n, Lq, d] × [n, k, Ld, d]    → [n, k]
 * score(q, D) = Σ_{scored query tokens i} max_{scored document tokens j} q_i · d_j.
 *
 * Masks are float32 {0,1} (1 = scored). Unlike PyLate, which multiplies similarities by the mask (so a
 * padded document token scores 0 and wins when every real similarity is negative), a masked document
 * token gets a large negative fill and never wins. A document with no scored token scores 0. Masked
 * query tokens add 0; a query may be fully unmasked (query expansion).
 *
 * All functions are differentiable tfjs ops; every product goes through lib/backend's matMul. Gradients
 * of `max` go to the winning token (to every tied winner, as tfjs's max gradient does).
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul, batchMatMul, UserError } from '../backend';

/** Fill for masked document tokens: far below any similarity, finite so gradients stay finite. */
export const MASK_FILL = -1e9;

function check(cond: boolean, msg: string): void {
  if (!cond) throw new UserError(`maxsim: ${msg}`);
}

function checkMask(mask: tf.Tensor | undefined, shape: number[], what: string): void {
  if (!mask) return;
  check(
    mask.rank === shape.length && mask.shape.every((s, i) => s === shape[i]),
    `${what} has shape [${mask.shape}], expected [${shape}]`,
  );
}

/** Additive bias from a document mask: 0 where scored, MASK_FILL where masked. */
function docBias(dMask: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sub(1, dMask), MASK_FILL);
}

/** 1 for documents with at least one scored token, else 0 (their max would be MASK_FILL). */
function hasTokens(dMask: tf.Tensor): tf.Tensor {
  return tf.cast(tf.greater(tf.max(dMask, -1), 0), 'float32');
}

/**
 * The common tail: sims [..., Lq, k, Ld] → masked max over Ld → weight by query mask → sum over Lq.
 * `qMaskB` broadcasts against [..., Lq, k]; `bias`/`present` against [..., Lq, k, Ld] / [..., k].
 */
function reduce(sims: tf.Tensor, bias: tf.Tensor | null, present: tf.Tensor | null, qMaskB: tf.Tensor | null): tf.Tensor {
  const best = tf.max(bias ? tf.add(sims, bias) : sims, -1); // [..., Lq, k]
  const weighted = qMaskB ? tf.mul(best, qMaskB) : best;
  const summed = tf.sum(weighted, -2); // [..., k]
  return present ? tf.mul(summed, present) : summed;
}

/**
 * All queries × all documents → [nq, nd]. One large 2-D product over flattened tokens, then a max over
 * each document's tokens. The orientation is chosen so the transpose lib/backend materialises is the
 * smaller one: few query tokens (reranking) → D·Qᵀ and transpose the product; otherwise Q·Dᵀ.
 */
export function colbertScores(q: tf.Tensor3D, d: tf.Tensor3D, qMask?: tf.Tensor2D, dMask?: tf.Tensor2D): tf.Tensor2D {
  const [nq, lq, dim] = q.shape;
  const [nd, ld, dimD] = d.shape;
  check(q.rank === 3 && d.rank === 3, `queries [${q.shape}] and documents [${d.shape}] must be 3-D`);
  check(dim === dimD, `query dim ${dim} vs document dim ${dimD}`);
  checkMask(qMask, [nq, lq], 'query mask');
  checkMask(dMask, [nd, ld], 'document mask');
  return tf.tidy(() => {
    const q2 = q.reshape([nq * lq, dim]) as tf.Tensor2D;
    const d2 = d.reshape([nd * ld, dim]) as tf.Tensor2D;
    const flat = nq * lq <= 2 * dim ? tf.transpose(matMul(d2, q2, false, true)) : matMul(q2, d2, false, true);
    const sims = flat.reshape([nq, lq, nd, ld]);
    const bias = dMask ? docBias(dMask).reshape([1, 1, nd, ld]) : null;
    const present = dMask ? hasTokens(dMask).reshape([1, nd]) : null;
    const qm = qMask ? qMask.reshape([nq, lq, 1]) : null;
    return reduce(sims, bias, present, qm) as tf.Tensor2D;
  });
}

/**
 * Each query against its own k documents → [n, k] (knowledge distillation: the teacher scored these
 * k documents for this query). Documents [n, k, Ld, d], document mask [n, k, Ld].
 */
export function colbertKdScores(q: tf.Tensor3D, d: tf.Tensor4D, qMask?: tf.Tensor2D, dMask?: tf.Tensor3D): tf.Tensor2D {
  const [n, lq, dim] = q.shape;
  check(q.rank === 3 && d.rank === 4, `queries [${q.shape}] must be 3-D and documents [${d.shape}] 4-D`);
  const [nd, k, ld, dimD] = d.shape;
  check(n === nd, `${n} queries vs ${nd} document groups`);
  check(dim === dimD, `query dim ${dim} vs document dim ${dimD}`);
  checkMask(qMask, [n, lq], 'query mask');
  checkMask(dMask, [n, k, ld], 'document mask');
  return tf.tidy(() => {
    const sims = batchMatMul(q, d.reshape([n, k * ld, dim]) as tf.Tensor3D, false, true).reshape([n, lq, k, ld]);
    const bias = dMask ? docBias(dMask).reshape([n, 1, k, ld]) : null;
    const present = dMask ? hasTokens(dMask) : null; // [n, k]
    const qm = qMask ? qMask.reshape([n, lq, 1]) : null;
    return reduce(sims, bias, present, qm) as tf.Tensor2D;
  });
}

/** Query i against document i → [n]: the k = 1 case of colbertKdScores. */
export function colbertScoresPairwise(q: tf.Tensor3D, d: tf.Tensor3D, qMask?: tf.Tensor2D, dMask?: tf.Tensor2D): tf.Tensor1D {
  check(q.rank === 3 && d.rank === 3, `queries [${q.shape}] and documents [${d.shape}] must be 3-D`);
  const [n, ld, dim] = d.shape;
  checkMask(dMask, [n, ld], 'document mask');
  return tf.tidy(() => {
    const d4 = d.reshape([n, 1, ld, dim]) as tf.Tensor4D;
    const m3 = dMask ? (dMask.reshape([n, 1, ld]) as tf.Tensor3D) : undefined;
    return colbertKdScores(q, d4, qMask, m3).reshape([n]) as tf.Tensor1D;
  });
}
