"""No chart label sits on another label, a drawn line or a marker (issue 23).

Every chart of every example and of today's tools' sweep cases is drawn with
:data:`casegen.render.charts.COLLISION_LOG` set: each drawing reports the labels whose box (in display
coordinates, as drawn) meets another label's box, a segment of a drawn line (curves, the SLO's
rule, a capacity's rule) or a marker (:func:`casegen.render.charts.label_collisions`). A load
label on the SLO line ("c8" in the AIPerf sweep), a capacity label struck through by its curve
("6.65 req/s") or the value of a clipped point crossed by its line ("↑ 3.35 s") fail.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from test_sweep_cases_current_releases import SWEEPS, sweep_case

from casegen.app.build import build
from casegen.render import charts
from conftest import ROOT

EXAMPLES = sorted(p.name for p in (ROOT / "cases").iterdir() if (p / "case.yaml").is_file())


def _collisions(case, out) -> list[str]:
    log: list = []
    token = charts.COLLISION_LOG.set(log)
    try:
        build(case, out, formats=("html",))
        build(case, out / "one", formats=("html",), layout="onepager")
    finally:
        charts.COLLISION_LOG.reset(token)
    assert log, "no chart was drawn"
    return [f"{title}: {c}" for title, found in log for c in found]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_chart_labels_stand_clear(name, tmp_path):
    assert _collisions(ROOT / "cases" / name, tmp_path / "out") == []


@pytest.mark.parametrize("tool", sorted(SWEEPS))
def test_sweep_chart_labels_stand_clear(tool, tmp_path):
    assert _collisions(sweep_case(tool, tmp_path / "case"), tmp_path / "out") == []


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
    import re

    from casegen.app.build import analyze, build_report, load_case
    from casegen.render.html import draw_charts

    case, d = load_case(ROOT / "cases" / name)
    study = analyze(case, d)
    drawn = draw_charts(study, build_report(study))
    texts = lambda chart: re.findall(r"<text[^>]*>([^<]*)</text>", chart.wide) or re.findall(r"<!-- (.*?) -->", chart.wide)  # noqa: E731
    ttft = " ".join(texts(drawn["ttft_cdf"]))
    assert marked in ttft and limit in ttft and (marked == "p50" or "p50" not in ttft)
    assert "p50" in " ".join(texts(drawn["e2e_cdf"]))
