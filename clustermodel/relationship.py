"""Stage 6: statistical tests of the cluster–region relationship and of the industry effect.

The paper reads its four scenarios off a scatter plot of the cluster index
against the regional index and calls the two "correlated", without a
statistic; it also states that the cluster index does not depend on the
industry. This module supplies the tests behind both claims, for the paper's
design: 25 clusters in only 19 regions, where the clusters of one region
share one regional value and are therefore not independent observations of it.

The array functions (:func:`cluster_level_tests`, :func:`region_level_tests`,
:func:`region_block_tests`, :func:`clustered_ols`, :func:`scenario_table`,
:func:`industry_tests`, :func:`power_min_correlation`, :func:`adjust_pvalues`)
take plain arrays and labels. :func:`relationship_analysis` runs all of them on
a :class:`~clustermodel.data.Study`, on the published and/or the recomputed
values, and :func:`negative_policy_sensitivity` repeats the key numbers with
the alternative treatment of negative trade surpluses in the regional index.

Every resampling test uses :func:`scipy.stats.permutation_test` and
:func:`scipy.stats.bootstrap` (BCa) with vectorised statistics; nothing
about the resampling is hand-written.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.stats
import xarray as xr

from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_choice, check_positive_int, check_probability
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds

__all__ = [
    "CORRELATIONS",
    "SOURCES",
    "PRIMARY_TEST",
    "TestResult",
    "ClusteredOLSResult",
    "ScenarioTable",
    "NegativePolicySensitivity",
    "RelationshipResult",
    "weighted_correlation",
    "region_values_of_clusters",
    "cluster_level_tests",
    "region_level_tests",
    "region_block_tests",
    "clustered_ols",
    "scenario_table",
    "industry_tests",
    "power_min_correlation",
    "adjust_pvalues",
    "negative_policy_sensitivity",
    "relationship_analysis",
]

#: Value sources: the paper's printed Tables 5-6 or the index recomputed under a spec.
SOURCES = ("computed", "published")

#: The pre-specified primary analysis (see :class:`RelationshipResult`).
PRIMARY_TEST = "pearson:region_mean"

#: Resamples are evaluated in chunks of this size to bound memory (Kendall's
#: statistic builds an n x n sign matrix per resample).
_BATCH = 1000


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
        w = np.ones(shape)
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


def _midranks(v, w):
    """Average ranks of ``v`` in the sample where unit i appears ``w_i`` times."""
    less = (v[..., None, :] < v[..., :, None]).astype(float)
    equal = (v[..., None, :] == v[..., :, None]).astype(float)
    below = (less * w[..., None, :]).sum(-1)
    tied = (equal * w[..., None, :]).sum(-1)
    return below + (tied + 1.0) / 2.0


def _spearman(x, y, w=None):
    x, y, w = _weights(x, y, w)
    return _pearson(_midranks(x, w), _midranks(y, w), w)


def _kendall(x, y, w=None):
    x, y, w = _weights(x, y, w)
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    ww = w[..., :, None] * w[..., None, :]
    num = (ww * sx * sy).sum((-2, -1))
    den = np.sqrt((ww * sx * sx).sum((-2, -1)) * (ww * sy * sy).sum((-2, -1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


#: Correlation coefficients, each ``f(x, y, w=None)`` along the last axis.
#: With integer weights ``w`` each equals the coefficient of the sample in
#: which unit ``i`` appears ``w_i`` times (Pearson's r, Spearman's rho with
#: average ranks, Kendall's tau-b), which is what a cluster bootstrap needs.
CORRELATIONS = {"pearson": _pearson, "spearman": _spearman, "kendall": _kendall}

_PARAMETRIC = {
    "pearson": (scipy.stats.pearsonr, "t distribution of Pearson's r (scipy.stats.pearsonr)"),
    "spearman": (scipy.stats.spearmanr, "t approximation (scipy.stats.spearmanr)"),
    "kendall": (scipy.stats.kendalltau, "normal approximation (scipy.stats.kendalltau)"),
}


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

    Examples
    --------
    >>> float(weighted_correlation([1, 2, 3, 4], [1, 3, 2, 4]))
    0.8
    """
    check_choice(method, "method", CORRELATIONS)
    return CORRELATIONS[method](x, y, w)


