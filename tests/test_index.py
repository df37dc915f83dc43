import numpy as np
import pytest
import xarray as xr

from clustermodel import ClusterModelError, IndexSpec, PAPER_SPEC
from clustermodel.index import compute_index, rank
from clustermodel.normalise import normalise_array


def _da(values, groups=None):
    values = np.asarray(values, float)
    coords = {"indicator": [f"i{j}" for j in range(values.shape[1])]}
    if groups is not None:
        coords["group"] = ("cluster", list(groups))
    return xr.DataArray(values, dims=("cluster", "indicator"), coords=coords)


def test_hand_computed_equation1():
    x = _da([[1.0, 10.0], [2.0, 5.0]])
    got = compute_index(x, [0.3, 0.7], PAPER_SPEC.replace(reference="sample")).values
    np.testing.assert_allclose(got, [np.sqrt(0.25 + 1.0), np.sqrt(1.0 + 0.25)])


def test_equation1_weights_cancel_quadratic_does_not(paper):
    a = compute_index(paper, [0.21, 0.31, 0.22, 0.26])
    b = compute_index(paper, [0.70, 0.10, 0.10, 0.10])
    np.testing.assert_array_equal(a.values, b.values)
    q = PAPER_SPEC.replace(aggregation="quadratic")
    qa = compute_index(paper.indicators, [0.21, 0.31, 0.22, 0.26], q)
    qb = compute_index(paper.indicators, [0.70, 0.10, 0.10, 0.10], q)
    assert np.max(np.abs(qa.values - qb.values)) > 0.05


def test_quadratic_and_arithmetic_hand_values():
    x = _da([[1.0, 10.0], [2.0, 5.0]])
    w = [0.3, 0.7]
    q = compute_index(x, w, PAPER_SPEC.replace(reference="sample", aggregation="quadratic")).values
    np.testing.assert_allclose(q, [np.sqrt(0.3 * 0.25 + 0.7), np.sqrt(0.3 + 0.7 * 0.25)])
    a = compute_index(x, w, PAPER_SPEC.replace(reference="sample", aggregation="arithmetic")).values
    np.testing.assert_allclose(a, [0.3 * 0.5 + 0.7, 0.3 + 0.7 * 0.5])


def test_group_reference_uses_group_maxima():
    x = _da([[1.0], [2.0], [4.0]], groups=["A", "A", "B"])
    np.testing.assert_allclose(compute_index(x, [1.0], PAPER_SPEC.replace(reference="group")).values, [0.5, 1.0, 1.0])
    np.testing.assert_allclose(compute_index(x, [1.0], PAPER_SPEC.replace(reference="sample")).values, [0.25, 0.5, 1.0])


def test_zero_maximum_contributes_zero_not_nan():
    x = _da([[0.0, 1.0], [0.0, 2.0], [np.nan, 3.0]])
    got = compute_index(x, [0.5, 0.5], PAPER_SPEC.replace(reference="sample")).values
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, [1 / 3, 2 / 3, 1.0])


def test_missing_policies():
    x = _da([[np.nan, 1.0], [2.0, 2.0]])
    zero = compute_index(x, [0.5, 0.5], PAPER_SPEC.replace(reference="sample", aggregation="quadratic")).values
    resc = compute_index(x, [0.5, 0.5], PAPER_SPEC.replace(reference="sample", aggregation="quadratic", missing="rescale")).values
    np.testing.assert_allclose(zero, [np.sqrt(0.5 * 0.25), 1.0])
    np.testing.assert_allclose(resc, [np.sqrt(0.5 * 0.25 * (1.0 / 0.5)), 1.0])


def test_negative_policies():
    x = _da([[-2.0], [1.0]])
    sq = compute_index(x, [1.0], PAPER_SPEC.replace(reference="sample")).values
    np.testing.assert_allclose(sq, [2.0, 1.0])  # (-2/1)^2 -> a deficit scores above the maximum
    z = compute_index(x, [1.0], PAPER_SPEC.replace(reference="sample", negative="zero")).values
    np.testing.assert_allclose(z, [0.0, 1.0])
    with pytest.raises(ClusterModelError, match="negative='error'"):
        compute_index(x, [1.0], PAPER_SPEC.replace(reference="sample", negative="error"))


def test_batched_equals_one_by_one(paper):
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.ones(4), size=50)
    spec = PAPER_SPEC.replace(aggregation="quadratic")
    batch = compute_index(paper.indicators, W, spec).values
    for k in range(0, 50, 7):
        np.testing.assert_allclose(batch[k], compute_index(paper.indicators, W[k], spec).values, rtol=1e-14)


