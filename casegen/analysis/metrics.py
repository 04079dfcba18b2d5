"""Latency, throughput and workload metrics, recomputed from per-request data.

One code path computes every figure (definitions: ``docs/metrics.md``):

* **TTFT** — send → first streamed chunk, per successful request.
* **E2E** — send → last chunk, per successful request.
* **decode** — E2E − TTFT.
* **TPOT** — decode / (output tokens − 1), for requests with ≥ 2 output tokens.
* **ITL** (inter-chunk latency) — every gap between consecutive streamed chunks,
  pooled over all successful requests; a *per chunk* figure, not per token.

Distributions report n, mean, population std, min, p50, p90, p95, p99, max, in
**milliseconds**; percentiles use NumPy's ``linear`` method by default
(``mlperf`` = ``sorted(x)[floor(n·p)]`` is the alternative).
Throughput divides by the run duration: the tool's own measured duration when
the file has one, else first send → last completion from per-request timestamps.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from casegen import registry
from casegen.formatting import fmt_ms, fmt_sig
from casegen.runs.model import Run

PERCENTILES: dict[str, float] = {k: q * 100 for k in registry.PERCENTILE_STATS
                                  if (q := registry.STATISTICS[k].quantile) is not None}  # all of them: percentiles have one
DIST_STATS: tuple[str, ...] = ("n", "mean", "std", "min", *registry.PERCENTILE_STATS, "max")
DELTA_STATS: tuple[str, ...] = registry.TABLE_STATS
METRIC_LABELS: dict[str, str] = registry.METRIC_LABELS
PARITY_TOLERANCE_PCT = 1.0


@dataclass
class Dist:
    """Summary of one distribution. Latencies in ms, token counts in tokens."""

    n: int | None
    mean: float | None
    std: float | None = None
    min: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None

    def get(self, stat: str) -> float | None:
        return getattr(self, stat)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: np.ndarray, p: float, method: str = "linear") -> float:
    """The p-th percentile (p in 0–100) of ``values``.

    ``linear``: NumPy's default (Hyndman–Fan type 7), what vLLM, GenAI-Perf,
    AIPerf and LLMPerf use. ``mlperf``: MLPerf LoadGen's ``sorted(x)[floor(n·p)]``.
    ``nearest``: NumPy's ``method='nearest'`` (the sorted value at index ``round((n−1)·p)``, ties to
    even). ``guidellm``: what GuideLLM prints (only for parity with it; not a case setting): the first
    sorted value whose cumulative share reaches p, the shares 1/n summed in floating point as GuideLLM
    sums them (``Percentiles.from_pdf``: ``searchsorted(cumsum(probabilities), p, side="left")`` over the
    distinct values), so where n·p is a whole number it may take the next value.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan
    if method == "guidellm":
        distinct, counts = np.unique(x, return_counts=True)
        cdf = np.cumsum(counts / counts.sum())
        return float(distinct[min(int(np.searchsorted(cdf, p / 100.0, side="left")), distinct.size - 1)])
    if method == "linear":
        return float(np.percentile(x, p))
    if method == "nearest":
        return float(np.percentile(x, p, method="nearest"))
    if method == "mlperf":
        s = np.sort(x)
        return float(s[min(int(math.floor(x.size * p / 100.0)), x.size - 1)])
    raise ValueError(f"unknown percentile method {method!r}")


