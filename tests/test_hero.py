"""Page 1's picture and so-what line (casegen.render.hero, casegen.story.so_what), the sweep
chart's drawing rules and the chart tick formatter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from casegen.analysis.study import analyze
from casegen.case.model import load_case
from casegen.formatting import fmt_ticks
from casegen.render.hero import hero_chart, hero_view
from casegen.render.sweep_charts import _at, _figure, sweep_chart_stats
from casegen.report.build import build_report
from casegen.story.so_what import so_what
from conftest import ROOT

CASES = ROOT / "cases"


@pytest.fixture(scope="module")
def studies():
    out = {}
    for name in ("h100-llama31-8b-fp8", "inference-perf-llama3-8b-quantization-sweep", "llm-d-l40s-ladder"):
        case, d = load_case(CASES / name)
        out[name] = analyze(case, d)
    return out


def _hero(studies, name):
    report = build_report(studies[name])
    return hero_view(report, {"hero": hero_chart(studies[name], report)})


def test_the_picture_is_chosen_by_the_case(studies):
    fixed = _hero(studies, "h100-llama31-8b-fp8")
    assert "The objectives' statistics before and after" in fixed["chart"]
    assert "SLO 20\u00a0ms" in fixed["chart"]  # the limit as the case wrote it
    sweep = _hero(studies, "inference-perf-llama3-8b-quantization-sweep")
    assert "TTFT p99 vs throughput" in sweep["chart"]  # the objective's own percentile, not p50
    assert "Baseline p50" not in sweep["chart"]
    ladder = _hero(studies, "llm-d-l40s-ladder")
    assert "waterfall" in ladder["chart"] and "≥\u00a041.2 req/s" in ladder["chart"]  # a lower bound keeps its ≥
    for view in (fixed, sweep, ladder):
        assert view["chart"].count("<svg") == 2  # wide and phone variants
        assert any(term == "SLO" for term, _ in view["glossary"])


def test_card_picture_and_line_tell_one_story(studies):
    """FP8: TTFT p99 has no interval, so the card falls back to p50 (with its interval); the picture draws
    the card's statistic, not the objective's p99 beside it, and its caption says why and gives the p99.
    The so-what line (replicas) describes no latency bar: it follows the picture instead of titling it."""
    study = studies["h100-llama31-8b-fp8"]
    report = build_report(study)
    cards = [c.finding for c in report.page1.cards if c.finding.startswith("latency:")]
    assert cards == ["latency:ttft:p50", "latency:tpot:p99"]
    assert report.page1.hero_statistics == ["ttft:p50", "tpot:p99"]
    view = _hero(studies, "h100-llama31-8b-fp8")
    assert "TTFT p50" in view["chart"] and "TTFT p99" not in view["chart"]
    assert "SLO 200\u00a0ms" not in view["chart"]  # no limit drawn against a statistic it does not bound
    assert "TTFT is drawn at p50, as on its card: its objective's p99 (107 ms → 90.6 ms, limit 200 ms)" in view["caption"]
    assert not report.so_what_with_picture and not view["so_what_above"]
    # a sweep's line is about the capacities its curve marks: it stands above the picture
    assert build_report(studies["inference-perf-llama3-8b-quantization-sweep"]).so_what_with_picture
    assert build_report(studies["inference-perf-llama3-8b-quantization-sweep"]).page1.hero_statistics == []
    # a dollar line describes no capacity bar: after the ladder's waterfall, not above it as its title
    assert not build_report(studies["llm-d-l40s-ladder"]).so_what_with_picture


def test_so_what_restates_the_cost_section(studies):
    # 25 req/s peak at 80 %: ceil(25 / (5.45 · 0.8)) = 6 BF16 replicas, ceil(25 / (6.99 · 0.8)) = 5 FP8
    assert so_what(studies["h100-llama31-8b-fp8"]).startswith("The same 25 req/s peak runs on 5 replicas instead of 6")
    # 600 req/s at 80 % of the capacities 92.4 and 169 req/s: 9 and 5 replicas
    assert "600 req/s peak runs on 5 replicas instead of 9" in so_what(
        studies["inference-perf-llama3-8b-quantization-sweep"])
    # the ladder's optimized capacity is a lower bound: the saving is too, as in the cost section
    # (the baseline's interpolated 23.8 req/s is priced at the top of its bracket, 31.2 req/s, beside that
    # bound: $4,202 × 23.80 / 31.18 = $3,206.6 a month, printed "≥ $3,206" (a lower bound rounds down) against
    # "≤ $2,427" ($2,426.17, an upper bound rounds up): $3,206 − $2,427 = $779)
    assert so_what(studies["llm-d-l40s-ladder"]).startswith("Saves at least $779 a month")


def test_sweep_charts_draw_the_objectives_percentile_first(studies):
    st = studies["inference-perf-llama3-8b-quantization-sweep"]
    assert sweep_chart_stats(st, "ttft") == ["p99", "p50"]  # objective TTFT p99 ≤ 500 ms
    assert sweep_chart_stats(st, "tpot") == []  # the demo's files have no per-token TPOT (left out)


def test_the_drawn_segment_is_the_interpolation_the_capacity_uses(studies):
    """Straight segments between the measured points on a linear axis (not a log axis, where the
    linear interpolation would be drawn as a curve): each capacity marker lies on its side's drawn
    line, and the axis runs past the SLO's line and the highest point with room to spare."""
    import matplotlib.pyplot as plt

    from casegen.render.charts import rc

    st = studies["inference-perf-llama3-8b-quantization-sweep"]
    slo = st.case.slos[0]
    caps = (st.capacities.get("baseline"), st.capacities.get("optimized"))
    with plt.rc_context(rc()):
        fig = _figure(st.sweeps["baseline"], st.sweeps["optimized"], slo.metric, ("p99",), slo.threshold_ms,
                      (None, None), caps, "t", narrow=False)
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    lines = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and len(ln.get_xdata()) > 1]
    assert len(lines) == 2
    for line, sweep in zip(lines, (st.sweeps["baseline"], st.sweeps["optimized"])):
        measured = sorted(p.achieved_rps for p in sweep.points if p.latency(slo.metric, "p99") is not None)
        assert list(line.get_xdata()) == measured  # the measured points only: nothing smoothed in between
    diamonds = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
    assert len(diamonds) == 2
    for d, line in zip(diamonds, lines):
        x, y = float(d.get_xdata()[0]), float(d.get_ydata()[0])
        assert math.isclose(float(np.interp(x, line.get_xdata(), line.get_ydata())), y, rel_tol=1e-9)
    # the axis runs past the SLO with room; latencies far past it (saturation) stop at 3× the SLO,
    # each point above marked on the top edge (▲) with the highest value written
    top = ax.get_ylim()[1]
    highest = max(max(ln.get_ydata()) for ln in lines)
    assert highest > 5 * slo.threshold_ms and top == 3 * slo.threshold_ms
    above = sum(1 for ln in lines for y in ln.get_ydata() if y > top)
    tips = [ln for ln in ax.get_lines() if ln.get_marker() == "^"]
    assert above >= 2 and len(tips) == above and all(float(t.get_ydata()[0]) == top for t in tips)
    texts = [t.get_text() for t in ax.texts]
    from casegen.formatting import fmt_ms

    assert "\u2191\u00a0" + fmt_ms(highest).replace(" ", "\u00a0") in texts and "SLO 500\u00a0ms" in texts, texts
    plt.close(fig)
    with plt.rc_context(rc()):  # without the objective: room above the highest point
        fig = _figure(st.sweeps["baseline"], st.sweeps["optimized"], slo.metric, ("p99",), None, (None, None),
                      (None, None), "t", narrow=False)
    assert fig.axes[0].get_ylim()[1] >= 1.1 * highest
    plt.close(fig)
    curve = [(10.0, 50.0), (20.0, 80.0), (40.0, 2000.0)]
    assert _at(curve, 30.0) == 1040.0


