"""``casegen build``: case folder → report.html, report.pdf, summary.json.

Everything is computed and rendered in memory first; only then are the files
written, as one set (casegen.app.output_set: a new sibling folder swapped with the old
one, under a lock), so a failed or killed build never leaves a half-written report
or a mix of two builds, and never touches an earlier one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from casegen.analysis.study import Study, analyze
from casegen.app.output_set import check_output_folder, own_files, write_output_set
from casegen.app.outputs import OUTPUT_FORMATS, PNG_EXTRA_HINT
from casegen.case.model import load_case
from casegen.errors import CasegenError
from casegen.render.html import render_html, render_pdf, report_context
from casegen.report.build import build_report, summary_json
from casegen.report.model import Report
from casegen.safe_io import inside_case


@dataclass
class BuildResult:
    outdir: Path
    files: list[Path]
    study: Study
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    report: Report | None = None
    #: casegen's files from an earlier build that this build's set does not hold (removed)
    removed: list[Path] = field(default_factory=list)
    #: the HTML rendered for print (what the PDF was laid out from), when a PDF or ``print_html`` was asked for
    print_html: str = ""


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


FORMATS = OUTPUT_FORMATS


def _template_dir(case, case_dir: Path, templates: str | Path | None, trusted: bool,
                  trust_paths: bool = False) -> str | Path | None:
    """The template folder to use: ``--templates``, else the case's own only when trusted (and, unless
    ``trust_paths``, only inside the case folder)."""
    if templates is not None or not case.report.templates:
        return templates
    if not trusted:
        raise CasegenError(
            "case.yaml names its own templates (report.templates); casegen does not use templates "
            "chosen by a case unless told to", where=case.where("report", "templates"),
            expected="no report.templates, or the --trust-case-templates flag",
            hint="if you wrote or reviewed those templates, build with --trust-case-templates "
                 f"(or --templates {case_dir / case.report.templates})",
        )
    folder = case_dir / case.report.templates
    if not trust_paths:
        inside_case(folder, what="template folder", where=case.where("report", "templates"), root=case_dir)
    return folder


def render_png(pdf: bytes, scale: float = 1.5) -> bytes:
    """PNG of page 1 of a PDF (for social cards), with pypdfium2 (the ``png`` extra)."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        raise CasegenError("--png needs the pypdfium2 package", hint=PNG_EXTRA_HINT) from None
    import io

    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=scale).to_pil()
    finally:
        doc.close()
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _pdf_for_layout(html: str, study, case_dir: Path, layout: str, theme, templates, say, context) -> bytes:
    """PDF bytes from ``html`` (rendered for print); the one-page layout is tightened step by step
    until it fits one page (each step renders the templates again from ``context``, the report
    context ``html`` was made from)."""
    from casegen.render.html import PageOverflow

    if layout != "onepager":
        return render_pdf(html, case_dir, study.case.date)
    for tight in (0, 1, 2, 3):
        page_html = html if tight == 0 else render_html(study, layout=layout, theme=theme, templates=templates,
                                                        context=context, tight=tight, medium="print")
        try:
            return render_pdf(page_html, case_dir, study.case.date, max_pages=1)
        except PageOverflow as over:
            say(f"one-pager came out at {over.pages} pages; tightening (level {tight + 1})")
    raise CasegenError(
        "the one-page layout does not fit on one page even when tightened",
        hint="shorten summary:, the trade-off texts or the title in case.yaml, or use the full layout",
    )


def validate_case(case_path: str | Path, *, trust_case_paths: bool = False):
    """Everything ``build`` computes, without rendering: read the case and its runs, run the whole
    analysis, the findings and summary.json (which visit every computed figure, sweeps included), so
    "valid" means ``build`` gets past the analysis. Returns ``(study, case_dir)``."""
    case, case_dir = load_case(case_path, trust_paths=trust_case_paths)
    study = analyze(case, case_dir, trust_paths=trust_case_paths)
    json.dumps(summary_json(build_report(study)), sort_keys=True, ensure_ascii=False)
    return study, case_dir


