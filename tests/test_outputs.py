"""Layouts, themes, template overrides, Markdown/PNG outputs and the portfolio."""

from __future__ import annotations

import re
import shutil

import pytest
from click.testing import CliRunner

from casegen.analysis.study import analyze
from casegen.app.build import build
from casegen.app.portfolio import build_portfolio, find_cases
from casegen.case.model import load_case
from casegen.cli.main import main
from casegen.errors import CasegenError
from casegen.render.charts import OPT_COLOR, PALETTES
from casegen.render.html import render_html, report_context
from conftest import EXAMPLE, ROOT, write

pdfium = pytest.importorskip("pypdfium2")


def pdf_pages(data: bytes) -> int:
    doc = pdfium.PdfDocument(data)
    try:
        return len(doc)
    finally:
        doc.close()


def pdf_bookmarks(data: bytes) -> list[str]:
    doc = pdfium.PdfDocument(data)
    try:
        return [item.get_title() for item in doc.get_toc()]
    finally:
        doc.close()


def test_onepager_is_exactly_one_page(example_case, tmp_path):
    r = build(example_case, tmp_path / "o", formats=("pdf",), layout="onepager")
    assert pdf_pages((tmp_path / "o" / "report.pdf").read_bytes()) == 1
    full = build(example_case, tmp_path / "f", formats=("pdf",))
    assert pdf_pages((tmp_path / "f" / "report.pdf").read_bytes()) > 3
    assert r.files and full.files


def test_onepager_of_scaffold_is_one_page(tmp_path):
    CliRunner().invoke(main, ["new", str(tmp_path / "c")])
    build(tmp_path / "c", tmp_path / "o", formats=("pdf",), layout="onepager")
    assert pdf_pages((tmp_path / "o" / "report.pdf").read_bytes()) == 1


def test_themes_change_look_not_content(example_case):
    case, d = load_case(example_case)
    study = analyze(case, d)
    modern = render_html(study, theme="modern")
    classic = render_html(study, theme="classic")
    assert "theme-classic" in classic and "DejaVu Serif" in classic and "DejaVu Serif" not in modern
    def strip(h: str) -> str:
        return re.sub(r"<style>.*?</style>", "", h, flags=re.S).replace("theme-classic", "theme-modern")

    # the same page around the charts; the same charts (names and text alternatives), each drawn in the
    # theme's colours and font (and laid out for that font, so their geometry may differ)
    def charts_out(h: str) -> str:
        return re.sub(r"<svg\b.*?</svg>", "<svg/>", h, flags=re.S)

    def chart_text(h: str) -> list[str]:
        return re.findall(r'<title id="chart-[^"]+">[^<]*</title><desc id="chart-[^"]+">[^<]*</desc>', h)

    assert charts_out(strip(modern)) == charts_out(strip(classic))
    assert chart_text(modern) == chart_text(classic) and chart_text(modern)
    svg_classic = "".join(re.findall(r"<svg\b.*?</svg>", classic, flags=re.S))
    svg_modern = "".join(re.findall(r"<svg\b.*?</svg>", modern, flags=re.S))
    assert OPT_COLOR in svg_modern and OPT_COLOR not in svg_classic
    assert PALETTES["classic"]["opt"] in svg_classic and "'DejaVu Serif'" in svg_classic
    with pytest.raises(CasegenError, match="unknown theme"):
        render_html(study, theme="neon")


def test_user_template_overrides_a_block(example_case):
    tpl = example_case / "my-templates"
    write(tpl / "report.html.j2",
          '{% extends "default:report.html.j2" %}{% block title %}Custom: {{ case.title }}{% endblock %}')
    write(tpl / "sections" / "notes.html.j2", "<section id='notes'><p>MY NOTES PARTIAL</p></section>")
    case_file = example_case / "case.yaml"
    case_file.write_text(case_file.read_text() + "\nreport:\n  templates: my-templates\n")
    # a case's own templates are used only when the person building trusts the case
    r = CliRunner().invoke(main, ["build", str(example_case), "--no-pdf", "-o", str(example_case / "o1")])
    assert r.exit_code == 1 and "--trust-case-templates" in r.output and "report.templates" in r.output
    build(example_case, example_case / "o2", formats=("html",), trust_case_templates=True)
    html = (example_case / "o2" / "report.html").read_text()
    assert "<title>Custom: FP8 weights" in html
    assert "MY NOTES PARTIAL" in html and 'id="results"' in html
    case, d = load_case(example_case)
    assert render_html(analyze(case, d), templates=tpl) == html


