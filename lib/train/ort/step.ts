/**
 * One micro-batch on one device, on ONNX Runtime — the same algorithm as ../step.ts, ../gradcache.ts and
 * ../mlm-step.ts on tfjs (the reference the tests compare with):
 *   - every rank tokenizes the whole micro-batch and takes its row shard;
 *   - one device whose shard fits one mini-batch: ONE graph (encoders, loss, backward), no replay;
 *   - otherwise GradCache: embed each mini-batch without a graph (dropout seeds per global row), all-gather
 *     the embeddings, the loss and its embedding gradients (in chunks of queries, or for a large contrastive
 *     ColBERT batch in blocks of queries × documents, so memory stays bounded), then back-propagate this
 *     rank's slice of them, mini-batch by mini-batch;
 *   - MLM: masking drawn once for the global micro-batch, each rank back-propagates its rows' share.
 * Gradients are added into the caller's flat array (model parameters in variable order); it all-reduces them.
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

/** The global batch's embeddings as pass 2 sees them: rows of queries and documents with their masks. */
class GlobalBatch {
  readonly qRow: number;
  readonly dRow: number;
  constructor(
    readonly qTok: TokenizedBatch,
    readonly dTok: TokenizedBatch,
    readonly queries: Float32Array,
    readonly documents: Float32Array,
    readonly dim: number,
    readonly colbert: boolean,
  ) {
    this.qRow = colbert ? qTok.length * dim : dim;
    this.dRow = colbert ? dTok.length * dim : dim;
  }

  private rows(tok: TokenizedBatch, data: Float32Array, row: number, s: number, e: number): Embeddings {
    const r = sliceRows(tok, s, e);
    return { data: data.subarray(s * row, e * row), dims: this.colbert ? [r.n, r.length, this.dim] : [r.n, this.dim], mask: this.colbert ? r.scoringMask : undefined };
  }

  q(s: number, e: number): Embeddings {
    return this.rows(this.qTok, this.queries, this.qRow, s, e);
  }

  d(s: number, e: number): Embeddings {
    return this.rows(this.dTok, this.documents, this.dRow, s, e);
  }
}

interface EmbeddingGrads {
  loss: number;
  queries: Float32Array;
  documents: Float32Array;
  logTemperatureGrad?: number;
}

function addInto(out: Float32Array, x: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] += x[i];
}

/**
 * Pass 2: the loss and its gradient with respect to every embedding, queries in chunks whose score tensors
 * stay within `budget` floats (InfoNCE: each chunk against all documents, whose gradients add up;
 * distillation: each chunk against its own candidates).
 */
async function chunkedLoss(tr: OrtTrainer, b: GlobalBatch, objective: ObjectiveOf, docsPerQuery: number, budget: number): Promise<EmbeddingGrads> {
  const kd = objective.graph.kind === 'kd';
  const nq = b.qTok.n;
  const nd = b.dTok.n;
  const tokens = b.colbert ? b.qTok.length * b.dTok.length : 1;
  const perQuery = (kd ? docsPerQuery : nd) * tokens;
  const out: EmbeddingGrads = { loss: 0, queries: new Float32Array(b.queries.length), documents: new Float32Array(b.documents.length) };
  for (const [s, e] of chunks(0, nq, Math.max(1, Math.floor(budget / perQuery)))) {
    const [ds, de] = kd ? [s * docsPerQuery, e * docsPerQuery] : [0, nd];
    const r = await tr.loss(objective.graph, b.q(s, e), b.d(ds, de), objective.values(s, e - s, nq));
    out.loss += r.loss;
    out.queries.set(r.queryGrad, s * b.qRow);
    addInto(out.documents.subarray(ds * b.dRow, de * b.dRow), r.documentGrad);
    if (r.logTemperatureGrad !== undefined) out.logTemperatureGrad = (out.logTemperatureGrad ?? 0) + r.logTemperatureGrad;
  }
  return out;
}

/**
 * Pass 2 for a contrastive ColBERT batch too large for chunkedLoss's query chunks: the score matrix in rows
 * of queries, each row's MaxSim in blocks of documents whose token similarities stay within `budget`; the
 * objective on each row block's scores; then each block's MaxSim backward from its slice of their gradient.
 */
