/**
 * What a loaded model is, in a few plain fields: head kind, output size, the backbone's shape, and the
 * tokenization settings that change what is encoded (ColBERT's markers, prompts and lengths; the dense
 * model's pooling and prompts). For notebooks and `inspect`-style printing.
 */
import { ColbertModel } from './colbert';
import { DenseModel } from './dense';

export interface EncoderDescription {
  kind: 'colbert' | 'dense';
  /** Output vector size (ColBERT: per token, after the projection; dense: the pooled vector). */
  dim: number;
  layers: number;
  hidden: number;
  heads: number;
  vocabSize: number;
  parameters: number;
  /** ColBERT: the query / document marker prefixes. */
  queryPrefix?: string;
  documentPrefix?: string;
  /** ColBERT: query length (padded with [MASK] when expansion is on) and document length, in tokens. */
  queryLength?: number;
  documentLength?: number;
  queryExpansion?: boolean;
  /** ColBERT: what unattended expansion tokens give — 'scored' (eager attention) or 'zeroed' (Flash Attention's zeros, the paper's). */
  expansionTokens?: 'scored' | 'zeroed';
  /** ColBERT: words whose tokens are dropped from documents at scoring. */
  skiplistWords?: number;
  /** Named prompts (sentence-transformers / PyLate's `prompts`) and the default one. */
  prompts: Record<string, string>;
  defaultPrompt: string | null;
  /** Dense: how token vectors become one vector, and whether it is L2-normalized. */
  pooling?: string;
  normalize?: boolean;
  maxSeqLength: number;
}

/** Describes a model returned by `loadEncoder` (or built in code). */
export function describeEncoder(model: ColbertModel | DenseModel): EncoderDescription {
  const c = model.backbone.config;
  const parameters = model.trainableVariables.reduce((s, v) => s + v.size, 0);
  const common = { dim: model.dim, layers: c.numLayers, hidden: c.hiddenSize, heads: c.numHeads, vocabSize: c.vocabSize, parameters };
  if (model instanceof ColbertModel) {
    const t = model.tokenizer.config;
    return {
      kind: 'colbert',
      ...common,
      queryPrefix: t.query_prefix,
      documentPrefix: t.document_prefix,
      queryLength: t.query_length,
      documentLength: t.document_length,
      queryExpansion: t.do_query_expansion,
      expansionTokens: t.expansion_tokens,
      skiplistWords: t.skiplist_words.length,
      prompts: { ...t.prompts },
      defaultPrompt: t.default_prompt_name,
      maxSeqLength: model.maxSeqLength,
    };
  }
  const s = model.settings;
  return { kind: 'dense', ...common, prompts: { ...s.prompts }, defaultPrompt: s.defaultPromptName, pooling: s.pooling, normalize: s.normalize, maxSeqLength: s.maxSeqLength };
}
