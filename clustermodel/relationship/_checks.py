"""Input validation shared by the relationship tests: one value per unit, a higher-level value per unit, resampling
settings."""

from __future__ import annotations


import numpy as np

from clustermodel._errors import ClusterModelError
from clustermodel._validation import check_positive_int, check_probability

# --------------------------------------------------------------------------- validation
def _as_1d(values, name):
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ClusterModelError(f"`{name}` must be a sequence of numbers") from None
    if a.ndim != 1:
        raise ClusterModelError(f"`{name}` must be one-dimensional (one value per unit), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        bad = np.flatnonzero(~np.isfinite(a))
        raise ClusterModelError(
            f"`{name}` holds {bad.size} missing or non-finite value(s) (positions {bad.tolist()[:10]}); "
            "every unit needs a finite index"
        )
    return a


def _check_varies(a, name, what):
    if a.size and np.ptp(a) <= 1e-12 * max(1.0, float(np.max(np.abs(a)))):
        raise ClusterModelError(
            f"`{name}` is constant (every {what} has the value {a[0]:.6g}); a correlation is undefined "
            "and no test of association can be carried out; supply values that vary"
        )


def _check_relationship(cluster_index, region_index, regions):
    """Validate (x, y, higher-level labels); return x, y, codes, names, higher-level values."""
    x = _as_1d(cluster_index, "cluster_index")
    y = _as_1d(region_index, "region_index")
    labels = np.asarray(regions, dtype=object)
    if labels.ndim != 1:
        raise ClusterModelError("`regions` must be one-dimensional: the higher-level unit of every unit")
    if not (x.size == y.size == labels.size):
        raise ClusterModelError(
            f"`cluster_index`, `region_index` and `regions` must have one entry per cluster; got lengths "
            f"{x.size}, {y.size} and {labels.size}"
        )
    labels = labels.astype(str)
    names, codes = np.unique(labels, return_inverse=True)
    codes = codes.astype(np.intp)
    if names.size < 3:
        raise ClusterModelError(
            f"`regions` holds {names.size} distinct region(s) ({', '.join(names)}); inference with the region as "
            "the unit needs at least three regions"
        )
    lo = np.full(names.size, np.inf)
    hi = np.full(names.size, -np.inf)
    np.minimum.at(lo, codes, y)
    np.maximum.at(hi, codes, y)
    bad = np.flatnonzero(hi - lo > 1e-12 * np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi))))
    if bad.size:
        g = bad[0]
        v = y[codes == g]
        raise ClusterModelError(
            f"`region_index` differs between clusters of region {str(names[g])!r} ({', '.join(f'{u:.6g}' for u in v[:10])}); "
            "clusters of one region must share its regional value"
        )
    values = np.empty(names.size)
    values[codes] = y
    _check_varies(x, "cluster_index", "cluster")
    _check_varies(values, "region_index", "region")
    return x, y, codes, names, values


def region_values_of_clusters(cluster_regions, region_names, region_values) -> np.ndarray:
    """The higher-level value of every unit, looked up by higher-level name.

    Raises
    ------
    ClusterModelError
        Naming every unit's higher-level unit that is not in ``region_names``.
    """
    lookup = {str(r): float(v) for r, v in zip(region_names, region_values)}
    cluster_regions = [str(r) for r in cluster_regions]
    unknown = sorted({r for r in cluster_regions if r not in lookup})
    if unknown:
        raise ClusterModelError(
            f"region(s) {', '.join(repr(u) for u in unknown)} of the cluster table are not in the region table "
            f"(which has {', '.join(repr(k) for k in sorted(lookup)[:20])}{', …' if len(lookup) > 20 else ''}); "
            "fix the spelling in the cluster table or add the region"
        )
    return np.array([lookup[r] for r in cluster_regions])


def _check_resampling(n_resamples, confidence_level):
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=99)
    confidence_level = check_probability(confidence_level, "confidence_level")
    return n_resamples, confidence_level


def _check_bound(bound):
    try:
        b = float(bound)
    except (TypeError, ValueError):
        raise ClusterModelError(f"`equivalence_bound` must be a number in (0, 1), got {bound!r}") from None
    if not 0 < b < 1:
        raise ClusterModelError(f"`equivalence_bound` must lie in (0, 1) (a bound on |r|), got {bound!r}; the default is 0.3")
    return b


