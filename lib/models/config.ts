/**
 * ModernBERT configuration: the fields of a Hugging Face `config.json` that change the computation,
 * read from either spelling transformers has used (`global_rope_theta`/`local_rope_theta` and
 * `global_attn_every_n_layers`, or the newer `rope_parameters` and `layer_types`), plus presets.
 */
import { UserError } from '../util/errors';

export type LayerType = 'full_attention' | 'sliding_attention';
export type Activation = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu' | 'silu';
const ACTIVATIONS: readonly string[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'silu'];

export interface ModernBertConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  hiddenActivation: Activation;
  maxPositionEmbeddings: number;
  normEps: number;
  normBias: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
  attentionDropout: number;
  embeddingDropout: number;
  mlpDropout: number;
  /** Total window of a sliding layer: it attends to keys with |i - j| <= localAttention / 2. */
  localAttention: number;
  layerTypes: LayerType[];
  globalRopeTheta: number;
  localRopeTheta: number;
  classifierBias: boolean;
  classifierActivation: Activation;
  decoderBias: boolean;
  tieWordEmbeddings: boolean;
  initializerRange: number;
  initializerCutoffFactor: number;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  clsTokenId: number;
  sepTokenId: number;
}

export type Json = Record<string, unknown>;

function num(raw: Json, key: string, fallback?: number, where = 'config.json'): number {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw new UserError(`${where}: missing required key "${key}"`);
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${where}: "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/** A size or count: a positive integer (a shape error deep in TensorFlow would not name the key). */
function count(raw: Json, key: string, fallback: number | undefined, where: string): number {
  const v = num(raw, key, fallback, where);
  if (!Number.isInteger(v) || v < 1) throw new UserError(`${where}: "${key}" must be a positive integer, got ${v}`);
  return v;
}

/** A token id: a non-negative integer. */
function tokenId(raw: Json, key: string, fallback: number, where: string): number {
  const v = num(raw, key, fallback, where);
  if (!Number.isInteger(v) || v < 0) throw new UserError(`${where}: "${key}" must be a non-negative integer, got ${v}`);
  return v;
}

/** A number in [lo, hi) (dropout rates), or > 0 when hi is omitted (epsilons, theta, init ranges). */
function inRange(raw: Json, key: string, fallback: number, where: string, lo: number, hi?: number): number {
  const v = num(raw, key, fallback, where);
  const ok = hi === undefined ? v > lo : v >= lo && v < hi;
  if (!ok) throw new UserError(`${where}: "${key}" must be ${hi === undefined ? `> ${lo}` : `in [${lo}, ${hi})`}, got ${v}`);
  return v;
}

function bool(raw: Json, key: string, fallback: boolean, where: string): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new UserError(`${where}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function activation(raw: Json, key: string, where: string): Activation {
  const v = raw[key] ?? 'gelu';
  if (typeof v !== 'string' || !ACTIVATIONS.includes(v)) {
    throw new UserError(`${where}: "${key}" = ${JSON.stringify(v)} is not supported (use one of ${ACTIVATIONS.join(', ')})`);
  }
  return v as Activation;
}

function ropeTheta(raw: Json, type: LayerType, legacyKey: string, fallback: number, where: string): number {
  const params = raw.rope_parameters as Json | undefined;
  const entry = params && (params[type] as Json | undefined);
  if (entry && typeof entry.rope_theta === 'number') {
    if (entry.rope_type !== undefined && entry.rope_type !== 'default') {
      throw new UserError(`${where}: rope_parameters.${type}.rope_type "${entry.rope_type}" is not supported (only "default")`);
    }
    return entry.rope_theta;
  }
  return num(raw, legacyKey, fallback, where);
}

/** Parses a Hugging Face ModernBERT `config.json` object; `where` names the file in errors. */
export function parseModernBertConfig(raw: Json, where = 'config.json'): ModernBertConfig {
  if (raw.model_type !== undefined && raw.model_type !== 'modernbert') {
    throw new UserError(`${where}: model_type "${raw.model_type}" is not supported (only "modernbert")`);
  }
  const hiddenSize = count(raw, 'hidden_size', undefined, where);
  const numHeads = count(raw, 'num_attention_heads', undefined, where);
  const numLayers = count(raw, 'num_hidden_layers', undefined, where);
  if (hiddenSize % numHeads !== 0) throw new UserError(`${where}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  if ((hiddenSize / numHeads) % 2 !== 0) throw new UserError(`${where}: hidden_size / num_attention_heads = ${hiddenSize / numHeads} must be even (rotary embeddings rotate pairs)`);
  const every = count(raw, 'global_attn_every_n_layers', 3, where);
  let layerTypes: LayerType[];
  if (Array.isArray(raw.layer_types)) {
    layerTypes = raw.layer_types.map((t, i) => {
      if (t !== 'full_attention' && t !== 'sliding_attention') throw new UserError(`${where}: layer_types[${i}] = ${JSON.stringify(t)} is not supported`);
      return t;
    });
    if (layerTypes.length !== numLayers) throw new UserError(`${where}: layer_types has ${layerTypes.length} entries, num_hidden_layers is ${numLayers}`);
  } else {
    layerTypes = Array.from({ length: numLayers }, (_, i) => (i % every === 0 ? 'full_attention' : 'sliding_attention'));
  }
  return {
    vocabSize: count(raw, 'vocab_size', undefined, where),
    hiddenSize,
    intermediateSize: count(raw, 'intermediate_size', undefined, where),
    numLayers,
    numHeads,
    headDim: hiddenSize / numHeads,
    hiddenActivation: activation(raw, 'hidden_activation', where),
    maxPositionEmbeddings: count(raw, 'max_position_embeddings', 8192, where),
    normEps: inRange(raw, 'norm_eps', 1e-5, where, 0),
    normBias: bool(raw, 'norm_bias', false, where),
    attentionBias: bool(raw, 'attention_bias', false, where),
    mlpBias: bool(raw, 'mlp_bias', false, where),
    attentionDropout: inRange(raw, 'attention_dropout', 0, where, 0, 1),
    embeddingDropout: inRange(raw, 'embedding_dropout', 0, where, 0, 1),
    mlpDropout: inRange(raw, 'mlp_dropout', 0, where, 0, 1),
    localAttention: count(raw, 'local_attention', 128, where),
    layerTypes,
    globalRopeTheta: ropeTheta(raw, 'full_attention', 'global_rope_theta', 160000, where),
    localRopeTheta: ropeTheta(raw, 'sliding_attention', 'local_rope_theta', 10000, where),
    classifierBias: bool(raw, 'classifier_bias', false, where),
    classifierActivation: activation(raw, 'classifier_activation', where),
    decoderBias: bool(raw, 'decoder_bias', true, where),
    tieWordEmbeddings: bool(raw, 'tie_word_embeddings', true, where),
    initializerRange: inRange(raw, 'initializer_range', 0.02, where, 0),
    initializerCutoffFactor: num(raw, 'initializer_cutoff_factor', 2, where),
    padTokenId: tokenId(raw, 'pad_token_id', 50283, where),
    bosTokenId: tokenId(raw, 'bos_token_id', 50281, where),
    eosTokenId: tokenId(raw, 'eos_token_id', 50282, where),
    clsTokenId: tokenId(raw, 'cls_token_id', 50281, where),
    sepTokenId: tokenId(raw, 'sep_token_id', 50282, where),
  };
}

/**
 * The backbone's parameter count as the memory estimates use it: token embeddings plus, per layer, the
 * attention (Wqkv and output: 4·h²) and the GeGLU MLP (3·h·intermediate). Norms and biases are left out.
 */
export function parameterCount(c: Pick<ModernBertConfig, 'vocabSize' | 'hiddenSize' | 'numLayers' | 'intermediateSize'>): number {
  const h = c.hiddenSize;
  return c.vocabSize * h + c.numLayers * (4 * h * h + 3 * h * c.intermediateSize);
}

/** The special-token ids of a tokenizer (null where it has no such token); TextTokenizer has this shape. */
export interface SpecialTokenIds {
  clsId: number | null;
  sepId: number | null;
  padId: number | null;
  bosId: number | null;
  eosId: number | null;
}

/**
 * `c` with its special-token ids taken from the tokenizer the model is used with. ModernBERT's defaults
 * (pad 50283, cls/bos 50281, sep/eos 50282) lie outside any smaller vocabulary, where transformers rejects
 * or misuses them. Like ModernBERT's own config, bos falls back to [CLS] and eos to [SEP]; an id the
 * tokenizer lacks keeps the config's value.
 */
export function withTokenizerIds(c: ModernBertConfig, t: SpecialTokenIds): ModernBertConfig {
  return {
    ...c,
    padTokenId: t.padId ?? c.padTokenId,
    clsTokenId: t.clsId ?? c.clsTokenId,
    sepTokenId: t.sepId ?? c.sepTokenId,
    bosTokenId: t.bosId ?? t.clsId ?? c.bosTokenId,
    eosTokenId: t.eosId ?? t.sepId ?? c.eosTokenId,
  };
}

/** The `config.json` transformers writes for this configuration (legacy theta keys, readable by old and new versions). */
export function toHfConfig(c: ModernBertConfig, architecture = 'ModernBertForMaskedLM'): Json {
  return {
    architectures: [architecture],
    model_type: 'modernbert',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    hidden_activation: c.hiddenActivation,
    max_position_embeddings: c.maxPositionEmbeddings,
    norm_eps: c.normEps,
    norm_bias: c.normBias,
    attention_bias: c.attentionBias,
    mlp_bias: c.mlpBias,
    attention_dropout: c.attentionDropout,
    embedding_dropout: c.embeddingDropout,
    mlp_dropout: c.mlpDropout,
    local_attention: c.localAttention,
    layer_types: c.layerTypes,
    global_attn_every_n_layers: inferEvery(c.layerTypes),
    global_rope_theta: c.globalRopeTheta,
    local_rope_theta: c.localRopeTheta,
    rope_parameters: {
      full_attention: { rope_type: 'default', rope_theta: c.globalRopeTheta },
      sliding_attention: { rope_type: 'default', rope_theta: c.localRopeTheta },
    },
    classifier_bias: c.classifierBias,
    classifier_activation: c.classifierActivation,
    classifier_pooling: 'mean',
    decoder_bias: c.decoderBias,
    tie_word_embeddings: c.tieWordEmbeddings,
    initializer_range: c.initializerRange,
    initializer_cutoff_factor: c.initializerCutoffFactor,
    pad_token_id: c.padTokenId,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    cls_token_id: c.clsTokenId,
    sep_token_id: c.sepTokenId,
    torch_dtype: 'float32',
  };
}

function inferEvery(types: LayerType[]): number {
  for (let n = 1; n <= types.length; n++) {
    if (types.every((t, i) => (i % n === 0) === (t === 'full_attention'))) return n;
  }
  return types.length + 1;
}

/**
 * Presets. All use the ModernBERT tokenizer's vocabulary (50,368 ids) so any of them can encode real text.
 * `base` is ModernBERT-base; `tiny` and `small` keep its structure (local + global layers) at toy size.
 */
const BASE_RAW: Json = {
  model_type: 'modernbert',
  vocab_size: 50368,
  hidden_size: 768,
  intermediate_size: 1152,
  num_hidden_layers: 22,
  num_attention_heads: 12,
  hidden_activation: 'gelu',
  max_position_embeddings: 8192,
  norm_eps: 1e-5,
  norm_bias: false,
  global_attn_every_n_layers: 3,
  local_attention: 128,
  global_rope_theta: 160000,
  local_rope_theta: 10000,
};

export const PRESETS: Record<'tiny' | 'small' | 'base', Json> = {
  tiny: { ...BASE_RAW, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 2, global_attn_every_n_layers: 2, local_attention: 64 },
  small: { ...BASE_RAW, hidden_size: 256, intermediate_size: 384, num_hidden_layers: 4, num_attention_heads: 4, global_attn_every_n_layers: 2 },
  base: BASE_RAW,
};

export function presetConfig(name: string): ModernBertConfig | null {
  const raw = (PRESETS as Record<string, Json>)[name];
  return raw ? parseModernBertConfig(raw, `preset ${name}`) : null;
}
