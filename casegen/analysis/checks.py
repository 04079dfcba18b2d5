"""Threats to validity: workload comparison (apples to apples) and realism checks.

Every check returns :class:`Threat` objects with a one-line reason and a fix. Severity
``major`` threats about the comparison itself are shown on page 1 of the report; all threats
are listed in the "Threats to validity" section and make ``casegen build --strict`` fail.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from casegen import registry
from casegen.analysis import stats
from casegen.analysis.metrics import RunMetrics
from casegen.formatting import fmt_independent
from casegen.runs.model import Run

KS_P = 0.01  # two-sample KS p-value below which token distributions "differ"
LENGTH_TOL = 0.05  # relative difference of medians that matters
EQUIVALENCE_MARGIN = 0.05  # default TOST margin for "same token lengths" (analysis.workload_margin)


@dataclass(frozen=True)
class TooFew:
    """The "Too few requests for p99" threat as figures (the story words them, ``casegen.story.threats``):
    the statistic, what its interval needs (independent requests; requests alike in send order), the run's
    requests and, per metric withheld, the interval rule's :class:`~casegen.analysis.uncertainty.Shortfall`
    — or, where something else withholds it (a saturated run, …), that reason."""

    stat: str
    needed: int
    needed_dependent: int
    requests: int | None
    shortfalls: tuple[tuple[str, Any], ...] = ()  # (metric, Shortfall)
    others: tuple[tuple[str, str], ...] = ()  # (metric, reason)


@dataclass(frozen=True)
class Threat:
    key: str
    severity: str  # "major" (comparison validity) or "minor"
    title: str
    reason: str
    fix: str
    side: str | None = None  # "baseline", "optimized" or None for both / the comparison
    #: the figures behind a "Too few requests" threat (its reader text is worded from them)
    too_few: TooFew | None = None


@dataclass
class WorkloadRow:
    label: str
    base: str
    opt: str
    differs: bool
    detail: str = ""
    informational: bool = False  # a difference that does not invalidate the comparison by itself
    #: equivalence test (TOST) of the row's mean: True = same within the margin, False = not shown to
    #: be the same (the report must not say "same"), None = no such test for this row
    equivalent: bool | None = None


@dataclass(frozen=True)
class Equivalence:
    """TOST of two means: relative difference (opt − base)/base with its 90 % interval (two one-sided
    5 % tests ⇔ the 90 % interval inside ±margin)."""

    diff: float
    low: float
    high: float
    margin: float
    n_eff: tuple[float, float]
    se: float

    @property
    def equivalent(self) -> bool:
        return -self.margin < self.low and self.high < self.margin

    @property
    def different(self) -> bool:
        """The means differ (two-sided 5 %: the 95 % interval d ± 1.96·se excludes 0) by more than the
        margin (point estimate)."""
        z95 = 1.959963984540054
        return abs(self.diff) > self.margin and abs(self.diff) > z95 * self.se

    def text(self) -> str:
        rng = f"{self.low:+.1%} to {self.high:+.1%}".replace("-", "\u2212")
        if self.equivalent:
            return f"mean the same within ±{self.margin:.0%} (equivalence test; 90% interval of the difference {rng})"
        return f"not shown to be the same within ±{self.margin:.0%} (90% interval of the mean difference {rng})"


def mean_equivalence(base: np.ndarray, opt: np.ndarray, margin: float) -> Equivalence | None:
    """TOST for "the means differ by less than ``margin`` (relative)" on values in send order.

    Delta method: Var(d) ≈ (Var(m_o) + r²·Var(m_b)) / m_b² with r = m_o/m_b, Var(m) = f·s²/n where f is
    the long-run variance factor in send order (``casegen.analysis.dependence``; 1 for independent requests).
    """
    from casegen.analysis.dependence import dependence

    if base.size < 2 or opt.size < 2:
        return None
    mb, mo = float(base.mean()), float(opt.mean())
    if mb <= 0:
        return None

    def var_mean(x: np.ndarray) -> tuple[float, float]:
        dep = dependence(x)
        f = dep.lrv_factor if dep.dependent else 1.0
        return f * float(np.var(x, ddof=1)) / x.size, x.size / f

    vb, nb = var_mean(base)
    vo, no = var_mean(opt)
    r = mo / mb
    se = math.sqrt(vo + r * r * vb) / mb
    d = r - 1
    z = 1.6448536269514722  # one-sided 5 %
    return Equivalence(d, d - z * se, d + z * se, margin, (nb, no), se)


#: threats that an intended difference (``registry.OptimizationKind.intended``) turns into a finding
INTENDED_THREATS = {"input": ("input-differs", "input-not-shown-same"),
                    "output": ("output-differs", "output-not-shown-same"),
                    "streaming": ("streaming-differs",)}
_ROW_DIFFERENCE = {"Input tokens": "input", "Output tokens": "output", "Streaming": "streaming", "Model": "model"}


@dataclass
class WorkloadComparison:
    rows: list[WorkloadRow] = field(default_factory=list)
    ks: dict[str, dict[str, float]] = field(default_factory=dict)  # input/output → {d, p}
    equivalence: dict[str, Equivalence] = field(default_factory=dict)  # input/output → TOST of the means
    threats: list[Threat] = field(default_factory=list)
    still_valid: list[str] = field(default_factory=list)
    #: how far the comparisons in ``still_valid`` can be trusted, when a threat limits them
    valid_note: str = ""


def _tokens(run: Run, col: str, ordered: bool = False) -> np.ndarray:
    if run.requests is None:
        return np.array([])
    df = run.requests[run.requests["success"]]
    if ordered and df.all_known("start_s"):
        df = df.sort_values("start_s")
    x = df[col]
    return x[np.isfinite(x)]


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:g}"
    return str(v)


def _ks_words(d: float, p: float) -> str:
    """A two-sample Kolmogorov–Smirnov result in reader words (the test is named in appendix A): D is the largest
    gap, at any length, between the two sides' shares of requests up to that length."""
    if d == 0:
        return "identical length distributions"
    chance = "p < 0.001" if p < 0.001 else f"p = {p:.2g}"
    share = f"{d:.0%}" if d >= 0.01 else f"{d:.1%}"
    return f"length distributions: the share of requests up to any one length differs by at most {share} ({chance})"


