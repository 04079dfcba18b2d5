"""Markdown export: the same report context as the HTML, rendered through Markdown templates
(``templates/report.md.j2`` and ``templates/sections/<name>.md.j2``), charts written as SVG files
beside it.

``render_markdown(study)`` → (Markdown text, {relative file name: SVG text}). Every value the
templates print is escaped for Markdown and inline HTML (``casegen.render.mdtext``); the case's notes
go through the same sanitizer as in the HTML report (no raw HTML, no images, links only
http(s)/mailto/#).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from casegen.analysis.study import Study
from casegen.errors import CasegenError
from casegen.render.charts import svg_file
from casegen.render.html import _env, report_context
from casegen.report.model import Report


def chart_files(ctx: dict[str, Any]) -> dict[str, str]:
    """The SVG files the Markdown references, by the names the templates use."""
    files: dict[str, str] = {}
    charts = ctx["charts"]
    for key, name in (("ladder", "ladder.svg"), ("ttft_cdf", "ttft-cdf.svg"), ("e2e_cdf", "e2e-cdf.svg")):
        if charts.get(key):
            files[f"charts/{name}"] = svg_file(charts[key])
    if ctx["teardown"].get("chart"):
        files["charts/split.svg"] = svg_file(ctx["teardown"]["chart"])
    if ctx["cost"] and ctx["cost"].get("chart"):
        files["charts/payback.svg"] = svg_file(ctx["cost"]["chart"])
    if ctx["sweep"]:
        for i, svg in enumerate(ctx["sweep"]["charts"], start=1):
            files[f"charts/sweep-{i}.svg"] = svg_file(svg)
    if ctx.get("hero") and ctx["hero"].get("chart"):
        files["charts/hero.svg"] = svg_file(ctx["hero"]["chart"])
    if ctx.get("ladder") and ctx["ladder"]["chart"]:
        files["charts/ladder-waterfall.svg"] = svg_file(ctx["ladder"]["chart"])
    return files


def render_markdown(study: Study, report: Report | None = None,
                    templates: str | Path | None = None,
                    outputs: tuple[str, ...] = (), context: dict[str, Any] | None = None) -> tuple[str, dict[str, str]]:
    """``outputs``: the formats written by the same build (the header links to the others).
    ``context``: the :func:`casegen.render.html.report_context` the same build made for its HTML, so the
    charts are drawn once (the Markdown templates use no theme, layout or tightening)."""
    ctx = context if context is not None else report_context(study, report=report, outputs=outputs)
    env = _env(Path(templates) if templates is not None else None, kind="md")
    try:
        text = env.get_template("report.md.j2").render(**ctx)
    except jinja2.TemplateError as err:
        raise CasegenError(f"Markdown template error: {err}", expected="valid Jinja2 (see docs/templates.md)") from None
    # tidy: at most one blank line in a row, one newline at the end
    lines: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip() + "\n", chart_files(ctx)


__all__ = ["render_markdown", "chart_files"]
