"""optimization.kind: intended differences are findings, not threats (prompt trimming, output capping,
streaming, right-sizing); cost per request from tokens; the quality guardrail on page 1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from casegen.analysis.study import analyze
from casegen.case.model import load_case
from casegen.cli.main import main
from casegen.report.build import build_report, summary_json
from tests.simruns import CASE_HEAD, fifo_queue, write_csv

COST = """
cost:
  baseline: {api: {provider: openai, model: gpt-4o-mini}}
  optimized: {api: {provider: openai, model: gpt-4o-mini}}
  requests_per_month: 1000000
"""
QUALITY = """
tradeoffs:
  - technique: "Prompt trimming"
    what_changed: "Dropped boilerplate from the system prompt"
    helps_when: "Long prompts"
    hurts_when: "The boilerplate carried instructions"
    quality: {metric: "task accuracy", baseline: 0.82, optimized: 0.815, tolerance: 0.01}
"""


def _trim_case(tmp_path: Path, kind: str | None = "prompt-trimming", quality: bool = False, n: int = 500) -> Path:
    """Same server (light load), prompts 0.6× as long on the optimized side."""
    d = tmp_path / "case"
    rng = np.random.default_rng(7)
    prompts = rng.integers(500, 2500, n).astype(float)
    write_csv(d / "runs" / "base.csv", fifo_queue(n=n, rate=0.5, slots=8, inp=prompts, seed=1))
    write_csv(d / "runs" / "opt.csv", fifo_queue(n=n, rate=0.5, slots=8, inp=np.round(prompts * 0.6), seed=2))
    text = CASE_HEAD + """
runs:
  baseline: {path: runs/base.csv, label: "Full prompt"}
  optimized: {path: runs/opt.csv, label: "Trimmed prompt"}
""" + (f"optimization: {{kind: {kind}}}\n" if kind else "") + COST + (QUALITY if quality else "")
    (d / "case.yaml").write_text(text)
    return d


def _report(d: Path):
    case, cd = load_case(d)
    study = analyze(case, cd)
    return study, build_report(study)


def test_without_kind_trimmed_prompts_are_a_threat(tmp_path):
    study, _ = _report(_trim_case(tmp_path, kind=None))
    assert "input-differs" in {t.key for t in study.threats}


def test_prompt_trimming_case_page1(tmp_path):
    study, report = _report(_trim_case(tmp_path))
    keys = {t.key for t in study.threats}
    assert "input-differs" not in keys and "input-not-shown-same" not in keys
    assert "quality-not-measured" in keys
    assert study.threats[0].key == "quality-not-measured" and study.threats[0].severity == "major"
    cards = [c.finding for c in report.page1.cards]
    assert cards[0] == "intended:input_tokens" and cards[-1] == "intended:cost_per_request"
    assert any(c.startswith("latency:ttft") for c in cards)
    first = report.page1.cards[0]
    assert first.value == "−40%"
    text = report.page1.in_short
    assert "As intended by prompt trimming: input tokens per request fell 40%" in text
    assert "cost per request fell" in text and "quality not measured" in text
    assert "Caveat: quality not measured" in text
    # each said once: the cost (per request, with the monthly saving; not again per 1M output tokens) and
    # the missing quality measurement
    assert "Cost per 1M output tokens" not in text and text.lower().count("cost per request") == 1
    assert text.count("a month") == 1 and "at the projected volume it saves $" in text
    assert text.lower().count("quality not measured") == 1
    # TTFT fell: prefill is 0.5 ms per token, prompts lost 40 % of ~1,500 tokens
    ttft = next(f for f in report.findings if f.key == "latency:ttft:p50")
    assert ttft.evidence.change_pct < -20 and ttft.evidence.ci_pct[1] < 0
    # cost per request by hand: gpt-4o-mini $0.15 / 1M input, $0.60 / 1M output; 50 output tokens
    m_in = {s: study.metrics[s].tokens["input"].mean for s in ("baseline", "optimized")}
    by_hand = {s: (m_in[s] * 0.15 + 50 * 0.60) / 1e6 for s in m_in}
    cw = {c.key: c for c in study.cheap_win.changes}
    assert cw["cost_per_request"].baseline == pytest.approx(by_hand["baseline"])
    assert cw["cost_per_request"].optimized == pytest.approx(by_hand["optimized"])
    lo, hi = cw["cost_per_request"].ci_pct
    assert lo < cw["cost_per_request"].change_pct < hi < 0
    assert cw["input_tokens"].change_pct == pytest.approx(-40, abs=0.1)
    data = summary_json(report)
    assert data["optimization"]["kind"] == "prompt-trimming" and data["optimization"]["quality"] == "not measured"
    assert data["segments"]["notes"] == ["Not segmented by input length: the optimization changes it on purpose."]


def test_serving_change_marked_changes_answers_needs_quality(tmp_path):
    """A serving change (quantization) is not a cheap-win kind, but a trade-off marked changes_answers
    without a quality measurement is "Quality not measured", major and first; unmarked, it is not."""
    d = tmp_path / "case"
    (d / "runs").mkdir(parents=True)
    for name, seed in (("base", 1), ("opt", 2)):
        write_csv(d / "runs" / f"{name}.csv", fifo_queue(n=300, rate=0.5, slots=8, inp=np.full(300, 800.0), seed=seed))
    head = CASE_HEAD + """
