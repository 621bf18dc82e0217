/**
 * The training loop, the same for one device and for each replica of a data-parallel group.
 *
 * Anatomy of one optimizer step (where each part lives, and the part of the config it is handed):
 *   1. batch      sampling.ts    BatchSampler.batchAt(step): the global batch, a pure function of (seed, step)
 *                                (config.data, batchSize, seed)
 *   2. task       tasks.ts       examples → texts in global order + the loss over their embeddings
 *                                (phase, negatives | candidates, temperature, normalizeStudentScores)
 *   3. shard      step.ts        tokenize, take this device's rows, then GradCache: embed without a graph,
 *                 gradcache.ts   gather embeddings across devices, loss and embedding gradients, replay and
 *                                back-propagate this device's rows (miniBatch); MLM instead: mlm-step.ts (config.mlm)
 *   4. reduce     run.ts         micro-batches accumulated (accumulationSteps), gradients all-reduced over
 *                 devices/       devices in rank order (the transport: threads, processes, or none)
 *   5. update     optim.ts       clip (optimizer.clipNorm), AdamW at the scheduled learning rate (optimizer)
 *   6. record     run.ts         log.jsonl, evaluation (eval, through lib/eval), checkpoint.ts (checkpointEvery)
 * launch.ts decides where replicas run (this thread, worker threads, processes) and starts them.
 *
 * Determinism: batch k and every dropout seed of step k are functions of (config.seed, k), and the
 * checkpoint holds all variables and optimizer moments, so resuming gives the same numbers as never
 * stopping. A non-finite loss or gradient stops the run before the update, naming the step; the last good
 * checkpoint is left as it was. Rank 0 writes files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/select';
import { UserError } from '../util/errors';
import { progressBar } from '../util/progress';
import { writeDirAtomic } from '../util/atomic';
import { writeMarker } from '../util/output';
import type { TrainConfig } from './config';
import { readTrainingFile, textsOf } from '../data/training';
import { LocalTransport, sumInOrder, type Transport } from './devices/transport';
import { buildModel, type TrainModel } from './model-factory';
import { AdamW, clipByGlobalNorm, learningRateAt } from './optim';
import { seedFor } from '../util/rng';
import { BatchSampler } from './sampling';
import { embeddingShardStep, type ShardResult } from './step';
import { contrastiveObjective, contrastiveTask, distillationObjective, distillationTask, type EmbeddingTask } from './tasks';
import type { DistillationExample, Example, PairExample, TripletExample } from '../data/training';
import { checkpointDir, latestCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { accumulate, plainStep, type EmbedInput, type EmbeddingLoss } from './gradcache';

export interface LogRecord {
  step: number;
  loss: number;
  lr: number;
  temperature?: number;
  gradNorm: number;
  examplesPerSec: number;
  seconds: number;
}

export interface RunHooks {
  /** Called after each optimizer step (tests inject crashes or corruption here). */
  onStepEnd?(step: number, model: TrainModel): void | Promise<void>;
  onLog?(rec: LogRecord): void;
  /** Sees (and may replace) step's full gradient before it is checked and applied (tests inject non-finite values). */
  onGradients?(step: number, grads: tf.Tensor[]): tf.Tensor[];
}

export interface RunOptions {
  resume?: boolean;
  hooks?: RunHooks;
}

export interface EvalRecord {
  step: number;
  mean: Record<string, number>;
  datasets: Array<{ name: string; metrics: Record<string, number> }>;
}

export interface RunSummary {
  /** The last evaluation, when the config has `eval`. */
  lastEval?: EvalRecord;
  steps: number;
  startStep: number;
  finalLoss: number;
  output: string;
  modelDir: string;
}

/** A non-finite loss or gradient: the run stops before the optimizer update, so every checkpoint stays finite. */
export class NonFiniteLossError extends UserError {
  constructor(readonly step: number, value: number, lastCheckpoint: string | null, readonly what: 'loss' | 'gradient' = 'loss') {
    const shown = what === 'loss' ? `(${value})` : `(norm ${value})`;
    super(`non-finite ${what} ${shown} at step ${step}; stopped before the update${lastCheckpoint ? `, last good checkpoint: ${lastCheckpoint}` : ' (no checkpoint written yet)'}`);
  }
}

