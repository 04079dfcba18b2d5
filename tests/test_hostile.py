"""Hostile inputs (issue 11): a case someone sent cannot run code, hang, exhaust memory or crash.

Every case runs in a forked child under a timeout and an address-space limit
(tests/isolate.py); payloads live in tests/fixtures/hostile/ with a README each.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner

from casegen.analysis.study import analyze
from casegen.case.model import load_case
from casegen.cli.main import main
from casegen.errors import CasegenError
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
    from casegen.render.html import report_context

    return study, report_context(study)


def _render_payload(study, ctx, tpl_dir: Path) -> tuple[str, str]:
    import casegen.render.html as render

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
    "not_utf8.csv": "not UTF-8 text (byte 7): neither JSON nor CSV",
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


def test_nan_in_a_tool_summary_is_left_out(tmp_path):
    """Tools write NaN for 'not measured': the figure is left out (never shown, never a headline)."""
    from casegen.runs import load_runs
    from casegen.runs.plausibility import check_summary

    run = load_runs(HOSTILE / "runs" / "vllm_summary_nan_throughput.json")[0]
    assert "output_tokens_per_s" not in run.tool_summary.get("throughput", {})
    assert run.tool_summary["throughput"]["requests_per_s"] > 0
    # an importer that passes NaN through gets it removed by the shared check, with a note
    summary = {"ttft": {"p50": 10.0, "p99": float("nan")}}
    notes = check_summary(summary, "x.json")
    assert summary == {"ttft": {"p50": 10.0}} and "ttft.p99 is NaN" in notes[0]


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


# ------------------------------------------------------------------ charts: '$' is a dollar sign


def test_dollar_signs_in_labels_render_literally():
    import numpy as np

    from casegen.render.charts import cdf_chart

    rng = np.random.default_rng(0)
    svg = cdf_chart("TTFT $x^2$", rng.gamma(2, 50, 200), rng.gamma(2, 40, 200), "Before $5/h", "$\\alpha$ after")
    for text in ("TTFT $x^2$", "Before $5/h", "$\\alpha$ after"):
        assert text in svg, text


def test_dollar_label_builds(tmp_path):
    base = (HOSTILE / "case" / "base.yaml").read_text()
    case = _case_dir(tmp_path, base.replace('label: "Before"', 'label: "$x^2$ at $5/h"').replace(
        'label: "After"', 'label: "odd $ sign"'))
    code, out, unexpected = run_isolated(cli, ["build", case, "--format", "html", "-o", tmp_path / "o", "-q"])
    assert unexpected is None and code == 0, out
    html = (tmp_path / "o" / "report.html").read_text()
    assert "$x^2$ at $5/h" in html and "odd $ sign" in html


# ------------------------------------------------------------------ exit statuses


def test_exit_statuses(tmp_path, monkeypatch):
    import casegen.runs

    case = _case_dir(tmp_path, (HOSTILE / "case" / "base.yaml").read_text())
    assert cli(["validate", case])[0] == 0
    assert cli(["validate", tmp_path / "missing"])[0] == 1
    assert cli(["build"])[0] == 2 and cli(["build", case, "--bogus"])[0] == 2

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug planted by the test")

    monkeypatch.setattr(casegen.runs, "select_run", bug)  # every command that reads a run goes through it
    code, out, unexpected = cli(["validate", case])
    assert unexpected is None and code == 70
    assert "internal error — please report" in out and "--debug" in out and "Traceback" not in out
    code, out, unexpected = cli(["--debug", "validate", case])
    assert code == 70 and "Traceback" in out and "ZeroDivisionError: a bug planted by the test" in out


def test_exit_status_of_the_real_command(tmp_path):
    """The installed entry point (a real process) exits 1 on bad input, without a traceback."""
    import subprocess
    import sys

    bad = tmp_path / "case"
    bad.mkdir()
    shutil.copy(HOSTILE / "case" / "billion_laughs.yaml", bad / "case.yaml")
    r = subprocess.run([sys.executable, "-m", "casegen", "validate", str(bad)], capture_output=True, text=True,
                       timeout=120, cwd=Path(__file__).parent.parent)
    assert r.returncode == 1 and "YAML expands" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------ the output set


def _set(tag: str) -> list[tuple[str, bytes]]:
    return [(name, f"{tag}:{name}".encode()) for name in ("report.html", "summary.json", "report.pdf",
                                                          "charts/a.svg")]


def _tags(out: Path) -> set[str]:
    return {p.read_text().split(":")[0] for p in out.rglob("*") if p.is_file()}


def test_symlinked_build_folder_leaving_the_case_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "summary.json").write_text("precious")
    case = _case_dir(tmp_path, (HOSTILE / "case" / "base.yaml").read_text())
    (case / "build").symlink_to(elsewhere)
    code, out, unexpected = run_isolated(cli, ["build", case, "--format", "html,json", "-q"])
    assert unexpected is None and code == 1 and "symbolic link" in out and "outside the case" in out
    assert (elsewhere / "summary.json").read_text() == "precious" and len(list(elsewhere.iterdir())) == 1


def test_symlinked_build_folder_inside_the_case_is_followed(tmp_path):
    from casegen.app.output_set import write_output_set

    case = tmp_path / "case"
    (case / "real").mkdir(parents=True)
    (case / "build").symlink_to(case / "real")
    write_output_set(case / "build", _set("a"), case_dir=case)
    assert (case / "build").is_symlink() and _tags(case / "real") == {"a"}


def test_failed_write_leaves_the_previous_set_and_no_temporaries(tmp_path, monkeypatch):
    import casegen.app.output_set as output_set

    out = tmp_path / "build"
    output_set.write_output_set(out, _set("old"))
    real = output_set._write_tree

    def dies_half_way(root, files):
        real(root, files[:1])
        raise OSError(28, "No space left on device", str(root / files[1][0]))

    monkeypatch.setattr(output_set, "_write_tree", dies_half_way)
    with pytest.raises(CasegenError, match="No space left"):
        output_set.write_output_set(out, _set("new"))
    assert _tags(out) == {"old"} and len(list(out.rglob("*.svg"))) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".build.casegen-lock", "build"]


def test_temporaries_of_a_killed_build_are_cleaned(tmp_path):
    from casegen.app.output_set import write_output_set

    out = tmp_path / "build"
    write_output_set(out, _set("v1"))
    (out / ".report.html.x1y2.tmp").write_text("half")          # killed inside write_atomic
    (tmp_path / ".build.casegen-new-abc").mkdir()                 # killed while writing the new set
    write_output_set(out, _set("v2"))
    assert _tags(out) == {"v2"} and not list(out.glob(".*.tmp"))
    assert not list(tmp_path.glob(".build.casegen-new-*"))
    # killed between the two renames of the fallback swap: the old set is put back first
    os_rename = __import__("os").rename
    os_rename(out, tmp_path / ".build.casegen-old-xyz")
    write_output_set(out, _set("v3"))
    assert _tags(out) == {"v3"} and not list(tmp_path.glob(".build.casegen-old-*"))


def test_folder_with_foreign_files_is_updated_in_place(tmp_path):
    from casegen.app.build import write_atomic
    from casegen.app.output_set import write_output_set

    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    write_output_set(out, _set("a"), write_one=write_atomic)
    assert (out / "notes.txt").read_text() == "keep me" and (out / "report.html").read_text() == "a:report.html"


def _snapshot_tags(out: Path) -> set[str]:
    """Tags of one folder *inode*: what a reader that opened the folder once sees (no path lookups)."""
    import os

    dfd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        tags = set()
        for name in ("report.html", "summary.json", "report.pdf", "charts/a.svg"):
            fd = os.open(name, os.O_RDONLY, dir_fd=dfd)
            with os.fdopen(fd) as fh:
                tags.add(fh.read().split(":")[0])
        return tags
    finally:
        os.close(dfd)


def _writer(out: str, tag: str, rounds: int) -> int:
    from casegen.app.output_set import write_output_set

    for i in range(rounds):
        write_output_set(Path(out), _set(f"{tag}{i}"))
    return rounds


def test_concurrent_builds_never_mix(tmp_path):
    import threading
    import time

    from casegen.app.output_set import _locked, write_output_set

    out = tmp_path / "build"
    write_output_set(out, _set("first"))
    held = threading.Event()

    def hold():
        with _locked(out.resolve()):
            held.set()
            time.sleep(1.0)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    t0 = time.monotonic()
    write_output_set(out, _set("second"))
    assert time.monotonic() - t0 > 0.8  # waited for the lock
    t.join()
    # two processes rewriting one folder many times: every observed set is whole
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(out), tag, 25)) for tag in ("A", "B")]
    for p in procs:
        p.start()
    seen = []
    while any(p.is_alive() for p in procs):
        try:
            seen.append(_snapshot_tags(out))
        except FileNotFoundError:  # the folder read was swapped out and deleted mid-read
            continue
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(_tags(out)) == 1
    assert all(len(s) <= 1 for s in seen if s), [s for s in seen if len(s) > 1][:3]


# ------------------------------------------------------------------ findings of benchmarks/fuzz.py, kept


def test_fuzz_findings_stay_fixed(tmp_path):
    """GenAI-Perf timestamps past int64 and LLMPerf timestamps past the calendar (found by the fuzz job)."""
    import json

    from casegen.runs import load_runs

    src = FIXTURES / "genai-perf" / "adaptive-nonstreaming-concurrency1"
    shutil.copytree(src, tmp_path / "g")
    raw = tmp_path / "g" / "simple_medium_response_c1.json"
    obj = json.loads(raw.read_text())
    obj["experiments"][0]["requests"][0]["timestamp"] = 2**64
    raw.write_text(json.dumps(obj))
    with pytest.raises(CasegenError, match="timestamp is"):
        load_runs(raw)
    summaries = sorted((FIXTURES / "llmperf").rglob("*_summary.json"))
    shutil.copytree(summaries[0].parent, tmp_path / "l")
    summary = tmp_path / "l" / summaries[0].name
    obj = json.loads(summary.read_text())
    obj["timestamp"] = 1e15  # year 31 million
    summary.write_text(json.dumps(obj))
    for run in load_runs(summary):
        assert run.meta.date is None


def test_fuzz_findings_of_session_3_stay_fixed(tmp_path):
    """AIPerf request_start_ns of Infinity (int() overflowed), and chunk gaps or start times so
    large that statistics overflow (a std of 1e308): clear errors on reading."""
    import json

    from casegen.runs import load_runs

    src = FIXTURES / "aiperf" / "0.13.0" / "optimized-sweep" / "concurrency_1" / "profile_export.jsonl"
    lines = src.read_text().splitlines()
    first = json.loads(lines[0])
    first["metadata"]["request_start_ns"] = float("inf")
    bad = tmp_path / "profile_export.jsonl"
    bad.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n")  # json writes Infinity
    with pytest.raises(CasegenError, match="timestamp is inf"):
        load_runs(bad)

    row = {"start_s": 0.0, "ttft_ms": 212.5, "e2e_ms": 4102.9, "input_tokens": 812, "output_tokens": 161}
    cases = {
        "gap.jsonl": ([dict(row, chunk_gaps_ms=[24.1, 1e308])], "gap between streamed chunks is 1e+305 s"),
        "start.jsonl": ([row, dict(row, start_s=1e300)], "request start time is 1e+300 s"),
    }
    for name, (rows, message) in cases.items():
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        with pytest.raises(CasegenError, match=re.escape(message)):
            list(load_runs(path))


def test_guidellm_csv_percentiles_cell_with_a_5000_digit_number(tmp_path):
    """json.loads raises a plain ValueError (not JSONDecodeError) past Python's 4,300-digit limit."""
    from casegen.runs import load_runs

    src = next((FIXTURES / "guidellm").rglob("*.csv"))
    text = src.read_text()
    m = re.search(r'"\[([-\d.e]+),', text)
    assert m, "a percentiles cell"
    bad = tmp_path / src.name
    bad.write_text(text.replace(m.group(0), '"[' + "9" * 5000 + ",", 1))
    with pytest.raises(CasegenError, match="percentiles cell"):
        list(load_runs(bad))
