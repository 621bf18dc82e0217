/**
 * The paper's prompts and lengths, as overrides the pipelines (and notebooks) apply to a tokenizer config:
 * ColBERT-Zero's prompts, its base query/document lengths per phase, and the "+Length" switch of Tables 3–5.
 * Tokenization itself (lib/tokenize) knows nothing of the paper; it takes whatever prompts and lengths
 * these give it.
 */
import type { ColbertTokenizerConfig } from '../tokenize/colbert-config';
import type { TextTokenizer } from '../tokenize/text-tokenizer';
import { pyStrip } from '../tokenize/pystr';

/** ColBERT-Zero's prompts (from Nomic's pre-training). Its scripts add 7 to both lengths when they are used (PROMPT_EXTRA_LENGTH). */
export const COLBERT_ZERO_PROMPTS: Readonly<Record<string, string>> = Object.freeze({
  query: 'search_query: ',
  document: 'search_document: ',
});

/**
 * ColBERT-Zero's "+Length" setting: its training scripts add this to query_length and document_length
 * (32 → 39, 512 → 519) to make room for the prompts. (With the ModernBERT tokenizer each prompt itself
 * is 4 tokens: `search`, `_`, `query`, `:`.)
 */
export const PROMPT_EXTRA_LENGTH = 7;

export type ColbertZeroPhase = 'unsupervised' | 'supervised' | 'distillation';

/** Base lengths of ColBERT-Zero's training scripts (before the +7 of the "+Length" setting). */
export const COLBERT_ZERO_LENGTHS: Readonly<Record<ColbertZeroPhase, { query_length: number; document_length: number }>> = Object.freeze({
  unsupervised: { query_length: 32, document_length: 180 },
  supervised: { query_length: 32, document_length: 512 },
  distillation: { query_length: 32, document_length: 512 },
});

/**
 * The config overrides of a ColBERT-Zero training phase with the paper's two switches (Tables 1, 4):
 * `prompts` stores the search_query/search_document prompts (else none), `extraLength` adds
 * PROMPT_EXTRA_LENGTH to both lengths. Both on gives the paper's main setting (39 / 187 or 519).
 */
export function colbertZeroOverrides(phase: ColbertZeroPhase, opts: { prompts: boolean; extraLength: boolean }): Pick<ColbertTokenizerConfig, 'query_length' | 'document_length' | 'prompts'> {
  const base = COLBERT_ZERO_LENGTHS[phase];
  const extra = opts.extraLength ? PROMPT_EXTRA_LENGTH : 0;
  return {
    query_length: base.query_length + extra,
    document_length: base.document_length + extra,
    prompts: opts.prompts ? { ...COLBERT_ZERO_PROMPTS } : { query: '', document: '' },
  };
}

/** One prompt as a tokenizer splits it. */
export interface PromptTokens {
  role: string;
  prompt: string;
  /** The prompt's tokens (tokenizer spelling, e.g. `search`, `_`, `query`, `:`) and ids, special tokens excluded. */
  tokens: string[];
  ids: number[];
}

/**
 * How many tokens each prompt really takes with `tokenizer` (the prompt alone, stripped as
 * sentence-transformers strips the text it is prepended to, no special tokens): with ModernBERT's tokenizer
 * `search_query: ` and `search_document: ` are 4 tokens each, where the paper's "+Length" adds 7.
 */
export function promptTokens(tokenizer: TextTokenizer, prompts: Readonly<Record<string, string>> = COLBERT_ZERO_PROMPTS): PromptTokens[] {
  return Object.entries(prompts).map(([role, prompt]) => {
    const ids = tokenizer.encodeText(pyStrip(prompt));
    return { role, prompt, tokens: ids.map((id) => tokenizer.idToToken(id) ?? `<${id}>`), ids };
  });
}