/** Examples of every source, and the sampler over them. */
export function loadData(config: TrainConfig): { sources: Example[][]; sampler: BatchSampler } {
  const sources = config.data.sources.map((f) => readTrainingFile(f, config.phase));
  const dedup = config.data.avoidDuplicates && (config.phase === 'unsupervised' || config.phase === 'supervised');
  const sampler = new BatchSampler({
    sizes: sources.map((s) => s.length),
    batchSize: config.batchSize,
    mixing: config.data.mixing,
    seed: config.seed,
    textsOf: dedup ? (src, i) => textsOf(sources[src][i]) : undefined,
  });
  return { sources, sampler };
}

export function totalSteps(config: TrainConfig, sampler: BatchSampler): number {
  return config.steps ?? sampler.stepsIn(config.epochs!);
}

function flatten(ts: tf.Tensor[]): Float32Array {
  const out = new Float32Array(ts.reduce((a, t) => a + t.size, 0));
  let o = 0;
  for (const t of ts) out.set(t.dataSync() as Float32Array, o), (o += t.size);
  return out;
}

/** Σx² over every element, in float64 and in order (a plain loop: no flattened copy, no closure per element). */
function sumOfSquares(ts: tf.Tensor[]): number {
  let total = 0;
  for (const t of ts) {
    const v = t.dataSync() as Float32Array;
    for (let i = 0; i < v.length; i++) total += v[i] * v[i];
  }
  return total;
}

function unflatten(all: Float32Array, like: tf.Tensor[], scale: number): tf.Tensor[] {
  let o = 0;
  return like.map((t) => {
    const part = all.subarray(o, o + t.size);
    o += t.size;
    return tf.tidy(() => tf.mul(tf.tensor(part, t.shape, 'float32'), scale));
  });
}

/** The texts and loss of a contrastive or distillation micro-batch. */
function embeddingTask(config: TrainConfig, examples: Example[]): { task: EmbeddingTask; objective: EmbeddingLoss } {
  if (config.phase === 'distillation') {
    const task = distillationTask(examples as DistillationExample[], config.candidates);
    return { task, objective: distillationObjective(task.teacher!, config.candidates, config.normalizeStudentScores) };
  }
  const task = contrastiveTask(examples as Array<PairExample | TripletExample>, config.phase === 'supervised' ? config.negatives : 0);
  return { task, objective: contrastiveObjective(task.docsPerQuery, config.temperature) };
}

/** One micro-batch's gradient share on this rank, for any embedding phase. */
async function microStep(config: TrainConfig, model: TrainModel, examples: Example[], extra: tf.Variable[], t: Transport, stepSeed: number): Promise<ShardResult> {
  const perDevice = examples.length / t.world;
  const miniBatch = config.miniBatch ?? perDevice;
  if (config.phase !== 'mlm') {
    const { task, objective } = embeddingTask(config, examples);
    return embeddingShardStep(model, task, objective, extra, t, { miniBatch, stepSeed });
  }
  const { mlmShardStep } = require('./mlm-step') as typeof import('./mlm-step');
  return mlmShardStep(config.mlm, model, examples, t, { miniBatch, stepSeed });
}

/**
 * The full gradient of one optimizer step on this replica: micro-batches (accumulation) each give this
 * rank's share, shares are summed over devices in rank order and averaged over micro-batches.
 */
export async function stepGradients(config: TrainConfig, model: TrainModel, examples: Example[], extra: tf.Variable[], t: Transport, step: number): Promise<{ loss: number; grads: tf.Tensor[]; extraGrads: tf.Tensor[] }> {
  const k = config.accumulationSteps;
  const micro = examples.length / k;
  let grads: tf.Tensor[] | null = null;
  let extraGrads: tf.Tensor[] | null = null;
  let loss = 0;
  for (let a = 0; a < k; a++) {
    const r = await microStep(config, model, examples.slice(a * micro, (a + 1) * micro), extra, t, seedFor(config.seed, step, a));
    loss += r.loss / k;
    grads = accumulate(grads, r.grads);
    extraGrads = accumulate(extraGrads, r.extraGrads);
  }
  const summed = await t.allReduceSum(flatten(grads!));
  const full = unflatten(summed, grads!, 1 / k);
  grads!.forEach((g) => g.dispose());
  const ex = extraGrads!.map((g) => tf.tidy(() => tf.mul(g, 1 / k)));
  extraGrads!.forEach((g) => g.dispose());
  return { loss, grads: full, extraGrads: ex };
}

export interface ProbeResult {
  loss: number;
  /** Gradient of the first step: model variables then extra variables, flattened. */
  gradient: Float32Array;
}

