"""Number formatting for every output: one formatter per unit, used by the HTML, PDF, Markdown,
summary texts, the CLI and charts' labels.

Rules (one place, so "12.3 ms" is written the same everywhere):

* a missing or non-finite value is "—";
* negative numbers use the minus sign "−" (U+2212), not a hyphen;
* a *change* carries an explicit sign (``+`` / ``−``); a change that rounds to zero at the shown
  precision is written without a sign ("0.0%", never "+0.00%" next to "−0.00%");
* thousands are separated with commas;
* money by magnitude: whole dollars from $1,000, cents from $1, three significant digits below $1
  ($0.229, $0.000254, $0.00000712 — never a rounded-away "$0.000007");
* throughputs and other measured quantities have three significant digits (92.4 req/s, 169 req/s,
  6,040 tok/s) and no trailing zeros added by a fixed number of decimals;
* a limit someone set (an SLO threshold) is written as it was set: "20 ms", "1.5 s";
* run dates read as dates: "2025-03-25 23:01:32", not "20250325-230132".

The full list, with examples, is docs/number-formats.md.

``fmt(value, unit)`` dispatches on a unit name from :mod:`casegen.registry` (``ms``, ``req/s``,
``tok/s``, ``usd``, ``pct``, ``share``, ``ratio``, ``tokens``, ``count``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Callable

MINUS = "−"


def _missing(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def _minus(s: str) -> str:
    return s.replace("-", MINUS)


def fmt_ms(v: float | None) -> str:
    """Milliseconds for humans: 0.85 ms, 12.3 ms, 845 ms, 2.41 s, 12.4 s."""
    if _missing(v):
        return "—"
    assert v is not None
    a = abs(v)
    if a >= 10_000:
        s = f"{v / 1000:,.1f} s"
    elif a >= 1000:
        s = f"{v / 1000:,.2f} s"
    elif a >= 100:
        s = f"{v:,.0f} ms"
    elif a >= 10:
        s = f"{v:,.1f} ms"
    else:
        s = f"{v:,.2f} ms"
    return _minus(s)


def _sign(v: float) -> str:
    return "+" if v > 0 else MINUS if v < 0 else "±"


def fmt_ms_signed(v: float | None) -> str:
    """A change in milliseconds with an explicit sign: +1.20 ms, −583 ms."""
    if _missing(v):
        return "—"
    assert v is not None
    return _sign(v) + fmt_ms(abs(v))


def fmt_pct(v: float | None, signed: bool = True, digits: int = 1) -> str:
    """A percentage: +12.3% (a change) or 12.3% (``signed=False``)."""
    if _missing(v):
        return "—"
    assert v is not None
    if round(v, digits) == 0:
        return f"{0:.{digits}f}%"
    s = f"{v:+,.{digits}f}%" if signed else f"{v:,.{digits}f}%"
    return _minus(s)


#: How a figure known only as a bound is written before its number ("≤ $4.21", "≥ 1.53×").
BOUND_SIGN = {"at_most": "≤ ", "at_least": "≥ "}


_SHOWN_NUMBER = re.compile(r"(\d[\d,]*)(?:\.(\d+))?")


def directed(format_: Callable[[float], str], v: float, kind: str, finer: bool = False) -> str:
    """``format_(v)`` for a value known as a bound, rounded in the direction that keeps the bound true:
    a lower bound ('at_least': the truth is ≥ v) down, an upper bound ('at_most') up — "≥ $21" for
    $21.58, never "≥ $22". A point (any other ``kind``) rounds to nearest as ``format_`` does.

    ``finer``: where rounding the other way would change the figure shown, show one more decimal
    instead ("≥ 10.17 req/s", not "≥ 10.1" beside the "10.2" a table prints for the same 10.17
    measured), so a bound and the same figure as a point never read as two values."""
    shown_text = format_(v)
    if kind not in ("at_least", "at_most") or _missing(v):
        return shown_text
    m = _SHOWN_NUMBER.search(shown_text)
    if m is None:
        return shown_text
    decimals = len(m.group(2) or "")
    shown = float(m.group(1).replace(",", "") + (f".{m.group(2)}" if decimals else ""))
    if MINUS in shown_text[:m.start()] or "-" in shown_text[:m.start()]:
        shown = -shown
    tol = 1e-9 * max(1.0, abs(v))
    ulp = 10.0 ** -decimals
    wrong = (kind == "at_least" and shown > v + tol) or (kind == "at_most" and shown < v - tol)
    if not wrong:
        return shown_text
    if finer:
        step = ulp / 10
        rounded = (math.floor(v / step + 1e-9) if kind == "at_least" else math.ceil(v / step - 1e-9)) * step
        return shown_text[:m.start()] + f"{abs(rounded):,.{decimals + 1}f}" + shown_text[m.end():]
    if kind == "at_least":
        return format_(math.floor(v / ulp + 1e-9) * ulp)
    return format_(math.ceil(v / ulp - 1e-9) * ulp)


def opposite_bound(kind: str) -> str:
    """'at_least' ↔ 'at_most'; any other kind ('point', 'unknown') as it is. A quantity that falls as
    another rises is bounded the other way (payback = one-time cost ÷ saving; a change = −saving)."""
    return {"at_least": "at_most", "at_most": "at_least"}.get(kind, kind)


def fmt_usd_bound(v: float, kind: str, digits: int | None = None) -> str:
    """:func:`fmt_usd` of a figure known as ``kind``, rounded to keep the bound true (no sign)."""
    return directed(lambda x: fmt_usd(x, digits), v, kind)


def fmt_months_bound(v: float, kind: str) -> str:
    """Months to one decimal, a bound rounded to keep it true ('within 12.81' → '12.9')."""
    return directed(lambda x: f"{x:.1f}", v, kind)


def fmt_pct_bound(kind: str, v: float | None, digits: int = 1) -> str:
    """A relative change known as a point or a bound, in words a reader does not have to negate:
    ``kind`` 'at_most' (change ≤ v) with v = −24.9 → '≥ 24.9% lower'; 'at_least' with +10 → '≥ 10.0%
    higher'; 'point' → '−24.9%'."""
    if kind not in BOUND_SIGN or _missing(v):
        return fmt_pct(v, digits=digits)
    assert v is not None
    # the size of the fall (or rise) is itself a bound, rounded the way that keeps it true
    def size(k: str) -> str:
        return directed(lambda x: fmt_pct(x, signed=False, digits=digits), abs(v), k)
    if v < 0:  # a fall: 'at most −25 %' is a fall of at least 25 %
        return f"≥ {size('at_least')} lower" if kind == "at_most" else f"≤ {size('at_most')} lower"
    return f"≤ {size('at_most')} higher" if kind == "at_most" else f"≥ {size('at_least')} higher"


