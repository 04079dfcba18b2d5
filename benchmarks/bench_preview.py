"""How fast ``casegen preview`` follows a save of case.yaml (targets live here, not in unit tests).

For each case (the FP8 example, and a synthetic case of 2 × N requests from ``synth.py``), starts
``casegen preview CASE --port 0`` as its own process, waits for the first build, then N times:
edits a prose key of case.yaml (the title), saves, and polls ``/__version`` every 10 ms until the
server has the new HTML; then fetches ``/report.html`` as the page's frame does. Printed per case:

* server refresh — save → new HTML ready (the watcher's poll interval, at most 0.1 s, included);
* page update — server refresh + the page's worst-case poll wait (0.2 s) + fetching the report:
  the time until the open page shows the change, at worst;
* the same for an edit that is not prose (an SLO threshold): runs are re-read and the analysis redone.

Targets: page update ≤ 1 s for the example and ≤ 2 s for 2 × 1,000,000 requests, after a prose edit.
The machine's load average is printed: on a shared machine, CPU contention inflates wall times.

Usage: python benchmarks/bench_preview.py [--n 1000000] [--edits 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
EXAMPLE = ROOT / "cases" / "h100-llama31-8b-fp8"


def _status(port: int) -> dict:
    with urlopen(f"http://127.0.0.1:{port}/__version", timeout=30) as r:
        return json.loads(r.read())


def _start(case: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "casegen", "preview", str(case), "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed after the first build
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not m:
        proc.kill()
        raise SystemExit(f"preview did not start: {line}{proc.stderr.read() if proc.stderr else ''}")
    return proc, int(m.group(1))


def _edit_and_wait(case: Path, port: int, old: str, new: str) -> tuple[float, float, bool]:
    """(server refresh s, fetch s, analysis reused) of one save."""
    before = _status(port)["version"]
    y = case / "case.yaml"
    text = y.read_text(encoding="utf-8")
    assert old in text, old
    t0 = time.perf_counter()
    y.write_text(text.replace(old, new, 1), encoding="utf-8")
    while True:
        st = _status(port)
        if st["version"] > before:
            break
        if time.perf_counter() - t0 > 300:
            raise SystemExit("no refresh within 300 s")
        time.sleep(0.01)
    refresh = time.perf_counter() - t0
    if st["error"]:
        raise SystemExit(f"rebuild failed: {st['error']}")
    t1 = time.perf_counter()
    with urlopen(f"http://127.0.0.1:{port}/report.html", timeout=30) as r:
        r.read()
    return refresh, time.perf_counter() - t1, bool(st["reused"])


def measure(label: str, case: Path, edits: int, env: dict[str, str], page_poll_s: float) -> list[str]:
    t = time.perf_counter()
    proc, port = _start(case, env)
    first = time.perf_counter() - t
    rows = []
    try:
        prose = [_edit_and_wait(case, port, 'title: "', f'title: "Edit {i}: ') for i in range(edits)]
        slo = [_edit_and_wait(case, port, "threshold_ms: ", f"threshold_ms: {i + 1}") for i in range(2)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for what, res in (("prose edit", prose), ("SLO edit (analysis redone)", slo)):
        refresh = [r[0] for r in res]
        page = [r[0] + page_poll_s + r[1] for r in res]
        reused = all(r[2] for r in res)
        rows.append(f"| {label} | {what} | {statistics.median(refresh):.2f} | {max(refresh):.2f} | "
                    f"{statistics.median(page):.2f} | {max(page):.2f} | {'yes' if reused else 'no'} |")
    rows.append(f"| {label} | first build (start-up) | {first:.2f} | | | | |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="requests per side of the synthetic case")
    ap.add_argument("--edits", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    from synth import make_case

    from casegen.app.preview import PAGE_POLL_MS

    work = args.workdir or Path(tempfile.mkdtemp(prefix="casegen-bench-preview-"))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    example = work / "example"
    if example.exists():
        shutil.rmtree(example)
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("build"))
    synth = make_case(work / "synth", args.n)
    load0 = os.getloadavg()[0]
    rows = ["| case | save | server refresh s (median) | max | page update s, worst case (median) | max | "
            "runs + analysis reused |", "|---|---|---:|---:|---:|---:|---|"]
    rows += measure("FP8 example (2 × 100)", example, args.edits, env, PAGE_POLL_MS / 1000)
    rows += measure(f"synthetic 2 × {args.n:,}", synth, args.edits, env, PAGE_POLL_MS / 1000)
    print(f"load average before {load0:.2f}, after {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
