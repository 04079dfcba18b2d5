"""Markdown output safety: every value a Markdown template prints is escaped unless marked safe.

``md_escape(value)`` makes any user string inert in CommonMark/GFM *and* in the inline HTML a
Markdown renderer may allow: ``& < >`` become entities (no tag, no autolink, no entity trick),
Markdown punctuation that can start markup is backslash-escaped (``\\ ` * _ [ ] | ! ~``), a line
start that would open a block (``#``, ``>``, ``-``, ``+``, ``1.``) is escaped, and newlines become
spaces (so a value cannot break out of a table cell or start a block).

``MdSafe`` marks text casegen built itself (a rendered table, sanitized HTML of the notes);
the Markdown environment's ``finalize`` escapes everything else.
"""

from __future__ import annotations

import re
from typing import Any

_PUNCT = re.compile(r"([\\`*_\[\]|!~])")
_BLOCK_START = re.compile(r"^(\s*)([#+=-]|\d+)([.)]?)(?=\s|$)")


class MdSafe(str):
    """Text already safe for Markdown output (built by casegen, not taken from a user)."""


def md_escape(value: Any) -> str:
    if isinstance(value, MdSafe):
        return value
    if value is None:
        return ""
    s = str(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _PUNCT.sub(r"\\\1", s)
    return _BLOCK_START.sub(_escape_block_start, s)


def _escape_block_start(m: re.Match) -> str:
    lead, mark, dot = m.group(1), m.group(2), m.group(3)
    if mark[0].isdigit():  # "1. " / "1) " opens a list: escape the delimiter (a digit cannot be escaped)
        return lead + mark + ("\\" + dot if dot else "")
    return lead + "\\" + mark + dot


def md_code(value: Any) -> MdSafe:
    """Inline code for a user string (file names, hashes): escaped text in a code-like span.

    Backticks cannot be escaped inside a code span, so this is an escaped plain span instead."""
    return MdSafe(md_escape(value))


def md_fence(value: Any) -> MdSafe:
    """A fenced code block for a user string kept verbatim (a benchmark command): the fence is one
    backtick longer than any backtick run in the text, so the text cannot close it; CommonMark shows
    a code block's content literally (no HTML, no links)."""
    text = "" if value is None else str(value).replace("\r\n", "\n").replace("\r", "\n")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return MdSafe(f"{fence}\n{text}\n{fence}")


def md_finalize(value: Any) -> Any:
    """Jinja ``finalize`` for Markdown templates: escape every printed value unless MdSafe."""
    if isinstance(value, MdSafe):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return md_escape(value)
