"""Parsing JSON and JSON Lines input files with casegen's clear errors.

Every importer reads its files through these functions, so a malformed file always gets the
same kind of message: which file, which line (and column), what went wrong, whether the file
looks truncated, and what the format expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from casegen.errors import CasegenError, require


def _looks_truncated(doc: str, err: json.JSONDecodeError) -> bool:
    """The parser ran off the end of the text: the file was probably cut short."""
    return err.pos >= len(doc.rstrip())


def _loads(text: str, path: str | Path, expected: str, where: str | None = None) -> Any:
    """``json.loads`` that turns the non-syntax failures (nesting too deep for the parser, an integer
    over Python's 4,300-digit limit) into CasegenError; JSONDecodeError passes through."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise CasegenError("JSON is nested too deeply to read", file=path, where=where, expected=expected) from None
    except ValueError as err:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise CasegenError(f"JSON holds a value casegen cannot read ({str(err)[:120]})", file=path, where=where,
                           expected=expected) from None


class _BigInt(str):
    """An integer literal longer than a bounded parse allows (reported with its key after parsing)."""


def _key_text(keys: list[Any]) -> str:
    return "key " + ".".join(str(k) for k in keys) if keys else "top level"


def parse_json_bounded(text: str, path: str | Path, expected: str, *, max_depth: int = 64,
                       max_int_digits: int = 30) -> Any:
    """:func:`parse_json` for small structured files (lm-eval results): nesting deeper than
    ``max_depth`` and integers longer than ``max_int_digits`` are CasegenErrors naming the key."""
    def bounded_int(literal: str) -> Any:
        digits = len(literal.lstrip("-"))
        return _BigInt(literal) if digits > max_int_digits else int(literal)

    try:
        value = json.loads(text, parse_int=bounded_int)
    except json.JSONDecodeError as err:
        hint = "; the file may be truncated" if _looks_truncated(text, err) else ""
        raise CasegenError(f"not valid JSON ({err.msg}){hint}", file=path,
                           where=f"line {err.lineno}, column {err.colno}", expected=expected) from None
    except RecursionError:
        raise CasegenError("JSON is nested too deeply to read", file=path,
                           expected=f"{expected}, nested at most {max_depth} levels") from None
    except ValueError as err:
        raise CasegenError(f"JSON holds a value casegen cannot read ({str(err)[:120]})", file=path,
                           expected=expected) from None
    stack: list[tuple[Any, list[Any]]] = [(value, [])]
    while stack:  # iterative: a check must not recurse as deep as the document
        node, keys = stack.pop()
        if len(keys) > max_depth:
            raise CasegenError(f"JSON is nested more than {max_depth} levels deep", file=path,
                               where=_key_text(keys[:8]) + " …", expected=expected)
        if isinstance(node, _BigInt):
            raise CasegenError(f"holds an integer of {len(node.lstrip('-')):,} digits", file=path,
                               where=_key_text(keys), expected=f"numbers of at most {max_int_digits} digits")
        if isinstance(node, dict):
            stack += [(v, keys + [k]) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(v, keys + [i]) for i, v in enumerate(node)]
    return value


def parse_json(text: str, path: str | Path, expected: str) -> Any:
    """The whole text as one JSON document; CasegenError naming line and column otherwise."""
    try:
        return _loads(text, path, expected)
    except json.JSONDecodeError as err:
        hint = "; the file may be truncated" if _looks_truncated(text, err) else ""
        raise CasegenError(f"not valid JSON ({err.msg}){hint}", file=path,
                           where=f"line {err.lineno}, column {err.colno}", expected=expected) from None


def parse_json_lines(text: str, path: str | Path, expected: str, *, whole_file_ok: bool = False) -> list[tuple[int, Any]]:
    """(line number, value) for every non-blank line of a JSON Lines text.

    ``whole_file_ok``: a text whose first line is not JSON on its own may still be one
    (pretty-printed) JSON document, returned as line 1.
    """
    objs: list[tuple[int, Any]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            objs.append((lineno, _loads(line, path, expected, where=f"line {lineno}")))
        except json.JSONDecodeError as err:
            if whole_file_ok and not objs:
                try:
                    return [(1, _loads(text, path, expected))]
                except json.JSONDecodeError:
                    pass
            hint = "; the file may be truncated" if _looks_truncated(line, err) else ""
            raise CasegenError(f"line is not valid JSON ({err.msg} at column {err.colno}){hint}", file=path,
                               where=f"line {lineno}", expected=expected) from None
    return objs


def kind_of(value: Any) -> str:
    """A short description of a parsed JSON value for error messages ("a list", "str 'abc'")."""
    if value is None:
        return "missing or null"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (dict, list)):
        return "a list" if isinstance(value, list) else "an object"
    return f"{type(value).__name__} {value!r}"[:80]


def first_line(text: str) -> str:
    """The first non-blank line of ``text`` (as ``str.splitlines`` splits), without splitting the rest."""
    pos, n = 0, len(text)
    while pos < n:
        end = text.find("\n", pos)
        end = n if end < 0 else end + 1
        for line in text[pos:end].splitlines():
            if line.strip():
                return line
        pos = end
    return ""


def first_line_json(text: str) -> Any:
    """The first non-blank line parsed as JSON, or None (cheap, for format sniffing)."""
    line = first_line(text)
    if not line:
        return None
    try:
        return json.loads(line)
    except (ValueError, RecursionError):  # not JSON, or JSON no reader can take: not sniffed
        return None


_LEADING_SPACE = re.compile(r"\s*")


#: Inside :func:`one_parse_per_file`: the last whole document :func:`first_json` parsed, as
#: ``[text, value]`` (empty before the first), for the reader of the same file to take.
_SNIFFED: ContextVar[list[Any] | None] = ContextVar("casegen_sniffed_json", default=None)


@contextmanager
def one_parse_per_file() -> Iterator[None]:
    """Inside the block, a whole JSON document :func:`first_json` parsed while telling which tool
    wrote a file is handed to that file's reader (:func:`take_sniffed`) instead of being parsed
    again: a vLLM result (the example's two files) was parsed twice, ~0.01 s of CPU each. Held
    only until taken or until the block ends, so no parsed file outlives its reading."""
    token = _SNIFFED.set([])
    try:
        yield
    finally:
        _SNIFFED.reset(token)


def take_sniffed(text: str) -> tuple[bool, Any]:
    """``(True, value)`` when :func:`first_json` parsed this very text (the same object) as a
    whole document inside :func:`one_parse_per_file`, and forgets it; else ``(False, None)``."""
    slot = _SNIFFED.get()
    if slot and slot[0] is text:
        value = slot[1]
        slot.clear()
        return True, value
    return False, None


def first_json(text: str) -> Any:
    """The whole text as JSON, else its first non-blank line as JSON, else None."""
    start = require(_LEADING_SPACE.match(text), r"a match of \s*, which matches every text").end()
    if text[start:start + 1] in ("{", "["):  # other documents are scalars: the first line is the same value
        try:
            value = json.loads(text.strip())
        except (ValueError, RecursionError):
            pass
        else:
            slot = _SNIFFED.get()
            if slot is not None:
                slot[:] = [text, value]
            return value
    return first_line_json(text)
