"""The package's layers (docs/architecture.md): data flows one way, and imports only go down.

Every ``import`` in ``casegen/`` is read from the source (imports inside functions included):
a module may import from its own layer or a lower one, never a higher one, and no set of
modules may import each other in a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "casegen"

#: lowest first; a module's layer is that of its first dotted part below ``casegen``
LAYERS: list[tuple[str, set[str]]] = [
    ("base", {"", "errors", "registry", "formatting", "safe_io", "resources"}),
    ("runs", {"runs"}),
    ("case", {"case"}),
    ("analysis", {"analysis"}),
    ("story", {"story"}),
    ("report", {"report"}),
    ("render", {"render"}),
    ("app", {"app"}),
    ("cli", {"cli", "__main__"}),
]


def layer_of(module: str) -> int:
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else ""
    for i, (_name, members) in enumerate(LAYERS):
        if head in members:
            return i
    raise AssertionError(f"{module} is in no layer: add its folder to LAYERS and docs/architecture.md")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _exists(module: str) -> bool:
    p = ROOT.parent / module.replace(".", "/")
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def imports_of(path: Path) -> set[str]:
    """casegen modules ``path`` imports, anywhere in the file."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "casegen":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if _exists(sub) else target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "casegen"}
    out.discard(mod)
    return out


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(ROOT.rglob("*.py"))}


def test_every_module_has_a_layer():
    for mod in graph():
        layer_of(mod)


def test_imports_only_go_down():
    upward = [f"{mod} ({LAYERS[layer_of(mod)][0]}) imports {dep} ({LAYERS[layer_of(dep)][0]})"
              for mod, deps in graph().items() for dep in sorted(deps) if layer_of(dep) > layer_of(mod)]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(graph()) == []


@pytest.mark.parametrize("g, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_cycle_finder_finds_cycles(g, expected):
    assert cycles(g) == expected


def test_imports_inside_functions_are_seen():
    # app/build.py imports the Markdown renderer inside build(): the rule must see it
    assert "casegen.render.markdown" in imports_of(ROOT / "app" / "build.py")


def literal_key_lists(path: Path) -> list[str]:
    """Tuple/list/set literals of three or more metric keys, or of three or more statistic keys, in
    ``path`` (a Literal[...] annotation is a type, not a list)."""
    from casegen import registry

    metric_keys, stat_keys = set(registry.METRICS), set(registry.STATISTICS)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_literal = {id(n.slice) for n in ast.walk(tree)
                  if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == "Literal"}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Tuple, ast.List, ast.Set)) or id(node) in in_literal or len(node.elts) < 3:
            continue
        values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if len(values) == len(node.elts) and (set(values) <= metric_keys or set(values) <= stat_keys):
            found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: {values}")
    return found


def test_metric_and_statistic_lists_come_from_the_registry():
    """casegen/registry.py is the one list of metrics and statistics; the importers (runs/) keep their
    tools' own vocabularies."""
    found = [hit for p in sorted(ROOT.rglob("*.py")) if p.name != "registry.py" and "runs" not in p.parts
             for hit in literal_key_lists(p)]
    assert not found, "write these with casegen.registry's lists:\n" + "\n".join(found)


def test_literal_list_check_finds_a_list(tmp_path):
    bad = tmp_path / "casegen" / "m.py"
    bad.parent.mkdir()
    bad.write_text('STATS = ("mean", "p50", "p99")\nfrom typing import Literal\nX = Literal["ttft", "tpot", "e2e"]\n')
    global ROOT
    saved, ROOT = ROOT, tmp_path / "casegen"
    try:
        assert [h.split(": ", 1)[1] for h in literal_key_lists(bad)] == ["['mean', 'p50', 'p99']"]
    finally:
        ROOT = saved
