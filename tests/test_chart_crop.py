"""Charts are drawn once and cropped by their viewBox (charts._to_svg), not drawn twice by
``savefig(bbox_inches="tight")``: the crop must hold everything matplotlib's own tight crop
holds, nothing may be clipped away, and the print variant must keep every chart."""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import pytest

from casegen.app.build import analyze, build_report, load_case
from casegen.render.html import charts, render_html

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "cases").iterdir() if (p / "case.yaml").is_file())


def _view_box(svg: str) -> tuple[float, ...]:
    m = re.search(r'<svg\b[^>]*\bviewBox="([^"]+)"', svg)
    assert m, svg[:300]
    return tuple(float(v) for v in m.group(1).split())


def _matplotlib_tight_size(make_fig) -> tuple[float, float]:
    """Width and height (pt) of the same figure saved with matplotlib's own tight crop."""
    with plt.rc_context(charts._RC):
        fig = make_fig()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")
        plt.close(fig)
    w, h = _view_box(buf.getvalue())[2:]
    return w, h


RNG = np.random.default_rng(7)
LONG = "a very long baseline label, vLLM 0.6 on 2 x A100 (tp=2)"
FIGURES = {
    "cdf": lambda: charts.cdf_chart("Time to first token", RNG.lognormal(4, 0.4, 300), RNG.lognormal(3.8, 0.4, 300),
                                    "BF16", "FP8"),
    "split_long_labels": lambda: charts.split_chart([(LONG, 70.0, 2600.0), ("FP8", 56.0, 2000.0)]),
    "payback_big": lambda: charts.payback_chart(1_234_567.0, 25_000_000.0, 36, 20.3),
    "ladder": lambda: charts.ladder_chart(
        [{"label": m, "stats": ["p50", "p90", "p95", "p99"], "base": [72, 97, 98, 1070], "opt": [56, 77, 84, 910]}
         for m in ("TTFT", "TPOT", "End-to-end latency")], "BF16", "FP8"),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_crop_matches_matplotlibs_tight_crop(name, monkeypatch):
    """Capture each figure as it reaches _to_svg, then save it both ways: the same size to 5 pt
    (the crop measures text with the Agg renderer, matplotlib's with the SVG one, which differ by
    a few points on a long label), less than the 7.2 pt padding both keep around the content,
    so neither cuts into it."""
    captured = []
    real = charts._to_svg

    def spy(fig, title, desc, variant="wide"):
        out = real(fig, title, desc, variant)
        captured.append((out, fig))
        return out

    monkeypatch.setattr(charts, "_to_svg", spy)
    FIGURES[name]()
    assert captured
    for svg, fig in captured:
        w, h = _view_box(svg)[2:]
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")  # the figure object survives plt.close
        tw, th = _view_box(buf.getvalue())[2:]
        assert abs(w - tw) <= 5.0 and abs(h - th) <= 5.0, (name, (w, h), (tw, th))


def test_nothing_drawn_outside_the_figure_is_lost():
    """The SVG backend drops unfilled lines outside the figure: a legend below the axes once lost
    its line samples (empty <path/>). Every path of every chart has its data."""
    for make in FIGURES.values():
        html = make()
        assert "<path" in html
        for path in re.findall(r"<path\b[^>]*>", html):
            assert ' d="' in path, path


def test_example_charts_are_drawn_once(monkeypatch):
    """Every chart of the worked examples is drawn exactly once (no draw-twice tight crop)."""
    draws, svgs = [], []
    real_draw, real_crop = matplotlib.figure.Figure.draw, charts._tight_view_box

    def counting_draw(self, renderer):
        draws.append(self)
        return real_draw(self, renderer)

    def counting_crop(fig, renderer):  # once per chart, whichever module made it
        svgs.append(fig)
        return real_crop(fig, renderer)

    monkeypatch.setattr(matplotlib.figure.Figure, "draw", counting_draw)
    monkeypatch.setattr(charts, "_tight_view_box", counting_crop)
    for case_dir in EXAMPLES:
        case, d = load_case(case_dir)
        study = analyze(case, d)
        render_html(study, report=build_report(study))
    assert len(svgs) >= 20, "the examples' charts (ladders, CDFs, split, payback, sweeps, waterfall) not all seen"
    assert len(draws) == len(svgs)


def test_crop_falls_back_when_content_is_far_outside():
    """Text placed far beyond the added margin: matplotlib's tight crop takes over, nothing lost."""
    with plt.rc_context(charts._RC):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1], [0, 1])
        ax.plot([0, 1], [-3, -3], clip_on=False)  # a line ~5 inches below the axes
        ax.set_ylim(0, 1)
        svg = charts._to_svg(fig, "t", "d")
    assert all(' d="' in p for p in re.findall(r"<path\b[^>]*>", svg))
    assert _view_box(svg)[3] > 4 * 72


