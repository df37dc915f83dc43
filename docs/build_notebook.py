"""Write docs/tutorial.ipynb from docs/tutorial.md: the same tutorial as a notebook whose cells run as they are.

docs/tutorial.md is a doctest transcript (``>>>`` prompts, expected output below each statement), which a notebook
cannot run. This script makes one notebook from it: each prose passage a Markdown cell, each group of statements a
code cell ending at the statement whose output the tutorial prints, the prompts and doctest directives removed, and
that printed output kept in the cell's metadata (``clustermodel_expected``), so ``tests/test_tutorial_notebook.py``
can run the notebook in a real kernel (nbclient) and compare what each cell shows with what the tutorial promises.
There is one source: edit docs/tutorial.md, then run ``python docs/build_notebook.py`` (the test fails while the
committed notebook is not this script's output).

    python docs/build_notebook.py            # rewrite docs/tutorial.ipynb
    python docs/build_notebook.py --check    # exit 1 if docs/tutorial.ipynb is out of date
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
SOURCE = DOCS / "tutorial.md"
TARGET = DOCS / "tutorial.ipynb"
_DIRECTIVE = re.compile(r"\s*#\s*doctest:.*$")
_NOTE = (
    "*This notebook is generated from `docs/tutorial.md` by `docs/build_notebook.py`; "
    "run it top to bottom (Kernel → Restart & Run All). The test suite runs it and checks every output below "
    "against the tutorial.*"
)


def _blocks(text: str):
    """Split the Markdown into ('prose', lines) and ('doctest', lines) blocks; a doctest is a fenced python block."""
    lines = text.splitlines()
    prose: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            yield "prose", prose
            prose = []
            yield "doctest", lines[i + 1 : j]
            i = j + 1
        else:
            prose.append(lines[i])
            i += 1
    yield "prose", prose


def _examples(block: list[str]):
    """(source lines, expected output lines) of each ``>>>`` statement in a doctest block."""
    out = []
    for line in block:
        if line.startswith(">>> "):
            out.append(([_DIRECTIVE.sub("", line[4:])], []))
        elif line.startswith("... ") or line == "...":
            out[-1][0].append(_DIRECTIVE.sub("", line[4:]))
        elif out:
            out[-1][1].append(line)
    return [(src, _trim(want)) for src, want in out]


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _cell(kind: str, source: list[str], **extra) -> dict:
    text = "\n".join(source)
    cell = {"cell_type": kind, "metadata": extra.pop("metadata", {}), "source": text.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook(markdown: str) -> dict:
    """The notebook (nbformat 4 JSON) made from the tutorial's Markdown text."""
    cells = []
    for kind, lines in _blocks(markdown):
        if kind == "prose":
            text = _trim(lines)
            while text and not text[0].strip():
                text = text[1:]
            if text:
                cells.append(_cell("markdown", text))
                if len(cells) == 1:
                    cells.append(_cell("markdown", [_NOTE]))
            continue
        pending: list[str] = []
        for source, want in _examples(lines):
            pending += source
            if want:
                cells.append(_cell("code", pending, metadata={"clustermodel_expected": "\n".join(want)}))
                pending = []
        if pending:
            cells.append(_cell("code", pending, metadata={"clustermodel_expected": ""}))
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(markdown: str) -> str:
    """The notebook as the bytes written to disk (stable: cell ids are their positions)."""
    nb = notebook(markdown)
    for k, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{k:02d}"
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render(SOURCE.read_text(encoding="utf-8"))
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run python docs/build_notebook.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
