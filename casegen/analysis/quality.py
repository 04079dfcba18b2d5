"""Measured quality: lm-evaluation-harness result files compared against a tolerance.

``read_lm_eval(path)`` reads a ``results_*.json`` written by lm-evaluation-harness (0.4.x, checked
against 0.4.13): per task (and group), each ``"<metric>,<filter>"`` value with its
``"<metric>_stderr,<filter>"``, the number of samples (``sample_len``, ``n-samples.effective`` or a
group's ``sample_count``), the task's version, n-shot and ``higher_is_better``.

``compare(base, opt, tolerance, confidence)`` gives, per task and metric present in both files::

    delta        = optimized − baseline                      (metric units, e.g. accuracy 0–1)
    loss         = −delta if higher is better, else delta   (how much worse the optimized side is)
    se(delta)    = √(se_b² + se_o²)                         (the harness's standard errors, independent runs)
    interval     = delta ± z · se(delta),  z = Φ⁻¹((1 + confidence) / 2)
    verdict      = within        if the interval's worst-case loss ≤ tolerance
                   outside       if its best-case loss > tolerance
                   inconclusive  otherwise, or when a file has no stderr for the metric

The two runs score the same items, so a paired comparison of per-sample results (``--log_samples``)
would give a narrower interval; from result files alone the unpaired interval is the honest one
(it is conservative when the two runs' per-item scores are positively correlated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

from casegen.errors import CasegenError
from casegen.runs.fields import is_secret_key, scrub_text, sub_object
from casegen.runs.jsonio import kind_of, parse_json_bounded
from casegen.safe_io import find_files, inside_case, read_text_capped

STDERR_SUFFIX = "_stderr"


@dataclass(frozen=True)
class Score:
    task: str
    metric: str  # "acc" or "acc,flexible-extract" when the filter is not "none"
    value: float
    stderr: float | None
    n: int | None
    higher_is_better: bool | None
    version: Any = None
    n_shot: Any = None
    is_group: bool = False


@dataclass
class EvalFile:
    path: str
    lm_eval_version: str | None
    model: str | None
    scores: dict[tuple[str, str], Score]


#: an lm-eval results file is a few hundred KiB even for large task groups (MMLU: ~300 KiB)
MAX_LM_EVAL_BYTES = 32 * 1024 * 1024
#: task metrics one file may hold (the whole MMLU/BBH/... families together are a few thousand)
MAX_LM_EVAL_SCORES = 20_000
#: metadata strings (model, version) shown in a report are cut to this many characters
MAX_META_CHARS = 300
_EXPECTED = "a results_*.json written by lm-evaluation-harness"


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None  # the harness writes "N/A" when it has no stderr
    if isinstance(x, int) and abs(x) > 1e15:
        return None
    return float(x) if math.isfinite(x) else None


def _mapping(data: dict[str, Any], key: str, p: Path) -> dict[str, Any]:
    """``data[key]`` if it is a mapping, {} if absent; a CasegenError naming the key otherwise."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CasegenError(f"'{key}' is {kind_of(value)}", file=p, where=f"key {key}",
                           expected=f"a mapping of task names, as in {_EXPECTED}")
    return value


