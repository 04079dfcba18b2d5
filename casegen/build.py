"""``casegen build``: case folder → report.html, report.pdf, summary.json.

Everything is computed and rendered in memory first; only then are the files
written, each atomically (temporary file in the same folder + rename), so a
failed build never leaves a half-written report and never touches an earlier one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from casegen.case import load_case
from casegen.errors import CasegenError
from casegen.render import render_html, render_pdf
from casegen.study import Study, analyze, summary_dict


@dataclass
class BuildResult:
    outdir: Path
    files: list[Path]
    study: Study
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and an atomic rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _check_outdir(outdir: Path) -> None:
    """Fail early if ``outdir`` cannot be created or written (creates nothing)."""
    probe = outdir
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise CasegenError("output path is not a folder" if probe == outdir else f"{probe} is a file, not a folder",
                           file=outdir, expected="a folder path (choose another with -o)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise CasegenError("output folder is not writable", file=outdir,
                           expected="a writable folder (choose another with -o)")


def _make_outdir(outdir: Path) -> None:
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CasegenError(f"cannot create the output folder ({err.strerror})", file=outdir,
                           expected="a writable folder (choose another with -o)") from None


def build(case_path: str | Path, outdir: str | Path | None = None, *, pdf: bool = True) -> BuildResult:
    """Build the report of the case at ``case_path`` (a folder or its case.yaml)."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    case, case_dir = load_case(case_path)
    out = Path(outdir) if outdir is not None else case_dir / "build"
    _check_outdir(out)  # fail early, before the expensive work
    t = time.perf_counter()
    study = analyze(case, case_dir)
    timings["read+compute"] = time.perf_counter() - t
    t = time.perf_counter()
    html = render_html(study)
    timings["html"] = time.perf_counter() - t
    summary = json.dumps(summary_dict(study), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    outputs: list[tuple[Path, bytes]] = [
        (out / "report.html", html.encode("utf-8")),
        (out / "summary.json", summary.encode("utf-8")),
    ]
    if pdf:
        t = time.perf_counter()
        outputs.append((out / "report.pdf", render_pdf(html, case_dir, case.date)))
        timings["pdf"] = time.perf_counter() - t
    _make_outdir(out)
    try:
        for path, data in outputs:
            write_atomic(path, data)
    except OSError as err:
        raise CasegenError(f"cannot write the report ({err.strerror})", file=getattr(err, "filename", None) or out,
                           expected="a writable output folder") from None
    return BuildResult(out, [p for p, _ in outputs], study, time.perf_counter() - t0, timings)
