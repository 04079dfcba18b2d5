"""Charts as inline SVG strings (matplotlib, Agg backend, deterministic output).

Every function takes plain numbers (ms, USD) and returns an ``<svg>…</svg>``
string. Output is byte-for-byte reproducible: a fixed ``svg.hashsalt`` and no
date metadata.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from html import escape as html_escape
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import Formatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from casegen.formatting import (
    fmt_months_bound,
    fmt_ms,
    fmt_ms_limit,
    fmt_pct,
    fmt_ticks,
    fmt_usd_money,  # noqa: E402
    opposite_bound,
)
from casegen.render.chart_memo import current_theme, memoized
from casegen.render.idrefs import prefix_ids, referenced_ids  # noqa: E402

BASE_COLOR = "#94a3b8"
OPT_COLOR = "#1d4ed8"
BETTER = "#15803d"
WORSE = "#b91c1c"
INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
PREFILL_TEXT = "#92400e"  # darker than the prefill bar, for text contrast on white

_RC: dict[Any, Any] = {  # matplotlib types rc keys as a Literal of every rc name
    "svg.hashsalt": "casegen",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": INK,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": GRID,
    "grid.linewidth": 0.8,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "figure.dpi": 72,
    # labels come from case.yaml and run files: a '$' is a dollar sign, never TeX mathtext
    # ("$x^2$" would be typeset, an odd '$' would raise). sweep_charts.py uses the same settings.
    "text.parse_math": False,
}


#: Chart colours per report theme (the theme's CSS sets the page; this sets the charts). The
#: modern palette is the default; chart functions read the current theme's through :data:`C` and :func:`rc`.
PALETTES: dict[str, dict[str, str]] = {
    "modern": {"base": BASE_COLOR, "opt": OPT_COLOR, "better": BETTER, "worse": WORSE, "ink": INK,
               "muted": MUTED, "prefill": "#f59e0b", "decode": "#1e3a8a", "prefill_text": PREFILL_TEXT},
    "classic": {"base": "#9ca3af", "opt": "#111827", "better": "#14532d", "worse": "#7f1d1d", "ink": "#111827",
                "muted": "#4b5563", "prefill": "#b45309", "decode": "#374151", "prefill_text": "#78350f"},
}
#: Font family of chart text per theme (the PDF maps these to the bundled DejaVu files).
CHART_FONTS = {"modern": "DejaVu Sans", "classic": "DejaVu Serif"}


class _Palette:
    """The current theme's chart colours (``C.base``, ``C.opt``, ``C.better`` …): chart functions draw
    in the theme set by :func:`casegen.render.chart_memo.chart_theme`, so no finished SVG is recoloured."""

    def __getattr__(self, key: str) -> str:
        return PALETTES.get(current_theme(), PALETTES["modern"])[key]


C = _Palette()


def rc() -> dict[Any, Any]:
    """matplotlib settings for a chart in the current theme (its ink, muted ticks and font)."""
    return {**_RC, "font.family": CHART_FONTS.get(current_theme(), CHART_FONTS["modern"]), "axes.labelcolor": C.ink,
            "xtick.color": C.muted, "ytick.color": C.muted}


#: Type size (pt) of a chart's labels and ticks; the phone variants draw larger (:func:`narrow_text`).
_TEXT_PT: ContextVar[float] = ContextVar("casegen_chart_text_pt", default=9.0)
#: The phone variants' type (pt): a phone shows a chart about 362 CSS px wide (390 px less the page's
#: padding), so a narrow figure about 4.5 in wide with its labels prints 12 pt type at ≥ 11 px.
NARROW_TEXT_PT = 12.0


def text_pt() -> float:
    """The type size (pt) of labels in the chart being drawn."""
    return _TEXT_PT.get()


@contextmanager
def narrow_text(pt: float = NARROW_TEXT_PT) -> Iterator[None]:
    """Inside the block charts are drawn with ``pt`` type (labels, ticks, legend, titles): the phone
    variants, whose text must be legible (≥ 11 CSS px) at a phone's width."""
    token = _TEXT_PT.set(pt)
    try:
        with plt.rc_context({"font.size": pt, "legend.fontsize": pt, "axes.titlesize": pt + 1,
                             "xtick.labelsize": pt, "ytick.labelsize": pt, "axes.labelsize": pt}):
            yield
    finally:
        _TEXT_PT.reset(token)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_SVG_METADATA = {"Date": None, "Creator": None}  # no timestamp: the same chart, the same bytes

#: White space kept around a chart's drawn content, inches (matplotlib's ``savefig.pad_inches``).
CROP_PAD_IN = 0.1


#: Room added on every side of a figure before it is drawn, inches: tick labels, titles and
#: legends placed outside the axes then still fall on the figure (see :func:`_tight_view_box`).
FIT_MARGIN_IN = 2.0


def _add_margin(fig, margin_in: float) -> None:
    """Grow ``fig`` by ``margin_in`` on every side, keeping each axes' size and place in inches
    (only for figures whose artists all hang off axes: figure-level legends and texts would move)."""
    w, h = fig.get_size_inches()
    boxes = [ax.get_position() for ax in fig.axes]
    fig.set_size_inches(w + 2 * margin_in, h + 2 * margin_in)
    for ax, b in zip(fig.axes, boxes):
        ax.set_position(((b.x0 * w + margin_in) / (w + 2 * margin_in), (b.y0 * h + margin_in) / (h + 2 * margin_in),
                         b.width * w / (w + 2 * margin_in), b.height * h / (h + 2 * margin_in)))


def _draw_svg(fig, out: io.StringIO):
    """Draw ``fig`` as SVG into ``out`` — what ``savefig(format="svg")`` does (at 72 dpi, no
    metadata dates) — and return the renderer, whose text measurements :func:`_tight_view_box`
    then reuses instead of measuring every label again with another renderer."""
    from matplotlib.backends.backend_mixed import MixedModeRenderer
    from matplotlib.backends.backend_svg import RendererSVG

    width_in, height_in = fig.get_size_inches()
    fig.dpi = 72  # _RC's figure.dpi; SVG is drawn in points either way
    renderer = MixedModeRenderer(fig, width_in, height_in, 72,
                                 RendererSVG(width_in * 72, height_in * 72, out, image_dpi=72, metadata=_SVG_METADATA))
    fig.draw(renderer)
    renderer.finalize()
    return renderer


