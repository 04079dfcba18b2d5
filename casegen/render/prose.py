"""The report's fixed sentences, captions and headings, written once for every output.

The HTML and Markdown templates print these (``{{ prose.no_cost }}``, ``{{ prose.sweep_intro(…) }}``)
instead of each carrying its own copy; only the markup around them (a ``<p class="caption">`` or a
Markdown ``*…*``) is the template's. Values arrive already formatted (the templates' filters), and
every sentence is plain text: each template environment escapes it for its own output (HTML
autoescape, Markdown's :func:`casegen.render.mdtext.md_finalize`).

Sentences that state a finding (a verdict, a bound, a cost) are not here: they are decided in
:mod:`casegen.story`, once, and carried by the Report.
"""

from __future__ import annotations

from types import SimpleNamespace

REPORT_KIND = "Inference optimization case study"
#: the one-pager's eyebrow, beside the author's byline (the title says what was optimized)
REPORT_KIND_SHORT = "Case study"

# --- page 1 -----------------------------------------------------------------------------------------
MISSED_TITLE = "Objectives not met after the change"


def still_valid(comparisons: list[str], note: str = "") -> str:
    """What stays comparable when the two sides' workloads differ."""
    if not comparisons:
        return "No latency comparison remains valid."
    return f"Comparisons that remain valid: {', '.join(comparisons)}" + (f" — {note}" if note else "") + "."


# --- method -----------------------------------------------------------------------------------------


def method_intro(summary_only: list[str], compare_at: str | None = None) -> str:
    """How the figures were obtained: recomputed from per-request records, or as the tool printed them; in a sweep
    (``compare_at``: the load point compared in detail) which load point the table describes."""
    how = (f"recomputed every figure it could; {' and '.join(summary_only)} carried only the tool's summary "
           "statistics, which are reported as printed" if summary_only else
           "recomputed every figure from the per-request records with one set of definitions (appendix A)")
    point = (f" The table describes the load point compared in detail ({compare_at}); the sweep's table lists every "
             "load point." if compare_at else "")
    return (f"Both sides were measured with the benchmark client below. The report generator (casegen) re-read the "
            f"tools' output files and {how}.{point}")


TOOLS_DIFFER = "The two sides were measured with different tools"


def tools_differ_detail(tools: list[str]) -> str:
    """What follows :data:`TOOLS_DIFFER` (which the templates print in bold)."""
    return (f"({' and '.join(tools)}). casegen applied one set of formulas to each tool's records (names mapped as in "
            "appendix C), but each tool timestamps requests in its own client, so part of any difference can come "
            "from the tools themselves; see Threats to validity.")


def _lower_words(label: str) -> str:
    """A table label inside a sentence: lower case, acronyms kept ('Driver / CUDA' → 'driver / CUDA')."""
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in label.split(" "))


def not_recorded(items: list[str]) -> str:
    return f"Not recorded, by the tools' files or the author: {', '.join(_lower_words(x) for x in items)}."


POOLED_CAPTION = ("Requests of all repetitions are pooled for the results below; CV is the coefficient of variation "
                  "across repetitions.")

# --- results ----------------------------------------------------------------------------------------
CDF_CAPTION = "Cumulative distributions over successful requests: a curve further left is faster at every percentile."
PARITY_TITLE = "Where casegen and the benchmark tool disagree by more than 1%"


def throughput_caption(confidence: str, rate_bound: bool) -> str:
    """How to read the throughput table, and why it is no verdict when the load generator set it."""
    text = ("Throughput: higher is better; successful requests and their tokens divided by the run's duration. A change "
            f"is marked better or worse only when its {confidence} interval (from the throughput of successive stretches of "
            "the run) excludes zero; "
            "† no interval (summary-only data, no send times, too short a run, or no steady state).")
    if rate_bound:
        text += (" Both runs kept up with the same offered rate, so their throughput is set by the load generator, not "
                 "by the server: differences here are not a verdict.")
    return text


# --- SLOs, sweeps, ladders ----------------------------------------------------------------------------
JOINT_ATTAINMENT = "Requests meeting every objective"
#: above an SLO table whose judged rows all rest on the tools' printed percentiles (summary-only data)
SLO_PRINTED_ALL = ("The runs hold only the tools' summary statistics, so each objective is judged by the percentile the "
                   "tool printed: pass means the printed value is within the threshold, fail that it exceeds it. With "
                   "no per-request latencies there is no confidence statement behind either verdict.")
#: … and beside per-request rows: the rows judged by a printed percentile say so in their "Why"
SLO_PRINTED_SOME = ("Rows whose reason reads \"by the tool's printed …\" come from summary-only data: they compare the "
                    "printed value with the threshold, with no confidence statement.")
SWEEP_HEADING = "Load sweep and capacity at SLO"
NO_SLOS_SWEEP = "No SLOs were given, so no capacity at SLO can be computed; the curves show the latency at each load."


#: a sweep's single-load results, behind the notes (issue 23): named for what they are
SWEEP_DETAIL_HEADING = "At the shared load point"