# --------------------------------------------------------------------------- results
def _num(v):
    """float or None (JSON cannot hold NaN or infinity)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class TestResult:
    """One test: statistic, p-value and confidence interval, with their provenance.

    Attributes
    ----------
    test : str
        ``'<statistic>:<design>'``, e.g. ``'pearson:region_mean'``.
    statistic : float
    pvalue : float or None
        None where the row is not a test (the power rows).
    ci_low, ci_high : float or None
        Confidence interval of the statistic; None where it is undefined or
        unbounded (``note`` says why).
    n : int
        Number of independent units named by ``unit``.
    unit : {'cluster', 'region'}
        The unit of inference: what is resampled or counted.
    method : str
        How the p-value and the interval were obtained, in words.
    source : str or None
        ``'computed'`` or ``'published'`` values.
    family : str or None
        Multiple-testing family; ``p_adjusted`` is Holm-adjusted within it.
    p_adjusted : float or None
    pvalue_parametric : float or None
        The textbook parametric p-value of the same statistic, for reference.
    primary : bool
        The pre-specified primary analysis.
    note : str or None
    """

    __test__ = False  # not a pytest class

    test: str
    statistic: float
    pvalue: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    unit: str
    method: str
    source: str | None = None
    family: str | None = None
    p_adjusted: float | None = None
    pvalue_parametric: float | None = None
    primary: bool = False
    note: str | None = None

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k in ("statistic", "pvalue", "ci_low", "ci_high", "p_adjusted", "pvalue_parametric"):
            d[k] = _num(d[k])
        d["n"] = int(d["n"])
        return d

    def replace(self, **changes) -> "TestResult":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ClusteredOLSResult:
    """OLS of the standardised cluster index on the standardised regional index.

    Both variables are z-scores (mean 0, sample standard deviation 1 over the
    clusters), so ``slope`` equals the cluster-level Pearson r; its standard
    error is clustered by region (CR1) and inference uses Student's t with
    ``n_groups - 1`` degrees of freedom.

    Attributes
    ----------
    slope, intercept, se, tvalue, pvalue, df : float
    ci_low, ci_high : float
    n_obs, n_groups : int
    x_mean, x_sd, y_mean, y_sd : float
        Means and standard deviations of the regional (x) and cluster (y)
        index, to draw the fitted line on the original scale.
    confidence_level : float
    """

    slope: float
    intercept: float
    se: float
    tvalue: float
    pvalue: float
    df: float
    ci_low: float
    ci_high: float
    n_obs: int
    n_groups: int
    x_mean: float
    x_sd: float
    y_mean: float
    y_sd: float
    confidence_level: float

    def fitted(self, x) -> np.ndarray:
        """Fitted cluster index on the original scale at regional index ``x``."""
        z = (np.asarray(x, dtype=float) - self.x_mean) / self.x_sd
        return self.y_mean + self.y_sd * (self.intercept + self.slope * z)

    def to_record(self) -> TestResult:
        return TestResult(
            test="ols:clustered_se",
            statistic=self.slope,
            pvalue=self.pvalue,
            ci_low=self.ci_low,
            ci_high=self.ci_high,
            n=self.n_groups,
            unit="region",
            method=(
                f"OLS of the z-scored cluster index on the z-scored regional index ({self.n_obs} clusters); "
                f"slope = cluster-level Pearson r; standard error clustered by region (CR1, "
                f"{self.n_groups} regions), t test and interval with {self.n_groups - 1} df (statsmodels)"
            ),
        )


@dataclass(frozen=True)
class ScenarioTable:
    """The 2 x 2 table of high/low cluster x high/low region with Fisher's exact test.

    Attributes
    ----------
    table : ndarray (2, 2) of int
        Rows: cluster high, cluster low; columns: region high, region low.
        So ``[[supported, lonely], [late, potential]]``.
    odds_ratio : float
        The sample odds ratio ``(a d) / (b c)``; with a zero cell the
        Haldane–Anscombe estimate (0.5 added to every cell).
    ci_low, ci_high : float or None
        Exact conditional confidence interval of the odds ratio
        (:func:`scipy.stats.contingency.odds_ratio`); None where unbounded.
    pvalue : float
        Two-sided Fisher exact test (:func:`scipy.stats.fisher_exact`).
    n : int
    unit : {'cluster', 'region'}
    confidence_level : float
    """

    table: np.ndarray
    odds_ratio: float
    ci_low: float | None
    ci_high: float | None
    pvalue: float
    n: int
    unit: str
    confidence_level: float
    note: str | None = None

    @property
    def counts(self) -> dict:
        t = self.table
        return {"supported": int(t[0, 0]), "lonely": int(t[0, 1]), "potential": int(t[1, 1]), "late": int(t[1, 0])}

    def to_record(self) -> TestResult:
        corrected = self.note is not None and "Haldane" in self.note
        return TestResult(
            test=f"fisher:{self.unit}",
            statistic=self.odds_ratio,
            pvalue=self.pvalue,
            ci_low=self.ci_low,
            ci_high=self.ci_high,
            n=self.n,
            unit=self.unit,
            method=(
                "Fisher's exact test (two-sided) of the 2x2 table high/low cluster x high/low region; statistic = "
                + ("Haldane-Anscombe odds ratio (0.5 added to every cell)" if corrected else "sample odds ratio")
                + f"; {self.confidence_level:.0%} exact conditional interval"
            ),
            note=self.note,
        )

    def to_dict(self) -> dict:
        return {
            "unit": self.unit,
            "n": int(self.n),
            "table": {"rows": ["cluster high", "cluster low"], "columns": ["region high", "region low"], "counts": self.table.tolist()},
            "counts": self.counts,
            "odds_ratio": _num(self.odds_ratio),
            "ci_low": _num(self.ci_low),
            "ci_high": _num(self.ci_high),
            "pvalue": _num(self.pvalue),
            "note": self.note,
        }


# --------------------------------------------------------------------------- validation
def _as_1d(values, name):
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ClusterModelError(f"`{name}` must be a sequence of numbers") from None
    if a.ndim != 1:
        raise ClusterModelError(f"`{name}` must be one-dimensional (one value per cluster), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        bad = np.flatnonzero(~np.isfinite(a))
        raise ClusterModelError(
            f"`{name}` holds {bad.size} missing or non-finite value(s) (positions {bad.tolist()[:10]}); "
            "every cluster needs a finite index"
        )
    return a


def _check_varies(a, name, what):
    if a.size and np.ptp(a) <= 1e-12 * max(1.0, float(np.max(np.abs(a)))):
        raise ClusterModelError(
            f"`{name}` is constant (every {what} has the value {a[0]:.6g}); a correlation is undefined "
            "and no test of association can be carried out; supply values that vary"
        )


def _check_relationship(cluster_index, region_index, regions):
    """Validate (x, y, region labels); return x, y, region codes, region names, region values."""
    x = _as_1d(cluster_index, "cluster_index")
    y = _as_1d(region_index, "region_index")
    labels = np.asarray(regions, dtype=object)
    if labels.ndim != 1:
        raise ClusterModelError("`regions` must be one-dimensional: the region of every cluster")
    if not (x.size == y.size == labels.size):
        raise ClusterModelError(
            f"`cluster_index`, `region_index` and `regions` must have one entry per cluster; got lengths "
            f"{x.size}, {y.size} and {labels.size}"
        )
    labels = labels.astype(str)
    names, codes = np.unique(labels, return_inverse=True)
    if names.size < 3:
        raise ClusterModelError(
            f"`regions` holds {names.size} distinct region(s) ({', '.join(names)}); inference with the region as "
            "the unit needs at least three regions"
        )
    values = np.empty(names.size)
    for g, name in enumerate(names):
        v = y[codes == g]
        if np.ptp(v) > 1e-12 * max(1.0, float(np.max(np.abs(v)))):
            raise ClusterModelError(
                f"`region_index` differs between clusters of region {str(name)!r} ({', '.join(f'{u:.6g}' for u in v)}); "
                "clusters of one region must share its regional value"
            )
        values[g] = v[0]
    _check_varies(x, "cluster_index", "cluster")
    _check_varies(values, "region_index", "region")
    return x, y, codes.astype(np.intp), names, values


def region_values_of_clusters(cluster_regions, region_names, region_values) -> np.ndarray:
    """The regional value of every cluster, looked up by region name.

    Raises
    ------
    ClusterModelError
        Naming every cluster region that is not in ``region_names``.
    """
    lookup = {str(r): float(v) for r, v in zip(region_names, region_values)}
    cluster_regions = [str(r) for r in cluster_regions]
    unknown = sorted({r for r in cluster_regions if r not in lookup})
    if unknown:
        raise ClusterModelError(
            f"region(s) {', '.join(repr(u) for u in unknown)} of the cluster table are not in the region table "
            f"(which has {', '.join(repr(k) for k in sorted(lookup))}); fix the spelling in the cluster table "
            "or add the region"
        )
    return np.array([lookup[r] for r in cluster_regions])


def _check_resampling(n_resamples, confidence_level):
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=99)
    confidence_level = check_probability(confidence_level, "confidence_level")
    return n_resamples, confidence_level


# --------------------------------------------------------------------------- resampling
def _on_last(func):
    """Adapt a last-axis statistic to scipy's ``statistic(*data, axis)`` signature."""

    def statistic(*data, axis=-1):
        return func(*(np.moveaxis(np.asarray(d), axis, -1) for d in data))

    return statistic


