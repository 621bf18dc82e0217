/**
 * File-level IO for the Hugging Face / sentence-transformers / PyLate folder layouts. What tensors go
 * where is the model code's business; this file only reads and writes the files.
 *
 * A PyLate ColBERT folder:                      A sentence-transformers dense folder:
 *   config.json            model config           config.json, model.safetensors, tokenizer files
 *   model.safetensors      transformer weights    modules.json  [Transformer, Pooling, Normalize]
 *   (or model-0000i-of-0000n.safetensors          sentence_bert_config.json
 *    + model.safetensors.index.json)              config_sentence_transformers.json (prompts)
 *   tokenizer.json, tokenizer_config.json,        1_Pooling/config.json
 *   special_tokens_map.json                        2_Normalize/
 *   modules.json           [Transformer, Dense]
 *   sentence_bert_config.json  {max_seq_length, do_lower_case}
 *   config_sentence_transformers.json  (ColBERT settings: lib/tokenize/colbert-config.ts)
 *   1_Dense/config.json, 1_Dense/model.safetensors  ("linear.weight" [out, in])
 *
 *   const mods = readModules(dir);                 // null when the folder is a plain HF model
 *   const dense = readDenseLayer(path.join(dir, '1_Dense'));
 *   writeDenseLayer(path.join(out, '1_Dense'), { config, weight, bias });
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic';
import { readJsonFile } from '../util/json';
import { makeDirs } from '../util/fs-errors';
import { readSafetensors, writeSafetensors, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, type NamedTensor, type TensorInput } from './safetensors';

export const CONFIG_FILE = 'config.json';
const MODULES_FILE = 'modules.json';
const SENTENCE_BERT_CONFIG_FILE = 'sentence_bert_config.json';

/** sentence-transformers / PyLate module class names as they appear in modules.json. */
const MODULE_TYPES = {
  transformer: 'sentence_transformers.models.Transformer',
  pooling: 'sentence_transformers.models.Pooling',
  normalize: 'sentence_transformers.models.Normalize',
  stDense: 'sentence_transformers.models.Dense',
  pylateDense: 'pylate.models.Dense.Dense',
} as const;

/** Reads `config.json` (the transformer's Hugging Face config) as a plain object. */
export function readModelConfig(dir: string): Record<string, unknown> {
  const cfg = readJsonFile(path.join(dir, CONFIG_FILE));
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw new UserError(`${path.join(dir, CONFIG_FILE)}: expected a JSON object`);
  return cfg;
}

export function writeModelConfig(dir: string, config: Record<string, unknown>): void {
  writeJsonAtomic(path.join(dir, CONFIG_FILE), config);
}

// ---------- modules.json ----------

export interface StModule {
  idx: number;
  name: string;
  /** Folder relative to the model folder; "" for the transformer, which lives in the root. */
  path: string;
  type: string;
}

/** Reads modules.json, or null when the folder has none (a plain Hugging Face model). */
export function readModules(dir: string): StModule[] | null {
  const file = path.join(dir, MODULES_FILE);
  if (!fs.existsSync(file)) return null;
  const raw = readJsonFile<unknown>(file);
  if (!Array.isArray(raw)) throw new UserError(`${file}: expected a list of modules`);
  return raw.map((m: any, i) => {
    if (!m || typeof m !== 'object' || typeof m.type !== 'string' || typeof m.path !== 'string') {
      throw new UserError(`${file}: module ${i} needs string "type" and "path"`);
    }
    if (m.path.split(/[\\/]/).includes('..') || path.isAbsolute(m.path)) throw new UserError(`${file}: module ${i} path ${JSON.stringify(m.path)} leaves the model folder`);
    return { idx: typeof m.idx === 'number' ? m.idx : i, name: typeof m.name === 'string' ? m.name : String(i), path: m.path, type: m.type };
  });
}

export function writeModules(dir: string, modules: StModule[]): void {
  writeJsonAtomic(path.join(dir, MODULES_FILE), modules);
}

/** modules.json of a PyLate ColBERT model: the transformer, then one PyLate Dense per projection. */
export function colbertModules(denseCount = 1): StModule[] {
  const mods: StModule[] = [{ idx: 0, name: '0', path: '', type: MODULE_TYPES.transformer }];
  for (let i = 1; i <= denseCount; i++) mods.push({ idx: i, name: String(i), path: `${i}_Dense`, type: MODULE_TYPES.pylateDense });
  return mods;
}

/** modules.json of a sentence-transformers dense model: transformer, pooling, optional normalize. */
export function denseModules(opts: { normalize?: boolean } = {}): StModule[] {
  const mods: StModule[] = [
    { idx: 0, name: '0', path: '', type: MODULE_TYPES.transformer },
    { idx: 1, name: '1', path: '1_Pooling', type: MODULE_TYPES.pooling },
  ];
  if (opts.normalize ?? true) mods.push({ idx: 2, name: '2', path: '2_Normalize', type: MODULE_TYPES.normalize });
  return mods;
}

// ---------- sentence_bert_config.json ----------

