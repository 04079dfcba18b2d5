"""Ray LLMPerf (``token_benchmark_ray.py``) result files.

LLMPerf writes one run as two files in its results folder (docs/formats/llmperf.md):

* ``{name}_individual_responses.json`` — a JSON list, one dict per request, times in
  **seconds** (``ttft_s``, ``end_to_end_latency_s``), token counts, ``error_code``;
* ``{name}_summary.json`` — a flat object of ``results_*`` statistics (seconds), some
  numbers written as strings, ``results_error_code_frequency`` as a Python dict repr.

Reading the individual-responses file gives a per-request run; its sibling summary (same
``{name}``), when present, is attached as the tool summary and supplies the run duration.
Reading the summary file alone gives a summary-only run. Reading a folder gives one run
per pair (or per sub-folder holding a pair, e.g. one folder per concurrency).
"""

from __future__ import annotations

import ast
import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from casegen.errors import CasegenError
from casegen.runs.fields import number, read_text
from casegen.runs.jsonio import parse_json
from casegen.runs.model import Format, Run, RunMeta, check_requests, make_requests_frame, sha256_file

FORMAT = "llmperf"
SUMMARY_SUFFIX = "summary.json"
INDIVIDUAL_SUFFIX = "individual_responses.json"
LLAMA_TOKENIZER = "hf-internal-testing/llama-tokenizer"

#: LLMPerf metric (seconds) → casegen metric (ms). inter_token_latency_s is deliberately absent.
_LATENCY = {"ttft_s": "ttft", "end_to_end_latency_s": "e2e"}
_STATS = {"mean": "mean", "quantiles_p50": "p50", "quantiles_p90": "p90", "quantiles_p95": "p95",
          "quantiles_p99": "p99", "min": "min", "max": "max"}

#: Summary keys that are configuration or bookkeeping, not user metadata.
_KNOWN = {"version", "name", "model", "num_concurrent_requests", "timestamp"}

DEFINITIONS = [
    "LLMPerf's 'ttft_s' (send → first streamed chunk with content) is TTFT here, converted from seconds to ms.",
    "LLMPerf's 'end_to_end_latency_s' (send → stream closed) is end-to-end latency (E2E) here.",
    "LLMPerf's 'inter_token_latency_s' includes TTFT (Σ of all gaps including TTFT / output tokens ≈ "
    "E2E / output tokens) and is not used; casegen computes TPOT = (E2E − TTFT) / (output tokens − 1) "
    "from TTFT and E2E.",
    "LLMPerf records no per-chunk timings, so casegen's inter-chunk latency (ITL) is not available.",
    "LLMPerf's 'request_output_throughput_token_per_s' (a request's tokens / its E2E) is a per-request "
    "speed, not a throughput, and is not used.",
    "A request with a non-null 'error_code' is a failure here and, as in LLMPerf, is left out of every "
    "latency statistic.",
    "LLMPerf is closed-loop: 'num_concurrent_requests' workers each send their next request when the "
    "previous one ends; that number is the run's concurrency here (there is no request rate).",
]
SUMMARY_DEFINITIONS = [
    "LLMPerf's 'results_*_quantiles_pNN' use pandas' linear interpolation, the same percentile "
    "method as casegen's default.",
    "LLMPerf's 'results_*_stddev' is the sample standard deviation (ddof=1); casegen uses the "
    "population std (ddof=0), so the summary value is converted as stddev × √((n−1)/n) with "
    "n = results_num_completed_requests.",
    "LLMPerf's throughput divides by the whole test's wall time (start of the first request → end of "
    "the last); casegen uses that same duration, recovered as results_num_completed_requests / "
    "results_num_completed_requests_per_min × 60 s, so requests/s = completed per minute / 60 and "
    "output tokens/s = 'results_mean_output_throughput_token_per_s'.",
    "LLMPerf prints no total (input + output) token throughput; casegen's total tokens/s is its own.",
]


# --------------------------------------------------------------------------- parsing helpers


def _parse_json(path: Path, text: str, expected: str) -> Any:
    return parse_json(text, path, expected)


def _num(value: Any, path: Path, where: str, min_value: float | None = None) -> float | None:
    """A number LLMPerf may have written as a string ("550"); None if missing/null/NaN
    (the one number policy of :func:`casegen.runs.fields.number`)."""
    return number(value, path, where=where, min_value=min_value)


def looks_like_summary(obj: Any) -> bool:
    return isinstance(obj, dict) and any(
        k.startswith(("results_ttft_s_", "results_end_to_end_latency_s_")) for k in obj
    )


def looks_like_individual(obj: Any) -> bool:
    return (
        isinstance(obj, list) and len(obj) > 0 and isinstance(obj[0], dict)
        and "end_to_end_latency_s" in obj[0] and "ttft_s" in obj[0]
    )


