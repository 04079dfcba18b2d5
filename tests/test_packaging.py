"""A plain, non-editable install from a wheel carries the templates and can build a report."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import EXAMPLE, ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src") / "casegen"
    # build from a clean copy so a stray build/ or cases/*/build never leaks into the wheel
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(src)], check=True)
    wheels = list(out.glob("casegen-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contains_templates(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("casegen/templates/report.html.j2", "casegen/templates/style.css",
                   "casegen/templates/sections/results.html.j2", "casegen/templates/new/case.yaml",
                   "casegen/cli/main.py", "casegen/runs/vllm.py"):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "cases/")) for n in names)


def test_installed_wheel_builds_the_example(wheel, tmp_path):
    """Install the wheel (non-editable) into its own folder and build from outside the source tree."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    case = tmp_path / "case"
    shutil.copytree(EXAMPLE, case, ignore=shutil.ignore_patterns("build"))
    where = subprocess.run([sys.executable, "-c", "import casegen; print(casegen.__file__)"],
                           cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(target)), where
    r = subprocess.run([sys.executable, "-m", "casegen", "build", str(case), "-o", str(tmp_path / "out")],
                       cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "report.pdf").read_bytes().startswith(b"%PDF")
    r = subprocess.run([sys.executable, "-m", "casegen", "--version"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0 and "casegen" in r.stdout
