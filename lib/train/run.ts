/**
 * The training loop, the same for one device and for each replica of a data-parallel group.
 *
 * Anatomy of one optimizer step (where each part lives, and the part of the config it is handed):
 *   1. batch      sampling.ts    BatchSampler.batchAt(step): the global batch, a pure function of (seed, step)
 *                                (config.data, batchSize, seed)
 *   2. task       tasks.ts       examples → texts in global order + the loss over their embeddings
 *                                (phase, negatives | candidates, temperature, normalizeStudentScores)
 *   3. shard      engine.ts      the engine computes this device's share (ort/: ONNX Runtime; tfjs: step.ts,
 *                 step.ts        gradcache.ts, mlm-step.ts): tokenize, take this device's rows, then GradCache —
 *                 gradcache.ts   embed without a graph, gather embeddings across devices, loss and embedding
 *                 ort/step.ts    gradients, replay and back-propagate this device's rows (miniBatch); MLM its own
 *   4. reduce     run.ts         micro-batches accumulated (accumulationSteps), gradients all-reduced over
 *                 devices/       devices in rank order (the transport: threads, processes, or none)
 *   5. update     optim.ts       clip (optimizer.clipNorm), AdamW at the scheduled learning rate (optimizer), on
 *                 update-threads the engine's flat parameter array, split over the engine's threads
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
import { initBackend } from '../backend/select';
import { UserError } from '../util/errors';
import { progressBar } from '../util/progress';
import { writeDirAtomic } from '../util/atomic';
import { writeMarker } from '../util/output';
import { miniBatchOf, type TrainConfig } from './config';
import { readTrainingFile, textsOf } from '../data/training';
import { LocalTransport, sumInOrder, type Transport } from './devices/transport';
import type { TrainModel } from './model-factory';
import { AdamW, clipCoefficient, learningRateAt, sharedFloats } from './optim';
import { UpdateThreads } from './update-threads';
import { seedFor } from '../util/rng';
import { BatchSampler } from './sampling';
import type { Example } from '../data/training';
import { checkpointDir, latestCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { plainStep, type EmbedInput } from './gradcache';
import { chooseEngine, createEngine } from './engine';
import { embeddingTask, limitNegatives } from './tasks';
import type { TfjsEngine } from './tfjs-engine';
import type { Engine } from '../backend/engine';
import type { TrainEngine } from './train-engine';

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
  /** Called after each optimizer step with the parameters, which it may change (tests inject crashes or corruption here). */
  onStepEnd?(step: number, params: Float32Array): void | Promise<void>;
  onLog?(rec: LogRecord): void;
  /** Sees (and may change) step's full gradient before it is checked and applied (tests inject non-finite values). */
  onGradients?(step: number, grads: Float32Array): void;
}

export interface RunOptions {
  resume?: boolean;
  hooks?: RunHooks;
  /** ort or tfjs (see engine.ts); default: chooseEngine's. */
  engine?: Engine;
  /** ONNX Runtime intra-op threads of this replica (default: the cores, shared among devices). */
  threads?: number;
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
  engine: Engine;
}

/** A non-finite loss or gradient: the run stops before the optimizer update, so every checkpoint stays finite. */
export class NonFiniteLossError extends UserError {
  constructor(readonly step: number, value: number, lastCheckpoint: string | null, readonly what: 'loss' | 'gradient' | 'weights' = 'loss') {
    super(NonFiniteLossError.describe(step, value, lastCheckpoint, what));
  }

  // One root-level super() call: tslab's TypeScript 5.0 rejects a conditional one in a class with parameter properties.
  private static describe(step: number, value: number, lastCheckpoint: string | null, what: 'loss' | 'gradient' | 'weights'): string {
    const last = lastCheckpoint ? `, last good checkpoint: ${lastCheckpoint}` : ' (no checkpoint written yet)';
    if (what === 'weights') return `non-finite weights after the update of step ${step} (a finite gradient times a huge learning rate); stopped before writing its checkpoint${last}`;
    return `non-finite ${what} ${what === 'loss' ? `(${value})` : `(norm ${value})`} at step ${step}; stopped before the update${last}`;
  }
}

/** True when no element is NaN or ±Infinity (x·0 is NaN exactly for those). */
function allFinite(x: Float32Array): boolean {
  let probe = 0;
  for (let i = 0; i < x.length; i++) probe += x[i] * 0;
  return probe === 0;
}

