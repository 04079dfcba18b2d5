"""Where a change helps and where it hurts: per-segment deltas and crossovers.

Definitions (``docs/segments.md``):

* **segments** of an axis: prompt length (quantile bins of the input tokens of both sides pooled;
  metric TTFT; 3–5 bins of at least 30 requests per side, only when (p90 − p10)/median ≥ 0.25),
  output length (quantile bins of output tokens; metric end-to-end latency) and, for
  load sweeps, the load points both sweeps measured with at least ``MIN_REQUESTS`` (50) requests a side
  and neither run saturated (``load_point_gate``; metric: each objective's, else TTFT, else E2E);
* per segment: the change of the **mean** (optimized − baseline, ms) with an interval from the
  normal interval of the log of the ratio of means, ``log(m_o/m_b) ± z·√(V_o/m_o² + V_b/m_b²)``,
  ``V = f·s²/n`` and ``f`` the long-run variance factor of the values in send order
  (``casegen.analysis.dependence``; 1 for independent requests), mapped back as ``m_b·(ratio − 1)``:
  latencies are positive, so the interval never reaches below −m_b. The intervals of one axis are
  **Bonferroni-corrected** for its ``k`` segments (each at ``1 − α/k``), so "helps here, hurts there"
  is not an artefact of looking at many bins;
* a segment **helps** when its interval lies below 0, **hurts** when above 0, else is "no clear
  change";
* a **crossover**: along the axis, the first segment that helps (hurts) followed — with only unclear
  segments between — by one that hurts (helps). Its **bracket** is [centre of the one, centre of the
  other] (a bin's centre = mean of its pooled x; a load point's load), and the estimate is the linear
  interpolation of the point changes where they change sign. Meaningful only when both sides served
  the same mix along that axis, so an axis the optimization changes on purpose (prompt length for
  prompt trimming, output length for output capping) is not segmented.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from pydantic import Field

from casegen.analysis.model import FigureModel
from casegen.analysis.uncertainty import MIN_REQUESTS
from casegen.formatting import fmt_load
from casegen.runs.model import Run

MIN_PER_BIN = 30  # requests per side and bin
MAX_BINS = 5
MIN_BINS = 3
MIN_SPREAD = 0.25  # (p90 − p10) / median of the pooled lengths below which an axis is not segmented

Axis = Literal["input_tokens", "output_tokens", "load"]
AXIS_METRIC = {"input_tokens": "ttft", "output_tokens": "e2e"}
AXIS_WORDS = {"input_tokens": ("prompts", "tokens", "shorter", "longer"),
              "output_tokens": ("answers", "output tokens", "shorter", "longer"),
              "load": ("load", "", "lower", "higher")}



class Segment(FigureModel):
    low: float = Field(description="lower edge of the segment on the axis (a load point: its load)")
    high: float = Field(description="upper edge (a load point: its load)")
    center: float = Field(description="mean x of the pooled segment (a load point: its load)")
    n_baseline: int
    n_optimized: int
    baseline_mean_ms: float
    optimized_mean_ms: float
    change_ms: float
    change_pct: float | None
    ci_ms: list[float] = Field(description="Bonferroni-corrected interval of change_ms")
    verdict: Literal["helps", "hurts", "unclear"]


class SegmentAxis(FigureModel):
    axis: Axis
    metric: str
    unit: str = Field(description="unit of the axis: tokens, req/s or concurrent requests")
    confidence: float = Field(description="family confidence; each segment's interval is at 1 − (1 − confidence)/k")
    segments: list[Segment]
    comparisons: int | None = Field(None, description="k, the number of changes the intervals are corrected for "
                                                      "together (load axes: load points × objectives' metrics); "
                                                      "null: the axis's own segments")


class Crossover(FigureModel):
    """Where the change stops helping along one axis."""

    axis: Axis
    metric: str
    unit: str
    helps: Literal["below", "above"] = Field(description="the change helps below or above the crossover")
    bracket: list[float] = Field(description="[low, high]: the crossover lies between these two segment centres")
    estimate: float = Field(description="linear interpolation of the segments' changes where they change sign")
    helps_change_pct: float | None = Field(description="change of the mean in the segment that helps most")
    hurts_change_pct: float | None = Field(description="change of the mean in the segment that hurts most")
    text: str


#: An untested load point's objective statistic this much higher (relative, %) on the optimized side is
#: named on page 1 as a caveat (never as a regression: no test supports it — issue 21's rule for Worse lists).
UNTESTED_WORSE_PCT = 20.0


class UntestedChange(FigureModel):
    """A load point whose change is not tested (``load_point_gate``) where an objective's statistic is
    markedly higher on the optimized side by the point figures."""

    load: float
    load_text: str = Field(description="The load as the report writes it ('concurrency 1')")
    metric: str
    stat: str
    baseline_ms: float
    optimized_ms: float
    why: str = Field(description="Why it is not tested ('24 requests', 'a side looks saturated')")


class Segments(FigureModel):
    axes: list[SegmentAxis] = Field(default_factory=list)
    crossovers: list[Crossover] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    untested_worse: list[UntestedChange] = Field(
        default_factory=list, description=f"Untested load points where an objective's statistic is ≥ "
        f"{UNTESTED_WORSE_PCT:g}% higher on the optimized side (page 1 names them as a caveat)")


# --------------------------------------------------------------------------- math


def _var_mean(x: np.ndarray, guarded: bool = False) -> float:
    """Variance of the mean of ``x`` (send order): f·s²/n with f the long-run variance factor (1 when no
    dependence is found). ``guarded`` (load points): f never below the √n-lag sum or the largest
    batch-means factor — the estimates with no pre-test that guard a change of one run a side (docs/statistics.md
    sections 1 and 4): a load point's few requests often fail to show a dependence that is there."""
    from casegen.analysis.dependence import dependence

    if x.size < 2:
        return math.inf
    dep = dependence(x)
    f = dep.lrv_factor if dep.dependent else 1.0
    if guarded:
        f = max(f, dep.f_sum, dep.bm_max)
    return f * float(np.var(x, ddof=1)) / x.size