def compare_workloads(base: Run, opt: Run, mb: RunMetrics, mo: RunMetrics,
                      margin: float = EQUIVALENCE_MARGIN, intended: tuple[str, ...] = (),
                      kind_label: str = "") -> WorkloadComparison:
    """Rows and threats of the workload comparison. ``intended``: differences the optimization makes on
    purpose (``registry.OPTIMIZATION_KINDS``: "input", "output", "streaming", "model"); they are
    reported as intended rows (the cheap-win findings state them with intervals), not as threats."""
    wc = WorkloadComparison()
    T = wc.threats

    def row(label: str, b: Any, o: Any, differs: bool, detail: str = "", informational: bool = False,
            equivalent: bool | None = None) -> None:
        wc.rows.append(WorkloadRow(label, _fmt(b), _fmt(o), differs, detail, informational, equivalent))

    nb, no = mb.requests.get("total"), mo.requests.get("total")
    differs = bool(nb and no and abs(nb - no) / max(nb, no) > 0.1)
    row("Requests issued", nb, no, differs)
    if differs:
        cut = base.trimmed or opt.trimmed
        T.append(Threat("request-count", "minor", "Different number of requests",
                        f"{nb} vs {no} requests" + (" after the warm-up was trimmed" if cut else "")
                        + ": tail percentiles rest on different sample sizes",
                        "run longer, so that what is left after the warm-up is alike on both sides" if cut
                        else "run the same number of prompts on both sides"))

    for kind, col in (("input", "input_tokens"), ("output", "output_tokens")):
        xb, xo = _tokens(base, col), _tokens(opt, col)
        if xb.size and xo.size:
            d, p = stats.ks_2samp(xb, xo)
            wc.ks[kind] = {"d": d, "p": p}
            med_b, med_o = float(np.median(xb)), float(np.median(xo))
            rel = abs(med_o - med_b) / med_b if med_b else 0.0
            eq = mean_equivalence(_tokens(base, col, ordered=True), _tokens(opt, col, ordered=True), margin)
            # different: the KS test rejects with a material difference, or the mean differs by more
            # than the margin with 95 % confidence (more power than KS against a plain shift)
            differs = (p < KS_P and (d > 0.1 or rel > LENGTH_TOL)) or bool(eq is not None and eq.different)
            if eq is not None:
                wc.equivalence[kind] = eq
            row(f"{kind.capitalize()} tokens (p50 / p90)",
                f"{med_b:,.0f} / {np.percentile(xb, 90):,.0f}", f"{med_o:,.0f} / {np.percentile(xo, 90):,.0f}",
                differs, _ks_words(d, p)
                + (f"; {eq.text()}" if eq is not None else ""),
                equivalent=None if eq is None else eq.equivalent)
            if not differs and eq is not None and not eq.equivalent:
                T.append(Threat(f"{kind}-not-shown-same", "minor",
                                f"Same {kind} lengths not shown",
                                f"no test finds the {kind} lengths different, but the data cannot show them equal within "
                                f"±{margin:.0%} either ({eq.text()}): absence of evidence is not evidence of the same "
                                "workload", "replay the same prompts and output settings on both sides, or run more "
                                "requests"))
            if differs and kind == "input":
                T.append(Threat("input-differs", "major", "The two sides served different prompts",
                                f"input lengths differ (median {med_b:,.0f} vs {med_o:,.0f} tokens; {_ks_words(d, p)}); "
                                "TTFT depends on prompt length", "replay the same prompts (same dataset and seed) on both sides"))
            if differs and kind == "output":
                T.append(Threat("output-differs", "major", "The two sides generated different output lengths",
                                f"output lengths differ (median {med_b:,.0f} vs {med_o:,.0f} tokens; {_ks_words(d, p)}); "
                                "end-to-end latency and requests/s are not comparable, per-token metrics (TPOT, "
                                "inter-chunk latency) and TTFT still are", "cap or fix output length (max_tokens with ignore_eos) "
                                "on both sides, or compare per-token metrics"))
        else:
            mb_tok, mo_tok = mb.tokens.get(kind), mo.tokens.get(kind)
            differs = bool(mb_tok and mo_tok and mb_tok.mean and mo_tok.mean is not None
                           and abs(mo_tok.mean - mb_tok.mean) / mb_tok.mean > 2 * LENGTH_TOL)
            row(f"{kind.capitalize()} tokens (mean)", f"{mb_tok.mean:,.0f}" if mb_tok else None,
                f"{mo_tok.mean:,.0f}" if mo_tok else None, differs,
                f"summary statistics only: the means are compared (more than {2 * LENGTH_TOL:.0%} apart would count "
                "as different); the lengths' spread is not known")
            if differs and mb_tok and mo_tok:
                key, what = (("input-differs", "prompts") if kind == "input" else ("output-differs", "output lengths"))
                T.append(Threat(key, "major", f"The two sides had different {what}",
                                f"mean {kind} tokens {mb_tok.mean:,.0f} vs {mo_tok.mean:,.0f}"
                                + ("; TTFT depends on prompt length" if kind == "input" else
                                   "; end-to-end latency and requests/s are not comparable, per-token metrics and TTFT still are"),
                                "replay the same prompts with the same output-length settings on both sides"))

    rb, ro = base.meta.request_rate, opt.meta.request_rate
    cb, co = base.meta.max_concurrency, opt.meta.max_concurrency
    differs = (rb != ro and not (rb is not None and ro is not None and math.isclose(rb, ro))) or cb != co
    row("Offered load", base.meta.describe_load(), opt.meta.describe_load(), differs)
    if differs:
        T.append(Threat("load-differs", "major", "The two sides ran at different load",
                        f"{base.meta.describe_load()} vs {opt.meta.describe_load()}: latency depends on load, so the "
                        "deltas mix the optimization with the load change", "benchmark both sides at the same rate and concurrency "
                        "(or compare load sweeps)"))

    model_differs = (base.meta.model or "") != (opt.meta.model or "")
    row("Model", base.meta.model, opt.meta.model, model_differs,
        "expected when the optimization changes the checkpoint" if model_differs else "", informational=True)
    tb, to = base.meta.tokenizer, opt.meta.tokenizer
    if tb or to:
        differs = (tb or "") != (to or "")
        row("Tokenizer", _tokenizer_text(tb), _tokenizer_text(to), differs,
            "token counts may differ if the tokenizers do" if differs else "", informational=True)
    vb = f"{base.meta.tool} {base.meta.tool_version or ''}".strip()
    vo = f"{opt.meta.tool} {opt.meta.tool_version or ''}".strip()
    row("Benchmark tool", vb, vo, vb != vo, informational=True)
    if base.meta.tool != opt.meta.tool:
        generic = {"casegen", "table", "csv", "jsonl"}  # a generic per-request table names no client
        known = base.meta.tool not in generic and opt.meta.tool not in generic
        T.append(Threat("tool-differs", "major" if known else "minor", "Different benchmark tools on the two sides",
                        f"{base.meta.tool} measured the baseline and {opt.meta.tool} the optimized side; each tool "
                        "timestamps requests and counts tokens in its own client, so part of any difference can come "
                        "from the tools rather than the change",
                        "measure both sides with the same benchmark client and version"))
    sb, so = base.meta.streaming, opt.meta.streaming
    row("Streaming", sb, so, sb is not None and so is not None and sb != so)
    if sb is not None and so is not None and sb != so:
        T.append(Threat("streaming-differs", "major", "One side streamed and the other did not",
                        "TTFT is not measured without streaming", "stream on both sides"))

    for r in wc.rows:
        difference = _ROW_DIFFERENCE.get(r.label.split(" (")[0])
        if difference in intended and r.differs:
            r.informational = True
            r.detail = (r.detail + "; " if r.detail else "") + f"intended ({kind_label or difference})"
    skip = {key for what in intended for key in INTENDED_THREATS.get(what, ())}
    wc.threats = [t for t in T if t.key not in skip]
    valid = ["TTFT", "TPOT", "inter-chunk latency", "end-to-end latency", "throughput"]
    keys = {t.key for t in wc.threats}
    if "output-differs" in keys:
        valid = ["TTFT", "TPOT", "inter-chunk latency"]
    if "input-differs" in keys:
        valid = [v for v in valid if v != "TTFT"]
    if "load-differs" in keys:
        valid = []
    if "streaming-differs" in keys:
        valid = [v for v in valid if v not in ("TTFT", "TPOT", "inter-chunk latency")]
    if any(t.key == "tool-differs" and t.severity == "major" for t in T):
        if base.requests is None or opt.requests is None:
            valid = []  # the tools' own printed definitions were never reconciled
        elif valid:
            wc.valid_note = ("comparable only because casegen recomputed both sides from per-request records with "
                             "one set of definitions; each tool still timestamps requests in its own client, so a "
                             "difference of a few percent can come from the tools alone")
    wc.still_valid = valid
    return wc


