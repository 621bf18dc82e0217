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
import type { ObjectiveValues, OrtTrainer } from './trainer';
import type { OrtObjective } from './graphs';

/**
 * Score-tensor floats of one loss chunk (ColBERT: query tokens × document tokens of the pairs scored; dense:
 * the pairs): bounds pass 2's memory whatever the batch, as the tfjs loss's blocks do.
 */
const LOSS_CHUNK_FLOATS = TRAIN_MAXSIM_BLOCK_FLOATS;

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
  if (t.world === 1 && opts.miniBatch >= qTok.n && opts.miniBatch >= dTok.n) {
    // Everything in one mini-batch on one device: one graph, no replay (2/3 of GradCache's work).
    const r = await tr.step(objective.graph, { tokens: qTok, seed: chunkSeed(opts.stepSeed, 'query', 0) }, { tokens: dTok, seed: chunkSeed(opts.stepSeed, 'document', 0) }, objective.values(0, nq, nq), grads);
    return { loss: r.loss, grads, logTemperatureGrad: r.logTemperatureGrad };
  }

  // Pass 1: this rank's embeddings, gathered into the global batch's (rows in rank order).
  const colbert = tr.spec.head.kind === 'colbert';
  const dim = tr.spec.head.kind === 'colbert' ? tr.spec.head.dim : tr.spec.config.hiddenSize;
  const global: Float32Array[] = [];
  for (const g of groups) {
    const local = await embed(tr, g, opts.miniBatch, opts.stepSeed);
    global.push(t.world === 1 ? local : concat(await t.allGather(local)));
  }
  const dims = (tok: TokenizedBatch) => (colbert ? [tok.n, tok.length, dim] : [tok.n, dim]);
  const rowSize = (tok: TokenizedBatch) => (colbert ? tok.length * dim : dim);

  // Pass 2: the loss and its gradient with respect to every embedding, queries in chunks whose score
  // tensors stay within a fixed budget (InfoNCE: each chunk against all documents, whose gradients add up;
  // distillation: each chunk against its own candidates).
  const kd = objective.graph.kind === 'kd';
  const qRow = rowSize(qTok);
  const dRow = rowSize(dTok);
  const perQuery = kd ? task.docsPerQuery * (colbert ? qTok.length * dTok.length : 1) : dTok.n * (colbert ? qTok.length * dTok.length : 1);
  const perChunk = Math.max(1, Math.floor((opts.lossChunkFloats ?? LOSS_CHUNK_FLOATS) / perQuery));
  const qGrad = new Float32Array(global[0].length);
  const dGrad = new Float32Array(global[1].length);
  let loss = 0;
  let logTemperatureGrad: number | undefined;
  for (const [s, e] of chunks(0, nq, perChunk)) {
    const qRows = sliceRows(qTok, s, e);
    const [ds, de] = kd ? [s * task.docsPerQuery, e * task.docsPerQuery] : [0, dTok.n];
    const dRows = sliceRows(dTok, ds, de);
    const r = await tr.loss(
      objective.graph,
      { data: global[0].subarray(s * qRow, e * qRow), dims: dims(qRows), mask: colbert ? qRows.scoringMask : undefined },
      { data: global[1].subarray(ds * dRow, de * dRow), dims: dims(dRows), mask: colbert ? dRows.scoringMask : undefined },
      objective.values(s, e - s, nq),
    );
    loss += r.loss;
    qGrad.set(r.queryGrad, s * qRow);
    const dOut = dGrad.subarray(ds * dRow, de * dRow);
    for (let i = 0; i < dOut.length; i++) dOut[i] += r.documentGrad[i];
    if (r.logTemperatureGrad !== undefined) logTemperatureGrad = (logTemperatureGrad ?? 0) + r.logTemperatureGrad;
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
