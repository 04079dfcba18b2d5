"""Fixed explanations in the report say only what applies to the rows shown (review of built outputs):
summary-only SLO verdicts and † rows are not explained by per-request rules."""

from __future__ import annotations

import shutil
from pathlib import Path

from casegen.analysis.study import analyze
from casegen.case.model import load_case
from casegen.render.markdown import render_markdown

ROOT = Path(__file__).resolve().parent.parent
AIPERF = ROOT / "tests" / "fixtures" / "aiperf" / "0.13.0"
SUMMARY_CASE = """
title: "Summary-only runs"
author: "A. Tester"
date: 2026-12-07
summary: "AIPerf summary JSON only."
system: {model: "test-model", hardware: "CPU", serving_stack: "test server"}
workload: {description: "Synthetic streaming requests."}
slos:
  - {metric: ttft, percentile: 99, threshold_ms: 70}
runs:
  baseline: {path: runs/baseline.json, label: "Baseline"}
  optimized: {path: runs/optimized.json, label: "Optimized"}
"""


def _summary_only_md(tmp_path: Path) -> str:
    d = tmp_path / "case"
    (d / "runs").mkdir(parents=True)
    for side in ("baseline", "optimized"):
        shutil.copy(AIPERF / f"{side}-c4" / "profile_export_aiperf.json", d / "runs" / f"{side}.json")
    (d / "case.yaml").write_text(SUMMARY_CASE)
    case, cd = load_case(d)
    return render_markdown(analyze(case, cd))[0]


def test_summary_only_slo_and_dagger_text(tmp_path):
    md = _summary_only_md(tmp_path)
    slo = md.split("## Service-level objectives", 1)[1].split("\n## ", 1)[0]
    assert "by the tool's printed p99" in slo
    assert "early-stopping" not in slo and "99% confidence" not in slo
    assert "judged by the percentile the tool printed" in slo and "no confidence statement" in slo
    legend = next(line for line in md.splitlines() if line.startswith("† beside a statistic"))
    assert "too few independent requests" not in legend and "summary-only data" in legend
    caption = next(line for line in md.splitlines() if line.startswith("Latency: lower is better"))
    assert "confidence interval" not in caption  # none is shown (issue 23)


def test_per_request_case_keeps_the_early_stopping_rule():
    case, cd = load_case(ROOT / "cases" / "h100-llama31-8b-fp8")
    md = render_markdown(analyze(case, cd))[0]
    slo = md.split("## Service-level objectives", 1)[1].split("\n## ", 1)[0]
    # the rule's name and how it works are in appendix A; the section says what a pass means in plain words
    assert "MLPerf" not in slo and "given how many requests exceeded it (the rule: appendix A)" in slo
    assert "printed" not in slo
    appendix = md.split("## Appendix", 1)[1]
    assert "**Objective verdicts:** MLPerf LoadGen's early-stopping rule" in appendix
    # the † legend is a line of its own under the table (issue 23): which values it applies to, and that the
    # TTFT p50 change keeps its interval though each run's own is withheld
    legend = next(line for line in md.splitlines() if line.startswith("† beside a statistic"))
    assert "the BF16 and FP8 values in that row have no interval of their own (too few independent requests)" in legend
    assert "The Δ % interval beside TTFT p50 is the change's, computed from both runs, and stands" in legend
    caption = next(line for line in md.splitlines() if line.startswith("Latency: lower is better"))
    assert "95% confidence intervals" in caption


def test_prompt_trimming_per_token_rows_explained_and_one_pager_has_the_card_statistic():
    """Fewer input tokens by design: the per-token cost that rises and the token rate that falls carry
    no verdict and one sentence says why; the one-pager's table has the p95 its TTFT card shows."""
    from casegen.render.html import render_html
    from casegen.report.build import build_report

    case, cd = load_case(ROOT / "cases" / "prompt-trimming-testserver")
    study = analyze(case, cd)
    report = build_report(study)
    md = render_markdown(study, report=report)[0]
    cost = md.split("## Cost and payback", 1)[1].split("\n## ", 1)[0]
    assert ("Cost per 1M input + output tokens rises because prompt trimming uses fewer input tokens per request "
            "by design") in cost
    assert "The token rate (input + output tokens) carries no verdict: prompt trimming uses fewer input tokens" in md
    assert any(k.startswith("latency:ttft:p95") for k in report.page1.selected)
    one = render_html(study, report=report, layout="onepager")
    assert "<h3>Latency (p50 / p95 / p99)</h3>" in one and "<th>TTFT p95</th>" in one
    assert "Cost per 1M input + output tokens" not in one


def test_recorded_commands_elide_local_folders():
    from casegen.report.reproduce import elide_local_paths

    cmd = ("aiperf profile --url http://localhost:8000/v1 --model meta-llama/Llama-3.1-8B "
           "--tokenizer '/tmp/casegen-fixtures-raw2/tokenizer' --output-artifact-dir=/tmp/a/b/c /data")
    assert elide_local_paths(cmd) == ("aiperf profile --url http://localhost:8000/v1 --model meta-llama/Llama-3.1-8B "
                                      "--tokenizer '…/tokenizer' --output-artifact-dir=…/c /data")


