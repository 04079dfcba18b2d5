"""Latency–throughput chart of two load sweeps (inline SVG, deterministic).

One chart per latency metric: x = achieved requests/s, y = latency (ms), one line per side and
statistic (baseline grey, optimized blue; first statistic solid, the next dashed, then dotted),
each point labelled with its nominal load when there are few. Optional: the SLO threshold (dashed
red line, labelled on the line), the knee of each side (ring around the point) and the capacity at
SLO of each side (a diamond on the side's curve of the SLO's statistic, labelled with its value).
The legend sits under the plot in readable type. Two variants (wide for screens and print, narrow
for phones) share one accessible name and text alternative. Uses the style and SVG writer of
:mod:`casegen.render.charts`, so output is byte-for-byte reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from casegen.analysis.metrics import METRIC_LABELS
from casegen.analysis.sweep import FIGURE_BOUND, Capacity, Knee, Sweep, slo_text
from casegen.formatting import directed, fmt_ms_limit, fmt_sig3
from casegen.registry import PERCENTILE_STATS
from casegen.render.chart_memo import memoized
from casegen.render.charts import (
    C,
    _ms_axis,
    _to_svg,
    box_hits_lines,
    drawn_lines,
    legend_text,
    narrow_text,
    plain_axis,
    rc,
    responsive,
    text_pt,
)

_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D")


def _label_ms_axis(v: float) -> str:
    from casegen.formatting import fmt_ms

    return fmt_ms(v).replace(" ", "\u00a0")


def _rps(v: float) -> str:
    return f"{fmt_sig3(v)}\u00a0req/s"


def _candidates(dx: float, dy: float, ha: str) -> list[tuple[tuple[float, float], str]]:
    """Offsets (points) and alignments to try for a label asked at (dx, dy) with ``ha``: that place,
    mirrored left/right, then below/above, then further out, then centred above and below."""
    flip = {"left": "right", "right": "left"}.get(ha, ha)
    below = -dy - 4 if dy >= 0 else -dy
    tries = [((dx, dy), ha), ((-dx, dy), flip), ((dx, below), ha), ((-dx, below), flip)]
    for k in (1.0, 2.0, 3.0, 4.0):
        tries += [((dx * (1 + k), dy + 7 * k), ha), ((-dx * (1 + k), dy + 7 * k), flip),
                  ((dx * (1 + k), below - 7 * k), ha), ((-dx * (1 + k), below - 7 * k), flip)]
    tries += [((0, 9), "center"), ((0, -17), "center"), ((0, 20), "center"), ((0, -28), "center")]
    return tries


def _clear_slo_label(ax, label) -> None:
    """Move the SLO's label along its line to the first place no curve or marker crosses: above
    the line at the left, at the right, then below it at the left and at the right."""
    renderer = ax.figure.canvas.get_renderer()
    segments, markers = drawn_lines(ax)
    slo = [seg for seg in segments if seg[0][1] == seg[1][1]]  # its own rule is under it by design
    segments = [seg for seg in segments if seg not in slo]
    for x, offset, ha in ((0.0, (3, 3), "left"), (1.0, (-3, 3), "right"), (0.0, (3, -12), "left"),
                          (1.0, (-3, -12), "right")):
        label.xy = (x, label.xy[1])
        label.set_position(offset)
        label.set_horizontalalignment(ha)
        if not box_hits_lines(label.get_window_extent(renderer).expanded(1.06, 1.1), segments, markers):
            return
    label.xy, label.xyann = (0.0, label.xy[1]), (3, 3)
    label.set_horizontalalignment("left")


def _place_labels(ax, labels: list[tuple[float, float, str, str, tuple[float, float], str, bool]],
                  obstacles: Sequence = ()) -> list[str]:
    """Annotate (x, y, text, colour, offset pt, ha, bold) in order, each where its box (as drawn, in
    display coordinates) meets no label already placed, no ``obstacles`` artist (the SLO's label),
    no tick label, no drawn line or marker (curves, the SLO's and capacities' rules:
    :func:`casegen.render.charts.drawn_lines`) and stays inside the plot: the asked place first,
    then the others of :func:`_candidates`. A label that fits nowhere is left out; the texts of
    capacity labels (bold) left out are returned, for the legend. The same text at the same spot is
    said once (no piles of "10 / 10")."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    placed: list = [a.get_window_extent(renderer).expanded(1.1, 1.5) for a in obstacles]
    # the tick labels' band of each axis (laid out without drawing the figure: charts are drawn once)
    placed += [b for b in (ax.yaxis.get_tightbbox(renderer), ax.xaxis.get_tightbbox(renderer)) if b is not None]
    segments, markers = drawn_lines(ax)
    inside = ax.get_window_extent(renderer)
    said: list[tuple[str, float]] = []
    unplaced: list[str] = []
    for x, y, text, color, (dx, dy), ha, bold in labels:
        px = ax.transData.transform((x, y))[0]
        if any(t == text and abs(px - q) < 14 for t, q in said):
            continue  # the same load's label on the other side's point, right beside it
        best = None
        for offset, align in _candidates(dx, dy, ha):
            ann = ax.annotate(text, (x, y), xytext=offset, textcoords="offset points", ha=align, va="baseline",
                              fontsize=text_pt(), color=color, fontweight="bold" if bold else "normal")
            box = ann.get_window_extent(renderer).expanded(1.06, 1.1)
            clashes = (sum(box.overlaps(b) for b in placed) + box_hits_lines(box, segments, markers)
                       + (not (inside.x0 - 2 <= box.x0 and box.x1 <= inside.x1 + 2 and inside.y0 - 2 <= box.y0
                               and box.y1 <= inside.y1 + 2)))
            if clashes == 0:
                if best is not None:
                    best[1].remove()
                best = (0, ann, box)
                break
            if best is None or clashes < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clashes, ann, box)
            else:
                ann.remove()
        assert best is not None
        if best[0]:
            best[1].remove()  # a label with no free place is left out (a capacity's goes to the legend)
            if bold:
                unplaced.append(text)
            continue
        said.append((text, px))
        placed.append(best[2])
    return unplaced


