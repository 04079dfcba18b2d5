"""The importers' toolkit: one way to read a value, a file, a folder of load points, a secret.

Every importer module reads through these helpers so the rules do not drift between tools:

* :func:`number`, :func:`count`, :func:`seconds` — typed readers. A bad value is a
  :class:`~casegen.errors.CasegenError` naming the file, the place (line and/or key) and what was
  expected. One policy everywhere: JSON numbers are numbers; numeric *strings* (``"12.5"``, as
  CSV-born or stringly-typed tools write) are accepted; ``"inf"``/``"Infinity"`` only where
  ``allow_inf`` (request rates); booleans are never numbers; NaN is "missing".
* :func:`unit_factor_s` — a time unit name to a factor into seconds.
* :func:`read_text` — a run file as UTF-8 text with casegen's clear errors.
* :func:`first_json` / :func:`first_line_json` — cheap JSON sniffing (from :mod:`.jsonio`).
* :func:`point_dir_params` / :func:`point_dirs` — a sweep folder with one ``{param}_{value}``
  sub-folder per load point (AIPerf, GenAI-Perf).
* :func:`scrub` / :func:`scrub_text` — secret-looking values replaced by ``***`` before any
  metadata reaches a report.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any, Callable, Literal, overload

from casegen.errors import CasegenError
from casegen.runs.jsonio import first_json, first_line_json, kind_of
from casegen.safe_io import read_bytes_capped

__all__ = [
    "DATA_ERRORS", "MAX_BYTES", "count", "dig", "first_json", "first_line_json", "is_scalar", "kind_of", "number",
    "point_dir_params", "point_dirs", "read_text", "scrub", "scrub_text", "seconds", "sub_object",
    "unit_factor_s", "where_text",
]

MAX_BYTES = 512 * 1024 * 1024

#: Exceptions that mean "the user's file is malformed" when a standard parser raises them while an
#: importer reads it; casegen turns only these into a user error. Anything else (KeyError,
#: TypeError, …) is a bug in casegen and keeps its traceback.
DATA_ERRORS: tuple[type[BaseException], ...] = (csv.Error, UnicodeError)

_INF_WORDS = ("inf", "+inf", "infinity", "+infinity")


def where_text(line: int | None = None, key: str | None = None, where: str | None = None) -> str | None:
    """'line 14, key metrics.ttft' from its parts (any may be missing)."""
    parts = [p for p in (where, f"line {line}" if line is not None else None,
                         f"key {key}" if key is not None else None) if p]
    return ", ".join(parts) or None


@overload
def number(value: Any, file: str | Path, *, key: str | None = None, line: int | None = None,
           where: str | None = None, optional: Literal[False], allow_inf: bool = False,
           min_value: float | None = None, expected: str = "a number") -> float: ...
@overload
def number(value: Any, file: str | Path, *, key: str | None = None, line: int | None = None,
           where: str | None = None, optional: bool = True, allow_inf: bool = False,
           min_value: float | None = None, expected: str = "a number") -> float | None: ...
def number(value: Any, file: str | Path, *, key: str | None = None, line: int | None = None,
           where: str | None = None, optional: bool = True, allow_inf: bool = False,
           min_value: float | None = None, expected: str = "a number") -> float | None:
    """``value`` as a float; None when missing (``optional``); CasegenError otherwise.

    Missing means None, an empty string or NaN. ``min_value`` rejects smaller values.
    """
    place = where_text(line, key, where)
    if isinstance(value, str):
        s = value.strip()
        if allow_inf and s.lower() in _INF_WORDS:
            value = math.inf
        elif s == "" or s.lower() == "nan":
            value = None
        else:
            try:
                value = float(s)
            except ValueError:
                raise CasegenError(f"is {kind_of(value)}", file=file, where=place, expected=expected) from None
            if math.isinf(value) and not allow_inf:
                raise CasegenError(f"is {kind_of(s)}", file=file, where=place, expected=f"{expected} (finite)")
    if isinstance(value, float) and math.isnan(value):
        value = None
    if value is None:
        if optional:
            return None
        raise CasegenError("is missing", file=file, where=place, expected=expected)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CasegenError(f"is {kind_of(value)}", file=file, where=place, expected=expected)
    try:
        out = float(value)
    except OverflowError:  # an integer beyond the float range (JSON allows any length)
        raise CasegenError(f"is an integer of {len(str(value))} digits", file=file, where=place,
                           expected=f"{expected} (finite)") from None
    if math.isinf(out) and not (allow_inf and out > 0):
        raise CasegenError(f"is {out!r}", file=file, where=place, expected=f"{expected} (finite)")
    if min_value is not None and out < min_value:
        raise CasegenError(f"is {out:g}", file=file, where=place, expected=f"{expected} ≥ {min_value:g}")
    return out


@overload
def count(value: Any, file: str | Path, *, key: str | None = None, line: int | None = None,
          where: str | None = None, optional: Literal[False] = False, expected: str = "a count ≥ 0") -> int: ...
@overload
def count(value: Any, file: str | Path, *, key: str | None = None, line: int | None = None,
          where: str | None = None, optional: bool, expected: str = "a count ≥ 0") -> int | None: ...
def count(value: Any, file: str | Path, *, key: str | None = None, line: int | None = None,
          where: str | None = None, optional: bool = False, expected: str = "a count ≥ 0") -> int | None:
    """A non-negative whole number (``12`` or ``12.0``)."""
    v = number(value, file, key=key, line=line, where=where, optional=optional, expected=expected, min_value=0)
    if v is None:
        return None
    if v != int(v):
        raise CasegenError(f"is {v:g}", file=file, where=where_text(line, key, where), expected=expected)
    return int(v)


_TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0,
               "secs": 1.0, "second": 1.0, "seconds": 1.0}


def unit_factor_s(unit: Any, file: str | Path, where: str | None = None) -> float:
    """Factor converting a value in ``unit`` (ns, us, ms, s …) into seconds."""
    u = str(unit).strip().lower() if unit is not None else ""
    if u in _TIME_UNITS:
        return _TIME_UNITS[u]
    raise CasegenError(f"unknown time unit {unit!r}", file=file, where=where,
                       expected="one of ns, us, ms, s, sec")


def seconds(value: Any, unit: Any, file: str | Path, *, key: str | None = None, line: int | None = None,
            optional: bool = True, min_value: float | None = 0.0) -> float | None:
    """A duration in ``unit`` converted to seconds (≥ 0 unless ``min_value`` says otherwise)."""
    factor = unit_factor_s(unit, file, where_text(line, key))
    v = number(value, file, key=key, line=line, optional=optional, min_value=min_value,
               expected=f"a duration in {unit}")
    return None if v is None else v * factor


def dig(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]…`` or None when any level is missing or not an object."""
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def sub_object(obj: dict, key: str) -> dict:
    """``obj[key]`` when it is an object, else ``{}``: an optional nested object read key by key."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def is_scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float)) and not isinstance(v, bool)


# --------------------------------------------------------------------------- files

def read_text(path: str | Path) -> str:
    """A run file as UTF-8 text; clear errors for a missing, binary, oversized or special file."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise CasegenError("run file not found", file=path,
                           expected="an existing file (paths in case.yaml are relative to the case folder)")
    # regular files only (no FIFO, device or socket), within the size budget, before reading
    raw = read_bytes_capped(path, what="run file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CasegenError(
            f"file is not UTF-8 text (byte {err.start}): neither JSON nor CSV",
            file=path, expected="a JSON, JSON Lines or CSV file",
        ) from None


