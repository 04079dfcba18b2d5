"""``case.yaml``: the pydantic models that define it, and loading with line numbers.

The models in this module are the single source of truth for validation, for the
JSON Schema (``casegen schema``) and for the field reference in ``docs/case-yaml.md``.
Unknown keys are rejected; every problem in a file is reported at once with
its line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from casegen import registry
from casegen.errors import CasegenError, Problem, ValidationFailed
from casegen.safe_io import MAX_CASE_BYTES, inside_case, read_text_capped

#: largest number any field of a case accepts: far beyond any real price, volume or latency, and
#: small enough that products of such numbers stay finite in cost arithmetic and charts
MAX_VALUE = 1e12
#: default length limit of a text field (longer fields say so in their Field)
MAX_TEXT_CHARS = 2_000
#: limits of case.yaml's lists (docs/safety.md): each is far above a real case and keeps a case
#: someone sent from making a build read or compute for minutes
MAX_STEPS = 16  # runs.steps: ladder rungs between baseline and optimized
MAX_POOLED_PATHS = 32  # a side's path: list (repetitions pooled)
MAX_RUN_PATHS = 64  # run paths of all sides and steps together
MAX_SLOS = 20
MAX_TRADEOFFS = 50
MAX_TAGS = 50
MAX_SELECT_KEYS = 20  # keys of a select: mapping
MAX_LM_EVAL_NAMES = 200  # quality.lm_eval.tasks / metrics

PositiveFloat = Annotated[float, Field(gt=0, le=MAX_VALUE, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, le=MAX_VALUE, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Score = Annotated[float, Field(ge=-MAX_VALUE, le=MAX_VALUE, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=MAX_TEXT_CHARS)


class System(_Strict):
    """What was served, on what."""

    model: str = Field(description="Model served, e.g. 'Llama-3.1-8B-Instruct'.")
    hardware: str = Field(description="Accelerators per replica, e.g. '1× H100 SXM 80 GB'.")
    serving_stack: str = Field(description="Engine and version, e.g. 'vLLM 0.8.2, OpenAI-compatible server'.")
    notes: str | None = Field(None, max_length=8_000,
                              description="Anything else a reader needs (parallelism, flags).")


class Workload(_Strict):
    """The traffic the runs represent."""

    description: str = Field(max_length=8_000, description="What the requests are and why they are realistic.")
    dataset: str | None = Field(None, description="Dataset or trace name.")


class SLO(_Strict):
    """A latency objective: `percentile` of `metric` must be ≤ `threshold_ms`."""

    metric: Literal[registry.SLO_METRICS] = Field(description="Latency metric (casegen names).")  # type: ignore[valid-type]
    percentile: float = Field(
        99, gt=0, lt=100, description="Percentile the objective is stated at, e.g. 95 or 99 (also 'p99')."
    )
    threshold_ms: PositiveFloat = Field(description="Upper bound in milliseconds.")

    @field_validator("percentile", mode="before")
    @classmethod
    def _strip_p(cls, v: Any) -> Any:
        if isinstance(v, str) and v.lower().startswith("p"):
            return v[1:]
        return v


Units = Literal["s", "ms", "us", "ns"]

FORMAT_NAMES_DOC = "see docs/formats.md or `casegen inspect FILE`"


def format_choices() -> list[str]:
    """Every value ``format:`` accepts, from the importer registry (``auto`` first)."""
    from casegen.runs import accepted_format_names

    return accepted_format_names()


class RunSpec(_Strict):
    """Where one side's benchmark run lives and how to read it."""

    path: str | Annotated[list[str], Field(max_length=MAX_POOLED_PATHS)] = Field(
        description="Run file or folder, relative to the case folder; a list pools repetitions of one configuration "
        f"(at most {MAX_POOLED_PATHS}). Files outside the case folder need the --trust-case-paths option."
    )
    format: str = Field(
        "auto", description="auto (detect from the file), or a format name: " + FORMAT_NAMES_DOC + "."
    )
    label: str | None = Field(None, description="Name shown in the report, e.g. 'FP16 baseline'.")
    select: int | str | Annotated[dict[str, Union[int, float, str]], Field(max_length=MAX_SELECT_KEYS)] | None = Field(
        None,
        description="Which run, when the file holds several: an index, 'rate=10,concurrency=16', or a mapping.",
    )
    columns: dict[Literal["start", "ttft", "e2e", "chunk_gaps", "input_tokens", "output_tokens", "cached_tokens",
                          "success", "error"], str] | None = Field(
        None, description="casegen CSV/JSONL: field → column name in your file."
    )
    units: Units | dict[Literal["start", "ttft", "e2e", "chunk_gaps"], Units] | None = Field(
        None, description="casegen CSV/JSONL: unit of time columns (one for all, or per field)."
    )
    duration_s: PositiveFloat | None = Field(
        None, description="Run duration in seconds, when the file has no timestamps."
    )
    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str) -> str:
        names = format_choices()
        if v not in names:
            close = difflib.get_close_matches(v, names, n=1)
            raise ValueError(f"unknown format '{v}'; expected " + (f"did you mean '{close[0]}'? " if close else "")
                             + "one of: " + ", ".join(names))
        return v

    sweep: bool = Field(
        False,
        description="This side is a load sweep: every run in path (matching select) is one load point.",
    )
    load: Literal["auto", "rate", "concurrency"] = Field(
        "auto", description="Load axis of a sweep: request rate or concurrency (auto: the one that varies)."
    )


