"""Stage 6: inference on the relationship between a unit-level index and a higher-level index.

A study scores units (the paper's 25 clusters) that sit inside higher-level
units (its 19 regions); the higher-level index takes one value per
higher-level unit, so the units of one higher-level unit are not independent
observations of it. This module tests whether the two indices are
associated, and whether the unit index differs between groups, with the
higher-level unit as the unit of inference.

Array functions (plain arrays and labels in, result objects out):

- correlations: :func:`region_level_tests` (the primary design: one pair per
  higher-level unit), :func:`region_block_tests`, :func:`cluster_level_tests`;
- regression: :func:`wild_cluster_bootstrap`, :func:`clustered_ols`,
  :func:`random_intercept_model`, :func:`weighted_region_regression`;
- reading the interval: :func:`equivalence_test`, :func:`influence`,
  :func:`rounding_range`, :func:`index_definition_sensitivity`;
- tables and groups: :func:`scenario_table`, :func:`industry_tests`;
- :func:`power_min_correlation`, :func:`adjust_pvalues`,
  :func:`clustered_size_simulation` (calibration of the clustered p-values).

:func:`relationship_analysis` runs them on a :class:`~clustermodel.data.Study`.
Results hold numbers and identifiers only; :mod:`clustermodel.reporting.relationship`
turns them into prose with the study's own nouns.

Memory is bounded: permutation and bootstrap statistics are evaluated in
chunks of resamples sized from :data:`MEMORY_BUDGET`, ranks come from one
sort per resample (never a units x units comparison per resample), and
Kendall's tau for more than :data:`KENDALL_DIRECT_MAX` units uses scipy's
O(n log n) algorithm one resample at a time. Results keep summaries; the
resampling distributions are kept only with ``keep_draws=True``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.optimize
import scipy.stats
import xarray as xr

from clustermodel._display import ResultDisplay, fmt, narrate
from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_choice, check_positive_int, check_probability
from clustermodel.diagnostics import CoverageResult, InfluenceSplit, bootstrap_coverage, bootstrap_split, eta_squared_null_mean, omega_squared, quantile_mc_se
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import ArrayLike, RNGLike
    from clustermodel.data import Study
    from clustermodel.nouns import Nouns

__all__ = [
    "CORRELATIONS",
    "SOURCES",
    "PRIMARY_TEST",
    "PRIMARY_GROUP_TEST",
    "ROLES",
    "MEMORY_BUDGET",
    "KENDALL_DIRECT_MAX",
    "TestResult",
    "WildBootstrapResult",
    "ClusteredOLSResult",
    "ModelResult",
    "EquivalenceResult",
    "InfluenceResult",
    "IndexSensitivityResult",
    "RoundingRangeResult",
    "ScenarioTable",
    "NegativePolicySensitivity",
    "RelationshipResult",
    "weighted_correlation",
    "region_values_of_clusters",
    "cluster_level_tests",
    "region_level_tests",
    "region_block_tests",
    "wild_cluster_bootstrap",
    "clustered_ols",
    "random_intercept_model",
    "weighted_region_regression",
    "equivalence_test",
    "influence",
    "index_definition_sensitivity",
    "rounding_range",
    "infer_decimals",
    "scenario_table",
    "industry_tests",
    "power_min_correlation",
    "adjust_pvalues",
    "clustered_size_simulation",
    "index_values",
    "negative_policy_sensitivity",
    "relationship_analysis",
    "fragility",
    "Fragility",
]

#: Value sources: the published indices as printed, or the index recomputed under a spec.
SOURCES = ("computed", "published")

#: The primary test of the relationship (chosen when the analysis was written,
#: before its first report; not pre-registered): Pearson's r of the mean
#: unit index of each higher-level unit with its higher-level index.
PRIMARY_TEST = "pearson:region_mean"

#: The primary test of a group effect (chosen after the first results had been
#: published; not pre-registered): Kruskal-Wallis on the index
#: normalised over the whole sample (within-group normalisation attenuates level
#: differences between groups by construction).
PRIMARY_GROUP_TEST = "kruskal:reference=sample"

#: Roles of the rows of a :class:`RelationshipResult`. ``primary``: the
#: test a claim is read off (Holm-adjusted within the family of claims);
#: ``equivalence``: the TOST read beside the primary interval; ``sensitivity``:
#: other designs of the same hypothesis (unadjusted, not confirmatory);
#: ``naive``: designs that ignore the shared higher-level value, for comparison
#: only; ``planning``: not a test (smallest detectable effect).
ROLES = ("primary", "equivalence", "sensitivity", "naive", "planning")

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


# --------------------------------------------------------------------------- results
def _num(v):
    """float or None (JSON cannot hold NaN or infinity)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _descriptor(**parts) -> str:
    """A compact ``key=value;…`` description of how a number was obtained (no prose)."""
    return ";".join(f"{k}={v}" for k, v in parts.items() if v is not None)


@dataclass(frozen=True)
class TestResult:
    """One test: statistic, p-value, interval and effect size, with their provenance.

    Attributes
    ----------
    test : str
        ``'<statistic>:<design>'``, e.g. ``'pearson:region_mean'`` (an identifier).
    statistic : float
    pvalue : float or None
        None where the row is not a test (the power rows).
    ci_low, ci_high : float or None
        Confidence interval of the statistic; None where it is undefined or
        unbounded (``note`` says why).
    n : int
        Number of independent units at the level named by ``unit``.
    unit : {'cluster', 'region'}
        Level of inference (an identifier: the unit level or the higher level).
    method : str
        ``key=value;…`` descriptor of the p-value and the interval
        (e.g. ``p=permutation:exact;ci=bca:9999``); the report layer words it.
    source : str or None
        ``'computed'`` or ``'published'`` values.
    family : str or None
        Multiplicity family; ``p_adjusted`` is Holm-adjusted within it. Only the
        primary tests of the study's claims form a family.
    p_adjusted : float or None
    pvalue_parametric : float or None
        A reference p-value of the same statistic (textbook parametric, or CR1
        for the clustered regression).
    primary : bool
        The test a claim is read off (``role == 'primary'``).
    role : str
        One of :data:`ROLES`.
    effect, effect_low, effect_high : float or None
        Effect size and its interval (``effect_name``: ``r2``, ``eta2``, ``eta2_H``, …).
    effect_name : str or None
    effect_adjusted : float or None
        A bias-corrected effect size beside ``effect`` (``effect_adjusted_name``:
        ``omega2`` for ANOVA), unclipped, so it can be negative.
    effect_adjusted_name : str or None
    effect_null : float or None
        The expected value of ``effect`` when there is no effect at all (eta²:
        ``(k - 1)/(n - 1)``); an effect near it is what noise alone gives.
    ci_low_mcse, ci_high_mcse : float or None
        Monte Carlo standard errors of the interval's end points (another seed
        moves them by about this much), from the order statistics of the
        resampling distribution.
    note : str or None
        A diagnostic (e.g. why an interval is undefined).
    draws : ndarray or None
        The permutation null distribution, or the bootstrap distribution, kept
        only with ``keep_draws=True``; never in :meth:`to_dict`.
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
    role: str = "sensitivity"
    effect: float | None = None
    effect_low: float | None = None
    effect_high: float | None = None
    effect_name: str | None = None
    effect_adjusted: float | None = None
    effect_adjusted_name: str | None = None
    effect_null: float | None = None
    ci_low_mcse: float | None = None
    ci_high_mcse: float | None = None
    note: str | None = None
    draws: dict | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "draws"}
        for k in ("statistic", "pvalue", "ci_low", "ci_high", "p_adjusted", "pvalue_parametric", "effect", "effect_low", "effect_high", "effect_adjusted", "effect_null", "ci_low_mcse", "ci_high_mcse"):
            d[k] = _num(d[k])
        d["n"] = int(d["n"])
        return d

    def replace(self, **changes) -> "TestResult":
        return dataclasses.replace(self, **changes)


def _r2_interval(r, low, high):
    """r squared and the image of r's interval under squaring."""
    if r is None or not math.isfinite(r):
        return None, None, None
    if low is None or high is None:
        return r * r, None, None
    lo2, hi2 = low * low, high * high
    if low <= 0 <= high:
        return r * r, 0.0, max(lo2, hi2)
    return r * r, min(lo2, hi2), max(lo2, hi2)


