/**
 * Paired significance tests over queries and multiple-testing corrections, as IR papers use them
 * (PyTerrier's `Experiment(..., baseline=, test=, correction=)` names the same choices):
 *
 * - `pairedTTest(a, b)`: Student's paired two-sided t-test on the per-query differences a − b
 *   (scipy.stats.ttest_rel). The t distribution's CDF comes from the regularized incomplete beta function.
 * - `randomizationTest(a, b, { permutations, seed })`: the paired randomization (sign-flip permutation)
 *   test of the mean difference, two-sided. Exact (all 2^n sign flips) when 2^n ≤ permutations, otherwise
 *   Monte-Carlo with a seeded generator and p = (hits + 1) / (permutations + 1), as scipy's permutation_test.
 * - `correct(p, 'bonferroni' | 'holm' | 'none', alpha)`: statsmodels' `multipletests` methods of those names.
 *
 * Both tests also come stratified (`pairedTest(strata, ...)`): several datasets at once, the statistic being
 * the mean over datasets of each dataset's mean difference — the difference of the tables' "Avg" column.
 * With one dataset the stratified tests are exactly the plain ones. The t version estimates that
 * statistic's variance as Σ s_k²/n_k / K² with Welch–Satterthwaite degrees of freedom; the randomization
 * version flips the sign of every query's difference independently.
 */
import { UserError } from '../util/errors';
import { mulberry32 } from '../util/rng';

export type TestName = 't' | 'randomization';
export type Correction = 'none' | 'bonferroni' | 'holm';
export const TEST_NAMES: readonly TestName[] = ['t', 'randomization'];
export const CORRECTIONS: readonly Correction[] = ['holm', 'bonferroni', 'none'];
const DEFAULT_PERMUTATIONS = 10000;

/** A paired comparison on one dataset: a[i] and b[i] are the same query's values for systems A and B. */
export interface Stratum {
  a: number[];
  b: number[];
}

export interface PairedTestResult {
  test: TestName;
  /** How the test is named in tables and legends. */
  name: string;
  /** Mean difference A − B (over datasets, of each dataset's mean over queries). */
  difference: number;
  /** t for the t-test; the observed mean difference for the randomization test. */
  statistic: number;
  pValue: number;
  /** Queries compared (over all datasets). */
  n: number;
  /** t-test: degrees of freedom. */
  df?: number;
  /** randomization test: sign flips drawn (or 2^n when exact), whether they were enumerated, the seed. */
  permutations?: number;
  exact?: boolean;
  seed?: number;
}

// ── Special functions ──

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 (Lanczos, g = 7; relative error about 1e-15). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < 9; i++) s += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Continued fraction for I_x(a, b) (modified Lentz), converging for x < (a + 1) / (a + b + 2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  const EPS = 4e-16; // within 2 ulp of 1
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) return h;
  }
  throw new Error(`incomplete beta: no convergence for x=${x}, a=${a}, b=${b}`);
}

/** The regularized incomplete beta function I_x(a, b), a, b > 0, 0 ≤ x ≤ 1 (scipy.special.betainc). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`incomplete beta: a and b must be > 0 (got ${a}, ${b})`);
  if (!(x >= 0 && x <= 1)) throw new RangeError(`incomplete beta: x must be in [0, 1] (got ${x})`);
  if (x === 0 || x === 1) return x;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Two-sided tail probability P(|T| ≥ |t|) of Student's t with `df` degrees of freedom (df > 0, may be fractional). */
