"""Every construction step against small examples computed by hand.

Formulas: OECD/JRC (2008) *Handbook on Constructing Composite Indicators*, sections 3 (imputation, outliers),
5 (normalisation) and 6 (weighting and aggregation); COINr's documentation of ``n_minmax``, ``n_zscore``,
``n_prank``, ``n_dist2targ``, ``n_goalposts``, ``a_amean``, ``a_gmean``, ``a_hmean``, ``Treat`` (``winsorise``,
``log_CT``) and ``Denominate``. The expected values below are written out from those formulas, never taken from
clustermodel's output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import xarray as xr

from clustermodel import ClusterModelError, ClusterModelWarning, IndexSpec
from clustermodel.aggregate import aggregate_array
from clustermodel.denominate import denominate_array
from clustermodel.impute import impute_array
from clustermodel.index import compute_index, compute_scores, construct, index_maximum
from clustermodel.normalise import normalise_array
from clustermodel.structure import Structure
from clustermodel.treat import skew_kurtosis, treat_array

X = np.array([[2.0], [4.0], [10.0]])


def _norm(method, x=X, **kw):
    return normalise_array(x, method=method, **kw)[0].ravel()


# ------------------------------------------------------------------ normalisation (Handbook section 5)
def test_ratio_to_maximum_and_its_reflection():
    np.testing.assert_allclose(_norm("max"), [2 / 10, 4 / 10, 1.0])
    # lower is better: reflected within the set (max + min - x), then divided by the maximum
    np.testing.assert_allclose(_norm("max", directions=[-1]), [(10 + 2 - 2) / 10, (10 + 2 - 4) / 10, (10 + 2 - 10) / 10])


def test_min_max():
    np.testing.assert_allclose(_norm("minmax"), [0.0, 2 / 8, 1.0])
    np.testing.assert_allclose(_norm("minmax", directions=[-1]), [1.0, 6 / 8, 0.0])


def test_z_score_uses_the_n_minus_1_standard_deviation():
    mean = (2 + 4 + 10) / 3
    sd = math.sqrt(((2 - mean) ** 2 + (4 - mean) ** 2 + (10 - mean) ** 2) / 2)
    np.testing.assert_allclose(_norm("zscore"), [(2 - mean) / sd, (4 - mean) / sd, (10 - mean) / sd])
    np.testing.assert_allclose(_norm("zscore", directions=[-1]), [(mean - 2) / sd, (mean - 4) / sd, (mean - 10) / sd])


@pytest.mark.parametrize("scale", [1e-162, 1e-300, 1.0, 1e160, 1e300])
def test_z_score_does_not_depend_on_the_scale_of_the_data(scale):
    # a z-score is scale free: near 1e-162 the squared deviations underflow to 0 and near 1e+160 they overflow,
    # and a naive standard deviation then reports 0 (every unit scored 0) or inf
    expected = _norm("zscore")
    np.testing.assert_allclose(_norm("zscore", X * scale), expected, rtol=1e-12)
    two = np.array([[0.0], [2.2227587494850775e-162]])  # the example hypothesis 6.100 found
    np.testing.assert_allclose(_norm("zscore", two), [-math.sqrt(0.5), math.sqrt(0.5)], rtol=1e-12)


def test_percentile_rank_with_ties():
    np.testing.assert_allclose(_norm("rank"), [0.0, 0.5, 1.0])
    ties = np.array([[2.0], [2.0], [10.0]])
    # average ranks 1.5, 1.5, 3 -> (r - 1) / (3 - 1)
    np.testing.assert_allclose(_norm("rank", ties), [0.25, 0.25, 1.0])
    np.testing.assert_allclose(_norm("rank", directions=[-1]), [1.0, 0.5, 0.0])


def test_coinr_percentile_rank_and_borda_rank_ties_at_their_minimum():
    """COINr's n_prank and n_borda: rank(x, ties.method = "min") - 1, over n observed - 1 for the percentile; a
    missing value keeps no rank; lower-is-better indicators rank -x; within a group for reference = group."""
    ties = np.array([[2.0], [2.0], [10.0], [np.nan], [5.0]])
    # min ranks of (2, 2, 10, 5): 1, 1, 4, 3 -> Borda 0, 0, 3, 2; percentile /(4 - 1)
    np.testing.assert_allclose(normalise_array(ties, method="borda")[0].ravel(), [0, 0, 3, 0, 2])
    np.testing.assert_allclose(normalise_array(ties, method="prank")[0].ravel(), [0, 0, 1, 0, 2 / 3])
    assert not normalise_array(ties, method="prank")[1].ravel()[3]
    # -x: (-2, -2, -10, -5) min ranks 3, 3, 1, 2
    np.testing.assert_allclose(normalise_array(ties, method="borda", directions=[-1])[0].ravel(), [2, 2, 0, 0, 1])
    g = np.random.default_rng(8)
    x = np.round(g.normal(size=(40, 3)), 1)
    codes = g.integers(0, 3, size=40)
    got = normalise_array(x, method="prank", group_codes=codes)[0]
    borda = normalise_array(x, method="borda", group_codes=codes)[0]
    for k in range(3):
        for j in range(3):
            member = codes == k
            r = scipy.stats.rankdata(x[member, j], method="min")
            np.testing.assert_allclose(borda[member, j], r - 1)
            np.testing.assert_allclose(got[member, j], (r - 1) / (member.sum() - 1))
    # a constant indicator: every unit ties at the lowest rank (COINr gives 0 too); prank maps onto normalised_range
    np.testing.assert_allclose(normalise_array(np.ones((4, 1)), method="prank")[0].ravel(), 0.0)
    np.testing.assert_allclose(_norm("prank", normalised_range=(1, 100)), [1.0, 50.5, 100.0])


def test_a_borda_index_reaches_the_best_observed_score():
    """Borda scores have no fixed top: the attainable maximum takes each indicator's best observed score (n - 1)."""
    x = xr.DataArray(np.array([[1.0, 5.0], [2.0, 4.0], [3.0, 1.0]]), dims=("cluster", "indicator"), coords={"indicator": ["a", "b"]})
    spec = IndexSpec(normalisation="borda", aggregation="arithmetic")
    np.testing.assert_allclose(compute_index(x, [1.0, 1.0], spec).values, [(0 + 2) / 2, (1 + 1) / 2, (2 + 0) / 2])
    assert float(index_maximum(x, [1.0, 1.0], spec)) == pytest.approx(2.0)


