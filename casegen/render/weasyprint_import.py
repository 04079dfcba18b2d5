"""Importing WeasyPrint without its library search subprocesses.

WeasyPrint opens Pango, HarfBuzz, fontconfig and GObject by trying several names per library,
Windows and macOS spellings first. cffi hands every name that does not load at once to
``ctypes.util.find_library``, which on Linux runs ``ldconfig -p``, ``gcc`` and ``ld`` — about 50
subprocesses and 0.15–0.2 s of CPU per build, before the Linux name (``libpango-1.0.so.0``)
loads directly from the loader cache. On Linux casegen imports WeasyPrint with that search
switched off for the duration of the import; if the libraries are then not found (an unusual
install only ``find_library`` knows about) it imports again the normal way.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from types import ModuleType


@contextlib.contextmanager
def _no_find_library():
    import ctypes.util

    original = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = original


def import_weasyprint() -> ModuleType:
    """The ``weasyprint`` module (OSError when its system libraries are missing)."""
    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        return importlib.import_module("weasyprint")
    try:
        with _no_find_library():
            return importlib.import_module("weasyprint")
    except OSError:
        for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[name]
        return importlib.import_module("weasyprint")
