"""Coverage and A/A false-positive rates of casegen's intervals, by simulation against the truth.

    python benchmarks/coverage.py                 # full table (≈ 10 min on 2 shared cores)
    python benchmarks/coverage.py --sims 100      # quick look

Each simulated run has three latency metrics (stand-ins for TTFT, TPOT and E2E), each an
independent series with the scenario's marginal distribution and dependence in send order. Runs go
through casegen's own interval code (``uncertainty.series_stats`` on the same per-request series
``metric_series`` builds, ``uncertainty.delta_intervals`` with Holm over the primary family), with
the default 1,000 resamples and 95 % confidence. Reported per scenario and n:

* coverage of each statistic's per-run interval (share of printed intervals containing the true
  value; ``shown`` = share of runs where it was printed at all, not withheld as †);
* delta coverage: two runs of one process (A/A), share of printed delta intervals containing 0;
* A/A false positives: share of A/A reports with any significant *primary* change (family: TTFT p99
  as an SLO statistic + the medians of the three metrics, Holm-corrected), and the share with any
  significant change of any statistic (the uncorrected, exploratory rate).

The truth of every statistic is computed from 4·10⁶ independent draws of the marginal.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from casegen.analysis import uncertainty  # noqa: E402
from casegen.analysis.uncertainty import MetricSeries, RunIntervals, series_stats  # noqa: E402

STATS = uncertainty.STATS
METRICS = ("ttft", "tpot", "e2e")
FAMILY = [("ttft", "p99"), ("ttft", "p50"), ("tpot", "p50"), ("e2e", "p50")]


def _ar1_gauss(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    """Stationary Gaussian AR(1) with unit variance."""
    e = rng.standard_normal(n)
    if rho == 0:
        return e
    z = np.empty(n)
    z[0] = e[0]
    s = np.sqrt(1 - rho * rho)
    # z_t = rho z_{t-1} + s e_t, vectorised via a scan in float64 (n ≤ 10^4 here)
    for t in range(1, n):
        z[t] = rho * z[t - 1] + s * e[t]
    return z


@dataclass(frozen=True)
class Scenario:
    name: str
    draw: Callable[[np.random.Generator, int], np.ndarray]  # one run's series in send order
    marginal: Callable[[np.random.Generator, int], np.ndarray]  # i.i.d. draws of the marginal


def _lognormal(z: np.ndarray) -> np.ndarray:
    return 60.0 * np.exp(0.5 * z)


def _pareto(rng: np.random.Generator, n: int) -> np.ndarray:
    return 50.0 * (1 + rng.pareto(2.5, n))


def _mixture(rng: np.random.Generator, n: int) -> np.ndarray:
    x = 60.0 * np.exp(0.3 * rng.standard_normal(n))
    slow = rng.random(n) < 0.02
    x[slow] *= 10.0
    return x


SCENARIOS = [
    Scenario("independent lognormal", lambda r, n: _lognormal(r.standard_normal(n)),
             lambda r, n: _lognormal(r.standard_normal(n))),
    Scenario("Pareto tail (α 2.5)", _pareto, _pareto),
    Scenario("mixture, 2 % slow ×10", _mixture, _mixture),
    Scenario("AR(1) ρ 0.5 lognormal", lambda r, n: _lognormal(_ar1_gauss(r, n, 0.5)),
             lambda r, n: _lognormal(r.standard_normal(n))),
    Scenario("AR(1) ρ 0.9 lognormal", lambda r, n: _lognormal(_ar1_gauss(r, n, 0.9)),
             lambda r, n: _lognormal(r.standard_normal(n))),
]


def truth(s: Scenario) -> dict[str, float]:
    x = s.marginal(np.random.default_rng(12345), 4_000_000)
    out = {"mean": float(x.mean())}
    for stat, p in uncertainty.P.items():
        out[stat] = float(np.quantile(x, p))
    return out


def run_intervals_of(series: dict[str, np.ndarray], rng: np.random.Generator, resamples: int) -> RunIntervals:
    out = RunIntervals()
    for metric, v in series.items():
        ms = MetricSeries(v, v, np.ones(v.size))
        res, dep = series_stats(ms, STATS, 0.95, resamples, rng, "linear", metric)
        out.dependence[metric] = dep
        out.boot[metric] = {s: r.draws for s, r in res.items()}
        out.intervals[metric] = {s: r.interval for s, r in res.items()}
        out.supported[metric] = {s: r.supported for s, r in res.items()}
    return out


def simulate(s: Scenario, n: int, sims: int, seed: int = 0, resamples: int = 1000) -> dict:
    t = truth(s)
    rng = np.random.default_rng([seed, n, zlib.crc32(s.name.encode())])
    cover = {st: [0, 0] for st in STATS}  # [covered, shown] over metrics × runs
    dcover = {st: [0, 0] for st in STATS}
    any_primary = 0
    any_sig = 0
    for _ in range(sims):
        runs = [run_intervals_of({m: s.draw(rng, n) for m in METRICS}, rng, resamples) for _side in range(2)]
        for r in runs:
            for m in METRICS:
                for st in STATS:
                    ci = r.intervals[m][st]
                    if ci is not None:
                        cover[st][1] += 1
                        cover[st][0] += ci[0] <= t[st] <= ci[1]
        cis = uncertainty.delta_intervals(runs[0], runs[1], 0.95, FAMILY)
        any_primary += uncertainty.any_primary_significant(cis)
        sig = False
        for m in METRICS:
            for st in STATS:
                d = cis[m][st]
                if d.supported:
                    dcover[st][1] += 1
                    dcover[st][0] += d.abs_low <= 0 <= d.abs_high
                    sig |= d.significant
        any_sig += sig
    total = sims * 2 * len(METRICS)
    return {
        "coverage": {st: (c / k if k else None, k / total) for st, (c, k) in cover.items()},
        "delta_coverage": {st: (c / k if k else None, k / (sims * len(METRICS))) for st, (c, k) in dcover.items()},
        "aa_primary": any_primary / sims,
        "aa_any": any_sig / sims,
    }


def _itl_run(rng: np.random.Generator, n: int, gaps: int, rho: float) -> MetricSeries:
    """Pooled chunk gaps: request i's gaps are 10 ms × a_i × Gamma(4, 1/4), a_i = exp(0.3 z_i) with z
    an AR(1) across requests in send order; 3 % of gaps are stalls 5× longer."""
    a = np.exp(0.3 * _ar1_gauss(rng, n, rho))
    g = 10.0 * a[:, None] * rng.gamma(4.0, 0.25, size=(n, gaps))
    g[rng.random((n, gaps)) < 0.03] *= 5.0
    values = g.ravel()
    offsets = np.arange(n, dtype=np.int64) * gaps
    return MetricSeries(values, g.sum(axis=1), np.full(n, float(gaps)), offsets)


def simulate_itl(n: int, gaps: int, rho: float, sims: int, seed: int = 0, resamples: int = 1000) -> dict:
    """Coverage of the pooled inter-chunk statistics and of their A/A deltas (truth: 0)."""
    t_rng = np.random.default_rng(999)
    big = np.concatenate([_itl_run(t_rng, 20_000, gaps, 0.0).values for _ in range(5)])
    truth_v = {"mean": float(big.mean()), **{st: float(np.quantile(big, p)) for st, p in uncertainty.P.items()}}
    rng = np.random.default_rng([seed, n, gaps, int(rho * 100)])
    cover = {st: [0, 0] for st in STATS}
    dcover = {st: [0, 0] for st in STATS}
    for _ in range(sims):
        runs = []
        for _side in range(2):
            res, dep = series_stats(_itl_run(rng, n, gaps, rho), STATS, 0.95, resamples, rng, "linear", "itl")
            ri = RunIntervals()
            ri.boot["itl"] = {s: r.draws for s, r in res.items()}
            ri.supported["itl"] = {s: r.supported for s, r in res.items()}
            for st, r in res.items():
                if r.interval is not None:
                    cover[st][1] += 1
                    cover[st][0] += r.interval[0] <= truth_v[st] <= r.interval[1]
            runs.append(ri)
        cis = uncertainty.delta_intervals(runs[0], runs[1], 0.95, [])
        for st, d in cis["itl"].items():
            if d.supported:
                dcover[st][1] += 1
                dcover[st][0] += d.abs_low <= 0 <= d.abs_high
    return {"coverage": {st: (c / k if k else None, k / (2 * sims)) for st, (c, k) in cover.items()},
            "delta_coverage": {st: (c / k if k else None, k / sims) for st, (c, k) in dcover.items()}}


def _cell(c: float | None, shown: float) -> str:
    if c is None:
        return "†"
    mark = "" if c >= 0.93 else " ✗"
    share = f"{shown:.0%}" if shown >= 0.01 else f"{shown:.1%}"
    return f"{c:.1%}{mark}" + ("" if shown >= 0.995 else f" ({share} shown)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=400, help="simulated A/A pairs per scenario and n")
    ap.add_argument("--n", type=int, nargs="*", default=[25, 100, 1000])
    ap.add_argument("--resamples", type=int, default=1000)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print(f"{args.sims} A/A pairs per row; 3 metrics per run; 95 % intervals; resamples {args.resamples}")
    print("coverage of printed intervals (share shown if < 100 %); † = always withheld; ✗ = below 93 %\n")
    head = "| scenario | n | " + " | ".join(STATS) + " | Δ mean | Δ p50 | Δ p99 | A/A primary | A/A any (exploratory) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for s in SCENARIOS:
        for n in args.n:
            r = simulate(s, n, args.sims, resamples=args.resamples)
            cells = [_cell(*r["coverage"][st]) for st in STATS]
            dcells = [_cell(*r["delta_coverage"][st]) for st in ("mean", "p50", "p99")]
            print(f"| {s.name} | {n} | " + " | ".join(cells + dcells)
                  + f" | {r['aa_primary']:.1%}{'' if r['aa_primary'] <= 0.05 else ' ✗'} | {r['aa_any']:.1%} |",
                  flush=True)
    print("\npooled inter-chunk gaps (50 per request; request speed AR(1) across requests; 3 % stalls):\n")
    head = "| requests | ρ | " + " | ".join(STATS) + " | Δ mean | Δ p50 | Δ p99 |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for n in [x for x in args.n if x >= 100]:
        for rho in (0.0, 0.5):
            r = simulate_itl(n, 50, rho, max(args.sims // 3, 20), resamples=args.resamples)
            cells = [_cell(*r["coverage"][st]) for st in STATS]
            dcells = [_cell(*r["delta_coverage"][st]) for st in ("mean", "p50", "p99")]
            print(f"| {n} | {rho} | " + " | ".join(cells + dcells) + " |", flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
