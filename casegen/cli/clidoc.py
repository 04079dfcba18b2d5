"""Generate docs/cli.md from the Click commands' own help (the commands are the source of truth).

Run ``python -m casegen.cli.clidoc > docs/cli.md``; a test fails when the file is stale.
"""

from __future__ import annotations


def command_help(path: list[str]) -> str:
    """``casegen <path> --help`` exactly as an 80-column (or wider) terminal shows it."""
    from click.testing import CliRunner

    from casegen.cli.main import main

    # Click wraps help at min(terminal columns, 80) - 2 = 78 on any terminal 80 or more wide
    # (CliRunner alone would force 80)
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="casegen", terminal_width=78)
    if result.exit_code != 0:
        raise RuntimeError(f"casegen {' '.join(path)} --help failed: {result.output}")
    return result.stdout


def command_names() -> list[str]:
    from casegen.cli.main import main

    return list(main.commands)


def cli_reference() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands' `--help` by `python -m casegen.cli.clidoc > docs/cli.md`;",
        "a test fails when this page and the code disagree.",
        "",
        "Results (files written, tables, JSON) go to standard output; progress, notes, warnings and",
        "errors go to standard error. `-q` leaves only errors. A leading `~` in any path is your home",
        "folder, on the command line and in `case.yaml`.",
        "",
        "Exit status: `0` success, `1` a problem with the input (the message names the file, the line or",
        "key, what was wrong and what was expected), `2` a usage error (unknown option, a value not among",
        "the choices), caught before anything is read, `3` threats to validity under `--strict`, `4` a",
        "worse change under `compare --fail-on-regression`, `70` an internal error (a bug in casegen;",
        "`casegen --debug ...` shows the traceback).",
        "",
        "Commands: " + ", ".join(f"[`{n}`](#casegen-{n})" for n in command_names()),
        "",
        "## casegen",
        "",
        "```console",
        "$ casegen --help",
        command_help([]).rstrip(),
        "```",
        "",
    ]
    for name in command_names():
        lines += [f"## casegen {name}", "", "```console", f"$ casegen {name} --help",
                  command_help([name]).rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(cli_reference(), end="")
