"""Diagnostics that say how far a reported number can be read: numbers only.

Each function answers one question a referee asks of a published interval or
test, for any study:

- :func:`quantile_mc_se`: how far would an end point of a resampling interval
  move with another seed (Monte Carlo standard error of an empirical quantile)?
- :func:`bootstrap_coverage`: does the BCa interval of a correlation cover at
  its nominal level in *this* design (a double bootstrap from the observed pairs)?
- :func:`absence_share`: in what share of bootstrap resamples is one given
  observation missing?
- :func:`threshold_proximity`: which units sit within a tolerance of a
  classification threshold, and which are exactly at it (ties)?
- :func:`omega_squared`, :func:`eta_squared_null_mean`: an unbiased effect size
  for a one-way ANOVA, and what eta squared is expected to be when there is no
  effect at all;
- :func:`expected_overlap`: what share of a second, independent estimate
  should fall inside the first run's t interval when both are calibrated.

Words about these numbers are written by :mod:`clustermodel.reporting`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.stats

from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_positive_int, check_probability
from clustermodel.scenarios import pearson

__all__ = [
    "quantile_mc_se",
    "CoverageResult",
    "bootstrap_coverage",
    "absence_share",
    "InfluenceSplit",
    "bootstrap_split",
    "ThresholdProximity",
    "threshold_proximity",
    "omega_squared",
    "eta_squared_null_mean",
    "expected_overlap",
]


def quantile_mc_se(draws, prob: float) -> float:
    """Monte Carlo standard error of the empirical ``prob``-quantile of ``draws``.

    Distribution-free (order statistics): the number of draws below the true
    quantile is Binomial(B, prob), so the order statistics one binomial
    standard deviation, ``sqrt(B prob (1 - prob))``, either side of rank
    ``B prob`` bracket the quantile by about one standard error each way; the
    standard error is half their distance. It is the error a second seed would
    show, not the sampling error of the data.

    Parameters
    ----------
    draws : array_like (B,)
        Resampling draws (non-finite ones are dropped).
    prob : float in (0, 1)

    Returns
    -------
    float
        NaN when fewer than 10 finite draws remain.

    References
    ----------
    Hall, P., & Martin, M. A. (1988). Exact convergence rate of bootstrap
    quantile variance estimator. Probability Theory and Related Fields 80,
    261-268. https://doi.org/10.1007/BF00356105
    """
    prob = check_probability(prob, "prob")
    x = np.sort(np.asarray(draws, dtype=float).ravel())
    x = x[np.isfinite(x)]
    B = x.size
    if B < 10:
        return math.nan
    d = math.sqrt(B * prob * (1 - prob))
    j = B * prob
    lo = int(np.clip(math.floor(j - d), 0, B - 1))
    hi = int(np.clip(math.ceil(j + d), 0, B - 1))
    width = (hi - lo) / (2 * d)  # ranks actually spanned, in binomial sds
    return float((x[hi] - x[lo]) / (2 * width))


@dataclass(frozen=True)
class CoverageResult:
    """Coverage of a bootstrap interval in one design, estimated by a double bootstrap.

    Attributes
    ----------
    coverage : float
        Share of the outer samples whose interval contains ``truth``.
    mc_se : float
        Binomial standard error of ``coverage`` (outer samples only).
    nominal : float
        The interval's confidence level.
    truth : float
        The statistic of the observed data (the truth of the resampled world).
    n_outer, n_inner : int
    undefined : int
        Outer samples whose interval was undefined (not counted as covering).
    below, above : float
        Shares of outer samples whose interval lies wholly below / above ``truth``.
    """

    coverage: float
    mc_se: float
    nominal: float
    truth: float
    n_outer: int
    n_inner: int
    undefined: int
    below: float
    above: float

    def to_dict(self) -> dict:
        return {k: (float(v) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def bootstrap_coverage(x, y, *, n_outer: int = 400, n_inner: int = 1999, confidence_level: float = 0.95, rng=None) -> CoverageResult:
    """Coverage of the BCa interval of Pearson's r when the observed pairs are the population.

    Draws ``n_outer`` samples of the same size from the observed pairs (with
    replacement), computes the BCa interval of each with ``n_inner`` resamples
    (``scipy.stats.bootstrap``, the same call as the primary analysis) and
    counts how often it contains the observed r. A design with one or two
    influential pairs, whose presence in a resample decides the sign of r, shows
    it here as coverage below the nominal level. It checks the interval under
    the empirical distribution, not under every distribution the data could
    have come from.

    Parameters
    ----------
    x, y : array_like (n,)
        The pairs of the analysis (n >= 4).
    n_outer, n_inner : int
    confidence_level : float
    rng : None, int or numpy.random.Generator

    Returns
    -------
    CoverageResult

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap,
    ch. 19 (bootstrap estimates of coverage). Chapman & Hall.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 4:
        raise ClusterModelError(f"`x` and `y` must be two 1-d arrays of the same length >= 4, got shapes {x.shape} and {y.shape}")
    n_outer = check_positive_int(n_outer, "n_outer", minimum=10)
    n_inner = check_positive_int(n_inner, "n_inner", minimum=99)
    confidence_level = check_probability(confidence_level, "confidence_level")
    rng = as_rng(rng)
    truth = float(pearson(x, y))
    n = x.size
    covered = below = above = undefined = 0
    for idx in rng.integers(0, n, size=(n_outer, n)):
        xs, ys = x[idx], y[idx]
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            undefined += 1
            continue
        with warnings.catch_warnings():  # degenerate resamples: scipy warns, the interval says it
            warnings.simplefilter("ignore")
            ci = scipy.stats.bootstrap(
                (xs, ys), pearson,
                paired=True, vectorized=True, n_resamples=n_inner, confidence_level=confidence_level, method="BCa", rng=rng,
            ).confidence_interval
        lo, hi = float(ci.low), float(ci.high)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            undefined += 1
        elif hi < truth:
            below += 1
        elif lo > truth:
            above += 1
        else:
            covered += 1
    cov = covered / n_outer
    return CoverageResult(
        coverage=cov,
        mc_se=math.sqrt(cov * (1 - cov) / n_outer),
        nominal=confidence_level,
        truth=truth,
        n_outer=n_outer,
        n_inner=n_inner,
        undefined=undefined,
        below=below / n_outer,
        above=above / n_outer,
    )


