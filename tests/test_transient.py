"""MSER-5 warm-up detection (casegen.analysis.transient), checked on simulated runs with a known transient."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from casegen.analysis.study import analyze
from casegen.analysis.transient import BATCH, mser, trending
from casegen.app.build import build
from casegen.case.model import load_case


def _ramp(n: int, tau: float, rng: np.random.Generator, mu: float = 150.0, a: float = 0.6, sd: float = 15.0):
    """A latency series that starts a·mu below its steady level mu and approaches it as exp(−i/τ)."""
    i = np.arange(n)
    return mu * (1 - a * np.exp(-i / tau)) + rng.normal(0, sd, n)


def test_mser5_finds_a_known_transient_and_removes_its_bias():
    rng = np.random.default_rng(7)
    cuts, bias_raw, bias_cut, drifting = [], [], [], 0
    for _ in range(200):
        x = _ramp(400, tau=30.0, rng=rng)
        r = mser(x)
        assert r.truncate % BATCH == 0
        drifting += not r.steady
        cuts.append(r.truncate)
        bias_raw.append(x.mean() - 150.0)
        bias_cut.append(x[r.truncate:].mean() - 150.0)
    # the transient's deviation falls below the noise of a batch mean (15/√5 ≈ 6.7 of 90) after
    # about τ·ln(90/6.7) ≈ 78 requests: MSER-5 cuts there, not at 0 and not half the run
    assert 50 <= np.median(cuts) <= 130, np.median(cuts)
    # what is left is (nearly) unbiased: the raw mean is 6.75 ms low (0.6·150·30/400), the trimmed one within 1.5 ms
    assert np.mean(bias_raw) < -5
    assert abs(np.mean(bias_cut)) < 1.5, np.mean(bias_cut)
    assert drifting <= 10  # the rest rarely looks like it still drifts


@pytest.mark.parametrize("kind", ["normal", "lognormal", "ar1"])
def test_mser5_leaves_a_stationary_series_almost_whole(kind):
    rng = np.random.default_rng(3)
    shares, drifting = [], 0
    for _ in range(200):
        if kind == "normal":
            x = rng.normal(100, 10, 300)
        elif kind == "lognormal":
            x = rng.lognormal(np.log(100), 0.5, 300)
        else:
            e = rng.normal(0, 10, 300)
            x = np.empty(300)
            x[0] = e[0]
            for j in range(1, 300):
                x[j] = 0.5 * x[j - 1] + e[j]
            x += 100
        r = mser(x)
        shares.append(r.truncate / x.size)
        drifting += not r.steady
    assert np.mean(shares) < 0.05
    assert drifting / 200 <= 0.03  # the trend test's false alarms (1 % nominal, batches slightly correlated)


def test_a_run_that_keeps_drifting_has_no_steady_part():
    rng = np.random.default_rng(5)
    # a queue above capacity: latency grows through the whole run
    x = 100 + np.arange(400) * 0.8 + rng.normal(0, 20, 400)
    r = mser(x)
    assert not r.steady and trending(x[r.truncate:])
    assert mser(x[:20]).truncate == 0  # too short to judge: nothing trimmed


def _write_run(path: Path, n: int, seed: int, ramp: bool) -> None:
    rng = np.random.default_rng(seed)
    start = np.cumsum(rng.exponential(1 / 30.0, n))
    ttft = _ramp(n, 25.0, rng, mu=140.0, a=0.5, sd=12.0) if ramp else rng.normal(140.0, 12.0, n)
    ttft = np.maximum(ttft, 5.0)
    e2e = ttft + rng.normal(400.0, 20.0, n)
    lines = ["start_s,ttft_ms,e2e_ms,input_tokens,output_tokens"]
    lines += [f"{start[i]:.4f},{ttft[i]:.2f},{e2e[i]:.2f},128,32" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _case(tmp_path: Path, warmup: str | None, ramp: bool = True) -> Path:
    d = tmp_path / "case"
    (d / "runs").mkdir(parents=True)
    _write_run(d / "runs" / "a.csv", 600, 1, ramp)
    _write_run(d / "runs" / "b.csv", 600, 2, ramp)
    (d / "case.yaml").write_text("""
