/**
 * ModernBERT models for training runs: a ColBERT or dense encoder (lib/models) loaded from a checkpoint
 * or drawn at random from a preset architecture, and — for the MLM phase — the bare backbone with its
 * masked-LM head (`head.dense`, `head.norm`, tied decoder + `decoder.bias`) saved as ModernBertForMaskedLM.
 * Random presets without a tokenizer use the built-in tiny WordPiece vocabulary (lib/tokenize/tiny).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from './config';
import type { Encoded, HeadKind } from '../scores/encoded';
import type { Role, TokenizedBatch } from '../tokenize/types';
import type { TrainableEncoder } from '../models/encoder';
import { UserError } from '../util/errors';
import { ColbertModel } from '../models/colbert';
import { DenseModel } from '../models/dense';
import { ModernBert, type ForwardOptions } from '../models/modernbert';
import { loadBackbone, writeBackbone } from '../models/backbone-io';
import { presetConfig, withTokenizerIds } from '../models/config';
import { TextTokenizer } from '../tokenize/text-tokenizer';
import { tinyTokenizerFiles } from '../tokenize/tiny';
import { packRows } from '../tokenize/colbert';
import { pool } from '../models/heads';
import type { TrainModel } from './model-factory';

type ModernBertSpec = Extract<TrainConfig['model'], { type: 'modernbert' }>;

function textTokenizer(m: ModernBertSpec): TextTokenizer {
  if (m.tokenizer) return TextTokenizer.fromDir(m.tokenizer);
  return new TextTokenizer(tinyTokenizerFiles({ vocabSize: m.vocabSize }).files, 'built-in tiny tokenizer');
}

/** The backbone with its MLM head, as a TrainableEncoder (forward: mean-pooled hidden states). */
export class MaskedLmModel implements TrainableEncoder {
  readonly kind: HeadKind = 'dense';
  readonly dim: number;
  constructor(readonly backbone: ModernBert, readonly text: TextTokenizer, readonly maxLength: number) {
    if (!backbone.hasMlmHead) backbone.initMlmHead(1);
    this.dim = backbone.config.hiddenSize;
    if (text.maskId === null || text.padId === null) throw new UserError(`${text.source}: the tokenizer needs [MASK] and [PAD] tokens for masked-LM training`);
  }

  get trainableVariables(): tf.Variable[] {
    return this.backbone.variables(true);
  }

  /** Ids never masked: the template's special tokens, padding and [MASK]. */
  get specialIds(): number[] {
    return [...new Set([...this.text.addSpecialTokens([]), this.text.padId!, this.text.maskId!])];
  }

  tokenize(texts: string[]): TokenizedBatch {
    const rows = texts.map((t) => this.text.encode(t, { maxLength: this.maxLength }));
    return packRows(rows, Math.max(...rows.map((r) => r.length)), this.text.padId!);
  }

  /** Hidden states [n, L, H]. */
  hidden(batch: TokenizedBatch, opts: ForwardOptions): tf.Tensor3D {
    return this.backbone.forward(batch.inputIds, batch.attentionMask, batch.n, batch.length, opts);
  }

  forward(batch: TokenizedBatch, opts: ForwardOptions): Encoded {
    return tf.tidy(() => {
      const att = tf.tensor2d(batch.attentionMask, [batch.n, batch.length], 'int32').toFloat() as tf.Tensor2D;
      return { kind: 'dense' as const, embeddings: pool(this.hidden(batch, opts), att, 'mean') };
    });
  }

  async encode(texts: string[], _role: Role): Promise<Encoded> {
    return this.forward(this.tokenize(texts), { training: false });
  }

  dispose(): void {
    this.backbone.dispose();
  }

  save(dir: string): void {
    writeBackbone(dir, this.backbone, { mlm: true, tokenizer: this.text });
    this.text.save(dir);
  }
}

export async function buildModernBertModel(config: TrainConfig): Promise<TrainModel> {
  const m = config.model as ModernBertSpec;
  if (config.phase === 'mlm') {
    if (m.from) return new MaskedLmModel(loadBackbone(m.from), m.tokenizer ? TextTokenizer.fromDir(m.tokenizer) : TextTokenizer.fromDir(m.from), m.documentLength);
    const text = textTokenizer(m);
    const cfg = presetOrThrow(m);
    return new MaskedLmModel(ModernBert.random(withTokenizerIds({ ...cfg, vocabSize: Math.max(cfg.vocabSize, text.size) }, text), m.initSeed), text, m.documentLength);
  }
  const lengths = { query_length: m.queryLength, document_length: m.documentLength };
  if (config.head === 'colbert') {
    if (m.from) return ColbertModel.fromPretrained(m.from, { embeddingSize: m.dim, seed: m.initSeed, overrides: lengths });
    return ColbertModel.create(presetOrThrow(m), textTokenizer(m), { embeddingSize: m.dim, seed: m.initSeed, colbert: lengths });
  }
  if (m.from) return DenseModel.fromPretrained(m.from, { maxSeqLength: m.documentLength });
  return DenseModel.create(presetOrThrow(m), textTokenizer(m), { seed: m.initSeed, maxSeqLength: m.documentLength });
}

function presetOrThrow(m: ModernBertSpec): ReturnType<typeof presetConfig> & object {
  const cfg = presetConfig(m.preset!);
  if (!cfg) throw new UserError(`model.preset: unknown preset "${m.preset}" (tiny, small, base)`);
  const d = m.dropout;
  return { ...cfg, ...(m.vocabSize ? { vocabSize: m.vocabSize } : {}), ...(d !== undefined ? { embeddingDropout: d, attentionDropout: d, mlpDropout: d } : {}) };
}