# --------------------------------------------------------------------------- load-point folders

def _number_of(text: str) -> int | float | str:
    try:
        f = float(text)
    except ValueError:
        return text
    return int(f) if f.is_integer() and "." not in text else f


def point_dir_params(name: str) -> dict[str, Any]:
    """``concurrency_16`` → {concurrency: 16}; ``concurrency_10__isl_512``; ``request_rate_5.0``;
    ``{}`` when the name is not a load-point name."""
    out: dict[str, Any] = {}
    for part in name.split("__"):
        m = re.fullmatch(r"([A-Za-z][A-Za-z_]*?)[_-](-?\d+(?:\.\d+)?)", part)
        if not m:
            return {}
        out[m.group(1)] = _number_of(m.group(2))
    return out


def point_dirs(folder: Path, is_point: Callable[[Path], bool], skip: set[str] | frozenset[str] = frozenset(),
               params: Callable[[str], dict[str, Any]] = point_dir_params) -> list[tuple[Path, dict[str, Any]]]:
    """Sub-folders of ``folder`` that ``is_point`` accepts, with the load parameters ``params`` reads
    from their names (default ``{param}_{value}``), in load order: named points by parameter and
    value, then the others by name."""
    subs = [s for s in folder.iterdir() if s.is_dir() and s.name not in skip and is_point(s)]

    def key(s: Path) -> tuple:
        vals = params(s.name)
        nums = tuple(float(v) for v in vals.values() if isinstance(v, (int, float)))
        return (0 if vals else 1, tuple(vals.keys()), nums, s.name)

    return [(s, params(s.name)) for s in sorted(subs, key=key)]


