"""Repetitions as the unit: intervals and tests from run-level statistics.

With ≥ ``MIN_RUNS`` runs a side (``runs.<side>.path`` as a list), each run's statistic (a
percentile or mean of its successful requests) is one observation, and the run-to-run spread is the
evidence — it contains every source of variation a single run hides (a queue's busy periods, drift,
a noisy neighbour, the server's state at start). Method (``docs/statistics.md`` section 1c):

* point value: the pooled statistic (all runs' requests together), as everywhere in the report;
* interval of one side: point ± t_{k−1} · s/√k, s the standard deviation of the k runs' statistics;
* change, runs **interleaved** (sorted by their start times they fall into consecutive pairs of one
  run a side: B O B O … or the counterbalanced B O O B …): paired — d_i = the pair's optimized run
  − its baseline run, se = s_d/√k, k − 1 degrees of freedom; a slow drift that moves neighbouring
  runs alike leaves the differences (in B O O B order a linear drift cancels in the mean too);
* change, otherwise: Welch's t, se = √(s_b²/k_b + s_o²/k_o) with Welch–Satterthwaite degrees of
  freedom;
* ratio interval (pooled ratio) · exp(± t·se), two-sided p-value from Student's t; the primary
  family is Holm-corrected (``uncertainty.holm_family``: a few repetitions cannot estimate the
  correlation of the family's changes that the closed test of one run a side uses).

A statistic gets no interval (†) when a run has fewer requests than the distribution-free minimum
for it (p99: 368 at 95 %): a run-level p99 from fewer requests is not an estimate of the p99.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from casegen.analysis import stats
from casegen.analysis.stats import t_quantile, t_two_sided_p
from casegen.errors import require
from casegen.runs.model import Run

MIN_RUNS = 3


# --------------------------------------------------------------------------- interleaving


def _start(run: Run) -> datetime | None:
    d = run.meta.date
    if not d:
        return None
    try:
        return datetime.fromisoformat(str(d).replace("Z", "+00:00"))
    except ValueError:
        return None


def run_pairs(base: list[Run], opt: list[Run]) -> list[tuple[Run, Run]] | None:
    """The (baseline, optimized) pairs of interleaved runs, or None when the runs were not
    interleaved. Sorted by start time, the runs must fall into consecutive pairs that each hold one
    run of each side: B O B O … (alternating) or B O O B B O … (counterbalanced, which also cancels a
    linear drift). Needs as many runs on each side, and a distinct start time for every run."""
    if len(base) != len(opt) or len(base) < 2:
        return None
    tagged = [(t, side, r) for side, runs in (("b", base), ("o", opt)) for r in runs if (t := _start(r)) is not None]
    if len(tagged) != len(base) + len(opt) or len({t for t, _s, _r in tagged}) != len(tagged):
        return None
    try:
        tagged.sort(key=lambda x: x[0])
    except TypeError:  # naive and aware datetimes mixed
        return None
    out = []
    for i in range(0, len(tagged), 2):
        (_t1, s1, r1), (_t2, s2, r2) = tagged[i], tagged[i + 1]
        if s1 == s2:
            return None
        out.append((r1, r2) if s1 == "b" else (r2, r1))
    return out


def interleaved(base: list[Run], opt: list[Run]) -> bool:
    """Were the two sides' runs made in interleaved pairs (see :func:`run_pairs`)?"""
    return run_pairs(base, opt) is not None


def time_sorted(runs: list[Run]) -> list[Run]:
    """Runs in order of their start times (as listed when a time is missing)."""
    starts = [_start(r) for r in runs]
    known = [t for t in starts if t is not None]
    if len(known) != len(runs):
        return list(runs)
    return [r for _t, r in sorted(zip(known, runs), key=lambda tr: tr[0])]


# ------------------------------------------------------------------------------ statistics


def series_statistic(series, stat: str, method: str = "linear") -> float | None:
    """A statistic of one ``uncertainty.MetricSeries`` (pooled gaps for ITL); None when empty."""
    from casegen.analysis.uncertainty import stat_p

    if series is None or series.num.size == 0:
        return None
    p = stat_p(stat)
    if p is None:
        return float(series.num.sum() / series.den.sum())
    return float(stats.quantile_at(np.sort(series.values), p, method))


@dataclass(frozen=True)
class RunLevel:
    """One side's statistic over its runs: values per run (time order), mean, sd, k."""

    values: list[float]

    @property
    def k(self) -> int:
        return len(self.values)

    @property
    def sd(self) -> float:
        return float(np.std(self.values, ddof=1)) if self.k > 1 else math.nan


