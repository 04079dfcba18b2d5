"""Sentences live once: the HTML and Markdown templates print the report's fixed prose from
casegen.render.prose, so the two outputs cannot drift apart (issue 20)."""

import re
from pathlib import Path

import pytest

from casegen.render import prose
from casegen.resources import templates_dir

MIN_CHARS = 30  # a fragment this long, word for word in both flavours, is a copied sentence


def _texts(path: Path) -> set[str]:
    s = path.read_text(encoding="utf-8")
    s = re.sub(r"<[^>]+>", " ", s)  # markup
    s = re.sub(r"\{%.*?%\}", "\n", s, flags=re.S)  # statements split sentences
    out = set()
    for part in re.split(r"\n|\{\{.*?\}\}", s, flags=re.S):
        part = re.sub(r"[*_`|#>\\]", "", " ".join(part.split())).strip()
        if len(part) >= MIN_CHARS:
            out.add(part)
    return out


def _pairs() -> list[tuple[Path, Path]]:
    root = templates_dir()
    pairs = []
    for html in sorted(root.glob("**/*.html.j2")):
        md = html.with_name(html.name.replace(".html.j2", ".md.j2"))
        if md.exists():
            pairs.append((html, md))
    return pairs


def test_there_are_template_pairs_to_check():
    assert len(_pairs()) >= 15


@pytest.mark.parametrize("html,md", _pairs(), ids=lambda p: p.name)
def test_no_sentence_is_written_in_both_flavours(html: Path, md: Path):
    common = _texts(html) & _texts(md)
    assert not common, f"move these to casegen/render/prose.py: {sorted(common)}"


def test_the_detector_finds_a_copied_sentence(tmp_path):
    (tmp_path / "a.html.j2").write_text("<p>{{ x }} The change holds for every load point we measured.</p>")
    (tmp_path / "a.md.j2").write_text("**{{ x }}** The change holds for every load point we measured.\n")
    assert _texts(tmp_path / "a.html.j2") & _texts(tmp_path / "a.md.j2")


def test_sentence_functions_read_right():
    assert prose.still_valid([]) == "No latency comparison remains valid."
    assert prose.still_valid(["TPOT", "ITL"], "same tool") == "Comparisons that remain valid: TPOT, ITL — same tool."
    assert prose.parity_summary(30, 0, 0).endswith("all agree within 1%.")
    assert prose.parity_summary(30, 2, 1).endswith("2 differ by more than 1% (flagged), 1 of them for a reason "
                                                   "casegen cannot name.")
    # the pass rule in one sentence, for the kinds of points the sweeps have (issue 23): a share of requests
    # set for the sweep is said to be looser than the objectives' percentile, never printed beside it unexplained
    rule = prose.sweep_intro("concurrency", (3, 4), "8", "90%", ("per-request",), "p99")
    assert "passes when at least 90% of its requests meet every objective's limit at once" in rule
    assert "looser than the p99 the objectives name" in rule and "printed" not in rule
    rule = prose.sweep_intro("rate", (3, 3), "rate 1 req/s", "90%", ("summary",), "p99")
    assert "90%" not in rule and "as the tool printed it, is within the limit." in rule
    rule = prose.sweep_intro("concurrency", (3, 3), "8", None, ("per-request", "summary"), "p90")
    assert "recomputed from its requests" in rule and "(for points with summary statistics only)" in rule
    assert prose.throughput_caption("95%", True).endswith("differences here are not a verdict.")
    # appendix A: a summary-only case says in one line what could not be computed and why (issue 23)
    none = prose.intervals_method("linear", "95%", "1,000", ["Baseline", "Optimized"])
    assert none.startswith("Not computed: Baseline and Optimized carried only the tool's summary statistics")
    assert "Holm" not in none and "bootstrap" not in none and none.count(". ") == 0
    assert prose.percentile_rule("linear", ["Baseline", "Optimized"]).startswith("As each benchmark tool printed them")
    full = prose.intervals_method("linear", "95%", "1,000")
    assert "tested together as one corrected family" in full and len(full) < 700
    assert prose.percentile_rule("nearest").startswith("NumPy nearest")
    ns = prose.namespace()
    assert ns.NO_COST == prose.NO_COST and ns.ladder_intro is prose.ladder_intro
    assert not hasattr(ns, "namespace")


def test_reader_sentences_give_the_author_no_instructions():
    """The reader's copy says what was found, never what the case author should run or edit
    (issue 23): such advice goes to the CLI (Report.author_actions)."""
    texts = [prose.parity_largest("0.00%", "FP8", "TPOT", "std"), prose.parity_listed(48),
             prose.parity_summary(30, 2, 1)] + [prose.priced_throughput(k) or "" for k in ("capacity", "stated", "measured")]
    texts += [v for v in vars(prose).values() if isinstance(v, str)]
    for text in texts:
        assert not re.search(r"summary\.json|case\.yaml|--[a-z]|\brerun\b|\brun again\b", text), text
    assert prose.priced_throughput(None) is None


def test_templates_carry_no_author_instructions():
    """No template prints an instruction to the case author ('No trade-offs were recorded', 'add …
    under reproduce:', '--layout full')."""
    for path in sorted(templates_dir().glob("**/*.j2")):
        if "new" in path.parts:  # the scaffold `casegen new` writes is for the author
            continue
        text = re.sub(r"\{[{%#].*?[}%#]\}", " ", path.read_text(encoding="utf-8"), flags=re.S)
        for phrase in ("were recorded", "add them", "Add it", "--layout", "--save-detailed", "summary.json"):
            assert phrase not in text, (path.name, phrase)