def mean_change(base: np.ndarray, opt: np.ndarray, z: float) -> tuple[float, float, float]:
    """(d, low, high): optimized − baseline mean with its normal interval at ``z`` (values in send order)."""
    d = float(opt.mean() - base.mean())
    se = math.sqrt(_var_mean(base) + _var_mean(opt))
    return d, d - z * se, d + z * se


def mean_ratio_change(base: np.ndarray, opt: np.ndarray, z: float, guarded: bool = False) -> tuple[float, float, float]:
    """(d, low, high) for latencies (positive): d = optimized − baseline mean, its interval from the
    normal interval of log(mean_o / mean_b), ``± z·√(V_o/m_o² + V_b/m_b²)`` (delta method, V the
    dependence-widened variance of each mean), mapped back as ``m_b·(ratio − 1)``. The low end is
    never below −m_b: the optimized mean cannot be negative, as a difference interval on few,
    correlated requests would claim (aiperf-sweep, concurrency 8: −4.13 ms [−59.4, +51.1] on 26.5 ms)."""
    mb, mo = float(base.mean()), float(opt.mean())
    if not (mb > 0 and mo > 0):
        return mean_change(base, opt, z)
    half = z * math.sqrt(_var_mean(base, guarded) / mb ** 2 + _var_mean(opt, guarded) / mo ** 2)
    log_r = math.log(mo / mb)
    return mo - mb, mb * math.expm1(log_r - half), mb * math.expm1(log_r + half)


def _z(confidence: float, k: int) -> float:
    return NormalDist().inv_cdf(1 - (1 - confidence) / (2 * max(k, 1)))


def _segment(low: float, high: float, center: float, b: np.ndarray, o: np.ndarray, z: float,
             guarded: bool = False) -> Segment:
    d, lo, hi = mean_ratio_change(b, o, z, guarded)
    mb = float(b.mean())
    verdict: Literal["helps", "hurts", "unclear"] = "helps" if hi < 0 else "hurts" if lo > 0 else "unclear"
    return Segment(low=low, high=high, center=center, n_baseline=int(b.size), n_optimized=int(o.size),
                   baseline_mean_ms=mb, optimized_mean_ms=float(o.mean()), change_ms=d,
                   change_pct=d / mb * 100 if mb > 0 else None, ci_ms=[lo, hi], verdict=verdict)


