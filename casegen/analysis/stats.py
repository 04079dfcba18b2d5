"""Statistical inference: confidence intervals, bootstrap deltas, SLO verdicts, KS distance.

Pure functions on NumPy arrays; formulas and a worked example in ``docs/statistics.md``.
No SciPy at run time: the binomial and Kolmogorov distributions are computed here and the
tests check them against SciPy.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------------------- binomial


def binom_pmf_all(n: int, p: float) -> np.ndarray:
    """P(X = k) for k = 0..n, X ~ Binomial(n, p), computed stably in log space."""
    if n < 0:
        raise ValueError("n must be ≥ 0")
    if p <= 0.0:
        out = np.zeros(n + 1)
        out[0] = 1.0
        return out
    if p >= 1.0:
        out = np.zeros(n + 1)
        out[n] = 1.0
        return out
    k = np.arange(n + 1, dtype=float)
    # log C(n,k) via cumulative sums of log((n-j)/(j+1))
    steps = np.log(n - k[:-1]) - np.log(k[:-1] + 1)
    log_comb = np.concatenate([[0.0], np.cumsum(steps)])
    logpmf = log_comb + k * math.log(p) + (n - k) * math.log1p(-p)
    return np.exp(logpmf)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p); summed term by term (cheap when k is small)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    total = 0.0
    lp, lq = math.log(p), math.log1p(-p)
    for j in range(0, k + 1):
        total += math.exp(math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * lp + (n - j) * lq)
    return min(total, 1.0)


# ------------------------------------------------------------- order-statistic interval


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


def quantile_ci_ranks(n: int, p: float, confidence: float = 0.95) -> tuple[int, int] | None:
    """0-based order-statistic ranks (l, u) of a distribution-free two-sided CI for the
    p-quantile (p in (0, 1)), or None when n is too small for one to exist.

    Same construction as SciPy's ``quantile_test(...).confidence_interval()``: with
    a = (1 − confidence)/2 and X ~ Binomial(n, p), l = ppf(a) − 1 and u = isf(a), where
    ppf(a) is the smallest k with P(X ≤ k) ≥ a and isf(a) the smallest k with P(X > k) ≤ a.
    Coverage P(x_(l) ≤ Q_p ≤ x_(u)) ≥ confidence for any continuous distribution.
    """
    if n <= 0:
        return None
    a = (1.0 - confidence) / 2.0
    cdf = np.cumsum(binom_pmf_all(n, p))
    eps = 1e-12
    ppf = int(np.searchsorted(cdf, a - eps, side="left"))  # first k with cdf ≥ a
    sf = 1.0 - cdf
    isf = int(np.argmax(sf <= a + eps)) if np.any(sf <= a + eps) else n
    low, high = ppf - 1, isf
    if low < 0 or high >= n:
        return None
    return low, high


def quantile_ci(values: np.ndarray, p: float, confidence: float = 0.95) -> Interval | None:
    """Distribution-free CI for the p-quantile (p in (0,1)) of i.i.d. ``values``; None if n too small."""
    x = np.sort(np.asarray(values, dtype=float))
    ranks = quantile_ci_ranks(x.size, p, confidence)
    if ranks is None:
        return None
    return Interval(float(x[ranks[0]]), float(x[ranks[1]]))


@functools.lru_cache(maxsize=64)
def min_n_for_quantile_ci(p: float, confidence: float = 0.95) -> int:
    """Smallest n for which a two-sided distribution-free CI of the p-quantile exists."""
    n = 1
    while quantile_ci_ranks(n, p, confidence) is None:
        n += 1
        if n > 10_000_000:  # pragma: no cover
            raise ValueError("no such n")
    return n


# ------------------------------------------------------------------ fast bootstrap draws
#
# No resamples × n matrix anywhere: a percentile's bootstrap distribution is drawn as a Beta
# variate over ranks and mapped through the sorted sample (O(n log n) once, O(B) after); a mean's
# (or a ratio of sums', e.g. the pooled inter-chunk mean) as sums of resampled blocks read off
# prefix sums (O(n) once, O(B · k) after, k ≤ MAX_BLOCKS). Accuracy: docs/statistics.md.

#: at most this many blocks per bootstrap resample of a mean; longer series get longer blocks
MAX_BLOCKS = 2000


def quantile_at(sorted_values: np.ndarray, q: np.ndarray | float, method: str = "linear") -> np.ndarray:
    """Quantile(s) q in [0, 1] of an already sorted sample, by casegen's percentile method."""
    x = sorted_values
    n = x.size
    q = np.asarray(q, dtype=float)
    if method == "mlperf":
        return x[np.minimum(np.floor(n * q).astype(np.int64), n - 1)]
    if method == "nearest":  # NumPy's method="nearest": index round((n − 1)·q), ties to even
        return x[np.rint(np.clip(q, 0.0, 1.0) * (n - 1)).astype(np.int64)]
    if method != "linear":
        raise ValueError(f"unknown percentile method {method!r}")
    h = np.clip(q, 0.0, 1.0) * (n - 1)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    return x[lo] + (h - lo) * (x[hi] - x[lo])


