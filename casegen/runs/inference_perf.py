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

* ``per_request_lifecycle_metrics.json`` (``report.request_lifecycle.per_request: true``) gives
  every request's start/end and token times: with it a folder's stages become **per-request**
  runs. The file has no stage field, so requests are assigned to stages in send order by each
  stage's sent count (``load_summary.count``); a count that does not add up is an error. Read alone,
  the file is one run over all stages (with a warning), or is split by the stage files beside it.
* Load kind from the tool's own fields: a stage of a ``concurrent`` load has
  ``load_summary.concurrency`` (0.7; older reports: ``load.type`` and ``stages`` of the folder's
  ``config.yaml``) and its ``requested_rate`` is a placeholder, not an offered rate.

Prometheus files are rejected with a pointer to the lifecycle files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from casegen.errors import CasegenError
from casegen.runs.fields import number, read_text, sub_object
from casegen.runs.jsonio import kind_of as _kind
from casegen.runs.jsonio import parse_json
from casegen.runs.model import Format, Run, RunMeta, check_requests, make_requests_frame, sha256_file

FORMAT = "inference-perf"
FORMAT_PER_REQUEST = "inference-perf-per-request"
EXPECTED = ("an inference-perf lifecycle report {'load_summary': {...}, 'successes': {'count', 'latency', "
            "'throughput', ...}, 'failures': {...}}")
_STAGE_RE = re.compile(r"^stage_(\d+)_lifecycle_metrics\.json$")
SUMMARY_NAME = "summary_lifecycle_metrics.json"
PER_REQUEST_NAME = "per_request_lifecycle_metrics.json"
PER_REQUEST_EXPECTED = ("inference-perf per-request report: a list of {'start_time', 'end_time', 'info': "
                        "{'response_metrics': {'output_token_times', 'chunk_times', 'output_tokens'}}, 'error'}")

#: inference-perf latency key (seconds) → casegen metric (ms)
_LATENCY = {"time_to_first_token": "ttft", "time_per_output_token": "tpot", "request_latency": "e2e"}
_STATS = {"mean": "mean", "median": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "min": "min", "max": "max"}

DEFINITIONS = [
    "inference-perf's 'time_to_first_token' (first output token time − request start, seconds) is TTFT here, in ms.",
    "inference-perf's 'time_per_output_token' ((last token time − first token time) / (tokens − 1)) is TPOT here, "
    "when it agrees with the same report's E2E, TTFT and output tokens: inference-perf before PR #410/#452 "
    "(April 2026) timed every line of the event stream (two per server-sent event) instead of every token, "
    "which gives about half the real time per token; casegen then leaves TPOT out (said in the run's warnings).",
    "inference-perf's 'request_latency' (response end − request start) is end-to-end latency (E2E) here.",
    "inference-perf's 'inter_token_latency' is token-level: every token of a streamed chunk gets the chunk's "
    "arrival time, so most gaps are ~0; it is neither casegen's TPOT nor its per-chunk ITL and is not used.",
    "inference-perf's 'normalized_time_per_output_token' (E2E / output tokens, includes TTFT) is not used.",
    "inference-perf's throughput ('requests_per_sec', 'output_tokens_per_sec', 'total_tokens_per_sec') is "
    "successful requests / tokens divided by first request start → last response end of the report, "
    "casegen's definition; the run duration is derived as successes / requests_per_sec.",
    "inference-perf percentiles use NumPy's linear interpolation, the same method as casegen's default.",
    "From per_request_lifecycle_metrics.json: TTFT = first output token time − start_time; E2E = last output "
    "token time − start_time (end_time − start_time without token times); output tokens = the client's count (response_metrics.output_tokens); chunk gaps from chunk_times.",
]

#: Known differences between casegen's figures from the per-request file and inference-perf's summary.
PARITY_CAUSES = {
    "e2e": "E2E end point: inference-perf's request_latency ends at end_time (when the response closes, after the "
           "final usage chunk and [DONE]); casegen's end-to-end latency ends at the last token",
    "itl": "token vs chunk level: inference-perf gives every token of a chunk the chunk's time; casegen's "
           "ITL is the gap between chunks",
}


def _fail(path: Path, what: str, where: str, expected: str) -> CasegenError:
    return CasegenError(what, file=path, where=f"key {where}", expected=expected)


