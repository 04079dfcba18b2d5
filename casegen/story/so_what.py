"""Page 1's one plain "so what" line: what the change means in replicas or dollars.

A restatement of figures the report already shows (the cost section's replica count for the
case's peak, or its savings sentence), put in the words a reader outside the team uses. Added
beside :mod:`casegen.story.findings` rather than inside it (issue 23); the figures come from the
Study's cost comparison, so the sentence cannot disagree with the cost table.
"""

from __future__ import annotations

from typing import Any


def so_what(study: Any) -> str | None:
    """One sentence, or None when the case gives no cost to say it in."""
    c = study.cost
    cs = study.case.cost
    if c is None or cs is None:
        return None
    rb, ro = c.baseline.replicas_for_peak, c.optimized.replicas_for_peak
    if rb is not None and ro is not None and rb != ro:
        return (f"The same {cs.peak_requests_per_s:,g} req/s peak runs on {ro} replicas instead of {rb} "
                f"(each loaded to {cs.headroom:.0%} of its measured throughput).")
    if c.savings_usd_per_month > 0:
        return c.verdict.rstrip(".") + "."
    return None
