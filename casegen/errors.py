"""User-facing errors.

Two kinds of failure exist in casegen:

* :class:`CasegenError` (and its subclasses): the *input* is wrong. The CLI prints
  the message without a traceback and exits with status 1.
* Anything else is a bug in casegen: the CLI asks for a report and exits with status 70
  (the traceback is shown with ``casegen --debug``).

Every user error says *which file*, *where* in it (line or key), *what* was wrong
and *what was expected*.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

#: exit statuses of the ``casegen`` command (documented in README.md and docs/cli.md)
EXIT_OK = 0
EXIT_INPUT = 1  # bad input: a CasegenError, printed without a traceback
EXIT_USAGE = 2  # wrong command-line usage (Click's own status)
EXIT_THREATS = 3  # build --strict and the report lists threats to validity
EXIT_REGRESSION = 4  # compare --fail-on-regression and a change is worse
EXIT_INTERNAL = 70  # a bug in casegen (EX_SOFTWARE from sysexits.h)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    where: str  # "line 12" / "key runs.baseline.path" / "request 17"
    what: str  # what is wrong, in plain words
    expected: str | None = None  # what would have been right

    def format(self) -> str:
        text = f"{self.where}: {self.what}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class CasegenError(Exception):
    """An error in the user's input. Printed without a traceback; exit status 1."""

    def __init__(
        self,
        what: str,
        *,
        file: str | Path | None = None,
        where: str | None = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.what = what
        self.file = str(file) if file is not None else None
        self.where = where
        self.expected = expected
        self.hint = hint
        super().__init__(self.format())

    def __str__(self) -> str:  # follows file/where/hint set after construction
        return self.format()

    def format(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file + (f", {self.where}" if self.where else "") + ":")
        elif self.where:
            parts.append(self.where + ":")
        parts.append(self.what)
        text = " ".join(parts)
        if self.expected:
            text += f"\n  expected: {self.expected}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ValidationFailed(CasegenError):
    """Several problems in one file, all reported at once."""

    def __init__(self, file: str | Path, problems: list[Problem]) -> None:
        self.problems = problems
        n = len(problems)
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} found", file=file
        )

    def format(self) -> str:  # a table of where / what / expected
        rows = [(p.where, p.what, p.expected or "") for p in self.problems]
        w1 = max([len("where")] + [len(r[0]) for r in rows])
        w2 = max([len("what")] + [len(r[1]) for r in rows])
        lines = [f"{self.file}: {self.what}", ""]
        lines.append(f"  {'where'.ljust(w1)}  {'what'.ljust(w2)}  expected")
        lines.append(f"  {'-' * w1}  {'-' * w2}  {'-' * 8}")
        for where, what, exp in rows:
            lines.append(f"  {where.ljust(w1)}  {what.ljust(w2)}  {exp}".rstrip())
        return "\n".join(lines)


class InternalError(Exception):
    """A broken invariant inside casegen: a bug, not bad input (exit status 70, like any other bug)."""


_T = TypeVar("_T")


def require(value: _T | None, what: str) -> _T:
    """*value*, which the caller's own logic has already established is present.

    For the places where a ``None`` cannot happen by construction (a key checked a few lines
    earlier, a list only built when its source exists) but the type checker cannot follow: a
    ``None`` here is a bug in casegen and raises :class:`InternalError` naming *what* was missing,
    instead of a ``TypeError`` somewhere downstream.
    """
    if value is None:
        raise InternalError(f"{what} is missing (a bug in casegen: it was established earlier)")
    return value
