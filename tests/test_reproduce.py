"""The `reproduce:` block, what the tools' files record, every input file hashed, and the links
from the HTML to the other outputs of the build."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from casegen.analysis.study import analyze
from casegen.app.build import build
from casegen.case.model import load_case
from casegen.report.reproduce import _from_files, input_files, reproduce_view
from casegen.runs import load_runs
from conftest import FIXTURES, ROOT, write

SWEEP = ROOT / "cases" / "inference-perf-llama3-8b-quantization-sweep"


def test_values_recorded_by_the_tools_files():
    aiperf = load_runs(FIXTURES / "aiperf" / "gpt-oss-20b-reasoning-streaming-profile_export_aiperf.json")[0]
    assert _from_files(aiperf)["command"].startswith("aiperf profile")
    sglang = load_runs(FIXTURES / "sglang" / "gh200-agg-in512-out128-c32.jsonl")[0]
    assert _from_files(sglang)["engine"] == "SGLang 0.5.5.post3"
    llmd = load_runs(FIXTURES / "vllm" / "llm-d-l40s-llama32-3b-3deployments-x-3rates-append-result.json")[0]
    got = _from_files(llmd)
    assert got["hardware"] == "4× NVIDIA L40S" and got["engine"] == "vLLM" and "command" not in got
    sweep = load_runs(FIXTURES / "vllm-sweep" / "bench-sweep-v0.25.1-opt125m")[0]
    assert _from_files(sweep)["flags"] == "--max-num-seqs 4"


def test_case_yaml_wins_and_missing_fields_are_named(example_case):
    text = (example_case / "case.yaml").read_text()
    text = re.sub(r"\nreproduce:.*?(?=\nnotes:)", "", text, flags=re.S)
    text += """
reproduce:
  engine: vLLM
  engine_version: "0.8.2"
  cuda: "12.4"
  optimized:
    flags: "--quantization fp8"
    command: "vllm bench serve --model m --request-rate 10"
"""
    write(example_case / "case.yaml", text)
    case, d = load_case(example_case)
    view = reproduce_view(analyze(case, d))
    rows = {r["key"]: r["cells"] for r in view["rows"]}
    assert [c["text"] for c in rows["engine"]] == ["vLLM 0.8.2", "vLLM 0.8.2"]
    assert [c["text"] for c in rows["flags"]] == [None, "--quantization fp8"]
    assert [c["text"] for c in rows["driver"]] == ["CUDA 12.4", "CUDA 12.4"]
    assert view["commands"][1]["text"].startswith("vllm bench serve") and view["commands"][0]["text"] is None
    assert view["missing"] == ["Hardware"]


def test_example_shows_reproduce_links_and_hashes(tmp_path):
    build(ROOT / "cases" / "h100-llama31-8b-fp8", tmp_path, formats=("html", "json"))
    html = (tmp_path / "report.html").read_text()
    # a long command is broken between options (never inside a token), lines of at most 78 characters
    assert 'id="reproduce"' in html and "python benchmark_serving.py --backend openai \\\n    --model meta-llama" in html
    cmd = html.split('<pre class="command"><code>')[1].split("</code>")[0]
    assert " \\\n    --" in cmd and all(len(line) <= 78 for line in cmd.splitlines())
    assert '<a href="summary.json">' in html and 'href="report.pdf"' not in html  # only files that were built


def test_sweep_appendix_hashes_every_stage_file():
    case, d = load_case(SWEEP)
    rows = input_files(analyze(case, d))
    for side, folder in (("Baseline", "baseline"), ("Quantized + caching", "quantized")):
        files = [r for r in rows if r["side"] == side]
        stages = sorted((SWEEP / "runs" / folder).glob("stage_*_lifecycle_metrics.json"))
        assert len(stages) == 7 and sorted(Path(r["file"]).name for r in files) == [p.name for p in stages]
        for r in files:
            assert r["sha256"] == hashlib.sha256((SWEEP / r["file"]).read_bytes()).hexdigest()
