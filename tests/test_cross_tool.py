"""A case whose sides come from different benchmark tools (GuideLLM baseline, AIPerf optimized)."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from casegen.analysis.study import analyze, summary_dict
from casegen.case.model import load_case
from casegen.cli.main import main
from casegen.render.html import render_html
from conftest import FIXTURES, write

CASE = """
title: "gpt-oss-20b at concurrency 1: GuideLLM run vs AIPerf run"
author: "test"
date: 2026-03-02
summary: "Two single-stream runs of gpt-oss-20b measured by different tools."
system: {model: "gpt-oss-20b", hardware: "as recorded by each run", serving_stack: "vLLM"}
workload: {description: "single-stream chat requests"}
slos:
  - {metric: ttft, percentile: 99, threshold_ms: 200}
runs:
  baseline: {path: runs/guidellm.json, label: "GuideLLM run"}
  optimized: {path: runs/aiperf.json, label: "AIPerf run"}
"""


def make_case(tmp_path):
    d = tmp_path / "cross"
    (d / "runs").mkdir(parents=True)
    shutil.copy(FIXTURES / "guidellm" / "v0.5-gpt-oss-20b-synchronous-benchmarks.json", d / "runs" / "guidellm.json")
    shutil.copy(FIXTURES / "aiperf" / "gpt-oss-20b-reasoning-streaming-profile_export_aiperf.json", d / "runs" / "aiperf.json")
    write(d / "case.yaml", CASE)
    return d


def test_cross_tool_case_reconciles_definitions(tmp_path):
    d = make_case(tmp_path)
    case, folder = load_case(d)
    study = analyze(case, folder)
    assert study.runs["baseline"].meta.tool == "guidellm" and study.runs["optimized"].meta.tool == "aiperf"
    html = render_html(study)
    assert "measured with different tools" in html
    assert "How the inputs were read" in html
    defs = " ".join(study.definitions)
    assert "GuideLLM" in defs and "AIPerf" in defs and "TPOT" in defs
    s = summary_dict(study)
    keys = {t["key"] for t in s["threats"]}
    assert "tool-differs" in keys
    # GuideLLM asked for 1024 output tokens, the AIPerf run averaged far fewer: flagged on page 1
    assert "output-differs" in keys and "not a like-for-like comparison" in html
    # the same casegen names on both sides
    assert set(s["runs"]["baseline"]["latency_ms"]) >= {"ttft", "tpot", "e2e"}
    assert set(s["runs"]["optimized"]["latency_ms"]) >= {"ttft", "tpot", "e2e"}


def test_cross_tool_case_builds(tmp_path):
    d = make_case(tmp_path)
    r = CliRunner().invoke(main, ["build", str(d), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "report.pdf").exists()
