"""Cheap wins: optimizations that change the workload on purpose (``optimization.kind``).

Prompt trimming, output capping, caching, streaming and model right-sizing each change what is sent
or served. The difference the kind intends (``registry.OPTIMIZATION_KINDS[kind].intended``) is not a
threat (``checks.compare_workloads`` skips it) but a measured finding, with its interval
(``docs/cheap-wins.md``):

* **input / output tokens**: the relative change of the mean tokens per request, ``d ± z·se`` with the
  delta-method standard error of ``checks.mean_equivalence`` (dependence-aware);
* **output cap** ``N`` (``optimization.output_cap_tokens``, else the longest optimized answer): the
  share of optimized answers that reached ``N`` (cut) and the share of baseline answers longer than
  ``N`` (what the cap cuts from the uncapped traffic), each with a Wilson interval;
* **streaming**: what the user waits for before seeing an answer — end-to-end latency on the side that
  does not stream, TTFT on the side that does — mean change with a normal interval, medians shown;
* **model**: the model each side served (no interval: it is a fact of the runs);
* **caching**: from the per-request cached-token counts (``casegen.analysis.cache``), each side's hit
  rate (share of requests with cached tokens, Wilson interval on the effective n) and cached share of
  prompt tokens, and the TTFT of hits vs misses (difference of means with its interval) — the intended
  difference, not a threat. Without cached counts (a tool that does not record them) no hit rate is
  claimed and the latency deltas are the cache's effect;
* **cost per request** follows the tokens actually sent and generated: at API prices
  ``(I·p_in + O·p_out)/1e6`` per request, its relative change with an interval from the per-request
  costs; self-hosted, the cost per request of the cost section (measured throughput, no interval).

Kinds that can change answers (trimming, capping, right-sizing) need a quality measurement
(``tradeoffs[].quality``: lm-eval files or typed-in scores); without one, "Quality not measured" is a
major threat, first in the list, so page 1 names it.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
from pydantic import Field

from casegen.analysis.cache import CacheSide, CacheStats, study_cache
from casegen.analysis.checks import Threat, mean_equivalence
from casegen.analysis.model import FigureModel
from casegen.registry import OPTIMIZATION_KINDS


class IntendedChange(FigureModel):
    """One intended difference, measured."""

    key: str = Field(description="input_tokens | output_tokens | output_cap | user_wait | model | cache_hit_rate | "
                                 "cache_hit_ttft | cost_per_request")
    title: str
    unit: str
    baseline: float | str | None
    optimized: float | str | None
    change_pct: float | None = None
    ci_pct: list[float] | None = Field(None, description="interval of change_pct at `confidence`")
    confidence: float | None = None
    detail: str
    claim: str


class CheapWin(FigureModel):
    """summary.json ``optimization``: the kind, what it intends, and the measured intended changes."""

    kind: str
    label: str
    intended: list[str] = Field(description="differences the kind intends (input, output, streaming, model)")
    changes: list[IntendedChange] = Field(default_factory=list)
    quality_needed: bool
    quality: str = Field(description="measured: a trade-off carries a quality measurement | not measured | not needed")
    quality_text: str
    notes: list[str] = Field(default_factory=list)
    cache: CacheStats | None = Field(None, description="prefix-cache hits per side (from per-request cached tokens)")


def _tokens(run: Any, col: str) -> np.ndarray:
    df = run.requests
    if df is None:
        return np.array([])
    ok = df[df["success"]]
    if ok.all_known("start_s"):
        ok = ok.sort_values("start_s")
    x = ok[col]
    return x[np.isfinite(x)]


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a share k/n."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def _rel_change(base: np.ndarray, opt: np.ndarray, confidence: float) -> tuple[float, list[float]] | None:
    """(change %, [low %, high %]) of the mean, delta method (checks.mean_equivalence's standard error)."""
    eq = mean_equivalence(base, opt, 0.05)
    if eq is None:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return eq.diff * 100, [(eq.diff - z * eq.se) * 100, (eq.diff + z * eq.se) * 100]


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:+.0f}%".replace("-", "−")


