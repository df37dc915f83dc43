"""The tutorial as a notebook (issue 22.6): docs/tutorial.ipynb is docs/tutorial.md converted, and it runs in a real
Jupyter kernel with every cell showing what the tutorial prints.

docs/tutorial.md itself runs as a doctest (pyproject's --doctest-glob); this runs the notebook form of the same text
through nbclient, the way a user's "Restart & Run All" does, so a cell that only works at a ``>>>`` prompt fails here.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebook", ROOT / "docs" / "build_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_notebook_is_the_tutorial_converted():
    builder = _builder()
    want = builder.render((ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8"))
    assert NOTEBOOK.read_text(encoding="utf-8") == want, "docs/tutorial.ipynb is out of date: run python docs/build_notebook.py"
    cells = json.loads(want)["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert len(code) >= 30 and not any(">>>" in "".join(c["source"]) for c in code)
    assert not any("doctest:" in "".join(c["source"]) for c in code)


def _shown(cell) -> str:
    """What a cell shows a reader: its printed text, then the value of its last expression (text form)."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream" and out["name"] == "stdout":
            parts.append("".join(out["text"]))
        elif out["output_type"] == "execute_result":
            parts.append("".join(out["data"].get("text/plain", "")) + "\n")
    return "".join(parts)


def test_the_notebook_runs_in_a_kernel_and_shows_what_the_tutorial_prints(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # the kernel is this interpreter (ipykernel's own spec), started in a scratch folder like a user's
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    compared = 0
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        want = cell.metadata["clustermodel_expected"]
        got = _shown(cell)
        want_text = want + "\n" if want else ""
        assert checker.check_output(want_text, got, flags), f"cell {k}:\n{''.join(cell.source)}\nwanted:\n{want_text}\ngot:\n{got}"
        compared += bool(want)
    assert compared >= 25


def test_the_kernel_is_this_python():
    """nbclient's 'python3' kernel is ipykernel's native spec, which runs sys.executable: the notebook test runs the
    installed clustermodel, not another Python's."""
    spec_mod = pytest.importorskip("jupyter_client.kernelspec")
    spec = spec_mod.KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve() or spec.argv[0] == "python"