@overload
def _obj(path: Path, value: Any, where: str, optional: Literal[False] = False) -> dict: ...
@overload
def _obj(path: Path, value: Any, where: str, optional: bool) -> dict | None: ...
def _obj(path: Path, value: Any, where: str, optional: bool = False) -> dict | None:
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise _fail(path, f"is {_kind(value)}", where, "an object")
    return value


def _num(path: Path, value: Any, where: str, optional: bool = True) -> float | None:
    return number(value, path, key=where, optional=optional, expected="a finite number")


def _count(path: Path, value: Any, where: str) -> int:
    v = _num(path, value, where, optional=False)
    assert v is not None
    if v < 0 or v != int(v):
        raise _fail(path, f"is {v!r}", where, "a request count ≥ 0")
    return int(v)


# --------------------------------------------------------------------------- detection

def sniff_per_request(path: Path, text: str) -> bool:
    head = text.lstrip()[:2000]
    return head[:1] == "[" and '"start_time"' in head and '"end_time"' in head and '"info"' in text[:20000]


def sniff(path: Path, text: str) -> bool:
    head = text[:4096]
    return (text.lstrip()[:1] == "{" and '"load_summary"' in head and '"successes"' in text
            and '"failures"' in text)


def sniff_dir(path: Path) -> bool:
    try:
        names = {p.name for p in path.iterdir() if p.is_file()}
    except OSError:
        return False
    return any(_STAGE_RE.match(n) for n in names) or SUMMARY_NAME in names or PER_REQUEST_NAME in names


# --------------------------------------------------------------------------- reading

def read(path: Path, text: str, sha256: str) -> list[Run]:
    path = Path(path)
    m = _STAGE_RE.match(path.name)
    stage: int | str | None = int(m.group(1)) if m else ("all" if path.name == SUMMARY_NAME else None)
    return [_run(path, text, sha256, index=0, stage=stage, config=_config(path.parent))]


def read_dir(path: Path) -> list[Run]:
    path = Path(path)
    stages = _stage_files(path)
    runs: list[Run] = []
    config = _config(path)
    if stages:
        for index, (n, p) in enumerate(stages):
            runs.append(_run(p, _read(p), sha256_file(p), index=index, stage=n, config=config))
    elif (path / SUMMARY_NAME).is_file():
        p = path / SUMMARY_NAME
        runs.append(_run(p, _read(p), sha256_file(p), index=0, stage="all", config=config))
    elif not (path / PER_REQUEST_NAME).is_file():
        raise CasegenError("no inference-perf lifecycle reports in this folder", file=path,
                           expected="stage_N_lifecycle_metrics.json, summary_lifecycle_metrics.json or "
                                    "per_request_lifecycle_metrics.json")
    per_request = path / PER_REQUEST_NAME
    if per_request.is_file():
        text = _read(per_request)
        if runs and stages:
            _attach_requests(per_request, text, runs)
        else:
            return read_per_request(per_request, text, sha256_file(per_request))
    return runs


def _stage_files(path: Path) -> list[tuple[int, Path]]:
    return sorted(
        ((int(m.group(1)), p) for p in path.iterdir() if p.is_file() and (m := _STAGE_RE.match(p.name))),
        key=lambda t: t[0],
    )


def _config(folder: Path) -> dict | None:
    """The run's config.yaml (inference-perf writes it beside the reports), or None."""
    p = folder / "config.yaml"
    if not p.is_file():
        return None
    import yaml

    try:
        obj = yaml.safe_load(read_text(p))
    except yaml.YAMLError:
        return None  # not needed to read the reports; load facts then come from the reports alone
    return obj if isinstance(obj, dict) else None


def _model_name(config: dict | None) -> str | None:
    """The served model as the run's config.yaml names it (``server.model_name``), or None."""
    server = config.get("server") if isinstance(config, dict) else None
    name = server.get("model_name") if isinstance(server, dict) else None
    return name.strip()[:200] or None if isinstance(name, str) else None


def _config_stage(config: dict | None, stage: int | str | None) -> tuple[str | None, dict | None]:
    """(load type, this stage's config) from config.yaml."""
    load = config.get("load") if isinstance(config, dict) else None
    if not isinstance(load, dict):
        return None, None
    kind = load.get("type")
    stages = load.get("stages")
    st = stages[stage] if isinstance(stage, int) and isinstance(stages, list) and 0 <= stage < len(stages) else None
    return (str(kind) if kind is not None else None), (st if isinstance(st, dict) else None)