def test_user_template_syntax_error_names_file_and_line(example_case):
    tpl = example_case / "tpl"
    write(tpl / "report.html.j2", "line one\n{% if %}\n")
    r = CliRunner().invoke(main, ["build", str(example_case), "--templates", str(tpl), "--no-pdf"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "template syntax error" in r.output and "report.html.j2" in r.output and "line 2" in r.output


def test_template_contract_is_documented():
    """Every variable a template receives is listed in docs/templates.md."""
    case, d = load_case(EXAMPLE)
    ctx = report_context(analyze(case, d))
    doc = (ROOT / "docs" / "templates.md").read_text()
    missing = [k for k in ctx if f"`{k}`" not in doc]
    assert not missing, f"undocumented template variables: {missing}"


def test_markdown_export(example_case, tmp_path):
    r = CliRunner().invoke(main, ["build", str(example_case), "-o", str(tmp_path), "--format", "md,json"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "report.md").read_text()
    assert md.startswith("# FP8 weights")
    assert "| Metric | Stat |" in md
    # real alt texts: the chart's name and the point it makes, with the figures
    alt = re.search(r"!\[([^\]]*)\]\(charts/ladder.svg\)", md).group(1)
    assert alt.startswith("Latency percentiles, BF16 vs FP8: TTFT: p50 ") and "→" in alt and "%" in alt
    svg = (tmp_path / "charts" / "ladder.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<svg") == 1 and "<title" in svg
    assert not (tmp_path / "report.html").exists()


def test_png_of_page_one(example_case, tmp_path):
    pytest.importorskip("pypdfium2")
    build(example_case, tmp_path, formats=("html",), png=True)
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")


def test_html_has_social_and_pdf_metadata(example_case):
    case, d = load_case(example_case)
    html = render_html(analyze(case, d))
    assert '<meta property="og:title" content="FP8 weights' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert '<meta name="author" content="Alex Example">' in html


def test_portfolio_builds_index_and_book(tmp_path):
    cases = tmp_path / "cases"
    shutil.copytree(EXAMPLE, cases / "fp8", ignore=shutil.ignore_patterns("build"))
    CliRunner().invoke(main, ["new", str(cases / "chat")])
    out = tmp_path / "site"
    r = CliRunner().invoke(main, ["portfolio", str(cases), "-o", str(out), "-j", "2"])
    assert r.exit_code == 0, r.output
    index = (out / "index.html").read_text()
    assert index.count('class="card"') == 2 and 'href="fp8/report.html"' in index and "−22%" in index
    book = (out / "portfolio.pdf").read_bytes()
    assert pdf_pages(book) > 8
    marks = pdf_bookmarks(book)
    assert any(m.startswith("FP8 weights") for m in marks) and "Results" in " ".join(marks)
    assert (out / "chat" / "report.pdf").exists()


def test_portfolio_reports_a_broken_case_and_builds_the_rest(tmp_path):
    cases = tmp_path / "cases"
    CliRunner().invoke(main, ["new", str(cases / "good")])
    CliRunner().invoke(main, ["new", str(cases / "bad")])
    (cases / "bad" / "runs" / "optimized.csv").unlink()
    res = build_portfolio([cases], tmp_path / "out", jobs=1, pdf=False)
    assert [o.slug for o in res.failed] == ["bad"] and "run file not found" in res.failed[0].error
    assert (tmp_path / "out" / "good" / "report.html").exists()
    r = CliRunner().invoke(main, ["portfolio", str(cases), "-o", str(tmp_path / "o2"), "--no-pdf", "-q"])
    assert r.exit_code == 1 and "case 'bad' was not built" in r.output


def test_portfolio_bad_inputs(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CasegenError, match="no case found"):
        find_cases([tmp_path / "empty"])
    CliRunner().invoke(main, ["new", str(tmp_path / "a" / "same")])
    CliRunner().invoke(main, ["new", str(tmp_path / "b" / "same")])
    with pytest.raises(CasegenError, match="same name 'same'"):
        find_cases([tmp_path / "a", tmp_path / "b"])
    r = CliRunner().invoke(main, ["portfolio", str(tmp_path / "empty"), "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and "no case found" in r.output


def test_onepager_tightens_long_texts_to_one_page(example_case, tmp_path):
    f = example_case / "case.yaml"
    long = " ".join(["Decode is memory-bandwidth bound for small batches and long answers."] * 16)
    text = f.read_text().replace("    helps_when: >-\n", f"    helps_when: \"{long}\"\n    x_helps_when: >-\n", 1)
    text = text.replace("    x_helps_when: >-\n      Decode is memory-bandwidth bound (small-to-medium batches, long answers), and when memory\n"
                        "      freed by smaller weights lets the KV cache hold more concurrent sequences.\n", "")
    f.write_text(text)
    messages = []
    build(example_case, tmp_path, formats=("pdf",), layout="onepager", progress=messages.append)
    assert pdf_pages((tmp_path / "report.pdf").read_bytes()) == 1
    assert any("tightening" in m for m in messages), messages


def test_portfolio_trusts_case_templates_only_when_told(example_case, tmp_path):
    """portfolio has the same rule as build: a case's report.templates needs --trust-case-templates."""
    write(example_case / "my-templates" / "sections" / "notes.html.j2",
          "<section id='notes'><p>MY NOTES PARTIAL</p></section>")
    case_file = example_case / "case.yaml"
    case_file.write_text(case_file.read_text() + "\nreport:\n  templates: my-templates\n")
    r = CliRunner().invoke(main, ["portfolio", str(example_case), "-o", str(tmp_path / "p1"), "--no-pdf", "-j", "1"])
    assert r.exit_code == 1 and "--trust-case-templates" in r.output and "was not built" in r.output
    r = CliRunner().invoke(main, ["portfolio", str(example_case), "-o", str(tmp_path / "p2"), "--no-pdf", "-j", "1",
                                  "--trust-case-templates"])
    assert r.exit_code == 0, r.output
    html = next((tmp_path / "p2").glob("*/report.html")).read_text()
    assert "MY NOTES PARTIAL" in html


def test_onepager_drops_decoration_before_evidence():
    """Tightening never drops the caveats, the picture, its caption or the glossary line (a level-1
    reader needs all four); every worked example fits one page, page 1's picture printed at full
    width, where its 9 pt type stays ≥ 8 pt."""
    import tempfile
    from pathlib import Path

    from casegen.app.build import analyze, build_report
    from casegen.app.build import load_case as load
    from casegen.render.html import render_html

    root = Path(__file__).resolve().parent.parent / "cases"
    for case_dir in sorted(p for p in root.iterdir() if (p / "case.yaml").is_file()):
        case, d = load(case_dir)
        study = analyze(case, d)
        report = build_report(study)
        for tight in range(4):
            html = render_html(study, report=report, layout="onepager", tight=tight)
            if study.threats:
                assert "Caveats:" in html, (case_dir.name, tight)
            assert 'class="chart-variants"' in html, (case_dir.name, tight)
            assert "<figcaption>" in html and '<p class="glossary page-glossary"><strong>Terms.</strong>' in html, \
                (case_dir.name, tight)
            assert 'class="in-short"' not in html, (case_dir.name, tight)  # no text hidden by CSS
            if tight == 0:
                # page 1's picture (casegen.render.hero), chosen by the case
                assert '<figure class="hero' in html, case_dir.name
                svg = re.search(r'<figure class="hero.*?<div class="desk-only">(<svg.*?</svg>)', html, re.S).group(1)
                width_pt = float(re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+)', svg).group(1))
                content_pt = (210 - 32) / 25.4 * 72  # A4 less the 16 mm side margins
                assert 9 * min(1.0, content_pt / width_pt) >= 8.0, width_pt
        messages: list[str] = []
        with tempfile.TemporaryDirectory() as out:
            build(case_dir, out, formats=("pdf",), layout="onepager", progress=messages.append)
            assert pdf_pages((Path(out) / "report.pdf").read_bytes()) == 1
        levels = [int(m.rsplit("level ", 1)[1].rstrip(")")) for m in messages if "tightening" in m]
        assert max(levels, default=0) <= 3, (case_dir.name, messages)
