"""The Jinja2 environment every casegen template renders in: sandboxed and bounded.

Templates — the bundled ones and a user's ``--templates DIR`` — render in Jinja2's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`: no access to attributes starting
with ``_`` (so ``cycler.__init__.__globals__``, ``self.__init__.__globals__``,
``lipsum.__globals__`` fail), no unsafe ``str.format`` calls, no mutation of the context's
lists and dicts. On top of the sandbox:

* templates load through :class:`ConfinedLoader`: a template file (or a folder on its way) that
  is a symbolic link leading out of its template folder is refused, trusted or not; template
  files are read as regular files of at most :data:`MAX_TEMPLATE_BYTES`;
* growth is capped: ``*``, ``+`` and ``**`` on strings, lists and integers, ``%``/``format``
  widths and precisions, ``str.format`` field widths, ``center``/``ljust``/``rjust``/``zfill``/
  ``expandtabs``, ``join``, ``replace`` and ``indent`` — each refused when its
  result would pass :data:`MAX_TEMPLATE_PRODUCT` characters or items (``range`` is capped by Jinja);
* a user's templates render in a child process (:func:`render_bounded`) with a CPU-time limit,
  an address-space limit and a cap on the size of the rendered text, which catch whatever the caps
  above do not foresee (nested loops, recursive macros, ``~`` concatenation in a loop).

Any such attempt ends in a :class:`~casegen.errors.CasegenError` naming the template folder.
"""

from __future__ import annotations

import gc
import operator
import os
import pickle
import re
import resource
import select
import signal
import string
import time
from functools import update_wrapper
from pathlib import Path
from typing import Any, Callable

import jinja2
from jinja2 import filters as jinja_filters
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter, SecurityError
from markupsafe import Markup

from casegen.errors import CasegenError
from casegen.safe_io import is_within, read_text_capped

#: Largest string or list (characters, items) a template expression may produce; digits of an integer.
MAX_TEMPLATE_PRODUCT = 1_000_000
#: Largest width or precision in a format specification ('%10d', '{:>10}', center(10)).
MAX_FORMAT_WIDTH = 10_000
#: Largest template file casegen reads.
MAX_TEMPLATE_BYTES = 1024 * 1024
#: Limits of a user's templates rendering in a child process (render_bounded).
RENDER_CPU_SECONDS = 3
RENDER_WALL_SECONDS = 60
RENDER_EXTRA_MEMORY_BYTES = 768 * 1024 * 1024
MAX_RENDERED_BYTES = 64 * 1024 * 1024


