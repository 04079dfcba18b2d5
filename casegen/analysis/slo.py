"""SLO attainment, goodput and pass / fail / inconclusive verdicts.

For an SLO "p-th percentile of METRIC ≤ threshold", every *issued* request either meets it or
violates it; failed requests always violate. Per metric:

* attainment = requests meeting it / requests issued;
* verdict = MLPerf LoadGen early stopping on (issued, violations) at 99 % confidence
  (``stats.slo_verdict``): pass means "the p-th percentile is within the threshold" with that
  confidence, fail means a system at exactly the limit would rarely show this many violations,
  otherwise inconclusive with the number of further in-SLO requests that would decide it.

Joint attainment = requests meeting every SLO / issued; goodput = those requests / duration.
TPOT is undefined for a 1-token response: ``analysis.tpot_one_token`` (default ``pass``,
vLLM's rule) decides how it counts. Inter-chunk latency follows ``analysis.itl_semantics``:
``pooled`` (default) judges the P-th percentile of all chunk gaps — the figure in the latency table —
with gaps as units (attainment = gaps within T / gaps, a failed request is one violation);
``per_request`` judges each request by its own P-th percentile gap. Either way goodput counts a
request as meeting an ITL SLO when its own P-th percentile gap is within the threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from casegen.analysis import stats
from casegen.analysis.metrics import percentile, request_latencies_ms
from casegen.case.model import SLO, Analysis
from casegen.formatting import fmt_independent, fmt_ms
from casegen.runs.model import Run


@dataclass
class SLOResult:
    metric: str
    percentile: float
    threshold_ms: float
    issued: int
    violations: int | None  # None: a summary-only run (no request-by-request count)
    attainment: float | None  # None: a summary-only run (judged by the tool's printed value)
    observed_ms: float | None  # the percentile over successful requests
    verdict: stats.Verdict | None
    note: str = ""
    #: "per-request": counted request by request (early stopping); "printed": the tool's printed
    #: percentile against the threshold, no interval (a summary-only run)
    basis: str = "per-request"
    #: long-run variance factor of the violation indicator in send order (1 = independent requests)
    variance_factor: float = 1.0


@dataclass
class PrintedJudgement:
    """An SLO judged by the statistics a tool printed (the one rule for summary-only data, in
    two-sided comparisons, ladders and sweeps alike)."""

    value_ms: float | None  # the figure compared with the threshold (None: not printed)
    basis: str  # "printed p95", "printed max (≥ p95)", "printed p50 (≤ p95)", "not printed", "… failed"
    meets: bool | None  # None: cannot be judged from what was printed
    exact: bool  # value_ms is the objective's own percentile
    note: str = ""


_ORDER = {"min": 0.0, "max": 100.0}


def _pkey(percentile: float) -> str:
    return f"p{percentile:g}"


def printed_quantiles(tool_summary: dict, latency_ms: dict, metric: str) -> dict[float, float]:
    """Printed quantiles of a metric as {percent: ms} (min = 0, max = 100)."""
    figures = dict(tool_summary.get(metric, {}))
    dist = latency_ms.get(metric)
    if dist is not None:
        for k, v in dist.as_dict().items():
            figures.setdefault(k, v)
    out: dict[float, float] = {}
    for key, value in figures.items():
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if key in _ORDER:
            out[_ORDER[key]] = float(value)
        elif key.startswith("p"):
            try:
                out[float(key[1:])] = float(value)
            except ValueError:
                continue
    return out


def judge_printed(slo: SLO, tool_summary: dict, latency_ms: dict, requests: dict) -> PrintedJudgement:
    """pP of M ≤ T by the printed pP; a printed higher percentile (or max) within T proves a pass, a
    printed lower percentile above T proves a fail; more failed requests than the objective allows fail it."""
    p, thr = slo.percentile, slo.threshold_ms
    total, failed = requests.get("total"), requests.get("failed")
    if total and failed and failed / total > 1 - p / 100 + 1e-12:
        return PrintedJudgement(None, f"{failed} of {total} requests failed", False, False,
                                note=f"{failed / total:.1%} of requests failed, more than the {1 - p / 100:.1%} a "
                                     f"{_pkey(p)} objective allows")
    q = printed_quantiles(tool_summary, latency_ms, slo.metric)
    note = f"printed percentiles cover the {total - failed} successful requests only" if total and failed else ""
    if p in q:
        return PrintedJudgement(q[p], f"printed {_pkey(p)}", q[p] <= thr, True, note=note)
    higher = sorted((k, v) for k, v in q.items() if k > p and v <= thr)
    if higher:
        k, v = higher[0]
        name = "max" if k == 100 else _pkey(k)
        return PrintedJudgement(v, f"printed {name} (≥ {_pkey(p)})", True, False, note=note)
    lower = sorted(((k, v) for k, v in q.items() if k < p and v > thr), reverse=True)
    if lower:
        k, v = lower[0]
        name = "min" if k == 0 else _pkey(k)
        return PrintedJudgement(v, f"printed {name} (≤ {_pkey(p)})", False, False, note=note)
    return PrintedJudgement(None, "not printed", None, False)


def _printed_result(slo: SLO, run: Run, metrics) -> SLOResult:
    """An SLO of a summary-only run, judged by the tool's printed percentile (no interval, no attainment)."""
    j = judge_printed(slo, run.tool_summary, metrics.latency_ms, metrics.requests)
    issued = int(metrics.requests.get("total") or 0)
    status = "inconclusive" if j.meets is None else "pass" if j.meets else "fail"
    if j.meets is None:
        reason = f"the tool did not print the {_pkey(slo.percentile)} (nor a percentile that decides it)"
    elif j.value_ms is None:
        reason = j.note
    else:
        reason = f"by the tool's {j.basis} ({fmt_ms(j.value_ms)}); no interval"
        tail = issued * (1 - slo.percentile / 100)
        if issued and tail < 1:  # the printed pP of so few requests is about the slowest one
            reason += (f"; of {issued:,} requests the {_pkey(slo.percentile)} is about the slowest one, so this "
                       "verdict rests on a single request")
        elif issued and tail < 10:
            reason += (f"; of {issued:,} requests only about {tail:.0f} lie beyond the {_pkey(slo.percentile)}, so "
                       "this verdict rests on a few requests")
    verdict = stats.Verdict(status, issued, 0, None, reason)
    return SLOResult(slo.metric, slo.percentile, slo.threshold_ms, issued, None, None,
                     j.value_ms if j.exact else None, verdict, j.note if j.value_ms is not None else "",
                     basis="printed")


