#!/usr/bin/env python3
"""Write an offline Hugging Face tokenizer folder where one whitespace-separated word is one token.

The benchmark clients tokenise prompts and responses with a Hugging Face tokenizer and would
otherwise download one. This folder loads with ``AutoTokenizer.from_pretrained(path)`` and
counts exactly what ``tools/testserver.py`` counts (words), so the clients' token counts and
the server's ``usage`` agree. Needs the ``tokenizers`` package (every benchmark venv has it).

    python tools/make_tokenizer.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from testserver import WORDS  # noqa: E402

# a small fixed vocabulary so synthetic prompts decode to words, not only [UNK]
EXTRA = ("the of and to in is that it for on with as was at by be this from or have an are not but had "
         "his they you were her she all which their one would there what so when can said who will more "
         "if no out do up time about into them some could him then than now other only its over also "
         "new two may first any these way most people after back our well even because good through "
         "long where much before little man must down great own old see year same right still work "
         "life tell world hand part while place made live day never under last might last think").split()


def build(out: Path) -> None:
    vocab = {"[UNK]": 0, "[EOS]": 1}
    for word in [*WORDS, *EXTRA]:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with single spaces
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    # "[UNK]" is deliberately NOT declared a special token: clients build prompts by encoding some text
    # and decoding the first N ids with skip_special_tokens=True (GuideLLM's synthetic_text), which
    # would drop every out-of-vocabulary word and send 2–16 words for prompt_tokens=128. Kept as an
    # ordinary token it decodes to the word "[UNK]", so a prompt of N ids is N words on the server.
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "[EOS]",
        "model_max_length": 1_000_000, "clean_up_tokenization_spaces": False}, indent=1))
    (out / "special_tokens_map.json").write_text(json.dumps({"eos_token": "[EOS]"}))


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "tokenizer"))
