"""GuideLLM (vllm-project/guidellm) benchmark reports: ``benchmarks.json`` / ``.yaml``.

One file holds every benchmark (strategy) of a profile; each benchmark is one run here
(a ``sweep`` profile gives synchronous, throughput and N constant-rate runs).
Format notes: docs/formats/guidellm.md. Two schema generations are read:

* 0.2.x–0.3.x: ``{"benchmarks": [...]}``; per benchmark ``args.strategy``, ``worker``,
  ``run_stats``, ``request_totals``, ``metrics``, ``requests{successful, errored,
  incomplete}`` with flat per-request ``start_time`` / ``first_token_time`` /
  ``last_token_time`` / ``end_time`` (epoch seconds);
* 0.4.x+: ``{["metadata",] "args"|"config", "benchmarks": [...]}``; per benchmark
  ``config.strategy``, ``config.backend``, ``metrics.request_totals``, and per-request
  ``info.timings`` (``request_start``, ``first_token_iteration``, ``last_token_iteration``,
  ``request_end``).

Per-request rows are built only when the request lists are complete (their counts equal
the benchmark's ``request_totals``); GuideLLM's ``--sample-requests`` / the stripped test
fixture keep only a sample, and then the run is summary only. Like GuideLLM, only requests
that overlap the benchmark's measurement window (``start_time``–``end_time``, i.e. after
warm-up and before cool-down) are kept.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from casegen.errors import CasegenError, require
from casegen.runs.fields import number
from casegen.runs.jsonio import kind_of as _kind
from casegen.runs.jsonio import parse_json
from casegen.runs.model import Format, Run, RunMeta, check_requests, make_requests_frame

FORMAT = "guidellm"
EXPECTED = "a GuideLLM benchmarks.json/.yaml report ({'benchmarks': [{'type_': 'generative_benchmark', ...}]})"

#: GuideLLM metric → (casegen metric, factor to ms)
_LATENCY = {
    "time_to_first_token_ms": ("ttft", 1.0),
    "inter_token_latency_ms": ("tpot", 1.0),
    "request_latency": ("e2e", 1000.0),
}

DEFINITIONS = [
    "GuideLLM's 'time_to_first_token_ms' (request start → first token iteration) is TTFT here.",
    "GuideLLM's 'inter_token_latency_ms' ((last token − first token) / (output tokens − 1)) is TPOT here.",
    "GuideLLM's 'time_per_output_token_ms' is not used: in 0.2–0.3 it is decode time / output tokens and "
    "from 0.4 it is (last token − request start) / output tokens, i.e. it includes TTFT.",
    "GuideLLM's 'request_latency' (seconds, request start → response end) is end-to-end latency here; "
    "it ends when the HTTP response closes, a few ms after the last token, so casegen's recomputed E2E "
    "(send → last token) is slightly lower.",
    "GuideLLM records no per-chunk timings, so casegen's inter-chunk latency (ITL) is not available.",
    "GuideLLM's 'requests_per_second' / 'output_tokens_per_second' / 'tokens_per_second' are "
    "distributions over time within the window, not count / duration, and are not used as throughput.",
    "GuideLLM's 'incomplete' requests (cancelled when the benchmark ended) count as failed here, "
    "like its 'errored' ones.",
]


#: Known differences between casegen's figures from GuideLLM's requests and GuideLLM's own statistics.
PARITY_CAUSES = {
    "e2e": "E2E end point: GuideLLM's request_latency ends when the HTTP response closes (request_end, after the "
           "usage chunk and [DONE]); casegen's end-to-end latency ends at the last token",
    "tpot": "TPOT weighting: GuideLLM weights each request's TPOT by its output tokens − 1; casegen counts each "
            "request once",
}

# --------------------------------------------------------------------------- parsing

def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else None
            raise CasegenError(f"is not valid YAML ({getattr(err, 'problem', None) or err})",
                               file=path, where=where, expected=EXPECTED) from None
    return parse_json(text, path, EXPECTED)


def sniff(path: Path, text: str) -> bool:
    head = text[:200_000]
    if path.suffix.lower() in (".yaml", ".yml"):
        return "benchmarks:" in head and "type_: generative_benchmark" in head
    return (text.lstrip()[:1] == "{" and '"benchmarks"' in head
            and ('"type_": "generative_benchmark"' in head or '"type_":"generative_benchmark"' in head))


class _Ctx:
    """Typed access to nested keys with clear error locations."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, what: str, where: str, expected: str) -> CasegenError:
        return CasegenError(what, file=self.path, where=f"key {where}", expected=expected)

    @overload
    def obj(self, value: Any, where: str, optional: Literal[False] = False) -> dict: ...
    @overload
    def obj(self, value: Any, where: str, optional: bool) -> dict | None: ...

    def obj(self, value: Any, where: str, optional: bool = False) -> dict | None:
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            raise self.fail(f"is {_kind(value)}", where, "an object")
        return value

    @overload
    def lst(self, value: Any, where: str, optional: Literal[False] = False) -> list: ...
    @overload
    def lst(self, value: Any, where: str, optional: bool) -> list | None: ...

    def lst(self, value: Any, where: str, optional: bool = False) -> list | None:
        if value is None and optional:
            return None
        if not isinstance(value, list):
            raise self.fail(f"is {_kind(value)}", where, "a list")
        return value

    def num(self, value: Any, where: str, optional: bool = True, allow_inf: bool = False,
            min_value: float | None = None) -> float | None:
        """The one number policy of :func:`casegen.runs.fields.number` at key ``where``."""
        return number(value, self.path, key=where, optional=optional, allow_inf=allow_inf, min_value=min_value)


