/**
 * PyLate's ColBERT settings as stored in `config_sentence_transformers.json`, typed, with PyLate's
 * defaults and validation.
 *
 * Keys and defaults (pylate/models/colbert.py):
 *   query_prefix "[Q] ", document_prefix "[D] "   marker tokens ("" = no marker)
 *   query_length 32, document_length 180           total tokens incl. [CLS], marker, prompt, [SEP]
 *   do_query_expansion true                        pad queries to query_length with [MASK]
 *   attend_to_expansion_tokens false               attention 1 on those [MASK]s (forced false without expansion)
 *   expansion_tokens "scored"                      this project's key (PyLate keeps it as an unknown key): what
 *                                                  positions with attention 0 (the expansion [MASK]s) give —
 *                                                  "scored": computed with eager attention and scored (ColBERT's
 *                                                  query expansion; PyLate with attn_implementation="eager");
 *                                                  "zeroed": zero embeddings that add nothing to MaxSim, what
 *                                                  Flash Attention gives (the paper's models, footnote 3). A
 *                                                  folder without the key is "scored" (it loads as it always
 *                                                  did); the paper's pipelines write "zeroed".
 *   skiplist_words list(string.punctuation)         document tokens left out of scoring
 *   prompts {"query": "", "document": ""}          sentence-transformers' prompts (text prepended to the input)
 *   default_prompt_name null
 *
 * Unknown keys (`__version__`, `model_type`, `similarity_fn_name`, `embedding_dim`, ...) are kept in
 * `extra` and written back unchanged, as PyLate does (it copies its whole `_model_config`). Known keys
 * with a wrong type are an error naming the file and key.
 */
import * as fs from 'node:fs';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic';
import { punctuationSkiplist } from './pystr';

export const CONFIG_ST_FILE = 'config_sentence_transformers.json';

/**
 * What the positions a query's attention mask leaves out (the [MASK] expansion tokens when
 * attend_to_expansion_tokens is false) contribute:
 *   'scored'  their embeddings are computed (eager attention: they attend to the text, nothing attends to
 *             them) and scored — ColBERT's query expansion, as PyLate computes it with eager or SDPA attention;
 *   'zeroed'  their embeddings are zero and they add nothing to MaxSim (nor to any loss or gradient) — what
 *             Flash Attention gives (ModernBERT's unpadded FA2 path), so what the paper's models had (footnote 3).
 */
export type ExpansionTokens = 'scored' | 'zeroed';
const EXPANSION_TOKENS: readonly ExpansionTokens[] = ['scored', 'zeroed'];
/** The paper's setting: its ModernBERT models ran Flash Attention, so expansion tokens contributed nothing. */
export const PAPER_EXPANSION_TOKENS: ExpansionTokens = 'zeroed';

/** The transformers `attn_implementation` that gives a setting in PyLate (the exported scripts pin it). */
export function attnImplementationFor(e: ExpansionTokens): 'flash_attention_2' | 'eager' {
  return e === 'zeroed' ? 'flash_attention_2' : 'eager';
}

export interface ColbertTokenizerConfig {
  query_prefix: string;
  document_prefix: string;
  query_length: number;
  document_length: number;
  do_query_expansion: boolean;
  attend_to_expansion_tokens: boolean;
  /** See ExpansionTokens; JSON key `expansion_tokens`, absent = 'scored'. */
  expansion_tokens: ExpansionTokens;
  skiplist_words: string[];
  prompts: Record<string, string>;
  default_prompt_name: string | null;
  /** Every other key of the file, preserved for writing back. */
  extra: Record<string, unknown>;
}

export function defaultColbertConfig(): ColbertTokenizerConfig {
  return {
    query_prefix: '[Q] ',
    document_prefix: '[D] ',
    query_length: 32,
    document_length: 180,
    do_query_expansion: true,
    attend_to_expansion_tokens: false,
    expansion_tokens: 'scored',
    skiplist_words: punctuationSkiplist(),
    prompts: { query: '', document: '' },
    default_prompt_name: null,
    extra: {},
  };
}

const KNOWN = [
  'query_prefix', 'document_prefix', 'query_length', 'document_length', 'do_query_expansion',
  'attend_to_expansion_tokens', 'expansion_tokens', 'skiplist_words', 'prompts', 'default_prompt_name',
] as const;

/**
 * Builds a config from a parsed JSON object (or partial overrides): PyLate's defaults for missing or
 * null keys, type checks, and PyLate's rule that without expansion nothing attends to expansion tokens.
 */
