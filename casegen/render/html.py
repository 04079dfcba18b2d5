"""Render a :class:`~casegen.analysis.study.Study` to HTML (Jinja2) and PDF (WeasyPrint).

The HTML is one self-contained file: CSS inlined, charts as inline SVG, no
script, no external request. The PDF is rendered from the same HTML with the
print rules of the same stylesheet; WeasyPrint gets a URL fetcher that refuses
the network and any file outside the case folder and the package templates.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from casegen import __version__
from casegen.analysis.metrics import METRIC_LABELS, per_request_values
from casegen.analysis.quality import one_line as quality_one_line
from casegen.analysis.study import SIDES, Study
from casegen.analysis.sweep import offered_notes
from casegen.errors import CasegenError, InternalError
from casegen.formatting import (
    fmt_ms,
    fmt_ms_limit,
    fmt_ms_signed,
    fmt_num,
    fmt_pct,
    fmt_run_date,
    fmt_share,
    fmt_sig3,
    fmt_sig3_signed,
    fmt_usd,
    keep_units_together,
)
from casegen.registry import (
    CURVE_METRICS,
    METRIC_NOTES,
    METRICS,
    PERCENTILE_STATS,
    TABLE_METRICS,
    TABLE_STATS,
    THROUGHPUT_METRICS,
    TOOL_NAMES,
)
from casegen.render import charts, diagnosis_view, prose
from casegen.render.chart_memo import chart_theme
from casegen.render.glossary import PLACEHOLDER as GLOSSARY_PLACEHOLDER
from casegen.render.glossary import fill_page_glossary
from casegen.render.mdtext import MdSafe, md_escape, md_fence, md_finalize
from casegen.render.sandbox import ConfinedLoader, SecurityError, make_environment, render_bounded, security_error
from casegen.render.sections import section_context, section_names
from casegen.render.template_cache import TemplateCache
from casegen.render.weasyprint_import import import_weasyprint
from casegen.render.wide_tables import split_wide_tables, wide_tables
from casegen.report.build import build_report
from casegen.report.model import Report
from casegen.report.reproduce import reproduce_view
from casegen.resources import templates_dir
from casegen.story.model import Finding

# ------------------------------------------------------------------ formatting filters


def markdown(text: str) -> Markup:
    """CommonMark with raw HTML shown as text and images disabled (no remote fetches)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = lambda url: url.lower().startswith(("http://", "https://", "mailto:", "#"))  # type: ignore[method-assign]  # markdown-it documents this override
    return Markup(md.render(text or ""))


THEMES = ("modern", "classic")
LAYOUTS = {"full": "report.html.j2", "onepager": "onepager.html.j2"}


def abbr(text: str) -> Markup:
    """``text`` escaped, with the first TTFT, TPOT and E2E in it spelled out as a tooltip (<abbr title>)."""
    from casegen.render.hero import GLOSSARY

    out = str(escape(str(text)))
    for term in ("TTFT", "TPOT", "E2E"):
        out = re.sub(rf"\b{term}\b", f'<abbr title="{escape(GLOSSARY[term])}">{term}</abbr>', out, count=1)
    return Markup(out)


def lower_first(text: str) -> str:
    text = (text or "").strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


#: one cache per environment flavour: compiled code depends on the environment's options (autoescape);
#: kept on disk between processes too (casegen.render.template_cache)
_BYTECODE = {"html": TemplateCache("html", __version__), "md": TemplateCache("md", __version__)}


def _env(user_templates: Path | None = None, kind: str = "html") -> jinja2.Environment:
    """The one function that creates a template environment (sandboxed, casegen.render.sandbox): the user's
    folder first, then the packaged templates. ``kind="md"`` is the Markdown flavour: no HTML
    autoescape, every printed value escaped for Markdown and inline HTML instead (casegen.render.mdtext).

    ``default:NAME`` always names the packaged template, so a user file can extend the
    built-in one of the same name (Datasette-style).
    """
    builtin = jinja2.FileSystemLoader(str(templates_dir()))
    loaders: list[jinja2.BaseLoader] = []
    if user_templates is not None:
        loaders.append(ConfinedLoader(user_templates))  # never follows a link out of the folder
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    markdown_out = kind == "md"
    env = make_environment(
        jinja2.ChoiceLoader(loaders),
        autoescape=False if markdown_out else jinja2.select_autoescape(["html", "j2", "html.j2"], default=True),
        finalize=md_finalize if markdown_out else None,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_BYTECODE["md" if markdown_out else "html"],
    )
    env.filters.update(ms=fmt_ms, ms_limit=fmt_ms_limit, pct=fmt_pct, usd=fmt_usd, num=fmt_num, share=fmt_share, markdown=markdown,
                       lower_first=lower_first, abbr=abbr)
    env.globals["prose"] = prose.namespace()
    if markdown_out:
        env.filters.update(md=md_escape, md_fence=md_fence, safe_html=lambda v: MdSafe(str(markdown(str(v or ""))).strip()),
                           chart_alt=lambda chart, fallback="": charts.alt_text(chart) or fallback)
    return env


# ------------------------------------------------------------------ view model

LADDER_STATS = PERCENTILE_STATS


