"""Statistics checked against SciPy and against MLPerf LoadGen's own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from casegen.analysis import stats

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


def test_block_ratio_draws_with_block_1_is_the_iid_bootstrap_of_the_mean():
    """Block length 1 and n ≤ MAX_BLOCKS: each draw is the mean of n requests drawn with replacement."""
    v = np.random.default_rng(1).lognormal(0, 1, 37)
    out = stats.block_ratio_draws(v, np.ones(37), 1, 50, np.random.default_rng(5))
    idx = np.random.default_rng(5).integers(0, 37, size=(50, 37))
    assert np.allclose(out, v[idx].mean(axis=1))


def test_block_ratio_draws_keep_requests_and_blocks_together():
    # pooled gaps: two requests with 3 gaps of 1 ms and 3 of 5 ms; a resample mixes whole requests
    out = stats.block_ratio_draws(np.array([3.0, 15.0]), np.array([3.0, 3.0]), 1, 200, np.random.default_rng(0))
    assert set(np.round(out, 9)) <= {1.0, 3.0, 5.0}
    # circular blocks of 2 over [0, 10, 0, 10]: every block holds one of each, so every draw is 5
    out = stats.block_ratio_draws(np.array([0.0, 10, 0, 10]), np.ones(4), 2, 100, np.random.default_rng(0))
    assert np.allclose(out, 5.0)


def test_block_count_is_capped():
    """A million requests cost MAX_BLOCKS block sums per draw, not a million."""
    n = 1_000_000
    v = np.random.default_rng(0).normal(10, 1, n)
    out = stats.block_ratio_draws(v, np.ones(n), 1, 400, np.random.default_rng(0))
    # standard error of the mean 1/√n: the spread of the draws matches it within sampling error
    assert np.std(out) == pytest.approx(1 / np.sqrt(n), rel=0.15)


def test_quantile_draws_follow_the_order_statistic_distribution():
    """With n_eff = n the draw is x at a Beta(p(n+1), (1−p)(n+1)) fraction: its spread matches the
    i.i.d. bootstrap of the p-quantile (computed the slow way here)."""
    rng = np.random.default_rng(2)
    x = np.sort(rng.lognormal(0, 0.5, 400))
    fast = stats.quantile_draws(x, 0.9, 400, 4000, np.random.default_rng(3))
    idx = np.random.default_rng(4).integers(0, 400, size=(4000, 400))
    slow = np.percentile(x[idx], 90, axis=1)
    assert np.percentile(fast, [2.5, 50, 97.5]) == pytest.approx(np.percentile(slow, [2.5, 50, 97.5]), rel=0.01)
    # half the effective sample: wider by about √2
    half = stats.quantile_draws(x, 0.9, 200, 4000, np.random.default_rng(3))
    assert np.std(half) / np.std(fast) == pytest.approx(np.sqrt(2), rel=0.15)


def test_quantile_at_matches_casegen_percentiles():
    from casegen.analysis.metrics import percentile

    x = np.sort(np.random.default_rng(0).normal(size=101))
    for p in (0.5, 0.9, 0.99):
        assert stats.quantile_at(x, p) == pytest.approx(percentile(x, p * 100, "linear"))
        assert stats.quantile_at(x, p, "mlperf") == percentile(x, p * 100, "mlperf")
    z = np.random.default_rng(7).lognormal(size=1001)  # unsorted: partial sort gives the same values
    u = np.random.default_rng(8).beta(50, 5, size=300)
    for method in ("linear", "mlperf", "nearest"):
        assert np.array_equal(stats.quantile_select(z, u, method), stats.quantile_at(np.sort(z), u, method))
        assert stats.quantile_select(z, 0.5, method) == stats.quantile_at(np.sort(z), 0.5, method)
    for n in (4, 5, 100):  # ties to even at half ranks, like NumPy
        y = np.sort(np.random.default_rng(n).normal(size=n))
        for p in (0.5, 0.9, 0.99, 0.125):
            assert stats.quantile_at(y, p, "nearest") == percentile(y, p * 100, "nearest")


def test_bootstrap_is_deterministic():
    v = np.random.default_rng(0).normal(size=200)
    a = stats.block_ratio_draws(v, np.ones(200), 3, 500, np.random.default_rng(42))
    b = stats.block_ratio_draws(v, np.ones(200), 3, 500, np.random.default_rng(42))
    assert np.array_equal(a, b)


def test_delta_ci_significance_and_p_value():
    x = np.sort(np.random.default_rng(0).normal(100, 5, 400))
    same = stats.quantile_draws(x, 0.5, 400, 1000, np.random.default_rng(1))
    same2 = stats.quantile_draws(x, 0.5, 400, 1000, np.random.default_rng(2))
    d = stats.delta_ci(same, same2)
    assert not d.significant and d.pct_low < 0 < d.pct_high and d.p_value > 0.05
    faster = stats.quantile_draws(x * 0.8, 0.5, 400, 1000, np.random.default_rng(3))
    d = stats.delta_ci(same, faster)
    assert d.significant and -25 < d.pct_low < d.pct_high < -15
    assert d.p_value == pytest.approx(2 / 1001)  # no draw on the other side of 0: add-one floor


def test_holm_by_hand():
    # sorted p: 0.01 (×3 = 0.03), 0.02 (×2 = 0.04), 0.04 (×1 = 0.04, monotone)
    assert stats.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert stats.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert stats.holm([0.9, 0.3]) == pytest.approx([0.9, 0.6])  # 0.3 × 2 = 0.6; 0.9 × 1 = 0.9


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
