"""Weighted correlation kernels (Pearson, Spearman, Kendall) vectorised over a batch of resamples, and the memory
budget that sizes their chunks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.optimize
import scipy.stats

from clustermodel._validation import check_choice

#: Bytes one temporary array of a resampling statistic may take.
MEMORY_BUDGET = 64 * 2**20

#: Up to this many units Kendall's tau is computed from the units x units sign
#: matrices of a memory-bounded chunk of resamples; above it one resample at a
#: time with scipy's O(n log n) algorithm (memory linear in the units).
KENDALL_DIRECT_MAX = 128

_BATCH = 1000


def _batch_size(n: int, arrays: int = 8) -> int:
    """Resamples per chunk so that ``arrays`` temporaries of (chunk, n) floats fit the budget."""
    return int(max(1, min(_BATCH, MEMORY_BUDGET // (8 * max(int(n), 1) * arrays))))


# --------------------------------------------------------------------------- statistics
def _const(v, w):
    """True along the last axis where the (weighted) values do not vary."""
    m = (w * v).sum(-1, keepdims=True) / w.sum(-1, keepdims=True)
    var = (w * (v - m) ** 2).sum(-1)
    scale = (w * v * v).sum(-1)
    return (var <= 1e-24 * np.maximum(scale, 1e-300)) | (var == 0)


def _weights(x, y, w):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if w is None:
        shape = np.broadcast_shapes(x.shape, y.shape)
        w = np.ones(shape[-1:])
    w = np.asarray(w, dtype=float)
    shape = np.broadcast_shapes(x.shape, y.shape, w.shape)
    return np.broadcast_to(x, shape), np.broadcast_to(y, shape), np.broadcast_to(w, shape)


def _pearson(x, y, w=None):
    x, y, w = _weights(x, y, w)
    sw = w.sum(-1, keepdims=True)
    xc = x - (w * x).sum(-1, keepdims=True) / sw
    yc = y - (w * y).sum(-1, keepdims=True) / sw
    num = (w * xc * yc).sum(-1)
    den = np.sqrt((w * xc * xc).sum(-1) * (w * yc * yc).sum(-1))
    bad = _const(x, w) | _const(y, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(bad, np.nan, num / np.where(bad, 1.0, den))
    return np.clip(r, -1.0, 1.0)


def _tie_bounds(vs):
    """For values sorted along the last axis: first and last position of each value's run of ties."""
    n = vs.shape[-1]
    idx = np.arange(n)
    diff = vs[..., 1:] != vs[..., :-1]
    edge = np.ones(vs.shape[:-1] + (1,), dtype=bool)
    first = np.concatenate([edge, diff], axis=-1)
    last = np.concatenate([diff, edge], axis=-1)
    start = np.maximum.accumulate(np.where(first, idx, 0), axis=-1)
    end = np.flip(np.minimum.accumulate(np.flip(np.where(last, idx, n - 1), axis=-1), axis=-1), axis=-1)
    return start, end


def _midranks(v, w):
    """Average ranks of ``v`` in the sample where unit i appears ``w_i`` times (last axis).

    One sort per row: rank_i = (weight strictly below v_i) + (weight tied with v_i + 1) / 2.
    Memory is linear in the number of units.
    """
    shape = np.broadcast_shapes(v.shape, w.shape)
    v = np.broadcast_to(v, shape)
    w = np.broadcast_to(w, shape)
    if v.ndim > 1 and all(s == 0 for s in v.strides[:-1]):  # the same values in every row: sort once
        base = v[(0,) * (v.ndim - 1)]
        order = np.argsort(base, kind="stable")
        start, end = _tie_bounds(base[order])
        ws = w[..., order]
        cw = np.cumsum(ws, axis=-1)
        below = (cw - ws)[..., start]
        tied = cw[..., end] - below
        out = np.empty(shape)
        out[..., order] = below + (tied + 1.0) / 2.0
        return out
    order = np.argsort(v, axis=-1, kind="stable")
    start, end = _tie_bounds(np.take_along_axis(v, order, axis=-1))
    ws = np.take_along_axis(w, order, axis=-1)
    cw = np.cumsum(ws, axis=-1)
    below = np.take_along_axis(cw - ws, start, axis=-1)
    tied = np.take_along_axis(cw, end, axis=-1) - below
    out = np.empty(shape)
    np.put_along_axis(out, order, below + (tied + 1.0) / 2.0, axis=-1)
    return out


def _spearman(x, y, w=None):
    x, y, w = _weights(x, y, w)
    return _pearson(_midranks(x, w), _midranks(y, w), w)


