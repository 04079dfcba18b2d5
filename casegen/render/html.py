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
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from casegen import __version__
from casegen.analysis.metrics import METRIC_LABELS, per_request_values
from casegen.analysis.study import SIDES, Study
from casegen.analysis.sweep import slo_text
from casegen.errors import CasegenError, InternalError
from casegen.formatting import (
    BOUND_SIGN,
    directed,
    fmt_date,
    fmt_link,
    fmt_load,
    fmt_month,
    fmt_months_bound,
    fmt_ms,
    fmt_ms_limit,
    fmt_ms_signed,
    fmt_num,
    fmt_pct,
    fmt_pct_bound,
    fmt_run_date,
    fmt_share,
    fmt_sig,
    fmt_sig3,
    fmt_usd,
    fmt_usd_money,
    keep_units_together,
    opposite_bound,
)
from casegen.registry import (
    CURVE_METRICS,
    METRIC_NOTES,
    METRICS,
    PERCENTILE_STATS,
    TABLE_METRICS,
    TABLE_STATS,
    THROUGHPUT,
    THROUGHPUT_METRICS,
    TOOL_NAMES,
)
from casegen.render import charts, diagnosis_view, prose, svg_text
from casegen.render.chart_memo import chart_theme
from casegen.render.glossary import PLACEHOLDER as GLOSSARY_PLACEHOLDER
from casegen.render.glossary import fill_page_glossary, terms_in
from casegen.render.hero import hero_chart
from casegen.render.ladder_view import ladder_chart
from casegen.render.mdtext import MdSafe, md_escape, md_fence, md_finalize
from casegen.render.running_head import running_author, running_title, title_breaks
from casegen.render.sandbox import ConfinedLoader, SecurityError, make_environment, render_bounded, security_error
from casegen.render.sections import section_context, section_names
from casegen.render.template_cache import TemplateCache
from casegen.render.weasyprint_import import import_weasyprint
from casegen.render.wide_tables import split_wide_tables, wide_tables
from casegen.report.build import build_report
from casegen.report.model import Report
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
    from casegen.render.glossary import meaning

    out = str(escape(str(text)))
    for term in ("TTFT", "TPOT", "E2E"):
        out = re.sub(rf"\b{term}\b", f'<abbr title="{escape(meaning(term))}">{term}</abbr>', out, count=1)
    return Markup(out)


def whole_sentences(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a sentence (or ``;`` clause) boundary, never in a
    sentence: the first sentence always stays whole; when some are left out the text ends "… (see
    report)". For the one-pager, whose tightest levels shorten the trade-offs (the full report has them)."""
    text = (text or "").strip()
    if len(text) <= limit:
        return text
    parts = re.split(r"(?<=[.;!?])\s+", text)
    kept = parts[0]
    for part in parts[1:]:
        if len(kept) + 1 + len(part) > limit:
            break
        kept += " " + part
    if kept == text:
        return text
    return kept.rstrip(".;") + " … (see report)"


def shell_lines(command: str, width: int = 78) -> str:
    """A long shell command broken into lines of at most ``width`` characters between options, with
    ``" \\"`` continuations: it wraps between options, never inside a token or quoted text, and
    pastes into a shell as the same command (an option longer than ``width`` gets a line of its
    own). A command of at most ``width`` characters, or one with a line break of its own, is
    returned as it is."""
    if len(command) <= width or "\n" in command:
        return command
    starts: list[int] = []
    quote = ""
    for i, ch in enumerate(command):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == " " and command[i + 1:i + 2] == "-" and i > 0 and command[i - 1] != "\\":
            starts.append(i)
    if not starts:
        return command
    pieces, prev = [], 0
    for i in starts:
        pieces.append(command[prev:i].strip())
        prev = i + 1
    pieces.append(command[prev:].strip())
    lines = [pieces[0]]
    for piece in (p for p in pieces[1:] if p):
        indent = "    " if len(lines) > 1 else ""
        if len(indent) + len(lines[-1]) + 1 + len(piece) + 2 <= width:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    return " \\\n    ".join(lines)


def full_stop(text: str) -> str:
    """The author's text as a sentence: a final period when it has none (it is printed as written otherwise)."""
    text = (text or "").strip()
    return text if not text or text.endswith((".", "!", "?", ")", "…")) else text + "."


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
                       lower_first=lower_first, full_stop=full_stop, abbr=abbr,
                       whole_sentences=whole_sentences, shell_lines=shell_lines, date=fmt_date, month=fmt_month,
                       link_text=fmt_link, running_title=running_title, running_author=running_author,
                       title_breaks=title_breaks)
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
                          "why": (f.evidence.note if f is not None and f.strength == "point_only"
                                  else _own_withheld(ib, io, m, stat))})
        nb = b[m].get("n") if m in b else None
        no = o[m].get("n") if m in o else None
        unit = "chunks" if m == "itl" else "requests"
        rows.append({"metric": METRIC_LABELS[m], "key": m, "note": METRIC_NOTES[m], "rows": group,
                     "n": f"n = {fmt_num(nb)} / {fmt_num(no)} {unit}" if nb or no else "n not reported (summary only)"})
    return rows


def _own_withheld(ib: Any, io: Any, metric: str, stat: str) -> str:
    """Why a side's own interval is withheld while the change keeps its interval (a short run), or ""."""
    for iv in (ib, io):
        why = iv.withheld.get(metric, {}).get(stat) if iv is not None else None
        if why:
            return str(why)
    return ""


def _latency_dagger(report: Report, results: list[dict[str, Any]]) -> str:
    """The † legend, its own line right under the latency table (issue 23): which numbers † applies to
    (the two sides' values of that row), why they have no interval of their own, and — where the change
    in that row still has an interval — that the Δ % interval is the change's and stands. "" without †."""
    marked = [(g["metric"], r) for g in results for r in g["rows"] if r["no_ci"]]
    if not marked:
        return ""
    if any(report.runs[s].source.data == "summary" for s in SIDES):
        why = "summary-only data: the tool printed the statistic, with no per-request latencies to put an interval on"
    else:
        why = "too few independent requests"
    text = (f"† beside a statistic: the {report.labels.baseline} and {report.labels.optimized} values in that row "
            f"have no interval of their own ({why}).")
    kept = [(metric, r) for metric, r in marked if r["ci"]]
    if kept:
        names = ", ".join(f"{_short_metric(metric)} {r['stat']}" for metric, r in kept)
        reason = next((r["why"] for _, r in kept if r["why"]), "")
        text += (f" The Δ % interval beside {names} is the change's, computed from both runs, and stands"
                 + (f": {reason}." if reason else "."))
    return text


