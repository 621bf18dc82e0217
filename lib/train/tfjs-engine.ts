/**
 * The tfjs training engine, the reference the tests compare with: the tfjs model's own variables (written
 * back from the flat parameter array after each update), its micro-batch step from step.ts / gradcache.ts
 * (contrastive and distillation) or mlm-step.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { miniBatchOf, type TrainConfig } from './config';
import type { Transport } from './devices/transport';
import type { TrainModel } from './model-factory';
import type { Example } from '../data/training';
import { embeddingTask } from './tasks';
import { embeddingShardStep } from './step';
import type { EngineShare, TrainEngine, TrainVariable } from './train-engine';

function flatten(ts: tf.Tensor[]): Float32Array {
  const out = new Float32Array(ts.reduce((a, t) => a + t.size, 0));
  let o = 0;
  for (const t of ts) out.set(t.dataSync() as Float32Array, o), (o += t.size);
  return out;
}

let extraCount = 0;

export class TfjsEngine implements TrainEngine {
  readonly engine = 'tfjs' as const;
  readonly params: Float32Array;
  readonly modelSize: number;
  readonly variables: TrainVariable[];
  /** One wasm thread per replica (the update runs on it too). */
  readonly threads = 1;
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

  async microStep(examples: Example[], t: Transport, stepSeed: number, grads: Float32Array): Promise<EngineShare> {
    const miniBatch = miniBatchOf(this.config);
    let r: { loss: number; grads: tf.Tensor[]; extraGrads: tf.Tensor[] };
    if (this.config.phase !== 'mlm') {
      const { task, objective } = embeddingTask(this.config, examples);
      r = await embeddingShardStep(this.model, task, objective, this.extra, t, { miniBatch, stepSeed });
    } else {
      const { mlmShardStep } = require('./mlm-step') as typeof import('./mlm-step');
      r = await mlmShardStep(this.config.mlm, this.model, examples, t, { miniBatch, stepSeed });
    }
    let o = 0;
    for (const g of r.grads) {
      const v = g.dataSync() as Float32Array;
      for (let i = 0; i < v.length; i++) grads[o + i] += v[i];
      o += v.length;
    }
    const share = { loss: r.loss, extraGrads: flatten(r.extraGrads) };
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

