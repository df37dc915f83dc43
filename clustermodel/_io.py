"""Atomic file output: a failed run never leaves a half-written file behind.

Two levels:

- :func:`atomic_path` writes one file through a temporary file beside it that
  replaces the target only when complete;
- :func:`staged_outputs` collects every file of one run in a private staging
  folder and moves them into the output folder only when the whole run has
  succeeded, so a run that fails half-way adds, replaces and leaves nothing.

Numbers in JSON and CSV outputs are written with a stated precision
(:data:`SIGNIFICANT_DIGITS` significant digits; magnitudes below
:data:`ZERO_BELOW` as 0), so that the last-bit rounding differences between
BLAS builds and CPUs do not change a committed file (docs/packaging.md).
"""

from __future__ import annotations

import contextvars
import errno
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from clustermodel._errors import ClusterModelError

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = [
    "SIGNIFICANT_DIGITS",
    "ZERO_BELOW",
    "atomic_path",
    "ensure_dir",
    "json_text",
    "round_numbers",
    "staged_outputs",
    "write_csv",
    "neutral_cell",
    "FORMULA_START",
    "write_json",
    "write_netcdf",
    "write_text",
    "UNIT_KEY",
    "unit_key",
]

#: A file or folder path.
PathLike: TypeAlias = str | os.PathLike[str]

#: Significant digits of every floating-point number written to a JSON or CSV output. Ten digits keep far more
#: than any result here means (Sobol' indices, p-values and intervals carry two or three) while lying well above
#: the ~1e-16 relative rounding noise by which BLAS builds, CPUs and thread counts differ.
SIGNIFICANT_DIGITS = 10
#: Magnitudes below this are written as 0: quantities that are zero in exact arithmetic (the spread of an output
#: that the weights cannot change, a difference of equal values) come out as rounding noise of 1e-17...1e-13,
#: whose digits differ from machine to machine. Everything this toolkit reports is of order 1e-6 or larger.
ZERO_BELOW = 1e-12

_STAGING_PREFIX = ".clustermodel-staging-"


def _round_float(x: float) -> float:
    if not math.isfinite(x):
        return x
    if abs(x) < ZERO_BELOW:
        return 0.0
    return float(f"{x:.{SIGNIFICANT_DIGITS}g}")


#: The name the estimators give a unit's label in their tables, datasets and records (the paper's clusters).
UNIT_KEY = "cluster"
_FILE_UNIT_KEY: contextvars.ContextVar[str] = contextvars.ContextVar("clustermodel_file_unit_key", default=UNIT_KEY)


@contextmanager
def unit_key(key: str) -> Iterator[None]:
    """Within the block, :func:`write_csv`, :func:`write_json` and :func:`write_netcdf` call a unit's label ``key``
    instead of :data:`UNIT_KEY`: a column, an index level, a record key, a NetCDF dimension or variable, and the
    attributes ``cluster_coord`` / ``threshold_cluster`` (the report's stages name it ``unit`` for any study but
    the paper's). A name the written object already uses is left alone rather than overwritten.
    """
    if not isinstance(key, str) or not key.isidentifier():
        raise ClusterModelError(f"`key` must be an identifier such as 'unit', got {key!r}")
    token = _FILE_UNIT_KEY.set(key)
    try:
        yield
    finally:
        _FILE_UNIT_KEY.reset(token)


def _keyed_frame(df: pd.DataFrame, key: str) -> pd.DataFrame:
    if UNIT_KEY in df.columns and key not in df.columns:
        df = df.rename(columns={UNIT_KEY: key})
    names = list(df.index.names)
    if UNIT_KEY in names and key not in names and key not in df.columns:
        df = df.rename_axis(index=[key if n == UNIT_KEY else n for n in names])
    return df


