"""vLLM ``vllm bench sweep serve`` output trees.

The sweep driver writes, under ``{output_dir}/{timestamp}/``, one folder per
parameter combination named ``SERVE-{k=v-…}-BENCH-{k=v-…}`` (either half may be
absent), holding ``run=N.json`` (a normal ``vllm bench serve`` result plus
``run_number`` and the swept serve parameters) and ``summary.json`` (a JSON list of
that combination's runs — the same objects again). See docs/formats/vllm-sweep.md.

* a sweep folder (combination folders inside it, or one level deeper) → one run per
  ``run=N.json`` of every combination;
* one combination folder → its repetitions;
* a ``summary.json`` file → one run per entry.

``summary.json`` duplicates the ``run=N.json`` files, so it is read only when a
combination folder has no ``run=N.json``. Each result object is turned into a run by
the vLLM importer (:func:`casegen.runs.vllm.run_from_object`).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from casegen.errors import CasegenError
from casegen.runs import vllm
from casegen.runs.fields import read_text
from casegen.runs.jsonio import parse_json
from casegen.runs.model import Format, Run, sha256_file
from casegen.safe_io import read_text_capped

FORMAT = "vllm-sweep"
_RUN_FILE = re.compile(r"^run=(\d+)\.json$")
_SPLIT = re.compile(r"-(?=[A-Za-z_][A-Za-z0-9_.]*=)")

DEFINITIONS = [
    "Each run=N.json is an ordinary vLLM bench serve result: vLLM's TTFT, TPOT ((E2E − TTFT)/(N − 1)), "
    "ITL (pooled chunk gaps) and E2EL are casegen's TTFT, TPOT, ITL and E2E.",
    "The swept serve and bench parameters are read from the folder name SERVE-…-BENCH-… and kept as "
    "extra keys (e.g. max_num_seqs), together with 'run_number' (the repetition) — both usable in run selectors.",
]


def _coerce(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        f = float(value)
        return f if math.isfinite(f) or value.lower() in ("inf", "infinity") else value
    except ValueError:
        return value


def parse_combination(name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(serve params, bench params) from a folder name; None if it is not a combination folder.

    'SERVE--max_num_seqs=4-BENCH--max_concurrency=2-num_prompts=8' →
    ({'max_num_seqs': 4}, {'max_concurrency': 2, 'num_prompts': 8}).
    """
    serve_text = bench_text = ""
    if name.startswith("SERVE-"):
        rest = name[len("SERVE-"):]
        cut = rest.find("-BENCH-")
        if cut >= 0:
            serve_text, bench_text = rest[:cut], rest[cut + len("-BENCH-"):]
        else:
            serve_text = rest
    elif name.startswith("BENCH-"):
        bench_text = name[len("BENCH-"):]
    else:
        return None

    def params(text: str) -> dict[str, Any]:
        text = text.lstrip("-")
        out: dict[str, Any] = {}
        if not text:
            return out
        for part in _SPLIT.split(text):
            if "=" not in part:
                raise ValueError(part)
            k, v = part.split("=", 1)
            out[k] = _coerce(v)
        return out

    try:
        return params(serve_text), params(bench_text)
    except ValueError:
        return None


def _run_files(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for p in folder.iterdir():
        m = _RUN_FILE.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def _is_combination(folder: Path) -> bool:
    return (
        folder.is_dir() and parse_combination(folder.name) is not None
        and (bool(_run_files(folder)) or (folder / "summary.json").is_file())
    )


def _natural(s: str) -> list:
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s) if t]


def _combinations(path: Path) -> list[tuple[str | None, Path]]:
    """(sweep name or None, combination folder) under ``path`` (itself, children or grandchildren)."""
    if _is_combination(path):
        return [(None, path)]
    subdirs = sorted((p for p in path.iterdir() if p.is_dir()), key=lambda p: _natural(p.name))
    direct: list[tuple[str | None, Path]] = [(None, p) for p in subdirs if _is_combination(p)]
    if direct:
        return direct
    nested: list[tuple[str | None, Path]] = []
    for sweep in subdirs:
        for p in sorted((q for q in sweep.iterdir() if q.is_dir()), key=lambda q: _natural(q.name)):
            if _is_combination(p):
                nested.append((sweep.name, p))
    return nested


def sniff_dir(path: Path) -> bool:
    try:
        return bool(_combinations(path))
    except OSError:
        return False


def _load_json(path: Path) -> Any:
    return parse_json(read_text(path), path, "a vLLM bench serve result (JSON)")


def _check(obj: Any, path: Path, where: str) -> dict:
    if not vllm.looks_like(obj):
        raise CasegenError(
            "object is not a vLLM serving-benchmark result", file=path, where=where,
            expected="keys 'duration', 'completed', 'request_throughput' and 'mean_ttft_ms'",
        )
    return obj


