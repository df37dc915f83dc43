"""Invariants of the index (normalise -> aggregate -> compute_index) as hypothesis properties.

Each property states what a methodologist should be able to rely on; the
strategies in ``strategies.py`` generate paper-like tables with missing cells,
zero columns and groups of one. Tolerances: results that go through a
different sequence of floating-point operations are compared with
``rtol=1e-12``; results computed by the same operations are compared exactly.
"""

import numpy as np
import pytest
import xarray as xr
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import HEAVY_SETTINGS, indicator_tables, specs, weight_batches, weight_vectors

from clustermodel import ClusterModelError
from clustermodel.aggregate import aggregate_array
from clustermodel.index import compute_index, index_maximum
from clustermodel.normalise import normalise_array

RTOL = 1e-12
ATOL = 1e-12


def _index(x, w, spec):
    return compute_index(x, w, spec).values


def _reference_sets(x, spec):
    """List of arrays of unit positions sharing a reference set."""
    n = x.sizes["cluster"]
    if spec.reference == "sample":
        return [np.arange(n)]
    g = x["group"].values
    return [np.flatnonzero(g == v) for v in np.unique(g)]


def _literal_equation1(x, w, spec):
    """Equation 1 exactly as printed, weights included, written with loops.

    I_i = sqrt( sum_j ( a_j x_ij / max_k a_j x_kj )^2 ), the maximum over the
    unit's reference set; a term whose maximum is not positive or whose value is
    missing contributes 0, and so does a zero weight (0/0).
    """
    v = x.values.copy()
    if spec.negative == "zero":
        v = np.where(v < 0, 0.0, v)
    n, m = v.shape
    out = np.zeros(n)
    for members in _reference_sets(x, spec):
        for i in members:
            total = 0.0
            for j in range(m):
                weighted = [w[j] * v[k, j] for k in members if not np.isnan(v[k, j])]
                ref = max(weighted) if weighted else -np.inf
                if w[j] > 0 and ref > 0 and not np.isnan(v[i, j]):
                    total += (w[j] * v[i, j] / ref) ** 2
            out[i] = np.sqrt(total)
    return out


tables_and_weights = indicator_tables().flatmap(
    lambda x: st.tuples(st.just(x), weight_vectors(x.sizes["indicator"]))
)


@given(indicator_tables(negative=True), st.data())
def test_equation1_is_the_printed_formula(x, data):
    """compute_index under 'equation1' equals the printed formula evaluated literally, weights and all."""
    w = data.draw(weight_vectors(x.sizes["indicator"], allow_zero=True))
    spec = data.draw(specs(aggregation="equation1", missing="zero"))
    np.testing.assert_allclose(_index(x, w, spec), _literal_equation1(x, w, spec), rtol=RTOL, atol=ATOL)


@given(indicator_tables(negative=True), st.data())
def test_equation1_ignores_any_positive_weight_vector(x, data):
    m = x.sizes["indicator"]
    w1 = data.draw(weight_vectors(m), label="w1")
    w2 = data.draw(weight_vectors(m), label="w2")
    spec = data.draw(specs(aggregation="equation1"))
    np.testing.assert_array_equal(_index(x, w1, spec), _index(x, w2, spec))


@given(indicator_tables(negative=True), st.data())
def test_every_variant_is_invariant_to_a_change_of_units(x, data):
    """Multiplying one indicator by c > 0 (bln -> mln RUB, counts -> thousands) changes no index."""
    m = x.sizes["indicator"]
    w = data.draw(weight_vectors(m))
    spec = data.draw(specs())
    j = data.draw(st.integers(0, m - 1), label="indicator")
    c = data.draw(st.sampled_from([1e-3, 0.01, 0.5, 3.0, 1000.0, 1e6]), label="c")
    y = x.copy()
    y[:, j] = x[:, j] * c
    np.testing.assert_allclose(_index(y, w, spec), _index(x, w, spec), rtol=RTOL, atol=ATOL)


@given(indicator_tables(negative=True), st.data())
def test_scaling_all_weights(x, data):
    """Weights are relative within their parent: a common factor c changes no score under any aggregation."""
    w = data.draw(weight_vectors(x.sizes["indicator"]))
    spec = data.draw(specs())
    c = data.draw(st.floats(1e-3, 1e3), label="c")
    before, after = _index(x, w, spec), _index(x, c * w, spec)
    np.testing.assert_allclose(after, before, rtol=1e-11, atol=ATOL)


