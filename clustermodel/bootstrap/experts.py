"""Reading and checking an expert weight table (one row per expert, one column per weighted node or indicator)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from clustermodel._errors import ClusterModelError, ClusterModelWarning, InputError
from clustermodel.bootstrap.constants import ROW_SUM_TOLERANCE, _ROW_SUM_EXACT


# --------------------------------------------------------------------------- expert tables


def _columns_of(reference):
    """(structure or None, allowed column sets) of what an expert table is checked against."""
    from clustermodel.structure import Structure

    if reference is None:
        return None, None
    if hasattr(reference, "structure") and hasattr(reference, "clusters"):  # a Study
        reference = reference.structure
    if isinstance(reference, Structure):
        return reference, (list(reference.weighted), list(reference.leaves))
    if isinstance(reference, xr.DataArray):
        dim = "indicator" if "indicator" in reference.dims else "node"
        names = [str(v) for v in reference[dim].values]
    else:
        names = [str(v) for v in reference]
    return None, (names, names)


def _groups(columns, structure):
    """[(parent or None, column positions)]: the sets of columns whose weights must sum to one."""
    if structure is None:
        return [(None, list(range(len(columns))))]
    by_parent = {}
    for j, c in enumerate(columns):
        by_parent.setdefault(structure.parent(c), []).append(j)
    return list(by_parent.items())


def _check_columns(columns, reference):
    """Order the table's columns like the reference; raise (problem, column) for an unknown or lacking one."""
    structure, allowed = _columns_of(reference)
    if allowed is None:
        return columns, None
    nodes, leaves = allowed
    unknown = [c for c in columns if c not in nodes]
    if unknown:
        return None, (f"{'node' if structure is not None and not structure.is_flat else 'indicator'} {unknown[0]!r} "
                      f"is not in the data; the data's {'weighted nodes' if nodes != leaves else 'indicators'} are "
                      f"{', '.join(nodes)}", unknown[0])
    aggregates = [c for c in columns if c not in leaves]
    want = nodes if aggregates else leaves
    lacking = [k for k in want if k not in columns]
    if lacking:
        what = "weighted node" if aggregates else "indicator"
        return None, (
            f"no column for {what}(s) {', '.join(repr(k) for k in lacking)}; the expert table needs one weight column "
            f"per indicator of the data ({', '.join(leaves)})"
            + (f" or one per weighted node ({', '.join(nodes)})" if nodes != leaves else "")
            + "; give 0 for a node an expert would drop",
            None,
        )
    return [c for c in want], structure


def load_experts(path, indicators=None) -> xr.DataArray:
    """Read an expert table: one row per expert, one weight column per indicator (or per weighted node).

    Parameters
    ----------
    path : path
        CSV (or Excel) with a header ``expert,<node>,<node>,...``. Every weight
        must be a non-negative number. Within each parent of the structure the
        weights of one expert must sum to one within :data:`ROW_SUM_TOLERANCE`
        (a row within the tolerance but not exactly one is renormalised with a
        warning); without a structure, each whole row must.
    indicators : Study, Structure, DataArray or sequence of str, optional
        What the table is checked against. With a Study or Structure the
        columns must be either every weighted node (indicators, pillars,
        sub-indices: weights of every level) or only the indicators (the
        aggregates' weights then stay nominal in the bootstrap); otherwise the
        given indicator names. The result is ordered like them.

    Returns
    -------
    xarray.DataArray
        Dims ``(expert, node)``, ``attrs['source']`` = the path.

    Raises
    ------
    InputError
        Naming the file, the line and the column: a missing ``expert`` column,
        a column the data lacks (with the list of known names), a node of the
        data without a column, a missing, non-numeric or negative weight, or a
        parent's weights not summing to one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "experts.csv"
    >>> _ = p.write_text("expert,a,b\\nE1,0.4,0.6\\nE2,0.5,0.5\\n")
    >>> load_experts(p).sum("node").values.tolist()
    [1.0, 1.0]
    """
    from clustermodel.data import _line, _numeric, _require, _unique_labels, read_table

    path = Path(path)
    df = read_table(path)
    _require(df, ["expert"], path)
    columns = [c for c in df.columns if c != "expert"]
    if not columns:
        raise InputError("no weight column besides 'expert'; add one weight column per indicator", file=path, line=1)
    ordered, problem = _check_columns(columns, indicators)
    if ordered is None:
        text, column = problem
        raise InputError(text, file=path, line=1, column=column)
    structure = problem
    columns = ordered
    labels = _unique_labels(df, "expert", path)
    w = np.column_stack([_numeric(df, c, path) for c in columns])
    for i in range(w.shape[0]):
        for j, c in enumerate(columns):
            if np.isnan(w[i, j]):
                raise InputError("weight is missing; every expert needs a weight for every column (0 to drop it)", file=path, line=_line(df, i), column=c)
            if w[i, j] < 0:
                raise InputError(f"negative weight {w[i, j]!r}; weights must be >= 0", file=path, line=_line(df, i), column=c)
    renormalised = 0
    for parent, js in _groups(columns, structure):
        totals = w[:, js].sum(axis=1)
        names = ", ".join(columns[j] for j in js)
        for i, t in enumerate(totals):
            if abs(t - 1) > ROW_SUM_TOLERANCE:
                raise InputError(
                    f"expert {labels[i]!r}: the weights in columns {names}"
                    + (f" (the children of {parent!r})" if parent is not None and structure is not None and not structure.is_flat else "")
                    + f" sum to {t:.6g}, not 1 (tolerance {ROW_SUM_TOLERANCE}); fix the row so that they sum to one",
                    file=path,
                    line=_line(df, i),
                )
        off = np.abs(totals - 1) > _ROW_SUM_EXACT
        if off.any():
            renormalised += int(off.sum())
            w[:, js] = w[:, js] / totals[:, None]
    if renormalised:
        warnings.warn(
            f"{path}: {renormalised} expert row(s) sum to within {ROW_SUM_TOLERANCE} of one but not exactly; "
            "renormalised to sum to one",
            ClusterModelWarning,
            stacklevel=2,
        )
    return xr.DataArray(
        w,
        dims=["expert", "node"],
        coords={"expert": np.array(labels, dtype=object).astype(str), "node": list(columns)},
        name="expert_weights",
        attrs={"source": str(path)},
    )