class Runs(_Strict):
    """The two sides of the comparison, and optionally the steps between them."""

    baseline: RunSpec = Field(description="The run before the optimization.")
    steps: list[RunSpec] = Field(
        default_factory=list, max_length=MAX_STEPS,
        description="Ordered intermediate variants between baseline and optimized (a ladder, e.g. '+ FP8', "
        "'+ prefix caching'), each with the same keys as a side; the report shows what each step bought.",
    )
    optimized: RunSpec = Field(description="The run after the optimization.")

    @model_validator(mode="after")
    def _steps_like_sides(self) -> "Runs":
        if any(s.sweep != self.baseline.sweep for s in self.steps):
            raise ValueError("every step must be a sweep (sweep: true) exactly when the baseline is")
        n = sum(len(s.path) if isinstance(s.path, list) else 1 for s in (self.baseline, *self.steps, self.optimized))
        if n > MAX_RUN_PATHS:
            raise ValueError(f"{n} run paths in all, more than the {MAX_RUN_PATHS} casegen reads for one case; "
                             f"expected at most {MAX_RUN_PATHS} paths over baseline, steps and optimized "
                             "(see docs/safety.md)")
        return self


#: a hardware name that is an accelerator: the words a report uses for it follow the name (issue 23)
_GPU_NAME = re.compile(r"\b(gpus?|[abhlt]\d{1,3}[a-z]?|[gb]b?\d{3}|v100|p100|mi\d{3}[a-z]?|rtx|quadro|tesla|"
                       r"geforce|radeon|instinct|gaudi\d?|nvidia|amd)\b|\d+\s*[x×]\s*(h|a|l|b)\d", re.I)
_TPU_NAME = re.compile(r"\btpu", re.I)


def machine_word(name: str | None) -> str:
    """What one priced unit of ``self_hosted.gpu`` is called in the report: 'GPU' when the name is a GPU
    (or absent: the field's default meaning), 'TPU' for a TPU, otherwise 'instance' — a CPU VM priced per
    hour is an 'instance-hour', never a 'GPU-hour'."""
    if not name or _GPU_NAME.search(name):
        return "GPU"
    return "TPU" if _TPU_NAME.search(name) else "instance"


class SelfHostedPricing(_Strict):
    """GPUs (or any machine) you rent or own, paid by the hour."""

    gpu: str | None = Field(
        None, description="GPU shown in the report, e.g. 'H100 SXM 80 GB'; with provider and no gpu_hourly_usd, "
        "the name looked up in casegen's dated GPU price table (e.g. 'H100-SXM-80GB', see docs/cost.md). A name "
        "that is not a GPU (e.g. 'CPU VM (8 vCPU)') is priced the same way, and the report then says "
        "'instance-hour' and 'instances' instead of 'GPU-hour' and 'GPUs' ('TPU-hour' for a TPU).",
    )
    provider: str | None = Field(
        None, description="Cloud of the GPU price table (aws, azure, gcp, lambda, nebius, runpod-secure, "
        "runpod-community), used when gpu_hourly_usd is not given.",
    )
    gpu_hourly_usd: PositiveFloat | None = Field(
        None, description="USD per GPU-hour (per instance-hour when gpu names a machine that is not a GPU; "
        "on-demand, reserved or amortised). Always wins over the price table.",
    )
    gpus_per_replica: int = Field(1, ge=1, description="GPUs (or instances) one serving replica occupies.")
    utilization: Fraction = Field(
        0.6, description="Average load relative to the measured throughput (0–1]; idle capacity is paid for."
    )
    capacity_requests_per_s: PositiveFloat | None = Field(
        None,
        description="Requests/s one replica sustains within SLO (e.g. from a load sweep). Default: the run's "
        "measured throughput, which is only the capacity if the run was saturated.",
    )


class ApiPricing(_Strict):
    """A hosted API billed per token."""

    provider: str | None = Field(
        None, description="Provider, shown in the report; with model, the provider id in the API price catalogue "
        "(e.g. openai, anthropic, google, together, groq; see docs/cost.md).",
    )
    model: str | None = Field(
        None, description="Model id priced from casegen's dated API price catalogue (genai-prices snapshot), e.g. "
        "'gpt-4o-mini'. Prices given here win over the catalogue.",
    )
    input_usd_per_1m: NonNegFloat | None = Field(None, description="USD per 1M uncached input tokens.")
    cached_input_usd_per_1m: NonNegFloat | None = Field(
        None, description="USD per 1M cached input tokens (default: the input price)."
    )
    output_usd_per_1m: NonNegFloat | None = Field(None, description="USD per 1M output tokens.")
    cached_input_share: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0, description="Share of input tokens served from the provider's prompt cache (0–1)."
    )


class SidePricing(_Strict):
    """How one side is paid for: exactly one of self_hosted or api."""

    self_hosted: SelfHostedPricing | None = Field(None, description="Per-hour pricing of GPUs (or other machines).")
    api: ApiPricing | None = Field(None, description="Per-token API pricing.")

    @model_validator(mode="after")
    def _exactly_one(self) -> "SidePricing":
        if (self.self_hosted is None) == (self.api is None):
            raise ValueError("give exactly one of 'self_hosted' or 'api'")
        return self


