"""``casegen preview CASE``: the report's HTML served on 127.0.0.1, rebuilt when its inputs change.

A watcher polls the inputs (case.yaml, every run file, the templates) by size and modification
time ten times a second; a change rebuilds the HTML only (no PDF). The page the browser opens
is a small wrapper that shows the report in a frame and reloads it when the server's version
number (``/__version``) moves, so the report itself is served exactly as ``build`` writes it.

The expensive part of a build is reading the runs and the analysis; both depend only on the run
files' contents, the analysis-relevant keys of case.yaml and casegen's version. :class:`PreviewCache`
keys the Study by exactly that (a SHA-256 of the run files — rehashed only when a file's size or
modification time changed — the case's non-prose keys, and ``casegen.__version__``), so saving a
change to prose (title, summary, notes, system, workload, reproduce, report settings, accept)
re-renders from the kept Study, with the charts it drew (``casegen.render.chart_memo``); the
scaffold checks, which read the prose, are redone. The result is byte-identical to a full rebuild
(tests/test_preview.py compares them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html as html_lib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from casegen import __version__
from casegen.analysis import checks
from casegen.analysis.study import SIDES, Study, analyze, run_spec
from casegen.case.model import Case, load_case
from casegen.errors import CasegenError
from casegen.render.chart_memo import chart_memo
from casegen.render.html import render_html, report_context
from casegen.report.build import build_report
from casegen.resources import templates_dir

#: case.yaml keys that only the report's text reads: changing them re-renders from the kept Study
PROSE_KEYS = ("title", "author", "date", "summary", "tags", "notes", "system", "workload", "reproduce", "report",
              "accept")
#: threats computed from prose (redone when the Study is reused)
PROSE_THREATS = ("scaffold-text", "scaffold-value")
HOST = "127.0.0.1"
POLL_S = 0.1  # the watcher's look at the inputs (one stat() per watched path)
PAGE_POLL_MS = 200  # the open page's look at /__version


def _run_paths(case: Case, case_dir: Path) -> list[Path]:
    """Every file the case's runs (and typed-in lm-eval results) read, folders walked."""
    listed: list[str] = []
    steps = [f"steps.{i}" for i in range(len(case.runs.steps or []))]
    for side in (*SIDES, *steps):
        spec = run_spec(case, side)
        listed += spec.path if isinstance(spec.path, list) else [spec.path]
    for t in case.tradeoffs:
        if t.quality is not None and t.quality.lm_eval is not None:
            listed += [t.quality.lm_eval.baseline, t.quality.lm_eval.optimized]
    files: list[Path] = []
    for p in listed:
        path = Path(p).expanduser()
        path = path if path.is_absolute() else case_dir / path
        if path.is_dir():
            files += sorted(f for f in path.rglob("*") if f.is_file())
        else:
            files.append(path)
    return files


def _stat_key(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), st.st_size, st.st_mtime_ns)


