"""One number policy for every importer (casegen/runs/fields.py, docs/writing-an-importer.md).

The same bad value is put at a latency statistic of a real fixture of each tool; every importer
must answer the same way: a numeric string is read as its number, a NaN is "missing", and a
negative latency, a boolean or an integer beyond the float range is a CasegenError naming the
file and the key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casegen.errors import CasegenError
from casegen.runs import load_runs
from conftest import FIXTURES

# tool → (real fixture, path of keys to a summary TTFT statistic, the key the error must name,
#         that statistic's casegen name in tool_summary['ttft'])
CASES = {
    "guidellm": ("guidellm/v0.5-qwen3-4b-concurrent4-benchmarks.json",
                 ("benchmarks", 0, "metrics", "time_to_first_token_ms", "successful", "mean"),
                 "time_to_first_token_ms.successful.mean", "mean"),
    "llmperf": ("llmperf/leaderboard-together-llama2-70b/summary.json", ("results_ttft_s_mean",),
                "results_ttft_s_mean", "mean"),
    "aiperf": ("aiperf/gpt-oss-20b-reasoning-streaming-profile_export_aiperf.json",
               ("time_to_first_token", "p50"), "time_to_first_token.p50", "p50"),
    "genai-perf": ("genai-perf/gpt-oss-20b-streaming-c1-older-profile_export_genai_perf.json",
                   ("time_to_first_token", "p50"), "time_to_first_token.p50", "p50"),
}


def _put(obj, keys, value):
    for k in keys[:-1]:
        obj = obj[k]
    obj[keys[-1]] = value


def _load_with(tmp_path: Path, tool: str, value):
    rel, keys = CASES[tool][:2]
    src = FIXTURES / rel
    doc = json.loads(src.read_text(encoding="utf-8"))
    _put(doc, keys, value)
    out = tmp_path / src.name
    out.write_text(json.dumps(doc), encoding="utf-8")  # NaN is written as the bare token NaN
    return out


def _stat(runs):
    return [r.tool_summary for r in runs]


@pytest.mark.parametrize("tool", sorted(CASES))
@pytest.mark.parametrize("bad, says", [
    (-5.0, "≥ 0"),
    (True, "boolean"),
    (10 ** 400, "digits"),
    ("fast", "a number"),
])
def test_bad_value_is_a_clear_error_naming_file_and_key(tmp_path, tool, bad, says):
    out = _load_with(tmp_path, tool, bad)
    with pytest.raises(CasegenError) as info:
        load_runs(out)
    text = str(info.value)
    assert CASES[tool][2] in text, text
    assert out.name in text, text
    assert says in text, text


@pytest.mark.parametrize("tool", sorted(CASES))
def test_numeric_string_reads_as_its_number(tmp_path, tool):
    rel, keys = CASES[tool][:2]
    reference = load_runs(FIXTURES / rel)
    doc = json.loads((FIXTURES / rel).read_text(encoding="utf-8"))
    obj = doc
    for k in keys[:-1]:
        obj = obj[k]
    obj[keys[-1]] = f" {obj[keys[-1]]!r} "
    out = tmp_path / Path(rel).name
    out.write_text(json.dumps(doc), encoding="utf-8")
    assert _stat(load_runs(out)) == _stat(reference)


@pytest.mark.parametrize("tool", sorted(CASES))
def test_nan_is_missing(tmp_path, tool):
    rel, stat = CASES[tool][0], CASES[tool][3]
    out = _load_with(tmp_path, tool, float("nan"))
    runs = load_runs(out)  # no error: NaN means "not measured"
    reference = load_runs(FIXTURES / rel)
    assert len(runs) == len(reference)
    assert stat in reference[0].tool_summary["ttft"]
    assert stat not in runs[0].tool_summary["ttft"]  # dropped, not kept as NaN
    assert {k: v for k, v in reference[0].tool_summary["ttft"].items() if k != stat} == runs[0].tool_summary["ttft"]


AIPERF_CSV = FIXTURES / "aiperf/0.13.0/optimized-sweep/concurrency_1/profile_export_aiperf.csv"


def _aiperf_csv_with_ttft_p50(tmp_path: Path, cell: str) -> Path:
    lines = AIPERF_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if line.startswith("Time to First Token (ms),"))
    cells = lines[i].rstrip("\n").split(",")
    cells[9] = cell  # the p50 column
    lines[i] = ",".join(cells) + "\n"
    out = tmp_path / AIPERF_CSV.name
    out.write_text("".join(lines), encoding="utf-8")
    return out


@pytest.mark.parametrize("cell", ["fast", "1e999", "True"])
def test_aiperf_csv_cell_follows_the_same_policy(tmp_path, cell):
    out = _aiperf_csv_with_ttft_p50(tmp_path, cell)
    with pytest.raises(CasegenError) as info:
        load_runs(out)
    assert "line 43, column p50" in str(info.value)


@pytest.mark.parametrize("cell, p50_ms", [("50.64", 50.64), ("N/A", None), ("NaN", None), ("", None)])
def test_aiperf_csv_missing_cells(tmp_path, cell, p50_ms):
    run, = load_runs(_aiperf_csv_with_ttft_p50(tmp_path, cell))
    assert run.tool_summary["ttft"].get("p50") == p50_ms
