"""Latency–throughput chart of two load sweeps (inline SVG, deterministic).

One chart per latency metric: x = achieved requests/s, y = latency (ms), one line per side and
statistic (baseline grey, optimized blue; first statistic solid, the next dashed, then dotted),
each point labelled with its nominal load. Optional: the SLO threshold (dashed red line), the knee
of each side (ring around the point) and the capacity at SLO of each side (dotted vertical line).
Uses the style and SVG writer of :mod:`casegen.charts`, so output is byte-for-byte reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MaxNLocator

from casegen.charts import _RC, BASE_COLOR, MUTED, OPT_COLOR, WORSE, _ms, _to_svg
from casegen.metrics import METRIC_LABELS
from casegen.sweep import Capacity, Knee, Sweep

_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D")


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
    chart. The y axis is logarithmic when latencies span more than 20×. Returns an ``<svg>``.
    """
    sides = ((base, BASE_COLOR), (opt, OPT_COLOR))
    knees = tuple(knees) if knees is not None else (None, None)
    capacities = tuple(capacities) if capacities is not None else (None, None)
    name = METRIC_LABELS.get(metric, metric)
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 3.5))
        drawn: list[float] = []
        absent: list[str] = []
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
                        marker=_MARKERS[k % len(_MARKERS)], ms=4.5, label=f"{sweep.label} {stat}")
                if k == 0 and len(pts) <= 5:  # nominal load next to each point (few points only: legibility)
                    dy = -10 if sweep is base else 5
                    for x, y, p in pts:
                        ax.annotate(p.short_label, (x, y), xytext=(4, dy), textcoords="offset points",
                                    fontsize=7, color=color)
            if not any_value:
                absent.append(stat)
        for (sweep, color), kn in zip(sides, knees):
            if kn is None or kn.point is None or kn.point.achieved_rps is None:
                continue
            y = kn.point.latency(metric, kn.stat) if kn.metric == metric else None
            if y is None:
                continue
            ax.plot([kn.point.achieved_rps], [y], marker="o", ms=11, mfc="none", mec=color, mew=1.6, ls="none",
                    label=f"{sweep.label} knee ({kn.stat} > {kn.factor:g}×)", zorder=5)
        for (sweep, color), cap in zip(sides, capacities):
            if cap is None or cap.value_rps is None:
                continue
            prefix = {"at_least": "≥ ", "below_min": "< "}.get(cap.bound, "")
            ax.axvline(cap.value_rps, color=color, lw=1.3, ls=(0, (1, 2)),
                       label=f"{sweep.label} capacity {prefix}{cap.value_rps:,.1f} req/s")
        if threshold_ms is not None:
            ax.axhline(threshold_ms, color=WORSE, lw=1.3, ls="--", label=f"SLO {_ms(threshold_ms)}")
            drawn.append(threshold_ms)
        positive = [v for v in drawn if v > 0 and math.isfinite(v)]
        if positive and max(positive) / min(positive) > 20:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.yaxis.set_major_formatter(FuncFormatter(_ms))
        ax.set_xlim(left=0)
        few = max(len(base.points), len(opt.points)) <= 5
        ax.set_xlabel("achieved throughput (requests/s)" + ("; labels: offered load" if few else ""))
        ax.set_ylabel(f"{name} (ms)")
        ax.set_title(title or f"{name} vs throughput")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
        if absent:
            fig.text(0.01, -0.02, f"not in the data: {name} {', '.join(absent)}", fontsize=7.5, color=MUTED,
                     ha="left", va="top")
        return _to_svg(fig)