def _ci_text(ci: tuple[float, float] | None) -> str:
    return f"{fmt_ms(ci[0])} – {fmt_ms(ci[1])}" if ci else ""


def _verdict_class(f: Finding | None) -> str:
    """The table's class for a finding: its verdict, 'ns' when its interval includes 0, 'na' (†) without one.
    The verdict itself is decided once, in casegen.story.findings."""
    if f is None:
        return "na"
    return "ns" if f.strength == "not_significant" else f.verdict


def _interval_text(f: Finding | None) -> str:
    ev = f.evidence if f is not None else None
    if ev is None or not ev.supported:
        return ""
    if ev.ci_pct:
        return f"{fmt_pct(ev.ci_pct[0])} to {fmt_pct(ev.ci_pct[1])}"
    if ev.ci_abs:
        return f"{fmt_ms_signed(ev.ci_abs[0])} to {fmt_ms_signed(ev.ci_abs[1])}"
    return ""


def _results_rows(report: Report, found: dict[str, Finding]) -> list[dict[str, Any]]:
    """The latency table: every figure, interval and verdict read from the Report."""
    rows = []
    b, o = report.runs["baseline"].latency_ms, report.runs["optimized"].latency_ms
    ib, io = report.intervals.get("baseline"), report.intervals.get("optimized")
    for m in TABLE_METRICS:
        if m not in b and m not in o:
            continue
        group = []
        for stat in TABLE_STATS:
            bv = b[m].get(stat) if m in b else None
            ov = o[m].get(stat) if m in o else None
            if bv is None and ov is None:
                continue
            d = report.deltas.latency_ms.get(m, {}).get(stat)
            f = found.get(f"latency:{m}:{stat}")
            verdict, ci_text = _verdict_class(f), _interval_text(f)
            cib = ib.latency_ms.get(m, {}).get(stat) if ib else None
            cio = io.latency_ms.get(m, {}).get(stat) if io else None
            no_ci = ((ib is not None and m in ib.latency_ms and cib is None)
                     or (io is not None and m in io.latency_ms and cio is None)
                     or (d is not None and d.supported is False)
                     or (f is not None and f.strength == "point_only"))
            # a change outside the primary (confirmatory) family is never "significant" unlabelled
            exploratory = f is not None and f.strength == "exploratory"
            group.append({"stat": stat, "base": fmt_ms(bv), "opt": fmt_ms(ov),
                          "base_ci": _ci_text(_pair(cib)), "opt_ci": _ci_text(_pair(cio)), "no_ci": no_ci,
                          "abs": fmt_ms_signed(d.abs) if d else "—", "pct": fmt_pct(d.pct) if d else "—",
                          "ci": ci_text, "verdict": verdict, "exploratory": exploratory,
                          "why": f.evidence.note if f is not None and f.strength == "point_only" else ""})
        nb = b[m].get("n") if m in b else None
        no = o[m].get("n") if m in o else None
        unit = "chunks" if m == "itl" else "requests"
        rows.append({"metric": METRIC_LABELS[m], "key": m, "note": METRIC_NOTES[m], "rows": group,
                     "n": f"n = {fmt_num(nb)} / {fmt_num(no)} {unit}" if nb or no else "n not reported (summary only)"})
    return rows


def _pair(ci: list[float | None] | None) -> tuple[float, float] | None:
    return (ci[0], ci[1]) if ci and ci[0] is not None and ci[1] is not None else None


def _throughput_rows(report: Report) -> list[dict[str, Any]]:
    """The throughput table, read from the Report: the verdict is the one the findings decided
    (better/worse only when the change's batch-means interval excludes 0, † without one)."""
    b, o = report.runs["baseline"], report.runs["optimized"]
    rows = []
    bound = report.deltas.rate_bound
    for key in THROUGHPUT_METRICS:
        label, unit = METRICS[key].label, METRICS[key].unit
        d = report.deltas.throughput.get(key)
        ok = d is not None and d.supported is True
        verdict = "na" if bound or d is None else ("ns" if d.strength == "not_significant" else d.verdict)
        rows.append({"label": label, "unit": unit, "base": fmt_sig3(getattr(b.throughput, key)),
                     "opt": fmt_sig3(getattr(o.throughput, key)),
                     "abs": fmt_sig3_signed(d.abs) if d else "—",
                     "pct": (fmt_pct(d.pct) + ("" if ok or bound else "†")) if d else "—",
                     "verdict": verdict})
    rb, ro = b.requests, o.requests
    rows.append({"label": "Failed requests", "unit": "",
                 "base": f"{fmt_num(rb.failed)} ({fmt_share(rb.error_rate)})",
                 "opt": f"{fmt_num(ro.failed)} ({fmt_share(ro.error_rate)})", "abs": "", "pct": "",
                 "verdict": report.deltas.failed_requests})
    return rows


#: where a run's token counts come from (RunMeta.token_source), in reader language
TOKEN_SOURCES = {"server": "the server's (the API response's usage)",
                 "client": "the benchmark client's own count (the response re-tokenised)"}


