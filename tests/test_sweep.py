"""Load sweeps: capacity at SLO, pairing, knee, cost at capacity, chart — hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from casegen.analysis.sweep import (
    build_sweep,
    capacity_at_slo,
    capacity_cost,
    knee,
    pair_points,
    point_slo,
)
from casegen.case.model import SLO
from casegen.errors import CasegenError
from casegen.render.charts import alt_text
from casegen.render.sweep_charts import latency_throughput_chart
from casegen.runs import load_runs
from casegen.runs.model import Run, RunMeta, make_requests_frame
from tests.conftest import FIXTURES, VLLM

LLMD = VLLM / "llm-d-l40s-llama32-3b-3deployments-x-3rates-append-result.json"
TTFT200 = SLO(metric="ttft", percentile=99, threshold_ms=200)
TPOT50 = SLO(metric="tpot", percentile=99, threshold_ms=50)


def summary_run(rate=None, rps=1.0, out_tps=None, ttft=None, tpot=None, conc=None, model="m", index=0,
                total=None, failed=0, num_prompts=None, duration=None) -> Run:
    """A summary-only run; ``ttft``/``tpot`` are dicts of printed stats (ms)."""
    s: dict = {"throughput": {"requests_per_s": rps, "output_tokens_per_s": out_tps if out_tps is not None else rps * 100}}
    if ttft:
        s["ttft"] = ttft
    if tpot:
        s["tpot"] = tpot
    if total is not None:
        s["requests"] = {"total": total, "succeeded": total - failed, "failed": failed}
    meta = RunMeta(tool="t", format="t", source=f"synthetic-{index}.json", sha256="0", model=model,
                   request_rate=rate, max_concurrency=conc, index=index, num_prompts=num_prompts, duration_s=duration)
    return Run(meta=meta, requests=None, tool_summary=s)


def request_run(rate, ttft_s, duration_s, out_tokens=100, model="m", index=0) -> Run:
    """A per-request run: one request per TTFT value, E2E = TTFT + 1 s, all successful."""
    ttft = np.asarray(ttft_s, dtype=float)
    df = make_requests_frame(ttft_s=ttft, e2e_s=ttft + 1.0, input_tokens=np.full(ttft.size, 10.0),
                             output_tokens=np.full(ttft.size, float(out_tokens)))
    meta = RunMeta(tool="t", format="t", source=f"per-request-{index}.jsonl", sha256="0", model=model,
                   request_rate=rate, duration_s=duration_s, index=index)
    return Run(meta=meta, requests=df)


def three_points(p99s=(100.0, 150.0, 300.0), rps=(1.0, 2.0, 3.6), rates=(1, 2, 4)):
    return build_sweep([summary_run(rate=r, rps=x, ttft={"p50": v / 2, "p99": v}, index=i)
                        for i, (r, x, v) in enumerate(zip(rates, rps, p99s))], label="s")


# ---------------------------------------------------------------- capacity: summary-only points


def test_capacity_interpolated_from_printed_percentiles():
    sweep = three_points()
    cap = capacity_at_slo(sweep, [TTFT200])
    # pass at 2 req/s (150 ms), fail at 3.6 req/s (300 ms): t = (200-150)/(300-150) = 1/3
    assert cap.bound == "interpolated"
    assert cap.value_rps == pytest.approx(2.0 + (3.6 - 2.0) / 3)  # 2.5333
    assert cap.output_tokens_per_s == pytest.approx(200 + (360 - 200) / 3)  # 253.33
    assert cap.below.load == 2 and cap.above.load == 4
    assert cap.limiting == ["TTFT p99 ≤ 200 ms"]
    assert [v.status for v in cap.verdicts] == ["pass", "pass", "fail"]
    assert "interpolated" in cap.text()


def test_capacity_smallest_crossing_of_several_slos_wins():
    runs = [summary_run(rate=r, rps=x, ttft={"p99": t}, tpot={"p99": p}, index=i)
            for i, (r, x, t, p) in enumerate([(1, 1.0, 100, 20), (2, 2.0, 150, 30), (4, 4.0, 250, 130)])]
    cap = capacity_at_slo(build_sweep(runs), [TTFT200, TPOT50])
    # TTFT crosses at t = 50/100 = 0.5; TPOT at t = 20/100 = 0.2 → TPOT limits: 2 + 0.2·2 = 2.4
    assert cap.value_rps == pytest.approx(2.4)
    # TTFT also misses at 4 req/s, but crosses later (3.0 req/s): it does not set the capacity
    assert cap.limiting == ["TPOT p99 ≤ 50 ms"]


def test_capacity_limiting_lists_objectives_crossing_together():
    runs = [summary_run(rate=r, rps=x, ttft={"p99": t}, tpot={"p99": p}, index=i)
            for i, (r, x, t, p) in enumerate([(1, 1.0, 100, 20), (2, 2.0, 150, 30), (4, 4.0, 250, 80)])]
    cap = capacity_at_slo(build_sweep(runs), [TTFT200, TPOT50])
    # TTFT crosses at t = (200−150)/(250−150) = 0.5, TPOT at (50−30)/(80−30) = 0.4: only TPOT limits
    assert cap.value_rps == pytest.approx(2.8) and cap.limiting == ["TPOT p99 ≤ 50 ms"]
    runs[2] = summary_run(rate=4, rps=4.0, ttft={"p99": 250}, tpot={"p99": 70}, index=2)
    cap = capacity_at_slo(build_sweep(runs), [TTFT200, TPOT50])
    # TTFT t = 0.5, TPOT t = 20/40 = 0.5: a tie, both set the capacity (TPOT's text sorts after TTFT's)
    assert cap.value_rps == pytest.approx(3.0)
    assert sorted(cap.limiting) == ["TPOT p99 ≤ 50 ms", "TTFT p99 ≤ 200 ms"]


def test_capacity_marker_only_on_the_limiting_objectives_curve():
    """The ◆ sits on the curve of an objective that sets the capacity; on the chart of one that does not
    (it crosses later) the capacity is a throughput line, not a point far below that chart's SLO line."""
    from casegen.render.sweep_charts import _capacity_stat

    runs = [summary_run(rate=r, rps=x, ttft={"p99": t}, tpot={"p99": p}, index=i)
            for i, (r, x, t, p) in enumerate([(1, 1.0, 100, 20), (2, 2.0, 150, 30), (4, 4.0, 250, 130)])]
    cap = capacity_at_slo(build_sweep(runs), [TTFT200, TPOT50])  # TPOT limits (t = 0.2)
    assert _capacity_stat(cap, "tpot", ("p99", "p50")) == "p99"
    assert _capacity_stat(cap, "ttft", ("p99", "p50")) is None
    every_point_passes = capacity_at_slo(three_points(p99s=(100, 120, 190)), [TTFT200])
    assert _capacity_stat(every_point_passes, "ttft", ("p99", "p50")) == "p99"


