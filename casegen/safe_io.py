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
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from casegen.errors import CasegenError

_MIB = 1024 * 1024
#: default budget of one run file (the parsed data of a file is several times its size)
DEFAULT_MAX_INPUT_BYTES = 512 * _MIB
#: budget of case.yaml: a case description, not data
MAX_CASE_BYTES = 1 * _MIB


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
    return st


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
