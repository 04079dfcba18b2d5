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
    if kind.startswith("dev_"):  # a link out of the case folder: refused before anything looks at it
        result = run_isolated(cli, ["validate", case], timeout_s=30, extra_mb=256)
        assert_clean_user_error(result, "special.json", "leads outside the case folder", "--trust-case-paths")
    # trusted, the reader itself refuses what is not a regular file
    result = run_isolated(cli, ["validate", case, "--trust-case-paths"], timeout_s=30, extra_mb=256)
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"]  # no temporaries, and no lock file here


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


# ------------------------------------------------------------------ issue 22: the second red-team round
#
# Each input of issue 22 runs through the real CLI in a forked child limited to 20 s and a 2 GB
# address space (tests/isolate.py): exit 1 or 2, never 70, never a hang; nothing outside the case
# folder created, changed or read into an output without --trust-case-paths.

#: the issue's bound is 20 s on a quiet machine; this machine (and CI) may run other work, so the
#: child's own CPU time is held to 20 s (_cli_cpu) and the wall clock only guards against a hang
LIMITS = {"timeout_s": 90, "as_limit_mb": 2048}
MAX_CPU_S = 20


def _cli_cpu(args: list[str]) -> tuple[int, str, str | None, float]:
    """``cli(args)`` and the CPU seconds it took, its own and its children's (template renders)."""
    import resource

    result = cli(args)
    used = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))
    return (*result, used)


def hostile(args: list, **limits) -> tuple[int, str, str | None]:
    """The CLI on a hostile input in a forked child under 2 GB; its CPU time at most MAX_CPU_S."""
    code, out, unexpected, cpu_s = run_isolated(_cli_cpu, [str(a) for a in args], **{**LIMITS, **limits})
    assert cpu_s < MAX_CPU_S, f"{args}: {cpu_s:.1f} s of CPU"
    return code, out, unexpected
