"""Build the typed :class:`~casegen.report.model.Report` from a Study (once per build).

Data flows one way: Study (computed figures) → findings → page-1 selection → Report → renderers.
"""

from __future__ import annotations

from casegen import __version__
from casegen.analysis.checks import Threat
from casegen.analysis.quality import one_line as quality_one_line
from casegen.analysis.study import SIDES, Study, _clean, step_study, summary_dict
from casegen.formatting import fmt_months_bound, opposite_bound
from casegen.report.model import Labels, Report
from casegen.report.reproduce import input_files, reproduce_view
from casegen.report.setup import (
    AnalysisSettings,
    AuthorLinkText,
    CaseText,
    CostInputs,
    InputFile,
    Reproduce,
    RunSetup,
    SpreadRow,
    SystemText,
    TradeOffText,
    WorkloadText,
)
from casegen.story import cheapwin as cheapwin_story
from casegen.story import segments as segments_story
from casegen.story import threats as threat_story
from casegen.story import time_split
from casegen.story.findings import (
    attach_step_findings,
    cost_estimate_note,
    cost_sentence,
    cost_support,
    failure_verdict,
    findings,
    ladder_estimates_note,
    operating_point,
    rate_bound,
    saving_estimate,
    saving_phrase,
    select_page1,
    throughput_delta_finding,
)
from casegen.story.model import ThreatItem
from casegen.story.so_what import describes_picture, so_what


def threat_items(study: Study) -> list[ThreatItem]:
    """Threats grouped by key (a problem of both sides is listed once, an identical reason once),
    major first, in reader language."""
    grouped: dict[str, ThreatItem] = {}
    reasons: dict[str, dict[str, list[str]]] = {}  # key → reason → sides that have it
    by_key: dict[str, list[Threat]] = {}
    for t in study.threats:
        by_key.setdefault(t.key, []).append(t)
    for t in study.threats:
        g = grouped.setdefault(t.key, ThreatItem(key=t.key, severity=t.severity,
                                                 title=t.title, reasons=[], sides=[],
                                                 acknowledged=study.case.accept.get(t.key)))
        who = study.label(t.side) if t.side else None
        if who and who not in g.sides:
            g.sides.append(who)
        worded = threat_story.group_reasons(by_key[t.key], study.label)  # a threat carrying figures: one reason
        if worded is not None:
            reasons[t.key] = {r: labels for r, labels in worded}
            continue
        names = reasons.setdefault(t.key, {}).setdefault(t.reason, [])
        if who and who not in names:
            names.append(who)
    for key, g in grouped.items():
        for reason, names in reasons[key].items():
            if not names or len(names) == len(g.sides) == 2:
                g.reasons.append(reason[:1].upper() + reason[1:])
            else:
                g.reasons.append(f"{', '.join(names)}: {reason}")
    order = {"major": 0, "minor": 1}
    return sorted(grouped.values(), key=lambda g: order[g.severity])


def author_actions(study: Study) -> list[str]:
    """What the case author can do about each threat (CLI output of build/validate, never the report)."""
    out: list[str] = []
    for t in study.threats:
        if t.fix:
            line = f"{t.title}: {t.fix}"
            if line not in out:
                out.append(line)
    for side in SIDES:
        method = study.runs[side].tool_percentile_method
        # only a method the case can set (GuideLLM's own inverse-CDF rule is for parity only)
        if method in ("linear", "nearest", "mlperf") and any(p.cause.startswith("percentile method") for p in study.metrics[side].parity if p.cause):
            line = (f"Parity with the tool: set analysis.percentile_method: {method} in case.yaml to reproduce the "
                    "tool's percentiles")
            if line not in out:
                out.append(line)
    if not study.case.tradeoffs:
        out.append("No trade-offs: name each technique under tradeoffs: in case.yaml (what changed, where it helps "
                   "and where it hurts); the report leaves the Trade-offs section out without them")
    return out


