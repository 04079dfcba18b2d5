"""Prefix-cache hits, per side, from the per-request cached-token counts (``cached_tokens``).

A server with a prefix (KV) cache reports, per request, how many prompt tokens it served from the
cache (OpenAI-style usage ``prompt_tokens_details.cached_tokens``; GuideLLM keeps it per request, and
casegen's CSV/JSONL has a ``cached_tokens`` column). From it, for each side (``docs/cheap-wins.md``):

* **hit rate**: the share of successful requests with ``cached_tokens > 0``, with a Wilson interval on
  the effective number of requests (the hit indicator in send order, ``casegen.analysis.dependence``:
  a cache makes neighbouring requests alike, so ``n_eff = n / f`` with the long-run variance factor
  ``f``; ``n_eff = n`` when the indicator shows no dependence);
* **cached share of prompt tokens**: ``R = Σ cached / Σ prompt`` with the ratio estimator's delta-method
  interval ``R ± z·√(f_u · var(u) / n) / mean(prompt)``, ``u_i = cached_i − R·prompt_i`` (``f_u`` the
  long-run variance factor of ``u`` in send order), clipped to [0, 1];
* **TTFT of hits vs misses**: mean TTFT of hits − mean TTFT of misses, with the normal interval of
  ``casegen.analysis.segments.mean_change`` (each group's variance of the mean widened for dependence
  in send order); medians shown beside it. Hits and misses are different requests, so the difference
  is the cache's effect only as far as hits and misses are otherwise alike (prompt length, load): the
  mean prompt tokens of each group are kept to show it.

Nothing here is claimed when a side's tool did not record cached tokens (all NaN).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from pydantic import Field

from casegen.analysis.model import FigureModel
from casegen.runs.model import Run


class CacheSide(FigureModel):
    """One side's prefix-cache figures (summary.json ``optimization.cache.<side>``)."""

    requests: int = Field(description="successful requests whose cached-token count the tool recorded")
    hits: int = Field(description="of them, requests with cached_tokens > 0")
    hit_rate: float = Field(description="hits ÷ requests")
    hit_rate_ci: list[float] = Field(description="Wilson interval of hit_rate on n_eff requests, at `confidence`")
    n_eff: float = Field(description="effective number of independent requests of the hit indicator (send order)")
    cached_share: float = Field(description="cached prompt tokens ÷ prompt tokens")
    cached_share_ci: list[float] | None = Field(
        None, description="delta-method interval of cached_share (ratio estimator, dependence-aware); None without hits")
    mean_cached_tokens_per_hit: float | None = None
    mean_prompt_tokens_hit: float | None = None
    mean_prompt_tokens_miss: float | None = None
    ttft_hit_mean_ms: float | None = None
    ttft_miss_mean_ms: float | None = None
    ttft_hit_p50_ms: float | None = None
    ttft_miss_p50_ms: float | None = None
    ttft_hit_minus_miss_ms: float | None = Field(None, description="mean TTFT of hits − mean TTFT of misses")
    ttft_hit_minus_miss_ci_ms: list[float] | None = Field(None, description="its normal interval at `confidence`")


class CacheStats(FigureModel):
    """summary.json ``optimization.cache``: each side's hits (None for a side whose tool did not record them)."""

    confidence: float
    baseline: CacheSide | None = None
    optimized: CacheSide | None = None


def _lrv_factor(x: np.ndarray) -> float:
    """Long-run variance factor of ``x`` in send order (1 for a constant or independent series)."""
    from casegen.analysis.dependence import dependence

    if x.size < 3 or float(np.var(x)) == 0.0:
        return 1.0
    dep = dependence(x)
    return max(1.0, dep.lrv_factor) if dep.dependent else 1.0