def _records(path: Path, text: str) -> list[dict]:
    doc = parse_json(text, path, PER_REQUEST_EXPECTED)
    if not isinstance(doc, list):
        raise CasegenError(f"top level is {_kind(doc)}", file=path, where="top level", expected=PER_REQUEST_EXPECTED)
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict):
            raise CasegenError(f"is {_kind(rec)}", file=path, where=f"record {i + 1}", expected="an object")
    return doc


def _requests(path: Path, records: list[tuple[int, dict]]):
    """Per-request frame from (record number, record) pairs."""
    start, e2e, ttft, inp, out, ok, err, gaps = [], [], [], [], [], [], [], []
    s_in: list[float | None] = []  # the server's usage, where the response carried it
    s_out: list[float | None] = []
    cached: list[float | None] = []  # the server's usage.prompt_tokens_details.cached_tokens, where reported
    for i, rec in records:
        w = f"record {i + 1}"
        t0 = number(rec.get("start_time"), path, where=w, key="start_time", optional=False, expected="a time in s")
        t1 = number(rec.get("end_time"), path, where=w, key="end_time", optional=False, expected="a time in s")
        info = sub_object(rec, "info")
        rm = sub_object(info, "response_metrics")
        times = rm.get("output_token_times") or rm.get("chunk_times")
        chunks = rm.get("chunk_times") or rm.get("output_token_times")
        error = rec.get("error")
        failed = error is not None
        first = last = None
        if isinstance(times, list) and times:
            first = number(times[0], path, where=w, key="info.response_metrics.output_token_times[0]")
            last = number(times[-1], path, where=w, key="info.response_metrics.output_token_times[-1]")
        chunk_s = None
        if isinstance(chunks, list) and len(chunks) >= 2:
            arr = np.asarray([number(c, path, where=w, key="info.response_metrics.chunk_times", optional=False)
                              for c in chunks], dtype=float)
            chunk_s = np.diff(arr)
        n_in = info.get("input_tokens")
        if n_in is None and isinstance(info.get("request_metrics"), dict):
            n_in = (info["request_metrics"].get("text") or {}).get("input_tokens") \
                if isinstance(info["request_metrics"].get("text"), dict) else None
        start.append(t0)
        e2e.append(np.nan if failed else (last if last is not None else t1) - t0)
        ttft.append(np.nan if failed or first is None else first - t0)
        inp.append(number(n_in, path, where=w, key="info.input_tokens", min_value=0))
        out.append(number(rm.get("output_tokens"), path, where=w, key="info.response_metrics.output_tokens",
                          min_value=0))
        usage = sub_object(rm, "server_usage")
        s_in.append(number(usage.get("prompt_tokens"), path, where=w, key="info.response_metrics.server_usage."
                           "prompt_tokens", min_value=0))
        s_out.append(number(usage.get("completion_tokens"), path, where=w, key="info.response_metrics.server_usage."
                            "completion_tokens", min_value=0))
        details = sub_object(usage, "prompt_tokens_details")
        cached.append(number(details.get("cached_tokens"), path, where=w, key="info.response_metrics.server_usage."
                             "prompt_tokens_details.cached_tokens", min_value=0))
        ok.append(not failed)
        if failed:
            text = error.get("error_msg") or error.get("error_type") if isinstance(error, dict) else error
            err.append(str(text or "error")[:300])
        else:
            err.append("")
        gaps.append(chunk_s)
    # the server's token counts when every successful request has them (one source per run, never a mix)
    server = any(ok) and all(a is not None and b is not None for a, b, good in zip(s_in, s_out, ok) if good)
    if server:
        inp = [a if good else c for a, c, good in zip(s_in, inp, ok)]
        out = [b if good else c for b, c, good in zip(s_out, out, ok)]
    # cached tokens are the server's: kept only beside the server's prompt counts (one source)
    cached_col = [np.nan if c is None else c for c in cached] if server else None
    df = make_requests_frame(ttft_s=ttft, e2e_s=e2e, input_tokens=inp, output_tokens=out, success=ok, error=err,
                             start_s=start, chunk_gaps_s=gaps, cached_tokens=cached_col)
    check_requests(df, path, where=lambda j: f"record {records[j][0] + 1}")
    return df, ("server" if server else "client")


