"""Outputs of today's tool releases, made here (tests/fixtures/<tool>/<version>/PROVENANCE):
every file and folder kind they write is read (or refused with a clear error), and casegen's
figures from the per-request data agree with each tool's own summary (≤ 0.5 %) or the difference
is explained by its cause."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from casegen.analysis.metrics import compute_run_metrics, per_request_values, percentile
from casegen.analysis.sweep import build_sweep
from casegen.errors import CasegenError
from casegen.runs import detect_format, load_run, load_runs
from conftest import FIXTURES, ROOT

AIPERF = FIXTURES / "aiperf" / "0.13.0"
IPERF = FIXTURES / "inference-perf" / "0.7.0"


def _parity(run, method="linear"):
    m = compute_run_metrics(run, method)
    assert m.parity, "no figure to compare with the tool's summary"
    return m.parity


def _assert_parity(run, tol_pct=0.5, explained=("",), method="linear"):
    for row in _parity(run, method):
        if abs(row.diff_pct) > tol_pct:
            assert row.cause and row.cause != "unexplained", row
            assert row.cause.startswith(explained), row


# --------------------------------------------------------------------------- AIPerf 0.13


def test_aiperf_jsonl_per_request_hand_checked():
    path = AIPERF / "baseline-c4" / "profile_export.jsonl"
    assert detect_format(path) == "aiperf-jsonl"
    run = load_run(path)
    assert not run.summary_only and len(run.requests) == 40
    first = json.loads(path.read_text().splitlines()[0])
    assert run.requests["ttft_s"][0] == pytest.approx(first["metrics"]["time_to_first_token"]["value"] / 1e3)
    assert run.requests["e2e_s"][0] == pytest.approx(first["metrics"]["request_latency"]["value"] / 1e3)
    assert run.requests["output_tokens"][0] == first["metrics"]["output_sequence_length"]["value"]
    assert run.meta.max_concurrency == 4 and run.meta.request_rate is None
    assert "error" not in first  # 0.13 leaves out 'error' for a success


@pytest.mark.parametrize("folder", ["baseline-c4", "optimized-c4", "baseline-sweep/concurrency_8"])
def test_aiperf_parity_within_half_percent(folder):
    run = load_run(AIPERF / folder)
    rows = _parity(run)
    assert len(rows) >= 30
    assert max(abs(r.diff_pct) for r in rows) <= 0.5
    tp = run.tool_summary["throughput"]
    assert tp["input_tokens_per_s"] > 0 and tp["total_tokens_per_s"] > tp["output_tokens_per_s"]


def test_aiperf_rate_run_throughput_difference_is_explained():
    run = load_run(AIPERF / "baseline-rate5")
    assert run.meta.request_rate == 5.0
    flagged = [r for r in _parity(run) if r.flagged]
    assert {r.metric for r in flagged} == {"throughput"}
    for r in flagged:
        assert r.cause.startswith("duration window")
    _assert_parity(run, explained=("duration window",))


def test_aiperf_summary_csv_with_telemetry_table():
    run = load_run(AIPERF / "baseline-c4" / "profile_export_aiperf.csv")
    js = load_run(AIPERF / "baseline-c4" / "profile_export_aiperf.json")
    assert run.summary_only
    assert run.tool_summary["ttft"]["p99"] == pytest.approx(js.tool_summary["ttft"]["p99"], abs=0.01)


def test_aiperf_sweep_folder_is_per_request_by_concurrency():
    runs = load_runs(AIPERF / "baseline-sweep")
    assert [r.meta.max_concurrency for r in runs] == [1, 4, 8]
    assert all(not r.summary_only and len(r.requests) == 24 for r in runs)
    sweep = build_sweep(runs, "concurrency", label="baseline")
    assert sweep.load_kind == "concurrency" and len(sweep.points) == 3


@pytest.mark.parametrize("path,n", [
    ("baseline-sweep/sweep_aggregate", 3),
    ("baseline-sweep/sweep_aggregate/profile_export_aiperf_sweep.json", 3),
    ("baseline-sweep/sweep_aggregate/profile_export_aiperf_sweep.csv", 3),
    ("baseline-sweep/aggregate", 1),
    ("baseline-repeat/aggregate", 1),
    ("baseline-repeat/aggregate/profile_export_aiperf_aggregate.csv", 1),
])
def test_aiperf_aggregates_are_summary_only_runs(path, n):
    runs = load_runs(AIPERF / path)
    assert len(runs) == n
    assert all(r.summary_only and r.meta.format == "aiperf-aggregate" for r in runs)
    assert all(r.tool_summary["ttft"]["mean"] > 0 for r in runs)


def test_aiperf_sweep_aggregate_matches_the_per_point_summaries():
    agg = load_runs(AIPERF / "baseline-sweep" / "sweep_aggregate")
    for run in agg:
        c = run.meta.max_concurrency
        point = load_run(AIPERF / "baseline-sweep" / f"concurrency_{c}" / "profile_export_aiperf.json")
        # one trial per value: the mean over trials is that trial's average
        assert run.tool_summary["ttft"]["mean"] == pytest.approx(point.tool_summary["ttft"]["mean"], rel=1e-9)


def test_aiperf_repeated_runs_folder_lists_the_runs():
    with pytest.raises(CasegenError) as err:
        load_runs(AIPERF / "baseline-repeat")
    text = str(err.value)
    assert "2 repeated runs" in text and "profile_runs/run_0001" in text and "aggregate/" in text


def test_folder_of_several_runs_is_an_error_listing_them():
    with pytest.raises(CasegenError) as err:
        load_runs(AIPERF)
    text = str(err.value)
    assert "baseline-c4" in text and "optimized-c4" in text and "point case.yaml at one" in text


# --------------------------------------------------------------------------- inference-perf 0.7


def test_inference_perf_concurrency_stages_are_per_request_with_their_concurrency():
    runs = load_runs(IPERF / "baseline-concurrency")
    assert [r.meta.max_concurrency for r in runs] == [1, 4, 8]
    assert [r.meta.request_rate for r in runs] == [None, None, None]
    assert [len(r.requests) for r in runs] == [12, 24, 32]
    for r in runs:
        assert not any("fell behind" in w for w in r.warnings)
        assert not any(w.startswith("summary only") for w in r.warnings)
        assert r.meta.describe_load().startswith("max concurrency")
    sweep = build_sweep(runs, "concurrency", label="baseline")
    assert [p.load for p in sweep.points] == [1, 4, 8]


def test_inference_perf_rate_stages():
    runs = load_runs(IPERF / "baseline-rate")
    assert [r.meta.request_rate for r in runs] == [2.0, 5.0, 8.0]
    assert all(r.meta.max_concurrency is None for r in runs)
    assert sum(len(r.requests) for r in runs) == len(json.loads(
        (IPERF / "baseline-rate" / "per_request_lifecycle_metrics.json").read_text()))


@pytest.mark.parametrize("folder", ["baseline-concurrency", "optimized-concurrency", "baseline-rate"])
def test_inference_perf_parity_within_half_percent_or_explained(folder):
    for run in load_runs(IPERF / folder):
        rows = _parity(run)
        assert len(rows) >= 20
        assert max(abs(r.diff_pct) for r in rows if r.metric != "e2e") <= 0.5
        _assert_parity(run, explained=("E2E end point",))


def test_inference_perf_e2e_cause_is_the_end_point():
    """With inference-perf's end point (end of response, not last token) casegen's E2E is the tool's."""
    raw = json.loads((IPERF / "optimized-concurrency" / "per_request_lifecycle_metrics.json").read_text())
    raw.sort(key=lambda r: r["start_time"])
    stage1 = raw[12:36]
    tool = json.loads((IPERF / "optimized-concurrency" / "stage_1_lifecycle_metrics.json").read_text())
    e2e_end = [r["end_time"] - r["start_time"] for r in stage1]
    ref = tool["successes"]["latency"]["request_latency"]
    assert max(e2e_end) == pytest.approx(ref["max"], rel=1e-9)
    assert float(np.percentile(e2e_end, 99)) == pytest.approx(ref["p99"], rel=1e-9)
    run = load_runs(IPERF / "optimized-concurrency")[1]
    assert all(r.cause.startswith("E2E end point") for r in _parity(run) if r.flagged)
    tpot = [r for r in _parity(run) if r.metric == "tpot"]
    assert tpot and max(abs(r.diff_pct) for r in tpot) < 1e-6  # same definition: last − first token


