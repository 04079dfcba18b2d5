"""Why a true change is or is not found: casegen's power against an oracle that knows the true variance.

    python benchmarks/power.py                    # AR(1) ρ 0.5, 1,000 requests, −10 % (≈ 2 min)
    python benchmarks/power.py --pairs 300 --rho 0.5 --n 1000 --effect 0.9

The same runs as ``benchmarks/coverage.py``'s power rows (three independent metrics a run, each a
log-normal series 60 ms · exp(0.5 z), z a Gaussian AR(1) in send order; the optimized side's
latencies × ``effect``). For each statistic (p50, p90, p95, p99) it prints:

* the true effective sample size of the statistic (n · f(q)² · Var(sample statistic) / p(1 − p)
  inverted, from ``--truth-runs`` runs) and the one casegen estimates (median over runs);
* **oracle power**: a two-sided z-test of the difference of the two runs' statistics with the
  *true* standard deviation of each side's statistic (known only to a simulation) — the best any
  honest test of that statistic can do; for one test at 5 % and for the family casegen uses
  (the three medians, "any significant improvement"), with Holm and with the closed test
  (``stats.closed_test``, independent metrics: R = I);
* casegen's power (the same family, casegen's intervals, p-values and closed test with its estimated
  correlation; and Holm on the same draws, as before issue 21's fifth round), casegen with the true
  n_eff put into its own Beta-draw construction (separates the dependence estimate from the rest),
  and the same draws with the n_eff of an unguarded estimate made for exactly this process (the
  normal scores' AR(1) plug-in, κ-mapped): what an estimated variance costs before any guard
  against correlations the model does not have.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from coverage import _ar1_gauss, _lognormal  # noqa: E402

from casegen.analysis import dependence, stats, uncertainty  # noqa: E402
from casegen.analysis.uncertainty import MetricSeries, series_stats  # noqa: E402

PCTS = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
METRICS = ("ttft", "tpot", "e2e")


def _norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _holm_any(pvals: list[float], alpha: float = 0.05) -> bool:
    return any(p < alpha for p in stats.holm(pvals))


def _closed_any(z: list[float], alpha: float = 0.05) -> bool:
    """The closed test (``stats.closed_test``) of independent z-scores finds some improvement (z < 0)."""
    return any(p < alpha and zi < 0 for p, zi in zip(stats.closed_test(z, np.eye(len(z))), z))


def _norm_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _norm_ppf(q: float) -> float:
    lo, hi = -10.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _norm_cdf(mid) < q else (lo, mid)
    return (lo + hi) / 2


def analytic_oracle(n: int, rho: float, effect: float, p: float = 0.5, family: int = 3,
                    alpha: float = 0.05) -> dict[str, float]:
    """The oracle's power in closed form (large-n normal approximation), for the simulated process:
    log latency = log 60 ms + 0.5·z, z a Gaussian AR(1) ρ; the optimized side × ``effect``.

    The sample p-quantile's log has standard deviation 0.5·√(p(1 − p)·f/n)/φ(z_p), f = 1 + κ·2ρ/(1 − ρ)
    its indicator's long-run variance factor (``dependence.indicator_share``: the median at ρ 0.5, f =
    2.307, n_eff = n/f = 433 of 1,000). The change's z-score is δ = −ln(effect)/(√2·sd). One two-sided
    test at α finds it with Φ(δ − z_{1−α/2}); Holm over ``family`` independent such tests rejects at all
    only when its first step does (smallest p < α/family), so the family finds some improvement with
    1 − (1 − Φ(δ − z_{1−α/(2·family)}))^family. Returns those, δ, n_eff, and the requests a side each
    needs for 90 % power with the *true* variance (an estimated one needs more)."""
    f = 1 + 2 * dependence.indicator_share(rho, p) * rho / (1 - rho) if rho > 0 else 1.0
    zp = _norm_ppf(p)
    dens = math.exp(-zp * zp / 2) / math.sqrt(2 * math.pi)
    sd = 0.5 * math.sqrt(p * (1 - p) * f / n) / dens
    delta = -math.log(effect) / (math.sqrt(2) * sd)
    z1, zf = _norm_ppf(1 - alpha / 2), _norm_ppf(1 - alpha / (2 * family))
    one = _norm_cdf(delta - z1)
    fam = 1 - (1 - _norm_cdf(delta - zf)) ** family
    # 90 % for the family: each test needs power 1 − 0.1^(1/family)
    need_each = _norm_ppf(1 - 0.1 ** (1 / family)) + zf
    # Hochberg's step-up over ``family`` independent tests rejects nothing exactly when, for every k, fewer
    # than k p-values are ≤ α/(family − k + 1)... i.e. #{p ≤ α/j} < family − j + 1 for j = 1..family: sum
    # over each test's band (≤ α/family, …, ≤ α, > α)
    cuts = [alpha / j for j in range(family, 0, -1)]  # α/m < … < α
    cdf = [_norm_cdf(delta - _norm_ppf(1 - c / 2)) for c in cuts]
    bands = [cdf[0]] + [cdf[i] - cdf[i - 1] for i in range(1, family)] + [1 - cdf[-1]]
    none = 0.0
    for combo in itertools.product(range(family + 1), repeat=family):
        if all(sum(1 for b in combo if b <= i) < i + 1 for i in range(family)):
            none += math.prod(bands[b] for b in combo)
    return {"f": f, "n_eff": n / f, "delta": delta, "one": one, "family": fam, "hochberg": 1 - none,
            "n_one_90": n * ((z1 + _norm_ppf(0.9)) / delta) ** 2, "n_family_90": n * (need_each / delta) ** 2}


def closed_oracle(n: int, rho: float, effect: float, family: int = 3, draws: int = 2000) -> float:
    """The oracle's power with the closed test (``stats.closed_test``) instead of Holm: the share of ``draws``
    independent z-score vectors N(−δ, I) (δ from :func:`analytic_oracle`, one per median) in which some
    improvement is claimed (a fixed seed)."""
    delta = analytic_oracle(n, rho, effect, family=family)["delta"]
    rng = np.random.default_rng([11, n, int(rho * 100)])
    z = rng.standard_normal((draws, family)) - delta
    return float(np.mean([_closed_any(list(row)) for row in z]))


def _hochberg_any(pvals: list[float], alpha: float = 0.05) -> bool:
    """Hochberg's step-up: some hypothesis is rejected when the k-th largest p-value is ≤ α/k for some k."""
    ps = sorted(pvals, reverse=True)
    return any(p <= alpha / (k + 1) for k, p in enumerate(ps))