def fmt_usd(v: float | None, digits: int | None = None) -> str:
    """US dollars, digits by magnitude unless given: $13,096, $4.21, $0.0123, −$120."""
    if _missing(v):
        return "—"
    assert v is not None
    if digits is None:
        a = abs(v)
        # whole dollars from $1,000, cents from $1, three significant digits below $1
        digits = 0 if a >= 1000 else 2 if a >= 1 else (2 - math.floor(math.log10(a)) if a > 0 else 2)
    s = f"${abs(v):,.{digits}f}"
    return (MINUS + s) if v < 0 and round(abs(v), digits) != 0 else s


#: Monthly money of at least this much is printed in whole dollars; less keeps its cents ("$21.58",
#: so that "≥ $21.58 → ≤ $18.21" reads as the "at least $3.37" saving printed beside it).
WHOLE_DOLLARS_FROM_USD = 100.0


def money_digits(v: float) -> int:
    """Decimals of a monthly or one-time amount: 0 from $100 (:data:`WHOLE_DOLLARS_FROM_USD`), else 2."""
    return 0 if abs(v) >= WHOLE_DOLLARS_FROM_USD else 2


def fmt_usd_money(v: float | None, kind: str = "point") -> str:
    """A monthly or one-time amount ('$4,202', '$21.58'), a bound rounded to keep it true (no sign)."""
    if v is None or _missing(v):
        return "—"
    return fmt_usd_bound(v, kind, money_digits(v))


