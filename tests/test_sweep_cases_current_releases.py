"""A sweep case built from each current tool release's per-request outputs (tests/fixtures/<tool>/<version>/)
builds HTML, PDF and summary.json, with a capacity at SLO for both sides; `validate` runs the same analysis."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from casegen.app.build import build, validate_case
from conftest import FIXTURES

CASE = """title: "Test server, optimized vs baseline timing profile: {tool} sweep"
author: "casegen tests"
date: 2026-11-29
summary: "Fixture case: {tool} swept the test server's two timing profiles by {load}."
system:
  model: "test-model (tools/testserver.py)"
  hardware: "CPU, 127.0.0.1"
  serving_stack: "tools/testserver.py, baseline vs optimized timing profile"
workload:
  description: "Synthetic streaming requests, 32 output tokens ({tool} {version})."
slos:
  - {{metric: ttft, percentile: 90, threshold_ms: 90}}
  - {{metric: tpot, percentile: 90, threshold_ms: 35}}
runs:
  baseline: {{path: runs/baseline, label: "Baseline", sweep: true, load: {load}}}
  optimized: {{path: runs/optimized, label: "Optimized", sweep: true, load: {load}}}
cost:
  baseline:
    self_hosted: {{gpu: "GPU (assumed)", gpu_hourly_usd: 2.50, gpus_per_replica: 1, utilization: 0.6}}
  optimized:
    self_hosted: {{gpu: "GPU (assumed)", gpu_hourly_usd: 2.50, gpus_per_replica: 1, utilization: 0.6}}
  requests_per_month: 1000000
"""

SWEEPS = {
    "aiperf": ("0.13.0", "baseline-sweep", "optimized-sweep", "concurrency"),
    "inference-perf": ("0.7.0", "baseline-concurrency", "optimized-concurrency", "concurrency"),
    "guidellm": ("0.8.1", "baseline-concurrent", "optimized-concurrent", "concurrency"),
}


def sweep_case(tool: str, case: Path) -> Path:
    """A case folder at ``case`` comparing ``tool``'s two sweeps from today's release (SWEEPS)."""
    version, base, opt, load = SWEEPS[tool]
    src = FIXTURES / tool / version
    shutil.copytree(src / base, case / "runs" / "baseline")
    shutil.copytree(src / opt, case / "runs" / "optimized")
    (case / "case.yaml").write_text(CASE.format(tool=tool, version=version, load=load), encoding="utf-8")
    return case


def _build(tmp_path, tool, formats):
    case = sweep_case(tool, tmp_path / "case")
    study, _ = validate_case(case)
    if tool == "inference-perf":
        # the baseline's latency stays within the knee factor: a knee without a point (this crashed the
        # sweep summary before) — validate and build must both get through it
        assert study.knees["baseline"]["ttft"] is not None and study.knees["baseline"]["ttft"].point is None
    for side in ("baseline", "optimized"):
        assert all(not p.summary_only for p in study.sweeps[side].points)
    result = build(case, tmp_path / "out", formats=formats)
    names = {p.name for p in result.files}
    assert {"report.html", "summary.json"} <= names
    if "pdf" in formats:
        assert (tmp_path / "out" / "report.pdf").read_bytes().startswith(b"%PDF")
    sweep = json.loads((tmp_path / "out" / "summary.json").read_text())["sweep"]
    for side in ("baseline", "optimized"):
        s = sweep["sides"][side]
        assert s["load_kind"] == "concurrency"
        assert [p["data"] for p in s["points"]] == ["per-request"] * 3
        cap = s["capacity"]
        assert cap is not None and cap["bound"] in ("interpolated", "bracketed", "plateau", "at_least", "below_min")
        assert cap["text"]


@pytest.mark.parametrize("tool", sorted(SWEEPS))
def test_sweep_case_from_per_request_outputs_builds(tmp_path, tool):
    # one PDF in the default run (PDF rendering is the slow part); every tool's PDF under -m slow
    _build(tmp_path, tool, ("html", "json", "pdf") if tool == "aiperf" else ("html", "json"))


@pytest.mark.slow
@pytest.mark.parametrize("tool", sorted(SWEEPS))
def test_sweep_case_from_per_request_outputs_builds_pdf(tmp_path, tool):
    _build(tmp_path, tool, ("html", "json", "pdf"))


def test_parity_notes_name_their_cause(tmp_path):
    """GuideLLM prints nearest-rank percentiles: with the default linear method the flagged parity notes say
    so; with percentile_method: nearest no TTFT/TPOT figure is flagged."""
    src = FIXTURES / "guidellm" / "0.8.1"
    case = tmp_path / "case"
    (case / "runs").mkdir(parents=True)
    shutil.copy(src / "baseline-concurrent" / "benchmarks.json", case / "runs" / "baseline.json")
    shutil.copy(src / "optimized-concurrent" / "benchmarks.json", case / "runs" / "optimized.json")
    text = CASE.format(tool="guidellm", version="0.8.1", load="concurrency")
    text = text.replace("{path: runs/baseline, label: \"Baseline\", sweep: true, load: concurrency}",
                        "{path: runs/baseline.json, label: \"Baseline\", select: \"concurrency=4\"}")
    text = text.replace("{path: runs/optimized, label: \"Optimized\", sweep: true, load: concurrency}",
                        "{path: runs/optimized.json, label: \"Optimized\", select: \"concurrency=4\"}")
    (case / "case.yaml").write_text(text, encoding="utf-8")
    study, _ = validate_case(case)
    parity_notes = [n for n in study.notes if "differs from the tool's own figure" in n]
    assert parity_notes and all("cause: " in n for n in parity_notes)
    assert any("percentile method" in n for n in parity_notes)
    (case / "case.yaml").write_text(text + "analysis: {percentile_method: nearest}\n", encoding="utf-8")
    study, _ = validate_case(case)
    assert not [n for n in study.notes if "differs from the tool's own figure" in n and ("TTFT" in n or "TPOT" in n)]
