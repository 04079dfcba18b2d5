"""Read a case's runs and compute everything the report shows (no rendering here).

``analyze(case, case_dir)`` → :class:`Study`; ``summary_dict(study)`` → the
content of ``summary.json`` (documented in ``docs/summary-json.md``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from casegen import __version__, registry
from casegen.analysis import checks, repetitions, slo, uncertainty
from casegen.analysis.cost import CostComparison, compare_costs
from casegen.analysis.metrics import (
    DIST_STATS,
    METRIC_LABELS,
    Delta,
    RunMetrics,
    compute_run_metrics,
    latency_deltas,
    throughput_deltas,
)
from casegen.analysis.sweep import offered_notes
from casegen.analysis.throughput import delta_ci as throughput_delta_ci
from casegen.analysis.throughput import run_throughput_cis
from casegen.analysis.transient import run_transient, trim_transient
from casegen.analysis.window import pool, trim
from casegen.case.model import Case
from casegen.errors import CasegenError, ValidationFailed
from casegen.formatting import fmt_load, fmt_ms, fmt_pct, fmt_rate, fmt_sig3
from casegen.runs import Run, load_run, load_runs
from casegen.runs.select import SelectorError, filter_runs
from casegen.safe_io import confined_to, inside_case

SIDES = ("baseline", "optimized")
SPREAD_STATS = (("ttft", "p50"), ("ttft", "p99"), ("tpot", "p50"), ("e2e", "p50"))


@dataclass
class Study:
    case: Case
    case_dir: Path
    runs: dict[str, Run]
    metrics: dict[str, RunMetrics]
    deltas: dict[str, dict[str, Delta]]
    throughput_deltas: dict[str, Delta]
    cost: CostComparison | None
    notes: list[str] = field(default_factory=list)  # data notes shown in the report
    intervals: dict[str, uncertainty.RunIntervals] = field(default_factory=dict)
    delta_cis: dict[str, dict] = field(default_factory=dict)
    slos: dict[str, slo.SLOSummary] = field(default_factory=dict)
    workload: checks.WorkloadComparison | None = None
    threats: list[checks.Threat] = field(default_factory=list)
    spread: dict[str, list[dict]] = field(default_factory=dict)
    definitions: list[str] = field(default_factory=list)  # how the tools' names map onto casegen's
    revenue: Any = None  # cost.RevenueEffect when case.yaml asks for it
    sweeps: dict[str, Any] = field(default_factory=dict)  # side → sweep.Sweep
    pairing: Any = None  # sweep.SweepPairing
    capacities: dict[str, Any] = field(default_factory=dict)  # side → sweep.Capacity
    knees: dict[str, Any] = field(default_factory=dict)  # side → {metric: Knee | None}
    compare_load: float | None = None  # nominal load of the point the detailed tables compare
    break_even: Any = None  # prices.BreakEven when cost.compare_api is given
    ladder: Any = None  # ladder.Ladder when runs.steps is given
    quality: dict[int, Any] = field(default_factory=dict)  # trade-off index → quality.QualityComparison (lm-eval)
    #: per SLO (case.yaml order): do the two sides' attainments differ significantly?
    #: (slo.AttainmentDifference: diff, p_value, significant, unit "requests" | "runs", withheld)
    slo_differences: list[Any] = field(default_factory=list)
    #: "requests" (one run a side: requests in send order) or "runs" (≥ 3 repetitions a side)
    unit: str = "requests"
    #: with the runs as the unit: were they interleaved and paired?
    paired_runs: bool = False
    #: side → the MSER-5 warm-up transient (casegen.analysis.transient), trimmed with analysis.warmup: auto
    transients: dict[str, Any] = field(default_factory=dict)
    #: side → throughput key → throughput.ThroughputCI (batch means), and side → why there is none
    throughput_cis: dict[str, dict[str, Any]] = field(default_factory=dict)
    throughput_ci_reasons: dict[str, str] = field(default_factory=dict)
    #: throughput key → throughput.ThroughputDeltaCI of the change
    throughput_delta_cis: dict[str, Any] = field(default_factory=dict)
    teardown: Any = None  # teardown.Teardown (per-request sides with TTFT)
    segments: Any = None  # segments.Segments: where the change helps and hurts
    cheap_win: Any = None  # cheapwin.CheapWin when optimization.kind is not 'serving'

    def label(self, side: str) -> str:
        return side_label(self.case, self.runs[side], side)


def side_label(case: Case, run: Run, side: str) -> str:
    """The name a side goes by in the report: its label in case.yaml, the run's own, or 'Baseline'/'Optimized'."""
    spec = getattr(case.runs, side)
    if spec.sweep:  # a sweep's runs are named after their load point, not after the side
        return spec.label or side.capitalize()
    return spec.label or run.meta.label or side.capitalize()


def merge_side_notes(notes: list[str], labels: tuple[str, str]) -> list[str]:
    """Notes said once (issue 23): "Baseline: X" and "Optimized: X" with the same X become one
    "Both sides: X" where the first of them stood; every other note is kept as it is, in its order."""
    prefixes = tuple(f"{label}: " for label in labels)
    texts: dict[str, set[str]] = {}
    for n in notes:
        for i, pre in enumerate(prefixes):
            if n.startswith(pre):
                texts.setdefault(n[len(pre):], set()).add(labels[i])
    out: list[str] = []
    for n in notes:
        side = next((p for p in prefixes if n.startswith(p)), None)
        if side is None or labels[0] == labels[1] or len(texts.get(n[len(side):], ())) < 2:
            if n not in out:
                out.append(n)
            continue
        merged = f"Both sides: {n[len(side):]}"
        if merged not in out:
            out.append(merged)
    return out


def run_spec(case: Case, side: str):
    """The RunSpec of 'baseline', 'optimized' or a ladder step 'steps.<i>'."""
    if side.startswith("steps."):
        return case.runs.steps[int(side.split(".", 1)[1])]
    return getattr(case.runs, side)


def spec_path(side: str) -> tuple:
    """Key path of a side under runs: ('baseline',) or ('steps', 0)."""
    if side.startswith("steps."):
        return ("steps", int(side.split(".", 1)[1]))
    return (side,)


def _load_side_files(case: Case, case_dir: Path, side: str) -> list[tuple[Run | list[Run], str]]:
    """Every run file of one side, read as listed: (runs of that file, its case.yaml location).

    A single-run side picks its run with ``select``; a sweep side keeps every run of the file.
    """
    spec = run_spec(case, side)
    listed = isinstance(spec.path, list)
    paths = spec.path if listed else [spec.path]
    if not paths:
        raise CasegenError("no run file listed", where=case.where("runs", *spec_path(side), "path"),
                           expected="a path or a list of paths")
    out = []
    for i, p in enumerate(paths):
        where = case.where("runs", *spec_path(side), "path", i) if listed else case.where("runs", *spec_path(side), "path")
        path = resolve_case_path(case_dir, p)
        options = dict(columns=spec.columns, units=spec.units, duration_s=spec.duration_s)
        try:
            runs = (load_runs(path, spec.format, **options) if spec.sweep
                    else load_run(path, spec.format, spec.select, **options))
        except SelectorError as err:  # the selector is what to change: point at select:, not at path:
            err.file = err.file or str(path)
            sel = case.where("runs", *spec_path(side), "select")
            err.hint = err.hint or (f"from {sel}" if spec.select is not None else
                                    f"add select: under {case.where('runs', *spec_path(side))}")
            raise
        except CasegenError as err:
            err.file = err.file or str(path)
            err.hint = err.hint or f"from {where}"
            raise
        out.append((runs, where))
    return out


