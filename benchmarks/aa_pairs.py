"""A/A pairs: casegen on every ordered pair of runs of one unchanged server, and what page 1 says.

    PYTHONPATH=. python benchmarks/aa_pairs.py RUNS_DIR [--warmup auto] [--json out.json]

RUNS_DIR holds ``<tool>/<mode>-<load>-runN/`` folders (tools/make_aa_fixtures.sh layout: AIPerf
``profile_export.jsonl`` or GuideLLM ``benchmarks.json``); ``mode`` is ``closed`` or ``open``. Every
ordered pair (a, b), a ≠ b, of one tool and load is a case "a → b" where nothing changed, so page 1
should say "no change". Counted per tool and load:

* ``regression``: page 1 lists a regression ("Worse after the change");
* ``coloured_throughput``: a throughput card is coloured better/worse without an interval that excludes 0;
* ``throughput_card_significant``: a throughput card coloured because its interval excludes 0 (allowed by
  the rules, but in an A/A pair it means the runs' throughput really differed — e.g. a shared machine);
* ``contradiction``: a card's text contradicts its interval ("includes 0" next to an interval that
  excludes 0, or a coloured card whose finding has no interval);
* open-loop only: share of requests trimmed as warm-up, and how many of the 25 latency statistics
  (5 metrics × mean/p50/p90/p95/p99) of each run get an interval.

Works with the casegen on PYTHONPATH (run it on the old and the new code to compare).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

CASE = """title: "A/A {tool} {mode} {a} vs {b}"
author: "benchmarks/aa_pairs.py"
date: 2026-12-07
summary: "two runs of one unchanged test-server process"
system: {{model: "test-model", hardware: "CPU", serving_stack: "tools/testserver.py"}}
workload: {{description: "128-word prompts, 32 output tokens"}}
runs:
  baseline: {{path: "{pa}", label: "{a}"}}
  optimized: {{path: "{pb}", label: "{b}"}}
{analysis}"""


def run_file(folder: Path) -> Path:
    for name in ("profile_export.jsonl", "benchmarks.json"):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"no run file in {folder}")


def runs_by_group(root: Path) -> dict[tuple[str, str], list[Path]]:
    out: dict[tuple[str, str], list[Path]] = {}
    for tool_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for run_dir in sorted(p for p in tool_dir.iterdir() if p.is_dir()):
            mode = run_dir.name.split("-", 1)[0]
            if mode in ("closed", "open"):  # one group per load: the name without its "-runN"
                out.setdefault((tool_dir.name, run_dir.name.rsplit("-run", 1)[0]), []).append(run_dir)
    return out


def card_problems(report, findings_by_key) -> tuple[bool, bool]:
    """(coloured throughput without an interval excluding 0, some card contradicts its interval)."""
    coloured_tp = contradiction = False
    for card in report.page1.cards:
        f = findings_by_key.get(card.finding)
        if f is None:
            continue
        ev = f.evidence
        ci = ev.ci_pct or ev.ci_abs
        excludes = bool(ci) and (ci[0] > 0 or ci[1] < 0)
        if card.verdict in ("better", "worse") and not (ev.supported and ci):
            contradiction = True
            if f.kind == "throughput":
                coloured_tp = True
        if f.kind == "throughput" and card.verdict in ("better", "worse") and not excludes:
            coloured_tp = True
        if "includes 0" in (card.detail or "") and excludes:
            contradiction = True
    return coloured_tp, contradiction


def evaluate(root: Path, warmup: str | None, open_warmup: str | None = None) -> dict:
    from casegen.analysis.study import analyze
    from casegen.case.model import load_case
    from casegen.report.build import build_report

    result: dict = {}
    for (tool, group), dirs in runs_by_group(root).items():
        w = open_warmup if open_warmup and group.startswith("open") else warmup
        analysis = f"analysis: {{warmup: {w}}}\n" if w else ""
        stats = {"pairs": 0, "regression": 0, "coloured_throughput": 0, "contradiction": 0,
                 "throughput_card_significant": 0,
                 "examples": [], "trimmed_share": {}, "stats_with_interval": {}}
        for a, b in itertools.permutations(dirs, 2):
            with tempfile.TemporaryDirectory() as tmp:
                case_dir = Path(tmp)
                (case_dir / "case.yaml").write_text(CASE.format(
                    tool=tool, mode=group, a=a.name, b=b.name, pa=run_file(a), pb=run_file(b), analysis=analysis))
                case, d = load_case(case_dir)
                study = analyze(case, d)
                report = build_report(study)
            by = {f.key: f for f in report.findings}
            stats["pairs"] += 1
            if report.page1.regressions:
                stats["regression"] += 1
                stats["examples"].append(f"{a.name}→{b.name}: " + "; ".join(
                    f"{c.title} {c.value}" for c in report.page1.regressions))
            tp, contra = card_problems(report, by)
            stats["throughput_card_significant"] += any(
                by[c.finding].kind == "throughput" and c.verdict in ("better", "worse") for c in report.page1.cards
                if c.finding in by)
            stats["coloured_throughput"] += tp
            stats["contradiction"] += contra
            for side, run_dir in (("baseline", a), ("optimized", b)):
                t = getattr(study, "transients", {}).get(side)
                if t is not None:
                    stats["trimmed_share"][run_dir.name] = round(t.share if t.applied else 0.0, 3)
                iv = study.intervals.get(side)
                if iv is not None:
                    n = sum(1 for m in ("ttft", "tpot", "itl", "e2e", "decode")
                            for s in ("mean", "p50", "p90", "p95", "p99")
                            if (iv.intervals.get(m) or {}).get(s) is not None)
                    stats["stats_with_interval"][run_dir.name] = n
        result[f"{tool}/{group}"] = stats
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--warmup", default=None, help="analysis.warmup for every case (e.g. auto)")
    ap.add_argument("--open-warmup", default=None, help="analysis.warmup for open-loop cases only (e.g. auto)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    res = evaluate(args.root, args.warmup, args.open_warmup)
    for group, s in res.items():
        print(f"{group}: {s['pairs']} pairs; page-1 regression {s['regression']}, coloured throughput "
              f"{s['coloured_throughput']}, contradictory card {s['contradiction']}, throughput card coloured with "
              f"an interval that excludes 0 {s['throughput_card_significant']}")
        if s["trimmed_share"]:
            print(f"  trimmed share per run: {s['trimmed_share']}")
        print(f"  statistics with an interval (of 25) per run: {s['stats_with_interval']}")
        for e in s["examples"][:3]:
            print(f"  e.g. {e}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