def _method_rows(study: Study) -> list[dict[str, Any]]:
    rows = []

    def both(label: str, f) -> None:
        rows.append({"label": label, "cells": [f(s) for s in SIDES]})

    def tok(s: str, kind: str) -> str:
        d = study.metrics[s].tokens.get(kind)
        if d is None:
            return "—"
        if d.n is None:
            return f"mean {fmt_num(d.mean, 0)} (summary only)"
        if d.min == d.max:
            return f"{fmt_num(d.mean, 0)} for every request"
        return f"mean {fmt_num(d.mean, 0)}, p50 {fmt_num(d.p50, 0)}, p90 {fmt_num(d.p90, 0)} (min {fmt_num(d.min, 0)}, max {fmt_num(d.max, 0)})"

    R, M = study.runs, study.metrics
    both("Tool", lambda s: TOOL_NAMES.get(R[s].meta.tool, R[s].meta.tool)
         + (f" {R[s].meta.tool_version}" if R[s].meta.tool_version else "") )
    both("Model", lambda s: R[s].meta.model or "—")
    both("Backend", lambda s: R[s].meta.backend or "—")
    both("Run date", lambda s: fmt_run_date(R[s].meta.date))
    both("Offered load", lambda s: R[s].meta.describe_load())
    both("Requests", lambda s: f"{fmt_num(M[s].requests.get('total'))} sent, {fmt_num(M[s].requests.get('succeeded'))} succeeded, {fmt_num(M[s].requests.get('failed'))} failed")
    both("Duration", lambda s: f"{M[s].throughput.get('duration_s'):,.1f} s" if M[s].throughput.get("duration_s") else "—")
    both("Input tokens", lambda s: tok(s, "input"))
    both("Output tokens", lambda s: tok(s, "output"))
    if any(R[s].meta.token_source for s in SIDES):
        both("Token counts", lambda s: TOKEN_SOURCES.get(R[s].meta.token_source or "", "as the tool wrote them"))
    both("Data", lambda s: "per-request (recomputed by casegen)" if M[s].source == "per-request" else "summary only (the tool's own statistics)")
    return rows


def _teardown(study: Study, report: Report) -> dict[str, Any]:
    """The "Where the time goes" split: its chart (drawn from the Study's unrounded means, like every
    chart) and the sentences the story decided (report.time_split)."""
    sb, so = study.metrics["baseline"].split, study.metrics["optimized"].split
    chart = None
    if sb.get("mean_ttft_ms") is not None and so.get("mean_ttft_ms") is not None:
        chart = charts.split_chart([(study.label("baseline"), sb["mean_ttft_ms"], sb["mean_decode_ms"]),
                                    (study.label("optimized"), so["mean_ttft_ms"], so["mean_decode_ms"])])
    return {"chart": chart, "sentences": list(report.time_split)}


def _cost(study: Study, report: Report) -> dict[str, Any] | None:
    c = study.cost
    if c is None:
        return None
    cs = study.case.cost
    assert cs is not None

    def row(label: str, key: str, fmt) -> dict:
        bv, ov = getattr(c.baseline, key), getattr(c.optimized, key)
        pct = (ov - bv) / bv * 100 if bv and ov is not None else None
        return {"label": label, "base": fmt(bv), "opt": fmt(ov), "pct": fmt_pct(pct),
                "verdict": "na" if pct is None else "better" if pct < -0.5 else "worse" if pct > 0.5 else "same"}

    rows = [
        row("Cost per request", "usd_per_request", fmt_usd),
        row("Cost per 1M output tokens", "usd_per_million_output_tokens", fmt_usd),
        row("Cost per 1M input + output tokens", "usd_per_million_total_tokens", fmt_usd),
        row("Monthly cost at projected volume" if cs.monthly_basis == "usage" else "Monthly cost (always-on fleet)",
            "usd_per_month", lambda v: fmt_usd(v, 0)),
    ]
    if c.baseline.replicas_for_peak is not None or c.optimized.replicas_for_peak is not None:
        rows.append(row(f"Replicas for {fmt_num(cs.peak_requests_per_s, 1)} req/s peak", "replicas_for_peak",
                        lambda v: fmt_num(v) if v is not None else "— (API)"))
        rows.append(row("Always-on fleet per month", "fleet_usd_per_month",
                        lambda v: fmt_usd(v, 0) if v is not None else "—"))
    rc = report.cost
    if rc is None:  # the Report has a cost block whenever the study priced both sides
        raise InternalError("a priced study whose Report has no cost block")
    sentence, tone = rc.headline, rc.tone
    chart = charts.payback_chart(c.savings_usd_per_month, c.one_time_cost_usd, c.horizon_months,
                                 c.payback_months) if c.one_time_cost_usd > 0 or c.savings_usd_per_month > 0 else None
    return {
        "rows": rows,
        "assumptions": {"baseline": c.baseline.assumptions, "optimized": c.optimized.assumptions},
        "volume": cs.requests_per_month,
        "savings": c.savings_usd_per_month,
        "savings_pct": c.savings_pct,
        "one_time": c.one_time_cost_usd,
        "one_time_note": cs.one_time_cost_note,
        "payback": c.payback_months,
        "roi": c.roi_pct,
        "net": c.net_usd_over_horizon,
        "horizon": c.horizon_months,
        "verdict": sentence,
        "tone": tone,
        "chart": chart,
        "price_source": cs.price_source,
        "basis": cs.monthly_basis,
        "revenue": study.revenue,
        "break_even": study.break_even,
        "headroom": cs.headroom,
    }