def _len_or_zero(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


def _refuse(what: str) -> SecurityError:
    return SecurityError(f"template tried to {what}")


def _check_size(n: int, what: str = "build a string or list") -> None:
    if n > MAX_TEMPLATE_PRODUCT:
        raise _refuse(f"{what} longer than {MAX_TEMPLATE_PRODUCT:,} items")


def _check_width(width: Any) -> None:
    if isinstance(width, int) and not isinstance(width, bool) and width > MAX_FORMAT_WIDTH:
        raise _refuse(f"format a value {width:,} characters wide (at most {MAX_FORMAT_WIDTH:,})")


_NUMBERS = re.compile(r"\d+")
_PRINTF_STAR = re.compile(r"%[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


def _check_spec(spec: str) -> None:
    """No number in a format specification (width, precision) above MAX_FORMAT_WIDTH."""
    for digits in _NUMBERS.findall(spec):
        if len(digits) > 6 or int(digits) > MAX_FORMAT_WIDTH:
            raise _refuse(f"format a value {digits[:12]}… characters wide (at most {MAX_FORMAT_WIDTH:,})")


def _check_printf(fmt: Any, args: Any) -> None:
    """'%2000000000d' % x, and '%*d' % (width, x)."""
    if not isinstance(fmt, str):
        return
    _check_spec(fmt)
    if "*" in fmt:
        for value in args if isinstance(args, tuple) else (args,):
            _check_width(value)


def _check_int_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_TEMPLATE_PRODUCT:
            raise _refuse(f"compute an integer of more than {MAX_TEMPLATE_PRODUCT:,} bits")


class _BoundedFormatter(SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_spec(format_spec)
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(SandboxedEscapeFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_spec(format_spec)
        return super().format_field(value, format_spec)


_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _check_str_method(obj: Any, args: tuple, kwargs: dict) -> None:
    """Bounds of str methods whose result can be far larger than their input."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if not isinstance(owner, str):
        return
    if name in _WIDTH_METHODS and args:
        _check_width(args[0])
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            _check_size(owner.count("\t") * size + len(owner))
    elif name == "join" and args:
        items = args[0]
        if isinstance(items, (list, tuple)):
            _check_size(len(owner) * max(len(items) - 1, 0) + sum(_len_or_zero(i) for i in items))
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = owner.count(args[0]) if args[0] else len(owner) + 1
        _check_size(len(owner) + count * len(args[1]))


def _bounded_filters() -> dict[str, Callable[..., Any]]:
    """Jinja's filters whose output can dwarf their input, with their bounds checked first."""
    def format_(value: Any, *args: Any, **kwargs: Any) -> str:
        _check_printf(str(value), args or tuple(kwargs.values()))
        return jinja_filters.do_format(value, *args, **kwargs)

    def center(value: str, width: int = 80) -> str:
        _check_width(width)
        return jinja_filters.do_center(value, width)

    def indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
        if isinstance(width, str):
            _check_size(len(width))
        else:
            _check_width(width)
        text = str(s)
        _check_size(len(text) + (text.count("\n") + 1) * (len(width) if isinstance(width, str) else int(width)))
        return jinja_filters.do_indent(s, width, first, blank)

    @jinja_filters.pass_eval_context
    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
        items = list(value) if not isinstance(value, (list, tuple)) else value
        _check_size(len(items))
        _check_size(len(str(d)) * max(len(items) - 1, 0) + sum(_len_or_zero(i) for i in items))
        return jinja_filters.do_join(eval_ctx, items, d, attribute)

    @jinja_filters.pass_eval_context
    def replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
        text, old_s, new_s = str(s), str(old), str(new)
        hits = text.count(old_s) if old_s else len(text) + 1
        if count is not None and count >= 0:
            hits = min(hits, count)
        _check_size(len(text) + hits * len(new_s))
        return jinja_filters.do_replace(eval_ctx, s, old, new, count)

    return {"format": format_, "center": center, "indent": indent, "join": join, "replace": replace}


class SafeEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed, immutable Jinja2 environment with bounded growth (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters.update(_bounded_filters())

    def call_binop(self, context: jinja2.runtime.Context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "*":
            for seq, times in ((left, right), (right, left)):
                if _len_or_zero(seq) and isinstance(times, int) and _len_or_zero(seq) * times > MAX_TEMPLATE_PRODUCT:
                    raise SecurityError("template tried to build a sequence longer than "
                                        f"{MAX_TEMPLATE_PRODUCT:,} items")
            _check_int_product(left, right)
            return operator.mul(left, right)
        if operator_name == "+":
            _check_size(_len_or_zero(left) + _len_or_zero(right))
            return operator.add(left, right)
        if operator_name == "%":
            _check_printf(left, right)
            return operator.mod(left, right)
        if operator_name == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 64:
                raise SecurityError("template tried to raise an integer to a power above 64")
            if isinstance(right, (int, float)) and abs(right) > 1e6:
                raise SecurityError("template tried to raise a number to a power above 1e6")
            if isinstance(left, int) and isinstance(right, int) and right > 0 \
                    and left.bit_length() * right > MAX_TEMPLATE_PRODUCT:
                raise _refuse(f"compute an integer of more than {MAX_TEMPLATE_PRODUCT:,} bits")
            try:
                return operator.pow(left, right)
            except OverflowError:
                raise SecurityError("template arithmetic overflowed") from None
        return super().call_binop(context, operator_name, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's signature)
        _check_str_method(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's sandboxed ``str.format``/``format_map`` with every field's width bounded."""
        if not callable(value) or getattr(value, "__name__", None) not in ("format", "format_map"):
            return None
        f_self = getattr(value, "__self__", None)
        if not isinstance(f_self, str):
            return None
        str_type = type(f_self)
        is_format_map = value.__name__ == "format_map"
        formatter: string.Formatter = (_BoundedEscapeFormatter(self, escape=f_self.escape)
                                       if isinstance(f_self, Markup) else _BoundedFormatter(self))

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            _check_spec(f_self)
            return str_type(formatter.vformat(f_self, args, kwargs))

        return update_wrapper(wrapper, value)


class ConfinedLoader(jinja2.BaseLoader):
    """Templates from one folder; a file whose real path (symbolic links followed) is not inside
    the folder's real path is refused, and every file is read as a bounded regular file."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # refuses '..' (TemplateNotFound)
        path = self.folder.joinpath(*pieces)
        if not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        real_root = os.path.realpath(self.folder)
        real = os.path.realpath(path)
        if not is_within(real, real_root):
            raise CasegenError(
                f"template '{template}' is a symbolic link leading out of its template folder (to {real})",
                file=path, expected="template files inside the template folder",
                hint="casegen never follows a template link out of its folder, trusted or not")
        if os.path.isdir(real):
            raise jinja2.TemplateNotFound(template)
        source = read_text_capped(real, MAX_TEMPLATE_BYTES, what="template file", expected="a UTF-8 Jinja2 template")
        mtime = os.path.getmtime(real)
        return source, str(path), lambda: os.path.exists(real) and os.path.getmtime(real) == mtime

    def list_templates(self) -> list[str]:
        return []


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


# ------------------------------------------------------------------ rendering in a bounded child


def _vm_size_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limit_child() -> None:
    """Limits of the rendering child: CPU seconds and address space (never above what it has)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    used = int(sum(os.times()[:2]))
    cpu = used + RENDER_CPU_SECONDS
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu, hard) if hard != resource.RLIM_INFINITY else cpu, hard))
    size = _vm_size_bytes()
    if size:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = size + RENDER_EXTRA_MEMORY_BYTES
        if soft != resource.RLIM_INFINITY:
            want = min(want, soft)
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))


def _child_result(render: Callable[[], str], where: str | None) -> tuple[str, Any]:
    try:
        text = render()
    except CasegenError as err:
        return "error", (err.what, err.file, err.where, err.expected, err.hint)
    except MemoryError:
        return "limit", f"needed more than {RENDER_EXTRA_MEMORY_BYTES // (1024 * 1024)} MiB of memory"
    except RecursionError:
        return "limit", "recursed too deeply"
    except Exception as err:  # the template's own failure (its arithmetic, a filter's TypeError): the template's error
        return "error", (f"template failed: {type(err).__name__}: {str(err)[:300]}", where, None,
                         "a template that renders with the variables in docs/templates.md", None)
    if len(text) > MAX_RENDERED_BYTES:  # characters ≥ bytes/4; the check after encoding is below
        return "limit", f"rendered more than {MAX_RENDERED_BYTES // (1024 * 1024)} MiB"
    return "ok", text


def render_bounded(render: Callable[[], str], *, where: str | None) -> str:
    """``render()`` in a forked child limited to RENDER_CPU_SECONDS of CPU (RENDER_WALL_SECONDS of
    wall time), RENDER_EXTRA_MEMORY_BYTES of new address space and MAX_RENDERED_BYTES of output; a
    CasegenError naming ``where`` (the template folder) when a limit is hit. Same result as
    ``render()`` otherwise."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, send the result, leave without running the parent's exit handlers
        status = 1
        try:
            os.close(read_fd)
            if not gc.isenabled():  # `casegen build` runs without the collector (casegen.cli.main); a user's
                gc.freeze()  # template gets it back for its own garbage, the inherited objects set aside
                gc.enable()
            _limit_child()
            data = pickle.dumps(_child_result(render, where), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view):]
            status = 0
        except BaseException:  # noqa: BLE001 — nothing may escape a forked child; the parent reports it
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + RENDER_WALL_SECONDS
    problem = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                problem = f"took longer than {RENDER_WALL_SECONDS} s"
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_RENDERED_BYTES + 1024 * 1024:
                problem = f"rendered more than {MAX_RENDERED_BYTES // (1024 * 1024)} MiB"
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if problem is not None:
            os.kill(pid, signal.SIGKILL)
        _, wait_status = os.waitpid(pid, 0)
    if problem is None:
        try:
            kind, value = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 — an incomplete message: the child died (signal below)
            kind, value = "died", None
        if kind == "ok":
            return value
        if kind == "error":
            what, file, where_in, expected, hint = value
            raise CasegenError(what, file=file, where=where_in, expected=expected, hint=hint)
        if kind == "limit":
            problem = value
        else:
            sig = os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else None
            problem = (f"used more than {RENDER_CPU_SECONDS} s of CPU" if sig in (signal.SIGXCPU, signal.SIGKILL)
                       else "stopped unexpectedly" + (f" (signal {sig})" if sig else ""))
    raise CasegenError(
        f"the templates {problem}, casegen's limit for rendering a report", file=where,
        expected=f"templates that render within {RENDER_CPU_SECONDS} s of CPU, "
                 f"{RENDER_EXTRA_MEMORY_BYTES // (1024 * 1024)} MiB of memory and "
                 f"{MAX_RENDERED_BYTES // (1024 * 1024)} MiB of output",
        hint="loops over range(), recursive macros or strings grown in a loop are the usual cause",
    )