def test_inference_perf_request_values_by_hand():
    raw = json.loads((IPERF / "baseline-concurrency" / "per_request_lifecycle_metrics.json").read_text())
    first = min(raw, key=lambda r: r["start_time"])
    run = load_runs(IPERF / "baseline-concurrency")[0]
    row = run.requests.row(int(np.argmin(run.requests["start_s"])))
    times = first["info"]["response_metrics"]["output_token_times"]
    assert row["ttft_s"] == pytest.approx(times[0] - first["start_time"])
    assert row["e2e_s"] == pytest.approx(times[-1] - first["start_time"])  # send → last token
    assert row["output_tokens"] == first["info"]["response_metrics"]["output_tokens"]
    # the tool's own per-request figure (computed_metrics) is the same TTFT
    assert row["ttft_s"] == pytest.approx(first["computed_metrics"]["time_to_first_token"])


def test_inference_perf_per_request_file_alone_is_split_by_the_stage_files():
    runs = load_runs(IPERF / "baseline-concurrency" / "per_request_lifecycle_metrics.json")
    assert [len(r.requests) for r in runs] == [12, 24, 32]


def test_inference_perf_per_request_file_without_stage_files(tmp_path):
    shutil.copy(IPERF / "baseline-rate" / "per_request_lifecycle_metrics.json", tmp_path)
    runs = load_runs(tmp_path / "per_request_lifecycle_metrics.json")
    assert len(runs) == 1 and len(runs[0].requests) == 60
    assert any("several load stages" in w for w in runs[0].warnings)


