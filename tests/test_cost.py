"""Cost, payback and ROI against hand-computed values."""

from __future__ import annotations

import pytest

from casegen.analysis.cost import compare_costs, payback, side_cost
from casegen.analysis.metrics import Dist, RunMetrics
from casegen.case.model import ApiPricing, Cost, SelfHostedPricing, SidePricing


def metrics(rps: float, out_tps: float, tot_tps: float, mean_in: float = 1000, mean_out: float = 200) -> RunMetrics:
    return RunMetrics(
        source="per-request", requests={"total": 10, "succeeded": 10, "failed": 0, "error_rate": 0.0},
        latency_ms={}, throughput={"requests_per_s": rps, "output_tokens_per_s": out_tps,
                                   "total_tokens_per_s": tot_tps},
        tokens={"input": Dist(n=10, mean=mean_in), "output": Dist(n=10, mean=mean_out)},
        split={}, one_token_responses=0,
    )


def sh(price=2.0, gpus=2, util=0.5, capacity=None):
    return SidePricing(self_hosted=SelfHostedPricing(gpu_hourly_usd=price, gpus_per_replica=gpus,
                                                     utilization=util, capacity_requests_per_s=capacity))


def test_self_hosted_hand_computed():
    c = Cost(baseline=sh(), optimized=sh(), requests_per_month=1_000_000, peak_requests_per_s=10, headroom=0.8)
    m = metrics(rps=2.0, out_tps=400.0, tot_tps=2400.0)
    s = side_cost(c.baseline, m, c, "baseline")
    # $4/h per replica; effective 3600·0.5 = 1800 s of full-speed serving per hour
    assert s.usd_per_replica_hour == 4.0
    assert s.usd_per_request == pytest.approx(4.0 / (1800 * 2.0))          # 0.00111…
    assert s.usd_per_million_output_tokens == pytest.approx(4.0 * 1e6 / (1800 * 400))  # 5.555…
    assert s.usd_per_million_total_tokens == pytest.approx(4.0 * 1e6 / (1800 * 2400))
    assert s.usd_per_month == pytest.approx(1_000_000 * 4.0 / 3600)
    # replicas = ceil(10 / (2·0.8)) = ceil(6.25) = 7; fleet = 7·4·730
    assert s.replicas_for_peak == 7
    assert s.fleet_usd_per_month == pytest.approx(7 * 4 * 730)


def test_capacity_override_scales_token_rates():
    c = Cost(baseline=sh(capacity=4.0), optimized=sh(), requests_per_month=1e6)
    s = side_cost(c.baseline, metrics(2.0, 400.0, 2400.0), c, "baseline")
    assert s.usd_per_request == pytest.approx(4.0 / (1800 * 4.0))
    assert s.usd_per_million_output_tokens == pytest.approx(4.0 * 1e6 / (1800 * 800))
    assert "stated by the author" in s.assumptions[1]


def test_api_cost_with_cache():
    api = SidePricing(api=ApiPricing(input_usd_per_1m=3.0, cached_input_usd_per_1m=0.3,
                                     output_usd_per_1m=15.0, cached_input_share=0.5))
    c = Cost(baseline=api, optimized=api, requests_per_month=100_000)
    s = side_cost(api, metrics(1, 1, 1, mean_in=1000, mean_out=200), c, "baseline")
    # 500·3 + 500·0.3 + 200·15 = 1500 + 150 + 3000 = 4650 µ$ → $0.00465
    assert s.usd_per_request == pytest.approx(0.00465)
    assert s.usd_per_month == pytest.approx(465.0)
    assert s.usd_per_million_output_tokens == pytest.approx(0.00465 / 200 * 1e6)


def test_payback_and_roi():
    c = Cost(baseline=sh(), optimized=sh(), requests_per_month=3_600_000, one_time_cost_usd=2000, horizon_months=12)
    base, opt = metrics(2.0, 400, 2400), metrics(4.0, 800, 4800)
    r = compare_costs(c, base, opt)
    # base: 3.6M·4/(1800·2) = $4000/month; opt: $2000/month → savings $2000
    assert r.savings_usd_per_month == pytest.approx(2000)
    assert r.savings_pct == pytest.approx(50)
    assert r.payback_months == pytest.approx(1.0)
    assert r.roi_pct == pytest.approx((2000 * 12 - 2000) / 2000 * 100)
    assert "pays back in 1.0 months" in r.verdict


def test_no_payback_when_savings_not_positive():
    c = Cost(baseline=sh(), optimized=sh(), requests_per_month=1e6, one_time_cost_usd=5000)
    r = compare_costs(c, metrics(4.0, 800, 4800), metrics(2.0, 400, 2400))
    assert r.savings_usd_per_month < 0
    assert r.payback_months is None
    assert r.verdict.startswith("No payback")
    assert payback(100, 0) is None and payback(100, -1) is None and payback(0, 10) == 0