def test_distance_to_target_is_capped_at_one():
    np.testing.assert_allclose(_norm("target", targets=[8.0]), [0.0, (4 - 2) / (8 - 2), 1.0])
    np.testing.assert_allclose(_norm("target", targets=[3.0], directions=[-1]), [1.0, (10 - 4) / (10 - 3), 0.0])


def _dist2targ(x, targ, direction=1, cap_max=False):
    """COINr's n_dist2targ written out from its documented formula (R/normalise.R), for the comparison."""
    x = np.asarray(x, dtype=float)
    y = (x - x.min()) / (targ - x.min()) if direction == 1 else (x.max() - x) / (x.max() - targ)
    return np.minimum(y, 1.0) if cap_max else y


def test_an_uncapped_target_keeps_surpassing_it_and_matches_coinr():
    rng = np.random.default_rng(11)
    x = rng.gamma(2.0, 3.0, size=(30, 1))
    for targ, d in ((np.quantile(x, 0.7), 1), (np.quantile(x, 0.2), -1)):
        got = normalise_array(x, method="target", targets=[targ], directions=[d], target_cap=False)[0].ravel()
        np.testing.assert_allclose(got, _dist2targ(x.ravel(), targ, d), rtol=1e-13)
        assert got.max() > 1.0  # units beyond the target score above 1
        capped = normalise_array(x, method="target", targets=[targ], directions=[d])[0].ravel()
        np.testing.assert_allclose(capped, _dist2targ(x.ravel(), targ, d, cap_max=True), rtol=1e-13)
    # the spec field reaches the index, and the attainable maximum is the best observed score (here above 1)
    data = xr.DataArray(np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0]]), dims=("cluster", "indicator"), coords={"indicator": ["a", "b"]})
    tree = Structure(["index", "a", "b"], [None, "index", "index"], [np.nan, 1.0, 1.0], targets=[np.nan, 3.0, 4.0])
    spec = IndexSpec(normalisation="target", aggregation="arithmetic", target_cap=False)
    a, b = np.array([0.0, 1.0, 2.0]), np.array([0.0, 2.0, 1.0])  # (x - min) / (target - min) per indicator
    np.testing.assert_allclose(compute_index(data, tree, spec).values, (a + b) / 2, rtol=1e-13)
    assert float(index_maximum(data, tree, spec)) == pytest.approx(2.0)
    assert float(index_maximum(data, tree, IndexSpec(normalisation="target", aggregation="arithmetic"))) == pytest.approx(1.0)
    with pytest.raises(ClusterModelError, match="`target_cap` must be true or false"):
        IndexSpec(target_cap="no")
    assert "not capped" in spec.describe()


def _coinr_dist2ref(x, iref, direction=1):
    """COINr's n_dist2ref written out from its documented formula (R/normalise.R: 1 - (xref - x) / (xref - min x)),
    on the indicator multiplied by its direction first, as COINr's Normalise does."""
    y = direction * np.asarray(x, dtype=float)
    return 1 - (y[iref] - y) / (y[iref] - np.nanmin(y))


def test_dist2ref_is_coinrs_distance_to_a_reference_unit():
    rng = np.random.default_rng(12)
    x = rng.gamma(2.0, 3.0, size=(40, 3))
    d = np.array([1.0, -1.0, 1.0])
    k = 7
    got, _ = normalise_array(x, method="dist2ref", directions=d, reference_values=x[k])
    for j in range(3):
        np.testing.assert_allclose(got[:, j], _coinr_dist2ref(x[:, j], k, d[j]), rtol=1e-13)
    np.testing.assert_allclose(got[k], 1.0, rtol=1e-15)  # the reference scores 1, better units above, the worst 0
    assert np.all(got.max(axis=0) > 1) and np.all(got.min(axis=0) == 0)
    # properties: positive rescaling of an indicator changes nothing; a better value never scores lower
    scaled, _ = normalise_array(x * [2.0, 5.0, 0.1], method="dist2ref", directions=d, reference_values=x[k] * [2.0, 5.0, 0.1])
    np.testing.assert_allclose(scaled, got, rtol=1e-12)
    order = np.argsort(d * x, axis=0)
    assert np.all(np.diff(np.take_along_axis(got, order, axis=0), axis=0) >= 0)
    # a set without the reference unit (a data-bootstrap resample) measures against its values as before; one whose
    # units are all better than the reference has nothing to measure (the reference is the scale's minimum): 1
    rest, _ = normalise_array(np.delete(x, k, axis=0), method="dist2ref", directions=d, reference_values=x[k])
    np.testing.assert_allclose(rest, np.delete(got, k, axis=0), rtol=1e-13)
    better, _ = normalise_array(x[x[:, 0] > x[k, 0]][:, :1], method="dist2ref", reference_values=x[k, :1])
    np.testing.assert_array_equal(better, 1.0)
    worst = int(np.argmin(x[:, 0]))
    np.testing.assert_array_equal(normalise_array(x[:, :1], method="dist2ref", reference_values=x[worst, :1])[0], 1.0)