def test_capacity_limiting_by_attainment_crossing_per_request():
    """Joint attainment decides the capacity; of the objectives missing α at the failing point, the one
    whose own attainment crosses α first limits it (llm-d: TTFT at 23.8 req/s, not TPOT at ~29)."""
    n = 400

    def run(rate, dur, slow_ttft, slow_tpot, index):
        ttft = np.where(np.arange(n) < slow_ttft * n, 0.5, 0.05)
        df = make_requests_frame(ttft_s=ttft, e2e_s=ttft + np.where(np.arange(n)[::-1] < slow_tpot * n, 99 * 0.2, 99 * 0.01),
                                 input_tokens=np.full(n, 10.0), output_tokens=np.full(n, 100.0))
        meta = RunMeta(tool="t", format="t", source=f"pr-{index}.jsonl", sha256="0", model="m",
                       request_rate=rate, duration_s=dur, index=index)
        return Run(meta=meta, requests=df)

    runs = [run(1, n / 1.0, 0.0, 0.0, 0), run(2, n / 2.0, 0.05, 0.0, 1), run(4, n / 4.0, 0.45, 0.2, 2)]
    slo_tpot = SLO(metric="tpot", percentile=90, threshold_ms=100)
    slo_ttft = SLO(metric="ttft", percentile=90, threshold_ms=200)
    cap = capacity_at_slo(build_sweep(runs), [slo_ttft, slo_tpot], attainment=0.9)
    assert cap.bound == "interpolated"
    # own attainments at 2 → 4 req/s: TTFT 0.95 → 0.55 crosses 0.9 at t = 0.05/0.40 = 0.125;
    # TPOT 1.0 → 0.8 at t = 0.1/0.2 = 0.5; both miss at 4 req/s, only TTFT limits
    assert cap.limiting == ["TTFT p90 ≤ 200 ms"]


def test_capacity_at_least_and_below_min():
    everything_passes = capacity_at_slo(three_points(p99s=(100, 120, 190)), [TTFT200])
    assert everything_passes.bound == "at_least"
    assert everything_passes.value_rps == pytest.approx(3.6)
    assert everything_passes.text().startswith("≥ 3.60")
    nothing_passes = capacity_at_slo(three_points(p99s=(250, 300, 900)), [TTFT200])
    assert nothing_passes.bound == "below_min"
    assert nothing_passes.value_rps == pytest.approx(1.0)
    assert nothing_passes.above.load == 1 and nothing_passes.below is None
    assert nothing_passes.text().startswith("< 1.00")


