/**
 * From a batch of training examples to what GradCache needs: the texts to encode (queries, documents in
 * query-major order) and the loss over their embeddings. One function per phase; MLM is separate
 * (lib/train/mlm-step.ts) because its loss is per token, not over embeddings.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded } from '../scores/encoded';
import { contrastiveLoss } from '../losses/contrastive';
import { distillationLoss } from '../losses/distillation';
import type { EmbeddingLoss } from './gradcache';
import { originOf, type DistillationExample, type Example, type PairExample, type TripletExample } from '../data/training';
import { UserError } from '../util/errors';
import type { TrainConfig } from './config';


/** Texts of a step, in global order, and the loss over their embeddings. */
export interface EmbeddingTask {
  queries: string[];
  documents: string[];
  docsPerQuery: number;
  /** Teacher scores [queries × docsPerQuery] for distillation. */
  teacher?: Float32Array;
}

export interface TemperatureSetting {
  value: number;
  learnable: boolean;
}

/** Unsupervised pairs or supervised triplets (first `negatives` hard negatives of each). */
export function contrastiveTask(examples: Array<PairExample | TripletExample>, negatives: number): EmbeddingTask {
  const documents: string[] = [];
  for (const ex of examples) {
    if ('document' in ex) {
      documents.push(ex.document);
      continue;
    }
    if (ex.negatives.length < negatives) throw new UserError(`${originOf(ex) ?? `example with query "${ex.query.slice(0, 40)}"`}: has ${ex.negatives.length} negatives, the config's "negatives" needs ${negatives}`);
    documents.push(ex.positive, ...ex.negatives.slice(0, negatives));
  }
  return { queries: examples.map((e) => e.query), documents, docsPerQuery: 'document' in (examples[0] ?? {}) ? 1 : 1 + negatives };
}

export function distillationTask(examples: DistillationExample[], candidates: number): EmbeddingTask {
  const teacher = new Float32Array(examples.length * candidates);
  const documents: string[] = [];
  examples.forEach((ex, i) => {
    if (ex.documents.length < candidates) throw new UserError(`${originOf(ex) ?? `example with query "${ex.query.slice(0, 40)}"`}: has ${ex.documents.length} documents, the config's "candidates" needs ${candidates}`);
    documents.push(...ex.documents.slice(0, candidates));
    teacher.set(ex.scores.slice(0, candidates), i * candidates);
  });
  return { queries: examples.map((e) => e.query), documents, docsPerQuery: candidates, teacher };
}

/**
 * PyLate's rule for hard negatives (its released ColBERT-Zero supervised script): every line of a source
 * keeps the first min(the source's fewest negatives on a line, `configured`) negatives, so a file whose
 * lines have different numbers of negatives trains with as many as its shortest line has. Trims the
 * examples in place (they keep their file:line) and returns each source's count.
 */
export function limitNegatives(sources: Example[][], configured: number): number[] {
  return sources.map((source) => {
    const triplets = source.filter((ex): ex is TripletExample => 'negatives' in ex);
    const n = batchNegatives(triplets, configured);
    for (const ex of triplets) if (ex.negatives.length > n) ex.negatives = ex.negatives.slice(0, n);
    return n;
  });
}

/** The hard negatives of a supervised batch: the fewest its lines have (one source: its count), at most `configured`. */
function batchNegatives(examples: Example[], configured: number): number {
  let n = configured;
  for (const ex of examples) if ('negatives' in ex) n = Math.min(n, ex.negatives.length);
  return n;
}

/** The InfoNCE loss; with a learnable temperature, extra[0] is log τ. */
export function contrastiveObjective(docsPerQuery: number, temperature: TemperatureSetting): EmbeddingLoss {
  const tau = (extra: tf.Tensor[]) => (temperature.learnable ? (tf.exp(extra[0]) as tf.Scalar) : temperature.value);
  const loss: EmbeddingLoss = ([q, d]: Encoded[], extra: tf.Tensor[]) => contrastiveLoss(q, d, { docsPerQuery, temperature: tau(extra) });
  // The queries from `start` on, given their embeddings and all documents; the parts add up to `loss`.
  loss.forQueries = (start: number) => ([q, d]: Encoded[], extra: tf.Tensor[]) =>
    contrastiveLoss(q, d, { docsPerQuery, temperature: tau(extra), queryOffset: start, normalizer: d.embeddings.shape[0] / docsPerQuery });
  return loss;
}

export function distillationObjective(teacher: Float32Array, docsPerQuery: number, normalizeStudent: boolean): EmbeddingLoss {
  return ([q, d]: Encoded[]) =>
    tf.tidy(() => distillationLoss(q, d, tf.tensor2d(teacher, [teacher.length / docsPerQuery, docsPerQuery]), { normalizeStudent }));
}

/** The texts and loss of a contrastive or distillation micro-batch (the loss on tfjs tensors). */
export function embeddingTask(config: TrainConfig, examples: Example[]): { task: EmbeddingTask; objective: EmbeddingLoss } {
  if (config.phase === 'distillation') {
    const task = distillationTask(examples as DistillationExample[], config.candidates);
    return { task, objective: distillationObjective(task.teacher!, config.candidates, config.normalizeStudentScores) };
  }
  const task = contrastiveTask(examples as Array<PairExample | TripletExample>, config.phase === 'supervised' ? batchNegatives(examples, config.negatives) : 0);
  return { task, objective: contrastiveObjective(task.docsPerQuery, config.temperature) };
}

