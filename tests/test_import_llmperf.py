"""Ray LLMPerf importer on real result folders (tests/fixtures/llmperf, see PROVENANCE.md)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from casegen.analysis.metrics import compute_run_metrics
from casegen.errors import CasegenError
from casegen.runs import detect_format, load_run, load_runs
from conftest import FIXTURES, write

LLMPERF = FIXTURES / "llmperf"
PREFIX = "01-ai-Yi-1-5-34B-Chat_550_150_"
FOLDERS = {
    # folder: (requests in the responses file, failed, num_concurrent_requests)
    "leaderboard-bedrock-llama2-70b": (150, 49, 5),
    "leaderboard-together-llama2-70b": (150, 0, 5),
    "yi-34b-tgi-4xa10g-concurrency64": (128, 86, 64),
    "yi-34b-vllm-4xa10g-concurrency1": (80, 0, 1),
    "yi-34b-vllm-4xa10g-concurrency64": (128, 0, 64),
}


def _files(folder: str) -> tuple[Path, Path]:
    d = LLMPERF / folder
    ind = next(d.glob("*individual_responses.json"))
    summ = next(d.glob("*summary.json"))
    return ind, summ


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_folder_is_one_per_request_run(folder):
    total, failed, conc = FOLDERS[folder]
    runs = load_runs(LLMPERF / folder)
    assert len(runs) == 1
    run = runs[0]
    assert not run.summary_only
    assert run.meta.tool == "llmperf" and run.meta.format == "llmperf"
    assert len(run.requests) == total
    assert int((~run.requests["success"]).sum()) == failed
    assert run.meta.max_concurrency == conc
    assert run.meta.request_rate is None
    assert run.meta.tokenizer == "hf-internal-testing/llama-tokenizer"
    assert any("Llama-2 tokenizer" in w for w in run.warnings)
    assert any("inter_token_latency_s" in d and "includes TTFT" in d for d in run.definitions)
    assert all(g is None for g in run.requests["chunk_gaps_s"])  # LLMPerf has no chunk timings


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_each_file_alone(folder, tmp_path):
    ind, summ = _files(folder)
    assert detect_format(ind) == "llmperf" and detect_format(summ) == "llmperf"
    # the responses file picks up its sibling summary (duration → throughput)
    run = load_run(ind)
    assert not run.summary_only and run.meta.duration_s and run.tool_summary
    # the summary alone is a summary-only run
    run = load_run(summ)
    assert run.summary_only and run.requests is None
    assert any("per-request responses exist next to it" in w for w in run.warnings)
    # the responses file with no summary next to it: per-request, no duration
    lone = tmp_path / ind.name
    shutil.copy(ind, lone)
    run = load_run(lone)
    assert not run.summary_only and run.meta.duration_s is None and run.tool_summary == {}
    assert any("no LLMPerf summary" in w for w in run.warnings)
    assert compute_run_metrics(run).throughput["requests_per_s"] is None


def test_values_checked_by_hand_vllm_c64():
    ind, summ = _files("yi-34b-vllm-4xa10g-concurrency64")
    run = load_run(LLMPERF / "yi-34b-vllm-4xa10g-concurrency64")
    raw = json.loads(ind.read_text())
    # first entry: ttft_s 0.607711055999971, end_to_end_latency_s 7.466937597000651, 156 out, 550 in
    first = run.requests.row(0)
    assert first["ttft_s"] == pytest.approx(0.607711055999971)
    assert first["e2e_s"] == pytest.approx(7.466937597000651)
    assert first["output_tokens"] == 156 and first["input_tokens"] == 550
    assert run.requests["output_tokens"].sum() == sum(r["number_output_tokens"] for r in raw)
    assert run.meta.model == "01-ai/Yi-1.5-34B-Chat"
    assert run.meta.num_prompts == 128
    assert run.meta.date == "2024-06-12T16:26:52Z"  # timestamp 1718209612
    # duration = 128 completed / 50.95750230507558 per min × 60
    assert run.meta.duration_s == pytest.approx(128 / 50.95750230507558 * 60)
    s = run.tool_summary
    assert s["ttft"]["mean"] == pytest.approx(16630.715770742114)
    assert s["e2e"]["p99"] == pytest.approx(52914.90417055951)
    assert s["throughput"]["output_tokens_per_s"] == pytest.approx(135.38240586364088)
    assert s["requests"] == {"total": 128, "succeeded": 128, "failed": 0}
    # LLMPerf's inter-token latency is NOT mapped to tpot or itl
    assert "tpot" not in s and "itl" not in s
    m = compute_run_metrics(run)
    # casegen's TPOT is (E2E − TTFT)/(N − 1), much smaller than LLMPerf's E2E/N-like figure (0.308 s)
    tpot0 = (7.466937597000651 - 0.607711055999971) / 155 * 1e3
    assert m.latency_ms["tpot"].max >= tpot0
    expected = np.mean([(r["end_to_end_latency_s"] - r["ttft_s"]) / (r["number_output_tokens"] - 1) for r in raw])
    assert m.latency_ms["tpot"].mean == pytest.approx(expected * 1e3)
    assert m.latency_ms["tpot"].mean < 308.33836372349244  # LLMPerf's ITL mean, TTFT included
    assert "itl" not in m.latency_ms


def test_llmperf_itl_is_about_e2e_over_n():
    """The reason inter_token_latency_s is not used: it includes TTFT (≈ E2E / N)."""
    ind, _ = _files("yi-34b-vllm-4xa10g-concurrency64")
    raw = [r for r in json.loads(ind.read_text()) if r["error_code"] is None]
    itl = np.mean([r["inter_token_latency_s"] for r in raw])
    e2e_over_n = np.mean([r["end_to_end_latency_s"] / r["number_output_tokens"] for r in raw])
    assert itl == pytest.approx(e2e_over_n, rel=1e-3)


def test_errors_are_failed_rows_bedrock():
    run = load_run(LLMPERF / "leaderboard-bedrock-llama2-70b")
    failed = run.requests[~run.requests["success"]]
    assert len(failed) == 49
    assert np.isnan(failed["ttft_s"]).all() and np.isnan(failed["e2e_s"]).all()
    assert failed["error"][0] == "error_code -100: Output too few tokens 102"
    assert run.meta.extra["error_codes"] == "-100: 49"  # from the repr string "{-100.0: 49}"
    assert run.meta.extra["framework"] == "bedrock"  # user --metadata key
    assert any("-100" in w for w in run.warnings)
    m = compute_run_metrics(run)
    assert m.requests == {"total": 150, "succeeded": 101, "failed": 49, "error_rate": pytest.approx(49 / 150)}


def test_tgi_failures_with_zero_latencies():
    run = load_run(LLMPERF / "yi-34b-tgi-4xa10g-concurrency64")
    bad = run.requests[~run.requests["success"]]
    assert len(bad) == 86 and all(e.startswith("error_code -1") for e in bad["error"])
    assert np.isnan(bad["e2e_s"]).all()  # LLMPerf wrote 0 for them


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_parity_with_llmperf_summary(folder):
    """casegen's recomputation agrees with LLMPerf's own summary where the definitions agree.

    TTFT and E2E: mean, p50/p90/p95/p99 (both linear interpolation), min, max and std
    (LLMPerf's sample std converted to population std) agree exactly. Throughput agrees
    by construction: the duration is recovered from the summary itself, so the check
    only proves the responses file and the summary describe the same successes and tokens.
    """
    run = load_run(LLMPERF / folder)
    rows = compute_run_metrics(run).parity
    by = {(r.metric, r.stat): r for r in rows}
    for metric in ("ttft", "e2e"):
        for stat in ("mean", "p50", "p90", "p95", "p99", "min", "max", "std"):
            row = by[(metric, stat)]
            assert abs(row.diff_pct) < 1e-6, row
    for key in ("requests_per_s", "output_tokens_per_s"):
        assert abs(by[("throughput", key)].diff_pct) < 1e-6
    assert not any(r.flagged for r in rows)
    assert not any(r.metric in ("tpot", "itl") for r in rows)


def test_std_is_converted_from_sample_std():
    run = load_run(LLMPERF / "yi-34b-vllm-4xa10g-concurrency1")
    # summary: results_ttft_s_stddev 0.006632... (ddof=1), n = 80
    raw = json.loads(_files("yi-34b-vllm-4xa10g-concurrency1")[1].read_text())
    sd = raw["results_ttft_s_stddev"]
    assert run.tool_summary["ttft"]["std"] == pytest.approx(sd * math.sqrt(79 / 80) * 1e3)
    ttft = run.requests["ttft_s"]
    assert np.std(ttft, ddof=1) == pytest.approx(sd)


def test_summary_only_metrics():
    _, summ = _files("leaderboard-together-llama2-70b")
    run = load_run(summ)
    m = compute_run_metrics(run)
    assert m.source == "summary"
    assert m.latency_ms["ttft"].p90 == pytest.approx(733.6474, rel=1e-6)
    assert "tpot" not in m.latency_ms
    assert m.requests["total"] == 150 and m.requests["failed"] == 0
    assert m.throughput["requests_per_s"] == pytest.approx(150 / 109.90248046399985)
    assert m.tokens["output_total"] == pytest.approx(raw_mean_out(summ) * 150)


def raw_mean_out(summ: Path) -> float:
    return json.loads(summ.read_text())["results_number_output_tokens_mean"]


def test_parent_folder_reads_every_subfolder_and_selects_by_concurrency():
    runs = load_runs(LLMPERF)
    assert len(runs) == 5
    assert [r.meta.label for r in runs] == sorted(FOLDERS)
    assert [r.meta.index for r in runs] == list(range(5))
    run = load_run(LLMPERF, select="label=yi-34b-vllm-4xa10g-concurrency1")
    assert run.meta.max_concurrency == 1
    with pytest.raises(CasegenError, match="matches"):
        load_run(LLMPERF, select="concurrency=64")
    run = load_run(LLMPERF, select="concurrency=1")
    assert len(run.requests) == 80


def test_folder_with_two_runs(tmp_path):
    for folder in ("yi-34b-vllm-4xa10g-concurrency1", "leaderboard-together-llama2-70b"):
        for f in (LLMPERF / folder).glob("*.json"):
            name = f.name if f.name.startswith("01-ai") else "together_" + f.name
            shutil.copy(f, tmp_path / name)
    runs = load_runs(tmp_path)
    assert len(runs) == 2 and all(not r.summary_only for r in runs)
    assert {r.meta.max_concurrency for r in runs} == {1, 5}


# --------------------------------------------------------------------------- bad input


def test_truncated_responses_file(tmp_path):
    ind, _ = _files("yi-34b-vllm-4xa10g-concurrency1")
    p = write(tmp_path / "x_individual_responses.json", ind.read_text()[:5000])
    with pytest.raises(CasegenError) as exc:
        load_runs(p, format="llmperf")
    assert "truncated" in str(exc.value) and "line" in str(exc.value)


def test_truncated_summary_file(tmp_path):
    _, summ = _files("yi-34b-vllm-4xa10g-concurrency1")
    p = write(tmp_path / "x_summary.json", summ.read_text()[:700])
    with pytest.raises(CasegenError, match="not valid JSON"):
        load_runs(p, format="llmperf")


def test_empty_list(tmp_path):
    p = write(tmp_path / "x_individual_responses.json", "[]")
    with pytest.raises(CasegenError, match="empty"):
        load_runs(p, format="llmperf")


def test_wrong_types(tmp_path):
    base = {"error_code": None, "error_msg": "", "inter_token_latency_s": 0.1, "ttft_s": 0.5,
            "end_to_end_latency_s": 2.0, "number_input_tokens": "550", "number_output_tokens": 20}
    ok = write(tmp_path / "ok_individual_responses.json", json.dumps([base]))
    run = load_run(ok)
    assert run.requests["input_tokens"][0] == 550  # numbers as strings are fine
    bad = write(tmp_path / "a_individual_responses.json", json.dumps([base, {**base, "ttft_s": "fast"}]))
    with pytest.raises(CasegenError) as exc:
        load_runs(bad)
    assert exc.value.where == "request 2 (list index 1), key 'ttft_s'"
    bad = write(tmp_path / "b_individual_responses.json", json.dumps([base, 3]))
    with pytest.raises(CasegenError, match="entry is a int"):
        load_runs(bad, format="llmperf")
    bad = write(tmp_path / "c_individual_responses.json", json.dumps({"ttft_s": 1}))
    with pytest.raises(CasegenError, match="top level is a JSON dict"):
        load_runs(bad, format="llmperf")


def test_missing_key_and_impossible_values(tmp_path):
    base = {"error_code": None, "ttft_s": 0.5, "end_to_end_latency_s": 2.0, "number_output_tokens": 20}
    rec = dict(base)
    del rec["end_to_end_latency_s"]
    bad = write(tmp_path / "a_individual_responses.json", json.dumps([base, rec]))
    with pytest.raises(CasegenError) as exc:
        load_runs(bad, format="llmperf")
    assert "end_to_end_latency_s" in exc.value.where
    bad = write(tmp_path / "b_individual_responses.json", json.dumps([{**base, "ttft_s": 5.0}]))
    with pytest.raises(CasegenError, match="larger than the end-to-end"):
        load_runs(bad)
    bad = write(tmp_path / "c_individual_responses.json", json.dumps([{**base, "ttft_s": -1}]))
    with pytest.raises(CasegenError, match="negative TTFT"):
        load_runs(bad)


def test_bad_summary_values(tmp_path):
    _, summ = _files("leaderboard-together-llama2-70b")
    obj = json.loads(summ.read_text())
    obj["results_ttft_s_mean"] = "n/a"
    p = write(tmp_path / "x_summary.json", json.dumps(obj))
    with pytest.raises(CasegenError) as exc:
        load_runs(p)
    assert exc.value.where == "key 'results_ttft_s_mean'"
    obj = json.loads(summ.read_text())
    obj["results_error_code_frequency"] = "{not python"
    p = write(tmp_path / "y_summary.json", json.dumps(obj))
    run = load_run(p)  # cosmetic field: warned about, not fatal
    assert any("results_error_code_frequency" in w for w in run.warnings)
    p = write(tmp_path / "z_summary.json", json.dumps({"version": "2023-08-31", "model": "m"}))
    with pytest.raises(CasegenError):
        load_runs(p, format="llmperf")


def test_broken_sibling_summary_is_a_warning(tmp_path):
    ind, _ = _files("yi-34b-vllm-4xa10g-concurrency1")
    shutil.copy(ind, tmp_path / ind.name)
    write(tmp_path / (PREFIX + "summary.json"), "{")
    run = load_run(tmp_path / ind.name)
    assert not run.summary_only and run.meta.duration_s is None
    assert any("could not be used" in w for w in run.warnings)


def test_other_tools_files_are_not_claimed():
    from casegen.runs import llmperf

    vllm_file = FIXTURES / "vllm" / "h100-llama31-8b-fp16-c16-detailed.json"
    assert not llmperf._sniff(vllm_file, vllm_file.read_text())
    sweep = FIXTURES / "vllm-sweep" / "bench-sweep-v0.25.1-opt125m"
    assert not llmperf.sniff_dir(sweep / "SERVE--max_num_seqs=4-BENCH--max_concurrency=2-num_prompts=8")