def test_generic_text_fits_the_case():
    """Warm-up threat names GPU start-up work as a GPU server's; inter-chunk stalls get a possible cause,
    not a certain one; a run of 59.9 s is not 'shorter than 60 s'; a parity difference that rounds to
    0.00% is not singled out."""
    from casegen.render import prose

    assert prose.parity_largest("0.00%", "FP8", "TPOT", "std") == "No figure differs by more than 0.005%."
    assert prose.parity_largest("+0.41%", "FP8", "TPOT", "std") == "Largest difference: +0.41% (FP8, TPOT std)."
    case, cd = load_case(ROOT / "cases" / "inference-perf-llama3-8b-quantization-sweep")
    study = analyze(case, cd)
    short = [t for t in study.threats if t.key == "short-run"]
    assert [t.side for t in short] == ["baseline"] and short[0].reason.startswith("59 s of traffic")  # 59.0 s; 59.9 s is not
    warm = next(t for t in study.threats if t.key == "no-warmup")
    assert "on a GPU server: CUDA graph capture" in warm.reason


def test_in_short_opens_with_an_unsettled_capacity(tmp_path):
    """A sweep whose capacity no load point certifies: page 1 and 'In short' still state what was found
    (each side's sweep in plain words, the ratio marked uncertified), not 'not established'."""
    from casegen.render.html import render_html
    from casegen.report.build import build_report

    d = tmp_path / "case"
    (d / "runs").mkdir(parents=True)
    for side, src in (("baseline", "baseline-sweep"), ("optimized", "optimized-sweep")):
        shutil.copytree(AIPERF / src, d / "runs" / side)
    (d / "case.yaml").write_text(SUMMARY_CASE.replace("runs/baseline.json", "runs/baseline").replace(
        "runs/optimized.json", "runs/optimized").replace('label: "Baseline"}', 'label: "Baseline", sweep: true, '
        'load: concurrency}').replace('label: "Optimized"}', 'label: "Optimized", sweep: true, load: concurrency}')
        .replace("threshold_ms: 70}", "threshold_ms: 90}\n  - {metric: tpot, percentile: 90, threshold_ms: 35}")
        .replace("percentile: 99, threshold_ms: 90", "percentile: 90, threshold_ms: 90"))
    case, cd = load_case(d)
    study = analyze(case, cd)
    report = build_report(study)
    # a result, in plain words (issue 23): what each side did in the sweep, the estimate marked uncertified
    card = next(c for c in report.page1.cards if c.finding == "capacity")
    # 10.17 ÷ 8.58 = 1.1853, a lower bound rounded down (a ratio keeps two decimals; the review read "≥ 1.185×"
    # as a style break)
    assert card.value == "≥ 1.18× (uncertified)" and card.verdict == "na", card
    # ≥ 10.17 as printed (not "≥ 10.1" beside the "10.2" the load table prints for the same 10.17)
    assert "Optimized met the objectives at every load tested, up to 10.17 req/s" in card.detail
    assert "too few requests, 24 a load point, to certify any of either side's load points" in card.detail
    assert "Baseline crossed TTFT p90 ≤ 90 ms at about 6.65 req/s" in card.detail
    assert report.page1.in_short.startswith("Moving from Baseline to Optimized: under TTFT p90 ≤ 90 ms and TPOT "
                                            "p90 ≤ 35 ms, Baseline crossed TTFT p90 ≤ 90 ms at about 6.65 req/s")
    assert "≥ 1.18× the requests per replica, uncertified (too few requests" in report.page1.in_short
    assert "not established" not in report.page1.in_short
    # at concurrency 1 (24 requests a side, untested) the optimized side is slower by the point figures:
    # page 1 names it among its caveats (the review: "page 1 hides a regression"), never as a regression
    assert report.page1.regressions == []
    assert "Optimized slower at concurrency 1, untested" in report.page1.caveats
    threat = next(t for t in report.threats if t.key == "untested-worse")
    assert "TTFT p90 53.0 ms → 86.8 ms" in threat.reasons[0] and "24 requests a side" in threat.reasons[0]
    html = render_html(study, report=report)
    assert "not established</div>" not in html


def test_numbers_in_the_units_and_decimals_shown_beside_them():
    from casegen.render.html import _delta_as_shown

    assert _delta_as_shown(-0.0162, "1.02", "1.00") == "−0.02"
    assert _delta_as_shown(-1.6, "64.2", "62.6") == "−1.6"
    assert _delta_as_shown(-1152.4, "3,107", "1,954") == "−1,152"
    assert _delta_as_shown(0.001, "1.02", "1.02") == "0"
    case, cd = load_case(ROOT / "cases" / "prompt-trimming-testserver")
    md = render_markdown(analyze(case, cd))[0]
    assert "the tool's rule on the same requests gives 1.59 s" in md and "gives 1587" not in md


def test_a_title_keeps_a_model_name_and_its_size_together():
    """'Llama' / '3.1 8B' split over two lines of the FP8 title (the mid review): a number keeps the
    word before it and a size its number."""
    from casegen.render.running_head import title_breaks

    nb = "\u00a0"
    assert title_breaks("22% cheaper tokens for Llama 3.1 8B") == f"22% cheaper tokens for Llama{nb}3.1{nb}8B"
    assert title_breaks("llm-d on 4× L40S") == f"llm-d on{nb}4× L40S"
    assert title_breaks("FP8 weights on one H100: 22% faster") == "FP8 weights on one H100: 22% faster"
