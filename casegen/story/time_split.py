"""Where the time goes: the sentences that explain how the mean end-to-end time splits into the
time before the first token and decode, and how each part changed (the report's "Where the time
goes" section; the chart beside them is drawn from the same figures). Decided here, once: the HTML
and Markdown outputs print :attr:`casegen.report.model.Report.time_split` as they are."""

from __future__ import annotations

from casegen.analysis.study import Study
from casegen.formatting import fmt_ms, fmt_ms_signed, fmt_pct, fmt_share


def sentences(study: Study) -> list[str]:
    sb, so = study.metrics["baseline"].split, study.metrics["optimized"].split
    if sb.get("mean_ttft_ms") is None or so.get("mean_ttft_ms") is None:
        return ["The split of time before and after the first token needs TTFT on both sides."]
    s: list[str] = []
    e2e_b = sb["mean_ttft_ms"] + sb["mean_decode_ms"]
    e2e_o = so["mean_ttft_ms"] + so["mean_decode_ms"]
    d_total = e2e_o - e2e_b
    d_ttft = so["mean_ttft_ms"] - sb["mean_ttft_ms"]
    d_dec = so["mean_decode_ms"] - sb["mean_decode_ms"]
    s.append(
        f"Before the first token (queueing and prefill) takes {fmt_share(sb['prefill_share'])} of the mean "
        f"end-to-end time on the baseline and {fmt_share(so['prefill_share'])} after the change; the rest is decode."
    )
    if abs(d_total) > 0:
        head = (f"Mean end-to-end time changed by {fmt_ms_signed(d_total)} ({fmt_pct(d_total / e2e_b * 100)}): "
                f"{fmt_ms_signed(d_ttft)} before the first token and {fmt_ms_signed(d_dec)} in decode")
        if d_ttft * d_dec >= 0:  # both parts moved the same way: a share of the change means something
            s.append(f"{head}, so decode accounts for {abs(d_dec / d_total) * 100:.0f}% of the change.")
        else:
            s.append(f"{head}: the two parts moved in opposite directions, "
                     f"{'decode' if abs(d_dec) > abs(d_ttft) else 'the time before the first token'} outweighing the other.")
    tp = study.deltas.get("tpot", {}).get("p50")
    if tp is not None and tp.base and tp.opt:  # a 0 ms TPOT (no streamed tokens) has no per-user rate
        s.append(
            f"Median TPOT went from {fmt_ms(tp.base)} to {fmt_ms(tp.opt)} per token "
            f"({1000 / tp.base:,.0f} → {1000 / tp.opt:,.0f} tokens/s for each user)."
        )
    itl = study.deltas.get("itl", {}).get("p99")
    tpm = study.deltas.get("tpot", {}).get("p99")
    if itl is not None and tpm is not None:
        s.append(
            f"The p99 inter-chunk gap ({fmt_ms(itl.base)} → {fmt_ms(itl.opt)}) is well above p99 TPOT "
            f"({fmt_ms(tpm.base)} → {fmt_ms(tpm.opt)}): some gaps are much longer than the per-request "
            "average, which hides them; these runs do not show their cause."
            if itl.opt > 1.5 * tpm.opt else
            f"The p99 inter-chunk gap ({fmt_ms(itl.base)} → {fmt_ms(itl.opt)}) stays close to TPOT: streaming is smooth."
        )
    if sb.get("estimated") or so.get("estimated"):
        s.append("Decode time of a summary-only run is estimated as mean TPOT × (mean output tokens − 1).")
    return s