def test_dist2ref_through_the_spec_the_index_and_the_data_bootstrap(paper):
    from clustermodel.bootstrap.units import _cluster_statistics
    from clustermodel.scenarios import ScenarioThresholds

    base = construct(paper, IndexSpec(normalisation="minmax", reference="sample"))
    complete = [str(u) for u, row in zip(base.units, base.present) if row.all()]
    gappy = next(str(u) for u, row in zip(base.units, base.present) if not row.all())
    spec = IndexSpec(normalisation="dist2ref", reference_unit=complete[0], aggregation="arithmetic")
    c = construct(paper, spec)
    i = list(map(str, c.units)).index(complete[0])
    np.testing.assert_allclose(c.normalised[i], 1.0, rtol=1e-15)
    np.testing.assert_allclose(c.top, np.maximum(1.0, np.where(c.present, c.normalised, -np.inf).max(axis=0)))
    assert float(index_maximum(paper, spec=spec)) >= 1.0
    assert f"reference unit {complete[0]}" in spec.describe()
    # a resample that does not draw the reference unit measures against the full sample's values
    others = np.array([[j for j in range(len(c.units)) if j != i] * 2][0][: len(c.units)])[None, :]
    st = _cluster_statistics(paper, spec, ScenarioThresholds(), others)
    assert np.all(np.isfinite(st["mean_index"]))
    with pytest.raises(ClusterModelError, match="name it with reference_unit"):
        IndexSpec(normalisation="dist2ref")
    with pytest.raises(ClusterModelError, match="use reference='sample'"):
        IndexSpec(normalisation="dist2ref", reference_unit=complete[0], reference="group")
    with pytest.raises(ClusterModelError, match="reference_unit 'nowhere' is not among the units scored"):
        construct(paper, spec.replace(reference_unit="nowhere"))
    with pytest.raises(ClusterModelError, match=f"reference_unit '{gappy}' has no value for indicator"):
        construct(paper, spec.replace(reference_unit=gappy))
    with pytest.warns(ClusterModelWarning, match="imputed with the mean"):
        filled = construct(paper, spec.replace(reference_unit=gappy, missing="mean"))
    assert np.all(np.isfinite(filled.normalised))


def test_goalposts_are_truncated():
    kw = dict(goalpost_lower=[0.0], goalpost_upper=[5.0])
    np.testing.assert_allclose(_norm("goalposts", **kw), [0.4, 0.8, 1.0])
    np.testing.assert_allclose(_norm("goalposts", directions=[-1], **kw), [0.6, 0.2, 0.0])


def test_group_reference_takes_statistics_within_each_group():
    x = np.array([[1.0], [3.0], [10.0], [20.0]])
    codes = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(normalise_array(x, method="max", group_codes=codes)[0].ravel(), [1 / 3, 1.0, 0.5, 1.0])
    np.testing.assert_allclose(normalise_array(x, method="minmax", group_codes=codes)[0].ravel(), [0.0, 1.0, 0.0, 1.0])


def test_constant_indicator_gets_the_middle_of_the_scale_never_nan():
    c = np.array([[5.0], [5.0]])
    assert _norm("minmax", c).tolist() == [0.5, 0.5]
    assert _norm("zscore", c).tolist() == [0.0, 0.0]
    assert _norm("rank", c).tolist() == [0.5, 0.5]


def test_missing_values_are_zero_with_a_mask():
    x = np.array([[1.0], [np.nan], [3.0]])
    n, present = normalise_array(x, method="minmax")
    assert n.ravel().tolist() == [0.0, 0.0, 1.0]
    assert present.ravel().tolist() == [True, False, True]


def test_unknown_normaliser_lists_the_valid_ones():
    with pytest.raises(ClusterModelError, match="`method` must be one of 'max', 'minmax'"):
        normalise_array(X, method="log")
    with pytest.raises(ClusterModelError, match="`normalisation` must be one of"):
        IndexSpec(normalisation="log")


# ------------------------------------------------------------------ aggregation (Handbook section 6)
CHILDREN = np.array([[0.25, 1.0]])
ONES = np.ones_like(CHILDREN, dtype=bool)


@pytest.mark.parametrize(
    "aggregation, expected",
    [
        ("arithmetic", 0.25 * 0.25 + 0.75 * 1.0),
        ("quadratic", math.sqrt(0.25 * 0.25**2 + 0.75 * 1.0**2)),
        ("geometric", 0.25**0.25 * 1.0**0.75),
        ("harmonic", 1 / (0.25 / 0.25 + 0.75 / 1.0)),
        ("equation1", math.sqrt(0.25**2 + 1.0**2)),  # the weights cancel
    ],
)
def test_aggregators(aggregation, expected):
    # weights 1 and 3 are relative: shares 0.25 and 0.75
    got = aggregate_array(CHILDREN, ONES, [1.0, 3.0], aggregation=aggregation)
    assert got.tolist() == pytest.approx([expected], rel=1e-14)


@pytest.mark.parametrize("aggregation", ["geometric", "harmonic"])
def test_a_zero_child_makes_the_geometric_and_harmonic_means_zero(aggregation):
    assert aggregate_array(np.array([[0.0, 1.0]]), ONES, [1.0, 1.0], aggregation=aggregation).tolist() == [0.0]


@pytest.mark.parametrize("aggregation", ["geometric", "harmonic"])
def test_a_negative_child_is_an_error_naming_the_node(aggregation):
    with pytest.raises(ClusterModelError, match=f"the {aggregation} mean is defined on positive values"):
        aggregate_array(np.array([[-0.5, 1.0]]), ONES, [1.0, 1.0], aggregation=aggregation)


