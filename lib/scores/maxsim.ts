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
 * All functions are differentiable (tf.customGrad); every product goes through lib/backend's matMul. The
 * gradient of each max goes to its winning token alone — the first of tied tokens, as torch's max does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../backend/index';
import { UserError } from '../util/errors';

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

/** Default floats of one [nq, Lq, chunk, max(Ld, dim)] block: bounds colbertScores' memory whatever the batch. */
const MAXSIM_BLOCK_FLOATS = 16 * 1024 * 1024;

/** Documents per block so that one block's similarities (and its gradient rows) fit the budget. */
function docsPerBlock(nq: number, lq: number, ld: number, dim: number, budget: number): number {
  return Math.max(1, Math.floor(budget / Math.max(1, nq * lq * Math.max(ld, dim))));
}

/**
 * Which 2-D product computes query × document similarities: 'DQ' = D·Qᵀ then transpose the product,
 * 'QD' = Q·Dᵀ (lib/backend materialises Dᵀ, and wasm's product packs its second operand). D·Qᵀ wins
 * while the query tokens are few; bench/maxsim.ts measured the crossover between 2 and 8 × dim.
 */
export function productOrientation(queryTokens: number, dim: number): 'DQ' | 'QD' {
  return queryTokens <= 4 * dim ? 'DQ' : 'QD';
}

/**
 * Similarities of all query tokens with documents [c0, c0 + nc) → [nq, Lq, nc, Ld], masked tokens filled.
 * Oriented by productOrientation.
 */
function blockSims(q2: tf.Tensor2D, d: tf.Tensor3D, dMask: tf.Tensor2D | null, nq: number, lq: number, c0: number, nc: number): tf.Tensor4D {
  const [nd, ld, dim] = d.shape;
  const db = nc === nd ? d : d.slice([c0, 0, 0], [nc, ld, dim]);
  const d2 = db.reshape([nc * ld, dim]) as tf.Tensor2D;
  const flat = productOrientation(nq * lq, dim) === 'DQ' ? tf.transpose(matMul(d2, q2, false, true)) : matMul(q2, d2, false, true);
  const sims = flat.reshape([nq, lq, nc, ld]) as tf.Tensor4D;
  if (!dMask) return sims;
  const mb = nc === nd ? dMask : dMask.slice([c0, 0], [nc, ld]);
  return tf.add(sims, docBias(mb).reshape([1, 1, nc, ld]));
}

/** Per-(query, query token, document) weight of the max in the score: dy × query mask × has-tokens. */
function upstream(dy: tf.Tensor2D, qMask: tf.Tensor2D | null, dMask: tf.Tensor2D | null, lq: number, c0: number, nc: number): tf.Tensor3D {
  const nq = dy.shape[0];
  let g: tf.Tensor = dy.slice([0, c0], [nq, nc]).reshape([nq, 1, nc]);
  if (dMask) g = tf.mul(g, hasTokens(dMask.slice([c0, 0], [nc, dMask.shape[1]])).reshape([1, 1, nc]));
  g = qMask ? tf.mul(g, qMask.reshape([nq, lq, 1])) : tf.broadcastTo(g, [nq, lq, nc]);
  return g as tf.Tensor3D;
}

/**
 * The sparse MaxSim gradient: each (query-token row r, document slot c) max has one winning document token
 * `winner(r, c)` (a row of d) with upstream weight g[r·slots + c]. One typed-array pass does
 * dQ_r += g·d_win and dD_win += g·q_r (2·rows·slots·dim flops), far cheaper on wasm than tf.gather +
 * unsortedSegmentSum or dense one-hot products.
 */
function accumulateWinners(
  qv: Float32Array,
  dv: Float32Array,
  dQ: Float32Array,
  dD: Float32Array,
  dim: number,
  rows: number,
  slots: number,
  g: Float32Array,
  winner: (r: number, c: number) => number,
): void {
  for (let r = 0; r < rows; r++) {
    const qo = r * dim;
    for (let c = 0; c < slots; c++) {
      const w = g[r * slots + c];
      if (w === 0) continue;
      const doff = winner(r, c) * dim;
      for (let k = 0; k < dim; k++) {
        dQ[qo + k] += w * dv[doff + k];
        dD[doff + k] += w * qv[qo + k];
      }
    }
  }
}