def build(
    case_path: str | Path,
    outdir: str | Path | None = None,
    *,
    pdf: bool = True,
    formats: tuple[str, ...] | None = None,
    layout: str | None = None,
    theme: str | None = None,
    templates: str | Path | None = None,
    png: bool = False,
    trust_case_templates: bool = False,
    trust_case_paths: bool = False,
    progress: Callable[[str], None] | None = None,
    print_html: bool = False,
) -> BuildResult:
    """Build the outputs of the case at ``case_path`` (a folder or its case.yaml).

    ``formats`` ⊆ {html, pdf, json, md}; default html, json and (unless ``pdf=False``) pdf.
    ``png`` also writes ``report.png``, page 1 of the PDF. ``templates`` (the command line's
    ``--templates``) wins over ``report.templates`` in case.yaml, which is used only with
    ``trust_case_templates`` — a case someone sent must not choose the code that renders it.
    Unless ``trust_case_paths``, every file the case names must resolve inside its folder.
    ``print_html``: also render the HTML for print (``BuildResult.print_html``) without a PDF.
    """
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if formats is None:
        formats = ("html", "json") + (("pdf",) if pdf else ())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise CasegenError(f"unknown output format '{unknown[0]}'", expected="one of: " + ", ".join(OUTPUT_FORMATS))
    case, case_dir = load_case(case_path, trust_paths=trust_case_paths)
    templates = _template_dir(case, case_dir, templates, trust_case_templates, trust_case_paths)
    out = Path(outdir) if outdir is not None else case_dir / "build"
    _check_outdir(out)  # fail early, before the expensive work
    check_output_folder(out, case_dir)
    say(f"reading runs of {case_dir}")
    t = time.perf_counter()
    study = analyze(case, case_dir, trust_paths=trust_case_paths)
    timings["read+compute"] = time.perf_counter() - t
    t = time.perf_counter()
    report = build_report(study)
    timings["report"] = time.perf_counter() - t
    html = ""
    ctx = None  # the report context (charts drawn once) shared by the HTML, its tightening and Markdown
    want_print = "pdf" in formats or png or print_html
    printed = ""
    if "html" in formats or want_print:  # Markdown and JSON do not need the HTML
        t = time.perf_counter()
        say("rendering HTML")
        ctx = report_context(study, theme=theme, layout=layout, report=report, outputs=tuple(formats))
        if "html" in formats:
            html = render_html(study, layout=layout, theme=theme, templates=templates, context=ctx)
        if want_print:
            printed = render_html(study, layout=layout, theme=theme, templates=templates, context=ctx, medium="print")
        timings["html"] = time.perf_counter() - t
    outputs: list[tuple[Path, bytes]] = []
    if "html" in formats:
        outputs.append((out / "report.html", html.encode("utf-8")))
    if "json" in formats:
        summary = json.dumps(summary_json(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        outputs.append((out / "summary.json", summary.encode("utf-8")))
    if "md" in formats:
        from casegen.render.markdown import render_markdown

        text, files = render_markdown(study, report=report, outputs=tuple(formats), context=ctx)
        outputs.append((out / "report.md", text.encode("utf-8")))
        outputs += [(out / name, svg.encode("utf-8")) for name, svg in sorted(files.items())]
    if "pdf" in formats or png:
        say("rendering PDF")
        t = time.perf_counter()
        pdf_bytes = _pdf_for_layout(printed, study, case_dir, layout or case.report.layout, theme, templates, say,
                                    ctx)
        timings["pdf"] = time.perf_counter() - t
        if "pdf" in formats:
            outputs.append((out / "report.pdf", pdf_bytes))
        if png:
            outputs.append((out / "report.png", render_png(pdf_bytes)))
    rel_outputs = [(str(path.relative_to(out)), data) for path, data in outputs]
    removed = sorted(own_files(out) - {rel for rel, _data in rel_outputs})
    write_output_set(out, rel_outputs, case_dir=case_dir, write_one=write_atomic)
    return BuildResult(out, [p for p, _ in outputs], study, time.perf_counter() - t0, timings, report,
                       [out / rel for rel in removed], printed)