@pytest.mark.parametrize("order", [-3.0, -1.0, -0.5, 0.3, 1.0, 2.0, 3.5])
def test_the_generalised_mean_is_scipys_weighted_power_mean(order):
    """genmean:p against scipy.stats.pmean (weights renormalised), on a batch with missing cells under rescale,
    and equal to the arithmetic, quadratic and harmonic means at p = 1, 2, -1 (COINr's a_genmean)."""
    g = np.random.default_rng(int(10 * order) + 50)
    x = g.uniform(0.05, 1.0, size=(30, 5))
    present = g.random(size=x.shape) > 0.2
    present[:, 0] = True
    w = g.uniform(0.5, 2.0, size=5)
    got = aggregate_array(np.where(present, x, 0.0), present, w, aggregation=f"genmean:{order}", missing="rescale")
    want = [scipy.stats.pmean(x[i, present[i]], order, weights=w[present[i]]) for i in range(30)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    same = {1.0: "arithmetic", 2.0: "quadratic", -1.0: "harmonic"}.get(order)
    if same:
        np.testing.assert_allclose(got, aggregate_array(np.where(present, x, 0.0), present, w, aggregation=same, missing="rescale"), rtol=1e-12)


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric", "quadratic", "genmean:0.5"])
def test_rescale_on_complete_data_is_the_plain_weighted_mean(aggregation):
    """missing='rescale' with every child observed is the weighted mean over all children, bit for bit what
    missing='zero' gives (the aggregator skips the observed-weight division there); one missing cell rescales that
    unit only, against the formula written out; a hierarchy of complete nodes under rescale is the zero policy too."""
    g = np.random.default_rng(7)
    x = g.uniform(0.05, 1.0, size=(40, 6))
    full = np.ones_like(x, dtype=bool)
    w = g.uniform(0.5, 2.0, size=(3, 6))
    rescaled = aggregate_array(x, full, w, aggregation=aggregation, missing="rescale")
    np.testing.assert_array_equal(rescaled, aggregate_array(x, full, w, aggregation=aggregation, missing="zero"))
    present = full.copy()
    present[4, 2] = False
    one_gap = aggregate_array(np.where(present, x, 0.0), present, w, aggregation=aggregation, missing="rescale")
    keep = np.arange(6) != 2
    want = aggregate_array(x[4:5, keep], full[4:5, keep], w[:, keep], aggregation=aggregation, missing="zero")
    np.testing.assert_allclose(one_gap[:, 4], want[:, 0], rtol=1e-13)
    np.testing.assert_allclose(np.delete(one_gap, 4, axis=1), np.delete(rescaled, 4, axis=1), rtol=1e-13)
    from clustermodel.aggregate import aggregate_tree
    from clustermodel.structure import Structure

    tree = Structure(["root", "p", "q", *[f"i{j}" for j in range(6)]], [None, "root", "root", *["p"] * 3, *["q"] * 3], [np.nan, 1.0, 2.0, *[1.0] * 6])
    W = g.uniform(0.5, 2.0, size=(3, 8))
    agg = {2: aggregation, 3: "arithmetic"}
    kw = dict(structure=tree, aggregation_at=lambda lv: agg.get(lv, aggregation))
    np.testing.assert_array_equal(
        aggregate_tree(x, full, W, missing="rescale", **kw)["root"], aggregate_tree(x, full, W, missing="zero", **kw)["root"]
    )


def test_the_generalised_mean_at_zero_and_below_zero_and_its_name():
    zero = np.array([[0.0, 1.0]])
    assert aggregate_array(zero, ONES, [1.0, 1.0], aggregation="genmean:-2").tolist() == [0.0]  # p < 0: the limit
    assert aggregate_array(zero, ONES, [1.0, 1.0], aggregation="genmean:0.5").tolist() == pytest.approx([0.25])  # (0.5 * 1)^2
    tiny = aggregate_array(np.array([[5e-324, 1.0]]), ONES, [1.0, 1.0], aggregation="genmean:-4")  # x^p overflows: no warning
    assert tiny.tolist() == [0.0]
    with pytest.raises(ClusterModelError, match="the genmean:2 mean is defined on positive values"):
        aggregate_array(np.array([[-0.5, 1.0]]), ONES, [1.0, 1.0], aggregation="genmean:2")
    assert IndexSpec(aggregation="genmean:2").aggregation == "genmean:2.0"
    assert IndexSpec(aggregation=["genmean:0.5", "arithmetic"]).aggregation_label == "genmean:0.5 / arithmetic"
    assert IndexSpec.from_dict(IndexSpec(aggregation="genmean:-1.5").to_dict()).aggregation == "genmean:-1.5"
    for bad, message in [("genmean", "needs its order"), ("genmean:0", "other than 0"), ("genmean:x", "finite number"),
                         ("genmean:inf", "finite number"), ("mean:2", "must be one of")]:
        with pytest.raises(ClusterModelError, match=message):
            IndexSpec(aggregation=bad)


def _copeland_loop(X, w, present=None):
    """COINr's outrankMatrix / a_copeland written as its loop, then mapped to the share in [0, 1]; with ``present``,
    each pair compared on the children both units have (weights renormalised over them)."""
    n = X.shape[0]
    present = np.ones(X.shape, bool) if present is None else present
    score, compared = np.zeros(n), np.zeros(n)
    for i in range(n):
        for j in range(n):
            both = present[i] & present[j]
            if i == j or not both.any():
                continue
            wn = w[both] / w[both].sum()
            orm = wn[X[i, both] > X[j, both]].sum() + wn[X[i, both] == X[j, both]].sum() / 2
            score[i] += 1.0 if orm > 0.5 + 1e-12 else 0.0 if orm < 0.5 - 1e-12 else 0.5
            compared[i] += 1
    return score / compared


def test_copeland_is_coinrs_pairwise_majority_score_as_a_share_for_one_and_many_weight_vectors(monkeypatch):
    import clustermodel.aggregate as agg

    g = np.random.default_rng(7)
    X = g.integers(0, 4, size=(9, 4)).astype(float) / 3  # many ties on every child
    w = np.array([0.3, 0.2, 0.1, 0.4])  # 0.3 + 0.2 = 0.1 + 0.4: exact and rounded ties between pairs of children
    got = aggregate_array(X, np.ones_like(X, bool), w, aggregation="copeland")
    np.testing.assert_allclose(got, _copeland_loop(X, w), rtol=0, atol=1e-15)
    n = X.shape[0]  # COINr's own scale: 2 (n - 1) s - (n - 1), integers in [-(n - 1), n - 1]
    coinr = 2 * (n - 1) * got - (n - 1)
    np.testing.assert_allclose(coinr, np.round(coinr), atol=1e-12)
    W = g.uniform(0.1, 1.0, size=(6, 4))
    batch = aggregate_array(X, np.ones_like(X, bool), W, aggregation="copeland")
    monkeypatch.setattr(agg, "_COPELAND_BLOCK", 1)  # one weight vector at a time: the same numbers
    np.testing.assert_array_equal(aggregate_array(X, np.ones_like(X, bool), W, aggregation="copeland"), batch)
    for k in range(6):
        np.testing.assert_allclose(batch[k], _copeland_loop(X, W[k]), atol=1e-15)


def test_copeland_does_not_compensate_and_compares_on_shared_children_under_rescale():
    X = np.array([[0.9, 0.1, 0.2], [0.5, 0.5, 0.5], [0.1, 0.2, 0.9]])
    w = np.array([1.0, 1.0, 1.0])
    base = aggregate_array(X, np.ones_like(X, bool), w, aggregation="copeland")
    better = X.copy()
    better[0, 0] = 1e6  # a much better score on a child it already wins: no compensation, nothing changes
    assert aggregate_array(better, np.ones_like(X, bool), w, aggregation="copeland").tolist() == base.tolist()
    g = np.random.default_rng(3)
    Y = g.random((12, 5))
    present = g.random(Y.shape) > 0.25
    present[:, 0] = True
    w = g.uniform(0.5, 2.0, size=5)
    got = aggregate_array(np.where(present, Y, 0.0), present, w, aggregation="copeland", missing="rescale")
    np.testing.assert_allclose(got, _copeland_loop(Y, w, present), atol=1e-15)


def test_copeland_at_the_top_of_a_two_level_index_ranks_the_pillar_scores():
    s = Structure(["idx", "p1", "p2", "a", "b", "c", "d"], [None, "idx", "idx", "p1", "p1", "p2", "p2"], [np.nan, 2, 1, 1, 1, 1, 1])
    g = np.random.default_rng(5)
    X = g.random((8, 4))
    values = xr.DataArray(X, dims=("unit", "indicator"), coords={"indicator": list("abcd"), "unit": [f"u{i}" for i in range(8)]})
    spec = IndexSpec(normalisation="minmax", aggregation=("arithmetic", "copeland"))
    scores = compute_scores(values, spec=spec, structure=s)
    pillars = np.column_stack([scores.sel(node=p).values for p in ("p1", "p2")])
    np.testing.assert_allclose(scores.sel(node="idx").values, _copeland_loop(pillars, np.array([2.0, 1.0])), atol=1e-15)
    assert "copeland" not in __import__("clustermodel.sensitivity", fromlist=["x"]).TRIGGER_OPTIONS["aggregation"]


def test_negative_keep_is_squared_by_euclidean_aggregators_and_subtracted_by_the_arithmetic_mean():
    x = xr.DataArray([[-2.0, 1.0], [1.0, 1.0]], dims=("unit", "indicator"), coords={"indicator": ["a", "b"]})
    base = IndexSpec(normalisation="max", negative="keep", missing="zero")
    # normalised: a = [-2, 1] / 1, b = [1, 1]
    assert compute_index(x, [1.0, 1.0], base.replace(aggregation="arithmetic")).values.tolist() == [(-2 + 1) / 2, 1.0]
    assert compute_index(x, [1.0, 1.0], base.replace(aggregation="quadratic")).values == pytest.approx([math.sqrt((4 + 1) / 2), 1.0])
    assert compute_index(x, [1.0, 1.0], base.replace(aggregation="equation1")).values == pytest.approx([math.sqrt(5), math.sqrt(2)])
    assert compute_index(x, [1.0, 1.0], base.replace(aggregation="arithmetic", negative="zero")).values.tolist() == [0.5, 1.0]
    with pytest.raises(ClusterModelError, match="geometric mean is defined on positive values"):
        compute_index(x, [1.0, 1.0], base.replace(aggregation="geometric"))


def test_available_case_aggregation_renormalises_over_observed_children():
    v = np.array([[0.5, 0.0]])
    present = np.array([[True, False]])
    assert aggregate_array(v, present, [1.0, 1.0], aggregation="arithmetic", missing="rescale").tolist() == [0.5]
    assert aggregate_array(v, present, [1.0, 1.0], aggregation="arithmetic", missing="zero").tolist() == [0.25]


# ------------------------------------------------------------------ a hierarchy
TREE = Structure(
    ["index", "p1", "p2", "a", "b", "c"],
    [None, "index", "index", "p1", "p1", "p2"],
    [np.nan, 1.0, 3.0, 1.0, 1.0, 1.0],
    directions=[1, 1, 1, 1, -1, 1],
)
DATA = xr.DataArray(
    [[0.0, 10.0, 1.0], [5.0, 0.0, 3.0], [10.0, 5.0, 2.0]],
    dims=("unit", "indicator"),
    coords={"indicator": ["a", "b", "c"], "unit": ["u1", "u2", "u3"]},
)


def test_two_level_index_by_hand():
    s = compute_scores(DATA, TREE, IndexSpec(normalisation="minmax", aggregation="arithmetic"))
    a = np.array([0.0, 0.5, 1.0])
    b = np.array([0.0, 1.0, 0.5])  # lower is better: (10 - x) / 10
    c = np.array([0.0, 1.0, 0.5])
    p1, p2 = (a + b) / 2, c
    np.testing.assert_allclose(s.sel(node="p1").values, p1)
    np.testing.assert_allclose(s.sel(node="index").values, 0.25 * p1 + 0.75 * p2)
    assert s.sel(node="index").level.item() == 3 and s.sel(node="a").level.item() == 1


def test_a_level_may_use_its_own_aggregator():
    spec = IndexSpec(normalisation="minmax", aggregation=("arithmetic", "geometric"))
    got = compute_index(DATA, TREE, spec).values
    p1 = (np.array([0.0, 0.5, 1.0]) + np.array([0.0, 1.0, 0.5])) / 2
    p2 = np.array([0.0, 1.0, 0.5])
    np.testing.assert_allclose(got, p1**0.25 * p2**0.75)
    with pytest.raises(ClusterModelError, match="one aggregator per level"):
        compute_index(DATA, TREE, IndexSpec(aggregation=("arithmetic", "geometric", "harmonic")))


def test_effective_weights_are_products_down_the_tree():
    np.testing.assert_allclose(TREE.effective_weights(), [0.25 * 0.5, 0.25 * 0.5, 0.75])


def test_weight_batches_of_every_level_in_one_call_equal_one_call_each():
    W = np.random.default_rng(3).dirichlet(np.ones(5), size=7)  # over p1, p2, a, b, c
    spec = IndexSpec(aggregation="quadratic")
    batch = compute_index(DATA, W, spec, structure=TREE).values
    for k in range(len(W)):
        np.testing.assert_allclose(batch[k], compute_index(DATA, W[k], spec, structure=TREE).values, rtol=1e-14)


def test_attainable_maximum_is_the_score_of_a_unit_best_everywhere():
    assert float(index_maximum(DATA, TREE, IndexSpec())) == pytest.approx(1.0)
    # Equation 1 as printed is a norm: sqrt(#children) at each level
    eq1 = float(index_maximum(DATA, TREE, IndexSpec(aggregation="equation1")))
    assert eq1 == pytest.approx(math.sqrt(2 + 1))


# ------------------------------------------------------------------ missing values (Handbook section 3)
def test_mean_and_median_imputation_within_the_reference_set():
    x = np.array([[1.0], [np.nan], [4.0], [10.0], [np.nan]])
    filled, imputed = impute_array(x, method="mean")
    assert filled.ravel()[1] == pytest.approx((1 + 4 + 10) / 3)
    assert imputed.ravel().tolist() == [False, True, False, False, True]
    codes = np.array([0, 0, 0, 1, 1])
    filled, _ = impute_array(x, method="median", group_codes=codes)
    assert filled.ravel().tolist() == [1.0, 2.5, 4.0, 10.0, 10.0]


def test_imputation_and_normalisation_each_take_their_own_reference_set():
    """COINr's usual chain: a missing cell gets its group's mean, then min-max runs over the whole sample."""
    x = xr.DataArray(
        [[1.0, 5.0], [np.nan, 7.0], [4.0, 1.0], [10.0, 2.0], [20.0, 3.0]],
        dims=("unit", "indicator"),
        coords={"indicator": ["a", "b"], "unit": list("pqrst"), "group": ("unit", ["g", "g", "g", "h", "h"])},
    )
    spec = IndexSpec(missing="mean", normalisation="minmax", reference="sample", impute_reference="group")
    c = construct(x, spec, weights={"a": 0.5, "b": 0.5}, warn=False)
    fill = (1 + 4) / 2  # the mean of q's group (p, r), not of the sample (8.75)
    a = np.array([1.0, fill, 4.0, 10.0, 20.0])
    np.testing.assert_allclose(c.normalised[:, 0], (a - 1) / (20 - 1))  # scaled over the whole sample
    # 'same' (the default) follows `reference`: the sample mean here, the group's with reference = group
    same = construct(x, spec.replace(impute_reference="same"), weights={"a": 0.5, "b": 0.5}, warn=False)
    assert same.normalised[1, 0] == pytest.approx(((1 + 4 + 10 + 20) / 4 - 1) / 19)
    grouped = construct(x, spec.replace(reference="group", impute_reference="same"), weights={"a": 0.5, "b": 0.5}, warn=False)
    assert grouped.normalised[1, 0] == pytest.approx((fill - 1) / (4 - 1))
    assert spec.imputation_reference == "group" and spec.replace(impute_reference="same").imputation_reference == "sample"
    assert "from each unit's group" in spec.describe() and "from" not in spec.replace(impute_reference="same").describe().splitlines()[2]
    with pytest.raises(ClusterModelError, match="impute_reference='group' needs a 'group' column"):
        construct(x.drop_vars("group"), spec, weights={"a": 0.5, "b": 0.5}, warn=False)


def test_availability_screen_excludes_and_lists_units():
    x = xr.DataArray(
        [[1.0, 2.0, 3.0], [np.nan, np.nan, 1.0], [2.0, np.nan, 1.0]],
        dims=("unit", "indicator"),
        coords={"indicator": ["a", "b", "c"], "unit": ["u1", "u2", "u3"]},
    )
    with pytest.warns(UserWarning, match="1 unit\\(s\\) observed on less than 50% .* u2"):
        c = construct(x, IndexSpec(min_coverage=0.5), weights={"a": 1, "b": 1, "c": 1})
    assert c.excluded == (("u2", pytest.approx(1 / 3)),)
    assert list(c.units) == ["u1", "u3"]


def test_imputation_warns_with_the_count_and_where_the_list_is():
    x = xr.DataArray([[1.0, 2.0], [np.nan, 4.0], [3.0, 1.0]], dims=("unit", "indicator"), coords={"indicator": ["a", "b"], "unit": ["u1", "u2", "u3"]})
    with pytest.warns(UserWarning, match="1 missing cell\\(s\\) imputed with the mean .* construction log"):
        c = construct(x, IndexSpec(missing="mean"), weights={"a": 1, "b": 1})
    assert c.imputed == (("u2", "a", 2.0),)


# ------------------------------------------------------------------ outliers (JRC rule, COINr Treat)
def test_skew_and_kurtosis_are_excel_skew_and_kurt():
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=(40, 3))
    g1, g2 = skew_kurtosis(x)
    np.testing.assert_allclose(g1, scipy.stats.skew(x, axis=0, bias=False), rtol=1e-12)
    np.testing.assert_allclose(g2, scipy.stats.kurtosis(x, axis=0, fisher=True, bias=False), rtol=1e-12)


