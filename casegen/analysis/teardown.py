"""Latency teardown of one run: where end-to-end time goes, and what the bottleneck is.

Definitions (``docs/teardown.md``), on the successful requests of a per-request run:

* **in flight at arrival** ``k_i`` = requests sent and not finished when request ``i`` was sent
  (other than itself), from start and end times (end = start + E2E);
* **in flight during decode** ``m_i`` = requests in flight (itself included) at the midpoint of its
  decode phase, ``start + TTFT + (E2E − TTFT)/2``;
* **prefill fit**: a robust (Theil–Sen) line ``TTFT = a + b · input_tokens`` through the requests
  sent at light load (``k_i ≤ k*``, the lowest in-flight level that holds at least
  ``max(30, 10 %)`` of the requests); **prefill rate** = ``1/b`` tokens/s, its interval from Sen's
  distribution-free interval of the slope. With prompts of (nearly) one length the slope is not
  identifiable and prefill time is the light-load median TTFT;
* **queue wait** of a request = ``TTFT − (a + b · input_tokens)``: time before the first token that
  prefill at light load does not explain (waiting for a slot, and prefill slowed by other requests).
  The mean over requests (floored at 0) is reported; it needs light-load requests, either in the run
  or at the lowest point of a sweep (``fit=``), otherwise queue and prefill are not separable.
  **Where the tool recorded the server's own queue time** (``Run.tool_summary["server_queue"]``: the
  server's ``vllm:request_queue_time_seconds`` histogram as AIPerf scraped it into
  ``server_metrics_export.json``), the mean queue wait is that figure instead (capped at mean TTFT),
  prefill is mean TTFT minus it, and the estimate is kept beside it (``queue_estimate_ms``);
  ``queue_source`` says which was used;
* **decode slowdown**: TPOT against ``m_i``; median TPOT at the lowest and highest in-flight level
  holding at least 10 requests, their ratio, and the Theil–Sen slope (ms per extra request) with its
  interval;
* **bottleneck**: *queueing* when the mean queue wait is at least half of mean TTFT; otherwise
  *decode* when decode is at least half of mean E2E; otherwise *prefill*.

Pure functions; the small pydantic models at the end are what summary.json carries under
``teardown`` and what the report's "Where the time goes" section and ``casegen teardown`` show.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from casegen.analysis.model import FigureModel
from casegen.runs.model import Run

MIN_FIT = 30  # requests a prefill fit needs
MIN_FIT_SHARE = 0.10  # … or this share of the run, whichever is larger
MIN_LEVEL = 10  # requests an in-flight level needs for its median TPOT
MAX_FIT_POINTS = 600  # Theil–Sen is O(n²): larger sets are thinned evenly (deterministic)
MIN_SPREAD = 0.10  # (p90 − p10) / median of input tokens below which the slope is not identifiable
QUEUE_BOUND = 0.5  # queue wait ≥ this share of mean TTFT → queueing
DECODE_BOUND = 0.5  # decode ≥ this share of mean E2E → decode-bound
SLOWDOWN_NAMED = 1.2  # a TPOT ratio at least this large is named as the decode evidence

Bottleneck = Literal["queueing", "prefill", "decode", "unknown"]



class PrefillFit(FigureModel):
    """Robust fit of TTFT on input tokens at light load."""

    intercept_ms: float = Field(description="a: TTFT of an empty prompt at light load, ms")
    ms_per_token: float | None = Field(description="b: prefill time per prompt token, ms (null: not identifiable)")
    tokens_per_s: float | None = Field(description="prefill rate 1/b, prompt tokens per second")
    tokens_per_s_interval: list[float | None] | None = Field(
        description="interval of the rate (from Sen's interval of b; upper null when b's lower end ≤ 0)")
    confidence: float
    n: int = Field(description="requests in the fit")
    max_in_flight: int | None = Field(description="k*: the fit uses requests sent with at most this many others in "
                                             "flight (null: no send times, every request is in the fit)")
    light_load: bool = Field(description="k* is at most 1: the fit describes prefill without queueing")
    source: str = Field(description="'this run' or the sweep point the fit comes from")
    note: str = ""


class DecodeLevel(FigureModel):
    in_flight: int
    n: int
    tpot_p50_ms: float


class DecodeSlowdown(FigureModel):
    """TPOT against the number of requests in flight during decode."""

    levels: list[DecodeLevel]
    low_in_flight: int
    high_in_flight: int
    tpot_low_ms: float
    tpot_high_ms: float
    ratio: float = Field(description="tpot_high / tpot_low")
    slope_ms_per_request: float | None = Field(description="Theil–Sen slope of TPOT on in-flight count")
    slope_interval: list[float] | None
    confidence: float
    source: str = Field(default="this run",
                        description="'this run', or the sweep points whose requests are pooled")


class RunTeardown(FigureModel):
    """One run's teardown."""

    label: str
    load: str
    n: int = Field(description="successful requests with TTFT and E2E")
    e2e_mean_ms: float
    ttft_mean_ms: float
    queue_ms: float | None = Field(description="mean queue wait (null: not separable from prefill)")
    prefill_ms: float | None = Field(description="mean prefill time (null: not separable from queueing)")
    decode_ms: float
    queue_share_of_ttft: float | None
    queue_source: Literal["tool", "estimate", "none"] = Field(
        "none", description="tool: the server's own queue time as the tool recorded it; estimate: TTFT minus the "
        "light-load prefill fit; none: queue wait and prefill not separable")
    queue_source_text: str = Field("", description="one sentence saying where the queue wait comes from")
    queue_estimate_ms: float | None = Field(
        None, description="with queue_source 'tool': the estimate from TTFT against prompt length, for comparison")
    client_wait_ms: float | None = Field(
        None, description="mean time the benchmark client held a request after its scheduled send time, before "
        "sending it (the tool's own per-request field: vLLM's queue_times, GuideLLM's request_start − "
        "targeted_start); outside TTFT and E2E, so not in the split")
    client_wait_p95_ms: float | None = None
    queue_ms_at_least: float | None = Field(
        None, description="without light-load requests: a lower bound of the mean queue wait from the growth of "
        "TTFT with the number in flight at arrival (Theil–Sen slope × (k − min k))")
    ttft_ms_per_request_in_flight: float | None = Field(
        None, description="that slope, ms of TTFT per request in flight at arrival")
    shares_of_e2e: dict[str, float | None] = Field(description="queue, prefill, decode (before_first_token when "
                                                               "queue and prefill are not separable)")
    mean_in_flight: float | None = Field(description="mean of in-flight at arrival + 1")
    prefill: PrefillFit | None
    decode: DecodeSlowdown | None
    bottleneck: Bottleneck
    evidence: str = Field(description="one sentence naming the bottleneck with its evidence")
    notes: list[str] = Field(default_factory=list)


