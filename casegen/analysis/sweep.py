"""Load sweeps: latency–throughput curves, capacity at SLO, knee, cost at capacity.

A *sweep* is one configuration measured at several load points — request rates
(open loop, ``--request-rate``) or concurrencies (closed loop,
``--max-concurrency``). Definitions and a worked example: ``docs/sweeps.md``.

Public API::

    sweep = build_sweep(runs, load="auto", label="kvcache")   # -> Sweep
    pairing = pair_points(base_sweep, opt_sweep)               # -> SweepPairing
    verdict = point_slo(point, slos)                           # -> PointSLO (SLO percentiles)
    cap = capacity_at_slo(sweep, slos, attainment=0.90)        # -> Capacity (joint attainment ≥ 0.90)
    k = knee(sweep, metric="ttft", stat="p50", factor=1.5)     # -> Knee
    money = capacity_cost(cap.value_rps, cap.output_tokens_per_s, gpu_hourly_usd=2.0,
                          gpus_per_replica=1, utilization=0.6,
                          requests_per_month=1e6, peak_rps=50, headroom=0.8)  # -> CapacityCost

Two ways a point "meets" the SLOs (``point_slo``):

* **per-request point** (the run has a request table), default (``attainment=None``): every SLO
  "pP of M ≤ T" is judged at its own percentile by ``casegen.analysis.slo.evaluate_slos``: MLPerf early
  stopping on (issued requests, requests over T) at ``analysis.slo_confidence``. The point
  **passes** when every verdict passes, **fails** when a verdict fails or a recomputed pP is over T,
  and is **inconclusive** when every recomputed pP is within T but too few requests were sent to
  certify it (counted as passing by the capacity walk, which lists such points in its notes).
  With ``attainment`` = α (e.g. DistServe's 0.90) instead: *joint attainment* = requests meeting
  every SLO threshold / requests issued (failed requests never meet) must be ≥ α.
* **summary-only point** (only the tool's printed statistics): for every SLO "pP of M ≤ T ms" the
  tool's printed pP of M must be ≤ T. If pP was not printed, a printed higher percentile (or max)
  that is within T proves a pass and a printed lower percentile above T proves a fail; otherwise
  the point is **unknown** and the missing percentile is named. ``attainment`` does not apply.
  Printed percentiles cover successful requests only, so when the failed share exceeds 1 − P/100
  the SLO fails outright.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

from casegen.analysis.metrics import METRIC_LABELS, RunMetrics, compute_run_metrics
from casegen.analysis.slo import evaluate_slos, judge_printed
from casegen.case.model import SLO, Analysis
from casegen.errors import CasegenError, require
from casegen.formatting import directed, fmt_load, fmt_ms, fmt_ms_limit, fmt_rate
from casegen.runs.model import Run

LoadKind = Literal["rate", "concurrency"]

#: Two nominal loads pair when they differ by at most this fraction (relative).
PAIR_TOLERANCE = 0.01
#: A rate point is flagged when achieved req/s differs from the offered rate by more than this.
OFFERED_GAP = 0.10
#: Default attainment level α: None = each SLO's own percentile decides (p99 → 99 % of requests,
#: judged by MLPerf early stopping); a number (e.g. DistServe's 0.90) = joint attainment ≥ α.
DEFAULT_ATTAINMENT: float | None = None
#: Default knee factor: the knee is the first point whose latency exceeds this × the lowest-load latency.
DEFAULT_KNEE_FACTOR = 1.5

_SHORT = {"ttft": "TTFT", "tpot": "TPOT", "itl": "ITL", "e2e": "E2E", "decode": "decode"}


def _fmt(x: float) -> str:
    """A request rate without its unit, written as everywhere else in the report (:func:`fmt_rate`)."""
    return fmt_rate(x, "")


def _pkey(percentile: float) -> str:
    """99 → 'p99', 99.9 → 'p99.9', 50 → 'p50'."""
    return f"p{percentile:g}"


def slo_text(slo: SLO) -> str:
    """'TTFT p99 ≤ 200 ms', 'TTFT p99 ≤ 2 s': the limit written as every limit (fmt_ms_limit)."""
    return f"{_SHORT.get(slo.metric, slo.metric)} {_pkey(slo.percentile)} ≤ {fmt_ms_limit(slo.threshold_ms)}"


# --------------------------------------------------------------------------------------------
# points and sweeps


#: verdict of one load point against the SLOs
SLOStatus = Literal["pass", "fail", "inconclusive", "unknown"]


@dataclass
class SweepPoint:
    """One load point of a sweep.

    ``load`` is the nominal (offered) load: request rate in req/s (``math.inf`` = all requests
    at once, labelled "unbounded") or maximum concurrency. ``achieved_rps`` /
    ``achieved_out_tps`` are the measured throughputs (successful requests and output tokens per
    second of run duration), None when the run has no duration.
    """

    run: Run
    metrics: RunMetrics
    load: float
    load_kind: LoadKind
    achieved_rps: float | None
    achieved_out_tps: float | None

    @property
    def summary_only(self) -> bool:
        return self.run.summary_only

    @property
    def unbounded(self) -> bool:
        return self.load_kind == "rate" and math.isinf(self.load)

    @property
    def label(self) -> str:
        """'rate 10 req/s', 'rate unbounded', 'concurrency 16' (formatting.fmt_load)."""
        return fmt_load(self.load, self.load_kind)

    @property
    def short_label(self) -> str:
        """'10', '∞', 'c16' — for chart annotations (formatting.fmt_load)."""
        return fmt_load(self.load, self.load_kind, short=True)

    def latency(self, metric: str, stat: str) -> float | None:
        """A latency statistic in ms (e.g. ``("ttft", "p99")``); None when not available."""
        dist = self.metrics.latency_ms.get(metric)
        value = dist.get(stat) if dist is not None and hasattr(dist, stat) else None
        if value is None:
            value = self.run.tool_summary.get(metric, {}).get(stat) if self.summary_only else None
        return float(value) if value is not None and math.isfinite(value) else None

    def mean_e2e_ms(self) -> float | None:
        """Mean end-to-end latency (ms): measured, or TTFT + TPOT · (mean output tokens − 1) when only those were printed."""
        e2e = self.latency("e2e", "mean")
        if e2e is not None:
            return e2e
        ttft, tpot, out = self.latency("ttft", "mean"), self.latency("tpot", "mean"), self.metrics.tokens.get("output")
        if ttft is not None and tpot is not None and out is not None and out.mean is not None:
            return ttft + tpot * max(out.mean - 1, 0)
        return None

    @property
    def offered_gap(self) -> float | None:
        """(achieved − offered) / offered for a finite rate point; None otherwise."""
        if self.load_kind != "rate" or self.unbounded or self.achieved_rps is None or self.load <= 0:
            return None
        return (self.achieved_rps - self.load) / self.load

    def offered_note(self) -> str | None:
        """A note when achieved req/s is > 10 % away from the offered rate (else None).

        Two causes look alike: the server could not keep up (over-saturated: requests queue and
        the run stretches), or the drain tail — requests / duration counts the time spent finishing
        the last requests after the last send, which lowers the figure for short runs. The note
        states the send window, the duration and the mean request time so a reader can tell; it
        does not guess.
        """
        gap, achieved = self.offered_gap, self.achieved_rps
        if gap is None or achieved is None or abs(gap) <= OFFERED_GAP:  # a gap implies an achieved rate
            return None
        text = (f"{self.label}: achieved {_fmt(achieved)} req/s, "
                f"{gap:+.0%}".replace("-", "\u2212") + " from the offered rate")
        req = self.metrics.requests
        n = self.run.meta.num_prompts or req.get("total") or req.get("succeeded")
        duration = self.metrics.throughput.get("duration_s")
        if n and duration:
            text += (f"; sending {int(n):,} requests at {_fmt(self.load)} req/s takes {n / self.load:,.1f} s and the run "
                     f"took {duration:,.1f} s")
            e2e = self.mean_e2e_ms()
            if e2e is not None:
                text += f" (a request takes {e2e / 1000:,.1f} s on average)"
        return text


#: said once after the per-point notes of :func:`offered_notes` (it is the same for every point)
OFFERED_GAP_EXPLAINED = ("Where achieved req/s falls short of the offered rate, the gap is the drain tail after the "
                         "last send plus any queueing: a point is over-saturated if its latency also climbs.")


def offered_notes(*sweeps: "Sweep") -> list[str]:
    """One note per point whose achieved req/s is > 10 % from the offered rate, then one line on
    how to read them (not repeated per point)."""
    out = [f"{sw.label}, {note}" for sw in sweeps for p in sw.points if (note := p.offered_note())]
    return out + [OFFERED_GAP_EXPLAINED] if out else []


@dataclass
class Sweep:
    """A side of a comparison measured at several loads; ``points`` sorted by nominal load."""

    label: str
    load_kind: LoadKind
    points: list[SweepPoint]
    notes: list[str] = field(default_factory=list)

    @property
    def loads(self) -> list[float]:
        return [p.load for p in self.points]

    @property
    def model(self) -> str | None:
        return next((p.run.meta.model for p in self.points if p.run.meta.model), None)


def _run_name(run: Run) -> str:
    return f"{Path(run.meta.source).name} run {run.meta.index}"


def _varies(values: list) -> bool:
    known = {v for v in values if v is not None}
    return len(known) > 1


def build_sweep(runs: Sequence[Run], load: str = "auto", label: str | None = None,
                metrics: Sequence[RunMetrics] | None = None, method: str = "linear") -> Sweep:
    """Build a :class:`Sweep` from the runs of one configuration.

    ``load``: ``"rate"`` (request rate, req/s), ``"concurrency"`` (max concurrency) or ``"auto"``
    (the one that varies across the runs). Points are sorted by nominal load; an unbounded rate
    (``inf``) sorts last. ``metrics`` (optional, same order as ``runs``) avoids recomputing them.

    Raises :class:`CasegenError` for fewer than 2 runs, a run without a value on the load axis,
    two runs with the same load, runs of different models, or ``auto`` when both rate and
    concurrency vary.
    """
    runs = list(runs)
    if len(runs) < 2:
        raise CasegenError(
            f"a load sweep needs at least 2 runs, got {len(runs)}",
            expected="several runs of one configuration at different request rates or concurrencies",
        )
    if load not in ("auto", "rate", "concurrency"):
        raise CasegenError(f"unknown sweep load axis {load!r}", expected="auto, rate or concurrency")
    models = sorted({r.meta.model for r in runs if r.meta.model})
    if len(models) > 1:
        raise CasegenError(
            "the runs of one sweep serve different models: " + ", ".join(models),
            expected="every load point of a sweep measured on the same model",
            hint="select the runs of one configuration (e.g. by deployment or label)",
        )
    rates = [r.meta.request_rate for r in runs]
    concs = [r.meta.max_concurrency for r in runs]
    kind: LoadKind
    if load == "auto":
        rv, cv = _varies(rates), _varies(concs)
        if rv and cv:
            raise CasegenError(
                "both the request rate and the max concurrency vary across the runs, so the load axis is ambiguous",
                expected="load: rate or load: concurrency",
            )
        if cv:
            kind = "concurrency"
        elif rv:
            kind = "rate"
        elif any(v is not None for v in rates):
            kind = "rate"
        elif any(v is not None for v in concs):
            kind = "concurrency"
        else:
            raise CasegenError(
                "no run records a request rate or a max concurrency, so there is no load axis",
                expected="runs that record their offered load (request rate or max concurrency)",
            )
    else:
        kind = load  # type: ignore[assignment]
    values = rates if kind == "rate" else concs
    missing = [_run_name(r) for r, v in zip(runs, values) if v is None]
    if missing:
        what = "request rate" if kind == "rate" else "max concurrency"
        raise CasegenError(
            f"{len(missing)} run(s) record no {what}: " + ", ".join(missing),
            expected=f"every load point of a {kind} sweep has a {what}",
        )
    loads = [require(v, "a run's load (checked above)") for v in values]
    if kind == "concurrency":
        bad = [_run_name(r) for r, v in zip(runs, loads) if not (float(v) > 0 and math.isfinite(float(v)))]
        if bad:
            raise CasegenError("max concurrency must be a positive number: " + ", ".join(bad))
    else:
        bad = [_run_name(r) for r, v in zip(runs, loads) if not float(v) > 0]
        if bad:
            raise CasegenError("request rate must be > 0 (or inf): " + ", ".join(bad))
    if metrics is None:
        metrics = [compute_run_metrics(r, method) for r in runs]
    points = []
    for run, value, m in zip(runs, loads, metrics):
        tp = m.throughput
        points.append(SweepPoint(run, m, float(value), kind, tp.get("requests_per_s"), tp.get("output_tokens_per_s")))
    points.sort(key=lambda p: p.load)
    for a, b in zip(points, points[1:]):
        if a.load == b.load or (math.isfinite(a.load) and math.isclose(a.load, b.load, rel_tol=1e-9)):
            raise CasegenError(
                f"two runs have the same load ({a.label}): {_run_name(a.run)} and {_run_name(b.run)}",
                expected="one run per load point (pool repetitions first, or select the runs of one configuration)",
            )
    notes = []
    if kind == "rate" and _varies(concs):
        notes.append("the max concurrency also differs between points; the axis is the request rate")
    if kind == "concurrency" and _varies(rates):
        notes.append("the request rate also differs between points; the axis is the max concurrency")
    if label is None:
        label = runs[0].meta.label or Path(runs[0].meta.source).name
    return Sweep(label, kind, points, notes)


# --------------------------------------------------------------------------------------------
# pairing two sweeps


@dataclass
class PointPair:
    load: float
    base: SweepPoint
    opt: SweepPoint


@dataclass
class SweepPairing:
    """Points of two sweeps matched by nominal load (not by position)."""

    pairs: list[PointPair]
    unpaired_base: list[SweepPoint]
    unpaired_opt: list[SweepPoint]
    notes: list[str]


def _same_load(a: float, b: float, tol: float = PAIR_TOLERANCE) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(abs(a), abs(b))


def pair_points(base: Sweep, opt: Sweep, tolerance: float = PAIR_TOLERANCE) -> SweepPairing:
    """Pair the points of two sweeps whose nominal loads agree within ``tolerance`` (relative).

    Unpaired points are kept and listed in the notes; so is every point whose achieved req/s is
    more than 10 % away from its offered rate (see :meth:`SweepPoint.offered_note`).
    """
    if base.load_kind != opt.load_kind:
        raise CasegenError(
            f"cannot pair a {base.load_kind} sweep ({base.label}) with a {opt.load_kind} sweep ({opt.label})",
            expected="both sides swept over the same load axis",
        )
    pairs: list[PointPair] = []
    used: set[int] = set()
    unpaired_base: list[SweepPoint] = []
    for bp in base.points:
        match = None
        for j, op in enumerate(opt.points):
            if j not in used and _same_load(bp.load, op.load, tolerance):
                if match is None or abs(op.load - bp.load) < abs(opt.points[match].load - bp.load):
                    match = j
        if match is None:
            unpaired_base.append(bp)
        else:
            used.add(match)
            pairs.append(PointPair(bp.load, bp, opt.points[match]))
    unpaired_opt = [p for j, p in enumerate(opt.points) if j not in used]
    notes = []
    if unpaired_base:
        notes.append(f"{base.label}: no matching load in {opt.label} for " + ", ".join(p.label for p in unpaired_base))
    if unpaired_opt:
        notes.append(f"{opt.label}: no matching load in {base.label} for " + ", ".join(p.label for p in unpaired_opt))
    notes += offered_notes(base, opt)
    return SweepPairing(pairs, unpaired_base, unpaired_opt, notes)


# --------------------------------------------------------------------------------------------
# SLO at one point


@dataclass
class SLOCheck:
    """One SLO judged at one point."""

    slo: SLO
    value_ms: float | None  # the figure compared with the threshold (None: unknown)
    basis: str  # where value_ms comes from, e.g. "printed p99", "printed max (≥ p99)", "recomputed p99"
    meets: bool | None  # None: cannot be judged
    exact: bool  # value_ms is the SLO's own percentile (usable for interpolation)
    attainment: float | None = None  # per-request: share of issued requests meeting this SLO
    note: str = ""


@dataclass
class PointSLO:
    """Verdict of all SLOs at one sweep point."""

    mode: Literal["per-request", "summary"]
    #: inconclusive: every SLO's measured percentile is within its threshold, but too few requests to
    #: certify it (MLPerf early stopping); counts as passing for the capacity walk, which says so
    status: SLOStatus
    checks: list[SLOCheck]
    joint_attainment: float | None  # per-request points only
    attainment_target: float | None  # α used (per-request points with attainment set)
    missing: list[str] = field(default_factory=list)  # e.g. "TTFT p99 (the tool printed: mean, p50)"
    notes: list[str] = field(default_factory=list)
    #: per-request point judged each SLO at its own percentile (no attainment level) whose "fail" rests
    #: only on a measured percentile over its threshold, early stopping not certifying the miss: the
    #: capacity walk stops here, the SLO verdict (certified or not) is "inconclusive"
    uncertified_fail: bool = False

    @property
    def verdict(self) -> SLOStatus:
        """The verdict a reader sees at this point, the same rule as the SLO table's: a miss only by the
        measured percentile, not certified, is "inconclusive" (``status`` keeps "fail" for the walk)."""
        return "inconclusive" if self.uncertified_fail else self.status

    @property
    def measured(self) -> Literal["within", "over"] | None:
        """Per-request point: whether every measured percentile is within its objective ("within") or
        one is over ("over"); None for summary-only points."""
        if self.mode != "per-request" or any(c.meets is None for c in self.checks):
            return None
        return "over" if any(c.meets is False for c in self.checks) else "within"


def _summary_check(point: SweepPoint, slo: SLO) -> SLOCheck:
    j = judge_printed(slo, point.run.tool_summary, point.metrics.latency_ms, point.metrics.requests)
    return SLOCheck(slo, j.value_ms, j.basis, j.meets, j.exact, note=j.note)


def _printed_names(point: SweepPoint, metric: str) -> str:
    stats = point.run.tool_summary.get(metric, {})
    names = [k for k in stats if k in ("mean", "min", "max") or k.startswith("p")]
    return ", ".join(sorted(names)) if names else f"no {_SHORT.get(metric, metric)} statistics"


def point_slo(point: SweepPoint, slos: Sequence[SLO], attainment: float | None = DEFAULT_ATTAINMENT,
              analysis: Analysis | None = None) -> PointSLO:
    """Judge every SLO at one point (see the module docstring for the two modes).

    Per-request point: pass when joint attainment ≥ ``attainment``; with ``attainment=None``,
    each SLO's early-stopping verdict at its own percentile (pass / fail / inconclusive). Summary-only point: pass when
    every printed percentile is within its threshold; ``unknown`` (with ``missing`` naming the
    percentile) when a needed percentile was not printed. Never raises for missing data.
    """
    slos = list(slos)
    if not slos:
        raise CasegenError("no SLOs given", expected="at least one SLO, e.g. ttft p99 ≤ 200 ms")
    if attainment is not None and not 0 < attainment <= 1:
        raise CasegenError(f"attainment level {attainment!r} is out of range", expected="a fraction in (0, 1]")
    if point.summary_only:
        checks = [_summary_check(point, s) for s in slos]
        missing = [f"{slo_text(c.slo).split(' ≤')[0]} (the tool printed: {_printed_names(point, c.slo.metric)})"
                   for c in checks if c.meets is None]
        status: SLOStatus = "fail" if any(c.meets is False for c in checks) else "unknown" if missing else "pass"
        notes = sorted({c.note for c in checks if c.note})
        return PointSLO("summary", status, checks, None, None, missing, notes)

    analysis = analysis or Analysis()
    summary = evaluate_slos(point.run, slos, analysis, point.metrics.throughput.get("duration_s"),
                            point.metrics.percentile_method if point.metrics.percentile_method in ("linear", "mlperf", "nearest")
                            else "linear")
    checks, missing = [], []
    for slo, res in zip(slos, summary.results):
        if res.observed_ms is None:
            checks.append(SLOCheck(slo, None, "not measured", None, False, res.attainment, res.note))
            missing.append(f"{_SHORT.get(slo.metric, slo.metric)} (not measured in this run)")
            continue
        checks.append(SLOCheck(slo, res.observed_ms, f"recomputed {_pkey(slo.percentile)}",
                               res.observed_ms <= slo.threshold_ms, True, res.attainment, res.note))
    joint = summary.joint_attainment
    if missing:
        status = "unknown"
    elif attainment is None:
        # each SLO at its own percentile: the early-stopping verdict decides; a measured percentile
        # over the threshold fails; measured within but not yet certified is inconclusive
        verdicts = [res.verdict.status if res.verdict else "inconclusive" for res in summary.results]
        for c, res in zip(checks, summary.results):
            if res.verdict is not None and res.verdict.status != "pass":
                c.note = "; ".join(x for x in (c.note, f"early stopping: {res.verdict.status} ({res.verdict.reason})") if x)
        uncertified = False
        if "fail" in verdicts or any(c.meets is False for c in checks):
            status = "fail"
            uncertified = "fail" not in verdicts
        elif all(v == "pass" for v in verdicts):
            status = "pass"
        else:
            status = "inconclusive"
        return PointSLO("per-request", status, checks, joint, attainment, missing, list(summary.notes),
                        uncertified_fail=uncertified)
    else:
        status = "pass" if joint is not None and joint >= attainment - 1e-12 else "fail"
    return PointSLO("per-request", status, checks, joint, attainment, missing, list(summary.notes))


# --------------------------------------------------------------------------------------------
# capacity at SLO


@dataclass
class Capacity:
    """Highest throughput (req/s) at which the SLOs hold, from a sweep.

    ``bound``:

    * ``interpolated`` — between ``below`` (last passing point) and ``above`` (first failing
      point), linearly on the achieved-req/s axis;
    * ``bracketed`` — between ``below`` and ``above`` but not interpolable (a needed value is
      missing, the failure comes from failed requests, or throughput fell at the failing point);
      ``value_rps`` is the last passing point's throughput, a lower bound;
    * ``plateau`` — the first failing (higher) load achieved no more throughput than the last
      passing one (closed-loop sweeps past saturation): capacity = ``value_rps``, tested from both
      sides, not a lower bound;
    * ``at_least`` — every judged point passes: capacity ≥ ``value_rps`` (the highest passing
      point). Also used when the walk stops at a point that cannot be judged (see ``notes``);
    * ``below_min`` — the lowest load already fails: capacity < ``value_rps``;
    * ``unknown`` — the lowest load cannot be judged (``value_rps`` is None; see ``missing``).
    """

    bound: Literal["interpolated", "bracketed", "plateau", "at_least", "below_min", "unknown"]
    value_rps: float | None
    output_tokens_per_s: float | None
    below: SweepPoint | None
    above: SweepPoint | None
    slos: list[SLO]
    attainment: float | None
    verdicts: list[PointSLO]  # one per sweep point, same order
    #: the SLOs that set the capacity: of those failing at ``above``, the ones crossing first when the
    #: capacity is interpolated (all failing ones otherwise)
    limiting: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: bootstrap interval of an interpolated capacity (req/s), see :func:`capacity_interval`
    interval_rps: tuple[float, float] | None = None
    points: list[SweepPoint] = field(default_factory=list)  # the sweep's points, same order as verdicts

    @property
    def established(self) -> bool:
        """The capacity rests on a decided verdict: the last passing point passed with enough requests
        to certify it (not merely 'inconclusive'), or — for a capacity below the lowest load — that
        load decidedly failed. Otherwise the figure is only a point estimate (shown †)."""
        if self.value_rps is None or self.bound == "unknown":
            return False
        if self.bound == "below_min":
            return self.above is not None and self.verdicts[self.verdicts_index(self.above)].status == "fail"
        return self.below is not None and self.verdicts[self.verdicts_index(self.below)].status == "pass"

    @property
    def cost_bound(self) -> str:
        """How a cost priced at this capacity is known: 'point', 'at_most' (the capacity is a lower
        bound, so the cost an upper bound) or 'at_least' (capacity below the lowest load)."""
        return {"at_least": "at_most", "bracketed": "at_most", "below_min": "at_least"}.get(self.bound, "point")

    def ends_rps(self) -> tuple[float, float] | None:
        """Where the true capacity lies when ``value_rps`` is an estimate (``interpolated``): its
        bootstrap interval, or without one the bracketing points' throughputs (the last passing and the
        first failing load). None when the figure is itself a bound or a tested point."""
        v = self.value_rps
        if self.bound != "interpolated" or v is None:
            return None
        if self.interval_rps is not None:
            return self.interval_rps
        lo = self.below.achieved_rps if self.below is not None else None
        hi = self.above.achieved_rps if self.above is not None else None
        if lo is None or hi is None or not lo <= v <= hi:
            return None
        return lo, hi

    def beside(self, other: Capacity | None) -> tuple[float, str] | None:
        """(capacity in req/s, cost bound) to use when this estimate is compared with ``other``, a bound.

        A bound beside an estimate makes a bound claim ("≥ 1.3×", "saves at least …") only if the
        estimate enters at the end of its range that keeps the claim true: beside a lower bound (the
        other side may carry more) this side counts at its highest plausible capacity, so its cost is a
        lower bound; beside an upper bound, at its lowest, so its cost is an upper bound. None when no
        adjustment applies (both points, both bounds, or no range for this estimate)."""
        return None if other is None else self.end_beside(other.cost_bound)

    def end_beside(self, other_cost_bound: str) -> tuple[float, str] | None:
        """:meth:`beside` for another side whose cost is known as ``other_cost_bound``."""
        if self.cost_bound != "point" or other_cost_bound == "point":
            return None
        ends = self.ends_rps()
        if ends is None:
            return None
        return (ends[1], "at_least") if other_cost_bound == "at_most" else (ends[0], "at_most")

    def ends_text(self) -> str:
        """The range of :meth:`ends_rps` in words: 'between its load points at 22.1 and 31.2 req/s' or
        'interval 20.5–27.9 req/s'; '' without one."""
        ends = self.ends_rps()
        if ends is None:
            return ""
        if self.interval_rps is not None:
            return f"interval {_fmt(ends[0])}–{_fmt(ends[1])} req/s"
        return f"between its load points at {_fmt(ends[0])} and {_fmt(ends[1])} req/s"

    def verdicts_index(self, point: SweepPoint) -> int:
        """Position of ``point`` in the sweep (and in ``verdicts``)."""
        return next(i for i, p in enumerate(self.points) if p is point)

    def text(self) -> str:
        """One phrase for a report, e.g. '22.13 req/s (interpolated)' or '≥ 41.2 req/s'."""
        if self.value_rps is None:
            return "unknown (" + "; ".join(self.missing) + ")" if self.missing else "unknown"
        v = f"{_fmt(self.value_rps)} req/s"
        # a lower bound rounds down, an upper up (a decimal more where that would change the figure)
        low = f"{directed(_fmt, self.value_rps, 'at_least', finer=True)} req/s"
        high = f"{directed(_fmt, self.value_rps, 'at_most', finer=True)} req/s"
        return {
            "interpolated": f"{v} (interpolated)",
            "bracketed": (f"between {low} and {directed(_fmt, self.above.achieved_rps, 'at_most', finer=True)} req/s"
                          if self.above and self.above.achieved_rps and self.above.achieved_rps > self.value_rps
                          else f"≥ {low}"),
            "plateau": f"{v} (higher loads fail)",
            "at_least": f"≥ {low}",
            "below_min": f"< {high}",
        }.get(self.bound, v)


def ranges_overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    """Two estimates' ranges (``Capacity.ends_rps``) share a value: the change between them may be nothing
    (or the other way). False when either is not an estimate with a range."""
    return a is not None and b is not None and b[0] <= a[1] and a[0] <= b[1]


#: How a capacity figure itself is known, by ``Capacity.bound``, where it is a bound ('≥ 41.2', '< 0.45');
#: any other bound prints its figure as a point. (``Capacity.cost_bound`` is the cost's, the other way.)
FIGURE_BOUND = {"at_least": "at_least", "below_min": "at_most"}


def _lerp(a: float | None, b: float | None, t: float) -> float | None:
    if a is None or b is None:
        return None
    return a + t * (b - a)


def capacity_at_slo(sweep: Sweep, slos: Sequence[SLO], attainment: float | None = DEFAULT_ATTAINMENT,
                    analysis: Analysis | None = None) -> Capacity:
    """Capacity at SLO λ*(α): the highest load at which every SLO holds (see :class:`Capacity`).

    Walk the points from the lowest load; the first point that does not pass ends the walk.
    Between the last passing point P and the first failing point F the capacity is interpolated
    on the achieved-req/s axis x:

    * both per-request with ``attainment`` set: joint attainment a is linear in x and
      ``x* = x_P + (a_P − α) / (a_P − a_F) · (x_F − x_P)``;
    * otherwise (printed percentiles): each SLO's value v is linear in x; for every SLO failing
      at F, ``t = (T − v_P) / (v_F − v_P)``, and the smallest t gives ``x* = x_P + t · (x_F − x_P)``.

    Output tokens/s is interpolated with the same fraction t. A pass after a failure (non-monotonic)
    is ignored — the first failure counts — and noted.
    """
    slos = list(slos)
    verdicts = [point_slo(p, slos, attainment, analysis) for p in sweep.points]
    pts = sweep.points
    notes: list[str] = []
    first = next((i for i, v in enumerate(verdicts) if v.status not in ("pass", "inconclusive")), None)
    uncertified = [pts[i].label for i in range(first if first is not None else len(pts))
                   if verdicts[i].status == "inconclusive"]
    if uncertified:
        notes.append("within the SLOs but not certified (too few requests to pass with confidence): "
                     + ", ".join(uncertified))

    def cap(bound, value, out, below, above, limiting=(), missing=()):
        return Capacity(bound, value, out, below, above, slos, attainment, verdicts, list(limiting),
                        list(missing), notes, points=list(pts))

    if first is None:
        top = pts[-1]
        notes.append(f"every tested load meets the SLOs; the capacity is at least the highest throughput measured "
                     f"({top.label})")
        return cap("at_least", top.achieved_rps, top.achieved_out_tps, top, None)

    later_pass = [pts[j].label for j in range(first + 1, len(pts)) if verdicts[j].status in ("pass", "inconclusive")]
    if later_pass and verdicts[first].status == "fail":
        notes.append(f"pass/fail is not monotonic: {pts[first].label} fails but " + ", ".join(later_pass)
                     + " passes again; the first failure is used (noisy measurement, or a setup change between points?)")

    v = verdicts[first]
    if v.status == "unknown":
        what = "; ".join(v.missing)
        if first == 0:
            notes.append(f"the lowest load ({pts[0].label}) cannot be judged: missing {what}")
            return cap("unknown", None, None, None, pts[0], missing=v.missing)
        below = pts[first - 1]
        notes.append(f"{pts[first].label} cannot be judged (missing {what}); the capacity is at least the last "
                     f"passing point ({below.label})")
        return cap("at_least", below.achieved_rps, below.achieved_out_tps, below, pts[first], missing=v.missing)

    if v.uncertified_fail:
        notes.append(f"{pts[first].label} is over an objective by its measured percentile, which places the "
                     "capacity, but has too few requests to certify the miss (inconclusive, as in the SLO table)")
    limiting = [slo_text(c.slo) for c in v.checks if c.meets is False]
    if v.mode == "per-request" and attainment is not None:
        limiting = [slo_text(c.slo) for c in v.checks if c.attainment is not None and c.attainment < attainment] or limiting
    fail = pts[first]
    if first == 0:
        notes.append(f"the lowest load ({fail.label}) already misses the SLOs; the capacity is below its throughput")
        return cap("below_min", fail.achieved_rps, fail.achieved_out_tps, None, fail, limiting)

    passed = pts[first - 1]
    pv = verdicts[first - 1]
    x_p, x_f = passed.achieved_rps, fail.achieved_rps
    if x_p is None or x_f is None:
        raise CasegenError(
            f"{sweep.label}: {passed.label if x_p is None else fail.label} has no measured request throughput, "
            "so the capacity cannot be placed on the throughput axis",
            expected="runs with a duration (the tool's own, or request timestamps)",
        )
    if fail.unbounded:
        notes.append(f"the first failing point is the unbounded-rate run (all requests at once, {_fmt(x_f)} req/s "
                     "achieved); interpolating towards it assumes latency grows linearly up to saturation — "
                     "a finer sweep between the two points would pin the capacity down")

    t: float | None = None
    if x_f <= x_p:
        # typical of a closed-loop (concurrency) sweep past saturation: more load, no more throughput,
        # only more latency. A higher load was tested and failed, so this is not a lower bound: the
        # highest throughput that meets the SLOs is the passing point's.
        notes.append(f"throughput did not rise from {passed.label} to {fail.label} "
                     f"({_fmt(x_p)} → {_fmt(x_f)} req/s) and the higher load fails: the capacity is the "
                     f"passing point's throughput")
        return cap("plateau", x_p, passed.achieved_out_tps, passed, fail, limiting)
    elif (pv.mode == v.mode == "per-request" and attainment is not None
          and pv.joint_attainment is not None and v.joint_attainment is not None
          and pv.joint_attainment > v.joint_attainment):
        t = (pv.joint_attainment - attainment) / (pv.joint_attainment - v.joint_attainment)
        # which objective's own attainment crosses α first between the two points: that one limits
        # the capacity; one that also misses at the failing point but crosses later does not
        crossings = [((cp.attainment - attainment) / (cp.attainment - cf.attainment), slo_text(cf.slo))
                     for cp, cf in zip(pv.checks, v.checks)
                     if cf.attainment is not None and cf.attainment < attainment
                     and cp.attainment is not None and cp.attainment > cf.attainment]
        if crossings and len(crossings) == len(limiting):
            limiting = _first_crossings(crossings)
    else:
        ts: list[tuple[float, str]] = []
        for cp, cf in zip(pv.checks, v.checks):
            if cf.meets is not False:
                continue
            if not (cp.exact and cf.exact and cp.value_ms is not None and cf.value_ms is not None
                    and cf.value_ms > cp.value_ms):
                ts.clear()  # one failing SLO cannot be placed: no crossing is interpolated
                notes.append(f"{slo_text(cf.slo)} fails at {fail.label} but its value is not known at both "
                             "bracketing points: not interpolated")
                break
            ts.append(((cf.slo.threshold_ms - cp.value_ms) / (cf.value_ms - cp.value_ms), slo_text(cf.slo)))
        if ts:
            t = min(ts)[0]
            limiting = _first_crossings(ts)
    if t is None:
        return cap("bracketed", x_p, passed.achieved_out_tps, passed, fail, limiting)
    t = min(max(t, 0.0), 1.0)
    return cap("interpolated", _lerp(x_p, x_f, t), _lerp(passed.achieved_out_tps, fail.achieved_out_tps, t),
               passed, fail, limiting)


#: two objectives whose crossings lie within this share of the bracketing interval limit together
_CROSSING_TIE = 0.02


def _first_crossings(crossings: Sequence[tuple[float, str]]) -> list[str]:
    """The objectives whose crossing — fraction t of the way from the last passing point to the first
    failing one — is the first (ties within :data:`_CROSSING_TIE`): the ones that set the capacity.
    An objective that also misses at the failing point but crosses later does not limit it."""
    t0 = min(t for t, _ in crossings)
    return [name for t, name in sorted(crossings) if t <= t0 + _CROSSING_TIE]


def _throughput_draws(pt: SweepPoint, rng, resamples: int):
    """Draws of a point's achieved req/s: x · (1 + z/√n), the counting noise of n completed requests
    in a window (Poisson arrivals: the count over the run's duration has variance ≈ its mean)."""
    import numpy as np

    n = int(pt.metrics.requests.get("succeeded") or 0)
    x = pt.achieved_rps or 0.0
    if n <= 0:
        return np.full(resamples, x)
    return x * (1.0 + rng.standard_normal(resamples) / math.sqrt(n))


def capacity_interval(cap: Capacity, confidence: float = 0.95, resamples: int = 1000, seed: int = 0,
                      method: str = "linear") -> tuple[tuple[float, float] | None, str]:
    """Interval of an **interpolated** capacity: (interval or None, reason when None).

    Three sources of error, each drawn ``resamples`` times:

    * each bracketing point's statistic — the SLO percentile of each SLO that fails at the upper
      point from its own bootstrap distribution (``uncertainty.series_stats``: send-order dependence
      kept, effective n), or (with ``attainment`` α) the joint attainment as Beta(good, issued − good);
    * each point's achieved throughput: x · (1 + z/√n) for n completed requests (counting noise);
    * the interpolation: latency rises convexly with throughput near saturation (a queue's wait
      grows like 1/(1 − load)), so the straight line from P to F lies above the curve and its
      crossing x_lin = x_P + t·(x_F − x_P) is a **lower** bound of the true crossing. An upper bound
      comes from convexity too: the curve lies above its tangent at P, whose slope is at least that
      of the segment from the point before P, s; so the crossing is ≤ x_P + (T − v_P)/s (≤ x_F;
      x_F itself when there is no point before P or s ≤ 0).

    The interval is [lower (1 − c)/2 quantile of x_lin, upper (1 + c)/2 quantile of the upper bound].
    (Joint attainment falls with load without a known curvature: there only the first two sources.)
    None when the bound is not interpolated, a point is summary-only, or a percentile is unsupported
    (too few effective requests) at either bracketing point.
    """
    import numpy as np

    from casegen.analysis import uncertainty

    P, F = cap.below, cap.above
    if cap.bound != "interpolated" or P is None or F is None:
        return None, "only an interpolated capacity gets an interval"
    if P.summary_only or F.summary_only:
        return None, "a bracketing point is summary-only"
    rng = np.random.default_rng([seed, 77])
    a = (1 - confidence) / 2 * 100
    i_p, i_f = cap.verdicts_index(P), cap.verdicts_index(F)
    xp, xf = _throughput_draws(P, rng, resamples), _throughput_draws(F, rng, resamples)
    prev = cap.points[i_p - 1] if i_p >= 1 and not cap.points[i_p - 1].summary_only else None
    if cap.attainment is not None:
        draws = []
        for i, pt in ((i_p, P), (i_f, F)):
            n = len(require(pt.run.requests, "a bracketing point's requests (not summary-only)"))
            good = require(cap.verdicts[i].joint_attainment, "a per-request point's joint attainment") * n
            draws.append(rng.beta(max(good, 0.5), max(n - good, 0.5), size=resamples))
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (draws[0] - cap.attainment) / (draws[0] - draws[1])
        t = np.where(draws[0] <= draws[1], np.where(draws[0] >= cap.attainment, 1.0, 0.0), t)
        x = xp + np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0) * (xf - xp)
        lo, hi = np.percentile(x, [a, 100 - a])
        return (float(lo), float(hi)), ""
    lows, highs = [], []
    for slo, cf in zip(cap.slos, cap.verdicts[i_f].checks):
        if cf.meets is not False:
            continue
        stat = uncertainty.pkey(slo.percentile)
        vals = []
        for pt in (P, F) + ((prev,) if prev is not None else ()):
            series = uncertainty.metric_series(pt.run).get(slo.metric)
            if series is None or series.num.size < 2:
                return None, f"{slo_text(slo)}: no per-request values at {pt.label}"
            res, _ = uncertainty.series_stats(series, (stat,), confidence, resamples, rng, method, slo.metric)
            if not res[stat].supported:
                if pt is prev:  # the convexity bound falls back to x_F
                    break
                return None, f"{slo_text(slo)} at {pt.label}: {res[stat].reason}"
            vals.append(res[stat].draws)
        thr = slo.threshold_ms
        with np.errstate(invalid="ignore", divide="ignore"):
            t_s = (thr - vals[0]) / (vals[1] - vals[0])
        t_s = np.where(vals[1] <= vals[0], np.where(vals[0] <= thr, 1.0, 0.0), t_s)
        x_lin = xp + np.clip(np.nan_to_num(t_s, nan=0.0), 0.0, 1.0) * (xf - xp)
        x_up = xf.copy()
        if len(vals) == 3 and prev is not None and prev.achieved_rps is not None:
            xq = _throughput_draws(prev, rng, resamples)
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = (vals[0] - vals[2]) / (xp - xq)
                bound = xp + (thr - vals[0]) / slope
            ok = np.isfinite(bound) & (slope > 0) & (xp > xq)
            x_up = np.where(ok, np.minimum(bound, xf), xf)
        x_up = np.maximum(x_up, x_lin)
        lows.append(x_lin)
        highs.append(x_up)
    if not lows:
        return None, "no SLO fails at the upper point"
    lo = float(np.percentile(np.min(lows, axis=0), a))
    hi = float(np.percentile(np.min(highs, axis=0), 100 - a))
    return (lo, hi), ""