def _winsorise_reference(v, winmax, st=2.0, kt=3.5):
    """Independent loop: move the most extreme point on the skewed side to its neighbour, one at a time."""
    v = np.sort(v.copy())[::-1].copy()  # descending
    hi = lo = 0
    cur = v.copy()
    for _ in range(winmax):
        s = scipy.stats.skew(cur, bias=False)
        k = scipy.stats.kurtosis(cur, bias=False)
        if not (abs(s) > st and k > kt):
            break
        if s > 0:
            hi += 1
        else:
            lo += 1
        cur = v.copy()
        if hi:
            cur[:hi] = v[hi]
        if lo:
            cur[len(v) - lo :] = v[len(v) - 1 - lo]
    s, k = scipy.stats.skew(cur, bias=False), scipy.stats.kurtosis(cur, bias=False)
    return cur, hi, lo, (abs(s) > st and k > kt)


def test_winsorisation_matches_an_independent_loop():
    x = np.concatenate([np.arange(1.0, 11.0), [30.0, 100.0]])  # COINr's vignette example
    treated, info = treat_array(x[:, None], winsor_max=5)
    ref, hi, lo, still = _winsorise_reference(x, 5)
    assert not still
    assert info["method"].tolist() == [1]
    assert (int(info["n_high"][0]), int(info["n_low"][0])) == (hi, lo)
    np.testing.assert_allclose(np.sort(treated.ravel())[::-1], ref)


