"""Charts embed themselves per medium: on screen both variants inline, for print (the HTML the PDF
is laid out from) the wide variant only, as an image. No pass over finished HTML or SVG."""

import base64
import re
from pathlib import Path

from casegen.render.html import charts

WIDE = '<svg class="chart" viewBox="0 0 300 100" role="img"><title>w</title><path d="M0 0"/></svg>'
NARROW = '<svg class="chart" role="img"><title>n</title><path d="M1 1"/></svg>'


def _both() -> charts.Chart:
    return charts.responsive(charts.Chart(WIDE, name="Latency", description="p99 fell", width_pt=300.0),
                             charts.Chart(NARROW, name="n", description=""))


def test_screen_embeds_both_variants_inline():
    markup = _both().__html__()
    assert WIDE in markup and NARROW in markup and 'class="phone-only"' in markup


def test_print_embeds_the_wide_variant_as_an_image_with_its_alt_text():
    with charts.chart_medium("print"):
        markup = _both().__html__()
    assert "<svg" not in markup and "phone-only" not in markup
    m = re.fullmatch(r'<img class="chart" style="max-width: 300pt" alt="Latency: p99 fell" '
                     r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">', markup)
    assert m, markup
    svg = base64.b64decode(m.group(1)).decode()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') and "M0 0" in svg
    assert "M1 1" not in svg
    assert _both().__html__() == str(_both())  # the medium is reset after the block


def test_a_real_report_prints_every_chart_as_an_image():
    """The example's real report: on screen every chart is inline SVG with its phone variant; the
    print rendering has no inline SVG and no phone variant, one image per wide chart."""
    from casegen.app.build import analyze, build_report, load_case
    from casegen.render.html import render_html, report_context

    case, case_dir = load_case(Path(__file__).resolve().parent.parent / "cases" / "h100-llama31-8b-fp8")
    study = analyze(case, case_dir)
    ctx = report_context(study, report=build_report(study))
    screen = render_html(study, context=ctx)
    printed = render_html(study, context=ctx, medium="print")
    phones = screen.count('<div class="phone-only">')
    assert phones >= 2
    assert "<svg" not in printed and 'class="phone-only"' not in printed
    assert printed.count('<img class="chart"') == screen.count('<svg') - phones
