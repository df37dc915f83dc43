"""Equal-tailed percentile intervals (numpy's linear method) and the order statistics they interpolate."""

from __future__ import annotations

import warnings

import numpy as np

from clustermodel._validation import check_probability
from clustermodel.bootstrap.constants import _PERCENTILE_METHOD


# --------------------------------------------------------------------------- percentiles


def _tails(confidence_level: float) -> tuple:
    tail = round(50.0 * (1.0 - confidence_level), 10)  # 5.0, not 4.999999999999999, for cl = 0.9
    return (50.0, tail, 100.0 - tail)


def percentile_interval(sample, confidence_level: float = 0.90, *, axis: int = 0):
    """Equal-tailed percentile interval and median along ``axis``.

    Uses :func:`numpy.nanpercentile` with its default ``'linear'`` method (type
    7 of Hyndman and Fan 1996). For ``confidence_level=0.90`` the interval runs
    from the 5th to the 95th percentile.

    Returns
    -------
    median, low, high : ndarray

    References
    ----------
    .. [1] Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical
       packages. The American Statistician 50(4), 361-365.
       https://doi.org/10.1080/00031305.1996.10473566

    Examples
    --------
    >>> [float(v) for v in percentile_interval([1.0, 2.0, 3.0, 4.0, 5.0])]
    [3.0, 1.2, 4.8]
    """
    cl = check_probability(confidence_level, "confidence_level")
    x = np.asarray(sample, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN slice gives NaN, which is what we want
        med, lo, hi = np.nanpercentile(x, list(_tails(cl)), axis=axis, method=_PERCENTILE_METHOD)
    return med, lo, hi


def _lerp(a, b, t):
    """numpy's linear interpolation of two order statistics (``numpy.lib._function_base_impl._lerp``)."""
    diff = b - a
    out = a + diff * t
    return np.where(t >= 0.5, b - diff * (1 - t), out)


def _order_positions(count, q):
    """(previous, next, gamma) as numpy's 'linear' quantile computes them for samples of ``count`` values."""
    virtual = (count - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= count - 1
    below = virtual < 0
    prev = np.where(above, count - 1, np.where(below, 0, prev))
    nxt = np.where(above, count - 1, np.where(below, 0, nxt))
    gamma = virtual - np.where(above, -1, prev)  # as numpy: the 'previous' index of an above-range value is -1
    return prev.astype(np.int64), nxt.astype(np.int64), gamma