def _tokenizer_text(name: str | None) -> str | None:
    """A tokenizer as the reader can use it: a hub id as written; a path on the benchmark machine as
    'a local copy (<folder>)', since the machine's file system means nothing to the reader."""
    if not name:
        return name
    text = name.strip()
    if text.startswith(("/", "./", "../", "~", "\\")) or re.match(r"^[A-Za-z]:[\\/]", text):
        leaf = re.split(r"[\\/]", text.rstrip("/\\"))[-1] or text
        return f"a local copy ({leaf})"
    return text


#: "Run shorter than 60 s": below SHORT_RUN_S − SHORT_RUN_TOLERANCE_S of traffic (first send → last response)
SHORT_RUN_S = 60.0
SHORT_RUN_TOLERANCE_S = 0.5


def realism_checks(side: str, run: Run, m: RunMetrics, *, trimmed: bool) -> list[Threat]:
    """Warnings about a single run that make its numbers less trustworthy."""
    T: list[Threat] = []
    if m.source == "summary":
        T.append(Threat("summary-only", "minor", "Summary-only run",
                        "the file carries only the tool's summary statistics: no intervals or attainment, and SLO "
                        "verdicts compare the tool's printed percentiles with the limits, without a test",
                        "save per-request data (e.g. vLLM --save-detailed)", side))
    if m.source == "per-request":
        ins = _tokens(run, "input_tokens")
        if ins.size > 1 and np.ptp(ins) == 0:
            T.append(Threat("fixed-prompts", "minor", "Fixed-length synthetic prompts",
                            f"every prompt has exactly {ins[0]:,.0f} tokens: real traffic varies, and batching behaves "
                            "differently", "use a dataset with realistic length spread (or a trace)", side))
        outs = _tokens(run, "output_tokens")
        if outs.size > 1 and np.ptp(outs) == 0:
            T.append(Threat("fixed-outputs", "minor", "Fixed-length outputs",
                            f"every response has exactly {outs[0]:,.0f} tokens (a fixed output length): fine for "
                            "per-token comparisons, but end-to-end latency hides output-length effects of the change",
                            "let the model stop naturally if the optimization can change output length", side))
        df = run.requests
        if df is not None and m.latency_ms.get("ttft") is not None:
            ok = df[df["success"]]
            if len(ok) > 1 and np.allclose(ok["ttft_s"], ok["e2e_s"], equal_nan=False):
                T.append(Threat("non-streaming-ttft", "major", "TTFT reported for a non-streaming run",
                                "TTFT equals end-to-end latency for every request, so it is not a time to first token",
                                "benchmark with streaming, or drop TTFT from the comparison", side))
    if run.meta.streaming is False and m.latency_ms.get("ttft") is not None:
        T.append(Threat("non-streaming-ttft", "major", "TTFT reported for a non-streaming run",
                        "without streaming the first token arrives with the whole answer", "benchmark with streaming", side))
    if run.meta.max_concurrency == 1 or (run.meta.extra.get("concurrency") in (1, "1")):
        T.append(Threat("concurrency-1", "minor", "Only concurrency 1",
                        "one request at a time never exercises batching, where most serving optimizations pay off",
                        "benchmark at the concurrency or rate production sees", side))
    d = m.throughput.get("duration_s")
    # a run set to 60 s measures a little less from first send to last response: 59.9 s is a minute
    if d is not None and d < SHORT_RUN_S - SHORT_RUN_TOLERANCE_S:
        T.append(Threat("short-run", "minor", "Run shorter than 60 s",
                        f"{d:.0f}" + " s of traffic: caches, clocks and queues may not reach steady state",
                        "run for minutes (MLPerf requires 600 s)", side))
    if not trimmed:
        T.append(Threat("no-warmup", "minor", "No warm-up excluded",
                        "the first requests pay for cold caches and one-time start-up work (on a GPU server: "
                        "CUDA graph capture, JIT compilation)",
                        "exclude a warm-up (analysis.warmup in case.yaml, or the tool's warm-up option)", side))
    er = m.requests.get("error_rate")
    if er is not None and er > 0.01:
        T.append(Threat("errors", "major", "Error rate above 1%",
                        f"{er:.1%} of requests failed; latency figures describe only the survivors",
                        "fix the errors, or judge the run by goodput/attainment (failures count against SLOs)", side))
    if len(run.parts) <= 1:
        T.append(Threat("one-repetition", "minor", "One repetition",
                        "a single run cannot show run-to-run variation (thermal state, placement, noisy neighbours)",
                        "repeat each side (≥ 3 runs) and list them under runs.<side>.path", side))
    return T