export interface SentenceBertConfig {
  max_seq_length: number;
  do_lower_case: boolean;
}

/** Reads sentence_bert_config.json; null when absent. */
export function readSentenceBertConfig(dir: string): SentenceBertConfig | null {
  const file = path.join(dir, SENTENCE_BERT_CONFIG_FILE);
  if (!fs.existsSync(file)) return null;
  const raw = readJsonFile<any>(file);
  const msl = raw?.max_seq_length;
  if (msl !== undefined && msl !== null && (!Number.isInteger(msl) || msl < 1)) throw new UserError(`${file}: max_seq_length must be a positive integer`);
  if (raw?.do_lower_case !== undefined && typeof raw.do_lower_case !== 'boolean') throw new UserError(`${file}: do_lower_case must be true or false`);
  return { max_seq_length: msl ?? 512, do_lower_case: raw?.do_lower_case ?? false };
}

export function writeSentenceBertConfig(dir: string, cfg: SentenceBertConfig): void {
  writeJsonAtomic(path.join(dir, SENTENCE_BERT_CONFIG_FILE), { max_seq_length: cfg.max_seq_length, do_lower_case: cfg.do_lower_case });
}

// ---------- Dense layer folder (PyLate / sentence-transformers) ----------

export interface DenseLayerConfig {
  in_features: number;
  out_features: number;
  bias: boolean;
  /** Python class path; PyLate uses torch.nn.modules.linear.Identity. */
  activation_function: string;
  /** PyLate only: add a (projected) residual of the input. */
  use_residual?: boolean;
}

export interface DenseLayer {
  config: DenseLayerConfig;
  /** [out_features, in_features], as torch.nn.Linear stores it. */
  weight: NamedTensor;
  bias?: NamedTensor;
  /** PyLate `residual.weight` [out, in] when use_residual and in != out. */
  residual?: NamedTensor;
}

export const IDENTITY_ACTIVATION = 'torch.nn.modules.linear.Identity';

/** Reads `<dir>/config.json` and `<dir>/model.safetensors` of a Dense module; checks shapes against the config. */
export function readDenseLayer(dir: string): DenseLayer {
  const cfgFile = path.join(dir, CONFIG_FILE);
  const raw = readJsonFile<any>(cfgFile);
  for (const k of ['in_features', 'out_features']) {
    if (!Number.isInteger(raw?.[k]) || raw[k] < 1) throw new UserError(`${cfgFile}: ${k} must be a positive integer`);
  }
  const config: DenseLayerConfig = {
    in_features: raw.in_features,
    out_features: raw.out_features,
    bias: raw.bias ?? true,
    activation_function: raw.activation_function ?? IDENTITY_ACTIVATION,
    ...(raw.use_residual !== undefined ? { use_residual: Boolean(raw.use_residual) } : {}),
  };
  const wFile = path.join(dir, SAFETENSORS_FILE);
  if (!fs.existsSync(wFile)) throw new UserError(`${wFile}: not found (pytorch_model.bin checkpoints are not supported)`);
  const { tensors } = readSafetensors(wFile);
  const need = (name: string, shape: number[]): NamedTensor => {
    const t = tensors.get(name);
    if (!t) throw new UserError(`${wFile}: no tensor "${name}"`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new UserError(`${wFile}: tensor "${name}" has shape [${t.shape}], config says [${shape}]`);
    }
    if (!(t.data instanceof Float32Array)) throw new UserError(`${wFile}: tensor "${name}" must be floating point`);
    return t;
  };
  const out: DenseLayer = { config, weight: need('linear.weight', [config.out_features, config.in_features]) };
  if (config.bias) out.bias = need('linear.bias', [config.out_features]);
  if (config.use_residual && config.in_features !== config.out_features) out.residual = need('residual.weight', [config.out_features, config.in_features]);
  return out;
}

/** Writes a Dense module folder (config.json + model.safetensors with linear.weight [/ linear.bias / residual.weight]). */
export function writeDenseLayer(
  dir: string,
  layer: { config: DenseLayerConfig; weight: TensorInput; bias?: TensorInput; residual?: TensorInput },
  opts: { floatDtype?: 'F32' | 'F16' | 'BF16' } = {},
): void {
  const { config } = layer;
  const tensors: Record<string, TensorInput> = { 'linear.weight': layer.weight };
  if (layer.weight.shape.join() !== [config.out_features, config.in_features].join()) {
    throw new UserError(`Dense layer for ${dir}: weight shape [${layer.weight.shape}] does not match [${config.out_features}, ${config.in_features}]`);
  }
  if (config.bias) {
    if (!layer.bias) throw new UserError(`Dense layer for ${dir}: config has bias but no bias tensor was given`);
    tensors['linear.bias'] = layer.bias;
  }
  if (layer.residual) tensors['residual.weight'] = layer.residual;
  makeDirs(dir, 'model folder');
  writeJsonAtomic(path.join(dir, CONFIG_FILE), config);
  writeSafetensors(path.join(dir, SAFETENSORS_FILE), tensors, { metadata: { format: 'pt' }, floatDtype: opts.floatDtype });
}

