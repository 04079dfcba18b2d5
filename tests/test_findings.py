"""Page-1 rules (docs/findings.md) on constructed studies."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from casegen.analysis.study import analyze
from casegen.case.model import load_case
from casegen.formatting import fmt_bound
from casegen.report.build import build_report
from casegen.story.findings import _ratio_text, capacity_range, ratio_range


def _csv(path: Path, n: int, ttft_ms: float, tpot_ms: float, seed: int, tpot_sd: float = 0.05) -> None:
    rng = np.random.default_rng(seed)
    ttft = rng.lognormal(np.log(ttft_ms), 0.25, n)
    tpot = rng.lognormal(np.log(tpot_ms), tpot_sd, n)
    out_tok = 100
    e2e = ttft + tpot * (out_tok - 1)
    lines = ["start_s,ttft_ms,e2e_ms,input_tokens,output_tokens"]
    lines += [f"{i * 0.1:.3f},{a:.4f},{b:.4f},500,{out_tok}" for i, (a, b) in enumerate(zip(ttft, e2e))]
    path.write_text("\n".join(lines) + "\n")


def _case(tmp_path: Path, *, n: int = 400, base=(100.0, 20.0), opt=(80.0, 26.0), slos: str = "", cost: bool = False,
          same: bool = False) -> Path:
    d = tmp_path / "case"
    (d / "runs").mkdir(parents=True)
    _csv(d / "runs" / "base.csv", n, *base, seed=1)
    if same:
        (d / "runs" / "opt.csv").write_text((d / "runs" / "base.csv").read_text())
    else:
        _csv(d / "runs" / "opt.csv", n, *opt, seed=2)
    text = f"""
title: "Constructed"
author: "test"
date: 2026-01-02
summary: "constructed study"
system: {{model: "m", hardware: "h", serving_stack: "s"}}
workload: {{description: "synthetic"}}
{slos}
runs:
  baseline: {{path: runs/base.csv, label: "Before"}}
  optimized: {{path: runs/opt.csv, label: "After"}}
analysis: {{bootstrap_resamples: 300}}
"""
    if cost:
        text += """
cost:
  baseline: {self_hosted: {gpu: "G", gpu_hourly_usd: 2.0, gpus_per_replica: 1, utilization: 0.6}}
  optimized: {self_hosted: {gpu: "G", gpu_hourly_usd: 2.0, gpus_per_replica: 1, utilization: 0.6}}
  requests_per_month: 1000000