def test_capacity_non_monotonic_uses_first_failure():
    cap = capacity_at_slo(three_points(p99s=(100, 300, 150), rps=(1.0, 2.0, 3.0)), [TTFT200])
    # first failure at 2 req/s: t = (200-100)/(300-100) = 0.5 → 1.5 req/s
    assert cap.bound == "interpolated"
    assert cap.value_rps == pytest.approx(1.5)
    assert any("not monotonic" in n and "rate 4 req/s" in n for n in cap.notes)


def test_missing_percentile_is_unknown_or_inferred():
    # only p50 printed: p99 ≤ 200 cannot be judged when p50 is under the threshold
    runs = [summary_run(rate=r, rps=r, ttft={"p50": 80.0, "max": m}, index=i) for i, (r, m) in enumerate([(1, 150), (2, 400)])]
    sweep = build_sweep(runs)
    first = point_slo(sweep.points[0], [TTFT200])
    assert first.status == "pass" and first.checks[0].basis == "printed max (≥ p99)"
    second = point_slo(sweep.points[1], [TTFT200])
    assert second.status == "unknown"
    assert second.missing == ["TTFT p99 (the tool printed: max, p50)"]
    cap = capacity_at_slo(sweep, [TTFT200])
    assert cap.bound == "at_least" and cap.value_rps == 1.0 and cap.missing
    # a printed p50 above the threshold proves the p99 fails
    bad = build_sweep([summary_run(rate=r, rps=r, ttft={"p50": v}, index=i) for i, (r, v) in enumerate([(1, 300), (2, 400)])])
    assert capacity_at_slo(bad, [TTFT200]).bound == "below_min"
    # nothing printed at the lowest load → unknown, value None, no crash
    unknown = build_sweep([summary_run(rate=r, rps=r, ttft={"p50": 80.0}, index=i) for i, r in enumerate([1, 2])])
    cap = capacity_at_slo(unknown, [TTFT200])
    assert cap.bound == "unknown" and cap.value_rps is None and "p99" in cap.text()


def test_failed_share_beyond_percentile_fails_the_slo():
    # 5 % failed: a p99 objective cannot hold, whatever the printed (successful-only) p99 says
    run = summary_run(rate=1, ttft={"p99": 10.0}, total=100, failed=5)
    other = summary_run(rate=2, ttft={"p99": 10.0}, total=100, failed=0, index=1)
    sweep = build_sweep([run, other])
    v = point_slo(sweep.points[0], [TTFT200])
    assert v.status == "fail" and "5.0% of requests failed" in v.checks[0].note
    # 5 % failed is fine for a p90 objective
    assert point_slo(sweep.points[0], [SLO(metric="ttft", percentile=90, threshold_ms=200)]).status == "pass"


# ---------------------------------------------------------------- capacity: per-request points


def per_request_sweep():
    ok = [0.1] * 20
    some = [0.1] * 14 + [0.5] * 6  # 14 of 20 within 200 ms → attainment 0.7
    return build_sweep([request_run(2, ok, duration_s=10.0, index=0),   # 20 / 10 s = 2 req/s
                        request_run(4, some, duration_s=5.0, index=1)])  # 20 / 5 s = 4 req/s


def test_capacity_per_request_joint_attainment():
    sweep = per_request_sweep()
    cap = capacity_at_slo(sweep, [TTFT200], attainment=0.90)
    assert [v.joint_attainment for v in cap.verdicts] == [pytest.approx(1.0), pytest.approx(0.7)]
    # x* = 2 + (1.0 − 0.9) / (1.0 − 0.7) · (4 − 2) = 2.6667; output 100 tok/request
    assert cap.bound == "interpolated"
    assert cap.value_rps == pytest.approx(2 + 2 / 3)
    assert cap.output_tokens_per_s == pytest.approx(266.6667, rel=1e-4)
    # at α = 0.6 both points pass
    assert capacity_at_slo(sweep, [TTFT200], attainment=0.6).bound == "at_least"


def test_capacity_per_request_percentile_mode():
    sweep = per_request_sweep()
    cap = capacity_at_slo(sweep, [TTFT200], attainment=None)
    # 20 requests cannot certify a p99 (early stopping needs 459): within the SLO but inconclusive
    assert [v.status for v in cap.verdicts] == ["inconclusive", "fail"]
    assert any("not certified" in n and "rate 2 req/s" in n for n in cap.notes)
    # p99 of 100 ms at 2 req/s; p99 of 500 ms at 4 req/s: t = (200-100)/(500-100) = 0.25 → 2.5 req/s
    assert cap.verdicts[0].checks[0].value_ms == pytest.approx(100.0)
    assert cap.verdicts[1].checks[0].value_ms == pytest.approx(500.0)
    assert cap.value_rps == pytest.approx(2.5)