#: The documented figure blocks of summary.json, carried over from ``study.summary_dict`` as they are.
FIGURE_BLOCKS = ("runs", "deltas", "slos", "notes", "definitions", "intervals", "slo_results", "workload",
                 "sweep", "cost", "multiplicity", "quality", "ladder")


def _step_cost_text(study: Study, i: int) -> tuple[str | None, str]:
    """(saving, payback) of ladder step ``i`` in words, bounds included (the story's phrases);
    (None, "none") when the step is not priced."""
    c = step_study(study, i).cost
    if c is None:
        return None, "none"
    saving = saving_phrase(c.savings_usd_per_month, c.savings_bound).replace(" a month", "")
    if not c.established:
        saving += "†"
    est = saving_estimate(c)
    if est:
        saving += f" ({est})"
    if c.savings_usd_per_month <= 0 or c.one_time_cost_usd <= 0 or c.payback_months is None:
        return saving, "none"
    # the table cell keeps the months (the payback phrase's words); the horizon and return are the step's findings'
    q = {"at_least": "within ", "at_most": "no less than "}.get(c.savings_bound, "")
    payback = f"{q}{fmt_months_bound(c.payback_months, opposite_bound(c.savings_bound))} months"
    e = c.estimate
    if e is not None and e.payback_months is not None:
        payback += f", estimate {fmt_months_bound(e.payback_months, opposite_bound(e.savings_bound))} months"
    return saving, payback


def _decided_verdicts(study: Study, fs: list, figures: dict) -> None:
    """summary.json's ``deltas`` and ladder steps carry the verdict (and strength) the findings decided
    (colour only with an interval that excludes 0), not the sign of the point change; the renderers'
    tables read them from here."""
    by = {f.key: f for f in fs}
    for m, row in figures["deltas"]["latency_ms"].items():
        for stat, d in row.items():
            f = by.get(f"latency:{m}:{stat}")
            d["verdict"] = f.verdict if f is not None else "na"
            d["strength"] = f.strength if f is not None else None
    op = operating_point(study)
    bound = rate_bound(study)
    for key, d in figures["deltas"]["throughput"].items():
        delta = study.throughput_deltas.get(key)
        tf = None if bound or delta is None else throughput_delta_finding(
            key, delta, op, study.throughput_delta_cis.get(key), study.case.analysis.confidence)
        d["verdict"] = "na" if tf is None else tf.verdict
        d["strength"] = None if tf is None else tf.strength
    figures["deltas"]["rate_bound"] = bound
    figures["deltas"]["failed_requests"] = failure_verdict(study)
    if figures.get("ladder") and study.ladder is not None:
        figures["ladder"]["estimates_note"] = ladder_estimates_note(study)
        for st, fig in zip(study.ladder.steps, figures["ladder"]["steps"]):
            fig["saving_text"], fig["payback_text"] = _step_cost_text(study, st.index)
            step_by = {f.key: f for f in st.findings}
            for m, row in fig["latency_ms"].items():
                for stat, d in row.items():
                    f = step_by.get(f"latency:{m}:{stat}")
                    d["verdict"] = f.verdict if f is not None else "na"


def case_text(study: Study) -> CaseText:
    """The author's words and settings, as written in case.yaml."""
    case = study.case
    a, cs = case.analysis, case.cost
    tradeoffs = []
    for i, t in enumerate(case.tradeoffs):
        qc = study.quality.get(i)
        tradeoffs.append(TradeOffText(
            technique=t.technique, what_changed=t.what_changed, helps_when=t.helps_when, hurts_when=t.hurts_when,
            risk=t.risk, step=t.step, quality_unit=(t.quality.unit if t.quality is not None else None),
            quality_line=quality_one_line(qc) if qc is not None else None))
    return CaseText(
        title=case.title, author=case.author, role=case.role,
        links=[AuthorLinkText(label=lk.label, url=lk.url) for lk in case.links], what_i_did=case.what_i_did,
        date=case.date, summary=case.summary, tags=list(case.tags),
        system=SystemText(model=case.system.model, hardware=case.system.hardware,
                          serving_stack=case.system.serving_stack, notes=case.system.notes),
        workload=WorkloadText(description=case.workload.description, dataset=case.workload.dataset),
        notes=case.notes, url=case.report.url, tradeoffs=tradeoffs,
        analysis=AnalysisSettings(confidence=a.confidence, slo_confidence=a.slo_confidence,
                                  bootstrap_resamples=a.bootstrap_resamples, percentile_method=a.percentile_method,
                                  tpot_one_token=a.tpot_one_token, capacity_attainment=case.capacity.attainment),
        cost=None if cs is None else CostInputs(
            requests_per_month=cs.requests_per_month, peak_requests_per_s=cs.peak_requests_per_s,
            headroom=cs.headroom, monthly_basis=cs.monthly_basis, one_time_cost_note=cs.one_time_cost_note,
            price_source=cs.price_source))