@dataclass
class SLOSummary:
    results: list[SLOResult]
    joint_attainment: float | None
    good_requests: int | None
    goodput_rps: float | None
    one_token_responses: int
    tpot_one_token: str
    available: bool = True
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    basis: str = "per-request"  # or "printed" (summary-only run, judged by the tool's printed percentiles)


def _per_request(run: Run, metric: str, p: float) -> np.ndarray:
    """Per-request value (ms) used to judge one SLO, aligned with the rows; NaN where undefined."""
    df = run.requests
    assert df is not None
    if metric == "itl":
        vals = []
        for g in df["chunk_gaps_s"]:
            vals.append(float(np.percentile(np.asarray(g) * 1e3, p * 100)) if g is not None and len(g) else np.nan)
        return np.asarray(vals, dtype=float)
    return request_latencies_ms(df)[metric]


def violation_factor(violates: np.ndarray, values: np.ndarray | None = None) -> float:
    """Long-run variance factor of a 0/1 violation series in send order (≥ 1).

    Violations of a latency SLO come in bursts when the load creates the dependence (a queue's busy
    period pushes many neighbours over the threshold at once). The factor is the indicator's own
    (``dependence.dependence``: lag window, AR(1) plug-in, batch means), with the bandwidth found on
    the metric's values when they are dependent (estimated with more power than on a rare 0/1 series).
    """
    from casegen.analysis.dependence import dependence, n_eff_inflation

    ind = np.asarray(violates, dtype=float)
    if ind.size < 8 or ind.min() == ind.max():
        return 1.0
    m_hat = None
    if values is not None:
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        raw = dependence(v)
        m_hat = raw.m_hat if raw.dependent else None
    dep = dependence(ind, m_hat=m_hat) if m_hat else dependence(ind)
    # the factor is an estimate from ~df pieces: judge on its one-sided 80 % upper bound, as the †
    # rule judges n_eff on its lower bound (at 90 % queue load the point estimate failed 1.3 % of
    # runs of a system exactly at its limit)
    return max(1.0, dep.lrv_factor * n_eff_inflation(dep.df))


