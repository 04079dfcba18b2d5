"""Coverage of casegen's capacity-at-SLO intervals by simulation against a known capacity.

    python benchmarks/capacity_coverage.py                # 200 sweeps at 2,000 and 5,000 requests a point
    python benchmarks/capacity_coverage.py --sims 50 --n 2000

Each simulated sweep is the M/G/4 queue of ``benchmarks/queueing.py`` at 40, 50, 60, 70 and 80 %
load (open loop: Poisson sends at that share of the slots' capacity), ``n`` requests a point. The
SLO is "TTFT p90 ≤ T" with T the stationary TTFT p90 at 65 % load, so the true capacity is 65 % of
the slots' capacity (achieved = offered in the stationary regime). Every sweep goes through
``sweep.build_sweep``, ``capacity_at_slo`` and ``capacity_interval`` (1,000 resamples, 95 %);
reported: how often the interval is given, how often it contains the true capacity, and misses
below / above.
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

from casegen.analysis.sweep import build_sweep, capacity_at_slo, capacity_interval  # noqa: E402
from casegen.case.model import SLO  # noqa: E402
from casegen.runs.model import RequestTable, Run, RunMeta  # noqa: E402

LOADS = (0.4, 0.5, 0.6, 0.7, 0.8)
TRUE_LOAD = 0.65


def _set_grid(loads: list[float], true_load: float) -> None:
    global LOADS, TRUE_LOAD
    LOADS, TRUE_LOAD = tuple(loads), true_load


def point_run(rng: np.random.Generator, n: int, load: float) -> Run:
    r = queueing.queue_run(rng, n, load)
    out_tok = np.full(n, 128.0)
    df = RequestTable({
        "start_s": r["start_s"], "ttft_s": r["ttft_ms"] / 1e3, "e2e_s": r["e2e_ms"] / 1e3,
        "input_tokens": np.full(n, 128.0), "output_tokens": out_tok, "success": np.ones(n, dtype=bool),
        "chunk_gaps_s": [None] * n, "error": [None] * n,
    })
    duration = float((r["start_s"] + r["e2e_ms"] / 1e3).max())
    meta = RunMeta(tool="casegen", format="csv", source=f"sim-{load}.csv", sha256="0", model="sim",
                   request_rate=float(r["offered_rps"][0]), duration_s=duration, num_prompts=n)
    return Run(meta, df)


def threshold_ms() -> float:
    return queueing.queue_truth(TRUE_LOAD)["ttft"]["p90"]


def simulate(n: int, sims: int, seed: int = 0, resamples: int = 1000) -> dict:
    slo = SLO(metric="ttft", percentile=90, threshold_ms=threshold_ms())
    truth = TRUE_LOAD * queueing.capacity_rps()
    rng = np.random.default_rng([seed, n])
    shown = covered = low = high = interpolated = 0
    for _ in range(sims):
        sweep = build_sweep([point_run(rng, n, x) for x in LOADS], label="sim")
        cap = capacity_at_slo(sweep, [slo])
        if cap.bound != "interpolated":
            continue
        interpolated += 1
        ci, _why = capacity_interval(cap, 0.95, resamples, int(rng.integers(1 << 30)))
        if ci is None:
            continue
        shown += 1
        covered += ci[0] <= truth <= ci[1]
        low += ci[1] < truth
        high += ci[0] > truth
    return {"sims": sims, "interpolated": interpolated, "shown": shown, "coverage": covered / shown if shown else None,
            "miss_low": low, "miss_high": high, "truth_rps": truth}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--n", type=int, nargs="*", default=[2000, 5000])
    ap.add_argument("--loads", type=float, nargs="*", default=list(LOADS), help="load points (share of capacity)")
    ap.add_argument("--true-load", type=float, default=TRUE_LOAD, help="load whose TTFT p90 is the SLO threshold")
    args = ap.parse_args(argv)
    _set_grid(args.loads, args.true_load)
    print(f"loads {', '.join(f'{x:.0%}' for x in LOADS)}; SLO TTFT p90 ≤ its stationary value at {TRUE_LOAD:.0%} load\n")
    t0 = time.perf_counter()
    print("| requests a point | sweeps | interpolated | interval given | coverage | misses low / high |")
    print("|---|---|---|---|---|---|")
    for n in args.n:
        r = simulate(n, args.sims)
        cov = f"{r['coverage']:.1%}" if r["coverage"] is not None else "—"
        print(f"| {n:,} | {r['sims']} | {r['interpolated']} | {r['shown']} | {cov} | {r['miss_low']} / {r['miss_high']} |",
              flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
