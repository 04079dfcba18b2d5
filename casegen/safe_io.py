"""Reading input files safely: regular files only, within a size budget, with clear errors.

Every file casegen reads from a case (``case.yaml``, run files, files inside a tool's output
folder) goes through :func:`read_bytes_capped` / :func:`read_text_capped`, so that

* a device (``/dev/zero``, ``/dev/urandom``), FIFO or socket is refused before reading — it
  would otherwise read forever or block forever;
* a file larger than its budget is refused before reading (``CASEGEN_MAX_INPUT_MB`` raises
  or lowers the default budget of run files);
* missing, unreadable, directory and non-UTF-8 inputs each get one clear
  :class:`~casegen.errors.CasegenError` naming the file, never an ``OSError`` traceback.

The file is opened with ``O_NONBLOCK`` and checked with ``fstat`` on the open descriptor, so a
path swapped for a FIFO between the check and the read cannot block the build either.

Confinement: while :func:`confined_to` is active (``casegen build``/``validate`` without
``--trust-case-paths``), every file read here must resolve — symbolic links followed — inside the
case folder; :func:`inside_case` checks a path a case names before anything reads it, with its
case.yaml location. :func:`find_files` is the one bounded folder search: it never follows a link
into another folder and stops after a fixed number of entries.
"""

from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator

from casegen.errors import CasegenError

_MIB = 1024 * 1024
#: default budget of one run file (the parsed data of a file is several times its size)
DEFAULT_MAX_INPUT_BYTES = 512 * _MIB
#: budget of case.yaml: a case description, not data
MAX_CASE_BYTES = 1 * _MIB


#: the folder every input must resolve inside (None: no confinement; set by :func:`confined_to`)
_ROOT: ContextVar[Path | None] = ContextVar("casegen_input_root", default=None)
TRUST_HINT = ("a case folder someone sent can name files elsewhere on your machine; if you wrote or reviewed "
              "this case, build it with --trust-case-paths")


class OutsideCaseError(CasegenError):
    """An input resolves outside the case folder (and the user did not pass --trust-case-paths)."""


@contextmanager
def confined_to(root: str | Path | None) -> Iterator[None]:
    """Within the block, every input read through this module must resolve inside ``root``
    (symlinks followed); ``None`` lifts the confinement (``--trust-case-paths``)."""
    token = _ROOT.set(Path(os.path.realpath(root)) if root is not None else None)
    try:
        yield
    finally:
        _ROOT.reset(token)


