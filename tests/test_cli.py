"""The CLI end to end through click's CliRunner: success paths and every bad-input path."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from casegen import __version__
from casegen.cli.main import main
from conftest import write


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def assert_user_error(result, *fragments: str):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for f in fragments:
        assert f in result.output, result.output


def test_version_and_help():
    r = run("--version")
    assert r.exit_code == 0 and __version__ in r.output
    r = run("--help")
    assert r.exit_code == 0 and "casegen new" in r.output
    assert run("build").exit_code == 2  # usage error: missing argument
    assert run("frobnicate").exit_code == 2


def test_new_then_build(tmp_path):
    d = tmp_path / "mycase"
    r = run("new", str(d))
    assert r.exit_code == 0, r.output
    text = (d / "case.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=case.schema.json")
    assert (d / "case.schema.json").exists()
    r = run("build", str(d), "--no-pdf")
    assert r.exit_code == 0, r.output
    assert (d / "build" / "report.html").exists() and (d / "build" / "summary.json").exists()
    assert not (d / "build" / "report.pdf").exists()
    # new refuses to overwrite
    assert_user_error(run("new", str(d)), "a case already exists")


def test_build_example_with_pdf(example_case, tmp_path):
    out = tmp_path / "out"
    r = run("build", str(example_case), "-o", str(out))
    assert r.exit_code == 0, r.output
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"]["baseline"]["requests"]["succeeded"] == 100
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.pdf", "summary.json"]


def test_validate(example_case):
    r = run("validate", str(example_case))
    assert r.exit_code == 0, r.output
    assert "valid" in r.output and "per-request" in r.output


def test_schema_command():
    r = run("schema")
    assert r.exit_code == 0
    schema = json.loads(r.output)
    assert schema["additionalProperties"] is False and "runs" in schema["properties"]


def test_missing_run_file(example_case):
    case = example_case / "case.yaml"
    case.write_text(case.read_text().replace("runs/fp8-optimized.json", "runs/nope.json"))
    r = run("build", str(example_case), "--no-pdf")
    assert_user_error(r, "nope.json", "run file not found", "runs.optimized")
    assert not (example_case / "build").exists()


def test_file_neither_json_nor_csv(example_case):
    (example_case / "runs" / "fp8-optimized.json").write_bytes(b"\x00\x01\x02\xff\xfe binary")
    assert_user_error(run("build", str(example_case), "--no-pdf"), "neither JSON nor CSV", "fp8-optimized.json")


def test_json_from_unknown_tool(example_case):
    (example_case / "runs" / "fp8-optimized.json").write_text('{"results": [1, 2, 3]}')
    assert_user_error(run("build", str(example_case)), "JSON from an unknown tool", "Formats tried", "vllm")


def test_run_with_no_successful_request(example_case):
    import shutil

    from conftest import VLLM
    shutil.copy(VLLM / "v0.25.1-opt125m-all-requests-failed.json", example_case / "runs" / "fp8-optimized.json")
    assert_user_error(run("build", str(example_case), "--no-pdf"), "no successful request")


def test_negative_and_nan_latencies(example_case):
    raw = json.loads((example_case / "runs" / "fp8-optimized.json").read_text())
    raw["ttfts"][7] = -0.01
    (example_case / "runs" / "fp8-optimized.json").write_text(json.dumps(raw))
    assert_user_error(run("build", str(example_case), "--no-pdf"), "negative TTFT", "request 8")
    write(example_case / "runs" / "fp8-optimized.json", "ttft_ms,e2e_ms\n10,20\n10,NaN\n")
    assert_user_error(run("build", str(example_case), "--no-pdf"), "line 3", "not a finite number")


def test_case_yaml_errors_listed_with_lines(example_case):
    case = example_case / "case.yaml"
    case.write_text(case.read_text().replace("author:", "autor:").replace("horizon_months: 12", "horizon_months: soon"))
    r = run("build", str(example_case))
    assert_user_error(r, "3 problems found", "unknown key 'autor'", "did you mean 'author'", "horizon_months",
                      "required key 'author' is missing")
    assert "line 3" in r.output  # autor is on line 3


def test_output_dir_not_writable(example_case, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_user_error(run("build", str(example_case), "-o", str(blocker / "out"), "--no-pdf"), "is a file, not a folder")
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        assert_user_error(run("build", str(example_case), "-o", str(ro), "--no-pdf"), "not writable")


def test_failed_build_leaves_earlier_report_untouched(example_case):
    assert run("build", str(example_case), "--no-pdf").exit_code == 0
    html = (example_case / "build" / "report.html").read_bytes()
    case = example_case / "case.yaml"
    case.write_text(case.read_text().replace("runs/fp8-optimized.json", "runs/missing.json"))
    assert run("build", str(example_case), "--no-pdf").exit_code == 1
    assert (example_case / "build" / "report.html").read_bytes() == html
    assert not [p for p in (example_case / "build").iterdir() if p.name.endswith(".tmp")]
