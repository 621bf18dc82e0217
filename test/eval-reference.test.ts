/**
 * evaluate() against two Python references, on a fixture written by test/reference/eval_fixtures.py:
 * pytrec_eval (per-query trec_eval values on graded judgments) and sentence-transformers'
 * InformationRetrievalEvaluator.compute_metrics — the code PyLate's evaluator runs — for MRR@k,
 * Accuracy@k (= success@k), Precision@k, Recall@k and NDCG@k on binary judgments.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Qrels, Run } from '../lib/index';
import { evaluate } from '../lib/index';

interface Fixture {
  run: Record<string, Record<string, number>>;
  qrels_graded: Record<string, Record<string, number>>;
  qrels_binary: Record<string, Record<string, number>>;
  pytrec_measures: string[];
  pytrec_per_query: Record<string, Record<string, number>>;
  sentence_transformers: Record<string, Record<string, number>>;
}

const F: Fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'eval', 'reference_metrics.json'), 'utf8'));
const nested = (o: Record<string, Record<string, number>>): Map<string, Map<string, number>> =>
  new Map(Object.entries(o).map(([k, v]) => [k, new Map(Object.entries(v))]));
const run: Run = nested(F.run);

test('per-query values equal pytrec_eval for every measure and query (graded judgments)', () => {
  const qrels: Qrels = nested(F.qrels_graded);
  const r = evaluate(qrels, run, { measures: F.pytrec_measures });
  let n = 0;
  for (const [qid, want] of Object.entries(F.pytrec_per_query)) {
    const got = r.perQuery.get(qid)!;
    for (const [key, v] of Object.entries(want)) {
      assert.ok(Math.abs(got[key] - v) <= 1e-12, `${key} ${qid}: ${got[key]} vs pytrec_eval ${v}`);
      n++;
    }
  }
  assert.equal(n, 40 * 13);
});

test('mrr@k, success@k, P, recall, ndcg_cut equal sentence-transformers (PyLate) on binary judgments', () => {
  const qrels: Qrels = nested(F.qrels_binary);
  const ks = [1, 3, 5, 10];
  const r = evaluate(qrels, run, {
    measures: [...ks.map((k) => `mrr@${k}`), ...ks.map((k) => `success@${k}`), `P.${ks}`, `recall.${ks}`, `ndcg_cut.${ks}`],
  });
  const st = F.sentence_transformers;
  for (const k of ks) {
    const pairs: Array<[string, number]> = [
      [`mrr@${k}`, st['mrr@k'][k]],
      [`success@${k}`, st['accuracy@k'][k]],
      [`P_${k}`, st['precision@k'][k]],
      [`recall_${k}`, st['recall@k'][k]],
      [`ndcg_cut_${k}`, st['ndcg@k'][k]],
    ];
    for (const [key, want] of pairs) assert.ok(Math.abs(r.all[key] - want) <= 1e-12, `${key}: ${r.all[key]} vs ${want}`);
  }
});
