"""Writing a build's outputs as one set: all new files or all old ones, never a mix.

A build renders everything in memory, then :func:`write_output_set`:

1. refuses an output folder inside the case that is a symbolic link leading out of it (a case
   someone sent must not make the build overwrite files elsewhere);
2. takes an exclusive lock, so two builds into one folder run one after the other instead of
   interleaving their files. The lock file lives in a private per-user folder
   (``$XDG_RUNTIME_DIR/casegen/locks``, else ``~/.cache/casegen/locks``, else
   ``<tmp>/casegen-<uid>/locks``), named by the SHA-256 of the output folder's resolved path: never
   in the case folder (where it showed in ``git status``, and where a case someone sent could
   plant a link in its place); it is opened with ``O_NOFOLLOW``. Builds by *different* users into
   one folder are not serialised (they would need write access to the same folder);
3. removes temporaries a killed build left behind (``.<folder>.casegen-new-*`` /
   ``-old-*`` folders beside it, ``.<name>.*.tmp`` files inside it) — a temporary that is a
   symbolic link is removed itself, never followed or renamed into place — and checks the output
   folder again after the cleanup;
4. writes every file into a new sibling folder ``.<folder>.casegen-new-*`` and swaps it with
   the output folder — atomically with Linux's ``renameat2(RENAME_EXCHANGE)``, else with two
   renames (a kill between them leaves the old set beside the folder, restored by the next build).

An existing output folder that holds files casegen did not write (``-o`` pointing at a folder of
your own) is never swapped away: casegen then replaces its own files there one by one, each
atomically, still under the lock, and removes its own files the new set does not hold — so either
way the folder ends up with exactly the requested outputs (:func:`own_files` says which they were);
a link in the place of one of casegen's own names (``charts``, ``report.html`` …) is replaced,
never written through.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from casegen.errors import CasegenError
from casegen.safe_io import private_dir

#: names casegen writes into an output folder (a folder holding only these is casegen's own)
OWN_NAMES = frozenset({"report.html", "report.pdf", "summary.json", "report.md", "report.png", "charts"})
_STALE_FILE = re.compile(r"^\..+\.tmp$")  # left by a killed write_atomic
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def check_output_folder(out: Path, case_dir: Path | None) -> Path:
    """The folder to write to (symlinks resolved); CasegenError if a link inside the case leads out."""
    absolute = Path(os.path.abspath(out))
    resolved = absolute.resolve()
    if case_dir is not None:
        case_abs = Path(os.path.abspath(case_dir))
        if _within(absolute, case_abs) and not _within(resolved, case_abs.resolve()):
            raise CasegenError(
                f"the output folder leads outside the case folder through a symbolic link (to {resolved})",
                file=out, expected="an output folder inside the case, or one you choose with -o",
                hint="a case folder someone sent can hold such a link to make the build overwrite files "
                     "elsewhere; remove the link, or pass -o with a folder of your choice",
            )
    if resolved.exists() and not resolved.is_dir():
        raise CasegenError("output path is not a folder", file=out, expected="a folder path (choose another with -o)")
    return resolved


def lock_dir() -> Path:
    """The per-user folder of output-folder locks (see the module docstring)."""
    candidates = []
    if os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "casegen" / "locks")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates.append(Path(cache) / "casegen" / "locks")
    candidates.append(Path(tempfile.gettempdir()) / f"casegen-{os.getuid()}" / "locks")
    for candidate in candidates:
        if candidate.is_absolute() and (found := private_dir(candidate)) is not None:
            return found
    raise CasegenError("no private folder for the build lock", file=candidates[-1],
                       expected="a writable $XDG_RUNTIME_DIR, ~/.cache or temporary folder")


def lock_path(out: Path) -> Path:
    """The lock file of the output folder ``out`` (resolved path)."""
    key = hashlib.sha256(os.fsencode(os.path.realpath(out))).hexdigest()[:32]
    return lock_dir() / f"{key}.lock"


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An exclusive lock on the output folder ``out``; the lock file is removed on release (a build
    that opened it meanwhile sees it was replaced and locks the new one), so none are left behind."""
    path = lock_path(out)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        fd = os.open(path, flags, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another build writes this folder
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        if current is not None and current.st_ino == os.fstat(fd).st_ino:
            break
        os.close(fd)  # removed by the build that held it: lock the new file
    try:
        yield
    finally:
        try:
            os.unlink(path)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _is_real_dir(path: Path) -> bool:
    """A folder, not a symbolic link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove(path: Path) -> None:
    """Remove a temporary: a real folder with its content, anything else (a link) itself only."""
    if _is_real_dir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _clean_stale(out: Path) -> None:
    """Temporaries of killed builds (safe: we hold the folder's lock). Nothing here is followed if
    it is a symbolic link: a link named like a temporary is removed, never renamed into place."""
    parent = out.parent
    prefix = f".{out.name}.casegen-"
    names = sorted(n for n in os.listdir(parent) if n.startswith(prefix))
    old_sets = [parent / n for n in names if n.startswith(prefix + "old-")]
    new_sets = [parent / n for n in names if n.startswith(prefix + "new-")]
    restorable = [p for p in old_sets if _is_real_dir(p)]
    if not os.path.lexists(out) and restorable:  # killed between the two renames of the fallback swap
        os.rename(restorable[-1], out)
        old_sets.remove(restorable[-1])
    for stale in old_sets + new_sets:
        _remove(stale)
    if _is_real_dir(out):
        for entry in os.scandir(out):
            if _STALE_FILE.match(entry.name) and not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)


def _replace_link_dirs(target: Path, rel: str) -> None:
    """Make every folder on the way from ``target`` to the file ``rel`` a real folder: a link there
    (``charts`` → elsewhere) is removed itself and a folder made in its place, so nothing is written
    through it."""
    current = target
    for part in Path(rel).parts[:-1]:
        current = current / part
        if os.path.islink(current):
            os.unlink(current)
        if not _is_real_dir(current):
            os.mkdir(current, 0o755)


def own_files(out: Path) -> set[str]:
    """casegen's files in an output folder (paths relative to it): its top-level outputs and the chart
    SVGs in charts/ (anything else you put in charts/ is not casegen's)."""
    if not out.is_dir():
        return set()
    found = {e.name for e in out.iterdir() if e.name in OWN_NAMES and e.name != "charts" and e.is_file()}
    charts = out / "charts"
    if charts.is_dir() and not charts.is_symlink():
        found |= {f"charts/{e.name}" for e in charts.iterdir()
                  if e.suffix == ".svg" and e.is_file() and not e.is_symlink()}
    return found


def _remove_own(out: Path, keep: set[str]) -> None:
    """Remove casegen's files no longer in the set (a folder holding files of yours: under the lock)."""
    for rel in sorted(own_files(out) - keep):
        (out / rel).unlink(missing_ok=True)
    charts = out / "charts"
    if charts.is_dir() and not charts.is_symlink() and not any(charts.iterdir()):
        charts.rmdir()


def _owned(out: Path) -> bool:
    return all(entry.name in OWN_NAMES for entry in out.iterdir())


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _write_tree(root: Path, files: list[tuple[str, bytes]]) -> None:
    for rel, data in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o644)


def write_output_set(out: str | Path, files: list[tuple[str, bytes]], *, case_dir: Path | None = None,
                     write_one=None) -> Path:
    """Write ``files`` (path relative to ``out``, bytes) as one set; returns the folder written.

    ``write_one(path, data)`` writes one file atomically (used only for a folder holding files
    casegen did not write).
    """
    target = check_output_folder(Path(out), case_dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _locked(target):
            _clean_stale(target)
            if check_output_folder(Path(out), case_dir) != target or os.path.islink(target):
                raise CasegenError("the output folder changed while casegen was cleaning up (a symbolic link "
                                   "appeared)", file=out, expected="an output folder that is not a link")
            if target.is_dir() and not _owned(target):
                for rel, data in files:
                    _replace_link_dirs(target, rel)
                    write_one(target / rel, data)
                _remove_own(target, {rel for rel, _data in files})
                return target
            new = Path(tempfile.mkdtemp(prefix=f".{target.name}.casegen-new-", dir=target.parent))
            try:
                os.chmod(new, 0o755)
                _write_tree(new, files)
                if not target.exists():
                    os.rename(new, target)
                elif _exchange(new, target):
                    shutil.rmtree(new)  # holds the previous set now
                else:
                    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.casegen-old-", dir=target.parent))
                    os.rmdir(old)
                    os.rename(target, old)
                    os.rename(new, target)
                    shutil.rmtree(old)
            finally:
                if new.exists():
                    shutil.rmtree(new, ignore_errors=True)
    except OSError as err:
        raise CasegenError(f"cannot write the report ({err.strerror or err})",
                           file=getattr(err, "filename", None) or out, expected="a writable output folder") from None
    return target