@given(indicator_tables(negative=True), st.data())
def test_weighted_variants_are_weighted_sums_of_single_indicator_scores(x, data):
    """'quadratic': I(w)^2 = sum_j w_j I_j^2 and 'arithmetic': I(w) = sum_j w_j I_j, where I_j is the
    index of the table reduced to indicator j (weight 1). So, unlike Equation 1, they depend on the
    weights: moving weight d from j to k changes a unit's I^2 (or I) by d (I_k^2 - I_j^2)."""
    m = x.sizes["indicator"]
    w = data.draw(weight_vectors(m, allow_zero=True))
    spec = data.draw(specs(aggregation=st.sampled_from(["quadratic", "arithmetic"]), missing="zero"))
    # I_j for every j in one batched call: the unit weight vectors e_j score indicator j alone
    single = _index(x, np.eye(m), spec).T  # (n, m)
    if m > 1:
        np.testing.assert_allclose(single[:, -1], _index(x[:, [m - 1]], [1.0], spec), rtol=RTOL, atol=ATOL)
    got = _index(x, w, spec)
    share = w / w.sum()  # weights are relative: the weighted means use the shares
    if spec.aggregation == "quadratic":
        np.testing.assert_allclose(got**2, (single**2) @ share, rtol=1e-11, atol=ATOL)
    else:
        np.testing.assert_allclose(got, single @ share, rtol=1e-11, atol=1e-9)
    if m >= 2:
        j, k = data.draw(st.permutations(range(m)), label="j,k")[:2]
        assume(w[j] > 0)
        d = w[j] / 2
        w2 = w.copy()
        w2[j] -= d
        w2[k] += d
        moved = _index(x, w2, spec)
        terms = single**2 if spec.aggregation == "quadratic" else single
        lhs = moved**2 - got**2 if spec.aggregation == "quadratic" else moved - got
        np.testing.assert_allclose(lhs, d / w.sum() * (terms[:, k] - terms[:, j]), rtol=1e-9, atol=1e-9)
        changed = np.abs(terms[:, k] - terms[:, j]) * d > 1e-6 * (1 + w.sum())
        assert np.all(moved[changed] != got[changed])


@given(indicator_tables(), st.data())
def test_bounds_for_non_negative_data(x, data):
    """0 <= I <= attainable maximum (sqrt(number of positive weights) under Equation 1, 1 for the
    weighted means, whose weights are relative); 'rescale' gives NaN exactly for a unit with no
    observed weighted indicator."""
    m = x.sizes["indicator"]
    w = data.draw(weight_vectors(m, allow_zero=True))
    spec = data.draw(specs())
    got = _index(x, w, spec)
    top = float(index_maximum(x, w, spec))
    expected_top = {
        "equation1": np.sqrt(np.count_nonzero(w)),
        "quadratic": 1.0,
        "arithmetic": 1.0,
    }[spec.aggregation]
    assert top == pytest.approx(expected_top, rel=1e-14)
    observed = (~np.isnan(x.values) & (w > 0)).any(axis=1)
    if spec.missing == "rescale":
        assert np.array_equal(np.isnan(got), ~observed)
    else:
        assert not np.isnan(got).any()
    ok = got[~np.isnan(got)]
    assert np.all(ok >= 0)
    assert np.all(ok <= top * (1 + 1e-12))
    if spec.aggregation == "equation1":
        assert np.all(ok <= np.sqrt(m) * (1 + 1e-12))


@given(indicator_tables(), st.data())
def test_holder_of_every_maximum_scores_the_attainable_maximum(x, data):
    """A unit holding the (positive) maximum of every indicator of its reference set scores the maximum:
    sqrt(m) under Equation 1 with positive weights."""
    m = x.sizes["indicator"]
    spec = data.draw(specs())
    w = data.draw(weight_vectors(m))
    i = data.draw(st.integers(0, x.sizes["cluster"] - 1), label="holder")
    members = next(s for s in _reference_sets(x, spec) if i in s)
    y = x.copy()
    for j in range(m):
        col = x.values[members, j]
        top = np.nanmax(col) if not np.all(np.isnan(col)) else 0.0
        y[i, j] = top if top > 0 else 1.0
    got = _index(y, w, spec)[i]
    assert got == pytest.approx(float(index_maximum(x, w, spec)), rel=1e-12)
    if spec.aggregation == "equation1":
        assert got == pytest.approx(np.sqrt(m), rel=1e-12)


