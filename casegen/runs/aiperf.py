"""NVIDIA AIPerf (ai-dynamo/aiperf) outputs — see docs/formats/aiperf.md.

Handles:

* ``profile_export.jsonl``: one record per request (``metadata``, ``metrics``
  ``{tag: {value, unit}}``, ``error``). Old metric tags (``ttft``, ``ttst``, 0.1.x)
  and new ones (``time_to_first_token``, after PR #343). Every value is converted
  with its own ``unit``. Errored / cancelled requests (e.g. ``RequestCancellationError``)
  are failures.
* ``profile_export_aiperf.json``: summary; 0.1.x wraps metrics in ``records``,
  later versions are flat (GenAI-Perf-like) and may carry ``schema_version`` /
  ``aiperf_version``.
* ``profile_export_aiperf.csv``: summary (two tables).
* an artifacts folder (JSONL preferred, the summary JSON of the same folder is
  attached as ``tool_summary`` for the parity check), and a sweep folder with one
  ``{param}_{value}`` sub-folder per load point.

Secrets (``--api-key``, ``api_key``, bearer tokens …) are scrubbed from every
metadata value before it reaches :class:`RunMeta`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from casegen.errors import CasegenError
from casegen.runs.fields import dig as _dig
from casegen.runs.fields import (
    first_line_json,
    is_scalar,
    number,
    point_dirs,
    read_text,
    scrub,
    scrub_text,
    sub_object,
    unit_factor_s,
)
from casegen.runs.fields import is_scalar as _scalar
from casegen.runs.fields import point_dir_params as parse_sweep_dir_name
from casegen.runs.jsonio import parse_json, parse_json_lines
from casegen.runs.model import Format, Run, RunMeta, check_requests, make_requests_frame, sha256_file

TOOL = "aiperf"
FMT_JSONL = "aiperf-jsonl"
FMT_JSON = "aiperf-json"
FMT_CSV = "aiperf-csv"
FMT_DIR = "aiperf-dir"

#: Old (0.1.x) metric tags → current names.
_ALIASES = {"ttft": "time_to_first_token", "ttst": "time_to_second_token"}

#: AIPerf metric name → casegen latency metric (same definition).
LATENCY_MAP = {
    "time_to_first_token": "ttft",
    "inter_token_latency": "tpot",
    "inter_chunk_latency": "itl",
    "request_latency": "e2e",
}
#: AIPerf statistic → casegen statistic.
STAT_MAP = {"avg": "mean", "p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99",
            "std": "std", "min": "min", "max": "max"}

AIPERF_DEFINITIONS = [
    "AIPerf's 'time_to_first_token' (0.1.x tag 'ttft') is TTFT here.",
    "AIPerf's 'inter_token_latency' ((request latency − TTFT)/(output tokens − 1) per request) is TPOT here.",
    "AIPerf's 'inter_chunk_latency' (gaps between consecutive streamed responses) is casegen's inter-chunk latency (ITL).",
    "AIPerf's 'request_latency' is the end-to-end latency here.",
    "AIPerf's 'output_sequence_length' (output plus reasoning tokens) is the output token count here.",
]
#: Known reasons casegen's figures from the records differ from AIPerf's summary, by metric.
AIPERF_PARITY_CAUSES = {
    "throughput": "duration window: AIPerf divides by its own benchmark window, casegen by first request sent "
                  "→ last response",
}
#: the warning replaced by :data:`SERVER_TOKENS_NOTE` when every record carries the server's usage
CLIENT_TOKENS_WARNING = "token counts come from AIPerf re-tokenising the response text on the client (not from server usage)"
SERVER_TOKENS_DEFINITION = ("Token counts are the server's: each record's 'usage_prompt_tokens' and "
                            "'usage_completion_tokens' (the API response's usage), not AIPerf's client-side "
                            "re-tokenisation ('input_sequence_length', 'output_sequence_length').")
AIPERF_WARNINGS = [CLIENT_TOKENS_WARNING]
#: said only of a run whose records (or summary) count reasoning tokens: not of every AIPerf run
REASONING_WARNING = "the output length and output throughput include reasoning tokens (a reasoning model)"


# --------------------------------------------------------------------------- helpers

def to_num(value: Any, file: Path, where: str, *, allow_none: bool = True,
           min_value: float | None = None) -> float | None:
    """A statistic under the one number policy of :func:`casegen.runs.fields.number` (finite)."""
    return number(value, file, where=where, optional=allow_none, min_value=min_value)


# --------------------------------------------------------------------------- summary JSON

def _metric_table(obj: dict, path: Path) -> tuple[dict[str, dict], str]:
    """{canonical metric name: stats dict} and the layout name ('records' or 'flat')."""
    if isinstance(obj.get("records"), dict):
        table = {}
        for tag, stats in obj["records"].items():
            if not isinstance(stats, dict):
                raise CasegenError(f"metric '{tag}' is a {type(stats).__name__}", file=path,
                                   where=f"key records.{tag}", expected="an object with unit, avg, p50, …")
            table[_ALIASES.get(str(tag), str(tag))] = stats
        return table, "records"
    table = {}
    for key, stats in obj.items():
        if isinstance(stats, dict) and "unit" in stats and ("avg" in stats or "value" in stats):
            table[_ALIASES.get(key, key)] = stats
    return table, "flat"


def _latency_stats(name: str, stats: dict, path: Path, where: str) -> dict[str, float]:
    factor = unit_factor_s(stats.get("unit"), path, f"{where}.unit") * 1e3  # → ms
    out = {}
    for src, dst in STAT_MAP.items():
        v = to_num(stats.get(src), path, f"{where}.{src}", min_value=0)  # finite, ≥ 0
        if v is not None:
            out[dst] = v * factor
    return out


def _avg(table: dict, name: str, path: Path, where_prefix: str) -> float | None:
    stats = table.get(name)
    if stats is None:
        return None
    return to_num(stats.get("avg", stats.get("value")), path, f"{where_prefix}{name}.avg")


def summary_from_table(table: dict[str, dict], layout: str, path: Path, *, streaming: bool | None
                       ) -> tuple[dict[str, dict[str, float]], float | None]:
    """casegen ``tool_summary`` and the benchmark duration (s) from AIPerf metric statistics."""
    prefix = "key records." if layout == "records" else "key "
    summary: dict[str, dict[str, float]] = {}
    for name, ckey in LATENCY_MAP.items():
        if name not in table:
            continue
        if ckey == "ttft" and streaming is False:
            continue  # not measured without streaming
        stats = _latency_stats(name, table[name], path, f"{prefix}{name}")
        if stats:
            summary[ckey] = stats
    tp = {}
    for name, ckey in (("request_throughput", "requests_per_s"), ("output_token_throughput", "output_tokens_per_s"),
                       ("input_token_throughput", "input_tokens_per_s"),
                       ("total_token_throughput", "total_tokens_per_s")):
        v = _avg(table, name, path, prefix)
        if v is not None:
            tp[ckey] = v
    if tp:
        summary["throughput"] = tp
    ok = _avg(table, "request_count", path, prefix)
    failed = _avg(table, "error_request_count", path, prefix)
    req: dict[str, float] = {}
    if ok is not None:
        req["succeeded"] = ok
        if failed is None:
            failed = 0.0
        req["failed"] = failed
        req["total"] = ok + failed
    elif failed is not None:
        req["failed"] = failed
    if req:
        summary["requests"] = req
    tok = {}
    for name, ckey in (("total_isl", "input_total"), ("total_osl", "output_total")):
        v = _avg(table, name, path, prefix)
        if v is not None:
            tok[ckey] = v
    if tok:
        summary["tokens"] = tok
    duration = None
    if "benchmark_duration" in table:
        d = _avg(table, "benchmark_duration", path, prefix)
        if d is not None:
            duration = d * unit_factor_s(table["benchmark_duration"].get("unit", "sec"), path,
                                         f"{prefix}benchmark_duration.unit")
    return summary, duration


def _phase(cfg: dict) -> dict:
    phases = cfg.get("phases")
    if isinstance(phases, list):
        for p in phases:
            if isinstance(p, dict) and p.get("name", "profiling") == "profiling":
                return p
    return {}


def meta_from_config(obj: dict, path: Path, sha256: str, fmt: str, index: int) -> RunMeta:
    """RunMeta from a summary object's ``input_config`` / ``run_info`` (secrets scrubbed)."""
    cfg = obj.get("input_config") if isinstance(obj.get("input_config"), dict) else {}
    cfg = scrub(cfg)
    run_info = scrub(obj.get("run_info")) if isinstance(obj.get("run_info"), dict) else {}
    endpoint = cfg.get("endpoint") if isinstance(cfg.get("endpoint"), dict) else {}
    loadgen = cfg.get("loadgen") if isinstance(cfg.get("loadgen"), dict) else {}
    phase = _phase(cfg)

    model = None
    names = endpoint.get("model_names") or cfg.get("model_names")
    if isinstance(names, list) and names and _scalar(names[0]):
        model = str(names[0])
    items = _dig(cfg, "models", "items")
    if model is None and isinstance(items, list) and items and isinstance(items[0], dict):
        model = items[0].get("name") if _scalar(items[0].get("name")) else None

    def first_num(*vals: Any) -> float | None:
        for v in vals:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        return None

    variation = sub_object(run_info, "variation_values")
    var_flat = {str(k).rsplit(".", 1)[-1]: v for k, v in variation.items() if _scalar(v)}
    concurrency = first_num(var_flat.get("concurrency"), loadgen.get("concurrency"), phase.get("concurrency"))
    rate = first_num(var_flat.get("request_rate"), loadgen.get("request_rate"), phase.get("request_rate"),
                     phase.get("rate"))
    count = first_num(loadgen.get("request_count"), phase.get("request_count"), phase.get("requests"))
    streaming = endpoint.get("streaming") if isinstance(endpoint.get("streaming"), bool) else None
    tokenizer = _dig(cfg, "tokenizer", "name")
    extra: dict[str, Any] = {}
    if concurrency is not None:
        extra["concurrency"] = int(concurrency)
    for k, v in var_flat.items():
        extra.setdefault(k, v)
    for k in ("request_rate_mode",):
        if _scalar(loadgen.get(k)):
            extra[k] = loadgen[k]
    if _scalar(phase.get("type")):
        extra["load_type"] = phase["type"]
    if _scalar(endpoint.get("type")):
        extra["endpoint_type"] = endpoint["type"]
    for k in ("schema_version", "aiperf_version", "benchmark_id"):
        if _scalar(obj.get(k)):
            extra[k] = obj[k]
    for k in ("sweep_id", "trial", "run_label", "variation_label"):
        if _scalar(run_info.get(k)):
            extra[k] = run_info[k]
    cli = run_info.get("cli_command") or cfg.get("cli_command")
    if isinstance(cli, str):
        extra["cli_command"] = scrub_text(cli)
    if isinstance(cfg.get("slos"), dict) and cfg["slos"]:
        extra["slos"] = ", ".join(f"{k}≤{v}" for k, v in cfg["slos"].items())
    if obj.get("was_cancelled") is True:
        extra["was_cancelled"] = "true"
    return RunMeta(
        tool=TOOL, format=fmt, source=str(path), sha256=sha256,
        tool_version=str(obj["aiperf_version"]) if _scalar(obj.get("aiperf_version")) else None,
        model=model,
        tokenizer=str(tokenizer) if _scalar(tokenizer) else None,
        backend=str(endpoint["type"]) if _scalar(endpoint.get("type")) else None,
        date=str(obj["start_time"]) if _scalar(obj.get("start_time")) else None,
        request_rate=rate,
        max_concurrency=int(concurrency) if concurrency is not None else None,
        num_prompts=int(count) if count is not None else None,
        streaming=streaming,
        index=index,
        extra=extra,
    )


