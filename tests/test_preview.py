"""`casegen preview`: HTML served on 127.0.0.1, rebuilt on change, the Study reused when only prose
changed — and then byte-identical to a full build."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.request import urlopen

import pytest

from casegen.app.build import build
from casegen.app.preview import PreviewCache, PreviewServer, render_preview


def _edit(case: Path, old: str, new: str) -> None:
    y = case / "case.yaml"
    text = y.read_text()
    assert old in text, old
    y.write_text(text.replace(old, new, 1))


def test_prose_change_reuses_the_analysis_and_matches_a_full_build(example_case, tmp_path):
    cache = PreviewCache()
    first = render_preview(example_case, cache)
    assert not first.reused
    assert first.html == (build(example_case, tmp_path / "a", formats=("html",)).outdir / "report.html").read_text()
    _edit(example_case, "title: \"FP8 weights", "title: \"Edited: FP8 weights")
    _edit(example_case, "  - One repetition per side", "  - Edited note. One repetition per side")
    _edit(example_case, 'model: "Llama 3.1 8B Instruct (BF16 → FP8 checkpoint)"', 'model: "Llama 3.1 8B (edited)"')
    second = render_preview(example_case, cache)
    assert second.reused
    full = (build(example_case, tmp_path / "b", formats=("html",)).outdir / "report.html").read_text()
    assert "Edited note." in second.html and second.html == full
    # an SLO is not prose: the analysis is redone
    _edit(example_case, "threshold_ms: 200}", "threshold_ms: 250}")
    third = render_preview(example_case, cache)
    assert not third.reused
    assert third.html == (build(example_case, tmp_path / "c", formats=("html",)).outdir / "report.html").read_text()


def test_a_changed_run_file_is_not_reused(example_case):
    cache = PreviewCache()
    render_preview(example_case, cache)
    run = example_case / "runs" / "fp8-optimized.json"
    data = json.loads(run.read_text())
    data["ttfts"] = [t * 1.5 for t in data["ttfts"]]
    run.write_text(json.dumps(data))
    assert not render_preview(example_case, cache).reused


def test_scaffold_threats_follow_prose_edits(tmp_path):
    from click.testing import CliRunner

    from casegen.cli.main import main

    d = tmp_path / "fresh"
    assert CliRunner().invoke(main, ["new", str(d), "-q"]).exit_code == 0
    cache = PreviewCache()
    assert "Example values from" in render_preview(d, cache).html
    _edit(d, "Your Name", "Ada Lovelace")
    out = render_preview(d, cache)
    assert out.reused and "Your Name" not in out.html
    assert out.html == (build(d, tmp_path / "o", formats=("html",)).outdir / "report.html").read_text()


@pytest.fixture
def server(example_case):
    srv = PreviewServer(example_case, port=0)
    thread = threading.Thread(target=srv.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()
    thread.join(timeout=5)


def _get(srv: PreviewServer, path: str) -> tuple[int, str, str]:
    with urlopen(f"http://127.0.0.1:{srv.port}{path}", timeout=10) as r:
        return r.status, r.headers["Content-Type"], r.read().decode("utf-8")


def test_server_serves_the_report_and_reloads_on_save(server, example_case):
    assert server.httpd.server_address[0] == "127.0.0.1"
    status, ctype, page = _get(server, "/")
    assert status == 200 and "/__version" in page and '<iframe id="report"' in page
    _, ctype, html = _get(server, "/report.html")
    assert ctype.startswith("text/html") and "FP8 weights on one H100" in html
    v = json.loads(_get(server, "/__version")[2])["version"]
    assert server.check() is False  # nothing changed
    _edit(example_case, "title: \"FP8 weights", "title: \"Saved: FP8 weights")
    assert server.check() is True
    st = json.loads(_get(server, "/__version")[2])
    assert st["version"] == v + 1 and st["reused"] and st["error"] is None
    assert "Saved: FP8 weights" in _get(server, "/report.html")[2]
    # a slip in case.yaml: the error is shown, the last good report stays
    _edit(example_case, 'author: "Alex Example"', "author: [unclosed")
    assert server.check() is True
    st = json.loads(_get(server, "/__version")[2])
    assert st["error"] and "case.yaml" in st["error"]
    assert "Saved: FP8 weights" in _get(server, "/report.html")[2]
    with pytest.raises(Exception):  # noqa: B017 (urllib's HTTPError)
        _get(server, "/../case.yaml")


def test_a_new_file_in_a_run_folder_and_other_hosts(server, example_case):
    from urllib.request import Request

    # a request naming another host (DNS rebinding: a web page whose name resolves to 127.0.0.1)
    req = Request(f"http://127.0.0.1:{server.port}/report.html", headers={"Host": "evil.example:80"})
    with pytest.raises(Exception) as info:  # noqa: B017 (urllib's HTTPError)
        urlopen(req, timeout=10)
    assert "403" in str(info.value)
    # a run file replaced in place is noticed
    run = example_case / "runs" / "fp8-optimized.json"
    data = json.loads(run.read_text())
    data["ttfts"] = [t * 2 for t in data["ttfts"]]
    run.write_text(json.dumps(data))
    assert server.check() is True and server.status()["reused"] is False


def test_preview_takes_trust_case_paths_like_build(example_case, tmp_path, monkeypatch):
    """A run outside the case folder: preview refuses it as build does, and --trust-case-paths (the one
    option object build, validate and portfolio share) lets it through (issue 22's leftover)."""
    import click
    from click.testing import CliRunner

    from casegen.cli import main as cli

    outside = tmp_path / "elsewhere"
    (example_case / "runs").rename(outside)
    y = example_case / "case.yaml"
    y.write_text(y.read_text().replace("path: runs/", f"path: {outside}/"))

    def stop(self):  # noqa: ANN001 - the server built; serving would block the test
        raise KeyboardInterrupt

    monkeypatch.setattr(PreviewServer, "serve_forever", stop)
    r = CliRunner().invoke(cli.main, ["preview", str(example_case), "--port", "0"])
    assert r.exit_code == 1 and "leads outside the case folder" in r.stderr and "--trust-case-paths" in r.stderr
    r = CliRunner().invoke(cli.main, ["preview", str(example_case), "--port", "0", "--trust-case-paths"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("serving http://127.0.0.1:")

    def option(name: str) -> click.Option:
        return next(p for p in cli.main.commands[name].params if p.name == "trust_case_paths")  # type: ignore[return-value]

    helps = {option(c).help for c in ("build", "validate", "preview", "portfolio")}
    assert len(helps) == 1
