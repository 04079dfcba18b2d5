"""Findings: every claim the evidence supports, and the rules that select page 1.

``findings(study)`` → list of :class:`~casegen.report.model.Finding` (claim + evidence + strength);
``select_page1(study, findings)`` → :class:`~casegen.report.model.Page1`. The rules are written out in
``docs/findings.md``; the tests in ``tests/test_findings.py`` check each one on constructed studies.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from casegen import registry
from casegen.analysis import stats
from casegen.analysis.cost import saving_bound
from casegen.analysis.study import SIDES, Study, step_study
from casegen.analysis.sweep import ranges_overlap
from casegen.analysis.uncertainty import MIN_REQUESTS
from casegen.case.model import machine_word
from casegen.formatting import (
    BOUND_SIGN,
    directed,
    fmt_bound,
    fmt_load,
    fmt_load_value,
    fmt_months_bound,
    fmt_ms,
    fmt_ms_limit,
    fmt_ms_signed,
    fmt_num,
    fmt_pct,
    fmt_pct_bound,
    fmt_rate,
    fmt_ratio,
    fmt_ratio_range,
    fmt_rps,
    fmt_share,
    fmt_usd,
    fmt_usd_bound,
    fmt_usd_money,
    opposite_bound,
)
from casegen.story.model import BoundKind, Card, Evidence, Finding, Page1

MAX_CARDS = 3
#: an SLO "got worse" when its verdict is worse or its attainment fell by at least this much (share)
ATTAINMENT_DROP = 0.01
#: a monthly saving smaller than this (USD) is "no saving"
ZERO_SAVING_USD = 0.5
VERDICT_RANK = {"fail": 0, "inconclusive": 1, "pass": 2}


# ----------------------------------------------------------------------------- where a figure holds


def _load_phrase(rate: float | None, concurrency: int | None) -> str:
    has_rate = rate is not None and math.isfinite(rate)
    if has_rate and concurrency is not None:
        return f"offered rate {fmt_load_value(rate)} req/s, at most {concurrency} requests at a time"  # type: ignore[arg-type]
    if has_rate:
        return f"offered rate {fmt_load_value(rate)} req/s"  # type: ignore[arg-type]
    if concurrency is not None:
        return f"fixed concurrency {concurrency}"
    if rate is not None:  # infinite rate, no concurrency cap
        return "all requests sent at once"
    return "a load that was not recorded"


def operating_point(study: Study) -> str:
    """The load the two compared runs were measured at, as it was (rate, concurrency or both)."""
    phrases = [_load_phrase(study.runs[s].meta.request_rate, study.runs[s].meta.max_concurrency) for s in SIDES]
    if study.sweeps and study.compare_load is not None:
        return f"the shared sweep point ({fmt_load(study.compare_load, study.sweeps['baseline'].load_kind)})"
    if phrases[0] == phrases[1]:
        return phrases[0]
    return f"{phrases[0]} (baseline) vs {phrases[1]} (optimized)"


# ----------------------------------------------------------------------------- statistics' status


def primary_statistics(study: Study) -> set[tuple[str, str]]:
    """(metric, stat) of the confirmatory family (uncertainty.primary_family: the SLO-named statistics)."""
    from casegen.analysis.uncertainty import primary_family

    return {(m, st) for m, st in primary_family(study.case)}


def _ci(study: Study, metric: str, stat: str) -> Any:
    return study.delta_cis.get(metric, {}).get(stat)


def supported(study: Study, metric: str, stat: str) -> bool:
    """The change of this statistic has a valid interval (else it is a † point value)."""
    ci = _ci(study, metric, stat)
    return bool(ci is not None and ci.supported)


def unsupported_reason(study: Study, metric: str, stat: str) -> str:
    """Why a statistic has no interval, in reader language."""
    if _ci(study, metric, stat) is None:
        return "no interval (summary-only data)"
    for side in SIDES:
        iv = study.intervals.get(side)
        reason = iv.reasons.get(metric, {}).get(stat) if iv is not None else None
        if reason:
            return f"{study.label(side)}: {reason}"
    from casegen.analysis.uncertainty import effective_n_needed

    need = effective_n_needed(stat, confidence=study.case.analysis.confidence)
    return f"no valid interval: {stat} needs ≥ {need:,} effective samples per side"


def _n(study: Study, side: str, metric: str) -> int | None:
    d = study.metrics[side].latency_ms.get(metric)
    return d.n if d is not None else None


# ----------------------------------------------------------------------------- latency


def latency_finding(study: Study, metric: str, stat: str, primary: set[tuple[str, str]]) -> Finding | None:
    d = study.deltas.get(metric, {}).get(stat)
    if d is None:
        return None
    ci = _ci(study, metric, stat)
    tested = sum(1 for row in study.delta_cis.values() for c in row.values()
                 if c.family == "primary" and c.supported and c.p_adjusted is not None)
    f = delta_finding(metric, stat, d, ci, primary, study.case.analysis.confidence, operating_point(study),
                      _n(study, "baseline", metric), _n(study, "optimized", metric), tested or None,
                      objective_met_words(study, metric, stat))
    if not f.evidence.supported:
        f.evidence.note = unsupported_reason(study, metric, stat)
    return f


def delta_finding(metric: str, stat: str, d: Any, ci: Any, primary: set[tuple[str, str]], conf: float,
                  op: str = "", n_base: int | None = None, n_opt: int | None = None,
                  family_size: int | None = None, met: str = "") -> Finding:
    """The finding for one latency statistic's change ``d`` (metrics.Delta) with its interval ``ci``
    (stats.DeltaCI or None): the same wording in the report and in ``casegen compare``. ``met``: that the
    statistic's objective is newly met, in words (``objective_met_words``), said right after the values."""
    ok = bool(ci is not None and ci.supported)
    family = ci.family if ci is not None else ("primary" if (metric, stat) in primary else "exploratory")
    significant = bool(ok and ci.significant)
    ev = Evidence(
        metric=metric, stat=stat, unit="ms", baseline=d.base, optimized=d.opt, change_abs=d.abs, change_pct=d.pct,
        ci_abs=[ci.abs_low, ci.abs_high] if ok else None,
        ci_pct=[ci.pct_low, ci.pct_high] if ok and ci.pct_low is not None else None,
        confidence=conf if ok else None, n_baseline=n_base, n_optimized=n_opt,
        significant=(bool(ci.significant) if ok else None), supported=ok, family=family,
        p_value=ci.p_value if ci is not None else None, p_adjusted=ci.p_adjusted if ci is not None else None,
        operating_point=op,
    )
    title = registry.stat_label(metric, stat)
    values = f"{fmt_ms(d.base)} → {fmt_ms(d.opt)}"
    # a change under 1 % keeps a decimal: "−0.1%", never a bare "0%" that reads as no result (issue 23)
    change = (fmt_pct(d.pct, digits=0 if abs(d.pct) >= 0.95 else 1) if d.pct is not None else fmt_ms(d.abs))
    ci_text = ""
    if ev.ci_pct:
        ci_text = f"{conf:.0%} CI {fmt_pct(ev.ci_pct[0])} to {fmt_pct(ev.ci_pct[1])}"
    elif ev.ci_abs:
        ci_text = f"{conf:.0%} CI {fmt_ms(ev.ci_abs[0])} to {fmt_ms(ev.ci_abs[1])}"
    if not ok:
        strength = "point_only"
        value, verdict = change + "†", "na"
        # the rule (casegen.analysis.uncertainty.support_rule): no interval below MIN_REQUESTS requests at all;
        # above it, a statistic needs enough *effective* (independent) requests
        small = [n for n in (n_base, n_opt) if n is not None and n < MIN_REQUESTS]
        few = (f"fewer than {MIN_REQUESTS} requests" if small else "too few independent requests")
        detail = f"{values}; " + (f"{met}; " if met else "") + "† point value only: " + (
            "summary-only data, no interval" if ci is None else f"{few} for an interval")
        claim = (f"{title}: {values} ({change}), " + (f"{met}, " if met else "") + "a point value without an interval ("
                 + ("summary-only data" if ci is None else few) + ").")
    elif significant:
        strength = "significant" if family == "primary" else "exploratory"
        value, verdict = change, d.verdict
        detail = f"{values}; " + (f"{met}; " if met else "") + ci_text + ("" if family == "primary" else "; exploratory")
        word = "fell" if d.abs < 0 else "rose"
        claim = (f"{title} {word} {abs(d.pct):.0f}% ({values}, {ci_text})" if d.pct is not None
                 else f"{title} {word} by {fmt_ms(abs(d.abs))} ({values}, {ci_text})") + (f", {met}" if met else "")
        claim += "." if family == "primary" else " — exploratory: not corrected for multiple comparisons."
    else:
        strength = "not_significant"
        value, verdict = "no significant change", "same"
        lo, hi = (ev.ci_pct or ev.ci_abs or [0.0, 0.0])
        if lo <= 0 <= hi:
            # what was found, in plain words: how large a change these requests can rule out (issue 23)
            size = (f"with {fmt_num(n_base)} and {fmt_num(n_opt)} requests" if n_base and n_opt and n_base != n_opt
                    else f"with {fmt_num(n_base or n_opt)} requests a side" if n_base or n_opt else "in these runs")
            bounds = (f"{fmt_pct(ev.ci_pct[0])} and {fmt_pct(ev.ci_pct[1])}" if ev.ci_pct else
                      f"{fmt_ms_signed(lo)} and {fmt_ms_signed(hi)}")
            detail = (f"{values} ({change}); no change detectable {size}: the {ci_text} includes 0, so the true "
                      f"change is between {bounds}")
            claim = (f"{title}: no change detectable {size} ({values}; the {ci_text} includes 0, so the true change "
                     f"is between {bounds}).")
        else:  # the unadjusted interval excludes 0 but the primary family's correction does not reject
            k = f"{family_size} " if family_size else ""
            adj = f"not significant once corrected for {k}comparisons made together"
            detail = f"{values} ({change}); {adj}; unadjusted {ci_text}"
            claim = f"{title}: no significant change ({values}; {adj}; unadjusted {ci_text})."
    return Finding(key=f"latency:{metric}:{stat}", kind="latency", claim=claim, title=title, value=value,
                   detail=detail, verdict=verdict, strength=strength,
                   regression=strength == "significant" and verdict == "worse", evidence=ev)


