"""Statistics checked against SciPy and against MLPerf LoadGen's own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from casegen import stats

scipy_stats = pytest.importorskip("scipy.stats")
special = pytest.importorskip("scipy.special")


@pytest.mark.parametrize("t, needed", [(0, 459), (1, 662), (2, 838), (5, 1307), (10, 2010), (20, 3304),
                                       (50, 6898), (100, 12571)])
def test_mlperf_early_stopping_table_p99(t, needed):
    assert stats.min_queries_to_pass(t, 0.99) == needed


@pytest.mark.parametrize("p, t, needed", [(0.90, 0, 44), (0.90, 1, 64), (0.90, 50, 681), (0.95, 0, 90),
                                          (0.95, 10, 398), (0.999, 0, 4603), (0.999, 1, 6636)])
def test_mlperf_early_stopping_table_other_percentiles(p, t, needed):
    assert stats.min_queries_to_pass(t, p) == needed


@pytest.mark.parametrize("t", [0, 1, 7, 40])
def test_early_stopping_matches_incomplete_beta(t):
    """LoadGen's criterion is I_{p}(h, t+1) ≤ 1 − c; the minimal h from SciPy's betainc agrees."""
    n = stats.min_queries_to_pass(t, 0.99)
    h = n - t
    assert special.betainc(h, t + 1, 0.99) <= 0.01
    assert special.betainc(h - 1, t + 1, 0.99) > 0.01


@pytest.mark.parametrize("n", [5, 40, 100, 367, 368, 1000, 4321])
@pytest.mark.parametrize("p", [0.5, 0.9, 0.95, 0.99])
def test_order_statistic_ci_matches_scipy_quantile_test(n, p):
    x = np.random.default_rng(n).lognormal(0, 1, n)
    ours = stats.quantile_ci(x, p, 0.95)
    ref = scipy_stats.quantile_test(x, q=float(np.median(x)), p=p).confidence_interval(0.95)
    if np.isnan(ref.low) or np.isnan(ref.high):
        assert ours is None
    else:
        assert ours is not None
        assert (ours.low, ours.high) == (ref.low, ref.high)


def test_p99_interval_needs_368_samples():
    assert stats.min_n_for_quantile_ci(0.99) == 368
    assert stats.quantile_ci(np.arange(367.0), 0.99) is None
    assert stats.quantile_ci(np.arange(368.0), 0.99) is not None


def test_binomial_against_scipy():
    for n, p in ((10, 0.3), (500, 0.01), (2000, 0.99)):
        pmf = stats.binom_pmf_all(n, p)
        assert np.allclose(pmf, scipy_stats.binom.pmf(np.arange(n + 1), n, p), atol=1e-12)
        for k in (0, 1, 5, n // 2):
            assert stats.binom_cdf(k, n, p) == pytest.approx(scipy_stats.binom.cdf(k, n, p), abs=1e-12)


def test_ks_statistic_and_pvalue_match_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 300), rng.normal(0.25, 1, 250)
    d, p = stats.ks_2samp(a, b)
    ref = scipy_stats.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(ref.statistic)
    # casegen uses the limiting Kolmogorov distribution at sqrt(nm/(n+m))·D; SciPy's "asymp" uses the
    # finite-n one-sample distribution at n = nm/(n+m). They agree closely, and on every decision at 1%.
    assert p == pytest.approx(ref.pvalue, rel=0.2)
    for seed in range(30):
        r = np.random.default_rng(seed)
        x, y = r.normal(0, 1, 200), r.normal(r.uniform(0, 0.5), 1, 180)
        assert (stats.ks_2samp(x, y)[1] < 0.01) == (scipy_stats.ks_2samp(x, y, method="asymp").pvalue < 0.01)
    d, p = stats.ks_2samp(a, a)
    assert d == 0 and p == 1


def test_bootstrap_resample_equals_numpy_on_the_expanded_sample():
    rng = np.random.default_rng(1)
    v = rng.lognormal(0, 1, 37)
    out = stats.bootstrap_stats(v, None, 100, np.random.default_rng(5))
    counts = np.random.default_rng(5).multinomial(37, np.full(37, 1 / 37), size=100)
    for i in range(20):
        expanded = np.repeat(v, counts[i])
        assert out["mean"][i] == pytest.approx(expanded.mean())
        for name, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
            assert out[name][i] == pytest.approx(np.percentile(expanded, q))


def test_cluster_bootstrap_keeps_clusters_together():
    # two clusters with constant values: every resample's mean is a mix of whole clusters
    v = np.array([1.0, 1.0, 1.0, 5.0, 5.0, 5.0])
    cl = np.array([0, 0, 0, 1, 1, 1])
    out = stats.bootstrap_stats(v, cl, 200, np.random.default_rng(0))
    assert set(np.round(out["mean"], 9)) <= {1.0, 3.0, 5.0}


def test_bootstrap_is_deterministic():
    v = np.random.default_rng(0).normal(size=200)
    a = stats.bootstrap_stats(v, None, 500, np.random.default_rng(42))
    b = stats.bootstrap_stats(v, None, 500, np.random.default_rng(42))
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_delta_ci_significance():
    rng = np.random.default_rng(0)
    base = rng.normal(100, 5, 400)
    same = stats.bootstrap_stats(base, None, 1000, np.random.default_rng(1))
    same2 = stats.bootstrap_stats(base, None, 1000, np.random.default_rng(2))
    d = stats.delta_ci(same["p50"], same2["p50"])
    assert not d.significant and d.pct_low < 0 < d.pct_high
    faster = stats.bootstrap_stats(base * 0.8, None, 1000, np.random.default_rng(3))
    d = stats.delta_ci(same["mean"], faster["mean"])
    assert d.significant and d.pct_high < -15 and d.pct_low > -25


def test_slo_verdicts():
    v = stats.slo_verdict(100, 0, 0.99)
    assert v.status == "inconclusive" and v.needed == 459 and "359 more" in v.reason
    assert stats.slo_verdict(459, 0, 0.99).status == "pass"
    assert stats.slo_verdict(662, 1, 0.99).status == "pass"
    assert stats.slo_verdict(661, 1, 0.99).status == "inconclusive"
    # 10% over the threshold when 1% is allowed: fail
    assert stats.slo_verdict(200, 20, 0.99).status == "fail"
    # p95 SLO, 1000 requests, 30 violations (3%): pass
    assert stats.slo_verdict(1000, 30, 0.95).status == "pass"
