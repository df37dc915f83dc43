"""Stage 1: denomination — divide indicators by a size variable (GDP, population …).

The structure's ``denominator`` column names, for each indicator, a column of
the unit table to divide by (COINr's ``Denominate``). A missing denominator
makes the cell missing; a zero or negative denominator is an error, since a
ratio to it has no meaning.
"""

from __future__ import annotations

import numpy as np

from clustermodel._errors import CellError

__all__ = ["denominate_array"]


def denominate_array(x, denominators, which, *, unit_labels=None, indicator_labels=None, denominator_labels=None):
    """Divide the indicator columns that have a denominator.

    Parameters
    ----------
    x : array_like, shape (..., n, m)
        Indicator values.
    denominators : array_like, shape (..., n, k)
        Denominator columns.
    which : sequence of int, length m
        For every indicator the position of its denominator column, or -1 for none.

    Returns
    -------
    ndarray, shape (..., n, m)

    Examples
    --------
    >>> denominate_array([[10.0, 3.0], [6.0, 1.0]], [[2.0], [3.0]], [0, -1]).tolist()
    [[5.0, 3.0], [2.0, 1.0]]
    """
    x = np.asarray(x, dtype=float)
    which = np.asarray(which, dtype=int)
    if not np.any(which >= 0):
        return x
    d = np.asarray(denominators, dtype=float)
    cols = d[..., np.maximum(which, 0)]  # (..., n, m)
    used = which >= 0
    bad = used & (cols <= 0)
    if np.any(bad):
        i, j = np.argwhere(bad.reshape(-1, *bad.shape[-2:]).any(axis=0))[0]
        unit = unit_labels[i] if unit_labels is not None else f"position {i}"
        ind = indicator_labels[j] if indicator_labels is not None else f"position {j}"
        den = denominator_labels[which[j]] if denominator_labels is not None else f"column {which[j]}"
        raise CellError(
            f"denominator {den!r} is {float(cols.reshape(-1, *cols.shape[-2:])[:, i, j].min())!r} for unit {unit!r} "
            f"(indicator {ind!r}); a denominator must be positive: fix the value, leave it empty (missing) or set "
            "denominate=false",
            position=int(i),
            column=None if denominator_labels is None else str(den),
        )
    with np.errstate(invalid="ignore"):
        return np.where(used, x / np.where(used, cols, 1.0), x)
