/**
 * Reading and writing the ModernBERT backbone in Hugging Face form: `config.json` plus `model.safetensors`
 * (or shards). Accepts ModernBertModel checkpoints (bare names, as sentence-transformers and PyLate save
 * them) and ModernBertForMaskedLM ones (`model.` prefix, MLM head `head.*`, `decoder.bias`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors';
import { CONFIG_FILE, readModelConfig, writeModelConfig } from './checkpoint-files';
import { parseModernBertConfig, toHfConfig, withTokenizerIds, type ModernBertConfig, type SpecialTokenIds } from './config';
import { ModernBert } from './modernbert';
import { readCheckpointTensors, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, writeShardedSafetensors, type TensorInput } from './safetensors';

const ARCHITECTURES = ['ModernBertModel', 'ModernBertForMaskedLM'];

/** Reads and checks `config.json`: ModernBERT only, by model_type and architecture. */
export function readBackboneConfig(dir: string): ModernBertConfig {
  return backboneConfigFromJson(readModelConfig(dir), path.join(dir, CONFIG_FILE));
}

/** Checks a parsed `config.json` (`file` names it in errors): ModernBERT only, by model_type and architecture. */
export function backboneConfigFromJson(raw: Record<string, unknown>, file: string): ModernBertConfig {
  const archs = raw.architectures;
  if (Array.isArray(archs) && archs.length && !archs.some((a) => ARCHITECTURES.includes(a as string))) {
    throw new UserError(`${file}: unknown architecture ${JSON.stringify(archs)} (supported: ${ARCHITECTURES.join(', ')})`);
  }
  if (raw.model_type === undefined) throw new UserError(`${file}: no "model_type" (expected "modernbert")`);
  return parseModernBertConfig(raw, file);
}

/** Loads the backbone (and the MLM head when the checkpoint has one) from a model folder (`config`: its config.json, when already read). */
export function loadBackbone(dir: string, config: ModernBertConfig = readBackboneConfig(dir)): ModernBert {
  const single = path.join(dir, SAFETENSORS_FILE);
  const where = fs.existsSync(single) ? single : path.join(dir, SAFETENSORS_INDEX_FILE);
  if (!fs.existsSync(where)) throw new UserError(`${dir}: no ${SAFETENSORS_FILE} or ${SAFETENSORS_INDEX_FILE}`);
  const { tensors } = readCheckpointTensors(dir);
  return ModernBert.fromTensors(
    config,
    (name) => {
      const t = tensors.get(name) ?? tensors.get(`model.${name}`);
      if (!t) return undefined;
      if (!(t.data instanceof Float32Array)) throw new UserError(`${where}: tensor "${name}" is ${t.dtype}, expected a float type`);
      return { shape: t.shape, data: t.data };
    },
    where,
  );
}

function toInputs(tensors: Map<string, tf.Tensor>): Map<string, TensorInput> {
  const out = new Map<string, TensorInput>();
  tensors.forEach((t, name) => {
    out.set(name, { shape: t.shape, data: t.dataSync() as Float32Array });
    t.dispose();
  });
  return out;
}

/**
 * Writes `config.json` and the weights into `dir` (which must exist). `mlm` writes ModernBertForMaskedLM
 * (`model.` prefix, head, tied decoder omitted as transformers does); otherwise ModernBertModel.
 */
export function writeBackbone(dir: string, model: ModernBert, opts: { mlm?: boolean; floatDtype?: 'F32' | 'F16' | 'BF16'; tokenizer?: SpecialTokenIds } = {}): void {
  const mlm = opts.mlm ?? false;
  if (mlm && !model.hasMlmHead) model.initMlmHead();
  // Saved beside a tokenizer, config.json names that tokenizer's special-token ids.
  const config = opts.tokenizer ? withTokenizerIds(model.config, opts.tokenizer) : model.config;
  writeModelConfig(dir, toHfConfig(config, mlm ? 'ModernBertForMaskedLM' : 'ModernBertModel'));
  const sd = model.stateDict(mlm ? 'model.' : '', mlm);
  if (model.config.tieWordEmbeddings) sd.get('decoder.weight')?.dispose();
  if (model.config.tieWordEmbeddings) sd.delete('decoder.weight');
  writeShardedSafetensors(dir, toInputs(sd), { floatDtype: opts.floatDtype });
}
