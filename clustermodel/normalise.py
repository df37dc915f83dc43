"""Stage 1: normalise each indicator by its maximum within a reference set.

Pure numpy core, vectorised over any leading batch dimensions of the data (used
by the cluster bootstrap, where every resample has its own reference maxima).
"""

from __future__ import annotations

import numpy as np

from clustermodel._errors import ClusterModelError

__all__ = ["normalise_array", "reference_maxima"]


def _as_codes(group_codes, shape):
    if group_codes is None:
        return np.zeros(shape[:-1], dtype=np.intp), 1
    codes = np.asarray(group_codes)
    if not np.issubdtype(codes.dtype, np.integer) or codes.size and codes.min() < 0:
        raise ClusterModelError("`group_codes` must be non-negative integers (one per unit)")
    codes = np.broadcast_to(codes, shape[:-1])
    return codes, int(codes.max()) + 1 if codes.size else 1


def _treat_negative(x, negative):
    if negative == "zero":
        return np.where(x < 0, 0.0, x)
    if negative == "error":
        if np.any(x < 0):
            bad = np.argwhere(x < 0)[0]
            raise ClusterModelError(
                f"negative indicator value {float(x[tuple(bad)])!r} at unit position {bad[-2]}, indicator "
                f"position {bad[-1]} cannot be scored with negative='error'; choose negative='zero' "
                "(treat as zero) or negative='square' (as printed)"
            )
    return x


def reference_maxima(x, *, group_codes=None, negative: str = "square"):
    """Maximum of every indicator over each unit's reference set.

    Parameters
    ----------
    x : array_like, shape (..., n, m)
        Indicator values; NaN marks a missing value.
    group_codes : array_like of int, shape (..., n), optional
        Reference-set code of every unit. ``None`` uses the whole sample.
    negative : {'square', 'zero', 'error'}
        Negative-value policy, applied before the maximum is taken.

    Returns
    -------
    ref : ndarray, shape (..., n, m)
        The maximum of the unit's reference set for each indicator, ``-inf``
        where every value of the set is missing.
    """
    x = _treat_negative(np.asarray(x, dtype=float), negative)
    codes, n_groups = _as_codes(group_codes, x.shape)
    present = ~np.isnan(x)
    onehot = codes[..., :, None] == np.arange(n_groups)  # (..., n, G)
    masked = np.where(onehot[..., :, :, None] & present[..., :, None, :], x[..., :, None, :], -np.inf)
    gmax = masked.max(axis=-3)  # (..., G, m)
    return np.take_along_axis(gmax, codes[..., :, None], axis=-2)


def normalise_array(x, *, group_codes=None, negative: str = "square"):
    """Divide every value by its reference-set maximum.

    Parameters
    ----------
    x : array_like, shape (..., n, m)
        Indicator values; NaN marks a missing value.
    group_codes : array_like of int, shape (..., n), optional
        Reference-set code of every unit; ``None`` for the whole sample.
    negative : {'square', 'zero', 'error'}
        ``'zero'`` clips negative values to 0 first; ``'error'`` rejects them;
        ``'square'`` keeps them (the paper's formula then squares them).

    Returns
    -------
    normalised : ndarray, shape (..., n, m)
        ``x / max``; 0 where the value is missing or where the reference
        maximum is not positive (an indicator nobody in the set scores on
        contributes nothing, never NaN).
    present : ndarray of bool, shape (..., n, m)
        Where a value was observed.

    Examples
    --------
    >>> normalise_array([[1.0, 0.0], [2.0, 0.0]])[0]
    array([[0.5, 0. ],
           [1. , 0. ]])
    """
    x = np.asarray(x, dtype=float)
    if x.ndim < 2:
        raise ClusterModelError(f"`x` must have at least 2 dimensions (unit, indicator), got shape {x.shape}")
    ref = reference_maxima(x, group_codes=group_codes, negative=negative)
    xt = _treat_negative(x, negative)
    present = ~np.isnan(x)
    positive = ref > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = np.where(present & positive, xt / np.where(positive, ref, 1.0), 0.0)
    return normalised, present
