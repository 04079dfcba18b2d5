"""A number and its unit never part at a line break in the HTML report (casegen.formatting.keep_units_together)."""

from __future__ import annotations

import re

from casegen.app.build import analyze, build_report, load_case
from casegen.formatting import keep_units_together
from casegen.render.html import render_html
from tests.conftest import EXAMPLE

NBSP = "\u00a0"
WJ = "\u2060"  # word joiner: no line break after the slash of "req/s"


def test_text_gets_no_break_spaces_markup_does_not():
    html = ('<p title="5 s" class="a 3 ms">pays back in 3.6 months; 72.0 ms → 56.0 ms at 10 req/s, '
            '1.5 GiB, 5 seconds, 3 steps, 16 concurrent</p><style>.x{margin:1 s}</style>'
            '<code>sleep 1 s</code><svg><text>50 ms</text></svg>')
    out = keep_units_together(html)
    for kept in ("3.6\u00a0months", "72.0\u00a0ms", "56.0\u00a0ms", "10\u00a0req/s", "1.5\u00a0GiB"):
        assert kept in out, kept
    for plain in ("5 seconds", "3 steps", "16 concurrent", 'title="5 s"', 'class="a 3 ms"', "margin:1 s",
                  "sleep 1 s", "<text>50 ms</text>"):
        assert plain in out, plain
    assert out.replace(NBSP, " ").replace(WJ, "") == html  # nothing else changes


def test_bound_signs_stay_with_their_figure_and_rates_keep_their_slash():
    out = keep_units_together("<p>pays back in ≤ 5.6 months; ≥ 41.2 req/s; &lt; 0.45 req/s; ≈ 2×; a ≤ b</p>",
                              join_rates=True)  # print
    for kept in (f"≤{NBSP}5.6", f"≥{NBSP}41.2", f"&lt;{NBSP}0.45", f"≈{NBSP}2", f"req/{WJ}s"):
        assert kept in out, kept
    assert "a ≤ b" in out  # a sign before a word is left alone


def test_the_example_report_keeps_its_units_with_their_numbers():
    case, d = load_case(EXAMPLE)
    study = analyze(case, d)
    html = render_html(study, report=build_report(study))
    text = re.sub(r"<(style|script|svg|pre|code)\b.*?</\1>|<[^>]*>", " ", html, flags=re.S)
    assert re.search(r"\d (ms|req/s|tok/s|months?)(?![\w/])", text) is None
    assert f"3.6{NBSP}months" in html



def test_charts_write_numbers_as_the_text_does():
    """One number style in the charts too (issue 23): a share is '2.9%' as in the tables, never '2.9 %';
    a rate is 'req/s' as in the text, never '/s' alone."""
    from tests.conftest import ROOT

    labels = {}
    for name in ("h100-llama31-8b-fp8", "llm-d-l40s-ladder"):
        case, d = load_case(ROOT / "cases" / name)
        study = analyze(case, d)
        texts = re.findall(r"<text[^>]*>([^<]*)</text>", render_html(study, report=build_report(study)))
        assert texts, "the charts carry their labels as text"
        assert not [t for t in texts if re.search(r"\d[\s\u00a0]%", t)], name
        assert not [t for t in texts if re.search(r"\d/s\b", t)], name
        labels[name] = " ".join(texts)
    assert "before the first token (2.9%)" in labels["h100-llama31-8b-fp8"]
    assert "≥\u00a041.2\u00a0req/s" in labels["llm-d-l40s-ladder"] or "≥\u00a041.2 req/s" in labels["llm-d-l40s-ladder"]


def test_print_headings_end_with_two_words_together():
    from casegen.render.html import headings_without_orphans

    out = headings_without_orphans('<h1 class="t">Quantized Llama 3 8B: 1.8× the traffic at a 500 ms p99 TTFT</h1>'
                                   '<h2><span class="num"></span> Results</h2><p>a b c d e f g h i j k l m n o p</p>')
    assert "p99\u00a0TTFT</h1>" in out and "a 500 ms" in out
    assert "<h2><span class=\"num\"></span> Results</h2>" in out  # short headings as they are
    assert "a b c d" in out  # not a heading
    assert headings_without_orphans(out) == out  # a second pass (the portfolio book) joins nothing more
