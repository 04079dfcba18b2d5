"""Render a :class:`~casegen.study.Study` to HTML (Jinja2) and PDF (WeasyPrint).

The HTML is one self-contained file: CSS inlined, charts as inline SVG, no
script, no external request. The PDF is rendered from the same HTML with the
print rules of the same stylesheet; WeasyPrint gets a URL fetcher that refuses
the network and any file outside the case folder and the package templates.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from casegen import __version__, charts
from casegen.errors import CasegenError
from casegen.sandbox import SecurityError, make_environment, security_error
from casegen.metrics import METRIC_LABELS, per_request_values
from casegen.study import SIDES, Study


def templates_dir() -> Path:
    """Folder of the packaged templates (wheel) or of the source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "report.html.j2").is_file():
            return candidate
    raise RuntimeError("casegen templates not found; the installation is incomplete")


# ------------------------------------------------------------------ formatting filters


def fmt_ms(v: float | None) -> str:
    """Milliseconds for humans: 0.85 ms, 12.3 ms, 845 ms, 2.41 s."""
    if v is None or not math.isfinite(v):
        return "—"
    a = abs(v)
    if a >= 10_000:
        return f"{v / 1000:,.1f} s"
    if a >= 1000:
        return f"{v / 1000:,.2f} s"
    if a >= 100:
        return f"{v:,.0f} ms"
    if a >= 10:
        return f"{v:,.1f} ms"
    return f"{v:,.2f} ms"


def fmt_ms_signed(v: float | None) -> str:
    """A change in milliseconds with an explicit sign: +1.20 ms, −583 ms."""
    if v is None or not math.isfinite(v):
        return "—"
    return ("+" if v > 0 else "−" if v < 0 else "±") + fmt_ms(abs(v))


def fmt_pct(v: float | None, signed: bool = True, digits: int = 1) -> str:
    if v is None or not math.isfinite(v):
        return "—"
    s = f"{v:+,.{digits}f}%" if signed else f"{v:,.{digits}f}%"
    return s.replace("-", "−")


def fmt_usd(v: float | None, digits: int | None = None) -> str:
    if v is None or not math.isfinite(v):
        return "—"
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 1000 else 2 if a >= 1 else 4 if a >= 0.01 else 6
    s = f"${abs(v):,.{digits}f}"
    return ("−" + s) if v < 0 else s


def fmt_num(v: float | None, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 100):
        return f"{int(v):,}"
    return f"{v:,.{digits}f}"


