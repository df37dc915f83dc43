"""The package's layering: the library never imports the command-line layer, and estimators know no prose."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "clustermodel"
CLI_LAYER = {"clustermodel.cli", "clustermodel.commands", "clustermodel.__main__"}
#: Modules that compute and return results: numbers only, no Markdown.
ESTIMATORS = ["index", "aggregate", "normalise", "treat", "impute", "denominate", "structure", "scenarios", "sensitivity", "sobol", "bootstrap", "relationship", "reproduction"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _library_modules():
    for p in sorted(PACKAGE.rglob("*.py")):
        rel = p.relative_to(PACKAGE)
        if rel.parts[0] == "commands" or rel.name in ("cli.py", "__main__.py"):
            continue
        yield p


@pytest.mark.parametrize("path", list(_library_modules()), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_library_never_imports_the_cli(path):
    bad = sorted(n for n in _imports(path) if any(n == c or n.startswith(c + ".") for c in CLI_LAYER))
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_estimators_write_no_markdown(name):
    files = sorted((PACKAGE / name).glob("*.py")) if (PACKAGE / name).is_dir() else [PACKAGE / f"{name}.py"]
    source = "".join(f.read_text(encoding="utf-8") for f in files)
    tables = re.findall(r"\"\|[-:]{3}|\"\| [A-Za-z]", source)
    headings = re.findall(r"\"#{2,} [A-Z]", source)
    assert not tables and not headings, f"{name}.py builds Markdown ({len(tables)} table rows, {len(headings)} headings)"


# --------------------------------------------------------------------------- floors (docs/architecture.md)
#: Each module's floor; a module imports only from its own floor or below (imports under TYPE_CHECKING are exempt:
#: they never run). ``reporting`` and ``commands`` stand for every module in those folders.
FLOORS = {
    0: ["_errors", "_version", "_typing", "_validation", "_display", "_resources", "_io", "_tables", "_transaction", "_dask", "_background", "_statsmodels", "_provenance", "nouns"],
    1: ["spec", "structure", "data", "paper"],
    2: ["denominate", "impute", "treat", "normalise", "aggregate", "index", "scenarios"],
    3: ["sensitivity", "sobol", "bootstrap", "relationship", "reproduction", "diagnostics", "_nodes", "coherence", "datastats", "importance", "removal", "compare", "uncertainty"],
    4: ["reporting", "plots"],
    5: ["config", "workflow", "report", "workbook"],
    6: ["cli", "commands", "__main__"],
}
_FLOOR_OF = {name: floor for floor, names in FLOORS.items() for name in names}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _floor(module: str):
    parts = module.split(".")
    if parts[0] != "clustermodel":
        return None
    if len(parts) == 1:
        return "face"
    return _FLOOR_OF.get(parts[1], "unassigned")


def _runtime_imports(path: Path) -> list[tuple[str, int]]:
    """(module, line) of every clustermodel import that can run: lazy ones inside functions too, not TYPE_CHECKING ones."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exempt = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "clustermodel":  # `from clustermodel import x`: the face, unless x is a module
                out += [(f"clustermodel.{a.name}" if (PACKAGE / f"{a.name}.py").exists() or (PACKAGE / a.name).is_dir() else "clustermodel", node.lineno) for a in node.names]
            else:
                out.append((node.module, node.lineno))
    return [(m, ln) for m, ln in out if m.split(".")[0] == "clustermodel"]


_MODULES = [p for p in sorted(PACKAGE.rglob("*.py")) if _module_name(p) != "clustermodel"]


def test_every_module_has_a_floor():
    unassigned = [_module_name(p) for p in _MODULES if _floor(_module_name(p)) == "unassigned"]
    assert not unassigned, f"give these modules a floor in FLOORS and docs/architecture.md: {unassigned}"


@pytest.mark.parametrize("path", _MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_floors(path):
    here = _floor(_module_name(path))
    up = [
        f"line {ln}: {m} (floor {_floor(m)})"
        for m, ln in _runtime_imports(path)
        if _floor(m) == "face" or (isinstance(_floor(m), int) and isinstance(here, int) and _floor(m) > here)
    ]
    assert not up, f"{path.relative_to(PACKAGE)} (floor {here}) imports upwards: {up}"


def test_no_import_cycles():
    """No two modules import each other, directly or through others (lazy imports included)."""
    graph = {}
    names = {_module_name(p) for p in _MODULES}
    for p in _MODULES:
        deps = set()
        for m, _ in _runtime_imports(p):
            while m and m not in names:  # `from clustermodel.data import x` -> clustermodel.data
                m = m.rpartition(".")[0]
            if m and m != _module_name(p):
                deps.add(m)
        graph[_module_name(p)] = deps
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == "open":
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[n] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n)
    # a package's __init__ that re-exports its own modules is not a cycle of responsibilities
    cycles = [c for c in cycles if not all(x == c[0].rpartition(".")[0] or x.startswith(c[0] + ".") or c[0].startswith(x + ".") for x in c[1:])]
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)
