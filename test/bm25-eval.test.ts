/**
 * evaluateBm25: BM25 evaluated like an encoder, on records in memory and on a BEIR folder; the metrics are
 * trec_eval's on BM25's own run.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluateBm25 } from '../lib/eval/bm25-eval';
import { Bm25Index } from '../lib/retrieval/bm25';
import { evaluate } from '../lib/eval/trec/evaluate';
import type { Qrels } from '../lib/data/types';

const corpus = [
  { id: 'd1', title: 'Cats', text: 'The cat sat on the mat.' },
  { id: 'd2', title: '', text: 'Dogs bark at night.' },
  { id: 'd3', title: '', text: 'A cat and a dog.' },
];
const queries = [
  { id: 'q1', text: 'cats and mats' },
  { id: 'q2', text: 'barking dogs at night' },
];
const qrels: Qrels = new Map([
  ['q1', new Map([['d1', 1]])],
  ['q2', new Map([['d3', 1]])],
]);

test('in memory: nDCG@10 from the ranking BM25 gives', () => {
  const r = evaluateBm25([{ name: 'tiny', corpus, queries, qrels }], { measures: ['ndcg_cut.10', 'recall.100'] });
  assert.deepEqual([...r.measures].sort(), ['ndcg_cut_10', 'recall_100']);
  const [d] = r.datasets;
  assert.equal(d.documents, 3);
  assert.equal(d.queries, 2);
  // q1: "cats" matches d1's title, "and" matches d3 (one document each: equal idf); d1 is the longer
  // (7 tokens against 5), so d3 comes first and the relevant d1 second: nDCG@10 = 1 / log2(3).
  assert.ok(Math.abs(d.perQuery.q1.ndcg_cut_10 - 1 / Math.log2(3)) < 1e-12);
  // q2: "dogs", "at" and "night" match d2 only, so d3 (relevant) is not retrieved either.
  assert.equal(d.perQuery.q2.ndcg_cut_10, 0);
  // The same as evaluate on the index's run.
  const index = new Bm25Index(corpus.map((x) => ({ id: x.id, text: `${x.title} ${x.text}`.trim() })));
  const ref = evaluate(qrels, index.run(queries, 100), { measures: ['ndcg_cut.10', 'recall.100'], complete: true });
  assert.equal(d.metrics.ndcg_cut_10, ref.all.ndcg_cut_10);
  assert.equal(d.metrics.recall_100, ref.all.recall_100);
});

test('a judged document found first scores 1; a BEIR folder reads like records', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bm25-eval-'));
  try {
    fs.writeFileSync(path.join(dir, 'corpus.jsonl'), corpus.map((d) => JSON.stringify({ _id: d.id, title: d.title, text: d.text })).join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'queries.jsonl'), [{ _id: 'q1', text: 'the cat sat' }].map((q) => JSON.stringify(q)).join('\n') + '\n');
    fs.mkdirSync(path.join(dir, 'qrels'));
    fs.writeFileSync(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
    const r = evaluateBm25([{ name: 'folder', dir }], { measures: ['ndcg_cut.10'] });
    assert.equal(r.datasets[0].queries, 1);
    assert.equal(r.datasets[0].metrics.ndcg_cut_10, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no datasets: a user error', () => {
  assert.throws(() => evaluateBm25([]), /no datasets/);
});
