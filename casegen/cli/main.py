"""The ``casegen`` command line: thin Click commands over library functions.

Conventions: results (paths written, tables, JSON) go to standard output; progress, notes,
warnings and errors to standard error; ``-q`` leaves only errors. Choices (``--theme``,
``--layout``, ``--format``) are checked while the command line is parsed (exit status 2).

Exit status (casegen.errors.EXIT_*): 0 success; 1 bad input (a clear message, no traceback);
2 a usage error (Click's own); 3 ``--strict`` and the runs raise threats to validity;
4 ``compare --fail-on-regression`` and a change is worse; 70 an internal error — a bug in casegen: a short request to report it, and the traceback only
with ``casegen --debug`` (or ``CASEGEN_DEBUG=1``).
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import traceback
import typing
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from casegen import __version__
from casegen.app.outputs import DEFAULT_OUTPUTS, OUTPUT_FORMATS
from casegen.case.model import ReportSettings
from casegen.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_REGRESSION, EXIT_THREATS, CasegenError

THEMES = typing.get_args(ReportSettings.model_fields["theme"].annotation)
LAYOUTS = typing.get_args(ReportSettings.model_fields["layout"].annotation)


def _user_errors(fn):
    """Turn :class:`CasegenError` into a message on stderr and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CasegenError as err:
            _input_error(err)

    return wrapper


def _input_error(err: CasegenError) -> None:
    click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
    click.echo(err.format(), err=True)
    sys.exit(EXIT_INPUT)


def _debug_requested(ctx: click.Context) -> bool:
    return bool(ctx.find_root().params.get("debug")) or os.environ.get("CASEGEN_DEBUG", "") not in ("", "0")


class _Casegen(click.Group):
    """Every command's failures end in an exit status from casegen.errors, never a bare traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CasegenError as err:
            _input_error(err)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort,
                KeyboardInterrupt, SystemExit):
            raise
        except MemoryError:
            click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
            click.echo("casegen ran out of memory on this input\n  hint: CASEGEN_MAX_INPUT_MB lowers the size of "
                       "the run files casegen accepts; split or trim very large runs", err=True)
            sys.exit(EXIT_INPUT)
        except Exception as err:  # a bug in casegen, not in the input: say so, with a distinct status
            debug = _debug_requested(ctx)
            if debug:
                traceback.print_exc()
            click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
            click.echo(f"casegen hit an internal error — please report it ({type(err).__name__}: {str(err)[:200]})",
                       err=True)
            click.echo(f"  casegen {__version__}; " + ("attach the traceback above" if debug else
                       "run again with `casegen --debug ...` to see the traceback and attach it"), err=True)
            sys.exit(EXIT_INTERNAL)


class UserPath(click.Path):
    """A path whose leading ``~`` is expanded (also when the shell did not, e.g. in ``-o=~/out``)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str):
            value = str(Path(value).expanduser())
        return super().convert(value, param, ctx)


class CommaChoice(click.ParamType):
    """A comma-separated list of choices, e.g. ``html,json`` (checked at parse time)."""

    name = "list"

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)

    def get_metavar(self, param: Any, *args: Any, **kwargs: Any) -> str:
        return "[" + "|".join(self.choices) + "],..."

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        items = tuple(v.strip() for v in str(value).split(",") if v.strip())
        bad = [v for v in items if v not in self.choices]
        if bad or not items:
            self.fail(f"{bad[0] if bad else repr(value)} is not one of {', '.join(self.choices)} "
                      "(give a comma-separated list, e.g. html,json)", param, ctx)
        return items


class LazyChoice(click.ParamType):
    """One value from a registry that is loaded only when the option is used (keeps ``--help`` fast)."""

    name = "choice"

    def __init__(self, choices: Callable[[], list[str]], metavar: str) -> None:
        self.choices, self.metavar = choices, metavar

    def get_metavar(self, param: Any, *args: Any, **kwargs: Any) -> str:
        return self.metavar

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        names = self.choices()
        if value not in names:
            self.fail(f"{value!r} is not a known format; one of: {', '.join(names)}", param, ctx)
        return value


def _format_names() -> list[str]:
    from casegen.runs import accepted_format_names

    return accepted_format_names()


#: True in the ``casegen`` console script (set by casegen.__main__): the process ends after one command.
ONE_SHOT = False