def _tradeoffs(study: Study) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in study.case.tradeoffs:
        q = None
        i = len(out)
        if i in study.quality:
            qc = study.quality[i]
            q = {"lm_eval": qc, "metric": quality_one_line(qc), "within": qc.verdict == "within",
                 "verdict": qc.verdict, "rows": qc.rows}
        elif (qq := t.quality) is not None and qq.baseline is not None and qq.optimized is not None:
            loss = (qq.baseline - qq.optimized) if qq.higher_is_better is not False else (qq.optimized - qq.baseline)
            unit = qq.unit or ""
            change = qq.optimized - qq.baseline
            q = {"lm_eval": None, "metric": qq.metric, "base": f"{qq.baseline:g}{unit}", "opt": f"{qq.optimized:g}{unit}",
                 "loss": (f"{change:+.4g}{unit}".replace("-", "−") if change else "no change"),
                 "tolerance": f"{qq.tolerance:g}{unit}", "within": loss <= qq.tolerance + 1e-12,
                 "improved": loss < 0}
        out.append({"t": t, "quality": q})
    return out


def _inputs(study: Study) -> list[dict[str, Any]]:
    from casegen.report.reproduce import input_files

    return input_files(study)


#: Files written beside report.html that the page links to, by output format (label, file name).
OUTPUT_LINKS = {"pdf": ("PDF", "report.pdf"), "json": ("summary.json (every figure)", "summary.json"),
                "md": ("Markdown", "report.md")}


def output_links(outputs: tuple[str, ...]) -> list[dict[str, str]]:
    """Links to the other outputs of the same build (``outputs``: the formats written)."""
    return [{"label": OUTPUT_LINKS[f][0], "href": OUTPUT_LINKS[f][1]} for f in OUTPUT_LINKS if f in outputs]


def _workload_line(study: Study) -> str:
    """One line for the one-pager: dataset, offered load, requests and token lengths of the compared runs."""
    meta, m = study.runs["baseline"].meta, study.metrics["baseline"]
    parts = [study.case.workload.dataset] if study.case.workload.dataset else []
    parts.append(meta.describe_load())
    total = m.requests.get("total")
    if total:
        parts.append(f"{fmt_num(total)} requests per side")
    tin, tout = m.tokens.get("input"), m.tokens.get("output")
    if tin is not None and tout is not None and tin.mean is not None and tout.mean is not None:
        parts.append(f"mean {fmt_num(tin.mean, 0)} input / {fmt_num(tout.mean, 0)} output tokens")
    return "; ".join(parts)


def _chart_mark(f: Finding | None) -> tuple[str, str] | None:
    """(verdict, suffix) of a chart's change label: the finding's verdict, † without an interval."""
    if f is None:
        return None
    return f.verdict, ("†" if f.strength == "point_only" else "")


