"""Issue 24: a newcomer's path — every scaffold value flagged until replaced, accept: for threats the
author acknowledges (listed, never hidden; --strict passes them)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from casegen.cli.main import main
from conftest import FIXTURES, ROOT

VLLM = FIXTURES / "vllm"


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


#: what a user edits in the scaffold's case.yaml: (scaffold text, their value)
EDITS = (
    ("Your Name", "Ada Lovelace"), ("2026-01-15", "2026-02-03"),
    ("EXAMPLE DATA — replace runs/*.csv with your own benchmark output.", "FP8 on our chat endpoint."),
    ("Replace this text with what a reviewer should know.", "Both runs on the same host."),
    ("Serving at half the cost", "Serving cheaper"),
    ("example on-demand price; state your provider and date", "ACME cloud list price, 2026-02"),
    ("Two engineer-weeks for calibration, evaluation and rollout.", "Two weeks."),
    ("Chat traffic from 16 concurrent clients", "Chat traffic from 16 clients"),
    ('model: "Llama-3.1-8B-Instruct"', 'model: "Llama 3.1 8B Instruct (BF16 → FP8)"'),
    ('hardware: "1× NVIDIA L40S 48 GB per replica"', 'hardware: "1× H100 80 GB"'),
    ('serving_stack: "vLLM 0.8, OpenAI-compatible server"', 'serving_stack: "vLLM 0.6"'),
    ('notes: "max_num_seqs 64, chunked prefill on"', 'notes: "default flags"'),
    ('dataset: "synthetic example"', 'dataset: "sonnet"'),
    ("{metric: ttft, percentile: 95, threshold_ms: 500}", "{metric: ttft, percentile: 99, threshold_ms: 300}"),
    ("{metric: tpot, percentile: 99, threshold_ms: 40}", "{metric: tpot, percentile: 99, threshold_ms: 25}"),
    ('gpu: "L40S", gpu_hourly_usd: 1.20', 'gpu: "H100", gpu_hourly_usd: 2.99'),
    ("requests_per_month: 10000000", "requests_per_month: 2500000"),
    ("peak_requests_per_s: 40", "peak_requests_per_s: 12"),
    ("one_time_cost_usd: 6000", "one_time_cost_usd: 1500"),
    ('technique: "FP8 weights and KV cache"', 'technique: "FP8 weights"'),
    ('what_changed: "Weights and KV cache quantized to FP8 (dynamic activation scales)."',
     'what_changed: "An FP8 checkpoint."'),
    ('helps_when: "Decode is memory-bandwidth bound: long answers, large batches."', 'helps_when: "Long answers."'),
    ('hurts_when: "Tasks sensitive to small accuracy losses (math, code); GPUs without FP8 support."',
     'hurts_when: "Math and code."'),
    ('quality: {metric: "MMLU 5-shot", baseline: 68.4, optimized: 68.1, tolerance: 0.5, unit: " pts"}',
     'quality: {metric: "GSM8K", baseline: 0.81, optimized: 0.80, tolerance: 0.02}'),
    ('risk: "Re-run the evaluation suite on every model update."', 'risk: "Re-evaluate on updates."'),
('engine_version: "0.8.2"', 'engine_version: "0.6.3"'),
    ('hardware: "1× NVIDIA L40S 48 GB (PCIe)"', 'hardware: "1× H100 SXM 80 GB"'),
    ('driver: "550.54.15"', 'driver: "560.35.03"'), ('cuda: "12.4"', 'cuda: "12.6"'),
    ('flags: "--max-num-seqs 64 --enable-chunked-prefill"\n', 'flags: "--max-num-seqs 128"\n'),
    ('flags: "--max-num-seqs 64 --enable-chunked-prefill --quantization fp8 --kv-cache-dtype fp8"',
     'flags: "--max-num-seqs 128 --quantization fp8"'),
    ("path: runs/baseline.csv", "path: runs/fp16.json"), ("path: runs/optimized.csv", "path: runs/fp8.json"),
)


def _user_case(tmp_path: Path, skip: tuple[str, ...] = ()) -> Path:
    """`casegen new`, real vLLM runs copied in, and every scaffold value edited (except those in ``skip``)."""
    d = tmp_path / "mine"
    assert run("new", d, "-q").exit_code == 0
    shutil.copy(VLLM / "h100-llama31-8b-fp16-c16-detailed.json", d / "runs" / "fp16.json")
    shutil.copy(VLLM / "h100-llama31-8b-fp8-c16-detailed.json", d / "runs" / "fp8.json")
    y = d / "case.yaml"
    text = y.read_text()
    for old, new in EDITS:
        assert old in text, old
        if not any(s in old for s in skip):
            text = text.replace(old, new)
    y.write_text(text)
    return d


def _threats(case: Path, tmp: Path) -> dict[str, dict]:
    r = run("build", case, "-o", tmp / "out", "--format", "json", "-q")
    assert r.exit_code == 0, r.output
    return {t["key"]: t for t in json.loads((tmp / "out" / "summary.json").read_text())["threats"]}


def test_every_scaffold_value_is_flagged_until_replaced(tmp_path):
    fresh = tmp_path / "fresh"
    run("new", fresh, "-q")
    r = run("validate", fresh)
    assert r.exit_code == 0, r.output
    line = next(x for x in r.stderr.splitlines() if "Example values from `casegen new`" in x)
    for key in ("system.model", "system.hardware", "slos.0", "slos.1", "cost.baseline.self_hosted.gpu_hourly_usd",
                "cost.requests_per_month", "cost.one_time_cost_usd", "tradeoffs.0.technique",
                "tradeoffs.0.quality.baseline", "tradeoffs.0.quality.optimized", "reproduce.engine_version",
                "reproduce.optimized.flags", "runs.baseline.path", "runs.optimized.path"):
        assert key in line, key
    # a default (headroom 0.8, horizon 12, format auto, labels) is not the scaffold's value
    for key in ("headroom", "horizon_months", "utilization", "format", "label", "reproduce.engine,", "gpu,"):
        assert key not in line, key
    assert run("validate", fresh, "--strict").exit_code == 3

    mine = _user_case(tmp_path)
    keys = _threats(mine, tmp_path)
    assert "scaffold-value" not in keys and "scaffold-text" not in keys, keys.get("scaffold-value")


def test_one_value_left_is_named(tmp_path):
    mine = _user_case(tmp_path, skip=("one_time_cost_usd", "baseline: 68.4"))
    t = _threats(mine, tmp_path)["scaffold-value"]
    assert t["reasons"] == ["The scaffold's example values still in cost.one_time_cost_usd, tradeoffs.0.quality.metric, "
                            "tradeoffs.0.quality.baseline, tradeoffs.0.quality.optimized, tradeoffs.0.quality.tolerance, "
                            "tradeoffs.0.quality.unit: a reader takes them for facts about your system"]
    r = run("validate", mine, "--strict")
    assert r.exit_code == 3 and "Example values from `casegen new`" in r.stderr


def test_the_example_runs_are_flagged_under_any_name(tmp_path):
    mine = _user_case(tmp_path)
    shutil.copy(mine / "runs" / "optimized.csv", mine / "runs" / "new.csv")
    y = mine / "case.yaml"
    y.write_text(y.read_text().replace("path: runs/fp8.json", "path: runs/new.csv"))
    t = _threats(mine, tmp_path)["scaffold-value"]
    assert "runs.optimized.path" in t["reasons"][0] and "synthetic example data" in t["reasons"][0]


# ------------------------------------------------------------------- accept:


def test_bundled_cases_pass_strict():
    for case in sorted(p for p in (ROOT / "cases").iterdir() if (p / "case.yaml").is_file()):  # teardown-testserver: runs only
        r = run("validate", case, "--strict")
        assert r.exit_code == 0, (case, r.stderr)
        assert "acknowledged: " in r.stderr


def test_accept_lists_the_threat_with_the_reason_and_strict_passes(tmp_path):
    mine = _user_case(tmp_path)
    r = run("validate", mine, "--strict")
    assert r.exit_code == 3
    y = mine / "case.yaml"
    keys = [k for k in _threats(mine, tmp_path)]
    assert "one-repetition" in keys
    y.write_text(y.read_text() + "accept:\n" + "".join(f"  {k}: \"reason for {k}\"\n" for k in keys))
    r = run("validate", mine, "--strict")
    assert r.exit_code == 0, r.stderr
    assert "acknowledged: One repetition (baseline, optimized) [one-repetition] (accept: in case.yaml)" in r.stderr
    t = _threats(mine, tmp_path)
    assert set(t) == set(keys)  # never hidden
    assert t["one-repetition"]["acknowledged"] == "reason for one-repetition"
    out = tmp_path / "html"
    assert run("build", mine, "-o", out, "--format", "html,md", "-q").exit_code == 0
    html = (out / "report.html").read_text()
    assert "<em>Acknowledged by the author:</em> reason for one-repetition" in html
    assert "*Acknowledged by the author:* reason for one-repetition" in (out / "report.md").read_text()
    # one accepted key less: --strict fails again, naming only what is left
    y.write_text(y.read_text().replace('  one-repetition: "reason for one-repetition"\n', ""))
    r = run("validate", mine, "--strict")
    assert r.exit_code == 3 and "1 threat(s) to validity: One repetition" in r.stderr


def test_unknown_accept_key_is_an_error_at_its_line(tmp_path):
    mine = _user_case(tmp_path)
    y = mine / "case.yaml"
    text = y.read_text() + "accept:\n  one-repetition: \"once\"\n  fixed-prompt: \"synthetic on purpose\"\n"
    y.write_text(text)
    line = text.splitlines().index('  fixed-prompt: "synthetic on purpose"') + 1
    r = run("validate", mine)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert f"line {line}, accept.fixed-prompt" in r.stderr and "did you mean 'fixed-prompts'?" in r.stderr


def test_an_accepted_key_no_threat_matches_is_noted(tmp_path):
    mine = _user_case(tmp_path)
    y = mine / "case.yaml"
    y.write_text(y.read_text() + "accept:\n  tool-differs: \"same tool really\"\n")
    r = run("validate", mine)
    assert r.exit_code == 0 and "accept: tool-differs matches no threat in this build" in r.stderr


def test_every_threat_key_is_in_the_registry():
    """A check raising a key accept: cannot name would make its threat impossible to acknowledge."""
    import ast

    from casegen import registry

    found = set()
    for path in (ROOT / "casegen").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Threat" and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant):
                    found.add(arg.value)
                elif isinstance(arg, ast.JoinedStr):  # f"{kind}-not-shown-same"
                    tail = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
                    found |= {f"{kind}{tail}" for kind in ("input", "output")}
                else:
                    found.add("<computed>")
    found.discard("<computed>")  # `key` chosen from literal pairs in compare_workloads (input/output-differs)
    assert found and found <= set(registry.THREATS), found - set(registry.THREATS)


# ------------------------------------------------------------------- output folder = the requested set


def test_output_folder_holds_exactly_the_requested_set(tmp_path, example_case):
    out = tmp_path / "out"
    r = run("build", example_case, "-o", out, "--format", "html,json,md")
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} == {"report.html", "summary.json", "report.md", "charts"}
    r = run("build", example_case, "-o", out, "--format", "json")
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} == {"summary.json"}
    assert f"removed {out / 'report.html'}" in r.stdout and f"removed {out / 'charts' / 'ttft-cdf.svg'}" in r.stdout
    # a folder of the user's own: their files stay, casegen's earlier outputs go the same way
    mine = tmp_path / "mine"
    (mine / "charts").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep")
    (mine / "charts" / "my-plot.png").write_bytes(b"png")
    assert run("build", example_case, "-o", mine, "--format", "html,md", "-q").exit_code == 0
    assert (mine / "report.html").exists() and (mine / "report.md").exists()
    r = run("build", example_case, "-o", mine, "--format", "json")
    assert r.exit_code == 0, r.output
    assert {p.name for p in mine.iterdir()} == {"notes.txt", "charts", "summary.json"}, list(mine.iterdir())
    assert [p.name for p in (mine / "charts").iterdir()] == ["my-plot.png"]  # yours: kept
    assert "removed" in r.stdout and "report.md" in r.stdout


def test_contradictory_output_options_are_a_usage_error(tmp_path, example_case):
    r = run("build", example_case, "-o", tmp_path / "o", "--no-pdf", "--format", "pdf,json")
    assert r.exit_code == 2 and "--no-pdf" in r.stderr and "contradict" in r.stderr
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------- hints

LLMD = VLLM / "llm-d-l40s-llama32-3b-3deployments-x-3rates-append-result.json"


def test_compare_on_a_multi_run_file_names_the_option():
    r = run("compare", LLMD, LLMD)
    assert r.exit_code == 1 and "--select-a <index> or --select-a key=value pairs" in r.stderr
    assert "select: <index>" not in r.stderr
    r = run("compare", LLMD, LLMD, "--select-a", "0", "--select-b", "rate=99")
    assert r.exit_code == 1 and "a --select-b value that matches exactly one run" in r.stderr


def test_a_wrong_selector_in_case_yaml_points_at_select(tmp_path):
    d = tmp_path / "c"
    run("new", d, "-q")
    shutil.copy(LLMD, d / "runs" / "r.json")
    y = d / "case.yaml"
    y.write_text(y.read_text().replace("path: runs/optimized.csv", "path: runs/r.json\n    select: rate=99"))
    r = run("validate", d)
    assert r.exit_code == 1 and "key runs.optimized.select" in r.stderr and "key runs.optimized.path" not in r.stderr
    y.write_text(y.read_text().replace("    select: rate=99\n", ""))
    r = run("validate", d)
    assert r.exit_code == 1 and "add select: under case.yaml line" in r.stderr and "key runs.optimized" in r.stderr


def test_a_number_where_text_is_expected_advises_quotes(tmp_path):
    d = tmp_path / "c"
    run("new", d, "-q")
    y = d / "case.yaml"
    y.write_text(y.read_text().replace('engine_version: "0.8.2"', "engine_version: 0.10"))
    r = run("validate", d)
    assert r.exit_code == 1
    assert "0.10 is a number in YAML (YAML reads 0.10 as 0.1), where text is expected" in r.stderr
    assert 'engine_version: "0.10"' in r.stderr


def test_yaml_syntax_errors_in_plain_words(tmp_path):
    d = tmp_path / "c"
    run("new", d, "-q")
    y = d / "case.yaml"
    orig = y.read_text()
    cases = [
        ('  hardware: "1× NVIDIA L40S', '   hardware: "1× NVIDIA L40S',
         "line 15 is indented by 3 spaces, the line above it (14) by 2 spaces"),
        ('  model: "Llama-3.1-8B-Instruct"', '  model: "Llama-3.1-8B-Instruct', "line 14 opens a quote it does not close"),
        ('  model: "Llama-3.1-8B-Instruct"', '\tmodel: "x"', "a tab character: YAML indents with spaces only"),
        ('title: "Serving at half the cost: prefix caching and FP8 on the chat endpoint"',
         "title: Serving at half the cost: prefix caching", "text containing a colon followed by a space must be quoted"),
    ]
    for old, new, said in cases:
        assert old in orig
        y.write_text(orig.replace(old, new, 1))
        r = run("validate", d)
        assert r.exit_code == 1 and said in r.stderr, (said, r.stderr)
        assert "the YAML reader said:" in r.stderr and "Traceback" not in r.output


def test_inspect_on_aiperfs_parent_folder_and_inputs_file(tmp_path):
    art = tmp_path / "artifacts"
    for name in ("baseline-c4", "optimized-c4"):
        shutil.copytree(FIXTURES / "aiperf" / "0.13.0" / name, art / name)
    r = run("inspect", art)
    assert r.exit_code == 1 and "try the subfolders: baseline-c4, optimized-c4" in r.stderr
    inputs = art / "baseline-c4" / "inputs.json"
    inputs.write_text(json.dumps({"data": [{"session_id": "s0", "payloads": [
        {"messages": [{"role": "user", "content": "hello"}], "model": "m", "stream": True}]}]}))
    r = run("inspect", inputs)
    assert r.exit_code == 1 and "this is AIPerf's inputs file" in r.stderr and "profile_export.jsonl" in r.stderr
    assert "Formats tried" not in r.stderr
    assert run("inspect", art / "baseline-c4").exit_code == 0  # the folder itself still reads


# ------------------------------------------------------------------- conventions


def test_no_color_and_version_short_option(tmp_path):
    fresh = tmp_path / "fresh"
    run("new", fresh, "-q")
    coloured = CliRunner().invoke(main, ["validate", str(fresh)], color=True)
    assert "\x1b[" in coloured.stderr  # a terminal gets colour ...
    for args, env in ((["validate", str(fresh)], {"NO_COLOR": "1"}), (["--no-color", "validate", str(fresh)], {})):
        r = CliRunner().invoke(main, args, color=True, env=env)
        assert r.exit_code == 0 and "\x1b[" not in r.output, args  # ... unless switched off
    r = run("-V")
    assert r.exit_code == 0 and r.stdout.startswith("casegen, version ")


def test_validate_json(tmp_path):
    r = run("validate", ROOT / "cases" / "h100-llama31-8b-fp8", "--json", "--strict")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["valid"] and data["strict_passes"] and data["open_threats"] == []
    assert data["runs"]["baseline"]["requests"] == {"total": 100, "succeeded": 100, "failed": 0}
    assert {t["key"]: bool(t["acknowledged"]) for t in data["threats"]}["fixed-outputs"]
    fresh = tmp_path / "fresh"
    run("new", fresh, "-q")
    r = run("validate", fresh, "--json", "--strict")
    assert r.exit_code == 3 and not json.loads(r.stdout)["strict_passes"]
    assert "scaffold-value" in json.loads(r.stdout)["open_threats"]
    (fresh / "case.yaml").write_text("title: [")
    r = run("validate", fresh, "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["valid"] is False


def test_tool_version_ranges_agree_between_readme_and_formats_doc():
    import re

    readme = (ROOT / "README.md").read_text()
    formats = (ROOT / "docs" / "formats.md").read_text()
    for tool in ("GuideLLM", "AIPerf", "inference-perf"):
        ranges = {doc: re.findall(rf"{tool} (\d+\.\d+–\d+\.\d+)", text) for doc, text in
                  (("README", readme), ("formats", formats))}
        assert ranges["README"] and ranges["README"][:1] == ranges["formats"][:1], (tool, ranges)


def test_windows_gets_a_clear_message(monkeypatch, capsys):
    import pytest

    import casegen.__main__ as entry

    monkeypatch.setattr(entry.sys, "platform", "win32")
    with pytest.raises(SystemExit) as exit_info:
        entry.main()
    assert exit_info.value.code == 1 and "Linux and macOS" in capsys.readouterr().err


# ------------------------------------------------------------------- reading: server token counts, model names


def _edit_jsonl(src: Path, dst: Path, edit) -> None:
    lines = [json.loads(x) for x in src.read_text().splitlines() if x.strip()]
    for i, rec in enumerate(lines):
        edit(i, rec)
    dst.write_text("".join(json.dumps(r) + "\n" for r in lines))


def test_aiperf_token_counts_come_from_the_servers_usage(tmp_path):
    from casegen.analysis.metrics import compute_run_metrics
    from casegen.runs import load_run

    src = FIXTURES / "aiperf" / "0.13.0" / "baseline-c4"
    shutil.copytree(src, tmp_path / "run")

    def server_counts_one_more(i, rec):  # the client's re-tokenisation counted one token less
        if i % 2 == 0:
            rec["metrics"]["usage_completion_tokens"]["value"] += 1

    _edit_jsonl(src / "profile_export.jsonl", tmp_path / "run" / "profile_export.jsonl", server_counts_one_more)
    aiperf_run = load_run(tmp_path / "run" / "profile_export.jsonl")
    client = [json.loads(x)["metrics"]["output_sequence_length"]["value"]
              for x in (src / "profile_export.jsonl").read_text().splitlines()]
    want = [c + (1 if i % 2 == 0 else 0) for i, c in enumerate(client)]
    assert aiperf_run.meta.token_source == "server"
    assert aiperf_run.requests["output_tokens"].tolist() == want
    assert any("server's token usage differs from AIPerf's client count" in w for w in aiperf_run.warnings)
    assert not any("re-tokenising the response text" in w for w in aiperf_run.warnings)
    m = compute_run_metrics(aiperf_run)
    assert m.tokens["output"].mean == sum(want) / len(want)
    # AIPerf's own output tok/s counted the client's tokens: the parity row says why they differ
    row = next(p for p in m.parity if p.metric == "throughput" and p.stat == "output_tokens_per_s")
    assert row.diff_pct > 0.5 and "usage_completion_tokens" in row.cause

    # without usage on every successful record: the client's count, said so
    def drop_usage(i, rec):
        if i == 3:
            del rec["metrics"]["usage_completion_tokens"]

    _edit_jsonl(src / "profile_export.jsonl", tmp_path / "run" / "profile_export.jsonl", drop_usage)
    aiperf_run = load_run(tmp_path / "run" / "profile_export.jsonl")
    assert aiperf_run.meta.token_source == "client" and any("re-tokenising" in w for w in aiperf_run.warnings)
    r = run("inspect", tmp_path / "run" / "profile_export.jsonl")
    assert r.exit_code == 0 and "token counts: the benchmark client's own count" in r.stdout


def test_inference_perf_server_usage_and_model_from_config(tmp_path):
    from casegen.runs import load_runs

    src = FIXTURES / "inference-perf" / "0.7.0" / "baseline-rate"
    dst = tmp_path / "report"
    shutil.copytree(src, dst)
    records = json.loads((src / "per_request_lifecycle_metrics.json").read_text())
    for rec in records:
        rec["info"]["response_metrics"]["server_usage"]["completion_tokens"] = 40
    (dst / "per_request_lifecycle_metrics.json").write_text(json.dumps(records))
    runs = load_runs(dst)
    assert {r.meta.model for r in runs} == {"test-model"}  # server.model_name in config.yaml
    assert all(r.meta.token_source == "server" for r in runs)
    assert all(set(r.requests["output_tokens"]) == {40} for r in runs)
    assert any("server_usage" in d for d in runs[0].definitions)
    r = run("inspect", dst, "--select", "stage=0")
    assert r.exit_code == 0 and "model test-model" in r.stdout and "token counts: the server's usage" in r.stdout


def test_portfolio_reports_progress_with_counts(tmp_path, example_case):
    r = run("portfolio", example_case, "-o", tmp_path / "site", "-j", "1", "--no-pdf")
    assert r.exit_code == 0, r.output
    assert "[1/1] building case" in r.stderr and "[1/1] case: ok" in r.stderr
