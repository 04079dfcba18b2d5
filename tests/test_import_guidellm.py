"""GuideLLM importer: real reports (tests/fixtures/guidellm/, see PROVENANCE.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from casegen.analysis.metrics import compute_run_metrics
from casegen.errors import CasegenError
from casegen.runs import detect_format, load_run, load_runs
from conftest import FIXTURES

G = FIXTURES / "guidellm"
V02 = G / "v0.2-test-fixture-benchmarks_stripped.json"
V02Y = G / "v0.2-test-fixture-benchmarks_stripped.yaml"
SYNC = G / "v0.5-gpt-oss-20b-synchronous-benchmarks.json"
CONC = G / "v0.5-qwen3-4b-concurrent4-benchmarks.json"


def parity(run):
    return {(p.metric, p.stat): p for p in compute_run_metrics(run).parity}


@pytest.mark.parametrize("path", [V02, V02Y, SYNC, CONC], ids=lambda p: p.name)
def test_detected(path):
    assert detect_format(path) == "guidellm"


@pytest.mark.parametrize("path", [V02, V02Y])
def test_v02_stripped_is_summary_only(path):
    runs = load_runs(path)
    assert len(runs) == 1
    run = runs[0]
    assert run.summary_only  # only 1 of 47 requests was kept in the fixture
    assert any("sample" in w for w in run.warnings)
    m = run.meta
    assert (m.tool, m.model, m.backend) == ("guidellm", "example_model", "openai_http")
    assert m.label == "synchronous" and m.max_concurrency == 1 and m.request_rate is None
    assert m.num_prompts == 47 and m.duration_s == pytest.approx(29.997201442718506)
    assert m.extra["profile"] == "sweep" and m.extra["strategy"] == "synchronous"
    s = run.tool_summary
    # values read by hand from the raw file
    assert s["ttft"]["mean"] == pytest.approx(16.792535781860348)
    assert s["ttft"]["p50"] == pytest.approx(16.38054847717285)  # 0.2 has no p50: 'median'
    assert s["tpot"]["mean"] == pytest.approx(4.941609043733832)  # inter_token_latency_ms
    assert s["tpot"]["mean"] != pytest.approx(4.90300272307966)  # not time_per_output_token_ms
    assert s["e2e"]["p99"] == pytest.approx(689.1846656799316)  # request_latency is seconds
    assert s["requests"] == {"total": 47, "succeeded": 46, "failed": 1}
    assert s["tokens"] == {"input_total": 11827.0, "output_total": 5888.0}
    assert s["throughput"]["requests_per_s"] == pytest.approx(46 / 29.997201442718506)
    assert "itl" not in s
    metrics = compute_run_metrics(run)
    assert metrics.source == "summary" and metrics.requests["failed"] == 1


def test_yaml_and_json_agree():
    a, b = load_runs(V02)[0], load_runs(V02Y)[0]
    assert a.tool_summary == b.tool_summary
    assert a.meta.selector_values() == b.meta.selector_values()


def test_v05_synchronous_per_request_and_window():
    runs = load_runs(SYNC)
    assert len(runs) == 1
    run = runs[0]
    assert not run.summary_only
    df = run.requests
    # 30 requests in the file, 25 overlap GuideLLM's measurement window (metrics.request_totals)
    assert len(df) == 25 and run.trimmed == 5 and df["success"].all()
    m = run.meta
    assert m.tool_version == "0.5.0.dev0" and m.model == "openai/gpt-oss-20b"
    assert m.duration_s == 720.0 and m.max_concurrency == 1 and m.label == "synchronous"
    assert m.extra["warmup_s"] == pytest.approx(89.99700593948364)
    assert (df["output_tokens"] == 1024).all() and df["input_tokens"].sum() == 2318
    assert all(g is None for g in df["chunk_gaps_s"])
    metrics = compute_run_metrics(run)
    assert metrics.throughput["requests_per_s"] == pytest.approx(25 / 720)
    assert "itl" not in metrics.latency_ms


def test_v05_concurrent_per_request():
    run = load_run(CONC)
    df = run.requests
    assert len(df) == 4 and run.trimmed == 0
    assert run.meta.max_concurrency == 4 and run.meta.label == "concurrent-4"
    assert run.meta.model == "Qwen/Qwen3-4B-Thinking-2507"
    # request 0143bbb3 by hand: request_start .6802611, first token .8517828, last token 21.5865457
    ttfts_ms = sorted(df["ttft_s"] * 1e3)
    assert any(t == pytest.approx(171.52166366577148, rel=1e-6) for t in ttfts_ms)
    raw = json.loads(CONC.read_text())["benchmarks"][0]["requests"]["successful"]
    assert ttfts_ms == pytest.approx(sorted(r["time_to_first_token_ms"] for r in raw), rel=1e-6)
    assert any(e == pytest.approx(1772470721.5865457 - 1772470696.6802611, abs=1e-6) for e in df["e2e_s"])
    assert df["output_tokens"].tolist() == [1024.0] * 4


@pytest.mark.parametrize("path", [SYNC, CONC], ids=lambda p: p.name)
def test_parity_means_agree(path):
    """Same definitions: means, min, max and std of TTFT / TPOT agree exactly (equal output lengths)."""
    rows = parity(load_run(path))
    for metric in ("ttft", "tpot"):
        for stat in ("mean", "min", "max", "std"):
            assert abs(rows[(metric, stat)].diff_pct) < 1e-6, (metric, stat)
    # E2E: GuideLLM ends at response end, casegen at the last token: a few ms on 25-30 s
    for stat in ("mean", "p50", "p90", "p99", "min", "max"):
        assert abs(rows[("e2e", stat)].diff_pct) < 0.1
        assert rows[("e2e", stat)].ours < rows[("e2e", stat)].tool


def test_parity_documented_differences():
    """Percentiles: GuideLLM = inverse CDF without interpolation, casegen = linear."""
    rows = parity(load_run(SYNC))
    assert rows[("ttft", "p50")].diff_pct == pytest.approx(0, abs=1e-9)
    assert rows[("ttft", "p95")].diff_pct == pytest.approx(-1.90, abs=0.01)  # 56.71 vs 57.81 ms
    assert rows[("ttft", "p99")].diff_pct == pytest.approx(-1.17, abs=0.01)
    assert all(abs(rows[("tpot", s)].diff_pct) < 0.1 for s in ("p50", "p90", "p95", "p99"))
    rows = parity(load_run(CONC))
    # E2E std over 4 requests is < 1 ms; response end vs last token shifts it by ~30 %
    assert rows[("e2e", "std")].flagged
    assert all(not r.flagged for k, r in rows.items() if k[0] in ("ttft", "tpot"))


def test_definitions_and_no_misleading_keys():
    run = load_run(SYNC)
    text = " ".join(run.definitions)
    assert "'inter_token_latency_ms'" in text and "TPOT" in text
    assert "time_per_output_token_ms" in text and "includes TTFT" in text
    # time_per_output_token_ms (29.92) must not have become TPOT (29.906)
    assert run.tool_summary["tpot"]["mean"] == pytest.approx(29.90631087667665)
    assert "throughput" not in run.tool_summary  # GuideLLM rates are over-time distributions


# --------------------------------------------------------------------------- sweeps and selection

def _sweep(tmp_path: Path) -> Path:
    doc = json.loads(SYNC.read_text())
    b0 = doc["benchmarks"][0]
    b1 = json.loads(json.dumps(b0))
    b1["config"]["strategy"] = {"type_": "constant", "rate": 2.5, "worker_count": 1, "max_concurrency": None}
    b2 = json.loads(json.dumps(b0))
    b2["config"]["strategy"] = {"type_": "throughput", "worker_count": 1, "max_concurrency": 64}
    doc["benchmarks"] = [b0, b1, b2]
    p = tmp_path / "benchmarks.json"
    p.write_text(json.dumps(doc))
    return p


def test_sweep_one_run_per_benchmark_and_selectors(tmp_path):
    p = _sweep(tmp_path)
    runs = load_runs(p)
    assert [r.meta.label for r in runs] == ["synchronous", "constant-2.5", "throughput"]
    assert [r.meta.index for r in runs] == [0, 1, 2]
    assert load_run(p, select="rate=2.5").meta.label == "constant-2.5"
    assert load_run(p, select="strategy=throughput").meta.request_rate == math.inf
    assert load_run(p, select="strategy=synchronous").meta.max_concurrency == 1
    assert load_run(p, select="label=constant-2.5").meta.index == 1
    with pytest.raises(CasegenError):
        load_run(p)  # three runs, no selector
    with pytest.raises(CasegenError):
        load_run(p, select="guidellm_schema=0.4+")  # matches all three


def test_errored_and_incomplete_requests(tmp_path):
    doc = json.loads(CONC.read_text())
    b = doc["benchmarks"][0]
    ok = b["requests"]["successful"]
    bad = json.loads(json.dumps(ok[3]))
    bad["info"]["status"] = "errored"
    bad["info"]["error"] = "HTTP 500"
    b["requests"]["successful"] = ok[:2]
    b["requests"]["errored"] = [bad]
    b["requests"]["incomplete"] = [ok[2]]
    b["metrics"]["request_totals"] = {"successful": 2, "errored": 1, "incomplete": 1, "total": 4}
    p = tmp_path / "err.json"
    p.write_text(json.dumps(doc))
    run = load_run(p)
    df = run.requests
    assert len(df) == 4 and df["success"].sum() == 2
    assert "HTTP 500" in set(df["error"])
    assert np.isnan(df["ttft_s"][~df["success"]]).all()
    assert run.tool_summary["requests"] == {"total": 4, "succeeded": 2, "failed": 2}
    assert compute_run_metrics(run).requests["failed"] == 2


# --------------------------------------------------------------------------- bad input

def _mutate(tmp_path: Path, fn, src: Path = CONC) -> Path:
    doc = json.loads(src.read_text())
    fn(doc)
    p = tmp_path / "benchmarks.json"
    p.write_text(json.dumps(doc))
    return p


def test_truncated_file(tmp_path):
    p = tmp_path / "benchmarks.json"
    p.write_text(CONC.read_text()[:50_000])
    with pytest.raises(CasegenError) as e:
        load_runs(p, format="guidellm")
    assert "line" in str(e.value)
    with pytest.raises(CasegenError):
        load_runs(p)  # auto-detection: a clean error too


def test_truncated_yaml(tmp_path):
    p = tmp_path / "b.yaml"
    p.write_text(V02Y.read_text()[:5000] + "\n  - : [\n")
    with pytest.raises(CasegenError):
        load_runs(p, format="guidellm")


def test_empty_benchmarks(tmp_path):
    p = _mutate(tmp_path, lambda d: d.update(benchmarks=[]))
    with pytest.raises(CasegenError, match="no benchmarks"):
        load_runs(p, format="guidellm")


def test_missing_benchmarks_key(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"metadata": {}}))
    with pytest.raises(CasegenError) as e:
        load_runs(p, format="guidellm")
    assert e.value.where == "key benchmarks"


@pytest.mark.parametrize("mutation,where", [
    (lambda d: d["benchmarks"][0]["metrics"]["time_to_first_token_ms"]["successful"].update(mean="fast"),
     "key benchmarks[0].metrics.time_to_first_token_ms.successful.mean"),
    (lambda d: d["benchmarks"][0]["metrics"].update(request_totals=None),
     "key benchmarks[0].metrics.request_totals"),
    (lambda d: d["benchmarks"][0]["config"].update(strategy=[1, 2]),
     "key benchmarks[0].config.strategy"),
    (lambda d: d["benchmarks"][0].update(type_="other"), "key benchmarks[0].type_"),
    (lambda d: d["benchmarks"][0]["requests"]["successful"][1]["info"]["timings"].update(request_start="x"),
     "key benchmarks[0].requests.successful[1].info.timings.request_start"),
    (lambda d: d["benchmarks"][0]["requests"].update(successful={"a": 1}),
     "key benchmarks[0].requests.successful"),
    (lambda d: d["benchmarks"].__setitem__(0, "nope"), "key benchmarks[0]"),
])
def test_wrong_types_name_the_key(tmp_path, mutation, where):
    p = _mutate(tmp_path, mutation)
    with pytest.raises(CasegenError) as e:
        load_runs(p, format="guidellm")
    assert e.value.where == where


def test_negative_latency_rejected(tmp_path):
    def neg(d):
        t = d["benchmarks"][0]["requests"]["successful"][0]["info"]["timings"]
        t["first_token_iteration"] = t["request_start"] - 1
    p = _mutate(tmp_path, neg)
    with pytest.raises(CasegenError, match="negative TTFT"):
        load_runs(p)


def test_missing_metrics_v02(tmp_path):
    p = _mutate(tmp_path, lambda d: d["benchmarks"][0].pop("metrics"), src=V02)
    with pytest.raises(CasegenError) as e:
        load_runs(p, format="guidellm")
    assert e.value.where == "key benchmarks[0].metrics"


def test_does_not_claim_other_tools():
    for p in FIXTURES.rglob("*"):
        if p.is_file() and "guidellm" not in p.parts and p.suffix in (".json", ".jsonl", ".yaml", ".csv"):
            assert detect_format_safe(p) != "guidellm", p


def detect_format_safe(p: Path) -> str | None:
    try:
        return detect_format(p)
    except CasegenError:
        return None
