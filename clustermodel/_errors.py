"""Exceptions and warnings raised by clustermodel.

Every error the package raises on bad input is a :class:`ClusterModelError`
(a ``ValueError``), so callers can catch one class. Errors about a file carry
the file, the line and the column so the CLI can print them in one line.
"""

from __future__ import annotations

import os

__all__ = ["ClusterModelError", "InputError", "CellError", "ClusterModelWarning"]


class ClusterModelError(ValueError):
    """Invalid input or an analysis that cannot be carried out."""


class InputError(ClusterModelError):
    """Bad content in an input file, located by file, line and column.

    Parameters
    ----------
    problem : str
        What is wrong and how to fix it.
    file, line, column : optional
        Where it is. ``line`` is the 1-based line number in the file as an
        editor shows it (the header is line 1).
    """

    def __init__(self, problem: str, *, file: str | os.PathLike[str] | None = None, line: int | None = None, column: str | None = None) -> None:
        self.problem = problem
        self.file = None if file is None else str(file)
        self.line = line
        self.column = column
        where = []
        if self.file is not None:
            where.append(self.file)
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {problem}" if prefix else problem)


class CellError(ClusterModelError):
    """A bad cell found by a pure array function, located by its row ``position`` in the arrays it was given and
    the table ``column``; the caller that knows the file turns it into an :class:`InputError` with the line."""

    def __init__(self, problem: str, *, position: int, column: str | None = None) -> None:
        self.problem = problem
        self.position = int(position)
        self.column = column
        super().__init__(problem)


class ClusterModelWarning(UserWarning):
    """Something was accepted but changed or is doubtful (e.g. renormalised weights)."""