def fmt_share(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def markdown(text: str) -> Markup:
    """CommonMark with raw HTML shown as text and images disabled (no remote fetches)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = lambda url: url.lower().startswith(("http://", "https://", "mailto:", "#"))
    return Markup(md.render(text or ""))


THEMES = ("modern", "classic")
LAYOUTS = {"full": "report.html.j2", "onepager": "onepager.html.j2"}


def lower_first(text: str) -> str:
    text = (text or "").strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _env(user_templates: Path | None = None) -> jinja2.Environment:
    """Sandboxed Jinja2 environment (casegen.sandbox): the user's folder first, then the packaged templates.

    ``default:NAME`` always names the packaged template, so a user file can extend the
    built-in one of the same name (Datasette-style).
    """
    builtin = jinja2.FileSystemLoader(str(templates_dir()))
    loaders: list[jinja2.BaseLoader] = []
    if user_templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_templates)))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    env = make_environment(
        jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html", "j2", "html.j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(ms=fmt_ms, pct=fmt_pct, usd=fmt_usd, num=fmt_num, share=fmt_share, markdown=markdown,
                       lower_first=lower_first)
    return env


# ------------------------------------------------------------------ view model

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
LADDER_STATS = ("p50", "p90", "p95", "p99")
TABLE_METRICS = ("ttft", "tpot", "itl", "e2e")
TABLE_STATS = ("mean", "p50", "p90", "p95", "p99")
METRIC_NOTES = {
    "ttft": "send → first streamed token",
    "tpot": "decode time ÷ (output tokens − 1), per request",
    "itl": "gap between streamed chunks, pooled (per chunk)",
    "e2e": "send → last token",
}


def _headline(study: Study) -> list[dict[str, Any]]:
    cards = []

    def latency_card(metric: str, stat: str, title: str | None = None) -> dict | None:
        d = study.deltas.get(metric, {}).get(stat)
        if d is None:
            return None
        label = f"{METRIC_LABELS[metric]} {stat}" if stat != "mean" else f"mean {METRIC_LABELS[metric]}"
        verdict, ci_text = _delta_verdict(study, metric, stat)
        detail = f"{fmt_ms(d.base)} → {fmt_ms(d.opt)}"
        if verdict == "ns":
            detail += f"; not significant ({ci_text})"
        elif ci_text:
            detail += f"; 95% CI {ci_text}"
        return {
            "title": title or label,
            "value": fmt_pct(d.pct, digits=0) if d.pct is not None else fmt_ms(d.abs),
            "detail": detail,
            "verdict": "same" if verdict == "ns" else verdict,
        }

    slo = study.case.slos[0] if study.case.slos else None
    first = None
    if slo is not None:
        stat = f"p{slo.percentile:g}"
        if stat in LADDER_STATS or stat == "p50":
            first = latency_card(slo.metric, stat)
    first = first or latency_card("ttft", "p99") or latency_card("e2e", "p99")
    if first:
        cards.append(first)
    second = latency_card("tpot", "p50") or latency_card("e2e", "p50")
    cb, co = study.capacities.get("baseline"), study.capacities.get("optimized")
    if cb is not None and co is not None and cb.value_rps and co.value_rps:
        ratio = co.value_rps / cb.value_rps
        second = {"title": "capacity at SLO (req/s per replica)", "value": f"{ratio:.2f}×",
                  "detail": f"{cb.text()} → {co.text()}",
                  "verdict": "better" if ratio > 1.005 else "worse" if ratio < 0.995 else "same"}
    if second and (not first or second["title"] != first["title"]):
        cards.append(second)
    if study.cost is not None:
        c = study.cost
        bo, oo = c.baseline.usd_per_million_output_tokens, c.optimized.usd_per_million_output_tokens
        if bo and oo:
            pct = (oo - bo) / bo * 100
            cards.append({
                "title": "cost per 1M output tokens",
                "value": fmt_pct(pct, digits=0),
                "detail": f"{fmt_usd(bo)} → {fmt_usd(oo)}; {fmt_usd(c.savings_usd_per_month, 0)}/month",
                "verdict": "better" if pct < -0.5 else "worse" if pct > 0.5 else "same",
            })
        else:
            cards.append({
                "title": "monthly cost",
                "value": fmt_usd(c.savings_usd_per_month, 0),
                "detail": f"saved per month ({fmt_usd(c.baseline.usd_per_month, 0)} → {fmt_usd(c.optimized.usd_per_month, 0)})",
                "verdict": "better" if c.savings_usd_per_month > 0 else "worse",
            })
    else:
        d = study.throughput_deltas.get("output_tokens_per_s") or study.throughput_deltas.get("requests_per_s")
        if d is not None:
            cards.append({"title": "output throughput", "value": fmt_pct(d.pct, digits=0),
                          "detail": f"{fmt_num(d.base, 0)} → {fmt_num(d.opt, 0)} tokens/s", "verdict": d.verdict})
    return cards[:3]


def _ci_text(ci: tuple[float, float] | None) -> str:
    return f"{fmt_ms(ci[0])} – {fmt_ms(ci[1])}" if ci else ""


def _delta_verdict(study: Study, metric: str, stat: str) -> tuple[str, str]:
    """(verdict class, interval text) for a latency delta, using its bootstrap CI when there is one."""
    d = study.deltas.get(metric, {}).get(stat)
    ci = study.delta_cis.get(metric, {}).get(stat)
    if d is None:
        return "na", ""
    if ci is None:
        return d.verdict, ""
    if not ci.supported:  # too few (effective) requests: point value only, marked †
        return "na", ""
    text = (f"{fmt_pct(ci.pct_low)} to {fmt_pct(ci.pct_high)}" if ci.pct_low is not None
            else f"{fmt_ms_signed(ci.abs_low)} to {fmt_ms_signed(ci.abs_high)}")
    if not ci.significant:
        return "ns", text
    return d.verdict, text


def _results_rows(study: Study) -> list[dict[str, Any]]:
    rows = []
    b, o = study.metrics["baseline"], study.metrics["optimized"]
    ib, io = study.intervals.get("baseline"), study.intervals.get("optimized")
    for m in TABLE_METRICS:
        if m not in b.latency_ms and m not in o.latency_ms:
            continue
        group = []
        for stat in TABLE_STATS:
            bv = b.latency_ms[m].get(stat) if m in b.latency_ms else None
            ov = o.latency_ms[m].get(stat) if m in o.latency_ms else None
            if bv is None and ov is None:
                continue
            d = study.deltas.get(m, {}).get(stat)
            verdict, ci_text = _delta_verdict(study, m, stat)
            cib = ib.intervals.get(m, {}).get(stat) if ib else None
            cio = io.intervals.get(m, {}).get(stat) if io else None
            no_ci = ((ib is not None and m in ib.intervals and cib is None)
                     or (io is not None and m in io.intervals and cio is None))
            group.append({"stat": stat, "base": fmt_ms(bv), "opt": fmt_ms(ov),
                          "base_ci": _ci_text(cib), "opt_ci": _ci_text(cio), "no_ci": no_ci,
                          "abs": fmt_ms_signed(d.abs) if d else "—", "pct": fmt_pct(d.pct) if d else "—",
                          "ci": ci_text, "verdict": verdict})
        nb = b.latency_ms[m].n if m in b.latency_ms else None
        no = o.latency_ms[m].n if m in o.latency_ms else None
        unit = "chunks" if m == "itl" else "requests"
        rows.append({"metric": METRIC_LABELS[m], "key": m, "note": METRIC_NOTES[m], "rows": group,
                     "n": f"n = {fmt_num(nb)} / {fmt_num(no)} {unit}" if nb or no else "n not reported (summary only)"})
    return rows


def _rate_bound(study: Study) -> bool:
    """Both runs are open-loop at the same finite rate and kept up with it: throughput is the offered rate."""
    rb, ro = study.runs["baseline"].meta.request_rate, study.runs["optimized"].meta.request_rate
    if rb is None or ro is None or not math.isfinite(rb) or not math.isclose(rb, ro, rel_tol=0.01):
        return False
    if study.runs["baseline"].meta.max_concurrency is not None or study.runs["optimized"].meta.max_concurrency is not None:
        return False
    xb = study.metrics["baseline"].throughput.get("requests_per_s")
    xo = study.metrics["optimized"].throughput.get("requests_per_s")
    return bool(xb and xo and xb >= 0.9 * rb and xo >= 0.9 * ro)


def _throughput_rows(study: Study) -> list[dict[str, Any]]:
    b, o = study.metrics["baseline"], study.metrics["optimized"]
    rows = []
    bound = _rate_bound(study)
    for key, label, unit in (("requests_per_s", "Requests", "req/s"),
                             ("output_tokens_per_s", "Output tokens", "tok/s"),
                             ("total_tokens_per_s", "Input + output tokens", "tok/s")):
        d = study.throughput_deltas.get(key)
        rows.append({"label": label, "unit": unit, "base": fmt_num(b.throughput.get(key), 2),
                     "opt": fmt_num(o.throughput.get(key), 2),
                     "abs": (("+" if d.abs >= 0 else "−") + fmt_num(abs(d.abs), 2)) if d else "—",
                     "pct": fmt_pct(d.pct) if d else "—",
                     "verdict": ("na" if bound else d.verdict) if d else "na"})
    er_b, er_o = b.requests.get("error_rate"), o.requests.get("error_rate")
    rows.append({"label": "Failed requests", "unit": "",
                 "base": f"{fmt_num(b.requests.get('failed'))} ({fmt_share(er_b)})",
                 "opt": f"{fmt_num(o.requests.get('failed'))} ({fmt_share(er_o)})", "abs": "", "pct": "",
                 "verdict": "na" if er_b is None or er_o is None else ("same" if er_b == er_o else "better" if er_o < er_b else "worse")})
    return rows


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
         + (f" {R[s].meta.tool_version}" if R[s].meta.tool_version else "") + f" — format {R[s].meta.format}")
    both("Model", lambda s: R[s].meta.model or "—")
    both("Backend", lambda s: R[s].meta.backend or "—")
    both("Run date", lambda s: R[s].meta.date or "—")
    both("Offered load", lambda s: R[s].meta.describe_load())
    both("Requests", lambda s: f"{fmt_num(M[s].requests.get('total'))} sent, {fmt_num(M[s].requests.get('succeeded'))} succeeded, {fmt_num(M[s].requests.get('failed'))} failed")
    both("Duration", lambda s: f"{M[s].throughput.get('duration_s'):,.1f} s" if M[s].throughput.get("duration_s") else "—")
    both("Input tokens", lambda s: tok(s, "input"))
    both("Output tokens", lambda s: tok(s, "output"))
    both("Data", lambda s: "per-request (recomputed by casegen)" if M[s].source == "per-request" else "summary only (the tool's own statistics)")
    return rows


def _teardown(study: Study) -> dict[str, Any]:
    b, o = study.metrics["baseline"], study.metrics["optimized"]
    sb, so = b.split, o.split
    out: dict[str, Any] = {"chart": None, "sentences": []}
    if sb.get("mean_ttft_ms") is None or so.get("mean_ttft_ms") is None:
        out["sentences"].append("The split of time before and after the first token needs TTFT on both sides.")
        return out
    out["chart"] = Markup(charts.split_chart([
        (study.label("baseline"), sb["mean_ttft_ms"], sb["mean_decode_ms"]),
        (study.label("optimized"), so["mean_ttft_ms"], so["mean_decode_ms"]),
    ]))
    e2e_b = sb["mean_ttft_ms"] + sb["mean_decode_ms"]
    e2e_o = so["mean_ttft_ms"] + so["mean_decode_ms"]
    d_total = e2e_o - e2e_b
    d_ttft = so["mean_ttft_ms"] - sb["mean_ttft_ms"]
    d_dec = so["mean_decode_ms"] - sb["mean_decode_ms"]
    s = out["sentences"]
    s.append(
        f"Before the first token (queueing and prefill) takes {fmt_share(sb['prefill_share'])} of the mean "
        f"end-to-end time on the baseline and {fmt_share(so['prefill_share'])} after the change; the rest is decode."
    )
    if abs(d_total) > 0:
        share_dec = d_dec / d_total * 100 if d_total else 0
        s.append(
            f"Mean end-to-end time changed by {fmt_ms_signed(d_total)} ({fmt_pct(d_total / e2e_b * 100)}): "
            f"{fmt_ms_signed(d_ttft)} before the first token and {fmt_ms_signed(d_dec)} in decode, so decode accounts for "
            f"{share_dec:.0f}% of the change."
        )
    tp = study.deltas.get("tpot", {}).get("p50")
    if tp is not None:
        s.append(
            f"Median TPOT went from {fmt_ms(tp.base)} to {fmt_ms(tp.opt)} per token "
            f"({1000 / tp.base:,.0f} → {1000 / tp.opt:,.0f} tokens/s for each user)."
        )
    itl = study.deltas.get("itl", {}).get("p99")
    tpm = study.deltas.get("tpot", {}).get("p99")
    if itl is not None and tpm is not None:
        s.append(
            f"The p99 inter-chunk gap ({fmt_ms(itl.base)} → {fmt_ms(itl.opt)}) is well above p99 TPOT "
            f"({fmt_ms(tpm.base)} → {fmt_ms(tpm.opt)}): single stalls, typically when a new request's prefill "
            f"is scheduled into a running batch, that the per-request average hides."
            if itl.opt > 1.5 * tpm.opt else
            f"The p99 inter-chunk gap ({fmt_ms(itl.base)} → {fmt_ms(itl.opt)}) stays close to TPOT: streaming is smooth."
        )
    if sb.get("estimated") or so.get("estimated"):
        s.append("Decode time of a summary-only run is estimated as mean TPOT × (mean output tokens − 1).")
    return out


def _cost(study: Study) -> dict[str, Any] | None:
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
    chart = Markup(charts.payback_chart(c.savings_usd_per_month, c.one_time_cost_usd, c.horizon_months,
                                        c.payback_months)) if c.one_time_cost_usd > 0 or c.savings_usd_per_month > 0 else None
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
        "verdict": c.verdict,
        "chart": chart,
        "price_source": cs.price_source,
        "basis": cs.monthly_basis,
        "revenue": study.revenue,
        "headroom": cs.headroom,
    }


def _tradeoffs(study: Study) -> list[dict[str, Any]]:
    out = []
    for t in study.case.tradeoffs:
        q = None
        if t.quality is not None:
            qq = t.quality
            loss = (qq.baseline - qq.optimized) if qq.higher_is_better else (qq.optimized - qq.baseline)
            unit = qq.unit or ""
            change = qq.optimized - qq.baseline
            q = {"metric": qq.metric, "base": f"{qq.baseline:g}{unit}", "opt": f"{qq.optimized:g}{unit}",
                 "loss": (f"{change:+.4g}{unit}".replace("-", "−") if change else "no change"),
                 "tolerance": f"{qq.tolerance:g}{unit}", "within": loss <= qq.tolerance + 1e-12,
                 "improved": loss < 0}
        out.append({"t": t, "quality": q})
    return out


def _inputs(study: Study) -> list[dict[str, Any]]:
    rows = []
    for s in SIDES:
        meta = study.runs[s].meta
        try:
            shown = str(Path(meta.source).resolve().relative_to(study.case_dir.resolve()))
        except ValueError:
            shown = Path(meta.source).name
        rows.append({"side": study.label(s), "file": shown, "sha256": meta.sha256, "format": meta.format,
                     "index": meta.index})
    return rows


def _charts(study: Study) -> dict[str, Any]:
    out: dict[str, Any] = {"ttft_cdf": None, "e2e_cdf": None, "ladder": None}
    lb, lo = study.label("baseline"), study.label("optimized")
    rb, ro = study.runs["baseline"], study.runs["optimized"]
    if not rb.summary_only and not ro.summary_only:
        vb, vo = per_request_values(rb), per_request_values(ro)
        if vb["ttft"].size and vo["ttft"].size:
            out["ttft_cdf"] = Markup(charts.cdf_chart("Time to first token", vb["ttft"], vo["ttft"], lb, lo))
        if vb["e2e"].size and vo["e2e"].size:
            out["e2e_cdf"] = Markup(charts.cdf_chart("End-to-end latency", vb["e2e"], vo["e2e"], lb, lo))
    rows = []
    b, o = study.metrics["baseline"], study.metrics["optimized"]
    for m in ("ttft", "tpot", "e2e"):
        if m in b.latency_ms and m in o.latency_ms:
            stats = [s for s in LADDER_STATS if b.latency_ms[m].get(s) is not None and o.latency_ms[m].get(s) is not None]
            if stats:
                rows.append({"label": METRIC_LABELS[m], "stats": stats,
                             "base": [b.latency_ms[m].get(s) for s in stats],
                             "opt": [o.latency_ms[m].get(s) for s in stats]})
    if rows:
        out["ladder"] = Markup(charts.ladder_chart(rows, lb, lo))
    return out


STATUS_TEXT = {"pass": "pass", "fail": "fail", "inconclusive": "inconclusive"}


def _business_summary(study: Study) -> str:
    """One paragraph for an engineering manager, generated from the figures."""
    lb, lo = study.label("baseline"), study.label("optimized")
    parts: list[str] = []
    changes = []
    for metric, stat, name in (("tpot", "p50", "median time per output token"), ("ttft", "p99", "p99 time to first token"),
                               ("e2e", "p50", "median end-to-end latency")):
        d = study.deltas.get(metric, {}).get(stat)
        if d is None or d.pct is None:
            continue
        verdict, _ = _delta_verdict(study, metric, stat)
        if verdict == "ns":
            changes.append(f"left {name} unchanged within measurement noise")
        else:
            word = "cut" if d.pct < 0 else "raised"
            changes.append(f"{word} {name} by {abs(d.pct):.0f}% ({fmt_ms(d.base)} → {fmt_ms(d.opt)})")
        if len(changes) == 2:
            break
    load = study.runs["baseline"].meta.describe_load()
    same_load = not any(t.key == "load-differs" for t in study.threats)
    if changes:
        where = f", at the same load ({load})." if same_load and load != "load not recorded" else "."
        if study.sweeps:
            where = f" at the load both sweeps measured ({load})."
        parts.append(f"Moving from {lb} to {lo} " + " and ".join(changes) + where)
    tp = study.throughput_deltas.get("requests_per_s")
    c = study.cost
    if c is not None and study.case.cost is not None:
        vol = study.case.cost.requests_per_month
        cb, co = study.capacities.get("baseline"), study.capacities.get("optimized")
        if cb is not None and co is not None and cb.value_rps and co.value_rps:
            from casegen.sweep import slo_text

            slo_phrase = " and ".join(slo_text(x) for x in study.case.slos)
            parts.append(f"Under {slo_phrase}, one replica carries {co.value_rps / cb.value_rps:.2f}× the requests "
                         f"({cb.text()} → {co.text()}), so serving {vol:,.0f} requests a month costs "
                         f"{fmt_usd(c.optimized.usd_per_month, 0)} instead of {fmt_usd(c.baseline.usd_per_month, 0)}.")
        elif tp is not None and tp.pct is not None and c.baseline.kind == "self_hosted":
            parts.append(f"One replica completes {abs(tp.pct):.0f}% {'more' if tp.pct > 0 else 'fewer'} requests per second, "
                         f"so serving {vol:,.0f} requests a month costs {fmt_usd(c.optimized.usd_per_month, 0)} instead of "
                         f"{fmt_usd(c.baseline.usd_per_month, 0)}.")
        else:
            parts.append(f"Serving {vol:,.0f} requests a month costs {fmt_usd(c.optimized.usd_per_month, 0)} instead of "
                         f"{fmt_usd(c.baseline.usd_per_month, 0)}.")
        if c.payback_months is None:
            parts.append("There is no payback: the change does not save money at this volume.")
        elif c.one_time_cost_usd > 0:
            parts.append(f"The {fmt_usd(c.one_time_cost_usd, 0)} one-time cost pays back in {c.payback_months:.1f} months"
                         + (f" (ROI {c.roi_pct:.0f}% over {c.horizon_months} months)." if c.roi_pct is not None else "."))
        else:
            parts.append(f"It saves {fmt_usd(c.savings_usd_per_month, 0)} a month from day one.")
    traded = []
    for t in study.case.tradeoffs:
        if t.quality is not None:
            q = t.quality
            loss = (q.baseline - q.optimized) if q.higher_is_better else (q.optimized - q.baseline)
            ok = "within" if loss <= q.tolerance + 1e-12 else "outside"
            traded.append(f"{t.technique} ({q.metric} {q.baseline:g} → {q.optimized:g}, {ok} the agreed tolerance)")
        else:
            traded.append(f"{t.technique} (quality impact not measured here)")
    if traded:
        parts.append("What was traded: " + "; ".join(traded) + ".")
    major = [t for t in study.threats if t.severity == "major"]
    if major:
        parts.append("Caveat: " + major[0].title.lower() + " — see Threats to validity.")
    return " ".join(parts)


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
        rows.append({"label": f"{METRIC_LABELS[s.metric]} p{s.percentile:g} ≤ {fmt_ms(s.threshold_ms)}", "cells": cells})
    joint = []
    for side in SIDES:
        summ = study.slos[side]
        joint.append({"attainment": fmt_share(summ.joint_attainment) if summ.available else "—",
                      "goodput": fmt_num(summ.goodput_rps, 2) if summ.available and summ.goodput_rps is not None else "—",
                      "one_token": summ.one_token_responses})
    a = study.case.analysis
    return {"rows": rows, "joint": joint, "confidence": f"{a.slo_confidence:.0%}", "tpot_rule": a.tpot_one_token}


def _sweep_view(study: Study) -> dict[str, Any] | None:
    if not study.sweeps:
        return None
    from casegen.sweep import slo_text
    from casegen.sweep_charts import latency_throughput_chart

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
    metrics = []
    for x in study.case.slos:
        if x.metric not in [m for m, _ in metrics]:
            metrics.append((x.metric, x.threshold_ms))
    if not metrics:
        metrics = [("ttft", None), ("tpot", None)]
    charts_out = []
    for metric, threshold in metrics[:3]:
        stats = []
        for st in ("p50", "p95", "p99"):
            if any(p.latency(metric, st) is not None for p in b.points + o.points):
                stats.append(st)
        stats = [st for st in stats if st in ("p50", "p99")] or stats[:2]
        if not stats:
            continue
        kn = (study.knees.get("baseline", {}).get(metric), study.knees.get("optimized", {}).get(metric))
        charts_out.append(Markup(latency_throughput_chart(b, o, metric, stats=tuple(stats), threshold_ms=threshold,
                                                          knees=kn, capacities=(cb, co))))
    rows = []
    status_b = {i: v.status for i, v in enumerate(cb.verdicts)} if cb else {}
    status_o = {i: v.status for i, v in enumerate(co.verdicts)} if co else {}
    loads = sorted({p.load for p in b.points} | {p.load for p in o.points})
    for load in loads:
        cells = []
        for sw, st in ((b, status_b), (o, status_o)):
            idx = next((i for i, p in enumerate(sw.points) if p.load == load or
                        (math.isfinite(load) and math.isfinite(p.load) and math.isclose(p.load, load, rel_tol=0.01))), None)
            if idx is None:
                cells.append({"rps": "not measured", "status": "na"})
            else:
                p = sw.points[idx]
                cells.append({"rps": fmt_num(p.achieved_rps, 2) if p.achieved_rps is not None else "—",
                              "status": st.get(idx, "na")})
        label = "unbounded" if not math.isfinite(load) else f"{load:g}"
        rows.append({"load": label, "cells": cells,
                     "compared": study.compare_load is not None and load == study.compare_load})
    notes = list(study.pairing.notes) if study.pairing is not None else []
    for sw in (b, o):
        notes += [n for n in sw.notes if n not in notes]
        for p in sw.points:
            n = p.offered_note()
            if n and n not in notes:
                notes.append(f"{sw.label}: {n}")
    kind = "request rate (req/s)" if b.load_kind == "rate" else "concurrency"
    return {"cap_rows": cap_rows, "ratio": ratio, "slo_phrase": slo_phrase, "charts": charts_out, "rows": rows,
            "notes": notes, "kind": kind, "n_points": (len(b.points), len(o.points)),
            "compare_at": ("unbounded" if study.compare_load is not None and not math.isfinite(study.compare_load)
                           else f"{study.compare_load:g}"),
            "attainment": study.case.capacity.attainment}


def _threats(study: Study) -> list[dict[str, Any]]:
    """Threats grouped by key, so a problem of both sides is listed once."""
    grouped: dict[str, dict[str, Any]] = {}
    for t in study.threats:
        g = grouped.setdefault(t.key, {"key": t.key, "severity": t.severity, "title": t.title, "fix": t.fix,
                                       "reasons": [], "sides": []})
        who = study.label(t.side) if t.side else None
        g["reasons"].append(f"{who}: {t.reason}" if who else t.reason)
        if who:
            g["sides"].append(who)
    order = {"major": 0, "minor": 1}
    return sorted(grouped.values(), key=lambda g: order[g["severity"]])


def _workload(study: Study) -> dict[str, Any] | None:
    wc = study.workload
    if wc is None:
        return None
    return {"rows": wc.rows, "still_valid": wc.still_valid,
            "major": [t for t in wc.threats if t.severity == "major"]}


def _spread_view(study: Study) -> list[dict[str, Any]]:
    out = []
    for side, rows in study.spread.items():
        for r in rows:
            is_tp = r["metric"] == "throughput"
            f = (lambda v: fmt_num(v, 2)) if is_tp else fmt_ms
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


def report_context(study: Study, *, theme: str | None = None, layout: str | None = None, tight: int = 0) -> dict[str, Any]:
    """Every variable the templates receive (documented in docs/templates.md)."""
    case = study.case
    parity = []
    for s in SIDES:
        for p in study.metrics[s].parity:
            parity.append({"side": study.label(s), "metric": METRIC_LABELS.get(p.metric, p.metric), "stat": p.stat,
                           "ours": p.ours, "tool": p.tool, "diff": fmt_pct(p.diff_pct, digits=2), "flagged": p.flagged})
    return {
        "case": case,
        "version": __version__,
        "labels": {s: study.label(s) for s in SIDES},
        "headline": _headline(study),
        "business_summary": _business_summary(study),
        "method": _method_rows(study),
        "results": _results_rows(study),
        "throughput": _throughput_rows(study),
        "teardown": _teardown(study),
        "cost": _cost(study),
        "tradeoffs": _tradeoffs(study),
        "inputs": _inputs(study),
        "charts": _charts(study),
        "notes_data": study.notes,
        "definitions": study.definitions,
        "tools_differ": ([TOOL_NAMES.get(study.runs[s].meta.tool, study.runs[s].meta.tool) for s in SIDES]
                         if study.runs["baseline"].meta.tool != study.runs["optimized"].meta.tool else []),
        "parity": parity,
        "parity_flagged": [p for p in parity if p["flagged"]],
        "percentile_method": case.analysis.percentile_method,
        "summary_only": [study.label(s) for s in SIDES if study.runs[s].summary_only],
        "css": Markup(theme_css(theme or case.report.theme)),
        "keywords": list(case.tags) + [case.system.model, "LLM inference", "casegen"],
        "theme": theme or case.report.theme,
        "layout": layout or case.report.layout,
        "compact_latency": _compact_latency(study),
        "tight": tight,
        "page_size": case.report.page_size,
        "slos": case.slos,
        "slo_view": _slos(study),
        "sweep": _sweep_view(study),
        "rate_bound": _rate_bound(study),
        "threats": _threats(study),
        "workload": _workload(study),
        "spread": _spread_view(study),
        "confidence": f"{case.analysis.confidence:.0%}",
        "resamples": case.analysis.bootstrap_resamples,
        "reps": {s: max(1, len(study.runs[s].parts)) for s in SIDES},
    }


def _compact_latency(study: Study) -> list[dict[str, Any]]:
    rows = []
    for m in ("ttft", "tpot", "e2e"):
        for stat in ("p50", "p99"):
            d = study.deltas.get(m, {}).get(stat)
            if d is None:
                continue
            verdict, _ = _delta_verdict(study, m, stat)
            rows.append({"label": f"{METRIC_LABELS[m] if m != 'e2e' else 'E2E'} {stat}", "base": fmt_ms(d.base),
                         "opt": fmt_ms(d.opt), "pct": fmt_pct(d.pct) if verdict != "ns" else "n.s.", "verdict": verdict})
    return rows


def render_html(study: Study, *, layout: str | None = None, theme: str | None = None,
                templates: str | Path | None = None, tight: int = 0) -> str:
    """The report as one self-contained HTML string (deterministic).

    ``layout`` (full | onepager) and ``theme`` (modern | classic) default to the case's ``report:``
    settings; ``templates`` is a folder of template overrides (never taken from case.yaml here:
    :func:`casegen.build.build` decides whether a case's own templates are trusted).
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
    ctx = report_context(study, theme=theme, layout=layout, tight=tight)
    env = _env(user_dir)
    try:
        return env.get_template(LAYOUTS[layout]).render(**ctx)
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
        import weasyprint
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
        doc = weasyprint.HTML(string=html, base_url=str(case_dir.resolve()) + "/", url_fetcher=fetcher)
        rendered = doc.render(stylesheets=[extra], font_config=font_config)
        if max_pages is not None and len(rendered.pages) > max_pages:
            raise PageOverflow(len(rendered.pages))
        return rendered.write_pdf()
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
