"""Coherence statistics against independent computations: scipy's correlations, the covariance-matrix form of
Cronbach's alpha, numpy's SVD for the PCA, and flags planted in the data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from audit_helpers import make_study

from clustermodel._errors import ClusterModelError
from clustermodel.coherence import (
    statistical_coherence,
    correlation_flags,
    correlations,
    cronbach_alpha,
    pairwise_correlation,
    principal_components,
)
from clustermodel.index import compute_scores, construct


@pytest.fixture(scope="module")
def study():
    return make_study(missing_cells=[(0, 0), (3, 4), (7, 4), (11, 6)], directions=[1, 1, 1, 1, 1, 1, 1, -1])


def _scipy_pair(x, y, method):
    m = np.isfinite(x) & np.isfinite(y)
    f = scipy.stats.pearsonr if method == "pearson" else scipy.stats.spearmanr
    res = f(x[m], y[m])
    return res[0], res[1], m.sum()


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_pairwise_correlation_matches_scipy_pair_by_pair(method):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 5))
    X[:, 1] += X[:, 0]
    X[:, 3] = np.round(X[:, 3])  # ties for Spearman
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:, 4] = rng.normal(size=40)  # one complete column
    R, N, P = pairwise_correlation(X, method=method)
    for i in range(5):
        for j in range(5):
            if i == j:
                continue
            r, p, n = _scipy_pair(X[:, i], X[:, j], method)
            assert R[i, j] == pytest.approx(r, abs=1e-12)
            assert P[i, j] == pytest.approx(p, rel=1e-8, abs=1e-14)
            assert N[i, j] == n
    assert np.allclose(np.diag(R), 1.0)


def test_constant_column_and_too_few_units_give_nan():
    X = np.column_stack([np.arange(6.0), np.full(6, 2.0), [1, np.nan, np.nan, np.nan, np.nan, 3.0]])
    R, N, _ = pairwise_correlation(X)
    assert np.isnan(R[0, 1]) and np.isnan(R[0, 2]) and N[0, 2] == 2


def test_correlations_read_the_index_as_built(study):
    res = correlations(study)
    c = construct(study, warn=False)
    scores = compute_scores(study, construction=c).transpose("cluster", "node")
    x = np.where(c.present[:, 0], c.normalised[:, 0], np.nan)
    p1 = scores.sel(node="p1").values
    m = np.isfinite(x)
    assert res.get("a1", "p1") == pytest.approx(np.corrcoef(x[m], p1[m])[0, 1], abs=1e-12)
    # a lower-is-better indicator enters with its direction applied
    raw = correlations(study, values="raw")
    c2 = study.indicators.sel(indicator="c2").values
    idx = scores.sel(node="index").values
    m = np.isfinite(c2)
    assert raw.get("c2", "index") == pytest.approx(np.corrcoef(-c2[m], idx[m])[0, 1], abs=1e-12)
    frame = res.to_frame()
    assert set(frame["relation"]) <= {"siblings", "child_parent", "descendant_ancestor", "other"}
    assert frame.loc[(frame.node_a == "a1") & (frame.node_b == "a2"), "relation"].item() == "siblings"
    assert res.matrix(1, 2).shape == (8, 3)
    assert res.to_xarray()["r"].shape == (12, 12)


def test_flags_find_planted_collinear_and_negative_pairs():
    rng = np.random.default_rng(5)
    n = 30
    base = rng.normal(size=n)
    X = rng.normal(size=(n, 8))
    X[:, 1] = X[:, 0] + 0.05 * rng.normal(size=n)  # a2 ~ a1: collinear
    X[:, 4] = -X[:, 3] + 0.5 * rng.normal(size=n)  # b2 ~ -b1: negative
    X[:, 6] = base
    X[:, 7] = base + rng.normal(size=n)
    s = make_study(X)
    res = correlations(s)
    flags = correlation_flags(res)
    col = flags.of_kind("collinear")
    assert [(r["node"], r["other"], r["parent"]) for r in col] == [("a1", "a2", "p1")]
    neg = {(r["node"], r["other"]) for r in flags.of_kind("negative")}
    assert ("b1", "b2") in neg
    for r in flags.records:  # every flag agrees with the matrix
        assert r["r"] == pytest.approx(res.get(r["node"], r["other"]))
    weak = correlation_flags(res, weak=0.99).of_kind("weak_with_parent")
    assert {r["node"] for r in weak} == {v for v in res.nodes if v != "index" and res.get(v, res.parents[res.nodes.index(v)]) < 0.99}
    assert len(flags.to_frame()) == len(flags.records)


def _alpha_covariance_form(X):
    """Cronbach's alpha as k^2 * mean off-diagonal covariance / sum of the covariance matrix."""
    C = np.cov(X, rowvar=False)
    k = C.shape[0]
    off = (C.sum() - np.trace(C)) / (k * (k - 1))
    return k * k * off / C.sum()