def _sniff(path: Path, text: str) -> bool:
    head = text[:20000]
    if '"results_ttft_s_' not in head and '"results_end_to_end_latency_s_' not in head and not (
        '"end_to_end_latency_s"' in head and '"ttft_s"' in head
    ):
        return False
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return False
    return looks_like_summary(obj) or looks_like_individual(obj)


def _sibling(path: Path, want_summary: bool) -> Path | None:
    name = path.name
    if want_summary and name.endswith(INDIVIDUAL_SUFFIX):
        other = path.with_name(name[: -len(INDIVIDUAL_SUFFIX)] + SUMMARY_SUFFIX)
    elif not want_summary and name.endswith(SUMMARY_SUFFIX):
        other = path.with_name(name[: -len(SUMMARY_SUFFIX)] + INDIVIDUAL_SUFFIX)
    else:
        return None
    return other if other.is_file() else None


# --------------------------------------------------------------------------- individual responses


def _requests(obj: Any, path: Path):
    expected = "a JSON list with one object per request (LLMPerf *_individual_responses.json)"
    if not isinstance(obj, list):
        raise CasegenError(f"top level is a JSON {type(obj).__name__}", file=path, where="top level",
                           expected=expected)
    if not obj:
        raise CasegenError("the list of responses is empty", file=path, where="top level", expected=expected)
    n = len(obj)
    ttft = np.full(n, np.nan)
    e2e = np.full(n, np.nan)
    inp = np.full(n, np.nan)
    out = np.full(n, np.nan)
    ok = np.ones(n, dtype=bool)
    errors: list[str] = []
    codes: dict[str, int] = {}
    for i, rec in enumerate(obj):
        where = f"request {i + 1} (list index {i})"
        if not isinstance(rec, dict):
            raise CasegenError(f"entry is a {type(rec).__name__}", file=path, where=where,
                               expected="an object with ttft_s, end_to_end_latency_s, error_code, ...")
        code = rec.get("error_code")
        failed = code is not None and not (isinstance(code, float) and math.isnan(code))
        ok[i] = not failed
        if failed:
            msg = str(rec.get("error_msg") or "").strip()
            errors.append(f"error_code {code}" + (f": {msg}" if msg else ""))
            codes[str(code)] = codes.get(str(code), 0) + 1
        else:
            errors.append("")
            for key in ("ttft_s", "end_to_end_latency_s"):
                if key not in rec:
                    raise CasegenError(f"successful request has no key '{key}'", file=path,
                                       where=f"{where}, key '{key}'", expected="a latency in seconds")
        for key, arr in (("ttft_s", ttft), ("end_to_end_latency_s", e2e),
                         ("number_input_tokens", inp), ("number_output_tokens", out)):
            value = _num(rec.get(key), path, f"{where}, key '{key}'")
            if value is not None:
                arr[i] = value
    df = make_requests_frame(ttft_s=ttft, e2e_s=e2e, input_tokens=inp, output_tokens=out,
                             success=ok, error=errors)
    check_requests(df, path, lambda i: f"request {i + 1} (list index {i})")
    return df, codes


# --------------------------------------------------------------------------- summary


