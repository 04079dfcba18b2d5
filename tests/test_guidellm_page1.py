"""Page 1 of a GuideLLM 0.8.1 pair (current-release fixtures) obeys docs/findings.md."""

from __future__ import annotations

import shutil
from pathlib import Path

from casegen.analysis.study import analyze
from casegen.case.model import load_case
from casegen.report.build import build_report

FIX = Path(__file__).resolve().parent / "fixtures" / "guidellm" / "0.8.1"


def _case(tmp_path: Path) -> Path:
    d = tmp_path / "case"
    (d / "runs").mkdir(parents=True)
    shutil.copy(FIX / "baseline-concurrent" / "benchmarks.json", d / "runs" / "base.json")
    shutil.copy(FIX / "optimized-concurrent" / "benchmarks.json", d / "runs" / "opt.json")
    (d / "case.yaml").write_text("""
title: "GuideLLM 0.8 pair"
author: "test"
date: 2026-11-29
summary: "GuideLLM 0.8.1 concurrent runs against the test server"
system: {model: "test-model", hardware: "CPU", serving_stack: "tools/testserver.py"}
workload: {description: "random 100-token prompts, 32 output tokens"}
slos:
  - {metric: ttft, percentile: 99, threshold_ms: 200}
runs:
  baseline: {path: runs/base.json, label: "Baseline", select: "concurrency=8"}
  optimized: {path: runs/opt.json, label: "Optimized", select: "concurrency=8"}
""")
    return d


def test_guidellm_08_pair_page1_follows_the_rules(tmp_path):
    case, d = load_case(_case(tmp_path))
    study = analyze(case, d)
    r = build_report(study)
    by = {f.key: f for f in r.findings}
    n = study.metrics["baseline"].requests["succeeded"]
    assert n == 20  # the concurrency-8 benchmark of this fixture
    # 20 requests a side: below the 50-request floor no statistic has an interval, so rule 2 shows
    # the SLO's statistic itself as a † point value, never with an interval or a colour
    assert all(not f.evidence.supported for f in r.findings if f.kind == "latency")
    first = r.page1.cards[0]
    assert first.finding == "latency:ttft:p99" and first.value.endswith("†") and first.verdict == "na"
    assert "CI" not in first.detail and f"{n} requests: below 50" in by[first.finding].evidence.note
    # and the card and the claim name that cause, not "too few independent requests"
    assert "fewer than 50 requests" in first.detail and "independent" not in first.detail
    assert "fewer than 50 requests" in by[first.finding].claim
    # the threat says the same rule with the same numbers
    t = next(t for t in study.threats if t.key == "too-few-requests")
    assert t.too_few is not None and any(s.few and s.counted == n and s.needed == 50 for _m, s in t.too_few.shortfalls)
    from casegen.story.threats import threat_reason

    assert f"has {n} requests, fewer than 50" in threat_reason(t, "Baseline")
    # rule 3: at most three cards; the operating point is said once in "In short"
    assert len(r.page1.cards) <= 3
    assert r.page1.in_short.count("fixed concurrency 8") == 1, r.page1.in_short
