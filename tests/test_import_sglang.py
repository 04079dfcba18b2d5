"""SGLang bench_serving importer on real JSONL files (tests/fixtures/sglang, see PROVENANCE.md)."""

from __future__ import annotations

import json
import math

import pytest

from casegen.analysis.metrics import compute_run_metrics
from casegen.errors import CasegenError
from casegen.runs import detect_format, load_run, load_runs
from conftest import FIXTURES, write

SGLANG = FIXTURES / "sglang"
AGG = SGLANG / "gh200-agg-in512-out128-c32.jsonl"
PD = SGLANG / "gh200-pd-disagg-intra-in512-out128-c32.jsonl"
ONLINE70 = SGLANG / "h200-llama33-70b-online-rate-sweep.jsonl"
ONLINE405 = SGLANG / "h200-llama31-405b-online-rate-sweep.jsonl"
OFFLINE = SGLANG / "h200-llama33-70b-offline-inf-rate.jsonl"

COUNTS = {AGG: 1, PD: 1, ONLINE70: 7, ONLINE405: 6, OFFLINE: 7}


@pytest.mark.parametrize("path", sorted(COUNTS), ids=lambda p: p.name)
def test_every_file_imports_summary_only(path):
    runs = load_runs(path, format="sglang")
    assert len(runs) == COUNTS[path]
    assert [r.meta.index for r in runs] == list(range(COUNTS[path]))
    for r in runs:
        assert r.summary_only and r.requests is None
        assert r.meta.tool == "sglang" and r.meta.duration_s > 0
        assert r.tool_summary["requests"]["succeeded"] > 0
        m = compute_run_metrics(r)
        assert m.source == "summary" and m.latency_ms["e2e"].mean > 0


@pytest.mark.parametrize("path", [ONLINE70, ONLINE405, OFFLINE], ids=lambda p: p.name)
def test_old_files_are_detected(path):
    assert detect_format(path) == "sglang"


@pytest.mark.parametrize("path", [AGG, PD], ids=lambda p: p.name)
def test_modern_files_are_detected(path):
    assert detect_format(path) == "sglang"


def test_sniff_is_specific():
    from casegen.runs import sglang

    for path in COUNTS:
        assert sglang._sniff(path, path.read_text())
    vllm_file = FIXTURES / "vllm" / "llm-d-l40s-llama32-3b-3deployments-x-3rates-append-result.json"
    assert not sglang._sniff(vllm_file, vllm_file.read_text())
    llmperf = next((FIXTURES / "llmperf" / "yi-34b-vllm-4xa10g-concurrency1").glob("*summary.json"))
    assert not sglang._sniff(llmperf, llmperf.read_text())


def test_modern_record_values_by_hand():
    run = load_run(AGG, format="sglang")
    m = run.meta
    assert m.model == "Qwen/Qwen2.5-3B-Instruct" and m.tool_version == "0.5.5.post3"
    assert math.isinf(m.request_rate) and m.max_concurrency == 32
    assert m.label == "agg_n100_in512_out128_c32"
    assert m.duration_s == pytest.approx(1.9610086176544428)
    assert m.extra["achieved_concurrency"] == pytest.approx(28.450295820896617)
    assert m.extra["dataset"] == "random" and m.extra["random_input_len"] == 512
    s = run.tool_summary
    assert s["ttft"] == {"mean": 42.448918260633945, "p50": 37.13699756190181,
                         "std": 15.990918224094832, "p99": 64.62050763890147}
    assert s["tpot"]["mean"] == pytest.approx(8.54356980120356)
    assert s["itl"]["p95"] == pytest.approx(22.42972366511822)
    assert s["e2e"]["p99"] == pytest.approx(1181.2900166865443)
    assert s["throughput"] == {"requests_per_s": 50.994166522128666, "output_tokens_per_s": 3151.4394910675514,
                               "total_tokens_per_s": 16663.363794435983}
    assert s["tokens"] == {"input_total": 26497, "output_total": 6180}
    assert s["requests"] == {"succeeded": 100}
    assert any("neither the number of prompts" in w for w in run.warnings)