@given(indicator_tables(negative=True), st.data())
def test_a_unit_that_is_zero_everywhere_scores_zero(x, data):
    spec = data.draw(specs())
    w = data.draw(weight_vectors(x.sizes["indicator"], allow_zero=True))
    groups = list(np.unique(x["group"].values)) + ["a group of its own"]
    g = data.draw(st.sampled_from(groups), label="group")
    fill = data.draw(st.sampled_from([0.0, np.nan]), label="fill") if spec.missing == "zero" else 0.0
    row = xr.DataArray(
        np.full((1, x.sizes["indicator"]), fill),
        dims=("cluster", "indicator"),
        coords={"cluster": [0], "indicator": x["indicator"].values, "group": ("cluster", [g])},
    )
    got = _index(xr.concat([x, row], dim="cluster"), w, spec)
    assert got[-1] == 0.0


@given(indicator_tables(negative=True), st.data())
def test_permuting_units_permutes_the_index(x, data):
    spec = data.draw(specs())
    w = data.draw(weight_vectors(x.sizes["indicator"], allow_zero=True))
    perm = np.array(data.draw(st.permutations(range(x.sizes["cluster"])), label="perm"))
    before = _index(x, w, spec)
    after = _index(x.isel(cluster=perm), w, spec)
    np.testing.assert_allclose(after, before[perm], rtol=RTOL, atol=ATOL)


@given(indicator_tables(negative=True), st.data())
def test_permuting_indicators_with_their_weights_changes_nothing(x, data):
    spec = data.draw(specs())
    m = x.sizes["indicator"]
    w = data.draw(weight_vectors(m, allow_zero=True))
    perm = np.array(data.draw(st.permutations(range(m)), label="perm"))
    # positional weights follow the permuted columns …
    np.testing.assert_allclose(_index(x[:, perm], w[perm], spec), _index(x, w, spec), rtol=RTOL, atol=ATOL)
    # … and labelled weights are aligned by name whatever their order
    labelled = xr.DataArray(w[perm], dims="indicator", coords={"indicator": x["indicator"].values[perm]})
    np.testing.assert_allclose(_index(x, labelled, spec), _index(x, w, spec), rtol=RTOL, atol=ATOL)


@given(indicator_tables(), st.data())
def test_adding_a_dominated_unit_leaves_the_others_unchanged(x, data):
    """A new unit that some unit of its reference set beats (>=) in every indicator changes no other score."""
    spec = data.draw(specs())
    w = data.draw(weight_vectors(x.sizes["indicator"], allow_zero=True))
    k = data.draw(st.integers(0, x.sizes["cluster"] - 1), label="dominating unit")
    fractions = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.999, 1.0, np.nan]), min_size=x.sizes["indicator"], max_size=x.sizes["indicator"])))
    values = x.values[k] * fractions  # NaN where the dominating unit is missing or the new one is
    g = x["group"].values[k] if spec.reference == "group" else data.draw(st.sampled_from(list(np.unique(x["group"].values))))
    row = xr.DataArray(
        values[None, :],
        dims=("cluster", "indicator"),
        coords={"cluster": [0], "indicator": x["indicator"].values, "group": ("cluster", [g])},
    )
    at = data.draw(st.integers(0, x.sizes["cluster"]), label="insert at")
    y = xr.concat([x[:at], row, x[at:]], dim="cluster")
    got = np.delete(_index(y, w, spec), at)
    np.testing.assert_allclose(got, _index(x, w, spec), rtol=RTOL, atol=ATOL)


