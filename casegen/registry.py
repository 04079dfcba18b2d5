"""The one registry of metrics and statistics casegen reports.

Every list of metrics (SLO schema, result tables, compare, inspect, charts, summary.json) reads it
from here: key, label, unit, direction, written definition (the long form is in
``docs/metrics.md``), and whether an SLO may name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["lower", "higher"]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # as in a table heading: "TTFT"
    short: str  # as in a compact row: "E2E"
    unit: str  # a key of formatting.FORMATTERS
    direction: Direction  # which way is better
    definition: str  # one line, reader language
    slo: bool = False  # an SLO may name it
    table: bool = False  # shown in the latency results table
    per: str = "requests"  # what n counts


LATENCY: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("ttft", "TTFT", "TTFT", "ms", "lower", "send → first streamed token", slo=True, table=True),
        Metric("tpot", "TPOT", "TPOT", "ms", "lower", "decode time ÷ (output tokens − 1), per request",
               slo=True, table=True),
        Metric("itl", "Inter-chunk latency", "ITL", "ms", "lower",
               "gap between streamed chunks, pooled (per chunk)", slo=True, table=True, per="chunks"),
        Metric("e2e", "End-to-end latency", "E2E", "ms", "lower", "send → last token", slo=True, table=True),
        Metric("decode", "Decode time", "decode", "ms", "lower", "end-to-end latency − TTFT"),
    )
}

THROUGHPUT: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("requests_per_s", "Requests", "req/s", "req/s", "higher", "completed requests ÷ run duration"),
        Metric("output_tokens_per_s", "Output tokens", "output tok/s", "tok/s", "higher",
               "output tokens of completed requests ÷ run duration"),
        Metric("total_tokens_per_s", "Input + output tokens", "total tok/s", "tok/s", "higher",
               "input + output tokens of completed requests ÷ run duration"),
    )
}

METRICS: dict[str, Metric] = {**LATENCY, **THROUGHPUT}
#: the three a reader follows through a sweep, a ladder or a chart: the wait for the first token, the
#: pace of the stream, and the whole request
CURVE_METRICS: tuple[str, ...] = ("ttft", "tpot", "e2e")


@dataclass(frozen=True)
class Statistic:
    key: str
    label: str
    quantile: float | None  # None for the mean


STATISTICS: dict[str, Statistic] = {
    s.key: s
    for s in (
        Statistic("mean", "mean", None),
        Statistic("p50", "p50 (median)", 0.50),
        Statistic("p90", "p90", 0.90),
        Statistic("p95", "p95", 0.95),
        Statistic("p99", "p99", 0.99),
    )
}

#: the statistics of a latency table, in order
TABLE_STATS: tuple[str, ...] = tuple(STATISTICS)
#: percentiles only (charts, ladders)
PERCENTILE_STATS: tuple[str, ...] = tuple(k for k, s in STATISTICS.items() if s.quantile is not None)
#: the percentiles `casegen plan` sizes a measurement for: the median, a tail, the far tail
PLAN_STATS: tuple[str, ...] = ("p50", "p95", "p99")
TABLE_METRICS: tuple[str, ...] = tuple(k for k, m in LATENCY.items() if m.table)
SLO_METRICS: tuple[str, ...] = tuple(k for k, m in LATENCY.items() if m.slo)
LATENCY_METRICS: tuple[str, ...] = tuple(LATENCY)
THROUGHPUT_METRICS: tuple[str, ...] = tuple(THROUGHPUT)


def label(metric: str) -> str:
    m = METRICS.get(metric)
    return m.label if m else metric


def stat_key(percentile: float) -> str:
    """'p95' for 95, 'p99.9' for 99.9."""
    return f"p{percentile:g}"


def stat_label(metric: str, stat: str, short: bool = False) -> str:
    """'TTFT p99', 'mean TPOT', 'E2E p50' (short)."""
    m = METRICS.get(metric)
    name = (m.short if short else m.label) if m else metric
    return f"mean {name}" if stat == "mean" else f"{name} {stat}"


def lower_is_better(metric: str) -> bool:
    return METRICS[metric].direction == "lower"


METRIC_LABELS: dict[str, str] = {k: m.label for k, m in LATENCY.items()}
METRIC_NOTES: dict[str, str] = {k: m.definition for k, m in LATENCY.items()}

#: Display names of the tools whose output casegen reads (keys: ``Run.meta.tool``).
TOOL_NAMES = {
    "vllm": "vLLM bench serve / benchmark_serving.py",
    "casegen": "casegen per-request table",
    "guidellm": "GuideLLM",
    "aiperf": "NVIDIA AIPerf",
    "genai-perf": "NVIDIA GenAI-Perf",
    "llmperf": "Ray LLMPerf",
    "sglang": "SGLang bench_serving",
    "inference-perf": "inference-perf",
}

#: Every threat-to-validity key casegen's checks raise (``casegen.analysis.checks``), with its title.
#: ``accept:`` in case.yaml names keys from here; tests/test_accept.py fails when a check raises a key
#: missing from this table.
THREATS: dict[str, str] = {
    "request-count": "Different number of requests",
    "input-not-shown-same": "Same input lengths not shown",
    "output-not-shown-same": "Same output lengths not shown",
    "input-differs": "The two sides served different prompts",
    "output-differs": "The two sides generated different output lengths",
    "load-differs": "The two sides ran at different load",
    "tool-differs": "Different benchmark tools on the two sides",
    "streaming-differs": "One side streamed and the other did not",
    "summary-only": "Summary-only run",
    "fixed-prompts": "Fixed-length synthetic prompts",
    "fixed-outputs": "Fixed-length outputs",
    "non-streaming-ttft": "TTFT reported for a non-streaming run",
    "concurrency-1": "Only concurrency 1",
    "short-run": "Run shorter than 60 s",
    "no-warmup": "No warm-up excluded",
    "errors": "Error rate above 1%",
    "one-repetition": "One repetition",
    "too-few-requests": "Too few requests for p99",
    "autocorrelated": "Neighbouring requests are alike",
    "warmup-transient": "Warm-up transient (MSER-5)",
    "no-steady-state": "No steady state",
    "zero-latency": "Successful requests with zero latency",
    "implausible-units": "Latencies too small to be real",
    "e2e-below-ttft": "End-to-end latency below TTFT",
    "scaffold-text": "Example text from `casegen new` left in case.yaml",
    "scaffold-value": "Example values from `casegen new` left in case.yaml",
    "quality-not-measured": "Quality not measured",
    "cache-differs": "The two sides hit the prefix cache at different rates",
    "untested-worse": "Slower at a load no test covers",
}


@dataclass(frozen=True)
class OptimizationKind:
    """What an optimization changes on purpose (``optimization.kind`` in case.yaml)."""

    key: str
    label: str  # "prompt trimming"
    #: workload differences between the sides that are the optimization itself, not threats:
    #: "input" (prompt tokens), "output" (output tokens), "streaming", "model"
    intended: tuple[str, ...]
    #: the kind can change answer quality, so the case needs a quality measurement
    quality_risk: bool
    description: str


OPTIMIZATION_KINDS: dict[str, OptimizationKind] = {
    k.key: k
    for k in (
        OptimizationKind("serving", "serving change", (), False,
                         "a serving-configuration change (engine, precision, parallelism, routing): both sides must "
                         "serve the same workload"),
        OptimizationKind("prompt-trimming", "prompt trimming", ("input",), True,
                         "shorter prompts for the same task: fewer input tokens are intended"),
        OptimizationKind("output-capping", "output capping", ("output",), True,
                         "a max_tokens cap (or a terser instruction): fewer output tokens are intended"),
        OptimizationKind("caching", "caching", (), False,
                         "prompt/prefix or response caching: the same workload, cheaper repeats"),
        OptimizationKind("streaming", "streaming", ("streaming",), False,
                         "streaming the answer: the user waits for the first token instead of the whole answer"),
        OptimizationKind("right-sizing", "model right-sizing", ("model",), True,
                         "a smaller (or cheaper) model for the same task: a different model is intended"),
    )
}
OPTIMIZATION_KIND_NAMES: tuple[str, ...] = tuple(OPTIMIZATION_KINDS)
