"""``casegen teardown RUN…``: read runs, diagnose each (casegen.analysis.teardown), write HTML/PDF/JSON."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

from casegen.analysis.teardown import RunTeardown, run_teardown, sweep_teardown
from casegen.errors import CasegenError
from casegen.runs import Run, load_runs
from casegen.runs.select import filter_runs

FORMATS = ("html", "pdf", "json")


def _load_key(run: Run) -> float:
    rate, conc = run.meta.request_rate, run.meta.max_concurrency
    if rate is not None and math.isfinite(rate):
        return rate
    if conc is not None:
        return float(conc)
    return math.inf


def _label(run: Run) -> str:
    rate, conc = run.meta.request_rate, run.meta.max_concurrency
    if rate is not None and math.isfinite(rate):
        return f"rate {rate:g} req/s"
    if conc is not None:
        return f"concurrency {conc}"
    return run.meta.label or Path(run.meta.source).name


def diagnose(paths: list[Path], fmt: str = "auto", select: str | None = None,
             confidence: float = 0.95) -> tuple[list[RunTeardown], list[Run]]:
    """Every run in ``paths`` (a sweep when there are several, ordered by load), diagnosed."""
    runs: list[Run] = []
    for p in paths:
        runs += load_runs(p, fmt)
    if select is not None:
        runs = filter_runs(runs, select)
    runs = [r for r in runs if not r.summary_only]
    if not runs:
        raise CasegenError("no run with per-request data", file=str(paths[0]),
                           expected="per-request results (e.g. vLLM --save-detailed, GuideLLM, AIPerf profile_export)")
    if len(runs) == 1:
        t = run_teardown(runs[0], _label(runs[0]), confidence)
        items = [t] if t is not None else []
    else:
        runs.sort(key=_load_key)
        labels = [_label(r) for r in runs]
        if len(set(labels)) < len(labels):
            labels = [f"{lab} (#{i + 1})" for i, lab in enumerate(labels)]
        items = sweep_teardown(runs, labels, confidence)
    if not items:
        raise CasegenError("no run has TTFT and end-to-end latency per request", file=str(paths[0]),
                           expected="a streaming benchmark run with per-request TTFT")
    return items, runs


def write_teardown(paths: list[Path], outdir: Path, formats: tuple[str, ...] = ("html", "pdf", "json"),
                   fmt: str = "auto", select: str | None = None, title: str | None = None) -> list[Path]:
    from casegen.render.teardown_doc import teardown_document

    items, runs = diagnose(paths, fmt, select)
    outdir.mkdir(parents=True, exist_ok=True)
    files = [{"name": Path(r.meta.source).name, "sha256": r.meta.sha256} for r in runs]
    files = [f for i, f in enumerate(files) if f not in files[:i]]
    title = title or ("Latency teardown" + (f": {runs[0].meta.model}" if runs[0].meta.model else ""))
    html = teardown_document(items, files, title)
    written = []
    if "html" in formats:
        (outdir / "teardown.html").write_text(html, encoding="utf-8")
        written.append(outdir / "teardown.html")
    if "json" in formats:
        data = {"schema": "casegen.teardown/1", "runs": [t.model_dump(mode="json") for t in items]}
        (outdir / "teardown.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(outdir / "teardown.json")
    if "pdf" in formats:
        from casegen.render.html import render_pdf

        date = dt.date(2000, 1, 1)
        try:
            date = dt.date.fromisoformat((runs[0].meta.date or "")[:10])
        except ValueError:
            pass
        from casegen.render.charts import chart_medium

        with chart_medium("print"):
            printed = teardown_document(items, files, title)
        (outdir / "teardown.pdf").write_bytes(render_pdf(printed, outdir, date))
        written.append(outdir / "teardown.pdf")
    return written