def _no_collection_until_exit() -> None:
    """In the console script, switch the cyclic garbage collector off for the rest of a build: a
    build allocates millions of short-lived objects and its cyclic garbage (chart figures, layout
    boxes) is a few MiB, so collecting it only costs time — about 0.2 s of CPU per example build
    (its young-generation collections of 50,000 objects each); peak memory of a 2 × 1M-request
    build is unchanged (644 MiB). The collector is not switched back on: the first collection would
    then scan every object the build allocated. Elsewhere (tests, a library caller) it is left alone."""
    if ONE_SHOT:
        gc.disable()


def _say(quiet: bool) -> Callable[[str], None] | None:
    """Progress lines on stderr, or nothing under -q."""
    return None if quiet else (lambda msg: click.echo(f"… {msg}", err=True))


def _diagnostics(notes: list[str], threats: list, quiet: bool, accepted: dict[str, str] | None = None) -> None:
    """Notes, threats to validity and what the author can do about them, on stderr (nothing under -q)."""
    from casegen.app.console import threat_lines

    if quiet:
        return
    for note in notes:
        click.secho(f"note: {note}", fg="yellow", err=True)
    for line in threat_lines(threats, accepted or {}):
        click.secho(line, fg="yellow", err=True)


def _fail_strict(threats: list, case_file: str, accepted: dict[str, str] | None = None) -> None:
    """``--strict``: an error naming the case and its threats (those accept: in case.yaml does not
    acknowledge), and a non-zero exit."""
    threats = [t for t in threats if t.key not in (accepted or {})]
    if not threats:
        return
    titles = list(dict.fromkeys(t.title for t in threats))
    click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
    click.echo(f"{case_file}: --strict: {len(titles)} threat(s) to validity: " + "; ".join(titles)
               + " (see the report's 'Threats to validity' section)", err=True)
    sys.exit(EXIT_THREATS)


QUIET = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
TRUST_PATHS = click.option(
    "--trust-case-paths", is_flag=True,
    help="Let case.yaml name files outside the case folder (runs, lm-eval results, templates; symbolic links "
         "followed). Off by default: a case someone sent must not read files elsewhere on your machine.")


def _color_wanted(no_color: bool = False) -> bool | None:
    """False when colour is switched off (``--no-color``, or the NO_COLOR convention: any non-empty
    value, https://no-color.org); None lets Click decide (colour on a terminal only)."""
    return False if no_color or os.environ.get("NO_COLOR", "") != "" else None


