"""Stage 3: outlier treatment by the JRC's skewness/kurtosis rule.

An indicator is treated when its sample skewness and kurtosis are both beyond
the thresholds (|skew| > 2 and excess kurtosis > 3.5 by default: the rule of
the JRC's composite-indicator audits and of COINr's ``Treat``). It is then
winsorised one point at a time on the side of its skew — winsorising k points
at the top sets the k largest values to the (k+1)-th largest — until it passes
or ``winsor_max`` points are used. If that does not bring it within the limits
its untreated values are transformed instead (``transform``, COINr's ``f2``):
by default log-transformed (COINr's ``log_CT``; ``-log(max + a - x)`` for a
negative skew, as in ``log_CT_plus``), with a = 0.01 (max - min); or
``log(x - min + 1)`` (``'log1'``), ``log((max - 1)(x - min)/(max - min) + 1)`` (``'loggii'``, COINr's ``log_GII``),
a Box-Cox transform of order p of
``x - min + 1`` (``'boxcox:p'``), or left winsorised (``'none'``). Each is
increasing, so no indicator changes direction.

Skewness and kurtosis are the bias-adjusted sample estimates of Excel's
``SKEW`` and ``KURT`` (Joanes & Gill 1998, G1 and G2), which the JRC's COIN Tool
uses: ``scipy.stats.skew(x, bias=False)`` and
``scipy.stats.kurtosis(x, fisher=True, bias=False)``.

Everything is vectorised over indicators and any leading batch dimensions;
the loop runs over at most ``winsor_max`` rounds.

References
----------
OECD/JRC (2008), *Handbook on Constructing Composite Indicators*, section 3.
Becker W. et al. (2017), "Weights and importance in composite indicators", and
COINr's ``Treat`` documentation (https://bluefoxr.github.io/COINr/).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clustermodel._errors import ClusterModelError

__all__ = ["skew_kurtosis", "treat_array", "TreatmentLog"]


def skew_kurtosis(x):
    """Bias-adjusted sample skewness G1 and excess kurtosis G2 along axis -2, ignoring NaN.

    NaN where fewer than four values are observed or the values are constant.

    Examples
    --------
    >>> import numpy as np
    >>> g1, g2 = skew_kurtosis(np.array([[1.0], [2.0], [3.0], [10.0]]))
    >>> round(float(g1[0]), 4), round(float(g2[0]), 4)
    (1.7636, 3.228)
    """
    x = np.asarray(x, dtype=float)
    valid = ~np.isnan(x)
    n = valid.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, x, 0.0).sum(axis=-2) / n
        dev = np.where(valid, x - mean[..., None, :], 0.0)
        m2 = (dev**2).sum(axis=-2) / n
        m3 = (dev**3).sum(axis=-2) / n
        m4 = (dev**4).sum(axis=-2) / n
        g1 = m3 / m2**1.5
        g2 = m4 / m2**2 - 3.0
        G1 = np.sqrt(n * (n - 1)) / (n - 2) * g1
        G2 = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6)
    scale = np.where(valid, np.abs(x), 0.0).max(axis=-2)
    ok = (n >= 4) & (m2 > (1e-12 * scale) ** 2) & (m2 > 0)
    return np.where(ok, G1, np.nan), np.where(ok, G2, np.nan)


@dataclass(frozen=True)
class TreatmentLog:
    """What the treatment did to each indicator (for one data set without batch dimensions).

    Attributes
    ----------
    method : tuple of str
        Per indicator: ``'none'`` (within limits), ``'winsorised'`` or the transform's name (``'log'`` by default).
    n_high, n_low : tuple of int
        Points winsorised at the top and at the bottom.
    skew_before, kurtosis_before, skew_after, kurtosis_after : tuple of float
    cells : tuple of tuple
        Per indicator, the unit positions whose value changed.
    values : tuple of tuple
        Per indicator, ``(before, after)`` of each of those cells, in the same order.
    """

    method: tuple
    n_high: tuple
    n_low: tuple
    skew_before: tuple
    kurtosis_before: tuple
    skew_after: tuple
    kurtosis_after: tuple
    cells: tuple = field(default=())
    values: tuple = field(default=())


def _kth(sorted_x, n_obs, k, top):
    """(k+1)-th largest (top) or smallest observed value per column; sorted_x has NaN last."""
    idx = np.where(top, n_obs - 1 - k, k)
    idx = np.clip(idx, 0, sorted_x.shape[-2] - 1)
    return np.take_along_axis(sorted_x, idx[..., None, :], axis=-2)[..., 0, :]


def treat_array(x, *, winsor_max: int = 5, skew_threshold: float = 2.0, kurtosis_threshold: float = 3.5, transform: str = "log"):
    """Treat outliers column by column; see the module docstring.

    Parameters
    ----------
    x : array_like, shape (..., n, m)
        Values (NaN = missing, left missing).
    transform : str
        The second step, :data:`clustermodel.spec.TRANSFORMS` (``'boxcox:p'`` with its order).

    Returns
    -------
    treated : ndarray, shape (..., n, m)
    info : dict of ndarray, shape (..., m)
        ``method`` (0 none, 1 winsorised, 2 transformed), ``n_high``, ``n_low``,
        ``skew_before``, ``kurtosis_before``, ``skew_after``, ``kurtosis_after``.
    """
    from clustermodel.spec import parse_transform

    kind, order = parse_transform(transform)
    x = np.asarray(x, dtype=float)

    def fails(v):
        g1, g2 = skew_kurtosis(v)
        return (np.abs(g1) > skew_threshold) & (g2 > kurtosis_threshold), g1, g2

    bad0, s0, k0 = fails(x)
    n_obs = (~np.isnan(x)).sum(axis=-2)
    srt = np.sort(x, axis=-2)  # NaN last
    k_hi = np.zeros(n_obs.shape, dtype=int)
    k_lo = np.zeros(n_obs.shape, dtype=int)
    current = x.copy()
    active = bad0.copy()
    for _ in range(int(winsor_max)):
        if not active.any():
            break
        _, g1, _ = fails(current)
        up = active & (g1 > 0)
        down = active & ~(g1 > 0)
        k_hi = k_hi + up
        k_lo = k_lo + down
        hi = np.where(k_hi > 0, _kth(srt, n_obs, k_hi, True), np.inf)
        lo = np.where(k_lo > 0, _kth(srt, n_obs, k_lo, False), -np.inf)
        current = np.where(np.isnan(x), np.nan, np.clip(x, lo[..., None, :], hi[..., None, :]))
        active, _, _ = fails(current)
        active &= bad0
    still = (active & bad0) if kind != "none" else np.zeros_like(bad0)
    if kind == "loggii":
        top = _kth(srt, n_obs, 0, True)  # each column's largest observed value
        low = (still & ~(top > 1)).reshape(-1, still.shape[-1])
        if low.any():
            row, j = np.argwhere(low)[0]
            raise ClusterModelError(
                f"transform='loggii' maps an indicator onto [1, max] before its log, so it needs a maximum above 1; the "
                f"indicator at position {j} to be transformed has maximum {float(top.reshape(low.shape)[row, j])!r}: "
                "use transform='log' or 'log1'"
            )
    # the transform of the original values where winsorising did not suffice
    transformed = _transform(x, kind, order, s0) if still.any() else x
    treated = np.where(still[..., None, :], transformed, np.where(bad0[..., None, :], current, x))
    method = np.where(still, 2, np.where(bad0, 1, 0))
    _, s1, k1 = fails(treated)
    info = {
        "method": method,
        "n_high": np.where(method == 1, k_hi, 0),
        "n_low": np.where(method == 1, k_lo, 0),
        "skew_before": s0,
        "kurtosis_before": k0,
        "skew_after": s1,
        "kurtosis_after": k1,
    }
    return treated, info


def _transform(x, kind, order, skew):
    """Every column of ``x`` (..., n, m) under the second step ``kind`` (of ``order``); ``skew`` (..., m) its G1."""
    valid = ~np.isnan(x)
    xmax = np.where(valid, x, -np.inf).max(axis=-2)[..., None, :]
    xmin = np.where(valid, x, np.inf).min(axis=-2)[..., None, :]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if kind == "log":
            a = 0.01 * (xmax - xmin)
            return np.where((skew >= 0)[..., None, :], np.log(x - xmin + a), -np.log(xmax + a - x))
        if kind == "loggii":  # onto [1, max], then the log: [0, log max] (max > 1 is checked by treat_array)
            return np.log((xmax - 1.0) * (x - xmin) / (xmax - xmin) + 1.0)
        shifted = x - xmin + 1.0  # >= 1 on every observed value
        if kind == "log1" or order == 0:
            return np.log(shifted)
        return np.expm1(order * np.log(shifted)) / order  # (shifted^p - 1) / p, accurate near p = 0


def treatment_log(x, treated, info, transform: str = "log") -> TreatmentLog:
    """The per-indicator log of one (unbatched) treatment; ``transform`` names the second step in it."""
    names = ("none", "winsorised", transform)
    changed = (treated != x) & ~np.isnan(x)
    return TreatmentLog(
        method=tuple(names[int(v)] for v in info["method"]),
        n_high=tuple(int(v) for v in info["n_high"]),
        n_low=tuple(int(v) for v in info["n_low"]),
        skew_before=tuple(float(v) for v in info["skew_before"]),
        kurtosis_before=tuple(float(v) for v in info["kurtosis_before"]),
        skew_after=tuple(float(v) for v in info["skew_after"]),
        kurtosis_after=tuple(float(v) for v in info["kurtosis_after"]),
        cells=tuple(tuple(int(i) for i in np.flatnonzero(changed[:, j])) for j in range(x.shape[-1])),
        values=tuple(
            tuple((float(x[i, j]), float(treated[i, j])) for i in np.flatnonzero(changed[:, j])) for j in range(x.shape[-1])
        ),
    )