def test_inference_perf_count_mismatch_is_an_error(tmp_path):
    d = tmp_path / "r"
    shutil.copytree(IPERF / "baseline-rate", d)
    p = d / "per_request_lifecycle_metrics.json"
    records = json.loads(p.read_text())
    p.write_text(json.dumps(records[:-1]))
    with pytest.raises(CasegenError, match=r"holds 59 requests but the stage reports beside it sent 8 \+ 20 \+ 32"):
        load_runs(d)


def test_nearest_percentile_method_is_numpy_nearest():
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 7.0])
    for p in (50, 90, 95, 99):
        assert percentile(x, p, "nearest") == float(np.percentile(x, p, method="nearest"))
    assert percentile(np.arange(1, 21, dtype=float), 90, "nearest") == 18.0  # index round(19·0.9)=17


# --------------------------------------------------------------------------- GuideLLM 0.8

GUIDELLM = FIXTURES / "guidellm" / "0.8.1"


def test_guidellm_nearest_percentiles_reproduce_guidellm_exactly():
    """GuideLLM prints NumPy 'nearest' percentiles: with percentile_method nearest, casegen's TTFT and TPOT
    statistics from GuideLLM's own requests equal GuideLLM's figures."""
    for run in load_runs(GUIDELLM / "baseline-concurrent" / "benchmarks.json"):
        rows = _parity(run, "nearest")
        exact = [r for r in rows if r.metric in ("ttft", "tpot")]
        assert len(exact) >= 12
        assert max(abs(r.diff_pct) for r in exact) < 1e-4  # GuideLLM stores float32-rounded values
        _assert_parity(run, explained=("E2E end point",), method="nearest")


def test_guidellm_linear_percentile_differences_are_explained_by_the_method():
    runs = load_runs(GUIDELLM / "baseline-concurrent" / "benchmarks.json")
    flagged = [r for run in runs for r in _parity(run, "linear") if r.flagged]
    assert flagged, "linear and nearest percentiles should differ at n = 20"
    pct = [r for r in flagged if r.metric in ("ttft", "tpot")]
    assert pct and all(r.cause.startswith("percentile method") and "cumulative share" in r.cause for r in pct)
    assert all(r.cause != "unexplained" for r in flagged)


def test_guidellm_rule_reproduces_every_printed_percentile():
    """GuideLLM's own rule (first value whose floating-point cumulative share reaches p) reproduces
    every TTFT percentile it printed, at n = 20 and at n = 240, where NumPy 'nearest' and MLPerf's
    ⌊n·p⌋ each miss some (n·p whole: 0.95 · 240 = 228 → GuideLLM's p95 is the 229th value)."""
    runs = list(load_runs(GUIDELLM / "baseline-concurrent" / "benchmarks.json"))
    runs.append(load_run(ROOT / "cases" / "prompt-trimming-testserver" / "runs" / "full-prompt.json"))
    misses = {"nearest": 0, "mlperf": 0}
    for run in runs:
        ttft = per_request_values(run)["ttft"]
        for stat, printed in run.tool_summary["ttft"].items():
            if stat in ("p50", "p90", "p95", "p99"):
                assert percentile(ttft, float(stat[1:]), "guidellm") == pytest.approx(printed, rel=1e-6), stat
                misses = {m: k + (percentile(ttft, float(stat[1:]), m) != pytest.approx(printed, rel=1e-6))
                          for m, k in misses.items()}
    assert all(k > 0 for k in misses.values()), misses  # neither case setting is GuideLLM's rule