def metric_factor(values: np.ndarray) -> float:
    """Long-run variance factor of the metric's own values in send order (NaN dropped): the floor
    of a violation series' factor for a **pass** (an indicator of a monotone function of a series is
    never more strongly correlated than the series, Lancaster; a run whose violations happen to be
    few shows no clusters to estimate)."""
    from casegen.analysis.dependence import dependence

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return max(1.0, dependence(v).lrv_factor) if v.size >= 8 else 1.0


def dependent_verdict(n: int, violations: int, p: float, confidence: float, factor: float,
                      pass_factor: float | None = None) -> stats.Verdict:
    """Early stopping with the requests' dependence: the rule of ``stats.slo_verdict`` applied to
    n / f requests and t / f violations (f = the violation series' long-run variance factor: n
    dependent requests weigh as much as n / f independent ones, with the same violation share).
    A pass uses f_pass = max(f, ``pass_factor``) (the metric's own factor, :func:`metric_factor`).
    Rounded against a verdict: for pass ⌊n/f_pass⌋ requests and ⌈t/f_pass⌉ violations, for fail
    ⌈n/f⌉ and ⌊t/f⌋. With both factors 1 it is ``stats.slo_verdict``."""
    f_pass = max(factor, pass_factor or 1.0)
    if f_pass <= 1.0 + 1e-9:
        return stats.slo_verdict(n, violations, p, confidence)
    n_pass, t_pass = max(1, math.floor(n / f_pass)), math.ceil(violations / f_pass)
    n_fail, t_fail = max(1, math.ceil(n / factor)), math.floor(violations / factor)
    # the count of requests over the limit has its own effective size, not the percentile interval's (the
    # "Too few requests" threat's "weighed for that percentile alone") — each says what it counts (issue 23)
    lead = (f"neighbouring requests are alike, so in counting requests over the limit these {n:,} are worth "
            f"{fmt_independent(n / f_pass)}; ")
    v_pass = stats.slo_verdict(n_pass, t_pass, p, confidence)
    if v_pass.status == "pass":
        needed = math.ceil((v_pass.needed or n_pass) * f_pass)
        return stats.Verdict("pass", n, violations, needed, lead + f"{violations} of {n} requests over the threshold")
    v_fail = stats.slo_verdict(n_fail, t_fail, p, confidence)
    if v_fail.status == "fail":
        return stats.Verdict("fail", n, violations, None,
                             lead + f"{violations} of {n} requests over the threshold ({violations / n:.1%}); "
                             f"allowed share {1 - p:.1%}")
    needed = math.ceil((v_pass.needed or n_pass) * f_pass)
    return stats.Verdict("inconclusive", n, violations, needed,
                         lead + stats.undecided_text(n, violations, p, max(needed - n, 1), about=True))


def pooled_design_effect(counts: np.ndarray, weights: np.ndarray, share: float, m_hat: int | None = None,
                         floor: float = 1.0) -> float:
    """How many gaps a pooled gap's vote is worth less than an independent one's (≥ 1): requests are
    the unit. ``counts[i]`` of request i's ``weights[i]`` gaps (send order) are over the threshold,
    ``share`` the pooled share. The variance of the pooled share is N·f_r·Var(r) / (Σw)² with
    r_i = c_i − share·w_i and f_r the long-run variance factor of r in send order (lag window, AR(1),
    batch means; ``m_hat`` borrowed from the per-request mean gap when that is dependent) — gaps of one
    request are alike and neighbouring requests too; the factor is that variance over the binomial
    one, share·(1 − share)/Σw, judged on its one-sided 80 % upper bound as :func:`violation_factor`.
    ``floor``: a floor on f_r (the per-request mean gap's own factor: r follows the request's speed,
    which is never less correlated than a function of it — Lancaster, as :func:`metric_factor`)."""
    from casegen.analysis.dependence import dependence, n_eff_inflation

    c = np.asarray(counts, dtype=float)
    w = np.asarray(weights, dtype=float)
    total = float(w.sum())
    if c.size < 8 or not 0.0 < share < 1.0 or total <= 0:
        return 1.0
    r = c - share * w
    var_r = float(np.var(r))
    if not var_r > 0:
        return 1.0
    dep = dependence(r, m_hat=m_hat) if m_hat else dependence(r)
    f_r = max(1.0, dep.lrv_factor) * n_eff_inflation(dep.df) if dep.dependent else 1.0
    f_r = max(f_r, floor)
    var_share = c.size * f_r * var_r / total ** 2
    return max(1.0, var_share / (share * (1.0 - share) / total))


