"""Issue 21, fourth round: one run's own intervals need enough requests for the run to show its own
dependence (``uncertainty.OWN_MIN_REQUESTS``; a mean ``OWN_MEAN_MIN_REQUESTS``); the changes between two
runs keep theirs. Below that a weak long correlation is found in 65 % of 200-request runs and the rest
printed medians covering 78 %; a 200-request stretch of a queue at 70 % load could look calm and print a
median covering 24–37 %. Small seeded simulations; the tables are benchmarks/coverage.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from casegen.analysis import uncertainty
from casegen.cli.main import main
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import coverage  # noqa: E402

SC = {s.name: s for s in coverage.SCENARIOS}


def _run(v: np.ndarray, seed: int) -> uncertainty.RunIntervals:
    return coverage.run_intervals_of({m: v for m in coverage.METRICS}, np.random.default_rng(seed), 400)


def test_a_short_run_withholds_its_own_intervals_and_keeps_its_changes():
    """200 independent requests a side: every own interval is withheld (†) with the reason, the draws stay
    supported, and the change of the median keeps its interval (a 15 % improvement is still found)."""
    rng = np.random.default_rng(4)
    base = _run(coverage._lognormal(rng.standard_normal(200)), 1)
    opt = _run(0.85 * coverage._lognormal(rng.standard_normal(200)), 2)
    for iv in (base, opt):
        for m in coverage.METRICS:
            assert all(ci is None for ci in iv.intervals[m].values())
            assert iv.supported[m]["p50"] and iv.supported[m]["p90"]
            why = iv.withheld[m]["p50"]
            assert "200 requests are too few" in why and f"≥ {uncertainty.OWN_MIN_REQUESTS:,}" in why
            assert "mean" not in iv.withheld[m]  # a mean of 200 requests was already unsupported (†)
    cis = uncertainty.delta_intervals(base, opt, 0.95, [("ttft", "p50")])
    d = cis["ttft"]["p50"]
    assert d.supported and d.significant and d.abs_high < 0


def test_the_thresholds_are_rules_on_the_number_of_requests():
    """At OWN_MIN_REQUESTS requests the percentiles print and a mean is still withheld; from
    OWN_MEAN_MIN_REQUESTS the mean prints too. Repetitions as the unit are not touched."""
    rng = np.random.default_rng(5)
    for seed in range(10):  # a run that looks independent (a mean then needs ≥ 500 effective requests)
        mid = _run(coverage._lognormal(rng.standard_normal(uncertainty.OWN_MIN_REQUESTS)), seed)
        if not mid.dependence["ttft"].dependent:
            break
    assert mid.intervals["ttft"]["p50"] is not None and "p50" not in mid.withheld.get("ttft", {})
    assert mid.supported["ttft"]["mean"] and mid.intervals["ttft"]["mean"] is None
    assert f"≥ {uncertainty.OWN_MEAN_MIN_REQUESTS:,}" in mid.withheld["ttft"]["mean"]
    long = _run(coverage._lognormal(rng.standard_normal(uncertainty.OWN_MEAN_MIN_REQUESTS)), 2)
    assert long.intervals["ttft"]["mean"] is not None and not long.withheld
    runs = _run(coverage._lognormal(rng.standard_normal(200)), 3)
    runs.unit = "runs"
    runs.withheld = {}
    runs.intervals["ttft"]["p50"] = (1.0, 2.0)
    assert uncertainty.withhold_short_run(runs).intervals["ttft"]["p50"] == (1.0, 2.0)


def test_an_own_interval_below_its_95_bound_is_withheld_and_its_change_kept():
    """AR(1) ρ 0.9 at 1,000 requests a side (long enough for own intervals): where the median clears the
    support rule's 80 % bound but not its own interval's 95 % bound (``uncertainty.own_interval_rule``), the
    run's own interval is withheld with the reason, the change keeps its interval, and the report's
    short-run note does not claim the run was too short."""
    sc = SC["AR(1) ρ 0.9 lognormal"]
    rng = np.random.default_rng(11)
    found = None
    for _ in range(40):
        iv = coverage.run_intervals_of(coverage.draw_run(sc, rng, 1000), rng, 300)
        m = next((m for m in coverage.METRICS if "p50" in iv.withheld.get(m, {})), None)
        if m is not None:
            found = (iv, m)
            break
    assert found is not None
    iv, m = found
    assert iv.supported[m]["p50"] and iv.intervals[m]["p50"] is None
    assert "(95% lower bound of an estimate)" in iv.withheld[m]["p50"]
    assert not uncertainty.withheld_for_length(iv)
    other = coverage.run_intervals_of(coverage.draw_run(sc, rng, 1000), rng, 300)
    d = uncertainty.delta_intervals(iv, other, 0.95, coverage.FAMILY)[m]["p50"]
    assert d.supported or not other.supported[m]["p50"]
    short = _run(coverage._lognormal(np.random.default_rng(4).standard_normal(200)), 1)
    assert uncertainty.withheld_for_length(short)


def test_weak_long_correlation_and_calm_queue_stretches_print_no_own_interval_at_200():
    """The two cases the issue names: no own interval is printed at 200 requests (before: weak long
    correlation printed medians in 89 % of runs covering 89 %, the 70 %-load queue in 2–3 % covering
    24–37 %); the changes keep their intervals and cover (their A/A rate, 4.2 % at 1,000 pairs, is
    test_dependence_power2's)."""
    wl = coverage.simulate(SC["weak long correlation"], 200, 60, resamples=400)
    assert all(shown == 0 for _c, shown in wl["coverage"].values())
    assert wl["delta_coverage"]["p50"][0] >= 0.93 and wl["delta_coverage"]["p50"][1] > 0.7
    q = coverage.simulate(SC["M/G/4 queue, 70 % load"], 200, 60, resamples=200)
    assert all(shown == 0 for _c, shown in q["coverage"].values())


def test_the_example_report_says_why_and_what_would_support_the_intervals(tmp_path: Path):
    """The FP8 example (100 requests a side): its TTFT p50 change keeps its interval; each run's own is
    withheld, summary.json says why, and the notes name the remedy."""
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["build", str(ROOT / "cases" / "h100-llama31-8b-fp8"), "-o", str(out),
                                 "--format", "json", "-q"])
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    for side in ("baseline", "optimized"):
        iv = s["intervals"][side]
        assert iv["latency_ms"]["ttft"]["p50"] is None and iv["supported"]["ttft"]["p50"] is True
        assert "100 requests are too few" in iv["withheld"]["ttft"]["p50"]
    d = s["deltas"]["latency_ms"]["ttft"]["p50"]
    assert d["supported"] and d["ci_pct"] is not None and d["significant"]
    note = next(n for n in s["notes"] if "own latency intervals are withheld" in n)
    assert "three or more runs per side" in note and f"{uncertainty.OWN_MIN_REQUESTS:,} or more" in note