def _charts(study: Study, layout: str = "full", found: dict[str, Finding] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ttft_cdf": None, "e2e_cdf": None, "ladder": None, "ladder_compact": None}
    lb, lo = study.label("baseline"), study.label("optimized")
    rb, ro = study.runs["baseline"], study.runs["optimized"]
    if not rb.summary_only and not ro.summary_only:
        vb, vo = per_request_values(rb), per_request_values(ro)
        if vb["ttft"].size and vo["ttft"].size:
            out["ttft_cdf"] = charts.cdf_chart("Time to first token", vb["ttft"], vo["ttft"], lb, lo)
        if vb["e2e"].size and vo["e2e"].size:
            out["e2e_cdf"] = charts.cdf_chart("End-to-end latency", vb["e2e"], vo["e2e"], lb, lo)
    rows = []
    b, o = study.metrics["baseline"], study.metrics["optimized"]
    for m in CURVE_METRICS:
        if m in b.latency_ms and m in o.latency_ms:
            stats = [s for s in LADDER_STATS if b.latency_ms[m].get(s) is not None and o.latency_ms[m].get(s) is not None]
            if stats:
                marks = [_chart_mark((found or {}).get(f"latency:{m}:{s}")) for s in stats]
                rows.append({"label": METRIC_LABELS[m], "stats": stats,
                             "base": [b.latency_ms[m].get(s) for s in stats],
                             "opt": [o.latency_ms[m].get(s) for s in stats], "marks": marks})
    if rows:
        out["ladder"] = charts.ladder_chart(rows, lb, lo)
        if layout == "onepager" and any(s in ("p50", "p99") for r in rows for s in r["stats"]):
            out["ladder_compact"] = charts.ladder_chart(rows, lb, lo, compact=True)
    return out


STATUS_TEXT = {"pass": "pass", "fail": "fail", "inconclusive": "inconclusive"}


def _slos(study: Study) -> dict[str, Any] | None:
    if not study.case.slos:
        return None
    rows = []
    for i, s in enumerate(study.case.slos):
        cells = []
        for side in SIDES:
            summ = study.slos[side]
            if not summ.available:
                printed = study.metrics[side].latency_ms.get(s.metric)
                val = printed.get(f"p{s.percentile:g}") if printed is not None and hasattr(printed, f"p{s.percentile:g}") else None
                detail = summ.reason
                if val is not None:
                    detail += ("; the tool's printed value is within the threshold" if val <= s.threshold_ms
                               else "; the tool's printed value exceeds the threshold")
                cells.append({"status": "na", "observed": fmt_ms(val), "attainment": "—", "detail": detail})
                continue
            r = summ.results[i]
            status = r.verdict.status if r.verdict else "na"
            detail = r.verdict.reason if r.verdict else r.note
            if r.note and r.verdict:
                detail += f"; {r.note}"
            cells.append({"status": status, "observed": fmt_ms(r.observed_ms), "attainment": fmt_share(r.attainment),
                          "detail": detail})
        rows.append({"label": f"{METRIC_LABELS[s.metric]} p{s.percentile:g} ≤ {fmt_ms_limit(s.threshold_ms)}", "cells": cells})
    joint = []
    for side in SIDES:
        summ = study.slos[side]
        joint.append({"attainment": fmt_share(summ.joint_attainment) if summ.available else "—",
                      "goodput": fmt_sig3(summ.goodput_rps) if summ.available and summ.goodput_rps is not None else "—",
                      "one_token": summ.one_token_responses})
    a = study.case.analysis
    return {"rows": rows, "joint": joint, "confidence": f"{a.slo_confidence:.0%}", "tpot_rule": a.tpot_one_token}


def _sweep_view(study: Study, report: Report) -> dict[str, Any] | None:
    if not study.sweeps:
        return None
    from casegen.analysis.sweep import slo_text
    from casegen.render.sweep_charts import latency_throughput_chart, sweep_chart_stats

    b, o = study.sweeps["baseline"], study.sweeps["optimized"]
    caps = study.capacities
    cb, co = caps.get("baseline"), caps.get("optimized")
    cap_rows = []
    for side in SIDES:
        c = caps.get(side)
        if c is None:
            continue
        cap_rows.append({"side": study.label(side), "capacity": c.text(),
                         "tokens": f"{c.output_tokens_per_s:,.0f} tok/s" if c.output_tokens_per_s else "—",
                         "limiting": ", ".join(c.limiting) or "—", "notes": list(c.notes) + list(c.missing)})
    ratio = None
    if cb is not None and co is not None and cb.value_rps and co.value_rps:
        ratio = co.value_rps / cb.value_rps
    slo_phrase = " and ".join(slo_text(x) for x in study.case.slos)
    # one chart per SLO metric (or TTFT and TPOT without SLOs), percentiles the tools printed
    metrics: list[tuple[str, float | None]] = []
    for x in study.case.slos:
        if x.metric not in [m for m, _ in metrics]:
            metrics.append((x.metric, x.threshold_ms))
    if not metrics:
        metrics = [("ttft", None), ("tpot", None)]
    charts_out = []
    for metric, threshold in metrics[:3]:
        stats = sweep_chart_stats(study, metric)
        if not stats:
            continue
        kn = (study.knees.get("baseline", {}).get(metric), study.knees.get("optimized", {}).get(metric))
        charts_out.append(latency_throughput_chart(b, o, metric, stats=tuple(stats), threshold_ms=threshold,
                                                   knees=kn, capacities=(cb, co)))
    rows = []
    status_b = {i: v.status for i, v in enumerate(cb.verdicts)} if cb else {}
    status_o = {i: v.status for i, v in enumerate(co.verdicts)} if co else {}
    loads = sorted({p.load for p in b.points} | {p.load for p in o.points})
    for load in loads:
        cells = []
        for sw, statuses in ((b, status_b), (o, status_o)):
            idx = next((i for i, p in enumerate(sw.points) if p.load == load or
                        (math.isfinite(load) and math.isfinite(p.load) and math.isclose(p.load, load, rel_tol=0.01))), None)
            if idx is None:
                cells.append({"rps": "not measured", "status": "na"})
            else:
                p = sw.points[idx]
                cells.append({"rps": fmt_sig3(p.achieved_rps) if p.achieved_rps is not None else "—",
                              "status": statuses.get(idx, "na")})
        label = "unbounded" if not math.isfinite(load) else fmt_sig3(load)  # "43.3", as every figure
        rows.append({"load": label, "cells": cells,
                     "compared": study.compare_load is not None and load == study.compare_load})
    # the pairing's notes already hold the offered-rate notes (sweep.offered_notes): not again here
    notes = list(study.pairing.notes) if study.pairing is not None else offered_notes(b, o)
    for sw in (b, o):
        notes += [n for n in sw.notes if n not in notes]
    kind = "request rate (req/s)" if b.load_kind == "rate" else "concurrency"
    capf = next((f for f in report.findings if f.key == "capacity"), None)
    return {"cap_rows": cap_rows, "ratio": ratio, "slo_phrase": slo_phrase,
            "ratio_text": capf.value if capf is not None and capf.evidence.ratio_bound != "unknown" else None,
            "ratio_verdict": capf.verdict if capf is not None else "na", "charts": charts_out, "rows": rows,
            "notes": notes, "kind": kind, "n_points": (len(b.points), len(o.points)),
            "compare_at": ("unbounded" if study.compare_load is not None and not math.isfinite(study.compare_load)
                           else f"{study.compare_load:g}"),
            "attainment": study.case.capacity.attainment}


def _workload(study: Study) -> dict[str, Any] | None:
    wc = study.workload
    if wc is None:
        return None
    def said(text: str) -> str:  # the reader's words for a recorded value
        if text in ("", "—", "None"):
            return "not recorded"
        return {"True": "yes", "False": "no"}.get(text, TOOL_NAMES.get(text, text))

    rows = []
    for r in wc.rows:
        base, opt = said(r.base), said(r.opt)
        unknown = base == opt == "not recorded"
        rows.append({"label": r.label, "base": base, "opt": opt, "differs": r.differs, "detail": r.detail,
                     "informational": r.informational, "equivalent": None if unknown else r.equivalent,
                     "unknown": unknown})
    return {"rows": rows, "still_valid": wc.still_valid, "valid_note": wc.valid_note,
            "major": [t for t in wc.threats if t.severity == "major"]}


def _spread_view(study: Study) -> list[dict[str, Any]]:
    out = []
    for side, rows in study.spread.items():
        for r in rows:
            is_tp = r["metric"] == "throughput"
            f = fmt_sig3 if is_tp else fmt_ms
            out.append({"side": study.label(side),
                        "label": "requests/s" if is_tp else f"{METRIC_LABELS[r['metric']]} {r['stat']}",
                        "values": ", ".join(f(v) for v in r["values"]), "range": f"{f(r['min'])} – {f(r['max'])}",
                        "cv": fmt_pct(r["cv_pct"], signed=False) if r["cv_pct"] is not None else "—"})
    return out


def theme_css(theme: str = "modern") -> str:
    """The stylesheet of a theme: the base style.css plus the theme's overrides."""
    if theme not in THEMES:
        raise CasegenError(f"unknown theme '{theme}'", expected="one of: " + ", ".join(THEMES))
    css = (templates_dir() / "style.css").read_text(encoding="utf-8")
    if theme != "modern":
        css += "\n" + (templates_dir() / "themes" / f"{theme}.css").read_text(encoding="utf-8")
    return css


def report_context(study: Study, *, theme: str | None = None, layout: str | None = None, tight: int = 0,
                   report: Report | None = None, outputs: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every variable the templates receive (documented in docs/templates.md); charts are drawn in
    the theme's colours and font."""
    with chart_theme(theme or study.case.report.theme):
        return _report_context(study, theme=theme, layout=layout, tight=tight, report=report, outputs=outputs)


def _report_context(study: Study, *, theme: str | None, layout: str | None, tight: int, report: Report | None,
                    outputs: tuple[str, ...]) -> dict[str, Any]:
    case = study.case
    report = report or build_report(study)
    found = {f.key: f for f in report.findings}
    parity = []
    for s in SIDES:
        for p in report.runs[s].parity:
            parity.append({"side": getattr(report.labels, s), "metric": METRIC_LABELS.get(p.metric, p.metric),
                           "stat": p.stat, "ours": p.ours, "tool": p.tool, "diff": fmt_pct(p.diff_pct, digits=2),
                           "flagged": p.flagged, "diff_pct": p.diff_pct, "cause": p.cause})
    return {
        "case": case,
        "version": __version__,
        "labels": {s: study.label(s) for s in SIDES},
        "report": report,
        "sections": _section_order(study),
        **section_context(study, report),
        "headline": report.page1.cards,
        "regressions": report.page1.regressions,
        "missed": report.page1.missed,
        "caveats": report.page1.caveats,
        "business_summary": report.page1.in_short,
        "cost_basis": report.page1.cost_basis,
        "method": _method_rows(study),
        "results": _results_rows(report, found),
        "throughput": _throughput_rows(report),
        "teardown": _teardown(study, report),
        "diagnosis": diagnosis_view.teardown_view(study),
        "segments": diagnosis_view.segments_view(study),
        "cost": _cost(study, report),
        "tradeoffs": _tradeoffs(study),
        "inputs": _inputs(study),
        "reproduce": reproduce_view(study),
        "links": output_links(outputs),
        "workload_line": _workload_line(study),
        "charts": _charts(study, layout or case.report.layout, found),
        "notes_data": report.notes,
        "definitions": report.definitions,
        "tools_differ": _tools_differ(report),
        "parity": parity,
        "parity_flagged": [p for p in parity if p["flagged"]],
        "parity_largest": max(parity, key=lambda p: abs(float(p["diff_pct"] or 0.0))) if parity else None,  # type: ignore[arg-type]
        "percentile_method": case.analysis.percentile_method,
        "summary_only": [getattr(report.labels, s) for s in SIDES if report.runs[s].source.data == "summary"],
        "css": Markup(theme_css(theme or case.report.theme)),
        "keywords": list(case.tags) + [case.system.model, "LLM inference", "casegen"],
        "theme": theme or case.report.theme,
        "layout": layout or case.report.layout,
        "compact_latency": _compact_latency(report, found),
        "tight": tight,
        "page_glossary": Markup(GLOSSARY_PLACEHOLDER),
        "page_size": case.report.page_size,
        "slos": case.slos,
        "slo_view": _slos(study),
        "sweep": _sweep_view(study, report),
        "rate_bound": report.deltas.rate_bound,
        "threats": report.threats,
        "workload": _workload(study),
        "spread": _spread_view(study),
        "confidence": f"{case.analysis.confidence:.0%}",
        "resamples": case.analysis.bootstrap_resamples,
        "reps": {s: max(1, len(study.runs[s].parts)) for s in SIDES},
    }


def _tools_differ(report: Report) -> list[str]:
    """The two benchmark clients' names when the sides were measured with different ones, else []."""
    tools = [report.runs[s].source.tool or "" for s in SIDES]
    return [TOOL_NAMES.get(t, t) for t in tools] if tools[0] != tools[1] else []


def _section_order(study: Study) -> list[str]:
    """The sections in reading order: a sweep leads with its curve and capacity, right after the
    context; the single-load results (the one load both sides measured) follow."""
    names = section_names()
    if study.sweeps and study.ladder is None and "sweep" in names and "context" in names:
        names.remove("sweep")
        names.insert(names.index("context") + 1, "sweep")
    return names


def _compact_latency(report: Report, found: dict[str, Finding]) -> list[dict[str, Any]]:
    rows = []
    b, o = report.runs["baseline"].latency_ms, report.runs["optimized"].latency_ms
    for m in CURVE_METRICS:
        for stat in ("p50", "p99"):
            d = report.deltas.latency_ms.get(m, {}).get(stat)
            if d is None:
                continue
            verdict = _verdict_class(found.get(f"latency:{m}:{stat}"))
            pct = "n.s." if verdict == "ns" else fmt_pct(d.pct) + ("†" if verdict == "na" else "")
            rows.append({"label": f"{METRIC_LABELS[m] if m != 'e2e' else 'E2E'} {stat}",
                         "base": fmt_ms(b.get(m, {}).get(stat)), "opt": fmt_ms(o.get(m, {}).get(stat)),
                         "pct": pct, "verdict": verdict})
    return rows


def render_html(study: Study, *, layout: str | None = None, theme: str | None = None,
                templates: str | Path | None = None, tight: int = 0, report: Report | None = None,
                outputs: tuple[str, ...] = (), context: dict[str, Any] | None = None,
                medium: str = "screen") -> str:
    """The report as one self-contained HTML string (deterministic).

    ``medium`` is where it is read: "screen" (report.html: charts inline, with their phone
    variants) or "print" (the HTML :func:`render_pdf` lays out: charts as images, wide variant).

    ``layout`` (full | onepager) and ``theme`` (modern | classic) default to the case's ``report:``
    settings; ``templates`` is a folder of template overrides (never taken from case.yaml here:
    :func:`casegen.app.build.build` decides whether a case's own templates are trusted). ``context``
    is a :func:`report_context` made earlier for the same study, layout and theme (its charts are
    the costly part), rendered again at this ``tight`` level.
    """
    settings = study.case.report
    layout = layout or settings.layout
    theme = theme or settings.theme
    if layout not in LAYOUTS:
        raise CasegenError(f"unknown layout '{layout}'", expected="one of: " + ", ".join(LAYOUTS))
    user_dir = None
    if templates is not None:
        user_dir = Path(templates)
        if not user_dir.is_dir():
            raise CasegenError("template folder not found", file=user_dir, expected="a folder of .j2 templates")
    ctx = (dict(context, tight=tight) if context is not None
           else report_context(study, theme=theme, layout=layout, tight=tight, report=report, outputs=outputs))
    if user_dir is None:  # casegen's own templates
        return _render_html(_env(None), LAYOUTS[layout], ctx, medium, None)
    # a user's templates: in a child process with CPU, memory and output limits (casegen.render.sandbox)
    return render_bounded(lambda: _render_html(_env(user_dir), LAYOUTS[layout], ctx, medium, user_dir),
                          where=str(user_dir))


def _render_html(env: jinja2.Environment, name: str, ctx: dict[str, Any], medium: str, user_dir: Path | None) -> str:
    try:
        with charts.chart_medium(medium):
            return fill_page_glossary(keep_units_together(env.get_template(name).render(**ctx)))
    except jinja2.TemplateSyntaxError as err:
        raise CasegenError(f"template syntax error: {err.message}", file=err.filename or err.name,
                           where=f"line {err.lineno}", expected="valid Jinja2 (see docs/templates.md)") from None
    except jinja2.UndefinedError as err:
        raise CasegenError(f"template uses an unknown variable: {err.message}",
                           file=str(user_dir) if user_dir else None,
                           expected="a variable listed in docs/templates.md") from None
    except jinja2.TemplateNotFound as err:
        raise CasegenError(f"template not found: {err.name}", file=str(user_dir) if user_dir else None,
                           expected="a built-in template name, or default:NAME") from None
    except (SecurityError, OverflowError) as err:
        raise security_error(err, str(user_dir) if user_dir else None) from None
    except RecursionError:
        raise CasegenError("template recursion is too deep", file=str(user_dir) if user_dir else None,
                           expected="templates that include or call themselves a bounded number of times") from None


# ------------------------------------------------------------------ PDF


def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class CaseOnlyFetcher(URLFetcher):
        """Allow data: URLs and file: URLs under the given roots; refuse everything else."""

        def __init__(self, roots: list[Path]):
            super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, timeout=2)
            self.roots = [r.resolve() for r in roots]

        def fetch(self, url, headers=None):
            if url.lower().startswith("file:"):
                from urllib.parse import unquote, urlparse

                target = Path(unquote(urlparse(url).path)).resolve()
                if not any(target == r or r in target.parents for r in self.roots):
                    raise ValueError(f"blocked local file outside the case folder: {target}")
            return super().fetch(url, headers)

    return CaseOnlyFetcher


#: WeasyPrint PDF variant: PDF/UA-1 (tagged, with the language of the HTML's ``lang``) for screen readers.
PDF_VARIANT = "pdf/ua-1"


class PageOverflow(Exception):
    """The PDF came out longer than allowed (one-page layout)."""

    def __init__(self, pages: int):
        self.pages = pages
        super().__init__(f"{pages} pages")


def _bundled_fonts_css() -> tuple[str, Path]:
    """@font-face rules for the DejaVu fonts matplotlib ships, so the PDF looks the same on every
    machine (charts use the same family). Returns (css, font folder)."""
    import matplotlib

    d = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = []
    for family, stem in (("casegen-sans", "DejaVuSans"), ("casegen-serif", "DejaVuSerif"),
                         ("casegen-mono", "DejaVuSansMono"), ("DejaVu Sans", "DejaVuSans")):
        italic = "Italic" if stem == "DejaVuSerif" else "Oblique"
        for weight, style, suffix in (("normal", "normal", ""), ("bold", "normal", "-Bold"),
                                      ("normal", "italic", f"-{italic}"), ("bold", "italic", f"-Bold{italic}")):
            f = d / f"{stem}{suffix}.ttf"
            if f.is_file():
                faces.append(f"@font-face {{ font-family: '{family}'; font-weight: {weight}; font-style: {style}; "
                             f"src: url('{f.as_uri()}'); }}")
    # a *user* stylesheet: !important lets it win over the document's own font stack
    rules = "\n".join(faces) + """
body, .report, h1, h2, h3, table, th, td { font-family: 'casegen-sans', sans-serif !important; }
body.theme-classic, .theme-classic .report, .theme-classic h1, .theme-classic h2, .theme-classic h3,
.theme-classic table, .theme-classic th, .theme-classic td { font-family: 'casegen-serif', serif !important; }
code, .hash { font-family: 'casegen-mono', monospace !important; }
svg text { font-family: 'casegen-sans', sans-serif !important; }
.theme-classic svg text { font-family: 'casegen-serif', serif !important; }
@page {
  @top-left { font-family: 'casegen-sans', sans-serif !important; }
  @top-right { font-family: 'casegen-sans', sans-serif !important; }
  @bottom-right { font-family: 'casegen-sans', sans-serif !important; }
}
"""
    return rules, d


def render_pdf(html: str, case_dir: Path, date: dt.date, *, max_pages: int | None = None) -> bytes:
    """PDF bytes from the report HTML. Deterministic for a given case date."""
    try:
        weasyprint = import_weasyprint()
    except OSError as err:  # Pango missing
        raise CasegenError(
            f"WeasyPrint cannot load its system libraries ({err})",
            hint="install Pango (Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0), or build with --no-pdf",
        ) from None
    import logging

    epoch = str(int(dt.datetime.combine(date, dt.time(12, 0), tzinfo=dt.timezone.utc).timestamp()))
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = epoch  # font subsets carry a timestamp otherwise
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        from weasyprint.text.fonts import FontConfiguration

        fonts_css, fonts_dir = _bundled_fonts_css()
        fetcher = _fetcher_class()([case_dir, templates_dir(), fonts_dir])
        font_config = FontConfiguration()
        extra = weasyprint.CSS(string=fonts_css, font_config=font_config, url_fetcher=fetcher)
        source = html  # rendered for print: charts are already images (charts.chart_medium)
        doc = weasyprint.HTML(string=source, base_url=str(case_dir.resolve()) + "/", url_fetcher=fetcher)
        # PDF/UA-1: a tagged PDF (structure tree, reading order, alt texts) carrying the document language
        rendered = doc.render(stylesheets=[extra], font_config=font_config, pdf_variant=PDF_VARIANT)
        wide = wide_tables(rendered, doc.etree_element)
        if wide:  # a table wider than the page: split it into parts that fit, and lay out again
            doc = weasyprint.HTML(string=split_wide_tables(source, wide), base_url=str(case_dir.resolve()) + "/",
                                  url_fetcher=fetcher)
            rendered = doc.render(stylesheets=[extra], font_config=font_config, pdf_variant=PDF_VARIANT)
        if max_pages is not None and len(rendered.pages) > max_pages:
            raise PageOverflow(len(rendered.pages))
        return rendered.write_pdf(pdf_variant=PDF_VARIANT)
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