def _bca(data, statistic, *, paired, n_resamples, confidence_level, rng):
    """BCa interval from scipy; (low, high, note), with None and a note where it is undefined."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(invalid="ignore", divide="ignore"):
            res = scipy.stats.bootstrap(
                data,
                statistic,
                paired=paired,
                vectorized=True,
                n_resamples=n_resamples,
                batch=_BATCH,
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
        return low, high, note
    why = [f"{n_undefined} of {dist.size} resamples had a constant variable"] if n_undefined else []
    why += sorted({str(w.message).split("\n")[0] for w in caught})
    return None, None, "BCa interval undefined: " + ("; ".join(why) or "degenerate bootstrap distribution")


def _permutation(data, statistic, *, n_resamples, rng, alternative="two-sided", permutation_type="pairings"):
    with np.errstate(invalid="ignore", divide="ignore"):
        res = scipy.stats.permutation_test(
            data,
            statistic,
            permutation_type=permutation_type,
            vectorized=True,
            n_resamples=n_resamples,
            batch=_BATCH,
            alternative=alternative,
            rng=rng,
        )
    if not np.isfinite(res.pvalue):
        raise ClusterModelError("the permutation test gave no p-value (a resample had a constant variable)")
    # scipy enumerates every permutation when there are at most n_resamples of them
    exact = res.null_distribution.size < n_resamples
    return float(res.statistic), float(res.pvalue), exact


def _ci_text(confidence_level, n_resamples, what):
    return f"{confidence_level:.0%} BCa bootstrap interval ({n_resamples} resamples of {what}, scipy.stats.bootstrap)"


def _pair_tests(x, y, *, unit, design, n_resamples, confidence_level, rng, methods):
    rngs = rng.spawn(2 * len(methods))
    out = []
    for k, name in enumerate(methods):
        fn = CORRELATIONS[name]
        stat = float(fn(x, y))
        _, p, exact = _permutation((x,), _on_last(lambda xs, fn=fn: fn(xs, y)), n_resamples=n_resamples, rng=rngs[2 * k])
        low, high, note = _bca((x, y), _on_last(fn), paired=True, n_resamples=n_resamples, confidence_level=confidence_level, rng=rngs[2 * k + 1])
        func, ptext = _PARAMETRIC[name]
        p_par = float(func(x, y).pvalue)
        perm = "exact permutation test (all pairings)" if exact else f"permutation test ({n_resamples} random pairings)"
        out.append(
            TestResult(
                test=f"{name}:{design}",
                statistic=stat,
                pvalue=p,
                ci_low=low,
                ci_high=high,
                n=x.size,
                unit=unit,
                method=f"{perm}, two-sided, scipy.stats.permutation_test; {_ci_text(confidence_level, n_resamples, unit + 's')}; "
                f"parametric reference p from the {ptext}",
                pvalue_parametric=p_par,
                note=note,
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


def cluster_level_tests(cluster_index, region_index, regions=None, *, methods=tuple(CORRELATIONS), n_resamples: int = 9999, confidence_level: float = 0.95, rng=None) -> list[TestResult]:
    """Correlations with every cluster treated as an independent observation.

    Permutation p-values pair the cluster indices with randomly permuted
    regional values (``permutation_type='pairings'``); BCa intervals resample
    clusters. This is the naive analysis: clusters of one region share one
    regional value, so these p-values and intervals are too optimistic when
    several clusters sit in one region (see :func:`region_block_tests`).

    Parameters
    ----------
    cluster_index, region_index : array_like (n,)
        Each cluster's index and the index of its region.
    regions : array_like (n,), optional
        Region labels; when given, they are validated as in the region-level
        functions (at least three regions, one value per region).
    methods : sequence of {'pearson', 'spearman', 'kendall'}
    n_resamples : int
        Permutations and bootstrap resamples (at least 99).
    confidence_level : float
    rng : numpy Generator, int or None

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
    return _pair_tests(x, y, unit="cluster", design="cluster", n_resamples=n_resamples, confidence_level=confidence_level, rng=as_rng(rng), methods=methods)


def _region_means(x, codes, n_groups):
    return np.bincount(codes, weights=x, minlength=n_groups) / np.bincount(codes, minlength=n_groups)


def region_level_tests(cluster_index, region_index, regions, *, methods=tuple(CORRELATIONS), n_resamples: int = 9999, confidence_level: float = 0.95, rng=None) -> list[TestResult]:
    """Correlations at region level: the mean cluster index of each region against its regional index.

    With the region as the observation the pairs are independent, so the
    permutation p-value (regional values permuted among regions) and the BCa
    interval (regions resampled) are valid for the 19 regions of the paper.

    Parameters
    ----------
    cluster_index, region_index, regions : array_like (n,)
        Per cluster: index, regional index, region label.
    methods, n_resamples, confidence_level, rng
        As in :func:`cluster_level_tests`.

    Returns
    -------
    list of TestResult, unit ``'region'``, ``n`` = number of regions
    """
    n_resamples, confidence_level = _check_resampling(n_resamples, confidence_level)
    methods = _methods(methods)
    x, _, codes, names, values = _check_relationship(cluster_index, region_index, regions)
    xm = _region_means(x, codes, names.size)
    _check_varies(xm, "cluster_index", "region mean")
    out = _pair_tests(xm, values, unit="region", design="region_mean", n_resamples=n_resamples, confidence_level=confidence_level, rng=as_rng(rng), methods=methods)
    return [r.replace(method="mean cluster index of each region vs its regional index; " + r.method) for r in out]