# ----------------------------------------------------------------------------- SLOs


def attainment_change(study: Study, rb: Any, ro: Any) -> tuple[str, float | None]:
    """Whether the share of requests within an SLO changed: 'worse' / 'better' when the two sides'
    attainments differ significantly and by at least ``ATTAINMENT_DROP``; else 'same'. Returns
    (verdict, p-value). The test is the study's (``Study.slo_differences``: effective counts that allow
    for dependence, or the runs as the unit; withheld when a side looks saturated); without it, a
    two-proportion test at the case's confidence."""
    if rb.attainment is None or ro.attainment is None:  # judged by a printed percentile: no test possible
        vb = rb.verdict.status if rb.verdict else None
        vo = ro.verdict.status if ro.verdict else None
        if vb == "pass" and vo == "fail":
            return "worse", None
        if vb == "fail" and vo == "pass":
            return "better", None
        return "same", None
    drop = rb.attainment - ro.attainment
    test = next((d for d in study.slo_differences
                 if d.metric == rb.metric and d.percentile == rb.percentile), None)
    if test is not None:
        if test.withheld or not test.significant or abs(drop) < ATTAINMENT_DROP:
            return "same", test.p_value
        return ("worse" if drop > 0 else "better"), test.p_value
    p = stats.two_proportion_p(rb.issued, rb.violations, ro.issued, ro.violations)
    if p is None or p >= 1.0 - study.case.analysis.confidence or abs(drop) < ATTAINMENT_DROP:
        return "same", p
    return ("worse" if drop > 0 else "better"), p


def slo_findings(study: Study) -> list[Finding]:
    """One finding per SLO. Its verdict is the change of attainment, decided by a test (a verdict
    change alone, e.g. a borderline pass → fail, is not a regression); ``missed`` is separate:
    the optimized side fails the objective (whether or not the baseline did)."""
    out = []
    for i, s in enumerate(study.case.slos):
        sb, so = study.slos.get("baseline"), study.slos.get("optimized")
        if sb is None or so is None or not sb.available or not so.available:
            continue
        rb, ro = sb.results[i], so.results[i]
        vb = rb.verdict.status if rb.verdict else None
        vo = ro.verdict.status if ro.verdict else None
        verdict, p = attainment_change(study, rb, ro)
        worse, better = verdict == "worse", verdict == "better"
        title = f"SLO {registry.stat_label(s.metric, registry.stat_key(s.percentile))} ≤ {fmt_ms_limit(s.threshold_ms)}"
        verdicts = f"verdict {vb} → {vo}" if vb != vo else f"verdict {vo} on both sides"
        printed = rb.basis == "printed" or ro.basis == "printed"
        if printed:  # the tool's printed percentile decides; there is no attainment and no interval
            att = (f"{registry.stat_key(s.percentile)} {fmt_ms(rb.observed_ms)} → {fmt_ms(ro.observed_ms)} "
                   "by the tools' printed values; no interval")
        else:
            att = f"{fmt_share(rb.attainment)} → {fmt_share(ro.attainment)} of requests within it"
        ev = Evidence(metric="slo_attainment", stat=registry.stat_key(s.percentile), unit="share",
                      baseline=rb.attainment, optimized=ro.attainment,
                      change_abs=(None if printed or rb.attainment is None or ro.attainment is None
                                  else ro.attainment - rb.attainment),
                      n_baseline=rb.issued, n_optimized=ro.issued, p_value=p,
                      significant=None if printed else verdict != "same", supported=not printed,
                      note="judged by the tool's printed percentile; no interval" if printed else "",
                      operating_point=operating_point(study))
        missed = vo == "fail"
        within = "" if printed else f"{fmt_share(ro.attainment)} within"
        if missed:
            value = "missed" + (" on both sides" if vb == "fail" else "") + (f", {within}" if within else "")
        elif worse or better:
            value = within or ("missed" if worse else "met")
        else:
            value = vo or "—"
        out.append(Finding(
            key=f"slo:{i}", kind="slo", title=title,
            claim=f"{title}: {att}; {verdicts}." + (" The optimized side misses this objective." if missed else ""),
            value=value, detail=f"{att}; {verdicts}",
            verdict=verdict,
            strength="judged", regression=worse, missed=missed, evidence=ev))
    return out


# ----------------------------------------------------------------------------- capacity


def capacity_range(cap: Any) -> tuple[BoundKind, float | None, float | None]:
    """(bound kind, low, high) of a sweep.Capacity, in req/s; high None = unbounded."""
    if cap is None or cap.value_rps is None:
        return "unknown", None, None
    v = cap.value_rps
    kind = cap.bound
    if kind in ("interpolated", "plateau"):  # plateau: tested from both sides, a point
        return "point", v, v
    if kind == "bracketed":
        above = cap.above.achieved_rps if cap.above is not None else None
        if above is not None and above > v:
            return "between", v, above
        return "at_least", v, None
    if kind == "at_least":
        return "at_least", v, None
    if kind == "below_min":
        return "below", 0.0, v
    return "unknown", None, None


def ratio_range(base: tuple[BoundKind, float | None, float | None],
                opt: tuple[BoundKind, float | None, float | None]) -> tuple[BoundKind, float | None, float | None]:
    """optimized / baseline when each is a point, a bound or a range: interval arithmetic."""
    kb, bl, bh = base
    ko, ol, oh = opt
    if kb == "unknown" or ko == "unknown" or bl is None or ol is None:
        return "unknown", None, None
    low = ol / bh if bh else 0.0  # bh None (unbounded) → 0
    high = (oh / bl) if (oh is not None and bl and bl > 0) else None
    if kb == "point" and ko == "point":
        return "point", low, low
    if high is None and low <= 0:
        return "unknown", None, None  # both lower bounds (or an unbounded ratio): not comparable
    if high is None:
        return "at_least", low, None
    if low <= 0:
        return "at_most", 0.0, high
    if math.isclose(low, high):
        return "point", low, low
    return "between", low, high


