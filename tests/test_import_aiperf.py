"""NVIDIA AIPerf importer on real outputs (tests/fixtures/aiperf, see PROVENANCE.md)."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from casegen.analysis.metrics import compute_run_metrics
from casegen.errors import CasegenError
from casegen.runs import detect_format, load_run, load_runs
from casegen.runs.fields import scrub, scrub_text
from conftest import FIXTURES, write

AIPERF = FIXTURES / "aiperf"
V01 = AIPERF / "v0.1-example-run1-with-cancellations"
FLAT = AIPERF / "gpt-oss-20b-reasoning-streaming-profile_export_aiperf.json"
SWEEP = AIPERF / "v0.11-qwen3-4b-concurrency-sweep"


@pytest.mark.parametrize("path, fmt, n_runs, per_request", [
    (V01 / "profile_export.jsonl", "aiperf-jsonl", 1, True),
    (V01 / "profile_export_aiperf.json", "aiperf-json", 1, False),
    (V01 / "profile_export_aiperf.csv", "aiperf-csv", 1, False),
    (FLAT, "aiperf-json", 1, False),
    (SWEEP / "concurrency_16" / "profile_export_aiperf.json", "aiperf-json", 1, False),
    (SWEEP / "concurrency_768" / "profile_export_aiperf.json", "aiperf-json", 1, False),
    (V01, None, 1, True),
    (SWEEP, None, 2, False),
])
def test_every_sample_imports(path, fmt, n_runs, per_request):
    if fmt:
        assert detect_format(path) == fmt
    runs = load_runs(path)
    assert len(runs) == n_runs
    for run in runs:
        assert run.meta.tool == "aiperf"
        assert (not run.summary_only) == per_request
        assert run.definitions and run.warnings
        compute_run_metrics(run)  # never raises


def test_jsonl_values_by_hand():
    run = load_run(V01 / "profile_export.jsonl")
    df = run.requests
    assert len(df) == 100
    assert int((~df["success"]).sum()) == 11
    assert all(e.startswith("RequestCancellationError (499)") for e in df["error"][~df["success"]])
    # first successful line of the file: ttft 1680.543782 ms, request_latency 7936.968269 ms,
    # ISL 550, OSL 193 (61 output + 132 reasoning), 192 chunk gaps, first gap = ttst 134.440792 ms
    first_ok = [json.loads(line) for line in (V01 / "profile_export.jsonl").read_text().splitlines()]
    i = next(k for k, r in enumerate(first_ok) if r["error"] is None)
    row = df.row(i)
    assert row["ttft_s"] == pytest.approx(1.680543782)
    assert row["e2e_s"] == pytest.approx(7.936968269)
    assert row["input_tokens"] == 550 and row["output_tokens"] == 193
    assert len(row["chunk_gaps_s"]) == 192
    assert row["chunk_gaps_s"][0] == pytest.approx(0.134440792)
    assert np.isnan(df["ttft_s"][~df["success"]]).all()
    assert df["start_s"].min() == 0.0
    assert run.meta.model == "openai/gpt-oss-20b"
    assert run.meta.max_concurrency == 100 and run.meta.streaming is True
    assert run.meta.duration_s == pytest.approx(9.317788951)
    assert any("reasoning" in w for w in run.warnings)
    assert any("inter_token_latency" in d and "TPOT" in d for d in run.definitions)


def test_parity_v01_jsonl_vs_summary_json():
    run = load_run(V01)  # folder: JSONL per request + summary JSON attached
    m = compute_run_metrics(run)
    rows = {(r.metric, r.stat): r for r in m.parity}
    for metric in ("ttft", "tpot", "e2e", "itl"):
        for stat in ("mean", "p50", "p99"):
            r = rows[(metric, stat)]
            assert abs(r.diff_pct) < 1.0, r
    assert rows[("throughput", "requests_per_s")].tool == pytest.approx(9.551622221540914)
    assert abs(rows[("throughput", "requests_per_s")].diff_pct) < 1.0
    assert abs(rows[("throughput", "output_tokens_per_s")].diff_pct) < 1.0
    assert not any(r.flagged for r in m.parity)
    assert m.requests == {"total": 100, "succeeded": 89, "failed": 11, "error_rate": 0.11}


def test_summary_json_records_layout():
    run = load_run(V01 / "profile_export_aiperf.json")
    s = run.tool_summary
    assert s["ttft"]["mean"] == pytest.approx(2343.219436988764)
    assert s["ttft"]["p99"] == pytest.approx(3833.3894000399996)
    assert s["tpot"]["p50"] == pytest.approx(27.615130366666666)
    assert s["itl"]["mean"] == pytest.approx(27.755153106189347)
    assert s["e2e"]["max"] == pytest.approx(9299.772642)
    assert s["requests"] == {"succeeded": 89.0, "failed": 11.0, "total": 100.0}
    assert s["tokens"] == {"input_total": 48950.0, "output_total": 21624.0}
    assert run.meta.extra["summary_layout"] == "records"


def test_csv_summary():
    run = load_run(V01 / "profile_export_aiperf.csv")
    assert run.summary_only
    assert run.tool_summary["ttft"]["mean"] == pytest.approx(2343.22)
    assert run.tool_summary["e2e"]["p99"] == pytest.approx(9297.61)
    assert run.tool_summary["throughput"]["requests_per_s"] == pytest.approx(9.55)
    assert run.tool_summary["requests"]["failed"] == 11
    assert run.meta.duration_s == pytest.approx(9.32)


def test_flat_layout_summary():
    run = load_run(FLAT)
    assert run.summary_only and run.requests is None
    assert run.tool_summary["ttft"]["mean"] == pytest.approx(82.84651240000001)
    assert run.tool_summary["tpot"]["p99"] == pytest.approx(19.047832429846817)
    assert run.tool_summary["requests"] == {"succeeded": 100.0, "failed": 0.0, "total": 100.0}
    assert run.meta.duration_s == pytest.approx(519.597973721)
    assert run.meta.max_concurrency == 1
    assert any("first non-reasoning token" in w for w in run.warnings)
    assert not any("time_to_first_output_token" in w for w in run.warnings)  # reader words, not the tool's key


def test_api_key_is_scrubbed():
    assert "test_key" in FLAT.read_text()  # the raw file does echo it
    run = load_run(FLAT)
    blob = repr(run.meta) + repr(run.warnings) + repr(run.definitions) + repr(run.tool_summary)
    assert "test_key" not in blob
    assert "--api-key ***" in run.meta.extra["cli_command"]


def test_scrub_helpers():
    cfg = {"endpoint": {"api_key": "abc123", "headers": {"Authorization": "Bearer xyz"}},
           "slos": {"time_to_first_token": 1500}, "tokenizer": {"name": "gpt2"}, "hf_token": "hf_abcdefghijk"}
    out = scrub(cfg)
    assert out["endpoint"]["api_key"] == "***" and out["endpoint"]["headers"]["Authorization"] == "***"
    assert out["hf_token"] == "***"
    assert out["slos"] == {"time_to_first_token": 1500} and out["tokenizer"] == {"name": "gpt2"}
    text = scrub_text('aiperf profile --api-key "s3cr3t" --api-key=k2 -H "Authorization: Bearer tok" sk-abcdefghijklmnop --osl 250')
    for secret in ("s3cr3t", "k2", "tok\"", "sk-abcdefghijklmnop"):
        assert secret not in text
    assert "--osl 250" in text


def test_api_key_in_old_config_scrubbed(tmp_path):
    obj = json.loads((V01 / "profile_export_aiperf.json").read_text())
    obj["input_config"]["endpoint"]["api_key"] = "SUPERSECRET"
    obj["input_config"]["cli_command"] += ' --api-key "SUPERSECRET"'
    d = tmp_path / "run"
    d.mkdir()
    shutil.copy(V01 / "profile_export.jsonl", d / "profile_export.jsonl")
    write(d / "profile_export_aiperf.json", json.dumps(obj))
    for run in load_runs(d) + load_runs(d / "profile_export_aiperf.json"):
        assert "SUPERSECRET" not in repr(run.meta) + repr(run.warnings)


def test_sweep_selector_by_concurrency():
    runs = load_runs(SWEEP)
    assert [r.meta.max_concurrency for r in runs] == [16, 768]
    assert [r.meta.label for r in runs] == ["concurrency_16", "concurrency_768"]
    run = load_run(SWEEP, select="concurrency=768")
    assert run.meta.extra["concurrency"] == 768
    assert run.tool_summary["ttft"]["p50"] == pytest.approx(29197.660351)
    assert run.meta.extra["goodput"] == pytest.approx(0.6434660696762321)
    assert run.meta.tool_version == "0.11.0" and run.meta.model == "qwen3-4b"
    run16 = load_run(SWEEP, select="concurrency=16")
    assert run16.tool_summary["requests"]["succeeded"] == 2044


def test_sweep_sorted_numerically(tmp_path):
    for c in (128, 16):
        shutil.copytree(SWEEP / "concurrency_16", tmp_path / f"concurrency_{c}")
    runs = load_runs(tmp_path)
    assert [r.meta.label for r in runs] == ["concurrency_16", "concurrency_128"]
    assert [r.meta.index for r in runs] == [0, 1]


def test_summary_not_claimed_by_genai_perf():
    assert detect_format(FLAT) == "aiperf-json"


# ----------------------------------------------------------------- bad input

def _jsonl_lines():
    return (V01 / "profile_export.jsonl").read_text().splitlines()


def test_jsonl_one_bad_line(tmp_path):
    lines = _jsonl_lines()
    lines[41] = lines[41][:50]
    p = write(tmp_path / "profile_export.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(CasegenError) as e:
        load_runs(p, format="aiperf-jsonl")
    assert e.value.where == "line 42"


def test_jsonl_truncated_last_line(tmp_path):
    text = (V01 / "profile_export.jsonl").read_text()
    p = write(tmp_path / "profile_export.jsonl", text[: len(text) - 500])
    with pytest.raises(CasegenError) as e:
        load_runs(p, format="aiperf-jsonl")
    assert e.value.where == "line 100"


def test_jsonl_wrong_type(tmp_path):
    lines = _jsonl_lines()
    i = next(k for k, ln in enumerate(lines) if '"request_latency"' in ln)
    obj = json.loads(lines[i])
    obj["metrics"]["request_latency"]["value"] = "slow"
    lines[i] = json.dumps(obj)
    p = write(tmp_path / "profile_export.jsonl", "\n".join(lines))
    with pytest.raises(CasegenError) as e:
        load_runs(p)
    assert f"line {i + 1}" in e.value.where


def test_jsonl_unknown_unit_and_missing_latency(tmp_path):
    lines = _jsonl_lines()
    i = next(k for k, ln in enumerate(lines) if '"request_latency"' in ln)
    obj = json.loads(lines[i])
    obj["metrics"]["request_latency"]["unit"] = "fortnights"
    p = write(tmp_path / "a.jsonl", "\n".join(lines[:i] + [json.dumps(obj)]))
    with pytest.raises(CasegenError, match="unknown time unit"):
        load_runs(p)
    del obj["metrics"]["request_latency"]
    p = write(tmp_path / "b.jsonl", "\n".join(lines[:i] + [json.dumps(obj)]))
    with pytest.raises(CasegenError, match="request_latency"):
        load_runs(p)


def test_jsonl_negative_ttft(tmp_path):
    lines = _jsonl_lines()
    i = next(k for k, ln in enumerate(lines) if '"ttft"' in ln)
    obj = json.loads(lines[i])
    obj["metrics"]["ttft"]["value"] = -5.0
    lines[i] = json.dumps(obj)
    with pytest.raises(CasegenError) as e:
        load_runs(write(tmp_path / "x.jsonl", "\n".join(lines)))
    assert e.value.where == f"line {i + 1}"


def test_empty_and_non_record(tmp_path):
    with pytest.raises(CasegenError):
        load_runs(write(tmp_path / "e.jsonl", "\n\n"), format="aiperf-jsonl")
    with pytest.raises(CasegenError, match="not an AIPerf per-request record"):
        load_runs(write(tmp_path / "x.jsonl", '{"a": 1}\n'), format="aiperf-jsonl")


def test_summary_bad_inputs(tmp_path):
    text = FLAT.read_text()
    with pytest.raises(CasegenError):
        load_runs(write(tmp_path / "t_aiperf.json", text[:2000]), format="aiperf-json")
    obj = json.loads(text)
    obj["time_to_first_token"]["p50"] = "fast"
    with pytest.raises(CasegenError) as e:
        load_runs(write(tmp_path / "w_aiperf.json", json.dumps(obj)))
    assert "time_to_first_token.p50" in e.value.where
    obj = json.loads((V01 / "profile_export_aiperf.json").read_text())
    obj["records"]["ttft"] = [1, 2]
    with pytest.raises(CasegenError) as e:
        load_runs(write(tmp_path / "r_aiperf.json", json.dumps(obj)), format="aiperf-json")
    assert e.value.where == "key records.ttft"
    with pytest.raises(CasegenError, match="not an AIPerf summary"):
        load_runs(write(tmp_path / "n.json", "{}"), format="aiperf-json")


def test_csv_bad_cell(tmp_path):
    text = (V01 / "profile_export_aiperf.csv").read_text().replace("2343.22", "abc")
    with pytest.raises(CasegenError) as e:
        load_runs(write(tmp_path / "p_aiperf.csv", text))
    assert e.value.where.startswith("line 10")


def test_empty_folder(tmp_path):
    with pytest.raises(CasegenError):
        load_runs(tmp_path, format="aiperf-jsonl")


def test_jsonl_without_summary_still_works(tmp_path):
    p = tmp_path / "profile_export.jsonl"
    shutil.copy(V01 / "profile_export.jsonl", p)
    run = load_run(p)
    assert run.tool_summary == {} and run.meta.model is None
    m = compute_run_metrics(run)
    # duration from timestamps (first send → last response) matches AIPerf's benchmark_duration
    assert m.throughput["duration_s"] == pytest.approx(9.317788951, rel=1e-3)
    assert math.isclose(m.throughput["requests_per_s"], 9.5516, rel_tol=1e-3)


def test_reasoning_tokens_are_mentioned_only_for_a_run_that_has_them():
    """'output includes reasoning tokens' is a note about a reasoning model's run, not boilerplate on every
    AIPerf run (a review found it on a test server's report)."""
    from casegen.runs.aiperf import REASONING_WARNING

    reasoning = load_run(FLAT)
    assert REASONING_WARNING in reasoning.warnings
    plain = load_run(AIPERF / "0.13.0" / "baseline-c4" / "profile_export.jsonl")
    assert REASONING_WARNING not in plain.warnings