title: "Simulated open-loop runs from an empty queue"
author: "test"
date: 2026-12-07
summary: "two runs of one system, each starting with a ramp"
system: {model: "m", hardware: "h", serving_stack: "s"}
workload: {description: "simulated"}
runs:
  baseline: {path: runs/a.csv, label: "A"}
  optimized: {path: runs/b.csv, label: "B"}
""" + (f"analysis: {{warmup: {warmup}}}\n" if warmup else ""), encoding="utf-8")
    return d


def test_warmup_auto_trims_reports_and_analyses_the_steady_part(tmp_path):
    case, d = load_case(_case(tmp_path, "auto"))
    study = analyze(case, d)
    for side in ("baseline", "optimized"):
        t = study.transients[side]
        assert t.applied and t.steady and t.by in ("ttft", "e2e")
        assert 40 <= t.requests_trimmed <= 150, t.requests_trimmed  # the ramp: ≈ 25·ln(70/2.4) ≈ 85 requests
        assert study.runs[side].requests is not None and len(study.runs[side].requests) == 600 - t.requests_trimmed
        assert t.seconds_trimmed is not None and 0 < t.seconds_trimmed < t.seconds
    # how much and why: in the notes, the threats and summary.json
    assert any("as warm-up: the warm-up ends at request" in n for n in study.notes)
    threat = next(t for t in study.threats if t.key == "warmup-transient")
    assert "left out" in threat.reason and "steady part" in threat.reason
    out = tmp_path / "out"
    build(d, out, pdf=False)
    s = json.loads((out / "summary.json").read_text())
    tr = s["runs"]["baseline"]["transient"]
    assert tr["method"] == "MSER-5" and tr["applied"] and tr["requests_trimmed"] == study.transients["baseline"].requests_trimmed
    html = (out / "report.html").read_text()
    assert "Warm-up transient trimmed" in html


def test_without_warmup_auto_a_large_transient_is_reported_not_trimmed(tmp_path):
    case, d = load_case(_case(tmp_path, None))
    study = analyze(case, d)
    t = study.transients["baseline"]
    assert not t.applied and t.requests_trimmed >= 60
    assert len(study.runs["baseline"].requests) == 600  # nothing trimmed
    threat = next(t for t in study.threats if t.key == "warmup-transient")
    assert "analysis.warmup: auto" in threat.fix


@pytest.mark.parametrize("warmup", ["auto", None])
def test_no_steady_part_is_the_reason_for_the_dagger(tmp_path, warmup):
    d = _case(tmp_path, warmup, ramp=False)
    rng = np.random.default_rng(9)
    n = 600
    start = np.cumsum(rng.exponential(1 / 30.0, n))
    ttft = 100 + np.arange(n) * 0.5 + rng.normal(0, 10, n)  # the queue keeps growing
    lines = ["start_s,ttft_ms,e2e_ms,input_tokens,output_tokens"]
    lines += [f"{start[i]:.4f},{ttft[i]:.2f},{ttft[i] + 400:.2f},128,32" for i in range(n)]
    (d / "runs" / "b.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    case, d = load_case(d)
    study = analyze(case, d)
    t = study.transients["optimized"]
    assert t.applied == (warmup == "auto") and not t.steady and t.requests_trimmed == 0
    # the steady side keeps its draws (600 requests: its own interval is withheld for the run's length only)
    steady = study.intervals["baseline"]
    assert steady.supported["ttft"]["p50"] and "requests are too few" in steady.withheld["ttft"]["p50"]
    iv = study.intervals["optimized"]
    assert all(ci is None for row in iv.intervals.values() for ci in row.values())
    assert all(r.startswith("no steady part") for row in iv.reasons.values() for r in row.values())
    assert study.throughput_delta_cis["requests_per_s"].supported is False
    assert "no steady part" in study.throughput_delta_cis["requests_per_s"].reason
    assert any(t.key == "no-steady-state" and t.severity == "major" for t in study.threats)
    from casegen.report.build import build_report

    r = build_report(study)
    f = next(f for f in r.findings if f.key == "latency:ttft:p50")
    assert f.value.endswith("†") and "no steady part" in (f.evidence.note or "")
