"""optimization.kind: caching — per-request cached tokens (GuideLLM 0.8.1's `cached_tokens`, casegen's
CSV column), each side's hit rate and cached share with intervals, the TTFT of hits vs misses, cost
per request from the cached tokens, page 1 and summary.json (docs/cheap-wins.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from casegen.analysis.cache import side_cache
from casegen.analysis.dependence import dependence
from casegen.analysis.study import analyze
from casegen.case.model import load_case
from casegen.errors import CasegenError
from casegen.report.build import build_report, summary_json
from casegen.runs import load_runs
from tests.simruns import CASE_HEAD

FIX = Path(__file__).parent / "fixtures" / "guidellm" / "0.8.1-cache"

# 20 requests, one a second; hits (cached 600 of 1,000 prompt tokens) at these send positions
HITS = [0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
TTFT_HIT_MS = [47, 53, 50, 49, 51, 52, 48, 50, 53, 47, 51, 49]  # mean 50, Σ(x − 50)² = 48
TTFT_MISS_MS = [104, 116, 110, 112, 108, 115, 105, 110]  # mean 110, Σ(x − 110)² = 130


def _hand_csv(path: Path) -> Path:
    hit, miss = iter(TTFT_HIT_MS), iter(TTFT_MISS_MS)
    lines = ["start_s,ttft_ms,e2e_ms,input_tokens,output_tokens,cached_tokens"]
    for i, h in enumerate(HITS):
        t = next(hit) if h else next(miss)
        lines.append(f"{i},{t},{t + 300},1000,32,{600 if h else 0}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_hand_computed_hit_rate_share_and_hit_miss_ttft(tmp_path):
    # the hand formulas assume independent requests: check that no series gets a variance factor other than 1
    def factor(x: list[int]) -> float:
        dep = dependence(np.array(x, dtype=float))
        return dep.lrv_factor if dep.dependent else 1.0

    assert factor(HITS) <= 1.0  # the hit indicator's factor is floored at 1
    assert factor(TTFT_HIT_MS) == 1.0 and factor(TTFT_MISS_MS) == 1.0
    run = load_runs(_hand_csv(tmp_path / "r.csv"))[0]
    cs = side_cache(run, 0.95)
    assert cs is not None
    assert (cs.requests, cs.hits) == (20, 12) and cs.hit_rate == pytest.approx(0.6) and cs.n_eff == 20
    # Wilson, p = 0.6, n = 20, z = 1.959964: centre (0.6 + z²/40)/(1 + z²/20) = 0.583887,
    # half-width z·√(0.24/20 + z²/1600)/(1 + z²/20) = 0.197306
    assert cs.hit_rate_ci == pytest.approx([0.386581, 0.781193], abs=1e-5)
    # cached share R = 12·600 / 20,000 = 0.36; u = c − R·p is +240 (hit) or −360 (miss):
    # var(u) = (12·240² + 8·360²)/19 = 90,947.37; se = √(90,947.37/20)/1,000 = 0.0674342
    assert cs.cached_share == pytest.approx(0.36)
    assert cs.cached_share_ci == pytest.approx([0.36 - 1.959964 * 0.0674342, 0.36 + 1.959964 * 0.0674342], abs=1e-5)
    assert cs.mean_cached_tokens_per_hit == 600
    # TTFT: hits mean 50, var 48/11; misses mean 110, var 130/7; difference −60 ms,
    # se = √(48/11/12 + 130/7/8) = 1.638617 → ±3.21163
    assert (cs.ttft_hit_mean_ms, cs.ttft_miss_mean_ms) == pytest.approx((50.0, 110.0))
    assert (cs.ttft_hit_p50_ms, cs.ttft_miss_p50_ms) == pytest.approx((50.0, 110.0))
    assert cs.ttft_hit_minus_miss_ms == pytest.approx(-60.0)
    assert cs.ttft_hit_minus_miss_ci_ms == pytest.approx([-63.21163, -56.78837], abs=1e-4)


def test_a_run_without_cached_tokens_claims_nothing(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("start_s,ttft_ms,e2e_ms,input_tokens,output_tokens\n0,50,300,1000,32\n1,60,320,1000,32\n")
    assert side_cache(load_runs(p)[0]) is None


def test_cached_tokens_above_the_prompt_are_refused(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("start_s,ttft_ms,e2e_ms,input_tokens,output_tokens,cached_tokens\n0,50,300,1000,32,0\n"
                 "1,60,320,1000,32,1200\n")
    with pytest.raises(CasegenError) as err:
        load_runs(p)
    text = err.value.format()
    assert "cached tokens (1200) exceed the prompt tokens (1000)" in text and "r.csv" in text


def test_guidellm_records_cached_tokens_per_request():
    """GuideLLM 0.8.1 against tools/testserver.py without and with a prefix cache (PROVENANCE)."""
    raw = json.loads((FIX / "prefix-cache" / "benchmarks.json").read_text())
    reqs = raw["benchmarks"][0]["requests"]["successful"]
    cached = np.array([r["cached_tokens"] for r in reqs], float)
    prompt = np.array([r["prompt_tokens"] for r in reqs], float)
    run = load_runs(FIX / "prefix-cache" / "benchmarks.json")[0]
    df = run.requests
    assert df is not None and len(df) == len(reqs) == 300
    assert sorted(df["cached_tokens"]) == sorted(cached)
    cs = side_cache(run)
    assert cs is not None and cs.hits == int((cached > 0).sum()) == 208
    assert cs.cached_share == pytest.approx(cached.sum() / prompt.sum())
    base = side_cache(load_runs(FIX / "no-cache" / "benchmarks.json")[0])
    assert base is not None and base.hits == 0 and base.requests == 299
    z2 = 1.959964 ** 2  # Wilson upper bound for 0 of n: z²/(n + z²)
    assert base.hit_rate_ci[1] == pytest.approx(z2 / (299 + z2), abs=1e-6)
    # the test server's cache skips the prefill of cached tokens: hits start sooner, clearly
    assert cs.ttft_hit_minus_miss_ci_ms is not None and cs.ttft_hit_minus_miss_ci_ms[1] < -30


def _cache_case(tmp_path: Path, kind: str = "caching") -> Path:
    d = tmp_path / "case"
    shutil.copytree(FIX / "no-cache", d / "runs" / "no-cache")
    shutil.copytree(FIX / "prefix-cache", d / "runs" / "prefix-cache")
    (d / "case.yaml").write_text(CASE_HEAD + f"""
