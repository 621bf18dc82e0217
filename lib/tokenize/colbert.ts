/**
 * ColBERT tokenization exactly as PyLate does it (pylate/models/colbert.py `tokenize`, `encode`,
 * `skiplist_mask`; utils/collator.py), on top of a `TextTokenizer`:
 *
 *   1. Prompt: the role's prompt is prepended to the raw text (`prompt + text`), so it counts against the
 *      length budget (ColBERT-Zero's "+Length" setting, lib/paper/prompts.ts, adds 7 to both lengths).
 *   2. sentence-transformers strips the text (Python `str.strip`), lowercases it if configured, and
 *      tokenizes with truncation to `length - 1` when a marker is used (the marker takes one slot),
 *      keeping [SEP]: [CLS] tokens… [SEP].
 *   3. Padding: queries with expansion are padded to `query_length - 1` (PyLate pads with the [MASK] id:
 *      it sets pad_token_id = mask_token_id, else eos); with `padToMaxLength` (PyLate's `pad=True`, which
 *      its training collator uses) every sequence is; otherwise to the longest in the batch.
 *   4. The marker id ([Q] / [D], added to the vocabulary as ordinary tokens) is inserted after the first
 *      token: [CLS] [Q] tokens… [SEP] [MASK]…, attention 1.
 *   5. Queries with `attend_to_expansion_tokens`: attention set to 1 everywhere.
 *   6. Scoring mask: queries with expansion → every position (expansion [MASK]s are scored even when not
 *      attended); queries without → the attention mask; documents → attention AND not a skiplist id.
 *      With `expansion_tokens: "zeroed"` (Flash Attention's behaviour, the paper's models) no position with
 *      attention 0 is scored: queries → the attention mask, so unattended [MASK]s add nothing, and the
 *      models zero their embeddings (`unattendedZeroed`).
 *
 *   const tok = new ColbertTokenizer(TextTokenizer.fromDir(dir), readColbertConfig(file));
 *   const batch = tok.tokenize(['what is colbert?'], 'query');   // TokenizedBatch, length 32
 */
import { UserError } from '../util/errors';
import type { Role, TokenizedBatch } from './types';
import type { ColbertTokenizerConfig } from './colbert-config';
import { pyStrip } from './pystr';
import type { TextTokenizer } from './text-tokenizer';

export interface TokenizeOptions {
  /** Pad every sequence to the role's full length (PyLate `pad=True`). */
  padToMaxLength?: boolean;
  /** Prompt for this call, overriding the role's; null = none. */
  prompt?: string | null;
}

/**
 * What a position of a tokenized text is (`ColbertTokenizer.explain`): the tokenizer's own special
 * tokens ([CLS], [SEP]), the [Q]/[D] marker, a token of the prompt, a token of the text, a query's [MASK]
 * expansion, or batch padding. A prompt token is one of the longest run of leading text tokens equal to
 * the prompt tokenized alone (a token straddling the prompt's end counts as text).
 */
export type TokenKind = 'special' | 'marker' | 'prompt' | 'text' | 'expansion' | 'padding';

/** One position of a tokenized text, for display (`ColbertTokenizer.explain`). */
export interface TokenView {
  id: number;
  token: string;
  kind: TokenKind;
  attended: boolean;
  scored: boolean;
  /** A document token left out of scoring because it is on the skiplist (punctuation). */
  skipped: boolean;
}

export interface ColbertTokenizerOptions {
  /**
   * Prepend prompts (default true). The prompt of a role is `prompts[role]` when non-empty, else
   * `prompts[default_prompt_name]` (sentence-transformers' default prompt); false disables both.
   */
  usePrompts?: boolean;
  /** sentence-transformers' `do_lower_case` (sentence_bert_config.json): lowercase before tokenizing. */
  lowercase?: boolean;
}

/** Length of the longest row (a loop: spreading a huge batch into Math.max overflows the stack). */
export function longest(rows: number[][]): number {
  let m = 0;
  for (const r of rows) if (r.length > m) m = r.length;
  return m;
}

/** Pads rows of ids to `length` and builds the batch arrays (attention 1 on real tokens). */
export function packRows(rows: number[][], length: number, padId: number): TokenizedBatch {
  const n = rows.length;
  const inputIds = new Int32Array(n * length).fill(padId);
  const attentionMask = new Int32Array(n * length);
  rows.forEach((ids, i) => {
    inputIds.set(ids, i * length);
    attentionMask.fill(1, i * length, i * length + ids.length);
  });
  return { n, length, inputIds, attentionMask, scoringMask: attentionMask.slice() };
}

