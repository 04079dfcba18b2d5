"""``casegen portfolio DIR... -o OUT``: build many cases, an index page and one combined PDF.

Each case is built in its own process (``jobs`` at a time) into ``OUT/<slug>/``; a broken
case is reported and does not stop the others — whatever it raises (a bug in casegen is reported as
an internal error, with the case named), even if it kills its worker process; the index and the
book are written for the cases that built. A case folder that is a symbolic link leading out of the
folder given on the command line is listed as not built unless ``--trust-case-paths``. With several processes the work runs in two
waves so no core idles: first every case's analysis, HTML and JSON; then the case PDFs in the
pool while this process renders the combined PDF (one WeasyPrint document, the longest task). ``OUT/index.html`` has a card per case and
``OUT/portfolio.pdf`` a cover, a table of contents with page numbers and every case as a
chapter (PDF bookmarks come from the headings).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from markupsafe import Markup

from casegen import __version__
from casegen.app.build import _check_outdir, _make_outdir, build, write_atomic
from casegen.errors import CasegenError
from casegen.formatting import fmt_date
from casegen.render.glossary import terms_in, visible_text
from casegen.render.idrefs import prefix_ids
from casegen.safe_io import TRUST_HINT, is_within

SLUG_RE = re.compile(r"[^a-z0-9]+")


def slug_of(case_dir: Path) -> str:
    return SLUG_RE.sub("-", case_dir.name.lower()).strip("-") or "case"


def _sub_cases(d: Path) -> list[Path]:
    """Folders holding a case.yaml one or two levels below ``d``; symbolic links to folders are
    listed (so that ones leading out can be reported) but not searched below."""
    found: set[Path] = set()
    for first in sorted(d.iterdir()):
        if not first.is_dir():
            continue
        if (first / "case.yaml").exists() or (first / "case.yaml").is_symlink():
            found.add(first)
        if first.is_symlink():
            continue
        for second in sorted(first.iterdir()):
            if second.is_dir() and ((second / "case.yaml").exists() or (second / "case.yaml").is_symlink()):
                found.add(second)
    return sorted(found)


def outside_cases(dirs: list[str | Path], cases: list[Path]) -> list[Path]:
    """Case folders that resolve (symbolic links followed) outside every folder given in ``dirs``."""
    roots = [os.path.realpath(d) for d in dirs]
    return [c for c in cases if not any(is_within(os.path.realpath(c), r) for r in roots)]


def find_cases(dirs: list[str | Path]) -> list[Path]:
    """Case folders (holding a case.yaml) in ``dirs``: each dir itself, or its sub-folders (2 levels)."""
    found: list[Path] = []
    for d in map(Path, dirs):
        if not d.exists():
            raise CasegenError("folder not found", file=d, expected="a case folder or a folder of cases")
        if (d / "case.yaml").is_file():
            found.append(d)
            continue
        subs = _sub_cases(d) if d.is_dir() else []
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
    unique: list[Path] = []
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
    summary_body: str = ""  # the one-pager's <main> content (the book's page for this case)
    summary_tight: int = 0  # the one-pager's tightening level that fits one page
    pdf_job: tuple[str, str, str, str] | None = None  # (case folder, out folder, date, print HTML): its PDF is still to render


def _side_value(value: float | None, bound: str, upper: float | None, unit: str) -> str:
    from casegen.formatting import fmt, fmt_bound

    if value is None:
        return "—"
    kind = {"point": "point", "interpolated": "point", "at_least": "at_least", "below": "below",
            "at_most": "at_most", "between": "between"}.get(bound, "point")
    try:
        return fmt_bound(kind, value, unit, upper) if kind != "point" else fmt(value, unit)
    except (ValueError, AssertionError):  # a unit without a formatter: the plain number
        return f"{value:g}"


def _headline_cards(report) -> list[dict[str, Any]]:
    """Page-1 cards of a case with the before → after values of their findings."""
    from casegen.formatting import fmt_ratio

    by_key = {f.key: f for f in report.findings}
    cards = []
    for c in report.page1.cards:
        card = c.model_dump()
        f = by_key.get(c.finding)
        ev = f.evidence if f is not None else None
        card["before_after"] = None
        if ev is not None and (ev.baseline is not None or ev.optimized is not None):
            card["before_after"] = (f"{_side_value(ev.baseline, ev.baseline_bound, ev.baseline_upper, ev.unit)} → "
                                    f"{_side_value(ev.optimized, ev.optimized_bound, ev.optimized_upper, ev.unit)}")
            if (ev.ratio_bound == "at_least" and ev.ratio_low and ev.baseline and ev.optimized
                    and ev.baseline_bound == "point" and fmt_ratio(ev.optimized / ev.baseline) != fmt_ratio(ev.ratio_low)):
                # a ratio bound that counted the baseline's estimate at the top of its range: the two figures
                # shown are the estimates, so their ratio is said as the estimate's (the report's words)
                card["before_after"] += f", ≥ {fmt_ratio(ev.optimized / ev.baseline)} at the estimate"
        cards.append(card)
    return cards


def _internal(slug: str, err: BaseException) -> str:
    """The error text of a case that hit a bug in casegen (reported, not hidden: exit status 1 with
    the case named, the rest of the portfolio still built)."""
    if isinstance(err, MemoryError):
        return f"casegen ran out of memory building case '{slug}'"
    return (f"casegen hit an internal error building case '{slug}' — please report it "
            f"({type(err).__name__}: {str(err)[:200]})")


def _build_one(case_dir: str, outdir: str, pdf: bool, defer_pdf: bool = False,
               trust_case_templates: bool = False, trust_case_paths: bool = False) -> CaseOutcome:
    """Worker: build one case; never raises (user errors and casegen's own failures alike become
    the outcome's error, so that one case cannot stop the portfolio).

    ``defer_pdf``: write HTML and JSON only and leave the PDF (of a full-layout report, which is
    rendered from that HTML alone) to :func:`_case_pdf`, so the PDFs can run beside the book.
    """
    slug = slug_of(Path(case_dir))
    try:
        return _build_one_unguarded(case_dir, outdir, pdf, defer_pdf, trust_case_templates, trust_case_paths)
    except CasegenError as err:
        return CaseOutcome(slug, case_dir, False, err.format())
    except Exception as err:  # a bug in casegen on this case: reported with the case named, not raised
        return CaseOutcome(slug, case_dir, False, _internal(slug, err))


def _build_one_unguarded(case_dir: str, outdir: str, pdf: bool, defer_pdf: bool, trust_case_templates: bool,
                         trust_case_paths: bool) -> CaseOutcome:
    from casegen.case.model import load_case
    from casegen.report.build import build_report

    slug = slug_of(Path(case_dir))
    later = pdf and defer_pdf and load_case(case_dir, trust_paths=trust_case_paths)[0].report.layout != "onepager"
    result = build(case_dir, outdir, formats=("html", "json") + (("pdf",) if pdf and not later else ()),
                   trust_case_templates=trust_case_templates, trust_case_paths=trust_case_paths, print_html=pdf)
    study = result.study
    case = study.case
    report = result.report if result.report is not None else build_report(study)
    html = result.print_html  # the book is printed: its chapters carry the charts as print images
    m = re.search(r'<main class="report[^"]*">(.*)</main>', html, re.S)
    card = {
        "title": case.title, "summary": case.summary, "date": case.date.isoformat(),
        "date_text": fmt_date(case.date), "author": case.author, "tags": list(case.tags),
        "role": case.role, "author_links": [{"label": lk.label, "url": lk.url} for lk in case.links],
        "model": case.system.model, "hardware": case.system.hardware,
        "headline": _headline_cards(report), "html": f"{slug}/report.html",
        # page 1's regressions and missed objectives travel with the card (the same selection, never dropped)
        "worse": [f"{c.title}: {c.value}" for c in report.page1.regressions],
        "missed": [f"{c.title}: {c.value}" for c in report.page1.missed],
        "pdf": f"{slug}/report.pdf" if pdf else None, "threats": len({t.key for t in study.threats}),
        "order": case.portfolio.order,
    }
    job = (str(study.case_dir), outdir, case.date.isoformat(), html) if later else None
    summary, tight = _one_page(study, result) if pdf else ("", 0)
    return CaseOutcome(slug, case_dir, True, None, card, m.group(1) if m else "", pdf_job=job, summary_body=summary,
                       summary_tight=tight)


def _one_page(study, result) -> tuple[str, int]:
    """The case's one-pager (its <main> content) at the first tightening level that prints on one
    page, for the book's page per case; ("", 0) when even the tightest does not fit."""
    from casegen.render.html import PageOverflow, render_html, render_pdf

    for tight in (0, 1, 2, 3):
        html = render_html(study, layout="onepager", theme=study.case.report.theme, tight=tight,
                           report=getattr(result, "report", None), medium="print")
        try:
            render_pdf(html, study.case_dir, study.case.date, max_pages=1)
        except PageOverflow:
            continue
        m = re.search(r'<main class="report[^"]*">(.*)</main>', html, re.S)
        return (m.group(1) if m else ""), tight
    return "", 0


def _case_pdf(case_dir: str, outdir: str, date: str, html: str) -> str | None:
    """Worker: report.pdf from the print HTML :func:`_build_one` rendered; the error text or None."""
    from casegen.render.html import render_pdf

    try:
        write_atomic(Path(outdir) / "report.pdf", render_pdf(html, Path(case_dir), dt.date.fromisoformat(date)))
    except CasegenError as err:
        return err.format()
    except Exception as err:  # a bug in casegen on this case: reported with the case named, not raised
        return _internal(slug_of(Path(case_dir)), err)
    return None


@dataclass
class PortfolioResult:
    outdir: Path
    outcomes: list[CaseOutcome]
    files: list[Path]
    book_error: str | None = None  # why portfolio.pdf was not written, when it was due

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.ok]


