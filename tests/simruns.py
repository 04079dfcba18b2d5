"""Constructed runs with known truth for the teardown, segment and cheap-win tests (no fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def fifo_queue(n: int = 400, rate: float = 1.0, slots: int = 4, a_ms: float = 40.0, b_ms: float = 0.5,
               tpot_ms: float = 10.0, out: int = 50, seed: int = 0, inp: np.ndarray | None = None,
               jitter: float = 0.05) -> dict[str, np.ndarray]:
    """Poisson arrivals at ``rate`` into a FIFO server with ``slots`` parallel slots: a request waits for
    a slot, then TTFT = wait + (a + b × input tokens), then decodes ``out`` tokens at ``tpot_ms``.
    Seconds. The prefill rate is 1000 / b_ms tokens/s."""
    rng = np.random.default_rng(seed)
    starts = np.cumsum(rng.exponential(1 / rate, n))
    starts -= starts[0]
    x = rng.integers(100, 1500, n).astype(float) if inp is None else np.asarray(inp, dtype=float)
    free = np.zeros(slots)
    ttft, e2e = np.empty(n), np.empty(n)
    for i in range(n):
        j = int(np.argmin(free))
        begin = max(starts[i], free[j])
        pre = (a_ms + b_ms * x[i]) / 1e3 * rng.lognormal(0, jitter)
        dec = tpot_ms / 1e3 * (out - 1) * rng.lognormal(0, jitter)
        ttft[i] = begin - starts[i] + pre
        e2e[i] = ttft[i] + dec
        free[j] = begin + pre + dec
    return {"start_s": starts, "ttft_s": ttft, "e2e_s": e2e, "input_tokens": x, "output_tokens": np.full(n, out)}


def write_csv(path: Path, cols: dict[str, np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = list(cols)
    lines = [",".join(keys)]
    for row in zip(*(cols[k] for k in keys)):
        lines.append(",".join(f"{v:.6f}" if isinstance(v, float) else str(int(v)) for v in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_vllm(path: Path, cols: dict[str, np.ndarray], rate: float, model: str = "m") -> Path:
    """A vLLM bench serve result (--save-detailed) holding ``cols`` at request rate ``rate``."""
    ttft, e2e = cols["ttft_s"], cols["e2e_s"]
    out = cols["output_tokens"]
    duration = float((cols["start_s"] + e2e).max())
    tpot = (e2e - ttft) / np.maximum(out - 1, 1)
    obj = {
        "date": "20260101-000000", "backend": "vllm", "model_id": model, "tokenizer_id": model,
        "num_prompts": int(ttft.size), "request_rate": rate, "burstiness": 1.0, "max_concurrency": None,
        "duration": duration, "completed": int(ttft.size), "failed": 0,
        "total_input_tokens": int(cols["input_tokens"].sum()), "total_output_tokens": int(out.sum()),
        "request_throughput": ttft.size / duration, "output_throughput": float(out.sum()) / duration,
        "total_token_throughput": float(out.sum() + cols["input_tokens"].sum()) / duration,
        "mean_ttft_ms": float(ttft.mean() * 1e3), "median_ttft_ms": float(np.median(ttft) * 1e3),
        "mean_tpot_ms": float(tpot.mean() * 1e3), "median_tpot_ms": float(np.median(tpot) * 1e3),
        "mean_e2el_ms": float(e2e.mean() * 1e3), "median_e2el_ms": float(np.median(e2e) * 1e3),
        "input_lens": [int(v) for v in cols["input_tokens"]], "output_lens": [int(v) for v in out],
        "ttfts": [float(v) for v in ttft], "latencies": [float(v) for v in e2e],
        "start_times": [float(v) for v in cols["start_s"]], "errors": [""] * int(ttft.size),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


CASE_HEAD = """
title: "Constructed"
author: "test"
date: 2026-01-02
summary: "constructed study"
system: {model: "m", hardware: "h", serving_stack: "s"}
workload: {description: "synthetic"}
analysis: {bootstrap_resamples: 300, warmup: {seconds: 0}}
"""