def _short_metric(label: str) -> str:
    """'Time to first token' style table labels as the tables' abbreviations (TTFT, TPOT, E2E)."""
    return {"End-to-end latency": "E2E"}.get(label, label)


def latency_caption(results: list[dict[str, Any]], confidence: str, ranges: str) -> str:
    """The latency table's caption, saying only what the table shows (issue 23): intervals are named
    when some are printed, "exploratory" when a row is marked so."""
    shown = any(r["base_ci"] or r["opt_ci"] or r["ci"] for g in results for r in g["rows"])
    text = "Latency: lower is better (▼ = faster)."
    if shown:
        text += f" {ranges} are {confidence} confidence intervals."
    if any(r["exploratory"] for g in results for r in g["rows"]):
        text += (" A change marked exploratory was not among the statistics tested together and may be chance.")
    return text


def _pair(ci: list[float | None] | None) -> tuple[float, float] | None:
    return (ci[0], ci[1]) if ci and ci[0] is not None and ci[1] is not None else None


#: the throughput/cost keys whose tokens an intended change (optimization.kind) moves on purpose
_BY_DESIGN_KEYS = {"input": ("total_tokens_per_s", "usd_per_million_total_tokens"),
                   "output": ("output_tokens_per_s", "total_tokens_per_s", "usd_per_million_output_tokens",
                              "usd_per_million_total_tokens")}


def by_design(report: Report) -> tuple[set[str], str]:
    """The token-rate and per-token cost keys an intended change moves on purpose (fewer tokens per
    request: token rates fall, each remaining token costs more), and the tokens it changes ("input",
    "output", "input and output"; "" for none). Those rows carry no better/worse colour."""
    o = report.optimization
    kinds = [k for k in ("input", "output") if o is not None and k in o.intended]
    return {key for k in kinds for key in _BY_DESIGN_KEYS[k]}, " and ".join(kinds)


def _delta_as_shown(delta: float, base: str, opt: str) -> str:
    """A change written to the decimals of the two values beside it (1.02 → 1.00: −0.02, not −0.0162);
    '0' when it rounds to nothing there."""
    decimals = max((len(t.split(".", 1)[1]) if "." in t else 0) for t in (base, opt))
    text = f"{abs(delta):,.{decimals}f}"
    return "0" if float(text.replace(",", "")) == 0 else ("−" if delta < 0 else "+") + text


def _throughput_by_design(report: Report) -> str:
    """Below the throughput table: why token rates that an intended change moves carry no verdict."""
    designed, tokens = by_design(report)
    rows = [METRICS[k].label.lower() for k in THROUGHPUT_METRICS if k in designed]
    if not rows or report.optimization is None:
        return ""
    return (f"The token rate{'s' if len(rows) > 1 else ''} ({', '.join(rows)}) carr{'y' if len(rows) > 1 else 'ies'} no "
            f"verdict: {report.optimization.label} uses fewer {tokens} tokens per request by design, so "
            f"{'they fall' if len(rows) > 1 else 'it falls'} without the server being slower.")


