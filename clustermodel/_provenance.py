"""What produced a run's outputs: the Python, the platform, every dependency's version and the checkout state.

Recorded in ``manifest.json`` so that a reviewer can tell whether a difference in a regenerated report comes
from the code, the data or the environment (docs/packaging.md).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["environment", "checkout_state", "dependency_versions"]

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(dist: str, *, extras: bool) -> list[str]:
    try:
        requires = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for req in requires:
        if "extra ==" in req and (not extras or re.search(r"extra\s*==\s*['\"]test['\"]", req)):
            continue  # the test tools do not touch a result
        match = _NAME.match(req)
        if match:
            names.append(_normalise(match.group(1)))
    return names


def dependency_versions(package: str = "clustermodel") -> dict[str, str]:
    """Installed version of every distribution ``package`` depends on, directly or not (name -> version).

    The direct requirements include the optional ones (extras, except ``test``) that are installed; their own
    extras are left out. A requirement that is not installed (a platform-specific one, an extra not chosen) is skipped.
    If ``package`` itself is not installed (run from a source tree on ``sys.path``), every installed
    distribution is listed.
    """
    try:
        metadata.distribution(package)
    except metadata.PackageNotFoundError:
        found = {_normalise(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}
        return dict(sorted(found.items()))
    versions: dict[str, str] = {}
    todo = _requirement_names(package, extras=True)
    while todo:
        name = todo.pop()
        if name in versions:
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        todo.extend(_requirement_names(name, extras=False))
    return dict(sorted(versions.items()))


def environment() -> dict[str, Any]:
    """Python version and implementation, the platform and :func:`dependency_versions`."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": dependency_versions(),
    }


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def checkout_root() -> Path | None:
    """The git checkout clustermodel was imported from, or None for an installed package."""
    here = Path(__file__).resolve().parent.parent
    top = _git(here, "rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != here or not (here / "pyproject.toml").exists():
        return None
    return here


def checkout_state(*, exclude: os.PathLike[str] | str | None = None) -> dict[str, Any] | None:
    """The commit of the checkout clustermodel runs from and whether its working tree differs from it.

    Parameters
    ----------
    exclude : path, optional
        A folder whose changes do not count (the output folder being written, e.g. ``reports/``).

    Returns
    -------
    dict or None
        ``{"commit": sha, "modified": bool, "modified_paths": [...]}``, where untracked files that git does
        not ignore count as modifications; None if clustermodel is not run from a git checkout (an installed
        wheel: its version identifies it).
    """
    root = checkout_root()
    if root is None:
        return None
    commit = (_git(root, "rev-parse", "HEAD") or "").strip() or "unknown"
    pathspec = ["."]
    if exclude is not None:
        try:
            rel = Path(exclude).resolve().relative_to(root).as_posix()
        except ValueError:
            rel = None
        if rel and rel != ".":
            pathspec.append(f":(exclude){rel}")
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *pathspec)
    if status is None:
        return {"commit": commit, "modified": None, "modified_paths": []}
    paths = sorted({line[3:].strip().strip('"') for line in status.splitlines() if line.strip()})
    return {"commit": commit, "modified": bool(paths), "modified_paths": paths}

