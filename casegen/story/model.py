"""The story's types: a finding (one claim with its evidence, verdict and strength), a page-1 card,
page 1's selection and a threat in reader language. The Report (``casegen.report.model``) carries them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["better", "worse", "same", "na"]
Strength = Literal["significant", "exploratory", "not_significant", "point_only", "bound", "judged"]
BoundKind = Literal["point", "at_least", "at_most", "below", "between", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)


class Evidence(_Model):
    """The numbers behind a finding."""

    metric: str = Field(description="Registry key: ttft, tpot, itl, e2e, requests_per_s, capacity_rps, "
                                    "usd_per_million_output_tokens, usd_per_month, slo_attainment …")
    stat: str | None = Field(None, description="mean, p50 … p99, or null")
    unit: str = Field(description="Unit of baseline / optimized (a casegen.formatting unit: ms, req/s, usd, share …)")
    baseline: float | None = Field(None, description="Baseline value (lower end when it is a bound)")
    optimized: float | None = Field(None, description="Optimized value (lower end when it is a bound)")
    baseline_upper: float | None = Field(None, description="Upper end of a baseline range (bounds only)")
    optimized_upper: float | None = Field(None, description="Upper end of an optimized range (bounds only)")
    baseline_bound: BoundKind = Field("point", description="How the baseline value is known")
    optimized_bound: BoundKind = Field("point", description="How the optimized value is known")
    change_abs: float | None = Field(None, description="optimized − baseline, in unit")
    change_pct: float | None = Field(None, description="(optimized − baseline) / baseline × 100")
    ratio: float | None = Field(None, description="optimized / baseline when that is the claim (capacity)")
    ratio_low: float | None = Field(None, description="Lower end of the ratio when it is a range or bound, or of the range two interpolated capacities allow around the estimate (each anywhere between its load points)")
    ratio_high: float | None = Field(None, description="Upper end of the ratio (null: unbounded)")
    ratio_bound: BoundKind = Field("point", description="How the ratio is known")
    ci_abs: list[float] | None = Field(None, description="Interval of change_abs at `confidence` (valid intervals only)")
    ci_pct: list[float] | None = Field(None, description="Interval of change_pct at `confidence` (valid intervals only)")
    confidence: float | None = Field(None, description="Confidence level of the interval")
    n_baseline: int | None = Field(None, description="Sample size behind the baseline value")
    n_optimized: int | None = Field(None, description="Sample size behind the optimized value")
    significant: bool | None = Field(None, description="The interval excludes zero (null: no interval)")
    supported: bool = Field(True, description="The statistic has a valid interval at this n (false: † point value only)")
    family: Literal["primary", "exploratory"] | None = Field(
        None, description="primary: SLO-named statistic, corrected for multiplicity; exploratory: everything else")
    p_value: float | None = Field(None, description="p-value of the change, when the statistics provide one")
    p_adjusted: float | None = Field(None, description="multiplicity-adjusted p-value (primary family)")
    note: str = Field("", description="Why the figure has no interval, when it has none")
    operating_point: str = Field("", description="Where the figure holds: 'fixed concurrency 16', "
                                                 "'offered rate 2 req/s', 'capacity at SLO' …")


class Finding(_Model):
    """One claim the evidence supports, with how strongly."""

    key: str = Field(description="Stable id, e.g. 'latency:tpot:p95', 'slo:0', 'capacity', 'cost:per_token'")
    kind: Literal["latency", "slo", "capacity", "throughput", "cost", "workload", "segment"]
    claim: str = Field(description="One sentence in reader language")
    title: str = Field(description="Card title, e.g. 'TTFT p95'")
    value: str = Field(description="Card value, formatted, e.g. '−12%', '≥ 1.35×', 'no significant change'")
    detail: str = Field(description="Card detail line: values, interval, n, operating point")
    verdict: Verdict = Field(description="better | worse | same | na (colour on page 1)")
    strength: Strength = Field(description="significant (primary, corrected) | exploratory (interval excludes 0, "
                                           "uncorrected) | not_significant | point_only (†) | bound | judged (SLO verdict)")
    regression: bool = Field(False, description="A worsening significant after the family's correction (a primary "
                                                "latency statistic), an SLO attainment that fell significantly, or a "
                                                "cost that is a loss: always on page 1")
    missed: bool = Field(False, description="An objective the optimized side misses (also when both sides miss it): "
                                            "always on page 1")
    evidence: Evidence


class Card(_Model):
    """A page-1 card: a finding's title, value and detail, in its verdict colour."""

    finding: str = Field(description="key of the finding")
    title: str
    value: str
    detail: str
    verdict: Verdict
    regression: bool = False


class Page1(_Model):
    """What page 1 (cards, 'In short'), the one-pager, the portfolio card and `compare` show,
    selected from `findings` by the rules in docs/findings.md."""

    cards: list[Card] = Field(description="Headline cards, in order (rules 1–3)")
    regressions: list[Card] = Field(description="Every regression not already a card (rule 4), regression colour")
    missed: list[Card] = Field(default_factory=list,
                               description="Every objective the optimized side misses, not already a card (rule 4)")
    caveats: list[str] = Field(default_factory=list,
                               description="Every major threat to validity, by title (acknowledged ones say so): "
                                           "on page 1 beside the cards, never only further down")
    in_short: str = Field(description="The 'In short' paragraph")
    cost_basis: str | None = Field(None, description="Which monthly figure is the headline, and why")
    selected: list[str] = Field(description="keys of every finding page 1 shows, cards then regressions")
    hero_statistics: list[str] = Field(
        default_factory=list,
        description="What page 1's picture draws for one fixed load with objectives, 'metric:stat' each in the "
                    "objectives' order: the statistic of that metric's card (the objective's own percentile, or the "
                    "card's fallback when that has no interval), so the card and the picture show the same figure")


class ThreatItem(_Model):
    """A threat to validity, in reader language (fix instructions go to the CLI, not the report)."""

    key: str
    severity: Literal["major", "minor"]
    title: str
    reasons: list[str]
    sides: list[str]
    acknowledged: str | None = Field(None, description="The case author's reason when case.yaml's accept: "
                                     "acknowledges this threat (it is still listed; --strict passes it)")
