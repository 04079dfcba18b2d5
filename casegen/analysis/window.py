"""Measurement window (warm-up / cool-down trimming) and pooling of repeated runs.

Trimming drops requests sent in the first/last part of a run. By seconds it needs send
timestamps; by fraction it uses timestamps when present and the request order otherwise
(vLLM writes requests in dispatch order). With timestamps, throughput is the kept requests over the
kept window; without, the latency statistics use the kept requests but throughput stays the whole
run's (``throughput_counts``), and the run says so. Pooling concatenates the per-request tables of
repetitions of one configuration; their durations add up for throughput.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from casegen.errors import CasegenError, require
from casegen.runs.model import RequestTable, Run


@dataclass(frozen=True)
class TrimSpec:
    seconds: float | None = None
    fraction: float | None = None


def trim(run: Run, warmup: Any, cooldown: Any, *, where: str) -> Run:
    """A copy of ``run`` without the requests sent during warm-up / cool-down."""
    if warmup is None and cooldown is None:
        return run
    if run.requests is None:
        raise CasegenError(
            "warm-up/cool-down trimming needs per-request data, but this run is summary only",
            file=run.meta.source, where=where, expected="remove analysis.warmup/cooldown or use a detailed run",
        )
    df = run.requests
    n = len(df)
    has_ts = df.all_known("start_s")
    keep = np.ones(n, dtype=bool)
    notes = []
    if has_ts:
        start = df["start_s"]
        end = start + np.nan_to_num(df["e2e_s"], nan=0.0)
        t0, t1 = float(start.min()), float(end.max())
        span = t1 - t0
        lo, hi = t0, t1
        if warmup is not None:
            lo = t0 + (warmup.seconds if warmup.seconds is not None else warmup.fraction * span)
        if cooldown is not None:
            hi = t1 - (cooldown.seconds if cooldown.seconds is not None else cooldown.fraction * span)
        keep = (start >= lo) & (start < hi) if hi > lo else np.zeros(n, dtype=bool)
        window = max(hi - lo, 0.0)
        notes.append(f"measurement window {lo - t0:.1f}–{hi - t0:.1f} s of {span:.1f} s")
    else:
        for spec, label in ((warmup, "warm-up"), (cooldown, "cool-down")):
            if spec is not None and spec.seconds is not None:
                raise CasegenError(
                    f"{label} by seconds needs per-request send timestamps, and this file has none",
                    file=run.meta.source, where=where,
                    expected=f"a {label} given as a fraction (trims by request order)",
                )
        a = int(round((warmup.fraction if warmup else 0.0) * n))
        b = int(round((cooldown.fraction if cooldown else 0.0) * n))
        keep[:a] = False
        if b:
            keep[n - b:] = False
        window = None
        notes.append(f"kept requests {a + 1}–{n - b} of {n} by dispatch order (the file has no timestamps)")
    if not keep.any():
        raise CasegenError(
            "warm-up and cool-down trimming removes every request of this run",
            file=run.meta.source, where=where, expected="a shorter warm-up/cool-down",
        )
    out = copy.copy(run)
    out.requests = df[keep].reset_index()
    out.meta = copy.copy(run.meta)
    out.warnings = list(run.warnings) + [f"trimmed {int((~keep).sum())} of {n} requests ({'; '.join(notes)})"]
    if window is not None:
        out.meta.duration_s = window
    else:
        # no send times: the kept requests' window cannot be measured, so throughput stays the whole
        # run's (all its requests over its duration) — dividing fewer requests by the whole duration
        # would understate it
        out.meta.extra = dict(run.meta.extra, throughput_counts=throughput_counts(run))
        out.warnings.append("throughput is the whole run's (no send timestamps to measure the kept window); "
                            "latency statistics use the kept requests only")
    out.tool_summary = {k: v for k, v in run.tool_summary.items() if k in ("requests",)}  # no longer comparable
    out.trimmed = int((~keep).sum())
    return out


def throughput_counts(run: Run) -> dict[str, float | None]:
    """Successful requests and their input/output tokens that throughput divides by the duration:
    the run's own, or — after trimming without timestamps — those of the whole untrimmed run."""
    counts = run.meta.extra.get("throughput_counts")
    if counts is not None:
        return dict(counts)
    df = run.requests
    assert df is not None
    ok = df[df["success"]]
    out = ok["output_tokens"]
    inp = ok["input_tokens"]
    return {"issued": float(len(df)), "succeeded": float(len(ok)),
            "output_tokens": float(np.nansum(out)) if np.isfinite(out).any() else None,
            "input_tokens": float(np.nansum(inp)) if np.isfinite(inp).any() else None}


def _total(values: list[float | None]) -> float | None:
    """The sum, or None when any value is missing."""
    known = [v for v in values if v is not None]
    return sum(known) if len(known) == len(values) else None


def pool(runs: list[Run], *, where: str) -> Run:
    """One run made of the requests of several repetitions of the same configuration."""
    if len(runs) == 1:
        return runs[0]
    first = runs[0]
    for r in runs:
        if r.requests is None:
            raise CasegenError(
                "repetitions are pooled request by request, but this run is summary only",
                file=r.meta.source, where=where, expected="per-request runs for every repetition",
            )
        if (r.meta.model or "") != (first.meta.model or ""):
            raise CasegenError(
                f"repetitions serve different models ('{first.meta.model}' in {first.meta.source}, "
                f"'{r.meta.model}' here)", file=r.meta.source, where=where,
                expected="repetitions of one configuration (same model)",
            )
    from casegen.analysis.metrics import run_duration

    frames = []
    durations = []
    offset = 0.0
    for r in runs:
        d = run_duration(r)[0]
        durations.append(d)
        df = require(r.requests, "a repetition's requests (checked above)").copy()
        if df.any_known("start_s"):
            df["start_s"] = df["start_s"] + offset
        offset += (d or 0.0) + 1.0
        frames.append(df)
    out = copy.copy(first)
    out.meta = copy.copy(first.meta)
    out.requests = RequestTable.concat(frames)
    measured = [d for d in durations if d]
    out.meta.duration_s = sum(measured) if len(measured) == len(durations) else None
    out.meta.extra = {k: v for k, v in first.meta.extra.items() if k != "throughput_counts"}
    out.meta.extra["repetitions"] = len(runs)
    if any("throughput_counts" in r.meta.extra for r in runs):
        parts = [throughput_counts(r) for r in runs]
        out.meta.extra["throughput_counts"] = {k: _total([p[k] for p in parts]) for k in parts[0]}
    out.tool_summary = {}
    out.warnings = [w for r in runs for w in r.warnings]
    out.parts = list(runs)
    return out