def _beside(r: tuple[BoundKind, float | None, float | None], cap: Any,
            other: Any) -> tuple[BoundKind, float | None, float | None]:
    """``r`` (a capacity_range) with an estimate's range in place of its point when ``other`` is a bound."""
    if cap.beside(other) is None:
        return r
    lo, hi = cap.ends_rps()
    return r[0], lo, hi


def _estimates_range(cb: Any, co: Any) -> tuple[float, float] | None:
    """Where the ratio of two interpolated capacities may lie: each estimate anywhere in its range
    (``Capacity.ends_rps``: its interval, else its bracketing load points) — optimized's low end over
    baseline's high end, and the reverse. None unless both sides are estimates with a range."""
    eb, eo = cb.ends_rps(), co.ends_rps()
    if eb is None or eo is None or eb[0] <= 0 or eb[1] <= 0:
        return None
    return eo[0] / eb[1], eo[1] / eb[0]


def _ratio_text(kind: BoundKind, low: float | None, high: float | None) -> str:
    # a bound rounds the way that keeps it true (formatting.directed): 1.3213 → "≥ 1.32×", 0.303 → "≤ 0.31×"
    if kind == "point":
        return fmt_ratio(low)
    if kind == "at_least" and low is not None:
        return f"≥ {directed(fmt_ratio, low, 'at_least')}"
    if kind == "at_most" and high is not None:
        return f"≤ {directed(fmt_ratio, high, 'at_most')}"
    if kind == "between" and low is not None and high is not None:
        return fmt_ratio_range(low, high)
    return "unknown"


def _cap_text(r: tuple[BoundKind, float | None, float | None]) -> str:
    """'23.8 req/s', '≥ 41.2 req/s' (an estimate beside a bound is its estimate: the end of its range a
    ratio's bound counts is said by :func:`_estimate_clause`)."""
    kind, low, high = r
    if kind == "below":
        return fmt_bound("below", high)
    return fmt_bound(kind, low, "req/s", high)


def _estimate_clause(rb: tuple[BoundKind, float | None, float | None], cb: Any,
                     ro: tuple[BoundKind, float | None, float | None], co: Any, labels: tuple[str, str]) -> str:
    """Beside a ratio bound that counted an estimate at an end of its range, the ratio at the estimate
    and which end the bound used: '≥ 1.73× at the estimate; the bound counts No llm-d features at
    31.2 req/s, the top of its range'. '' when no estimate was counted at an end."""
    ends = [(label, cap.beside(other)) for label, cap, other in ((labels[0], cb, co), (labels[1], co, cb))]
    ends = [(label, e) for label, e in ends if e is not None]
    if not ends:
        return ""
    kind, low, high = ratio_range(rb, ro)
    which = " and ".join(f"{label} at {fmt_rate(e[0])}, the {'top' if e[1] == 'at_least' else 'bottom'} of its range"
                         for label, e in ends)
    return f"{_ratio_text(kind, low, high)} at the estimate, {{bound}} even with {which}"


def _capacity_words(label: str, cap: Any) -> str:
    """What one side did in its sweep, in plain words: 'Optimized met the objectives at every load
    tested, up to 10.2 req/s', 'Baseline crossed TTFT p90 ≤ 90 ms at about 6.65 req/s
    (between its load points at 5.22 and 8.58 req/s)'."""
    v = cap.value_rps
    if v is None:
        return f"{label}'s capacity is unknown"
    if cap.bound == "at_least":
        # a lower bound, printed as every bound is (rounded down: "≥ 10.1 req/s" in the capacity table)
        return f"{label} met the objectives at every load tested, up to {fmt_bound('at_least', v).lstrip('≥ ')}"
    if cap.bound == "below_min":
        return f"{label} missed them already at its lightest load ({fmt_rate(v)})"
    lim = " and ".join(cap.limiting) or "the objectives"
    ends = cap.ends_text()
    return f"{label} crossed {lim} at about {fmt_rate(v)}" + (f" ({ends})" if ends else "")


def _requests_per_point(*caps: Any) -> str:
    """', 24 a load point,' when every point of the sweeps has the same count, else ''."""
    counts = {p.metrics.requests.get("succeeded") for c in caps for p in c.points}
    if len(counts) != 1 or None in counts:
        return ""
    (n,) = counts
    return f", {fmt_num(n)} a load point,"


def capacity_finding(study: Study) -> Finding | None:
    cb, co = study.capacities.get("baseline"), study.capacities.get("optimized")
    if cb is None or co is None:
        return None
    from casegen.analysis.sweep import slo_text

    rb, ro = capacity_range(cb), capacity_range(co)
    # an estimate beside a bound enters the ratio's bound with its range (Capacity.ends_rps), so "≥ 1.3×"
    # holds wherever in its range the estimate's truth lies
    kind, low, high = ratio_range(_beside(rb, cb, co), _beside(ro, co, cb))
    ratio_txt = _ratio_text(kind, low, high)
    slo_phrase = " and ".join(slo_text(x) for x in study.case.slos)
    verdict = ("better" if low is not None and low > 1.005 else
               "worse" if high is not None and high < 0.995 else
               "same" if kind == "point" else "na")
    first = _cap_text(rb)
    values = f"{first.removesuffix(' req/s') if rb[0] == 'point' else first} → {_cap_text(ro)} per replica"
    ev = Evidence(metric="capacity_rps", unit="req/s", baseline=rb[1], optimized=ro[1], baseline_upper=rb[2],
                  optimized_upper=ro[2], baseline_bound=rb[0], optimized_bound=ro[0],
                  ratio=low if kind == "point" else None, ratio_low=low, ratio_high=high, ratio_bound=kind,
                  operating_point="capacity at SLO")
    if kind == "unknown":
        both_pass = rb[0] == "at_least" and ro[0] == "at_least"
        both_below = rb[0] == "below" and ro[0] == "below"
        why = ("both sides met the objectives at every load they measured, so neither sweep reached its limit"
               if both_pass else
               "both sides already miss the objectives at their lowest load, so both capacities are only upper bounds"
               if both_below else "at least one capacity is unknown")
        claim = f"Capacity under {slo_phrase} cannot be compared ({values}): {why}."
        return Finding(key="capacity", kind="capacity", claim=claim, title="capacity at SLO (per replica)",
                       value="not reached" if both_pass else "unknown", detail=f"{values}; {why}", verdict="na",
                       strength="bound", evidence=ev)
    est = _estimate_clause(rb, cb, ro, co, (study.label("baseline"), study.label("optimized")))
    values_est = f"{values}, {est.format(bound=ratio_txt)}" if est else values
    spread = _estimates_range(cb, co) if kind == "point" else None
    if spread is not None:  # two estimates: the ratio each could take between its sides' load points
        ev.ratio_low, ev.ratio_high = spread
        if ranges_overlap(cb.ends_rps(), co.ends_rps()):  # no gain (or a loss) not ruled out: no verdict colour
            verdict = "na"
        values_est += f"; {fmt_ratio_range(*spread)} between the load points around each crossing"
    unproven = [study.label(s) for s, cap in (("baseline", cb), ("optimized", co)) if not cap.established]
    if unproven:  # estimates only: no load point passed with enough requests to certify it. Page 1 still
        # says what was found (issue 23): what each side did in the sweep, the estimate's ratio marked
        # uncertified (neutral, never a verdict colour), and why it is not certified
        who = "either side's" if len(unproven) == 2 else f"{unproven[0]}'s"
        found = "; ".join(_capacity_words(study.label(s), cap) for s, cap in (("baseline", cb), ("optimized", co)))
        n = _requests_per_point(cb, co)
        why = f"too few requests{n} to certify any of {who} load points"
        ev.note = why
        ev.supported = False
        ratio_words = f"{ratio_txt} (uncertified)" if kind != "unknown" else "uncertified"
        return Finding(key="capacity", kind="capacity", title="capacity at SLO (per replica)",
                       claim=(f"Under {slo_phrase}, {found}: {ratio_txt} the requests per replica, uncertified "
                              f"({why})."),
                       value=ratio_words, detail=f"{found}; {why}", verdict="na", strength="point_only",
                       evidence=ev)
    claim = f"Under {slo_phrase}, one replica carries {ratio_txt} the requests ({values_est})."
    return Finding(key="capacity", kind="capacity", claim=claim, title="capacity at SLO (per replica)",
                   value=ratio_txt, detail=values_est, verdict=verdict,
                   strength="bound" if kind != "point" else "point_only", regression=verdict == "worse",
                   evidence=ev)


