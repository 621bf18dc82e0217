/**
 * One micro-batch on one device, on ONNX Runtime — the same algorithm as ../step.ts, ../gradcache.ts and
 * ../mlm-step.ts on tfjs (the reference the tests compare with):
 *   - every rank tokenizes the whole micro-batch and takes its row shard;
 *   - one device whose shard fits one mini-batch: ONE graph (encoders, loss, backward), no replay;
 *   - otherwise GradCache: embed each mini-batch without a graph (dropout seeds per global row), all-gather
 *     the embeddings, the loss and its embedding gradients (queries in chunks when the score matrix is
 *     large), then back-propagate this rank's slice of them, mini-batch by mini-batch;
 *   - MLM: masking drawn once for the global micro-batch, each rank back-propagates its rows' share.
 * Gradients are added into one flat array (model parameters in variable order); the caller all-reduces.
 */
import type { Transport } from '../devices/transport';
import type { EmbeddingTask } from '../tasks';
import { chunkSeed } from '../gradcache';
import { TRAIN_MAXSIM_BLOCK_FLOATS } from '../../losses/embedding-scores';
import { chunks, sliceRows } from '../rows';
import { seedFor } from '../../util/rng';
import { maskTokens } from '../../losses/mlm';
import type { TokenizedBatch, Role } from '../../tokenize/types';
import type { Embeddings, ObjectiveValues, OrtTrainer } from './trainer';
import type { OrtObjective } from './graphs';

/**
 * Score-tensor floats of one loss chunk (ColBERT: query tokens × document tokens of the pairs scored; dense:
 * the pairs): bounds pass 2's memory whatever the batch, as the tfjs loss's blocks do.
 */
const LOSS_CHUNK_FLOATS = TRAIN_MAXSIM_BLOCK_FLOATS / 4;

/** The largest similarity tensor the one-graph step builds (16M floats); above it pass 2 works in blocks. */
const ONE_GRAPH_FLOATS = 1 << 24;

/** Rows of the score matrix the objective sees at once (queries × documents), as the tfjs loss's chunks. */
const SCORE_ROWS = 1 << 20;

/** Writes `block` ([rows, width]) into columns [c0, c0 + width) of `out` ([rows, cols]). */
function setColumns(out: Float32Array, cols: number, c0: number, block: Float32Array, width: number): void {
  for (let r = 0; r < block.length / width; r++) out.set(block.subarray(r * width, (r + 1) * width), r * cols + c0);
}

/** Columns [c0, c0 + width) of `x` ([rows, cols]) as [rows, width]. */
function getColumns(x: Float32Array, cols: number, c0: number, width: number): Float32Array {
  const rows = x.length / cols;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * cols + c0, r * cols + c0 + width), r * width);
  return out;
}

export interface OrtShare {
  loss: number;
  /** This rank's share of the model gradient (sum over ranks = full gradient). */
  grads: Float32Array;
  /** log τ's gradient when the temperature is learnable (already global). */
  logTemperatureGrad?: number;
}

/** The objective of a task: which graph, and the values its inputs take for queries [offset, offset + count). */
export interface ObjectiveOf {
  graph: OrtObjective;
  values(queryOffset: number, queries: number, totalQueries: number): ObjectiveValues;
}

interface Group {
  role: Role;
  tokens: TokenizedBatch;
  /** Global row of tokens' first row. */
  offset: number;
}

/** Embeddings of the group, mini-batch by mini-batch (dropout seeded per global row, as GradCache replays). */
async function embed(tr: OrtTrainer, g: Group, miniBatch: number, stepSeed: number): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const [s, e] of chunks(0, g.tokens.n, miniBatch)) parts.push(await tr.encode({ tokens: sliceRows(g.tokens, s, e), seed: chunkSeed(stepSeed, g.role, g.offset + s) }));
  return concat(parts);
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