def looks_like_summary(obj: Any) -> bool:
    """True for an AIPerf summary JSON (either layout); False for GenAI-Perf's."""
    if not isinstance(obj, dict):
        return False
    rec = obj.get("records")
    if isinstance(rec, dict):
        return any(isinstance(v, dict) and "tag" in v and "unit" in v for v in rec.values())
    has_metric = any(isinstance(obj.get(k), dict) and "unit" in obj[k]
                     for k in ("request_latency", "request_throughput", "time_to_first_token", "request_count"))
    markers = ("aiperf_version", "schema_version", "was_cancelled", "error_summary", "benchmark_duration",
               "total_osl", "min_request_timestamp")
    return has_metric and any(k in obj for k in markers)


def _summary_warnings(obj: dict, table: dict, streaming: bool | None) -> list[str]:
    w = list(AIPERF_WARNINGS)
    if streaming is False:
        w.append("non-streaming run: TTFT is not measured (AIPerf's first-token time would equal the request latency)")
    if obj.get("was_cancelled") is True:
        w.append("AIPerf reports the run as cancelled (interrupted before it finished)")
    errs = obj.get("error_summary")
    if isinstance(errs, list) and errs:
        parts = []
        for e in errs:
            if isinstance(e, dict):
                d = sub_object(e, "error_details")
                parts.append(f"{e.get('count')} × {d.get('type') or 'error'} ({d.get('code')})")
        w.append("failed requests: " + "; ".join(parts))
    stat = table.get("reasoning_token_count")
    if isinstance(stat, dict) and any(isinstance(v, (int, float)) and v > 0 for v in stat.values()):
        w.append(REASONING_WARNING)
    if "time_to_first_output_token" in table:
        # reader language (issue 23): the tool's key is named in the appendix's mapping, not here
        w.append("AIPerf also prints a time to the first non-reasoning token; it is not used: TTFT here is the "
                 "first token of any kind")
    return w