# ----------------------------------------------------------------------------- throughput, cost


def rate_bound(study: Study) -> bool:
    """Both runs are open-loop at the same finite rate and kept up with it: throughput is the offered rate."""
    rb, ro = study.runs["baseline"].meta.request_rate, study.runs["optimized"].meta.request_rate
    if rb is None or ro is None or not math.isfinite(rb) or not math.isclose(rb, ro, rel_tol=0.01):
        return False
    if study.runs["baseline"].meta.max_concurrency is not None or study.runs["optimized"].meta.max_concurrency is not None:
        return False
    xb = study.metrics["baseline"].throughput.get("requests_per_s")
    xo = study.metrics["optimized"].throughput.get("requests_per_s")
    return bool(xb and xo and xb >= 0.9 * rb and xo >= 0.9 * ro)


def throughput_finding(study: Study) -> Finding | None:
    if study.sweeps:
        return None  # capacity at SLO is the throughput claim of a sweep
    d = study.throughput_deltas.get("output_tokens_per_s") or study.throughput_deltas.get("requests_per_s")
    key = "output_tokens_per_s" if study.throughput_deltas.get("output_tokens_per_s") else "requests_per_s"
    if d is None:
        return None
    unit = registry.METRICS[key].unit
    op = operating_point(study)
    values = f"{fmt_num(d.base, 0 if unit == 'tok/s' else 2)} → {fmt_num(d.opt, 0 if unit == 'tok/s' else 2)} {unit}"
    ev = Evidence(metric=key, unit=unit, baseline=d.base, optimized=d.opt, change_abs=d.abs, change_pct=d.pct,
                  supported=False, operating_point=op)
    if rate_bound(study):
        return Finding(key=f"throughput:{key}", kind="throughput", title="output throughput", value="= offered rate",
                       detail=f"{values}; both runs kept up with the offered rate",
                       claim=f"Both runs kept up with the offered rate ({op}), so throughput ({values}) shows the load "
                             "sent, not what a replica can carry.",
                       verdict="na", strength="point_only", evidence=ev)
    return throughput_delta_finding(key, d, op, study.throughput_delta_cis.get(key), study.case.analysis.confidence)


def throughput_delta_finding(key: str, d: Any, op: str, ci: Any = None, conf: float = 0.95) -> Finding:
    """A throughput change measured at ``op``, judged by its batch-means interval ``ci``
    (throughput.ThroughputDeltaCI): better/worse only when the interval excludes 0; without an
    interval the change is a neutral point value (†)."""
    unit = registry.METRICS[key].unit
    digits = 0 if unit == "tok/s" else 2
    values = f"{fmt_num(d.base, digits)} → {fmt_num(d.opt, digits)} {unit}"
    # a small change keeps one decimal: −0.52 % is "−0.5%", never "−1%"
    change = fmt_pct(d.pct, digits=0 if d.pct is not None and abs(d.pct) >= 9.95 else 1)
    where = f" at {op}" if op else ""
    ok = bool(ci is not None and ci.supported)
    ev = Evidence(metric=key, unit=unit, baseline=d.base, optimized=d.opt, change_abs=d.abs, change_pct=d.pct,
                  ci_pct=[ci.pct_low, ci.pct_high] if ok else None, confidence=conf if ok else None,
                  significant=bool(ci.significant) if ok else None, supported=ok, operating_point=op)
    title = "output throughput" if key == "output_tokens_per_s" else "request throughput"
    cap = title[:1].upper() + title[1:]
    if not ok:
        why = ci.reason if ci is not None and ci.reason else "no interval"
        return Finding(key=f"throughput:{key}", kind="throughput", title=title, value=change + "†",
                       detail=f"{values}{where}; † point value only: {why}", verdict="na",
                       claim=f"{cap} changed {change} ({values}){where}, a point value without an interval ({why}).",
                       strength="point_only", evidence=ev)
    ci_text = f"{conf:.0%} CI {fmt_pct(ci.pct_low)} to {fmt_pct(ci.pct_high)}"
    if ci.significant:
        return Finding(key=f"throughput:{key}", kind="throughput", title=title, value=change,
                       detail=f"{values}{where}; {ci_text}", verdict=d.verdict,
                       claim=f"{cap} changed {change} ({values}{where}, {ci_text}).",
                       strength="exploratory", evidence=ev)
    return Finding(key=f"throughput:{key}", kind="throughput", title=title, value="no significant change",
                   detail=f"{values} ({change}){where}; {ci_text}, includes 0", verdict="same",
                   claim=f"{cap}: no significant change ({values}{where}, {ci_text}).",
                   strength="not_significant", evidence=ev)


def failure_verdict(study: Study) -> str:
    """Whether the share of failed requests changed: better / worse only when the two error rates
    differ significantly (two-proportion test at the case's confidence), else same; na without counts."""
    rb, ro = study.metrics["baseline"].requests, study.metrics["optimized"].requests
    nb, no, fb, fo = rb.get("total"), ro.get("total"), rb.get("failed"), ro.get("failed")
    if not nb or not no or fb is None or fo is None:
        return "na"
    p = stats.two_proportion_p(int(nb), int(fb), int(no), int(fo))
    if p is None or p >= 1.0 - study.case.analysis.confidence:
        return "same"
    return "better" if fo / no < fb / nb else "worse"


def cost_operating_point(study: Study) -> str:
    if study.sweeps and study.capacities and any(c is not None and c.value_rps for c in study.capacities.values()):
        return "at capacity under the SLOs"
    c = study.cost
    if c is not None and c.baseline.kind == "api" and c.optimized.kind == "api":
        return "from token counts and list prices"
    return "at the throughput measured at " + operating_point(study)


def cost_basis(study: Study) -> str | None:
    """Which monthly figure is the headline, and why."""
    c, cs = study.cost, study.case.cost
    if c is None or cs is None:
        return None
    vol = f"{cs.requests_per_month:,.0f} requests a month"
    if cs.monthly_basis == "fleet":
        return (f"The monthly figure is the always-on fleet sized for the peak of {cs.peak_requests_per_s:g} req/s "
                f"(replicas × 730 h), as the author chose; it is paid whether or not {vol} arrive.")
    kinds = {c.baseline.kind, c.optimized.kind}
    # the words follow the hardware priced: a CPU VM's time is "instance time", never "GPU time" (issue 23)
    words = {machine_word(sp.self_hosted.gpu) for sp in (cs.baseline, cs.optimized) if sp.self_hosted is not None}
    unit = words.pop() if len(words) == 1 else "machine"
    paid = ("the API's per-token prices for the tokens the requests use" if kinds == {"api"} else
            f"only for the {unit} time the requests use at the stated utilisation" if kinds == {"self_hosted"} else
            f"for what the requests use: {unit} time at the stated utilisation on the self-hosted side, per-token "
            "prices on the API side")
    text = f"The monthly figure is usage-based: cost per request × {vol}, i.e. paying {paid}."
    if c.baseline.fleet_usd_per_month is not None or c.optimized.fleet_usd_per_month is not None:
        text += (f" The always-on fleet for the {cs.peak_requests_per_s:g} req/s peak "
                 f"({fmt_usd_money(c.baseline.fleet_usd_per_month)} → {fmt_usd_money(c.optimized.fleet_usd_per_month)} a month) "
                 "is shown beside it as the cost of owning replicas for the peak; it is not the headline.")
    return text




def usd_text(value: float | None, bound: str = "point", digits: int | None = None) -> str:
    """Money known as a point or a bound: '$4.21', '≤ $4.21', '≥ $6.47' (a bound rounded the way that keeps
    it true: ≥ $21.58 is '≥ $21')."""
    if value is None:
        return fmt_usd(value, digits)
    return BOUND_SIGN.get(bound, "") + fmt_usd_bound(value, bound, digits)


def money_text(value: float, bound: str = "point") -> str:
    """A monthly amount known as a point or a bound, with its sign: '$4,202', '≤ $2,427', '≥ $21.58'
    (whole dollars from $100, :func:`casegen.formatting.fmt_usd_money`)."""
    return BOUND_SIGN.get(bound, "") + fmt_usd_money(value, bound)