def test_weights_as_dataarray_with_named_batch_dim(paper):
    W = xr.DataArray(np.full((3, 4), 0.25), dims=("draw", "indicator"), coords={"indicator": paper.weights["indicator"].values})
    out = compute_index(paper, W)
    assert out.dims == ("draw", "cluster")


def test_weight_label_errors(paper):
    with pytest.raises(ClusterModelError, match="no weight for indicator"):
        compute_index(paper.indicators, {"export_volume": 1.0})
    bad = dict(zip(paper.weights["indicator"].values, [0.25] * 4), extra=0.1)
    with pytest.raises(ClusterModelError, match="indicator\\(s\\) the data lacks: extra"):
        compute_index(paper.indicators, bad)
    with pytest.raises(ClusterModelError, match="negative weight"):
        compute_index(paper.indicators, [0.5, 0.5, 0.5, -0.5])


def test_group_reference_needs_group_column():
    with pytest.raises(ClusterModelError, match="needs a 'group' column"):
        compute_index(_da([[1.0]]), [1.0], PAPER_SPEC.replace(reference="group"))


def test_rank_gives_tied_units_one_rank():
    idx = xr.DataArray([0.5, 0.9, 0.5, 0.1], dims="cluster")
    assert rank(idx).values.tolist() == [2, 1, 2, 4]


def test_normalise_array_batched_groups():
    x = np.array([[[1.0], [2.0]], [[4.0], [2.0]]])
    n, present = normalise_array(x, group_codes=np.array([0, 0]))
    np.testing.assert_allclose(n[..., 0], [[0.5, 1.0], [1.0, 0.5]])
    assert present.all()


def test_spec_rejects_unknown_option():
    with pytest.raises(ClusterModelError, match="`reference` must be one of 'sample', 'group'"):
        PAPER_SPEC.replace(reference="industry")


def test_normalised_range_maps_minmax_and_rank_onto_lower_upper():
    """[lower, upper] is the affine image of [0, 1] (closed form), the arithmetic ranking does not change, and a
    geometric mean no longer sends the worst unit on any indicator to zero."""
    import numpy as np
    import xarray as xr

    from clustermodel.index import compute_index, construct
    from clustermodel.spec import IndexSpec

    rng = np.random.default_rng(0)
    x = xr.DataArray(rng.random((12, 3)) * 10, dims=("unit", "indicator"), coords={"indicator": ["a", "b", "c"]})
    w = {"a": 1, "b": 2, "c": 1}
    for method in ("minmax", "rank"):
        base = IndexSpec(normalisation=method)
        wide = base.replace(normalised_range=(1, 100))
        n0 = construct(x, base, weights=w).normalised
        n1 = construct(x, wide, weights=w).normalised
        assert np.allclose(n1, 1 + 99 * n0)
        i0, i1 = compute_index(x, w, base).values, compute_index(x, w, wide).values
        assert np.allclose(i1, 1 + 99 * i0)
    geo = IndexSpec(aggregation="geometric")
    assert (compute_index(x, w, geo).values == 0).sum() >= 1
    assert (compute_index(x, w, geo.replace(normalised_range=(1, 100))).values > 1).all()
    assert IndexSpec.from_dict({"normalised_range": [1, 100]}).normalised_range == (1.0, 100.0)


def test_rank_values_are_scipy_min_ranks_with_nan_last():
    """Against scipy.stats.rankdata(method='min') of the negated values row by row, NaN ranked after every value
    (all NaN of a row together), on rows with and without ties (exact duplicates, several NaN, -inf, -0.0 against
    0.0, a row of NaN) and along either axis: tied units share the best rank of their group, the next one skips."""
    import scipy.stats

    from clustermodel.index import rank_values

    rng = np.random.default_rng(5)
    x = rng.random((200, 37))
    x[::3, 5] = x[::3, 9]  # a tie in every third row
    x[1::7, [2, 30]] = np.nan
    x[2::11, 4] = -np.inf
    x[5, :] = 0.0
    x[5, 3] = -0.0
    x[6, :] = np.round(x[6, :], 1)  # many ties
    x[7, :] = np.nan
    want = np.empty(x.shape, dtype=np.int64)
    for i, row in enumerate(x):
        ok = ~np.isnan(row)
        want[i, ok] = scipy.stats.rankdata(-row[ok], method="min")
        want[i, ~ok] = ok.sum() + 1
    assert np.array_equal(rank_values(x), want)
    assert np.array_equal(rank_values(x.T, axis=0), want.T)
    assert rank_values(x, dtype=float).dtype == float
    assert rank_values([0.3, 0.0, 0.9, 0.0, 0.0]).tolist() == [2, 3, 1, 3, 3]
