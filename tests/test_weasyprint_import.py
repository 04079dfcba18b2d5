"""casegen imports WeasyPrint without ctypes' library-search subprocesses, and restores ctypes."""

from __future__ import annotations

import subprocess
import sys


def test_import_weasyprint_spawns_no_library_search_and_restores_ctypes():
    code = (
        "import ctypes.util, subprocess\n"
        "spawned = []\n"
        "orig = subprocess.Popen.__init__\n"
        "def spy(self, *a, **k):\n"
        "    spawned.append(a[0] if a else k.get('args'))\n"
        "    return orig(self, *a, **k)\n"
        "subprocess.Popen.__init__ = spy\n"
        "before = ctypes.util.find_library\n"
        "from casegen.render.weasyprint_import import import_weasyprint\n"
        "w = import_weasyprint()\n"
        "assert hasattr(w, 'HTML')\n"
        "assert ctypes.util.find_library is before\n"
        "print(len(spawned))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0", out.stdout + out.stderr