def _pct0(v: float, bound: str) -> str:
    return directed(lambda x: fmt_pct(x, digits=0), v, bound)


def saving_phrase(saving: float, bound: str) -> str:
    """'saves $41 a month', 'costs $41 more a month', 'costs at least $41 more a month', 'saves at most $9 a month'."""
    if bound == "unknown":
        return f"changes the monthly cost by an unknown amount (point estimate {fmt_usd_money(saving)})"
    # |saving| as a bound: a saving ≥ s (or a cost increase ≥ x) is a lower bound on its size
    size_bound = bound if saving >= 0 else opposite_bound(bound)
    money = fmt_usd_money(abs(saving), size_bound)
    if saving >= 0:
        q = {"at_least": "at least ", "at_most": "at most "}.get(bound, "")
        return f"saves {q}{money} a month"
    # a negative saving: at_most (saving ≤ −x) means it costs at least x more
    q = {"at_most": "at least ", "at_least": "at most "}.get(bound, "")
    return f"costs {q}{money} more a month"


def estimate_of(c: Any) -> Any:
    """The cost comparison at the interpolated capacities' estimates (``CostComparison.estimate`` /
    ``CostFigures.estimate``) when ``c``'s bounds counted an estimate at an end of its range; else None."""
    return getattr(c, "estimate", None)


def saving_estimate(c: Any) -> str:
    """'estimate $1,776': the monthly saving at the estimates beside a bound that counted an estimate at
    an end of its range; '' otherwise."""
    est = estimate_of(c)
    if est is None or est.savings_usd_per_month is None or est.savings_usd_per_month <= 0:
        return ""
    return f"estimate {fmt_usd_money(est.savings_usd_per_month, est.savings_bound)}"


def cost_saving_phrase(c: Any) -> str:
    """:func:`saving_phrase` of a cost comparison with its estimate (:func:`saving_estimate`):
    'saves at least $781 a month (estimate $1,776)'."""
    text = saving_phrase(c.savings_usd_per_month, c.savings_bound)
    est = saving_estimate(c)
    return f"{text} ({est})" if est else text


def cost_estimate_note(c: Any) -> str:
    """Under a cost table of bounds that counted an estimate at an end of its range, the comparison at
    the estimates (the figures the charts and ladder steps show); '' without one."""
    est = estimate_of(c)
    if est is None:
        return ""
    b, o = est.baseline, est.optimized
    parts = []
    eb, eo = b.usd_per_million_output_tokens, o.usd_per_million_output_tokens
    kind = change_bound(b.bound, o.bound)
    if eb and eo and kind is not None:
        parts.append(f"cost per 1M output tokens is {usd_text(eb, b.bound)} → {usd_text(eo, o.bound)} "
                     f"({fmt_pct_bound(kind, (eo - eb) / eb * 100, digits=0)})")
    if b.usd_per_month is not None and o.usd_per_month is not None:
        # the estimates' figures as figures: "a saving of at least $9.63" under "saves at least $3.37" read as a
        # contradiction (both reviews); that a side is itself a lower bound is said once, at the end
        parts.append(f"the monthly cost {money_text(b.usd_per_month, b.bound)} → {money_text(o.usd_per_month, o.bound)}, "
                     # rounded as "(estimate $9.63)" beside the headline prints the same figure
                     f"a saving of {fmt_usd_money(est.savings_usd_per_month, est.savings_bound)} a month")
    if est.payback_months is not None and c.one_time_cost_usd > 0:
        # rounded as the payback line beside the headline prints the same estimates ("estimate 5.7 months")
        parts.append(f"payback in {fmt_months_bound(est.payback_months, opposite_bound(est.savings_bound))} months"
                     + (f" and return over {c.horizon_months} months {_pct0(est.roi_pct, est.savings_bound)}"
                        if est.roi_pct is not None else ""))
    if not parts:
        return ""
    lower = est.savings_bound == "at_least"
    return ("At the estimated capacities (the figures the charts and steps use), " + "; ".join(parts)
            + ". These are estimates" + (" (more still where a capacity marked ≥ is above its tested figure)"
                                          if lower else "")
            + "; the headline figures are the cautious ones: they count each estimate at the end of its range "
            "that keeps them true, so they hold wherever in its range the true capacity lies.")


def payback_phrase(c: Any) -> str:
    """Payback and ROI in words, bounds in words ('pays back within 4.2 months'), with the estimate
    beside a bound that counted an interpolated capacity at an end of its range."""
    if c.savings_usd_per_month <= 0 or abs(c.savings_usd_per_month) < ZERO_SAVING_USD:
        return "there is no payback"
    if c.one_time_cost_usd <= 0 or c.payback_months is None:
        return "there is no one-time cost to pay back"
    est = estimate_of(c)
    est_pb = est.payback_months if est is not None else None
    # payback = one-time / saving: a saving at least s pays back within …
    q = {"at_least": "within ", "at_most": "in no less than "}.get(c.savings_bound, "in ")
    pb = opposite_bound(c.savings_bound)
    text = (f"the {fmt_usd(c.one_time_cost_usd, 0)} one-time cost pays back {q}{fmt_months_bound(c.payback_months, pb)} "
            "months")
    if est_pb is not None:
        text += f" (estimate {fmt_months_bound(est_pb, opposite_bound(est.savings_bound))} months)"
    if c.payback_months > c.horizon_months:
        # an upper bound beyond the horizon may still pay back within it
        # ("within 12.9 months, possibly beyond the 12-month horizon" read as a contradiction)
        text += (f"; at worst that is after the {c.horizon_months}-month horizon" if c.savings_bound == "at_least"
                 else f", beyond the {c.horizon_months}-month horizon")
    if c.roi_pct is not None and c.roi_pct < 0:
        roi_q = {"at_least": "at worst ", "at_most": "at best "}.get(c.savings_bound, "")  # ROI grows with the saving
        est_roi = (f", estimate {_pct0(est.roi_pct, est.savings_bound)}"
                   if est is not None and est.roi_pct is not None else "")
        text += f" (return over {c.horizon_months} months: {roi_q}{_pct0(c.roi_pct, c.savings_bound)}{est_roi})"
    return text


def cost_is_loss(c: Any) -> bool:
    """The change costs more than it saves: a higher monthly cost, or a one-time cost that the saving does
    not repay within the horizon (payback beyond it, negative ROI)."""
    if c.savings_usd_per_month < -ZERO_SAVING_USD and c.savings_bound in ("point", "at_most"):
        return True
    if c.savings_usd_per_month > 0 and c.one_time_cost_usd > 0 and c.savings_bound in ("point", "at_most"):
        return (c.payback_months is not None and c.payback_months > c.horizon_months) or (
            c.roi_pct is not None and c.roi_pct < 0)
    return False


def cost_support(study: Study) -> str | None:
    """Why a self-hosted cost priced at the throughput each run measured is only a point estimate: the
    change of that throughput has no interval (one short run, summary-only data …). None when the
    cost rests on an interval (or on a capacity, a rate the load generator set, or API prices)."""
    c = study.cost
    if c is None or study.sweeps or "self_hosted" not in (c.baseline.kind, c.optimized.kind) or rate_bound(study):
        return None
    ci = study.throughput_delta_cis.get("requests_per_s")
    if ci is not None and ci.supported:
        return None
    return ci.reason if ci is not None and ci.reason else "the runs' throughput has no interval"


def cost_sentence(c: Any, point_only: bool = False) -> tuple[str, str]:
    """The cost section's headline sentence and its tone ('good', 'bad' or 'neutral'), by the same
    rules as the cost finding: bounds kept, a loss (payback beyond the horizon, negative return) never
    shown as good, a cost resting on a throughput change without an interval (``point_only``) neutral
    and marked †."""
    if abs(c.savings_usd_per_month) < ZERO_SAVING_USD and c.savings_bound == "point":
        return "No saving: the monthly cost is the same on both sides", "neutral"
    established = c.established and not point_only
    # † marks the saving (the point estimate), not the payback clause after it
    text = cost_saving_phrase(c) + ("" if established else "†")
    payback = payback_phrase(c)
    if c.savings_usd_per_month > 0 and payback != "there is no one-time cost to pay back":
        text += f"; {payback}"
    elif c.savings_usd_per_month <= 0:
        text += "; there is no payback"
    tone = ("bad" if c.established and cost_is_loss(c) else "neutral" if not established or c.savings_bound == "unknown"
            else "good" if c.savings_usd_per_month > 0 and c.savings_bound in ("point", "at_least") else "neutral")
    return text[:1].upper() + text[1:], tone


