"""A/A pairs of real runs: two runs of one unchanged test-server process, so page 1 must say "no change".

Fixtures: tests/fixtures/aa/<tool>/<version>/{closed-c8-runN, open-r30-runN}/ — AIPerf and GuideLLM
against ONE tools/testserver.py process (tools/make_aa_fixtures.sh; PROVENANCE in each folder).
Every ordered pair of runs of one tool and one load is a case; closed-loop cases use the defaults,
open-loop ones (Poisson arrivals at 88 % of capacity, mostly a ramp from an empty queue) use
``analysis.warmup: auto`` (MSER-5). benchmarks/aa_pairs.py counts the same over all the runs made.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from pathlib import Path

import pytest

from casegen.analysis.study import analyze
from casegen.case.model import load_case
from casegen.report.build import build_report

AA = Path(__file__).resolve().parent / "fixtures" / "aa"
CASE = """title: "A/A {a} vs {b}"
author: "test"
date: 2026-12-07
summary: "two runs of one unchanged test-server process"
system: {{model: "test-model", hardware: "CPU", serving_stack: "tools/testserver.py"}}
workload: {{description: "128-token prompts, 32 output tokens"}}
runs:
  baseline: {{path: "{pa}", label: "{a}"}}
  optimized: {{path: "{pb}", label: "{b}"}}
{analysis}"""


def _run_file(d: Path) -> Path:
    return next(p for p in (d / "profile_export.jsonl", d / "benchmarks.json") if p.exists())


def _pairs() -> list[tuple[Path, Path]]:
    out = []
    for version_dir in sorted(p for p in AA.glob("*/*") if p.is_dir()):
        for mode in ("closed", "open"):
            runs = sorted(p for p in version_dir.iterdir() if p.is_dir() and p.name.startswith(mode))
            out += list(itertools.permutations(runs, 2))
    return out


PAIRS = _pairs()


def _id(pair: tuple[Path, Path]) -> str:
    a, b = pair
    return f"{a.parent.parent.name}-{a.name}-{b.name.rsplit('-', 1)[-1]}"


@lru_cache(maxsize=None)
def _report(a: Path, b: Path, tmp: Path):
    d = tmp / f"{a.parent.parent.name}-{a.name}-{b.name}"
    d.mkdir(parents=True, exist_ok=True)
    analysis = "analysis: {warmup: auto}\n" if a.name.startswith("open") else ""
    (d / "case.yaml").write_text(CASE.format(a=a.name, b=b.name, pa=_run_file(a), pb=_run_file(b),
                                             analysis=analysis), encoding="utf-8")
    # the test wrote this case and names the repository's fixtures by path: trusted (issue 22's rule)
    case, folder = load_case(d, trust_paths=True)
    study = analyze(case, folder, trust_paths=True)
    return study, build_report(study)


@pytest.fixture(scope="module")
def tmp_cases(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("aa")


def test_the_fixtures_hold_enough_pairs():
    tools = {a.parent.parent.name for a, _ in PAIRS}
    assert tools == {"aiperf", "guidellm"}
    for tool in tools:
        for mode in ("closed", "open"):
            n = sum(1 for a, _ in PAIRS if a.parent.parent.name == tool and a.name.startswith(mode))
            assert n >= 6, (tool, mode, n)  # ≥ 3 runs: ≥ 6 ordered pairs


def test_page1_lists_a_regression_in_at_most_5_percent_of_pairs(tmp_cases):
    flagged = [_id(p) for p in PAIRS if _report(*p, tmp_cases)[1].page1.regressions]
    # with 24 pairs, 5 % allows one
    assert len(flagged) <= 0.05 * len(PAIRS), flagged


@pytest.mark.parametrize("pair", PAIRS, ids=_id)
def test_no_card_contradicts_its_interval(pair, tmp_cases):
    study, report = _report(*pair, tmp_cases)
    by = {f.key: f for f in report.findings}
    for card in report.page1.cards:
        f = by[card.finding]
        ev = f.evidence
        ci = ev.ci_pct or ev.ci_abs
        excludes = bool(ci) and (ci[0] > 0 or ci[1] < 0)
        if card.verdict in ("better", "worse"):
            # coloured only with an interval that excludes 0 (throughput included)
            assert ev.supported and excludes, (card.title, card.value, card.detail)
        if "includes 0" in card.detail:
            assert ci and not excludes, (card.title, card.detail)
        if card.value.endswith("†"):
            assert "CI" not in card.detail and card.verdict == "na"
    for f in report.findings:
        if f.kind == "throughput" and f.verdict in ("better", "worse"):
            assert f.evidence.supported and f.evidence.ci_pct and (f.evidence.ci_pct[0] > 0 or f.evidence.ci_pct[1] < 0)


@pytest.mark.parametrize("pair", [p for p in PAIRS if p[0].name.startswith("open")], ids=_id)
def test_open_loop_runs_get_intervals_on_their_steady_part_or_say_why_not(pair, tmp_cases):
    study, report = _report(*pair, tmp_cases)
    for side in ("baseline", "optimized"):
        t = study.transients[side]
        assert t.applied and t.method == "MSER-5"
        iv = study.intervals[side]
        shown = [(m, s) for m, row in iv.intervals.items() for s, ci in row.items() if ci is not None]
        withheld = [(m, s) for m, row in iv.intervals.items() for s, ci in row.items() if ci is None]
        # every withheld statistic says why
        assert all(iv.reasons.get(m, {}).get(s) for m, s in withheld)
        # how much was trimmed and why is in the threats (or no transient was found)
        keys = {th.key for th in study.threats if th.side == side}
        if t.requests_trimmed:
            assert "warmup-transient" in keys
        if not t.steady:
            assert "no-steady-state" in keys
        assert shown or withheld
    # a † card names its reason in the findings' notes
    by = {f.key: f for f in report.findings}
    for card in report.page1.cards:
        f = by[card.finding]
        if f.kind == "latency" and not f.evidence.supported:
            assert f.evidence.note
