"""How casegen's cost grows with the number of requests (targets live here, not in unit tests).

Runs, each as a separate process measured with ``os.wait4`` (wall time, user + system CPU time of
the process and any children it waited for, interpreter start-up included; peak resident memory):

1. the yardsticks on the example's two vLLM files and ``casegen build`` of the example, alternated
   ``--pair-repeat`` times (at least 5; this machine's CPU speed drifts by ±20 % between runs), and
   the CPU ratio of the medians:

   - ``hand_pipeline.py``, the issue's yardstick: a verbatim copy of ``../shared/bench/hand_pipeline.py``
     (checked against it when that file is present): NumPy percentiles, three matplotlib SVG charts,
     a Jinja HTML page, a WeasyPrint PDF; it writes ``OUT.html`` and ``OUT.pdf``;
   - ``notebook_baseline.py``, the repository's older yardstick (pandas percentiles, three charts,
     a string template, WeasyPrint);
   - ``casegen build CASE -o OUT --format html,pdf -q``: the same two outputs the yardsticks write
     (no summary.json), from the same two files;

2. ``casegen build`` (HTML + PDF + JSON) of synthetic cases (``synth.py``) with 10k, 100k and 1M
   requests per side without chunk gaps and 10k and 100k with ~150 chunk gaps per request;
3. ``casegen portfolio`` of 20 copies of the example (are both cores busy?).

and prints a Markdown table plus the growth exponent between sizes (CPU ∝ n^k: k = 1 is linear).
Every child runs with bytecode cached outside the source tree, as an installed package would
(after one warm-up run of each program, which also fills casegen's compiled-template cache in
``$XDG_CACHE_HOME/casegen/templates``, as any earlier build on the machine has).
CPU time is the figure to compare on a shared machine; wall time includes waiting for a core.
The load average before and after is printed so contention is visible.

Targets (2-core machine): example ≤ 1.5× the hand pipeline's CPU (medians); 2 × 1M requests ≤ 30 s
and ≤ 3 GiB; 2 × 100k requests with ~150 chunk gaps ≤ 30 s; linear (or n log n) growth.

Usage: python benchmarks/bench_scale.py [--workdir DIR] [--sizes 10000,100000,1000000]
                                        [--gap-sizes 10000,100000] [--repeat 1] [--pair-repeat 7]
                                        [--portfolio 20] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent

EXAMPLE = ROOT / "cases" / "h100-llama31-8b-fp8"
HAND = Path(__file__).resolve().parent / "hand_pipeline.py"
#: the shared original of HAND, where this checkout sits beside it (/work/main or /work/wt/issueNN)
HAND_ORIGINALS = [ROOT.parent / "shared" / "bench" / "hand_pipeline.py",
                  ROOT.parent.parent / "shared" / "bench" / "hand_pipeline.py"]


@dataclass
class Measure:
    label: str
    n: int | None  # requests per side
    wall_s: float
    cpu_s: float
    peak_mib: float
    html_kib: float | None = None
    ok: bool = True
    cpu_median_s: float | None = None


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, int]:
    """(wall s, user+sys CPU s, peak RSS MiB, exit status) of one child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        print(f"  ! {' '.join(cmd[:4])} … exited {proc.returncode}:\n{err[-2000:]}", file=sys.stderr)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def casegen_env(pycache: Path) -> dict[str, str]:
    """The environment of every measured child: casegen from this checkout, and bytecode cached
    (in ``pycache``, outside the source tree) as it is for an installed wheel — a machine that sets
    PYTHONDONTWRITEBYTECODE would otherwise recompile casegen's modules on every run."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def build_cmd(case: Path, out: str, formats: str | None = None) -> list[str]:
    return [sys.executable, "-m", "casegen", "build", str(case), "-o", out, "-q"] + (
        ["--format", formats] if formats else [])


def example_cmd(out: str) -> list[str]:
    """The example build compared with the yardsticks: HTML and PDF, as they write."""
    return build_cmd(EXAMPLE, out, "html,pdf")


def notebook_cmd(out: str) -> list[str]:
    runs = EXAMPLE / "runs"
    return [sys.executable, str(Path(__file__).parent / "notebook_baseline.py"),
            str(runs / "fp16-baseline.json"), str(runs / "fp8-optimized.json"), out]


def hand_cmd(out: str) -> list[str]:
    runs = EXAMPLE / "runs"
    return [sys.executable, str(HAND), str(runs / "fp16-baseline.json"), str(runs / "fp8-optimized.json"),
            str(Path(out) / "report")]


def check_hand_copy() -> None:
    """Stop when the vendored hand pipeline differs from the shared original beside this checkout."""
    for original in HAND_ORIGINALS:
        if original.is_file():
            ours, theirs = (hashlib.sha256(p.read_bytes()).hexdigest() for p in (HAND, original))
            if ours != theirs:
                sys.exit(f"{HAND} differs from {original}: copy it again (the yardstick must be the same)")
            print(f"hand pipeline: {HAND.name} = {original} (sha256 {ours[:12]}…)")
            return
    print(f"hand pipeline: {HAND.name} (no shared original beside this checkout to check it against)")


def measure_once(label: str, cmd_for: Callable[[str], list[str]], n: int | None, env: dict[str, str]) -> Measure:
    with tempfile.TemporaryDirectory() as out:
        wall, cpu, peak, rc = run_measured(cmd_for(out), env)
        html = Path(out) / "report.html"
        return Measure(label, n, wall, cpu, peak, html.stat().st_size / 1024 if html.exists() else None, rc == 0)


def best_of(samples: list[Measure]) -> Measure:
    """The run with the lowest CPU time (the least disturbed by other work), with the median kept."""
    best = min(samples, key=lambda m: m.cpu_s)
    best.cpu_median_s = statistics.median(m.cpu_s for m in samples)
    return best


def measure_build(label: str, case: Path, n: int | None, repeat: int, env: dict[str, str]) -> Measure:
    return best_of([measure_once(label, lambda out: build_cmd(case, out), n, env) for _ in range(repeat)])


def measure_pair(repeat: int, env: dict[str, str]) -> tuple[Measure, Measure, Measure]:
    """The hand pipeline, the notebook and the example build (HTML + PDF each), alternated so drift
    in the machine's speed hits all three."""
    hand: list[Measure] = []
    nb: list[Measure] = []
    ex: list[Measure] = []
    for _ in range(repeat):
        hand.append(measure_once("hand pipeline (example)", hand_cmd, 100, env))
        nb.append(measure_once("notebook pipeline (example)", notebook_cmd, 100, env))
        ex.append(measure_once("casegen build --format html,pdf (example)", example_cmd, 100, env))
    for m in hand:  # the hand pipeline names its outputs OUT/report.html and .pdf: measure_once found them
        m.ok = m.ok and m.html_kib is not None
    return best_of(hand), best_of(nb), best_of(ex)


