"""The charts' text in the PDF is laid out a line at a time (casegen.render.svg_text): installed with
the WeasyPrint casegen pins, its words reach the PDF, and texts it does not handle keep WeasyPrint's way."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from casegen.render.html import render_pdf
from conftest import ROOT

pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 is not installed (pip install 'casegen[test]')")

SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100" width="300pt" height="100pt">
<text x="10" y="30" style="font-size: 12px; font-family: 'DejaVu Sans'">AVATAR line</text>
<text x="290" y="60" style="font-weight: 700; font-size: 12px; font-family: 'DejaVu Sans'; text-anchor: end">72.0 ms</text>
<text x="10 30 50" y="90" style="font-size: 12px; font-family: 'DejaVu Sans'">xyz</text>
</svg>"""


def _pdf(tmp_path) -> bytes:
    data = base64.b64encode(SVG.encode()).decode()
    html = f'<html lang="en"><body><img alt="a chart" src="data:image/svg+xml;base64,{data}"></body></html>'
    return render_pdf(html, ROOT, dt.date(2026, 1, 1))


def _texts(pdf: bytes) -> list[str]:
    """The text objects on page 1, chart forms included, each as the text it draws (spaces normalized)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        textpage = page.get_textpage()
        found = []
        for obj in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_TEXT], max_depth=8):
            n = pdfium.raw.FPDFTextObj_GetText(obj.raw, textpage.raw, None, 0)
            buf = (pdfium.raw.c_ubyte * n)()
            pdfium.raw.FPDFTextObj_GetText(obj.raw, textpage.raw, pdfium.raw.cast(buf, pdfium.raw.POINTER(pdfium.raw.c_ushort)), n)
            found.append(bytes(buf).decode("utf-16-le").rstrip("\x00").replace("\xa0", " ").strip())
        return found
    finally:
        doc.close()


def test_installed_with_the_pinned_weasyprint():
    import weasyprint

    from casegen.render import svg_text

    assert svg_text.install(weasyprint) is True
    assert svg_text.install(weasyprint) is True  # again: nothing more to do


def test_weasyprint_svg_normalize_keeps_its_answers_and_gives_the_same_ones():
    import sys

    import weasyprint
    import weasyprint.svg.utils as utils

    from casegen.render import svg_text

    svg_text.install(weasyprint)
    normalize = utils.normalize
    assert getattr(normalize, "casegen_memoized", False)
    assert all(sys.modules[m].normalize is normalize for m in ("weasyprint.svg", "weasyprint.svg.path",
                                                                "weasyprint.svg.shapes", "weasyprint.svg.text"))
    for value in ("1E-3,2", " 10.5.5-3 ", None, "", "M 0 0 L1-2", "1.5"):
        assert normalize(value) == normalize.casegen_original(value)  # the first answer, computed
        assert normalize(value) == normalize.casegen_original(value)  # and the kept one
    assert normalize("1E-3,2") == "1e-3 2" and normalize("M 0 0 L1-2") == "M 0 0 L1 -2"


def test_a_chart_line_is_one_text_object_and_per_letter_positions_stay_per_letter(tmp_path):
    texts = _texts(_pdf(tmp_path))
    assert "AVATAR line" in texts and "72.0 ms" in texts  # a line at a time, words intact
    assert [t for t in texts if t in ("x", "y", "z")] == ["x", "y", "z"]  # an x list: WeasyPrint's own, letter by letter


def test_the_example_charts_words_reach_the_pdf(tmp_path):
    from click.testing import CliRunner

    from casegen.cli.main import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(ROOT / "cases" / "h100-llama31-8b-fp8"), "-o", str(out),
                                       "--format", "pdf", "-q"])
    assert result.exit_code == 0, result.output
    texts = _texts((out / "report.pdf").read_bytes())
    assert "TTFT p50" in texts and "SLO 20 ms" in texts  # the hero chart's panel title and limit label
