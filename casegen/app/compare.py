"""``casegen compare A B [C …]``: the deltas between run files, no case.yaml needed.

``compare_runs(a, b)`` returns a plain dict (the ``--json`` output); ``format_table`` renders
it for a terminal (colour only when the output is a TTY).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from casegen import registry
from casegen.analysis.metrics import METRIC_LABELS, compute_run_metrics, latency_deltas, throughput_deltas
from casegen.analysis.uncertainty import HEADLINE_PRIMARY, delta_intervals, run_intervals
from casegen.app.console import request_counts
from casegen.case.model import Analysis
from casegen.errors import CasegenError
from casegen.registry import TABLE_METRICS
from casegen.runs import load_run
from casegen.story.findings import compare_page1, compare_regressions, delta_finding, throughput_delta_finding
from casegen.story.model import Finding

STATS = tuple(s for s in registry.TABLE_STATS if s != "p95")  # the terminal table's columns fit 80 chars
FAILURE_GAP = 0.01  # error rates further apart than this (1 percentage point) get a warning


def failure_warnings(ra: dict[str, Any], rb: dict[str, Any]) -> list[str]:
    """A warning when the sides failed differently: latency only describes the requests that succeeded."""
    fa, fb, ta, tb = ra.get("failed"), rb.get("failed"), ra.get("total"), rb.get("total")
    if fa is None or fb is None or not ta or not tb:
        if (fa or 0) + (fb or 0) and (fa is None or fb is None):
            return ["one side does not report failed requests, so failures cannot be compared"]
        return []
    rate_a, rate_b = fa / ta, fb / tb
    if abs(rate_a - rate_b) <= FAILURE_GAP:
        return []
    worse = "A" if rate_a > rate_b else "B"
    return [f"failures differ: A failed {fa:,} of {ta:,} requests ({rate_a:.1%}), B {fb:,} of {tb:,} ({rate_b:.1%}); "
            f"latency covers only successful requests, so {worse} may look faster than it is"]


def compare_runs(a: str | Path, b: str | Path, *, select_a: Any = None, select_b: Any = None,
                 format: str = "auto", analysis: Analysis | None = None,
                 select_options: tuple[str, str] = ("--select-a", "--select-b")) -> dict[str, Any]:
    analysis = analysis or Analysis()
    ra = load_run(a, format, select_a, select_option=select_options[0])
    rb = load_run(b, format, select_b, select_option=select_options[1])
    ma, mb = compute_run_metrics(ra, analysis.percentile_method), compute_run_metrics(rb, analysis.percentile_method)
    deltas = latency_deltas(ma, mb)
    cis: dict = {}
    if not ra.summary_only and not rb.summary_only:
        method = analysis.percentile_method
        ia = run_intervals(ra, analysis.confidence, analysis.bootstrap_resamples, analysis.seed, 0, method)
        ib = run_intervals(rb, analysis.confidence, analysis.bootstrap_resamples, analysis.seed, 1, method)
        cis = delta_intervals(ia, ib, analysis.confidence, list(HEADLINE_PRIMARY))
    # every verdict comes from the findings (casegen.story): the same rule as the report's
    primary = set(HEADLINE_PRIMARY)
    found: list[Finding] = []
    rows = []
    for m in TABLE_METRICS:
        for stat in STATS:
            d = deltas.get(m, {}).get(stat)
            if d is None:
                continue
            ci = cis.get(m, {}).get(stat)
            f = delta_finding(m, stat, d, ci, primary, analysis.confidence)
            found.append(f)
            rows.append({"metric": m, "label": METRIC_LABELS[m], "stat": stat, "a": d.base, "b": d.opt,
                         "abs": d.abs, "pct": d.pct, "ci_pct": f.evidence.ci_pct,
                         "verdict": verdict_word(f, ci is None), "unit": "ms", "family": ci.family if ci else None})
    from casegen.analysis.throughput import delta_ci as throughput_delta_ci
    from casegen.analysis.throughput import run_throughput_cis

    (tca, why_a), (tcb, why_b) = (run_throughput_cis(ra, ma.throughput, analysis.confidence),
                                  run_throughput_cis(rb, mb.throughput, analysis.confidence))
    for key, d in throughput_deltas(ma, mb).items():
        why = f"A: {why_a}" if why_a else f"B: {why_b}" if why_b else ""
        f = throughput_delta_finding(key, d, "", throughput_delta_ci(tca.get(key), tcb.get(key), analysis.confidence, why),
                                     analysis.confidence)
        found.append(f)
        rows.append({"metric": "throughput", "label": key.replace("_", " "), "stat": "", "a": d.base, "b": d.opt,
                     "abs": d.abs, "pct": d.pct, "ci_pct": f.evidence.ci_pct, "verdict": verdict_word(f, True),
                     "unit": ""})
    headline, _ = compare_page1(found)
    # every worse verdict (a table row saying 'worse'), one line per metric
    regressions = compare_regressions(found)
    return {
        "a": {"path": str(a), "format": ra.meta.format, "data": "summary" if ra.summary_only else "per-request",
              "requests": ma.requests},
        "b": {"path": str(b), "format": rb.meta.format, "data": "summary" if rb.summary_only else "per-request",
              "requests": mb.requests},
        "confidence": analysis.confidence,
        "warnings": failure_warnings(ma.requests, mb.requests),
        "headline": [c.model_dump() for c in headline],
        "regressions": [c.model_dump() for c in regressions],
        "any_regression": bool(regressions),
        "rows": rows,
    }


def verdict_word(f: Finding, no_interval: bool) -> str:
    """The verdict column: the finding's verdict, labelled; never a colour without an interval."""
    if f.strength in ("significant", "exploratory"):
        return f.verdict + (" (exploratory)" if f.strength == "exploratory" else "")
    if f.strength == "not_significant":
        return "no significant change"
    if f.verdict in ("better", "worse"):  # a verdict decided without an interval (none today)
        return f.verdict
    return "no interval (summary only)" if no_interval and f.kind == "latency" else (
        "no interval" if no_interval else "too few samples")


