"""Read a case's runs and compute everything the report shows (no rendering here).

``analyze(case, case_dir)`` → :class:`Study`; ``summary_dict(study)`` → the
content of ``summary.json`` (documented in ``docs/summary-json.md``).
"""

from __future__ import annotations

import math

import numpy as np
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from casegen import __version__
from casegen.case import Case
from casegen.cost import CostComparison, compare_costs
from casegen.errors import CasegenError, ValidationFailed
from casegen.metrics import (
    DIST_STATS,
    METRIC_LABELS,
    Delta,
    RunMetrics,
    compute_run_metrics,
    latency_deltas,
    throughput_deltas,
)
from casegen import checks, slo, uncertainty
from casegen.runs import Run, load_run, load_runs
from casegen.runs.select import filter_runs
from casegen.window import pool, trim

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

    def label(self, side: str) -> str:
        return side_label(self.case, self.runs[side], side)


def side_label(case: Case, run: Run, side: str) -> str:
    """The name a side goes by in the report: its label in case.yaml, the run's own, or 'Baseline'/'Optimized'."""
    spec = getattr(case.runs, side)
    if spec.sweep:  # a sweep's runs are named after their load point, not after the side
        return spec.label or side.capitalize()
    return spec.label or run.meta.label or side.capitalize()


def _load_side_files(case: Case, case_dir: Path, side: str) -> list[tuple[Run | list[Run], str]]:
    """Every run file of one side, read as listed: (runs of that file, its case.yaml location).

    A single-run side picks its run with ``select``; a sweep side keeps every run of the file.
    """
    spec = getattr(case.runs, side)
    listed = isinstance(spec.path, list)
    paths = spec.path if listed else [spec.path]
    if not paths:
        raise CasegenError("no run file listed", where=case.where("runs", side, "path"),
                           expected="a path or a list of paths")
    out = []
    for i, p in enumerate(paths):
        where = case.where("runs", side, "path", i) if listed else case.where("runs", side, "path")
        path = Path(p).expanduser()  # '~/runs/x.json' means the home folder, as in a shell
        path = path if path.is_absolute() else case_dir / path
        options = dict(columns=spec.columns, units=spec.units, duration_s=spec.duration_s)
        try:
            runs = (load_runs(path, spec.format, **options) if spec.sweep
                    else load_run(path, spec.format, spec.select, **options))
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
    return trim(run, a.warmup, a.cooldown, where=case.where("analysis", "warmup" if a.warmup else "cooldown"))


def read_side(case: Case, case_dir: Path, side: str) -> Run:
    """Read one side: load each file, trim warm-up/cool-down, pool repetitions."""
    runs = [_trimmed(case, run) for run, _where in _load_side_files(case, case_dir, side)]
    return pool(runs, where=case.where("runs", side, "path"))


def _read_sweep(case: Case, case_dir: Path, side: str):
    """All runs of a sweep side (every run in its files that matches its selector) → Sweep."""
    from casegen.sweep import build_sweep

    spec = getattr(case.runs, side)
    runs = [r for file_runs, _where in _load_side_files(case, case_dir, side) for r in file_runs]
    runs = filter_runs(runs, spec.select)
    if not runs:
        raise CasegenError("the selector matches no run of the sweep", where=case.where("runs", side, "select"),
                           expected="a selector that keeps the sweep's load points (see `casegen inspect`)")
    runs = [_trimmed(case, r, sweep=True) for r in runs]
    try:
        return build_sweep(runs, spec.load, label=spec.label or side, method=case.analysis.percentile_method)
    except CasegenError as err:
        err.where = err.where or case.where("runs", side)
        err.hint = err.hint or f"runs.{side} is a sweep (sweep: true)"
        raise


def _sweep_study(case: Case, case_dir: Path) -> tuple[dict[str, Run], dict, Any, float]:
    """Read both sweeps, pair them and pick the load point the detailed comparison uses."""
    from casegen.sweep import pair_points

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


