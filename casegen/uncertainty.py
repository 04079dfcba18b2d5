"""Confidence intervals for each run's statistics and for baseline → optimized deltas.

* Percentiles of request-level metrics (TTFT, TPOT, E2E, decode): distribution-free
  order-statistic interval (``stats.quantile_ci``); none when n is too small (p99 needs 368).
* Means, and every statistic of the pooled inter-chunk gaps: percentile bootstrap, resampling
  requests (gaps stay with their request, so their correlation is kept).
* Deltas: independent bootstrap of both sides with a fixed seed; a delta whose interval
  contains zero is "no significant change".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from casegen import stats
from casegen.metrics import chunk_gaps_ms, per_request_values
from casegen.runs.model import Run

STATS = ("mean", "p50", "p90", "p95", "p99")
P = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
METRICS = ("ttft", "tpot", "itl", "e2e", "decode")


def metric_samples(run: Run) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """metric → (values in ms, cluster id per value or None). Successful requests only.

    Request-level metrics are their own clusters; a chunk gap's cluster is its request.
    """
    values = per_request_values(run)
    out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {m: (values[m], None) for m in ("ttft", "e2e", "decode", "tpot")}
    df = run.requests
    assert df is not None
    gaps, ids = chunk_gaps_ms(df[df["success"]])
    # renumber clusters 0..C−1 over the requests that have gaps
    out["itl"] = (gaps, np.unique(ids, return_inverse=True)[1]) if gaps.size else (gaps, None)
    return out


@dataclass
class RunIntervals:
    """CIs of one run's statistics: metric → stat → (low, high) or None, plus the bootstrap draws."""

    intervals: dict[str, dict[str, tuple[float, float] | None]] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)  # metric → "order statistic" / "bootstrap"
    boot: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)


def run_intervals(run: Run, confidence: float, resamples: int, seed: int, side_index: int) -> RunIntervals:
    """Intervals for every metric/statistic of a per-request run (deterministic for a seed)."""
    out = RunIntervals()
    samples = metric_samples(run)
    a = (1 - confidence) / 2 * 100
    for k, metric in enumerate(METRICS):
        values, clusters = samples[metric]
        out.n[metric] = int(values.size)
        if values.size < 2:
            continue
        rng = np.random.default_rng([seed, side_index, k])
        boot = stats.bootstrap_stats(values, clusters, resamples, rng)
        out.boot[metric] = boot
        row: dict[str, tuple[float, float] | None] = {}
        lo, hi = np.percentile(boot["mean"], [a, 100 - a])
        row["mean"] = (float(lo), float(hi))
        if clusters is None:
            out.method[metric] = "order statistic"
            for stat, p in P.items():
                ci = stats.quantile_ci(values, p, confidence)
                row[stat] = (ci.low, ci.high) if ci else None
        else:
            out.method[metric] = "bootstrap over requests"
            for stat in P:
                lo, hi = np.percentile(boot[stat], [a, 100 - a])
                row[stat] = (float(lo), float(hi))
        out.intervals[metric] = row
    return out


def delta_intervals(base: RunIntervals, opt: RunIntervals, confidence: float) -> dict[str, dict[str, stats.DeltaCI]]:
    out: dict[str, dict[str, stats.DeltaCI]] = {}
    for metric in METRICS:
        if metric in base.boot and metric in opt.boot:
            row = {}
            for stat in STATS:
                d = stats.delta_ci(base.boot[metric][stat], opt.boot[metric][stat], confidence)
                if d is not None:
                    row[stat] = d
            out[metric] = row
    return out
