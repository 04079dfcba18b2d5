"""casegen's own CSV / JSONL per-request format, column mapping and units."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from casegen.errors import CasegenError
from casegen.runs import detect_format, load_run
from conftest import write


def test_csv_units_from_suffix(tmp_path):
    f = write(tmp_path / "r.csv", "start_us,ttft_ms,e2e_s,output_tokens\n0,100,1.5,10\n500000,200,2.0,20\n")
    run = load_run(f)
    r = run.requests
    assert list(r["ttft_s"]) == [0.1, 0.2]
    assert list(r["e2e_s"]) == [1.5, 2.0]
    assert list(r["start_s"]) == [0.0, 0.5]
    assert run.meta.format == "casegen-csv"


def test_jsonl_with_chunk_gaps(tmp_path):
    lines = [
        {"ttft_ns": 1e8, "e2e_ns": 4e8, "output_tokens": 4, "chunk_gaps_ns": [1e8, 1e8, 1e8]},
        {"ttft_ns": 2e8, "e2e_ns": 2e8, "output_tokens": 1, "success": False, "error": "boom"},
    ]
    f = write(tmp_path / "r.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    assert detect_format(f) == "casegen-jsonl"
    run = load_run(f)
    assert run.requests["chunk_gaps_s"][0].tolist() == pytest.approx([0.1, 0.1, 0.1])
    assert not run.requests["success"][1]
    assert math.isnan(run.requests["e2e_s"][1])


def test_column_mapping_and_units_for_an_existing_csv(tmp_path):
    f = write(tmp_path / "export.csv", "Latency,FirstToken,Ok\n1200,300,yes\n900,150,no\n")
    run = load_run(f, columns={"e2e": "Latency", "ttft": "FirstToken", "success": "Ok"}, units="ms")
    assert run.requests["e2e_s"][0] == pytest.approx(1.2)
    assert run.requests["success"].tolist() == [True, False]


def test_missing_unit_is_an_error(tmp_path):
    f = write(tmp_path / "export.csv", "Latency\n1200\n")
    with pytest.raises(CasegenError, match="unit of column 'Latency'"):
        load_run(f, columns={"e2e": "Latency"})


def test_mapped_column_not_in_file(tmp_path):
    f = write(tmp_path / "export.csv", "Latency\n1200\n")
    with pytest.raises(CasegenError, match="column 'Lat' .* is not in the file"):
        load_run(f, columns={"e2e": "Lat"}, units="ms")


@pytest.mark.parametrize("body, message, where", [
    ("ttft_ms,e2e_ms\n10,-5\n", "negative end-to-end latency", "line 2"),
    ("ttft_ms,e2e_ms\n10,20\n10,nan\n", "not a finite number", "line 3"),
    ("ttft_ms,e2e_ms\n10,20\n50,20\n", "larger than the end-to-end", "line 3"),
    ("ttft_ms,e2e_ms\n10,abc\n", "e2e is 'abc'", "line 2"),
    ("ttft_ms,e2e_ms,success\n10,20,maybe\n", "success is 'maybe'", "line 2"),
    ("ttft_ms,e2e_ms\n10,20,30\n", "row has 3 fields", "line 2"),
    ("ttft_ms,e2e_ms,output_tokens\n10,20,-1\n", "negative output tokens", "line 2"),
    ("ttft_ms,e2e_ms\n", "no request rows", None),
])
def test_bad_csv_rows(tmp_path, body, message, where):
    f = write(tmp_path / "bad.csv", body)
    with pytest.raises(CasegenError) as exc:
        load_run(f)
    text = str(exc.value)
    assert message in text and str(f) in text
    if where:
        assert where in text


def test_jsonl_bad_line(tmp_path):
    f = write(tmp_path / "r.jsonl", '{"e2e_ms": 5}\n{"e2e_ms": \n')
    with pytest.raises(CasegenError, match="line 2"):
        load_run(f, "casegen-jsonl")


def test_unknown_and_binary_files(tmp_path):
    f = write(tmp_path / "x.json", '{"hello": 1}')
    with pytest.raises(CasegenError) as exc:
        load_run(f)
    assert "JSON from an unknown tool" in str(exc.value) and "vllm" in str(exc.value)
    b = tmp_path / "x.bin"
    b.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(CasegenError, match="neither JSON nor CSV"):
        load_run(b)
    with pytest.raises(CasegenError, match="not found"):
        load_run(tmp_path / "missing.json")
    e = write(tmp_path / "empty.csv", "")
    with pytest.raises(CasegenError, match="empty"):
        load_run(e)


# ---- the vectorised CSV reader gives the same run, or the same error, as the row-by-row one

def _read_both(tmp_path, body):
    """(fast, exact): each a requests frame, an error text, or "fallback" (fast path declined)."""
    from casegen.runs import table

    path = write(tmp_path / "r.csv", body)
    header = [h.strip() for h in body.split("\n")[0].split(",")]
    cols = table.resolve_columns(header, None, None, path)
    out = []
    for fast in (True, False):
        try:
            if fast:
                got = table._fast_csv_columns(body, header, cols)
                if got is None:
                    out.append("fallback")
                    continue
                run = table._build(*got, cols, path, "casegen-csv", "sha", None)
            else:
                run = table._build_rows(table._csv_rows(body, header, path), cols, path, "casegen-csv", "sha", None)
            out.append(run.requests)
        except CasegenError as err:
            out.append(str(err))
    return out


def _same_frames(a, b) -> bool:
    return a.equals(b)


@pytest.mark.parametrize("body, fast_path", [
    ("start_s,ttft_ms,e2e_ms,output_tokens,chunk_gaps_ms\n0,10,50,3,20 20\n0.5,12,60,4,16;16; 16\n\n1,,70,2,\n", True),
    ("ttft_ms,e2e_ms,success,error\n10,20,true,\n10,20,no,\n10,,FALSE,boom\n10,20,,oops\n", True),
    ("ttft_ms,e2e_ms,success\n10,20,1\n10,20,0\n", True),
    ("ttft_ms , e2e_ms\n 10 , 20 \n", True),
    ("ttft_ms,e2e_ms\r\n10,20\r\n\r\n11,21\r\n", True),
    ("e2e_ms,request_id\n20,abc\n", True),
    ("ttft_ms,e2e_ms,chunk_gaps_ms\n10,20,  \n", True),
    ("ttft_ms,e2e_ms\n10,-5\n", True),                 # errors raised on the frame name the same line
    ("ttft_ms,e2e_ms\n10,20\n\n50,20\n", True),
    ("ttft_ms,e2e_ms,output_tokens\n10,20,-1\n", True),
    ("ttft_ms,e2e_ms\n10,abc\n", False),               # anything unusual goes to the row reader
    ("ttft_ms,e2e_ms\n10,nan\n", False),
    ("ttft_ms,e2e_ms\n10,inf\n", False),
    ("ttft_ms,e2e_ms\n10,1e400\n", False),
    ("ttft_ms,e2e_ms,chunk_gaps_ms\n10,20,1 -2\n", False),
    ("ttft_ms,e2e_ms,chunk_gaps_ms\n10,20,1 x\n", False),
    ("ttft_ms,e2e_ms\n10,20\n,\n11,21\n", False),
    ("ttft_ms,e2e_ms\n10,20\n11\n", False),
    ('ttft_ms,e2e_ms,error\n10,20,"a, b"\n', False),
    ("ttft_ms,e2e_ms,success\n10,20,maybe\n", False),
    ("ttft_ms,e2e_ms\n", False),
])
def test_vectorised_csv_reader_matches_row_reader(tmp_path, body, fast_path):
    fast, exact = _read_both(tmp_path, body)
    if not fast_path:
        assert isinstance(fast, str) and fast == "fallback"
    elif isinstance(exact, str):
        assert fast == exact
    else:
        assert not isinstance(fast, str) and _same_frames(fast, exact)


def test_vectorised_csv_reader_matches_on_random_files(tmp_path):
    rng = np.random.default_rng(7)
    for _ in range(20):
        lines = ["start_s,ttft_ms,e2e_ms,input_tokens,output_tokens,chunk_gaps_us,error"]
        for _ in range(int(rng.integers(1, 40))):
            ttft = float(rng.lognormal(3, 1))
            gaps = [float(g) for g in rng.lognormal(8, 1, int(rng.integers(0, 6)))]
            e2e = ttft + sum(gaps) / 1000 + float(rng.random())
            err = "" if rng.random() > 0.1 else "timeout"
            lines.append(f"{float(rng.random() * 100)!r},{ttft!r},{e2e!r},{int(rng.integers(1, 900))},"
                         f"{len(gaps) + 1},{' '.join(map(repr, gaps))},{err}")
        fast, exact = _read_both(tmp_path, "\n".join(lines) + "\n")
        assert not isinstance(fast, str) and not isinstance(exact, str) and _same_frames(fast, exact)
