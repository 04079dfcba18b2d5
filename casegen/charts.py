"""Charts as inline SVG strings (matplotlib, Agg backend, deterministic output).

Every function takes plain numbers (ms, USD) and returns an ``<svg>…</svg>``
string. Output is byte-for-byte reproducible: a fixed ``svg.hashsalt`` and no
date metadata.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

BASE_COLOR = "#94a3b8"
OPT_COLOR = "#1d4ed8"
BETTER = "#15803d"
WORSE = "#b91c1c"
INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"

_RC = {
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
    "legend.fontsize": 8.5,
    "figure.dpi": 72,
}


def _to_svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop XML prolog and doctype for inline use
    # give the chart a responsive size: keep viewBox, drop fixed width/height
    svg = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 class="chart" preserveAspectRatio="xMidYMid meet"', svg, count=1)
    return svg


def _ms(x: float, _pos=None) -> str:
    if x >= 1000:
        return f"{x / 1000:g} s"
    return f"{x:g} ms"


def _label_ms(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    return f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


def cdf_chart(title: str, base: np.ndarray, opt: np.ndarray, base_label: str, opt_label: str,
              percentiles: Sequence[float] = (50, 99)) -> str:
    """Empirical CDFs of one latency metric (ms), baseline vs optimized."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(4.6, 2.9))
        for values, label, color, ls in ((base, base_label, BASE_COLOR, "--"), (opt, opt_label, OPT_COLOR, "-")):
            x = np.sort(np.asarray(values, dtype=float))
            if x.size == 0:
                continue
            y = np.arange(1, x.size + 1) / x.size
            ax.step(x, y * 100, where="post", color=color, lw=2, label=f"{label} (n={x.size})", linestyle=ls)
        for p in percentiles:
            ax.axhline(p, color=GRID, lw=1, zorder=0)
            ax.text(1.0, p, f"p{p:g}", transform=ax.get_yaxis_transform(), ha="right", va="bottom",
                    color=MUTED, fontsize=7.5)
        ax.set_ylim(0, 101)
        ax.set_ylabel("requests at or below (%)")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.xaxis.set_major_formatter(FuncFormatter(_ms))
        ax.set_title(title)
        ax.legend(loc="best")
        return _to_svg(fig)


def ladder_chart(rows: list[dict], base_label: str, opt_label: str) -> str:
    """Percentile ladder: one panel per metric, p50/p90/p95/p99 bars with Δ% labels.

    ``rows``: ``[{"label": "TTFT", "stats": ["p50", ...], "base": [...ms], "opt": [...ms]}]``.
    """
    with plt.rc_context(_RC):
        n = len(rows)
        fig, axes = plt.subplots(1, n, figsize=(2.45 * n + 0.3, 2.75), squeeze=False)
        for ax, row in zip(axes[0], rows):
            stats = row["stats"]
            y = np.arange(len(stats))
            h = 0.38
            b = np.array(row["base"], dtype=float)
            o = np.array(row["opt"], dtype=float)
            ax.barh(y - h / 2, b, height=h, color=BASE_COLOR, label=base_label)  # axis is inverted:
            ax.barh(y + h / 2, o, height=h, color=OPT_COLOR, label=opt_label)   # baseline on top
            xmax = np.nanmax(np.concatenate([b, o])) if len(b) else 1
            for yi, bv, ov in zip(y, b, o):
                if math.isfinite(bv) and math.isfinite(ov) and bv > 0:
                    pct = (ov - bv) / bv * 100
                    color = BETTER if pct < -0.5 else WORSE if pct > 0.5 else MUTED
                    ax.text(max(bv, ov) + xmax * 0.03, yi, f"{pct:+.0f}%".replace("-", "\u2212"), va="center", fontsize=8,
                            color=color, fontweight="bold")
            ax.set_yticks(y, stats)
            ax.invert_yaxis()
            ax.set_xlim(0, xmax * 1.32)
            ax.grid(axis="y", visible=False)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=3, min_n_ticks=2))
            ax.xaxis.set_major_formatter(FuncFormatter(_ms))
            ax.tick_params(axis="x", labelsize=7.5)
            ax.set_title(row["label"])
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.06))
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        return _to_svg(fig)


def split_chart(sides: list[tuple[str, float, float]]) -> str:
    """Where the time goes: stacked bars of mean TTFT and mean decode time (ms) per side."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(8.0, 0.85 + 0.36 * len(sides)))
        labels = [s[0] for s in sides]
        ttft = np.array([s[1] for s in sides])
        dec = np.array([s[2] for s in sides])
        y = np.arange(len(sides))
        ax.barh(y, ttft, color="#f59e0b", height=0.55, label="before first token (queue + prefill)")
        ax.barh(y, dec, left=ttft, color="#1e3a8a", height=0.55, label="decode (first → last token)")
        total = ttft + dec
        for yi, t, d in zip(y, ttft, dec):
            share = t / (t + d) * 100 if t + d > 0 else 0
            ax.text(t + d + total.max() * 0.01, yi, f"{_label_ms(t + d)}  ({share:.1f}% before first token)",
                    va="center", fontsize=8, color=INK)
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, total.max() * 1.5)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(FuncFormatter(_ms))
        ax.set_title("Mean end-to-end time per request")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2)
        return _to_svg(fig)


def payback_chart(savings_per_month: float, one_time: float, horizon: int, payback_months: float | None) -> str:
    """Cumulative savings over the horizon against the one-time cost, with break-even."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(8.0, 2.8))
        months = np.arange(0, horizon + 1)
        cum = savings_per_month * months
        ax.plot(months, cum, color=OPT_COLOR, lw=2.2, label="cumulative savings")
        ax.axhline(one_time, color=WORSE, lw=1.4, ls="--", label=f"one-time cost ${one_time:,.0f}")
        ax.fill_between(months, cum, one_time, where=cum >= one_time, color=BETTER, alpha=0.10, interpolate=True)
        if payback_months is not None and payback_months <= horizon:
            ax.plot([payback_months], [one_time], "o", color=BETTER, ms=6, zorder=5)
            ax.annotate(f"break-even at {payback_months:.1f} months", (payback_months, one_time),
                        xytext=(8, -16), textcoords="offset points", color=BETTER, fontsize=8.5, fontweight="bold")
        ax.set_xlim(0, horizon)
        lo = min(0.0, float(cum.min()))
        hi = max(float(cum.max()), one_time) * 1.12 or 1.0
        ax.set_ylim(lo, hi)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"${v:,.0f}"))
        ax.set_xlabel("months after rollout")
        ax.set_title("Cumulative savings vs one-time cost")
        ax.legend(loc="upper left")
        return _to_svg(fig)