@contextmanager
def _measured_once():
    """Inside the block (one drawing of a figure and its crop, :func:`_to_svg`) matplotlib computes
    each axis's ticks and each text's layout once and reuses them. One drawing asks for both about
    five times — to draw, to place a title above the tick labels, an axis label beside them and its
    siblings', and again for :func:`_tight_view_box` — and the answers cannot change in between:
    the view limits and the axes' places are fixed before drawing starts and nothing in the block
    moves them (a layout step such as ``tight_layout`` happens before, outside it).

    - ticks (:meth:`matplotlib.axis.Axis._update_ticks`: locator, formatter, tick label texts and
      positions): once per axis;
    - text layouts (:meth:`matplotlib.text.Text._get_layout`: line sizes from the font, the
      rotated, aligned box relative to the anchor): once per distinct text and style — every input
      of the layout is in the key (string, font properties, rotation, alignments, line spacing,
      resolution), so two labels that read the same share one. Wrapped and TeX texts are not kept.

    About a seventh of the charts' CPU time (15 % fewer Python calls in the example's report
    context); the drawn bytes are the same (tests/test_chart_crop.py checks every example chart
    against a drawing without the block). Where a matplotlib release lacks either method, that
    part simply does not apply."""
    from matplotlib.axis import Axis
    from matplotlib.text import Text

    saved = {(cls, name): getattr(cls, name) for cls, name in ((Axis, "_update_ticks"), (Text, "_get_layout"))
             if callable(getattr(cls, name, None))}
    ticks: dict[int, tuple[Any, list]] = {}
    layouts: dict[tuple, Any] = {}
    update_ticks, get_layout = saved.get((Axis, "_update_ticks")), saved.get((Text, "_get_layout"))

    def update_ticks_once(axis):
        hit = ticks.get(id(axis))
        if hit is None or hit[0] is not axis:
            hit = ticks[id(axis)] = (axis, update_ticks(axis))
        return list(hit[1])

    def layout_once(text, renderer):
        if text.get_wrap() or text.get_usetex() or text.get_transform_rotates_text():
            return get_layout(text, renderer)
        prop = text.get_fontproperties()
        key = (id(renderer), text.get_text(), tuple(prop.__dict__.items()), text.get_parse_math(),
               text.get_rotation(), text.get_rotation_mode(), text.get_horizontalalignment(),
               text.get_verticalalignment(), text._get_multialignment(), text._linespacing,
               text.get_figure(root=True).dpi)
        hit = layouts.get(key)
        if hit is None:
            hit = layouts[key] = (renderer, get_layout(text, renderer))  # the renderer stays alive with its id
        bbox, lines, box = hit[1]
        return bbox.frozen(), list(lines), box

    patches = {(Axis, "_update_ticks"): update_ticks_once, (Text, "_get_layout"): layout_once}
    for (cls, name) in saved:
        setattr(cls, name, patches[(cls, name)])
    try:
        yield
    finally:
        for (cls, name), method in saved.items():
            setattr(cls, name, method)


def tight_layout(fig, **kwargs: Any) -> None:
    """``fig.tight_layout(**kwargs)``, measuring each axis's ticks and each text once
    (:func:`_measured_once`): the layout measures every axes in one pass and only then moves them."""
    with _measured_once():
        fig.tight_layout(**kwargs)


def _tight_view_box(fig, renderer) -> str | None:
    """The SVG viewBox (points, y down) of everything ``fig`` drew, padded by :data:`CROP_PAD_IN`:
    what ``savefig(bbox_inches="tight")`` crops to, without its second drawing of the whole
    figure (that option draws once to measure and again to write; the crop costs ~40 % of a
    chart). Called right after the figure was drawn, with the renderer that drew it, so tick
    positions and text layouts are already computed. None when something was drawn outside the figure: the SVG backend clips
    unfilled lines to the figure (a legend's line samples would vanish), so only a redraw with
    ``bbox_inches="tight"`` keeps them."""
    width_in, height_in = fig.get_size_inches()
    box = fig.get_tightbbox(renderer)
    if box.x0 < 0 or box.y0 < 0 or box.x1 > width_in or box.y1 > height_in:
        return None
    box = box.padded(CROP_PAD_IN)
    x0, y0, w, h = box.x0 * 72, (height_in - box.y1) * 72, box.width * 72, box.height * 72
    return f"{x0:.2f} {y0:.2f} {w:.2f} {h:.2f}"


# ---------------------------------------------------------------- label geometry (display coordinates)

def segment_hits_box(p0: tuple[float, float], p1: tuple[float, float], box) -> bool:
    """Whether the segment p0–p1 passes through the rectangle ``box`` (x0, y0, x1, y1 attributes;
    Liang–Barsky clipping)."""
    x0, y0 = p0
    dx, dy = p1[0] - x0, p1[1] - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - box.x0), (dx, box.x1 - x0), (-dy, y0 - box.y0), (dy, box.y1 - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo > hi:
            return False
    return True


def drawn_lines(ax) -> tuple[list[tuple[tuple[float, float], tuple[float, float]]], list]:
    """The axes' drawn lines in display coordinates: (segments, marker boxes). Lines of a curve,
    the SLO's and a capacity's rule (``axhline``/``axvline``) are segments; each marker is a box of
    its size. Grid lines are not (they are under everything, in a light grey)."""
    from matplotlib.transforms import Bbox

    segments, markers = [], []
    for line in ax.lines:
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        xy = xy[np.isfinite(xy).all(axis=1)]
        if line.get_linestyle() not in ("None", "none", "", " ") and line.get_linewidth() > 0:
            segments += [((float(a[0]), float(a[1])), (float(b[0]), float(b[1]))) for a, b in zip(xy, xy[1:])]
        if line.get_marker() not in (None, "None", "none", "", " "):
            r = line.get_markersize() / 2 * line.figure.dpi / 72
            markers += [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in xy]
    return segments, markers


def box_hits_lines(box, segments, markers) -> bool:
    """Whether a label's ``box`` touches a drawn segment or marker."""
    return any(box.overlaps(m) for m in markers) or any(segment_hits_box(a, b, box) for a, b in segments)


#: A tick label of a numeric scale ("0", "−15%", "$4k", "1.5 s"), not a category's name ("TTFT p50").
_NUMERIC_TICK = re.compile(r"^[\u2212+\-]?\$?\d")


def label_collisions(fig) -> list[str]:
    """Every label of ``fig`` (an axes' texts and annotations) whose box meets another label's or a
    drawn line or marker of its axes (:func:`drawn_lines`), as "'text' on …" lines. Labels on a patch
    of their own (a value printed on its bar, a patch hiding the limit's line under it) are made to
    sit on what they cover and are left out; so are empty texts. Call after the figure was drawn."""
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()
    found: list[str] = []
    legends = [lg for ax in fig.axes for lg in [ax.get_legend()] if lg is not None] + list(fig.legends)
    legend_boxes = [lg.get_window_extent(renderer) for lg in legends if lg.get_visible()]
    for ax in fig.axes:
        labels = [t for t in ax.texts if t.get_visible() and t.get_text().strip() and t.get_bbox_patch() is None]
        boxes = [(t.get_text(), t.get_window_extent(renderer).shrunk(0.96, 0.8)) for t in labels]
        segments, markers = drawn_lines(ax)
        for k, (text, box) in enumerate(boxes):
            if box_hits_lines(box, segments, markers):
                found.append(f"{text!r} on a drawn line or marker")
            found += [f"{text!r} on {other!r}" for other, b in boxes[k + 1:] if box.overlaps(b)]
        # a legend on a curve: where the legend's box meets the plot (lines are clipped to it)
        for lg_box in legend_boxes:
            inside = Bbox.intersection(lg_box.shrunk(0.96, 0.9), ax.bbox)
            if inside is not None and inside.width > 0 and inside.height > 0 and box_hits_lines(inside, segments, markers):
                found.append("the legend on a drawn line or marker")
        # tick labels: never on each other, and a numeric scale keeps at least two of them
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            ticks = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text().strip()]
            lo, hi = sorted(axis.get_view_interval())
            shown = [t for t, v in zip(axis.get_ticklabels(), axis.get_ticklocs()) if t in ticks
                     and lo - 1e-9 * max(1.0, abs(lo)) <= v <= hi + 1e-9 * max(1.0, abs(hi))]
            if len(shown) == 1 and _NUMERIC_TICK.match(shown[0].get_text()):  # a scale, not a category's name
                found.append(f"the {name} axis shows a single tick ({shown[0].get_text()!r})")
            tboxes = [(t.get_text(), t.get_window_extent(renderer)) for t in shown]
            found += [f"tick {a!r} on tick {b!r}" for k, (a, ba) in enumerate(tboxes) for b, bb in tboxes[k + 1:]
                      if ba.overlaps(bb)]
    return found


