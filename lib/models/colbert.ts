/**
 * ColBERT on ModernBERT, as PyLate builds it: the backbone, then a bias-free Linear projection of every
 * token (hidden → 128 for ModernBERT-base), then L2 normalisation per token. Tokenization (markers,
 * query expansion, skiplist) is lib/tokenize's ColbertTokenizer.
 *
 *   const model = await ColbertModel.fromPretrained('path/to/pylate-model');
 *   const q = await model.encode(['what is late interaction?'], 'query');   // embeddings [1, 32, 128], mask [1, 32]
 *   await model.save('out/');                                            // a folder pylate.models.ColBERT loads
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors';
import { writeDirAtomic } from '../util/atomic';
import { CONFIG_ST_FILE, ColbertTokenizer, defaultColbertConfig, parseColbertConfig, TextTokenizer, unattendedZeroed, withColbertOverrides, writeColbertConfig, type ColbertTokenizerConfig } from '../tokenize/index';
import { loadBackbone, writeBackbone } from './backbone-io';
import { encodeBatched, type EncodeOptions } from './batched-encode';
import { colbertModules, IDENTITY_ACTIVATION, readDenseLayer, writeDenseLayer, writeModules, writeSentenceBertConfig } from './checkpoint-files';
import { withTokenizerIds, type ModernBertConfig } from './config';
import type { Encoded } from '../scores/encoded';
import type { Role, TokenizedBatch } from '../tokenize/types';
import type { TrainableEncoder } from './encoder';
import { colbertProject } from './heads';
import { ModelFolder } from './model-folder';
import { ModernBert, type ForwardOptions } from './modernbert';

export interface ColbertLoadOptions {
  /**
   * Override settings of config_sentence_transformers.json (query_length, do_query_expansion, ...), e.g.
   * `{ expansion_tokens: 'scored' }` to score the [MASK] expansion tokens of a model trained with them
   * zeroed (Flash Attention's behaviour, the paper's), or `'zeroed'` for the opposite.
   */
  overrides?: Partial<Omit<ColbertTokenizerConfig, 'extra'>>;
  /** Projection size when the folder has no Dense module yet (PyLate's default 128). */
  embeddingSize?: number;
  /** Seed for a new projection. */
  seed?: number;
}

/** torch.nn.Linear's default init, U(-1/√in, 1/√in), stored [in, out]. */
function linearInit(inFeatures: number, outFeatures: number, seed: number): tf.Tensor2D {
  const bound = 1 / Math.sqrt(inFeatures);
  return tf.randomUniform([inFeatures, outFeatures], -bound, bound, 'float32', seed) as tf.Tensor2D;
}

export class ColbertModel implements TrainableEncoder {
  readonly kind = 'colbert' as const;
  readonly backbone: ModernBert;
  readonly tokenizer: ColbertTokenizer;
  /** Projection weights as [hidden, dim] (PyLate's linear.weight transposed). */
  readonly projection: tf.Variable;
  /** sentence_bert_config.json's max_seq_length, written back on save. */
  maxSeqLength: number;

  constructor(backbone: ModernBert, tokenizer: ColbertTokenizer, projection: tf.Tensor2D, maxSeqLength?: number) {
    if (tokenizer.vocabSize > backbone.config.vocabSize) {
      throw new UserError(`tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${backbone.config.vocabSize}`);
    }
    if (projection.shape[0] !== backbone.config.hiddenSize) {
      throw new UserError(`ColBERT projection expects ${projection.shape[0]} inputs, the backbone's hidden_size is ${backbone.config.hiddenSize}`);
    }
    this.backbone = backbone;
    this.tokenizer = tokenizer;
    this.projection = tf.variable(projection, true);
    this.maxSeqLength = maxSeqLength ?? Math.max(tokenizer.config.query_length, tokenizer.config.document_length);
  }

  /** A new model: random backbone from `config`, PyLate's markers added to `text` (vocabulary grown to fit). */
  static create(config: ModernBertConfig, text: TextTokenizer, opts: { embeddingSize?: number; seed?: number; colbert?: Partial<Omit<ColbertTokenizerConfig, 'extra'>> } = {}): ColbertModel {
    const tokenizer = new ColbertTokenizer(text, withColbertOverrides(defaultColbertConfig(), opts.colbert ?? {}));
    const seed = opts.seed ?? 0;
    const backbone = ModernBert.random(withTokenizerIds({ ...config, vocabSize: Math.max(config.vocabSize, tokenizer.vocabSize) }, text), seed);
    const proj = linearInit(config.hiddenSize, opts.embeddingSize ?? 128, seed + 7919);
    const model = new ColbertModel(backbone, tokenizer, proj);
    proj.dispose();
    return model;
  }

  /** The tokenizer a folder's model uses (PyLate's settings, with `overrides`), without loading weights. */
  static tokenizerFromDir(source: string | ModelFolder, opts: Pick<ColbertLoadOptions, 'overrides'> = {}): ColbertTokenizer {
    const folder = ModelFolder.of(source);
    folder.requireTokenizer();
    const st = folder.sentenceTransformers;
    const base = folder.kind === 'colbert' && st ? parseColbertConfig(st, path.join(folder.dir, CONFIG_ST_FILE)) : defaultColbertConfig();
    const cfg = opts.overrides ? withColbertOverrides(base, opts.overrides) : base;
    return new ColbertTokenizer(TextTokenizer.fromDir(folder.dir), cfg, { lowercase: folder.sentenceBert?.do_lower_case ?? false });
  }

