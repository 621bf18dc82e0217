/**
 * ModernBERT (Warner et al., 2024) as Hugging Face transformers computes it, top to bottom:
 *
 *   token embeddings → LayerNorm → dropout
 *   N × [ x += dropout(Wo · attention(rope(Wqkv · attn_norm(x))))      (layer 0: attn_norm is identity)
 *         x += Wo · dropout(act(input) * gate), [input | gate] = Wi · mlp_norm(x) ]
 *   final LayerNorm
 *
 * Attention is global on layers with layer_type "full_attention" (every `global_attn_every_n_layers`-th,
 * starting at 0) and otherwise sees keys within local_attention/2 positions; each kind has its own
 * rotary theta. Padding keys are masked with float32's lowest value, as transformers' eager path does
 * (so even padding rows, e.g. ColBERT's unattended [MASK] expansion tokens, come out the same).
 *
 * Parameters keep their transformers state-dict names; Linear weights are stored as [in, out] (the
 * transpose of PyTorch's layout) so the forward pass runs plain x·W products.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../backend/index';
import { attention, attentionDropoutMasks } from './attention';
import { UserError } from '../util/errors';
import type { ModernBertConfig } from './config';
import { activate, dropoutMultiplier, embed, geglu, layerNorm, linear, ropeTables, SeededDropout } from './layers';

const F32_MIN = -3.4028234663852886e38;

/** One named parameter: its transformers name and shape, and how it is initialised. */
export interface ParamSpec {
  name: string;
  /** Shape as transformers stores it ([out, in] for Linear weights). */
  shape: number[];
  /** A Linear weight: held transposed ([in, out]) in this implementation. */
  linear: boolean;
  init: 'in' | 'out' | 'embedding' | 'ones' | 'zeros';
  /** Part of the MLM head (absent from base-model checkpoints). */
  head: boolean;
}

/** Every parameter of ModernBertForMaskedLM (backbone without the `model.` prefix), in a fixed order. */
export function parameterSpecs(c: ModernBertConfig): ParamSpec[] {
  const H = c.hiddenSize;
  const specs: ParamSpec[] = [];
  const add = (name: string, shape: number[], init: ParamSpec['init'], lin = false, head = false) => specs.push({ name, shape, linear: lin, init, head });
  const norm = (prefix: string, head = false) => {
    add(`${prefix}.weight`, [H], 'ones', false, head);
    if (c.normBias) add(`${prefix}.bias`, [H], 'zeros', false, head);
  };
  const dense = (prefix: string, out: number, inp: number, init: 'in' | 'out', bias: boolean, head = false) => {
    add(`${prefix}.weight`, [out, inp], init, true, head);
    if (bias) add(`${prefix}.bias`, [out], 'zeros', false, head);
  };
  add('embeddings.tok_embeddings.weight', [c.vocabSize, H], 'embedding');
  norm('embeddings.norm');
  for (let i = 0; i < c.numLayers; i++) {
    if (i > 0) norm(`layers.${i}.attn_norm`);
    dense(`layers.${i}.attn.Wqkv`, 3 * H, H, 'in', c.attentionBias);
    dense(`layers.${i}.attn.Wo`, H, H, 'out', c.attentionBias);
    norm(`layers.${i}.mlp_norm`);
    dense(`layers.${i}.mlp.Wi`, 2 * c.intermediateSize, H, 'in', c.mlpBias);
    dense(`layers.${i}.mlp.Wo`, H, c.intermediateSize, 'out', c.mlpBias);
  }
  norm('final_norm');
  dense('head.dense', H, H, 'out', c.classifierBias, true);
  norm('head.norm', true);
  if (!c.tieWordEmbeddings) add('decoder.weight', [c.vocabSize, H], 'out', false, true);
  if (c.decoderBias) add('decoder.bias', [c.vocabSize], 'zeros', false, true);
  return specs;
}

/** A float32 tensor as read from a checkpoint, in transformers' layout. */
export interface RawTensor {
  shape: number[];
  data: Float32Array;
}