def test_an_uncertified_miss_is_inconclusive_to_the_reader_and_still_places_the_capacity():
    """aiperf-sweep baseline at concurrency 8: the sweep table said 'fail', the SLO table 'inconclusive'
    for both objectives. A miss only by the measured percentile is the SLO table's 'inconclusive'
    (the walk still stops there: it is over the objective), 'over' said beside it."""
    p90 = SLO(metric="ttft", percentile=90, threshold_ms=200)
    sweep = build_sweep([request_run(2, [0.1] * 20, duration_s=10.0, index=0),
                         request_run(4, [0.1] * 17 + [0.5] * 3, duration_s=5.0, index=1)])  # p90 over 200 ms
    cap = capacity_at_slo(sweep, [p90], attainment=None)
    v = cap.verdicts[1]
    assert v.checks[0].meets is False and v.status == "fail" and cap.bound == "interpolated"
    assert v.uncertified_fail and v.verdict == "inconclusive" and v.measured == "over"
    assert cap.verdicts[0].verdict == "inconclusive" and cap.verdicts[0].measured == "within"
    assert any("too few requests to certify the miss" in n for n in cap.notes)


def _sweep_of(points, kind="rate"):
    """points: (load, achieved req/s, TTFT values in s); 1,000 requests per point unless given."""
    runs = []
    for i, (load, rps, ttft) in enumerate(points):
        run = request_run(load if kind == "rate" else None, ttft, duration_s=len(ttft) / rps, index=i)
        if kind == "concurrency":
            run.meta.max_concurrency = load
        runs.append(run)
    return build_sweep(runs, load=kind)


def test_capacity_follows_the_slo_percentile_not_a_p90_attainment():
    """Issue 10: a 'TTFT p99 ≤ 500 ms' objective must not be judged as a p90 one. At 20 req/s 95 % of
    1,000 requests take 100 ms and 5 % take 2.6 s: joint attainment 0.95 ≥ 0.90 passes the DistServe
    rule, but the p99 is 2,600 ms, so the SLO fails (50 violations of 1,000: early stopping fails)."""
    slo = SLO(metric="ttft", percentile=99, threshold_ms=500)
    fast = [0.1] * 1000
    tail = [0.1] * 950 + [2.6] * 50
    sweep = _sweep_of([(10, 9.9, fast), (20, 19.5, tail), (40, 36.9, tail)])
    p90_style = capacity_at_slo(sweep, [slo], attainment=0.90)
    assert p90_style.bound == "at_least" and p90_style.text() == "≥ 36.9 req/s"
    cap = capacity_at_slo(sweep, [slo])
    assert [v.status for v in cap.verdicts] == ["pass", "fail", "fail"]  # 0 violations of 1,000 ≥ 459 passes
    # p99 100 ms at 9.9 req/s, 2,600 ms at 19.5: t = (500 − 100)/(2600 − 100) = 0.16 → 9.9 + 0.16 · 9.6
    assert cap.bound == "interpolated" and cap.value_rps == pytest.approx(9.9 + 0.16 * 9.6)
    # lowest load already over the p99: capacity below it
    low = capacity_at_slo(_sweep_of([(10, 9.9, tail), (20, 19.5, tail)]), [slo])
    assert low.bound == "below_min" and low.text() == "< 9.90 req/s"


def test_concurrency_sweep_past_saturation_is_not_reported_as_a_lower_bound():
    """Closed loop: concurrency 8 passes at 0.72 req/s; 16 and 32 fail at 0.70 and 0.71 req/s (no
    more throughput, only latency). Higher loads were tested and failed: capacity 0.72, not ≥ 0.72."""
    slo = SLO(metric="ttft", percentile=99, threshold_ms=500)
    sweep = _sweep_of([(4, 0.5, [0.1] * 500), (8, 0.72, [0.2] * 500), (16, 0.70, [0.9] * 500),
                       (32, 0.71, [1.5] * 500)], kind="concurrency")
    cap = capacity_at_slo(sweep, [slo])
    assert [v.status for v in cap.verdicts] == ["pass", "pass", "fail", "fail"]
    assert cap.bound == "plateau" and cap.value_rps == pytest.approx(0.72)
    assert cap.text() == "0.72 req/s (higher loads fail)"
    # every point passing really is a lower bound
    assert capacity_at_slo(_sweep_of([(4, 0.5, [0.1] * 500), (8, 0.72, [0.2] * 500)], kind="concurrency"),
                           [slo]).text() == "≥ 0.72 req/s"


# ---------------------------------------------------------------- pairing, knee


