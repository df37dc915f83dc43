"""Regressions with the higher-level unit as the cluster: clustered OLS, its size by simulation, the random-
intercept model and the weighted higher-level-unit regression (statsmodels)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_positive_int, check_probability
from clustermodel.relationship._checks import _as_1d, _check_relationship
from clustermodel.relationship.resampling import _region_means
from clustermodel.relationship.results import ClusteredOLSResult, ModelResult
from clustermodel.relationship.wild import wild_cluster_bootstrap

def _zscores(x, y):
    xs, ys = x.std(ddof=1), y.std(ddof=1)
    return (y - y.mean()) / ys, (x - x.mean()) / xs, xs, ys


def clustered_ols(cluster_index, region_index, regions, *, confidence_level: float = 0.95, n_resamples: int = 9999, weights: str = "auto", rng=None, keep_draws: bool = False) -> ClusteredOLSResult:
    """OLS of the z-scored unit index on the z-scored higher-level index, inference clustered by higher-level unit.

    Parameters
    ----------
    cluster_index, region_index, regions : array_like (n,)
    confidence_level : float
    n_resamples, weights, rng, keep_draws
        Of the wild cluster bootstrap (:func:`wild_cluster_bootstrap`), which
        gives the reported p-value and interval.

    Returns
    -------
    ClusteredOLSResult

    Notes
    -----
    The CR1 numbers come from statsmodels ``fit(cov_type='cluster',
    cov_kwds={'groups': ..., 'use_correction': True, 'df_correction': True},
    use_t=True)``: the sandwich ``G/(G-1) (N-1)/(N-K) (X'X)^-1 (sum_g X_g' u_g
    u_g' X_g) (X'X)^-1`` and Student's t with ``G - 1`` df. With few clusters
    and one high-leverage cluster this test over-rejects (measured by
    :func:`clustered_size_simulation`), so the wild bootstrap p is the one
    reported.

    References
    ----------
    Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to
    cluster-robust inference. Journal of Human Resources 50(2), 317-372.
    https://doi.org/10.3368/jhr.50.2.317
    """
    from clustermodel import _statsmodels as sm

    confidence_level = check_probability(confidence_level, "confidence_level")
    x, y, codes, names, _ = _check_relationship(cluster_index, region_index, regions)
    zx, zy, xs, ys = _zscores(x, y)
    fit = sm.OLS(zy, sm.add_constant(zx)).fit(
        cov_type="cluster",
        cov_kwds={"groups": codes, "use_correction": True, "df_correction": True},
        use_t=True,
    )
    ci = fit.conf_int(alpha=1 - confidence_level)
    wild = wild_cluster_bootstrap(zy, zx, names[codes], n_resamples=n_resamples, weights=weights, confidence_level=confidence_level, rng=rng, keep_draws=keep_draws)
    return ClusteredOLSResult(
        slope=float(fit.params[1]),
        intercept=float(fit.params[0]),
        se=float(fit.bse[1]),
        tvalue=float(fit.tvalues[1]),
        pvalue=wild.pvalue,
        df=float(fit.df_resid_inference),
        ci_low=wild.ci_low,
        ci_high=wild.ci_high,
        pvalue_cr1=float(fit.pvalues[1]),
        ci_low_cr1=float(ci[1, 0]),
        ci_high_cr1=float(ci[1, 1]),
        wild=wild,
        n_obs=int(x.size),
        n_groups=int(names.size),
        x_mean=float(y.mean()),
        x_sd=float(ys),
        y_mean=float(x.mean()),
        y_sd=float(xs),
        confidence_level=confidence_level,
    )


def clustered_size_simulation(region_values, cluster_counts, *, n_sim: int = 2000, n_resamples: int = 999, alpha: float = 0.05, icc: float = 0.5, weights: str = "auto", rng=None) -> dict:
    """Rejection rate under no effect of the wild cluster bootstrap and of the CR1 t test.

    The design is fixed: ``cluster_counts[g]`` units in higher-level unit g,
    every unit carrying the regressor ``region_values[g]``. Under the null the
    unit index is ``sqrt(icc) a_g + sqrt(1 - icc) e_i`` with independent
    standard normal ``a_g`` and ``e_i`` (intra-cluster correlation ``icc``).

    Parameters
    ----------
    region_values : array_like (G,)
    cluster_counts : array_like (G,) of int
    n_sim : int
        Simulated data sets.
    n_resamples : int
        Wild bootstrap samples per data set.
    alpha : float
        Nominal level.
    icc : float in [0, 1)
    weights : as in :func:`wild_cluster_bootstrap`
    rng : numpy Generator, int or None

    Returns
    -------
    dict
        ``size_wild``, ``size_cr1`` (rejection rates), their Monte Carlo
        standard errors ``mcse_wild``, ``mcse_cr1``, and the settings.
    """
    values = _as_1d(region_values, "region_values")
    counts = np.asarray(cluster_counts)
    if counts.shape != values.shape or not np.issubdtype(counts.dtype, np.integer) or counts.min() < 1:
        raise ClusterModelError("`cluster_counts` must hold one positive integer per value of `region_values`")
    n_sim = check_positive_int(n_sim, "n_sim", minimum=1)
    alpha = check_probability(alpha, "alpha")
    icc = float(icc)
    if not 0 <= icc < 1:
        raise ClusterModelError(f"`icc` must lie in [0, 1), got {icc!r}")
    rng = as_rng(rng)
    codes = np.repeat(np.arange(values.size), counts)
    x = values[codes]
    streams = rng.spawn(n_sim)
    reject_wild = np.zeros(n_sim, dtype=bool)
    reject_cr1 = np.zeros(n_sim, dtype=bool)
    for k, s in enumerate(streams):
        a = s.normal(size=values.size)
        y = math.sqrt(icc) * a[codes] + math.sqrt(1 - icc) * s.normal(size=codes.size)
        res = wild_cluster_bootstrap(y, x, codes, n_resamples=n_resamples, weights=weights, interval=False, rng=s)
        reject_wild[k] = res.pvalue <= alpha
        reject_cr1[k] = res.pvalue_cr1 <= alpha
    sw, sc = float(reject_wild.mean()), float(reject_cr1.mean())
    return {
        "size_wild": sw,
        "size_cr1": sc,
        "mcse_wild": math.sqrt(sw * (1 - sw) / n_sim),
        "mcse_cr1": math.sqrt(sc * (1 - sc) / n_sim),
        "n_sim": n_sim,
        "n_resamples": n_resamples,
        "alpha": alpha,
        "icc": icc,
        "n_groups": int(values.size),
        "n_obs": int(codes.size),
    }


# --------------------------------------------------------------------------- models
def random_intercept_model(cluster_index, region_index, regions, *, confidence_level: float = 0.95) -> ModelResult:
    """Linear mixed model with a random intercept per higher-level unit (statsmodels ``MixedLM``, REML).

    ``z(unit index) = b0 + b1 z(higher-level index) + a_g + e_i``, z-scores
    over the units, so ``b1`` is on the scale of the unit-level r. The random
    intercept absorbs what the units of one higher-level unit share; Wald z
    inference on ``b1``. With many higher-level units holding a single unit
    the variance components are weakly identified: a group variance at zero
    is reported as ``boundary``.

    Returns
    -------
    ModelResult (kind ``'random_intercept'``)

    References
    ----------
    Laird, N. M., & Ware, J. H. (1982). Random-effects models for longitudinal
    data. Biometrics 38(4), 963-974. https://doi.org/10.2307/2529876
    """
    from clustermodel import _statsmodels as sm

    confidence_level = check_probability(confidence_level, "confidence_level")
    x, y, codes, names, _ = _check_relationship(cluster_index, region_index, regions)
    zx, zy, _, _ = _zscores(x, y)
    model = sm.MixedLM(zy, sm.add_constant(zx), groups=codes)

    def fit_with(method):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = model.fit(reml=True) if method is None else model.fit(reml=True, method=[method])
            ci = np.asarray(fit.conf_int(alpha=1 - confidence_level))
            numbers = (float(fit.fe_params[1]), float(fit.bse_fe[1]), float(fit.pvalues[1]), float(fit.llf))
        ok = fit.converged and all(math.isfinite(v) for v in numbers)
        return fit, ci, numbers, ok, tuple(sorted({str(w.message).split("\n")[0] for w in caught}))

    fit, ci, (slope, se, pvalue, llf), ok, messages = fit_with(None)
    if not ok:
        # gradient optimisers fail near a zero group variance; Powell's method does not need the gradient
        alt = fit_with("powell")
        if alt[3] and (not math.isfinite(llf) or alt[2][3] >= llf - 1e-9):
            fit, ci, (slope, se, pvalue, llf), ok, messages = alt
    group_var = float(np.asarray(fit.cov_re).ravel()[0])
    return ModelResult(
        kind="random_intercept",
        slope=slope,
        se=se,
        pvalue=pvalue,
        ci_low=float(ci[1, 0]),
        ci_high=float(ci[1, 1]),
        df=None,
        n_obs=int(x.size),
        n_groups=int(names.size),
        group_variance=group_var,
        residual_variance=float(fit.scale),
        converged=bool(fit.converged),
        boundary=bool(group_var <= 1e-6 * max(float(fit.scale), 1e-300)),
        warnings=messages,
        confidence_level=confidence_level,
    )


def weighted_region_regression(cluster_index, region_index, regions, *, confidence_level: float = 0.95) -> ModelResult:
    """WLS of the mean z-scored unit index of each higher-level unit on its z-scored index, weights = units.

    The slope equals the unit-level OLS slope (the unit-level r) because the
    regressor is constant within a higher-level unit; its standard error
    treats the higher-level units as the observations (t with ``G - 2`` df).

    Returns
    -------
    ModelResult (kind ``'weighted_region_mean'``)
    """
    from clustermodel import _statsmodels as sm

    confidence_level = check_probability(confidence_level, "confidence_level")
    x, y, codes, names, _ = _check_relationship(cluster_index, region_index, regions)
    zx, zy, _, _ = _zscores(x, y)
    G = names.size
    counts = np.bincount(codes, minlength=G).astype(float)
    ym = _region_means(zy, codes, G)
    xv = np.empty(G)
    xv[codes] = zx
    fit = sm.WLS(ym, sm.add_constant(xv), weights=counts).fit()
    ci = np.asarray(fit.conf_int(alpha=1 - confidence_level))
    return ModelResult(
        kind="weighted_region_mean",
        slope=float(fit.params[1]),
        se=float(fit.bse[1]),
        pvalue=float(fit.pvalues[1]),
        ci_low=float(ci[1, 0]),
        ci_high=float(ci[1, 1]),
        df=float(fit.df_resid),
        n_obs=int(x.size),
        n_groups=int(G),
        group_variance=None,
        residual_variance=float(fit.scale),
        converged=True,
        boundary=False,
        warnings=(),
        confidence_level=confidence_level,
    )


