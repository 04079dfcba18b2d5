"""The one-pager's glossary line: every abbreviation the page prints, spelled out in a few words.

A level-1 reader (a hiring manager) meets "TTFT p99", "W8A8" or a "†" in a headline card; the
one-pager has no appendix to look them up in. The template leaves :data:`PLACEHOLDER` where the
line goes; :func:`fill_page_glossary` replaces it, after rendering, with the terms found in the
page's own text (the charts' labels included), in the order of :data:`SHORT`. Deterministic.
"""

from __future__ import annotations

import html as html_lib
import re

from markupsafe import escape

#: Where the template wants the line (an HTML comment: invisible if a template omits the filling).
PLACEHOLDER = "<!--casegen:page-glossary-->"

#: term → (pattern found in the page's text, a few words). Percentiles are one entry.
SHORT: dict[str, tuple[str, str]] = {
    "TTFT": (r"\bTTFT\b", "time to first token"),
    "TPOT": (r"\bTPOT\b", "time per output token"),
    "E2E": (r"\bE2E\b", "end-to-end time"),
    "p50/p99": (r"\bp\d{2}(?:\.\d)?\b", "the median / the 99th-percentile request (99 of 100 are faster)"),
    "SLO": (r"\bSLOs?\b", "the latency objective to meet"),
    "req/s": (r"\breq/s\b", "requests per second"),
    "FP8/BF16": (r"\b(?:FP8|BF16|FP16)\b", "8- and 16-bit number formats of the weights"),
    "W8A8": (r"\bW8A8\b", "8-bit weights and activations"),
    "W4A16": (r"\bW4A16\b", "4-bit weights, 16-bit activations"),
    "KV cache": (r"\bKV[- ]cache\b", "the server's memory of tokens already read"),
    "n.s.": (r"\bn\.s\.", "no significant change"),
    "†": (r"†", "no interval: too few independent requests"),
    "≥ / ≤": (r"[≥≤]\s?[\d$−-]", "a bound (at least / at most)"),
}


def _visible_text(page_html: str) -> str:
    text = re.sub(r"<(style|script|title|desc)\b.*?</\1>", " ", page_html, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    return html_lib.unescape(text)


def page_glossary(page_html: str) -> list[tuple[str, str]]:
    """(term, meaning) for every term of :data:`SHORT` the page's visible text uses."""
    text = _visible_text(page_html)
    return [(term, meaning) for term, (pattern, meaning) in SHORT.items() if re.search(pattern, text)]


def fill_page_glossary(page_html: str) -> str:
    """``page_html`` with :data:`PLACEHOLDER` replaced by its glossary line (or removed)."""
    if PLACEHOLDER not in page_html:
        return page_html
    terms = page_glossary(page_html.replace(PLACEHOLDER, ""))
    line = ""
    if terms:
        line = ('<p class="glossary page-glossary"><strong>Terms.</strong> '
                + " · ".join(f"<strong>{escape(t)}</strong> {escape(m)}" for t, m in terms) + ".</p>")
    return page_html.replace(PLACEHOLDER, line)
