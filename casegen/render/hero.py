"""Page 1's picture: one chart chosen by the kind of case, with its "so what" line.

* a ladder (several variants): the waterfall of the capacity at SLO (or, without one, of the
  objective's latency) from the baseline through each step to the total;
* a load sweep: the latency–throughput curve at the objective's own percentile, with both sides'
  capacity at SLO on their curves;
* one fixed load with objectives: each objective's statistic before and after, with its
  interval (none for summary-only data: the tool's printed value), against the limit;
* otherwise: the latency percentiles before and after (the results' bar chart).

The chart is drawn once with the others (:func:`hero_chart`); :func:`hero_view` is the builder of
the ``hero`` section (:mod:`casegen.render.sections`).
"""

from __future__ import annotations

from typing import Any

from casegen.analysis.metrics import METRIC_LABELS
from casegen.render.glossary import terms_in, visible_text


def _ladder(study: Any, report: Any) -> dict[str, Any] | None:
    from casegen.analysis.ladder import waterfall
    from casegen.render.ladder_charts import Panel, waterfall_chart
    from casegen.render.ladder_view import _ms, _rate, capacity_ranges, headline_stat

    lad = study.ladder
    spans = None
    if all(r.capacity is not None and r.capacity.value_rps for r in lad.rungs):
        w = waterfall(lad.rungs, lambda r: r.capacity.value_rps)
        spans = capacity_ranges(lad.rungs)
        title, fmt, lower = "Capacity at SLO (req/s per replica)", _rate, False
        at_least = lad.rungs[-1].capacity.bound == "at_least"
        caption = ("Each step's gain in capacity at SLO, from the baseline to the total"
                   + (" (the last variant passed every tested load: its capacity is a lower bound, ≥)" if at_least
                      else "") + ".")
        if report is not None and report.ladder is not None and report.ladder.estimates_note:
            caption += " " + report.ladder.estimates_note
    else:
        metric, stat = headline_stat(study.case)
        row = lambda r: r.metrics.latency_ms.get(metric)  # noqa: E731
        w = waterfall(lad.rungs, lambda r: row(r).get(stat) if row(r) is not None else None)
        title, fmt, lower = f"{METRIC_LABELS.get(metric, metric)} {stat}", _ms, True
        at_least = False
        caption = "Each step's change in latency, from the baseline to the total."
    if not w:
        return None
    prefix = "≥\u00a0" if study.ladder.rungs[-1].capacity is not None and fmt is _rate and at_least else ""
    from casegen.render.charts import narrow_text, responsive

    panel: list[Panel] = [(title, w, fmt, lower, prefix)]
    with narrow_text():
        narrow = waterfall_chart(panel, panel_size=(4.4, 3.0), variant="narrow", level_ranges=[spans])
    chart = responsive(waterfall_chart(panel, panel_size=(7.4, 2.0), level_ranges=[spans]), narrow)
    return {"chart": chart, "caption": caption}


def _sweep(study: Any) -> dict[str, Any] | None:
    from casegen.render.sweep_charts import latency_throughput_chart, sweep_chart_stats

    slos = study.case.slos
    if not slos:
        return None
    caps = study.capacities
    cb, co = caps.get("baseline"), caps.get("optimized")
    # the objective that limits the capacity (the baseline's first, else the optimized side's, else the first)
    limiting = [t for c in (cb, co) if c is not None for t in c.limiting]
    from casegen.analysis.sweep import slo_text

    slo = next((s for t in limiting for s in slos if slo_text(s) == t), slos[0])
    stats = [st for st in sweep_chart_stats(study, slo.metric) if st == f"p{slo.percentile:g}"] or \
        sweep_chart_stats(study, slo.metric)[:1]
    if not stats:
        return None
    kn = (study.knees.get("baseline", {}).get(slo.metric), study.knees.get("optimized", {}).get(slo.metric))
    chart = latency_throughput_chart(study.sweeps["baseline"], study.sweeps["optimized"], slo.metric,
                                     stats=tuple(stats), threshold_ms=slo.threshold_ms, knees=kn, capacities=(cb, co),
                                     title=f"{METRIC_LABELS.get(slo.metric, slo.metric)} {stats[0]} vs throughput", height_in=1.6)
    return {"chart": chart,
            "caption": (f"Each point is one load of the sweep; a side's capacity at SLO (◆) is where its "
                        f"{METRIC_LABELS.get(slo.metric, slo.metric)} {stats[0]} curve crosses the objective.")}


