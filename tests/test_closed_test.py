"""The primary family's correction: the closed test (``stats.closed_test``), checked by hand and against
exact integrals (SciPy), and through ``uncertainty.delta_intervals`` with the family's estimated correlation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from casegen.analysis import stats, uncertainty
from casegen.analysis.uncertainty import RunIntervals

scipy_stats = pytest.importorskip("scipy.stats")
integrate = pytest.importorskip("scipy.integrate")


def _p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


def _exact_pair(z: tuple[float, float], rho: float) -> float:
    """The intersection test's p-value for two z-scores with correlation ρ, by numerical integration: with
    m = min(2·min p_i, Stouffer's p), P(max|Z_i| ≥ Φ̄⁻¹(m/4) or |Z_1 + Z_2|/√(2 + 2ρ) ≥ Φ̄⁻¹(m/2)) under
    N(0, R), integrating Z_2 | Z_1 = x ~ N(ρx, 1 − ρ²) over the region where neither holds."""
    n = scipy_stats.norm
    sd = math.sqrt(2 + 2 * rho)
    m = min(1.0, 2 * min(_p(v) for v in z), 2 * n.sf(abs(sum(z)) / sd))
    c_max, c_sum = n.isf(m / 4), n.isf(m / 2) * sd
    s = math.sqrt(1 - rho * rho)

    def inside(x: float) -> float:
        lo, hi = max(-c_max, -c_sum - x), min(c_max, c_sum - x)
        return 0.0 if hi <= lo else n.cdf((hi - rho * x) / s) - n.cdf((lo - rho * x) / s)

    miss, _err = integrate.quad(lambda x: n.pdf(x) * inside(x), -c_max, c_max, limit=200)
    return 1 - miss


def test_without_a_correlation_it_is_holm():
    z = [2.5, -1.0, 2.1]
    assert stats.closed_test(z, None) == pytest.approx(stats.holm([_p(v) for v in z]))
    # a single hypothesis is its own test
    assert stats.closed_test([2.0], np.eye(1)) == pytest.approx([_p(2.0)])


def test_two_changes_together_by_hand():
    """z = (2.2, 2.2), independent: each p = 0.0278. Holm needs one below 0.025 first: nothing (both 0.0556).
    The closed test: {1, 2} has Stouffer's z 4.4/√2 = 3.11 (p 0.0019), so its p-value (calibrated for also
    looking at the largest |z|) is 0.0033 by integration; each hypothesis's adjusted p is then its own
    0.0278: both rejected at 5 %."""
    eye = np.eye(2)
    assert stats.holm([_p(2.2)] * 2) == pytest.approx([0.0556, 0.0556], abs=1e-4)
    assert stats.intersection_p(np.array([2.2, 2.2]), eye) == pytest.approx(0.00333, abs=0.0012)
    assert stats.closed_test([2.2, 2.2], eye) == pytest.approx([0.0278, 0.0278], abs=1e-4)


def test_a_trade_off_is_judged_as_holm_judges_it():
    """One better, one worse (z = 2.2 and −2.2): the sum cancels, so {1, 2} rests on the largest |z|
    alone — p 0.087 > 5 %: neither is claimed, as with Holm (0.0556). A clear trade-off (z = −4.0, +2.6,
    −0.5): the worse TPOT (p 0.0093) is claimed by both: every intersection holding it has a small
    largest-|z| p-value ({2, 3}: 2 × 0.0093 = 0.0186, calibrated 0.03)."""
    assert all(p >= 0.05 for p in stats.closed_test([2.2, -2.2], np.eye(2)))
    adj = stats.closed_test([-4.0, 2.6, -0.5], np.eye(3))
    holm = stats.holm([_p(v) for v in (-4.0, 2.6, -0.5)])
    assert [p < 0.05 for p in adj] == [p < 0.05 for p in holm] == [True, True, False]


def test_correlated_changes_moving_together_are_less_evidence():
    """z = (2.0, 2.0): uncorrelated, the pair's p-value is 0.008; at ρ 0.5 it is 0.029, at 0.9 0.042 (the
    sum of two copies of one change is no new evidence). Each hypothesis is rejected in all three (its own
    p 0.0455 is the largest test it needs); Holm rejects neither (0.091)."""
    got = [stats.intersection_p(np.array([2.0, 2.0]), np.array([[1, r], [r, 1]])) for r in (0.0, 0.5, 0.9)]
    assert got[0] < got[1] < got[2] < 0.0455
    for r in (0.0, 0.5, 0.9):
        assert stats.closed_test([2.0, 2.0], np.array([[1, r], [r, 1]])) == pytest.approx([0.0455, 0.0455], abs=1e-4)


@pytest.mark.parametrize("z, rho", [((2.2, 2.2), 0.0), ((2.2, -2.2), 0.0), ((2.0, 2.0), 0.5), ((2.0, 2.0), 0.9),
                                    ((1.9, 2.3), 0.3), ((2.6, -0.5), 0.0), ((1.5, -1.0), -0.4)])
def test_intersection_p_matches_the_exact_integral(z, rho):
    exact = _exact_pair(z, rho)
    got = stats.intersection_p(np.array(z), np.array([[1, rho], [rho, 1]]))
    assert got == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / stats.CLOSED_DRAWS) + 1e-4)


def test_three_hypotheses_against_an_independent_simulation():
    """z = (−2.3, −1.0, −2.2) for TTFT, TPOT, E2E, TTFT and E2E correlated 0.6 (TPOT independent): adjusted
    p-values from 400,000 independent draws of N(0, R) for every intersection agree with the function's
    (20,000 draws, its own seed). TTFT and E2E are claimed (adjusted 0.032 and 0.037: {TTFT, TPOT} has
    Stouffer's z 3.3/√2 = 2.33), TPOT is not (its own p 0.317); Holm claims none (3 × 0.0214 = 0.064)."""
    r = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.0], [0.6, 0.0, 1.0]])
    z = np.array([-2.3, -1.0, -2.2])
    ref_null = np.random.default_rng(1).standard_normal((400_000, 3)) @ np.linalg.cholesky(r).T
    ref = [_p(v) for v in z]
    for subset in ([0, 1], [0, 2], [1, 2], [0, 1, 2]):
        p_s = stats.intersection_p(z[subset], r[np.ix_(subset, subset)], ref_null[:, subset])
        for i in subset:
            ref[i] = max(ref[i], p_s)
    got = stats.closed_test(list(z), r)
    assert got == pytest.approx(ref, abs=0.004)
    assert [p < 0.05 for p in got] == [True, False, True]
    assert not any(p < 0.05 for p in stats.holm([_p(v) for v in z]))