def _quantile_indices(n: int, q: np.ndarray, method: str) -> np.ndarray:
    """Every index of the sorted sample that quantile_at reads for the fractions ``q``."""
    q = np.clip(np.asarray(q, dtype=float), 0.0, 1.0)
    if method == "mlperf":
        return np.minimum(np.floor(n * q).astype(np.int64), n - 1)
    if method == "nearest":
        return np.rint(q * (n - 1)).astype(np.int64)
    lo = np.floor(q * (n - 1)).astype(np.int64)
    return np.concatenate([lo, np.minimum(lo + 1, n - 1)])


def quantile_select(values: np.ndarray, q: np.ndarray | float, method: str = "linear") -> np.ndarray:
    """``quantile_at`` on an *unsorted* sample without sorting all of it: partition at the lowest and
    highest rank the fractions ``q`` need and sort only that stretch (O(n) for a narrow range of q,
    e.g. the bootstrap draws of one percentile of 15 million pooled chunk gaps)."""
    x = np.asarray(values, dtype=float)
    n = x.size
    q = np.asarray(q, dtype=float)
    idx = _quantile_indices(n, q.ravel(), method)
    lo, hi = int(idx.min()), int(idx.max())
    part = np.partition(x, [lo, hi]) if hi > lo else np.partition(x, lo)
    stretch = np.sort(part[lo:hi + 1])
    # a sorted array whose entries below lo / above hi are never read: quantile_at on the stretch
    # with indices shifted by lo gives the same values as on the fully sorted sample
    full_idx = np.clip(q, 0.0, 1.0)
    if method == "mlperf":
        return stretch[np.minimum(np.floor(n * full_idx).astype(np.int64), n - 1) - lo]
    if method == "nearest":
        return stretch[np.rint(full_idx * (n - 1)).astype(np.int64) - lo]
    h = full_idx * (n - 1)
    i = np.floor(h).astype(np.int64)
    j = np.minimum(i + 1, n - 1)
    return stretch[i - lo] + (h - i) * (stretch[j - lo] - stretch[i - lo])


def quantile_draws(sorted_values: np.ndarray, p: float, n_eff: float, resamples: int,
                   rng: np.random.Generator, method: str = "linear", presorted: bool = True) -> np.ndarray:
    """Bootstrap distribution of the p-quantile with ``n_eff`` effective observations.

    U ~ Beta(p·(n_eff+1), (1−p)·(n_eff+1)) is the distribution of the p-th sample fraction of
    n_eff independent uniforms (the k-th order statistic of n uniforms is Beta(k, n−k+1)); the
    draw is the sample's quantile at U. With n_eff = n this is the i.i.d. bootstrap of the
    order statistic up to one rank; a smaller n_eff widens it as dependence requires.
    """
    m = max(float(n_eff), 1.0) + 1.0
    u = rng.beta(max(p * m, 1e-9), max((1.0 - p) * m, 1e-9), size=resamples)
    if not presorted:
        return quantile_select(sorted_values, u, method)
    return quantile_at(sorted_values, u, method)


