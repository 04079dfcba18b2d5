"""inference-perf importer: real report folders (tests/fixtures/inference-perf/, see PROVENANCE.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from casegen.analysis.metrics import compute_run_metrics
from casegen.errors import CasegenError
from casegen.runs import detect_format, load_run, load_runs
from conftest import FIXTURES

IP = FIXTURES / "inference-perf"
BASE = IP / "kubecon-na-2025-vllm"
QUANT = IP / "kubecon-na-2025-vllm-quantization"
FILES = sorted(p for p in IP.rglob("*_lifecycle_metrics.json") if not p.name.startswith("per_request"))

BASE_RATES = [1.0, 31.4, 61.79, 92.19, 122.59, 152.98, 183.38]
QUANT_RATES = [1.0, 43.31, 85.62, 127.93, 170.24, 212.55, 254.86]


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_file_imports_summary_only(path):
    assert detect_format(path) == "inference-perf"
    runs = load_runs(path)
    assert len(runs) == 1
    run = runs[0]
    assert run.summary_only and run.requests is None
    raw = json.loads(path.read_text())
    s = run.tool_summary
    lat = raw["successes"]["latency"]
    assert s["ttft"]["mean"] == pytest.approx(lat["time_to_first_token"]["mean"] * 1000)
    assert s["ttft"]["p50"] == pytest.approx(lat["time_to_first_token"]["median"] * 1000)
    if "kubecon-na-2025" in str(path):  # inference-perf before PR #410/#452: TPOT timed per stream line
        assert "tpot" not in s
        assert any(w.startswith("TPOT left out") for w in run.warnings)
    elif lat.get("time_per_output_token"):  # 0.7.0: per token, read as it is
        assert s["tpot"]["p99"] == pytest.approx(lat["time_per_output_token"]["p99"] * 1000)
        assert not any(w.startswith("TPOT left out") for w in run.warnings)
    assert s["e2e"]["max"] == pytest.approx(lat["request_latency"]["max"] * 1000)
    assert "itl" not in s  # token-level ITL with intra-chunk zeros is not casegen's ITL
    assert s["throughput"]["requests_per_s"] == raw["successes"]["throughput"]["requests_per_sec"]
    assert s["requests"]["succeeded"] == raw["successes"]["count"]
    metrics = compute_run_metrics(run)
    assert metrics.source == "summary"
    # duration derived from count / rate reproduces the tool's rate
    assert raw["successes"]["count"] / run.meta.duration_s == pytest.approx(s["throughput"]["requests_per_s"])


@pytest.mark.parametrize("folder,rates", [(BASE, BASE_RATES), (QUANT, QUANT_RATES)], ids=["vllm", "quantization"])
def test_folder_one_run_per_stage(folder, rates):
    runs = load_runs(folder)
    assert len(runs) == 7  # the all-stages summary is not a run of the folder
    assert [r.meta.extra["stage"] for r in runs] == list(range(7))
    assert [r.meta.index for r in runs] == list(range(7))
    assert [r.meta.request_rate for r in runs] == rates
    assert all(r.meta.tool == "inference-perf" and r.summary_only for r in runs)


def test_stage_values_by_hand():
    run = load_run(BASE, select="stage=0")
    m = run.meta
    assert m.label == "stage 0" and m.request_rate == 1.0 and m.num_prompts == 60
    assert m.extra["achieved_rate"] == pytest.approx(1.0254654214024423)
    assert m.extra["send_duration_s"] == pytest.approx(58.51001774193719)
    s = run.tool_summary
    assert s["ttft"]["mean"] == pytest.approx(31.12733216257766)
    assert s["e2e"]["p90"] == pytest.approx(485.80294536659496)
    assert s["throughput"]["output_tokens_per_s"] == pytest.approx(64.23350089997027)
    assert s["tokens"]["input_total"] == pytest.approx(204.1 * 60)
    assert s["requests"] == {"total": 60, "succeeded": 60, "failed": 0}
    # neither the token-level ITL median (3.7e-5 s) nor the per-stream-line time_per_output_token
    # (3.47 ms) is TPOT: (480.5 − 31.1) ms ÷ (63.15 − 1) tokens = 7.23 ms a token, by hand
    assert "tpot" not in s


def test_line_timed_tpot_is_left_out_with_the_figures_that_show_it():
    """inference-perf at the KubeCon demo's commit appended a time for every line of the event stream
    (data line + blank line per event), so time_per_output_token is ~half the time per token."""
    run = load_run(BASE, select="stage=0")
    (w,) = [w for w in run.warnings if w.startswith("TPOT left out")]
    assert "mean 3.47 ms" in w and "= 7.23 ms per token" in w and "PR #410/#452" in w
    # every stage of both demo sweeps shows the same ~2.1× gap
    for folder in (BASE, QUANT):
        assert all("tpot" not in r.tool_summary for r in load_runs(folder))


def test_per_token_tpot_is_kept(tmp_path):
    """A report whose TPOT agrees with its own (E2E − TTFT) ÷ (tokens − 1) keeps it (the check is not a blanket drop)."""
    raw = json.loads((BASE / "stage_0_lifecycle_metrics.json").read_text())
    tpot = raw["successes"]["latency"]["time_per_output_token"]
    for k in tpot:
        tpot[k] *= 2.08  # what a per-token clock would have printed
    f = tmp_path / "stage_0_lifecycle_metrics.json"
    f.write_text(json.dumps(raw))
    run = load_run(f)
    assert run.tool_summary["tpot"]["p50"] == pytest.approx(3.468046240533825 * 2.08)
    assert not any(w.startswith("TPOT left out") for w in run.warnings)


def test_saturated_stage_warns():
    run = load_run(BASE, select="stage=6")
    assert run.meta.extra["achieved_rate"] == pytest.approx(106.54759673128557)
    assert any("fell behind" in w for w in run.warnings)
    assert not any("fell behind" in w for w in load_run(BASE, select="stage=1").warnings)


def test_selectors():
    assert load_run(QUANT, select="rate=127.93").meta.extra["stage"] == 3
    assert load_run(QUANT, select={"stage": 5}).meta.request_rate == 212.55
    assert load_run(QUANT, select=2).meta.label == "stage 2"
    with pytest.raises(CasegenError):
        load_run(QUANT)  # seven stages, no selector
    with pytest.raises(CasegenError):
        load_run(QUANT, select="report_schema=prompt_len/output_len")  # matches all seven
    with pytest.raises(CasegenError):
        load_run(QUANT, select="stage=9")


def test_summary_file_alone():
    run = load_run(BASE / "summary_lifecycle_metrics.json")
    assert run.meta.extra["stage"] == "all" and run.meta.request_rate is None
    assert run.meta.num_prompts == 38717
    assert any("not one load point" in w for w in run.warnings)


def test_folder_with_only_summary(tmp_path):
    shutil.copy(BASE / "summary_lifecycle_metrics.json", tmp_path)
    runs = load_runs(tmp_path)
    assert len(runs) == 1 and runs[0].meta.extra["stage"] == "all"


def test_definitions_explain_mapping():
    text = " ".join(load_run(BASE, select="stage=2").definitions)
    assert "'time_per_output_token'" in text and "TPOT" in text
    assert "'inter_token_latency'" in text and "not used" in text


def test_prometheus_file_rejected_clearly(tmp_path):
    p = tmp_path / "stage_0_prometheus_metrics.json"
    p.write_text(json.dumps({"load_summary": {}, "successes": {"count": 937, "rate": 11.8, "request_latency": {"mean": 2.8}},
                             "failures": {}}))
    with pytest.raises(CasegenError, match="Prometheus"):
        load_runs(p)


def test_failures_and_newer_token_schema(tmp_path):
    raw = json.loads((BASE / "stage_1_lifecycle_metrics.json").read_text())
    raw["failures"] = {"count": 4, "request_latency": None, "prompt_tokens": None}
    s = raw["successes"]
    s["prompt_tokens"] = {"total": 123456.0, "cached": 0.0, "mean": 65.5}
    s["output_tokens"] = {"total": 654321.0, "mean": 347.3}
    del s["prompt_len"], s["output_len"]
    p = tmp_path / "stage_1_lifecycle_metrics.json"
    p.write_text(json.dumps(raw))
    run = load_run(p)
    assert run.tool_summary["requests"] == {"total": 1888, "succeeded": 1884, "failed": 4}
    assert run.tool_summary["tokens"] == {"input_total": 123456.0, "output_total": 654321.0}
    assert run.meta.extra["report_schema"] == "prompt_tokens/output_tokens"
    assert compute_run_metrics(run).requests["failed"] == 4


@pytest.mark.parametrize("mean, input_total", [(65.5, 65.5 * 1884), ("", None), ("nan", None), (float("nan"), None)])
def test_token_total_from_the_mean_and_a_missing_mean(tmp_path, mean, input_total):
    """No 'total': the total is mean × successful requests; a mean that is missing ("", "nan", NaN)
    leaves the total out (it used to be multiplied before its None was checked: a TypeError)."""
    raw = json.loads((BASE / "stage_1_lifecycle_metrics.json").read_text())
    s = raw["successes"]
    s["prompt_tokens"] = {"cached": 0.0, "mean": mean}
    s["output_tokens"] = {"total": 654321.0, "mean": 347.3}
    del s["prompt_len"], s["output_len"]
    p = tmp_path / "stage_1_lifecycle_metrics.json"
    p.write_text(json.dumps(raw))
    run = load_run(p)
    want = {"output_total": 654321.0} if input_total is None else {"input_total": input_total, "output_total": 654321.0}
    assert run.tool_summary["tokens"] == want


# --------------------------------------------------------------------------- bad input

def _mutated(tmp_path: Path, fn) -> Path:
    raw = json.loads((BASE / "stage_3_lifecycle_metrics.json").read_text())
    fn(raw)
    p = tmp_path / "stage_3_lifecycle_metrics.json"
    p.write_text(json.dumps(raw))
    return p


def test_truncated(tmp_path):
    p = tmp_path / "stage_0_lifecycle_metrics.json"
    p.write_text((BASE / "stage_0_lifecycle_metrics.json").read_text()[:1500])
    with pytest.raises(CasegenError) as e:
        load_runs(p, format="inference-perf")
    assert "line 1" in e.value.where
    with pytest.raises(CasegenError):
        load_runs(p)


@pytest.mark.parametrize("mutation,where", [
    (lambda d: d["successes"]["latency"]["time_to_first_token"].update(mean="slow"),
     "key successes.latency.time_to_first_token.mean"),
    (lambda d: d["successes"].update(count=-1), "key successes.count"),
    (lambda d: d["successes"].update(count=None), "key successes.count"),
    (lambda d: d.pop("failures"), "key failures"),
    (lambda d: d.update(load_summary=[1]), "key load_summary"),
    (lambda d: d["load_summary"].update(requested_rate="fast"), "key load_summary.requested_rate"),
    (lambda d: d["successes"]["throughput"].update(requests_per_sec=True), "key successes.throughput.requests_per_sec"),
    (lambda d: d["successes"]["latency"].update(request_latency=[0.1]), "key successes.latency.request_latency"),
    (lambda d: d["successes"]["latency"]["time_per_output_token"].update(p99=-0.5),
     "key successes.latency.time_per_output_token.p99"),
])
def test_wrong_values_name_the_key(tmp_path, mutation, where):
    p = _mutated(tmp_path, mutation)
    with pytest.raises(CasegenError) as e:
        load_runs(p, format="inference-perf")
    assert e.value.where == where


def test_bad_stage_file_in_folder_names_the_file(tmp_path):
    for f in BASE.glob("*.json"):
        shutil.copy(f, tmp_path)
    (tmp_path / "stage_4_lifecycle_metrics.json").write_text("[]")
    with pytest.raises(CasegenError) as e:
        load_runs(tmp_path)
    assert e.value.file.endswith("stage_4_lifecycle_metrics.json")


def test_empty_folder(tmp_path):
    with pytest.raises(CasegenError):
        load_runs(tmp_path, format="inference-perf")


def test_all_failed_stage(tmp_path):
    def fail_all(d):
        d["failures"] = {"count": 10, "request_latency": None, "prompt_len": None}
        d["successes"] = {"count": 0, "latency": {k: None for k in d["successes"]["latency"]},
                          "throughput": {"requests_per_sec": 0.0, "output_tokens_per_sec": 0.0}}
    run = load_run(_mutated(tmp_path, fail_all))
    assert "ttft" not in run.tool_summary and "throughput" not in run.tool_summary
    m = compute_run_metrics(run)
    assert m.requests == {"total": 10, "succeeded": 0, "failed": 10, "error_rate": 1.0}


def test_does_not_claim_other_tools():
    for p in FIXTURES.rglob("*"):
        if p.is_file() and "inference-perf" not in p.parts and p.suffix in (".json", ".jsonl", ".yaml", ".csv"):
            try:
                fmt = detect_format(p)
            except CasegenError:
                fmt = None
            assert fmt != "inference-perf", p
