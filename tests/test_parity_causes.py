"""The parity appendix and `inspect` say why casegen differs from a tool's own summary."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from casegen.app.build import build
from casegen.cli.main import main as cli

GUIDELLM = Path(__file__).parent / "fixtures" / "guidellm" / "0.8.1"

CASE = """\
title: GuideLLM parity causes
author: casegen tests
date: 2026-11-29
summary: Two GuideLLM 0.8.1 runs against the local test server.
system: {{model: test-model, hardware: "2 CPU cores", serving_stack: "tools/testserver.py"}}
workload: {{description: "GuideLLM synthetic prompts at concurrency 1"}}
runs:
  baseline: {{path: {base}, select: "concurrency=1", label: one worker}}
  optimized: {{path: {opt}, select: "concurrency=1", label: two workers}}
"""


def test_flagged_parity_rows_name_their_cause_in_the_report(tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    (case / "case.yaml").write_text(CASE.format(base=GUIDELLM / "baseline-concurrent" / "benchmarks.json",
                                                opt=GUIDELLM / "optimized-concurrent" / "benchmarks.json"))
    # the runs are the repository's fixtures, outside this case folder: the test trusts its own case
    result = build(case, tmp_path / "out", pdf=False, trust_case_paths=True)
    rows = [p for s in ("baseline", "optimized") for p in result.study.metrics[s].parity if p.flagged]
    assert rows, "GuideLLM's nearest-rank percentiles differ from casegen's linear ones at n = 20"
    html = (tmp_path / "out" / "report.html").read_text()
    assert "why they differ" in html
    assert "all agree within 1%" not in html
    text = html.replace("&#39;", "'").replace("\xa0", " ")
    for row in rows:  # each cause is said (rows after the first with the same cause read "same cause as above")
        assert row.cause and row.cause in text
    assert any(r.cause.startswith("percentile method") for r in rows)


def test_inspect_names_the_cause_of_each_flagged_figure():
    out = CliRunner().invoke(cli, ["inspect", str(GUIDELLM / "baseline-concurrent" / "benchmarks.json"),
                                   "--select", "concurrency=1"])
    assert out.exit_code == 0, out.output
    flagged = [line for line in out.output.splitlines() if "casegen" in line and "tool" in line and "%)" in line]
    assert flagged
    assert all(" — " in line for line in flagged)
    assert any("percentile method" in line for line in flagged)