def _values(run: Run, axis_col: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, metric values in ms) of the successful requests with both, in send order."""
    from casegen.analysis.metrics import request_latencies_ms

    df = run.requests
    if df is None:
        return np.array([]), np.array([])
    ok = df[df["success"]]
    if ok.all_known("start_s"):
        ok = ok.sort_values("start_s")
    y = request_latencies_ms(ok)[metric]
    x = ok[axis_col]
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def binned_axis(base: Run, opt: Run, axis: Axis, confidence: float) -> SegmentAxis | None:
    """Quantile bins of input or output tokens (pooled), the metric's mean change in each."""
    metric = AXIS_METRIC[axis]
    xb, yb = _values(base, axis, metric)
    xo, yo = _values(opt, axis, metric)
    if metric == "ttft" and (yb.size == 0 or yo.size == 0):
        metric = "e2e"
        xb, yb = _values(base, axis, metric)
        xo, yo = _values(opt, axis, metric)
    n = min(xb.size, xo.size)
    k = min(MAX_BINS, n // MIN_PER_BIN)
    if k < MIN_BINS:
        return None
    pooled = np.concatenate([xb, xo])
    med = float(np.median(pooled))
    if med <= 0 or (np.percentile(pooled, 90) - np.percentile(pooled, 10)) / med < MIN_SPREAD:
        return None  # (nearly) one length: nothing to segment
    edges = np.unique(np.quantile(pooled, np.linspace(0, 1, k + 1)[1:-1]))
    while k >= MIN_BINS:
        ib, io = np.searchsorted(edges, xb, side="right"), np.searchsorted(edges, xo, side="right")
        counts = [min(int((ib == j).sum()), int((io == j).sum())) for j in range(edges.size + 1)]
        if edges.size + 1 >= MIN_BINS and min(counts) >= MIN_PER_BIN:
            break
        k -= 1
        edges = np.unique(np.quantile(pooled, np.linspace(0, 1, k + 1)[1:-1]))
    else:
        return None
    if edges.size + 1 < MIN_BINS:
        return None
    z = _z(confidence, edges.size + 1)
    bounds = np.concatenate([[pooled.min()], edges, [pooled.max()]])
    segs = []
    for j in range(edges.size + 1):
        sel_b, sel_o = ib == j, io == j
        center = float(np.concatenate([xb[sel_b], xo[sel_o]]).mean())
        segs.append(_segment(float(bounds[j]), float(bounds[j + 1]), center, yb[sel_b], yo[sel_o], z))
    return SegmentAxis(axis=axis, metric=metric, unit="tokens", confidence=confidence, segments=segs)


def load_point_gate(n_base: int, n_opt: int, sat_base, sat_opt) -> str:
    """Why a load point's change is not tested ("" when it is): fewer than ``MIN_REQUESTS`` requests a side
    (no interval below that floor: ``uncertainty.support_rule``), or a side whose run looks saturated
    (``saturation.detect``: its latency intervals are withheld, so are its changes — A/A sweeps of an
    open-loop queue listed a regression at 70–90 % load in 18–30 % of sweeps without it, docs/statistics.md
    section 10)."""
    n = min(n_base, n_opt)
    if n < MIN_REQUESTS:
        return f"{n} requests"
    if (sat_base is not None and sat_base.withhold) or (sat_opt is not None and sat_opt.withhold):
        return "a side looks saturated"
    return ""


def _load_values(pairs: list[tuple[float, Run, Run]], metric: str,
                 gated: bool = True) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(load, baseline values, optimized values) of each per-request load point with the metric on both sides
    whose change can be tested (``load_point_gate``; ``untested_load_points`` names the others)."""
    from casegen.analysis.saturation import run_saturation

    usable = []
    for load, b, o in sorted(pairs, key=lambda t: t[0]):
        if b.summary_only or o.summary_only or not math.isfinite(load):
            continue
        yb, yo = _values(b, "input_tokens", metric)[1], _values(o, "input_tokens", metric)[1]
        if min(yb.size, yo.size) < 2:
            continue
        if gated and load_point_gate(yb.size, yo.size, run_saturation(b), run_saturation(o)):
            continue
        usable.append((load, yb, yo))
    return usable


def untested_load_points(pairs: list[tuple[float, Run, Run]], metric: str) -> list[tuple[float, str]]:
    """(load, why) of each per-request load point with ``metric`` on both sides whose change is not tested
    (``load_point_gate``)."""
    from casegen.analysis.saturation import run_saturation

    runs = {load: (b, o) for load, b, o in pairs}
    out = []
    for load, yb, yo in _load_values(pairs, metric, gated=False):
        b, o = runs[load]
        why = load_point_gate(yb.size, yo.size, run_saturation(b), run_saturation(o))
        if why:
            out.append((load, why))
    return out


def load_axis(pairs: list[tuple[float, Run, Run]], metric: str, load_kind: str, confidence: float,
              comparisons: int | None = None) -> SegmentAxis | None:
    """The metric's mean change at each load point both sweeps measured (per-request points with at least
    ``MIN_REQUESTS`` requests a side), each interval Bonferroni-corrected for ``comparisons`` changes
    (default: this axis's points)."""
    return load_axis_of(_load_values(pairs, metric), metric, load_kind, confidence, comparisons)


def load_axis_of(usable: list[tuple[float, np.ndarray, np.ndarray]], metric: str, load_kind: str, confidence: float,
                 comparisons: int | None = None, guarded: bool = True) -> SegmentAxis | None:
    """``load_axis`` on (load, baseline values, optimized values) in send order (benchmarks/sweep_aa.py)."""
    if len(usable) < 2:
        return None
    k = max(comparisons or 0, len(usable))
    z = _z(confidence, k)
    segs = [_segment(load, load, load, yb, yo, z, guarded) for load, yb, yo in usable]
    unit = "req/s" if load_kind == "rate" else "concurrent requests"
    return SegmentAxis(axis="load", metric=metric, unit=unit, confidence=confidence, segments=segs,
                       comparisons=k if comparisons else None)


def _fmt_x(x: float, unit: str) -> str:
    return f"{x:,.0f}" if unit == "tokens" or abs(x) >= 100 else f"{x:,.3g}"


def _pct(s: Segment) -> str:
    return f"{s.change_pct:+.0f}%".replace("-", "−") if s.change_pct is not None else ""


def find_crossover(ax: SegmentAxis) -> Crossover | None:
    """The first change from a segment that helps to one that hurts (or back), unclear ones between."""
    from casegen.registry import label

    segs = ax.segments
    sign = [(-1 if s.verdict == "helps" else 1 if s.verdict == "hurts" else 0) for s in segs]
    last = None
    for j, sg in enumerate(sign):
        if sg == 0:
            continue
        if last is not None and sign[last] == -sg:
            a, b = segs[last], segs[j]
            est = a.center
            for i in range(last, j):  # interpolate where the point changes change sign
                c0, c1 = segs[i].change_ms, segs[i + 1].change_ms
                if c0 == 0:
                    est = segs[i].center
                    break
                if (c0 < 0) != (c1 < 0):
                    t = c0 / (c0 - c1)
                    est = segs[i].center + t * (segs[i + 1].center - segs[i].center)
                    break
            helps = "below" if sign[last] < 0 else "above"
            helping = [s for s in segs if s.verdict == "helps"]
            hurting = [s for s in segs if s.verdict == "hurts"]
            best = min(helping, key=lambda s: s.change_pct if s.change_pct is not None else 0.0)
            worst = max(hurting, key=lambda s: s.change_pct if s.change_pct is not None else 0.0)
            what, unit_word, lower, higher = AXIS_WORDS[ax.axis]
            unit = ax.unit if ax.axis == "load" else unit_word
            lo_txt, hi_txt = _fmt_x(a.center, ax.unit), _fmt_x(b.center, ax.unit)
            est_txt = _fmt_x(est, ax.unit)
            m = label(ax.metric)
            if ax.axis == "load":
                side_help = f"{'below' if helps == 'below' else 'above'} ~{est_txt} {unit}"
                side_hurt = f"{higher if helps == 'below' else lower} load"
                text = (f"The change helps {m} at load {side_help} ({_pct(best)} there) and hurts it at {side_hurt} "
                        f"({_pct(worst)}); the crossover lies between {lo_txt} and {hi_txt} {unit}.")
            else:
                side_help = f"{what} {'shorter' if helps == 'below' else 'longer'} than ~{est_txt} {unit}"
                side_hurt = f"{higher if helps == 'below' else lower} ones"
                text = (f"The change helps {m} for {side_help} ({_pct(best)} there) and hurts {side_hurt} "
                        f"({_pct(worst)}); the crossover lies between {lo_txt} and {hi_txt} {unit}.")
            return Crossover(axis=ax.axis, metric=ax.metric, unit=ax.unit, helps=helps, bracket=[a.center, b.center],
                             estimate=float(est), helps_change_pct=best.change_pct, hurts_change_pct=worst.change_pct,
                             text=text)
        last = j
    return None


def _untested_worse(study: Any, untested: dict[float, str], kind: str) -> list[UntestedChange]:
    """The untested load points where an objective's statistic (its own percentile) is at least
    ``UNTESTED_WORSE_PCT`` % higher on the optimized side, by the point figures."""
    from casegen.registry import stat_key

    out = []
    for p in study.pairing.pairs:
        if p.base is None or p.opt is None or p.load not in untested:
            continue
        for slo in study.case.slos:
            stat = stat_key(slo.percentile)
            b = (p.base.metrics.latency_ms.get(slo.metric) or {}).get(stat)
            o = (p.opt.metrics.latency_ms.get(slo.metric) or {}).get(stat)
            if b and o and b > 0 and (o - b) / b * 100 >= UNTESTED_WORSE_PCT:
                out.append(UntestedChange(load=p.load, load_text=fmt_load(p.load, kind), metric=slo.metric,
                                          stat=stat, baseline_ms=b, optimized_ms=o, why=untested[p.load]))
    return out


def study_segments(study: Any) -> Segments | None:
    """Every axis that applies to the study, and their crossovers (None for summary-only runs)."""
    from casegen.registry import OPTIMIZATION_KINDS

    conf = study.case.analysis.confidence
    out = Segments()
    intended = OPTIMIZATION_KINDS[study.case.optimization.kind].intended
    b, o = study.runs["baseline"], study.runs["optimized"]
    if not (b.summary_only or o.summary_only):
        for axis, what in (("input_tokens", "input"), ("output_tokens", "output")):
            if what in intended:
                out.notes.append(f"Not segmented by {what} length: the optimization changes it on purpose.")
                continue
            ax = binned_axis(b, o, axis, conf)  # type: ignore[arg-type]
            if ax is not None:
                out.axes.append(ax)
    if study.sweeps and study.pairing is not None:
        from casegen.registry import CURVE_METRICS

        # every objective's metric, each at every load point both sides measured: one family, so a load
        # point is called worse only when its change stays clear of 0 after correcting for all of them
        slo_metrics = list(dict.fromkeys(s.metric for s in study.case.slos if s.metric in CURVE_METRICS))
        pairs = [(p.load, p.base.run, p.opt.run) for p in study.pairing.pairs if p.base is not None and p.opt is not None]
        metrics = slo_metrics or ["ttft" if all(np.isfinite(r.requests["ttft_s"]).any() for _l, r, _o in pairs
                                                if r.requests is not None) else "e2e"]
        untested = {load: why for m in metrics for load, why in untested_load_points(pairs, m)}
        if untested:
            kind = study.sweeps["baseline"].load_kind
            which = ", ".join(f"{fmt_load(load, kind)} ({why})" for load, why in sorted(untested.items()))
            why = []
            if any(w.endswith(" requests") for w in untested.values()):
                why.append(f"below {MIN_REQUESTS} requests a side, how alike neighbouring requests are cannot be checked")
            if any(not w.endswith(" requests") for w in untested.values()):
                why.append("a saturated run's latency follows the load's slow swings, which one run cannot show")
            out.notes.append(f"No change is tested at {which}: {'; '.join(why)}, so no interval there is trustworthy.")
            out.untested_worse = _untested_worse(study, untested, kind)
        usable = {m: len(_load_values(pairs, m)) for m in metrics}
        metrics = [m for m in metrics if usable[m] >= 2]
        family = sum(usable[m] for m in metrics)
        for metric in metrics:
            ax = load_axis(pairs, metric, study.sweeps["baseline"].load_kind, conf,
                           family if len(metrics) > 1 else None)
            if ax is not None:
                out.axes.append(ax)
    for ax in out.axes:
        c = find_crossover(ax)
        if c is not None:
            out.crossovers.append(c)
    return out if out.axes or out.notes else None
