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


# ------------------------------------------------------------------ case.yaml and run files

CASE_PAYLOADS = {  # fixture in hostile/case/ -> text the error must contain
    "invalid_date": "2026-02-30",
    "int_tag_not_a_number": "cannot read 'abc' as int",
    "nul_byte": "line 2",
    "billion_laughs": "YAML expands to more than",
    "recursive_alias": "alias refers to a value that contains it",
    "deep_nesting_flow": "nested",
    "deep_nesting_block": "nested more than",
    "sexagesimal": "base-60",
    "sexagesimal_float": "base-60",
    "seed_negative": "analysis.seed",
    "price_1e308": "gpu_hourly_usd",
    "price_inf": "gpu_hourly_usd",
    "huge_integer": "4300 digits",
    "python_object_tag": "python/object/apply",
    "quality_inf": "tradeoffs.0.quality.baseline",
    "quality_nan": "tradeoffs.0.quality.optimized",
    "title_too_long": "at most 300 characters",
    "unhashable_key": "unhashable key",
    "tags_not_strings": "tags.0",
    "top_level_list": "top level is a list",
    "empty": "file is empty",
    "binary": "not UTF-8",
}

RUN_PAYLOADS = {  # fixture in hostile/runs/ used as the optimized run -> text the error must contain
    "vllm_summary_negative_p99.json": "ttft.p99 is negative",
    "vllm_summary_p99_below_p50.json": "p99 (27.9753) below p50",
    "vllm_summary_inf_ttft.json": "ttft.mean is infinite",
    "sglang_summary_negative_p99.jsonl": "ttft.p99 is negative",
    "csv_inf_output_tokens.csv": "output_tokens is 'inf'",
    "csv_nan_ttft.csv": "ttft is 'nan'",
    "csv_inf_ttft.csv": "ttft is 'Infinity'",
    "csv_negative_e2e.csv": "negative end-to-end latency",
    "jsonl_nan_ttft.jsonl": "ttft is 'nan'",
    "deep_nesting.json": "cannot tell which benchmark tool",
    "deep_nesting.jsonl": "cannot tell which benchmark tool",
    "huge_int.json": "cannot tell which benchmark tool",
    "not_utf8.csv": "not UTF-8",
    "empty.csv": "file is empty",
}


def _case_dir(tmp_path: Path, case_text: str) -> Path:
    case = tmp_path / "case"
    shutil.copytree(HOSTILE / "runs", case / "runs")
    (case / "case.yaml").write_bytes(case_text.encode("utf-8", "surrogateescape"))
    return case


def assert_clean_user_error(result: tuple[int, str, str | None], *needles: str) -> None:
    code, out, unexpected = result
    assert unexpected is None, unexpected
    assert code == 1, out
    assert out.startswith("Error: ") and "Traceback" not in out, out
    for needle in needles:
        assert needle in out, (needle, out)


def test_base_case_is_valid(tmp_path):
    case = _case_dir(tmp_path, (HOSTILE / "case" / "base.yaml").read_text())
    code, out, unexpected = run_isolated(cli, ["validate", case], timeout_s=60)
    assert unexpected is None and code == 0, out


@pytest.mark.parametrize("name", sorted(CASE_PAYLOADS))
def test_hostile_case_yaml(name, tmp_path):
    case = tmp_path / "case"
    shutil.copytree(HOSTILE / "runs", case / "runs")
    shutil.copy(HOSTILE / "case" / f"{name}.yaml", case / "case.yaml")
    result = run_isolated(cli, ["validate", case], timeout_s=60, extra_mb=512)
    assert_clean_user_error(result, "case.yaml", CASE_PAYLOADS[name])


@pytest.mark.parametrize("name", sorted(RUN_PAYLOADS))
def test_hostile_run_file(name, tmp_path):
    base = (HOSTILE / "case" / "base.yaml").read_text()
    case = _case_dir(tmp_path, base.replace("path: runs/optimized.csv", f"path: runs/{name}"))
    result = run_isolated(cli, ["validate", case], timeout_s=60, extra_mb=512)
    assert_clean_user_error(result, name, RUN_PAYLOADS[name])


