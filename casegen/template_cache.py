"""A cache of casegen's own templates, compiled: Jinja's lexer, parser and code generator are
pure Python and took 0.13 s of every build (a twentieth of it) to turn the same ~80 packaged
templates into the same code.

Only templates packaged with casegen are cached — never a ``--templates`` folder or a case's own
templates — and a cached entry is used only if the template's source is unchanged (Jinja stores
a checksum of the source with the code). Entries live in a folder per casegen version, Jinja
version, Python bytecode tag and environment flavour, so nothing compiled for one is loaded by
another. The folder is ``$CASEGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/casegen``, else
``~/.cache/casegen`` (``templates/<tag>/`` inside it); ``CASEGEN_CACHE_DIR=""`` turns the cache
off. The cache is like Python's own ``__pycache__``: whoever can write to it can run code as
you, so it is created private (0700). A cache that cannot be read or written is skipped
silently: builds never fail, and never differ, because of it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket

from casegen import __version__

#: Largest cache entry read back (the biggest compiled template is ~60 KB).
MAX_ENTRY_BYTES = 4 * 1024 * 1024


def cache_root() -> Path | None:
    """The cache folder, or None when ``CASEGEN_CACHE_DIR`` is set and empty."""
    configured = os.environ.get("CASEGEN_CACHE_DIR")
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "casegen"


class PackagedTemplateCache(jinja2.BytecodeCache):
    """Jinja bytecode cache for the templates under ``packaged_dir`` only."""

    def __init__(self, directory: Path, packaged_dir: Path):
        self.directory = directory
        self.packaged_dir = packaged_dir.resolve()

    def _packaged(self, filename: str | None) -> bool:
        if not filename:
            return False
        try:
            return Path(filename).resolve().is_relative_to(self.packaged_dir)
        except OSError:
            return False

    def get_bucket(self, environment: jinja2.Environment, name: str, filename: str | None, source: str) -> Bucket:
        if self._packaged(filename):
            return super().get_bucket(environment, name, filename, source)
        return Bucket(environment, "", self.get_source_checksum(source))  # never loaded, never stored

    def set_bucket(self, bucket: Bucket) -> None:
        if bucket.key:
            super().set_bucket(bucket)

    def _path(self, bucket: Bucket) -> Path:
        return self.directory / f"{bucket.key}.jinja"

    def load_bytecode(self, bucket: Bucket) -> None:
        path = self._path(bucket)
        try:
            if not path.is_file() or path.stat().st_size > MAX_ENTRY_BYTES:
                return
            with open(path, "rb") as f:
                bucket.load_bytecode(f)  # checks Jinja's magic and the source checksum
        except (OSError, EOFError, ValueError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        tmp = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                bucket.write_bytecode(f)
            os.replace(tmp, self._path(bucket))
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def packaged_template_cache(packaged_dir: Path, flavour: dict[str, Any]) -> PackagedTemplateCache | None:
    """The cache for environments configured as ``flavour`` (every option that changes the code
    Jinja generates: environment class, autoescape, finalize, trim/lstrip blocks, …)."""
    root = cache_root()
    if root is None:
        return None
    ident = repr(sorted((k, repr(v)) for k, v in flavour.items()))
    tag = hashlib.sha256(
        f"{__version__}\n{jinja2.__version__}\n{sys.implementation.cache_tag}\n{ident}".encode()
    ).hexdigest()[:16]
    return PackagedTemplateCache(root / "templates" / tag, packaged_dir)