def usd_difference_shown(a_usd: float, b_usd: float, a_bound: str = "point", b_bound: str = "point") -> float:
    """a − b as a reader computes it from the two figures printed: monthly money of $100 or more a side
    is printed in whole dollars, so the difference is of the whole-dollar figures ("$1,493 − $1,019 =
    $474", not the $475 of the unrounded $1,493.49 − $1,018.87); smaller amounts exactly. A figure known
    as a bound is printed rounded the way that keeps it true (:func:`directed`: "≥ $3,206" for $3,206.6)."""
    def shown(v: float, bound: str) -> float:
        return float(math.floor(v + 1e-9) if bound == "at_least" else math.ceil(v - 1e-9) if bound == "at_most"
                     else round(v))
    if min(abs(a_usd), abs(b_usd)) >= WHOLE_DOLLARS_FROM_USD:
        return shown(a_usd, a_bound) - shown(b_usd, b_bound)
    return a_usd - b_usd


def fmt_num(v: float | None, digits: int = 2) -> str:
    """A plain number; integers (and whole values ≥ 100) without decimals."""
    if _missing(v):
        return "—"
    assert v is not None
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 100):
        return _minus(f"{int(v):,}")
    return _minus(f"{v:,.{digits}f}")


def fmt_num_signed(v: float | None, digits: int = 2) -> str:
    if _missing(v):
        return "—"
    assert v is not None
    return _sign(v) + fmt_num(abs(v), digits)


def fmt_share(v: float | None) -> str:
    """A fraction 0–1 as a percentage without sign: 0.853 → 85.3%."""
    return "—" if v is None or _missing(v) else f"{v * 100:.1f}%"


def fmt_rate(v: float | None, unit: str = "req/s") -> str:
    """A throughput: 2.31 req/s, 41.2 req/s, 1,204 tok/s (3 significant figures below 100); the bare
    number when ``unit`` is empty."""
    if _missing(v):
        return "—"
    assert v is not None
    a = abs(v)
    s = f"{v:,.0f}" if a >= 100 else f"{v:,.1f}" if a >= 10 else f"{v:,.2f}"
    return _minus(s) + (f" {unit}" if unit else "")


def fmt_sig3(v: float | None) -> str:
    """A measured quantity with three significant digits and thousands separators, no unit:
    0.123, 5.45, 92.4, 927, 6,040."""
    if _missing(v):
        return "—"
    assert v is not None
    a = abs(v)
    if a >= 100 or a == 0:
        s = f"{v:,.0f}"
    else:
        s = f"{v:,.{2 - math.floor(math.log10(a))}f}"
    return _minus(s)


def fmt_sig(v: float | None, digits: int = 3) -> str:
    """A measured quantity with ``digits`` significant digits (at least whole units), thousands
    separated: fmt_sig(1301.981, 4) → '1,302', fmt_sig(10.172, 4) → '10.17'. Parity tables use four,
    so that two figures 1% apart read apart."""
    if _missing(v):
        return "—"
    assert v is not None
    a = abs(v)
    decimals = 0 if a == 0 else max(0, digits - 1 - math.floor(math.log10(a)))
    return _minus(f"{v:,.{decimals}f}")


def fmt_sig3_signed(v: float | None) -> str:
    """A change of a measured quantity: +1.54, −261, 0 when it rounds to zero."""
    if _missing(v):
        return "—"
    assert v is not None
    text = fmt_sig3(abs(v))
    return text if float(text.replace(",", "")) == 0 else _sign(v) + text


def fmt_ms_limit(v: float | None) -> str:
    """A limit someone set, written as set: 20 ms, 200 ms, 1.5 s (no added decimals)."""
    if _missing(v):
        return "—"
    assert v is not None
    return _minus(f"{v / 1000:,g} s" if abs(v) >= 1000 else f"{v:,g} ms")


def fmt_ticks(values: list[float], per_tick: bool = False) -> list[str]:
    """Axis tick labels without unit: the fewest decimals that show every tick exactly, the same
    for every tick ("0, 25, 50", "0.5, 1.0, 1.5"), or each tick's own fewest (``per_tick``, for log
    axes: "0.05, 0.1, 0.2, 0.5, 1, 2"); thousands separated, minus sign."""

    def digits(vs: list[float]) -> int:
        return next((d for d in range(4) if all(abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v)) for v in vs)), 3)

    if per_tick:
        return [_minus(f"{v:,.{digits([v])}f}") for v in values]
    d = digits(values)
    return [_minus(f"{v:,.{d}f}") for v in values]


