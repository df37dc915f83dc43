"""clustermodel.diagnostics against closed forms, scipy and simulations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from clustermodel._errors import ClusterModelError
from clustermodel.diagnostics import (
    absence_share,
    bootstrap_coverage,
    eta_squared_null_mean,
    expected_overlap,
    omega_squared,
    quantile_mc_se,
    threshold_proximity,
)


@pytest.mark.parametrize("prob", [0.025, 0.5, 0.975])
def test_quantile_mc_se_matches_the_spread_of_quantiles_over_seeds(prob):
    rng = np.random.default_rng(1)
    B, reps = 2000, 400
    draws = rng.standard_normal((reps, B))
    q = np.quantile(draws, prob, axis=1)
    se = np.array([quantile_mc_se(d, prob) for d in draws[:50]])
    # the asymptotic closed form sqrt(p(1-p)/B) / density at the quantile
    closed = math.sqrt(prob * (1 - prob) / B) / scipy.stats.norm.pdf(scipy.stats.norm.ppf(prob))
    assert q.std(ddof=1) == pytest.approx(closed, rel=0.12)
    assert np.median(se) == pytest.approx(closed, rel=0.2)


def test_quantile_mc_se_needs_draws():
    assert math.isnan(quantile_mc_se([1.0, 2.0, np.nan], 0.5))
    with pytest.raises(ClusterModelError, match="prob"):
        quantile_mc_se(np.arange(100.0), 1.5)


def test_absence_share_is_the_simulated_share_of_resamples_missing_a_point():
    rng = np.random.default_rng(2)
    n = 19
    idx = rng.integers(0, n, size=(40000, n))
    simulated = np.mean(~(idx == 0).any(axis=1))
    assert absence_share(n) == pytest.approx(simulated, abs=0.01)
    assert absence_share(n) == pytest.approx(0.3580, abs=1e-4)
    assert absence_share(10**6) == pytest.approx(math.exp(-1), abs=1e-6)


def test_bootstrap_coverage_is_near_nominal_for_well_behaved_pairs_and_reproducible():
    rng = np.random.default_rng(3)
    x, y = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], size=40).T
    a = bootstrap_coverage(x, y, n_outer=150, n_inner=499, rng=7)
    b = bootstrap_coverage(x, y, n_outer=150, n_inner=499, rng=7)
    assert a == b
    assert a.truth == pytest.approx(scipy.stats.pearsonr(x, y).statistic)
    assert a.coverage + a.below + a.above + a.undefined / a.n_outer == pytest.approx(1.0)
    # 150 outer samples: binomial sd about 0.018 around the nominal 0.95 (BCa is close to it here)
    assert 0.85 <= a.coverage <= 1.0


def _coverage_by_scipy(x, y, n_outer, n_inner, confidence_level, seed):
    """The double bootstrap written the obvious way: one scipy.stats.bootstrap BCa call per outer sample."""
    import warnings

    from clustermodel.diagnostics import ROUNDING
    from clustermodel.scenarios import pearson

    rng = np.random.default_rng(seed)
    truth, n = float(pearson(x, y)), x.size
    counts = dict(covered=0, below=0, above=0, undefined=0)
    for idx in rng.integers(0, n, size=(n_outer, n)):
        xs, ys = x[idx], y[idx]
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            counts["undefined"] += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ci = scipy.stats.bootstrap((xs, ys), pearson, paired=True, vectorized=True, n_resamples=n_inner,
                                       confidence_level=confidence_level, method="BCa", rng=rng).confidence_interval
        lo, hi = float(ci.low), float(ci.high)
        key = "undefined" if not (math.isfinite(lo) and math.isfinite(hi)) else "below" if hi < truth - ROUNDING else "above" if lo > truth + ROUNDING else "covered"
        counts[key] += 1
    return counts


@pytest.mark.parametrize(("n", "seed"), [(6, 0), (12, 1), (19, 2), (30, 3)])
def test_bootstrap_coverage_is_one_scipy_bca_call_per_outer_sample(n, seed):
    """The batched computation counts what a loop of scipy.stats.bootstrap calls on the same random stream counts
    (heavy-tailed y, so the intervals are asymmetric and some miss on each side). At n = 6 many resamples have two
    distinct pairs and r = +-1 exactly, which two formulas for r order among themselves by their last bits: an
    interval ending there can move, so there the counts may differ by one or two of 120."""
    g = np.random.default_rng(50 + seed)
    x = g.normal(size=n)
    y = 0.5 * x + g.standard_t(2, size=n)
    got = bootstrap_coverage(x, y, n_outer=120, n_inner=299, confidence_level=0.9, rng=seed)
    want = _coverage_by_scipy(x, y, 120, 299, 0.9, seed)
    got = dict(covered=round(got.coverage * 120), below=round(got.below * 120), above=round(got.above * 120), undefined=got.undefined)
    if n >= 12:
        assert got == want
        assert want["below"] + want["above"] > 0
    else:
        assert got["undefined"] == want["undefined"]
        assert max(abs(got[k] - want[k]) for k in want) <= 2


def test_row_wise_linear_quantiles_are_numpys_row_by_row():
    """The BCa end points use each row's own probabilities; row by row they are numpy's default quantile, and a row
    holding a NaN (a constant resample) or a NaN probability (undefined acceleration) gives NaN, as numpy does."""
    from clustermodel.diagnostics import _linear_quantiles

    g = np.random.default_rng(3)
    values = g.normal(size=(40, 57))
    probs = np.column_stack([g.uniform(size=40), g.uniform(size=40)])
    probs[:3] = [[0.0, 1.0], [1e-9, 1 - 1e-9], [0.5, 0.5]]
    values[5, 7] = np.nan
    probs[6, 1] = np.nan
    got = _linear_quantiles(values, probs)
    for i in range(40):
        for k in range(2):
            want = np.nan if np.isnan(probs[i, k]) else np.quantile(values[i], probs[i, k])
            np.testing.assert_allclose(got[i, k], want, rtol=1e-14, atol=1e-15)
    assert np.isnan(got[5]).all() and np.isnan(got[6, 1]) and not np.isnan(got[6, 0])


def test_bootstrap_coverage_refuses_short_or_mismatched_input():
    with pytest.raises(ClusterModelError, match="same length"):
        bootstrap_coverage([1, 2, 3], [1, 2, 3])
    with pytest.raises(ClusterModelError, match="same length"):
        bootstrap_coverage(np.arange(5.0), np.arange(6.0))


def test_threshold_proximity_orders_by_distance_and_finds_ties():
    p = threshold_proximity([0.2, 1.0, 0.97, 1.04, 2.0, 1.0], 1.0, 0.05)
    assert p.near.tolist() == [1, 5, 2, 3]
    assert p.ties.tolist() == [1, 5]
    assert p.distance == pytest.approx([0.0, 0.0, -0.03, 0.04])
    with pytest.raises(ClusterModelError, match="tolerance"):
        threshold_proximity([1.0], 1.0, -1)


def _anova_sims(k, n_per, reps, rng, shift=0.0):
    g = np.repeat(np.arange(k), n_per)
    y = rng.standard_normal((reps, k * n_per)) + shift * g
    means = np.stack([y[:, g == j].mean(axis=1) for j in range(k)], axis=1)
    grand = y.mean(axis=1, keepdims=True)
    ssb = (n_per * (means - grand) ** 2).sum(axis=1)
    sst = ((y - grand) ** 2).sum(axis=1)
    return ssb, sst


def test_eta_squared_null_mean_is_the_beta_mean_and_the_simulated_mean():
    k, n_per = 4, 6
    n = k * n_per
    ssb, sst = _anova_sims(k, n_per, 20000, np.random.default_rng(4))
    assert eta_squared_null_mean(k, n) == pytest.approx(scipy.stats.beta((k - 1) / 2, (n - k) / 2).mean())
    assert eta_squared_null_mean(k, n) == pytest.approx((ssb / sst).mean(), abs=0.004)
    with pytest.raises(ClusterModelError, match="exceed"):
        eta_squared_null_mean(5, 5)


def test_omega_squared_is_the_sums_of_squares_formula_and_near_unbiased_under_the_null():
    k, n_per = 4, 6
    n = k * n_per
    ssb, sst = _anova_sims(k, n_per, 20000, np.random.default_rng(5))
    ssw = sst - ssb
    df_b, df_w = k - 1, n - k
    msw = ssw / df_w
    F = (ssb / df_b) / msw
    omega = np.array([omega_squared(f, df_b, df_w) for f in F[:200]])
    # Hays' form: (SSB - df_b MSW) / (SST + MSW)
    assert omega == pytest.approx(((ssb - df_b * msw) / (sst + msw))[:200], rel=1e-10, abs=1e-12)
    null_mean = np.mean([omega_squared(f, df_b, df_w) for f in F])
    assert abs(null_mean) < 0.01  # eta² averages (k-1)/(n-1) = 0.13 here
    assert omega_squared(0.5, 3, 20) < 0


def test_expected_overlap_matches_a_simulation_of_two_seeds():
    rng = np.random.default_rng(6)
    R, reps = 10, 40000
    first = rng.standard_normal((reps, R))
    second = rng.standard_normal((reps, R)).mean(axis=1)
    m, s = first.mean(axis=1), first.std(axis=1, ddof=1)
    half = scipy.stats.t.ppf(0.975, R - 1) * s / math.sqrt(R)
    inside = np.mean(np.abs(second - m) <= half)
    assert expected_overlap(R) == pytest.approx(inside, abs=0.006)
    assert expected_overlap(R) == pytest.approx(0.856, abs=0.001)
    # many replicates: the normal-theory value 2 Phi(1.96 / sqrt 2) - 1
    assert expected_overlap(10**6) == pytest.approx(2 * scipy.stats.norm.cdf(1.959964 / math.sqrt(2)) - 1, abs=1e-4)


def test_bootstrap_split_separates_the_resamples_an_outlier_decides():
    from clustermodel.diagnostics import bootstrap_split

    rng = np.random.default_rng(8)
    x, y = rng.standard_normal(19), rng.standard_normal(19)
    x[0], y[0] = 6.0, 6.0  # one pair makes r positive
    s = bootstrap_split(x, y, 0, n_resamples=4000, rng=1)
    assert s.share_without == pytest.approx(absence_share(19), abs=0.02)
    assert s.median_with > 0.5 > s.median_without
    assert s.negative_without > s.negative_with
    # the medians are those of the resamples computed directly
    idx = np.random.default_rng(1).integers(0, 19, size=(4000, 19))
    r = np.array([scipy.stats.pearsonr(x[i], y[i]).statistic for i in idx[:400]])
    has = (idx[:400] == 0).any(axis=1)
    assert np.median(r[has]) == pytest.approx(s.median_with, abs=0.05)
