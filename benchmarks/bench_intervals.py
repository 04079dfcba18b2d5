"""Time casegen's interval computation (issue 12, item 1): no resamples × n matrix.

    python benchmarks/bench_intervals.py            # 2 × 10^6 requests; 2 × 10^5 requests × 150 gaps
    python benchmarks/bench_intervals.py --quick    # 2 × 10^5 requests; 2 × 10^4 × 150 gaps

Builds synthetic per-request runs (lognormal latencies with AR(1) correlation 0.5 in send order,
optionally ~150 chunk gaps per request) and times ``uncertainty.run_intervals`` for both sides
plus ``delta_intervals`` — the same calls ``casegen build`` makes — with the default 1,000
resamples. Prints wall and CPU seconds and peak memory of the interval step (tracemalloc).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from casegen.analysis import uncertainty  # noqa: E402
from casegen.runs.model import RequestTable, Run, RunMeta  # noqa: E402


def synthetic_run(n: int, gaps_per_request: int, seed: int, scale: float = 1.0) -> Run:
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n)
    c = np.sqrt(1 - 0.25)
    # AR(1) ρ = 0.5, vectorised: z_t = Σ_k 0.5^k c e_{t−k}, truncated at 40 lags (0.5^40 ≈ 1e-12)
    z = np.zeros(n)
    for k in range(40):
        z[k:] += (0.5 ** k) * c * e[: n - k]
    ttft = 0.06 * np.exp(0.4 * z) * scale
    out_tok = np.full(n, gaps_per_request + 1 if gaps_per_request else 200)
    tpot = 0.012 * np.exp(0.2 * z) * scale
    e2e = ttft + tpot * (out_tok - 1)
    df = RequestTable({
        "start_s": np.arange(n) * 0.01,
        "ttft_s": ttft, "e2e_s": e2e, "input_tokens": np.full(n, 500), "output_tokens": out_tok,
        "success": np.ones(n, dtype=bool),
    })
    if gaps_per_request:
        g = rng.gamma(4.0, tpot[:, None] / 4.0, size=(n, gaps_per_request))
        df["chunk_gaps_s"] = list(g)
    else:
        df["chunk_gaps_s"] = [None] * n
    return Run(meta=RunMeta(tool="casegen", format="csv", source="synthetic", sha256=""), requests=df)


def bench(n: int, gaps: int) -> None:
    runs = [synthetic_run(n, gaps, 1), synthetic_run(n, gaps, 2, 0.9)]
    tracemalloc.start()
    w0, c0 = time.perf_counter(), time.process_time()
    iv = [uncertainty.run_intervals(r, 0.95, 1000, 0, i) for i, r in enumerate(runs)]
    uncertainty.delta_intervals(iv[0], iv[1], 0.95, list(uncertainty.HEADLINE_PRIMARY))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    what = f"2 × {n:,} requests" + (f" × {gaps} chunk gaps" if gaps else "")
    print(f"| {what} | {wall:.2f} s | {cpu:.2f} s | {peak / 2**20:,.0f} MiB |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print("| intervals for | wall | CPU | peak memory (interval step) |\n|---|---|---|---|")
    if args.quick:
        bench(10_000, 0)
        bench(200_000, 0)
        bench(20_000, 150)
    else:
        bench(10_000, 0)
        bench(100_000, 0)
        bench(1_000_000, 0)
        bench(10_000, 150)
        bench(100_000, 150)


if __name__ == "__main__":
    main()