def _throughput_rows(report: Report) -> list[dict[str, Any]]:
    """The throughput table, read from the Report: the verdict is the one the findings decided
    (better/worse only when the change's batch-means interval excludes 0, † without one)."""
    b, o = report.runs["baseline"], report.runs["optimized"]
    rows = []
    bound = report.deltas.rate_bound
    designed, _ = by_design(report)
    for key in THROUGHPUT_METRICS:
        label, unit = METRICS[key].label, METRICS[key].unit
        d = report.deltas.throughput.get(key)
        ok = d is not None and d.supported is True
        verdict = ("na" if bound or d is None or key in designed
                   else ("ns" if d.strength == "not_significant" else d.verdict))
        base, opt = fmt_sig3(getattr(b.throughput, key)), fmt_sig3(getattr(o.throughput, key))
        rows.append({"label": label, "unit": unit, "base": base, "opt": opt,
                     "abs": _delta_as_shown(d.abs, base, opt) if d and d.abs is not None else "—",
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


#: what a table cell holds when the files carry nothing for it
EMPTY_CELLS = frozenset({"", "—", "-", "not recorded", "unknown"})


def _method_rows(report: Report) -> list[dict[str, Any]]:
    rows = []
    R, S = report.runs, report.setup

    def both(label: str, f) -> None:
        cells = [f(s) for s in SIDES]
        # a row empty on both sides says nothing: left out instead of a row of dashes (issue 23)
        if any(c not in EMPTY_CELLS for c in cells):
            rows.append({"label": label, "cells": cells})

    def tok(s: str, kind: str) -> str:
        d = getattr(R[s].tokens, kind)
        if d is None:
            return "—"
        if d.get("n") is None:
            return f"mean {fmt_num(d['mean'], 0)} (summary only)"
        if d["min"] == d["max"]:
            return f"{fmt_num(d['mean'], 0)} for every request"
        return (f"mean {fmt_num(d['mean'], 0)}, p50 {fmt_num(d['p50'], 0)}, p90 {fmt_num(d['p90'], 0)} "
                f"(min {fmt_num(d['min'], 0)}, max {fmt_num(d['max'], 0)})")

    both("Tool", lambda s: TOOL_NAMES.get(R[s].source.tool or "", R[s].source.tool or "")
         + (f" {R[s].source.tool_version}" if R[s].source.tool_version else ""))
    both("Model", lambda s: R[s].model or "—")
    both("Backend", lambda s: S[s].backend or "—")
    both("Run date", lambda s: fmt_run_date(S[s].run_date))
    both("Offered load", lambda s: S[s].load_text)
    both("Requests", lambda s: f"{fmt_num(R[s].requests.total)} sent, {fmt_num(R[s].requests.succeeded)} succeeded, "
                               f"{fmt_num(R[s].requests.failed)} failed")
    both("Duration", lambda s: f"{R[s].throughput.duration_s:,.1f} s" if R[s].throughput.duration_s else "—")
    both("Input tokens", lambda s: tok(s, "input"))
    both("Output tokens", lambda s: tok(s, "output"))
    if any(S[s].token_source for s in SIDES):
        both("Token counts", lambda s: TOKEN_SOURCES.get(S[s].token_source or "", "as the tool wrote them"))
    both("Data", lambda s: "per-request (recomputed by casegen)" if R[s].source.data == "per-request"
         else "summary only (the tool's own statistics)")
    return rows


def _teardown(report: Report, drawn: dict[str, Any]) -> dict[str, Any]:
    """The "Where the time goes" split: its chart and the sentences the story decided (report.time_split)."""
    return {"chart": drawn["split"], "sentences": list(report.time_split)}


def _cost(report: Report, drawn: dict[str, Any]) -> dict[str, Any] | None:
    c, cs = report.cost, report.case.cost
    if c is None:
        return None
    if cs is None:  # the Report has cost inputs whenever the study priced both sides
        raise InternalError("a priced Report without the case's cost inputs")

    # a cost priced at a throughput change without an interval, or at an uncertified capacity, is a
    # point estimate: its changes are shown neutral and marked †, like every figure without an interval
    point = c.point_only is not None or not c.established

    # a side priced at a capacity that is a bound has costs that are bounds ("≤ $0.0000809"), and so is
    # the change ("≤ −42.3%"); it has a direction only where the bound excludes the other one
    # the change (optimized − baseline) is bounded the other way round from the saving, which the
    # analysis decided from both sides' bounds (analysis.cost.saving_bound)
    bb, ob = c.baseline.bound, c.optimized.bound
    pct_bound = opposite_bound(c.savings_bound)

    designed, tokens = by_design(report)
    rose_by_design: list[str] = []

    def row(label: str, key: str, fmt) -> dict:
        bv, ov = getattr(c.baseline, key), getattr(c.optimized, key)
        pct = (ov - bv) / bv * 100 if bv and ov is not None else None
        # a bound printed rounded the way that keeps it true ("≥ $21" for $21.58)
        cells = {"label": label, "base": BOUND_SIGN.get(bb, "") + directed(fmt, bv, bb) if bv is not None else fmt(bv),
                 "opt": BOUND_SIGN.get(ob, "") + directed(fmt, ov, ob) if ov is not None else fmt(ov),
                 "by_design": False}
        if pct is None:
            return {**cells, "pct": fmt_pct(pct), "verdict": "na"}
        if key in designed:  # fewer tokens per request on purpose: a per-token cost is no verdict
            if pct > 0.5:
                rose_by_design.append(label[:1].lower() + label[1:])
            return {**cells, "pct": fmt_pct_bound(pct_bound, pct), "verdict": "na", "by_design": True}
        if pct_bound == "unknown":
            return {**cells, "pct": "—", "verdict": "na"}
        text = fmt_pct_bound(pct_bound, pct)
        if point and abs(pct) > 0.5:
            return {**cells, "pct": text + "†", "verdict": "na"}
        verdict = "better" if pct < -0.5 else "worse" if pct > 0.5 else "same"
        if (pct_bound == "at_most" and verdict != "better") or (pct_bound == "at_least" and verdict != "worse"):
            verdict = "na"  # the bound allows either direction
        return {**cells, "pct": text, "verdict": verdict}

    rows = [
        row("Cost per request", "usd_per_request", fmt_usd),
        row("Cost per 1M output tokens", "usd_per_million_output_tokens", fmt_usd),
        row("Cost per 1M input + output tokens", "usd_per_million_total_tokens", fmt_usd),
        row("Monthly cost at projected volume" if cs.monthly_basis == "usage" else "Monthly cost (always-on fleet)",
            "usd_per_month", fmt_usd_money),
    ]
    if c.baseline.replicas_for_peak is not None or c.optimized.replicas_for_peak is not None:
        rows.append(row(f"Replicas for {fmt_num(cs.peak_requests_per_s, 1)} req/s peak", "replicas_for_peak",
                        lambda v: fmt_num(v) if v is not None else "— (API)"))
        rows.append(row("Always-on fleet per month", "fleet_usd_per_month",
                        fmt_usd_money))
    # the summary tiles keep the saving's bound: payback moves the other way, ROI the same way
    sb = c.savings_bound
    mark = "†" if point or sb == "unknown" else ""
    # in words, so a reader need not negate a sign: "at least $781", "within 12.8 months", "at worst −6%"
    same = {"at_least": "at least ", "at_most": "at most "}.get(sb, "")
    other = {"at_least": "within ", "at_most": "at least "}.get(sb, "")
    roi_q = {"at_least": "at worst ", "at_most": "at best "}.get(sb, "") if (c.roi_pct or 0) < 0 else same
    # the saving's share is the monthly row's change in the table above: said once, there
    saving = (same + fmt_usd_money(c.savings_usd_per_month, sb)
              if c.savings_usd_per_month is not None else "—") + mark
    payback = ("none" if c.payback_months is None else "immediate" if c.payback_months == 0
               else f"{other}{fmt_months_bound(c.payback_months, opposite_bound(sb))} months{mark}")
    roi = "n/a" if c.roi_pct is None else f"{roi_q}{directed(lambda v: fmt_pct(v, digits=0), c.roi_pct, sb)}{mark}"
    kind = report.optimization.label if report.optimization is not None else ""
    by_design_note = (f"{' and '.join(rose_by_design)[:1].upper()}{' and '.join(rose_by_design)[1:]} "
                      f"{'rises' if len(rose_by_design) == 1 else 'rise'} because {kind} uses fewer {tokens} tokens "
                      "per request by design, so each remaining token carries more of the request's cost; cost per "
                      "request is the figure to compare." if rose_by_design else "")
    return {
        "tiles": {"saving": saving, "one_time": fmt_usd(c.one_time_cost_usd, 0), "payback": payback, "roi": roi},
        "tiles_estimate": _estimate_tiles(c),
        "estimate_note": c.estimate_note,
        "by_design_note": by_design_note,
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
        "verdict": c.headline,
        "tone": c.tone,
        "chart": drawn["payback"],
        "price_source": cs.price_source,
        "basis": cs.monthly_basis,
        "revenue": c.revenue_effect,
        "break_even": c.self_host_vs_api,
        "headroom": cs.headroom,
        "priced_at": c.priced_at,
    }


def _tradeoffs(report: Report) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, t in enumerate(report.case.tradeoffs):
        q = None
        qf = report.quality[i] if i < len(report.quality) else None
        if qf is not None and qf.source == "lm-eval":
            q = {"lm_eval": qf, "metric": t.quality_line, "within": qf.verdict == "within",
                 "verdict": qf.verdict, "rows": qf.rows}
        elif qf is not None and qf.baseline is not None and qf.optimized is not None and qf.tolerance is not None:
            loss = (qf.baseline - qf.optimized) if qf.higher_is_better is not False else (qf.optimized - qf.baseline)
            unit = t.quality_unit or ""
            change = qf.optimized - qf.baseline
            q = {"lm_eval": None, "metric": qf.metric, "base": f"{qf.baseline:g}{unit}", "opt": f"{qf.optimized:g}{unit}",
                 "loss": (f"{change:+.4g}{unit}".replace("-", "−") if change else "no change"),
                 "tolerance": f"{qf.tolerance:g}{unit}", "within": qf.verdict == "within",
                 "improved": loss < 0}
        # "Quality not measured" is a threat of this case: the one-pager's shortened trade-off line still says it
        unmeasured = q is None and any(th.key == "quality-not-measured" for th in report.threats)
        out.append({"t": t, "quality": q, "unmeasured": unmeasured})
    return out


#: Files written beside report.html that the page links to, by output format (label, file name).
OUTPUT_LINKS = {"pdf": ("PDF", "report.pdf"), "json": ("summary.json (every figure)", "summary.json"),
                "md": ("Markdown", "report.md")}


def output_links(outputs: tuple[str, ...]) -> list[dict[str, str]]:
    """Links to the other outputs of the same build (``outputs``: the formats written)."""
    return [{"label": OUTPUT_LINKS[f][0], "href": OUTPUT_LINKS[f][1]} for f in OUTPUT_LINKS if f in outputs]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sweep_workload(report: Report) -> list[str]:
    """A sweep's loads and requests for the one-pager (issue 23): 'concurrency 1, 4 and 8', '24 requests per load
    point, 3 load points a side' — never the compared point's count read as a side's."""
    assert report.sweep is not None
    sides = [report.sweep.sides[s] for s in ("baseline", "optimized") if s in report.sweep.sides]

    def loads(vals: list[float], kind: str) -> str:
        vals = sorted(set(vals))
        num = [fmt_load(v, kind, short=True).removeprefix("c") for v in vals]
        # a long sweep by its range: 'rate 1–255 req/s', not thirteen numbers on a one-line summary
        said = _and(num) if len(num) <= 4 else f"{num[0]}–{num[-1]}"
        return f"rate {said} req/s" if kind == "rate" else f"concurrency {said}"

    def values(sd: Any) -> list[float]:
        return [math.inf if p.load == "inf" else float(p.load) for p in sd.points if p.load is not None]

    kind = sides[0].load_kind
    texts = [loads(values(sd), kind) for sd in sides]
    parts = [texts[0] if len(set(texts)) == 1 else loads([v for sd in sides for v in values(sd)], kind)]
    counts = [p.requests for sd in sides for p in sd.points]
    npoints = [len(sd.points) for sd in sides]
    if counts and all(c for c in counts):
        per = (f"{fmt_num(counts[0])} requests per load point" if len(set(counts)) == 1
               else f"{fmt_num(min(counts))}–{fmt_num(max(counts))} requests per load point")  # type: ignore[type-var]
        where = (f"{npoints[0]} load points a side" if len(set(npoints)) == 1
                 else f"{npoints[0]} and {npoints[1]} load points")
        parts.append(f"{per}, {where}")
    return parts


def _workload_line(report: Report) -> str:
    """One line for the one-pager: dataset, offered load, requests and token lengths of the compared runs (a
    sweep: its loads and requests per load point)."""
    run = report.runs["baseline"]
    parts = [report.case.workload.dataset] if report.case.workload.dataset else []
    if report.sweep is not None and report.sweep.sides:
        parts += _sweep_workload(report)
    else:
        parts.append(report.setup["baseline"].load_text)
        if run.requests.total:
            parts.append(f"{fmt_num(run.requests.total)} requests per side")
    tin, tout = run.tokens.input, run.tokens.output
    if tin is not None and tout is not None and tin.get("mean") is not None and tout.get("mean") is not None:
        parts.append(f"mean {fmt_num(tin['mean'], 0)} input / {fmt_num(tout['mean'], 0)} output tokens")
    return "; ".join(parts)


def _chart_mark(f: Finding | None) -> tuple[str, str] | None:
    """(verdict, suffix) of a chart's change label: the finding's verdict, † without an interval."""
    if f is None:
        return None
    return f.verdict, ("†" if f.strength == "point_only" else "")


def draw_charts(study: Study, report: Report, layout: str = "full") -> dict[str, Any]:
    """Every chart of the report, drawn once from the Study's per-request arrays and figures (charts
    are values: :class:`casegen.render.charts.Chart`); the views take them from here. Change labels
    carry the findings' verdicts (``report``)."""
    found = {f.key: f for f in report.findings}
    out: dict[str, Any] = {"ttft_cdf": None, "e2e_cdf": None, "ladder": None, "ladder_compact": None,
                           "split": None, "payback": None, "sweep": [], "hero": hero_chart(study, report),
                           "ladder_section": ladder_chart(study),
                           "diagnosis": diagnosis_view.teardown_chart(report.teardown),
                           "segments": diagnosis_view.segments_chart(report.segments.axes)
                           if report.segments is not None and report.segments.axes else None}
    lb, lo = study.label("baseline"), study.label("optimized")
    rb, ro = study.runs["baseline"], study.runs["optimized"]
    if not rb.summary_only and not ro.summary_only:
        vb, vo = per_request_values(rb), per_request_values(ro)
        # each CDF marks the percentiles and limits of the objectives on its metric (p50/p99 without one)
        objectives = {m: tuple((float(x.percentile), float(x.threshold_ms)) for x in study.case.slos if x.metric == m)
                      for m in ("ttft", "e2e")}
        if vb["ttft"].size and vo["ttft"].size:
            out["ttft_cdf"] = charts.cdf_chart("Time to first token", vb["ttft"], vo["ttft"], lb, lo,
                                               objectives=objectives["ttft"])
        if vb["e2e"].size and vo["e2e"].size:
            out["e2e_cdf"] = charts.cdf_chart("End-to-end latency", vb["e2e"], vo["e2e"], lb, lo,
                                              objectives=objectives["e2e"])
    rows = []
    b, o = study.metrics["baseline"], study.metrics["optimized"]
    for m in CURVE_METRICS:
        if m in b.latency_ms and m in o.latency_ms:
            stats = [s for s in LADDER_STATS if b.latency_ms[m].get(s) is not None and o.latency_ms[m].get(s) is not None]
            if stats:
                marks = [_chart_mark(found.get(f"latency:{m}:{s}")) for s in stats]
                rows.append({"label": METRIC_LABELS[m], "stats": stats,
                             "base": [b.latency_ms[m].get(s) for s in stats],
                             "opt": [o.latency_ms[m].get(s) for s in stats], "marks": marks})
    if rows:
        out["ladder"] = charts.ladder_chart(rows, lb, lo)
        if layout == "onepager" and any(s in ("p50", "p99") for r in rows for s in r["stats"]):
            out["ladder_compact"] = charts.ladder_chart(rows, lb, lo, compact=True)
    sb, so = study.metrics["baseline"].split, study.metrics["optimized"].split
    if sb.get("mean_ttft_ms") is not None and so.get("mean_ttft_ms") is not None:  # unrounded means
        out["split"] = charts.split_chart([(lb, sb["mean_ttft_ms"], sb["mean_decode_ms"]),
                                           (lo, so["mean_ttft_ms"], so["mean_decode_ms"])])
    c = study.cost
    # the chart is the payback: without a one-time cost there is nothing to pay back, and a lone line
    # of "savings × months" says no more than the monthly figure beside it (half a page for one number)
    if c is not None and c.one_time_cost_usd > 0:
        out["payback"] = charts.payback_chart(c.savings_usd_per_month, c.one_time_cost_usd, c.horizon_months,
                                              c.payback_months, c.savings_bound,
                                              c.estimate.savings_usd_per_month if c.estimate is not None else None)
    if study.sweeps:
        out["sweep"] = sweep_charts(study)
    return out


STATUS_TEXT = {"pass": "pass", "fail": "fail", "inconclusive": "inconclusive"}


def _inputs(inputs: list[Any]) -> list[dict[str, Any]]:
    """The input files, each run's position in its file said only for a file that holds several runs
    (one file a load point needs no "(load point 2)": its name says which)."""
    from collections import Counter

    shared = Counter(f.file for f in inputs)
    return [{**f.model_dump(), "index": _entries(f.index) if shared[f.file] > 1 else None} for f in inputs]


def _entries(index: str | None) -> str | None:
    """'0, 1, 2' (runs' 0-based positions in their file) → 'entries 1–3'; 'entry 7' for one."""
    if not index:
        return None
    try:
        pos = [int(x) + 1 for x in index.split(",")]
    except ValueError:
        return index
    if len(pos) == 1:
        return f"entry {pos[0]}"
    if pos == list(range(pos[0], pos[-1] + 1)):
        return f"entries {pos[0]}–{pos[-1]}"
    return "entries " + ", ".join(map(str, pos))


def _estimate_tiles(c: Any) -> dict[str, str]:
    """The cost summary's figures at the estimates, under the bounds the tiles show ({} without)."""
    e = c.estimate
    if e is None:
        return {"saving": "", "payback": "", "roi": ""}
    sb = e.savings_bound
    priced_once = c.one_time_cost_usd is not None and c.one_time_cost_usd > 0  # else nothing to pay back
    return {"saving": ("" if e.savings_usd_per_month is None
                       else f"estimate {fmt_usd_money(e.savings_usd_per_month, sb)}"),
            "payback": ("" if e.payback_months is None or not priced_once
                        else f"estimate {fmt_months_bound(e.payback_months, opposite_bound(sb))} months"),
            "roi": ("" if e.roi_pct is None or c.roi_pct is None
                    else f"estimate {directed(lambda v: fmt_pct(v, digits=0), e.roi_pct, sb)}")}


def _slos(report: Report) -> dict[str, Any] | None:
    if not report.slos:
        return None
    rows = []
    bases: set[str] = set()  # how the rows shown were judged: the explanation above the table says only those
    for i, s in enumerate(report.slos):
        cells = []
        for side in SIDES:
            summ = report.slo_results[side]
            if not summ.available:
                printed = report.runs[side].latency_ms.get(s.metric)
                val = printed.get(f"p{s.percentile:g}") if printed is not None else None
                detail = summ.reason or ""
                if val is not None:
                    detail += ("; the tool's printed value is within the threshold" if val <= s.threshold_ms
                               else "; the tool's printed value exceeds the threshold")
                cells.append({"status": "na", "observed": fmt_ms(val), "attainment": "—", "detail": detail})
                continue
            r = summ.objectives[i]
            if r.verdict is not None:  # a judged row: by per-request latencies, or by the tool's printed percentile
                bases.add("printed" if r.attainment is None else "per-request")
            status = r.verdict or "na"
            detail = r.reason or ""
            if r.note and r.verdict:
                detail += f"; {r.note}"
            cells.append({"status": status, "observed": fmt_ms(r.observed_ms), "attainment": fmt_share(r.attainment),
                          "detail": detail})
        rows.append({"label": f"{METRIC_LABELS[s.metric]} p{s.percentile:g} ≤ {fmt_ms_limit(s.threshold_ms)}", "cells": cells})
    joint = []
    for side in SIDES:
        summ = report.slo_results[side]
        joint.append({"attainment": fmt_share(summ.joint_attainment) if summ.available else "—",
                      "goodput": fmt_sig3(summ.goodput_requests_per_s)
                      if summ.available and summ.goodput_requests_per_s is not None else "—",
                      "one_token": summ.one_token_responses})
    a = report.case.analysis
    # rows with nothing to say on either side (summary-only data, no 1-token response) are left out
    show = {"attainment": any(j["attainment"] != "—" for j in joint),
            "goodput": any(j["goodput"] != "—" for j in joint),
            "one_token": any(j["one_token"] for j in joint) and any(s.metric == "tpot" for s in report.slos)}
    return {"rows": rows, "joint": joint, "show": show, "confidence": f"{a.slo_confidence:.0%}",
            "tpot_rule": a.tpot_one_token, "per_request": "per-request" in bases, "printed": "printed" in bases}


def sweep_charts(study: Study) -> list[Any]:
    """One latency–throughput chart per SLO metric (or TTFT and TPOT without SLOs), at the percentiles
    the tools printed, with both capacities and knees."""
    from casegen.render.sweep_charts import latency_throughput_chart, sweep_chart_stats

    b, o = study.sweeps["baseline"], study.sweeps["optimized"]
    cb, co = study.capacities.get("baseline"), study.capacities.get("optimized")
    metrics: list[tuple[str, float | None]] = []
    for x in study.case.slos:
        if x.metric not in [m for m, _ in metrics]:
            metrics.append((x.metric, x.threshold_ms))
    if not metrics:
        metrics = [("ttft", None), ("tpot", None)]
    out = []
    for metric, threshold in metrics[:3]:
        stats = sweep_chart_stats(study, metric)
        if not stats:
            continue
        kn = (study.knees.get("baseline", {}).get(metric), study.knees.get("optimized", {}).get(metric))
        out.append(latency_throughput_chart(b, o, metric, stats=tuple(stats), threshold_ms=threshold,
                                            knees=kn, capacities=(cb, co)))
    return out


def _sweep_view(report: Report, drawn: dict[str, Any]) -> dict[str, Any] | None:
    sw = report.sweep
    if sw is None:
        return None
    b, o = sw.sides["baseline"], sw.sides["optimized"]
    cap_rows = []
    for side in SIDES:
        c = sw.sides[side].capacity
        if c is None:
            continue
        cap_rows.append({"side": getattr(report.labels, side), "capacity": c.text,
                         "tokens": f"{c.output_tokens_per_s:,.0f} tok/s" if c.output_tokens_per_s else "—",
                         "limiting": ", ".join(c.limiting) or "—", "notes": list(c.notes) + list(c.missing)})
    slo_phrase = " and ".join(slo_text(x) for x in report.slos)  # type: ignore[arg-type]
    rows = []
    loads = sorted({_load(p.load) for p in b.points} | {_load(p.load) for p in o.points})
    for load in loads:
        cells = []
        for sweep_side in (b, o):
            p = next((p for p in sweep_side.points if _load(p.load) == load or
                      (math.isfinite(load) and math.isfinite(_load(p.load))
                       and math.isclose(_load(p.load), load, rel_tol=0.01))), None)
            if p is None:
                cells.append({"rps": "not measured", "status": "na"})
            else:
                cells.append({"rps": fmt_sig3(p.achieved_requests_per_s) if p.achieved_requests_per_s is not None else "—",
                              # an uncertified miss says "over": the capacity is placed by it
                              "status": (f"{p.slo_status} (over)" if p.slo_status == "inconclusive"
                                         and p.slo_measured == "over" else p.slo_status or "na")})
        label = fmt_load(load, b.load_kind)  # "concurrency 8", "rate 43.3 req/s": one style (formatting.fmt_load)
        rows.append({"load": label, "cells": cells,
                     "compared": sw.compare_at_load is not None and load == _load(sw.compare_at_load)})
    kind = "request rate (req/s)" if b.load_kind == "rate" else "concurrency"
    capf = next((f for f in report.findings if f.key == "capacity"), None)
    compare = sw.compare_at_load
    return {"cap_rows": cap_rows, "slo_phrase": slo_phrase, "compact_rows": compact_sweep_rows(rows),
            "ratio_text": capf.value if capf is not None and capf.evidence.ratio_bound != "unknown" else None,
            # the capacity finding's own sentence (decided once, in casegen.story.findings)
            "verdict_line": capf.claim if capf is not None else None,
            "ratio_verdict": capf.verdict if capf is not None else "na", "charts": drawn["sweep"], "rows": rows,
            "notes": list(sw.notes), "kind": kind, "n_points": (len(b.points), len(o.points)),
            "compare_at": fmt_load(_load(compare), b.load_kind) if compare is not None else "—",
            "attainment": report.case.analysis.capacity_attainment,
            # which kinds of points the pass rule has to cover, and the strictest percentile it is compared with
            "data": tuple(k for k in ("per-request", "summary") if any(p.data == k for p in b.points + o.points)),
            "strictest": f"p{max(s.percentile for s in report.slos):g}" if report.slos else None}


#: the one-pager's objectives-by-load table holds at most this many loads
COMPACT_SWEEP_ROWS = 6


def compact_sweep_rows(rows: list[dict[str, Any]], limit: int = COMPACT_SWEEP_ROWS) -> list[dict[str, Any]]:
    """The loads a one-pager's objectives table keeps when a sweep has more than ``limit``: the first
    and last load, and around each side's capacity the last load it passed and the next one it
    measured (where its verdict turns); filled up with loads both sides measured. In load order."""
    if len(rows) <= limit:
        return rows
    keep = {0, len(rows) - 1}
    for side in (0, 1):
        measured = [i for i, r in enumerate(rows) if r["cells"][side]["status"] != "na"
                    and r["cells"][side]["rps"] != "not measured"]
        passed = [i for i in measured if _cell_status(rows[i], side) == "pass"]
        if passed:
            keep.add(passed[-1])
            after = [i for i in measured if i > passed[-1]]
            if after:
                keep.add(after[0])
    both = [i for i, r in enumerate(rows) if all(c["rps"] != "not measured" for c in r["cells"])]
    for i in both:
        if len(keep) >= limit:
            break
        keep.add(i)
    return [rows[i] for i in sorted(keep)][: max(limit, len(keep))]


def _cell_status(row: dict[str, Any], side: int) -> str:
    return str(row["cells"][side]["status"])


def _load(value: float | str | None) -> float:
    """A sweep point's nominal load as a number (an unbounded rate is ∞)."""
    return math.inf if value is None or value == "inf" else float(value)


def _workload(report: Report) -> dict[str, Any] | None:
    wc = report.workload
    if not wc.compared:
        return None

    def said(text: str | bool | float | None) -> str:  # the reader's words for a recorded value
        text = str(text)
        if text in ("", "—", "None"):
            return "not recorded"
        return {"True": "yes", "False": "no"}.get(text, TOOL_NAMES.get(text, text))

    rows, unrecorded = [], []
    for r in wc.rows:
        base, opt = said(r.base), said(r.opt)
        unknown = base == opt == "not recorded"
        if unknown and not r.differs:  # a row of "not recorded" on both sides: named once under the table
            unrecorded.append(r.label)
            continue
        rows.append({"label": r.label, "base": base, "opt": opt, "differs": r.differs, "detail": r.detail,
                     "informational": r.informational, "equivalent": None if unknown else r.equivalent,
                     "unknown": unknown})
    return {"rows": rows, "still_valid": wc.comparisons_still_valid, "valid_note": wc.comparisons_note,
            "major": wc.major_threats, "unrecorded": unrecorded}


def _spread_view(report: Report) -> list[dict[str, Any]]:
    out = []
    for r in report.spread:
        is_tp = r.metric == "throughput"
        f = fmt_sig3 if is_tp else fmt_ms
        out.append({"side": getattr(report.labels, r.side),
                    "label": "requests/s" if is_tp else f"{METRIC_LABELS[r.metric]} {r.stat}",
                    "values": ", ".join(f(v) for v in r.values), "range": f"{f(r.min)} – {f(r.max)}",
                    "cv": fmt_pct(r.cv_pct, signed=False) if r.cv_pct is not None else "—"})
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
    """Every variable the templates receive (documented in docs/templates.md): the Report's views and
    the charts, drawn in the theme's colours and font. The Study is used only to draw the charts
    (:func:`draw_charts`); everything else comes from the Report (:func:`page_context`)."""
    settings = study.case.report
    theme, layout = theme or settings.theme, layout or settings.layout
    report = report or build_report(study)
    with chart_theme(theme):
        drawn = draw_charts(study, report, layout)
    return page_context(report, drawn, theme=theme, layout=layout, page_size=settings.page_size, tight=tight,
                        outputs=outputs)


def page_context(report: Report, drawn: dict[str, Any], *, theme: str, layout: str, page_size: str, tight: int = 0,
                 outputs: tuple[str, ...] = ()) -> dict[str, Any]:
    """The template variables: views of the Report (formatting only) and the drawn charts, with the
    render settings (theme, layout, page size, tightening level, the formats written beside)."""
    case = report.case
    found = {f.key: f for f in report.findings}
    results = _results_rows(report, found)
    compact = _compact_latency(report, found)
    parity = []
    for s in SIDES:
        last_cause = None  # a cause shared by the flagged rows below it on the same side is said once
        for p in report.runs[s].parity:
            cause = p.cause
            if p.flagged:
                cause, last_cause = ("same cause as above" if p.cause and p.cause == last_cause else p.cause), p.cause
            throughput = p.metric == "throughput"
            parity.append({"side": getattr(report.labels, s),
                           "metric": "Throughput" if throughput else METRIC_LABELS.get(p.metric, p.metric),
                           "stat": _PARITY_THROUGHPUT.get(p.stat, p.stat) if throughput else p.stat,
                           "ours": fmt_sig(p.ours, 4), "tool": fmt_sig(p.tool, 4), "diff": fmt_pct(p.diff_pct, digits=2),
                           "flagged": p.flagged, "diff_pct": p.diff_pct, "cause": cause})
    charts_shown = {k: drawn[k] for k in ("ttft_cdf", "e2e_cdf", "ladder", "ladder_compact")}
    return {
        "case": case,
        "version": __version__,
        "labels": {s: getattr(report.labels, s) for s in SIDES},
        "report": report,
        "sections": _section_order(report),
        **section_context(report, drawn),
        "headline": report.page1.cards,
        "regressions": report.page1.regressions,
        "missed": report.page1.missed,
        "caveats": report.page1.caveats,
        "business_summary": report.page1.in_short,
        "cost_basis": report.page1.cost_basis,
        "method": _method_rows(report),
        "results": results,
        "latency_dagger": _latency_dagger(report, results),
        # the † legend right under the first latency table that has a † row (issue 23)
        "latency_dagger_at": next((i for i, g in enumerate(results) if any(r["no_ci"] for r in g["rows"])), None),
        "latency_caption": latency_caption(results, f"{case.analysis.confidence:.0%}", "Small grey ranges"),
        "latency_caption_md": latency_caption(results, f"{case.analysis.confidence:.0%}", "Ranges in parentheses"),
        "throughput": _throughput_rows(report),
        "throughput_by_design": _throughput_by_design(report),
        "teardown": _teardown(report, drawn),
        "diagnosis": diagnosis_view.teardown_view(report.teardown, drawn["diagnosis"]),
        "segments": diagnosis_view.segments_view(report, drawn["segments"]),
        "cost": _cost(report, drawn),
        "tradeoffs": _tradeoffs(report),
        "inputs": _inputs(report.inputs),
        "reproduce": report.reproduce,
        "links": output_links(outputs),
        "workload_line": _workload_line(report),
        "charts": charts_shown,
        "notes_data": report.notes,
        "definitions": report.definitions,
        "tools_differ": _tools_differ(report),
        "parity": parity,
        "parity_flagged": [p for p in parity if p["flagged"]],
        "parity_largest": max(parity, key=lambda p: abs(float(p["diff_pct"] or 0.0))) if parity else None,
        "percentile_method": case.analysis.percentile_method,
        "summary_only": [getattr(report.labels, s) for s in SIDES if report.runs[s].source.data == "summary"],
        "css": Markup(theme_css(theme)),
        "keywords": list(case.tags) + [case.system.model, "LLM inference", "casegen"],
        "theme": theme,
        "layout": layout,
        "compact_latency": compact,
        "compact_latency_stats": " / ".join(sorted({r["stat"] for r in compact}, key=TABLE_STATS.index)),
        "tight": tight,
        "page_glossary": Markup(GLOSSARY_PLACEHOLDER),
        # page 1 without a picture still spells out its terms (with one, the hero section carries them)
        "page1_glossary": page1_terms(report),
        "page_size": page_size,
        "slos": report.slos,
        "slo_view": _slos(report),
        "sweep": _sweep_view(report, drawn),
        "rate_bound": report.deltas.rate_bound,
        "threats": report.threats,
        "workload": _workload(report),
        "spread": _spread_view(report),
        "confidence": f"{case.analysis.confidence:.0%}",
        "resamples": case.analysis.bootstrap_resamples,
        "reps": {s: report.setup[s].repetitions for s in SIDES},
    }


def _tools_differ(report: Report) -> list[str]:
    """The two benchmark clients' names when the sides were measured with different ones, else []."""
    tools = [report.runs[s].source.tool or "" for s in SIDES]
    return [TOOL_NAMES.get(t, t) for t in tools] if tools[0] != tools[1] else []


def page1_terms(report: Report) -> list[tuple[str, str]]:
    """(term, few words) for every term page 1's cards, boxes and "In short" use (no picture)."""
    from casegen.render.hero import page1_text

    return terms_in(page1_text(report), long=False)


#: a throughput figure of the parity table, named as the throughput table names it
_PARITY_THROUGHPUT = {**{k: f"{m.label.lower()} ({m.unit})" for k, m in THROUGHPUT.items()},
                      "input_tokens_per_s": "input tokens (tok/s)"}


def _section_order(report: Report) -> list[str]:
    """The sections in reading order: a sweep leads with its curve and capacity, right after the
    context; the single-load results (the one load both sides measured) follow."""
    names = section_names()
    if report.sweep is not None and report.ladder is None and "sweep" in names and "context" in names:
        names.remove("sweep")
        names.insert(names.index("context") + 1, "sweep")
        # one load point is not a sweep's story (issue 23): its detailed tables and objectives move
        # behind the notes, just before the appendix, and its time split is left out (the capacity,
        # not the split at the lightest load, is what the sweep measured)
        detail = [n for n in ("results", "slos") if n in names]
        for n in detail + ["teardown"]:
            if n in names:
                names.remove(n)
        at = names.index("appendix") if "appendix" in names else len(names)
        names[at:at] = detail
    return names


def _compact_latency(report: Report, found: dict[str, Finding]) -> list[dict[str, Any]]:
    """The one-pager's latency table: p50 and p99 of each curve metric, and the statistic of every
    latency finding page 1 shows (a card on TTFT p95 has its p95 row here)."""
    rows = []
    b, o = report.runs["baseline"].latency_ms, report.runs["optimized"].latency_ms
    shown = {(k.split(":")[1], k.split(":")[2]) for k in report.page1.selected
             if k.startswith("latency:") and k.count(":") == 2}
    for m in CURVE_METRICS:
        stats = sorted({"p50", "p99"} | {st for mm, st in shown if mm == m and st in TABLE_STATS},
                       key=TABLE_STATS.index)
        for stat in stats:
            d = report.deltas.latency_ms.get(m, {}).get(stat)
            if d is None:
                continue
            verdict = _verdict_class(found.get(f"latency:{m}:{stat}"))
            pct = "n.s." if verdict == "ns" else fmt_pct(d.pct) + ("†" if verdict == "na" else "")
            rows.append({"label": f"{METRIC_LABELS[m] if m != 'e2e' else 'E2E'} {stat}", "stat": stat,
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


_HEADING = re.compile(r"(<(h[1-4])\b[^>]*>)(.*?)(</\2>)", re.DOTALL)
_LAST_SPACE = re.compile(r" (?=[^ <>]+(?:<[^>]*>|\s)*$)")


def headings_without_orphans(html: str) -> str:
    """``html`` with each heading's last two words joined by a no-break space, so no title or
    heading ends with one word alone on its line ("… at a 500 ms p99 / TTFT")."""

    def join(m: re.Match) -> str:
        plain = re.sub(r"<[^>]*>", "", m.group(3)).rstrip()
        if len(plain) <= 24 or "\u00a0" in plain.rsplit(" ", 1)[-1]:  # short, or joined already
            return m.group(0)
        return m.group(1) + _LAST_SPACE.sub("\u00a0", m.group(3), count=1) + m.group(4)

    return _HEADING.sub(join, html)


def _render_html(env: jinja2.Environment, name: str, ctx: dict[str, Any], medium: str, user_dir: Path | None) -> str:
    try:
        with charts.chart_medium(medium):
            page = keep_units_together(env.get_template(name).render(**{**ctx, "medium": medium}),
                                       join_rates=medium == "print")
            # in print, no heading ends with a word alone (screens balance headings with CSS text-wrap)
            return fill_page_glossary(headings_without_orphans(page) if medium == "print" else page)
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


def _bundled_fonts_css(serif: bool = True) -> tuple[str, Path]:
    """@font-face rules for the DejaVu fonts matplotlib ships, so the PDF looks the same on every
    machine. Returns (css, font folder). The sans-serif faces carry the name the charts' SVG asks
    for ('DejaVu Sans'), so the page's text and the charts' share one set of faces (WeasyPrint
    copies and registers each face it is given: 0.002 s each); the serif faces only when
    ``serif`` (the classic theme's page)."""
    import matplotlib

    d = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = []
    families = (("DejaVu Sans", "DejaVuSans"),) + ((("casegen-serif", "DejaVuSerif"),) if serif else ()) + (
        ("casegen-mono", "DejaVuSansMono"),)
    for family, stem in families:
        italic = "Italic" if stem == "DejaVuSerif" else "Oblique"
        for weight, style, suffix in (("normal", "normal", ""), ("bold", "normal", "-Bold"),
                                      ("normal", "italic", f"-{italic}"), ("bold", "italic", f"-Bold{italic}")):
            f = d / f"{stem}{suffix}.ttf"
            if f.is_file():
                faces.append(f"@font-face {{ font-family: '{family}'; font-weight: {weight}; font-style: {style}; "
                             f"src: url('{f.as_uri()}'); }}")
    # a *user* stylesheet: !important lets it win over the document's own font stack
    rules = "\n".join(faces) + """
body, .report, h1, h2, h3, table, th, td { font-family: 'DejaVu Sans', sans-serif !important; }
body.theme-classic, .theme-classic .report, .theme-classic h1, .theme-classic h2, .theme-classic h3,
.theme-classic table, .theme-classic th, .theme-classic td { font-family: 'casegen-serif', serif !important; }
code, .hash { font-family: 'casegen-mono', monospace !important; }
svg text { font-family: 'DejaVu Sans', sans-serif !important; }
.theme-classic svg text { font-family: 'casegen-serif', serif !important; }
@page {
  @top-left { font-family: 'DejaVu Sans', sans-serif !important; }
  @top-right { font-family: 'DejaVu Sans', sans-serif !important; }
  @bottom-right { font-family: 'DejaVu Sans', sans-serif !important; }
}
"""
    return rules, d


def _remove_font_copies(font_config: Any) -> None:
    """Delete the folder where WeasyPrint copied the ``@font-face`` fonts of one rendering (8–12 DejaVu
    files, 4–6 MB). WeasyPrint removes it only when its font configuration is finalized, and that
    object sits in a reference cycle: in the ``casegen`` command, which runs without the cyclic
    collector (``casegen.cli.main``), it never was, and every build left a folder in the temporary
    directory. The PDF is written by then; the fonts are not read again."""
    import shutil

    folder = getattr(font_config, "_folder", None)  # WeasyPrint's own attribute (None before the first @font-face)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


#: When a list (tests), every PDF rendered appends its laid-out WeasyPrint document (the pages' boxes,
#: as written) here: page breaks are then checked on the layout, not guessed from the PDF's text.
LAYOUT_LOG: ContextVar[list | None] = ContextVar("casegen_layout_log", default=None)


def render_pdf(html: str, case_dir: Path, date: dt.date, *, max_pages: int | None = None,
               inspect: Callable[[Any], None] | None = None) -> bytes:
    """PDF bytes from the report HTML. Deterministic for a given case date. ``inspect`` is called with
    the laid-out WeasyPrint document before it is written (the portfolio measures its chapters' pages)."""
    try:
        weasyprint = import_weasyprint()
    except OSError as err:  # Pango missing
        raise CasegenError(
            f"WeasyPrint cannot load its system libraries ({err})",
            hint="install Pango (Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0), or build with --no-pdf",
        ) from None
    svg_text.install(weasyprint)  # the charts' text a line at a time (casegen.render.svg_text)
    import logging

    epoch = str(int(dt.datetime.combine(date, dt.time(12, 0), tzinfo=dt.timezone.utc).timestamp()))
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = epoch  # font subsets carry a timestamp otherwise
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    font_config = None
    try:
        from weasyprint.text.fonts import FontConfiguration

        fonts_css, fonts_dir = _bundled_fonts_css(serif="theme-classic" in html)
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
        log = LAYOUT_LOG.get()
        if log is not None:  # tests: the laid-out pages, to check breaks on the boxes themselves
            log.append(rendered)
        if inspect is not None:
            inspect(rendered)
        return rendered.write_pdf(pdf_variant=PDF_VARIANT)
    finally:
        _remove_font_copies(font_config)
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