def fmt_date(d: "dt.date | str | None") -> str:
    """A calendar date as people read it, the one date style of every output: 'March 27, 2025'
    (summary.json keeps ISO 8601)."""
    if d is None or d == "":
        return "—"
    if isinstance(d, str):
        try:
            day = dt.date.fromisoformat(d[:10])
        except ValueError:
            return d
    else:
        day = d
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def fmt_link(url: str) -> str:
    """An address as printed text: without the scheme and a trailing slash ('alex.example.com/cv')."""
    return re.sub(r"^(?:https?://|mailto:)", "", url or "").rstrip("/")


def fmt_month(d: "dt.date") -> str:
    """A month: 'December 2026'."""
    return f"{d.strftime('%B')} {d.year}"


_RUN_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:[-_T ]?(\d{2}):?(\d{2})(?::?(\d{2}))?(?:\.\d+)?)?"
                       r"\s*(Z|[+-]00:?00|UTC)?")


def fmt_run_date(text: str | None) -> str:
    """A tool's run date or run id in the report's date style, with the time as recorded:
    '20250325-230132' → 'March 25, 2025, 23:01:32'; '2026-12-07T10:04:05Z' → 'December 7, 2026,
    10:04:05 UTC'; anything else as written."""
    if not text:
        return "—"
    m = _RUN_DATE.fullmatch(text.strip())
    if not m:
        return text
    y, mo, d, h, mi, sec, utc = m.groups()
    try:
        day = dt.date(int(y), int(mo), int(d))
    except ValueError:
        return text
    out = fmt_date(day)
    if h is not None:
        out += f", {h}:{mi}" + (f":{sec}" if sec else "") + (" UTC" if utc else "")
    return out


def fmt_load_value(v: float) -> str:
    """An offered load's number, as the load generator was set: '1', '4', '10', '31.4', '43.3',
    '1,200' (three significant digits at most; no added decimals); '∞' for an unbounded rate."""
    if not math.isfinite(v):
        return "∞"
    if abs(v) >= 100:
        return _minus(f"{v:,.0f}")
    return _minus(f"{float(f'{v:.3g}'):g}")