export interface ForwardOptions {
  training: boolean;
  /** Dropout seed; the same seed replays the same dropout masks. */
  seed?: number;
}

let instances = 0;

/**
 * A parameter's initial value as transformers' `_init_weights` draws it: truncated normal (±cutoff·std;
 * tf.truncatedNormal cuts at ±2σ, the default cutoff), std 0.02 for inputs and embeddings,
 * 0.02/sqrt(2·layers) for outputs; LayerNorm weights one, biases zero. Linear weights come out [in, out].
 */
function initialValue(c: ModernBertConfig, s: ParamSpec, seed: number): tf.Tensor {
  if (c.initializerCutoffFactor !== 2) throw new UserError(`initializer_cutoff_factor ${c.initializerCutoffFactor} is not supported for random init (only 2)`);
  const shape = s.linear ? [s.shape[1], s.shape[0]] : s.shape;
  if (s.init === 'ones') return tf.ones(shape);
  if (s.init === 'zeros') return tf.zeros(shape);
  const std = s.init === 'out' ? c.initializerRange / Math.sqrt(2 * c.numLayers) : c.initializerRange;
  return tf.truncatedNormal(shape, 0, std, 'float32', seed);
}

/**
 * The seed of parameter `index` for model seed `seed`: seed·1000003 + index, except that tf's random ops
 * treat seed 0 as "unseeded" (a fresh random draw), so the one pair giving 0 (seed 0, first parameter)
 * uses 1000002 instead — a value no other parameter of any seed gets (models have far fewer than 10⁶
 * parameters). Every other parameter keeps the seed it always had.
 */
function parameterSeed(seed: number, index: number): number {
  const s = seed * 1000003 + index;
  return s !== 0 ? s : 1000002;
}

/** A dropout site's keep-mask (scaled by 1/(1 − rate)), in the layout of the values it multiplies. */
export interface DropoutMask {
  dims: number[];
  data: Float32Array;
}

/**
 * The dropout masks `ModernBert.forward` draws in training for n sequences of length L and `seed`, by site
 * (`embeddings`, `layers.i.attn.probs` [n, heads, L, L], `layers.i.attn.out` [n, L, H], `layers.i.mlp`
 * [n, L, intermediate]), drawn in forward's order from the same seeds: another engine replays them exactly.
 */
export function trainingDropoutMasks(c: ModernBertConfig, n: number, L: number, seed: number): Map<string, DropoutMask> {
  const drop = new SeededDropout(true, seed);
  const out = new Map<string, DropoutMask>();
  const draw = (site: string, rows: number, cols: number, rate: number) => {
    if (rate <= 0) return;
    const t = dropoutMultiplier([rows, cols], rate, drop.nextSeed());
    out.set(site, { dims: [n, L, cols], data: t.dataSync() as Float32Array });
    t.dispose();
  };
  draw('embeddings', n * L, c.hiddenSize, c.embeddingDropout);
  for (let i = 0; i < c.numLayers; i++) {
    if (c.attentionDropout > 0) {
      const data = attentionDropoutMasks({ n, L, heads: c.numHeads, headDim: c.headDim }, c.attentionDropout, drop.nextSeed());
      out.set(`layers.${i}.attn.probs`, { dims: [n, c.numHeads, L, L], data });
    }
    draw(`layers.${i}.attn.out`, n * L, c.hiddenSize, c.attentionDropout);
    draw(`layers.${i}.mlp`, n * L, c.intermediateSize, c.mlpDropout);
  }
  return out;
}

export class ModernBert {
  readonly config: ModernBertConfig;
  /** Parameters by transformers name; Linear weights held as [in, out]. */
  readonly params = new Map<string, tf.Variable>();
  private readonly specs: ParamSpec[];
  private readonly ropeCache = new Map<string, { cos: Float32Array; sin: Float32Array }>();

  private constructor(config: ModernBertConfig, values: Map<string, tf.Tensor>) {
    this.config = config;
    this.specs = parameterSpecs(config);
    const id = ++instances;
    for (const s of this.specs) {
      const v = values.get(s.name);
      if (v) this.params.set(s.name, tf.variable(v, true, `modernbert${id}/${s.name}`));
    }
  }