def read_summary_obj(obj: Any, path: Path, sha256: str, fmt: str = FMT_JSON, index: int = 0) -> Run:
    if not looks_like_summary(obj):
        raise CasegenError("object is not an AIPerf summary", file=path, where="top level",
                           expected="profile_export_aiperf.json: 'records' (0.1.x) or flat metrics with "
                                    "'benchmark_duration' / 'aiperf_version'")
    table, layout = _metric_table(obj, path)
    meta = meta_from_config(obj, path, sha256, fmt, index)
    summary, duration = summary_from_table(table, layout, path, streaming=meta.streaming)
    meta.duration_s = duration
    if meta.num_prompts is None and "requests" in summary and "total" in summary["requests"]:
        meta.num_prompts = int(summary["requests"]["total"])
    meta.extra["summary_layout"] = layout
    if meta.tool_version is None and layout == "records":
        meta.extra["tool_version_hint"] = "aiperf 0.1.x (records layout)"
    for name in ("goodput", "good_request_fraction"):
        v = table.get(name)
        if isinstance(v, dict) and isinstance(v.get("avg"), (int, float)) and not isinstance(v.get("avg"), bool):
            meta.extra[name] = float(v["avg"])
    run = Run(meta=meta, requests=None, tool_summary=summary,
              warnings=_summary_warnings(obj, table, meta.streaming) + [
                  "summary only: no per-request records (profile_export.jsonl) were read; "
                  "only the statistics AIPerf printed are available"],
              definitions=list(AIPERF_DEFINITIONS))
    return run


def read_json(path: Path, text: str, sha256: str) -> list[Run]:
    obj = parse_json(text, path, "a complete profile_export_aiperf.json")
    return [read_summary_obj(obj, path, sha256)]


# --------------------------------------------------------------------------- per-request JSONL

def looks_like_record(obj: Any) -> bool:
    """An AIPerf per-request record; 0.13 leaves out ``error`` when the request succeeded."""
    return (isinstance(obj, dict) and isinstance(obj.get("metrics"), dict) and isinstance(obj.get("metadata"), dict)
            and ("error" in obj or "request_start_ns" in obj["metadata"] or "benchmark_phase" in obj["metadata"]))


def _metric_s(metrics: dict, name: str, path: Path, where: str) -> float | None:
    m = metrics.get(name)
    if m is None:
        for old, new in _ALIASES.items():
            if new == name and old in metrics:
                m = metrics[old]
    if m is None:
        return None
    if not isinstance(m, dict) or "value" not in m:
        raise CasegenError(f"metric '{name}' is {m!r}", file=path, where=where,
                           expected="an object {\"value\": …, \"unit\": …}")
    v = to_num(m["value"], path, f"{where}, metric {name}")
    if v is None:
        return None
    return v * unit_factor_s(m.get("unit"), path, f"{where}, metric {name}")


def _metric_count(metrics: dict, name: str, path: Path, where: str) -> float | None:
    m = metrics.get(name)
    if m is None:
        return None
    if not isinstance(m, dict) or "value" not in m:
        raise CasegenError(f"metric '{name}' is {m!r}", file=path, where=where,
                           expected="an object {\"value\": …, \"unit\": \"tokens\"}")
    return to_num(m["value"], path, f"{where}, metric {name}")


def parse_jsonl(text: str, path: Path) -> list[tuple[int, dict]]:
    rows = []
    expected = "one AIPerf record per line: {\"metadata\", \"metrics\", \"error\"}"
    for lineno, obj in parse_json_lines(text, path, expected):
        if not looks_like_record(obj):
            raise CasegenError("line is not an AIPerf per-request record", file=path, where=f"line {lineno}",
                               expected="an object with 'metadata', 'metrics' (object) and 'error'")
        rows.append((lineno, obj))
    if not rows:
        raise CasegenError("no records", file=path, expected="one AIPerf record per line")
    return rows


