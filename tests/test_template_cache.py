"""The compiled-template cache (casegen.template_cache): same bytes with or without it, only
casegen's own templates in it, and a broken or stale cache never breaks or changes a build."""

from __future__ import annotations

from pathlib import Path

import jinja2

from casegen import template_cache
from casegen.build import analyze, build_report, load_case
from casegen.render import render_html, templates_dir
from casegen.template_cache import PackagedTemplateCache, packaged_template_cache
from tests.conftest import EXAMPLE, write


def _html(templates: Path | None = None) -> str:
    case, case_dir = load_case(EXAMPLE)
    study = analyze(case, case_dir)
    return render_html(study, report=build_report(study), templates=templates)


def _entries(root: Path) -> list[Path]:
    return sorted(root.glob("templates/*/*.jinja"))


def test_cold_warm_and_off_give_the_same_report(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEGEN_CACHE_DIR", str(tmp_path / "c"))
    cold = _html()
    entries = _entries(tmp_path / "c")
    assert len(entries) >= 10  # the report's templates were stored
    warm = _html()
    monkeypatch.setenv("CASEGEN_CACHE_DIR", "")
    off = _html()
    assert cold == warm == off
    assert _entries(tmp_path / "c") == entries


def test_the_cache_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEGEN_CACHE_DIR", str(tmp_path / "c"))
    _html()
    compiled = []
    real = jinja2.Environment.compile

    def spy(self, source, name=None, filename=None, *args, **kwargs):
        compiled.append(name)
        return real(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    _html()
    assert compiled == []


def test_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEGEN_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    _html()
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()


def test_default_folder_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("CASEGEN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert template_cache.cache_root() == tmp_path / "xdg" / "casegen"
    _html()
    entries = _entries(tmp_path / "xdg" / "casegen")
    assert entries and all((e.stat().st_mode & 0o077) == 0 for e in entries)
    assert (entries[0].parent.stat().st_mode & 0o077) == 0  # the folder is private


def test_user_templates_are_never_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEGEN_CACHE_DIR", str(tmp_path / "c"))
    mine = tmp_path / "mine"
    write(mine / "sections" / "context.html.j2", '<section id="context"><p>MINE</p></section>')
    stored = []
    real = PackagedTemplateCache.dump_bytecode

    def spy(self, bucket):
        stored.append(bucket.key)
        return real(self, bucket)

    monkeypatch.setattr(PackagedTemplateCache, "dump_bytecode", spy)
    html = _html(mine)
    assert "MINE" in html
    cache = packaged_template_cache(templates_dir(), {})
    assert cache is not None
    user_file = str(mine / "sections" / "context.html.j2")
    mine_key = cache.get_cache_key("sections/context.html.j2", user_file)
    packaged_key = cache.get_cache_key("report.html.j2", str(templates_dir() / "report.html.j2"))
    assert stored and mine_key not in stored
    assert packaged_key in stored
    assert not cache._packaged(user_file)  # a folder outside the package is never "packaged"


def test_broken_entries_are_recompiled(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEGEN_CACHE_DIR", str(tmp_path / "c"))
    good = _html()
    for e in _entries(tmp_path / "c"):
        e.write_bytes(b"garbage, not a Jinja cache entry")
    assert _html() == good
    for e in _entries(tmp_path / "c"):
        e.write_bytes(b"")
    assert _html() == good


def test_unusable_cache_folder_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "c"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("CASEGEN_CACHE_DIR", str(blocker))
    assert "<html" in _html()


def test_a_changed_template_is_not_served_stale(tmp_path):
    """The entry carries the source's checksum: an edited template is compiled again."""
    pkg = tmp_path / "pkg"
    write(pkg / "t.j2", "one")
    cache = PackagedTemplateCache(tmp_path / "c", pkg)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(pkg)), bytecode_cache=cache)
    assert env.get_template("t.j2").render() == "one"
    assert len(list((tmp_path / "c").glob("*.jinja"))) == 1
    write(pkg / "t.j2", "two")
    env2 = jinja2.Environment(loader=jinja2.FileSystemLoader(str(pkg)), bytecode_cache=cache)
    assert env2.get_template("t.j2").render() == "two"