def cost_finding(study: Study) -> Finding | None:
    c = study.cost
    if c is None:
        return None
    op = cost_operating_point(study)
    bo, oo = c.baseline.usd_per_million_output_tokens, c.optimized.usd_per_million_output_tokens
    bb, ob = c.baseline.bound, c.optimized.bound
    saving = c.savings_usd_per_month
    monthly = (f"{money_text(c.baseline.usd_per_month, bb)} → {money_text(c.optimized.usd_per_month, ob)} a month")
    zero = abs(saving) < ZERO_SAVING_USD and c.savings_bound == "point"
    per_token = bool(bo and oo)
    change = (oo - bo) / bo * 100 if bo and oo else None  # the relative change of cost per 1M output tokens
    weak = cost_support(study)
    established = c.established and weak is None
    ev = Evidence(metric="usd_per_million_output_tokens" if per_token else "usd_per_month", unit="usd",
                  baseline=bo if per_token else c.baseline.usd_per_month,
                  optimized=oo if per_token else c.optimized.usd_per_month,
                  baseline_bound=bb, optimized_bound=ob,
                  change_pct=change if per_token else (-c.savings_pct if c.savings_pct is not None else None),
                  supported=False, operating_point=op,
                  note=("" if established else
                        "priced at a capacity no load point certified: a point estimate" if not c.established else
                        f"priced at each run's measured throughput, whose change has no interval ({weak}): "
                        "a point estimate"))
    dagger = "" if established else "†"
    if zero:
        return Finding(key="cost", kind="cost", title="monthly cost", value="no saving" + dagger,
                       detail=f"{fmt_usd_money(c.baseline.usd_per_month)} a month on both sides, {op}",
                       claim=f"No saving: serving the volume costs {fmt_usd_money(c.baseline.usd_per_month)} a month "
                             f"on both sides ({op}).",
                       verdict="same" if established else "na", strength="point_only", evidence=ev)
    save_txt = cost_saving_phrase(c)
    save_bare, save_est = saving_phrase(saving, c.savings_bound), saving_estimate(c)
    monthly_est = f"{monthly}; {save_est}" if save_est else monthly
    loss = cost_is_loss(c)
    payback = payback_phrase(c)
    tail = f"; {payback}" if loss and c.savings_usd_per_month > 0 else ""
    # a cost priced at a throughput change without an interval says so where it is claimed
    point = f" (a point estimate: the throughput change has no interval; {_reason_clause(weak)})" if weak else ""
    point_short = "; † point estimate: the throughput change has no interval" if weak else ""
    if loss and c.established:  # a loss by the case's own assumptions is flagged even as a point estimate
        verdict = "worse"
    elif not established or c.savings_bound == "unknown":
        verdict = "na"
    elif saving > 0 and c.savings_bound in ("point", "at_least"):
        verdict = "better"
    else:
        verdict = "na"  # a bound that does not decide the direction
    if per_token and change is not None:
        kind = change_bound(bb, ob)
        pct_txt = fmt_pct_bound(kind, change, digits=0) if kind is not None else "not comparable"
        value = pct_txt + dagger
        prices = f"{usd_text(bo, bb)} → {usd_text(oo, ob)}"
        est = estimate_of(c)
        if est is not None:  # the bounds, then the estimates the charts show
            e_b, e_o = est.baseline, est.optimized
            eb, eo = e_b.usd_per_million_output_tokens, e_o.usd_per_million_output_tokens
            ek = change_bound(e_b.bound, e_o.bound)
            if eb and eo and ek is not None:
                prices += (f"; at the estimates {usd_text(eb, e_b.bound)} → {usd_text(eo, e_o.bound)} "
                           f"({fmt_pct_bound(ek, (eo - eb) / eb * 100, digits=0)})")
        return Finding(key="cost", kind="cost", title="cost per 1M output tokens", value=value,
                       detail=f"{prices}, {op}; {save_txt}{tail}{point_short}",
                       claim=f"Cost per 1M output tokens went from {usd_text(bo, bb)} to {usd_text(oo, ob)} "
                             f"({pct_txt}), "
                             f"{op}{point}; serving the projected volume {save_bare} ({monthly_est}){tail}.",
                       verdict=verdict, strength="bound" if c.savings_bound != "point" else "point_only",
                       regression=loss and c.established, evidence=ev)
    return Finding(key="cost", kind="cost", title="monthly cost", value=save_txt.replace(" a month", "") + dagger,
                   detail=f"{monthly}, {op}{tail}{point_short}", claim=f"The change {save_bare} ({monthly_est}, {op}){point}{tail}.",
                   verdict=verdict, strength="bound" if c.savings_bound != "point" else "point_only",
                   regression=loss and c.established, evidence=ev)


def _reason_clause(reason: str) -> str:
    """'BF16: no per-request send times' → 'no per-request send times for BF16' (a reason inside a sentence)."""
    side, sep, why = reason.partition(": ")
    if sep and side == "both sides":
        return f"{why}, on both sides"
    return f"{why} for {side}" if sep and side and ":" not in why and len(side) <= 40 else reason


def change_bound(baseline: str, optimized: str) -> str | None:
    """How a relative cost change (optimized vs baseline) is known from the two sides' bounds: 'point',
    'at_most' / 'at_least', None when the direction is not known."""
    # the change of cost is the negative of the saving: a saving at least s → a change at most −s
    kind = saving_bound(baseline, optimized)
    return None if kind == "unknown" else opposite_bound(kind)


# ----------------------------------------------------------------------------- all findings


def findings(study: Study) -> list[Finding]:
    """Every finding, in a fixed order: capacity, SLOs, latency (registry order), throughput, cost."""
    out: list[Finding] = []
    cap = capacity_finding(study)
    if cap:
        out.append(cap)
    out += slo_findings(study)
    primary = primary_statistics(study)
    for m in registry.TABLE_METRICS:
        for stat in registry.TABLE_STATS:
            f = latency_finding(study, m, stat, primary)
            if f:
                out.append(f)
    for f in (throughput_finding(study), cost_finding(study)):
        if f:
            out.append(f)
    return out


def newly_met(study: Study, i: int) -> tuple[str, str] | None:
    """(baseline verdict, 'pass') when SLO ``i`` is met after the change and was not before, and that is
    established: the two sides' attainments differ significantly (``attainment_change``), or — judged by the
    tools' printed percentiles, where no test is possible — the verdicts differ. Else None."""
    sb, so = study.slos.get("baseline"), study.slos.get("optimized")
    if sb is None or so is None or not sb.available or not so.available:
        return None
    rb, ro = sb.results[i], so.results[i]
    vb = rb.verdict.status if rb.verdict else None
    vo = ro.verdict.status if ro.verdict else None
    if vo != "pass" or vb in (None, "pass") or attainment_change(study, rb, ro)[0] != "better":
        return None
    return vb, vo


def objective_met_words(study: Study, metric: str, stat: str) -> str:
    """'now within its 450 ms objective (verdict fail → pass)' when the objective naming this statistic is newly met
    (``newly_met``), else '' (issue 23: a verdict change to pass is said where the statistic is, not left to the
    SLO table)."""
    for i, s in enumerate(study.case.slos):
        if s.metric != metric or registry.stat_key(s.percentile) != stat:
            continue
        met = newly_met(study, i)
        if met is None:
            continue
        printed = any(study.slos[side].results[i].basis == "printed" for side in SIDES)
        return (f"now within its {fmt_ms_limit(s.threshold_ms)} objective (verdict {met[0]} → {met[1]}"
                + (", by the tools' printed values)" if printed else ")"))
    return ""


# ----------------------------------------------------------------------------- page 1


def _by_key(fs: Iterable[Finding]) -> dict[str, Finding]:
    return {f.key: f for f in fs}