def _meta(value: Any) -> Any:
    """A metadata value (task version, n-shot, model): a number as it is, text short and scrubbed;
    None if it is neither."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if not isinstance(value, str):
        return value
    text = scrub_text(value)
    return text if len(text) <= MAX_META_CHARS else text[:MAX_META_CHARS] + "…"


def _model_args(args: Any) -> str | None:
    """lm-eval's ``config.model_args`` (a 'k=v,k=v' string, or a mapping in newer versions) as
    scrubbed text: tokens and keys never reach a report."""
    if isinstance(args, dict):
        args = ",".join(f"{k}={'***' if is_secret_key(str(k)) else v}" for k, v in args.items()
                        if isinstance(v, (str, int, float, bool)))
    if not isinstance(args, str) or not args:
        return None
    parts = [f"{k}=***" if sep and is_secret_key(k.strip()) else f"{k}{sep}{v}"
             for k, sep, v in (item.partition("=") for item in args.split(","))]
    return ",".join(parts)


def find_result_file(folder: Path) -> Path:
    """The one ``results_*.json`` under ``folder`` (bounded search that does not follow links)."""
    found = find_files(folder, lambda name: name.startswith("results_") and name.endswith(".json"),
                       what="lm-eval result folder")
    if len(found) != 1:
        raise CasegenError(f"{'no' if not found else len(found)} lm-eval result files (results_*.json) in the folder",
                           file=folder, expected="a folder with exactly one results_*.json, or the file's path")
    return found[0]


def read_lm_eval(path: str | Path) -> EvalFile:
    """Read one lm-evaluation-harness ``results_*.json`` (clear CasegenError on anything else).

    Read like every input (casegen.safe_io): a regular file within MAX_LM_EVAL_BYTES, inside the
    case folder unless trusted; a folder is searched a few levels down without following links;
    JSON nesting and integer sizes are bounded (casegen.runs.jsonio.parse_json_bounded); the
    model's arguments are scrubbed of tokens and keys."""
    p = Path(path)
    if p.is_dir():
        inside_case(p, what="lm-eval result folder")
        p = find_result_file(p)
    if not p.exists() and not p.is_symlink():
        raise CasegenError("lm-eval result file not found", file=p, expected=_EXPECTED)
    text = read_text_capped(p, MAX_LM_EVAL_BYTES, what="lm-eval result file", expected=_EXPECTED)
    data = parse_json_bounded(text, p, _EXPECTED)
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise CasegenError("no 'results' mapping", file=p, where="key results",
                           expected="an lm-evaluation-harness results file (results_*.json)")
    hib = _mapping(data, "higher_is_better", p)
    versions = _mapping(data, "versions", p)
    nshot = _mapping(data, "n-shot", p)
    nsamples = _mapping(data, "n-samples", p)
    group_subtasks = _mapping(data, "group_subtasks", p)
    groups = set(group_subtasks)
    scores: dict[tuple[str, str], Score] = {}
    for task, row in data["results"].items():
        if not isinstance(row, dict):
            raise CasegenError(f"task '{task[:80]}' is {kind_of(row)}", file=p, where=f"key results.{task[:80]}",
                               expected="a mapping of metric names to values")
        n_task = row.get("sample_len")
        if not isinstance(n_task, int):
            ns = nsamples.get(task)
            n_task = ns.get("effective") if isinstance(ns, dict) else None
        counts = sub_object(row, "sample_count")
        for key, value in row.items():
            if "," not in key or STDERR_SUFFIX + "," in key:
                continue
            metric, filt = key.split(",", 1)
            v = _num(value)
            if v is None:
                continue
            if len(scores) >= MAX_LM_EVAL_SCORES:
                raise CasegenError(f"holds more than {MAX_LM_EVAL_SCORES:,} task metrics", file=p, where="key results",
                                   expected=_EXPECTED)
            name = metric if filt == "none" else f"{metric},{filt}"
            se = _num(row.get(f"{metric}{STDERR_SUFFIX},{filt}"))
            n = counts.get(key) if isinstance(counts.get(key), int) else n_task
            h = sub_object(hib, task).get(metric)
            scores[(task, name)] = Score(task, name, v, se, n if isinstance(n, int) and n >= 0 else None,
                                         h if isinstance(h, bool) else None, _meta(versions.get(task)),
                                         _meta(nshot.get(task)), task in groups)
    if not scores:
        raise CasegenError("no numeric metric in 'results'", file=p, where="key results",
                           expected="tasks with values such as \"acc,none\": 0.71")
    cfg = sub_object(data, "config")
    model = _meta(data.get("model_name")) if isinstance(data.get("model_name"), str) else None
    if isinstance(cfg.get("model"), str):
        args = _model_args(cfg.get("model_args"))
        model = _meta(cfg["model"] + (f" ({args})" if args else ""))
    version = _meta(data.get("lm_eval_version")) if isinstance(data.get("lm_eval_version"), str) else None
    return EvalFile(str(p), version, model, scores)


@dataclass
class QualityRow:
    task: str
    metric: str
    baseline: float
    optimized: float
    delta: float  # optimized − baseline
    loss: float  # how much worse (positive = worse)
    ci: tuple[float, float] | None  # interval of delta
    n_baseline: int | None
    n_optimized: int | None
    higher_is_better: bool
    verdict: str  # within / outside / inconclusive
    reason: str


@dataclass
class QualityComparison:
    tolerance: float
    confidence: float
    rows: list[QualityRow]
    files: dict[str, str]
    lm_eval_versions: dict[str, str | None]
    models: dict[str, str | None]
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """outside if any row is outside, inconclusive if any is, else within."""
        kinds = {r.verdict for r in self.rows}
        return "outside" if "outside" in kinds else "inconclusive" if "inconclusive" in kinds else "within"