def build_portfolio(dirs: list[str | Path], outdir: str | Path, *, jobs: int = 2, pdf: bool = True,
                    title: str = "Inference optimization case studies", author: str | None = None,
                    links: list[str] | None = None, trust_case_templates: bool = False,
                    trust_case_paths: bool = False, order: list[str] | None = None,
                    progress: Callable[[str], None] | None = None) -> PortfolioResult:
    """Build every case found in ``dirs`` into ``outdir``/<slug>/, then index.html and portfolio.pdf.

    ``trust_case_templates`` lets a case render with the templates folder its case.yaml names (see
    :func:`casegen.app.build.build`); without it such a case is reported as not built.
    ``trust_case_paths``: cases may read files outside their folder, and case folders that are links
    leading out of ``dirs`` are built; without it such folders are reported as not built.
    ``order``: case folder names to show first, in that order (:func:`reading_order`).
    """
    say = progress or (lambda _m: None)
    links = [u for u in (links or []) if u.startswith(("https://", "http://", "mailto:"))]
    cases = find_cases(dirs)
    unknown = [slug for slug in order or [] if slug not in {slug_of(c) for c in cases}]
    if unknown:
        raise CasegenError(f"--order names '{unknown[0]}', which is not a case here", expected=(
            "case folder names, comma-separated: " + ", ".join(slug_of(c) for c in cases)))
    out = Path(outdir)
    _check_outdir(out)
    _make_outdir(out)
    refused = [] if trust_case_paths else outside_cases(dirs, cases)
    outcomes: list[CaseOutcome] = [
        CaseOutcome(slug_of(c), str(c), False,
                    f"{c}: the case folder leads outside {', '.join(map(str, dirs))} through a symbolic link "
                    f"(to {os.path.realpath(c)}); not built\n  hint: {TRUST_HINT}") for c in refused]
    cases = [c for c in cases if c not in refused]
    for o in outcomes:
        say(f"{o.slug}: SKIPPED (links outside)")
    say(f"building {len(cases)} case(s) with {jobs} process(es)")
    rank = {slug: k for k, slug in enumerate(order or [])}
    options = (trust_case_templates, trust_case_paths)
    if jobs <= 1 or len(cases) <= 1:
        for k, c in enumerate(cases, start=1):
            say(f"[{k}/{len(cases)}] building {slug_of(c)}")
            outcomes.append(_build_one(str(c), str(out / slug_of(c)), pdf, False, *options))
            say(f"[{k}/{len(cases)}] {outcomes[-1].slug}: {'ok' if outcomes[-1].ok else 'FAILED'}")
        _rank(outcomes, rank)
        book, book_error = _safe_book(outcomes, out, pdf, say, title, author, links)
        return PortfolioResult(out, outcomes, _index(outcomes, out, title, author, links, bool(book)) + book, book_error)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # 1. analysis + HTML + JSON of every case in parallel; 2. the case PDFs in the pool while
        # this process renders the book (the longest single task), so every core stays busy
        futures = [pool.submit(_build_one, str(c), str(out / slug_of(c)), pdf, True, *options) for c in cases]
        for k, (c, f) in enumerate(zip(cases, futures), start=1):
            retry = functools.partial(_build_alone, str(c), str(out / slug_of(c)), pdf, options)
            outcomes.append(_outcome(f, retry, slug_of(c), str(c)))
            say(f"[{k}/{len(cases)}] {outcomes[-1].slug}: {'ok' if outcomes[-1].ok else 'FAILED'}")
        try:
            pdfs = {o.slug: pool.submit(_case_pdf, *o.pdf_job) for o in outcomes if o.ok and o.pdf_job}
        except BrokenProcessPool:  # a worker died: each PDF in a process of its own below
            pdfs = {}
        if pdfs:
            say(f"rendering {len(pdfs)} case PDF(s) in the background")
        _rank(outcomes, rank)
        book, book_error = _safe_book(outcomes, out, pdf, say, title, author, links)
        for o in outcomes:
            if not (o.ok and o.pdf_job):
                continue
            job = o.pdf_job
            error = (_pdf_result(pdfs[o.slug], job) if o.slug in pdfs else _pdf_alone(job))
            if error is not None:
                o.ok, o.error = False, error
                say(f"{o.slug}: PDF FAILED")  # (its chapter is in the book already; the index lists it as failed)
    return PortfolioResult(out, outcomes, _index(outcomes, out, title, author, links, bool(book)) + book, book_error)


