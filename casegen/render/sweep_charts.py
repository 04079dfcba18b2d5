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
from casegen.analysis.sweep import Capacity, Knee, Sweep
from casegen.render.chart_memo import memoized
from casegen.render.charts import _RC, BASE_COLOR, MUTED, OPT_COLOR, WORSE, _label_ms, _ms_axis, _to_svg, responsive

_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D")


def _rps(v: float) -> str:
    return f"{v:,.1f}\u00a0req/s" if v >= 10 else f"{v:,.2f}\u00a0req/s"


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
    """The drawn statistic of ``metric`` that an SLO of the capacity constrains (e.g. p99 for 'TTFT p99 ≤ …')."""
    for slo in cap.slos:
        st = f"p{slo.percentile:g}"
        if slo.metric == metric and st in stats:
            return st
    return None


def _figure(base: Sweep, opt: Sweep, metric: str, stats: Sequence[str], threshold_ms: float | None,
            knees: Sequence[Knee | None], capacities: Sequence[Capacity | None], title: str, narrow: bool):
    sides = ((base, BASE_COLOR), (opt, OPT_COLOR))
    name = METRIC_LABELS.get(metric, metric)
    fig, ax = plt.subplots(figsize=(4.4, 3.3) if narrow else (7.4, 3.4))
    drawn: list[float] = []
    absent: list[str] = []
    few = max(len(base.points), len(opt.points)) <= 5
    for k, stat in enumerate(stats):
        any_value = False
        for sweep, color in sides:
            pts = [(p.achieved_rps, p.latency(metric, stat), p) for p in sweep.points]
            pts = [(x, y, p) for x, y, p in pts if x is not None and y is not None]
            if not pts:
                continue
            any_value = True
            xs = [x for x, _, _ in pts]
            ys = [y for _, y, _ in pts]
            drawn.extend(ys)
            ax.plot(xs, ys, color=color, lw=2 if k == 0 else 1.5, ls=_STYLES[k % len(_STYLES)],
                    marker=_MARKERS[k % len(_MARKERS)], ms=4, label=f"{sweep.label} {stat}")
            if k == 0 and few:  # nominal load next to each point (few points only: legibility)
                dy = -11 if sweep is base else 5
                for x, y, p in pts:
                    ax.annotate(p.short_label, (x, y), xytext=(4, dy), textcoords="offset points",
                                fontsize=9, color=color)
        if not any_value:
            absent.append(stat)
    extra: list[Line2D] = []
    knee_factor = None
    for (_sweep, color), kn in zip(sides, knees):
        if kn is None or kn.point is None or kn.point.achieved_rps is None or kn.metric != metric:
            continue
        y = kn.point.latency(metric, kn.stat)
        if y is None:
            continue
        ax.plot([kn.point.achieved_rps], [y], marker="o", ms=11, mfc="none", mec=color, mew=1.6, ls="none", zorder=5)
        knee_factor = (kn.stat, kn.factor)
    if knee_factor is not None:
        extra.append(Line2D([], [], marker="o", ms=9, mfc="none", mec=MUTED, mew=1.4, ls="none",
                            label=f"knee ({knee_factor[0]} > {knee_factor[1]:g}× lowest load)"))
    marked = False
    for (sweep, color), cap in zip(sides, capacities):
        if cap is None or cap.value_rps is None:
            continue
        prefix = {"at_least": "≥\u00a0", "below_min": "<\u00a0"}.get(cap.bound, "")
        text = f"{prefix}{_rps(cap.value_rps)}"
        stat = _capacity_stat(cap, metric, stats)
        y = _at(_curve(sweep, metric, stat), cap.value_rps) if stat else None
        if y is None:  # the constraining statistic is not on this chart: mark the throughput only
            ax.axvline(cap.value_rps, color=color, lw=1.2, ls=(0, (1, 2)))
            ax.annotate(text, (cap.value_rps, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -10),
                        textcoords="offset points", fontsize=9, color=color, fontweight="bold")
        else:
            ax.plot([cap.value_rps], [y], marker="D", ms=7, mfc=color, mec="white", mew=1.2, ls="none", zorder=6)
            ax.annotate(text, (cap.value_rps, y), xytext=(-6, 8), textcoords="offset points", ha="right",
                        fontsize=9, color=color, fontweight="bold")
        marked = True
    if marked:
        extra.append(Line2D([], [], marker="D", ms=6, mfc=MUTED, mec="white", ls="none", label="capacity at SLO"))
    if threshold_ms is not None:
        ax.axhline(threshold_ms, color=WORSE, lw=1.3, ls="--")
        ax.annotate(f"SLO {_label_ms(threshold_ms)}", (0.0, threshold_ms), xycoords=("axes fraction", "data"),
                    xytext=(3, 3), textcoords="offset points", fontsize=9, color=WORSE, fontweight="bold")
        drawn.append(threshold_ms)
    positive = [v for v in drawn if v > 0 and math.isfinite(v)]
    log = bool(positive) and max(positive) / min(positive) > 20
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    _ms_axis(ax.yaxis, log=log)
    ax.set_xlim(left=0)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5 if narrow else 8))
    ax.set_xlabel("achieved throughput (req/s)" + ("; labels: offered load" if few else ""))
    ax.set_ylabel(name)
    ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    handles += extra
    labels += [h.get_label() for h in extra]
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2 if narrow else 3,
              fontsize=9, frameon=False, handlelength=2.4)
    if absent:
        ax.text(0.0, -0.2, f"not in the data: {name} {', '.join(absent)}", transform=ax.transAxes, fontsize=9,
                color=MUTED, ha="left", va="bottom")
    return fig


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
) -> str:
    """Latency (``metric`` at each of ``stats``, ms) against achieved req/s for both sweeps.

    ``knees`` and ``capacities`` are ``(baseline, optimized)`` pairs (either may be None).
    Statistics missing at a point are skipped; a statistic missing everywhere is named under the
    chart. The y axis is logarithmic (1-2-5 ticks) when latencies span more than 20×. Returns the
    HTML of :func:`casegen.render.charts.responsive` (two ``<svg>`` variants).
    """
    knees = tuple(knees) if knees is not None else (None, None)
    capacities = tuple(capacities) if capacities is not None else (None, None)
    name = METRIC_LABELS.get(metric, metric)
    title = title or f"{name} vs throughput"
    said = [f"{name} ({', '.join(stats)}) against achieved throughput for {base.label} and {opt.label}"]
    if threshold_ms is not None:
        said.append(f"SLO {_label_ms(threshold_ms)}")
    caps = [(sw.label, c) for sw, c in zip((base, opt), capacities) if c is not None and c.value_rps is not None]
    if caps:
        said.append("capacity at SLO " + ", ".join(f"{lab} {c.text()}" for lab, c in caps))
        if len(caps) == 2 and caps[0][1].value_rps:
            said.append(f"{caps[1][1].value_rps / caps[0][1].value_rps:.2f}× the requests per replica")
    desc = "; ".join(said) + "."
    args = (base, opt, metric, stats, threshold_ms, knees, capacities, title)
    with plt.rc_context(_RC):
        wide = _to_svg(_figure(*args, narrow=False), title, desc)
        narrow = _to_svg(_figure(*args, narrow=True), title, desc, "narrow")
    return responsive(wide, narrow)