class Teardown(FigureModel):
    """summary.json ``teardown``: one teardown per side (per-request runs with TTFT only)."""

    sides: dict[str, RunTeardown] = Field(default_factory=dict)
    definitions: str = "docs/teardown.md"


# --------------------------------------------------------------------------- math


def in_flight_at(starts: np.ndarray, ends: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Requests with start ≤ t < end, for every t (O(n log n))."""
    s, e = np.sort(starts), np.sort(ends)
    return np.searchsorted(s, t, side="right") - np.searchsorted(e, t, side="right")


def _thin(n: int, limit: int = MAX_FIT_POINTS) -> np.ndarray:
    return np.arange(n) if n <= limit else np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def theil_sen(x: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(slope, intercept, slope_low, slope_high): Theil–Sen slope with Sen's interval (NaN ends when the x
    are too tied for one), intercept median(y − slope·x) (scipy.stats.theilslopes, method 'separate')."""
    from scipy.stats import theilslopes

    idx = _thin(x.size)
    with warnings.catch_warnings():  # Sen's interval with heavily tied x: scipy warns, the interval is NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        r = theilslopes(y[idx], x[idx], alpha=confidence, method="separate")
    return float(r.slope), float(r.intercept), float(r.low_slope), float(r.high_slope)  # NaN ends: no interval


def _frame(run: Run) -> dict[str, np.ndarray] | None:
    df = run.requests
    if df is None:
        return None
    ok = df[df["success"]]
    cols = {k: ok[c] for k, c in (("start", "start_s"), ("ttft", "ttft_s"), ("e2e", "e2e_s"),
                                                        ("inp", "input_tokens"), ("out", "output_tokens"))}
    keep = np.isfinite(cols["ttft"]) & np.isfinite(cols["e2e"])
    return {k: v[keep] for k, v in cols.items()}


def _timed(f: dict[str, np.ndarray]) -> bool:
    """Every request has a send time (in-flight counts need them)."""
    return bool(f["start"].size) and bool(np.isfinite(f["start"]).all())


def prefill_fit(run: Run, confidence: float = 0.95, source: str = "this run") -> PrefillFit | None:
    """The light-load fit of TTFT on input tokens (None without start times, TTFT or enough requests)."""
    f = _frame(run)
    if f is None or f["ttft"].size < MIN_FIT:
        return None
    kstar: int | None = None
    if _timed(f):
        k = in_flight_at(f["start"], f["start"] + f["e2e"], f["start"]) - 1
        need = max(MIN_FIT, math.ceil(MIN_FIT_SHARE * k.size))
        kstar = int(np.sort(k)[min(need, k.size) - 1])
        sel = k <= kstar
    else:  # no send times: the load each request met is unknown, so every request is in the fit
        sel = np.ones(f["ttft"].size, dtype=bool)
    x, y = f["inp"][sel], f["ttft"][sel] * 1e3
    good = np.isfinite(x)
    x, y = x[good], y[good]
    if y.size < MIN_FIT:
        return None
    light = kstar is not None and kstar <= 1
    med = float(np.median(x)) if x.size else 0.0
    spread = (float(np.percentile(x, 90) - np.percentile(x, 10)) / med) if med > 0 else 0.0
    if x.size == 0 or spread < MIN_SPREAD:
        return PrefillFit(intercept_ms=float(np.median(y)), ms_per_token=None, tokens_per_s=None,
                          tokens_per_s_interval=None, confidence=confidence, n=int(y.size), max_in_flight=kstar,
                          light_load=light, source=source,
                          note="prompts of (nearly) one length: the prefill rate is not identifiable; prefill time "
                               "is the median TTFT of the fitted requests")
    b, a, lo, hi = theil_sen(x, y, confidence)
    if b <= 0:
        return PrefillFit(intercept_ms=float(np.median(y)), ms_per_token=None, tokens_per_s=None,
                          tokens_per_s_interval=None, confidence=confidence, n=int(y.size), max_in_flight=kstar,
                          light_load=light, source=source,
                          note="TTFT does not grow with prompt length at light load: no prefill rate")
    rate = 1e3 / b
    interval = ([1e3 / hi if hi > 0 else None, 1e3 / lo if lo > 0 else None]
                if math.isfinite(lo) and math.isfinite(hi) else None)
    return PrefillFit(intercept_ms=a, ms_per_token=b, tokens_per_s=rate, tokens_per_s_interval=interval,
                      confidence=confidence, n=int(y.size), max_in_flight=kstar, light_load=light, source=source)


def decode_slowdown(run: Run | Sequence[Run], confidence: float = 0.95,
                    source: str = "this run") -> DecodeSlowdown | None:
    """Median TPOT at each number of requests in flight during decode (levels of ≥ MIN_LEVEL requests).

    ``run`` may be several runs of one server (a sweep's points): their requests are pooled, each
    counted against the requests in flight in its own run, so the levels span the sweep's loads —
    one closed-loop run alone mostly shows one level (every request met its own concurrency)."""
    runs = [run] if isinstance(run, Run) else list(run)
    tpots, ms = [], []
    for r in runs:
        f = _frame(r)
        if f is None or not _timed(f):
            continue
        ok = f["out"] >= 2
        ttft, e2e, start = f["ttft"], f["e2e"], f["start"]
        mid = start + ttft + (e2e - ttft) / 2
        ms.append(in_flight_at(start, start + e2e, mid)[ok])
        tpots.append(((e2e - ttft) / np.maximum(f["out"] - 1, 1) * 1e3)[ok])
    if not ms:
        return None
    m, tpot = np.concatenate(ms), np.concatenate(tpots)
    if m.size < 2 * MIN_LEVEL:
        return None
    levels = [DecodeLevel(in_flight=int(v), n=int((m == v).sum()), tpot_p50_ms=float(np.median(tpot[m == v])))
              for v in np.unique(m) if (m == v).sum() >= MIN_LEVEL]
    if not levels:
        return None
    low, high = levels[0], levels[-1]
    slope = interval = None
    if np.unique(m).size >= 2:
        s, _a, lo, hi = theil_sen(m.astype(float), tpot, confidence)
        slope, interval = s, ([lo, hi] if math.isfinite(lo) and math.isfinite(hi) else None)
    return DecodeSlowdown(levels=levels, low_in_flight=low.in_flight, high_in_flight=high.in_flight,
                          tpot_low_ms=low.tpot_p50_ms, tpot_high_ms=high.tpot_p50_ms,
                          ratio=high.tpot_p50_ms / low.tpot_p50_ms if low.tpot_p50_ms > 0 else 1.0,
                          slope_ms_per_request=slope, slope_interval=interval, confidence=confidence,
                          source=source)


def _expected_ttft(fit: PrefillFit, inp: np.ndarray) -> np.ndarray:
    """TTFT (ms) the prefill fit predicts for each prompt (the median prompt where the length is unknown)."""
    if fit.ms_per_token is None or not np.isfinite(inp).any():
        return np.full(inp.size, fit.intercept_ms)
    x = np.where(np.isfinite(inp), inp, np.nanmedian(inp))
    return fit.intercept_ms + fit.ms_per_token * x


def client_wait_ms(run: Run) -> tuple[float, float] | None:
    """(mean, p95) in ms of the client's own wait before sending (``client_wait_s`` of the successful
    requests), or None when the tool did not record it."""
    df = run.requests
    if df is None or "client_wait_s" not in df:
        return None
    w = df["client_wait_s"][df["success"]]
    w = w[np.isfinite(w)] * 1e3
    if not w.size:
        return None
    return float(w.mean()), float(np.percentile(w, 95))


def server_queue_ms(run: Run) -> tuple[float, str] | None:
    """(mean queue wait in ms, where it comes from) when the tool recorded the server's own queue time
    (``tool_summary["server_queue"]``: ``mean`` ms, ``count`` requests; ``meta.extra["server_queue_source"]``
    names the source)."""
    q = run.tool_summary.get("server_queue") or {}
    mean, count = q.get("mean"), q.get("count")
    if mean is None or not math.isfinite(mean) or mean < 0 or not count:
        return None
    source = str(run.meta.extra.get("server_queue_source") or "recorded by the benchmark tool")
    return float(mean), f"{source}, over {int(count):,} requests"


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def run_teardown(run: Run, label: str, confidence: float = 0.95, fit: PrefillFit | None = None,
                 decode_runs: Sequence[Run] | None = None, decode_source: str = "this run") -> RunTeardown | None:
    """Teardown of one run; ``fit`` = a prefill fit from elsewhere (a sweep's lowest load point) used
    when this run has no light-load requests of its own; ``decode_runs`` = the runs whose requests
    show how TPOT changes with the number in flight (a sweep's points; default this run). None for
    summary-only runs or runs without TTFT."""
    f = _frame(run)
    if f is None or f["ttft"].size < 2:
        return None
    ttft_ms, e2e_ms = f["ttft"] * 1e3, f["e2e"] * 1e3
    n = int(ttft_ms.size)
    notes: list[str] = []
    own = prefill_fit(run, confidence)
    use = own
    if fit is not None and (own is None or not own.light_load):
        use = fit
    k = in_flight_at(f["start"], f["start"] + f["e2e"], f["start"]) - 1 if _timed(f) else None
    decode_ms = float(np.mean(e2e_ms - ttft_ms))
    e2e_mean, ttft_mean = float(e2e_ms.mean()), float(ttft_ms.mean())
    queue = prefill = estimate = None
    if use is not None and use.light_load:
        expected = _expected_ttft(use, f["inp"])
        queue = max(0.0, float(np.mean(ttft_ms - expected)))
        queue = min(queue, ttft_mean)
        prefill = ttft_mean - queue
        estimate = queue
        if use is not own:
            notes.append(f"prefill at light load taken from {use.source}")
    elif use is not None and use.max_in_flight is None:
        notes.append("the file has no send times, so the load each request met is unknown: queue wait and prefill "
                     "are not separable, and the prefill fit runs over every request")
    elif use is not None:
        notes.append("too few requests were sent at light load (at most one other in flight) to fit "
                     "prefill alone: queue wait and prefill are not separable")
    else:
        notes.append("too few requests with start times for a prefill fit: queue wait and prefill are not separable")
    server = server_queue_ms(run)
    if server is not None:
        queue = min(server[0], ttft_mean)
        prefill = ttft_mean - queue
        source, source_text = "tool", (
            f"queue wait is the server's own mean queue time, {server[0]:,.1f} ms ({server[1]}), not estimated"
            + (f"; TTFT against prompt length at light load would estimate {estimate:,.1f} ms" if estimate is not None
               else ""))
    elif queue is not None:
        source, source_text = "estimate", (
            "queue wait is estimated: mean TTFT minus what the light-load fit of TTFT on prompt length predicts "
            "(the run's files record no queue time of the server's)")
    else:
        source, source_text = "none", "queue wait and prefill are not separable (see the notes)"
    dec = decode_slowdown(list(decode_runs) if decode_runs else run, confidence,
                          decode_source if decode_runs else "this run")
    if queue is not None and prefill is not None:
        shares = {"queue": queue / e2e_mean, "prefill": prefill / e2e_mean, "decode": decode_ms / e2e_mean}
    else:
        shares = {"before_first_token": ttft_mean / e2e_mean, "decode": decode_ms / e2e_mean}
    qshare = queue / ttft_mean if queue is not None and ttft_mean > 0 else None
    q_least = per_k = None
    if queue is None and use is not None and k is not None and ttft_mean > 0:
        # the least-loaded requests' fit still holds some waiting: what it leaves is a lower bound
        expected = _expected_ttft(use, f["inp"])
        q_least = min(max(0.0, float(np.mean(ttft_ms - expected))), ttft_mean)
        if np.unique(k).size >= 3:
            c, _a, lo, _hi = theil_sen(k.astype(float), ttft_ms, confidence)
            per_k = c if lo > 0 else None
    bottleneck: Bottleneck
    if qshare is not None and qshare >= QUEUE_BOUND:
        bottleneck = "queueing"
        how = "by the server's own queue time" if source == "tool" else "beyond what prefill takes at light load"
        evidence = (f"queueing: {_pct(qshare)} of TTFT is waiting ({queue:,.0f} of {ttft_mean:,.0f} ms on average, "
                    f"{how}); the server is saturated at this load")
    elif (q_least is not None and use is not None and per_k is not None and k is not None
          and q_least / ttft_mean >= QUEUE_BOUND):
        bottleneck = "queueing"
        evidence = (f"queueing: at least {_pct(q_least / ttft_mean)} of TTFT is waiting (mean TTFT {ttft_mean:,.0f} ms, "
                    f"{q_least:,.0f} ms more than the {use.n} least-loaded requests' prompt-length fit predicts) and "
                    f"TTFT grows {per_k:,.1f} ms with every request in flight at arrival ({int(k.min()) + 1} to "
                    f"{int(k.max()) + 1} in flight); the server is saturated at this load")
    elif decode_ms / e2e_mean >= DECODE_BOUND:
        bottleneck = "decode"
        where = "" if dec is None or dec.source == "this run" else f"; {dec.source}"
        if dec is not None and dec.ratio >= SLOWDOWN_NAMED and dec.high_in_flight > dec.low_in_flight:
            evidence = (f"decode-bound: decode is {_pct(decode_ms / e2e_mean)} of end-to-end time and median TPOT grows "
                        f"{dec.ratio:.1f}× from {dec.low_in_flight} to {dec.high_in_flight} in flight "
                        f"({dec.tpot_low_ms:,.1f} → {dec.tpot_high_ms:,.1f} ms{where})")
        else:
            mean_out = float(np.nanmean(f["out"])) if np.isfinite(f["out"]).any() else float("nan")
            # "changes by less than" only over a range of loads actually seen: with one level, nothing was compared
            evidence = (f"decode-bound: decode is {_pct(decode_ms / e2e_mean)} of end-to-end time"
                        + (f" ({mean_out:,.0f} output tokens per request on average)" if math.isfinite(mean_out) else "")
                        + (f"; median TPOT changes by less than {SLOWDOWN_NAMED:.1f}× from {dec.low_in_flight} to "
                           f"{dec.high_in_flight} in flight ({dec.tpot_low_ms:,.1f} → {dec.tpot_high_ms:,.1f} ms{where})"
                           if dec is not None and dec.high_in_flight > dec.low_in_flight else ""))
    elif prefill is not None or queue is None:
        bottleneck = "prefill"
        rate = use.tokens_per_s if use is not None else None
        part = prefill if prefill is not None else ttft_mean
        evidence = (f"prefill-bound: {'prefill' if prefill is not None else 'time before the first token'} is "
                    f"{_pct(part / e2e_mean)} of end-to-end time"
                    + (f", at {rate:,.0f} prompt tokens/s" if rate else ""))
    else:
        bottleneck, evidence = "unknown", "no single phase dominates"
    cw = client_wait_ms(run)
    return RunTeardown(label=label, load=run.meta.describe_load(), n=n, e2e_mean_ms=e2e_mean, ttft_mean_ms=ttft_mean,
                       client_wait_ms=cw[0] if cw else None, client_wait_p95_ms=cw[1] if cw else None,
                       queue_ms=queue, prefill_ms=prefill, decode_ms=decode_ms, queue_share_of_ttft=qshare,
                       queue_source=source, queue_source_text=source_text,
                       queue_estimate_ms=estimate if source == "tool" else None,
                       queue_ms_at_least=q_least, ttft_ms_per_request_in_flight=per_k, shares_of_e2e=shares, mean_in_flight=None if k is None else float(k.mean() + 1), prefill=use, decode=dec,
                       bottleneck=bottleneck, evidence=evidence, notes=notes)


def sweep_teardown(runs: list[Run], labels: list[str], confidence: float = 0.95) -> list[RunTeardown]:
    """Teardown of every point of a sweep, ordered as given; the prefill fit of the lowest-load point
    (the first one with a light-load fit) is used at every point without light-load requests."""
    fit = None
    for run, label in zip(runs, labels):
        cand = prefill_fit(run, confidence, source=f"the lowest load point ({label})")
        if cand is not None and cand.light_load:
            fit = cand
            break
    out = []
    for run, label in zip(runs, labels):
        t = run_teardown(run, label, confidence, fit)
        if t is not None:
            out.append(t)
    return out


def study_teardown(study) -> Teardown | None:
    """Each side of a study (the compared runs; a sweep's lowest point supplies the light-load fit)."""
    out = Teardown()
    conf = study.case.analysis.confidence
    for side in ("baseline", "optimized"):
        run = study.runs[side]
        fit = None
        sw = study.sweeps.get(side) if study.sweeps else None
        if sw is not None:
            for p in sw.points:
                cand = prefill_fit(p.run, conf, source=f"the sweep's lowest load point ({p.load:g})") \
                    if not p.run.summary_only else None
                if cand is not None and cand.light_load:
                    fit = cand
                    break
        timed = [p.run for p in sw.points if not p.run.summary_only] if sw is not None else []
        t = run_teardown(run, study.label(side), conf, fit,
                         decode_runs=timed if len(timed) >= 2 else None,
                         decode_source=f"the requests of the sweep's {len(timed)} load points pooled")
        if t is not None:
            out.sides[side] = t
    return out if out.sides else None