optimization: {{kind: {kind}}}
runs:
  baseline: {{path: runs/no-cache/benchmarks.json, label: "No cache"}}
  optimized: {{path: runs/prefix-cache/benchmarks.json, label: "Prefix cache"}}
cost:
  baseline: {{api: {{input_usd_per_1m: 0.15, cached_input_usd_per_1m: 0.075, output_usd_per_1m: 0.6}}}}
  optimized: {{api: {{input_usd_per_1m: 0.15, cached_input_usd_per_1m: 0.075, output_usd_per_1m: 0.6}}}}
  requests_per_month: 1000000
""")
    return d


def test_caching_case_page1_summary_and_cost(tmp_path):
    case, cd = load_case(_cache_case(tmp_path))
    study = analyze(case, cd)
    report = build_report(study)
    cards = report.page1.cards
    assert cards[0].finding == "intended:cache_hit_rate" and cards[0].value == "69% hits"
    assert cards[-1].finding == "intended:cost_per_request"
    text = report.page1.in_short
    assert "69% of requests hit the cache (208 of 300" in text and "(before: 0% of requests)" in text
    assert "the first token of a cache hit came" in text and "sooner than a miss's" in text
    assert text.lower().count("cost per request") == 1 and "Cost per 1M output tokens" not in text
    ttft = next(f for f in report.findings if f.key == "intended:cache_hit_ttft")
    assert ttft.verdict == "better" and ttft.strength == "significant"
    s = summary_json(report)
    opt = s["optimization"]["cache"]["optimized"]
    assert opt["hits"] == 208 and opt["requests"] == 300 and s["optimization"]["cache"]["baseline"]["hits"] == 0
    # cost per request from the measured cached share s: (1,024·((1 − s)·0.15 + s·0.075) + 32·0.6) / 1e6
    share = opt["cached_share"]
    assert s["optimization"]["cache"]["baseline"]["cached_share"] == 0
    want_opt = (1024 * ((1 - share) * 0.15 + share * 0.075) + 32 * 0.6) / 1e6
    assert study.cost.baseline.usd_per_request == pytest.approx((1024 * 0.15 + 32 * 0.6) / 1e6)
    assert study.cost.optimized.usd_per_request == pytest.approx(want_opt)
    assert "measured per request by the run" in " ".join(study.cost.optimized.assumptions)
    assert not any(t.key.startswith("cache") for t in study.threats)


def test_caching_without_cached_tokens_keeps_the_note(tmp_path):
    from tests.simruns import fifo_queue, write_csv

    d = tmp_path / "case"
    write_csv(d / "runs" / "b.csv", fifo_queue(n=200, seed=1))
    write_csv(d / "runs" / "o.csv", fifo_queue(n=200, seed=2, a_ms=20))
    (d / "case.yaml").write_text(CASE_HEAD + """