def _num(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "ms":
        return f"{v / 1000:.2f} s" if abs(v) >= 1000 else f"{v:.2f} ms"
    return f"{v:,.2f}"


def format_table(result: dict[str, Any], color: bool = False) -> str:
    import click

    head = ("metric", "stat", "A", "B", "Δ", "Δ %", f"{result['confidence']:.0%} CI of Δ %", "verdict")
    body = []
    for r in result["rows"]:
        pct = f"{r['pct']:+.1f}%" if r["pct"] is not None else "—"
        ci = f"{r['ci_pct'][0]:+.1f}% … {r['ci_pct'][1]:+.1f}%" if r["ci_pct"] else ""
        sign = "+" if r["abs"] > 0 else ""
        body.append((r["label"], r["stat"], _num(r["a"], r["unit"]), _num(r["b"], r["unit"]),
                     sign + _num(r["abs"], r["unit"]), pct, ci, r["verdict"]))
    widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
    right = {2, 3, 4, 5}

    def line(cells):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [f"{k}: {result[k.lower()]['path']} ({result[k.lower()]['format']}, {result[k.lower()]['data']}); "
           f"requests: {request_counts(result[k.lower()]['requests'])}" for k in ("A", "B")]
    lead = [("Headline", c) for c in result.get("headline", [])] + [("Worse", c) for c in result.get("regressions", [])]
    if lead:
        out.append("")
    for word, c in lead:
        text = f"{word}: {c['title']} {c['value']} ({c['detail']})"
        fg = "green" if c["verdict"] == "better" else "red" if c["verdict"] == "worse" else None
        out.append(click.style(text, fg=fg) if color and fg else text)
    out += ["", line(head), line(["-" * w for w in widths])]
    for cells in body:
        text = line(cells)
        if color:
            v = cells[-1]
            fg = "green" if v.startswith("better") else "red" if v.startswith("worse") else None
            text = click.style(text, fg=fg) if fg else text
        out.append(text)
    out.append("")
    out.append("Latency: lower is better. A change whose interval includes 0 is 'no significant change'. The medians are\n"
               "the primary statistics, tested together (a closed test); '(exploratory)' marks a change outside that family.")
    return "\n".join(out)


def compare_chain(paths: list[str | Path], *, selects: list[Any] | None = None, format: str = "auto",
                  analysis: Analysis | None = None) -> dict[str, Any]:
    """``casegen compare A B C …``: each run against the one before it (A→B, B→C, …), as a ladder.

    ``selects`` holds one selector per path (None where the file has one run). Two paths give the
    same result as :func:`compare_runs`, wrapped as a one-step chain."""
    if len(paths) < 2:
        raise CasegenError("compare needs at least two runs", expected="casegen compare A B [C …]")
    selects = list(selects or [None] * len(paths))
    options = ["--select-a", "--select-b"] + ["--select-more"] * (len(paths) - 2)
    steps = [compare_runs(paths[i], paths[i + 1], select_a=selects[i], select_b=selects[i + 1], format=format,
                          analysis=analysis, select_options=(options[i], options[i + 1]))
             for i in range(len(paths) - 1)]
    return {"runs": [str(p) for p in paths], "confidence": steps[0]["confidence"], "steps": steps}


def format_chain(result: dict[str, Any], color: bool = False) -> str:
    """One table per step, headed 'Step i: A → B'."""
    out = []
    for i, step in enumerate(result["steps"], start=1):
        out.append(f"Step {i}: {step['a']['path']} → {step['b']['path']}")
        out.append(format_table(step, color=color))
    return "\n\n".join(out)
