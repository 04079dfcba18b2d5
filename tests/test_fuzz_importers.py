"""Property test: mutated real fixtures either parse into runs or fail with a clean user error.

Every file under tests/fixtures/ (real tool outputs) is mutated at random — truncated, a byte
changed, a line dropped or duplicated, a number turned into text, a key renamed — and read with
format auto-detection. The only acceptable outcomes are a list of runs or a CasegenError; any
other exception (KeyError, TypeError, …) is a bug.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casegen.analysis.metrics import compute_run_metrics
from casegen.errors import CasegenError
from casegen.runs import load_runs
from conftest import FIXTURES


def _one_per_kind(paths):
    """One file per (tool folder, file name): the fixtures of a release repeat each kind at several
    loads, and mutating one of them covers the importer's path for that kind."""
    seen, out = set(), []
    for p in paths:
        key = (p.relative_to(FIXTURES).parts[0], p.name)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


FILES = _one_per_kind(sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".csv", ".yaml")
                             and p.stat().st_size < 400_000
                             and "hostile" not in p.relative_to(FIXTURES).parts))  # real tool outputs only


def mutate(text: str, kind: int, a: float, b: float) -> str:
    n = len(text)
    i = int(a * n)
    lines = text.splitlines(keepends=True)
    j = int(b * len(lines)) if lines else 0
    if kind == 0:  # truncate
        return text[:i]
    if kind == 1:  # replace one character
        return text[:i] + "#" + text[i + 1:]
    if kind == 2 and lines:  # drop a line
        return "".join(lines[:j] + lines[j + 1:])
    if kind == 3 and lines:  # duplicate a line
        return "".join(lines[:j + 1] + lines[j:])
    if kind == 4:  # turn the k-th number into text
        nums = list(re.finditer(r"-?\d+\.?\d*(e[-+]?\d+)?", text))
        if nums:
            m = nums[int(b * len(nums)) % len(nums)]
            return text[:m.start()] + '"oops"' + text[m.end():]
    if kind == 5:  # rename the k-th key
        keys = list(re.finditer(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:', text))
        if keys:
            m = keys[int(b * len(keys)) % len(keys)]
            return text[:m.start()] + '"zz_renamed":' + text[m.end():]
    if kind == 6:  # negate the k-th number
        nums = list(re.finditer(r"(?<![\w.-])\d+\.\d+", text))
        if nums:
            m = nums[int(b * len(nums)) % len(nums)]
            return text[:m.start()] + "-" + text[m.start():]
    if kind == 7:  # empty a list
        lists = list(re.finditer(r"\[[^\[\]]*\]", text))
        if lists:
            m = lists[int(b * len(lists)) % len(lists)]
            return text[:m.start()] + "[]" + text[m.end():]
    return text


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.integers(0, 7), a=st.floats(0, 1), b=st.floats(0, 1))
def test_mutated_fixture_parses_or_fails_cleanly(tmp_path_factory, path: Path, kind: int, a: float, b: float):
    original = path.read_text(encoding="utf-8")
    d = tmp_path_factory.mktemp("fuzz")
    target = d / path.name
    target.write_text(mutate(original, kind, a, b), encoding="utf-8")
    # keep sibling files (LLMPerf pairs, sweep trees) so folder-aware importers see a realistic layout
    for sib in path.parent.iterdir():
        if sib.is_file() and sib.name != path.name:
            (d / sib.name).write_bytes(sib.read_bytes())
    try:
        runs = load_runs(target)
    except CasegenError as err:
        assert str(err)  # a message, not an empty error
        return
    assert runs
    for run in runs:
        try:
            compute_run_metrics(run)
        except CasegenError:
            pass