def judge(delta: float, se: float | None, tolerance: float, higher_is_better: bool,
          confidence: float) -> tuple[tuple[float, float] | None, str, str]:
    """Interval of delta and the verdict against the tolerance (see the module docstring)."""
    if se is None:
        return None, "inconclusive", "no standard error in a result file, so no interval"
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    lo, hi = delta - z * se, delta + z * se
    worst_loss, best_loss = (-lo, -hi) if higher_is_better else (hi, lo)
    if worst_loss <= tolerance:
        return (lo, hi), "within", f"even the worst case of the interval loses at most {worst_loss:.4g} ≤ {tolerance:g}"
    if best_loss > tolerance:
        return (lo, hi), "outside", f"even the best case of the interval loses {best_loss:.4g} > {tolerance:g}"
    return (lo, hi), "inconclusive", (f"the interval allows a loss from {best_loss:.4g} to {worst_loss:.4g}, "
                                      f"on both sides of {tolerance:g}")


def _only(keys: list[tuple[str, str]], part: int, wanted: list[str] | None, noun: str, where: str,
          expected: str) -> list[tuple[str, str]]:
    """The (task, metric) ``keys`` whose ``part`` (0 task, 1 metric) is ``wanted`` (all when not
    given); a CasegenError naming what is missing from the keys of both files."""
    if not wanted:
        return keys
    missing = [w for w in wanted if not any(k[part] == w for k in keys)]
    if missing:
        have = sorted({k[part] for k in keys})
        raise CasegenError(f"{noun} {', '.join(missing)} not in both lm-eval result files", where=where,
                           expected=expected + ", ".join(have))
    return [k for k in keys if k[part] in wanted]


def compare(base: EvalFile, opt: EvalFile, tolerance: float, confidence: float, *,
            tasks: list[str] | None = None, metrics: list[str] | None = None,
            higher_is_better: bool | None = None, where: str = "quality.lm_eval") -> QualityComparison:
    """Every (task, metric) in both files (or the listed ones), with delta, interval, verdict and n."""
    keys = [k for k in base.scores if k in opt.scores]
    keys = _only(keys, 0, tasks, "task(s)", f"{where}.tasks", "tasks of both files: ")
    keys = _only(keys, 1, metrics, "metric(s)", f"{where}.metrics", "one of: ")
    if not keys:
        raise CasegenError("the two lm-eval result files have no task and metric in common", where=where,
                           expected="results of the same tasks for baseline and optimized")
    rows = []
    notes = []
    for k in keys:
        b, o = base.scores[k], opt.scores[k]
        hib = higher_is_better if higher_is_better is not None else (b.higher_is_better if b.higher_is_better
                                                                      is not None else True)
        delta = o.value - b.value
        se = math.hypot(b.stderr, o.stderr) if b.stderr is not None and o.stderr is not None else None
        ci, verdict, reason = judge(delta, se, tolerance, hib, confidence)
        rows.append(QualityRow(k[0], k[1], b.value, o.value, delta, -delta if hib else delta, ci, b.n, o.n, hib,
                               verdict, reason))
        if b.version != o.version:
            notes.append(f"{k[0]}: task version {b.version} (baseline) vs {o.version} (optimized); scores may "
                         "not be comparable")
        if b.n_shot != o.n_shot:
            notes.append(f"{k[0]}: {b.n_shot}-shot (baseline) vs {o.n_shot}-shot (optimized)")
        if b.n is not None and o.n is not None and b.n != o.n:
            notes.append(f"{k[0]}: {b.n} samples (baseline) vs {o.n} (optimized); not the same items")
    return QualityComparison(tolerance, confidence, rows, {"baseline": base.path, "optimized": opt.path},
                             {"baseline": base.lm_eval_version, "optimized": opt.lm_eval_version},
                             {"baseline": base.model, "optimized": opt.model}, list(dict.fromkeys(notes)))


def one_line(qc: QualityComparison) -> str:
    """'toy_suite acc 0.372 → 0.354 (−0.018 [−0.075, +0.039]) …; inconclusive against a tolerance of 0.01'."""
    counts = {v: sum(r.verdict == v for r in qc.rows) for v in ("within", "outside", "inconclusive")}
    parts = [f"{n} {v}" for v, n in counts.items() if n]
    return (f"lm-eval, {len(qc.rows)} task metric(s) against a tolerance of {qc.tolerance:g}: " + ", ".join(parts))


def summary_dict(qc: QualityComparison) -> dict[str, Any]:
    return {
        "tolerance": qc.tolerance, "confidence": qc.confidence, "verdict": qc.verdict,
        "files": {k: Path(v).name for k, v in qc.files.items()}, "lm_eval_versions": qc.lm_eval_versions,
        "models": qc.models, "notes": qc.notes,
        "rows": [{"task": r.task, "metric": r.metric, "baseline": r.baseline, "optimized": r.optimized,
                  "delta": r.delta, "ci": list(r.ci) if r.ci else None, "n_baseline": r.n_baseline,
                  "n_optimized": r.n_optimized, "higher_is_better": r.higher_is_better, "verdict": r.verdict,
                  "reason": r.reason} for r in qc.rows],
    }
