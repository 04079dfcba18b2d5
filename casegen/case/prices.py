"""Prices by name: API models from a dated genai-prices snapshot, GPUs from a dated on-demand table.

Both catalogues ship inside casegen (``casegen/data/``), so pricing by name works offline and the same
case always gives the same numbers:

* ``api_prices.json`` — per-token prices of hosted models, a snapshot of the MIT-licensed
  `genai-prices <https://github.com/pydantic/genai-prices>`_ package made by ``tools/update_api_prices.py``
  (its version and date are printed in the report);
* ``gpu_prices.json`` — on-demand USD per GPU-hour of common GPU instances, each row with the price
  page and the date it was read.

Explicit prices in case.yaml always win over a catalogue; a price that is neither given nor found is a
:class:`CasegenError` naming the key. :func:`resolve_cost` fills in the missing numbers of a ``cost:``
section and says where each came from; :func:`break_even` compares a self-hosted deployment with a
hosted API model.

Break-even (self-hosted vs API), per month, with ``F = g · P · 730`` the cost of one always-on replica,
``V₁ = C · U · 3600 · 730`` the requests one replica serves per month at capacity ``C`` (req/s) and
average utilisation ``U``, and ``a`` the API's price per request::

    self_hosted(V) = max(1, ceil(V / V₁)) · F          api(V) = a · V
    break-even V*  = F / a        (exists only when F / a < V₁, i.e. a > F / V₁ = self-hosted $/request)

With ``k`` replicas self-hosting is cheaper for ``V ≥ k·F/a``; just after a replica is added the API can be
cheaper again, up to replica ``k_max = ceil(V₁ / (V₁ − F/a)) − 1``, so self-hosting is cheaper at every
volume above ``k_max · F / a``.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from casegen.case.model import ApiPricing, Cost, SelfHostedPricing, SidePricing
from casegen.errors import CasegenError

HOURS_PER_MONTH = 730.0


@lru_cache(maxsize=None)
def _load(name: str) -> dict[str, Any]:
    return json.loads(resources.files("casegen").joinpath("data", name).read_text(encoding="utf-8"))


def api_catalogue() -> dict[str, Any]:
    """The API price snapshot (``casegen/data/api_prices.json``)."""
    return _load("api_prices.json")


def gpu_catalogue() -> dict[str, Any]:
    """The GPU price table (``casegen/data/gpu_prices.json``)."""
    return _load("gpu_prices.json")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-./]+", "", name.strip().lower())


def _suggest(word: str, options: list[str], n: int = 5) -> str:
    close = difflib.get_close_matches(word, options, n=n, cutoff=0.5)
    return ", ".join(close) if close else ", ".join(sorted(options)[:n]) + ", …"


# --------------------------------------------------------------------------- API models


@dataclass(frozen=True)
class ApiCatalogueEntry:
    provider_id: str
    provider_name: str
    model_id: str
    input_usd_per_1m: float | dict
    cached_input_usd_per_1m: float | dict | None
    output_usd_per_1m: float | dict
    pricing_urls: tuple[str, ...]
    catalogue: str  # "genai-prices 0.2.3 (prices in force 2026-11-29)"


def _tier_price(price: float | dict, prompt_tokens: float) -> float:
    """A tiered price ({base, tiers: [[start, price], ...]}) at a prompt size: the highest tier whose start
    the prompt exceeds applies to all tokens (genai-prices' rule)."""
    if not isinstance(price, dict):
        return float(price)
    out = float(price["base"])
    for start, p in price["tiers"]:
        if prompt_tokens > start:
            out = float(p)
    return out


def catalogue_label() -> str:
    cat = api_catalogue()
    return f"{cat['catalogue']} {cat['version']} (prices in force {cat['date']})"


def find_api_model(provider: str | None, model: str, where: str) -> ApiCatalogueEntry:
    """Look a model up in the API catalogue (provider id or name, model id or alias; case-insensitive)."""
    cat = api_catalogue()
    provs = cat["providers"]
    if provider:
        key = _norm(provider)
        matches = [p for p in provs if _norm(p["id"]) == key or _norm(p["name"]) == key]
        if not matches:
            raise CasegenError(f"provider '{provider}' is not in the API price catalogue ({catalogue_label()})",
                               where=where, expected="one of: " + _suggest(provider.lower(), [p["id"] for p in provs]))
    else:
        matches = provs
    key = _norm(model)
    found = [(p, m) for p in matches for m in p["models"]
             if _norm(m["id"]) == key or any(_norm(a) == key for a in m.get("aliases", ()))]
    if not found:
        names = [m["id"] for p in matches for m in p["models"]]
        raise CasegenError(f"model '{model}' is not in the API price catalogue" +
                           (f" for provider '{provider}'" if provider else "") + f" ({catalogue_label()})",
                           where=where, expected="a model id such as " + _suggest(model.lower(), names)
                           + "; or give input_usd_per_1m and output_usd_per_1m")
    if len(found) > 1:
        raise CasegenError(f"model '{model}' is sold by several providers in the API price catalogue",
                           where=where, expected="provider: one of " + ", ".join(sorted({p['id'] for p, _ in found})))
    p, m = found[0]
    return ApiCatalogueEntry(p["id"], p["name"], m["id"], m["input"], m.get("cached_input"), m["output"],
                             tuple(p.get("pricing_urls", ())), catalogue_label())


def resolve_api(p: ApiPricing, mean_input_tokens: float | None, where: str) -> tuple[ApiPricing, list[str]]:
    """Fill the missing prices of ``p`` from the catalogue; explicit prices win. Returns (pricing, notes)."""
    if p.input_usd_per_1m is not None and p.output_usd_per_1m is not None:
        return p, []
    if not p.model:
        missing = "input_usd_per_1m" if p.input_usd_per_1m is None else "output_usd_per_1m"
        raise CasegenError(f"no price for {where}: '{missing}' is not given and no model names a catalogue price",
                           where=f"{where}.{missing}",
                           expected=f"{missing}: <USD per 1M tokens>, or model: <id> (with provider:) to price it "
                                    f"from the API price catalogue ({catalogue_label()})")
    e = find_api_model(p.provider, p.model, f"{where}.model")
    prompt = mean_input_tokens or 0.0
    update: dict[str, Any] = {}
    took = []
    if p.input_usd_per_1m is None:
        update["input_usd_per_1m"] = _tier_price(e.input_usd_per_1m, prompt)
        took.append("input")
    if p.output_usd_per_1m is None:
        update["output_usd_per_1m"] = _tier_price(e.output_usd_per_1m, prompt)
        took.append("output")
    if p.cached_input_usd_per_1m is None and e.cached_input_usd_per_1m is not None:
        update["cached_input_usd_per_1m"] = _tier_price(e.cached_input_usd_per_1m, prompt)
        took.append("cached input")
    if p.provider is None or _norm(p.provider) == _norm(e.provider_id):
        update["provider"] = f"{e.provider_name} {e.model_id}"
    tiered = any(isinstance(x, dict) for x in (e.input_usd_per_1m, e.output_usd_per_1m))
    note = (f"{', '.join(took)} price of {e.provider_name} {e.model_id} from {e.catalogue}; "
            f"provider's page {e.pricing_urls[0] if e.pricing_urls else 'not listed'}")
    if tiered:
        note += f"; tiered by prompt size, priced at the run's mean prompt of {prompt:,.0f} tokens"
    return p.model_copy(update=update), [note]


# --------------------------------------------------------------------------- GPUs


@dataclass(frozen=True)
class GpuOffer:
    provider: str
    instance: str
    gpu: str
    gpus: int
    usd_per_gpu_hour: float
    region: str | None
    page: str
    read_on: str


def gpu_offers() -> list[GpuOffer]:
    return [GpuOffer(o["provider"], o["instance"], o["gpu"], o["gpus"], o["usd_per_gpu_hour"], o.get("region"),
                     o["page"], o["read_on"]) for o in gpu_catalogue()["offers"]]


def _gpu_matches(name: str, offer: GpuOffer) -> bool:
    """'H100-SXM' matches 'H100-SXM-80GB' (a prefix of the name), an instance name matches exactly."""
    key = _norm(name)
    return _norm(offer.gpu) == key or _norm(offer.gpu).startswith(key) and len(key) >= 4 or _norm(offer.instance) == key


def find_gpu_offer(gpu: str | None, provider: str | None, where: str) -> GpuOffer:
    offers = gpu_offers()
    if not gpu:
        raise CasegenError(f"no price for {where}: neither gpu_hourly_usd nor a gpu name is given",
                           where=f"{where}.gpu_hourly_usd",
                           expected="gpu_hourly_usd: <USD per GPU-hour>, or gpu: <name> with provider: <cloud> to "
                                    "take the price from casegen's GPU price table")
    by_gpu = [o for o in offers if _gpu_matches(gpu, o)]
    if not by_gpu:
        raise CasegenError(f"GPU '{gpu}' is not in casegen's GPU price table (dated {gpu_catalogue()['date']})",
                           where=f"{where}.gpu", expected="one of " + ", ".join(sorted({o.gpu for o in offers}))
                           + "; or give gpu_hourly_usd")
    if not provider:
        raise CasegenError(f"GPU '{gpu}' has several prices in casegen's GPU price table; name the provider",
                           where=f"{where}.provider",
                           expected="provider: one of " + ", ".join(sorted({o.provider for o in by_gpu}))
                           + "; or give gpu_hourly_usd")
    found = [o for o in by_gpu if _norm(o.provider) == _norm(provider)]
    if not found:
        raise CasegenError(f"provider '{provider}' has no price for GPU '{gpu}' in casegen's GPU price table",
                           where=f"{where}.provider",
                           expected="one of " + ", ".join(sorted({o.provider for o in by_gpu})) + "; or give gpu_hourly_usd")
    if len({o.gpu for o in found}) > 1:
        raise CasegenError(f"GPU '{gpu}' matches several GPUs of '{provider}'", where=f"{where}.gpu",
                           expected="one of " + ", ".join(sorted({o.gpu for o in found})))
    return min(found, key=lambda o: o.usd_per_gpu_hour)  # one provider, one GPU: the cheapest listed instance


def resolve_self_hosted(p: SelfHostedPricing, where: str) -> tuple[SelfHostedPricing, list[str]]:
    if p.gpu_hourly_usd is not None:
        return p, []
    o = find_gpu_offer(p.gpu, p.provider, where)
    region = f", {o.region}" if o.region else ""
    note = (f"${o.usd_per_gpu_hour:,.4g}/GPU-hour: {o.provider} {o.instance} on-demand ({o.gpus} × {o.gpu}{region}), "
            f"read on {o.read_on} from {o.page} (casegen GPU price table)")
    return p.model_copy(update={"gpu_hourly_usd": o.usd_per_gpu_hour, "gpu": p.gpu or o.gpu}), [note]


# --------------------------------------------------------------------------- a cost section


def resolve_side(pricing: SidePricing, mean_input_tokens: float | None, where: str) -> tuple[SidePricing, list[str]]:
    if pricing.self_hosted is not None:
        sh, notes = resolve_self_hosted(pricing.self_hosted, f"{where}.self_hosted")
        return pricing.model_copy(update={"self_hosted": sh}), notes
    assert pricing.api is not None
    api, notes = resolve_api(pricing.api, mean_input_tokens, f"{where}.api")
    return pricing.model_copy(update={"api": api}), notes


@dataclass
class ResolvedCost:
    cost: Cost  # every price filled in
    notes: dict[str, list[str]] = field(default_factory=dict)  # side → where its prices came from


def resolve_cost(cost: Cost, mean_input_tokens: dict[str, float | None]) -> ResolvedCost:
    """Fill in every price of a ``cost:`` section from the catalogues (explicit prices win)."""
    updates: dict[str, Any] = {}
    notes: dict[str, list[str]] = {}
    for side in ("baseline", "optimized"):
        pricing, side_notes = resolve_side(getattr(cost, side), mean_input_tokens.get(side), f"cost.{side}")
        updates[side] = pricing
        notes[side] = side_notes
    if cost.compare_api is not None:
        api, api_notes = resolve_api(cost.compare_api, mean_input_tokens.get("optimized"), "cost.compare_api")
        updates["compare_api"] = api
        notes["compare_api"] = api_notes
    return ResolvedCost(cost.model_copy(update=updates), notes)


# --------------------------------------------------------------------------- self-hosted vs API


@dataclass
class BreakEven:
    """Monthly volume above which the self-hosted deployment costs less than a hosted API model."""

    api_label: str
    api_usd_per_request: float
    self_hosted_usd_per_request: float  # at the planned utilisation, replicas fully used
    replica_usd_per_month: float  # F: one always-on replica
    requests_per_replica_month: float  # V₁
    break_even_requests_per_month: float | None  # V* = F / a; None: the API is cheaper at every volume
    always_cheaper_above_requests_per_month: float | None
    projected_requests_per_month: float
    cheaper_at_projected: str  # "self-hosted" / "api"
    text: str
    notes: list[str] = field(default_factory=list)


def self_hosted_month(volume: float, replica_usd_per_month: float, requests_per_replica_month: float) -> float:
    """Always-on replicas sized for ``volume`` requests per month (at least one)."""
    return max(1, math.ceil(volume / requests_per_replica_month - 1e-12)) * replica_usd_per_month


def break_even(api_usd_per_request: float, replica_usd_per_month: float, requests_per_replica_month: float,
               projected: float, api_label: str) -> BreakEven:
    a, F, V1 = api_usd_per_request, replica_usd_per_month, requests_per_replica_month
    s = F / V1
    vstar = F / a if a > 0 else math.inf
    self_proj = self_hosted_month(projected, F, V1)
    cheaper = "self-hosted" if self_proj < a * projected else "api"
    if vstar >= V1:
        text = (f"{api_label} stays cheaper at every volume: ${a:.6f} per request against ${s:.6f} for a fully "
                f"used self-hosted replica")
        return BreakEven(api_label, a, s, F, V1, None, None, projected, cheaper, text)
    kmax = math.ceil(V1 / (V1 - vstar) - 1e-12) - 1
    always = max(1, kmax) * vstar
    text = (f"Self-hosting becomes cheaper than {api_label} above {vstar:,.0f} requests per month "
            f"(one always-on replica ${F:,.0f}/month vs ${a:.6f} per request)")
    if always > vstar * (1 + 1e-9):
        text += f", and stays cheaper at every volume above {always:,.0f}"
    text += f"; at the projected {projected:,.0f} requests per month the {'self-hosted deployment' if cheaper == 'self-hosted' else 'API'} is cheaper"
    return BreakEven(api_label, a, s, F, V1, vstar, always, projected, cheaper, text)