def _pooled_itl(df, ok: np.ndarray, slo: SLO, p: float, analysis: Analysis, method: str,
                order: np.ndarray | None = None) -> SLOResult:
    """An inter-chunk latency SLO judged over the pooled gaps (``itl_semantics: pooled``): every gap of a
    successful request is a unit, a failed request counts as one violating unit. The early-stopping
    rule runs on effective counts with the **request as the unit** (:func:`pooled_design_effect`):
    gaps of one request are alike (one slow request's gaps are all slow), so N gaps weigh as N / f."""
    from casegen.analysis.dependence import dependence
    from casegen.analysis.metrics import chunk_gaps_ms

    gaps = chunk_gaps_ms(df[ok])[0]
    failed = int((~ok).sum())
    units = int(gaps.size) + failed
    violations = int(np.sum(gaps > slo.threshold_ms)) + failed
    observed = percentile(gaps, slo.percentile, method) if gaps.size else None
    # per request in send order: gaps (weight) and gaps over the threshold; a failed request is one
    # violating unit
    col = df["chunk_gaps_s"]
    idx = np.arange(len(df)) if order is None else order
    w = np.empty(idx.size)
    cnt = np.empty(idx.size)
    over_q = np.empty(idx.size)
    q = float(np.quantile(gaps, p)) if gaps.size else math.inf
    for j, i in enumerate(idx):
        g = col[i]
        if not ok[i]:
            w[j], cnt[j], over_q[j] = 1.0, 1.0, 1.0
            continue
        a = np.asarray(g if g is not None else [], dtype=float) * 1e3
        w[j], cnt[j], over_q[j] = a.size, float(np.sum(a > slo.threshold_ms)), float(np.sum(a > q))
    keep = w > 0
    w, cnt, over_q = w[keep], cnt[keep], over_q[keep]
    means = np.array([float(np.mean(np.asarray(col[i], dtype=float))) for i in idx if ok[i] and col[i] is not None
                      and len(col[i])])
    raw = dependence(means) if means.size >= 8 else None
    m_hat = raw.m_hat if raw is not None and raw.dependent else None
    f_means = raw.lrv_factor if raw is not None and raw.dependent else 1.0
    # both verdicts at least at the clustering the requests' speeds show: a run's few slow requests
    # show little of it (fail on the violations alone: 1.6 % of 200-request runs at ρ 0.9 of a system
    # exactly at its limit), and a run with few violations shows none (as metric_factor for a pass)
    factor = pooled_design_effect(cnt, w, violations / units, m_hat, f_means) if units else 1.0
    pass_factor = (pooled_design_effect(over_q, w, float(over_q.sum() / w.sum()), m_hat, f_means)
                   if w.sum() else 1.0)
    verdict = dependent_verdict(units, violations, p, analysis.slo_confidence, factor, pass_factor)
    note = (f"pooled: judged over {gaps.size:,} chunk gaps" + (f" and {failed} failed requests" if failed else "")
            + f"; gaps of one request are alike, so the request is the unit (the gaps are worth about "
            f"{fmt_independent(units / max(factor, pass_factor, 1.0))})")
    return SLOResult(slo.metric, slo.percentile, slo.threshold_ms, units, violations,
                     (units - violations) / units if units else 0.0, observed, verdict, note, variance_factor=factor)