function extraVariables(config: TrainConfig, rank: number): tf.Variable[] {
  const learnT = (config.phase === 'unsupervised' || config.phase === 'supervised') && config.temperature.learnable;
  return learnT ? [tf.tidy(() => tf.variable(tf.scalar(Math.log(config.temperature.value)), true, `log_temperature_${rank}_${++extraCount}`))] : [];
}
let extraCount = 0;

/**
 * The gradient of step 1 without updating anything (for gradcheck). `plain` computes it on one device
 * as ONE graph over the whole batch (mini-batches seeded as GradCache seeds them), the reference that
 * GradCache and data parallelism must reproduce.
 */
export async function probeGradient(config: TrainConfig, t: Transport = new LocalTransport(), opts: { plain?: boolean } = {}): Promise<ProbeResult> {
  await initBackend();
  const model = await buildModel(config);
  const extra = extraVariables(config, t.rank);
  const { sources, sampler } = loadData(config);
  const examples = sampler.batchAt(0).items.map((it) => sources[it.source][it.index]);
  if (opts.plain) {
    if (t.world !== 1) throw new Error('the plain reference runs on one device');
    if (config.phase === 'mlm') return probeGradient({ ...config, miniBatch: config.batchSize }, t);
    const k = config.accumulationSteps;
    const micro = examples.length / k;
    const parts: Float32Array[] = [];
    let loss = 0;
    for (let a = 0; a < k; a++) {
      const ex = examples.slice(a * micro, (a + 1) * micro);
      const { task, objective } = embeddingTask(config, ex);
      const inputs: EmbedInput[] = [
        { role: 'query', tokens: model.tokenize(task.queries, 'query') },
        { role: 'document', tokens: model.tokenize(task.documents, 'document') },
      ];
      const r = plainStep(model, inputs, objective, extra, { miniBatch: config.miniBatch ?? micro, stepSeed: seedFor(config.seed, 0, a) });
      loss += r.loss / k;
      parts.push(flatten([...r.grads, ...r.extraGrads]).map((x) => x / k));
      [...r.grads, ...r.extraGrads].forEach((g) => g.dispose());
    }
    extra.forEach((v) => v.dispose());
    (model as { dispose?: () => void }).dispose?.();
    return { loss, gradient: sumInOrder(parts) };
  }
  const r = await stepGradients(config, model, examples, extra, t, 0);
  const gradient = flatten([...r.grads, ...r.extraGrads]);
  [...r.grads, ...r.extraGrads, ...extra].forEach((x) => x.dispose());
  (model as { dispose?: () => void }).dispose?.();
  return { loss: r.loss, gradient };
}