# --------------------------------------------------------------------------------------------
# knee


@dataclass
class Knee:
    """Where latency starts to climb.

    Rule: the reference is the latency at the lowest load; the knee is the **first point whose
    latency exceeds ``factor`` × reference** (default 1.5×). ``point`` is that point, ``previous``
    the last point before it (the last "flat" point). ``point`` is None when latency stays within
    the factor over the whole sweep.
    """

    metric: str
    stat: str
    factor: float
    reference_ms: float
    point: SweepPoint | None
    previous: SweepPoint | None
    value_ms: float | None

    def text(self) -> str:
        name = f"{METRIC_LABELS.get(self.metric, self.metric)} {self.stat}"
        if self.point is None:
            return f"{name} stays within {self.factor:g}× its lowest-load value ({fmt_ms(self.reference_ms)}) over the sweep"
        where = f"{self.point.label}"
        if self.point.achieved_rps is not None:
            where += f", {_fmt(self.point.achieved_rps)} req/s achieved"
        return (f"{name} climbs past {self.factor:g}× its lowest-load value ({fmt_ms(self.reference_ms)}) at {where}: "
                f"{fmt_ms(self.value_ms)}")


def knee(sweep: Sweep, metric: str = "ttft", stat: str = "p50", factor: float = DEFAULT_KNEE_FACTOR) -> Knee | None:
    """The knee of the latency curve (rule in :class:`Knee`); None when the statistic is missing at the lowest load."""
    if factor <= 1:
        raise CasegenError(f"knee factor {factor!r} must be > 1")
    values = [(p, v) for p in sweep.points if (v := p.latency(metric, stat)) is not None]
    if not values or values[0][0] is not sweep.points[0]:
        return None
    ref = values[0][1]
    prev = values[0][0]
    for p, v in values[1:]:
        if v > factor * ref:
            return Knee(metric, stat, factor, ref, p, prev, v)
        prev = p
    return Knee(metric, stat, factor, ref, None, None, None)


