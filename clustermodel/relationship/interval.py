"""Reading an interval: equivalence (TOST), influence of each higher-level unit, the sensitivity to the index's
definition and the range the printed rounding allows."""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize
import scipy.stats

from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_positive_int, check_probability
from clustermodel.relationship._checks import _as_1d, _check_bound, _check_relationship
from clustermodel.relationship.correlation import _pearson
from clustermodel.relationship.regression import _zscores
from clustermodel.relationship.resampling import _region_means
from clustermodel.relationship.results import EquivalenceResult, IndexSensitivityResult, InfluenceResult, RoundingRangeResult
from clustermodel.relationship.design import PRIMARY_TEST

# --------------------------------------------------------------------------- reading the interval
def equivalence_test(r, n, *, bound: float = 0.3, alpha: float = 0.05) -> EquivalenceResult:
    """TOST equivalence test of ``|rho| < bound`` on Fisher's z.

    Parameters
    ----------
    r : float
        Sample correlation.
    n : int
        Independent pairs (at least 4).
    bound : float in (0, 1)
        Equivalence bound on |rho|. The default 0.3 is Cohen's "medium"
        correlation: an association weaker than that would not support reading
        scenarios off a scatter plot (see docs/relationship.md).
    alpha : float
        Level of each one-sided test.

    Returns
    -------
    EquivalenceResult

    References
    ----------
    Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure
    and the power approach for assessing the equivalence of average
    bioavailability. J. Pharmacokinetics and Biopharmaceutics 15(6), 657-680.
    https://doi.org/10.1007/BF01068419
    Lakens, D. (2017). Equivalence tests. Social Psychological and Personality
    Science 8(4), 355-362. https://doi.org/10.1177/1948550617697177

    Examples
    --------
    >>> res = equivalence_test(0.05, 400)
    >>> res.equivalent, round(res.pvalue, 4)
    (True, 0.0)
    """
    try:
        r = float(r)
    except (TypeError, ValueError):
        raise ClusterModelError(f"`r` must be a number in (-1, 1), got {r!r}") from None
    if not -1 < r < 1:
        raise ClusterModelError(f"`r` must lie strictly between -1 and 1 for Fisher's z, got {r!r}")
    n = check_positive_int(n, "n", minimum=4)
    bound = _check_bound(bound)
    alpha = check_probability(alpha, "alpha")
    z, zb, se = math.atanh(r), math.atanh(bound), 1 / math.sqrt(n - 3)
    p_lower = float(scipy.stats.norm.sf((z + zb) / se))
    p_upper = float(scipy.stats.norm.cdf((z - zb) / se))
    q = scipy.stats.norm.ppf(1 - alpha)
    p = max(p_lower, p_upper)
    return EquivalenceResult(
        r=r,
        n=n,
        bound=bound,
        alpha=alpha,
        pvalue=p,
        p_lower=p_lower,
        p_upper=p_upper,
        ci_low=math.tanh(z - q * se),
        ci_high=math.tanh(z + q * se),
        equivalent=bool(p < alpha),
        min_bound=math.tanh(abs(z) + q * se),
        attainable_bound=math.tanh(q * se),
    )


def _group_sums(codes, n_groups, *arrays):
    return [np.bincount(codes, weights=a, minlength=n_groups) for a in arrays]