def headline_latency(study: Study, fs: dict[str, Finding], metric: str, stat: str | None) -> Finding | None:
    """The finding page 1 shows for ``metric`` at ``stat``: that statistic when it has a valid interval,
    else the most extreme percentile the sample supports (never a † value with a CI)."""
    if stat is not None:
        f = fs.get(f"latency:{metric}:{stat}")
        if f is not None and f.evidence.supported:
            return f
    q = registry.STATISTICS[stat].quantile if stat in registry.STATISTICS else 1.0
    for cand in reversed(registry.PERCENTILE_STATS):
        if registry.STATISTICS[cand].quantile > (q or 1.0):  # type: ignore[operator]
            continue
        f = fs.get(f"latency:{metric}:{cand}")
        if f is not None and f.evidence.supported:
            return f
    f = fs.get(f"latency:{metric}:mean")
    if f is not None and f.evidence.supported:
        return f
    # summary-only: nothing has an interval; show the named statistic as a point value (marked †)
    return fs.get(f"latency:{metric}:{stat}") if stat else None


def compare_page1(fs: list[Finding]) -> tuple[list[Card], list[Card]]:
    """What ``casegen compare`` leads with: rule 2 without SLOs (TTFT at the most extreme supported
    percentile ≤ p99, TPOT at ≤ p50), then throughput; and every regression (rule 4)."""
    by = _by_key(fs)
    chosen: list[Finding] = []
    for metric, stat in (("ttft", "p99"), ("tpot", "p50")) if "latency:ttft:p99" in by else (("e2e", "p99"),):
        f = headline_latency(None, by, metric, stat)  # type: ignore[arg-type]
        if f is not None:
            chosen.append(f)
    thr = next((f for f in fs if f.kind == "throughput" and f.verdict != "na"), None)
    if thr is not None:
        chosen.append(thr)
    shown = {f.key for f in chosen}
    return [_card(f) for f in chosen], _group_regressions([f for f in fs if f.regression and f.key not in shown])


def compare_regressions(fs: list[Finding]) -> list[Card]:
    """``casegen compare``'s 'Worse' lines: every finding whose verdict is worse (the table's 'worse'
    rows; exploratory ones are labelled in the table and not listed here), grouped by metric."""
    worse = [f for f in fs if f.verdict == "worse" and f.strength != "exploratory"]
    return _group_regressions(worse)


def _card(f: Finding) -> Card:
    return Card(finding=f.key, title=f.title, value=f.value, detail=f.detail, verdict=f.verdict,
                regression=f.regression)


def select_page1(study: Study, fs: list[Finding]) -> Page1:
    """Page 1, by the rules of docs/findings.md."""
    by = _by_key(fs)
    chosen: list[Finding] = []

    def add(f: Finding | None) -> None:
        if f is not None and f.key not in {c.key for c in chosen}:
            chosen.append(f)

    # rule 1: a sweep leads with capacity at SLO
    add(by.get("capacity"))
    # rule 2: the statistics the SLOs name (metric + percentile); without SLOs, TTFT then TPOT
    named = [(s.metric, registry.stat_key(s.percentile)) for s in study.case.slos]
    if not named:
        named = [("ttft", "p99"), ("tpot", "p50")] if "latency:ttft:p99" in by else [("e2e", "p99"), ("e2e", "p50")]
    # the most important established fact leads (issue 23): an objective newly met, then a change with an
    # interval that excludes 0, then the rest (a point value, a change not detected) — in the objectives' order
    # within each
    met = {(s.metric, registry.stat_key(s.percentile)) for i, s in enumerate(study.case.slos)
           if newly_met(study, i) is not None}
    heads = []
    for metric, stat in named:
        f = headline_latency(study, by, metric, stat if stat in registry.STATISTICS else None)
        if f is not None and f.strength == "point_only" and study.sweeps:
            continue  # a sweep's single shared point without an interval is not a headline (rule 5)
        if f is not None:
            heads.append(f)
    rank = {f.key: (0 if (f.evidence.metric, f.evidence.stat) in met else
                    1 if f.strength == "significant" else 2) for f in heads}
    for f in sorted(heads, key=lambda f: rank[f.key]):
        if len(chosen) >= MAX_CARDS - (0 if by.get("cost") is None else 1):
            break
        add(f)
    # rule 3: then throughput (when it measures capacity), then cost
    thr = next((f for f in fs if f.kind == "throughput" and f.verdict != "na"), None)
    cost = by.get("cost")
    if thr is not None and len(chosen) < MAX_CARDS - (1 if cost else 0):
        add(thr)
    if cost is not None and study.cost is not None and not study.cost.established:
        cost = None  # priced at a capacity no load point certified: not a headline (the cost section says so)
    if cost is not None:
        chosen = chosen[: MAX_CARDS - 1]
        add(cost)
    chosen = chosen[:MAX_CARDS]
    cards = [_card(f) for f in chosen]
    # rule 4: every regression appears on page 1
    shown = {f.key for f in chosen}
    regressions = [f for f in fs if f.regression and f.key not in shown]
    reg_cards = _group_regressions(regressions) + ladder_regression_cards(study)
    # rule 4b: every objective the optimized side misses, also when both sides miss it
    missed = [f for f in fs if f.missed and f.key not in shown and not f.regression]
    selected = ([f.key for f in chosen] + [f.key for f in regressions]
                + [c.finding for c in reg_cards if c.finding.startswith("steps.")] + [f.key for f in missed])
    missed_cards = [_card(f) for f in missed]
    return Page1(cards=cards, regressions=reg_cards, missed=missed_cards,
                 caveats=major_caveats(study),
                 in_short=in_short(study, chosen, reg_cards, missed_cards), cost_basis=cost_basis(study), selected=selected,
                 hero_statistics=hero_statistics(study, chosen))


def hero_statistics(study: Study, chosen: list[Finding]) -> list[str]:
    """The statistics page 1's picture draws for one fixed load with objectives ('metric:stat'): for each
    objective, the statistic its metric's card shows — the objective's own percentile, or the card's
    fallback when that percentile has no interval — so the card and the picture tell one story. Empty
    for sweeps and ladders (their pictures are the curve and the waterfall)."""
    if study.sweeps or study.ladder is not None or not study.case.slos:
        return []
    shown = {f.key for f in chosen}
    cards = {f.evidence.metric: f.evidence.stat for f in chosen if f.kind == "latency" and f.evidence.stat}
    out: list[str] = []
    for s in study.case.slos:
        own = registry.stat_key(s.percentile)
        stat = own if f"latency:{s.metric}:{own}" in shown else cards.get(s.metric) or own
        key = f"{s.metric}:{stat}"
        if key not in out:
            out.append(key)
    # in the cards' order (the lead first), objectives without a card after them
    order = [f.evidence.metric for f in chosen if f.kind == "latency"]
    return sorted(out, key=lambda k: order.index(k.split(":", 1)[0]) if k.split(":", 1)[0] in order else len(order))


def major_caveats(study: Study) -> list[str]:
    """Page 1's caveat line: each major threat once, by title (the workload's own major threats have
    their box on page 1 already); one the author acknowledged says so."""
    out: list[str] = []
    boxed = {t.key for t in study.workload.threats} if study.workload is not None else set()  # their own box
    for t in study.threats:
        if t.severity != "major" or t.key in boxed:
            continue
        text = t.title + (" (acknowledged by the author)" if t.key in study.case.accept else "")
        if text not in out:
            out.append(text)
    return out


def _group_regressions(regs: list[Finding]) -> list[Card]:
    """One line per latency metric (its significant statistics together), one per SLO."""
    out: list[Card] = []
    groups: dict[str, list[Finding]] = {}
    for f in regs:
        if f.kind == "latency":
            groups.setdefault(f.evidence.metric, []).append(f)
        else:
            out.append(_card(f))
    for metric, items in groups.items():
        parts = [f"{f.evidence.stat} {f.value}" for f in items]
        top = items[-1]  # the most extreme statistic that got worse (registry order: mean, p50 … p99)
        detail = f"{top.evidence.stat}: {top.detail}"
        if len(items) > 1:
            detail += "; the interval of every statistic listed excludes 0"
        out.insert(0, Card(finding=",".join(f.key for f in items), title=f"{registry.label(metric)} rose",
                           value=", ".join(parts), detail=detail, verdict="worse", regression=True))
    return out


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."


