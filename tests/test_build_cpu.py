"""What keeps `casegen build` cheap in CPU (benchmarks/bench_scale.py measures the effect against
the hand-written pipeline): the console script's garbage-collector policy."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

from click.testing import CliRunner

from casegen.cli.main import main
from conftest import ROOT

EXAMPLE = ROOT / "cases" / "h100-llama31-8b-fp8"


def test_console_build_switches_the_collector_off_until_exit(tmp_path):
    """The console script's build runs without cyclic collections (it ends with the build)."""
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('collector', gc.isenabled(), file=sys.stderr))\n"
        f"sys.argv = ['casegen', 'build', {str(EXAMPLE)!r}, '-o', {str(tmp_path / 'out')!r}, '--format', 'json', '-q']\n"
        "from casegen.__main__ import main\n"
        "main()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "collector False" in done.stderr
    assert (tmp_path / "out" / "summary.json").is_file()


def test_build_in_a_library_caller_leaves_the_collector_alone(tmp_path):
    """Tests and library callers build many times in one process: their collector stays on."""
    assert gc.isenabled()
    result = CliRunner().invoke(main, ["build", str(EXAMPLE), "-o", str(tmp_path / "out"), "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    assert gc.isenabled()