"""
    (d / "case.yaml").write_text(text)
    return d


def _report(d: Path):
    case, cd = load_case(d)
    study = analyze(case, cd)
    return study, build_report(study)


def test_hidden_regression_is_on_page1(tmp_path):
    """TTFT (the SLO-named statistic) improves; TPOT gets significantly worse and its SLO fails."""
    d = _case(tmp_path, slos="slos:\n  - {metric: ttft, percentile: 95, threshold_ms: 400}\n"
                             "  - {metric: tpot, percentile: 95, threshold_ms: 24}")
    study, r = _report(d)
    cards = {c.finding: c for c in r.page1.cards}
    assert "latency:ttft:p95" in cards and cards["latency:ttft:p95"].verdict == "better"
    tpot = next(c for c in r.page1.cards + r.page1.regressions if "latency:tpot:p95" in c.finding.split(","))
    assert tpot.verdict == "worse"
    slo = [c for c in r.page1.regressions if c.finding == "slo:1"]
    assert slo and slo[0].verdict == "worse" and slo[0].regression
    # every regression finding is selected for page 1
    for f in r.findings:
        if f.regression:
            assert f.key in r.page1.selected
    assert ". Worse: " in r.page1.in_short and "unchanged" not in r.page1.in_short


def _sentences(text: str) -> list[str]:
    return [x for x in re.split(r"(?<=\.)\s+(?=[A-Z$])", text.strip()) if x]


def test_in_short_is_at_most_three_sentences_of_page1_facts(tmp_path):
    """'In short' restates page 1 (every card's values, regressions, cost and payback) in ≤ 3 sentences."""
    d = _case(tmp_path, cost=True, slos="slos:\n  - {metric: ttft, percentile: 95, threshold_ms: 400}\n"
                                         "  - {metric: tpot, percentile: 95, threshold_ms: 24}")
    study, r = _report(d)
    text = r.page1.in_short
    assert r.page1.regressions and len(_sentences(text)) <= 3, text
    for c in r.page1.cards + r.page1.regressions:
        if c.finding.startswith("latency:"):
            f = next(f for f in r.findings if f.key == c.finding.split(",")[0])
            assert f"{f.evidence.baseline:.1f} ms → {f.evidence.optimized:.1f} ms" in text or c.title in text
    assert "Cost per 1M output tokens" in text and text.endswith(".") and ".." not in text


def test_dagger_statistic_never_on_page1_with_ci(tmp_path):
    """n = 100: p99 has no valid interval; page 1 shows the most extreme supported percentile."""
    d = _case(tmp_path, n=100, slos="slos:\n  - {metric: ttft, percentile: 99, threshold_ms: 400}")
    study, r = _report(d)
    p99 = next(f for f in r.findings if f.key == "latency:ttft:p99")
    assert not p99.evidence.supported and p99.strength == "point_only" and p99.evidence.ci_pct is None
    assert "†" in p99.value and "CI" not in p99.detail and "point value only" in p99.detail
    first = r.page1.cards[0]
    assert first.finding in ("latency:ttft:p95", "latency:ttft:p90")
    by = {f.key: f for f in r.findings}
    for key in r.page1.selected:
        f = by.get(key)
        if f is not None and "CI" in f.detail:
            assert f.evidence.supported


def test_no_significant_change_and_zero_saving(tmp_path):
    d = _case(tmp_path, cost=True, same=True)
    study, r = _report(d)
    texts = " ".join(c.value + " " + c.detail for c in r.page1.cards) + r.page1.in_short
    assert "no significant change" in texts
    cost = next(c for c in r.page1.cards if c.finding == "cost")
    # the same runs without send times: the throughput change (and so the cost) has no interval
    assert cost.value == "no saving†" and cost.verdict == "na"
    assert "instead of" not in r.page1.in_short and "−$0" not in texts and "$0/month" not in texts


def test_bounded_capacity_ratios_are_bounds():
    def cap(bound, v, above=None):
        return SimpleNamespace(bound=bound, value_rps=v, above=SimpleNamespace(achieved_rps=above) if above else None)

    base, opt = capacity_range(cap("below_min", 0.45)), capacity_range(cap("at_least", 0.72))
    assert fmt_bound("at_least", 0.72) == "≥ 0.72 req/s" and fmt_bound("below", 0.45) == "< 0.45 req/s"
    kind, lo, hi = ratio_range(base, opt)
    assert kind == "at_least" and lo == pytest.approx(0.72 / 0.45)
    assert _ratio_text(kind, lo, hi) == "≥ 1.60×"
    # baseline at least 0.72, optimized below 0.45: at most 0.625×, printed "≤ 0.63×" (an upper bound rounds
    # up; "≤ 0.62×" would claim more than is known)
    kind, lo, hi = ratio_range(capacity_range(cap("at_least", 0.72)), capacity_range(cap("below_min", 0.45)))
    assert kind == "at_most" and _ratio_text(kind, lo, hi) == "≤ 0.63×"
    # bracketed optimized (between 91 and 101), interpolated baseline 50
    kind, lo, hi = ratio_range(capacity_range(cap("interpolated", 50.0)), capacity_range(cap("bracketed", 91.0, 101.0)))
    assert kind == "between" and _ratio_text(kind, lo, hi) == "1.82–2.02×"
    assert fmt_bound("between", 91.0, "req/s", 101.0) == "between 91.0 and 101 req/s"
    # two lower bounds: not comparable
    kind, lo, hi = ratio_range(capacity_range(cap("at_least", 8.58)), capacity_range(cap("at_least", 10.2)))
    assert kind == "unknown"
    # two points: a point ratio
    kind, lo, hi = ratio_range(capacity_range(cap("interpolated", 50.0)), capacity_range(cap("interpolated", 75.0)))
    assert kind == "point" and _ratio_text(kind, lo, hi) == "1.50×"


def test_sweep_leads_with_capacity():
    root = Path(__file__).resolve().parent.parent
    case, d = load_case(root / "cases" / "inference-perf-llama3-8b-quantization-sweep")
    study = analyze(case, d)
    r = build_report(study)
    assert r.page1.cards[0].finding == "capacity"
    # "Notes on the sweep": each point's offered-rate note once, the way to read them once
    notes = r.sweep.notes  # what the sweep section prints
    rates = [n.split(":")[0].replace(",", "") for n in notes if "from the offered rate" in n]
    assert len(rates) == len(set(rates)) == 5, notes
    assert sum("drain tail" in n for n in notes) == 1
    # no latency card without an interval at the sweep's single shared point
    by = {f.key: f for f in r.findings}
    assert all(by[c.finding].strength != "point_only" or by[c.finding].kind != "latency" for c in r.page1.cards)
    assert "at capacity under the SLOs" in next(c.detail for c in r.page1.cards if c.finding == "cost")


def test_summary_schema_and_reference_are_current():
    from casegen.report.model import json_schema, reference

    root = Path(__file__).resolve().parent.parent
    assert (root / "schema" / "summary.schema.json").read_text() == json_schema(), \
        "schema/summary.schema.json is stale: run `python -m casegen.report.model`"
    assert (root / "docs" / "summary-json.md").read_text() == reference(), \
        "docs/summary-json.md is stale: run `python -m casegen.report.model`"
    schema = json.loads(json_schema())
    assert {"findings", "page1", "threats"} <= set(schema["properties"])


def test_compare_leads_with_the_same_rules(tmp_path):
    """`casegen compare` shows TTFT/TPOT/throughput first and every regression (TPOT rose 30 %)."""
    from casegen.app.compare import compare_runs, format_table

    d = _case(tmp_path)
    r = compare_runs(d / "runs" / "base.csv", d / "runs" / "opt.csv")
    lead = r["headline"] + r["regressions"]
    assert r["headline"][0]["finding"].startswith("latency:ttft:")
    worse = [c for c in lead if c["verdict"] == "worse"]
    assert worse and any("tpot" in c["finding"] for c in worse)
    text = format_table(r)
    assert "Headline: TTFT" in text and ("Worse: TPOT" in text or "Headline: TPOT" in text)


def test_results_table_labels_exploratory_changes_and_marks_unsupported_deltas(tmp_path):
    """A significant change outside the primary family is labelled exploratory in HTML and Markdown;
    every row whose change has no valid interval carries †."""
    from casegen.app.build import build

    case = _case(tmp_path, n=400, base=(100.0, 20.0), opt=(80.0, 26.0))
    res = build(case, tmp_path / "out", formats=("html", "md"))
    study = res.study
    from casegen.render.html import TABLE_METRICS, TABLE_STATS

    shown = [ci for m, row in study.delta_cis.items() if m in TABLE_METRICS
             for s, ci in row.items() if s in TABLE_STATS]
    explor = [ci for ci in shown if ci.supported and ci.significant and ci.family == "exploratory"]
    assert explor, "TTFT p90 −20 % at n = 400 is a significant exploratory change"
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("exploratory: ") >= len(explor)
    assert "exploratory: " in (tmp_path / "out" / "report.md").read_text()
    unsupported = sum(1 for ci in shown if not ci.supported)
    table = html[html.index('<div class="latency-tables">'):]  # one table per metric
    table = table[:table.index("</div>")]
    assert table.count(">†</sup>") >= unsupported


def test_compare_labels_exploratory_changes(tmp_path):
    from click.testing import CliRunner

    from casegen.cli.main import main

    case = _case(tmp_path, n=400, base=(100.0, 20.0), opt=(80.0, 26.0))
    r = CliRunner().invoke(main, ["compare", str(case / "runs" / "base.csv"), str(case / "runs" / "opt.csv"),
                                  "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]
    explor = [x for x in rows if x.get("family") == "exploratory" and x["verdict"].endswith("(exploratory)")]
    assert explor, "p90/p95 changes at n = 400 are significant but exploratory"
    assert not [x for x in rows if x.get("family") == "exploratory" and x["verdict"] in ("better", "worse")]


def test_compare_regressions_hold_every_worse_verdict_and_fail_on_regression_exits_4(tmp_path):
    """Every row whose verdict is 'worse' is in `regressions`; --fail-on-regression exits 4 then, 0 otherwise."""
    from click.testing import CliRunner

    from casegen.app.compare import compare_runs
    from casegen.cli.main import main

    d = _case(tmp_path)  # TPOT +30 %, TTFT −20 %
    r = compare_runs(d / "runs" / "base.csv", d / "runs" / "opt.csv")
    worse_rows = {(x["metric"], x["stat"]) for x in r["rows"] if x["verdict"] == "worse"}
    listed = {tuple(k.split(":")[1:3]) if k.startswith("latency:") else ("throughput", "")
              for c in r["regressions"] for k in c["finding"].split(",")}
    assert worse_rows and any(m == "tpot" for m, _ in worse_rows)
    assert worse_rows <= listed and r["any_regression"]
    res = CliRunner().invoke(main, ["compare", str(d / "runs" / "base.csv"), str(d / "runs" / "opt.csv"),
                                    "--fail-on-regression"])
    assert res.exit_code == 4, res.output
    same = CliRunner().invoke(main, ["compare", str(d / "runs" / "base.csv"), str(d / "runs" / "base.csv"),
                                     "--fail-on-regression", "--json"])
    assert same.exit_code == 0, same.output
    assert json.loads(same.output)["regressions"] == []


def test_page1_names_every_major_caveat():
    """A major threat outside the workload box (here: quality not measured for a prompt trim) is on page 1,
    in the Report and in the HTML's headline section, whatever else page 1 holds."""
    from casegen.render.html import render_html

    root = Path(__file__).resolve().parent.parent
    case, d = load_case(root / "cases" / "prompt-trimming-testserver")
    study = analyze(case, d)
    report = build_report(study)
    assert any(c.startswith("Quality not measured") for c in report.page1.caveats), report.page1.caveats
    html = render_html(study, report=report)
    head = html.split('aria-label="Headline results"', 1)[1].split("<h2", 1)[0]
    assert "Caveat:" in head and "Quality not measured" in head
