"""`python -m casegen.cli` is the CLI, like `python -m casegen` and the `casegen` script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_python_m_casegen_cli_runs_the_cli():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "casegen.cli", "--help"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0 and "build" in r.stdout, (r.stdout, r.stderr)