@dataclass
class PreviewCache:
    """The last Study and the key it was computed for; file hashes memoised by (size, mtime)."""

    study: Study | None = None
    key: str | None = None
    hashes: dict[tuple[str, int, int], str] = field(default_factory=dict)
    charts: dict[str, Any] = field(default_factory=dict)  # drawn charts of this Study (casegen.render.chart_memo)

    def file_hash(self, path: Path) -> str:
        k = _stat_key(path)
        if k not in self.hashes:
            h = hashlib.sha256()
            try:
                with open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            except OSError:
                h.update(b"<missing>")
            self.hashes[k] = h.hexdigest()
        return self.hashes[k]

    def study_key(self, case: Case, case_dir: Path) -> str:
        analysis_part = case.model_dump(mode="json", exclude=set(PROSE_KEYS))
        files = [(str(p), self.file_hash(p)) for p in _run_paths(case, case_dir)]
        blob = json.dumps([__version__, str(case_dir.resolve()), analysis_part, files], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _with_case(study: Study, case: Case) -> Study:
    """The kept Study for a case that differs from its own only in prose keys."""
    threats = [t for t in study.threats if t.key not in PROSE_THREATS]
    threats += checks.scaffold_leftovers(case) + checks.scaffold_values(case, study.runs)
    return dataclasses.replace(study, case=case, threats=threats)


@dataclass
class Rendered:
    html: str
    seconds: float
    reused: bool  # the Study came from the cache


def render_preview(case_path: str | Path, cache: PreviewCache, *, templates: str | Path | None = None,
                   theme: str | None = None, layout: str | None = None,
                   trust_case_templates: bool = False, trust_case_paths: bool = False) -> Rendered:
    """The report HTML of the case (as ``build`` writes report.html), reusing the cached Study when
    only prose changed. Unless ``trust_case_paths``, every file the case names must resolve inside
    its folder (as for ``build``)."""
    from casegen.app.build import _template_dir

    t0 = time.perf_counter()
    case, case_dir = load_case(case_path, trust_paths=trust_case_paths)
    templates = _template_dir(case, case_dir, templates, trust_case_templates, trust_case_paths)
    key = cache.study_key(case, case_dir)
    reused = cache.study is not None and cache.key == key
    if reused:
        assert cache.study is not None
        study = _with_case(cache.study, case)
    else:
        study = analyze(case, case_dir, trust_paths=trust_case_paths)
        cache.study, cache.key, cache.charts = study, key, {}
    with chart_memo(cache.charts):  # the same data draw the same charts: kept while the Study is
        report = build_report(study)
        ctx = report_context(study, theme=theme, layout=layout, report=report, outputs=("html",))
        html = render_html(study, layout=layout, theme=theme, templates=templates, context=ctx)
    return Rendered(html, time.perf_counter() - t0, reused)


def watched_files(case_path: str | Path, templates: str | Path | None = None,
                  trust_case_paths: bool = False) -> list[Path]:
    """What a change is looked for in: case.yaml, the run files (while case.yaml reads) and the
    templates, with the folders that hold them (a file added to a run folder changes its mtime)."""
    path = Path(case_path)
    yaml_path = path / "case.yaml" if path.is_dir() else path
    files = [yaml_path]
    try:
        case, case_dir = load_case(case_path, trust_paths=trust_case_paths)
        runs = _run_paths(case, case_dir)
        files += runs + sorted({p.parent for p in runs})
    except CasegenError:
        pass  # case.yaml does not read now: watch it alone until it does
    for folder in (templates_dir(), Path(templates) if templates else None):
        if folder is not None and folder.is_dir():
            files += sorted(folder.rglob("*")) + [folder]
    return files


def _signature(files: list[Path]) -> tuple:
    return tuple(_stat_key(f) for f in files)


_WRAPPER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>casegen preview: {title}</title>
<style>
html, body {{ margin: 0; height: 100%; font: 14px system-ui, sans-serif; }}
#bar {{ position: fixed; top: 0; left: 0; right: 0; padding: 4px 10px; background: #f4f4f5; color: #333;
        border-bottom: 1px solid #ddd; z-index: 2; }}
#bar.error {{ background: #fde8e8; color: #8a1c1c; white-space: pre-wrap; }}
iframe {{ position: fixed; top: 28px; left: 0; width: 100%; height: calc(100% - 28px); border: 0; }}
</style></head>
<body><div id="bar">casegen preview — <span id="state">live</span></div>
<iframe id="report" src="/report.html?v={version}" title="report"></iframe>
<script>
let seen = {version};
async function poll() {{
  try {{
    const r = await fetch("/__version", {{cache: "no-store"}});
    const s = await r.json();
    const bar = document.getElementById("bar");
    if (s.error) {{ bar.className = "error"; bar.textContent = "casegen preview — not rebuilt: " + s.error; }}
    else {{ bar.className = ""; bar.textContent = "casegen preview — built in " + s.seconds.toFixed(2) + " s"
            + (s.reused ? " (runs and analysis reused)" : ""); }}
    if (s.version !== seen) {{
      seen = s.version;
      const f = document.getElementById("report");
      const y = f.contentWindow ? f.contentWindow.scrollY : 0;
      f.onload = () => {{ try {{ f.contentWindow.scrollTo(0, y); }} catch (e) {{}} }};
      f.src = "/report.html?v=" + s.version;
    }}
  }} catch (e) {{ document.getElementById("state").textContent = "server stopped"; return; }}
  setTimeout(poll, {poll_ms});
}}
setTimeout(poll, {poll_ms});
</script></body></html>
"""


class PreviewServer:
    """Serves one case's report on 127.0.0.1 and rebuilds it when its inputs change."""

    def __init__(self, case_path: str | Path, *, port: int = 8000, templates: str | Path | None = None,
                 theme: str | None = None, layout: str | None = None, trust_case_templates: bool = False,
                 trust_case_paths: bool = False, say: Callable[[str], None] | None = None) -> None:
        self.case_path, self.templates, self.theme, self.layout = case_path, templates, theme, layout
        self.trust_case_templates, self.trust_case_paths = trust_case_templates, trust_case_paths
        self.say = say or (lambda _m: None)
        self.cache = PreviewCache()
        self.lock = threading.Lock()
        self.version = 0
        self.html = b""
        self.error: str | None = None
        self.seconds = 0.0
        self.reused = False
        self._stop = threading.Event()
        self.rebuild()  # the first build's errors reach the caller (bad case: no server)
        self.httpd = ThreadingHTTPServer((HOST, port), self._handler())
        self.port = self.httpd.server_address[1]
        self._files = watched_files(case_path, templates, trust_case_paths)
        self._sig = _signature(self._files)

    def rebuild(self) -> None:
        try:
            out = render_preview(self.case_path, self.cache, templates=self.templates, theme=self.theme,
                                 layout=self.layout, trust_case_templates=self.trust_case_templates,
                                 trust_case_paths=self.trust_case_paths)
        except CasegenError as err:
            if not self.html:
                raise
            with self.lock:
                self.error = err.format()
                self.version += 1
            self.say(f"not rebuilt: {err.format().splitlines()[0]}")
            return
        with self.lock:
            self.html = out.html.encode("utf-8")
            self.error, self.seconds, self.reused = None, out.seconds, out.reused
            self.version += 1
        self.say(f"rebuilt in {out.seconds:.2f} s" + (" (runs and analysis reused)" if out.reused else ""))

    def check(self) -> bool:
        """Rebuild if an input changed since the last look; True if it did. A look costs one stat()
        per watched path; the list is made again (case.yaml read) only after a change."""
        if _signature(self._files) == self._sig:
            return False
        self._files = watched_files(self.case_path, self.templates, self.trust_case_paths)
        self._sig = _signature(self._files)
        self.rebuild()
        return True

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            self.check()

    def serve_forever(self) -> None:
        watcher = threading.Thread(target=self._watch, name="casegen-preview-watch", daemon=True)
        watcher.start()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self._stop.set()
            watcher.join(timeout=2)
            self.httpd.server_close()

    def shutdown(self) -> None:
        self._stop.set()
        self.httpd.shutdown()

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {"version": self.version, "seconds": self.seconds, "reused": self.reused, "error": self.error}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal shows rebuilds
                return

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
                if host not in ("127.0.0.1", "localhost"):  # a page elsewhere whose name resolves here
                    self._send(403, b"casegen preview answers only to 127.0.0.1 and localhost",
                               "text/plain; charset=utf-8")
                    return
                route = self.path.split("?", 1)[0]
                if route == "/":
                    st = server.status()
                    title = html_lib.escape(Path(server.case_path).resolve().name)
                    self._send(200, _WRAPPER.format(title=title, version=st["version"],
                                                    poll_ms=PAGE_POLL_MS).encode("utf-8"),
                               "text/html; charset=utf-8")
                elif route == "/report.html":
                    with server.lock:
                        body = server.html
                    self._send(200, body, "text/html; charset=utf-8")
                elif route == "/__version":
                    self._send(200, json.dumps(server.status()).encode("utf-8"), "application/json")
                else:
                    self._send(404, b"not found", "text/plain; charset=utf-8")

            do_HEAD = do_GET

        return Handler


def wait_for_version(port: int, after: int, timeout_s: float = 30.0) -> dict[str, Any]:
    """Poll ``/__version`` until it is past ``after`` (benchmarks and tests)."""
    from urllib.request import urlopen

    deadline = time.monotonic() + timeout_s
    while True:
        with urlopen(f"http://{HOST}:{port}/__version", timeout=5) as r:  # noqa: S310 (our own loopback server)
            st = json.loads(r.read())
        if st["version"] > after or time.monotonic() > deadline:
            return st
        time.sleep(0.01)
