"""Ranks, scenario classification and the study-level model as hypothesis properties."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from strategies import HEAVY_SETTINGS, specs, studies, weight_batches

from clustermodel import SCENARIOS, ScenarioThresholds
from clustermodel.index import compute_index, rank
from clustermodel.scenarios import classify, evaluate, pearson

# index values with many ties and some NaN (a unit 'rescale' cannot score)
index_values = st.lists(
    st.one_of(st.sampled_from([0.0, 0.5, 1.0, np.sqrt(2.0)]), st.floats(0, 2), st.just(np.nan)),
    min_size=1,
    max_size=12,
)


@given(index_values)
def test_ranks_follow_the_documented_tie_rule(values):
    """1 = highest; a unit's rank is 1 + the number of units strictly above it (NaN below every value, NaN tied with
    NaN), so exactly equal values share a rank and the next skips ("1224"); the best rank is 1."""
    v = np.array(values)
    r = rank(xr.DataArray(v, dims="cluster")).values
    n = len(v)
    key = np.where(np.isnan(v), -np.inf, v)
    nan = np.isnan(v)
    for a in range(n):
        above = sum(1 for b in range(n) if (not nan[b]) and (nan[a] or key[b] > key[a]))
        assert r[a] == 1 + above, (a, v.tolist(), r.tolist())
    assert r.min() == 1 and r.max() <= n


@given(st.lists(index_values.filter(lambda v: len(v) == 5), min_size=1, max_size=4))
def test_rank_along_a_dim_of_a_batch_equals_ranking_each_row(rows):
    batch = xr.DataArray(np.array(rows), dims=("draw", "cluster"))
    got = rank(batch, "cluster").values
    for k, row in enumerate(rows):
        np.testing.assert_array_equal(got[k], rank(xr.DataArray(np.array(row), dims="cluster")).values)
    # ranking along the other axis through its name
    np.testing.assert_array_equal(rank(batch.T, "cluster").values, got.T)


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=20))
def test_classify_maps_the_two_flags_onto_the_four_scenarios(flags):
    c, r = np.array(flags).T
    codes = classify(c, r)
    names = np.array(SCENARIOS)[codes]
    expected = {(True, True): "supported", (True, False): "lonely", (False, False): "potential", (False, True): "late"}
    assert [expected[(bool(a), bool(b))] for a, b in flags] == names.tolist()


# the paper's 0.5 and 1.0 (where a unit holding every maximum sits exactly on the threshold) are drawn often
fractions = st.one_of(st.sampled_from([0.5, 1.0]), st.floats(0.05, 1.0))


@HEAVY_SETTINGS
@given(studies(), specs(), fractions, fractions)
def test_scenarios_are_consistent_with_the_thresholds(study, spec, fc, fr):
    ev = evaluate(study, spec, thresholds=ScenarioThresholds(cluster=fc, region=fr))
    ci = ev.cluster_index.values
    roc = ev.region_index_of_cluster.values
    # thresholds are the stated fraction of the attainable maximum, computed here independently
    w = study.weights.values
    top = {"equation1": np.sqrt(np.count_nonzero(w)), "quadratic": np.sqrt(w.sum()), "arithmetic": w.sum()}[spec.aggregation]
    assert float(ev.cluster_threshold) == pytest.approx(fc * top, rel=1e-12)
    rw = study.region_weights.values
    rtop = {"equation1": np.sqrt(np.count_nonzero(rw)), "quadratic": np.sqrt(rw.sum()), "arithmetic": rw.sum()}[spec.aggregation]
    assert float(ev.region_threshold) == pytest.approx(fr * rtop, rel=1e-12)
    # the region index of a cluster is its region's row of the region index
    pos = {r: k for k, r in enumerate(study.regions["region"].values)}
    np.testing.assert_array_equal(roc, ev.region_index.values[[pos[r] for r in study.clusters["region"].values]])
    labels = ev.scenario_labels()
    for i in range(len(ci)):
        high_c = ci[i] >= float(ev.cluster_threshold)
        high_r = roc[i] >= float(ev.region_threshold)
        want = "supported" if high_c and high_r else "lonely" if high_c else "late" if high_r else "potential"
        assert labels[i] == want
    counts = ev.scenario_counts.values
    assert counts.sum() == len(ci)
    assert counts.tolist() == [int((ev.scenario.values == k).sum()) for k in range(len(SCENARIOS))]
    assert list(ev.scenario_counts["scenario"].values) == list(SCENARIOS)


@HEAVY_SETTINGS
@given(studies(), specs(), st.lists(fractions, min_size=2, max_size=2, unique=True).map(sorted), fractions)
def test_a_higher_threshold_never_makes_more_units_high(study, spec, cluster_fracs, fr):
    lo, hi = (evaluate(study, spec, thresholds=ScenarioThresholds(cluster=f, region=fr)) for f in cluster_fracs)
    high = lambda ev: np.isin(ev.scenario.values, [0, 1])  # supported or lonely  # noqa: E731
    assert np.all(high(hi) <= high(lo))  # every unit high at the higher threshold is high at the lower one
    np.testing.assert_array_equal(lo.region_index.values, hi.region_index.values)


@HEAVY_SETTINGS
@given(studies(), specs(), st.data())
def test_evaluate_on_a_batch_of_weights_equals_one_call_per_vector(study, spec, data):
    W = data.draw(weight_batches(study.indicators.sizes["indicator"], max_batch=4))
    batch = evaluate(study, spec, weights=W)
    for k in range(len(W)):
        one = evaluate(study, spec, weights=W[k])
        np.testing.assert_allclose(batch.cluster_index.values[k], one.cluster_index.values, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(batch.cluster_rank.values[k], one.cluster_rank.values)
        np.testing.assert_array_equal(batch.scenario.values[k], one.scenario.values)
        np.testing.assert_array_equal(batch.scenario_counts.values[k], one.scenario_counts.values)
        np.testing.assert_allclose(batch.correlation.values[k], one.correlation.values, rtol=1e-10, atol=1e-12, equal_nan=True)
        assert float(batch.cluster_threshold[k]) == pytest.approx(float(one.cluster_threshold), rel=1e-14)


@HEAVY_SETTINGS
@given(studies(), specs())
def test_cluster_index_of_evaluate_is_compute_index(study, spec):
    ev = evaluate(study, spec)
    # Two code paths (the full evaluation and the index alone) reduce in different orders: equal to a few ulps,
    # not bit for bit (hypothesis 6.170.27 draws a 7-unit example that differs by 1 ulp). rtol 1e-12 is ~4500 ulps
    # of an index in [0, 1], far below the 1e-6 at which any reported number would change.
    np.testing.assert_allclose(ev.cluster_index.values, compute_index(study.indicators, study.weights, spec).values,
                               rtol=1e-12, atol=1e-15)
    v = ev.cluster_index.values
    above = (v[None, :] > v[:, None]).sum(axis=1)  # 1 + the number of units strictly above: tied units share a rank
    np.testing.assert_array_equal(ev.cluster_rank.values, 1 + above + np.where(np.isnan(v), (~np.isnan(v)).sum(), 0))


# realistic values (two decimals, up to 10**6): no denormal variances that underflow to 0
finite = st.integers(-10**8, 10**8).map(lambda k: k / 100)


@given(st.lists(st.tuples(finite, finite), min_size=2, max_size=30), st.floats(0.01, 100), st.floats(-100, 100))
def test_pearson(pairs, scale, shift):
    x, y = np.array(pairs).T
    r = pearson(x, y)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        assert np.isnan(r)
        return
    assert -1 - 1e-12 <= r <= 1 + 1e-12
    assert pearson(y, x) == pytest.approx(r, abs=1e-12)
    ref = np.corrcoef(x, y)[0, 1]
    if np.isfinite(ref):
        assert r == pytest.approx(ref, abs=1e-9)
    # invariant to a positive affine change of either variable (far from cancellation)
    if np.std(x) > 1e-6 * (np.abs(x).max() + 1) and np.std(y) > 1e-6 * (np.abs(y).max() + 1):
        assert pearson(scale * x + shift, y) == pytest.approx(r, abs=1e-7)
        assert pearson(-x, y) == pytest.approx(-r, abs=1e-12)