def check_experts(experts, indicators=None) -> xr.DataArray:
    """Validate an in-memory expert table (dims ``expert`` and ``node`` or ``indicator``).

    The same rules as :func:`load_experts` (non-negative, finite, the weights
    of every parent summing to one within :data:`ROW_SUM_TOLERANCE`, columns
    matching the data's); the messages name the expert and the column. A path
    is read with :func:`load_experts`. Returns dims ``(expert, node)``.
    """
    if isinstance(experts, (str, Path)):
        return load_experts(experts, indicators)
    if isinstance(experts, xr.DataArray) and "indicator" in experts.dims and "node" not in experts.dims:
        experts = experts.rename({"indicator": "node"})
    if not isinstance(experts, xr.DataArray) or set(experts.dims) != {"expert", "node"}:
        raise ClusterModelError(
            "`experts` must be a path to an expert table or a DataArray with dims ('expert', 'node') or "
            f"('expert', 'indicator'); got {type(experts).__name__}"
            + (f" with dims {experts.dims}" if isinstance(experts, xr.DataArray) else "")
        )
    experts = experts.transpose("expert", "node")
    if experts.sizes["expert"] == 0:
        raise ClusterModelError("`experts` has no expert row; supply at least one")
    if "node" not in experts.coords:
        raise ClusterModelError("`experts` needs a 'node' (or 'indicator') coordinate naming the columns")
    cols = [str(v) for v in experts["node"].values]
    ordered, problem = _check_columns(cols, indicators)
    if ordered is None:
        raise ClusterModelError(f"`experts`: {problem[0]}")
    structure = problem
    experts = experts.assign_coords(node=cols).sel(node=ordered)
    cols = ordered
    w = np.array(experts.values, dtype=float)
    names = [str(v) for v in experts["expert"].values] if "expert" in experts.coords else [str(i) for i in range(w.shape[0])]
    bad = np.argwhere(~np.isfinite(w))
    if bad.size:
        i, j = bad[0]
        raise ClusterModelError(f"`experts`: expert {names[i]!r}, column {cols[j]!r}: weight is missing or not finite")
    bad = np.argwhere(w < 0)
    if bad.size:
        i, j = bad[0]
        raise ClusterModelError(
            f"`experts`: expert {names[i]!r}, column {cols[j]!r}: negative weight {w[i, j]!r}; weights must be >= 0"
        )
    renormalised = False
    for parent, js in _groups(cols, structure):
        totals = w[:, js].sum(axis=1)
        far = np.abs(totals - 1) > ROW_SUM_TOLERANCE
        if far.any():
            i = int(np.argmax(far))
            raise ClusterModelError(
                f"`experts`: the weights of expert {names[i]!r} in columns {', '.join(cols[j] for j in js)} sum to "
                f"{totals[i]:.6g}, not 1 (tolerance {ROW_SUM_TOLERANCE}); every expert's weights must sum to one"
                + (" within each parent" if structure is not None and not structure.is_flat else "")
            )
        if np.any(np.abs(totals - 1) > _ROW_SUM_EXACT):
            renormalised = True
            w[:, js] = w[:, js] / totals[:, None]
    if renormalised:
        warnings.warn("`experts`: rows summing to nearly one were renormalised", ClusterModelWarning, stacklevel=2)
    out = experts.copy(data=w)
    out.attrs = dict(experts.attrs)
    return out


_NEEDS_EXPERTS = (
    "mode='nonparametric' needs `experts` (an expert table: expert,<one weight column per indicator>); when only "
    "the panel mean is published, use mode='parametric'"
)