def test_pd_router_server_info():
    run = load_run(PD, format="sglang")
    assert run.meta.model == "Qwen/Qwen2.5-3B-Instruct"
    assert run.meta.tool_version == "0.5.5.post3"  # found inside prefill/decode/internal_states
    assert run.meta.extra["server"] == "pd-disaggregation"
    base = compute_run_metrics(load_run(AGG, format="sglang"))
    opt = compute_run_metrics(run)
    assert opt.latency_ms["tpot"].mean < base.latency_ms["tpot"].mean
    assert opt.latency_ms["ttft"].mean > base.latency_ms["ttft"].mean


def test_old_reduced_record_by_hand():
    runs = load_runs(ONLINE70)
    r = runs[0]
    raw = json.loads(ONLINE70.read_text().splitlines()[0])
    assert r.meta.request_rate == 1.0 and r.meta.max_concurrency is None
    assert r.meta.model is None and r.meta.tool_version is None
    assert r.tool_summary["ttft"] == {"p50": raw["median_ttft_ms"]}
    assert r.tool_summary["itl"] == {"p50": raw["median_itl_ms"]}
    assert r.tool_summary["e2e"] == {"mean": raw["mean_e2e_latency_ms"], "p50": raw["median_e2e_latency_ms"]}
    assert "tpot" not in r.tool_summary
    tp = r.tool_summary["throughput"]
    assert tp["output_tokens_per_s"] == raw["output_throughput"]
    assert tp["requests_per_s"] == pytest.approx(300 / 298.3675805060193)  # derived: completed / duration
    assert any("reduced key set" in w for w in r.warnings)
    assert any("completed / duration" in d for d in r.definitions)
    # the sharegpt lines carry meaningless random_* keys; they are not kept
    assert runs[5].meta.extra == {"dataset": "sharegpt"}


def test_retokenized_mismatch_is_warned():
    r = load_runs(ONLINE405)[0]  # 160347 vs 158699 retokenized: 1.03 %
    assert any("retokenized" in w for w in r.warnings)


def test_bare_infinity_rate():
    runs = load_runs(OFFLINE)
    assert all(math.isinf(r.meta.request_rate) for r in runs)
    assert [r.meta.extra.get("random_output_len") for r in runs] == [1024, 512, 2048, 1024, 1024, 512, None]


def test_select_by_rate_and_dataset():
    r = load_run(ONLINE70, select="rate=16")
    assert r.meta.index == 4
    with pytest.raises(CasegenError, match="matches 2 runs"):
        load_run(ONLINE70, select="rate=4")
    r = load_run(ONLINE70, select="rate=4,dataset=sharegpt")
    assert r.meta.index == 5
    r = load_run(OFFLINE, select="rate=inf,random_input_len=256")
    assert r.meta.index == 5
    r = load_run(AGG, format="sglang", select="concurrency=32")
    assert r.meta.label.startswith("agg")


# --------------------------------------------------------------------------- per-request details


def _with_details(nested: bool) -> dict:
    obj = json.loads(AGG.read_text())
    details = {
        "input_lens": [10, 12, 11],
        "output_lens": [3, 0, 2],
        "ttfts": [0.05, 0.0, 0.04],
        "itls": [[0.01, 0.02], [], [0.03]],
        "generated_texts": ["a b c", "", "d e"],
        "errors": ["", "Connection reset", ""],
    }
    if nested:
        obj["details"] = details
    else:
        obj.update(details)
    return obj


@pytest.mark.parametrize("nested", [False, True])
def test_details_give_per_request_rows(tmp_path, nested):
    p = write(tmp_path / "d.jsonl", json.dumps(_with_details(nested)) + "\n")
    run = load_run(p, format="sglang")
    df = run.requests
    assert len(df) == 3 and list(df["success"]) == [True, False, True]
    assert df["e2e_s"][0] == pytest.approx(0.08)  # TTFT + Σ gaps, seconds
    assert math.isnan(df["e2e_s"][1]) and df["error"][1] == "Connection reset"
    assert run.tool_summary["requests"] == {"total": 3, "succeeded": 2, "failed": 1}
    m = compute_run_metrics(run)
    assert m.latency_ms["itl"].n == 3
    assert m.latency_ms["tpot"].mean == pytest.approx((30 / 2 + 30 / 1) / 2)