runs:
  baseline: {path: runs/base.csv, label: "BF16"}
  optimized: {path: runs/opt.csv, label: "FP8"}
tradeoffs:
  - technique: "FP8 weights"
    what_changed: "A quantized checkpoint"
    helps_when: "Decode is memory-bound"
    hurts_when: "Accuracy-sensitive tasks"
"""
    (d / "case.yaml").write_text(head + "    changes_answers: true\n")
    study, report = _report(d)
    assert study.threats[0].key == "quality-not-measured" and study.threats[0].severity == "major"
    assert study.threats[0].title == "Quality not measured"
    assert "FP8 weights can change the answers" in study.threats[0].reason
    assert any(c.startswith("Quality not measured") for c in report.page1.caveats)
    (d / "case.yaml").write_text(head)
    study, _ = _report(d)
    assert "quality-not-measured" not in {t.key for t in study.threats}
    (d / "case.yaml").write_text(head + "    changes_answers: true\n" + QUALITY.split("hurts_when")[1].split("\n", 1)[1])
    study, _ = _report(d)
    assert "quality-not-measured" not in {t.key for t in study.threats}


def test_prompt_trimming_with_quality_guardrail(tmp_path):
    study, report = _report(_trim_case(tmp_path, quality=True))
    assert "quality-not-measured" not in {t.key for t in study.threats}
    assert "quality guardrail: Prompt trimming: task accuracy 0.82 → 0.815, within the agreed tolerance" \
        in report.page1.in_short


def test_cli_build_prompt_trimming(tmp_path):
    d = _trim_case(tmp_path)
    r = CliRunner().invoke(main, ["build", str(d), "-o", str(tmp_path / "out"), "--format", "html,json,md"])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "out" / "report.html").read_text()
    assert "The two sides served different prompts" not in html
    assert "Intended by the optimization" in html and "Quality not measured" in html
    data = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [t["key"] for t in data["threats"]][0] == "quality-not-measured"


def test_output_capping_share_cut(tmp_path):
    d = tmp_path / "case"
    rng = np.random.default_rng(3)
    n = 400
    outs = rng.integers(50, 600, n)
    capped = np.minimum(outs, 256)
    base = fifo_queue(n=n, rate=0.3, slots=8, seed=1)
    opt = fifo_queue(n=n, rate=0.3, slots=8, seed=2)
    base["output_tokens"], opt["output_tokens"] = outs, capped
    base["e2e_s"] = base["ttft_s"] + 0.01 * (outs - 1)
    opt["e2e_s"] = opt["ttft_s"] + 0.01 * (capped - 1)
    write_csv(d / "runs" / "base.csv", base)
    write_csv(d / "runs" / "opt.csv", opt)
    (d / "case.yaml").write_text(CASE_HEAD + """
runs:
  baseline: {path: runs/base.csv}
  optimized: {path: runs/opt.csv}