def test_pair_by_nominal_load_with_unequal_point_sets():
    base = build_sweep([summary_run(rate=r, rps=r, index=i) for i, r in enumerate([1, 2, 4, 8])], label="base")
    opt = build_sweep([summary_run(rate=r, rps=r, index=i) for i, r in enumerate([1.005, 2, 6, 8])], label="opt")
    pairing = pair_points(base, opt)
    assert [(p.base.load, p.opt.load) for p in pairing.pairs] == [(1, 1.005), (2, 2), (8, 8)]
    assert [p.load for p in pairing.unpaired_base] == [4]
    assert [p.load for p in pairing.unpaired_opt] == [6]
    assert any("base: no matching load" in n and "rate 4 req/s" in n for n in pairing.notes)
    # 2 % apart does not pair
    far = build_sweep([summary_run(rate=r, rps=r, index=i) for i, r in enumerate([1.02, 2.0])], label="far")
    assert [p.load for p in pair_points(base, far).unpaired_opt] == [1.02]


def test_pairing_flags_achieved_far_from_offered():
    base = build_sweep([summary_run(rate=2, rps=1.95, index=0), summary_run(rate=8, rps=3.6, index=1,
                                                                            num_prompts=800, duration=222.0)],
                       label="base")
    pairing = pair_points(base, base)
    flagged = [n for n in pairing.notes if "from the offered rate" in n]
    assert len(flagged) == 2  # rate 8 on both sides; rate 2 (−2.5 %) is not flagged
    assert "−55%" in flagged[0] and "takes 100.0 s and the run took 222.0 s" in flagged[0]
    # how to read the gap is said once, not once per point
    assert sum("drain tail" in n for n in pairing.notes) == 1 and "drain tail" in pairing.notes[-1]


def test_pairing_rejects_different_axes():
    rate = build_sweep([summary_run(rate=r, index=i) for i, r in enumerate([1, 2])])
    conc = build_sweep([summary_run(conc=c, index=i) for i, c in enumerate([1, 2])])
    with pytest.raises(CasegenError, match="cannot pair a rate sweep"):
        pair_points(rate, conc)


def test_knee_rule():
    sweep = three_points(p99s=(100, 140, 400))  # p50 = 50, 70, 200
    k = knee(sweep, "ttft", "p50")  # 70 ≤ 1.5·50 = 75; 200 > 75 → knee at rate 4
    assert k.point.load == 4 and k.previous.load == 2 and k.value_ms == 200 and k.reference_ms == 50
    assert knee(sweep, "ttft", "p99", factor=5).point is None
    assert knee(sweep, "tpot", "p50") is None


# ---------------------------------------------------------------- bad input


def test_bad_inputs():
    with pytest.raises(CasegenError, match="at least 2 runs"):
        build_sweep([summary_run(rate=1)])
    with pytest.raises(CasegenError, match="same load"):
        build_sweep([summary_run(rate=2, index=0), summary_run(rate=2.0, index=1)])
    with pytest.raises(CasegenError, match="different models"):
        build_sweep([summary_run(rate=1, model="a", index=0), summary_run(rate=2, model="b", index=1)])
    with pytest.raises(CasegenError, match="record no request rate"):
        build_sweep([summary_run(rate=1, index=0), summary_run(rate=None, conc=4, index=1)], load="rate")
    with pytest.raises(CasegenError, match="no run records"):
        build_sweep([summary_run(index=0), summary_run(index=1)])
    with pytest.raises(CasegenError, match="ambiguous"):
        build_sweep([summary_run(rate=1, conc=1, index=0), summary_run(rate=2, conc=2, index=1)])


def test_auto_axis_and_unbounded_last():
    sweep = build_sweep([summary_run(rate=math.inf, index=0), summary_run(rate=10, index=1), summary_run(rate=30, index=2)])
    assert sweep.load_kind == "rate" and sweep.loads == [10, 30, math.inf]
    assert sweep.points[-1].label == "rate unbounded" and sweep.points[-1].offered_gap is None
    conc = build_sweep([summary_run(rate=math.inf, conc=c, index=i) for i, c in enumerate([64, 8])])
    assert conc.load_kind == "concurrency" and conc.loads == [8, 64]


def test_concurrency_sweep_from_aiperf_fixture():
    runs = load_runs(FIXTURES / "aiperf" / "v0.11-qwen3-4b-concurrency-sweep")
    sweep = build_sweep(runs)
    assert sweep.load_kind == "concurrency" and sweep.loads == [16, 768]
    cap = capacity_at_slo(sweep, [SLO(metric="ttft", percentile=99, threshold_ms=1000)])
    assert cap.bound == "interpolated" and cap.below.load == 16 and cap.above.load == 768


# ---------------------------------------------------------------- cost at capacity


