"""Stage 2: missing values — the data-availability screen and imputation.

Two of the four policies of :data:`clustermodel.spec.MISSING_POLICIES` act
here, on the (denominated) raw values: ``'mean'`` and ``'median'`` replace a
missing value with the mean or median of the indicator over the unit's
reference set (its group, or the whole sample). The other two act when
aggregating (:mod:`clustermodel.aggregate`): ``'zero'`` scores a missing value
as 0 after normalisation, ``'rescale'`` aggregates over the observed children.

The screen (:func:`coverage`) excludes units observed on too small a share of
the indicators before anything else is computed, so that they do not set any
reference statistic.
"""

from __future__ import annotations

import numpy as np

from clustermodel.normalise import reference_statistic

__all__ = ["coverage", "impute_array"]


def coverage(x) -> np.ndarray:
    """Share of observed indicators of every unit, shape (..., n)."""
    x = np.asarray(x, dtype=float)
    return (~np.isnan(x)).mean(axis=-1)


def _group_median(x, present, codes, n_groups):
    def med(v, valid):
        with np.errstate(invalid="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing set has no median: NaN, left missing
                return np.nanmedian(np.where(valid, v, np.nan), axis=-2, keepdims=True)

    if codes is None:
        return med(x, present)
    out = np.full(x.shape, np.nan)
    for g in range(n_groups):
        member = (codes == g)[..., :, None]
        out = np.where(member, med(x, present & member), out)
    return out


def impute_array(x, *, method: str, group_codes=None):
    """Fill missing values with the mean or median of the unit's reference set.

    Parameters
    ----------
    x : array_like, shape (..., n, m)
    method : {'mean', 'median'}
    group_codes : array_like of int, shape (..., n), optional

    Returns
    -------
    filled : ndarray
        A cell whose whole reference set is missing stays NaN.
    imputed : ndarray of bool
        Cells that were filled.

    Examples
    --------
    >>> impute_array([[1.0], [float("nan")], [4.0]], method="mean")[0].ravel().tolist()
    [1.0, 2.5, 4.0]
    """
    x = np.asarray(x, dtype=float)
    present = ~np.isnan(x)
    if group_codes is None:
        codes, g = None, 1
    else:
        codes = np.broadcast_to(np.asarray(group_codes), x.shape[:-1])
        g = int(codes.max()) + 1 if codes.size else 1
    if method == "mean":
        fill = reference_statistic(x, present, codes, g, "mean")
    elif method == "median":
        fill = _group_median(x, present, codes, g)
    else:
        from clustermodel._errors import ClusterModelError

        raise ClusterModelError(f"`method` must be 'mean' or 'median'; got {method!r}")
    fill = np.broadcast_to(fill, x.shape)
    filled = np.where(present, x, fill)
    return filled, ~present & ~np.isnan(filled)
