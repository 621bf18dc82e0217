/**
 * What computes a training step: `ort` (ONNX Runtime's native kernels on every core, or CUDA; ./ort/) or
 * `tfjs` (TensorFlow.js, the reference the tests compare with, and the fallback). Both expose the model's
 * parameters as one flat float32 array (variables in order, then a learnable log-temperature) that the
 * optimiser updates in place, and the gradient of a micro-batch as arrays in the same order, so the
 * training loop, the all-reduce, AdamW and the checkpoints are one code path whatever the engine.
 *
 * Choosing: `train --engine`, else CZ_ENGINE, else ort where onnxruntime-node loads (and the model is one
 * of the library's ModernBERT models), else tfjs. A named engine that cannot run is an error.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from './config';
import type { Transport } from './devices/transport';
import type { TrainModel } from './model-factory';
import type { Example, DistillationExample, PairExample, TripletExample } from '../data/training';
import { contrastiveObjective, contrastiveTask, distillationObjective, distillationTask, type EmbeddingTask } from './tasks';
import type { EmbeddingLoss } from './gradcache';
import { embeddingShardStep } from './step';
import { resolveEngine, type Engine } from '../models/engine';
import { loadOrt } from '../backend/ort';

export type { Engine };

/** A micro-batch's gradient share on this rank. */
export interface EngineShare {
  loss: number;
  /** This rank's share of the model parameters' gradient (the sum over ranks is the full gradient). */
  grads: Float32Array;
  /** The extra parameters' gradient (a learnable log-temperature), already global. */
  extraGrads: Float32Array;
}

export interface TrainVariable {
  name: string;
  shape: number[];
}

export interface TrainEngine {
  readonly engine: Engine;
  /** Model parameters then extra parameters, flattened in variable order; updated in place by the optimiser. */
  readonly params: Float32Array;
  /** Floats of the model's own parameters (the rest of `params` are extra parameters). */
  readonly modelSize: number;
  readonly variables: TrainVariable[];
  microStep(examples: Example[], t: Transport, stepSeed: number): Promise<EngineShare>;
  /** To be called after `params` changed (an update, a checkpoint load). */
  paramsChanged(): void;
  /** The model holding the current parameters (to save or evaluate it). */
  syncedModel(): TrainModel;
  /** The learnable temperature's current value, when there is one. */
  temperature(): number | undefined;
  dispose(): Promise<void>;
}

/** The texts and loss of a contrastive or distillation micro-batch (the loss on tfjs tensors). */
export function embeddingTask(config: TrainConfig, examples: Example[]): { task: EmbeddingTask; objective: EmbeddingLoss } {
  if (config.phase === 'distillation') {
    const task = distillationTask(examples as DistillationExample[], config.candidates);
    return { task, objective: distillationObjective(task.teacher!, config.candidates, config.normalizeStudentScores) };
  }
  const task = contrastiveTask(examples as Array<PairExample | TripletExample>, config.phase === 'supervised' ? config.negatives : 0);
  return { task, objective: contrastiveObjective(task.docsPerQuery, config.temperature) };
}

function flatten(ts: tf.Tensor[]): Float32Array {
  const out = new Float32Array(ts.reduce((a, t) => a + t.size, 0));
  let o = 0;
  for (const t of ts) out.set(t.dataSync() as Float32Array, o), (o += t.size);
  return out;
}

let extraCount = 0;

/** The reference engine: the tfjs model's own variables, written back from `params` after each update. */
export class TfjsEngine implements TrainEngine {
  readonly engine = 'tfjs' as const;
  readonly params: Float32Array;
  readonly modelSize: number;
  readonly variables: TrainVariable[];
  /** Extra variables (a learnable log-temperature). */
  readonly extra: tf.Variable[];

  constructor(
    private readonly config: TrainConfig,
    readonly model: TrainModel,
    rank: number,
  ) {
    const learnT = (config.phase === 'unsupervised' || config.phase === 'supervised') && config.temperature.learnable;
    this.extra = learnT ? [tf.tidy(() => tf.variable(tf.scalar(Math.log(config.temperature.value)), true, `log_temperature_${rank}_${++extraCount}`))] : [];
    const all = [...model.trainableVariables, ...this.extra];
    this.params = flatten(all);
    this.modelSize = this.params.length - this.extra.length;
    this.variables = all.map((v) => ({ name: v.name, shape: v.shape }));
  }

  async microStep(examples: Example[], t: Transport, stepSeed: number): Promise<EngineShare> {
    const perDevice = examples.length / t.world;
    const miniBatch = this.config.miniBatch ?? perDevice;
    let r: { loss: number; grads: tf.Tensor[]; extraGrads: tf.Tensor[] };
    if (this.config.phase !== 'mlm') {
      const { task, objective } = embeddingTask(this.config, examples);
      r = await embeddingShardStep(this.model, task, objective, this.extra, t, { miniBatch, stepSeed });
    } else {
      const { mlmShardStep } = require('./mlm-step') as typeof import('./mlm-step');
      r = await mlmShardStep(this.config.mlm, this.model, examples, t, { miniBatch, stepSeed });
    }
    const share = { loss: r.loss, grads: flatten(r.grads), extraGrads: flatten(r.extraGrads) };
    [...r.grads, ...r.extraGrads].forEach((g) => g.dispose());
    return share;
  }

  paramsChanged(): void {
    let o = 0;
    for (const v of [...this.model.trainableVariables, ...this.extra]) {
      const t = tf.tensor(this.params.subarray(o, o + v.size), v.shape, 'float32');
      v.assign(t);
      t.dispose();
      o += v.size;
    }
  }

  syncedModel(): TrainModel {
    return this.model;
  }

  temperature(): number | undefined {
    return this.extra.length ? Math.exp(this.params[this.modelSize]) : undefined;
  }

  async dispose(): Promise<void> {
    this.extra.forEach((v) => v.dispose());
    (this.model as { dispose?: () => void }).dispose?.();
  }
}

/**
 * The engine a run uses: `requested` (--engine), else CZ_ENGINE, else ort where onnxruntime-node loads and
 * the model is one ort can train (a user's module model trains on tfjs), else tfjs.
 */
export function chooseEngine(config: TrainConfig, requested?: string): Engine {
  const { engine, chosenBy } = resolveEngine(requested);
  if (chosenBy === 'default' && config.model.type === 'module') return 'tfjs';
  if (engine === 'ort') loadOrt(); // a named ort that cannot load fails here, with the reason
  return engine;
}

/** Builds the config's model and the engine that trains it on this rank. */
export async function createEngine(config: TrainConfig, t: Transport, engine: Engine, opts: { threads?: number } = {}): Promise<TrainEngine> {
  const { buildModel } = require('./model-factory') as typeof import('./model-factory');
  const model = await buildModel(config);
  if (engine === 'tfjs') return new TfjsEngine(config, model, t.rank);
  const { createOrtEngine } = require('./ort/engine') as typeof import('./ort/engine');
  try {
    return createOrtEngine(config, model, t, opts);
  } catch (e) {
    (model as { dispose?: () => void }).dispose?.();
    throw e;
  }
}
