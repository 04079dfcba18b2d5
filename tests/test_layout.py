"""Every example's PDF (full report and one-pager) stays inside its page, and looks as reviewed.

1. No text crosses the page's side margins: every character box pypdfium2 reports lies between
   the left and right margin of style.css's ``@page`` (16 mm), with 1 pt of tolerance. A table
   cut at the paper's edge ("INCO…") or a header running into the next column past the margin fails.
2. A visual regression check: page 1 of the full report and the one-pager of each example are
   rendered at 40 dpi and compared with the PNGs committed under ``tests/visual/`` — perceptually
   (grey, blurred, 8 × 8 px tiles), so anti-aliasing noise passes but a moved chart, a new line
   of text or a page that changed its break does not. After a deliberate layout change, regenerate
   with ``CASEGEN_UPDATE_VISUAL=1 python -m pytest tests/test_layout.py`` and review the PNGs in the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from test_sweep_cases_current_releases import sweep_case

from casegen.app.build import build
from conftest import ROOT

pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 is not installed (pip install 'casegen[test]')")
Image = pytest.importorskip("PIL.Image")
ImageFilter = pytest.importorskip("PIL.ImageFilter")

EXAMPLES = sorted(p.name for p in (ROOT / "cases").iterdir() if (p / "case.yaml").is_file())
VISUAL = Path(__file__).resolve().parent / "visual"
MM = 72 / 25.4
SIDE_MARGIN_MM = 16.0  # style.css: @page { margin: 20mm 16mm 18mm }


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("layout")
    got = {}
    for name in EXAMPLES:
        for layout in ("full", "onepager"):
            d = out / f"{name}-{layout}"
            build(ROOT / "cases" / name, d, formats=("pdf",), layout=layout)
            got[(name, layout)] = d / "report.pdf"
    # and a sweep case from today's AIPerf outputs (tests/fixtures/aiperf, as test_sweep_cases_current_releases)
    case = sweep_case("aiperf", out / "aiperf-case")
    build(case, out / "aiperf", formats=("pdf",))
    got[("aiperf-sweep", "full")] = out / "aiperf" / "report.pdf"
    return got


def text_past_margins(pdf_path: Path, side_mm: float = SIDE_MARGIN_MM, tol_pt: float = 1.0) -> list[str]:
    """One line per run of characters outside the side margins: page, distance past, the text."""
    doc = pdfium.PdfDocument(str(pdf_path))
    found: list[str] = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            width, _ = page.get_size()
            text = page.get_textpage()
            lo, hi = side_mm * MM - tol_pt, width - side_mm * MM + tol_pt
            last = -2
            for c in range(text.count_chars()):
                left, _b, right, _t = text.get_charbox(c)
                if right <= left or (lo <= left and right <= hi):
                    continue
                if c != last + 1:
                    past = max(lo - left, right - hi) / MM
                    found.append(f"page {i + 1}: {past:.1f} mm past the margin at "
                                 f"{text.get_text_range(max(0, c - 8), 24)!r}")
                last = c
    finally:
        doc.close()
    return found


@pytest.mark.parametrize("key", [(n, lay) for n in EXAMPLES for lay in ("full", "onepager")] + [("aiperf-sweep", "full")],
                         ids=lambda k: f"{k[0]}-{k[1]}")
def test_no_text_crosses_the_page_margin(pdfs, key):
    assert text_past_margins(pdfs[key]) == []


def overlapping_text(pdf_path: Path) -> list[str]:
    """One line per pair of characters printed on top of each other (a chart label on a tick label,
    a capacity label on the SLO's, a header running into the next column). Characters within two
    places of each other in the text are a ligature's parts ("ffi"), not a collision."""
    doc = pdfium.PdfDocument(str(pdf_path))
    found: list[str] = []
    try:
        for i in range(len(doc)):
            text = doc[i].get_textpage()
            boxes = []
            for c in range(text.count_chars()):
                left, bottom, right, top = text.get_charbox(c)
                if right - left > 0.5 and top - bottom > 0.5 and not text.get_text_range(c, 1).isspace():
                    boxes.append((left, bottom, right, top, c))
            boxes.sort()
            for k, (left, bottom, right, top, c) in enumerate(boxes):
                for left2, bottom2, right2, top2, c2 in boxes[k + 1:]:
                    if left2 >= right:
                        break
                    if abs(c2 - c) <= 2:
                        continue
                    ox, oy = min(right, right2) - max(left, left2), min(top, top2) - max(bottom, bottom2)
                    if ox > 0.3 * min(right - left, right2 - left2) and oy > 0.3 * min(top - bottom, top2 - bottom2):
                        found.append(f"page {i + 1}: {text.get_text_range(max(0, c - 6), 14)!r} on "
                                     f"{text.get_text_range(max(0, c2 - 6), 14)!r}")
    finally:
        doc.close()
    return found


@pytest.mark.parametrize("key", [(n, lay) for n in EXAMPLES for lay in ("full", "onepager")] + [("aiperf-sweep", "full")],
                         ids=lambda k: f"{k[0]}-{k[1]}")
def test_no_text_prints_on_other_text(pdfs, key):
    assert overlapping_text(pdfs[key]) == []


def test_the_overlap_check_sees_text_on_text(tmp_path):
    from casegen.render.html import render_pdf

    html = ('<html><body><p style="position:absolute; top:40mm; left:20mm">break-even at 0.0 months</p>'
            '<p style="position:absolute; top:40mm; left:22mm">0 2 4 6 8 10</p></body></html>')
    import datetime as dt

    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(render_pdf(html, tmp_path, dt.date(2026, 1, 1)))
    assert overlapping_text(pdf)


def test_the_margin_check_sees_text_past_the_margin(pdfs):
    """The check is not vacuous: with a margin wider than the page's, the body text is 'past' it."""
    assert text_past_margins(pdfs[(EXAMPLES[0], "full")], side_mm=40.0)


# ------------------------------------------------------------------ visual regression

def _render(pdf_path: Path, page: int = 0, dpi: int = 40):
    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        return doc[page].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


def _tiles(img, tile: int = 8) -> list[float]:
    grey = img.convert("L").filter(ImageFilter.GaussianBlur(1.2))
    w, h = grey.size
    small = grey.resize((max(1, w // tile), max(1, h // tile)), Image.Resampling.BOX)
    return [float(v) for v in np.asarray(small, dtype=float).ravel()]


def perceptual_difference(a, b) -> float:
    """Share of 8 × 8 px tiles whose mean grey level differs by more than 10 of 255 (1.0 if sizes differ)."""
    if a.size != b.size:
        return 1.0
    ta, tb = _tiles(a), _tiles(b)
    return sum(abs(x - y) > 10 for x, y in zip(ta, tb)) / len(ta)


TOLERANCE = 0.02  # 2 % of the page's tiles; a moved line of text or chart changes far more


@pytest.mark.parametrize("layout", ["full", "onepager"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_page_one_looks_as_reviewed(pdfs, name, layout):
    png = VISUAL / f"{name}-{'page1' if layout == 'full' else 'onepager'}.png"
    got = _render(pdfs[(name, layout)])
    if os.environ.get("CASEGEN_UPDATE_VISUAL"):
        VISUAL.mkdir(exist_ok=True)
        got.quantize(colors=64).save(png, optimize=True)  # small in the repository; the comparison tolerates it
        pytest.skip(f"wrote {png.name}")
    assert png.is_file(), f"no reviewed image {png.name}: run with CASEGEN_UPDATE_VISUAL=1 and review it"
    with Image.open(png) as want:
        diff = perceptual_difference(got, want.convert("RGB"))
    assert diff <= TOLERANCE, (f"{name} {layout} page 1 differs from {png.name} in {diff:.1%} of the page: "
                               "look at it; if the change is meant, regenerate with CASEGEN_UPDATE_VISUAL=1")


def test_perceptual_difference_sees_a_moved_block(pdfs):
    """A page shifted down by one line (about 4 px at 40 dpi) is a difference; itself is not."""
    img = _render(pdfs[(EXAMPLES[0], "full")])
    assert perceptual_difference(img, img.copy()) == 0.0
    shifted = Image.new("RGB", img.size, "white")
    shifted.paste(img.crop((0, 0, img.width, img.height - 5)), (0, 5))
    assert perceptual_difference(img, shifted) > TOLERANCE


# ------------------------------------------------------------------ page fill

def page_fills(pdf_path: Path, dpi: int = 30) -> list[float]:
    """Per page: the lowest ink of the page body (between the running header and footer) as a share
    of the body's height (style.css: @page margins 20 mm top, 18 mm bottom, A4)."""
    doc = pdfium.PdfDocument(str(pdf_path))
    fills = []
    try:
        for i in range(len(doc)):
            img = doc[i].render(scale=dpi / 72, grayscale=True).to_numpy()
            rows = img.shape[0]
            body = img[int(rows * 20 / 297):int(rows * (297 - 18) / 297)]
            ink = (body < 200).any(axis=1).nonzero()[0]
            fills.append((ink.max() + 1) / body.shape[0] if ink.size else 0.0)
    finally:
        doc.close()
    return fills


MIN_FILL = 0.70  # every page but the last; most pages of the examples are above 0.8


@pytest.mark.parametrize("key", [(n, "full") for n in EXAMPLES] + [("aiperf-sweep", "full")],
                         ids=lambda k: k[0])
def test_no_page_but_the_last_is_left_largely_blank(pdfs, key):
    """A heading kept with too much, or a group pushed whole to the next page, leaves the page before
    it partly blank; at most 30 % of a page may stay empty (the last page excepted)."""
    fills = page_fills(pdfs[key])
    short = [(i + 1, round(f, 2)) for i, f in enumerate(fills[:-1]) if f < MIN_FILL]
    assert not short, f"pages under {MIN_FILL:.0%} full (page, fill): {short}; all: {[round(f, 2) for f in fills]}"


def test_the_fill_check_sees_a_half_empty_page(tmp_path):
    import datetime as dt

    from casegen.render.html import render_pdf

    html = ('<html lang="en"><body><div style="height: 120mm; background: #333"></div>'
            '<div style="height: 235mm; background: #333; break-before: page"></div></body></html>')
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(render_pdf(html, tmp_path, dt.date(2026, 1, 1)))
    fills = page_fills(pdf)
    assert fills[0] < MIN_FILL <= fills[1]


# ------------------------------------------------------------------ the one-pager never cuts a sentence

def test_whole_sentences_cuts_only_between_sentences():
    from casegen.render.html import whole_sentences

    text = ("On GPUs without FP8 tensor cores (pre-Hopper/Ada) the gain disappears; accuracy-sensitive tasks "
            "(math, code, long-context retrieval) can lose points that matter.")
    assert whole_sentences(text, 1000) == text
    assert whole_sentences(text, 150) == "On GPUs without FP8 tensor cores (pre-Hopper/Ada) the gain disappears … (see report)"
    assert whole_sentences("One long first sentence that is over the limit. Two.", 10) == \
        "One long first sentence that is over the limit … (see report)"


def test_tightest_onepager_keeps_whole_sentences():
    from casegen.analysis.study import analyze
    from casegen.case.model import load_case
    from casegen.render.html import render_html

    case, d = load_case(ROOT / "cases" / "h100-llama31-8b-fp8")
    html = render_html(analyze(case, d), layout="onepager", tight=3)
    item = html.split('<ul class="tradeoff-list">')[1].split("</li>")[0]
    assert "(see report)" in item and "…;" not in item and "…." not in item
    helps, hurts = item.split("<em>Helps when:</em>")[1].split("<em>Hurts when:</em>")
    for part in (helps, hurts):
        text = part.split("(see report)")[0]
        assert text.rstrip().endswith("…") or "(see report)" not in part, part  # cut only where a sentence ends


def _pdf_text(pdf_path: Path) -> str:
    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        text = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    return " ".join(text.replace("\u00ad", "").replace("-\r\n", "-").split())


@pytest.mark.parametrize("name", EXAMPLES)
def test_onepager_keeps_its_essentials_whole(pdfs, name):
    """Each example's one-pager fits without cutting what it is for: every trade-off (up to two) with
    its whole "helps when" and "hurts when" texts, never "(see report)"; a sweep or ladder one-pager
    has its objectives-by-load table, a ladder with capacities its step-by-step table naming every
    variant, a fixed-load one its latency table."""
    import yaml

    case = yaml.safe_load((ROOT / "cases" / name / "case.yaml").read_text(encoding="utf-8"))
    text = _pdf_text(pdfs[(name, "onepager")])
    assert "(see report)" not in text
    for t in case.get("tradeoffs", [])[:2]:
        for key in ("helps_when", "hurts_when"):
            want = " ".join(str(t[key]).split())
            assert want in text, f"{name}: {t['technique']} {key} not whole on the one-pager"
    runs = case.get("runs") or {}
    if "steps" in runs:  # every variant, the middle ones included (the last review: "+ base scheduler" missing)
        assert "Step by step" in text, name
        for step in runs["steps"]:
            assert step["label"] in text, f"{name}: {step['label']} not on the one-pager"
        return
    swept = any("sweep" in str(v) for v in runs.values())
    assert ("Objectives by load" if swept else "Latency (") in text, name


# ------------------------------------------------------------------ bad breaks (issue 23)

_UNIT_START = __import__("re").compile(r"^(ms|s|req/s|tok/s|tokens/s|months?|GiB|%)(?![\w/])")
_STAT_START = __import__("re").compile(r"^(mean|p\d+(\.\d+)?)\W")


def bad_breaks(pdf_path: Path) -> list[str]:
    """One line per bad break in the PDF's text, read line by line from the page bodies (between the
    running header and footer):

    - a line ending in a bound sign ("≤", "≥") whose figure went to the next line;
    - a number at a line's end whose unit starts the next ("5.6 / months"), or "req/" split from "s";
    - a heading (a PDF bookmark: WeasyPrint makes one per h1–h4) as the last line of its page;
    - a table's column heads followed by a statistic's row ("p95 …") without its metric's label:
      a metric's rows continued on a new page without the name they belong to."""
    doc = pdfium.PdfDocument(str(pdf_path))
    found: list[str] = []
    try:
        bodies = []
        for i in range(len(doc)):
            page = doc[i]
            w, h = page.get_size()
            text = page.get_textpage().get_text_bounded(0, 18 * MM, w, h - 20 * MM)
            bodies.append([ln.strip() for ln in text.split("\r\n") if ln.strip()])
        for i, lines in enumerate(bodies):
            for a, b in zip(lines, lines[1:] + [""]):
                if a.endswith(("≤", "≥", "<", ">")):
                    found.append(f"page {i + 1}: bound sign at a line's end: {a[-30:]!r} / {b[:20]!r}")
                if a.endswith(("req/", "tok/")):
                    found.append(f"page {i + 1}: unit split at its slash: {a[-30:]!r} / {b[:20]!r}")
                if a[-1:].isdigit() and _UNIT_START.match(b) and any(ch.isalpha() for ch in a):  # not a chart's ticks
                    found.append(f"page {i + 1}: number and unit on two lines: {a[-30:]!r} / {b[:20]!r}")
                if a.startswith("METRIC STAT") and _STAT_START.match(b):
                    found.append(f"page {i + 1}: a metric's rows continue without its label: {b[:40]!r}")
        for item in doc.get_toc():
            title = " ".join((item.get_title() or "").split())
            dest = item.get_dest()
            i = dest.get_index() if dest is not None else None
            if i is None or not title or i >= len(bodies) or not bodies[i]:
                continue
            tail = " ".join(" ".join(bodies[i][-2:]).split())
            if tail.endswith(title) and len(bodies[i]) > 2:
                found.append(f"page {i + 1}: heading {title!r} is the page's last line")
    finally:
        doc.close()
    return found


@pytest.mark.parametrize("key", [(n, lay) for n in EXAMPLES for lay in ("full", "onepager")] + [("aiperf-sweep", "full")],
                         ids=lambda k: f"{k[0]}-{k[1]}")
def test_no_bad_breaks(pdfs, key):
    assert bad_breaks(pdfs[key]) == []


def test_the_break_check_sees_bad_breaks(tmp_path):
    """The check is not vacuous: a page ending on a heading, "≤" parted from its figure, "req/" from
    "s", a number from its unit and a metric's rows continued without their label are all found."""
    import datetime as dt

    from casegen.render.html import render_pdf

    html = ('<html lang="en"><body style="font-size: 12pt">'
            '<p>pays back in ≤<br>5.6 months</p><p>fourteen thousand req/<br>s here</p>'
            '<p>the run took 5.6<br>months</p><div style="height: 150mm"></div>'
            '<h3>Stranded heading</h3><p style="break-before: page">'
            'METRIC STAT Baseline</p><p>p95 36.2 ms</p></body></html>')
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(render_pdf(html, tmp_path, dt.date(2026, 1, 1)))
    found = "\n".join(bad_breaks(pdf))
    for kind in ("bound sign", "unit split", "number and unit", "heading 'Stranded heading'", "without its label"):
        assert kind in found, (kind, found)


# ------------------------------------------------------------------ the running header fits one line

def header_lines(pdf_path: Path) -> list[tuple[int, int]]:
    """Per page after the first: (page, the number of text lines in the top margin, 20 mm)."""
    doc = pdfium.PdfDocument(str(pdf_path))
    out = []
    try:
        for i in range(1, len(doc)):
            page = doc[i]
            _w, height = page.get_size()
            text = page.get_textpage()
            baselines = set()
            for c in range(text.count_chars()):
                left, bottom, right, top = text.get_charbox(c, loose=True)  # the font's box: one per line
                if right > left and height - top < 20 * MM:
                    baselines.add(round(bottom))
            # lines: baselines at least half a line (4 pt) apart
            ys = sorted(baselines)
            lines = sum(1 for a, b in zip([None] + ys, ys) if a is None or b - a > 4.0)
            out.append((i + 1, lines))
    finally:
        doc.close()
    return out


@pytest.mark.parametrize("key", [(n, "full") for n in EXAMPLES] + [("aiperf-sweep", "full")], ids=lambda k: k[0])
def test_running_header_is_one_line(pdfs, key):
    """The title (left) and the author (right) each on one line: a long title ends in "…"
    (casegen.render.running_head) instead of wrapping into the page's top margin."""
    two = [(p, n) for p, n in header_lines(pdfs[key]) if n != 1]
    assert not two, f"pages whose running header is not one line (page, lines): {two}"


def test_fit_line_cuts_at_a_word_with_an_ellipsis():
    from casegen.render.running_head import TITLE_WIDTH_PT, fit_line, running_author, text_width_pt

    title = "Prompt trimming: 40% fewer input tokens, faster first token, cheaper requests (test server)"
    got = fit_line(title)
    assert got.endswith("…") and title.startswith(got[:-1]) and text_width_pt(got) <= TITLE_WIDTH_PT
    assert title[len(got) - 1] in " ,"  # cut between words (a comma before the cut goes)
    assert fit_line("Short title") == "Short title"
    # the author's link goes before the name or role is shortened
    long_author = "Alexandra Example, Principal ML platform engineer · alexandra.example.com"
    assert running_author(long_author) == "Alexandra Example, Principal ML platform engineer"


def test_compact_sweep_rows_keep_where_each_verdict_turns():
    from casegen.render.html import compact_sweep_rows

    def row(load, b, o):
        cell = lambda st: {"rps": "not measured", "status": "na"} if st is None else {"rps": "1.00", "status": st}  # noqa: E731
        return {"load": load, "cells": [cell(b), cell(o)]}

    rows = [row("1", "pass", "pass"), row("2", "pass", None), row("3", "pass", None), row("4", "fail", None),
            row("5", None, "pass"), row("6", None, "pass"), row("7", None, "pass"), row("8", None, "fail"),
            row("9", "fail", "fail")]
    got = [r["load"] for r in compact_sweep_rows(rows)]
    assert got == ["1", "3", "4", "7", "8", "9"]  # first, baseline's last pass and first miss, the same for optimized, last
    assert compact_sweep_rows(rows[:5]) == rows[:5]


def test_print_latency_section_prints_its_column_heads_once_a_page(pdfs):
    """The screen shows one latency table per metric (a phone needs them apart); the PDF prints them as
    one table, its heads once and again only on a page the table continues on — not above every metric."""
    from casegen.analysis.study import analyze
    from casegen.case.model import load_case
    from casegen.render.html import render_html

    case, d = load_case(ROOT / "cases" / "h100-llama31-8b-fp8")
    study = analyze(case, d)
    screen, printed = render_html(study), render_html(study, medium="print")
    metrics = screen.count('<table class="grid results fixed latency">')
    assert metrics >= 3 and printed.count("grid results fixed latency") == 1
    assert printed.count('<tbody class="group">') >= metrics
    doc = pdfium.PdfDocument(str(pdfs[("h100-llama31-8b-fp8", "full")]))
    try:
        for i in range(len(doc)):
            text = doc[i].get_textpage().get_text_range()
            assert text.count("METRIC") <= 1, f"page {i + 1}: the latency heads repeat within the page"
    finally:
        doc.close()