@dataclass(frozen=True)
class WildBootstrapResult:
    """Restricted wild cluster bootstrap test of one OLS slope (WCR-C, CR1 t statistic).

    Attributes
    ----------
    estimate : float
        OLS slope.
    se_cr1 : float
        CR1 cluster-robust standard error,
        ``G/(G-1) (N-1)/(N-K)`` times the sandwich.
    statistic : float
        ``(estimate - null) / se_cr1``.
    pvalue : float
        Symmetric bootstrap p-value: the share of bootstrap t statistics with
        ``|t*| >= |t|``.
    ci_low, ci_high : float or None
        Interval by test inversion (every null value not rejected at
        ``1 - confidence_level``, the same weights for every null); infinite
        where not bounded within 20 CR1 standard errors, None when not
        computed (``interval=False``).
    pvalue_cr1, ci_low_cr1, ci_high_cr1 : float
        The CR1 t test and interval with ``G - 1`` degrees of freedom.
    weights : {'rademacher', 'webb'}
    enumerated : bool
        True when every Rademacher sign vector was used (2^(G-1) of them, each
        with its mirror image, which gives the same |t*|): the p-value is exact
        given the design.
    n_resamples : int
        Bootstrap samples used.
    n_obs, n_groups : int
    null : float
    confidence_level : float
    draws : ndarray or None
        The bootstrap t statistics at ``null`` (only with ``keep_draws=True``).
    """

    estimate: float
    se_cr1: float
    statistic: float
    pvalue: float
    ci_low: float | None
    ci_high: float | None
    pvalue_cr1: float
    ci_low_cr1: float
    ci_high_cr1: float
    weights: str
    enumerated: bool
    n_resamples: int
    n_obs: int
    n_groups: int
    null: float
    confidence_level: float
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "draws"}
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = _num(v)
        return d