#: the ablations of ``--ablate``: what each switches off in casegen's estimate of the median's variance
ABLATIONS = {
    "casegen": "casegen as it is",
    "true_neff": "casegen's draws with the true n_eff (no estimate)",
    "no_t": "no t-widening for the factor's degrees of freedom",
    "no_bm": "no batch-means raise",
    "no_sum": "no √n-lag-sum raise",
    "sum_var": "the lag-sum raise with its own noise (margin 1.645 · 2√(K/n) · f, not 2.326 · 2√(K·f/n))",
    "none": "none of the three (the estimate's own noise only)",
}


def _patched(name: str, n: int, f_true: float) -> list[tuple[object, str, object]]:
    """Module attributes to replace for ablation ``name`` (restored by the caller)."""
    out: list[tuple[object, str, object]] = []
    if name == "true_neff":
        out.append((uncertainty, "n_eff_for_interval", lambda ne, df, c: n / f_true))
    if name in ("no_t", "none"):
        out.append((uncertainty, "n_eff_for_interval", lambda ne, df, c: ne))
    if name in ("no_bm", "none"):
        out += [(dependence, "BM_RAISE", {k: 1e9 for k in dependence.BM_RAISE}),
                (dependence, "BM_RAISE_SHORT", {k: 1e9 for k in dependence.BM_RAISE_SHORT})]
    plain = dependence._sum_margin
    if name in ("no_sum", "none"):  # the raise only: the margin at f = 1 also decides "dependent at all"
        out.append((dependence, "_sum_margin", lambda cur, k, n_: plain(cur, k, n_) if cur <= 1.0 else 1e9))
    if name == "sum_var":  # Var f̂ ≈ 2(2K + 1)/n · f²: the sum's standard deviation grows with f, not √f
        out.append((dependence, "_sum_margin", lambda cur, k, n_: plain(cur, k, n_) if cur <= 1.0
                    else 1.645 * 2.0 * math.sqrt(k / n_) * cur))
    return out