class StepPricing(SidePricing):
    """How one ladder step is paid for, and what reaching it cost once."""

    one_time_cost_usd: NonNegFloat = Field(
        0.0, description="One-time cost of this step (part of cost.one_time_cost_usd; the rest goes to the last step).",
    )


class Revenue(_Strict):
    """Optional revenue effect of the latency change: an explicit, cited assumption, never added to savings."""

    monthly_revenue_usd: PositiveFloat = Field(description="Revenue that depends on this endpoint, USD per month.")
    change_pct_per_100ms: float = Field(
        description="Revenue change in % per 100 ms of latency removed (e.g. 1.0 for '100 ms faster = +1 %').",
        allow_inf_nan=False, ge=-1000, le=1000,
    )
    metric: Literal["ttft", "e2e"] = Field("ttft", description="Latency the users feel: ttft (streaming) or e2e.")
    stat: Literal["mean", "p50", "p90", "p95", "p99"] = Field("p50", description="Statistic of that latency.")
    source: str = Field(description="Where the sensitivity figure comes from (study, A/B test, citation).")


class Cost(_Strict):
    """Cost assumptions. Every figure is printed in the report next to its source."""

    baseline: SidePricing = Field(description="How the baseline is paid for.")
    optimized: SidePricing = Field(description="How the optimized side is paid for.")
    requests_per_month: PositiveFloat = Field(description="Projected production volume, requests per month.")
    peak_requests_per_s: PositiveFloat | None = Field(
        None, description="Projected peak rate; sizes the fleet (replicas needed)."
    )
    headroom: Fraction = Field(0.8, description="Fraction of measured throughput a replica is planned at for the peak.")
    monthly_basis: Literal["usage", "fleet"] = Field(
        "usage",
        description="usage: cost per request × volume (utilisation-adjusted); fleet: always-on replicas for the peak × 730 h.",
    )
    one_time_cost_usd: NonNegFloat = Field(0.0, description="One-time cost of the optimization (engineering, evaluation, migration).")
    one_time_cost_note: str | None = Field(None, description="What the one-time cost is made of.")
    horizon_months: int = Field(12, ge=1, le=120, description="Horizon for ROI.")
    price_source: str | None = Field(None, description="Where the prices come from and their date.")
    revenue: Revenue | None = Field(None, description="Optional revenue effect of the latency change (off by default).")
    steps: list[StepPricing] | None = Field(
        None, max_length=MAX_STEPS, description="With runs.steps: one pricing per step, in order (default: the baseline's pricing, "
        "when baseline and optimized are priced alike).",
    )
    compare_api: ApiPricing | None = Field(
        None, description="A hosted API model to compare the self-hosted optimized deployment with: the monthly "
        "volume above which self-hosting is cheaper (e.g. {provider: openai, model: gpt-4o-mini}).",
    )

    @model_validator(mode="after")
    def _fleet_needs_peak(self) -> "Cost":
        if self.monthly_basis == "fleet" and self.peak_requests_per_s is None:
            raise ValueError("monthly_basis 'fleet' needs peak_requests_per_s")
        return self


class LmEvalResults(_Strict):
    """lm-evaluation-harness result files of both sides (``results_*.json``, or folders holding one)."""

    baseline: str = Field(description="Result file (or folder) of the baseline, relative to the case folder.")
    optimized: str = Field(description="Result file (or folder) of the optimized side.")
    tasks: list[str] | None = Field(None, max_length=MAX_LM_EVAL_NAMES,
                                    description="Tasks (or groups) to compare; default: every task in both files.")
    metrics: list[str] | None = Field(
        None, max_length=MAX_LM_EVAL_NAMES, description="Metrics to compare, e.g. [acc] or ['exact_match,strict-match']; default: all."
    )


class Quality(_Strict):
    """Quality impact of a technique against a tolerance: typed-in scores, or lm-eval result files."""

    metric: str | None = Field(None, description="Evaluation metric, e.g. 'MMLU 5-shot accuracy'.")
    baseline: Score | None = Field(None, description="Score of the baseline (typed in).")
    optimized: Score | None = Field(None, description="Score after the optimization (typed in).")
    lm_eval: LmEvalResults | None = Field(
        None, description="lm-evaluation-harness result files: per task and metric, the delta with its interval "
        "from the harness's stderr and a verdict against the tolerance (instead of typed-in scores).",
    )
    tolerance: NonNegFloat = Field(
        description="Largest acceptable loss, in the metric's units (lm-eval accuracies are 0–1: 0.01 = 1 point)."
    )
    higher_is_better: bool | None = Field(
        None, description="Direction of the metric (default: higher is better; lm-eval: the file's own direction)."
    )
    unit: str | None = Field(None, description="Unit shown after values, e.g. '%' or 'pts'.")

    @model_validator(mode="after")
    def _scores_or_files(self) -> "Quality":
        typed = [self.metric is not None, self.baseline is not None, self.optimized is not None]
        if self.lm_eval is None and not all(typed):
            raise ValueError("give metric, baseline and optimized, or lm_eval result files")
        if self.lm_eval is not None and (self.baseline is not None or self.optimized is not None):
            raise ValueError("give typed-in scores (baseline, optimized) or lm_eval result files, not both")
        return self