def small_sample_threats(side: str, intervals: Any, stat: str = "p99") -> list[Threat]:
    """"Too few requests for p99" exactly when the report withholds a p99 interval (†): the figures come
    from the interval rule itself (``uncertainty.support_shortfall`` / ``effective_n_needed``), carried as
    data (:class:`TooFew`) for the story to word, so the threat, the † notes and docs/statistics.md state
    one rule."""
    from casegen.analysis.uncertainty import effective_n_needed

    short = [metric for metric, row in intervals.supported.items() if row.get(stat) is False]
    if not short:
        return []
    counted = getattr(intervals, "shortfalls", {})
    shortfalls = tuple((m, counted[m][stat]) for m in short if stat in counted.get(m, {}))
    others = tuple((m, intervals.reasons.get(m, {}).get(stat, "")) for m in short if stat not in counted.get(m, {}))
    per_request = [n for m, n in getattr(intervals, "n", {}).items() if m != "itl"]
    conf = intervals.confidence
    need, need_dep = effective_n_needed(stat, confidence=conf), effective_n_needed(stat, True, conf)
    facts = TooFew(stat, need, need_dep, max(per_request) if per_request else None, shortfalls, others)
    return [Threat("too-few-requests", "minor", f"Too few requests for {stat}",
                   f"no {stat} interval (†, point value only)",
                   f"run more requests at a steady load: {stat} needs ≥ {need:,} effective samples, "
                   f"≥ {need_dep:,} when neighbouring requests are alike",
                   side, facts)]


