"""Atomic file output: a failed run never leaves a half-written file behind.

Two levels:

- :func:`atomic_path` writes one file through a temporary file beside it that
  replaces the target only when complete;
- :func:`staged_outputs` collects every file of one run in a private staging
  folder and moves them into the output folder only when the whole run has
  succeeded, so a run that fails half-way adds, replaces and leaves nothing.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from clustermodel._errors import ClusterModelError

__all__ = ["atomic_path", "write_text", "write_json", "write_netcdf", "ensure_dir", "staged_outputs"]

_STAGING_PREFIX = ".clustermodel-staging-"


def ensure_dir(path) -> Path:
    """Create ``path`` (and parents) or raise a readable error."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClusterModelError(f"cannot create output folder {path}: {exc.strerror}; choose a writable --out") from None
    if not os.access(path, os.W_OK):
        raise ClusterModelError(f"output folder {path} is not writable; choose a writable --out")
    return path


def _unlink_quietly(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _file_mode(path: Path) -> int:
    """The mode of the file being replaced, else 0o666 minus the umask (what open() would give)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _published_path(path: Path) -> Path:
    """Where a file written into a staging folder will be published (the path the user knows)."""
    for parent in path.parents:
        if parent.name.startswith(_STAGING_PREFIX):
            return parent.parent / path.relative_to(parent)
    return path


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; move it into place only on success.

    Raises
    ------
    ClusterModelError
        If the folder cannot hold the file or ``path`` cannot be replaced
        (e.g. it is a folder); nothing is left behind.
    """
    path = Path(path)
    ensure_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise ClusterModelError(f"cannot write into {path.parent}: {exc.strerror}; choose a writable output folder") from None
    os.close(fd)
    try:
        yield Path(tmp)
    except OSError as exc:  # e.g. a full disk (ENOSPC) while the file is written: name the file
        _unlink_quietly(tmp)
        fix = "free some space or choose another --out" if exc.errno == errno.ENOSPC else "choose another output path"
        raise ClusterModelError(f"cannot write {_published_path(path)}: {exc.strerror or exc}; {fix}") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600 files; outputs get the usual permissions
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise ClusterModelError(f"cannot write {path}: {exc.strerror}; choose another output path") from None


def write_text(path, text: str) -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path, obj) -> Path:
    """Pretty-printed UTF-8 JSON, written atomically."""
    import json

    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_netcdf(path, ds, *, compress: bool = False) -> Path:
    """An xarray Dataset as NetCDF, written atomically; ``compress`` zlib-compresses the numeric variables."""
    encoding = None
    if compress:
        encoding = {k: {"zlib": True, "complevel": 4} for k, v in ds.data_vars.items() if v.dtype.kind in "fiub"}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, encoding=encoding)
    return Path(path)


@contextmanager
def staged_outputs(folder):
    """Stage every output of one run; publish them into ``folder`` only if the run succeeds.

    Yields a private folder inside ``folder``. On normal exit every file
    written into it is moved into ``folder`` (same relative path, replacing
    older versions); on an exception the staging folder is deleted, so
    ``folder`` holds exactly what it held before (a folder this call created
    is removed again).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> with staged_outputs(out) as stage:
    ...     _ = write_text(stage / "table.md", "| a |\\n")
    >>> sorted(p.name for p in out.iterdir())
    ['table.md']
    """
    folder = Path(folder)
    created = not folder.exists()
    folder = ensure_dir(folder)
    try:
        stage = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=folder))
    except OSError as exc:
        raise ClusterModelError(f"cannot write into {folder}: {exc.strerror}; choose a writable --out") from None
    try:
        yield stage
        files = sorted(p for p in stage.rglob("*") if p.is_file())
        for p in files:
            target = folder / p.relative_to(stage)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(p, target)
            except OSError as exc:
                raise ClusterModelError(f"cannot write {target}: {exc.strerror}; choose another output folder") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created and not any(folder.iterdir()):
            folder.rmdir()
        raise
    shutil.rmtree(stage, ignore_errors=True)
