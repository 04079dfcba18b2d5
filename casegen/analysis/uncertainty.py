"""Confidence intervals for each run's statistics and for baseline → optimized deltas.

Method (details, accuracy and the coverage table: ``docs/statistics.md``):

* Requests are taken **in send order** and their serial dependence measured
  (``casegen.analysis.dependence``: autocorrelation, Politis–White bandwidth and block length, long-run
  variance). The unit is the request; a chunk gap stays with its request.
* Percentiles: with no significant autocorrelation, the exact distribution-free order-statistic
  interval (``stats.quantile_ci``); otherwise the same binomial/Beta construction with the
  *effective* sample size n_eff = p(1−p) / Var(F̂(q̂)), Var from the long-run variance of the
  per-request counts below q̂. Pooled inter-chunk gaps always use n_eff (gaps of one request
  are alike).
* Means: circular block bootstrap over requests in send order (prefix sums; block length from the
  data), its spread raised to the flat-top long-run variance when that is larger.
* Small samples: a statistic is *unsupported* (no interval, no significance, † in every output)
  below ``SUPPORT`` rules — see :func:`support_rule`.
* Deltas: independent bootstrap draws of both sides; percentile interval; two-sided bootstrap
  p-value. The **primary family** (``primary_family``) is corrected together by a closed test
  (``closed_family``, ``stats.closed_test``: each intersection tested by its largest |z| and its summed
  z-score, with the correlation of the family's changes estimated from each request's influence on
  them); Holm's method where that correlation is not estimated. Everything else is exploratory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from casegen import registry
from casegen.analysis import stats
from casegen.analysis.dependence import (
    SUPPORT_Z,
    Dependence,
    dependence,
    indicator_share,
    n_eff_for_interval,
    n_eff_for_support,
    normal_scores,
    own_support_z,
)
from casegen.analysis.saturation import QUEUE_METRICS, Saturation, run_saturation
from casegen.runs.model import Run

STATS = registry.TABLE_STATS
P = {k: registry.STATISTICS[k].quantile for k in registry.PERCENTILE_STATS}
METRICS = registry.LATENCY_METRICS
#: a mean needs at least this many effective requests for an interval (heavy tails: at 200 requests a
#: 2 % mixture of ×10 slow requests and a Pareto α 2.5 tail covered 89 %; docs/statistics.md)
MEAN_MIN_N_EFF = 500
#: a statistic of an autocorrelated series needs at least this many effective samples
DEP_MIN_N_EFF = 30
#: below this many requests no interval at all: autocorrelation of 0.5 cannot be told from chance
MIN_REQUESTS = 50
#: one run's own percentile interval needs this many requests (changes between two runs do not): below
#: it a run cannot show its own dependence reliably — the tests find a weak long correlation (lag-1
#: 0.135, positive for ~20 lags) in 65 % of 200-request runs, 94.5 % at 500, 98.5 % at 700 — and a
#: 200-request stretch of a queue at 70 % load can look calm; the runs that look independent print
#: intervals covering 78 % (weak long correlation) and 24–37 % (queue). docs/statistics.md section 3
OWN_MIN_REQUESTS = 700
#: the same for a mean's own interval (a mean carries the series' whole long-run variance, not a
#: percentile indicator's share: weak long correlation at 500 and 700 requests printed means in 6 %
#: and 2 % of runs that covered 71 % and 66 %)
OWN_MEAN_MIN_REQUESTS = 1000
#: percentiles whose indicator factor is read off the Gaussian copula (``percentile_floor``)
CENTRAL = (0.25, 0.75)
#: headline figures that are always primary: the medians a reader looks at first (page 1)
HEADLINE_PRIMARY: tuple[tuple[str, str], ...] = (("ttft", "p50"), ("tpot", "p50"), ("e2e", "p50"))


def stat_p(stat: str) -> float | None:
    """'p99' → 0.99, 'p99.9' → 0.999, 'mean' → None."""
    return float(stat[1:]) / 100.0 if stat.startswith("p") else None


def pkey(percentile: float) -> str:
    """99 → 'p99', 99.9 → 'p99.9'."""
    return f"p{percentile:g}"


def primary_family(case) -> list[tuple[str, str]]:
    """The confirmatory comparisons, corrected together (``closed_family``): one (metric, stat) per SLO in
    case.yaml ('TTFT p99 ≤ 200 ms' → ('ttft', 'p99')), then the headline medians of TTFT, TPOT
    and E2E (page 1 of the report). Without SLOs only the medians. Every other delta is
    exploratory."""
    out: list[tuple[str, str]] = []
    for s in list(getattr(case, "slos", None) or []):
        key = (s.metric, pkey(s.percentile))
        if key not in out:
            out.append(key)
    for key in HEADLINE_PRIMARY:
        if key not in out:
            out.append(key)
    return out


def effective_n_needed(stat: str, dependent: bool = False, confidence: float = 0.95) -> int:
    """How many effective samples an interval of ``stat`` needs (the one source of these numbers:
    the † rule, the "Too few requests" threat and docs/statistics.md all use it).

    mean: MEAN_MIN_N_EFF (twice that for a dependent series: with weak long correlation the
    runs that cleared 200 were those underestimating it, and covered 86–90 %); percentile p: N(p), the smallest n with a two-sided distribution-free
    interval (95 %: p50 6, p90 36, p95 72, p99 368); for a dependent series max(DEP_MIN_N_EFF, 2·N(p)).
    """
    p = stat_p(stat)
    if p is None:
        return 2 * MEAN_MIN_N_EFF if dependent else MEAN_MIN_N_EFF
    need = stats.min_n_for_quantile_ci(p, confidence)
    return max(DEP_MIN_N_EFF, 2 * need) if dependent else need


@dataclass(frozen=True)
class Shortfall:
    """The interval rule's figures when a statistic gets no interval (:func:`support_shortfall`): what it
    needs and what this run counts as, as numbers — the report words them (``casegen.story.threats``); the
    ``reason`` is their record in summary.json.

    ``few``: fewer than MIN_REQUESTS requests, so nothing is counted (``counted`` = the requests, ``needed`` =
    MIN_REQUESTS). Otherwise ``counted`` effective ``unit`` ("samples": a request-level percentile's effective
    n; "requests": a mean, or pooled gaps' requests) against ``needed``; ``dependent``: requests are alike in
    send order (the need is doubled); ``cautious``: ``counted`` is the one-sided ``bound_pct`` % lower bound of
    an estimate, not the estimate."""

    stat: str
    needed: int
    counted: float
    unit: str = "samples"
    dependent: bool = False
    cautious: bool = False
    few: bool = False
    bound_pct: int = 80

    @property
    def reason(self) -> str:
        if self.few:
            return (f"{self.counted:,.0f} requests: below {self.needed}, autocorrelation between neighbouring requests "
                    "cannot be checked, so no interval is trustworthy")
        has = _has(self.counted, 1.0 if self.cautious else math.inf, self.bound_pct)
        if stat_p(self.stat) is None:
            return f"a mean needs ≥ {self.needed} effective requests, this run has {has}"
        why = " (requests are autocorrelated in send order)" if self.dependent else ""
        return f"{self.stat} needs ≥ {self.needed} effective {self.unit}{why}, this run has {has}"


def support_shortfall(metric: str, stat: str, n_eff: float, n_units_eff: float, dependent: bool = False,
                      n_units: int = MIN_REQUESTS, confidence: float = 0.95,
                      lower_bound: float = math.inf, bound_pct: int = 80) -> Shortfall | None:
    """Is an interval for this statistic trustworthy? None when it is, else the :class:`Shortfall` (the rule:
    :func:`support_rule`)."""
    if n_units < MIN_REQUESTS:
        return Shortfall(stat, MIN_REQUESTS, float(n_units), "requests", few=True)
    need = effective_n_needed(stat, dependent, confidence)
    cautious = math.isfinite(lower_bound)
    if stat_p(stat) is None:
        return (Shortfall(stat, need, n_units_eff, "requests", dependent, cautious, bound_pct=bound_pct)
                if n_units_eff < need else None)
    basis = n_units_eff if metric == "itl" else n_eff
    if basis < need:
        return Shortfall(stat, need, basis, "requests" if metric == "itl" else "samples", dependent, cautious,
                         bound_pct=bound_pct)
    return None


def support_rule(metric: str, stat: str, n_eff: float, n_units_eff: float, dependent: bool = False,
                 n_units: int = MIN_REQUESTS, confidence: float = 0.95,
                 lower_bound: float = math.inf, bound_pct: int = 80) -> tuple[bool, str]:
    """Is an interval for this statistic trustworthy? (supported, reason if not).

    * no interval from fewer than MIN_REQUESTS requests (``n_units``);
    * percentile p of a request-level metric: n_eff ≥ N(p), the smallest n with a two-sided
      distribution-free interval at ``confidence`` (95 %: p50 6, p90 36, p95 72, p99 368; 99 %:
      p50 8, p90 51, p95 104, p99 528);
    * percentile of pooled inter-chunk gaps: the same rule applied to the effective number of
      *requests* (a pooled tail rests on the few requests that produce it);
    * mean: ≥ MEAN_MIN_N_EFF effective requests (heavy tails and rare slow requests);
    * a dependent series (autocorrelation found in send order) needs n_eff ≥ max(DEP_MIN_N_EFF,
      2·N(p)): its n_eff is itself an estimate, biased high in short runs.

    For a dependent series the caller passes the one-sided 80 % lower bound on n_eff
    (``dependence.n_eff_for_support``; ``lower_bound`` = the estimate's degrees of freedom, finite
    when that is so, and the reason then names the bound, ``bound_pct``). One run's own interval is
    judged by the same rule on the bound at its own confidence (``own_interval_rule``).
    """
    short = support_shortfall(metric, stat, n_eff, n_units_eff, dependent, n_units, confidence, lower_bound, bound_pct)
    return (True, "") if short is None else (False, short.reason)


def _has(n: float, df: float, pct: int = 80) -> str:
    """'412' or, for an estimated (lower-bounded) effective n, '412 (80% lower bound of an estimate)'."""
    return f"{n:,.0f}" if not math.isfinite(df) else f"{n:,.0f} ({pct}% lower bound of an estimate)"


def own_interval_rule(metric: str, stat: str, est: tuple[float, float, float], unit_est: tuple[float, float, float],
                      dep: Dependence, n_units: int, confidence: float) -> str:
    """Why one run's *own* interval of a supported statistic is withheld (†) while its change keeps an
    interval, or "": :func:`support_rule` judged on the one-sided lower bound on n_eff at the interval's own
    confidence (``dependence.own_support_z``: 95 %) instead of 80 %. A dependent series only (an
    independent one has no estimated factor to bound). ``est``, ``unit_est``: the (effective n, factor,
    degrees of freedom) the support rule judged for the statistic and for the requests (pooled gaps).

    Why stricter than a change: an own interval rests on that one run's estimate of its dependence and
    is printed exactly where that estimate is low; withholding it costs no test. A change's support stays
    at 80 % — withholding a change costs power, and its draws are widened to the other run's dependence
    (``borrowed_draws``). docs/statistics.md section 3."""
    if not dep.dependent:
        return ""
    z = own_support_z(confidence)
    pct = round(100 * confidence)
    ok, why = support_rule(metric, stat, _support_n(*est, dep, z), _support_n(*unit_est, dep, z),
                           True, n_units, confidence, lower_bound=min(est[2], unit_est[2]), bound_pct=pct)
    return "" if ok else f"{why}; the change's interval allows for it"


@dataclass
class MetricSeries:
    """One metric of one run as per-request units in send order.

    Request-level metrics: ``num`` = value, ``den`` = 1. Pooled inter-chunk gaps: ``num`` = the
    request's gap sum, ``den`` = its gap count, ``offsets`` where its gaps start in ``values``.
    ``values`` are the pooled values in unit order.
    """

    values: np.ndarray
    num: np.ndarray
    den: np.ndarray
    offsets: np.ndarray | None = None

    @property
    def pooled(self) -> bool:
        return self.offsets is not None

    def counts_below(self, q: float) -> np.ndarray:
        """Per unit: how many of its values are ≤ q."""
        below = (self.values <= q).astype(float)
        if self.offsets is None:
            return below
        return np.add.reduceat(below, self.offsets)


def send_order(run: Run):
    """The successful requests of ``run`` sorted by send time (file order when there is none)."""
    df = run.requests
    assert df is not None
    ok = df[df["success"]]
    if ok.all_known("start_s") and len(ok):
        ok = ok.sort_values("start_s")
    return ok


def metric_series(run: Run) -> dict[str, MetricSeries]:
    """metric → its per-request series in send order (successful requests only)."""
    from casegen.analysis.metrics import request_latencies_ms

    ok = send_order(run)
    out: dict[str, MetricSeries] = {}
    for m, v in request_latencies_ms(ok).items():
        v = v[np.isfinite(v)]
        out[m] = MetricSeries(v, v, np.ones(v.size))
    col = ok["chunk_gaps_s"].tolist() if "chunk_gaps_s" in ok else []
    nz = [g for g in col if g is not None and len(g)]
    if nz:
        counts = np.fromiter((len(g) for g in nz), dtype=np.int64, count=len(nz))
        values = np.concatenate(nz).astype(float) * 1e3
        finite = np.isfinite(values)
        if not finite.all():
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            counts = np.add.reduceat(finite.astype(np.int64), starts)
            values = values[finite]
            counts = counts[counts > 0]
    if nz and values.size:
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        sums = np.add.reduceat(values, offsets)
        out["itl"] = MetricSeries(values, sums, counts.astype(float), offsets)
    else:
        out["itl"] = MetricSeries(np.array([]), np.array([]), np.array([]))
    return out


@dataclass
class StatResult:
    point: float
    draws: np.ndarray
    interval: tuple[float, float] | None
    supported: bool
    n_eff: float
    reason: str = ""
    #: the effective n the draws were made with (``n_eff`` widened for an estimated variance factor)
    draw_n_eff: float = math.nan
    #: why this run's own interval is withheld although the statistic is supported (its change keeps an
    #: interval): ``own_interval_rule``; "" otherwise
    own_reason: str = ""
    #: the interval rule's figures when it withholds the interval (``reason`` is their record)
    shortfall: Shortfall | None = None


@dataclass
class RunIntervals:
    """CIs of one run's statistics: metric → stat → (low, high) or None, plus the bootstrap draws.

    ``supported[metric][stat]`` is False when the run is too small (effectively) for an interval;
    ``reasons`` says why; ``dependence[metric]`` is the send-order dependence of the metric.
    """

    intervals: dict[str, dict[str, tuple[float, float] | None]] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)
    boot: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)
    supported: dict[str, dict[str, bool]] = field(default_factory=dict)
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    #: metric → stat → the interval rule's figures where ``reasons`` is its count against its need
    #: (:class:`Shortfall`); absent where another reason withholds the interval (saturation, no steady part)
    shortfalls: dict[str, dict[str, Shortfall]] = field(default_factory=dict)
    #: the confidence level the intervals (and the support rule's sample sizes) are for
    confidence: float = 0.95
    n_eff: dict[str, dict[str, float]] = field(default_factory=dict)
    #: the effective n each statistic's draws were made with (``n_eff`` widened for an estimated factor)
    draw_n_eff: dict[str, dict[str, float]] = field(default_factory=dict)
    dependence: dict[str, Dependence] = field(default_factory=dict)
    #: why the run looks saturated (its TTFT and E2E intervals are then withheld), or None
    saturation: Saturation | None = None
    #: "requests" (one run, requests in send order) or "runs" (repetitions as the unit)
    unit: str = "requests"
    #: metric → stat → why this run's own interval is withheld (†) although its draws support a change
    #: (:func:`withhold_short_run`: too few requests for one run to show its own dependence)
    withheld: dict[str, dict[str, str]] = field(default_factory=dict)
    #: (metric, stat) → each request's influence on the statistic (``influence``), aligned over the run's
    #: successful requests in send order (NaN where the metric has no value): the primary family's
    #: statistics only, for the correlation of their changes (``family_correlation``)
    influence: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)


def withhold_saturated(out: RunIntervals, sat: Saturation | None) -> RunIntervals:
    """Withhold (†) every interval of the metrics that contain queue wait when the run looks
    saturated (``casegen.analysis.saturation``); the point values stay."""
    out.saturation = sat
    if sat is None or not sat.withhold:
        return out
    for metric in QUEUE_METRICS:
        if metric not in out.supported:
            continue
        for stat in out.supported[metric]:
            out.supported[metric][stat] = False
            out.intervals[metric][stat] = None
            out.reasons.setdefault(metric, {})[stat] = sat.reason
            out.shortfalls.get(metric, {}).pop(stat, None)
    return out


def withhold_own(out: RunIntervals, reasons: dict[str, dict[str, str]]) -> RunIntervals:
    """Record why each supported statistic's own interval is withheld by ``own_interval_rule``
    (``reasons``: metric → stat → ``StatResult.own_reason``; ``series_stats`` already left its interval
    out): ``out.withheld``, as for a short run — the change keeps its interval. A statistic the saturation
    check made unsupported keeps that reason instead."""
    for metric, row in reasons.items():
        for stat, why in row.items():
            if why and out.supported.get(metric, {}).get(stat):
                out.intervals[metric][stat] = None
                out.withheld.setdefault(metric, {})[stat] = why
    return out


def own_min_requests(stat: str) -> int:
    """How many requests one run needs for its own interval of ``stat`` (a change needs fewer:
    ``borrowed_draws``)."""
    return OWN_MEAN_MIN_REQUESTS if stat_p(stat) is None else OWN_MIN_REQUESTS


def short_run_reason(n: int, stat: str) -> str:
    """Why a run's own interval of ``stat`` is withheld at ``n`` requests, in reader language."""
    return (f"{n:,} requests are too few for one run to show how alike neighbouring requests are "
            f"(its own {'mean' if stat_p(stat) is None else 'percentile'} intervals need ≥ "
            f"{own_min_requests(stat):,}); the change's interval allows for it")


def withhold_short_run(out: RunIntervals) -> RunIntervals:
    """Withhold (†) one run's own latency intervals when it has too few requests to measure its own
    dependence (``OWN_MIN_REQUESTS``; ``OWN_MEAN_MIN_REQUESTS`` for a mean). The draws stay, so
    changes between two runs keep their intervals: they do not rest on one run looking independent
    (``borrowed_draws``). A rule on n alone, fixed before any data is looked at: withholding in the
    runs that look independent would print exactly in the lucky ones."""
    if out.unit != "requests":
        return out
    for metric, row in out.intervals.items():
        dep = out.dependence.get(metric)
        if dep is None:
            continue
        for stat, ci in row.items():
            if ci is not None and dep.n < own_min_requests(stat):
                row[stat] = None
                out.withheld.setdefault(metric, {})[stat] = short_run_reason(dep.n, stat)
    return out


def withheld_for_length(out: RunIntervals) -> bool:
    """Whether any of this run's own intervals is withheld for the run's length (``withhold_short_run``),
    not by ``own_interval_rule`` (the report's note on short runs applies only then)."""
    return any(why == short_run_reason(out.dependence[metric].n, stat)
               for metric, row in out.withheld.items() if metric in out.dependence for stat, why in row.items())


def short_run_note(requests: dict[str, int]) -> str:
    """The report's note when runs' own intervals are withheld for their length (``requests``: the
    affected sides' labels → their number of requests), with what would support them."""
    who = " and ".join(f"{label} ({n:,} requests)" for label, n in requests.items())
    return (f"Each run's own latency intervals are withheld (†) for {who}: from one run that short, a weak "
            "correlation between neighbouring requests lasting a few dozen requests cannot be told from chance, and it "
            f"can make an interval half as wide as it should be. The changes' intervals allow for it. {OWN_MIN_REQUESTS:,} or more "
            f"requests a run ({OWN_MEAN_MIN_REQUESTS:,} for a mean), or three or more runs per side (the runs as the "
            "unit), would support each run's own intervals.")


def _factor(resid: np.ndarray, dep: Dependence, floor: Dependence | None = None,
            own: Dependence | None = None) -> tuple[float, float]:
    """Long-run variance factor of a statistic's residual series and its degrees of freedom.

    ``floor`` (default: the raw series' dependence ``dep``) is a floor on the factor: the statistic's
    own estimate (``own``, computed when not given) is noisier. For the interval of a central
    percentile of a request-level metric the floor is the indicator's factor on the Gaussian copula
    (:func:`percentile_floor`), not the raw series' factor, which overstates it. The degrees of
    freedom are those of whichever estimate set the factor. (1, ∞) for an independent series."""
    if not dep.dependent:
        return 1.0, math.inf
    own = dependence(resid, m_hat=dep.m_hat) if own is None else own
    if floor is None:
        floor = dep
    elif own.lrv_factor <= floor.lrv_factor * _upper_quartile(own.df):
        # a model-based floor stands unless the own (noisier) estimate exceeds it by more than its
        # noise: the maximum of two estimates of one factor is biased upwards (as batch means test)
        return floor.lrv_factor, floor.df
    return (own.lrv_factor, own.df) if own.lrv_factor > floor.lrv_factor else (floor.lrv_factor, floor.df)


def _upper_quartile(df: float) -> float:
    """Upper 25 % point of χ²_df / df (Wilson–Hilferty), the noise allowance of a variance factor
    estimated with df degrees of freedom; 1 for df = ∞."""
    if not math.isfinite(df):
        return 1.0
    d = max(df, 1.0)
    return (1 - 2 / (9 * d) + 0.6745 * math.sqrt(2 / (9 * d))) ** 3


def _variance_df(resid: np.ndarray, var_r: float) -> float:
    """Degrees of freedom of the sample variance of a pooled statistic's per-request residuals,
    2(N − 1)/(κ − 1) with κ their kurtosis: a pooled tail's count of gaps above it is carried by the few
    slow requests, so its variance is estimated from a handful of large values (κ of 6–20 at the p95 of
    200 requests) and is low in most runs; the interval widens for it as for an estimated factor."""
    kurt = float(np.mean((resid - resid.mean()) ** 4)) / (var_r * var_r)
    return 2.0 * (resid.size - 1) / max(kurt - 1.0, 1e-9)


def percentile_floor(dep_z: Dependence, p: float) -> Dependence:
    """The floor on the long-run variance factor of a p-quantile's indicator 1{x ≤ q_p}: the normal
    scores' factor f_z (lag window, AR(1) plug-in, batch means: ``dependence.dependence`` on
    ``dependence.normal_scores``), of which the indicator keeps the share κ of its excess that a
    Gaussian AR(1) with the scores' (bias-corrected) lag-1 correlation keeps:
    1 + κ · (f_z − 1) (``dependence.indicator_share``; exact for a Gaussian AR(1) — the median at
    ρ 0.5: 2.31, not the series' 3 — and first-order exact for any weak Gaussian correlation).
    The indicator's own estimate still raises it (``_factor``): a process whose slow requests
    cluster more than a Gaussian's (queues) keeps its larger own factor.

    Only for central percentiles (``CENTRAL``: the median): there κ hardly depends on ρ (0.64 at
    ρ → 0, 0.65 at 0.5, 0.68 at 0.9), so a misestimated ρ costs nothing. A tail's κ does (p90: 0.38
    to 0.51; p99: 0.10 to 0.27) and real tails cluster more than a Gaussian copula's (slow requests
    come in bursts): with κ the p90 at AR(1) ρ 0.9 and 1,000 requests covered 90 %, so tails keep
    the raw series' factor (the caller's default floor)."""
    rho1 = dep_z.lag1 + (1 + 3 * dep_z.lag1) / max(dep_z.n, 1) if math.isfinite(dep_z.lag1) else 0.0
    kappa = indicator_share(rho1, p)
    f = 1.0 + kappa * (max(dep_z.lrv_factor, 1.0) - 1.0)
    return Dependence(dep_z.n, dep_z.lags, max(dep_z.m_hat, 1), f, dep_z.block_length, dep_z.df, dep_z.bm_max)


def _support_n(n_eff: float, factor: float, df: float, dep: Dependence, z: float = SUPPORT_Z) -> float:
    """The effective n the † rule judges: an 80 % lower bound (``dependence.n_eff_for_support``; ``z``:
    another one-sided level, ``own_interval_rule``), and
    for a dependent series no more than the largest batch-means factor of the raw series allows
    (n_eff · factor / max(factor, f_BM)). Printing when the point estimate clears the bar prints
    exactly in the runs that underestimate their dependence; judging on the largest plausible factor
    keeps those out."""
    if not dep.dependent:
        return n_eff
    return n_eff_for_support(n_eff, df, z) * factor / max(factor, dep.bm_max, 1.0)


def series_stats(series: MetricSeries, stat_names: tuple[str, ...], confidence: float, resamples: int,
                 rng: np.random.Generator, method: str = "linear", metric: str = "") -> tuple[dict[str, StatResult], Dependence]:
    """Point value, bootstrap draws, interval and support of each statistic of one series."""
    a = (1 - confidence) / 2 * 100
    num, den = series.num, series.den
    units = num.size
    unit_means = num / den
    dep = dependence(unit_means)
    n_units_eff = dep.n_eff
    # a request-level percentile's dependence is read on the Gaussian copula (percentile_floor)
    dep_z = (dependence(normal_scores(unit_means), m_hat=dep.m_hat, sum_raise=True)
             if dep.dependent and not series.pooled else None)
    # request-level: sort once (order-statistic intervals need it); pooled gaps (possibly tens of
    # millions): partial sorts around each percentile only
    sorted_values = series.values if series.pooled else np.sort(series.values)
    presorted = not series.pooled
    total = float(den.sum())
    out: dict[str, StatResult] = {}
    for stat in stat_names:
        p = stat_p(stat)
        if p is None:
            theta = float(num.sum() / total)
            draws = stats.block_ratio_draws(num, den, dep.block_length, resamples, rng)
            resid = num - theta * den
            factor, df = _factor(resid, dep)
            n_eff = units / max(1.0, factor)
            var_r = float(np.var(resid))
            # the t-interval's widening for a variance estimated with df degrees of freedom — the factor's
            # and the sample variance's own (2(N − 1)/(κ − 1): a heavy tail's variance rests on its few
            # largest requests and is low in most runs; ≈ N − 1 for a normal sample)
            df_w = 1.0 / (1.0 / df + 1.0 / _variance_df(resid, var_r)) if var_r > 0 else df
            target_var = units * factor * var_r / total ** 2 * n_eff / n_eff_for_interval(n_eff, df_w, confidence)
            sd = float(np.std(draws))
            if sd > 0 and target_var > sd * sd:
                draws = theta + (draws - theta) * math.sqrt(target_var) / sd
            n_sup = _support_n(n_eff, factor, df, dep)
            short = support_shortfall(metric, stat, n_sup, n_sup, dep.dependent, units, confidence, lower_bound=df)
            ok, why = short is None, "" if short is None else short.reason
            own_why = (own_interval_rule(metric, stat, (n_eff, factor, df), (n_eff, factor, df), dep, units, confidence)
                       if ok else "")
            lo, hi = np.percentile(draws, [a, 100 - a])
            out[stat] = StatResult(theta, draws, (float(lo), float(hi)) if ok and not own_why else None, ok, n_eff,
                                   why, n_eff_for_interval(n_eff, df_w, confidence), own_why, short)
            continue
        q = float((stats.quantile_at if presorted else stats.quantile_select)(sorted_values, p, method))
        df, factor = math.inf, 1.0
        if not series.pooled and not dep.dependent:
            n_eff = float(units)
            sup_n_eff, sup_factor, sup_df = n_eff, factor, df
            ci = stats.quantile_ci(sorted_values, p, confidence)
            interval = (ci.low, ci.high) if ci else None
        else:
            c = series.counts_below(q)
            resid = c - p * den
            # a floor on the indicator's own (noisier) estimate: its Gaussian-copula factor for a
            # request-level metric, the raw series' factor for pooled gaps
            own = dependence(resid, m_hat=dep.m_hat) if dep.dependent else None
            factor, df = _factor(resid, dep, None, own)
            var_r = float(np.var(resid))
            if series.pooled and var_r > 0:
                df = 1.0 / (1.0 / df + 1.0 / _variance_df(resid, var_r))
            var_f = units * factor * var_r / total ** 2
            n_eff = p * (1 - p) / var_f if var_f > 0 else float(series.values.size)
            n_eff = min(n_eff, float(series.values.size))
            if not series.pooled:
                n_eff = min(n_eff, float(units))
            # whether to print is judged on the raw series' factor (above: conservative, so no run
            # prints that did not before); the width of a central percentile's interval on the
            # indicator's Gaussian-copula factor, which is its variance (power without lost coverage)
            sup_n_eff, sup_factor, sup_df = n_eff, factor, df
            if dep_z is not None and CENTRAL[0] <= p <= CENTRAL[1]:
                factor_c, df_c = _factor(resid, dep, percentile_floor(dep_z, p), own)
                if factor_c < factor:
                    n_eff, df = min(n_eff * factor / factor_c, float(units)), df_c
                    factor = factor_c
            interval = None
        draw_n = n_eff_for_interval(n_eff, df, confidence)
        draws = stats.quantile_draws(sorted_values, p, draw_n, resamples, rng, method, presorted)
        short = support_shortfall(metric, stat, _support_n(sup_n_eff, sup_factor, sup_df, dep),
                                  _support_n(n_units_eff, dep.lrv_factor, dep.df, dep),
                                  dep.dependent, units, confidence, lower_bound=min(df, dep.df))
        ok, why = short is None, "" if short is None else short.reason
        own_why = (own_interval_rule(metric, stat, (sup_n_eff, sup_factor, sup_df),
                                     (n_units_eff, dep.lrv_factor, dep.df), dep, units, confidence)
                   if ok else "")
        if ok and interval is None:
            lo, hi = np.percentile(draws, [a, 100 - a])
            interval = (float(lo), float(hi))
        if not ok or own_why:
            interval = None
        out[stat] = StatResult(q, draws, interval, ok, n_eff, why, draw_n, own_why, short)
    return out, dep


def run_intervals(run: Run, confidence: float, resamples: int, seed: int, side_index: int,
                  method: str = "linear", extra_stats: tuple[str, ...] = (), withhold: str = "",
                  family: list[tuple[str, str]] | tuple[tuple[str, str], ...] = HEADLINE_PRIMARY) -> RunIntervals:
    """Intervals for every metric/statistic of a per-request run (deterministic for a seed).

    ``withhold``: a reason no statistic of this run gets an interval (a run with no steady part,
    casegen.analysis.transient); every statistic is then unsupported (†) with that reason. ``family``: the
    primary statistics whose per-request influence is kept (``RunIntervals.influence``)."""
    out = RunIntervals(confidence=confidence)
    from casegen.analysis.metrics import request_latencies_ms

    aligned = request_latencies_ms(send_order(run))
    names = STATS + tuple(s for s in extra_stats if s not in STATS)
    own_withheld: dict[str, dict[str, str]] = {}
    for metric, series in sorted(metric_series(run).items(), key=lambda kv: METRICS.index(kv[0])):
        out.n[metric] = int(series.values.size)
        if series.num.size < 2:
            continue
        rng = np.random.default_rng([seed, side_index, METRICS.index(metric)])
        res, dep = series_stats(series, names, confidence, resamples, rng, method, metric)
        out.dependence[metric] = dep
        out.method[metric] = ("block bootstrap over requests in send order" if dep.dependent or series.pooled
                              else "order statistic; bootstrap for the mean")
        out.boot[metric] = {s: r.draws for s, r in res.items()}
        out.intervals[metric] = {s: r.interval for s, r in res.items()}
        out.supported[metric] = {s: r.supported for s, r in res.items()}
        out.reasons[metric] = {s: r.reason for s, r in res.items() if r.reason}
        out.shortfalls[metric] = {s: r.shortfall for s, r in res.items() if r.shortfall is not None}
        out.n_eff[metric] = {s: r.n_eff for s, r in res.items()}
        out.draw_n_eff[metric] = {s: r.draw_n_eff for s, r in res.items()}
        own_withheld[metric] = {s: r.own_reason for s, r in res.items() if r.own_reason}
        for m, stat in family:
            if m == metric and stat in res and metric in aligned:
                out.influence[(metric, stat)] = influence(np.asarray(aligned[metric], dtype=float), stat, res[stat].point)
    out = withhold_short_run(withhold_own(withhold_saturated(out, run_saturation(run)), own_withheld))
    if withhold:  # no steady part (casegen.analysis.transient): nothing for an interval to describe
        for metric in out.supported:
            out.intervals[metric] = {s: None for s in out.supported[metric]}
            out.supported[metric] = {s: False for s in out.supported[metric]}
            out.reasons[metric] = {s: withhold for s in out.supported[metric]}
        out.withheld, out.shortfalls = {}, {}
    return out


def delta_intervals(base: RunIntervals, opt: RunIntervals, confidence: float,
                    family: list[tuple[str, str]] | None = None) -> dict[str, dict[str, stats.DeltaCI]]:
    """metric → stat → DeltaCI. Primary statistics (``family``) are corrected together (``closed_family``)."""
    family = list(family or [])
    alpha = 1 - confidence
    out: dict[str, dict[str, stats.DeltaCI]] = {}
    #: (metric, stat) → (sd of the baseline's draws, sd of the optimized's, the change's sign, its normal
    #: z-score: median change / the draws' spread, the bootstrap p-value's floor 2/(B + 1))
    spread: dict[tuple[str, str], tuple[float, float, float, float, float]] = {}
    for metric in METRICS:
        if metric not in base.boot or metric not in opt.boot:
            continue
        row = {}
        for stat in base.boot[metric]:
            if stat not in opt.boot[metric]:
                continue
            fam = "primary" if (metric, stat) in family else "exploratory"
            ok = base.supported[metric].get(stat, False) and opt.supported[metric].get(stat, False)
            if not ok:
                row[stat] = stats.unsupported_delta(fam)
                continue
            bb, ob = borrowed_draws(base, opt, metric, stat), borrowed_draws(opt, base, metric, stat)
            d = stats.delta_ci(bb, ob, confidence)
            if d is not None:
                row[stat] = stats.DeltaCI(d.abs_low, d.abs_high, d.pct_low, d.pct_high, d.significant, True, fam,
                                          d.p_value, None)
                if fam == "primary":
                    diff = ob - bb
                    sd_d = float(np.std(diff))
                    spread[(metric, stat)] = (float(np.std(bb)), float(np.std(ob)),
                                              1.0 if float(np.median(diff)) >= 0 else -1.0,
                                              float(np.median(diff)) / sd_d if sd_d > 0 else 0.0,
                                              2.0 / (diff.size + 1))
        out[metric] = row
    return closed_family(out, family, alpha, lambda keys: family_correlation(base, opt, keys, spread))


def borrowed_draws(side: RunIntervals, other: RunIntervals, metric: str, stat: str) -> np.ndarray:
    """``side``'s bootstrap draws of (metric, stat) for a change, widened to the other run's dependence when
    ``side`` shows none and the other does (request-level metrics, one run a side).

    Whether a series is dependent is a test, and a short run often fails to show a weak, long
    correlation that is there (lag-1 0.135, positive for ~20 lags: found in 70 % of 200-request runs).
    Two runs of one benchmark on two systems share how requests are sent, so a dependence found in one
    is assumed in the other: the test of a change must not rest on the calmer run looking independent
    by chance (weak long correlation, 200 requests: A/A primary 8 → 4 %, benchmarks/coverage.py). The
    draws are spread around their median by √(φ_other / φ_side), φ = n / (the effective n each run's draws
    were made with: n_eff, widened for an estimated factor); the run's own interval is unchanged. Pooled inter-chunk gaps (whose n_eff
    includes each run's own within-request design effect) and repetitions (runs as the unit) keep their
    draws."""
    draws = side.boot[metric][stat]
    dep_s, dep_o = side.dependence.get(metric), other.dependence.get(metric)
    if metric == "itl" or side.unit != "requests" or dep_s is None or dep_o is None or dep_s.dependent:
        return draws
    try:
        phi_s = side.n[metric] / side.draw_n_eff[metric][stat]
        phi_o = other.n[metric] / other.draw_n_eff[metric][stat] if dep_o.dependent else 1.0
    except (KeyError, ZeroDivisionError):
        return draws
    n_sum = dep_s.n / max(1.0, dep_s.f_sum)
    phi_o = max(phi_o, dep_s.n / n_eff_for_interval(n_sum, dep_s.n / (2.0 * math.ceil(math.sqrt(dep_s.n)) + 1.0),
                                                    side.confidence))
    if not (math.isfinite(phi_o) and math.isfinite(phi_s)) or phi_o <= phi_s:
        return draws
    mid = float(np.median(draws))
    return mid + (draws - mid) * math.sqrt(phi_o / max(phi_s, 1.0))


def holm_family(out: dict[str, dict[str, stats.DeltaCI]], family: list[tuple[str, str]],
                alpha: float) -> dict[str, dict[str, stats.DeltaCI]]:
    """Holm over the primary statistics (``closed_family`` with no correlation: runs as the unit, whose few
    repetitions cannot estimate one)."""
    return closed_family(out, family, alpha, None)


def closed_family(out: dict[str, dict[str, stats.DeltaCI]], family: list[tuple[str, str]], alpha: float,
                  correlation=None) -> dict[str, dict[str, stats.DeltaCI]]:
    """The primary family's correction (``out`` updated and returned): the closed test of
    ``stats.closed_test`` over the primary statistics that can be tested, with ``correlation(keys)`` → the
    matrix of their z-scores' correlations and signs (``family_correlation``), or Holm when it is None or
    returns None. A statistic withheld for too little data (a rule on n alone, fixed before any difference
    is looked at) can never be rejected, so it is not in the family."""
    tested = [(m, s, p) for m, s in family if (d := out.get(m, {}).get(s)) is not None and d.supported
              and (p := d.p_value) is not None]
    if not tested:
        return out
    keys = [(m, s) for m, s, _p in tested]
    got = correlation(keys) if correlation is not None else None
    pvals = [p for _m, _s, p in tested]
    if got is None:
        adjusted = stats.holm(pvals)
    else:
        corr, signs, z_beyond = got
        # z from the bootstrap p-value; at its floor 2/(B + 1) (the draws cannot resolve a smaller one) from the
        # normal approximation, change / spread, when that is further out: a change far beyond the draws' reach
        # is not held at z = 2.7 (300 resamples) where the intersections' calibration is not
        z = [sign * max(stats.norm_isf(min(max(p, 1e-300), 1.0) / 2.0), abs(zb) if p <= floor * (1 + 1e-9) else 0.0)
             for p, sign, (zb, floor) in zip(pvals, signs, z_beyond)]
        adjusted = [max(a, p) for a, p in zip(stats.closed_test(z, corr), pvals)]
    how = "holm" if got is None or len(tested) > stats.CLOSED_MAX else "closed"
    for (metric, stat, _p), p_adj in zip(tested, adjusted):
        d = out[metric][stat]
        out[metric][stat] = stats.DeltaCI(d.abs_low, d.abs_high, d.pct_low, d.pct_high,
                                          bool(p_adj < alpha), True, "primary", d.p_value, p_adj, how)
    return out


def influence(values: np.ndarray, stat: str, point: float) -> np.ndarray:
    """Each request's influence on a statistic of a request-level metric, up to a positive scale (the
    statistic moves with the sum of its requests' influences): a p-quantile q, p − 1{x ≤ q} (one request
    below q lowers it); the mean, x − mean. NaN where the request has no value. Two statistics' estimates
    are correlated as their influences' sums are (``long_run_correlation``)."""
    p = stat_p(stat)
    finite = np.isfinite(values)
    out = np.full(values.size, np.nan)
    if p is None:
        out[finite] = values[finite] - point
    else:
        out[finite] = p - (values[finite] <= point)
    return out


def long_run_correlation(a: np.ndarray, b: np.ndarray, lags: int) -> float:
    """The correlation of the sums of two series in send order (``long_run_correlations`` of the pair)."""
    return float(long_run_correlations([a, b], lags)[0, 1])


def long_run_correlations(series: list[np.ndarray], lags: int) -> np.ndarray:
    """The correlation matrix of the sums of several series in send order, over the requests where every
    series has a value: Bartlett-weighted cross- and autocovariances over ``lags`` lags (a positive
    semi-definite estimate; one FFT a series beyond a few dozen lags), each entry never below the lag-0
    correlation — the larger is kept, since a correlation set too low makes the summed test of
    ``stats.closed_test`` too liberal and one set too high only costs power. 1 where a series is constant or
    fewer than 3 requests have every value (no estimate: the cautious end)."""
    k = len(series)
    ok = np.ones(series[0].size, dtype=bool)
    for x in series:
        ok &= np.isfinite(x)
    n = int(ok.sum())
    if n < 3:
        return np.ones((k, k))
    x = np.array([v[ok] - v[ok].mean() for v in series])
    lag0 = x @ x.T
    d0 = np.sqrt(np.diag(lag0))
    if not np.all(d0 > 0):
        return np.ones((k, k))
    r0 = lag0 / np.outer(d0, d0)
    lags = min(lags, n - 1)
    if lags <= 0:
        return np.clip(r0, -1.0, 1.0)
    w = 1.0 - np.arange(1, lags + 1) / (lags + 1.0)
    lrc = lag0.copy()
    if lags <= 32:
        for h in range(1, lags + 1):
            g = x[:, :-h] @ x[:, h:].T  # g[i, j] = Σ_t x_i,t · x_j,t+h
            lrc += w[h - 1] * (g + g.T)
    else:
        size = 1 << (2 * n - 1).bit_length()
        f = np.fft.rfft(x, size, axis=1)
        for i in range(k):
            for j in range(i, k):
                cc = np.fft.irfft(np.conj(f[i]) * f[j], size)
                total = float(w @ (cc[1:lags + 1] + cc[size - lags:][::-1]))
                lrc[i, j] = lag0[i, j] + total
                lrc[j, i] = lrc[i, j]
    d = np.sqrt(np.diag(lrc))
    if not np.all(d > 0):
        return np.clip(r0, -1.0, 1.0)
    return np.clip(np.maximum(lrc / np.outer(d, d), r0), -1.0, 1.0)


def correlation_lags(side: RunIntervals, metrics: set[str]) -> int:
    """Lags the correlation of one run's statistics sums over: none when no metric of the family shows
    dependence in send order, else ⌈√n⌉ (the reach of the √n-lag sum, ``dependence.Dependence.f_sum``)."""
    deps = [side.dependence[m] for m in metrics if m in side.dependence]
    if not deps or not any(d.dependent for d in deps):
        return 0
    return math.ceil(math.sqrt(max(d.n for d in deps)))


def family_correlation(base: RunIntervals, opt: RunIntervals, keys: list[tuple[str, str]],
                       spread: dict[tuple[str, str], tuple[float, float, float, float, float]]):
    """(correlation matrix of the family's z-scores, their signs, (normal z-score, p-value floor) of each) for
    ``stats.closed_test``, or None (Holm)
    when a statistic's influence is missing (pooled inter-chunk gaps; runs as the unit).

    Each side's statistics are correlated as their influences' sums (``long_run_correlation``); the change
    Δ_i = opt_i − base_i of independent runs has Cov(Δ_i, Δ_j) = Σ_side r_ij · s_i · s_j, with s each side's
    bootstrap spread (its draws' standard deviation), and the z-scores Δ_i / √(Σ_side s_i²) the same
    correlation."""
    if any(k not in base.influence or k not in opt.influence or k not in spread for k in keys):
        return None
    n = len(keys)
    cov = np.zeros((n, n))
    metrics = {m for m, _s in keys}
    # a dependence found in either run is assumed in both (as ``borrowed_draws`` does)
    lags = max(correlation_lags(base, metrics), correlation_lags(opt, metrics))
    for side_i, side in enumerate((base, opt)):
        sd = np.array([spread[k][side_i] for k in keys])
        r = long_run_correlations([side.influence[k] for k in keys], lags)
        np.fill_diagonal(r, 1.0)
        cov += r * np.outer(sd, sd)
    d = np.sqrt(np.diag(cov))
    if not np.all(d > 0):
        return None
    return cov / np.outer(d, d), [spread[k][2] for k in keys], [(spread[k][3], spread[k][4]) for k in keys]


def any_primary_significant(cis: dict[str, dict[str, stats.DeltaCI]]) -> bool:
    return any(d.significant for row in cis.values() for d in row.values() if d.family == "primary")
