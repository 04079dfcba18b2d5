"""Inter-chunk latency SLO semantics (issue 10 item 7), checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from casegen.analysis.slo import evaluate_slos
from casegen.case.model import SLO, Analysis
from casegen.runs.model import Run, RunMeta, make_requests_frame


def _run() -> Run:
    # request 1: 9 gaps of 10 ms and one of 50 ms; request 2: 10 gaps of 10 ms; request 3 failed
    gaps = [[0.010] * 9 + [0.050], [0.010] * 10, None]
    df = make_requests_frame(ttft_s=[0.1, 0.1, np.nan], e2e_s=[0.2, 0.2, np.nan], input_tokens=[10, 10, 10],
                             output_tokens=[11, 11, 0], success=[True, True, False], chunk_gaps_s=gaps)
    return Run(meta=RunMeta(tool="t", format="t", source="x", sha256="0"), requests=df)


SLO90 = SLO(metric="itl", percentile=90, threshold_ms=20)


def test_pooled_itl_slo_counts_gaps():
    s = evaluate_slos(_run(), [SLO90], Analysis(itl_semantics="pooled"), 1.0)
    r = s.results[0]
    # units: 20 gaps + 1 failed request; violations: the 50 ms gap + the failure
    assert (r.issued, r.violations) == (21, 2)
    assert r.attainment == pytest.approx(19 / 21)
    # pooled p90 of [10]*19 + [50] (linear): position 0.9 · 19 = 17.1 → 10 ms: the table's figure
    assert r.observed_ms == pytest.approx(10.0)
    assert "pooled" in r.note


def test_per_request_itl_slo_counts_requests():
    s = evaluate_slos(_run(), [SLO90], Analysis(itl_semantics="per_request"), 1.0)
    r = s.results[0]
    # request 1's own p90 gap: position 0.9 · 9 = 8.1 → 10 + 0.1 · 40 = 14 ms ≤ 20 → meets; request 2: 10 ms
    assert (r.issued, r.violations) == (3, 1)  # only the failed request violates
    assert r.attainment == pytest.approx(2 / 3)


def test_goodput_counts_requests_under_either_semantics():
    for sem in ("pooled", "per_request"):
        s = evaluate_slos(_run(), [SLO90], Analysis(itl_semantics=sem), 2.0)
        assert s.good_requests == 2 and s.goodput_rps == pytest.approx(1.0)