def _trimmed(case: Case, run: Run, *, sweep: bool = False) -> Run:
    """``run`` without warm-up/cool-down; summary-only sweep points are kept as they are."""
    a = case.analysis
    if (a.warmup is None and a.cooldown is None) or (sweep and run.summary_only):
        return run
    if a.warmup == "auto":
        if run.summary_only:
            raise CasegenError("warmup: auto (MSER-5) needs per-request data, but this run is summary only",
                               file=run.meta.source, where=case.where("analysis", "warmup"),
                               expected="remove analysis.warmup or use a detailed run")
        run = trim(run, None, a.cooldown, where=case.where("analysis", "cooldown")) if a.cooldown else run
        return trim_transient(run)
    return trim(run, a.warmup, a.cooldown, where=case.where("analysis", "warmup" if a.warmup else "cooldown"))


def read_side(case: Case, case_dir: Path, side: str) -> Run:
    """Read one side: load each file, trim warm-up/cool-down, pool repetitions."""
    runs = [_trimmed(case, run) for run, _where in _load_side_files(case, case_dir, side)]  # type: ignore[arg-type]  # single-run side: one Run per file
    return pool(runs, where=case.where("runs", *spec_path(side), "path"))


def _read_sweep(case: Case, case_dir: Path, side: str):
    """All runs of a sweep side (every run in its files that matches its selector) → Sweep."""
    from casegen.analysis.sweep import build_sweep

    spec = run_spec(case, side)
    runs = [r for file_runs, _where in _load_side_files(case, case_dir, side) for r in file_runs]  # type: ignore[union-attr]  # sweep side: a list per file
    runs = filter_runs(runs, spec.select)
    if not runs:
        raise CasegenError("the selector matches no run of the sweep", where=case.where("runs", *spec_path(side), "select"),
                           expected="a selector that keeps the sweep's load points (see `casegen inspect`)")
    runs = [_trimmed(case, r, sweep=True) for r in runs]
    try:
        return build_sweep(runs, spec.load, label=spec.label or side, method=case.analysis.percentile_method)
    except CasegenError as err:
        err.where = err.where or case.where("runs", *spec_path(side))
        err.hint = err.hint or f"runs.{side} is a sweep (sweep: true)"
        raise


def _sweep_study(case: Case, case_dir: Path) -> tuple[dict[str, Run], dict, Any, float]:
    """Read both sweeps, pair them and pick the load point the detailed comparison uses."""
    from casegen.analysis.sweep import pair_points

    sweeps = {side: _read_sweep(case, case_dir, side) for side in SIDES}
    pairing = pair_points(sweeps["baseline"], sweeps["optimized"])
    pairs = [p for p in pairing.pairs if p.base is not None and p.opt is not None]
    if not pairs:
        raise CasegenError(
            "the two sweeps share no load point, so there is no like-for-like point to compare in detail; "
            f"baseline loads {sweeps['baseline'].loads}, optimized loads {sweeps['optimized'].loads}",
            where=case.where("runs"), expected="sweeps with at least one common rate or concurrency",
        )
    want = case.capacity.compare_at
    if want is not None:
        target = math.inf if str(want).lower() in ("inf", "infinity", "unbounded") else float(want)
        chosen = next((p for p in pairs if p.load == target or (math.isfinite(target) and math.isclose(p.load, target, rel_tol=0.01))), None)
        if chosen is None:
            raise CasegenError(f"no load point {want} in both sweeps", where=case.where("capacity", "compare_at"),
                               expected="one of: " + ", ".join(f"{p.load:g}" for p in pairs))
    else:
        finite = [p for p in pairs if math.isfinite(p.load)]
        chosen = (finite or pairs)[-1]
    return {"baseline": chosen.base.run, "optimized": chosen.opt.run}, sweeps, pairing, chosen.load


def _spread(parts: list[Run], method: str) -> list[dict]:
    """Each repetition's headline statistics, with their range and coefficient of variation."""
    per_part = [compute_run_metrics(r, method) for r in parts]
    series = [(metric, stat, [m.latency_ms[metric].get(stat) if metric in m.latency_ms else None for m in per_part])
              for metric, stat in SPREAD_STATS]
    series.append(("throughput", "requests_per_s", [m.throughput.get("requests_per_s") for m in per_part]))
    rows = []
    for metric, stat, vals in series:
        ok = np.asarray([v for v in vals if v is not None], dtype=float)
        if ok.size >= 2 and (metric != "throughput" or ok.size == len(vals)):
            rows.append({"metric": metric, "stat": stat, "values": vals, "min": float(ok.min()), "max": float(ok.max()),
                         "cv_pct": float(ok.std(ddof=1) / ok.mean() * 100) if ok.mean() else None})
    return rows


@dataclass
class _PricedCapacity:
    """The capacity a self-hosted side is priced at (``capacity.value_rps``), how its cost is known and
    the words for the cost's assumptions."""

    capacity: Any  # sweep.Capacity (value_rps and output_tokens_per_s are what is priced)
    text: str
    cost_bound: str
    established: bool
    consequence: str  # "; the capacity is a lower bound, so the cost is an upper bound" or ""


def _pricing_capacity(cap: Any, other_cost_bound: str | None) -> _PricedCapacity:
    """How a side is priced at its capacity at SLO beside another side whose cost is known as
    ``other_cost_bound`` ('point', 'at_most', 'at_least'; None: no other side).

    An interpolated estimate beside a bound is priced at the end of its range that keeps the saving's
    bound true (``Capacity.beside``); its output tokens per request stay those at the estimate."""
    import dataclasses

    consequence = {"at_least": "; the capacity is a lower bound, so the cost is an upper bound",
                   "bracketed": "; the capacity's lower end is used, so the cost is an upper bound",
                   "below_min": "; the lowest tested load already misses the SLOs, so the capacity "
                                "is an upper bound and the cost a lower bound"}.get(cap.bound, "")
    end = cap.end_beside(other_cost_bound) if other_cost_bound is not None else None
    if end is None:
        return _PricedCapacity(cap, cap.text(), cap.cost_bound, cap.established, consequence)
    rps, bound = end
    tps = cap.output_tokens_per_s * rps / cap.value_rps if cap.output_tokens_per_s is not None else None
    at = dataclasses.replace(cap, value_rps=rps, output_tokens_per_s=tps)
    word = "at most" if bound == "at_least" else "at least"
    why = ("the other side's capacity is a lower bound" if bound == "at_least"
           else "the other side's capacity is an upper bound")
    rate = fmt_rate(rps, "")
    end_word, kind = ("top", "lower") if bound == "at_least" else ("bottom", "upper")
    text = f"{word} {rate} req/s (estimated {fmt_rate(cap.value_rps, '')} req/s, {cap.ends_text()})"
    consequence = (f"; its cost is priced at {rate} req/s, the {end_word} of the estimate's range ({cap.ends_text()}), "
                   f"so the saving holds wherever in that range the true capacity lies ({why}); this cost is a {kind} "
                   "bound, and the cost section also gives it at the estimate")
    return _PricedCapacity(at, text, bound, cap.established, consequence)


def _priced_at(pricing: Any, cap: Any) -> Any:
    """A side's pricing with its self-hosted capacity set to ``cap.value_rps``."""
    sh = pricing.self_hosted.model_copy(update={"capacity_requests_per_s": cap.value_rps})
    return pricing.model_copy(update={"self_hosted": sh})