def _fixed(study: Any, drawn_stats: list[str]) -> dict[str, Any] | None:
    """Each objective's metric before and after at the statistic its page-1 card shows (the Report's
    ``page1.hero_statistics``, decided in story.findings): the objective's own percentile against its
    limit, or — when that has no interval and the card falls back to one that has — the card's
    statistic with its interval, the objective's figures said in the caption."""
    from casegen.formatting import fmt_ms, fmt_ms_limit
    from casegen.render.charts import slo_chart

    b, o = study.metrics["baseline"], study.metrics["optimized"]
    ib, io = study.intervals.get("baseline"), study.intervals.get("optimized")
    slos = {s.metric: s for s in reversed(study.case.slos)}  # the first objective of each metric
    pairs = [tuple(k.split(":", 1)) for k in drawn_stats] or [(s.metric, f"p{s.percentile:g}") for s in study.case.slos]
    rows, notes = [], []
    missing_ci = False
    for metric, st in pairs:
        dist_b, dist_o = b.latency_ms.get(metric), o.latency_ms.get(metric)
        value = lambda d, stat: d.get(stat) if d is not None and hasattr(d, stat) else None  # noqa: E731
        vb, vo = value(dist_b, st), value(dist_o, st)
        if vb is None and vo is None:
            continue
        slo = next((s for s in study.case.slos if s.metric == metric and f"p{s.percentile:g}" == st), None)
        cb = ib.intervals.get(metric, {}).get(st) if ib else None
        co = io.intervals.get(metric, {}).get(st) if io else None
        missing_ci = missing_ci or cb is None or co is None
        name = METRIC_LABELS.get(metric, metric)
        d = study.deltas.get(metric, {}).get(st)
        dci = study.delta_cis.get(metric, {}).get(st)
        change = None
        if d is not None and d.pct is not None:
            supported = dci is not None and dci.supported and dci.pct_low is not None
            change = {"pct": d.pct, "ci": (dci.pct_low, dci.pct_high) if supported else None,
                      "significant": bool(supported and dci.significant), "verdict": d.verdict}
        rows.append({"label": f"{name} {st}", "threshold": slo.threshold_ms if slo is not None else None,
                     "base": vb, "opt": vo, "base_ci": cb, "opt_ci": co, "change": change})
        own = slos.get(metric)
        if slo is None and own is not None:  # the card's fallback: say what the objective's own statistic shows
            ost = f"p{own.percentile:g}"
            ob, oo = value(dist_b, ost), value(dist_o, ost)
            notes.append(f"{name} is drawn at {st}, as on its card: its objective's {ost} ({fmt_ms(ob)} → "
                         f"{fmt_ms(oo)}, limit {fmt_ms_limit(own.threshold_ms)}) has too few independent requests "
                         "for an interval.")
    if not rows:
        return None
    caption = "Bars: the measured statistic; whiskers: its interval; dashed line: the objective's limit."
    if any(study.runs[side].summary_only for side in ("baseline", "optimized")):
        caption = ("Bars: the statistic as the benchmark tool printed it (summary-only data: no per-request "
                   "records, so no interval); dashed line: the objective's limit.")
    elif missing_ci:
        caption += " A bar without whiskers has too few independent requests for a trustworthy interval."
    caption = " ".join([caption] + notes)
    from casegen.render.charts import has_change_panel

    if has_change_panel(rows):
        # "Change" names the panel by its title: beside the bars on a page, below them on a phone
        caption += (f" Panel “Change”: the change from {study.label('baseline')} to {study.label('optimized')} with its "
                    f"{study.case.analysis.confidence:.0%} interval.")
    return {"chart": slo_chart(rows, study.label("baseline"), study.label("optimized"), study.case.analysis.confidence),
            "caption": caption}


def hero_chart(study: Any, report: Any = None) -> dict[str, Any] | None:
    """Page 1's chart and its caption (what the chart shows), drawn from the Study's figures at the
    statistics page 1 chose (``report.page1.hero_statistics``); None when no picture fits the case."""
    if study.ladder is not None:
        return _ladder(study, report)
    if study.sweeps:
        return _sweep(study)
    if study.case.slos:
        return _fixed(study, list(report.page1.hero_statistics) if report is not None else [])
    return None


def hero_view(report: Any, drawn: dict[str, Any]) -> dict[str, Any] | None:
    """The chart, its caption and the so-what line for page 1 (None: no picture fits the case)."""
    if drawn.get("hero") is None:
        return None
    view = dict(drawn["hero"])
    view["so_what"] = report.so_what
    view["so_what_above"] = report.so_what_with_picture
    # the few-word meanings, as the one-pager's line: page 1 stays one page; Appendix A defines each metric in full
    view["glossary"] = terms_in(page1_text(report, str(view["chart"]), view["caption"]), long=False)
    return view


def page1_text(report: Any, chart_html: str = "", caption: str = "") -> str:
    """What page 1 prints in words: the cards, the regressions and missed objectives, the so-what
    line, the picture's labels and caption, and "In short" — the text its glossary line covers."""
    p1 = report.page1
    parts = [f"{c.value} {c.title} {c.detail}" for c in list(p1.cards) + list(p1.regressions) + list(p1.missed)]
    parts += [report.so_what or "", visible_text(chart_html), caption, p1.in_short or ""]
    return "\n".join(parts)