#: When a list (tests), every chart drawn appends its label collisions here: (chart title, findings).
COLLISION_LOG: ContextVar[list | None] = ContextVar("casegen_collision_log", default=None)


def _to_svg(fig, title: str, desc: str, variant: str = "wide") -> Chart:
    """The figure as an inline ``<svg>`` with an accessible name (``<title>``) and a text
    alternative stating the chart's point (``<desc>``), both referenced by ``aria-labelledby``."""
    if not fig.legends and not fig.texts and fig.get_layout_engine() is None:
        _add_margin(fig, FIT_MARGIN_IN)
    buf = io.StringIO()
    with _measured_once():
        renderer = _draw_svg(fig, buf)
        view_box = _tight_view_box(fig, renderer)
    log = COLLISION_LOG.get()
    if log is not None:
        log.append((f"{title} ({variant})", label_collisions(fig)))
    if view_box is None:  # content outside the figure: let matplotlib move it in (draws twice)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata=_SVG_METADATA, bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):].rstrip()  # drop XML prolog and doctype for inline use, and the final newline
    # a responsive size: drop the fixed width/height; the viewBox crops to the drawn content
    boxes: list[str] = []

    def sized(m: re.Match) -> str:
        boxes.append(view_box or m.group(2))
        return f'<svg{m.group(1)} viewBox="{boxes[0]}" class="chart" preserveAspectRatio="xMidYMid meet"'

    svg = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+" viewBox="([^"]+)"', sized, svg, count=1)
    width_pt = float(boxes[0].split()[2]) if boxes else None
    svg = _NO_ROTATION.sub("", svg)
    uid = "chart-" + hashlib.sha256(f"{variant}\n{title}\n{desc}".encode()).hexdigest()[:10]
    svg = _scoped_ids(svg, uid)
    head_end = svg.index(">") + 1
    return Chart(svg[:head_end - 1] + f' role="img" aria-labelledby="{uid}-t {uid}-d">'
                 + f'<title id="{uid}-t">{_xml_text(title)}</title><desc id="{uid}-d">{_xml_text(desc)}</desc>'
                 + svg[head_end:], name=title, description=desc, width_pt=width_pt)


def _scoped_ids(svg: str, uid: str) -> str:
    """``svg`` with ids unique in the report: matplotlib names its groups ``figure_1``,
    ``axes_1``, ``patch_1``… in every chart (eight charts, 140 repeated ids in one HTML page);
    those nothing refers to are dropped, and the ones referred to (clip paths, markers) get the
    chart's own prefix, with their references (:func:`casegen.render.idrefs.prefix_ids`)."""
    referenced = referenced_ids(svg)
    svg = re.sub(r'\sid="([^"]+)"', lambda m: m.group(0) if m.group(1) in referenced else "", svg)
    return prefix_ids(_without_bare_groups(svg), uid)


#: matplotlib's rotation of an upright text (``rotate(-0 x y)``, a no-op every renderer still parses)
_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [-\d.e]+ [-\d.e]+\)"')
_GROUP_TAG = re.compile(r"(?=[\n \t<])\n?[ \t]*(?:(<g>)|<g\b[^>]*>|(</g>))")  # look-ahead: skips to candidates


def _without_bare_groups(svg: str) -> str:
    """``svg`` without the ``<g>`` groups that carry no attribute (matplotlib wraps every artist in
    one, named by an id nothing refers to, which :func:`_scoped_ids` drops): such a group changes
    nothing drawn, its children take its place. Two of three elements of a chart were such groups;
    each costs the PDF renderer a node to cascade and draw (about a fifth of its time in charts)
    and the page's HTML parser an element. Groups with attributes (clip paths, transforms,
    styles) stay, and so does every child's order."""
    out: list[str] = []
    bare: list[bool] = []  # per open <g>, innermost last: was it bare?
    pos = 0
    for m in _GROUP_TAG.finditer(svg):
        if m.group(1):  # <g>
            bare.append(True)
        elif m.group(2):  # </g>
            if not bare:  # not matplotlib's nesting: leave the markup as it is
                return svg
            if not bare.pop():
                continue
        else:  # <g attr="…">, or an empty <g …/>
            if not m.group(0).endswith("/>"):
                bare.append(False)
            continue
        out.append(svg[pos:m.start()])
        pos = m.end()
    out.append(svg[pos:])
    return "".join(out)


#: The medium charts are embedded for: "screen" (inline SVG, with the phone variant) or "print"
#: (WeasyPrint: the wide variant as an image). Set with :func:`chart_medium` around a template render.
_MEDIUM: ContextVar[str] = ContextVar("casegen_chart_medium", default="screen")
MEDIA = ("screen", "print")


@contextmanager
def chart_medium(medium: str) -> Iterator[None]:
    """Charts printed inside the block embed themselves for ``medium`` (one of :data:`MEDIA`)."""
    if medium not in MEDIA:
        raise ValueError(f"unknown medium {medium!r}")
    token = _MEDIUM.set(medium)
    try:
        yield
    finally:
        _MEDIUM.reset(token)


class Chart(str):
    """A drawn chart as a value: its accessible name (``name``, the SVG's ``<title>``), its text
    alternative (``description``, the SVG's ``<desc>``), the ``wide`` rendering (screens and print),
    an optional ``narrow`` one (stacked panels, larger type, for phones) and the wide rendering's
    drawn width in points (``width_pt``). Each renderer embeds it its own way: printed into a
    template (``__html__``) it is, on screen, both variants inline (CSS shows one: ``.desk-only`` /
    ``.phone-only``) and, for print (:func:`chart_medium`), the wide variant as an ``<img>`` with a
    data URL (:meth:`print_markup`); Markdown writes ``wide`` to a file with ``alt`` as its alt
    text. As a string it is the screen markup, and it is never escaped."""

    name: str
    description: str
    wide: str
    narrow: str | None
    width_pt: float | None

    def __new__(cls, wide: str, narrow: str | None = None, *, name: str, description: str,
                width_pt: float | None = None) -> Chart:
        markup = wide if narrow is None else (f'<div class="chart-variants"><div class="desk-only">{wide}</div>'
                                              f'<div class="phone-only">{narrow}</div></div>')
        chart = super().__new__(cls, markup)
        chart.name, chart.description, chart.wide, chart.narrow = name, description, wide, narrow
        chart.width_pt = width_pt
        return chart

    def __html__(self) -> str:
        return self.print_markup() if _MEDIUM.get() == "print" else str.__str__(self)

    def print_markup(self) -> str:
        """The wide variant as an ``<img class="chart">`` carrying the SVG as a data URL, its text
        alternative as ``alt``, never wider than drawn (its 9 pt type is not blown up).

        For WeasyPrint: an inline SVG's every element goes through the HTML style cascade and the
        HTML parser before the SVG renderer sees it; as an image it goes straight to the SVG
        renderer, which draws it the same. That spares about a tenth of the PDF's CPU time, and the
        tagged PDF takes the chart's full description as the figure's alternate text. The phone
        variant is not printed (print CSS hides it anyway)."""
        svg = self.wide
        if "xmlns=" not in svg[: svg.index(">")]:
            svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        size = f' style="max-width: {self.width_pt:.0f}pt"' if self.width_pt else ""
        return (f'<img class="chart"{size} alt="{html_escape(self.alt, quote=True)}" '
                f'src="data:image/svg+xml;base64,{data}">')

    @property
    def alt(self) -> str:
        """Name and text alternative as one plain sentence."""
        return ": ".join(p for p in (self.name.strip(), self.description.strip()) if p)


def responsive(wide: Chart, narrow: Chart) -> Chart:
    """Two variants of one chart: ``wide`` for screens and print, ``narrow`` for phones."""
    return Chart(wide.wide, narrow.wide, name=wide.name, description=wide.description, width_pt=wide.width_pt)


def svg_file(chart: Chart) -> str:
    """The wide ``<svg>`` of a chart, for writing as a standalone .svg file."""
    return chart.wide


def alt_text(chart: Chart | None) -> str:
    """The chart's accessible name and text alternative, as one plain sentence (Markdown alt text);
    "" without a chart."""
    return chart.alt if isinstance(chart, Chart) else ""


class _UnitFormatter(Formatter):
    """One unit for every tick of an axis: all in ms, or all in s once a tick reaches 1 s, with the
    same number of decimals on every tick ("0.8 s, 1.6 s", never "800 ms, 1.6 s"); on a log axis
    each tick with its own fewest decimals ("0.05 s, 0.1 s, 1 s"). Numbers via casegen.formatting."""

    def __init__(self, log: bool = False, unit: str | None = "ms") -> None:
        self.scale, self.unit, self.log, self.base_unit = 1.0, unit or "", log, unit
        self.labels: dict[float, str] = {}

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        lo, hi = self.axis.get_view_interval() if self.axis is not None else (min(locs), max(locs))
        shown = [v for v in locs if min(lo, hi) - 1e-9 <= v <= max(lo, hi) + 1e-9] or list(locs)
        top = max((abs(v) for v in shown), default=0.0)
        if self.base_unit == "ms":
            self.scale, self.unit = (1000.0, "s") if top >= 1000 else (1.0, "ms")
        texts = fmt_ticks([v / self.scale for v in shown], per_tick=self.log)
        self.labels = dict(zip(shown, texts))

    def __call__(self, x: float, pos=None) -> str:
        if x == 0:
            return "0"
        text = self.labels.get(x) or fmt_ticks([x / self.scale], per_tick=True)[0]
        return f"{text}\u00a0{self.unit}" if self.unit else text


def plain_axis(axis, log: bool = False) -> None:
    """Unitless numbers on ``axis`` (the unit is in the axis label), formatted like the tables."""
    axis.set_major_formatter(_UnitFormatter(log=log, unit=None))


def _ms_axis(axis, log: bool = False) -> None:
    """Millisecond values on ``axis`` labelled in one unit; log axes get 1-2-5 ticks."""
    if log:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(_UnitFormatter(log=log))


def _ms(x: float, _pos=None) -> str:
    if x >= 1000:
        return f"{x / 1000:g}\u00a0s"
    return f"{x:g}\u00a0ms"


def _label_ms(v: float) -> str:
    """A latency on a chart as in the tables (three significant figures): 72.0 ms, 107 ms, 2.63 s."""
    return fmt_ms(v).replace(" ", "\u00a0")


def _pct_text(pct: float, digits: int | None = None) -> str:
    """A change as a chart labels it: whole percent ("−22%", as on the cards), a change under 1% with a
    decimal ("−0.1%", never a bare "0%"); ``digits`` (from :func:`pct_digits`) sets the decimals of
    every label of one chart alike."""
    if digits is None:
        digits = 1 if abs(pct) < 0.95 else 0
    return fmt_pct(pct, digits=digits)


def pct_digits(values: Sequence[float | None]) -> int:
    """Decimals for every percentage label of one chart: none ("−22%", "+7%") unless a non-zero change
    would print as "0%" without one, then one for all ("−1.0%" beside "+0.7%", never "−1%" beside
    "+0.7%")."""
    shown = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    return 1 if any(v < 0.95 for v in shown) else 0


class PctTicks(Formatter):
    """Percent ticks of a change axis in one format: the fewest decimals that show every tick, a sign
    on every non-zero tick, "0%" at no change ("−20%, −10%, 0%, +10%"; never "−10%" beside "0.0%")."""

    def __init__(self) -> None:
        self.labels: dict[float, str] = {}

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        texts = fmt_ticks([abs(v) for v in locs])
        self.labels = {v: ("0" if v == 0 else ("+" if v > 0 else "\u2212") + t) + "%" for v, t in zip(locs, texts)}

    def __call__(self, x: float, pos=None) -> str:
        return self.labels.get(x) or _pct_text(x)


#: Cells per axis when thinning a curve: finer than any pixel of a chart (a 4.6-inch-wide chart
#: printed at 300 dpi is 1,380 pixels), so the drawn curve is the same to the pixel.
CURVE_CELLS = 2048


def ecdf_points(sorted_x: np.ndarray, cells: int = CURVE_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the empirical CDF of ``sorted_x`` (ascending), thinned to at most ~4·cells.

    Vertex i is (x_(i), (i+1)/n). The plot area is cut into ``cells`` × ``cells`` cells (x over
    the data's range, y over 0–1); of each run of consecutive vertices in the same cell only the
    first and last are kept, so the step line leaves and enters every cell exactly where the full
    one does and differs from it only inside a cell. Both ends and every vertex in a sparse tail
    survive. The chart's size (and the HTML's) no longer grows with n; n ≤ 2·cells is drawn whole.
    """
    n = sorted_x.size
    y = np.arange(1, n + 1) / n
    if n <= 2 * cells:
        return sorted_x, y
    span = sorted_x[-1] - sorted_x[0]
    bx = np.floor((sorted_x - sorted_x[0]) / span * cells) if span > 0 else np.zeros(n)
    by = np.floor(y * cells)
    new_cell = np.empty(n, dtype=bool)
    new_cell[0] = True
    new_cell[1:] = (bx[1:] != bx[:-1]) | (by[1:] != by[:-1])
    last_in_cell = np.empty(n, dtype=bool)
    last_in_cell[-1] = True
    last_in_cell[:-1] = new_cell[1:]
    keep = new_cell | last_in_cell
    return sorted_x[keep], y[keep]


@memoized
def cdf_chart(title: str, base: np.ndarray, opt: np.ndarray, base_label: str, opt_label: str,
              percentiles: Sequence[float] = (50, 99), objectives: Sequence[tuple[float, float]] = ()) -> Chart:
    """Empirical CDFs of one latency metric (ms), baseline vs optimized.

    ``objectives``: (percentile, limit ms) of the case's SLOs on this metric. With objectives the
    chart marks their percentiles (not ``percentiles``) and each limit as a dashed red rule: an
    objective is met where the curve crosses its percentile's line left of its limit — what the SLO
    table judges."""
    base = np.sort(np.asarray(base, dtype=float))
    opt = np.sort(np.asarray(opt, dtype=float))
    if objectives:
        percentiles = tuple(dict.fromkeys(p for p, _ in objectives))
    with plt.rc_context(rc()):
        fig, ax = plt.subplots(figsize=(3.45, 2.6))  # at most ~296 pt wide with labels: ≥ 11 px on a phone
        for x, label, color, ls in ((base, base_label, C.base, "--"), (opt, opt_label, C.opt, "-")):
            if x.size == 0:
                continue
            xs, ys = ecdf_points(x)
            ax.step(xs, ys * 100, where="post", color=color, lw=2,
                    label=legend_text(f"{label} (n\u00a0=\u00a0{x.size:,})"), linestyle=ls)
        for p in percentiles:  # reference lines, labelled outside the plot so no label sits on a curve
            ax.axhline(p, color=GRID, lw=1, zorder=0)
            ax.text(1.01, p, f"p{p:g}", transform=ax.get_yaxis_transform(), ha="left", va="center",
                    color=C.muted, fontsize=text_pt(), clip_on=False)
        limits = list(dict.fromkeys(t for _, t in objectives))
        for limit in limits:
            ax.axvline(limit, color=C.worse, lw=1.3, ls="--", zorder=1)
        ax.set_ylim(0, 101)
        lo_x, hi_x = ax.get_xlim()
        for k, limit in enumerate(limits):
            # at the foot of its rule, on the side away from the curves' rise: below a CDF's curve
            # right of its lowest values there is only white
            right = limit < lo_x + 0.7 * (hi_x - lo_x)
            ax.annotate("SLO " + fmt_ms_limit(limit).replace(" ", "\u00a0"), (limit, 0.0),
                        xycoords=("data", "axes fraction"), xytext=(4 if right else -4, 4 + 12 * k),
                        textcoords="offset points", ha="left" if right else "right", va="bottom", fontsize=text_pt(),
                        color=C.worse, fontweight="bold")
        ax.set_ylabel("requests at or below (%)")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        _ms_axis(ax.xaxis)
        ax.set_title(title)
        # below the axis, not on it: a curve may pass anywhere inside the plot
        # one column when a side's label is long: two would widen the figure past its axes and shrink it
        # (short samples and tight spacing: two entries stay within ~296 pt, legible on a phone)
        long = max(len(base_label), len(opt_label)) > 16
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1 if long else 2, handlelength=1.4,
                  columnspacing=0.8, handletextpad=0.5)
        parts = []
        pairs = [(float(np.percentile(base, p)), float(np.percentile(opt, p))) for p in percentiles] \
            if base.size and opt.size else []
        d = pct_digits([(o - b) / b * 100 for b, o in pairs if b])
        for p in percentiles:
            if base.size and opt.size:
                b, o = float(np.percentile(base, p)), float(np.percentile(opt, p))
                parts.append(f"p{p:g} {_label_ms(b)} \u2192 {_label_ms(o)}" + (f" ({_pct_text((o - b) / b * 100, d)})" if b else ""))
        said_limits = "; ".join(f"objective p{p:g} \u2264 {fmt_ms_limit(t)}" for p, t in objectives)
        desc = (f"Cumulative distribution of {title[:1].lower() + title[1:]} per request, {base_label} (dashed) and "
                f"{opt_label} (solid); a curve further left is faster. " + "; ".join(parts) + "."
                + (f" Dashed red: {said_limits}." if said_limits else ""))
        return _to_svg(fig, f"{title}: cumulative distribution, {base_label} vs {opt_label}", desc)


def _ladder_changes(rows: list[dict]) -> list[float]:
    """Every change (%) a percentile chart labels, in drawing order."""
    out = []
    for row in rows:
        for bv, ov in zip(row["base"], row["opt"]):
            if bv and ov is not None and math.isfinite(bv) and math.isfinite(ov) and bv > 0:
                out.append((ov - bv) / bv * 100)
    return out


def _ladder_figure(rows: list[dict], base_label: str, opt_label: str, stacked: bool, compact: bool = False):
    n = len(rows)
    if stacked:
        fig, axes = plt.subplots(n, 1, figsize=(4.2, 1.25 * n + 0.12 if compact else 1.75 * n + 0.55), squeeze=False)
        panels = axes[:, 0]
    else:
        fig, axes = plt.subplots(1, n, figsize=(2.45 * n + 0.3, 1.7 if compact else 2.35), squeeze=False)
        panels = axes[0]
    d = pct_digits(_ladder_changes(rows))  # one format for every label of the chart
    for ax, row in zip(panels, rows):
        stats = row["stats"]
        y = np.arange(len(stats))
        h = 0.38
        b = np.array(row["base"], dtype=float)
        o = np.array(row["opt"], dtype=float)
        ax.barh(y - h / 2, b, height=h, color=C.base, label=base_label)  # axis is inverted:
        ax.barh(y + h / 2, o, height=h, color=C.opt, label=opt_label)   # baseline on top
        xmax = np.nanmax(np.concatenate([b, o])) if len(b) else 1
        marks = row.get("marks") or [None] * len(stats)
        for yi, bv, ov, mark in zip(y, b, o, marks):
            if math.isfinite(bv) and math.isfinite(ov) and bv > 0:
                pct = (ov - bv) / bv * 100
                # the colour is the finding's verdict (casegen.story): only a significant change is coloured
                verdict, suffix = mark if mark is not None else ("na", "")
                color = {"better": C.better, "worse": C.worse}.get(verdict, C.muted)
                ax.text(max(bv, ov) + xmax * 0.03, yi, _pct_text(pct, d) + suffix, va="center", fontsize=text_pt(),
                        color=color, fontweight="bold")
        ax.set_yticks(y, stats)
        ax.invert_yaxis()
        ax.set_xlim(0, xmax * 1.32)
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if stacked else 3, min_n_ticks=2))
        _ms_axis(ax.xaxis)
        ax.tick_params(axis="x", labelsize=text_pt())
        ax.set_title(row["label"])
    if not compact:  # the compact chart sits under the one-pager's own before/after key
        handles, labels = panels[0].get_legend_handles_labels()
        # stacked (phones, larger type): one entry a row, so two long side labels never run off the figure
        fig.legend(handles, labels, loc="lower center", ncol=1 if stacked else 2, bbox_to_anchor=(0.5, 0.0))
    _place_panels(fig, n, stacked, compact)
    return fig


#: Ladder margins in inches, (left, right, bottom, top, gap between panels), side by side and
#: stacked: what ``tight_layout`` chose for these fixed labels (p50…p99, unit ticks, one-line
#: titles), set directly because measuring them cost a third of the chart.
_LADDER_MARGINS_IN = {False: (0.48, 0.2, 0.61, 0.33, 0.55), True: (0.6, 0.45, 1.05, 0.36, 0.6)}
#: Bottom margin without the legend row (the compact ladder has no legend): the tick labels only.
_NO_LEGEND_BOTTOM_IN = 0.35


def _place_panels(fig, n: int, stacked: bool, compact: bool = False) -> None:
    left, right, bottom, top, gap = _LADDER_MARGINS_IN[stacked]
    if compact:
        bottom = _NO_LEGEND_BOTTOM_IN
    w, h = fig.get_size_inches()
    if stacked:
        panel = (h - bottom - top - (n - 1) * gap) / n
        fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h, hspace=gap / panel)
    else:
        panel = (w - left - right - (n - 1) * gap) / n
        fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h, wspace=gap / panel)


@memoized
def ladder_chart(rows: list[dict], base_label: str, opt_label: str, compact: bool = False) -> Chart:
    """Percentile ladder: one panel per metric, p50/p90/p95/p99 bars with Δ% labels; side by side on
    wide screens and in print, stacked on phones (see :func:`responsive`).

    ``rows``: ``[{"label": "TTFT", "stats": ["p50", ...], "base": [...ms], "opt": [...ms]}]``.
    ``compact``: p50 and p99 only, in shorter panels and without a legend (the one-page layout,
    whose headline shows the before/after key, and where the chart must fit at full width so its
    type prints at 8 pt or more).
    """
    if compact:
        rows = [{"label": r["label"], **{k: [v for st, v in zip(r["stats"], r[k]) if st in ("p50", "p99")]
                                         for k in ("base", "opt")},
                 "stats": [st for st in r["stats"] if st in ("p50", "p99")]} for r in rows]
        rows = [r for r in rows if r["stats"]]
    title = f"Latency percentiles, {base_label} vs {opt_label}"
    parts = []
    d = pct_digits(_ladder_changes(rows))
    for row in rows:
        items = []
        for st, bv, ov in zip(row["stats"], row["base"], row["opt"]):
            if bv and ov is not None and math.isfinite(bv) and math.isfinite(ov):
                items.append(f"{st} {_label_ms(bv)} \u2192 {_label_ms(ov)} ({_pct_text((ov - bv) / bv * 100, d)})")
        parts.append(f"{row['label']}: " + ", ".join(items))
    desc = "; ".join(parts) + "."
    with plt.rc_context(rc()):
        wide = _to_svg(_ladder_figure(rows, base_label, opt_label, stacked=False, compact=compact), title, desc,
                       "compact" if compact else "wide")
        with narrow_text():
            narrow = _to_svg(_ladder_figure(rows, base_label, opt_label, stacked=True, compact=compact), title, desc,
                             "compact-narrow" if compact else "narrow")
    return responsive(wide, narrow)


def _split_figure(sides: list[tuple[str, float, float]], narrow: bool):
    fig, ax = plt.subplots(figsize=(3.4, 1.5 + 0.7 * len(sides)) if narrow else (8.0, 0.45 + 0.5 * len(sides)))
    labels = [s[0] for s in sides]
    ttft = np.array([s[1] for s in sides])
    dec = np.array([s[2] for s in sides])
    y = np.arange(len(sides))
    prefill, decode = C.prefill, C.decode
    ax.barh(y, ttft, color=prefill, height=0.5, label="before first token (queue + prefill)")
    ax.barh(y, dec, left=ttft, color=decode, height=0.5, label="decode (first \u2192 last token)")
    total = ttft + dec
    for yi, t, d in zip(y, ttft, dec):
        share = t / (t + d) * 100 if t + d > 0 else 0
        ax.text(t + d + total.max() * 0.015, float(yi), _label_ms(t + d), va="center", fontsize=text_pt(), color=C.ink,
                fontweight="bold")
        # the share before the first token is often a sliver: name it above the bar, with a tick to its end
        ax.annotate(f"{_label_ms(t)} before the first token{chr(10) if narrow else ' '}({fmt_pct(share, signed=False)})",
                    xy=(t, yi - 0.25), xytext=(0, yi - 0.33), textcoords="data", fontsize=text_pt(), color=C.prefill_text,
                    fontweight="bold", va="bottom", ha="left",
                    arrowprops={"arrowstyle": "-", "color": prefill, "lw": 1, "shrinkA": 0, "shrinkB": 0})
    ax.set_yticks(y, [legend_text(lab, 12) for lab in labels] if narrow else labels)
    ax.set_ylim(len(sides) - 0.5, -1.0 if narrow else -0.85)
    ax.set_xlim(0, total.max() * (1.3 if narrow else 1.15))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if narrow else 6))
    ax.grid(axis="y", visible=False)
    _ms_axis(ax.xaxis)
    ax.set_title("Mean end-to-end time per request")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 if narrow else -0.22), ncol=1 if narrow else 2)
    return fig


@memoized
def split_chart(sides: list[tuple[str, float, float]]) -> Chart:
    """Where the time goes: stacked bars of mean TTFT and mean decode time (ms) per side."""
    parts = []
    for label, t, d in sides:
        share = t / (t + d) * 100 if t + d > 0 else 0
        parts.append(f"{label}: {_label_ms(t + d)} end to end, of which {_label_ms(t)} ({fmt_pct(share, signed=False)}) before "
                     f"the first token and {_label_ms(d)} decoding")
    title = "Mean end-to-end time per request, split at the first token"
    desc = "; ".join(parts) + "."
    with plt.rc_context(rc()):
        wide = _to_svg(_split_figure(sides, narrow=False), title, desc)
        with narrow_text():
            narrow = _to_svg(_split_figure(sides, narrow=True), title, desc, "narrow")
    return responsive(wide, narrow)


def legend_text(text: str, width: int = 34) -> str:
    """A legend entry wrapped onto lines of at most ``width`` characters: a long side label ("BF16
    checkpoint, vLLM 0.6.3 default scheduler (1 worker)") must not widen its chart, which would then
    print smaller than its neighbours."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)) or text


def _usd_axis(v: float, _p=None) -> str:
    """Dollar ticks in one style: $0, $800, $3k, $12k, $1.5M (as the tables write money)."""
    a = abs(v)
    if a >= 1e6:
        text = f"${fmt_ticks([a / 1e6], per_tick=True)[0]}M"
    elif a >= 1e3:
        text = f"${fmt_ticks([a / 1e3], per_tick=True)[0]}k"
    else:
        text = f"${a:,.0f}"
    return ("\u2212" + text) if v < 0 else text


class UsdTicks(Formatter):
    """Dollar ticks of one axis in one style: one scale for all (k from $1,000, M from $1,000,000, by
    the largest tick) and the same decimals on every tick ("$0, $1.5k, $3.0k, $4.5k"; never "$1.5k"
    beside "$3k", nor "$9,000" beside "$12k")."""

    def __init__(self) -> None:
        self.labels: dict[float, str] = {}

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        lo, hi = sorted(self.axis.get_view_interval()) if self.axis is not None else (min(locs), max(locs))
        shown = [v for v in locs if lo - 1e-9 * max(1.0, abs(lo)) <= v <= hi + 1e-9 * max(1.0, abs(hi))] or list(locs)
        top = max((abs(v) for v in shown), default=0.0)
        scale, suffix = (1e6, "M") if top >= 1e6 else (1e3, "k") if top >= 1e3 else (1.0, "")
        texts = fmt_ticks([abs(v) / scale for v in shown])
        self.labels = {v: "$0" if v == 0 else ("\u2212" if v < 0 else "") + f"${t}{suffix}" for v, t in zip(shown, texts)}

    def __call__(self, x: float, pos=None) -> str:
        return self.labels.get(x) or _usd_axis(x)


def _payback_figure(savings_per_month: float, one_time: float, horizon: int, payback_months: float | None,
                    narrow: bool, bound: str = "point", estimate_per_month: float | None = None):
    fig, ax = plt.subplots(figsize=(4.4, 3.9) if narrow else (8.0, 2.2))
    months = np.arange(0, horizon + 1)
    cum = savings_per_month * months
    ax.plot(months, cum, color=C.opt, lw=2.2,
            label="cumulative savings" + (f" ({'lower' if bound == 'at_least' else 'upper'} bound)"
                                          if estimate_per_month is not None else ""))
    if estimate_per_month is not None:  # the saving at the estimates beside the bound (what the waterfall adds up)
        est = estimate_per_month * months
        ax.plot(months, est, color=C.opt, lw=1.4, ls=":", label="at the estimates")
    ax.fill_between(months, cum, one_time, where=cum >= one_time, color=C.better, alpha=0.10, interpolate=True)
    if one_time > 0:  # no one-time cost: nothing to pay back, no line at $0 and no "break-even at 0.0 months"
        ax.axhline(one_time, color=C.worse, lw=1.4, ls="--", label=f"one-time cost ${one_time:,.0f}")
        if payback_months is not None and payback_months <= horizon:
            # named in the legend, not beside the point: there it would sit on the axis's ticks or the line
            ax.plot([payback_months], [one_time], "o", color=C.better, ms=6, zorder=5, ls="none",
                    label=f"break-even at {payback_months:.1f} months")
    ax.set_xlim(0, horizon)
    lo = min(0.0, float(cum.min()))
    top = max(float(cum.max()), (estimate_per_month or 0.0) * horizon)
    hi = max(top, one_time) * 1.12 or 1.0
    ax.set_ylim(lo, hi)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4 if narrow else 6, steps=[1, 2, 5, 10]))  # $2k steps, not $1.5k
    ax.yaxis.set_major_formatter(UsdTicks())
    ax.set_xlabel("months after rollout")
    ax.set_title("Cumulative savings vs one-time cost" if one_time > 0 else "Cumulative savings")
    if narrow:  # below the plot: at a phone's type the legend spans most of the plot's width, where the lines rise
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
    else:
        ax.legend(loc="upper left")
    return fig


@memoized
def payback_chart(savings_per_month: float, one_time: float, horizon: int, payback_months: float | None,
                  bound: str = "point", estimate_per_month: float | None = None) -> Chart:
    """Cumulative savings over the horizon against the one-time cost, with break-even. ``bound``: how the
    saving is known (a saving that is a lower bound is drawn at that bound and said so);
    ``estimate_per_month``: the saving at the interpolated capacities' estimates beside that bound
    (a dotted line)."""
    title = "Cumulative savings vs one-time cost" if one_time > 0 else "Cumulative savings"
    total = savings_per_month * horizon
    q = {"at_least": "at least ", "at_most": "at most "}.get(bound, "")
    if one_time <= 0:
        point = "nothing to pay back"
    elif payback_months is not None and payback_months <= horizon:
        months = fmt_months_bound(payback_months, opposite_bound(bound))
        point = f"break-even after {'at most ' if bound == 'at_least' else ''}{months} months"
    elif bound == "at_least":
        point = f"at this lower bound, no break-even within {horizon} months"
    else:
        point = f"no break-even within {horizon} months"
    def usd(v: float) -> str:  # a bound rounded the way that keeps it true; cents below $100
        return fmt_usd_money(v, bound)

    est = (f" (estimate {usd(estimate_per_month)} a month, {usd(estimate_per_month * horizon)} over {horizon} months)"
           if estimate_per_month is not None else "")

    desc = (f"Savings of {q}{usd(savings_per_month)} a month{est} add up to {q}{usd(total)} over {horizon} months "
            f"against a one-time cost of ${one_time:,.0f}: {point}.")
    with plt.rc_context(rc()):
        wide = _to_svg(_payback_figure(savings_per_month, one_time, horizon, payback_months, False, bound,
                                       estimate_per_month), title, desc)
        with narrow_text():
            narrow = _to_svg(_payback_figure(savings_per_month, one_time, horizon, payback_months, True, bound,
                                             estimate_per_month), title, desc, "narrow")
    return responsive(wide, narrow)


#: room (in) the wide SLO chart keeps right of its change panel for the changes' figures
CHANGE_TEXT_IN = 1.8


def change_digits(rows: list[dict]) -> int:
    """Decimals of every change figure of one SLO chart (changes and interval ends alike)."""
    values: list[float | None] = []
    for r in rows:
        ch = r.get("change") or {}
        values += [ch.get("pct"), *(ch.get("ci") or ())]
    return pct_digits(values)


def has_change_panel(rows: list[dict]) -> bool:
    """A change panel is drawn when some objective's change has an interval (``change.ci``): the
    interval a card states, which exists even where each side's own interval is withheld."""
    return any((r.get("change") or {}).get("ci") is not None for r in rows)


def _change_panel(ax, rows: list[dict], confidence: float, inside: bool = False) -> None:
    """Each objective's relative change (dot) with its interval (whisker), against no change (0); the
    figures are written to the right of the panel, in room the figure keeps for them (:func:`_slo_figure`),
    or ``inside`` (the phone's stacked panels, where text past the panel would shrink every panel)
    above each row's dot, so the axis keeps the panel's whole width and all its ticks."""
    n = len(rows)
    drawn = []
    d = change_digits(rows)
    for i, r in enumerate(rows):
        ch = r.get("change") or {}
        pct, ci = ch.get("pct"), ch.get("ci")
        if pct is None:
            continue
        colour = (C.better if ch.get("verdict") == "better" else C.worse if ch.get("verdict") == "worse"
                  else C.muted) if ch.get("significant") else C.muted
        text = (f"{_pct_text(pct, d)} ({_pct_text(ci[0], d)} to {_pct_text(ci[1], d)})" if ci is not None
                else f"{_pct_text(pct, d)}, no interval")
        drawn.append((n - 1 - i, pct, ci, colour, text))
    values = [0.0] + [v for _y, pct, ci, _c, _t in drawn for v in (pct, *(ci or ()))]
    lo, hi = min(values), max(values)
    span = max(hi - lo, 10.0)
    for y, pct, ci, colour, text in drawn:
        if ci is not None:
            ax.errorbar([pct], [y], xerr=[[pct - ci[0]], [ci[1] - pct]], fmt="none", ecolor=colour, elinewidth=1.6,
                        capsize=4, zorder=4)
        ax.plot([pct], [y], "o", color=colour, ms=6, zorder=5)
        if inside:  # above its row, from the panel's left edge
            ax.annotate(text, (0.0, y + 0.45), xycoords=("axes fraction", "data"), xytext=(2, 0),
                        textcoords="offset points", ha="left", va="center", fontsize=text_pt(), color=C.ink, zorder=6)
        else:
            ax.annotate(text, (1.0, y), xycoords=("axes fraction", "data"), xytext=(6, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=text_pt(), color=C.ink, zorder=6)
    ax.set_xlim(lo - 0.1 * span, hi + 0.1 * span)
    ax.axvline(0, color=C.ink, lw=0.9, zorder=3)
    ax.set_ylim(-0.45, n - 0.05) if inside else ax.set_ylim(-0.6, n - 0.4)
    ax.set_yticks(range(n - 1, -1, -1))
    ax.set_yticklabels([_short_label(r["label"]) for r in rows])
    ax.grid(axis="y", visible=False)
    ticks = [t for t in MaxNLocator(nbins=2).tick_values(lo, hi) if lo - 0.1 * span <= t <= hi + 0.1 * span]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(PctTicks())
    ax.set_title(f"Change, {confidence:.0%} interval" if inside else f"Change, with its {confidence:.0%} interval", pad=14)


def _slo_figure(rows: list[dict], base_label: str, opt_label: str, narrow: bool, confidence: float = 0.95):
    n = len(rows)
    change = has_change_panel(rows)
    if narrow:
        heights = [1.45] * n + ([0.75 + 0.7 * n] if change else [])
        fig, axes = plt.subplots(len(heights), 1, figsize=(4.4, sum(heights) + 0.2), squeeze=False,
                                 gridspec_kw={"height_ratios": heights})
        panels = list(axes[:, 0])
    elif change:  # the bars beside the change panel: together they use the page's width
        fig, axes = plt.subplots(1, n + 1, figsize=(7.6 if n == 1 else 8.0, 1.5), squeeze=False,
                                 gridspec_kw={"width_ratios": [1.25] * n + [0.75]})
        panels = list(axes[0])
    else:
        fig, axes = plt.subplots(1, n, figsize=(min(3.9 * n, 8.0), 1.5), squeeze=False)
        panels = list(axes[0])
    if change:
        _change_panel(panels[-1], rows, confidence, inside=narrow)
        panels = panels[:-1]
    for ax, r in zip(panels, rows):
        top = max(v for v in (r["threshold"], r["base"], r["opt"], *(r["base_ci"] or ()), *(r["opt_ci"] or ()))
                  if v is not None)
        for y, value, ci, color in ((1, r["base"], r["base_ci"], C.base), (0, r["opt"], r["opt_ci"], C.opt)):
            if value is None:
                continue
            ax.barh([y], [value], height=0.52, color=color, zorder=3)
            if ci is not None:
                ax.errorbar([value], [y], xerr=[[value - ci[0]], [ci[1] - value]], fmt="none", ecolor=C.ink,
                            elinewidth=1.1, capsize=3, zorder=4)
            # the value on a patch of its background: where the limit's dashed line crosses the label
            # (a value near the limit), the line is hidden behind the text rather than drawn through it
            if ci is None and value > 0.3 * top * 1.28:  # inside the bar's end
                ax.annotate(_label_ms(value), (value, y), xytext=(-4, 0), textcoords="offset points", ha="right",
                            va="center", fontsize=text_pt(), color="white" if color == C.opt else C.ink, zorder=6,
                            bbox={"boxstyle": "square,pad=0.12", "fc": color, "ec": "none"})
            else:
                ax.annotate(_label_ms(value), (ci[1] if ci else value, y), xytext=(4, 0), textcoords="offset points",
                            va="center", fontsize=text_pt(), color=C.ink, zorder=6,
                            bbox={"boxstyle": "square,pad=0.12", "fc": "white", "ec": "none"})
        if r["threshold"] is not None:  # None: a statistic without an objective of its own (a card fallback)
            ax.axvline(r["threshold"], color=C.worse, lw=1.4, ls="--", zorder=5)
            ax.annotate("SLO " + fmt_ms_limit(r["threshold"]).replace(" ", "\u00a0"), (r["threshold"], 1.0),
                        xycoords=("data", "axes fraction"), xytext=(0, 3), textcoords="offset points", ha="center",
                        fontsize=text_pt(), color=C.worse, fontweight="bold")
        ax.set_xlim(0, top * 1.28)
        ax.set_ylim(-0.55, 1.55)
        ax.set_yticks([1, 0])
        ax.set_yticklabels([_short_label(base_label), _short_label(opt_label)])
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3 if change and n > 1 and not narrow else 4))
        _ms_axis(ax.xaxis)
        ax.set_title(r["label"], pad=14)
    tight_layout(fig, w_pad=2.5, h_pad=1.2)
    if change and not narrow:  # room right of the change panel for its figures ("−22% (−27% to −15%)", ~1.6 in)
        fig.subplots_adjust(right=1.0 - CHANGE_TEXT_IN / fig.get_size_inches()[0])
    return fig


