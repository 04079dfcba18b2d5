"""The fixtures made by tools/make_fixtures.sh send the prompt lengths their commands claim.

With the test server's word tokenizer, GuideLLM's ``prompt_tokens=128`` used to send prompts of
2–16 words (mean 9): GuideLLM decodes the first 128 token ids of some text with
``skip_special_tokens=True``, and "[UNK]" (every out-of-vocabulary word) was a special token.
tools/make_tokenizer.py now keeps "[UNK]" an ordinary token. Every request's prompt length, as the
server counted it (usage) and the client recorded it, must equal the length asked for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _guidellm_files() -> list[Path]:
    return sorted([*(FIXTURES / "guidellm" / "0.8.1").rglob("benchmarks.json"),
                   *(FIXTURES / "aa" / "guidellm").rglob("benchmarks.json")])


def _aiperf_files() -> list[Path]:
    return sorted(p for p in [*(FIXTURES / "aiperf" / "0.13.0").rglob("profile_export.jsonl"),
                              *(FIXTURES / "aa" / "aiperf").rglob("profile_export.jsonl")])


def test_there_are_fixtures_to_check():
    assert len(_guidellm_files()) >= 3 + 6 and len(_aiperf_files()) >= 5 + 6


@pytest.mark.parametrize("path", _guidellm_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_guidellm_prompts_have_the_claimed_length(path):
    d = json.loads(path.read_text(encoding="utf-8"))
    (data,) = [x for x in d["config"]["spec"]["data"] if x.get("kind") == "synthetic_text"]
    claimed = data["prompt_tokens"]
    assert claimed and data.get("prompt_tokens_stdev") in (None, 0)
    lengths = [r["prompt_tokens"] for b in d["benchmarks"] for r in b["requests"]["successful"]]
    assert lengths and set(lengths) == {claimed}, (claimed, sorted(set(lengths))[:10])


@pytest.mark.parametrize("path", _aiperf_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_aiperf_prompts_have_the_claimed_length(path):
    summary = json.loads((path.parent / "profile_export_aiperf.json").read_text(encoding="utf-8"))
    cmd = json.dumps(summary)
    claimed = int(re.search(r"--isl (\d+)", cmd).group(1))  # type: ignore[union-attr]
    assert re.search(r"--isl-stddev 0\b", cmd)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    ok = [r["metrics"] for r in records if "usage_prompt_tokens" in r.get("metrics", {})]
    assert ok
    assert {m["input_sequence_length"]["value"] for m in ok} == {claimed}  # what the client sent
    assert {m["usage_prompt_tokens"]["value"] for m in ok} == {claimed}  # what the server counted