LM_EVAL = FIXTURES / "lm-eval" / "0.4.13"
BOUNDED_TEMPLATES = sorted((HOSTILE / "templates-bounded").glob("*.j2"))


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``folder`` with its size and modification time (links not followed)."""
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*")}


def _outside(tmp_path: Path) -> Path:
    """A folder beside the case holding a valid run file and a marker: what the payloads aim at."""
    out = tmp_path / "outside"
    out.mkdir()
    shutil.copy(HOSTILE / "runs" / "optimized.csv", out / "run.csv")
    (out / "marker.txt").write_text("untouched")
    return out


def _base_case(tmp_path: Path, text: str | None = None) -> Path:
    return _case_dir(tmp_path, text if text is not None else (HOSTILE / "case" / "base.yaml").read_text())


def assert_refused(result, *needles: str) -> None:
    """A clean user error (exit 1), never 70, with ``needles`` in the message."""
    assert_clean_user_error(result, *needles)
    assert "internal error" not in result[1]


# --- files written outside the case


def test_stale_old_set_link_is_removed_not_renamed_into_place(tmp_path):
    outside = _outside(tmp_path)
    before = _snapshot(outside)
    case = _base_case(tmp_path)
    (case / ".build.casegen-old-zzz").symlink_to(outside, target_is_directory=True)
    code, out, unexpected = hostile(["build", case, "--format", "html,json", "-q"])
    assert unexpected is None and code == 0, out
    assert _snapshot(outside) == before  # nothing written through the link
    assert not (case / "build").is_symlink() and (case / "build" / "summary.json").is_file()
    assert not (case / ".build.casegen-old-zzz").exists() and not (case / ".build.casegen-old-zzz").is_symlink()


@pytest.mark.parametrize("foreign", [False, True], ids=["own-folder", "folder-with-foreign-files"])
def test_charts_link_in_the_build_folder_is_not_written_through(tmp_path, foreign):
    outside = _outside(tmp_path)
    before = _snapshot(outside)
    case = _base_case(tmp_path)
    (case / "build").mkdir()
    (case / "build" / "report.md").write_text("old")
    if foreign:
        (case / "build" / "notes.txt").write_text("mine")  # casegen updates such a folder in place
    (case / "build" / "charts").symlink_to(outside, target_is_directory=True)
    code, out, unexpected = hostile(["build", case, "--format", "md", "-q"])
    assert unexpected is None and code == 0, out
    assert _snapshot(outside) == before
    assert not (case / "build" / "charts").is_symlink() and list((case / "build" / "charts").glob("*.svg"))


def test_lock_link_in_the_case_folder_is_never_opened(tmp_path):
    outside = _outside(tmp_path)
    case = _base_case(tmp_path)
    (case / ".build.casegen-lock").symlink_to(outside / "created-by-lock")
    code, out, unexpected = hostile(["build", case, "--format", "json", "-q"])
    assert unexpected is None and code == 0, out
    assert not (outside / "created-by-lock").exists()
    assert sorted(p.name for p in case.iterdir()) == [".build.casegen-lock", "build", "case.yaml", "runs"]


def test_lock_lives_in_a_private_per_user_folder(tmp_path, monkeypatch):
    from casegen.app.output_set import lock_path

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    path = lock_path(tmp_path / "case" / "build")
    assert path.parent == tmp_path / "run" / "casegen" / "locks" and oct(path.parent.stat().st_mode)[-3:] == "700"
    assert lock_path(tmp_path / "case" / "build") == path and lock_path(tmp_path / "other") != path
    # a shared folder someone else could write is not used
    (tmp_path / "shared" / "casegen" / "locks").mkdir(parents=True)
    (tmp_path / "shared" / "casegen" / "locks").chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "shared"))
    assert lock_path(tmp_path / "x").parent != tmp_path / "shared" / "casegen" / "locks"


# --- files read outside the case


def test_run_path_leaving_the_case_needs_trust(tmp_path):
    outside = _outside(tmp_path)
    base = (HOSTILE / "case" / "base.yaml").read_text()
    case = _base_case(tmp_path, base.replace("path: runs/optimized.csv", "path: ../outside/run.csv"))
    result = hostile(["build", case, "--format", "json", "-q"])
    assert_refused(result, "runs.optimized.path", "../outside/run.csv", "leads outside the case folder",
                   "--trust-case-paths")
    assert not (case / "build").exists()
    # trusted by the user, the outside run is read
    code, out, unexpected = hostile(["build", case, "--format", "json", "-q", "--trust-case-paths"])
    assert unexpected is None and code == 0, out
    import hashlib
    import json

    summary = (case / "build" / "summary.json").read_text()
    assert hashlib.sha256((outside / "run.csv").read_bytes()).hexdigest() in summary
    assert json.loads(summary)


def test_run_file_linking_out_of_the_case_needs_trust(tmp_path):
    outside = _outside(tmp_path)
    case = _base_case(tmp_path)
    (case / "runs" / "baseline.csv").unlink()
    (case / "runs" / "baseline.csv").symlink_to(outside / "run.csv")
    for command in (["validate", case], ["build", case, "--format", "json", "-q"]):
        assert_refused(hostile(command), "runs.baseline.path", "leads outside", "--trust-case-paths")
    code, out, unexpected = hostile(["validate", case, "--trust-case-paths", "-q"])
    assert unexpected is None and code == 0, out


def test_run_folder_holding_a_link_out_is_refused_on_reading(tmp_path):
    """A folder inside the case whose file links out: caught by the reader itself, not only by the
    check of the paths case.yaml names."""
    outside = _outside(tmp_path)
    shutil.copy(next((FIXTURES / "vllm").glob("*.json")), outside / "vllm.json")
    base = (HOSTILE / "case" / "base.yaml").read_text()
    case = _base_case(tmp_path, base.replace("path: runs/optimized.csv", "path: runs/folder"))
    (case / "runs" / "folder").mkdir()
    (case / "runs" / "folder" / "vllm.json").symlink_to(outside / "vllm.json")
    assert_refused(hostile(["validate", case]), "leads outside the case folder")


def test_case_yaml_linking_out_of_its_folder_needs_trust(tmp_path):
    case = _base_case(tmp_path)
    real = tmp_path / "outside.yaml"
    (case / "case.yaml").rename(real)
    (case / "case.yaml").symlink_to(real)
    assert_refused(hostile(["validate", case]), "case file", "leads outside")
    code, out, unexpected = hostile(["validate", case, "--trust-case-paths", "-q"])
    assert unexpected is None and code == 0, out


def _lm_case(tmp_path: Path, baseline: str, optimized: str = "evals/opt") -> Path:
    """The base case with a trade-off whose quality comes from lm-eval result files."""
    text = (HOSTILE / "case" / "base.yaml").read_text() + (
        "tradeoffs:\n  - technique: T\n    what_changed: w\n    helps_when: h\n    hurts_when: h\n"
        f"    quality:\n      lm_eval: {{baseline: '{baseline}', optimized: '{optimized}'}}\n      tolerance: 0.01\n")
    case = _base_case(tmp_path, text)
    shutil.copytree(LM_EVAL / "dummy-seed1", case / "evals" / "opt")
    return case


def _results_with(folder: Path, **changes) -> Path:
    """A copy of the real lm-eval 0.4.13 result file with top-level keys changed (text values are
    written as they are, to allow malformed JSON)."""
    import json

    src = next((LM_EVAL / "dummy-seed0").glob("results_*.json"))
    data = json.loads(src.read_text())
    raw = {k: v for k, v in changes.items() if isinstance(v, str) and k.startswith("raw_")}
    data.update({k: v for k, v in changes.items() if k not in raw})
    text = json.dumps(data)
    for key, value in raw.items():
        text = text[:-1] + f', "{key[4:]}": {value}}}'
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results_x.json"
    path.write_text(text)
    return path


def test_lm_eval_folder_outside_the_case_needs_trust_and_its_token_is_scrubbed(tmp_path):
    import json

    _results_with(tmp_path / "outside" / "lmres",
                  config={"model": "hf", "model_args": "pretrained=/models/x,token=hf_abcdefghijklmnop,dtype=auto"})
    case = _lm_case(tmp_path, "../outside/lmres")
    assert_refused(hostile(["build", case, "--format", "json", "-q"]),
                   "tradeoffs.0.quality.lm_eval.baseline", "leads outside", "--trust-case-paths")
    code, out, unexpected = hostile(["build", case, "--format", "json,md", "-q", "--trust-case-paths"])
    assert unexpected is None and code == 0, out
    summary = (case / "build" / "summary.json").read_text()
    model = [q for q in json.loads(summary)["quality"] if q][0]["models"]["baseline"]
    assert model == "hf (pretrained=/models/x,token=***,dtype=auto)"
    for name in ("summary.json", "report.md"):
        assert "hf_abcdefghijklmnop" not in (case / "build" / name).read_text()


def test_lm_eval_model_args_mapping_is_scrubbed():
    from casegen.analysis.quality import _model_args

    assert _model_args({"pretrained": "m", "hf_token": "abc", "api_key": "k"}) == "pretrained=m,hf_token=***,api_key=***"
    assert _model_args("pretrained=m,token=abc") == "pretrained=m,token=***"


def test_included_template_linking_out_of_its_folder_is_refused_trusted_or_not(tmp_path):
    outside = _outside(tmp_path)
    (outside / "leak.txt").write_text("SECRET-OUTSIDE-TEXT")
    case = _base_case(tmp_path, (HOSTILE / "case" / "base.yaml").read_text() + "report:\n  templates: tpl\n")
    write(case / "tpl" / "report.html.j2", '{% extends "default:report.html.j2" %}{% block title %}'
          '{% include "sections/leak.txt" %}{% endblock %}')
    (case / "tpl" / "sections").mkdir()
    (case / "tpl" / "sections" / "leak.txt").symlink_to(outside / "leak.txt")
    for extra in ([], ["--trust-case-paths"]):
        result = hostile(["build", case, "--format", "html", "-q", "--trust-case-templates", *extra],
                              )
        assert_refused(result, "leak.txt", "symbolic link leading out of its template folder")
        assert "SECRET-OUTSIDE-TEXT" not in result[1] and not (case / "build").exists()
    # a whole template folder outside the case needs --trust-case-paths too
    shutil.move(str(case / "tpl"), str(outside / "tpl"))
    (case / "tpl").symlink_to(outside / "tpl", target_is_directory=True)
    assert_refused(hostile(["build", case, "--format", "html", "-q", "--trust-case-templates"]),
                   "report.templates", "leads outside", "--trust-case-paths")


def _portfolio_folder(tmp_path: Path) -> Path:
    pf = tmp_path / "pf"
    pf.mkdir()
    for name in ("alpha", "beta"):
        shutil.copytree(HOSTILE / "runs", pf / name / "runs")
        (pf / name / "case.yaml").write_text((HOSTILE / "case" / "base.yaml").read_text()
                                             .replace("Hostile-input base case", f"Case {name}"))
    return pf


def test_portfolio_skips_a_case_folder_linking_out_unless_trusted(tmp_path):
    pf = _portfolio_folder(tmp_path)
    shutil.move(str(pf / "beta"), str(tmp_path / "elsewhere-beta"))
    (pf / "beta").symlink_to(tmp_path / "elsewhere-beta", target_is_directory=True)
    code, out, unexpected = hostile(["portfolio", pf, "-o", tmp_path / "site", "-j", "1", "--no-pdf"])
    assert unexpected is None and code == 1, out
    assert "case 'beta' was not built" in out and "leads outside" in out and "--trust-case-paths" in out
    assert (tmp_path / "site" / "alpha" / "report.html").exists() and not (tmp_path / "site" / "beta").exists()
    assert "Case alpha" in (tmp_path / "site" / "index.html").read_text()
    code, out, unexpected = run_isolated(
        cli, ["portfolio", pf, "-o", tmp_path / "site2", "-j", "1", "--no-pdf", "--trust-case-paths"])
    assert unexpected is None and code == 0, out
    assert (tmp_path / "site2" / "beta" / "report.html").exists()


# --- exhaustion


def test_lm_eval_path_that_is_dev_zero(tmp_path):
    case = _lm_case(tmp_path, "/dev/zero")
    assert_refused(hostile(["validate", case]), "leads outside", "--trust-case-paths")
    assert_refused(hostile(["validate", case, "--trust-case-paths"]), "/dev/zero", "a device")


def test_lm_eval_results_fifo(tmp_path):
    import os

    case = _lm_case(tmp_path, "evals/base")
    (case / "evals" / "base").mkdir()
    os.mkfifo(case / "evals" / "base" / "results_x.json")
    assert_refused(hostile(["validate", case]), "results_x.json", "FIFO")


def test_lm_eval_folder_search_does_not_follow_a_link_to_root(tmp_path):
    case = _lm_case(tmp_path, "evals/base")
    (case / "evals" / "base").mkdir()
    (case / "evals" / "base" / "root").symlink_to("/", target_is_directory=True)
    assert_refused(hostile(["validate", case]), "no lm-eval result files")


def test_lm_eval_folder_search_is_bounded(tmp_path):
    from casegen.analysis.quality import find_result_file

    deep = tmp_path / "wide"
    deep.mkdir()
    for i in range(10_050):
        (deep / f"f{i}").touch()
    with pytest.raises(CasegenError, match="more than 10,000 entries"):
        find_result_file(deep)


@pytest.mark.parametrize("key,count,limit", [("steps", 2000, "16"), ("path", 3000, "32")])
def test_case_yaml_list_limits(tmp_path, key, count, limit):
    base = (HOSTILE / "case" / "base.yaml").read_text()
    if key == "steps":
        steps = "    - {path: runs/baseline.csv}\n" * count
        text = base.replace("  optimized: {", "  steps:\n" + steps + "  optimized: {")
    else:
        paths = ", ".join(["runs/baseline.csv"] * count)
        text = base.replace("baseline: {path: runs/baseline.csv,", f"baseline: {{path: [{paths}],")
    case = _base_case(tmp_path, text)
    assert_refused(hostile(["validate", case]), "line ", f"runs.{'steps' if key == 'steps' else 'baseline.path'}",
                   f"more than the {limit} casegen accepts")


def test_case_yaml_limit_on_run_paths_in_all(tmp_path):
    base = (HOSTILE / "case" / "base.yaml").read_text()
    paths = ", ".join(["runs/baseline.csv"] * 30)
    steps = "".join(f"    - {{path: [{paths}], label: s{i}}}\n" for i in range(3))
    case = _base_case(tmp_path, base.replace("  optimized: {", "  steps:\n" + steps + "  optimized: {"))
    assert_refused(hostile(["validate", case]), "runs", "92 run paths in all", "at most 64")


@pytest.mark.parametrize("payload", BOUNDED_TEMPLATES, ids=[p.stem for p in BOUNDED_TEMPLATES])
def test_trusted_template_bomb_is_stopped(payload, tmp_path):
    case = _base_case(tmp_path, (HOSTILE / "case" / "base.yaml").read_text() + "report:\n  templates: tpl\n")
    write(case / "tpl" / "report.html.j2", payload.read_text())
    result = hostile(["build", case, "--format", "html", "-q", "--trust-case-templates"])
    assert_refused(result, "tpl")
    assert not (case / "build").exists()


def test_template_limits_leave_real_templates_alone(tmp_path):
    """The bounds do not touch what templates really do: casegen's own report through a user
    template folder (which renders in the bounded child) is byte-identical to the built-in one."""
    from casegen.render.html import render_html

    case, d = load_case(_base_case(tmp_path))
    study = analyze(case, d)
    write(tmp_path / "tpl" / "report.html.j2", '{% extends "default:report.html.j2" %}')
    assert render_html(study, templates=tmp_path / "tpl") == render_html(study)


# --- exit 70 for bad input


LM_EVAL_PAYLOADS = {  # raw JSON value of a key added to a real result file -> text the error must contain
    "deep_nesting": ("raw_deep", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "huge_integer": ("raw_big", "1" * 5000, "an integer of 5,000 digits"),
    "group_subtasks_nested_list": ("group_subtasks", [[1]], "'group_subtasks' is a list"),
    "results_row_not_a_mapping": ("results", {"t": [1]}, "key results.t"),
    "versions_not_a_mapping": ("versions", "x", "key versions"),
}


@pytest.mark.parametrize("name", sorted(LM_EVAL_PAYLOADS))
def test_lm_eval_results_that_exited_70(name, tmp_path):
    key, value, needle = LM_EVAL_PAYLOADS[name]
    case = _lm_case(tmp_path, "evals/base")
    _results_with(case / "evals" / "base", **{key: value})
    assert_refused(hostile(["validate", case]), "results_x.json", needle)


def _raises_for_beta(real_build):
    def build(case_dir, *args, **kwargs):
        if str(case_dir).endswith("beta"):
            raise TypeError("a bug in casegen")
        return real_build(case_dir, *args, **kwargs)
    return build


def _portfolio_with_a_bug(pf: Path, out: Path) -> tuple[int, str, str | None]:
    import casegen.app.portfolio as portfolio

    portfolio.build = _raises_for_beta(portfolio.build)  # the forked child's copy only
    return cli(["portfolio", pf, "-o", out, "-j", "1"])


def test_portfolio_survives_a_broken_case_and_writes_index_and_book(tmp_path):
    pf = _portfolio_folder(tmp_path)
    shutil.copytree(LM_EVAL / "dummy-seed1", pf / "beta" / "evals" / "opt")
    _results_with(pf / "beta" / "evals" / "base", raw_deep="[" * 100_000 + "]" * 100_000)
    (pf / "beta" / "case.yaml").write_text((pf / "beta" / "case.yaml").read_text() + (
        "tradeoffs:\n  - technique: T\n    what_changed: w\n    helps_when: h\n    hurts_when: h\n"
        "    quality:\n      lm_eval: {baseline: evals/base, optimized: evals/opt}\n      tolerance: 0.01\n"))
    code, out, unexpected = run_isolated(cli, ["portfolio", pf, "-o", tmp_path / "site", "-j", "2"], timeout_s=240)
    assert unexpected is None and code == 1, out
    assert "case 'beta' was not built" in out and "nested too deeply" in out and "internal error" not in out
    assert "Case alpha" in (tmp_path / "site" / "index.html").read_text()
    assert (tmp_path / "site" / "portfolio.pdf").stat().st_size > 1000


def test_portfolio_reports_an_internal_error_with_the_case_named(tmp_path):
    pf = _portfolio_folder(tmp_path)
    code, out, unexpected = run_isolated(_portfolio_with_a_bug, pf, tmp_path / "site", timeout_s=240)
    assert unexpected is None and code == 1, out
    assert "internal error building case 'beta'" in out and "TypeError: a bug in casegen" in out
    assert "Case alpha" in (tmp_path / "site" / "index.html").read_text()
    assert (tmp_path / "site" / "portfolio.pdf").exists()


def test_portfolio_case_whose_worker_dies_is_reported_and_the_rest_built(tmp_path):
    from concurrent.futures.process import BrokenProcessPool

    from casegen.app.portfolio import CaseOutcome, _outcome

    class Broken:
        def result(self):
            raise BrokenProcessPool("a worker died")

    ok = CaseOutcome("a", "a", True)
    assert _outcome(Broken(), lambda: ok, "a", "a") is ok  # built again in a process of its own

    def dies_again():
        raise BrokenProcessPool("died again")

    failed = _outcome(Broken(), dies_again, "b", "b")
    assert not failed.ok and "the process building case 'b' died" in failed.error
