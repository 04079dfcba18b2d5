"""A case whose sides are load sweeps: capacity at SLO, cost at capacity, report section."""

from __future__ import annotations

import shutil

import pytest

from casegen.analysis.study import analyze, summary_dict
from casegen.app.build import build
from casegen.case.model import load_case
from casegen.errors import CasegenError
from casegen.render.html import render_html
from conftest import ROOT

SWEEP_CASE = ROOT / "cases" / "inference-perf-llama3-8b-quantization-sweep"


@pytest.fixture
def sweep_case(tmp_path):
    d = tmp_path / "sweep"
    shutil.copytree(SWEEP_CASE, d, ignore=shutil.ignore_patterns("build"))
    return d


def test_sweep_case_capacity_and_cost(sweep_case):
    case, d = load_case(sweep_case)
    study = analyze(case, d)
    cb, co = study.capacities["baseline"], study.capacities["optimized"]
    assert cb.bound == co.bound == "interpolated"
    assert cb.value_rps == pytest.approx(92.40, abs=0.01)
    assert co.value_rps == pytest.approx(168.80, abs=0.01)
    assert study.compare_load == 1.0
    # cost at capacity: $2.50 / (3600 · capacity · 0.6) per request
    assert study.cost.baseline.usd_per_request == pytest.approx(2.5 / (3600 * cb.value_rps * 0.6))
    assert study.cost.optimized.usd_per_request == pytest.approx(2.5 / (3600 * co.value_rps * 0.6))
    assert study.cost.payback_months == pytest.approx(12000 / study.cost.savings_usd_per_month)
    # per 1M output tokens at the capacity's own (interpolated) output rate, not the comparison point's
    # tokens per request scaled to the capacity (issue 10 item 7)
    for side, cap in (("baseline", cb), ("optimized", co)):
        assert cap.output_tokens_per_s is not None
        assert getattr(study.cost, side).usd_per_million_output_tokens == pytest.approx(
            2.5 * 1e6 / (3600 * cap.output_tokens_per_s * 0.6))
    # replicas for 600 req/s at 80 % of capacity
    assert study.cost.baseline.replicas_for_peak == 9   # ceil(600 / (92.40 · 0.8)) = ceil(8.12)
    assert study.cost.optimized.replicas_for_peak == 5  # ceil(600 / (168.8 · 0.8)) = ceil(4.44)
    s = summary_dict(study)
    assert s["sweep"]["capacity_ratio"] == pytest.approx(co.value_rps / cb.value_rps)
    assert len(s["sweep"]["sides"]["baseline"]["points"]) == 7
    html = render_html(study)
    assert "Load sweep and capacity at SLO" in html and "1.83×" in html
    assert html.count("<svg") >= 3


def test_sweep_case_builds_pdf(sweep_case, tmp_path):
    r = build(sweep_case, tmp_path / "out")
    assert (tmp_path / "out" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert r.study.sweeps


def test_one_sided_sweep_is_an_error(sweep_case):
    f = sweep_case / "case.yaml"
    f.write_text(f.read_text().replace("    label: \"Quantized + caching\"\n    sweep: true", "    label: \"Quantized + caching\"\n    select: stage=0"))
    case, d = load_case(sweep_case)
    with pytest.raises(CasegenError, match="runs.baseline is a sweep but runs.optimized is not"):
        analyze(case, d)


def test_compare_at_must_be_a_shared_load(sweep_case):
    f = sweep_case / "case.yaml"
    f.write_text(f.read_text().replace("capacity:\n  attainment: 0.9", "capacity:\n  attainment: 0.9\n  compare_at: 31.4"))
    case, d = load_case(sweep_case)
    with pytest.raises(CasegenError) as exc:
        analyze(case, d)
    assert "no load point 31.4 in both sweeps" in str(exc.value) and "case.yaml line" in str(exc.value)


def test_sweep_selector_that_matches_nothing(sweep_case):
    f = sweep_case / "case.yaml"
    f.write_text(f.read_text().replace("    path: runs/quantized\n", "    path: runs/quantized\n    select: stage=99\n"))
    case, d = load_case(sweep_case)
    with pytest.raises(CasegenError, match="matches no run of the sweep"):
        analyze(case, d)
