"""Dependence-aware intervals, the small-sample rule and the multiplicity rule (issue 10)."""

from __future__ import annotations

import types

import numpy as np
import pytest

from casegen.analysis import dependence, stats, uncertainty
from casegen.analysis.uncertainty import MetricSeries, RunIntervals, series_stats


def _ar1(n: int, rho: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n)
    z = np.empty(n)
    z[0] = e[0]
    for t in range(1, n):
        z[t] = rho * z[t - 1] + np.sqrt(1 - rho * rho) * e[t]
    return 60 * np.exp(0.5 * z)


def test_dependence_finds_ar1_and_not_noise():
    d = dependence.dependence(_ar1(5000, 0.8, 0))
    assert d.dependent and d.lag1 == pytest.approx(0.78, abs=0.05)
    # long-run variance factor of an AR(1) is (1 + ρ)/(1 − ρ) = 9 for ρ = 0.8 (lognormal: a bit less);
    # the batch-means test may raise a correct estimate (conservative), never lower it
    assert 6 < d.lrv_factor < 16 and d.block_length > 3
    iid = dependence.dependence(np.random.default_rng(1).lognormal(0, 0.5, 5000))
    assert abs(iid.lag1) < 0.05 and iid.lrv_factor == pytest.approx(1.0, abs=0.3) and iid.n_eff > 3000


def test_ar1_plug_in_corrects_the_small_sample_bias():
    # ρ̂ = 0.7 at n = 25 → ρ̃ = 0.7 + 3.1/25 = 0.824 → (1 + ρ̃)/(1 − ρ̃) = 10.36
    assert dependence.ar1_factor(0.7, 25) == pytest.approx(1.824 / 0.176)
    assert dependence.ar1_factor(-0.2, 100) == 1.0


def _series(x):
    return MetricSeries(x, x, np.ones(x.size))


def test_independent_percentile_interval_is_the_exact_order_statistic():
    x = np.random.default_rng(3).lognormal(0, 0.5, 400)
    res, dep = series_stats(_series(x), ("p50", "p90"), 0.95, 500, np.random.default_rng(0))
    assert not dep.dependent  # this seed's sample shows no autocorrelation (checked once, fixed seed)
    ci = stats.quantile_ci(x, 0.9)
    assert res["p90"].interval == (ci.low, ci.high) and res["p90"].n_eff == 400


def test_autocorrelated_run_gets_wider_intervals_and_fewer_supported_statistics():
    # 2,000 requests: at 1,000 the median's n_eff (≈ 53) sits near the own-interval rule's 95 % lower bound
    # (test_own_interval_is_judged_on_the_bound_at_its_own_confidence)
    x = _ar1(2000, 0.9, 4)
    res, dep = series_stats(_series(x), uncertainty.STATS, 0.95, 1000, np.random.default_rng(0))
    assert dep.dependent and dep.lag1 > 0.8
    naive = stats.quantile_ci(x, 0.5)
    lo, hi = res["p50"].interval
    assert hi - lo > 2 * (naive.high - naive.low)
    # n_eff ≈ 2000 / 19: p99 (needs 2 × 368) and the mean (needs 2 × 500) are withheld
    assert not res["p99"].supported and res["p99"].interval is None
    assert not res["mean"].supported and "effective requests" in res["mean"].reason


@pytest.mark.parametrize("n, stat, ok", [(49, "p50", False), (50, "p50", True), (100, "p90", True),
                                         (100, "p99", False), (368, "p99", True), (499, "mean", False),
                                         (500, "mean", True)])
def test_small_sample_rule_for_independent_requests(n, stat, ok):
    assert uncertainty.support_rule("ttft", stat, n, n, False, n)[0] is ok


def test_small_sample_rule_for_pooled_gaps_counts_requests():
    # 100 requests × 150 gaps: n_eff of gaps is large, but a pooled p99 rests on the requests
    assert uncertainty.support_rule("itl", "p99", 15000, 100, False, 100)[0] is False
    assert uncertainty.support_rule("itl", "p50", 15000, 100, False, 100)[0] is True
    # an autocorrelated series needs twice the order-statistic n and at least 30
    assert uncertainty.support_rule("ttft", "p50", 29, 29, True, 500)[0] is False
    assert uncertainty.support_rule("ttft", "p90", 71, 71, True, 500)[0] is False
    assert uncertainty.support_rule("ttft", "p90", 72, 72, True, 500)[0] is True


