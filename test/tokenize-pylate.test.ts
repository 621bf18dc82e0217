/**
 * ColBERT tokenization against PyLate itself: test/fixtures/tokenize/pylate_colbert_modernbert.json holds
 * PyLate's `ColBERT.tokenize` output on the ModernBERT tokenizer for queries and documents under several
 * settings (markers, expansion on/off, attention to expansion, truncation, no markers, custom skiplist,
 * ColBERT-Zero prompts and lengths, pad=True as in training), written by test/reference/make_tokenize_fixtures.py.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColbertTokenizer, TextTokenizer, parseColbertConfig } from '../lib/tokenize';
import type { Role } from '../lib/models/encoder';
import { sharedPath, skipWithoutShared } from './helpers/shared';

const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/tokenize/pylate_colbert_modernbert.json'), 'utf8'));
const skip = skipWithoutShared('tokenizers/modernbert/tokenizer.json');
const rows = (a: Int32Array, len: number) => Array.from({ length: a.length / len }, (_, i) => Array.from(a.subarray(i * len, (i + 1) * len)));

for (const [name, s] of Object.entries<any>(fx.settings)) {
  test(`PyLate tokenize, setting "${name}": marker ids, padding id, skiplist ids and every case match`, { skip }, () => {
    const text = TextTokenizer.fromDir(path.dirname(sharedPath('tokenizers/modernbert/tokenizer.json')!));
    const tok = new ColbertTokenizer(text, parseColbertConfig(s.config));
    assert.equal(tok.queryPrefixId, s.query_prefix_id);
    assert.equal(tok.documentPrefixId, s.document_prefix_id);
    assert.equal(tok.expansionId, s.pad_token_id);
    assert.equal(tok.vocabSize, s.len_tokenizer);
    assert.deepEqual([...tok.skiplistIds].sort((a, b) => a - b), [...new Set<number>(s.skiplist_ids)].sort((a, b) => a - b));
    const cases = fx.cases.filter((c: any) => c.setting === name);
    assert.ok(cases.length >= 4);
    for (const c of cases) {
      const what = `${name} ${c.role} pad=${c.pad} prompt=${JSON.stringify(c.prompt)}`;
      const b = tok.tokenize(c.texts, c.role as Role, { padToMaxLength: c.pad, prompt: c.prompt });
      assert.equal(b.n, c.texts.length, what);
      assert.equal(b.length, c.input_ids[0].length, `${what}: length`);
      assert.deepEqual(rows(b.inputIds, b.length), c.input_ids, `${what}: input_ids`);
      assert.deepEqual(rows(b.attentionMask, b.length), c.attention_mask, `${what}: attention_mask`);
      assert.deepEqual(rows(b.scoringMask, b.length), c.scoring_mask, `${what}: scoring mask`);
    }
  });
}
