"""The ladder: baseline → step → … → optimized, and what each step bought.

``runs.steps`` in case.yaml lists intermediate variants between baseline and optimized. The ladder's
rungs are ``[baseline, *steps, optimized]``; step ``i`` (1-based) goes from rung ``i−1`` to rung ``i``.

Per step, relative to the previous rung (definitions as for the two-sided comparison, docs/ladder.md):

* latency: Δ = this − previous for mean/p50/p90/p95/p99 of TTFT, TPOT, ITL, E2E; with per-request data
  on both rungs a bootstrap interval of Δ (each rung resampled with its own seed), "significant" when the
  interval excludes 0;
* throughput: Δ of requests/s and output tokens/s (no interval: one run measures one throughput);
* SLOs: each rung's verdict per objective (pass / fail / inconclusive), and the change;
* sweeps: each rung's capacity at SLO and the ratio to the previous rung; the detailed statistics at
  the load point every rung measured (``capacity.compare_at`` or the highest one all share);
* cost: each rung's monthly cost (its own pricing), the monthly saving of the step, the step's
  one-time cost and its payback = one-time / saving (None when the step saves nothing).

What a step made worse is decided in casegen.story (``step_regressions``) by the page-1 rules applied to
the step as a two-sided study, plus † point regressions where the rungs have no intervals.

The waterfall (``waterfall(...)``) splits the total change baseline → optimized of one figure into the
steps' contributions; they add up exactly, because each is the difference of adjacent rungs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from casegen.analysis import slo as slo_mod
from casegen.analysis import uncertainty
from casegen.analysis.metrics import Delta, RunMetrics, latency_deltas, throughput_deltas
from casegen.errors import CasegenError

#: without intervals (summary-only rungs), a primary latency statistic rising or request throughput
#: falling by more than this (in %) is a † point regression of the step (casegen.story)
POINT_REGRESSION_PCT = 5.0


@dataclass
class Rung:
    key: str  # "baseline", "steps.0", …, "optimized"
    label: str
    run: Any  # the run the detailed statistics use (a sweep's point at the common load)
    metrics: RunMetrics
    intervals: Any = None  # uncertainty.RunIntervals, per-request runs only
    slos: Any = None  # slo.SLOSummary
    sweep: Any = None  # sweep.Sweep
    capacity: Any = None  # sweep.Capacity
    cost: Any = None  # cost.SideCost
    #: an interpolated capacity's cost priced at the ends of its range, by the cost's bound there
    #: ("at_least": at the top, "at_most": at the bottom), for a step beside a bound (Capacity.beside)
    cost_ends: dict[str, Any] = field(default_factory=dict)
    one_time_cost_usd: float = 0.0  # of reaching this rung from the previous one


@dataclass
class StepEffect:
    index: int  # 1-based
    frm: str
    to: str
    latency: dict[str, dict[str, Delta]]
    latency_ci: dict[str, dict[str, Any]]  # stats.DeltaCI
    throughput: dict[str, Delta]
    slo_changes: list[dict[str, Any]]
    capacity_ratio: float | None
    saving_usd_per_month: float | None
    one_time_cost_usd: float
    payback_months: float | None
    #: what the step made worse / better, in words: set from the step's findings by casegen.story
    #: (the same rules as page 1: significant after correction, or a † point regression so labelled)
    worse: list[str] = field(default_factory=list)
    better: list[str] = field(default_factory=list)
    #: the same regressions as page-1 cards (story.model.Card), kept so page 1 does not decide them again
    regression_cards: list[Any] = field(default_factory=list)
    tradeoffs: list[Any] = field(default_factory=list)  # case.yaml trade-offs with step == this rung's label
    findings: list[Any] = field(default_factory=list)  # report_model.Finding: casegen.story.findings' rules on this step

    @property
    def regressions(self) -> list[str]:
        """Every way this step made things worse (decided by casegen.story from the step's findings)."""
        return list(self.worse)


@dataclass
class Ladder:
    rungs: list[Rung]
    steps: list[StepEffect]
    compare_load: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[str]:
        return [f"Step {s.index} ({s.to}): {w}" for s in self.steps for w in s.regressions]


def _slo_status(summary: Any) -> dict[tuple[str, float], str | None]:
    if summary is None or not summary.available:
        return {}
    return {(r.metric, r.percentile): (r.verdict.status if r.verdict else None) for r in summary.results}


def step_costs(prev: Rung, cur: Rung) -> tuple[Any, Any]:
    """The two rungs' costs a step compares: an estimate beside a bound at the end of its range that
    keeps the saving's bound true (``Capacity.beside``), otherwise each rung's own cost."""
    def pick(r: Rung, other: Rung) -> Any:
        if r.capacity is None or other.capacity is None:
            return r.cost
        end = r.capacity.beside(other.capacity)
        return r.cost_ends.get(end[1], r.cost) if end is not None else r.cost
    return pick(prev, cur), pick(cur, prev)


def step_effect(i: int, prev: Rung, cur: Rung, confidence: float,
                family: list[tuple[str, str]] | None = None) -> StepEffect:
    """What step ``i`` (prev → cur) changed, with intervals where both rungs have per-request data.

    ``family``: the primary statistics (``uncertainty.primary_family``), corrected together within the step (``uncertainty.closed_family``)."""
    lat = latency_deltas(prev.metrics, cur.metrics)
    cis = (uncertainty.delta_intervals(prev.intervals, cur.intervals, confidence, family)
           if prev.intervals is not None and cur.intervals is not None else {})
    thr = throughput_deltas(prev.metrics, cur.metrics)
    changes = []
    before, after = _slo_status(prev.slos), _slo_status(cur.slos)
    for slo_key in after:
        b, a = before.get(slo_key), after.get(slo_key)
        changes.append({"metric": slo_key[0], "percentile": slo_key[1], "before": b, "after": a})
    ratio = None
    if prev.capacity is not None and cur.capacity is not None and prev.capacity.value_rps and cur.capacity.value_rps:
        ratio = cur.capacity.value_rps / prev.capacity.value_rps
    saving = payback = None
    prev_cost, cur_cost = step_costs(prev, cur)
    if prev_cost is not None and cur_cost is not None:
        saving = prev_cost.usd_per_month - cur_cost.usd_per_month
        payback = cur.one_time_cost_usd / saving if saving > 0 else None
    return StepEffect(i, prev.label, cur.label, lat, cis, thr, changes, ratio, saving, cur.one_time_cost_usd,
                      payback)


def waterfall(rungs: list[Rung], value) -> list[tuple[str, float]] | None:
    """[(label, value at baseline), (step label, change), …]: ``value(rung)`` → float or None.

    The changes are differences of adjacent rungs, so baseline + Σ changes = the optimized value exactly.
    """
    vals = [value(r) for r in rungs]
    if any(v is None or not math.isfinite(v) for v in vals):
        return None
    out = [(rungs[0].label, float(vals[0]))]
    out += [(r.label, float(vals[i + 1] - vals[i])) for i, r in enumerate(rungs[1:])]
    return out


def assign_tradeoffs(steps: list[StepEffect], tradeoffs: list, where) -> None:
    """Attach each trade-off with ``step:`` to the step whose target rung has that label."""
    labels = {s.to: s for s in steps}
    for i, t in enumerate(tradeoffs):
        if t.step is None:
            continue
        s = labels.get(t.step)
        if s is None:
            raise CasegenError(f"no ladder step is labelled '{t.step}'", where=where("tradeoffs", i, "step"),
                               expected="the label of a step or of the optimized side: " + ", ".join(labels))
        s.tradeoffs.append(t)


def ladder_slos(run: Any, case: Any, duration_s: float | None, method: str, metrics: Any = None) -> Any:
    return slo_mod.evaluate_slos(run, list(case.slos), case.analysis, duration_s, method, metrics) if case.slos else None