def untested_worse_threats(segments: Any, optimized_label: str) -> list[Threat]:
    """A major threat for each load point of a sweep whose change no test supports
    (``segments.load_point_gate``) but whose point figures show an objective's statistic markedly higher on
    the optimized side (``Segments.untested_worse``): page 1 names it among its caveats — never as a
    regression, which needs a test (issue 21) — so a slowdown the data cannot test is not hidden."""
    if segments is None or not segments.untested_worse:
        return []
    from casegen.analysis.metrics import METRIC_LABELS
    from casegen.formatting import fmt_ms

    by_load: dict[str, list[Any]] = {}
    for u in segments.untested_worse:
        by_load.setdefault(u.load_text, []).append(u)
    out = []
    for load_text, items in by_load.items():
        figures = ", ".join(f"{METRIC_LABELS.get(u.metric, u.metric)} {u.stat} {fmt_ms(u.baseline_ms)} → "
                            f"{fmt_ms(u.optimized_ms)}" for u in items)
        why = items[0].why
        why_text = (f"with {why} a side, too few to test the change" if why.endswith(" requests")
                    else f"{why}, so the change is not tested")
        out.append(Threat("untested-worse", "major", f"{optimized_label} slower at {load_text}, untested",
                          f"by the point figures at {load_text}: {figures}; {why_text}",
                          f"measure {load_text} again with enough requests a side to test it", None))
    return out


