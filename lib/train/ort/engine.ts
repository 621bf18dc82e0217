/**
 * The `ort` training engine: the model's weights live in one flat float32 array that the optimiser updates
 * in place and every ONNX Runtime run reads (./trainer.ts); the tfjs model object keeps the architecture,
 * the tokenizer and the checkpoint layout, and receives the weights only when it is saved or evaluated.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../util/errors';
import { ColbertModel } from '../../models/colbert';
import { DenseModel } from '../../models/dense';
import { MaskedLmModel } from '../../models/masked-lm';
import { layoutShape } from '../../models/onnx/modernbert-onnx';
import { parameterSpecs } from '../../models/modernbert';
import { defaultProvider } from '../../backend/ort';
import { threadCount } from '../../util/limits';
import { miniBatchOf, type TrainConfig } from '../config';
import { sharedFloats } from '../optim';
import type { Transport } from '../devices/transport';
import type { TrainModel } from '../model-factory';
import type { Example, MlmExample } from '../../data/training';
import { embeddingTask } from '../tasks';
import type { EngineShare, TrainEngine, TrainVariable } from '../train-engine';
import { OrtTrainer } from './trainer';
import type { OrtModelSpec } from './graphs';
import { ortEmbeddingShare, ortMlmShare, type ObjectiveOf } from './step';

/** The graph spec of one of the library's ModernBERT models, or a sentence saying why there is none. */
export function ortSpecOf(model: TrainModel): OrtModelSpec | string {
  const backbone = model instanceof ColbertModel || model instanceof DenseModel || model instanceof MaskedLmModel ? model.backbone : null;
  if (!backbone) return 'the ort engine trains the library\'s ModernBERT models only (a model.type "module" trains on tfjs: --engine tfjs)';
  const c = backbone.config;
  const shapes = new Map(parameterSpecs(c).map((s) => [s.name, layoutShape(s)]));
  const params = backbone.namedVariables(model instanceof MaskedLmModel).map(({ name }) => ({ name, shape: shapes.get(name)! }));
  const dropoutSites: string[] = [];
  if (c.embeddingDropout > 0) dropoutSites.push('embeddings');
  for (let i = 0; i < c.numLayers; i++) {
    if (c.attentionDropout > 0) dropoutSites.push(`layers.${i}.attn.probs`, `layers.${i}.attn.out`);
    if (c.mlpDropout > 0) dropoutSites.push(`layers.${i}.mlp`);
  }
  if (model instanceof ColbertModel) return { config: c, head: { kind: 'colbert', dim: model.dim }, params: [...params, { name: 'colbert.projection', shape: [c.hiddenSize, model.dim] }], dropoutSites };
  if (model instanceof DenseModel) return { config: c, head: { kind: 'dense', pooling: model.settings.pooling, normalize: model.settings.normalize }, params, dropoutSites };
  return { config: c, head: { kind: 'mlm' }, params, dropoutSites };
}

export class OrtEngine implements TrainEngine {
  readonly engine = 'ort' as const;
  readonly params: Float32Array;
  readonly modelSize: number;
  readonly variables: TrainVariable[];
  /** The ONNX Runtime sessions over `params`. */
  readonly trainer: OrtTrainer;
  readonly threads: number;
  /**
   * What the sessions read: a copy of the model's part of `params`, refreshed by paramsChanged. `params` lives
   * on shared memory (the optimiser's threads update it), and ONNX Runtime takes tensors on ordinary buffers only.
   */
  private readonly feed: Float32Array;
  private stale = false;