def requests_from_records(rows: list[tuple[int, dict]], path: Path):
    """Per-request frame (seconds) plus (duration_s, warnings, streaming)."""
    warnings: list[str] = []
    kept = []
    warmup = 0
    for lineno, obj in rows:
        md = sub_object(obj, "metadata")
        phase = md.get("benchmark_phase", md.get("credit_phase"))
        if isinstance(phase, str) and phase.lower() == "warmup":
            warmup += 1
            continue
        kept.append((lineno, obj))
    if warmup:
        warnings.append(f"{warmup} warm-up record(s) left out (benchmark phase 'warmup')")
    if not kept:
        raise CasegenError("every record is a warm-up record", file=path, expected="profiling records")
    n = len(kept)
    start_ns: list[int | None] = []
    ttft = np.full(n, np.nan)
    e2e = np.full(n, np.nan)
    isl = np.full(n, np.nan)
    osl = np.full(n, np.nan)
    usage_in = np.full(n, np.nan)  # the server's usage, where the response carried it
    usage_out = np.full(n, np.nan)
    cached = np.full(n, np.nan)  # prompt tokens the server served from its prefix cache (usage), where recorded
    ok = np.ones(n, dtype=bool)
    errors: list[str] = []
    gaps: list[Any] = []
    lines = [ln for ln, _ in kept]
    any_icl = False
    any_ttft = False
    for i, (lineno, obj) in enumerate(kept):
        where = f"line {lineno}"
        md = sub_object(obj, "metadata")
        metrics = obj["metrics"]
        err = obj.get("error")
        if err or md.get("was_cancelled") is True:
            ok[i] = False
            if isinstance(err, dict):
                errors.append(f"{err.get('type') or 'error'} ({err.get('code')}): {err.get('message') or ''}".strip())
            elif err:
                errors.append(str(err))
            else:
                errors.append("request cancelled")
        else:
            errors.append("")
        ts = md.get("request_start_ns", md.get("timestamp_ns"))
        if ts is not None and (isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts)):
            raise CasegenError(f"request start timestamp is {ts!r}", file=path, where=f"{where}, metadata",
                               expected="an integer nanosecond timestamp")
        start_ns.append(int(ts) if ts is not None else None)
        t = _metric_s(metrics, "time_to_first_token", path, where)
        if t is not None:
            any_ttft = True
            ttft[i] = t
        lat = _metric_s(metrics, "request_latency", path, where)
        if lat is not None:
            e2e[i] = lat
        v = _metric_count(metrics, "input_sequence_length", path, where)
        if v is None:
            v = _metric_count(metrics, "error_isl", path, where)
        isl[i] = np.nan if v is None else v
        o = _metric_count(metrics, "output_sequence_length", path, where)
        reasoning = _metric_count(metrics, "reasoning_token_count", path, where)
        if reasoning and REASONING_WARNING not in warnings:
            warnings.append(REASONING_WARNING)
        if o is None:
            a = _metric_count(metrics, "output_token_count", path, where)
            if a is not None or reasoning is not None:
                o = (a or 0.0) + (reasoning or 0.0)
        osl[i] = np.nan if o is None else o
        u_in = _metric_count(metrics, "usage_prompt_tokens", path, where)
        u_out = _metric_count(metrics, "usage_completion_tokens", path, where)
        usage_in[i] = np.nan if u_in is None else u_in
        usage_out[i] = np.nan if u_out is None else u_out
        # AIPerf 0.13: usage.prompt_tokens_details.cached_tokens (OpenAI/vLLM) as 'usage_prompt_cache_read_tokens'
        c = _metric_count(metrics, "usage_prompt_cache_read_tokens", path, where)
        cached[i] = np.nan if c is None else c
        icl = metrics.get("inter_chunk_latency")
        if icl is None:
            gaps.append(None)
        else:
            if not isinstance(icl, dict) or not isinstance(icl.get("value"), (list, int, float)) \
                    or isinstance(icl.get("value"), bool):
                raise CasegenError("metric 'inter_chunk_latency' is malformed", file=path, where=where,
                                   expected="{\"value\": [gap, …], \"unit\": \"ms\"}")
            vals = icl["value"] if isinstance(icl["value"], list) else [icl["value"]]
            try:
                g = np.asarray(vals, dtype=float)
            except (TypeError, ValueError):
                raise CasegenError("metric 'inter_chunk_latency' holds a value that is not a number",
                                   file=path, where=where, expected="a list of numbers") from None
            if g.ndim != 1 or np.any(~np.isfinite(g) | (g < 0)):
                raise CasegenError("metric 'inter_chunk_latency' holds a negative or non-finite gap",
                                   file=path, where=where, expected="gaps ≥ 0")
            gaps.append(g * unit_factor_s(icl.get("unit"), path, f"{where}, metric inter_chunk_latency"))
            any_icl = True
        if ok[i] and lat is None:
            raise CasegenError("successful record has no 'request_latency'", file=path, where=where,
                               expected="metrics.request_latency {value, unit}")
    streaming = any_ttft or any_icl
    if streaming:
        # a streamed request with one response has no gaps: an empty list, not "unknown"
        gaps = [g if g is not None else (np.array([], dtype=float) if ok[i] else None) for i, g in enumerate(gaps)]
    starts = None
    duration = None
    known_ns = [s for s in start_ns if s is not None]
    if len(known_ns) == len(start_ns):
        s0 = min(known_ns)
        starts = np.array([(s - s0) / 1e9 for s in known_ns], dtype=float)
        ends = starts + np.nan_to_num(e2e, nan=0.0)
        duration = float(np.max(ends) - np.min(starts)) or None
    elif known_ns:
        warnings.append("some records have no request start timestamp; send times left out")
    # the server's token counts when every successful record has them (one source per run, never a mix)
    server_tokens = bool(ok.any()) and bool(np.isfinite(usage_in[ok]).all() and np.isfinite(usage_out[ok]).all())
    if server_tokens:
        differ = int(np.sum(ok & ((usage_out != osl) | (usage_in != isl))))
        isl = np.where(ok, usage_in, isl)
        osl = np.where(ok, usage_out, osl)
        if differ:
            warnings.append(f"{differ} of {int(ok.sum())} successful records: the server's token usage differs "
                            "from AIPerf's client count; casegen uses the server's")
    else:  # cached tokens are the server's: kept only beside the server's prompt counts (one source)
        cached[:] = np.nan
    df = make_requests_frame(ttft_s=ttft, e2e_s=e2e, input_tokens=isl, output_tokens=osl, success=ok,
                             error=errors, start_s=starts, chunk_gaps_s=gaps, cached_tokens=cached)
    check_requests(df, path, lambda i: f"line {lines[i]}")
    df.attrs["token_source"] = "server" if server_tokens else "client"
    df.attrs["token_counts_differ"] = differ if server_tokens else 0
    return df, duration, warnings, streaming