@dataclass(frozen=True)
class ClusteredOLSResult:
    """OLS of the standardised unit index on the standardised higher-level index, clustered by higher-level unit.

    Both variables are z-scores (mean 0, sample standard deviation 1 over the
    units), so ``slope`` equals the unit-level Pearson r. The p-value and
    interval come from the restricted wild cluster bootstrap
    (:func:`wild_cluster_bootstrap`); the CR1 t test with ``G - 1`` degrees of
    freedom is kept as ``pvalue_cr1`` (it over-rejects with few clusters and
    one high-leverage cluster: see :func:`clustered_size_simulation`).

    Attributes
    ----------
    slope, intercept : float
    se, tvalue, df : float
        CR1 standard error (statsmodels), its t value, and ``G - 1``.
    pvalue, ci_low, ci_high : float
        Wild cluster bootstrap p-value and test-inversion interval (infinite
        where unbounded).
    pvalue_cr1, ci_low_cr1, ci_high_cr1 : float
    wild : WildBootstrapResult
    n_obs, n_groups : int
    x_mean, x_sd, y_mean, y_sd : float
        Means and standard deviations of the higher-level (x) and unit (y)
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
    pvalue_cr1: float
    ci_low_cr1: float
    ci_high_cr1: float
    wild: WildBootstrapResult
    n_obs: int
    n_groups: int
    x_mean: float
    x_sd: float
    y_mean: float
    y_sd: float
    confidence_level: float

    def fitted(self, x) -> np.ndarray:
        """Fitted unit index on the original scale at higher-level index ``x``."""
        z = (np.asarray(x, dtype=float) - self.x_mean) / self.x_sd
        return self.y_mean + self.y_sd * (self.intercept + self.slope * z)

    def to_record(self) -> TestResult:
        e, lo, hi = _r2_interval(self.slope, self.ci_low, self.ci_high)
        w = self.wild
        return TestResult(
            test="ols:wild_cluster",
            statistic=self.slope,
            pvalue=self.pvalue,
            ci_low=self.ci_low,
            ci_high=self.ci_high,
            n=self.n_groups,
            unit="region",
            method=_descriptor(
                model=f"ols_zscores:{self.n_obs}",
                p=f"wild_cluster_restricted:{w.weights}:{'enumerated' if w.enumerated else 'random'}:{w.n_resamples}",
                ci="test_inversion",
                reference=f"cr1_t:df={self.n_groups - 1}",
            ),
            pvalue_parametric=self.pvalue_cr1,
            effect=e,
            effect_low=lo,
            effect_high=hi,
            effect_name="r2",
            note=None if math.isfinite(self.ci_low) and math.isfinite(self.ci_high) else "wild bootstrap interval unbounded within 20 CR1 standard errors",
        )


@dataclass(frozen=True)
class ModelResult:
    """A regression of the standardised unit index on the standardised higher-level index.

    ``kind`` is ``'random_intercept'`` (linear mixed model, REML, a random
    intercept per higher-level unit; Wald z inference) or
    ``'weighted_region_mean'`` (weighted least squares of the mean unit index
    of each higher-level unit on its index, weights = number of units; t
    inference with ``G - 2`` df). Slopes are in the same standardised units as
    :class:`ClusteredOLSResult`.

    Attributes
    ----------
    kind : str
    slope, se, pvalue : float
    ci_low, ci_high : float
    df : float or None
        None for z inference.
    n_obs, n_groups : int
    group_variance, residual_variance : float or None
        Variance components of the mixed model (None for WLS).
    converged : bool
    boundary : bool
        The group variance estimate is (numerically) zero.
    warnings : tuple of str
        Messages of the fitting library.
    confidence_level : float
    """

    kind: str
    slope: float
    se: float
    pvalue: float
    ci_low: float
    ci_high: float
    df: float | None
    n_obs: int
    n_groups: int
    group_variance: float | None
    residual_variance: float | None
    converged: bool
    boundary: bool
    warnings: tuple
    confidence_level: float

    def to_record(self) -> TestResult:
        test = "mixedlm:random_intercept" if self.kind == "random_intercept" else "wls:region_mean_weighted"
        method = (
            _descriptor(model="mixedlm:reml:random_intercept", p="wald_z", ci="wald_z")
            if self.kind == "random_intercept"
            else _descriptor(model="wls:weights=n_units", p=f"t:df={self.n_groups - 2}", ci="t")
        )
        return TestResult(
            test=test,
            statistic=self.slope,
            pvalue=self.pvalue,
            ci_low=self.ci_low,
            ci_high=self.ci_high,
            n=self.n_groups,
            unit="region",
            method=method,
            note=("; ".join(self.warnings) or None),
        )

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["warnings"] = list(self.warnings)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = _num(v)
        return d


@dataclass(frozen=True)
class EquivalenceResult:
    """Two one-sided tests (TOST) of ``|rho| < bound`` on Fisher's z.

    ``atanh(r)`` is approximately normal with standard error ``1/sqrt(n - 3)``.
    The two null hypotheses ``rho <= -bound`` and ``rho >= bound`` are each
    tested at level ``alpha``; equivalence is declared when both are rejected,
    i.e. when the ``1 - 2 alpha`` Fisher-z interval lies inside
    ``(-bound, bound)``.

    Attributes
    ----------
    r : float
    n : int
    bound : float
    alpha : float
    pvalue : float
        ``max(p_lower, p_upper)``.
    p_lower, p_upper : float
        p-values of the tests against ``rho <= -bound`` and ``rho >= bound``.
    ci_low, ci_high : float
        The ``1 - 2 alpha`` Fisher-z interval.
    equivalent : bool
    min_bound : float
        The smallest bound the data would declare equivalent at ``alpha``:
        ``tanh(|z| + z_{1-alpha} / sqrt(n - 3))``.
    attainable_bound : float
        The smallest bound *any* sample of ``n`` pairs could declare
        equivalent (at r = 0): ``tanh(z_{1-alpha} / sqrt(n - 3))``. A bound
        below it cannot be established with this many pairs.
    """

    r: float
    n: int
    bound: float
    alpha: float
    pvalue: float
    p_lower: float
    p_upper: float
    ci_low: float
    ci_high: float
    equivalent: bool
    min_bound: float
    attainable_bound: float

    def to_record(self, test: str = "tost:region_mean", unit: str = "region") -> TestResult:
        return TestResult(
            test=test,
            statistic=self.r,
            pvalue=self.pvalue,
            ci_low=self.ci_low,
            ci_high=self.ci_high,
            n=self.n,
            unit=unit,
            method=_descriptor(p=f"tost_fisher_z:bound={self.bound:g}", ci=f"fisher_z:{1 - 2 * self.alpha:.0%}"),
            role="equivalence",
        )

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = _num(v)
        d["equivalent"] = bool(self.equivalent)
        return d


@dataclass(frozen=True)
class InfluenceResult:
    """Influence of each higher-level unit on the relationship.

    Two views: the primary design (one pair per higher-level unit: the mean
    unit index against the higher-level index) and the unit-level design
    (every unit, the higher-level unit's units removed together).

    Attributes
    ----------
    names : ndarray (G,)
        Higher-level units (sorted labels).
    n_units : ndarray (G,) of int
        Units in each.
    r : float
        Primary r (all higher-level units).
    r_without : ndarray (G,)
        Primary r without each higher-level unit.
    dfbeta, dfbetas, cooks_distance : ndarray (G,)
        Of the slope of the standardised region-level regression (slope = r),
        from statsmodels ``OLSInfluence``.
    leverage : ndarray (G,)
        Hat values of that regression (mean 2/G; above 4/G is high).
    r_units : float
        Unit-level r.
    r_units_without : ndarray (G,)
        Unit-level r without each higher-level unit's units.
    dfbeta_units, cooks_distance_units : ndarray (G,)
        Group-deletion DFBETA of the slope and Cook's distance of the
        unit-level OLS on z-scores (all of a higher-level unit's units deleted).
    most_influential : str
        The higher-level unit whose removal moves the primary r most.
    r_without_most : float
    ci_without_most : tuple (low, high)
        95 % Fisher-z interval of ``r_without_most`` (G - 1 pairs).
    """

    names: np.ndarray
    n_units: np.ndarray
    r: float
    r_without: np.ndarray
    dfbeta: np.ndarray
    dfbetas: np.ndarray
    cooks_distance: np.ndarray
    leverage: np.ndarray
    r_units: float
    r_units_without: np.ndarray
    dfbeta_units: np.ndarray
    cooks_distance_units: np.ndarray
    most_influential: str
    r_without_most: float
    ci_without_most: tuple

    @property
    def most_influential_index(self) -> int:
        return int(np.flatnonzero(self.names == self.most_influential)[0])

    @property
    def r_range(self) -> tuple:
        """(min, max) of the primary r over leave-one-higher-level-unit-out samples."""
        return float(np.nanmin(self.r_without)), float(np.nanmax(self.r_without))

    @property
    def r_units_range(self) -> tuple:
        return float(np.nanmin(self.r_units_without)), float(np.nanmax(self.r_units_without))

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame(
            {
                "n_units": self.n_units,
                "r_without": self.r_without,
                "dfbeta": self.dfbeta,
                "dfbetas": self.dfbetas,
                "cooks_distance": self.cooks_distance,
                "leverage": self.leverage,
                "r_units_without": self.r_units_without,
                "dfbeta_units": self.dfbeta_units,
                "cooks_distance_units": self.cooks_distance_units,
            },
            index=pd.Index(self.names.astype(str), name="higher"),
        )

    def to_dict(self) -> dict:
        return {
            "r": _num(self.r),
            "r_units": _num(self.r_units),
            "r_range": [_num(v) for v in self.r_range],
            "r_units_range": [_num(v) for v in self.r_units_range],
            "most_influential": self.most_influential,
            "r_without_most": _num(self.r_without_most),
            "ci_without_most": [_num(v) for v in self.ci_without_most],
            "rows": [
                {"higher": str(k), **{c: (_num(v) if c != "n_units" else int(v)) for c, v in row.items()}}
                for k, row in self.to_dataframe().to_dict(orient="index").items()
            ],
        }


@dataclass(frozen=True)
class IndexSensitivityResult:
    """r under alternative definitions of the index.

    Attributes
    ----------
    labels : tuple of str
    r_region_mean : ndarray (k,)
        Primary r (mean unit index per higher-level unit vs the higher-level index).
    r_cluster : ndarray (k,)
        Unit-level r.
    """

    labels: tuple
    r_region_mean: np.ndarray
    r_cluster: np.ndarray

    @property
    def r_range(self) -> tuple:
        return float(np.nanmin(self.r_region_mean)), float(np.nanmax(self.r_region_mean))

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame({"r_region_mean": self.r_region_mean, "r_cluster": self.r_cluster}, index=pd.Index(list(self.labels), name="definition"))

    def to_dict(self) -> dict:
        return {
            "r_range": [_num(v) for v in self.r_range],
            "rows": [
                {"definition": lab, "r_region_mean": _num(a), "r_cluster": _num(b)}
                for lab, a, b in zip(self.labels, self.r_region_mean, self.r_cluster)
            ],
        }


@dataclass(frozen=True)
class RoundingRangeResult:
    """Range of r over every pair of index vectors consistent with the published rounding.

    A value printed with ``d`` decimals lies in ``[v - h, v + h]`` with
    ``h = 0.5 * 10**-d``. The extremes of r over this box are found by
    bounded optimisation (L-BFGS-B with the analytic gradient of Pearson's r,
    started from the printed values, from the box vertex that the linearised
    r favours, and from ``n_starts`` random points of the box; the best value
    is kept). ``low_linear``/``high_linear`` are the first-order bounds
    ``r -/+ sum_i |dr/dv_i| h_i`` for comparison.

    Attributes
    ----------
    decimals_unit, decimals_higher : int
    half_width_unit, half_width_higher : float
    statistics : dict name -> dict
        For ``'pearson:region_mean'`` and ``'pearson:cluster'``: ``rounded``
        (r at the printed values), ``low``, ``high``, ``low_linear``,
        ``high_linear``.
    n_starts : int
    """

    decimals_unit: int
    decimals_higher: int
    half_width_unit: float
    half_width_higher: float
    statistics: dict
    n_starts: int

    def to_dict(self) -> dict:
        return {
            "decimals_unit": self.decimals_unit,
            "decimals_higher": self.decimals_higher,
            "half_width_unit": self.half_width_unit,
            "half_width_higher": self.half_width_higher,
            "n_starts": self.n_starts,
            "method": "L-BFGS-B, analytic gradient, multistart (printed values, linearised vertex, random points)",
            "statistics": {k: {kk: _num(vv) for kk, vv in v.items()} for k, v in self.statistics.items()},
        }


@dataclass(frozen=True)
class ScenarioTable:
    """The 2 x 2 table of high/low unit x high/low higher-level unit with Fisher's exact test.

    Attributes
    ----------
    table : ndarray (2, 2) of int
        Rows: unit high, unit low; columns: higher-level unit high, low.
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
            method=_descriptor(
                p="fisher_exact:two-sided",
                statistic="odds_ratio:haldane_anscombe" if corrected else "odds_ratio:sample",
                ci=f"exact_conditional:{self.confidence_level:.0%}",
            ),
            note=self.note,
        )

    def to_dict(self) -> dict:
        return {
            "unit": self.unit,
            "n": int(self.n),
            "table": {"rows": ["unit high", "unit low"], "columns": ["higher high", "higher low"], "counts": self.table.tolist()},
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
        out.append(_num(quantile_mc_se(d, prob)))
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


# --------------------------------------------------------------------------- wild cluster bootstrap
_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


@dataclass(frozen=True)
class _WildParts:
    """Everything the bootstrap t statistics need, linear in the null value b0.

    With restricted residuals u(b0) = u1 - b0 u2, a weight vector v gives
    numerator n1.v - b0 n2.v and CR1 variance ssc * |H1 v - b0 H2 v|^2.
    """

    estimate: float
    se: float
    ssc: float
    c1: np.ndarray
    c2: np.ndarray
    H1: np.ndarray
    H2: np.ndarray


def _wild_parts(y, x, codes, n_groups) -> _WildParts:
    n = y.size
    X = np.column_stack([np.ones(n), x])
    XtX_inv = np.linalg.inv(X.T @ X)
    w = (XtX_inv @ X.T)[1]  # the slope is w . y

    def gsum(a):
        return np.bincount(codes, weights=a, minlength=n_groups)

    beta = XtX_inv @ (X.T @ y)
    e = y - X @ beta
    ssc = n_groups / (n_groups - 1) * (n - 1) / (n - 2)
    se = math.sqrt(ssc * float(np.sum(gsum(w * e) ** 2)))
    u1, u2 = y - y.mean(), x - x.mean()
    W = np.column_stack([gsum(w * X[:, j]) for j in range(2)])  # (G, 2): sum over a cluster of w_i X_i
    P = W @ XtX_inv
    parts = []
    for u in (u1, u2):
        c = gsum(w * u)
        S = np.column_stack([gsum(X[:, j] * u) for j in range(2)])  # cluster scores X_g' u_g
        parts.append((c, np.diag(c) - P @ S.T))
    (c1, H1), (c2, H2) = parts
    return _WildParts(float(beta[1]), se, ssc, c1, c2, H1, H2)


def _wild_weight_chunks(n_groups, *, kind, n_resamples, rng, chunk):
    """Yield (G, b) weight matrices. Enumeration: every sign vector with v_0 = +1."""
    if kind == "enumerate":
        total = 2 ** (n_groups - 1)
        shifts = np.arange(n_groups - 1, dtype=np.int64)
        for s in range(0, total, chunk):
            k = np.arange(s, min(total, s + chunk), dtype=np.int64)
            bits = (k[None, :] >> shifts[:, None]) & 1
            yield np.vstack([np.ones((1, k.size)), 1.0 - 2.0 * bits])
        return
    for s in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - s)
        if kind == "webb":
            yield _WEBB[rng.integers(0, 6, size=(n_groups, b))]
        else:
            yield 1.0 - 2.0 * rng.integers(0, 2, size=(n_groups, b))


def _wild_moments(parts: _WildParts, V):
    """Per bootstrap sample: n1, n2, |H1 v|^2, (H1 v).(H2 v), |H2 v|^2."""
    Q1, Q2 = parts.H1 @ V, parts.H2 @ V
    return np.stack([parts.c1 @ V, parts.c2 @ V, (Q1 * Q1).sum(0), (Q1 * Q2).sum(0), (Q2 * Q2).sum(0)])


def _wild_t(moments, b0, ssc):
    n1, n2, a, b, c = moments
    b0 = np.asarray(b0, dtype=float)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (n1 - b0 * n2) / np.sqrt(ssc * np.maximum(a - 2 * b0 * b + b0 * b0 * c, 0.0))


def _wild_p(moments, parts, b0):
    """Symmetric p-value at each null value in ``b0``."""
    t_obs = (parts.estimate - np.asarray(b0, dtype=float)) / parts.se
    t_star = _wild_t(moments, b0, parts.ssc)
    tol = 1e-10 * np.maximum(1.0, np.abs(t_obs))
    return np.mean(np.abs(t_star) >= (np.abs(t_obs) - tol)[..., None], axis=-1)


def _wild_ci(moments, parts, alpha):
    """Test-inversion interval: from the estimate outwards to the first rejected null, then bisection."""
    out = []
    for sign in (-1.0, 1.0):
        steps = parts.estimate + sign * parts.se * 0.25 * np.arange(1, 81)
        p = _wild_p(moments, parts, steps)
        rejected = np.flatnonzero(p < alpha)
        if rejected.size == 0:
            out.append(None)
            continue
        j = rejected[0]
        inside = parts.estimate if j == 0 else steps[j - 1]
        outside = steps[j]
        for _ in range(60):
            mid = 0.5 * (inside + outside)
            if _wild_p(moments, parts, mid) < alpha:
                outside = mid
            else:
                inside = mid
            if abs(outside - inside) <= 1e-10 * max(1.0, parts.se):
                break
        out.append(float(inside))
    return out[0], out[1]


def wild_cluster_bootstrap(y, x, groups, *, null: float = 0.0, n_resamples: int = 9999, weights: str = "auto", confidence_level: float = 0.95, interval: bool = True, rng=None, keep_draws: bool = False) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap (WCR) test of the slope of ``y`` on ``x``, clustered by ``groups``.

    The null ``slope = null`` is imposed: the bootstrap samples are
    ``y* = a~ + null x + u~ * v_g``, with the restricted residuals ``u~`` of
    every unit in cluster g multiplied by the same weight ``v_g``. Each sample's
    CR1 t statistic is compared with the observed one (symmetric p-value).

    Parameters
    ----------
    y, x : array_like (n,)
        Response and regressor (a model with intercept and one slope).
    groups : array_like (n,)
        Cluster labels (at least three clusters).
    null : float
        Slope under the null hypothesis.
    n_resamples : int
        Bootstrap samples (at least 99) when the weights are drawn.
    weights : {'auto', 'rademacher', 'webb'}
        ``'auto'``: Rademacher signs enumerated exactly when ``2**G <=
        n_resamples`` (the 2^(G-1) distinct |t*|), Webb's six-point weights
        drawn otherwise. ``'rademacher'`` enumerates when ``2**G <=
        n_resamples`` and draws otherwise; ``'webb'`` always draws.
    confidence_level : float
        Of the test-inversion interval.
    interval : bool
        Compute the test-inversion interval (``False`` leaves it None, e.g.
        in a size simulation).
    rng : numpy Generator, int or None
    keep_draws : bool
        Keep the bootstrap t statistics at ``null``.

    Returns
    -------
    WildBootstrapResult

    Notes
    -----
    Computed as in Roodman et al. (2019): the bootstrap numerator and every
    cluster's CR1 score are linear in the weights and in the null value, so
    one (G, G) matrix per term gives all t statistics, in chunks of weight
    vectors (memory O(G x chunk), never O(units x resamples)). The interval
    collects the null values not rejected at ``1 - confidence_level``: a
    search outwards from the estimate in quarter CR1 standard errors, then
    bisection. Cross-checked in the tests against ``wildboottest`` (same
    weights) and against explicit refits with statsmodels.

    References
    ----------
    Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based
    improvements for inference with clustered errors. Review of Economics and
    Statistics 90(3), 414-427. https://doi.org/10.1162/rest.90.3.414
    MacKinnon, J. G., & Webb, M. D. (2017). Wild bootstrap inference for
    wildly different cluster sizes. Journal of Applied Econometrics 32(2),
    233-254. https://doi.org/10.1002/jae.2508
    Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered
    errors. Canadian Journal of Economics 56(3), 839-858. https://doi.org/10.1111/caje.12661
    Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and
    wild: bootstrap inference in Stata using boottest. Stata Journal 19(1), 4-60.
    https://doi.org/10.1177/1536867X19830877

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(8), 3); x = np.repeat(rng.normal(size=8), 3)
    >>> res = wild_cluster_bootstrap(rng.normal(size=24), x, g, n_resamples=999, rng=1)
    >>> res.enumerated, res.n_resamples
    (True, 128)
    """
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=99)
    confidence_level = check_probability(confidence_level, "confidence_level")
    check_choice(weights, "weights", ("auto", "rademacher", "webb"))
    yv = _as_1d(y, "y")
    xv = _as_1d(x, "x")
    labels = np.asarray(groups, dtype=object)
    if not (yv.size == xv.size == labels.size) or labels.ndim != 1:
        raise ClusterModelError(f"`y`, `x` and `groups` must have one entry per observation; got lengths {yv.size}, {xv.size} and {labels.size}")
    names, codes = np.unique(labels.astype(str), return_inverse=True)
    G = names.size
    if G < 3:
        raise ClusterModelError(f"`groups` holds {G} cluster(s); the wild cluster bootstrap needs at least three")
    _check_varies(xv, "x", "observation")
    try:
        null = float(null)
    except (TypeError, ValueError):
        raise ClusterModelError(f"`null` must be a number, got {null!r}") from None
    rng = as_rng(rng)
    parts = _wild_parts(yv, xv, codes.astype(np.intp), G)
    enumerate_ = weights != "webb" and 2.0**G <= n_resamples
    kind = "enumerate" if enumerate_ else ("webb" if weights in ("auto", "webb") else "rademacher")
    chunk = max(1, MEMORY_BUDGET // (8 * G * 4))
    moments = np.concatenate(
        [_wild_moments(parts, V) for V in _wild_weight_chunks(G, kind=kind, n_resamples=n_resamples, rng=rng, chunk=chunk)], axis=1
    )
    alpha = round(1 - confidence_level, 12)
    p = float(_wild_p(moments, parts, null))
    lo, hi = _wild_ci(moments, parts, alpha) if interval else (None, None)
    if interval:  # unbounded within the search: infinite (None in JSON)
        lo, hi = (-math.inf if lo is None else lo), (math.inf if hi is None else hi)
    t_obs = (parts.estimate - null) / parts.se
    half = scipy.stats.t.ppf(1 - alpha / 2, G - 1) * parts.se
    return WildBootstrapResult(
        estimate=parts.estimate,
        se_cr1=parts.se,
        statistic=float(t_obs),
        pvalue=p,
        ci_low=lo,
        ci_high=hi,
        pvalue_cr1=float(2 * scipy.stats.t.sf(abs(t_obs), G - 1)),
        ci_low_cr1=parts.estimate - half,
        ci_high_cr1=parts.estimate + half,
        weights="rademacher" if kind in ("enumerate", "rademacher") else "webb",
        enumerated=enumerate_,
        n_resamples=int(moments.shape[1]),
        n_obs=int(yv.size),
        n_groups=int(G),
        null=null,
        confidence_level=confidence_level,
        draws=_wild_t(moments, null, parts.ssc) if keep_draws else None,
    )


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


# --------------------------------------------------------------------------- tables and groups
def scenario_table(cluster_high, region_high, *, unit: str = "cluster", confidence_level: float = 0.95) -> ScenarioTable:
    """2 x 2 table of high/low unit x high/low higher-level unit and Fisher's exact test.

    Parameters
    ----------
    cluster_high, region_high : array_like of bool (n,)
        Per row, whether the unit side and the higher-level side are 'high'.
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