def _summary(obj: Any, path: Path) -> tuple[dict, dict, list[str]]:
    """(tool_summary, meta fields, warnings) from a parsed summary object."""
    expected = "an LLMPerf *_summary.json object with results_* keys"
    if not isinstance(obj, dict):
        raise CasegenError(f"top level is a JSON {type(obj).__name__}", file=path, where="top level",
                           expected=expected)
    if not looks_like_summary(obj):
        raise CasegenError("no 'results_ttft_s_*' or 'results_end_to_end_latency_s_*' keys", file=path,
                           where="top level", expected=expected)

    def num(key: str, min_value: float | None = None) -> float | None:
        return _num(obj.get(key), path, f"key '{key}'", min_value)

    warnings: list[str] = []
    completed = num("results_num_completed_requests")
    started = num("results_num_requests_started")
    errors = num("results_number_errors")
    summary: dict[str, dict[str, float]] = {}
    for lkey, ckey in _LATENCY.items():
        stats = {}
        for skey, cstat in _STATS.items():
            v = num(f"results_{lkey}_{skey}", min_value=0)
            if v is not None:
                stats[cstat] = v * 1e3
        sd = num(f"results_{lkey}_stddev")
        if sd is not None and completed is not None and completed >= 2:
            stats["std"] = sd * math.sqrt((completed - 1) / completed) * 1e3
        if stats:
            summary[ckey] = stats

    per_min = num("results_num_completed_requests_per_min")
    out_tp = num("results_mean_output_throughput_token_per_s")
    duration = None
    if completed and per_min:
        duration = completed / per_min * 60.0
    tp: dict[str, float] = {}
    if per_min is not None:
        tp["requests_per_s"] = per_min / 60.0
    if out_tp is not None:
        tp["output_tokens_per_s"] = out_tp
    if tp:
        summary["throughput"] = tp
    tokens = {}
    for key, ckey in (("results_number_input_tokens_mean", "input_total"),
                      ("results_number_output_tokens_mean", "output_total")):
        v = num(key)
        if v is not None and completed:
            tokens[ckey] = float(round(v * completed, 6))
    if tokens:
        summary["tokens"] = tokens
    req = {k: v for k, v in (("total", started), ("succeeded", completed), ("failed", errors)) if v is not None}
    if "total" not in req and completed is not None and errors is not None:
        req["total"] = completed + errors
    summary["requests"] = req
    if not completed:
        summary = {"requests": req}
        warnings.append("LLMPerf reports no completed request; its latency statistics are empty")

    freq_text = obj.get("results_error_code_frequency")
    error_codes = None
    if isinstance(freq_text, str) and freq_text.strip():
        try:
            freq = ast.literal_eval(freq_text)
            if not isinstance(freq, dict):
                raise ValueError
            error_codes = ", ".join(f"{_code(k)}: {int(v)}" for k, v in freq.items())
        except (ValueError, SyntaxError, TypeError):
            warnings.append(f"'results_error_code_frequency' is not a dict ({freq_text!r}); ignored")
    elif isinstance(freq_text, dict):
        error_codes = ", ".join(f"{_code(k)}: {v}" for k, v in freq_text.items())

    extra: dict[str, Any] = {}
    for key, value in obj.items():
        if key.startswith("results_") or key in _KNOWN:
            continue
        if isinstance(value, (str, int, float, bool)):
            extra[key] = value
    if obj.get("version") is not None:
        extra["results_version"] = str(obj["version"])
    if obj.get("name") is not None:
        extra["name"] = str(obj["name"])
    if error_codes:
        extra["error_codes"] = error_codes
    date = None
    ts = obj.get("timestamp")
    if ts is not None:
        t = _num(ts, path, "key 'timestamp'")
        if t is not None and math.isfinite(t):
            try:
                date = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            except (ValueError, OverflowError, OSError):  # a timestamp outside the calendar: no date
                date = None
    conc = num("num_concurrent_requests")
    meta = {
        "model": obj.get("model") if isinstance(obj.get("model"), str) else None,
        "max_concurrency": int(conc) if conc is not None else None,
        "num_prompts": int(started) if started is not None else None,
        "duration_s": duration,
        "date": date,
        "extra": extra,
    }
    return summary, meta, warnings


def _code(k: Any) -> str:
    return f"{int(k)}" if isinstance(k, float) and k.is_integer() else str(k)


# --------------------------------------------------------------------------- runs


def _tokenizer_warning(model: str | None) -> str:
    return (
        f"LLMPerf counts input and output tokens with a fixed Llama-2 tokenizer ({LLAMA_TOKENIZER}) "
        f"whatever the model{f' ({model})' if model else ''}: token counts, TPOT and token throughput are "
        "in Llama tokens and are not comparable with runs counted with the model's own tokenizer"
    )


def _build(individual: Path | None, summary_path: Path | None, index: int = 0,
           label: str | None = None, summary_hint: bool = True) -> Run:
    source = individual or summary_path
    assert source is not None
    warnings: list[str] = []
    definitions = list(DEFINITIONS)
    requests = None
    codes: dict[str, int] = {}
    if individual is not None:
        obj = _parse_json(individual, read_text(individual),
                          "a JSON list with one object per request (LLMPerf *_individual_responses.json)")
        requests, codes = _requests(obj, individual)
    tool_summary: dict = {}
    meta_fields: dict = {"extra": {}}
    if summary_path is not None:
        try:
            sobj = _parse_json(summary_path, read_text(summary_path), "an LLMPerf *_summary.json object")
            tool_summary, meta_fields, swarn = _summary(sobj, summary_path)
            warnings.extend(swarn)
            definitions.extend(SUMMARY_DEFINITIONS)
        except CasegenError as err:
            if individual is None:
                raise
            warnings.append(f"the LLMPerf summary next to this file could not be used ({err.what}); "
                            "throughput is unavailable")
            summary_path = None
    meta = RunMeta(
        tool="llmperf", format=FORMAT, source=str(source), sha256=sha256_file(source),
        tokenizer=LLAMA_TOKENIZER, streaming=True, index=index, label=label, **meta_fields,
    )
    if summary_path is not None and individual is not None:
        meta.extra["summary_file"] = summary_path.name
        _check_pair(requests, tool_summary, warnings)
    if requests is not None:
        meta.num_prompts = len(requests)
        if summary_path is None:
            warnings.append(
                "no LLMPerf summary (…_summary.json) next to the responses file: the run's duration "
                "is unknown, so throughput cannot be computed (set duration_s, or keep the pair together)"
            )
        if codes:
            n_failed = sum(codes.values())
            warnings.append(
                f"{n_failed} of {len(requests)} requests have an error_code ("
                + ", ".join(f"{c}: {k}" for c, k in codes.items())
                + "); they count as failed and are left out of the latency statistics"
                + ("; code -100 ('Output too few tokens') is the leaderboard's own length check — "
                   "those requests did return text" if "-100" in codes else "")
            )
    else:
        warnings.append("summary only: LLMPerf's summary has no per-request data; percentiles other "
                        "than p50/p90/p95/p99 are unavailable")
        if summary_hint and summary_path is not None and (sib := _sibling(summary_path, False)):
            warnings.append(f"per-request responses exist next to it ({sib.name}); read that file or the "
                            "folder to get per-request statistics")
    warnings.append(_tokenizer_warning(meta.model))
    return Run(meta=meta, requests=requests, tool_summary=tool_summary, warnings=warnings,
               definitions=definitions)


