"""Synthetic casegen cases for the scaling benchmark: n requests per side, casegen CSV runs.

``make_case(root, n, gaps=False)`` writes ``root/<name>/case.yaml`` and two CSV runs
(``start_s, ttft_ms, e2e_ms, input_tokens, output_tokens[, chunk_gaps_ms]``) and returns the
case folder. Files are reused when they already exist (same n, same seed → same bytes).

The data look like a streaming LLM service under open-loop load: Poisson arrivals, log-normal
TTFT with a heavy right tail, 100–200 output tokens, one chunk per token with log-normal gaps
plus rare stalls (a new request's prefill scheduled into the batch). E2E = TTFT + Σ gaps when
gaps are written, so the file is internally consistent. The optimized side is about 20 % faster.

Usage: python benchmarks/synth.py OUTDIR N [--gaps]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CASE_YAML = """\
title: "Synthetic {n:,} requests per side{gaps_title}"
author: "casegen benchmark"
date: 2026-01-15
summary: "Synthetic data for the scaling benchmark (benchmarks/synth.py)."
system:
  model: "synthetic"
  hardware: "synthetic"
  serving_stack: "synthetic"
workload:
  description: "Poisson arrivals, 100-200 output tokens per request."
slos:
  - {{metric: ttft, percentile: 99, threshold_ms: 400}}
  - {{metric: tpot, percentile: 99, threshold_ms: 30}}
runs:
  baseline:
    path: runs/baseline.csv
    label: "before"
  optimized:
    path: runs/optimized.csv
    label: "after"
cost:
  baseline:
    self_hosted: {{gpu: "H100 80 GB", gpu_hourly_usd: 2.99, gpus_per_replica: 1, utilization: 0.6}}
  optimized:
    self_hosted: {{gpu: "H100 80 GB", gpu_hourly_usd: 2.99, gpus_per_replica: 1, utilization: 0.6}}
  requests_per_month: 20000000
  one_time_cost_usd: 4000
  horizon_months: 12
"""


def _side(n: int, speed: float, gaps: bool, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rate = 50.0
    start = np.cumsum(rng.exponential(1.0 / rate, n))
    ttft = rng.lognormal(np.log(120.0 * speed), 0.45, n)
    out = rng.integers(100, 201, n)
    cols: dict[str, np.ndarray] = {"start_s": start, "ttft_ms": ttft, "input_tokens": rng.integers(200, 1200, n),
                                   "output_tokens": out}
    if gaps:
        counts = out - 1
        g = rng.lognormal(np.log(12.0 * speed), 0.25, int(counts.sum()))
        stall = rng.random(g.size) < 0.004
        g[stall] += rng.lognormal(np.log(150.0 * speed), 0.5, int(stall.sum()))
        g = np.round(g, 2)
        ends = np.cumsum(counts)
        decode = np.add.reduceat(g, ends - counts)
        cols["e2e_ms"] = ttft + decode
        cols["_gaps"] = g
        cols["_counts"] = counts
    else:
        tpot = rng.lognormal(np.log(13.0 * speed), 0.2, n)
        cols["e2e_ms"] = ttft + tpot * (out - 1)
    return cols


def write_csv(path: Path, cols: dict[str, np.ndarray]) -> None:
    n = cols["start_s"].size
    gaps = "_gaps" in cols
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("start_s,ttft_ms,e2e_ms,input_tokens,output_tokens" + (",chunk_gaps_ms" if gaps else "") + "\n")
        block = 50_000
        offsets = np.concatenate([[0], np.cumsum(cols["_counts"])]) if gaps else None
        for lo in range(0, n, block):
            hi = min(n, lo + block)
            lines = []
            for i in range(lo, hi):
                line = (f"{cols['start_s'][i]:.4f},{cols['ttft_ms'][i]:.2f},{cols['e2e_ms'][i]:.2f},"
                        f"{cols['input_tokens'][i]},{cols['output_tokens'][i]}")
                if gaps:
                    line += "," + " ".join(map("{:.2f}".format, cols["_gaps"][offsets[i]:offsets[i + 1]].tolist()))
                lines.append(line)
            fh.write("\n".join(lines) + "\n")
    tmp.replace(path)


def make_case(root: Path, n: int, gaps: bool = False) -> Path:
    """The case folder for n requests per side (written once, then reused)."""
    name = f"synthetic-{n}" + ("-gaps" if gaps else "")
    case = root / name
    runs = case / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for side, speed, seed in (("baseline", 1.0, 1), ("optimized", 0.8, 2)):
        path = runs / f"{side}.csv"
        if not path.exists():
            write_csv(path, _side(n, speed, gaps, seed))
    yaml = CASE_YAML.format(n=n, gaps_title=", ~150 chunk gaps each" if gaps else "")
    (case / "case.yaml").write_text(yaml, encoding="utf-8")
    return case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("n", type=int)
    ap.add_argument("--gaps", action="store_true")
    args = ap.parse_args()
    print(make_case(args.outdir, args.n, args.gaps))


if __name__ == "__main__":
    main()
