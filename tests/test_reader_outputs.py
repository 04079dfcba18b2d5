"""What the documents say, checked in every output a reader gets (issue 23): the HTML report, the PDF's
text, the Markdown, the one-pager (HTML and PDF) and summary.json's page-1 words — of every example and of
cases built from today's AIPerf outputs (a concurrency sweep, a summary-only pair, and the same pair priced
on a CPU VM). One parametrised test applies every rule to every output; each rule has a check that it
can fail (``test_each_rule_sees_its_defect``).

The rules:

* ``result`` — page 1 states a result: never "not established", never a bare "0%" change;
* ``ci-shown`` — the latency caption names confidence intervals only when the outputs show some;
* ``dagger-legend`` — a † in the latency table has its own legend line saying which values it applies to;
* ``machine-words`` — a machine priced per hour that is not a GPU is never called a GPU ("GPU-hour");
* ``raw-keys`` — no tool key (``time_to_first_output_token``) in reader text, except where the appendix
  maps the tools' quoted keys to casegen's metrics;
* ``empty-rows`` — no Method row of dashes on both sides ("Model — —");
* ``speculation`` — no guessed cause the data cannot show ("prefill scheduled into the running batch");
* ``queue-wait`` — queue wait is defined only where a side computed it;
* ``said-once`` — the one-pager states the saving once; a data note both sides share is said once;
* ``counts-named`` — an effective count ("are worth 52 independent requests") says what it counts: the p99
  interval's ("weighed for that percentile alone"), an objective's ("in counting requests over the limit") or an
  average's ("for an average of …") — never a bare "counts as 72" beside "count as 52";
* ``rule-words`` — the interval rule is worded from its figures, never its record ("p99 needs ≥ 368 effective
  samples, this run has 240 (80% lower bound of an estimate)");
* ``newly-met`` — an objective met after the change and not before is said in words ("now within its 450 ms
  objective"), and page 1 leads with it, not with a point value that did not move (a sweep's page 1 is its
  capacity at SLO instead);
* ``sweep-requests`` — a sweep's requests are per load point, never "24 requests per side";
* ``jargon`` — no Kolmogorov–Smirnov, MLPerf, early stopping, variance factor or Bonferroni on a reader page (the
  appendix names and explains them);
* ``stutter`` — no heading said again as its sentence's first word ("Bottleneck — decode-bound"), no cryptic
  "(≤ 3 others in flight, not light load)", no "less than one independent one";
* ``file-paths`` — no source file path (``tools/testserver.py``) in reader text outside the appendix;
* ``caveats`` — every page-1 caveat (a major threat, e.g. a slower load point no test covers) is in every output;
* ``estimates-agree`` — the saving at the estimates is one figure ("(estimate $9.63)" and "a saving of $9.63 a
  month"), never restated as a bound under a bound headline.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Callable

import pytest

from casegen.app.build import build
from casegen.case.model import load_case, machine_word
from conftest import ROOT

pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 is not installed (pip install 'casegen[test]')")

AIPERF = ROOT / "tests" / "fixtures" / "aiperf" / "0.13.0"
EXAMPLES = sorted(p.name for p in (ROOT / "cases").iterdir() if (p / "case.yaml").is_file())

_HEAD = """
author: "Jordan Lee"
role: "Inference platform engineer"
date: 2026-12-07
system:
  model: "test-model (an OpenAI-compatible test server with two timing profiles)"
  hardware: "CPU-only VM, client and server on one host"
  serving_stack: "OpenAI-compatible streaming test server"
"""
_COST = """
cost:
  baseline:
    self_hosted: {{gpu: "{gpu}", gpu_hourly_usd: 2.50, gpus_per_replica: 1, utilization: 0.6}}
  optimized:
    self_hosted: {{gpu: "{gpu}", gpu_hourly_usd: 2.50, gpus_per_replica: 1, utilization: 0.6}}
  requests_per_month: 1000000
