"""The worked example: summary.json figures agree with the vLLM files' own summaries (≤ 0.5%)."""

from __future__ import annotations

import json

import pytest

from casegen.app.build import build
from conftest import EXAMPLE

SIDES = {"baseline": "fp16-baseline.json", "optimized": "fp8-optimized.json"}


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("example")
    build(EXAMPLE, out, pdf=False)
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("side", list(SIDES))
def test_example_matches_vllm_summary(summary, side):
    raw = json.loads((EXAMPLE / "runs" / SIDES[side]).read_text())
    s = summary["runs"][side]
    for metric in ("ttft", "tpot", "itl"):
        for stat, key in (("mean", f"mean_{metric}_ms"), ("p50", f"median_{metric}_ms"), ("p99", f"p99_{metric}_ms")):
            assert s["latency_ms"][metric][stat] == pytest.approx(raw[key], rel=0.005), (metric, stat)
    # vLLM did not print E2E for these runs (no --percentile-metrics e2el): E2E = TTFT + TPOT·(170−1)
    assert s["latency_ms"]["e2e"]["mean"] == pytest.approx(raw["mean_ttft_ms"] + 169 * raw["mean_tpot_ms"], rel=0.005)
    assert s["throughput"]["requests_per_s"] == pytest.approx(raw["request_throughput"], rel=0.005)
    assert s["throughput"]["output_tokens_per_s"] == pytest.approx(raw["output_throughput"], rel=0.005)
    assert s["requests"] == {"total": 100, "succeeded": 100, "failed": 0, "error_rate": 0.0}


def test_summary_json_has_documented_keys(summary):
    for side in SIDES:
        r = summary["runs"][side]
        assert set(r["requests"]) >= {"total", "succeeded", "failed"}
        for m in ("ttft", "tpot", "itl", "e2e"):
            assert set(r["latency_ms"][m]) >= {"n", "mean", "p50", "p90", "p95", "p99"}
        assert set(r["throughput"]) >= {"requests_per_s", "output_tokens_per_s"}
        assert set(summary["cost"][side]) >= {"usd_per_request", "usd_per_million_output_tokens", "usd_per_month"}
    d = summary["deltas"]["latency_ms"]["ttft"]["p50"]
    assert set(d) >= {"abs", "pct"}
    assert d["pct"] == pytest.approx((summary["runs"]["optimized"]["latency_ms"]["ttft"]["p50"]
                                      / summary["runs"]["baseline"]["latency_ms"]["ttft"]["p50"] - 1) * 100)
    c = summary["cost"]
    # the saving is of the monthly figures as printed (whole dollars: formatting.usd_difference_shown)
    assert c["savings_usd_per_month"] == pytest.approx(round(c["baseline"]["usd_per_month"])
                                                       - round(c["optimized"]["usd_per_month"]))
    assert c["payback_months"] == pytest.approx(c["one_time_cost_usd"] / c["savings_usd_per_month"])