  /**
   * Loads a PyLate ColBERT folder; a plain ModernBERT or sentence-transformers folder becomes a ColBERT
   * model the way PyLate makes one (markers added, embeddings grown, new projection).
   */
  static async fromPretrained(source: string | ModelFolder, opts: ColbertLoadOptions = {}): Promise<ColbertModel> {
    const folder = ModelFolder.of(source);
    const { dir, layout } = folder;
    const tokenizer = ColbertModel.tokenizerFromDir(folder, opts);
    const sbert = folder.sentenceBert;
    const backbone = loadBackbone(dir, folder.backboneConfig());
    let proj: tf.Tensor2D;
    if (layout.kind === 'colbert') {
      if (layout.denseDirs.length !== 1) throw new UserError(`${dir}: expected one Dense module in modules.json, found ${layout.denseDirs.length}`);
      if (tokenizer.vocabSize !== backbone.config.vocabSize) {
        backbone.dispose();
        throw new UserError(`${dir}: tokenizer has ${tokenizer.vocabSize} tokens but config.json vocab_size is ${backbone.config.vocabSize}`);
      }
      const dense = readDenseLayer(layout.denseDirs[0]);
      const where = path.join(layout.denseDirs[0], 'config.json');
      if (dense.config.bias || dense.config.use_residual) throw new UserError(`${where}: only bias-free, non-residual projections are supported`);
      if (dense.config.activation_function !== IDENTITY_ACTIVATION) throw new UserError(`${where}: activation ${dense.config.activation_function} is not supported`);
      if (dense.config.in_features !== backbone.config.hiddenSize) throw new UserError(`${where}: in_features ${dense.config.in_features} != hidden_size ${backbone.config.hiddenSize}`);
      proj = tf.tidy(() => tf.tensor2d(dense.weight.data as Float32Array, dense.weight.shape as [number, number]).transpose());
    } else {
      backbone.resizeTokenEmbeddings(Math.max(backbone.config.vocabSize, tokenizer.vocabSize));
      proj = linearInit(backbone.config.hiddenSize, opts.embeddingSize ?? 128, (opts.seed ?? 0) + 7919);
    }
    const model = new ColbertModel(backbone, tokenizer, proj, sbert?.max_seq_length);
    proj.dispose();
    return model;
  }

  get dim(): number {
    return this.projection.shape[1] as number;
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.backbone.variables(), this.projection];
  }

  tokenize(texts: string[], role: Role): TokenizedBatch {
    return this.tokenizer.tokenize(texts, role);
  }

  /**
   * Token embeddings [n, L, dim] (unit vectors) and the scoring mask [n, L]. With `expansion_tokens:
   * "zeroed"` the positions with attention 0 are zero vectors (and outside the scoring mask).
   */
  forward(batch: TokenizedBatch, opts: ForwardOptions = { training: false }): Encoded {
    return tf.tidy(() => {
      const hidden = this.backbone.forward(batch.inputIds, batch.attentionMask, batch.n, batch.length, opts);
      let embeddings = colbertProject(hidden, this.projection as tf.Tensor2D);
      const keep = unattendedZeroed(this.tokenizer.config, batch);
      if (keep) embeddings = tf.mul(embeddings, tf.tensor3d(keep, [batch.n, batch.length, 1]));
      const mask = tf.tensor2d(Float32Array.from(batch.scoringMask), [batch.n, batch.length]);
      return { kind: 'colbert' as const, embeddings, mask };
    });
  }

  encode(texts: string[], role: Role, opts: EncodeOptions = {}): Promise<Encoded> {
    return encodeBatched('colbert', this.dim, texts, role, (t, r) => this.tokenize(t, r), (b) => this.forward(b), opts);
  }

  /** Writes PyLate's folder layout atomically (loads with pylate.models.ColBERT and, for the backbone, transformers). */
  save(dir: string): Promise<void> {
    return writeDirAtomic(dir, (tmp) => {
      writeBackbone(tmp, this.backbone, { tokenizer: this.tokenizer.text });
      this.tokenizer.text.save(tmp);
      writeModules(tmp, colbertModules(1));
      writeSentenceBertConfig(tmp, { max_seq_length: this.maxSeqLength, do_lower_case: this.tokenizer.lowercase });
      writeColbertConfig(path.join(tmp, CONFIG_ST_FILE), this.tokenizer.config);
      const w = tf.tidy(() => this.projection.transpose());
      writeDenseLayer(path.join(tmp, '1_Dense'), {
        config: { in_features: this.backbone.config.hiddenSize, out_features: this.dim, bias: false, activation_function: IDENTITY_ACTIVATION, use_residual: false },
        weight: { shape: w.shape, data: w.dataSync() as Float32Array },
      });
      w.dispose();
    });
  }

  dispose(): void {
    this.backbone.dispose();
    this.projection.dispose();
  }
}