def sweep_detail_intro(compare_at: str) -> str:
    """The first line of a sweep's single-load results: what they are and where the finding is."""
    return (f"The one load both sweeps measured ({compare_at}), compared request statistic by statistic. "
            "The sweep's finding is the capacity at the objectives, in the load-sweep section; these tables compare "
            "the two sides at this one load only.")


def not_recorded_either(labels: list[str]) -> str:
    """Under the same-workload table: what neither side's files record, so it could not be compared."""
    return f"Not recorded on either side, so not compared: {', '.join(_lower_words(x) for x in labels)}."


def sweep_intro(kind: str, points: tuple[int, int], compare_at: str, attainment: str | None,
                data: tuple[str, ...] = ("per-request",), strictest: str | None = None) -> str:
    """How a load sweep was measured and how a load point passes: one plain rule for the kinds of
    points the sweeps have (``data``: 'per-request', 'summary'). ``attainment``: the formatted share of
    requests that must meet every limit at once (the case's capacity rule, which replaces the
    objectives' own percentiles for per-request points), or None; ``strictest``: the highest percentile
    an objective names ('p99'), to say how the two rules differ."""
    rules = []
    if "per-request" in data:
        if attainment:
            rules.append(f"at least {attainment} of its requests meet every objective's limit at once (this case's "
                         "rule for the sweep" + (f", looser than the {strictest} the objectives name" if strictest else "")
                         + ")")
        else:
            rules.append("each objective's percentile, recomputed from its requests, is within the limit as in the "
                         "objectives' table (within the limit but too few requests to be sure is 'inconclusive' and "
                         "counts as passing)")
    if "summary" in data:
        rules.append("each objective's percentile, as the tool printed it, is within the limit" +
                     (" (for points with summary statistics only)" if "per-request" in data else ""))
    rule = "; or, ".join(rules) if rules else "every objective holds"
    many = f"{points[0]} load points each" if points[0] == points[1] else f"{points[0]} and {points[1]} load points"
    return (f"Each side was measured at several loads ({kind}; {many}). The detailed "
            f"tables near the end ({SWEEP_DETAIL_HEADING.lower()}) compare the two sides in detail at one load "
            f"they both measured ({compare_at}). A load point passes "
            f"when {rule}. The capacity is the highest throughput that passes, interpolated between the last passing "
            "and the first failing point.")


WATERFALL_CAPTION = ("Waterfall: the baseline, each step's change (green helps, red hurts) and the total. The steps add "
                     "up to the total change (to the rounding of the labels; a total marked ≥ or ≤ is rounded the "
                     "way that keeps its bound true).")

def ladder_intro(steps: int, rungs: list[str], compare_load: str | None, per_request: bool, confidence: str) -> str:
    """How a ladder of steps is read."""
    at = f", at the load every variant measured ({compare_load})" if compare_load else ""
    how = (f"intervals are {confidence} bootstrap intervals of the change, and a change whose interval includes 0 is "
           "not called better or worse" if per_request else
           "some variants have summary statistics only, so the changes are point estimates without intervals")
    return (f"The optimization came in {steps} steps: {' → '.join(rungs)}. Each step is compared with the one before "
            f"it{at}; {how}.")


def lm_eval_interval(tolerance: str, version: str, notes: list[str]) -> str:
    """How an lm-eval quality verdict was reached."""
    text = ("Interval from the harness's standard errors: delta ± z·√(se_b² + se_o²); within = the whole interval loses "
            f"at most the tolerance ({tolerance}), outside = all of it loses more. lm-eval {version}.")
    return text + "".join(f" {n}." for n in notes)


# --- cost -------------------------------------------------------------------------------------------
NO_COST = "No cost assumptions were given, so this study makes no cost claim."


def revenue_title(usd_per_month: str) -> str:
    return f"Revenue effect (an assumption, not included in the savings above): {usd_per_month} per month"


def projected_volume(volume: str, basis: str, headroom: str) -> str:
    """The volume assumption and how the monthly cost follows from it."""
    how = ("monthly cost = cost per request × volume" if basis == "usage" else
           f"monthly cost = always-on fleet sized for the peak at {headroom} of measured throughput")
    return f"Projected volume: {volume} requests per month; {how}; 730 hours per month."


def priced_throughput(priced_at: str | None) -> str | None:
    """What throughput the self-hosted cost is priced at, as it is (``_priced_at`` in render.html)."""
    return {
        "capacity": ("Each side is priced at its capacity at SLO from the sweep (the highest throughput at which "
                     "every objective held), not at the throughput of one load point."),
        "stated": "Each side is priced at the capacity stated with the cost assumptions, not at the run's throughput.",
        "measured": ("Each side is priced at the throughput its run measured at the offered load, not at a saturation "
                     "peak: the cost per token is only as good as that operating point."),
    }.get(priced_at or "")


# --- trade-offs, teardown, threats ---------------------------------------------------------------------
HELPS_HURTS_HEADING = "Where the change helps and where it hurts"
NO_CROSSOVER = ("No segment changes sign: the change does not help one part of the traffic and hurt another "
                "(within the intervals).")
