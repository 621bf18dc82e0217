/** How much memory one training device takes for a run config (lib/util/limits.ts does the arithmetic). */
import { parameterCount, presetConfig, type ModernBertConfig } from '../models/config';
import { ModelFolder } from '../models/model-folder';
import { trainDeviceBytes } from '../util/limits';
import type { TrainConfig } from './config';

function architecture(config: TrainConfig): ModernBertConfig | null {
  const m = config.model;
  if (m.type !== 'modernbert') return null; // a module model (tests): only the runtime is counted
  if (m.preset) {
    const p = presetConfig(m.preset);
    return p && { ...p, vocabSize: m.vocabSize ?? p.vocabSize };
  }
  return ModelFolder.open(m.from!).backboneConfig(); // a bad folder is an error naming it, before any work
}

/** Estimated peak bytes of one of `devices` training devices. */
export function trainDeviceEstimate(config: TrainConfig, devices: number): number {
  const c = architecture(config);
  const perDevice = config.batchSize / devices / config.accumulationSteps;
  const rows = config.miniBatch ?? perDevice;
  const docsPerQuery = config.phase === 'supervised' ? 1 + config.negatives : config.phase === 'distillation' ? config.candidates : 1;
  const m = config.model.type === 'modernbert' ? config.model : null;
  const length = m ? m.documentLength : 180;
  if (!c) return trainDeviceBytes({ params: 0, hidden: 0, heads: 0, intermediate: 0, layers: 0 }, 0, 0);
  const h = c.hiddenSize;
  const params = parameterCount(c);
  const texts = config.phase === 'mlm' ? rows : rows * (1 + docsPerQuery);
  return trainDeviceBytes({ params, hidden: h, heads: c.numHeads, intermediate: c.intermediateSize, layers: c.numLayers }, texts, length);
}