def test_tick_labels_share_one_style():
    assert fmt_ticks([0, 25, 50, 75]) == ["0", "25", "50", "75"]
    assert fmt_ticks([0.0, 0.5, 1.0, 1.5]) == ["0.0", "0.5", "1.0", "1.5"]
    assert fmt_ticks([0.05, 0.1, 0.2, 0.5, 1, 2], per_tick=True) == ["0.05", "0.1", "0.2", "0.5", "1", "2"]
    assert fmt_ticks([-2, 0, 2000]) == ["−2", "0", "2,000"]


def test_page_glossary_names_every_abbreviation_the_page_prints():
    """The one-pager's "Terms." line: each abbreviation found in the page's visible text (charts'
    labels included), none that is absent, nothing from a tooltip or a script."""
    from casegen.render.glossary import PLACEHOLDER, fill_page_glossary, page_glossary

    page = ('<h1>FP8 on one H100</h1><div class="kpi">−23%†</div><p>TTFT p99 107 ms; 5.45 req/s</p>'
            '<svg><title>TPOT chart</title><text>SLO 20 ms</text></svg><abbr title="E2E: end to end">x</abbr>')
    terms = [t for t, _ in page_glossary(page)]
    assert terms == ["TTFT", "p99", "SLO", "req/s", "FP8/BF16", "†"]
    out = fill_page_glossary(page + PLACEHOLDER)
    assert PLACEHOLDER not in out and "<strong>Terms.</strong> <strong>TTFT</strong>\u00a0time to first token" in out
    assert fill_page_glossary("<p>nothing here</p>" + PLACEHOLDER) == "<p>nothing here</p>"


def test_fixed_load_picture_draws_the_change_interval_the_card_states(studies):
    """FP8: 100 requests a side are too few for each side's own interval (no whiskers on the bars), but
    TTFT p50's change has one (the card's "95% CI −27.2% to −14.7%"): the picture draws it as a whisker
    in a change panel, and TPOT p99's change, without an interval, as a bare dot said so."""
    study = studies["h100-llama31-8b-fp8"]
    ci = study.delta_cis["ttft"]["p50"]
    view = _hero(studies, "h100-llama31-8b-fp8")
    assert "Change, with its 95% interval" in view["chart"]
    want = f"change \u221222% (\u2212{abs(ci.pct_low):.0f}% to \u2212{abs(ci.pct_high):.0f}%)"
    assert want in view["chart"]  # the text alternative states the interval drawn
    assert "TPOT p99" in view["chart"] and "change \u221223%, no interval" in view["chart"]
    assert "Panel “Change”: the change from BF16 to FP8 with its 95% interval." in view["caption"]
    # true at every width: the phone stacks the change panel below the bars, so no "right"/"left"
    assert not __import__("re").search(r"\b(right|left)\b", view["caption"], flags=__import__("re").I)
