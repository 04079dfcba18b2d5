"""Warm-up trimming keeps throughput honest (issue 10 item 5), checked by hand."""

from __future__ import annotations

import pytest

from casegen.analysis.metrics import compute_run_metrics
from casegen.analysis.slo import evaluate_slos
from casegen.analysis.study import analyze
from casegen.analysis.window import pool, trim
from casegen.case.model import SLO, Analysis, Trim, load_case
from casegen.runs import load_run
from conftest import write


def _csv(tmp_path, with_start: bool):
    # 10 requests: output 10 tokens each except the first two (warm-up) with 100 tokens
    head = ("start_s," if with_start else "") + "ttft_ms,e2e_ms,input_tokens,output_tokens\n"
    rows = "".join((f"{i}," if with_start else "") + f"10,1000,50,{100 if i < 2 else 10}\n" for i in range(10))
    return write(tmp_path / ("ts.csv" if with_start else "nots.csv"), head + rows)


def test_fraction_trim_without_timestamps_keeps_the_whole_runs_throughput(tmp_path):
    run = load_run(_csv(tmp_path, False), duration_s=10.0)
    full = compute_run_metrics(run)
    assert full.throughput["requests_per_s"] == pytest.approx(1.0)  # 10 requests / 10 s
    assert full.throughput["output_tokens_per_s"] == pytest.approx(28.0)  # (2·100 + 8·10) / 10 s
    t = trim(run, Trim(fraction=0.2), None, where="x")
    m = compute_run_metrics(t)
    assert m.requests["total"] == 8  # latency statistics: the kept requests
    assert m.latency_ms["ttft"].n == 8
    # throughput: still 10 requests and 280 tokens over 10 s, not 8 over 10 s (0.8 req/s)
    assert m.throughput["requests_per_s"] == pytest.approx(1.0)
    assert m.throughput["output_tokens_per_s"] == pytest.approx(28.0)
    assert any("throughput is the whole run's" in w for w in t.warnings)
    # goodput: every kept request meets the SLO → 100 % × 10 issued / 10 s = 1.0 req/s (not 0.8)
    s = evaluate_slos(t, [SLO(metric="ttft", percentile=99, threshold_ms=100)], Analysis(), m.throughput["duration_s"])
    assert s.joint_attainment == 1.0 and s.goodput_rps == pytest.approx(1.0)


def test_fraction_trim_with_timestamps_measures_the_kept_window(tmp_path):
    run = load_run(_csv(tmp_path, True))
    # sends at 0..9 s, each 1 s long: span 0..10 s; warm-up 20 % = 2 s → keep sends at 2..9 s over 8 s
    t = trim(run, Trim(fraction=0.2), None, where="x")
    m = compute_run_metrics(t)
    assert m.requests["total"] == 8 and t.meta.duration_s == pytest.approx(8.0)
    assert m.throughput["requests_per_s"] == pytest.approx(1.0)
    assert m.throughput["output_tokens_per_s"] == pytest.approx(80 / 8)  # the warm-up's long answers are gone


def test_pooled_trimmed_repetitions_add_their_whole_run_counts(tmp_path):
    a = trim(load_run(_csv(tmp_path, False), duration_s=10.0), Trim(fraction=0.2), None, where="x")
    b = trim(load_run(_csv(tmp_path, False), duration_s=5.0), Trim(fraction=0.2), None, where="x")
    m = compute_run_metrics(pool([a, b], where="x"))
    assert m.requests["total"] == 16
    assert m.throughput["requests_per_s"] == pytest.approx(20 / 15)


def test_example_warmup_fraction_does_not_move_throughput_or_cost(example_case):
    case, d = load_case(example_case)
    before = analyze(case, d)
    f = example_case / "case.yaml"
    f.write_text(f.read_text() + "\nanalysis:\n  warmup: {fraction: 0.2}\n")
    case, d = load_case(example_case)
    after = analyze(case, d)
    assert after.metrics["baseline"].requests["total"] == 80
    for side in ("baseline", "optimized"):
        assert after.metrics[side].throughput["requests_per_s"] == pytest.approx(
            before.metrics[side].throughput["requests_per_s"])
    assert before.cost is not None and before.cost.payback_months is not None
    assert after.cost.payback_months == pytest.approx(before.cost.payback_months)