def _at_capacity(m: RunMetrics, cap: Any) -> RunMetrics:
    """``m`` with its throughput replaced by the capacity at SLO (req/s and output tokens/s from the
    sweep; input tokens/s scaled with the request rate)."""
    import copy

    out = copy.copy(m)
    tp = dict(m.throughput)
    x_req = tp.get("requests_per_s")
    scale = cap.value_rps / x_req if x_req else None
    tp["requests_per_s"] = cap.value_rps
    if cap.output_tokens_per_s is not None:
        tp["output_tokens_per_s"] = cap.output_tokens_per_s
    elif scale is not None and tp.get("output_tokens_per_s") is not None:
        tp["output_tokens_per_s"] = tp["output_tokens_per_s"] * scale
    if scale is not None and tp.get("input_tokens_per_s") is not None:
        tp["input_tokens_per_s"] = tp["input_tokens_per_s"] * scale
    if tp.get("output_tokens_per_s") is not None and tp.get("input_tokens_per_s") is not None:
        tp["total_tokens_per_s"] = tp["output_tokens_per_s"] + tp["input_tokens_per_s"]
    out.throughput = tp
    return out


def _priced_cost(case: Case, cost_case, metrics: dict[str, RunMetrics],
                 at_capacity: dict[str, tuple[str, str, bool]] | None = None):
    """Prices by name filled in (catalogue notes added to the assumptions), cost comparison, break-even vs API."""
    from casegen.analysis.cost import api_cost
    from casegen.case import prices

    mean_in = {s: (m.tokens["input"].mean if m.tokens.get("input") else None) for s, m in metrics.items()}
    try:
        resolved = prices.resolve_cost(cost_case, mean_in)
    except CasegenError as err:
        if err.where and err.where.startswith("cost."):
            err.where = case.where(*err.where.split("."))
        raise
    cost = compare_costs(resolved.cost, metrics["baseline"], metrics["optimized"], at_capacity)
    for side in SIDES:
        getattr(cost, side).assumptions.extend(resolved.notes.get(side, []))
    be = None
    api = resolved.cost.compare_api
    if api is not None:
        opt, opt_pricing = cost.optimized, resolved.cost.optimized.self_hosted
        if (opt.kind != "self_hosted" or opt_pricing is None or not opt.usd_per_replica_hour
                or not opt.throughput_requests_per_s):
            raise CasegenError("cost.compare_api compares a self-hosted optimized side with an API, but the optimized "
                               "side is not self-hosted", where=case.where("cost", "compare_api"),
                               expected="cost.optimized.self_hosted, or no compare_api")
        a = api_cost(api, metrics["optimized"], resolved.cost, "optimized")
        util = opt_pricing.utilization
        be = prices.break_even(a.usd_per_request, opt.usd_per_replica_hour * prices.HOURS_PER_MONTH,
                               opt.throughput_requests_per_s * util * 3600 * prices.HOURS_PER_MONTH,
                               resolved.cost.requests_per_month, api.provider or api.model or "the API")
        be.notes = a.assumptions + resolved.notes.get("compare_api", [])
    return cost, be


def _quality(case: Case, case_dir: Path) -> dict[int, Any]:
    """lm-eval comparisons of the trade-offs that name result files (index of the trade-off → comparison)."""
    from casegen.analysis import quality

    out = {}
    for i, t in enumerate(case.tradeoffs):
        q = t.quality
        if q is None or q.lm_eval is None:
            continue
        files = {}
        for side in SIDES:
            try:
                files[side] = quality.read_lm_eval(resolve_case_path(case_dir, getattr(q.lm_eval, side)))
            except CasegenError as err:
                err.hint = err.hint or f"from {case.where('tradeoffs', i, 'quality', 'lm_eval', side)}"
                raise
        try:
            out[i] = quality.compare(files["baseline"], files["optimized"], q.tolerance, case.analysis.confidence,
                                     tasks=q.lm_eval.tasks, metrics=q.lm_eval.metrics,
                                     higher_is_better=q.higher_is_better,
                                     where=f"tradeoffs.{i}.quality.lm_eval")
        except CasegenError as err:
            if err.where and err.where.startswith("tradeoffs."):
                err.where = case.where(*[int(x) if x.isdigit() else x for x in err.where.split(".")])
            raise
    return out


def _rung_pricing(case: Case, cost_case, key: str, i: int | None):
    """Pricing of one rung: the side's own, cost.steps[i] for a step, or the shared pricing."""
    if key in SIDES:
        return getattr(cost_case, key)
    steps = cost_case.steps
    if steps is not None:
        if len(steps) != len(case.runs.steps):
            raise CasegenError(f"cost.steps lists {len(steps)} pricing(s) but runs.steps has {len(case.runs.steps)} step(s)",
                               where=case.where("cost", "steps"), expected="one pricing per step, in order")
        return steps[i]
    if cost_case.baseline == cost_case.optimized:
        return cost_case.baseline
    raise CasegenError("baseline and optimized are priced differently, so the steps' prices are unknown",
                       where=case.where("cost"), expected="cost.steps: one pricing per step (self_hosted or api)")


