"""What the report's ladder section shows (template context; the numbers come from casegen.analysis.ladder)."""

from __future__ import annotations

from typing import Any

from casegen.analysis.ladder import Ladder, Rung, waterfall
from casegen.analysis.metrics import METRIC_LABELS
from casegen.analysis.sweep import FIGURE_BOUND
from casegen.formatting import (
    BOUND_SIGN,
    directed,
    fmt_ms,
    fmt_ratio,
    fmt_ratio_range,
    fmt_sig3,
    fmt_usd,
    fmt_usd_money,
    opposite_bound,
)
from casegen.render.charts import narrow_text, responsive
from casegen.render.ladder_charts import Panel, waterfall_chart


def _ms(v: float) -> str:
    return fmt_ms(v)  # the tables' style: 72.0 ms, 107 ms, 2.63 s, 12.4 s


def _usd(v: float) -> str:
    return fmt_usd(v, 0)


def _rate(v: float) -> str:
    return f"{fmt_sig3(v)} req/s"  # as in the text and tables: "41.2 req/s"


_ms.axis = "ms"  # type: ignore[attr-defined]  # how casegen.render.ladder_charts labels the y axis
_usd.axis = "usd"  # type: ignore[attr-defined]
_rate.axis = "plain"  # type: ignore[attr-defined]


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:+.1f}%".replace("-", "−")


def headline_stat(case) -> tuple[str, str]:
    """The latency figure the ladder follows: the first SLO's metric at its percentile (p50/p90/p95/p99)."""
    if case.slos:
        s = case.slos[0]
        p = min((50, 90, 95, 99), key=lambda q: abs(q - s.percentile))
        return s.metric, f"p{p}"
    return "ttft", "p50"


def ladder_chart(study: Any) -> Any:
    """The ladder section's waterfall (latency, throughput, capacity at SLO, monthly cost from the
    baseline through each step to the total), drawn from the Study's rungs; None without a ladder."""
    lad: Ladder | None = study.ladder
    if lad is None:
        return None
    metric, stat = headline_stat(study.case)
    mlabel = f"{METRIC_LABELS.get(metric, metric)} {stat}"

    def lat(r: Rung):
        row = r.metrics.latency_ms.get(metric)
        return row.get(stat) if row is not None else None

    panels: list[Panel] = []
    spans: list[list[tuple[float, float] | None] | None] = []  # where each level's estimate may lie (whiskers)
    w = waterfall(lad.rungs, lat)
    if w:
        panels.append((mlabel, w, _ms, True, ""))
        spans.append(None)
    w = waterfall(lad.rungs, lambda r: r.metrics.throughput.get("requests_per_s"))
    if w:
        panels.append(("Throughput (req/s)", w, _rate, False, ""))
        spans.append(None)
    if all(r.capacity is not None and r.capacity.value_rps for r in lad.rungs):
        w = waterfall(lad.rungs, lambda r: r.capacity.value_rps)
        if w:
            panels.append(("Capacity at SLO (req/s)", w, _rate, False,
                           "≥\u00a0" if lad.rungs[-1].capacity.bound == "at_least" else ""))
            spans.append(capacity_ranges(lad.rungs))
    if all(r.cost is not None for r in lad.rungs):
        w = waterfall(lad.rungs, lambda r: r.cost.usd_per_month)
        if w:
            # a cost priced at a capacity that is a bound is a bound too (the story's rule)
            panels.append(("Monthly cost (USD)", w, _usd, True,
                           {"at_most": "≤\u00a0", "at_least": "≥\u00a0"}.get(lad.rungs[-1].cost.bound, "")))
            spans.append([_cost_range(r) for r in lad.rungs])
    if not panels:
        return None
    with narrow_text():  # phones: the panels stacked, in type legible at a phone's width
        narrow = waterfall_chart(panels, panel_size=(4.4, 3.0), variant="narrow", cols=1, level_ranges=spans)
    return responsive(waterfall_chart(panels, level_ranges=spans), narrow)