function studentTTwoSided(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** CDF of Student's t with `df` degrees of freedom (scipy.stats.t.cdf). */
export function studentTCdf(t: number, df: number): number {
  const tail = studentTTwoSided(t, df) / 2;
  return t >= 0 ? 1 - tail : tail;
}

// ── Tests ──

function checkStrata(strata: Stratum[], minPerStratum: number, what: string): number[][] {
  if (strata.length === 0) throw new UserError(`${what}: nothing to compare`);
  return strata.map((s, k) => {
    if (s.a.length !== s.b.length) throw new UserError(`${what}: dataset ${k + 1} has ${s.a.length} values for A but ${s.b.length} for B (the test is paired)`);
    if (s.a.length < minPerStratum) throw new UserError(`${what}: needs at least ${minPerStratum} paired queries per dataset (dataset ${k + 1} has ${s.a.length})`);
    return s.a.map((x, i) => {
      const d = x - s.b[i];
      if (!Number.isFinite(d)) throw new UserError(`${what}: dataset ${k + 1}, query ${i + 1}: not a finite number`);
      return d;
    });
  });
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** The stratified t statistic's parts: per-dataset differences, their mean over datasets D, its variance and df. */
function tMoments(strata: Stratum[], what: string): { diffs: number[][]; D: number; varD: number; n: number; df: number } {
  const diffs = checkStrata(strata, 2, what);
  const K = diffs.length;
  const means = diffs.map(mean);
  const v = diffs.map((d, k) => d.reduce((s, x) => s + (x - means[k]) ** 2, 0) / (d.length - 1) / d.length);
  const D = mean(means);
  const varD = v.reduce((s, x) => s + x, 0) / (K * K);
  const n = diffs.reduce((s, d) => s + d.length, 0);
  const df = K === 1 ? diffs[0].length - 1 : (v.reduce((s, x) => s + x, 0) ** 2) / v.reduce((s, x, k) => s + (x * x) / (diffs[k].length - 1), 0);
  return { diffs, D, varD, n, df };
}

/** The q-quantile of Student's t with df degrees of freedom (scipy.stats.t.ppf), by bisection on the CDF. */
function studentTQuantile(q: number, df: number): number {
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface DifferenceInterval {
  /** Mean difference A − B (over datasets, of each dataset's mean over queries), as the t-test's. */
  difference: number;
  low: number;
  high: number;
  level: number;
  n: number;
  df: number;
}

/**
 * The confidence interval of the paired difference that the (stratified) t-test tests: D ± t(df) · se,
 * with the same variance and Welch–Satterthwaite df (scipy: ttest_rel(a, b).confidence_interval(level)
 * for one dataset). It excludes 0 exactly when the two-sided test at 1 − level rejects.
 */
export function differenceInterval(strata: Stratum[], level = 0.95): DifferenceInterval {
  if (!(level > 0 && level < 1)) throw new UserError(`confidence level must be between 0 and 1 (got ${level})`);
  const { D, varD, n, df } = tMoments(strata, 'confidence interval');
  const half = varD > 0 ? studentTQuantile(1 - (1 - level) / 2, df) * Math.sqrt(varD) : 0;
  return { difference: D, low: D - half, high: D + half, level, n, df };
}

/**
 * Paired two-sided t-test over several datasets (one = the plain paired t-test). The statistic is
 * D = mean over datasets of mean(a − b); its variance Σ s_k²/n_k / K², with Welch–Satterthwaite df.
 * All differences zero: p = 1 (no evidence either way); a constant non-zero difference: p = 0.
 */
export function stratifiedTTest(strata: Stratum[]): PairedTestResult {
  const { diffs, D, varD, n, df } = tMoments(strata, 'paired t-test');
  const K = diffs.length;
  const base = { test: 't' as const, name: 'paired t-test (two-sided)', difference: D, n };
  // Differences that are all equal (floating-point noise aside): no variance to test against.
  const scale = diffs.reduce((s, d) => s + d.reduce((t, x) => t + Math.abs(x), 0), 0) / n;
  if (varD <= (1e-14 * Math.max(scale, 1e-300)) ** 2) {
    const zero = Math.abs(D) <= 1e-12 * Math.max(scale, 1e-300) || scale === 0;
    return { ...base, statistic: zero ? 0 : Math.sign(D) * Infinity, pValue: zero ? 1 : 0, df: K === 1 ? diffs[0].length - 1 : NaN };
  }
  const t = D / Math.sqrt(varD);
  return { ...base, statistic: t, pValue: studentTTwoSided(t, df), df };
}

/** Student's paired two-sided t-test of a against b (scipy.stats.ttest_rel). */
export function pairedTTest(a: number[], b: number[]): PairedTestResult {
  return stratifiedTTest([{ a, b }]);
}

export interface RandomizationOptions {
  /** Sign flips drawn in the Monte-Carlo test (default 10,000). */
  permutations?: number;
  /** Seed of the mulberry32 generator (default 0). */
  seed?: number;
  /** true: enumerate all 2^n flips (n ≤ 24); false: Monte-Carlo; default: exact when 2^n ≤ permutations. */
  exact?: boolean;
}

/**
 * Paired randomization (sign-flip) test over several datasets (one = the plain test), two-sided. Under
 * the null hypothesis each query's difference is as likely to have either sign; the statistic is the
 * mean over datasets of each dataset's mean difference, and p is the share of sign assignments whose
 * statistic is at least as far from 0 as the observed one (ties count, to a relative 1e-9).
 */
export function stratifiedRandomizationTest(strata: Stratum[], opts: RandomizationOptions = {}): PairedTestResult {
  const diffs = checkStrata(strata, 1, 'randomization test');
  const permutations = opts.permutations ?? DEFAULT_PERMUTATIONS;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(permutations) || permutations < 1) throw new UserError(`randomization test: permutations must be a positive integer (got ${permutations})`);
  const K = diffs.length;
  // Each query's weighted difference: the statistic is Σ sign_i · w_i.
  const w: number[] = [];
  for (const d of diffs) for (const x of d) w.push(x / (K * d.length));
  const n = w.length;
  const observed = w.reduce((s, x) => s + x, 0);
  const scale = w.reduce((s, x) => s + Math.abs(x), 0);
  const threshold = Math.abs(observed) - 1e-9 * scale;
  const exact = opts.exact ?? (n <= 30 && 2 ** n <= permutations);
  const base = { test: 'randomization' as const, difference: observed, statistic: observed, n, seed };
  if (exact) {
    if (n > 24) throw new UserError(`randomization test: exact enumeration of 2^${n} sign flips is too many (at most 2^24); use the Monte-Carlo test`);
    const total = 2 ** n;
    let hits = 0;
    for (let mask = 0; mask < total; mask++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += mask & (1 << i) ? -w[i] : w[i];
      if (Math.abs(s) >= threshold) hits++;
    }
    return { ...base, name: `paired randomization test (two-sided, exact: all ${total} sign flips)`, pValue: hits / total, permutations: total, exact: true };
  }
  const rand = mulberry32(seed);
  let hits = 0;
  for (let r = 0; r < permutations; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rand() < 0.5 ? -w[i] : w[i];
    if (Math.abs(s) >= threshold) hits++;
  }
  return {
    ...base,
    name: `paired randomization test (two-sided, ${permutations} random sign flips, seed ${seed})`,
    pValue: (hits + 1) / (permutations + 1),
    permutations,
    exact: false,
  };
}

/** Paired randomization (sign-flip) test of a against b, two-sided. */
export function randomizationTest(a: number[], b: number[], opts: RandomizationOptions = {}): PairedTestResult {
  return stratifiedRandomizationTest([{ a, b }], opts);
}

/** The chosen test over one or several datasets. */
export function pairedTest(strata: Stratum[], test: TestName, opts: RandomizationOptions = {}): PairedTestResult {
  return test === 't' ? stratifiedTTest(strata) : stratifiedRandomizationTest(strata, opts);
}

// ── Multiple testing ──

export interface Corrected {
  method: Correction;
  /** Adjusted p-values, in the input order (statsmodels' pvals_corrected). */
  adjusted: number[];
  /** adjusted ≤ alpha (statsmodels' reject). */
  reject: boolean[];
  alpha: number;
}

/**
 * Adjusts a family of p-values for multiple testing, as statsmodels.stats.multitest.multipletests:
 * 'bonferroni' (p·m, capped at 1), 'holm' (Holm–Bonferroni step-down: the i-th smallest p times
 * m − i + 1, made monotone, capped at 1), 'none'.
 */
export function correct(pValues: number[], method: Correction, alpha = 0.05): Corrected {
  const m = pValues.length;
  let adjusted: number[];
  if (method === 'none') adjusted = pValues.slice();
  else if (method === 'bonferroni') adjusted = pValues.map((p) => Math.min(1, p * m));
  else if (method === 'holm') {
    const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    adjusted = new Array(m);
    let running = 0;
    order.forEach(([p, i], rank) => {
      running = Math.max(running, Math.min(1, (m - rank) * p));
      adjusted[i] = running;
    });
  } else throw new UserError(`unknown correction "${method as string}" (use ${CORRECTIONS.join(', ')})`);
  return { method, adjusted, reject: adjusted.map((p) => p <= alpha), alpha };
}

/** How a correction is named in legends. */
export function correctionName(method: Correction): string {
  return method === 'holm' ? 'Holm–Bonferroni (holm)' : method === 'bonferroni' ? 'Bonferroni (bonferroni)' : 'none';
}
