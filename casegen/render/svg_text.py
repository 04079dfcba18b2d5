"""The charts' text in the PDF laid out a line at a time instead of a letter at a time.

WeasyPrint draws an SVG ``<text>`` one letter after the other: for every letter it lays the letter
out alone (a Pango layout each) and writes it as its own text object, so that it can honour
per-letter ``x``/``y``/``dx``/``dy``/``rotate`` lists, ``letter-spacing`` and ``textLength``. The
report's charts (matplotlib, ``svg.fonttype: none``) use none of those: each ``<text>`` is one line
at one position. For such a text :func:`install` makes WeasyPrint lay out and draw the whole line
at once — what it does for a line of the page's own text — which spares most of the charts' text
drawing (≈ 0.055 of 0.077 s of CPU for the example's six charts, 123 texts of 854 letters). Every
other ``<text>`` (and every ``<tspan>``) goes to WeasyPrint's own function.

What changes on the page: the letters of a line are placed with the font's kerning, as matplotlib
measured them when it placed the label (letter by letter they were set without it, a label a
fraction of a point off its anchor), and the PDF holds one text object per line.

:func:`install` replaces WeasyPrint's SVG text function only where that function and the helpers
this one calls are the ones it was written against (:data:`_NEEDS`); otherwise WeasyPrint draws
as it always did. tests/test_svg_text.py checks that it is installed with the pinned release and
that the charts' words reach the PDF.

:func:`install` also keeps the answers of WeasyPrint's SVG ``normalize`` (a value string in its
canonical spelling: three regular-expression substitutions, a pure function of the string), which
WeasyPrint asks for every length, point list and text position it reads: the example's charts ask
about 2,000 times for 150 distinct strings (≈ 0.01 s of CPU).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from math import inf
from types import ModuleType
from typing import Any

#: The WeasyPrint names the line-at-a-time drawing uses, (module, attribute).
_NEEDS = (("weasyprint.svg", "TAGS"), ("weasyprint.svg", "text"), ("weasyprint.svg.text", "text"),
          ("weasyprint.svg.text", "TextBox"), ("weasyprint.svg.text", "Style"),
          ("weasyprint.svg.bounding_box", "extend_bounding_box"), ("weasyprint.svg.utils", "normalize"),
          ("weasyprint.svg.utils", "size"), ("weasyprint.css.properties", "INITIAL_VALUES"),
          ("weasyprint.draw.text", "draw_first_line"), ("weasyprint.draw.text", "draw_emojis"),
          ("weasyprint.text.line_break", "split_first_line"), ("weasyprint.matrix", "Matrix"))
#: Attributes that make a text WeasyPrint's own (per-letter positions, spacing, fitted length).
_PER_LETTER = ("dx", "dy", "rotate", "letter-spacing", "textLength", "lengthAdjust")
#: Parameters of WeasyPrint's functions this module calls, as it calls them.
_SIGNATURES = {"split_first_line": ["text", "style", "context", "max_width", "justification_spacing"],
               "draw_first_line": ["stream", "textbox", "text_overflow", "block_ellipsis", "matrix"],
               "draw_emojis": ["stream", "style", "x", "y", "emojis"]}


def _names() -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    for module_name, attr in _NEEDS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
        if not hasattr(module, attr):
            return None
        found[f"{module_name}:{attr}"] = getattr(module, attr)
    for name, params in _SIGNATURES.items():
        fn = next(v for k, v in found.items() if k.endswith(":" + name))
        if list(inspect.signature(fn).parameters)[:len(params)] != params:
            return None
    return found


def _memoized_normalize() -> None:
    """WeasyPrint's SVG modules call a ``normalize`` that keeps its answers (see the module docstring)."""
    utils = importlib.import_module("weasyprint.svg.utils")
    original = getattr(utils, "normalize", None)
    if not callable(original) or getattr(original, "casegen_memoized", False):
        return
    kept = functools.lru_cache(maxsize=4096)(original)

    def normalize(string: Any) -> Any:
        try:
            return kept(string)
        except TypeError:  # not hashable (WeasyPrint passes strings or None)
            return original(string)

    normalize.casegen_memoized = True  # type: ignore[attr-defined]
    normalize.casegen_original = original  # type: ignore[attr-defined]
    for name, module in list(sys.modules.items()):
        if name.split(".")[:2] == ["weasyprint", "svg"] and getattr(module, "normalize", None) is original:
            module.normalize = normalize  # type: ignore[attr-defined]