/**
 * All queries × all documents → [nq, nd]: 2-D products over flattened tokens, a max over each
 * document's tokens, a sum over query tokens. Documents are taken in blocks of at most
 * MAXSIM_BLOCK_FLOATS similarities, and the gradient is written out rather than taped: the backward pass
 * recomputes each block's similarities, finds each max's token (argMax: the first of tied tokens, as
 * torch's max does) and accumulates dQ and dD from those winners alone. Memory stays at one block of
 * similarities in both passes (plus the gradients themselves), and no dense gradient of the similarity
 * tensor is ever formed. The accumulation reads the inputs back (dataSync): right for the CPU backends
 * this project computes on; a GPU backend pays one download of q and d per backward pass.
 */
export function colbertScores(
  q: tf.Tensor3D,
  d: tf.Tensor3D,
  qMask?: tf.Tensor2D,
  dMask?: tf.Tensor2D,
  opts: { blockFloats?: number } = {},
): tf.Tensor2D {
  check(q.rank === 3 && d.rank === 3, `queries [${q.shape}] and documents [${d.shape}] must be 3-D`);
  const [nq, lq, dim] = q.shape;
  const [nd, ld, dimD] = d.shape;
  check(dim === dimD, `query dim ${dim} vs document dim ${dimD}`);
  checkMask(qMask, [nq, lq], 'query mask');
  checkMask(dMask, [nd, ld], 'document mask');
  if (nq === 0 || nd === 0 || lq === 0 || ld === 0 || dim === 0) return tf.zeros([nq, nd]); // empty sums and maxima score 0
  const per = docsPerBlock(nq, lq, ld, dim, opts.blockFloats ?? MAXSIM_BLOCK_FLOATS);
  const blocks: [number, number][] = [];
  for (let c0 = 0; c0 < nd; c0 += per) blocks.push([c0, Math.min(per, nd - c0)]);
  const inputs: tf.Tensor[] = [q, d, ...(qMask ? [qMask] : []), ...(dMask ? [dMask] : [])];

  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const ts = args as tf.Tensor[];
    save(ts);
    const split = (t: tf.Tensor[]) => ({
      q2: t[0].reshape([nq * lq, dim]) as tf.Tensor2D,
      d3: t[1] as tf.Tensor3D,
      qm: qMask ? (t[2] as tf.Tensor2D) : null,
      dm: dMask ? (t[qMask ? 3 : 2] as tf.Tensor2D) : null,
    });
    const { q2, d3, qm, dm } = split(ts);
    const parts = blocks.map(([c0, nc]) =>
      tf.tidy(() => {
        const best = tf.max(blockSims(q2, d3, dm, nq, lq, c0, nc), 3); // [nq, lq, nc]
        const weighted = qm ? tf.mul(best, qm.reshape([nq, lq, 1])) : best;
        const summed = tf.sum(weighted, 1); // [nq, nc]
        return dm ? tf.mul(summed, hasTokens(dm.slice([c0, 0], [nc, ld])).reshape([1, nc])) : summed;
      }),
    );
    const value = parts.length === 1 ? parts[0] : tf.concat(parts, 1);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const s = split(saved);
        const qv = s.q2.dataSync() as Float32Array;
        const dv = s.d3.dataSync() as Float32Array;
        const dQ = new Float32Array(nq * lq * dim);
        const dD = new Float32Array(nd * ld * dim);
        for (const [c0, nc] of blocks) {
          // Read outside the tidy: a tidy returning typed arrays walks every element looking for tensors.
          const [idx, g] = readAndDispose(
            tf.tidy(() => [
              tf.argMax(blockSims(s.q2, s.d3, s.dm, nq, lq, c0, nc), 3), // [nq, lq, nc]
              upstream(dy as tf.Tensor2D, s.qm, s.dm, lq, c0, nc),
            ]),
          ) as [Int32Array, Float32Array];
          accumulateWinners(qv, dv, dQ, dD, dim, nq * lq, nc, g, (r, c) => (c0 + c) * ld + idx[r * nc + c]);
        }
        const grads: tf.Tensor[] = [tf.tensor3d(dQ, [nq, lq, dim]), tf.tensor3d(dD, [nd, ld, dim])];
        if (qMask) grads.push(tf.zerosLike(saved[2]));
        if (dMask) grads.push(tf.zerosLike(saved[qMask ? 3 : 2]));
        return grads;
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(...inputs) as tf.Tensor2D;
}

