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


#: How far apart two computations of the same correlation may be and still be the same number.
ROUNDING = 1e-12


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
    outer = rng.integers(0, n, size=(n_outer, n))
    xs, ys = x[outer], y[outer]
    defined = (np.ptp(xs, axis=1) > 0) & (np.ptp(ys, axis=1) > 0)
    # The random stream is the one of a loop calling scipy.stats.bootstrap once per defined outer sample (each call
    # draws its (n_inner, n) resample indices from `rng`); the intervals are computed a block of samples at a time.
    block = max(1, 4_000_000 // (n_inner * n))
    rows = np.flatnonzero(defined)
    low, high = np.full(n_outer, np.nan), np.full(n_outer, np.nan)
    for start in range(0, rows.size, block):
        b = rows[start:start + block]
        inner = np.stack([rng.integers(0, n, size=(n_inner, n)) for _ in b])
        low[b], high[b] = _bca_pearson(xs[b], ys[b], inner, confidence_level)
    finite = np.isfinite(low) & np.isfinite(high)
    # an end point within rounding of the truth covers it: a resample that is the observed pairs again has r = truth,
    # and two formulas for r may differ in the last bits
    tol = ROUNDING * max(1.0, abs(truth))
    below = int(np.sum(finite & (high < truth - tol)))
    above = int(np.sum(finite & (low > truth + tol)))  # low <= high, so these are not among `below`
    undefined = int(n_outer - finite.sum())
    covered = int(finite.sum()) - below - above
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


def _resampled_pearson(xs, ys, inner):
    """Pearson's r of every resample: ``xs, ys`` (B, n), ``inner`` (B, R, n) indices into each row; NaN where a side
    of the resample is constant.

    A resample of pairs is a count vector over the n pairs, so its sums are one batched matrix product of the counts
    with the (centred) values: r = (Sxy - Sx Sy / n) / sqrt((Sxx - Sx^2 / n)(Syy - Sy^2 / n)). A side is constant
    when all its counts fall on one distinct value, tested on the counts (exact), not on a variance near 0.
    """
    b, r, n = inner.shape
    flat = (np.arange(b * r)[:, None] * n + inner.reshape(b * r, n)).ravel()
    counts = np.bincount(flat, minlength=b * r * n).reshape(b, r, n).astype(float)
    xc = xs - xs.mean(axis=-1, keepdims=True)
    yc = ys - ys.mean(axis=-1, keepdims=True)
    sums = counts @ np.stack([xc, yc, xc * xc, yc * yc, xc * yc], axis=-1)  # (B, R, 5)
    sx, sy, sxx, syy, sxy = np.moveaxis(sums, -1, 0)
    num = sxy - sx * sy / n
    vx, vy = np.maximum(sxx - sx * sx / n, 0.0), np.maximum(syy - sy * sy / n, 0.0)
    den = np.sqrt(vx * vy)
    constant = np.zeros((b, r), dtype=bool)
    for side, v, centred in ((xs, vx, xc), (ys, vy, yc)):
        # only a resample whose sum of squares is at rounding level can be constant; those few are tested exactly
        rows, cols = np.nonzero(v <= 1e-9 * (centred * centred).sum(axis=-1, keepdims=True))
        support = counts[rows, cols] > 0
        values = side[rows]
        constant[rows, cols] = np.where(support, values, np.inf).min(axis=-1) == np.where(support, values, -np.inf).max(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(constant | ~(den > 0), np.nan, num / np.where(den > 0, den, 1.0))


def _bca_pearson(xs, ys, inner, confidence_level: float):
    """BCa intervals of Pearson's r for a batch of samples, each with its own resample indices.

    ``xs, ys`` are (B, n), ``inner`` is (B, R, n). The computation is scipy.stats.bootstrap's (``method="BCa"``,
    ``paired=True``; Efron & Tibshirani 1993, eq. 14.14 and 14.15) applied row by row: bias from the share of resampled
    r below / at the sample's r, acceleration from the jackknife, end points by linear interpolation between order statistics (``_linear_quantiles``). scipy
    draws one set of resample indices for a whole batch, so a batch of independent double-bootstrap samples is
    computed here; ``tests/test_diagnostics.py`` checks it against one scipy call per sample on the same stream.
    """
    from scipy.special import ndtr, ndtri

    b, r, n = inner.shape
    theta_b = _resampled_pearson(xs, ys, inner)
    theta = _resampled_pearson(xs, ys, np.broadcast_to(np.arange(n), (b, 1, n)))  # the sample itself, same arithmetic
    z0 = ndtri((np.count_nonzero(theta_b < theta, axis=-1) + np.count_nonzero(theta_b <= theta, axis=-1)) / (2 * r))
    keep = ~np.eye(n, dtype=bool)
    jack = np.broadcast_to(np.arange(n), (n, n))[keep].reshape(n, n - 1)
    theta_j = pearson(xs[:, jack], ys[:, jack])  # (B, n): the sample without each pair
    u = (n - 1) * (theta_j.mean(axis=-1, keepdims=True) - theta_j)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (np.sum(u**3, axis=-1) / float(n) ** 3) / 6 / (np.sum(u**2, axis=-1) / float(n) ** 2) ** 1.5
        z_alpha = float(ndtri((1 - confidence_level) / 2))
        num1, num2 = z0 + z_alpha, z0 - z_alpha
        probs = np.stack([ndtr(z0 + num1 / (1 - a * num1)), ndtr(z0 + num2 / (1 - a * num2))], axis=-1)
    ci = _linear_quantiles(theta_b, probs)
    return ci[:, 0], ci[:, 1]


def _linear_quantiles(values, probs):
    """Quantiles of each row of ``values`` (B, R) at that row's own ``probs`` (B, K), by linear interpolation between
    order statistics (Hyndman & Fan's definition 7, numpy's and scipy's default ``"linear"``): the value at position
    ``p (R - 1)`` of the sorted row. A row holding a NaN, or a NaN or out-of-range probability, gives NaN, as in
    ``numpy.quantile``. numpy takes one set of probabilities for all rows, hence this row-wise form; the positions
    and the interpolation are the bootstrap percentiles' (:mod:`clustermodel.bootstrap.percentiles`).
    """
    from clustermodel.bootstrap.percentiles import _lerp, _order_positions

    ordered = np.sort(values, axis=-1)
    with np.errstate(invalid="ignore"):
        valid = (probs >= 0) & (probs <= 1) & ~np.isnan(values).any(axis=-1, keepdims=True)
    prev, nxt, gamma = _order_positions(values.shape[-1], np.where(valid, probs, 0.0))
    with np.errstate(invalid="ignore"):
        out = _lerp(np.take_along_axis(ordered, prev, axis=-1), np.take_along_axis(ordered, nxt, axis=-1), gamma)
    return np.where(valid, out, np.nan)


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