class TradeOff(_Strict):
    """One technique applied, and what it costs besides money."""

    technique: str = Field(description="Name of the technique, e.g. 'FP8 weights'.")
    what_changed: str = Field(description="What was changed in the deployment.")
    helps_when: str = Field(description="Conditions under which it pays off.")
    hurts_when: str = Field(description="Conditions under which it costs (latency, quality, ops).")
    quality: Quality | None = Field(None, description="Measured quality impact against a tolerance.")
    changes_answers: bool = Field(
        False, description="The technique can change the answers (quantization, pruning, a different checkpoint): "
        "without `quality`, the report lists \"Quality not measured\" as a major threat.",
    )
    step: str | None = Field(
        None, description="With runs.steps: the label of the step (or of the optimized side) this technique "
        "brought in; the ladder shows the trade-off next to that step.",
    )
    risk: str | None = Field(None, description="Operational risk and how it is contained.")


class Optimization(_Strict):
    """What kind of optimization the case shows, and so which differences between the sides are intended."""

    kind: Literal[registry.OPTIMIZATION_KIND_NAMES] = Field(  # type: ignore[valid-type]
        "serving", description="serving (default: the workload must be the same on both sides); prompt-trimming "
        "(fewer input tokens intended); output-capping (fewer output tokens); caching; streaming (one side "
        "streams); right-sizing (a different model). Intended differences become findings, not threats; "
        "prompt-trimming, output-capping and right-sizing need a quality measurement (tradeoffs[].quality).",
    )
    output_cap_tokens: int | None = Field(
        None, ge=1, le=10_000_000, description="output-capping: the max_tokens cap of the optimized side (default: the "
        "longest answer it produced)."
    )


class Trim(_Strict):
    """Part of a run to leave out: give seconds or a fraction of the run."""

    seconds: NonNegFloat | None = Field(None, description="Seconds from the start (warm-up) or before the end (cool-down).")
    fraction: Annotated[float, Field(ge=0, lt=1)] | None = Field(None, description="Fraction of the run, 0–1.")

    @model_validator(mode="after")
    def _one(self) -> "Trim":
        if (self.seconds is None) == (self.fraction is None):
            raise ValueError("give exactly one of 'seconds' or 'fraction'")
        return self


class CapacitySettings(_Strict):
    """How load sweeps are judged."""

    attainment: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="Share of requests that must meet every SLO for a load point to pass (e.g. DistServe's "
        "0.90). Default: each SLO's own percentile (p99 → 99 %), judged by MLPerf early stopping."
    )
    compare_at: Score | str | None = Field(
        None, description="Nominal load (rate or concurrency) of the point the detailed tables compare; "
        "default: the highest finite load both sweeps measured.",
    )


class Analysis(_Strict):
    """How statistics are computed."""

    percentile_method: Literal["linear", "mlperf", "nearest"] = Field(
        "linear", description="linear: NumPy default (what vLLM/AIPerf use); mlperf: sorted(x)[floor(n·p)]; "
        "nearest: NumPy method='nearest' (GuideLLM's own rule, the first value whose cumulative share "
        "reaches p, differs from it at some sample sizes; casegen's parity check applies GuideLLM's rule)."
    )
    confidence: Annotated[float, Field(ge=0.5, lt=1)] = Field(
        0.95, description="Confidence level of percentile and delta intervals."
    )
    bootstrap_resamples: int = Field(1000, ge=200, le=100_000, description="Bootstrap resamples for delta intervals.")
    seed: int = Field(0, ge=0, lt=2**63, description="Seed of the bootstrap (same seed, same report).")
    slo_confidence: Annotated[float, Field(ge=0.5, lt=1)] = Field(
        0.99, description="Confidence of SLO verdicts (MLPerf early stopping uses 0.99)."
    )
    tpot_one_token: Literal["pass", "fail"] = Field(
        "pass", description="How a 1-token response (no TPOT) counts against a TPOT SLO."
    )
    itl_semantics: Literal["pooled", "per_request"] = Field(
        "pooled", description="How an inter-chunk latency SLO 'pP ≤ T' is judged: pooled = the P-th percentile of all "
        "chunk gaps (the figure in the latency table; attainment = share of gaps within T); per_request = each "
        "request's own P-th percentile gap must be within T (attainment = share of requests)."
    )
    workload_margin: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.05, description="Equivalence margin of 'same workload': input and output token means must be shown "
        "within ± this fraction of each other (TOST at 5 %); otherwise the report says 'not shown to be the same'."
    )
    warmup: Trim | Literal["auto"] | None = Field(
        None, description="Leave out requests sent during warm-up: seconds or a fraction, or 'auto' = the initial "
        "transient MSER-5 finds in TTFT and E2E (casegen.analysis.transient; a run with no steady part gets no "
        "intervals). Without it a warm-up MSER-5 finds in ≥ 10 % of a run is reported, not trimmed.")
    cooldown: Trim | None = Field(None, description="Leave out requests sent during cool-down.")


