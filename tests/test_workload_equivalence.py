"""'Same workload' needs an equivalence test with a margin (issue 10 item 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from casegen.analysis.checks import mean_equivalence


def test_tost_by_hand():
    # base: 50 × 100 and 50 × 200 tokens (mean 150, s² = 2525.25); opt: the same + 3 tokens (mean 153)
    base = np.array([100.0, 200.0] * 50)  # alternating: no autocorrelation to speak of (lag-1 = −1)
    opt = base + 3
    e = mean_equivalence(base, opt, 0.05)
    s2 = np.var(base, ddof=1)
    se = math.sqrt(s2 / 100 + (153 / 150) ** 2 * s2 / 100) / 150
    assert e.diff == pytest.approx(0.02)
    assert (e.low, e.high) == pytest.approx((0.02 - 1.6448536 * se, 0.02 + 1.6448536 * se))
    # se ≈ 0.0478: the 90 % interval (−5.9 % … +9.9 %) leaves ±5 %: not shown to be the same
    assert not e.equivalent and not e.different and "not shown to be the same" in e.text()


def test_tost_power_against_prompts_20_percent_longer_and_equivalence_of_the_same_workload():
    rng = np.random.default_rng(0)
    caught = sum(mean_equivalence(rng.lognormal(6, 0.5, 100), 1.2 * rng.lognormal(6, 0.5, 100), 0.05).different
                 for _ in range(200))
    assert caught / 200 > 0.5  # ≈ 59 % (1,000 runs); the KS test alone caught 26–28 % (issue 10)
    same = sum(mean_equivalence(rng.lognormal(6, 0.5, 5000), rng.lognormal(6, 0.5, 5000), 0.05).equivalent
               for _ in range(100))
    assert same / 100 > 0.95
    wrong = sum(mean_equivalence(rng.lognormal(6, 0.5, 100), rng.lognormal(6, 0.5, 100), 0.05).equivalent
                for _ in range(200))
    assert wrong / 200 < 0.2  # at n = 100 sameness is rarely shown: the report says so instead of "same"