def test_capacity_cost_by_hand():
    c = capacity_cost(2.5, 250.0, gpu_hourly_usd=2.0, gpus_per_replica=2, utilization=0.5,
                      requests_per_month=1_000_000, peak_rps=10, headroom=0.8)
    assert c.usd_per_replica_hour == 4.0
    assert c.usd_per_request == pytest.approx(4.0 / (3600 * 0.5 * 2.5))  # 0.000889
    assert c.usd_per_million_output_tokens == pytest.approx(4.0 * 1e6 / (3600 * 0.5 * 250))  # 8.89
    assert c.usage_usd_per_month == pytest.approx(1_000_000 * 4.0 / 4500)  # 888.89
    assert c.replicas_for_peak == 5  # ceil(10 / (2.5 · 0.8)) = ceil(5.0)
    assert c.fleet_usd_per_month == pytest.approx(5 * 4.0 * 730)  # 14,600
    c2 = capacity_cost(2.5, None, 2.0, 2, 0.5, 1_000_000, peak_rps=11, headroom=0.8)
    assert c2.replicas_for_peak == 6 and c2.usd_per_million_output_tokens is None
    assert capacity_cost(2.5, 250.0, 2.0, 1, 0.5, 1e6).replicas_for_peak is None
    with pytest.raises(CasegenError, match="cannot be costed"):
        capacity_cost(0.0, None, 2.0, 1, 0.5, 1e6)
    with pytest.raises(CasegenError, match="invalid cost inputs"):
        capacity_cost(2.5, None, 2.0, 1, 1.5, 1e6)


# ---------------------------------------------------------------- real data: llm-d, 3 deployments × 3 rates


@pytest.fixture(scope="module")
def llmd():
    runs = load_runs(LLMD)
    return {dep: build_sweep([r for r in runs if r.meta.extra["deployment"] == dep], label=dep)
            for dep in ("no-features", "kvcache")}


def test_llmd_sweeps(llmd):
    for sweep in llmd.values():
        assert sweep.load_kind == "rate" and sweep.loads == [10, 30, math.inf]
        assert sweep.model == "meta-llama/Llama-3.2-3B-Instruct"
    pairing = pair_points(llmd["no-features"], llmd["kvcache"])
    assert len(pairing.pairs) == 3 and not pairing.unpaired_base and not pairing.unpaired_opt
    # rate 30: 900 requests sent over 30 s, the run took 40.7 s → 22.10 req/s achieved (−26 %)
    assert any("no-features, rate 30 req/s: achieved 22.1 req/s, −26%" in n for n in pairing.notes)


def test_llmd_capacity_at_slo(llmd):
    slos = [TTFT200, TPOT50]
    base = capacity_at_slo(llmd["no-features"], slos)
    opt = capacity_at_slo(llmd["kvcache"], slos)
    for cap in (base, opt):
        assert [v.status for v in cap.verdicts] == ["pass", "pass", "fail"]
        assert cap.bound == "interpolated" and cap.below.load == 30 and math.isinf(cap.above.load)
        assert cap.limiting[0] == "TTFT p99 ≤ 200 ms"  # TTFT crosses 200 ms long before TPOT crosses 50 ms
        assert any("unbounded-rate run" in n for n in cap.notes)
    # no-features: p99 TTFT 171.679 ms @ 22.1010 req/s, 9951.536 ms @ 31.1832 req/s (unbounded)
    t = (200 - 171.67865642984907) / (9951.535929819987 - 171.67865642984907)
    assert base.value_rps == pytest.approx(22.100953037245468 + t * (31.183176225808488 - 22.100953037245468))
    assert base.value_rps == pytest.approx(22.127, abs=5e-4)
    assert base.output_tokens_per_s == pytest.approx(5841.3556 + t * (8321.2306 - 5841.3556), rel=1e-6)
    # kvcache: p99 TTFT 168.385 ms @ 21.9908 req/s, 1249.642 ms @ 41.2172 req/s
    t = (200 - 168.3847288293964) / (1249.6421772296253 - 168.3847288293964)
    assert opt.value_rps == pytest.approx(21.99082799328171 + t * (41.21716673334341 - 21.99082799328171))
    assert opt.value_rps == pytest.approx(22.553, abs=5e-4)
    # the TPOT SLO alone allows much more: kvcache 32.86 → 71.63 ms crosses 50 ms at t = 0.442
    tpot_only = capacity_at_slo(llmd["kvcache"], [TPOT50])
    assert tpot_only.value_rps == pytest.approx(21.9908 + (50 - 32.8589) / (71.6270 - 32.8589) * 19.2263, rel=1e-4)


