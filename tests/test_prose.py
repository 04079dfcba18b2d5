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
    assert "90% of requests within it" in prose.sweep_intro("concurrency", (3, 4), "8", "90%")
    assert "MLPerf early stopping" in prose.sweep_intro("concurrency", (3, 4), "8", None)
    assert prose.throughput_caption("95%", True).endswith("differences here are not a verdict.")
    ns = prose.namespace()
    assert ns.NO_COST == prose.NO_COST and ns.ladder_intro is prose.ladder_intro
    assert not hasattr(ns, "namespace")
