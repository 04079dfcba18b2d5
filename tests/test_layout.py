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
#: every PDF checked: each example's report and one-pager, and the reports of two cases from today's
#: AIPerf outputs (a sweep; a summary-only run)
TOOL_KEYS = [("aiperf-sweep", "full"), ("aiperf-summary", "full")]
ALL_KEYS = [(n, lay) for n in EXAMPLES for lay in ("full", "onepager")] + TOOL_KEYS
FULL_KEYS = [(n, "full") for n in EXAMPLES] + TOOL_KEYS


#: Page-break findings of each PDF built by :func:`pdfs`, read from its laid-out boxes (:func:`layout_breaks`).
LAYOUT_BREAKS: dict[tuple[str, str], list[str]] = {}


def _build_pdf(case: Path, out: Path, key: tuple[str, str], layout: str = "full") -> Path:
    """Build ``case``'s PDF and keep the page-break findings of the pages it wrote."""
    from casegen.render.html import LAYOUT_LOG

    log: list = []
    token = LAYOUT_LOG.set(log)
    try:
        build(case, out, formats=("pdf",), layout=layout)
    finally:
        LAYOUT_LOG.reset(token)
    LAYOUT_BREAKS[key] = layout_breaks(log[-1])  # the last document laid out is the one written
    return out / "report.pdf"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("layout")
    got = {}
    for name in EXAMPLES:
        for layout in ("full", "onepager"):
            got[(name, layout)] = _build_pdf(ROOT / "cases" / name, out / f"{name}-{layout}", (name, layout), layout)
    # and a sweep case from today's AIPerf outputs (tests/fixtures/aiperf, as test_sweep_cases_current_releases)
    case = sweep_case("aiperf", out / "aiperf-case")
    got[("aiperf-sweep", "full")] = _build_pdf(case, out / "aiperf", ("aiperf-sweep", "full"))
    # and a summary-only AIPerf case (profile_export_aiperf.json alone: no per-request records)
    got[("aiperf-summary", "full")] = _build_pdf(summary_only_case(out / "aiperf-summary-case"),
                                                 out / "aiperf-summary", ("aiperf-summary", "full"))
    return got


def summary_only_case(where: Path) -> Path:
    """A case of today's AIPerf 0.13 summary JSON alone (concurrency 4), as a reviewer built it."""
    import shutil

    src = ROOT / "tests" / "fixtures" / "aiperf" / "0.13.0"
    (where / "runs").mkdir(parents=True)
    for side in ("baseline", "optimized"):
        shutil.copy(src / f"{side}-c4" / "profile_export_aiperf.json", where / "runs" / f"{side}.json")
    (where / "case.yaml").write_text(
        'title: "Optimized timing profile at concurrency 4 (AIPerf 0.13 summary)"\n'
        'author: "Jordan Lee"\nrole: "Inference platform engineer"\ndate: 2026-12-07\n'
        "summary: >-\n  The baseline and optimized timing profiles at 4 requests in flight, AIPerf 0.13 summary JSON only.\n"
        'system: {model: "test-model", hardware: "CPU-only VM", serving_stack: "OpenAI-compatible test server"}\n'
        'workload: {description: "Synthetic streaming requests (AIPerf 0.13.0), summary JSON only."}\n'
        "slos:\n  - {metric: ttft, percentile: 99, threshold_ms: 70}\n  - {metric: e2e, percentile: 50, threshold_ms: 450}\n"
        "runs:\n  baseline: {path: runs/baseline.json, label: Baseline}\n  optimized: {path: runs/optimized.json, label: Optimized}\n"
        "cost:\n  baseline:\n    self_hosted: {gpu: \"CPU VM\", gpu_hourly_usd: 0.40, gpus_per_replica: 1, utilization: 0.6}\n"
        "  optimized:\n    self_hosted: {gpu: \"CPU VM\", gpu_hourly_usd: 0.40, gpus_per_replica: 1, utilization: 0.6}\n"
        "  requests_per_month: 1000000\n", encoding="utf-8")
    return where


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


