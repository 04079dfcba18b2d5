"""Metric definitions checked against hand-computed values and the tools' own summaries."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from casegen.analysis.metrics import compute_run_metrics, delta, describe, per_request_values, percentile
from casegen.runs import load_run
from conftest import VLLM, write


def test_percentile_linear_matches_hand_computation():
    x = [10.0, 20.0, 30.0, 40.0]
    # h = (n-1)·p = 3·0.9 = 2.7 → 30 + 0.7·(40−30) = 37
    assert percentile(x, 90) == pytest.approx(37.0)
    assert percentile(x, 50) == pytest.approx(25.0)


def test_percentile_mlperf_nearest_rank():
    x = np.arange(1, 1001, dtype=float)  # 1..1000
    # sorted[floor(1000·0.99)] = sorted[990] = 991 (0-based index)
    assert percentile(x, 99, "mlperf") == 991.0
    assert percentile(x, 99, "linear") == pytest.approx(990.01)


def test_describe_population_std_and_stats():
    d = describe([1.0, 2.0, 3.0, 4.0])
    assert d.n == 4 and d.mean == 2.5 and d.min == 1 and d.max == 4
    assert d.std == pytest.approx(math.sqrt(1.25))  # ddof=0
    assert describe([]) is None
    assert describe([math.nan]) is None


def test_hand_computed_run(tmp_path):
    # two successes, one failure; times in ms, start in s
    csv = write(tmp_path / "r.csv", (
        "start_s,ttft_ms,e2e_ms,input_tokens,output_tokens,chunk_gaps_ms,error\n"
        "0,100,1000,50,10,100 100 100 100 100 100 100 100 100,\n"
        "1,200,2200,70,21,,\n"
        "2,,,60,0,,timeout\n"
    ))
    run = load_run(csv)
    m = compute_run_metrics(run)
    assert m.requests == {"total": 3, "succeeded": 2, "failed": 1, "error_rate": pytest.approx(1 / 3)}
    # TPOT = (E2E − TTFT)/(N − 1): (1000−100)/9 = 100, (2200−200)/20 = 100
    assert m.latency_ms["tpot"].mean == pytest.approx(100.0)
    assert m.latency_ms["ttft"].mean == pytest.approx(150.0)
    assert m.latency_ms["e2e"].p50 == pytest.approx(1600.0)
    assert m.latency_ms["decode"].mean == pytest.approx((900 + 2000) / 2)
    assert m.latency_ms["itl"].n == 9 and m.latency_ms["itl"].mean == pytest.approx(100.0)
    # duration from timestamps: max(start+e2e) − min(start) = (1 + 2.2) − 0 = 3.2 s
    assert m.throughput["duration_s"] == pytest.approx(3.2)
    assert m.throughput["requests_per_s"] == pytest.approx(2 / 3.2)
    assert m.throughput["output_tokens_per_s"] == pytest.approx(31 / 3.2)
    assert m.throughput["total_tokens_per_s"] == pytest.approx((31 + 120) / 3.2)
    # prefill share = ΣTTFT / ΣE2E = 300 / 3200
    assert m.split["prefill_share"] == pytest.approx(300 / 3200)
    assert m.one_token_responses == 0


def test_one_token_response_has_no_tpot(tmp_path):
    csv = write(tmp_path / "r.csv", "ttft_s,e2e_s,output_tokens\n0.1,0.1,1\n0.1,0.5,5\n")
    m = compute_run_metrics(load_run(csv))
    assert m.latency_ms["tpot"].n == 1
    assert m.latency_ms["tpot"].mean == pytest.approx(100.0)
    assert m.one_token_responses == 1


@pytest.mark.parametrize("name", ["h100-llama31-8b-fp16-c16-detailed.json", "h100-llama31-8b-fp8-c16-detailed.json"])
def test_vllm_parity_with_tool_summary(name):
    """Recomputed figures match what vLLM printed (same definitions) within 0.5%."""
    raw = json.loads((VLLM / name).read_text())
    run = load_run(VLLM / name)
    m = compute_run_metrics(run)
    checks = {
        ("ttft", "mean"): raw["mean_ttft_ms"], ("ttft", "p50"): raw["median_ttft_ms"],
        ("ttft", "p99"): raw["p99_ttft_ms"], ("tpot", "mean"): raw["mean_tpot_ms"],
        ("tpot", "p50"): raw["median_tpot_ms"], ("tpot", "p99"): raw["p99_tpot_ms"],
        ("itl", "mean"): raw["mean_itl_ms"], ("itl", "p50"): raw["median_itl_ms"],
        ("itl", "p99"): raw["p99_itl_ms"], ("ttft", "std"): raw["std_ttft_ms"],
    }
    for (metric, stat), expected in checks.items():
        assert m.latency_ms[metric].get(stat) == pytest.approx(expected, rel=0.005), (metric, stat)
    assert m.throughput["requests_per_s"] == pytest.approx(raw["request_throughput"], rel=0.005)
    assert m.throughput["output_tokens_per_s"] == pytest.approx(raw["output_throughput"], rel=0.005)
    assert m.throughput["total_tokens_per_s"] == pytest.approx(raw["total_token_throughput"], rel=0.005)
    assert m.parity and not any(p.flagged for p in m.parity)
    # E2E rebuilt as TTFT + Σ gaps: mean E2E = mean TTFT + mean TPOT·(170 − 1) here (fixed 170 tokens)
    assert m.latency_ms["e2e"].mean == pytest.approx(raw["mean_ttft_ms"] + raw["mean_tpot_ms"] * 169, rel=1e-6)


def test_parity_flags_disagreement():
    run = load_run(VLLM / "h100-llama31-8b-fp16-c16-detailed.json")
    run.tool_summary["ttft"]["mean"] *= 1.05  # pretend the tool printed 5% more
    m = compute_run_metrics(run)
    flagged = [p for p in m.parity if p.flagged]
    assert [(p.metric, p.stat) for p in flagged] == [("ttft", "mean")]
    assert flagged[0].diff_pct == pytest.approx(-100 * 0.05 / 1.05, rel=1e-6)


def test_summary_only_run_uses_tool_figures():
    run = load_run(VLLM / "llm-d-l40s-llama32-3b-3deployments-x-3rates-append-result.json", select=0)
    m = compute_run_metrics(run)
    assert m.source == "summary"
    assert m.latency_ms["ttft"].mean == pytest.approx(54.59561144333596)
    assert m.latency_ms["ttft"].n is None and m.latency_ms["ttft"].p90 is None
    assert m.throughput["requests_per_s"] == pytest.approx(8.369432347779671)
    assert m.requests["succeeded"] == 300
    assert m.split["estimated"] is True


def test_delta_direction_and_same():
    d = delta(100.0, 80.0)
    assert d.abs == -20 and d.pct == pytest.approx(-20) and d.verdict == "better"
    assert delta(100.0, 120.0).verdict == "worse"
    assert delta(100.0, 100.2).verdict == "same"
    assert delta(10.0, 12.0, lower_is_better=False).verdict == "better"
    assert delta(None, 1.0) is None


def test_per_request_values_exclude_failures(tmp_path):
    csv = write(tmp_path / "r.csv", "ttft_ms,e2e_ms,success\n10,20,true\n5,7,false\n")
    v = per_request_values(load_run(csv))
    assert list(v["ttft"]) == [10.0] and list(v["e2e"]) == [20.0]


def test_one_pass_percentiles_equal_single_percentiles():
    import numpy as np

    from casegen.analysis.metrics import percentile, percentiles

    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 100, 1001):
        x = rng.lognormal(0, 2, n)
        for method in ("linear", "nearest", "mlperf"):
            got = percentiles(x, method)
            assert got == {k: percentile(x, p, method) for k, p in zip(got, (50, 90, 95, 99))}
