"""Statistics that survive queueing (issue 21): batch-means dependence, saturation, SLO verdicts
with dependence, the attainment-difference test, Student's t. Simulations are small here; the
full table is benchmarks/coverage.py (slow test in test_coverage_sim.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import special
from scipy import stats as sps

from casegen.analysis import dependence, saturation, slo, stats, uncertainty
from casegen.runs.model import RequestTable, Run, RunMeta
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import coverage  # noqa: E402
import queueing  # noqa: E402


def _weak_long(seed: int, n: int) -> np.ndarray:
    return coverage._weak_long(np.random.default_rng(seed), n)


def test_batch_means_catch_weak_long_correlation():
    """lag-1 0.135, positive for ~20 lags, true factor 3.7: the lag window alone says ~1.3."""
    factors = [dependence.dependence(_weak_long(s, 2000)).lrv_factor for s in range(40)]
    assert np.median(factors) > 2.8
    # the raw lag-window/AR(1) estimate the batch means correct (what casegen used before)
    x = _weak_long(0, 2000)
    rho1 = float(np.corrcoef(x[:-1], x[1:])[0, 1])
    assert dependence.ar1_factor(rho1, x.size) < 1.6


def test_batch_means_leave_independent_series_alone():
    rng = np.random.default_rng(1)
    dep = [dependence.dependence(rng.standard_normal(1000)) for _ in range(300)]
    assert np.mean([d.dependent for d in dep]) < 0.12  # lag-1 test (5 %) + batch-means test (≈ 2 %)
    assert np.median([d.lrv_factor for d in dep]) == 1.0


def test_t_distribution_matches_scipy():
    for df in (1, 2, 2.7, 5, 30):
        assert stats.t_quantile(0.975, df) == pytest.approx(sps.t.ppf(0.975, df), rel=1e-8)
        assert stats.t_sf(2.1, df) == pytest.approx(sps.t.sf(2.1, df), rel=1e-8)
    for a, b, x in ((2.5, 0.5, 0.3), (10, 0.5, 0.9), (0.5, 0.5, 0.01)):
        assert stats.betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-9)


def test_saturation_found_in_a_queue_at_90_percent_not_at_30():
    rng = np.random.default_rng(3)
    hi = queueing.queue_run(rng, 1000, 0.9)
    lo = queueing.queue_run(rng, 1000, 0.3)
    sat = saturation.detect(hi["start_s"], hi["ttft_ms"], hi["e2e_ms"])
    assert sat is not None and sat.signal == "queue" and sat.rank_corr > 0.85
    assert "three or more runs per side would" in sat.reason
    assert saturation.detect(lo["start_s"], lo["ttft_ms"], lo["e2e_ms"]) is None
    # independent latencies with Poisson sends: TTFT does not follow the requests in flight
    start = np.cumsum(rng.exponential(0.05, 1000))
    ttft = rng.lognormal(np.log(80), 0.4, 1000)
    assert saturation.detect(start, ttft, ttft + rng.lognormal(np.log(2000), 0.3, 1000)) is None


def test_overload_found_when_the_offered_rate_is_not_achieved():
    n = 600
    start = np.arange(n) / 10.0  # offered 10 req/s
    ttft = 50 + 40 * np.arange(n)  # the queue grows through the run
    rng = np.random.default_rng(0)
    ttft = ttft * rng.permutation(np.r_[np.full(n // 2, 0.9), np.full(n - n // 2, 1.1)])
    e2e = ttft + 500
    # in-flight rank correlation weakened by shuffling the send order's values is not needed: overload rule
    sat = saturation.detect(start, ttft, e2e, offered_rps=10.0, duration_s=n / 6.0)
    assert sat is not None


def _run(data: dict) -> Run:
    n = data["ttft_ms"].size
    df = RequestTable({
        "start_s": data["start_s"], "ttft_s": data["ttft_ms"] / 1e3, "e2e_s": data["e2e_ms"] / 1e3,
        "input_tokens": np.full(n, 128.0), "output_tokens": np.full(n, 100.0), "success": np.ones(n, dtype=bool),
        "chunk_gaps_s": [None] * n, "error": [None] * n,
    })
    return Run(RunMeta(tool="casegen", format="csv", source="sim.csv", sha256="0"), df)


def test_saturated_run_withholds_every_latency_interval_with_the_remedy():
    run = _run(queueing.queue_run(np.random.default_rng(5), 1500, 0.9))
    iv = uncertainty.run_intervals(run, 0.95, 200, 0, 0)
    assert iv.saturation is not None
    for m in ("ttft", "e2e", "tpot"):
        assert not any(iv.supported[m].values())
        assert "three or more runs per side would" in iv.reasons[m]["p50"]
    calm = _run(queueing.queue_run(np.random.default_rng(5), 1500, 0.3))
    iv2 = uncertainty.run_intervals(calm, 0.95, 200, 0, 0)
    assert iv2.saturation is None and iv2.supported["ttft"]["p50"]


def test_dependent_verdict_is_the_plain_rule_for_independent_requests():
    for n, t in ((500, 0), (1000, 5), (1000, 25), (300, 9)):
        assert slo.dependent_verdict(n, t, 0.99, 0.99, 1.0) == stats.slo_verdict(n, t, 0.99, 0.99)


def test_slo_false_fail_with_autocorrelated_requests():
    """AR(1) 0.9 TTFT, threshold at the true p99 (the system meets the SLO): the plain rule fails
    such runs often; with the violation series' effective n at most ~1 %."""
    sc = {s.name: s for s in coverage.SCENARIOS}["AR(1) ρ 0.9 lognormal"]
    truth = coverage.truth(sc)["ttft"]["p99"]
    rng = np.random.default_rng(11)
    new = old = new_pass = old_pass = 0
    sims = 150
    for _ in range(sims):
        v = sc.draw(rng, 2000)
        viol = v > truth
        plain = stats.slo_verdict(v.size, int(viol.sum()), 0.99, 0.99).status
        ours = slo.dependent_verdict(v.size, int(viol.sum()), 0.99, 0.99, slo.violation_factor(viol, v),
                                     slo.metric_factor(v)).status
        old, old_pass = old + (plain == "fail"), old_pass + (plain == "pass")
        new, new_pass = new + (ours == "fail"), new_pass + (ours == "pass")
    assert old / sims > 0.04 and old_pass / sims > 0.04  # the problem is real in this simulation
    assert new / sims <= 0.02
    # at the boundary (p99 = T exactly) a pass is a false claim of 99 % confidence
    assert new_pass / sims <= 0.02


def _result(n: int, t: int, f: float = 1.0) -> slo.SLOResult:
    return slo.SLOResult("ttft", 99, 200, n, t, 1 - t / n, None, None, "", variance_factor=f)


def test_attainment_difference():
    d = slo.attainment_difference(_result(1000, 10), _result(1000, 40))
    assert d.significant and d.p_value < 1e-4 and d.diff == pytest.approx(-0.03)
    same = slo.attainment_difference(_result(1000, 10), _result(1000, 10))
    assert not same.significant and same.p_value == 1.0
    # the same counts from strongly clustered violations (factor 10) are not evidence of a change
    clustered = slo.attainment_difference(_result(1000, 10, 10.0), _result(1000, 40, 10.0))
    assert not clustered.significant
    # exact binomial against SciPy: total 50 violations, share 1/2
    assert d.p_value == pytest.approx(sps.binomtest(40, 50, 0.5).pvalue, rel=1e-6)
