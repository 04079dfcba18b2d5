"""``casegen new DIR``: a case folder that builds as-is, every field commented.

The example runs are synthetic (seeded, so the same every time) and written in
casegen's own CSV format; replace them with your benchmark output files.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from casegen.case.model import Case, json_schema, parse_case
from casegen.errors import CasegenError
from casegen.resources import templates_dir


def _example_run(seed: int, n: int, ttft_ms: float, tpot_ms: float, fail: int, concurrency: int = 16) -> str:
    """A plausible per-request CSV from a closed-loop client with ``concurrency`` workers.

    Each worker sends its next request when the previous one finishes, so the run is
    saturated at that concurrency and its throughput is the replica's capacity there.
    """
    lengths = np.random.default_rng(0)  # the same prompts and answers on both sides
    inp = lengths.integers(180, 1400, n)
    out = lengths.integers(40, 420, n)
    rng = np.random.default_rng(seed)
    ttft = ttft_ms * (0.6 + inp / 1400) * rng.lognormal(0, 0.25, n)
    tpot = tpot_ms * rng.lognormal(0, 0.08, n)
    e2e = ttft + tpot * (out - 1)
    failed = set(rng.choice(n, size=fail, replace=False).tolist()) if fail else set()
    free_at = np.zeros(concurrency)  # ms at which each worker is free
    lines = ["request_id,start_s,ttft_ms,e2e_ms,input_tokens,output_tokens,error"]
    for i in range(n):
        w = int(np.argmin(free_at))
        start = free_at[w]
        if i in failed:
            free_at[w] = start + 30.0
            lines.append(f"{i},{start / 1000:.4f},,,{inp[i]},0,HTTP 503 Service Unavailable")
        else:
            free_at[w] = start + e2e[i]
            lines.append(f"{i},{start / 1000:.4f},{ttft[i]:.2f},{e2e[i]:.2f},{inp[i]},{out[i]},")
    return "\n".join(lines) + "\n"


def _template_text() -> str:
    return (templates_dir() / "new" / "case.yaml").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def scaffold_case() -> Case:
    """The example case ``casegen new`` writes (to spot its text left in a user's case)."""
    return parse_case(_template_text(), "casegen new: case.yaml")


@functools.lru_cache(maxsize=1)
def example_runs() -> dict[str, str]:
    """The synthetic runs ``casegen new`` writes (file name → CSV text), the same every time."""
    return {"baseline.csv": _example_run(1, 600, 180.0, 24.0, 3), "optimized.csv": _example_run(2, 600, 120.0, 17.0, 2)}


def new_case(directory: str | Path, *, force: bool = False) -> list[Path]:
    """Create a case folder; refuses to overwrite an existing case.yaml unless ``force``."""
    d = Path(directory)
    target = d / "case.yaml"
    if target.exists() and not force:
        raise CasegenError("a case already exists here", file=target, expected="a new folder (or --force to overwrite)")
    try:
        (d / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CasegenError(f"cannot create the folder ({err.strerror})", file=d) from None
    files = {
        target: _template_text(),
        d / "case.schema.json": json_schema(),
        **{d / "runs" / name: text for name, text in example_runs().items()},
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