def analyze(case: Case, case_dir: str | Path) -> Study:
    """Read both runs and compute metrics, intervals, SLO verdicts, checks, deltas and cost."""
    case_dir = Path(case_dir)
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
        for row in m.parity:
            if row.flagged:
                notes.append(
                    f"{side_label(case, run, side)}: casegen's {METRIC_LABELS.get(row.metric, row.metric)} {row.stat} "
                    f"({row.ours:,.3f}) differs from the tool's own figure ({row.tool:,.3f}) by {row.diff_pct:+.2f}%"
                )
    labels = {side: side_label(case, runs[side], side) for side in SIDES}
    slo_problems = checks.slo_metric_problems(case, metrics, labels)
    if slo_problems:
        raise ValidationFailed(case.file, slo_problems)
    capacities: dict = {}
    knees: dict = {}
    cost_case = case.cost
    priced_at_capacity: set[str] = set()
    if sweeps:
        from casegen.sweep import capacity_at_slo, knee

        for side in SIDES:
            if case.slos:
                capacities[side] = capacity_at_slo(sweeps[side], list(case.slos), case.capacity.attainment, a)
            knees[side] = {m: knee(sweeps[side], m, "p50") for m in ("ttft", "tpot", "e2e")}
        if cost_case is not None and capacities:
            # cost at SLO: a self-hosted side is priced at its capacity, unless case.yaml states one
            updates = {}
            for side in SIDES:
                pricing = getattr(cost_case, side)
                cap = capacities.get(side)
                if (pricing.self_hosted is not None and pricing.self_hosted.capacity_requests_per_s is None
                        and cap is not None and cap.value_rps):
                    sh = pricing.self_hosted.model_copy(update={"capacity_requests_per_s": cap.value_rps})
                    updates[side] = pricing.model_copy(update={"self_hosted": sh})
                    priced_at_capacity.add(side)
                    consequence = {"at_least": "; the capacity is a lower bound, so the cost is an upper bound",
                                   "bracketed": "; the capacity's lower end is used, so the cost is an upper bound",
                                   "below_min": "; the lowest tested load already misses the SLOs, so the capacity "
                                                "is an upper bound and the cost a lower bound"}.get(cap.bound, "")
                    notes.append(f"{side_label(case, runs[side], side)}: cost uses the capacity at SLO from the sweep "
                                 f"({cap.text()}), not the throughput of one load point{consequence}")
            if updates:
                cost_case = cost_case.model_copy(update=updates)
    cost_metrics = dict(metrics)
    for side in priced_at_capacity:
        # token rates are the capacity's (interpolated between the sweep points), not the comparison
        # point's tokens per request scaled to it
        cost_metrics[side] = _at_capacity(metrics[side], capacities[side])
    cost = compare_costs(cost_case, cost_metrics["baseline"], cost_metrics["optimized"]) if cost_case else None

    intervals = {}
    family = uncertainty.primary_family(case)
    for i, side in enumerate(SIDES):
        if not runs[side].summary_only:
            intervals[side] = uncertainty.run_intervals(runs[side], a.confidence, a.bootstrap_resamples, a.seed, i,
                                                        method, tuple(stat for _m, stat in family))
    delta_cis = (uncertainty.delta_intervals(intervals["baseline"], intervals["optimized"], a.confidence, family)
                 if len(intervals) == 2 else {})
    slos = {side: slo.evaluate_slos(runs[side], list(case.slos), a, metrics[side].throughput.get("duration_s"), method)
            for side in SIDES} if case.slos else {}
    workload = checks.compare_workloads(runs["baseline"], runs["optimized"], metrics["baseline"], metrics["optimized"],
                                        a.workload_margin)
    threats = list(workload.threats)
    trimmed = a.warmup is not None
    for side in SIDES:
        threats += checks.realism_checks(side, runs[side], metrics[side], trimmed=trimmed)
        if side in intervals:
            threats += checks.dependence_threats(side, intervals[side])
        threats += checks.plausibility_checks(side, runs[side], metrics[side])
    threats += checks.scaffold_leftovers(case)
    spread = {side: _spread(runs[side].parts, method) for side in SIDES if len(runs[side].parts) > 1}
    deltas = latency_deltas(metrics["baseline"], metrics["optimized"])
    revenue = None
    if case.cost is not None and case.cost.revenue is not None:
        from casegen.cost import revenue_effect

        r = case.cost.revenue
        d = deltas.get(r.metric, {}).get(r.stat)
        if d is None:
            raise CasegenError(f"the revenue assumption uses {r.metric} {r.stat}, which one of the runs does not report",
                               where=case.where("cost", "revenue", "metric"), expected="a metric both runs measure")
        revenue = revenue_effect(r, d.abs)
    return Study(
        sweeps=sweeps,
        pairing=pairing,
        capacities=capacities,
        knees=knees,
        compare_load=compare_load,
        revenue=revenue,
        case=case,
        case_dir=case_dir,
        runs=runs,
        metrics=metrics,
        deltas=deltas,
        throughput_deltas=throughput_deltas(metrics["baseline"], metrics["optimized"]),
        cost=cost,
        notes=notes,
        intervals=intervals,
        delta_cis=delta_cis,
        slos=slos,
        workload=workload,
        threats=threats,
        spread=spread,
        definitions=definitions,
    )


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