export async function ortEmbeddingShare(
  tr: OrtTrainer,
  tokenize: (texts: string[], role: Role) => TokenizedBatch,
  task: EmbeddingTask,
  objective: ObjectiveOf,
  t: Transport,
  opts: { miniBatch: number; stepSeed: number; lossChunkFloats?: number },
): Promise<OrtShare> {
  const nq = task.queries.length;
  if (nq % t.world !== 0) throw new Error(`${nq} queries cannot be split over ${t.world} devices`);
  const per = nq / t.world;
  const q0 = t.rank * per;
  const d0 = q0 * task.docsPerQuery;
  const qTok = tokenize(task.queries, 'query');
  const dTok = tokenize(task.documents, 'document');
  const groups: Group[] = [
    { role: 'query', tokens: sliceRows(qTok, q0, q0 + per), offset: q0 },
    { role: 'document', tokens: sliceRows(dTok, d0, d0 + per * task.docsPerQuery), offset: d0 },
  ];
  const grads = new Float32Array(tr.modelSize);
  const colbert = tr.spec.head.kind === 'colbert';
  const similarities = qTok.n * dTok.n * (colbert ? qTok.length * dTok.length : 1);
  if (t.world === 1 && opts.miniBatch >= qTok.n && opts.miniBatch >= dTok.n && similarities <= ONE_GRAPH_FLOATS) {
    // Everything in one mini-batch on one device: one graph, no replay (2/3 of GradCache's work). A batch
    // whose similarities would not fit takes the path below, whose loss works in bounded blocks.
    const r = await tr.step(objective.graph, { tokens: qTok, seed: chunkSeed(opts.stepSeed, 'query', 0) }, { tokens: dTok, seed: chunkSeed(opts.stepSeed, 'document', 0) }, objective.values(0, nq, nq), grads);
    return { loss: r.loss, grads, logTemperatureGrad: r.logTemperatureGrad };
  }

  // Pass 1: this rank's embeddings, gathered into the global batch's (rows in rank order).
  const dim = tr.spec.head.kind === 'colbert' ? tr.spec.head.dim : tr.spec.config.hiddenSize;
  const global: Float32Array[] = [];
  for (const g of groups) {
    const local = await embed(tr, g, opts.miniBatch, opts.stepSeed);
    global.push(t.world === 1 ? local : concat(await t.allGather(local)));
  }
  const dims = (tok: TokenizedBatch) => (colbert ? [tok.n, tok.length, dim] : [tok.n, dim]);
  const rowSize = (tok: TokenizedBatch) => (colbert ? tok.length * dim : dim);

  // Pass 2: the loss and its gradient with respect to every embedding.
  const budget = opts.lossChunkFloats ?? LOSS_CHUNK_FLOATS;
  const kd = objective.graph.kind === 'kd';
  const qRow = rowSize(qTok);
  const dRow = rowSize(dTok);
  const qGrad = new Float32Array(global[0].length);
  const dGrad = new Float32Array(global[1].length);
  let loss = 0;
  let logTemperatureGrad: number | undefined;
  const addInto = (out: Float32Array, x: Float32Array) => {
    for (let i = 0; i < out.length; i++) out[i] += x[i];
  };
  const qEmb = (s: number, e: number): Embeddings => ({ data: global[0].subarray(s * qRow, e * qRow), dims: dims(sliceRows(qTok, s, e)), mask: colbert ? sliceRows(qTok, s, e).scoringMask : undefined });
  const dEmb = (s: number, e: number): Embeddings => ({ data: global[1].subarray(s * dRow, e * dRow), dims: dims(sliceRows(dTok, s, e)), mask: colbert ? sliceRows(dTok, s, e).scoringMask : undefined });
  const nd = dTok.n;
  if (colbert && !kd && nq * nd * qTok.length * dTok.length > budget) {
    // A large contrastive ColBERT batch: the score matrix in rows of queries, each row's MaxSim in blocks of
    // documents whose token similarities stay within the budget; the objective on the rows' scores; then each
    // block's MaxSim backward from its slice of the score gradients.
    const graph = objective.graph as OrtObjective & { kind: 'infonce' };
    // Blocks about as many query tokens as document tokens: √budget each.
    const perChunk = Math.max(1, Math.min(Math.floor(SCORE_ROWS / nd), Math.floor(Math.sqrt(budget) / qTok.length)));
    for (const [s, e] of chunks(0, nq, perChunk)) {
      const q = qEmb(s, e);
      const blocks = chunks(0, nd, Math.max(1, Math.floor(budget / ((e - s) * qTok.length * dTok.length))));
      const scores = new Float32Array((e - s) * nd);
      for (const [b0, b1] of blocks) setColumns(scores, nd, b0, await tr.scores(q, dEmb(b0, b1)), b1 - b0);
      const r = await tr.objective(graph, scores, e - s, objective.values(s, e - s, nq));
      loss += r.loss;
      if (r.logTemperatureGrad !== undefined) logTemperatureGrad = (logTemperatureGrad ?? 0) + r.logTemperatureGrad;
      for (const [b0, b1] of blocks) {
        const g = await tr.scoresBackward(q, dEmb(b0, b1), getColumns(r.scoresGrad, nd, b0, b1 - b0));
        addInto(qGrad.subarray(s * qRow, e * qRow), g.queryGrad);
        addInto(dGrad.subarray(b0 * dRow, b1 * dRow), g.documentGrad);
      }
    }
  } else {
    // Queries in chunks whose score tensors stay within the budget (InfoNCE: each chunk against all documents,
    // whose gradients add up; distillation: each chunk against its own candidates).
    const perQuery = kd ? task.docsPerQuery * (colbert ? qTok.length * dTok.length : 1) : nd * (colbert ? qTok.length * dTok.length : 1);
    for (const [s, e] of chunks(0, nq, Math.max(1, Math.floor(budget / perQuery)))) {
      const [ds, de] = kd ? [s * task.docsPerQuery, e * task.docsPerQuery] : [0, nd];
      const r = await tr.loss(objective.graph, qEmb(s, e), dEmb(ds, de), objective.values(s, e - s, nq));
      loss += r.loss;
      qGrad.set(r.queryGrad, s * qRow);
      addInto(dGrad.subarray(ds * dRow, de * dRow), r.documentGrad);
      if (r.logTemperatureGrad !== undefined) logTemperatureGrad = (logTemperatureGrad ?? 0) + r.logTemperatureGrad;
    }
  }

  // Pass 3: replay this rank's rows mini-batch by mini-batch and back-propagate their embedding gradients.
  for (const [g, all] of [[groups[0], qGrad], [groups[1], dGrad]] as const) {
    const size = rowSize(g.tokens);
    for (const [s, e] of chunks(0, g.tokens.n, opts.miniBatch)) {
      const rows = sliceRows(g.tokens, s, e);
      const slice = all.subarray((g.offset + s) * size, (g.offset + e) * size);
      await tr.backward({ tokens: rows, seed: chunkSeed(opts.stepSeed, g.role, g.offset + s) }, slice, dims(rows), grads);
    }
  }
  return { loss, grads, logTemperatureGrad };
}

