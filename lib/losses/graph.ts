/**
 * The training losses written as ONNX operators on the differentiable graph builder, for training on ONNX
 * Runtime — the same definitions as contrastive.ts, distillation.ts and mlm.ts (which the tests compare
 * them with):
 *   infoNCEGraph       −Σ log softmax(scores / τ)[query's positive] / normalizer, positives at column
 *                      (offset + i)·docsPerQuery (documents laid out query-major)
 *   distillationGraph  KL(teacher ‖ student) over each query's candidates, the student's scores min–max
 *                      normalised per query when asked (PyLate's default), summed / normalizer
 *   mlmGraph           −Σ log softmax(logits)[target] · scale (scale = 1 / masked tokens of the global batch)
 */
import type { DiffGraph, Sym } from '../backend/onnx-autodiff';

/**
 * InfoNCE from scores [nq, nd]. `offset` (int64 scalar) is the global index of the first query,
 * `docsPerQuery` (int64 scalar) the layout's documents per query, `normalizer` (float scalar) the divisor.
 */
export function infoNCEGraph(g: DiffGraph, scores: Sym, temperature: Sym, offset: Sym, docsPerQuery: Sym, normalizer: Sym): Sym {
  const logp = g.logSoftmax(g.div(scores, temperature));
  const nq = g.raw('Squeeze', [g.dimsVector([{ of: scores, axis: 0 }]), g.intVec([0])], {}, [], 'int64');
  const rows = g.raw('Range', [g.ints('zero', [], [0]), nq, g.ints('one', [], [1])], {}, [scores.dims[0]], 'int64');
  const labels = g.raw('Mul', [g.raw('Add', [rows, offset], {}, rows.dims, 'int64'), docsPerQuery], {}, rows.dims, 'int64');
  const picked = g.gatherElements(logp, g.raw('Unsqueeze', [labels, g.intVec([1])], {}, [scores.dims[0], 1], 'int64'), 1);
  return g.div(g.neg(g.reduceSum(picked, [0, 1], false)), normalizer);
}

/** (x − min) / (max − min + 1e-8) per row (the gradient of each max and min goes to all tied elements, as tf's). */
function minMaxRows(g: DiffGraph, x: Sym): Sym {
  const mx = g.reduceMax(x, 1, true, 'all');
  const mn = g.reduceMax(x, 1, true, 'all', 'min');
  return g.div(g.sub(x, mn), g.add(g.sub(mx, mn), g.scalar(1e-8)));
}

/** KL(teacher ‖ student) from student scores [B, n] and teacher scores [B, n] (a constant input). */
export function distillationGraph(g: DiffGraph, student: Sym, teacher: Sym, normalizer: Sym, opts: { normalizeStudent: boolean }): Sym {
  const s = opts.normalizeStudent ? minMaxRows(g, student) : student;
  const logS = g.logSoftmax(s);
  const logT = g.raw('LogSoftmax', [teacher], { axis: -1 }, teacher.dims, 'float');
  const pT = g.raw('Exp', [logT], {}, teacher.dims, 'float');
  return g.div(g.reduceSum(g.mul(pT, g.sub(logT, logS)), [0, 1], false), normalizer);
}

/** Masked-LM cross-entropy: logits [M, vocab], targets [M] (int64), times `scale` (float scalar). */
export function mlmGraph(g: DiffGraph, logits: Sym, targets: Sym, scale: Sym): Sym {
  const logp = g.logSoftmax(logits);
  const picked = g.gatherElements(logp, g.raw('Unsqueeze', [targets, g.intVec([1])], {}, [targets.dims[0], 1], 'int64'), 1);
  return g.mul(g.neg(g.reduceSum(picked, [0, 1], false)), scale);
}
