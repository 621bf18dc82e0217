/**
 * The scores of lib/scores written as ONNX operators on the differentiable graph builder, for training on
 * ONNX Runtime — the same definitions as the tensor versions (maxsim.ts, dense.ts), so both engines
 * compute one MaxSim:
 *   maxSimMatrix   all queries × all documents  [nq, Lq, d] × [nd, Ld, d]        → [nq, nd]   (contrastive)
 *   maxSimGroups   query i vs its own k documents [n, Lq, d] × [n·k, Ld, d]     → [n, k]     (distillation)
 *   cosineMatrix / cosineGroups: the dense counterparts on [n, d] embeddings.
 * Masks are float {0,1}: a masked document token gets MASK_FILL and never wins, a document with no
 * scored token scores 0, masked query tokens add 0. Each max sends its gradient to the first winning token,
 * as colbertScores' written-out gradient does.
 */
import type { DiffGraph, Sym } from '../backend/onnx-autodiff';
import { MASK_FILL } from './maxsim';

/** x / max(‖x‖₂, 1e-12) along the last axis (torch's F.normalize; tf.maximum's gradient rule). */
export function l2NormalizeGraph(g: DiffGraph, x: Sym): Sym {
  return g.div(x, g.max(g.sqrt(g.reduceSum(g.mul(x, x), [-1], true)), g.scalar(1e-12)));
}

/** Additive document bias (0 scored, MASK_FILL masked) and the has-a-scored-token factor of each document. */
function documentMask(g: DiffGraph, dMask: Sym): { bias: Sym; has: Sym } {
  const bias = g.raw('Mul', [g.raw('Sub', [g.scalar(1), dMask], {}, dMask.dims, 'float'), g.scalar(MASK_FILL)], {}, dMask.dims, 'float');
  const best = g.raw('ReduceMax', [dMask], { axes: [-1], keepdims: 0 }, dMask.dims.slice(0, -1), 'float');
  const has = g.cast(g.compare('Greater', best, g.scalar(0)), 'float');
  return { bias, has };
}

/** Σ over query tokens of the best (masked) document token: sims [..., Lq, k, Ld] → [..., k]. */
function sumOfMaxima(g: DiffGraph, sims: Sym, qMask: Sym, lqAxis: number): Sym {
  const best = g.reduceMax(sims, -1, false, 'first');
  const weighted = g.mul(best, g.raw('Unsqueeze', [qMask, g.intVec([qMask.dims.length])], {}, [...qMask.dims, 1], 'float'));
  return g.reduceSum(weighted, [lqAxis], false);
}

/** All queries × all documents → [nq, nd]. */
export function maxSimMatrix(g: DiffGraph, q: Sym, qMask: Sym, d: Sym, dMask: Sym): Sym {
  const dim = q.dims[2] as number;
  const { bias, has } = documentMask(g, dMask);
  const q2 = g.reshape(q, [-1, dim], ['query_tokens', dim]);
  const d2 = g.reshape(d, [-1, dim], ['document_tokens', dim]);
  // [nq·Lq, nd·Ld] → [nq, Lq, nd, Ld]
  const flat = g.gemm(q2, d2, { transB: true });
  const shape = g.dimsVector([{ of: qMask, axis: 0 }, { of: qMask, axis: 1 }, { of: dMask, axis: 0 }, { of: dMask, axis: 1 }]);
  const sims = g.add(g.reshapeTo(flat, shape, [...qMask.dims, ...dMask.dims]), bias);
  return g.mul(sumOfMaxima(g, sims, qMask, 1), has);
}

/** Query i against documents [i·k, (i+1)·k) → [n, k]. */
export function maxSimGroups(g: DiffGraph, q: Sym, qMask: Sym, d: Sym, dMask: Sym, k: number): Sym {
  const dim = q.dims[2] as number;
  const { bias, has } = documentMask(g, dMask);
  // documents [n·k, Ld, dim] → [n, k·Ld, dim]; sims [n, Lq, k·Ld] → [n, Lq, k, Ld]
  const n = { of: q, axis: 0 };
  const ld = { of: dMask, axis: 1 };
  const dg = g.reshapeTo(d, g.dimsVector([n, -1, dim]), [q.dims[0], 'group_tokens', dim]);
  const sims = g.reshapeTo(g.matmul(q, g.transposeLast(dg)), g.dimsVector([n, { of: q, axis: 1 }, k, ld]), [q.dims[0], q.dims[1], k, dMask.dims[1]]);
  const biasG = g.reshapeTo(bias, g.dimsVector([n, 1, k, ld]), [q.dims[0], 1, k, dMask.dims[1]]);
  const hasG = g.reshapeTo(has, g.dimsVector([n, k]), [q.dims[0], k]);
  return g.mul(sumOfMaxima(g, g.add(sims, biasG), qMask, 1), hasG);
}

/** Cosine similarity of every query with every document → [nq, nd]. */
export function cosineMatrix(g: DiffGraph, q: Sym, d: Sym): Sym {
  return g.gemm(l2NormalizeGraph(g, q), l2NormalizeGraph(g, d), { transB: true });
}

/** Cosine similarity of query i with documents [i·k, (i+1)·k) → [n, k]. */
export function cosineGroups(g: DiffGraph, q: Sym, d: Sym, k: number): Sym {
  const dim = q.dims[1] as number;
  const qn = g.unsqueeze(l2NormalizeGraph(g, q), [1]);
  const dn = g.reshape(l2NormalizeGraph(g, d), [-1, k, dim], [q.dims[0], k, dim]);
  return g.reduceSum(g.mul(qn, dn), [2], false);
}
