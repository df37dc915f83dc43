"""Stage 4: normalise every indicator onto a common scale, honouring its direction.

One signature for every method (a registry, :data:`NORMALISERS`): values
``x`` of shape (..., n, m) — units × indicators with any leading batch
dimensions (the data bootstrap resamples units, so every resample has its own
statistics) — the indicators' directions, the units' reference-set codes and
the per-indicator parameters. NaN marks a missing value. Statistics (max, min,
mean, standard deviation, ranks) are taken over each unit's reference set:
the whole sample, or its group.

Formulas (OECD/JRC *Handbook on Constructing Composite Indicators*, 2008,
section 5; COINr's ``n_*`` functions), for direction d = +1; d = -1 reverses
the scale so that 1 (or the highest value) is always best:

=============  ===============================================  ==========================================
method         more is better (d = +1)                          less is better (d = -1)
=============  ===============================================  ==========================================
``max``        x / max                                          (max + min - x) / max (reflected, then ratio)
``minmax``     (x - min) / (max - min)                          (max - x) / (max - min)
``zscore``     (x - mean) / sd                                  (mean - x) / sd
``rank``       (average rank - 1) / (n observed - 1)            the same on -x
``prank``      (min rank - 1) / (n observed - 1), ties at min   the same on -x
``borda``      min rank - 1 (the units beaten)                  the same on -x
``target``     min(1, (x - min) / (target - min))               min(1, (max - x) / (max - target))
``goalposts``  clip((x - lower) / (upper - lower), 0, 1)        clip((upper - x) / (upper - lower), 0, 1)
``dist2ref``   (x - min) / (x_ref - min), uncapped              (max - x) / (max - x_ref)
=============  ===============================================  ==========================================

Degenerate sets are never NaN: ``max`` gives 0 where the set's maximum is not
positive (the paper's convention: nobody scores on the indicator); a constant
indicator gives the middle of the scale (0.5 for ``minmax`` and ``rank``, 0 for
``zscore``); ``target`` gives 1 to everyone when the whole set has reached the
target; ``target_cap = False`` drops the min(1, ·) (COINr's ``n_dist2targ`` default); ``dist2ref`` gives 1 to
everyone when the reference unit holds the set's worst value, whose minimum includes the reference unit. ``prank`` and ``borda`` rank ties at their lowest rank, as COINr does (its
``ties.method = "min"``): a constant indicator gives every unit 0, and a set of one
unit 0.5 (``prank``) or 0 (``borda``).
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from clustermodel._errors import ClusterModelError
from clustermodel.spec import NORMALISATIONS

__all__ = ["normalise_array", "reference_maxima", "reference_statistic", "NORMALISERS", "scale_top"]


def _as_codes(group_codes, shape):
    if group_codes is None:
        return None, 1
    codes = np.asarray(group_codes)
    if not np.issubdtype(codes.dtype, np.integer) or codes.size and codes.min() < 0:
        raise ClusterModelError("`group_codes` must be non-negative integers (one per unit)")
    codes = np.broadcast_to(codes, shape[:-1])
    return codes, int(codes.max()) + 1 if codes.size else 1


def _treat_negative(x, negative):
    if negative == "zero":
        return np.where(x < 0, 0.0, x)
    if negative == "error" and np.any(x < 0):
        bad = np.argwhere(x < 0)[0]
        raise ClusterModelError(
            f"negative indicator value {float(x[tuple(bad)])!r} at unit position {bad[-2]}, indicator "
            f"position {bad[-1]} cannot be scored with negative='error'; choose negative='zero' "
            "(treat as zero) or negative='keep' (as printed)"
        )
    if negative not in ("keep", "zero", "error"):
        raise ClusterModelError(f"`negative` must be 'keep', 'zero' or 'error'; got {negative!r}")
    return x


_FILL = {"max": -np.inf, "min": np.inf}


def _reduce(x, valid, kind):
    """Statistic over the unit axis (-2) of the valid cells, keepdims."""
    if kind in _FILL:
        v = x if np.all(valid) else np.where(valid, x, _FILL[kind])  # (no copy when every cell is observed)
        return v.max(axis=-2, keepdims=True) if kind == "max" else v.min(axis=-2, keepdims=True)
    count = valid.sum(axis=-2, keepdims=True)
    if kind == "count":
        return count.astype(float)
    total = np.where(valid, x, 0.0).sum(axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    if kind == "mean":
        return mean
    dev = np.where(valid, x - mean, 0.0)
    # kind == "std". The deviations are scaled by the power of two at or below the largest of them before they are
    # squared, so that values near 1e-160 (whose squares underflow to 0) or 1e+160 (overflow) keep their spread;
    # a power-of-two scale is exact, so in the ordinary range the result is bit for bit the unscaled formula's.
    largest = np.abs(dev).max(axis=-2, keepdims=True)
    scale = np.where((largest > 0) & np.isfinite(largest), np.ldexp(1.0, np.frexp(largest)[1]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore", under="ignore"):
        return scale * np.sqrt(((dev / scale) ** 2).sum(axis=-2, keepdims=True) / (count - 1))


def reference_statistic(x, present, codes, n_groups, kind):
    """``kind`` ('max', 'min', 'mean', 'std', 'count') of every indicator over each unit's reference set.

    Returns an array broadcastable to ``x`` (..., n, m): ±inf for max/min and
    NaN for mean/std where the set has no observed value.
    """
    if codes is None:
        return _reduce(x, present, kind)
    if kind in _FILL and n_groups > 1:
        return _group_extreme(x, present, codes, n_groups, kind)
    out = np.zeros(x.shape)
    for g in range(n_groups):
        member = (codes == g)[..., :, None]
        stat = _reduce(x, present & member, kind)
        out = np.where(member, stat, out)
    return out


def _group_extreme(x, present, codes, n_groups, kind):
    """Max or min of every indicator over each unit's group, given back per unit (±inf where nothing is observed).

    One stable sort of the (batch row, group) keys and one ``reduceat`` over the sorted units, instead of one
    masked pass over the whole array per group: the data bootstrap redraws units (and so groups) in every
    resample, and with many groups the passes dominated its time. A maximum is exact in any order: the values
    are those of the masked passes.
    """
    shape = np.broadcast_shapes(np.shape(x), np.shape(present))
    lead, n, m = shape[:-2], shape[-2], shape[-1]
    rows = int(np.prod(lead, dtype=np.int64))
    values = np.broadcast_to(np.where(present, x, _FILL[kind]), shape).reshape(rows * n, m)
    keys = (np.broadcast_to(codes, lead + (n,)).reshape(rows, n) + n_groups * np.arange(rows)[:, None]).ravel()
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    groups, first = np.unique(sorted_keys, return_index=True)
    ufunc = np.maximum if kind == "max" else np.minimum
    stat = ufunc.reduceat(values[order], first, axis=0)  # one row per (batch row, group) that has units
    return stat[np.searchsorted(groups, keys)].reshape(shape)


def reference_maxima(x, *, group_codes=None, negative: str = "keep"):
    """Maximum of every indicator over each unit's reference set, ``-inf`` where the set has no value."""
    x = _treat_negative(np.asarray(x, dtype=float), negative)
    codes, g = _as_codes(group_codes, x.shape)
    return np.broadcast_to(reference_statistic(x, ~np.isnan(x), codes, g, "max"), x.shape)