def transient_threats(side: str, transient: Any) -> list[Threat]:
    """What the MSER-5 warm-up check found (casegen.analysis.transient): a trimmed warm-up, a run with
    no steady part, or — when analysis.warmup is not ``auto`` — a warm-up worth trimming."""
    from casegen.analysis.transient import MATERIAL_SHARE

    t = transient
    if t is None:
        return []
    if not t.steady:
        return [Threat("no-steady-state", "major", "No steady state",
                       t.reason + "; its statistics describe a moving target, so none gets an interval (†)",
                       "run longer, at a load the server can sustain, on a machine nothing else is using", side)]
    if t.applied and t.requests_trimmed:
        return [Threat("warmup-transient", "minor", "Warm-up transient trimmed",
                       f"{t.reason}: those {t.requests_trimmed:,} requests ({t.share:.0%}) are left out and the "
                       "statistics describe the steady part", "run longer so that the steady part dominates", side)]
    if not t.applied and t.share >= MATERIAL_SHARE:
        return [Threat("warmup-transient", "minor", "Run starts with a warm-up transient",
                       f"{t.reason}: {t.share:.0%} of the run, included in its statistics",
                       "set analysis.warmup: auto in case.yaml to analyse the steady part", side)]
    return []


def dependence_threats(side: str, intervals: Any) -> list[Threat]:
    """A threat when neighbouring requests (in send order) are alike: intervals then rest on far
    fewer effectively independent requests than were sent."""
    from casegen.analysis.dependence import THREAT_LAG1
    from casegen.analysis.metrics import METRIC_LABELS

    worst = None
    for metric, dep in intervals.dependence.items():
        if dep.dependent and dep.lag1 > THREAT_LAG1 and (worst is None or dep.lag1 > worst[1].lag1):
            worst = (metric, dep)
    if worst is None:
        return []
    metric, dep = worst
    name = METRIC_LABELS.get(metric, metric)
    low = name if name[:2].isupper() else name[:1].lower() + name[1:]
    return [Threat("autocorrelated", "minor", "Neighbouring requests are alike",
                   f"{name} of consecutive requests is correlated ({dep.lag1:.2f} between each request and the next, "
                   f"in send order): queues and batches make neighbours alike, so for an average of {low} the "
                   f"{dep.n:,} requests are worth {'about ' if dep.n_eff >= 1.5 else ''}{fmt_independent(dep.n_eff)}. "
                   "casegen widens intervals for it (appendix A)",
                   "run longer (more requests) at a steady load, or repeat the run", side)]


# --------------------------------------------------------------------------- plausibility

MIN_PLAUSIBLE_MS = 1.0  # a TTFT, TPOT or end-to-end median below this is almost surely a unit slip
PLAUSIBILITY_KEYS = ("zero-latency", "implausible-units", "e2e-below-ttft", "scaffold-text", "scaffold-value")
_UNIT_METRICS = (("ttft", "TTFT"), ("tpot", "TPOT"), ("e2e", "end-to-end latency"))