def _moved(pct: float) -> str:
    """'fell 40%', 'rose 12%', 'did not change': a change as a verb, for sentences."""
    if round(pct) == 0:
        return "did not change"
    return f"{'fell' if pct < 0 else 'rose'} {abs(pct):.0f}%"


def _ci_text(ci: list[float] | None, conf: float) -> str:
    return "" if not ci else f"{conf:.0%} CI {_pct(ci[0])} to {_pct(ci[1])}"


def _token_change(study: Any, what: str, conf: float) -> IntendedChange | None:
    col = f"{what}_tokens"
    xb, xo = _tokens(study.runs["baseline"], col), _tokens(study.runs["optimized"], col)
    if xb.size < 2 or xo.size < 2:
        mb, mo = study.metrics["baseline"].tokens.get(what), study.metrics["optimized"].tokens.get(what)
        if mb is None or mo is None or not mb.mean or mo.mean is None:
            return None
        pct = (mo.mean - mb.mean) / mb.mean * 100
        return IntendedChange(key=col, title=f"{what} tokens per request", unit="tokens", baseline=mb.mean,
                              optimized=mo.mean, change_pct=pct, detail=f"mean {mb.mean:,.0f} → {mo.mean:,.0f} (summary only, "
                              "no interval)", claim=f"{what.capitalize()} tokens per request {_moved(pct)} "
                              f"(mean {mb.mean:,.0f} → {mo.mean:,.0f}).")
    rc = _rel_change(xb, xo, conf)
    assert rc is not None
    pct, ci = rc
    values = f"mean {xb.mean():,.0f} → {xo.mean():,.0f} tokens"
    return IntendedChange(key=col, title=f"{what} tokens per request", unit="tokens", baseline=float(xb.mean()),
                          optimized=float(xo.mean()), change_pct=pct, ci_pct=ci, confidence=conf,
                          detail=f"{values}; {_ci_text(ci, conf)}",
                          claim=f"{what.capitalize()} tokens per request {_moved(pct)} ({values}, "
                                f"{_ci_text(ci, conf)}).")


def _output_cap(study: Any, conf: float) -> IntendedChange | None:
    xb, xo = _tokens(study.runs["baseline"], "output_tokens"), _tokens(study.runs["optimized"], "output_tokens")
    if xo.size == 0:
        return None
    stated = study.case.optimization.output_cap_tokens
    cap = float(stated) if stated is not None else float(xo.max())
    cut = int((xo >= cap).sum())
    lo, hi = wilson(cut, xo.size, conf)
    where = "optimization.output_cap_tokens" if stated is not None else "the longest optimized answer"
    detail = (f"cap {cap:,.0f} tokens ({where}); {cut:,} of {xo.size:,} answers reached it "
              f"({cut / xo.size:.0%}, {conf:.0%} CI {lo:.0%}–{hi:.0%})")
    claim = f"Output capped at {cap:,.0f} tokens: {cut / xo.size:.0%} of the answers were cut ({conf:.0%} CI {lo:.0%}–{hi:.0%})"
    if xb.size:
        longer = int((xb > cap).sum())
        blo, bhi = wilson(longer, xb.size, conf)
        detail += f"; without the cap {longer / xb.size:.0%} of answers ran longer ({blo:.0%}–{bhi:.0%})"
        claim += f"; without the cap {longer / xb.size:.0%} of answers ran longer than that"
    return IntendedChange(key="output_cap", title="answers cut by the cap", unit="share", baseline=cap,
                          optimized=cut / xo.size, ci_pct=[lo * 100, hi * 100], confidence=conf, detail=detail,
                          claim=claim + ".")


def _streams(run: Any, m: Any) -> bool | None:
    """The side streamed: its TTFT is not its end-to-end latency (the data wins over the file's flag, as in
    checks.realism_checks); None when unknown."""
    df = run.requests
    if df is not None:
        if m.latency_ms.get("ttft") is None:
            return False
        ok = df[df["success"]]
        if len(ok) > 1 and np.allclose(ok["ttft_s"], ok["e2e_s"]):
            return False
    return None if run.meta.streaming is None and df is None else run.meta.streaming is not False