def test_llmd_p95_slo_not_printed(llmd):
    # vLLM printed only p99 (and median): p95 ≤ 200 is proved by p99 at 10 and 30 req/s, and the unbounded
    # point fails on its median (868 ms) — so the capacity is bracketed, not interpolated
    cap = capacity_at_slo(llmd["kvcache"], [SLO(metric="ttft", percentile=95, threshold_ms=200)])
    assert cap.bound == "bracketed" and cap.value_rps == pytest.approx(21.9908, rel=1e-4)
    assert cap.verdicts[2].checks[0].basis == "printed p50 (≤ p95)"
    # p95 ≤ 100 ms: passes at 10 req/s (p99 87.5 ms); at 30 req/s p50 73 ms < 100 < p99 168 ms → unknown
    cap = capacity_at_slo(llmd["kvcache"], [SLO(metric="ttft", percentile=95, threshold_ms=100)])
    assert cap.bound == "at_least" and cap.value_rps == pytest.approx(8.338, rel=1e-3)
    assert cap.missing == ["TTFT p95 (the tool printed: mean, p50, p99)"]


def test_llmd_knee(llmd):
    k = knee(llmd["no-features"], "tpot", "p50")  # 13.69 → 25.47 ms (1.86×) at rate 30
    assert k.point.load == 30 and k.reference_ms == pytest.approx(13.6863, rel=1e-4)
    k = knee(llmd["kvcache"], "ttft", "p50")  # 52.87 → 73.32 (1.39×) → 867.7 ms at unbounded
    assert math.isinf(k.point.load) and k.previous.load == 30


def test_sglang_sweep_with_missing_p99():
    runs = [r for r in load_runs(FIXTURES / "sglang" / "h200-llama33-70b-online-rate-sweep.jsonl")
            if r.meta.extra.get("dataset") == "random"]
    sweep = build_sweep(runs)
    assert sweep.loads == [1, 2, 4, 8, 16]
    assert capacity_at_slo(sweep, [TTFT200]).bound == "unknown"  # SGLang printed only the TTFT median
    cap = capacity_at_slo(sweep, [SLO(metric="ttft", percentile=50, threshold_ms=200)])
    # median TTFT 191.41 ms @ 6.9209 req/s, 614.25 ms @ 8.3535 req/s
    t = (200 - 191.41179136931896) / (614.2499720444903 - 191.41179136931896)
    assert cap.value_rps == pytest.approx(6.9209068561634055 + t * (8.35349375073898 - 6.9209068561634055))
    with pytest.raises(CasegenError, match="same load"):
        build_sweep(load_runs(FIXTURES / "sglang" / "h200-llama33-70b-online-rate-sweep.jsonl"))


# ---------------------------------------------------------------- chart


def test_chart_is_deterministic(llmd):
    slos = [TTFT200, TPOT50]
    base, opt = llmd["no-features"], llmd["kvcache"]
    args = dict(stats=("p50", "p99"), threshold_ms=200,
                knees=(knee(base, "ttft", "p99"), knee(opt, "ttft", "p99")),
                capacities=(capacity_at_slo(base, slos), capacity_at_slo(opt, slos)))
    a = latency_throughput_chart(base, opt, "ttft", **args)
    b = latency_throughput_chart(base, opt, "ttft", **args)
    assert a == b and a.count("<svg") == 2  # wide and phone variants
    assert "no-features p99" in a and "SLO 200\u00a0ms" in a and "capacity at SLO" in a
    # the capacity is marked on the curve and named in the text alternative
    assert "22.6\u00a0req/s" in a and "capacity at SLO no-features" in alt_text(a) and "kvcache 22." in alt_text(a)
    plain = latency_throughput_chart(base, opt, "tpot")  # p95 not printed by vLLM: named under the chart
    assert "not in the data: TPOT p95" in plain


def test_per_request_metric_not_measured_is_unknown():
    # non-streaming runs have no TTFT: a TTFT SLO cannot be judged (unknown, not a crash)
    runs = []
    for i, (rate, dur) in enumerate([(1, 10.0), (2, 5.0)]):
        run = request_run(rate, [0.1] * 10, duration_s=dur, index=i)
        run.requests["ttft_s"] = np.nan
        runs.append(run)
    cap = capacity_at_slo(build_sweep(runs), [TTFT200])
    assert cap.verdicts[0].status == "unknown" and cap.bound == "unknown" and cap.value_rps is None
    assert cap.missing == ["TTFT (not measured in this run)"]


def test_throughput_falling_at_failing_point_is_a_plateau_not_a_lower_bound():
    cap = capacity_at_slo(three_points(p99s=(100, 150, 300), rps=(1.0, 2.0, 1.8)), [TTFT200])
    assert cap.bound == "plateau" and cap.value_rps == 2.0
    assert cap.text() == "2.00 req/s (higher loads fail)" and "≥" not in cap.text()
    assert any("did not rise" in n for n in cap.notes)


