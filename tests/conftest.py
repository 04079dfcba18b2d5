"""Shared test helpers. Fixture files live in tests/fixtures/ with their provenance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
VLLM = FIXTURES / "vllm"
EXAMPLE = ROOT / "cases" / "h100-llama31-8b-fp8"


@pytest.fixture
def example_case(tmp_path: Path) -> Path:
    """A private copy of the worked example case (so tests can modify it)."""
    dst = tmp_path / "case"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("build"))
    return dst


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
