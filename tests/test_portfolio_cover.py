"""Portfolio cover (author, links, a table of the cases with their headline findings and page
numbers), index cards with before → after values, and the one-pager's workload line and link."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from casegen.app.build import build
from casegen.app.portfolio import build_portfolio
from casegen.cli.main import main
from conftest import EXAMPLE, ROOT


def test_portfolio_cover_and_cards(tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    res = build_portfolio([EXAMPLE], tmp_path, jobs=1, author="Jane Doe",
                          links=["https://example.com/jane", "javascript:alert(1)"])
    assert not res.failed
    index = (tmp_path / "index.html").read_text()
    assert 'href="https://example.com/jane"' in index and "javascript:" not in index
    # every headline card shows its before → after values, formatted like the report
    details = re.findall(r'<div class="kpi-detail">([^<]*)</div>', index)
    assert len(details) >= 2 and all("→" in d for d in details)
    assert "$1.49 → $1.16" in details
    doc = pdfium.PdfDocument((tmp_path / "portfolio.pdf").read_bytes())
    cover = doc[0].get_textpage().get_text_range()
    assert "Jane Doe" in cover and "https://example.com/jane" in cover and "javascript" not in cover
    assert "FP8 weights on one H100" in cover and "→" in cover and "$1.49" in cover
    # contents and cover share the first page; the case's one-page summary is page 2, its full report
    # (full report 1, numbered: each report has its own lettered appendix) starts on page 3, and the cover says both
    assert re.search(r"Summary p\.\s2\s+Full report p\.\s3\s", cover), cover[-400:]
    assert "FP8 weights on one H100" in doc[1].get_textpage().get_text_range()
    page3 = doc[2].get_textpage().get_text_range().lower()
    assert len(doc) >= 3 and "full report 1 of 1" in page3 and "appendix a ·" not in page3


def test_portfolio_rejects_a_link_that_is_not_one(tmp_path):
    r = CliRunner().invoke(main, ["portfolio", str(EXAMPLE), "-o", str(tmp_path / "p"), "--link", "javascript:x"])
    assert r.exit_code != 0 and "is not a link" in r.output


def test_onepager_workload_line_and_full_report_link(example_case, tmp_path):
    text = (example_case / "case.yaml").read_text()
    text = text.replace("\nreport:\n", "\nreport:\n  url: https://example.com/fp8-full\n") if "\nreport:\n" in text \
        else text + "\nreport:\n  url: https://example.com/fp8-full\n"
    (example_case / "case.yaml").write_text(text)
    build(example_case, tmp_path, formats=("html",), layout="onepager")
    html = (tmp_path / "report.html").read_text()
    assert '<a class="full-report" href="https://example.com/fp8-full">Full report</a>' in html
    line = re.search(r"<strong>Workload:</strong> ([^<]*)</p>", html).group(1)
    assert "rate 10\u00a0req/s, max concurrency 16" in line and "100 requests per side" in line


def test_reading_order_author_first_then_case_yaml_then_newest():
    from casegen.app.portfolio import CaseOutcome, _rank, reading_order

    def case(slug, date, order=None):
        return CaseOutcome(slug, slug, True, None, {"date": date, "order": order})

    cases = [case("new-test-server", "2026-12-07"), case("fp8", "2025-03-27", 1), case("old", "2024-01-01"),
             case("llm-d", "2025-05-30", 2), case("mid", "2025-06-01")]
    assert [o.slug for o in reading_order(cases)] == ["fp8", "llm-d", "new-test-server", "mid", "old"]
    _rank(cases, {"old": 0, "llm-d": 1})  # --order old,llm-d
    assert [o.slug for o in reading_order(cases)] == ["old", "llm-d", "fp8", "new-test-server", "mid"]


def test_portfolio_order_on_the_command_line(tmp_path):
    fp8, trim = ROOT / "cases" / "h100-llama31-8b-fp8", ROOT / "cases" / "prompt-trimming-testserver"
    out = tmp_path / "p"
    r = CliRunner().invoke(main, ["portfolio", str(fp8), str(trim), "-o", str(out), "--no-pdf", "-j", "1", "-q"])
    assert r.exit_code == 0, r.output
    index = (out / "index.html").read_text()
    assert index.index("prompt-trimming-testserver/report.html") > index.index("h100-llama31-8b-fp8/report.html")
    r = CliRunner().invoke(main, ["portfolio", str(fp8), str(trim), "-o", str(out), "--no-pdf", "-j", "1", "-q",
                                  "--order", "prompt-trimming-testserver"])
    assert r.exit_code == 0, r.output
    index = (out / "index.html").read_text()
    assert index.index("prompt-trimming-testserver/report.html") < index.index("h100-llama31-8b-fp8/report.html")
    r = CliRunner().invoke(main, ["portfolio", str(fp8), "-o", str(out), "--no-pdf", "--order", "no-such-case"])
    assert r.exit_code != 0 and "no-such-case" in r.output and "h100-llama31-8b-fp8" in r.output