# --------------------------------------------------------------------------- reading

def read(path: Path, text: str, sha256: str) -> list[Run]:
    """Read every benchmark of a GuideLLM report as one run each."""
    path = Path(path)
    doc = _parse(path, text)
    c = _Ctx(path)
    if not isinstance(doc, dict):
        raise CasegenError(f"top level is {_kind(doc)}", file=path, where="top level", expected=EXPECTED)
    if "benchmarks" not in doc:
        raise c.fail("is missing", "benchmarks", "a list of GuideLLM benchmarks")
    benchmarks = c.lst(doc["benchmarks"], "benchmarks")
    if not benchmarks:
        raise c.fail("is an empty list: the report holds no benchmarks", "benchmarks",
                     "at least one benchmark (did the GuideLLM run finish?)")
    metadata = c.obj(doc.get("metadata"), "metadata", optional=True) or {}
    top_args = c.obj(doc.get("args", doc.get("config")), "args", optional=True) or {}
    version = metadata.get("guidellm_version")
    runs = []
    for i, bench in enumerate(benchmarks):
        runs.append(_run(c, bench, i, sha256, version, top_args))
    return runs


def _run(c: _Ctx, bench: Any, i: int, sha256: str, version: Any, top_args: dict) -> Run:
    w = f"benchmarks[{i}]"
    b = c.obj(bench, w)
    if b.get("type_") != "generative_benchmark":
        raise c.fail(f"type_ is {_kind(b.get('type_'))}", f"{w}.type_", "'generative_benchmark'")
    new = "config" in b  # 0.4+ layout
    if new:
        cfg = c.obj(b["config"], f"{w}.config")
        strat_where = f"{w}.config.strategy"
        strategy = c.obj(cfg.get("strategy"), strat_where)
        backend = c.obj(cfg.get("backend"), f"{w}.config.backend", optional=True) or {}
        model = backend.get("model") or top_args.get("model")
        backend_type = top_args.get("backend")
        profile = c.obj(cfg.get("profile"), f"{w}.config.profile", optional=True) or {}
        run_index = cfg.get("run_index")
        metrics = c.obj(b.get("metrics"), f"{w}.metrics")
        totals_src, totals_where = metrics.get("request_totals"), f"{w}.metrics.request_totals"
        schema = "0.4+"
    else:
        if "args" not in b:
            raise c.fail("is missing", f"{w}.args", "GuideLLM 0.2–0.3 'args' or 0.4+ 'config'")
        args = c.obj(b["args"], f"{w}.args")
        strat_where = f"{w}.args.strategy"
        strategy = c.obj(args.get("strategy"), strat_where)
        worker = c.obj(b.get("worker"), f"{w}.worker", optional=True) or {}
        model = worker.get("backend_model")
        backend_type = worker.get("backend_type")
        profile = c.obj(args.get("profile"), f"{w}.args.profile", optional=True) or {}
        run_index = args.get("strategy_index")
        metrics = c.obj(b.get("metrics"), f"{w}.metrics")
        totals_src, totals_where = b.get("request_totals"), f"{w}.request_totals"
        schema = "0.2–0.3"
    totals = c.obj(totals_src, totals_where)
    counts = {k: c.num(totals.get(k), f"{totals_where}.{k}", optional=k == "total")
              for k in ("successful", "errored", "incomplete", "total")}
    for k, v in counts.items():
        if v is not None and (v < 0 or v != int(v)):
            raise c.fail(f"is {v!r}", f"{totals_where}.{k}", "a request count ≥ 0")
    n_ok, n_err, n_inc = (int(require(counts[k], f"{totals_where}.{k} (read with optional=False)"))
                          for k in ("successful", "errored", "incomplete"))
    n_total = int(counts["total"]) if counts["total"] is not None else n_ok + n_err + n_inc

    stype = strategy.get("type_")
    if not isinstance(stype, str):
        raise c.fail(f"is {_kind(stype)}", f"{strat_where}.type_", "a strategy name such as 'synchronous'")
    rate = c.num(strategy.get("rate"), f"{strat_where}.rate", allow_inf=True)
    streams = c.num(strategy.get("streams"), f"{strat_where}.streams", allow_inf=True)
    max_conc = c.num(strategy.get("max_concurrency"), f"{strat_where}.max_concurrency", allow_inf=True)
    request_rate: float | None = None
    concurrency: float | None = None
    if stype == "synchronous":
        concurrency = 1
    elif stype == "concurrent":
        concurrency = streams if streams is not None else max_conc
    elif stype == "throughput":
        request_rate = math.inf
        concurrency = max_conc
    else:  # constant, poisson, async: a rate load; max_concurrency is only a cap (default 10240 in 0.8)
        request_rate = rate
        concurrency = None
    label = stype
    if stype == "concurrent" and concurrency is not None:
        label = f"concurrent-{concurrency:g}"
    elif stype not in ("synchronous", "throughput") and rate is not None:
        label = f"{stype}-{rate:g}"

    duration = c.num(b.get("duration"), f"{w}.duration")
    start = c.num(b.get("start_time"), f"{w}.start_time")
    end = c.num(b.get("end_time"), f"{w}.end_time")
    date = None
    if start is not None and math.isfinite(start) and 0 < start < 1e11:
        date = datetime.fromtimestamp(start, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    extra: dict[str, Any] = {"strategy": stype, "guidellm_schema": schema}
    if request_rate is not None and max_conc is not None and math.isfinite(max_conc) and stype != "throughput":
        extra["max_concurrency_cap"] = int(max_conc)
    if isinstance(profile.get("type_"), str):
        extra["profile"] = profile["type_"]
    if isinstance(run_index, int) and not isinstance(run_index, bool):
        extra["strategy_index"] = run_index
    for key in ("warmup_duration", "cooldown_duration"):
        v = b.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            extra[key.replace("_duration", "_s")] = float(v)
    rps = metrics.get("requests_per_second")
    if isinstance(rps, dict) and isinstance(rps.get("successful"), dict):
        m = rps["successful"].get("mean")
        if isinstance(m, (int, float)) and not isinstance(m, bool):
            extra["guidellm_mean_rps"] = float(m)
    if isinstance(b.get("id_"), str) or (new and isinstance(b["config"].get("id_"), str)):
        extra["benchmark_id"] = b.get("id_") or b["config"].get("id_")

    meta = RunMeta(
        tool="guidellm", format=FORMAT, source=str(c.path), sha256=sha256,
        tool_version=str(version) if version is not None else None,
        model=str(model) if model is not None else None,
        backend=str(backend_type) if backend_type is not None else None,
        date=date, label=label, request_rate=request_rate,
        max_concurrency=int(concurrency) if concurrency is not None and math.isfinite(concurrency) else None,
        num_prompts=n_total, duration_s=duration, streaming=True, index=i, extra=extra,
    )

    summary = _summary(c, metrics, w, n_ok, n_err, n_inc, n_total)
    warnings: list[str] = []
    definitions = list(DEFINITIONS)
    definitions.append(
        "GuideLLM's TPOT ('inter_token_latency_ms') statistics weight each request by its output "
        "tokens − 1 and its percentiles are a weighted inverse CDF without interpolation; casegen's "
        "are per request with linear interpolation, so they agree only when output lengths are equal "
        "and differ slightly in the percentiles otherwise."
    )
    if schema == "0.2–0.3" and not version:
        warnings.append("GuideLLM 0.2–0.3 report: the file does not record the GuideLLM version")

    requests, trimmed, reason = _requests(c, b, w, (n_ok, n_err, n_inc), start, end)
    run = Run(meta=meta, requests=requests, tool_summary=summary, warnings=warnings, definitions=definitions,
              tool_percentile_method="guidellm", parity_causes=dict(PARITY_CAUSES))
    run.trimmed = trimmed
    if requests is None:
        warnings.append(f"summary only: {reason}; percentiles other than those GuideLLM printed are unavailable")
        if duration and duration > 0:
            tp = {"requests_per_s": n_ok / duration}
            tok = summary.get("tokens", {})
            if "output_total" in tok:
                tp["output_tokens_per_s"] = tok["output_total"] / duration
                if "input_total" in tok:
                    tp["total_tokens_per_s"] = (tok["output_total"] + tok["input_total"]) / duration
            summary["throughput"] = tp
            definitions.append(
                "Throughput of this summary-only run is derived as GuideLLM's successful request and "
                "token totals divided by its measured 'duration' (casegen's definition)."
            )
        if n_ok:
            warnings.append("summary-only GuideLLM percentiles are GuideLLM's own (inverse CDF, no "
                            "interpolation; TPOT token-weighted)")
    else:
        if trimmed:
            warnings.append(
                f"{trimmed} request(s) outside GuideLLM's measurement window (warm-up/cool-down) were "
                "dropped, as GuideLLM does; the window is the benchmark's 'duration'"
            )
        if n_inc:
            warnings.append(f"{n_inc} incomplete request(s) (cancelled when the benchmark ended) count as failed")
    if stype == "throughput":
        warnings.append("GuideLLM 'throughput' strategy: all requests are sent at once (rate shown as inf)")
    return run


def _dist(c: _Ctx, value: Any, where: str, factor: float) -> dict[str, float] | None:
    d = c.obj(value, where, optional=True)
    if d is None:
        return None
    count = c.num(d.get("count"), f"{where}.count")
    if count is not None and count <= 0:
        return None  # GuideLLM writes 0.0 for every statistic of an empty distribution
    pct = c.obj(d.get("percentiles"), f"{where}.percentiles", optional=True) or {}
    out: dict[str, float] = {}
    for src, key in (("mean", "mean"), ("std_dev", "std"), ("min", "min"), ("max", "max")):
        v = c.num(d.get(src), f"{where}.{src}", min_value=0)
        if v is not None:
            out[key] = v * factor
    p50 = pct.get("p50", d.get("median"))
    v = c.num(p50, f"{where}.percentiles.p50" if "p50" in pct else f"{where}.median", min_value=0)
    if v is not None:
        out["p50"] = v * factor
    for key in ("p90", "p95", "p99"):
        v = c.num(pct.get(key), f"{where}.percentiles.{key}", min_value=0)
        if v is not None:
            out[key] = v * factor
    for key, v in out.items():
        if not math.isfinite(v):
            raise c.fail(f"{key} is not a finite number", where, "finite statistics")
    return out or None


def _summary(c: _Ctx, metrics: dict, w: str, n_ok: int, n_err: int, n_inc: int, n_total: int) -> dict:
    summary: dict[str, dict[str, float]] = {}
    for gkey, (ckey, factor) in _LATENCY.items():
        status = c.obj(metrics.get(gkey), f"{w}.metrics.{gkey}", optional=True)
        if status is None:
            continue
        stats = _dist(c, status.get("successful"), f"{w}.metrics.{gkey}.successful", factor)
        if stats and n_ok:
            summary[ckey] = stats
    tokens: dict[str, float] = {}
    for gkey, ckey in (("prompt_token_count", "input_total"), ("output_token_count", "output_total")):
        status = c.obj(metrics.get(gkey), f"{w}.metrics.{gkey}", optional=True)
        if status is None:
            continue
        ok = c.obj(status.get("successful"), f"{w}.metrics.{gkey}.successful", optional=True)
        if ok is not None:
            v = c.num(ok.get("total_sum"), f"{w}.metrics.{gkey}.successful.total_sum")
            if v is not None:
                tokens[ckey] = v
    if tokens:
        summary["tokens"] = tokens
    summary["requests"] = {"total": float(n_total), "succeeded": float(n_ok), "failed": float(n_err + n_inc)}
    return summary


# --------------------------------------------------------------------------- per-request

def _timing(c: _Ctx, r: dict, where: str, flat: str, timing: str) -> float | None:
    info = r.get("info")
    if isinstance(info, dict) and isinstance(info.get("timings"), dict):
        v = info["timings"].get(timing)
        return c.num(v, f"{where}.info.timings.{timing}")
    return c.num(r.get(flat), f"{where}.{flat}")


def _requests(c: _Ctx, b: dict, w: str, expected: tuple[int, int, int],
              win_start: float | None, win_end: float | None):
    """(frame or None, number trimmed, reason when None)."""
    reqs = b.get("requests")
    if reqs is None:
        return None, 0, "the report holds no per-request lists"
    reqs = c.obj(reqs, f"{w}.requests")
    rows: list[tuple[float, float, float, float, float, bool, str, float, float]] = []
    kept = {"successful": 0, "errored": 0, "incomplete": 0}
    trimmed = 0
    for status in ("successful", "errored", "incomplete"):
        items = c.lst(reqs.get(status), f"{w}.requests.{status}", optional=True) or []
        for j, item in enumerate(items):
            wr = f"{w}.requests.{status}[{j}]"
            r = c.obj(item, wr)
            start = _timing(c, r, wr, "start_time", "request_start")
            if start is None:
                start = c.num(r.get("request_start_time"), f"{wr}.request_start_time")
            end = _timing(c, r, wr, "end_time", "request_end")
            if end is None:
                end = c.num(r.get("request_end_time"), f"{wr}.request_end_time")
            first = _timing(c, r, wr, "first_token_time", "first_token_iteration")
            last = _timing(c, r, wr, "last_token_time", "last_token_iteration")
            # GuideLLM keeps requests that overlap its measurement window
            if win_start is not None and win_end is not None and start is not None:
                stop = end if end is not None else (last if last is not None else start)
                if stop <= win_start or start >= win_end:
                    trimmed += 1
                    continue
            kept[status] += 1
            n_in = c.num(r.get("prompt_tokens"), f"{wr}.prompt_tokens")
            n_out = c.num(r.get("output_tokens"), f"{wr}.output_tokens")
            # prompt tokens served from the server's prefix cache (usage.prompt_tokens_details.cached_tokens);
            # null when the server did not report it
            n_cached = c.num(r.get("cached_tokens"), f"{wr}.cached_tokens")
            # GuideLLM's scheduler: the request was due at targeted_start and sent at request_start (its own
            # queue, outside TTFT)
            due = _timing(c, r, wr, "targeted_start", "targeted_start") if isinstance(r.get("info"), dict) else None
            wait = start - due if start is not None and due is not None else math.nan
            if status == "successful":
                if start is None:
                    raise c.fail("has no request start time", wr, "'start_time' or info.timings.request_start")
                ttft = first - start if first is not None else math.nan
                if last is not None:
                    e2e = last - start
                elif end is not None:
                    e2e = end - start
                else:
                    lat = c.num(r.get("request_latency"), f"{wr}.request_latency")
                    e2e = lat if lat is not None else math.nan
                rows.append((start, ttft, e2e, _nan(n_in), _nan(n_out), True, "", _nan(n_cached), wait))
            else:
                err = r.get("error")
                info = r.get("info")
                if err is None and isinstance(info, dict):
                    err = info.get("error")
                text = str(err) if err else ("incomplete: cancelled when the benchmark ended"
                                             if status == "incomplete" else "errored")
                rows.append((_nan(start), math.nan, math.nan, _nan(n_in), _nan(n_out), False, text, _nan(n_cached),
                             wait))
    want = dict(zip(("successful", "errored", "incomplete"), expected))
    if kept != want:
        got = ", ".join(f"{kept[k]} {k}" for k in want)
        total_want = ", ".join(f"{want[k]} {k}" for k in want)
        return None, 0, (f"the per-request lists hold {got} in the measurement window but the benchmark "
                         f"counted {total_want} (GuideLLM kept only a sample of the requests)")
    if not rows:
        return None, 0, "the benchmark has no requests"
    rows.sort(key=lambda t: (math.isnan(t[0]), t[0]))
    cols = list(zip(*rows))
    df = make_requests_frame(
        start_s=np.array(cols[0], dtype=float), ttft_s=np.array(cols[1], dtype=float),
        e2e_s=np.array(cols[2], dtype=float), input_tokens=np.array(cols[3], dtype=float),
        output_tokens=np.array(cols[4], dtype=float), success=np.array(cols[5], dtype=bool),
        error=list(cols[6]), cached_tokens=np.array(cols[7], dtype=float), client_wait_s=np.array(cols[8], dtype=float),
    )
    check_requests(df, c.path, lambda k: f"{w}.requests, request {k + 1} in send order")
    return df, trimmed, ""


def _nan(v: float | None) -> float:
    return math.nan if v is None else v


# --------------------------------------------------------------------------- benchmarks.csv (0.8)

_CSV_PCTS = ("p001", "p01", "p05", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "p999")
#: (group, name) of the CSV's latency columns → (casegen metric, factor to ms)
_CSV_LATENCY = {
    ("Time to First Token", "Successful ms"): ("ttft", 1.0),
    ("Inter Token Latency", "Successful ms"): ("tpot", 1.0),
    ("Request Latency", "Successful Sec"): ("e2e", 1000.0),
}
_CSV_EXPECTED = "GuideLLM benchmarks.csv: three header rows (group, name, statistic), then one row per benchmark"


def sniff_csv(path: Path, text: str) -> bool:
    return text.lstrip()[:200].startswith("Run Info,Run Info") and "Time to First Token" in text[:20000]


def read_csv(path: Path, text: str, sha256: str) -> list[Run]:
    """GuideLLM 0.8 ``benchmarks.csv``: one summary-only run per benchmark row (the CSV has no requests)."""
    import csv
    import io
    import json

    from casegen.runs.fields import count, number

    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 4:
        raise CasegenError("has no benchmark rows", file=path, expected=_CSV_EXPECTED)
    group, name, stat = rows[0], rows[1], rows[2]
    if not (len(group) == len(name) == len(stat)):
        raise CasegenError("header rows differ in length", file=path, where="lines 1–3", expected=_CSV_EXPECTED)
    col = {(g.strip(), n.strip(), st.strip()): j for j, (g, n, st) in enumerate(zip(group, name, stat))}
    runs: list[Run] = []
    for i, row in enumerate(rows[3:]):
        line = i + 4
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(group):
            raise CasegenError(f"row has {len(row)} cells, the header has {len(group)}", file=path,
                               where=f"line {line}", expected=_CSV_EXPECTED)

        def cell(g: str, n: str, st: str = "") -> str | None:
            j = col.get((g, n, st))
            return row[j] if j is not None else None  # noqa: B023 (called only within this iteration)

        summary: dict[str, dict[str, float]] = {}
        for (g, n), (metric, factor) in _CSV_LATENCY.items():
            stats: dict[str, float] = {}
            for st, key in (("Mean", "mean"), ("Median", "p50"), ("Std Dev", "std")):
                v = number(cell(g, n, st), path, line=line, key=f"{g} / {n} / {st}")
                if v is not None:
                    stats[key] = v * factor
            raw = cell(g, n, "Percentiles")
            if raw:
                try:
                    values = json.loads(raw)
                except (ValueError, RecursionError):  # bad JSON, a 5,000-digit integer, deep nesting
                    values = None
                if not isinstance(values, list) or len(values) != len(_CSV_PCTS):
                    raise CasegenError(f"percentiles cell is {raw[:40]!r}", file=path, where=f"line {line}, {g}",
                                       expected=f"a list of {len(_CSV_PCTS)} numbers ({', '.join(_CSV_PCTS)})")
                for key, v in zip(_CSV_PCTS, values):
                    if key in ("p90", "p95", "p99"):
                        num = number(v, path, line=line, key=f"{g} / Percentiles / {key}")
                        if num is not None:
                            stats[key] = num * factor
            if stats:
                summary[metric] = stats
        n_ok = count(cell("Request Counts", "Successful"), path, line=line, key="Request Counts / Successful")
        n_inc = count(cell("Request Counts", "Incomplete") or 0, path, line=line, key="Request Counts / Incomplete")
        n_err = count(cell("Request Counts", "Errored") or 0, path, line=line, key="Request Counts / Errored")
        assert n_ok is not None and n_inc is not None and n_err is not None
        summary["requests"] = {"total": float(n_ok + n_inc + n_err), "succeeded": float(n_ok),
                               "failed": float(n_inc + n_err)}
        duration = number(cell("Timings", "Duration", "Sec"), path, line=line, key="Timings / Duration", min_value=0)
        strategy = (cell("Benchmark", "Strategy") or "").strip()
        kind, _, value = strategy.partition("@")
        load = number(value, path, line=line, key="Benchmark / Strategy", expected="kind@number") if value else None
        rate = conc = None
        if kind == "concurrent":
            conc = int(load) if load is not None else None
        elif kind == "synchronous":
            conc = 1
        elif kind == "throughput":
            rate = math.inf
        elif load is not None:
            rate = load
        tok_out = number(cell("Token Metrics", "Successful Output Tokens", "Mean"), path, line=line,
                         key="Token Metrics / Successful Output Tokens / Mean")
        tok_in = number(cell("Token Metrics", "Successful Input Tokens", "Mean"), path, line=line,
                        key="Token Metrics / Successful Input Tokens / Mean")
        if tok_out is not None or tok_in is not None:
            summary["tokens"] = {k: v * n_ok for k, v in (("output_total", tok_out), ("input_total", tok_in))
                                 if v is not None}
        if duration:
            summary["throughput"] = {"requests_per_s": n_ok / duration}
            if tok_out is not None:
                summary["throughput"]["output_tokens_per_s"] = tok_out * n_ok / duration
        meta = RunMeta(tool="guidellm", format=FORMAT_CSV, source=str(path), sha256=sha256, label=strategy or None,
                       request_rate=rate, max_concurrency=conc, num_prompts=n_ok + n_inc + n_err,
                       duration_s=duration, streaming="ttft" in summary, index=len(runs),
                       extra={"strategy": kind} if kind else {})
        warnings = ["summary only: GuideLLM's CSV holds statistics; benchmarks.json from the same run has every "
                    "request (read that for intervals and SLO verdicts)",
                    "throughput is successful requests / benchmark duration (GuideLLM's own per-second figures in "
                    "the CSV are distributions over time, not used)"]
        runs.append(Run(meta=meta, requests=None, tool_summary=summary, warnings=warnings,
                        definitions=list(DEFINITIONS)))
    if not runs:
        raise CasegenError("has no benchmark rows", file=path, expected=_CSV_EXPECTED)
    return runs


def sniff_html(path: Path, text: str) -> bool:
    return path.suffix.lower() in (".html", ".htm") and "guidellm" in text[:200000].lower()


def read_html(path: Path, text: str, sha256: str) -> list[Run]:
    """GuideLLM's HTML report embeds its data for the browser; casegen reads the JSON of the same run."""
    for twin in (path.with_suffix(".json"), path.with_suffix(".yaml"), path.parent / "benchmarks.json"):
        if twin.is_file():
            from casegen.runs.fields import read_text
            from casegen.runs.model import sha256_file

            return read(twin, read_text(twin), sha256_file(twin))
    raise CasegenError("this is GuideLLM's HTML report, which casegen does not read", file=path,
                       expected="benchmarks.json (or .yaml / .csv) from the same run: GuideLLM writes it with "
                                "--output kind=json")


_DIR_FILES = ("benchmarks.json", "benchmarks.yaml", "benchmarks.csv")


def sniff_dir(path: Path) -> bool:
    return any((path / n).is_file() for n in _DIR_FILES)


def read_dir(path: Path) -> list[Run]:
    """A GuideLLM output folder (json + csv + html of one run): the JSON (every request), else YAML, else CSV."""
    from casegen.runs.fields import read_text
    from casegen.runs.model import sha256_file

    for n in _DIR_FILES:
        p = path / n
        if p.is_file():
            reader = read_csv if n.endswith(".csv") else read
            runs = reader(p, read_text(p), sha256_file(p))
            others = [m for m in _DIR_FILES if m != n and (path / m).is_file()]
            for run in runs:
                if others:
                    run.meta.extra["also_in_folder"] = ", ".join(others)
            return runs
    raise CasegenError("no GuideLLM report in this folder", file=path, expected=" or ".join(_DIR_FILES))


FORMAT_CSV = "guidellm-csv"

FORMATS = [
    Format(name=FORMAT_CSV, description="GuideLLM benchmarks.csv (0.8), summary only", sniff=sniff_csv,
           read=read_csv, priority=33),
    Format(name="guidellm-html", description="GuideLLM benchmarks.html (read through the JSON of the same run)",
           sniff=sniff_html, read=read_html, priority=95),
    Format(name=FORMAT, description="GuideLLM benchmarks.json / benchmarks.yaml report (0.2+)",
           sniff=sniff, read=read, sniff_dir=sniff_dir, read_dir=read_dir, priority=25),
]
