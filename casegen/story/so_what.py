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

from casegen.story.findings import cost_support, payback_phrase, saving_phrase


def describes_picture(study: Any) -> bool:
    """Whether the so-what line reads as the title of page 1's picture: it is about replicas and dollars
    priced at the capacity at SLO, so it describes a sweep's curve (the capacities are marked on it) and a
    ladder's capacity waterfall; over a fixed load's latency bars it describes nothing drawn, and page 1
    prints it after the picture instead."""
    if study.sweeps:
        return True
    lad = study.ladder
    return bool(lad is not None and all(r.capacity is not None and r.capacity.value_rps for r in lad.rungs))


def so_what(study: Any) -> str | None:
    """One sentence, or None when the case gives no cost to say it in."""
    c = study.cost
    cs = study.case.cost
    if c is None or cs is None or not c.established:
        return None
    mark = "†" if cost_support(study) is not None else ""  # priced at a throughput change without an interval
    b, o = c.baseline, c.optimized
    if b.replicas_for_peak is not None and o.replicas_for_peak is not None and b.replicas_for_peak != o.replicas_for_peak:
        # a side priced at a capacity that is a lower bound needs at most that many replicas
        q = {("point", "point"): "", ("point", "at_most"): "at most "}.get((b.bound, o.bound))
        if q is not None:
            # the planning load the replica count uses (cost.headroom), named as the cost assumptions name it
            basis = "capacity at SLO" if study.sweeps or study.ladder is not None else "measured throughput"
            return (f"The same {cs.peak_requests_per_s:,g} req/s peak runs on {q}{o.replicas_for_peak} replicas "
                    f"instead of {b.replicas_for_peak}, each planned at {cs.headroom:.0%} of its {basis}{mark}.")
    if c.savings_usd_per_month > 0 and c.savings_bound != "unknown":
        said = saving_phrase(c.savings_usd_per_month, c.savings_bound)
        # † marks the saving (a point estimate), not the payback clause after it
        return f"{said[:1].upper()}{said[1:]}{mark}; {payback_phrase(c)}."
    return None