def fmt_load(v: float | None, kind: str, short: bool = False) -> str:
    """An offered load, one style everywhere: 'rate 10 req/s', 'rate unbounded', 'concurrency 8';
    ``short`` (chart labels): '10', '∞', 'c8'. ``kind`` is 'rate' or 'concurrency'."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if kind == "rate":
        if short:
            return fmt_load_value(v)
        return "rate unbounded" if not math.isfinite(v) else f"rate {fmt_load_value(v)} req/s"
    return f"c{fmt_load_value(v)}" if short else f"concurrency {fmt_load_value(v)}"


def fmt_independent(n_eff: float) -> str:
    """How many independent requests dependent ones are worth, in words that follow "are worth": '37
    independent requests', 'a single independent request', 'less than one independent request' (never
    '0 independent requests')."""
    if _missing(n_eff):
        return "an unknown number of independent requests"
    if n_eff < 0.5:
        return "less than one independent request"
    n = max(1, round(n_eff))
    return "a single independent request" if n == 1 else f"{n:,} independent requests"


def fmt_rps(v: float | None) -> str:
    return fmt_rate(v, "req/s")


def fmt_tps(v: float | None) -> str:
    return fmt_rate(v, "tok/s")


def fmt_ratio(v: float | None) -> str:
    """A ratio of two positive quantities: 1.83×."""
    return "—" if _missing(v) else f"{v:,.2f}×"


def fmt_ratio_range(low: float, high: float) -> str:
    """A range of ratios, each end rounded the way that keeps the range true (wider, never narrower):
    '1.66–1.89×'."""
    return f"{directed(fmt_ratio, low, 'at_least').rstrip('×')}–{directed(fmt_ratio, high, 'at_most')}"


def fmt_tokens(v: float | None) -> str:
    return "—" if _missing(v) else f"{v:,.0f} tokens"


def fmt_count(v: float | None) -> str:
    return "—" if v is None or _missing(v) else f"{int(v):,}"


FORMATTERS: dict[str, Callable[[float | None], str]] = {
    "ms": fmt_ms,
    "req/s": fmt_rps,
    "tok/s": fmt_tps,
    "usd": fmt_usd,
    "pct": fmt_pct,
    "share": fmt_share,
    "ratio": fmt_ratio,
    "tokens": fmt_tokens,
    "count": fmt_count,
}


def fmt(v: float | None, unit: str) -> str:
    """Format ``v`` in ``unit`` (a key of :data:`FORMATTERS`)."""
    try:
        return FORMATTERS[unit](v)
    except KeyError:
        raise ValueError(f"no formatter for unit {unit!r}") from None


def fmt_change(v: float | None, unit: str) -> str:
    """A signed change in ``unit``: +3.1 ms, −0.42 req/s, +$120."""
    if _missing(v):
        return "—"
    assert v is not None
    if unit == "pct":
        return fmt_pct(v)
    return _sign(v) + fmt(abs(v), unit)


def fmt_bound(kind: str, value: float | None, unit: str = "req/s", upper: float | None = None) -> str:
    """A quantity known only as a bound, as a bound: "≥ 92 req/s", "< 0.45 req/s",
    "between 91 and 101 req/s", or the value itself when it is a point (``point``/``interpolated``)."""
    if _missing(value):
        return "unknown"
    assert value is not None
    if kind in ("at_least", "at_most"):
        return BOUND_SIGN[kind] + directed(lambda x: fmt(x, unit), value, kind, finer=True)
    if kind == "below":
        return f"< {directed(lambda x: fmt(x, unit), value, 'at_most', finer=True)}"
    if kind == "between":
        assert upper is not None
        return f"between {fmt(value, unit).rsplit(' ', 1)[0]} and {fmt(upper, unit)}"
    return fmt(value, unit)


__all__ = [name for name in dir() if name.startswith("fmt")] + ["FORMATTERS", "MINUS", "directed", "opposite_bound"]


#: Units that must not be separated from their number at a line break in the HTML report.
_UNIT_WORDS = r"(?:ms|s|req/s|tok/s|tokens/s|months?|GiB|MiB|KiB|GB|MB|h|days?|pp)"
_NUMBER_UNIT = re.compile(r"(\d) (?=" + _UNIT_WORDS + r"(?![\w/]))")
_RAW_ELEMENTS = re.compile(r"(<(style|script|svg|pre|code|textarea)\b.*?</\2>|<[^>]*>)", re.DOTALL | re.IGNORECASE)
#: A bound or comparison sign and the figure after it ("≤ 5.6 months", "&lt; 0.45 req/s", "≈ 2×").
_SIGN_NUMBER = re.compile(r"([≤≥≈×]|&lt;|&gt;) (?=[−\-+$\d])")
#: A rate unit's slash is a line-break opportunity ("req/" at a line end, "s" on the next): a word joiner.
_PER_UNIT = re.compile(r"\b(req|tok|tokens|requests)/(?=s\b)")


def _keep_together(text: str, join_rates: bool) -> str:
    text = _SIGN_NUMBER.sub("\\1\u00a0", _NUMBER_UNIT.sub("\\1\u00a0", text))
    return _PER_UNIT.sub("\\1/\u2060", text) if join_rates else text


def keep_units_together(html: str, join_rates: bool = False) -> str:
    """``html`` with a no-break space between a number and its unit ("3.6\u00a0months",
    "72.0\u00a0ms") and after a bound sign ("≤\u00a05.6 months") in text, so a line never ends on
    the number or the sign; with ``join_rates`` (print) also a word joiner in "req/s", whose slash
    is otherwise a break opportunity. Tags, attributes, styles, scripts, charts and code are left
    as they are."""
    out = []
    pos = 0
    for m in _RAW_ELEMENTS.finditer(html):
        out.append(_keep_together(html[pos:m.start()], join_rates))
        out.append(m.group(0))
        pos = m.end()
    out.append(_keep_together(html[pos:], join_rates))
    return "".join(out)
