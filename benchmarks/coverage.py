"""Coverage and A/A false-positive rates of casegen's intervals, by simulation against the truth.

    python benchmarks/coverage.py                 # full table (≈ 10 min on 2 shared cores)
    python benchmarks/coverage.py --sims 100      # quick look

Each simulated run has three latency metrics (stand-ins for TTFT, TPOT and E2E), each an
independent series with the scenario's marginal distribution and dependence in send order. Runs go
through casegen's own interval code (``uncertainty.series_stats`` on the same per-request series
``metric_series`` builds, ``uncertainty.delta_intervals`` with the primary family's closed test, the
runs carrying their influences as ``run_intervals`` keeps them), with
the default 1,000 resamples and 95 % confidence. Reported per scenario and n:

* coverage of each statistic's per-run interval (share of printed intervals containing the true
  value; ``shown`` = share of runs where it was printed at all, not withheld as †);
* delta coverage: two runs of one process (A/A), share of printed delta intervals containing 0;
* A/A false positives: share of A/A reports with any significant *primary* change (family: TTFT p99
  as an SLO statistic + the medians of the three metrics, corrected together), and the share with any
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import queueing  # noqa: E402

from casegen.analysis import saturation, slo, uncertainty  # noqa: E402
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
    #: a whole run at once (metric → values, plus ``start_s`` and ``offered_rps`` when the run has
    #: send times) and its truth (metric → stat → value); None: three independent ``draw`` series
    run: Callable[[np.random.Generator, int], dict[str, np.ndarray]] | None = None
    run_truth: Callable[[], dict[str, dict[str, float]]] | None = None


def _lognormal(z: np.ndarray) -> np.ndarray:
    return 60.0 * np.exp(0.5 * z)


def _pareto(rng: np.random.Generator, n: int) -> np.ndarray:
    return 50.0 * (1 + rng.pareto(2.5, n))


def _mixture(rng: np.random.Generator, n: int) -> np.ndarray:
    x = 60.0 * np.exp(0.3 * rng.standard_normal(n))
    slow = rng.random(n) < 0.02
    x[slow] *= 10.0
    return x


def _weak_long(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance Gaussian series with weak, long correlation: 85 % white noise + 15 % AR(1) 0.9
    (lag-1 0.135, positive for ~20 lags, long-run variance factor 3.7)."""
    return np.sqrt(0.85) * rng.standard_normal(n) + np.sqrt(0.15) * _ar1_gauss(rng, n, 0.9)