@pytest.mark.parametrize("key", ALL_KEYS,
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


@pytest.mark.parametrize("key", ALL_KEYS,
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


@pytest.mark.parametrize("key", FULL_KEYS,
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
    finally:
        doc.close()
    return found


@pytest.mark.parametrize("key", ALL_KEYS,
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
    for kind in ("bound sign", "unit split", "number and unit", "without its label"):
        assert kind in found, (kind, found)


# ------------------------------------------------------------------ breaks read from the laid-out boxes

_KEEP_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "dt"}


def _walk(box, parents=()):
    from weasyprint.formatting_structure import boxes as B

    yield box, parents
    if isinstance(box, (B.LineBox, B.TableRowBox, B.ReplacedBox, B.MarginBox)):
        return
    for child in getattr(box, "children", None) or []:
        yield from _walk(child, parents + (box,))


def _box_text(box) -> str:
    from weasyprint.formatting_structure import boxes as B

    if isinstance(box, B.TextBox):
        return box.text
    return " ".join(" ".join(_box_text(c) for c in getattr(box, "children", None) or []).split())


def _name(box) -> str:
    cls = (box.element.get("class") or "").split() if box.element is not None else []
    return box.element_tag + (f".{cls[0]}" if cls else "")


def page_flow(page) -> list:
    """The leaves of a laid-out page's flow in document order — lines, table rows, images — each with
    its ancestors (the running header and footer, in the page's margin boxes, are not the flow)."""
    from weasyprint.formatting_structure import boxes as B

    return [(box, parents) for box, parents in _walk(page._page_box)
            if isinstance(box, (B.LineBox, B.TableRowBox, B.ReplacedBox))
            and not any(isinstance(p, B.MarginBox) for p in parents)]


def layout_breaks(document) -> list[str]:
    """One line per bad page break of a laid-out WeasyPrint document (its pages' boxes, as written):

    - a table row, or a row group kept whole (``tbody.group``: an objective's two sides, a metric's
      statistics), on two pages;
    - a page whose flow ends in a heading (h1–h6, a definition's term) or anything else the CSS keeps
      with what follows it (``break-after: avoid``: a table's lead-in, a callout's title), or in a
      table's header row — left behind, the element not continued on the next page;
    - a heading whose last line is one word alone (what ``headings_without_orphans`` prevents), or an
      empty page."""
    from weasyprint.formatting_structure import boxes as B

    flows = [page_flow(p) for p in document.pages]
    on_page = [{id(b.element) for leaf, parents in flow for b in (leaf, *parents) if b.element is not None}
               for flow in flows]
    found: list[str] = []
    first_page: dict[int, int] = {}
    for i, flow in enumerate(flows):
        for leaf, parents in flow:
            in_head = any(p.element_tag == "thead" for p in parents)  # a header repeated on each page is meant
            split = [leaf] if isinstance(leaf, B.TableRowBox) and not in_head else []
            split += [g for g in parents if isinstance(g, B.TableRowGroupBox) and g.element is not None
                      and "group" in (g.element.get("class") or "").split()]
            for box in split:
                k = id(box.element)
                if first_page.setdefault(k, i) not in (i, -1):
                    what = "table row" if box is leaf else "row group"
                    found.append(f"page {i + 1}: a {what} continued from page {first_page[k] + 1}: "
                                 f"{_box_text(box)[:60]!r}")
                    first_page[k] = -1
        for leaf, parents in flow:  # a heading that wraps ends with two words, never one alone ("… p99 / TTFT")
            head = next((p for p in parents if p.element_tag in ("h1", "h2", "h3", "h4")), None)
            if head is not None and isinstance(leaf, B.LineBox) and leaf is head.children[-1] and len(head.children) > 1:
                words = _box_text(leaf).split()
                if len(words) == 1 and len(_box_text(head)) > 24:
                    found.append(f"page {i + 1}: {_name(head)} {_box_text(head)[:60]!r} ends with one word alone "
                                 f"on its last line: {words[0]!r}")
        if i < len(flows) - 1 and not flow:
            found.append(f"page {i + 1}: nothing laid out on the page")
        if i == len(flows) - 1 or not flow:
            continue
        leaf, parents = flow[-1]
        for box in (leaf, *reversed(parents)):
            if box.element is None or box.element_tag in ("main", "body", "html", "section", "article"):
                break
            if id(box.element) in on_page[i + 1]:  # continues on the next page: not left behind
                break
            if box.element_tag in _KEEP_TAGS or box.style["break_after"] in ("avoid", "avoid-page"):
                found.append(f"page {i + 1}: {_name(box)} {_box_text(box)[:60]!r} ends the page, "
                             "parted from what it introduces")
                break
            if box.element_tag == "thead":
                found.append(f"page {i + 1}: a table's header ends the page without a row")
                break
    return found


@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda k: f"{k[0]}-{k[1]}")
def test_no_row_split_and_no_heading_left_at_a_pages_foot(pdfs, key):
    """Read from the pages as laid out (not guessed from the PDF's text): no table row or kept row group
    on two pages, no page ending in a heading, a table's lead-in or header (issue 23, review s9:
    "llm-d pages 4→5 split a row of the objectives table")."""
    assert key in LAYOUT_BREAKS and pdfs[key].is_file()
    assert LAYOUT_BREAKS[key] == []


def test_the_layout_break_check_sees_bad_breaks(tmp_path):
    """Not vacuous: a heading left at a page's foot, a table row split by a page break, an objective's
    two rows parted, a lead-in kept from its table, each found; a page of plain text finds nothing."""
    import datetime as dt

    from casegen.render.html import LAYOUT_LOG, render_pdf

    def laid_out(html: str):
        log: list = []
        token = LAYOUT_LOG.set(log)
        try:
            render_pdf(html, tmp_path, dt.date(2026, 1, 1))
        finally:
            LAYOUT_LOG.reset(token)
        return log[-1]

    html = ('<html lang="en"><body style="font-size: 12pt"><div style="height: 200mm"></div>'
            '<h3>Stranded heading</h3><p style="break-before: page">after</p>'
            '<table><thead><tr><th>head</th></tr></thead><tbody><tr><td>one</td></tr>'
            '<tr><td><div style="height: 150mm">tall</div><div style="height: 150mm">cell</div></td></tr></tbody></table>'
            '<div style="height: 60mm"></div><table><tbody class="group"><tr><td>TTFT baseline</td></tr>'
            '<tr style="break-before: page"><td>TTFT optimized</td></tr></tbody></table>'
            '<div style="height: 200mm"></div><p class="table-lead" style="break-after: avoid">A table lead</p>'
            '<p style="break-before: page">next</p>'
            '<h2 style="width: 52mm">Quantized Llama 3 8B at a 500 ms p99 TTFT</h2></body></html>')
    found = "\n".join(layout_breaks(laid_out(html)))
    for kind in ("h3 'Stranded heading' ends the page", "a table row continued from page 2: 'cell'",
                 "a row group continued", "p.table-lead 'A table lead' ends the page", "one word alone"):
        assert kind in found, (kind, found)
    assert layout_breaks(laid_out('<html lang="en"><body>' + "<p>Plain text. </p>" * 400 + "</body></html>")) == []


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


@pytest.mark.parametrize("key", FULL_KEYS, ids=lambda k: k[0])
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
    # one table in print, its first metric in a part of its own kept whole with the heads (latency-first)
    assert metrics >= 3 and printed.count("grid results fixed latency latency-one") == 2
    assert printed.count("latency-one latency-first\"") == 1
    assert printed.split("latency-one latency-rest\"", 1)[1].split("</table>")[0].count("<thead") == 0
    assert printed.count('<tbody class="group">') >= metrics
    doc = pdfium.PdfDocument(str(pdfs[("h100-llama31-8b-fp8", "full")]))
    try:
        for i in range(len(doc)):
            text = doc[i].get_textpage().get_text_range()
            assert text.count("METRIC") <= 1, f"page {i + 1}: the latency heads repeat within the page"
    finally:
        doc.close()


def test_no_payback_chart_without_a_one_time_cost(tmp_path):
    """A lone "savings × months" line said no more than the monthly figure and left the AIPerf summary
    case's page 5 a quarter blank: the payback chart is drawn only when there is something to pay back."""
    from casegen.analysis.study import analyze
    from casegen.case.model import load_case
    from casegen.render.html import draw_charts
    from casegen.report.build import build_report

    case, d = load_case(summary_only_case(tmp_path / "case"))
    study = analyze(case, d)
    assert study.cost is not None and study.cost.one_time_cost_usd == 0 and study.cost.savings_usd_per_month > 0
    assert draw_charts(study, build_report(study)).get("payback") is None
    case, d = load_case(ROOT / "cases" / "h100-llama31-8b-fp8")
    study = analyze(case, d)
    assert draw_charts(study, build_report(study)).get("payback") is not None
