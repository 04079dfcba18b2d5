"""The PDF is rendered without the phone variant of each chart (print never shows it)."""

from casegen import charts


def test_without_phone_variants_keeps_the_wide_chart_only():
    wide = '<svg class="chart" role="img"><title>w</title><path d="M0 0"/></svg>'
    narrow = '<svg class="chart" role="img"><title>n</title><path d="M1 1"/></svg>'
    html = "<p>a</p>" + charts.responsive(wide, narrow) + "<p>b</p>" + charts.responsive(wide, narrow)
    out = charts.without_phone_variants(html)
    assert out.count(wide) == 2
    assert narrow not in out and "phone-only" not in out
    assert out.count('<div class="chart-variants"><div class="desk-only">') == 2
    assert out.startswith("<p>a</p>") and "<p>b</p>" in out
    assert out.count("<div") == out.count("</div>")


def test_without_phone_variants_leaves_other_html_alone():
    html = '<div class="phone-only"><p>not a chart</p></div><svg><title>x</title></svg>'
    assert charts.without_phone_variants(html) == html
