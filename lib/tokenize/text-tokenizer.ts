/**
 * A Hugging Face `tokenizer.json` tokenizer, loaded from local files only, with Python `transformers`
 * semantics where they matter for retrieval:
 *
 *   - `encode(text, { maxLength })` truncates the text's tokens BEFORE adding the special tokens, so a
 *     truncated sequence still ends with [SEP] (Python's `truncation=True`; transformers.js's own
 *     truncation cuts the finished sequence instead, dropping [SEP]).
 *   - `addTokens` behaves like Python `tokenizer.add_tokens([...])`: a token already in the vocabulary
 *     keeps its id, a new one gets the next id (`size`, i.e. Python `len(tokenizer)`), and text containing
 *     it is split on it.
 *   - `convertTokenToId` falls back to the unknown token's id, like `convert_tokens_to_ids`.
 *
 * The tokenizer is built straight from the JSON objects with `@huggingface/transformers`'s
 * `PreTrainedTokenizer`, so nothing is fetched and no cache is written.
 *
 *   const tok = TextTokenizer.fromDir('path/to/model');       // tokenizer.json + tokenizer_config.json
 *   tok.encode('Hello world', { maxLength: 8 });             // [CLS] ... [SEP]
 *   tok.addTokens(['[Q] ', '[D] ']);                          // PyLate's markers
 *   tok.save('out/');                                         // tokenizer.json, tokenizer_config.json, special_tokens_map.json
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { env, PreTrainedTokenizer } from '@huggingface/transformers';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic';
import { readJsonFile } from '../util/json';

// This library never fetches models; make sure no code path of the package can, or can write its cache.
env.allowRemoteModels = false;
env.useFSCache = false;
env.useWasmCache = false;

const TOKENIZER_FILE = 'tokenizer.json';
const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
const SPECIAL_TOKENS_MAP_FILE = 'special_tokens_map.json';

/** The JSON files that define a tokenizer (`specialTokensMap` is optional, as on the Hub). */
export interface TokenizerFiles {
  tokenizerJson: Record<string, any>;
  tokenizerConfig: Record<string, any>;
  specialTokensMap?: Record<string, any>;
}

export type SpecialName = 'cls_token' | 'sep_token' | 'pad_token' | 'mask_token' | 'unk_token' | 'bos_token' | 'eos_token';
const SPECIAL_NAMES: SpecialName[] = ['cls_token', 'sep_token', 'pad_token', 'mask_token', 'unk_token', 'bos_token', 'eos_token'];
/** BertTokenizer's defaults, used (as Python does) when the configs name no special tokens. */
const BERT_DEFAULTS: Partial<Record<SpecialName, string>> = {
  cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', mask_token: '[MASK]', unk_token: '[UNK]',
};

function readJson(file: string): Record<string, any> {
  return readJsonFile<Record<string, any>>(file);
}

/** A special token given as a string or as `{"content": ..., "__type": "AddedToken"}`. */
function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as any).content === 'string') return (v as any).content;
  return null;
}

/** Token ids the post-processor puts before and after a single sequence. */
function specialTemplate(json: Record<string, any>, where: string): { prefix: number[]; suffix: number[] } {
  let pp = json.post_processor;
  if (pp && pp.type === 'Sequence') pp = (pp.processors ?? []).find((p: any) => p.type !== 'ByteLevel') ?? null;
  if (!pp || pp.type === 'ByteLevel') return { prefix: [], suffix: [] };
  if (pp.type === 'BertProcessing' || pp.type === 'RobertaProcessing') {
    return { prefix: [pp.cls[1]], suffix: [pp.sep[1]] };
  }
  if (pp.type === 'TemplateProcessing') {
    const prefix: number[] = [];
    const suffix: number[] = [];
    let seen = false;
    for (const piece of pp.single as any[]) {
      if (piece.Sequence) {
        seen = true;
        continue;
      }
      const name = piece.SpecialToken?.id;
      const ids: number[] | undefined = pp.special_tokens?.[name]?.ids;
      if (!ids) throw new UserError(`${where}: post_processor template names unknown special token ${JSON.stringify(name)}`);
      (seen ? suffix : prefix).push(...ids);
    }
    return { prefix, suffix };
  }
  throw new UserError(`${where}: unsupported post_processor type ${JSON.stringify(pp.type)}`);
}

