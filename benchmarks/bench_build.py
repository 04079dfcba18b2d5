"""Print how long casegen takes and how much memory it uses (targets live here, not in unit tests).

Usage: python benchmarks/bench_build.py [CASE] [--repeat N]

Targets (2-core machine): full build of the example (HTML + PDF + JSON) under 5 s;
reading + computing a 100,000-request CSV under 5 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casegen.build import build  # noqa: E402
from casegen.metrics import compute_run_metrics  # noqa: E402
from casegen.runs import load_run  # noqa: E402


def time_build(case: Path, repeat: int) -> None:
    for pdf in (False, True):
        times = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as out:
                t = time.perf_counter()
                r = build(case, out, pdf=pdf)
                times.append(time.perf_counter() - t)
        label = "build (html+json+pdf)" if pdf else "build (html+json)"
        print(f"{label:28} median {statistics.median(times):6.2f} s  min {min(times):6.2f} s  "
              f"(stages of last run: " + ", ".join(f"{k} {v:.2f}s" for k, v in r.timings.items()) + ")")


def time_large_csv(n: int) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.csv"
        ttft = rng.lognormal(4.5, 0.4, n)
        out = rng.integers(20, 500, n)
        e2e = ttft + out * rng.lognormal(2.7, 0.1, n)
        start = np.cumsum(rng.exponential(0.01, n))
        with open(path, "w") as fh:
            fh.write("start_s,ttft_ms,e2e_ms,input_tokens,output_tokens\n")
            for i in range(n):
                fh.write(f"{start[i]:.4f},{ttft[i]:.3f},{e2e[i]:.3f},{500},{out[i]}\n")
        t = time.perf_counter()
        run = load_run(path)
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        compute_run_metrics(run)
        t_metrics = time.perf_counter() - t
        print(f"{n:,}-request CSV: read {t_read:.2f} s, metrics {t_metrics:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case", nargs="?", default=str(ROOT / "cases" / "h100-llama31-8b-fp8"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100_000)
    args = ap.parse_args()
    time_build(Path(args.case), args.repeat)
    time_large_csv(args.requests)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