def test_long_run_correlation_sees_a_lagged_relation_and_never_goes_below_lag_0():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3000)
    lagged = np.roll(x, 1) + 0.3 * rng.standard_normal(3000)  # y_t follows x_{t−1}: no lag-0 correlation
    assert abs(uncertainty.long_run_correlation(x, lagged, 0)) < 0.05
    assert uncertainty.long_run_correlation(x, lagged, 40) > 0.8
    y = 0.5 * x + rng.standard_normal(3000)
    lag0 = float(np.corrcoef(x, y)[0, 1])
    assert uncertainty.long_run_correlation(x, y, 40) >= lag0 - 1e-12
    with_gaps = x.copy()
    with_gaps[::7] = np.nan  # a request with no value for one metric is left out of that pair
    assert math.isfinite(uncertainty.long_run_correlation(with_gaps, y, 10))


def _side(draws: dict[str, np.ndarray], influence: dict[str, np.ndarray] | None) -> RunIntervals:
    out = RunIntervals()
    for m, d in draws.items():
        out.boot[m] = {"p50": d}
        out.supported[m] = {"p50": True}
        if influence is not None:
            out.influence[(m, "p50")] = influence[m]
    return out


def test_delta_intervals_use_the_closed_test_when_the_runs_carry_influences():
    """Three medians each about 2.2 standard errors lower (p ≈ 0.028), independent: Holm claims none, the
    closed test all three. Without the per-request influences (the correlation unknown) it is Holm."""
    rng = np.random.default_rng(5)
    metrics = ("ttft", "tpot", "e2e")
    base = {m: 100 + rng.standard_normal(2000) for m in metrics}
    opt = {m: 100 - 2.2 * math.sqrt(2) + rng.standard_normal(2000) for m in metrics}
    fam = [(m, "p50") for m in metrics]
    infl = {m: rng.standard_normal(500) for m in metrics}
    infl_o = {m: rng.standard_normal(500) for m in metrics}
    closed = uncertainty.delta_intervals(_side(base, infl), _side(opt, infl_o), 0.95, fam)
    holm = uncertainty.delta_intervals(_side(base, None), _side(opt, None), 0.95, fam)
    assert all(0.01 < closed[m]["p50"].p_value < 0.05 for m in metrics)
    assert all(closed[m]["p50"].significant for m in metrics)
    assert not any(holm[m]["p50"].significant for m in metrics)
    assert all(closed[m]["p50"].p_adjusted == pytest.approx(closed[m]["p50"].p_value) for m in metrics)
    # summary.json's multiplicity.correction reads which one was used
    assert {closed[m]["p50"].correction for m in metrics} == {"closed"}
    assert {holm[m]["p50"].correction for m in metrics} == {"holm"}


def test_family_correlation_of_one_change_measured_twice_is_one():
    """Two primary statistics whose influences are the same series (one change counted twice) are
    correlated 1 on each side, so their changes are too: the sum then adds no evidence."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(400), rng.standard_normal(400)
    base, opt = RunIntervals(), RunIntervals()
    for side, series in ((base, x), (opt, y)):
        side.influence[("ttft", "p50")] = series
        side.influence[("e2e", "p50")] = series
    spread = {("ttft", "p50"): (1.0, 2.0, -1.0, -2.0, 0.002), ("e2e", "p50"): (3.0, 6.0, -1.0, -2.0, 0.002)}
    got = uncertainty.family_correlation(base, opt, [("ttft", "p50"), ("e2e", "p50")], spread)
    assert got is not None
    corr, signs, _z = got
    assert corr[0, 1] == pytest.approx(1.0) and signs == [-1.0, -1.0]
    # a statistic with no influence (pooled gaps; runs as the unit): no estimate, so Holm
    assert uncertainty.family_correlation(base, opt, [("ttft", "p50"), ("itl", "p50")], spread) is None