optimization: {kind: output-capping, output_cap_tokens: 256}
""")
    study, report = _report(d)
    keys = {t.key for t in study.threats}
    assert "output-differs" not in keys and "quality-not-measured" in keys
    cap = next(c for c in study.cheap_win.changes if c.key == "output_cap")
    share = float((capped >= 256).mean())
    assert cap.optimized == pytest.approx(share)
    assert cap.ci_pct[0] / 100 < share < cap.ci_pct[1] / 100
    assert "output capped at 256 tokens" in report.page1.in_short


def test_streaming_user_wait(tmp_path):
    d = tmp_path / "case"
    n = 300
    base = fifo_queue(n=n, rate=0.3, slots=8, seed=1)
    opt = fifo_queue(n=n, rate=0.3, slots=8, seed=2)
    base["ttft_s"] = base["e2e_s"].copy()  # no streaming: the first token arrives with the answer
    write_csv(d / "runs" / "base.csv", base)
    write_csv(d / "runs" / "opt.csv", opt)
    (d / "case.yaml").write_text(CASE_HEAD + """
runs:
  baseline: {path: runs/base.csv}
  optimized: {path: runs/opt.csv}
optimization: {kind: streaming}
""")
    study, report = _report(d)
    assert "non-streaming-ttft" not in {t.key for t in study.threats}
    wait = next(c for c in study.cheap_win.changes if c.key == "user_wait")
    assert wait.baseline == pytest.approx(base["e2e_s"].mean() * 1e3, rel=1e-6)
    assert wait.optimized == pytest.approx(opt["ttft_s"].mean() * 1e3, rel=1e-6)
    assert report.page1.cards[0].finding == "intended:user_wait"


def test_right_sizing_states_the_model_and_needs_quality(tmp_path):
    d = tmp_path / "case"
    from tests.simruns import write_vllm

    write_vllm(d / "runs" / "base.json", fifo_queue(n=200, rate=0.3, slots=8, seed=1), 0.3, model="llama-70b")
    write_vllm(d / "runs" / "opt.json", fifo_queue(n=200, rate=0.3, slots=8, seed=2), 0.3, model="llama-8b")
    (d / "case.yaml").write_text(CASE_HEAD + """
runs:
  baseline: {path: runs/base.json}
  optimized: {path: runs/opt.json}
optimization: {kind: right-sizing}
""")
    study, report = _report(d)
    model = next(c for c in study.cheap_win.changes if c.key == "model")
    assert model.claim == "The model changed as intended (llama-70b → llama-8b)."
    assert "quality-not-measured" in {t.key for t in study.threats}


EXAMPLE_TRIM = Path(__file__).resolve().parent.parent / "cases" / "prompt-trimming-testserver"


def test_prompt_trimming_example_from_real_guidellm_runs():
    """The bundled example (GuideLLM 0.8.1 against tools/testserver.py, prompts cut to 0.6×)."""
    study, report = _report(EXAMPLE_TRIM)
    keys = {t.key for t in study.threats}
    assert "input-differs" not in keys and study.threats[0].key == "quality-not-measured"
    cw = {c.key: c for c in study.cheap_win.changes}
    assert cw["input_tokens"].change_pct == pytest.approx(-40, abs=0.5)
    cards = [c.finding for c in report.page1.cards]
    assert cards[0] == "intended:input_tokens" and cards[-1] == "intended:cost_per_request"
    assert any(c.startswith("latency:ttft") for c in cards)
    ttft = next(f for f in report.findings if f.key == "latency:ttft:p50")
    assert ttft.verdict == "better"  # prefill is 0.08 ms per prompt token on this server
    assert "quality not measured" in report.page1.in_short


def test_other_differences_stay_threats(tmp_path):
    from tests.simruns import write_vllm

    d = tmp_path / "case"
    rng = np.random.default_rng(2)
    prompts = rng.integers(500, 2500, 200).astype(float)
    write_vllm(d / "runs" / "base.json", fifo_queue(n=200, rate=0.5, slots=8, inp=prompts, seed=1), 0.5)
    write_vllm(d / "runs" / "opt.json", fifo_queue(n=200, rate=1.0, slots=8, inp=np.round(0.6 * prompts), seed=2), 1.0)
    (d / "case.yaml").write_text(CASE_HEAD + """
runs:
  baseline: {path: runs/base.json}
  optimized: {path: runs/opt.json}
optimization: {kind: prompt-trimming}
""")
    study, _ = _report(d)
    keys = {t.key for t in study.threats}
    assert "input-differs" not in keys and "load-differs" in keys  # only the prompt change is intended
    row = next(r for r in study.workload.rows if r.label.startswith("Input tokens"))
    assert row.differs and row.informational and "intended (prompt trimming)" in row.detail
