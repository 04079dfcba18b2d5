"""case.yaml validation: every problem at once, with its line; JSON Schema kept in sync."""

from __future__ import annotations

import pytest

from casegen.case.model import json_schema, load_case, parse_case
from casegen.errors import CasegenError, ValidationFailed
from conftest import EXAMPLE, ROOT


def example_text() -> str:
    return (EXAMPLE / "case.yaml").read_text()


def test_example_case_is_valid():
    case, folder = load_case(EXAMPLE)
    assert folder == EXAMPLE
    assert case.runs.baseline.label == "BF16"
    assert case.slos[0].metric == "ttft" and case.slos[0].percentile == 99


def test_typo_key_wrong_type_and_missing_field_reported_together():
    text = example_text()
    text = text.replace("title:", "titel:", 1)  # typo → unknown key + missing title
    text = text.replace("requests_per_month: 20000000", "requests_per_month: lots")
    text = text.replace("  hardware:", "  hardwar:", 1)
    with pytest.raises(ValidationFailed) as exc:
        parse_case(text, "case.yaml")
    problems = exc.value.problems
    whats = " | ".join(p.where + " " + p.what + " " + (p.expected or "") for p in problems)
    assert "unknown key 'titel'" in whats and "did you mean 'title'" in whats
    assert "required key 'title' is missing" in whats
    assert "'lots' is not valid" in whats
    assert "unknown key 'hardwar'" in whats
    # lines point into the file
    lines = text.splitlines()
    titel = next(p for p in problems if "titel" in p.what)
    lineno = int(titel.where.split(",")[0].split()[1])
    assert lines[lineno - 1].startswith("titel:")
    money = next(p for p in problems if "lots" in p.what)
    lineno = int(money.where.split(",")[0].split()[1])
    assert "requests_per_month: lots" in lines[lineno - 1]
    table = exc.value.format()
    assert "where" in table and "what" in table and "case.yaml" in table


def test_invalid_values():
    text = example_text().replace("threshold_ms: 200", "threshold_ms: -5").replace("metric: tpot", "metric: tpop")
    with pytest.raises(ValidationFailed) as exc:
        parse_case(text, "case.yaml")
    whats = " ".join(p.what + " " + (p.expected or "") for p in exc.value.problems)
    assert "-5" in whats and "greater than 0" in whats
    assert "'tpop'" in whats and "'ttft'" in whats


def test_pricing_needs_exactly_one_kind():
    text = example_text().replace(
        'self_hosted: {gpu: "H100 80 GB", gpu_hourly_usd: 2.99, gpus_per_replica: 1, utilization: 0.6}\n  optimized',
        "{}\n  optimized", 1)
    with pytest.raises(ValidationFailed, match="exactly one of 'self_hosted' or 'api'"):
        parse_case(text, "case.yaml")


def test_duplicate_key_and_yaml_syntax():
    with pytest.raises(ValidationFailed, match="key 'title' appears twice"):
        parse_case(example_text() + "\ntitle: again\n", "case.yaml")
    with pytest.raises(CasegenError, match="not valid YAML") as exc:
        parse_case("title: [unclosed\n", "case.yaml")
    assert "line" in str(exc.value)


def test_yaml_is_loaded_safely():
    with pytest.raises(CasegenError, match="not valid YAML"):
        parse_case("title: !!python/object/apply:os.system ['echo hi']\n", "case.yaml")


def test_empty_and_non_mapping():
    with pytest.raises(CasegenError, match="empty"):
        parse_case("", "case.yaml")
    with pytest.raises(CasegenError, match="top level is a list"):
        parse_case("- a\n- b\n", "case.yaml")


def test_missing_case_file(tmp_path):
    with pytest.raises(CasegenError, match="case file not found"):
        load_case(tmp_path)


def test_committed_schema_is_current():
    committed = (ROOT / "schema" / "case.schema.json").read_text()
    assert committed == json_schema(), "schema/case.schema.json is stale: run `casegen schema -o schema/case.schema.json`"


def test_percentile_accepts_p_prefix():
    text = example_text().replace("percentile: 99, threshold_ms: 200", "percentile: p95, threshold_ms: 200")
    case = parse_case(text, "case.yaml")
    assert case.slos[0].percentile == 95


def test_case_yaml_reference_doc_is_current():
    from casegen.cli.docgen import case_yaml_reference

    committed = (ROOT / "docs" / "case-yaml.md").read_text()
    assert committed == case_yaml_reference(), "docs/case-yaml.md is stale: run `python -m casegen.cli.docgen > docs/case-yaml.md`"
