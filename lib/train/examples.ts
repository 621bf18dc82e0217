/**
 * Example run configs, one per phase and setting, small enough to train in a minute or two on two CPU
 * cores: a random tiny ModernBERT (preset "tiny", 4,096-piece tokenizer) on synthetic data written next
 * to the config (lib/data/synthetic.ts), evaluated (nDCG@10, recall@10) on a synthetic BEIR folder of the
 * same topics. They show every key a real run uses; scale batchSize, steps, model and data up for real training.
 */
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeSyntheticBeir, writeSyntheticSources } from '../data/synthetic';
import { parseTrainConfig, type TrainConfig } from './config';

export const EXAMPLES = ['unsupervised-colbert', 'unsupervised-dense', 'supervised-colbert', 'supervised-dense', 'distillation-colbert', 'mlm'] as const;

/** The raw JSON config of an example, with its data written into `dataDir` (absolute paths). */
export function exampleConfig(name: string, dataDir: string): Record<string, unknown> {
  if (!(EXAMPLES as readonly string[]).includes(name)) throw new UserError(`unknown example "${name}"; choose one of ${EXAMPLES.join(', ')}`);
  const [phase, setting] = name.split('-') as [TrainConfig['phase'], string | undefined];
  const head = setting === 'dense' || phase === 'mlm' ? 'dense' : 'colbert';
  const dir = path.resolve(dataDir);
  const sizes = { unsupervised: 2048, supervised: 768, distillation: 512, mlm: 1024 } as const;
  const sources = writeSyntheticSources(path.join(dir, 'data'), phase, sizes[phase], { seed: 1, negatives: 3, candidates: 8 });
  const base = {
    model: { type: 'modernbert', preset: 'tiny', vocabSize: 4096, dim: 32, queryLength: 16, documentLength: 32, initSeed: 1 },
    head,
    phase,
    data: { sources, mixing: 'proportional', avoidDuplicates: true },
    devices: 1,
    seed: 0,
    output: path.join(dir, 'runs', name),
    checkpointEvery: 20,
    keepCheckpoints: 2,
    logEvery: 1,
    ...(phase === 'mlm' ? {} : { eval: { datasets: [{ dir: writeSyntheticBeir(path.join(dir, 'data', 'eval-beir'), { seed: 1000 }), name: 'synthetic' }], every: 20, k: 100, measures: ['ndcg_cut.10', 'recall.10'] } }),
  };
  const perPhase: Record<TrainConfig['phase'], Record<string, unknown>> = {
    unsupervised: { batchSize: 64, miniBatch: 16, temperature: { value: 0.05, learnable: true }, optimizer: { lr: 3e-4, warmupSteps: 5, weightDecay: 0.01, clipNorm: 1 }, steps: 40 },
    supervised: { batchSize: 16, miniBatch: 8, negatives: 3, temperature: { value: 0.05, learnable: false }, optimizer: { lr: 2e-4, warmupSteps: 5, weightDecay: 0.01, clipNorm: 1 }, steps: 40 },
    distillation: { batchSize: 16, accumulationSteps: 2, candidates: 8, normalizeStudentScores: true, optimizer: { lr: 3e-4, warmupSteps: 5, weightDecay: 0.01 }, steps: 40 },
    mlm: { batchSize: 32, miniBatch: 16, mlm: { probability: 0.3, replaceAll: false }, optimizer: { lr: 1e-3, warmupSteps: 5, weightDecay: 0.01, clipNorm: 1 }, steps: 40 },
  };
  const raw = { ...base, ...perPhase[phase] };
  parseTrainConfig(raw, `example ${name}`); // every example must be valid
  return raw;
}