def describe(values: Any, method: str = "linear") -> Dist | None:
    """Distribution summary of ``values`` (already in display units); None if empty."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None
    return Dist(
        n=int(x.size),
        mean=float(x.mean()),
        std=float(x.std(ddof=0)),
        min=float(x.min()),
        max=float(x.max()),
        **percentiles(x, method),
    )


def percentiles(x: np.ndarray, method: str = "linear") -> dict[str, float]:
    """p50/p90/p95/p99 of finite ``x`` in one pass over the data (same values as :func:`percentile`)."""
    if method in ("linear", "nearest"):
        values = np.percentile(x, list(PERCENTILES.values()), method=method)  # type: ignore[call-overload]  # method is a checked str
        return {k: float(v) for k, v in zip(PERCENTILES, values)}
    if method == "mlperf":
        s = np.sort(x)
        return {k: float(s[min(int(math.floor(x.size * p / 100.0)), x.size - 1)]) for k, p in PERCENTILES.items()}
    raise ValueError(f"unknown percentile method {method!r}")


def request_latencies_ms(df) -> dict[str, np.ndarray]:
    """TTFT, E2E, decode time and TPOT (ms) for every row of a per-request frame, aligned with it.

    The one place these per-request definitions are computed; NaN where a value is undefined
    (failed request, no TTFT, TPOT with fewer than 2 output tokens).
    """
    ttft = df["ttft_s"] * 1e3
    e2e = df["e2e_s"] * 1e3
    out = df["output_tokens"]
    decode = e2e - ttft  # NaN where TTFT is unknown
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out >= 2, decode / (out - 1), np.nan)
    return {"ttft": ttft, "e2e": e2e, "decode": decode, "tpot": tpot}


def chunk_gaps_ms(df) -> tuple[np.ndarray, np.ndarray]:
    """Pooled chunk gaps (ms) of the rows of ``df`` and, for each gap, the index of its request."""
    col = df["chunk_gaps_s"]
    counts = np.array([0 if g is None else len(g) for g in col], dtype=np.int64)
    if not counts.any():
        return np.array([], dtype=float), np.array([], dtype=int)
    gaps = np.concatenate([g for g, c in zip(col, counts) if c], dtype=float) * 1e3
    return gaps, np.repeat(np.arange(col.size), counts)


def per_request_values(run: Run) -> dict[str, np.ndarray]:
    """Per-request latency arrays (ms) of the successful requests of ``run``.

    Keys: ttft, e2e, decode, tpot (one value per request that has one) and itl
    (pooled chunk gaps). Empty arrays where the input lacks the data.
    """
    df = run.requests
    assert df is not None, "summary-only run has no per-request values"
    ok = df[df["success"]]
    values = {k: v[np.isfinite(v)] for k, v in request_latencies_ms(ok).items()}
    values["itl"] = chunk_gaps_ms(ok)[0]
    return values


@dataclass
class ParityRow:
    """casegen's recomputed figure next to the figure the tool printed."""

    metric: str
    stat: str
    ours: float
    tool: float
    diff_pct: float
    flagged: bool
    #: Why the figures differ (percentile method, E2E end point, token counting …); None when they
    #: agree, "unexplained" when no known cause accounts for the difference.
    cause: str | None = None


@dataclass
class RunMetrics:
    """Every figure casegen computes for one run."""

    source: str  # "per-request" or "summary"
    requests: dict[str, Any]
    latency_ms: dict[str, Dist]
    throughput: dict[str, Any]
    tokens: dict[str, Any]
    split: dict[str, Any]
    one_token_responses: int | None
    parity: list[ParityRow] = field(default_factory=list)
    percentile_method: str = "linear"


