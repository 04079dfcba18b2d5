"""Typed figure blocks of the Report (``runs``, ``deltas``, ``intervals``, ``slo_results``, ``sweep``,
``cost``, ``quality``): every computed figure summary.json carries, with its unit in the field name,
its interval or bound, and the verdict the findings decided.

Keys that range over the registry (metrics, statistics, throughput keys, sides) are mappings; every
other key is a field. ``extra="forbid"`` (inherited): a figure the builder adds without a field here
fails the build's tests instead of reaching summary.json undocumented.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from casegen.story.model import _Model

Interval = list[float | None]
"""[low, high]; either end null when it could not be computed."""

StatMap = dict[str, int | float | None]
"""statistic key (registry.STATISTICS, and n: the count) → value."""


# --- runs -----------------------------------------------------------------------------------------


class RunSource(_Model):
    """Which file a side's figures come from."""

    file: str = Field(description="File name (no folders)")
    sha256: str | None
    format: str = Field(description="Importer that read it (docs/formats.md)")
    tool: str | None
    tool_version: str | None
    run_index: int | None = Field(description="Which run of a multi-run file")
    data: Literal["per-request", "summary"]


class RunLoad(_Model):
    """The offered load as the tool recorded it."""

    request_rate: float | Literal["inf"] | None = Field(description="Requests per second; \"inf\": all at once")
    max_concurrency: int | None
    num_prompts: int | None


class RequestCounts(_Model):
    total: int | None
    succeeded: int | None
    failed: int | None
    error_rate: float | None = Field(description="failed / total")


class RunThroughput(_Model):
    requests_per_s: float | None
    output_tokens_per_s: float | None
    input_tokens_per_s: float | None
    total_tokens_per_s: float | None
    duration_s: float | None
    duration_source: str | None = Field(description="tool | timestamps")


class RunTokens(_Model):
    """Tokens per request (distribution) and in total."""

    input: StatMap | None
    output: StatMap | None
    input_total: float | None
    output_total: float | None


class TimeSplit(_Model):
    """Mean E2E split into before the first token and decode."""

    prefill_share: float | None
    decode_share: float | None
    mean_ttft_ms: float | None
    mean_decode_ms: float | None
    estimated: bool | None = Field(None, description="From means of a summary-only run")


class ParityItem(_Model):
    """casegen's recomputed figure beside the tool's printed one."""

    metric: str
    stat: str
    ours: float | None
    tool: float | None
    diff_pct: float | None
    flagged: bool = Field(description="|diff| > 1 %")
    cause: str | None = Field(description="Why they differ; \"unexplained\" when no known cause accounts for it")


class TransientSummary(_Model):
    """MSER-5 warm-up detection (docs/statistics.md)."""

    method: str
    requests: int
    requests_trimmed: int
    seconds: float | None
    seconds_trimmed: float | None
    by: str | None
    steady: bool
    applied: bool = Field(description="Trimmed (analysis.warmup: auto), or detected only")
    reason: str


class RunFigures(_Model):
    """One side's run: where it comes from, its load, and every figure measured on it."""

    source: RunSource
    model: str | None
    load: RunLoad
    requests: RequestCounts
    latency_ms: dict[str, StatMap] = Field(description="<metric>.<stat>; summary-only runs: what the tool printed")
    throughput: RunThroughput
    tokens: RunTokens
    split: TimeSplit
    one_token_responses: int | None = Field(description="Requests with exactly 1 output token (no TPOT)")
    percentile_method: str = Field(description="linear | mlperf | nearest | as printed by the tool")
    parity: list[ParityItem]
    warnings: list[str] = Field(description="What the importer noticed in the file")
    transient: TransientSummary | None = Field(description="null for summary-only runs")


# --- deltas ---------------------------------------------------------------------------------------


class LatencyDelta(_Model):
    """optimized − baseline of one latency statistic, with the finding's verdict."""

    abs: float | None = Field(description="Milliseconds")
    pct: float | None
    verdict: str = Field(description="The finding's: better/worse only when the interval excludes 0")
    ci_abs: Interval | None = Field(None, description="Interval of the change (ms); null when unsupported (†)")
    ci_pct: Interval | None = None
    significant: bool | None = None
    supported: bool | None = Field(None, description="False: one run cannot support an interval here (†)")
    family: Literal["primary", "exploratory"] | None = None
    p_value: float | None = None
    p_adjusted: float | None = Field(None, description="Adjusted within the primary family (multiplicity.correction)")
    strength: str | None = Field(None, description="The finding's strength (docs/findings.md): primary, "
                                                   "exploratory, not_significant, point_only; null without a finding")


class ThroughputDelta(_Model):
    abs: float | None
    pct: float | None
    verdict: str
    ci_pct: Interval | None = Field(None, description="Batch-means interval of the change (docs/statistics.md §4)")
    significant: bool | None = None
    supported: bool | None = None
    unsupported_reason: str | None = None
    strength: str | None = Field(None, description="The finding's strength; null when the load generator set it")


