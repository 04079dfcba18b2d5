"""Latency teardown (casegen.analysis.teardown) on constructed runs with known truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from casegen.analysis.teardown import in_flight_at, prefill_fit, run_teardown, sweep_teardown
from casegen.cli.main import main
from casegen.runs.model import Run, RunMeta, make_requests_frame
from tests.simruns import fifo_queue, write_csv


def _run(cols: dict, rate: float | None = None) -> Run:
    df = make_requests_frame(ttft_s=cols["ttft_s"], e2e_s=cols["e2e_s"], input_tokens=cols["input_tokens"],
                             output_tokens=cols["output_tokens"], start_s=cols["start_s"])
    return Run(RunMeta(tool="casegen", format="casegen-csv", source="sim.csv", sha256="0", request_rate=rate), df)


def test_in_flight_counts_by_hand():
    starts = np.array([0.0, 1.0, 2.0])
    ends = np.array([3.0, 1.5, 5.0])
    # at t = 1.2: requests 0 and 1 in flight; at 2.0: 0 and 2 (1 ended at 1.5); at 3.0: only 2 (0 ends at 3)
    assert list(in_flight_at(starts, ends, np.array([1.2, 2.0, 3.0]))) == [2, 2, 1]


def test_prefill_rate_recovered_within_10_percent_at_light_load():
    # TTFT = 40 ms + 0.5 ms × tokens → 2,000 prompt tokens/s; 5 % log-normal noise; rate far below capacity
    for seed in range(5):
        t = run_teardown(_run(fifo_queue(n=400, rate=0.5, b_ms=0.5, seed=seed)), "light")
        assert t is not None and t.prefill is not None and t.prefill.light_load
        assert abs(t.prefill.tokens_per_s / 2000 - 1) < 0.10, t.prefill.tokens_per_s
        lo, hi = t.prefill.tokens_per_s_interval
        assert lo < t.prefill.tokens_per_s < hi
        assert abs(t.prefill.intercept_ms - 40) < 15  # 5 % noise on 90–790 ms TTFTs blurs the intercept
        assert t.bottleneck != "queueing" and t.queue_share_of_ttft < 0.1


def test_prefill_rate_other_slope_and_interval_covers_truth():
    covered = 0
    for seed in range(20):
        fit = prefill_fit(_run(fifo_queue(n=300, rate=0.3, b_ms=0.125, a_ms=20, seed=100 + seed)))
        assert abs(fit.tokens_per_s / 8000 - 1) < 0.10
        covered += fit.tokens_per_s_interval[0] <= 8000 <= fit.tokens_per_s_interval[1]
    assert covered >= 16  # 95 % intervals: ~19 of 20


def test_saturated_run_names_queueing():
    # capacity ≈ 4 slots / (0.44 s prefill + 0.49 s decode) ≈ 4.3 req/s; offered 8 req/s: the queue grows
    t = run_teardown(_run(fifo_queue(n=400, rate=8.0, seed=3), rate=8.0), "overloaded")
    assert t.bottleneck == "queueing"
    assert "queueing" in t.evidence and "saturated" in t.evidence
    assert t.queue_ms_at_least / t.ttft_mean_ms > 0.8


def test_moderate_load_separates_queue_wait():
    t = run_teardown(_run(fifo_queue(n=600, rate=3.0, seed=4)), "busy")
    # light-load fit from the requests that met at most one other: queue + prefill = TTFT
    assert t.prefill.light_load and t.queue_ms is not None
    assert abs(t.queue_ms + t.prefill_ms - t.ttft_mean_ms) < 1e-6
    assert abs(t.shares_of_e2e["queue"] + t.shares_of_e2e["prefill"] + t.shares_of_e2e["decode"] - 1) < 1e-9


def test_decode_slowdown_with_requests_in_flight():
    # decode TPOT = 10 ms × (1 + 0.1 × (in flight − 1)), constructed directly
    rng = np.random.default_rng(0)
    n = 600
    starts = np.sort(rng.uniform(0, 300, n))
    dur = np.full(n, 2.0)
    for _ in range(3):  # iterate: in flight depends on durations, durations on in flight
        mid = starts + 0.05 + dur / 2
        m = in_flight_at(starts, starts + dur, mid)
        tpot = 0.010 * (1 + 0.1 * (m - 1))
        dur = 0.05 + 99 * tpot
    cols = {"start_s": starts, "ttft_s": np.full(n, 0.05), "e2e_s": dur, "input_tokens": np.full(n, 500.0),
            "output_tokens": np.full(n, 100)}
    t = run_teardown(_run(cols), "decode")
    d = t.decode
    assert t.bottleneck == "decode"
    assert d.high_in_flight > d.low_in_flight
    expected = (1 + 0.1 * (d.high_in_flight - 1)) / (1 + 0.1 * (d.low_in_flight - 1))
    assert abs(d.ratio / expected - 1) < 0.05
    assert abs(d.slope_ms_per_request - 1.0) < 0.15  # 0.1 × 10 ms per extra request
    assert "TPOT grows" in t.evidence


def _closed_loop(conc: int, n_rounds: int, tpot_s: float, t0: float = 0.0) -> dict:
    """``conc`` requests always in flight, in lock-step rounds: every request meets ``conc`` in flight."""
    dur = 0.02 + 31 * tpot_s
    starts = np.repeat(t0 + np.arange(n_rounds) * dur, conc) + np.tile(np.arange(conc) * 1e-6, n_rounds)
    n = starts.size
    return {"start_s": starts, "ttft_s": np.full(n, 0.02), "e2e_s": np.full(n, dur),
            "input_tokens": np.full(n, 100.0), "output_tokens": np.full(n, 32)}


def test_one_closed_loop_run_claims_no_tpot_comparison_and_a_sweep_pools_its_points():
    """aiperf-sweep: at concurrency 8 every request met 8 in flight, so 'TPOT changes by less than 1.2×
    with the number in flight' compared nothing, while the sweep's points show 15 → 26.5 ms. One level:
    no claim; the sweep's points pooled: TPOT by in-flight count across the loads."""
    tp = {1: 0.015, 4: 0.022, 8: 0.0265}  # TPOT at each concurrency (s)
    runs = [_run(_closed_loop(c, 24 // c if c > 1 else 24, tp[c], t0=100.0 * i)) for i, c in enumerate(tp)]
    alone = run_teardown(runs[-1], "c8")
    assert alone.decode is not None and alone.decode.low_in_flight == alone.decode.high_in_flight == 8
    assert alone.bottleneck == "decode" and "TPOT" not in alone.evidence
    pooled = run_teardown(runs[-1], "c8", decode_runs=runs, decode_source="the sweep's 3 load points pooled")
    d = pooled.decode
    assert (d.low_in_flight, d.high_in_flight) == (1, 8) and d.source == "the sweep's 3 load points pooled"
    assert d.tpot_low_ms == pytest.approx(15.0) and d.tpot_high_ms == pytest.approx(26.5)
    assert "median TPOT grows 1.8× from 1 to 8 in flight (15.0 → 26.5 ms; the sweep's 3 load points pooled)" \
        in pooled.evidence


def test_sweep_uses_lowest_point_fit_and_cli_writes_diagnosis(tmp_path):
    files = [write_csv(tmp_path / f"rate{r}.csv", fifo_queue(n=300, rate=r, seed=int(r * 10))) for r in (0.5, 8.0)]
    runs = [_run(fifo_queue(n=300, rate=r, seed=int(r * 10)), rate=r) for r in (0.5, 8.0)]
    items = sweep_teardown(runs, ["0.5", "8"])
    assert items[1].prefill.source.startswith("the lowest load point")
    assert items[1].queue_ms is not None and items[1].bottleneck == "queueing"
    assert items[0].bottleneck != "queueing"
    out = tmp_path / "td"
    r = CliRunner().invoke(main, ["teardown", *map(str, files), "-o", str(out), "--format", "html,json"])
    assert r.exit_code == 0, r.output
    data = json.loads((out / "teardown.json").read_text())
    assert [x["bottleneck"] for x in data["runs"]][-1] == "queueing"
    html = (out / "teardown.html").read_text()
    assert "queueing:" in html and "Prefill rate" in html
    bad = CliRunner().invoke(main, ["teardown", str(tmp_path / "missing.csv"), "-o", str(out)])
    assert bad.exit_code != 0 and "Traceback" not in bad.output


EXAMPLE = Path(__file__).resolve().parent.parent / "cases" / "teardown-testserver" / "runs" / "rate-sweep.json"


def test_teardown_example_from_a_real_guidellm_sweep():
    """GuideLLM 0.8.1 against tools/testserver.py --slots 4 (prefill 0.08 ms per token = 12,500 tokens/s)."""
    from casegen.app.teardown import diagnose

    items, _runs = diagnose([EXAMPLE])
    assert [t.label for t in items] == ["rate 1 req/s", "rate 3 req/s", "rate 6 req/s"]
    low = items[0]
    assert low.prefill.light_load and abs(low.prefill.tokens_per_s / 12_500 - 1) < 0.10
    assert low.bottleneck != "queueing"
    assert items[-1].bottleneck == "queueing" and items[-1].prefill.source.startswith("the lowest load point")


def test_queue_wait_from_the_tools_own_field_when_recorded():
    """Where the tool recorded the server's queue time (AIPerf's server_metrics_export.json), the teardown
    uses it, says so, and keeps the estimate from TTFT against prompt length beside it (issue 25)."""
    run = _run(fifo_queue(n=600, rate=3.0, seed=4))
    est = run_teardown(run, "busy")
    assert est.queue_source == "estimate" and "estimated" in est.queue_source_text
    assert est.queue_estimate_ms is None and est.queue_ms is not None
    run.tool_summary["server_queue"] = {"mean": 123.0, "count": 600.0}
    run.meta.extra["server_queue_source"] = "the server's vllm:request_queue_time_seconds as AIPerf scraped it"
    t = run_teardown(run, "busy")
    assert t.queue_source == "tool" and t.queue_ms == 123.0
    assert t.prefill_ms == t.ttft_mean_ms - 123.0
    assert t.queue_estimate_ms == est.queue_ms  # the estimate, for comparison
    assert "the server's own mean queue time, 123.0 ms (the server's vllm:request_queue_time_seconds as AIPerf " \
           "scraped it, over 600 requests), not estimated" in t.queue_source_text
    # a figure above mean TTFT is capped at it (the server cannot wait longer than the client saw)
    run.tool_summary["server_queue"] = {"mean": 1e6, "count": 600.0}
    t = run_teardown(run, "busy")
    assert t.queue_ms == t.ttft_mean_ms and t.bottleneck == "queueing" and "by the server's own queue time" in t.evidence


def test_client_wait_from_the_tools_own_fields():
    """vLLM bench serve's queue_times and GuideLLM's request_start − targeted_start are the client's own send
    queue (outside TTFT): the teardown reports their mean and p95 beside the split, from the real files."""
    from casegen.runs import load_runs

    fix = Path(__file__).parent / "fixtures"
    raw = json.loads((fix / "vllm" / "0.33.0" / "baseline-c4.json").read_text())
    q = np.array(raw["queue_times"], float) * 1e3
    run = load_runs(fix / "vllm" / "0.33.0" / "baseline-c4.json")[0]
    t = run_teardown(run, "vllm c4")
    assert t.client_wait_ms == np.mean(q) and t.client_wait_p95_ms == np.percentile(q, 95)
    assert t.client_wait_ms > 100  # max concurrency 4 with 20 prompts sent at once: most wait for a slot
    raw = json.loads((fix / "guidellm" / "0.8.1" / "baseline-rate5" / "benchmarks.json").read_text())
    reqs = raw["benchmarks"][0]["requests"]["successful"]
    waits = np.array([r["info"]["timings"]["request_start"] - r["info"]["timings"]["targeted_start"] for r in reqs])
    g = run_teardown(load_runs(fix / "guidellm" / "0.8.1" / "baseline-rate5" / "benchmarks.json")[0], "guidellm")
    assert g.client_wait_ms == pytest.approx(float(np.mean(waits)) * 1e3, rel=1e-9)
    # GuideLLM's own field says the same thing
    assert g.client_wait_ms == pytest.approx(np.mean([r["request_dispatch_delay"] for r in reqs]) * 1e3, rel=1e-6)
