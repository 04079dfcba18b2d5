"""Plain-text lines the command line prints (kept here so ``cli.py`` stays a thin layer).

Results go to standard output, diagnostics (notes, warnings, threats) to standard error;
the functions here only build the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def request_counts(requests: dict[str, Any]) -> str:
    """'128 sent, 42 succeeded, 86 failed'; a count the tool did not report reads 'not reported'."""
    parts = []
    for key, word in (("total", "sent"), ("succeeded", "succeeded"), ("failed", "failed")):
        v = requests.get(key)
        parts.append(f"{v:,} {word}" if v is not None else f"{word}: not reported")
    return ", ".join(parts)


def validate_lines(study: Any) -> list[str]:
    """One line per side for ``casegen validate``: label, file, format, data kind and request counts."""
    out = []
    for side in ("baseline", "optimized"):
        run, m = study.runs[side], study.metrics[side]
        kind = "per-request" if m.source == "per-request" else "summary only"
        out.append(f"{study.label(side)} ({side}): {Path(run.meta.source).name}  [{run.meta.format}, {kind}]  "
                   f"{request_counts(m.requests)}")
    return out


def threat_lines(threats: list[Any]) -> list[str]:
    """Each threat to validity once: its title, the sides it concerns and the reason when it is major,
    then (indented) what the case author can do about it."""
    grouped: dict[str, list[Any]] = {}
    for t in threats:
        grouped.setdefault(t.key, []).append(t)
    out = []
    for group in grouped.values():
        first = group[0]
        sides = [t.side for t in group if t.side]
        where = f" ({', '.join(dict.fromkeys(sides))})" if sides else ""
        reason = f": {first.reason}" if first.severity == "major" else ""
        out.append(f"warning: {first.title}{where}{reason}")
        if first.fix:
            out.append(f"  to fix: {first.fix}")
    return out
