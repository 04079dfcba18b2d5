"""Where casegen's packaged files are: the templates folder (wheel or source checkout)."""

from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    """Folder of the packaged templates (wheel) or of the source checkout."""
    here = Path(__file__).resolve().parent  # the casegen package
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "report.html.j2").is_file():
            return candidate
    raise RuntimeError("casegen templates not found; the installation is incomplete")