def support(part_series: list, metric: str, stat: str, confidence: float) -> tuple[bool, str]:
    """Can runs of this size give a run-level statistic? (≥ MIN_RUNS runs, each with ≥ MIN_REQUESTS
    requests and, for a percentile, ≥ the distribution-free minimum N(p))."""
    from casegen.analysis.uncertainty import MIN_REQUESTS, stat_p

    p = stat_p(stat)
    need = MIN_REQUESTS if p is None else max(MIN_REQUESTS, stats.min_n_for_quantile_ci(p, confidence))
    smallest = min((ps[metric].num.size if metric in ps else 0) for ps in part_series)
    if len(part_series) < MIN_RUNS:
        return False, f"{len(part_series)} runs: the run as the unit needs ≥ {MIN_RUNS}"
    if smallest < need:
        return False, f"{stat} of one run needs ≥ {need} requests, the smallest run has {smallest}"
    return True, ""


def _logs(level: RunLevel) -> RunLevel | None:
    """The runs' statistics on the log scale, or None when one is ≤ 0 (then the linear scale)."""
    v = np.asarray(level.values, dtype=float)
    return RunLevel([float(x) for x in np.log(v)]) if v.size and (v > 0).all() else None


def side_interval(point: float, level: RunLevel, confidence: float) -> tuple[float, float] | None:
    """point · exp(± t_{k−1} · s/√k) with s the standard deviation of the runs' log statistics
    (latencies vary by factors, and the interval of a positive figure stays positive); point ±
    t_{k−1} · s/√k on the linear scale when a run's statistic is ≤ 0."""
    if level.k < MIN_RUNS or not math.isfinite(level.sd):
        return None
    t = t_quantile(1 - (1 - confidence) / 2, level.k - 1)
    logs = _logs(level)
    if logs is not None and point > 0:
        half = t * logs.sd / math.sqrt(level.k)
        return point * math.exp(-half), point * math.exp(half)
    half = t * level.sd / math.sqrt(level.k)
    return point - half, point + half


def ratio_delta(base_point: float, opt_point: float, base: RunLevel, opt: RunLevel, confidence: float,
                paired: bool) -> tuple[float, float, float, float] | None:
    """(ratio low, ratio high, p-value, degrees of freedom) of optimized / baseline, from the runs'
    log statistics (paired or Welch, as :func:`delta`), centred on the pooled ratio; None when a
    statistic is ≤ 0."""
    lb, lo = _logs(base), _logs(opt)
    if lb is None or lo is None or base_point <= 0 or opt_point <= 0:
        return None
    d_lo, d_hi, p, df = delta(math.log(base_point), math.log(opt_point), lb, lo, confidence, paired)
    return math.exp(d_lo), math.exp(d_hi), p, df


def delta(base_point: float, opt_point: float, base: RunLevel, opt: RunLevel, confidence: float,
          paired: bool) -> tuple[float, float, float, float]:
    """(low, high, p-value, degrees of freedom) of optimized − baseline from run-level statistics."""
    d = opt_point - base_point
    if paired:
        diffs = np.asarray(opt.values) - np.asarray(base.values)
        se = float(np.std(diffs, ddof=1)) / math.sqrt(diffs.size)
        df = float(diffs.size - 1)
    else:
        vb, vo = base.sd ** 2 / base.k, opt.sd ** 2 / opt.k
        se = math.sqrt(vb + vo)
        df = (vb + vo) ** 2 / ((vb ** 2 / (base.k - 1)) + (vo ** 2 / (opt.k - 1))) if vb + vo > 0 else math.inf
    if not se > 0:
        return d, d, (1.0 if d == 0 else 0.0), df
    half = t_quantile(1 - (1 - confidence) / 2, df) * se
    return d - half, d + half, t_two_sided_p(d / se, df), df


