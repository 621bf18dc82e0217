"""Reference values for lib/report/significance.ts, from scipy and statsmodels.

Writes test/fixtures/report/significance.json:
  - betainc: scipy.special.betainc(a, b, x) on a grid (the regularized incomplete beta function)
  - t_cdf: scipy.stats.t.cdf(t, df), integer and fractional df
  - ttest_rel: scipy.stats.ttest_rel(a, b) (statistic, pvalue, df) on seeded per-query nDCG-like data
  - permutation_exact: scipy.stats.permutation_test(..., permutation_type='samples', n_resamples=inf)
    of the mean paired difference, two-sided: the exact sign-flip p-value over all 2^n assignments
  - multipletests: statsmodels.stats.multitest.multipletests(p, alpha, method) for 'bonferroni' and 'holm'

Run from the repository root: python test/reference/significance_fixtures.py
(needs numpy, scipy, statsmodels; any recent version).
"""

import json
import pathlib

import numpy as np
import scipy
import scipy.special
import scipy.stats
import statsmodels
from statsmodels.stats.multitest import multipletests

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "report" / "significance.json"


def ndcg_like(rng, n, shift):
    """Per-query values in [0, 1] with many ties (exact 0 and 1), as nDCG@10 has."""
    base = rng.uniform(0, 1, n)
    base[rng.uniform(0, 1, n) < 0.15] = 0.0
    base[rng.uniform(0, 1, n) < 0.1] = 1.0
    other = np.clip(base + shift + rng.normal(0, 0.15, n), 0, 1)
    return np.round(base, 4), np.round(other, 4)


def main():
    rng = np.random.default_rng(20260130)
    out = {
        "generator": "test/reference/significance_fixtures.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__},
    }

    out["betainc"] = []
    for a in [0.5, 1.0, 2.5, 7.0, 30.0, 150.0]:
        for b in [0.5, 1.0, 3.0, 40.0]:
            for x in [1e-6, 0.01, 0.2, 0.5, 0.77, 0.95, 0.999]:
                out["betainc"].append({"a": a, "b": b, "x": x, "value": float(scipy.special.betainc(a, b, x))})

    out["t_cdf"] = []
    for df in [1, 2, 3, 5, 9, 29, 99, 999, 2.5, 17.3]:
        for t in [-40.0, -6.0, -2.2, -1.0, -0.1, 0.0, 0.3, 1.7, 2.9, 8.0, 25.0]:
            out["t_cdf"].append({"t": t, "df": df, "value": float(scipy.stats.t.cdf(t, df))})

    out["ttest_rel"] = []
    for n, shift in [(5, 0.0), (10, 0.05), (30, 0.02), (50, -0.04), (200, 0.01), (1000, 0.005)]:
        a, b = ndcg_like(rng, n, shift)
        r = scipy.stats.ttest_rel(b, a)
        out["ttest_rel"].append({"a": b.tolist(), "b": a.tolist(), "statistic": float(r.statistic), "pvalue": float(r.pvalue), "df": float(r.df)})

    def mean_diff(x, y, axis):
        return np.mean(x - y, axis=axis)

    out["permutation_exact"] = []
    for n, shift in [(6, 0.1), (10, 0.05), (12, 0.0), (14, 0.08), (16, -0.03)]:
        a, b = ndcg_like(rng, n, shift)
        r = scipy.stats.permutation_test(
            (b, a), mean_diff, permutation_type="samples", vectorized=True, n_resamples=np.inf, alternative="two-sided"
        )
        out["permutation_exact"].append({"a": b.tolist(), "b": a.tolist(), "statistic": float(r.statistic), "pvalue": float(r.pvalue)})

    out["multipletests"] = []
    families = [
        [0.01, 0.04, 0.03, 0.005],
        [0.2, 0.001, 0.049, 0.03, 0.5, 0.0125],
        [0.9, 0.8],
        rng.uniform(0, 0.1, 12).round(5).tolist(),
    ]
    for p in families:
        for method in ["bonferroni", "holm"]:
            for alpha in [0.05, 0.1]:
                reject, corrected, _, _ = multipletests(p, alpha=alpha, method=method)
                out["multipletests"].append(
                    {"p": list(map(float, p)), "method": method, "alpha": alpha, "reject": [bool(x) for x in reject], "corrected": corrected.tolist()}
                )

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
