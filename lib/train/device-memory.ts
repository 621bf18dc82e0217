/** How much memory one training device takes for a run config (lib/util/limits.ts does the arithmetic). */
import * as path from 'node:path';
import { parseModernBertConfig, presetConfig, type ModernBertConfig } from '../models/config';
import { trainDeviceBytes } from '../util/limits';
import { readJsonFile } from '../util/json';
import type { TrainConfig } from './config';

function architecture(config: TrainConfig): ModernBertConfig | null {
  const m = config.model;
  if (m.type !== 'modernbert') return null; // a module model (tests): only the runtime is counted
  if (m.preset) {
    const p = presetConfig(m.preset);
    return p && { ...p, vocabSize: m.vocabSize ?? p.vocabSize };
  }
  const file = path.join(m.from!, 'config.json');
  try {
    return parseModernBertConfig(readJsonFile(file), file);
  } catch {
    return null; // the model loader reports a bad folder itself, with its own message
  }
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
  const params = c.vocabSize * h + c.numLayers * (4 * h * h + 3 * h * c.intermediateSize);
  const texts = config.phase === 'mlm' ? rows : rows * (1 + docsPerQuery);
  return trainDeviceBytes({ params, hidden: h, heads: c.numHeads, intermediate: c.intermediateSize, layers: c.numLayers }, texts, length);
}
