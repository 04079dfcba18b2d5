"""kubernetes-sigs/inference-perf lifecycle reports (``*_lifecycle_metrics.json``).

inference-perf writes a report folder (``reports-YYYYMMDD-HHMMSS/``) with
``stage_{N}_lifecycle_metrics.json`` — one per load stage — and
``summary_lifecycle_metrics.json`` over all stages, plus server-side
``*_prometheus_metrics.json``. Format notes: docs/formats/inference-perf.md.

* A **folder** gives one summary-only run per stage, in stage order (select with
  ``stage=N`` or ``rate=R``). The all-stages summary file is *not* a run of the folder:
  it pools requests sent at different loads, so it is not a load point.
* A **single file** gives one summary-only run: a stage file, or the summary file
  (``stage=all``, with a warning that it pools every stage).

The lifecycle reports hold statistics only (seconds); ``per_request_lifecycle_metrics.json``
is not read (no verified sample), and Prometheus files are rejected with a pointer to the
lifecycle files.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from casegen.errors import CasegenError
from casegen.runs.fields import read_text
from casegen.runs.jsonio import kind_of as _kind, parse_json
from casegen.runs.model import Format, Run, RunMeta, sha256_file

FORMAT = "inference-perf"
EXPECTED = ("an inference-perf lifecycle report {'load_summary': {...}, 'successes': {'count', 'latency', "
            "'throughput', ...}, 'failures': {...}}")
_STAGE_RE = re.compile(r"^stage_(\d+)_lifecycle_metrics\.json$")
SUMMARY_NAME = "summary_lifecycle_metrics.json"

#: inference-perf latency key (seconds) → casegen metric (ms)
_LATENCY = {"time_to_first_token": "ttft", "time_per_output_token": "tpot", "request_latency": "e2e"}
_STATS = {"mean": "mean", "median": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "min": "min", "max": "max"}

DEFINITIONS = [
    "inference-perf's 'time_to_first_token' (first output token time − request start, seconds) is TTFT here, in ms.",
    "inference-perf's 'time_per_output_token' ((last token time − first token time) / (tokens − 1)) is TPOT here.",
    "inference-perf's 'request_latency' (response end − request start) is end-to-end latency (E2E) here.",
    "inference-perf's 'inter_token_latency' is token-level: every token of a streamed chunk gets the chunk's "
    "arrival time, so most gaps are ~0; it is neither casegen's TPOT nor its per-chunk ITL and is not used.",
    "inference-perf's 'normalized_time_per_output_token' (E2E / output tokens, includes TTFT) is not used.",
    "inference-perf's throughput ('requests_per_sec', 'output_tokens_per_sec', 'total_tokens_per_sec') is "
    "successful requests / tokens divided by first request start → last response end of the report, "
    "casegen's definition; the run duration is derived as successes / requests_per_sec.",
    "inference-perf percentiles use NumPy's linear interpolation, the same method as casegen's default.",
]


def _fail(path: Path, what: str, where: str, expected: str) -> CasegenError:
    return CasegenError(what, file=path, where=f"key {where}", expected=expected)


def _obj(path: Path, value: Any, where: str, optional: bool = False) -> dict | None:
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise _fail(path, f"is {_kind(value)}", where, "an object")
    return value


def _num(path: Path, value: Any, where: str, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(path, f"is {_kind(value)}", where, "a finite number")
    return float(value)


def _count(path: Path, value: Any, where: str) -> int:
    v = _num(path, value, where, optional=False)
    assert v is not None
    if v < 0 or v != int(v):
        raise _fail(path, f"is {v!r}", where, "a request count ≥ 0")
    return int(v)


# --------------------------------------------------------------------------- detection

def sniff(path: Path, text: str) -> bool:
    head = text[:4096]
    return (text.lstrip()[:1] == "{" and '"load_summary"' in head and '"successes"' in text
            and '"failures"' in text)


def sniff_dir(path: Path) -> bool:
    try:
        names = {p.name for p in path.iterdir() if p.is_file()}
    except OSError:
        return False
    return any(_STAGE_RE.match(n) for n in names) or SUMMARY_NAME in names


# --------------------------------------------------------------------------- reading

def read(path: Path, text: str, sha256: str) -> list[Run]:
    path = Path(path)
    m = _STAGE_RE.match(path.name)
    stage: int | str | None = int(m.group(1)) if m else ("all" if path.name == SUMMARY_NAME else None)
    return [_run(path, text, sha256, index=0, stage=stage)]


def read_dir(path: Path) -> list[Run]:
    path = Path(path)
    stages = sorted(
        ((int(m.group(1)), p) for p in path.iterdir() if p.is_file() and (m := _STAGE_RE.match(p.name))),
        key=lambda t: t[0],
    )
    runs: list[Run] = []
    if stages:
        for index, (n, p) in enumerate(stages):
            runs.append(_run(p, _read(p), sha256_file(p), index=index, stage=n))
    elif (path / SUMMARY_NAME).is_file():
        p = path / SUMMARY_NAME
        runs.append(_run(p, _read(p), sha256_file(p), index=0, stage="all"))
    else:
        raise CasegenError("no inference-perf lifecycle reports in this folder", file=path,
                           expected="stage_N_lifecycle_metrics.json or summary_lifecycle_metrics.json")
    if (path / "per_request_lifecycle_metrics.json").is_file():
        for run in runs:
            run.warnings.append("per_request_lifecycle_metrics.json is present but not read; the runs are "
                                "built from the stage summaries")
    return runs


def _read(path: Path) -> str:
    return read_text(path)


def _run(path: Path, text: str, sha256: str, *, index: int, stage: int | str | None) -> Run:
    doc = parse_json(text, path, EXPECTED)
    if not isinstance(doc, dict):
        raise CasegenError(f"top level is {_kind(doc)}", file=path, where="top level", expected=EXPECTED)
    for key in ("load_summary", "successes", "failures"):
        if key not in doc:
            raise _fail(path, "is missing", key, EXPECTED)
    load = _obj(path, doc["load_summary"], "load_summary")
    succ = _obj(path, doc["successes"], "successes")
    fail = _obj(path, doc["failures"], "failures")
    if "latency" not in succ and ("rate" in succ or "queue_len" in succ or "prometheus" in path.name):
        raise CasegenError(
            "this is inference-perf's server-side Prometheus report, not a client-side lifecycle report",
            file=path, where="key successes",
            expected="stage_N_lifecycle_metrics.json or summary_lifecycle_metrics.json from the same folder",
        )
    assert load is not None and succ is not None and fail is not None
    n_ok = _count(path, succ.get("count"), "successes.count")
    n_fail = _count(path, fail.get("count", 0), "failures.count")
    latency = _obj(path, succ.get("latency"), "successes.latency", optional=n_ok == 0) or {}

    summary: dict[str, dict[str, float]] = {}
    for ikey, ckey in _LATENCY.items():
        dist = _obj(path, latency.get(ikey), f"successes.latency.{ikey}", optional=True)
        if dist is None:
            continue
        stats = {}
        for skey, cstat in _STATS.items():
            v = _num(path, dist.get(skey), f"successes.latency.{ikey}.{skey}")
            if v is not None:
                if v < 0:
                    raise _fail(path, f"is negative ({v!r})", f"successes.latency.{ikey}.{skey}", "a latency ≥ 0 s")
                stats[cstat] = v * 1000.0
        if stats:
            summary[ckey] = stats
    tput = _obj(path, succ.get("throughput"), "successes.throughput", optional=True) or {}
    tp: dict[str, float] = {}
    for ikey, ckey in (("requests_per_sec", "requests_per_s"), ("output_tokens_per_sec", "output_tokens_per_s"),
                       ("total_tokens_per_sec", "total_tokens_per_s")):
        v = _num(path, tput.get(ikey), f"successes.throughput.{ikey}")
        if v is not None:
            if v < 0:
                raise _fail(path, f"is negative ({v!r})", f"successes.throughput.{ikey}", "a rate ≥ 0")
            tp[ckey] = v
    if tp and n_ok:
        summary["throughput"] = tp
    tokens: dict[str, float] = {}
    schema = "prompt_len/output_len"
    for old, new, ckey in (("prompt_len", "prompt_tokens", "input_total"), ("output_len", "output_tokens", "output_total")):
        if isinstance(succ.get(new), dict):
            schema = "prompt_tokens/output_tokens"
            d = succ[new]
            v = _num(path, d.get("total"), f"successes.{new}.total")
            if v is None and d.get("mean") is not None:
                v = _num(path, d.get("mean"), f"successes.{new}.mean") * n_ok  # type: ignore[operator]
        else:
            d = _obj(path, succ.get(old), f"successes.{old}", optional=True) or {}
            mean = _num(path, d.get("mean"), f"successes.{old}.mean")
            v = mean * n_ok if mean is not None else None
        if v is not None:
            tokens[ckey] = v
    if tokens:
        summary["tokens"] = tokens
    summary["requests"] = {"total": float(n_ok + n_fail), "succeeded": float(n_ok), "failed": float(n_fail)}

    requested = _num(path, load.get("requested_rate"), "load_summary.requested_rate")
    achieved = _num(path, load.get("achieved_rate"), "load_summary.achieved_rate")
    send = _num(path, load.get("send_duration"), "load_summary.send_duration")
    sent = load.get("count")
    num_prompts = _count(path, sent, "load_summary.count") if sent is not None else n_ok + n_fail
    rps = tp.get("requests_per_s")
    duration = n_ok / rps if rps and n_ok else None

    extra: dict[str, Any] = {"report_schema": schema}
    if stage is not None:
        extra["stage"] = stage
    if achieved is not None:
        extra["achieved_rate"] = achieved
    if send is not None:
        extra["send_duration_s"] = send
    if stage == "all":
        label = "all stages"
    elif stage is not None:
        label = f"stage {stage}"
    else:
        label = path.stem
    meta = RunMeta(
        tool="inference-perf", format=FORMAT, source=str(path), sha256=sha256,
        request_rate=requested, num_prompts=num_prompts, duration_s=duration,
        streaming=("ttft" in summary) if n_ok else None, label=label, index=index, extra=extra,
    )
    warnings = ["summary only: inference-perf lifecycle reports hold statistics, not per-request data; "
                "only the percentiles inference-perf printed (median, p90, p95, p99) are available"]
    if stage == "all":
        warnings.append("this is the all-stages summary: it pools requests sent at every stage's rate, so it "
                        "is not one load point; compare stage files instead")
    if requested is not None and achieved is not None and requested > 0 and achieved < 0.95 * requested:
        warnings.append(f"the load generator fell behind: achieved {achieved:.3g} req/s of the "
                        f"{requested:.3g} req/s requested")
    if n_ok == 0:
        warnings.append("no request succeeded; there are no latency statistics")
    if "tokens" in summary and schema == "prompt_len/output_len":
        warnings.append("token totals are derived as mean tokens × successful requests (this report "
                        "schema has no totals)")
    return Run(meta=meta, requests=None, tool_summary=summary, warnings=warnings, definitions=list(DEFINITIONS))


FORMATS = [
    Format(name=FORMAT,
           description="kubernetes-sigs inference-perf lifecycle report (stage_N_/summary_lifecycle_metrics.json "
                       "or its report folder)",
           sniff=sniff, read=read, sniff_dir=sniff_dir, read_dir=read_dir, priority=35),
]
