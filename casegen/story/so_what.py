"""Page 1's one plain "so what" line: what the change means in replicas or dollars.

A restatement of figures the report already shows (the cost section's replica count for the
case's peak, or its saving and payback), put in the words a reader outside the team uses, with
the same bounds as the cost section (:func:`casegen.story.findings.saving_phrase` and
``payback_phrase``). Added beside :mod:`casegen.story.findings` rather than inside it (issue 23);
the figures come from the Study's cost comparison, so the sentence cannot disagree with the cost
table. None when a figure is only a point estimate no load point certified.
"""

from __future__ import annotations

from typing import Any

from casegen.story.findings import cost_saving_phrase, cost_support, payback_phrase


def describes_picture(study: Any) -> bool:
    """Whether the so-what line describes page 1's picture and may stand above it as its title: the
    replica line ("the same peak runs on 5 replicas instead of 9") is read off the capacities at SLO, which
    a sweep's curve and a ladder's capacity waterfall draw. A dollar line, or any line over a fixed load's
    latency bars, describes nothing drawn: page 1 prints it after the picture instead."""
    lad = study.ladder
    capacity_drawn = bool(study.sweeps) or bool(
        lad is not None and all(r.capacity is not None and r.capacity.value_rps for r in lad.rungs))
    return capacity_drawn and _replicas_line(study) is not None


def _replicas_line(study: Any) -> str | None:
    """The replica line, when both sides' replica counts for the peak are known and differ."""
    c, cs = study.cost, study.case.cost
    if c is None or cs is None or not c.established:
        return None
    mark = "†" if cost_support(study) is not None else ""  # priced at a throughput change without an interval
    b, o = c.baseline, c.optimized
    if b.replicas_for_peak is None or o.replicas_for_peak is None or b.replicas_for_peak == o.replicas_for_peak:
        return None
    # a side priced at a capacity that is a lower bound needs at most that many replicas
    q = {("point", "point"): "", ("point", "at_most"): "at most "}.get((b.bound, o.bound))
    if q is None:
        return None
    # the planning load the replica count uses (cost.headroom), named as the cost assumptions name it
    basis = "capacity at SLO" if study.sweeps or study.ladder is not None else "measured throughput"
    return (f"The same {cs.peak_requests_per_s:,g} req/s peak runs on {q}{o.replicas_for_peak} replicas "
            f"instead of {b.replicas_for_peak}, each planned at {cs.headroom:.0%} of its {basis}{mark}.")


def so_what(study: Any) -> str | None:
    """One sentence, or None when the case gives no cost to say it in."""
    c = study.cost
    cs = study.case.cost
    if c is None or cs is None or not c.established:
        return None
    replicas = _replicas_line(study)
    if replicas is not None:
        return replicas
    mark = "†" if cost_support(study) is not None else ""  # priced at a throughput change without an interval
    if c.savings_usd_per_month > 0 and c.savings_bound != "unknown":
        said = cost_saving_phrase(c)
        # † marks the saving (a point estimate), not the payback clause after it
        return f"{said[:1].upper()}{said[1:]}{mark}; {payback_phrase(c)}."
    return None