/** Examples of every source, and the sampler over them. */
export function loadData(config: TrainConfig): { sources: Example[][]; sampler: BatchSampler } {
  const sources = config.data.sources.map((f) => readTrainingFile(f, config.phase));
  // Supervised: each source keeps min(its fewest negatives on a line, config.negatives), as PyLate does.
  if (config.phase === 'supervised') limitNegatives(sources, config.negatives);
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

function totalSteps(config: TrainConfig, sampler: BatchSampler): number {
  return config.steps ?? sampler.stepsIn(config.epochs!);
}

/**
 * The full gradient of one optimizer step on this replica (model parameters then extra ones), into `grads`
 * (the engine's parameter count; reused every step): micro-batches (accumulation) each add this rank's share,
 * shares are summed over devices in rank order and averaged over micro-batches.
 */
export async function stepGradients(config: TrainConfig, engine: TrainEngine, examples: Example[], t: Transport, step: number, grads: Float32Array = new Float32Array(engine.params.length)): Promise<{ loss: number; grads: Float32Array }> {
  const k = config.accumulationSteps;
  const micro = examples.length / k;
  const m = engine.modelSize;
  grads.fill(0);
  let loss = 0;
  for (let a = 0; a < k; a++) {
    const r = await engine.microStep(examples.slice(a * micro, (a + 1) * micro), t, seedFor(config.seed, step, a), grads);
    loss += r.loss / k;
    for (let i = 0; i < r.extraGrads.length; i++) grads[m + i] += r.extraGrads[i];
  }
  if (t.world > 1) grads.set(await t.allReduceSum(grads.subarray(0, m)));
  if (k > 1) for (let i = 0; i < grads.length; i++) grads[i] *= 1 / k;
  return { loss, grads };
}

export interface ProbeResult {
  loss: number;
  /** Gradient of the first step: model variables then extra variables, flattened. */
  gradient: Float32Array;
}

/**
 * The gradient of step 1 without updating anything (for gradcheck). `plain` computes it on one device
 * as ONE graph over the whole batch (mini-batches seeded as GradCache seeds them), the reference that
 * GradCache and data parallelism must reproduce.
 */
export async function probeGradient(config: TrainConfig, t: Transport = new LocalTransport(), opts: { plain?: boolean; engine?: Engine; threads?: number } = {}): Promise<ProbeResult> {
  await initBackend();
  if (opts.plain) return plainGradient(config, t);
  const engine = await createEngine(config, t, chooseEngine(config, opts.engine ?? config.engine), { threads: opts.threads });
  try {
    const { sources, sampler } = loadData(config);
    const examples = sampler.batchAt(0).items.map((it) => sources[it.source][it.index]);
    const r = await stepGradients(config, engine, examples, t, 0);
    return { loss: r.loss, gradient: r.grads };
  } finally {
    await engine.dispose();
  }
}

/** The tfjs one-graph reference gradient of step 1 (see probeGradient). */
async function plainGradient(config: TrainConfig, t: Transport): Promise<ProbeResult> {
  if (t.world !== 1) throw new Error('the plain reference runs on one device');
  if (config.phase === 'mlm') return probeGradient({ ...config, miniBatch: config.batchSize }, t, { engine: 'tfjs' });
  const engine = (await createEngine(config, t, 'tfjs')) as TfjsEngine;
  try {
    const { sources, sampler } = loadData(config);
    const examples = sampler.batchAt(0).items.map((it) => sources[it.source][it.index]);
    const k = config.accumulationSteps;
    const micro = examples.length / k;
    const parts: Float32Array[] = [];
    let loss = 0;
    for (let a = 0; a < k; a++) {
      const ex = examples.slice(a * micro, (a + 1) * micro);
      const { task, objective } = embeddingTask(config, ex);
      const inputs: EmbedInput[] = [
        { role: 'query', tokens: engine.model.tokenize(task.queries, 'query') },
        { role: 'document', tokens: engine.model.tokenize(task.documents, 'document') },
      ];
      const r = plainStep(engine.model, inputs, objective, engine.extra, { miniBatch: miniBatchOf(config), stepSeed: seedFor(config.seed, 0, a) });
      loss += r.loss / k;
      const all = [...r.grads, ...r.extraGrads];
      const flat = new Float32Array(all.reduce((n, g) => n + g.size, 0));
      let o = 0;
      for (const g of all) flat.set(g.dataSync() as Float32Array, o), (o += g.size), g.dispose();
      parts.push(flat.map((x) => x / k));
    }
    return { loss, gradient: sumInOrder(parts) };
  } finally {
    await engine.dispose();
  }
}

/** Runs (or resumes) training on this replica; `t` connects it to the other replicas. */
export async function runReplica(config: TrainConfig, t: Transport = new LocalTransport(), opts: RunOptions = {}): Promise<RunSummary> {
  await initBackend();
  const lead = t.rank === 0;
  const engineName = chooseEngine(config, opts.engine ?? config.engine);
  const { sources, sampler } = loadData(config);
  const engine = await createEngine(config, t, engineName, { threads: opts.threads });
  try {
    return await trainLoop(config, engine, t, { sources, sampler }, opts, lead);
  } finally {
    await engine.dispose();
  }
}

/** The step to start from: the latest checkpoint's (restored into the engine and optimiser) when resuming, else 0. */
function resumePoint(config: TrainConfig, engine: TrainEngine, opt: AdamW, resume: boolean | undefined, lead: boolean): { start: number; lastCkpt: string | null } {
  let start = 0;
  let lastCkpt: string | null = null;
  if (resume) {
    lastCkpt = latestCheckpoint(config.output);
    if (lastCkpt) {
      start = loadCheckpoint(lastCkpt, engine, opt, config).step;
      engine.paramsChanged();
    }
    // Resume-or-start keeps restartable jobs simple, but it must not look like a resumed run.
    else if (lead) process.stderr.write(`--resume: no checkpoint in ${config.output}; starting from step 0\n`);
  } else if (latestCheckpoint(config.output)) {
    // Starting over would mix two runs in one folder (and a later --resume could pick the old one).
    throw new UserError(`${config.output} already holds checkpoints of a run; use --resume to continue it, or another output`);
  }
  return { start, lastCkpt };
}

/** The lead's output folder: the run's config and marker, and the log and eval files cut back to `start`. */
function prepareOutput(config: TrainConfig, engine: TrainEngine, start: number, files: { log: string; eval: string }): void {
  fs.mkdirSync(config.output, { recursive: true });
  // The run records the engine that trained it (a resume may use the other one: same numbers to ~1e-6).
  fs.writeFileSync(path.join(config.output, 'config.json'), JSON.stringify({ ...config, engine: engine.engine }, null, 2) + '\n');
  writeMarker(config.output, 'train');
  // The log keeps exactly the steps the weights have seen: lines past the resumed step are dropped.
  for (const f of [files.log, files.eval]) {
    const kept = fs.existsSync(f) && start > 0 ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l && (JSON.parse(l) as { step: number }).step <= start) : [];
    fs.writeFileSync(f, kept.map((l) => l + '\n').join(''));
  }
}

