"""Does a run look saturated — its TTFT dominated by queue wait?

When requests queue, TTFT is mostly waiting time, and waiting time follows the queue's busy
periods: slow swings that last hundreds of requests. A single run then holds only a handful of
independent stretches, and no estimate made from the run itself can tell how few (in simulation at
90 % load the effective sample size of the TTFT median is about 10 of 1,000 requests; every
estimator from the run — lag window, batch means — says 15 to 40, and intervals built on them cover
the truth a third to two thirds of the time). casegen therefore withholds TTFT and E2E intervals of
such a run (†) — TTFT and E2E, and TPOT, inter-chunk gaps and decode time, which follow
the number of requests in service through the same busy periods — and says what would support one: repetitions, which casegen then uses as the unit.

Signals (pure functions on per-request arrays in send order; ``docs/statistics.md`` section 1b):

* **TTFT rises with the requests in flight**: Spearman rank correlation between a request's TTFT and
  the number of earlier requests still in flight when it was sent ≥ ``QUEUE_RANK_CORR`` (0.5).
  In an M/G/4 queue it is 0.07 at 30 % load, 0.35 at 50 %, 0.72 at 70 %, 0.88 at 80 % and 0.94 at
  90 % (1,000 requests; 5–95 % range at 70 %: 0.65–0.78); without a queue a request's TTFT does
  not depend on how many are in flight. Strong contention for the batch has the same effect and
  the same consequence (tools/testserver.py, whose TTFT grows 6 % per request in flight: 0.64–0.77
  over three pooled runs on a busy machine). At 70 % load the runs under 0.75 printed intervals that
  covered 86–88 % (p90, p95): the threshold sits below the whole 70 % range.
* **Offered rate not achieved, TTFT climbing**: an open-loop run whose completed requests per second
  fall more than 10 % short of the offered rate while the median TTFT of its last third is ≥ 1.5×
  that of its first third — the queue grows through the run (overload; no stationary state to
  estimate at all).
* **Closed loop at the cap, requests waiting for a slot** (fixed concurrency: the requests in flight
  at send sit at their maximum for ≥ ``CLOSED_AT_CAP`` of requests): at a typical send at least
  ``CLOSED_WAITING`` earlier requests are still waiting for their first token (median) — the server
  starts requests later than they arrive, so TTFT is mostly queue wait. Reported (``signal`` =
  "closed"), but intervals are **kept** (``withhold`` False): a closed loop has no busy periods —
  its users hold the queue at a fixed length — so its requests stay nearly independent; in
  simulation (8 users on a 4-slot FCFS server, ``benchmarks/coverage.py``) the printed intervals
  covered 93–98 % at 200–5,000 requests. The figures describe the queue at this concurrency, which
  the note says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from casegen import registry

#: Spearman correlation of TTFT with requests in flight at send from which queue wait dominates TTFT
QUEUE_RANK_CORR = 0.5
#: achieved / offered below this (with climbing TTFT) means the server could not keep up
OFFERED_SHORTFALL = 0.90
#: median TTFT of the last third over the first third at or above this: the queue grows
TTFT_DRIFT = 1.5
#: the metrics whose intervals a saturated run cannot support: TTFT and E2E contain the queue wait,
#: and TPOT, inter-chunk gaps and decode time follow the number of requests in service, which
#: swings with the same busy periods (in simulation at 90 % load the TPOT median's interval covered
#: 84–90 % when printed)
QUEUE_METRICS: tuple[str, ...] = registry.LATENCY_METRICS
# reader language (issue 23): what would support an interval, not an instruction to the author
REMEDY = "one run cannot support an interval here; three or more runs per side would (the runs as the unit)"
MIN_REQUESTS = 50
#: share of sends at the run's largest number in flight from which a run is a closed loop at its cap
CLOSED_AT_CAP = 0.9
#: median number of earlier requests still waiting for their first token at a send, from which a
#: closed loop's TTFT is mostly queue wait (in simulation: 0 with 4 users on 4 slots, 4 with 8)
CLOSED_WAITING = 1.0


@dataclass(frozen=True)
class Saturation:
    """Why a run looks saturated: ``signal`` ("queue" or "overload"), the figures, the sentence."""

    signal: str
    rank_corr: float | None
    drift: float | None
    achieved_over_offered: float | None
    reason: str
    #: whether one run cannot support an interval (its intervals are withheld): False for a closed
    #: loop, whose queue its users hold at a fixed length (module docstring)
    withhold: bool = True


def in_flight_at_send(start_s: np.ndarray, e2e_s: np.ndarray) -> np.ndarray:
    """For each request (sorted by ``start_s``): how many earlier-sent requests had not finished when
    it was sent. A request that ended at or before a send time was necessarily sent before it."""
    ends = np.sort(start_s + e2e_s)
    return np.arange(start_s.size) - np.searchsorted(ends, start_s, side="right")


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank)."""
    order = np.argsort(x, kind="stable")
    sx = x[order]
    r = np.empty(x.size)
    r[order] = np.arange(x.size, dtype=float)
    # average ties
    _, first, counts = np.unique(sx, return_index=True, return_counts=True)
    mean_rank = first + (counts - 1) / 2.0
    r[order] = np.repeat(mean_rank, counts)
    return r


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either is constant."""
    rx, ry = _ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float))
    if np.std(rx) == 0 or np.std(ry) == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def detect(start_s: np.ndarray, ttft_ms: np.ndarray, e2e_ms: np.ndarray, offered_rps: float | None = None,
           duration_s: float | None = None) -> Saturation | None:
    """Saturation of one run from its successful requests in send order (arrays aligned; NaN-free
    ``start_s`` and ``e2e_ms``); None when it does not look saturated or cannot be judged."""
    start_s = np.asarray(start_s, dtype=float)
    ttft_ms = np.asarray(ttft_ms, dtype=float)
    e2e_ms = np.asarray(e2e_ms, dtype=float)
    ok = np.isfinite(start_s) & np.isfinite(ttft_ms) & np.isfinite(e2e_ms)
    start_s, ttft_ms, e2e_ms = start_s[ok], ttft_ms[ok], e2e_ms[ok]
    n = start_s.size
    if n < MIN_REQUESTS:
        return None
    order = np.argsort(start_s, kind="stable")
    start_s, ttft_ms, e2e_ms = start_s[order], ttft_ms[order], e2e_ms[order]
    flight = in_flight_at_send(start_s, e2e_ms / 1e3)
    rho = spearman(ttft_ms, flight)
    third = n // 3
    first, last = float(np.median(ttft_ms[:third])), float(np.median(ttft_ms[-third:]))
    drift = last / first if first > 0 else None
    ratio = None
    if offered_rps is not None and math.isfinite(offered_rps) and offered_rps > 0 and duration_s:
        ratio = n / duration_s / offered_rps
    if math.isfinite(rho) and rho >= QUEUE_RANK_CORR:
        return Saturation("queue", rho, drift, ratio,
                          f"the run looks saturated: TTFT rises with the requests in flight (rank correlation "
                          f"{rho:.2f}) — the load, not the request, sets the latency (queue wait, or contention for "
                          f"the batch), and the load's slow swings make the run's requests far less independent "
                          f"than the run can show; {REMEDY}")
    closed = closed_loop_queue(start_s, ttft_ms, e2e_ms, flight)
    if closed is not None:
        cap, waiting = closed
        return Saturation("closed", rho if math.isfinite(rho) else None, drift, ratio,
                          f"the run is a closed loop at its cap ({cap} requests in flight) and the server queues them: "
                          f"the median send found {waiting:g} earlier request{'' if waiting == 1 else 's'} still waiting for "
                          f"a first token, so "
                          f"TTFT is mostly queue wait and describes the queue at this concurrency, not the server; the "
                          f"intervals stand (a closed loop holds its queue at a fixed length: in simulation they covered "
                          f"93–98%); the server's own latency would show at a lower concurrency", withhold=False)
    if ratio is not None and ratio < OFFERED_SHORTFALL and drift is not None and drift >= TTFT_DRIFT:
        return Saturation("overload", rho if math.isfinite(rho) else None, drift, ratio,
                          f"the run looks saturated: it completed {ratio:.0%} of the offered rate while its median "
                          f"TTFT grew {drift:.1f}× from the first to the last third (the queue grows); {REMEDY}")
    return None


def closed_loop_queue(start_s: np.ndarray, ttft_ms: np.ndarray, e2e_ms: np.ndarray,
                      flight: np.ndarray) -> tuple[int, float] | None:
    """(cap, median requests waiting for their first token at a send) when the run (sorted by send)
    is a closed loop at its cap whose server queues requests (module docstring); else None."""
    n = flight.size
    cap = int(flight.max()) if n else 0
    if cap < 1 or float(np.mean(flight[n // 10:] == cap)) < CLOSED_AT_CAP:
        return None
    waiting = in_flight_at_send(start_s, ttft_ms / 1e3)
    med = float(np.median(waiting))
    return (cap + 1, med) if med >= CLOSED_WAITING else None


def run_saturation(run) -> Saturation | None:
    """:func:`detect` on a per-request run (successful requests with send times); None otherwise."""
    df = run.requests
    if df is None or "start_s" not in df:
        return None
    ok = df[df["success"]]
    if len(ok) < MIN_REQUESTS or not ok.all_known("start_s"):
        return None
    from casegen.analysis.metrics import request_latencies_ms

    lat = request_latencies_ms(ok)
    if "ttft" not in lat or "e2e" not in lat:
        return None
    return detect(ok["start_s"], lat["ttft"], lat["e2e"], run.meta.request_rate,
                  run.meta.duration_s)