def influence(cluster_index, region_index, regions) -> InfluenceResult:
    """Influence of each higher-level unit on r, for any study.

    Leave-one-higher-level-unit-out r in the primary design (one pair per
    higher-level unit) and in the unit-level design (the unit's whole block
    removed), DFBETA/DFBETAS and Cook's distance of the standardised
    regression slope (statsmodels ``OLSInfluence`` at the higher level;
    group deletion at the unit level), and the higher-level unit whose
    removal moves the primary r most, with r and a Fisher-z interval without it.

    Parameters
    ----------
    cluster_index, region_index, regions : array_like (n,)

    Returns
    -------
    InfluenceResult

    Notes
    -----
    Everything is O(units + higher-level units): the unit-level deletions use
    per-higher-level sums of x, y, x², y², xy subtracted from the totals.

    References
    ----------
    Cook, R. D. (1977). Detection of influential observation in linear
    regression. Technometrics 19(1), 15-18. https://doi.org/10.2307/1268249
    Belsley, D. A., Kuh, E., & Welsch, R. E. (1980). Regression Diagnostics.
    Wiley. https://doi.org/10.1002/0471725153
    """
    from clustermodel import _statsmodels as sm
    from statsmodels.stats.outliers_influence import OLSInfluence

    x, y, codes, names, values = _check_relationship(cluster_index, region_index, regions)
    G, n = names.size, x.size
    counts = np.bincount(codes, minlength=G)
    xm = _region_means(x, codes, G)
    r = float(_pearson(xm, values))
    keep = 1.0 - np.eye(G)
    r_without = _pearson(xm, values, keep)
    # standardised region-level regression: slope = r
    zv = (values - values.mean()) / values.std(ddof=1)
    zm = (xm - xm.mean()) / xm.std(ddof=1)
    inf = OLSInfluence(sm.OLS(zm, sm.add_constant(zv)).fit())
    dfbeta = np.asarray(inf.dfbeta)[:, 1]
    dfbetas = np.asarray(inf.dfbetas)[:, 1]
    cooks = np.asarray(inf.cooks_distance[0])
    leverage = np.asarray(inf.hat_matrix_diag)
    # unit level, whole blocks deleted: sufficient statistics per block (centred for accuracy)
    zx, zy, _, _ = _zscores(x, y)  # zx: higher-level index, zy: unit index
    sx, sy, sxx, syy, sxy = _group_sums(codes, G, zx, zy, zx * zx, zy * zy, zx * zy)
    N = n - counts
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = (zx.sum() - sx) / N, (zy.sum() - sy) / N
        cxx = (zx @ zx - sxx) - N * mx * mx
        cyy = (zy @ zy - syy) - N * my * my
        cxy = (zx @ zy - sxy) - N * mx * my
        r_units_without = np.clip(cxy / np.sqrt(cxx * cyy), -1, 1)
        r_units_without = np.where((cxx > 1e-12) & (cyy > 1e-12) & (N >= 3), r_units_without, np.nan)
    r_units = float(_pearson(x, y))
    # group-deletion DFBETA and Cook's distance of the unit-level OLS of zy on (1, zx)
    X = np.column_stack([np.ones(n), zx])
    XtX = X.T @ X
    beta = np.linalg.solve(XtX, X.T @ zy)
    s2 = float(np.sum((zy - X @ beta) ** 2) / (n - 2))
    XtX_g = np.stack([[np.bincount(codes, weights=X[:, i] * X[:, j], minlength=G) for j in range(2)] for i in range(2)]).transpose(2, 0, 1)
    Xty_g = np.stack([np.bincount(codes, weights=X[:, i] * zy, minlength=G) for i in range(2)], axis=1)
    A = XtX[None] - XtX_g
    rhs = (X.T @ zy)[None] - Xty_g
    ok = np.abs(np.linalg.det(A)) > 1e-12 * np.abs(np.linalg.det(XtX))
    beta_g = np.full((G, 2), np.nan)
    beta_g[ok] = np.linalg.solve(A[ok], rhs[ok][..., None])[..., 0]
    d = beta[None] - beta_g
    dfbeta_units = d[:, 1]
    cooks_units = np.einsum("gi,ij,gj->g", d, XtX, d) / (2 * s2)
    k = int(np.nanargmax(np.abs(r_without - r)))
    r_k = float(r_without[k])
    if G - 1 >= 4 and abs(r_k) < 1:
        z, q = math.atanh(r_k), scipy.stats.norm.ppf(0.975) / math.sqrt(G - 1 - 3)
        ci_k = (math.tanh(z - q), math.tanh(z + q))
    else:
        ci_k = (None, None)
    return InfluenceResult(
        names=names,
        n_units=counts,
        r=r,
        r_without=np.asarray(r_without, dtype=float),
        dfbeta=dfbeta,
        dfbetas=dfbetas,
        cooks_distance=cooks,
        leverage=leverage,
        r_units=r_units,
        r_units_without=r_units_without,
        dfbeta_units=dfbeta_units,
        cooks_distance_units=cooks_units,
        most_influential=str(names[k]),
        r_without_most=r_k,
        ci_without_most=ci_k,
    )


