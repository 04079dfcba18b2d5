"""Hostile inputs (issue 11): a case someone sent cannot run code, hang, exhaust memory or crash.

Every case runs in a forked child under a timeout and an address-space limit
(tests/isolate.py); payloads live in tests/fixtures/hostile/ with a README each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner

from casegen.case import load_case
from casegen.cli import main
from casegen.errors import CasegenError
from casegen.study import analyze
from conftest import EXAMPLE, FIXTURES, write
from isolate import run_isolated

HOSTILE = FIXTURES / "hostile"
TEMPLATE_PAYLOADS = sorted((HOSTILE / "templates").glob("*.j2"))
SIGNS_OF_EXECUTION = ("uid=", "root:x:", "<built-in function", "<module ", "__builtins__", "pwned",
                      "subprocess.Popen", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")


def cli(args: list[str]) -> tuple[int, str, str | None]:
    """(exit code, output, unexpected exception) of the casegen CLI, run in this process."""
    r = CliRunner().invoke(main, [str(a) for a in args])
    unexpected = None
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        unexpected = f"{type(r.exception).__name__}: {r.exception}"
    return r.exit_code, r.output, unexpected


# ------------------------------------------------------------------ templates: no code from a case


@pytest.fixture(scope="module")
def example_study():
    case, d = load_case(EXAMPLE)
    study = analyze(case, d)
    from casegen.render import report_context

    return study, report_context(study)


def _render_payload(study, ctx, tpl_dir: Path) -> tuple[str, str]:
    import casegen.render as render

    render.report_context = lambda *a, **k: ctx  # the child's copy only: skip recomputing charts
    try:
        return "ok", render.render_html(study, templates=tpl_dir)
    except CasegenError as err:
        return "error", err.format()


def test_payloads_are_real():
    """The main payload does run code in a plain Jinja2 environment: the sandbox is what stops it."""
    text = (HOSTILE / "templates" / "cycler_globals.j2").read_text()
    assert "uid=" in jinja2.Environment().from_string(text).render()


@pytest.mark.parametrize("payload", TEMPLATE_PAYLOADS, ids=[p.stem for p in TEMPLATE_PAYLOADS])
def test_template_payload_is_stopped(payload, example_study, tmp_path):
    study, ctx = example_study
    tags_before = list(study.case.tags)
    write(tmp_path / "tpl" / "report.html.j2", payload.read_text())
    status, text = run_isolated(_render_payload, study, ctx, tmp_path / "tpl", timeout_s=30, extra_mb=768)
    for sign in SIGNS_OF_EXECUTION:
        assert sign not in text, (payload.name, text[:500])
    if status == "error":
        assert "Traceback" not in text and "report.html.j2" in text or "tpl" in text
    assert study.case.tags == tags_before


def test_case_cannot_choose_its_templates(tmp_path):
    """report.templates in case.yaml is refused unless the builder passes --trust-case-templates."""
    case = tmp_path / "case"
    shutil.copytree(EXAMPLE, case, ignore=shutil.ignore_patterns("build"))
    write(case / "evil" / "sections" / "notes.html.j2", (HOSTILE / "templates" / "cycler_globals.j2").read_text())
    (case / "case.yaml").write_text((case / "case.yaml").read_text() + "\nreport:\n  templates: evil\n")
    code, out, unexpected = run_isolated(cli, ["build", case, "--format", "html", "-o", tmp_path / "o"])
    assert unexpected is None and code == 1
    assert "--trust-case-templates" in out and "report.templates" in out and "Traceback" not in out
    assert not (tmp_path / "o").exists()
    # trusted, the templates are used, still inside the sandbox
    code, out, unexpected = run_isolated(
        cli, ["build", case, "--format", "html", "-o", tmp_path / "o", "--trust-case-templates"])
    assert unexpected is None and code == 1 and "unsafe" in out and "uid=" not in out
    assert not (tmp_path / "o").exists()
