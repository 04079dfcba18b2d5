"""Simulated serving runs whose truth is known: an M/G/c first-come-first-served queue.

An LLM server at load, reduced to what makes its requests dependent: ``c`` slots (the batch),
Poisson arrivals at ``load`` × capacity, a request waits for a free slot (FCFS), then prefills and
decodes. TTFT = queue wait + prefill; TPOT rises with the number of requests in service when the
request starts (``slowdown`` per extra request: batched decoding shares the GPU); E2E = TTFT +
TPOT · (output tokens − 1). The run starts in the stationary regime (a burn-in of requests is
simulated and dropped, as a warm-up would), so the truth of every statistic is the stationary
distribution, computed from one long run.

``queue_run(rng, n, load)`` → dict of arrays in send order (``start_s``, ``ttft_ms``, ``tpot_ms``,
``e2e_ms``); ``queue_truth(load)`` → metric → stat → true value. Used by benchmarks/coverage.py and
the statistics tests.
"""

from __future__ import annotations

import functools
import heapq
import math

import numpy as np

SLOTS = 4
PREFILL_MS = 60.0  # median prefill (log-normal, σ 0.4)
TPOT_MS = 20.0  # TPOT with one request in service
SLOWDOWN = 0.08  # TPOT × (1 + SLOWDOWN · (requests in service − 1))
OUT_TOKENS = (64, 192)  # uniform output length
BURN_IN = 3000


def _mean_service_s() -> float:
    """Mean service time at full occupancy (the capacity's denominator): prefill + decode."""
    mean_prefill = PREFILL_MS * math.exp(0.4 ** 2 / 2)
    mean_out = (OUT_TOKENS[0] + OUT_TOKENS[1]) / 2
    return (mean_prefill + TPOT_MS * math.exp(0.1 ** 2 / 2) * (1 + SLOWDOWN * (SLOTS - 1)) * (mean_out - 1)) / 1000


def capacity_rps() -> float:
    """Requests per second the c slots serve when always full (the load's 100 %)."""
    return SLOTS / _mean_service_s()


def _serve(t: float, free: list[float], busy_until: list[float], prefill_s: float, out_tokens: int,
           jitter: float) -> tuple[float, float, float]:
    """One request arriving at ``t`` into the FCFS server: it takes the first slot to free (``free``,
    a heap), decodes at a TPOT that rises with the requests in service (``busy_until``, a heap of end
    times); both heaps are updated. Returns (start, TPOT in s, end)."""
    start = max(t, heapq.heappop(free))
    while busy_until and busy_until[0] <= start:
        heapq.heappop(busy_until)
    in_service = len(busy_until) + 1
    tp = TPOT_MS / 1000 * (1 + SLOWDOWN * (in_service - 1)) * jitter
    end = start + prefill_s + tp * (out_tokens - 1)
    heapq.heappush(free, end)
    heapq.heappush(busy_until, end)
    return start, tp, end


def queue_run(rng: np.random.Generator, n: int, load: float, burn_in: int = BURN_IN) -> dict[str, np.ndarray]:
    """One run of ``n`` requests (after ``burn_in`` dropped ones) at ``load`` × capacity."""
    total = n + burn_in
    lam = load * capacity_rps()
    arrivals = np.cumsum(rng.exponential(1 / lam, total))
    prefill = PREFILL_MS / 1000 * np.exp(0.4 * rng.standard_normal(total))
    out_tok = rng.integers(OUT_TOKENS[0], OUT_TOKENS[1] + 1, total)
    jitter = np.exp(0.1 * rng.standard_normal(total))  # per-request decode speed (log-normal, σ 0.1)
    free: list[float] = [0.0] * SLOTS  # when each slot frees (heap)
    busy_until: list[float] = []  # end times of requests in service (heap)
    ttft = np.empty(total)
    tpot = np.empty(total)
    e2e = np.empty(total)
    for i in range(total):
        t = arrivals[i]
        start, tp, end = _serve(t, free, busy_until, prefill[i], out_tok[i], jitter[i])
        ttft[i] = start - t + prefill[i]
        tpot[i] = tp
        e2e[i] = end - t
    s = slice(burn_in, total)
    return {"start_s": arrivals[s] - arrivals[burn_in], "ttft_ms": ttft[s] * 1e3, "tpot_ms": tpot[s] * 1e3,
            "e2e_ms": e2e[s] * 1e3, "offered_rps": np.array([lam])}


@functools.lru_cache(maxsize=8)
def queue_truth(load: float, n: int = 1_000_000) -> dict[str, dict[str, float]]:
    """Stationary mean and percentiles of TTFT, TPOT and E2E at ``load`` (one long run)."""
    r = queue_run(np.random.default_rng([4242, int(load * 1000)]), n, load, burn_in=20_000)
    out = {}
    for m in ("ttft", "tpot", "e2e"):
        x = r[f"{m}_ms"]
        out[m] = {"mean": float(x.mean()), **{f"p{p}": float(np.quantile(x, p / 100)) for p in (50, 90, 95, 99)}}
    return out


def closed_run(rng: np.random.Generator, n: int, clients: int, burn_in: int = BURN_IN) -> dict[str, np.ndarray]:
    """One closed-loop run (fixed concurrency, as ``vllm bench serve --max-concurrency`` or GuideLLM's
    concurrent profile): ``clients`` users each send their next request the moment the previous one
    ends, into the same ``SLOTS``-slot FCFS server. With clients > SLOTS requests queue in the server:
    TTFT = wait for a slot + prefill, and requests in flight sit at the cap all run long."""
    total = n + burn_in
    prefill = PREFILL_MS / 1000 * np.exp(0.4 * rng.standard_normal(total))
    out_tok = rng.integers(OUT_TOKENS[0], OUT_TOKENS[1] + 1, total)
    jitter = np.exp(0.1 * rng.standard_normal(total))
    ready: list[float] = [0.0] * clients  # when each client sends next (heap)
    free: list[float] = [0.0] * SLOTS
    busy_until: list[float] = []
    send = np.empty(total)
    ttft = np.empty(total)
    tpot = np.empty(total)
    e2e = np.empty(total)
    for i in range(total):
        t = heapq.heappop(ready)
        start, tp, end = _serve(t, free, busy_until, prefill[i], out_tok[i], jitter[i])
        heapq.heappush(ready, end)
        send[i], ttft[i], tpot[i], e2e[i] = t, start - t + prefill[i], tp, end - t
    s = slice(burn_in, total)
    return {"start_s": send[s] - send[burn_in], "ttft_ms": ttft[s] * 1e3, "tpot_ms": tpot[s] * 1e3,
            "e2e_ms": e2e[s] * 1e3, "clients": np.array([clients])}


@functools.lru_cache(maxsize=8)
def closed_truth(clients: int, n: int = 1_000_000) -> dict[str, dict[str, float]]:
    """Stationary mean and percentiles of TTFT, TPOT and E2E of the closed loop (one long run)."""
    r = closed_run(np.random.default_rng([4343, clients]), n, clients, burn_in=20_000)
    out = {}
    for m in ("ttft", "tpot", "e2e"):
        x = r[f"{m}_ms"]
        out[m] = {"mean": float(x.mean()), **{f"p{p}": float(np.quantile(x, p / 100)) for p in (50, 90, 95, 99)}}
    return out