def measure_portfolio(workdir: Path, cases: int, env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of ``casegen portfolio`` over ``cases`` copies of the example; CPU ÷ wall
    near the core count means every core was busy."""
    root = workdir / f"portfolio-{cases}"
    if not root.exists():
        for i in range(cases):
            shutil.copytree(EXAMPLE, root / f"case-{i:02d}")
    with tempfile.TemporaryDirectory() as out:
        wall, cpu, _, _ = run_measured([sys.executable, "-m", "casegen", "portfolio",
                                        *sorted(str(p) for p in root.iterdir()), "-o", out, "-q"], env)
    return wall, cpu


def table(rows: list[Measure], yardstick: Measure) -> str:
    """Best (least disturbed) CPU of each run and its ratio to the yardstick's best."""
    out = ["| run | requests per side | wall s | CPU s | CPU ÷ hand pipeline | peak MiB | HTML KiB |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for m in rows:
        ratio = m.cpu_s / yardstick.cpu_s if yardstick.cpu_s else math.nan
        out.append(f"| {m.label}{'' if m.ok else ' (FAILED)'} | {m.n:,} | {m.wall_s:.1f} | {m.cpu_s:.1f} | "
                   f"{ratio:.2f}× | {m.peak_mib:,.0f} | {m.html_kib:,.0f} |" if m.html_kib is not None else
                   f"| {m.label} | {m.n:,} | {m.wall_s:.1f} | {m.cpu_s:.1f} | {ratio:.2f}× | {m.peak_mib:,.0f} | — |")
    return "\n".join(out)


def growth(rows: list[Measure]) -> list[str]:
    """Exponent k in CPU ∝ n^k between consecutive sizes of one series (k = 1: linear)."""
    lines = []
    for a, b in zip(rows, rows[1:]):
        if a.n and b.n and b.n > a.n and a.cpu_s > 0 and b.cpu_s > 0:
            k = math.log(b.cpu_s / a.cpu_s) / math.log(b.n / a.n)
            lines.append(f"{a.label} → {b.label}: CPU ×{b.cpu_s / a.cpu_s:.1f} for ×{b.n // a.n} requests "
                         f"(exponent {k:.2f}); {b.cpu_s / (2 * b.n) * 1e6:.1f} µs CPU per request at {b.n:,}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "casegen-bench",
                    help="where synthetic cases are written (kept and reused between runs)")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--gap-sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the lowest CPU time is kept")
    ap.add_argument("--pair-repeat", type=int, default=7,
                    help="alternating runs of the yardsticks and the example build (default 7, at least 5)")
    ap.add_argument("--portfolio", type=int, default=20, metavar="N",
                    help="also time `casegen portfolio` of N copies of the example (0: skip; default 20)")
    ap.add_argument("--quick", action="store_true", help="only the example and the notebook baseline")
    args = ap.parse_args()
    if args.pair_repeat < 5:
        ap.error("--pair-repeat must be at least 5 (the ratio is of medians)")
    check_hand_copy()
    sizes = [int(s) for s in args.sizes.split(",") if s] if not args.quick else []
    gap_sizes = [int(s) for s in args.gap_sizes.split(",") if s] if not args.quick else []

    cores = os.cpu_count()
    print(f"machine: {cores} cores; load average before {os.getloadavg()[0]:.1f}; this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (children's peaks start there)")
    # each synthetic case is written by a child process: a child's peak memory (ru_maxrss) starts
    # from its parent's resident size at fork, so this process must stay small
    for n, gaps in [(n, False) for n in sizes] + [(n, True) for n in gap_sizes]:
        subprocess.run([sys.executable, str(Path(__file__).parent / "synth.py"), str(args.workdir), str(n)]
                       + (["--gaps"] if gaps else []), check=True, stdout=subprocess.DEVNULL)

    env = casegen_env(args.workdir / "pycache")
    measure_once("warm-up", example_cmd, 100, env)  # bytecode and template caches, page cache
    measure_once("warm-up", notebook_cmd, 100, env)
    measure_once("warm-up", hand_cmd, 100, env)
    hand, notebook, example = measure_pair(args.pair_repeat, env)
    plain = [measure_build(f"casegen build, {n:,} requests", args.workdir / f"synthetic-{n}", n, args.repeat, env)
             for n in sizes]
    gaps = [measure_build(f"casegen build, {n:,} requests + chunk gaps", args.workdir / f"synthetic-{n}-gaps", n,
                          args.repeat, env) for n in gap_sizes]
    folio = measure_portfolio(args.workdir, args.portfolio, env) if args.portfolio and not args.quick else None
    print(f"load average after {os.getloadavg()[0]:.1f}\n")
    print(table([hand, notebook, example] + plain + gaps, hand))
    print()
    assert example.cpu_median_s and hand.cpu_median_s and notebook.cpu_median_s
    print(f"example CPU ÷ hand pipeline CPU: {example.cpu_median_s / hand.cpu_median_s:.2f}× of the medians of "
          f"{args.pair_repeat} alternating runs ({example.cpu_median_s:.2f} s ÷ {hand.cpu_median_s:.2f} s; best "
          f"{example.cpu_s / hand.cpu_s:.2f}×) (target ≤ 1.5×)")
    print(f"example CPU ÷ notebook CPU: {example.cpu_median_s / notebook.cpu_median_s:.2f}× of the medians "
          f"({example.cpu_median_s:.2f} s ÷ {notebook.cpu_median_s:.2f} s)")
    for m in plain + gaps:
        if m.n == 1_000_000 and "gaps" not in m.label:
            print(f"2 × 1M requests: {m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU, {m.peak_mib:,.0f} MiB "
                  f"(target ≤ 30 s, ≤ 3072 MiB)")
        if m.n == 100_000 and "gaps" in m.label:
            print(f"2 × 100k requests with chunk gaps: {m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU (target ≤ 30 s)")
    for line in growth(plain) + growth(gaps):
        print(line)
    if folio is not None:
        wall, cpu = folio
        print(f"casegen portfolio of {args.portfolio} cases: {wall:.1f} s wall, {cpu:.1f} s CPU, CPU ÷ wall "
              f"{cpu / wall:.2f} on {cores} cores (near {cores}: every core busy)")


if __name__ == "__main__":
    main()