def _sweep_summary(study: Study) -> dict[str, Any]:
    out: dict[str, Any] = {"compare_at_load": study.compare_load, "sides": {}}
    for side, sw in study.sweeps.items():
        cap = study.capacities.get(side)
        pts = []
        for i, p in enumerate(sw.points):
            verdict = cap.verdicts[i].status if cap is not None and i < len(cap.verdicts) else None
            pts.append({"load": p.load, "load_kind": p.load_kind, "achieved_requests_per_s": p.achieved_rps,
                        "achieved_output_tokens_per_s": p.achieved_out_tps, "data": "summary" if p.summary_only else "per-request",
                        "latency_ms": {m: {st: p.latency(m, st) for st in ("p50", "p90", "p95", "p99")}
                                       for m in ("ttft", "tpot", "e2e")},
                        "slo_status": verdict})
        out["sides"][side] = {
            "load_kind": sw.load_kind,
            "points": pts,
            "capacity": None if cap is None else {
                "bound": cap.bound, "requests_per_s": cap.value_rps, "output_tokens_per_s": cap.output_tokens_per_s,
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
        out["notes"] = list(study.pairing.notes)
    return out


def summary_dict(study: Study) -> dict[str, Any]:
    """Every computed figure, machine-readable (see docs/summary-json.md)."""
    out: dict[str, Any] = {
        "casegen_version": __version__,
        "schema": "casegen.summary/1",
        "title": study.case.title,
        "date": study.case.date.isoformat(),
        "labels": {s: study.label(s) for s in SIDES},
        "runs": {s: _side_summary(study.runs[s], study.metrics[s]) for s in SIDES},
        "deltas": {
            "latency_ms": {
                m: {stat: {"abs": d.abs, "pct": d.pct, "verdict": d.verdict} for stat, d in row.items()}
                for m, row in study.deltas.items()
            },
            "throughput": {
                k: {"abs": d.abs, "pct": d.pct, "verdict": d.verdict} for k, d in study.throughput_deltas.items()
            },
        },
        "slos": [s.model_dump() for s in study.case.slos],
        "notes": study.notes,
        "definitions": study.definitions,
        "intervals": {
            side: {
                "confidence": study.case.analysis.confidence,
                "method": iv.method,
                "latency_ms": {m: {st: (list(ci) if ci else None) for st, ci in row.items()}
                               for m, row in iv.intervals.items()},
                "supported": iv.supported,
                "unsupported_reason": iv.reasons,
                "n_eff": iv.n_eff,
                "dependence": {m: {"lag_autocorrelation": {str(k): v for k, v in dep.lags.items()},
                                   "block_length": dep.block_length, "variance_factor": dep.lrv_factor,
                                   "n": dep.n, "n_eff": dep.n_eff}
                               for m, dep in iv.dependence.items()},
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
                     "reason": r.verdict.reason if r.verdict else r.note}
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
        },
        "threats": [asdict(t) for t in study.threats],
        "sweep": _sweep_summary(study) if study.sweeps else None,
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
        "correction": "holm",
        "alpha": 1 - study.case.analysis.confidence,
        "any_primary_significant": uncertainty.any_primary_significant(study.delta_cis),
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
            "revenue_effect": asdict(study.revenue) if study.revenue is not None else None,
        }
    else:
        out["cost"] = None
    return _clean(out)