export function parseColbertConfig(raw: Record<string, unknown>, where = CONFIG_ST_FILE): ColbertTokenizerConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${where}: expected a JSON object`);
  const cfg = defaultColbertConfig();
  const bad = (key: string, want: string) =>
    new UserError(`${where}: key "${key}" must be ${want}, got ${JSON.stringify(raw[key])}`);
  const str = (k: 'query_prefix' | 'document_prefix') => {
    if (raw[k] === undefined || raw[k] === null) return;
    if (typeof raw[k] !== 'string') throw bad(k, 'a string');
    cfg[k] = raw[k] as string;
  };
  const len = (k: 'query_length' | 'document_length') => {
    if (raw[k] === undefined || raw[k] === null) return;
    const v = raw[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 3) throw bad(k, 'an integer >= 3');
    cfg[k] = v;
  };
  const bool = (k: 'do_query_expansion' | 'attend_to_expansion_tokens') => {
    if (raw[k] === undefined || raw[k] === null) return;
    if (typeof raw[k] !== 'boolean') throw bad(k, 'true or false');
    cfg[k] = raw[k] as boolean;
  };
  str('query_prefix');
  str('document_prefix');
  len('query_length');
  len('document_length');
  bool('do_query_expansion');
  bool('attend_to_expansion_tokens');
  if (raw.expansion_tokens !== undefined && raw.expansion_tokens !== null) {
    if (!(EXPANSION_TOKENS as readonly unknown[]).includes(raw.expansion_tokens)) throw bad('expansion_tokens', '"scored" or "zeroed"');
    cfg.expansion_tokens = raw.expansion_tokens as ExpansionTokens;
  }
  if (raw.skiplist_words !== undefined && raw.skiplist_words !== null) {
    const s = raw.skiplist_words;
    if (!Array.isArray(s) || !s.every((w) => typeof w === 'string')) throw bad('skiplist_words', 'a list of strings');
    cfg.skiplist_words = [...s];
  }
  if (raw.prompts !== undefined && raw.prompts !== null) {
    const p = raw.prompts;
    if (typeof p !== 'object' || Array.isArray(p) || !Object.values(p).every((v) => typeof v === 'string')) {
      throw bad('prompts', 'an object of strings');
    }
    // sentence-transformers starts from {"query": "", "document": ""} and updates it.
    cfg.prompts = { query: '', document: '', ...(p as Record<string, string>) };
  }
  if (raw.default_prompt_name !== undefined && raw.default_prompt_name !== null) {
    if (typeof raw.default_prompt_name !== 'string') throw bad('default_prompt_name', 'a string or null');
    if (!(raw.default_prompt_name in cfg.prompts)) {
      throw new UserError(`${where}: default_prompt_name "${raw.default_prompt_name}" is not a key of prompts (${Object.keys(cfg.prompts).join(', ')})`);
    }
    cfg.default_prompt_name = raw.default_prompt_name;
  }
  if (!cfg.do_query_expansion) cfg.attend_to_expansion_tokens = false;
  for (const [k, v] of Object.entries(raw)) if (!(KNOWN as readonly string[]).includes(k) && k !== 'extra') cfg.extra[k] = v;
  return cfg;
}

/** Returns a copy of `base` with `overrides` applied (same validation as reading a file). */
export function withColbertOverrides(base: ColbertTokenizerConfig, overrides: Partial<Omit<ColbertTokenizerConfig, 'extra'>>): ColbertTokenizerConfig {
  return parseColbertConfig({ ...toColbertConfigJson(base), ...overrides }, 'ColBERT config overrides');
}

/** Reads `config_sentence_transformers.json`. */
export function readColbertConfig(file: string): ColbertTokenizerConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: cannot read JSON (${(e as Error).message})`);
  }
  return parseColbertConfig(raw as Record<string, unknown>, file);
}

/** The JSON object PyLate writes: the preserved keys, then PyLate's own keys. */
export function toColbertConfigJson(cfg: ColbertTokenizerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg.extra };
  if (out.model_type === undefined) out.model_type = 'ColBERT';
  for (const k of KNOWN) out[k] = structuredClone(cfg[k]);
  return out;
}

export function writeColbertConfig(file: string, cfg: ColbertTokenizerConfig): void {
  writeJsonAtomic(file, toColbertConfigJson(cfg));
}
