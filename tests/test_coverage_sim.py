"""Coverage and A/A false positives of casegen's intervals by simulation (benchmarks/coverage.py).

The quick version runs by default (a few hundred simulated runs, loose bounds that still fail if
dependence or multiplicity handling breaks: treating AR(1) ρ 0.9 requests as independent gives ~50 %
A/A false positives). The full table is ``python benchmarks/coverage.py`` and the slow test below.
"""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import coverage  # noqa: E402

SC = {s.name: s for s in coverage.SCENARIOS}


def _check(r: dict, min_cov: float, max_aa: float) -> None:
    for stat, (cov, shown) in r["coverage"].items():
        if cov is not None and shown > 0.05:
            assert cov >= min_cov, (stat, cov, shown)
    for stat, (cov, shown) in r["delta_coverage"].items():
        if cov is not None and shown > 0.05:
            assert cov >= min_cov, ("delta", stat, cov, shown)
    assert r["aa_primary"] <= max_aa


def test_quick_coverage_independent_requests():
    # the shortest run that prints its own percentile intervals (uncertainty.OWN_MIN_REQUESTS)
    r = coverage.simulate(SC["independent lognormal"], 700, 50, resamples=400)
    _check(r, 0.88, 0.10)
    # the median is printed unless chance makes independent requests look dependent (batch-means test
    # at 1 %, three batch sizes); a mean's own interval needs 1,000 requests
    assert r["coverage"]["p50"][1] >= 0.97 and r["coverage"]["mean"][0] is None


def test_quick_coverage_strongly_autocorrelated_requests():
    r = coverage.simulate(SC["AR(1) ρ 0.9 lognormal"], 1000, 60, resamples=400)
    _check(r, 0.88, 0.10)
    assert r["coverage"]["p50"][1] > 0.6  # the median is still supported at n = 1000 (mostly)
    assert r["coverage"]["mean"][0] is None  # n_eff ≈ 50 < 200: the mean is withheld


def test_quick_coverage_pooled_chunk_gaps():
    r = coverage.simulate_itl(700, 20, 0.0, 30, resamples=400)
    _check(r | {"aa_primary": 0.0}, 0.85, 1.0)
    assert r["coverage"]["p95"][1] >= 0.95 and r["coverage"]["mean"][0] is None  # a mean's own: 1,000 requests
    short = coverage.simulate_itl(300, 20, 0.0, 10, resamples=400)  # one run's own: 700 requests
    assert all(c is None for c, _shown in short["coverage"].values()) and short["delta_coverage"]["p50"][1] > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SC))
@pytest.mark.parametrize("n", [200, 1000, 5000])
def test_full_coverage_table(name, n):
    """Targets: printed 95 % intervals cover ≥ 93 % and ≤ 5 % A/A reports with a significant primary
    change; asserted with 3 points of slack for simulation noise (100 pairs). The two former gaps — weak
    long correlation at 200 requests (each run's own median interval covered 89 %) and the calm 2–3 % of
    200-request runs at 70 % queue load — are closed by withholding one run's own intervals below 700
    requests (docs/statistics.md section 3); their changes keep their intervals."""
    r = coverage.simulate(SC[name], n, 100)
    _check(r, 0.90, 0.09)