def _keyed_records(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        rename = UNIT_KEY in obj and key not in obj
        return {(key if rename and k == UNIT_KEY else k): _keyed_records(v, key) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_keyed_records(v, key) for v in obj]
    return obj


def _keyed_dataset(ds: xr.Dataset, key: str) -> xr.Dataset:
    if (UNIT_KEY in ds.variables or UNIT_KEY in ds.dims) and key not in ds.variables and key not in ds.dims:
        ds = ds.rename({UNIT_KEY: key})
    moved = {f"{UNIT_KEY}_coord": f"{key}_coord", f"threshold_{UNIT_KEY}": f"threshold_{key}"}
    if any(a in ds.attrs and b not in ds.attrs for a, b in moved.items()):
        ds = ds.copy(deep=False)
        ds.attrs = {(moved[a] if a in moved and moved[a] not in ds.attrs else a): v for a, v in ds.attrs.items()}
    return ds


def round_numbers(obj: Any) -> Any:
    """``obj`` with every float (in nested dicts, lists and tuples) at the stated precision.

    Floats are rounded to :data:`SIGNIFICANT_DIGITS` significant digits and
    magnitudes below :data:`ZERO_BELOW` become 0; integers, booleans, strings,
    NaN and infinities are returned unchanged. A numpy float array comes back
    as a new array of rounded values (for plotted data: a line drawn from
    rounded values has the same pixels on every machine).

    Examples
    --------
    >>> round_numbers({"r": 0.1 + 0.2, "noise": [3e-17, -2.5e-14], "n": 19, "p": 0.5600000000000001})
    {'r': 0.3, 'noise': [0.0, 0.0], 'n': 19, 'p': 0.56}
    """
    if isinstance(obj, float):
        return _round_float(obj)
    if isinstance(obj, dict):
        return {k: round_numbers(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_numbers(v) for v in obj]
    if type(obj).__module__ == "numpy" and getattr(obj, "dtype", None) is not None and obj.dtype.kind == "f":
        import numpy as np

        return np.vectorize(_round_float, otypes=[obj.dtype])(obj)
    return obj


def finite_or_none(v) -> float | None:
    """One number as a JSON record holds it: a float, or None for None, NaN and infinities."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _finite(obj: Any) -> Any:
    """``obj`` with NaN and infinities as None (JSON has no such numbers) and numpy scalars as Python ones."""
    import numbers

    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if type(obj).__module__ == "numpy" and hasattr(obj, "tolist"):
        return _finite(obj.tolist())
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj) if math.isfinite(obj) else None
    return obj


def json_text(obj: Any) -> str:
    """Pretty-printed JSON (two-space indent, UTF-8 characters kept) with numbers at the stated precision; always
    valid JSON: NaN and infinities are written as null (``allow_nan=False`` guarantees no other slips through)."""
    key = _FILE_UNIT_KEY.get()
    if key != UNIT_KEY:  # a unit's key as unit_key() sets it
        obj = _keyed_records(obj, key)
    return json.dumps(_finite(round_numbers(obj)), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def ensure_dir(path: PathLike) -> Path:
    """Create ``path`` (and parents) or raise a readable error."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClusterModelError(f"cannot create output folder {path}: {exc.strerror}; choose a writable --out") from None
    if not os.access(path, os.W_OK):
        raise ClusterModelError(f"output folder {path} is not writable; choose a writable --out")
    return path


def _unlink_quietly(path: PathLike) -> None:
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
def atomic_path(path: PathLike) -> Iterator[Path]:
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


def write_text(path: PathLike, text: str) -> Path:
    """``text`` as a UTF-8 file, written atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: PathLike, obj: Any) -> Path:
    """Pretty-printed UTF-8 JSON with numbers at the stated precision (:func:`round_numbers`), written atomically;
    a unit's key as :func:`unit_key` sets it."""
    return write_text(path, json_text(obj))


#: The first characters with which a spreadsheet program reads a cell as a formula (or, for tab and carriage
#: return, may shift it into one): OWASP's list for CSV injection.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutral_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a string beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return gets a leading apostrophe (OWASP's recommendation against CSV injection), unless the string is
    a number (``-0.5``, ``+3``, ``-1e-3``), which stays as it is. Anything that is not a string is returned
    unchanged, so numbers stay numbers.

    Examples
    --------
    >>> print(neutral_cell('=HYPERLINK("http://x.example","click")'))
    '=HYPERLINK("http://x.example","click")
    >>> neutral_cell("+1+1"), neutral_cell("@SUM(A1)"), neutral_cell("-0.25"), neutral_cell(-3.0), neutral_cell("Moscow")
    ("'+1+1", "'@SUM(A1)", '-0.25', -3.0, 'Moscow')
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def _neutral_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Column and index labels (unit or indicator codes, when a table is wide) through :func:`neutral_cell`."""
    import pandas as pd

    def fix(index):
        if isinstance(index, pd.MultiIndex):
            return index.set_levels([fix(level) for level in index.levels])
        if index.dtype == object and any(isinstance(v, str) and v.startswith(FORMULA_START) for v in index):
            return index.map(neutral_cell)
        return index

    df.columns = fix(df.columns)
    df.index = fix(df.index)
    return df


def write_csv(path: PathLike, df: pd.DataFrame, *, index: bool | None = None) -> Path:
    """A table as CSV with numbers at the stated precision, written atomically; a unit's key as :func:`unit_key`
    sets it.

    Parameters
    ----------
    path : str or path-like
    df : pandas.DataFrame
    index : bool, optional
        Write the index as the first column(s). By default only when it is
        named (a plain row counter is left out).
    """
    import pandas as pd

    if index is None:
        index = any(n is not None for n in df.index.names)
    key = _FILE_UNIT_KEY.get()
    out = df.copy() if key == UNIT_KEY else _keyed_frame(df, key).copy()
    for column in out.columns:
        values = out[column]
        if values.dtype.kind == "f" or values.dtype == object:
            out[column] = values.map(round_numbers).astype(values.dtype)
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            out[column] = out[column].map(neutral_cell).astype(values.dtype)
    out = _neutral_labels(out)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=index)
    return Path(path)


def write_netcdf(path: PathLike, ds: xr.Dataset, *, compress: bool = False) -> Path:
    """An xarray Dataset as NetCDF, written atomically; ``compress`` zlib-compresses the numeric variables; a unit's
    key as :func:`unit_key` sets it."""
    key = _FILE_UNIT_KEY.get()
    if key != UNIT_KEY:
        ds = _keyed_dataset(ds, key)
    encoding = None
    if compress:
        encoding = {k: {"zlib": True, "complevel": 4} for k, v in ds.data_vars.items() if v.dtype.kind in "fiub"}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, encoding=encoding)
    return Path(path)


@contextmanager
def staged_outputs(folder: PathLike) -> Iterator[Path]:
    """Stage every output of one run; publish them into ``folder`` only if the run succeeds.

    The single commands' name for the one transaction every command uses
    (:func:`clustermodel._transaction.published`, with ``replace_previous=False``): the folder is locked for the
    run, what an earlier killed run left is finished or removed first, and every file written into the yielded
    staging folder is moved into ``folder`` (same relative path, replacing older versions) only on success; on an
    exception or an interrupt ``folder`` holds exactly what it held before (a folder this call created is removed
    again). Nothing in ``folder`` is ever deleted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> with staged_outputs(out) as stage:
    ...     _ = write_text(stage / "table.md", "| a |\\n")
    >>> sorted(p.name for p in out.iterdir())
    ['table.md']
    """
    from clustermodel._transaction import published

    with published(Path(folder), replace_previous=False, say=lambda line: print(line, file=sys.stderr)) as stage:
        yield stage
