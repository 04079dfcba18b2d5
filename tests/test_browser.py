"""The report, the one-pager and the portfolio index in a real Chromium, at desktop and phone width.

Asserts what a reader notices first: nothing scrolls sideways (no horizontal overflow of the page,
no table or box that scrolls on its own, no visible element past the right edge), the page makes
no network request, and every chart a reader can see has an accessible name and a text
alternative. Runs Debian's ``chromium`` through Playwright (``executable_path``, no browser
download); skipped, with the reason, where either is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_sweep_cases_current_releases import sweep_case

from casegen.app.build import build
from casegen.app.portfolio import build_portfolio
from conftest import EXAMPLE, FIXTURES, ROOT

CHROMIUM = os.environ.get("CASEGEN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = (1280, 390)
SWEEP = ROOT / "cases" / "inference-perf-llama3-8b-quantization-sweep"
LADDER = ROOT / "cases" / "llm-d-l40s-ladder"

# Page-side checks, run in the browser. An element clipped by an ancestor (e.g. a visually hidden
# table header) does not count as overflow; display:none variants do not count as charts.
LAYOUT_JS = """() => {
  const W = document.documentElement.clientWidth;
  const clipped = el => { for (let a = el.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a); if (s.overflowX !== 'visible' || s.clip !== 'auto') return true; } return false; };
  const past = [], scrollers = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > W + 1 && !clipped(el)) past.push(el.tagName + ' ' + (el.textContent || '').trim().slice(0, 60));
    const s = getComputedStyle(el);
    if (['auto', 'scroll'].includes(s.overflowX) && el.scrollWidth > el.clientWidth + 1) scrollers.push(el.tagName + '.' + el.className);
  }
  // inside the report's white column (not only the window), and no cell's content wider than its cell
  for (const d of document.querySelectorAll('details')) d.open = true;
  const col = document.querySelector('main.report');
  if (col) {
    const cs = getComputedStyle(col), edge = col.getBoundingClientRect().right - parseFloat(cs.paddingRight) + 1;
    for (const el of col.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > edge && !clipped(el)) past.push('column: ' + el.tagName + ' ' + (el.textContent || '').trim().slice(0, 60));
    }
    for (const cell of col.querySelectorAll('td, th')) {
      if (cell.getClientRects().length === 0 || clipped(cell)) continue;
      const c = cell.getBoundingClientRect();
      for (const k of cell.querySelectorAll('*')) {
        const q = k.getBoundingClientRect();
        if (q.width > 0 && (q.right > c.right + 1 || q.left < c.left - 1)) { past.push('cell: ' + (cell.textContent || '').trim().slice(0, 60)); break; }
      }
    }
  }
  const charts = [];
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.getClientRects().length === 0) continue;  // not rendered at this width
    const ids = (svg.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    const texts = ids.map(id => (document.getElementById(id) || {}).textContent || '');
    charts.push({role: svg.getAttribute('role'), name: texts[0] || svg.getAttribute('aria-label') || '',
                 desc: texts[1] || ''});
  }
  return {pageWidth: document.documentElement.scrollWidth, viewport: W, past: past.slice(0, 10), scrollers, charts};
}"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install 'casegen[test]')")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; or set CASEGEN_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("browser")
    build(EXAMPLE, out / "full", formats=("html",))
    build(EXAMPLE, out / "one", formats=("html",), layout="onepager")
    build(SWEEP, out / "sweep", formats=("html",))
    build(SWEEP, out / "sweep-one", formats=("html",), layout="onepager")
    build(LADDER, out / "ladder", formats=("html",))
    build(LADDER, out / "ladder-one", formats=("html",), layout="onepager")
    # side labels as long as people write them: cards and headers must wrap, not run off the column
    long_case = out / "long-labels"
    shutil.copytree(EXAMPLE, long_case, ignore=shutil.ignore_patterns("build"))
    text = (long_case / "case.yaml").read_text(encoding="utf-8")
    text = text.replace('label: "BF16"', 'label: "BF16 checkpoint, vLLM 0.6.3 default scheduler (1 worker)"')
    text = text.replace('label: "FP8"', 'label: "FP8 W8A8 checkpoint, vLLM 0.6.3 with chunked prefill (2 workers)"')
    assert "default scheduler (1 worker)" in text
    (long_case / "case.yaml").write_text(text, encoding="utf-8")
    build(long_case, out / "long", formats=("html",))
    res = build_portfolio([EXAMPLE, SWEEP], out / "portfolio", jobs=1, pdf=False)
    assert not res.failed
    got = {"report": out / "full" / "report.html", "one-pager": out / "one" / "report.html",
           "sweep report": out / "sweep" / "report.html", "portfolio index": out / "portfolio" / "index.html",
           "sweep one-pager": out / "sweep-one" / "report.html", "ladder report": out / "ladder" / "report.html",
           "ladder one-pager": out / "ladder-one" / "report.html", "long labels": out / "long" / "report.html"}
    # every other example, and two cases from today's AIPerf outputs (a sweep; summary JSON only)
    for case in sorted(p for p in (ROOT / "cases").iterdir() if (p / "case.yaml").is_file()):
        if case in (EXAMPLE, SWEEP, LADDER):
            continue
        build(case, out / case.name, formats=("html",))
        build(case, out / f"{case.name}-one", formats=("html",), layout="onepager")
        got[case.name] = out / case.name / "report.html"
        got[f"{case.name} one-pager"] = out / f"{case.name}-one" / "report.html"
    for kind, case in (("aiperf sweep", sweep_case("aiperf", out / "aiperf-sweep-case")),
                       ("aiperf summary", _aiperf_summary(out / "aiperf-summary-case"))):
        build(case, out / kind, formats=("html",))
        build(case, out / f"{kind} one", formats=("html",), layout="onepager")
        got[kind], got[f"{kind} one-pager"] = out / kind / "report.html", out / f"{kind} one" / "report.html"
    return got


