#!/usr/bin/env python3
"""Prompt files for tools/make_case_examples.sh, and the compaction of its outputs (not part of casegen).

    python tools/make_prompts.py RAW_DIR                 # writes RAW_DIR/prompts-{full,trimmed,teardown}.jsonl
    python tools/make_prompts.py --compact SRC.json DST  # blank prompt/answer texts, compact JSON

Prompts are words of tools/testserver.py's vocabulary (one word = one token on the server and in the
offline word tokenizer), seeded: 240 prompts of 1,000 ± 300 words (300–1,700) and the same prompts cut to
their first 60 % of words; 300 prompts of 100–1,600 words for the teardown sweep (100 per load point). Each row asks for 64
(teardown: 48) output tokens.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from testserver import WORDS  # noqa: E402
from trim_fixtures import blank  # noqa: E402


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    if sys.argv[1] == "--compact":
        src, dst = Path(sys.argv[2]), Path(sys.argv[3])
        obj = blank(json.loads(src.read_text(encoding="utf-8")), {"request_args", "output"})
        dst.write_text(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
        return
    raw = Path(sys.argv[1])
    rng = random.Random(25)
    full, trimmed, teardown = [], [], []
    for _ in range(240):
        n = max(300, min(1700, round(rng.gauss(1000, 300))))
        words = [rng.choice(WORDS) for _ in range(n)]
        full.append({"prompt": " ".join(words), "output_tokens_count": 64})
        trimmed.append({"prompt": " ".join(words[: round(0.6 * n)]), "output_tokens_count": 64})
    for _ in range(300):  # 100 per load point of the sweep
        n = rng.randint(100, 1600)
        teardown.append({"prompt": " ".join(rng.choice(WORDS) for _ in range(n)), "output_tokens_count": 48})
    write_jsonl(raw / "prompts-full.jsonl", full)
    write_jsonl(raw / "prompts-trimmed.jsonl", trimmed)
    write_jsonl(raw / "prompts-teardown.jsonl", teardown)


if __name__ == "__main__":
    main()
