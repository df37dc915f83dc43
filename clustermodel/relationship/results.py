"""The frozen result classes of the relationship tests (numbers and codes only; prose in
:mod:`clustermodel.reporting.relationship`)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from clustermodel._io import finite_or_none


# --------------------------------------------------------------------------- results
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
            d[k] = finite_or_none(d[k])
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
                d[k] = finite_or_none(v)
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
                d[k] = finite_or_none(v)
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
                d[k] = finite_or_none(v)
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
            "r": finite_or_none(self.r),
            "r_units": finite_or_none(self.r_units),
            "r_range": [finite_or_none(v) for v in self.r_range],
            "r_units_range": [finite_or_none(v) for v in self.r_units_range],
            "most_influential": self.most_influential,
            "r_without_most": finite_or_none(self.r_without_most),
            "ci_without_most": [finite_or_none(v) for v in self.ci_without_most],
            "rows": [
                {"higher": str(k), **{c: (finite_or_none(v) if c != "n_units" else int(v)) for c, v in row.items()}}
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
            "r_range": [finite_or_none(v) for v in self.r_range],
            "rows": [
                {"definition": lab, "r_region_mean": finite_or_none(a), "r_cluster": finite_or_none(b)}
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
            "statistics": {k: {kk: finite_or_none(vv) for kk, vv in v.items()} for k, v in self.statistics.items()},
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
            "odds_ratio": finite_or_none(self.odds_ratio),
            "ci_low": finite_or_none(self.ci_low),
            "ci_high": finite_or_none(self.ci_high),
            "pvalue": finite_or_none(self.pvalue),
            "note": self.note,
        }


