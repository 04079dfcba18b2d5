"""The output files ``casegen build`` can write (one list for the command line, build and docs)."""

from __future__ import annotations

OUTPUT_FORMATS: tuple[str, ...] = ("html", "pdf", "json", "md")
DEFAULT_OUTPUTS: tuple[str, ...] = ("html", "pdf", "json")
PNG_EXTRA_HINT = ("pip install pypdfium2 (it is casegen's 'png' extra: pip install '.[png]' in a casegen "
                  "clone, or pip install 'casegen[png] @ git+<repository URL>')")
