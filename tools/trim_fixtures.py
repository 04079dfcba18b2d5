#!/usr/bin/env python3
"""Copy the raw outputs of tools/make_fixtures.sh into tests/fixtures/<tool>/<version>/ and write PROVENANCE.

    python tools/trim_fixtures.py RAW_DIR TOOL VERSION [--drop GLOB ...]

What is left out (and nothing else changes): logs, console dumps, the tools' copies of the
generated prompts (``inputs.json``), and the paths given with ``--drop``. JSON files larger than
40 kB are re-serialised without indentation (same keys, same values, same order), so the
fixtures stay small; JSON Lines and CSV files are copied byte for byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import shutil
from pathlib import Path

SKIP = ("*.log", "logs", "inputs.json", "profile_export_console.txt", ".aiperf_results_ready.json", "*.yml.bak")


def skipped(rel: Path, drops: list[str]) -> bool:
    parts = rel.parts
    return any(fnmatch.fnmatch(p, pat) for p in parts for pat in SKIP) or any(
        fnmatch.fnmatch(str(rel), pat) for pat in drops)


def blank(obj, keys: set[str]):
    if isinstance(obj, dict):
        return {k: ("" if k in keys and isinstance(v, str) else blank(v, keys)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [blank(v, keys) for v in obj]
    return obj


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", type=Path)
    ap.add_argument("tool")
    ap.add_argument("version")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--blank-key", action="append", default=[],
                    help="in JSON files, replace the string value of this key by '' (prompt/response texts)")
    ap.add_argument("--dest", type=Path, default=Path(__file__).resolve().parent.parent / "tests" / "fixtures")
    args = ap.parse_args()
    src = args.raw / args.tool
    dst = args.dest / args.tool / args.version
    if dst.exists():
        shutil.rmtree(dst)
    compacted = []
    for f in sorted(src.rglob("*")):
        rel = f.relative_to(src)
        if not f.is_file() or skipped(rel, args.drop):
            continue
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if f.suffix == ".json" and (f.stat().st_size > 40_000 or args.blank_key):
            obj = blank(json.loads(f.read_text(encoding="utf-8")), set(args.blank_key))
            out.write_text(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
            compacted.append(str(rel))
        else:
            shutil.copyfile(f, out)
    commands = (args.raw / "commands.log").read_text(encoding="utf-8") if (args.raw / "commands.log").exists() else ""
    tool_cmds = "\n".join(ln for ln in commands.splitlines() if args.tool in ln or not ln.startswith("+ "))
    server = "\n".join(p.read_text(encoding="utf-8").splitlines()[0] for p in sorted(args.raw.glob("server-*.log"))
                       if p.read_text(encoding="utf-8").strip())
    (dst / "PROVENANCE").write_text(f"""Real outputs of {args.tool} {args.version} (installed from the package index into its own venv),
generated on {dt.date.today().isoformat()} by tools/make_fixtures.sh against tools/testserver.py on 127.0.0.1.

Two server processes stand for two configurations of one model:
  baseline  = testserver.py --profile baseline  (slower prefill and decode, stronger contention)
  optimized = testserver.py --profile optimized
Server settings as they printed them:
{server}

Tokens: one whitespace-separated word is one token, on the server and in the client (the offline
word-level tokenizer of tools/make_tokenizer.py is given to the client as its tokenizer).

Commands (paths under the raw output folder; sub-folders here keep the names of the output folders):
{tool_cmds}

Left out: logs, console dumps, inputs.json (the generated prompts){', ' + ', '.join(args.drop) if args.drop else ''}.
Texts blanked (string values replaced by ""): {', '.join(args.blank_key) if args.blank_key else 'none'}.
JSON re-serialised without indentation (same content): {', '.join(compacted) if compacted else 'none'}.
Regenerate: bash tools/make_fixtures.sh {args.tool} && python tools/trim_fixtures.py $RAW {args.tool} {args.version}
""", encoding="utf-8")
    total = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
    print(f"{dst}: {total / 1024:.0f} kB")


if __name__ == "__main__":
    main()
