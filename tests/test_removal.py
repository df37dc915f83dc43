"""Element removal against an independent path: the same study rebuilt without the element (a smaller structure
and table), scored from scratch, and its ranks compared with scipy's."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from audit_helpers import PILLARS, make_study

from clustermodel._errors import ClusterModelError
from clustermodel.index import compute_index
from clustermodel.removal import element_removal, removed_nodes
from clustermodel.spec import IndexSpec


def _without(element, spec):
    """The study's table and structure with ``element`` (an indicator or a pillar) physically removed."""
    base = make_study(seed=4, spec=spec)
    X = base.clusters["indicators"].values
    leaves = [v for kids in PILLARS.values() for v in kids]
    pillars = {p: [v for v in kids if v != element] for p, kids in PILLARS.items() if p != element}
    pillars = {p: kids for p, kids in pillars.items() if kids}
    keep = [leaves.index(v) for kids in pillars.values() for v in kids]
    return make_study(X[:, keep], spec=spec, pillars=pillars)


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric"])
def test_removal_equals_rebuilding_without_the_element(aggregation):
    spec = IndexSpec(missing="rescale", aggregation=aggregation, normalisation="minmax" if aggregation == "arithmetic" else "max")
    study = make_study(seed=4, spec=spec)
    res = element_removal(study)
    assert res.elements == ("p1", "p2", "p3", "a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2")
    for e, element in enumerate(res.elements):
        # min-max bounds are per indicator, so removing one leaves the others' normalised values unchanged
        expected = compute_index(_without(element, spec)).values
        assert np.allclose(res.score[e], expected, rtol=1e-12, atol=1e-14), element
        ranks = scipy.stats.rankdata(-expected, method="ordinal")
        assert np.array_equal(res.rank[e], ranks)
    nominal = scipy.stats.rankdata(-compute_index(study).values, method="ordinal")
    assert np.array_equal(res.nominal_rank, nominal)
    assert res.mean_abs_shift == pytest.approx(np.abs(res.rank - nominal).mean(axis=1))


def test_an_only_child_takes_its_parent():
    study = make_study(seed=1, pillars={"p1": ["a1", "a2"], "p2": ["b1"]})
    assert removed_nodes(study.structure, "b1") == ("b1", "p2")
    res = element_removal(study, elements=["b1", "p2"])
    assert np.array_equal(res.score[0], res.score[1])


def test_level_and_elements_are_checked():
    study = make_study(seed=2)
    assert element_removal(study, level=2).elements == ("p1", "p2", "p3")
    with pytest.raises(ClusterModelError, match="no node at level 5"):
        element_removal(study, level=5)
    with pytest.raises(ClusterModelError, match="'zz' are not nodes below the index"):
        element_removal(study, elements=["zz"])
    df = element_removal(study, level=1).to_dataframe()
    assert list(df.columns[:3]) == ["level", "removed", "mean_abs_rank_shift"]
