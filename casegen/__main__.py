"""``python -m casegen`` and the ``casegen`` console script (``casegen.__main__:main``).

The garbage collector is tuned here, before casegen's libraries are imported: importing pandas,
matplotlib and WeasyPrint creates about a million long-lived objects, and the building of a
report allocates millions of short-lived ones (layout boxes, chart artists), so CPython's default
thresholds (a collection every 700 allocations, a full one every 100 of those) spend about a
fifth of a short build re-scanning objects that live until exit. Collections still happen, 70×
less often in the youngest generation; cycles are still freed (``benchmarks/bench_scale.py``
measures the effect; the library functions leave the collector alone). ``casegen build``, a
process that ends when its one build does, switches the collector off altogether
(``casegen.cli.main.ONE_SHOT``).

When the command is done (Click ends it with ``SystemExit``), the process ends there: the exit
handlers run (``atexit``), the standard streams are flushed, and ``os._exit`` skips the
interpreter's teardown — freeing, one by one, the millions of objects of the libraries and the
build, ≈ 0.035 s of CPU after a build of the example (its outputs are written and closed by
then). An exception other than ``SystemExit`` takes the ordinary way out (traceback, teardown);
before that, every object left is frozen, so that shutdown does not scan the whole heap (0.5–0.7 s).

The command never draws 3-D axes: importing matplotlib's ``mpl_toolkits.mplot3d``, which
``matplotlib.projections`` does on import to register the projection, is refused in this process
(≈ 0.03 s of CPU; matplotlib then warns that 3-D is unavailable, a warning silenced here).

Nor does it ask matplotlib for help: on import matplotlib writes, for each of its ~80 artist
classes, a signature and a docstring for the class's ``set()`` listing every property (an
inspection of each setter's docstring), for ``help()`` and IDEs. In this process the classes
defined after ``matplotlib.artist`` keep the generic ``set()`` (the same behaviour: properties by
keyword, aliases accepted) without that text — ≈ 0.11 s of CPU of the 0.36 s ``matplotlib.pyplot``
takes to import (:func:`_without_set_docs`). Likewise the ``%(Name:kwdoc)s`` placeholders that
matplotlib's functions and classes fill, as they are defined, with the property list of an artist
class (an inspection of every setter again, ≈ 0.02 s of CPU) are filled with nothing.

And WeasyPrint imports fontTools' subsetter and variable-font instancer for fonts it subsets with
HarfBuzz and for variable fonts (casegen's DejaVu fonts are not): in this process both load when
first used instead (≈ 0.06 s of CPU of WeasyPrint's 0.29 s import; :func:`_fonttools_when_used`).

pydantic looks for plugins (entry points of the group ``pydantic``) through ``importlib.metadata``,
whose import (with the ``email`` modules it reads package metadata with) and scan cost ≈ 0.013 s of
CPU. In this process the search first reads the ``entry_points.txt`` of every distribution on
``sys.path`` itself (≈ 0.001 s); only when one declares that group — or the path holds what it does
not read (a zip, an egg, another finder of distributions) — does ``importlib.metadata`` load and
find them, as before (:func:`_light_plugin_scan`). Either way the same plugins load.
"""

import atexit
import gc
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from types import ModuleType
from typing import Any, NoReturn

#: (generation 0, 1, 2) thresholds for the command line: see the module docstring.
GC_THRESHOLDS = (50_000, 20, 20)

#: casegen runs on Linux and macOS: output folders are locked with POSIX ``fcntl.flock`` and swapped
#: with POSIX renames (``casegen.app.output_set``), which Windows does not have.
UNSUPPORTED_PLATFORM = ("casegen runs on Linux and macOS; Windows lacks the POSIX file locking (fcntl) it uses "
                        "to write output folders safely. On Windows, run it in WSL (Windows Subsystem for Linux).")


def main() -> None:
    if sys.platform == "win32":
        sys.stderr.write(f"Error: {UNSUPPORTED_PLATFORM}\n")
        raise SystemExit(1)
    gc.set_threshold(*GC_THRESHOLDS)
    _without_3d_axes()
    _without_set_docs()
    _fonttools_when_used()
    _light_plugin_scan()
    import casegen.cli.main
    from casegen.cli.main import main as cli_main

    casegen.cli.main.ONE_SHOT = True  # `casegen build` may switch the collector off for its remaining life

    try:
        cli_main()  # ends in SystemExit (Click's standalone mode)
    except SystemExit as done:
        _exit_now(done.code)
    finally:
        gc.freeze()


