"""``casegen inspect``: what casegen understood of a benchmark output file or folder.

``inspect_path(path)`` returns a plain dict (also the ``--json`` output): detected format,
every run with the values a selector can use, per-request or summary only, headline metrics,
how the tool's names map to casegen's, and warnings.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from casegen.analysis.metrics import compute_run_metrics
from casegen.app.console import request_counts
from casegen.errors import CasegenError
from casegen.runs import FORMATS, load_runs, parse_selector, select_run
from casegen.runs.model import Run

_DESCRIPTIONS = {f.name: f.description for f in FORMATS}
HEADLINE = (("ttft", "p50"), ("ttft", "p99"), ("tpot", "p50"), ("itl", "p99"), ("e2e", "p50"))


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "inf" if v > 0 else None
    return v


def describe_run(run: Run) -> dict[str, Any]:
    m = compute_run_metrics(run)
    sel = {k: _jsonable(v) for k, v in run.meta.selector_values().items() if v is not None}
    latency = {f"{metric}_{stat}_ms": (m.latency_ms[metric].get(stat) if metric in m.latency_ms else None)
               for metric, stat in HEADLINE}
    return {
        "index": run.meta.index,
        "selector": sel,
        "data": "per-request" if not run.summary_only else "summary only",
        "model": run.meta.model,
        "tool": run.meta.tool,
        "tool_version": run.meta.tool_version,
        "load": run.meta.describe_load(),
        "token_counts": run.meta.token_source,
        "requests": m.requests,
        "latency": latency,
        "throughput": {"requests_per_s": m.throughput.get("requests_per_s"),
                       "output_tokens_per_s": m.throughput.get("output_tokens_per_s"),
                       "duration_s": m.throughput.get("duration_s")},
        "parity_flagged": [f"{p.metric} {p.stat}: casegen {p.ours:.4g}, tool {p.tool:.4g} ({p.diff_pct:+.2f}%) — {p.cause}"
                           for p in m.parity if p.flagged],
        "parity_checked": len(m.parity),
        "definitions": list(run.definitions),
        "warnings": list(run.warnings),
    }


def _readable_subfolders(path: Path, limit: int = 50) -> list[str]:
    """Names of the subfolders of ``path`` that hold a run or sweep casegen recognises (cheap: layout
    and file sniffing, no reading of runs)."""
    from casegen.runs import detect_dir_format

    found = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))[:limit]:
        try:
            detect_dir_format(sub)
        except CasegenError:
            continue
        found.append(sub.name)
    return found


def inspect_path(path: str | Path, format: str = "auto", select: Any = None) -> dict[str, Any]:
    """Everything casegen read from ``path`` (a file or a tool's output folder)."""
    path = Path(path)
    if not path.exists():
        raise CasegenError("not found", file=path, expected="a benchmark output file or folder")
    try:
        runs = load_runs(path, format)
    except CasegenError as err:
        readable = _readable_subfolders(path) if path.is_dir() and format == "auto" else []
        if not readable:
            raise
        raise CasegenError(
            f"this folder is not one run or one sweep casegen reads; try the subfolders: {', '.join(readable)}",
            file=path, expected="casegen inspect " + " ".join(str(path / name) for name in readable[:4]),
            hint=f"reading the folder itself: {err.what.splitlines()[0]}") from None
    if select not in (None, ""):
        runs = [select_run(runs, parse_selector(select), source=str(path), option="--select")]
    fmt = runs[0].meta.format if runs else format
    return {
        "path": str(path),
        "format": fmt,
        "format_description": _DESCRIPTIONS.get(fmt, ""),
        "detected": format == "auto",
        "runs": [describe_run(r) for r in runs],
    }


def _ms(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.1f} ms"


def format_text(info: dict[str, Any]) -> str:
    """Human-readable report of :func:`inspect_path`."""
    lines = [info["path"]]
    lines.append(f"  format: {info['format']} — {info['format_description']}")
    runs = info["runs"]
    lines.append(f"  {len(runs)} run{'s' if len(runs) != 1 else ''}"
                 + (" (pick one with select: in case.yaml, or --select here)" if len(runs) > 1 else ""))
    shared_defs: list[str] = []
    shared_warn: dict[str, int] = {}
    for r in runs:
        for d in r["definitions"]:
            if d not in shared_defs:
                shared_defs.append(d)
        for w in r["warnings"]:
            shared_warn[w] = shared_warn.get(w, 0) + 1
    for r in runs:
        sel = ", ".join(f"{k}={v}" for k, v in r["selector"].items())
        req = r["requests"]
        lines.append("")
        lines.append(f"  [{sel}]")
        version = f" {r['tool_version']}" if r["tool_version"] else ""
        lines.append(f"    {r['data']}; {r['tool']}{version}; model {r['model'] or '—'}; {r['load']}")
        lines.append(f"    requests: {request_counts(req)}")
        if r.get("token_counts"):
            lines.append("    token counts: " + {"server": "the server's usage (from the API responses)",
                                                 "client": "the benchmark client's own count"}.get(r["token_counts"],
                                                                                                  r["token_counts"]))
        lat = r["latency"]
        lines.append(
            "    TTFT p50 {} p99 {} | TPOT p50 {} | inter-chunk p99 {} | E2E p50 {}".format(
                _ms(lat["ttft_p50_ms"]), _ms(lat["ttft_p99_ms"]), _ms(lat["tpot_p50_ms"]),
                _ms(lat["itl_p99_ms"]), _ms(lat["e2e_p50_ms"])))
        tp = r["throughput"]
        rps = f"{tp['requests_per_s']:.2f} req/s" if tp["requests_per_s"] is not None else "— req/s"
        ots = f"{tp['output_tokens_per_s']:.1f} output tok/s" if tp["output_tokens_per_s"] is not None else "— output tok/s"
        dur = f" over {tp['duration_s']:.1f} s" if tp["duration_s"] else ""
        lines.append(f"    throughput: {rps}, {ots}{dur}")
        if r["parity_checked"]:
            if r["parity_flagged"]:
                lines.append(f"    parity: {len(r['parity_flagged'])} of {r['parity_checked']} figures differ from the tool's summary by > 1%:")
                lines += [f"      - {p}" for p in r["parity_flagged"]]
            else:
                lines.append(f"    parity: all {r['parity_checked']} figures the tool also printed agree within 1%")
        own = [w for w in r["warnings"] if shared_warn.get(w, 0) < len(runs)]
        for w in own:
            lines.append(f"    warning: {w}")
    common = [w for w, c in shared_warn.items() if c == len(runs)]
    if shared_defs or common:
        lines.append("")
    for d in shared_defs:
        lines.append(f"  names: {d}")
    for w in common:
        lines.append(f"  warning{' (every run)' if len(runs) > 1 else ''}: {w}")
    return "\n".join(lines)


__all__ = ["inspect_path", "format_text", "describe_run"]