def _case(slos):
    return types.SimpleNamespace(slos=[types.SimpleNamespace(metric=m, percentile=p) for m, p in slos])


def test_primary_family_is_the_slo_statistics_plus_headline_medians():
    assert uncertainty.primary_family(_case([])) == [("ttft", "p50"), ("tpot", "p50"), ("e2e", "p50")]
    assert uncertainty.primary_family(_case([("ttft", 99.0), ("itl", 99.9), ("ttft", 99)])) == [
        ("ttft", "p99"), ("itl", "p99.9"), ("ttft", "p50"), ("tpot", "p50"), ("e2e", "p50")]


def _fake(draws: dict[str, np.ndarray], supported: dict[str, bool]) -> RunIntervals:
    out = RunIntervals()
    out.boot["ttft"] = draws
    out.supported["ttft"] = supported
    return out


def test_multiplicity_rule_by_hand():
    """Three primary statistics with bootstrap p-values 2/1001, 0.02 and 0.04 (by construction):
    Holm multiplies the smallest by 3 (0.006), the next by 2 (0.04), the largest by 1 (0.04): all
    three significant at 5 %. Make the middle one 0.03 → 0.06: it and the largest (raised to 0.06 by
    monotonicity) are no longer significant, though each interval excludes 0. The exploratory
    statistic with p 0.02 stays "significant" but labelled exploratory, without adjustment."""
    B = 999
    base = np.zeros(B)

    def opt_with_p(p: float) -> np.ndarray:
        # two-sided bootstrap p = 2 (k + 1)/(B + 1) with k draws ≤ 0 → k = p (B + 1)/2 − 1
        k = int(round(p * (B + 1) / 2 - 1))
        d = np.linspace(1.0, 2.0, B)
        d[:k] = -np.linspace(1.0, 2.0, k)
        return d

    def run(p_mid: float):
        opt = {"p50": opt_with_p(2 / 1000), "p90": opt_with_p(p_mid), "p95": opt_with_p(0.04),
               "p99": opt_with_p(0.02), "mean": opt_with_p(0.02)}
        sup = dict.fromkeys(opt, True)
        sup["mean"] = False
        b = _fake({k: base + 100 for k in opt}, sup)
        o = _fake({k: v + 100 for k, v in opt.items()}, sup)
        fam = [("ttft", "p50"), ("ttft", "p90"), ("ttft", "p95"), ("ttft", "mean")]
        return uncertainty.delta_intervals(b, o, 0.95, fam)["ttft"]

    r = run(0.02)
    assert [round(r[s].p_value, 4) for s in ("p50", "p90", "p95")] == [0.002, 0.02, 0.04]
    assert [round(r[s].p_adjusted, 4) for s in ("p50", "p90", "p95")] == [0.006, 0.04, 0.04]
    assert all(r[s].significant and r[s].family == "primary" for s in ("p50", "p90", "p95"))
    # the unsupported primary mean cannot be tested: no interval, not significant, not in Holm's m
    assert not r["mean"].supported and not r["mean"].significant and r["mean"].p_adjusted is None
    assert r["p99"].family == "exploratory" and r["p99"].significant and r["p99"].p_adjusted is None
    r = run(0.03)
    assert [round(r[s].p_adjusted, 4) for s in ("p50", "p90", "p95")] == [0.006, 0.06, 0.06]
    assert r["p50"].significant and not r["p90"].significant and not r["p95"].significant
    assert r["p90"].abs_low > 0  # the interval alone would have called it
    assert uncertainty.any_primary_significant({"ttft": r})


def test_fast_intervals_are_fast_enough_for_a_million_requests():
    """Not a timing test: the draw count per statistic does not depend on n (memory stays O(n))."""
    x = np.random.default_rng(0).lognormal(0, 0.5, 1_000_000)
    res, _ = series_stats(_series(x), uncertainty.STATS, 0.95, 1000, np.random.default_rng(0))
    assert all(r.draws.size == 1000 for r in res.values())
    assert res["p99"].supported and res["mean"].supported


