"""Cost per request and per token, monthly spend, payback and ROI.

Definitions (``docs/cost.md``); money in USD, rates per second, 730 h per month:

Self-hosted, per replica of ``g`` GPUs at ``P`` $/GPU-hour, measured throughput
``X`` (requests/s, output tokens/s, total tokens/s) and utilisation ``U``::

    cost_per_hour          = g · P
    usd_per_request        = g · P / (3600 · X_req · U)
    usd_per_1M_output      = g · P · 1e6 / (3600 · X_out · U)
    usd_per_1M_total       = g · P · 1e6 / (3600 · X_tot · U)
    replicas_for_peak      = ceil(peak_rps / (X_req · headroom))
    fleet_usd_per_month    = replicas_for_peak · g · P · 730

Hosted API, with mean input tokens ``I``, output tokens ``O`` per request and a
cached share ``c`` of input tokens::

    usd_per_request = (I·(1−c)·p_in + I·c·p_cached + O·p_out) / 1e6

Monthly spend = usd_per_request × requests_per_month (``monthly_basis: usage``)
or the always-on fleet (``monthly_basis: fleet``, self-hosted only).
Savings = baseline − optimized per month; payback = one-time cost / savings,
only when savings > 0 (otherwise there is no payback, never a negative number);
ROI over H months = (savings · H − one-time) / one-time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from casegen.analysis.metrics import RunMetrics
from casegen.case.model import ApiPricing, Cost, SelfHostedPricing, SidePricing, machine_word
from casegen.errors import CasegenError
from casegen.formatting import fmt_rps, fmt_sig3, usd_difference_shown

HOURS_PER_MONTH = 730.0


@dataclass
class SideCost:
    """Cost figures for one side (baseline or optimized)."""

    kind: str  # "self_hosted" or "api"
    usd_per_request: float
    usd_per_million_output_tokens: float | None
    usd_per_million_total_tokens: float | None
    usd_per_month: float
    usage_usd_per_month: float
    usd_per_replica_hour: float | None = None
    replicas_for_peak: int | None = None
    fleet_usd_per_month: float | None = None
    throughput_requests_per_s: float | None = None
    assumptions: list[str] = field(default_factory=list)
    #: how the figures are known: "point", "at_most" (priced at a capacity that is a lower bound) or
    #: "at_least" (priced at a capacity that is an upper bound)
    bound: str = "point"
    #: False when priced at a capacity no load point certified (a point estimate, shown †)
    established: bool = True


@dataclass
class CostComparison:
    baseline: SideCost
    optimized: SideCost
    savings_usd_per_month: float
    savings_pct: float | None
    one_time_cost_usd: float
    payback_months: float | None  # None: no payback (savings ≤ 0)
    roi_pct: float | None  # None when there is no one-time cost to return on
    horizon_months: int
    net_usd_over_horizon: float
    verdict: str  # one sentence for the report
    #: how the saving (and so payback, ROI) is known: "point", "at_least", "at_most" or "unknown"
    #: (both sides bounded the same way: no bound on the difference)
    savings_bound: str = "point"
    #: False when either side is priced at a capacity no load point certified (a point estimate, †)
    established: bool = True
    #: the same comparison with every capacity at its estimate, when a bound above counted an estimate at
    #: the end of its range (``sweep.Capacity.beside``): the figures the charts and steps show; else None
    estimate: CostComparison | None = None


#: bound of (baseline cost − optimized cost) from each side's cost bound
_SAVING_BOUND = {
    ("point", "point"): "point", ("point", "at_most"): "at_least", ("point", "at_least"): "at_most",
    ("at_least", "point"): "at_least", ("at_most", "point"): "at_most",
    ("at_least", "at_most"): "at_least", ("at_most", "at_least"): "at_most",
}


def saving_bound(baseline: str, optimized: str) -> str:
    """How ``baseline − optimized`` is known when each cost is a point or a bound ('unknown' when
    both are bounded in the same direction)."""
    return _SAVING_BOUND.get((baseline, optimized), "unknown")


def _price(usd: float) -> str:
    """A list price as price lists write it: cents always, more digits only when the price has them
    ($0.60, $0.15, $0.075, $2.50)."""
    digits = max(2, len(f"{usd:.6f}".rstrip("0").split(".")[1]))
    return f"${usd:,.{digits}f}"


def self_hosted_cost(p: SelfHostedPricing, m: RunMetrics, c: Cost, side: str,
                     capacity_source: str | None = None) -> SideCost:
    """``capacity_source``: how the capacity was found when casegen set it (a sweep's capacity at
    SLO), so the assumption says so instead of 'as stated in case.yaml'."""
    tp = m.throughput
    x_req = tp.get("requests_per_s")
    if not x_req or x_req <= 0:
        raise CasegenError(
            f"the {side} run has no measured request throughput, so its self-hosted cost cannot be computed",
            where=f"cost.{side}.self_hosted",
            expected="a run with a duration (timestamps in the file, or runs.<side>.duration_s in case.yaml)",
        )
    x_out = tp.get("output_tokens_per_s")
    x_tot = tp.get("total_tokens_per_s")
    measured = x_req
    if p.capacity_requests_per_s is not None:  # scale token rates with the request rate
        scale = p.capacity_requests_per_s / x_req
        x_req = p.capacity_requests_per_s
        x_out = x_out * scale if x_out else x_out
        x_tot = x_tot * scale if x_tot else x_tot
    if p.gpu_hourly_usd is None:  # prices by name are filled in by casegen.case.prices.resolve_cost first
        raise CasegenError(f"no GPU price for the {side} side", where=f"cost.{side}.self_hosted.gpu_hourly_usd",
                           expected="gpu_hourly_usd, or gpu and provider from casegen's GPU price table")
    hour = p.gpus_per_replica * p.gpu_hourly_usd
    effective = 3600.0 * p.utilization
    per_request = hour / (effective * x_req)
    per_m_out = hour * 1e6 / (effective * x_out) if x_out else None
    per_m_tot = hour * 1e6 / (effective * x_tot) if x_tot else None
    usage = per_request * c.requests_per_month
    replicas = fleet = None
    if c.peak_requests_per_s is not None:
        replicas = max(1, math.ceil(c.peak_requests_per_s / (x_req * c.headroom) - 1e-9))
        fleet = replicas * hour * HOURS_PER_MONTH
    monthly = fleet if c.monthly_basis == "fleet" and fleet is not None else usage
    gpu = p.gpu or "GPU"
    if capacity_source is not None:
        capacity = f"capacity {capacity_source}"
    elif p.capacity_requests_per_s is not None:
        capacity = (f"capacity {fmt_rps(x_req)} per replica as stated by the author "
                    f"(the run measured {fmt_rps(measured)})")
    else:
        capacity = f"measured throughput {fmt_rps(x_req)} per replica"
    assumptions = [
        f"{p.gpus_per_replica} × {gpu} at ${p.gpu_hourly_usd:,.2f} per {machine_word(p.gpu)}-hour = ${hour:,.2f} "
        "per replica-hour",
        # two different figures, named apart (issue 23): the average utilisation prices each request,
        # the peak planning load sizes the fleet
        f"{capacity}; cost per request at an average utilisation of {p.utilization:.0%} of it (idle time is paid for)",
    ]
    if replicas is not None and c.peak_requests_per_s is not None:
        assumptions.append(
            f"{replicas} replica{'s' if replicas != 1 else ''} for the {c.peak_requests_per_s:,g} req/s peak, each "
            f"planned at {c.headroom:.0%} of that throughput ({c.peak_requests_per_s:,g} ÷ "
            f"({fmt_sig3(x_req)} × {c.headroom:.0%}), rounded up)")
    return SideCost("self_hosted", per_request, per_m_out, per_m_tot, monthly, usage, hour, replicas, fleet,
                    x_req, assumptions)


def api_cost(p: ApiPricing, m: RunMetrics, c: Cost, side: str) -> SideCost:
    tin = m.tokens.get("input")
    tout = m.tokens.get("output")
    if tin is None or tout is None or tin.mean is None or tout.mean is None:
        raise CasegenError(
            f"the {side} run has no token counts, so its API cost cannot be computed",
            where=f"cost.{side}.api", expected="a run with input and output token counts",
        )
    if p.input_usd_per_1m is None or p.output_usd_per_1m is None:  # filled in by casegen.case.prices.resolve_cost
        raise CasegenError(f"no API price for the {side} side", where=f"cost.{side}.api",
                           expected="input_usd_per_1m and output_usd_per_1m, or model (and provider) from the catalogue")
    cached_price = p.cached_input_usd_per_1m if p.cached_input_usd_per_1m is not None else p.input_usd_per_1m
    measured = m.tokens.get("cached_share")  # the run's per-request cached tokens win over a stated share
    i, o, share = tin.mean, tout.mean, (measured if measured is not None else p.cached_input_share)
    per_request = (i * (1 - share) * p.input_usd_per_1m + i * share * cached_price + o * p.output_usd_per_1m) / 1e6
    per_m_out = per_request / o * 1e6 if o > 0 else None
    per_m_tot = per_request / (i + o) * 1e6 if i + o > 0 else None
    monthly = per_request * c.requests_per_month
    who = p.provider or "API"
    assumptions = [
        f"{who}: {_price(p.input_usd_per_1m)} per 1M input, {_price(cached_price)} per 1M cached input "
        f"({share:.0%} of input cached, {'measured per request by the run' if measured is not None else 'as stated'}), "
        f"{_price(p.output_usd_per_1m)} per 1M output tokens",
        f"mean {i:,.0f} input and {o:,.0f} output tokens per request (from the run)",
    ]
    return SideCost("api", per_request, per_m_out, per_m_tot, monthly, monthly, assumptions=assumptions)


def side_cost(pricing: SidePricing, m: RunMetrics, c: Cost, side: str, capacity_source: str | None = None) -> SideCost:
    if pricing.self_hosted is not None:
        return self_hosted_cost(pricing.self_hosted, m, c, side, capacity_source)
    assert pricing.api is not None
    return api_cost(pricing.api, m, c, side)


def payback(one_time: float, savings_per_month: float) -> float | None:
    """Months until cumulative savings repay the one-time cost; None if never."""
    if savings_per_month <= 0:
        return None
    return one_time / savings_per_month


@dataclass
class RevenueEffect:
    """Estimated revenue change per month from a latency change (an assumption, shown apart from cost)."""

    usd_per_month: float
    latency_change_ms: float  # optimized − baseline
    metric: str
    stat: str
    source: str
    text: str


def revenue_effect(r, latency_change_ms: float) -> RevenueEffect:
    """effect = revenue · (change_pct_per_100ms / 100) · (−Δlatency_ms / 100)."""
    effect = r.monthly_revenue_usd * (r.change_pct_per_100ms / 100.0) * (-latency_change_ms / 100.0)
    text = (f"{r.metric.upper()} {r.stat} changed by {latency_change_ms:+.1f} ms; at {r.change_pct_per_100ms:g}% of "
            f"${r.monthly_revenue_usd:,.0f} monthly revenue per 100 ms, that is ${effect:+,.0f} per month")
    return RevenueEffect(effect, latency_change_ms, r.metric, r.stat, r.source, text.replace("$-", "−$").replace("$+", "+$"))


def compare_costs(c: Cost, base: RunMetrics, opt: RunMetrics,
                  at_capacity: dict[str, tuple[str, str, bool]] | None = None) -> CostComparison:
    """``at_capacity``: for a side priced at a sweep's capacity at SLO, (capacity text, cost bound,
    established) — the costs, the saving and payback then carry that bound."""
    at_capacity = at_capacity or {}
    sides = {}
    for side, pricing, m in (("baseline", c.baseline, base), ("optimized", c.optimized, opt)):
        cap = at_capacity.get(side)
        sc = side_cost(pricing, m, c, side, cap[0] if cap else None)
        if cap is not None:
            sc.bound, sc.established = cap[1], cap[2]
        sides[side] = sc
    b, o = sides["baseline"], sides["optimized"]
    # the saving is the difference of the monthly figures as printed (whole dollars), so the report's
    # "$1,493 → $1,019 a month" and "saves $474" add up; payback and ROI follow from it
    savings = usd_difference_shown(b.usd_per_month, o.usd_per_month, b.bound, o.bound)
    pct = savings / b.usd_per_month * 100 if b.usd_per_month > 0 else None
    months = payback(c.one_time_cost_usd, savings)
    net = savings * c.horizon_months - c.one_time_cost_usd
    roi = net / c.one_time_cost_usd * 100 if c.one_time_cost_usd > 0 else None
    if savings <= 0:
        verdict = (
            f"No payback: the optimized setup costs ${-savings:,.0f} more per month"
            if savings < 0 else "No payback: monthly cost is unchanged"
        )
    elif c.one_time_cost_usd == 0:
        verdict = f"Saves ${savings:,.0f} per month with no one-time cost: pays back immediately"
    else:
        verdict = (
            f"Saves ${savings:,.0f} per month; the ${c.one_time_cost_usd:,.0f} one-time cost pays back in "
            f"{months:.1f} months"
        )
    return CostComparison(b, o, savings, pct, c.one_time_cost_usd, months, roi, c.horizon_months, net, verdict,
                          saving_bound(b.bound, o.bound), b.established and o.established)