class ReproduceSide(_Strict):
    """What someone needs to rerun one side. A value left out is taken from the run's file where the
    tool records it: the engine (SGLang bench_serving; vLLM bench with backend `vllm`), engine flags
    (vLLM sweep folder names), the GPU (the `gpu` field of vLLM results), the benchmark command
    (AIPerf's `cli_command`); anything else shows as "not recorded"."""

    engine: str | None = Field(None, description="Serving engine, e.g. 'vLLM'.")
    engine_version: str | None = Field(None, description="Engine version or image tag, e.g. '0.8.2'.")
    flags: str | None = Field(None, description="Engine flags as passed, e.g. '--quantization fp8 --max-num-seqs 64'.")
    hardware: str | None = Field(None, description="GPU variant, count and memory, e.g. '1× H100 SXM5 80 GB HBM3'.")
    driver: str | None = Field(None, description="GPU driver version, e.g. '550.54.15'.")
    cuda: str | None = Field(None, description="CUDA version, e.g. '12.4'.")
    command: str | None = Field(None, description="The exact benchmark command that produced the run's file.")


class Reproduce(ReproduceSide):
    """How to rerun the comparison: values at this level apply to both sides; `baseline:` and
    `optimized:` override them per side."""

    baseline: ReproduceSide = Field(default_factory=ReproduceSide, description="Values for the baseline only.")
    optimized: ReproduceSide = Field(default_factory=ReproduceSide, description="Values for the optimized side only.")


class ReportSettings(_Strict):
    """Report layout."""

    page_size: Literal["A4", "Letter"] = Field("A4", description="PDF page size.")
    theme: Literal["modern", "classic"] = Field(
        "modern", description="modern: web-style colours and sans-serif; classic: restrained, serif, print-first."
    )
    layout: Literal["full", "onepager"] = Field(
        "full", description="full report, or a one-page summary (headline, chart, latency and cost, trade-offs)."
    )
    url: str | None = Field(
        None, pattern=r"^https?://\S+$",
        description="Where the full report is published (https://…); the one-pager links to it as 'Full report'.",
    )
    templates: str | None = Field(
        None,
        description="Folder (relative to the case) with your own Jinja2 templates; a file there replaces the "
        "built-in one of the same name, and can extend it with {% extends \"default:report.html.j2\" %}. "
        "Used only when the build is run with --trust-case-templates (otherwise the build stops and says so); "
        "templates always render in a sandbox.",
    )


def _known_threat_key(key: str) -> str:
    if key not in registry.THREATS:
        close = difflib.get_close_matches(key, list(registry.THREATS), n=1)
        raise ValueError(f"unknown threat key '{key[:60]}'; expected " + (
            f"did you mean '{close[0]}'?" if close else "a threat key `casegen validate` prints (one of: "
            + ", ".join(registry.THREATS) + ")"))
    return key


ThreatKey = Annotated[str, AfterValidator(_known_threat_key)]
AcceptReason = Annotated[str, Field(min_length=3, max_length=MAX_TEXT_CHARS,
                                    description="Why the threat does not undermine this comparison.")]


class PortfolioSettings(_Strict):
    """Where the case goes in a portfolio."""

    order: int | None = Field(None, ge=1, le=10_000, description=(
        "Place in a portfolio: 1 comes first. Cases with an order come first, lowest first; the rest "
        "follow, newest first. `casegen portfolio --order` overrides it."))


class AuthorLink(_Strict):
    """One of the author's links (a profile, a repository, a site)."""

    label: str = Field(min_length=1, max_length=100, description="What the link is, e.g. 'GitHub' or 'LinkedIn'.")
    url: str = Field(pattern=r"^https?://\S+$", max_length=500, description="The address (http:// or https://).")


class Case(_Strict):
    """A before-and-after case study."""

    title: str = Field(max_length=300, description="One-line title of the study.")
    author: str = Field(max_length=300, description="Shown on the cover and in the PDF metadata.")
    role: str = Field("", max_length=300, description="The author's role, e.g. 'ML infrastructure engineer'; shown "
                      "beside the name on the cover, in the PDF's running header, on the one-pager and the portfolio cover.")
    links: list[AuthorLink] = Field(default_factory=list, max_length=10,
                                    description="The author's links (label and url), shown on the cover, the one-pager "
                                    "and the portfolio cover.")
    what_i_did: str = Field("", max_length=MAX_TEXT_CHARS, description="Optional: one paragraph in the author's words on "
                            "their own part in the work, shown on page 1 as 'What I did'.")
    date: dt.date = Field(description="Date of the study (YYYY-MM-DD); also dates the PDF.")
    summary: str = Field(max_length=8_000, description="Two or three sentences: what was optimized and what it bought.")
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS, description="Keywords, shown in the portfolio and the PDF metadata.")
    system: System = Field(description="Model, hardware and serving stack.")
    workload: Workload = Field(description="The traffic the runs represent.")
    slos: list[SLO] = Field(default_factory=list, max_length=MAX_SLOS, description="Latency objectives (the first one drives the headline).")
    runs: Runs = Field(description="The baseline and optimized benchmark runs.")
    optimization: Optimization = Field(default_factory=Optimization,
                                       description="Kind of optimization (which differences between the sides are intended).")
    cost: Cost | None = Field(None, description="Cost assumptions; leave out to skip the cost section.")
    tradeoffs: list[TradeOff] = Field(default_factory=list, max_length=MAX_TRADEOFFS, description="One entry per technique applied.")
    notes: str = Field("", max_length=100_000, description="Markdown. Raw HTML is shown as text.")
    capacity: CapacitySettings = Field(default_factory=CapacitySettings, description="Load-sweep settings.")
    analysis: Analysis = Field(default_factory=Analysis, description="How statistics are computed.")
    report: ReportSettings = Field(default_factory=ReportSettings, description="Report layout settings.")
    portfolio: PortfolioSettings = Field(default_factory=PortfolioSettings,
                                         description="Where the case goes in a portfolio (`order`).")
    reproduce: Reproduce = Field(default_factory=Reproduce,
                                 description="Engine, flags, hardware, driver/CUDA and benchmark command per side.")
    accept: dict[ThreatKey, AcceptReason] = Field(
        default_factory=dict, max_length=len(registry.THREATS),
        description="Threats to validity you acknowledge: threat key → your reason, e.g. "
        "`fixed-outputs: \"output length fixed on purpose, to compare per-token latency\"`. The report still "
        "lists them, marked 'Acknowledged by the author' with the reason; `--strict` no longer fails on them. "
        "Keys are those `casegen validate` prints (e.g. one-repetition, short-run, no-warmup).")

    _lines: dict = PrivateAttr(default_factory=dict)
    _file: str = PrivateAttr(default="case.yaml")

    @property
    def file(self) -> str:
        """The case.yaml this case was read from."""
        return self._file

    def where(self, *path: str | int) -> str:
        """'case.yaml line N, key a.b.c' for a key path (nearest line known)."""
        dotted = ".".join(str(p) for p in path)
        probe = tuple(path)
        while probe:
            if probe in self._lines:
                return f"{Path(self._file).name} line {self._lines[probe]}, key {dotted}"
            probe = probe[:-1]
        return f"{Path(self._file).name}, key {dotted}"