def _finish(run: Run, folder: Path | None, sweep: str | None, run_number: int | None) -> Run:
    meta = run.meta
    meta.format = FORMAT
    params: dict[str, Any] = {}
    if folder is not None and (parsed := parse_combination(folder.name)) is not None:
        serve, bench = parsed
        params = {**serve, **bench}
        meta.extra["combination"] = folder.name
        for key, value in params.items():
            if key in ("max_concurrency", "num_prompts", "request_rate"):
                continue  # already in RunMeta from the result itself
            current = meta.extra.get(key)
            if current is not None and str(current) != str(value) and not _same_number(current, value):
                run.warnings.append(f"the folder name says {key}={value} but the result file says {key}={current}; "
                                    "using the result file's value")
                continue
            meta.extra[key] = value
    if sweep is not None:
        meta.extra["sweep"] = sweep
    if run_number is not None and "run_number" not in meta.extra:
        meta.extra["run_number"] = run_number
    rn = meta.extra.get("run_number")
    if meta.label is None:
        parts = [f"{k}={v}" for k, v in params.items()]
        if rn is not None:
            parts.append(f"run={rn}")
        meta.label = " ".join(parts) or None
    run.definitions = list(DEFINITIONS) + run.definitions
    return run


def _same_number(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def _runs_of(folder: Path, sweep: str | None, start: int) -> list[Run]:
    runs: list[Run] = []
    files = _run_files(folder)
    summary = folder / "summary.json"
    if files:
        for n, path in files:
            obj = _check(_load_json(path), path, "top level")
            run = vllm.run_from_object(obj, path, sha256_file(path), start + len(runs), 1, False)
            runs.append(_finish(run, folder, sweep, n))
        if summary.is_file():
            try:
                listed = json.loads(read_text_capped(summary))
            except (CasegenError, ValueError, RecursionError):
                listed = None
            if isinstance(listed, list) and len(listed) != len(files):
                for run in runs:
                    run.warnings.append(
                        f"{folder.name}/summary.json lists {len(listed)} runs but the folder has {len(files)} "
                        "run=N.json files; casegen reads the run=N.json files"
                    )
        return runs
    if summary.is_file():
        return _runs_from_summary(summary, _load_json(summary), sweep, start)
    raise CasegenError("combination folder has neither run=N.json files nor summary.json", file=folder,
                       expected="the output of vllm bench sweep serve")


def _runs_from_summary(path: Path, obj: Any, sweep: str | None, start: int) -> list[Run]:
    if not isinstance(obj, list):
        raise CasegenError(f"top level is a JSON {type(obj).__name__}", file=path, where="top level",
                           expected="a JSON list of vLLM results (vllm bench sweep serve summary.json)")
    if not obj:
        raise CasegenError("the list of runs is empty", file=path, where="top level",
                           expected="one vLLM result per repetition")
    sha = sha256_file(path)
    folder = path.parent if parse_combination(path.parent.name) is not None else None
    runs = []
    for i, item in enumerate(obj):
        _check(item, path, f"list index {i}")
        try:
            run = vllm.run_from_object(item, path, sha, start + i, i + 1, False)
        except CasegenError as err:
            raise CasegenError(err.what, file=path, where=f"list index {i}", expected=err.expected) from None
        run = _finish(run, folder, sweep, item.get("run_number") if isinstance(item.get("run_number"), int) else None)
        runs.append(run)
    return runs


def read_dir(path: Path) -> list[Run]:
    combos = _combinations(path)
    if not combos:
        raise CasegenError("no SERVE-…/BENCH-… combination folders with run=N.json here", file=path,
                           expected="a vllm bench sweep serve output folder")
    runs: list[Run] = []
    for sweep, folder in combos:
        runs.extend(_runs_of(folder, sweep, len(runs)))
    return runs


def _sniff(path: Path, text: str) -> bool:
    if not text.lstrip().startswith("[") or '"run_number"' not in text[:100000]:
        return False
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(obj, list) and bool(obj) and all(vllm.looks_like(x) for x in obj)


def read(path: Path, text: str, sha256: str) -> list[Run]:
    obj = parse_json(text, path, "a JSON list of vLLM results (vllm bench sweep serve summary.json)")
    return _runs_from_summary(path, obj, None, 0)


FORMATS = [
    Format(
        name=FORMAT,
        description="vLLM bench sweep serve output: SERVE-…-BENCH-…/run=N.json folders, or their summary.json",
        sniff=_sniff, read=read, sniff_dir=sniff_dir, read_dir=read_dir, priority=20,
    )
]