def _eta2_interval(f_stat, df1, df2, n, confidence_level):
    """eta^2 = SS_between / SS_total with the noncentral-F interval (statsmodels), clipped to [0, 1]."""
    from statsmodels.stats.oneway import confint_effectsize_oneway

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(divide="ignore", invalid="ignore"):
            ci = confint_effectsize_oneway(f_stat, (df1, df2), alpha=1 - confidence_level, nobs=n).eta2
    return float(np.clip(ci[0], 0, 1)), float(np.clip(ci[1], 0, 1))


def industry_tests(cluster_index, groups, *, reference: str | None = None, n_resamples: int = 9999, confidence_level: float = 0.95, rng=None) -> list[TestResult]:
    """Kruskal–Wallis and one-way ANOVA of the unit index by group, with effect sizes.

    The p-values are permutation p-values (unit indices permuted among
    groups, ``permutation_type='independent'``, upper tail), valid for
    groups of a few units; the asymptotic p-values (chi-square for
    Kruskal–Wallis, F for ANOVA) are ``pvalue_parametric``. Effect sizes:
    ``eta2`` (SS_between / SS_total) for ANOVA with the noncentral-F interval
    (Steiger 2004, statsmodels ``confint_effectsize_oneway``), and
    ``eta2_H = (H - k + 1) / (n - k)`` for Kruskal–Wallis (point estimate,
    unclipped: it is negative when H falls below its null expectation k - 1).
    Because eta² is biased upwards (its mean under no effect is
    ``(k - 1)/(n - 1)``, kept as ``effect_null``), the ANOVA row also carries
    omega² (``effect_adjusted``), which is close to unbiased.

    Parameters
    ----------
    cluster_index : array_like (n,)
    groups : array_like (n,)
        Group of every unit; at least two groups, one of them with two or more units.
    reference : str, optional
        The normalisation reference set the index was computed with (appended
        to the test name, e.g. ``'kruskal:reference=group'``).
    n_resamples : int
    confidence_level : float
        Of the eta^2 interval.
    rng : numpy Generator, int or None

    Returns
    -------
    list of TestResult (Kruskal–Wallis, ANOVA), unit ``'cluster'``

    Notes
    -----
    Under within-group normalisation (``reference='group'``) every group holds
    the maximum of every indicator, so differences in *level* between groups
    are attenuated by construction (each group's leaders are pulled to the same
    maximum; levels below them can still differ); ``reference='sample'`` keeps them.

    References
    ----------
    Kruskal, W. H., & Wallis, W. A. (1952). Use of ranks in one-criterion
    variance analysis. JASA 47(260), 583-621. https://doi.org/10.1080/01621459.1952.10483441
    Steiger, J. H. (2004). Beyond the F test: effect size confidence intervals
    and tests of close fit in the analysis of variance and contrast analysis.
    Psychological Methods 9(2), 164-182. https://doi.org/10.1037/1082-989X.9.2.164
    Tomczak, M., & Tomczak, E. (2014). The need to report effect size estimates
    revisited. Trends in Sport Sciences 1(21), 19-25.
    """
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=99)
    confidence_level = check_probability(confidence_level, "confidence_level")
    x = _as_1d(cluster_index, "cluster_index")
    g = np.asarray(groups, dtype=object)
    if g.shape != x.shape:
        raise ClusterModelError(f"`groups` must have one label per cluster ({x.size}), got shape {g.shape}")
    names, codes = np.unique(g.astype(str), return_inverse=True)
    sizes = np.bincount(codes)
    if names.size < 2:
        raise ClusterModelError(f"`groups` holds only {names.size} group; a test across groups needs two or more")
    if sizes.max() < 2:
        raise ClusterModelError("every group holds a single cluster; there is no within-group variation to test against")
    _check_varies(x, "cluster_index", "cluster")
    samples = [x[codes == k] for k in range(names.size)]
    rngs = as_rng(rng).spawn(2)
    suffix = "" if reference is None else f":reference={reference}"
    k, n = names.size, x.size
    kw = scipy.stats.kruskal(*samples)
    an = scipy.stats.f_oneway(*samples)
    eta2 = float(an.statistic * (k - 1) / (an.statistic * (k - 1) + (n - k)))
    e_lo, e_hi = _eta2_interval(float(an.statistic), k - 1, n - k, n, confidence_level)
    eta2_h = float((kw.statistic - k + 1) / (n - k))  # unclipped: negative when H < k - 1
    omega2 = omega_squared(float(an.statistic), k - 1, n - k)
    eta2_null = eta_squared_null_mean(k, n)
    batch = _batch_size(n)
    out = []
    for j, (name, func, asym, effect) in enumerate(
        [
            ("kruskal", lambda *s, axis: scipy.stats.kruskal(*s, axis=axis).statistic, kw, ("eta2_H", eta2_h, None, None, None, None, None)),
            ("anova", lambda *s, axis: scipy.stats.f_oneway(*s, axis=axis).statistic, an, ("eta2", eta2, e_lo, e_hi, "omega2", omega2, eta2_null)),
        ]
    ):
        _, p, exact, _ = _permutation(samples, func, n_resamples=n_resamples, rng=rngs[j], batch=batch, alternative="greater", permutation_type="independent")
        out.append(
            TestResult(
                test=f"{name}{suffix}",
                statistic=float(asym.statistic),
                pvalue=p,
                ci_low=None,
                ci_high=None,
                n=n,
                unit="cluster",
                method=_descriptor(
                    p=f"permutation:labels:{'exact' if exact else n_resamples}:upper",
                    parametric="chi2" if name == "kruskal" else "f",
                    groups=f"{k}:" + ",".join(str(s) for s in sizes),
                    reference=reference,
                ),
                pvalue_parametric=float(asym.pvalue),
                effect_name=effect[0],
                effect=effect[1],
                effect_low=effect[2],
                effect_high=effect[3],
                effect_adjusted_name=effect[4],
                effect_adjusted=effect[5],
                effect_null=effect[6],
            )
        )
    return out


