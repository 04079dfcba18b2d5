"""The docs cannot drift from the command line: docs/cli.md, the README and the CI recipe."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from casegen.cli.clidoc import cli_reference, command_help
from casegen.cli.main import main
from conftest import EXAMPLE

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
WORKFLOWS = {  # layout → (workflow file, the files of casegen's example that go to the repository's top)
    "fork": (ROOT / "examples" / "github-actions" / "casegen-fork.yml", []),
    "cases-repo": (ROOT / "examples" / "github-actions" / "cases-repo" / ".github" / "workflows" / "casegen.yml",
                   [ROOT / "examples" / "github-actions" / "cases-repo" / "casegen-requirements.txt"]),
}


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"-h", "--help"}


def test_cli_reference_is_up_to_date():
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_reference(), \
        "docs/cli.md is stale: run `python -m casegen.cli.clidoc > docs/cli.md`"


def test_every_command_has_an_example_that_parses():
    for name in main.commands:
        text = command_help([name])
        assert "Example:" in text, name
        example = text.split("Example:")[1].strip().splitlines()[0].strip()
        for part in example.split("&&"):
            words = shlex.split(part)
            assert words[:2] == ["casegen", name] or words[0] == "casegen", example
            sub = main.commands[words[1]]
            for w in words[2:]:
                if w.startswith("-"):
                    assert w.split("=")[0] in _options(sub), (name, w)


def test_readme_help_block_matches_the_cli():
    block = re.search(r"```console\n\$ casegen --help\n(.*?)```", README, re.S)
    assert block, "README lost its `casegen --help` block"
    assert block.group(1) == command_help([]), "README's `casegen --help` differs from the command"


def test_readme_mentions_only_options_that_exist():
    """Every `casegen CMD ... --opt` written in the README (and docs/) names a real command and option."""
    texts = [README] + [p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))]
    seen = set()
    for text in texts:
        for m in re.finditer(r"`casegen ([a-z]+)((?: [^`]*)?)`", text):
            name, rest = m.group(1), re.split(r"&&|\|\||[|;>]", m.group(2))[0]
            assert name in main.commands, f"README/docs mention unknown command 'casegen {name}'"
            for opt in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", rest):
                assert opt in _options(main.commands[name]), f"'casegen {name}' has no option {opt}"
            seen.add(name)
    assert seen >= set(main.commands), f"commands never shown in the README/docs: {set(main.commands) - seen}"
    # every option of every command is in the generated reference
    reference = cli_reference()
    for name, cmd in main.commands.items():
        for p in cmd.params:
            for opt in p.opts:
                if opt.startswith("-"):
                    assert opt in reference, (name, opt)


def test_readme_build_output_is_what_build_prints(tmp_path, monkeypatch):
    """The README's sample session, replayed: same lines, except the time."""
    block = re.search(r"```console\n\$ python3 -m venv .venv && . .venv/bin/activate && pip install \.\n\$ (casegen build \S+)\n(.*?)```", README, re.S)
    assert block
    command, expected = block.group(1), block.group(2)
    case_rel = command.split()[-1]
    shutil.copytree(EXAMPLE, tmp_path / case_rel, ignore=shutil.ignore_patterns("build"))
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, command.split()[1:])
    assert r.exit_code == 0, r.output
    time_re = re.compile(r"built in [0-9.]+ s")
    got = time_re.sub("built in N s", r.output)
    want = time_re.sub("built in N s", expected)
    assert got == want, got
    assert r.stdout == "".join(line + "\n" for line in want.splitlines() if line.startswith("wrote "))


