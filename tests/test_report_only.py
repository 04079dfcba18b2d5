"""The outputs only format the Report: the template variables are made from the Report (and the drawn
charts) alone, so a Report read back from its own summary.json dump renders the same bytes, and no
view function takes the Study."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

from casegen.app.build import analyze, build_report, load_case
from casegen.render import html as H
from casegen.render.markdown import render_markdown
from casegen.report.model import Report

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "cases").iterdir() if (p / "case.yaml").is_file())


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_report_read_back_from_summary_json_renders_the_same(name):
    case, case_dir = load_case(ROOT / "cases" / name)
    study = analyze(case, case_dir)
    report = build_report(study)
    again = Report.model_validate(json.loads(json.dumps(report.dump())))
    settings = dict(theme=case.report.theme, page_size=case.report.page_size)
    for layout in ("full", "onepager"):
        drawn = H.draw_charts(study, report, layout)
        first = H.page_context(report, drawn, layout=layout, **settings)
        second = H.page_context(again, drawn, layout=layout, **settings)
        for medium in ("screen", "print"):
            a = H.render_html(study, layout=layout, context=first, medium=medium)
            b = H.render_html(study, layout=layout, context=second, medium=medium)
            assert a == b, (layout, medium)
        if layout == "full":
            assert render_markdown(study, context=first) == render_markdown(study, context=second)


def test_no_view_takes_the_study():
    """Only the chart functions see the Study; every other view of render/html.py takes the Report."""
    for name, fn in inspect.getmembers(H, inspect.isfunction):
        if fn.__module__ != H.__name__ or name in ("draw_charts", "sweep_charts", "report_context", "render_html"):
            continue
        params = inspect.signature(fn).parameters
        assert "study" not in params, name
    page = inspect.signature(H.page_context).parameters
    assert list(page)[:2] == ["report", "drawn"]


def test_templates_do_not_reach_for_the_study_or_the_raw_case():
    for path in (ROOT / "templates").rglob("*.j2"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bstudy\b", text), path
        assert not re.search(r"\bcase\.(runs|cost|slos|report|analysis\.slo|capacity|reproduce)\b", text), path