  /** Random weights, drawn as transformers initialises them (see initialValue). */
  static random(config: ModernBertConfig, seed = 0): ModernBert {
    const values = new Map<string, tf.Tensor>();
    parameterSpecs(config).forEach((s, i) => values.set(s.name, initialValue(config, s, parameterSeed(seed, i))));
    const model = new ModernBert(config, values);
    values.forEach((t) => t.dispose());
    return model;
  }

  /**
   * Builds the model from a checkpoint's tensors. `get` returns a tensor by transformers name (the
   * caller strips any `model.` prefix); the MLM head is optional. Missing or misshapen tensors are
   * reported by name, with `where` naming the file.
   */
  static fromTensors(config: ModernBertConfig, get: (name: string) => RawTensor | undefined, where: string): ModernBert {
    const values = new Map<string, tf.Tensor>();
    try {
      const specs = parameterSpecs(config);
      const headPresent = specs.filter((s) => s.head).some((s) => get(s.name) !== undefined);
      for (const s of specs) {
        const raw = get(s.name);
        if (!raw) {
          if (s.head && !headPresent) continue;
          throw new UserError(`${where}: missing tensor "${s.name}"`);
        }
        if (raw.shape.length !== s.shape.length || raw.shape.some((d, i) => d !== s.shape[i])) {
          throw new UserError(`${where}: tensor "${s.name}" has shape [${raw.shape}], config.json implies [${s.shape}]`);
        }
        values.set(s.name, tf.tidy(() => {
          const t = tf.tensor(raw.data, raw.shape, 'float32');
          return s.linear ? t.transpose() : t;
        }));
      }
      return new ModernBert(config, values);
    } finally {
      values.forEach((t) => t.dispose());
    }
  }

  get hasMlmHead(): boolean {
    return this.params.has('head.norm.weight');
  }

  /** Adds a freshly initialised MLM head (for a backbone loaded without one). */
  initMlmHead(seed = 0): void {
    if (this.hasMlmHead) return;
    this.specs.forEach((s, i) => {
      if (!s.head) return;
      const t = initialValue(this.config, s, parameterSeed(seed, i));
      this.params.set(s.name, tf.variable(t, true, `modernbert${++instances}/${s.name}`));
      t.dispose();
    });
  }

  /**
   * Grows the token embeddings to `size` rows, as PyLate does when it adds its [Q]/[D] markers to the
   * vocabulary. New rows are the mean of the old ones (transformers draws them from a normal with that
   * mean and 1e-9 times the covariance: the same up to noise). A decoder bias grows with zeros.
   */
  resizeTokenEmbeddings(size: number): void {
    const c = this.config;
    if (size === c.vocabSize) return;
    if (size < c.vocabSize) throw new UserError(`cannot shrink the vocabulary from ${c.vocabSize} to ${size}`);
    const grow = (name: string, rows: (old: tf.Tensor) => tf.Tensor) => {
      const old = this.params.get(name);
      if (!old) return;
      const t = tf.tidy(() => tf.concat([old, rows(old)], 0));
      this.params.set(name, tf.variable(t, true, `modernbert${++instances}/${name}`));
      t.dispose();
      old.dispose();
    };
    const extra = size - c.vocabSize;
    grow('embeddings.tok_embeddings.weight', (old) => old.mean(0, true).tile([extra, 1]));
    grow('decoder.weight', (old) => old.mean(0, true).tile([extra, 1]));
    grow('decoder.bias', () => tf.zeros([extra]));
    (this as { config: ModernBertConfig }).config = { ...c, vocabSize: size };
    this.specs.splice(0, this.specs.length, ...parameterSpecs(this.config));
  }

  /** Trainable variables: the backbone, plus the MLM head when `withHead`. */
  variables(withHead = false): tf.Variable[] {
    return this.namedVariables(withHead).map((v) => v.variable);
  }