def _user_wait(study: Any, conf: float) -> IntendedChange | None:
    from casegen.analysis.metrics import per_request_values
    from casegen.analysis.segments import mean_change

    sides = ("baseline", "optimized")
    streams = {s: _streams(study.runs[s], study.metrics[s]) for s in sides}
    if any(study.runs[s].summary_only for s in sides) or streams["baseline"] == streams["optimized"]:
        return None
    wait = {s: per_request_values(study.runs[s])["ttft" if streams[s] else "e2e"] for s in sides}
    if any(v.size < 2 for v in wait.values()):
        return None
    z = NormalDist().inv_cdf(0.5 + conf / 2)
    d, lo, hi = mean_change(wait["baseline"], wait["optimized"], z)
    mb = float(wait["baseline"].mean())
    pct, ci = d / mb * 100, [lo / mb * 100, hi / mb * 100]
    name = {s: ("TTFT (streaming)" if streams[s] else "end-to-end latency (no streaming)") for s in sides}
    p50 = {s: float(np.median(wait[s])) for s in sides}
    values = f"mean {mb:,.0f} → {wait['optimized'].mean():,.0f} ms, median {p50['baseline']:,.0f} → {p50['optimized']:,.0f} ms"
    return IntendedChange(key="user_wait", title="wait before the answer appears", unit="ms", baseline=mb,
                          optimized=float(wait["optimized"].mean()), change_pct=pct, ci_pct=ci, confidence=conf,
                          detail=f"{name['baseline']} → {name['optimized']}: {values}; {_ci_text(ci, conf)}",
                          claim=f"The user waits {_pct(pct)} before the answer starts to appear: {name['baseline']} on "
                                f"the baseline, {name['optimized']} after ({values}, {_ci_text(ci, conf)}).")


def _model(study: Any) -> IntendedChange:
    mb, mo = study.runs["baseline"].meta.model, study.runs["optimized"].meta.model
    same = (mb or "") == (mo or "")
    text = f"{mb or 'not recorded'} → {mo or 'not recorded'}"
    return IntendedChange(key="model", title="model", unit="name", baseline=mb, optimized=mo,
                          detail=text + ("; the runs record the same model name" if same and mb else ""),
                          claim=f"The model changed as intended ({text})." if not same else
                          f"Both runs record the model {mb or '(not recorded)'}: check that the right-sized model "
                          "really served the optimized side.")


def _cost_per_request(study: Any, conf: float) -> IntendedChange | None:
    c, cs = study.cost, study.case.cost
    if c is None or cs is None:
        return None
    b, o = c.baseline.usd_per_request, c.optimized.usd_per_request
    pct = (o - b) / b * 100 if b > 0 else None
    ci = None
    how = "at the measured throughput (self-hosted)"
    if c.baseline.kind == "api" and c.optimized.kind == "api":
        from casegen.case import prices

        mean_in = {s: (m.tokens["input"].mean if m.tokens.get("input") else None) for s, m in study.metrics.items()}
        resolved = prices.resolve_cost(cs, mean_in).cost
        per: dict[str, np.ndarray] = {}
        for side in ("baseline", "optimized"):
            p = getattr(resolved, side).api
            xi, xo = _tokens(study.runs[side], "input_tokens"), _tokens(study.runs[side], "output_tokens")
            if p is None or xi.size != xo.size or xi.size < 2:
                per = {}
                break
            cached = p.cached_input_usd_per_1m if p.cached_input_usd_per_1m is not None else p.input_usd_per_1m
            xc = _tokens(study.runs[side], "cached_tokens")
            if xc.size == xi.size:  # cached tokens recorded per request (as casegen.analysis.cost uses them)
                per[side] = ((xi - xc) * p.input_usd_per_1m + xc * cached + xo * p.output_usd_per_1m) / 1e6
            else:
                share = p.cached_input_share
                per[side] = (xi * ((1 - share) * p.input_usd_per_1m + share * cached) + xo * p.output_usd_per_1m) / 1e6
        if per:
            rc = _rel_change(per["baseline"], per["optimized"], conf)
            if rc is not None:
                ci = rc[1]
        how = "from the tokens sent and generated at the API's per-token prices"
    saving = b - o
    detail = f"${b:.6f} → ${o:.6f} per request {how}" + (f"; {_ci_text(ci, conf)}" if ci else "")
    word = "less" if saving > 0 else "more"
    return IntendedChange(key="cost_per_request", title="cost per request", unit="usd", baseline=b, optimized=o,
                          change_pct=pct, ci_pct=ci, confidence=conf if ci else None, detail=detail,
                          claim=f"Cost per request {_moved(pct) if pct is not None else 'changed'} (${b:.6f} → "
                                f"${o:.6f} {how}" + (f", {_ci_text(ci, conf)}" if ci else "") + f"): "
                                f"${abs(saving) * 1000:,.4f} {word} per 1,000 requests.")


