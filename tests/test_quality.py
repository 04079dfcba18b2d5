"""Measured quality from lm-evaluation-harness 0.4.13 result files: hand-checked deltas, intervals and
verdicts, the interval's coverage by simulation, typed-in scores still working, and clear errors."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from casegen.analysis.quality import compare, judge, read_lm_eval
from casegen.errors import CasegenError

FIX = Path(__file__).parent / "fixtures" / "lm-eval" / "0.4.13"
ROOT = Path(__file__).resolve().parent.parent
Z95 = 1.959963984540054


def files():
    return read_lm_eval(FIX / "dummy-seed0"), read_lm_eval(FIX / "dummy-seed1")


def test_reads_tasks_groups_metrics_stderr_and_n():
    base, _ = files()
    assert base.lm_eval_version == "0.4.13" and base.model == "dummy"
    assert set(base.scores) == {("arith_mc", "acc"), ("arith_mc", "acc_norm"), ("parity_yn", "acc"),
                                ("toy_suite", "acc")}
    a = base.scores[("arith_mc", "acc")]
    assert (a.value, a.n, a.higher_is_better, a.n_shot) == (0.27, 300, True, 0)
    # the harness's stderr of a mean accuracy is √(p(1−p)/(n−1))
    assert a.stderr == pytest.approx(math.sqrt(0.27 * 0.73 / 299), rel=1e-12)
    g = base.scores[("toy_suite", "acc")]
    assert g.is_group and g.n == 500 and g.value == pytest.approx((0.27 * 300 + 0.525 * 200) / 500)
    # a group's stderr is the harness's pooled stderr of its subtasks
    sizes, ses = (300, 200), (a.stderr, base.scores[("parity_yn", "acc")].stderr)
    pooled = sum((n - 1) * s * s * n for n, s in zip(sizes, ses)) / (sum(sizes) - 2)
    assert g.stderr == pytest.approx(math.sqrt(pooled / 500), rel=1e-9)


def test_delta_interval_and_verdict_hand_checked():
    base, opt = files()
    qc = compare(base, opt, tolerance=0.01, confidence=0.95, tasks=["toy_suite"])
    (r,) = qc.rows
    assert r.delta == pytest.approx(0.354 - 0.372)
    se = math.sqrt(0.020922979814962984 ** 2 + 0.02038008976678651 ** 2)  # 0.0292083…
    assert r.ci[0] == pytest.approx(-0.018 - Z95 * se) and r.ci[1] == pytest.approx(-0.018 + Z95 * se)
    assert r.ci == pytest.approx((-0.075247, 0.039247), abs=1e-6)
    assert r.loss == pytest.approx(0.018) and (r.n_baseline, r.n_optimized) == (500, 500)
    assert r.verdict == "inconclusive"  # loss anywhere from −0.039 to 0.075, on both sides of 0.01
    assert compare(base, opt, 0.08, 0.95, tasks=["toy_suite"]).rows[0].verdict == "within"
    assert compare(base, opt, 0.08, 0.95, tasks=["toy_suite"]).verdict == "within"


def test_verdicts_both_directions():
    # higher is better, tolerance 0.01
    assert judge(-0.05, 0.01, 0.01, True, 0.95)[1] == "outside"     # loss ≥ 0.030 everywhere
    assert judge(0.0, 0.004, 0.01, True, 0.95)[1] == "within"       # loss ≤ 0.0078 everywhere
    assert judge(-0.01, 0.01, 0.01, True, 0.95)[1] == "inconclusive"
    # lower is better (e.g. perplexity): an increase is a loss
    assert judge(+0.05, 0.01, 0.01, False, 0.95)[1] == "outside"
    assert judge(-0.05, 0.01, 0.01, False, 0.95)[1] == "within"
    assert judge(0.0, None, 0.01, True, 0.95)[1] == "inconclusive"


def test_interval_coverage_and_false_outside_rate_by_simulation():
    """Binomial accuracies on n = 300 items: the 95 % interval covers the true delta ~95 % of the time,
    and when the true loss equals the tolerance 'outside' is said at most ~2.5 % of the time."""
    rng = np.random.default_rng(15)
    n, pb, po, sims = 300, 0.70, 0.68, 4000
    b = rng.binomial(n, pb, sims) / n
    o = rng.binomial(n, po, sims) / n
    se = np.sqrt(b * (1 - b) / (n - 1) + o * (1 - o) / (n - 1))
    covered = np.abs((o - b) - (po - pb)) <= Z95 * se
    assert 0.935 <= covered.mean() <= 0.965
    outside = sum(judge(float(d), float(s), 0.02, True, 0.95)[1] == "outside" for d, s in zip(o - b, se))
    assert outside / sims <= 0.035


def test_filters_and_errors(tmp_path):
    base, opt = files()
    assert {(r.task, r.metric) for r in compare(base, opt, 0.01, 0.95, metrics=["acc_norm"]).rows} == {
        ("arith_mc", "acc_norm")}
    with pytest.raises(CasegenError) as e:
        compare(base, opt, 0.01, 0.95, tasks=["mmlu"])
    assert "mmlu" in str(e.value) and "toy_suite" in str(e.value)
    bad = tmp_path / "results_x.json"
    bad.write_text('{"results": 3}')
    with pytest.raises(CasegenError) as e:
        read_lm_eval(bad)
    assert "results" in str(e.value)
    bad.write_text("{not json")
    with pytest.raises(CasegenError):
        read_lm_eval(bad)
    with pytest.raises(CasegenError):
        read_lm_eval(tmp_path / "missing.json")


def test_case_with_lm_eval_quality_builds(tmp_path):
    from casegen.app.build import build

    case_dir = tmp_path / "case"
    shutil.copytree(ROOT / "cases" / "h100-llama31-8b-fp8", case_dir)
    shutil.copytree(FIX / "dummy-seed0", case_dir / "evals" / "base")
    shutil.copytree(FIX / "dummy-seed1", case_dir / "evals" / "opt")
    text = (case_dir / "case.yaml").read_text()
    at = text.index("    risk:")
    text = text[:at] + ("    quality:\n      lm_eval: {baseline: evals/base, optimized: evals/opt, tasks: [toy_suite]}\n"
                        "      tolerance: 0.01\n") + text[at:]
    (case_dir / "case.yaml").write_text(text)
    build(case_dir, tmp_path / "out", pdf=False)
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    q = [x for x in s["quality"] if x and x["source"] == "lm-eval"][0]
    assert q["verdict"] == "inconclusive" and q["rows"][0]["ci"] == pytest.approx([-0.075247, 0.039247], abs=1e-6)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "toy_suite" in html and "inconclusive" in html and "[−0.0752" not in html  # ASCII minus from %+.4f
    assert "-0.0752, +0.0392" in html


def test_typed_in_quality_still_works():
    from casegen.case.model import Quality

    q = Quality(metric="MMLU", baseline=68.4, optimized=68.1, tolerance=0.5)
    assert q.lm_eval is None and q.higher_is_better is None
    with pytest.raises(ValueError):
        Quality(metric="MMLU", baseline=68.4, tolerance=0.5)