def test_zero_one_time_cost_has_no_roi():
    c = Cost(baseline=sh(), optimized=sh(), requests_per_month=1e6)
    r = compare_costs(c, metrics(2.0, 400, 2400), metrics(4.0, 800, 4800))
    assert r.roi_pct is None and r.payback_months == 0
    assert "immediately" in r.verdict


def test_revenue_effect_is_separate_and_hand_computed(tmp_path):
    import shutil

    from casegen.analysis.study import analyze, summary_dict
    from casegen.case.model import load_case
    from casegen.render.html import render_html
    from conftest import EXAMPLE

    d = tmp_path / "case"
    shutil.copytree(EXAMPLE, d, ignore=shutil.ignore_patterns("build"))
    text = (d / "case.yaml").read_text().replace("  horizon_months: 12\n", (
        "  horizon_months: 12\n  revenue:\n    monthly_revenue_usd: 100000\n    change_pct_per_100ms: 1.0\n"
        "    metric: ttft\n    stat: p50\n    source: \"illustrative assumption\"\n"))
    (d / "case.yaml").write_text(text)
    case, folder = load_case(d)
    study = analyze(case, folder)
    delta_ms = study.deltas["ttft"]["p50"].abs  # −16.05 ms
    assert study.revenue.usd_per_month == pytest.approx(100000 * 0.01 * (-delta_ms / 100))
    s = summary_dict(study)
    assert s["cost"]["revenue_effect"]["usd_per_month"] == pytest.approx(study.revenue.usd_per_month)
    # not mixed into savings
    assert s["cost"]["savings_usd_per_month"] == pytest.approx(  # of the printed (whole-dollar) figures
        round(s["cost"]["baseline"]["usd_per_month"]) - round(s["cost"]["optimized"]["usd_per_month"]))
    assert "not included in the savings" in render_html(study)


def test_the_saving_is_the_difference_of_the_printed_monthly_figures():
    """prompt-trimming: '$1,493 → $1,019 a month' beside 'Saves $475' (the unrounded difference); a reader
    subtracts and gets $474. The saving is the difference of the whole-dollar figures."""
    from casegen.formatting import fmt_usd, usd_difference_shown

    c = Cost(baseline=sh(), optimized=sh(), requests_per_month=1_000_000, one_time_cost_usd=2000)
    r = compare_costs(c, metrics(1.488, 300, 1500), metrics(2.181, 436, 2181))
    b, o = r.baseline.usd_per_month, r.optimized.usd_per_month
    assert b == pytest.approx(2222.2222 / 1.488) and o == pytest.approx(2222.2222 / 2.181)  # 1,493.43 / 1,018.90
    assert round(b - o) == 475  # the unrounded difference
    assert (fmt_usd(b, 0), fmt_usd(o, 0), fmt_usd(r.savings_usd_per_month, 0)) == ("$1,493", "$1,019", "$474")
    assert "Saves $474 per month" in r.verdict and r.payback_months == pytest.approx(2000 / 474)
    assert usd_difference_shown(12.34, 5.67) == pytest.approx(6.67)  # small money: exact (printed with cents)


def test_a_bounded_change_is_said_in_words_not_as_a_signed_bound():
    """'≤ −25%' asks the reader to negate a sign; a bound on a relative change is said as a fall or rise."""
    from casegen.formatting import fmt_pct_bound

    # change ≤ −24.96 %: a fall of at least 24.96 %, so at least 24 % (a lower bound rounds down)
    assert fmt_pct_bound("at_most", -24.96, digits=0) == "≥ 24% lower"
    assert fmt_pct_bound("at_least", -7.2, digits=0) == "≤ 8% lower"  # change ≥ −7.2 %: a fall of at most 7.2 %
    assert fmt_pct_bound("at_least", 10.0) == "≥ 10.0% higher"
    assert fmt_pct_bound("at_most", 3.0) == "≤ 3.0% higher"
    assert fmt_pct_bound("point", -24.96) == "−25.0%"