def json_schema() -> str:
    """The JSON Schema of case.yaml, as stable, pretty-printed text."""
    schema = Case.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "casegen case.yaml"
    schema["$defs"]["RunSpec"]["properties"]["format"]["enum"] = format_choices()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- loading


#: values a case.yaml may hold once its aliases are expanded (a case has a few hundred)
MAX_YAML_VALUES = 20_000
#: nesting depth of mappings and lists in case.yaml (a case needs about 6)
MAX_YAML_DEPTH = 32


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (no Python objects) that is used to compose nodes with marks.

    Scalars that YAML 1.1 would read surprisingly or that cannot be constructed (``1:30:00`` as
    5400, ``2026-02-30``, ``!!int abc``) become errors with their line instead of values or
    tracebacks.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, TypeError) as err:
            tag = node.tag.rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {str(node.value)[:60]!r} as {tag} ({err})", node.start_mark) from None

    def _refuse_sexagesimal(self, node: yaml.ScalarNode) -> None:
        value = str(self.construct_scalar(node))
        if ":" in value:
            raise yaml.constructor.ConstructorError(
                None, None, f"{value[:60]!r} is a base-60 number in YAML 1.1 (1:30:00 would be read as 5400); "
                "write the plain number, or quote it if it is text", node.start_mark)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        self._refuse_sexagesimal(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        self._refuse_sexagesimal(node)
        return super().construct_yaml_float(node)


_LineLoader.add_constructor("tag:yaml.org,2002:int", _LineLoader.construct_yaml_int)
_LineLoader.add_constructor("tag:yaml.org,2002:float", _LineLoader.construct_yaml_float)


def _check_yaml_size(root: yaml.Node, file: str | Path) -> None:
    """Refuse alias bombs (billion laughs), self-referencing aliases and deep nesting before constructing."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def refuse(node: yaml.Node, what: str, expected: str) -> CasegenError:
        return CasegenError(what, file=file, where=f"line {node.start_mark.line + 1}", expected=expected)

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > MAX_YAML_DEPTH:
            raise refuse(node, f"YAML is nested more than {MAX_YAML_DEPTH} levels deep",
                         "a case.yaml like the one `casegen new` writes")
        if key in open_nodes:
            raise refuse(node, "a YAML alias refers to a value that contains it", "aliases to finished values only")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        open_nodes.discard(key)
        if total > MAX_YAML_VALUES:
            raise refuse(node, f"YAML expands to more than {MAX_YAML_VALUES:,} values (aliases repeated inside "
                         "aliases?)", "a case.yaml of a reasonable size; aliases (*name) used sparingly")
        sizes[key] = total
        return total

    size(root, 0)


def _indent(row: str) -> int:
    return len(row) - len(row.lstrip(" "))


def _yaml_syntax_advice(err: yaml.YAMLError, text: str) -> tuple[str | None, str | None]:
    """PyYAML's syntax error in plain words, with the likely fix: (what, expected), or (None, None)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or ""
    context = getattr(err, "context", None) or ""
    if mark is None:
        return None, None
    rows = text.splitlines()
    n = mark.line  # 0-based index of the line the reader stopped at
    row = rows[n] if n < len(rows) else ""

    def previous(i: int) -> int | None:  # the nearest line above with content (not a comment)
        for j in range(i - 1, -1, -1):
            if rows[j].strip() and not rows[j].lstrip().startswith("#"):
                return j
        return None

    if "'\\t'" in problem or "\t" in problem:
        return ("a tab character: YAML indents with spaces only",
                f"spaces instead of the tab on line {n + 1}")
    if "quoted scalar" in context:
        start = getattr(err, "context_mark", None)
        at = start.line + 1 if start is not None else n + 1
        return (f"a quoted value that starts on line {at} is never closed",
                f"the closing quote at the end of that value on line {at}")
    # an unclosed quote: the reader runs on (a double-quoted value may span lines) and stops later
    reach = n + 1 if "<scalar>" in problem or "expected ':'" in problem else min(3, n + 1)
    for j in range(n, n - reach, -1):
        if j < len(rows) and rows[j].count('"') % 2 == 1 and ":" in rows[j]:
            return (f"line {j + 1} opens a quote it does not close", f'the closing " on line {j + 1}')
    if problem.startswith("mapping values are not allowed"):
        return ("a second ': ' on the line: text containing a colon followed by a space must be quoted",
                f'the value in quotes, e.g. {row.split(":", 1)[0].strip() or "key"}: "…: …"')
    if problem.startswith(("expected <block end>", "did not find expected key", "did not find expected '-'")):
        p = previous(n)
        if p is not None and _indent(row) != _indent(rows[p]):
            spaces = {1: "1 space"}
            return (f"line {n + 1} is indented by {spaces.get(_indent(row), f'{_indent(row)} spaces')}, the line "
                    f"above it ({p + 1}) by {spaces.get(_indent(rows[p]), f'{_indent(rows[p])} spaces')}: keys of one "
                    "mapping line up",
                    f"line {n + 1} indented like the key it belongs with (as the example in `casegen new`)")
        return (f"the indentation around line {n + 1} does not line up",
                "keys of one mapping at the same indentation, list items ('- ') under their key")
    if problem.startswith("could not find expected ':'"):
        return (f"line {n + 1} is not a 'key: value' line (text continued from the line above?)",
                "key: value, or a long text as key: >- with the text indented on the lines below")
    return None, None


def load_yaml_with_lines(text: str, file: str | Path) -> tuple[Any, dict[tuple, int], list[Problem]]:
    """Parse YAML safely; return (data, {path: line}, problems such as duplicate keys)."""
    loader = None
    try:
        loader = _LineLoader(text)
        node = loader.get_single_node()
        if node is not None:
            _check_yaml_size(node, file)
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as err:
        line = text[: err.position].count("\n") + 1
        raise CasegenError(f"holds the control character U+{err.character:04X}, which YAML does not allow",
                           file=file, where=f"line {line}", expected="printable text") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(err, "problem", None) or str(err)
        what, expected = _yaml_syntax_advice(err, text)
        raise CasegenError(f"not valid YAML: {what}" if what else f"not valid YAML: {problem}", file=file,
                           where=where, expected=expected,
                           hint=f"the YAML reader said: {problem}" if what else None) from None
    except RecursionError:
        raise CasegenError("YAML is nested too deeply to read", file=file,
                           expected="a case.yaml like the one `casegen new` writes") from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[tuple, int] = {}
    problems: list[Problem] = []
    visited: set[int] = set()

    def walk(n: Any, path: tuple) -> None:
        lines.setdefault(path, n.start_mark.line + 1)
        if id(n) in visited:  # an alias: its lines were recorded where it was defined
            return
        visited.add(id(n))
        if isinstance(n, yaml.MappingNode):
            seen: set = set()
            for key_node, value_node in n.value:
                key = key_node.value
                if isinstance(key, str) and key in seen:
                    problems.append(Problem(f"line {key_node.start_mark.line + 1}", f"key '{key[:60]}' appears twice",
                                            "each key once"))
                if isinstance(key, str):
                    seen.add(key)
                    lines[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key if isinstance(key, str) else "?",))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                lines[path + (i,)] = item.start_mark.line + 1
                walk(item, path + (i,))

    if node is not None:
        walk(node, ())
    return data, lines, problems


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (through Optional, list and Annotated), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def keys_at(loc: tuple) -> list[str]:
    """The keys valid in the mapping at ``loc`` (a key path such as ('runs', 'baseline'))."""
    model: type[BaseModel] | None = Case
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue  # an item of a list: same model
        info = model.model_fields.get(str(part))
        if info is None:
            return []
        model = _model_of(info.annotation)
    return list(model.model_fields) if model is not None else []


