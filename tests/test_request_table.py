"""The per-request table (casegen.runs.model.RequestTable): what the analysis relies on, and no
pandas on the path of a build from JSON runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from casegen.runs.model import RequestTable, make_requests_frame

ROOT = Path(__file__).resolve().parent.parent


def _table() -> RequestTable:
    return make_requests_frame(
        start_s=[10.0, 12.0, np.nan, 11.0], ttft_s=[0.1, 0.2, 0.3, 0.4], e2e_s=[1.0, 2.0, 3.0, 4.0],
        output_tokens=[5, 6, 7, 8], success=[True, False, True, True], error=[None, "boom", "", None],
        chunk_gaps_s=[np.array([0.1, 0.2]), None, np.array([0.3]), np.array([0.4, 0.5])])


def test_make_requests_frame_columns_and_rules():
    t = _table()
    assert t.columns == ("start_s", "ttft_s", "e2e_s", "input_tokens", "output_tokens", "success", "error",
                         "chunk_gaps_s", "cached_tokens", "client_wait_s")
    assert len(t) == 4 and "ttft_s" in t and "nope" not in t
    assert t["start_s"].tolist()[:2] == [0.0, 2.0] and np.isnan(t["start_s"][2])  # relative to the first send
    assert np.isnan(t["ttft_s"][1]) and np.isnan(t["e2e_s"][1])  # a failed request has no latencies
    assert t["error"].tolist() == ["", "boom", "", ""]
    assert t["success"].dtype == bool and t["error"].dtype == object and t["ttft_s"].dtype == np.float64
    assert t["chunk_gaps_s"][1] is None and t["chunk_gaps_s"][3].tolist() == [0.4, 0.5]
    assert t.any_known("start_s") and not t.all_known("start_s") and not t.any_known("input_tokens")


def test_columns_are_read_only_and_callers_arrays_stay_writable():
    mine = np.array([1.0, 2.0])
    t = RequestTable({"ttft_s": mine})
    with pytest.raises(ValueError):
        t["ttft_s"][0] = 5.0
    mine[0] = 7.0  # the caller's array is the caller's
    with pytest.raises(ValueError):
        t[np.array([True, False])]["ttft_s"][0] = 5.0
    t["ttft_s"] = np.nan  # replacing a column is allowed
    assert np.isnan(t["ttft_s"]).all() and mine[1] == 2.0


def test_rows_keep_their_labels_until_reset():
    t = _table()
    ok = t[t["success"]]
    assert ok.index.tolist() == [0, 2, 3] and ok["output_tokens"].tolist() == [5.0, 7.0, 8.0]
    assert ok.reset_index().index.tolist() == [0, 1, 2]
    # stable, NaN last (as pandas' sort_values)
    s = t.sort_values("start_s")
    assert s.index.tolist() == [0, 3, 1, 2]
    assert t.take(np.array([3, 0])).row(0)["output_tokens"] == 8.0
    with pytest.raises(ValueError):
        t[np.array([True, False])]


def test_successful_and_sorted_rows_are_taken_once_and_handed_out_as_copies():
    t = _table()
    a, b = t[t["success"]], t[t["success"]]
    assert a is not b and a["output_tokens"] is b["output_tokens"]  # one take, two tables
    a["output_tokens"] = np.zeros(3)  # changing one copy leaves the other and the cache alone
    assert b["output_tokens"].tolist() == [5.0, 7.0, 8.0] and t[t["success"]]["output_tokens"].tolist() == [5.0, 7.0, 8.0]
    s1, s2 = b.sort_values("start_s"), b.sort_values("start_s")
    assert s1["start_s"] is s2["start_s"] and s1.index.tolist() == [0, 3, 2]
    t["success"] = np.array([True, True, False, False])  # a new column: rows taken before are not this table's
    assert t[t["success"]].index.tolist() == [0, 1]
    assert t.reset_index()[np.array([1, 0])].index.tolist() == [1, 0]
    assert len(t[np.array([], dtype=int)]) == 0 and len(t.take(np.array([]))) == 0


def test_concat_and_equals():
    a, b = _table(), _table()
    assert a.equals(b)
    both = RequestTable.concat([a, b])
    assert len(both) == 8 and both.index.tolist() == list(range(8))
    assert both["chunk_gaps_s"][4].tolist() == [0.1, 0.2] and both["error"][5] == "boom"
    c = b.copy()
    c["output_tokens"] = np.array([5.0, 6.0, 7.0, 9.0])
    assert not a.equals(c) and a.equals(b)  # the copy's new column did not touch b
    d = b.copy()
    d["chunk_gaps_s"] = [np.array([0.1, 0.2]), None, np.array([0.3]), np.array([0.4, 0.6])]
    assert not a.equals(d)
    with pytest.raises(ValueError):
        RequestTable({"ttft_s": [1.0], "e2e_s": [1.0, 2.0]})


def test_a_build_from_json_runs_does_not_import_pandas():
    """pandas is the fast CSV reader only (casegen/runs/fastcsv.py): importing it costs a build about
    0.2 s of CPU, so the example (vLLM JSON) must get through reading and the analysis without it."""
    code = ("import sys\nfrom casegen.app.build import validate_case\nimport casegen.cli.main\n"
            f"validate_case({str(ROOT / 'cases' / 'h100-llama31-8b-fp8')!r})\n"
            "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False"
