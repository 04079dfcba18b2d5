"""A table wider than the printed page is split into parts with the row labels repeated and
"(continued)", instead of running past the margin (casegen.render.wide_tables)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from casegen.render import html as html_mod
from casegen.render.wide_tables import split_wide_tables
from casegen.resources import templates_dir

pytest.importorskip("pypdfium2")
from test_layout import text_past_margins  # noqa: E402


def _wide_page(columns: int = 14) -> str:
    css = (templates_dir() / "style.css").read_text(encoding="utf-8")
    head = "".join(f"<th class='r'>Load {i} req/s</th>" for i in range(1, columns + 1))
    rows = "".join("<tr><th>" + m + "</th>" + "".join(f"<td class='r'>{1000 + i * 37.5:,.1f}&nbsp;ms</td>"
                                                     for i in range(columns)) + "</tr>"
                   for m in ("TTFT p50", "TTFT p99", "TPOT p50"))
    return (f"<html lang='en'><head><title>t</title><style>{css}</style></head><body><main class='report'>"
            f"<h2>Every load</h2><table class='grid'><thead><tr><th>Metric</th>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table></main></body></html>")


def _pdf_text(pdf: bytes) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def test_a_table_wider_than_the_page_is_split_with_its_row_labels(tmp_path, monkeypatch):
    pdf = tmp_path / "wide.pdf"
    pdf.write_bytes(html_mod.render_pdf(_wide_page(), tmp_path, dt.date(2026, 1, 1)))
    assert text_past_margins(pdf) == []
    text = _pdf_text(pdf.read_bytes())
    assert "(continued)" in text
    assert len(re.findall(r"TTFT\s*p99", text)) == 2  # the row labels printed with each part
    assert "LOAD 14" in text and "1,487.5" in text  # the last column is there
    # without the split the same table runs past the margin: the check above is not vacuous
    monkeypatch.setattr(html_mod, "wide_tables", lambda rendered, root: {})
    pdf.write_bytes(html_mod.render_pdf(_wide_page(), tmp_path, dt.date(2026, 1, 1)))
    assert text_past_margins(pdf)


def test_a_table_that_fits_is_left_alone(tmp_path):
    pdf = html_mod.render_pdf(_wide_page(columns=4), tmp_path, dt.date(2026, 1, 1))
    assert "(continued)" not in _pdf_text(pdf)


def test_split_keeps_row_groups_row_spans_and_spanning_notes():
    page = ("<p>before</p><table class='grid results fixed'><colgroup><col><col><col><col></colgroup>"
            "<thead><tr><th>Metric</th><th>Stat</th><th>A</th><th>B</th></tr></thead>"
            "<tbody class='group'><tr><th rowspan='2'>TTFT</th><td>p50</td><td>1</td><td>2</td></tr>"
            "<tr><td>p99</td><td>3</td><td>4</td></tr>"
            "<tr class='notes'><td colspan='4'>a note under every column</td></tr></tbody></table><p>after</p>")
    out = split_wide_tables(page, {0: ([60.0, 40.0, 200.0, 200.0], 320.0)})
    parts = re.findall(r"<table.*?</table>", out, re.S)
    assert len(parts) == 2 and out.startswith("<p>before</p>") and out.endswith("<p>after</p>")
    first, second = parts
    assert "<colgroup>" not in out and "fixed" not in out and 'class="grid results split-part"' in first
    assert "(continued)" not in first and '<caption class="continued">(continued)</caption>' in second
    assert first.count('rowspan="2"') == 1 and second.count('rowspan="2"') == 1  # the label in each part
    assert ">1<" in first and ">3<" in first and ">2<" in second and ">4<" in second
    assert '<td colspan="3">a note under every column</td>' in first and "a note" not in second
    assert 'class="group"' in second  # the row group stays a group