/** The loss the log ends with (a resumed run with nothing left to do reports where it ended), else NaN. */
function loggedFinalLoss(logFile: string): number {
  if (!fs.existsSync(logFile)) return NaN;
  const last = fs.readFileSync(logFile, 'utf8').trim().split('\n').pop();
  return last ? (JSON.parse(last) as LogRecord).loss : NaN;
}

/** AdamW over the engine's parameters, its schedule, the reused gradient buffer and the threads that update. */
export interface Optimiser {
  /** Reused for every step's gradient (on shared memory, so the update can split it over threads). */
  gradBuffer: Float32Array;
  opt: AdamW;
  schedule: Parameters<typeof learningRateAt>[1];
  threads: UpdateThreads;
}

/** The optimiser of a run of `totalSteps` on `engine` (dispose its threads when done). */
export function createOptimiser(config: TrainConfig, engine: TrainEngine, totalSteps: number): Optimiser {
  const n = engine.params.length;
  const opt = new AdamW(n, { betas: config.optimizer.betas as [number, number], eps: config.optimizer.eps, weightDecay: config.optimizer.weightDecay, shared: true });
  const schedule = { kind: config.optimizer.schedule, lr: config.optimizer.lr, warmupSteps: config.optimizer.warmupSteps, totalSteps };
  return { gradBuffer: sharedFloats(n), opt, schedule, threads: new UpdateThreads(engine.threads) };
}

/**
 * The update of step `step` from the batch's (all-reduced) gradients: checked finite, clipped, AdamW at the
 * scheduled learning rate on the engine's parameters, which are then told they changed. Returns the rate and
 * the norm before clipping.
 */
export async function applyUpdate(config: TrainConfig, engine: TrainEngine, o: Optimiser, grads: Float32Array, step: number, lastCkpt: string | null = null): Promise<{ lr: number; gradNorm: number }> {
  // Checked in float64 over the elements (a float32 norm can overflow on finite values); the
  // all-reduced gradient is the same on every replica, so all of them stop here together.
  const gradNorm = Math.sqrt(await o.threads.sumOfSquares(grads));
  if (!Number.isFinite(gradNorm)) throw new NonFiniteLossError(step + 1, gradNorm, lastCkpt, 'gradient');
  // The norm just computed serves the clipping too, and the update scales as it reads (no extra pass).
  const scale = config.optimizer.clipNorm !== undefined ? clipCoefficient(gradNorm, config.optimizer.clipNorm) : 1;
  const lr = learningRateAt(step, o.schedule);
  await o.threads.adamw(o.opt, engine.params, grads, lr, scale);
  engine.paramsChanged();
  return { lr, gradNorm };
}

