/**
 * GradCache (Gao et al., 2021), exact: a contrastive loss over a large batch with the memory of one
 * mini-batch.
 *   1. embed: encode every mini-batch with the training forward (dropout on) but keep only the outputs;
 *   2. loss:  compute the loss over all embeddings and its gradient with respect to each embedding
 *             (and to extra variables such as a learnable log-temperature);
 *   3. replay: re-encode each mini-batch WITH a graph and back-propagate its cached embedding gradient,
 *             i.e. the vector-Jacobian product ∇θ Σ(embeddings ⊙ cachedGrad), summed over mini-batches.
 * Dropout replays identically because the forward of the mini-batch starting at global row r always
 * gets seed seedFor(stepSeed, role, r): the same rows, the same masks, on any device.
 * With the mini-batch as large as the batch, this is plain back-propagation.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded } from '../scores/encoded';
import type { Role, TokenizedBatch } from '../tokenize/types';
import type { TrainableEncoder } from '../models/encoder';
import { seedFor } from '../util/rng';
import { chunks, concatEncoded, sliceRows, tidyEncoded } from './rows';

/** One group of texts to encode: queries or documents, already tokenized. */
export interface EmbedInput {
  role: Role;
  tokens: TokenizedBatch;
  /** Global row index of tokens' first row (a device shard starts past 0). */
  rowOffset?: number;
}

/**
 * Loss over all groups' embeddings (global order) and extra variables' current values. A loss that is a
 * sum over queries (InfoNCE) may offer `forQueries(start)`: the part of the loss from the queries given
 * (the first being query `start` of the batch) against all documents, so phase 2 can score in chunks.
 */
export type EmbeddingLoss = ((encoded: Encoded[], extra: tf.Tensor[]) => tf.Scalar) & {
  forQueries?: (start: number) => (encoded: Encoded[], extra: tf.Tensor[]) => tf.Scalar;
};

/**
 * Phase 2 scores at most this many query × document pairs at once: the [queries, documents] score matrix
 * and its softmax copies would otherwise grow with the square of the batch (64 MB each at 4,096).
 */
const SCORE_CHUNK_PAIRS = 1 << 20;

export interface GradCacheOptions {
  miniBatch: number;
  /** Seed of this optimisation step; dropout masks derive from it. */
  stepSeed: number;
  training?: boolean;
}

const ROLE_CODE: Record<Role, number> = { query: 1, document: 2 };

/** Dropout seed of the mini-batch that starts at global row `row`. */
export function chunkSeed(stepSeed: number, role: Role, row: number): number {
  return seedFor(stepSeed, ROLE_CODE[role], row);
}

/** Phase 1: embeddings of every row, encoded mini-batch by mini-batch, no graph kept. */
export function embedNoGraph(model: TrainableEncoder, input: EmbedInput, opts: GradCacheOptions): Encoded {
  const off = input.rowOffset ?? 0;
  const parts = chunks(0, input.tokens.n, opts.miniBatch).map(([s, e]) =>
    tidyEncoded(() => model.forward(sliceRows(input.tokens, s, e), { training: opts.training ?? true, seed: chunkSeed(opts.stepSeed, input.role, off + s) })),
  );
  const all = tidyEncoded(() => concatEncoded(parts));
  if (parts.length > 1) parts.forEach((p) => (p.embeddings.dispose(), p.mask?.dispose()));
  return all;
}

function sliceEncoded(e: Encoded, start: number, end: number): Encoded {
  return tidyEncoded(() => ({
    kind: e.kind,
    embeddings: e.embeddings.slice(start, end - start),
    mask: e.mask ? (e.mask.slice([start, 0], [end - start, e.mask.shape[1]]) as tf.Tensor2D) : undefined,
  }));
}

/** Phase 2: the loss and its gradient with respect to each group's embeddings and each extra variable. */
export function lossAndEmbeddingGrads(loss: EmbeddingLoss, encoded: Encoded[], extra: tf.Variable[], scoreChunkPairs = SCORE_CHUNK_PAIRS): { loss: number; embeddingGrads: tf.Tensor[]; extraGrads: tf.Tensor[] } {
  const k = encoded.length;
  const nq = encoded[0].embeddings.shape[0];
  const nd = k === 2 ? encoded[1].embeddings.shape[0] : 0;
  if (loss.forQueries && k === 2 && nq * nd > scoreChunkPairs) {
    // Queries in chunks against all documents: query gradients are disjoint, document and extra ones add up.
    const per = Math.max(1, Math.floor(scoreChunkPairs / nd));
    let total = 0;
    const qGrads: tf.Tensor[] = [];
    let rest: tf.Tensor[] | null = null;
    for (const [s, e] of chunks(0, nq, per)) {
      const qc = sliceEncoded(encoded[0], s, e);
      const r = lossAndEmbeddingGrads(loss.forQueries(s) as EmbeddingLoss, [qc, encoded[1]], extra);
      qc.embeddings.dispose();
      qc.mask?.dispose();
      total += r.loss;
      qGrads.push(r.embeddingGrads[0]);
      rest = accumulate(rest, [r.embeddingGrads[1], ...r.extraGrads]);
    }
    const q = tf.concat(qGrads, 0);
    qGrads.forEach((g) => g.dispose());
    return { loss: total, embeddingGrads: [q, rest![0]], extraGrads: rest!.slice(1) };
  }
  const f = (...xs: tf.Tensor[]) =>
    loss(
      encoded.map((e, i) => ({ ...e, embeddings: xs[i] })),
      xs.slice(k),
    );
  const { value, grads } = tf.valueAndGrads(f)([...encoded.map((e) => e.embeddings), ...extra]);
  const v = value.arraySync() as number;
  value.dispose();
  return { loss: v, embeddingGrads: grads.slice(0, k), extraGrads: grads.slice(k) };
}

