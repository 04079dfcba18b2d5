"""The report's sections, in order: one entry per section.

Each section is a template pair ``templates/sections/<name>.html.j2`` (HTML and PDF) and
``templates/sections/<name>.md.j2`` (Markdown), rendered from the same context. A section whose
data is not already in :func:`casegen.render.html.report_context` names a *builder*
(``Report, drawn charts → value``); its value is passed to both templates as the variable ``<name>``.

Adding a section: a builder (here or in its own module) + the two templates + an entry below;
add a field to :class:`casegen.report.model.Report` too if the section's figures belong in
summary.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from casegen.render.hero import hero_view
from casegen.render.ladder_view import ladder_view

Builder = Callable[[Any, Any], Any]  # (Report, drawn charts) → the template variable


@dataclass(frozen=True)
class Section:
    name: str
    builder: Builder | None = None
    onepager: bool = False  # also shown on the one-page layout (which has its own template)


SECTIONS: list[Section] = [
    Section("header"),
    Section("headline", onepager=True),
    Section("hero", hero_view, onepager=True),
    Section("context"),
    Section("method"),
    Section("results"),
    Section("slos"),
    Section("sweep"),
    Section("ladder", ladder_view),
    Section("teardown"),
    Section("cost"),
    Section("tradeoffs"),
    Section("threats"),
    Section("notes"),
    Section("appendix"),
]


def section_names() -> list[str]:
    return [s.name for s in SECTIONS]


def section_context(report: Any, drawn: dict[str, Any]) -> dict[str, Any]:
    """The variables the sections' builders add to the template context (from the Report and the
    drawn charts only)."""
    return {s.name: s.builder(report, drawn) for s in SECTIONS if s.builder is not None}
