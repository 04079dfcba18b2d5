"""Vectorised parsing of well-formed per-request CSV text (pandas' C parser and NumPy).

A million-row file is read in about a second with memory proportional to the columns kept,
instead of one Python dict per row. Each function returns None when the text is not in the
simple shape it handles (quoted fields, blank-but-not-empty or short rows, values that are not
plain numbers); the caller then uses the row-by-row reader, which is the reference semantics
and writes every error message. So both paths give the same run or the same error.

pandas is imported here, when a CSV is read, and nowhere else: a build from JSON runs does not
pay its import (about 0.2 s of CPU; docs/dependencies.md).
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# separators inside a list-of-numbers field (chunk gaps): space, ";", "," and tabs/CR
_LIST_SEPARATORS = bytes.maketrans(b";,\t\r", b"    ")


def data_lines(raw: bytes, width: int) -> np.ndarray | None:
    """1-based line numbers of the data rows of an unquoted CSV whose every non-empty line
    after the header has exactly ``width`` fields; None for anything else."""
    if b'"' in raw:
        return None
    b = np.frombuffer(raw, dtype=np.uint8)
    nl = np.flatnonzero(b == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [b.size]))
    commas = np.flatnonzero(b == 44)
    n_commas = np.searchsorted(commas, ends) - np.searchsorted(commas, starts)
    length = ends - starts
    if b.size == 0:
        return None
    crlf_blank = (length == 1) & (b[np.minimum(starts, b.size - 1)] == 13)
    nonempty = (length > 0) & ~crlf_blank
    rows = nonempty[1:]
    if np.any(n_commas[1:][rows] != width - 1):
        return None
    return np.flatnonzero(rows) + 2


def read_table(raw: bytes, keep: list[int], text_columns: list[int], n_rows: int) -> pd.DataFrame | None:
    """The columns ``keep`` (by position) of the data rows; ``text_columns`` stay strings (NaN
    when empty), the others are parsed as numbers by pandas. None if pandas disagrees with
    :func:`data_lines` on the row count."""
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            df = pd.read_csv(io.BytesIO(raw), header=None, skiprows=1, usecols=keep,
                             dtype={i: object for i in text_columns}, keep_default_na=False, na_values=[""],
                             skip_blank_lines=True, engine="c", low_memory=False)
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
            return None
    return df if len(df) == n_rows else None


def numbers(series: pd.Series) -> np.ndarray | None:
    """A column pandas parsed as finite numbers (empty → NaN) as float64; None if it is anything
    else (text, "nan", "inf": the row reader names the cell)."""
    if series.dtype.kind in "fiu":
        values = series.to_numpy(dtype=float)
        return None if bool(np.isinf(values).any()) else values
    if series.dtype == object and series.isna().all():
        return np.full(len(series), np.nan)
    return None


def number_lists(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """Parse a column of number lists ("12.1 11.9;13") into (all numbers, count per row).

    No Python loop per row or per number: the rows are joined into one buffer, tokens are
    counted per row with NumPy and the numbers parsed by pandas' C parser (correctly rounded,
    the same floats as ``float()``). None if a token is not a number.
    """
    import pandas as pd

    filled = series.where(series.notna(), "")
    buf = "\n".join(filled.tolist()).encode("utf-8").translate(_LIST_SEPARATORS)
    b = np.frombuffer(buf, dtype=np.uint8)
    is_sep = (b == 32) | (b == 10)
    token_start = np.flatnonzero(~is_sep & np.concatenate(([True], is_sep[:-1])))
    del is_sep
    newline = np.flatnonzero(b == 10)
    counts = np.diff(np.searchsorted(token_start, np.concatenate(([0], newline, [b.size]))))
    if token_start.size == 0:
        return np.array([], dtype=float), counts
    del newline, b
    try:
        values = pd.read_csv(io.BytesIO(buf.replace(b" ", b"\n")), header=None, names=["v"], dtype=np.float64,
                             keep_default_na=False, na_values=[], skip_blank_lines=True,
                             engine="c")["v"].to_numpy()
    except (ValueError, pd.errors.ParserError):
        return None
    if values.size != token_start.size:
        return None
    return values, counts
