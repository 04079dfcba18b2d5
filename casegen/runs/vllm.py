"""vLLM ``vllm bench serve`` / ``benchmarks/benchmark_serving.py`` result files.

Handles (see docs/formats.md):

* one result object per file (``--save-result``), with or without the
  per-request arrays written by ``--save-detailed``;
* JSON Lines content in a ``.json`` file (``--append-result``): one run per line;
* the all-failed run whose latency statistics are ``0.0`` ("no data").

Per-request reconstruction (``--save-detailed``): ``ttfts`` (s) and ``itls``
(list of per-chunk gaps, s) are given; E2E = TTFT + Σ gaps (vLLM's own
``latency`` is the time of the last chunk, so this is exact), unless the file
carries a per-request ``latencies`` array, which then wins.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from casegen.errors import CasegenError, require
from casegen.runs.fields import number
from casegen.runs.jsonio import parse_json_lines, take_sniffed
from casegen.runs.model import Run, RunMeta, check_requests, make_requests_frame

FORMAT = "vllm"

#: vLLM's metric key → casegen metric key.
_METRICS = {"ttft": "ttft", "tpot": "tpot", "itl": "itl", "e2el": "e2e"}

#: Keys vLLM writes itself (everything else at the top level is --metadata).
_KNOWN_KEYS = {
    "date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "best_of",
    "num_prompts", "request_rate", "burstiness", "max_concurrency", "ramp_up_strategy",
    "ramp_up_start_rps", "ramp_up_end_rps", "duration", "completed", "failed",
    "total_input_tokens", "total_output_tokens", "request_throughput", "request_goodput",
    "request_goodput:", "output_throughput", "total_token_throughput",
    "max_output_tokens_per_s", "max_concurrent_requests", "rtfx", "input_lens",
    "output_lens", "ttfts", "itls", "generated_texts", "errors", "start_times",
    "latencies", "queue_times", "rps_change_events", "run_number",
}


def looks_like(obj: Any) -> bool:
    """True if a parsed JSON object is a vLLM serving-benchmark result."""
    return (
        isinstance(obj, dict)
        and "request_throughput" in obj
        and "duration" in obj
        and ("completed" in obj)
        and any(k.startswith(("mean_ttft", "mean_e2el", "mean_tpot")) for k in obj)
        # SGLang's bench_serving writes the same core keys; its E2E key gives it away
        and "mean_e2e_latency_ms" not in obj and "median_e2e_latency_ms" not in obj
    )


def parse_objects(text: str, path: Path) -> list[tuple[int, Any]]:
    """Parse a whole-file JSON object, or JSON Lines (one object per line).

    Returns (line number, object) pairs. vLLM's ``--append-result`` writes a
    newline and then the next object, so a file may also start with a blank line.
    """
    sniffed, obj = take_sniffed(text)  # the format sniffer's parse of this text, when there was one
    if sniffed:
        return [(1, obj)]
    try:
        return [(1, json.loads(text))]
    except json.JSONDecodeError:
        return parse_json_lines(text, path, "one JSON object per line (vLLM --append-result)")


def _num(obj: dict, key: str, path: Path, where: str) -> float | None:
    return number(obj.get(key), path, where=where, key=key, allow_inf=True)


def _array(obj: dict, key: str, n: int | None, path: Path, where: str) -> list | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise CasegenError(
            f"key '{key}' is a {type(value).__name__}", file=path, where=where,
            expected="a list with one entry per request",
        )
    if n is not None and len(value) != n:
        raise CasegenError(
            f"key '{key}' has {len(value)} entries but 'ttfts' has {n}",
            file=path, where=where, expected="per-request arrays of equal length",
        )
    return value


def run_from_object(obj: dict, path: Path, sha256: str, index: int, lineno: int, multi: bool) -> Run:
    """Turn one vLLM result object into a :class:`Run`."""
    where = f"line {lineno}" if multi else "top level"
    completed = _num(obj, "completed", path, where)
    failed = _num(obj, "failed", path, where)
    num_prompts = _num(obj, "num_prompts", path, where)
    if failed is None and num_prompts is not None and completed is not None:
        failed = max(num_prompts - completed, 0.0)  # old files have no 'failed' key
    meta = RunMeta(
        tool="vllm",
        format=FORMAT,
        source=str(path),
        sha256=sha256,
        tool_version=None,
        model=obj.get("model_id"),
        tokenizer=obj.get("tokenizer_id"),
        backend=obj.get("backend") or obj.get("endpoint_type"),
        date=obj.get("date"),
        label=obj.get("label"),
        request_rate=_num(obj, "request_rate", path, where),
        max_concurrency=int(obj["max_concurrency"])
        if isinstance(obj.get("max_concurrency"), (int, float)) and math.isfinite(obj["max_concurrency"]) else None,
        num_prompts=int(num_prompts) if num_prompts is not None and math.isfinite(num_prompts) else None,
        duration_s=_num(obj, "duration", path, where),
        streaming=True,
        index=index,
        extra={k: v for k, v in obj.items() if k not in _KNOWN_KEYS and not _is_stat_key(k)},
    )
    if "run_number" in obj:
        meta.extra["run_number"] = obj["run_number"]

    summary: dict[str, dict[str, float]] = {}
    no_data = not completed  # all failed: vLLM prints 0.0 for every statistic
    if not no_data:
        for vkey, ckey in _METRICS.items():
            stats: dict[str, float] = {}
            for stat_key, value in obj.items():
                stat = stat_of(stat_key, vkey)
                if stat is None or not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                stats[stat] = float(value)
            if stats:
                summary[ckey] = stats
        tp = {}
        for vkey, ckey in (("request_throughput", "requests_per_s"),
                           ("output_throughput", "output_tokens_per_s"),
                           ("total_token_throughput", "total_tokens_per_s")):
            v = _num(obj, vkey, path, where)
            if v is not None:
                tp[ckey] = v
        summary["throughput"] = tp
        tokens = {}
        for vkey, ckey in (("total_input_tokens", "input_total"), ("total_output_tokens", "output_total")):
            v = _num(obj, vkey, path, where)
            if v is not None:
                tokens[ckey] = v
        summary["tokens"] = tokens
    summary["requests"] = {
        k: v for k, v in (("total", (completed or 0) + (failed or 0)),
                          ("succeeded", completed), ("failed", failed)) if v is not None
    }

    warnings: list[str] = []
    requests = None
    ttfts = obj.get("ttfts")
    if ttfts is not None:
        requests = _requests(obj, path, where)
    else:
        warnings.append(
            "summary only: the file has no per-request records, so percentiles other than those vLLM "
            "printed are unavailable"
        )
    if no_data:
        warnings.append("every request failed; vLLM's 0.0 latency statistics mean 'no data' and are ignored")
    if "request_goodput:" in obj:
        meta.extra.pop("request_goodput:", None)
    return Run(meta=meta, requests=requests, tool_summary=summary, warnings=warnings)


def _is_stat_key(key: str) -> bool:
    return any(stat_of(key, m) is not None for m in _METRICS)


def stat_of(key: str, metric: str) -> str | None:
    """'median_ttft_ms' → 'p50', 'p99_ttft_ms' → 'p99', 'p99.9_ttft_ms' → 'p99.9'.

    The '{stat}_{metric}_ms' key convention vLLM and SGLang's bench_serving share.
    """
    suffix = f"_{metric}_ms"
    if not key.endswith(suffix):
        return None
    head = key[: -len(suffix)]
    if head == "mean":
        return "mean"
    if head == "median":
        return "p50"
    if head == "std":
        return "std"
    if head.startswith("p"):
        try:
            float(head[1:])
        except ValueError:
            return None
        return head
    return None


def check_numbers(arrays: dict[str, list | None], path: Path, where: str) -> None:
    """Clear error for a per-request array entry that is neither a number nor null."""
    for key, values in arrays.items():
        for i, v in enumerate(values or []):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise CasegenError(f"request {i + 1} has a '{key}' entry that is not a number ({v!r})", file=path,
                                   where=f"{where}, {key}[{i}]", expected="a number (or null) per request")


def _requests(obj: dict, path: Path, where: str):
    ttfts = require(_array(obj, "ttfts", None, path, where), "'ttfts' (the caller reads requests only when it is there)")
    n = len(ttfts)
    if n == 0:
        raise CasegenError("'ttfts' is an empty list", file=path, where=where,
                           expected="one entry per request (vLLM --save-detailed)")
    itls = _array(obj, "itls", n, path, where)
    input_lens = _array(obj, "input_lens", n, path, where)
    output_lens = _array(obj, "output_lens", n, path, where)
    errors = _array(obj, "errors", n, path, where)
    latencies = _array(obj, "latencies", n, path, where)
    starts = _array(obj, "start_times", n, path, where)
    queue = _array(obj, "queue_times", n, path, where)  # the client's wait for a concurrency slot (--max-concurrency)
    check_numbers({"input_lens": input_lens, "output_lens": output_lens, "start_times": starts,
                   "latencies": latencies, "queue_times": queue}, path, where)

    success = np.ones(n, dtype=bool)
    if errors is not None:
        success &= np.array([not e for e in errors], dtype=bool)
    if output_lens is not None:
        # vLLM marks failures with output_len 0; a success always has >= 1 token
        success &= np.array([(o or 0) > 0 for o in output_lens], dtype=bool)

    ttft = np.empty(n)
    e2e = np.empty(n)
    gaps: list = []
    for i in range(n):
        try:
            ttft[i] = float(ttfts[i])
            g = np.asarray(itls[i] if itls is not None else [], dtype=float)
            if g.ndim != 1:
                raise ValueError
        except (TypeError, ValueError):
            raise CasegenError(
                f"request {i + 1} has a TTFT or ITL entry that is not a number",
                file=path, where=f"{where}, ttfts[{i}] / itls[{i}]",
                expected="seconds as numbers; itls a list of numbers per request",
            ) from None
        gaps.append(g if itls is not None else None)
        if latencies is not None and latencies[i] is not None:
            e2e[i] = float(latencies[i])
        else:
            e2e[i] = ttft[i] + float(g.sum())
        if success[i] and itls is not None and np.any(~np.isfinite(g) | (g < 0)):
            raise CasegenError(
                f"request {i + 1} has a negative or non-finite inter-token gap",
                file=path, where=f"{where}, itls[{i}]", expected="gaps ≥ 0 seconds",
            )
    df = make_requests_frame(
        ttft_s=ttft,
        e2e_s=e2e,
        input_tokens=input_lens,
        output_tokens=output_lens,
        success=success,
        error=errors,
        start_s=starts,
        chunk_gaps_s=gaps,
        client_wait_s=None if queue is None else [np.nan if q is None else q for q in queue],
    )
    check_requests(df, path, lambda i: f"{where}, request {i + 1} (index {i} of 'ttfts')")
    return df


def read(path: Path, text: str, sha256: str) -> list[Run]:
    """Read every run in a vLLM result file."""
    objs = parse_objects(text, path)
    multi = len(objs) > 1
    runs = []
    for index, (lineno, obj) in enumerate(objs):
        if not looks_like(obj):
            raise CasegenError(
                "object is not a vLLM serving-benchmark result",
                file=path, where=f"line {lineno}" if multi else "top level",
                expected="keys 'duration', 'completed', 'request_throughput' and 'mean_ttft_ms'",
            )
        runs.append(run_from_object(obj, path, sha256, index, lineno, multi))
    return runs
