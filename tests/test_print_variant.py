"""The PDF is rendered without the phone variant of each chart (print never shows it)."""

from casegen.render.html import charts


def test_without_phone_variants_keeps_the_wide_chart_only():
    wide = '<svg class="chart" role="img"><title>w</title><path d="M0 0"/></svg>'
    narrow = '<svg class="chart" role="img"><title>n</title><path d="M1 1"/></svg>'
    both = charts.responsive(charts.Chart(wide, name="w", description=""), charts.Chart(narrow, name="n", description=""))
    html = "<p>a</p>" + both + "<p>b</p>" + both
    out = charts.without_phone_variants(html)
    assert out.count(wide) == 2
    assert narrow not in out and "phone-only" not in out
    assert out.count('<div class="chart-variants"><div class="desk-only">') == 2
    assert out.startswith("<p>a</p>") and "<p>b</p>" in out
    assert out.count("<div") == out.count("</div>")


def test_without_phone_variants_leaves_other_html_alone():
    html = '<div class="phone-only"><p>not a chart</p></div><svg><title>x</title></svg>'
    assert charts.without_phone_variants(html) == html


def test_a_real_report_loses_every_phone_variant_before_print():
    """On the example's real HTML (matplotlib's SVG text ends with a newline, which once made
    the pattern miss every chart): no phone variant survives, every wide one does."""
    from pathlib import Path

    from casegen.app.build import analyze, build_report, load_case
    from casegen.render.html import render_html

    case, case_dir = load_case(Path(__file__).resolve().parent.parent / "cases" / "h100-llama31-8b-fp8")
    study = analyze(case, case_dir)
    html = render_html(study, report=build_report(study))
    phones = html.count('<div class="phone-only">')
    assert phones >= 2
    out = charts.without_phone_variants(html)
    assert '<div class="phone-only">' not in out
    assert out.count('<div class="desk-only">') == html.count('<div class="desk-only">') == phones
    assert out.count("<svg") == html.count("<svg") - phones
