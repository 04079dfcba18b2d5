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


def drop(obj, keys: set[str]):
    if isinstance(obj, dict):
        return {k: drop(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [drop(v, keys) for v in obj]
    return obj


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", type=Path)
    ap.add_argument("tool")
    ap.add_argument("version")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--blank-key", action="append", default=[],
                    help="in JSON files, replace the string value of this key by '' (prompt/response texts)")
    ap.add_argument("--drop-key", action="append", default=[],
                    help="in JSON files, remove this key from every object (fields casegen does not read)")
    ap.add_argument("--keep-metrics", default=None,
                    help="AIPerf JSON Lines: keep only these comma-separated keys of each record's 'metrics' "
                         "(the rest of every record unchanged)")
    ap.add_argument("--keep-metadata", default=None,
                    help="with --keep-metrics: keep only these comma-separated keys of each record's 'metadata'")
    ap.add_argument("--note", action="append", default=[], help="a paragraph to add to PROVENANCE")
    ap.add_argument("--one-server", action="store_true", help="A/A runs against one server process (PROVENANCE says so)")
    ap.add_argument("--dest", type=Path, default=Path(__file__).resolve().parent.parent / "tests" / "fixtures")
    args = ap.parse_args()
    args.dest = args.dest.resolve()
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
        if f.suffix == ".jsonl" and args.keep_metrics:
            keep = set(args.keep_metrics.split(","))
            lines = []
            for line in f.read_text(encoding="utf-8").splitlines():
                obj = json.loads(line) if line.strip() else None
                if isinstance(obj, dict) and isinstance(obj.get("metrics"), dict):
                    obj["metrics"] = {k: v for k, v in obj["metrics"].items() if k in keep}
                    if args.keep_metadata and isinstance(obj.get("metadata"), dict):
                        md_keep = set(args.keep_metadata.split(","))
                        obj["metadata"] = {k: v for k, v in obj["metadata"].items() if k in md_keep}
                    line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
                lines.append(line)
            out.write_text("\n".join(lines) + "\n", encoding="utf-8")
            compacted.append(str(rel))
        elif f.suffix == ".json" and (f.stat().st_size > 40_000 or args.blank_key or args.drop_key):
            obj = drop(blank(json.loads(f.read_text(encoding="utf-8")), set(args.blank_key)), set(args.drop_key))
            out.write_text(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
            compacted.append(str(rel))
        else:
            shutil.copyfile(f, out)
    commands = (args.raw / "commands.log").read_text(encoding="utf-8") if (args.raw / "commands.log").exists() else ""
    tool_cmds = "\n".join(ln for ln in commands.splitlines() if args.tool in ln or not ln.startswith("+ "))
    server = "\n".join(p.read_text(encoding="utf-8").splitlines()[0] for p in sorted(args.raw.glob("server-*.log"))
                       if p.read_text(encoding="utf-8").strip())
    extra = "".join([" --one-server" if args.one_server else "", " --dest " + str(args.dest.relative_to(Path(__file__).resolve().parent.parent)) if args.dest.is_relative_to(Path(__file__).resolve().parent.parent) and args.dest.name != "fixtures" else "",
                     *(f" --drop {d}" for d in args.drop), *(f" --blank-key {k}" for k in args.blank_key),
                     *(f" --drop-key {k}" for k in args.drop_key),
                     f" --keep-metrics {args.keep_metrics}" if args.keep_metrics else "",
                     f" --keep-metadata {args.keep_metadata}" if args.keep_metadata else ""])
    setup = ("""A/A runs: every run talks to ONE unchanged testserver.py process (nothing changed between
runs, so any two of them make a case where page 1 should say "no change").""" if args.one_server else """Two server processes stand for two configurations of one model:
  baseline  = testserver.py --profile baseline  (slower prefill and decode, stronger contention)
  optimized = testserver.py --profile optimized""")
    script = "tools/make_aa_fixtures.sh" if args.one_server else "tools/make_fixtures.sh"
    (dst / "PROVENANCE").write_text(f"""Real outputs of {args.tool} {args.version} (installed from the package index into its own venv),
generated on {dt.date.today().isoformat()} by {script} against tools/testserver.py on 127.0.0.1.

{setup}
Server settings as they printed them:
{server}

Tokens: one whitespace-separated word is one token, on the server and in the client (the offline
word-level tokenizer of tools/make_tokenizer.py is given to the client as its tokenizer).

Commands (paths under the raw output folder; sub-folders here keep the names of the output folders):
{tool_cmds}

Left out: logs, console dumps, inputs.json (the generated prompts){', ' + ', '.join(args.drop) if args.drop else ''}.
Texts blanked (string values replaced by ""): {', '.join(args.blank_key) if args.blank_key else 'none'}.
Keys removed from JSON objects (not read by casegen): {', '.join(args.drop_key) if args.drop_key else 'none'}.
JSON Lines records (AIPerf): {('metrics kept: ' + args.keep_metrics + ('; metadata kept: ' + args.keep_metadata if args.keep_metadata else '')) if args.keep_metrics else 'unchanged'}.
JSON re-serialised without indentation (same content): {', '.join(compacted) if compacted else 'none'}.
{"".join(n.strip() + chr(10) + chr(10) for n in args.note)}Regenerate: bash {script}{"" if args.one_server else " " + args.tool} && python tools/trim_fixtures.py $RAW {args.tool} {args.version}{extra}
""", encoding="utf-8")
    total = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
    print(f"{dst}: {total / 1024:.0f} kB")


if __name__ == "__main__":
    main()