async function blockedContrastive(tr: OrtTrainer, b: GlobalBatch, objective: ObjectiveOf, budget: number): Promise<EmbeddingGrads> {
  const graph = objective.graph as OrtObjective & { kind: 'infonce' };
  const nq = b.qTok.n;
  const nd = b.dTok.n;
  const out: EmbeddingGrads = { loss: 0, queries: new Float32Array(b.queries.length), documents: new Float32Array(b.documents.length) };
  // About as many query tokens as document tokens in a block: √budget each.
  const perChunk = Math.max(1, Math.min(Math.floor(SCORE_ROWS / nd), Math.floor(Math.sqrt(budget) / b.qTok.length)));
  for (const [s, e] of chunks(0, nq, perChunk)) {
    const q = b.q(s, e);
    const blocks = chunks(0, nd, Math.max(1, Math.floor(budget / ((e - s) * b.qTok.length * b.dTok.length))));
    const scores = new Float32Array((e - s) * nd);
    for (const [b0, b1] of blocks) setColumns(scores, nd, b0, await tr.scores(q, b.d(b0, b1)), b1 - b0);
    const r = await tr.objective(graph, scores, e - s, objective.values(s, e - s, nq));
    out.loss += r.loss;
    if (r.logTemperatureGrad !== undefined) out.logTemperatureGrad = (out.logTemperatureGrad ?? 0) + r.logTemperatureGrad;
    for (const [b0, b1] of blocks) {
      const g = await tr.scoresBackward(q, b.d(b0, b1), getColumns(r.scoresGrad, nd, b0, b1 - b0));
      addInto(out.queries.subarray(s * b.qRow, e * b.qRow), g.queryGrad);
      addInto(out.documents.subarray(b0 * b.dRow, b1 * b.dRow), g.documentGrad);
    }
  }
  return out;
}

export async function ortEmbeddingShare(
  tr: OrtTrainer,
  tokenize: (texts: string[], role: Role) => TokenizedBatch,
  task: EmbeddingTask,
  objective: ObjectiveOf,
  t: Transport,
  opts: { miniBatch: number; stepSeed: number; lossChunkFloats?: number },
  /** This rank's share of the model gradient is added here (model parameters in variable order). */
  grads: Float32Array,
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
  const colbert = tr.spec.head.kind === 'colbert';
  const similarities = qTok.n * dTok.n * (colbert ? qTok.length * dTok.length : 1);
  if (t.world === 1 && opts.miniBatch >= qTok.n && opts.miniBatch >= dTok.n && similarities <= ONE_GRAPH_FLOATS) {
    // Everything in one mini-batch on one device: one graph, no replay (2/3 of GradCache's work). A batch
    // whose similarities would not fit takes the path below, whose loss works in bounded blocks.
    const r = await tr.step(objective.graph, { tokens: qTok, seed: chunkSeed(opts.stepSeed, 'query', 0) }, { tokens: dTok, seed: chunkSeed(opts.stepSeed, 'document', 0) }, objective.values(0, nq, nq), grads);
    return { loss: r.loss, logTemperatureGrad: r.logTemperatureGrad };
  }

  // Pass 1: this rank's embeddings, gathered into the global batch's (rows in rank order).
  const dim = tr.spec.head.kind === 'colbert' ? tr.spec.head.dim : tr.spec.config.hiddenSize;
  const global: Float32Array[] = [];
  for (const g of groups) {
    const local = await embed(tr, g, opts.miniBatch, opts.stepSeed);
    global.push(t.world === 1 ? local : concat(await t.allGather(local)));
  }
  const batch = new GlobalBatch(qTok, dTok, global[0], global[1], dim, colbert);

  // Pass 2: the loss and its gradient with respect to every embedding.
  const budget = opts.lossChunkFloats ?? LOSS_CHUNK_FLOATS;
  const large = colbert && objective.graph.kind === 'infonce' && similarities > budget;
  const r = large ? await blockedContrastive(tr, batch, objective, budget) : await chunkedLoss(tr, batch, objective, task.docsPerQuery, budget);

  // Pass 3: replay this rank's rows mini-batch by mini-batch and back-propagate their embedding gradients.
  for (const [g, all, row] of [[groups[0], r.queries, batch.qRow], [groups[1], r.documents, batch.dRow]] as const) {
    for (const [s, e] of chunks(0, g.tokens.n, opts.miniBatch)) {
      const rows = sliceRows(g.tokens, s, e);
      const slice = all.subarray((g.offset + s) * row, (g.offset + e) * row);
      await tr.backward({ tokens: rows, seed: chunkSeed(opts.stepSeed, g.role, g.offset + s) }, slice, colbert ? [rows.n, rows.length, dim] : [rows.n, dim], grads);
    }
  }
  return { loss: r.loss, logTemperatureGrad: r.logTemperatureGrad };
}

export async function ortMlmShare(
  tr: OrtTrainer,
  tok: TokenizedBatch,
  masking: { maskId: number; vocabSize: number; specialIds: number[]; probability: number; replaceAll: boolean },
  t: Transport,
  opts: { miniBatch: number; stepSeed: number },
  grads: Float32Array,
): Promise<OrtShare> {
  const L = tok.length;
  const masked = maskTokens(tok.inputIds, tok.attentionMask, { ...masking, seed: seedFor(opts.stepSeed, 7) });
  const total = Math.max(1, masked.positions.length);
  const per = tok.n / t.world;
  const r0 = t.rank * per;
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
  return { loss };
}
