"""A/A load sweeps: how often page 1 lists a load-point regression when nothing changed.

    python benchmarks/sweep_aa.py                   # 400 sweeps a row (≈ 5 min on 2 shared cores)
    python benchmarks/sweep_aa.py --sweeps 300 --n 24 50

Each simulated sweep measures the same server twice (baseline and "optimized" are one process) at 3–5
load points: the M/G/4 queue of ``benchmarks/queueing.py`` driven closed-loop at concurrency 1, 4 and 8
(as the AIPerf sweep case: 8 users on 4 slots queue) or open-loop at 30–90 % of capacity. Every point has
``n`` requests a side, in send order, after a burn-in. The objectives are TTFT and TPOT, so casegen tests
points × 2 changes together (``casegen.analysis.segments.load_axis_of``: each point's mean change,
Bonferroni over the family); page 1 lists a regression when some point's interval lies above 0
(``story/segments.load_regressions``; a crossover needs one too). Printed per regime and n: the share of
A/A sweeps with a page-1 regression with casegen's rules (``segments.load_point_gate``: no test at a point
with fewer than 50 requests a side or a run that looks saturated; the variance guarded by the √n-lag sum
and batch means) and before them (every point compared, the variance from the dependence test alone).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import queueing  # noqa: E402

from casegen.analysis import saturation, segments  # noqa: E402
from casegen.analysis.uncertainty import MIN_REQUESTS  # noqa: E402

OBJECTIVES = ("ttft", "tpot")
#: regime → (load kind, the load points, a run at one point)
REGIMES = {
    "closed loop, concurrency 1/4/8 (4 slots)": ("concurrency", (1, 4, 8),
                                                 lambda rng, n, c: queueing.closed_run(rng, n, c, burn_in=1000)),
    "open loop, 30/50/70/90 % load": ("rate", (0.3, 0.5, 0.7, 0.9),
                                     lambda rng, n, x: queueing.queue_run(rng, n, x, burn_in=1000)),
    "open loop, 5 points 20–90 % load": ("rate", (0.2, 0.4, 0.6, 0.8, 0.9),
                                        lambda rng, n, x: queueing.queue_run(rng, n, x, burn_in=1000)),
}


def _sat(run: dict):
    return saturation.detect(run["start_s"], run["ttft_ms"], run["e2e_ms"])


def sweep_regression(points: list[tuple[float, dict, dict]], kind: str, gated: bool) -> bool:
    """Does page 1 list a regression for this A/A sweep? (points: load, baseline run, optimized run; ``gated``:
    casegen's ``segments.load_point_gate``, else every point is compared with the unguarded variance)."""
    usable = {m: [(load, b[f"{m}_ms"], o[f"{m}_ms"]) for load, b, o in points
                  if not gated or not segments.load_point_gate(b[f"{m}_ms"].size, o[f"{m}_ms"].size, _sat(b), _sat(o))]
              for m in OBJECTIVES}
    metrics = [m for m in OBJECTIVES if len(usable[m]) >= 2]
    family = sum(len(usable[m]) for m in metrics)
    for m in metrics:
        ax = segments.load_axis_of(usable[m], m, kind, 0.95, family if len(metrics) > 1 else None, guarded=gated)
        if ax is not None and any(s.verdict == "hurts" for s in ax.segments):
            return True
    return False


def simulate(regime: str, n: int, sweeps: int, seed: int = 0) -> dict[str, float]:
    kind, loads, run = REGIMES[regime]
    rng = np.random.default_rng([seed, n, len(loads), int(sum(loads) * 100)])
    with_floor = without = 0
    for _ in range(sweeps):
        points = [(float(x), run(rng, n, x), run(rng, n, x)) for x in loads]
        with_floor += sweep_regression(points, kind, True)
        without += sweep_regression(points, kind, False)
    return {"floor": with_floor / sweeps, "no_floor": without / sweeps}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps", type=int, default=400, help="A/A sweeps per row")
    ap.add_argument("--n", type=int, nargs="*", default=[24, 50, 100, 200], help="requests a side at each point")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print(f"{args.sweeps} A/A sweeps a row; objectives TTFT and TPOT (points × 2 changes, Bonferroni); share of "
          "sweeps whose page 1 lists a load-point regression\n")
    print(f"| regime | requests a side per point | casegen (gate: ≥ {MIN_REQUESTS} requests, not saturated; guarded "
          "variance) | every point compared, unguarded variance (before) |")
    print("|---|---|---|---|")
    for regime in REGIMES:
        for n in args.n:
            r = simulate(regime, n, args.sweeps)
            mark = lambda v: f"{v:.1%}" + ("" if v <= 0.05 else " ✗")  # noqa: E731
            floor = mark(r["floor"]) + (" (no point tested)" if n < MIN_REQUESTS else "")
            print(f"| {regime} | {n} | {floor} | {mark(r['no_floor'])} |", flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
