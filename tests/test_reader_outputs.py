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
* ``said-once`` — the one-pager states the saving once; a data note both sides share is said once.
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


RULES: dict[str, Callable[[Built, str, str], list[str]]] = {
    "result": rule_result, "ci-shown": rule_ci_shown, "dagger-legend": rule_dagger_legend,
    "machine-words": rule_machine_words, "raw-keys": rule_raw_keys, "empty-rows": rule_empty_rows,
    "speculation": rule_speculation, "queue-wait": rule_queue_wait, "said-once": rule_said_once}
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
    }
    for name, text in cases.items():
        assert RULES[name](summary_only, "md", text), name
    assert rule_said_once(summary_only, "onepager-html", "Saves $60 a month†; no one-time cost.\nSaves $60 a month†.")
    assert rule_said_once(summary_only, "summary.json", "")
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