// ---------- Pooling (dense models) ----------

export interface PoolingConfig {
  word_embedding_dimension: number;
  pooling_mode_cls_token: boolean;
  pooling_mode_mean_tokens: boolean;
  pooling_mode_max_tokens: boolean;
  pooling_mode_mean_sqrt_len_tokens: boolean;
  pooling_mode_weightedmean_tokens: boolean;
  pooling_mode_lasttoken: boolean;
  include_prompt: boolean;
}

export function meanPoolingConfig(dim: number): PoolingConfig {
  return {
    word_embedding_dimension: dim,
    pooling_mode_cls_token: false,
    pooling_mode_mean_tokens: true,
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: false,
    include_prompt: true,
  };
}

/** Reads `<dir>/config.json` of a Pooling module (missing modes default to false, include_prompt to true). */
export function readPoolingConfig(dir: string): PoolingConfig {
  const file = path.join(dir, CONFIG_FILE);
  const raw = readJsonFile<any>(file);
  if (!Number.isInteger(raw?.word_embedding_dimension)) throw new UserError(`${file}: word_embedding_dimension must be an integer`);
  const cfg = { ...meanPoolingConfig(raw.word_embedding_dimension), pooling_mode_mean_tokens: false };
  for (const k of Object.keys(cfg) as (keyof PoolingConfig)[]) {
    if (k === 'word_embedding_dimension' || raw[k] === undefined) continue;
    if (typeof raw[k] !== 'boolean') throw new UserError(`${file}: ${k} must be true or false`);
    (cfg as any)[k] = raw[k];
  }
  return cfg;
}

export function writePoolingConfig(dir: string, cfg: PoolingConfig): void {
  writeJsonAtomic(path.join(dir, CONFIG_FILE), cfg);
}

// ---------- whole folder ----------

export interface CheckpointLayout {
  dir: string;
  /** modules.json entries, or null for a plain Hugging Face model folder. */
  modules: StModule[] | null;
  /** 'colbert' when a PyLate Dense module is listed (or config_sentence_transformers.json says ColBERT), 'dense' with a Pooling module, else 'transformer'. */
  kind: 'colbert' | 'dense' | 'transformer';
  /** Folders (absolute) of Dense modules, in order. */
  denseDirs: string[];
  poolingDir: string | null;
  normalize: boolean;
  /** The transformer weights: model.safetensors or the shard index. */
  weightsFile: string;
  hasTokenizer: boolean;
}

/** Inspects a model folder and says what it is; errors name what is missing. */
export function inspectCheckpoint(dir: string): CheckpointLayout {
  checkModelDir(dir);
  return layoutOf(dir, readModules(dir), readSentenceTransformersConfig(dir));
}

const SENTENCE_TRANSFORMERS_CONFIG_FILE = 'config_sentence_transformers.json';

/** Fails unless `dir` is a folder. */
export function checkModelDir(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: not a model folder`);
}

/** config_sentence_transformers.json as a plain object (prompts, ColBERT settings, model_type); null when absent. */
export function readSentenceTransformersConfig(dir: string): Record<string, unknown> | null {
  const file = path.join(dir, SENTENCE_TRANSFORMERS_CONFIG_FILE);
  return fs.existsSync(file) ? readJsonFile<Record<string, unknown>>(file) : null;
}

/** The layout of a folder whose modules.json and config_sentence_transformers.json were already read. */
export function layoutOf(dir: string, modules: StModule[] | null, stConfig: Record<string, unknown> | null): CheckpointLayout {
  const single = path.join(dir, SAFETENSORS_FILE);
  const index = path.join(dir, SAFETENSORS_INDEX_FILE);
  const weightsFile = fs.existsSync(single) ? single : fs.existsSync(index) ? index : null;
  if (!weightsFile) throw new UserError(`${dir}: no ${SAFETENSORS_FILE} or ${SAFETENSORS_INDEX_FILE}`);
  if (!fs.existsSync(path.join(dir, CONFIG_FILE))) throw new UserError(`${dir}: no ${CONFIG_FILE}`);
  const mods = modules ?? [];
  const isDense = (t: string) => t === MODULE_TYPES.pylateDense || t === MODULE_TYPES.stDense || t.endsWith('.Dense');
  const denseDirs = mods.filter((m) => isDense(m.type)).map((m) => path.join(dir, m.path));
  const pooling = mods.find((m) => m.type === MODULE_TYPES.pooling || m.type.endsWith('.Pooling'));
  const stType = stConfig?.model_type;
  const kind = mods.some((m) => m.type.startsWith('pylate.')) || stType === 'ColBERT' ? 'colbert' : pooling ? 'dense' : 'transformer';
  return {
    dir,
    modules,
    kind,
    denseDirs,
    poolingDir: pooling ? path.join(dir, pooling.path) : null,
    normalize: mods.some((m) => m.type === MODULE_TYPES.normalize || m.type.endsWith('.Normalize')),
    weightsFile,
    hasTokenizer: fs.existsSync(path.join(dir, 'tokenizer.json')),
  };
}