def test_log_transform_when_winsorising_would_take_too_many_points():
    x = np.concatenate([np.ones(20), [1000.0, 2000.0, 4000.0, 8000.0]])
    _, _, _, still = _winsorise_reference(x, 1)
    assert still  # one point is not enough
    treated, info = treat_array(x[:, None], winsor_max=1)
    a = 0.01 * (x.max() - x.min())
    assert info["method"].tolist() == [2]
    np.testing.assert_allclose(treated.ravel(), np.log(x - x.min() + a))


_HEAVY = np.concatenate([np.ones(20), [1000.0, 2000.0, 4000.0, 8000.0]])  # one winsorised point is not enough


@pytest.mark.parametrize("order", [-0.5, 0.0, 0.25, 2.0])
def test_box_cox_second_step_is_scipys_box_cox_of_the_values_shifted_to_start_at_one(order):
    x = np.column_stack([_HEAVY, np.arange(24.0)])  # the second column is within the limits: untouched
    treated, info = treat_array(x, winsor_max=1, transform=f"boxcox:{order}")
    assert info["method"].tolist() == [2, 0]
    np.testing.assert_allclose(treated[:, 0], scipy.stats.boxcox(_HEAVY - _HEAVY.min() + 1, lmbda=order), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(treated[:, 1], x[:, 1])


def test_log1_is_the_coin_tools_log_and_none_keeps_the_winsorised_values():
    treated, info = treat_array(_HEAVY[:, None], winsor_max=1, transform="log1")
    np.testing.assert_allclose(treated[:, 0], np.log(_HEAVY - _HEAVY.min() + 1))
    kept, info = treat_array(_HEAVY[:, None], winsor_max=1, transform="none")
    assert info["method"].tolist() == [1] and int(info["n_high"][0]) == 1  # still beyond the limits, left winsorised
    ref, _, _, still = _winsorise_reference(_HEAVY, 1)
    assert still
    np.testing.assert_array_equal(np.sort(kept[:, 0])[::-1], ref)
    assert abs(float(info["skew_after"][0])) > 2  # the log shows it was not enough


def test_loggii_is_coinrs_log_gii():
    """COINr's log_GII written out from R/treat.R: log((max - 1)(x - min)/(max - min) + 1), only where winsorising
    did not suffice; a maximum at or below 1 (the map onto [1, max] would reverse or flatten the order) is refused."""
    x = np.column_stack([_HEAVY, np.arange(24.0)])
    treated, info = treat_array(x, winsor_max=1, transform="loggii")
    assert info["method"].tolist() == [2, 0]
    h = _HEAVY
    np.testing.assert_allclose(treated[:, 0], np.log((h.max() - 1) * (h - h.min()) / (h.max() - h.min()) + 1), rtol=1e-13)
    assert treated[:, 0].min() == 0.0 and treated[:, 0].max() == pytest.approx(np.log(h.max()))
    assert np.all(np.diff(treated[np.argsort(h), 0]) >= 0)  # order kept
    np.testing.assert_array_equal(treated[:, 1], x[:, 1])
    with pytest.raises(ClusterModelError, match="needs a maximum above 1"):
        treat_array(_HEAVY[:, None] / 1e4, winsor_max=1, transform="loggii")
    assert "else loggii" in IndexSpec(treatment="winsorise", transform="loggii").describe()


def test_the_transform_is_a_spec_field_named_in_the_construction_log_and_checked():
    x = xr.DataArray(
        np.column_stack([_HEAVY, np.arange(24.0)]),
        dims=("unit", "indicator"),
        coords={"indicator": ["heavy", "fine"], "unit": [f"u{i}" for i in range(24)]},
    )
    spec = IndexSpec(treatment="winsorise", winsor_max=1, transform="boxcox:.5")
    assert spec.transform == "boxcox:0.5" and IndexSpec.from_dict(spec.to_dict()) == spec
    assert "up to 1 points, else boxcox:0.5" in spec.describe()
    c = construct(x, spec, weights={"heavy": 1, "fine": 1})
    assert [t["method"] for t in c.log()["treated_indicators"]] == ["boxcox:0.5"]
    assert IndexSpec().transform == "log" and "else log)" in IndexSpec(treatment="winsorise").describe()
    for bad, message in (("boxcox", "needs its order: write boxcox:p"), ("boxcox:x", "the order must be a finite number"), ("sqrt", "`transform` must be one of")):
        with pytest.raises(ClusterModelError, match=message):
            IndexSpec(transform=bad)


def test_untreated_indicator_is_unchanged():
    x = np.arange(1.0, 13.0)[:, None]
    treated, info = treat_array(x)
    assert info["method"].tolist() == [0]
    np.testing.assert_array_equal(treated, x)


def test_treatment_is_recorded_cell_by_cell():
    x = xr.DataArray(
        np.column_stack([np.concatenate([np.arange(1.0, 11.0), [30.0, 100.0]]), np.arange(12.0)]),
        dims=("unit", "indicator"),
        coords={"indicator": ["skewed", "fine"], "unit": [f"u{i}" for i in range(12)]},
    )
    c = construct(x, IndexSpec(treatment="winsorise"), weights={"skewed": 1, "fine": 1})
    log = c.log()
    assert [t["indicator"] for t in log["treated_indicators"]] == ["skewed"]
    assert {r["unit"] for r in log["treated_cells"]} >= {"u11"}
    # each treated cell with its value before and after, as the independent loop treats the column
    sorted_ref, _, _, _ = _winsorise_reference(x.values[:, 0], 5)  # in descending order of the raw values
    ref = np.empty(12)
    ref[np.argsort(-x.values[:, 0], kind="stable")] = sorted_ref
    for r in log["treated_cells"]:
        i = int(r["unit"][1:])
        assert r["before"] == x.values[i, 0] and r["after"] == pytest.approx(ref[i]) and r["after"] != r["before"]


def test_an_imputed_cell_records_the_value_it_was_given_before_any_treatment():
    col = np.concatenate([np.arange(1.0, 11.0), [30.0, 100.0, np.nan]])
    x = xr.DataArray(
        np.column_stack([col, np.arange(13.0)]),
        dims=("unit", "indicator"),
        coords={"indicator": ["skewed", "fine"], "unit": [f"u{i}" for i in range(13)]},
    )
    c = construct(x, IndexSpec(missing="mean", treatment="winsorise"), weights={"skewed": 1, "fine": 1}, warn=False)
    (record,) = c.log()["imputed"]
    assert record["unit"] == "u12" and record["value"] == pytest.approx(np.nanmean(col))  # the sample mean, untreated


# ------------------------------------------------------------------ denomination (COINr Denominate)
def test_denomination_divides_and_a_non_positive_denominator_is_an_error():
    assert denominate_array([[10.0, 3.0], [6.0, 1.0]], [[2.0], [3.0]], [0, -1]).tolist() == [[5.0, 3.0], [2.0, 1.0]]
    with pytest.raises(ClusterModelError, match="a denominator must be positive"):
        denominate_array([[10.0]], [[0.0]], [0], unit_labels=["u1"], indicator_labels=["gdp"], denominator_labels=["pop"])


def test_denominated_study_through_the_dataset():
    ds = xr.Dataset(
        {
            "indicators": (("unit", "indicator"), [[100.0, 1.0], [300.0, 2.0]]),
            "denominators": (("unit", "denominator"), [[10.0], [30.0]]),
        },
        coords={"indicator": ["gdp", "x"], "denominator": ["pop"], "unit": ["u1", "u2"]},
    )
    tree = Structure(["index", "gdp", "x"], [None, "index", "index"], [np.nan, 1.0, 1.0], denominators=[None, "pop", None])
    # per capita: 10 and 10 -> min-max gives the middle of the scale to a constant indicator
    got = compute_scores(ds, tree, IndexSpec(normalisation="minmax")).sel(node="gdp").values
    assert got.tolist() == [0.5, 0.5]
    raw = compute_scores(ds, tree, IndexSpec(normalisation="minmax", denominate=False)).sel(node="gdp").values
    assert raw.tolist() == [0.0, 1.0]