def power_min_correlation(n, *, alpha: float = 0.05, power: float = 0.8, alternative: str = "two-sided") -> float:
    """Smallest population correlation a test of rho = 0 detects with the given power.

    Uses Fisher's z: ``atanh(r)`` is approximately normal with standard error
    ``1/sqrt(n - 3)``, so

        r_min = tanh((z_{1 - alpha/2} + z_{power}) / sqrt(n - 3))

    (``z_{1-alpha}`` for a one-sided test). A planning number: conclusions are
    read off the confidence interval and the equivalence test.

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
    """Multiplicity-adjusted p-values; Holm by default (computed here; other methods via statsmodels ``multipletests``).

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70. https://www.jstor.org/stable/4615733
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):
        raise ClusterModelError("`pvalues` must be a 1-D sequence of numbers in [0, 1]")
    if p.size == 0:
        return p
    if method == "holm":  # step-down: sorted p_(i) times (m - i), running maximum, capped at 1
        order = np.argsort(p, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate(p[order] * (p.size - np.arange(p.size))))
        out = np.empty_like(p)
        out[order] = adj
        return out
    from statsmodels.stats.multitest import multipletests

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


def index_values(study, spec: IndexSpec | None = None) -> tuple:
    """(unit index, higher-level index of every unit) of ``study`` under ``spec``: an alternative for
    :func:`index_definition_sensitivity` or ``relationship_analysis(alternatives=…)``."""
    spec = study.spec if spec is None else spec
    cluster_regions, region_names = _study_regions(study)
    ci, ri = _computed_values(study, spec)
    return ci, region_values_of_clusters(cluster_regions, region_names, ri)


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
    """The relationship under two treatments of negative values in the higher-level index.

    Attributes
    ----------
    policies : tuple of str
        ``('keep', 'zero')``: a negative value kept (the Euclidean
        aggregators square it, so it raises the index), or counted as zero.
    negative_indicators : tuple of str
        Higher-level indicators holding a negative value.
    region_index : dict policy -> ndarray (region,)
    region_names : ndarray
    correlations : dict policy -> dict
        Unit-level Pearson, Spearman and Kendall; the primary r with its
        permutation p-value; the block permutation p-value of the unit-level r.
    scenario_counts : dict policy -> dict
    clusters : list of dict
        One row per unit whose higher-level index differs between the
        policies: higher-level unit, index and scenario under each policy, changed.
    region_threshold : float
    """

    policies: tuple
    region_index: dict
    region_names: np.ndarray
    correlations: dict
    scenario_counts: dict
    clusters: list
    region_threshold: float
    negative_indicators: tuple = ()

    @property
    def changed_clusters(self) -> list:
        return [r["cluster"] for r in self.clusters if r["scenario_changed"]]

    def to_dict(self) -> dict:
        return {
            "policies": list(self.policies),
            "negative_indicators": list(self.negative_indicators),
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


def negative_policy_sensitivity(study, spec: IndexSpec | None = None, *, thresholds: ScenarioThresholds | None = None, n_resamples: int = 9999, rng=None) -> NegativePolicySensitivity:
    """Recompute the higher-level index with the alternative treatment of negative values.

    Both policies are scored with :func:`clustermodel.scenarios.evaluate`. For
    each: the correlations, the scenario counts and every affected unit's
    scenario.

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
        _, block_p, _, _ = _permutation((values,), _on_last(lambda rv: block_stat(x, rv[..., codes])), n_resamples=n_resamples, rng=r2, batch=_batch_size(x.size))
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
    ind = study.regions["indicators"]
    neg = ind.where(ind < 0).count(dim=[d for d in ind.dims if d != "indicator"])
    return NegativePolicySensitivity(
        policies=policies,
        region_index={p: evs[p].region_index.values for p in policies},
        region_names=region_names,
        correlations=corr,
        scenario_counts=counts,
        clusters=rows,
        region_threshold=float(evs[a].region_threshold),
        negative_indicators=tuple(str(k) for k, v in zip(neg["indicator"].values, neg.values) if v > 0),
    )


def _role(test: str) -> str:
    if test in (PRIMARY_TEST, PRIMARY_GROUP_TEST):
        return "primary"
    if test.startswith("tost:"):
        return "equivalence"
    if test.startswith("power:"):
        return "planning"
    if test.endswith(":cluster"):
        return "naive"
    return "sensitivity"


def _conclusion(primary: TestResult, eq: EquivalenceResult | None, alpha: float) -> str:
    """'association', 'equivalence', 'association_within_bound' or 'inconclusive', read off the intervals."""
    if primary.ci_low is not None and primary.ci_high is not None:
        assoc = primary.ci_low > 0 or primary.ci_high < 0
    else:
        assoc = primary.pvalue is not None and primary.pvalue < alpha
    equiv = eq is not None and eq.equivalent
    if assoc and equiv:
        return "association_within_bound"
    return "association" if assoc else ("equivalence" if equiv else "inconclusive")


@dataclass(frozen=True)
class Fragility:
    """How far the primary result rests on its most influential higher-level unit.

    Attributes
    ----------
    without_most : TestResult
        The primary test (permutation p and BCa interval) with the most
        influential higher-level unit's units removed.
    split : InfluenceSplit
        The primary bootstrap distribution of r split by whether that unit was drawn.
    coverage : CoverageResult or None
        Double-bootstrap coverage of the primary BCa interval when the observed
        pairs are the population (None when ``coverage_samples=0``).
    """

    without_most: TestResult
    split: InfluenceSplit
    coverage: CoverageResult | None

    def to_dict(self) -> dict:
        return {
            "without_most": self.without_most.to_dict(),
            "split": self.split.to_dict(),
            "coverage": None if self.coverage is None else self.coverage.to_dict(),
        }


def fragility(cluster_index, region_index, regions, most_influential: str, *, n_resamples: int = 9999, confidence_level: float = 0.95, coverage_samples: int = 1000, rng=None) -> Fragility:
    """The primary test without one higher-level unit, the bootstrap split by it, and the interval's coverage.

    Parameters
    ----------
    cluster_index, region_index, regions : array_like (n,)
    most_influential : str
        The higher-level unit to remove (:attr:`InfluenceResult.most_influential`).
    n_resamples, confidence_level : as for :func:`region_level_tests`
    coverage_samples : int
        Outer samples of the coverage check (0: no check).
    rng : numpy Generator, int or None
    """
    x, y, codes, names, values = _check_relationship(cluster_index, region_index, regions)
    k = np.flatnonzero(names == str(most_influential))
    if k.size != 1:
        raise ClusterModelError(f"`most_influential` must be one of the higher-level units {names.tolist()}, got {most_influential!r}")
    k = int(k[0])
    keep = codes != k
    r = as_rng(rng).spawn(3)
    without = region_level_tests(x[keep], y[keep], np.asarray(regions)[keep], methods=("pearson",), n_resamples=n_resamples, confidence_level=confidence_level, rng=r[0])[0]
    xm = _region_means(x, codes, names.size)
    split = bootstrap_split(xm, values, k, n_resamples=n_resamples, rng=r[1])
    cov = None
    if coverage_samples:
        cov = bootstrap_coverage(xm, values, n_outer=coverage_samples, n_inner=min(n_resamples, 1999), confidence_level=confidence_level, rng=r[2])
    return Fragility(without_most=without, split=split, coverage=cov)


@dataclass(frozen=True, repr=False)
class RelationshipResult(ResultDisplay):
    """Every test of the relationship and of the group effect, with the numbers that qualify them.

    Attributes
    ----------
    tests : tuple of TestResult
        All rows, each with ``source``, ``role`` and (primary rows only)
        ``family`` and Holm-adjusted ``p_adjusted``.
    sources : dict name -> dict
        The values analysed per source: ``cluster_index``, ``region_index_of_cluster``,
        ``region_mean_cluster_index``, thresholds, scenario labels.
    ols : dict source -> ClusteredOLSResult
    scenario_tables : dict source -> dict level -> ScenarioTable
    sensitivity : NegativePolicySensitivity or None
    power : dict n -> smallest detectable r (80 % power, alpha 0.05, two-sided)
    clusters, cluster_names, cluster_regions, groups, region_names : arrays (labels)
    spec, thresholds : the choices used
    n_resamples, confidence_level : resampling options
    seed : int or None
    primary : str
        :data:`PRIMARY_TEST`.
    equivalence : dict source -> EquivalenceResult
    equivalence_bound : float
    influence : dict source -> InfluenceResult
    fragility : dict source -> Fragility
        How far the primary result rests on one higher-level unit and whether
        its interval covers in this design.
    mc_error : dict source -> dict
        Monte Carlo standard deviations of the wild cluster bootstrap's p-value
        and interval end points (``pvalue``, ``ci_low``, ``ci_high``), from
        ``replicates`` reruns with independent streams (what another seed moves them by).
    models : dict source -> dict kind -> ModelResult
    conclusions : dict source -> str
        Read off the primary interval and the equivalence test: ``association``
        (the interval excludes 0), ``equivalence`` (TOST rejects ``|rho| >=
        bound``), ``association_within_bound`` (both) or ``inconclusive``.
    rounding : RoundingRangeResult or None
        For the published values.
    index_sensitivity : IndexSensitivityResult or None
    skipped : tuple of dict
        Analyses that could not run: ``analysis``, ``source``, ``level`` and a
        ``reason`` code (``empty_margin``, ``fisher_z_undefined``,
        ``too_few_units``, ``fit_failed``, ``needs_computed_values``,
        ``no_groups``), with the numbers behind it (``n``, ``r``, ``side``,
        ``detail``).
    unused_regions : tuple of str
        Higher-level units without a unit (they do not enter).
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
    equivalence: dict = field(default_factory=dict)
    equivalence_bound: float = 0.3
    influence: dict = field(default_factory=dict)
    fragility: dict = field(default_factory=dict)
    mc_error: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    conclusions: dict = field(default_factory=dict)
    rounding: RoundingRangeResult | None = None
    index_sensitivity: IndexSensitivityResult | None = None
    skipped: tuple = ()
    unused_regions: tuple = ()
    notes: tuple = ()

    def get(self, test: str, source: str | None = None) -> TestResult:
        """The test named ``test`` (for ``source``, default: the first source analysed)."""
        source = source or next(iter(self.sources))
        for t in self.tests:
            if t.test == test and (t.source == source or t.source is None):
                return t
        raise ClusterModelError(
            f"no test {test!r} for source {source!r}; available: {sorted({t.test for t in self.tests})}"
        )

    def _display_(self) -> tuple[str, list]:
        head = f"{len(self.clusters)} units in {len(set(map(str, self.cluster_regions)))} higher-level units, {len(self.tests)} tests"
        rows: list = []
        for src in self.sources:
            try:
                t = self.get(self.primary, src)
            except ClusterModelError:
                continue
            ci = f" [{fmt(t.ci_low)}, {fmt(t.ci_high)}]" if t.ci_low is not None and t.ci_high is not None else ""
            rows.append(
                (f"{src}: {self.primary}", f"r = {fmt(t.statistic)}{ci}, p = {fmt(t.pvalue)}, n = {t.n}: {self.conclusions.get(src, 'n/a')}")
            )
        rows.append(("resampling", f"{self.n_resamples} resamples, confidence level {self.confidence_level:g}, seed {self.seed}"))
        if self.skipped:
            rows.append(("skipped", len(self.skipped)))
        rows.append(("tables", "to_frame(): one row per test; summary(): the report"))
        return head, rows

    def to_records(self) -> list[dict]:
        """One dict per row: test, statistic, pvalue, ci_low, ci_high, n, unit, method, source, role, …"""
        return [t.to_dict() for t in self.tests]

    def to_dict(self) -> dict:
        return {
            "primary": self.primary,
            "primary_group_test": PRIMARY_GROUP_TEST,
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "n_resamples": self.n_resamples,
            "confidence_level": self.confidence_level,
            "seed": self.seed,
            "equivalence_bound": self.equivalence_bound,
            "conclusions": dict(self.conclusions),
            "records": self.to_records(),
            "equivalence": {s: e.to_dict() for s, e in self.equivalence.items()},
            "influence": {s: i.to_dict() for s, i in self.influence.items()},
            "fragility": {s: f.to_dict() for s, f in self.fragility.items()},
            "mc_error": dict(self.mc_error),
            "wild_cluster_bootstrap": {s: o.wild.to_dict() for s, o in self.ols.items()},
            "models": {s: {k: m.to_dict() for k, m in d.items()} for s, d in self.models.items()},
            "rounding": None if self.rounding is None else self.rounding.to_dict(),
            "index_sensitivity": None if self.index_sensitivity is None else self.index_sensitivity.to_dict(),
            "scenario_tables": {s: {u: t.to_dict() for u, t in d.items()} for s, d in self.scenario_tables.items()},
            "power_min_correlation": {str(k): v for k, v in self.power.items()},
            "negative_policy_sensitivity": None if self.sensitivity is None else self.sensitivity.to_dict(),
            "skipped": [dict(s) for s in self.skipped],
            "unused_regions": list(self.unused_regions),
            "notes": list(self.notes),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per test (:meth:`to_records`)."""
        import pandas as pd

        return pd.DataFrame(self.to_records())

    _narrator_ = "clustermodel.reporting.relationship:markdown"

    def summary(self, *, nouns: Nouns | None = None) -> str:
        """Markdown, from :func:`clustermodel.reporting.relationship.markdown` (the paper's nouns by default)."""
        from clustermodel.nouns import PAPER_NOUNS

        return narrate(self, nouns=nouns or PAPER_NOUNS)

    def to_dataset(self) -> xr.Dataset:
        """Tests along ``test_row`` (NaN = not applicable), values along ``source`` x ``cluster``,
        influence along ``source`` x ``higher_unit``; resampling draws only when they were kept."""
        from clustermodel._version import __version__

        recs = self.to_records()
        nan = lambda v: np.nan if v is None else float(v)  # noqa: E731
        srcs = list(self.sources)
        col = lambda key: ("test_row", [nan(r[key]) for r in recs])  # noqa: E731
        ds = xr.Dataset(
            {
                **{k: col(k) for k in ("statistic", "pvalue", "p_adjusted", "pvalue_parametric", "ci_low", "ci_high", "effect", "effect_low", "effect_high")},
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
                "role": ("test_row", [r["role"] for r in recs]),
                "family": ("test_row", [r["family"] or "" for r in recs]),
                "effect_name": ("test_row", [r["effect_name"] or "" for r in recs]),
                "method": ("test_row", [r["method"] for r in recs]),
                "source": srcs,
                "cluster": self.clusters,
                "name": ("cluster", self.cluster_names.astype(str)),
                "cluster_region": ("cluster", self.cluster_regions.astype(str)),
                "group": ("cluster", self.groups.astype(str)),
                "n_pairs": list(self.power),
            },
        )
        if self.influence:
            inf_src = [s for s in srcs if s in self.influence]
            frames = {s: self.influence[s].to_dataframe() for s in inf_src}
            for key in ("r_without", "dfbeta", "dfbetas", "cooks_distance", "r_units_without", "dfbeta_units", "cooks_distance_units"):
                ds[f"influence_{key}"] = (("influence_source", "higher_unit"), np.stack([frames[s][key].to_numpy(dtype=float) for s in inf_src]))
            ds = ds.assign_coords(influence_source=inf_src, higher_unit=self.influence[inf_src[0]].names.astype(str))
        if self.equivalence:
            eq_src = list(self.equivalence)
            ds["tost_pvalue"] = ("equivalence_source", [self.equivalence[s].pvalue for s in eq_src])
            ds = ds.assign_coords(equivalence_source=eq_src)
        if self.index_sensitivity is not None:
            isens = self.index_sensitivity
            ds["r_region_mean_by_definition"] = ("definition", isens.r_region_mean)
            ds["r_cluster_by_definition"] = ("definition", isens.r_cluster)
            ds = ds.assign_coords(definition=list(isens.labels))
        if self.rounding is not None:
            names = list(self.rounding.statistics)
            qs = ["rounded", "low", "high", "low_linear", "high_linear"]
            ds["rounding_range"] = (("rounding_statistic", "rounding_quantity"), [[self.rounding.statistics[k][q] for q in qs] for k in names])
            ds = ds.assign_coords(rounding_statistic=names, rounding_quantity=qs)
        draws = [t.draws for t in self.tests]
        if any(d for d in draws):
            for kind in ("null", "bootstrap"):
                arrs = [np.asarray((d or {}).get(kind, []), dtype=float).ravel() for d in draws]
                size = max(a.size for a in arrs)
                if size:
                    ds[f"draws_{kind}"] = (("test_row", f"draw_{kind}"), np.stack([np.pad(a, (0, size - a.size), constant_values=np.nan) for a in arrs]))
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
        ds["p_adjusted"].attrs["description"] = "Holm-adjusted within `family` (the primary tests of the study's claims)"
        ds.attrs.update(self.spec.to_attrs())
        ds.attrs.update({f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()})
        ds.attrs.update(
            {
                "seed": "none" if self.seed is None else int(self.seed),
                "n_resamples": int(self.n_resamples),
                "confidence_level": float(self.confidence_level),
                "primary_test": self.primary,
                "primary_group_test": PRIMARY_GROUP_TEST,
                "equivalence_bound": float(self.equivalence_bound),
                "clustermodel_version": __version__,
            }
        )
        for s, c in self.conclusions.items():
            ds.attrs[f"conclusion_{s}"] = c
        return ds


def _high_flags(src: _Source, codes, n_groups):
    ch = src.cluster_index >= src.cluster_threshold
    rh = src.region_index_of_cluster >= src.region_threshold
    means = _region_means(src.cluster_index, codes, n_groups)
    region_vals = np.zeros(n_groups)
    region_vals[codes] = src.region_index_of_cluster
    return ch, rh, means >= src.cluster_threshold, region_vals >= src.region_threshold


def _alternatives(alternatives, n):
    """{label: (cluster index, higher-level index of each unit or None)} from the caller's mapping."""
    out = {}
    for label, value in dict(alternatives).items():
        if isinstance(value, tuple) and len(value) == 2:
            ci, ri = np.asarray(value[0], dtype=float), np.asarray(value[1], dtype=float)
        else:
            ci, ri = np.asarray(value, dtype=float), None
        if ci.shape != (n,) or (ri is not None and ri.shape != (n,)):
            raise ClusterModelError(
                f"alternative {label!r} must give one index value per cluster ({n}), or a pair (cluster index, "
                "regional index of each cluster)"
            )
        out[str(label)] = (ci, ri)
    return out


def relationship_analysis(
    study: Study,
    spec: IndexSpec | None = None,
    *,
    source: str = "both",
    thresholds: ScenarioThresholds | None = None,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    equivalence_bound: float = 0.3,
    wild_weights: str = "auto",
    alternatives: Mapping[str, ArrayLike | tuple[ArrayLike, ArrayLike]] | None = None,
    rounding: Literal["auto"] | tuple[int, int] | None = "auto",
    coverage_samples: int = 1000,
    keep_draws: bool = False,
    rng: RNGLike = None,
) -> RelationshipResult:
    """Every test of the relationship between the unit index and the higher-level index, and of the group effect.

    For each value source: the primary test (:data:`PRIMARY_TEST`, one pair
    per higher-level unit) with its BCa interval, the TOST equivalence test
    against ``|rho| >= equivalence_bound`` and the conclusion read off both;
    the influence of every higher-level unit; as sensitivity analyses the
    rank correlations, the block permutation / cluster bootstrap, the OLS
    with a wild cluster bootstrap p (CR1 kept as a reference), a
    random-intercept model and a weighted higher-level regression, Fisher's
    test of the scenario table; the naive unit-level tests for comparison;
    Kruskal–Wallis and ANOVA by group with effect sizes. Only the primary
    tests of the study's claims (the relationship, and the group effect
    under whole-sample normalisation) form a Holm family. For computed values
    also the sensitivity to the treatment of negative values; for published
    values the range of r over the rounding of the printed values; for
    ``alternatives`` r under each alternative index definition.

    Parameters
    ----------
    study : Study
        Needs a region table (and the published indices for ``source='published'``).
    spec : IndexSpec, optional
        Spec of the recomputed index (default: the paper's).
    source : {'both', 'computed', 'published'}
    thresholds : ScenarioThresholds, optional
    n_resamples : int
        Permutations and bootstrap resamples for every test (at least 99).
    confidence_level : float
    equivalence_bound : float in (0, 1)
        Bound on |rho| of the equivalence test (default 0.3).
    wild_weights : {'auto', 'rademacher', 'webb'}
        See :func:`wild_cluster_bootstrap`.
    alternatives : mapping label -> array (n,) or (array (n,), array (n,)), optional
        Alternative unit indices (optionally with their higher-level index of
        every unit), e.g. from :func:`index_values` under other specs.
    rounding : 'auto', (int, int) or None
        Decimals of the published unit and higher-level indices: inferred
        from the values (``'auto'``), given, or no rounding analysis.
    coverage_samples : int
        Outer samples of the double-bootstrap coverage check of the primary
        BCa interval (:func:`fragility`; 0 skips it).
    keep_draws : bool
        Keep the permutation and bootstrap distributions (larger outputs).
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
        region is not in the region table, a missing published index, or a
        bad option.

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
    check_choice(wild_weights, "wild_weights", ("auto", "rademacher", "webb"))
    n_resamples, confidence_level = _check_resampling(n_resamples, confidence_level)
    equivalence_bound = _check_bound(equivalence_bound)
    if not (rounding is None or rounding == "auto" or (isinstance(rounding, (tuple, list)) and len(rounding) == 2)):
        raise ClusterModelError(f"`rounding` must be 'auto', a pair (cluster decimals, region decimals) or None, got {rounding!r}")
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    rng = as_rng(rng)
    alpha = round(1 - confidence_level, 12)
    names = list(SOURCES) if source == "both" else [source]
    data = {s: _source_values(study, s, spec, thresholds) for s in names}
    cluster_regions, _ = _study_regions(study)
    alts = _alternatives(alternatives, cluster_regions.size) if alternatives else {}
    groups = study.clusters["group"].values.astype(str) if study.has_groups else None
    region_names, codes = np.unique(cluster_regions, return_inverse=True)
    G = region_names.size
    tests, sources, ols, tables, skipped = [], {}, {}, {}, []
    equivalence, infl, models, conclusions = {}, {}, {}, {}
    streams = rng.spawn(len(names) + 1)
    extra = rng.spawn(2)  # rounding, fragility
    fragile_streams = dict(zip(names, extra[1].spawn(len(names))))
    fragile, mc_error = {}, {}
    for s, stream in zip(names, streams):
        src = data[s]
        x, y = src.cluster_index, src.region_index_of_cluster
        r = stream.spawn(4)
        r_wild = stream.spawn(1)[0]
        kw = dict(n_resamples=n_resamples, confidence_level=confidence_level, keep_draws=keep_draws)
        rel = []
        rel += region_level_tests(x, y, cluster_regions, rng=r[0], **kw)
        rel += region_block_tests(x, y, cluster_regions, rng=r[1], **kw)
        ols[s] = clustered_ols(x, y, cluster_regions, weights=wild_weights, rng=r_wild, **kw)
        rel.append(ols[s].to_record())
        models[s] = {}
        for kind, fn in (("random_intercept", random_intercept_model), ("weighted_region_mean", weighted_region_regression)):
            try:
                models[s][kind] = fn(x, y, cluster_regions, confidence_level=confidence_level)
            except (np.linalg.LinAlgError, ValueError) as exc:
                skipped.append({"analysis": kind, "source": s, "level": "region", "reason": "fit_failed", "detail": str(exc).split("\n")[0]})
                continue
            rel.append(models[s][kind].to_record())
        rel += cluster_level_tests(x, y, cluster_regions, rng=r[2], **kw)
        ch, rh, ch_region, rh_region = _high_flags(src, codes, G)
        tables[s] = {}
        for unit, c_high, r_high in (("cluster", ch, rh), ("region", ch_region, rh_region)):
            try:
                tables[s][unit] = scenario_table(c_high, r_high, unit=unit, confidence_level=confidence_level)
            except ClusterModelError as exc:  # an empty margin: record it, keep the other tests
                side = "cluster" if (c_high.all() or not c_high.any()) else "region"
                skipped.append({"analysis": "fisher", "source": s, "level": unit, "reason": "empty_margin", "side": side, "detail": str(exc)})
                continue
            rel.append(tables[s][unit].to_record())
        prim = next(t for t in rel if t.test == PRIMARY_TEST)
        eq = None
        if G >= 4 and abs(prim.statistic) < 1:
            eq = equivalence[s] = equivalence_test(prim.statistic, G, bound=equivalence_bound, alpha=alpha)
            rel.append(eq.to_record())
        else:
            skipped.append({"analysis": "equivalence", "source": s, "level": "region", "reason": "fisher_z_undefined", "n": int(G), "r": float(prim.statistic)})
        conclusions[s] = _conclusion(prim, eq, alpha)
        if G >= 4:
            infl[s] = influence(x, y, cluster_regions)
            if G >= 5:
                fragile[s] = fragility(
                    x, y, cluster_regions, infl[s].most_influential, n_resamples=n_resamples,
                    confidence_level=confidence_level, coverage_samples=coverage_samples, rng=fragile_streams[s],
                )
        else:
            skipped.append({"analysis": "influence", "source": s, "level": "region", "reason": "too_few_units", "n": int(G)})
        mc_error[s] = _wild_mc_error(x, y, cluster_regions, ols[s], n_resamples=n_resamples, confidence_level=confidence_level, weights=wild_weights, rng=fragile_streams[s])
        ind = []
        if groups is not None and np.unique(groups).size < 2:
            skipped.append({"analysis": "group_tests", "source": s, "level": "group", "reason": "too_few_groups", "n": int(np.unique(groups).size)})
        elif groups is not None:
            # the published unit index was normalised within groups; recomputed values under both reference sets
            refs = ("group", "sample") if s == "computed" else ("group",)
            for ref, g in zip(refs, r[3].spawn(len(refs))):
                vals = x if s == "published" else _computed_values(study, spec.replace(reference=ref))[0]
                ind += industry_tests(vals, groups, reference=ref, n_resamples=n_resamples, confidence_level=confidence_level, rng=g)
        rows = [t.replace(source=s, role=_role(t.test), primary=_role(t.test) == "primary") for t in rel + ind]
        tests += _adjust_primary(rows, family=f"claims/{s}")
        sources[s] = {
            "cluster_index": x,
            "region_index_of_cluster": y,
            "region_mean_cluster_index": _region_means(x, codes, G),
            "cluster_threshold": src.cluster_threshold,
            "region_threshold": src.region_threshold,
            "scenario": np.asarray(SCENARIOS, dtype=object)[np.where(ch, np.where(rh, 0, 1), np.where(rh, 3, 2))],
        }
    sizes = sorted({int(cluster_regions.size), int(G)}, reverse=True)
    power = {n_: power_min_correlation(n_) for n_ in sizes if n_ >= 4}
    for n_ in sizes:
        if n_ < 4:
            skipped.append({"analysis": "power", "source": None, "level": "cluster" if n_ == cluster_regions.size else "region", "reason": "fisher_z_undefined", "n": int(n_)})
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
                method=_descriptor(quantity="min_abs_r", power=0.8, alpha=0.05, approximation="fisher_z"),
                role="planning",
            )
        )
    sens = None
    if "computed" in names:
        sens = negative_policy_sensitivity(study, spec, thresholds=thresholds, n_resamples=n_resamples, rng=streams[-1])
    else:
        skipped.append({"analysis": "negative_policy", "source": None, "level": None, "reason": "needs_computed_values"})
    if groups is None:
        skipped.append({"analysis": "group_tests", "source": None, "level": "cluster", "reason": "no_groups"})
    rounding_res = None
    if "published" in names and rounding is not None:
        pub = data["published"]
        dec = (infer_decimals(pub.cluster_index), infer_decimals(pub.region_values)) if rounding == "auto" else tuple(int(d) for d in rounding)
        rounding_res = rounding_range(pub.cluster_index, pub.region_index_of_cluster, cluster_regions, cluster_decimals=dec[0], region_decimals=dec[1], rng=extra[0])
    isens = None
    if alts:
        base = data[names[0]]
        labels = [f"analysed ({names[0]})"] + list(alts)
        X = np.stack([base.cluster_index] + [a[0] for a in alts.values()])
        Y = np.stack([base.region_index_of_cluster] + [a[1] if a[1] is not None else base.region_index_of_cluster for a in alts.values()])
        isens = index_definition_sensitivity(X, None, cluster_regions, labels=labels, region_indices=Y)
    unused = tuple(sorted(set(study.regions["region"].values.astype(str)) - set(region_names)))
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
        equivalence=equivalence,
        equivalence_bound=equivalence_bound,
        influence=infl,
        fragility=fragile,
        mc_error=mc_error,
        models=models,
        conclusions=conclusions,
        rounding=rounding_res,
        index_sensitivity=isens,
        skipped=tuple(skipped),
        unused_regions=unused,
    )


#: Reruns of the wild cluster bootstrap that estimate its Monte Carlo error.
MC_REPLICATES = 10


def _wild_mc_error(x, y, regions, first, *, n_resamples, confidence_level, weights, rng) -> dict:
    """Standard deviations of the wild bootstrap's p and end points over reruns with independent streams."""
    w = first.wild
    if w.enumerated:  # every sign vector: no Monte Carlo error
        return {"replicates": 0, "pvalue": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    runs = [clustered_ols(x, y, regions, confidence_level=confidence_level, n_resamples=n_resamples, weights=weights, rng=g) for g in as_rng(rng).spawn(MC_REPLICATES - 1)]
    out = {"replicates": MC_REPLICATES}
    for key in ("pvalue", "ci_low", "ci_high"):
        vals = np.array([getattr(first, key)] + [getattr(r, key) for r in runs], dtype=float)
        out[key] = float(np.std(vals, ddof=1)) if np.all(np.isfinite(vals)) else None
    return out


def _adjust_primary(rows, *, family):
    """Holm within the family of primary tests; other rows keep ``p_adjusted = None``."""
    idx = [i for i, t in enumerate(rows) if t.role == "primary" and t.pvalue is not None]
    adj = adjust_pvalues([rows[i].pvalue for i in idx], method="holm")
    rows = list(rows)
    for i, a in zip(idx, adj):
        rows[i] = rows[i].replace(family=family, p_adjusted=float(a))
    return rows