  /** The same variables with their transformers names (Linear weights held [in, out]). */
  namedVariables(withHead = false): Array<{ name: string; variable: tf.Variable }> {
    return this.specs.filter((s) => (withHead || !s.head) && this.params.has(s.name)).map((s) => ({ name: s.name, variable: this.params.get(s.name)! }));
  }

  /**
   * The state dict in transformers' layout ([out, in] Linear weights). `prefix` is prepended to backbone
   * names (`model.` for ModernBertForMaskedLM); the head is written when present and `withHead`.
   */
  stateDict(prefix = '', withHead = true): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const s of this.specs) {
      const v = this.params.get(s.name);
      if (!v || (s.head && !withHead)) continue;
      out.set(s.head ? s.name : prefix + s.name, s.linear ? v.transpose() : v.clone());
    }
    if (withHead && this.hasMlmHead && this.config.tieWordEmbeddings) {
      out.set('decoder.weight', this.params.get('embeddings.tok_embeddings.weight')!.clone());
    }
    return out;
  }

  private p(name: string): tf.Tensor {
    const v = this.params.get(name);
    if (!v) throw new Error(`ModernBert: parameter ${name} is not loaded`);
    return v;
  }

  private maybe(name: string): tf.Tensor | undefined {
    return this.params.get(name);
  }

  private rope(length: number, theta: number): { cos: Float32Array; sin: Float32Array } {
    const key = `${length}:${theta}`;
    let r = this.ropeCache.get(key);
    if (!r) {
      r = ropeTables(length, this.config.headDim, theta);
      this.ropeCache.set(key, r);
    }
    return r;
  }

  /**
   * Additive attention masks: 0 where query i may attend key j, float32's lowest value elsewhere.
   * Global: key j is not padding → [n, L]. Sliding: also |i - j| <= local_attention/2 → [n, L, L].
   */
  private masks(attentionMask: Int32Array, n: number, L: number): { full: Float32Array; sliding: Float32Array } {
    const full = new Float32Array(n * L);
    for (let i = 0; i < n * L; i++) full[i] = attentionMask[i] ? 0 : F32_MIN;
    const w = Math.floor(this.config.localAttention / 2);
    const sliding = new Float32Array(n * L * L);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < L; i++) {
        const row = (b * L + i) * L;
        for (let j = 0; j < L; j++) sliding[row + j] = attentionMask[b * L + j] && Math.abs(i - j) <= w ? 0 : F32_MIN;
      }
    }
    return { full, sliding };
  }

  /** Multi-head self-attention of one layer on x [n·L, H] (the core is lib/models/attention.ts). */
  private attention(i: number, x: tf.Tensor2D, n: number, L: number, global: boolean, masks: { full: Float32Array; sliding: Float32Array }, drop: SeededDropout): tf.Tensor2D {
    const c = this.config;
    const qkv = linear(x, this.p(`layers.${i}.attn.Wqkv.weight`) as tf.Tensor2D, this.maybe(`layers.${i}.attn.Wqkv.bias`) as tf.Tensor1D | undefined);
    const rope = this.rope(L, global ? c.globalRopeTheta : c.localRopeTheta);
    const rate = drop.active ? c.attentionDropout : 0;
    const context = attention(qkv, {
      n, L, heads: c.numHeads, headDim: c.headDim, cos: rope.cos, sin: rope.sin,
      mask: global ? masks.full : masks.sliding,
      maskRows: global ? 1 : 'L',
      dropout: rate > 0 ? { rate, seed: drop.nextSeed() } : undefined,
    });
    const out = linear(context, this.p(`layers.${i}.attn.Wo.weight`) as tf.Tensor2D, this.maybe(`layers.${i}.attn.Wo.bias`) as tf.Tensor1D | undefined);
    return drop.apply(out, c.attentionDropout);
  }

  /** GeGLU feed-forward of one layer on x [n·L, H]. */
  private mlp(i: number, x: tf.Tensor2D, drop: SeededDropout): tf.Tensor2D {
    const c = this.config;
    const wi = linear(x, this.p(`layers.${i}.mlp.Wi.weight`) as tf.Tensor2D, this.maybe(`layers.${i}.mlp.Wi.bias`) as tf.Tensor1D | undefined);
    const [input, gate] = tf.split(wi, 2, 1);
    const gated = c.hiddenActivation === 'gelu' ? geglu(input as tf.Tensor2D, gate as tf.Tensor2D) : (activate(input, c.hiddenActivation).mul(gate) as tf.Tensor2D);
    const h = drop.apply(gated, c.mlpDropout);
    return linear(h, this.p(`layers.${i}.mlp.Wo.weight`) as tf.Tensor2D, this.maybe(`layers.${i}.mlp.Wo.bias`) as tf.Tensor1D | undefined);
  }

  private norm(prefix: string, x: tf.Tensor2D): tf.Tensor2D {
    return layerNorm(x, this.p(`${prefix}.weight`) as tf.Tensor1D, this.maybe(`${prefix}.bias`) as tf.Tensor1D | undefined, this.config.normEps);
  }

  /**
   * Last hidden state [n, L, H] for padded token ids [n, L] (row-major) and attention mask (1 = real token).
   * Differentiable with respect to the parameters; call inside tf.tidy or tf.variableGrads.
   */
  forward(inputIds: Int32Array, attentionMask: Int32Array, n: number, L: number, opts: ForwardOptions = { training: false }): tf.Tensor3D {
    const c = this.config;
    if (inputIds.length !== n * L || attentionMask.length !== n * L) throw new Error(`ModernBert.forward: expected ${n}×${L} ids and mask`);
    for (let i = 0; i < inputIds.length; i++) {
      const id = inputIds[i];
      if (id < 0 || id >= c.vocabSize) throw new UserError(`token id ${id} is outside the model's vocabulary (vocab_size ${c.vocabSize})`);
    }
    const drop = new SeededDropout(opts.training, opts.seed ?? Math.floor(Math.random() * 2 ** 31));
    const masks = this.masks(attentionMask, n, L);
    return tf.tidy(() => {
      let x = embed(this.p('embeddings.tok_embeddings.weight') as tf.Tensor2D, inputIds);
      x = drop.apply(this.norm('embeddings.norm', x), c.embeddingDropout);
      for (let i = 0; i < c.numLayers; i++) {
        const h = i === 0 ? x : this.norm(`layers.${i}.attn_norm`, x);
        x = x.add(this.attention(i, h, n, L, c.layerTypes[i] === 'full_attention', masks, drop));
        x = x.add(this.mlp(i, this.norm(`layers.${i}.mlp_norm`, x), drop));
      }
      return this.norm('final_norm', x).reshape([n, L, c.hiddenSize]) as tf.Tensor3D;
    });
  }

  /**
   * Masked-LM logits [rows, vocab] for hidden states [rows, H] (pass only the masked positions to save
   * work): head.dense → activation → head.norm → decoder (weights tied to the token embeddings).
   */
  mlmLogits(hidden: tf.Tensor2D): tf.Tensor2D {
    if (!this.hasMlmHead) throw new UserError('this checkpoint has no masked-LM head (head.dense, head.norm); call initMlmHead() first');
    const c = this.config;
    return tf.tidy(() => {
      let h = linear(hidden, this.p('head.dense.weight') as tf.Tensor2D, this.maybe('head.dense.bias') as tf.Tensor1D | undefined);
      h = this.norm('head.norm', activate(h, c.classifierActivation) as tf.Tensor2D);
      const decoder = (c.tieWordEmbeddings ? this.p('embeddings.tok_embeddings.weight') : this.p('decoder.weight')) as tf.Tensor2D;
      const logits = matMul(h, decoder, false, true);
      const bias = this.maybe('decoder.bias');
      return bias ? logits.add(bias) : logits;
    });
  }

  dispose(): void {
    this.params.forEach((v) => v.dispose());
    this.params.clear();
    this.ropeCache.clear();
  }
}
