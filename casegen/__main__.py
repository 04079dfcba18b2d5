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

At exit every object left is frozen first: the interpreter's shutdown then skips collecting
them (it frees them by reference count as usual) instead of scanning the whole heap — that
scan alone took 0.5–0.7 s of CPU after a build of the example.
"""

import gc
import sys

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
    import casegen.cli.main
    from casegen.cli.main import main as cli_main

    casegen.cli.main.ONE_SHOT = True  # `casegen build` may switch the collector off for its remaining life

    try:
        cli_main()  # ends in SystemExit (Click's standalone mode)
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