@pytest.mark.parametrize("layout", sorted(WORKFLOWS))
def test_ci_workflow_parses_and_its_commands_exist(layout):
    wf = yaml.safe_load(WORKFLOWS[layout][0].read_text(encoding="utf-8"))
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers and "pull_request" in triggers
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    uses = [s.get("uses", "") for s in build["steps"] + deploy["steps"]]
    assert "libpango-1.0-0" in runs and "pip install" in runs
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert deploy["needs"] == "build" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    calls = [line.strip() for line in runs.splitlines() if re.match(r"\s*casegen ", line)]
    assert any("--strict" in c for c in calls), "the workflow must fail on threats to validity"
    built = [c for c in calls if c.split()[1] == "portfolio"]
    assert built
    site = shlex.split(built[0])[shlex.split(built[0]).index("-o") + 1]
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == site
    for call in calls:
        words = shlex.split(call.split("||")[0])
        assert words[1] in main.commands or words[1] == "--version", call
        if words[1] in main.commands:
            for w in words[2:]:
                if w.startswith("-"):
                    assert w in _options(main.commands[words[1]]), call
            # the arguments parse (shell variables stand in for paths)
            args = [re.sub(r'"?\$\(?[^ ]*', "cases/x", w) for w in words[2:]]
            ctx = main.commands[words[1]].make_context(words[1], args, resilient_parsing=False)
            assert ctx is not None


def _layout(layout: str, root: Path) -> Path:
    """The repository a user has, for each layout: a fork holds casegen (pyproject.toml, cases/, …); a
    repository of cases holds cases/ and the files of the recipe."""
    workflow, extra = WORKFLOWS[layout]
    root.mkdir(parents=True)
    if layout == "fork":
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, root / name)
        shutil.copytree(ROOT / "cases", root / "cases", ignore=shutil.ignore_patterns("build"))
    else:
        shutil.copytree(ROOT / "cases" / "h100-llama31-8b-fp8", root / "cases" / "fp8",
                        ignore=shutil.ignore_patterns("build"))
        for f in extra:
            shutil.copy(f, root / f.name)
    (root / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(workflow, root / ".github" / "workflows" / "casegen.yml")
    return root


@pytest.mark.parametrize("layout", sorted(WORKFLOWS))
def test_ci_recipe_runs_in_its_layout(layout, tmp_path):
    """What stopped the recipe on GitHub: setup-python's pip cache needs a key file that exists in the
    repository (none in a repository of cases), the install spec must be set in one place and be
    installable (not '.' without a pyproject.toml), and the check step must pass on the cases."""
    import os
    import subprocess
    import sys

    repo = _layout(layout, tmp_path / "repo")
    wf = yaml.safe_load((repo / ".github" / "workflows" / "casegen.yml").read_text(encoding="utf-8"))
    steps = wf["jobs"]["build"]["steps"]
    setup = next(st for st in steps if st.get("uses", "").startswith("actions/setup-python@"))
    if setup["with"].get("cache") == "pip":
        key = setup["with"].get("cache-dependency-path")
        assert key, "cache: pip without cache-dependency-path needs a requirements.txt/pyproject.toml at the top"
        assert (repo / key).is_file(), f"the cache key file {key} is not in the {layout} layout"
    install = next(st["run"] for st in steps if st.get("name") == "Install casegen")
    specs = re.findall(r"pip install (?!--upgrade)(.+)", install)
    assert len(specs) == 1, specs
    spec = specs[0].strip()
    if spec == ".":
        assert (repo / "pyproject.toml").is_file()
    else:
        assert spec == "-r casegen-requirements.txt"
        pins = [ln for ln in (repo / "casegen-requirements.txt").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
        assert len(pins) == 1 and re.fullmatch(r"casegen @ git\+https://github\.com/[^/]+/casegen@v\d+\.\d+\.\d+", pins[0])
        assert "example.org" not in install
    # the check step, run as GitHub runs it (bash -e), with this casegen on PATH
    check = next(st for st in steps if "validate --strict" in st.get("run", ""))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "casegen").write_text(f"#!/bin/sh\nexec {sys.executable} -c 'from casegen.cli.main import main; "
                                    "main(prog_name=\"casegen\")' \"$@\"\n")
    (bindir / "casegen").chmod(0o755)
    env = {**os.environ, **{k: str(v) for k, v in wf.get("env", {}).items()},
           "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    r = subprocess.run(["bash", "-e", "-c", check["run"]], cwd=repo, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count(": valid") == len(list((repo / "cases").glob("*/case.yaml")))


def test_generated_help_is_what_a_terminal_shows():
    """docs/cli.md and the README show the help exactly as a real terminal (80+ columns) prints it."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", "from casegen.cli.main import main; main(prog_name='casegen')", "build",
                          "--help"], capture_output=True, text=True, env=env, check=True).stdout
    assert out == command_help(["build"])