def capacity_ranges(rungs: list[Rung]) -> list[tuple[float, float] | None]:
    """Where each rung's capacity at SLO may lie when it is an interpolated estimate (its range), else None."""
    return [r.capacity.ends_rps() if r.capacity is not None else None for r in rungs]


def _cost_range(r: Rung) -> tuple[float, float] | None:
    """A rung's monthly cost priced at both ends of its capacity's range, when it was (else None)."""
    ends = [r.cost_ends[k].usd_per_month for k in ("at_least", "at_most") if k in r.cost_ends]
    return (min(ends), max(ends)) if len(ends) == 2 else None


def _capacity_cell(cap: Any, ratio_estimate: float | None) -> str | None:
    """A step's capacity ratio as its finding decided it; a bound that counted an estimate at an end of its
    range also shows the ratio of the estimates (the waterfall's bars): '≥ 1.09× (estimate 1.30×)'."""
    if cap is None or ratio_estimate is None:
        return None
    shown = fmt_ratio(ratio_estimate)
    if cap.strength == "bound" and shown not in cap.value:
        return f"{cap.value} (estimate {BOUND_SIGN.get(cap.evidence.optimized_bound, '')}{shown})"
    spread = _estimates_spread(cap)
    return f"{cap.value} (range {fmt_ratio_range(*spread)})" if spread is not None else cap.value


def _estimates_spread(cap: Any) -> tuple[float, float] | None:
    """The range a step's capacity ratio between two estimates may take (its finding's evidence), else None."""
    ev = cap.evidence if cap is not None else None
    if ev is None or ev.ratio_bound != "point" or ev.ratio_low is None or ev.ratio_high is None:
        return None
    return (ev.ratio_low, ev.ratio_high) if ev.ratio_low < ev.ratio_high else None


