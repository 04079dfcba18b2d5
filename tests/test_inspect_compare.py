"""`casegen inspect` and `casegen compare` through the CLI and the library."""

from __future__ import annotations

import json

from click.testing import CliRunner

from casegen.app.compare import compare_runs
from casegen.app.inspect import inspect_path
from casegen.cli.main import main
from conftest import FIXTURES, VLLM

FP16 = VLLM / "h100-llama31-8b-fp16-c16-detailed.json"
FP8 = VLLM / "h100-llama31-8b-fp8-c16-detailed.json"
APPEND = VLLM / "llm-d-l40s-llama32-3b-3deployments-x-3rates-append-result.json"


def test_inspect_lists_runs_and_selector_values():
    r = CliRunner().invoke(main, ["inspect", str(APPEND)])
    assert r.exit_code == 0, r.output
    assert "format: vllm" in r.output and "9 runs" in r.output
    assert "deployment=kvcache" in r.output and "summary only" in r.output


def test_inspect_json_and_select():
    r = CliRunner().invoke(main, ["inspect", str(APPEND), "--select", "deployment=kvcache,rate=30", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert len(info["runs"]) == 1 and info["runs"][0]["selector"]["deployment"] == "kvcache"
    info = inspect_path(FP16)
    run = info["runs"][0]
    assert run["data"] == "per-request" and run["parity_checked"] == 15 and not run["parity_flagged"]
    assert abs(run["latency"]["ttft_p50_ms"] - 72.0031535) < 1e-6


def test_inspect_every_fixture_folder_runs_cleanly():
    folders = sorted({p.parent for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".csv", ".yaml")})
    for folder in folders:
        for f in sorted(folder.iterdir()):
            if f.suffix not in (".json", ".jsonl", ".csv", ".yaml"):
                continue
            r = CliRunner().invoke(main, ["inspect", str(f)])
            assert r.exit_code in (0, 1), (f, r.output)
            assert "Traceback" not in r.output
            if r.exit_code == 1:
                assert "Error:" in r.output


def test_inspect_missing_path():
    r = CliRunner().invoke(main, ["inspect", "/nonexistent/file.json"])
    assert r.exit_code == 1 and "not found" in r.output


def test_compare_table_and_json():
    r = CliRunner().invoke(main, ["compare", str(FP16), str(FP8)])
    assert r.exit_code == 0, r.output
    assert "TPOT" in r.output and "-22.4%" in r.output and "better" in r.output
    r = CliRunner().invoke(main, ["compare", str(FP16), str(FP8), "--json"])
    data = json.loads(r.output)
    row = next(x for x in data["rows"] if x["metric"] == "tpot" and x["stat"] == "p50")
    # TPOT of neighbouring requests is autocorrelated (lag-1 0.89): ~4 effective requests, no interval
    assert abs(row["pct"] - (-22.36)) < 0.05 and row["ci_pct"] is None and row["verdict"] == "too few samples"
    row = next(x for x in data["rows"] if x["metric"] == "ttft" and x["stat"] == "p50")
    assert row["ci_pct"][1] < 0 and row["verdict"] == "better" and row["family"] == "primary"


def test_compare_same_run_is_not_significant():
    res = compare_runs(FP16, FP16)
    assert all(r["verdict"] in ("no significant change", "too few samples", "no interval") for r in res["rows"])
    assert res["regressions"] == [] and not res["any_regression"]


def test_compare_summary_only_with_selectors():
    res = compare_runs(APPEND, APPEND, select_a="deployment=no-features,rate=30", select_b="deployment=kvcache,rate=30")
    assert res["a"]["data"] == "summary" and all(r["ci_pct"] is None for r in res["rows"])
    r = CliRunner().invoke(main, ["compare", str(APPEND), str(FP8)])
    assert r.exit_code == 1 and "holds 9 runs" in r.output
