"""Tables wider than the printed page, split into parts that fit, with repeated row labels.

WeasyPrint cannot break a table between its columns: a table whose columns' narrowest widths add
up to more than the page runs past the margin and is cut at the paper's edge. After a first
layout, :func:`wide_tables` finds every such table (its box ends past the page's content area)
with the widths its columns were given; :func:`split_wide_tables` rewrites each one in the HTML
as several tables: every part keeps the first column (the row labels) and the header, takes as
many further columns as fit, and the parts after the first say "(continued)". Row groups, row
spans in the label column and notes rows spanning the whole width (``colspan``) are kept: a
spanning cell goes to the part holding the columns it starts in, narrowed to that part.

Used by :func:`casegen.render.html.render_pdf`; the tables of casegen's own templates wrap and fit,
so this is the guard for a table they, or a user's templates, make wider than the page.
"""

from __future__ import annotations

import copy
import io
import re
import xml.etree.ElementTree as ET
from typing import Any

#: Room left between a part and the page's edge (CSS px): cell borders and rounding.
SLACK_PX = 4.0


def _tables_in_order(root: Any) -> dict[int, int]:
    """id(element) → its index among the document's <table> elements, in document order."""
    return {id(el): i for i, el in enumerate(e for e in root.iter() if e.tag == "table")}


def wide_tables(rendered: Any, root: Any) -> dict[int, tuple[list[float], float]]:
    """Tables of a WeasyPrint ``rendered`` document (laid out from the tree ``root``) whose box runs
    past its page's content area: index in document order → (the widths its columns were given,
    the content width available), both in CSS px."""
    order = _tables_in_order(root)
    found: dict[int, tuple[list[float], float]] = {}
    for page in rendered.pages:
        page_box = page._page_box
        right = page_box.content_box_x() + page_box.width
        for box in page_box.descendants():
            if type(box).__name__ != "TableBox" or id(getattr(box, "element", None)) not in order:
                continue
            if box.position_x + box.margin_width() > right + 1.0:
                index = order[id(box.element)]
                if index not in found:
                    found[index] = (list(box.column_widths), float(page_box.width))
    return found


def _table_spans(html: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every <table>…</table> in ``html``, in document order (nested ones too)."""
    spans: list[list[int]] = []
    stack: list[int] = []
    for m in re.finditer(r"<table\b|</table\s*>", html, re.I):
        if m.group(0).lower().startswith("<table"):
            spans.append([m.start(), -1])
            stack.append(len(spans) - 1)
        elif stack:
            spans[stack.pop()][1] = m.end()
    return [(a, b) for a, b in spans if b > 0]


def _rows(table: Any) -> list[Any]:
    rows = []
    for child in table:
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(r for r in child if r.tag == "tr")
    return rows


def _grid(table: Any) -> dict[int, tuple[int, int]]:
    """id(cell) → (first column, number of columns) with row spans taken into account."""
    taken: dict[tuple[int, int], bool] = {}
    where: dict[int, tuple[int, int]] = {}
    for r, row in enumerate(_rows(table)):
        col = 0
        for cell in (c for c in row if c.tag in ("td", "th")):
            while taken.get((r, col)):
                col += 1
            span = max(1, int(cell.get("colspan", "1") or 1))
            down = max(1, int(cell.get("rowspan", "1") or 1))
            for dr in range(down):
                for dc in range(span):
                    taken[(r + dr, col + dc)] = True
            where[id(cell)] = (col, span)
            col += span
    return where


def _parts(widths: list[float], available: float) -> list[list[int]]:
    """Column indices of each part: column 0 in every part, the others in order while they fit."""
    parts: list[list[int]] = []
    current, used = [0], widths[0]
    for c in range(1, len(widths)):
        if len(current) > 1 and used + widths[c] > available - SLACK_PX:
            parts.append(current)
            current, used = [0], widths[0]
        current.append(c)
        used += widths[c]
    parts.append(current)
    return parts


def _part(table: Any, columns: list[int], continued: bool) -> Any:
    part = copy.deepcopy(table)
    where = _grid(table)
    # the copy's cells in the same order as the original's
    originals = [c for row in _rows(table) for c in row if c.tag in ("td", "th")]
    copies = [c for row in _rows(part) for c in row if c.tag in ("td", "th")]
    keep = set(columns)
    for row in _rows(part):
        for cell in list(row):
            if cell.tag not in ("td", "th"):
                continue
            first, span = where[id(originals[copies.index(cell)])]
            inside = [c for c in range(first, first + span) if c in keep]
            # a note spanning the row from the label column on is said once, in the first part
            if first not in keep or not inside or (continued and first == 0 and span > 1):
                row.remove(cell)
            elif span > 1:
                cell.set("colspan", str(len(inside)))
        if not any(c.tag in ("td", "th") for c in row):
            for parent in part.iter():
                if row in list(parent):
                    parent.remove(row)
                    break
    for child in list(part):
        if child.tag in ("colgroup", "col", "caption"):
            part.remove(child)  # the original's column widths belong to all its columns
    classes = [c for c in (part.get("class") or "").split() if c != "fixed"] + ["split-part"]
    part.set("class", " ".join(classes))
    if continued:
        caption = ET.Element("caption", {"class": "continued"})
        caption.text = "(continued)"
        part.insert(0, caption)
    return part


def _split_one(table_html: str, widths: list[float], available: float) -> str | None:
    import tinyhtml5

    root = tinyhtml5.parse(io.StringIO(table_html), namespace_html_elements=False)
    table = next((e for e in root.iter() if e.tag == "table"), None)
    if table is None or len(widths) < 3:
        return None
    parts = _parts(widths, available)
    if len(parts) < 2:
        return None
    out = []
    for k, columns in enumerate(parts):
        out.append(ET.tostring(_part(table, columns, continued=k > 0), encoding="unicode", method="html"))
    return "\n".join(out)


def split_wide_tables(html: str, wide: dict[int, tuple[list[float], float]]) -> str:
    """``html`` with each table of ``wide`` (from :func:`wide_tables`) split into parts that fit."""
    spans = _table_spans(html)
    for index in sorted(wide, reverse=True):  # from the end: earlier offsets stay valid
        if index >= len(spans):
            continue
        start, end = spans[index]
        widths, available = wide[index]
        replaced = _split_one(html[start:end], widths, available)
        if replaced is not None:
            html = html[:start] + replaced + html[end:]
    return html
