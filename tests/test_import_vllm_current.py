"""vLLM 0.33.0 `vllm bench serve --save-result --save-detailed` files made here against
tools/testserver.py (tests/fixtures/vllm/0.33.0/PROVENANCE): every file is read with its
per-request arrays, and casegen's figures agree with vLLM's own summary in the file (≤ 0.5 %)."""

from __future__ import annotations

import json

import pytest

from casegen.analysis.metrics import compute_run_metrics
from casegen.runs import detect_format, load_run
from conftest import FIXTURES

VLLM = FIXTURES / "vllm" / "0.33.0"
NAMES = [f"{side}-c{c}.json" for side in ("baseline", "optimized") for c in (1, 4, 8)]


@pytest.mark.parametrize("name", NAMES)
def test_detailed_result_is_per_request_with_parity(name):
    path = VLLM / name
    assert detect_format(path) == "vllm"
    run = load_run(path)
    rec = json.loads(path.read_text())
    assert run.meta.max_concurrency == rec["max_concurrency"] == int(name.split("-c")[1].split(".")[0])
    assert not run.summary_only and len(run.requests) == 20 and run.requests["success"].all()
    assert run.requests["ttft_s"][0] == pytest.approx(rec["ttfts"][0])
    assert run.requests["e2e_s"][0] == pytest.approx(rec["latencies"][0])
    rows = compute_run_metrics(run, "linear").parity
    # vLLM summarises ttft, tpot and itl by default (e2el only with --percentile-metrics)
    assert {"ttft", "tpot", "itl", "throughput"} <= {r.metric for r in rows} and len(rows) >= 15
    assert max(abs(r.diff_pct) for r in rows) <= 0.5
