"""Files that ship inside the package: the paper's data, the example data and the default analysis config.

In the repository each of these files exists once, where a reader looks for it: ``data/`` (the paper's tables,
``data/README.md`` their provenance, ``data/examples/``) and ``analyses/config.toml``. Building a wheel copies
them into the package as ``clustermodel/_data/<the same relative path>`` (``setup.py``, step ``build_py``), and
an installed clustermodel reads them from there through :mod:`importlib.resources`. Run from a checkout
(an editable install, or the source tree on ``sys.path``) the package has no ``_data/`` folder and the
repository's own files are used, so there is never a second copy to keep in step (docs/packaging.md).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from clustermodel._errors import ClusterModelError

__all__ = ["RESOURCE_DIR", "resource", "resource_root", "repository_path"]

#: Folder of the package that holds the shipped files in an installed wheel.
RESOURCE_DIR = "_data"


def _installed_root() -> Path | None:
    root = resources.files("clustermodel").joinpath(RESOURCE_DIR)
    if not root.is_dir():
        return None
    if not isinstance(root, Path):  # e.g. a zip import: the readers here need real files
        raise ClusterModelError(
            "clustermodel's data files are inside an archive; install it unpacked (pip install the wheel)"
        )
    return root


def _checkout_root() -> Path:
    return Path(__file__).resolve().parent.parent


def resource_root() -> Path:
    """The folder that holds ``data/`` and ``analyses/config.toml``: the installed package data, else the checkout.

    Examples
    --------
    >>> (resource_root() / "data" / "clusters.csv").is_file()
    True
    """
    return _installed_root() or _checkout_root()


def resource(relative: str | os.PathLike[str]) -> Path:
    """The shipped file or folder at ``relative`` (its path in the repository, e.g. ``"data/clusters.csv"``).

    Raises
    ------
    ClusterModelError
        If it is neither in the installed package nor in a checkout.

    Examples
    --------
    >>> resource("analyses/config.toml").name
    'config.toml'
    """
    path = resource_root() / relative
    if not path.exists():
        raise ClusterModelError(
            f"clustermodel's file {Path(relative).as_posix()} was not found at {path}; reinstall clustermodel "
            "(pip install --force-reinstall the wheel) or, in a clone, restore it with git checkout"
        )
    return path


def repository_path(path: str | os.PathLike[str]) -> str | None:
    """``path``'s name in the repository (``data/clusters.csv``) if it is a shipped file, else None.

    So that a manifest names the paper's inputs the same way whether they were read from a checkout or from
    an installed wheel.
    """
    try:
        return Path(path).resolve().relative_to(resource_root().resolve()).as_posix()
    except ValueError:
        return None