export async function ortMlmShare(
  tr: OrtTrainer,
  tok: TokenizedBatch,
  masking: { maskId: number; vocabSize: number; specialIds: number[]; probability: number; replaceAll: boolean },
  t: Transport,
  opts: { miniBatch: number; stepSeed: number },
): Promise<OrtShare> {
  const L = tok.length;
  const masked = maskTokens(tok.inputIds, tok.attentionMask, { ...masking, seed: seedFor(opts.stepSeed, 7) });
  const total = Math.max(1, masked.positions.length);
  const per = tok.n / t.world;
  const r0 = t.rank * per;
  const grads = new Float32Array(tr.modelSize);
  let share = 0;
  for (const [s, e] of chunks(r0, r0 + per, opts.miniBatch)) {
    const pos: number[] = [];
    const targets: number[] = [];
    for (let i = s * L; i < e * L; i++) if (masked.labels[i] >= 0) pos.push(i - s * L), targets.push(masked.labels[i]);
    if (pos.length === 0) continue;
    const rows: TokenizedBatch = { n: e - s, length: L, inputIds: masked.inputIds.subarray(s * L, e * L), attentionMask: tok.attentionMask.subarray(s * L, e * L), scoringMask: tok.scoringMask.subarray(s * L, e * L) };
    share += await tr.mlm({ tokens: rows, seed: seedFor(opts.stepSeed, 3, s) }, pos, targets, 1 / total, grads);
  }
  const loss = t.world === 1 ? share : (await t.allReduceSum(Float32Array.of(share)))[0];
  return { loss, grads };
}