def _ranks(x, present, codes, n_groups, ties="average", scale=True):
    """Ascending ranks of every indicator within each unit's reference set, ``ties`` as scipy's rankdata ``method``:
    as a percentile in [0, 1] (``scale``: (rank - 1) / (n - 1), 0.5 in a set of one) or as ``rank - 1``."""
    def pct(v, valid):
        r = scipy.stats.rankdata(np.where(valid, v, np.nan), axis=-2, nan_policy="omit", method=ties)
        if not scale:
            return r - 1
        n = valid.sum(axis=-2, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 1, (r - 1) / np.maximum(n - 1, 1), 0.5)

    if codes is None:
        return pct(x, present)
    out = np.zeros(x.shape)
    for g in range(n_groups):
        member = (codes == g)[..., :, None]
        out = np.where(member, pct(x, present & member), out)
    return out


def _max(x, d, present, codes, g, params):
    hi = reference_statistic(x, present, codes, g, "max")
    positive = hi > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if np.any(d < 0):  # reflect lower-is-better indicators within their set
            xr = np.where(d < 0, hi + reference_statistic(x, present, codes, g, "min") - x, x)
        else:
            xr = x
        return np.where(positive, xr / np.where(positive, hi, 1.0), 0.0)


def _minmax(x, d, present, codes, g, params):
    y = d * x
    hi = reference_statistic(y, present, codes, g, "max")
    lo = reference_statistic(y, present, codes, g, "min")
    span = hi - lo
    spread = span > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if np.all(spread):  # every indicator varies in every reference set (the common case): no masking passes
            return (y - lo) / span
        return np.where(spread, (y - lo) / np.where(spread, span, 1.0), 0.5)


