/**
 * ModernBERT with its masked-LM head (`head.dense`, `head.norm`, tied decoder + `decoder.bias`), saved as
 * transformers' ModernBertForMaskedLM: the model of the MLM phase that builds a backbone from scratch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoded, HeadKind } from '../scores/encoded';
import type { Role, TokenizedBatch } from '../tokenize/types';
import type { TrainableEncoder } from './encoder';
import { UserError } from '../util/errors';
import { ModernBert, type ForwardOptions } from './modernbert';
import { writeBackbone } from './backbone-io';
import { TextTokenizer } from '../tokenize/text-tokenizer';
import { packRows } from '../tokenize/colbert';
import { pool } from './heads';

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
