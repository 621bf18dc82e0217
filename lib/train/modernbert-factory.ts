/**
 * ModernBERT models for training runs: a ColBERT or dense encoder (lib/models) loaded from a checkpoint or
 * drawn at random from a preset architecture, or the masked-LM model for the MLM phase.
 */
import type { TrainableEncoder } from '../models/encoder';
import { UserError } from '../util/errors';
import type { TrainConfig } from './config';
import { ColbertModel } from '../models/colbert';
import { DenseModel } from '../models/dense';
import { MaskedLmModel } from '../models/masked-lm';
import { ModernBert } from '../models/modernbert';
import { loadBackbone } from '../models/backbone-io';
import { presetConfig, withTokenizerIds } from '../models/config';
import { TextTokenizer } from '../tokenize/text-tokenizer';
import { tinyTokenizerFiles } from '../tokenize/tiny';

type ModernBertSpec = Extract<TrainConfig['model'], { type: 'modernbert' }>;

/** Random presets without a tokenizer use the built-in tiny WordPiece vocabulary (lib/tokenize/tiny). */
function textTokenizer(m: ModernBertSpec): TextTokenizer {
  if (m.tokenizer) return TextTokenizer.fromDir(m.tokenizer);
  return new TextTokenizer(tinyTokenizerFiles({ vocabSize: m.vocabSize }).files, 'built-in tiny tokenizer');
}

/** A ColBERT or dense encoder (or, for the MLM phase, the backbone with its MLM head), loaded or random. */
export async function buildModernBertModel(config: TrainConfig): Promise<TrainableEncoder & { save?(dir: string): void | Promise<void> }> {
  const m = config.model as ModernBertSpec;
  if (config.phase === 'mlm') {
    if (m.from) return new MaskedLmModel(loadBackbone(m.from), m.tokenizer ? TextTokenizer.fromDir(m.tokenizer) : TextTokenizer.fromDir(m.from), m.documentLength);
    const text = textTokenizer(m);
    const cfg = presetOrThrow(m);
    return new MaskedLmModel(ModernBert.random(withTokenizerIds({ ...cfg, vocabSize: Math.max(cfg.vocabSize, text.size) }, text), m.initSeed), text, m.documentLength);
  }
  const lengths = { query_length: m.queryLength, document_length: m.documentLength, ...(m.prompts ? { prompts: { ...m.prompts } } : {}), ...(m.expansionTokens ? { expansion_tokens: m.expansionTokens } : {}) };
  if (m.expansionTokens && config.head !== 'colbert') throw new UserError('model.expansionTokens: a ColBERT setting (the head is dense)');
  const densePrompts = m.prompts ? { prompts: { ...m.prompts } } : {};
  if (config.head === 'colbert') {
    if (m.from) return ColbertModel.fromPretrained(m.from, { embeddingSize: m.dim, seed: m.initSeed, overrides: lengths });
    return ColbertModel.create(presetOrThrow(m), textTokenizer(m), { embeddingSize: m.dim, seed: m.initSeed, colbert: lengths });
  }
  if (m.from) return DenseModel.fromPretrained(m.from, { maxSeqLength: m.documentLength, ...densePrompts });
  return DenseModel.create(presetOrThrow(m), textTokenizer(m), { seed: m.initSeed, maxSeqLength: m.documentLength, ...densePrompts });
}

function presetOrThrow(m: ModernBertSpec): ReturnType<typeof presetConfig> & object {
  const cfg = presetConfig(m.preset!);
  if (!cfg) throw new UserError(`model.preset: unknown preset "${m.preset}" (tiny, small, base)`);
  const d = m.dropout;
  return { ...cfg, ...(m.vocabSize ? { vocabSize: m.vocabSize } : {}), ...(d !== undefined ? { embeddingDropout: d, attentionDropout: d, mlpDropout: d } : {}) };
}

