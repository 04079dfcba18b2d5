"""Write casegen/data/api_prices.json: a dated snapshot of the API prices in the `genai-prices` package.

Run it in a venv that has the pinned genai-prices release (never in casegen's own venv):

    python3 -m venv /tmp/gp && /tmp/gp/bin/pip install genai-prices==0.2.3
    /tmp/gp/bin/python tools/update_api_prices.py --date 2026-11-29

For each provider and model it keeps the standard (non-batch, default tier) per-token prices in force
on --date at 12:00 UTC (genai-prices' own ModelInfo.get_prices): USD per 1M input, cached input (cache read)
and output tokens, with tiers by prompt size where the provider has them. A model priced by time of day
(e.g. DeepSeek's off-peak discount) keeps its 12:00 UTC price and a note saying so.
Models without both an input and an output token price (embeddings, images, audio) are left out, and so
are the few with a fee per request or message (casegen prices tokens only).
The snapshot is committed, so casegen prices by name offline and the same case always gives the same
numbers; update it by rerunning this script with a newer genai-prices and committing the result.
genai-prices is MIT-licensed (Copyright (c) Pydantic Services Inc.); the snapshot carries that notice.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

from genai_prices import types as t
from genai_prices.data import providers

OUT = Path(__file__).resolve().parent.parent / "casegen" / "data" / "api_prices.json"
PER_REQUEST_FEES = ("requests_kcount", "input_text_messages_kcount")
KEYS = (("input_mtok", "input"), ("cache_read_mtok", "cached_input"), ("output_mtok", "output"))


def _num(d: Decimal | t.TieredPrices | None):
    if d is None:
        return None
    if isinstance(d, t.TieredPrices):
        return {"base": float(d.base), "tiers": [[tier.start, float(tier.price)] for tier in d.tiers]}
    return float(d)


def _aliases(clause) -> list[str]:
    if isinstance(clause, t.ClauseEquals):
        return [clause.equals]
    if isinstance(clause, t.ClauseOr):
        return [a for c in clause.or_ for a in _aliases(c)]
    return []


def _price_on(model: t.ModelInfo, when: dt.datetime):
    """The price genai-prices itself charges at ``when`` (standard tier, no batch)."""
    return model.get_prices(when)


def _time_of_day(model: t.ModelInfo) -> bool:
    return isinstance(model.prices, list) and any(isinstance(cp.constraint, t.TimeOfDateConstraint)
                                                  for cp in model.prices)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--date", required=True, help="snapshot date YYYY-MM-DD: prices in force that day")
    args = ap.parse_args()
    day = dt.date.fromisoformat(args.date)
    when = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.timezone.utc)
    out_providers = []
    for p in providers:
        models = []
        for m in p.models:
            price = _price_on(m, when)
            if price is None:
                continue
            row = {"id": m.id}
            for key, name in KEYS:
                v = _num(getattr(price, key, None))
                if v is not None:
                    row[name] = v
            if "input" not in row or "output" not in row:
                continue
            if any(getattr(price, k, None) for k in PER_REQUEST_FEES):
                continue  # a fee per request or message that casegen's per-token cost would leave out
            aliases = sorted({a for a in _aliases(m.match) if a != m.id})
            if aliases:
                row["aliases"] = aliases
            if m.name:
                row["name"] = m.name
            if _time_of_day(m):
                row["note"] = "price depends on the time of day; this is the price at 12:00 UTC"
            models.append(row)
        if models:
            out_providers.append({"id": p.id, "name": p.name, "pricing_urls": p.pricing_urls or [],
                                  "models": sorted(models, key=lambda r: r["id"])})
    doc = {
        "catalogue": "genai-prices",
        "version": version("genai-prices"),
        "date": day.isoformat(),
        "source": "https://github.com/pydantic/genai-prices (PyPI package genai-prices, file genai_prices/data.py)",
        "licence": "MIT License, Copyright (c) Pydantic Services Inc. 2025 to present. Permission is hereby granted, "
                   "free of charge, to any person obtaining a copy of this software and associated documentation "
                   "files, to deal in the Software without restriction, subject to including this copyright "
                   "notice and permission notice in all copies or substantial portions of the Software. "
                   "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.",
        "units": "USD per 1M tokens; tiers: [prompt tokens above which the tier price applies to all tokens, price]",
        "providers": sorted(out_providers, key=lambda p: p["id"]),
    }
    text = json.dumps(doc, indent=None, separators=(",", ":"), ensure_ascii=False, sort_keys=False)
    # one provider per line keeps diffs of price updates readable
    text = text.replace(',{"id":', ',\n{"id":').replace('"providers":[{', '"providers":[\n{')
    OUT.write_text(text + "\n", encoding="utf-8")
    n = sum(len(p["models"]) for p in out_providers)
    print(f"wrote {OUT} ({len(out_providers)} providers, {n} models, {OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
