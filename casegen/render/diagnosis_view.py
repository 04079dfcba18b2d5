"""Views of the teardown (queue / prefill / decode, bottleneck), the helps/hurts segments and the
intended changes of a cheap win: template variables and their two charts.

Figures come from ``casegen.analysis.teardown``, ``.segments`` and ``.cheapwin``; this module only
words and draws them (the same sentences in the case report and in ``casegen teardown``).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from casegen.analysis.teardown import SLOWDOWN_NAMED
from casegen.formatting import fmt_load, fmt_ms, fmt_ms_signed, fmt_pct
from casegen.registry import label as metric_label
from casegen.render import charts
from casegen.render.chart_memo import memoized

QUEUE_COLOR = "#b91c1c"


def _share(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.0f}%"


def run_sentences(t: Any) -> list[str]:
    """What a RunTeardown says, in reader language."""
    s = []
    if t.queue_ms is not None and t.prefill_ms is not None:
        s.append(f"Mean end-to-end time {fmt_ms(t.e2e_mean_ms)}: queue wait {fmt_ms(t.queue_ms)} "
                 f"({_share(t.shares_of_e2e.get('queue'))}), prefill {fmt_ms(t.prefill_ms)} "
                 f"({_share(t.shares_of_e2e.get('prefill'))}), decode {fmt_ms(t.decode_ms)} "
                 f"({_share(t.shares_of_e2e.get('decode'))}).")
        if t.queue_source_text:
            s.append(t.queue_source_text[:1].upper() + t.queue_source_text[1:] + ".")
    else:
        s.append(f"Mean end-to-end time {fmt_ms(t.e2e_mean_ms)}: {fmt_ms(t.ttft_mean_ms)} before the first token "
                 f"({_share(t.shares_of_e2e.get('before_first_token'))}; queue wait and prefill not separable), "
                 f"decode {fmt_ms(t.decode_ms)} ({_share(t.shares_of_e2e.get('decode'))}).")
    if t.client_wait_ms is not None and t.client_wait_p95_ms is not None:
        s.append(f"Before sending, requests waited {fmt_ms(t.client_wait_ms)} on average in the benchmark client "
                 f"(p95 {fmt_ms(t.client_wait_p95_ms)}; the tool's own record of its send queue): outside TTFT and "
                 "end-to-end time, so not in the split above.")
    p = t.prefill
    if p is not None and p.tokens_per_s is not None:
        iv = p.tokens_per_s_interval or [None, None]
        rng = (f"{p.confidence:.0%} interval {iv[0]:,.0f}–" + (f"{iv[1]:,.0f}" if iv[1] is not None else "∞")
               if iv[0] is not None else "no interval")
        where = (f"over the {p.n:,} requests sent at light load (at most one other in flight)" if p.light_load else
                 f"over the {p.n:,} requests sent with the fewest others in flight (at most {p.max_in_flight}; light "
                 "load would be at most one, so some queue wait may be in the fit)"
                 if p.max_in_flight is not None else f"over all {p.n:,} requests (the load each one met is unknown)")
        source = "" if p.source == "this run" else f", from {p.source}"
        s.append(f"Prefill rate {p.tokens_per_s:,.0f} prompt tokens/s ({rng}), from a straight line of TTFT against "
                 f"prompt length fitted robustly {where}{source}: TTFT ≈ {p.intercept_ms:,.1f} ms + "
                 f"{p.ms_per_token:.4f} ms × prompt tokens.")
    elif p is not None and p.note:
        s.append(p.note[:1].upper() + p.note[1:] + ".")
    d = t.decode
    # a decode-bound run's bottleneck line already gives TPOT from the fewest to the most in flight
    if d is not None and d.high_in_flight > d.low_in_flight and t.bottleneck != "decode":
        slope = ""
        if d.slope_ms_per_request is not None and d.slope_interval:
            lo, hi = d.slope_interval
            word = "rises" if lo > 0 else "falls" if hi < 0 else "changes by"
            slope = (f"; TPOT {word} {d.slope_ms_per_request:,.2f} ms per extra request in flight ({d.confidence:.0%} "
                     f"interval {lo:,.2f} to {hi:,.2f}" + (", includes 0)" if lo <= 0 <= hi else ")"))
        pooled = "" if d.source == "this run" else f" ({d.source})"
        head = "Decode slows with the number in flight" if d.ratio >= SLOWDOWN_NAMED else "TPOT against the number in flight"
        s.append(f"{head}{pooled}: median TPOT {d.tpot_low_ms:,.1f} ms with "
                 f"{d.low_in_flight} in flight, {d.tpot_high_ms:,.1f} ms with {d.high_in_flight} "
                 f"({d.ratio:.2f}×){slope}.")
    # under a "Bottleneck" heading and its "<side>: decode" line: the evidence itself, not "Bottleneck —" again
    s.append(t.evidence[:1].upper() + t.evidence[1:] + ".")
    s += [n[:1].upper() + n[1:] + "." for n in t.notes]
    return s


def _split_figure(rows: list[Any], narrow: bool):
    fig, ax = plt.subplots(figsize=(3.4, 1.5 + 0.7 * len(rows)) if narrow else (8.0, 1.0 + 0.5 * len(rows)))
    pal = charts.C
    y = np.arange(len(rows))
    total = max(r.e2e_mean_ms for r in rows)
    labelled: set[str] = set()
    for yi, r in zip(y, rows):
        if r.queue_ms is not None and r.prefill_ms is not None:
            parts = [("queue wait", r.queue_ms, QUEUE_COLOR), ("prefill", r.prefill_ms, pal.prefill)]
        else:
            parts = [("before first token (queue + prefill)", r.ttft_mean_ms, pal.prefill)]
        parts.append(("decode", r.decode_ms, pal.decode))
        left = 0.0
        for name, v, colour in parts:
            ax.barh(yi, v, left=left, color=colour, height=0.5, label=None if name in labelled else name)
            labelled.add(name)
            left += v
        ax.text(left + total * 0.015, float(yi), charts._label_ms(left), va="center", fontsize=charts.text_pt(), color=charts.C.ink,
                fontweight="bold")
    ax.set_yticks(y, [r.label for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.6)
    ax.set_xlim(0, total * (1.3 if narrow else 1.15))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if narrow else 6))
    ax.grid(axis="y", visible=False)
    charts._ms_axis(ax.xaxis)
    ax.set_title("Mean end-to-end time per request: queue wait, prefill, decode")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 if narrow else -0.22), ncol=1 if narrow else 3)
    return fig


@memoized
def split_chart(rows: list[Any]) -> charts.Chart:
    title = "Mean end-to-end time per request: queue wait, prefill, decode"
    desc = "; ".join(f"{r.label}: {run_sentences(r)[0]}" for r in rows)
    with plt.rc_context(charts.rc()):
        wide = charts._to_svg(_split_figure(rows, False), title, desc)
        with charts.narrow_text():
            narrow = charts._to_svg(_split_figure(rows, True), title, desc, "narrow")
    return charts.responsive(wide, narrow)


def teardown_chart(td: Any) -> charts.Chart | None:
    """The queue / prefill / decode split of each side (None without a teardown, or when queue wait
    and prefill are not separable: the first-token split chart says it all)."""
    if td is None:
        return None
    rows = list(td.sides.values())
    return split_chart(rows) if any(r.queue_ms is not None for r in rows) else None


def teardown_view(td: Any, chart: charts.Chart | None) -> dict[str, Any] | None:
    """The per-side diagnosis for the "Where the time goes" section (None without a teardown).

    Said once (issue 23): a sentence both sides share is in ``shared``, not under each side; where
    queue wait and prefill are not separable, the side's "before the first token / decode" sentence
    is left out (the split above already says it), and queue wait is defined (``queue_computed``)
    only when some side computed it."""
    if td is None:
        return None
    rows = list(td.sides.values())
    def kept(r: Any) -> list[str]:
        # not separable: the split above says it; no prefill time reported: its definition is not needed
        drop = set()
        if r.queue_ms is None:
            drop |= {x for x in run_sentences(r) if x.startswith("Mean end-to-end time ")}
        if r.prefill_ms is None and r.prefill is not None and r.prefill.note:
            drop.add(r.prefill.note[:1].upper() + r.prefill.note[1:] + ".")
        return [x for x in run_sentences(r) if x not in drop]

    said = [kept(r) for r in rows]
    shared = [x for x in said[0] if len(said) > 1 and all(x in other for other in said[1:])]
    bottlenecks = {r.bottleneck for r in rows}
    return {"chart": chart,
            "queue_computed": any(r.queue_ms is not None and r.prefill_ms is not None for r in rows),
            "shared": shared,
            "shared_bottleneck": bottlenecks.pop() if len(bottlenecks) == 1 and len(rows) > 1 else None,
            "sides": [{"label": r.label, "bottleneck": r.bottleneck,
                       "sentences": [x for x in xs if x not in shared]} for r, xs in zip(rows, said)]}


# --------------------------------------------------------------------------- segments

#: the segments chart's whiskers are cut here (%): a few correlated requests can give an interval
#: up to several times the baseline, which would flatten every other segment
SEGMENT_WHISKER_MAX_PCT = 200.0

AXIS_TITLE = {"input_tokens": "prompt length (input tokens)", "output_tokens": "output length (tokens)",
              "load": "load"}


def drawn_axes(axes: list[Any]) -> list[Any]:
    """The axes worth a chart: those where some segment helps or hurts. An axis whose every segment
    shows no significant change has nothing to draw but whiskers across zero: its table says it."""
    return [a for a in axes if any(s.verdict != "unclear" for s in a.segments)]


def _segments_figure(axes: list[Any], narrow: bool):
    n = len(axes)
    most = max(len(a.segments) for a in axes)
    # few segments a panel: panels side by side, each as wide as its points need
    side_by_side = not narrow and n > 1 and most <= 5
    if narrow:
        fig, axs = plt.subplots(n, 1, figsize=(3.5, 2.2 * n), squeeze=False)
        panels = list(axs[:, 0])
    elif side_by_side:
        fig, axs = plt.subplots(1, n, figsize=(min(8.0, 3.0 * n + 1.2), 2.0), squeeze=False)
        panels = list(axs[0])
    else:
        fig, axs = plt.subplots(n, 1, figsize=(min(8.0, 1.2 + 0.9 * most), 1.8 * n), squeeze=False)
        panels = list(axs[:, 0])
    for ax, a in zip(panels, axes):
        xs = np.arange(len(a.segments))
        clipped = False
        d = charts.pct_digits([s.change_pct for s in a.segments])  # one format for the chart's figures
        for x, s in zip(xs, a.segments):
            base = s.baseline_mean_ms or 1.0
            # a change of the mean is never below −100 % (segments' intervals are on the ratio scale);
            # a whisker above SEGMENT_WHISKER_MAX_PCT is cut there and marked ▲ (its value is in the table)
            lo, hi = max(s.ci_ms[0] / base * 100, -100.0), s.ci_ms[1] / base * 100
            colour = charts.C.better if s.verdict == "helps" else charts.C.worse if s.verdict == "hurts" else charts.C.muted
            ax.plot([x, x], [lo, min(hi, SEGMENT_WHISKER_MAX_PCT)], color=colour, lw=2)
            if hi > SEGMENT_WHISKER_MAX_PCT:
                ax.plot([x], [SEGMENT_WHISKER_MAX_PCT], "^", color=colour, ms=6, clip_on=False)
                clipped = True
            ax.plot([x], [(s.change_pct or 0.0)], "o", color=colour, ms=5)
            if s.change_pct is not None:  # the change itself, beside its dot
                ax.annotate(charts._pct_text(s.change_pct, d), (x, s.change_pct), xytext=(6, 0), textcoords="offset points",
                            ha="left", va="center", fontsize=charts.text_pt() - 1, color=colour,
                            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none"})
        if clipped:
            ax.set_ylim(top=SEGMENT_WHISKER_MAX_PCT * 1.05)
        ax.set_xlim(-0.5, len(a.segments) - 0.2)  # room for the last point's figure
        ax.axhline(0, color=charts.C.ink, lw=0.8)
        if a.axis == "load":
            ticks = [f"{s.center:g}" for s in a.segments]
        else:
            ticks = [f"{s.low:,.0f}–{s.high:,.0f}" for s in a.segments]
        ax.set_xticks(xs, ticks, fontsize=charts.text_pt() - 1)
        ax.yaxis.set_major_formatter(charts.PctTicks())
        ax.set_ylabel("change of mean")
        if a.axis == "load":
            ax.set_xlabel(a.unit, fontsize=charts.text_pt() - 1, color=charts.C.muted)
        title = f"{metric_label(a.metric)} change by {AXIS_TITLE[a.axis]}"
        ax.set_title(charts.legend_text(title, 28) if narrow or side_by_side else title)
    charts.tight_layout(fig, w_pad=2.0)
    return fig


@memoized
def segments_chart(axes: list[Any]) -> charts.Chart | None:
    """The helps/hurts chart of the axes where some segment helps or hurts (:func:`drawn_axes`);
    None when there is none: a chart of whiskers that all cross zero is not printed."""
    axes = drawn_axes(axes)
    if not axes:
        return None
    title = "Where the change helps and where it hurts"
    desc = "; ".join(f"{metric_label(a.metric)} by {AXIS_TITLE[a.axis]}: " + ", ".join(
        f"{SEGMENT_VERDICT.get(s.verdict, s.verdict)} ({fmt_pct(s.change_pct, digits=0)})" if s.change_pct is not None
        else SEGMENT_VERDICT.get(s.verdict, s.verdict) for s in a.segments)
        for a in axes)
    with plt.rc_context(charts.rc()):
        wide = charts._to_svg(_segments_figure(axes, False), title, desc)
        with charts.narrow_text():
            narrow = charts._to_svg(_segments_figure(axes, True), title, desc, "narrow")
    return charts.responsive(wide, narrow)


def segments_caption(axes: list[Any]) -> str:
    """What the segments chart draws, said under it (the figures are in the tables after it)."""
    drawn = drawn_axes(axes)
    if not drawn:
        return ""
    conf = drawn[0].confidence
    out = (f"Dot: the change of the mean in each segment; line: its {conf:.0%} interval, widened for the number "
           "of changes compared at once; green: helps, red: hurts, grey: no significant change.")
    if any(s.ci_ms[1] / (s.baseline_mean_ms or 1.0) * 100 > SEGMENT_WHISKER_MAX_PCT for a in drawn for s in a.segments):
        out += f" ▲: the interval continues above +{SEGMENT_WHISKER_MAX_PCT:.0f}% (the table has it)."
    left = [a for a in axes if a not in drawn]
    if left:
        out += (" Not drawn, no segment changed significantly: "
                + ", ".join(f"{metric_label(a.metric)} by {AXIS_TITLE[a.axis]}" for a in left) + " (table below).")
    return out


def _ci(s: Any) -> str:
    """A segment's change and its interval, signed as every change is written: '+5.55 ms [+0.77 ms, +10.3 ms]'."""
    return f"{fmt_ms_signed(s.change_ms)} [{fmt_ms_signed(s.ci_ms[0])}, {fmt_ms_signed(s.ci_ms[1])}]"