/** Gradients of `variables` as an array aligned with them (zeros where the loss does not reach). */
export function variableGradsAligned(f: () => tf.Scalar, variables: tf.Variable[]): { value: number; grads: tf.Tensor[] } {
  const { value, grads } = tf.variableGrads(f, variables);
  const v = value.arraySync() as number;
  value.dispose();
  return { value: v, grads: variables.map((x) => grads[x.name] ?? tf.zerosLike(x)) };
}

/** Adds `b` into `acc` element-wise (acc may be empty), disposing what it replaces. */
export function accumulate(acc: tf.Tensor[] | null, b: tf.Tensor[]): tf.Tensor[] {
  if (!acc) return b;
  return acc.map((a, i) => {
    const s = tf.add(a, b[i]);
    a.dispose();
    b[i].dispose();
    return s;
  });
}

/** Phase 3: replay each mini-batch with a graph and back-propagate its slice of `embeddingGrad`. */
function backpropCached(model: TrainableEncoder, input: EmbedInput, embeddingGrad: tf.Tensor, opts: GradCacheOptions): tf.Tensor[] {
  const off = input.rowOffset ?? 0;
  let acc: tf.Tensor[] | null = null;
  for (const [s, e] of chunks(0, input.tokens.n, opts.miniBatch)) {
    const g = tf.tidy(() => embeddingGrad.slice([s], [e - s]));
    const { grads } = variableGradsAligned(
      () => {
        const out = model.forward(sliceRows(input.tokens, s, e), { training: opts.training ?? true, seed: chunkSeed(opts.stepSeed, input.role, off + s) });
        return tf.sum(tf.mul(out.embeddings, g)) as tf.Scalar;
      },
      model.trainableVariables,
    );
    g.dispose();
    acc = accumulate(acc, grads);
  }
  return acc ?? model.trainableVariables.map((x) => tf.zerosLike(x));
}

export interface StepGradients {
  loss: number;
  /** Aligned with model.trainableVariables. */
  grads: tf.Tensor[];
  /** Aligned with the extra variables. */
  extraGrads: tf.Tensor[];
}

/**
 * Gathers a device's embeddings into the global batch's (rows in rank order). One device: the identity.
 * Several: an all-gather over the transport, so every query meets every document of the global batch.
 */
export type GatherEncoded = (local: Encoded) => Promise<Encoded>;

/**
 * All three phases. `inputs` are this device's rows; with `gather`, phase 2 sees every device's
 * embeddings and phase 3 back-propagates the slice of embedding gradients for the rows this device
 * produced (from each input's `rowOffset`), so the gradients summed over devices are the full gradient.
 */
export async function gradCacheStep(model: TrainableEncoder, inputs: EmbedInput[], loss: EmbeddingLoss, extra: tf.Variable[], opts: GradCacheOptions & { gather?: GatherEncoded }): Promise<StepGradients> {
  const encoded: Encoded[] = [];
  for (const inp of inputs) {
    const local = embedNoGraph(model, inp, opts);
    encoded.push(opts.gather ? await opts.gather(local) : local);
  }
  const phase2 = lossAndEmbeddingGrads(loss, encoded, extra);
  encoded.forEach((e) => (e.embeddings.dispose(), e.mask?.dispose()));
  let grads: tf.Tensor[] | null = null;
  inputs.forEach((inp, i) => {
    const all = phase2.embeddingGrads[i];
    const mine = all.shape[0] === inp.tokens.n ? all : tf.tidy(() => all.slice([inp.rowOffset ?? 0], [inp.tokens.n]));
    grads = accumulate(grads, backpropCached(model, inp, mine, opts));
    all.dispose();
    mine.dispose();
  });
  return { loss: phase2.loss, grads: grads!, extraGrads: phase2.extraGrads };
}

/**
 * The reference: one graph over the whole batch. Rows are still encoded in mini-batches of the same
 * size and seeds (so dropout masks match); nothing is cached or replayed.
 */
export function plainStep(model: TrainableEncoder, inputs: EmbedInput[], loss: EmbeddingLoss, extra: tf.Variable[], opts: GradCacheOptions): StepGradients {
  const vars = [...model.trainableVariables, ...extra];
  const { value, grads } = variableGradsAligned(() => {
    const encoded = inputs.map((inp) => {
      const off = inp.rowOffset ?? 0;
      return concatEncoded(
        chunks(0, inp.tokens.n, opts.miniBatch).map(([s, e]) =>
          model.forward(sliceRows(inp.tokens, s, e), { training: opts.training ?? true, seed: chunkSeed(opts.stepSeed, inp.role, off + s) }),
        ),
      );
    });
    return loss(encoded, extra);
  }, vars);
  const n = model.trainableVariables.length;
  return { loss: value, grads: grads.slice(0, n), extraGrads: grads.slice(n) };
}
