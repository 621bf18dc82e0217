/**
 * Builds the model a run config names, identically on every device (same config → same initial
 * weights), so replicas start equal without shipping weights around: a ModernBERT encoder (ColBERT or
 * dense head, or the masked-LM model for the MLM phase), or a user's module.
 */
import type { TrainableEncoder } from '../models/encoder';
import { UserError } from '../util/errors';
import type { TrainConfig } from './config';

/** A trainable encoder that may also write itself in its checkpoint layout. */
export type TrainModel = TrainableEncoder & { save?(dir: string): void | Promise<void> };

export async function buildModel(config: TrainConfig): Promise<TrainModel> {
  const m = config.model;
  if (m.type === 'module') {
    let mod: Record<string, unknown>;
    try {
      mod = require(m.module);
    } catch (e) {
      throw new UserError(`model.module: cannot load ${m.module} (${(e as Error).message.split('\n')[0]})`);
    }
    const factory = mod[m.export];
    if (typeof factory !== 'function') throw new UserError(`model.export: ${m.module} has no function "${m.export}"`);
    return (await factory({ ...m.options, kind: config.head })) as TrainModel;
  }
  // Loaded when used: the model and tokenizer code takes ~0.5 s to import, which a user's module never needs.
  const { buildModernBertModel } = require('./modernbert-factory') as typeof import('./modernbert-factory');
  return buildModernBertModel(config);
}
