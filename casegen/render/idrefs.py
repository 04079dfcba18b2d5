"""Element ids and the in-document references to them, rewritten together.

One mechanism for the two places that need ids unique in a larger document: each chart's SVG in a
report (casegen.render.charts) and each case's report in the portfolio book (casegen.app.portfolio).
"""

from __future__ import annotations

import re

#: an id, a list of ids (aria-labelledby / aria-describedby), or a reference to one (#id, url(#id)).
#: The leading look-ahead on the first letters lets the regex engine skip to candidates (a chart's
#: path data is most of its text): five times faster on the report's charts, the same matches.
_ID_OR_REF = re.compile(r'(?=[iahxu])(?:((?:\bid|aria-labelledby|aria-describedby)=")([^"]+)"'
                        r'|((?:\bhref|xlink:href)="#)([^"]+)"|(url\(#)([^)]+)\))')
_REF = re.compile(r'(?:href="#|url\(#)([^")]+)')


def prefix_ids(markup: str, prefix: str) -> str:
    """``markup`` with every element id and every in-document reference to one (``href="#…"``,
    ``xlink:href``, ``url(#…)``, ``aria-labelledby``/``aria-describedby`` lists) prefixed by
    ``prefix--``, so references still find their targets."""
    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1) + " ".join(f"{prefix}--{i}" for i in m.group(2).split()) + '"'
        if m.group(3):
            return f'{m.group(3)}{prefix}--{m.group(4)}"'
        return f"{m.group(5)}{prefix}--{m.group(6)})"

    return _ID_OR_REF.sub(one, markup)


def referenced_ids(markup: str) -> set[str]:
    """The ids that ``href="#…"`` or ``url(#…)`` refer to in ``markup``."""
    return {m.group(1) for m in _REF.finditer(markup)}