def _alone(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a fresh process of its own: a case that kills its worker cannot take others along."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def _build_alone(case_dir: str, outdir: str, pdf: bool, options: tuple[bool, bool]) -> CaseOutcome:
    return _alone(_build_one, case_dir, outdir, pdf, True, *options)


def _outcome(future: Any, retry: Callable[[], CaseOutcome], slug: str, path: str) -> CaseOutcome:
    """The outcome of one case's future; when the pool broke (a worker process died, maybe because of
    another case), the case is built again in a process of its own, and a second death is its failure."""
    try:
        return future.result()
    except BrokenProcessPool:
        try:
            return retry()
        except BrokenProcessPool:
            return CaseOutcome(slug, path, False, f"the process building case '{slug}' died (out of memory, or "
                               "killed); the other cases were built")


def _pdf_result(future: Any, job: tuple[str, str, str, str]) -> str | None:
    try:
        return future.result()
    except BrokenProcessPool:
        return _pdf_alone(job)


def _pdf_alone(job: tuple[str, str, str, str]) -> str | None:
    try:
        return _alone(_case_pdf, *job)
    except BrokenProcessPool:
        return f"the process rendering the PDF of case '{slug_of(Path(job[0]))}' died (out of memory, or killed)"


def _safe_book(outcomes: list[CaseOutcome], out: Path, pdf: bool, say: Callable[[str], None], title: str,
               author: str | None, links: list[str]) -> tuple[list[Path], str | None]:
    """portfolio.pdf, or no book and the reason (the index is still written)."""
    try:
        return _book(outcomes, out, pdf, say, title, author, links), None
    except CasegenError as err:
        return [], f"portfolio.pdf was not written: {err.format()}"
    except Exception as err:  # a bug in casegen: reported, the index still written
        return [], (f"portfolio.pdf was not written: casegen hit an internal error — please report it "
                    f"({type(err).__name__}: {str(err)[:200]})")


def _rank(outcomes: list[CaseOutcome], rank: dict[str, int]) -> None:
    """Mark each built case named by ``--order`` with its place there (read by :func:`reading_order`)."""
    for o in outcomes:
        if o.ok and o.slug in rank:
            o.card["cli_order"] = rank[o.slug]


def reading_order(outcomes: list[CaseOutcome]) -> list[CaseOutcome]:
    """The cases in the order a portfolio shows them: those named by ``--order`` first, as listed
    (their card's ``cli_order``); then those with ``portfolio.order`` in their case.yaml, lowest
    first; then the rest, newest first (then by folder name)."""

    def key(o: CaseOutcome) -> tuple:
        if o.card.get("cli_order") is not None:
            return (0, o.card["cli_order"], "")
        if o.card.get("order") is not None:
            return (1, o.card["order"], o.slug)
        return (2, -dt.date.fromisoformat(o.card["date"]).toordinal(), o.slug)

    return sorted(outcomes, key=key)


def _context(outcomes: list[CaseOutcome], title: str, author: str | None, links: list[str]) -> dict[str, Any]:
    from casegen.render.html import theme_css
    from casegen.resources import templates_dir

    ok = reading_order([o for o in outcomes if o.ok])
    failed = [o for o in outcomes if not o.ok]
    css = theme_css() + "\n" + (templates_dir() / "portfolio" / "portfolio.css").read_text(encoding="utf-8")
    latest = max((dt.date.fromisoformat(o.card["date"]) for o in ok), default=dt.date(2000, 1, 1))
    authors = sorted({o.card["author"] for o in ok})
    # the cases' own author line when they share one author (and --author does not name another)
    one = len(authors) == 1 and (author is None or author == authors[0])
    roles = sorted({o.card.get("role", "") for o in ok} - {""}) if one else []
    author_links: list[dict[str, str]] = []
    for o in ok if one else []:
        for lk in o.card.get("author_links", []):
            if lk["url"] not in links and lk not in author_links:
                author_links.append(lk)
    bodies, shared = shared_definitions([chapter_ids(o.body, o.slug) for o in ok])
    summaries = [chapter_ids(o.summary_body, f"{o.slug}-summary") if o.summary_body else "" for o in ok]
    cases = [{**o.card, "date_short": dt.date.fromisoformat(o.card["date"]).strftime("%b %d, %Y").replace(" 0", " ")}
             for o in ok]
    return {"title": title, "author": author or ", ".join(authors), "cases": cases, "links": links,
            "role": ", ".join(roles), "author_links": author_links, "order_rule": order_rule(ok),
            "failed": failed, "css": Markup(css), "version": __version__, "date": latest,
            # the terms of every page, spelled out once (on the cover) instead of once a page
            "glossary": terms_in(" ".join(visible_text(b) for b in bodies + summaries), long=False),
            "shared": shared,
            "chapters": [{"slug": o.slug, "title": o.card["title"], "body": Markup(without_glossary(body)),
                          "summary": Markup(without_glossary(summary)) if summary else "",
                          "tight": o.summary_tight}
                         for o, body, summary in zip(ok, bodies, summaries)]}


def order_rule(ok: list[CaseOutcome]) -> str:
    """The order :func:`reading_order` gave the cases, said for the reader (the cover and the index)."""
    chosen = sum(1 for o in ok if o.card.get("cli_order") is not None or o.card.get("order") is not None)
    if chosen == 0:
        return "Newest first."
    if chosen == len(ok):
        return "In the order the author chose."
    return "The author's chosen cases first, then the others newest first."


_GLOSSARY_LINE = re.compile(r'<p class="glossary[^"]*">.*?</p>', re.S)
_DEFINITIONS = re.compile(r'(<h3[^>]*>)([A-Z]\. [^<]*)(</h3>)\s*<dl class="defs">(.*?)</dl>', re.S)
_DEFINITION = re.compile(r'<dt([^>]*)>(.*?)</dt>\s*<dd>(.*?)</dd>', re.S)


def without_glossary(body: str) -> str:
    """``body`` without its "Terms." lines: the book spells the terms out once, on its cover."""
    return _GLOSSARY_LINE.sub("", body)


def shared_definitions(bodies: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """The full reports' metric definitions printed once: every definition (term and text) that two or
    more reports print leaves their appendices for the book's "Definitions and method" page, which
    says which reports a variant serves when the reports define a term differently; a definition
    only one report prints stays in its appendix. Returns the bodies and the shared definitions
    ``[{"term", "variants": [{"text", "reports": [1-based report numbers]}]}]`` in the reports' order."""
    found = [_DEFINITIONS.search(b) for b in bodies]
    pairs = [[(term, text) for _attrs, term, text in _DEFINITION.findall(m.group(4))] if m else [] for m in found]
    users: dict[tuple[str, str], list[int]] = {}
    for k, chapter in enumerate(pairs, start=1):
        for pair in chapter:
            users.setdefault(pair, []).append(k)
    shared: dict[str, list[dict[str, Any]]] = {}
    for (term, text), reports in users.items():
        if len(reports) > 1:
            shared.setdefault(term, []).append({"text": Markup(text), "reports": reports})
    out: list[str] = []
    for body, m, chapter in zip(bodies, found, pairs):
        if m is None or not shared:
            out.append(body)
            continue
        own = "".join(f"<dt>{term}</dt><dd>{text}</dd>" for term, text in chapter if len(users[(term, text)]) == 1)
        # the list's ids (the report links to its method) move to the line that now stands for it
        anchors = "".join(f'<span id="{i}"></span>' for i in re.findall(r'\sid="([^"]+)"', m.group(4)))
        where = 'printed once for the book, under Definitions and method, page <a class="page-ref" href="#book-definitions"></a>'
        stub = (f'{m.group(1)}{m.group(2)}{m.group(3)}<p class="book-shared-ref">{anchors}'
                + (f"The definitions this case shares with the others are {where}; this case's own:</p>"
                   f'<dl class="defs">{own}</dl>' if own else
                   f"The metric definitions and the statistical method, shared with other cases, are {where}.</p>"))
        out.append(body[:m.start()] + stub + body[m.end():])
    return out, [{"term": Markup(term), "variants": v} for term, v in shared.items()]


def chapter_ids(body: str, slug: str) -> str:
    """``body`` (one case's report HTML) with every element id and in-document reference prefixed by
    ``slug`` (:func:`casegen.render.idrefs.prefix_ids`), so that ids stay unique in the portfolio book and a
    link such as ``#command-1`` jumps within its own chapter rather than to the first chapter's. An
    id the report itself repeats is kept on its first element only, where every reference already
    resolves."""
    seen: set[str] = set()

    def first_only(m: re.Match[str]) -> str:
        if m.group(2) in seen:
            return m.group(1)
        seen.add(m.group(2))
        return m.group(0)
    return re.sub(r'(\s)id="([^"]+)"', first_only, prefix_ids(body, slug))


def _index(outcomes: list[CaseOutcome], out: Path, title: str, author: str | None, links: list[str],
           book: bool = False) -> list[Path]:
    from casegen.render.html import _env

    ctx = {**_context(outcomes, title, author, links), "book": book, "glossary": []}
    page = _env().get_template("portfolio/index.html.j2")
    # the terms the index itself prints (its cards), spelled out once at its foot
    index = page.render(**{**ctx, "glossary": terms_in(visible_text(page.render(**ctx)), long=False)})
    write_atomic(out / "index.html", index.encode("utf-8"))
    return [out / "index.html"]


def _book(outcomes: list[CaseOutcome], out: Path, pdf: bool, say: Callable[[str], None], title: str,
          author: str | None, links: list[str]) -> list[Path]:
    """portfolio.pdf of the cases built so far (none without PDFs or without a built case)."""
    ctx = _context(outcomes, title, author, links)
    if not pdf or not ctx["cases"]:
        return []
    from casegen.render.html import _env, headings_without_orphans, render_pdf

    say("rendering portfolio.pdf")
    # the chapters are print renderings already; the book's own headings (its cover) end on two words too
    template = _env().get_template("portfolio/book.html.j2")
    tight: dict[str, int] = {}  # slug → how close its full report is set (0: as the report)
    for attempt in range(1 + TAIL_LEVELS):
        short: set[str] = set()
        pdf_bytes = render_pdf(headings_without_orphans(template.render(**ctx, tight_tails=tight)), out, ctx["date"],
                               inspect=functools.partial(_collect_short_tails, short))
        # a full report whose last page holds a few lines: set closer, so that they join the page before
        closer = {slug for slug in short if tight.get(slug, 0) < TAIL_LEVELS}
        if not closer or attempt == TAIL_LEVELS:
            break
        tight.update({slug: tight.get(slug, 0) + 1 for slug in closer})
        say(f"rendering portfolio.pdf again, {len(closer)} report(s) set closer")
    write_atomic(out / "portfolio.pdf", pdf_bytes)
    return [out / "portfolio.pdf"]


#: A full report's last page filled less than this share is a blank tail worth setting the report closer.
SHORT_TAIL = 0.4
#: How many times closer a full report may be set to lose a short last page (portfolio.css, tail-tight-N).
TAIL_LEVELS = 2


def _collect_short_tails(into: set[str], doc: Any) -> None:
    into.update(short_tails(doc))


def page_fill(page: Any) -> float:
    """How far down a laid-out WeasyPrint page its text and pictures reach, as a share of the page's body
    (the running head and the page number, in the margins, not counted)."""
    from weasyprint.formatting_structure import boxes

    box = page._page_box
    top, height = box.content_box_y(), box.height
    bottom = top
    for child in box.children:
        if isinstance(child, boxes.MarginBox):
            continue
        for b in child.descendants():
            if isinstance(b, (boxes.LineBox, boxes.ReplacedBox)):
                bottom = max(bottom, b.position_y + b.margin_height())
    return (bottom - top) / height if height else 1.0


def short_tails(doc: Any) -> set[str]:
    """The slugs of the full reports (chapters ``case-<slug>``) in a laid-out book whose last page is
    filled less than :data:`SHORT_TAIL`."""
    starts: dict[str, int] = {}
    for k, page in enumerate(doc.pages):
        for name in page.anchors:
            if (name.startswith("case-") or name == "book-definitions") and name not in starts:
                starts[name] = k
    order = sorted(starts.items(), key=lambda item: item[1])
    ends = [first - 1 for _name, first in order[1:]] + [len(doc.pages) - 1]
    return {name.removeprefix("case-") for (name, first), last in zip(order, ends)
            if name.startswith("case-") and last > first and page_fill(doc.pages[last]) < SHORT_TAIL}