def _sibling_summary(path: Path) -> tuple[Path, Any] | None:
    cands = [path.parent / "profile_export_aiperf.json"] + sorted(path.parent.glob("*_aiperf.json"))
    for c in cands:
        if c.is_file():
            try:
                obj = json.loads(read_text(c))  # regular files only, within the size budget
            except (CasegenError, ValueError, RecursionError):
                continue
            if looks_like_summary(obj):
                return c, obj
    return None


#: server-side queue-time histograms AIPerf may scrape from the server's Prometheus endpoint (seconds)
SERVER_QUEUE_METRICS = ("vllm:request_queue_time_seconds",)


def server_queue(path: Path) -> tuple[dict[str, float], str] | None:
    """The server's own queue wait from ``server_metrics_export.json`` beside the records (AIPerf scrapes the
    server's /metrics during the profiling phase): ({"mean": ms, "count": n}, source text), or None when
    the file or the metric is absent. A malformed file is an error naming it."""
    sm = path.parent / "server_metrics_export.json"
    if not sm.is_file():
        return None
    obj = parse_json(read_text(sm), sm, "AIPerf's server_metrics_export.json")
    metrics = obj.get("metrics") if isinstance(obj, dict) else None
    if not isinstance(metrics, dict):
        raise CasegenError("has no 'metrics' object", file=sm, where="top level",
                           expected="AIPerf's server_metrics_export.json: {\"metrics\": {name: {series: [...]}}}")
    for name in SERVER_QUEUE_METRICS:
        m = metrics.get(name)
        if not isinstance(m, dict):
            continue
        count = total = 0.0
        for j, series in enumerate(m.get("series") or []):
            stats = series.get("stats") if isinstance(series, dict) else None
            if not isinstance(stats, dict):
                continue
            where = f"metrics.{name}.series[{j}].stats"
            c = to_num(stats.get("count"), sm, f"{where}.count")
            t = to_num(stats.get("sum"), sm, f"{where}.sum")
            if c is None or t is None:
                continue
            if c < 0 or t < 0:
                raise CasegenError(f"negative histogram count or sum ({c:g}, {t:g})", file=sm, where=where,
                                   expected="the increase of the server's histogram over the profiling phase (≥ 0)")
            count, total = count + c, total + t
        if count > 0:
            return ({"mean": total / count * 1e3, "count": count},
                    f"the server's {name}, scraped by AIPerf into {sm.name}")
    return None


def read_jsonl(path: Path, text: str, sha256: str, *, attach_summary: bool = True, index: int = 0) -> list[Run]:
    rows = parse_jsonl(text, path)
    df, duration, warnings, streaming = requests_from_records(rows, path)
    sib = _sibling_summary(path) if attach_summary else None
    if sib is not None:
        spath, sobj = sib
        table, layout = _metric_table(sobj, spath)
        meta = meta_from_config(sobj, path, sha256, FMT_JSONL, index)
        summary, tool_duration = summary_from_table(table, layout, spath, streaming=meta.streaming)
        meta.duration_s = tool_duration if tool_duration else duration
        meta.extra["summary_file"] = spath.name
        meta.extra["summary_layout"] = layout
        warnings = _summary_warnings(sobj, table, meta.streaming) + warnings
        if meta.streaming is None:
            meta.streaming = streaming
    else:
        summary = {}
        meta = RunMeta(tool=TOOL, format=FMT_JSONL, source=str(path), sha256=sha256, streaming=streaming,
                       duration_s=duration, index=index)
        warnings = list(AIPERF_WARNINGS) + warnings + [
            "no profile_export_aiperf.json next to the records: model, load settings and AIPerf's own "
            "figures are unknown (no parity check)"]
    if meta.num_prompts is None:
        meta.num_prompts = int(len(df))
    queue = server_queue(path)
    if queue is not None:  # the server's own queue wait: the teardown uses it instead of estimating (teardown.py)
        summary = {**summary, "server_queue": queue[0]}
        meta.extra["server_queue_source"] = queue[1]
    causes = dict(AIPERF_PARITY_CAUSES)
    window = _phase_window_s(sobj) if sib is not None else None
    if window is not None and meta.duration_s:
        rate = meta.request_rate is not None and math.isfinite(meta.request_rate)
        causes["throughput"] = (
            f"duration window: AIPerf divides by its profiling phase (start_time → end_time, {window:.3f} s"
            + ("; under a request-rate schedule it includes the wait before the first request" if rate else "")
            + f"), casegen by first request sent → last response ({meta.duration_s:.3f} s)")
    if meta.streaming is False:
        df["ttft_s"] = np.nan
    n_fail = int((~df["success"]).sum())
    if n_fail:
        kinds = Counter(str(e).split(":")[0] for e in df["error"][~df["success"]]).most_common()
        warnings.append(f"{n_fail} of {len(df)} requests failed or were cancelled ("
                        + ", ".join(f"{c} × {k}" for k, c in kinds) + "); counted as failures")
    definitions = list(AIPERF_DEFINITIONS)
    meta.token_source = df.attrs.pop("token_source", None)
    token_counts_differ = df.attrs.pop("token_counts_differ", 0)
    if meta.token_source == "server":
        warnings = [w for w in warnings if w != CLIENT_TOKENS_WARNING]
        definitions = [d for d in definitions if "'output_sequence_length'" not in d] + [SERVER_TOKENS_DEFINITION]
        if token_counts_differ:
            tokens = ("token counts: casegen uses the server's usage_completion_tokens, AIPerf its client-side "
                      "output_sequence_length")
            causes["throughput"] = f"{causes['throughput']}; {tokens}"
            causes["tpot"] = tokens
    return [Run(meta=meta, requests=df, tool_summary=summary, warnings=warnings,
                definitions=definitions, tool_percentile_method="linear", parity_causes=causes)]


