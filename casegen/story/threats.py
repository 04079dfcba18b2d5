"""Threats in reader words where the analysis carries them as figures.

The "Too few requests for p99" threat (``checks.TooFew``) is worded here from the interval rule's numbers
(``uncertainty.Shortfall``: what an interval needs, what each run counts as), never parsed out of a sentence.
Its counts are the percentile's own, named as such, so a reader cannot take them for the count an
objective's verdict uses (the SLO table's "in counting requests over the limit …") or the dependence
threat's ("for an average …"): three different questions, each said with what it counts (issue 23).
"""

from __future__ import annotations

from typing import Any

from casegen import registry
from casegen.analysis.checks import Threat, TooFew


def metric_names(metrics: list[str]) -> str:
    """'TTFT', 'TPOT and end-to-end latency', 'TTFT, decode time and inter-chunk latency' (acronyms kept)."""
    low = []
    for m in metrics:
        x = registry.METRIC_LABELS.get(m, m)
        low.append(x if x[:2].isupper() else x[:1].lower() + x[1:])
    return low[0] if len(low) == 1 else ", ".join(low[:-1]) + " and " + low[-1]


def _statistic(stat: str) -> str:
    """'p99' → 'the 99th percentile', 'p50' → 'the median', 'mean' → 'the mean'."""
    if not stat.startswith("p"):
        return "the mean"
    if stat == "p50":
        return "the median"
    n = stat[1:]
    suffix = "th" if n.endswith(("11", "12", "13")) else {"1": "st", "2": "nd", "3": "rd"}.get(n[-1:], "th")
    return f"the {n}{suffix} percentile"


def _side_counts(tf: TooFew, first: bool = True) -> str:
    """'72 of the 736 needed for TTFT and 2 of 736 for TPOT and decode time' (the ``first`` side's first group
    names 'the … needed')."""
    groups: dict[tuple[int, int], list[str]] = {}
    for metric, s in tf.shortfalls:
        if not s.few:
            groups.setdefault((round(s.counted), s.needed), []).append(metric)
    parts = []
    for i, ((counted, needed), metrics) in enumerate(groups.items()):
        of = f"of the {needed:,} needed" if i == 0 and first else f"of {needed:,}"
        parts.append(f"{counted:,} {of} for {metric_names(metrics)}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _possessive(label: str) -> str:
    return label + ("'" if label.endswith("s") else "'s")


def too_few_reason(sides: list[tuple[str | None, TooFew]]) -> str:
    """One reason for the "Too few requests" threat of one or both sides (``sides``: the side's label, or None
    when the report has one side to speak of, with its figures)."""
    tf0 = sides[0][1]
    stat = tf0.stat
    out = [f"no {stat} interval (†, point value only)"]
    counted = [(label, tf) for label, tf in sides if any(not s.few for _m, s in tf.shortfalls)]
    few = [(label, tf, next(s for _m, s in tf.shortfalls if s.few)) for label, tf in sides
           if any(s.few for _m, s in tf.shortfalls)]
    sentences: list[str] = []
    if few:
        sizes = {round(s.counted) for _l, _t, s in few}
        floor = few[0][2].needed
        if len(sizes) == 1 and (len(few) == len(sides) or len(few) == 1):
            who = (f"{sizes.pop():,} requests a run" if len(few) > 1 or few[0][0] is None
                   else f"{few[0][0]} has {sizes.pop():,} requests")
        else:
            who = "; ".join(f"{label or 'the run'} has {round(s.counted):,} requests" for label, _t, s in few)
        sentences.append(f"{who}, fewer than {floor}: too few to tell whether neighbouring requests are alike, so no "
                         "interval is trustworthy")
    if counted:
        needs = {s.needed for _l, tf in counted for _m, s in tf.shortfalls if not s.few}
        need_text = (f"an interval of {_statistic(stat)} needs the weight of {tf0.needed:,} independent requests, "
                     f"{tf0.needed_dependent:,} where neighbouring requests are alike")
        if needs == {tf0.needed_dependent} and tf0.needed != tf0.needed_dependent:
            need_text = (f"an interval of {_statistic(stat)} needs the weight of {tf0.needed_dependent:,} independent "
                         f"requests where neighbouring requests are alike, as here ({tf0.needed:,} where they are not)")
        elif needs == {tf0.needed}:
            need_text = f"an interval of {_statistic(stat)} needs the weight of {tf0.needed:,} independent requests"
        cautious = [s.cautious for _l, tf in counted for _m, s in tf.shortfalls if not s.few]
        how = ("" if not any(cautious) else " (cautiously: the low end of an estimate)" if all(cautious)
               else " (cautiously where they are alike: the low end of an estimate)")
        texts = [(label, tf.requests, _side_counts(tf, i == 0)) for i, (label, tf) in enumerate(counted)]
        if len(texts) > 1 and len({(n, _side_counts(tf)) for (_l, n, _t), (_l2, tf) in zip(texts, counted)}) == 1:
            n, t = texts[0][1], texts[0][2]
            weigh = f"each run's {n:,} requests count as {t}" if n else f"each run counts as {t}"
        else:
            weigh = "; ".join(
                (f"{_possessive(label)} " if label else "the run's ") + (f"{n:,} requests count as " if i == 0 and n
                                                                        else f"{n:,} as " if n else "count as ") + t
                for i, (label, n, t) in enumerate(texts))
        sentences.append(f"{need_text}. Weighed for that percentile alone{how}, {weigh}")
    for label, tf in sides:
        for metric, why in tf.others:
            if why:
                sentences.append((f"{label}, " if label else "") + f"{metric_names([metric])}: {why}")
    return out[0] + (": " + ". ".join(s[:1].upper() + s[1:] if i else s for i, s in enumerate(sentences))
                     if sentences else "")


def threat_reason(t: Threat, label: str | None = None) -> str:
    """A threat's reason in reader words: worded from its figures where it carries them, else as found."""
    return too_few_reason([(label, t.too_few)]) if t.too_few is not None else t.reason


def group_reasons(threats: list[Threat], label_of: Any) -> list[tuple[str, list[str]]] | None:
    """The reasons of one threat key's threats (every side), when they carry figures: one reason for all of them,
    with the sides that have it (``label_of``: side → label). None when they do not (the caller groups the
    reasons as found)."""
    if not threats or any(t.too_few is None for t in threats):
        return None
    sides = [(label_of(t.side) if t.side else None, t.too_few) for t in threats]
    labels = [label for label, _tf in sides if label]
    if len(sides) == 1:
        sides = [(None, sides[0][1])]
    return [(too_few_reason(sides), labels)]  # type: ignore[arg-type]