class Deltas(_Model):
    latency_ms: dict[str, dict[str, LatencyDelta]] = Field(description="<metric>.<stat>")
    throughput: dict[str, ThroughputDelta] = Field(description="<throughput key>")
    rate_bound: bool = Field(False, description="Both runs kept up with the same offered rate: throughput is the "
                                                "load generator's, and its changes are no verdict")
    failed_requests: str = Field("na", description="Change of the failure rate by a two-proportion test at the "
                                                   "case's confidence: better | worse | same | na")


# --- intervals ------------------------------------------------------------------------------------


class Dependence(_Model):
    """How correlated one metric is in send order, and what that costs in sample size."""

    lag_autocorrelation: dict[str, float | None] = Field(description="lag → autocorrelation")
    block_length: int | None
    variance_factor: float | None = Field(description="Long-run variance / iid variance")
    n: int | None
    n_eff: float | None


class SideIntervals(_Model):
    """Confidence intervals of one side's figures, and why one is missing."""

    confidence: float
    method: dict[str, str] = Field(description="<metric> → how its intervals were made")
    unit: Literal["requests", "runs"]
    saturation: str | None = Field(description="Why the run looks saturated (null when it does not): an open-loop "
                                               "queue — one run cannot support an interval, they are withheld — or a "
                                               "closed loop queueing at its cap (intervals kept)")
    latency_ms: dict[str, dict[str, Interval | None]]
    supported: dict[str, dict[str, bool]]
    unsupported_reason: dict[str, dict[str, str]]
    withheld: dict[str, dict[str, str]] = Field(default_factory=dict, description=(
        "<metric> → <stat> → why this side's own interval is withheld (†) although the change's interval is "
        "given: one run too short to show its own dependence, or its effective n short of the bar at the "
        "interval's own confidence (docs/statistics.md §3)"))
    n_eff: dict[str, dict[str, float | None]]
    dependence: dict[str, Dependence]
    throughput: dict[str, Interval] = Field(description="<throughput key> → [low, high]")
    throughput_reason: str | None


# --- SLO results ----------------------------------------------------------------------------------


class ObjectiveResult(_Model):
    metric: str
    percentile: float
    threshold_ms: float
    issued: int | None
    violations: int | None
    attainment: float | None
    observed_ms: float | None
    verdict: Literal["pass", "fail", "inconclusive"] | None
    requests_needed_to_pass: int | None
    variance_factor: float | None = Field(description="Dependence of the exceedance indicator (1 = independent)")
    reason: str | None
    note: str = Field("", description="What else the reader should know about this result (e.g. one-token responses)")


class SideSLOResults(_Model):
    available: bool
    reason: str | None
    joint_attainment: float | None
    good_requests: int | None
    goodput_requests_per_s: float | None
    one_token_responses: int
    tpot_one_token: str = Field(description="How a 1-token response counts for a TPOT objective")
    objectives: list[ObjectiveResult]


# --- sweep ----------------------------------------------------------------------------------------


class SweepPoint(_Model):
    load: float | Literal["inf"] | None = Field(description="Nominal load; \"inf\": an unbounded rate")
    load_kind: str
    achieved_requests_per_s: float | None
    achieved_output_tokens_per_s: float | None
    requests: int | None = Field(None, description="Requests sent at this load point (null when the file does not "
                                                   "say)")
    data: Literal["per-request", "summary"]
    latency_ms: dict[str, StatMap] = Field(description="<ttft|tpot|e2e>.<p50|p90|p95|p99>")
    slo_status: str | None = Field(description="pass | fail | inconclusive at this load: the SLO table's rule "
                                               "(a miss early stopping does not certify is inconclusive)")
    slo_measured: Literal["within", "over"] | None = Field(
        None, description="per-request point: every measured percentile within its objective, or one over "
                          "(what places the capacity); null for summary-only points")


class SweepCapacity(_Model):
    bound: str = Field(description="point | at_least | at_most | none")
    requests_per_s: float | None
    output_tokens_per_s: float | None
    interval_requests_per_s: Interval | None
    text: str
    limiting: list[str]
    missing: list[str]
    notes: list[str]
    attainment: float | None = Field(description="Share of requests that must meet each objective; null: each "
                                                 "objective at its own percentile (MLPerf early stopping)")


class SweepSide(_Model):
    load_kind: str
    points: list[SweepPoint]
    capacity: SweepCapacity | None
    knees: dict[str, float | None] = Field(description="<metric> → load of the knee")


class SweepFigures(_Model):
    compare_at_load: float | Literal["inf"] | None = Field(
        description="Nominal load of the point the detailed tables compare; \"inf\": an unbounded rate")
    sides: dict[str, SweepSide]
    capacity_ratio: float | None = Field(description="optimized ÷ baseline capacity figures as they are (a bound or "
                                         "an estimate each); the claim, bounds kept, is findings[key=capacity]")
    unpaired: dict[str, list[float | None]] | None = None
    notes: list[str] = Field(default_factory=list, description="Every note on the sweep: pairing, offered rates, "
                                                                "each side's")


# --- cost -----------------------------------------------------------------------------------------


