"""report.md is as safe as report.html: rendered with markdown-it *with HTML enabled*, no
script-capable markup survives (issue 11 item 2); and every output carries the same page 1."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from casegen.app.build import build
from casegen.render.mdtext import md_escape

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = "<img src=x onerror=alert(1)>"
NOTES = """Safe link: [docs](https://example.com/a).

Bad link: [click](javascript:alert(1)) and [x](JAVASCRIPT:alert(2)) and <javascript:alert(3)>.

Image: ![pixel](javascript:alert(4)) ![remote](http://evil.example/x.png)

<script>alert(5)</script> <iframe src="https://evil.example"></iframe> <a href="javascript:alert(6)">a</a>

<img src=x onerror=alert(7)>
"""

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "style", "svg", "math", "form", "input", "button", "link",
                  "meta", "base", "frame", "frameset", "applet", "template"}


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in DANGEROUS_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            v = (value or "").strip().lower()
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            if name in ("href", "src", "action", "formaction", "xlink:href") and re.match(r"^[a-z][a-z0-9+.-]*:", v):
                if not v.startswith(("http:", "https:", "mailto:")):
                    self.problems.append(f"{tag} {name}={v}")
            if tag == "img" and name == "src" and not v.startswith("charts/"):
                self.problems.append(f"img src={v}")


def audit(html: str) -> list[str]:
    p = _Audit()
    p.feed(html)
    return p.problems


@pytest.fixture()
def hostile_case(tmp_path: Path) -> Path:
    src = ROOT / "cases" / "h100-llama31-8b-fp8"
    d = tmp_path / "case"
    shutil.copytree(src, d, ignore=shutil.ignore_patterns("build"))
    runs = d / "runs"
    (runs / "fp8-optimized.json").rename(runs / f"{PAYLOAD}.json")
    import yaml

    data = yaml.safe_load((d / "case.yaml").read_text())
    data["runs"]["optimized"]["path"] = f"runs/{PAYLOAD}.json"
    data["runs"]["optimized"]["label"] = "FP8 <script>alert(8)</script> | *x*"
    data["notes"] = NOTES
    data["tradeoffs"].insert(0, {"technique": f"T {PAYLOAD}", "what_changed": "w", "helps_when": "h",
                                 "hurts_when": "x", "quality": {"metric": "m", "baseline": 70, "optimized": 69.8,
                                                                "tolerance": 0.5, "unit": PAYLOAD}})
    (d / "case.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return d


def test_md_escape_neutralises_markup():
    s = md_escape("<b>*x*</b> [a](javascript:1) | `c` ![i](j) & &lt;")
    html = MarkdownIt("commonmark", {"html": True}).render(s)
    assert "<b>" not in html and "<em>" not in html and "<a " not in html and "<img" not in html and "<code>" not in html
    assert md_escape("1. item") == "1\\. item" and md_escape("# h") == "\\# h" and md_escape("12.3 ms") == "12.3 ms"


def test_hostile_markdown_has_no_script_capable_markup(hostile_case, tmp_path):
    out = tmp_path / "out"
    result = build(hostile_case, out, formats=("md", "html"))
    md = (out / "report.md").read_text()
    assert "notes" in md.lower() and "docs" in md  # the sections with payloads were rendered
    for renderer in (MarkdownIt("commonmark", {"html": True}), MarkdownIt("gfm-like", {"html": True, "linkify": False})):
        problems = audit(renderer.render(md))
        assert not problems, problems
    # the payload text is still shown, as text
    assert "onerror" in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert 'href="https://example.com/a"' in md
    # the HTML report holds too (same rules)
    html_problems = [p for p in audit((out / "report.html").read_text())
                     if p.startswith(("<script", "<iframe", "<object", "<embed", "<form")) or " on" in p
                     or "javascript" in p]
    assert not html_problems, html_problems
    assert result.report is not None


def _pdf_text(pdf: Path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00ad", "")).strip()


@pytest.mark.parametrize("case", ["h100-llama31-8b-fp8", "inference-perf-llama3-8b-quantization-sweep"])
def test_every_output_carries_the_same_page1(case, tmp_path):
    out = tmp_path / "out"
    build(ROOT / "cases" / case, out, formats=("md", "html", "json", "pdf"))
    summary = json.loads((out / "summary.json").read_text())
    page1 = summary["page1"]
    assert page1["cards"] and summary["schema"] == "casegen.summary/5"
    md = _norm((out / "report.md").read_text().replace("\\", ""))
    html_text = _norm(re.sub(r"<[^>]+>", " ", (out / "report.html").read_text()).replace("&amp;", "&"))
    pdf = _norm(_pdf_text(out / "report.pdf"))
    by_key = {f["key"]: f for f in summary["findings"]}
    for card in page1["cards"] + page1["regressions"]:
        for text in (card["title"], card["value"]):
            for name, doc in (("md", md), ("html", html_text), ("pdf", pdf)):
                assert _norm(text) in doc, f"{name} lacks page-1 text {text!r}"
        for key in card["finding"].split(","):
            assert key in by_key
    assert _norm(page1["in_short"][:80]) in md and _norm(page1["in_short"][:80]) in html_text