def compute_run_metrics(run: Run, method: str = "linear") -> RunMetrics:
    """Compute :class:`RunMetrics` for a run (per-request or summary-only)."""
    if run.summary_only:
        return _from_summary(run)
    df = run.requests
    assert df is not None
    total = int(len(df))
    succeeded = int(df["success"].sum())
    failed = total - succeeded
    values = per_request_values(run)
    latency = {m: d for m in registry.LATENCY_METRICS if (d := describe(values[m], method))}
    ok = df[df["success"]]
    out = ok["output_tokens"]
    inp = ok["input_tokens"]

    duration, duration_source = run_duration(run)
    tp: dict[str, Any] = {"duration_s": duration, "duration_source": duration_source}
    # after warm-up trimming without timestamps, throughput stays the whole run's (casegen.analysis.window)
    whole = run.meta.extra.get("throughput_counts")
    n_tp = whole["succeeded"] if whole else succeeded
    out_tp = whole["output_tokens"] if whole else (float(np.nansum(out)) if np.isfinite(out).any() else None)
    inp_tp = whole["input_tokens"] if whole else (float(np.nansum(inp)) if np.isfinite(inp).any() else None)
    if duration and duration > 0:
        tp["requests_per_s"] = n_tp / duration
        tp["output_tokens_per_s"] = out_tp / duration if out_tp is not None else None
        tp["input_tokens_per_s"] = inp_tp / duration if inp_tp is not None else None
        if tp["output_tokens_per_s"] is not None and tp["input_tokens_per_s"] is not None:
            tp["total_tokens_per_s"] = tp["output_tokens_per_s"] + tp["input_tokens_per_s"]
        else:
            tp["total_tokens_per_s"] = None
    else:
        tp.update(requests_per_s=None, output_tokens_per_s=None, input_tokens_per_s=None, total_tokens_per_s=None)

    tokens = {
        "input": _dist_or_none(inp),
        "output": _dist_or_none(out),
        "input_total": float(np.nansum(inp)) if np.isfinite(inp).any() else None,
        "output_total": float(np.nansum(out)) if np.isfinite(out).any() else None,
        # share of prompt tokens the server served from its prefix cache (Σ cached ÷ Σ prompt over the requests
        # that record both); None when the tool did not record cached tokens (casegen.analysis.cache)
        "cached_share": _cached_share(ok),
    }
    split = _split(values)
    one_token = int(np.sum(out == 1)) if np.isfinite(out).any() else None
    metrics = RunMetrics(
        source="per-request",
        requests={"total": total, "succeeded": succeeded, "failed": failed,
                  "error_rate": failed / total if total else None},
        latency_ms=latency,
        throughput=tp,
        tokens=tokens,
        split=split,
        one_token_responses=one_token,
        percentile_method=method,
    )
    metrics.parity = parity_rows(metrics, run)
    return metrics


def _dist_or_none(x: np.ndarray) -> Dist | None:
    return describe(x) if np.isfinite(x).any() else None


def run_duration(run: Run) -> tuple[float | None, str | None]:
    if run.meta.duration_s is not None and run.meta.duration_s > 0:
        return float(run.meta.duration_s), "tool"
    df = run.requests
    if df is not None and df.any_known("start_s"):
        start = df["start_s"]
        end = start + np.nan_to_num(df["e2e_s"], nan=0.0)
        d = float(np.nanmax(end) - np.nanmin(start))
        return (d, "timestamps") if d > 0 else (None, None)
    return None, None


def _cached_share(ok: Any) -> float | None:
    """Σ cached ÷ Σ prompt tokens of the (successful) requests ``ok`` that record both, or None."""
    if "cached_tokens" not in ok:
        return None
    cached, prompt = ok["cached_tokens"], ok["input_tokens"]
    both = np.isfinite(cached) & np.isfinite(prompt)
    total = float(prompt[both].sum())
    return float(cached[both].sum()) / total if both.any() and total > 0 else None


def _split(values: dict[str, np.ndarray]) -> dict[str, Any]:
    """Share of end-to-end time spent before the first token (prefill + queue) vs decoding."""
    ttft, e2e = values["ttft"], values["e2e"]
    if ttft.size == 0 or ttft.size != e2e.size or e2e.sum() <= 0:
        return {"prefill_share": None, "decode_share": None, "mean_ttft_ms": None,
                "mean_decode_ms": None, "estimated": False}
    share = float(ttft.sum() / e2e.sum())
    return {"prefill_share": share, "decode_share": 1 - share, "mean_ttft_ms": float(ttft.mean()),
            "mean_decode_ms": float((e2e - ttft).mean()), "estimated": False}


