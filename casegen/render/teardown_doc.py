"""The standalone page of ``casegen teardown`` (the same sentences and chart as the case report's
"Where the time goes" section, casegen.render.diagnosis_view)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from casegen import __version__
from casegen.render.diagnosis_view import run_sentences, split_chart
from casegen.render.html import _env, theme_css


def teardown_document(items: list[Any], files: list[dict[str, str]], title: str) -> str:
    """The standalone diagnosis of ``casegen teardown``: one HTML page (deterministic)."""
    queueing = [t.label for t in items if t.bottleneck == "queueing"]
    summary = ""
    if len(items) > 1:
        first = next((t for t in items if t.bottleneck == "queueing"), None)
        summary = (f"Queueing dominates from {first.label} on ({len(queueing)} of {len(items)} load points)."
                   if first is not None else "No load point is queueing-bound.")
    runs = [{"label": t.label, "load": t.load, "n": t.n, "evidence": t.evidence, "bottleneck": t.bottleneck,
             "sentences": run_sentences(t)} for t in items]
    env = _env()
    return env.get_template("teardown.html.j2").render(
        title=title, subtitle=f"Latency teardown of {len(items)} run(s) by casegen", runs=runs, summary=summary,
        chart=split_chart(items), files=files, css=Markup(theme_css("modern")), version=__version__)