def _short_label(label: str, n: int = 22) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


@memoized
def slo_chart(rows: list[dict], base_label: str, opt_label: str, confidence: float = 0.95) -> Chart:
    """Each objective's statistic before and after, with its interval, against the objective's limit.

    ``rows``: [{"label": "TTFT p99", "threshold": ms, "base": ms, "opt": ms, "base_ci": (lo, hi) | None,
    "opt_ci": …, "change": {"pct", "ci": (lo, hi) | None, "significant", "verdict"} | None}]. One panel
    per objective (side by side; stacked on phones); bars are the measured statistic, whiskers its
    interval, the dashed red line the limit as the case wrote it. When a change has an interval, a last
    panel shows each change (%) with it — the interval page 1's card states.
    """
    title = "The objectives' statistics before and after"
    parts = []
    d = change_digits(rows)
    for r in rows:
        ci = lambda c: f" (interval {_label_ms(c[0])} to {_label_ms(c[1])})" if c else " (no interval)"  # noqa: E731
        limit = f" against a limit of {fmt_ms_limit(r['threshold'])}" if r["threshold"] is not None else ""
        ch = r.get("change") or {}
        change = (f"; change {_pct_text(ch['pct'], d)}" + (f" ({_pct_text(ch['ci'][0], d)} to {_pct_text(ch['ci'][1], d)})"
                                                         if ch.get("ci") else ", no interval")
                  if ch.get("pct") is not None and has_change_panel(rows) else "")
        parts.append(f"{r['label']}{limit}: {base_label} "
                     f"{_label_ms(r['base']) if r['base'] is not None else 'not measured'}{ci(r['base_ci'])}, "
                     f"{opt_label} {_label_ms(r['opt']) if r['opt'] is not None else 'not measured'}{ci(r['opt_ci'])}"
                     + change)
    desc = "; ".join(parts) + "."
    with plt.rc_context(rc()):
        wide = _to_svg(_slo_figure(rows, base_label, opt_label, narrow=False, confidence=confidence), title, desc)
        with narrow_text():
            narrow = _to_svg(_slo_figure(rows, base_label, opt_label, narrow=True, confidence=confidence), title,
                             desc, "narrow")
    return responsive(wide, narrow)