_TYPE_MISMATCH = {"dict_type", "list_type", "model_type", "model_attributes_type", "string_type", "int_type",
                  "float_type", "bool_type", "int_parsing", "float_parsing", "bool_parsing"}


def _drop_union_noise(errors: list[Any]) -> list[Any]:
    """Of several errors for one key (one per member of a union), keep the informative ones.

    ``units: sec`` fails both ``Literal['s', 'ms', ...]`` and ``dict``; "not a valid dictionary"
    says nothing useful when the other member names the allowed values.
    """
    by_loc: dict[tuple, list[dict]] = {}
    for e in errors:
        by_loc.setdefault(_clean_loc(e["loc"]), []).append(e)
    kept = []
    for e in errors:
        group = by_loc[_clean_loc(e["loc"])]
        if e["type"] in _TYPE_MISMATCH and any(o["type"] not in _TYPE_MISMATCH for o in group):
            continue
        kept.append(e)
    return kept


def _clean_loc(raw: tuple) -> tuple:
    loc = tuple(x for x in raw if not (isinstance(x, str) and x.startswith(("function-", "literal["))))
    # pydantic adds union member names (e.g. 'int', 'str', 'dict[str,...]') to loc; drop them
    clean: list = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in ("int", "str", "float", "bool", "dict", "list")
                                      or part.startswith("constrained-")) and clean:
            continue
        clean.append(part)
    return tuple(clean)


