"""The Jinja2 environment every casegen template renders in: sandboxed and bounded.

Templates — the bundled ones and a user's ``--templates DIR`` — render in Jinja2's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`: no access to attributes starting
with ``_`` (so ``cycler.__init__.__globals__``, ``self.__init__.__globals__``,
``lipsum.__globals__`` fail), no unsafe ``str.format`` calls, no mutation of the context's
lists and dicts. On top of the sandbox, ``*`` and ``**`` are bounded, so a template cannot
build a gigabyte string or an enormous integer, and ``range`` is capped by Jinja itself.
Any such attempt ends in a :class:`~casegen.errors.CasegenError` naming the template.
"""

from __future__ import annotations

import operator
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from casegen.errors import CasegenError

#: Largest string, list or number of digits a template expression may produce with ``*``/``**``.
MAX_TEMPLATE_PRODUCT = 1_000_000


def _len_or_zero(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


class SafeEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed, immutable Jinja2 environment with bounded ``*`` and ``**``."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "*":
            for seq, times in ((left, right), (right, left)):
                if _len_or_zero(seq) and isinstance(times, int) and _len_or_zero(seq) * times > MAX_TEMPLATE_PRODUCT:
                    raise SecurityError("template tried to build a sequence longer than "
                                        f"{MAX_TEMPLATE_PRODUCT:,} items")
            return operator.mul(left, right)
        if operator_name == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 64:
                raise SecurityError("template tried to raise an integer to a power above 64")
            if isinstance(right, (int, float)) and abs(right) > 1e6:
                raise SecurityError("template tried to raise a number to a power above 1e6")
            try:
                return operator.pow(left, right)
            except OverflowError:
                raise SecurityError("template arithmetic overflowed") from None
        return super().call_binop(context, operator_name, left, right)


def make_environment(loader: jinja2.BaseLoader, **options: Any) -> SafeEnvironment:
    """A :class:`SafeEnvironment` over ``loader`` (options as for :class:`jinja2.Environment`)."""
    return SafeEnvironment(loader=loader, **options)


def security_error(err: Exception, template_dir: str | None) -> CasegenError:
    """The CasegenError for a template the sandbox stopped."""
    return CasegenError(
        f"template tried something unsafe and was stopped: {err}", file=template_dir,
        expected="a template that only formats the variables in docs/templates.md",
        hint="templates render in a sandbox: no attributes starting with '_', no Python internals",
    )