def _aiperf_summary(case: Path) -> Path:
    """AIPerf 0.13's summary JSON only (no per-request records), with objectives."""
    (case / "runs").mkdir(parents=True)
    for side in ("baseline", "optimized"):
        shutil.copy(FIXTURES / "aiperf" / "0.13.0" / f"{side}-c4" / "profile_export_aiperf.json",
                    case / "runs" / f"{side}.json")
    (case / "case.yaml").write_text(AIPERF_SUMMARY_CASE, encoding="utf-8")
    return case


AIPERF_SUMMARY_CASE = """title: "Test server at concurrency 4, summary statistics only: AIPerf 0.13"
author: "casegen tests"
date: 2026-12-07
summary: "AIPerf 0.13 summary JSON of the test server's baseline and optimized timing profiles at concurrency 4."
system:
  model: "test-model (tools/testserver.py)"
  hardware: "CPU, 127.0.0.1"
  serving_stack: "tools/testserver.py"
workload:
  description: "Synthetic streaming requests (AIPerf 0.13.0), summary JSON only."
slos:
  - {metric: ttft, percentile: 99, threshold_ms: 70}
  - {metric: e2e, percentile: 50, threshold_ms: 450}
runs:
  baseline: {path: runs/baseline.json, label: "Baseline"}
  optimized: {path: runs/optimized.json, label: "Optimized"}
"""


def _names() -> list[str]:
    others = sorted(p.name for p in (ROOT / "cases").iterdir() if (p / "case.yaml").is_file()
                    and p not in (EXAMPLE, SWEEP, LADDER))
    return (["report", "one-pager", "sweep report", "sweep one-pager", "ladder report", "ladder one-pager",
             "long labels", "portfolio index"] + [n for o in others for n in (o, f"{o} one-pager")]
            + ["aiperf sweep", "aiperf sweep one-pager", "aiperf summary", "aiperf summary one-pager"])


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", _names())
def test_page_in_chromium(browser, pages, name, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    url = pages[name].resolve().as_uri()
    requests: list[str] = []

    def route(r):
        requests.append(r.request.url)
        if r.request.url == url or r.request.url.startswith("data:"):
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.goto(url)
    page.wait_for_load_state("load")
    got = page.evaluate(LAYOUT_JS)
    page.close()
    assert [u for u in requests if u != url and not u.startswith("data:")] == [], f"{name} fetched something"
    assert got["pageWidth"] <= got["viewport"], f"{name} at {width} px scrolls sideways"
    assert got["scrollers"] == [], f"{name} at {width} px has boxes that scroll sideways: {got['scrollers']}"
    assert got["past"] == [], f"{name} at {width} px has elements past the right edge: {got['past']}"
    if name != "portfolio index":
        assert got["charts"], f"no chart visible in the {name}"
    for chart in got["charts"]:
        assert chart["role"] == "img" and len(chart["name"]) > 10 and len(chart["desc"]) > 20, chart


@pytest.mark.parametrize("name, case", [("report", EXAMPLE), ("sweep report", SWEEP), ("ladder report", LADDER)])
def test_phone_first_screen_names_the_system(browser, pages, name, case):
    """At 390 px the cover folds its labelled facts away, but the first screen (844 px, a phone's) still
    says what was measured: model, hardware and serving stack, on one visible line."""
    import yaml

    system = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))["system"]
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(pages[name].resolve().as_uri())
    got = page.evaluate(r"""(words) => {
      const seen = [];
      for (const el of document.querySelectorAll('header.cover *')) {
        const r = el.getBoundingClientRect();
        if (el.getClientRects().length && r.bottom <= 844 && el.children.length === 0) seen.push(el.textContent);
      }
      const norm = t => t.replace(/\s+/g, ' ');  // a no-break space in "1× NVIDIA" is a space
      const text = norm(seen.join(' '));
      return words.filter(w => !text.includes(norm(w)));
    }""", [system["model"], system["hardware"], system["serving_stack"]])
    page.close()
    assert got == [], f"{name}: not in a phone's first screen: {got}"