/** Runs (or resumes) training on this replica; `t` connects it to the other replicas. */
export async function runReplica(config: TrainConfig, t: Transport = new LocalTransport(), opts: RunOptions = {}): Promise<RunSummary> {
  await initBackend();
  const lead = t.rank === 0;
  const model = await buildModel(config);
  const extra = extraVariables(config, t.rank);
  const learnT = extra.length > 0;
  const variables = [...model.trainableVariables, ...extra];
  const opt = new AdamW(variables, { betas: config.optimizer.betas as [number, number], eps: config.optimizer.eps, weightDecay: config.optimizer.weightDecay });
  const { sources, sampler } = loadData(config);
  const total = totalSteps(config, sampler);
  const schedule = { kind: config.optimizer.schedule, lr: config.optimizer.lr, warmupSteps: config.optimizer.warmupSteps, totalSteps: total };
  const logFile = path.join(config.output, 'log.jsonl');
  const evalFile = path.join(config.output, 'eval.jsonl');
  let lastEval: EvalRecord | undefined;

  let start = 0;
  let lastCkpt: string | null = null;
  if (opts.resume) {
    lastCkpt = latestCheckpoint(config.output);
    if (lastCkpt) start = loadCheckpoint(lastCkpt, variables, opt, config).step;
    // Resume-or-start keeps restartable jobs simple, but it must not look like a resumed run.
    else if (lead) process.stderr.write(`--resume: no checkpoint in ${config.output}; starting from step 0\n`);
  } else if (latestCheckpoint(config.output)) {
    // Starting over would mix two runs in one folder (and a later --resume could pick the old one).
    throw new UserError(`${config.output} already holds checkpoints of a run; use --resume to continue it, or another output`);
  }
  if (lead) {
    fs.mkdirSync(config.output, { recursive: true });
    fs.writeFileSync(path.join(config.output, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    writeMarker(config.output, 'train');
    // The log keeps exactly the steps the weights have seen: lines past the resumed step are dropped.
    for (const f of [logFile, evalFile]) {
      const kept = fs.existsSync(f) && start > 0 ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l && (JSON.parse(l) as { step: number }).step <= start) : [];
      fs.writeFileSync(f, kept.map((l) => l + '\n').join(''));
    }
  }

  const bar = lead ? progressBar(`train ${config.phase}/${config.head}`, total, 'steps') : null;
  bar?.update(start);
  let loss = NaN;
  const began = Date.now();
  if (start >= total && fs.existsSync(logFile)) {
    const last = fs.readFileSync(logFile, 'utf8').trim().split('\n').pop();
    if (last) loss = (JSON.parse(last) as LogRecord).loss; // nothing left to do: report where it ended
  }
  try {
    for (let step = start; step < total; step++) {
      const t0 = Date.now();
      const ref = sampler.batchAt(step);
      const examples = ref.items.map((it) => sources[it.source][it.index]);
      const { loss: stepLoss, grads: full, extraGrads: ex } = await stepGradients(config, model, examples, extra, t, step);
      loss = stepLoss;
      if (!Number.isFinite(loss)) {
        full.forEach((g) => g.dispose());
        ex.forEach((g) => g.dispose());
        throw new NonFiniteLossError(step + 1, loss, lastCkpt);
      }
      let all = [...full, ...ex];
      if (opts.hooks?.onGradients) all = opts.hooks.onGradients(step + 1, all);
      // Checked in float64 over the elements (a float32 norm can overflow on finite values); the
      // all-reduced gradient is the same on every replica, so all of them stop here together.
      let gradNorm = Math.sqrt(sumOfSquares(all));
      if (!Number.isFinite(gradNorm)) {
        all.forEach((g) => g.dispose());
        throw new NonFiniteLossError(step + 1, gradNorm, lastCkpt, 'gradient');
      }
      // The norm just computed serves the clipping too (one pass over the gradients, not two).
      if (config.optimizer.clipNorm !== undefined) ({ norm: gradNorm, grads: all } = clipByGlobalNorm(all, config.optimizer.clipNorm, gradNorm));
      const lr = learningRateAt(step, schedule);
      opt.apply(all, lr);
      all.forEach((g) => g.dispose());

      const done = step + 1;
      if (lead) {
        const secs = (Date.now() - t0) / 1000;
        const rec: LogRecord = { step: done, loss, lr, gradNorm, examplesPerSec: config.batchSize / Math.max(secs, 1e-9), seconds: (Date.now() - began) / 1000 };
        if (learnT) rec.temperature = Math.exp(extra[0].dataSync()[0]);
        if (done % config.logEvery === 0 || done === total) fs.appendFileSync(logFile, JSON.stringify(rec) + '\n');
        opts.hooks?.onLog?.(rec);
        bar!.update(done, { loss: loss.toFixed(4) });
      }
      if (config.eval && (done === total || (config.eval.every !== undefined && done % config.eval.every === 0))) {
        if (lead) {
          lastEval = await evaluateModel(config, model, done);
          fs.appendFileSync(evalFile, JSON.stringify(lastEval) + '\n');
        }
        await t.barrier();
      }
      if (done % config.checkpointEvery === 0 || done === total) {
        if (lead) await saveCheckpoint(config.output, done, config, model, variables, opt);
        await t.barrier();
        lastCkpt = checkpointDir(config.output, done); // on every rank: any replica's stop names it
      }
      await opts.hooks?.onStepEnd?.(done, model);
    }
  } finally {
    bar?.stop();
  }
  const modelDir = path.join(config.output, 'model');
  if (lead && model.save) await writeDirAtomic(modelDir, (dir) => model.save!(dir));
  await t.barrier();
  opt.dispose();
  extra.forEach((v) => v.dispose());
  (model as { dispose?: () => void }).dispose?.();
  return { steps: total, startStep: start, finalLoss: loss, output: config.output, modelDir, lastEval };
}

/** Retrieval evaluation of the current weights on the config's datasets. */
async function evaluateModel(config: TrainConfig, model: TrainModel, step: number): Promise<EvalRecord> {
  const { evaluateRetrieval } = require('../eval/evaluator') as typeof import('../eval/evaluator');
  const e = config.eval!;
  const { encoderForModel } = require('../models/engine') as typeof import('../models/engine');
  const engine = await encoderForModel(model); // ort (current weights as an in-memory graph) unless CZ_ENGINE=tfjs
  const r = await evaluateRetrieval(engine.encoder, e.datasets, { k: e.k, measures: e.measures }).finally(() => engine.dispose());
  return { step, mean: r.mean, datasets: r.datasets.map((d) => ({ name: d.name, metrics: d.metrics })) };
}