TEARDOWN_SPLIT_HEADING = "Queue wait, prefill and decode"
#: the heading when no side separates queue wait from prefill: what is left is the bottleneck
TEARDOWN_BOTTLENECK_HEADING = "Bottleneck"
BOTH_SIDES = "Both sides"
QUEUE_WAIT_CAPTION = ("Queue wait = TTFT minus what the light-load fit of TTFT on prompt length predicts (the wait "
                      "the request's own prompt length does not explain).")
NO_THREATS = "casegen found nothing that weakens this comparison."
THREATS_INTRO = ("What could make these numbers mislead, found by casegen's checks. Each item says what was found "
                 "and why it matters.")


# --- appendix ---------------------------------------------------------------------------------------


def percentile_rule(method: str, summary_only: list[str] | tuple[str, ...] = (), sides: int = 2) -> str:
    """How the percentiles were computed; as the tools printed them for sides with summary statistics only."""
    if summary_only and len(summary_only) >= sides:
        return ("As each benchmark tool printed them: the runs carry only the tools' summary statistics, not the "
                "individual requests.")
    how = ("Linear interpolation between order statistics (NumPy default, as vLLM, GenAI-Perf and AIPerf compute them)"
           if method == "linear" else "MLPerf nearest rank: sorted(x)[⌊n·p⌋]" if method == "mlperf"
           else "NumPy nearest: the sorted value at rank round((n − 1)·p)")
    text = f"{how}; std is the population standard deviation."
    if summary_only:
        text += f" {' and '.join(summary_only)}: as the tool printed them (summary statistics only)."
    return text


def intervals_method(method: str, confidence: str, resamples: str, summary_only: list[str] | tuple[str, ...] = ()) -> str:
    """The statistical method, short (docs/statistics.md has the detail); one line when a side has summary
    statistics only, since then no change has an interval."""
    if summary_only:
        return (f"Not computed: {' and '.join(summary_only)} carried only the tool's summary statistics, not the "
                "individual requests, so how much each figure could vary is unknown; every change is a point value (†) "
                "and none is called significant.")
    return (f"{confidence} confidence intervals allow for neighbouring requests being alike: for percentiles, "
            "order-statistic intervals on the effective number of independent requests; for means, a block bootstrap "
            f"in send order; for inter-chunk gaps, whole requests as the unit; for a change, {resamples} seeded draws "
            "per side. The statistics the objectives name, and the medians, are tested together as one corrected family; "
            "other changes are marked exploratory and may be chance. Segment-by-segment comparisons are widened for "
            "the number of segments k (Bonferroni: each at 1 − 5%/k). A change whose interval includes zero is \"no "
            "significant change\"; † marks a point value with too few independent requests for an interval.")


def workload_method() -> str:
    """How "Same workload on both sides?" compares token lengths (appendix A; the table says it in plain words)."""
    return ("Token lengths are compared with a two-sample Kolmogorov–Smirnov test (its D is the largest gap, at any "
            "length, between the two sides' shares of requests up to that length) and their means with an equivalence "
            "test (two one-sided tests: the same when the 90% interval of the difference lies within the margin).")


def verdict_method(confidence: str) -> str:
    """How an objective's verdict is judged from per-request data (appendix A; the SLO section points here)."""
    return (f"MLPerf LoadGen's early-stopping rule: from the number of requests and how many exceeded the threshold "
            f"(failed requests count as exceeding it), pass when the share over the threshold is smaller than the "
            f"percentile allows (1% for p99) with {confidence} confidence; fail when it is larger even for a system "
            "exactly at the limit; otherwise inconclusive, with how many more requests, all within the threshold, would "
            "pass. Where neighbouring requests are alike, the counts are scaled down to what they are worth as "
            "independent requests.")


def command_not_recorded(settings: str) -> str:
    return f"the command was not recorded; the file records the load as {settings}."


PARITY_HEADING = "Parity with the tools' own summaries"


def parity_summary(n: int, flagged: int, unexplained: int) -> str:
    text = f"casegen recomputed {n} figures that the benchmark tools also printed; "
    if not flagged:
        return text + "all agree within 1%."
    why = (f"{unexplained} of them for a reason casegen cannot name" if unexplained else
           "each for the reason given in its row")
    return text + f"{flagged} differ by more than 1% (flagged), {why}."


def parity_largest(diff: str, side: str, metric: str, stat: str) -> str:
    if diff.lstrip("+−-") == "0.00%":  # rounds to nothing at two decimals: no figure to single out
        return "No figure differs by more than 0.005%."
    return f"Largest difference: {diff} ({side}, {metric} {stat})."


def parity_listed(n: int) -> str:
    return f"Listed: the figures that differ by more than 1%, of {n:,} compared."


def colophon(version: str) -> str:
    return f"Generated by casegen {version} from the files above; latencies in the tables are milliseconds unless marked s."


def namespace() -> SimpleNamespace:
    """Every sentence and sentence function above, as the templates' ``prose``."""
    return SimpleNamespace(**{k: v for k, v in globals().items()
                              if not k.startswith("_") and (k.isupper() or callable(v))
                              and k not in ("namespace", "SimpleNamespace", "annotations")})