def _token_definitions(source: str) -> list[str]:
    """DEFINITIONS, with where this run's token counts come from."""
    if source != "server":
        return list(DEFINITIONS)
    return [d.replace("output tokens = the client's count (response_metrics.output_tokens)",
                      "token counts = the server's (response_metrics.server_usage.prompt_tokens / "
                      "completion_tokens, the API response's usage), not the client's count") for d in DEFINITIONS]


def _attach_requests(path: Path, text: str, runs: list[Run]) -> None:
    """Split the per-request file over the stage runs in send order, by each stage's sent count."""
    records = _records(path, text)
    order = sorted(range(len(records)), key=lambda i: number(records[i].get("start_time"), path,
                                                                where=f"record {i + 1}", key="start_time",
                                                                optional=False) or 0.0)
    counts = [r.meta.num_prompts for r in runs]
    known = [c for c in counts if c is not None]
    if len(known) != len(counts) or sum(known) != len(records):
        raise CasegenError(
            f"holds {len(records)} requests but the stage reports beside it sent "
            f"{' + '.join(str(c) for c in counts)} = {sum(c or 0 for c in counts)}",
            file=path, expected="the per-request report of the same run as the stage_N_lifecycle_metrics.json files",
            hint="keep each inference-perf report folder as it was written, or point casegen at one stage file",
        )
    sha = sha256_file(path)
    pos = 0
    for run in runs:
        n = int(run.meta.num_prompts or 0)
        part = [(i, records[i]) for i in order[pos:pos + n]]
        pos += n
        run.requests, run.meta.token_source = _requests(path, part)
        run.definitions = _token_definitions(run.meta.token_source)
        run.meta.extra["per_request_file"] = path.name
        run.meta.extra["per_request_sha256"] = sha
        run.warnings = [w for w in run.warnings if not w.startswith("summary only")]
        run.warnings.append("per-request data from per_request_lifecycle_metrics.json, assigned to this stage in "
                            "send order by the stage's sent count (the file has no stage field)")
        run.parity_causes = dict(PARITY_CAUSES)
        run.tool_percentile_method = "linear"


def _read(path: Path) -> str:
    return read_text(path)


def read_per_request(path: Path, text: str, sha256: str) -> list[Run]:
    """``per_request_lifecycle_metrics.json`` alone: split by the stage files beside it, else one run."""
    path = Path(path)
    stages = _stage_files(path.parent)
    config = _config(path.parent)
    if stages:
        runs = [_run(p, _read(p), sha256_file(p), index=i, stage=n, config=config) for i, (n, p) in enumerate(stages)]
        _attach_requests(path, text, runs)
        return runs
    records = _records(path, text)
    df, token_source = _requests(path, list(enumerate(records)))
    meta = RunMeta(tool="inference-perf", format=FORMAT_PER_REQUEST, source=str(path), sha256=sha256,
                   num_prompts=len(records), label="all requests", streaming=bool(df.any_known("ttft_s")),
                   extra={"stage": "all"}, token_source=token_source, model=_model_name(config))
    warnings = ["no stage reports beside this per-request file: its requests may come from several load stages "
                "pooled together, which is not one load point"]
    return [Run(meta=meta, requests=df, warnings=warnings, definitions=_token_definitions(token_source),
                parity_causes=dict(PARITY_CAUSES), tool_percentile_method="linear")]


#: TPOT × (output tokens − 1) below this share of (E2E − TTFT), by the report's own means, is not per token
_TPOT_DECODE_SHARE_MIN = 0.6