def _real(path: str | Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except ValueError:  # embedded NUL
        raise CasegenError("path contains a NUL byte", file=repr(str(path)), expected="a file path") from None


def is_within(path: str | Path, folder: str | Path) -> bool:
    """``path`` is ``folder`` or below it (both taken as they are; resolve them first)."""
    p, f = os.path.normpath(path), os.path.normpath(folder)
    return p == f or p.startswith(f.rstrip(os.sep) + os.sep)


def inside_case(path: str | Path, *, what: str = "input file", where: str | None = None,
                root: str | Path | None = None) -> Path:
    """``path`` if it resolves (symlinks followed) inside ``root`` (default: the active confinement);
    a CasegenError naming the path, where the case names it, and ``--trust-case-paths`` otherwise."""
    folder = Path(os.path.realpath(root)) if root is not None else _ROOT.get()
    if folder is None:
        return Path(path)
    real = _real(path)
    if not is_within(real, folder):
        raise OutsideCaseError(
            f"{what} {str(path)!r} leads outside the case folder (to {real})", file=None if where else path,
            where=where, expected=f"a path inside the case folder {folder}",
            hint=TRUST_HINT,
        )
    return Path(path)


def private_dir(path: Path) -> Path | None:
    """``path`` created (mode 0700) if needed; None unless it is a real folder of ours that nobody
    else can write (a folder another user made in a shared /tmp is not used). Used for casegen's
    own per-user state: output-folder locks, the compiled-template cache."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None
    return path


def max_input_bytes() -> int:
    """Budget of one run file: ``CASEGEN_MAX_INPUT_MB`` (MiB) if set, else 512 MiB."""
    raw = os.environ.get("CASEGEN_MAX_INPUT_MB")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            raise CasegenError(f"CASEGEN_MAX_INPUT_MB is '{raw}'", expected="a number of MiB, e.g. 1024") from None
        if value > 0:
            return int(value * _MIB)
    return DEFAULT_MAX_INPUT_BYTES


def _size_text(n: int) -> str:
    return f"{n / _MIB:,.0f} MiB" if n >= _MIB else f"{n / 1024:,.0f} KiB" if n >= 1024 else f"{n} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _os_error(err: OSError, path: Path, what: str) -> CasegenError:
    if err.errno == errno.ENOENT:
        return CasegenError(f"{what} not found", file=path, expected="an existing file")
    if err.errno in (errno.EACCES, errno.EPERM):
        return CasegenError(f"{what} cannot be read (permission denied)", file=path,
                            expected="a file you have permission to read")
    if err.errno == errno.EISDIR:
        return CasegenError(f"{what} is a folder", file=path, expected="a regular file")
    if err.errno == errno.ELOOP:
        return CasegenError(f"{what} is a symbolic link loop", file=path, expected="a regular file")
    return CasegenError(f"{what} cannot be read ({err.strerror or err})", file=path, expected="a readable regular file")


def check_regular_file(path: str | Path, *, what: str = "input file") -> os.stat_result:
    """``stat`` of ``path`` if it is a regular file (symlinks followed); CasegenError otherwise."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as err:
        raise _os_error(err, path, what) from None
    except ValueError:  # embedded NUL in the path
        raise CasegenError(f"{what} path contains a NUL byte", file=repr(str(path)), expected="a file path") from None
    if not stat.S_ISREG(st.st_mode):
        raise CasegenError(f"{what} is {_kind(st.st_mode)}", file=path, expected="a regular file")
    inside_case(path, what=what)
    return st


def _opened_inside(fd: int, path: Path, what: str) -> None:
    """The file behind an open descriptor is inside the confinement (a link swapped in between the
    check and the open is caught here); skipped where /proc is not available."""
    root = _ROOT.get()
    if root is None:
        return
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return
    if not is_within(real, root):
        raise OutsideCaseError(f"{what} leads outside the case folder (to {real})", file=path,
                               expected="a file inside the case folder", hint=TRUST_HINT)


def read_bytes_capped(path: str | Path, max_bytes: int | None = None, *, what: str = "input file") -> bytes:
    """The bytes of the regular file ``path``, refusing it before reading if over ``max_bytes``."""
    path = Path(path)
    limit = max_input_bytes() if max_bytes is None else max_bytes
    check_regular_file(path, what=what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise _os_error(err, path, what) from None
    try:
        st = os.fstat(fd)
        _opened_inside(fd, path, what)
        if not stat.S_ISREG(st.st_mode):  # swapped since the check
            raise CasegenError(f"{what} is {_kind(st.st_mode)}", file=path, expected="a regular file")
        if st.st_size > limit:
            raise _too_big(path, what, st.st_size, limit)
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 8 * _MIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    except OSError as err:
        raise _os_error(err, path, what) from None
    finally:
        os.close(fd)
    if len(data) > limit:  # grew while being read
        raise _too_big(path, what, len(data), limit)
    return data


def _too_big(path: Path, what: str, size: int, limit: int) -> CasegenError:
    return CasegenError(
        f"{what} is {_size_text(size)}, more than the {_size_text(limit)} casegen reads", file=path,
        expected=f"a file of at most {_size_text(limit)}",
        hint="for run files, set CASEGEN_MAX_INPUT_MB to raise the limit if the machine has the memory",
    )


def read_text_capped(path: str | Path, max_bytes: int | None = None, *, what: str = "input file",
                     expected: str = "UTF-8 text") -> str:
    """The UTF-8 text (a BOM is dropped) of the regular file ``path``, within ``max_bytes``."""
    raw = read_bytes_capped(path, max_bytes, what=what)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise CasegenError(f"{what} is not UTF-8 text (byte {err.start})", file=path, where=f"line {line}",
                           expected=expected) from None


#: bounds of :func:`find_files`: folder levels below the start, and entries looked at in all
MAX_SEARCH_DEPTH = 4
MAX_SEARCH_ENTRIES = 10_000


def find_files(folder: str | Path, wanted: Callable[[str], bool], *, max_depth: int = MAX_SEARCH_DEPTH,
               max_entries: int = MAX_SEARCH_ENTRIES, what: str = "folder") -> list[Path]:
    """Files under ``folder`` whose name ``wanted`` accepts, sorted; at most ``max_depth`` levels down.

    Never follows a symbolic link into another folder (a link to ``/`` is not a way to walk the
    whole disk); anything else whose name is wanted is returned (the reader then checks it is a
    regular file inside the case, and names it if not). More than
    ``max_entries`` entries in all is a CasegenError rather than a long walk.
    """
    root = Path(folder)
    found: list[Path] = []
    seen = 0
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        current, depth = stack.pop()
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            raise _os_error(err, current, what) from None
        for entry in entries:
            seen += 1
            if seen > max_entries:
                raise CasegenError(f"{what} holds more than {max_entries:,} entries; casegen stops searching",
                                   file=root, expected="a small folder, or the path of the file itself")
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < max_depth:
                        stack.append((Path(entry.path), depth + 1))
                elif wanted(entry.name):  # files, links, and FIFOs or devices the reader then refuses by name
                    found.append(Path(entry.path))
            except OSError:
                continue
    return sorted(found)
