"""What a reader needs to rerun the comparison, and the files it was computed from.

``reproduce_view(study)`` merges the ``reproduce:`` block of case.yaml with what the benchmark
tools' files record (never guessed): per side and field, a value from case.yaml (side first, then
the shared level) wins over a value from the run's file; a field nobody recorded is named as
missing so the author can add it. ``input_files(study)`` lists every file the study read — both
sides, every repetition and every load point of a sweep — with its SHA-256.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casegen.analysis.study import SIDES, Study
from casegen.runs.model import Run

#: (key, row label) of the reproduce table, in display order.
FIELDS: tuple[tuple[str, str], ...] = (
    ("engine", "Engine"),
    ("flags", "Engine flags"),
    ("hardware", "Hardware"),
    ("driver", "Driver / CUDA"),
    ("command", "Benchmark command"),
)
#: engines a benchmark client's ``backend`` names unambiguously (the server it talked to)
_ENGINES = {"vllm": "vLLM", "sglang": "SGLang", "tgi": "TGI", "lmdeploy": "LMDeploy", "tensorrt-llm": "TensorRT-LLM"}


@dataclass(frozen=True)
class Cell:
    text: str | None
    source: str  # "case.yaml", "recorded by <tool>", or "" when missing


def _from_files(run: Run) -> dict[str, str]:
    """Values the run's own file records, by field."""
    meta = run.meta
    out: dict[str, str] = {}
    backend = (meta.backend or "").lower()
    engine = _ENGINES.get(backend) or (_ENGINES["sglang"] if meta.tool == "sglang" else None)
    if engine:
        # SGLang's bench_serving ships with the engine: its version is the engine's
        same_package = meta.tool == "sglang" and engine == "SGLang"
        out["engine"] = engine + (f" {meta.tool_version}" if same_package and meta.tool_version else "")
    combination = meta.extra.get("combination")
    if isinstance(combination, str):
        from casegen.runs.vllm_sweep import parse_combination

        parsed = parse_combination(combination)
        if parsed and parsed[0]:
            out["flags"] = " ".join(f"--{str(k).replace('_', '-')} {v}" for k, v in parsed[0].items())
    gpu = meta.extra.get("gpu")
    if isinstance(gpu, str) and gpu.strip():
        count, _, name = gpu.partition("x") if gpu[:1].isdigit() and "x" in gpu[:4] else ("", "", gpu)
        out["hardware"] = (f"{count}× " if count else "") + name.replace("_", " ")
    cli = meta.extra.get("cli_command")
    if isinstance(cli, str) and cli.strip():
        out["command"] = elide_local_paths(cli.strip())
    return out


#: an absolute (or home-relative) path of two or more parts inside a command, after a space, quote or "="
_LOCAL_PATH = re.compile(r"(^|[\s'\"=])(~?/(?:[^\s'\"/]+/)+)([^\s'\"/]+)")


def elide_local_paths(command: str) -> str:
    """The tool's recorded command with the folders of local paths elided ("/tmp/x/tokenizer" →
    "…/tokenizer"): they name the benchmarking machine's folders, which mean nothing to a reader (URLs
    and model ids such as "meta-llama/Llama-3.1-8B" are left alone)."""
    return _LOCAL_PATH.sub(lambda m: f"{m.group(1)}…/{m.group(3)}", command)


def _tool_name(run: Run) -> str:
    from casegen.registry import TOOL_NAMES

    return TOOL_NAMES.get(run.meta.tool, run.meta.tool).split(" / ")[0]


def reproduce_side(study: Study, side: str) -> dict[str, Cell]:
    block = study.case.reproduce
    own = getattr(block, side)
    run = study.runs[side]
    recorded = _from_files(run)
    cells: dict[str, Cell] = {}
    for key, _label in FIELDS:
        if key == "driver":
            parts = [(getattr(own, k) or getattr(block, k)) for k in ("driver", "cuda")]
            text = " / ".join(f"{name} {v}" for name, v in zip(("driver", "CUDA"), parts) if v) or None
            cells[key] = Cell(text, "case.yaml" if text else "")
            continue
        value = getattr(own, key) or getattr(block, key)
        if key == "engine":
            version = own.engine_version or block.engine_version
            if value and version:
                value = f"{value} {version}"
            elif version and not value:
                value = f"version {version}"
        if value:
            cells[key] = Cell(value, "case.yaml")
        elif key in recorded:
            cells[key] = Cell(recorded[key], f"recorded by {_tool_name(run)}")
        else:
            cells[key] = Cell(None, "")
    return cells


def reproduce_view(study: Study) -> dict[str, Any]:
    """Rows for the Method table, full commands for the appendix, and what nobody recorded."""
    sides = {s: reproduce_side(study, s) for s in SIDES}
    rows = []
    for key, label in FIELDS:
        cells = [sides[s][key] for s in SIDES]
        rows.append({"key": key, "label": label,
                     "cells": [{"text": c.text, "source": c.source} for c in cells]})
    missing = [label for key, label in FIELDS if all(sides[s][key].text is None for s in SIDES)]
    commands = [{"side": study.label(s), "text": sides[s]["command"].text, "source": sides[s]["command"].source,
                 "settings": study.runs[s].meta.describe_load()} for s in SIDES]
    return {"rows": rows, "commands": commands, "missing": missing,
            "any": any(c.text for s in SIDES for c in sides[s].values())}


def _runs_of(study: Study, side: str) -> list[Run]:
    run = study.runs[side]
    runs = [run, *run.parts]
    sweep = study.sweeps.get(side) if study.sweeps else None
    if sweep is not None:
        runs += [p.run for p in sweep.points]
    return runs


def _step_runs(study: Study) -> list[tuple[str, list[Run]]]:
    """A ladder's intermediate steps (label, runs read): files the two sides do not name."""
    if study.ladder is None:
        return []
    out = []
    for r in study.ladder.rungs:
        if not r.key.startswith("steps."):
            continue
        runs = [r.run, *r.run.parts] + ([p.run for p in r.sweep.points] if r.sweep is not None else [])
        out.append((r.label, runs))
    return out


def input_files(study: Study) -> list[dict[str, Any]]:
    """Every file read, once per side (and per ladder step), with its format, SHA-256 and the runs used
    from it; the sides first, then the steps in their order."""
    rows: list[dict[str, Any]] = []
    case_dir = study.case_dir.resolve()
    groups = [(study.label(side), _runs_of(study, side)) for side in SIDES]
    if study.ladder is not None:  # reading order: baseline, the steps, optimized
        groups = [groups[0], *_step_runs(study), groups[1]]
    for label, runs in groups:
        seen: dict[str, dict[str, Any]] = {}
        for run in runs:
            meta = run.meta
            key = str(meta.source)
            if key not in seen:
                try:
                    shown = str(Path(meta.source).resolve().relative_to(case_dir))
                except ValueError:
                    shown = Path(meta.source).name
                seen[key] = {"side": label, "file": shown, "sha256": meta.sha256,
                             "format": meta.format, "indexes": []}
                rows.append(seen[key])
            if meta.index not in seen[key]["indexes"]:
                seen[key]["indexes"].append(meta.index)
    for r in rows:
        idx = sorted(r.pop("indexes"))
        # run indexes inside the file, as selectors name them (index 0 of a one-run file is not shown)
        r["index"] = ", ".join(str(i) for i in idx) if idx != [0] else None
    return rows
