"""Pick one run out of a file or directory that holds several.

One selector syntax for every format, in ``case.yaml`` and on the command line:

* an integer, or ``index=N`` — the N-th run (0-based) in the order listed by
  ``casegen inspect``;
* ``key=value`` pairs separated by commas — ``rate=10``,
  ``concurrency=16``, ``label=kvcache``, or any metadata key the run carries
  (e.g. ``deployment=kvcache,rate=30``). Numbers compare numerically
  (``rate=inf`` matches an unbounded rate); text compares exactly.

An empty selector is fine for a file with one run; for several it is an error
that lists the runs available, and so is a selector that matches none or more
than one.
"""

from __future__ import annotations

import math
from typing import Any

from casegen.errors import CasegenError
from casegen.runs.model import Run

ALIASES = {"request_rate": "rate", "max_concurrency": "concurrency", "i": "index"}


def parse_selector(selector: Any) -> dict[str, Any]:
    """Normalise a selector (None, int, 'k=v,k=v' text or mapping) to a dict."""
    if selector is None or selector == "":
        return {}
    if isinstance(selector, bool):
        raise CasegenError(f"run selector {selector!r} is not valid", expected="an index or key=value pairs")
    if isinstance(selector, int):
        return {"index": selector}
    if isinstance(selector, dict):
        return {ALIASES.get(str(k), str(k)): v for k, v in selector.items()}
    text = str(selector).strip()
    if text.lstrip("-").isdigit():
        return {"index": int(text)}
    out: dict[str, Any] = {}
    for part in text.split(","):
        if "=" not in part:
            raise CasegenError(
                f"run selector part '{part.strip()}' has no '='",
                expected="an index (e.g. 2) or key=value pairs (e.g. rate=10,concurrency=16)",
            )
        key, value = part.split("=", 1)
        key = ALIASES.get(key.strip(), key.strip())
        out[key] = value.strip()
    return out


def _matches(actual: Any, wanted: Any) -> bool:
    if actual is None:
        return False
    try:
        a = float(actual)
        w = float(wanted) if not (isinstance(wanted, str) and wanted.lower() in ("inf", "infinity")) else math.inf
        return a == w or (not math.isinf(a) and math.isclose(a, w, rel_tol=1e-9))
    except (TypeError, ValueError):
        return str(actual) == str(wanted)


def describe_runs(runs: list[Run]) -> str:
    """One line per run with the values a selector can use."""
    lines = []
    for run in runs:
        vals = run.meta.selector_values()
        shown = ", ".join(
            f"{k}={_fmt(v)}" for k, v in vals.items() if v is not None and k not in ("index",)
        )
        lines.append(f"  index={run.meta.index}: {shown}" + (" (summary only)" if run.summary_only else ""))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:g}"
    return str(v)


def filter_runs(runs: list[Run], selector: Any) -> list[Run]:
    """Every run whose selector values match all of ``selector``'s keys (all runs if it is empty)."""
    wanted = parse_selector(selector)
    return [r for r in runs
            if all(k in (vals := r.meta.selector_values()) and _matches(vals[k], v) for k, v in wanted.items())]


class SelectorError(CasegenError):
    """A file's runs and a selector do not pick exactly one run (the caller knows where the selector is set)."""


def select_run(runs: list[Run], selector: Any, *, source: str, option: str | None = None) -> Run:
    """Return the single run that ``selector`` picks; clear error otherwise. ``option`` names the
    command-line option that sets the selector (e.g. ``--select-a``); without it, hints name
    case.yaml's ``select:``."""
    wanted = parse_selector(selector)
    if not wanted:
        if len(runs) == 1:
            return runs[0]
        raise SelectorError(
            f"holds {len(runs)} runs; say which one with a selector\n" + describe_runs(runs),
            file=source, expected=(f"{option} <index> or {option} key=value pairs, e.g. {option} rate=10" if option
                                   else "select: <index> or key=value pairs, e.g. select: rate=10"),
        )
    matching = filter_runs(runs, wanted)
    text = ",".join(f"{k}={_fmt(v)}" for k, v in wanted.items())
    if not matching:
        raise SelectorError(
            f"no run matches selector '{text}'; runs available:\n" + describe_runs(runs),
            file=source, expected=f"{f'a {option} value' if option else 'a selector'} that matches exactly one run",
        )
    if len(matching) > 1:
        raise SelectorError(
            f"selector '{text}' matches {len(matching)} runs; add a key to tell them apart:\n"
            + describe_runs(matching),
            file=source, expected=f"{f'a {option} value' if option else 'a selector'} that matches exactly one run",
        )
    return matching[0]
