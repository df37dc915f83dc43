"""Permutation and BCa bootstrap tests of a correlation, at the unit level, the higher-level-unit level and in
blocks of higher-level units."""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.optimize
import scipy.stats

from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_choice
from clustermodel.diagnostics import quantile_mc_se
from clustermodel.relationship._checks import _as_1d, _check_relationship, _check_resampling, _check_varies
from clustermodel.relationship.correlation import CORRELATIONS, _PARAMETRIC, _batch_size
from clustermodel.relationship.results import TestResult, _descriptor, _r2_interval
from clustermodel._io import finite_or_none

# --------------------------------------------------------------------------- resampling
def _on_last(func):
    """Adapt a last-axis statistic to scipy's ``statistic(*data, axis)`` signature."""

    def statistic(*data, axis=-1):
        return func(*(np.moveaxis(np.asarray(d), axis, -1) for d in data))

    return statistic


def _bca(data, statistic, *, paired, n_resamples, confidence_level, rng, batch):
    """BCa interval from scipy; (low, high, note, distribution), None and a note where it is undefined."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(invalid="ignore", divide="ignore"):
            res = scipy.stats.bootstrap(
                data,
                statistic,
                paired=paired,
                vectorized=True,
                n_resamples=n_resamples,
                batch=batch,
                confidence_level=confidence_level,
                method="BCa",
                rng=rng,
            )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    dist = res.bootstrap_distribution
    n_undefined = int(np.sum(~np.isfinite(dist)))
    if math.isfinite(low) and math.isfinite(high):
        note = None
        if caught:
            note = "BCa: " + "; ".join(sorted({str(w.message).split("\n")[0] for w in caught}))
        return low, high, note, dist
    why = [f"{n_undefined} of {dist.size} resamples had a constant variable"] if n_undefined else []
    why += sorted({str(w.message).split("\n")[0] for w in caught})
    return None, None, "BCa interval undefined: " + ("; ".join(why) or "degenerate bootstrap distribution"), dist


def _endpoint_mcse(dist, low, high):
    """Monte Carlo standard errors of interval end points read off a bootstrap distribution."""
    if low is None or high is None:
        return None, None
    d = np.asarray(dist, dtype=float).ravel()
    d = d[np.isfinite(d)]
    if d.size < 10:
        return None, None
    out = []
    for end in (low, high):
        prob = float(np.clip(np.mean(d <= end), 1 / d.size, 1 - 1 / d.size))
        out.append(finite_or_none(quantile_mc_se(d, prob)))
    return tuple(out)


def _permutation(data, statistic, *, n_resamples, rng, batch, alternative="two-sided", permutation_type="pairings"):
    with np.errstate(invalid="ignore", divide="ignore"):
        res = scipy.stats.permutation_test(
            data,
            statistic,
            permutation_type=permutation_type,
            vectorized=True,
            n_resamples=n_resamples,
            batch=batch,
            alternative=alternative,
            rng=rng,
        )
    if not np.isfinite(res.pvalue):
        raise ClusterModelError("the permutation test gave no p-value (a resample had a constant variable)")
    # scipy enumerates every permutation when there are at most n_resamples of them
    exact = res.null_distribution.size < n_resamples
    return float(res.statistic), float(res.pvalue), exact, res.null_distribution


def _pair_tests(x, y, *, unit, design, n_resamples, confidence_level, rng, methods, keep_draws):
    rngs = rng.spawn(2 * len(methods))
    batch = _batch_size(x.size)
    out = []
    for k, name in enumerate(methods):
        fn = CORRELATIONS[name]
        stat = float(fn(x, y))
        _, p, exact, null = _permutation((x,), _on_last(lambda xs, fn=fn: fn(xs, y)), n_resamples=n_resamples, rng=rngs[2 * k], batch=batch)
        low, high, note, boot = _bca((x, y), _on_last(fn), paired=True, n_resamples=n_resamples, confidence_level=confidence_level, rng=rngs[2 * k + 1], batch=batch)
        p_par = float(_PARAMETRIC[name](x, y).pvalue)
        e, elo, ehi = _r2_interval(stat, low, high) if name == "pearson" else (None, None, None)
        mc_lo, mc_hi = _endpoint_mcse(boot, low, high)
        out.append(
            TestResult(
                test=f"{name}:{design}",
                statistic=stat,
                pvalue=p,
                ci_low=low,
                ci_high=high,
                n=x.size,
                unit=unit,
                method=_descriptor(
                    p=f"permutation:pairings:{'exact' if exact else n_resamples}",
                    ci=f"bca:{n_resamples}:{unit}s",
                    parametric=f"scipy.stats.{_PARAMETRIC[name].__name__}",
                ),
                pvalue_parametric=p_par,
                effect=e,
                effect_low=elo,
                effect_high=ehi,
                effect_name="r2" if e is not None else None,
                ci_low_mcse=mc_lo,
                ci_high_mcse=mc_hi,
                note=note,
                draws={"null": null, "bootstrap": boot} if keep_draws else None,
            )
        )
    return out


def _methods(methods):
    methods = tuple(methods)
    for m in methods:
        check_choice(m, "methods", CORRELATIONS)
    if not methods:
        raise ClusterModelError("`methods` is empty; give at least one of 'pearson', 'spearman', 'kendall'")
    return methods


def cluster_level_tests(cluster_index, region_index, regions=None, *, methods=tuple(CORRELATIONS), n_resamples: int = 9999, confidence_level: float = 0.95, rng=None, keep_draws: bool = False) -> list[TestResult]:
    """Correlations with every unit treated as an independent observation (naive).

    Permutation p-values pair the unit indices with randomly permuted
    higher-level values (``permutation_type='pairings'``); BCa intervals
    resample units. Units of one higher-level unit share its value, so these
    p-values and intervals are too optimistic when several units share one
    (see :func:`region_block_tests`).

    Parameters
    ----------
    cluster_index, region_index : array_like (n,)
        Each unit's index and the index of its higher-level unit.
    regions : array_like (n,), optional
        Higher-level labels; when given, they are validated as in the
        higher-level functions (at least three, one value each).
    methods : sequence of {'pearson', 'spearman', 'kendall'}
    n_resamples : int
        Permutations and bootstrap resamples (at least 99).
    confidence_level : float
    rng : numpy Generator, int or None
    keep_draws : bool
        Keep the null and bootstrap distributions in ``TestResult.draws``.

    Returns
    -------
    list of TestResult, unit ``'cluster'``

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
    https://doi.org/10.1080/01621459.1987.10478410
    """
    n_resamples, confidence_level = _check_resampling(n_resamples, confidence_level)
    methods = _methods(methods)
    if regions is None:
        x = _as_1d(cluster_index, "cluster_index")
        y = _as_1d(region_index, "region_index")
        if x.size != y.size:
            raise ClusterModelError(f"`cluster_index` and `region_index` differ in length ({x.size} and {y.size})")
        if x.size < 3:
            raise ClusterModelError(f"a correlation test needs at least three clusters, got {x.size}")
        _check_varies(x, "cluster_index", "cluster")
        _check_varies(y, "region_index", "cluster")
    else:
        x, y, *_ = _check_relationship(cluster_index, region_index, regions)
    return _pair_tests(x, y, unit="cluster", design="cluster", n_resamples=n_resamples, confidence_level=confidence_level, rng=as_rng(rng), methods=methods, keep_draws=keep_draws)


def _region_means(x, codes, n_groups):
    return np.bincount(codes, weights=x, minlength=n_groups) / np.bincount(codes, minlength=n_groups)


def region_level_tests(cluster_index, region_index, regions, *, methods=tuple(CORRELATIONS), n_resamples: int = 9999, confidence_level: float = 0.95, rng=None, keep_draws: bool = False) -> list[TestResult]:
    """Correlations at the higher level: the mean unit index of each higher-level unit against its index.

    With the higher-level unit as the observation the pairs are independent,
    so the permutation p-value (higher-level values permuted among
    higher-level units) and the BCa interval (higher-level units resampled)
    are valid. ``pearson:region_mean`` is the primary test.

    Parameters
    ----------
    cluster_index, region_index, regions : array_like (n,)
        Per unit: index, higher-level index, higher-level label.
    methods, n_resamples, confidence_level, rng, keep_draws
        As in :func:`cluster_level_tests`.

    Returns
    -------
    list of TestResult, unit ``'region'``, ``n`` = number of higher-level units
    """
    n_resamples, confidence_level = _check_resampling(n_resamples, confidence_level)
    methods = _methods(methods)
    x, _, codes, names, values = _check_relationship(cluster_index, region_index, regions)
    xm = _region_means(x, codes, names.size)
    _check_varies(xm, "cluster_index", "region mean")
    out = _pair_tests(xm, values, unit="region", design="region_mean", n_resamples=n_resamples, confidence_level=confidence_level, rng=as_rng(rng), methods=methods, keep_draws=keep_draws)
    return [r.replace(method="statistic=mean_per_higher;" + r.method) for r in out]


def _block_counts(ids, n_groups):
    """How often each higher-level unit is drawn, per resample: (..., k) ids -> (..., n_groups) counts."""
    ids = np.asarray(ids).astype(np.intp)
    lead, k = ids.shape[:-1], ids.shape[-1]
    flat = ids.reshape(-1, k)
    m = flat.shape[0]
    counts = np.bincount((flat + n_groups * np.arange(m)[:, None]).ravel(), minlength=m * n_groups)
    return counts.reshape(lead + (n_groups,)).astype(float)


def region_block_tests(cluster_index, region_index, regions, *, methods=tuple(CORRELATIONS), n_resamples: int = 9999, confidence_level: float = 0.95, rng=None, keep_draws: bool = False) -> list[TestResult]:
    """Unit-level correlations with the higher-level unit as the resampled block.

    The statistic is the ordinary unit-level coefficient. Its p-value comes
    from permuting the higher-level *values among higher-level units*: every
    unit of one higher-level unit receives the new value together. The BCa
    interval resamples whole higher-level units with replacement (a cluster
    bootstrap: one drawn k times contributes all its units k times,
    implemented with frequency weights), and BCa's jackknife leaves out one
    higher-level unit at a time.

    Parameters and returns as in :func:`region_level_tests` (unit ``'region'``).

    References
    ----------
    Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based
    improvements for inference with clustered errors. Review of Economics and
    Statistics 90(3), 414-427. https://doi.org/10.1162/rest.90.3.414
    """
    n_resamples, confidence_level = _check_resampling(n_resamples, confidence_level)
    methods = _methods(methods)
    x, y, codes, names, values = _check_relationship(cluster_index, region_index, regions)
    n_groups = names.size
    rng = as_rng(rng)
    rngs = rng.spawn(2 * len(methods))
    region_ids = np.arange(n_groups, dtype=float)
    batch = _batch_size(x.size)
    out = []
    for k, name in enumerate(methods):
        fn = CORRELATIONS[name]

        def permuted(rv, fn=fn):
            return fn(x, rv[..., codes])

        def resampled(ids, fn=fn):
            return fn(x, y, _block_counts(ids, n_groups)[..., codes])

        stat = float(fn(x, y))
        _, p, exact, null = _permutation((values,), _on_last(permuted), n_resamples=n_resamples, rng=rngs[2 * k], batch=batch)
        low, high, note, boot = _bca((region_ids,), _on_last(resampled), paired=False, n_resamples=n_resamples, confidence_level=confidence_level, rng=rngs[2 * k + 1], batch=batch)
        e, elo, ehi = _r2_interval(stat, low, high) if name == "pearson" else (None, None, None)
        mc_lo, mc_hi = _endpoint_mcse(boot, low, high)
        out.append(
            TestResult(
                test=f"{name}:region_block",
                statistic=stat,
                pvalue=p,
                ci_low=low,
                ci_high=high,
                n=n_groups,
                unit="region",
                method=_descriptor(
                    statistic=f"unit_level:{x.size}",
                    p=f"block_permutation:{'exact' if exact else n_resamples}",
                    ci=f"bca:{n_resamples}:whole_higher_units",
                ),
                effect=e,
                effect_low=elo,
                effect_high=ehi,
                effect_name="r2" if e is not None else None,
                ci_low_mcse=mc_lo,
                ci_high_mcse=mc_hi,
                note=note,
                draws={"null": null, "bootstrap": boot} if keep_draws else None,
            )
        )
    return out


