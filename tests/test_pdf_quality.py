"""The PDF as a reader and a screen reader meet it: tagged (PDF/UA-1) with a language, one font
family (the same as the HTML and the charts), type large enough to read, and no page left mostly
empty in the middle of the document."""

from __future__ import annotations

import ctypes

import pytest

from casegen.app.build import build
from conftest import EXAMPLE, ROOT

pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 is not installed (pip install 'casegen[test]')")
raw = pdfium.raw

SWEEP = ROOT / "cases" / "inference-perf-llama3-8b-quantization-sweep"
MIN_PT = 8.0  # anything a reader must read
MIN_HASH_PT = 7.0  # SHA-256 hashes in the appendix (monospace)


@pytest.fixture(scope="module", params=["fp8", "sweep"])
def pdf(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    build(EXAMPLE if request.param == "fp8" else SWEEP, out, formats=("pdf",))
    doc = pdfium.PdfDocument((out / "report.pdf").read_bytes())
    yield doc
    doc.close()


def _chars(doc):
    """(page index, character, font name, effective size in pt) for every glyph of the document."""
    for i in range(len(doc)):
        tp = doc[i].get_textpage()
        for k in range(tp.count_chars()):
            size = raw.FPDFText_GetFontSize(tp.raw, k)
            ch = chr(raw.FPDFText_GetUnicode(tp.raw, k))
            if ch.isspace() or size <= 1.5:  # generated line breaks
                continue
            m = raw.FS_MATRIX()
            raw.FPDFText_GetMatrix(tp.raw, k, ctypes.byref(m))
            name = ctypes.create_string_buffer(256)
            flags = ctypes.c_int()
            raw.FPDFText_GetFontInfo(tp.raw, k, name, 256, ctypes.byref(flags))
            yield i, ch, name.value.decode(errors="replace").split("+")[-1], size * (m.a ** 2 + m.b ** 2) ** 0.5


def test_pdf_is_tagged_with_a_language(pdf):
    assert raw.FPDFCatalog_IsTagged(pdf.raw)
    n = raw.FPDFCatalog_GetLanguage(pdf.raw, None, 0)
    buf = (ctypes.c_ushort * (n // 2))()
    raw.FPDFCatalog_GetLanguage(pdf.raw, buf, n)
    assert bytes(buf).decode("utf-16-le").rstrip("\x00") == "en"


def test_pdf_fonts_and_sizes(pdf):
    chars = list(_chars(pdf))
    assert len(chars) > 3000
    fonts = {f for _, _, f, _ in chars}
    assert fonts and all(f.startswith(("casegen-", "DejaVu")) for f in fonts), fonts
    small = [(i + 1, ch, f, round(pt, 2)) for i, ch, f, pt in chars
             if pt < (MIN_HASH_PT if "mono" in f else MIN_PT) - 0.05]
    assert not small, f"text below {MIN_PT} pt (hashes {MIN_HASH_PT} pt): {small[:20]}"


def test_no_page_under_a_third_full_except_the_last(pdf):
    """Fill = lowest ink of the page body (between the running header and footer) / body height."""
    fills = []
    for i in range(len(pdf)):
        page = pdf[i]
        w, h = page.get_size()
        img = page.render(scale=30 / 72, grayscale=True).to_numpy()  # 30 dpi
        rows = img.shape[0]
        top, bottom = int(rows * 20 / 297), int(rows * (297 - 18) / 297)  # @page margins (mm of A4)
        body = img[top:bottom]
        ink = (body < 200).any(axis=1).nonzero()[0]
        fills.append((ink.max() + 1) / body.shape[0] if ink.size else 0.0)
    short = [(i + 1, round(f, 2)) for i, f in enumerate(fills[:-1]) if f < 1 / 3]
    assert not short, f"pages under a third full (page, fill): {short}; all: {fills}"