def _zscore(x, d, present, codes, g, params):
    y = d * x
    mean = reference_statistic(y, present, codes, g, "mean")
    sd = reference_statistic(y, present, codes, g, "std")
    ok = np.isfinite(sd) & (sd > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, (y - mean) / np.where(ok, sd, 1.0), 0.0)


def _rank(x, d, present, codes, g, params):
    return _ranks(d * x, present, codes, g)


def _prank(x, d, present, codes, g, params):
    return _ranks(d * x, present, codes, g, ties="min")


def _borda(x, d, present, codes, g, params):
    return _ranks(d * x, present, codes, g, ties="min", scale=False)


def _target(x, d, present, codes, g, params):
    t = params["targets"]
    if np.any(np.isnan(t)):
        raise ClusterModelError(
            "normalisation='target' needs a target for every indicator; "
            f"indicator(s) at position(s) {np.flatnonzero(np.isnan(t)).tolist()} have none: add a 'target' column "
            "to the structure file"
        )
    hi = reference_statistic(x, present, codes, g, "max")
    lo = reference_statistic(x, present, codes, g, "min")
    num = np.where(d > 0, x - lo, hi - x)
    den = np.where(d > 0, t - lo, hi - t)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = num / np.where(den > 0, den, 1.0)
    return np.where(den > 0, np.minimum(1.0, ratio) if params["target_cap"] else ratio, 1.0)


def _dist2ref(x, d, present, codes, g, params):
    r = params["reference_values"]
    if r is None:
        raise ClusterModelError("normalisation='dist2ref' needs the reference unit's values (`reference_values`)")
    y, yr = d * x, d * r
    lo = np.minimum(reference_statistic(y, present, codes, g, "min"), yr)  # the reference belongs to its own scale
    den = yr - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (y - lo) / np.where(den > 0, den, 1.0)
    return np.where(den > 0, ratio, 1.0)  # a reference at the set's worst value: no distance to measure, as target


def _goalposts(x, d, present, codes, g, params):
    lo, hi = params["goalpost_lower"], params["goalpost_upper"]
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)):
        raise ClusterModelError(
            "normalisation='goalposts' needs goalposts for every indicator; add 'goalpost_lower' and "
            "'goalpost_upper' columns to the structure file"
        )
    return np.clip(np.where(d > 0, x - lo, hi - x) / (hi - lo), 0.0, 1.0)


#: method -> function(x, directions, present, codes, n_groups, params) -> normalised (NaN-free where present)
NORMALISERS = {
    "max": _max,
    "minmax": _minmax,
    "zscore": _zscore,
    "rank": _rank,
    "prank": _prank,
    "borda": _borda,
    "target": _target,
    "goalposts": _goalposts,
    "dist2ref": _dist2ref,
}
assert set(NORMALISERS) == set(NORMALISATIONS)