def plausibility_checks(side: str, run: Run, m: RunMetrics) -> list[Threat]:
    """Numbers no real serving run produces: zero latencies counted as successes, unit slips.

    These are warnings (threats, so ``build --strict`` fails on them): a file can be right and odd,
    but far more often it is a failure recorded without error text, or seconds under an ``_ms`` column.
    """
    T: list[Threat] = []
    df = run.requests
    medians: dict[str, float] = {}  # p50 (or mean, for summaries without percentiles) in ms
    if df is not None:
        ok = df[df["success"]]
        ttft = ok["ttft_s"]
        e2e = ok["e2e_s"]
        zero = (e2e <= 0) | (np.isfinite(ttft) & (ttft <= 0))
        if zero.any():
            T.append(Threat("zero-latency", "major", "Successful requests with zero latency",
                            f"{int(zero.sum()):,} of {len(ok):,} successful requests have a TTFT or end-to-end "
                            "latency of 0 s: no real request completes in no time, so these are probably failures "
                            "recorded without an error text", "mark them as failed (success/error column) or fix "
                            "the benchmark's output", side))
    stat_of: dict[str, str] = {}
    for metric, _label in _UNIT_METRICS:
        d = m.latency_ms.get(metric)
        stat = "p50" if d is not None and d.get("p50") is not None else "mean"
        v = d.get(stat) if d is not None else None
        if v is not None and math.isfinite(v):
            medians[metric], stat_of[metric] = v, stat
    zero_flagged = any(t.key == "zero-latency" for t in T)
    low = [(f"{label} {stat_of[metric]}", medians[metric]) for metric, label in _UNIT_METRICS
           if metric in medians and medians[metric] < MIN_PLAUSIBLE_MS and not (zero_flagged and medians[metric] <= 0)]
    if low:
        shown = ", ".join(f"{label} {v:.3g} ms" for label, v in low)
        T.append(Threat("implausible-units", "major", "Latencies too small to be real",
                        f"{shown}: below {MIN_PLAUSIBLE_MS:g} ms, which no LLM server reaches; seconds were probably "
                        "read as milliseconds", "check the units: name time columns with their unit (ttft_s, "
                        "e2e_ms) or set units: in case.yaml (docs/run-format.md)", side))
    if df is None and "ttft" in medians and "e2e" in medians and medians["e2e"] < medians["ttft"]:
        T.append(Threat("e2e-below-ttft", "major", "End-to-end latency below TTFT",
                        f"the tool's summary gives E2E p50 {medians['e2e']:.4g} ms < TTFT p50 {medians['ttft']:.4g} ms; "
                        "a request cannot finish before its first token", "check the units of the summary fields", side))
    return T


_SCAFFOLD_TEXT_KEYS = (("title",), ("author",), ("summary",), ("notes",), ("workload", "description"),
                       ("cost", "price_source"), ("cost", "one_time_cost_note"))


def scaffold_leftovers(case: Any) -> list[Threat]:
    """Text of the ``casegen new`` example still in case.yaml (a reader would take it for yours)."""
    from casegen.case.scaffold import scaffold_case

    example = scaffold_case()

    def value(obj: Any, path: tuple[str, ...]) -> Any:
        for key in path:
            obj = getattr(obj, key, None) if obj is not None else None
        return obj

    left = [".".join(p) for p in _SCAFFOLD_TEXT_KEYS
            if value(case, p) is not None and value(case, p) == value(example, p)]
    if "summary" not in left and "EXAMPLE DATA" in (case.summary or ""):
        left.append("summary")
    if left and case.date == example.date:
        left.insert(0, "date")
    if not left:
        return []
    return [Threat("scaffold-text", "major", "Example text from `casegen new` left in case.yaml",
                   f"{', '.join(left)} still hold{'s' if len(left) == 1 else ''} the scaffold's example text",
                   "replace it with your own (or delete optional keys)", None)]


#: sections of case.yaml whose values (not prose) `casegen new` fills with an example
_SCAFFOLD_VALUE_SECTIONS = ("system", "workload", "slos", "cost", "tradeoffs", "reproduce")
#: values that name a category many real cases share (engine "vLLM", GPU "L40S"), not a figure of the
#: example: equal to the scaffold's, they are no sign of a leftover (the figures beside them are checked)
_SCAFFOLD_CATEGORY_KEYS = {"reproduce.engine", "reproduce.baseline.engine", "reproduce.optimized.engine",
                           "cost.baseline.self_hosted.gpu", "cost.optimized.self_hosted.gpu"}