def _stdout_color() -> bool:
    """Colour for tables written to standard output: a terminal, and colour not switched off."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if (root is not None and root.color is False) or _color_wanted() is False:
        return False
    return sys.stdout.isatty()


@click.group(cls=_Casegen, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="casegen")
@click.option("--debug", is_flag=True, envvar="CASEGEN_DEBUG",
              help="Show the traceback of an internal error (a bug in casegen; exit status 70).")
@click.option("--no-color", is_flag=True, help="No colour in the output (also when NO_COLOR is set).")
@click.pass_context
def main(ctx: click.Context, debug: bool, no_color: bool) -> None:
    """Turn a baseline and an optimized benchmark run into a case study:
    measured latency and cost, as HTML, PDF and JSON.

    \b
    Quick start:
      casegen new my-case            # scaffold a case that builds as-is
      casegen build my-case          # → my-case/build/report.{html,pdf}, summary.json

    Results go to standard output, progress and warnings to standard error.
    Exit status: 0 success, 1 a problem with the input, 2 a usage error,
    3 --strict threats, 4 compare --fail-on-regression found a worse change,
    70 an internal error (a bug: see --debug).
    """
    if _color_wanted(no_color) is False:
        ctx.color = False  # every click.echo/secho below strips its styles


@main.command(short_help="Create a case folder with a case.yaml and example runs.")
@click.argument("directory", type=UserPath(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing case.yaml (and the example runs).")
@QUIET
@_user_errors
def new(directory: Path, force: bool, quiet: bool) -> None:
    """Create a case folder with a commented case.yaml and example runs.

    \b
    Example:
      casegen new my-case && casegen build my-case
    """
    from casegen.case.scaffold import new_case

    files = new_case(directory, force=force)
    if quiet:
        return
    click.echo(f"Created {directory}/ with:")
    for f in files:
        click.echo(f"  {f.relative_to(directory)}")
    click.echo(f"Next: edit {directory}/case.yaml, then run: casegen build {directory}")


@main.command(short_help="Check a case and read its runs, without rendering.")
@click.argument("case", type=UserPath(path_type=Path))
@click.option("--strict", is_flag=True, help="Exit with status 3 when the runs raise any threat to validity (for CI).")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable result on stdout: each side's run, the threats (with acknowledged reasons), "
                   "notes and whether --strict passes.")
@TRUST_PATHS
@QUIET
@_user_errors
def validate(case: Path, strict: bool, as_json: bool, trust_case_paths: bool, quiet: bool) -> None:
    """Check CASE (a folder or its case.yaml): read its runs and run the whole analysis, without rendering.

    Prints each side's run and request counts; notes and warnings go to stderr.

    \b
    Example:
      casegen validate cases/h100-llama31-8b-fp8
      casegen validate my-case --strict --json > validation.json
    """
    from casegen.app.build import validate_case
    from casegen.app.console import validate_lines

    if as_json:
        import json

        from casegen.app.console import validate_json

        try:
            study, _case_dir = validate_case(case, trust_case_paths=trust_case_paths)
        except CasegenError as err:  # still JSON on stdout (the message on stderr, as always)
            click.echo(json.dumps({"case": str(case), "valid": False, "error": err.format()}, indent=2,
                                  ensure_ascii=False))
            raise
        click.echo(json.dumps(validate_json(study), indent=2, ensure_ascii=False))
        if strict:
            _fail_strict(study.threats, study.case.file, study.case.accept)
        return
    study, _case_dir = validate_case(case, trust_case_paths=trust_case_paths)
    _diagnostics(study.notes, study.threats, quiet, study.case.accept)
    if not quiet:
        for line in validate_lines(study):
            click.echo(line)
        click.echo(f"{study.case.file}: valid")
    if strict:
        _fail_strict(study.threats, study.case.file, study.case.accept)


@main.command()
@click.argument("case", type=UserPath(path_type=Path))
@click.option("-o", "--outdir", type=UserPath(path_type=Path), default=None,
              help="Output folder (default: CASE/build).")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF (faster; HTML and summary.json only).")
@click.option("--format", "formats", type=CommaChoice(OUTPUT_FORMATS), default=None,
              help=f"Comma-separated outputs (default: {','.join(DEFAULT_OUTPUTS)}). The output folder then "
                   "holds exactly these: casegen's files from an earlier build that are not requested are removed.")
@click.option("--layout", type=click.Choice(LAYOUTS), default=None,
              help="full report, or one page (default: report.layout in case.yaml).")
@click.option("--theme", type=click.Choice(THEMES), default=None,
              help="Look of the report (default: report.theme in case.yaml).")
@click.option("--templates", type=UserPath(file_okay=False, path_type=Path), default=None,
              help="Folder of your own templates overriding the built-in ones (rendered in a sandbox).")
@click.option("--trust-case-templates", is_flag=True,
              help="Use the templates folder named by report.templates in case.yaml (off by default: "
                   "a case someone sent must not choose the templates that render it).")
@TRUST_PATHS
@click.option("--png", is_flag=True, help="Also write report.png, page 1 of the PDF (needs pypdfium2).")
@click.option("--strict", is_flag=True,
              help="Exit with status 3 when the report lists any threat to validity (for CI).")
@QUIET
@_user_errors
def build(case: Path, outdir: Path | None, no_pdf: bool, formats: tuple[str, ...] | None, layout: str | None,
          theme: str | None, templates: Path | None, trust_case_templates: bool, trust_case_paths: bool, png: bool,
          strict: bool, quiet: bool) -> None:
    """Build report.html, report.pdf and summary.json for CASE.

    CASE is a case folder or its case.yaml. Prints the files written, and casegen's
    files from an earlier build it removed: the output folder ends up holding exactly
    the requested outputs (your own files there are kept). Progress, notes and threats
    to validity go to stderr.

    \b
    Example:
      casegen build cases/h100-llama31-8b-fp8 -o out --format html,json --strict
    """
    if no_pdf and formats is not None and "pdf" in formats:
        raise click.UsageError("--no-pdf and --format with pdf contradict each other: give one of them")
    if formats is None and no_pdf:
        formats = tuple(f for f in DEFAULT_OUTPUTS if f != "pdf")
    _no_collection_until_exit()
    from casegen.app.build import build as build_case

    result = build_case(case, outdir, formats=formats, layout=layout, theme=theme, templates=templates, png=png,
                        trust_case_templates=trust_case_templates, trust_case_paths=trust_case_paths,
                        progress=_say(quiet))
    _diagnostics(result.study.notes, result.study.threats, quiet, result.study.case.accept)
    if not quiet:
        for f in result.files:
            if f.suffix != ".svg":
                click.echo(f"wrote {f}")
        charts = [f for f in result.files if f.suffix == ".svg"]
        if charts:
            click.echo(f"wrote {len(charts)} chart(s) in {charts[0].parent}")
        for f in result.removed:
            click.echo(f"removed {f} (an earlier build's; not requested now)")
        click.echo(f"built in {result.seconds:.2f} s", err=True)
    if strict:
        _fail_strict(result.study.threats, result.study.case.file, result.study.case.accept)


@main.command()
@click.option("-o", "--output", type=UserPath(dir_okay=False, path_type=Path), default=None,
              help="Write to a file instead of standard output.")
@_user_errors
def schema(output: Path | None) -> None:
    """Print the JSON Schema of case.yaml (for editor autocomplete).

    \b
    Example:
      casegen schema -o my-case/case.schema.json
    """
    from casegen.case.model import json_schema

    text = json_schema()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=UserPath(path_type=Path))
@click.option("--format", "fmt", type=LazyChoice(_format_names, "[auto|NAME]"), default="auto", show_default=True,
              help="Input format; names as in case.yaml's format: (docs/formats.md).")
@click.option("--select", default=None, help="Show only the run this selector picks, e.g. 'rate=10' or '2'.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_user_errors
def inspect(paths: tuple[Path, ...], fmt: str, select: str | None, as_json: bool) -> None:
    """Show what casegen reads from benchmark output files or folders.

    Format, runs and the selector values that pick them, per-request or
    summary only, request counts, headline metrics, names, warnings.

    \b
    Example:
      casegen inspect results/vllm-rate10.json --select rate=10
    """
    import json

    from casegen.app.inspect import format_text, inspect_path

    infos = [inspect_path(p, fmt, select) for p in paths]
    if as_json:
        click.echo(json.dumps(infos if len(infos) > 1 else infos[0], indent=2, default=str))
    else:
        click.echo("\n\n".join(format_text(i) for i in infos))


@main.command(short_help="How many requests and repetitions a side a change needs, from a pilot run.")
@click.argument("run", type=UserPath(path_type=Path))
@click.option("--format", "fmt", type=LazyChoice(_format_names, "[auto|NAME]"), default="auto", show_default=True,
              help="Input format; names as in case.yaml's format: (docs/formats.md).")
@click.option("--select", default=None, help="The run of a file with several, e.g. 'rate=10' or '2'.")
@click.option("--change", type=click.FloatRange(0.001, 10.0), default=0.10, show_default=True,
              help="Relative change to resolve (0.10 = 10 %).")
@click.option("--confidence", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True,
              help="Confidence of the two-sided test.")
@click.option("--power", type=click.FloatRange(0.5, 0.99), default=0.80, show_default=True,
              help="Chance of finding a true change of that size.")
@_user_errors
def plan(run: Path, fmt: str, select: str | None, change: float, confidence: float, power: float) -> None:
    """From a pilot run: requests (and minutes) a side, or requests per run with 3, 5 or 10
    repetitions a side, to resolve a relative change at p50, p95 and p99 of TTFT, TPOT and
    end-to-end latency, with the dependence between requests this run shows (docs/measuring.md).

    \b
    Example:
      casegen plan results/pilot.json --change 0.05
    """
    from casegen.analysis.plan import format_plan, plan_run
    from casegen.runs import load_run
    from casegen.runs.select import parse_selector

    r = load_run(run, fmt, parse_selector(select) if select not in (None, "") else None)
    if r.requests is None:
        raise CasegenError("a plan needs per-request data, but this run is summary only", file=str(run),
                           expected="a per-request run (e.g. vLLM --save-detailed, GuideLLM benchmarks.json)")
    click.echo(format_plan(plan_run(r, change, confidence, power)))


@main.command(short_help="Quick table of the deltas between two (or more) run files.")
@click.argument("a", type=UserPath(path_type=Path))
@click.argument("b", type=UserPath(path_type=Path))
@click.argument("more", nargs=-1, type=UserPath(path_type=Path))
@click.option("--select-a", default=None, help="Selector for a file of A with several runs.")
@click.option("--select-b", default=None, help="Selector for a file of B with several runs.")
@click.option("--select-more", multiple=True, help="Selectors for the third and later runs, in order (repeat the option).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--fail-on-regression", is_flag=True,
              help="Exit with status 4 when any change is worse (the 'Worse' lines; for CI).")
@_user_errors
def compare(a: Path, b: Path, more: tuple[Path, ...], select_a: str | None, select_b: str | None,
            select_more: tuple[str, ...], as_json: bool, fail_on_regression: bool) -> None:
    """Quick table of the deltas from run A (before) to run B (after); no case.yaml needed.

    With more runs (A B C …) each run is compared with the one before it (A→B, B→C, …), like the
    steps of a ladder (runs.steps in case.yaml).

    Shows requests sent, succeeded and failed on each side and warns (stderr)
    when the failures differ: latency only describes the requests that succeeded.

    \b
    Example:
      casegen compare baseline.json optimized.json
      casegen compare bf16.json fp8.json fp8-prefix.json
      casegen compare before.json after.json --fail-on-regression
    """
    import json

    from casegen.app.compare import compare_chain, compare_runs, format_chain, format_table

    if len(select_more) > len(more):
        raise click.UsageError(f"{len(select_more)} --select-more for {len(more)} run(s) after B")
    if not more:
        result = compare_runs(a, b, select_a=select_a, select_b=select_b)
        for w in result["warnings"]:
            click.secho(f"warning: {w}", fg="yellow", err=True)
        click.echo(json.dumps(result, indent=2) if as_json else format_table(result, color=_stdout_color()))
        if fail_on_regression and result["any_regression"]:
            sys.exit(EXIT_REGRESSION)
        return
    selects = [select_a, select_b, *select_more, *[None] * (len(more) - len(select_more))]
    chain = compare_chain([a, b, *more], selects=selects)
    for i, step in enumerate(chain["steps"], start=1):
        for w in step["warnings"]:
            click.secho(f"warning: step {i}: {w}", fg="yellow", err=True)
    click.echo(json.dumps(chain, indent=2) if as_json else format_chain(chain, color=_stdout_color()))
    if fail_on_regression and any(step["any_regression"] for step in chain["steps"]):
        sys.exit(EXIT_REGRESSION)


@main.command(short_help="Serve a case's report on 127.0.0.1, rebuilt on every save.")
@click.argument("case", type=UserPath(path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0: any free port). Only this machine can connect.")
@click.option("--layout", type=click.Choice(LAYOUTS), default=None,
              help="full report, or one page (default: report.layout in case.yaml).")
@click.option("--theme", type=click.Choice(THEMES), default=None,
              help="Look of the report (default: report.theme in case.yaml).")
@click.option("--templates", type=UserPath(file_okay=False, path_type=Path), default=None,
              help="Folder of your own templates overriding the built-in ones (watched for changes too).")
@click.option("--trust-case-templates", is_flag=True,
              help="Use the templates folder named by report.templates in case.yaml (as for build).")
@TRUST_PATHS
@QUIET
@_user_errors
def preview(case: Path, port: int, layout: str | None, theme: str | None, templates: Path | None,
            trust_case_templates: bool, trust_case_paths: bool, quiet: bool) -> None:
    """Serve CASE's report (HTML) at http://127.0.0.1:PORT/ and rebuild it when case.yaml,
    a run file or a template changes; the open page reloads itself.

    Only the HTML is rebuilt (no PDF, nothing written to disk). When only text changed
    (title, summary, notes, system, workload, …) the runs and the analysis are reused,
    so the page follows within about a second. A case.yaml that does not read keeps the
    last good report on screen, with the error above it. Stop with Ctrl+C.

    \b
    Example:
      casegen preview my-case --port 8000
    """
    from casegen.app.preview import HOST, PreviewServer

    say = _say(quiet)
    try:
        server = PreviewServer(case, port=port, templates=templates, theme=theme, layout=layout,
                               trust_case_templates=trust_case_templates, trust_case_paths=trust_case_paths,
                               say=say)
    except OSError as err:
        raise CasegenError(f"cannot listen on {port} ({err.strerror or err})",
                           expected="a free port (--port, or --port 0 for any)") from None
    click.echo(f"serving http://{HOST}:{server.port}/ (Ctrl+C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@main.command(short_help="Diagnose where latency goes in one run or a sweep: queue, prefill, decode.")
@click.argument("runs", nargs=-1, required=True, type=UserPath(path_type=Path))
@click.option("-o", "--outdir", type=UserPath(path_type=Path), required=True, help="Output folder.")
@click.option("--format", "formats", type=CommaChoice(("html", "pdf", "json")), default="html,pdf,json",
              show_default=True, help="Comma-separated outputs.")
@click.option("--input-format", "fmt", type=LazyChoice(_format_names, "[auto|NAME]"), default="auto",
              show_default=True, help="Input format; names as in case.yaml's format: (docs/formats.md).")
@click.option("--select", default=None, help="Keep only the runs this selector picks, e.g. 'rate=10'.")
@click.option("--title", default=None, help="Title of the diagnosis (default: 'Latency teardown: MODEL').")
@_user_errors
def teardown(runs: tuple[Path, ...], outdir: Path, formats: tuple[str, ...], fmt: str, select: str | None,
             title: str | None) -> None:
    """Write a short diagnosis (teardown.html, .pdf, .json) of benchmark RUNS.

    One run, or several (a sweep: every run of the files, ordered by load). For each:
    mean end-to-end time split into queue wait, prefill and decode; the prefill rate
    (Theil–Sen fit of TTFT on prompt length at light load, with interval); how TPOT grows
    with the number of requests in flight; the bottleneck named with its evidence
    (docs/teardown.md). Needs per-request data with TTFT and send times.

    \b
    Example:
      casegen teardown results/guidellm-sweep.json -o teardown --format html,json
    """
    from casegen.app.teardown import write_teardown

    for path in write_teardown(list(runs), outdir, tuple(formats), fmt, select, title):
        click.echo(f"wrote {path}")


@main.command(short_help="Build many cases, an index.html and one portfolio.pdf.")
@click.argument("dirs", nargs=-1, required=True, type=UserPath(path_type=Path))
@click.option("-o", "--outdir", type=UserPath(path_type=Path), required=True, help="Output folder.")
@click.option("-j", "--jobs", type=click.IntRange(1, 32), default=2, show_default=True, help="Cases built in parallel.")
@click.option("--title", default="Inference optimization case studies", show_default=True, help="Portfolio title.")
@click.option("--author", default=None, help="Name on the cover (default: the cases' authors).")
@click.option("--link", "links", multiple=True, metavar="URL",
              help="A link for the cover and the index (https://…, mailto:…); repeatable.")
@click.option("--no-pdf", is_flag=True, help="Skip the PDFs (the cases' and portfolio.pdf).")
@click.option("--order", default=None, metavar="NAME,NAME,…",
              help="Case folder names to show first, in this order (overrides portfolio.order in case.yaml); "
                   "default: cases with portfolio.order, lowest first, then the rest newest first.")
@click.option("--trust-case-templates", is_flag=True,
              help="Let each case use the templates folder its case.yaml names (report.templates); off by "
                   "default, when such a case is reported as not built.")
@TRUST_PATHS
@QUIET
@_user_errors
def portfolio(dirs: tuple[Path, ...], outdir: Path, jobs: int, title: str, author: str | None,
              links: tuple[str, ...], no_pdf: bool, order: str | None, trust_case_templates: bool,
              trust_case_paths: bool, quiet: bool) -> None:
    """Build every case in DIRS, an index.html and a combined portfolio.pdf.

    A DIR is a case folder or a folder of cases. Each case goes to OUTDIR/<name>/;
    a broken case is reported and the others are still built, with the index and
    portfolio.pdf (exit status 1). A case folder that links outside DIR is
    skipped and listed unless --trust-case-paths.

    \b
    Example:
      casegen portfolio cases -o site -j 2
      casegen portfolio cases -o site --order h100-llama31-8b-fp8,llm-d-l40s-ladder
    """
    from casegen.app.portfolio import build_portfolio

    bad = [u for u in links if not u.startswith(("https://", "http://", "mailto:"))]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is not a link (expected https://…, http://… or mailto:…)",
                                 param_hint="--link")
    result = build_portfolio(list(dirs), outdir, jobs=jobs, pdf=not no_pdf, title=title, author=author,
                             links=list(links), trust_case_templates=trust_case_templates,
                             order=[n.strip() for n in order.split(",") if n.strip()] if order else None,
                             trust_case_paths=trust_case_paths, progress=_say(quiet))
    if not quiet:
        for f in result.files:
            click.echo(f"wrote {f}")
        ok = [o for o in result.outcomes if o.ok]
        click.echo(f"{len(ok)} of {len(result.outcomes)} case(s) built", err=True)
    for o in result.failed:
        click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
        click.echo(f"case '{o.slug}' was not built:\n{o.error}", err=True)
    if result.book_error:
        click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
        click.echo(result.book_error, err=True)
    if result.failed or result.book_error:
        sys.exit(1)


if __name__ == "__main__":  # `python -m casegen.cli.main …` runs the CLI too (exit 0 with no output was a trap)
    main()
