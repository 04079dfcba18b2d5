"""GitHub-flavoured Markdown export of a report, charts written as SVG files beside it.

``render_markdown(study)`` → (Markdown text, {relative file name: SVG text}). The content is
the full report's view model (``render.report_context``), so numbers match the HTML exactly.
"""

from __future__ import annotations

from typing import Any

from casegen.charts import alt_text, svg_file
from casegen.render import fmt_usd, report_context
from casegen.study import Study


def _alt(chart: Any, fallback: str) -> str:
    """A chart's text alternative (its title and the point it makes), escaped for an image's alt text."""
    text = alt_text(chart) or fallback
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace("\n", " ")


def _esc(text: Any) -> str:
    """Escape table/markup characters in user text for GFM."""
    s = str(text if text is not None else "")
    for ch in ("\\", "|", "<", ">", "*", "_", "`", "[", "]"):
        s = s.replace(ch, "\\" + ch)
    return s.replace("\n", " ")


def _table(head: list[str], rows: list[list[Any]], align: list[str] | None = None) -> list[str]:
    align = align or ["l"] * len(head)
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def render_markdown(study: Study, report=None) -> tuple[str, dict[str, str]]:
    ctx = report_context(study, report=report)
    case = ctx["case"]
    lb, lo = ctx["labels"]["baseline"], ctx["labels"]["optimized"]
    files: dict[str, str] = {}
    md: list[str] = [f"# {_esc(case.title)}", "",
                     f"*{_esc(case.author)} · {case.date.isoformat()} · {_esc(case.system.model)} on "
                     f"{_esc(case.system.hardware)} · {_esc(case.system.serving_stack)}*", "",
                     _esc(case.summary), ""]
    md += _table(["", *[_esc(c.title) for c in ctx["headline"]]],
                 [["**Change**", *[f"**{c.value}**" for c in ctx["headline"]]],
                  ["", *[_esc(c.detail) for c in ctx["headline"]]]])
    md.append("")
    wl = ctx["workload"]
    if wl and wl["major"]:
        md.append("> **These runs are not a like-for-like comparison.** " +
                  " ".join(f"{_esc(t.title)}: {_esc(t.reason)}." for t in wl["major"]))
        md.append("")
    md += ["## Context", "", _esc(case.workload.description), ""]
    md += ["## Method", ""]
    md += _table(["", _esc(lb), _esc(lo)], [[f"**{r['label']}**", _esc(r["cells"][0]), _esc(r["cells"][1])]
                                          for r in ctx["method"]])
    md.append("")
    md += ["## Results", ""]
    charts = ctx["charts"]
    for name, key, alt in (("ladder.svg", "ladder", "Latency percentiles"), ("ttft-cdf.svg", "ttft_cdf", "TTFT CDF"),
                           ("e2e-cdf.svg", "e2e_cdf", "End-to-end latency CDF")):
        if charts.get(key):
            files[f"charts/{name}"] = svg_file(charts[key])
            md += [f"![{_alt(charts[key], alt)}](charts/{name})", ""]
    rows = []
    for g in ctx["results"]:
        for r in g["rows"]:
            pct = r["pct"] + (f" ({r['ci']})" if r["ci"] else "")
            if r["verdict"] == "ns":
                pct += " — no significant change"
            rows.append([_esc(g["metric"]), r["stat"], r["base"], r["opt"], r["abs"], pct])
    md += _table(["Metric", "Stat", _esc(lb), _esc(lo), "Δ", f"Δ % ({ctx['confidence']} CI)"], rows,
                 ["l", "l", "r", "r", "r", "r"])
    md.append("")
    md += _table(["Throughput", _esc(lb), _esc(lo), "Δ %"],
                 [[f"{r['label']} {r['unit']}".strip(), r["base"], r["opt"], r["pct"]] for r in ctx["throughput"]],
                 ["l", "r", "r", "r"])
    md.append("")
    if ctx["slo_view"]:
        md += ["## Service-level objectives", ""]
        rows = []
        for row in ctx["slo_view"]["rows"]:
            for side, c in zip((lb, lo), row["cells"]):
                rows.append([_esc(row["label"]), _esc(side), c["observed"], c["attainment"], f"**{c['status']}**",
                             _esc(c["detail"])])
        md += _table(["Objective", "Side", "Observed", "Within SLO", "Verdict", "Why"], rows)
        md.append("")
    td = ctx["teardown"]
    md += ["## Where the time goes", ""]
    if td["chart"]:
        files["charts/split.svg"] = svg_file(td["chart"])
        md += [f"![{_alt(td['chart'], 'Where the time goes')}](charts/split.svg)", ""]
    md += [_esc(s) for s in td["sentences"]] + [""]
    cost = ctx["cost"]
    md += ["## Cost and payback", ""]
    if cost:
        md += [f"**{_esc(cost['verdict'])}.**", ""]
        md += _table(["", _esc(lb), _esc(lo), "Δ %"], [[r["label"], r["base"], r["opt"], r["pct"]] for r in cost["rows"]],
                     ["l", "r", "r", "r"])
        md.append("")
        payback = "none" if cost["payback"] is None else f"{cost['payback']:.1f} months"
        md += [f"Savings {fmt_usd(cost['savings'], 0)}/month · one-time cost {fmt_usd(cost['one_time'], 0)} · "
               f"payback {payback}", ""]
        if cost["chart"]:
            files["charts/payback.svg"] = svg_file(cost["chart"])
            md += [f"![{_alt(cost['chart'], 'Cumulative savings')}](charts/payback.svg)", ""]
        for side in ("baseline", "optimized"):
            md.append(f"- {_esc(ctx['labels'][side])}: " + "; ".join(_esc(a) for a in cost["assumptions"][side]))
        md.append("")
    else:
        md += ["No cost assumptions were given.", ""]
    if ctx["tradeoffs"]:
        md += ["## Trade-offs", ""]
        for item in ctx["tradeoffs"]:
            t = item["t"]
            md += [f"### {_esc(t.technique)}", "", f"- **What changed:** {_esc(t.what_changed)}",
                   f"- **Helps when:** {_esc(t.helps_when)}", f"- **Hurts when:** {_esc(t.hurts_when)}"]
            if item["quality"]:
                q = item["quality"]
                md.append(f"- **Quality:** {_esc(q['metric'])} {q['base']} → {q['opt']} "
                          f"({'within' if q['within'] else 'exceeds'} tolerance {q['tolerance']})")
            if t.risk:
                md.append(f"- **Risk:** {_esc(t.risk)}")
            md.append("")
    md += ["## Threats to validity", ""]
    if ctx["threats"]:
        for t in ctx["threats"]:
            md.append(f"- **{_esc(t.title)}** ({t.severity}): " + " ".join(_esc(r) + "." for r in t.reasons))
    else:
        md.append("None found.")
    md.append("")
    if case.notes:
        # the user's own Markdown, with raw HTML neutralised
        md += ["## Notes", "", case.notes.replace("<", "&lt;").replace(">", "&gt;"), ""]
    md += ["## Input files", ""]
    md += _table(["Side", "File", "Format", "SHA-256"], [[_esc(f["side"]), f"`{f['file']}`", f["format"],
                                                          f"`{f['sha256']}`"] for f in ctx["inputs"]])
    md += ["", f"*Generated by casegen {ctx['version']}. Definitions: TTFT, TPOT = (E2E − TTFT)/(tokens − 1), "
               "inter-chunk latency (per chunk), E2E; see the HTML report's appendix.*", ""]
    return "\n".join(md), files


__all__ = ["render_markdown"]
