"""Plain-text lines the command line prints (kept here so ``cli.py`` stays a thin layer).

Results go to standard output, diagnostics (notes, warnings, threats) to standard error;
the functions here only build the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from casegen.story.threats import group_reasons, threat_reason


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


def threat_lines(threats: list[Any], accepted: dict[str, str] | None = None) -> list[str]:
    """Each threat to validity once: its title, the sides it concerns and the reason when it is major,
    then (indented) what the case author can do about it, or the reason the author gave for accepting
    it (``accept:`` in case.yaml); last, accepted keys no threat matched."""
    accepted = accepted or {}
    grouped: dict[str, list[Any]] = {}
    for t in threats:
        grouped.setdefault(t.key, []).append(t)
    out = []
    for key, group in grouped.items():
        first = group[0]
        sides = [t.side for t in group if t.side]
        where = f" ({', '.join(dict.fromkeys(sides))})" if sides else ""
        if key in accepted:
            out.append(f"acknowledged: {first.title}{where} [{key}] (accept: in case.yaml)")
            continue
        reason = f": {threat_reason(first)}" if first.severity == "major" else ""
        out.append(f"warning: {first.title}{where}{reason}")
        if first.fix:
            out.append(f"  to fix: {first.fix}")
    open_keys = [k for k in grouped if k not in accepted]
    if open_keys:
        out.append("note: a threat that does not undermine this comparison can be acknowledged in case.yaml with "
                   "your reason (the report still lists it; --strict passes it): accept: {"
                   + ", ".join(f"{k}: <reason>" for k in open_keys) + "}")
    for key in accepted:
        if key not in grouped:
            out.append(f"note: accept: {key} matches no threat in this build (remove it from case.yaml)")
    return out


def validate_json(study: Any) -> dict[str, Any]:
    """``casegen validate --json``: what validate prints, as data (stdout), for CI and editors."""
    accepted = study.case.accept
    sides = {}
    for side in ("baseline", "optimized"):
        run, m = study.runs[side], study.metrics[side]
        sides[side] = {"label": study.label(side), "file": Path(run.meta.source).name, "format": run.meta.format,
                       "data": "per-request" if m.source == "per-request" else "summary only",
                       "requests": {k: m.requests.get(k) for k in ("total", "succeeded", "failed")}}
    threats: dict[str, dict[str, Any]] = {}
    for t in study.threats:
        item = threats.setdefault(t.key, {"key": t.key, "severity": t.severity, "title": t.title, "sides": [],
                                          "reason": threat_reason(t), "fix": t.fix, "acknowledged": accepted.get(t.key)})
        if t.side and t.side not in item["sides"]:
            item["sides"].append(t.side)
    for key, item in threats.items():  # a threat worded from its figures: one reason for every side, as the report
        worded = group_reasons([t for t in study.threats if t.key == key], study.label)
        if worded:
            item["reason"] = worded[0][0]
    open_keys = [k for k in threats if k not in accepted]
    return {"case": study.case.file, "valid": True, "strict_passes": not open_keys, "open_threats": open_keys,
            "runs": sides, "threats": list(threats.values()), "notes": list(study.notes),
            "unused_accept": [k for k in accepted if k not in threats]}