def absence_share(n: int) -> float:
    """Probability that one given observation is missing from a bootstrap resample of ``n``: ``(1 - 1/n)**n``."""
    n = check_positive_int(n, "n")
    return float((1 - 1 / n) ** n)


@dataclass(frozen=True)
class InfluenceSplit:
    """The bootstrap distribution of r split by whether one observation is in the resample.

    Attributes
    ----------
    index : int
        The observation (e.g. the most influential higher-level unit).
    n_resamples : int
    share_without : float
        Share of resamples that lack it (expected ``(1 - 1/n)**n``).
    median_with, median_without : float
        Median r of the resamples that contain it / lack it.
    negative_with, negative_without : float
        Share of r < 0 among them.
    """

    index: int
    n_resamples: int
    share_without: float
    median_with: float
    median_without: float
    negative_with: float
    negative_without: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def bootstrap_split(x, y, index: int, *, n_resamples: int = 9999, rng=None) -> InfluenceSplit:
    """Pearson's r over bootstrap resamples of pairs, split by whether pair ``index`` was drawn.

    When one pair decides the sign of r, the two halves differ and the
    bootstrap distribution an interval is read from is a mixture of them.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 4:
        raise ClusterModelError(f"`x` and `y` must be two 1-d arrays of the same length >= 4, got shapes {x.shape} and {y.shape}")
    n = x.size
    if not 0 <= int(index) < n:
        raise ClusterModelError(f"`index` must be a position in 0..{n - 1}, got {index!r}")
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=99)
    idx = as_rng(rng).integers(0, n, size=(n_resamples, n))
    r = pearson(x[idx], y[idx])
    has = (idx == int(index)).any(axis=1)
    ok = np.isfinite(r)

    def med(m):
        v = r[m & ok]
        return float(np.median(v)) if v.size else math.nan

    def neg(m):
        v = r[m & ok]
        return float(np.mean(v < 0)) if v.size else math.nan

    return InfluenceSplit(int(index), n_resamples, float(np.mean(~has)), med(has), med(~has), neg(has), neg(~has))


@dataclass(frozen=True)
class ThresholdProximity:
    """Units near a classification threshold (a unit is high when ``value >= threshold``).

    Attributes
    ----------
    threshold, tolerance : float
    near : ndarray of int
        Positions whose value lies within ``tolerance`` of the threshold, closest first.
    distance : ndarray
        ``value - threshold`` at those positions.
    ties : ndarray of int
        Positions exactly at the threshold (their class depends on the tie rule).
    """

    threshold: float
    tolerance: float
    near: np.ndarray
    distance: np.ndarray
    ties: np.ndarray

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "tolerance": self.tolerance,
            "near": self.near.tolist(),
            "distance": self.distance.tolist(),
            "ties": self.ties.tolist(),
        }


def threshold_proximity(values, threshold: float, tolerance: float) -> ThresholdProximity:
    """Which values lie within ``tolerance`` of ``threshold``, and which equal it.

    ``tolerance`` is what could move a unit across: half a unit of the last
    printed decimal for published values, or a stated numerical margin.
    """
    v = np.asarray(values, dtype=float).ravel()
    threshold, tolerance = float(threshold), float(tolerance)
    if not math.isfinite(threshold) or not (math.isfinite(tolerance) and tolerance >= 0):
        raise ClusterModelError(f"`threshold` must be finite and `tolerance` >= 0, got {threshold!r} and {tolerance!r}")
    d = v - threshold
    near = np.flatnonzero(np.abs(d) <= tolerance)
    near = near[np.argsort(np.abs(d[near]), kind="stable")]
    return ThresholdProximity(threshold, tolerance, near, d[near], np.flatnonzero(d == 0))


def omega_squared(f_stat: float, df_between: int, df_within: int) -> float:
    """Omega squared of a one-way ANOVA from its F statistic (unclipped; negative when F < 1).

    ``omega² = df_b (F - 1) / (df_b (F - 1) + N)`` with ``N = df_b + df_w + 1``
    observations; unlike eta squared it is close to unbiased, so its
    expectation under no effect is about 0.

    References
    ----------
    Olejnik, S., & Algina, J. (2003). Generalized eta and omega squared
    statistics. Psychological Methods 8(4), 434-447.
    https://doi.org/10.1037/1082-989X.8.4.434
    """
    df_b, df_w = check_positive_int(df_between, "df_between"), check_positive_int(df_within, "df_within")
    num = df_b * (float(f_stat) - 1)
    return float(num / (num + df_b + df_w + 1))


def eta_squared_null_mean(k: int, n: int) -> float:
    """Expected eta squared of a one-way ANOVA of ``n`` observations in ``k`` groups when there is no effect.

    Under the null eta² follows Beta((k - 1)/2, (n - k)/2), whose mean is
    ``(k - 1) / (n - 1)``: an observed eta² near this value is what noise alone gives.
    """
    k, n = check_positive_int(k, "k", minimum=2), check_positive_int(n, "n", minimum=3)
    if n <= k:
        raise ClusterModelError(f"`n` must exceed `k` (got n={n}, k={k})")
    return (k - 1) / (n - 1)


def expected_overlap(replicates: int | None, confidence_level: float = 0.95) -> float:
    """Expected share of a second independent estimate inside the first run's t interval.

    Both runs average ``replicates`` independent replicates; the first run's
    interval is mean ± t(level, R - 1) s/√R. The difference of the two means
    over the first run's standard error, divided by √2, is Student t with
    R - 1 degrees of freedom, so the share is ``2 F_t(t_q / √2) - 1``
    (0.856 for R = 10). ``replicates=None``: a normal-theory interval, 2 Φ(z_q / √2) - 1 = 0.834.
    """
    level = check_probability(confidence_level, "confidence_level")
    law = scipy.stats.norm() if replicates is None else scipy.stats.t(df=check_positive_int(replicates, "replicates", minimum=2) - 1)
    return float(2 * law.cdf(law.ppf(0.5 + level / 2) / math.sqrt(2)) - 1)
