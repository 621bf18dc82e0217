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
import type { Dim } from '../backend/onnx-graph';
import { MASK_FILL } from './maxsim';

/** x / max(‖x‖₂, 1e-12) along the last axis (torch's F.normalize; tf.maximum's gradient rule). */
function l2NormalizeGraph(g: DiffGraph, x: Sym): Sym {
  return g.div(x, g.max(g.sqrt(g.reduceSum(g.mul(x, x), [-1], true)), g.scalar(1e-12)));
}

/** Additive document bias (0 scored, MASK_FILL masked) and the has-a-scored-token factor of each document. */
function documentMask(g: DiffGraph, dMask: Sym): { bias: Sym; has: Sym } {
  const bias = g.raw('Mul', [g.raw('Sub', [g.scalar(1), dMask], {}, dMask.dims, 'float'), g.scalar(MASK_FILL)], {}, dMask.dims, 'float');
  const best = g.raw('ReduceMax', [dMask], { axes: [-1], keepdims: 0 }, dMask.dims.slice(0, -1), 'float');
  const has = g.cast(g.compare('Greater', best, g.scalar(0)), 'float');
  return { bias, has };
}

/** Σ over query tokens (masked ones add 0) of best [..., Lq, k] → [..., k]. */
function sumOverQueryTokens(g: DiffGraph, best: Sym, qMask: Sym, lqAxis: number): Sym {
  const weighted = g.mul(best, g.raw('Unsqueeze', [qMask, g.intVec([qMask.dims.length])], {}, [...qMask.dims, 1], 'float'));
  return g.reduceSum(weighted, [lqAxis], false);
}

/** 0, 1, …, n−1 (int64) for a runtime size n ([1]-shaped). */
function arange(g: DiffGraph, n: Sym, dim: string | number): Sym {
  const len = g.raw('Squeeze', [n, g.intVec([0])], {}, [], 'int64');
  return g.raw('Range', [g.ints('r0', [], [0]), len, g.ints('r1', [], [1])], {}, [dim], 'int64');
}

/**
 * The best document token of each (query token, candidate) pair and its gradient, written by hand: each
 * max sends its gradient to its winning token alone (the first of tied ones). ∂q gathers the winners'
 * document rows and weights them by the gradient of each max (a batched product), instead of a product
 * with the dense one-hot of every similarity as the derived gradient does. ∂d is that one-hot's product
 * with the query rows (`docGrad`): a scatter-add into the winners would be shorter, but ONNX Runtime's
 * ScatterND adds repeated rows on several threads at once (races), and ScatterElements' add is slow.
 *   qRows [..., D] query-token rows, laid out as best's leading axes; d2 [C, D] document-token rows;
 *   sims() [..., k, Ld] with the mask bias added; rowsOf(idx) the d2 row of each winner (idx: the argmax
 *   over Ld); docGrad(oneHot [..., k, Ld]) → ∂d2 [C, D] → best [..., k].
 */
function bestTokens(g: DiffGraph, qRows: Sym, d2: Sym, bestDims: Dim[], sims: () => Sym, rowsOf: (idx: Sym) => Sym, docGrad: (oneHot: Sym) => Sym, derived: boolean): Sym {
  if (derived) return g.reduceMax(sims(), -1, false, 'first');
  const k = bestDims.length - 1;
  // Nothing to differentiate (inference, a forward-only pass): the max alone, no winners.
  if (!g.isLive(qRows) && !g.isLive(d2)) return g.raw('ReduceMax', [sims()], { axes: [k + 1], keepdims: 0 }, bestDims, 'float');
  let simsDims: readonly Dim[] = [];
  const [best, idx, rows, simsShape] = g.custom(
    [qRows, d2],
    () => {
      const s = sims();
      simsDims = s.dims;
      const idx = g.raw('ArgMax', [s], { axis: k + 1, keepdims: 1, select_last_index: 0 }, [...bestDims, 1], 'int64');
      const flat = g.raw('Squeeze', [idx, g.intVec([k + 1])], {}, bestDims, 'int64');
      // The similarities' shape (not the similarities) is kept for the backward's one-hot.
      return [g.raw('ReduceMax', [s], { axes: [k + 1], keepdims: 0 }, bestDims, 'float'), idx, rowsOf(flat), g.shape(s)];
    },
    ([dBest], need) => {
      // ∂q: [.., 1, k]·[.., k, D], the winners' rows weighted by dBest, summed over the candidates.
      const dq = need[0] ? g.squeeze(g.matmul(g.unsqueeze(dBest!, [k]), g.gather(d2, rows)), [k]) : null;
      // ∂d: the one-hot of the winners (each max has one slot: no two updates meet) times the query rows.
      const zeros = g.raw('ConstantOfShape', [simsShape], { value: { tensor: { dataType: 1, dims: [1], floatData: [0] } } }, simsDims, 'float');
      const oneHot = g.raw('ScatterElements', [zeros, idx, g.unsqueeze(dBest!, [k + 1])], { axis: k + 1 }, simsDims, 'float');
      return [dq, need[1] ? docGrad(oneHot) : null];
    },
  );
  return best;
}

