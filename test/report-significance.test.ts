/**
 * Significance tests and corrections against values computed elsewhere: scipy and statsmodels
 * (test/reference/significance_fixtures.py → test/fixtures/report/significance.json), a textbook example
 * (Student's sleep data, as R's t.test prints it) and hand-enumerated sign flips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './helpers/shared';
import {
  correct,
  pairedTTest,
  randomizationTest,
  regularizedIncompleteBeta,
  stratifiedRandomizationTest,
  stratifiedTTest,
  studentTCdf,
} from '../lib/report/significance';

const REF = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'report', 'significance.json'), 'utf8'));

function close(got: number, want: number, rel: number, abs: number, what: string): void {
  assert.ok(Math.abs(got - want) <= abs + rel * Math.abs(want), `${what}: got ${got}, want ${want}`);
}

test('regularized incomplete beta matches scipy.special.betainc', () => {
  for (const r of REF.betainc) close(regularizedIncompleteBeta(r.x, r.a, r.b), r.value, 1e-10, 1e-14, `I_${r.x}(${r.a}, ${r.b})`);
});

test("Student's t CDF matches scipy.stats.t.cdf, integer and fractional degrees of freedom", () => {
  for (const r of REF.t_cdf) close(studentTCdf(r.t, r.df), r.value, 1e-10, 1e-15, `t.cdf(${r.t}, ${r.df})`);
});

test("paired t-test: Student's sleep data gives t = -4.0621, df = 9, p = 0.002833 (R's t.test(paired = TRUE))", () => {
  const g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
  const g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
  const r = pairedTTest(g1, g2);
  assert.equal(r.df, 9);
  assert.equal(r.n, 10);
  close(r.difference, -1.58, 1e-12, 1e-12, 'mean difference');
  assert.equal(r.statistic.toFixed(4), '-4.0621');
  assert.equal(r.pValue.toPrecision(4), '0.002833');
});

test('paired t-test matches scipy.stats.ttest_rel on nDCG-like data (5 to 1,000 queries)', () => {
  for (const r of REF.ttest_rel) {
    const got = pairedTTest(r.a, r.b);
    close(got.statistic, r.statistic, 1e-9, 1e-12, `t (n=${r.a.length})`);
    close(got.pValue, r.pvalue, 1e-8, 1e-14, `p (n=${r.a.length})`);
    assert.equal(got.df, r.df);
  }
});

test('paired t-test: identical systems give p = 1; a constant shift gives p = 0; fewer than 2 queries is an error', () => {
  assert.equal(pairedTTest([0.1, 0.5, 0.9], [0.1, 0.5, 0.9]).pValue, 1);
  const shifted = pairedTTest([0.2, 0.6, 1.0], [0.1, 0.5, 0.9]);
  assert.equal(shifted.pValue, 0);
  assert.ok(shifted.difference > 0);
  assert.throws(() => pairedTTest([1], [0]), /at least 2 paired queries/);
  assert.throws(() => pairedTTest([1, 2], [0]), /paired/);
});

test('randomization test, exact: hand-enumerated sign flips', () => {
  // differences 1, 2, 3: the 8 sums ±1±2±3 are 6, 4, 2, 0, 0, -2, -4, -6; |sum| ≥ 6 twice → p = 2/8.
  const r = randomizationTest([1, 2, 3], [0, 0, 0]);
  assert.equal(r.exact, true);
  assert.equal(r.permutations, 8);
  assert.equal(r.pValue, 0.25);
  // differences 0.2, 0.1, -0.1 (observed 0.2): sums ±0.2±0.1±0.1 are 0.4, 0.2, 0.2, 0, 0, -0.2, -0.2, -0.4;
  // |sum| ≥ 0.2 six times of 8 — the ties count although 0.3 - 0.2 is not exactly 0.1 in floating point.
  assert.equal(randomizationTest([0.5, 0.3, 0.2], [0.3, 0.2, 0.3]).pValue, 0.75);
  // no difference at all: every assignment ties → p = 1
  assert.equal(randomizationTest([0.5, 0.2], [0.5, 0.2]).pValue, 1);
});

test('randomization test, exact, matches scipy.stats.permutation_test (samples, n_resamples=inf)', () => {
  for (const r of REF.permutation_exact) {
    const got = randomizationTest(r.a, r.b, { exact: true });
    close(got.difference, r.statistic, 1e-12, 1e-15, `statistic (n=${r.a.length})`);
    close(got.pValue, r.pvalue, 1e-12, 1e-15, `p (n=${r.a.length})`);
  }
});

test('randomization test, Monte-Carlo: converges to the exact p-value, is reproducible by seed, and is named', () => {
  for (const r of REF.permutation_exact) {
    const exact = randomizationTest(r.a, r.b, { exact: true }).pValue;
    const R = 20000;
    const mc = randomizationTest(r.a, r.b, { exact: false, permutations: R, seed: 7 });
    assert.equal(mc.exact, false);
    const se = Math.sqrt((exact * (1 - exact)) / R);
    assert.ok(Math.abs(mc.pValue - exact) <= 4 * se + 2 / R, `n=${r.a.length}: Monte-Carlo ${mc.pValue} vs exact ${exact}`);
    assert.equal(randomizationTest(r.a, r.b, { exact: false, permutations: R, seed: 7 }).pValue, mc.pValue);
    assert.match(mc.name, /20000 random sign flips, seed 7/);
  }
  // A clear difference over many queries: p is at its floor 1/(R+1), never 0.
  const a = Array.from({ length: 200 }, (_, i) => 0.5 + 0.2 * Math.sin(i));
  const b = a.map((x, i) => x - 0.05 - 0.01 * Math.cos(i * 3));
  assert.equal(randomizationTest(a, b, { permutations: 999 }).pValue, 1 / 1000);
  // ...and agrees with the t-test that it is significant
  assert.ok(pairedTTest(a, b).pValue < 1e-10);
});

test('stratified tests: one dataset is the plain test; the statistic is the difference of per-dataset averages', () => {
  const { a, b } = REF.ttest_rel[2];
  const one = stratifiedTTest([{ a, b }]);
  const plain = pairedTTest(a, b);
  assert.equal(one.pValue, plain.pValue);
  assert.equal(one.df, plain.df);
  const x = REF.ttest_rel[1];
  const two = stratifiedTTest([{ a, b }, { a: x.a, b: x.b }]);
  const avg = (v: number[]) => v.reduce((s, y) => s + y, 0) / v.length;
  close(two.difference, (avg(a) - avg(b) + avg(x.a) - avg(x.b)) / 2, 1e-12, 1e-15, 'difference of averages');
  assert.ok(two.df! > Math.min(a.length, x.a.length) - 1 && two.df! < a.length + x.a.length - 2, `Welch–Satterthwaite df ${two.df}`);
  // Two copies of one dataset: the same mean difference with half the variance (t × √2), df doubled.
  const twin = stratifiedTTest([{ a, b }, { a, b }]);
  close(twin.statistic, plain.statistic * Math.SQRT2, 1e-12, 1e-12, 't of duplicated strata');
  close(twin.df!, 2 * plain.df!, 1e-12, 0, 'df of duplicated strata');
  // Randomization: exact over strata equals exact over the pooled queries when datasets have equal size.
  const e = REF.permutation_exact[0];
  const pooled = randomizationTest([...e.a, ...e.a], [...e.b, ...e.b], { exact: true });
  const strat = stratifiedRandomizationTest([{ a: e.a, b: e.b }, { a: e.a, b: e.b }], { exact: true });
  assert.equal(strat.pValue, pooled.pValue);
});

test('corrections match statsmodels multipletests (bonferroni, holm): adjusted p-values and rejections', () => {
  for (const r of REF.multipletests) {
    const got = correct(r.p, r.method, r.alpha);
    r.corrected.forEach((want: number, i: number) => close(got.adjusted[i], want, 1e-12, 1e-15, `${r.method} p[${i}]`));
    assert.deepEqual(got.reject, r.reject, `${r.method} alpha=${r.alpha} on ${r.p}`);
  }
  assert.deepEqual(correct([0.01, 0.2], 'none').adjusted, [0.01, 0.2]);
  assert.throws(() => correct([0.1], 'sidak' as never), /unknown correction "sidak"/);
});
