"""A primary card whose unadjusted interval excludes 0 but whose Holm-adjusted test does not reject
never says "includes 0" (issue 26: "95% CI +1.1% to +9.0%, includes 0")."""

from __future__ import annotations

from casegen.analysis.metrics import Delta
from casegen.analysis.stats import DeltaCI
from casegen.story.findings import delta_finding


def _finding(ci: DeltaCI, family_size: int | None = 3):
    d = Delta(base=100.0, opt=105.0, abs=5.0, pct=5.0, verdict="worse")
    return delta_finding("ttft", "p50", d, ci, {("ttft", "p50")}, 0.95, "fixed concurrency 8", 300, 300, family_size)


def test_holm_non_rejection_is_said_as_such_not_as_includes_zero():
    f = _finding(DeltaCI(1.1, 9.0, 1.1, 9.0, False, True, "primary", 0.03, 0.09))
    assert f.verdict == "same" and f.value == "no significant change" and not f.regression
    assert "includes 0" not in f.detail and "includes 0" not in f.claim
    assert "not significant once corrected for 3 comparisons made together" in f.detail
    assert "unadjusted 95% CI +1.1% to +9.0%" in f.detail


def test_an_interval_that_includes_zero_still_says_so():
    f = _finding(DeltaCI(-1.0, 9.0, -1.0, 9.0, False, True, "primary", 0.2, 0.4))
    # a result in plain words (issue 23): what the interval rules out, not only that it includes 0
    assert "includes 0, so the true change is between −1.0% and +9.0%" in f.detail and "Holm" not in f.detail
    assert "no change detectable" in f.detail