/** All queries × all documents → [nq, nd]. `derived`: the autodiff gradient (tests compare the two). */
export function maxSimMatrix(g: DiffGraph, q: Sym, qMask: Sym, d: Sym, dMask: Sym, opts: { derived?: boolean } = {}): Sym {
  const dim = q.dims[2] as number;
  const { bias, has } = documentMask(g, dMask);
  const q2 = g.reshape(q, [-1, dim], ['query_tokens', dim]);
  const d2 = g.reshape(d, [-1, dim], ['document_tokens', dim]);
  const nd = { of: dMask, axis: 0 };
  const ld = { of: dMask, axis: 1 };
  const bestDims: Dim[] = ['query_tokens', dMask.dims[0]];
  // [nq·Lq, nd·Ld] → [nq·Lq, nd, Ld], masked document tokens filled
  const sims = () => g.add(g.reshapeTo(g.gemm(q2, d2, { transB: true }), g.dimsVector([-1, nd, ld]), ['query_tokens', dMask.dims[0], dMask.dims[1]]), bias);
  // winner row of document c: c·Ld + argmax
  const rowsOf = (idx: Sym) => {
    const first = g.raw('Mul', [arange(g, g.dimsVector([nd]), dMask.dims[0]), g.raw('Squeeze', [g.dimsVector([ld]), g.intVec([0])], {}, [], 'int64')], {}, [dMask.dims[0]], 'int64');
    return g.raw('Add', [idx, first], {}, bestDims, 'int64');
  };
  // ∂d2 = oneHotᵀ · q2 over the flattened [nq·Lq, nd·Ld] similarities.
  const docGrad = (oneHot: Sym) => g.gemm(g.reshape(oneHot, [0, -1], ['query_tokens', 'document_tokens']), q2, { transA: true });
  const best = g.reshapeTo(bestTokens(g, q2, d2, bestDims, sims, rowsOf, docGrad, !!opts.derived), g.dimsVector([{ of: qMask, axis: 0 }, { of: qMask, axis: 1 }, nd]), [q.dims[0], q.dims[1], dMask.dims[0]]);
  return g.mul(sumOverQueryTokens(g, best, qMask, 1), has);
}

/** Query i against documents [i·k, (i+1)·k) → [n, k]. */
export function maxSimGroups(g: DiffGraph, q: Sym, qMask: Sym, d: Sym, dMask: Sym, k: number, opts: { derived?: boolean } = {}): Sym {
  const dim = q.dims[2] as number;
  const { bias, has } = documentMask(g, dMask);
  const n = { of: q, axis: 0 };
  const ld = { of: dMask, axis: 1 };
  const d2 = g.reshape(d, [-1, dim], ['document_tokens', dim]);
  const bestDims: Dim[] = [q.dims[0], q.dims[1], k];
  // documents [n·k·Ld, dim] → [n, k·Ld, dim]; sims [n, Lq, k·Ld] → [n, Lq, k, Ld], masked tokens filled
  const sims = () => {
    const dg = g.reshapeTo(d2, g.dimsVector([n, -1, dim]), [q.dims[0], 'group_tokens', dim]);
    const s = g.reshapeTo(g.matmul(q, g.transposeLast(dg)), g.dimsVector([n, { of: q, axis: 1 }, k, ld]), [q.dims[0], q.dims[1], k, dMask.dims[1]]);
    return g.add(s, g.reshapeTo(bias, g.dimsVector([n, 1, k, ld]), [q.dims[0], 1, k, dMask.dims[1]]));
  };
  // winner row of candidate c of query i: (i·k + c)·Ld + argmax
  const rowsOf = (idx: Sym) => {
    const groups = g.raw('Mul', [arange(g, g.dimsVector([n]), q.dims[0]), g.ints('k', [], [k])], {}, [q.dims[0]], 'int64');
    const cand = g.raw('Add', [g.raw('Unsqueeze', [groups, g.intVec([1])], {}, [q.dims[0], 1], 'int64'), g.ints('cands', [1, k], Array.from({ length: k }, (_, c) => c))], {}, [q.dims[0], k], 'int64');
    const first = g.raw('Mul', [cand, g.raw('Squeeze', [g.dimsVector([ld]), g.intVec([0])], {}, [], 'int64')], {}, [q.dims[0], k], 'int64');
    return g.raw('Add', [idx, g.raw('Unsqueeze', [first, g.intVec([1])], {}, [q.dims[0], 1, k], 'int64')], {}, bestDims, 'int64');
  };
  // ∂d2 per query: oneHot [n, Lq, k·Ld]ᵀ · q [n, Lq, D] → [n, k·Ld, D] → d2's rows.
  const docGrad = (oneHot: Sym) => {
    const o3 = g.reshapeTo(oneHot, g.dimsVector([n, { of: q, axis: 1 }, -1]), [q.dims[0], q.dims[1], 'group_tokens']);
    return g.reshape(g.matmul(g.transposeLast(o3), q), [-1, dim], ['document_tokens', dim]);
  };
  const best = bestTokens(g, q, d2, bestDims, sims, rowsOf, docGrad, !!opts.derived);
  const hasG = g.reshapeTo(has, g.dimsVector([n, k]), [q.dims[0], k]);
  return g.mul(sumOverQueryTokens(g, best, qMask, 1), hasG);
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
