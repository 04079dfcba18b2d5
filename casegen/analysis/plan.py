"""How much to measure: requests and repetitions a side to resolve a relative change, from a pilot run.

For a percentile q_p of a metric, with density f at q_p and the long-run variance factor F of the
indicator 1{x ≤ q_p} in send order (``uncertainty``: lag window, batch means; the raw series' factor
as a floor), the variance of the sample percentile of n requests is p(1 − p)·F / (n·f²). A change
of δ·q_p between two sides of equal size is resolved — two-sided test at level α, power π — when

    n ≥ 2 · (z_{1−α/2} + z_π)² · p(1 − p) · F / (δ · q_p · f)²         (requests a side)

f is estimated from the pilot's sorted values as 2h / (q_{p+h} − q_{p−h}) (``density_at``). With k repetitions a side, the run-level test (paired t with
k − 1 degrees of freedom, ``analysis.repetitions``) needs per run

    n_run ≥ 2 · (t_{k−1, 1−α/2} + t_{k−1, π})² · p(1 − p) · F / (k · (δ · q_p · f)²)

when runs differ only by sampling (no extra run-to-run variance: a pilot of one run cannot show
that; repeat and read the run-to-run spread). A saturated pilot (``analysis.saturation``) has a
factor no single run can estimate: its figures are a floor and the plan says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from casegen import registry
from casegen.analysis import stats, uncertainty
from casegen.analysis.saturation import Saturation, run_saturation
from casegen.runs.model import Run

PLAN_STATS = registry.PLAN_STATS
PLAN_METRICS = registry.CURVE_METRICS
REPETITIONS = (3, 5, 10)


@dataclass(frozen=True)
class PlanRow:
    metric: str
    stat: str
    value_ms: float
    variance_factor: float
    requests_per_side: int  # one run a side
    per_run: dict[int, int]  # k repetitions a side → requests per run


@dataclass
class Plan:
    change: float  # relative change to resolve (0.10 = 10 %)
    confidence: float
    power: float
    pilot_requests: int
    rate_rps: float | None  # the pilot's completed requests per second (minutes = requests / rate)
    rows: list[PlanRow] = field(default_factory=list)
    saturation: Saturation | None = None


def _z(q: float) -> float:
    return stats.t_quantile(q, math.inf)


def density_at(sorted_values: np.ndarray, p: float) -> float | None:
    """f(q_p) ≈ 2h / (q_{p+h} − q_{p−h}), h = max(min(p/2, (1 − p)/2, n^{-1/3}/2), 10/n) (narrow
    enough not to average the density over a wide stretch, wide enough for ≥ 20 values); None when flat."""
    n = sorted_values.size
    h = max(min(p / 2, (1 - p) / 2, 0.5 * n ** (-1 / 3)), 10 / n)
    lo, hi = max(p - h, 0.0), min(p + h, 1.0)
    width = float(stats.quantile_at(sorted_values, hi) - stats.quantile_at(sorted_values, lo))
    return (hi - lo) / width if width > 0 else None


def requests_needed(p: float, q: float, density: float, factor: float, change: float, confidence: float = 0.95,
                    power: float = 0.8, k: int | None = None) -> int:
    """Requests a side (k None) or per run with k repetitions a side (formulas in the module text)."""
    spread = p * (1 - p) * factor / (change * q * density) ** 2
    if k is None:
        return math.ceil(2 * (_z(1 - (1 - confidence) / 2) + _z(power)) ** 2 * spread)
    t = stats.t_quantile(1 - (1 - confidence) / 2, k - 1) + stats.t_quantile(power, k - 1)
    return math.ceil(2 * t ** 2 * spread / k)


def plan_run(run: Run, change: float = 0.10, confidence: float = 0.95, power: float = 0.8,
             method: str = "linear") -> Plan:
    """The measurement plan a pilot run supports (see the module text)."""
    series = uncertainty.metric_series(run)
    ok = run.requests[run.requests["success"]] if run.requests is not None else None
    n = int(len(ok)) if ok is not None else 0
    duration = run.meta.duration_s
    if duration is None and ok is not None and ok.all_known("start_s") and n:
        duration = float(np.nanmax(ok["start_s"] + ok["e2e_s"]) - np.nanmin(ok["start_s"]))
    out = Plan(change, confidence, power, n, n / duration if duration else None, saturation=run_saturation(run))
    for metric in PLAN_METRICS:
        s = series.get(metric)
        if s is None or s.num.size < uncertainty.MIN_REQUESTS:
            continue
        values = np.sort(s.values)
        dep = uncertainty.dependence(s.num / s.den)
        # the same floor the intervals use (uncertainty.series_stats): the indicator's Gaussian-copula factor
        dep_z = (uncertainty.dependence(uncertainty.normal_scores(s.num / s.den), m_hat=dep.m_hat)
                 if dep.dependent and not s.pooled else None)
        for stat in PLAN_STATS:
            p = uncertainty.stat_p(stat)
            assert p is not None
            q = float(stats.quantile_at(values, p, method))
            f = density_at(values, p)
            if f is None or q <= 0:
                continue
            resid = (s.values <= q).astype(float) - p
            central = uncertainty.CENTRAL[0] <= p <= uncertainty.CENTRAL[1]
            floor = uncertainty.percentile_floor(dep_z, p) if dep_z is not None and central else None
            factor, _df = uncertainty._factor(resid, dep, floor)
            out.rows.append(PlanRow(metric, stat, q, factor,
                                    requests_requested(p, q, f, factor, change, confidence, power),
                                    {k: max(requests_needed(p, q, f, factor, change, confidence, power, k),
                                            _per_run_floor(p, confidence)) for k in REPETITIONS}))
    return out


def requests_requested(p: float, q: float, f: float, factor: float, change: float, confidence: float,
                       power: float) -> int:
    """Requests a side with one run a side, never fewer than the distribution-free minimum for p."""
    need = uncertainty.effective_n_needed(uncertainty.pkey(p * 100), factor > 1, confidence)
    return max(requests_needed(p, q, f, factor, change, confidence, power), math.ceil(need * factor))


def _per_run_floor(p: float, confidence: float) -> int:
    """A run-level percentile needs the run to have it: ≥ MIN_REQUESTS and the distribution-free N(p)."""
    return max(uncertainty.MIN_REQUESTS, stats.min_n_for_quantile_ci(p, confidence))


def format_plan(plan: Plan) -> str:
    """The plan as text: one row per metric and percentile."""
    from casegen.analysis.metrics import METRIC_LABELS

    lines = [f"To resolve a {plan.change:.0%} change (two-sided, {plan.confidence:.0%} confidence, "
             f"{plan.power:.0%} power) with the dependence this pilot of {plan.pilot_requests:,} requests shows:", ""]
    head = ["metric", "stat", "pilot", "factor", "1 run: requests"]
    head += [f"{k} runs: per run" for k in REPETITIONS]
    if plan.rate_rps:
        head.insert(5, "minutes")
    rows = [head]
    for r in plan.rows:
        row = [METRIC_LABELS.get(r.metric, r.metric), r.stat, f"{r.value_ms:,.1f} ms", f"{r.variance_factor:.1f}",
               f"{r.requests_per_side:,}"]
        if plan.rate_rps:
            row.append(f"{r.requests_per_side / plan.rate_rps / 60:,.1f}")
        row += [f"{r.per_run[k]:,}" for k in REPETITIONS]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for j, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("factor: long-run variance factor of the percentile's indicator in send order (1 = independent "
                 "requests). 1 run: requests a side in one run (minutes at the pilot's rate). k runs: requests per run "
                 "with k repetitions a side, the runs as the unit (paired t, k − 1 degrees of freedom).")
    if plan.saturation is not None and plan.saturation.withhold:
        lines.append("This pilot looks saturated (" + plan.saturation.reason.split(";")[0].removeprefix(
            "the run looks saturated: ") + "): one run cannot show its own dependence, so the single-run figures "
            "are a floor. Measure repetitions (≥ 3 a side, interleaved) and read their spread.")
    lines.append("Repetitions assume runs differ only by sampling; a pilot of one run cannot show extra run-to-run "
                 "variance. With 3 runs a side the t-test has 2 degrees of freedom, hence the larger figure.")
    lines.append("Protocol: docs/measuring.md.")
    return "\n".join(lines)