def _from_summary(run: Run) -> RunMetrics:
    s = run.tool_summary
    latency: dict[str, Dist] = {}
    for m in registry.SLO_METRICS:
        if m in s and s[m]:
            stats = s[m]
            latency[m] = Dist(n=None, **{k: stats.get(k) for k in DIST_STATS if k != "n"})
    req = dict(s.get("requests", {}))
    total = req.get("total")
    succeeded = req.get("succeeded")
    failed = req.get("failed")
    requests = {
        "total": int(total) if total is not None else None,
        "succeeded": int(succeeded) if succeeded is not None else None,
        "failed": int(failed) if failed is not None else None,
        "error_rate": (failed / total) if failed is not None and total else None,
    }
    tp: dict[str, Any] = dict(s.get("throughput", {}))
    tp.setdefault("requests_per_s", None)
    tp.setdefault("output_tokens_per_s", None)
    tp.setdefault("total_tokens_per_s", None)
    if tp["total_tokens_per_s"] is not None and tp["output_tokens_per_s"] is not None:
        tp["input_tokens_per_s"] = tp["total_tokens_per_s"] - tp["output_tokens_per_s"]
    else:
        tp.setdefault("input_tokens_per_s", None)
    tp["duration_s"] = run.meta.duration_s
    tp["duration_source"] = "tool" if run.meta.duration_s else None
    tok = s.get("tokens", {})
    n_ok = requests["succeeded"] or 0
    tokens: dict[str, Any] = {
        "input": Dist(n=None, mean=tok["input_total"] / n_ok) if "input_total" in tok and n_ok else None,
        "output": Dist(n=None, mean=tok["output_total"] / n_ok) if "output_total" in tok and n_ok else None,
        "input_total": tok.get("input_total"),
        "output_total": tok.get("output_total"),
    }
    split: dict[str, Any] = {"prefill_share": None, "decode_share": None, "mean_ttft_ms": None,
             "mean_decode_ms": None, "estimated": False}
    ttft_mean = latency["ttft"].mean if "ttft" in latency else None
    if ttft_mean is not None:
        decode = None
        estimated = False
        if "e2e" in latency and latency["e2e"].mean is not None:
            decode = latency["e2e"].mean - ttft_mean
        elif "tpot" in latency and tokens["output"] is not None and latency["tpot"].mean is not None:
            decode = latency["tpot"].mean * max(tokens["output"].mean - 1, 0)
            estimated = True
        if decode is not None and ttft_mean + decode > 0:
            share = ttft_mean / (ttft_mean + decode)
            split = {"prefill_share": share, "decode_share": 1 - share, "mean_ttft_ms": ttft_mean,
                     "mean_decode_ms": decode, "estimated": estimated}
    return RunMetrics(
        source="summary", requests=requests, latency_ms=latency, throughput=tp, tokens=tokens,
        split=split, one_token_responses=None, percentile_method="as printed by the tool",
    )


def parity_rows(metrics: RunMetrics, run: Run) -> list[ParityRow]:
    """Compare recomputed figures with the tool's own summary (flag > 1 % apart) and name the cause
    of each flagged difference (see :func:`parity_cause`)."""
    rows: list[ParityRow] = []
    summary = run.tool_summary
    values: dict[str, np.ndarray] | None = None
    for m, dist in metrics.latency_ms.items():
        for stat, tool_value in sorted(summary.get(m, {}).items()):
            if not hasattr(dist, stat):
                continue
            ours = dist.get(stat)
            if ours is None or tool_value is None:
                continue
            row = _parity_row(m, stat, ours, tool_value)
            if abs(row.diff_pct) > PARITY_EXPLAIN_PCT:
                if values is None and not run.summary_only:
                    values = per_request_values(run)
                row.cause = parity_cause(run, m, stat, tool_value, metrics.percentile_method,
                                         None if values is None else values.get(m))
            rows.append(row)
    for key, tool_value in sorted(summary.get("throughput", {}).items()):
        ours = metrics.throughput.get(key)
        if ours is not None and tool_value is not None:
            row = _parity_row("throughput", key, ours, tool_value)
            if abs(row.diff_pct) > PARITY_EXPLAIN_PCT:
                row.cause = run.parity_causes.get("throughput", "unexplained")
            rows.append(row)
    return rows


#: Differences above this (%) get a cause, even when they are within the flagging tolerance.
PARITY_EXPLAIN_PCT = 0.5

_PERCENTILE_STATS = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}

#: A figure recomputed with the tool's percentile rule "matches" the tool's when this close (%)
METHOD_MATCH_PCT = 0.05

