/**
 * Single-vector (dense) model on ModernBERT, as sentence-transformers builds it (e.g. nomic's
 * modernbert-embed): Transformer → Pooling (mean over attended tokens, or [CLS]) → Normalize.
 *
 *   const model = await DenseModel.fromPretrained('path/to/st-model');
 *   const e = await model.encode(['a query'], 'query');    // embeddings [1, 768], unit length
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors';
import { writeDirAtomic, writeJsonAtomic } from '../util/atomic';
import { DenseTokenizer, TextTokenizer } from '../tokenize/index';
import { loadBackbone, writeBackbone } from './backbone-io';
import { encodeBatched, type EncodeOptions } from './batched-encode';
import { denseModules, meanPoolingConfig, readPoolingConfig, writeModules, writePoolingConfig, writeSentenceBertConfig } from './checkpoint-files';
import { withTokenizerIds, type ModernBertConfig } from './config';
import type { Encoded } from '../scores/encoded';
import type { Role, TokenizedBatch } from '../tokenize/types';
import type { TrainableEncoder } from './encoder';
import { l2NormalizeLast, pool, type Pooling } from './heads';
import { ModelFolder } from './model-folder';
import { ModernBert, type ForwardOptions } from './modernbert';

const ST_CONFIG = 'config_sentence_transformers.json';

export interface DenseSettings {
  pooling: Pooling;
  normalize: boolean;
  maxSeqLength: number;
  prompts: Record<string, string>;
  defaultPromptName: string | null;
  lowercase: boolean;
}

export class DenseModel implements TrainableEncoder {
  readonly kind = 'dense' as const;
  readonly backbone: ModernBert;
  readonly tokenizer: DenseTokenizer;
  readonly settings: DenseSettings;

  constructor(backbone: ModernBert, text: TextTokenizer, settings: DenseSettings) {
    if (text.size > backbone.config.vocabSize) throw new UserError(`tokenizer has ${text.size} tokens but the model's vocab_size is ${backbone.config.vocabSize}`);
    this.backbone = backbone;
    this.settings = settings;
    this.tokenizer = new DenseTokenizer(text, {
      maxSeqLength: settings.maxSeqLength,
      prompts: settings.prompts,
      defaultPromptName: settings.defaultPromptName,
      lowercase: settings.lowercase,
    });
  }

  static create(config: ModernBertConfig, text: TextTokenizer, opts: { seed?: number } & Partial<DenseSettings> = {}): DenseModel {
    const backbone = ModernBert.random(withTokenizerIds({ ...config, vocabSize: Math.max(config.vocabSize, text.size) }, text), opts.seed ?? 0);
    return new DenseModel(backbone, text, {
      pooling: opts.pooling ?? 'mean',
      normalize: opts.normalize ?? true,
      maxSeqLength: opts.maxSeqLength ?? 512,
      prompts: opts.prompts ?? {},
      defaultPromptName: opts.defaultPromptName ?? null,
      lowercase: opts.lowercase ?? false,
    });
  }

  /** Loads a sentence-transformers folder, or a plain ModernBERT folder (then mean pooling + normalize). */
  static async fromPretrained(source: string | ModelFolder, opts: Partial<DenseSettings> = {}): Promise<DenseModel> {
    const folder = ModelFolder.of(source);
    const dir = folder.dir;
    const settings = DenseModel.settingsFromDir(folder, opts);
    const text = TextTokenizer.fromDir(dir);
    const backbone = loadBackbone(dir, folder.backboneConfig());
    if (text.size > backbone.config.vocabSize) {
      backbone.dispose();
      throw new UserError(`${dir}: tokenizer has ${text.size} tokens but config.json vocab_size is ${backbone.config.vocabSize}`);
    }
    return new DenseModel(backbone, text, settings);
  }

  /** A folder's pooling, normalisation and tokenization settings (with `opts` overriding), without loading weights. */
  static settingsFromDir(source: string | ModelFolder, opts: Partial<DenseSettings> = {}): DenseSettings {
    const folder = ModelFolder.of(source);
    const layout = folder.layout;
    folder.requireTokenizer();
    let pooling: Pooling = 'mean';
    if (layout.poolingDir) {
      const p = readPoolingConfig(layout.poolingDir);
      const where = path.join(layout.poolingDir, 'config.json');
      const modes = Object.entries(p).filter(([k, v]) => k.startsWith('pooling_mode_') && v).map(([k]) => k);
      if (modes.length !== 1 || !['pooling_mode_mean_tokens', 'pooling_mode_cls_token'].includes(modes[0])) {
        throw new UserError(`${where}: only mean or cls pooling is supported (found ${modes.join(', ') || 'none'})`);
      }
      if (!p.include_prompt) throw new UserError(`${where}: include_prompt false is not supported`);
      pooling = modes[0] === 'pooling_mode_cls_token' ? 'cls' : 'mean';
    }
    const st = (folder.sentenceTransformers ?? {}) as Record<string, any>;
    const sbert = folder.sentenceBert;
    return {
      pooling: opts.pooling ?? pooling,
      normalize: opts.normalize ?? (layout.modules ? layout.normalize : true),
      maxSeqLength: opts.maxSeqLength ?? sbert?.max_seq_length ?? Math.min(512, folder.backboneConfig().maxPositionEmbeddings),
      prompts: opts.prompts ?? st.prompts ?? {},
      defaultPromptName: opts.defaultPromptName ?? st.default_prompt_name ?? null,
      lowercase: opts.lowercase ?? sbert?.do_lower_case ?? false,
    };
  }

  get dim(): number {
    return this.backbone.config.hiddenSize;
  }

  get trainableVariables(): tf.Variable[] {
    return this.backbone.variables();
  }

  tokenize(texts: string[], role: Role): TokenizedBatch {
    return this.tokenizer.tokenize(texts, role);
  }

  /** One vector per text, [n, hidden] (unit length when the model normalizes). */
  forward(batch: TokenizedBatch, opts: ForwardOptions = { training: false }): Encoded {
    return tf.tidy(() => {
      const hidden = this.backbone.forward(batch.inputIds, batch.attentionMask, batch.n, batch.length, opts);
      const attention = tf.tensor2d(Float32Array.from(batch.attentionMask), [batch.n, batch.length]);
      const pooled = pool(hidden, attention, this.settings.pooling);
      return { kind: 'dense' as const, embeddings: this.settings.normalize ? l2NormalizeLast(pooled) : pooled };
    });
  }

  encode(texts: string[], role: Role, opts: EncodeOptions = {}): Promise<Encoded> {
    return encodeBatched('dense', this.dim, texts, role, (t, r) => this.tokenize(t, r), (b) => this.forward(b), opts);
  }

  /** Writes the sentence-transformers layout atomically (Transformer, Pooling[, Normalize]). */
  save(dir: string): Promise<void> {
    const s = this.settings;
    return writeDirAtomic(dir, (tmp) => {
      writeBackbone(tmp, this.backbone, { tokenizer: this.tokenizer.text });
      this.tokenizer.text.save(tmp);
      writeModules(tmp, denseModules({ normalize: s.normalize }));
      writeSentenceBertConfig(tmp, { max_seq_length: s.maxSeqLength, do_lower_case: s.lowercase });
      const pc = meanPoolingConfig(this.dim);
      if (s.pooling === 'cls') Object.assign(pc, { pooling_mode_mean_tokens: false, pooling_mode_cls_token: true });
      fs.mkdirSync(path.join(tmp, '1_Pooling'));
      writePoolingConfig(path.join(tmp, '1_Pooling'), pc);
      if (s.normalize) fs.mkdirSync(path.join(tmp, '2_Normalize'));
      writeJsonAtomic(path.join(tmp, ST_CONFIG), {
        model_type: 'SentenceTransformer',
        prompts: s.prompts,
        default_prompt_name: s.defaultPromptName,
        similarity_fn_name: 'cosine',
      });
    });
  }

  dispose(): void {
    this.backbone.dispose();
  }
}