def test_payback_and_saving_phrases_carry_the_estimate_beside_a_bound():
    """A saving known as a bound because an estimate counted at an end of its range says the estimate
    beside it, in the saving, the payback and the return, each bound rounded the way that keeps it true
    (hand-computed: 10,000 / 781 = 12.80 → "within 12.9"; 10,000 / 1,776 = 5.63 → "5.7"; ROI
    (781 × 12 − 10,000) / 10,000 = −6.28 % → "at worst −7%"; (1,776 × 12 − 10,000) / 10,000 = +113.1 %)."""
    from types import SimpleNamespace as NS

    from casegen.story.findings import cost_saving_phrase, payback_phrase

    est = NS(savings_usd_per_month=1776.0, payback_months=10000 / 1776, roi_pct=(1776 * 12 - 10000) / 100,
             savings_bound="at_least")
    c = NS(savings_usd_per_month=781.0, savings_bound="at_least", one_time_cost_usd=10000.0,
           payback_months=10000 / 781, horizon_months=12, roi_pct=(781 * 12 - 10000) / 100, estimate=est)
    assert cost_saving_phrase(c) == "saves at least $781 a month (estimate $1,776)"
    assert payback_phrase(c) == ("the $10,000 one-time cost pays back within 12.9 months (estimate 5.7 months); "
                                 "at worst that is after the 12-month horizon (return over 12 months: at worst −7%, "
                                 "estimate +113%)")
    c.estimate = None
    assert cost_saving_phrase(c) == "saves at least $781 a month"
    assert "estimate" not in payback_phrase(c)


def test_a_bound_is_printed_rounded_the_way_that_keeps_it_true():
    """'≥ $22' for a lower bound of $21.58 claims more than is known (the review of the AIPerf sweep case):
    a lower bound rounds down, an upper bound up, a point to nearest."""
    from casegen.formatting import directed, fmt_bound, fmt_ratio, fmt_usd
    from casegen.story.findings import saving_phrase, usd_text

    usd0 = lambda v: fmt_usd(v, 0)  # noqa: E731
    assert directed(usd0, 21.58, "at_least") == "$21" and directed(usd0, 18.21, "at_most") == "$19"
    assert directed(usd0, 21.58, "point") == "$22" and directed(usd0, 21.0, "at_least") == "$21"
    assert directed(fmt_ratio, 1.3213, "at_least") == "1.32×" and directed(fmt_ratio, 1.3213, "at_most") == "1.33×"
    assert usd_text(0.30271, "at_most") == "≤ $0.303" and usd_text(0.40349, "at_least") == "≥ $0.403"
    # a rate's bound shows a decimal more where rounding down (up) would change the figure: "≥ 10.17 req/s"
    # beside the "10.2" a table prints for the same measured 10.17 (the review read "≥ 10.1" and "10.2" as two values)
    assert fmt_bound("at_least", 41.26, "req/s") == "≥ 41.26 req/s" and fmt_bound("at_most", 31.21) == "≤ 31.21 req/s"
    assert fmt_bound("at_least", 41.217, "req/s") == "≥ 41.2 req/s"  # rounding to nearest keeps it true: as it is
    assert fmt_bound("at_least", 10.1734, "req/s") == "≥ 10.17 req/s"
    assert directed(fmt_ratio, 1.18534, "at_least", finer=True) == "1.185×"
    # monthly money below $100 keeps its cents (formatting.fmt_usd_money): "≥ $21.58 → ≤ $18.21" beside
    # "at least $3.37" reads right, where "≥ $21 → ≤ $19" beside "at least $3" read as $2 (the last review)
    assert saving_phrase(9.64, "at_least") == "saves at least $9.64 a month"
    assert saving_phrase(9.648, "at_least") == "saves at least $9.64 a month"  # a lower bound rounds down
    assert saving_phrase(-9.64, "at_most") == "costs at least $9.64 more a month"  # saving ≤ −9.64: ≥ $9.64 more
    assert saving_phrase(1775.6, "at_least") == "saves at least $1,775 a month"  # whole dollars from $100


def test_monthly_money_reads_as_the_difference_printed():
    """Two bounded monthly costs and the saving between them, as printed, agree to the cent below $100."""
    from casegen.formatting import fmt_usd_money, usd_difference_shown

    base, opt = 21.5812, 18.2134
    shown = usd_difference_shown(base, opt, "at_least", "at_most")
    b, o = fmt_usd_money(base, "at_least"), fmt_usd_money(opt, "at_most")
    assert (b, o) == ("$21.58", "$18.22")
    assert float(b[1:]) - float(o[1:]) <= shown + 0.01  # the printed saving is no more than the printed gap
    assert fmt_usd_money(4201.88) == "$4,202" and fmt_usd_money(2426.17, "at_most") == "$2,427"


def test_list_prices_keep_their_cents():
    """'$0.6 per 1M' beside '$0.15' reads as a typo: list prices keep cents and any further digits."""
    from casegen.analysis.cost import _price

    assert [_price(x) for x in (0.6, 0.15, 0.075, 2.5, 10.0)] == ["$0.60", "$0.15", "$0.075", "$2.50", "$10.00"]