# --------------------------------------------------------------------------------------------
# cost at capacity


@dataclass
class CapacityCost:
    """Self-hosted cost figures with the capacity at SLO as the per-replica throughput."""

    capacity_rps: float
    capacity_out_tps: float | None
    usd_per_replica_hour: float
    usd_per_request: float
    usd_per_million_output_tokens: float | None
    usage_usd_per_month: float  # usd_per_request × requests_per_month
    replicas_for_peak: int | None
    fleet_usd_per_month: float | None  # replicas × g × P × 730 h (always on)
    assumptions: list[str]


def capacity_cost(capacity_rps: float, capacity_out_tps: float | None, gpu_hourly_usd: float,
                  gpus_per_replica: int, utilization: float, requests_per_month: float,
                  peak_rps: float | None = None, headroom: float = 0.8, gpu: str | None = None) -> CapacityCost:
    """Cost per request / per 1M output tokens, fleet size and monthly cost at the SLO capacity.

    Same formulas as :mod:`casegen.analysis.cost` (it does the arithmetic), with X = capacity::

        usd_per_request      = g · P / (3600 · X_req · U)
        usd_per_1M_output    = g · P · 1e6 / (3600 · X_out · U)
        usage_usd_per_month  = usd_per_request · requests_per_month
        replicas_for_peak    = ceil(peak_rps / (X_req · headroom))
        fleet_usd_per_month  = replicas_for_peak · g · P · 730
    """
    from pydantic import ValidationError

    from casegen.analysis.cost import self_hosted_cost
    from casegen.case.model import Cost, SelfHostedPricing, SidePricing, machine_word

    if capacity_rps is None or not math.isfinite(capacity_rps) or capacity_rps <= 0:
        raise CasegenError(f"capacity {capacity_rps!r} req/s cannot be costed", expected="a capacity > 0 req/s")
    try:
        pricing = SelfHostedPricing(gpu=gpu, gpu_hourly_usd=gpu_hourly_usd, gpus_per_replica=gpus_per_replica,
                                    utilization=utilization, capacity_requests_per_s=capacity_rps)
        side = SidePricing(self_hosted=pricing)
        cost = Cost(baseline=side, optimized=side, requests_per_month=requests_per_month,
                    peak_requests_per_s=peak_rps, headroom=headroom)
    except ValidationError as err:
        raise CasegenError("invalid cost inputs: " + "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in err.errors())) from None
    metrics = RunMetrics(source="capacity", requests={}, latency_ms={},
                         throughput={"requests_per_s": capacity_rps, "output_tokens_per_s": capacity_out_tps,
                                     "total_tokens_per_s": None},
                         tokens={}, split={}, one_token_responses=None)
    s = self_hosted_cost(pricing, metrics, cost, "capacity")
    hour = require(s.usd_per_replica_hour, "a self-hosted replica-hour price")
    assumptions = [
        f"{gpus_per_replica} × {gpu or 'GPU'} at ${gpu_hourly_usd:,.2f} per {machine_word(gpu)}-hour = "
        f"${hour:,.2f} per replica-hour",
        f"capacity at SLO {_fmt(capacity_rps)} req/s per replica; cost per request at an average utilisation of "
        f"{utilization:.0%} of it (idle time is paid for)",
    ]
    if peak_rps is not None:
        assumptions.append(f"replicas for the {_fmt(peak_rps)} req/s peak, each planned at {headroom:.0%} of capacity")
    return CapacityCost(capacity_rps, capacity_out_tps, hour,
                        require(s.usd_per_request, "a self-hosted cost per request"), s.usd_per_million_output_tokens,
                        s.usage_usd_per_month, s.replicas_for_peak, s.fleet_usd_per_month, assumptions)