optimization: {kind: caching}
runs:
  baseline: {path: runs/b.csv}
  optimized: {path: runs/o.csv}
""")
    case, cd = load_case(d)
    study = analyze(case, cd)
    assert study.cheap_win.cache is None
    assert "do not record which requests hit the cache" in study.cheap_win.notes[0]


AIPERF = Path(__file__).parent / "fixtures" / "aiperf" / "0.13.0-cache" / "prefix-cache-slots4-c8"


def test_aiperf_records_cached_tokens_and_the_servers_queue_time():
    """AIPerf 0.13.0 against tools/testserver.py with a prefix cache and 4 slots (PROVENANCE): each record's
    usage_prompt_cache_read_tokens, and the server's vllm:request_queue_time_seconds that AIPerf scraped."""
    from casegen.analysis.teardown import run_teardown

    rows = [json.loads(line) for line in (AIPERF / "profile_export.jsonl").read_text().splitlines() if line.strip()]
    cached = np.array([r["metrics"]["usage_prompt_cache_read_tokens"]["value"] for r in rows], float)
    run = load_runs(AIPERF / "profile_export.jsonl")[0]
    assert sorted(run.requests["cached_tokens"]) == sorted(cached)
    cs = side_cache(run)
    assert cs is not None and (cs.hits, cs.requests) == (int((cached > 0).sum()), 200) == (86, 200)
    # the server's own queue time: Δsum ÷ Δcount of the histogram over the profiling phase
    stats = json.loads((AIPERF / "server_metrics_export.json").read_text())["metrics"][
        "vllm:request_queue_time_seconds"]["series"][0]["stats"]
    assert run.tool_summary["server_queue"]["mean"] == pytest.approx(stats["sum"] / stats["count"] * 1e3)
    t = run_teardown(run, "aiperf")
    assert t.queue_source == "tool" and t.queue_ms == pytest.approx(776.286, abs=1e-3)
    assert "vllm:request_queue_time_seconds, scraped by AIPerf into server_metrics_export.json, over 200" in t.queue_source_text
    assert t.bottleneck == "queueing" and "by the server's own queue time" in t.evidence


def test_a_malformed_server_metrics_file_is_a_clear_error(tmp_path):
    d = tmp_path / "run"
    shutil.copytree(AIPERF, d)
    (d / "server_metrics_export.json").write_text('{"metrics": [1, 2]}')
    with pytest.raises(CasegenError) as err:
        load_runs(d / "profile_export.jsonl")
    assert "server_metrics_export.json" in err.value.format() and "has no 'metrics' object" in err.value.format()


def test_outside_the_caching_kind_a_different_hit_rate_is_a_threat(tmp_path):
    """The same runs as a serving case: the cache is a confounder, a major threat (0 % vs 69 % of requests)."""
    case, cd = load_case(_cache_case(tmp_path, kind="serving"))
    study = analyze(case, cd)
    t = next(t for t in study.threats if t.key == "cache-differs")
    assert t.severity == "major" and "0% of baseline requests and 69% of optimized requests" in t.reason
    assert study.cheap_win is None


def test_inference_perf_keeps_the_servers_cached_tokens_per_request():
    """inference-perf 0.7.0 with shared-prefix prompts against tools/testserver.py's prefix cache (PROVENANCE)."""
    d = Path(__file__).parent / "fixtures" / "inference-perf" / "0.7.0-cache" / "prefix-cache"
    recs = json.loads((d / "per_request_lifecycle_metrics.json").read_text())
    cached = np.array([r["info"]["response_metrics"]["server_usage"]["prompt_tokens_details"]["cached_tokens"]
                       for r in recs], float)
    prompt = np.array([r["info"]["response_metrics"]["server_usage"]["prompt_tokens"] for r in recs], float)
    run = load_runs(d)[0]
    cs = side_cache(run)
    assert cs is not None and (cs.hits, cs.requests) == (int((cached > 0).sum()), len(recs)) == (103, 240)
    assert cs.cached_share == pytest.approx(cached.sum() / prompt.sum())
    assert cs.ttft_hit_minus_miss_ci_ms is not None and cs.ttft_hit_minus_miss_ci_ms[1] < 0