#: How each percentile method picks its value, in reader words (parity causes)
PERCENTILE_WORDS = {
    "linear": "interpolates between neighbouring sorted values",
    "nearest": "takes the nearest sorted value",
    "mlperf": "takes the sorted value at rank ⌊n·p⌋",
    "guidellm": "takes the first sorted value whose cumulative share reaches the percentile",
}


def parity_cause(run: Run, metric: str, stat: str, tool_value: float, method: str,
                 values: np.ndarray | None) -> str:
    """Why casegen's ``stat`` of ``metric`` differs from the tool's.

    A percentile recomputed with the tool's own percentile method that then matches (within the
    tolerance) is a *percentile method* difference; otherwise the importer's known cause for the
    metric (E2E end point, token counting …); otherwise "unexplained".
    """
    tool_method = run.tool_percentile_method
    if (stat in _PERCENTILE_STATS and tool_method and tool_method != method and values is not None
            and values.size):
        again = percentile(values, _PERCENTILE_STATS[stat], tool_method)
        # the tool's own rule reproduces its figure up to the rounding of the values it stored; a value that
        # only comes closer (another cause remains, e.g. a different end point) is not explained by it
        if tool_value and abs(again - tool_value) / abs(tool_value) * 100.0 <= METHOD_MATCH_PCT:
            # reader language; the case author is told how to reproduce the tool (report.build.author_actions)
            return (f"percentile method: the tool {PERCENTILE_WORDS.get(tool_method, tool_method)}, casegen "
                    f"{PERCENTILE_WORDS.get(method, method)}; the tool's rule on the same requests gives "
                    f"{fmt_ms(again) if metric in registry.LATENCY_METRICS else fmt_sig(again, 4)}")
    return run.parity_causes.get(metric, "unexplained")


def _parity_row(metric: str, stat: str, ours: float, tool: float) -> ParityRow:
    if tool == 0:
        diff = 0.0 if ours == 0 else math.inf
    else:
        diff = (ours - tool) / abs(tool) * 100.0
    return ParityRow(metric, stat, float(ours), float(tool), diff, abs(diff) > PARITY_TOLERANCE_PCT)


@dataclass
class Delta:
    """Baseline → optimized change of one statistic."""

    base: float
    opt: float
    abs: float
    pct: float | None
    verdict: str  # "better", "worse" or "same"


def delta(base: float | None, opt: float | None, lower_is_better: bool = True, same_pct: float = 0.5) -> Delta | None:
    """Δ = opt − base, pct = Δ / base · 100; verdict by the metric's direction."""
    if base is None or opt is None or not (math.isfinite(base) and math.isfinite(opt)):
        return None
    d = opt - base
    pct = d / abs(base) * 100.0 if base != 0 else None
    if pct is not None and abs(pct) < same_pct:
        verdict = "same"
    elif d == 0:
        verdict = "same"
    else:
        improved = d < 0 if lower_is_better else d > 0
        verdict = "better" if improved else "worse"
    return Delta(base=base, opt=opt, abs=d, pct=pct, verdict=verdict)


def latency_deltas(base: RunMetrics, opt: RunMetrics) -> dict[str, dict[str, Delta]]:
    """Deltas of mean/p50/p90/p95/p99 for every latency metric both runs have."""
    out: dict[str, dict[str, Delta]] = {}
    for m in registry.LATENCY_METRICS:
        if m in base.latency_ms and m in opt.latency_ms:
            row = {}
            for stat in DELTA_STATS:
                d = delta(base.latency_ms[m].get(stat), opt.latency_ms[m].get(stat), lower_is_better=True)
                if d is not None:
                    row[stat] = d
            if row:
                out[m] = row
    return out


def throughput_deltas(base: RunMetrics, opt: RunMetrics) -> dict[str, Delta]:
    out = {}
    for key in registry.THROUGHPUT_METRICS:
        d = delta(base.throughput.get(key), opt.throughput.get(key), lower_is_better=False)
        if d is not None:
            out[key] = d
    return out