def test_pooled_gap_series_keeps_gaps_with_their_request_and_drops_non_finite_gaps():
    from casegen.runs.model import Run, make_requests_frame

    gaps = [[0.01, float("nan"), 0.02], [float("nan")], None, [0.03, 0.04], []]
    df = make_requests_frame(ttft_s=[0.1] * 5, e2e_s=[0.2] * 5, input_tokens=[1] * 5, output_tokens=[3] * 5,
                             chunk_gaps_s=gaps)
    s = uncertainty.metric_series(Run(meta=types.SimpleNamespace(), requests=df))["itl"]
    assert s.values.tolist() == pytest.approx([10, 20, 30, 40])
    assert s.num.tolist() == pytest.approx([30, 70]) and s.den.tolist() == [2, 2] and s.offsets.tolist() == [0, 2]
    assert s.counts_below(25).tolist() == [2, 0]


def test_own_interval_is_judged_on_the_bound_at_its_own_confidence():
    """AR(1) ρ 0.9, 1,000 requests (the issue-21 cell: with the 80 % bound the p90 printed its own interval
    in 0.2 % of runs, covering 73 %): this run's median clears the 80 % lower bound on n_eff — supported, so
    its change keeps an interval — but not the one-sided 95 % bound, the confidence its own interval would
    claim: that interval is withheld (†) with the reason, the draws stay."""
    x = _ar1(1000, 0.9, 4)
    res, dep = series_stats(_series(x), uncertainty.STATS, 0.95, 1000, np.random.default_rng(0))
    r = res["p50"]
    assert dep.dependent and r.supported and r.interval is None and not r.reason
    assert "p50 needs ≥ 30 effective samples" in r.own_reason and "(95% lower bound of an estimate)" in r.own_reason
    assert r.own_reason.endswith("the change's interval allows for it")
    assert np.std(r.draws) > 0
    # a statistic the support rule already withholds has no own reason; an independent series none at all
    assert not res["p99"].supported and not res["p99"].own_reason
    iid, dep_i = series_stats(_series(np.random.default_rng(3).lognormal(0, 0.5, 1000)), uncertainty.STATS, 0.95,
                              300, np.random.default_rng(0))
    assert not dep_i.dependent and all(not v.own_reason for v in iid.values())
    # the rule's z is the interval's own one-sided confidence: 1.645 at 95 %, 2.326 at 99 %
    assert dependence.own_support_z(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert dependence.own_support_z(0.99) == pytest.approx(2.3263, abs=1e-4)
    assert dependence.n_eff_for_support(100.0, 8.0, 1.645) == pytest.approx(100 / (1 + 1.645 * 0.5))
    assert dependence.n_eff_for_support(100.0, 8.0) == pytest.approx(100 / (1 + 0.84 * 0.5))


def test_own_interval_rule_judges_the_95_bound_the_change_the_80_bound():
    """own_interval_rule on hand figures: n_eff 40 with df 32 (factor estimated from 33 batches) — the 80 %
    bound 40 / (1 + 0.84 · 0.25) = 33.1 clears the median's 30, the 95 % bound 40 / 1.41 = 28.3 does not."""
    dep = dependence.Dependence(1000, {1: 0.9}, 5, 25.0, 10, 32.0, 25.0)
    ok, _why = uncertainty.support_rule("ttft", "p50", uncertainty._support_n(40.0, 25.0, 32.0, dep), 40.0, True,
                                        1000, 0.95, lower_bound=32.0)
    assert ok
    why = uncertainty.own_interval_rule("ttft", "p50", (40.0, 25.0, 32.0), (40.0, 25.0, 32.0), dep, 1000, 0.95)
    assert "this run has 28 (95% lower bound of an estimate)" in why
    assert uncertainty.own_interval_rule("ttft", "p50", (50.0, 25.0, 32.0), (50.0, 25.0, 32.0), dep, 1000, 0.95) == ""