def evaluate_slos(run: Run, slos: list[SLO], analysis: Analysis, duration_s: float | None,
                  method: str = "linear", metrics=None) -> SLOSummary:
    """Attainment, goodput and a verdict per SLO. A summary-only run is judged by the tool's printed
    percentiles when its ``metrics`` (RunMetrics) are given (verdicts only: no attainment, no goodput)."""
    if run.requests is None:
        if metrics is None or not slos:
            return SLOSummary([], None, None, None, 0, analysis.tpot_one_token, available=False,
                              reason="summary-only run: attainment and verdicts need per-request data")
        return SLOSummary([_printed_result(s, run, metrics) for s in slos], None, None, None, 0,
                          analysis.tpot_one_token, basis="printed",
                          reason="summary-only run: judged by the tool's printed percentiles; no attainment")
    df = run.requests
    issued = len(df)
    ok = df["success"]
    out_tok = df["output_tokens"]
    one_token = int(np.sum(ok & (out_tok == 1)))
    meets_all = ok.copy()
    results = []
    notes = []
    order = np.arange(issued)
    if df.all_known("start_s") and issued:
        order = np.argsort(df["start_s"], kind="stable")
    for slo in slos:
        p = slo.percentile / 100.0
        v = _per_request(run, slo.metric, p)
        meets = ok & np.isfinite(v) & (v <= slo.threshold_ms)
        note = ""
        if slo.metric == "itl" and analysis.itl_semantics == "pooled" and np.isfinite(v[ok]).any():
            results.append(_pooled_itl(df, ok, slo, p, analysis, method, order))
            meets_all &= meets  # goodput counts requests: one meets it when its own pP gap is within T
            continue
        if slo.metric == "tpot":
            undefined = ok & ~np.isfinite(v)
            if analysis.tpot_one_token == "pass":
                meets |= undefined
            if undefined.any():
                note = f"{int(undefined.sum())} responses without TPOT (< 2 tokens) count as {'meeting' if analysis.tpot_one_token == 'pass' else 'violating'} it"
        measured = np.isfinite(v[ok])
        if ok.any() and not measured.any():
            results.append(SLOResult(slo.metric, slo.percentile, slo.threshold_ms, issued, issued - int(ok.sum()),
                                     0.0, None, None, f"{slo.metric.upper()} was not measured in this run"))
            notes.append(f"{slo.metric.upper()} SLO cannot be judged: the run does not measure it")
            meets_all &= False
            continue
        violations = int(issued - meets.sum())
        observed = percentile(v[ok & np.isfinite(v)], slo.percentile, method) if (ok & np.isfinite(v)).any() else None
        factor = violation_factor(~meets[order], v[order])
        verdict = dependent_verdict(issued, violations, p, analysis.slo_confidence, factor, metric_factor(v[order]))
        results.append(SLOResult(slo.metric, slo.percentile, slo.threshold_ms, issued, violations,
                                 float(meets.sum()) / issued if issued else 0.0, observed, verdict, note, variance_factor=factor))
        meets_all &= meets
    good = int(meets_all.sum()) if slos else None
    joint = good / issued if good is not None and issued else None
    # goodput = share meeting every SLO × requests issued per second; after trimming without send
    # timestamps the rate is the whole run's (casegen.analysis.window.throughput_counts)
    whole = run.meta.extra.get("throughput_counts")
    issued_for_rate = whole["issued"] if whole else issued
    goodput = joint * issued_for_rate / duration_s if slos and duration_s and joint is not None else None
    return SLOSummary(results, joint, good, goodput, one_token, analysis.tpot_one_token, notes=notes)


@dataclass(frozen=True)
class AttainmentDifference:
    """Do the two sides' attainments of one SLO differ more than chance allows?

    ``diff`` = optimized − baseline attainment; ``p_value`` two-sided (:func:`attainment_difference`:
    exact conditional binomial test on each side's effective requests and violations). With the
    run as the unit (≥ 3 repetitions a side) it is Welch's t over the runs' attainments (``unit``
    says which). ``significant``: p < ``alpha``.
    """

    metric: str
    percentile: float
    diff: float
    p_value: float | None
    significant: bool
    unit: str = "requests"
    #: why no test was made (a side looks saturated: one run cannot support it), else ""
    withheld: str = ""


