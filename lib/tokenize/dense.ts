/**
 * Dense (single-vector) tokenization as sentence-transformers does it: `prompt + text`, Python strip,
 * optional lowercase, truncation to `max_seq_length` (special tokens included, [SEP] kept), padding with
 * the tokenizer's PAD id to the longest row (or to `max_seq_length` with `padToMaxLength`). No markers.
 * The scoring mask equals the attention mask (it selects the tokens mean pooling averages).
 *
 *   const dense = new DenseTokenizer(TextTokenizer.fromDir(dir), { maxSeqLength: 512, prompts: { query: 'search_query: ', document: 'search_document: ' } });
 *   dense.tokenize(['a query'], 'query');   // [CLS] search_query: a query [SEP]
 */
import { UserError } from '../util/errors';
import type { Role, TokenizedBatch } from './types';
import { longest, packRows, rolePrompt, type TokenizeOptions } from './colbert';
import { pyStrip } from './pystr';
import type { TextTokenizer } from './text-tokenizer';

export interface DenseTokenizerOptions {
  /** sentence_bert_config.json `max_seq_length`. */
  maxSeqLength: number;
  /** Prompts by name (sentence-transformers' `prompts`); default none. */
  prompts?: Record<string, string>;
  defaultPromptName?: string | null;
  /** Prepend prompts (default true; false is the "no prompts" ablation). */
  usePrompts?: boolean;
  /** sentence_bert_config.json `do_lower_case`. */
  lowercase?: boolean;
}

export class DenseTokenizer {
  readonly text: TextTokenizer;
  readonly opts: Required<DenseTokenizerOptions>;
  readonly padId: number;

  constructor(text: TextTokenizer, opts: DenseTokenizerOptions) {
    if (!Number.isInteger(opts.maxSeqLength) || opts.maxSeqLength <= text.numSpecialTokens) {
      throw new UserError(`max_seq_length ${opts.maxSeqLength} leaves no room for text`);
    }
    this.text = text;
    this.opts = {
      maxSeqLength: opts.maxSeqLength,
      prompts: opts.prompts ?? {},
      defaultPromptName: opts.defaultPromptName ?? null,
      usePrompts: opts.usePrompts ?? true,
      lowercase: opts.lowercase ?? false,
    };
    const pad = text.padId ?? text.eosId;
    if (pad === null) throw new UserError(`${text.source}: tokenizer has no PAD or EOS token`);
    this.padId = pad;
  }

  promptFor(role: Role): string {
    return this.opts.usePrompts ? rolePrompt(this.opts.prompts, this.opts.defaultPromptName, role) : '';
  }

  tokenize(texts: string[], role: Role, opts: TokenizeOptions = {}): TokenizedBatch {
    const prompt = opts.prompt === undefined ? this.promptFor(role) : opts.prompt ?? '';
    const rows = texts.map((t) => {
      let s = pyStrip(prompt + t);
      if (this.opts.lowercase) s = s.toLowerCase();
      return this.text.encode(s, { maxLength: this.opts.maxSeqLength });
    });
    const width = opts.padToMaxLength ? this.opts.maxSeqLength : longest(rows);
    return packRows(rows, width, this.padId);
  }
}
