"""NVIDIA GenAI-Perf (triton-inference-server/perf_analyzer) outputs — see docs/formats/genai-perf.md.

Handles:

* the raw Perf Analyzer profile export (``--profile-export-file``, default
  ``profile_export.json``): ``experiments[].requests[]`` with nanosecond
  timestamps → one run per experiment, per request TTFT = first non-empty
  response − request, E2E = last non-empty response − request, chunk gaps =
  differences of the response timestamps. Token counts are taken from the
  server's ``usage`` in the response bodies when present, else left unknown.
* ``*_genai_perf.json`` summaries (older flat ``input_config`` and newer nested one);
* ``*_genai_perf.csv`` summaries (two tables, ``"15,635.03"``, ``N/A``);
* an artifacts folder (raw export preferred, summary attached for parity) and a
  sweep folder with one artifact sub-folder per load point.

Non-streaming runs: GenAI-Perf still prints ``time_to_first_token`` (equal to the
request latency); casegen treats TTFT as not measured.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from casegen.errors import CasegenError
from casegen.runs.aiperf import looks_like_summary as looks_like_aiperf_summary
from casegen.runs.aiperf import parse_two_table_csv, to_num
from casegen.runs.fields import is_scalar as _scalar
from casegen.runs.fields import point_dirs, read_text, scrub, unit_factor_s
from casegen.runs.jsonio import parse_json
from casegen.runs.model import Format, Run, RunMeta, check_requests, make_requests_frame, sha256_file

TOOL = "genai-perf"
FMT_RAW = "genai-perf-raw"
FMT_JSON = "genai-perf-json"
FMT_CSV = "genai-perf-csv"

LATENCY_MAP = {"time_to_first_token": "ttft", "inter_token_latency": "tpot", "request_latency": "e2e"}
STAT_MAP = {"avg": "mean", "p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "std": "std",
            "min": "min", "max": "max"}

DEFINITIONS = [
    "GenAI-Perf's 'time_to_first_token' is TTFT here (streaming runs only).",
    "GenAI-Perf's 'inter_token_latency' ((request latency − TTFT)/(output tokens − 1) per request) is TPOT here.",
    "GenAI-Perf's 'request_latency' is the end-to-end latency here.",
    "GenAI-Perf prints no inter-chunk latency; casegen's ITL comes from the raw export's response timestamps.",
]
BASE_WARNINGS = [
    "GenAI-Perf has no failed-request count: requests without a usable response are dropped silently, "
    "so the error rate is unknown",
]
_RETOKENISED = ("GenAI-Perf counts output tokens by re-tokenising the response text with its --tokenizer "
                "on the client")


# --------------------------------------------------------------------------- summary JSON

def looks_like_summary(obj: Any) -> bool:
    if not isinstance(obj, dict) or looks_like_aiperf_summary(obj):
        return False
    if "records" in obj or "aiperf_version" in obj or "schema_version" in obj:
        return False
    has_metric = any(isinstance(obj.get(k), dict) and "unit" in obj[k] and "avg" in obj[k]
                     for k in ("request_latency", "request_throughput", "time_to_first_token"))
    return has_metric and isinstance(obj.get("input_config"), dict)


def config_facts(cfg: Any) -> dict[str, Any]:
    """Model, load, streaming, tokenizer from a flat (old) or nested (new) input_config."""
    if not isinstance(cfg, dict):
        return {}
    cfg = scrub(cfg)
    out: dict[str, Any] = {}
    endpoint = cfg.get("endpoint") if isinstance(cfg.get("endpoint"), dict) else None
    if endpoint is not None or isinstance(cfg.get("perf_analyzer"), dict):  # nested
        endpoint = endpoint or {}
        names = cfg.get("model_names")
        stim = (cfg.get("perf_analyzer") or {}).get("stimulus") if isinstance(cfg.get("perf_analyzer"), dict) else None
        stim = stim if isinstance(stim, dict) else {}
        out["layout"] = "nested"
        out["streaming"] = endpoint.get("streaming")
        out["endpoint_type"] = endpoint.get("type")
        out["service_kind"] = endpoint.get("service_kind")
        out["concurrency"] = stim.get("concurrency")
        out["request_rate"] = stim.get("request_rate")
        tok = cfg.get("tokenizer")
        out["tokenizer"] = tok.get("name") if isinstance(tok, dict) else None
        out["profile_export_file"] = (cfg.get("output") or {}).get("profile_export_file") \
            if isinstance(cfg.get("output"), dict) else None
        inp = cfg.get("input") if isinstance(cfg.get("input"), dict) else {}
        out["isl_target"] = (inp.get("synthetic_tokens") or {}).get("mean") if isinstance(inp.get("synthetic_tokens"), dict) else None
        out["osl_target"] = (inp.get("output_tokens") or {}).get("mean") if isinstance(inp.get("output_tokens"), dict) else None
    else:  # flat argparse dict
        names = cfg.get("model")
        out["layout"] = "flat"
        out["streaming"] = cfg.get("streaming")
        out["endpoint_type"] = cfg.get("endpoint_type")
        out["service_kind"] = cfg.get("service_kind")
        out["concurrency"] = cfg.get("concurrency")
        out["request_rate"] = cfg.get("request_rate")
        out["tokenizer"] = cfg.get("tokenizer")
        out["profile_export_file"] = cfg.get("profile_export_file")
        out["isl_target"] = cfg.get("synthetic_input_tokens_mean")
        out["osl_target"] = cfg.get("output_tokens_mean")
    if isinstance(names, list) and names and _scalar(names[0]):
        out["model"] = str(names[0])
    elif isinstance(names, str):
        out["model"] = names
    return {k: v for k, v in out.items() if v is not None and v != ""}


def _num_or_none(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def meta_from_facts(facts: dict, path: Path, sha256: str, fmt: str, index: int = 0) -> RunMeta:
    conc = _num_or_none(facts.get("concurrency"))
    rate = _num_or_none(facts.get("request_rate"))
    extra: dict[str, Any] = {}
    if conc is not None and math.isfinite(conc):
        extra["concurrency"] = int(conc)
    for k in ("endpoint_type", "service_kind", "isl_target", "osl_target"):
        if _scalar(facts.get(k)):
            extra[k] = facts[k]
    if "layout" in facts:
        extra["input_config_layout"] = facts["layout"]
    return RunMeta(
        tool=TOOL, format=fmt, source=str(path), sha256=sha256,
        model=facts.get("model"), tokenizer=str(facts["tokenizer"]) if _scalar(facts.get("tokenizer")) else None,
        backend=str(facts["endpoint_type"]) if _scalar(facts.get("endpoint_type")) else None,
        request_rate=rate, max_concurrency=int(conc) if conc is not None and math.isfinite(conc) else None,
        streaming=facts["streaming"] if isinstance(facts.get("streaming"), bool) else None,
        index=index, extra=extra,
    )


def _avg(obj: dict, key: str, path: Path) -> float | None:
    m = obj.get(key)
    if m is None:
        return None
    if not isinstance(m, dict):
        raise CasegenError(f"metric '{key}' is a {type(m).__name__}", file=path, where=f"key {key}",
                           expected="an object {unit, avg, …}")
    return to_num(m.get("avg"), path, f"key {key}.avg")


def _same_stats(a: Any, b: Any) -> bool:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    keys = [k for k in ("avg", "p50", "max") if isinstance(a.get(k), (int, float)) and isinstance(b.get(k), (int, float))]
    return bool(keys) and all(math.isclose(a[k], b[k], rel_tol=1e-9) for k in keys)


def summary_from_obj(obj: dict, path: Path, streaming: bool | None) -> tuple[dict, float | None, list[str]]:
    """tool_summary (ms), duration (s, = request_count / request_throughput) and warnings."""
    warnings: list[str] = []
    summary: dict[str, dict[str, float]] = {}
    for name, ckey in LATENCY_MAP.items():
        m = obj.get(name)
        if m is None:
            continue
        if not isinstance(m, dict):
            raise CasegenError(f"metric '{name}' is a {type(m).__name__}", file=path, where=f"key {name}",
                               expected="an object {unit, avg, p50, …}")
        if ckey == "ttft" and streaming is not True:
            continue
        factor = unit_factor_s(m.get("unit", "ms"), path, f"key {name}.unit") * 1e3
        stats = {}
        for src, dst in STAT_MAP.items():
            v = to_num(m.get(src), path, f"key {name}.{src}", min_value=0)  # finite, ≥ 0
            if v is not None:
                stats[dst] = v * factor
        if stats:
            summary[ckey] = stats
    rps = _avg(obj, "request_throughput", path)
    otps = _avg(obj, "output_token_throughput", path)
    tp = {k: v for k, v in (("requests_per_s", rps), ("output_tokens_per_s", otps)) if v is not None}
    if tp:
        summary["throughput"] = tp
    count = _avg(obj, "request_count", path)
    duration = None
    if count is not None:
        summary["requests"] = {"total": count, "succeeded": count}
        if rps:
            duration = count / rps
    osl = obj.get("output_sequence_length")
    isl = obj.get("input_sequence_length")
    if count:
        tok = {}
        for key, m in (("output_total", osl), ("input_total", isl)):
            if isinstance(m, dict) and isinstance(m.get("avg"), (int, float)) and not isinstance(m.get("avg"), bool):
                tok[key] = float(m["avg"]) * count
        if tok:
            summary["tokens"] = tok
    if "output_token_throughput_per_request" in obj:
        warnings.append("older GenAI-Perf key 'output_token_throughput_per_request' (output tokens / request "
                        "latency, TTFT included) is not 1/TPOT and is not mapped")
    return summary, duration, warnings


def read_summary_obj(obj: Any, path: Path, sha256: str, index: int = 0) -> Run:
    if not looks_like_summary(obj):
        raise CasegenError("object is not a GenAI-Perf summary", file=path, where="top level",
                           expected="*_genai_perf.json: metric objects {unit, avg, …} and 'input_config'")
    facts = config_facts(obj.get("input_config"))
    meta = meta_from_facts(facts, path, sha256, FMT_JSON, index)
    warnings = list(BASE_WARNINGS) + [_RETOKENISED]
    if meta.streaming is None and _same_stats(obj.get("time_to_first_token"), obj.get("request_latency")):
        meta.streaming = False
    if meta.streaming is False:
        warnings.append("non-streaming run: GenAI-Perf's time_to_first_token equals the request latency, "
                        "so TTFT is treated as not measured")
    elif meta.streaming is None:
        warnings.append("the streaming setting is not recorded; TTFT is not mapped")
    summary, duration, w = summary_from_obj(obj, path, meta.streaming)
    warnings += w
    meta.duration_s = duration
    if "requests" in summary and math.isfinite(summary["requests"]["total"]):  # inf: refused by plausibility
        meta.num_prompts = int(summary["requests"]["total"])
    if isinstance(obj.get("telemetry_stats"), dict):
        meta.extra["gpu_telemetry"] = "yes"
    warnings.append("summary only: no per-request data was read (the raw profile export holds it); "
                    "duration is request_count / request_throughput")
    return Run(meta=meta, requests=None, tool_summary=summary, warnings=warnings, definitions=list(DEFINITIONS))


def _load_json(path: Path, text: str) -> Any:
    return parse_json(text, path, "a complete GenAI-Perf JSON file")


def read_json(path: Path, text: str, sha256: str) -> list[Run]:
    return [read_summary_obj(_load_json(path, text), path, sha256)]


# --------------------------------------------------------------------------- raw Perf Analyzer export

def looks_like_raw(obj: Any) -> bool:
    return (isinstance(obj, dict) and isinstance(obj.get("experiments"), list)
            and all(isinstance(e, dict) and "requests" in e for e in obj["experiments"]))


def _events(body: str) -> list[Any]:
    """JSON payloads in one response (a whole body, or SSE 'data:' lines)."""
    body = body.strip()
    if not body:
        return []
    if body.startswith(("data:", "event:", ":")):
        out: list[Any] = []
        for line in body.splitlines():
            line = line.strip()
            if line.startswith("event:") and "error" in line.lower():
                out.append({"error": line})
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                out.append("[DONE]")
                continue
            try:
                out.append(json.loads(data))
            except (ValueError, RecursionError):  # not JSON, or JSON past Python's digit/nesting limits
                out.append(None)
        return out
    try:
        return [json.loads(body)]
    except (ValueError, RecursionError):
        return [None]


def _has_content(ev: Any) -> bool:
    if not isinstance(ev, dict):
        return False
    choices = ev.get("choices")
    if isinstance(choices, list):
        for c in choices:
            if not isinstance(c, dict):
                continue
            for part in (c.get("delta"), c.get("message")):
                if isinstance(part, dict) and any(
                        isinstance(part.get(k), str) and part[k] for k in ("content", "reasoning_content", "reasoning")):
                    return True
            if isinstance(c.get("text"), str) and c["text"]:
                return True
    for k in ("text_output", "text", "generated_text"):
        if isinstance(ev.get(k), str) and ev[k]:
            return True
    return False


def _usage(events: list[Any]) -> tuple[float | None, float | None]:
    for ev in reversed(events):
        u = ev.get("usage") if isinstance(ev, dict) else None
        if isinstance(u, dict):
            return _num_or_none(u.get("prompt_tokens")), _num_or_none(u.get("completion_tokens"))
    return None, None


def _ns(v: Any, path: Path, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v < 2**63:
        shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:40] + "…"
        raise CasegenError(f"timestamp is {shown}", file=path, where=where,
                           expected="an integer nanosecond timestamp (0 ≤ t < 2^63)")
    return int(v)


def run_from_experiment(exp: dict, ei: int, obj: dict, path: Path, sha256: str,
                        summary_obj: dict | None, summary_path: Path | None) -> Run:
    where0 = f"key experiments[{ei}]"
    reqs = exp.get("requests")
    if not isinstance(reqs, list):
        raise CasegenError("'requests' is not a list", file=path, where=f"{where0}.requests",
                           expected="a list of request records")
    if not reqs:
        raise CasegenError("'requests' is empty", file=path, where=f"{where0}.requests",
                           expected="at least one request record")
    n = len(reqs)
    start = np.zeros(n, dtype=np.int64)
    ttft = np.full(n, np.nan)
    e2e = np.full(n, np.nan)
    inp = np.full(n, np.nan)
    out = np.full(n, np.nan)
    ok = np.ones(n, dtype=bool)
    errors: list[str] = []
    gaps: list[Any] = []
    end_ns: list[int] = []
    n_resp = []
    streamed_payload = False
    for i, r in enumerate(reqs):
        where = f"{where0}.requests[{i}]"
        if not isinstance(r, dict):
            raise CasegenError("request record is not an object", file=path, where=where,
                               expected="{timestamp, response_timestamps, response_outputs}")
        t0 = _ns(r.get("timestamp"), path, f"{where}.timestamp")
        start[i] = t0
        ts = r.get("response_timestamps", [])
        outs = r.get("response_outputs", [])
        if not isinstance(ts, list) or not isinstance(outs, list):
            raise CasegenError("'response_timestamps' / 'response_outputs' is not a list", file=path, where=where,
                               expected="lists with one entry per response")
        ts = [_ns(t, path, f"{where}.response_timestamps[{k}]") for k, t in enumerate(ts)]
        payload = (r.get("request_inputs") or {}).get("payload") if isinstance(r.get("request_inputs"), dict) else None
        if isinstance(payload, str) and re.search(r'"stream"\s*:\s*true', payload):
            streamed_payload = True
        bodies = []
        for o in outs:
            body = o.get("response") if isinstance(o, dict) else o
            bodies.append(body if isinstance(body, str) else "")
        if outs and len(outs) != len(ts):
            raise CasegenError(f"{len(ts)} response timestamps but {len(outs)} response outputs", file=path,
                               where=where, expected="one output per response timestamp")
        n_resp.append(len(ts))
        kept_ts = []
        all_events: list[Any] = []
        err_text = ""
        for k, t in enumerate(ts):
            evs = _events(bodies[k]) if bodies else [None]
            all_events += evs
            for ev in evs:
                if isinstance(ev, dict) and ev.get("error"):
                    e = ev["error"]
                    err_text = str(e.get("message") if isinstance(e, dict) else e)[:300]
            if not bodies or any(_has_content(ev) for ev in evs):
                kept_ts.append(t)
        if kept_ts and min(kept_ts) < t0:
            raise CasegenError("a response timestamp is earlier than the request timestamp", file=path,
                               where=where, expected="response_timestamps ≥ timestamp (ns)")
        if err_text or not kept_ts:
            ok[i] = False
            errors.append(err_text or ("no response" if not ts else "no response with content"))
            gaps.append(None)
            end_ns.append(ts[-1] if ts else t0)
        else:
            errors.append("")
            ttft[i] = (kept_ts[0] - t0) / 1e9
            e2e[i] = (kept_ts[-1] - t0) / 1e9
            gaps.append(np.diff(np.asarray(kept_ts, dtype=np.int64)).astype(float) / 1e9)
            end_ns.append(kept_ts[-1])
        p, c = _usage(all_events)
        inp[i] = np.nan if p is None else p
        out[i] = np.nan if c is None else c
    facts = config_facts(summary_obj.get("input_config")) if summary_obj else {}
    streaming = facts.get("streaming") if isinstance(facts.get("streaming"), bool) else None
    if streaming is None:
        streaming = streamed_payload or any(k > 1 for k in n_resp)
    if not streaming:
        ttft[:] = np.nan
        gaps = [None] * n
    s0 = int(start.min())
    starts = (start - s0).astype(float) / 1e9
    df = make_requests_frame(ttft_s=ttft, e2e_s=e2e, input_tokens=inp, output_tokens=out, success=ok,
                             error=errors, start_s=starts, chunk_gaps_s=gaps)
    check_requests(df, path, lambda i: f"{where0}.requests[{i}]")

    mode = (exp.get("experiment") or {}).get("mode") if isinstance(exp.get("experiment"), dict) else None
    value = (exp.get("experiment") or {}).get("value") if isinstance(exp.get("experiment"), dict) else None
    if not facts and mode == "concurrency":
        facts["concurrency"] = value
    elif not facts and mode == "request_rate":
        facts["request_rate"] = value
    meta = meta_from_facts(facts, path, sha256, FMT_RAW, ei)
    meta.streaming = bool(streaming)
    number = _num_or_none(value)
    if mode == "concurrency" and number is not None and math.isfinite(number):
        meta.max_concurrency = int(number)
        meta.extra["concurrency"] = int(number)
    elif mode == "request_rate" and number is not None:
        meta.request_rate = number
    meta.num_prompts = n
    duration = (max(end_ns) - s0) / 1e9
    meta.duration_s = duration if duration > 0 else None
    if _scalar(obj.get("version")):
        meta.extra["perf_analyzer_export_version"] = obj["version"]
    if _scalar(obj.get("endpoint")):
        meta.extra["endpoint"] = obj["endpoint"]

    warnings = list(BASE_WARNINGS)
    definitions = list(DEFINITIONS)
    usage_tokens = bool(np.isfinite(out).any())
    if usage_tokens:
        warnings.append("token counts come from the server's 'usage' in the response bodies, not from "
                        "GenAI-Perf's re-tokenisation; TPOT and output throughput can differ from GenAI-Perf's")
    else:
        warnings.append("the raw export stores no token counts and the responses carry no 'usage': input/output "
                        "tokens are unknown, so TPOT and token throughput cannot be computed")
    if not streaming:
        warnings.append("non-streaming run: TTFT and inter-chunk latency are not measured (one response per request)")
    else:
        warnings.append("responses without text (role-only chunks, [DONE]) are left out before timing, as GenAI-Perf does")
    n_fail = int((~ok).sum())
    if n_fail:
        warnings.append(f"{n_fail} request(s) without a usable response are counted as failures here; "
                        "GenAI-Perf's own summary drops them silently")
    summary: dict = {}
    if summary_obj is not None and summary_path is not None:
        summary, _, w = summary_from_obj(summary_obj, summary_path, meta.streaming)
        warnings += w
        meta.extra["summary_file"] = summary_path.name
        if usage_tokens:
            dropped = {k: summary.pop(k) for k in ("tokens",) if k in summary}
            tool_tpot = summary.pop("tpot", None)
            tool_otps = summary.get("throughput", {}).pop("output_tokens_per_s", None)
            parts = []
            if tool_otps is not None:
                parts.append(f"output throughput {tool_otps:.4g} tok/s")
            if tool_tpot is not None and "mean" in tool_tpot:
                parts.append(f"mean TPOT {tool_tpot['mean']:.4g} ms")
            if "tokens" in dropped and "output_total" in dropped["tokens"]:
                parts.append(f"{dropped['tokens']['output_total']:.0f} output tokens")
            if parts:
                warnings.append("GenAI-Perf's token-based figures (" + ", ".join(parts) + ") use its re-tokenised "
                                "counts and are left out of the parity check")
    return Run(meta=meta, requests=df, tool_summary=summary, warnings=warnings, definitions=definitions)


def _sibling_summary(path: Path) -> tuple[Path, dict] | None:
    cands = [path.parent / f"{path.stem}_genai_perf.json"] + sorted(path.parent.glob("*_genai_perf.json"))
    for c in cands:
        if c.is_file() and c != path:
            try:
                obj = json.loads(read_text(c))  # regular files only, within the size budget
            except (CasegenError, ValueError, RecursionError):
                continue
            if looks_like_summary(obj):
                return c, obj
    return None


def read_raw(path: Path, text: str, sha256: str, *, attach_summary: bool = True) -> list[Run]:
    obj = _load_json(path, text)
    if not looks_like_raw(obj):
        raise CasegenError("not a Perf Analyzer profile export", file=path, where="key experiments",
                           expected="{\"experiments\": [{\"experiment\", \"requests\": [...]}]}")
    if not obj["experiments"]:
        raise CasegenError("'experiments' is empty", file=path, where="key experiments",
                           expected="at least one experiment")
    sib = _sibling_summary(path) if attach_summary else None
    multi = len(obj["experiments"]) > 1
    runs = []
    for ei, exp in enumerate(obj["experiments"]):
        sp, so = (sib if (sib and not multi) else (None, None))
        runs.append(run_from_experiment(exp, ei, obj, path, sha256, so, sp))
    if sib and multi:
        for r in runs:
            r.warnings.append("the export holds several experiments; the summary JSON is not attached")
    return runs


# --------------------------------------------------------------------------- CSV

_CSV_LATENCY = {"time to first token": "ttft", "inter token latency": "tpot", "request latency": "e2e"}


def read_csv(path: Path, text: str, sha256: str) -> list[Run]:
    if not text.lstrip().startswith("Metric,"):
        raise CasegenError("not a GenAI-Perf summary CSV", file=path, where="line 1",
                           expected="a header 'Metric,avg,min,max,p99,…'")
    stats, values = parse_two_table_csv(text, path)
    if not stats and not values:
        raise CasegenError("no metric rows", file=path, expected="GenAI-Perf summary CSV tables")
    summary: dict[str, dict[str, float]] = {}
    for name, ckey in _CSV_LATENCY.items():
        if name in stats:
            unit, row = stats[name]
            f = unit_factor_s(unit or "ms", path, f"row {name}") * 1e3
            d = {STAT_MAP[k]: v * f for k, v in row.items() if k in STAT_MAP and v is not None}
            if d:
                summary[ckey] = d

    def val(name: str) -> float | None:
        return values[name][1] if name in values else None

    rps, otps, count = val("request throughput"), val("output token throughput"), val("request count")
    tp = {k: v for k, v in (("requests_per_s", rps), ("output_tokens_per_s", otps)) if v is not None}
    if tp:
        summary["throughput"] = tp
    if count is not None:
        summary["requests"] = {"total": count, "succeeded": count}
    streaming = True if "ttft" in summary else None
    meta = RunMeta(tool=TOOL, format=FMT_CSV, source=str(path), sha256=sha256, streaming=streaming,
                   num_prompts=int(count) if count is not None else None)
    warnings = list(BASE_WARNINGS) + [_RETOKENISED,
        "summary only: GenAI-Perf's CSV rounds every figure to 2 decimals (request throughput can lose most of "
        "its digits) and records no model or load settings; prefer the *_genai_perf.json"]
    if "ttft" not in summary:
        warnings.append("no TTFT row: GenAI-Perf leaves streaming metrics out of the CSV for non-streaming runs")
    return [Run(meta=meta, requests=None, tool_summary=summary, warnings=warnings, definitions=list(DEFINITIONS))]


# --------------------------------------------------------------------------- sniffing

def sniff_raw(path: Path, text: str) -> bool:
    head = text.lstrip()[:200]
    return head.startswith("{") and '"experiments"' in head and any(
        k in text for k in ('"response_timestamps"', '"window_boundaries"', '"service_kind"'))


def sniff_json(path: Path, text: str) -> bool:
    head = text.lstrip()
    if not head.startswith("{") or '"input_config"' not in text or '"request_latency"' not in text:
        return False
    if any(m in text for m in ('"aiperf_version"', '"schema_version"', '"was_cancelled"', '"benchmark_duration"')):
        return False
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return "genai_perf" in path.name.lower()
    return looks_like_summary(obj)


def sniff_csv(path: Path, text: str) -> bool:
    head = text.lstrip()[:200]
    if not head.startswith("Metric,avg,"):
        return False
    if "aiperf" in path.name.lower():
        return False
    if "genai_perf" in path.name.lower():
        return True
    return "Request Throughput (per sec)" in text or "Request Count (count)" in text


# --------------------------------------------------------------------------- folders

def _summary_files(d: Path) -> list[Path]:
    return sorted(d.glob("*_genai_perf.json"))


def _has_files(d: Path) -> bool:
    return bool(_summary_files(d)) or any(d.glob("*_genai_perf.csv"))


def _raw_for(d: Path, summary_path: Path | None, summary_obj: dict | None) -> Path | None:
    names = []
    if summary_obj is not None:
        pef = config_facts(summary_obj.get("input_config")).get("profile_export_file")
        if isinstance(pef, str) and pef:
            names.append(Path(pef).name)
    if summary_path is not None:
        names.append(summary_path.name.replace("_genai_perf.json", ".json"))
    names.append("profile_export.json")
    for name in names:
        if (d / name).is_file():
            return d / name
    return None


def _read_point(d: Path, index: int) -> Run:
    summaries = _summary_files(d)
    sp = summaries[0] if summaries else None
    so = None
    if sp is not None:
        so = parse_json(read_text(sp), sp, "a complete *_genai_perf.json")
    raw = _raw_for(d, sp, so if isinstance(so, dict) else None)
    if raw is not None:
        text = read_text(raw)
        runs = read_raw(raw, text, sha256_file(raw), attach_summary=False)
        if len(runs) == 1 and isinstance(so, dict) and looks_like_summary(so) and sp is not None:
            obj = json.loads(text)
            run = run_from_experiment(obj["experiments"][0], 0, obj, raw, runs[0].meta.sha256, so, sp)
        else:
            run = runs[0]
    elif sp is not None:
        run = read_summary_obj(so, sp, sha256_file(sp))
    else:
        c = sorted(d.glob("*_genai_perf.csv"))[0]
        run = read_csv(c, read_text(c), sha256_file(c))[0]
    run.meta.index = index
    return run


def _point_params(name: str) -> dict[str, Any]:
    """GenAI-Perf names artifact folders '<model>-<service>-<endpoint>-concurrency16' / '…-request_rate5.0'."""
    m = re.search(r"(concurrency|request_rate)[_-]?(\d+(?:\.\d+)?)$", name)
    return {m.group(1): float(m.group(2))} if m else {}


def sniff_dir(path: Path) -> bool:
    try:
        return _has_files(path) or any(s.is_dir() and _has_files(s) for s in path.iterdir())
    except OSError:
        return False


def read_dir(path: Path) -> list[Run]:
    if _has_files(path):
        return [_read_point(path, 0)]
    subs = [d for d, _ in point_dirs(path, _has_files, params=_point_params)]
    runs = []
    for index, d in enumerate(subs):
        run = _read_point(d, index)
        run.meta.label = run.meta.label or d.name
        m = re.search(r"(concurrency|request_rate)[_-]?(\d+(?:\.\d+)?)$", d.name)
        if m and m.group(1) == "concurrency" and run.meta.max_concurrency is None:
            run.meta.max_concurrency = int(float(m.group(2)))
            run.meta.extra["concurrency"] = run.meta.max_concurrency
        if m and m.group(1) == "request_rate" and run.meta.request_rate is None:
            run.meta.request_rate = float(m.group(2))
        runs.append(run)
    if not runs:
        raise CasegenError("no GenAI-Perf output in this folder", file=path,
                           expected="*_genai_perf.json / profile_export.json, or one artifact sub-folder per load point")
    return runs


FORMATS = [
    Format(name=FMT_RAW, description="GenAI-Perf / Perf Analyzer raw profile export (profile_export.json)",
           sniff=sniff_raw, read=read_raw, sniff_dir=sniff_dir, read_dir=read_dir, priority=26),
    Format(name=FMT_JSON, description="GenAI-Perf summary (*_genai_perf.json)",
           sniff=sniff_json, read=read_json, priority=27),
    Format(name=FMT_CSV, description="GenAI-Perf summary CSV (*_genai_perf.csv)",
           sniff=sniff_csv, read=read_csv, priority=28),
]
