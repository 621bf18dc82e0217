/**
 * Semantics that trec_eval's suite does not pin down on its own: tie-breaking, which queries count,
 * -c, -l, measure-name parsing, printf rounding, and the PyLate-style @k measures.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Qrels, Run } from '../lib/index';
import { evaluate, formatFixed, formatTrecEval, planMeasures, splitMeasureList } from '../lib/eval';

const qrels = (o: Record<string, Record<string, number>>): Qrels =>
  new Map(Object.entries(o).map(([q, d]) => [q, new Map(Object.entries(d))]));
const run = (o: Record<string, Record<string, number>>): Run => qrels(o);

test('equal scores are ranked by document id descending, not by file order', () => {
  const q = qrels({ q: { a: 1 } });
  // 'a' and 'b' tie; trec_eval puts 'b' (larger id) first, so the relevant 'a' is at rank 2.
  const r = evaluate(q, run({ q: { a: 0.5, b: 0.5 } }), { measures: ['recip_rank'] });
  assert.equal(r.all.recip_rank, 0.5);
});

test('map, P, recall, ndcg_cut on a hand-checked ranking', () => {
  const q = qrels({ q: { d1: 1, d3: 2, d9: 1, d0: 0 } });
  const rk = run({ q: { d1: 5, d2: 4, d3: 3, d0: 2 } }); // ranks: d1 d2 d3 d0
  const r = evaluate(q, rk, { measures: ['map', 'P.2', 'recall.3', 'ndcg_cut.3', 'num_rel', 'num_rel_ret'] });
  assert.equal(r.all.num_rel, 3);
  assert.equal(r.all.num_rel_ret, 2);
  assert.equal(r.all.map, (1 / 1 + 2 / 3) / 3);
  assert.equal(r.all.P_2, 0.5);
  assert.equal(r.all.recall_3, 2 / 3);
  // gains are the raw relevance values: dcg = 1/log2(2) + 2/log2(4); ideal = 2, 1, 1
  const dcg = 1 + 2 / 2;
  const idcg = 2 + 1 / Math.log2(3) + 1 / 2;
  assert.ok(Math.abs(r.all.ndcg_cut_3 - dcg / idcg) < 1e-15);
});

test('minRel (-l) decides binary relevance; ndcg_cut keeps raw gains', () => {
  const q = qrels({ q: { a: 1, b: 2 } });
  const rk = run({ q: { a: 2, b: 1 } });
  const r = evaluate(q, rk, { measures: ['recip_rank', 'num_rel', 'ndcg_cut.2'], minRel: 2 });
  assert.equal(r.all.num_rel, 1);
  assert.equal(r.all.recip_rank, 0.5);
  assert.ok(Math.abs(r.all.ndcg_cut_2 - (1 + 2 / Math.log2(3)) / (2 + 1 / Math.log2(3))) < 1e-15);
});

test('a judged query missing from the run is skipped by default and scores 0 under complete (-c)', () => {
  const q = qrels({ q1: { a: 1 }, q2: { b: 1 } });
  const rk = run({ q1: { a: 1 }, q3: { z: 1 } }); // q3 has no judgments: ignored
  const dflt = evaluate(q, rk, { measures: ['map', 'num_q', 'num_ret', 'num_rel'] });
  assert.deepEqual([...dflt.perQuery.keys()], ['q1']);
  assert.equal(dflt.all.num_q, 1);
  assert.equal(dflt.all.map, 1);
  const c = evaluate(q, rk, { measures: ['map', 'num_q', 'num_ret', 'num_rel'], complete: true });
  assert.deepEqual([...c.perQuery.keys()], ['q1', 'q2']);
  assert.equal(c.all.num_q, 2);
  assert.equal(c.all.map, 0.5);
  assert.equal(c.perQuery.get('q2')!.num_ret, 0);
  assert.equal(c.all.num_rel, 2);
});

test('queries are evaluated and printed in byte order of their ids', () => {
  const q = qrels({ b: { x: 1 }, '10': { x: 1 }, '9': { x: 1 } });
  const rk = run({ b: { x: 1 }, '10': { x: 1 }, '9': { x: 1 } });
  const r = evaluate(q, rk, { measures: ['map'] });
  assert.deepEqual([...r.perQuery.keys()], ['10', '9', 'b']);
  const text = formatTrecEval(r, { perQuery: true });
  assert.equal(text.trim().split('\n').pop(), 'map                   \tall\t1.0000');
});

test('mrr@k, success@k and hits@k (PyLate / sentence-transformers / ranx definitions)', () => {
  const q = qrels({ q1: { a: 1, c: 1 }, q2: { z: 1 } });
  const rk = run({ q1: { x: 3, a: 2, c: 1 }, q2: { y: 2, w: 1 } });
  const r = evaluate(q, rk, { measures: ['mrr@1', 'mrr@10', 'success@1', 'success@2', 'hits@3', 'success.2'] });
  assert.deepEqual(r.measures, ['success_2', 'mrr@1', 'mrr@10', 'success@1', 'success@2', 'hits@3']);
  assert.equal(r.perQuery.get('q1')!['mrr@1'], 0);
  assert.equal(r.perQuery.get('q1')!['mrr@10'], 0.5);
  assert.equal(r.perQuery.get('q1')!['hits@3'], 2);
  assert.equal(r.all['mrr@10'], 0.25);
  assert.equal(r.all['success@1'], 0);
  assert.equal(r.all['success@2'], 0.5);
  assert.equal(r.all['success@2'], r.all.success_2); // the same measure as trec_eval's success
  assert.equal(r.all['hits@3'], 1);
});

test('measure specs follow trec_eval -m: sorted cut-offs, atol, printable parameter names', () => {
  const keys = (s: string[]) => planMeasures(s).trec.flatMap((m) => m.keys);
  assert.deepEqual(keys(['ndcg_cut.100,10,23.4']), ['ndcg_cut_10', 'ndcg_cut_23', 'ndcg_cut_100']);
  assert.deepEqual(keys(['iprec_at_recall..5,.25']), ['iprec_at_recall_0.25', 'iprec_at_recall_0.50']);
  assert.deepEqual(keys(['utility.2,-1,0,0']), ['utility_2,-1,0,0']);
  assert.deepEqual(keys(['P.5', 'map']), ['map', 'P_5']); // trec_eval's order, not the order asked
  assert.deepEqual(keys([]).slice(0, 3), ['runid', 'num_q', 'num_ret']);
  assert.throws(() => planMeasures(['P.5,5']), /duplicate cut-off/);
  assert.throws(() => planMeasures(['P.0']), /positive/);
  assert.throws(() => planMeasures(['ndgc_cut.10']), /unknown measure 'ndgc_cut.10'/);
  assert.deepEqual(splitMeasureList('ndcg_cut.10,100,map,P.5,utility.2,-1,0,0,mrr@10,11pt_avg'), [
    'ndcg_cut.10,100',
    'map',
    'P.5',
    'utility.2,-1,0,0',
    'mrr@10',
    '11pt_avg',
  ]);
});

test('formatFixed rounds exact binary ties to even, as C printf does', () => {
  assert.equal(formatFixed(0.03125, 4), '0.0312'); // toFixed would give 0.0313
  assert.equal(formatFixed(0.09375, 4), '0.0938');
  assert.equal(formatFixed(0.125, 2), '0.12');
  assert.equal(formatFixed(-412.666666, 4), '-412.6667');
  assert.equal(formatFixed(0.1, 2), '0.10');
});

test('integers print without decimals and names pad to 22 columns', () => {
  const r = evaluate(qrels({ q: { a: 1 } }), run({ q: { a: 1, b: 0 } }), { measures: ['num_ret', 'P.1'], runId: 'x' });
  assert.equal(formatTrecEval(r), 'num_ret               \tall\t2\nP_1                   \tall\t1.0000\n');
});

test('non-integer judgments and non-finite scores given through the API are refused', () => {
  assert.throws(() => evaluate(qrels({ q: { a: 0.5 } }), run({ q: { a: 1 } })), /relevance of document 'a' is 0.5/);
  assert.throws(() => evaluate(qrels({ q: { a: 1 } }), run({ q: { a: NaN } })), /score of document 'a' is NaN/);
});
