"""No chart label sits on another label, a drawn line or a marker, and phone charts are legible (issue 23).

Every chart of every example and of today's tools' sweep cases is drawn with
:data:`casegen.render.charts.COLLISION_LOG` set: each drawing reports the labels whose box (in display
coordinates, as drawn) meets another label's box, a segment of a drawn line (curves, the SLO's
rule, a capacity's rule) or a marker (:func:`casegen.render.charts.label_collisions`). A load
label on the SLO line ("c8" in the AIPerf sweep), a capacity label struck through by its curve
("6.65 req/s") or the value of a clipped point crossed by its line ("↑ 3.35 s") fail.

The same builds check that every chart a phone shows (the phone variant, else the chart) prints its
smallest text at ≥ 11 CSS px when shown 362 px wide (390 px less the page's padding).
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pytest
from test_sweep_cases_current_releases import SWEEPS, sweep_case

from casegen.app.build import build
from casegen.render import charts
from conftest import ROOT

EXAMPLES = sorted(p.name for p in (ROOT / "cases").iterdir() if (p / "case.yaml").is_file())


#: The width a phone shows a chart at: 390 CSS px less the report's padding (2 × 14 px, style.css).
PHONE_CHART_PX = 362
MIN_PHONE_TEXT_PX = 11.0


def phone_charts(html: str) -> list[str]:
    """The ``<svg>`` charts a phone shows: the phone variant of a two-variant chart, else the chart."""
    pairs = re.findall(r'<div class="chart-variants"><div class="desk-only">.*?</svg></div>'
                       r'<div class="phone-only">(<svg.*?</svg>)</div></div>', html, re.S)
    rest = re.sub(r'<div class="chart-variants">.*?</svg></div></div>', "", html, flags=re.S)
    return pairs + re.findall(r'<svg[^>]*class="chart".*?</svg>', rest, re.S)


def smallest_phone_text_px(svg: str) -> tuple[str, float]:
    """(chart title, its smallest text in CSS px when the chart is shown :data:`PHONE_CHART_PX` wide;
    an SVG never shows wider than its drawn size, 96 px a 72 pt inch)."""
    width_pt = float(re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) [\d.]+"', svg).group(1))
    sizes = [float(v) for v in re.findall(r"font-size: ([\d.]+)px", svg)]
    title = re.search(r"<title[^>]*>([^<]*)", svg).group(1)
    return title, min(sizes) * min(PHONE_CHART_PX, width_pt * 96 / 72) / width_pt


def _built(case, out) -> tuple[list[str], list[str]]:
    """Build ``case``'s report and one-pager (HTML): (label collisions, small phone text)."""
    log: list = []
    token = charts.COLLISION_LOG.set(log)
    try:
        build(case, out, formats=("html",))
        build(case, out / "one", formats=("html",), layout="onepager")
    finally:
        charts.COLLISION_LOG.reset(token)
    assert log, "no chart was drawn"
    small = []
    for page in (out / "report.html", out / "one" / "report.html"):
        for svg in phone_charts(page.read_text(encoding="utf-8")):
            title, px = smallest_phone_text_px(svg)
            if px < MIN_PHONE_TEXT_PX:
                small.append(f"{page.parent.name}: {title[:60]!r} {px:.1f} px")
    return [f"{title}: {c}" for title, found in log for c in found], small


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_chart_labels_stand_clear_and_read_on_a_phone(name, tmp_path):
    collisions, small = _built(ROOT / "cases" / name, tmp_path / "out")
    assert collisions == []
    assert small == [], f"phone chart text under {MIN_PHONE_TEXT_PX} px at 390 px"


@pytest.mark.parametrize("tool", sorted(SWEEPS))
def test_sweep_chart_labels_stand_clear_and_read_on_a_phone(tool, tmp_path):
    collisions, small = _built(sweep_case(tool, tmp_path / "case"), tmp_path / "out")
    assert collisions == []
    assert small == [], f"phone chart text under {MIN_PHONE_TEXT_PX} px at 390 px"


def test_the_check_sees_a_label_on_a_line_and_on_a_label():
    with plt.rc_context(charts.rc()):
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 10], [0, 10])
        ax.axhline(5, ls="--")
        ax.annotate("on the curve", (5, 5), ha="center", va="center")
        ax.annotate("on the SLO", (8.5, 5), ha="center", va="center")
        ax.annotate("first", (2, 8.5))
        ax.annotate("second", (2.3, 8.5))
        ax.annotate("clear", (8, 1))
        fig.canvas.draw()
        found = "\n".join(charts.label_collisions(fig))
        plt.close(fig)
    assert "'on the curve' on a drawn line" in found and "'on the SLO' on a drawn line" in found
    assert "'first' on 'second'" in found and "'clear'" not in found