def _kendall_pairs(x, y, w):
    """tau-b over the pairs i < j, for integer frequency weights; x, y, w of shape (m, n).

    With integer weights every sum of :func:`_kendall_direct` is a sum of integers below 2**53, exact in any
    order, and each pair appears twice in it (i, j and j, i) with the same term: summing over i < j and
    doubling gives the same numbers to the last bit with half the work. Without weights (all ones, as in the
    permutation tests) the products by the weights are left out too.
    """
    i, j = np.triu_indices(x.shape[-1], 1)
    sx = np.sign(x[..., i] - x[..., j])
    sy = np.sign(y[..., i] - y[..., j])
    if np.all(w == 1):
        num = 2.0 * (sx * sy).sum(-1)
        sxx = 2.0 * np.count_nonzero(sx, axis=-1)
        syy = 2.0 * np.count_nonzero(sy, axis=-1)
    else:
        ww = w[..., i] * w[..., j]
        num = 2.0 * (ww * sx * sy).sum(-1)
        sxx = 2.0 * (ww * (sx != 0)).sum(-1)
        syy = 2.0 * (ww * (sy != 0)).sum(-1)
    den = np.sqrt(sxx * syy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _integer_weights(w) -> bool:
    """Non-negative integer weights whose pair sums stay exact in floating point."""
    return bool(np.all(w >= 0) and np.all(w == np.rint(w)) and np.all(w.sum(-1) < 2.0**26))


def _kendall_direct(x, y, w):
    """tau-b from the sign matrices; x, y, w of shape (m, n)."""
    if _integer_weights(w):
        return _kendall_pairs(x, y, w)
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    ww = w[..., :, None] * w[..., None, :]
    num = (ww * sx * sy).sum((-2, -1))
    den = np.sqrt((ww * sx * sx).sum((-2, -1)) * (ww * sy * sy).sum((-2, -1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _kendall_one(x, y, w):
    """tau-b of one weighted sample with memory linear in n (integer weights: scipy on the expanded sample)."""
    k = np.rint(w)
    if np.allclose(w, k, rtol=0, atol=1e-9) and k.min() >= 0:
        k = k.astype(np.intp)
        xs, ys = np.repeat(x, k), np.repeat(y, k)
        if xs.size < 2 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
            return np.nan
        return float(scipy.stats.kendalltau(xs, ys).statistic)
    # non-integer weights: the direct formula, a block of rows at a time
    n = x.size
    rows = max(1, MEMORY_BUDGET // (8 * n * 4))
    num = sxx = syy = 0.0
    for s in range(0, n, rows):
        sx = np.sign(x[s : s + rows, None] - x[None, :])
        sy = np.sign(y[s : s + rows, None] - y[None, :])
        ww = w[s : s + rows, None] * w[None, :]
        num += float((ww * sx * sy).sum())
        sxx += float((ww * sx * sx).sum())
        syy += float((ww * sy * sy).sum())
    den = math.sqrt(sxx * syy)
    return num / den if den > 0 else np.nan


def _kendall(x, y, w=None):
    x, y, w = _weights(x, y, w)
    shape = x.shape
    n = shape[-1]
    xf, yf, wf = (a.reshape(-1, n) for a in (x, y, w))
    m = xf.shape[0]
    out = np.empty(m)
    if n <= KENDALL_DIRECT_MAX:
        rows = max(1, MEMORY_BUDGET // (8 * n * n * 4))
        for s in range(0, m, rows):
            out[s : s + rows] = _kendall_direct(xf[s : s + rows], yf[s : s + rows], wf[s : s + rows])
        return out.reshape(shape[:-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(m):
            out[i] = _kendall_one(xf[i], yf[i], wf[i])
    return out.reshape(shape[:-1])


#: Correlation coefficients, each ``f(x, y, w=None)`` along the last axis.
#: With integer weights ``w`` each equals the coefficient of the sample in
#: which unit ``i`` appears ``w_i`` times (Pearson's r, Spearman's rho with
#: average ranks, Kendall's tau-b), which is what a cluster bootstrap needs.
CORRELATIONS = {"pearson": _pearson, "spearman": _spearman, "kendall": _kendall}

_PARAMETRIC = {"pearson": scipy.stats.pearsonr, "spearman": scipy.stats.spearmanr, "kendall": scipy.stats.kendalltau}


def weighted_correlation(x, y, w=None, *, method: str = "pearson") -> np.ndarray:
    """Pearson, Spearman or Kendall correlation along the last axis, with frequency weights.

    Parameters
    ----------
    x, y : array_like (..., n)
    w : array_like (..., n), optional
        Non-negative frequency weights: unit ``i`` counts ``w_i`` times. ``None``
        means one each. Broadcast against ``x`` and ``y``.
    method : {'pearson', 'spearman', 'kendall'}

    Returns
    -------
    ndarray (...)
        The coefficient; NaN where ``x`` or ``y`` is constant among the units
        with positive weight.

    Notes
    -----
    Memory is linear in n for Pearson and Spearman (ranks by sorting); for
    Kendall it is bounded by :data:`MEMORY_BUDGET` per chunk of rows.

    Examples
    --------
    >>> float(weighted_correlation([1, 2, 3, 4], [1, 3, 2, 4]))
    0.8
    """
    check_choice(method, "method", CORRELATIONS)
    return CORRELATIONS[method](x, y, w)