export class TextTokenizer {
  private files: TokenizerFiles;
  private inner!: PreTrainedTokenizer;
  private template!: { prefix: number[]; suffix: number[] };
  private specials: Partial<Record<SpecialName, string>> = {};
  private cachedSize = -1;
  /** Where the tokenizer came from, for error messages. */
  readonly source: string;

  constructor(files: TokenizerFiles, source = '<tokenizer>') {
    // Deep copies: addTokens edits these, and callers' objects must stay untouched.
    this.files = structuredClone(files);
    this.source = source;
    this.rebuild();
  }

  /** Loads `tokenizer.json`, `tokenizer_config.json` and (if present) `special_tokens_map.json` from `dir`. */
  static fromDir(dir: string): TextTokenizer {
    const tj = path.join(dir, TOKENIZER_FILE);
    if (!fs.existsSync(tj)) throw new UserError(`${tj}: not found (a tokenizer.json is required; slow vocab-only tokenizers are not supported)`);
    const cfgPath = path.join(dir, TOKENIZER_CONFIG_FILE);
    const mapPath = path.join(dir, SPECIAL_TOKENS_MAP_FILE);
    return new TextTokenizer(
      {
        tokenizerJson: readJson(tj),
        tokenizerConfig: fs.existsSync(cfgPath) ? readJson(cfgPath) : {},
        specialTokensMap: fs.existsSync(mapPath) ? readJson(mapPath) : undefined,
      },
      dir,
    );
  }

  private rebuild(): void {
    this.cachedSize = -1;
    const { tokenizerJson, tokenizerConfig, specialTokensMap } = this.files;
    if (!tokenizerJson.model || typeof tokenizerJson.model !== 'object') {
      throw new UserError(`${this.source}/${TOKENIZER_FILE}: no "model" section`);
    }
    const vocabHas = (t: string) => this.lookup(t) !== undefined;
    const merged: Record<string, any> = { ...(specialTokensMap ?? {}), ...tokenizerConfig };
    this.specials = {};
    for (const name of SPECIAL_NAMES) {
      const c = tokenContent(merged[name]);
      if (c !== null) this.specials[name] = c;
    }
    const namesNone = SPECIAL_NAMES.every((n) => this.specials[n] === undefined);
    if (namesNone) {
      for (const [n, t] of Object.entries(BERT_DEFAULTS)) if (vocabHas(t!)) this.specials[n as SpecialName] = t;
    }
    const cfg: Record<string, any> = { ...tokenizerConfig, ...this.specials };
    this.inner = new PreTrainedTokenizer(tokenizerJson, cfg);
    if (this.inner.padding_side !== 'right') {
      throw new UserError(`${this.source}: padding_side ${JSON.stringify(this.inner.padding_side)} is not supported (right only)`);
    }
    this.template = specialTemplate(tokenizerJson, `${this.source}/${TOKENIZER_FILE}`);
  }

  /** Token → id from the raw JSON (model vocab, then added tokens); works before `inner` exists. */
  private lookup(token: string): number | undefined {
    const { tokenizerJson } = this.files;
    for (const a of tokenizerJson.added_tokens ?? []) if (a.content === token) return a.id;
    const vocab = tokenizerJson.model.vocab;
    if (Array.isArray(vocab)) {
      // Unigram: [[piece, score], ...]
      const i = vocab.findIndex((e: any) => e[0] === token);
      return i >= 0 ? i : undefined;
    }
    const id = vocab?.[token];
    return typeof id === 'number' ? id : undefined;
  }

  /** Python `len(tokenizer)`: one more than the largest id in the vocabulary or the added tokens. */
  get size(): number {
    if (this.cachedSize >= 0) return this.cachedSize;
    const { tokenizerJson } = this.files;
    let max = -1;
    const vocab = tokenizerJson.model.vocab;
    if (Array.isArray(vocab)) max = vocab.length - 1;
    else for (const k in vocab) if (vocab[k] > max) max = vocab[k];
    for (const a of tokenizerJson.added_tokens ?? []) if (a.id > max) max = a.id;
    this.cachedSize = max + 1;
    return this.cachedSize;
  }