@pytest.mark.parametrize("name, marked, limit", [("h100-llama31-8b-fp8", "p99", "SLO 200\u00a0ms"),
                                                 ("prompt-trimming-testserver", "p95", "SLO 150\u00a0ms")])
def test_cdf_marks_the_objectives_percentile_and_limit(name, marked, limit):
    """The TTFT CDF shows what the SLO table judges: the objective's percentile and its limit, not p50/p99
    by habit; the end-to-end CDF, with no objective on its metric, keeps p50 and p99."""
    from casegen.app.build import analyze, build_report, load_case
    from casegen.render.html import draw_charts

    case, d = load_case(ROOT / "cases" / name)
    study = analyze(case, d)
    drawn = draw_charts(study, build_report(study))
    texts = lambda chart: re.findall(r"<text[^>]*>([^<]*)</text>", chart.wide) or re.findall(r"<!-- (.*?) -->", chart.wide)  # noqa: E731
    ttft = " ".join(texts(drawn["ttft_cdf"]))
    assert marked in ttft and limit in ttft and (marked == "p50" or "p50" not in ttft)
    assert "p50" in " ".join(texts(drawn["e2e_cdf"]))


# ------------------------------------------------------------------ one format per chart (issue 23, review s9)

def test_a_charts_change_labels_share_their_decimals():
    """"−1%†" beside "+0.7%†" mixed two roundings in one chart: a chart whose smallest change needs a
    decimal prints every change with one ("−1.0%", "+0.7%"); without such a change, none ("−22%")."""
    assert charts.pct_digits([-1.04, 0.7]) == 1 and charts.pct_digits([-22.4, -1.2, None]) == 0
    rows = [{"label": "TTFT", "stats": ["p50", "p99"], "base": [100.0, 200.0], "opt": [98.96, 201.4]}]
    svg = charts.ladder_chart(rows, "Before", "After").wide
    assert "\u22121.0%" in svg and "+0.7%" in svg and "\u22121%" not in svg
    rows[0]["opt"] = [78.0, 150.0]
    svg = charts.ladder_chart(rows, "Before", "After").wide
    assert "\u221222%" in svg and "\u221225%" in svg and "\u221222.0%" not in svg


def test_change_ticks_have_one_format():
    """Percent ticks: "0%" at no change beside "−10%", never "0.0%" beside whole ticks."""
    fig, ax = plt.subplots()
    ax.set_xlim(-25, 5)
    ax.set_xticks([-20, -10, 0])
    ax.xaxis.set_major_formatter(charts.PctTicks())
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["\u221220%", "\u221210%", "0%"]
    plt.close(fig)


def test_the_collision_check_sees_a_lone_tick_a_legend_on_a_line_and_ticks_on_ticks():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 10], [0, 10], label="a curve with a long legend entry that spans the plot")
    ax.legend(loc="upper left")
    ax.set_xlim(0, 10)
    ax.set_xticks([5.0])
    ax.set_yticks([1.0, 1.05], ["1.00 s", "1.05 s"])
    fig.canvas.draw()
    found = "\n".join(charts.label_collisions(fig))
    plt.close(fig)
    assert "the legend on a drawn line" in found
    assert "the x axis shows a single tick ('5')" in found or "single tick" in found
    assert "tick '1.00 s' on tick '1.05 s'" in found


def test_dollar_ticks_have_one_style():
    """"$1.5k, $3k, $4.5k" mixed decimals on the payback chart's axis: one scale and one number of
    decimals for every tick of the axis."""
    fig, ax = plt.subplots()
    ax.set_ylim(0, 6500)
    ax.set_yticks([0, 1500, 3000, 4500, 6000])
    ax.yaxis.set_major_formatter(charts.UsdTicks())
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["$0", "$1.5k", "$3.0k", "$4.5k", "$6.0k"]
    ax.set_ylim(0, 14000)
    ax.set_yticks([0, 3000, 6000, 9000, 12000])
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["$0", "$3k", "$6k", "$9k", "$12k"]
    plt.close(fig)
    svg = charts.payback_chart(500.0, 2000.0, 12, 4.0).wide  # $6k at 12 months: steps of 1, 2 or 5 (thousands)
    assert "$1.5k" not in svg and "$4.5k" not in svg