def _without_3d_axes() -> None:
    """Refuse ``mpl_toolkits.mplot3d`` in this process (see the module docstring)."""
    if "mpl_toolkits.mplot3d" not in sys.modules:
        sys.modules["mpl_toolkits.mplot3d"] = None  # type: ignore[assignment]  # import → ImportError
        warnings.filterwarnings("ignore", message="Unable to import Axes3D", category=UserWarning)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``then(module)`` right after the module ``name`` is first executed (once), and
    ``first()``, when given, right before."""

    def __init__(self, name: str, then: Any, first: Any = None):
        self.name, self.then, self.first = name, then, first

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        if self.first is not None:
            self.first()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, then = spec.loader, self.then

        class Then(importlib.abc.Loader):
            def create_module(self, spec: Any) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: ModuleType) -> None:
                loader.exec_module(module)
                then(module)

        spec.loader = Then()
        return spec


def _without_set_docs() -> None:
    """matplotlib's artist classes defined after ``matplotlib.artist`` get the generic ``set()``
    without a generated signature and docstring (see the module docstring)."""
    if "matplotlib.artist" in sys.modules:
        return

    def lean(module: ModuleType) -> None:
        artist = getattr(module, "Artist", None)
        if artist is not None and hasattr(artist, "_update_set_signature_and_docstring"):
            def mark(cls: Any) -> None:  # what subclasses test for: "this set() is the generated one"
                cls.set._autogenerated_signature = True

            artist._update_set_signature_and_docstring = classmethod(mark)

    def no_kwdoc(module: ModuleType) -> None:
        loader = getattr(module, "_ArtistKwdocLoader", None)
        if isinstance(loader, type) and issubclass(loader, dict) and "__missing__" in vars(loader):
            def missing(self: dict[str, str], key: str) -> str:  # the loader's own KeyError for other names
                if key.endswith(":kwdoc"):
                    return ""
                raise KeyError(key)

            loader.__missing__ = missing  # type: ignore[attr-defined]

    sys.meta_path.insert(0, _AfterImport("matplotlib.artist", lean))
    if "matplotlib._docstring" not in sys.modules:
        sys.meta_path.insert(0, _AfterImport("matplotlib._docstring", no_kwdoc))


class _BeforeImport(importlib.abc.MetaPathFinder):
    """Runs ``first()`` right before the module ``name`` is first imported (once)."""

    def __init__(self, name: str, first: Any):
        self.name, self.first = name, first

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == self.name:
            sys.meta_path.remove(self)
            self.first()
        return None  # the ordinary finders find it


class _Deferred(ModuleType):
    """Stands in for a module until one of its attributes is used; then the module is imported."""

    def _real(self) -> ModuleType:
        del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        parent, _, child = self.__name__.rpartition(".")
        setattr(sys.modules[parent], child, real)
        return real

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self._real(), attr)


def _fonttools_when_used() -> None:
    """fontTools' subsetter and variable-font instancer load when WeasyPrint first uses them
    (see the module docstring)."""

    def defer() -> None:
        import fontTools

        if "fontTools.subset" not in sys.modules:  # `from fontTools import subset`: used as subset.Options(…)
            spec = importlib.util.find_spec("fontTools.subset")
            if spec is not None and spec.loader is not None:
                spec.loader = importlib.util.LazyLoader(spec.loader)
                module = importlib.util.module_from_spec(spec)
                sys.modules["fontTools.subset"] = module
                spec.loader.exec_module(module)
                fontTools.subset = module
        if "fontTools.varLib" not in sys.modules:  # `from fontTools.varLib.instancer import instantiateVariableFont`
            instancer = _Deferred("fontTools.varLib.instancer")

            def instantiateVariableFont(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 (fontTools' name)
                return instancer._real().instantiateVariableFont(*args, **kwargs)

            instancer.instantiateVariableFont = instantiateVariableFont  # type: ignore[attr-defined]
            sys.modules["fontTools.varLib.instancer"] = instancer

    if "weasyprint.pdf.fonts" not in sys.modules:
        sys.meta_path.insert(0, _BeforeImport("weasyprint.pdf.fonts", defer))


def _light_plugin_scan() -> None:
    """pydantic's search for plugins does without ``importlib.metadata`` while no installed
    distribution declares a ``pydantic`` entry point (see the module docstring)."""
    if "pydantic.plugin._loader" in sys.modules or "importlib.metadata" in sys.modules:
        return
    stand_in = _Deferred("importlib.metadata")

    def entry_points(**params: Any) -> Any:
        group = params.get("group")
        if list(params) == ["group"] and isinstance(group, str) and not _may_declare(group):
            return ()  # what pydantic does with it: iterate over it
        real = sys.modules.get("importlib.metadata")
        module = real._real() if isinstance(real, _Deferred) else importlib.import_module("importlib.metadata")
        return module.entry_points(**params)

    stand_in.entry_points = entry_points  # type: ignore[attr-defined]

    def first() -> None:  # `from importlib.metadata import entry_points` in the loader takes this one
        sys.modules.setdefault("importlib.metadata", stand_in)

    def then(module: ModuleType) -> None:  # any other importer gets the real module
        if sys.modules.get("importlib.metadata") is stand_in:
            del sys.modules["importlib.metadata"]

    sys.meta_path.insert(0, _AfterImport("pydantic.plugin._loader", then, first))


def _may_declare(group: str) -> bool:
    """Whether a distribution on ``sys.path`` may declare entry points of ``group``: a
    ``[group]`` section in an ``entry_points.txt`` of a ``*.dist-info`` or ``*.egg-info`` folder,
    or a place this scan does not look into (a zip or egg on the path, a finder of distributions
    other than the standard one) — then ``importlib.metadata`` decides."""
    if any(hasattr(finder, "find_distributions") and finder is not importlib.machinery.PathFinder
           for finder in sys.meta_path):
        return True
    section = f"[{group}]"
    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder) or folder.endswith(".egg"):
            if os.path.exists(folder):
                return True
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                        if section in f.read():
                            return True
                except (FileNotFoundError, NotADirectoryError):
                    pass
                except OSError:
                    return True
            elif name.endswith(".egg"):
                return True
    return False


def _exit_now(code: object) -> NoReturn:
    """End the process with ``SystemExit(code)``'s status, without the interpreter's teardown."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # what the interpreter does with a message: print it, status 1
        sys.stderr.write(f"{code}\n")
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`casegen … | head`) or stream: nothing more to say
            pass
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    main()
