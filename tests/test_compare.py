"""Variant comparison, outranking and unit profiles against independent computations: compute_index per variant,
scipy's Spearman rho, and brute-force loops over pairs of units and over indicators."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from audit_helpers import make_study

from clustermodel._errors import ClusterModelError
from clustermodel.compare import compare_variants, outranking, unit_profile
from clustermodel.index import compute_index, construct
from clustermodel.spec import IndexSpec


@pytest.fixture(scope="module")
def study():
    return make_study(seed=12, missing_cells=[(2, 1), (5, 7)], directions=[1, 1, 1, 1, 1, 1, -1, 1])


def test_variants_match_their_own_index_and_scipy(study):
    geo = study.spec.replace(aggregation="geometric", normalisation="max")
    other = study.structure.with_weights({"p1": 3.0})
    res = compare_variants(study, {"nominal": study.spec, "geometric": geo, "p1x3": other, "rank": {"normalisation": "rank"}})
    for k, (spec, structure) in enumerate([(study.spec, None), (geo, None), (None, other), (study.spec.replace(normalisation="rank"), None)]):
        expected = compute_index(study, spec=spec, structure=structure).values
        assert np.allclose(res.score[k], expected, rtol=1e-12)
    r0 = scipy.stats.rankdata(-res.score[0], method="min")
    r1 = scipy.stats.rankdata(-res.score[1], method="min")
    assert res.spearman[0, 1] == pytest.approx(scipy.stats.spearmanr(res.score[0], res.score[1]).statistic)
    assert res.mean_abs_shift[0, 1] == pytest.approx(np.abs(r0 - r1).mean())
    assert np.array_equal(res.rank_change[1], r1 - r0)
    assert res.pairs_frame().shape == (6, 4)


def test_tied_units_share_a_rank_and_are_counted(study):
    """A geometric mean over min-max values sends every unit at the bottom of an indicator to exactly 0: those units
    share one rank (scipy's 'min'), and the counts of tied units and of the largest tie are those of the scores."""
    from collections import Counter

    res = compare_variants(study, {"nominal": study.spec, "geometric": study.spec.replace(aggregation="geometric", normalisation="minmax")})
    zeros = int((res.score[1] == 0).sum())
    assert zeros >= 2
    assert np.array_equal(res.rank[1], scipy.stats.rankdata(-res.score[1], method="min"))
    for k in range(2):
        counts = Counter(res.score[k].tolist())
        assert res.tied_units[k] == sum(c for c in counts.values() if c > 1)
        assert res.largest_tie[k] == max(counts.values())
    assert res.largest_tie[1] == zeros and res.to_dict()["variants"][1]["tied_units"] == res.tied_units[1]


def test_a_unit_screened_out_by_one_variant_has_no_rank_there():
    study = make_study(seed=13, missing_cells=[(0, j) for j in range(5)], spec=IndexSpec(missing="rescale"))
    res = compare_variants(study, {"all": study.spec, "screened": study.spec.replace(min_coverage=0.75)})
    assert np.isnan(res.rank[1, 0]) and np.isfinite(res.rank[0, 0])
    assert np.nanmax(res.rank[1]) == 29


def test_variants_are_checked(study):
    with pytest.raises(ClusterModelError, match="at least two"):
        compare_variants(study, {"one": study.spec})
    with pytest.raises(ClusterModelError, match="'x' must be an IndexSpec"):
        compare_variants(study, {"a": study.spec, "x": 3})


def test_outranking_by_brute_force(study):
    res = outranking(study)
    c = construct(study, warn=False)
    w = c.structure.effective_weights()
    X = np.where(c.present, c.normalised, np.nan)
    n = X.shape[0]
    for a in range(0, n, 7):
        for b in range(n):
            if a == b:
                continue
            num = den = 0.0
            for j in range(X.shape[1]):
                if np.isfinite(X[a, j]) and np.isfinite(X[b, j]):
                    den += w[j]
                    num += w[j] * (1.0 if X[a, j] > X[b, j] else 0.5 if X[a, j] == X[b, j] else 0.0)
            assert res.matrix[a, b] == pytest.approx(num / den)
    off = ~np.eye(n, dtype=bool)
    assert np.allclose((res.matrix + res.matrix.T)[off], 1.0)
    assert res.copeland[0] == np.sum(res.matrix[0, 1:] > 0.5) - np.sum(res.matrix[0, 1:] < 0.5)


def test_unit_profile_by_brute_force(study):
    res = unit_profile(study, n=2)
    c = construct(study, warn=False)
    X = np.where(c.present, c.normalised, np.nan)
    for i in (0, 2, 5):
        ranks = {}
        for j, v in enumerate(c.structure.leaves):
            if np.isfinite(X[i, j]):
                ranks[v] = 1 + int(np.sum(X[np.isfinite(X[:, j]), j] > X[i, j]))
        assert res.strengths[i] == tuple(sorted(ranks, key=lambda v: ranks[v])[:2])
        assert res.weaknesses[i] == tuple(sorted(ranks, key=lambda v: -ranks[v])[:2])
    assert "a2" not in res.strengths[2] + res.weaknesses[2]  # missing for unit 2
