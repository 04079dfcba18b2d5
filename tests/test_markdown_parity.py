"""report.md carries what report.html carries (issue 13 item 5): the same section headings in the
same order, † on the same statistics, the cost assumptions, and benchmark commands as inert code."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from casegen.app.build import build
from casegen.render.mdtext import md_fence

ROOT = Path(__file__).resolve().parent.parent
CASES = ["h100-llama31-8b-fp8", "inference-perf-llama3-8b-quantization-sweep", "llm-d-l40s-ladder"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """(report.html, report.md) of each example, built once for the module."""
    out: dict[str, tuple[str, str]] = {}
    for case in CASES:
        d = tmp_path_factory.mktemp(case)
        build(ROOT / "cases" / case, d, formats=("html", "md"))
        out[case] = ((d / "report.html").read_text(encoding="utf-8"), (d / "report.md").read_text(encoding="utf-8"))
    return out


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def _md_plain(text: str) -> str:
    """Markdown source without backslash escapes and entities, whitespace collapsed."""
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"\\(.)", r"\1", text))).strip()


def html_headings(page: str) -> list[str]:
    return [_text(m.group(2)) for m in re.finditer(r"<h([1-4])\b[^>]*>(.*?)</h\1>", page, re.S)]


def md_headings(md: str) -> list[str]:
    return [_md_plain(line.lstrip("#")) for line in md.splitlines() if re.match(r"#{1,4} ", line)]


@pytest.mark.parametrize("case", CASES)
def test_markdown_has_the_html_sections_in_order(outputs, case):
    page, md = outputs[case]
    want, got = html_headings(page), md_headings(md)
    assert len(want) >= 10
    missing = [h for h in want if h not in got]
    assert not missing, f"report.md lacks the HTML headings {missing}"
    assert got == want, "report.md orders its headings differently from report.html"


def html_latency_flags(page: str) -> list[tuple[str, str, bool]]:
    """(metric, stat, has †) for every row of the HTML latency table."""
    table = re.search(r'<div class="latency-tables">(.*?)</div>', page, re.S).group(1)  # one table per metric
    rows = []
    for body in re.findall(r'<tbody class="group">(.*?)</tbody>', table, re.S):
        metric = _text(re.search(r'class="metric">(.*?)<span', body, re.S).group(1))
        for stat_cell in re.findall(r'<td class="stat">(.*?)</td>', body, re.S):
            rows.append((metric, _text(re.sub(r"<sup.*?</sup>", "", stat_cell)), "†" in stat_cell))
    return rows


def md_latency_flags(md: str) -> list[tuple[str, str, bool]]:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Metric | Stat |"))
    rows, metric = [], ""
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        bold = re.fullmatch(r"\*\*(.+?)\*\*.*", cells[0])
        if bold:
            metric = _md_plain(bold.group(1))
        rows.append((metric, cells[1].replace("†", "").strip(), "†" in cells[1]))
    return rows


@pytest.mark.parametrize("case", CASES)
def test_dagger_marks_the_same_statistics(outputs, case):
    page, md = outputs[case]
    want = html_latency_flags(page)
    assert want, "the HTML latency table was not found"
    assert md_latency_flags(md) == want
    # headline cards: a value the HTML marks with † is shown with its † in the Markdown
    for value in re.findall(r'<div class="kpi-value">(.*?)</div>', page, re.S):
        assert _text(value) in _md_plain(md)


def test_the_fp8_example_has_daggers_to_compare(outputs):
    page, md = outputs["h100-llama31-8b-fp8"]
    flagged = [r for r in html_latency_flags(page) if r[2]]
    assert len(flagged) >= 10  # 100 requests with correlated neighbours: most intervals are withheld
    # 100 requests a run: each run's own TTFT p50 interval is withheld (†), the change keeps its interval
    assert ("TTFT", "p50", True) in html_latency_flags(page)
    assert "▼ −22.3% (−27.2% to −14.7%)" in md
    assert "**−23%†**" in md


@pytest.mark.parametrize("case", CASES)
def test_cost_assumptions_match(outputs, case):
    page, md = outputs[case]
    block = re.search(r'<ul class="assumptions">(.*?)</ul>', page, re.S)
    assert block, "this example has a cost section"
    items = [_text(li) for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]
    assert len(items) >= 4
    plain = _md_plain(md)
    missing = [i for i in items if i not in plain]
    assert not missing, f"report.md lacks the assumptions {missing}"


def test_commands_are_inert_code_blocks():
    hostile = "vllm bench serve --x '```' ``` <script>alert(1)</script>\n```\n# heading [a](javascript:1)"
    block = md_fence(hostile)
    rendered = MarkdownIt("commonmark", {"html": True}).render("before\n\n" + block + "\n\nafter\n")
    assert rendered.count("<pre>") == 1 and "<script>" not in rendered and "<h1>" not in rendered
    assert "<a " not in rendered and "<p>after</p>" in rendered
    code = re.search(r"<code>(.*?)</code>", rendered, re.S).group(1)
    assert htmllib.unescape(code).rstrip("\n") == hostile


GUIDELLM = ROOT / "tests" / "fixtures" / "guidellm" / "0.8.1"


def test_flagged_parity_rows_and_their_causes_reach_the_markdown(tmp_path):
    """GuideLLM 0.8.1 at n = 20: nearest-rank vs linear percentiles flag parity rows; the Markdown shows
    the callout in Results and the cause column in the appendix, as the HTML does."""
    case = tmp_path / "case"
    case.mkdir()
    runs = {side: GUIDELLM / f"{side}-concurrent" / "benchmarks.json" for side in ("baseline", "optimized")}
    (case / "case.yaml").write_text(
        "title: GuideLLM parity in Markdown\nauthor: casegen tests\ndate: 2026-11-29\nsummary: s\n"
        "system: {model: m, hardware: h, serving_stack: s}\nworkload: {description: d}\nruns:\n"
        + "".join(f"  {side}: {{path: {path}, select: \"concurrency=1\", label: {side}}}\n" for side, path in runs.items()))
    # the runs are the repository's fixtures, outside this case folder: the test trusts its own case
    result = build(case, tmp_path / "out", formats=("html", "md"), trust_case_paths=True)
    page = (tmp_path / "out" / "report.html").read_text()
    md = (tmp_path / "out" / "report.md").read_text()
    assert md_headings(md) == html_headings(page)
    flagged = [p for s in ("baseline", "optimized") for p in result.study.metrics[s].parity if p.flagged]
    assert flagged
    plain = _md_plain(md)
    assert "Where casegen and the benchmark tool disagree by more than 1%" in plain and "why they differ" in plain
    for p in flagged:
        assert _md_plain(p.cause) in plain