def _share(v: float) -> str:
    return f"{v:.0%}"


def _hits_text(cs: CacheSide, conf: float) -> str:
    lo, hi = cs.hit_rate_ci
    text = (f"{_share(cs.hit_rate)} of requests hit the cache ({cs.hits:,} of {cs.requests:,}, {conf:.0%} CI "
            f"{_share(lo)}–{_share(hi)}), {_share(cs.cached_share)} of prompt tokens cached")
    if cs.cached_share_ci:
        text += f" ({_share(cs.cached_share_ci[0])}–{_share(cs.cached_share_ci[1])})"
    return text


def _cache_changes(study: Any, cache: CacheStats) -> list[IntendedChange]:
    """The caching kind's intended changes: the hit rate (the optimized side's, beside the baseline's) and the
    TTFT of hits vs misses on the optimized side."""
    conf = cache.confidence
    lb, lo = study.label("baseline"), study.label("optimized")
    b, o = cache.baseline, cache.optimized
    out: list[IntendedChange] = []
    if o is not None:
        before = (f"; {lb}: {b.hits:,} of {b.requests:,} ({_share(b.hit_rate)})" if b is not None
                  else f"; {lb}: cached tokens not recorded")
        lo_, hi_ = o.hit_rate_ci
        short = (f"{o.hits:,} of {o.requests:,} requests ({conf:.0%} CI {_share(lo_)}–{_share(hi_)}), "
                 f"{_share(o.cached_share)} of prompt tokens cached")
        out.append(IntendedChange(
            key="cache_hit_rate", title="requests served from the cache", unit="share",
            baseline=b.hit_rate if b is not None else None, optimized=o.hit_rate,
            ci_pct=[o.hit_rate_ci[0] * 100, o.hit_rate_ci[1] * 100], confidence=conf,
            detail=f"{lo}: {short}{before}",
            claim=f"{_hits_text(o, conf)}" + (
                f" (before: {_share(b.hit_rate)} of requests)" if b is not None else "") + "."))
    side = o if o is not None and o.ttft_hit_minus_miss_ms is not None else None
    if side is not None and side.ttft_miss_mean_ms and side.ttft_hit_minus_miss_ci_ms is not None:
        d, (dlo, dhi), miss = side.ttft_hit_minus_miss_ms, side.ttft_hit_minus_miss_ci_ms, side.ttft_miss_mean_ms
        assert d is not None and side.ttft_hit_mean_ms is not None
        pct, ci = d / miss * 100, [dlo / miss * 100, dhi / miss * 100]
        values = (f"mean {miss:,.0f} ms (miss) → {side.ttft_hit_mean_ms:,.0f} ms (hit), median "
                  f"{side.ttft_miss_p50_ms:,.0f} → {side.ttft_hit_p50_ms:,.0f} ms; difference {d:+,.0f} ms, {conf:.0%} CI "
                  f"{dlo:+,.0f} to {dhi:+,.0f} ms").replace("+-", "−").replace("-", "−")
        prompts = ""
        if side.mean_prompt_tokens_hit is not None and side.mean_prompt_tokens_miss is not None:
            prompts = (f"; mean prompt {side.mean_prompt_tokens_miss:,.0f} (miss) vs {side.mean_prompt_tokens_hit:,.0f} "
                       f"(hit) tokens, {side.mean_cached_tokens_per_hit:,.0f} of them cached per hit")
        out.append(IntendedChange(
            key="cache_hit_ttft", title="TTFT of cache hits vs misses", unit="ms", baseline=miss,
            optimized=side.ttft_hit_mean_ms, change_pct=pct, ci_pct=ci, confidence=conf,
            detail=f"{lo}: {values}{prompts}",
            claim=f"On {lo}, the first token of a cache hit came {abs(pct):.0f}% {'sooner' if d < 0 else 'later'} "
                  f"than a miss's ({values})."))
    return out