def normalise_array(
    x,
    *,
    method: str = "max",
    directions=None,
    group_codes=None,
    negative: str = "keep",
    targets=None,
    goalpost_lower=None,
    goalpost_upper=None,
    normalised_range=(0.0, 1.0),
    target_cap: bool = True,
    reference_values=None,
):
    """Normalise every indicator over each unit's reference set.

    Parameters
    ----------
    x : array_like, shape (..., n, m)
        Indicator values; NaN marks a missing value.
    method : str
        One of :data:`NORMALISERS` (see the module docstring for the formulas).
    directions : array_like of ±1, shape (m,), optional
        +1 more is better (default), -1 less is better.
    group_codes : array_like of int, shape (..., n), optional
        Reference-set code of every unit; ``None`` for the whole sample.
    negative : {'keep', 'zero', 'error'}
        ``'zero'`` clips negative values to 0 first; ``'error'`` rejects them.
    targets, goalpost_lower, goalpost_upper : array_like, shape (m,), optional
        Parameters of the ``target`` and ``goalposts`` methods.
    normalised_range : (lower, upper)
        ``minmax`` and ``rank`` map onto [lower, upper] instead of [0, 1] (COINr's ``n_minmax(l_u)``); e.g.
        (1, 100) keeps a geometric or harmonic mean away from the zero the worst unit would otherwise give.
    reference_values : array_like, shape (..., m), optional
        ``dist2ref``: the reference unit's values (after imputation and treatment, like ``x``), one row per batch
        row; the minimum of each set is taken with them, so a set that lacks the reference unit keeps it in scale.
    target_cap : bool
        ``target`` scores a unit beyond the target 1 (default); false keeps the ratio above 1 (COINr's
        ``n_dist2targ(cap_max = FALSE)``). A target at or beyond the reference set's best value scores every
        unit's distance to it; a target no unit falls short of (denominator 0) scores 1.

    Returns
    -------
    normalised : ndarray, shape (..., n, m)
        0 where the value is missing (``present`` says where).
    present : ndarray of bool, shape (..., n, m)

    Examples
    --------
    >>> normalise_array([[1.0, 0.0], [2.0, 0.0]])[0]
    array([[0.5, 0. ],
           [1. , 0. ]])
    >>> normalise_array([[1.0], [3.0]], method="minmax", directions=[-1])[0].ravel().tolist()
    [1.0, 0.0]
    """
    x = np.asarray(x, dtype=float)
    if x.ndim < 2:
        raise ClusterModelError(f"`x` must have at least 2 dimensions (unit, indicator), got shape {x.shape}")
    if method not in NORMALISERS:
        raise ClusterModelError(f"`method` must be one of {', '.join(map(repr, NORMALISERS))}; got {method!r}")
    m = x.shape[-1]
    d = np.ones(m) if directions is None else np.asarray(directions, dtype=float)
    if d.shape != (m,) or not np.all(np.isin(d, (1.0, -1.0))):
        raise ClusterModelError(f"`directions` must hold {m} entries of 1 or -1; got {d!r}")
    params = {
        k: (np.full(m, np.nan) if v is None else np.asarray(v, dtype=float))
        for k, v in (("targets", targets), ("goalpost_lower", goalpost_lower), ("goalpost_upper", goalpost_upper))
    }
    if not isinstance(target_cap, bool):
        raise ClusterModelError(f"`target_cap` must be true or false; got {target_cap!r}")
    params["target_cap"] = target_cap
    params["reference_values"] = None
    if reference_values is not None:
        ref = _treat_negative(np.asarray(reference_values, dtype=float), negative)
        if ref.shape[-1:] != (m,) or not np.all(np.isfinite(ref)):
            raise ClusterModelError(f"`reference_values` must be {m} finite numbers (one per indicator), got {ref!r}")
        params["reference_values"] = ref[..., None, :]  # broadcast over the units
    present = ~np.isnan(x)
    xt = _treat_negative(x, negative)
    codes, g = _as_codes(group_codes, x.shape)
    out = NORMALISERS[method](xt, d, present, codes, g, params)
    lo, hi = (float(v) for v in normalised_range)
    if method in RANGED and (lo, hi) != (0.0, 1.0):
        out = lo + (hi - lo) * out
    return np.where(present, out, 0.0), present


#: Normalisers whose [0, 1] scale ``normalised_range`` maps onto [lower, upper].
RANGED = ("minmax", "rank", "prank")
#: Normalisers with no fixed top: the attainable maximum uses the best observed value of each indicator.
UNBOUNDED = ("zscore", "borda")


def scale_top(method: str, normalised, present, normalised_range=(0.0, 1.0), target_cap: bool = True) -> np.ndarray:
    """The top of the normalised scale of every indicator, shape (..., m).

    1 for the bounded methods (a unit holding the best value of its set);
    the largest observed value for ``zscore`` and ``borda`` (:data:`UNBOUNDED`), whose scale has no fixed top
    (a Borda score's top is the size of the reference set less one), and for an uncapped ``target``
    (``target_cap = False``) the larger of 1 and the largest observed value (a unit beyond the target).
    This is what a virtual unit scores when it is best on every indicator,
    and so defines the attainable maximum of the index.
    """
    normalised = np.asarray(normalised, dtype=float)
    if (method == "target" and not target_cap) or method == "dist2ref":  # uncapped: a unit can score above 1
        return np.maximum(1.0, np.where(present, normalised, -np.inf).max(axis=-2))
    if method not in UNBOUNDED:
        top = float(normalised_range[1]) if method in RANGED else 1.0
        return np.full(normalised.shape[:-2] + normalised.shape[-1:], top)
    return np.where(present, normalised, -np.inf).max(axis=-2)