#: a segment's verdict in the words the results tables use for the same outcome (one word per verdict)
SEGMENT_VERDICT = {"helps": "helps", "hurts": "hurts", "unclear": "no significant change"}


def segments_view(report: Any, chart: charts.Chart | None) -> dict[str, Any] | None:
    """The helps/hurts segments and a cheap win's intended changes, from the Report (``segments``,
    ``optimization``) and the drawn segments chart."""
    seg = report.segments
    cw = report.optimization
    out: dict[str, Any] = {"intended": [c.claim for c in cw.changes] if cw is not None else [],
                           "intended_notes": list(cw.notes) if cw is not None else [],
                           "quality": (cw.quality_text if cw is not None and cw.quality_needed else None),
                           "chart": None, "caption": "", "axes": [], "crossovers": [], "notes": []}
    if seg is not None:
        out["notes"] = list(seg.notes)
        # a crossover, or a load point where the change is significantly worse (decided in story.segments)
        out["crossovers"] = [c.text for c in seg.crossovers] + [
            f.claim for f in report.findings if f.kind == "segment" and f.key.startswith("load:")]
        out["chart"] = chart
        out["caption"] = segments_caption(seg.axes) if chart is not None else ""
        for a in seg.axes:
            k = a.comparisons or len(a.segments)
            out["axes"].append({
                "title": f"{metric_label(a.metric)} by {AXIS_TITLE[a.axis]}",
                # the correction is named once, in the appendix's method paragraph (prose.intervals_method)
                "note": f"mean change with its {a.confidence:.0%} interval, widened because {k} "
                        + (f"changes are compared at once ({len(a.segments)} load points × {k // len(a.segments)} "
                           "objectives)" if a.comparisons and k % len(a.segments) == 0 else
                           "changes are compared at once" if a.comparisons else "segments are compared at once"),
                "rows": [{"range": (fmt_load(s.center, "rate" if a.unit == "req/s" else "concurrency") if a.axis == "load" else f"{s.low:,.0f}–{s.high:,.0f}"),
                          "n": f"{s.n_baseline} / {s.n_optimized}", "base": fmt_ms(s.baseline_mean_ms),
                          "opt": fmt_ms(s.optimized_mean_ms), "change": _ci(s),
                          "verdict": SEGMENT_VERDICT.get(s.verdict, s.verdict)}
                         for s in a.segments]})
    if not (out["intended"] or out["axes"] or out["notes"] or out["intended_notes"]):
        return None
    return out

