"""Fuzz every importer (and the case.yaml loader) with mutated real files; count tracebacks.

Usage: python benchmarks/fuzz.py [--per-target 10000] [--seed 0] [--only vllm,sglang] [--timeout-s 10]

Seeds are the real tool outputs under tests/fixtures/ (the smallest few per format, with their
sibling files so folder-aware importers see a realistic layout), casegen's own CSV/JSONL and
the hostile base case.yaml. Each input is one seed with 1–3 random mutations: truncation,
byte flips and control bytes, dropped/duplicated lines, numbers turned into text, negated,
NaN/Infinity/huge or 5,000-digit numbers, renamed keys, emptied lists, deep nesting, and
invalid UTF-8. The only acceptable outcomes of reading (and computing metrics of) a mutated
file are runs or a CasegenError; anything else (a floating-point overflow included) — or an input that takes longer than
``--timeout-s`` — is a finding, printed grouped by exception type and the casegen line that
raised it, with a reproducer file kept under ``--keep DIR``.

The ``lm-eval`` target reads mutated lm-evaluation-harness ``results_*.json`` files (the real
0.4.13 fixtures) through casegen.analysis.quality — the same mutations plus structural ones
(a key's value replaced by a nested list, a string, a huge or deep value, a mapping where a list
belongs and the reverse) — and compares, summarises and serialises what it read.

Prints one line per target (inputs, clean errors, parsed, findings, inputs/s) and exits 1 if
there is any finding. The slow test tests/test_fuzz_slow.py runs this at 10,000 per target.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from casegen.analysis import quality  # noqa: E402
from casegen.analysis.metrics import compute_run_metrics  # noqa: E402
from casegen.case.model import parse_case  # noqa: E402
from casegen.errors import CasegenError  # noqa: E402
from casegen.runs import detect_format, load_runs  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SEEDS_PER_TARGET = 3
MAX_SEED_BYTES = 120_000


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise _Timeout()


# ------------------------------------------------------------------ mutations

_NUM = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:')
_LIST = re.compile(r"\[[^\[\]]*\]")


def _pick(rng: random.Random, matches: list) -> re.Match | None:
    return rng.choice(matches) if matches else None


def mutate_once(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", "surrogateescape")
    kind = rng.randrange(16)
    n = len(data)
    i = rng.randrange(n + 1) if n else 0
    if kind == 0:
        return data[:i]
    if kind == 1 and n:
        return data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]
    if kind == 2:
        return data[:i] + rng.choice([b"\x00", b"\xff\xfe", b"\r", b"\x1b[31m", b"\xe2\x80\xae"]) + data[i:]
    lines = text.splitlines(keepends=True)
    j = rng.randrange(len(lines)) if lines else 0
    if kind == 3 and lines:
        return "".join(lines[:j] + lines[j + 1:]).encode("utf-8", "surrogateescape")
    if kind == 4 and lines:
        return "".join(lines[:j + 1] + lines[j:]).encode("utf-8", "surrogateescape")
    nums = list(_NUM.finditer(text))
    m = _pick(rng, nums)
    replacements = ['"oops"', "-1", "0", "NaN", "Infinity", "-Infinity", "1e308", "-1e308", "9" * 5000,
                    "null", "true", "[]", "{}", '""', "1e-320", "18446744073709551616"]
    if kind in (5, 6, 7) and m:
        new = rng.choice(replacements) if kind != 6 else "-" + m.group(0).lstrip("-")
        return (text[:m.start()] + new + text[m.end():]).encode("utf-8", "surrogateescape")
    keys = list(_KEY.finditer(text))
    m = _pick(rng, keys)
    if kind == 8 and m:
        return (text[:m.start()] + '"zz_renamed":' + text[m.end():]).encode("utf-8", "surrogateescape")
    if kind == 9 and m:  # drop the key's value type: key: {} / [] / "x"
        val = rng.choice(["{}", "[]", '"x"', "null", "[[[]]]"])
        end = m.end()
        nxt = re.search(r"[,}\]]", text[end:])
        stop = end + (nxt.start() if nxt else 0)
        return (text[:end] + val + text[stop:]).encode("utf-8", "surrogateescape")
    lists = list(_LIST.finditer(text))
    m = _pick(rng, lists)
    if kind == 10 and m:
        return (text[:m.start()] + "[]" + text[m.end():]).encode("utf-8", "surrogateescape")
    if kind == 11:  # deep nesting somewhere
        depth = rng.choice([50, 2000, 100_000])
        return data[:i] + b"[" * depth + b"]" * depth + data[i:]
    if kind == 12 and lines:  # a long line
        return "".join(lines[:j] + ["x" * rng.choice([10_000, 200_000]) + "\n"] + lines[j:]).encode(
            "utf-8", "surrogateescape")
    if kind == 13 and nums:  # scale a number
        m = rng.choice(nums)
        try:
            value = float(m.group(0)) * rng.choice([1000, 1e-6, -1, 1e300])
        except OverflowError:
            value = float("inf")
        return (text[:m.start()] + repr(value) + text[m.end():]).encode("utf-8", "surrogateescape")
    if kind == 14 and n:  # swap two halves
        return data[i:] + data[:i]
    if kind == 15 and lines:  # CSV: drop a field
        parts = lines[j].split(",")
        if len(parts) > 1:
            del parts[rng.randrange(len(parts))]
            lines[j] = ",".join(parts)
            return "".join(lines).encode("utf-8", "surrogateescape")
    return data


def mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.choice([1, 1, 2, 3])):
        data = mutate_once(data, rng)
    return data


# ------------------------------------------------------------------ targets


@dataclass
class Target:
    name: str
    seeds: list[Path]
    counts: Counter = field(default_factory=Counter)
    findings: dict = field(default_factory=lambda: defaultdict(list))  # finding -> up to 3 inputs
    finding_counts: Counter = field(default_factory=Counter)


_LM_EVAL_VALUES = [[[1]], [], {}, "x", None, True, -1, 10**40, 1e308, float("nan"), {"a": {"b": [1, {"c": "N/A"}]}},
                   ["acc"], "token=hf_abcdefghijkl", {"acc,none": "1"}, [[[[[[[[[[]]]]]]]]]]]


def mutate_lm_eval(data: bytes, rng: random.Random) -> bytes:
    """Structural mutations of an lm-eval results file (each nested value may be swapped for a
    hostile one), then the byte-level ones of :func:`mutate` half the time."""
    try:
        doc = json.loads(data)
    except ValueError:
        return mutate(data, rng)
    for _ in range(rng.randint(1, 3)):
        node = doc
        for _depth in range(rng.randint(0, 3)):  # walk down to a random mapping or list
            children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
            children = [c for c in children if isinstance(c, (dict, list)) and c]
            if not children:
                break
            node = rng.choice(children)
        value = copy.deepcopy(rng.choice(_LM_EVAL_VALUES))
        if isinstance(node, dict) and node:
            node[rng.choice(list(node))] = value
        elif isinstance(node, list) and node:
            node[rng.randrange(len(node))] = value
    out = json.dumps(doc).encode()
    return mutate(out, rng) if rng.random() < 0.5 else out


def _lm_eval_seeds() -> list[Path]:
    return sorted((FIXTURES / "lm-eval").rglob("results_*.json"))


def _casegen_seeds(tmp: Path) -> dict[str, list[Path]]:
    csv_seed = FIXTURES / "hostile" / "runs" / "baseline.csv"
    rows = csv_seed.read_text().splitlines()
    header = rows[0].split(",")
    jsonl = tmp / "seed-casegen.jsonl"
    with jsonl.open("w") as fh:
        for row in rows[1:20]:
            obj = {}
            for k, v in zip(header, row.split(",")):
                obj[k] = v if k == "error" else float(v)
            fh.write(json.dumps(obj) + "\n")
    return {"casegen-csv": [csv_seed], "casegen-jsonl": [jsonl]}


def discover_targets(tmp: Path) -> list[Target]:
    by_format: dict[str, list[Path]] = defaultdict(list)
    for p in sorted(FIXTURES.rglob("*")):
        if (p.is_file() and p.suffix in (".json", ".jsonl", ".csv") and "hostile" not in p.parts
                and p.stat().st_size <= MAX_SEED_BYTES):
            try:
                by_format[detect_format(p)].append(p)
            except CasegenError:
                continue
    by_format.update(_casegen_seeds(tmp))
    targets = [Target(name, sorted(paths, key=lambda q: q.stat().st_size)[:SEEDS_PER_TARGET])
               for name, paths in sorted(by_format.items())]
    targets.append(Target("case.yaml", [FIXTURES / "hostile" / "case" / "base.yaml"]))
    targets.append(Target("lm-eval", _lm_eval_seeds()))
    return targets


def _where(err: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "/casegen/" in f.filename]
    f = frames[-1] if frames else traceback.extract_tb(err.__traceback__)[-1]
    return f"{Path(f.filename).name}:{f.lineno} ({f.name})"


def run_one(target: Target, seed: Path, data: bytes, workdir: Path, timeout_s: float) -> str:
    """'parsed', 'error' (a CasegenError) or 'finding:<Type> at <where>: <message>'."""
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        if target.name == "case.yaml":
            parse_case(data.decode("utf-8", "replace"), "case.yaml")
            return "parsed"
        path = workdir / seed.name
        path.write_bytes(data)
        if target.name == "lm-eval":  # read, compare with the unmutated file, summarise, serialise
            mutated = quality.read_lm_eval(path)
            original = quality.read_lm_eval(seed)
            for base, opt in ((mutated, original), (original, mutated)):
                try:
                    qc = quality.compare(base, opt, 0.01, 0.95)
                except CasegenError:
                    continue
                json.dumps(quality.summary_dict(qc), allow_nan=True)
                quality.one_line(qc)
            if "hf_abcdefghijkl" in repr(mutated):
                return "finding:a token reached what casegen read"
            return "parsed"
        for run in load_runs(path):
            compute_run_metrics(run)
        return "parsed"
    except CasegenError as err:
        if not str(err):
            return "finding:empty CasegenError message"
        return "error"
    except _Timeout:
        return f"finding:timeout over {timeout_s:g} s"
    except Exception as err:  # the point of fuzzing: every other exception is a finding
        return f"finding:{type(err).__name__} at {_where(err)}: {str(err)[:100]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def fuzz(*args, **kwargs):
    """:func:`_fuzz` with floating-point overflow raised: a value that overflows a statistic (a
    std of 1e308) must be refused on reading, so the overflow counts as a finding instead of a
    warning scrolling past (the slow test calls this too)."""
    with np.errstate(over="raise"):
        return _fuzz(*args, **kwargs)


def _fuzz(per_target: int = 10_000, seed: int = 0, only: set[str] | None = None, timeout_s: float = 10.0,
         keep: Path | None = None, say=print) -> list[Target]:
    signal.signal(signal.SIGALRM, _alarm)
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="casegen-fuzz-"))
    try:
        targets = [t for t in discover_targets(tmp) if not only or t.name in only]
        for target in targets:
            t0 = time.perf_counter()
            workdirs = []
            for k, s in enumerate(target.seeds):  # a copy of the seed's folder: siblings stay realistic
                wd = tmp / f"{target.name}-{k}"
                wd.mkdir()
                if target.name != "case.yaml":
                    for sib in s.parent.iterdir():
                        if sib.is_file() and sib.stat().st_size <= 2_000_000:
                            shutil.copy(sib, wd / sib.name)
                workdirs.append(wd)
            originals = [s.read_bytes() for s in target.seeds]
            for i in range(per_target):
                k = i % len(target.seeds)
                data = (mutate_lm_eval if target.name == "lm-eval" else mutate)(originals[k], rng)
                outcome = run_one(target, target.seeds[k], data, workdirs[k], timeout_s)
                if outcome.startswith("finding:"):
                    key = outcome[len("finding:"):]
                    target.counts["findings"] += 1
                    target.finding_counts[key] += 1
                    if len(target.findings[key]) < 3:
                        target.findings[key].append(data)
                else:
                    target.counts[outcome] += 1
            dt = time.perf_counter() - t0
            c = target.counts
            say(f"{target.name:16} {per_target:7,} inputs  {c['error']:7,} clean errors  {c['parsed']:7,} parsed  "
                f"{c['findings']:5,} findings  {per_target / dt:7,.0f} inputs/s")
            for key, examples in sorted(target.findings.items()):
                say(f"    finding ×{target.finding_counts[key]:,}: {key}")
                if keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    for n, ex in enumerate(examples):
                        safe = re.sub(r"[^A-Za-z0-9]+", "_", key)[:60]
                        (keep / f"{target.name}-{safe}-{n}{target.seeds[0].suffix}").write_bytes(ex)
        return targets
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-target", type=int, default=10_000, help="mutated inputs per importer (default 10,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, help="comma-separated target names (formats, or case.yaml)")
    ap.add_argument("--timeout-s", type=float, default=10.0, help="an input slower than this is a finding")
    ap.add_argument("--keep", type=Path, default=None, help="folder for reproducers of findings")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    targets = fuzz(args.per_target, args.seed, only, args.timeout_s, args.keep)
    total = sum(t.counts["findings"] for t in targets)
    print(f"total: {sum(sum(t.counts.values()) for t in targets):,} inputs, {total:,} findings")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