def _check_pair(df, summary: dict, warnings: list[str]) -> None:
    req = summary.get("requests", {})
    if df is None:
        return
    n, ok = len(df), int(df["success"].sum())
    if req.get("total") is not None and int(req["total"]) != n:
        warnings.append(f"the summary says {int(req['total'])} requests were started but the responses "
                        f"file has {n}: the two files may not belong to the same run")
    if req.get("succeeded") is not None and int(req["succeeded"]) != ok:
        warnings.append(f"the summary says {int(req['succeeded'])} requests completed but the responses "
                        f"file has {ok} without an error_code")


def read(path: Path, text: str, sha256: str) -> list[Run]:
    obj = _parse_json(path, text, "an LLMPerf *_summary.json or *_individual_responses.json file")
    if looks_like_summary(obj):
        return [_build(None, path)]
    if isinstance(obj, list) or path.name.endswith(INDIVIDUAL_SUFFIX):
        return [_build(path, _sibling(path, True))]
    if path.name.endswith(SUMMARY_SUFFIX):
        return [_build(None, path)]  # raises with the reason
    raise CasegenError(
        "not an LLMPerf file", file=path, where="top level",
        expected="a *_summary.json object with results_* keys or a *_individual_responses.json list",
    )


# --------------------------------------------------------------------------- folders


def _pairs(folder: Path) -> dict[str, dict[str, Path]]:
    """LLMPerf files in ``folder``, grouped by their run name prefix."""
    groups: dict[str, dict[str, Path]] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            continue
        for suffix, kind in ((INDIVIDUAL_SUFFIX, "individual"), (SUMMARY_SUFFIX, "summary")):
            if p.name.endswith(suffix) and _peek(p, kind):
                groups.setdefault(p.name[: -len(suffix)], {})[kind] = p
                break
    return groups


def _peek(p: Path, kind: str) -> bool:
    try:
        if p.stat().st_size > 64 * 1024 * 1024:
            return False
        if kind == "individual":  # read_text: regular files only (a FIFO here would block forever)
            head = read_text(p)[:20000]
            return head.lstrip().startswith("[") and '"end_to_end_latency_s"' in head and '"ttft_s"' in head
        return looks_like_summary(json.loads(read_text(p)))
    except (OSError, CasegenError, ValueError, RecursionError):
        return False


def _natural(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def sniff_dir(path: Path) -> bool:
    if _pairs(path):
        return True
    return any(_pairs(sub) for sub in path.iterdir() if sub.is_dir())


def read_dir(path: Path) -> list[Run]:
    groups = _pairs(path)
    items: list[tuple[str | None, dict[str, Path]]] = []
    if groups:
        multi = len(groups) > 1
        items = [(name.rstrip("_") if multi else None, g) for name, g in sorted(groups.items())]
    else:
        for sub in sorted((s for s in path.iterdir() if s.is_dir()), key=lambda s: _natural(s.name)):
            sub_groups = _pairs(sub)
            for name, g in sorted(sub_groups.items()):
                label = sub.name if len(sub_groups) == 1 else f"{sub.name}/{name.rstrip('_')}"
                items.append((label, g))
    if not items:
        raise CasegenError("no LLMPerf files in this folder", file=path,
                           expected="*_summary.json and/or *_individual_responses.json (or sub-folders with them)")
    runs = []
    for index, (run_label, g) in enumerate(items):
        runs.append(_build(g.get("individual"), g.get("summary"), index=index, label=run_label))
    return runs


FORMATS = [
    Format(
        name=FORMAT,
        description="Ray LLMPerf *_individual_responses.json / *_summary.json (or their folder)",
        sniff=_sniff, read=read, sniff_dir=sniff_dir, read_dir=read_dir, priority=30,
    )
]
