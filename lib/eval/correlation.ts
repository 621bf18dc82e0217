/**
 * Rank correlations between two scorers of the same items (a student and its teacher over one query's
 * candidates): Spearman's ρ (Pearson's correlation of average ranks) and Kendall's τ-b (ties in either
 * scorer corrected, as scipy.stats.kendalltau's default). A scorer that gives every item the same score
 * has no ranking: both are NaN there, and `perQueryRankCorrelation` leaves such queries out of its means.
 */

/** Ranks 1..n, tied values sharing the average of their ranks. */
export function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(xs.length);
  for (let s = 0; s < order.length; ) {
    let e = s;
    while (e + 1 < order.length && order[e + 1][0] === order[s][0]) e++;
    const r = (s + e) / 2 + 1;
    for (let k = s; k <= e; k++) ranks[order[k][1]] = r;
    s = e + 1;
  }
  return ranks;
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

function checkPair(a: readonly number[], b: readonly number[], what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} vs ${b.length} values`);
  if (a.length < 2) throw new Error(`${what}: needs at least 2 items, got ${a.length}`);
}

/** Spearman's ρ: Pearson's correlation of the average ranks. NaN when either side is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  checkPair(a, b, 'spearman');
  return pearson(averageRanks(a), averageRanks(b));
}

/**
 * Kendall's τ-b: (concordant − discordant) / √((n0 − ties in a)(n0 − ties in b)) over all n0 pairs.
 * NaN when either side is constant.
 */
export function kendallTau(a: readonly number[], b: readonly number[]): number {
  checkPair(a, b, 'kendallTau');
  let c = 0;
  let d = 0;
  let tieA = 0;
  let tieB = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const x = Math.sign(a[i] - a[j]);
      const y = Math.sign(b[i] - b[j]);
      if (x === 0) tieA++;
      if (y === 0) tieB++;
      if (x !== 0 && y !== 0) x === y ? c++ : d++;
    }
  }
  const n0 = (a.length * (a.length - 1)) / 2;
  const den = Math.sqrt((n0 - tieA) * (n0 - tieB));
  return den === 0 ? NaN : (c - d) / den;
}

export interface RankCorrelationReport {
  /** ρ and τ-b of each query (NaN where either scorer gives all candidates one score). */
  spearman: number[];
  kendall: number[];
  /** Means over the queries where both are defined, and how many those are. */
  meanSpearman: number;
  meanKendall: number;
  queries: number;
}

/** Per-query rank correlations between two [queries][candidates] score matrices, and their means. */
export function perQueryRankCorrelation(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): RankCorrelationReport {
  if (a.length !== b.length) throw new Error(`perQueryRankCorrelation: ${a.length} vs ${b.length} queries`);
  const rho = a.map((r, i) => spearman(r, b[i]));
  const tau = a.map((r, i) => kendallTau(r, b[i]));
  const ok = rho.map((r, i) => Number.isFinite(r) && Number.isFinite(tau[i]));
  const n = ok.filter(Boolean).length;
  const mean = (xs: number[]) => (n === 0 ? NaN : xs.reduce((s, x, i) => s + (ok[i] ? x : 0), 0) / n);
  return { spearman: rho, kendall: tau, meanSpearman: mean(rho), meanKendall: mean(tau), queries: n };
}
