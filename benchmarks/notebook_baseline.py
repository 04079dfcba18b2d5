"""The yardstick: what an engineer would write in a notebook to report the same two runs.

Reads the two vLLM result files of the example case, computes latency percentiles with pandas,
draws three matplotlib charts (TTFT CDF, E2E CDF, percentile bars), fills an HTML string
template and prints it to PDF with WeasyPrint. No intervals, no checks, no cost model: the
cheapest honest report. ``bench_scale.py`` runs it as a subprocess and compares casegen's CPU
time with it.

Usage: python benchmarks/notebook_baseline.py BASELINE.json OPTIMIZED.json OUTDIR
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from string import Template

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

PAGE = Template("""<!doctype html>
<html><head><meta charset="utf-8"><title>$title</title>
<style>
body { font-family: 'DejaVu Sans', sans-serif; margin: 2em; color: #1f2937; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.charts svg { width: 48%; height: auto; }
@page { size: A4; margin: 18mm; }
</style></head>
<body>
<h1>$title</h1>
<p>$summary</p>
<h2>Latency (ms)</h2>
$latency_table
<h2>Throughput</h2>
$throughput_table
<h2>Charts</h2>
<div class="charts">$charts</div>
</body></html>
""")


def load(path: Path) -> tuple[pd.DataFrame, dict]:
    raw = json.loads(path.read_text())
    df = pd.DataFrame({
        "ttft_ms": np.asarray(raw["ttfts"], dtype=float) * 1e3,
        "output_tokens": raw["output_lens"],
        "itl_ms": [[g * 1e3 for g in row] for row in raw["itls"]],
        "error": raw["errors"],
    })
    df = df[df["error"].fillna("") == ""]
    df["e2e_ms"] = df["ttft_ms"] + df["itl_ms"].map(sum)
    df["tpot_ms"] = (df["e2e_ms"] - df["ttft_ms"]) / (df["output_tokens"] - 1)
    return df, raw


def summary(df: pd.DataFrame) -> pd.DataFrame:
    itl = pd.Series(np.concatenate(df["itl_ms"].to_numpy()))
    rows = {}
    for name, s in (("TTFT", df["ttft_ms"]), ("TPOT", df["tpot_ms"]), ("ITL", itl), ("E2E", df["e2e_ms"])):
        rows[name] = {"mean": s.mean(), "p50": s.quantile(0.5), "p90": s.quantile(0.9), "p99": s.quantile(0.99)}
    return pd.DataFrame(rows).T


def svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def cdf(title: str, a: pd.Series, b: pd.Series) -> str:
    fig, ax = plt.subplots(figsize=(4.6, 2.9))
    for s, label in ((a, "baseline"), (b, "optimized")):
        x = np.sort(s.to_numpy())
        ax.step(x, np.arange(1, x.size + 1) / x.size * 100, where="post", label=label)
    ax.set_title(title)
    ax.set_ylabel("% of requests")
    ax.legend()
    return svg(fig)


def bars(sb: pd.DataFrame, so: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(6, 2.9))
    idx = np.arange(len(sb))
    ax.bar(idx - 0.2, sb["p99"], width=0.4, label="baseline p99")
    ax.bar(idx + 0.2, so["p99"], width=0.4, label="optimized p99")
    ax.set_xticks(idx, sb.index)
    ax.set_ylabel("ms")
    ax.legend()
    return svg(fig)


def main() -> None:
    base_path, opt_path, outdir = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    outdir.mkdir(parents=True, exist_ok=True)
    (db, rb), (do, ro) = load(base_path), load(opt_path)
    sb, so = summary(db), summary(do)
    table = sb.add_suffix(" before").join(so.add_suffix(" after"))
    for stat in ("mean", "p50", "p90", "p99"):
        table[f"{stat} change %"] = (so[stat] - sb[stat]) / sb[stat] * 100
    tput = pd.DataFrame({"before": [rb["request_throughput"], rb["output_throughput"]],
                         "after": [ro["request_throughput"], ro["output_throughput"]]},
                        index=["requests/s", "output tokens/s"])
    charts = cdf("TTFT", db["ttft_ms"], do["ttft_ms"]) + cdf("E2E", db["e2e_ms"], do["e2e_ms"]) + bars(sb, so)
    html = PAGE.substitute(title="BF16 vs FP8", summary="Hand-written notebook report of the example runs.",
                           latency_table=table.to_html(float_format="%.2f"),
                           throughput_table=tput.to_html(float_format="%.1f"), charts=charts)
    (outdir / "report.html").write_text(html, encoding="utf-8")
    (outdir / "summary.json").write_text(json.dumps({"baseline": sb.to_dict(), "optimized": so.to_dict()}, indent=2))
    import weasyprint

    weasyprint.HTML(string=html).write_pdf(outdir / "report.pdf")


if __name__ == "__main__":
    main()
