"""A chart is a value (issue 20): name, description, wide and narrow renderings, drawn in the
report's theme — no renderer edits a finished SVG to recolour it or to find its parts."""

import numpy as np

from casegen.render import charts
from casegen.render.chart_memo import chart_memo, chart_theme

RNG = np.random.default_rng(7)
BASE, OPT = RNG.gamma(4.0, 20.0, 400), RNG.gamma(4.0, 16.0, 400)


def _cdf() -> charts.Chart:
    return charts.cdf_chart("Time to first token", BASE, OPT, "before", "after")


def test_a_chart_carries_its_parts():
    c = _cdf()
    assert isinstance(c, charts.Chart)
    assert c.name == "Time to first token" or "Time to first token" in c.name
    assert c.description and c.alt.startswith(c.name)
    assert c.wide.startswith("<svg") and c.wide.rstrip().endswith("</svg>")
    assert charts.svg_file(c) == c.wide  # Markdown's chart file: the wide rendering, as drawn
    assert c.__html__() == str(c)  # printed unescaped by the HTML templates


def test_responsive_keeps_both_renderings_and_the_name():
    wide, narrow = _cdf(), _cdf()
    both = charts.responsive(wide, narrow)
    assert both.wide == wide.wide and both.narrow == narrow.wide and both.name == wide.name
    assert 'class="desk-only"' in both and 'class="phone-only"' in both


def test_charts_are_drawn_in_the_theme():
    modern = _cdf()
    with chart_theme("classic"):
        classic = _cdf()
    mp, cp = charts.PALETTES["modern"], charts.PALETTES["classic"]
    assert mp["opt"] in modern.wide and mp["opt"] not in classic.wide
    assert cp["opt"] in classic.wide
    assert "DejaVu Serif" in classic.wide and "DejaVu Serif" not in modern.wide


def test_the_chart_memo_keys_on_the_theme():
    store: dict = {}
    with chart_memo(store):
        a = charts.payback_chart(1000.0, 6000.0, 12, 6.0)
        with chart_theme("classic"):
            b = charts.payback_chart(1000.0, 6000.0, 12, 6.0)
    assert len(store) == 2 and a.wide != b.wide
