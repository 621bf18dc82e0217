/**
 * Tokenization against the Python libraries themselves (fixtures written by
 * test/reference/make_tokenize_fixtures.py):
 *   - pylate_colbert_modernbert.json / pylate_colbert_tiny.json: PyLate's `ColBERT.tokenize` output on the
 *     ModernBERT tokenizer and on the tiny WordPiece tokenizer, for queries and documents under several
 *     settings (markers, expansion on/off, attention to expansion, truncation, no markers, custom
 *     skiplist, ColBERT-Zero prompts and lengths, pad=True as in training), plus the batches PyLate's
 *     `encode` built with prompt names (source "encode"), and the scoring masks PyLate derives.
 *   - sentence_transformers_dense_modernbert.json: the batches sentence-transformers' `encode` built for a
 *     dense model with prompts, at two max_seq_length values.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColbertTokenizer, DenseTokenizer, TextTokenizer, parseColbertConfig, tinyTokenizerFiles } from '../lib/tokenize';
import type { Role } from '../lib/index';
import { sharedPath, skipWithoutShared } from './helpers/shared';

const load = (f: string) => JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/tokenize', f), 'utf8'));
const rows = (a: Int32Array, len: number) => Array.from({ length: a.length / len }, (_, i) => Array.from(a.subarray(i * len, (i + 1) * len)));
const modernbert = () => TextTokenizer.fromDir(path.dirname(sharedPath('tokenizers/modernbert/tokenizer.json')!));
const skipModernbert = skipWithoutShared('tokenizers/modernbert/tokenizer.json');

const sources: [string, () => TextTokenizer, false | string][] = [
  ['pylate_colbert_modernbert.json', modernbert, skipModernbert],
  ['pylate_colbert_tiny.json', () => new TextTokenizer(tinyTokenizerFiles({ vocabSize: 4096 }).files), false],
];

for (const [file, makeText, skip] of sources) {
  const fx = load(file);
  // Loading the ModernBERT tokenizer is the slow part: settings that add the same markers share one
  // (adding a marker twice is a no-op, as in Python); a setting without markers gets a fresh one.
  let shared: TextTokenizer | null = null;
  for (const [name, s] of Object.entries<any>(fx.settings)) {
    test(`PyLate ${fx.tokenizer}, setting "${name}": marker ids, padding id, skiplist ids and every batch match`, { skip }, () => {
      const markers = s.config.query_prefix === '[Q] ' && s.config.document_prefix === '[D] ';
      const text = markers ? (shared ??= makeText()) : makeText();
      const tok = new ColbertTokenizer(text, parseColbertConfig({ ...s.config, prompts: fx.prompts }));
      assert.equal(tok.queryPrefixId, s.query_prefix_id);
      assert.equal(tok.documentPrefixId, s.document_prefix_id);
      assert.equal(tok.expansionId, s.pad_token_id);
      assert.equal(tok.vocabSize, s.len_tokenizer);
      assert.deepEqual([...tok.skiplistIds].sort((a, b) => a - b), [...new Set<number>(s.skiplist_ids)].sort((a, b) => a - b));
      const cases = fx.cases.filter((c: any) => c.setting === name);
      assert.ok(cases.length >= 4);
      for (const c of cases) {
        const what = `${name} ${c.source} ${c.role} pad=${c.pad} prompt=${JSON.stringify(c.prompt)}`;
        // tokenize cases pass the prompt explicitly; encode cases use the role's prompt from the config.
        const opts = c.source === 'encode' ? { padToMaxLength: c.pad } : { padToMaxLength: c.pad, prompt: c.prompt };
        const b = tok.tokenize(c.texts, c.role as Role, opts);
        assert.equal(b.n, c.texts.length, what);
        assert.equal(b.length, c.input_ids[0].length, `${what}: length`);
        assert.deepEqual(rows(b.inputIds, b.length), c.input_ids, `${what}: input_ids`);
        assert.deepEqual(rows(b.attentionMask, b.length), c.attention_mask, `${what}: attention_mask`);
        assert.deepEqual(rows(b.scoringMask, b.length), c.scoring_mask, `${what}: scoring mask`);
      }
    });
  }
}

test('dense tokenization equals the batches sentence-transformers encode builds (prompts, truncation, padding)', { skip: skipModernbert }, () => {
  const fx = load('sentence_transformers_dense_modernbert.json');
  const text = modernbert();
  for (const c of fx.cases) {
    const tok = new DenseTokenizer(text, { maxSeqLength: c.max_seq_length, prompts: { [c.role]: c.prompt ?? '' } });
    assert.equal(tok.padId, fx.pad_token_id);
    const b = tok.tokenize(c.texts, c.role as Role);
    const what = `max_seq_length=${c.max_seq_length} ${c.role} prompt=${JSON.stringify(c.prompt)}`;
    assert.deepEqual(rows(b.inputIds, b.length), c.input_ids, `${what}: input_ids`);
    assert.deepEqual(rows(b.attentionMask, b.length), c.attention_mask, `${what}: attention_mask`);
  }
});
