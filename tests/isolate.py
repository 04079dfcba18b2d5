"""Run a test body in a forked child under a wall-clock timeout and an address-space limit.

The hostile-input tests use this so that a payload that hangs or grows without bound fails
the test (timeout / MemoryError) instead of hanging or exhausting the CI machine. Forking
reuses the parent's imports, so each case costs milliseconds, not an interpreter start.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import traceback
from typing import Any, Callable

DEFAULT_TIMEOUT_S = 60.0
#: extra address space the child may use beyond what the parent already has mapped
DEFAULT_EXTRA_MB = 1024


def _vm_size_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(conn, fn: Callable[..., Any], args: tuple, extra_bytes: int, as_limit_bytes: int | None = None) -> None:
    limit = as_limit_bytes if as_limit_bytes is not None else _vm_size_bytes() + extra_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as err:  # report every failure to the parent, which fails the test
        conn.send(("raised", f"{type(err).__name__}: {err}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def run_isolated(fn: Callable[..., Any], *args: Any, timeout_s: float = DEFAULT_TIMEOUT_S,
                 extra_mb: int = DEFAULT_EXTRA_MB, as_limit_mb: int | None = None) -> Any:
    """``fn(*args)`` in a forked child; its return value, or AssertionError on hang/crash/limit.

    The child's address space is limited to what the parent has mapped plus ``extra_mb``, or to
    ``as_limit_mb`` in all when given (issue 22's "under a 2 GB address-space limit")."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    absolute = as_limit_mb * 1024 * 1024 if as_limit_mb is not None else None
    proc = ctx.Process(target=_child, args=(child, fn, args, extra_mb * 1024 * 1024, absolute))
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout_s):
            raise AssertionError(f"{getattr(fn, '__name__', fn)}{args!r} did not finish within {timeout_s} s")
        try:
            status, value = parent.recv()
        except EOFError:
            proc.join(5)
            raise AssertionError(f"{getattr(fn, '__name__', fn)} killed the child (exit code {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
    if status != "ok":
        raise AssertionError(f"{getattr(fn, '__name__', fn)} raised in the isolated child:\n{value}")
    return value
