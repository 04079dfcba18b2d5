"""Throughput intervals by batch means (casegen.analysis.throughput), checked by simulation against
known long-run throughput, and the throughput card judged by its interval."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from casegen.analysis.metrics import Delta
from casegen.analysis.throughput import (
    ThroughputCI,
    ThroughputDeltaCI,
    delta_ci,
    progress_per_batch,
    relative_se,
    t_quantile,
)
from casegen.story.findings import throughput_delta_finding


def _closed_loop(n: int, c: int, rng: np.random.Generator, mu: float = math.log(0.5), sigma: float = 0.3):
    """c clients, each sending its next request when the previous one ends; n requests in all.
    Long-run throughput c / E[latency] = c / exp(mu + sigma²/2)."""
    ends = [0.0] * c
    start, end = np.empty(n), np.empty(n)
    for i in range(n):
        s = heapq.heappop(ends)
        lat = rng.lognormal(mu, sigma)
        start[i], end[i] = s, s + lat
        heapq.heappush(ends, s + lat)
    return start, end


def test_t_quantile_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (4, 6, 9, 20, 200):
        for q in (0.95, 0.975, 0.995):
            assert t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=3e-3)


def test_progress_spreads_each_request_over_its_lifetime():
    start, end = np.array([0.0, 0.5, 2.0]), np.array([1.0, 2.5, 2.0])
    p = progress_per_batch(start, end, np.array([1.0, 2.0, 1.0]), np.array([0.0, 1.0, 2.0, 3.0]))
    # request 1 all in batch 0; request 2 (work 2 over 0.5–2.5): 0.5, 1.0, 0.5; request 3 instant at 2.0 → batch 2
    assert p.tolist() == pytest.approx([1.5, 1.0, 1.5])
    assert p.sum() == pytest.approx(4.0)


@pytest.mark.parametrize(("n", "c"), [(300, 8), (1000, 8), (300, 1)])
def test_batch_means_interval_covers_the_long_run_throughput(n, c):
    rng = np.random.default_rng(n + c)
    truth = c / math.exp(math.log(0.5) + 0.3 ** 2 / 2)
    hits, sims = 0, 300
    for _ in range(sims):
        s, e = _closed_loop(n, c, rng)
        x = n / (e.max() - s.min())
        r = relative_se(s, e, np.ones(n))
        assert r is not None
        se, b = r
        t = t_quantile(0.975, b - 1)
        hits += x * (1 - t * se) <= truth <= x * (1 + t * se)
    # 95 % nominal; 300 simulations: a binomial 95 % band is ±2.5 points
    assert hits / sims >= 0.92, hits / sims


def test_aa_throughput_changes_are_rarely_significant():
    rng = np.random.default_rng(11)
    sims, fp = 300, 0
    for _ in range(sims):
        cis = []
        for _side in range(2):
            s, e = _closed_loop(300, 8, rng)
            se, b = relative_se(s, e, np.ones(300))  # type: ignore[misc]
            cis.append(ThroughputCI(300 / (e.max() - s.min()), 0.0, 0.0, se, b))
        fp += delta_ci(cis[0], cis[1], 0.95).significant
    assert fp / sims <= 0.05


def test_a_real_change_is_found():
    rng = np.random.default_rng(12)
    found = 0
    for _ in range(50):
        s, e = _closed_loop(1000, 8, rng)
        s2, e2 = _closed_loop(1000, 8, rng, mu=math.log(0.5 * 0.85))  # 15 % faster requests
        a, b = relative_se(s, e, np.ones(1000)), relative_se(s2, e2, np.ones(1000))
        ca = ThroughputCI(1000 / (e.max() - s.min()), 0, 0, *a)  # type: ignore[misc]
        cb = ThroughputCI(1000 / (e2.max() - s2.min()), 0, 0, *b)  # type: ignore[misc]
        d = delta_ci(ca, cb, 0.95)
        found += d.significant and d.pct_low > 0
    assert found >= 45


def test_too_short_a_run_gets_no_interval():
    s, e = _closed_loop(40, 8, np.random.default_rng(1))  # 5 latencies per client: < 5 batches of 5 latencies
    assert relative_se(s, e, np.ones(40)) is None
    d = delta_ci(None, None, 0.95, "Baseline: too short")
    assert not d.supported and d.reason == "Baseline: too short"


def _delta(pct: float) -> Delta:
    return Delta(base=100.0, opt=100.0 * (1 + pct / 100), abs=pct, pct=pct, verdict="worse" if pct < 0 else "better")


def test_throughput_card_is_coloured_only_when_its_interval_excludes_zero():
    # −0.52 % with an interval that includes 0: neutral, and never rounded to "−1%"
    f = throughput_delta_finding("requests_per_s", _delta(-0.52), "fixed concurrency 8",
                                 ThroughputDeltaCI(-3.1, 2.1, False, True), 0.95)
    assert f.verdict == "same" and f.value == "no significant change"
    assert "−0.5%" in f.detail and "−1%" not in f.detail and "includes 0" in f.detail
    # no interval: a neutral † point value, with the reason
    f = throughput_delta_finding("requests_per_s", _delta(-0.52), "", None)
    assert f.verdict == "na" and f.value == "−0.5%†" and not f.evidence.supported
    # an interval that excludes 0: coloured
    f = throughput_delta_finding("requests_per_s", _delta(12.0), "", ThroughputDeltaCI(6.0, 18.0, True, True), 0.95)
    assert f.verdict == "better" and f.value == "+12%" and f.evidence.ci_pct == [6.0, 18.0]