def _phase_window_s(obj: Any) -> float | None:
    """Seconds between the summary's ISO ``start_time`` and ``end_time`` (AIPerf ≥ 0.13), or None."""
    from datetime import datetime

    if not isinstance(obj, dict) or not isinstance(obj.get("start_time"), str) or not isinstance(obj.get("end_time"), str):
        return None
    try:
        span = (datetime.fromisoformat(obj["end_time"]) - datetime.fromisoformat(obj["start_time"])).total_seconds()
    except ValueError:
        return None
    return span if span > 0 else None


# --------------------------------------------------------------------------- CSV

_CSV_LATENCY = {
    "time to first token": "ttft",
    "inter token latency": "tpot",
    "inter chunk latency": "itl",
    "request latency": "e2e",
}
_CSV_STATS = {"avg": "mean", "p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "std": "std",
              "min": "min", "max": "max"}


def split_metric_name(name: str) -> tuple[str, str | None]:
    m = re.fullmatch(r"\s*(.*?)\s*(?:\(([^()]*)\))?\s*", name)
    assert m is not None
    return m.group(1).strip().lower(), (m.group(2).strip() if m.group(2) else None)


def csv_number(cell: str, path: Path, where: str) -> float | None:
    """A CSV cell: thousands separators and N/A allowed, then the one number policy of
    :func:`casegen.runs.fields.number` (finite; empty and NaN are missing)."""
    s = cell.strip().replace(",", "")
    if s.upper() in ("N/A", "NA", "NONE", "NULL"):
        return None
    return number(s, path, where=where, expected="a number (thousands separators allowed) or N/A")


def parse_two_table_csv(text: str, path: Path) -> tuple[dict[str, tuple[str | None, dict[str, float | None]]],
                                                         dict[str, tuple[str | None, float | None]]]:
    """Both tables of an AIPerf / GenAI-Perf summary CSV: stats rows and Metric,Value rows.

    Keys are lower-cased metric names without the unit; values carry the unit.
    """
    stats: dict[str, tuple[str | None, dict[str, float | None]]] = {}
    values: dict[str, tuple[str | None, float | None]] = {}
    header: list[str] | None = None
    rows = list(csv.reader(io.StringIO(text)))
    for lineno, row in enumerate(rows, start=1):
        if not row or all(not c.strip() for c in row):
            header = None
            continue
        if row[0].strip() == "Metric":
            header = [c.strip().lower() for c in row]
            continue
        if header == ["(other table)"]:
            continue
        if header is None and "Metric" in (c.strip() for c in row[1:]):
            header = ["(other table)"]  # e.g. AIPerf 0.13's GPU telemetry table: not read
            continue
        if header is None:
            raise CasegenError("row outside a table", file=path, where=f"line {lineno}",
                               expected="a 'Metric,…' header line before the rows")
        if len(row) != len(header):
            raise CasegenError(f"row has {len(row)} cells, the header has {len(header)}", file=path,
                               where=f"line {lineno}", expected="one cell per header column")
        name, unit = split_metric_name(row[0])
        if header[1:] == ["value"]:
            values[name] = (unit, csv_number(row[1], path, f"line {lineno}"))
        else:
            stats[name] = (unit, {h: csv_number(c, path, f"line {lineno}, column {h}")
                                  for h, c in zip(header[1:], row[1:])})
    return stats, values


def _ms_factor(unit: str | None, path: Path, where: str) -> float:
    return unit_factor_s(unit or "ms", path, where) * 1e3


def looks_like_csv(path: Path, text: str) -> bool:
    head = text.lstrip()[:200]
    if not head.startswith("Metric,avg,"):
        return False
    if "genai_perf" in path.name.lower():
        return False
    if "aiperf" in path.name.lower():
        return True
    return ("Benchmark Duration" in text or "Request Throughput (requests/sec)" in text
            or "Error Request Count" in text)


def read_csv(path: Path, text: str, sha256: str) -> list[Run]:
    if not text.lstrip().startswith("Metric,"):
        raise CasegenError("not an AIPerf summary CSV", file=path, where="line 1",
                           expected="a header 'Metric,avg,min,max,…'")
    stats, values = parse_two_table_csv(text, path)
    if not stats and not values:
        raise CasegenError("no metric rows", file=path, expected="AIPerf summary CSV tables")
    summary: dict[str, dict[str, float]] = {}
    for name, ckey in _CSV_LATENCY.items():
        if name in stats:
            unit, row = stats[name]
            f = _ms_factor(unit, path, f"row {name}")
            d = {_CSV_STATS[k]: v * f for k, v in row.items() if k in _CSV_STATS and v is not None}
            if d:
                summary[ckey] = d

    def val(name: str) -> float | None:
        return values[name][1] if name in values else None

    tp = {k: v for k, v in (("requests_per_s", val("request throughput")),
                            ("output_tokens_per_s", val("output token throughput"))) if v is not None}
    if tp:
        summary["throughput"] = tp
    ok, failed = val("request count"), val("error request count")
    if ok is not None:
        failed = failed or 0.0
        summary["requests"] = {"succeeded": ok, "failed": failed, "total": ok + failed}
    tok = {k: v for k, v in (("input_total", val("total input sequence length")),
                             ("output_total", val("total output sequence length"))) if v is not None}
    if tok:
        summary["tokens"] = tok
    duration = val("benchmark duration")
    if duration is not None and "benchmark duration" in values:
        duration *= unit_factor_s(values["benchmark duration"][0] or "sec", path, "row Benchmark Duration")
    meta = RunMeta(tool=TOOL, format=FMT_CSV, source=str(path), sha256=sha256, duration_s=duration,
                   streaming=True if "ttft" in summary else None)
    if "requests" in summary:
        meta.num_prompts = int(summary["requests"]["total"])
    warnings = list(AIPERF_WARNINGS) + [
        "summary only: AIPerf's CSV rounds every figure to 2 decimals and has no model or load settings; "
        "prefer profile_export_aiperf.json or profile_export.jsonl",
    ]
    return [Run(meta=meta, requests=None, tool_summary=summary, warnings=warnings,
                definitions=list(AIPERF_DEFINITIONS))]


# --------------------------------------------------------------------------- sniffing

