"""Reuse of drawn charts between renders of the same data (``casegen preview``).

A chart function decorated with :func:`memoized` is a pure function of its arguments: the same
arguments draw the same SVG (arrays, dataclasses and pydantic models are fingerprinted by value). Inside ``with chart_memo(store):`` its results are kept in ``store``
under a SHA-256 of the arguments (arrays by dtype, shape and bytes), so a preview that re-renders
after a prose edit does not draw the charts again. Outside such a block (every ``build``), the
decorator calls straight through. Arguments it cannot fingerprint (callables, arbitrary objects)
are never memoised.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator, TypeVar

import numpy as np
from pydantic import BaseModel

_store: ContextVar[dict[str, Any] | None] = ContextVar("casegen_chart_memo", default=None)
#: The report theme charts are drawn in (their colours and font); part of every memo key.
_theme: ContextVar[str] = ContextVar("casegen_chart_theme", default="modern")


def current_theme() -> str:
    return _theme.get()


@contextmanager
def chart_theme(theme: str) -> Iterator[None]:
    """Charts drawn inside the block use ``theme``'s palette and font (casegen.render.charts.PALETTES)."""
    token = _theme.set(theme)
    try:
        yield
    finally:
        _theme.reset(token)
F = TypeVar("F", bound=Callable[..., Any])


class _Unhashable(Exception):
    pass


def _feed(h: Any, value: Any) -> None:
    if value is None or isinstance(value, (bool, int, float, str)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, np.ndarray):
        h.update(f"nd:{value.dtype.str}:{value.shape};".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, np.generic):
        _feed(h, value.item())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}](".encode())
        for item in value:
            _feed(h, item)
        h.update(b")")
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}](".encode())
        for k in sorted(value, key=repr):
            _feed(h, k)
            _feed(h, value[k])
        h.update(b")")
    elif isinstance(value, BaseModel):  # the analysis's typed results (segments, teardown rows)
        h.update(f"pm:{type(value).__module__}.{type(value).__qualname__}(".encode())
        for name in type(value).model_fields:
            _feed(h, name)
            _feed(h, getattr(value, name))
        h.update(b")")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(f"dc:{type(value).__qualname__}(".encode())
        for f in dataclasses.fields(value):
            _feed(h, f.name)
            _feed(h, getattr(value, f.name))
        h.update(b")")
    else:
        raise _Unhashable(type(value).__name__)


def fingerprint(*parts: Any) -> str | None:
    """SHA-256 of the values, or None when one of them cannot be fingerprinted."""
    h = hashlib.sha256()
    try:
        for p in parts:
            _feed(h, p)
    except _Unhashable:
        return None
    return h.hexdigest()


def memoized(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        store = _store.get()
        if store is None:
            return fn(*args, **kwargs)
        key = fingerprint(fn.__module__, fn.__qualname__, _theme.get(), args, kwargs)
        if key is None:
            return fn(*args, **kwargs)
        if key not in store:
            store[key] = fn(*args, **kwargs)
        return store[key]

    return wrapper  # type: ignore[return-value]


@contextmanager
def chart_memo(store: dict[str, Any]) -> Iterator[None]:
    """Charts drawn inside the block are kept in (and taken from) ``store``."""
    token = _store.set(store)
    try:
        yield
    finally:
        _store.reset(token)
