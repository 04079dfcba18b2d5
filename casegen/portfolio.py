"""``casegen portfolio DIR... -o OUT``: build many cases, an index page and one combined PDF.

Each case is built in its own process (``jobs`` at a time) into ``OUT/<slug>/``; a broken
case is reported and does not stop the others. ``OUT/index.html`` has a card per case and
``OUT/portfolio.pdf`` a cover, a table of contents with page numbers and every case as a
chapter (PDF bookmarks come from the headings).
"""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from markupsafe import Markup

from casegen import __version__
from casegen.build import _check_outdir, _make_outdir, build, write_atomic
from casegen.errors import CasegenError

SLUG_RE = re.compile(r"[^a-z0-9]+")


def slug_of(case_dir: Path) -> str:
    return SLUG_RE.sub("-", case_dir.name.lower()).strip("-") or "case"


def find_cases(dirs: list[str | Path]) -> list[Path]:
    """Case folders (holding a case.yaml) in ``dirs``: each dir itself, or its sub-folders (2 levels)."""
    found: list[Path] = []
    for d in map(Path, dirs):
        if not d.exists():
            raise CasegenError("folder not found", file=d, expected="a case folder or a folder of cases")
        if (d / "case.yaml").is_file():
            found.append(d)
            continue
        subs = sorted({p.parent for p in list(d.glob("*/case.yaml")) + list(d.glob("*/*/case.yaml"))})
        if not subs:
            raise CasegenError("no case found (no case.yaml in it or its sub-folders)", file=d,
                               expected="folders made with `casegen new`")
        found += subs
    slugs: dict[str, Path] = {}
    for c in found:
        s = slug_of(c)
        if s in slugs and slugs[s].resolve() != c.resolve():
            raise CasegenError(f"two cases have the same name '{s}': {slugs[s]} and {c}",
                               expected="case folders with distinct names (the name becomes the URL slug)")
        slugs[s] = c
    unique = []
    for c in found:
        if all(c.resolve() != u.resolve() for u in unique):
            unique.append(c)
    return unique


@dataclass
class CaseOutcome:
    slug: str
    path: str
    ok: bool
    error: str | None = None
    card: dict[str, Any] = field(default_factory=dict)
    body: str = ""  # the report's <main> content, for the combined PDF


def _build_one(case_dir: str, outdir: str, pdf: bool) -> CaseOutcome:
    """Worker: build one case; never raises for user errors."""
    from casegen.report_build import build_report

    slug = slug_of(Path(case_dir))
    try:
        result = build(case_dir, outdir, formats=("html", "json") + (("pdf",) if pdf else ()))
    except CasegenError as err:
        return CaseOutcome(slug, case_dir, False, err.format())
    study = result.study
    case = study.case
    html = (Path(outdir) / "report.html").read_text(encoding="utf-8")
    m = re.search(r'<main class="report[^"]*">(.*)</main>', html, re.S)
    card = {
        "title": case.title, "summary": case.summary, "date": case.date.isoformat(),
        "date_text": case.date.strftime("%B %-d, %Y"), "author": case.author, "tags": list(case.tags),
        "model": case.system.model, "hardware": case.system.hardware,
        "headline": [c.model_dump() for c in build_report(study).page1.cards], "html": f"{slug}/report.html",
        "pdf": f"{slug}/report.pdf" if pdf else None, "threats": len({t.key for t in study.threats}),
    }
    return CaseOutcome(slug, case_dir, True, None, card, m.group(1) if m else "")


@dataclass
class PortfolioResult:
    outdir: Path
    outcomes: list[CaseOutcome]
    files: list[Path]

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.ok]


def build_portfolio(dirs: list[str | Path], outdir: str | Path, *, jobs: int = 2, pdf: bool = True,
                    title: str = "Inference optimization case studies", author: str | None = None,
                    progress: Callable[[str], None] | None = None) -> PortfolioResult:
    say = progress or (lambda _m: None)
    cases = find_cases(dirs)
    out = Path(outdir)
    _check_outdir(out)
    _make_outdir(out)
    say(f"building {len(cases)} case(s) with {jobs} process(es)")
    outcomes: list[CaseOutcome] = []
    if jobs <= 1 or len(cases) == 1:
        for c in cases:
            outcomes.append(_build_one(str(c), str(out / slug_of(c)), pdf))
            say(f"{outcomes[-1].slug}: {'ok' if outcomes[-1].ok else 'FAILED'}")
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_build_one, str(c), str(out / slug_of(c)), pdf) for c in cases]
            for f in futures:
                outcomes.append(f.result())
                say(f"{outcomes[-1].slug}: {'ok' if outcomes[-1].ok else 'FAILED'}")
    ok = sorted((o for o in outcomes if o.ok), key=lambda o: (o.card["date"], o.slug), reverse=True)
    failed = [o for o in outcomes if not o.ok]
    from casegen.render import _env, templates_dir, theme_css

    css = theme_css() + "\n" + (templates_dir() / "portfolio" / "portfolio.css").read_text(encoding="utf-8")
    latest = max((dt.date.fromisoformat(o.card["date"]) for o in ok), default=dt.date(2000, 1, 1))
    authors = sorted({o.card["author"] for o in ok})
    ctx = {"title": title, "author": author or ", ".join(authors), "cases": [o.card for o in ok],
           "failed": failed, "css": Markup(css), "version": __version__, "date": latest,
           "chapters": [{"slug": o.slug, "title": o.card["title"], "body": Markup(o.body)} for o in ok]}
    env = _env()
    files = []
    index = env.get_template("portfolio/index.html.j2").render(**ctx)
    write_atomic(out / "index.html", index.encode("utf-8"))
    files.append(out / "index.html")
    if pdf and ok:
        from casegen.render import render_pdf

        say("rendering portfolio.pdf")
        book = env.get_template("portfolio/book.html.j2").render(**ctx)
        write_atomic(out / "portfolio.pdf", render_pdf(book, out, latest))
        files.append(out / "portfolio.pdf")
    return PortfolioResult(out, outcomes, files)
