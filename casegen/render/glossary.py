"""Every term page 1 may print, spelled out once: the one glossary of the report and the one-pager.

A level-1 reader (a hiring manager) meets "TTFT p90", "W8A8", "95% CI" or a "†" in a headline
card. :data:`TERMS` holds each term with the pattern that finds it in text and two spellings: a few
words (the one-pager's "Terms." line) and a sentence (page 1 of the full report, and the HTML
tooltips). Percentiles are named as the page prints them ("p50 / p90"), not as a fixed "p50/p99".

* :func:`terms_in` — (term, meaning) for every term a text uses, in the order of :data:`TERMS`;
  page 1 of the full report calls it on page 1's own text (cards, so-what line, chart labels,
  "In short"), so the line and the page cannot disagree.
* :func:`fill_page_glossary` — the one-pager: the template leaves :data:`PLACEHOLDER` where the line
  goes; it is replaced, after rendering, with the terms found in the page's visible text.

Deterministic.
"""

from __future__ import annotations

import html as html_lib
import re

from markupsafe import escape

#: Where the template wants the line (an HTML comment: invisible if a template omits the filling).
PLACEHOLDER = "<!--casegen:page-glossary-->"

_PERCENTILE = re.compile(r"\bp(\d{2}(?:\.\d)?)\b")

#: term → (pattern found in the text, a few words, a sentence). The percentile entry ("pNN") is
#: written out per page by :func:`_percentiles`.
TERMS: dict[str, tuple[str, str, str]] = {
    "TTFT": (r"\bTTFT\b", "time to first token",
             "time to first token: from sending a request to its first streamed token (queueing + prefill)"),
    "TPOT": (r"\bTPOT\b", "time per output token",
             "time per output token: the gap between tokens after the first, per request (decode speed a user sees)"),
    "ITL": (r"\bITL\b", "inter-token latency", "inter-token latency: the gap between streamed chunks"),
    "E2E": (r"\bE2E\b", "end-to-end time", "end-to-end latency: from sending a request to its last token"),
    "pNN": (_PERCENTILE.pattern, "", ""),
    "SLO": (r"\bSLOs?\b", "latency objective",
            "service-level objective: the latency limit the deployment must meet"),
    "capacity at SLO": (r"\bcapacity at SLO\b", "the most req/s that meet every objective",
                        "the highest throughput at which every objective still holds"),
    "goodput": (r"\b[Gg]oodput\b", "requests per second that meet every objective",
                "the requests per second that meet every objective"),
    "knee": (r"\bknee\b", "the load where latency starts to climb",
             "the load at which latency starts to climb steeply"),
    "req/s": (r"\breq/s\b", "requests per second", "requests per second"),
    "tok/s": (r"\btok/s\b", "tokens per second", "tokens per second"),
    "CI": (r"\bCI\b", "confidence interval", "confidence interval: the range the true change lies in, with the "
           "stated confidence (95% CI: 95 times in 100)"),
    "FP8/BF16": (r"\b(?:FP8|BF16|FP16)\b", "8- and 16-bit weight formats",
                 "8- and 16-bit number formats of the model's weights"),
    "W8A8": (r"\bW8A8\b", "8-bit weights and activations", "8-bit weights and 8-bit activations"),
    "W4A16": (r"\bW4A16\b", "4-bit weights, 16-bit activations", "4-bit weights and 16-bit activations"),
    "KV cache": (r"\bKV[- ]cache\b", "the server's memory of tokens read",
                 "the server's memory of the tokens it has already read"),
    "n.s.": (r"\bn\.s\.", "no significant change", "no significant change: the interval includes zero"),
    "exploratory": (r"\bexploratory\b", "not among the statistics tested together; may be chance",
                    "a change outside the statistics tested together: it may be chance"),
    "†": (r"†", "no interval (the reason is beside it)",
          "a point value without an interval; the reason is given beside the figure"),
    # a bound, not an objective's limit ("TTFT p99 ≤ 70 ms" is the objective, spelled out by "SLO")
    "≥ / ≤": (r"(?<!p\d\d\s)[≥≤]\s?[\d$−-]", "a bound (at least / at most)", "a bound: at least / at most this value"),
}


def _percentiles(text: str) -> tuple[str, str, str] | None:
    """The percentile entry for the percentiles ``text`` prints: ('p50 / p90', few words, sentence)."""
    found = sorted({m.group(1) for m in _PERCENTILE.finditer(text)}, key=float)
    if not found:
        return None
    term = " / ".join(f"p{p}" for p in found)
    others = [p for p in found if p != "50"]
    several = len(found) > 1
    parts = [("the median request" + (" (p50)" if several else ""))] if "50" in found else []
    if others:
        parts.append(f"{' or '.join(others)} of 100 requests are at least this fast"
                     + (f" ({', '.join('p' + p for p in others)})" if several else ""))
    text = "; ".join(parts)
    return term, text, text


def terms_in(text: str, long: bool = True) -> list[tuple[str, str]]:
    """(term, meaning) for every term of :data:`TERMS` that ``text`` uses, in that order; ``long``
    picks the sentence, else the few words."""
    out: list[tuple[str, str]] = []
    for term, (pattern, short, sentence) in TERMS.items():
        if term == "pNN":
            p = _percentiles(text)
            if p is not None:
                out.append((p[0], p[2] if long else p[1]))
        elif re.search(pattern, text):
            out.append((term, sentence if long else short))
    return out


def meaning(term: str) -> str:
    """The sentence for one term of :data:`TERMS` (the HTML tooltips)."""
    return TERMS[term][2]


def visible_text(page_html: str) -> str:
    """The text a reader sees in ``page_html`` (charts' labels included; tooltips, titles and
    descriptions not)."""
    text = re.sub(r"<(style|script|title|desc)\b.*?</\1>", " ", page_html, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    return html_lib.unescape(text)


def page_glossary(page_html: str) -> list[tuple[str, str]]:
    """(term, few words) for every term of :data:`TERMS` the page's visible text uses."""
    return terms_in(visible_text(page_html), long=False)


NBSP = "\u00a0"


def fill_page_glossary(page_html: str) -> str:
    """``page_html`` with :data:`PLACEHOLDER` replaced by its glossary line (or removed)."""
    if PLACEHOLDER not in page_html:
        return page_html
    terms = page_glossary(page_html.replace(PLACEHOLDER, ""))
    line = ""
    if terms:
        line = ('<p class="glossary page-glossary"><strong>Terms.</strong> '
                # a term never parts from its meaning's first word ("≥ / ≤" alone at a line's end)
                + " · ".join(f"<strong>{escape(t).replace(' ', NBSP)}</strong>{NBSP}{escape(m)}" for t, m in terms)
                + ".</p>")
    return page_html.replace(PLACEHOLDER, line)