def install(weasyprint: ModuleType) -> bool:
    """Make WeasyPrint draw each one-position SVG ``<text>`` a line at a time and keep its SVG
    ``normalize``'s answers (see the module docstring). Returns whether the line-at-a-time drawing
    is installed (again: nothing more to do)."""
    svg = importlib.import_module("weasyprint.svg")
    _memoized_normalize()
    if getattr(svg.text, "casegen_line_at_a_time", False):
        return True
    names = _names()
    if names is None or svg.TAGS.get("text") is not names["weasyprint.svg.text:text"]:
        return False
    original = names["weasyprint.svg.text:text"]
    text_box, style_class = names["weasyprint.svg.text:TextBox"], names["weasyprint.svg.text:Style"]
    extend_bounding_box = names["weasyprint.svg.bounding_box:extend_bounding_box"]
    size, normalize = names["weasyprint.svg.utils:size"], names["weasyprint.svg.utils:normalize"]
    initial_values = names["weasyprint.css.properties:INITIAL_VALUES"]
    draw_first_line = names["weasyprint.draw.text:draw_first_line"]
    draw_emojis = names["weasyprint.draw.text:draw_emojis"]
    split_first_line = names["weasyprint.text.line_break:split_first_line"]
    matrix_class = names["weasyprint.matrix:Matrix"]

    def one_position(value: str | None) -> bool:
        return value is None or len(normalize(value).split()) == 1

    def text(svg_doc: Any, node: Any, font_size: float) -> None:
        content = node.text
        attrib = node.attrib
        if (node.tag != "text" or not content or "\n" in content or any(a in attrib for a in _PER_LETTER)
                or not one_position(attrib.get("x")) or not one_position(attrib.get("y"))
                or node.get("display-anchor") is not None
                or node.get("dominant-baseline", node.get("alignment-baseline")) is not None
                or any(True for _child in node)):  # a <tspan> inside: WeasyPrint's own way
            return original(svg_doc, node, font_size)
        # the style WeasyPrint's own function makes for a text
        style = style_class()
        style.update(initial_values)
        style.font_config = svg_doc.font_config
        style["font_family"] = [font.strip("\"'") for font in node.get("font-family", "sans-serif").split(",")]
        style["font_style"] = node.get("font-style", "normal")
        style["font_weight"] = node.get("font-weight", 400)
        style["font_size"] = font_size
        if node.get("direction") in ("ltr", "rtl"):
            style["direction"] = node.get("direction")
        if style["font_weight"] == "normal":
            style["font_weight"] = 400
        elif style["font_weight"] == "bold":
            style["font_weight"] = 700
        else:
            try:
                style["font_weight"] = int(style["font_weight"])
            except ValueError:
                style["font_weight"] = 400
        x = size(normalize(attrib["x"]).strip(), font_size, svg_doc.inner_width) if "x" in attrib else None
        y = size(normalize(attrib["y"]).strip(), font_size, svg_doc.inner_height) if "y" in attrib else None
        layout, _, _, width, height, baseline = split_first_line(content, style, svg_doc.context, inf, 0)
        # positions as WeasyPrint's function sets them for the first letter, then the whole line's advance
        if x:
            svg_doc.cursor_d_position[0] = 0
        if y:
            svg_doc.cursor_d_position[1] = 0
        x = svg_doc.cursor_position[0] if x is None else x
        y = svg_doc.cursor_position[1] if y is None else y
        svg_doc.cursor_position = x + width, y
        x_position = x + svg_doc.cursor_d_position[0]
        y_position = y + svg_doc.cursor_d_position[1]
        node.text_bounding_box = extend_bounding_box(
            node.text_bounding_box, ((x_position, y_position - baseline), (x_position + width, y_position - baseline + height)))
        svg_doc.stream.push_state()
        fill, stroke = svg_doc.set_graphical_state(node, font_size)
        svg_doc.stream.begin_text()
        layout.reactivate(style)
        svg_doc.fill_stroke(fill, stroke, text=True)
        box = text_box(layout, style)
        box.baseline = baseline
        emojis = draw_first_line(svg_doc.stream, box, "none", "none", matrix_class(a=1, d=-1, e=x_position, f=y_position))
        svg_doc.stream.end_text()
        svg_doc.stream.pop_state()
        draw_emojis(svg_doc.stream, style, x, y, emojis)

    text.casegen_line_at_a_time = True  # type: ignore[attr-defined]
    for tag, fn in list(svg.TAGS.items()):
        if fn is original:
            svg.TAGS[tag] = text
    svg.text = text  # type: ignore[attr-defined]  # WeasyPrint asks `TAGS.get(tag) == text` to know a text node
    return True