def _queue(load: float) -> tuple[Callable, Callable]:
    def run(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        r = queueing.queue_run(rng, n, load)
        return {"ttft": r["ttft_ms"], "tpot": r["tpot_ms"], "e2e": r["e2e_ms"], "start_s": r["start_s"],
                "offered_rps": r["offered_rps"]}

    return run, lambda: queueing.queue_truth(load)


def _closed(clients: int) -> tuple[Callable, Callable]:
    def run(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        r = queueing.closed_run(rng, n, clients)
        return {"ttft": r["ttft_ms"], "tpot": r["tpot_ms"], "e2e": r["e2e_ms"], "start_s": r["start_s"],
                "clients": r["clients"]}

    return run, lambda: queueing.closed_truth(clients)


SCENARIOS = [
    Scenario("independent lognormal", lambda r, n: _lognormal(r.standard_normal(n)),
             lambda r, n: _lognormal(r.standard_normal(n))),
    Scenario("Pareto tail (α 2.5)", _pareto, _pareto),
    Scenario("mixture, 2 % slow ×10", _mixture, _mixture),
    Scenario("AR(1) ρ 0.5 lognormal", lambda r, n: _lognormal(_ar1_gauss(r, n, 0.5)),
             lambda r, n: _lognormal(r.standard_normal(n))),
    Scenario("AR(1) ρ 0.9 lognormal", lambda r, n: _lognormal(_ar1_gauss(r, n, 0.9)),
             lambda r, n: _lognormal(r.standard_normal(n))),
    Scenario("weak long correlation", lambda r, n: _lognormal(_weak_long(r, n)),
             lambda r, n: _lognormal(r.standard_normal(n))),
    Scenario("M/G/4 queue, 70 % load", _lognormal, _lognormal, *_queue(0.7)),
    Scenario("M/G/4 queue, 90 % load", _lognormal, _lognormal, *_queue(0.9)),
    Scenario("closed loop, 4 users on 4 slots", _lognormal, _lognormal, *_closed(4)),
    Scenario("closed loop, 8 users on 4 slots", _lognormal, _lognormal, *_closed(8)),
]


def truth(s: Scenario) -> dict[str, dict[str, float]]:
    """metric → stat → true value."""
    if s.run_truth is not None:
        return s.run_truth()
    x = s.marginal(np.random.default_rng(12345), 4_000_000)
    out = {"mean": float(x.mean())}
    for stat, p in uncertainty.P.items():
        out[stat] = float(np.quantile(x, p))
    return {m: out for m in METRICS}


def draw_run(s: Scenario, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    if s.run is not None:
        return s.run(rng, n)
    return {m: s.draw(rng, n) for m in METRICS}


def run_intervals_of(series: dict[str, np.ndarray], rng: np.random.Generator, resamples: int) -> RunIntervals:
    out = RunIntervals()
    own: dict[str, dict[str, str]] = {}
    for metric in METRICS:
        v = series[metric]
        ms = MetricSeries(v, v, np.ones(v.size))
        res, dep = series_stats(ms, STATS, 0.95, resamples, rng, "linear", metric)
        out.dependence[metric] = dep
        out.boot[metric] = {s: r.draws for s, r in res.items()}
        out.intervals[metric] = {s: r.interval for s, r in res.items()}
        out.supported[metric] = {s: r.supported for s, r in res.items()}
        out.n_eff[metric] = {s: r.n_eff for s, r in res.items()}
        out.draw_n_eff[metric] = {s: r.draw_n_eff for s, r in res.items()}
        own[metric] = {s: r.own_reason for s, r in res.items() if r.own_reason}
        out.n[metric] = int(v.size)
        for m, st in FAMILY:  # as run_intervals keeps them: the primary family's correlation
            if m == metric:
                out.influence[(m, st)] = uncertainty.influence(v, st, res[st].point)
    sat = None
    if "start_s" in series:  # the run has send times: casegen's saturation check applies
        sat = saturation.detect(series["start_s"], series["ttft"], series["e2e"])
    return uncertainty.withhold_short_run(uncertainty.withhold_own(uncertainty.withhold_saturated(out, sat), own))


def slo_check(series: dict[str, np.ndarray], threshold_ms: float) -> tuple[str, slo.SLOResult]:
    """Verdict of "TTFT p99 ≤ threshold" (every request issued and successful) as casegen judges it."""
    v = series["ttft"]
    viol = v > threshold_ms
    factor = slo.violation_factor(viol, v)
    verdict = slo.dependent_verdict(v.size, int(viol.sum()), 0.99, 0.99, factor, slo.metric_factor(v))
    res = slo.SLOResult("ttft", 99, threshold_ms, v.size, int(viol.sum()), 1 - viol.mean(), None, verdict, "", variance_factor=factor)
    return verdict.status, res


def simulate(s: Scenario, n: int, sims: int, seed: int = 0, resamples: int = 1000, effect: float = 1.0) -> dict:
    """A/A pairs (``effect`` = 1) or A/B pairs whose optimized side has every latency × ``effect``.

    Also judges the SLO "TTFT p99 ≤ its true p99" (a system exactly meeting it) on every run:
    ``slo_false_fail`` = share of runs with verdict fail, ``slo_diff_sig`` = share of A/A pairs whose
    attainments casegen calls significantly different."""
    t = truth(s)
    rng = np.random.default_rng([seed, n, zlib.crc32(s.name.encode()), int(effect * 1000)])
    cover = {st: [0, 0] for st in STATS}  # [covered, shown] over metrics × runs
    dcover = {st: [0, 0] for st in STATS}
    any_primary = 0
    improved = 0
    any_sig = 0
    slo_fail = 0
    slo_diff = 0
    page1 = 0
    for _ in range(sims):
        raw = [draw_run(s, rng, n) for _side in range(2)]
        if effect != 1.0:
            raw[1] = {k: (v * effect if k in METRICS else v) for k, v in raw[1].items()}
        runs = [run_intervals_of(r, rng, resamples) for r in raw]
        verdicts = [slo_check(r, t["ttft"]["p99"]) for r in raw]
        slo_fail += sum(v[0] == "fail" for v in verdicts)
        att = slo.attainment_difference(verdicts[0][1], verdicts[1][1])
        slo_diff += att.significant
        for r in runs[:1] if effect != 1.0 else runs:
            for m in METRICS:
                for st in STATS:
                    ci = r.intervals[m][st]
                    if ci is not None:
                        cover[st][1] += 1
                        cover[st][0] += ci[0] <= t[m][st] <= ci[1]
        cis = uncertainty.delta_intervals(runs[0], runs[1], 0.95, FAMILY)
        any_primary += uncertainty.any_primary_significant(cis)
        # page 1's "Worse" list: a primary regression significant after the family's correction, or an SLO attainment
        # that fell significantly (story/findings: the rule for single runs)
        page1 += (any(d.significant and d.abs_low > 0 for row in cis.values() for d in row.values()
                      if d.family == "primary") or (att.significant and att.diff < 0))
        improved += any(d.significant and d.abs_high < 0 for row in cis.values() for d in row.values()
                        if d.family == "primary")
        sig = False
        for m in METRICS:
            for st in STATS:
                d = cis[m][st]
                if d.supported:
                    dcover[st][1] += 1
                    dcover[st][0] += d.abs_low <= 0 <= d.abs_high
                    sig |= d.significant
        any_sig += sig
    runs_counted = sims * (1 if effect != 1.0 else 2)
    total = runs_counted * len(METRICS)
    return {
        "coverage": {st: (c / k if k else None, k / total) for st, (c, k) in cover.items()},
        "delta_coverage": {st: (c / k if k else None, k / (sims * len(METRICS))) for st, (c, k) in dcover.items()},
        "aa_primary": any_primary / sims,
        "aa_page1": page1 / sims,
        "aa_any": any_sig / sims,
        "power": improved / sims,
        "slo_false_fail": slo_fail / (2 * sims),
        "slo_diff_sig": slo_diff / sims,
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
    truth_v = _itl_truth(gaps)
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
            ri.intervals["itl"] = {s: r.interval for s, r in res.items()}
            ri.dependence["itl"] = dep
            uncertainty.withhold_short_run(ri)
            for st, ci in ri.intervals["itl"].items():
                if ci is not None:
                    cover[st][1] += 1
                    cover[st][0] += ci[0] <= truth_v[st] <= ci[1]
            runs.append(ri)
        cis = uncertainty.delta_intervals(runs[0], runs[1], 0.95, [])
        for st, d in cis["itl"].items():
            if d.supported:
                dcover[st][1] += 1
                dcover[st][0] += d.abs_low <= 0 <= d.abs_high
    return {"coverage": {st: (c / k if k else None, k / (2 * sims)) for st, (c, k) in cover.items()},
            "delta_coverage": {st: (c / k if k else None, k / sims) for st, (c, k) in dcover.items()}}


def _itl_truth(gaps: int) -> dict[str, float]:
    t_rng = np.random.default_rng(999)
    big = np.concatenate([_itl_run(t_rng, 20_000, gaps, 0.0).values for _ in range(5)])
    return {"mean": float(big.mean()), **{st: float(np.quantile(big, p)) for st, p in uncertainty.P.items()}}


def simulate_itl_slo(n: int, gaps: int, rho: float, runs: int, seed: int = 0) -> dict:
    """"ITL p99 ≤ its true pooled p99" judged over pooled gaps (a system exactly at its limit): share of
    runs judged fail by casegen (requests as the unit) and by the plain rule (every gap independent)."""

    from casegen.case.model import SLO, Analysis
    from casegen.runs.model import RequestTable

    t = _itl_truth(gaps)["p99"]
    rng = np.random.default_rng([seed, n, gaps, int(rho * 100), 11])
    slo_def = SLO(metric="itl", percentile=99, threshold_ms=t)
    analysis = Analysis()
    fail = plain_fail = passed = plain_pass = 0
    for _ in range(runs):
        ms = _itl_run(rng, n, gaps, rho)
        per = np.split(ms.values / 1e3, ms.offsets[1:])
        df = RequestTable({"chunk_gaps_s": per, "success": np.ones(n, dtype=bool)})
        res = slo._pooled_itl(df, np.ones(n, dtype=bool), slo_def, 0.99, analysis, "linear")
        fail += res.verdict.status == "fail"
        passed += res.verdict.status == "pass"
        plain = slo.stats.slo_verdict(res.issued, res.violations, 0.99, 0.99).status
        plain_fail += plain == "fail"
        plain_pass += plain == "pass"
    return {"fail": fail / runs, "plain_fail": plain_fail / runs, "pass": passed / runs, "plain_pass": plain_pass / runs}


def _cell(c: float | None, shown: float) -> str:
    if c is None:
        return "†"
    mark = "" if c >= 0.93 else " ✗"
    share = f"{shown:.0%}" if shown >= 0.01 else f"{shown:.1%}"
    return f"{c:.1%}{mark}" + ("" if shown >= 0.995 else f" ({share} shown)")


def simulate_slo(s: Scenario, n: int, runs: int, seed: int = 0) -> dict:
    """SLO verdicts only (cheap, so many runs): "TTFT p99 ≤ its true p99" on ``runs`` runs — share
    judged fail (false: the system meets it), pass (at the boundary a pass should be as rare as 1 −
    slo_confidence), and, over ``runs`` / 2 A/A pairs, the share whose
    attainments casegen calls significantly different; the plain rule (independent requests) beside."""
    t = truth(s)["ttft"]["p99"]
    rng = np.random.default_rng([seed, n, zlib.crc32(s.name.encode()), 7])
    fail = plain_fail = passed = plain_pass = diff = 0
    prev = None
    for i in range(runs):
        v = draw_run(s, rng, n)["ttft"]
        status, res = slo_check({"ttft": v}, t)
        fail += status == "fail"
        passed += status == "pass"
        viol = int((v > t).sum())
        plain = slo.stats.slo_verdict(v.size, viol, 0.99, 0.99).status
        plain_fail += plain == "fail"
        plain_pass += plain == "pass"
        if i % 2:
            diff += slo.attainment_difference(prev, res).significant
        prev = res
    return {"fail": fail / runs, "plain_fail": plain_fail / runs, "pass": passed / runs, "plain_pass": plain_pass / runs,
            "diff": diff / (runs // 2)}


#: the power rows: (scenario, n, effect) — a true improvement the report must find
POWER = (("independent lognormal", 1000, 0.85), ("AR(1) ρ 0.5 lognormal", 1000, 0.90),
         ("AR(1) ρ 0.5 lognormal", 1500, 0.90), ("AR(1) ρ 0.5 lognormal", 2000, 0.90))
#: the Gaussian AR(1) ρ of each power row's scenario (for the closed-form oracle, ``power.analytic_oracle``)
POWER_RHO = {"independent lognormal": 0.0, "AR(1) ρ 0.5 lognormal": 0.5}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=200, help="simulated A/A pairs per scenario and n")
    ap.add_argument("--n", type=int, nargs="*", default=[200, 1000, 5000])
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--scenario", nargs="*", help="only scenarios whose name contains one of these")
    ap.add_argument("--no-itl", action="store_true", help="skip the pooled inter-chunk table")
    ap.add_argument("--slo-runs", type=int, default=1000, help="runs per row of the SLO table")
    ap.add_argument("--itl-pairs", type=int, help="A/A pairs per row of the pooled inter-chunk table "
                    "(default: a third of --sims, at least 20)")
    ap.add_argument("--only", choices=["intervals", "power", "slo", "itl", "itl-slo"], nargs="*",
                    help="print only these tables (default: all)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print(f"{args.sims} A/A pairs per row; 3 metrics per run; 95 % intervals; resamples {args.resamples}")
    print("coverage of printed intervals (share shown if < 100 %); † = always withheld; ✗ = below 93 %\n")
    head = ("| scenario | n | " + " | ".join(STATS) + " | Δ mean | Δ p50 | Δ p99 | A/A primary | A/A page-1 regression "
            "| A/A any (exploratory) | SLO false fail | A/A attainment differs |")
    chosen = [s for s in SCENARIOS if not args.scenario or any(k in s.name for k in args.scenario)]
    only = set(args.only or ["intervals", "power", "slo", "itl", "itl-slo"])
    if "intervals" in only:
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
    for s in chosen if "intervals" in only else []:
        for n in args.n:
            r = simulate(s, n, args.sims, resamples=args.resamples)
            cells = [_cell(*r["coverage"][st]) for st in STATS]
            dcells = [_cell(*r["delta_coverage"][st]) for st in ("mean", "p50", "p99")]
            print(f"| {s.name} | {n} | " + " | ".join(cells + dcells)
                  + f" | {r['aa_primary']:.1%}{'' if r['aa_primary'] <= 0.05 else ' ✗'}"
                  + f" | {r['aa_page1']:.1%}{'' if r['aa_page1'] <= 0.05 else ' ✗'} | {r['aa_any']:.1%}"
                  + f" | {r['slo_false_fail']:.1%}{'' if r['slo_false_fail'] <= 0.01 else ' ✗'}"
                  + f" | {r['slo_diff_sig']:.1%}{'' if r['slo_diff_sig'] <= 0.05 else ' ✗'} |", flush=True)
    if "power" in only:
        print("\npower: share of reports with a significant primary improvement (the family's closed test); the "
              "oracle is a test that knows each median's true variance (benchmarks/power.py, closed form: Holm)\n")
        print("| scenario | n | true change | found | oracle (true variance), Holm | oracle, closed test |")
        print("|---|---|---|---|---|---|")
    by_name = {s.name: s for s in SCENARIOS}
    for name, n, effect in POWER if "power" in only else ():
        if args.scenario and not any(k in name for k in args.scenario):
            continue
        r = simulate(by_name[name], n, args.sims, resamples=args.resamples, effect=effect)
        import power  # here: power.py imports this module's simulators

        oracle = power.analytic_oracle(n, POWER_RHO[name], effect)["family"]
        closed = power.closed_oracle(n, POWER_RHO[name], effect)
        print(f"| {name} | {n} | {effect - 1:+.0%} | {r['power']:.1%} | {oracle:.1%} | {closed:.1%} |", flush=True)
    if "slo" in only:
        print("\nSLO \"TTFT p99 ≤ its true p99\" (a system exactly meeting it): share of runs judged fail by casegen "
          f"and by the plain rule (independent requests), share passed, A/A pairs with a significant attainment "
              f"difference; {args.slo_runs} runs a row\n")
        print("| scenario | n | false fail | false fail, plain rule | pass at the boundary | pass, plain rule "
              "| A/A attainment differs |")
        print("|---|---|---|---|---|---|---|")
    for s in chosen if "slo" in only else []:
        for n in args.n:
            r = simulate_slo(s, n, args.slo_runs)
            print(f"| {s.name} | {n} | {r['fail']:.1%}{'' if r['fail'] <= 0.01 else ' ✗'} | {r['plain_fail']:.1%} | "
                  f"{r['pass']:.1%}{'' if r['pass'] <= 0.015 else ' ✗'} | {r['plain_pass']:.1%} | "
                  f"{r['diff']:.1%}{'' if r['diff'] <= 0.05 else ' ✗'} |", flush=True)
    if not args.no_itl and "itl" in only:
        print("\npooled inter-chunk gaps (50 per request; request speed AR(1) across requests; 3 % stalls):\n")
        head = "| requests | ρ | " + " | ".join(STATS) + " | Δ mean | Δ p50 | Δ p99 |"
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        for n in [x for x in args.n if 100 <= x <= 1000]:
            for rho in (0.0, 0.5):
                r = simulate_itl(n, 50, rho, args.itl_pairs or max(args.sims // 3, 20), resamples=args.resamples)
                cells = [_cell(*r["coverage"][st]) for st in STATS]
                dcells = [_cell(*r["delta_coverage"][st]) for st in ("mean", "p50", "p99")]
                print(f"| {n} | {rho} | " + " | ".join(cells + dcells) + " |", flush=True)
    if "itl-slo" in only:
        print(f"\npooled ITL SLO \"ITL p99 ≤ its true pooled p99\": {args.slo_runs // 2} runs a row\n")
        print("| requests | ρ | false fail | false fail, plain rule | pass at the boundary | pass, plain rule |")
        print("|---|---|---|---|---|---|")
        for n in args.n:
            for rho in (0.0, 0.5, 0.9):
                r = simulate_itl_slo(n, 50, rho, args.slo_runs // 2)
                print(f"| {n} | {rho} | {r['fail']:.1%}{'' if r['fail'] <= 0.01 else ' ✗'} | {r['plain_fail']:.1%} | "
                      f"{r['pass']:.1%} | {r['plain_pass']:.1%} |", flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
