"""The portfolio book read page by page (its PDF text): a cover with labelled page numbers, one
summary page per case, then each full report from a new page with its own running head, and what
every report shares (metric definitions, statistical method, the terms) printed once."""

from __future__ import annotations

import re

import pytest

from casegen.app.portfolio import build_portfolio, shared_definitions
from conftest import ROOT

CASES = [ROOT / "cases" / "h100-llama31-8b-fp8", ROOT / "cases" / "prompt-trimming-testserver"]


def _flat(text: str) -> str:
    return " ".join(text.replace("\u00ad", "").split())


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    pdfium = pytest.importorskip("pypdfium2")
    out = tmp_path_factory.mktemp("book")
    # one process, as the other portfolio tests: in the full test run, a worker forked from the test process
    # (which had rendered many PDFs) failed with "RuntimeError: failed to load glyph"
    res = build_portfolio(CASES, out, jobs=1)
    assert not res.failed and res.book_error is None
    doc = pdfium.PdfDocument((out / "portfolio.pdf").read_bytes())
    pages, heads, fills = [], [], []
    for k in range(len(doc)):
        img = doc[k].render(scale=30 / 72, grayscale=True).to_numpy()
        body = img[int(img.shape[0] * 20 / 297):int(img.shape[0] * (297 - 18) / 297)]  # inside the margins
        ink = (body < 200).any(axis=1).nonzero()[0]
        fills.append((ink.max() + 1) / body.shape[0] if ink.size else 0.0)
        width, height = doc[k].get_size()
        text = doc[k].get_textpage()
        top = height - 20 / 25.4 * 72  # the page's top margin (style.css @page) holds the running head
        heads.append(text.get_text_bounded(0, top, width, height).strip())
        pages.append(text.get_text_bounded(0, 0, width, top))
    titles = [re.search(r'<h1[^>]*>(.*?)</h1>', (out / res.outcomes[k].slug / "report.html").read_text(), re.S)
              for k in range(len(res.outcomes))]
    order = [o.slug for o in res.outcomes]
    return {"pages": pages, "heads": heads, "fills": fills, "out": out, "titles": dict(zip(order, (t.group(1) for t in titles)))}


def _chapter_starts(pages: list[str]) -> dict[int, int]:
    """Full report number → the (1-based) page its label is on."""
    starts = {}
    for k, text in enumerate(pages, start=1):
        m = re.search(r"Full report (\d+) of (\d+)", text, re.I)
        if m and "Summary p." not in text:
            starts[int(m.group(1))] = k
    return starts


def test_each_full_report_starts_a_page_under_its_own_running_head(book):
    pages = book["pages"]
    starts = _chapter_starts(pages)
    assert sorted(starts) == [1, 2], starts
    cover = _flat(pages[0])
    # the cover's order: FP8 (portfolio.order 1), then prompt trimming (2)
    titles = [book["titles"]["h100-llama31-8b-fp8"], book["titles"]["prompt-trimming-testserver"]]
    assert cover.index(titles[0][:30]) < cover.index(titles[1][:30])
    heads = book["heads"]
    assert not any(heads[:starts[1] - 1]), heads[:starts[1] - 1]  # the cover and the summary pages: none
    ends = [starts[2] - 1, len(pages) - 1]
    for n, (first, last) in enumerate(zip((starts[1], starts[2]), ends)):
        # the chapter's label opens its page: nothing of the previous chapter above it
        assert re.match(rf"full report {n + 1} of 2\s", pages[first - 1].lstrip(), re.I), pages[first - 1][:80]
        for k in range(first, last + 1):  # every page of the chapter names its case, and only its case
            assert heads[k - 1].startswith(_flat(titles[n])[:30]), (k, heads[k - 1])
    assert heads[-1].startswith("Definitions and method") and pages[-1].lstrip().startswith("Definitions and method")


def test_no_full_report_ends_on_a_nearly_blank_page(book):
    from casegen.app.portfolio import SHORT_TAIL

    starts = _chapter_starts(book["pages"])
    lasts = [starts[2] - 1, len(book["pages"]) - 1]  # the page before the next report, before the definitions
    assert all(book["fills"][k - 1] >= SHORT_TAIL for k in lasts), [(k, book["fills"][k - 1]) for k in lasts]


def test_contents_columns_are_labelled_and_point_at_the_right_pages(book):
    pages = book["pages"]
    cover = _flat(pages[0])
    summaries = [int(p) for p in re.findall(r"Summary p\. (\d+)", cover)]
    reports = [int(p) for p in re.findall(r"Full report p\. (\d+)", cover)]
    assert summaries == [2, 3] and len(reports) == 2, cover
    assert reports == [_chapter_starts(pages)[1], _chapter_starts(pages)[2]]
    for page, slug in zip(summaries, ("h100-llama31-8b-fp8", "prompt-trimming-testserver")):
        assert _flat(book["titles"][slug])[:40] in _flat(pages[page - 1]), page
    definitions = int(re.search(r"Definitions and method .*?p\. (\d+)", cover).group(1))
    assert definitions == len(pages) and book["heads"][definitions - 1].startswith("Definitions and method")
    # each case's date, and the rule that orders the cases
    assert "Mar 27, 2025" in cover and "Dec 7, 2026" in cover and "In the order the author chose." in cover


def test_shared_text_is_printed_once(book):
    text = _flat("\n".join(book["pages"]))
    for shared in ("Time to first token: from sending the request to receiving the first streamed chunk",
                   "Time per output token, per request:", "Every gap between consecutive streamed chunks",
                   "Successful requests (or their tokens) divided by the run duration",
                   "95% confidence intervals allow for neighbouring requests being alike",
                   "Linear interpolation between order statistics", "Terms."):
        assert text.count(shared) == 1, (shared, text.count(shared))
    # each report's appendix says where its definitions went
    assert text.count("printed once for the book, under Definitions and method, page") == 2


def test_shared_definitions_keep_what_one_report_alone_defines():
    def body(percentiles: str) -> str:
        return ('<section class="appendix"><h3>A. Metric definitions</h3><dl class="defs"><dt>TTFT</dt><dd>first token</dd>'
                f'<dt id="x-statistical-method">Percentiles</dt><dd>{percentiles}</dd></dl><h3>B. Input files</h3></section>')

    bodies, shared = shared_definitions([body("linear"), body("linear"), body("as printed")])
    assert [(d["term"], [(v["text"], v["reports"]) for v in d["variants"]]) for d in shared] == [
        ("TTFT", [("first token", [1, 2, 3])]), ("Percentiles", [("linear", [1, 2])])]
    assert "first token" not in bodies[0] and "linear" not in bodies[0] and 'id="x-statistical-method"' in bodies[0]
    assert "<dd>as printed</dd>" in bodies[2] and "B. Input files" in bodies[2]
    # a single report keeps its appendix as it is
    assert shared_definitions([body("linear")]) == ([body("linear")], [])
