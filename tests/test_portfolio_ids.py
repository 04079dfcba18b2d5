"""The portfolio book holds every case's report in one HTML document: ids must stay unique there,
and each in-document link must land in its own chapter (not the first case's ``#command-1``)."""

from __future__ import annotations

import re

from casegen.app.build import build
from casegen.app.portfolio import CaseOutcome, _context
from casegen.render.html import _env


def _book_html(report_html: str, slugs: list[str]) -> str:
    body = re.search(r'<main class="report[^"]*">(.*)</main>', report_html, re.S).group(1)
    card = {"title": "T", "date": "2025-01-01", "author": "A", "model": "m", "hardware": "h", "headline": [],
            "date_text": "January 1, 2025", "summary": "", "tags": [], "html": "", "pdf": None, "threats": 0}
    outcomes = [CaseOutcome(s, s, True, None, dict(card), body) for s in slugs]
    return _env().get_template("portfolio/book.html.j2").render(**_context(outcomes, "P", None, []))


def test_book_ids_are_unique_and_links_stay_in_their_chapter(example_case, tmp_path):
    build(example_case, tmp_path / "out", formats=("html",))
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'href="#command-1"' in report and 'id="command-1"' in report  # what the book must keep apart
    book = _book_html(report, ["alpha", "beta"])
    ids = re.findall(r'\bid="([^"]+)"', book)
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, dupes
    assert 'id="alpha--command-1"' in book and 'id="beta--command-1"' in book
    for slug in ("alpha", "beta"):
        chapter = book.split(f'id="case-{slug}"', 1)[1].split("<main", 1)[0]
        refs = re.findall(r'href="#([^"]+)"', chapter)
        # (the one link out: to the definitions every report shares, printed once at the book's end)
        assert refs and all(r.startswith(f"{slug}--") or r == "book-definitions" for r in refs), refs
        assert all(f'id="{r}"' in book for r in refs)
    assert not {r for r in re.findall(r'url\(#([^)]+)\)', book) if f'id="{r}"' not in book}