def _same_leaves(mine: Any, example: Any, path: str, skip: set[str]) -> list[str]:
    """Dotted keys under ``path`` where ``mine`` still holds the example's value. A value equal to the
    field's default is not the scaffold's (casegen would use it anyway); keys in ``skip`` are prose the
    scaffold-text check reports."""
    from pydantic import BaseModel

    out: list[str] = []
    if isinstance(example, BaseModel) and isinstance(mine, BaseModel) and type(mine) is type(example):
        for name, info in type(example).model_fields.items():
            key = f"{path}.{name}" if path else name
            ex, my = getattr(example, name), getattr(mine, name)
            if key in skip or ex is None or my is None:
                continue
            if isinstance(ex, (BaseModel, list)):
                out += _same_leaves(my, ex, key, skip)
            elif not info.is_required() and ex == info.get_default(call_default_factory=True):
                continue
            elif my == ex:
                out.append(key)
    elif isinstance(example, list) and isinstance(mine, list):
        for i, item in enumerate(mine):
            if path == "slos":  # an objective is one value: metric, percentile and threshold together
                if any(item == ex for ex in example):
                    out.append(f"{path}.{i}")
                continue
            for ex in example:  # each item against each example item (an entry may have moved)
                out += [k for k in _same_leaves(item, ex, f"{path}.{i}", skip) if k not in out]
    return out


@functools.lru_cache(maxsize=1)
def _example_run_hashes() -> frozenset[str]:
    import hashlib

    from casegen.case.scaffold import example_runs

    return frozenset(hashlib.sha256(text.encode("utf-8")).hexdigest() for text in example_runs().values())


def scaffold_values(case: Any, runs: dict[str, Run] | None = None) -> list[Threat]:
    """Values (not only prose) of the ``casegen new`` example still in case.yaml: the example's
    system, SLOs, cost figures, trade-offs, quality scores and reproduce details, and its synthetic
    runs. Each such key is named; a reader would take them for facts about the author's system."""
    from casegen.case.scaffold import scaffold_case

    example = scaffold_case()
    skip = {".".join(p) for p in _SCAFFOLD_TEXT_KEYS} | _SCAFFOLD_CATEGORY_KEYS
    left: list[str] = []
    for section in _SCAFFOLD_VALUE_SECTIONS:
        left += _same_leaves(getattr(case, section), getattr(example, section), section, skip)
    for side, run in sorted((runs or {}).items()):
        # the example runs are casegen CSV: a file of another format cannot have their bytes (and
        # their text, made with NumPy on demand, is then never made)
        if any(part.meta.format == "casegen-csv" and part.meta.sha256 in _example_run_hashes()
               for part in (run.parts or [run])):
            left.append(f"runs.{side}.path")
    if not left:
        return []
    return [Threat("scaffold-value", "major", "Example values from `casegen new` left in case.yaml",
                   f"the scaffold's example value{'' if len(left) == 1 else 's'} still in {', '.join(left)}"
                   + (" (the runs are the synthetic example data)" if any(k.startswith("runs.") for k in left) else "")
                   + ": a reader takes them for facts about your system",
                   "replace each with your own figures (or delete optional keys); if a value really is yours, "
                   "acknowledge it: accept: {scaffold-value: <why>}", None)]


def slo_metric_problems(case: Any, metrics: dict[str, RunMetrics], labels: dict[str, str]) -> list[Any]:
    """An SLO on a metric a side does not measure: one :class:`Problem` per SLO and side."""
    from casegen.analysis.metrics import METRIC_LABELS
    from casegen.errors import Problem

    problems = []
    for i, objective in enumerate(case.slos):
        for side, m in metrics.items():
            if objective.metric not in m.latency_ms:
                name = METRIC_LABELS.get(objective.metric, objective.metric)
                name = name if name[:2].isupper() else name[:1].lower() + name[1:]  # 'TTFT', 'inter-chunk latency'
                measured = [k for k in registry.SLO_METRICS if all(k in mm.latency_ms for mm in metrics.values())]
                problems.append(Problem(
                    case.where("slos", i, "metric"),
                    f"SLO {objective.metric} p{objective.percentile:g} ≤ {objective.threshold_ms:g} ms: the {labels[side]} "
                    f"run ({side}) does not measure {name}",
                    "an SLO on a metric both runs measure: " + (", ".join(measured) or "none"),
                ))
    return problems