def _ladder(case: Case, case_dir: Path, runs: dict[str, Run], metrics: dict[str, RunMetrics],
            intervals: dict, sweeps: dict, capacities: dict):
    """Every rung of runs.steps read and compared with the previous one (casegen.analysis.ladder)."""
    from casegen.analysis import ladder as lad
    from casegen.analysis.cost import side_cost
    from casegen.case import prices

    a = case.analysis
    method = a.percentile_method
    keys = ["baseline"] + [f"steps.{i}" for i in range(len(case.runs.steps))] + ["optimized"]
    labels = []
    for k in keys:
        spec = run_spec(case, k)
        default = k.capitalize() if k in SIDES else f"Step {int(k.split('.')[1]) + 1}"
        labels.append(spec.label or default)
    dup = {x for x in labels if labels.count(x) > 1}
    if dup:
        raise CasegenError(f"two rungs of the ladder share the label '{sorted(dup)[0]}'", where=case.where("runs"),
                           expected="a distinct label for the baseline, every step and the optimized side")
    rungs: list = []
    compare_load = None
    notes: list[str] = []
    if case.runs.baseline.sweep:
        from casegen.analysis.sweep import capacity_at_slo

        sw = {k: (sweeps[k] if k in sweeps else _read_sweep(case, case_dir, k)) for k in keys}
        shared = [p.load for p in sw["baseline"].points
                  if all(any(math.isclose(p.load, q.load, rel_tol=0.01) or p.load == q.load for q in sw[k].points)
                         for k in keys)]
        if not shared:
            raise CasegenError("the ladder's sweeps share no load point, so their statistics cannot be compared step "
                               "by step", where=case.where("runs", "steps"),
                               expected="sweeps that all measured at least one common rate or concurrency")
        want = case.capacity.compare_at
        finite = [x for x in shared if math.isfinite(x)]
        if want is None:
            compare_load = (finite or shared)[-1]
        else:
            compare_load = math.inf if str(want).lower() in ("inf", "infinity", "unbounded") else float(want)
            if not any(x == compare_load or math.isclose(x, compare_load, rel_tol=0.01) for x in shared):
                raise CasegenError(f"not every rung of the ladder measured load {want}",
                                   where=case.where("capacity", "compare_at"),
                                   expected="one of: " + ", ".join(f"{x:g}" for x in shared))
        for idx, k in enumerate(keys):
            point = next(p for p in sw[k].points
                         if p.load == compare_load or math.isclose(p.load, compare_load, rel_tol=0.01))
            cap = capacities.get(k) if k in capacities else (
                capacity_at_slo(sw[k], list(case.slos), case.capacity.attainment, a) if case.slos else None)
            iv = (uncertainty.run_intervals(point.run, a.confidence, a.bootstrap_resamples, a.seed, idx,
                                            family=uncertainty.primary_family(case))
                  if not point.run.summary_only else None)
            rungs.append(lad.Rung(k, labels[idx], point.run, point.metrics, iv, None, sw[k], cap))
        notes.append("Statistics per step at the load every rung measured: "
                     + fmt_load(compare_load, sw["baseline"].load_kind))
    else:
        for idx, k in enumerate(keys):
            run = runs[k] if k in runs else read_side(case, case_dir, k)
            m = metrics[k] if k in metrics else compute_run_metrics(run, method)
            iv = intervals.get(k) if k in SIDES else (
                uncertainty.run_intervals(run, a.confidence, a.bootstrap_resamples, a.seed, idx,
                                          family=uncertainty.primary_family(case))
                if not run.summary_only else None)
            rungs.append(lad.Rung(k, labels[idx], run, m, iv))
    for r in rungs:
        r.slos = lad.ladder_slos(r.run, case, r.metrics.throughput.get("duration_s"), method, r.metrics)
    if case.cost is not None:
        c = case.cost
        steps_one_time = 0.0
        for r in rungs:
            step_i = int(r.key.split(".")[1]) if r.key.startswith("steps.") else None
            pricing = _rung_pricing(case, c, r.key, step_i)
            where = "cost." + (r.key if r.key in SIDES else f"steps.{step_i}")
            mean_in = r.metrics.tokens["input"].mean if r.metrics.tokens.get("input") else None
            pricing, _notes = prices.resolve_side(pricing, mean_in, where)
            cost_metrics = r.metrics
            if (pricing.self_hosted is not None and pricing.self_hosted.capacity_requests_per_s is None
                    and r.capacity is not None and r.capacity.value_rps):
                pricing = _priced_at(pricing, r.capacity)
                cost_metrics = _at_capacity(r.metrics, r.capacity)  # as for the two sides
                r.cost = side_cost(pricing, cost_metrics, c, r.key,
                                   f"{r.capacity.text()} per replica at SLO, from the sweep")
                r.cost.bound, r.cost.established = r.capacity.cost_bound, r.capacity.established
                for other_bound in ("at_most", "at_least"):
                    # priced at an end of its range, for a step beside a bound (ladder.step_costs); keyed
                    # by the cost's bound there. An estimate without a range stays a point: nothing to add
                    pc = _pricing_capacity(r.capacity, other_bound)
                    bound = pc.cost_bound
                    if bound == "point":
                        continue
                    r.cost_ends[bound] = side_cost(_priced_at(pricing, pc.capacity), _at_capacity(r.metrics, pc.capacity), c, r.key,
                                                   f"{pc.text} per replica at SLO, from the sweep")
                    r.cost_ends[bound].bound, r.cost_ends[bound].established = bound, pc.established
            else:
                r.cost = side_cost(pricing, cost_metrics, c, r.key)
            if step_i is not None and c.steps is not None:
                r.one_time_cost_usd = c.steps[step_i].one_time_cost_usd
                steps_one_time += r.one_time_cost_usd
        if steps_one_time > c.one_time_cost_usd + 1e-9:
            raise CasegenError(f"the steps' one-time costs add up to ${steps_one_time:,.0f}, more than "
                               f"cost.one_time_cost_usd (${c.one_time_cost_usd:,.0f})",
                               where=case.where("cost", "steps"), expected="step costs that are part of the total")
        rungs[-1].one_time_cost_usd = c.one_time_cost_usd - steps_one_time
    family = uncertainty.primary_family(case)
    steps = [lad.step_effect(i, rungs[i - 1], rungs[i], a.confidence, family) for i in range(1, len(rungs))]
    lad.assign_tradeoffs(steps, list(case.tradeoffs), case.where)
    return lad.Ladder(rungs, steps, compare_load, notes)


def _step_throughput_cis(confidence: float, prev: Any, cur: Any) -> dict[str, Any]:
    """Throughput intervals of a ladder step (previous rung → this rung), as for the two sides."""
    cis, reasons = {}, {}
    for side, rung in (("baseline", prev), ("optimized", cur)):
        cis[side], reasons[side] = run_throughput_cis(rung.run, rung.metrics.throughput, confidence)
    deltas = {}
    for key in registry.THROUGHPUT_METRICS:
        why = next((f"{r.label}: {reasons[s]}" for s, r in (("baseline", prev), ("optimized", cur)) if reasons[s]), "")
        deltas[key] = throughput_delta_ci(cis["baseline"].get(key), cis["optimized"].get(key), confidence, why)
    return {"throughput_cis": cis, "throughput_ci_reasons": reasons, "throughput_delta_cis": deltas,
            "transients": {}}


def step_study(study: Study, i: int) -> Study:
    """Step ``i`` (1-based) of the ladder seen as a two-sided study (previous rung → this rung), so that
    every rule of casegen.story.findings applies to it unchanged."""
    import dataclasses

    from casegen.analysis import ladder as lad_mod
    from casegen.analysis.cost import CostComparison, saving_bound
    from casegen.analysis.metrics import latency_deltas, throughput_deltas

    lad = study.ladder
    prev, cur = lad.rungs[i - 1], lad.rungs[i]
    step = lad.steps[i - 1]
    specs = {"baseline": run_spec(study.case, prev.key).model_copy(update={"label": prev.label}),
             "optimized": run_spec(study.case, cur.key).model_copy(update={"label": cur.label})}
    runs_model = study.case.runs.model_copy(update={**specs, "steps": []})
    case = study.case.model_copy(update={"runs": runs_model})
    case._lines, case._file = study.case._lines, study.case._file
    cost = None
    prev_cost, cur_cost = lad_mod.step_costs(prev, cur)
    if prev_cost is not None and cur_cost is not None and study.case.cost is not None:
        one = cur.one_time_cost_usd
        horizon = study.case.cost.horizon_months

        def compared(b: Any, o: Any, payback: float | None) -> CostComparison:
            save = b.usd_per_month - o.usd_per_month
            net = save * horizon - one
            return CostComparison(b, o, save, save / b.usd_per_month * 100 if b.usd_per_month > 0 else None,
                                  one, payback, net / one * 100 if one > 0 else None, horizon, net, "",
                                  saving_bound(b.bound, o.bound), b.established and o.established)

        cost = compared(prev_cost, cur_cost, step.payback_months)
        if (prev_cost, cur_cost) != (prev.cost, cur.cost) and prev.cost is not None and cur.cost is not None:
            # a bound that counted an estimate at an end of its range: the step at the estimates beside it
            est_save = prev.cost.usd_per_month - cur.cost.usd_per_month
            cost.estimate = compared(prev.cost, cur.cost, one / est_save if est_save > 0 and one > 0 else None)
    return dataclasses.replace(
        study, case=case, runs={"baseline": prev.run, "optimized": cur.run},
        metrics={"baseline": prev.metrics, "optimized": cur.metrics},
        deltas=latency_deltas(prev.metrics, cur.metrics),
        throughput_deltas=throughput_deltas(prev.metrics, cur.metrics), delta_cis=step.latency_ci,
        **_step_throughput_cis(study.case.analysis.confidence, prev, cur),
        intervals={k: r.intervals for k, r in (("baseline", prev), ("optimized", cur)) if r.intervals is not None},
        slos={k: r.slos for k, r in (("baseline", prev), ("optimized", cur)) if r.slos is not None},
        capacities={k: r.capacity for k, r in (("baseline", prev), ("optimized", cur)) if r.capacity is not None},
        sweeps={k: r.sweep for k, r in (("baseline", prev), ("optimized", cur)) if r.sweep is not None},
        compare_load=lad.compare_load if lad.compare_load is not None else study.compare_load,
        cost=cost, ladder=None, quality={}, revenue=None, break_even=None, teardown=None, segments=None,
        cheap_win=None, slo_differences=[])  # the whole study's tests are not a step's: the step's SLOs are tested by the story


