"""What keeps `casegen build` cheap in CPU (benchmarks/bench_scale.py measures the effect against
the hand-written pipeline): the console script's garbage-collector policy."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

from click.testing import CliRunner

from casegen.cli.main import main
from conftest import ROOT

EXAMPLE = ROOT / "cases" / "h100-llama31-8b-fp8"


def test_console_build_switches_the_collector_off_until_exit(tmp_path):
    """The console script's build runs without cyclic collections (it ends with the build)."""
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('collector', gc.isenabled(), file=sys.stderr))\n"
        f"sys.argv = ['casegen', 'build', {str(EXAMPLE)!r}, '-o', {str(tmp_path / 'out')!r}, '--format', 'json', '-q']\n"
        "from casegen.__main__ import main\n"
        "main()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "collector False" in done.stderr
    assert (tmp_path / "out" / "summary.json").is_file()



def test_console_script_refuses_3d_axes_and_keeps_its_exit_status(tmp_path):
    """The console script does not import matplotlib's 3-D toolkit nor write its artists' set()
    docstrings (≈ 0.03 s and 0.11 s of CPU it never uses),
    still runs exit handlers and writes its output before it ends without the interpreter's teardown,
    and keeps the command's exit status."""
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('3d', sys.modules.get('mpl_toolkits.mplot3d'), file=sys.stderr))\n"
        "atexit.register(lambda: print('set doc', sys.modules['matplotlib.lines'].Line2D.set.__doc__, file=sys.stderr))\n"
        "atexit.register(lambda: print('kwdoc', 'antialiased' in sys.modules['matplotlib.axes'].Axes.plot.__doc__, "
        "file=sys.stderr))\n"
        "atexit.register(lambda: print('metadata', 'importlib.metadata' in sys.modules, file=sys.stderr))\n"
        f"sys.argv = ['casegen', 'build', {str(EXAMPLE)!r}, '-o', {str(tmp_path / 'out')!r}, '--format', 'html']\n"
        "from casegen.__main__ import main\n"
        "main()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "3d None" in done.stderr and "Axes3D" not in done.stderr
    assert "set doc None" in done.stderr  # matplotlib's generated set() docstrings are not written
    assert "kwdoc False" in done.stderr  # nor the artist property lists of its docstrings' %(Line2D:kwdoc)s
    assert "metadata False" in done.stderr  # pydantic found no plugin without importlib.metadata
    assert done.stdout.startswith("wrote ") and (tmp_path / "out" / "report.html").is_file()
    missing = subprocess.run([sys.executable, "-m", "casegen", "build", str(tmp_path / "nowhere")],
                             capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 1 and "case file not found" in missing.stderr


def test_console_script_loads_fonttools_subsetter_and_instancer_when_used():
    """The console script defers fontTools' subsetter and variable-font instancer, which WeasyPrint
    imports but (subsetting with HarfBuzz, DejaVu not variable) does not use; used, they load and work."""
    probe = (
        "import sys\n"
        "import casegen.__main__ as entry\n"
        "entry._fonttools_when_used()\n"
        "import weasyprint.pdf.fonts as fonts\n"
        "print('before', 'fontTools.varLib' in sys.modules, type(sys.modules['fontTools.subset']).__name__)\n"
        "print('options', type(fonts.subset.Options()).__name__)\n"
        "import matplotlib, pathlib\n"
        "from fontTools.ttLib import TTFont\n"
        "font = TTFont(pathlib.Path(matplotlib.get_data_path()) / 'fonts' / 'ttf' / 'DejaVuSans.ttf')\n"
        "try:\n"
        "    fonts.instantiateVariableFont(font, {'wght': 400})\n"
        "except Exception as err:\n"
        "    print('instancer', 'fontTools.varLib' in sys.modules, repr(err))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "before False _LazyModule"  # neither loaded by WeasyPrint's import
    assert lines[1] == "options Options"  # the subsetter loads on first use
    assert lines[2].startswith("instancer True") and "fvar" in lines[2]  # the real instancer ran: "no fvar table"

def test_console_script_finds_pydantic_plugins_without_importlib_metadata_only_when_none_is_declared(tmp_path):
    """The console script's plugin search for pydantic reads the distributions' entry_points.txt
    itself; a distribution declaring the group 'pydantic' gets importlib.metadata's own search, and
    its plugin loads."""
    site = tmp_path / "site"
    (site / "other-1.0.dist-info").mkdir(parents=True)
    (site / "other-1.0.dist-info" / "entry_points.txt").write_text("[console_scripts]\nother = other:main\n")
    probe = (
        "import sys\n"
        "import casegen.__main__ as entry\n"
        "entry._light_plugin_scan()\n"
        "import pydantic\n"
        "class M(pydantic.BaseModel):\n"
        "    x: int\n"
        "print(M(x=1).x, 'importlib.metadata' in sys.modules, entry._may_declare('pydantic'))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(site)]))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False", "False"]
    (site / "plug-1.0.dist-info").mkdir()
    (site / "plug-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: plug\nVersion: 1.0\n")
    (site / "plug-1.0.dist-info" / "entry_points.txt").write_text("[pydantic]\nplug = plug:plugin\n")
    (site / "plug.py").write_text(
        "import sys\n"
        "class _Plugin:\n"
        "    def new_schema_validator(self, *args, **kwargs):\n"
        "        print('plugin called', file=sys.stderr)\n"
        "        return None, None, None\n"
        "plugin = _Plugin()\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True", "True"] and "plugin called" in done.stderr


def test_build_in_a_library_caller_leaves_the_collector_alone(tmp_path):
    """Tests and library callers build many times in one process: their collector stays on."""
    assert gc.isenabled()
    result = CliRunner().invoke(main, ["build", str(EXAMPLE), "-o", str(tmp_path / "out"), "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    assert gc.isenabled()


def test_console_build_leaves_no_font_copies_in_the_temporary_directory(tmp_path):
    """WeasyPrint copies the @font-face fonts (7.8 MB) into a temporary folder it removes only when
    its font configuration is finalized; without the cyclic collector that never happened, and each
    `casegen build` with a PDF left a folder behind."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(temp))
    done = subprocess.run([sys.executable, "-m", "casegen", "build", str(EXAMPLE), "-o", str(out), "--format", "pdf",
                           "-q"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (out / "report.pdf").is_file()
    assert sorted(p.name for p in temp.iterdir()) == []


# ------------------------------------------------------------------ compiled templates kept on disk


def _env_with(cache, folder):
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), bytecode_cache=cache)


def _compiles(monkeypatch):
    import jinja2

    calls = []
    original = jinja2.Environment.compile

    def counting(self, source, *args, **kwargs):
        calls.append(1)
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return calls


def test_a_new_process_takes_compiled_templates_from_disk(tmp_path, monkeypatch):
    from casegen.render.template_cache import TemplateCache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "page.j2").write_text("Hello {{ name }}")
    calls = _compiles(monkeypatch)
    assert _env_with(TemplateCache("html", "9.9"), tmp_path / "t").get_template("page.j2").render(name="a") == "Hello a"
    assert len(calls) == 1
    folder = next((tmp_path / "cache" / "casegen" / "templates").iterdir())
    assert oct(folder.stat().st_mode & 0o777) == "0o700" and len(list(folder.glob("*.cache"))) == 1
    # a fresh cache (a new process): loaded from disk, not compiled
    assert _env_with(TemplateCache("html", "9.9"), tmp_path / "t").get_template("page.j2").render(name="b") == "Hello b"
    assert len(calls) == 1
    # an edited template is compiled again (Jinja's checksum of the source)
    (tmp_path / "t" / "page.j2").write_text("Bye {{ name }}")
    assert _env_with(TemplateCache("html", "9.9"), tmp_path / "t").get_template("page.j2").render(name="c") == "Bye c"
    assert len(calls) == 2
    # another casegen version has its own folder
    _env_with(TemplateCache("html", "10.0"), tmp_path / "t").get_template("page.j2")
    assert len(calls) == 3


def test_a_folder_others_can_write_is_not_used(tmp_path, monkeypatch):
    from casegen.render.template_cache import TemplateCache, cache_folder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shared = tmp_path / "cache" / "casegen" / "templates"
    shared.mkdir(parents=True)
    folder = cache_folder("html", "9.9")
    assert folder is not None
    folder.chmod(0o777)  # someone else could plant compiled code here
    assert cache_folder("html", "9.9") is None
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "page.j2").write_text("x")
    calls = _compiles(monkeypatch)
    _env_with(TemplateCache("html", "9.9"), tmp_path / "t").get_template("page.j2")
    _env_with(TemplateCache("html", "9.9"), tmp_path / "t").get_template("page.j2")
    assert len(calls) == 2 and not list(folder.iterdir())


# ------------------------------------------------------------------ preview: a prose edit draws no chart


def test_a_prose_edit_draws_no_chart_again(tmp_path, monkeypatch):
    """Every chart of a re-render after a prose edit comes from the preview's memo — the segments
    chart included (its arguments are pydantic models)."""
    from casegen.app.preview import PreviewCache, render_preview
    from casegen.render import charts

    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "synth.py"), str(tmp_path), "2000"], check=True,
                   capture_output=True, timeout=120)
    case = tmp_path / "synthetic-2000"
    cache = PreviewCache()
    first = render_preview(case, cache)
    assert "Where the change helps and where it hurts" in first.html  # the segments chart is drawn
    drawn = []
    original = charts._to_svg
    monkeypatch.setattr(charts, "_to_svg", lambda *a, **k: drawn.append(a[1]) or original(*a, **k))
    y = case / "case.yaml"
    y.write_text(y.read_text().replace("title: ", "title: Edited ", 1))
    second = render_preview(case, cache)
    assert second.reused and "Edited" in second.html
    assert drawn == []


def test_a_users_template_renders_with_the_collector_on():
    """The sandbox child of a user's templates collects its own garbage even when `casegen build`
    switched the collector off in the parent."""
    from casegen.render.sandbox import render_bounded

    gc.disable()
    try:
        assert render_bounded(lambda: str(gc.isenabled()), where="t") == "True"
    finally:
        gc.enable()