def ladder_view(report: Any, drawn: dict[str, Any]) -> dict[str, Any] | None:
    """The ladder section from the Report (its steps' findings decided every verdict and bound) and
    the drawn waterfall."""
    lad = report.ladder
    if lad is None:
        return None
    metric, stat = headline_stat(report)
    mlabel = f"{METRIC_LABELS.get(metric, metric)} {stat}"
    rows = []
    ranged = False  # a step's capacity is a ratio of two estimates with a range
    for s in lad.steps:
        found = {f.key: f for f in s.findings}  # the step's findings: every verdict and bound decided there

        def cell(m: str, st: str) -> dict[str, Any]:
            d = s.latency_ms.get(m, {}).get(st)  # noqa: B023 (cell is called within this iteration)
            f = found.get(f"latency:{m}:{st}")  # noqa: B023
            if d is None or d.abs is None:
                return {"text": "—", "ci": "", "cls": ""}
            cls = f"v-{f.verdict}" if f is not None and f.verdict in ("better", "worse") else ""
            text = f"{_pct(d.pct)} ({'+' if d.abs > 0 else '−' if d.abs < 0 else ''}{_ms(abs(d.abs))})"
            ci = f.evidence.ci_pct if f is not None else None
            if ci and f is not None:
                ci_text = f"[{_pct(ci[0])}, {_pct(ci[1])}]" + (" exploratory" if f.strength == "exploratory" else "")
            elif f is not None and f.strength == "point_only":
                ci_text = "†"
            else:
                ci_text = ""
            return {"text": text, "ci": ci_text, "cls": cls}

        thr = s.throughput.get("requests_per_s")
        cap = found.get("capacity")
        ranged = ranged or _estimates_spread(cap) is not None
        rows.append({
            "index": s.index, "frm": s.frm, "to": s.to,
            "headline": cell(metric, stat),
            "ttft_p50": cell("ttft", "p50"),
            "tpot_p50": cell("tpot", "p50"),
            "throughput": _pct(thr.pct) if thr is not None else "—",
            "capacity": _capacity_cell(cap, s.capacity_ratio),
            "saving": s.saving_text,
            "one_time": _usd(s.one_time_cost_usd) if s.saving_text is not None else None,
            "payback": s.payback_text,
            "slo": [c for c in s.slo_changes if c.before != c.after],
            "worse": s.worse, "better": s.better,
            "tradeoffs": list(s.tradeoffs),
            "findings": [f"{f.title} {f.value}" for f in s.findings if f.verdict in ("better", "worse")],
            "regressions": s.worse,
        })
    per_request = all(r.data == "per-request" for r in lad.rungs)
    # the one-pager's step table: each variant's capacity and monthly cost (the waterfall's estimates,
    # a bound kept as its sign), each step against the one before as its finding states it
    rung_rows = []
    for i, r in enumerate(lad.rungs):
        step = rows[i - 1] if i > 0 else None
        cap_bound = FIGURE_BOUND.get(r.capacity.bound if r.capacity else "", "point")
        cost_bound = opposite_bound(cap_bound)  # more capacity, less cost
        cost = r.cost.usd_per_month if r.cost is not None else None
        rung_rows.append({
            "label": r.label,
            "capacity": (BOUND_SIGN.get(cap_bound, "") + directed(_rate, r.capacity.requests_per_s, cap_bound, finer=True)
                         if r.capacity is not None and r.capacity.requests_per_s else "—"),
            "step_capacity": step["capacity"] if step is not None else None,
            "cost": (BOUND_SIGN.get(cost_bound, "") + fmt_usd_money(cost, cost_bound)) if cost is not None else "—",
            # under its "Saving a month" header: "at least $221 (estimate $732)", "$1,044"
            "saving": step["saving"].removeprefix("saves ") if step is not None and step["saving"] else None,
        })
    load = None
    if lad.compare_at_load is not None:
        load = "unbounded rate" if lad.compare_at_load == "inf" else f"{lad.compare_at_load:g}"
    return {
        "estimates_note": lad.estimates_note,
        # the steps' savings at the estimates do not add up to the headline's bound (the mid review added
        # 1,044 + 221 and asked why the total claims only 779)
        "contrast": _contrast(lad),
        "steps_note": ("A step between two estimated capacities is priced at the estimates; its capacity range shows "
                       "how far either may move. The headline saving counts each estimate at the cautious end of its "
                       "range, so the steps' savings need not add up to it."
                       if lad.estimates_note and ranged else None),
        "rungs": [r.label for r in lad.rungs],
        "rung_rows": rung_rows,
        "rows": rows,
        "chart": drawn["ladder_section"],
        "headline_label": mlabel,
        "per_request": per_request,
        "compare_load": load,
        "has_capacity": any(r["capacity"] for r in rows),
        "has_cost": any(r["saving"] for r in rows),
        "findings": lad.findings,
        "notes": lad.notes,
        "confidence": f"{report.confidence:.0%}",
    }


def _contrast(lad: Any) -> str | None:
    """When the step that added the most throughput flat out is not the one that added the most capacity
    within the objectives, say so: the two panels of the waterfall rank the steps differently and a reader
    should not have to find it ('Flat out, + base scheduler added the most throughput (+6.58 req/s); within
    the objectives, + KV-cache-aware routing added the most capacity (+9.55 req/s, estimates).')."""
    if len(lad.steps) < 2 or any(r.capacity is None or not r.capacity.requests_per_s for r in lad.rungs):
        return None
    found = [s.throughput.get("requests_per_s") for s in lad.steps]
    if any(t is None or t.abs is None for t in found):
        return None
    thr: list[float] = [float(t.abs) for t in found]
    cap = [change for _label, change in (waterfall(lad.rungs, lambda r: r.capacity.requests_per_s) or [])[1:]]
    i_thr = max(range(len(thr)), key=lambda i: thr[i])
    i_cap = max(range(len(cap)), key=lambda i: cap[i])
    if i_thr == i_cap:
        return None
    return (f"The steps rank differently by the two measures: flat out, {lad.steps[i_thr].to} added the most "
            f"throughput (+{_rate(thr[i_thr])}); within the objectives, {lad.steps[i_cap].to} added the most "
            f"capacity (+{_rate(cap[i_cap])}, the waterfall's estimates).")