@given(indicator_tables(), st.data())
def test_raising_a_value_never_lowers_the_own_index_nor_raises_another(x, data):
    spec = data.draw(specs())
    w = data.draw(weight_vectors(x.sizes["indicator"], allow_zero=True))
    present = np.argwhere(~np.isnan(x.values))
    assume(len(present))
    i, j = present[data.draw(st.integers(0, len(present) - 1), label="cell")]
    step = data.draw(st.sampled_from([1e-9, 0.01, 1.0, 10.0, 1e4]), label="step")
    y = x.copy()
    y[i, j] = x.values[i, j] + step * max(abs(x.values[i, j]), 1.0)
    before, after = _index(x, w, spec), _index(y, w, spec)
    # 'rescale' gives NaN to a unit without observed weighted indicator; raising a present value keeps that
    np.testing.assert_array_equal(np.isnan(after), np.isnan(before))
    if not np.isnan(before[i]):
        assert after[i] >= before[i] * (1 - 1e-12)
    others = (np.arange(x.sizes["cluster"]) != i) & ~np.isnan(before)
    assert np.all(after[others] <= before[others] * (1 + 1e-12) + 1e-15)


@HEAVY_SETTINGS
@given(indicator_tables(negative=True), st.data())
def test_batched_weights_equal_one_call_per_vector(x, data):
    spec = data.draw(specs())
    W = data.draw(weight_batches(x.sizes["indicator"], allow_zero=True))
    batch = _index(x, W, spec)
    assert batch.shape == (len(W), x.sizes["cluster"])
    for k in range(len(W)):
        np.testing.assert_allclose(batch[k], _index(x, W[k], spec), rtol=RTOL, atol=ATOL)
    top = index_maximum(x, W, spec).values
    for k in range(len(W)):
        assert top[k] == pytest.approx(float(index_maximum(x, W[k], spec)), rel=1e-14)


@given(st.lists(indicator_tables(min_units=3, max_units=3, min_indicators=2, max_indicators=2, negative=True), min_size=1, max_size=4), st.booleans())
def test_normalise_batched_over_data_equals_one_call_per_table(tables, by_group):
    """The bootstrap path: a stack of tables, each normalised by its own maxima."""
    xs = np.stack([t.values for t in tables])
    codes = np.array([[0, 0, 1]] * len(tables)) if by_group else None
    n, present = normalise_array(xs, group_codes=codes)
    for b, t in enumerate(tables):
        nb, pb = normalise_array(t.values, group_codes=None if codes is None else codes[b])
        np.testing.assert_array_equal(n[b], nb)
        np.testing.assert_array_equal(present[b], pb)


@given(indicator_tables(), st.booleans())
def test_normalised_values_lie_in_unit_interval_and_each_positive_maximum_is_one(x, by_group):
    codes = np.unique(x["group"].values, return_inverse=True)[1] if by_group else None
    n, present = normalise_array(x.values, group_codes=codes)
    assert np.all((n >= 0) & (n <= 1))
    assert np.array_equal(present, ~np.isnan(x.values))
    sets = [np.flatnonzero(codes == c) for c in np.unique(codes)] if by_group else [np.arange(x.sizes["cluster"])]
    for members in sets:
        for j in range(x.sizes["indicator"]):
            col = x.values[members, j]
            if np.any(col > 0):
                assert n[members, j].max() == 1.0
            else:
                assert np.all(n[members, j] == 0.0)


@given(indicator_tables(negative=True), st.data())
def test_group_reference_is_the_sample_reference_applied_within_each_group(x, data):
    """Groups of one included: under reference='group' every group is scored as if it were the sample."""
    spec = data.draw(specs(reference="group"))
    w = data.draw(weight_vectors(x.sizes["indicator"], allow_zero=True))
    got = _index(x, w, spec)
    for members in _reference_sets(x, spec):
        alone = _index(x.isel(cluster=members), w, spec.replace(reference="sample"))
        np.testing.assert_allclose(got[members], alone, rtol=RTOL, atol=ATOL)


@given(indicator_tables(negative=True), st.data())
def test_a_zero_weight_drops_its_indicator(x, data):
    spec = data.draw(specs())
    m = x.sizes["indicator"]
    assume(m >= 2)
    w = data.draw(weight_vectors(m))
    j = data.draw(st.integers(0, m - 1), label="dropped")
    w0 = w.copy()
    w0[j] = 0.0
    keep = [k for k in range(m) if k != j]
    np.testing.assert_allclose(_index(x, w0, spec), _index(x[:, keep], w[keep], spec), rtol=RTOL, atol=ATOL)