def test_ids_are_unique_in_a_report_and_every_reference_resolves():
    """matplotlib names every chart's groups figure_1, axes_1, …: a report of eight charts once
    repeated 140 ids. Now each id appears once and every in-chart reference has its target."""
    for case_dir in EXAMPLES:
        case, d = load_case(case_dir)
        study = analyze(case, d)
        html = render_html(study, report=build_report(study))
        ids = re.findall(r'\sid="([^"]+)"', html)
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        assert not repeated, (case_dir.name, repeated[:10])
        for ref in re.findall(r'(?:xlink:href|href)="#([^"]+)"|url\(#([^)]+)\)', html):
            target = ref[0] or ref[1]
            assert target in ids, (case_dir.name, target)


def test_measuring_once_draws_the_same_bytes(monkeypatch):
    """charts._measured_once (ticks and text layouts computed once per drawing) changes nothing
    drawn: every chart of every worked example, and the figures above, come out byte for byte as
    matplotlib draws them measuring everything again each time."""
    import contextlib

    state = RNG.bit_generator.state

    def all_charts() -> list[str]:
        RNG.bit_generator.state = state  # the same random data both times
        out = [str(make()) for make in FIGURES.values()]
        for case_dir in EXAMPLES:
            case, d = load_case(case_dir)
            study = analyze(case, d)
            html = render_html(study, report=build_report(study))
            out += re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)
        return out

    fast = all_charts()
    monkeypatch.setattr(charts, "_measured_once", contextlib.nullcontext)
    slow = all_charts()
    assert len(fast) == len(slow) >= 30
    assert fast == slow
    assert charts.matplotlib.axis.Axis._update_ticks.__name__ == "_update_ticks"  # put back after each chart
    assert charts.matplotlib.text.Text._get_layout.__name__ == "_get_layout"


def test_bare_groups_are_dropped_and_everything_else_kept():
    """Groups without attributes go (their children stay, in order); groups with a clip path,
    transform or style stay with their children; charts keep their drawing."""
    svg = ('<svg><g>\n <g clip-path="url(#c)">\n  <g>\n   <path d="M 0 0"/>\n  </g>\n  <text>a</text>\n </g>'
           '\n <g><g transform="scale(2)"><use href="#m"/></g></g>\n</g></svg>')
    assert charts._without_bare_groups(svg) == (
        '<svg>\n <g clip-path="url(#c)">\n   <path d="M 0 0"/>\n  <text>a</text>\n </g>'
        '<g transform="scale(2)"><use href="#m"/></g></svg>')
    assert charts._without_bare_groups('<svg><g id="a"/><g><path/></g></svg>') == '<svg><g id="a"/><path/></svg>'
    assert charts._without_bare_groups("<svg></g><g></svg>") == "<svg></g><g></svg>"  # not nested: kept
    chart = FIGURES["ladder"]()
    assert "<g>" not in chart and "<path" in chart
    assert chart.count("<g ") == chart.count("</g>")
