"""Prices by name: the API snapshot against genai-prices' own data, the GPU table, explicit prices winning,
clear errors for missing prices, and the self-host vs API break-even against hand-computed values."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from casegen.analysis.cost import api_cost
from casegen.case import prices
from casegen.case.model import ApiPricing, Cost, SelfHostedPricing, SidePricing
from casegen.errors import CasegenError
from tests.test_cost import metrics

ROOT = Path(__file__).resolve().parent.parent


def _snapshot_day() -> dt.datetime:
    d = dt.date.fromisoformat(prices.api_catalogue()["date"])
    return dt.datetime(d.year, d.month, d.day, 12, tzinfo=dt.timezone.utc)


def test_snapshot_is_the_pinned_genai_prices_release():
    from importlib.metadata import version

    assert prices.api_catalogue()["version"] == version("genai-prices")


def test_gpt_4o_mini_request_priced_as_genai_prices_does():
    """A request of 938 input (200 of them cached) and 170 output tokens: casegen's API cost equals
    genai-prices' own calc_price on its bundled data, and OpenAI's published $0.15 / $0.075 / $0.60 per 1M."""
    import genai_prices

    p, notes = prices.resolve_api(ApiPricing(provider="openai", model="gpt-4o-mini", cached_input_share=200 / 938),
                                  938, "cost.baseline.api")
    assert (p.input_usd_per_1m, p.cached_input_usd_per_1m, p.output_usd_per_1m) == (0.15, 0.075, 0.6)
    c = Cost(baseline=SidePricing(api=p), optimized=SidePricing(api=p), requests_per_month=1)
    ours = api_cost(p, metrics(1, 1, 1, mean_in=938, mean_out=170), c, "baseline").usd_per_request
    theirs = genai_prices.calc_price(genai_prices.Usage(input_tokens=938, cache_read_tokens=200, output_tokens=170),
                                     "gpt-4o-mini", provider_id="openai", genai_request_timestamp=_snapshot_day())
    assert ours == pytest.approx(float(theirs.total_price), rel=1e-12)
    assert ours == pytest.approx((738 * 0.15 + 200 * 0.075 + 170 * 0.6) / 1e6, rel=1e-12)  # 0.0002277
    assert "genai-prices 0.2.3" in notes[0] and prices.api_catalogue()["date"] in notes[0]


def test_every_snapshot_price_matches_genai_prices():
    """Each model's input, cached-input and output price in the snapshot is what genai-prices charges for
    1M tokens of that kind on the snapshot date (tiered prices at a 1,000-token prompt)."""
    from genai_prices.data import providers
    from genai_prices.types import Usage

    theirs = {(p.id, m.id): m for p in providers for m in p.models}
    when = _snapshot_day()
    checked = 0
    for prov in prices.api_catalogue()["providers"]:
        for m in prov["models"]:
            price = theirs[(prov["id"], m["id"])].get_prices(when)
            for key, usage in (("input", Usage(input_tokens=1000)), ("output", Usage(output_tokens=1000))):
                want = float(price.calc_price(usage)["total_price"]) * 1000  # per 1M
                got = prices._tier_price(m[key], 1000)
                assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (prov["id"], m["id"], key)
            checked += 1
    assert checked > 1500


def test_tiered_price_by_prompt_size():
    tier = {"base": 1.25, "tiers": [[200000, 2.5]]}
    assert prices._tier_price(tier, 1000) == 1.25
    assert prices._tier_price(tier, 200000) == 1.25  # crossing means above the start
    assert prices._tier_price(tier, 200001) == 2.5


def test_explicit_prices_win_and_missing_ones_come_from_the_catalogue():
    p, notes = prices.resolve_api(ApiPricing(provider="openai", model="gpt-4o-mini", output_usd_per_1m=9.0), 100, "w")
    assert p.output_usd_per_1m == 9.0 and p.input_usd_per_1m == 0.15
    assert notes and notes[0].startswith("input, cached input price")
    full = ApiPricing(provider="x", input_usd_per_1m=1, output_usd_per_1m=2)
    assert prices.resolve_api(full, 100, "w") == (full, [])
    sh = SelfHostedPricing(gpu="H100-SXM", provider="aws", gpu_hourly_usd=2.5)
    assert prices.resolve_self_hosted(sh, "w") == (sh, [])


def test_missing_price_is_an_error_naming_the_key():
    with pytest.raises(CasegenError) as e:
        prices.resolve_api(ApiPricing(provider="openai", input_usd_per_1m=1.0), 100, "cost.optimized.api")
    assert e.value.where == "cost.optimized.api.output_usd_per_1m"
    with pytest.raises(CasegenError) as e:
        prices.resolve_self_hosted(SelfHostedPricing(), "cost.baseline.self_hosted")
    assert e.value.where == "cost.baseline.self_hosted.gpu_hourly_usd"


def test_unknown_names_suggest_close_ones():
    with pytest.raises(CasegenError) as e:
        prices.find_api_model("openai", "gpt-4o-mnii", "cost.baseline.api.model")
    assert "gpt-4o-mini" in str(e.value)
    with pytest.raises(CasegenError) as e:
        prices.find_api_model("opnai", "gpt-4o-mini", "cost.baseline.api.model")
    assert "openai" in str(e.value)
    with pytest.raises(CasegenError) as e:
        prices.find_gpu_offer("H100-SXM", None, "cost.baseline.self_hosted")
    assert e.value.where == "cost.baseline.self_hosted.provider" and "aws" in str(e.value)
    with pytest.raises(CasegenError) as e:
        prices.find_gpu_offer("B300", "aws", "cost.baseline.self_hosted")
    assert "H100-SXM-80GB" in str(e.value)


def test_gpu_table_rows_are_consistent_and_dated():
    cat = prices.gpu_catalogue()
    for o in cat["offers"]:
        assert o["usd_per_gpu_hour"] == pytest.approx(o["usd_per_instance_hour"] / o["gpus"], abs=6e-4), o["instance"]
        dt.date.fromisoformat(o["read_on"])
        assert o["page"].startswith("https://") and o["via"] in cat["sources"]
    aws = prices.find_gpu_offer("h100 sxm", "AWS", "w")
    assert (aws.instance, aws.usd_per_gpu_hour) == ("p5.48xlarge", 6.88)  # $55.04 / 8
    assert prices.find_gpu_offer("p4de.24xlarge", "aws", "w").gpu == "A100-SXM-80GB"


def test_break_even_hand_computed():
    # one replica $2,000/month serving up to 10M requests/month; API $0.0005 per request
    be = prices.break_even(0.0005, 2000.0, 10_000_000, 20_000_000, "API")
    assert be.break_even_requests_per_month == pytest.approx(4_000_000)  # 2000 / 0.0005
    # k replicas cheaper from k·4M; replica k starts at (k−1)·10M; the API wins after a step while
    # k·4M > (k−1)·10M, i.e. k < 10/6 → k_max = ceil(10/6) − 1 = 1: always cheaper above 4M
    assert be.always_cheaper_above_requests_per_month == pytest.approx(4_000_000)
    assert be.cheaper_at_projected == "self-hosted"
    # a sawtooth: V₁ = 5M, F/a = 4M → k_max = ceil(5/1) − 1 = 4 → always cheaper above 16M
    be = prices.break_even(0.0005, 2000.0, 5_000_000, 1_000_000, "API")
    assert be.always_cheaper_above_requests_per_month == pytest.approx(16_000_000)
    assert prices.self_hosted_month(15_500_000, 2000, 5_000_000) > 0.0005 * 15_500_000  # 4 replicas: API cheaper
    assert prices.self_hosted_month(16_000_000, 2000, 5_000_000) <= 0.0005 * 16_000_000
    assert be.cheaper_at_projected == "api"
    # API cheaper than a fully used replica: no break-even
    be = prices.break_even(0.0001, 2000.0, 10_000_000, 1e9, "API")
    assert be.break_even_requests_per_month is None and "stays cheaper" in be.text


def test_case_priced_by_name_builds_and_shows_the_catalogue(tmp_path):
    from casegen.app.build import build

    src = ROOT / "cases" / "h100-llama31-8b-fp8"
    case_dir = tmp_path / "case"
    shutil.copytree(src, case_dir)
    text = (case_dir / "case.yaml").read_text()
    a = text.index("  baseline:\n    self_hosted:")
    b = text.index("  requests_per_month:")
    text = text[:a] + ("  baseline:\n    self_hosted: {gpu: H100-SXM, provider: runpod-community}\n"
                       "  optimized:\n    self_hosted: {gpu: H100-SXM, provider: runpod-community, gpu_hourly_usd: 2.5}\n"
                       "  compare_api: {provider: openai, model: gpt-4o-mini}\n") + text[b:]
    (case_dir / "case.yaml").write_text(text)
    out = tmp_path / "out"
    build(case_dir, out, pdf=False)
    summary = json.loads((out / "summary.json").read_text())
    base = summary["cost"]["baseline"]
    assert base["usd_per_replica_hour"] == 2.69  # the table's RunPod Community H100 SXM price
    assert summary["cost"]["optimized"]["usd_per_replica_hour"] == 2.5  # explicit price wins
    be = summary["cost"]["self_host_vs_api"]
    assert be["api_label"] == "OpenAI gpt-4o-mini"
    # F / a with F = $2.50 · 730 and a = the API's cost of the optimized run's mean request
    assert be["break_even_requests_per_month"] == pytest.approx(2.5 * 730 / be["api_usd_per_request"], rel=1e-6)
    html = (out / "report.html").read_text()
    assert "genai-prices 0.2.3" in html and prices.api_catalogue()["date"] in html
    assert "read on 2026-11-09" in html and "Self-host vs API" in html