def ablate(n: int, rho: float, eff: float, pairs: int) -> None:
    """Where casegen's power goes under Holm (the runs carry no influences, so ``delta_intervals`` falls back
    to Holm): the three-median family (Holm, and Hochberg's step-up beside it) on the
    same seeded runs with parts of the variance estimate switched off, and Holm over the first one or two
    medians only (a smaller family), against the closed-form oracle."""
    o = analytic_oracle(n, rho, eff)
    metrics = ("ttft", "tpot", "e2e")
    print(f"AR(1) ρ {rho}, {n} requests a run, optimized = baseline × {eff}; {pairs} pairs a row (same seeds)\n")
    print("| estimate of the median's variance | Holm, 3 medians | Hochberg, 3 medians | Holm, 2 medians | Holm, 1 median "
          "| draws' effective n (harmonic mean; truth " + f"{o['n_eff']:.0f}) |")
    print("|---|---|---|---|---|---|")
    for name, label in ABLATIONS.items():
        saved = [(mod, attr, getattr(mod, attr)) for mod, attr, _v in _patched(name, n, o["f"])]
        for mod, attr, v in _patched(name, n, o["f"]):
            setattr(mod, attr, v)
        try:
            rng = np.random.default_rng([7, n, int(rho * 100)])
            holm = {1: 0, 2: 0, 3: 0}
            hoch = 0
            inv_neff: list[float] = []
            for _ in range(pairs):
                sides = []
                for side in range(2):
                    ri = uncertainty.RunIntervals()
                    for m in metrics:
                        v = _lognormal(_ar1_gauss(rng, n, rho)) * (1.0 if side == 0 else eff)
                        res, dep = series_stats(MetricSeries(v, v, np.ones(n)), ("p50",), 0.95, 1000, rng, "linear", m)
                        ri.boot[m], ri.supported[m] = {"p50": res["p50"].draws}, {"p50": res["p50"].supported}
                        ri.dependence[m], ri.n[m] = dep, n
                        ri.draw_n_eff[m] = {"p50": res["p50"].draw_n_eff}
                        if side == 0:
                            inv_neff.append(1.0 / res["p50"].draw_n_eff)
                    sides.append(ri)
                for k in holm:
                    fam = [(m, "p50") for m in metrics[:k]]
                    cis = uncertainty.delta_intervals(sides[0], sides[1], 0.95, fam)
                    holm[k] += any(cis[m]["p50"].significant and cis[m]["p50"].abs_high < 0 for m, _s in fam)
                cis = uncertainty.delta_intervals(sides[0], sides[1], 0.95, [])
                hoch += _hochberg_any([d.p_value if d.p_value is not None and d.abs_low + d.abs_high < 0 else 1.0
                                       for d in (cis[m]["p50"] for m in metrics)])
        finally:
            for mod, attr, v in saved:
                setattr(mod, attr, v)
        print(f"| {label} | {holm[3] / pairs:.1%} | {hoch / pairs:.1%} | {holm[2] / pairs:.1%} | {holm[1] / pairs:.1%} "
              f"| {len(inv_neff) / sum(inv_neff):.0f} |", flush=True)
    one = [analytic_oracle(n, rho, eff, family=k)["family"] for k in (3, 2, 1)]
    print(f"| oracle (true variance, closed form) | {one[0]:.1%} | {o['hochberg']:.1%} | {one[1]:.1%} | {one[2]:.1%} "
          f"| {o['n_eff']:.0f} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rho", type=float, default=0.5)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--effect", type=float, default=0.9)
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--truth-runs", type=int, default=4000)
    ap.add_argument("--ablate", action="store_true", help="only the ablation table (where casegen's power goes)")
    args = ap.parse_args(argv)
    n, rho, eff = args.n, args.rho, args.effect
    if args.ablate:
        ablate(n, rho, eff, args.pairs)
        return
    rng = np.random.default_rng([7, n, int(rho * 100)])
    # the truth: the sampling distribution of each statistic of one run (same for every metric)
    truth_stats = np.array([[np.quantile(_lognormal(_ar1_gauss(rng, n, rho)), p) for p in PCTS.values()]
                            for _ in range(args.truth_runs)])
    sd_true = truth_stats.std(axis=0, ddof=1)
    big = _lognormal(rng.standard_normal(4_000_000))
    q_true = np.array([np.quantile(big, p) for p in PCTS.values()])
    # density at the quantile (log-normal: f(q) = φ(z_p) / (q · 0.5))
    zp = np.array([(math.log(q / 60.0)) / 0.5 for q in q_true])
    dens = np.exp(-zp ** 2 / 2) / math.sqrt(2 * math.pi) / (q_true * 0.5)
    pp = np.array(list(PCTS.values()))
    n_eff_true = pp * (1 - pp) / (dens ** 2 * sd_true ** 2)
    print(f"AR(1) ρ {rho}, {n} requests a run, optimized = baseline × {eff}; {args.pairs} pairs; "
          f"truth from {args.truth_runs} runs")
    oracle_one = {s: 0 for s in PCTS}
    oracle_fam = 0
    oracle_closed = 0
    cg_fam = 0
    cg_holm = 0
    cg_true_neff_fam = 0
    plugin_fam = 0
    cg_neff: dict[str, list[float]] = {s: [] for s in PCTS}
    cg_shown = {s: 0 for s in PCTS}
    for _ in range(args.pairs):
        pvals_oracle: list[float] = []
        oracle_z: list[float] = []
        runs_cg = []
        runs_true = []
        runs_plugin = []
        for side in range(2):
            ri = uncertainty.RunIntervals()
            rt = uncertainty.RunIntervals()
            rp = uncertainty.RunIntervals()
            scale = 1.0 if side == 0 else eff
            series = {m: _lognormal(_ar1_gauss(rng, n, rho)) * scale for m in METRICS}
            for m in METRICS:
                v = series[m]
                res, dep = series_stats(MetricSeries(v, v, np.ones(n)), ("p50", "p90", "p95", "p99"), 0.95, 1000,
                                        rng, "linear", m)
                ri.boot[m] = {s: r.draws for s, r in res.items()}
                ri.supported[m] = {s: r.supported for s, r in res.items()}
                ri.dependence[m], ri.n[m] = dep, n
                ri.draw_n_eff[m] = {s: r.draw_n_eff for s, r in res.items()}
                ri.influence[(m, "p50")] = uncertainty.influence(v, "p50", res["p50"].point)
                if side == 0:
                    for s, r in res.items():
                        cg_neff[s].append(r.n_eff)
                        cg_shown[s] += r.supported
                sv = np.sort(v)
                rt.boot[m] = {s: stats.quantile_draws(sv, p, ne, 1000, rng) for (s, p), ne
                              in zip(PCTS.items(), n_eff_true)}
                rt.supported[m] = {s: True for s in PCTS}
                rt.influence[(m, "p50")] = rp.influence[(m, "p50")] = ri.influence[(m, "p50")]
                # no guard: the normal scores' AR(1) plug-in mapped to the median's indicator
                z = dependence.normal_scores(v)
                r1 = float(np.corrcoef(z[:-1], z[1:])[0, 1])
                f_z = dependence.ar1_factor(r1, n)
                f_med = 1 + dependence.indicator_share(r1 + (1 + 3 * r1) / n, 0.5) * (f_z - 1)
                rp.boot[m] = {"p50": stats.quantile_draws(sv, 0.5, n / f_med, 1000, rng)}
                rp.supported[m] = {"p50": True}
            runs_cg.append((ri, series))
            runs_true.append(rt)
            runs_plugin.append(rp)
        (rb, sb), (ro, so) = runs_cg
        for m in METRICS:
            for i, (s, p) in enumerate(PCTS.items()):
                d = np.quantile(so[m], p) - np.quantile(sb[m], p)
                se = math.sqrt(sd_true[i] ** 2 * (1 + eff * eff))
                pv = 2 * _norm_sf(abs(d) / se)
                if m == "ttft":
                    oracle_one[s] += pv < 0.05 and d < 0
                if s == "p50":
                    pvals_oracle.append(pv if d < 0 else 1.0)
                    oracle_z.append(d / se)
        oracle_fam += _holm_any(pvals_oracle)
        oracle_closed += _closed_any(oracle_z)
        fam = [(m, "p50") for m in METRICS]
        cis = uncertainty.delta_intervals(rb, ro, 0.95, fam)
        cg_fam += any(cis[m]["p50"].significant and cis[m]["p50"].abs_high < 0 for m in METRICS)
        cis = uncertainty.holm_family(cis, fam, 0.05)
        cg_holm += any(cis[m]["p50"].significant and cis[m]["p50"].abs_high < 0 for m in METRICS)
        cis_t = uncertainty.delta_intervals(runs_true[0], runs_true[1], 0.95, fam)
        cg_true_neff_fam += any(cis_t[m]["p50"].significant and cis_t[m]["p50"].abs_high < 0 for m in METRICS)
        cis_p = uncertainty.delta_intervals(runs_plugin[0], runs_plugin[1], 0.95, fam)
        plugin_fam += any(cis_p[m]["p50"].significant and cis_p[m]["p50"].abs_high < 0 for m in METRICS)
    k = args.pairs
    o = analytic_oracle(n, rho, eff)
    print(f"\nanalytic oracle (true variance, large n): median factor f = {o['f']:.3f}, n_eff = {o['n_eff']:.0f}, "
          f"z-score of the change {o['delta']:.3f}; one test {o['one']:.1%} (90 % needs {o['n_one_90']:,.0f} requests "
          f"a side); Holm over the three medians {o['family']:.2%} (90 % needs {o['n_family_90']:,.0f} requests a side)")
    print("\n| statistic | true n_eff | casegen n_eff (median; 10–90 %) | casegen shows | oracle power, one test |")
    print("|---|---|---|---|---|")
    for i, s in enumerate(PCTS):
        ne = np.array(cg_neff[s])
        print(f"| {s} | {n_eff_true[i]:.0f} | {np.median(ne):.0f} ({np.quantile(ne, 0.1):.0f}–{np.quantile(ne, 0.9):.0f})"
              f" | {cg_shown[s] / (3 * k):.0%} | {oracle_one[s] / k:.1%} |")
    print("\nfamily: the three medians, any significant improvement (casegen's correction: the closed test)\n")
    print("| test | power |")
    print("|---|---|")
    print(f"| oracle (true variance of each median), Holm | {oracle_fam / k:.1%} |")
    print(f"| oracle (true variance of each median), closed test | {oracle_closed / k:.1%} |")
    print(f"| casegen's draws with the true n_eff | {cg_true_neff_fam / k:.1%} |")
    print(f"| an AR(1) plug-in on the normal scores, no guard against longer correlation | {plugin_fam / k:.1%} |")
    print(f"| casegen, Holm (before) | {cg_holm / k:.1%} |")
    print(f"| casegen | {cg_fam / k:.1%} |")


if __name__ == "__main__":
    main()
