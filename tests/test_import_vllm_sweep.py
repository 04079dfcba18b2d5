"""vLLM `bench sweep serve` tree importer (tests/fixtures/vllm-sweep, see PROVENANCE.md)."""

from __future__ import annotations

import json
import shutil

import pytest

from casegen.analysis.metrics import compute_run_metrics
from casegen.errors import CasegenError
from casegen.runs import detect_format, load_run, load_runs
from casegen.runs.vllm_sweep import parse_combination
from conftest import FIXTURES, write

TREE = FIXTURES / "vllm-sweep" / "bench-sweep-v0.25.1-opt125m"
C4 = TREE / "SERVE--max_num_seqs=4-BENCH--max_concurrency=2-num_prompts=8"
C8 = TREE / "SERVE--max_num_seqs=8-BENCH--max_concurrency=2-num_prompts=8"


def test_top_folder_gives_one_run_per_run_file():
    runs = load_runs(TREE)
    assert len(runs) == 4
    assert [r.meta.index for r in runs] == [0, 1, 2, 3]
    assert [(r.meta.extra["max_num_seqs"], r.meta.extra["run_number"]) for r in runs] == [(4, 0), (4, 1), (8, 0), (8, 1)]
    for r in runs:
        assert r.summary_only  # the sweep's run=N.json carry no per-request arrays
        assert r.meta.format == "vllm-sweep" and r.meta.tool == "vllm"
        assert r.meta.max_concurrency == 2 and r.meta.num_prompts == 8
        assert r.meta.model == "facebook/opt-125m"
        assert r.meta.source.endswith(f"run={r.meta.extra['run_number']}.json")
        assert len(r.meta.sha256) == 64
    assert runs[0].meta.label == "max_num_seqs=4 max_concurrency=2 num_prompts=8 run=0"


def test_values_by_hand():
    r = load_runs(TREE)[0]
    raw = json.loads((C4 / "run=0.json").read_text())
    assert r.tool_summary["ttft"]["mean"] == raw["mean_ttft_ms"] == pytest.approx(217.27289337468392)
    assert r.tool_summary["e2e"]["p99"] == pytest.approx(876.8009717071254)
    assert r.tool_summary["throughput"]["requests_per_s"] == pytest.approx(5.859229976904171)
    assert r.meta.duration_s == pytest.approx(1.3653671270003542)
    assert r.meta.date == "20260818-021333"
    m = compute_run_metrics(r)
    assert m.requests["total"] == 8 and m.requests["failed"] == 0


def test_combination_folder_gives_its_repetitions():
    runs = load_runs(C8)
    assert len(runs) == 2
    assert [r.meta.extra["run_number"] for r in runs] == [0, 1]
    assert runs[1].tool_summary["ttft"]["mean"] == pytest.approx(36.80464224999014)


def test_summary_json_duplicates_are_skipped_but_readable_alone():
    assert detect_format(C4 / "summary.json") == "vllm-sweep"
    assert detect_format(C4 / "run=0.json") == "vllm"  # a single run=N.json is a plain vLLM file
    from_summary = load_runs(C4 / "summary.json")
    from_dir = load_runs(C4)
    assert len(from_summary) == len(from_dir) == 2
    for a, b in zip(from_summary, from_dir):
        assert a.tool_summary == b.tool_summary
        assert a.meta.extra["max_num_seqs"] == b.meta.extra["max_num_seqs"]
        assert a.meta.extra["run_number"] == b.meta.extra["run_number"]


def test_summary_json_used_when_run_files_are_absent(tmp_path):
    dst = tmp_path / C4.name
    dst.mkdir()
    shutil.copy(C4 / "summary.json", dst / "summary.json")
    runs = load_runs(tmp_path)
    assert len(runs) == 2 and all(r.meta.source.endswith("summary.json") for r in runs)
    assert runs[1].meta.extra["run_number"] == 1


def test_select_by_max_num_seqs_and_run_number():
    r = load_run(TREE, select="max_num_seqs=8,run_number=1")
    assert r.meta.index == 3
    r = load_run(TREE, select={"max_num_seqs": 4, "run_number": 0})
    assert r.tool_summary["ttft"]["mean"] == pytest.approx(217.27289337468392)
    with pytest.raises(CasegenError, match="matches 2 runs"):
        load_run(TREE, select="max_num_seqs=8")
    with pytest.raises(CasegenError, match="no run matches"):
        load_run(TREE, select="max_num_seqs=16")