def apply(base_parts: list[Run], opt_parts: list[Run], base_iv, opt_iv, confidence: float,
          family: list[tuple[str, str]], method: str = "linear") -> tuple[dict, bool]:
    """Make the runs the unit: every side interval in ``base_iv`` / ``opt_iv`` (``uncertainty.RunIntervals``
    of the pooled runs, updated in place: ``unit`` "runs", intervals, support, reasons, method) and the
    deltas (metric → stat → ``stats.DeltaCI``, Holm over ``family``). Returns (deltas, paired)."""
    from casegen.analysis import uncertainty

    pairs = run_pairs(base_parts, opt_parts)
    paired = pairs is not None
    if pairs is not None:
        base_parts, opt_parts = [b for b, _o in pairs], [o for _b, o in pairs]
    else:
        base_parts, opt_parts = time_sorted(base_parts), time_sorted(opt_parts)
    levels: dict[str, dict[str, dict[str, RunLevel]]] = {"b": {}, "o": {}}
    points: dict[str, dict[str, dict[str, float]]] = {"b": {}, "o": {}}
    for key, parts, iv in (("b", base_parts, base_iv), ("o", opt_parts, opt_iv)):
        iv.unit = "runs"
        iv.saturation = None  # the runs, not one run's requests, carry the variance now
        iv.withheld = {}  # nor does one run need to show its own dependence
        pooled = uncertainty.metric_series(_pool_for_points(parts))
        part_series = [uncertainty.metric_series(r) for r in parts]
        for metric in list(iv.supported):
            series = pooled.get(metric)
            iv.method[metric] = f"t-interval over {len(parts)} runs (each run's statistic is one observation)"
            iv.reasons[metric] = {}
            iv.shortfalls.pop(metric, None)  # the runs' rule, not one run's count, decides now
            for stat in list(iv.supported[metric]):
                ok, why = support(part_series, metric, stat, confidence)
                vals = [series_statistic(ps.get(metric), stat, method) for ps in part_series]
                if ok and (series is None or any(v is None or not math.isfinite(v) for v in vals)):
                    ok, why = False, "a run has no value for this statistic"
                point = series_statistic(series, stat, method)
                if not ok or point is None:
                    iv.supported[metric][stat] = False
                    iv.intervals[metric][stat] = None
                    iv.reasons[metric][stat] = why or "no value"
                    continue
                level = RunLevel([float(require(v, "a run's value (checked above)")) for v in vals])
                levels[key].setdefault(metric, {})[stat] = level
                points[key].setdefault(metric, {})[stat] = point
                iv.supported[metric][stat] = True
                iv.intervals[metric][stat] = side_interval(point, level, confidence)
                iv.n_eff[metric][stat] = float(level.k)
    out: dict[str, dict[str, stats.DeltaCI]] = {}
    for metric in uncertainty.METRICS:
        if metric not in base_iv.supported or metric not in opt_iv.supported:
            continue
        row = {}
        for stat in base_iv.supported[metric]:
            if stat not in opt_iv.supported[metric]:
                continue
            fam = "primary" if (metric, stat) in family else "exploratory"
            lb, lo = levels["b"].get(metric, {}).get(stat), levels["o"].get(metric, {}).get(stat)
            if lb is None or lo is None:
                row[stat] = stats.unsupported_delta(fam)
                continue
            bp, op = points["b"][metric][stat], points["o"][metric][stat]
            ratio = ratio_delta(bp, op, lb, lo, confidence, paired)
            plo: float | None  # the change in %: None when the baseline is 0
            phi: float | None
            if ratio is not None:  # on the log scale: a change by a factor, never below −100 %
                r_lo, r_hi, p, _df = ratio
                low, high, plo, phi = bp * (r_lo - 1), bp * (r_hi - 1), (r_lo - 1) * 100, (r_hi - 1) * 100
            else:
                low, high, p, _df = delta(bp, op, lb, lo, confidence, paired)
                plo = low / bp * 100 if bp else None
                phi = high / bp * 100 if bp else None
            row[stat] = stats.DeltaCI(low, high, plo, phi, bool(low > 0 or high < 0), True, fam, p, None)
        out[metric] = row
    return uncertainty.holm_family(out, family, 1 - confidence), paired


def _pool_for_points(parts: list[Run]) -> Run:
    from casegen.analysis.window import pool

    return pool(parts, where="runs")


def method_note(k_base: int, k_opt: int, paired: bool) -> str:
    """The sentence the report's method section states when the runs are the unit."""
    if paired:
        return (f"Repetitions are the unit: {k_base} baseline and {k_opt} optimized runs were made alternately (by their "
                "start times), so each change's interval and test come from the paired differences of the runs' "
                "statistics (t with k − 1 degrees of freedom; a drift shared by neighbouring runs cancels). Each "
                "side's interval is its pooled value ± t · (run-to-run standard deviation)/√k.")
    return (f"Repetitions are the unit: with {k_base} baseline and {k_opt} optimized runs, each change's interval and "
            "test come from the runs' statistics (Welch's t over runs), and each side's interval is its pooled value ± "
            "t · (run-to-run standard deviation)/√k. The run-to-run spread table is that evidence.")