def _quality(study: Any) -> tuple[str, str]:
    from casegen.analysis.quality import one_line

    for i, t in enumerate(study.case.tradeoffs):
        if i in study.quality:
            return "measured", f"{t.technique}: {one_line(study.quality[i])}"
        q = t.quality
        if q is not None and q.baseline is not None and q.optimized is not None:
            loss = (q.baseline - q.optimized) if q.higher_is_better is not False else (q.optimized - q.baseline)
            ok = "within" if loss <= q.tolerance + 1e-12 else "outside"
            return "measured", (f"{t.technique}: {q.metric} {q.baseline:g} → {q.optimized:g}, {ok} the agreed tolerance "
                                f"({q.tolerance:g})")
    return "not measured", "no quality measurement compares the two sides"


def kind_threats(case: Any, threats: list[Threat]) -> list[Threat]:
    """The threats of a case's kind: intended streaming differences dropped, and "Quality not measured"
    first when the kind (or a trade-off marked ``changes_answers``) can change answers and no trade-off
    measures quality."""
    kind = OPTIMIZATION_KINDS[case.optimization.kind]
    out = list(threats)
    if "streaming" in kind.intended:
        out = [t for t in out if t.key != "non-streaming-ttft"]
    measured = any(t.quality is not None for t in case.tradeoffs)
    risky = [t.technique for t in case.tradeoffs if t.changes_answers]
    if (kind.quality_risk or risky) and not measured:
        what = kind.label if kind.quality_risk else " and ".join(risky)
        out.insert(0, Threat("quality-not-measured", "major", "Quality not measured",
                             f"{what} can change the answers, and nothing in the case compares answer quality "
                             "on the two sides: the saving may be paid for in quality",
                             "add tradeoffs[].quality with lm-eval result files (lm_eval: {baseline, optimized}) or "
                             "typed-in scores and a tolerance"))
    return out


def cheap_win(study: Any) -> CheapWin | None:
    """The intended changes of a cheap-win case, measured (None for optimization.kind 'serving')."""
    kind = OPTIMIZATION_KINDS[study.case.optimization.kind]
    if kind.key == "serving":
        return None
    conf = study.case.analysis.confidence
    changes: list[IntendedChange | None] = []
    notes: list[str] = []
    if "input" in kind.intended:
        changes.append(_token_change(study, "input", conf))
    if "output" in kind.intended:
        changes.append(_token_change(study, "output", conf))
        changes.append(_output_cap(study, conf))
    if "streaming" in kind.intended:
        w = _user_wait(study, conf)
        if w is None:
            notes.append("optimization.kind is streaming, but the runs do not show one side streaming and the other "
                         "not (or lack per-request data): no user-wait comparison")
        changes.append(w)
    if "model" in kind.intended:
        changes.append(_model(study))
    cache = study_cache(study) if kind.key == "caching" else None
    if kind.key == "caching":
        if cache is None:
            notes.append("The benchmark files do not record which requests hit the cache (no per-request cached "
                         "tokens), so no hit rate (or latency of hits vs misses) is claimed; the latency deltas are "
                         "the cache's effect on this workload.")
        else:
            changes += _cache_changes(study, cache)
    changes.append(_cost_per_request(study, conf))
    quality, text = _quality(study) if kind.quality_risk else ("not needed", f"{kind.label} does not change the answers")
    return CheapWin(kind=kind.key, label=kind.label, intended=list(kind.intended),
                    changes=[c for c in changes if c is not None], quality_needed=kind.quality_risk,
                    quality=quality, quality_text=text, notes=notes, cache=cache)