  constructor(
    private readonly config: TrainConfig,
    readonly model: TrainModel,
    spec: OrtModelSpec,
    t: Transport,
    opts: { threads?: number },
  ) {
    const vars = model.trainableVariables;
    this.modelSize = vars.reduce((a, v) => a + v.size, 0);
    const learnT = (config.phase === 'unsupervised' || config.phase === 'supervised') && config.temperature.learnable;
    this.params = sharedFloats(this.modelSize + (learnT ? 1 : 0));
    let o = 0;
    for (const v of vars) this.params.set(v.dataSync() as Float32Array, o), (o += v.size);
    if (learnT) this.params[o] = Math.fround(Math.log(config.temperature.value));
    this.variables = [...vars.map((v) => ({ name: v.name, shape: v.shape })), ...(learnT ? [{ name: `log_temperature_${t.rank}`, shape: [] }] : [])];
    // Devices on one machine share its cores; on GPUs each device is its own card.
    const provider = defaultProvider();
    const threads = opts.threads !== undefined ? threadCount(opts.threads) : Math.max(1, Math.floor(threadCount() / (provider === 'cpu' ? t.world : 1)));
    this.threads = threads;
    this.feed = this.params.slice(0, this.modelSize);
    this.trainer = new OrtTrainer(spec, this.feed, { threads, provider, deviceId: t.rank });
  }

  /** The loss graph and its inputs for a contrastive or distillation task. */
  objectiveOf(task: ReturnType<typeof embeddingTask>['task']): ObjectiveOf {
    const c = this.config;
    if (c.phase === 'distillation') {
      const k = c.candidates;
      return {
        graph: { kind: 'kd', normalizeStudent: c.normalizeStudentScores, candidates: k },
        values: (offset, count, total) => ({ kind: 'kd', teacher: task.teacher!.subarray(offset * k, (offset + count) * k), normalizer: total }),
      };
    }
    const learnable = c.temperature.learnable;
    const logT = learnable ? this.params[this.modelSize] : undefined;
    return {
      graph: { kind: 'infonce', learnableTemperature: learnable },
      values: (offset, _count, total) => ({ kind: 'infonce', temperature: c.temperature.value, logTemperature: logT, queryOffset: offset, docsPerQuery: task.docsPerQuery, normalizer: total }),
    };
  }

  async microStep(examples: Example[], t: Transport, stepSeed: number, grads: Float32Array): Promise<EngineShare> {
    const miniBatch = miniBatchOf(this.config);
    if (this.config.phase === 'mlm') {
      const m = this.model as MaskedLmModel;
      const tok = m.tokenize((examples as MlmExample[]).map((e) => e.text));
      const r = await ortMlmShare(this.trainer, tok, { maskId: m.text.maskId!, vocabSize: m.text.size, specialIds: m.specialIds, probability: this.config.mlm.probability, replaceAll: this.config.mlm.replaceAll }, t, { miniBatch, stepSeed }, grads);
      return { loss: r.loss, extraGrads: new Float32Array(0) };
    }
    const { task } = embeddingTask(this.config, examples);
    const r = await ortEmbeddingShare(this.trainer, (x, role) => this.model.tokenize(x, role), task, this.objectiveOf(task), t, { miniBatch, stepSeed }, grads);
    return { loss: r.loss, extraGrads: r.logTemperatureGrad === undefined ? new Float32Array(0) : Float32Array.of(r.logTemperatureGrad) };
  }

  paramsChanged(): void {
    this.feed.set(this.params.subarray(0, this.modelSize));
    this.stale = true;
  }

  syncedModel(): TrainModel {
    if (this.stale) {
      let o = 0;
      for (const v of this.model.trainableVariables) {
        const t = tf.tensor(this.params.subarray(o, o + v.size), v.shape, 'float32');
        v.assign(t);
        t.dispose();
        o += v.size;
      }
      this.stale = false;
    }
    return this.model;
  }

  temperature(): number | undefined {
    return this.params.length > this.modelSize ? Math.exp(this.params[this.modelSize]) : undefined;
  }

  async dispose(): Promise<void> {
    await this.trainer.dispose();
    (this.model as { dispose?: () => void }).dispose?.();
  }
}

/** The ort engine for a config's model, or a UserError saying why it cannot train it. */
export function createOrtEngine(config: TrainConfig, model: TrainModel, t: Transport, opts: { threads?: number } = {}): OrtEngine {
  const spec = ortSpecOf(model);
  if (typeof spec === 'string') throw new UserError(spec);
  return new OrtEngine(config, model, spec, t, opts);
}
