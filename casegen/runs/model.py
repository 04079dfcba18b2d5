"""The one run model every importer produces.

A :class:`Run` is a per-request table plus metadata, or — when the input only
carries the tool's own summary statistics — metadata plus that summary
("summary only"). Summary-only runs are never expanded into fake requests.

Per-request table (``Run.requests``, a :class:`RequestTable`: one NumPy array per
column, one row per request *issued*, failed ones included). All times are **seconds**:

=================  =========  ===============================================
column             dtype      meaning
=================  =========  ===============================================
``start_s``        float64    send time relative to the first request; NaN if
                              the input has no timestamps
``ttft_s``         float64    time to first token; NaN if not measured
                              (non-streaming) or the request failed
``e2e_s``          float64    end-to-end latency (send → last token); NaN for
                              failed requests
``input_tokens``   float64    prompt tokens (NaN if unknown)
``output_tokens``  float64    generated tokens (NaN if unknown)
``success``        bool       the request produced at least one token and no
                              error
``error``          object     error text, ``""`` for a success
``chunk_gaps_s``   object     gaps between consecutive streamed chunks of the
                              request (a 1-D float array), or ``None`` when the
                              input has no per-chunk timing
``cached_tokens``  float64    prompt tokens the server served from its prefix
                              (KV) cache, as the API response's usage reported
                              them (``prompt_tokens_details.cached_tokens``);
                              NaN when the tool did not record it
``client_wait_s``  float64    time the benchmark client held the request after
                              its scheduled send time, before sending it (its
                              own queue: vLLM's ``queue_times``, GuideLLM's
                              ``request_start − targeted_start``); outside
                              TTFT and E2E; NaN when not recorded
=================  =========  ===============================================
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, overload

import numpy as np

from casegen import registry
from casegen.safe_io import check_regular_file

REQUEST_COLUMNS: tuple[str, ...] = (
    "start_s",
    "ttft_s",
    "e2e_s",
    "input_tokens",
    "output_tokens",
    "success",
    "error",
    "chunk_gaps_s",
    "cached_tokens",
    "client_wait_s",
)

#: dtype of each column (object: one Python value per row — a string, or an array or None)
REQUEST_DTYPES: dict[str, Any] = {name: float for name in REQUEST_COLUMNS} | {
    "success": bool, "error": object, "chunk_gaps_s": object}


def _read_only(values: np.ndarray) -> np.ndarray:
    view = values.view()
    view.flags.writeable = False
    return view


def _object_column(values: Iterable[Any], n: int) -> np.ndarray:
    """A 1-D object array holding ``values`` as they are (arrays stay one cell each, never a 2-D block)."""
    return np.fromiter(values, dtype=object, count=n)


def _same_cell(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and np.array_equal(x, y, equal_nan=True)
    return bool(x == y)


class RequestTable:
    """The per-request table of a run: named columns, each a 1-D NumPy array of one length.

    What the analysis needs and nothing more: ``table["ttft_s"]`` is the column's array (float64,
    bool or object — see :data:`REQUEST_DTYPES`); ``table[mask]`` (a boolean mask or row positions)
    is a new table of those rows, which keeps their positions in ``index`` (the row labels of the
    table they were taken from) until :meth:`reset_index`; ``len``, ``in``, :meth:`sort_values`,
    :meth:`concat`. ``attrs`` carries importer notes beside the table. Columns are read-only arrays
    (as pandas 3's were): assigning a column replaces its array, nothing changes one in place.

    Because nothing changes in place, the two row sets the analysis asks for again and again — the
    successful requests (``table[table["success"]]``, about a dozen analyses each) and those rows in
    send order (:meth:`sort_values`) — are taken once per table and handed out as copies (a 2 × 1M
    request build took its rows 54 times, 40 ms each; pandas did the same).
    """

    __slots__ = ("_columns", "index", "attrs", "_derived")

    def __init__(self, columns: Mapping[str, Any], index: np.ndarray | None = None) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        self._columns: dict[str, np.ndarray] = {name: self._column(name, values, n) for name, values in columns.items()}
        self.index: np.ndarray = np.arange(n) if index is None else np.asarray(index)
        self.attrs: dict[str, Any] = {}
        #: row sets taken from these columns and this index (shared by copies until one is changed)
        self._derived: dict[Any, RequestTable] = {}

    @staticmethod
    def _column(name: str, values: Any, n: int) -> np.ndarray:
        """``values`` as a read-only 1-D array of the column's dtype (a read-only view when it already
        is one: the caller's array stays writable, the table's cannot be changed through it)."""
        dtype = REQUEST_DTYPES.get(name)
        if dtype is object:
            if not (isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1):
                values = _object_column(values, n)
        else:
            values = np.asarray(values, dtype=dtype)
        if values.ndim != 1:
            raise ValueError(f"column {name!r} is not one-dimensional")
        return _read_only(values)

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._columns)

    @overload
    def __getitem__(self, key: str) -> np.ndarray: ...

    @overload
    def __getitem__(self, key: np.ndarray) -> "RequestTable": ...

    def __getitem__(self, key: str | np.ndarray) -> "np.ndarray | RequestTable":
        if isinstance(key, str):
            return self._columns[key]
        if key is self._columns.get("success"):  # the table's own success column: the successful rows
            return self._cached("success", lambda: self.take(key))
        return self.take(key)

    def _cached(self, key: Any, make: Callable[[], "RequestTable"]) -> "RequestTable":
        hit = self._derived.get(key)
        if hit is None:
            hit = self._derived[key] = make()
        return hit.copy()

    def __setitem__(self, name: str, values: Any) -> None:
        """Replace (or add) a column: an array of the table's length, or one value for every row."""
        n = len(self)
        if not isinstance(values, (list, tuple, np.ndarray)) and REQUEST_DTYPES.get(name) is not object:
            self._columns[name] = _read_only(np.full(n, values, dtype=REQUEST_DTYPES.get(name)))
        else:
            column = self._column(name, values, n)
            if len(column) != n:
                raise ValueError(f"column {name!r} has {len(column)} values for {n} rows")
            self._columns[name] = column
        self._derived = {}  # rows taken before the change are not this table's any more (copies keep theirs)

    def take(self, rows: np.ndarray) -> "RequestTable":
        """The rows ``rows`` selects (a boolean mask of the table's length, or row positions), in that
        order, with their ``index`` labels."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise ValueError(f"a row mask of {rows.shape} for {len(self)} rows")
            rows = np.flatnonzero(rows)  # positions once, not a mask scan per column
        elif rows.size == 0:
            rows = rows.astype(np.intp)
        out = RequestTable.__new__(RequestTable)
        out._columns = {name: _read_only(values.take(rows)) for name, values in self._columns.items()}
        out.index = self.index.take(rows)
        out.attrs = dict(self.attrs)
        out._derived = {}
        return out

    def reset_index(self) -> "RequestTable":
        """The same rows labelled 0 … n − 1."""
        out = self.copy()
        out.index = np.arange(len(self))
        out._derived = {}  # rows taken before carry the old labels
        return out

    def sort_values(self, name: str) -> "RequestTable":
        """The rows in ascending order of column ``name`` (stable; NaN last)."""
        return self._cached(("sorted", name), lambda: self.take(np.argsort(self._columns[name], kind="stable")))

    def copy(self) -> "RequestTable":
        """A table of its own (columns can be replaced without touching this one)."""
        out = RequestTable.__new__(RequestTable)
        out._columns = dict(self._columns)
        out.index = self.index
        out.attrs = dict(self.attrs)
        out._derived = self._derived  # the same rows until one of the two is changed
        return out

    @staticmethod
    def concat(tables: list["RequestTable"]) -> "RequestTable":
        """The tables' rows one after another, labelled 0 … n − 1 (every table has the same columns)."""
        names = tables[0].columns
        for t in tables[1:]:
            if t.columns != names:
                raise ValueError(f"tables with different columns: {names} and {t.columns}")
        return RequestTable({name: np.concatenate([t[name] for t in tables]) for name in names})

    def known(self, name: str) -> np.ndarray:
        """Rows whose float column ``name`` holds a value (not NaN)."""
        return ~np.isnan(self._columns[name])

    def all_known(self, name: str) -> bool:
        """The table has column ``name`` and every row holds a value in it (True for no rows)."""
        return name in self._columns and bool(self.known(name).all())

    def any_known(self, name: str) -> bool:
        """The table has column ``name`` and at least one row holds a value in it."""
        return name in self._columns and bool(self.known(name).any())

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` (a position) as {column: value}."""
        return {name: values[i] for name, values in self._columns.items()}

    def equals(self, other: "RequestTable") -> bool:
        """Same columns in the same order with the same values (NaN equal to NaN; arrays in object
        cells compared element by element)."""
        if self.columns != other.columns or len(self) != len(other):
            return False
        for name, a in self._columns.items():
            b = other._columns[name]
            if a.dtype != b.dtype:
                return False
            if a.dtype == object:
                if not all(_same_cell(x, y) for x, y in zip(a, b)):
                    return False
            elif not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                return False
        return True

    def successful(self) -> "RequestTable":
        """The rows of successful requests."""
        return self.take(self._columns["success"])

    def __repr__(self) -> str:
        return f"RequestTable({len(self)} rows: {', '.join(self._columns)})"


#: Metric keys used everywhere (summaries, deltas, SLOs, summary.json).
LATENCY_METRICS: tuple[str, ...] = registry.LATENCY_METRICS

#: Statistic keys of a tool summary / a computed distribution (latencies in ms).
STAT_KEYS: tuple[str, ...] = ("n", "mean", "std", "min", "p50", "p90", "p95", "p99", "max")


@dataclass
class RunMeta:
    """Facts about a run that are not per-request data."""

    tool: str  # "vllm", "casegen", ...
    format: str  # format id the importer used, e.g. "vllm-json"
    source: str  # path of the file the run came from
    sha256: str  # of that file
    tool_version: str | None = None
    model: str | None = None
    tokenizer: str | None = None
    backend: str | None = None
    date: str | None = None
    label: str | None = None
    request_rate: float | None = None  # req/s offered; math.inf = all at once
    max_concurrency: int | None = None
    num_prompts: int | None = None
    duration_s: float | None = None  # the tool's own measured duration, seconds
    streaming: bool | None = None
    index: int = 0  # position of the run inside its file (0-based)
    extra: dict[str, Any] = field(default_factory=dict)  # other metadata (strings)
    #: where per-request token counts come from: "server" (the API response's usage, as the server
    #: counted), "client" (the benchmark tool's own tokenizer), or None (the importer does not say)
    token_source: str | None = None

    def selector_values(self) -> dict[str, Any]:
        """Values a run selector can match (see :mod:`casegen.runs.select`)."""
        values: dict[str, Any] = {
            "index": self.index,
            "rate": self.request_rate,
            "concurrency": self.max_concurrency,
            "label": self.label,
        }
        for key, value in self.extra.items():
            # long texts (command lines, paths) are metadata, not useful selector values
            if isinstance(value, (str, int, float)) and key not in values and len(str(value)) <= 60:
                values[key] = value
        return values

    def describe_load(self) -> str:
        """Human description of the offered load, e.g. 'rate 10 req/s, max concurrency 16'."""
        parts = []
        if self.request_rate is not None:
            # reader words (issue 23): "all requests at once (no rate limit)", never "rate inf"
            parts.append("all requests at once (no rate limit)" if math.isinf(self.request_rate)
                         else f"rate {self.request_rate:g} req/s")
        if self.max_concurrency is not None:
            parts.append(f"max concurrency {self.max_concurrency}")
        return ", ".join(parts) if parts else "load not recorded"


@dataclass
class Run:
    """One benchmark run: per-request table (or None) + metadata + tool summary.

    ``tool_summary`` holds the figures the benchmark tool itself printed, in
    casegen's names and units: ``{"ttft": {"mean": ms, "p50": ms, ...},
    "throughput": {"requests_per_s": ..., "output_tokens_per_s": ...},
    "requests": {"total": ..., "succeeded": ..., "failed": ...}}``.
    """

    meta: RunMeta
    requests: RequestTable | None
    tool_summary: dict[str, dict[str, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: How the tool's names/definitions map onto casegen's, one sentence each, e.g.
    #: "GenAI-Perf's 'inter_token_latency' is TPOT here".
    definitions: list[str] = field(default_factory=list)
    #: Repetitions pooled into this run (see casegen.analysis.window.pool); empty for a single run.
    parts: list["Run"] = field(default_factory=list)
    #: Requests removed by warm-up/cool-down trimming.
    trimmed: int = 0
    #: How the tool computed the percentiles it printed ("linear", "nearest", "mlperf"), when known;
    #: the parity check recomputes with it to tell a method difference from a data difference.
    tool_percentile_method: str | None = None
    #: Known reasons casegen's figure differs from the tool's, by metric key ("ttft", "tpot", "e2e",
    #: "itl", "throughput"), e.g. "E2E end point: ...". Shown next to flagged parity rows.
    parity_causes: dict[str, str] = field(default_factory=dict)

    @property
    def summary_only(self) -> bool:
        return self.requests is None

    @property
    def name(self) -> str:
        return self.meta.label or Path(self.meta.source).name


@dataclass(frozen=True)
class Format:
    """One input format. Importer modules in this package define ``FORMATS = [Format(...)]``.

    ``sniff(path, text)`` / ``read(path, text, sha256, **options)`` handle files;
    ``sniff_dir(path)`` / ``read_dir(path)`` handle directories (artifact folders,
    sweep trees). ``priority``: lower is tried first during auto-detection.
    """

    name: str
    description: str
    sniff: Callable[[Path, str], bool] | None = None
    read: Callable[..., list[Run]] | None = None
    takes_columns: bool = False
    sniff_dir: Callable[[Path], bool] | None = None
    read_dir: Callable[[Path], list[Run]] | None = None
    priority: int = 50


def sha256_file(path: str | Path) -> str:
    check_regular_file(path, what="run file")  # regular, and inside the case unless trusted
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_requests_frame(
    *,
    ttft_s: Any,
    e2e_s: Any,
    input_tokens: Any = None,
    output_tokens: Any = None,
    success: Any = None,
    error: Any = None,
    start_s: Any = None,
    chunk_gaps_s: list[Any] | None = None,
    cached_tokens: Any = None,
    client_wait_s: Any = None,
) -> RequestTable:
    """Build a per-request table with the canonical columns and dtypes.

    Every argument is a sequence of equal length (or None for "unknown").
    Failed requests get NaN latencies whatever the input said (tools write 0.0).
    """
    n = len(e2e_s)

    def col(values: Any, fill: Any = np.nan) -> np.ndarray:
        if values is None:
            return np.full(n, fill, dtype=float)
        return np.array(values, dtype=float)  # a copy: the table owns its columns

    ok = np.ones(n, dtype=bool) if success is None else np.array(success, dtype=bool)
    err = [""] * n if error is None else ["" if e is None else str(e) for e in error]
    ttft, e2e = col(ttft_s), col(e2e_s)
    ttft[~ok] = np.nan
    e2e[~ok] = np.nan
    start = col(start_s)
    known = ~np.isnan(start)
    if known.any():
        start = start - start[known].min()
    return RequestTable({
        "start_s": start,
        "ttft_s": ttft,
        "e2e_s": e2e,
        "input_tokens": col(input_tokens),
        "output_tokens": col(output_tokens),
        "success": ok,
        "error": _object_column(err, n),
        "chunk_gaps_s": _object_column(chunk_gaps_s if chunk_gaps_s is not None else [None] * n, n),
        "cached_tokens": col(cached_tokens),
        "client_wait_s": col(client_wait_s),
    })


def check_requests(df: RequestTable, file: str | Path, where: Any = None) -> None:
    """Reject impossible per-request values with a clear error.

    ``where(i)`` turns a row position into a location text (e.g. ``"line 14"``);
    the default is ``"request i"`` (1-based). Raises :class:`CasegenError`.
    """
    from casegen.errors import CasegenError

    where = where or (lambda i: f"request {i + 1}")
    ok = df["success"]
    for column, label in (("ttft_s", "TTFT"), ("e2e_s", "end-to-end latency")):
        values = df[column]
        bad = np.flatnonzero(ok & (values < 0))
        if bad.size:
            i = int(bad[0])
            raise CasegenError(
                f"negative {label} ({float(values[i]):g} s) in a successful request"
                + (f"; {bad.size} rows affected" if bad.size > 1 else ""),
                file=file, where=where(i), expected="a latency ≥ 0",
            )
    e2e = df["e2e_s"]
    bad = np.flatnonzero(ok & ~np.isfinite(e2e))
    if bad.size:
        i = int(bad[0])
        raise CasegenError(
            f"end-to-end latency is missing or not a finite number ({float(e2e[i])!r}) in a successful request"
            + (f"; {bad.size} rows affected" if bad.size > 1 else ""),
            file=file, where=where(i), expected="a finite latency; mark failed requests with success=false",
        )
    ttft = df["ttft_s"]
    bad = np.flatnonzero(ok & np.isfinite(ttft) & (ttft > e2e * (1 + 1e-9) + 1e-9))
    if bad.size:
        i = int(bad[0])
        raise CasegenError(
            f"TTFT ({ttft[i]:.6g} s) is larger than the end-to-end latency ({e2e[i]:.6g} s)",
            file=file, where=where(i), expected="TTFT ≤ end-to-end latency (check the units)",
        )
    for column in ("input_tokens", "output_tokens", "cached_tokens"):
        if column not in df:
            continue
        values = df[column]
        bad = np.flatnonzero(values < 0)
        if bad.size:
            i = int(bad[0])
            raise CasegenError(
                f"negative {column.replace('_', ' ')} ({values[i]:g})",
                file=file, where=where(i), expected="a token count ≥ 0",
            )
    if "cached_tokens" in df:
        cached, prompt = df["cached_tokens"], df["input_tokens"]
        bad = np.flatnonzero(np.isfinite(cached) & np.isfinite(prompt) & (cached > prompt))
        if bad.size:
            i = int(bad[0])
            raise CasegenError(
                f"cached tokens ({cached[i]:g}) exceed the prompt tokens ({prompt[i]:g})",
                file=file, where=where(i), expected="cached tokens ≤ prompt tokens (they are part of the prompt)",
            )