/** The prompt a role gets under sentence-transformers' rules (see ColbertTokenizerOptions.usePrompts). */
export function rolePrompt(prompts: Record<string, string>, defaultName: string | null, role: Role): string {
  if (prompts[role]) return prompts[role];
  if (defaultName !== null && prompts[defaultName] !== undefined) return prompts[defaultName];
  return '';
}

export class ColbertTokenizer {
  readonly text: TextTokenizer;
  readonly config: ColbertTokenizerConfig;
  readonly usePrompts: boolean;
  readonly lowercase: boolean;
  /** Marker ids, null when the prefix is "" (no marker). */
  readonly queryPrefixId: number | null;
  readonly documentPrefixId: number | null;
  /** Id PyLate pads with (query expansion and batch padding): [MASK], else EOS, else PAD. */
  readonly expansionId: number;
  /** Ids of `skiplist_words` (Python convert_tokens_to_ids: unknown words map to [UNK]). */
  readonly skiplistIds: ReadonlySet<number>;

  /**
   * Adds the markers to `text`'s vocabulary (like PyLate's `tokenizer.add_tokens`; a tokenizer saved by
   * PyLate already has them, so their ids are kept). The caller's model must have `text.size` embedding rows.
   */
  constructor(text: TextTokenizer, config: ColbertTokenizerConfig, opts: ColbertTokenizerOptions = {}) {
    this.text = text;
    this.config = config;
    this.usePrompts = opts.usePrompts ?? true;
    this.lowercase = opts.lowercase ?? false;
    const markers = [config.query_prefix, config.document_prefix].filter((p) => p !== '');
    text.addTokens(markers);
    this.queryPrefixId = config.query_prefix === '' ? null : text.tokenToId(config.query_prefix)!;
    this.documentPrefixId = config.document_prefix === '' ? null : text.tokenToId(config.document_prefix)!;
    const pad = text.maskId ?? text.eosId ?? text.padId;
    if (pad === null) throw new UserError(`${text.source}: tokenizer has no [MASK], EOS or PAD token to pad queries with`);
    this.expansionId = pad;
    const ids = new Set<number>();
    for (const w of config.skiplist_words) {
      const id = text.convertTokenToId(w);
      if (id !== null) ids.add(id);
    }
    this.skiplistIds = ids;
    if (text.numSpecialTokens + (this.queryPrefixId === null ? 0 : 1) >= config.query_length) {
      throw new UserError(`query_length ${config.query_length} leaves no room for text`);
    }
    if (text.numSpecialTokens + (this.documentPrefixId === null ? 0 : 1) >= config.document_length) {
      throw new UserError(`document_length ${config.document_length} leaves no room for text`);
    }
  }

  /** Size the embedding matrix needs (Python `len(tokenizer)` after the markers were added). */
  get vocabSize(): number {
    return this.text.size;
  }

  promptFor(role: Role): string {
    return this.usePrompts ? rolePrompt(this.config.prompts, this.config.default_prompt_name, role) : '';
  }

  /** Tokenizes texts for a role; see the file header for the exact steps. */
  tokenize(texts: string[], role: Role, opts: TokenizeOptions = {}): TokenizedBatch {
    const isQuery = role === 'query';
    const cfg = this.config;
    const prompt = opts.prompt === undefined ? this.promptFor(role) : opts.prompt ?? '';
    const maxLength = isQuery ? cfg.query_length : cfg.document_length;
    const prefixId = isQuery ? this.queryPrefixId : this.documentPrefixId;
    const seqMax = prefixId === null ? maxLength : maxLength - 1;

    const rows = texts.map((t) => {
      let s = pyStrip(prompt + t);
      if (this.lowercase) s = s.toLowerCase();
      return this.text.encode(s, { maxLength: seqMax });
    });
    const padFull = opts.padToMaxLength || (isQuery && cfg.do_query_expansion);
    const width = padFull ? seqMax : longest(rows);
    let batch = packRows(rows, width, this.expansionId);
    if (prefixId !== null) batch = insertAfterFirst(batch, prefixId);

    const { n, length, inputIds, attentionMask, scoringMask } = batch;
    if (isQuery && cfg.attend_to_expansion_tokens) attentionMask.fill(1);
    if (isQuery) {
      if (cfg.do_query_expansion && cfg.expansion_tokens === 'scored') scoringMask.fill(1);
      else scoringMask.set(attentionMask);
    } else {
      for (let i = 0; i < n * length; i++) scoringMask[i] = attentionMask[i] && !this.skiplistIds.has(inputIds[i]) ? 1 : 0;
    }
    return batch;
  }

