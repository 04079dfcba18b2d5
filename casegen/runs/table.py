"""casegen's own per-request format: CSV or JSON Lines, one request per row.

The full specification is ``docs/run-format.md``. In short, the fields are

==================  ===========================================================
field               meaning
==================  ===========================================================
``ttft``            time to first token (optional: leave out for non-streaming)
``e2e``             end-to-end latency (required)
``start``           send time (optional; any origin; gives the run duration)
``input_tokens``    prompt tokens (optional)
``output_tokens``   generated tokens (optional, needed for TPOT and token rates)
``cached_tokens``   prompt tokens the server served from its prefix cache (optional;
                    the API usage's ``prompt_tokens_details.cached_tokens``)
``success``         true/false (optional; default: true unless ``error`` is set)
``error``           error text (optional; non-empty means failed)
``chunk_gaps``      gaps between streamed chunks: JSON array in JSONL, numbers
                    separated by spaces or ``;`` in CSV (optional)
==================  ===========================================================

A time field's unit comes from its column-name suffix (``ttft_ms``, ``e2e_s``,
``start_us``, ``chunk_gaps_ns``) or from ``units:`` in ``case.yaml``; existing
column names can be mapped with ``columns:`` so a file is used unedited.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from casegen.errors import CasegenError
from casegen.runs import fastcsv
from casegen.runs.jsonio import parse_json_lines
from casegen.runs.model import Run, RunMeta, check_requests, make_requests_frame

TIME_FIELDS = ("start", "ttft", "e2e", "chunk_gaps")
OTHER_FIELDS = ("input_tokens", "output_tokens", "cached_tokens", "success", "error")
#: the numeric fields that are not times
COUNT_FIELDS = ("input_tokens", "output_tokens", "cached_tokens")
FIELDS = TIME_FIELDS + OTHER_FIELDS
UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_TRUE = {"true", "1", "yes", "y", "ok", "t"}
_FALSE = {"false", "0", "no", "n", "failed", "fail", "f", "error"}


def resolve_columns(
    header: list[str], columns: dict[str, str] | None, units: dict[str, str] | str | None, path: Path
) -> dict[str, tuple[str, float]]:
    """Map canonical field → (source column, factor to seconds; 1 for non-time fields)."""
    columns = dict(columns or {})
    if isinstance(units, str):
        units = {f: units for f in TIME_FIELDS}
    units = dict(units or {})
    found: dict[str, tuple[str, float]] = {}
    for field, source in columns.items():
        if source not in header:
            raise CasegenError(
                f"column '{source}' (mapped to '{field}' in case.yaml) is not in the file",
                file=path, where="header", expected="one of: " + ", ".join(header),
            )
        factor = 1.0
        if field in TIME_FIELDS:
            unit = units.get(field) or _unit_suffix(source)
            if unit is None:
                raise CasegenError(
                    f"the unit of column '{source}' ({field}) is not known",
                    file=path, where="header",
                    expected=f"units: {{{field}: ms}} in case.yaml (one of s, ms, us, ns)",
                )
            factor = UNITS[unit]
        found[field] = (source, factor)
    for name in header:
        base, unit = _split_suffix(name)
        if base in FIELDS and base not in found:
            if base in TIME_FIELDS:
                unit = units.get(base) or unit
                if unit is None:
                    raise CasegenError(
                        f"the unit of column '{name}' is not known",
                        file=path, where="header",
                        expected=f"a unit suffix ({base}_s, {base}_ms, {base}_us, {base}_ns) "
                        f"or units: {{{base}: ms}} in case.yaml",
                    )
                found[base] = (name, UNITS[unit])
            elif unit is None:
                found[base] = (name, 1.0)
    if "e2e" not in found:
        raise CasegenError(
            "no end-to-end latency column",
            file=path, where="header",
            expected="a column e2e_s / e2e_ms / e2e_us / e2e_ns, or columns: {e2e: <name>} in case.yaml",
        )
    return found


def _unit_suffix(name: str) -> str | None:
    return _split_suffix(name)[1]


def _split_suffix(name: str) -> tuple[str, str | None]:
    for unit in UNITS:
        if name.endswith("_" + unit):
            return name[: -len(unit) - 1], unit
    return name, None


def looks_like_header(header: list[str]) -> bool:
    bases = {_split_suffix(h)[0] for h in header}
    return "e2e" in bases


def _to_float(value: Any, field: str, path: Path, where: str) -> float:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return math.nan
    if isinstance(value, bool):
        raise CasegenError(f"{field} is {value!r}", file=path, where=where, expected="a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise CasegenError(
            f"{field} is {str(value)[:60]!r}", file=path, where=where, expected="a number"
        ) from None
    if not math.isfinite(number):
        raise CasegenError(f"{field} is {str(value)[:60]!r}, not a finite number", file=path, where=where,
                           expected="a finite number (leave the field empty when it was not measured)")
    return number


def _to_bool(value: Any, path: Path, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CasegenError(f"success is {value!r}", file=path, where=where, expected="true or false")


def _gaps(value: Any, factor: float, path: Path, where: str) -> np.ndarray | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        parts = value.replace(";", " ").replace(",", " ").split()
    elif isinstance(value, list):
        parts = value
    else:
        raise CasegenError(f"chunk_gaps is {value!r}", file=path, where=where,
                           expected="a list of numbers")
    try:
        arr = np.asarray([float(p) for p in parts], dtype=float) * factor
    except (TypeError, ValueError):
        raise CasegenError(f"chunk_gaps has a value that is not a number: {value!r}",
                           file=path, where=where, expected="numbers") from None
    if np.any(~np.isfinite(arr) | (arr < 0)):
        raise CasegenError("chunk_gaps has a negative or non-finite gap", file=path, where=where,
                           expected="gaps ≥ 0")
    return arr


def _exact_columns(rows: list[tuple[str, dict]], cols: dict[str, tuple[str, float]], path: Path) -> dict[str, Any]:
    """Field → column values from parsed rows, one value at a time (the reference semantics).

    Used for JSON Lines and for CSV files the vectorised reader hands back (quoted fields,
    blank rows, values that are not plain numbers): every message names the row's line.
    """
    data: dict[str, list] = {f: [] for f in FIELDS}
    for where, row in rows:
        for field in ("start", "ttft", "e2e", *COUNT_FIELDS):
            if field in cols:
                source, factor = cols[field]
                data[field].append(_to_float(row.get(source), field, path, where) * factor)
        err = ""
        if "error" in cols:
            raw = row.get(cols["error"][0])
            err = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw).strip()
        data["error"].append(err)
        if "success" in cols and row.get(cols["success"][0]) not in (None, ""):
            ok = _to_bool(row.get(cols["success"][0]), path, where)
        else:
            ok = err == ""
        data["success"].append(ok)
        if "chunk_gaps" in cols:
            source, factor = cols["chunk_gaps"]
            data["chunk_gaps"].append(_gaps(row.get(source), factor, path, where))
    return data


def _build(data: dict[str, Any], n: int, where: Callable[[int], str], cols: dict[str, tuple[str, float]],
           path: Path, fmt: str, sha256: str, duration_s: float | None) -> Run:
    """The run from per-field columns (``data``), checked; ``where(i)`` locates row i for errors."""
    if n == 0:
        raise CasegenError("the file has no request rows", file=path,
                           expected="one row per request")
    df = make_requests_frame(
        ttft_s=data["ttft"] if "ttft" in cols else None,
        e2e_s=data["e2e"],
        input_tokens=data["input_tokens"] if "input_tokens" in cols else None,
        output_tokens=data["output_tokens"] if "output_tokens" in cols else None,
        success=data["success"],
        error=data["error"],
        start_s=data["start"] if "start" in cols else None,
        chunk_gaps_s=data["chunk_gaps"] if "chunk_gaps" in cols else None,
        cached_tokens=data["cached_tokens"] if "cached_tokens" in cols else None,
    )
    check_requests(df, path, where)
    warnings = []
    if "ttft" not in cols:
        warnings.append("no TTFT column: treated as a non-streaming run (TTFT and TPOT unavailable)")
    if "output_tokens" not in cols:
        warnings.append("no output_tokens column: TPOT and token throughput unavailable")
    if duration_s is None and "start" not in cols:
        warnings.append("the file has no send times and no run duration was given, so throughput is unavailable")
    meta = RunMeta(
        tool="casegen",
        format=fmt,
        source=str(path),
        sha256=sha256,
        num_prompts=n,
        duration_s=duration_s,
        streaming="ttft" in cols,
    )
    return Run(meta=meta, requests=df, tool_summary={}, warnings=warnings)


def _build_rows(rows: list[tuple[str, dict]], cols: dict[str, tuple[str, float]], path: Path, fmt: str,
                sha256: str, duration_s: float | None) -> Run:
    wheres = [w for w, _ in rows]
    data = _exact_columns(rows, cols, path)
    return _build(data, len(rows), lambda i: wheres[i], cols, path, fmt, sha256, duration_s)


def _fast_csv_columns(text: str, header: list[str], cols: dict[str, tuple[str, float]]
                      ) -> tuple[dict[str, Any], int, Callable[[int], str]] | None:
    """Field → column values of a well-formed CSV, vectorised; None hands the file to the
    row-by-row reader (which then names the offending line)."""
    raw = text.encode("utf-8")
    lines = fastcsv.data_lines(raw, len(header))
    if lines is None:
        return None
    n = int(lines.size)
    index = {name: i for i, name in enumerate(header)}
    if len(index) != len(header):  # duplicate column names: the row reader keeps the last one
        return None
    text_fields = ("success", "error", "chunk_gaps")
    keep = sorted({index[source] for source, _ in cols.values()})
    text_columns = [index[cols[f][0]] for f in text_fields if f in cols]
    table = fastcsv.read_table(raw, keep, text_columns, n)
    del raw
    if table is None or bool(table.isna().all(axis=1).any()):  # a row of empty fields: the row reader skips it
        return None
    data: dict[str, Any] = {}
    for field in ("start", "ttft", "e2e", *COUNT_FIELDS):
        if field in cols:
            source, factor = cols[field]
            values = fastcsv.numbers(table[index[source]])
            if values is None:
                return None
            data[field] = values * factor
    error = np.full(n, "", dtype=object)
    if "error" in cols:
        error = table[index[cols["error"][0]]].fillna("").astype(str).str.strip().to_numpy(dtype=object)
    data["error"] = error
    success = error == ""
    if "success" in cols:
        flag = table[index[cols["success"][0]]].fillna("").astype(str).str.strip().str.lower()
        given = flag != ""
        truthy, falsy = flag.isin(_TRUE), flag.isin(_FALSE)
        if bool((given & ~truthy & ~falsy).any()):
            return None
        success = np.where(given.to_numpy(), truthy.to_numpy(), success)
    data["success"] = success.astype(bool)
    if "chunk_gaps" in cols:
        source, factor = cols["chunk_gaps"]
        parsed = fastcsv.number_lists(table[index[source]])
        if parsed is None:
            return None
        flat, counts = parsed
        flat = flat * factor
        if not bool(np.all(np.isfinite(flat) & (flat >= 0))):
            return None
        parts = np.split(flat, np.cumsum(counts)[:-1])
        data["chunk_gaps"] = [g if g.size else None for g in parts]
    return data, n, lambda i: f"line {int(lines[i])}"


def _csv_rows(text: str, header: list[str], path: Path) -> list[tuple[str, dict]]:
    """Every non-blank row of a CSV text as (location, {column: stripped value})."""
    reader = csv.reader(io.StringIO(text))
    next(reader)
    rows = []
    try:
        for lineno, values in enumerate(reader, start=2):
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise CasegenError(
                    f"row has {len(values)} fields but the header has {len(header)}",
                    file=path, where=f"line {lineno}", expected=f"{len(header)} comma-separated fields",
                )
            rows.append((f"line {lineno}", dict(zip(header, (v.strip() for v in values)))))
    except csv.Error as err:
        raise CasegenError(f"CSV is malformed: {err}", file=path,
                           where=f"line {reader.line_num}") from None
    return rows


def read_csv(path: Path, text: str, sha256: str, *, columns=None, units=None, duration_s=None) -> list[Run]:
    """Read casegen's CSV per-request format (header row + one row per request).

    Well-formed files (no quoted fields, no blank or short rows, plain numbers) take the
    vectorised path (:mod:`casegen.runs.fastcsv`); anything else, and every error message,
    comes from the row-by-row reader, so both give the same run and the same errors.
    """
    reader = csv.reader(io.StringIO(text[: text.find("\n") + 1] if "\n" in text else text))
    try:
        header = next(reader)
    except StopIteration:
        raise CasegenError("the file is empty", file=path, expected="a CSV header row") from None
    except csv.Error as err:
        raise CasegenError(f"CSV is malformed: {err}", file=path, where="line 1") from None
    header = [h.strip() for h in header]
    cols = resolve_columns(header, columns, units, path)
    fast = _fast_csv_columns(text, header, cols)
    if fast is not None:
        data, n, where = fast
        return [_build(data, n, where, cols, path, "casegen-csv", sha256, duration_s)]
    rows = _csv_rows(text, header, path)
    return [_build_rows(rows, cols, path, "casegen-csv", sha256, duration_s)]


def read_jsonl(path: Path, text: str, sha256: str, *, columns=None, units=None, duration_s=None) -> list[Run]:
    """Read casegen's JSON Lines per-request format (one JSON object per line)."""
    rows = []
    keys: list[str] = []
    for lineno, obj in parse_json_lines(text, path, "one JSON object per line"):
        if not isinstance(obj, dict):
            raise CasegenError(f"line holds a JSON {type(obj).__name__}", file=path,
                               where=f"line {lineno}", expected="a JSON object per request")
        for k in obj:
            if k not in keys:
                keys.append(k)
        rows.append((f"line {lineno}", obj))
    if not rows:
        raise CasegenError("the file has no request lines", file=path,
                           expected="one JSON object per request")
    cols = resolve_columns(keys, columns, units, path)
    return [_build_rows(rows, cols, path, "casegen-jsonl", sha256, duration_s)]
