"""The report's sections, in order: one entry per section.

Each section is a template pair ``templates/sections/<name>.html.j2`` (HTML and PDF) and
``templates/sections/<name>.md.j2`` (Markdown), rendered from the same context. A section whose
data is not already in :func:`casegen.render.html.report_context` names a *builder*
(``Study, Report → value``); its value is passed to both templates as the variable ``<name>``.

Adding a section: a builder (here or in its own module) + the two templates + an entry below;
add a field to :class:`casegen.report.model.Report` too if the section's figures belong in
summary.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Builder = Callable[[Any, Any], Any]  # (Study, Report) → the template variable


@dataclass(frozen=True)
class Section:
    name: str
    builder: Builder | None = None
    onepager: bool = False  # also shown on the one-page layout (which has its own template)


SECTIONS: list[Section] = [
    Section("header"),
    Section("headline", onepager=True),
    Section("hero", lambda study, report: __import__("casegen.render.hero", fromlist=["hero_view"]).hero_view(study, report),
            onepager=True),
    Section("context"),
    Section("method"),
    Section("results"),
    Section("slos"),
    Section("sweep"),
    Section("ladder", lambda study, report: __import__("casegen.render.ladder_view", fromlist=["ladder_view"]).ladder_view(study)),
    Section("teardown"),
    Section("cost"),
    Section("tradeoffs"),
    Section("threats"),
    Section("notes"),
    Section("appendix"),
]


def section_names() -> list[str]:
    return [s.name for s in SECTIONS]


def section_context(study: Any, report: Any) -> dict[str, Any]:
    """The variables the sections' builders add to the template context."""
    return {s.name: s.builder(study, report) for s in SECTIONS if s.builder is not None}