def attainment_difference(base: SLOResult, opt: SLOResult, alpha: float = 0.05) -> AttainmentDifference:
    """The test of :class:`AttainmentDifference` on two sides' results for the same SLO: an exact
    conditional binomial test on effective counts. Each side weighs n/f requests with t/f violations
    (f the larger of the two sides' violation-series variance factors); given the total T of effective violations (rounded),
    under "same violation rate" the optimized side's share is Binomial(T, n_o' / (n_b' + n_o')); the
    p-value is twice the smaller tail. Exact and conservative where violations are few (a p99 SLO
    has about 10 in 1,000 requests, where the normal approximation rejects too often)."""

    if base.attainment is None or opt.attainment is None or base.violations is None or opt.violations is None:
        return AttainmentDifference(base.metric, base.percentile, math.nan, None, False,
                                    withheld="a side is summary-only: no attainment to compare")
    nb, no = base.issued, opt.issued
    diff = opt.attainment - base.attainment
    if nb <= 0 or no <= 0:
        return AttainmentDifference(base.metric, base.percentile, diff, 1.0, False)
    # one factor for both sides, the larger estimate: under "no difference" both sides' violations
    # cluster alike, and either side's estimate alone is low half the time
    f = max(base.variance_factor, opt.variance_factor, 1.0)
    eb, eo = nb / f, no / f
    vb = round(base.violations / f)
    vo = round(opt.violations / f)
    total = vb + vo
    if total == 0:
        return AttainmentDifference(base.metric, base.percentile, diff, 1.0, False)
    share = eo / (eb + eo)
    lower = stats.binom_cdf(vo, total, share)
    upper = 1.0 - stats.binom_cdf(vo - 1, total, share)
    p = min(1.0, 2 * min(lower, upper))
    return AttainmentDifference(base.metric, base.percentile, diff, p, p < alpha)


def attainment_differences(base: SLOSummary, opt: SLOSummary, alpha: float = 0.05,
                           withheld: str = "") -> list[AttainmentDifference]:
    """One :class:`AttainmentDifference` per SLO judged on both sides (in the order of case.yaml);
    with ``withheld`` (a side looks saturated) no test: p-value None, never significant."""
    if not base.available or not opt.available:
        return []
    out = []
    for b, o in zip(base.results, opt.results):
        if b.metric != o.metric or b.percentile != o.percentile:
            continue
        if withheld and b.attainment is not None and o.attainment is not None:
            out.append(AttainmentDifference(b.metric, b.percentile, o.attainment - b.attainment, None, False,
                                            withheld=withheld))
        else:
            out.append(attainment_difference(b, o, alpha))
    return out


def attainment_differences_runs(base_parts: list[Run], opt_parts: list[Run], slos: list[SLO], analysis: Analysis,
                                alpha: float = 0.05, method: str = "linear") -> list[AttainmentDifference]:
    """With the run as the unit: Welch's t over the runs' attainments of each SLO."""
    from casegen.analysis import repetitions

    per = [[evaluate_slos(r, slos, analysis, None, method) for r in parts] for parts in (base_parts, opt_parts)]
    out = []
    for i, s in enumerate(slos):
        vals = [[a for sm in side if sm.available and (a := sm.results[i].attainment) is not None] for side in per]
        if min(len(v) for v in vals) < repetitions.MIN_RUNS:
            continue
        lb, lo = repetitions.RunLevel(vals[0]), repetitions.RunLevel(vals[1])
        diff = float(np.mean(vals[1]) - np.mean(vals[0]))
        pairs = repetitions.run_pairs(base_parts, opt_parts)
        if pairs is not None:  # the runs' attainments in pair order
            order_b = [base_parts.index(b) for b, _o in pairs]
            order_o = [opt_parts.index(o) for _b, o in pairs]
            lb, lo = repetitions.RunLevel([vals[0][i] for i in order_b]), repetitions.RunLevel([vals[1][i] for i in order_o])
        _low, _high, p, _df = repetitions.delta(float(np.mean(vals[0])), float(np.mean(vals[1])), lb, lo,
                                                1 - alpha, pairs is not None)
        out.append(AttainmentDifference(s.metric, s.percentile, diff, p, p < alpha, unit="runs"))
    return out