/** One optimiser step: the batch's gradients (all-reduced), then the update. */
async function optimiserStep(
  config: TrainConfig,
  engine: TrainEngine,
  t: Transport,
  data: { sources: Example[][]; sampler: BatchSampler },
  o: Optimiser,
  step: number,
  lastCkpt: string | null,
  hooks: RunHooks | undefined,
): Promise<{ loss: number; lr: number; gradNorm: number }> {
  const ref = data.sampler.batchAt(step);
  const examples = ref.items.map((it) => data.sources[it.source][it.index]);
  const r = await stepGradients(config, engine, examples, t, step, o.gradBuffer);
  const loss = r.loss;
  if (!Number.isFinite(loss)) throw new NonFiniteLossError(step + 1, loss, lastCkpt);
  hooks?.onGradients?.(step + 1, r.grads);
  return { loss, ...(await applyUpdate(config, engine, o, r.grads, step, lastCkpt)) };
}

/** The optimiser steps of a run (from its last checkpoint when resuming), its log, evaluations and checkpoints. */
async function trainLoop(config: TrainConfig, engine: TrainEngine, t: Transport, data: { sources: Example[][]; sampler: BatchSampler }, opts: RunOptions, lead: boolean): Promise<RunSummary> {
  const params = engine.params;
  const total = totalSteps(config, data.sampler);
  const o = createOptimiser(config, engine, total);
  const opt = o.opt;
  const files = { log: path.join(config.output, 'log.jsonl'), eval: path.join(config.output, 'eval.jsonl') };
  let lastEval: EvalRecord | undefined;

  const resumed = resumePoint(config, engine, opt, opts.resume, lead);
  const start = resumed.start;
  let lastCkpt = resumed.lastCkpt;
  if (lead) prepareOutput(config, engine, start, files);

  const bar = lead ? progressBar(`train ${config.phase}/${config.head} (${engine.engine})`, total, 'steps') : null;
  bar?.update(start);
  let loss = start >= total ? loggedFinalLoss(files.log) : NaN;
  const began = Date.now();
  try {
    for (let step = start; step < total; step++) {
      const t0 = Date.now();
      const r = await optimiserStep(config, engine, t, data, o, step, lastCkpt, opts.hooks);
      loss = r.loss;

      const done = step + 1;
      if (lead) {
        const secs = (Date.now() - t0) / 1000;
        const rec: LogRecord = { step: done, loss, lr: r.lr, gradNorm: r.gradNorm, examplesPerSec: config.batchSize / Math.max(secs, 1e-9), seconds: (Date.now() - began) / 1000 };
        const temperature = engine.temperature();
        if (temperature !== undefined) rec.temperature = temperature;
        if (done % config.logEvery === 0 || done === total) fs.appendFileSync(files.log, JSON.stringify(rec) + '\n');
        opts.hooks?.onLog?.(rec);
        bar!.update(done, { loss: loss.toFixed(4) });
      }
      if (config.eval && (done === total || (config.eval.every !== undefined && done % config.eval.every === 0))) {
        if (lead) {
          lastEval = await evaluateModel(config, engine.syncedModel(), done, engine.engine);
          fs.appendFileSync(files.eval, JSON.stringify(lastEval) + '\n');
        }
        await t.barrier();
      }
      if (done % config.checkpointEvery === 0 || done === total) {
        // A checkpoint is a good one: weights that overflowed (huge learning rate) are never written as one.
        if (!allFinite(params)) throw new NonFiniteLossError(done, NaN, lastCkpt, 'weights');
        if (lead) await saveCheckpoint(config.output, done, config, engine, opt);
        await t.barrier();
        lastCkpt = checkpointDir(config.output, done); // on every rank: any replica's stop names it
      }
      if (opts.hooks?.onStepEnd) {
        await opts.hooks.onStepEnd(done, params);
        engine.paramsChanged();
      }
    }
  } finally {
    bar?.stop();
    await o.threads.dispose();
  }
  const modelDir = path.join(config.output, 'model');
  const model = engine.syncedModel();
  if (lead && model.save) await writeDirAtomic(modelDir, (dir) => model.save!(dir));
  await t.barrier();
  return { steps: total, startStep: start, finalLoss: loss, output: config.output, modelDir, lastEval, engine: engine.engine };
}

/** Retrieval evaluation of the current weights on the config's datasets, on the run's engine (ort: the current weights as an in-memory graph). */
async function evaluateModel(config: TrainConfig, model: TrainModel, step: number, on: Engine): Promise<EvalRecord> {
  const { evaluateRetrieval } = require('../eval/evaluator') as typeof import('../eval/evaluator');
  const e = config.eval!;
  const { loadEncoder } = require('../models/engine') as typeof import('../models/engine');
  const encoder = await loadEncoder(model, { engine: on });
  const r = await evaluateRetrieval(encoder, e.datasets, { k: e.k, measures: e.measures }).finally(() => encoder.dispose());
  return { step, mean: r.mean, datasets: r.datasets.map((d) => ({ name: d.name, metrics: d.metrics })) };
}
