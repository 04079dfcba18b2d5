"""`casegen plan`: the requests a side it asks for give the power it promises, in simulation."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from casegen.analysis import plan, stats, uncertainty
from casegen.analysis.uncertainty import MetricSeries, series_stats
from casegen.cli.main import main
from casegen.runs.model import RequestTable, Run, RunMeta
from conftest import EXAMPLE, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import coverage  # noqa: E402


def _run(ttft_ms: np.ndarray, rng: np.random.Generator) -> Run:
    n = ttft_ms.size
    df = RequestTable({
        "start_s": np.cumsum(rng.exponential(0.1, n)), "ttft_s": ttft_ms / 1e3, "e2e_s": ttft_ms / 1e3 + 1.0,
        "input_tokens": np.full(n, 100.0), "output_tokens": np.full(n, 50.0), "success": np.ones(n, dtype=bool),
        "chunk_gaps_s": [None] * n, "error": [None] * n,
    })
    return Run(RunMeta(tool="casegen", format="csv", source="pilot.csv", sha256="0"), df)


def _power(draw, n: int, effect: float, sims: int, rng: np.random.Generator) -> float:
    """Share of A/B pairs (optimized = baseline × effect) whose p50 change casegen calls significant."""
    found = 0
    for _ in range(sims):
        boots = []
        for side in range(2):
            v = draw(rng, n) * (effect if side else 1.0)
            res, _ = series_stats(MetricSeries(v, v, np.ones(n)), ("p50",), 0.95, 400, rng, "linear", "ttft")
            boots.append(res["p50"].draws)
        d = stats.delta_ci(boots[0], boots[1], 0.95)
        found += bool(d is not None and d.significant and d.abs_high < 0)
    return found / sims


@pytest.mark.parametrize("rho", [0.0, 0.5])
def test_planned_requests_give_the_promised_power(rho):
    rng = np.random.default_rng(7)

    def draw(r, n):
        return coverage._lognormal(coverage._ar1_gauss(r, n, rho))

    p = plan.plan_run(_run(draw(rng, 3000), rng), change=0.10)
    row = next(r for r in p.rows if r.metric == "ttft" and r.stat == "p50")
    n = row.requests_per_side
    # the i.i.d. figure by hand: 2·(1.96 + 0.84)²·p(1−p)/(δ·q·f)², q·f = 1/(σ√(2π)) for a log-normal median
    if rho == 0.0:
        assert n == pytest.approx(2 * (1.95996 + 0.84162) ** 2 * 0.25 / (0.1 / (0.5 * np.sqrt(2 * np.pi))) ** 2, rel=0.2)
    else:
        assert row.variance_factor > 1.8 and n > 900  # dependence asks for more requests
    power = _power(draw, n, 0.9, 150, rng)
    assert 0.68 <= power <= 0.95, (n, power)
    # half the requests fall clearly short of the promise
    assert _power(draw, n // 2, 0.9, 150, rng) < power - 0.1


def test_cli_plan_prints_the_plan(tmp_path):
    path = EXAMPLE / "runs" / "fp16-baseline.json"
    result = CliRunner().invoke(main, ["plan", str(path), "--change", "0.2"])
    assert result.exit_code == 0, result.output
    from casegen.runs import load_run

    expected = plan.plan_run(load_run(path), change=0.2)
    ttft = next(r for r in expected.rows if r.metric == "ttft" and r.stat == "p95")
    line = next(x for x in result.output.splitlines() if x.startswith("TTFT") and " p95 " in x)
    assert re.search(rf"\b{ttft.requests_per_side:,}\b", line)
    assert "20% change" in result.output and "docs/measuring.md" in result.output


def test_cli_plan_rejects_a_summary_only_run():
    path = ROOT / "tests" / "fixtures" / "llmperf" / "leaderboard-bedrock-llama2-70b"
    files = sorted(p for p in path.rglob("*summary*.json"))
    if not files:
        pytest.skip("no summary-only fixture")
    result = CliRunner().invoke(main, ["plan", str(files[0])])
    assert result.exit_code != 0 and "summary only" in result.output + (result.stderr if result.stderr_bytes else "")


def test_per_run_requests_shrink_with_repetitions():
    assert (plan.requests_needed(0.5, 100.0, 0.01, 2.0, 0.1, k=3) > plan.requests_needed(0.5, 100.0, 0.01, 2.0, 0.1, k=5)
            > plan.requests_needed(0.5, 100.0, 0.01, 2.0, 0.1, k=10))
    assert uncertainty.MIN_REQUESTS == 50