# --------------------------------------------------------------------------- secrets

_SECRET_KEY_PARTS = ("api_key", "apikey", "secret", "password", "passwd", "credential", "authorization",
                     "bearer", "access_key", "private_key", "cookie")
_SECRET_KEY_NAMES = {"token", "auth", "auth_token", "access_token", "hf_token", "api_token", "bearer_token",
                     "refresh_token", "session_token", "id_token", "x_api_key"}
_SECRET_TEXT = [
    # --api-key "x", --api-key=x, --api_key x, --token x, --hf-token x, --password x
    (re.compile(r"(--?(?:api[-_]?key|[\w-]*token|[\w-]*secret[\w-]*|password)(?:\s+|=))(\"[^\"]*\"|'[^']*'|\S+)",
                re.IGNORECASE), r"\1***"),
    # key=value lists without dashes (lm-eval model_args 'pretrained=x,token=y', URLs' ?api_key=y)
    (re.compile(r"(?<![\w-])([\w-]*(?:token|api[-_]?key|secret|password|passwd)=)(?!\*\*\*)([^,\s&\"']+)",
                re.IGNORECASE), r"\1***"),
    # Authorization: Bearer x / Bearer x
    (re.compile(r"(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1***"),
    (re.compile(r"((?:authorization|x-api-key|api-key)\s*[:=]\s*)(?!Bearer)[^\s\"',]+", re.IGNORECASE), r"\1***"),
    # well-known key shapes
    (re.compile(r"\b(sk-[A-Za-z0-9_-]{8,}|hf_[A-Za-z0-9]{8,}|nvapi-[A-Za-z0-9_-]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|"
                r"AKIA[0-9A-Z]{16}|xox[abpr]-[A-Za-z0-9-]{8,})\b"), "***"),
]


def is_secret_key(key: str) -> bool:
    k = key.lower().replace("-", "_")
    return k in _SECRET_KEY_NAMES or any(part in k for part in _SECRET_KEY_PARTS)


def scrub_text(text: str) -> str:
    for pattern, repl in _SECRET_TEXT:
        text = pattern.sub(repl, text)
    return text


def scrub(obj: Any) -> Any:
    """A copy of ``obj`` with secret-looking keys' values and secret-looking text replaced by ``***``."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(k, str) and is_secret_key(k) and v not in (None, "", [], {}):
                out[k] = "***"
            else:
                out[k] = scrub(v)
        return out
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    if isinstance(obj, str):
        return scrub_text(obj)
    return obj