def block_ratio_draws(num: np.ndarray, den: np.ndarray, block: int, resamples: int,
                      rng: np.random.Generator, chunk: int = 256) -> np.ndarray:
    """Circular block bootstrap of Σnum / Σden over units in send order.

    Units are requests (den = 1 for a request-level mean; for the pooled inter-chunk mean num is
    a request's gap sum and den its gap count, so gaps stay with their request). Blocks of
    ``block`` consecutive units wrap around the end; block sums come from prefix sums. When
    n / block > MAX_BLOCKS the block is lengthened so a resample has ≤ MAX_BLOCKS blocks.
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    n = num.size
    b = int(max(1, block, math.ceil(n / MAX_BLOCKS)))
    b = min(b, n)
    k = math.ceil(n / b)
    ext = np.arange(n + b) % n
    cn = np.concatenate([[0.0], np.cumsum(num[ext])])
    cd = np.concatenate([[0.0], np.cumsum(den[ext])])
    bn = cn[b:b + n] - cn[:n]  # sum of the block starting at unit i
    bd = cd[b:b + n] - cd[:n]
    out = np.empty(resamples)
    for s in range(0, resamples, chunk):
        r = min(chunk, resamples - s)
        starts = rng.integers(0, n, size=(r, k))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s:s + r] = bn[starts].sum(axis=1) / bd[starts].sum(axis=1)
    return out


def holm(p_values: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given; family-wise error control)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


#: null draws that calibrate each intersection test of :func:`closed_test` (fixed seed: same inputs, same
#: bytes); the calibrated level's own error is ±0.15 points at 5 %
CLOSED_DRAWS = 20_000
#: the largest family :func:`closed_test` tests as a closed family (2^k − 1 intersections); above it, Holm
CLOSED_MAX = 10


def norm_isf(p: float) -> float:
    """z with P(Z > z) = p for a standard normal Z (p in (0, 1)), by bisection on erfc (to 1e-15)."""
    lo, hi = -40.0, 40.0
    for _ in range(100):
        mid = (lo + hi) / 2.0
        if 0.5 * math.erfc(mid / math.sqrt(2.0)) > p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def closed_test(z: list[float], corr: np.ndarray | None) -> list[float]:
    """Adjusted p-values of a closed test (Marcus–Peritz–Gabriel) of the hypotheses "no change" behind
    the z-scores ``z`` (two-sided; z_i = ±Φ⁻¹(1 − p_i/2) with p_i its own test's p-value), whose
    correlation matrix is ``corr``; same order as given. Hypothesis i is rejected at level α when its
    adjusted p-value is < α: when every intersection of hypotheses that contains it is rejected at α.

    An intersection S (|S| ≥ 2) is tested with the smaller of two p-values, the Bonferroni test of its
    largest |z| (min(1, |S| · min p_i)) and Stouffer's test of the summed z-scores (Σz / √(1ᵀR_S1)),
    calibrated to its exact null distribution: the share of ``CLOSED_DRAWS`` draws of N(0, R_S) whose
    smaller p-value is as small (plus one, over draws plus one). The largest |z| keeps one clear change
    (or a trade-off: one better, one worse) found as Holm finds it; the sum finds a family that moves
    together, which Holm (each at α/k first) misses. ``corr`` None (correlation unknown), or a family larger
    than ``CLOSED_MAX``: Holm (:func:`holm`), the closed test whose intersections are Bonferroni's.
    docs/statistics.md section 4."""
    k = len(z)
    p_one = [min(1.0, math.erfc(abs(v) / math.sqrt(2.0))) for v in z]
    if corr is None or k > CLOSED_MAX or k < 2:
        return holm(p_one)
    r = np.asarray(corr, dtype=float)
    zs = np.asarray(z, dtype=float)
    null = _null_draws(r)
    adjusted = list(p_one)
    for size in range(2, k + 1):
        for s in itertools.combinations(range(k), size):
            idx = list(s)
            p_s = intersection_p(zs[idx], r[np.ix_(idx, idx)], null[:, idx])
            for i in idx:
                adjusted[i] = max(adjusted[i], p_s)
    return adjusted


def intersection_p(z: np.ndarray, corr: np.ndarray, null: np.ndarray | None = None) -> float:
    """p-value of "no change in any of these" (the intersection test of :func:`closed_test`): m = min(Bonferroni's
    p of the largest |z|, Stouffer's p of Σz with variance 1ᵀR1), and the share of ``null`` draws of N(0, R)
    (``CLOSED_DRAWS`` from the fixed seed when None) whose m is as small, plus one, over draws plus one."""
    z = np.asarray(z, dtype=float)
    r = np.asarray(corr, dtype=float)
    size = z.size
    if null is None:
        null = _null_draws(r)
    sd = math.sqrt(max(float(r.sum()), 1e-12))
    p_max = min(1.0, size * float(np.min(np.array([math.erfc(abs(v) / math.sqrt(2.0)) for v in z]))))
    m = min(p_max, math.erfc(abs(float(z.sum())) / sd / math.sqrt(2.0)))
    if m >= 1.0:
        return 1.0
    c_max, c_sum = norm_isf(m / (2.0 * size)), norm_isf(m / 2.0)
    hit = (np.abs(null).max(axis=1) >= c_max) | (np.abs(null.sum(axis=1)) / sd >= c_sum)
    return (int(hit.sum()) + 1) / (null.shape[0] + 1)


def _null_draws(r: np.ndarray) -> np.ndarray:
    """``CLOSED_DRAWS`` draws of N(0, r) from a fixed seed (same inputs, same bytes)."""
    return np.random.default_rng(20261207).standard_normal((CLOSED_DRAWS, r.shape[0])) @ _chol(r).T


def _chol(r: np.ndarray) -> np.ndarray:
    """A Cholesky factor of a correlation matrix, its eigenvalues floored at 1e-6 first (an estimated
    matrix may be slightly indefinite)."""
    w, v = np.linalg.eigh((r + r.T) / 2.0)
    fixed = (v * np.maximum(w, 1e-6)) @ v.T
    d = np.sqrt(np.diag(fixed))
    return np.linalg.cholesky(fixed / np.outer(d, d))


@dataclass(frozen=True)
class DeltaCI:
    """Bootstrap CI of optimized − baseline for one statistic.

    ``supported``: both sides have enough (effective) data for this statistic; when False the
    bounds are NaN / None, ``significant`` is False and the report shows the point value with †.
    ``family``: "primary" (the confirmatory comparisons, see ``uncertainty.primary_family``) or
    "exploratory". ``significant``: for primary statistics, after the primary family's correction
    (``p_adjusted`` < 1 − confidence: the closed test, ``closed_test``, or Holm); for exploratory ones the interval excludes
    zero, uncorrected — always shown with the word "exploratory".
    """

    abs_low: float
    abs_high: float
    pct_low: float | None
    pct_high: float | None
    significant: bool
    supported: bool = True
    family: str = "exploratory"
    p_value: float | None = None
    p_adjusted: float | None = None
    #: how a primary statistic's p-value was adjusted: "closed" (``closed_test`` with the family's estimated
    #: correlation) or "holm"; None outside the primary family
    correction: str | None = None


def unsupported_delta(family: str = "exploratory") -> DeltaCI:
    return DeltaCI(math.nan, math.nan, None, None, False, False, family, None, None)


def delta_ci(base_boot: np.ndarray, opt_boot: np.ndarray, confidence: float = 0.95) -> DeltaCI | None:
    """Percentile-bootstrap CI of the difference and of the relative difference (in %), with the
    two-sided bootstrap p-value 2·min(P*(Δ ≤ 0), P*(Δ ≥ 0)) (add-one corrected)."""
    ok = np.isfinite(base_boot) & np.isfinite(opt_boot)
    if ok.sum() < 10:
        return None
    b, o = base_boot[ok], opt_boot[ok]
    a = (1 - confidence) / 2 * 100
    d = o - b
    lo, hi = np.percentile(d, [a, 100 - a])
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = d / b * 100
    rel = rel[np.isfinite(rel)]
    plo = phi = None
    if rel.size >= 10:
        plo, phi = (float(x) for x in np.percentile(rel, [a, 100 - a]))
    nb = d.size
    p = min(1.0, 2.0 * min((np.sum(d <= 0) + 1) / (nb + 1), (np.sum(d >= 0) + 1) / (nb + 1)))
    return DeltaCI(float(lo), float(hi), plo, phi, bool(lo > 0 or hi < 0), True, "exploratory", float(p), None)


# -------------------------------------------------------------------------- Student's t


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(c) > tiny else 1.0 + aa / tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(c) > tiny else 1.0 + aa / tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-12:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) (tests check SciPy's ``betainc``)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(lbeta)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    if not math.isfinite(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


def t_two_sided_p(t: float, df: float) -> float:
    return min(1.0, 2.0 * t_sf(abs(t), df))


def _t_quantile_cf(q: float, df: float) -> float:
    """Cornish–Fisher expansion of Student's t quantile in 1/df (Hill 1970; within 0.2 % for df ≥ 3)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(q)
    if not math.isfinite(df):
        return z
    df = max(df, 1.0)
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4


@functools.lru_cache(maxsize=256)
def t_quantile(q: float, df: float) -> float:
    """Quantile t_{df}(q) of Student's t for q ∈ (0.5, 1): the Cornish–Fisher value refined by
    bisection on :func:`t_sf` (exact to 1e-10; the normal quantile at df = ∞). df may be fractional
    (Welch). Kept per (q, df): an analysis asks for few distinct ones many times (the example: 100
    calls, 5 distinct, ~35 incomplete-beta evaluations each)."""
    start = _t_quantile_cf(q, df)
    if not math.isfinite(df):
        return start
    target = 1.0 - q
    lo, hi = 0.0, max(2.0 * start, 1.0)
    while t_sf(hi, df) > target:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_sf(mid, df) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10:
            break
    return (lo + hi) / 2.0


# ------------------------------------------------------------------------ early stopping


def min_queries_to_pass(violations: int, p: float, confidence: float = 0.99, tolerance: float = 0.0) -> int:
    """MLPerf LoadGen early stopping: the fewest total queries n = h + t that let a run with
    ``violations`` (t) over-threshold queries claim the p-quantile meets the threshold with
    ``confidence``. Smallest n with P(X ≤ t; n, 1 − (p − d)) ≤ 1 − confidence.
    (p = 0.99: t = 0 → 459, t = 1 → 662.)
    """
    q = 1.0 - (p - tolerance)
    t = violations
    target = 1.0 - confidence

    def passes(n: int) -> bool:
        return binom_cdf(t, n, q) <= target

    lo, hi = t + 1, max(2 * (t + 1), 16)
    while not passes(hi):
        lo, hi = hi, hi * 2
    while lo < hi:  # smallest passing n in [lo, hi]
        mid = (lo + hi) // 2
        if passes(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


@dataclass(frozen=True)
class Verdict:
    status: str  # "pass", "fail" or "inconclusive"
    n: int
    violations: int
    needed: int | None  # total requests needed to pass with this many violations
    reason: str


def slo_verdict(n: int, violations: int, p: float, confidence: float = 0.99) -> Verdict:
    """Pass / fail / inconclusive for "the p-quantile is within the threshold".

    pass: n ≥ min_queries_to_pass(t) (LoadGen early stopping).
    fail: P(X ≥ t; n, 1 − p) ≤ 1 − confidence — even a system exactly at the limit would
    rarely show this many violations.
    otherwise inconclusive, with the number of further in-SLO requests that would decide it.
    """
    if n <= 0:
        return Verdict("inconclusive", n, violations, None, "no requests")
    needed = min_queries_to_pass(violations, p, confidence)
    if n >= needed:
        return Verdict("pass", n, violations, needed,
                       f"{violations} of {n} requests over the threshold; with {violations} over, {needed:,} requests are "
                       "enough to pass")
    q = 1.0 - p
    sf = 1.0 - binom_cdf(violations - 1, n, q)  # P(X ≥ t)
    if sf <= 1.0 - confidence:
        return Verdict("fail", n, violations, None,
                       f"{violations} of {n} requests over the threshold ({violations / n:.1%}); "
                       f"allowed share {1 - p:.1%}")
    return Verdict("inconclusive", n, violations, needed, undecided_text(n, violations, p, needed - n))


def undecided_text(n: int, violations: int, p: float, more: int, about: bool = False) -> str:
    """An inconclusive verdict in words: the share over the limit, that neither verdict is supported, and
    what a pass would take ('5 of 24 over the threshold (20.8%; 10.0% allowed): too few requests to call
    a pass or a fail (a pass would need about 353 more, all within it)'). Said first that it is undecided:
    "353 more … would pass" beside a p90 over its limit read as a pass (the review)."""
    return (f"{violations} of {n} over the threshold ({violations / n:.1%}; {1 - p:.1%} allowed): too few requests "
            f"to call a pass or a fail (a pass would need {'about ' if about else ''}{more:,} more, all within it)")


def two_proportion_p(n_a: int, k_a: int, n_b: int, k_b: int) -> float | None:
    """Two-sided p-value that two shares differ (k_a of n_a against k_b of n_b): the pooled
    two-proportion z-test, with the normal tail from ``math.erfc``. None without data on a side;
    1.0 when neither side differs at all (both 0 or both n)."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (k_a + k_b) / (n_a + n_b)
    var = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    if var <= 0:
        return 1.0
    z = abs(k_a / n_a - k_b / n_b) / math.sqrt(var)
    return math.erfc(z / math.sqrt(2.0))


# ---------------------------------------------------------------------------------- KS


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic D = sup |F_a − F_b| and asymptotic p-value."""
    x = np.sort(np.asarray(a, dtype=float))
    y = np.sort(np.asarray(b, dtype=float))
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size == 0 or y.size == 0:
        return math.nan, math.nan
    grid = np.concatenate([x, y])
    fa = np.searchsorted(x, grid, side="right") / x.size
    fb = np.searchsorted(y, grid, side="right") / y.size
    d = float(np.max(np.abs(fa - fb)))
    en = math.sqrt(x.size * y.size / (x.size + y.size))
    lam = en * d  # asymptotic Kolmogorov distribution (as SciPy's method="asymp")
    if lam < 1e-3:
        return d, 1.0
    s = sum((-1) ** (j - 1) * math.exp(-2 * j * j * lam * lam) for j in range(1, 101))
    return d, float(min(max(2 * s, 0.0), 1.0))
