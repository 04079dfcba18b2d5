"""Page-1 claim of where a change helps and where it hurts (``casegen.analysis.segments``).

Rule (docs/findings.md, "Helps and hurts"): a crossover — segments on both sides of it whose
Bonferroni-corrected intervals exclude 0 with opposite signs — is a finding of kind ``segment``
that counts as a regression (the change significantly hurts part of the traffic), so it is on page 1
in the regression colour, and "In short" states it.
"""

from __future__ import annotations

from casegen.analysis.study import Study
from casegen.story.model import Evidence, Finding, Page1

_SHORT = {"input_tokens": ("short prompts", "long prompts"), "output_tokens": ("short answers", "long answers"),
          "load": ("low load", "high load")}


def findings(study: Study) -> list[Finding]:
    seg = study.segments
    if seg is None:
        return []
    from casegen.registry import label

    out = []
    for c in seg.crossovers:
        below, above = _SHORT[c.axis]
        hurt = above if c.helps == "below" else below
        unit = f" {c.unit}" if c.unit else ""
        lo, hi = c.bracket
        fmt = (lambda x: f"{x:,.0f}") if c.unit == "tokens" else (lambda x: f"{x:,.3g}")
        out.append(Finding(
            key=f"crossover:{c.axis}", kind="segment", claim=c.text,
            title=f"{label(c.metric)}: hurts {hurt}",
            value=f"crossover ~{fmt(c.estimate)}{unit}",
            detail=f"helps {below if c.helps == 'below' else above}, hurts {hurt}; crossover between {fmt(lo)} and "
                   f"{fmt(hi)}{unit} (segment intervals Bonferroni-corrected)",
            verdict="worse", strength="significant", regression=True,
            evidence=Evidence(metric=c.metric, unit="ms", change_pct=c.hurts_change_pct, significant=True,
                              operating_point=f"{c.axis} segments")))
    return out


def page1(study: Study, fs: list[Finding], p1: Page1) -> Page1:
    """'In short' states each crossover (its card is already among the regressions, rule 4)."""
    cross = [f for f in fs if f.kind == "segment"]
    if not cross:
        return p1
    text = " ".join(f.claim for f in cross)
    return p1.model_copy(update={"in_short": (p1.in_short + " " + text).strip()})