def test_nan_in_a_tool_summary_is_left_out_and_said(tmp_path):
    base = (HOSTILE / "case" / "base.yaml").read_text()
    case = _case_dir(tmp_path, base.replace("path: runs/optimized.csv", "path: runs/vllm_summary_nan_throughput.json"))
    code, out, unexpected = run_isolated(cli, ["validate", case], timeout_s=60)
    assert unexpected is None and code == 0
    assert "output_tokens_per_s is NaN" in out and "left out" in out


def test_ten_megabyte_title_is_refused_before_parsing(tmp_path):
    base = (HOSTILE / "case" / "base.yaml").read_text()
    case = _case_dir(tmp_path, base.replace('"Hostile-input base case"', '"' + "A" * 10_000_000 + '"'))
    result = run_isolated(cli, ["validate", case], timeout_s=30, extra_mb=256)
    assert_clean_user_error(result, "case file is 10 MiB", "1 MiB")


# ------------------------------------------------------------------ files that are not regular files

def _special(kind: str, path: Path) -> Path:
    import os
    import socket

    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))  # left bound until the test process ends
        _SOCKETS.append(sock)
    elif kind == "directory":
        path.mkdir()
    elif kind in ("dev_zero", "dev_urandom"):
        path.symlink_to("/dev/zero" if kind == "dev_zero" else "/dev/urandom")
    elif kind == "dangling_symlink":
        path.symlink_to(path.parent / "nowhere")
    elif kind == "symlink_loop":
        path.symlink_to(path)
    return path


_SOCKETS: list = []
SPECIAL_KINDS = {"fifo": "FIFO", "socket": "socket", "directory": "folder", "dev_zero": "device",
                 "dev_urandom": "device", "dangling_symlink": "not found", "symlink_loop": "symbolic link loop"}


@pytest.mark.parametrize("kind", sorted(SPECIAL_KINDS))
def test_run_that_is_not_a_regular_file(kind, tmp_path):
    base = (HOSTILE / "case" / "base.yaml").read_text()
    case = _case_dir(tmp_path, base.replace("path: runs/optimized.csv", "path: runs/special.json"))
    _special(kind, case / "runs" / "special.json")
    result = run_isolated(cli, ["validate", case], timeout_s=30, extra_mb=256)
    needle = "no benchmark output" if kind == "directory" else SPECIAL_KINDS[kind]  # a folder is a run folder
    assert_clean_user_error(result, "special.json", needle)


@pytest.mark.parametrize("kind", ["fifo", "socket", "directory", "dev_zero", "symlink_loop"])
def test_case_yaml_that_is_not_a_regular_file(kind, tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    _special(kind, case / "case.yaml")
    result = run_isolated(cli, ["validate", case / "case.yaml"], timeout_s=30, extra_mb=256)
    assert_clean_user_error(result, "case.yaml", SPECIAL_KINDS[kind])


def test_unreadable_files(tmp_path, monkeypatch):
    """Permission denied on case.yaml or a run file is a clear error (simulated: tests may run as root)."""
    import errno
    import os

    import casegen.safe_io as safe_io

    case = _case_dir(tmp_path, (HOSTILE / "case" / "base.yaml").read_text())
    real_open = os.open

    def deny(path, *args, **kwargs):
        if str(path).endswith(DENIED[0]):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    DENIED = ["case.yaml"]
    monkeypatch.setattr(safe_io.os, "open", deny)
    assert_clean_user_error(cli(["validate", case]), "case.yaml", "permission denied")
    DENIED[0] = "optimized.csv"
    assert_clean_user_error(cli(["validate", case]), "optimized.csv", "permission denied")


def test_run_file_over_the_budget_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEGEN_MAX_INPUT_MB", "0.001")
    case = _case_dir(tmp_path, (HOSTILE / "case" / "base.yaml").read_text())
    assert_clean_user_error(cli(["validate", case]), "baseline.csv", "more than the 1 KiB casegen reads",
                            "CASEGEN_MAX_INPUT_MB")