def run_setup(study: Study) -> dict[str, RunSetup]:
    out = {}
    for s in SIDES:
        meta = study.runs[s].meta
        out[s] = RunSetup(backend=meta.backend, run_date=meta.date, load_text=meta.describe_load(),
                          token_source=meta.token_source, repetitions=max(1, len(study.runs[s].parts)))
    return out


def spread_rows(study: Study) -> list[SpreadRow]:
    return [SpreadRow(side=side, **r) for side, rows in study.spread.items() for r in rows]


def priced_at(study: Study) -> str | None:
    """Which throughput the self-hosted cost rests on: 'capacity' (capacity at SLO from a sweep),
    'stated' (a capacity the author gave), 'measured' (each run's throughput at its load), or None
    (API prices only: no throughput involved)."""
    c, cs = study.cost, study.case.cost
    if c is None or cs is None or "self_hosted" not in (c.baseline.kind, c.optimized.kind):
        return None
    if (study.sweeps and study.capacities) or (study.ladder is not None and any(
            r.capacity is not None and r.capacity.value_rps for r in study.ladder.rungs)):
        return "capacity"
    if any(s.self_hosted is not None and s.self_hosted.capacity_requests_per_s is not None
           for s in (cs.baseline, cs.optimized)):
        return "stated"
    return "measured"


def build_report(study: Study) -> Report:
    attach_step_findings(study)
    fs = findings(study) + cheapwin_story.findings(study) + segments_story.findings(study)
    page1 = segments_story.page1(study, fs, cheapwin_story.page1(study, fs, select_page1(study, fs)))
    figures = summary_dict(study)
    _decided_verdicts(study, fs, figures)
    if figures["cost"] is not None and study.cost is not None:
        support = cost_support(study)
        figures["cost"]["headline"], figures["cost"]["tone"] = cost_sentence(study.cost, support is not None)
        figures["cost"]["estimate_note"] = cost_estimate_note(study.cost)
        figures["cost"]["point_only"] = support
        figures["cost"]["priced_at"] = priced_at(study)
    return Report(
        casegen_version=__version__,
        title=study.case.title,
        date=study.case.date.isoformat(),
        labels=Labels(**{s: study.label(s) for s in SIDES}),
        confidence=study.case.analysis.confidence,
        findings=fs,
        page1=page1,
        threats=threat_items(study),
        author_actions=author_actions(study),
        **{block: figures[block] for block in FIGURE_BLOCKS},
        teardown=study.teardown,
        segments=study.segments,
        crossovers=list(study.segments.crossovers) if study.segments is not None else [],
        time_split=time_split.sentences(study),
        so_what=so_what(study),
        so_what_with_picture=describes_picture(study),
        optimization=study.cheap_win,
        case=case_text(study),
        setup=run_setup(study),
        spread=spread_rows(study),
        reproduce=Reproduce.model_validate(reproduce_view(study)),
        inputs=[InputFile.model_validate(f) for f in input_files(study)],
    )


def summary_json(report: Report) -> dict:
    """The content of summary.json: the Report's dump, JSON-safe and rounded like every figure."""
    return _clean(report.dump())