def sniff_jsonl(path: Path, text: str) -> bool:
    head = text.lstrip()[:4000]
    if not head.startswith("{") or '"metrics"' not in head or '"metadata"' not in head:
        return False
    return looks_like_record(first_line_json(text))


def sniff_json(path: Path, text: str) -> bool:
    head = text.lstrip()
    if not head.startswith("{"):
        return False
    if not any(m in text for m in ('"records"', '"aiperf_version"', '"schema_version"', '"was_cancelled"',
                                   '"benchmark_duration"', '"error_summary"')):
        return False
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        # truncated file: claim it only if the name / the opening says AIPerf
        return "aiperf" in path.name.lower() and ('"records"' in head[:200] or '"request_throughput"' in head[:200])
    return looks_like_summary(obj)


# --------------------------------------------------------------------------- folders

_SKIP_DIRS = {"sweep_aggregate", "aggregate", "profile_runs", "plots", "raw"}


def _has_aiperf_files(d: Path) -> bool:
    return (d / "profile_export.jsonl").is_file() or (d / "profile_export_aiperf.json").is_file() \
        or any(d.glob("*_aiperf.json")) or any(d.glob("*_aiperf.csv"))


def _point_dirs(d: Path) -> list[Path]:
    return [s for s, _ in point_dirs(d, _has_aiperf_files, skip=_SKIP_DIRS)]


def _repeat_dirs(d: Path) -> list[Path]:
    runs = d / "profile_runs"
    return sorted(s for s in runs.iterdir() if s.is_dir() and _has_aiperf_files(s)) if runs.is_dir() else []


def sniff_dir(path: Path) -> bool:
    try:
        return _has_aiperf_files(path) or bool(_point_dirs(path)) or bool(_repeat_dirs(path))
    except OSError:
        return False


def _read_point(d: Path, index: int) -> Run:
    jsonl = d / "profile_export.jsonl"
    if jsonl.is_file():
        run = read_jsonl(jsonl, read_text(jsonl), sha256_file(jsonl), index=index)[0]
        return run
    js = d / "profile_export_aiperf.json"
    if not js.is_file():
        js = next(iter(sorted(d.glob("*_aiperf.json"))), js)
    if js.is_file():
        return read_json(js, read_text(js), sha256_file(js))[0]
    csvf = next(iter(sorted(d.glob("*_aiperf.csv"))))
    return read_csv(csvf, read_text(csvf), sha256_file(csvf))[0]


def read_dir(path: Path) -> list[Run]:
    if _has_aiperf_files(path):
        run = _read_point(path, 0)
        point = parse_sweep_dir_name(path.name)
        for k, v in point.items():
            run.meta.extra.setdefault(k, v)
        return [run]
    points = _point_dirs(path)
    others = [d for d in points if not parse_sweep_dir_name(d.name)]
    repeats = _repeat_dirs(path)
    if repeats and not points:
        listing = "\n".join(f"  - {d.relative_to(path)}" for d in repeats)
        agg = " or aggregate/ (AIPerf's means over the runs, summary only)" if (path / "aggregate").is_dir() else ""
        raise CasegenError(
            f"this AIPerf folder holds {len(repeats)} repeated runs of one configuration:\n{listing}",
            file=path, hint=f"point case.yaml at one of them{agg}, or list them all as repetitions of the side "
                            "(runs: [...] in case.yaml pools them)")
    if others:
        listing = "\n".join(f"  - {d.name}" for d in points)
        raise CasegenError(
            f"this folder holds {len(points)} AIPerf runs and {len(others)} of their folder names are not load "
            f"points ({{param}}_{{value}}, as an AIPerf sweep writes them), so they are not one sweep:\n{listing}",
            file=path, hint="point case.yaml at one of these folders, or at a sweep folder")
    runs = []
    for index, d in enumerate(points):
        run = _read_point(d, index)
        run.meta.index = index
        run.meta.label = run.meta.label or d.name
        point = parse_sweep_dir_name(d.name)
        for k, v in point.items():
            run.meta.extra[k] = v
        if "concurrency" in point and run.meta.max_concurrency is None:
            run.meta.max_concurrency = int(point["concurrency"])
        if "request_rate" in point and run.meta.request_rate is None:
            run.meta.request_rate = float(point["request_rate"])
        runs.append(run)
    if not runs:
        raise CasegenError("no AIPerf output in this folder", file=path,
                           expected="profile_export.jsonl / profile_export_aiperf.json, or {param}_{value}/ sub-folders")
    return runs


# --------------------------------------------------------------------------- aggregates (repeats, sweeps)

FMT_AGGREGATE = "aiperf-aggregate"
_AGG_STATS = ("avg", "p50", "p90", "p95", "p99", "std", "min", "max")


def looks_like_aggregate(obj: Any) -> bool:
    """``profile_export_aiperf_aggregate.json`` (confidence over repeated runs) or
    ``profile_export_aiperf_sweep.json`` (one entry per sweep combination)."""
    if not isinstance(obj, dict):
        return False
    if obj.get("aggregation_type") == "sweep" and isinstance(obj.get("per_combination_metrics"), list):
        return True
    md = obj.get("metadata")
    return isinstance(md, dict) and md.get("aggregation_type") == "confidence" and isinstance(obj.get("metrics"), dict)


def _agg_entry(entry: Any, path: Path, where: str) -> tuple[str | None, float | None]:
    if not isinstance(entry, dict):
        raise CasegenError(f"is {type(entry).__name__}", file=path, where=where, expected="{mean, std, …, unit}")
    v = number(entry.get("mean"), path, where=where, key="mean")
    unit = entry.get("unit")
    return (str(unit) if unit is not None else None), v


