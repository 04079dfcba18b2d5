"""Plausibility of what an importer read: one place, applied to every run of every format.

:func:`casegen.runs.load_runs` calls :func:`check_run` on each run an importer returns, so a
summary-only file (vLLM, SGLang, ...) with a negative p99 TTFT, percentiles out of order, an
infinite token count or a NaN throughput is refused with a clear error naming the file and the
figure — instead of becoming a report headline. Per-request tables get the same per-request
checks (:func:`casegen.runs.model.check_requests`) plus infinite token counts and chunk gaps.

Missing figures are fine (a tool may not measure TTFT); NaN figures in a tool summary are
treated as missing and flagged in the run's warnings, because several tools write NaN for "not
measured"; negative and infinite figures and impossible orders are errors.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from casegen.errors import CasegenError
from casegen.runs.model import LATENCY_METRICS, check_requests

#: percentile keys in increasing order; a summary's values must not decrease along it
_ORDER = ("min", "p50", "p90", "p95", "p99", "max")
#: summary groups whose figures are latencies (ms), rates or counts: never negative
_CHECKED_GROUPS = frozenset(LATENCY_METRICS) | {"throughput", "requests", "tokens"}
#: no request takes longer than this (100 days) or produces more tokens: larger values are unit
#: or encoding errors, and would overflow statistics (std of 1e300 is inf)
MAX_LATENCY_S = 1e7
MAX_TOKENS = 1e12
#: a request's start time, s: epoch seconds (~1.7e9 today) or seconds from the run's start
MAX_START_S = 1e11
#: slack for tools that round their printed figures (e.g. to 2 decimals of a millisecond)
_REL_TOL = 1e-6
_ABS_TOL = 0.011


def _where(run_label: str, group: str, key: str) -> str:
    return f"{run_label}, {group}.{key}"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _le(a: float, b: float) -> bool:
    return a <= b + max(_ABS_TOL, _REL_TOL * abs(b))


def check_summary(summary: dict[str, Any], file: str | Path, run_label: str = "run") -> list[str]:
    """Refuse impossible figures in a tool summary; drop NaN ones. Returns warnings for the run.

    ``summary`` is :attr:`casegen.runs.model.Run.tool_summary` (modified in place: NaN figures
    are removed so no later step reports them).
    """
    warnings: list[str] = []
    for group, stats in list(summary.items()):
        if group not in _CHECKED_GROUPS or not isinstance(stats, dict):
            continue
        for key, value in list(stats.items()):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isnan(value):
                del stats[key]
                warnings.append(f"the tool summary's {group}.{key} is NaN (not a number); left out")
                continue
            if math.isinf(value):
                raise CasegenError(f"the tool summary's {group}.{key} is infinite", file=file,
                                   where=_where(run_label, group, key), expected="a finite number")
            if value < 0:
                raise CasegenError(f"the tool summary's {group}.{key} is negative ({value:g})", file=file,
                                   where=_where(run_label, group, key), expected="a value ≥ 0")
            limit = MAX_LATENCY_S * 1000 if group in LATENCY_METRICS and key != "n" else MAX_TOKENS
            if value > limit:
                raise CasegenError(f"the tool summary's {group}.{key} is {value:g}, beyond any real run", file=file,
                                   where=_where(run_label, group, key),
                                   expected=f"at most {limit:g}" + (" ms" if group in LATENCY_METRICS else ""))
        present = [(k, float(stats[k])) for k in _ORDER if isinstance(stats.get(k), (int, float))]
        for (k1, v1), (k2, v2) in zip(present, present[1:]):
            if not _le(v1, v2):
                raise CasegenError(
                    f"the tool summary's {group} has {k2} ({v2:g}) below {k1} ({v1:g})", file=file,
                    where=_where(run_label, group, k2),
                    expected=f"percentiles in order: {' ≤ '.join(_ORDER)}")
        lo, hi, mean = stats.get("min"), stats.get("max"), stats.get("mean")
        if isinstance(mean, (int, float)) and isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
            if not (_le(lo, mean) and _le(mean, hi)):
                raise CasegenError(
                    f"the tool summary's {group} mean ({mean:g}) is outside its min–max range ({lo:g}–{hi:g})",
                    file=file, where=_where(run_label, group, "mean"), expected="min ≤ mean ≤ max")
    req = summary.get("requests")
    if isinstance(req, dict):
        total, ok, failed = (_number(req.get(k)) for k in ("total", "succeeded", "failed"))
        if total is not None and ok is not None and ok > total + 0.5:
            raise CasegenError(f"the tool summary counts {ok:g} successful requests out of {total:g}", file=file,
                               where=_where(run_label, "requests", "succeeded"),
                               expected="succeeded ≤ total")
        if total is not None and ok is not None and failed is not None and ok + failed > total + 0.5:
            raise CasegenError(f"the tool summary counts {ok:g} succeeded + {failed:g} failed requests, more than "
                               f"the {total:g} in total", file=file, where=_where(run_label, "requests", "total"),
                               expected="succeeded + failed ≤ total")
    return warnings


def check_request_values(df: Any, file: str | Path) -> None:
    """Infinite or absurd token counts, latencies, start times and chunk gaps in a per-request table."""
    for column in ("input_tokens", "output_tokens"):
        values = df[column]
        bad = np.flatnonzero(np.isinf(values) | (values > MAX_TOKENS))
        if bad.size:
            i = int(bad[0])
            raise CasegenError(f"{column.replace('_', ' ')} is {values[i]:g}" +
                               (f"; {bad.size} rows affected" if bad.size > 1 else ""),
                               file=file, where=f"request {i + 1}",
                               expected=f"a finite token count between 0 and {MAX_TOKENS:g}")
    for column, label in (("ttft_s", "TTFT"), ("e2e_s", "end-to-end latency")):
        values = df[column]
        bad = np.flatnonzero(np.isfinite(values) & (values > MAX_LATENCY_S))
        if bad.size:
            i = int(bad[0])
            raise CasegenError(f"{label} is {values[i]:g} s, more than {MAX_LATENCY_S:g} s (check the units)",
                               file=file, where=f"request {i + 1}", expected="a latency in the run's unit")
    ok = df["success"]
    ttft = df["ttft_s"]
    bad = np.flatnonzero(ok & np.isinf(ttft))
    if bad.size:
        i = int(bad[0])
        raise CasegenError("TTFT is infinite in a successful request", file=file, where=f"request {i + 1}",
                           expected="a finite TTFT, or none for non-streaming runs")
    starts = df["start_s"]
    bad = np.flatnonzero(np.isinf(starts) | (np.abs(starts) > MAX_START_S))
    if bad.size:
        i = int(bad[0])
        raise CasegenError(f"request start time is {starts[i]:g} s", file=file, where=f"request {i + 1}",
                           expected=f"a finite time within {MAX_START_S:g} s of the epoch or of the run's start")
    for i, gaps in enumerate(df["chunk_gaps_s"]):
        if gaps is None:
            continue
        arr = np.asarray(gaps, dtype=float)
        if arr.size and not (np.isfinite(arr).all() and (arr >= 0).all()):
            raise CasegenError("a gap between streamed chunks is negative or not a finite number", file=file,
                               where=f"request {i + 1}", expected="finite chunk gaps ≥ 0")
        if arr.size and float(arr.max()) > MAX_LATENCY_S:
            raise CasegenError(f"a gap between streamed chunks is {float(arr.max()):g} s, more than "
                               f"{MAX_LATENCY_S:g} s (check the units)", file=file, where=f"request {i + 1}",
                               expected="chunk gaps in seconds")


def check_run(run: Any) -> None:
    """All plausibility checks for one imported run (raises CasegenError; adds warnings)."""
    label = run.meta.label or f"run {run.meta.index + 1} of the file"
    if run.requests is not None:
        check_requests(run.requests, run.meta.source)
        check_request_values(run.requests, run.meta.source)
    run.warnings.extend(check_summary(run.tool_summary, run.meta.source, label))