/** The tensors' values as typed arrays; the tensors are disposed. */
function readAndDispose(ts: tf.Tensor[]): Array<Float32Array | Int32Array> {
  return ts.map((t) => {
    const v = t.dataSync() as Float32Array | Int32Array;
    t.dispose();
    return v;
  });
}

/**
 * Each query against its own k documents → [n, k] (knowledge distillation: the teacher scored these
 * k documents for this query). Documents [n, k, Ld, d], document mask [n, k, Ld].
 */
export function colbertKdScores(q: tf.Tensor3D, d: tf.Tensor4D, qMask?: tf.Tensor2D, dMask?: tf.Tensor3D): tf.Tensor2D {
  check(q.rank === 3 && d.rank === 4, `queries [${q.shape}] must be 3-D and documents [${d.shape}] 4-D`);
  const [n, lq, dim] = q.shape;
  const [nd, k, ld, dimD] = d.shape;
  check(n === nd, `${n} queries vs ${nd} document groups`);
  check(dim === dimD, `query dim ${dim} vs document dim ${dimD}`);
  checkMask(qMask, [n, lq], 'query mask');
  checkMask(dMask, [n, k, ld], 'document mask');
  const inputs: tf.Tensor[] = [q, d, ...(qMask ? [qMask] : []), ...(dMask ? [dMask] : [])];
  const split = (t: tf.Tensor[]) => ({
    q3: t[0] as tf.Tensor3D,
    d4: t[1] as tf.Tensor4D,
    qm: qMask ? (t[2] as tf.Tensor2D) : null,
    dm: dMask ? (t[qMask ? 3 : 2] as tf.Tensor3D) : null,
  });
  /** [n, Lq, k, Ld] similarities, masked document tokens filled. */
  const sims = (t: ReturnType<typeof split>) => {
    // Per query, a 2-D product oriented as in blockSims (few query tokens: D·Qᵀ, transpose the product).
    const qs = tf.unstack(t.q3) as tf.Tensor2D[];
    const ds = tf.unstack(t.d4.reshape([n, k * ld, dim])) as tf.Tensor2D[];
    const per = qs.map((qi, i) => (productOrientation(lq, dim) === 'DQ' ? tf.transpose(matMul(ds[i], qi, false, true)) : matMul(qi, ds[i], false, true)));
    const raw = tf.stack(per).reshape([n, lq, k, ld]);
    return t.dm ? tf.add(raw, docBias(t.dm).reshape([n, 1, k, ld])) : raw;
  };

  // Same scheme as colbertScores: the gradient is written out from the argMax winners.
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const ts = args as tf.Tensor[];
    save(ts);
    const t = split(ts);
    const value = tf.tidy(() => {
      const best = tf.max(sims(t), 3); // [n, lq, k]
      const summed = tf.sum(t.qm ? tf.mul(best, t.qm.reshape([n, lq, 1])) : best, 1); // [n, k]
      return t.dm ? tf.mul(summed, hasTokens(t.dm)) : summed;
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const s = split(saved);
        const [idx, g] = readAndDispose(
          tf.tidy(() => {
            let w: tf.Tensor = dy.reshape([n, 1, k]);
            if (s.dm) w = tf.mul(w, hasTokens(s.dm).reshape([n, 1, k]));
            w = s.qm ? tf.mul(w, s.qm.reshape([n, lq, 1])) : tf.broadcastTo(w, [n, lq, k]);
            return [tf.argMax(sims(s), 3), w]; // both [n, lq, k]
          }),
        ) as [Int32Array, Float32Array];
        const dQ = new Float32Array(n * lq * dim);
        const dD = new Float32Array(n * k * ld * dim);
        const qv = s.q3.dataSync() as Float32Array;
        const dv = s.d4.dataSync() as Float32Array;
        accumulateWinners(qv, dv, dQ, dD, dim, n * lq, k, g, (r, c) => (Math.floor(r / lq) * k + c) * ld + idx[r * k + c]);
        const grads: tf.Tensor[] = [tf.tensor3d(dQ, [n, lq, dim]), tf.tensor4d(dD, [n, k, ld, dim])];
        if (qMask) grads.push(tf.zerosLike(saved[2]));
        if (dMask) grads.push(tf.zerosLike(saved[qMask ? 3 : 2]));
        return grads;
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(...inputs) as tf.Tensor2D;
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
