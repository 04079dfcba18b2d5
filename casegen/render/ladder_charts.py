"""Waterfall charts of a ladder (inline SVG, deterministic; same style as casegen.render.charts)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from casegen.analysis.sweep import ranges_overlap
from casegen.formatting import directed
from casegen.render.charts import (
    C,
    Chart,
    _ms_axis,
    _to_svg,
    _usd_axis,
    legend_text,
    plain_axis,
    rc,
    text_pt,
    tight_layout,
)

#: One waterfall panel: title, [(baseline label, value), (step label, change), …], format,
#: lower is better, and a prefix for the total's label ("≥ " when it is a lower bound, else "").
Panel = tuple[str, list[tuple[str, float]], Callable[[float], str], bool, str]


def waterfall_chart(panels: Sequence[Panel],
                    panel_size: tuple[float, float] = (4.2, 3.0), variant: str = "wide", cols: int = 2,
                    level_ranges: Sequence[Sequence[tuple[float, float] | None] | None] | None = None) -> Chart:
    """One panel per figure: (title, [(baseline label, value), (step label, change), …], format, lower_is_better).

    The first bar is the baseline value, each following bar floats from the running total by the
    step's change (green when it helps, red when it hurts), the last grey bar is the optimized total.
    ``level_ranges`` (one per panel, or None): for each level — the baseline, then the running total
    after each step — where that level, an estimate, may lie (or None): drawn as a whisker at the top of
    the bar that ends at that level (the first bar, a step's bar, or the total for the last level), its
    label above the whisker. A step's change is the difference of two such estimates: its whiskers show
    how far either end may move.
    """
    with plt.rc_context(rc()):
        k = len(panels)
        cols = min(k, cols)
        rows = (k + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(panel_size[0] * cols, panel_size[1] * rows), squeeze=False)
        flat = [ax for row in axes for ax in row]
        for ax in flat[k:]:
            ax.set_visible(False)
        ranges = list(level_ranges) if level_ranges is not None else [None] * k
        for ax, (title, items, fmt, lower_is_better, total_prefix), levels in zip(flat, panels, ranges):
            labels = [items[0][0]] + [lab for lab, _ in items[1:]] + ["total"]
            total = items[0][1]
            bars = [(0.0, total, C.base)]
            for _lab, change in items[1:]:
                helps = change < 0 if lower_is_better else change > 0
                color = C.better if helps else C.worse if change != 0 else C.muted
                bars.append((total, change, color))
                total += change
            bars.append((0.0, total, C.opt))
            # a step between two estimates whose ranges overlap may have gained nothing (or lost): neutral,
            # never green or red (the report's rule: a verdict colour only where the change is ruled out)
            lv = list(levels or [])
            for i in range(1, min(len(bars) - 1, len(lv))):
                if ranges_overlap(lv[i - 1], lv[i]):
                    bars[i] = (bars[i][0], bars[i][1], C.muted)
            xs = range(len(bars))
            ax.bar(xs, [h for _b, h, _c in bars], bottom=[b for b, _h, _c in bars],
                   color=[c for _b, _h, c in bars], width=0.62, zorder=3)
            running = items[0][1]
            # bar i ends at level i (the last bar, the total, at the last level); a level's range is drawn
            # on the bar that ends there (a step bar ends at its running total, the total at the last level)
            spans = _bar_spans(levels, len(bars))
            for i, ((b, h, _c), whisker) in enumerate(zip(bars, spans)):
                if whisker is not None:
                    end = b + h
                    lo_s, hi_s = whisker
                    ax.errorbar([i], [end], yerr=[[max(end - lo_s, 0.0)], [max(hi_s - end, 0.0)]],
                                fmt="none", ecolor=C.ink, elinewidth=0.9, capsize=4, zorder=4)
            for i, (b, h, _c) in enumerate(bars):
                top = b + h if h >= 0 else b
                span = spans[i]
                if span is not None:
                    top = max(top, span[1])
                if i == len(bars) - 1:  # the total, a bound rounded the way that keeps it true
                    text = total_prefix + directed(fmt, h, _prefix_bound(total_prefix), finer=_finer(fmt))
                elif i == 0:
                    text = fmt(h)
                else:
                    text = ("+" if h > 0 else "−" if h < 0 else "±") + fmt(abs(h))
                # the unit said once, in the title ("Capacity at SLO (req/s)"): bar labels are the figures,
                # so neighbouring labels ("+9.55", "≥ 41.2") do not run into each other
                unit = text.replace("\u00a0", " ").rpartition(" ")[2]
                said = bool(unit) and not unit[0].isdigit() and f"({unit}" in title
                if said:
                    text = text.replace("\u00a0", " ").removesuffix(" " + unit).replace(" ", "\u00a0")
                if variant == "narrow" and not said and " " in text.replace("\u00a0", " "):  # phones: the unit under its figure
                    head, _sep, unit = text.replace("\u00a0", " ").rpartition(" ")
                    text = f"{head}\n{unit}"
                lift = 7 if span is not None else 3  # clear of the whisker's cap
                ax.annotate(text, (i, max(top, b)), xytext=(0, lift), textcoords="offset points", ha="center",
                            va="bottom", fontsize=text_pt(), color=C.ink)
                if 0 < i < len(bars) - 1:
                    ax.plot([i - 0.31 - 0.38, i - 0.31], [running, running], color=C.muted, lw=0.8, zorder=2)
                    running += h
            ax.set_xticks(list(xs))
            # whole step names, wrapped under their bar (never cut to "+ KV-cache-aware …", never slanted)
            ax.set_xticklabels([_wrapped(lab, panel_size[0], len(labels)) for lab in labels], fontsize=text_pt() - 0.5)
            ax.set_title(title if variant != "narrow" else legend_text(title, 30), fontsize=text_pt())
            # ticks in the one chart style (casegen.formatting via charts): ms/s axes in one unit,
            # rates and dollars without the labels' decimals ("40", "$3k"); the title names the unit
            axis_kind = getattr(fmt, "axis", None)
            if axis_kind == "ms":
                _ms_axis(ax.yaxis)
            elif axis_kind == "usd":
                ax.yaxis.set_major_formatter(FuncFormatter(_usd_axis))
            elif axis_kind == "plain":
                plain_axis(ax.yaxis)
            else:
                ax.yaxis.set_major_formatter(lambda v, _p, fmt=fmt: "0" if v == 0 else fmt(v))
            ax.grid(axis="x", visible=False)
            lo = min(min(b, b + h) for b, h, _c in bars)
            hi = max([max(b, b + h) for b, h, _c in bars] + [sp[1] for sp in spans if sp is not None])
            ax.set_ylim(min(0.0, lo), hi * (1.3 if variant == "narrow" else 1.15) if hi > 0 else 1.0)
        tight_layout(fig, **({"pad": 1.6} if variant == "narrow" else {}))  # narrow: room for its 12 pt ticks
        desc = ". ".join(
            f"{title}: {items[0][0]} {fmt(items[0][1])}; "
            + "; ".join(f"{lab} {'+' if ch > 0 else '−' if ch < 0 else '±'}{fmt(abs(ch))}" for lab, ch in items[1:])
            + f"; total {prefix}" + directed(fmt, items[0][1] + sum(ch for _l, ch in items[1:]), _prefix_bound(prefix),
                                                finer=_finer(fmt))
            for title, items, fmt, _lower, prefix in panels)
        return _to_svg(fig, "Step-by-step waterfall from the baseline to the optimized deployment", desc + ".", variant)


def _bar_spans(levels: Sequence[tuple[float, float] | None] | None, bars: int) -> list[tuple[float, float] | None]:
    """Each bar's whisker: bar i (< the last) ends at level i; the last bar, the total, ends at the last
    level too (the last step's bar and the total share it)."""
    out: list[tuple[float, float] | None] = [None] * bars
    for i, span in enumerate(list(levels or [])[: bars - 1]):
        out[i] = span
    if levels and len(levels) == bars - 1:
        out[-1] = levels[-1]
    return out


def _finer(fmt: Callable[[float], str]) -> bool:
    """A rate's bound shows a decimal more where rounding would change it (formatting.directed); money
    keeps whole dollars."""
    return getattr(fmt, "axis", None) != "usd"


def _prefix_bound(prefix: str) -> str:
    """The bound a total's prefix states: '≥ ' → 'at_least', '≤ ' → 'at_most', '' → 'point'."""
    return {"≥": "at_least", "≤": "at_most"}.get(prefix[:1], "point")


def _wrapped(label: str, panel_width_in: float, bars: int) -> str:
    """``label`` on lines that fit its bar's slot at 8.5 pt (about 0.6 em a character); a word longer
    than the slot keeps its own line rather than being cut."""
    import textwrap

    chars = max(8, int(panel_width_in * 72 * 0.85 / bars / (0.6 * (text_pt() - 0.5))))
    return "\n".join(textwrap.wrap(label, chars, break_long_words=False, break_on_hyphens=True)) or label
