/**
 * One micro-batch on one device of a data-parallel group: the gradient of the global-batch loss with
 * respect to this replica's parameters, from this replica's shard of the rows.
 *   - every rank tokenizes the whole micro-batch (same padding everywhere) and takes its row shard;
 *   - GradCache phase 1 encodes the shard; embeddings (and masks) are all-gathered in rank order, so
 *     every query is scored against every document of the global batch;
 *   - phase 2 computes the global loss and its embedding gradients (the same on every rank);
 *   - each rank back-propagates the slice of embedding gradients for the rows it produced.
 * The caller sums the parameter gradients over ranks (all-reduce) to get the full gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded } from '../scores/encoded';
import type { Transport } from './devices/transport';
import { chunkSeed, gradCacheStep, plainStep, variableGradsAligned, type EmbedInput, type EmbeddingLoss, type StepGradients } from './gradcache';
import { sliceRows } from './rows';
import type { TrainModel } from './model-factory';
import type { EmbeddingTask } from './tasks';

/**
 * This rank's share of the parameter gradients (sum over ranks = full gradient); the extra variables'
 * gradients are already global (identical on every rank).
 */
export type ShardResult = StepGradients;

async function gatherEncoded(local: Encoded, t: Transport): Promise<Encoded> {
  if (t.world === 1) return local;
  const rowShape = local.embeddings.shape.slice(1);
  const emb = await t.allGather(local.embeddings.dataSync() as Float32Array);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const rows = emb.reduce((a, x) => a + x.length, 0) / rowSize;
  const all = new Float32Array(rows * rowSize);
  let o = 0;
  for (const e of emb) all.set(e, o), (o += e.length);
  local.embeddings.dispose();
  const embeddings = tf.tensor(all, [rows, ...rowShape], 'float32');
  if (!local.mask) return { kind: local.kind, embeddings };
  const masks = await t.allGather(local.mask.dataSync() as Float32Array);
  local.mask.dispose();
  const m = new Float32Array(rows * rowShape[0]);
  o = 0;
  for (const x of masks) m.set(x, o), (o += x.length);
  return { kind: local.kind, embeddings, mask: tf.tensor2d(m, [rows, rowShape[0]]) };
}

/**
 * When each device's shard is one mini-batch and the transport can gather synchronously, the shard is
 * encoded once with a graph: other devices' embeddings enter the loss as constants, so the gradient
 * reaches exactly this device's parameters — the GradCache result without the replay.
 */
function oneGraphShardStep(model: TrainModel, inputs: EmbedInput[], objective: EmbeddingLoss, extra: tf.Variable[], t: Transport, gc: { miniBatch: number; stepSeed: number }): ShardResult {
  const gather = (local: Encoded): Encoded => {
    const others = (x: tf.Tensor, parts: Float32Array[]) =>
      parts.map((p, r) => (r === t.rank ? x : tf.tensor(p, [p.length / (x.size / x.shape[0]), ...x.shape.slice(1)], 'float32')));
    const embeddings = tf.concat(others(local.embeddings, t.allGatherSync!(local.embeddings.dataSync() as Float32Array)), 0);
    if (!local.mask) return { kind: local.kind, embeddings };
    const mask = tf.concat(others(local.mask, t.allGatherSync!(local.mask.dataSync() as Float32Array)), 0) as tf.Tensor2D;
    return { kind: local.kind, embeddings, mask };
  };
  const vars = [...model.trainableVariables, ...extra];
  const { value, grads } = variableGradsAligned(() => {
    const global = inputs.map((inp) => gather(model.forward(inp.tokens, { training: true, seed: chunkSeed(gc.stepSeed, inp.role, inp.rowOffset ?? 0) })));
    return objective(global, extra);
  }, vars);
  const n = model.trainableVariables.length;
  return { loss: value, grads: grads.slice(0, n), extraGrads: grads.slice(n) };
}

export async function embeddingShardStep(
  model: TrainModel,
  task: EmbeddingTask,
  objective: EmbeddingLoss,
  extra: tf.Variable[],
  t: Transport,
  opts: { miniBatch: number; stepSeed: number },
): Promise<ShardResult> {
  const nq = task.queries.length;
  if (nq % t.world !== 0) throw new Error(`${nq} queries cannot be split over ${t.world} devices`);
  const per = nq / t.world;
  const q0 = t.rank * per;
  const d0 = q0 * task.docsPerQuery;
  const qTok = model.tokenize(task.queries, 'query');
  const dTok = model.tokenize(task.documents, 'document');
  const inputs: EmbedInput[] = [
    { role: 'query', tokens: sliceRows(qTok, q0, q0 + per), rowOffset: q0 },
    { role: 'document', tokens: sliceRows(dTok, d0, d0 + per * task.docsPerQuery), rowOffset: d0 },
  ];
  const gc = { miniBatch: opts.miniBatch, stepSeed: opts.stepSeed };
  if (t.world === 1 && opts.miniBatch >= dTok.n && opts.miniBatch >= qTok.n) {
    // Everything fits in one mini-batch on one device: one graph, no replay (same numbers, 2/3 the work).
    return plainStep(model, inputs, objective, extra, gc);
  }
  if (t.allGatherSync && inputs.every((inp) => inp.tokens.n <= opts.miniBatch)) return oneGraphShardStep(model, inputs, objective, extra, t, gc);
  // The general case: GradCache over this device's rows, embeddings gathered across devices.
  return gradCacheStep(model, inputs, objective, extra, { ...gc, gather: (local) => gatherEncoded(local, t) });
}
