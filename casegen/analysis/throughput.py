"""Intervals for a run's throughput and for the baseline → optimized throughput change (batch means).

Throughput X = completed work / duration. One run gives one X, but the run is a stretch of time:
cut it into B consecutive batches of equal length and the rate in each batch is a sample of the
run's rate (the method of batch means, standard for steady-state simulation output):

* each successful request's work (1 request, or its output tokens) is spread evenly over its
  lifetime send → last token, and a batch gets the part that falls in it ("progress", so a request
  straddling two batches is not counted whole in one: no ±1-request boundary noise);
* batches are long compared with a request: B = min(10, ⌊span / (5 · mean E2E)⌋), at least 5
  (neighbouring batches share only the requests that straddle their border, so their rates are
  nearly independent); fewer than 5 such batches, or fewer than MIN_REQUESTS requests: no
  interval, and the change is shown neutral with †;
* the run's relative standard error is s_B / (√B · mean_B) (s_B the sample SD of the batch rates);
  the interval of the figure the report shows is X · (1 ± t_{B−1} · se_rel);
* the change optimized / baseline − 1 (two independent runs): log ratio ± t_ν · √(se_b² + se_o²),
  ν by Welch–Satterthwaite; the change is *significant* when the interval excludes 0.

Pure functions on arrays plus two on runs. Checked by simulation of a closed-loop queue with known
long-run throughput in ``tests/test_throughput_intervals.py``; method in ``docs/statistics.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from casegen.runs.model import Run

MAX_BATCHES = 10
MIN_BATCHES = 5
#: a batch lasts at least this many mean request latencies
BATCH_LATENCIES = 5.0


def t_quantile(q: float, df: float) -> float:
    """Student-t quantile by the Cornish–Fisher expansion in 1/ν (Abramowitz & Stegun 26.7.5); within
    0.3 % of the exact value for ν ≥ 4 at the usual levels (tests compare with SciPy)."""
    z = NormalDist().inv_cdf(q)
    v = float(df)
    return (z + (z ** 3 + z) / (4 * v) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * v ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * v ** 3)
            + (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / (92160 * v ** 4))


@dataclass(frozen=True)
class ThroughputCI:
    """Interval of one run's throughput figure: ``point`` (the report's figure), ``low``/``high``,
    ``se_rel`` the relative standard error and ``batches`` the number of batch means."""

    point: float
    low: float
    high: float
    se_rel: float
    batches: int


@dataclass(frozen=True)
class ThroughputDeltaCI:
    """Interval of the relative change optimized / baseline − 1, in percent."""

    pct_low: float | None
    pct_high: float | None
    significant: bool
    supported: bool
    reason: str = ""


def progress_per_batch(start: np.ndarray, end: np.ndarray, work: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Work done in each batch [edges[j], edges[j+1]): every request's ``work`` spread evenly over
    [start, end] (a zero-length request counts whole at its end)."""
    start, end, work = (np.asarray(a, dtype=float) for a in (start, end, work))
    lo, hi = edges[:-1][None, :], edges[1:][None, :]
    life = (end - start)[:, None]
    overlap = np.clip(np.minimum(end[:, None], hi) - np.maximum(start[:, None], lo), 0.0, None)
    share = np.divide(overlap, life, out=np.zeros_like(overlap), where=life > 0)
    instant = (life[:, 0] <= 0)
    if instant.any():
        idx = np.clip(np.searchsorted(edges, end[instant], side="right") - 1, 0, edges.size - 2)
        share[np.flatnonzero(instant), idx] = 1.0
    return (share * work[:, None]).sum(axis=0)


def batch_count(span_s: float, mean_latency_s: float) -> int:
    """How many batches the run is cut into (0: too short for an interval)."""
    if not (span_s > 0 and mean_latency_s > 0):
        return 0
    b = min(MAX_BATCHES, int(span_s // (BATCH_LATENCIES * mean_latency_s)))
    return b if b >= MIN_BATCHES else 0


def relative_se(start: np.ndarray, end: np.ndarray, work: np.ndarray) -> tuple[float, int] | None:
    """(relative standard error of the run's rate, batches) by batch means; None when too short."""
    t0, t1 = float(np.min(start)), float(np.max(end))
    b = batch_count(t1 - t0, float(np.mean(end - start)))
    if b == 0 or not np.isfinite(work).all() or work.sum() <= 0:
        return None
    edges = np.linspace(t0, t1, b + 1)
    rates = progress_per_batch(start, end, work, edges) / np.diff(edges)
    mean = float(rates.mean())
    if mean <= 0:
        return None
    return float(rates.std(ddof=1) / math.sqrt(b) / mean), b


def run_throughput_cis(run: Run, throughput: dict, confidence: float) -> tuple[dict[str, ThroughputCI], str]:
    """key → interval of the run's throughput figure, and why there is none ('' when there are)."""
    from casegen.analysis.uncertainty import MIN_REQUESTS

    df = run.requests
    if df is None:
        return {}, "summary-only data"
    ok = df[df["success"]]
    if len(ok) < MIN_REQUESTS:
        return {}, f"{len(ok)} requests: below {MIN_REQUESTS}"
    if not ok.all_known("start_s") or not ok.all_known("e2e_s"):
        return {}, "no per-request send times, only their order"
    if run.meta.extra.get("throughput_counts") is not None:
        return {}, "throughput is the whole run's while statistics use a trimmed part"
    start = ok["start_s"]
    end = start + ok["e2e_s"]
    works = {"requests_per_s": np.ones(len(ok))}
    out_tok, in_tok = ok["output_tokens"], ok["input_tokens"]
    if np.isfinite(out_tok).all():
        works["output_tokens_per_s"] = out_tok
        if np.isfinite(in_tok).all():
            works["total_tokens_per_s"] = out_tok + in_tok
    out: dict[str, ThroughputCI] = {}
    for key, work in works.items():
        point = throughput.get(key)
        r = relative_se(start, end, work)
        if point is None or r is None:
            continue
        se, b = r
        t = t_quantile(0.5 + confidence / 2, b - 1)
        out[key] = ThroughputCI(float(point), float(point) * (1 - t * se), float(point) * (1 + t * se), se, b)
    if not out:
        return {}, (f"the run is shorter than {MIN_BATCHES} batches of {BATCH_LATENCIES:g} mean request latencies "
                    "(batch means need them)")
    return out, ""


def delta_ci(base: ThroughputCI | None, opt: ThroughputCI | None, confidence: float, reason: str = "") -> ThroughputDeltaCI:
    """Interval of the relative change of one throughput figure (log ratio, Welch–Satterthwaite df)."""
    if base is None or opt is None or base.point <= 0 or opt.point <= 0:
        return ThroughputDeltaCI(None, None, False, False, reason or "no throughput interval")
    vb, vo = base.se_rel ** 2, opt.se_rel ** 2
    se = math.sqrt(vb + vo)
    if se == 0:
        return ThroughputDeltaCI(None, None, False, False, "the batch rates do not vary")
    nu = (vb + vo) ** 2 / (vb * vb / (base.batches - 1) + vo * vo / (opt.batches - 1))
    t = t_quantile(0.5 + confidence / 2, nu)
    r = math.log(opt.point / base.point)
    lo, hi = (math.exp(r - t * se) - 1) * 100, (math.exp(r + t * se) - 1) * 100
    return ThroughputDeltaCI(lo, hi, bool(lo > 0 or hi < 0), True)
