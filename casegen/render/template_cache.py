"""Compiled templates kept between processes, as Python keeps compiled modules in ``.pyc`` files.

Compiling casegen's report templates costs about 0.1 s of CPU on every ``casegen build`` — a
twentieth of the whole build of the example. :class:`TemplateCache` keeps each compiled template
in memory for the process (``casegen preview``, a ``portfolio`` worker) and, when a private
per-user folder is available, on disk: ``$XDG_CACHE_HOME/casegen/templates/<key>`` (else
``~/.cache/…``), one folder per casegen version, Python version and template flavour.

What is loaded is only ever what Jinja compiled from the same source: Jinja keys each entry by
template name and file and rejects it when the source's checksum or Jinja's bytecode format
differs (an edited template, or a user's own template of the same name, is compiled again). The
folder must be owned by the user and writable by no one else (it holds code); otherwise, or when
it cannot be created, the cache stays in memory only. Entries are written atomically (a
temporary file renamed), so concurrent builds never read half an entry.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket

from casegen.safe_io import private_dir


def cache_folder(flavour: str, version: str) -> Path | None:
    """The on-disk folder for compiled templates of one flavour (``html``, ``md``), or None."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(root):
        return None
    tag = f"{version}-{sys.implementation.cache_tag}-jinja{jinja2.__version__}-{flavour}"
    return private_dir(Path(root) / "casegen" / "templates" / tag)


class TemplateCache(jinja2.BytecodeCache):
    """Compiled templates in memory for this process and, with a ``folder``, on disk between
    processes (see the module docstring)."""

    def __init__(self, flavour: str, version: str, limit: int = 512) -> None:
        self._store: dict[str, bytes] = {}
        self._limit = limit
        self._flavour = flavour
        self._version = version
        self._folder: Path | None = None
        self._looked_up = False  # the folder is found (and made) on first use

    def _disk(self) -> Path | None:
        if not self._looked_up:
            self._folder = cache_folder(self._flavour, self._version)
            self._looked_up = True
        return self._folder

    def load_bytecode(self, bucket: Bucket) -> None:
        data = self._store.get(bucket.key)
        if data is None and (folder := self._disk()) is not None:
            try:
                data = (folder / f"{bucket.key}.cache").read_bytes()
            except OSError:
                return
        if data is not None:
            bucket.bytecode_from_string(data)  # Jinja resets the bucket when magic or checksum differ

    def dump_bytecode(self, bucket: Bucket) -> None:
        data = bucket.bytecode_to_string()
        if len(self._store) >= self._limit:
            self._store.clear()
        self._store[bucket.key] = data
        folder = self._disk()
        if folder is None:
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, folder / f"{bucket.key}.cache")
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass  # a full or read-only disk: the cache is an optimisation, the build goes on
