"""Reading benchmark runs: format detection, importers and run selection.

Public API::

    runs = load_runs(path, format="auto")      # every run in a file
    run = load_run(path, select="rate=10")     # exactly one run
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from casegen.errors import CasegenError
from casegen.runs import table, vllm
from casegen.runs.fields import DATA_ERRORS, first_json, first_line_json, read_text, scrub, scrub_text
from casegen.runs.jsonio import first_line, one_parse_per_file
from casegen.runs.model import LATENCY_METRICS, REQUEST_COLUMNS, Format, Run, RunMeta, sha256_file
from casegen.runs.plausibility import check_run
from casegen.runs.select import describe_runs, parse_selector, select_run
from casegen.safe_io import OutsideCaseError

__all__ = [
    "FORMATS", "LATENCY_METRICS", "accepted_format_names", "REQUEST_COLUMNS", "Run", "RunMeta", "describe_runs",
    "detect_format", "load_run", "load_runs", "parse_selector", "select_run",
]



def _sniff_vllm(path: Path, text: str) -> bool:
    return vllm.looks_like(first_json(text))


def _sniff_casegen_jsonl(path: Path, text: str) -> bool:
    obj = first_line_json(text)
    return isinstance(obj, dict) and table.looks_like_header(list(obj))


def _sniff_casegen_csv(path: Path, text: str) -> bool:
    first = first_line(text)
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


def accepted_format_names() -> list[str]:
    """Every value ``format:`` accepts: ``auto``, each registered format, then the short aliases."""
    return ["auto"] + format_names() + sorted(a for a in _ALIASES if a != "auto")


def _sniffs(fmt: Format, path: Path, text: str) -> bool:
    """``fmt.sniff`` on untrusted text: a sniffer that cannot even parse the text (a JSON value over
    Python's limits, nesting deeper than the parser's recursion limit) does not recognise it."""
    try:
        return bool(fmt.sniff(path, text))  # type: ignore[misc]
    except (ValueError, RecursionError):
        return False


def _refuse_known_non_results(path: Path, text: str) -> None:
    """Files benchmark tools write beside their results that are not results: say what they are and
    which file of the folder to use instead (rather than listing every format tried)."""
    obj = first_json(text) if path.suffix.lower() == ".json" else None
    items = obj.get("data") if isinstance(obj, dict) else None
    if isinstance(items, list) and items and all(isinstance(i, dict) and ("payloads" in i or "payload" in i)
                                                  for i in items[:20]):
        tool = "AIPerf's" if any("payloads" in i for i in items[:20]) else "GenAI-Perf's"
        siblings = sorted(p.name for p in path.parent.glob("profile_export*") if p.is_file())
        raise CasegenError(
            f"this is {tool} inputs file (the prompts it sent), not its results", file=path,
            expected="the results beside it: " + (", ".join(siblings) if siblings else
                                                  "profile_export.jsonl or profile_export_aiperf.json")
            + f", or the folder {path.parent}")
_META_TEXT_FIELDS = ("tool_version", "model", "tokenizer", "backend", "date", "label")


def scrub_meta(run: Run) -> None:
    """Secret-looking values (tokens, API keys, passwords) out of every metadata string a run
    carries into a report, whatever the importer already did (casegen.runs.fields.scrub)."""
    meta = run.meta
    for name in _META_TEXT_FIELDS:
        value = getattr(meta, name)
        if isinstance(value, str):
            setattr(meta, name, scrub_text(value))
    meta.extra = scrub(meta.extra)


def detect_format(path: str | Path, text: str | None = None) -> str:
    """Name of the format of ``path``; a clear error listing the formats tried otherwise."""
    path = Path(path)
    text = read_text(path) if text is None else text
    if not text.strip():
        raise CasegenError("file is empty", file=path, expected="a benchmark result file")
    for fmt in FORMATS:
        if fmt.sniff is not None and _sniffs(fmt, path, text):
            return fmt.name
    _refuse_known_non_results(path, text)
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
    with one_parse_per_file():  # the sniffer's parse of a JSON document is the reader's
        return _load_file(path, format, columns=columns, units=units, duration_s=duration_s)


def _load_file(
    path: Path,
    format: str,
    *,
    columns: dict[str, str] | None,
    units: dict[str, str] | str | None,
    duration_s: float | None,
) -> list[Run]:
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
    except DATA_ERRORS as err:  # parse errors of the user's data; casegen's own bugs keep their traceback
        raise CasegenError(
            f"could not be read as {fmt.name}: {type(err).__name__}: {err}", file=path,
            expected=fmt.description,
        ) from None
    except RecursionError:
        raise CasegenError(f"is nested too deeply to read as {fmt.name}", file=path, expected=fmt.description) from None
    if not runs:
        raise CasegenError("holds no runs", file=path, expected=fmt.description)
    for run in runs:
        check_run(run)
        scrub_meta(run)
    return runs


#: Format-name endings that name a file kind, not a tool ("aiperf-jsonl" → tool "aiperf").
_KIND_SUFFIXES = ("-aggregate-csv", "-html", "-per-request", "-aggregate", "-jsonl", "-json", "-csv", "-raw", "-dir", "-sweep")
_LOOSE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".yaml", ".yml")
_MAX_LOOSE_FILES = 200


def tool_of_format(name: str) -> str:
    """The tool a format belongs to: 'aiperf-jsonl' → 'aiperf', 'vllm-sweep' → 'vllm'."""
    for suffix in _KIND_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _loose_files(path: Path) -> dict[Path, str]:
    """Files directly in ``path`` whose format casegen recognises, with that format."""
    found: dict[Path, str] = {}
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _LOOSE_SUFFIXES)
    for f in files[:_MAX_LOOSE_FILES]:
        try:
            found[f] = detect_format(f)
        except OutsideCaseError:  # a link out of the case: say so, rather than skip it as "not a run"
            raise
        except CasegenError:
            continue  # not a benchmark output (a config file, a note): not a candidate
    return found


def _candidates_text(layouts: list[Format], loose: dict[Path, str]) -> str:
    lines = [f"  - the folder as {f.name} ({f.description})" for f in layouts]
    lines += [f"  - {p.name}: {name}" for p, name in loose.items()]
    return "\n".join(lines)


def detect_dir_format(path: Path) -> str:
    """The one folder layout of ``path``; an error listing the candidates when it holds outputs of
    several tools, or none."""
    layouts = [f for f in FORMATS if f.sniff_dir is not None and f.sniff_dir(path)]
    tools = {tool_of_format(f.name) for f in layouts}
    loose = _loose_files(path)
    foreign = {p: n for p, n in loose.items() if tool_of_format(n) not in tools}
    if len(tools) > 1 or (layouts and foreign):
        raise CasegenError(
            "this folder holds outputs of several tools; casegen will not guess which one you mean. Found:\n"
            + _candidates_text(layouts, loose),
            file=path, hint="point case.yaml at one file or one tool's output folder, or set format: to one of "
                            + ", ".join(sorted({f.name for f in layouts} | set(foreign.values()))),
        )
    if layouts:
        return layouts[0].name
    if loose:
        return "files"
    tried = "\n".join(f"  - {f.name}: {f.description}" for f in FORMATS if f.sniff_dir is not None)
    raise CasegenError(
        "no benchmark output casegen recognises in this folder. Folder layouts tried:\n" + (tried or "  (none)"),
        file=path, expected="a run file, or a tool's output folder",
    )


def _load_files(path: Path) -> list[Run]:
    """A folder of loose run files of one format (e.g. several SGLang JSONL files): every run of
    every file, in file-name order; several formats are an error listing them."""
    loose = _loose_files(path)
    formats = sorted(set(loose.values()))
    if len(formats) > 1:
        raise CasegenError(
            "this folder holds run files of several formats; casegen will not guess which you mean. Found:\n"
            + _candidates_text([], loose),
            file=path, hint="point case.yaml at one file, or keep one tool's files per folder",
        )
    runs: list[Run] = []
    for f in loose:
        for run in load_runs(f):
            run.meta.extra.setdefault("file", f.name)
            if run.meta.label is None:
                run.meta.label = f.stem if len(runs) == 0 and run.meta.index == 0 else f"{f.stem}#{run.meta.index}"
            run.meta.index = len(runs)
            runs.append(run)
    return runs


def _load_dir(path: Path, name: str) -> list[Run]:
    if name == "auto":
        name = detect_dir_format(path)
        if name == "files":
            return _load_files(path)
    fmt = _BY_NAME.get(name)
    if fmt is None:
        raise CasegenError(f"unknown format '{name}'", expected="auto or one of: " + ", ".join(format_names()))
    if fmt.read_dir is None:
        picked = [p for p, n in _loose_files(path).items() if n == fmt.name]
        if len(picked) == 1:
            return load_runs(picked[0], fmt.name)
        raise CasegenError(f"is a folder, but format {fmt.name} reads single files"
                           + (f" and {len(picked)} files here are {fmt.name}: "
                              + ", ".join(p.name for p in picked) if picked else ""),
                           file=path, expected="a path to a file")
    try:
        runs = fmt.read_dir(path)
    except DATA_ERRORS as err:  # parse errors of the user's data; casegen's own bugs keep their traceback
        raise CasegenError(f"could not be read as {fmt.name}: {type(err).__name__}: {err}", file=path,
                           expected=fmt.description) from None
    except RecursionError:
        raise CasegenError(f"is nested too deeply to read as {fmt.name}", file=path, expected=fmt.description) from None
    if not runs:
        raise CasegenError("holds no runs", file=path, expected=fmt.description)
    for run in runs:
        check_run(run)
        scrub_meta(run)
    return runs


def load_run(path: str | Path, format: str = "auto", select: Any = None, *, select_option: str | None = None,
             **options: Any) -> Run:
    """Read ``path`` and return the single run ``select`` picks (``select_option``: the command-line
    option that sets ``select``, for the error's hint)."""
    runs = load_runs(path, format, **options)
    return select_run(runs, select, source=str(path), option=select_option)
