"""Invariants of the general index model: normalisers, directions, aggregators and hierarchies of any depth."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import assume, given
from hypothesis import strategies as st

from clustermodel.index import compute_index, compute_scores
from clustermodel.normalise import normalise_array
from clustermodel.spec import IndexSpec
from clustermodel.structure import Structure

MONOTONE_NORMALISERS = ["max", "minmax", "rank", "prank", "borda", "target", "goalposts"]
AGGREGATIONS = ["arithmetic", "quadratic", "geometric", "harmonic", "equation1"]


@st.composite
def trees(draw, max_leaves=7):
    """A random hierarchy: leaves under pillars, pillars optionally under sub-indices, random weights and directions."""
    m = draw(st.integers(2, max_leaves))
    p = draw(st.integers(1, m))
    pillar_of = draw(st.lists(st.integers(0, p - 1), min_size=m, max_size=m))
    pillars = sorted(set(pillar_of))
    deep = len(pillars) > 1 and draw(st.booleans())
    nodes, parents = ["index"], [None]
    if deep:
        sub_of = {k: draw(st.integers(0, 1)) for k in pillars}
        for s in sorted(set(sub_of.values())):
            nodes.append(f"s{s}")
            parents.append("index")
        for k in pillars:
            nodes.append(f"p{k}")
            parents.append(f"s{sub_of[k]}")
    else:
        for k in pillars:
            nodes.append(f"p{k}")
            parents.append("index")
    for j in range(m):
        nodes.append(f"x{j}")
        parents.append(f"p{pillar_of[j]}")
    weights = [np.nan] + [draw(st.floats(0.05, 5.0)) for _ in nodes[1:]]
    directions = [1] * (len(nodes) - m) + draw(st.lists(st.sampled_from([1, -1]), min_size=m, max_size=m))
    return Structure(
        nodes,
        parents,
        weights,
        directions=directions,
        targets=[np.nan] * (len(nodes) - m) + [50.0] * m,
        goalpost_lower=[np.nan] * (len(nodes) - m) + [0.0] * m,
        goalpost_upper=[np.nan] * (len(nodes) - m) + [100.0] * m,
    )


def tables(tree, *, min_units=2, max_units=8, low=0.5, high=100.0, missing=False):
    m = len(tree.leaves)

    @st.composite
    def _t(draw):
        n = draw(st.integers(min_units, max_units))
        cells = st.floats(low, high, allow_nan=False) if not missing else st.one_of(st.floats(low, high), st.just(np.nan))
        x = np.array(draw(st.lists(st.lists(cells, min_size=m, max_size=m), min_size=n, max_size=n)))
        if missing:
            x[np.all(np.isnan(x), axis=1), 0] = low
        return xr.DataArray(x, dims=("unit", "indicator"), coords={"indicator": list(tree.leaves), "unit": [f"u{i}" for i in range(n)]})

    return _t()


@given(st.data())
def test_min_max_lies_in_the_unit_interval(data):
    n, m = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 4))
    x = np.array(data.draw(st.lists(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(np.nan)), min_size=m, max_size=m), min_size=n, max_size=n)))
    d = data.draw(st.lists(st.sampled_from([1, -1]), min_size=m, max_size=m))
    codes = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    out, present = normalise_array(x, method="minmax", directions=d, group_codes=codes)
    assert np.all((out >= 0) & (out <= 1))
    assert np.array_equal(present, ~np.isnan(x))


@given(st.sampled_from(["max", "minmax", "zscore", "rank", "prank", "borda"]), st.data())
def test_flipping_a_direction_reverses_the_normalised_order(method, data):
    n = data.draw(st.integers(2, 9))
    x = np.array(data.draw(st.lists(st.floats(0.0, 1e4), min_size=n, max_size=n)))[:, None]
    up = normalise_array(x, method=method, directions=[1])[0].ravel()
    down = normalise_array(x, method=method, directions=[-1])[0].ravel()
    for i in range(n):
        for k in range(n):
            if x[i, 0] > x[k, 0]:
                assert up[i] >= up[k] and down[i] <= down[k]
                if x[i, 0] - x[k, 0] > 1e-9 * np.ptp(x):  # clearly apart: strictly ordered both ways
                    assert up[i] > up[k] and down[i] < down[k]
            elif x[i, 0] == x[k, 0]:
                assert up[i] == up[k] and down[i] == down[k]


@given(trees(), st.sampled_from(["max", "minmax", "rank", "goalposts"]), st.data())
def test_geometric_never_exceeds_arithmetic_on_positive_data(tree, normalisation, data):
    x = data.draw(tables(tree))
    geo = compute_index(x, tree, IndexSpec(normalisation=normalisation, aggregation="geometric")).values
    ari = compute_index(x, tree, IndexSpec(normalisation=normalisation, aggregation="arithmetic")).values
    assert np.all(geo <= ari + 1e-12)


@given(trees(), st.data())
def test_a_one_level_structure_equals_the_flat_weights(tree, data):
    m = len(tree.leaves)
    w = np.array(data.draw(st.lists(st.floats(0.01, 10.0), min_size=m, max_size=m)))
    x = data.draw(tables(tree, missing=True))
    spec = IndexSpec(normalisation=data.draw(st.sampled_from(["max", "minmax", "zscore", "rank"])), aggregation=data.draw(st.sampled_from(["arithmetic", "quadratic", "equation1"])))
    flat = compute_index(x, dict(zip(tree.leaves, w)), spec).values
    tree1 = Structure(["top", *tree.leaves], [None] + ["top"] * m, [np.nan, *(3.0 * w)])  # the same relative weights
    np.testing.assert_allclose(compute_index(x, tree1, spec).values, flat, rtol=1e-12, atol=1e-12)


@given(trees(), st.sampled_from(AGGREGATIONS), st.floats(1e-3, 1e3), st.data())
def test_scaling_the_weights_of_one_parent_changes_no_score(tree, aggregation, c, data):
    x = data.draw(tables(tree))
    parent = data.draw(st.sampled_from(tree.aggregates))
    spec = IndexSpec(normalisation="minmax", aggregation=aggregation)
    w = tree.weight_array()
    scaled = w.copy()
    for k, v in enumerate(tree.weighted):
        if tree.parent(v) == parent:
            scaled[k] *= c
    before = compute_scores(x, w, spec, structure=tree).values
    after = compute_scores(x, scaled, spec, structure=tree).values
    np.testing.assert_allclose(after, before, rtol=1e-10, atol=1e-12)


@given(trees(), st.sampled_from(MONOTONE_NORMALISERS), st.sampled_from(AGGREGATIONS), st.data())
def test_a_unit_that_dominates_every_indicator_ranks_first(tree, normalisation, aggregation, data):
    x = data.draw(tables(tree, min_units=2, low=1.0, high=90.0))
    directions = np.array(tree.attribute("directions"))
    dom = data.draw(st.integers(0, x.sizes["unit"] - 1), label="dominant unit")
    best = np.where(directions > 0, x.values.max(axis=0) + 1.0, x.values.min(axis=0) - 0.5)
    assume(np.all(best > 0))
    x.values[dom] = best
    idx = compute_index(x, tree, IndexSpec(normalisation=normalisation, aggregation=aggregation)).values
    assert idx[dom] >= idx.max() - 1e-12


@given(trees(), st.data())
def test_z_scores_with_the_arithmetic_mean_rank_a_dominant_unit_first(tree, data):
    x = data.draw(tables(tree, min_units=3))
    directions = np.array(tree.attribute("directions"))
    dom = data.draw(st.integers(0, x.sizes["unit"] - 1))
    x.values[dom] = np.where(directions > 0, x.values.max(axis=0) + 1.0, x.values.min(axis=0) - 1.0)
    idx = compute_index(x, tree, IndexSpec(normalisation="zscore", aggregation="arithmetic")).values
    assert idx[dom] >= idx.max() - 1e-12


@pytest.mark.filterwarnings("ignore:.*imputed with the mean:clustermodel._errors.ClusterModelWarning")
@given(trees(), st.data())
def test_batched_weights_of_every_level_equal_one_call_per_vector(tree, data):
    x = data.draw(tables(tree, missing=True))
    k = len(tree.weighted)
    W = np.array(data.draw(st.lists(st.lists(st.floats(0.01, 5.0), min_size=k, max_size=k), min_size=1, max_size=4)))
    spec = IndexSpec(aggregation=data.draw(st.sampled_from(AGGREGATIONS)), missing=data.draw(st.sampled_from(["rescale", "zero", "mean"])))
    batch = compute_scores(x, W, spec, structure=tree).values
    for r in range(len(W)):
        np.testing.assert_allclose(batch[r], compute_scores(x, W[r], spec, structure=tree).values, rtol=1e-12, atol=1e-14)


@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6).flatmap(
        lambda x: st.tuples(st.just(x), st.lists(st.floats(0.01, 10.0), min_size=len(x), max_size=len(x)))
    ),
    st.lists(st.sampled_from([-4.0, -2.0, -1.0, -0.5, 0.25, 0.5, 1.0, 2.0, 3.0]), min_size=2, max_size=4, unique=True),
)
def test_the_generalised_mean_lies_between_its_children_and_grows_with_its_order(children, orders):
    """The power-mean inequality: for p < q, M_p <= M_q, and min <= M_p <= max (a zero child: M_p = 0 for p < 0)."""
    from clustermodel.aggregate import aggregate_array

    x, w = np.array([children[0]]), np.array(children[1])
    ones = np.ones_like(x, dtype=bool)
    values = [float(aggregate_array(x, ones, w, aggregation=f"genmean:{p}")[0]) for p in sorted(orders)]
    tol = 1e-12
    for p, m in zip(sorted(orders), values):
        assert x.min() - tol <= m <= x.max() + tol
        if p < 0 and x.min() == 0:
            assert m == 0.0
    assert all(a <= b + tol for a, b in zip(values, values[1:]))
