"""The large fuzz job (slow; not in CI): ≥ 10,000 mutated inputs per importer, 0 tracebacks.

Run with ``python -m pytest -m slow tests/test_fuzz_slow.py`` (about an hour on two busy
cores) or ``python benchmarks/fuzz.py`` for the printed figures; ``CASEGEN_FUZZ_PER_TARGET``
changes the count. The quick property test in tests/test_fuzz_importers.py runs in CI.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_ten_thousand_mutations_per_importer_without_a_traceback(tmp_path):
    spec = importlib.util.spec_from_file_location("casegen_fuzz", ROOT / "benchmarks" / "fuzz.py")
    fuzz = importlib.util.module_from_spec(spec)
    sys.modules["casegen_fuzz"] = fuzz
    spec.loader.exec_module(fuzz)
    per_target = int(os.environ.get("CASEGEN_FUZZ_PER_TARGET", "10000"))
    lines: list[str] = []
    targets = fuzz.fuzz(per_target, seed=0, keep=tmp_path / "findings", say=lines.append)
    print("\n".join(lines))
    assert len(targets) >= 13  # every importer with a real fixture, casegen CSV/JSONL, case.yaml
    for t in targets:
        assert sum(t.counts.values()) == per_target, t.name
    findings = {t.name: dict(t.findings) for t in targets if t.counts["findings"]}
    assert not findings, "\n".join(lines)
