/**
 * BM25 against a computation done by hand (k1 = 0.9, b = 0.4, Lucene's idf), and the tokenizer.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Bm25Index, lexicalTokens } from '../lib/retrieval/bm25';

// N = 3 documents of lengths 3, 6, 3: avgdl = 4.
const DOCS = [
  { id: 'd1', text: 'The cat sat' },
  { id: 'd2', text: 'the dog sat on the mat' },
  { id: 'd3', text: 'Cat, cat; dog!' },
];

test('tokens: lower-cased runs of letters and digits', () => {
  assert.deepEqual(lexicalTokens("Cat, cat; dog! Naïve 3-D x_y"), ['cat', 'cat', 'dog', 'naïve', '3', 'd', 'x', 'y']);
});

test('idf and scores equal the hand computation', () => {
  const idx = new Bm25Index(DOCS);
  assert.equal(idx.avgdl, 4);
  // idf(cat): df = 2 → ln(1 + (3 − 2 + 0.5) / (2 + 0.5)) = ln 1.6 = 0.470004
  assert.ok(Math.abs(idx.idf('cat') - 0.47000362924573563) < 1e-12);
  // idf(mat): df = 1 → ln(1 + 2.5 / 1.5) = ln 2.6667 = 0.980829
  assert.ok(Math.abs(idx.idf('mat') - 0.9808292530117263) < 1e-12);
  // "cat" in d1: tf 1, |d| 3 → norm = 0.9 · (0.6 + 0.4 · 3/4) = 0.81; 0.470004 · 1 · 1.9 / 1.81 = 0.493374
  // "cat" in d3: tf 2 → 0.470004 · 2 · 1.9 / 2.81 = 0.635592
  const cat = idx.search('cat', 10);
  assert.deepEqual(cat.map(([id]) => id), ['d3', 'd1']);
  assert.ok(Math.abs(cat[0][1] - 0.635592096488895) < 1e-12);
  assert.ok(Math.abs(cat[1][1] - 0.4933739754513246) < 1e-12);
  // "dog mat" in d2: |d| 6 → norm = 0.9 · (0.6 + 0.4 · 6/4) = 1.08;
  //   dog 0.470004 · 1.9 / 2.08 + mat 0.980829 · 1.9 / 2.08 = 1.325280
  // "dog mat" in d3: dog only, norm 0.81 → 0.493374
  const dm = idx.search('dog mat', 10);
  assert.deepEqual(dm.map(([id]) => id), ['d2', 'd3']);
  assert.ok(Math.abs(dm[0][1] - 1.325280036677489) < 1e-12);
  assert.ok(Math.abs(dm[1][1] - 0.4933739754513246) < 1e-12);
});

test('a repeated query term counts twice; unknown terms score nothing; k cuts the list', () => {
  const idx = new Bm25Index(DOCS);
  const once = idx.search('cat', 10)[0][1];
  assert.ok(Math.abs(idx.search('cat cat', 10)[0][1] - 2 * once) < 1e-12);
  assert.deepEqual(idx.search('zebra', 10), []);
  assert.equal(idx.search('sat cat dog', 1).length, 1);
  const run = idx.run([{ id: 'q', text: 'sat' }], 5);
  // ties (d1 and d2 both have "sat" once, d1 is shorter so scores higher)
  assert.deepEqual([...run.get('q')!.keys()], ['d1', 'd2']);
});

test('b = 0 ignores length; k1 = 0 is binary idf matching', () => {
  const flat = new Bm25Index(DOCS, { b: 0 });
  const s = flat.search('sat', 10);
  assert.equal(s[0][1], s[1][1]);
  const bin = new Bm25Index(DOCS, { k1: 0 });
  const c = bin.search('cat', 10);
  assert.ok(Math.abs(c[0][1] - bin.idf('cat')) < 1e-12 && Math.abs(c[1][1] - bin.idf('cat')) < 1e-12);
  assert.throws(() => new Bm25Index(DOCS, { b: 2 }), /b in \[0, 1\]/);
});
