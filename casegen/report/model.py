"""The typed Report model: what a report *says*, built once from a Study.

HTML, PDF and Markdown render from it (through the templates' context) and ``summary.json`` is its
dump (``Report.model_dump(by_alias=True)``), with the JSON Schema in ``schema/summary.schema.json``
and the field reference in ``docs/summary-json.md`` both generated from these classes
(``python -m casegen.report.model``; tests fail when either is stale).

Units are in the field names (``_ms``, ``_pct``, ``_usd``, ``_rps``). Every block is typed (no
``Any``): the figure blocks in :mod:`casegen.report.figures`, findings, page 1 and threats in
:mod:`casegen.story.model`.

Adding a report section = a field here + one builder (a function ``Study → that field``) + one
HTML and one Markdown template under ``templates/sections/`` (listed in ``SECTIONS`` of
``casegen.render.sections``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from casegen.analysis.cheapwin import CheapWin, IntendedChange
from casegen.analysis.segments import Crossover, Segment, SegmentAxis, Segments
from casegen.analysis.teardown import DecodeLevel, DecodeSlowdown, PrefillFit, RunTeardown, Teardown
from casegen.report import figures, setup
from casegen.report.figures import (
    CostFigures,
    Deltas,
    QualityFigures,
    RunFigures,
    SideIntervals,
    SideSLOResults,
    SweepFigures,
)
from casegen.report.setup import CaseText, InputFile, Reproduce, RunSetup, SpreadRow
from casegen.story.model import Card, Evidence, Finding, Page1, ThreatItem, _Model

SCHEMA_ID = "casegen.summary/5"

class Labels(_Model):
    baseline: str
    optimized: str


class SLOSpec(_Model):
    """An objective as case.yaml states it."""

    metric: str = Field(description="Latency metric key (ttft, tpot, itl, e2e)")
    percentile: float = Field(description="Percentile the objective is stated at, e.g. 95")
    threshold_ms: float = Field(description="Upper bound in milliseconds")


class StatKey(_Model):
    metric: str
    stat: str


class AttainmentTest(_Model):
    metric: str
    percentile: float
    diff: float | None = Field(description="optimized − baseline attainment")
    p_value: float | None
    significant: bool
    unit: str = Field(description="requests (effective counts) or runs")
    withheld: str | None = Field(description="Why no test was made (a side looks saturated), else null")


class Multiplicity(_Model):
    """The confirmatory family and its correction (docs/statistics.md)."""

    primary_family: list[StatKey] = Field(description="The statistics tested together: the SLO-named ones and the medians")
    correction: Literal["closed", "holm"] = Field(
        description="Family-wise correction: closed (the closed test with the family's estimated correlation) or "
                    "holm (runs as the unit, or a statistic whose correlation is not estimated)")
    alpha: float = Field(description="1 − confidence")
    any_primary_significant: bool = Field(description="At least one primary statistic changed significantly")
    unit: Literal["requests", "runs"] = Field("requests", description="What an observation is: a request, or a whole "
                                                                 "run when each side has ≥ 3 repetitions")
    paired_runs: bool = Field(False, description="Interleaved repetitions paired by start time")
    slo_attainment_differences: list[AttainmentTest] = Field(
        default_factory=list, description="Per SLO: do the two sides' attainments differ (docs/statistics.md)")


class WorkloadRowModel(_Model):
    """One line of the like-for-like table (what was sent and served on each side)."""

    label: str
    base: str | bool | float | None = Field(description="Baseline value as recorded")
    opt: str | bool | float | None = Field(description="Optimized value as recorded")
    differs: bool
    detail: str = ""
    informational: bool = Field(False, description="A difference that does not invalidate the comparison by itself")
    equivalent: bool | None = Field(None, description="Equivalence test (TOST) of the mean: null when not tested")


class KS(_Model):
    d: float | None = Field(description="Kolmogorov–Smirnov statistic")
    p: float | None = Field(description="Its p-value")


class EquivalenceModel(_Model):
    mean_diff: float | None
    ci90: list[float | None]
    margin: float | None
    equivalent: bool


class WorkloadThreat(_Model):
    title: str
    reason: str


class Workload(_Model):
    """Whether the two sides served the same workload, and what stays comparable."""

    rows: list[WorkloadRowModel]
    ks: dict[str, KS] = Field(description="input / output token lengths")
    equivalence: dict[str, EquivalenceModel] = Field(description="input / output: TOST of the mean lengths")
    comparisons_still_valid: list[str]
    comparisons_note: str = Field("", description="How far those comparisons hold (e.g. different tools)")
    compared: bool = Field(True, description="False: the workloads could not be compared (no per-request data)")
    major_threats: list[WorkloadThreat] = Field(default_factory=list,
                                                description="Differences that make the runs not like-for-like")


class RungSLO(_Model):
    metric: str
    percentile: float
    verdict: str | None


class RungCapacity(_Model):
    requests_per_s: float | None
    bound: str
    text: str


class RungCost(_Model):
    usd_per_month: float | None
    usd_per_request: float | None


class LadderRung(_Model):
    """One rung of runs.steps: baseline, each step, optimized."""

    key: str
    label: str
    data: Literal["per-request", "summary"]
    latency_ms: dict[str, dict[str, float | None]]
    throughput: dict[str, float | None]
    slo_status: list[RungSLO] | None
    capacity: RungCapacity | None
    cost: RungCost | None
    one_time_cost_usd: float


class StepDelta(_Model):
    abs: float | None
    pct: float | None
    verdict: str = Field(description="The step finding's verdict (docs/findings.md)")
    ci_abs: list[float | None] | None
    ci_pct: list[float | None] | None
    significant: bool | None


class StepThroughput(_Model):
    abs: float | None
    pct: float | None


class StepSLOChange(_Model):
    metric: str
    percentile: float
    before: str | None
    after: str | None


class LadderStep(_Model):
    """One step (previous rung → this rung), judged by the page-1 rules."""

    index: int
    frm: str = Field(alias="from")
    to: str
    latency_ms: dict[str, dict[str, StepDelta]]
    throughput: dict[str, StepThroughput]
    slo_changes: list[StepSLOChange]
    capacity_ratio: float | None = Field(description="this rung's ÷ the previous rung's capacity figure as they "
                                         "are; the claim, bounds kept, is the step's capacity finding")
    saving_usd_per_month: float | None = Field(description="previous − this rung's monthly cost as the step "
                                               "compares them (saving_text says its bound)")
    one_time_cost_usd: float
    payback_months: float | None
    worse: list[str] = Field(description="What the step made worse (significant, or † point regressions)")
    better: list[str]
    findings: list[Finding]
    tradeoffs: list[str]
    saving_text: str | None = Field(None, description="The step's monthly saving in words, bounds kept (null: unpriced)")
    payback_text: str = Field("none", description="When the step's one-time cost pays back, in words")


class Ladder(_Model):
    compare_at_load: float | Literal["inf"] | None = Field(description="\"inf\": an unbounded rate")
    rungs: list[LadderRung]
    steps: list[LadderStep]
    findings: list[str] = Field(description="Every step regression, 'Step i (label): …'")
    notes: list[str]
    estimates_note: str | None = Field(None, description="Why the waterfall's bars (estimates at interpolated "
                                       "capacities) differ from the bounds; null when no bound counted an "
                                       "estimate at an end of its range")


class Report(_Model):
    """summary.json: every computed figure, the findings and what page 1 selected."""

    schema_id: str = Field(SCHEMA_ID, alias="schema", description="Layout version of this file")
    casegen_version: str
    title: str
    date: str = Field(description="Case date, ISO 8601")
    labels: Labels
    confidence: float = Field(description="Confidence level of every interval in the report")
    findings: list[Finding] = Field(description="Every finding, in the order of docs/findings.md")
    page1: Page1
    threats: list[ThreatItem] = Field(description="Grouped by key, major first")
    author_actions: list[str] = Field(default_factory=list,
                                      description="Fix instructions for the case author (printed by build/validate; "
                                                  "never in the report)")
    runs: dict[str, RunFigures] = Field(description="runs.<side>: source, model, load, requests, latency_ms, "
                                                    "throughput, tokens, split, parity, warnings")
    deltas: Deltas = Field(description="optimized − baseline of every latency statistic and throughput, with the "
                                       "findings' verdicts")
    slos: list[SLOSpec] = Field(description="The objectives, as case.yaml states them")
    notes: list[str] = Field(description="Data notes shown in the report")
    definitions: list[str] = Field(description="How each tool's names map onto casegen's")
    intervals: dict[str, SideIntervals] = Field(description="intervals.<side>: every interval and why one is missing")
    slo_results: dict[str, SideSLOResults] = Field(description="slo_results.<side>: attainment, goodput, "
                                                               "objectives[] with verdicts")
    workload: Workload
    sweep: SweepFigures | None = Field(description="null unless both sides are load sweeps")
    cost: CostFigures | None = Field(description="null without cost assumptions; self_host_vs_api: the break-even "
                                                    "volume against cost.compare_api (docs/cost.md)")
    multiplicity: Multiplicity
    quality: list[QualityFigures | None] = Field(
        default_factory=list, description="quality[] per trade-off: null, or {technique, source: typed | lm-eval, "
        "verdict, …}; lm-eval: tolerance, confidence, files, rows[].{task, metric, baseline, optimized, delta, ci, "
        "n_baseline, n_optimized, verdict, reason} (docs/quality.md)")
    ladder: Ladder | None = Field(None, description="null unless runs.steps (docs/ladder.md)")

    teardown: Teardown | None = Field(
        None, description="Where the time goes, per side: queue wait, prefill, decode, prefill rate, decode slowdown, "
        "bottleneck (docs/teardown.md); null without per-request runs with TTFT")
    segments: Segments | None = Field(
        None, description="Per-segment changes (prompt length, output length, load) with Bonferroni-corrected "
        "intervals (docs/segments.md)")
    crossovers: list[Crossover] = Field(default_factory=list,
                                        description="Where the change stops helping, with its bracket (docs/segments.md)")
    time_split: list[str] = Field(default_factory=list, description="Where the time goes: how mean E2E splits into "
                                  "the time before the first token and decode, and how each changed")
    so_what: str | None = Field(None, description="Page 1's one-sentence business consequence; null without an "
                                                  "established cost (story.so_what)")
    so_what_with_picture: bool = Field(False, description="The so-what line describes page 1's picture (a sweep's "
                                       "curve, a ladder's capacity waterfall) and stands above it; false: it "
                                       "follows the picture (story.so_what.describes_picture)")
    optimization: CheapWin | None = Field(
        None, description="optimization.kind other than serving: the intended changes, measured (docs/cheap-wins.md)")
    case: CaseText = Field(description="The author's words and settings, as written in case.yaml")
    setup: dict[str, RunSetup] = Field(description="setup.<side>: how the run was made, as its file records it")
    spread: list[SpreadRow] = Field(description="Each repetition's headline statistics (sides with several runs)")
    reproduce: Reproduce
    inputs: list[InputFile] = Field(description="Every file read, with its SHA-256")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


MODELS: tuple[type[BaseModel], ...] = (Report, Page1, Card, Finding, Evidence, ThreatItem, SLOSpec, Multiplicity,
                                        StatKey, AttainmentTest, Workload, WorkloadThreat, WorkloadRowModel, KS, EquivalenceModel, Ladder, LadderRung,
                                        RungSLO, RungCapacity, RungCost, LadderStep, StepDelta, StepThroughput,
                                        StepSLOChange,
                                        Teardown, RunTeardown, PrefillFit, DecodeSlowdown, DecodeLevel, Segments,
                                        SegmentAxis, Segment, Crossover, CheapWin, IntendedChange,
                                        *figures.MODELS, *setup.MODELS)


def json_schema() -> str:
    import json

    schema = Report.model_json_schema(by_alias=True)
    schema["$id"] = SCHEMA_ID
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _type(ann: Any) -> str:
    import typing

    text = str(ann) if not isinstance(ann, type) else ann.__name__
    text = re.sub(r"casegen(\.\w+)*\.", "", text.replace("typing.", ""))
    args = typing.get_args(ann)
    if typing.get_origin(ann) is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    return text.replace("|", "\\|")


def reference() -> str:
    """docs/summary-json.md, generated from the model."""
    from casegen.registry import METRICS, STATISTICS

    lines = [
        "# `summary.json`",
        "",
        "Generated from `casegen/report/model.py` by `python -m casegen.report.model`; the JSON Schema is",
        "`schema/summary.schema.json` (same source). `casegen build` writes the Report model's dump: stable",
        "key order, floats with 10 significant digits, `null` for anything that could not be computed",
        f"(NaN/∞ never appear). `schema` is `{SCHEMA_ID}`.",
        "",
        "Latencies are **milliseconds**, throughput per **second**, money **USD**; units are in field names.",
        "Findings and page 1 follow the rules in `docs/findings.md`.",
        "",
    ]
    for model in MODELS:
        lines += [f"## {model.__name__}", "", " ".join((model.__doc__ or "").split()), "",
                  "| field | type | description |", "|---|---|---|"]
        for name, info in model.model_fields.items():
            shown = info.alias or name
            desc = (info.description or "").replace("|", "\\|")
            lines.append(f"| `{shown}` | {_type(info.annotation)} | {desc} |")
        lines.append("")
    lines += ["## Metric and statistic keys", "", "| key | label | unit | better | definition |", "|---|---|---|---|---|"]
    for k, m in METRICS.items():
        lines.append(f"| `{k}` | {m.label} | {m.unit} | {m.direction} | {m.definition} |")
    lines += ["", "Statistics: " + ", ".join(f"`{k}`" for k in STATISTICS) + ".", ""]
    return "\n".join(lines)




if __name__ == "__main__":  # pragma: no cover
    import sys
    from pathlib import Path

    from casegen.report import model as _rm  # the importable module, not __main__ (type names in the docs)

    root = Path(__file__).resolve().parents[2]  # the source checkout
    (root / "schema" / "summary.schema.json").write_text(_rm.json_schema(), encoding="utf-8")
    (root / "docs" / "summary-json.md").write_text(_rm.reference(), encoding="utf-8")
    sys.stdout.write("wrote schema/summary.schema.json and docs/summary-json.md\n")