def test_prompt_trimming_headline_parity_is_explained():
    """The prompt-trimming example's TTFT p95: casegen 206.8 ms (linear), GuideLLM 213.3 ms, −3.08 %: the
    percentile definition, named with GuideLLM's value recomputed from the same 240 requests."""
    run = load_run(ROOT / "cases" / "prompt-trimming-testserver" / "runs" / "full-prompt.json")
    row = next(r for r in _parity(run, "linear") if r.metric == "ttft" and r.stat == "p95")
    assert row.flagged and row.diff_pct == pytest.approx(-3.08, abs=0.01)
    assert row.cause.startswith("percentile method") and "rule on the same requests gives 213 ms" in row.cause, row.cause


def test_guidellm_load_kind_from_strategy():
    conc = load_runs(GUIDELLM / "baseline-concurrent")
    assert [(r.meta.max_concurrency, r.meta.request_rate) for r in conc] == [(1, None), (4, None), (8, None)]
    rate = load_run(GUIDELLM / "baseline-rate5" / "benchmarks.json")
    assert rate.meta.request_rate == 5.0 and rate.meta.max_concurrency is None  # 10240 is only a cap
    assert rate.meta.extra["max_concurrency_cap"] == 10240


def test_guidellm_csv_is_summary_only_and_matches_the_json():
    csv_runs = load_runs(GUIDELLM / "baseline-concurrent" / "benchmarks.csv")
    js_runs = load_runs(GUIDELLM / "baseline-concurrent" / "benchmarks.json")
    assert detect_format(GUIDELLM / "baseline-concurrent" / "benchmarks.csv") == "guidellm-csv"
    assert [r.meta.max_concurrency for r in csv_runs] == [1, 4, 8]
    for c, j in zip(csv_runs, js_runs):
        assert c.summary_only
        for metric in ("ttft", "tpot", "e2e"):
            for stat in ("mean", "p50", "p90", "p99"):
                assert c.tool_summary[metric][stat] == pytest.approx(j.tool_summary[metric][stat], rel=1e-9)


def test_guidellm_output_folder_and_html_read_the_json():
    folder = load_runs(GUIDELLM / "baseline-concurrent")
    html = load_runs(GUIDELLM / "baseline-concurrent" / "benchmarks.html")
    assert all(not r.summary_only for r in folder + html)
    assert [r.meta.source for r in folder] == [r.meta.source for r in html]
    assert folder[0].meta.source.endswith("benchmarks.json")


def test_guidellm_html_alone_is_refused_with_a_pointer(tmp_path):
    shutil.copy(GUIDELLM / "baseline-concurrent" / "benchmarks.html", tmp_path)
    with pytest.raises(CasegenError, match="(?s)HTML report.*benchmarks.json"):
        load_runs(tmp_path / "benchmarks.html")


def test_folder_with_outputs_of_several_tools_is_an_error(tmp_path):
    shutil.copy(GUIDELLM / "baseline-rate5" / "benchmarks.json", tmp_path)
    shutil.copy(AIPERF / "baseline-c4" / "profile_export.jsonl", tmp_path)
    with pytest.raises(CasegenError) as err:
        load_runs(tmp_path)
    text = str(err.value)
    assert "several tools" in text and "benchmarks.json" in text and "profile_export.jsonl" in text


def test_folder_of_sglang_files_reads_every_run(tmp_path):
    src = sorted((FIXTURES / "sglang").glob("*.jsonl"))[:2]
    for f in src:
        shutil.copy(f, tmp_path)
    runs = load_runs(tmp_path)
    assert len(runs) == sum(len(load_runs(f)) for f in src)
    assert [r.meta.index for r in runs] == list(range(len(runs)))
    assert {r.meta.extra["file"] for r in runs} == {f.name for f in src}


def test_aiperf_duration_window_cause_is_exact():
    """AIPerf 0.13's request_throughput is request_count / (end_time − start_time) for every run here."""
    from datetime import datetime

    for path in sorted(AIPERF.rglob("profile_export_aiperf.json")):
        s = json.loads(path.read_text())
        window = (datetime.fromisoformat(s["end_time"]) - datetime.fromisoformat(s["start_time"])).total_seconds()
        assert s["request_count"]["avg"] / window == pytest.approx(s["request_throughput"]["avg"], rel=1e-6)
