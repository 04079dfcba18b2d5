"""Serial dependence of a run's requests in send order: autocorrelation, Politis–White block
length and the long-run variance that intervals must use when neighbouring requests are alike.

Pure functions on 1-D arrays (values in send order). Method and references: ``docs/statistics.md``
section "Dependence". Cost: O(n · lags) with lags ≤ 32 tried by direct dot products, then one FFT
(O(n log n)) only for a series whose correlation has not died out by then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: lags reported for every run (lag-1 is the headline figure)
REPORTED_LAGS: tuple[int, ...] = (1, 2, 5, 10)
#: lag-1 autocorrelation above which dependence becomes a listed threat
THREAT_LAG1 = 0.3
_DIRECT_LAGS = 32


@dataclass(frozen=True)
class Dependence:
    """Dependence summary of one series.

    ``m_hat``: Politis–White's last significant lag (0 = no significant autocorrelation);
    ``lrv_factor``: long-run variance / variance (≥ 1 is "dependence inflates variance"; 1 for
    independent data): the larger of the flat-top lag-window estimate (bandwidth 2·m_hat) and the
    AR(1) plug-in (1 + ρ̃)/(1 − ρ̃) with a bias-corrected lag-1 ρ̃ (the lag window alone is biased
    low in short runs);
    ``block_length``: Politis–White optimal block length for the circular block bootstrap.
    """

    n: int
    lags: dict[int, float]
    m_hat: int
    lrv_factor: float
    block_length: int

    @property
    def lag1(self) -> float:
        return self.lags.get(1, math.nan)

    @property
    def dependent(self) -> bool:
        return self.m_hat > 0

    @property
    def n_eff(self) -> float:
        """Effective number of independent observations n / max(1, lrv_factor)."""
        return self.n / max(1.0, self.lrv_factor)


def _autocov_direct(x: np.ndarray, lags: range) -> np.ndarray:
    n = x.size
    # einsum, not np.dot: BLAS dot products of long vectors are slow when threads compete
    return np.array([float(np.einsum("i,i->", x[: n - k], x[k:])) / n for k in lags])


def _autocov_fft(x: np.ndarray, max_lag: int) -> np.ndarray:
    n = x.size
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, size)
    acov = np.fft.irfft(f * np.conj(f), size)[: max_lag + 1] / n
    return acov


def autocovariances(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocovariances R(0..max_lag) of ``x`` (mean removed, divided by n)."""
    x = np.asarray(x, dtype=float)
    x = x - x.mean()
    max_lag = min(max_lag, x.size - 1)
    if max_lag <= _DIRECT_LAGS:
        return _autocov_direct(x, range(max_lag + 1))
    return _autocov_fft(x, max_lag)


def _flat_top(t: np.ndarray) -> np.ndarray:
    t = np.abs(t)
    return np.where(t <= 0.5, 1.0, np.where(t <= 1.0, 2.0 * (1.0 - t), 0.0))


def _m_hat(rho: np.ndarray, n: int) -> int:
    """Politis–White (2004) rule: the smallest m after which K_N consecutive autocorrelations are
    all inside ±c·√(log10(n)/n) (c = 2). rho[k] is lag k (rho[0] = 1)."""
    kn = max(5, math.ceil(math.sqrt(math.log10(max(n, 10)))))
    thr = 2.0 * math.sqrt(math.log10(max(n, 10)) / n)
    small = np.abs(rho[1:]) < thr  # small[k-1] ↔ lag k
    run = 0
    for k in range(1, small.size + 1):
        run = run + 1 if small[k - 1] else 0
        if run >= kn:
            return k - kn
    return small.size  # never died out within the lags examined


def dependence(x: np.ndarray, m_hat: int | None = None) -> Dependence:
    """Dependence summary of a series in send order (NaNs must be removed by the caller).

    ``m_hat``: use this bandwidth instead of estimating it (lets an indicator or residual series
    borrow the bandwidth found on the raw metric, which is estimated with more power).
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 8 or not np.isfinite(x).all():
        return Dependence(n, {}, 0, 1.0, 1)
    m_max = math.ceil(math.sqrt(n)) + max(5, math.ceil(math.sqrt(math.log10(n))))
    m_max = min(m_max, n - 1)
    want = max(REPORTED_LAGS) if m_hat is None else max(2 * m_hat, max(REPORTED_LAGS))
    r = autocovariances(x, min(max(_DIRECT_LAGS, want), m_max))
    r0 = r[0]
    if not r0 > 0:
        return Dependence(n, {k: 0.0 for k in REPORTED_LAGS if k < n}, 0, 1.0, 1)
    if m_hat is None:
        m = _m_hat(r / r0, n)
        if m + 6 >= r.size - 1 and r.size - 1 < m_max:  # correlation still alive: all lags up to m_max
            r = autocovariances(x, m_max)
            m = _m_hat(r / r0, n)
    else:
        m = m_hat
        if 2 * m > r.size - 1:
            r = autocovariances(x, min(2 * m, n - 1))
    rho = r / r0
    lags = {k: float(rho[k]) for k in REPORTED_LAGS if k < rho.size}
    ar1 = ar1_factor(float(rho[1]), n)
    if m == 0 and m_hat is None and ar1 > 1.0 and rho[1] + (1 + 3 * rho[1]) / n > 1.645 / math.sqrt(n):
        m = 1  # lag-1 alone is significant (one-sided 5 %): small runs rarely pass the joint rule
    if m == 0:
        return Dependence(n, lags, 0, 1.0, 1)
    big_m = min(2 * m, r.size - 1)
    k = np.arange(1, big_m + 1)
    w = _flat_top(k / big_m)
    g0 = r0 + 2.0 * float(np.sum(w * r[1: big_m + 1]))
    g1 = 2.0 * float(np.sum(w * k * r[1: big_m + 1]))
    lrv = max(g0, r0 * 1e-3)  # the flat-top estimate can be ≤ 0 for odd samples
    # circular block bootstrap: b = (2 G² / D)^{1/3} n^{1/3}, D = (4/3) g(0)² (Politis–White 2004,
    # corrected by Patton, Politis & White 2009)
    b = (2.0 * g1 * g1 / ((4.0 / 3.0) * lrv * lrv)) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
    b_max = max(1, min(n // 3, math.ceil(min(20 * math.sqrt(n), n / 3))))
    block = int(min(max(1, math.ceil(b)), b_max))
    return Dependence(n, lags, int(m), float(max(lrv / r0, ar1)), block)


def ar1_factor(rho1: float, n: int) -> float:
    """Long-run variance factor (1 + ρ)/(1 − ρ) of an AR(1) with lag-1 autocorrelation ρ, from the
    sample's ρ̂ with Kendall's bias correction ρ̂ + (1 + 3ρ̂)/n (the sample value is biased towards
    0 in short runs, which would make intervals too narrow); 1 when ρ ≤ 0."""
    rho = min(rho1 + (1 + 3 * rho1) / n, 0.98)
    return (1 + rho) / (1 - rho) if rho > 0 else 1.0