def _clause(text: str) -> str:
    """A claim as a clause of a longer sentence: no final period, a lower-case start unless it
    starts with an acronym or a figure ('TTFT p99 …', '$1.49 …')."""
    text = text.strip().rstrip(".")
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


def in_short(study: Study, chosen: list[Finding], regressions: list[Card], missed: list[Card] = ()) -> str:  # type: ignore[assignment]
    """The 'In short' paragraph, at most three sentences of facts: the page-1 findings (and
    regressions) in one, cost and payback in one, trade-offs and the major caveat in one."""
    lb, lo = study.label("baseline"), study.label("optimized")
    lead = f"Moving from {lb} to {lo}:" if study.sweeps else f"Moving from {lb} to {lo}, measured at {operating_point(study)}:"
    # every page-1 finding is a fact here, an uncertified capacity included: its claim says what each side
    # did in the sweep and why it is not certified (issue 23: a result, never "not established")
    facts = [_clause(f.claim) for f in chosen if f.kind != "cost"]
    if not study.sweeps:  # the operating point was stated in the lead: not again in each clause
        facts = [x.replace(f" at {operating_point(study)}", "") for x in facts]
    parts = [lead + " " + "; ".join(facts) + "." if facts else ""]
    # what got worse and what is not met: sentences of their own, so they never hang off a lead with no facts
    if regressions:
        parts.append("Worse: " + "; ".join(f"{r.title} ({r.value})" for r in regressions) + ".")
    if missed:
        parts.append("Not met: " + "; ".join(f"{f.title} ({f.value})" for f in missed) + ".")
    cost = next((f for f in chosen if f.kind == "cost"), None)
    c = study.cost
    if cost is not None and c is not None:
        claim = cost.claim
        if not study.sweeps:  # the operating point was stated at the start of the paragraph
            claim = claim.replace(cost_operating_point(study), "at the throughput measured at that load")
        claim = claim.strip().rstrip(".")
        if "pays back" not in claim and "no payback" not in claim:
            phrase = payback_phrase(c)
            if phrase != "there is no one-time cost to pay back":
                claim += f"; {phrase}"
        parts.append(claim + ".")
    traded, unmeasured = [], []
    for i, t in enumerate(study.case.tradeoffs):
        q = t.quality
        if i in study.quality:
            from casegen.analysis.quality import one_line

            traded.append(f"{t.technique} ({one_line(study.quality[i])})")
        elif q is not None and q.baseline is not None and q.optimized is not None:
            loss = (q.baseline - q.optimized) if q.higher_is_better is not False else (q.optimized - q.baseline)
            ok = "within" if loss <= q.tolerance + 1e-12 else "outside"
            traded.append(f"{t.technique} ({q.metric} {q.baseline:g} → {q.optimized:g}, {ok} the agreed tolerance)")
        elif t.changes_answers or registry.OPTIMIZATION_KINDS[study.case.optimization.kind].quality_risk:
            unmeasured.append(t.technique)
        # else a technique that cannot change the answers (routing, scheduling …): no quality to trade
    major = [t for t in study.threats if t.severity == "major"]
    if unmeasured and not (major and major[0].key == "quality-not-measured"):  # else the caveat below says it
        names = " and ".join([", ".join(unmeasured[:-1]), unmeasured[-1]] if len(unmeasured) > 1 else unmeasured)
        traded.append(f"{names}, whose quality impact is not measured here"
                      if not traded else f"{names} (quality impact not measured here)")
    if traded:
        parts.append("Traded: " + "; ".join(traded) + ".")
    if major:
        ack = ", acknowledged by the author" if major[0].key in study.case.accept else ""
        parts.append("Caveat: " + major[0].title[:1].lower() + major[0].title[1:] + ack + " (see Threats to validity).")
    return " ".join(p for p in parts if p)


__all__ = ["ladder_estimates_note", "findings", "select_page1", "operating_point", "supported", "rate_bound", "capacity_range",
           "ratio_range", "cost_basis", "fmt_rps"]


def step_regressions(study: Study, fs: list[Finding]) -> list[Card]:
    """What one ladder step (seen as a two-sided study) made worse: every regression by the page-1 rules,
    and — where the rungs have no intervals (summary-only data) — a primary statistic that rose, or
    request throughput that fell, by more than ``POINT_REGRESSION_PCT``, as a † point regression."""
    from casegen.analysis.ladder import POINT_REGRESSION_PCT

    cards = _group_regressions([f for f in fs if f.regression])
    primary = primary_statistics(study)
    points = [f for f in fs if f.kind == "latency" and f.strength == "point_only" and f.evidence.stat is not None
              and (f.evidence.metric, f.evidence.stat) in primary and f.evidence.change_pct is not None
              and f.evidence.change_pct > POINT_REGRESSION_PCT]
    for f in points:
        cards.append(Card(finding=f.key, title=f"{f.title} rose", value=f.value,
                          detail=f"{f.detail.split(';')[0]}; † point value, no interval", verdict="worse",
                          regression=True))
    d = study.throughput_deltas.get("requests_per_s")
    if (d is not None and d.pct is not None and d.pct < -POINT_REGRESSION_PCT and not any(
            f.kind == "throughput" and f.regression for f in fs)):
        cards.append(Card(finding="throughput:requests_per_s", title="request throughput fell",
                          value=fmt_pct(d.pct, digits=1) + "†",
                          detail=f"{fmt_num(d.base, 2)} → {fmt_num(d.opt, 2)} req/s; † one run per rung, no interval",
                          verdict="worse", regression=True))
    return cards


def ladder_estimates_note(study: Study) -> str | None:
    """Why a ladder's waterfall bars (estimates at interpolated capacities) differ from its bounds: the
    rungs whose interpolated capacity a bound counted at an end of its range (``Capacity.beside``), for the
    whole change (baseline → optimized) or for a step. None when no bound did."""
    lad = study.ladder
    if lad is None:
        return None
    pairs = [(lad.rungs[0], lad.rungs[-1])] + list(zip(lad.rungs, lad.rungs[1:]))
    ranged: dict[str, Any] = {}
    for a, b in pairs:
        for r, other in ((a, b), (b, a)):
            if r.capacity is not None and other.capacity is not None and r.capacity.beside(other.capacity):
                ranged.setdefault(r.label, r.capacity)
    if not ranged:
        return None
    which = "; ".join(f"{label} {fmt_rate(cap.value_rps)}, {cap.ends_text()}" for label, cap in ranged.items())
    ends = [r.capacity.ends_rps() if r.capacity is not None else None for r in lad.rungs]
    grey = [b.label for b, ea, eb in zip(lad.rungs[1:], ends, ends[1:]) if ranges_overlap(ea, eb)]
    grey_text = (f" ({', '.join(grey)} is grey: its range overlaps the one before, so it may have gained nothing)"
                 if grey else "")
    return ("The bars are the estimates (" + which + "); the whiskers span those ranges, so how the gain splits "
            "between the steps is itself uncertain" + grey_text + "; the bounds "
            "in the headline figures (≥, ≤, 'at least', 'within') count each estimate at the end of its range that "
            "keeps them true, so they are more cautious than the bars.")


def attach_step_findings(study: Study) -> None:
    """Each ladder step's findings, by the same rules as the whole case (``LadderStep.findings``), and what
    the step made worse or better in words (``worse``, ``better``)."""
    if study.ladder is None:
        return
    for i, st in enumerate(study.ladder.steps, start=1):
        step = step_study(study, i)
        st.findings = findings(step)
        st.regression_cards = step_regressions(step, st.findings)
        st.worse = [f"{c.title}: {c.value} ({c.detail})" for c in st.regression_cards]
        st.better = [f"{f.title}: {f.value} ({f.detail})" for f in st.findings
                     if f.verdict == "better" and f.strength in ("significant", "judged", "bound")]


def ladder_regression_cards(study: Study) -> list[Card]:
    """Page 1 of a ladder: every step's regressions (decided by ``attach_step_findings``), each labelled
    with its step."""
    if study.ladder is None:
        return []
    out = []
    for i, st in enumerate(study.ladder.steps, start=1):
        for c in st.regression_cards:
            out.append(c.model_copy(update={"title": f"Step {i} ({st.to}): {c.title}",
                                            "finding": f"steps.{i}:{c.finding}"}))
    return out