  /**
   * The positions of one text as the model sees them: token strings, what each is (TokenKind), attention
   * and scoring flags. The same positions, in the same order, as `tokenize([text], role, opts)`.
   */
  explain(text: string, role: Role, opts: TokenizeOptions = {}): TokenView[] {
    const b = this.tokenize([text], role, opts);
    const isQuery = role === 'query';
    const prompt = opts.prompt === undefined ? this.promptFor(role) : opts.prompt ?? '';
    const prefixId = isQuery ? this.queryPrefixId : this.documentPrefixId;
    const maxLength = isQuery ? this.config.query_length : this.config.document_length;
    let s = pyStrip(prompt + text);
    if (this.lowercase) s = s.toLowerCase();
    // The row before the marker and the padding: prefix specials, the text's tokens, suffix specials.
    const row = this.text.encode(s, { maxLength: prefixId === null ? maxLength : maxLength - 1 });
    const probe = this.text.addSpecialTokens([-1]);
    const before = probe.indexOf(-1);
    const after = probe.length - before - 1;
    const content = row.slice(before, row.length - after);
    let p = pyStrip(prompt);
    if (this.lowercase) p = p.toLowerCase();
    const promptIds = p === '' ? [] : this.text.encodeText(p);
    let nPrompt = 0;
    while (nPrompt < promptIds.length && nPrompt < content.length && promptIds[nPrompt] === content[nPrompt]) nPrompt++;
    // Kinds of the row's positions, then the marker inserted after the first position (PyLate).
    const kinds: TokenKind[] = row.map((_, i) => (i < before || i >= row.length - after ? 'special' : i - before < nPrompt ? 'prompt' : 'text'));
    if (prefixId !== null) kinds.splice(Math.min(1, kinds.length), 0, 'marker');
    const filler: TokenKind = isQuery && this.config.do_query_expansion ? 'expansion' : 'padding';
    return Array.from(b.inputIds, (id, i) => {
      const kind = kinds[i] ?? filler;
      const scored = b.scoringMask[i] === 1;
      return {
        id,
        token: this.text.idToToken(id) ?? `<${id}>`,
        kind,
        attended: b.attentionMask[i] === 1,
        scored,
        skipped: !isQuery && !scored && b.attentionMask[i] === 1 && this.skiplistIds.has(id),
      };
    });
  }
}

/**
 * With `expansion_tokens: "zeroed"`, the per-position factor [n × length] that zeroes the embeddings of every
 * position whose attention mask is 0 (what Flash Attention's unpadded ModernBERT returns there); null for
 * "scored" (every embedding kept as computed).
 */
export function unattendedZeroed(config: Pick<ColbertTokenizerConfig, 'expansion_tokens'>, batch: Pick<TokenizedBatch, 'attentionMask'>): Float32Array | null {
  return config.expansion_tokens === 'zeroed' ? Float32Array.from(batch.attentionMask) : null;
}

/** PyLate's insert_prefix_token: a column with `id` (attention 1) after the first token of every row. */
function insertAfterFirst(b: TokenizedBatch, id: number): TokenizedBatch {
  if (b.length === 0) {
    // Empty rows (a tokenizer without special tokens, empty text): torch.cat leaves just the marker.
    const ones = new Int32Array(b.n).fill(1);
    return { n: b.n, length: 1, inputIds: new Int32Array(b.n).fill(id), attentionMask: ones, scoringMask: ones.slice() };
  }
  const L = b.length + 1;
  const inputIds = new Int32Array(b.n * L);
  const attentionMask = new Int32Array(b.n * L);
  for (let i = 0; i < b.n; i++) {
    const src = i * b.length;
    const dst = i * L;
    inputIds[dst] = b.inputIds[src];
    attentionMask[dst] = b.attentionMask[src];
    inputIds[dst + 1] = id;
    attentionMask[dst + 1] = 1;
    inputIds.set(b.inputIds.subarray(src + 1, src + b.length), dst + 2);
    attentionMask.set(b.attentionMask.subarray(src + 1, src + b.length), dst + 2);
  }
  return { n: b.n, length: L, inputIds, attentionMask, scoringMask: attentionMask.slice() };
}