def region_block_tests(cluster_index, region_index, regions, *, methods=tuple(CORRELATIONS), n_resamples: int = 9999, confidence_level: float = 0.95, rng=None) -> list[TestResult]:
    """Cluster-level correlations with the region as the resampled block.

    The statistic is the ordinary cluster-level coefficient over all clusters.
    Its p-value comes from permuting the regional *values among regions*:
    every cluster of a region receives the region's new value together, which
    is the randomisation the design allows (the clusters of one region are
    never split). The BCa interval resamples whole regions with replacement
    (a cluster bootstrap): a region drawn k times contributes all its
    clusters k times, implemented with frequency weights, and BCa's jackknife
    leaves out one region at a time.

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
    out = []
    for k, name in enumerate(methods):
        fn = CORRELATIONS[name]

        def permuted(rv, fn=fn):
            return fn(x, rv[..., codes])

        def resampled(ids, fn=fn):
            ids = ids.astype(np.intp)
            counts = (ids[..., :, None] == np.arange(n_groups)).sum(-2).astype(float)
            return fn(x, y, counts[..., codes])

        stat = float(fn(x, y))
        _, p, exact = _permutation((values,), _on_last(permuted), n_resamples=n_resamples, rng=rngs[2 * k])
        low, high, note = _bca((region_ids,), _on_last(resampled), paired=False, n_resamples=n_resamples, confidence_level=confidence_level, rng=rngs[2 * k + 1])
        perm = "exact" if exact else f"{n_resamples} random"
        out.append(
            TestResult(
                test=f"{name}:region_block",
                statistic=stat,
                pvalue=p,
                ci_low=low,
                ci_high=high,
                n=n_groups,
                unit="region",
                method=(
                    f"cluster-level coefficient ({x.size} clusters); region-block permutation test ({perm} permutations of "
                    f"the {n_groups} regional values among regions, scipy.stats.permutation_test); "
                    f"{_ci_text(confidence_level, n_resamples, 'whole regions')}"
                ),
                note=note,
            )
        )
    return out


def clustered_ols(cluster_index, region_index, regions, *, confidence_level: float = 0.95) -> ClusteredOLSResult:
    """OLS of the z-scored cluster index on the z-scored regional index, SEs clustered by region.

    Parameters
    ----------
    cluster_index, region_index, regions : array_like (n,)
    confidence_level : float

    Returns
    -------
    ClusteredOLSResult

    Notes
    -----
    statsmodels ``fit(cov_type='cluster', cov_kwds={'groups': ..., 'use_correction': True,
    'df_correction': True}, use_t=True)``: the CR1 sandwich
    ``G/(G-1) (N-1)/(N-K) (X'X)^-1 (sum_g X_g' u_g u_g' X_g) (X'X)^-1`` and
    Student's t with ``G - 1`` degrees of freedom, the usual small-sample
    choice when the number of clusters G is small. With one cluster per
    region the CR1 standard error equals the HC1 one.

    References
    ----------
    Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to
    cluster-robust inference. Journal of Human Resources 50(2), 317-372.
    https://doi.org/10.3368/jhr.50.2.317
    """
    import statsmodels.api as sm

    confidence_level = check_probability(confidence_level, "confidence_level")
    x, y, codes, names, _ = _check_relationship(cluster_index, region_index, regions)
    xs, ys = x.std(ddof=1), y.std(ddof=1)
    zx = (y - y.mean()) / ys  # regressor: regional index
    zy = (x - x.mean()) / xs  # response: cluster index
    fit = sm.OLS(zy, sm.add_constant(zx)).fit(
        cov_type="cluster",
        cov_kwds={"groups": codes, "use_correction": True, "df_correction": True},
        use_t=True,
    )
    ci = fit.conf_int(alpha=1 - confidence_level)
    return ClusteredOLSResult(
        slope=float(fit.params[1]),
        intercept=float(fit.params[0]),
        se=float(fit.bse[1]),
        tvalue=float(fit.tvalues[1]),
        pvalue=float(fit.pvalues[1]),
        df=float(fit.df_resid_inference),
        ci_low=float(ci[1, 0]),
        ci_high=float(ci[1, 1]),
        n_obs=int(x.size),
        n_groups=int(names.size),
        x_mean=float(y.mean()),
        x_sd=float(ys),
        y_mean=float(x.mean()),
        y_sd=float(xs),
        confidence_level=confidence_level,
    )


def scenario_table(cluster_high, region_high, *, unit: str = "cluster", confidence_level: float = 0.95) -> ScenarioTable:
    """2 x 2 table of high/low cluster x high/low region and Fisher's exact test.

    Parameters
    ----------
    cluster_high, region_high : array_like of bool (n,)
        Per unit, whether the cluster side and the region side are 'high'.
    unit : {'cluster', 'region'}
        What one row of the inputs is (for the record only).
    confidence_level : float

    Returns
    -------
    ScenarioTable

    References
    ----------
    Fisher, R. A. (1922). On the interpretation of chi-square from contingency
    tables, and the calculation of P. JRSS 85(1), 87-94. https://doi.org/10.2307/2340521
    """
    check_choice(unit, "unit", ("cluster", "region"))
    confidence_level = check_probability(confidence_level, "confidence_level")
    ch = np.asarray(cluster_high, dtype=bool)
    rh = np.asarray(region_high, dtype=bool)
    if ch.shape != rh.shape or ch.ndim != 1:
        raise ClusterModelError(f"`cluster_high` and `region_high` must be 1-D of one length, got {ch.shape} and {rh.shape}")
    table = np.array([[np.sum(ch & rh), np.sum(ch & ~rh)], [np.sum(~ch & rh), np.sum(~ch & ~rh)]], dtype=np.int64)
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        side = "cluster" if (table.sum(axis=1) == 0).any() else "region"
        raise ClusterModelError(
            f"every {unit} is on the same side of the {side} threshold ({table.tolist()}); the 2x2 table has an "
            "empty margin and Fisher's test is undefined; change the thresholds"
        )
    res = scipy.stats.fisher_exact(table, alternative="two-sided")
    note = None
    if (table == 0).any():
        a, b, c, d = (table + 0.5).ravel()
        odds = (a * d) / (b * c)
        note = "a zero cell: the odds ratio is the Haldane-Anscombe estimate (0.5 added to every cell)"
    else:
        odds = float(res.statistic)
    ci = scipy.stats.contingency.odds_ratio(table, kind="conditional").confidence_interval(confidence_level)
    low, high = _num(ci.low), _num(ci.high)
    if high is None or low is None or low == 0:
        note = (note + "; " if note else "") + "the exact interval is unbounded on one side"
        low = None if low == 0 else low
    return ScenarioTable(
        table=table,
        odds_ratio=float(odds),
        ci_low=low,
        ci_high=high,
        pvalue=float(res.pvalue),
        n=int(ch.size),
        unit=unit,
        confidence_level=confidence_level,
        note=note,
    )


def industry_tests(cluster_index, groups, *, reference: str | None = None, n_resamples: int = 9999, rng=None) -> list[TestResult]:
    """Kruskal–Wallis and one-way ANOVA of the cluster index by industry group.

    The p-values are permutation p-values (cluster indices permuted among
    groups, ``permutation_type='independent'``, upper tail), which stay valid
    for groups of four or five clusters; the asymptotic p-values
    (chi-square for Kruskal–Wallis, F for ANOVA) are given as
    ``pvalue_parametric``.

    Parameters
    ----------
    cluster_index : array_like (n,)
    groups : array_like (n,)
        Industry group of every cluster; at least two groups, and at least
        one group with two or more clusters.
    reference : str, optional
        The normalisation reference set the index was computed with (appended
        to the test name, e.g. ``'kruskal:reference=group'``).
    n_resamples : int
    rng : numpy Generator, int or None

    Returns
    -------
    list of TestResult (Kruskal–Wallis, ANOVA), unit ``'cluster'``

    Notes
    -----
    Under within-group normalisation (``reference='group'``, the paper's
    Table 5) every group holds the maximum of every indicator, so each group's
    index is measured against its own leader and differences in *level*
    between industries are removed by construction. The test can then only
    detect differences in how the clusters of a group spread below their
    leader; a non-significant result cannot show that industry does not
    matter. Under ``reference='sample'`` level differences can show.

    References
    ----------
    Kruskal, W. H., & Wallis, W. A. (1952). Use of ranks in one-criterion
    variance analysis. JASA 47(260), 583-621. https://doi.org/10.1080/01621459.1952.10483441
    """
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=99)
    x = _as_1d(cluster_index, "cluster_index")
    g = np.asarray(groups, dtype=object)
    if g.shape != x.shape:
        raise ClusterModelError(f"`groups` must have one label per cluster ({x.size}), got shape {g.shape}")
    names, codes = np.unique(g.astype(str), return_inverse=True)
    sizes = np.bincount(codes)
    if names.size < 2:
        raise ClusterModelError(f"`groups` holds only {names.size} industry group; a test across industries needs two or more")
    if sizes.max() < 2:
        raise ClusterModelError("every industry group holds a single cluster; there is no within-group variation to test against")
    _check_varies(x, "cluster_index", "cluster")
    samples = [x[codes == k] for k in range(names.size)]
    rngs = as_rng(rng).spawn(2)
    suffix = "" if reference is None else f":reference={reference}"
    out = []
    kw = scipy.stats.kruskal(*samples)
    an = scipy.stats.f_oneway(*samples)
    for k, (name, func, asym, text) in enumerate(
        [
            ("kruskal", lambda *s, axis: scipy.stats.kruskal(*s, axis=axis).statistic, kw, "Kruskal-Wallis H; asymptotic chi-square p as reference"),
            ("anova", lambda *s, axis: scipy.stats.f_oneway(*s, axis=axis).statistic, an, "one-way ANOVA F; F-distribution p as reference"),
        ]
    ):
        _, p, exact = _permutation(samples, func, n_resamples=n_resamples, rng=rngs[k], alternative="greater", permutation_type="independent")
        out.append(
            TestResult(
                test=f"{name}{suffix}",
                statistic=float(asym.statistic),
                pvalue=p,
                ci_low=None,
                ci_high=None,
                n=x.size,
                unit="cluster",
                method=(
                    f"{text}; p-value from a permutation test of the group labels ("
                    f"{'every' if exact else str(n_resamples) + ' random'} permutations, upper tail, "
                    f"scipy.stats.permutation_test); {names.size} groups of sizes "
                    f"{', '.join(str(s) for s in sizes)}" + ("" if reference is None else f"; index normalised with reference={reference}")
                ),
                pvalue_parametric=float(asym.pvalue),
            )
        )
    return out


def power_min_correlation(n, *, alpha: float = 0.05, power: float = 0.8, alternative: str = "two-sided") -> float:
    """Smallest population correlation a test of rho = 0 detects with the given power.

    Uses Fisher's z: ``atanh(r)`` is approximately normal with standard error
    ``1/sqrt(n - 3)``, so

        r_min = tanh((z_{1 - alpha/2} + z_{power}) / sqrt(n - 3))

    (``z_{1-alpha}`` for a one-sided test).

    Parameters
    ----------
    n : int
        Number of independent pairs (at least 4).
    alpha, power : float
    alternative : {'two-sided', 'one-sided'}

    Returns
    -------
    float

    References
    ----------
    Fisher, R. A. (1921). On the "probable error" of a coefficient of
    correlation deduced from a small sample. Metron 1, 3-32.
    Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences,
    2nd ed., ch. 3. https://doi.org/10.4324/9780203771587

    Examples
    --------
    >>> round(power_min_correlation(25), 3)
    0.535
    """
    n = check_positive_int(n, "n", minimum=4)
    alpha = check_probability(alpha, "alpha")
    power = check_probability(power, "power")
    check_choice(alternative, "alternative", ("two-sided", "one-sided"))
    za = scipy.stats.norm.ppf(1 - alpha / 2 if alternative == "two-sided" else 1 - alpha)
    zb = scipy.stats.norm.ppf(power)
    return float(np.tanh((za + zb) / np.sqrt(n - 3)))


def adjust_pvalues(pvalues, *, method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values (statsmodels ``multipletests``); Holm by default.

    Holm's step-down procedure controls the family-wise error rate under any
    dependence between the tests, which matters here because the tests of
    one family reuse the same data.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70. https://www.jstor.org/stable/4615733
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):
        raise ClusterModelError("`pvalues` must be a 1-D sequence of numbers in [0, 1]")
    if p.size == 0:
        return p
    return multipletests(p, method=method)[1]


# --------------------------------------------------------------------------- study level
@dataclass(frozen=True)
class _Source:
    """The values one analysis runs on."""

    name: str
    cluster_index: np.ndarray
    region_index_of_cluster: np.ndarray
    region_names: np.ndarray
    region_values: np.ndarray
    cluster_threshold: float
    region_threshold: float


def _study_regions(study):
    if study.regions is None or "region" not in study.clusters.coords:
        raise ClusterModelError("the study has no region table or no region column; load it with `regions=`")
    return study.cluster_regions().astype(str), study.regions["region"].values.astype(str)


def _thresholds(study, spec, thresholds):
    from clustermodel.scenarios import StudyModel

    model = StudyModel(study, spec, thresholds=thresholds)
    top = float(model.outputs(model.nominal_weights[None, :])["maximum"][0])
    return thresholds.cluster * top, model.region_threshold


def _computed_values(study, spec):
    from clustermodel.index import compute_index
    from clustermodel.scenarios import region_index

    ci = compute_index(study, spec=spec).values
    ri = region_index(study, spec).values
    return ci, ri


def _source_values(study, source, spec, thresholds):
    cluster_regions, region_names = _study_regions(study)
    if source == "published":
        if "published_index" not in study.clusters or "published_index" not in study.regions:
            raise ClusterModelError(
                "the study has no published index in the cluster or region table; use source='computed' (--source computed)"
            )
        ci = study.clusters["published_index"].values.astype(float)
        ri = study.regions["published_index"].values.astype(float)
        for vals, what in ((ci, "cluster"), (ri, "region")):
            if not np.all(np.isfinite(vals)):
                raise ClusterModelError(f"the published {what} index has missing values; use source='computed' (--source computed)")
    else:
        ci, ri = _computed_values(study, spec)
    roc = region_values_of_clusters(cluster_regions, region_names, ri)
    c_thr, r_thr = _thresholds(study, spec, thresholds)
    return _Source(source, ci, roc, region_names, ri, c_thr, r_thr)


@dataclass(frozen=True)
class NegativePolicySensitivity:
    """The relationship under the two treatments of negative trade surpluses in the regional index.

    Attributes
    ----------
    policies : tuple of str
        ``('keep', 'zero')``: the printed formula (a deficit is squared and
        raises the index) and the alternative (a deficit counts as zero).
    region_index : dict policy -> ndarray (region,)
    region_names : ndarray
    correlations : dict policy -> dict
        Cluster-level Pearson, Spearman and Kendall; the region-level Pearson
        r with its permutation p-value; the region-block permutation p-value
        of the cluster-level Pearson r.
    scenario_counts : dict policy -> dict
    clusters : list of dict
        One row per cluster whose region's index differs between the
        policies: region, the index and scenario under each policy, changed.
    """

    policies: tuple
    region_index: dict
    region_names: np.ndarray
    correlations: dict
    scenario_counts: dict
    clusters: list
    region_threshold: float

    @property
    def changed_clusters(self) -> list:
        return [r["cluster"] for r in self.clusters if r["scenario_changed"]]

    def to_dict(self) -> dict:
        return {
            "policies": list(self.policies),
            "region_threshold": self.region_threshold,
            "regions": [
                {"region": str(r), **{f"index_{p}": float(self.region_index[p][i]) for p in self.policies}}
                for i, r in enumerate(self.region_names)
                if not np.isclose(self.region_index[self.policies[0]][i], self.region_index[self.policies[1]][i])
            ],
            "correlations": self.correlations,
            "scenario_counts": self.scenario_counts,
            "clusters": self.clusters,
        }

    def summary(self) -> str:
        a, b = self.policies
        lines = [
            f"### Sensitivity to negative trade surpluses (regional index: `negative={a}` vs `negative={b}`)",
            "",
            "| Quantity | " + f"`{a}` | `{b}` |",
            "|---|---:|---:|",
        ]
        ca, cb = self.correlations[a], self.correlations[b]
        for key, label in [
            ("pearson", "Pearson r (clusters)"),
            ("spearman", "Spearman rho (clusters)"),
            ("kendall", "Kendall tau-b (clusters)"),
            ("region_pearson", "Pearson r (region means)"),
            ("region_pearson_p", "permutation p (region means)"),
            ("block_pearson_p", "region-block permutation p"),
        ]:
            lines.append(f"| {label} | {ca[key]:.3f} | {cb[key]:.3f} |")
        for s in SCENARIOS:
            lines.append(f"| {s} clusters | {self.scenario_counts[a][s]} | {self.scenario_counts[b][s]} |")
        lines += [
            "",
            "The p-values here come from their own permutation streams, so for the printed policy they differ from the "
            "table of all tests by Monte Carlo error only.",
            "",
            f"Clusters in regions whose index changes (region threshold {self.region_threshold:.3g}):",
            "",
        ]
        lines += ["| Cluster | Region | Regional index (" + a + ") | (" + b + ") | Scenario (" + a + ") | (" + b + ") |", "|---:|---|---:|---:|---|---|"]
        for r in self.clusters:
            mark = " **changed**" if r["scenario_changed"] else ""
            lines.append(
                f"| {r['cluster']} | {r['region']} | {r[f'region_index_{a}']:.4f} | {r[f'region_index_{b}']:.4f} | "
                f"{r[f'scenario_{a}']} | {r[f'scenario_{b}']}{mark} |"
            )
        if not self.clusters:
            lines.append("| — | no regional index changes | | | | |")
        return "\n".join(lines) + "\n"


def negative_policy_sensitivity(study, spec: IndexSpec | None = None, *, thresholds: ScenarioThresholds | None = None, n_resamples: int = 9999, rng=None) -> NegativePolicySensitivity:
    """Recompute the regional index with the alternative treatment of negative values.

    Both policies are scored with :func:`clustermodel.scenarios.evaluate`
    (the cluster indicators have no negative values, so only the regional
    index moves). For each the correlations, the scenario counts and every
    affected cluster's scenario are reported.

    Parameters
    ----------
    study : Study
    spec : IndexSpec, optional
        Other choices (default: the paper's). Its ``negative`` field is
        overridden by each policy in turn.
    thresholds : ScenarioThresholds, optional
    n_resamples : int
        Permutations for the two p-values per policy.
    rng : numpy Generator, int or None

    Returns
    -------
    NegativePolicySensitivity
    """
    from clustermodel.scenarios import evaluate

    spec = study.spec if spec is None else spec
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=99)
    cluster_regions, region_names = _study_regions(study)
    region_values_of_clusters(cluster_regions, region_names, np.zeros(region_names.size))
    policies = ("keep", "zero")
    rngs = as_rng(rng).spawn(len(policies))
    evs, corr, counts = {}, {}, {}
    for p, r in zip(policies, rngs):
        ev = evaluate(study, spec.replace(negative=p), thresholds=thresholds)
        evs[p] = ev
        x, y = ev.cluster_index.values, ev.region_index_of_cluster.values
        r1, r2 = r.spawn(2)
        region = region_level_tests(x, y, cluster_regions, methods=("pearson",), n_resamples=n_resamples, confidence_level=0.95, rng=r1)[0]
        block_stat = CORRELATIONS["pearson"]
        _, _, codes, _, values = _check_relationship(x, y, cluster_regions)
        _, block_p, _ = _permutation((values,), _on_last(lambda rv: block_stat(x, rv[..., codes])), n_resamples=n_resamples, rng=r2)
        corr[p] = {
            **{m: float(CORRELATIONS[m](x, y)) for m in CORRELATIONS},
            "region_pearson": region.statistic,
            "region_pearson_p": region.pvalue,
            "block_pearson_p": block_p,
        }
        counts[p] = {s: int(v) for s, v in zip(SCENARIOS, ev.scenario_counts.values)}
    a, b = policies
    ra, rb = evs[a].region_index_of_cluster.values, evs[b].region_index_of_cluster.values
    sa, sb = evs[a].scenario_labels(), evs[b].scenario_labels()
    rows = []
    for i, c in enumerate(study.clusters["cluster"].values):
        if np.isclose(ra[i], rb[i]):
            continue
        rows.append(
            {
                "cluster": c.item() if hasattr(c, "item") else c,
                "region": str(cluster_regions[i]),
                f"region_index_{a}": float(ra[i]),
                f"region_index_{b}": float(rb[i]),
                f"scenario_{a}": str(sa[i]),
                f"scenario_{b}": str(sb[i]),
                "scenario_changed": bool(sa[i] != sb[i]),
            }
        )
    return NegativePolicySensitivity(
        policies=policies,
        region_index={p: evs[p].region_index.values for p in policies},
        region_names=region_names,
        correlations=corr,
        scenario_counts=counts,
        clusters=rows,
        region_threshold=float(evs[a].region_threshold),
    )


_WHY_PRIMARY = (
    "The regional index takes only one value per region, and several clusters share each of the multi-cluster "
    "regions, so the clusters are not independent observations of it. The primary analysis is therefore the "
    "Pearson correlation of the regional index with the mean cluster index of each region (one independent pair "
    "per region), with a permutation p-value (regional values permuted among regions; no normality assumed) and a "
    "BCa interval from resampling regions. It was chosen before any result was computed; Pearson because the paper's "
    "claim is a linear reading of a scatter plot. The region-block permutation and the OLS with region-clustered "
    "standard errors keep the cluster-level statistic but resample or cluster by region (the clustered standard error is a sandwich estimate that tends to be too small with as few as 19 regions and one high-leverage region, Moscow, so its p-value is not preferred); Spearman and Kendall show "
    "whether one extreme region (Moscow) drives the result; the cluster-level tests that treat the 25 clusters as "
    "independent are shown only for comparison and are too optimistic."
)


@dataclass(frozen=True)
class RelationshipResult:
    """Every test of the cluster–region relationship and of the industry effect.

    Attributes
    ----------
    tests : tuple of TestResult
        All tests, with ``source``, ``family`` and Holm-adjusted ``p_adjusted``.
    sources : dict name -> dict
        The values analysed per source: ``cluster_index``, ``region_index_of_cluster``,
        ``region_mean_cluster_index``, thresholds, scenario labels.
    ols : dict source -> ClusteredOLSResult
    scenario_tables : dict source -> dict unit -> ScenarioTable
    sensitivity : NegativePolicySensitivity or None
        Only for computed values (the published regional index has one policy).
    power : dict n -> smallest detectable r (80 % power, alpha 0.05, two-sided)
    clusters, cluster_names, cluster_regions, groups, region_names : arrays (labels)
    spec, thresholds : the choices used
    n_resamples, confidence_level : resampling options
    seed : int or None
        The seed, when ``rng`` was an integer.
    primary : str
        Name of the primary test, :data:`PRIMARY_TEST`.
    notes : tuple of str
    """

    tests: tuple
    sources: dict
    ols: dict
    scenario_tables: dict
    sensitivity: NegativePolicySensitivity | None
    power: dict
    clusters: np.ndarray
    cluster_names: np.ndarray
    cluster_regions: np.ndarray
    groups: np.ndarray
    region_names: np.ndarray
    spec: IndexSpec
    thresholds: ScenarioThresholds
    n_resamples: int
    confidence_level: float
    seed: int | None
    primary: str = PRIMARY_TEST
    notes: tuple = field(default_factory=tuple)

    def get(self, test: str, source: str | None = None) -> TestResult:
        """The test named ``test`` (for ``source``, default: the first source analysed)."""
        source = source or next(iter(self.sources))
        for t in self.tests:
            if t.test == test and t.source == source:
                return t
        raise ClusterModelError(
            f"no test {test!r} for source {source!r}; available: {sorted({t.test for t in self.tests})}"
        )

    def to_records(self) -> list[dict]:
        """One dict per test: test, statistic, pvalue, ci_low, ci_high, n, unit, method, source, p_adjusted, …"""
        return [t.to_dict() for t in self.tests]

    def to_dict(self) -> dict:
        return {
            "primary": self.primary,
            "why_primary": _WHY_PRIMARY,
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "n_resamples": self.n_resamples,
            "confidence_level": self.confidence_level,
            "seed": self.seed,
            "records": self.to_records(),
            "scenario_tables": {s: {u: t.to_dict() for u, t in d.items()} for s, d in self.scenario_tables.items()},
            "power_min_correlation": {str(k): v for k, v in self.power.items()},
            "negative_policy_sensitivity": None if self.sensitivity is None else self.sensitivity.to_dict(),
            "notes": list(self.notes),
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame(self.to_records())

    def to_dataset(self) -> xr.Dataset:
        """Tests along ``test_row`` (NaN = not applicable), values along ``source`` x ``cluster``."""
        from clustermodel import __version__

        recs = self.to_records()
        nan = lambda v: np.nan if v is None else float(v)  # noqa: E731
        srcs = list(self.sources)
        ds = xr.Dataset(
            {
                "statistic": ("test_row", [nan(r["statistic"]) for r in recs]),
                "pvalue": ("test_row", [nan(r["pvalue"]) for r in recs]),
                "p_adjusted": ("test_row", [nan(r["p_adjusted"]) for r in recs]),
                "pvalue_parametric": ("test_row", [nan(r["pvalue_parametric"]) for r in recs]),
                "ci_low": ("test_row", [nan(r["ci_low"]) for r in recs]),
                "ci_high": ("test_row", [nan(r["ci_high"]) for r in recs]),
                "n": ("test_row", [r["n"] for r in recs]),
                "primary": ("test_row", np.array([r["primary"] for r in recs], dtype=np.int8)),
                "cluster_index": (("source", "cluster"), np.stack([self.sources[s]["cluster_index"] for s in srcs])),
                "region_index_of_cluster": (("source", "cluster"), np.stack([self.sources[s]["region_index_of_cluster"] for s in srcs])),
                "cluster_scenario": (("source", "cluster"), np.stack([np.asarray(self.sources[s]["scenario"], dtype=str) for s in srcs])),
                "power_min_correlation": ("n_pairs", [self.power[k] for k in self.power]),
            },
            coords={
                "test": ("test_row", [r["test"] for r in recs]),
                "test_source": ("test_row", [r["source"] or "" for r in recs]),
                "unit": ("test_row", [r["unit"] for r in recs]),
                "family": ("test_row", [r["family"] or "" for r in recs]),
                "method": ("test_row", [r["method"] for r in recs]),
                "source": srcs,
                "cluster": self.clusters,
                "name": ("cluster", self.cluster_names.astype(str)),
                "cluster_region": ("cluster", self.cluster_regions.astype(str)),
                "group": ("cluster", self.groups.astype(str)),
                "n_pairs": list(self.power),
            },
        )
        if self.sensitivity is not None:
            sens = self.sensitivity
            ds["region_index_by_negative_policy"] = (
                ("negative_policy", "region"),
                np.stack([sens.region_index[p] for p in sens.policies]),
            )
            ds = ds.assign_coords(negative_policy=list(sens.policies), region=sens.region_names.astype(str))
            ds["scenario_counts_by_negative_policy"] = (
                ("negative_policy", "scenario"),
                np.array([[sens.scenario_counts[p][s] for s in SCENARIOS] for p in sens.policies]),
            )
            ds = ds.assign_coords(scenario=list(SCENARIOS))
        ds["p_adjusted"].attrs["description"] = "Holm-adjusted within `family` (statsmodels multipletests)"
        ds.attrs.update(self.spec.to_attrs())
        ds.attrs.update({f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()})
        ds.attrs.update(
            {
                "seed": "none" if self.seed is None else int(self.seed),
                "n_resamples": int(self.n_resamples),
                "confidence_level": float(self.confidence_level),
                "primary_test": self.primary,
                "why_primary": _WHY_PRIMARY,
                "clustermodel_version": __version__,
            }
        )
        return ds

    def summary(self) -> str:
        """Markdown: the primary analysis and why, the table of tests, the scenario tables, power, sensitivity."""
        fmt = lambda v, d=3: "—" if v is None else (f"{v:.{d}g}" if abs(v) < 1e-3 and v != 0 else f"{v:.{d}f}")  # noqa: E731
        lines = ["## Cluster–region relationship and industry effect", ""]
        lines += [
            f"Spec: `{self.spec.to_dict()}`; thresholds: fractions {self.thresholds.cluster:g} (cluster) and "
            f"{self.thresholds.region:g} (region) of the attainable maximum; {self.n_resamples} resamples, "
            f"{self.confidence_level:.0%} intervals, seed {self.seed}.",
            "",
            f"**Primary analysis: `{self.primary}`.** {_WHY_PRIMARY}",
            "",
        ]
        for s in self.sources:
            p = self.get(self.primary, s)
            lines.append(
                f"- {s} values: r = {p.statistic:.3f} over {p.n} regions, permutation p = {fmt(p.pvalue, 4)}, "
                f"{self.confidence_level:.0%} CI [{fmt(p.ci_low)}, {fmt(p.ci_high)}]."
            )
        lines += [
            "",
            "### All tests",
            "",
            "`p_adj` is Holm-adjusted within the family (relationship or industry) of one source; `p_param` is the "
            "textbook parametric p-value of the same statistic, for reference. `n` counts the units named in `unit`.",
            "",
            "| Source | Test | Statistic | p | p_adj | p_param | CI low | CI high | n | unit |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for t in self.tests:
            name = f"**{t.test}**" if t.primary else t.test
            lines.append(
                f"| {t.source or ''} | {name} | {fmt(t.statistic)} | {fmt(t.pvalue, 4)} | {fmt(t.p_adjusted, 4)} | "
                f"{fmt(t.pvalue_parametric, 4)} | {fmt(t.ci_low)} | {fmt(t.ci_high)} | {t.n} | {t.unit} |"
            )
        lines += ["", "### Methods", ""]
        seen = set()
        for t in self.tests:
            if t.test in seen:
                continue
            seen.add(t.test)
            lines.append(f"- `{t.test}`: {t.method}" + (f" ({t.note})" if t.note else ""))
        lines += ["", "### Scenario tables (Fisher's exact test)", ""]
        for s, d in self.scenario_tables.items():
            for u, tab in d.items():
                c = tab.counts
                lines.append(
                    f"- {s}, {u} level (n = {tab.n}): supported {c['supported']}, lonely {c['lonely']}, potential "
                    f"{c['potential']}, late {c['late']}; odds ratio {tab.odds_ratio:.3g}, Fisher p = {tab.pvalue:.4f}"
                    + (f" ({tab.note})" if tab.note else "")
                )
        lines += [
            "",
            "At region level a region counts as 'high cluster' when the mean index of its clusters reaches the "
            "cluster threshold.",
            "",
            "### What 'no correlation' can mean here (power)",
            "",
        ]
        for n_, r in self.power.items():
            lines.append(f"- n = {n_}: the smallest correlation detected with 80 % power (two-sided alpha = 0.05) is |r| = {r:.3f}.")
        n_small = min(self.power, default=None)
        if n_small is not None:
            lines.append(
                f"- A non-significant correlation over {n_small} independent units is therefore compatible with "
                f"population correlations up to about {self.power[n_small]:.2f} in absolute value; it is not evidence "
                "of no relationship."
            )
        if self.sensitivity is not None:
            lines += ["", self.sensitivity.summary().rstrip("\n")]
        lines += ["", "### Industry", "", _INDUSTRY_CAVEAT]
        if self.notes:
            lines += ["", "### Notes", ""] + [f"- {t}" for t in self.notes]
        return "\n".join(lines) + "\n"


_INDUSTRY_CAVEAT = (
    "Under within-group normalisation (`reference=group`, the paper's Table 5) every industry group contains the "
    "maximum of every indicator, so each cluster is scored against its own industry's leader: differences in the "
    "*level* of internationalization between industries are removed by construction, and a non-significant "
    "Kruskal-Wallis or ANOVA test then says only that the groups spread similarly below their leaders. It cannot "
    "support the paper's statement that industry does not matter. The `reference=sample` rows (one maximum over all "
    "clusters) are the ones that can show level differences; with groups of only a few clusters each they too can "
    "detect only large effects."
)


def _high_flags(src: _Source, codes, n_groups):
    ch = src.cluster_index >= src.cluster_threshold
    rh = src.region_index_of_cluster >= src.region_threshold
    means = _region_means(src.cluster_index, codes, n_groups)
    region_vals = np.zeros(n_groups)
    region_vals[codes] = src.region_index_of_cluster
    return ch, rh, means >= src.cluster_threshold, region_vals >= src.region_threshold


def relationship_analysis(
    study,
    spec: IndexSpec | None = None,
    *,
    source: str = "both",
    thresholds: ScenarioThresholds | None = None,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    rng=None,
) -> RelationshipResult:
    """Every test of the cluster–region relationship and of the industry effect.

    For each value source: the three correlations at cluster level (naive),
    at region level (primary, see :data:`PRIMARY_TEST`) and with region-block
    permutation / cluster bootstrap; the OLS with region-clustered standard
    errors; Fisher's test of the scenario table at cluster and region level;
    Kruskal–Wallis and ANOVA by industry (for computed values under both
    reference sets). Holm-adjusted p-values within each family. For computed
    values also the sensitivity to the treatment of negative trade surpluses.

    Parameters
    ----------
    study : Study
        Needs a region table (and the published indices for
        ``source='published'``).
    spec : IndexSpec, optional
        Spec of the recomputed index (default: the paper's).
    source : {'both', 'computed', 'published'}
    thresholds : ScenarioThresholds, optional
    n_resamples : int
        Permutations and bootstrap resamples for every test (at least 99).
    confidence_level : float
    rng : numpy Generator, int or None
        Independent streams are spawned for every test in a fixed order, so
        the same seed gives the same p-values and intervals.

    Returns
    -------
    RelationshipResult

    Raises
    ------
    ClusterModelError
        For a constant index, fewer than three regions, a cluster whose
        region is not in the region table, or a missing published index.

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> res = relationship_analysis(load_paper(), source="computed", n_resamples=199, rng=1)
    >>> res.get("pearson:region_mean").n
    19
    """
    spec = study.spec if spec is None else spec
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    check_choice(source, "source", ("both", *SOURCES))
    n_resamples, confidence_level = _check_resampling(n_resamples, confidence_level)
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    rng = as_rng(rng)
    names = list(SOURCES) if source == "both" else [source]
    data = {s: _source_values(study, s, spec, thresholds) for s in names}
    cluster_regions, _ = _study_regions(study)
    groups = study.clusters["group"].values.astype(str) if study.has_groups else None
    region_names, codes = np.unique(cluster_regions, return_inverse=True)
    tests, sources, ols, tables, notes = [], {}, {}, {}, []
    streams = rng.spawn(len(names) + 1)
    for s, stream in zip(names, streams):
        src = data[s]
        x, y = src.cluster_index, src.region_index_of_cluster
        r = stream.spawn(4)
        rel = []
        rel += region_level_tests(x, y, cluster_regions, n_resamples=n_resamples, confidence_level=confidence_level, rng=r[0])
        rel += region_block_tests(x, y, cluster_regions, n_resamples=n_resamples, confidence_level=confidence_level, rng=r[1])
        ols[s] = clustered_ols(x, y, cluster_regions, confidence_level=confidence_level)
        rel.append(ols[s].to_record())
        rel += cluster_level_tests(x, y, cluster_regions, n_resamples=n_resamples, confidence_level=confidence_level, rng=r[2])
        ch, rh, ch_region, rh_region = _high_flags(src, codes, region_names.size)
        tables[s] = {}
        for unit, c_high, r_high in (("cluster", ch, rh), ("region", ch_region, rh_region)):
            try:
                tables[s][unit] = scenario_table(c_high, r_high, unit=unit, confidence_level=confidence_level)
            except ClusterModelError as exc:  # an empty margin: report it, keep the other tests
                notes.append(f"{s} values, {unit} level: no Fisher test: {exc}")
                continue
            rel.append(tables[s][unit].to_record())
        rel = _adjust(rel, family="relationship", source=s)
        ind = []
        if groups is not None:
            # the published Table 5 was normalised within groups; recomputed values under both reference sets
            refs = ("group", "sample") if s == "computed" else ("group",)
            for ref, g in zip(refs, r[3].spawn(len(refs))):
                vals = x if s == "published" else _computed_values(study, spec.replace(reference=ref))[0]
                rows = industry_tests(vals, groups, reference=ref, n_resamples=n_resamples, rng=g)
                if s == "published":
                    rows = [t.replace(method=t.method.replace("index normalised with reference=group", "published Table 5 values (normalised within industry groups)")) for t in rows]
                ind += rows
            ind = _adjust(ind, family="industry", source=s)
        tests += rel + ind
        sources[s] = {
            "cluster_index": x,
            "region_index_of_cluster": y,
            "region_mean_cluster_index": _region_means(x, codes, region_names.size),
            "cluster_threshold": src.cluster_threshold,
            "region_threshold": src.region_threshold,
            "scenario": np.asarray(SCENARIOS, dtype=object)[
                np.where(ch, np.where(rh, 0, 1), np.where(rh, 3, 2))
            ],
        }
    sizes = sorted({int(cluster_regions.size), int(region_names.size)}, reverse=True)
    power = {n_: power_min_correlation(n_) for n_ in sizes if n_ >= 4}
    if len(power) < len(sizes):
        notes.append("No power calculation for fewer than four independent units (Fisher's z needs n - 3 > 0).")
    for n_, r_ in power.items():
        tests.append(
            TestResult(
                test=f"power:min_r_n{n_}",
                statistic=r_,
                pvalue=None,
                ci_low=None,
                ci_high=None,
                n=n_,
                unit="cluster" if n_ == cluster_regions.size else "region",
                method="smallest |r| detected with 80% power, two-sided alpha = 0.05 (Fisher z approximation)",
            )
        )
    sens = None
    if "computed" in names:
        sens = negative_policy_sensitivity(study, spec, thresholds=thresholds, n_resamples=n_resamples, rng=streams[-1])
    else:
        notes.append("The sensitivity to negative trade surpluses needs recomputed values (source='computed' or 'both').")
    if groups is None:
        notes.append("The study has no industry groups; the industry tests were skipped.")
    unused = sorted(set(study.regions["region"].values.astype(str)) - set(region_names))
    if unused:
        notes.append(f"Regions without a cluster do not enter the analysis: {', '.join(unused)}.")
    return RelationshipResult(
        tests=tuple(tests),
        sources=sources,
        ols=ols,
        scenario_tables=tables,
        sensitivity=sens,
        power=power,
        clusters=study.clusters["cluster"].values,
        cluster_names=study.clusters["name"].values if "name" in study.clusters.coords else study.clusters["cluster"].values.astype(str),
        cluster_regions=cluster_regions,
        groups=groups if groups is not None else np.full(cluster_regions.size, ""),
        region_names=region_names,
        spec=spec,
        thresholds=thresholds,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        seed=seed,
        notes=tuple(notes),
    )


def _adjust(tests, *, family, source):
    p = [t.pvalue for t in tests]
    adj = adjust_pvalues(p, method="holm")
    return [
        t.replace(source=source, family=f"{family}/{source}", p_adjusted=float(a), primary=t.test == PRIMARY_TEST)
        for t, a in zip(tests, adj)
    ]
