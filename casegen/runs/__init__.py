"""Reading benchmark runs: format detection, importers and run selection.

Public API::

    runs = load_runs(path, format="auto")      # every run in a file
    run = load_run(path, select="rate=10")     # exactly one run
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from casegen.errors import CasegenError
from casegen.runs import table, vllm
from casegen.runs.fields import MAX_BYTES, first_json, read_text
from casegen.runs.model import LATENCY_METRICS, REQUEST_COLUMNS, Format, Run, RunMeta, sha256_file
from casegen.runs.select import describe_runs, parse_selector, select_run

__all__ = [
    "FORMATS", "LATENCY_METRICS", "REQUEST_COLUMNS", "Run", "RunMeta", "describe_runs",
    "detect_format", "load_run", "load_runs", "parse_selector", "select_run",
]



def _sniff_vllm(path: Path, text: str) -> bool:
    return vllm.looks_like(first_json(text))


def _sniff_casegen_jsonl(path: Path, text: str) -> bool:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    try:
        obj = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(obj, dict) and table.looks_like_header(list(obj))


def _sniff_casegen_csv(path: Path, text: str) -> bool:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if first.lstrip().startswith(("{", "[")):
        return False
    return table.looks_like_header([h.strip().strip('"') for h in first.split(",")])


_BUILTIN: list[Format] = [
    Format("vllm", "vLLM bench serve / benchmark_serving.py result JSON (also --append-result JSON Lines)",
           _sniff_vllm, vllm.read, priority=10),
    Format("casegen-jsonl", "casegen per-request JSON Lines (docs/run-format.md)",
           _sniff_casegen_jsonl, table.read_jsonl, takes_columns=True, priority=90),
    Format("casegen-csv", "casegen per-request CSV (docs/run-format.md)",
           _sniff_casegen_csv, table.read_csv, takes_columns=True, priority=91),
]


def _discover() -> list[Format]:
    """Built-in formats plus every ``FORMATS`` list defined by a module of this package."""
    import importlib
    import pkgutil

    found = list(_BUILTIN)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name in ("model", "select", "table", "vllm") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "FORMATS", []))
    return sorted(found, key=lambda f: (f.priority, f.name))


FORMATS: list[Format] = _discover()
_BY_NAME = {f.name: f for f in FORMATS}
_ALIASES = {"csv": "casegen-csv", "jsonl": "casegen-jsonl", "vllm-json": "vllm", "auto": "auto"}


def format_names() -> list[str]:
    return [f.name for f in FORMATS]


def detect_format(path: str | Path, text: str | None = None) -> str:
    """Name of the format of ``path``; a clear error listing the formats tried otherwise."""
    path = Path(path)
    text = read_text(path) if text is None else text
    if not text.strip():
        raise CasegenError("file is empty", file=path, expected="a benchmark result file")
    for fmt in FORMATS:
        if fmt.sniff is not None and fmt.sniff(path, text):
            return fmt.name
    tried = "\n".join(f"  - {f.name}: {f.description}" for f in FORMATS if f.sniff is not None)
    kind = "JSON from an unknown tool" if first_json(text) is not None else "neither JSON nor a CSV casegen can read"
    raise CasegenError(
        f"cannot tell which benchmark tool wrote this file ({kind}). Formats tried:\n{tried}",
        file=path,
        hint="set format: in case.yaml, or map CSV columns with columns: (see docs/run-format.md)",
    )


def load_runs(
    path: str | Path,
    format: str = "auto",
    *,
    columns: dict[str, str] | None = None,
    units: dict[str, str] | str | None = None,
    duration_s: float | None = None,
) -> list[Run]:
    """Read every run in ``path``. ``format`` is a name from :data:`FORMATS` or ``auto``."""
    path = Path(path)
    if path.is_dir():
        return _load_dir(path, _ALIASES.get(format, format))
    text = read_text(path)
    name = _ALIASES.get(format, format)
    if name == "auto":
        if columns and path.suffix.lower() in (".csv", ".tsv"):
            name = "casegen-csv"
        elif columns and path.suffix.lower() in (".jsonl", ".ndjson"):
            name = "casegen-jsonl"
        else:
            name = detect_format(path, text)
    if name not in _BY_NAME:
        raise CasegenError(f"unknown format '{format}'", expected="auto or one of: " + ", ".join(format_names()))
    fmt = _BY_NAME[name]
    if fmt.read is None:
        raise CasegenError(f"format {fmt.name} reads folders, not single files", file=path,
                           expected="the tool's output folder")
    sha = sha256_file(path)
    try:
        if fmt.takes_columns:
            runs = fmt.read(path, text, sha, columns=columns, units=units, duration_s=duration_s)
        else:
            runs = fmt.read(path, text, sha)
            if duration_s is not None:
                for run in runs:
                    run.meta.duration_s = duration_s
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:
        raise CasegenError(
            f"could not be read as {fmt.name}: {type(err).__name__}: {err}", file=path,
            expected=fmt.description,
        ) from None
    if not runs:
        raise CasegenError("holds no runs", file=path, expected=fmt.description)
    return runs


def detect_dir_format(path: Path) -> str:
    for fmt in FORMATS:
        if fmt.sniff_dir is not None and fmt.sniff_dir(path):
            return fmt.name
    tried = "\n".join(f"  - {f.name}: {f.description}" for f in FORMATS if f.sniff_dir is not None)
    raise CasegenError(
        "no benchmark output casegen recognises in this folder. Folder layouts tried:\n" + (tried or "  (none)"),
        file=path, expected="a run file, or a tool's output folder",
    )


def _load_dir(path: Path, name: str) -> list[Run]:
    if name == "auto":
        name = detect_dir_format(path)
    fmt = _BY_NAME.get(name)
    if fmt is None:
        raise CasegenError(f"unknown format '{name}'", expected="auto or one of: " + ", ".join(format_names()))
    if fmt.read_dir is None:
        raise CasegenError(f"is a folder, but format {fmt.name} reads single files", file=path,
                           expected="a path to a file")
    try:
        runs = fmt.read_dir(path)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:
        raise CasegenError(f"could not be read as {fmt.name}: {type(err).__name__}: {err}", file=path,
                           expected=fmt.description) from None
    if not runs:
        raise CasegenError("holds no runs", file=path, expected=fmt.description)
    return runs


def load_run(path: str | Path, format: str = "auto", select: Any = None, **options: Any) -> Run:
    """Read ``path`` and return the single run ``select`` picks."""
    runs = load_runs(path, format, **options)
    return select_run(runs, select, source=str(path))
