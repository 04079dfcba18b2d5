"""Initial-transient (warm-up) detection by MSER-5, and trimming a run to its steady part.

A run that starts from an empty server (an open-loop run near capacity above all) first fills its
queue: the early requests are faster than the steady state, and a short run can be mostly this
ramp. MSER-5 (White 1997; Franklin & White 2008), the standard truncation rule of simulation output
analysis, picks the warm-up to drop:

* take the metric's per-request values in send order and average them in batches of 5
  (Z_1 … Z_k, a trailing partial batch left out);
* for every candidate truncation d (batches), MSER(d) = Σ_{j>d} (Z_j − Z̄_d)² / (k − d)², the
  squared standard error of the mean of what is kept; d* = argmin over d ≤ k/2 (the usual
  restriction: a minimum late in the run is the statistic's end effect, not a transient);
* the warm-up is the first 5·d* requests. When what is left still drifts — the slope of its 10
  batch means against time is significant at 1 % (t-test, 8 df): the queue keeps growing, or the
  run is too short to leave its transient — there is **no steady part** and nothing is trimmed;
  the run's statistics then get no interval (the reason is said wherever † appears), whether or
  not analysis.warmup is ``auto``: a drifting run has no steady state for an interval to describe.

A run is trimmed at the latest truncation point of TTFT and E2E (queueing shows in both; a
decode-only effect shows in E2E). Pure functions on arrays; ``trim_transient`` makes the trimmed
copy of a run. Method and a simulation check: ``docs/statistics.md`` ("Warm-up transient").
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from casegen.runs.model import Run

#: MSER batch size (MSER-5)
BATCH = 5
#: fewer batches than this: no truncation is attempted (too little data to tell a transient)
MIN_BATCHES = 10
#: metrics whose transient decides the truncation point
TRANSIENT_METRICS: tuple[str, ...] = ("ttft", "e2e")
#: the steady part is "still drifting" when the slope of this many batch means is significant at this level
TREND_BATCHES = 10
TREND_CONFIDENCE = 0.99
#: a transient this large a share of the run is worth telling the reader about when it is not trimmed
MATERIAL_SHARE = 0.10


@dataclass(frozen=True)
class Mser:
    """MSER-5 result of one series: ``truncate`` values to drop from the start (a multiple of 5),
    ``steady`` False when the part after it still drifts (no steady part found)."""

    n: int
    truncate: int
    steady: bool


def mser(x: np.ndarray, batch: int = BATCH) -> Mser:
    """MSER-``batch`` truncation point of a series in time order (NaNs must be removed)."""
    x = np.asarray(x, dtype=float)
    k = x.size // batch
    if k < MIN_BATCHES:
        return Mser(int(x.size), 0, True)
    z = x[: k * batch].reshape(k, batch).mean(axis=1)
    # suffix sums: kept batches d..k-1 for d = 0..k/2 (the standard restriction to the first half)
    s1 = np.cumsum(z[::-1])[::-1]
    s2 = np.cumsum((z * z)[::-1])[::-1]
    d = np.arange(k // 2 + 1)
    m = (k - d).astype(float)
    ss = np.maximum(s2[d] - s1[d] ** 2 / m, 0.0)
    stat = ss / (m * m)
    best = int(np.argmin(stat))
    cut = best * batch
    return Mser(int(x.size), cut, not trending(x[cut:]))


def trending(x: np.ndarray, batches: int = TREND_BATCHES, confidence: float = TREND_CONFIDENCE) -> bool:
    """Does the series still drift? OLS slope of ``batches`` batch means against time, two-sided t-test
    at 1 − ``confidence`` (batch means make neighbouring requests' correlation small)."""
    from casegen.analysis.throughput import t_quantile

    k = x.size // batches
    if k < 2:
        return False
    z = x[: k * batches].reshape(batches, k).mean(axis=1)
    t = np.arange(batches, dtype=float) - (batches - 1) / 2
    slope = float(t @ (z - z.mean()) / (t @ t))
    resid = z - z.mean() - slope * t
    s2 = float(resid @ resid) / (batches - 2)
    if s2 <= 0:
        return slope != 0
    return abs(slope) / np.sqrt(s2 / float(t @ t)) > t_quantile(0.5 + confidence / 2, batches - 2)


@dataclass(frozen=True)
class Transient:
    """The warm-up transient of one run (what summary.json shows under ``runs.<side>.transient``).

    ``requests_trimmed`` of ``requests`` (successful, in send order) were dropped, the first
    ``seconds_trimmed`` of ``seconds`` of the run; ``by``: the metric whose transient was longest;
    ``steady`` False: no steady part found (``reason`` says why); ``applied`` False: detected only
    (analysis.warmup is not ``auto``)."""

    method: str
    requests: int
    requests_trimmed: int
    seconds: float | None
    seconds_trimmed: float | None
    by: str | None
    steady: bool
    applied: bool
    reason: str

    @property
    def share(self) -> float:
        return self.requests_trimmed / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ordered(run: Run) -> tuple[Any, dict[str, np.ndarray]]:
    from casegen.analysis.uncertainty import send_order

    ok = send_order(run)
    series = {}
    for metric, col in (("ttft", "ttft_s"), ("e2e", "e2e_s")):
        if col in ok:
            series[metric] = ok[col]
    return ok, series


def detect(run: Run) -> Transient | None:
    """MSER-5 on the run's successful requests in send order; None for a run without per-request data."""
    if run.requests is None:
        return None
    ok, series = _ordered(run)
    n = int(len(ok))
    cut, by, steady, drifting = 0, None, True, []
    for metric in TRANSIENT_METRICS:
        v = series.get(metric)
        if v is None or not np.isfinite(v).all() or v.size < n or n == 0:
            continue
        r = mser(v)
        if not r.steady:
            steady = False
            drifting.append(metric.upper())
        elif r.truncate > cut:
            cut, by = r.truncate, metric
    seconds = seconds_cut = None
    if n and ok.all_known("start_s"):
        start = ok["start_s"]
        end = start + np.nan_to_num(ok["e2e_s"], nan=0.0)
        seconds = float(end.max() - start.min())
        seconds_cut = float(start[cut] - start.min()) if 0 < cut < n else 0.0
    if not steady:
        cut, by = 0, None
        reason = (f"no steady part: {' and '.join(drifting)} still {'drift' if len(drifting) > 1 else 'drifts'} after the warm-up (their trend "
                  "over the run is significant at 1 %): the queue keeps growing, or the run is too short to leave its "
                  "warm-up")
    elif cut:
        when = f", the first {seconds_cut:.1f} s of {seconds:.1f} s" if seconds_cut is not None and seconds else ""
        reason = (f"the warm-up ends at request {cut} of {n} in send order{when}: "
                  f"{by.upper() + ' of the first requests differs' if by else 'the first requests differ'} from the rest, and this cut "
                  "leaves the steadiest average")
    else:
        reason = "no warm-up found (no early cut leaves a steadier average)"
    return Transient("MSER-5", n, cut, seconds, seconds_cut, by, steady, False, reason)


def trim_transient(run: Run) -> Run:
    """A copy of ``run`` without its MSER-5 warm-up (``run.transient`` set either way). A run without a
    steady part is kept whole and flagged (its intervals are withheld by casegen.analysis.uncertainty)."""
    t = detect(run)
    if t is None:
        return run
    out = copy.copy(run)
    out.meta = copy.copy(run.meta)
    out.meta.extra = dict(run.meta.extra, transient=asdict(Transient(**{**asdict(t), "applied": True})))
    if not t.steady or t.requests_trimmed == 0:
        return out
    ok, _ = _ordered(run)
    df = run.requests
    assert df is not None
    dropped = np.isin(df.index, ok.index[: t.requests_trimmed])
    # failed requests sent during the warm-up go too: everything sent before the first kept request
    if df.all_known("start_s"):
        first_kept = float(ok["start_s"][t.requests_trimmed])
        keep = (df["start_s"] >= first_kept) & ~dropped
    else:
        keep = ~dropped
    out.requests = df[keep].reset_index()
    if t.seconds is not None and t.seconds_trimmed is not None:
        kept = out.requests
        start = kept["start_s"]
        end = start + np.nan_to_num(kept["e2e_s"], nan=0.0)
        out.meta.duration_s = float(end.max() - start.min())
    else:
        from casegen.analysis.window import throughput_counts

        out.meta.extra["throughput_counts"] = throughput_counts(run)
    out.warnings = list(run.warnings) + [f"trimmed {int((~keep).sum())} of {len(df)} requests as warm-up: {t.reason}"]
    out.tool_summary = {k: v for k, v in run.tool_summary.items() if k in ("requests",)}
    out.trimmed = int((~keep).sum())
    return out


def run_transient(run: Run) -> Transient | None:
    """The transient recorded on a run (trimmed or detected), or detected now."""
    for part in [run, *getattr(run, "parts", [])]:
        t = part.meta.extra.get("transient")
        if t is not None:
            return Transient(**t)
    return detect(run)