def wilson_interval(p: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a share ``p`` observed on ``n`` (effective, possibly fractional) trials."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def _frame(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(cached, prompt, ttft_s) of the successful requests with a cached count, in send order."""
    df = run.requests
    if df is None or "cached_tokens" not in df:
        return None
    ok = df[df["success"]]
    if ok.all_known("start_s"):
        ok = ok.sort_values("start_s")
    cached = ok["cached_tokens"]
    keep = np.isfinite(cached)
    if not keep.any():
        return None
    return cached[keep], ok["input_tokens"][keep], ok["ttft_s"][keep]


def side_cache(run: Run, confidence: float = 0.95) -> CacheSide | None:
    """One side's hit rate, cached share and hit/miss TTFT (None when the run has no cached counts)."""
    from casegen.analysis.segments import mean_change

    f = _frame(run)
    if f is None:
        return None
    cached, prompt, ttft_s = f
    n = int(cached.size)
    hit = cached > 0
    k = int(hit.sum())
    p = k / n
    n_eff = n / _lrv_factor(hit.astype(float))
    lo, hi = wilson_interval(p, n_eff, confidence)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    known = np.isfinite(prompt)
    share, share_ci = 0.0, None
    if known.any() and float(prompt[known].sum()) > 0:
        c, pr = cached[known], prompt[known]
        share = float(c.sum() / pr.sum())
        if k and c.size >= 3:
            u = c - share * pr
            se = math.sqrt(_lrv_factor(u) * float(np.var(u, ddof=1)) / c.size) / float(pr.mean())
            share_ci = [max(0.0, share - z * se), min(1.0, share + z * se)]
    out = CacheSide(requests=n, hits=k, hit_rate=p, hit_rate_ci=[lo, hi], n_eff=n_eff, cached_share=share,
                    cached_share_ci=share_ci,
                    mean_cached_tokens_per_hit=float(cached[hit].mean()) if k else None,
                    mean_prompt_tokens_hit=float(np.nanmean(prompt[hit])) if k and np.isfinite(prompt[hit]).any() else None,
                    mean_prompt_tokens_miss=(float(np.nanmean(prompt[~hit])) if k < n and np.isfinite(prompt[~hit]).any()
                                             else None))
    th, tm = ttft_s[hit] * 1e3, ttft_s[~hit] * 1e3
    th, tm = th[np.isfinite(th)], tm[np.isfinite(tm)]
    if th.size:
        out.ttft_hit_mean_ms, out.ttft_hit_p50_ms = float(th.mean()), float(np.median(th))
    if tm.size:
        out.ttft_miss_mean_ms, out.ttft_miss_p50_ms = float(tm.mean()), float(np.median(tm))
    if th.size >= 2 and tm.size >= 2:
        d, dlo, dhi = mean_change(tm, th, z)
        out.ttft_hit_minus_miss_ms, out.ttft_hit_minus_miss_ci_ms = d, [dlo, dhi]
    return out


#: hit rates differing by at least this much (absolute) and significantly make a threat outside the caching kind
CACHE_DIFF_MIN = 0.05


def cache_threats(runs: dict, kind: str, confidence: float = 0.95) -> list:
    """Outside ``optimization.kind: caching`` a different cache hit rate is a confounder, not the result:
    a major threat when both sides record cached tokens and their hit rates differ by at least
    ``CACHE_DIFF_MIN`` with a two-proportion z test on the effective numbers of requests."""
    from casegen.analysis.checks import Threat

    if kind == "caching":
        return []
    b, o = side_cache(runs["baseline"], confidence), side_cache(runs["optimized"], confidence)
    if b is None or o is None:
        return []
    d = o.hit_rate - b.hit_rate
    se = math.sqrt(b.hit_rate * (1 - b.hit_rate) / b.n_eff + o.hit_rate * (1 - o.hit_rate) / o.n_eff)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    if abs(d) < CACHE_DIFF_MIN or (se > 0 and abs(d) < z * se):
        return []
    return [Threat("cache-differs", "major", "The two sides hit the prefix cache at different rates",
                   f"{b.hit_rate:.0%} of baseline requests and {o.hit_rate:.0%} of optimized requests were served "
                   f"partly from the server's prefix cache ({b.cached_share:.0%} vs {o.cached_share:.0%} of prompt "
                   "tokens): part of any latency change is the cache, not the change being measured",
                   "run both sides with the same cache state (the same prompts, warmed or flushed alike), or set "
                   "optimization.kind: caching when the cache is the change")]


def study_cache(study) -> CacheStats | None:  # noqa: ANN001 - the Study (imported lazily: study imports this module)
    """Both sides' cache figures, or None when neither side's tool recorded cached tokens."""
    conf = study.case.analysis.confidence
    sides = {s: side_cache(study.runs[s], conf) for s in ("baseline", "optimized")}
    if all(v is None for v in sides.values()):
        return None
    return CacheStats(confidence=conf, **sides)
