"""Page-1 claims of a cheap win (``optimization.kind`` other than ``serving``): the intended change,
the cost per request and the quality guardrail (or its absence). Figures: ``casegen.analysis.cheapwin``.

Rules (docs/findings.md, "Cheap wins"): the first card is the intended change (input tokens for
prompt trimming, the output change for capping, the user's wait for streaming, the model for
right-sizing; hit rate and hit/miss TTFT for caching); the cost card becomes cost per request (what a
cheap win saves); "In short" adds one sentence with the intended change, the cost per request (with the
monthly saving and payback: the general cost sentence is then left out, so the cost is said once) and
the quality guardrail or "quality not measured" (unless the caveat already names it).
"""

from __future__ import annotations

from casegen.analysis.study import Study
from casegen.story import findings as findings_story
from casegen.story.model import Card, Evidence, Finding, Page1

MAX_CARDS = 3
_FIRST = ("input_tokens", "output_tokens", "user_wait", "model", "cache_hit_rate")
#: intended changes that are a share of requests (the card shows the optimized side's share), not a change
_SHARES = {"output_cap": "cut", "cache_hit_rate": "hits"}


def _value(pct: float | None, fallback: str) -> str:
    return fallback if pct is None else f"{pct:+.0f}%".replace("-", "−")


def _num(v: float | str | None) -> float | None:
    return v if isinstance(v, float) else None


def findings(study: Study) -> list[Finding]:
    """One finding per measured intended change (kind 'workload', cost per request kind 'cost')."""
    cw = study.cheap_win
    if cw is None:
        return []
    out = []
    for c in cw.changes:
        share = c.key in _SHARES
        sig = bool(c.ci_pct) and (c.ci_pct[0] > 0 or c.ci_pct[1] < 0) if not share else None
        strength = "point_only" if not c.ci_pct else ("significant" if sig or share else "not_significant")
        lower = c.change_pct is not None and c.change_pct < -0.5
        higher = c.change_pct is not None and c.change_pct > 0.5
        verdict = "na" if c.key == "model" or share else "better" if lower else "worse" if higher else "same"
        if c.key == "cache_hit_ttft" and not sig:
            verdict = "same" if c.ci_pct else "na"  # an interval that includes 0 colours nothing
        value = (_value(c.change_pct, "") if not share else f"{c.optimized:.0%} {_SHARES[c.key]}") if c.key != "model" \
            else str(c.optimized or "—")
        out.append(Finding(
            key=f"intended:{c.key}", kind="cost" if c.key == "cost_per_request" else "workload", claim=c.claim,
            title=c.title, value=value, detail=c.detail, verdict=verdict, strength=strength,
            evidence=Evidence(metric=c.key, unit=c.unit, baseline=_num(c.baseline), optimized=_num(c.optimized),
                              change_pct=c.change_pct, ci_pct=c.ci_pct, confidence=c.confidence,
                              supported=bool(c.ci_pct), significant=sig if c.ci_pct else None,
                              operating_point="intended by the optimization")))
    return out


def _card(f: Finding) -> Card:
    return Card(finding=f.key, title=f.title, value=f.value, detail=f.detail, verdict=f.verdict)


def page1(study: Study, fs: list[Finding], p1: Page1) -> Page1:
    """Page 1 with the intended change first and cost per request as the cost card."""
    cw = study.cheap_win
    if cw is None:
        return p1
    by = {f.key: f for f in fs}
    first = next((by[f"intended:{k}"] for k in _FIRST if f"intended:{k}" in by), None)
    cost = by.get("intended:cost_per_request")
    cards = [c for c in p1.cards if c.finding != "cost" or cost is None]
    if first is not None:
        cards = [_card(first)] + cards
    if cost is not None:
        cards = cards[: MAX_CARDS - 1] + [_card(cost)]
    cards = cards[:MAX_CARDS]
    parts = [f"As intended by {cw.label[:1].lower() + cw.label[1:]}"]
    said = []
    seen: set[str] = set()
    for f in (first, by.get("intended:output_cap"), by.get("intended:cache_hit_rate"),
              by.get("intended:cache_hit_ttft"), cost):
        if f is not None and f.key not in seen:
            seen.add(f.key)
            said.append(findings_story._clause(f.claim))
    in_short = p1.in_short
    if cost is not None and study.cost is not None:
        # the cost is said once: the cost per request (from the tokens sent), with the monthly saving and the
        # payback of the general cost sentence, which "In short" then leaves out
        chosen = [by[c.finding] for c in p1.cards if c.finding in by and by[c.finding].kind != "cost"]
        in_short = findings_story.in_short(study, chosen, p1.regressions, p1.missed)
        text, _tone = findings_story.cost_sentence(study.cost)
        text = text[:1].lower() + text[1:]
        said[-1] += ("; at the projected volume " + ("it " if text.startswith(("saves", "costs")) else "") + text)
    sentence = parts[0] + ": " + "; ".join(said) if said else parts[0]
    if cw.quality == "measured":
        sentence += f"; quality guardrail: {cw.quality_text}"
    elif cw.quality_needed and not _caveat_is_quality(study):
        sentence += "; quality not measured — a major threat: the saving may be paid for in answer quality"
    selected = [c.finding for c in cards] + [k for k in p1.selected if k not in {c.finding for c in cards}]
    # the intended change belongs with the findings: before what was traded and the caveat, which close the paragraph
    cut = min([i for i in (in_short.find(" Traded: "), in_short.find(" Caveat: ")) if i >= 0], default=len(in_short))
    in_short = f"{in_short[:cut]} {sentence}.{in_short[cut:]}".strip()
    return p1.model_copy(update={"cards": cards, "in_short": in_short,
                                 "selected": selected})


def _caveat_is_quality(study: Study) -> bool:
    """'In short' already names "Quality not measured" as its caveat (the first major threat)."""
    major = [t for t in study.threats if t.severity == "major"]
    return bool(major) and major[0].key == "quality-not-measured"