def _written_value(source: str | None, line: int | None, key: str) -> str | None:
    """The value of ``key`` as written on line ``line`` of the YAML source (for 'quote it' advice)."""
    import re

    if not source or not line or not key:
        return None
    rows = source.splitlines()
    if not 0 < line <= len(rows):
        return None
    m = re.search(rf"(?:^|[\s{{,-]){re.escape(key)}\s*:\s*([^\s,#}}\]]+)", rows[line - 1])
    return m.group(1) if m else None


def _problem_from_error(err: dict, lines: dict[tuple, int], source: str | None = None) -> Problem:
    loc = _clean_loc(err["loc"])
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    line = None
    probe = loc
    while probe and line is None:
        line = lines.get(probe)
        probe = probe[:-1]
    if line is None:
        line = lines.get(())
    where = f"line {line}, {dotted}" if line else dotted
    etype = err["type"]
    msg = err["msg"]
    if etype == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        valid = keys_at(loc[:-1])
        close = difflib.get_close_matches(key, valid, n=1)
        if close:
            expected = f"did you mean '{close[0]}'?"
        elif valid:
            expected = "one of: " + ", ".join(valid)
        else:
            expected = "a key from docs/case-yaml.md"
        return Problem(where, f"unknown key '{key}'", expected)
    if etype == "missing":
        parent = loc[:-1]
        pline = lines.get(parent) if parent else None
        pdotted = ".".join(str(p) for p in parent) or "top level"
        pwhere = f"line {pline}, {pdotted}" if pline and parent else pdotted
        return Problem(pwhere, f"required key '{loc[-1]}' is missing", f"{loc[-1]}: <value> (see docs/case-yaml.md)")
    given = err.get("input")
    shown = _short_repr(given) if not isinstance(given, (dict, list)) else type(given).__name__
    if etype == "string_type" and isinstance(given, (int, float, bool, dt.date)):
        written = _written_value(source, line, str(loc[-1]) if loc else "") or str(given)
        kind = {bool: "a yes/no value", dt.date: "a date"}.get(type(given), "a number")
        read = "" if written == str(given) else f" (YAML reads {written} as {given!r})"
        return Problem(where, f"{written} is {kind} in YAML{read}, where text is expected",
                       f'the value in quotes: {loc[-1] if loc else "key"}: "{written}"')
    if etype.startswith(("date_", "datetime_")):
        return Problem(where, f"{shown} is not a date", "a date written YYYY-MM-DD, e.g. 2026-01-15")
    if etype == "too_long" and isinstance(err.get("ctx"), dict) and "max_length" in err["ctx"]:
        limit, actual = err["ctx"]["max_length"], err["ctx"].get("actual_length")
        return Problem(where, f"{actual:,} items, more than the {limit:,} casegen accepts" if actual is not None
                       else f"more than {limit:,} items", f"at most {limit:,} (limits: docs/safety.md)")
    if msg.startswith("Value error, "):
        what, _, expected = msg[len("Value error, "):].partition("; expected ")
        return Problem(where, what, expected or None)
    if msg.startswith("Input should be "):
        return Problem(where, f"{shown} is not valid", msg[len("Input should be "):])
    return Problem(where, f"{shown}: {msg}")


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def parse_case(text: str, file: str | Path = "case.yaml") -> Case:
    """Validate case.yaml text; raise :class:`ValidationFailed` listing every problem."""
    data, lines, problems = load_yaml_with_lines(text, file)
    if data is None:
        raise CasegenError("file is empty", file=file, expected="a case study (see `casegen new`)")
    if not isinstance(data, dict):
        raise CasegenError(f"top level is a {type(data).__name__}", file=file, where="line 1",
                           expected="a mapping of keys (title:, runs:, ...)")
    try:
        case = Case.model_validate(data)
    except ValidationError as err:
        problems += [_problem_from_error(e, lines, text) for e in _drop_union_noise(err.errors(include_url=False))]
        case = None
    if problems:
        problems.sort(key=lambda p: int(p.where.split(",")[0].split()[1]) if p.where.startswith("line ") else 0)
        seen = []
        for p in problems:
            if p not in seen:
                seen.append(p)
        raise ValidationFailed(file, seen)
    assert case is not None
    case._lines = lines
    case._file = str(file)
    return case


def load_case(case_path: str | Path, *, trust_paths: bool = False) -> tuple[Case, Path]:
    """Load a case from a folder (holding case.yaml) or a YAML file. Returns (case, folder).

    A folder's case.yaml that is a symbolic link leading out of the folder is refused unless
    ``trust_paths`` (``--trust-case-paths``)."""
    path = Path(case_path)
    if path.is_dir():
        path = path / "case.yaml"
        if not trust_paths and (path.exists() or path.is_symlink()):
            inside_case(path, what="case file", root=path.parent)
    if not path.exists() and not path.is_symlink():
        raise CasegenError("case file not found", file=path,
                           expected="a folder with a case.yaml, or a path to one (create one with `casegen new DIR`)")
    text = read_text_capped(path, MAX_CASE_BYTES, what="case file", expected="a YAML file (UTF-8)")
    return parse_case(text, path), path.parent


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
