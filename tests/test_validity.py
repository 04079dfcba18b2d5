"""SLO attainment and verdicts, workload comparison, realism checks, trimming and repetitions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from casegen.analysis.slo import evaluate_slos
from casegen.analysis.study import analyze, summary_dict
from casegen.case.model import SLO, Analysis, load_case, parse_case
from casegen.cli.main import main
from casegen.errors import CasegenError, ValidationFailed
from casegen.render.html import render_html
from casegen.runs import load_run
from conftest import VLLM, write


def test_slo_attainment_by_hand(tmp_path):
    # 5 requests: 4 ok, 1 failed. TTFT (ms) 100, 200, 300, 400; TPOT: (e2e−ttft)/(n−1)
    f = write(tmp_path / "r.csv", (
        "ttft_ms,e2e_ms,output_tokens,error\n"
        "100,1100,11,\n"      # tpot 100
        "200,2200,11,\n"      # tpot 200
        "300,300,1,\n"        # 1 token: no TPOT
        "400,1400,11,\n"      # tpot 100
        ",,0,timeout\n"
    ))
    run = load_run(f)
    slos = [SLO(metric="ttft", percentile=90, threshold_ms=250), SLO(metric="tpot", percentile=90, threshold_ms=150)]
    s = evaluate_slos(run, slos, Analysis(), duration_s=10.0)
    ttft, tpot = s.results
    assert (ttft.issued, ttft.violations) == (5, 3)          # 300, 400 and the failure
    assert ttft.attainment == pytest.approx(0.4)
    assert (tpot.violations, tpot.attainment) == (2, pytest.approx(0.6))  # 200 and the failure; 1-token passes
    assert "1 responses without TPOT" in tpot.note
    # joint: requests 1 only (req 3 fails TTFT) → 1/5
    assert s.joint_attainment == pytest.approx(0.2) and s.good_requests == 1
    assert s.goodput_rps == pytest.approx(0.1)
    assert s.one_token_responses == 1
    strict = evaluate_slos(run, slos, Analysis(tpot_one_token="fail"), duration_s=10.0)
    assert strict.results[1].violations == 3
    assert ttft.verdict.status in ("fail", "inconclusive")


def test_summary_only_run_has_no_slo_verdict():
    run = load_run(VLLM / "llm-d-l40s-llama32-3b-3deployments-x-3rates-append-result.json", select=0)
    s = evaluate_slos(run, [SLO(metric="ttft", percentile=99, threshold_ms=100)], Analysis(), 10.0)
    assert not s.available and "summary-only" in s.reason


def test_example_report_shows_intervals_verdicts_and_threats(example_case):
    case, d = load_case(example_case)
    study = analyze(case, d)
    html = render_html(study)
    assert "Service-level objectives" in html and "inconclusive" in html
    assert "Threats to validity" in html and "Run shorter than 60\u00a0s" in html  # no-break space
    assert "95% CI" in html
    s = summary_dict(study)
    # TTFT is not autocorrelated in send order: its median change is a primary, Holm-corrected finding
    ttft = s["deltas"]["latency_ms"]["ttft"]["p50"]
    assert ttft["significant"] is True and ttft["family"] == "primary" and ttft["supported"] is True
    lo, hi = ttft["ci_pct"]
    assert lo < ttft["pct"] < hi < 0 and ttft["p_adjusted"] < 0.05
    # TPOT of neighbouring requests is alike (lag-1 0.89): about 4 effective requests, so no interval (†)
    tpot = s["deltas"]["latency_ms"]["tpot"]["p50"]
    assert tpot["supported"] is False and tpot["significant"] is False and tpot["ci_pct"] is None
    assert s["intervals"]["baseline"]["dependence"]["tpot"]["lag_autocorrelation"]["1"] > 0.85
    assert s["multiplicity"]["primary_family"][0] == {"metric": "ttft", "stat": "p99"}
    assert s["intervals"]["baseline"]["latency_ms"]["ttft"]["p99"] is None  # n = 100 < 368
    # each run's own median interval is withheld (100 requests cannot show the run's own dependence)
    assert s["intervals"]["baseline"]["latency_ms"]["ttft"]["p50"] is None
    assert "100 requests are too few" in s["intervals"]["baseline"]["withheld"]["ttft"]["p50"]
    obj = s["slo_results"]["baseline"]["objectives"][0]
    assert obj["verdict"] == "inconclusive" and obj["requests_needed_to_pass"] == 459
    keys = {t["key"] for t in s["threats"]}
    assert {"too-few-requests", "short-run", "no-warmup", "one-repetition", "fixed-outputs", "autocorrelated"} <= keys


def _csv_from_vllm(path, out, cap=None):
    raw = json.loads(path.read_text())
    lines = ["ttft_s,e2e_s,input_tokens,output_tokens"]
    for ttft, itl, i, o in zip(raw["ttfts"], raw["itls"], raw["input_lens"], raw["output_lens"]):
        gaps = itl[: (cap - 1)] if cap else itl
        lines.append(f"{ttft},{ttft + sum(gaps)},{i},{len(gaps) + 1 if cap else o}")
    write(out, "\n".join(lines) + "\n")


def test_different_workloads_warn_on_page_one(example_case):
    _csv_from_vllm(example_case / "runs" / "fp8-optimized.json", example_case / "runs" / "short.csv", cap=60)
    case_file = example_case / "case.yaml"
    case_file.write_text(case_file.read_text().replace("path: runs/fp8-optimized.json", "path: runs/short.csv\n    duration_s: 9"))
    case, d = load_case(example_case)
    study = analyze(case, d)
    keys = {t.key for t in study.threats}
    assert "output-differs" in keys and "load-differs" in keys
    html = render_html(study)
    banner = html.index("not a like-for-like comparison")
    assert banner < html.index('id="context"')  # shown with the headline, on page 1
    assert "No latency comparison remains valid" in html


def test_output_capping_keeps_per_token_metrics_valid(example_case):
    _csv_from_vllm(example_case / "runs" / "fp8-optimized.json", example_case / "runs" / "short.csv", cap=60)
    raw = json.loads((example_case / "runs" / "fp16-baseline.json").read_text())
    case_file = example_case / "case.yaml"
    text = case_file.read_text().replace("path: runs/fp8-optimized.json", "path: runs/short.csv\n    duration_s: 9")
    case_file.write_text(text)
    case, d = load_case(example_case)
    study = analyze(case, d)
    # the CSV carries no load metadata, so only the output lengths should matter here
    study.runs["optimized"].meta.request_rate = raw["request_rate"]
    study.runs["optimized"].meta.max_concurrency = raw["max_concurrency"]
    from casegen.analysis.checks import compare_workloads
    wc = compare_workloads(study.runs["baseline"], study.runs["optimized"], study.metrics["baseline"], study.metrics["optimized"])
    assert [t.key for t in wc.threats if t.severity == "major"] == ["output-differs"]
    assert wc.still_valid == ["TTFT", "TPOT", "inter-chunk latency"]


def test_trimming_by_fraction_and_errors(example_case):
    case_file = example_case / "case.yaml"
    base = case_file.read_text()
    case_file.write_text(base + "\nanalysis:\n  warmup: {fraction: 0.1}\n  cooldown: {fraction: 0.05}\n")
    case, d = load_case(example_case)
    study = analyze(case, d)
    assert study.metrics["baseline"].requests["total"] == 85
    assert study.runs["baseline"].trimmed == 15
    assert "no-warmup" not in {t.key for t in study.threats}
    case_file.write_text(base + "\nanalysis:\n  warmup: {seconds: 5}\n")
    case, d = load_case(example_case)
    with pytest.raises(CasegenError) as exc:
        analyze(case, d)
    assert "needs per-request send timestamps" in str(exc.value) and "case.yaml line" in str(exc.value)
    case_file.write_text(base + "\nanalysis:\n  warmup: {fraction: 0.6}\n  cooldown: {fraction: 0.5}\n")
    case, d = load_case(example_case)
    with pytest.raises(CasegenError, match="removes every request"):
        analyze(case, d)


def test_trimming_by_seconds_with_timestamps(tmp_path):
    from casegen.analysis.window import trim
    from casegen.case.model import Trim
    f = write(tmp_path / "r.csv", "start_s,ttft_ms,e2e_ms\n" + "".join(f"{i},10,100\n" for i in range(100)))
    run = trim(load_run(f), Trim(seconds=10), Trim(seconds=20), where="x")
    # span 0..99.1 s → window [10, 79.1): starts 10..79 → 70 requests
    assert len(run.requests) == 70 and run.meta.duration_s == pytest.approx(69.1)


def test_repetitions_pool_and_show_spread(example_case):
    shutil.copy(example_case / "runs" / "fp8-optimized.json", example_case / "runs" / "fp8-rep2.json")
    case_file = example_case / "case.yaml"
    case_file.write_text(case_file.read_text().replace(
        "path: runs/fp8-optimized.json", "path: [runs/fp8-optimized.json, runs/fp8-rep2.json]"))
    case, d = load_case(example_case)
    study = analyze(case, d)
    m = study.metrics["optimized"]
    assert m.requests["total"] == 200
    assert m.throughput["requests_per_s"] == pytest.approx(200 / (2 * 14.307), rel=1e-3)
    assert study.spread["optimized"] and study.spread["optimized"][0]["cv_pct"] == pytest.approx(0.0)
    assert "one-repetition" not in {t.key for t in study.threats if t.side == "optimized"}
    html = render_html(study)
    assert "Run-to-run spread" in html


def test_repetitions_with_different_models_are_rejected(example_case):
    case_file = example_case / "case.yaml"
    case_file.write_text(case_file.read_text().replace(
        "path: runs/fp8-optimized.json", "path: [runs/fp8-optimized.json, runs/fp16-baseline.json]"))
    case, d = load_case(example_case)
    with pytest.raises(CasegenError) as exc:
        analyze(case, d)
    assert "repetitions serve different models" in str(exc.value) and "case.yaml line" in str(exc.value)


@pytest.mark.parametrize("slo, message", [
    ("{metric: ttfb, percentile: 99, threshold_ms: 200}", "'ttfb'"),
    ("{metric: ttft, percentile: 100, threshold_ms: 200}", "less than 100"),
    ("{metric: ttft, percentile: p0, threshold_ms: 200}", "greater than 0"),
    ("{metric: ttft, percentile: 99, threshold_ms: 0}", "greater than 0"),
])
def test_bad_slos_point_at_the_line(example_case, slo, message):
    text = (example_case / "case.yaml").read_text()
    text = text.replace("- {metric: ttft, percentile: 99, threshold_ms: 200}", f"- {slo}")
    with pytest.raises(ValidationFailed) as exc:
        parse_case(text, "case.yaml")
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if slo in text_line)
    out = exc.value.format()
    assert message in out and f"line {line}" in out


def test_strict_build_fails_on_threats(example_case):
    y = example_case / "case.yaml"  # the example acknowledges its threats (accept:); without that, --strict fails
    y.write_text(y.read_text().split("\naccept:\n")[0] + "\n")
    r = CliRunner().invoke(main, ["build", str(example_case), "--no-pdf", "--strict"])
    assert r.exit_code == 3 and "--strict" in r.output and "Traceback" not in r.output
    assert (example_case / "build" / "report.html").exists()


def test_too_few_requests_is_said_once_in_plain_words():
    """The p99 threat states the rule once and each metric's count, not the rule's sentence per metric
    (a review counted 'needs ≥ 736 effective samples … (80% lower bound of an estimate)' eight times)."""
    from casegen.analysis.study import analyze
    from casegen.case.model import load_case

    case, cd = load_case(Path(__file__).resolve().parent.parent / "cases" / "h100-llama31-8b-fp8")
    from casegen.story.threats import threat_reason

    t = next(t for t in analyze(case, cd).threats if t.key == "too-few-requests" and t.side == "baseline")
    said = threat_reason(t, "BF16")
    assert said.count("needs the weight of 736 independent requests") == 1, said
    assert "BF16's 100 requests count as 72 of the 736 needed for TTFT and 2 of 736 for TPOT" in said, said
    assert "80% lower bound" not in said and "effective samples" not in said