@given(indicator_tables(negative=True), st.data())
def test_missing_policies(x, data):
    """'zero' scores a missing cell exactly like a printed 0; 'rescale' multiplies the sum by
    (total weight) / (weight of the observed indicators)."""
    spec = data.draw(specs(missing="zero"))
    w = data.draw(weight_vectors(x.sizes["indicator"], allow_zero=True))
    zero = _index(x, w, spec)
    np.testing.assert_array_equal(zero, _index(x.fillna(0.0), w, spec))
    rescaled = _index(x, w, spec.replace(missing="rescale"))
    e = (w > 0).astype(float) if spec.aggregation == "equation1" else w
    observed = (~np.isnan(x.values)).astype(float) @ e
    ok = observed > 0
    factor = e.sum() / observed[ok]
    if spec.aggregation == "arithmetic":
        np.testing.assert_allclose(rescaled[ok], zero[ok] * factor, rtol=1e-11, atol=ATOL)
    else:
        np.testing.assert_allclose(rescaled[ok] ** 2, zero[ok] ** 2 * factor, rtol=1e-11, atol=ATOL)


@given(indicator_tables(min_indicators=2, negative=True), st.data())
def test_negative_values_break_the_bound_under_square_but_not_under_zero(x, data):
    """Finding: with negative='keep' (Table 6 as published) a deficit larger than the reference
    maximum is squared into a term above 1, so the sqrt(m) bound fails; with negative='zero' it holds
    for any data, and equals scoring the table with negatives clipped to 0."""
    m = x.sizes["indicator"]
    w = data.draw(weight_vectors(m))
    zspec = data.draw(specs(aggregation="equation1", negative="zero"))
    clipped = x.where(~(x < 0), 0.0)
    zero = _index(x, w, zspec)
    np.testing.assert_array_equal(zero, _index(clipped, w, zspec))
    assert np.all(zero[~np.isnan(zero)] <= np.sqrt(m) * (1 + 1e-12))  # NaN: 'rescale' with nothing observed
    # a unit holding every other maximum and a deficit k times the (positive) maximum of indicator j
    i = data.draw(st.integers(0, x.sizes["cluster"] - 1), label="unit")
    j = data.draw(st.integers(0, m - 1), label="deficit indicator")
    k = data.draw(st.floats(1.01, 100.0), label="k")
    sspec = zspec.replace(negative="keep", missing="zero")
    members = next(s for s in _reference_sets(x, sspec) if i in s)
    assume(len(members) >= 2)  # in a reference set of one, a negative value is its own maximum and scores 0
    y = x.copy()
    for jj in range(m):
        col = x.values[members, jj]
        top = np.nanmax(col) if not np.all(np.isnan(col)) else 0.0
        y[i, jj] = top if top > 0 else 1.0
    p = next(q for q in members if q != i)
    y[p, j] = y.values[i, j]  # another unit holds the maximum of j …
    y[i, j] = -k * y.values[p, j]  # … and unit i a deficit k times as large
    square = _index(y, w, sspec)[i]
    assert square == pytest.approx(np.sqrt(m - 1 + k**2), rel=1e-12)
    assert square > np.sqrt(m)
    assert _index(y, w, sspec.replace(negative="zero"))[i] == pytest.approx(np.sqrt(m - 1), rel=1e-12)
    with pytest.raises(ClusterModelError, match="negative='error'"):
        _index(y, w, sspec.replace(negative="error"))


@given(st.lists(indicator_tables(min_units=4, max_units=4, min_indicators=3, max_indicators=3, negative=True), min_size=1, max_size=4), st.data())
def test_aggregate_pairs_a_batch_of_tables_with_a_batch_of_weights(tables, data):
    """The bootstrap path: resample b is scored with weight vector b, in one broadcasting call."""
    spec = data.draw(specs())
    W = np.stack([data.draw(weight_vectors(3, allow_zero=True)) for _ in tables])
    xs = np.stack([t.values for t in tables])
    n, present = normalise_array(xs, negative=spec.negative)
    got = aggregate_array(n, present, W, aggregation=spec.aggregation, missing=spec.missing)
    assert got.shape == (len(tables), 4)
    for b, t in enumerate(tables):
        one = compute_index(t, W[b], spec.replace(reference="sample")).values
        np.testing.assert_allclose(got[b], one, rtol=RTOL, atol=ATOL)
