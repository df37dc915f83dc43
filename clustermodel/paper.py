"""The paper's study in one place: its spec, its nouns, its published counts, where its tables are, and the one
answer to "is this study the paper's?".

The flagship study (``../shared/paper``, sections 4.1.2 and 4.2.2) is data like any other; only these constants
make it special: the published Figure 13 counts a report compares with, the words a report uses, and the spec that
reproduces Tables 5-6. Every module asks :func:`is_paper` instead of testing a flag, a noun or a path itself.
"""

from __future__ import annotations

from pathlib import Path

from clustermodel.nouns import PAPER_NOUNS
from clustermodel.spec import PAPER_SPEC

__all__ = ["PAPER_SPEC", "PAPER_NOUNS", "PAPER_COUNTS", "PAPER_SUPPORTED_REGIONS", "paper_data_dir", "is_paper", "file_unit_key"]

#: Figure 13 as described in Section 4.2.2.
PAPER_COUNTS = {"supported": 3, "lonely": 14, "potential": 8, "late": 0}
#: The two regions whose clusters the paper places in the 'supported' scenario.
PAPER_SUPPORTED_REGIONS = ("Kaluga region", "Moscow")


def paper_data_dir() -> Path:
    """The folder holding the paper's tables: the repository's ``data/``, shipped inside the package.

    An installed clustermodel reads it through :mod:`importlib.resources`; a checkout reads the repository's
    own ``data/`` (see :mod:`clustermodel._resources`).

    Raises
    ------
    ClusterModelError
        If the installation lacks its data files.

    Examples
    --------
    >>> sorted(p.name for p in paper_data_dir().glob("*.csv"))[:2]
    ['clusters.csv', 'indicators.csv']
    """
    from clustermodel._resources import resource

    return resource("data")


def is_paper(study) -> bool:
    """Whether ``study`` is the paper's: loaded by :func:`~clustermodel.data.load_paper` (flagged ``paper``), or
    read from the package's own ``data/clusters.csv`` under another name or loader."""
    if getattr(study, "paper", False):
        return True
    try:
        table = (paper_data_dir() / "clusters.csv").resolve()
    except Exception:  # noqa: BLE001 - no packaged data: not the paper's study
        return False
    for path in getattr(study, "sources", {}) or {}:
        try:
            if Path(path).resolve() == table:
                return True
        except OSError:
            continue
    return False


def file_unit_key(study) -> str:
    """What a report's files call a unit's label (a CSV column, a JSON key, a NetCDF dimension): ``cluster`` for
    the paper's study, whose files keep the names they have always had, ``unit`` for any other study."""
    return "cluster" if is_paper(study) else "unit"