def _curve(sweep: Sweep, metric: str, stat: str) -> list[tuple[float, float]]:
    pts = [(p.achieved_rps, p.latency(metric, stat)) for p in sweep.points]
    return sorted((x, y) for x, y in pts if x is not None and y is not None)


def _at(curve: list[tuple[float, float]], x: float) -> float | None:
    """Latency on ``curve`` at throughput ``x`` (linear between neighbouring points)."""
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return next((y for xx, y in curve if math.isclose(xx, x, rel_tol=1e-6)), None)


def _capacity_stat(cap: Capacity, metric: str, stats: Sequence[str]) -> str | None:
    """The drawn statistic of ``metric`` that an SLO limiting the capacity constrains (e.g. p99 for
    'TTFT p99 ≤ …'); any SLO's when none limits (every point passes). On the chart of an objective
    that does not limit, the capacity is not on its curve: the caller marks the throughput only."""
    for slo in cap.slos:
        if cap.limiting and slo_text(slo) not in cap.limiting:
            continue
        st = f"p{slo.percentile:g}"
        if slo.metric == metric and st in stats:
            return st
    return None


def _figure(base: Sweep, opt: Sweep, metric: str, stats: Sequence[str], threshold_ms: float | None,
            knees: Sequence[Knee | None], capacities: Sequence[Capacity | None], title: str, narrow: bool,
            height_in: float | None = None):
    sides = ((base, C.base), (opt, C.opt))
    name = METRIC_LABELS.get(metric, metric)
    # the phone variant: narrower, so its 12 pt type shows at ≥ 11 px on a 390 px screen (charts.narrow_text)
    fig, ax = plt.subplots(figsize=(3.7, 5.6) if narrow else (7.4, height_in or 2.0))
    if narrow:  # the plot on top, the axis label and the one-column legend under it inside the figure
        fig.subplots_adjust(left=0.2, right=0.95, top=0.94, bottom=0.48)
    drawn: list[float] = []
    all_x: list[float] = []
    load_labels: list = []
    cap_labels: list = []
    absent: list[str] = []
    obstacles: list = []
    few = max(len(base.points), len(opt.points)) <= 5
    plotted: list[tuple[float, float, str]] = []
    for k, stat in enumerate(stats):
        any_value = False
        for sweep, color in sides:
            pts = [(x, y, p) for p in sweep.points
                   if (x := p.achieved_rps) is not None and (y := p.latency(metric, stat)) is not None]
            if not pts:
                continue
            any_value = True
            pts.sort(key=lambda t: t[0])
            xs = [x for x, _, _ in pts]
            ys = [y for _, y, _ in pts]
            drawn.extend(ys)
            all_x.extend(xs)
            plotted += [(x, y, color) for x, y in zip(xs, ys)]
            # straight segments between the measured points (markers): the linear interpolation
            # the capacity at SLO uses, so its marker lies on the drawn line
            ax.plot(xs, ys, color=color, lw=2 if k == 0 else 1.3, ls=_STYLES[k % len(_STYLES)],
                    marker=_MARKERS[k % len(_MARKERS)], ms=4, label=f"{sweep.label} {stat}")
            if k == 0 and few:  # nominal load next to each point (few points only: legibility)
                off = (4, -12) if sweep is base else (4, 5)
                load_labels += [(x, y, p.short_label, color, off, "left", False) for x, y, p in pts]
        if not any_value:
            absent.append(stat)
    extra: list[Line2D] = []
    knee_factor = None
    for (_sweep, color), kn in zip(sides, knees):
        if (kn is None or kn.point is None or kn.point.achieved_rps is None or kn.metric != metric
                or kn.stat not in stats):  # a ring on a curve that is not drawn would float
            continue
        y = kn.point.latency(metric, kn.stat)
        if y is None:
            continue
        ax.plot([kn.point.achieved_rps], [y], marker="o", ms=11, mfc="none", mec=color, mew=1.6, ls="none", zorder=5)
        knee_factor = (kn.stat, kn.factor)
    if knee_factor is not None:
        extra.append(Line2D([], [], marker="o", ms=9, mfc="none", mec=C.muted, mew=1.4, ls="none",
                            label=f"knee ({knee_factor[0]} > {knee_factor[1]:g}× lowest load)"))
    marked, elsewhere = False, []  # a diamond drawn on a curve; objectives limiting off this chart
    side_of: dict[str, str] = {}  # a capacity label's side, for the legend when the label finds no place
    for (sweep, color), cap in zip(sides, capacities):
        if cap is None or cap.value_rps is None:
            continue
        prefix = {"at_least": "≥\u00a0", "below_min": "<\u00a0"}.get(cap.bound, "")
        # a bound rounded the way that keeps it true, as the report's tables print it ("≥ 10.1" for 10.17)
        kind = FIGURE_BOUND.get(cap.bound, "point")
        text = f"{prefix}{directed(_rps, cap.value_rps, kind, finer=True)}"
        cap_stat = _capacity_stat(cap, metric, stats)
        y = _at(_curve(sweep, metric, cap_stat), cap.value_rps) if cap_stat else None
        if y is None:  # the constraining statistic is not on this chart: mark the throughput only,
            # and say in the legend which objective set it (not this chart's: the review read "6.65 req/s"
            # on a TPOT chart as TPOT's crossing)
            ax.axvline(cap.value_rps, color=color, lw=1.2, ls=(0, (1, 2)))
            elsewhere += [t for t in cap.limiting if t not in elsewhere]
            ax.annotate(text, (cap.value_rps, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(-3, -10) if sweep is base else (3, -22), textcoords="offset points",
                        ha="right" if sweep is base else "left", fontsize=text_pt(), color=color, fontweight="bold")
        else:
            ax.plot([cap.value_rps], [y], marker="D", ms=7, mfc=color, mec="white", mew=1.2, ls="none", zorder=6)
            # baseline's label above-left of its marker, the optimized one's below-right: two close
            # capacities never print on top of each other
            side_of[text] = sweep.label
            cap_labels.append((cap.value_rps, y, text, color, (-6, 8) if sweep is base else (7, -14),
                               "right" if sweep is base else "left", True))
            marked = True
    if marked:
        extra.append(Line2D([], [], marker="D", ms=6, mfc=C.muted, mec="white", ls="none", label="capacity at SLO"))
    if elsewhere:
        extra.append(Line2D([], [], color=C.muted, lw=1.2, ls=(0, (1, 2)),
                            label="capacity at SLO, set by " + " and ".join(elsewhere)))
    if threshold_ms is not None:
        ax.axhline(threshold_ms, color=C.worse, lw=1.3, ls="--")
        slo_label = ax.annotate("SLO " + fmt_ms_limit(threshold_ms).replace(" ", "\u00a0"), (0.0, threshold_ms),
                                xycoords=("axes fraction", "data"), xytext=(3, 3), textcoords="offset points",
                                fontsize=text_pt(), color=C.worse, fontweight="bold")
        obstacles.append(slo_label)
        drawn.append(threshold_ms)
    # a linear axis: each segment between two measured points is the straight line the capacity
    # interpolation assumes, drawn straight; the top clears the highest point and the SLO's line and label
    finite = [v for v in drawn if math.isfinite(v)]
    top = max(finite) * 1.15 if finite and max(finite) > 0 else 1.0
    if threshold_ms is not None and threshold_ms > 0 and top > 5 * threshold_ms:
        # latencies far past the objective (a saturated load) would squash the crossing at the SLO
        # into the bottom of the chart: the axis stops at 3× the SLO and each point above it is
        # marked at the top edge with its value (its line leaves the chart towards it)
        top = 3 * threshold_ms
        above: dict[str, list[tuple[float, float]]] = {}
        for x, y, color in plotted:
            if y > top:
                ax.plot([x], [top], marker="^", ms=6, color=color, ls="none", clip_on=False, zorder=6)
                above.setdefault(color, []).append((x, y))
        for color, side_above in above.items():  # one value per side, the highest, left of its leftmost mark
            cap_labels.append((min(x for x, _ in side_above), top, "\u2191\u00a0" + _label_ms_axis(max(y for _, y in side_above)),
                               color, (-7, -4), "right", False))
    ax.set_ylim(bottom=0, top=top)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    _ms_axis(ax.yaxis)
    lo_x, hi_x = (min(all_x), max(all_x)) if all_x else (0.0, 1.0)
    if lo_x > 0.25 * hi_x:  # starting at 0 would leave most of the width empty
        ax.set_xlim(left=lo_x - 0.06 * (hi_x - lo_x), right=hi_x + 0.06 * (hi_x - lo_x))
    else:
        ax.set_xlim(left=0)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5 if narrow else 8))
    plain_axis(ax.xaxis)
    ax.autoscale_view()
    if obstacles:
        _clear_slo_label(ax, obstacles[0])
    unplaced = _place_labels(ax, cap_labels + load_labels, obstacles)  # capacities first: they win a clash
    if unplaced:  # a capacity with no free place beside its marker is named in the legend
        for h in extra:
            if h.get_label() == "capacity at SLO":
                h.set_label("capacity at SLO: " + ", ".join(f"{side_of.get(t, '')} {t}".strip() for t in unplaced))
    # the load labels explained where they are drawn: "c8" is formatting.fmt_load's short concurrency
    ax.set_xlabel("achieved throughput (req/s)" + (("; labels: concurrency (c8 = 8 in flight)" if base.load_kind !=
                                                    "rate" else "; labels: offered rate (req/s)") if few else "")
                  .replace("; ", "\n" if narrow else "; "))
    ax.set_ylabel(name)
    ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    handles += extra
    labels += [h.get_label() for h in extra]
    long = max(len(base.label), len(opt.label)) > 16  # a long side label: two columns, wrapped
    labels = [legend_text(t, 30) for t in labels]
    ax.legend(handles, labels, loc="upper center",
              bbox_to_anchor=(0.5, -0.33 if narrow else -0.2 * 3.4 / (height_in or 2.3)),
              ncol=1 if narrow else 2 if long else (len(handles) if len(handles) <= 4 else 3),
              fontsize=text_pt(), frameon=False, handlelength=2.4)
    if absent:
        ax.text(0.0, -0.2, f"not in the data: {name} {', '.join(absent)}", transform=ax.transAxes, fontsize=text_pt(),
                color=C.muted, ha="left", va="bottom")
    return fig


