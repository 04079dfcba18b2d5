"""A case with three interleaved repetitions a side, made with GuideLLM 0.8.1 against the test
server (tests/fixtures/guidellm/0.8.1-repeats, PROVENANCE there): the runs are the unit, paired by
their start times, and the report says so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from casegen.analysis import repetitions, uncertainty
from casegen.analysis.study import analyze
from casegen.case.model import load_case
from casegen.cli.main import main
from casegen.runs import load_run
from conftest import FIXTURES

CASE = FIXTURES / "guidellm" / "0.8.1-repeats"
ORDER = ["baseline-1", "optimized-1", "baseline-2", "optimized-2", "baseline-3", "optimized-3"]


@pytest.fixture(scope="module")
def study():
    case, d = load_case(CASE / "case.yaml")
    return analyze(case, d)


def _p50(name: str, metric: str = "ttft") -> float:
    run = load_run(CASE / name / "benchmarks.json")
    return repetitions.series_statistic(uncertainty.metric_series(run)[metric], "p50")


def test_the_runs_were_made_alternately():
    dates = [load_run(CASE / n / "benchmarks.json").meta.date for n in ORDER]
    assert dates == sorted(dates) and len(set(dates)) == 6


def test_runs_are_the_unit_and_paired(study):
    assert study.unit == "runs" and study.paired_runs
    assert study.intervals["baseline"].unit == "runs"
    assert any(n.startswith("Repetitions are the unit") and "alternately" in n for n in study.notes)
    assert "t-interval over 3 runs" in study.intervals["optimized"].method["ttft"]


def test_paired_delta_by_hand(study):
    """TTFT p50: ratio = pooled optimized / pooled baseline; se from the three pairs' differences of
    the runs' log medians (case.yaml lists the optimized runs out of order: pairing follows the start
    times); interval ratio · exp(± t₂ · se), shown as a relative and an absolute change."""
    diffs = np.array([np.log(_p50(f"optimized-{i}")) - np.log(_p50(f"baseline-{i}")) for i in (1, 2, 3)])
    se = diffs.std(ddof=1) / np.sqrt(3)
    d = study.delta_cis["ttft"]["p50"]
    bp, op = study.metrics["baseline"].latency_ms["ttft"].p50, study.metrics["optimized"].latency_ms["ttft"].p50
    t = sps.t.ppf(0.975, 2)
    lo, hi = op / bp * np.exp(-t * se), op / bp * np.exp(t * se)
    assert d.pct_low == pytest.approx((lo - 1) * 100, rel=1e-6) and d.pct_high == pytest.approx((hi - 1) * 100, rel=1e-6)
    assert d.abs_low == pytest.approx(bp * (lo - 1), rel=1e-6) and d.abs_high == pytest.approx(bp * (hi - 1), rel=1e-6)
    assert d.p_value == pytest.approx(2 * sps.t.sf(abs(np.log(op / bp)) / se, 2), rel=1e-6)
    assert d.family == "primary" and d.p_adjusted is not None and d.pct_low > -100
    side = study.intervals["optimized"].intervals["ttft"]["p50"]
    assert side[0] > 0  # a latency's interval stays positive


def test_run_to_run_spread_is_the_evidence(study):
    """These runs were made on a busy machine: the second optimized run was far slower than the
    others, and the test server's TTFT grows with the requests in flight. The pooled requests of
    either side look saturated, so a request-level analysis withholds the TTFT change (†, "repeat
    the run"); with the runs as the unit there is an interval — wide, because the spread between
    runs is larger than the change — and no significant change."""
    case, _d = load_case(CASE / "case.yaml")
    runs = {s: study.runs[s] for s in ("baseline", "optimized")}
    ivs = [uncertainty.run_intervals(runs[s], 0.95, 1000, 0, i) for i, s in enumerate(runs)]
    naive = uncertainty.delta_intervals(ivs[0], ivs[1], 0.95, uncertainty.primary_family(case))
    assert not naive["ttft"]["p50"].supported and "three or more runs per side would" in ivs[0].reasons["ttft"]["p50"]
    d = study.delta_cis["ttft"]["p50"]
    assert d.supported and not d.significant and d.abs_low < 0 < d.abs_high
    vals = [_p50(n) for n in ORDER]
    assert max(vals) / min(vals) > 3


def test_summary_json_states_the_unit(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(CASE), "-o", str(out), "--format", "json", "-q"])
    assert result.exit_code in (0, 3), result.output
    s = json.loads((out / "summary.json").read_text())
    assert s["multiplicity"]["unit"] == "runs" and s["multiplicity"]["paired_runs"] is True
    assert s["intervals"]["baseline"]["unit"] == "runs"
    diff = s["multiplicity"]["slo_attainment_differences"]
    assert diff and diff[0]["unit"] == "runs" and diff[0]["metric"] == "ttft"
