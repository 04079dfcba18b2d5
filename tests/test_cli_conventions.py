"""Issue 14: what a newcomer trips over, each through Click's CliRunner.

Plausibility warnings, Click conventions (choices at parse time, -q, stdout vs stderr),
compare with failures, did-you-mean per level, format names from the registry, display slips.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from casegen.cli.main import main
from conftest import FIXTURES, write

LLMPERF = FIXTURES / "llmperf"
TGI = LLMPERF / "yi-34b-tgi-4xa10g-concurrency64"
VLLM64 = LLMPERF / "yi-34b-vllm-4xa10g-concurrency64"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def _csv(n: int, ttft_ms: float, e2e_ms: float, zero_rows: int = 0, seed: int = 0) -> str:
    """A plausible per-request CSV (ms columns); ``zero_rows`` successes with TTFT = E2E = 0."""
    rng = np.random.default_rng(seed)
    lines = ["start_s,ttft_ms,e2e_ms,input_tokens,output_tokens,error"]
    for i in range(n):
        t = ttft_ms * rng.lognormal(0, 0.2)
        e = e2e_ms * rng.lognormal(0, 0.1) + t
        if i < zero_rows:
            t = e = 0.0
        lines.append(f"{i * 0.1:.2f},{t:.4f},{e:.4f},{200 + i % 50},{100 + i % 30},")
    return "\n".join(lines) + "\n"


@pytest.fixture
def my_case(tmp_path: Path) -> Path:
    """`casegen new`, then the scaffold text replaced as a user would."""
    d = tmp_path / "mine"
    assert run("new", d, "-q").exit_code == 0
    y = d / "case.yaml"
    text = y.read_text()
    for old, new in (("Your Name", "Ada Lovelace"), ("2026-01-15", "2026-02-03"),
                     ("EXAMPLE DATA — replace runs/*.csv with your own benchmark output.", "FP8 on our chat endpoint."),
                     ("Replace this text with what a reviewer should know.", "Both runs on the same host."),
                     ("Serving at half the cost", "Serving cheaper"),
                     ("example on-demand price; state your provider and date", "ACME cloud list price, 2026-02"),
                     ("Two engineer-weeks for calibration, evaluation and rollout.", "Two weeks."),
                     ("Chat traffic from 16 concurrent clients", "Chat traffic from 16 clients")):
        assert old in text, old
        text = text.replace(old, new)
    y.write_text(text)
    return d


def _threat_keys(case: Path, tmp: Path) -> list[str]:
    r = run("build", case, "-o", tmp / "out", "--format", "json", "-q")
    assert r.exit_code == 0, r.output
    return [t["key"] for t in json.loads((tmp / "out" / "summary.json").read_text())["threats"]]


# ---------------------------------------------------------------- plausibility


def test_scaffold_text_is_flagged_until_replaced(tmp_path, my_case):
    fresh = tmp_path / "fresh"
    run("new", fresh, "-q")
    r = run("validate", fresh)
    assert r.exit_code == 0
    assert "Example text from `casegen new`" in r.stderr and "date" in r.stderr and "summary" in r.stderr
    assert run("validate", fresh, "--strict").exit_code != 0
    assert "scaffold-text" not in _threat_keys(my_case, tmp_path)
    # one leftover is enough; the date alone (a real date can coincide) is not
    y = my_case / "case.yaml"
    y.write_text(y.read_text().replace("2026-02-03", "2026-01-15"))
    assert "scaffold-text" not in _threat_keys(my_case, tmp_path)
    y.write_text(y.read_text().replace("Both runs on the same host.", "Replace this text with what a reviewer should know."))
    r = run("validate", my_case)
    assert "date, notes still hold the scaffold's example text" in r.stderr, r.stderr


def test_zero_latency_successes_warn_and_fail_strict(tmp_path, my_case):
    write(my_case / "runs" / "optimized.csv", _csv(300, 120, 2000, zero_rows=86))
    r = run("build", my_case, "-o", tmp_path / "o", "--format", "json")
    assert r.exit_code == 0, r.output
    assert "Successful requests with zero latency (optimized)" in r.stderr
    assert "86 of 300 successful requests" in r.stderr
    r = run("build", my_case, "-o", tmp_path / "o", "--format", "json", "--strict")
    assert r.exit_code != 0 and f"{my_case / 'case.yaml'}: --strict" in r.stderr and "zero latency" in r.stderr
    assert "Traceback" not in r.output


def test_seconds_under_ms_columns_warn(tmp_path, my_case):
    # TTFT 0.12 and E2E 2.1 written under *_ms: seconds read as milliseconds
    write(my_case / "runs" / "baseline.csv", _csv(300, 0.12, 2.0))
    r = run("validate", my_case)
    assert r.exit_code == 0, r.output
    assert "Latencies too small to be real (baseline)" in r.stderr
    assert "TTFT p50 0.1" in r.stderr and "TPOT p50" in r.stderr and "seconds" in r.stderr
    assert "implausible-units" in _threat_keys(my_case, tmp_path)
    write(my_case / "runs" / "baseline.csv", _csv(300, 120, 2000))
    assert "implausible-units" not in _threat_keys(my_case, tmp_path)


def test_slo_on_a_metric_a_side_lacks_is_a_validation_error(tmp_path):
    """LLMPerf measures no inter-chunk latency: an ITL SLO must not pass as 'Within SLO 0.0 %'."""
    d = tmp_path / "llmperf"
    run("new", d, "-q")
    shutil.copytree(TGI, d / "runs" / "tgi")
    shutil.copytree(VLLM64, d / "runs" / "vllm")
    y = d / "case.yaml"
    text = y.read_text().replace("path: runs/baseline.csv", "path: runs/tgi").replace(
        "path: runs/optimized.csv", "path: runs/vllm").replace('label: "Baseline"', 'label: "TGI 2.0"').replace(
        'label: "Optimized"', 'label: "vLLM 0.4"').replace("{metric: tpot, percentile: 99, threshold_ms: 40}",
                                                       "{metric: itl, percentile: 99, threshold_ms: 40}")
    y.write_text(text)
    r = run("validate", d)
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert "slos.1.metric" in r.stderr
    assert "SLO itl p99 ≤ 40 ms: the TGI 2.0 run (baseline) does not measure inter-chunk latency" in r.stderr
    assert "the vLLM 0.4 run (optimized)" in r.stderr
    assert "a metric both runs measure: ttft, tpot, e2e" in r.stderr


def test_notes_use_the_users_labels(tmp_path, my_case):
    write(my_case / "runs" / "baseline.csv",
          "start_s,e2e_ms,input_tokens,output_tokens\n" + "".join(f"{i},{900 + i},{100},{50}\n" for i in range(200)))
    y = my_case / "case.yaml"
    y.write_text(y.read_text().replace('label: "Baseline"', 'label: "vLLM BF16"').replace(
        "{metric: ttft, percentile: 95, threshold_ms: 500}", "{metric: e2e, percentile: 95, threshold_ms: 5000}").replace(
        "  - {metric: tpot, percentile: 99, threshold_ms: 40}\n", ""))
    r = run("validate", my_case)
    assert r.exit_code == 0, r.output
    assert "note: vLLM BF16: no TTFT column" in r.stderr
    assert "Baseline:" not in r.output
    assert r.stdout.startswith("vLLM BF16 (baseline): baseline.csv")


# ---------------------------------------------------------------- Click conventions


@pytest.mark.parametrize("args, fragment", [
    (["--theme", "dark"], "'dark' is not one of 'modern', 'classic'"),
    (["--format", "html,docx"], "docx is not one of html, pdf, json, md"),
    (["--layout", "poster"], "'poster' is not one of 'full', 'onepager'"),
])
def test_bad_choices_fail_at_parse_time(tmp_path, args, fragment):
    # the case does not even exist: the command line is rejected before anything is read
    r = run("build", tmp_path / "no-such-case", *args)
    assert r.exit_code == 2, r.output
    assert fragment in r.stderr and r.stdout == ""


def test_inspect_format_is_checked_at_parse_time():
    r = run("inspect", "/nonexistent.json", "--format", "vllm-jsn")
    assert r.exit_code == 2 and "not a known format" in r.stderr and "vllm-sweep" in r.stderr


def test_quiet_prints_nothing_but_errors(tmp_path, my_case):
    r = run("build", my_case, "-o", tmp_path / "o", "--format", "html,json", "-q")
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == ""
    assert (tmp_path / "o" / "report.html").exists()
    r = run("validate", my_case, "-q")
    assert r.exit_code == 0 and r.output == ""
    r = run("new", tmp_path / "q", "-q")
    assert r.exit_code == 0 and r.output == ""
    r = run("build", tmp_path / "missing", "-q")
    assert r.exit_code == 1 and r.stdout == "" and "case file not found" in r.stderr


def test_results_on_stdout_diagnostics_on_stderr(tmp_path, my_case):
    r = run("build", my_case, "-o", tmp_path / "o", "--format", "json")
    assert r.exit_code == 0
    assert r.stdout == f"wrote {tmp_path / 'o' / 'summary.json'}\n"
    assert "built in" in r.stderr and "… reading runs" in r.stderr
    assert "rendering HTML" not in r.stderr  # JSON only: no HTML is rendered
    r = run("validate", my_case)
    assert "valid" in r.stdout and "warning:" not in r.stdout and "note:" not in r.stdout


def test_tilde_is_expanded(tmp_path, my_case, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    r = run("build", "~/mine", "-o", "~/out-tilde", "--format", "json", "-q")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out-tilde" / "summary.json").exists()
    # and in case.yaml run paths
    shutil.copy(my_case / "runs" / "baseline.csv", tmp_path / "b.csv")
    y = my_case / "case.yaml"
    y.write_text(y.read_text().replace("path: runs/baseline.csv", "path: ~/b.csv"))
    # ~/b.csv is outside the case folder: read only with the user's --trust-case-paths (issue 22)
    r = run("validate", my_case)
    assert r.exit_code == 1 and "leads outside the case folder" in r.stderr and "--trust-case-paths" in r.stderr
    assert run("validate", my_case, "--trust-case-paths").exit_code == 0


# ---------------------------------------------------------------- compare


def test_compare_shows_failures_and_warns():
    r = run("compare", TGI, VLLM64)
    assert r.exit_code == 0, r.output
    assert "requests: 128 sent, 42 succeeded, 86 failed" in r.stdout
    assert "requests: 128 sent, 128 succeeded, 0 failed" in r.stdout
    assert "warning: failures differ: A failed 86 of 128 requests (67.2%)" in r.stderr
    header = next(line for line in r.stdout.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "stat", "A", "B", "Δ", "Δ", "%", "95%", "CI", "of", "Δ", "%", "verdict"]
    data = json.loads(run("compare", TGI, VLLM64, "--json").stdout)
    assert data["a"]["requests"]["failed"] == 86 and len(data["warnings"]) == 1
    r = run("compare", VLLM64, VLLM64)
    assert "warning" not in r.stderr


# ---------------------------------------------------------------- case.yaml messages


def _validate_text(case_dir: Path, edit) -> str:
    y = case_dir / "case.yaml"
    y.write_text(edit(y.read_text()))
    r = run("validate", case_dir)
    assert r.exit_code == 1 and "Traceback" not in r.output
    return r.stderr


def test_did_you_mean_only_among_keys_of_that_level(my_case):
    err = _validate_text(my_case, lambda t: t.replace("runs:\n  baseline:", "runs:\n  candidate: {path: x}\n  baseline:")
                         .replace('    label: "Optimized"', '    label: "Optimized"\n    titel: x')
                         .replace("  hardware:", "  hardwre:"))
    assert "unknown key 'candidate'" in err and "one of: baseline, steps, optimized" in err and "'date'" not in err
    assert "unknown key 'titel'" in err and "'title'" not in err and "one of: path, format, label" in err
    assert "did you mean 'hardware'?" in err


def test_units_date_and_format_messages(my_case):
    err = _validate_text(my_case, lambda t: t.replace("# units: ms", "units: sec").replace("2026-02-03", "03/02/2026")
                         .replace("format: auto", "format: vlm"))
    assert "'sec' is not valid" in err and "'s', 'ms', 'us' or 'ns'" in err and "dictionary" not in err
    assert "'03/02/2026' is not a date" in err and "YYYY-MM-DD" in err
    assert "unknown format 'vlm'" in err and "did you mean 'vllm'?" in err and "inference-perf" in err


def test_format_enum_in_schema_and_docs_from_the_registry():
    from casegen.runs import FORMATS

    schema = json.loads(run("schema").stdout)
    enum = schema["$defs"]["RunSpec"]["properties"]["format"]["enum"]
    assert enum[0] == "auto" and {f.name for f in FORMATS} <= set(enum)
    docs = (Path(__file__).parent.parent / "docs" / "case-yaml.md").read_text()
    row = next(line for line in docs.splitlines() if line.startswith("| `format` |"))
    assert all(f"`{f.name}`" in row for f in FORMATS)
    scaffold = (Path(__file__).parent.parent / "templates" / "new" / "case.yaml").read_text()
    assert "auto | vllm | casegen-csv" not in scaffold


# ---------------------------------------------------------------- display


def test_inspect_never_prints_none_counts():
    from casegen.app.console import request_counts

    assert request_counts({"total": None, "succeeded": 5, "failed": None}) == \
        "sent: not reported, 5 succeeded, failed: not reported"
    for path in sorted(FIXTURES.rglob("*.json"))[:40]:
        r = run("inspect", path)
        assert "None sent" not in r.output and "None failed" not in r.output and "None succeeded" not in r.output


def test_png_hint_works_from_a_clone():
    from casegen.app.outputs import PNG_EXTRA_HINT

    assert "pip install pypdfium2" in PNG_EXTRA_HINT and "'.[png]'" in PNG_EXTRA_HINT
    assert "pip install 'casegen[png]'" not in (Path(__file__).parent.parent / "README.md").read_text()


def test_user_labels_keep_their_case_in_headings():
    """CSS upper-cases table headings; the user's labels ('vLLM') are exempt."""
    root = Path(__file__).parent.parent / "templates"
    assert ".as-written { text-transform: none" in (root / "style.css").read_text()
    for tpl in [root / "onepager.html.j2", *sorted((root / "sections").glob("*.j2"))]:
        for line in tpl.read_text().splitlines():
            if "<thead>" in line:
                assert "{{ labels.baseline }}" not in line.replace('<span class="as-written">{{ labels.baseline }}', ""), tpl