def sweep_chart_stats(study, metric: str) -> list[str]:
    """The statistics a sweep chart of ``metric`` draws: the objectives' own percentiles first (the
    curve the capacity is read from, drawn bold), then the median for the shape; only those present."""
    b, o = study.sweeps["baseline"], study.sweeps["optimized"]

    def present(st: str) -> bool:
        return any(p.latency(metric, st) is not None for p in b.points + o.points)

    chosen = [st for st in dict.fromkeys(f"p{s.percentile:g}" for s in study.case.slos if s.metric == metric)
              if present(st)] or [st for st in reversed(PERCENTILE_STATS) if st != "p50" and present(st)][:1]
    if present("p50") and "p50" not in chosen:
        chosen.append("p50")
    return chosen[:2]


@memoized
def latency_throughput_chart(
    base: Sweep,
    opt: Sweep,
    metric: str,
    stats: Sequence[str] = ("p50", "p95"),
    threshold_ms: float | None = None,
    knees: Sequence[Knee | None] | None = None,
    capacities: Sequence[Capacity | None] | None = None,
    title: str | None = None,
    height_in: float | None = None,
) -> str:
    """Latency (``metric`` at each of ``stats``, ms) against achieved req/s for both sweeps.

    ``knees`` and ``capacities`` are ``(baseline, optimized)`` pairs (either may be None).
    Statistics missing at a point are skipped; a statistic missing everywhere is named under the
    chart. The y axis is linear from 0, with room above the highest point and the SLO. Returns the
    HTML of :func:`casegen.render.charts.responsive` (two ``<svg>`` variants).
    """
    knees = tuple(knees) if knees is not None else (None, None)
    capacities = tuple(capacities) if capacities is not None else (None, None)
    name = METRIC_LABELS.get(metric, metric)
    title = title or f"{name} vs throughput"
    said = [f"{name} ({', '.join(stats)}) against achieved throughput for {base.label} and {opt.label}"]
    if threshold_ms is not None:
        said.append(f"SLO {fmt_ms_limit(threshold_ms)}")
    caps = [(sw.label, c) for sw, c in zip((base, opt), capacities) if c is not None and c.value_rps is not None]
    if caps:
        # the ratio is the capacity finding's claim (bounds included), said beside the chart, not here
        said.append("capacity at SLO " + ", ".join(f"{lab} {c.text()}" for lab, c in caps))
    desc = "; ".join(said) + "."
    args = (base, opt, metric, stats, threshold_ms, knees, capacities, title)
    with plt.rc_context(rc()):
        wide = _to_svg(_figure(*args, narrow=False, height_in=height_in), title, desc)
        with narrow_text():
            narrow = _to_svg(_figure(*args, narrow=True), title, desc, "narrow")
    return responsive(wide, narrow)
