"""Typed blocks of the Report that carry what the author stated and how the runs were made:
``case`` (the author's own words and settings from case.yaml, as written), ``setup`` (each side's
run as its file records it), ``spread`` (each repetition's headline statistics), ``reproduce``
(what a reader needs to rerun the comparison) and ``inputs`` (every file read, with its SHA-256).

With these the templates read only the Report (and the drawn charts): nothing they show comes
from the Study or the raw case any more.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from casegen.story.model import _Model


class AuthorLinkText(_Model):
    label: str
    url: str


class SystemText(_Model):
    model: str
    hardware: str
    serving_stack: str
    notes: str | None


class WorkloadText(_Model):
    description: str
    dataset: str | None


class TradeOffText(_Model):
    """One trade-off as the author wrote it; its measured quality is ``quality[i]`` of the Report."""

    technique: str
    what_changed: str
    helps_when: str
    hurts_when: str
    risk: str | None
    step: str | None
    quality_unit: str | None = Field(description="Typed-in quality: the unit its scores are written in")
    quality_line: str | None = Field(description="lm-eval quality: one line naming the tasks and their verdict")


class AnalysisSettings(_Model):
    confidence: float
    slo_confidence: float
    bootstrap_resamples: int
    percentile_method: str
    tpot_one_token: str
    capacity_attainment: float | None = Field(description="capacity.attainment: the share of requests that must "
                                                          "meet each objective; null: each at its own percentile")


class CostInputs(_Model):
    """The cost assumptions the figures in ``cost`` rest on, as case.yaml states them."""

    requests_per_month: float
    peak_requests_per_s: float | None
    headroom: float = Field(description="Fraction of measured throughput a replica is planned at for the peak")
    monthly_basis: Literal["usage", "fleet"]
    one_time_cost_note: str | None
    price_source: str | None


class CaseText(_Model):
    """The author's words and settings, as written in case.yaml (shown as written, never computed)."""

    title: str
    author: str
    role: str
    links: list[AuthorLinkText]
    what_i_did: str
    date: dt.date
    summary: str
    tags: list[str]
    system: SystemText
    workload: WorkloadText
    notes: str
    url: str | None = Field(description="Where the full report is published (report.url)")
    tradeoffs: list[TradeOffText]
    analysis: AnalysisSettings
    cost: CostInputs | None


class RunSetup(_Model):
    """How one side's run was made, as its file records it."""

    backend: str | None
    run_date: str | None = Field(description="As the tool wrote it")
    load_text: str = Field(description="The offered load in words, e.g. 'rate 10 req/s, max concurrency 16'")
    token_source: str | None = Field(description="Where token counts come from (server usage, client tokenizer …)")
    repetitions: int = Field(description="Runs pooled into this side (1: a single run)")


class SpreadRow(_Model):
    """One headline statistic of each repetition of a side."""

    side: Literal["baseline", "optimized"]
    metric: str
    stat: str
    values: list[float | None]
    min: float
    max: float
    cv_pct: float | None


class ReproduceCell(_Model):
    text: str | None
    source: str = Field(description="\"case.yaml\", \"recorded by <tool>\", or \"\" when nobody recorded it")


class ReproduceRow(_Model):
    key: str
    label: str
    cells: list[ReproduceCell] = Field(description="baseline, optimized")


class ReproduceCommand(_Model):
    side: str
    text: str | None
    source: str
    settings: str


class Reproduce(_Model):
    """What a reader needs to rerun the comparison: case.yaml's ``reproduce:`` merged with what the
    tools' files record (never guessed)."""

    rows: list[ReproduceRow]
    commands: list[ReproduceCommand]
    missing: list[str] = Field(description="Fields nobody recorded")
    any: bool


class InputFile(_Model):
    side: str
    file: str = Field(description="Path relative to the case folder (the file name when outside it)")
    sha256: str | None
    format: str
    index: str | None = Field(description="Runs used from a multi-run file")


MODELS = (CaseText, AuthorLinkText, SystemText, WorkloadText, TradeOffText, AnalysisSettings, CostInputs, RunSetup,
          SpreadRow, Reproduce, ReproduceRow, ReproduceCell, ReproduceCommand, InputFile)
