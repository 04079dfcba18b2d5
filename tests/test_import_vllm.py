"""vLLM importer on real result files (tests/fixtures/vllm, see PROVENANCE.md)."""

from __future__ import annotations

import json
import math

import pytest

from casegen.analysis.metrics import compute_run_metrics
from casegen.errors import CasegenError
from casegen.runs import detect_format, load_run, load_runs
from conftest import VLLM, write

APPEND = VLLM / "llm-d-l40s-llama32-3b-3deployments-x-3rates-append-result.json"
FAILED = VLLM / "v0.25.1-opt125m-all-requests-failed.json"
FP16 = VLLM / "h100-llama31-8b-fp16-c16-detailed.json"


def test_detailed_run_has_per_request_rows():
    run = load_run(FP16)
    assert not run.summary_only
    assert len(run.requests) == 100
    assert run.meta.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert run.meta.request_rate == 10.0 and run.meta.max_concurrency == 16
    assert run.meta.duration_s == pytest.approx(18.339026324000315)
    assert len(run.meta.sha256) == 64
    raw = json.loads(FP16.read_text())
    assert run.requests["ttft_s"][0] == raw["ttfts"][0]
    assert run.requests["e2e_s"][0] == pytest.approx(raw["ttfts"][0] + sum(raw["itls"][0]))
    assert run.requests["input_tokens"].sum() == raw["total_input_tokens"]


def test_append_result_file_holds_nine_runs():
    runs = load_runs(APPEND)
    assert len(runs) == 9
    assert all(r.summary_only for r in runs)
    assert [r.meta.index for r in runs] == list(range(9))
    assert {r.meta.extra["deployment"] for r in runs} == {"no-features", "base", "kvcache"}
    assert math.isinf(runs[2].meta.request_rate)  # "inf" string


def test_select_by_index_and_by_metadata():
    assert load_run(APPEND, select=4).meta.index == 4
    run = load_run(APPEND, select="deployment=kvcache,rate=30")
    assert run.meta.extra["deployment"] == "kvcache" and run.meta.request_rate == 30
    run = load_run(APPEND, select={"deployment": "base", "rate": "inf"})
    assert math.isinf(run.meta.request_rate)


def test_ambiguous_selector_lists_runs():
    with pytest.raises(CasegenError) as exc:
        load_run(APPEND, select="rate=10")
    msg = str(exc.value)
    assert "matches 3 runs" in msg and "deployment=kvcache" in msg
    with pytest.raises(CasegenError, match="holds 9 runs"):
        load_run(APPEND)
    with pytest.raises(CasegenError, match="no run matches"):
        load_run(APPEND, select="rate=99")


def test_all_failed_run_has_no_data():
    run = load_run(FAILED)
    m = compute_run_metrics(run)
    assert m.requests == {"total": 8, "succeeded": 0, "failed": 8, "error_rate": 1.0}
    assert m.latency_ms == {}  # the 0.0 statistics are not data
    assert any("every request failed" in w for w in run.warnings)


def test_old_file_without_failed_key_counts_failures_from_num_prompts(tmp_path):
    raw = json.loads(APPEND.read_text().splitlines()[0])
    raw["completed"] = 290
    f = write(tmp_path / "r.json", json.dumps(raw))
    m = compute_run_metrics(load_run(f))
    assert m.requests["failed"] == 10 and m.requests["total"] == 300


def test_detect_format():
    assert detect_format(FP16) == "vllm"
    assert detect_format(APPEND) == "vllm"


def test_failed_rows_in_detailed_file(tmp_path):
    raw = json.loads(FP16.read_text())
    raw["errors"][3] = "ClientConnectorError"
    raw["ttfts"][3] = 0.0
    raw["itls"][3] = []
    raw["output_lens"][3] = 0
    f = write(tmp_path / "r.json", json.dumps(raw))
    run = load_run(f)
    assert int((~run.requests["success"]).sum()) == 1
    assert math.isnan(run.requests["ttft_s"][3])


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(ttfts="oops"), "'ttfts' is a str"),
    (lambda d: d.update(ttfts=[]), "empty list"),
    (lambda d: d["itls"].pop(), "has 99 entries"),
    (lambda d: d["ttfts"].__setitem__(0, "x"), "not a number"),
    (lambda d: d["ttfts"].__setitem__(0, -0.5), "negative TTFT"),
    (lambda d: d.update(duration="soon"), "key duration: is str 'soon'"),
])
def test_bad_vllm_input(tmp_path, mutate, message):
    raw = json.loads(FP16.read_text())
    mutate(raw)
    f = write(tmp_path / "bad.json", json.dumps(raw))
    with pytest.raises(CasegenError) as exc:
        load_run(f)
    assert message in str(exc.value)
    assert str(f) in str(exc.value)


def test_truncated_json_is_a_clear_error(tmp_path):
    f = write(tmp_path / "t.json", FP16.read_text()[:5000])
    with pytest.raises(CasegenError, match="cannot tell which benchmark tool"):
        load_run(f)


def test_bad_line_in_append_file(tmp_path):
    lines = APPEND.read_text().splitlines()
    lines[4] = lines[4][:50]
    f = write(tmp_path / "a.json", "\n".join(lines))
    with pytest.raises(CasegenError) as exc:
        load_runs(f, "vllm")
    assert "line 5" in str(exc.value) and "not valid JSON" in str(exc.value)


def test_a_result_file_is_parsed_once(monkeypatch):
    """Telling the format and reading share one parse of the JSON document (the sniffer's), and
    the parsed document is not kept once the file is read; the run is the same either way."""
    import casegen.runs.jsonio as jsonio

    parses = []
    real = json.JSONDecoder.raw_decode

    def counting(self, s, *args, **kwargs):
        parses.append(len(s))
        return real(self, s, *args, **kwargs)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", counting)
    run = load_run(FP16)
    assert len(parses) == 1
    assert jsonio._SNIFFED.get() is None
    parses.clear()
    again = load_runs(FP16, format="vllm")[0]  # no sniffing: the reader parses
    assert len(parses) == 1
    assert run.requests.equals(again.requests)