class SideCostFigures(_Model):
    kind: Literal["self_hosted", "api"]
    usd_per_request: float | None
    usd_per_million_output_tokens: float | None
    usd_per_million_total_tokens: float | None
    usd_per_month: float | None
    usage_usd_per_month: float | None
    usd_per_replica_hour: float | None
    replicas_for_peak: int | None
    fleet_usd_per_month: float | None
    throughput_requests_per_s: float | None
    assumptions: list[str]
    bound: Literal["point", "at_most", "at_least"] = Field(
        description="point, or at_most/at_least when priced at a capacity that is a bound")
    established: bool = Field(description="False: priced at a capacity no load point certified (†)")


class RevenueEffectFigures(_Model):
    usd_per_month: float | None
    latency_change_ms: float | None
    metric: str
    stat: str
    source: str
    text: str


class BreakEvenFigures(_Model):
    api_label: str
    api_usd_per_request: float | None
    self_hosted_usd_per_request: float | None
    replica_usd_per_month: float | None
    requests_per_replica_month: float | None
    break_even_requests_per_month: float | None
    always_cheaper_above_requests_per_month: float | None
    projected_requests_per_month: float | None
    cheaper_at_projected: str
    text: str
    notes: list[str]


class CostEstimateFigures(_Model):
    """The cost comparison with every interpolated capacity at its estimate, beside the bounds of
    :class:`CostFigures` (which count an estimate at the end of its range that keeps them true)."""

    baseline_usd_per_million_output_tokens: float | None
    optimized_usd_per_million_output_tokens: float | None
    baseline_usd_per_month: float | None
    optimized_usd_per_month: float | None
    savings_usd_per_month: float | None
    savings_pct: float | None
    payback_months: float | None
    roi_pct: float | None
    savings_bound: Literal["point", "at_least", "at_most", "unknown"]


class CostFigures(_Model):
    baseline: SideCostFigures
    optimized: SideCostFigures
    savings_usd_per_month: float | None
    savings_pct: float | None
    one_time_cost_usd: float | None
    payback_months: float | None = Field(description="null: no payback (the change saves nothing)")
    roi_pct: float | None
    horizon_months: int
    net_usd_over_horizon: float | None
    verdict: str
    headline: str = Field("", description="The cost section's headline sentence, bounds kept (story.findings.cost_sentence)")
    tone: Literal["good", "bad", "neutral"] = Field("neutral", description="good | bad (a loss is never good) | neutral")
    savings_bound: Literal["point", "at_least", "at_most", "unknown"] = Field(
        description="How the saving (and so payback, ROI) is known")
    established: bool = Field(description="False: a side is priced at an uncertified capacity (†)")
    estimate: CostEstimateFigures | None = Field(
        None, description="The same comparison at the interpolated capacities' estimates (the figures charts and "
                          "steps show), when a bound here counted an estimate at an end of its range; null otherwise")
    estimate_note: str = Field("", description="The comparison at the estimates in words, under the cost table of "
                                               "bounds (story.findings.cost_estimate_note); empty without an estimate")
    point_only: str | None = Field(None, description="Why the comparison is a point estimate (†): the throughput "
                                                     "change it is priced at has no interval; null otherwise")
    priced_at: Literal["capacity", "stated", "measured"] | None = Field(
        None, description="The throughput the self-hosted cost is priced at: capacity at SLO from a sweep, a capacity "
                          "stated in the cost inputs, or each run's measured throughput; null for API prices only")
    revenue_effect: RevenueEffectFigures | None
    self_host_vs_api: BreakEvenFigures | None = Field(description="Break-even volume against cost.compare_api")


# --- quality --------------------------------------------------------------------------------------


class QualityRow(_Model):
    task: str
    metric: str
    baseline: float | None
    optimized: float | None
    delta: float | None
    ci: Interval | None
    n_baseline: int | None
    n_optimized: int | None
    higher_is_better: bool
    verdict: str
    reason: str | None


class QualityFigures(_Model):
    """One trade-off's quality: typed-in scores or lm-eval results (docs/quality.md)."""

    technique: str
    source: Literal["typed", "lm-eval"]
    verdict: str = Field(description="within | outside | inconclusive")
    # typed
    metric: str | None = None
    baseline: float | None = None
    optimized: float | None = None
    higher_is_better: bool | None = None
    # both
    tolerance: float | None = None
    # lm-eval
    confidence: float | None = None
    files: dict[str, str] | None = None
    lm_eval_versions: dict[str, str | None] | None = None
    models: dict[str, str | None] | None = None
    notes: list[str] | None = None
    rows: list[QualityRow] | None = None


MODELS = (RunFigures, RunSource, RunLoad, RequestCounts, RunThroughput, RunTokens, TimeSplit, ParityItem,
          TransientSummary, Deltas, LatencyDelta, ThroughputDelta, SideIntervals, Dependence, SideSLOResults,
          ObjectiveResult, SweepFigures, SweepSide, SweepPoint, SweepCapacity, CostFigures, SideCostFigures,
          RevenueEffectFigures, BreakEvenFigures, QualityFigures, QualityRow)