def resolve_case_path(case_dir: Path, name: str) -> Path:
    """A path as case.yaml names it: '~' is the home folder (as in a shell), relative paths are
    relative to the case folder."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else case_dir / path


def named_inputs(case: Case) -> list[tuple[str, tuple, str]]:
    """Every input path case.yaml names: (path as written, key path, what it is)."""
    out: list[tuple[str, tuple, str]] = []
    for side in [*SIDES[:1], *(f"steps.{i}" for i in range(len(case.runs.steps))), *SIDES[1:]]:
        spec = run_spec(case, side)
        key = ("runs", *spec_path(side), "path")
        if isinstance(spec.path, list):
            out += [(p, key + (i,), "run path") for i, p in enumerate(spec.path)]
        else:
            out.append((spec.path, key, "run path"))
    for i, t in enumerate(case.tradeoffs):
        if t.quality is not None and t.quality.lm_eval is not None:
            for side in SIDES:
                out.append((getattr(t.quality.lm_eval, side), ("tradeoffs", i, "quality", "lm_eval", side),
                            "lm-eval result path"))
    return out


def check_named_inputs(case: Case, case_dir: Path) -> None:
    """Every path case.yaml names resolves (symlinks followed) inside the case folder: a clear error
    naming the key and --trust-case-paths otherwise (before anything is read)."""
    for name, key, what in named_inputs(case):
        inside_case(resolve_case_path(case_dir, name), what=what, where=case.where(*key), root=case_dir)


def analyze(case: Case, case_dir: str | Path, *, trust_paths: bool = False) -> Study:
    """Read both runs and compute metrics, intervals, SLO verdicts, checks, deltas and cost.

    Unless ``trust_paths`` (the user's ``--trust-case-paths``), every file read must resolve inside
    ``case_dir``, symbolic links followed (casegen.safe_io.confined_to)."""
    case_dir = Path(case_dir)
    if trust_paths:
        with confined_to(None):
            return _analyze(case, case_dir)
    check_named_inputs(case, case_dir)
    with confined_to(case_dir):
        return _analyze(case, case_dir)


def _analyze(case: Case, case_dir: Path) -> Study:
    sweep_sides = [s for s in SIDES if getattr(case.runs, s).sweep]
    sweeps: dict = {}
    pairing = None
    compare_load = None
    if sweep_sides:
        if len(sweep_sides) == 1:
            other = "optimized" if sweep_sides[0] == "baseline" else "baseline"
            raise CasegenError(f"runs.{sweep_sides[0]} is a sweep but runs.{other} is not",
                               where=case.where("runs", other), expected="sweep: true on both sides, or on neither")
        runs, sweeps, pairing, compare_load = _sweep_study(case, case_dir)
    else:
        runs = {side: read_side(case, case_dir, side) for side in SIDES}
    a = case.analysis
    method = a.percentile_method
    metrics: dict[str, RunMetrics] = {}
    notes: list[str] = []
    definitions: list[str] = []
    for side in SIDES:
        run = runs[side]
        m = compute_run_metrics(run, method)
        if not m.requests.get("succeeded"):
            raise CasegenError(
                "the run has no successful request, so there is nothing to measure",
                file=run.meta.source,
                where=f"run index {run.meta.index}" if run.meta.index else None,
                expected="a run where at least one request succeeded",
                hint=f"runs.{side} in case.yaml",
            )
        metrics[side] = m
        for w in run.warnings:
            notes.append(f"{side_label(case, run, side)}: {w}")
        for d in run.definitions:
            if d not in definitions:
                definitions.append(d)
        # one note per known cause (AIPerf's duration window moves all four throughput figures at once)
        by_cause: dict[str, list] = {}
        for row in m.parity:
            if row.flagged:
                key = row.cause if row.cause and row.cause != "unexplained" else f"?{len(by_cause)}"
                by_cause.setdefault(key, []).append(row)
        for cause, rows in by_cause.items():
            figures = "; ".join(f"{_parity_name(r.metric, r.stat)} {_parity_value(r.ours, r.metric)} vs "
                                f"{_parity_value(r.tool, r.metric)} ({fmt_pct(r.diff_pct, digits=2)})" for r in rows)
            row = rows[0]
            notes.append(
                f"{side_label(case, run, side)}: casegen's {_parity_name(row.metric, row.stat)} "
                f"({_parity_value(row.ours, row.metric)}) differs from the tool's own figure "
                f"({_parity_value(row.tool, row.metric)}) by {fmt_pct(row.diff_pct, digits=2)}"
                if len(rows) == 1 else
                f"{side_label(case, run, side)}: {len(rows)} of casegen's figures differ from the tool's own "
                f"(casegen vs tool: {figures})")
            notes[-1] += f" — cause: {cause}" if not cause.startswith("?") else " — cause not known"
    labels = {side: side_label(case, runs[side], side) for side in SIDES}
    slo_problems = checks.slo_metric_problems(case, metrics, labels)
    if slo_problems:
        raise ValidationFailed(case.file, slo_problems)
    capacities: dict = {}
    knees: dict = {}
    cost_case = case.cost
    priced: dict[str, _PricedCapacity] = {}  # sides priced at their capacity at SLO
    if sweeps:
        from casegen.analysis.sweep import capacity_at_slo, capacity_interval, knee

        for side in SIDES:
            if case.slos:
                cap = capacity_at_slo(sweeps[side], list(case.slos), case.capacity.attainment, a)
                cap.interval_rps, why = capacity_interval(cap, a.confidence, a.bootstrap_resamples, a.seed, method)
                if cap.interval_rps is None and cap.bound == "interpolated" and why:
                    cap.notes.append(f"no interval for the capacity: {why}")
                capacities[side] = cap
            knees[side] = {m: knee(sweeps[side], m, "p50") for m in registry.CURVE_METRICS}
        if cost_case is not None and capacities:
            # cost at SLO: a self-hosted side is priced at its capacity, unless case.yaml states one
            updates = {}
            other_side = {"baseline": "optimized", "optimized": "baseline"}
            for side in SIDES:
                pricing = getattr(cost_case, side)
                side_cap = capacities.get(side)
                if (pricing.self_hosted is not None and pricing.self_hosted.capacity_requests_per_s is None
                        and side_cap is not None and side_cap.value_rps):
                    # an estimate priced beside the other side's bound counts at the end of its range that
                    # keeps the saving's bound true (Capacity.beside)
                    other_cap = capacities.get(other_side[side])
                    priced[side] = p = _pricing_capacity(side_cap, other_cap.cost_bound if other_cap else None)
                    updates[side] = _priced_at(pricing, p.capacity)
                    notes.append(f"{side_label(case, runs[side], side)}: cost uses the capacity at SLO from the sweep, "
                                 f"{side_cap.text()}, not the throughput of one load point{p.consequence}")
            if updates:
                cost_case = cost_case.model_copy(update=updates)
    cost_metrics = dict(metrics)
    for side, pc in priced.items():
        # token rates are the capacity's (interpolated between the sweep points), not the comparison
        # point's tokens per request scaled to it
        cost_metrics[side] = _at_capacity(metrics[side], pc.capacity)
    cost = None
    break_even = None
    if cost_case is not None:
        at_capacity = {side: (f"{pc.text} per replica at SLO, from the sweep"
                              + ("" if pc.established else ", uncertified (no load point "
                                 "passed with enough requests to certify it)"),
                              pc.cost_bound, pc.established)
                       for side, pc in priced.items()}
        cost, break_even = _priced_cost(case, cost_case, cost_metrics, at_capacity)
        ranged = {side for side, pc in priced.items() if pc.capacity is not capacities[side]}
        if ranged and cost is not None:  # priced again with each estimate at its own value (the charts' figures)
            est_case = cost_case.model_copy(update={side: _priced_at(getattr(cost_case, side), capacities[side])
                                                    for side in ranged})
            est_metrics = {**cost_metrics, **{side: _at_capacity(metrics[side], capacities[side]) for side in ranged}}
            est_at = {**at_capacity, **{side: (f"{capacities[side].text()} per replica at SLO, from the sweep",
                                               capacities[side].cost_bound, capacities[side].established)
                                        for side in ranged}}
            cost.estimate = _priced_cost(case, est_case, est_metrics, est_at)[0]

    intervals = {}
    family = uncertainty.primary_family(case)
    transients = {side: t for side in SIDES if (t := run_transient(runs[side])) is not None}
    for i, side in enumerate(SIDES):
        if not runs[side].summary_only:
            t = transients.get(side)
            intervals[side] = uncertainty.run_intervals(runs[side], a.confidence, a.bootstrap_resamples, a.seed, i,
                                                        method, tuple(stat for _m, stat in family),
                                                        withhold=t.reason if t is not None and not t.steady else "",
                                                        family=family)
    for side, iv in intervals.items():  # a closed loop queueing at its cap: said, intervals kept
        if iv.saturation is not None and not iv.saturation.withhold:
            notes.append(f"{side_label(case, runs[side], side)}: {iv.saturation.reason}")
    short = {side_label(case, runs[side], side): max(dep.n for dep in iv.dependence.values())
             for side, iv in intervals.items() if iv.dependence and uncertainty.withheld_for_length(iv)}
    if short and not (len(intervals) == 2 and min(len(runs[s].parts) for s in SIDES) >= repetitions.MIN_RUNS):
        notes.append(uncertainty.short_run_note(short))
    tp_cis: dict[str, dict[str, Any]] = {}
    tp_reasons: dict[str, str] = {}
    for side in SIDES:
        t = transients.get(side)
        if t is not None and not t.steady:  # no steady state: nothing to estimate an interval of
            tp_cis[side], tp_reasons[side] = {}, t.reason
        else:
            tp_cis[side], tp_reasons[side] = run_throughput_cis(runs[side], metrics[side].throughput, a.confidence)
    tp_delta_cis = {}
    for key in registry.THROUGHPUT_METRICS:
        why = next((f"{side_label(case, runs[s], s)}: {tp_reasons[s]}" for s in SIDES if tp_reasons[s]), "")
        if tp_reasons["baseline"] and tp_reasons["baseline"] == tp_reasons["optimized"]:  # said once, of both
            why = f"both sides: {tp_reasons['baseline']}"
        tp_delta_cis[key] = throughput_delta_ci(tp_cis["baseline"].get(key), tp_cis["optimized"].get(key),
                                                a.confidence, why)
    delta_cis = (uncertainty.delta_intervals(intervals["baseline"], intervals["optimized"], a.confidence, family)
                 if len(intervals) == 2 else {})
    slos = {side: slo.evaluate_slos(runs[side], list(case.slos), a, metrics[side].throughput.get("duration_s"), method,
                                    metrics=metrics[side])
            for side in SIDES} if case.slos else {}
    unit, paired = "requests", False
    parts = {side: runs[side].parts for side in SIDES}
    if len(intervals) == 2 and min(len(p) for p in parts.values()) >= repetitions.MIN_RUNS:
        delta_cis, paired = repetitions.apply(parts["baseline"], parts["optimized"], intervals["baseline"],
                                              intervals["optimized"], a.confidence, family, method)
        unit = "runs"
        notes.append(repetitions.method_note(len(parts["baseline"]), len(parts["optimized"]), paired))
    slo_differences: list = []
    if slos and unit == "runs":
        slo_differences = slo.attainment_differences_runs(parts["baseline"], parts["optimized"], list(case.slos), a,
                                                          1 - a.confidence, method)
    elif slos:
        sat = [iv.saturation.reason for iv in intervals.values() if iv.saturation is not None and iv.saturation.withhold]
        slo_differences = slo.attainment_differences(slos["baseline"], slos["optimized"], 1 - a.confidence,
                                                     withheld=sat[0] if sat else "")
    from casegen.registry import OPTIMIZATION_KINDS

    kind = OPTIMIZATION_KINDS[case.optimization.kind]
    workload = checks.compare_workloads(runs["baseline"], runs["optimized"], metrics["baseline"], metrics["optimized"],
                                        a.workload_margin, kind.intended, kind.label)
    threats = list(workload.threats)
    trimmed = a.warmup is not None
    for side in SIDES:
        if side in intervals:
            threats += checks.small_sample_threats(side, intervals[side])
        threats += checks.realism_checks(side, runs[side], metrics[side], trimmed=trimmed)
        if side in intervals:
            threats += checks.dependence_threats(side, intervals[side])
        threats += checks.plausibility_checks(side, runs[side], metrics[side])
        threats += checks.transient_threats(side, transients.get(side))
    threats += checks.scaffold_leftovers(case)
    threats += checks.scaffold_values(case, runs)
    from casegen.analysis.cache import cache_threats

    threats += cache_threats(runs, kind.key, a.confidence)
    if kind.key != "serving" or any(t.changes_answers for t in case.tradeoffs):
        from casegen.analysis.cheapwin import kind_threats

        threats = kind_threats(case, threats)
    spread = {side: _spread(runs[side].parts, method) for side in SIDES if len(runs[side].parts) > 1}
    deltas = latency_deltas(metrics["baseline"], metrics["optimized"])
    revenue = None
    if case.cost is not None and case.cost.revenue is not None:
        from casegen.analysis.cost import revenue_effect

        rev = case.cost.revenue
        delta = deltas.get(rev.metric, {}).get(rev.stat)
        if delta is None:
            raise CasegenError(f"the revenue assumption uses {rev.metric} {rev.stat}, which one of the runs does not report",
                               where=case.where("cost", "revenue", "metric"), expected="a metric both runs measure")
        revenue = revenue_effect(rev, delta.abs)
    ladder = _ladder(case, case_dir, runs, metrics, intervals, sweeps, capacities) if case.runs.steps else None
    study = Study(
        ladder=ladder,
        sweeps=sweeps,
        pairing=pairing,
        capacities=capacities,
        knees=knees,
        compare_load=compare_load,
        revenue=revenue,
        break_even=break_even,
        quality=_quality(case, case_dir),
        case=case,
        case_dir=case_dir,
        runs=runs,
        metrics=metrics,
        deltas=deltas,
        throughput_deltas=throughput_deltas(metrics["baseline"], metrics["optimized"]),
        cost=cost,
        notes=merge_side_notes(notes, (labels["baseline"], labels["optimized"])),
        intervals=intervals,
        delta_cis=delta_cis,
        slos=slos,
        workload=workload,
        threats=threats,
        spread=spread,
        definitions=definitions,
        slo_differences=slo_differences,
        unit=unit,
        paired_runs=paired,
        transients=transients,
        throughput_cis=tp_cis,
        throughput_ci_reasons=tp_reasons,
        throughput_delta_cis=tp_delta_cis,
    )
    from casegen.analysis.cheapwin import cheap_win
    from casegen.analysis.segments import study_segments
    from casegen.analysis.teardown import study_teardown

    study.teardown = study_teardown(study)
    study.segments = study_segments(study)
    from casegen.analysis.checks import untested_worse_threats

    study.threats.extend(untested_worse_threats(study.segments, study.label("optimized")))
    study.cheap_win = cheap_win(study)
    return study


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf → None, round floats to 6 significant decimals for stability."""
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        return float(f"{x:.10g}")
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _side_summary(run: Run, m: RunMetrics) -> dict[str, Any]:
    meta = run.meta
    return {
        "source": {
            "file": Path(meta.source).name,
            "sha256": meta.sha256,
            "format": meta.format,
            "tool": meta.tool,
            "tool_version": meta.tool_version,
            "run_index": meta.index,
            "data": m.source,
        },
        "model": meta.model,
        "load": {
            "request_rate": meta.request_rate if meta.request_rate is None or math.isfinite(meta.request_rate) else "inf",
            "max_concurrency": meta.max_concurrency,
            "num_prompts": meta.num_prompts,
        },
        "requests": m.requests,
        "latency_ms": {k: {s: v.get(s) for s in DIST_STATS} for k, v in m.latency_ms.items()},
        "throughput": {k: m.throughput.get(k) for k in (
            "requests_per_s", "output_tokens_per_s", "input_tokens_per_s", "total_tokens_per_s",
            "duration_s", "duration_source")},
        "tokens": {
            "input": m.tokens["input"].as_dict() if m.tokens.get("input") else None,
            "output": m.tokens["output"].as_dict() if m.tokens.get("output") else None,
            "input_total": m.tokens.get("input_total"),
            "output_total": m.tokens.get("output_total"),
        },
        "split": m.split,
        "one_token_responses": m.one_token_responses,
        "percentile_method": m.percentile_method,
        "parity": [asdict(p) for p in m.parity],
        "warnings": list(run.warnings),
    }


def _transient_summary(study: Study, side: str) -> dict[str, Any] | None:
    t = study.transients.get(side)
    return t.as_dict() if t is not None else None


def _parity_name(metric: str, stat: str) -> str:
    """A parity figure's name in reader words: 'TTFT p99', 'throughput of requests (req/s)' — never the
    tool's key ('throughput requests_per_s', issue 23)."""
    if metric == "throughput":
        m = registry.THROUGHPUT.get(stat)
        name = m.label.lower() if m is not None else {"input_tokens_per_s": "input tokens"}.get(stat, stat.replace("_", " "))
        unit = m.unit if m is not None else "tok/s" if stat.endswith("tokens_per_s") else ""
        return f"throughput of {name}" + (f" ({unit})" if unit else "")
    return f"{METRIC_LABELS.get(metric, metric)} {stat}"


def _parity_value(value: float | None, metric: str) -> str:
    """A parity figure in a note: latencies as every latency ('206.8 ms'), other figures with three
    significant digits."""
    return fmt_ms(value) if metric in registry.LATENCY_METRICS else fmt_sig3(value)


def _load_value(load: float | None) -> float | str | None:
    """A nominal load for summary.json: a number, "inf" for an unbounded rate (all requests at once),
    or None."""
    return "inf" if load is not None and math.isinf(load) else load


def _sweep_summary(study: Study) -> dict[str, Any]:
    out: dict[str, Any] = {"compare_at_load": _load_value(study.compare_load), "sides": {}}
    for side, sw in study.sweeps.items():
        cap = study.capacities.get(side)
        pts = []
        for i, p in enumerate(sw.points):
            pv = cap.verdicts[i] if cap is not None and i < len(cap.verdicts) else None
            verdict = pv.verdict if pv is not None else None  # the SLO table's rule (uncertified miss: inconclusive)
            pts.append({"load": _load_value(p.load), "load_kind": p.load_kind, "achieved_requests_per_s": p.achieved_rps,
                        "achieved_output_tokens_per_s": p.achieved_out_tps, "requests": p.metrics.requests.get("total"),
                        "data": "summary" if p.summary_only else "per-request",
                        "latency_ms": {m: {st: p.latency(m, st) for st in registry.PERCENTILE_STATS}
                                       for m in registry.CURVE_METRICS},
                        "slo_status": verdict, "slo_measured": pv.measured if pv is not None else None})
        out["sides"][side] = {
            "load_kind": sw.load_kind,
            "points": pts,
            "capacity": None if cap is None else {
                "bound": cap.bound, "requests_per_s": cap.value_rps, "output_tokens_per_s": cap.output_tokens_per_s,
                "interval_requests_per_s": list(cap.interval_rps) if cap.interval_rps else None,
                "text": cap.text(), "limiting": cap.limiting, "missing": cap.missing, "notes": cap.notes,
                "attainment": cap.attainment},
            "knees": {m: (k.point.load if k is not None and k.point is not None else None)
                      for m, k in study.knees.get(side, {}).items()},
        }
    b, o = study.capacities.get("baseline"), study.capacities.get("optimized")
    out["capacity_ratio"] = (o.value_rps / b.value_rps if b is not None and o is not None and b.value_rps
                             and o.value_rps else None)
    if study.pairing is not None:
        out["unpaired"] = {"baseline": [p.load for p in study.pairing.unpaired_base],
                           "optimized": [p.load for p in study.pairing.unpaired_opt]}
    # every note on the sweep: the pairing's (they hold the offered-rate notes), else the offered-rate
    # notes, then each side's own
    bs, os_ = study.sweeps["baseline"], study.sweeps["optimized"]
    notes = list(study.pairing.notes) if study.pairing is not None else offered_notes(bs, os_)
    for sw in (bs, os_):
        notes += [n for n in sw.notes if n not in notes]
    out["notes"] = notes
    return out


def _quality_summary(study: Study, i: int) -> dict[str, Any] | None:
    """One trade-off's quality: lm-eval rows, or the typed-in scores; None when not given."""
    from casegen.analysis import quality

    t = study.case.tradeoffs[i]
    if i in study.quality:
        return {"technique": t.technique, "source": "lm-eval", **quality.summary_dict(study.quality[i])}
    q = t.quality
    if q is None or q.baseline is None or q.optimized is None:  # none, or lm-eval files this study did not read
        return None
    hib = q.higher_is_better is not False
    loss = (q.baseline - q.optimized) if hib else (q.optimized - q.baseline)
    return {"technique": t.technique, "source": "typed", "metric": q.metric, "baseline": q.baseline,
            "optimized": q.optimized, "tolerance": q.tolerance, "higher_is_better": hib,
            "verdict": "within" if loss <= q.tolerance + 1e-12 else "outside"}


def _ladder_summary(study: Study) -> dict[str, Any]:
    lad = study.ladder
    rungs = []
    for r in lad.rungs:
        cap = r.capacity
        rungs.append({
            "key": r.key, "label": r.label, "data": "summary" if r.run.summary_only else "per-request",
            "latency_ms": {k: {s: v.get(s) for s in registry.TABLE_STATS}
                           for k, v in r.metrics.latency_ms.items()},
            "throughput": {k: r.metrics.throughput.get(k) for k in ("requests_per_s", "output_tokens_per_s")},
            "slo_status": [{"metric": x.metric, "percentile": x.percentile,
                            "verdict": x.verdict.status if x.verdict else None} for x in r.slos.results]
            if r.slos is not None and r.slos.available else None,
            "capacity": None if cap is None else {"requests_per_s": cap.value_rps, "bound": cap.bound, "text": cap.text()},
            "cost": None if r.cost is None else {"usd_per_month": r.cost.usd_per_month,
                                                 "usd_per_request": r.cost.usd_per_request},
            "one_time_cost_usd": r.one_time_cost_usd,
        })
    steps = []
    for s in lad.steps:
        lat: dict[str, Any] = {}
        for m, row in s.latency.items():
            lat[m] = {}
            for stat, d in row.items():
                ci = s.latency_ci.get(m, {}).get(stat)
                lat[m][stat] = {"abs": d.abs, "pct": d.pct, "verdict": d.verdict,
                                "ci_abs": [ci.abs_low, ci.abs_high] if ci else None,
                                "ci_pct": [ci.pct_low, ci.pct_high] if ci and ci.pct_low is not None else None,
                                "significant": ci.significant if ci else None}
        steps.append({"index": s.index, "from": s.frm, "to": s.to, "latency_ms": lat,
                      "throughput": {k: {"abs": d.abs, "pct": d.pct} for k, d in s.throughput.items()},
                      "slo_changes": s.slo_changes, "capacity_ratio": s.capacity_ratio,
                      "saving_usd_per_month": s.saving_usd_per_month, "one_time_cost_usd": s.one_time_cost_usd,
                      "payback_months": s.payback_months, "worse": s.worse, "better": s.better,
                      "findings": [f.model_dump(mode="json") for f in s.findings],
                      "tradeoffs": [t.technique for t in s.tradeoffs]})
    return {"compare_at_load": _load_value(lad.compare_load), "rungs": rungs, "steps": steps, "findings": lad.findings,
            "notes": lad.notes}


def _throughput_ci_summary(study: Study, key: str) -> dict[str, Any]:
    """ci_pct / significant / supported of a throughput change (batch means), and why not when unsupported."""
    ci = study.throughput_delta_cis.get(key)
    if ci is None:
        return {}
    return {"ci_pct": [ci.pct_low, ci.pct_high] if ci.supported else None, "significant": ci.significant,
            "supported": ci.supported, "unsupported_reason": ci.reason or None}


def summary_dict(study: Study) -> dict[str, Any]:
    """Every computed figure, machine-readable (see docs/summary-json.md)."""
    out: dict[str, Any] = {
        "casegen_version": __version__,
        "schema": "casegen.summary/1",
        "title": study.case.title,
        "date": study.case.date.isoformat(),
        "labels": {s: study.label(s) for s in SIDES},
        "runs": {s: {**_side_summary(study.runs[s], study.metrics[s]), "transient": _transient_summary(study, s)}
                 for s in SIDES},
        "deltas": {
            "latency_ms": {
                m: {stat: {"abs": d.abs, "pct": d.pct, "verdict": d.verdict} for stat, d in row.items()}
                for m, row in study.deltas.items()
            },
            "throughput": {
                k: {"abs": d.abs, "pct": d.pct, "verdict": d.verdict, **_throughput_ci_summary(study, k)}
                for k, d in study.throughput_deltas.items()
            },
        },
        "slos": [s.model_dump() for s in study.case.slos],
        "notes": study.notes,
        "definitions": study.definitions,
        "intervals": {
            side: {
                "confidence": study.case.analysis.confidence,
                "method": iv.method,
                "unit": iv.unit,
                "saturation": iv.saturation.reason if iv.saturation is not None else None,
                "latency_ms": {m: {st: (list(ci) if ci else None) for st, ci in row.items()}
                               for m, row in iv.intervals.items()},
                "supported": iv.supported,
                "unsupported_reason": iv.reasons,
                "withheld": iv.withheld,
                "n_eff": iv.n_eff,
                "dependence": {m: {"lag_autocorrelation": {str(k): v for k, v in dep.lags.items()},
                                   "block_length": dep.block_length, "variance_factor": dep.lrv_factor,
                                   "n": dep.n, "n_eff": dep.n_eff}
                               for m, dep in iv.dependence.items()},
                "throughput": {k: [ci.low, ci.high] for k, ci in study.throughput_cis.get(side, {}).items()},
                "throughput_reason": study.throughput_ci_reasons.get(side) or None,
            }
            for side, iv in study.intervals.items()
        },
        "slo_results": {
            side: {
                "available": sm.available,
                "reason": sm.reason or None,
                "joint_attainment": sm.joint_attainment,
                "good_requests": sm.good_requests,
                "goodput_requests_per_s": sm.goodput_rps,
                "one_token_responses": sm.one_token_responses,
                "tpot_one_token": sm.tpot_one_token,
                "objectives": [
                    {"metric": r.metric, "percentile": r.percentile, "threshold_ms": r.threshold_ms,
                     "issued": r.issued, "violations": r.violations, "attainment": r.attainment,
                     "observed_ms": r.observed_ms,
                     "verdict": r.verdict.status if r.verdict else None,
                     "requests_needed_to_pass": r.verdict.needed if r.verdict else None,
                     "variance_factor": r.variance_factor,
                     "reason": r.verdict.reason if r.verdict else r.note,
                     "note": r.note if r.verdict else ""}
                    for r in sm.results
                ],
            }
            for side, sm in study.slos.items()
        },
        "workload": {
            "rows": [asdict(r) for r in study.workload.rows] if study.workload else [],
            "ks": study.workload.ks if study.workload else {},
            "equivalence": {k: {"mean_diff": e.diff, "ci90": [e.low, e.high], "margin": e.margin,
                                "equivalent": e.equivalent}
                            for k, e in study.workload.equivalence.items()} if study.workload else {},
            "comparisons_still_valid": study.workload.still_valid if study.workload else [],
            "comparisons_note": study.workload.valid_note if study.workload else "",
            "compared": study.workload is not None,
            "major_threats": [{"title": t.title, "reason": t.reason} for t in study.workload.threats
                              if t.severity == "major"] if study.workload else [],
        },
        "threats": [asdict(t) for t in study.threats],
        "sweep": _sweep_summary(study) if study.sweeps else None,
        "quality": [_quality_summary(study, i) for i in range(len(study.case.tradeoffs))],
        "ladder": _ladder_summary(study) if study.ladder is not None else None,
    }
    for m, row in study.delta_cis.items():
        for stat, ci in row.items():
            d = out["deltas"]["latency_ms"].get(m, {}).get(stat)
            if d is not None:
                d["ci_abs"] = [ci.abs_low, ci.abs_high] if ci.supported else None
                d["ci_pct"] = [ci.pct_low, ci.pct_high] if ci.supported and ci.pct_low is not None else None
                d["significant"] = ci.significant
                d["supported"] = ci.supported
                d["family"] = ci.family
                d["p_value"] = ci.p_value
                d["p_adjusted"] = ci.p_adjusted
    out["multiplicity"] = {
        "primary_family": [{"metric": m, "stat": s} for m, s in uncertainty.primary_family(study.case)],
        "correction": next((d.correction for row in study.delta_cis.values() for d in row.values() if d.correction),
                           "closed"),
        "alpha": 1 - study.case.analysis.confidence,
        "any_primary_significant": uncertainty.any_primary_significant(study.delta_cis),
        "unit": study.unit,
        "paired_runs": study.paired_runs,
        "slo_attainment_differences": [
            {"metric": d.metric, "percentile": d.percentile, "diff": d.diff, "p_value": d.p_value,
             "significant": d.significant, "unit": d.unit, "withheld": d.withheld or None}
            for d in study.slo_differences],
    }
    if study.cost is not None:
        c = study.cost
        out["cost"] = {
            **{
                side: {
                    k: v for k, v in asdict(getattr(c, side)).items()
                }
                for side in SIDES
            },
            "savings_usd_per_month": c.savings_usd_per_month,
            "savings_pct": c.savings_pct,
            "one_time_cost_usd": c.one_time_cost_usd,
            "payback_months": c.payback_months,
            "roi_pct": c.roi_pct,
            "horizon_months": c.horizon_months,
            "net_usd_over_horizon": c.net_usd_over_horizon,
            "verdict": c.verdict,
            "savings_bound": c.savings_bound,
            "established": c.established,
            "estimate": None if c.estimate is None else {
                "baseline_usd_per_million_output_tokens": c.estimate.baseline.usd_per_million_output_tokens,
                "optimized_usd_per_million_output_tokens": c.estimate.optimized.usd_per_million_output_tokens,
                "baseline_usd_per_month": c.estimate.baseline.usd_per_month,
                "optimized_usd_per_month": c.estimate.optimized.usd_per_month,
                "savings_usd_per_month": c.estimate.savings_usd_per_month,
                "savings_pct": c.estimate.savings_pct,
                "payback_months": c.estimate.payback_months,
                "roi_pct": c.estimate.roi_pct,
                "savings_bound": c.estimate.savings_bound,
            },
            "revenue_effect": asdict(study.revenue) if study.revenue is not None else None,
            "self_host_vs_api": asdict(study.break_even) if study.break_even is not None else None,
        }
    else:
        out["cost"] = None
    return _clean(out)