def index_definition_sensitivity(cluster_indices, region_index, regions, *, labels=None, region_indices=None) -> IndexSensitivityResult:
    """r under alternative definitions of the unit (and optionally the higher-level) index.

    Parameters
    ----------
    cluster_indices : array_like (k, n)
        One alternative unit index per row (e.g. the index under other specs).
    region_index : array_like (n,)
        The higher-level index of every unit (used for every row unless
        ``region_indices`` is given).
    regions : array_like (n,)
    labels : sequence of k str, optional
    region_indices : array_like (k, n), optional
        A higher-level index per alternative (e.g. another negative-value policy).

    Returns
    -------
    IndexSensitivityResult
        Primary r (region means) and unit-level r per row, computed in one
        batched call.
    """
    X = np.asarray(cluster_indices, dtype=float)
    if X.ndim == 1:
        X = X[None]
    if X.ndim != 2:
        raise ClusterModelError(f"`cluster_indices` must be 2-D (alternative, unit), got shape {X.shape}")
    k, n = X.shape
    if region_index is None and region_indices is None:
        raise ClusterModelError("give the higher-level index: `region_index` (one per unit) or `region_indices` (one row per alternative)")
    Y = _as_1d(region_index, "region_index") if region_indices is None else np.asarray(region_indices, dtype=float)
    if region_indices is None and Y.size != n:
        raise ClusterModelError(f"`region_index` must have one value per unit ({n}), got {Y.size}")
    if region_indices is not None and Y.shape != X.shape:
        raise ClusterModelError(f"`region_indices` must have the shape of `cluster_indices` {X.shape}, got {Y.shape}")
    labels = tuple(f"alternative {i + 1}" for i in range(k)) if labels is None else tuple(str(s) for s in labels)
    if len(labels) != k:
        raise ClusterModelError(f"`labels` must name every one of the {k} alternatives, got {len(labels)}")
    if not np.all(np.isfinite(X)) or not np.all(np.isfinite(Y)):
        raise ClusterModelError("`cluster_indices` and `region_indices` must be finite; an alternative with missing values cannot be correlated")
    Yk = np.broadcast_to(Y, X.shape)
    # validate the labels and the one-value-per-higher-unit rule on every row's higher-level index
    _, _, codes, names, _ = _check_relationship(X[0], Yk[0], regions)
    G = names.size
    counts = np.bincount(codes, minlength=G)
    onehot = np.zeros((n, G))
    onehot[np.arange(n), codes] = 1.0
    means = (X @ onehot) / counts
    vals = (Yk @ onehot) / counts
    spread = np.abs(Yk - vals[:, codes]).max(axis=1)
    if np.any(spread > 1e-9 * np.maximum(1.0, np.abs(Yk).max(axis=1))):
        bad = labels[int(np.argmax(spread))]
        raise ClusterModelError(f"alternative {bad!r}: the higher-level index differs between units of one higher-level unit")
    return IndexSensitivityResult(labels=labels, r_region_mean=_pearson(means, vals), r_cluster=_pearson(X, Yk))


def infer_decimals(values, *, max_decimals: int = 6) -> int:
    """The fewest decimals with which every value is printed exactly (e.g. 1.1, 0.6 -> 1)."""
    v = _as_1d(values, "values")
    for d in range(max_decimals + 1):
        if np.allclose(np.round(v, d), v, rtol=0, atol=1e-9):
            return d
    return max_decimals