"""
SWEEP_CASE = ('title: "Test server: AIPerf 0.13 concurrency sweep"\n'
              'summary: "AIPerf 0.13 swept two timing profiles by concurrency (1, 4, 8)."' + _HEAD + """
workload:
  description: "Synthetic streaming requests, 32 output tokens (AIPerf 0.13.0)."
slos:
  - {metric: ttft, percentile: 90, threshold_ms: 90}
  - {metric: tpot, percentile: 90, threshold_ms: 35}
runs:
  baseline: {path: runs/baseline, label: "Baseline", sweep: true, load: concurrency}
  optimized: {path: runs/optimized, label: "Optimized", sweep: true, load: concurrency}
""" + _COST.format(gpu="GPU (assumed)"))
SUMMARY_CASE = ('title: "Test server at concurrency 4, summary statistics only"\n'
                'summary: "AIPerf 0.13 summary JSON of two timing profiles at concurrency 4."' + _HEAD + """
workload:
  description: "Synthetic streaming requests (AIPerf 0.13.0), summary JSON only."
slos:
  - {metric: ttft, percentile: 99, threshold_ms: 70}
  - {metric: e2e, percentile: 50, threshold_ms: 450}
runs:
  baseline: {path: runs/baseline.json, label: "Baseline"}
  optimized: {path: runs/optimized.json, label: "Optimized"}
""")


def _tool_cases(root: Path) -> dict[str, Path]:
    """The cases from today's AIPerf outputs a reviewer reads beside the examples."""
    cases = {}
    d = root / "aiperf-sweep"
    for side in ("baseline", "optimized"):
        shutil.copytree(AIPERF / f"{side}-sweep", d / "runs" / side)
    (d / "case.yaml").write_text(SWEEP_CASE, encoding="utf-8")
    cases["aiperf-sweep"] = d
    for name, gpu in (("aiperf-summary", "GPU (assumed)"), ("aiperf-summary-cpu", "CPU VM (8 vCPU)")):
        d = root / name
        (d / "runs").mkdir(parents=True)
        for side in ("baseline", "optimized"):
            shutil.copy(AIPERF / f"{side}-c4" / "profile_export_aiperf.json", d / "runs" / f"{side}.json")
        (d / "case.yaml").write_text(SUMMARY_CASE + _COST.format(gpu=gpu), encoding="utf-8")
        cases[name] = d
    return cases