  /** Ids of the text's tokens, without special tokens. */
  encodeText(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: false });
  }

  /** Special tokens added around one sequence ([CLS] ... [SEP] → 2). */
  get numSpecialTokens(): number {
    return this.template.prefix.length + this.template.suffix.length;
  }

  /** Adds the post-processor's special tokens around `ids`. */
  addSpecialTokens(ids: number[]): number[] {
    return [...this.template.prefix, ...ids, ...this.template.suffix];
  }

  /**
   * Python `tokenizer(text, truncation=True, max_length=maxLength)["input_ids"]`: the text's tokens are
   * cut to `maxLength - numSpecialTokens`, then the special tokens are added.
   */
  encode(text: string, opts: { maxLength?: number; addSpecialTokens?: boolean } = {}): number[] {
    const add = opts.addSpecialTokens ?? true;
    let ids = this.encodeText(text);
    if (opts.maxLength !== undefined) {
      const room = opts.maxLength - (add ? this.numSpecialTokens : 0);
      if (room < 0) throw new UserError(`${this.source}: max length ${opts.maxLength} leaves no room for the special tokens`);
      if (ids.length > room) ids = ids.slice(0, room);
    }
    return add ? this.addSpecialTokens(ids) : ids;
  }

  /** Token strings (as the model sees them, e.g. `Ġworld`) of the text, without special tokens. */
  tokenize(text: string): string[] {
    return this.inner.tokenize(text, { add_special_tokens: false });
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.inner.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** Exact vocabulary lookup (added tokens included); undefined when absent. */
  tokenToId(token: string): number | undefined {
    return this.inner._tokenizer.token_to_id(token) ?? undefined;
  }

  /** Python `convert_tokens_to_ids(token)`: the unknown token's id when absent, null if there is none. */
  convertTokenToId(token: string): number | null {
    return this.tokenToId(token) ?? this.unkId;
  }

  idToToken(id: number): string | undefined {
    return this.inner._tokenizer.id_to_token(id) ?? undefined;
  }

  /** The special token string of a role ('mask_token' → '[MASK]'), or null. */
  specialToken(name: SpecialName): string | null {
    return this.specials[name] ?? null;
  }

  private specialId(name: SpecialName): number | null {
    const t = this.specials[name];
    return t === undefined ? null : this.tokenToId(t) ?? null;
  }

  get clsId(): number | null { return this.specialId('cls_token'); }
  get sepId(): number | null { return this.specialId('sep_token'); }
  get padId(): number | null { return this.specialId('pad_token'); }
  get maskId(): number | null { return this.specialId('mask_token'); }
  get unkId(): number | null { return this.specialId('unk_token'); }
  get bosId(): number | null { return this.specialId('bos_token'); }
  get eosId(): number | null { return this.specialId('eos_token'); }

  /** `model_max_length` of the tokenizer config; Infinity when unset or the library's huge sentinel. */
  get modelMaxLength(): number {
    const m = this.files.tokenizerConfig.model_max_length;
    return typeof m === 'number' && m < 1e9 ? m : Infinity;
  }

  /**
   * Python `tokenizer.add_tokens(tokens)` (non-special, normalized added tokens). Tokens already in the
   * vocabulary are left alone. Returns how many were added.
   */
  addTokens(tokens: string[]): number {
    const { tokenizerJson, tokenizerConfig } = this.files;
    let added = 0;
    for (const content of tokens) {
      if (content === '' || this.lookup(content) !== undefined) continue;
      const id = this.size;
      const entry = { id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: false };
      tokenizerJson.added_tokens = [...(tokenizerJson.added_tokens ?? []), entry];
      this.cachedSize = id + 1;
      if (tokenizerConfig.added_tokens_decoder) {
        const { id: _id, ...rest } = entry;
        tokenizerConfig.added_tokens_decoder[String(id)] = rest;
      }
      added++;
    }
    if (added) this.rebuild();
    return added;
  }

  /** The tokenizer's files as they would be saved (copies). */
  toFiles(): TokenizerFiles {
    return structuredClone(this.files);
  }

  /** Writes tokenizer.json, tokenizer_config.json and (if known) special_tokens_map.json into `dir`. */
  save(dir: string): void {
    writeJsonAtomic(path.join(dir, TOKENIZER_FILE), this.files.tokenizerJson);
    writeJsonAtomic(path.join(dir, TOKENIZER_CONFIG_FILE), this.files.tokenizerConfig);
    if (this.files.specialTokensMap) writeJsonAtomic(path.join(dir, SPECIAL_TOKENS_MAP_FILE), this.files.specialTokensMap);
  }
}