@pytest.mark.parametrize("nested", [False, True])
def test_null_ttfts_reads_as_summary_only(tmp_path, nested):
    """'ttfts': null holds no per-request data (as in the vLLM importer): the record is read from its
    summary, with the summary-only warning, instead of failing with a TypeError (a bug in casegen)."""
    obj = _with_details(nested)
    (obj["details"] if nested else obj)["ttfts"] = None
    p = write(tmp_path / "n.jsonl", json.dumps(obj) + "\n")
    run = load_run(p, format="sglang")
    assert run.summary_only
    assert any(w.startswith("summary only") for w in run.warnings)


# --------------------------------------------------------------------------- bad input


def test_one_bad_line(tmp_path):
    lines = ONLINE70.read_text().splitlines()
    lines[3] = lines[3][:50]
    p = write(tmp_path / "x.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(CasegenError) as exc:
        load_runs(p)
    assert exc.value.where == "line 4"


def test_truncated_last_line(tmp_path):
    text = ONLINE70.read_text()
    p = write(tmp_path / "x.jsonl", text[: len(text) - 40])
    with pytest.raises(CasegenError, match="truncated") as exc:
        load_runs(p, format="sglang")
    assert exc.value.where == "line 7"


def test_wrong_types_and_missing_keys(tmp_path):
    obj = json.loads(ONLINE70.read_text().splitlines()[0])
    p = write(tmp_path / "a.jsonl", json.dumps({**obj, "median_ttft_ms": "fast"}))
    with pytest.raises(CasegenError) as exc:
        load_runs(p, format="sglang")
    assert exc.value.where == "line 1, key median_ttft_ms"
    p = write(tmp_path / "b.jsonl", json.dumps(obj) + "\n" + json.dumps({k: v for k, v in obj.items() if k != "completed"}))
    with pytest.raises(CasegenError, match="no key 'completed'") as exc:
        load_runs(p, format="sglang")
    assert exc.value.where == "line 2"
    p = write(tmp_path / "c.jsonl", json.dumps(obj) + "\n[1, 2]\n")
    with pytest.raises(CasegenError, match="not an object"):
        load_runs(p, format="sglang")
    p = write(tmp_path / "d.jsonl", json.dumps({**obj, "duration": None}))
    with pytest.raises(CasegenError, match="'duration' is missing"):
        load_runs(p, format="sglang")


def test_bad_details(tmp_path):
    obj = _with_details(False)
    obj["itls"] = obj["itls"][:2]
    p = write(tmp_path / "a.jsonl", json.dumps(obj))
    with pytest.raises(CasegenError, match="'itls' has 2 entries"):
        load_runs(p, format="sglang")
    obj = _with_details(False)
    obj["ttfts"] = []
    p = write(tmp_path / "b.jsonl", json.dumps(obj))
    with pytest.raises(CasegenError, match="empty"):
        load_runs(p, format="sglang")
    obj = _with_details(False)
    obj["itls"][0] = [0.01, -0.5]
    p = write(tmp_path / "c.jsonl", json.dumps(obj))
    with pytest.raises(CasegenError, match="negative or non-finite"):
        load_runs(p, format="sglang")


def test_empty_file(tmp_path):
    p = write(tmp_path / "e.jsonl", "\n\n")
    with pytest.raises(CasegenError):
        load_runs(p, format="sglang")


def test_no_completed_requests(tmp_path):
    obj = json.loads(ONLINE70.read_text().splitlines()[0])
    obj.update(completed=0, median_ttft_ms=float("nan"))
    p = write(tmp_path / "z.jsonl", json.dumps(obj))
    run = load_run(p)
    assert "ttft" not in run.tool_summary
    assert any("completed = 0" in w for w in run.warnings)