def _html_text(html: str) -> str:
    html = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<br\s*/?>|</(p|li|tr|h\d|div|caption|dd|dt)>", "\n", html)
    text = re.sub(r"<[^>]+>", " ", html)
    for a, b in (("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), ("&#39;", "'"), ("&quot;", '"'), ("&nbsp;", " ")):
        text = text.replace(a, b)
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _pdf_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _summary_words(summary: dict) -> str:
    """summary.json's reader words: page 1, every finding's claim, the data notes."""
    p1 = summary["page1"]
    parts = [p1["in_short"]] + [f"{c['title']}: {c['value']} — {c['detail']}" for c in p1["cards"]]
    parts += [f["claim"] for f in summary["findings"]] + list(summary.get("notes") or [])
    return "\n".join(parts)


class Built:
    """One case's outputs: the texts a reader sees, by output, its summary.json and the machines it
    prices per hour (``cost.<side>.self_hosted.gpu``)."""

    def __init__(self, name: str, summary: dict, texts: dict[str, str], gpus: list[str | None]) -> None:
        self.name, self.summary, self.texts, self.gpus = name, summary, texts, gpus


def _gpus(case: Path) -> list[str | None]:
    c, _ = load_case(case)
    if c.cost is None:
        return []
    return [sp.self_hosted.gpu for sp in (c.cost.baseline, c.cost.optimized) if sp.self_hosted is not None]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Built]:
    out = tmp_path_factory.mktemp("reader-outputs")
    cases = {name: ROOT / "cases" / name for name in EXAMPLES} | _tool_cases(out / "cases")
    got = {}
    for name, case in cases.items():
        full, one = out / name, out / f"{name}-one"
        build(case, full, formats=("html", "pdf", "json", "md"))
        build(case, one, formats=("html", "pdf"), layout="onepager")
        summary = json.loads((full / "summary.json").read_text(encoding="utf-8"))
        texts = {"html": _html_text((full / "report.html").read_text(encoding="utf-8")),
                 "md": (full / "report.md").read_text(encoding="utf-8"),
                 "pdf": _pdf_text(full / "report.pdf"),
                 "onepager-html": _html_text((one / "report.html").read_text(encoding="utf-8")),
                 "onepager-pdf": _pdf_text(one / "report.pdf"),
                 "summary.json": _summary_words(summary)}
        got[name] = Built(name, summary, texts, _gpus(case))
    return got


# --------------------------------------------------------------------------- the rules
# each: (the case's outputs, the output's name, its text) → what is wrong ([] when nothing)

def rule_result(b: Built, output: str, text: str) -> list[str]:
    # a change printed as a bare "0%" (a card "0%†", a label "(0%)"); "0% of input cached" is a share, not a change
    bad = [m.group(0) for m in re.finditer(r"(?<![\d.,])[−+-]?0%(?:†|\))", text)]
    return (["'not established' instead of what was found"] if "not established" in text.lower() else []) + \
        [f"bare change {b!r}: a non-result" for b in bad]


def _intervals_shown(summary: dict) -> bool:
    sides = [summary["intervals"].get(s) or {} for s in ("baseline", "optimized")]
    own = any(v for iv in sides for row in (iv.get("latency_ms") or {}).values() for v in row.values() if v)
    changes = any(f["evidence"].get("ci_pct") or f["evidence"].get("ci_abs") for f in summary["findings"]
                  if f["kind"] == "latency")
    return own or changes


def rule_ci_shown(b: Built, output: str, text: str) -> list[str]:
    if _intervals_shown(b.summary):
        return []
    said = re.findall(r"(?:Small grey ranges|Ranges in parentheses) are \d+% confidence intervals", text)
    return [f"the caption names intervals none of which is shown: {said[0]!r}"] if said else []


def rule_dagger_legend(b: Built, output: str, text: str) -> list[str]:
    if output not in ("html", "md", "pdf"):
        return []
    marked = re.search(r"\b(p50|p90|p95|p99|mean) ?†", text)
    if marked and "† beside a statistic: the" not in " ".join(text.split()):
        return ["† in the latency table without its own legend line"]
    return []


def rule_machine_words(b: Built, output: str, text: str) -> list[str]:
    if not b.gpus or any(machine_word(g) == "GPU" for g in b.gpus):
        return []
    return [f"{w!r} for a machine that is not a GPU ({b.gpus[0]})" for w in ("GPU-hour", "GPU time", "GPUs")
            if w in text]


_KEY = re.compile(r"(?<![\w'./\\-])[a-z]+(?:_[a-z]+){2,}(?![\w'.\\])")


def rule_raw_keys(b: Built, output: str, text: str) -> list[str]:
    # the appendix's "How the inputs were read" maps the tools' keys, quoted ('time_to_first_token'), on purpose
    text = re.sub(r"(?s)How the inputs were read.*?(?=Commands to reproduce|Parity with|\Z)", " ", text)
    text = re.sub(r"(?s)```.*?```", " ", text)  # commands as recorded
    return [f"raw key {k!r}" for k in sorted(set(_KEY.findall(text)))]


def rule_empty_rows(b: Built, output: str, text: str) -> list[str]:
    rows = re.findall(r"(?m)^\| \*\*([^|*]+)\*\* \| — \| — \|$", text) if output == "md" else \
        re.findall(r"(?m)^(Model|Backend|Run date|Duration|Tool) — —$", text)
    return [f"Method row of dashes on both sides: {r}" for r in rows]


def rule_speculation(b: Built, output: str, text: str) -> list[str]:
    return [f"guessed cause: {p!r}" for p in ("one possible cause", "scheduled into the running batch") if p in text]


def rule_queue_wait(b: Built, output: str, text: str) -> list[str]:
    td = b.summary.get("teardown") or {}
    computed = any(s.get("queue_ms") is not None for s in (td.get("sides") or {}).values())
    return ["queue wait defined where no side computed it"] if "Queue wait = TTFT" in text and not computed else []


def rule_said_once(b: Built, output: str, text: str) -> list[str]:
    out = []
    if output.startswith("onepager") and len(re.findall(r"Saves \$[\d,.]+ a month", text)) > 1:
        out.append("the one-pager states the saving twice")
    if output == "summary.json":
        notes = b.summary.get("notes") or []
        labels = (b.summary["labels"]["baseline"], b.summary["labels"]["optimized"])
        for n in notes:
            if n.startswith(labels[0] + ": ") and f"{labels[1]}: {n[len(labels[0]) + 2:]}" in notes:
                out.append(f"a note said once per side: {n}")
    return out


#: what an effective count may count, named just before it (issue 23: three different counts, each said as such)
_COUNTED_FOR = ("weighed for that percentile alone", "in counting requests over the limit", "for an average of",
                "the gaps are worth")
_WORTH = re.compile(r"\b(?:are worth|counts? as|weigh as much as)\s+(?:about\s+)?(?:less than|a single|[\d,]+\b)")


def rule_counts_named(b: Built, output: str, text: str) -> list[str]:
    out = []
    flat = " ".join(text.split())
    for m in _WORTH.finditer(flat):
        before = flat[max(0, m.start() - 260):m.start()].lower()
        if not any(k in before for k in _COUNTED_FOR):
            out.append(f"an effective count that does not say what it counts: {flat[max(0, m.start() - 60):m.end() + 20]!r}")
    return out


def rule_rule_words(b: Built, output: str, text: str) -> list[str]:
    return [f"the interval rule's record in reader text: {w!r}" for w in
            ("effective samples", "80% lower bound of an estimate", "needs the worth of") if w in text]


def _newly_met(summary: dict) -> list[dict]:
    """The objectives met after the change and not before (the SLO finding says the change is established)."""
    out = []
    objs = {side: (summary.get("slo_results", {}).get(side) or {}).get("objectives") or [] for side in ("baseline", "optimized")}
    for f in summary["findings"]:
        if f["kind"] != "slo" or f["verdict"] != "better":
            continue
        i = int(f["key"].split(":")[1])
        if i < len(objs["baseline"]) and i < len(objs["optimized"]) and objs["optimized"][i]["verdict"] == "pass" \
                and objs["baseline"][i]["verdict"] != "pass":
            out.append(objs["optimized"][i])
    return out


def rule_newly_met(b: Built, output: str, text: str) -> list[str]:
    # a sweep's page 1 is its capacity at SLO: what the objectives allow, over every load (lead's rule 1)
    met = [] if b.summary.get("sweep") else _newly_met(b.summary)
    if not met:
        return []
    out = [] if "now within its" in " ".join(text.split()) else ["an objective newly met is not said in words"]
    if output == "summary.json":
        lat = [c for c in b.summary["page1"]["cards"] if c["finding"].startswith("latency:")]
        keys = {f"latency:{o['metric']}:p{o['percentile']:g}" for o in met}
        if lat and keys & {c["finding"] for c in lat} and lat[0]["finding"] not in keys:
            out.append(f"page 1 leads with {lat[0]['finding']}, not the objective newly met ({sorted(keys)})")
    return out


def rule_sweep_requests(b: Built, output: str, text: str) -> list[str]:
    if not b.summary.get("sweep"):
        return []
    return [f"a sweep's requests said per side: {m!r}" for m in re.findall(r"[\d,]+ requests per side", text)]


def _reader_pages(text: str) -> str:
    """The text before the appendix (the appendix may name a method, explained)."""
    cut = [i for i in (text.find("A. Metric definitions"), text.find("### A. Metric definitions")) if i >= 0]
    return text[:min(cut)] if cut else text


def rule_jargon(b: Built, output: str, text: str) -> list[str]:
    body = _reader_pages(text)
    return [f"statistical name on a reader page: {w!r}" for w in
            ("Kolmogorov", "MLPerf", "early stopping", "early-stopping", "variance factor", "Bonferroni") if w in body]


def rule_stutter(b: Built, output: str, text: str) -> list[str]:
    flat = " ".join(text.split())
    return [f"{w!r}" for w in ("Bottleneck — ", "not light load", "less than one independent one",
                               "carry about as much information as") if w in flat]


_PATH = re.compile(r"(?<![\w/.-])(?:[\w.-]+/)+[\w.-]+\.(?:py|sh)\b")


def rule_file_paths(b: Built, output: str, text: str) -> list[str]:
    body = re.sub(r"(?s)```.*?```", " ", _reader_pages(text))
    return [f"a source file path in reader text: {p!r}" for p in sorted(set(_PATH.findall(body)))]


def rule_caveats(b: Built, output: str, text: str) -> list[str]:
    """Every page-1 caveat (a major threat, e.g. "Optimized slower at concurrency 1, untested") is in every output."""
    if output == "summary.json":
        return []  # its page1.caveats are the source
    flat = " ".join(text.split()).lower()
    want = [c.replace(" (acknowledged by the author)", "") for c in b.summary["page1"].get("caveats", [])]
    return [f"page-1 caveat missing: {c!r}" for c in want if " ".join(c.split()).lower() not in flat]


_EST_SAVING = re.compile(r"saves? (?:at least |at most )?\$[\d,.]+ a month \(estimate (\$[\d,.]+)\)")
_AT_ESTIMATES = re.compile(r"a saving of (at least |at most )?(\$[\d,.]+) a month")


def rule_estimates_agree(b: Built, output: str, text: str) -> list[str]:
    """The saving at the estimates is one figure everywhere: the headline's "(estimate $9.63)" and the cost
    note's "a saving of $9.63 a month" — never "a saving of at least $9.63" under "saves at least $3.37"."""
    flat = " ".join(text.split())
    shown = set(_EST_SAVING.findall(flat.replace("Saves", "saves")))
    out = []
    for bound, figure in _AT_ESTIMATES.findall(flat):
        if bound:
            out.append(f"the estimates' saving stated as a bound: 'a saving of {bound}{figure}'")
        if shown and figure not in shown:
            out.append(f"the estimates' saving {figure} beside the headline's estimate {sorted(shown)}")
    return out


RULES: dict[str, Callable[[Built, str, str], list[str]]] = {
    "result": rule_result, "ci-shown": rule_ci_shown, "dagger-legend": rule_dagger_legend,
    "machine-words": rule_machine_words, "raw-keys": rule_raw_keys, "empty-rows": rule_empty_rows,
    "speculation": rule_speculation, "queue-wait": rule_queue_wait, "said-once": rule_said_once,
    "counts-named": rule_counts_named, "rule-words": rule_rule_words, "newly-met": rule_newly_met,
    "sweep-requests": rule_sweep_requests, "jargon": rule_jargon, "stutter": rule_stutter,
    "file-paths": rule_file_paths, "caveats": rule_caveats, "estimates-agree": rule_estimates_agree}
OUTPUTS = ("html", "pdf", "md", "onepager-html", "onepager-pdf", "summary.json")
CASES = EXAMPLES + ["aiperf-sweep", "aiperf-summary", "aiperf-summary-cpu"]


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("case", CASES)
def test_every_output_says_what_was_found_in_reader_words(built, case, output):
    b = built[case]
    problems = {name: rule(b, output, b.texts[output]) for name, rule in RULES.items()}
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, f"{case} {output}: {problems}"


def test_the_cpu_case_is_priced_per_instance_hour(built):
    """The rule has something to check: the CPU VM case prices per instance-hour, the GPU one per GPU-hour."""
    assert "per instance-hour" in built["aiperf-summary-cpu"].texts["html"]
    assert "instance time" in built["aiperf-summary-cpu"].texts["md"]
    assert "per GPU-hour" in built["aiperf-summary"].texts["html"]


def test_each_rule_sees_its_defect():
    """Every rule fails on the defect it names (the texts the last review quoted)."""
    summary_only = Built("defects", {
        "intervals": {"baseline": {}, "optimized": {}}, "findings": [],
        "labels": {"baseline": "Baseline", "optimized": "Optimized"},
        "notes": ["Baseline: token counts come from AIPerf", "Optimized: token counts come from AIPerf"],
        "teardown": {"sides": {"baseline": {"queue_ms": None}}}}, {}, ["CPU VM (8 vCPU)", "CPU VM (8 vCPU)"])
    cases = {
        "result": "capacity at SLO not established\n0%† TTFT p99",
        "ci-shown": "Latency: lower is better. Ranges in parentheses are 95% confidence intervals; † marks …",
        "dagger-legend": "| | p50 † | 31.0 ms | 29.3 ms |",
        "machine-words": "1 × CPU VM (8 vCPU) at $2.50 per GPU-hour",
        "raw-keys": "Baseline: AIPerf's time_to_first_output_token is not mapped",
        "empty-rows": "| **Model** | — | — |",
        "speculation": "single stalls (one possible cause: a new request's prefill scheduled into the running batch)",
        "queue-wait": "Queue wait = TTFT minus what the light-load fit predicts",
        # the last review's quotes (issue 23, round 9)
        "counts-named": "a p99 interval needs the worth of ≥ 736 independent requests; neighbouring requests are "
                        "alike, so this run counts as 72 for TTFT; 2 for TPOT (a cautious estimate)\n"
                        "neighbouring requests are alike, so for this verdict the 100 count as 52 independent ones "
                        "(variance factor 1.9)",
        "rule-words": "Full prompt: no p99 interval (†, point value only) — TTFT: p99 needs ≥ 368 effective samples, "
                      "this run has 240; TPOT: p99 needs ≥ 736 effective samples, this run has 12 (80% lower bound of "
                      "an estimate)",
        "jargon": "same: distributions compared (Kolmogorov–Smirnov D = 0.000, p = 1)\n**Pass** means the percentile "
                  "is within the threshold with 99% confidence (MLPerf LoadGen's early-stopping rule)",
        "stutter": "### Bottleneck\n\nBottleneck — decode-bound: decode is 97% of end-to-end time; fitted robustly over "
                   "the 236 least-loaded requests (≤ 3 others in flight, not light load)",
        "file-paths": "| Serving stack | tools/testserver.py --profile baseline (OpenAI-compatible, streaming) |",
        # the final review's quote (round 9): a bound at the estimates under a bound headline
        "estimates-agree": "Saves at least $3.37 a month (estimate $9.63). … the monthly cost $27.84 → ≤ $18.21, "
                           "a saving of at least $9.63 a month.",
    }
    caveated = Built("caveated", {"page1": {"caveats": ["Optimized slower at concurrency 1, untested"]}}, {}, [])
    assert rule_caveats(caveated, "onepager-html", "Caveats: quality not measured.")
    assert not rule_caveats(caveated, "pdf", "Caveat: Optimized slower at\nconcurrency 1, untested — see Threats")
    assert rule_estimates_agree(summary_only, "md", "saves $1,775 a month (estimate $1,775); a saving of $1,776 a month")
    assert not rule_estimates_agree(summary_only, "md", "Saves at least $3.37 a month (estimate $9.63). … a saving of "
                                                        "$9.63 a month.")
    for name, text in cases.items():
        assert RULES[name](summary_only, "md", text), name
    assert rule_said_once(summary_only, "onepager-html", "Saves $60 a month†; no one-time cost.\nSaves $60 a month†.")
    assert rule_said_once(summary_only, "summary.json", "")
    assert rule_stutter(summary_only, "md", "the 24 count as less than one independent one")
    sweep = Built("sweep", {"sweep": {"sides": {}}, "findings": []}, {}, [])
    assert rule_sweep_requests(sweep, "onepager-html", "Workload: max concurrency 8; 24 requests per side; mean 128")
    assert not rule_sweep_requests(sweep, "onepager-html", "concurrency 1, 4 and 8; 24 requests per load point, 3 load "
                                                           "points a side")
    # the summary-only AIPerf case as the last review saw it: E2E p50 fail → pass, page 1 led by TTFT p99 −0.1%†
    obj = lambda m, p, v: {"metric": m, "percentile": p, "verdict": v}  # noqa: E731
    met = Built("met", {"findings": [{"kind": "slo", "key": "slo:0", "verdict": "same"},
                                     {"kind": "slo", "key": "slo:1", "verdict": "better"}],
                        "slo_results": {"baseline": {"objectives": [obj("ttft", 99.0, "fail"), obj("e2e", 50.0, "fail")]},
                                        "optimized": {"objectives": [obj("ttft", 99.0, "fail"), obj("e2e", 50.0, "pass")]}},
                        "page1": {"cards": [{"finding": "latency:ttft:p99"}, {"finding": "latency:e2e:p50"},
                                            {"finding": "cost"}]}}, {}, [])
    old = ("TTFT p99: 72.8 ms → 72.7 ms (−0.1%), a point value without an interval (summary-only data); end-to-end "
           "latency p50: 578 ms → 357 ms (−38%), a point value without an interval (summary-only data).")
    assert rule_newly_met(met, "md", old) and len(rule_newly_met(met, "summary.json", old + " now within its")) == 1
    # and passes the words that replace them
    assert not rule_counts_named(summary_only, "md", "Weighed for that percentile alone (cautiously), BF16's 100 requests "
                                 "count as 72 of the 736 needed for TTFT; so in counting requests over the limit these "
                                 "100 are worth 52 independent requests; so for an average of decode time the 100 "
                                 "requests are worth about 4 independent requests")
    assert not rule_jargon(summary_only, "md", "ok\n### A. Metric definitions\n- a Bonferroni correction; MLPerf")
    # and passes the words that replace them
    assert not rule_result(summary_only, "md", "TTFT p99 −0.1%† (72.8 ms → 72.7 ms); +10%, 100% and 0% of input cached")
    assert not rule_raw_keys(summary_only, "md", "C. How the inputs were read\n- AIPerf's 'time_to_first_token' is "
                                                 "TTFT here; From per_request_lifecycle_metrics.json: …\nD. Commands to reproduce")
    assert not rule_machine_words(summary_only, "md", "1 × CPU VM (8 vCPU) at $2.50 per instance-hour")


def test_machine_word_follows_the_name():
    """'GPU-hour' only for a GPU (or no name: the field's default meaning); a CPU VM is an instance."""
    for name in ("H100 80 GB", "GPU (assumed)", "L40S (assumed price)", "NVIDIA A10G", "A100-SXM-80GB", "MI300X",
                 "8 × H200", "RTX 4090", "T4", None):
        assert machine_word(name) == "GPU", name
    for name in ("CPU VM (8 vCPU)", "c7i.2xlarge", "m5.xlarge CPU"):
        assert machine_word(name) == "instance", name
    assert machine_word("TPU v5e") == "TPU"


def test_notes_both_sides_share_are_said_once():
    from casegen.analysis.study import merge_side_notes

    notes = ["A: same thing", "A: only A", "B: same thing", "B: only B", "a note of its own", "A: same thing"]
    assert merge_side_notes(notes, ("A", "B")) == ["Both sides: same thing", "A: only A", "B: only B",
                                                   "a note of its own"]
    assert merge_side_notes(["X: n", "X: n"], ("X", "X")) == ["X: n"]  # one label on both sides: kept as said
