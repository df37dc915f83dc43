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
    source = (PACKAGE / f"{name}.py").read_text(encoding="utf-8")
    tables = re.findall(r"\"\|[-:]{3}|\"\| [A-Za-z]", source)
    headings = re.findall(r"\"#{2,} [A-Z]", source)
    assert not tables and not headings, f"{name}.py builds Markdown ({len(tables)} table rows, {len(headings)} headings)"
