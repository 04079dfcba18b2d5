"""Page-1 claim of where a change helps and where it hurts (``casegen.analysis.segments``).

Rule (docs/findings.md, "Helps and hurts"): a crossover — segments on both sides of it whose
Bonferroni-corrected intervals exclude 0 with opposite signs — is a finding of kind ``segment``
that counts as a regression (the change significantly hurts part of the traffic), so it is on page 1
in the regression colour, and "In short" states it.
"""

from __future__ import annotations

from casegen.analysis.segments import SegmentAxis
from casegen.analysis.study import Study
from casegen.formatting import fmt_load, fmt_ms, fmt_ms_signed, fmt_pct, fmt_rate
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
                   f"{fmt(hi)}{unit} (intervals widened for the number of segments compared)",
            verdict="worse", strength="significant", regression=True,
            evidence=Evidence(metric=c.metric, unit="ms", change_pct=c.hurts_change_pct, significant=True,
                              operating_point=f"{c.axis} segments")))
    crossed = {c.axis for c in seg.crossovers}
    out += [f for ax in seg.axes if ax.axis == "load" and ax.axis not in crossed for f in load_regressions(study, ax)]
    return out


def load_regressions(study: Study, ax: SegmentAxis) -> list[Finding]:
    """A sweep's load point where the optimized side is significantly worse: the objective metric's mean
    change there has an interval above 0 after the Bonferroni correction over every load point and
    objective (``SegmentAxis.comparisons``). A regression (rule 4: on page 1, the one-pager and every
    output); a change whose interval includes 0 stays in the trade-offs table, not in any 'Worse' list."""
    from casegen.registry import label

    kind = study.sweeps["baseline"].load_kind if study.sweeps else "rate"
    pairs = {p.load: p for p in study.pairing.pairs} if study.pairing is not None else {}
    conf = ax.confidence
    k = ax.comparisons or len(ax.segments)
    metric = ax.metric
    name = label(metric)
    out = []
    for s in ax.segments:
        if s.verdict != "hurts":
            continue
        where = fmt_load(s.center, kind)
        pct = fmt_pct(s.change_pct, digits=0) if s.change_pct is not None else fmt_ms(s.change_ms)
        ci = f"{conf:.0%} interval {fmt_ms_signed(s.ci_ms[0])} to {fmt_ms_signed(s.ci_ms[1])}"
        n = (f"{s.n_baseline} requests a side" if s.n_baseline == s.n_optimized
             else f"{s.n_baseline} / {s.n_optimized} requests")
        values = f"mean {fmt_ms(s.baseline_mean_ms)} → {fmt_ms(s.optimized_mean_ms)}"
        pair = pairs.get(s.center)
        thr = ""
        if pair is not None and pair.base.achieved_rps and pair.opt.achieved_rps:
            thr = f"; throughput there {fmt_rate(pair.base.achieved_rps, '')} → {fmt_rate(pair.opt.achieved_rps)}"
        points = len(ax.segments)
        objectives = k // points if k % points == 0 else 0
        corrected = (f"corrected for {k} comparisons ({points} load points × {objectives} objectives)"
                     if objectives > 1 else f"corrected for {k} comparisons")
        out.append(Finding(
            key=f"load:{metric}:{s.center:g}", kind="segment", title=f"{name} at {where}", value=pct,
            claim=f"At {where} the change makes {name} worse: {values} ({pct}; {n}), {ci}, {corrected}{thr}.",
            detail=f"{values} ({n}); {ci}, {corrected}{thr}",
            verdict="worse", strength="significant", regression=True,
            evidence=Evidence(metric=metric, stat="mean", unit="ms", baseline=s.baseline_mean_ms,
                              optimized=s.optimized_mean_ms, change_abs=s.change_ms, change_pct=s.change_pct,
                              ci_abs=list(s.ci_ms), confidence=conf, n_baseline=s.n_baseline,
                              n_optimized=s.n_optimized, significant=True, operating_point=where)))
    return out


def page1(study: Study, fs: list[Finding], p1: Page1) -> Page1:
    """'In short' states each crossover (its card is already among the regressions, rule 4)."""
    cross = [f for f in fs if f.kind == "segment" and f.key.startswith("crossover:")]
    if not cross:
        return p1
    text = " ".join(f.claim for f in cross)
    return p1.model_copy(update={"in_short": (p1.in_short + " " + text).strip()})