def test_cronbach_alpha_matches_the_covariance_matrix_form(study):
    res = cronbach_alpha(study)
    c = construct(study, warn=False)
    X = np.where(c.present, c.normalised, np.nan)
    leaves = list(study.structure.leaves)
    for rec in res.records:
        if rec["node"] == "index":
            continue
        kids = [leaves.index(v) for v in study.structure.children(rec["node"])]
        sub = X[:, kids]
        sub = sub[np.isfinite(sub).all(axis=1)]
        assert rec["n_complete"] == len(sub)
        assert rec["alpha"] == pytest.approx(_alpha_covariance_form(sub), rel=1e-12)


def test_cronbach_alpha_of_parallel_items_approaches_spearman_brown():
    # k items = common factor + independent noise of equal variance: alpha -> k rho / (1 + (k - 1) rho), rho = 1/2
    rng = np.random.default_rng(0)
    n = 20000
    f = rng.normal(size=n)
    X = np.column_stack([f + rng.normal(size=n) for _ in range(8)])
    s = make_study(X)
    res = cronbach_alpha(s)
    assert res.alpha("p1") == pytest.approx(3 * 0.5 / (1 + 2 * 0.5), abs=0.01)
    assert res.alpha("p3") == pytest.approx(2 * 0.5 / (1 + 0.5), abs=0.01)


def test_pca_matches_numpy_svd(study):
    res = principal_components(study)
    c = construct(study, warn=False)
    X = np.where(c.present, c.normalised, np.nan)
    leaves = list(study.structure.leaves)
    for rec in res.records:
        if rec["node"] == "index":
            continue
        kids = [leaves.index(v) for v in study.structure.children(rec["node"])]
        sub = X[:, kids]
        sub = sub[np.isfinite(sub).all(axis=1)]
        Z = (sub - sub.mean(0)) / sub.std(0, ddof=1)
        _, sv, vt = np.linalg.svd(Z, full_matrices=False)
        eig = sv**2 / (len(sub) - 1)
        assert rec["eigenvalues"] == pytest.approx(list(eig), rel=1e-10)
        assert rec["first_share"] == pytest.approx(eig[0] / eig.sum(), rel=1e-10)
        assert rec["n_above_one"] == int((eig > 1).sum())
        w = np.array(list(rec["weights"].values()))
        assert np.abs(w) == pytest.approx(np.abs(vt[0]), abs=1e-8)
        assert w.sum() >= 0
        scores = Z @ w  # a loading is the child's correlation with the component
        for j, v in enumerate(rec["loadings"].values()):
            assert v == pytest.approx(np.corrcoef(Z[:, j], scores)[0, 1], abs=1e-8)


def test_undefined_groups_carry_a_code():
    pillars = {"p1": ["a1", "a2"], "p2": ["b1"]}
    X = np.column_stack([np.arange(10.0), np.arange(10.0) ** 2, np.ones(10) + np.arange(10) % 2])
    s = make_study(X, pillars=pillars)
    assert {r["node"]: r["code"] for r in cronbach_alpha(s).records}["p2"] == "single_child"
    assert {r["node"]: r["code"] for r in principal_components(s).records}["p2"] == "single_child"
    X[:, 1] = 4.0
    s = make_study(X, pillars=pillars)
    assert {r["node"]: r["code"] for r in cronbach_alpha(s).records}["p1"] == "zero_variance"


def test_coherence_bundles_and_exports(study):
    res = statistical_coherence(study, method="spearman")
    assert res.correlations.method == "spearman"
    frame = res.to_frame()
    assert list(frame.index) == ["p1", "p2", "p3", "index"]
    d = res.to_dict()
    assert set(d) >= {"correlations", "flags", "cronbach", "pca", "spec"}
    assert "coherence" in repr(res) and "<table" in res._repr_html_()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: correlations(s, method="kendall"), "`method` must be one of 'pearson', 'spearman'"),
        (lambda s: correlations(s, values="scaled"), "`values` must be one of 'normalised', 'raw'"),
        (lambda s: correlation_flags(correlations(s), collinear=1.5), "`collinear` must be a number in (0.0, 1.0]"),
        (lambda s: correlation_flags(correlations(s), negative=1.0), "`negative` must be a number in [-1.0, 1.0)"),
        (lambda s: correlation_flags(correlations(s), weak="x"), "`weak` must be a number"),
        (lambda s: correlation_flags(s), "`result` must be a CorrelationResult"),
        (lambda s: correlations(s).get("a1", "zz"), "'zz' is not a node of this result"),
    ],
)
def test_bad_arguments_name_the_argument(study, call, message):
    with pytest.raises(ClusterModelError) as e:
        call(study)
    assert message in str(e.value)