def _r_and_grad(a, b):
    """Pearson r of a and b and its gradients."""
    ac, bc = a - a.mean(), b - b.mean()
    na, nb = math.sqrt(ac @ ac), math.sqrt(bc @ bc)
    r = float(ac @ bc) / (na * nb)
    return r, bc / (na * nb) - r * ac / (na * na), ac / (na * nb) - r * bc / (nb * nb)


def _box_extremes(f_grad, center, half, *, rng, n_starts):
    """min and max of f over the box center +/- half (L-BFGS-B, multistart); also the linear bounds."""
    bounds = list(zip(center - half, center + half))
    f0, g0 = f_grad(center)
    out = {"rounded": f0, "low_linear": f0 - float(np.abs(g0) @ half), "high_linear": f0 + float(np.abs(g0) @ half)}
    for sign, key in ((1.0, "low"), (-1.0, "high")):
        starts = [center, center - sign * np.sign(g0) * half] + [center + half * rng.uniform(-1, 1, size=center.size) for _ in range(n_starts)]
        best = f0
        for s in starts:
            res = scipy.optimize.minimize(lambda v, sign=sign: tuple(sign * t for t in f_grad(v)), s, jac=True, method="L-BFGS-B", bounds=bounds)
            val = f_grad(np.clip(res.x, center - half, center + half))[0]
            best = min(best, val) if sign > 0 else max(best, val)
        out[key] = float(best)
    return out


def rounding_range(cluster_index, region_index, regions, *, cluster_decimals: int, region_decimals: int, n_starts: int = 4, rng=None) -> RoundingRangeResult:
    """Range of r over every pair of index vectors that round to the published ones.

    Parameters
    ----------
    cluster_index, region_index, regions : array_like (n,)
        The printed (rounded) values.
    cluster_decimals, region_decimals : int
        Decimals printed (:func:`infer_decimals` finds them).
    n_starts : int
        Random starting points per extreme, besides the printed values and
        the linearised vertex.
    rng : numpy Generator, int or None

    Returns
    -------
    RoundingRangeResult
        For the primary r (region means) and the unit-level r.

    Notes
    -----
    The primary r depends on the units only through their higher-level
    means, and a mean of values each within ``+/- h`` of the printed ones can
    be anywhere within ``+/- h`` of the printed mean, so the box is taken on
    the means.
    """
    x, y, codes, names, values = _check_relationship(cluster_index, region_index, regions)
    for v, name in ((cluster_decimals, "cluster_decimals"), (region_decimals, "region_decimals")):
        check_positive_int(v, name, minimum=0)
    n_starts = check_positive_int(n_starts, "n_starts", minimum=0)
    rng = as_rng(rng)
    hx, hy = 0.5 * 10.0 ** -cluster_decimals, 0.5 * 10.0 ** -region_decimals
    G, n = names.size, x.size
    xm = _region_means(x, codes, G)

    def primary(v):
        r, ga, gb = _r_and_grad(v[:G], v[G:])
        return r, np.concatenate([ga, gb])

    def units(v):
        r, ga, gb = _r_and_grad(v[:n], v[n:][codes])
        return r, np.concatenate([ga, np.bincount(codes, weights=gb, minlength=G)])

    stats = {
        PRIMARY_TEST: _box_extremes(primary, np.concatenate([xm, values]), np.concatenate([np.full(G, hx), np.full(G, hy)]), rng=rng, n_starts=n_starts),
        "pearson:cluster": _box_extremes(units, np.concatenate([x, values]), np.concatenate([np.full(n, hx), np.full(G, hy)]), rng=rng, n_starts=n_starts),
    }
    return RoundingRangeResult(
        decimals_unit=int(cluster_decimals),
        decimals_higher=int(region_decimals),
        half_width_unit=hx,
        half_width_higher=hy,
        statistics=stats,
        n_starts=n_starts,
    )


