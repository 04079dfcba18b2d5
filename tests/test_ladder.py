"""The ladder (runs.steps): per-step arithmetic against hand-computed values, intervals and findings on
per-request runs, the llm-d example case, trade-offs per step and clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from casegen.analysis.cost import SideCost
from casegen.analysis.ladder import Rung, step_effect, waterfall
from casegen.analysis.metrics import Dist, RunMetrics
from casegen.analysis.study import analyze
from casegen.app.build import build
from casegen.case.model import load_case
from casegen.errors import CasegenError
from casegen.report.build import build_report

ROOT = Path(__file__).resolve().parent.parent
LLMD_CASE = ROOT / "cases" / "llm-d-l40s-ladder"


def _metrics(ttft_p50: float, rps: float) -> RunMetrics:
    return RunMetrics(source="summary", requests={"total": 10, "succeeded": 10, "failed": 0, "error_rate": 0.0},
                      latency_ms={"ttft": Dist(n=None, mean=ttft_p50, p50=ttft_p50)},
                      throughput={"requests_per_s": rps, "output_tokens_per_s": rps * 100},
                      tokens={}, split={}, one_token_responses=0)


class _Run:
    summary_only = True


def _rung(key, label, ttft, rps, usd_month, one_time=0.0):
    cost = SideCost("self_hosted", 0.0, None, None, usd_month, usd_month)
    return Rung(key, label, _Run(), _metrics(ttft, rps), cost=cost, one_time_cost_usd=one_time)


def test_step_arithmetic_hand_computed():
    a = _rung("baseline", "A", 200.0, 10.0, 1000.0)
    b = _rung("steps.0", "B", 150.0, 12.0, 800.0, one_time=600.0)
    c = _rung("optimized", "C", 160.0, 11.0, 850.0, one_time=100.0)
    s1, s2 = step_effect(1, a, b, 0.95), step_effect(2, b, c, 0.95)
    assert (s1.frm, s1.to) == ("A", "B")
    assert s1.latency["ttft"]["p50"].abs == -50.0 and s1.latency["ttft"]["p50"].pct == pytest.approx(-25.0)
    assert s1.throughput["requests_per_s"].pct == pytest.approx(20.0)
    assert s1.saving_usd_per_month == 200.0 and s1.payback_months == pytest.approx(3.0)  # 600 / 200
    assert s2.saving_usd_per_month == -50.0 and s2.payback_months is None  # costs more: no payback
    # what a step made worse is decided by casegen.story from the step's findings (test_step_point_regressions)
    assert s1.worse == [] and s2.worse == []
    # the waterfall's steps add up to the total change
    w = waterfall([a, b, c], lambda r: r.metrics.latency_ms["ttft"].get("p50"))
    assert w == [("A", 200.0), ("B", -50.0), ("C", 10.0)]
    assert w[0][1] + sum(x for _l, x in w[1:]) == 160.0
    assert waterfall([a, b, c], lambda r: None) is None


def _per_request_ladder(tmp_path: Path, back_to_fp16: bool = True) -> Path:
    """baseline BF16 → step FP8 → optimized BF16 again: the last step undoes the gain (a regression)."""
    case_dir = tmp_path / "case"
    shutil.copytree(ROOT / "cases" / "h100-llama31-8b-fp8", case_dir)
    text = (case_dir / "case.yaml").read_text()
    text = text.replace('''  optimized:
    path: runs/fp8-optimized.json
    label: "FP8"''', '''  steps:
    - {path: runs/fp8-optimized.json, label: "+ FP8"}
  optimized:
    path: runs/fp16-baseline.json
    label: "BF16 again"''')
    (case_dir / "case.yaml").write_text(text)
    return case_dir


def test_per_request_ladder_intervals_and_regression_finding(tmp_path):
    case, d = load_case(_per_request_ladder(tmp_path))
    study = analyze(case, d)
    report = build_report(study)  # the story decides each step's findings and regressions
    lad = study.ladder
    assert [r.label for r in lad.rungs] == ["BF16", "+ FP8", "BF16 again"]
    s1, s2 = lad.steps
    # step 1 equals the two-sided comparison's delta (same runs, same definition)
    b, o = study.metrics["baseline"], lad.rungs[1].metrics
    assert s1.latency["ttft"]["p50"].abs == pytest.approx(o.latency_ms["ttft"].p50 - b.latency_ms["ttft"].p50)
    ci = s1.latency_ci["ttft"]["p50"]  # 100 requests per run: only TTFT p50 has enough data for an interval
    assert ci.supported and ci.family == "primary"
    assert ci.significant and ci.abs_high < 0  # FP8 made TTFT faster, with an interval excluding 0
    # same runs, seeds and family as the two-sided example case (BF16 vs FP8): the same interval
    two_sided = analyze(*load_case(ROOT / "cases" / "h100-llama31-8b-fp8")).delta_cis["ttft"]["p50"]
    assert (ci.abs_low, ci.abs_high) == (two_sided.abs_low, two_sided.abs_high)
    assert not s1.latency_ci["tpot"]["p99"].supported  # withheld, never called significant
    # step 2 exactly reverses step 1's point estimates, and is a significant regression: a finding
    assert s2.latency["ttft"]["p50"].abs == pytest.approx(-s1.latency["ttft"]["p50"].abs)
    assert s2.latency_ci["ttft"]["p50"].abs_low > 0
    assert any(w.startswith("TTFT rose: p50 +") for w in s2.worse), s2.worse
    assert any(f.startswith("Step 2 (BF16 again): ") for f in lad.findings)
    # and page 1 lists it, labelled with its step
    assert any(c.title == "Step 2 (BF16 again): TTFT rose" for c in report.page1.regressions)
    assert not s1.worse
    # costs: all rungs priced alike ($2.99/GPU-hour): the saving of a step is the difference of its rungs
    assert s1.saving_usd_per_month == pytest.approx(lad.rungs[0].cost.usd_per_month - lad.rungs[1].cost.usd_per_month)
    assert s1.saving_usd_per_month + s2.saving_usd_per_month == pytest.approx(0.0, abs=1e-9)


def test_llmd_example_case_per_step_capacity_and_cost(tmp_path):
    out = tmp_path / "out"
    build(LLMD_CASE, out, pdf=False)
    s = json.loads((out / "summary.json").read_text())["ladder"]
    assert [r["label"] for r in s["rungs"]] == ["No llm-d features", "+ base scheduler", "+ KV-cache-aware routing"]
    assert s["compare_at_load"] == "inf"  # an unbounded rate
    # TTFT p99 at the unbounded rate, from the file: 9951.5 → 3155.8 → 1249.6 ms
    t = [r["latency_ms"]["ttft"]["p99"] for r in s["rungs"]]
    assert t == pytest.approx([9951.53593, 3155.812862, 1249.642177], rel=1e-6)
    assert s["steps"][0]["latency_ms"]["ttft"]["p99"]["abs"] == pytest.approx(t[1] - t[0], rel=1e-9)
    # capacity at p99 TTFT ≤ 2 s: interpolated between rate 30 and the unbounded point
    no, base = s["rungs"][0]["capacity"], s["rungs"][1]["capacity"]
    cap_no = 22.100953037245468 + (2000 - 171.67865642984907) / (9951.535929819987 - 171.67865642984907) * (
        31.183176225808488 - 22.100953037245468)
    assert no["requests_per_s"] == pytest.approx(cap_no, rel=1e-6) and no["bound"] == "interpolated"
    assert s["rungs"][2]["capacity"]["bound"] == "at_least"  # passes at every load it measured
    assert s["steps"][0]["capacity_ratio"] == pytest.approx(base["requests_per_s"] / no["requests_per_s"])
    # cost at capacity: 4 GPUs × $1.80 / (3600 · capacity · 0.6) per request × 30M requests
    for r in s["rungs"]:
        want = 4 * 1.80 / (3600 * r["capacity"]["requests_per_s"] * 0.6) * 30_000_000
        assert r["cost"]["usd_per_month"] == pytest.approx(want, rel=1e-9)
    st1, st2 = s["steps"]
    assert st1["saving_usd_per_month"] == pytest.approx(s["rungs"][0]["cost"]["usd_per_month"]
                                                        - s["rungs"][1]["cost"]["usd_per_month"])
    assert (st1["one_time_cost_usd"], st2["one_time_cost_usd"]) == (4000, 6000)  # the rest of the $10,000
    assert st1["payback_months"] == pytest.approx(4000 / st1["saving_usd_per_month"])
    assert st1["tradeoffs"] == ["llm-d base scheduler"] and st2["tradeoffs"] == ["KV-cache-aware routing"]
    assert s["findings"] == []
    html = (out / "report.html").read_text()
    assert 'id="ladder"' in html and "Step by step" in html and html.count("<svg") >= 1
    # two estimates a step: the ratio's range between the load points (22.1–31.2 and 22.1–37.8 req/s)
    lo, hi = 22.100953037245468 / 31.183176225808488, 37.8 / 22.100953037245468
    step1 = next(f for f in s["steps"][0]["findings"] if f["key"] == "capacity")["evidence"]
    assert step1["ratio_low"] == pytest.approx(lo, rel=1e-2) and step1["ratio_high"] == pytest.approx(hi, rel=1e-2)
    text = html.replace("\u00a0", " ").replace("&nbsp;", " ").replace("\u2060", "").replace("&#39;", "'")
    assert "1.33× (range 0.70–1.71×)" in text
    # the steps rank differently flat out (throughput) and within the objectives (capacity): said in words
    assert ("flat out, + base scheduler added the most throughput (+6.58 req/s); within the objectives, "
            "+ KV-cache-aware routing added the most capacity (+9.55 req/s" in text)
    assert "the steps' savings need not add up to it" in text
    # the estimates' saving printed as the headline's "(estimate $1,775)" prints it, never as a second bound
    assert "a saving of $1,775 a month" in text and "(estimate $1,775)" in text
    assert "a saving of at least $1,775" not in text


def _edit(case_dir: Path, old: str, new: str) -> None:
    p = case_dir / "case.yaml"
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new))


def test_ladder_errors(tmp_path):
    case_dir = tmp_path / "c"
    shutil.copytree(LLMD_CASE, case_dir)
    _edit(case_dir, 'step: "+ base scheduler"', 'step: "+ base schedular"')
    with pytest.raises(CasegenError) as e:
        analyze(*load_case(case_dir))
    assert "tradeoffs" in str(e.value) and "+ base scheduler" in str(e.value)
    shutil.rmtree(case_dir)
    shutil.copytree(LLMD_CASE, case_dir)
    _edit(case_dir, "one_time_cost_usd: 4000", "one_time_cost_usd: 40000")
    with pytest.raises(CasegenError) as e:
        analyze(*load_case(case_dir))
    assert "more than" in str(e.value) and "cost" in str(e.value)
    shutil.rmtree(case_dir)
    shutil.copytree(LLMD_CASE, case_dir)
    _edit(case_dir, '      label: "+ base scheduler"\n      sweep: true', '      label: "+ base scheduler"\n      sweep: false')
    with pytest.raises(CasegenError) as e:
        load_case(case_dir)
    assert "sweep" in str(e.value)


def test_compare_more_than_two_runs():
    """`casegen compare A B C`: each run against the one before; B→A undoes A→B exactly."""
    from click.testing import CliRunner

    from casegen.cli.main import main

    v = Path(__file__).parent / "fixtures" / "vllm"
    a, b = str(v / "h100-llama31-8b-fp16-c16-detailed.json"), str(v / "h100-llama31-8b-fp8-c16-detailed.json")
    r = CliRunner().invoke(main, ["compare", a, b, a, "--json"])
    assert r.exit_code == 0, r.output
    chain = json.loads(r.output)
    assert chain["runs"] == [a, b, a] and len(chain["steps"]) == 2
    s1 = {(x["metric"], x["stat"]): x for x in chain["steps"][0]["rows"]}
    s2 = {(x["metric"], x["stat"]): x for x in chain["steps"][1]["rows"]}
    assert s2[("ttft", "p50")]["abs"] == pytest.approx(-s1[("ttft", "p50")]["abs"])
    assert s1[("ttft", "p50")]["verdict"] == "better" and s2[("ttft", "p50")]["verdict"] == "worse"
    text = CliRunner().invoke(main, ["compare", a, b, a]).output
    assert "Step 1:" in text and "Step 2:" in text
    # two runs keep the two-run output
    assert "steps" not in json.loads(CliRunner().invoke(main, ["compare", a, b, "--json"]).output)
    bad = CliRunner().invoke(main, ["compare", a, b, "--select-more", "rate=1"])
    assert bad.exit_code == 2 and "--select-more" in bad.output


def test_every_rung_is_in_the_input_files_with_its_entries_counted_from_one():
    """The appendix's input files name every file a ladder read, the steps' too (the llm-d example's middle
    rung was missing), and a run's place in a multi-run file as a reader counts ('entries 4–6 of the file')."""
    from casegen.render.html import _inputs
    from casegen.report.reproduce import input_files
    from casegen.report.setup import InputFile

    case, cd = load_case(Path(__file__).parent.parent / "cases" / "llm-d-l40s-ladder")
    rows = [InputFile.model_validate(f) for f in input_files(analyze(case, cd))]
    assert [r.side for r in rows] == ["No llm-d features", "+ base scheduler", "+ KV-cache-aware routing"]
    assert [r["index"] for r in _inputs(rows)] == ["entries 1–3", "entries 4–6", "entries 7–9"]
    # one file a run: nothing to count
    one = [InputFile(side="A", file="a.json", sha256=None, format="vllm", index="2"),
           InputFile(side="B", file="b.json", sha256=None, format="vllm", index=None)]
    assert [r["index"] for r in _inputs(one)] == [None, None]


def test_phone_waterfall_keeps_a_bound_with_its_figure():
    """A bar label whose unit the title names is the figure alone, and on a phone it is never split at
    its sign ("≥" over "41.2", seen on the llm-d page at 390 px)."""
    import re

    from casegen.render.charts import narrow_text
    from casegen.render.ladder_charts import waterfall_chart
    from casegen.render.ladder_view import _rate

    panel = [("Capacity at SLO (req/s per replica)", [("No llm-d features", 23.8), ("+ base", 7.86), ("+ KV", 9.55)],
              _rate, False, "≥\u00a0")]
    with narrow_text():
        chart = waterfall_chart(panel, panel_size=(4.4, 3.0), variant="narrow", level_ranges=[None])
    texts = [t.replace("\u00a0", " ") for t in re.findall(r"<text[^>]*>([^<]*)</text>", str(chart.wide))]
    assert "≥" not in texts and "≥ 41.2" in texts, texts
    assert not any("req/s" in t for t in texts if t[:1] in "+≥0123456789"), texts
