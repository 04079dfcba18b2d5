"""The ``casegen`` command line: thin Click commands over library functions.

Exit status: 0 success, 1 a user error (clear message, no traceback),
2 a usage error (Click's own). Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from casegen import __version__


def _user_errors(fn):
    """Turn :class:`CasegenError` into a message on stderr and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from casegen.errors import CasegenError

        try:
            return fn(*args, **kwargs)
        except CasegenError as err:
            click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
            click.echo(err.format(), err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="casegen")
def main() -> None:
    """Turn a baseline and an optimized benchmark run into a case study:
    measured latency and cost, as HTML, PDF and JSON.

    \b
    Quick start:
      casegen new my-case            # scaffold a case that builds as-is
      casegen build my-case          # → my-case/build/report.{html,pdf}, summary.json
    """


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing case.yaml.")
@_user_errors
def new(directory: Path, force: bool) -> None:
    """Create a case folder with a commented case.yaml and example runs."""
    from casegen.scaffold import new_case

    files = new_case(directory, force=force)
    click.echo(f"Created {directory}/ with:")
    for f in files:
        click.echo(f"  {f.relative_to(directory)}")
    click.echo(f"Next: edit {directory}/case.yaml, then run: casegen build {directory}")


@main.command()
@click.argument("case", type=click.Path(path_type=Path))
@_user_errors
def validate(case: Path) -> None:
    """Check CASE (a folder or its case.yaml): read its runs and run the whole analysis, without rendering."""
    from casegen.build import validate_case

    study, case_dir = validate_case(case)
    for side in ("baseline", "optimized"):
        run, m = study.runs[side], study.metrics[side]
        kind = "per-request" if m.source == "per-request" else "summary only"
        click.echo(
            f"{side:9}  {Path(run.meta.source).name}  [{run.meta.format}, {kind}]  "
            f"{m.requests.get('succeeded')} ok / {m.requests.get('failed')} failed"
        )
    for note in study.notes:
        click.secho(f"note: {note}", fg="yellow")
    from casegen.report_build import author_actions

    for action in author_actions(study):
        click.secho(f"to fix: {action}", fg="yellow")
    click.echo(f"{case_dir / 'case.yaml' if Path(case).is_dir() else case}: valid")


@main.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.option("-o", "--outdir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: CASE/build).")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF (faster; HTML and summary.json only).")
@click.option("--format", "formats", default=None,
              help="Comma-separated outputs among html, pdf, json, md (default: html,pdf,json).")
@click.option("--layout", type=click.Choice(["full", "onepager"]), default=None,
              help="full report, or one page (default: report.layout in case.yaml).")
@click.option("--theme", default=None, help="modern or classic (default: report.theme in case.yaml).")
@click.option("--templates", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of your own templates overriding the built-in ones (rendered in a sandbox).")
@click.option("--trust-case-templates", is_flag=True,
              help="Use the templates folder named by report.templates in case.yaml (off by default: "
                   "a case someone sent must not choose the templates that render it).")
@click.option("--png", is_flag=True, help="Also write report.png, page 1 of the PDF (needs pypdfium2).")
@click.option("--strict", is_flag=True,
              help="Exit with status 1 when the report lists any threat to validity (for CI).")
@click.option("-q", "--quiet", is_flag=True, help="No progress or notes on stderr.")
@_user_errors
def build(case: Path, outdir: Path | None, no_pdf: bool, formats: str | None, layout: str | None,
          theme: str | None, templates: Path | None, trust_case_templates: bool, png: bool, strict: bool,
          quiet: bool) -> None:
    """Build report.html, report.pdf and summary.json for CASE."""
    from casegen.build import build as build_case

    fmt = tuple(f.strip() for f in formats.split(",") if f.strip()) if formats else None
    if fmt is None and no_pdf:
        fmt = ("html", "json")
    progress = None if quiet else (lambda msg: click.echo(f"… {msg}", err=True))
    result = build_case(case, outdir, formats=fmt, layout=layout, theme=theme, templates=templates, png=png,
                        trust_case_templates=trust_case_templates, progress=progress)
    if not quiet:
        for note in result.study.notes:
            click.secho(f"note: {note}", fg="yellow", err=True)
    for f in result.files:
        if f.suffix != ".svg":
            click.echo(f"wrote {f}")
    click.echo(f"built in {result.seconds:.2f} s")
    threats = result.study.threats
    if threats:
        seen = []
        for t in threats:
            if t.title not in seen:
                seen.append(t.title)
        if not quiet:
            click.secho(f"{len(seen)} threat(s) to validity: " + "; ".join(seen), fg="yellow", err=True)
            for action in (result.report.author_actions if result.report else []):
                click.echo(f"  to fix: {action}", err=True)
        if strict:
            click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
            click.echo("--strict: the report lists threats to validity (see its 'Threats to validity' section)", err=True)
            sys.exit(1)


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to a file instead of standard output.")
@_user_errors
def schema(output: Path | None) -> None:
    """Print the JSON Schema of case.yaml (for editor autocomplete)."""
    from casegen.case import json_schema

    text = json_schema()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", default="auto", show_default=True, help="Input format (auto-detected by default).")
@click.option("--select", default=None, help="Show only the run this selector picks, e.g. 'rate=10' or '2'.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_user_errors
def inspect(paths: tuple[Path, ...], fmt: str, select: str | None, as_json: bool) -> None:
    """Show what casegen reads from benchmark output files or folders."""
    import json

    from casegen.inspect import format_text, inspect_path

    infos = [inspect_path(p, fmt, select) for p in paths]
    if as_json:
        click.echo(json.dumps(infos if len(infos) > 1 else infos[0], indent=2, default=str))
    else:
        click.echo("\n\n".join(format_text(i) for i in infos))


@main.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option("--select-a", default=None, help="Selector for a file of A with several runs.")
@click.option("--select-b", default=None, help="Selector for a file of B with several runs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_user_errors
def compare(a: Path, b: Path, select_a: str | None, select_b: str | None, as_json: bool) -> None:
    """Quick table of the deltas from run A (before) to run B (after); no case.yaml needed."""
    import json

    from casegen.compare import compare_runs, format_table

    result = compare_runs(a, b, select_a=select_a, select_b=select_b)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(format_table(result, color=sys.stdout.isatty()))


@main.command()
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--outdir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("-j", "--jobs", type=click.IntRange(1, 32), default=2, show_default=True, help="Cases built in parallel.")
@click.option("--title", default="Inference optimization case studies", show_default=True, help="Portfolio title.")
@click.option("--author", default=None, help="Name on the cover (default: the cases' authors).")
@click.option("--no-pdf", is_flag=True, help="Skip the PDFs.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@_user_errors
def portfolio(dirs: tuple[Path, ...], outdir: Path, jobs: int, title: str, author: str | None, no_pdf: bool,
              quiet: bool) -> None:
    """Build every case in DIRS, an index.html and a combined portfolio.pdf."""
    from casegen.portfolio import build_portfolio

    progress = None if quiet else (lambda msg: click.echo(f"… {msg}", err=True))
    result = build_portfolio(list(dirs), outdir, jobs=jobs, pdf=not no_pdf, title=title, author=author,
                             progress=progress)
    for f in result.files:
        click.echo(f"wrote {f}")
    ok = [o for o in result.outcomes if o.ok]
    click.echo(f"{len(ok)} of {len(result.outcomes)} case(s) built")
    for o in result.failed:
        click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
        click.echo(f"case '{o.slug}' was not built:\n{o.error}", err=True)
    if result.failed:
        sys.exit(1)