def _aggregate_run(metrics: dict, path: Path, sha256: str, index: int, load: dict[str, Any], *,
                   flat_stats: bool, trials: int | None, label: str) -> Run:
    """One summary-only run from aggregate statistics: the mean over trials of each statistic."""
    table: dict[str, dict] = {}
    for key, entry in metrics.items():
        if flat_stats:  # confidence layout: 'time_to_first_token_p50': {mean, …}
            name, _, stat = str(key).rpartition("_")
            if stat not in _AGG_STATS or not name:
                continue
        else:  # sweep layout: 'time_to_first_token': {mean (of the trials' avg), …}
            name, stat = str(key), "avg"
        unit, v = _agg_entry(entry, path, f"key metrics.{key}")
        if v is None:
            continue
        row = table.setdefault(_ALIASES.get(name, name), {})
        row[stat] = v
        if unit is not None:
            row["unit"] = unit
    streaming = "time_to_first_token" in table or None
    summary, duration = summary_from_table(table, "flat", path, streaming=streaming)
    meta = RunMeta(tool=TOOL, format=FMT_AGGREGATE, source=str(path), sha256=sha256, index=index, label=label,
                   duration_s=duration, streaming=streaming)
    for k, v in load.items():
        short = str(k).rsplit(".", 1)[-1]
        if is_scalar(v):
            meta.extra[short] = v
        if short == "concurrency" and isinstance(v, (int, float)):
            meta.max_concurrency = int(v)
        elif short in ("request_rate", "rate") and isinstance(v, (int, float)):
            meta.request_rate = float(v)
    if trials is not None:
        meta.extra["trials"] = trials
    what = ("means over the repeated runs of each statistic" if flat_stats
            else "means over the trials of each metric's average (no percentiles)")
    warnings = [f"summary only: AIPerf aggregate file ({what}); read the per-run profile_export.jsonl files for "
                "per-request data"]
    return Run(meta=meta, requests=None, tool_summary=summary, warnings=warnings,
               definitions=list(AIPERF_DEFINITIONS))


def read_aggregate(path: Path, text: str, sha256: str) -> list[Run]:
    obj = parse_json(text, path, "an AIPerf aggregate JSON")
    if not looks_like_aggregate(obj):
        raise CasegenError("not an AIPerf aggregate file", file=path,
                           expected="profile_export_aiperf_aggregate.json or profile_export_aiperf_sweep.json")
    if obj.get("aggregation_type") == "sweep":
        runs = []
        trials = obj.get("metadata", {}).get("num_trials_per_value") if isinstance(obj.get("metadata"), dict) else None
        for i, combo in enumerate(obj["per_combination_metrics"]):
            where = f"key per_combination_metrics[{i}]"
            if not isinstance(combo, dict) or not isinstance(combo.get("metrics"), dict):
                raise CasegenError("is not an object with 'metrics'", file=path, where=where,
                                   expected="{parameters, metrics}")
            params = sub_object(combo, "parameters")
            label = ", ".join(f"{k}={v}" for k, v in params.items()) or f"combination {i + 1}"
            runs.append(_aggregate_run(combo["metrics"], path, sha256, i, params, flat_stats=False,
                                       trials=trials if isinstance(trials, int) else None, label=label))
        return runs
    md = obj["metadata"]
    load = md.get("variation_values") if isinstance(md.get("variation_values"), dict) else {}
    n = md.get("num_successful_runs")
    return [_aggregate_run(obj["metrics"], path, sha256, 0, load, flat_stats=True,
                           trials=n if isinstance(n, int) else None,
                           label=str(md.get("variation_label") or path.parent.name))]


def sniff_aggregate(path: Path, text: str) -> bool:
    head = text.lstrip()[:3000]
    if not head.startswith("{") or "aggregation_type" not in head:
        return False
    try:
        return looks_like_aggregate(json.loads(text))
    except json.JSONDecodeError:
        return False


def _aggregate_files(d: Path) -> list[Path]:
    return sorted(d.glob("*_aiperf_aggregate.json")) + sorted(d.glob("*_aiperf_sweep.json"))


def sniff_aggregate_dir(path: Path) -> bool:
    try:
        return bool(_aggregate_files(path)) or (
            path.name == "aggregate" and any(s.is_dir() and _aggregate_files(s) for s in path.iterdir()))
    except OSError:
        return False


def read_aggregate_dir(path: Path) -> list[Run]:
    files = _aggregate_files(path)
    if not files:
        files = [f for s, _ in point_dirs(path, lambda s: bool(_aggregate_files(s))) for f in _aggregate_files(s)[:1]]
    runs: list[Run] = []
    for f in files:
        for run in read_aggregate(f, read_text(f), sha256_file(f)):
            run.meta.index = len(runs)
            runs.append(run)
    return runs


def sniff_aggregate_csv(path: Path, text: str) -> bool:
    return path.name.endswith(("_aiperf_aggregate.csv", "_aiperf_sweep.csv"))


def read_aggregate_csv(path: Path, text: str, sha256: str) -> list[Run]:
    """The aggregate CSVs hold the same figures as the JSON written beside them: read that."""
    twin = path.with_suffix(".json")
    if not twin.is_file():
        raise CasegenError("AIPerf aggregate CSV without its JSON twin", file=path,
                           expected=f"{twin.name} in the same folder (casegen reads the aggregate JSON, which "
                                    "holds the same figures with units)")
    return read_aggregate(twin, read_text(twin), sha256_file(twin))


FORMATS = [
    Format(name="aiperf-aggregate-csv", description="AIPerf aggregate CSV (read through the JSON beside it)",
           sniff=sniff_aggregate_csv, read=read_aggregate_csv, priority=20),
    Format(name=FMT_AGGREGATE,
           description="AIPerf aggregate statistics (aggregate/…/profile_export_aiperf_aggregate.json, "
                       "sweep_aggregate/profile_export_aiperf_sweep.json), summary only",
           sniff=sniff_aggregate, read=read_aggregate, sniff_dir=sniff_aggregate_dir, read_dir=read_aggregate_dir,
           priority=21),
    Format(name=FMT_JSONL, description="AIPerf per-request records (profile_export.jsonl)",
           sniff=sniff_jsonl, read=read_jsonl, sniff_dir=sniff_dir, read_dir=read_dir, priority=22),
    Format(name=FMT_JSON, description="AIPerf summary (profile_export_aiperf.json, 0.1.x 'records' or flat layout)",
           sniff=sniff_json, read=read_json, priority=23),
    Format(name=FMT_CSV, description="AIPerf summary CSV (profile_export_aiperf.csv)",
           sniff=looks_like_csv, read=read_csv, priority=24),
]
