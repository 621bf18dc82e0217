/** Rank correlations: scipy's documented values, and a brute-force definition. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { averageRanks, kendallTau, perQueryRankCorrelation, spearman } from '../lib/eval/correlation';
import { mulberry32 } from '../lib/util/rng';

test("scipy.stats documentation's examples: spearmanr and kendalltau (τ-b, ties)", () => {
  // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).statistic
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 0.8207826816681233) < 1e-12);
  // scipy.stats.kendalltau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]).statistic
  assert.ok(Math.abs(kendallTau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]) - -0.47140452079103173) < 1e-12);
});

test('average ranks share tied positions', () => {
  assert.deepEqual(averageRanks([10, 30, 20, 30]), [1, 3.5, 2, 3.5]);
});

test('perfect, reversed and constant rankings', () => {
  assert.equal(spearman([1, 2, 3], [10, 20, 30]), 1);
  assert.equal(kendallTau([1, 2, 3], [30, 20, 10]), -1);
  assert.ok(Number.isNaN(spearman([1, 2, 3], [5, 5, 5])));
  assert.ok(Number.isNaN(kendallTau([1, 2, 3], [5, 5, 5])));
  const r = perQueryRankCorrelation([[1, 2, 3], [1, 2, 3], [3, 2, 1]], [[1, 2, 3], [4, 4, 4], [1, 2, 3]]);
  assert.equal(r.queries, 2);
  assert.equal(r.meanSpearman, 0);
  assert.equal(r.meanKendall, 0);
});

test('without ties: Spearman equals 1 − 6Σd²/(n(n²−1)) and Kendall equals (C − D)/(n(n−1)/2), brute force', () => {
  const rand = mulberry32(5);
  for (let t = 0; t < 20; t++) {
    const n = 3 + Math.floor(rand() * 8);
    const a = Array.from({ length: n }, () => rand());
    const b = Array.from({ length: n }, () => rand());
    const ra = a.map((x) => a.filter((y) => y < x).length + 1);
    const rb = b.map((x) => b.filter((y) => y < x).length + 1);
    const d2 = ra.reduce((s, r, i) => s + (r - rb[i]) ** 2, 0);
    assert.ok(Math.abs(spearman(a, b) - (1 - (6 * d2) / (n * (n * n - 1)))) < 1e-12);
    let cd = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) cd += Math.sign(a[i] - a[j]) * Math.sign(b[i] - b[j]);
    assert.ok(Math.abs(kendallTau(a, b) - cd / ((n * (n - 1)) / 2)) < 1e-12);
  }
});