def _line_timed_tpot(path: Path, summary: dict[str, dict[str, float]], succ: dict) -> str | None:
    """Drop ``summary['tpot']`` when it cannot be per token; return the run's warning, or None.

    inference-perf before PR #410/#452 appended a timestamp for every line its HTTP client read
    from the event stream — the ``data:`` line and the blank line of each server-sent event, plus
    the role, finish and ``[DONE]`` events — and divided (last − first) by that count − 1. With one
    token per event this is about half the time per token (KubeCon NA 2025 demo, stage 0:
    3.47 ms against (480 − 31) ms ÷ 62 tokens = 7.23 ms). The report's own means tell: the decode
    time TPOT implies, mean TPOT × (mean output tokens − 1), must be close to mean E2E − mean
    TTFT (E2E ends a few ms after the last token).
    """
    tpot, ttft, e2e = (summary.get(k, {}).get("mean") for k in ("tpot", "ttft", "e2e"))
    out = succ.get("output_len") if isinstance(succ.get("output_len"), dict) else succ.get("output_tokens")
    n_out = _num(path, out.get("mean"), "successes.output_len.mean") if isinstance(out, dict) else None
    if tpot is None or ttft is None or e2e is None or n_out is None or n_out < 3 or e2e <= ttft:
        return None
    per_token_ms = (e2e - ttft) / (n_out - 1)
    if tpot * (n_out - 1) >= _TPOT_DECODE_SHARE_MIN * (e2e - ttft):
        return None
    del summary["tpot"]
    return (f"TPOT left out: inference-perf's own time per output token (mean {tpot:.3g} ms) is {per_token_ms / tpot:.2g} times smaller than "
            f"the same report's (E2E − TTFT) ÷ (output tokens − 1) = ({e2e:.4g} − {ttft:.3g}) ms ÷ "
            f"{n_out - 1:.3g} = {per_token_ms:.3g} ms per token: this inference-perf version timed every line of "
            "the event stream (two per server-sent event), not every token (fixed in inference-perf PR #410/#452)")


def _run(path: Path, text: str, sha256: str, *, index: int, stage: int | str | None,
         config: dict | None = None) -> Run:
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
    tpot_warning = _line_timed_tpot(path, summary, succ)
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
            if v is None:
                mean = _num(path, d.get("mean"), f"successes.{new}.mean")
                v = mean * n_ok if mean is not None else None
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
    concurrency = _num(path, load.get("concurrency"), "load_summary.concurrency")
    load_type, stage_cfg = _config_stage(config, stage)
    if concurrency is None and load_type == "concurrent" and stage_cfg is not None:
        concurrency = _num(path, stage_cfg.get("concurrency_level"), "load.stages.concurrency_level (config.yaml)")
    if concurrency is not None and (concurrency < 1 or concurrency != int(concurrency)):
        raise _fail(path, f"is {concurrency!r}", "load_summary.concurrency", "a whole number ≥ 1")
    is_concurrency = concurrency is not None or load_type == "concurrent"
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
        request_rate=None if is_concurrency else requested,
        max_concurrency=int(concurrency) if concurrency is not None else None, num_prompts=num_prompts, duration_s=duration,
        streaming=("ttft" in summary) if n_ok else None, label=label, index=index, extra=extra,
        model=_model_name(config),
    )
    warnings = ["summary only: inference-perf lifecycle reports hold statistics, not per-request data; "
                "only the percentiles inference-perf printed (median, p90, p95, p99) are available"]
    if stage == "all":
        warnings.append("this is the all-stages summary: it pools requests sent at every stage's rate, so it "
                        "is not one load point; compare stage files instead")
    if is_concurrency:
        extra["load_type"] = "concurrent"
        if requested is not None:
            extra["placeholder_rate"] = requested  # num_requests / duration inference-perf sets for scheduling
    elif load_type:
        extra["load_type"] = load_type
    if (not is_concurrency and requested is not None and achieved is not None and requested > 0
            and achieved < 0.95 * requested):
        warnings.append(f"the load generator fell behind: achieved {achieved:.3g} req/s of the "
                        f"{requested:.3g} req/s requested")
    if n_ok == 0:
        warnings.append("no request succeeded; there are no latency statistics")
    if tpot_warning:
        warnings.append(tpot_warning)
    if "tokens" in summary and schema == "prompt_len/output_len":
        warnings.append("token totals are derived as mean tokens × successful requests (this report "
                        "schema has no totals)")
    return Run(meta=meta, requests=None, tool_summary=summary, warnings=warnings, definitions=list(DEFINITIONS))


FORMATS = [
    Format(name=FORMAT_PER_REQUEST,
           description="kubernetes-sigs inference-perf per-request report (per_request_lifecycle_metrics.json)",
           sniff=sniff_per_request, read=read_per_request, priority=34),
    Format(name=FORMAT,
           description="kubernetes-sigs inference-perf lifecycle report (stage_N_/summary_lifecycle_metrics.json "
                       "or its report folder)",
           sniff=sniff, read=read, sniff_dir=sniff_dir, read_dir=read_dir, priority=35),
]