def test_parse_combination_names():
    assert parse_combination(C4.name) == ({"max_num_seqs": 4}, {"max_concurrency": 2, "num_prompts": 8})
    assert parse_combination("BENCH--request_rate=10") == ({}, {"request_rate": 10})
    assert parse_combination("SERVE--max_num_seqs=16") == ({"max_num_seqs": 16}, {})
    assert parse_combination("SERVE--model=org/a-b-c-tensor_parallel_size=2") == (
        {"model": "org/a-b-c", "tensor_parallel_size": 2}, {})
    assert parse_combination("results") is None


def test_timestamp_level_above_combinations(tmp_path):
    shutil.copytree(TREE, tmp_path / "20260818-021300")
    runs = load_runs(tmp_path)
    assert len(runs) == 4 and runs[0].meta.extra["sweep"] == "20260818-021300"


def test_natural_order_of_combinations(tmp_path):
    for n in (16, 4):
        d = tmp_path / f"SERVE--max_num_seqs={n}-BENCH--max_concurrency=2-num_prompts=8"
        d.mkdir()
        shutil.copy(C4 / "run=0.json", d / "run=0.json")
    runs = load_runs(tmp_path)
    assert [r.meta.extra["max_num_seqs"] for r in runs] == [4, 4]  # the file's own value wins…
    assert any("folder name says max_num_seqs=16" in w for w in runs[1].warnings)  # …with a warning


# --------------------------------------------------------------------------- bad input


def _copy_c4(tmp_path):
    dst = tmp_path / C4.name
    shutil.copytree(C4, dst)
    for p in dst.iterdir():
        p.chmod(0o644)
    return dst


def test_truncated_run_file(tmp_path):
    dst = _copy_c4(tmp_path)
    text = (dst / "run=1.json").read_text()
    (dst / "run=1.json").write_text(text[:300])
    with pytest.raises(CasegenError) as exc:
        load_runs(tmp_path)
    assert exc.value.file.endswith("run=1.json") and "truncated" in exc.value.what


def test_run_file_that_is_not_a_vllm_result(tmp_path):
    dst = _copy_c4(tmp_path)
    (dst / "run=0.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(CasegenError, match="not a vLLM serving-benchmark result"):
        load_runs(dst)


def test_wrong_type_in_run_file(tmp_path):
    dst = _copy_c4(tmp_path)
    obj = json.loads((dst / "run=0.json").read_text())
    obj["duration"] = "long"
    (dst / "run=0.json").write_text(json.dumps(obj))
    with pytest.raises(CasegenError, match="key duration: is str 'long'"):
        load_runs(dst)


def test_bad_summary_json(tmp_path):
    obj = json.loads((C4 / "summary.json").read_text())
    p = write(tmp_path / "summary.json", json.dumps([]))
    with pytest.raises(CasegenError, match="empty"):
        load_runs(p, format="vllm-sweep")
    p = write(tmp_path / "s2.json", json.dumps([obj[0], {"x": 1}]))
    with pytest.raises(CasegenError) as exc:
        load_runs(p, format="vllm-sweep")
    assert exc.value.where == "list index 1"
    p = write(tmp_path / "s3.json", json.dumps(obj[0]))
    with pytest.raises(CasegenError, match="top level is a JSON dict"):
        load_runs(p, format="vllm-sweep")
    bad = dict(obj[1], completed="eight")
    p = write(tmp_path / "s4.json", json.dumps([obj[0], bad]))
    with pytest.raises(CasegenError) as exc:
        load_runs(p, format="vllm-sweep")
    assert exc.value.where == "list index 1"


def test_folder_without_sweep(tmp_path):
    (tmp_path / "SERVE--max_num_seqs=4").mkdir()  # no run files: not a combination folder
    with pytest.raises(CasegenError):
        load_runs(tmp_path, format="vllm-sweep")


def test_summary_count_mismatch_is_warned(tmp_path):
    dst = _copy_c4(tmp_path)
    (dst / "run=1.json").unlink()
    runs = load_runs(dst)
    assert len(runs) == 1 and any("summary.json lists 2 runs" in w for w in runs[0].warnings)
