"""Read a case's runs and compute everything the report shows (no rendering here).

``analyze(case, case_dir)`` → :class:`Study`; ``summary_dict(study)`` → the
content of ``summary.json`` (documented in ``docs/summary-json.md``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from casegen import __version__
from casegen.case import Case
from casegen.cost import CostComparison, compare_costs
from casegen.errors import CasegenError
from casegen.metrics import (
    DIST_STATS,
    METRIC_LABELS,
    Delta,
    RunMetrics,
    compute_run_metrics,
    latency_deltas,
    throughput_deltas,
)
from casegen.runs import Run, load_run

SIDES = ("baseline", "optimized")


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

    def label(self, side: str) -> str:
        spec = getattr(self.case.runs, side)
        return spec.label or self.runs[side].meta.label or side.capitalize()


def read_side(case: Case, case_dir: Path, side: str) -> Run:
    spec = getattr(case.runs, side)
    path = Path(spec.path)
    if not path.is_absolute():
        path = case_dir / path
    try:
        return load_run(path, spec.format, spec.select, columns=spec.columns, units=spec.units,
                        duration_s=spec.duration_s)
    except CasegenError as err:
        if err.file is None:
            err.file = str(path)
            err.args = (err.format(),)
        if err.hint is None:
            err.hint = f"from runs.{side} in case.yaml"
            err.args = (err.format(),)
        raise


def analyze(case: Case, case_dir: str | Path) -> Study:
    """Read both runs and compute metrics, deltas and cost."""
    case_dir = Path(case_dir)
    runs = {side: read_side(case, case_dir, side) for side in SIDES}
    method = case.analysis.percentile_method
    metrics: dict[str, RunMetrics] = {}
    notes: list[str] = []
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
            notes.append(f"{side.capitalize()}: {w}")
        for row in m.parity:
            if row.flagged:
                notes.append(
                    f"{side.capitalize()}: casegen's {METRIC_LABELS.get(row.metric, row.metric)} {row.stat} "
                    f"({row.ours:,.3f}) differs from the tool's own figure ({row.tool:,.3f}) by {row.diff_pct:+.2f}%"
                )
    cost = compare_costs(case.cost, metrics["baseline"], metrics["optimized"]) if case.cost else None
    return Study(
        case=case,
        case_dir=case_dir,
        runs=runs,
        metrics=metrics,
        deltas=latency_deltas(metrics["baseline"], metrics["optimized"]),
        throughput_deltas=throughput_deltas(metrics["baseline"], metrics["optimized"]),
        cost=cost,
        notes=notes,
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
        }
    else:
        out["cost"] = None
    return _clean(out)
