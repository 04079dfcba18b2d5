"""The printed page's running header fits on one line: the title on the left, the author on the right.

WeasyPrint wraps a margin box's text onto a second line (into the page's top margin) when it is longer
than its box. :func:`fit_line` shortens the text at a word to what the box holds, with an ellipsis,
measured with the font the header prints in (DejaVu Sans, the report's and the charts' family).
"""

from __future__ import annotations

import re
from functools import lru_cache

#: The running header's type size (pt) and the boxes' widths on the narrower of the two paper sizes
#: (A4: 210 mm − 2 × 16 mm margins = 504.6 pt; style.css: @top-left 52 %, @top-right 48 %), less a
#: point for rounding.
HEADER_PT = 8.0
TITLE_WIDTH_PT = 0.52 * 504.6 - 2.0
AUTHOR_WIDTH_PT = 0.48 * 504.6 - 2.0


@lru_cache(maxsize=1)
def _font():  # noqa: ANN202 (matplotlib's FT2Font)
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return FT2Font(font_manager.findfont("DejaVu Sans"))


@lru_cache(maxsize=256)
def text_width_pt(text: str, size_pt: float = HEADER_PT) -> float:
    """The printed width of ``text`` (pt) in DejaVu Sans at ``size_pt``. Kept per text: the header is
    fitted for the page and again for print, each trial ≈ 0.7 ms (hinted glyphs at 100 px)."""
    font = _font()
    font.set_size(100.0, 72)  # measured large and scaled: hinting at 8 px rounds every advance up
    font.set_text(text, 0.0)
    return float(font.get_width_height()[0]) / 64.0 * size_pt / 100.0


def fit_line(text: str, width_pt: float = TITLE_WIDTH_PT, size_pt: float = HEADER_PT) -> str:
    """``text`` as it fits on one line of ``width_pt``: whole when it fits, else cut after a word with
    "…" (a single word longer than the line is cut inside it)."""
    text = " ".join((text or "").split())
    if text_width_pt(text, size_pt) <= width_pt:
        return text
    words = text.split(" ")
    kept = ""
    for word in words:
        trial = f"{kept} {word}" if kept else word
        if text_width_pt(trial.rstrip(",;:·—–-") + "…", size_pt) > width_pt:
            break
        kept = trial
    if not kept:  # one long word: cut inside it
        for i in range(len(text), 0, -1):
            if text_width_pt(text[:i] + "…", size_pt) <= width_pt:
                return text[:i] + "…"
        return "…"
    return kept.rstrip(" ,;:·—–-") + "…"


def running_title(text: str) -> str:
    return fit_line(text, TITLE_WIDTH_PT)


def running_author(text: str) -> str:
    """The author's line ("name, role · link"): the link goes first when the line is too long, then
    the rest is shortened at a word."""
    parts = [p.strip() for p in (text or "").split(" · ")]
    while len(parts) > 1 and text_width_pt(" · ".join(parts)) > AUTHOR_WIDTH_PT:
        parts.pop()
    return fit_line(" · ".join(parts), AUTHOR_WIDTH_PT)


_NAME_NUMBER = re.compile(r"(?<=[A-Za-z]) (?=\d[\d.]*[A-Za-z]*\b)")  # "Llama 3.1", "on 4×"
_NUMBER_SIZE = re.compile(r"(?<=\d) (?=\d+(?:\.\d+)?[A-Za-z]+\b)")  # "3.1 8B"


def title_breaks(text: str) -> str:
    """A title whose model name and size never part at a line end: 'Llama 3.1 8B' stays on one line
    (the review found 'Llama' / '3.1 8B' on page 1); a number keeps the word before it."""
    return _NUMBER_SIZE.sub("\u00a0", _NAME_NUMBER.sub("\u00a0", text))