def test_inference_perf_stages_if_available():
    """inference-perf stage files (importer written separately): sweeps with no common nominal loads."""
    folder = FIXTURES / "inference-perf"
    if not (folder / "kubecon-na-2025-vllm").is_dir():
        pytest.skip("inference-perf fixtures not present")
    try:
        fp16 = build_sweep(load_runs(folder / "kubecon-na-2025-vllm"), label="fp16")
        quant = build_sweep(load_runs(folder / "kubecon-na-2025-vllm-quantization"), label="quantized")
    except CasegenError as err:
        pytest.skip(f"inference-perf importer not available: {err}")
    slo = [SLO(metric="ttft", percentile=99, threshold_ms=500)]
    a, b = capacity_at_slo(fp16, slo), capacity_at_slo(quant, slo)
    # fp16: TTFT p99 181.83 ms @ 91.357 req/s (rate 92.19), 3204.36 ms @ 101.232 req/s (rate 122.59)
    assert a.below.load == pytest.approx(92.19) and a.above.load == pytest.approx(122.59)
    assert a.value_rps == pytest.approx(91.357 + (500 - 181.827) / (3204.364 - 181.827) * (101.232 - 91.357), rel=1e-4)
    assert b.bound == "interpolated" and b.value_rps == pytest.approx(168.80, rel=1e-3)
    pairing = pair_points(fp16, quant)  # only the 1 req/s stage is common to both
    assert [p.load for p in pairing.pairs] == [1.0]
    assert len(pairing.unpaired_base) == 6 and len(pairing.unpaired_opt) == 6


def test_capacity_interval_from_the_bracketing_points_requests():
    """Interpolated capacity gets a bootstrap interval from its two bracketing points' requests."""
    from casegen.analysis.sweep import capacity_interval

    slo = SLO(metric="ttft", percentile=90, threshold_ms=500)
    rng = np.random.default_rng(0)
    # p90 ≈ 0.1·e^{0.4·1.28} s ≈ 167 ms at 9.9 req/s; ≈ 1.0 s at 19.5 req/s: t ≈ 0.4
    low = list(0.1 * np.exp(0.4 * rng.standard_normal(1000)))
    high = list(0.6 * np.exp(0.4 * rng.standard_normal(1000)))
    cap = capacity_at_slo(_sweep_of([(10, 9.9, low), (20, 19.5, high)]), [slo])
    assert cap.bound == "interpolated"
    (lo, hi), why = capacity_interval(cap, 0.95, 1000, 0)
    # (both ends carry the points' throughput noise: 1,000 requests, ±6 % at 95 %)
    assert why == "" and 9.9 * 0.94 <= lo < cap.value_rps < hi <= 19.5 * 1.07
    # constant latencies at both points: no latency noise; the straight line is the lower bound
    # (latency is convex in throughput), and with no point before P nothing bounds the crossing
    # below x_F; throughput noise (400 requests: ±5 %) widens both ends
    flat = capacity_at_slo(_sweep_of([(10, 9.9, [0.1] * 400), (20, 19.5, [0.9] * 400)]), [slo])
    (lo, hi), _ = capacity_interval(flat, 0.95, 1000, 0)
    assert flat.value_rps == pytest.approx(9.9 + 0.5 * 9.6)  # t = (500 − 100)/(900 − 100)
    assert flat.value_rps * 0.9 < lo < flat.value_rps and hi == pytest.approx(19.5, rel=0.12)
    # a point before P bounds the crossing from above by the tangent: the chord P_prev → P has slope
    # (300 − 20)/4.95 ms per req/s, so the crossing is ≤ 9.9 + 200/56.6 = 13.43 req/s (line: 13.1)
    bent = capacity_at_slo(_sweep_of([(5, 4.95, [0.02] * 400), (10, 9.9, [0.3] * 400), (20, 19.5, [0.9] * 400)]),
                           [slo])
    (lo, hi), _ = capacity_interval(bent, 0.95, 1000, 0)
    assert bent.value_rps == pytest.approx(9.9 + 9.6 / 3)
    assert 12.0 < lo < 13.1 < 13.43 < hi < 16.0  # the slope carries both points' throughput noise
    # a p99 SLO with 100 requests per point has no trustworthy interval
    p99 = SLO(metric="ttft", percentile=99, threshold_ms=500)
    few = capacity_at_slo(_sweep_of([(10, 9.9, [0.1] * 100), (20, 19.5, [0.9] * 100)]), [p99])
    assert few.bound == "interpolated"
    assert capacity_interval(few)[0] is None and "needs ≥ 368" in capacity_interval(few)[1]
    # not interpolated: no interval
    assert capacity_interval(capacity_at_slo(_sweep_of([(10, 9.9, low), (20, 19.5, low)]), [slo]))[0] is None
