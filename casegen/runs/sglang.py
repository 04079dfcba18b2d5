"""SGLang ``python -m sglang.bench_serving`` result files (JSON Lines).

bench_serving appends one JSON object per run to its output file, so one file often
holds several runs (rates, datasets, lengths). Latency statistics are in ms; the
per-request arrays written with ``--output-details`` (``ttfts``, ``itls``) are in
seconds, at the top level or nested under ``details``. Python's ``json`` writes an
unlimited rate as the bare token ``Infinity``, which Python's ``json`` also reads.
See docs/formats/sglang.md.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from casegen.errors import CasegenError, require
from casegen.runs.fields import number
from casegen.runs.jsonio import parse_json_lines
from casegen.runs.model import Format, Run, RunMeta, check_requests, make_requests_frame
from casegen.runs.vllm import check_numbers, stat_of

FORMAT = "sglang"
EXPECTED = "one SGLang bench_serving result object per line (JSON Lines)"

#: SGLang metric infix → casegen metric.
_METRICS = {"ttft": "ttft", "tpot": "tpot", "itl": "itl", "e2e_latency": "e2e"}
DEFINITIONS = [
    "SGLang's 'ttft' (send → first chunk with non-empty text) is TTFT here.",
    "SGLang's 'tpot' = (E2E − TTFT) / (output tokens − 1), the same definition as casegen's TPOT.",
    "SGLang's 'itl' is the gap between consecutive streamed chunks, pooled over requests — casegen's "
    "inter-chunk latency (ITL), a per-chunk figure.",
    "SGLang's 'e2e_latency' is end-to-end latency (E2E) here.",
    "SGLang's 'median_*' is p50 here; its 'std_*' is NumPy's population std, like casegen's.",
    "SGLang's 'concurrency' is the achieved mean concurrency (Σ E2E / duration), kept as the extra "
    "key 'achieved_concurrency'; the run's concurrency here is the configured limit 'max_concurrency'.",
    "SGLang's throughputs divide by its measured 'duration' (whole benchmark wall time), which is the "
    "run duration here.",
    "A request_rate of Infinity means every request was sent at once (rate=inf).",
]

PEAK_DEFINITION = (
    "SGLang's 'max_output_tokens_per_s' and 'max_concurrent_requests' (0.5.x) count output tokens and "
    "requests touching each whole second since the first request; the busiest second is kept as the "
    "extra keys 'peak_output_tokens_per_s' and 'peak_concurrent_requests' (a request counts in every "
    "second it touches, so the peak can exceed max_concurrency)."
)


def looks_like(obj: Any) -> bool:
    """True for a parsed SGLang bench_serving record (vLLM files say 'e2el', not 'e2e_latency')."""
    return (
        isinstance(obj, dict)
        and ("mean_e2e_latency_ms" in obj or "median_e2e_latency_ms" in obj)
        and "completed" in obj
        and "duration" in obj
    )


def _sniff(path: Path, text: str) -> bool:
    head = text[:4096]
    if "e2e_latency_ms" not in text[:200000] or not head.lstrip().startswith("{"):
        return False
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    try:
        obj = json.loads(first)
    except json.JSONDecodeError:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            return False
    return looks_like(obj)


def parse_lines(path: Path, text: str) -> list[tuple[int, Any]]:
    """(line number, object) for every non-blank line; a whole-file object is accepted too."""
    return parse_json_lines(text, path, EXPECTED, whole_file_ok=True)


def _num(obj: dict, key: str, path: Path, where: str) -> float | None:
    return number(obj.get(key), path, where=where, key=key, allow_inf=True)


def _server(obj: dict) -> tuple[str | None, str | None, str | None, bool]:
    """(model, tokenizer, sglang version, is PD router) from server_info."""
    info = obj.get("server_info")
    if not isinstance(info, dict):
        return None, None, None, False
    pd = "prefill" in info or "decode" in info
    candidates = [info]
    for key in ("prefill", "decode", "internal_states"):
        v = info.get(key)
        if isinstance(v, list):
            candidates.extend(x for x in v if isinstance(x, dict))
        elif isinstance(v, dict):
            candidates.append(v)

    def first(*keys: str) -> str | None:
        for c in candidates:
            for k in keys:
                if isinstance(c.get(k), str) and c[k]:
                    return c[k]
        return None

    return first("served_model_name", "model_path"), first("tokenizer_path"), first("version"), pd


def _details(obj: dict) -> dict | None:
    if obj.get("ttfts") is not None:  # "ttfts": null is no per-request data, as in casegen.runs.vllm
        return obj
    d = obj.get("details")
    if isinstance(d, dict) and d.get("ttfts") is not None:
        return d
    return None


def _array(d: dict, key: str, n: int | None, path: Path, where: str) -> list | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise CasegenError(f"key '{key}' is a {type(value).__name__}", file=path, where=f"{where}, key '{key}'",
                           expected="a list with one entry per request")
    if n is not None and len(value) != n:
        raise CasegenError(f"key '{key}' has {len(value)} entries but 'ttfts' has {n}", file=path,
                           where=f"{where}, key '{key}'", expected="per-request arrays of equal length")
    return value


def _requests(d: dict, path: Path, where: str):
    ttfts = require(_array(d, "ttfts", None, path, where), "'ttfts' (_details returns only records that have it)")
    n = len(ttfts)
    if n == 0:
        raise CasegenError("'ttfts' is an empty list", file=path, where=f"{where}, key 'ttfts'",
                           expected="one entry per request (bench_serving --output-details)")
    itls = _array(d, "itls", n, path, where)
    input_lens = _array(d, "input_lens", n, path, where)
    output_lens = _array(d, "output_lens", n, path, where)
    errors = _array(d, "errors", n, path, where)
    latencies = _array(d, "e2e_latencies", n, path, where) or _array(d, "latencies", n, path, where)
    check_numbers({"input_lens": input_lens, "output_lens": output_lens, "e2e_latencies": latencies},
                  path, where)
    success = np.ones(n, dtype=bool)
    if errors is not None:
        success &= np.array([not e for e in errors], dtype=bool)
    if output_lens is not None:
        success &= np.array([isinstance(o, (int, float)) and o > 0 for o in output_lens], dtype=bool)
    ttft = np.full(n, np.nan)
    e2e = np.full(n, np.nan)
    gaps: list = []
    for i in range(n):
        try:
            ttft[i] = float(ttfts[i])
            g = np.asarray(itls[i] if itls is not None and itls[i] is not None else [], dtype=float)
            if g.ndim != 1:
                raise ValueError
            if latencies is not None and latencies[i] is not None:
                e2e[i] = float(latencies[i])
            else:
                e2e[i] = ttft[i] + float(g.sum())
        except (TypeError, ValueError):
            raise CasegenError(
                f"request {i + 1} has a TTFT, ITL or latency entry that is not a number", file=path,
                where=f"{where}, ttfts[{i}] / itls[{i}]",
                expected="seconds as numbers; 'itls' a list of numbers per request",
            ) from None
        if success[i] and g.size and np.any(~np.isfinite(g) | (g < 0)):
            raise CasegenError(f"request {i + 1} has a negative or non-finite inter-chunk gap", file=path,
                               where=f"{where}, itls[{i}]", expected="gaps ≥ 0 seconds")
        gaps.append(g if itls is not None else None)
    df = make_requests_frame(ttft_s=ttft, e2e_s=e2e, input_tokens=input_lens, output_tokens=output_lens,
                             success=success, error=errors, chunk_gaps_s=gaps)
    check_requests(df, path, lambda i: f"{where}, request {i + 1} (index {i} of 'ttfts')")
    return df, latencies is None


def run_from_object(obj: dict, path: Path, sha256: str, index: int, lineno: int) -> Run:
    where = f"line {lineno}"
    completed = _num(obj, "completed", path, where)
    duration = _num(obj, "duration", path, where)
    if completed is None or duration is None:
        missing = "completed" if completed is None else "duration"
        raise CasegenError(f"key '{missing}' is missing or null", file=path, where=f"{where}, key '{missing}'",
                           expected="a number (every bench_serving record has it)")
    if completed < 0 or duration < 0:
        raise CasegenError("negative 'completed' or 'duration'", file=path, where=where,
                           expected="values ≥ 0")
    rate_raw = obj.get("request_rate")
    rate = None if isinstance(rate_raw, str) and rate_raw.strip().lower() == "trace" else _num(obj, "request_rate", path, where)
    mc = _num(obj, "max_concurrency", path, where)
    model, tokenizer, version, pd = _server(obj)
    dataset = obj.get("dataset_name")
    extra: dict[str, Any] = {}
    if isinstance(dataset, str):
        extra["dataset"] = dataset
        if dataset.startswith("random"):
            for k in ("random_input_len", "random_output_len", "random_range_ratio"):
                if isinstance(obj.get(k), (int, float)) and not isinstance(obj.get(k), bool):
                    extra[k] = obj[k]
        if dataset == "sharegpt" and isinstance(obj.get("sharegpt_output_len"), (int, float)):
            extra["sharegpt_output_len"] = obj["sharegpt_output_len"]
    if isinstance(rate_raw, str) and rate is None:
        extra["request_rate_mode"] = rate_raw
    ach = _num(obj, "concurrency", path, where)
    if ach is not None and math.isfinite(ach):
        extra["achieved_concurrency"] = ach
    if isinstance(obj.get("accept_length"), (int, float)) and not isinstance(obj.get("accept_length"), bool):
        extra["accept_length"] = obj["accept_length"]
    # since 0.5.x: output tokens and requests in the busiest whole second (see PEAK_DEFINITION)
    for key, name in (("max_output_tokens_per_s", "peak_output_tokens_per_s"),
                      ("max_concurrent_requests", "peak_concurrent_requests")):
        v = _num(obj, key, path, where)
        if v is not None and math.isfinite(v):
            extra[name] = v
    if isinstance(obj.get("tag"), str):
        extra["tag"] = obj["tag"]
    if pd:
        extra["server"] = "pd-disaggregation"
    meta = RunMeta(
        tool="sglang", format=FORMAT, source=str(path), sha256=sha256, tool_version=version,
        model=model, tokenizer=tokenizer, backend=obj.get("backend") if isinstance(obj.get("backend"), str) else None,
        label=obj.get("tag") if isinstance(obj.get("tag"), str) else None,
        request_rate=rate, max_concurrency=int(mc) if mc is not None and math.isfinite(mc) else None,
        duration_s=duration, streaming=True, index=index, extra=extra,
    )

    warnings: list[str] = []
    definitions = list(DEFINITIONS)
    if "peak_output_tokens_per_s" in extra or "peak_concurrent_requests" in extra:
        definitions.append(PEAK_DEFINITION)
    summary: dict[str, dict[str, float]] = {}
    if completed > 0:
        for infix, ckey in _METRICS.items():
            stats = {}
            for key, value in obj.items():
                stat = stat_of(key, infix)
                if stat is None or value is None:
                    continue
                v = _num(obj, key, path, where)
                if v is not None and math.isfinite(v):
                    stats[stat] = v
            if stats:
                summary[ckey] = stats
        tp: dict[str, float] = {}
        for key, ckey in (("request_throughput", "requests_per_s"), ("output_throughput", "output_tokens_per_s"),
                          ("total_throughput", "total_tokens_per_s")):
            v = _num(obj, key, path, where)
            if v is not None and math.isfinite(v):
                tp[ckey] = v
        tin = _num(obj, "total_input_tokens", path, where)
        tout = _num(obj, "total_output_tokens", path, where)
        if duration > 0:
            if "requests_per_s" not in tp:
                tp["requests_per_s"] = completed / duration
                definitions.append("This SGLang record has no 'request_throughput'; casegen derives it as "
                                   "completed / duration (SGLang's own formula).")
            if "total_tokens_per_s" not in tp and tin is not None and tout is not None:
                tp["total_tokens_per_s"] = (tin + tout) / duration
                definitions.append("This SGLang record has no 'total_throughput'; casegen derives it as "
                                   "(total_input_tokens + total_output_tokens) / duration.")
        summary["throughput"] = tp
        summary["tokens"] = {k: v for k, v in (("input_total", tin), ("output_total", tout)) if v is not None}
        retok = _num(obj, "total_output_tokens_retokenized", path, where)
        if tout and retok is not None and abs(retok - tout) / tout > 0.01:
            warnings.append(
                f"total_output_tokens ({tout:g}) and total_output_tokens_retokenized ({retok:g}) differ by "
                f"{abs(retok - tout) / tout * 100:.1f}%: older bench_serving versions count the requested "
                "output length when the server reports none, so output-token figures may be off"
            )
    else:
        warnings.append("no request completed (completed = 0): SGLang's latency statistics mean 'no data' and are ignored")
    if "mean_ttft_ms" not in obj and "median_ttft_ms" in obj:
        warnings.append(
            "old bench_serving record (2024 reduced key set): only median TTFT and ITL and mean/median E2E "
            "were saved — no TTFT mean or p99, no TPOT"
        )

    requests = None
    details = _details(obj)
    requests_total = None
    if details is not None:
        requests, approx_e2e = _requests(details, path, where)
        requests_total = len(requests)
        meta.num_prompts = requests_total
        if approx_e2e:
            warnings.append("SGLang's per-request details hold no latency: E2E is rebuilt as TTFT + Σ chunk gaps, "
                            "which misses the short wait for the end of the stream after the last chunk")
    else:
        warnings.append(
            "summary only: the record has no per-request arrays (run bench_serving with --output-details to "
            "get them); percentiles other than those SGLang printed are unavailable"
        )
        warnings.append("SGLang records neither the number of prompts sent nor failed requests: only "
                        f"'completed' ({completed:g}) is known, so the error rate is unknown")
    req: dict[str, float] = {"succeeded": completed}
    if requests is not None:
        req = {"total": float(len(requests)), "succeeded": float(requests["success"].sum()),
               "failed": float((~requests["success"]).sum())}
    summary["requests"] = req
    causes: dict[str, str] = {}
    if details is not None and approx_e2e:
        cause = ("E2E end point: SGLang measures E2E to the end of the stream, but its per-request details "
                 "hold no latency, so casegen rebuilds E2E as TTFT + Σ chunk gaps, ending at the last chunk")
        causes = {"e2e": cause, "tpot": cause + " (TPOT = (E2E − TTFT) / (output tokens − 1))"}
    return Run(meta=meta, requests=requests, tool_summary=summary, warnings=warnings, definitions=definitions,
               parity_causes=causes)


def read(path: Path, text: str, sha256: str) -> list[Run]:
    objs = parse_lines(path, text)
    if not objs:
        raise CasegenError("file holds no records", file=path, expected=EXPECTED)
    runs = []
    for index, (lineno, obj) in enumerate(objs):
        if not isinstance(obj, dict):
            raise CasegenError(f"line holds a JSON {type(obj).__name__}, not an object", file=path,
                               where=f"line {lineno}", expected=EXPECTED)
        if not looks_like(obj):
            missing = [k for k in ("completed", "duration") if k not in obj]
            raise CasegenError(
                "object is not an SGLang bench_serving record"
                + (f" (no key {', '.join(repr(m) for m in missing)})" if missing else " (no 'mean_e2e_latency_ms')"),
                file=path, where=f"line {lineno}",
                expected="keys 'completed', 'duration' and 'mean_e2e_latency_ms' or 'median_e2e_latency_ms'",
            )
        runs.append(run_from_object(obj, path, sha256, index, lineno))
    return runs


FORMATS = [
    Format(
        name=FORMAT,
        description="SGLang bench_serving JSON Lines (one run per line)",
        sniff=_sniff, read=read, priority=25,
    )
]
