"""The audit preset and its rank intervals against independent computations: the exclude trigger against element
removal, the Monte Carlo rank range against every combination of the options enumerated with compute_index."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats
from audit_helpers import make_study

import clustermodel as cm
from clustermodel._errors import ClusterModelError
from clustermodel.index import compute_index
from clustermodel.removal import element_removal
from clustermodel.sensitivity import weight_model
from clustermodel.uncertainty import AUDIT_RANGE, AuditPreset, audit_preset, rank_uncertainty


@pytest.fixture(scope="module")
def study():
    return make_study(seed=31, n=25)


def test_the_exclude_trigger_is_element_removal(study):
    model, problem = weight_model(study, study.spec, distribution="uniform", delta=0.25, triggers={"exclude": ["none", "p1", "b2"]})
    X = np.full((3, problem["num_vars"]), 0.5)  # u = 0.5: every weight at its nominal value
    X[:, -1] = [0.1, 0.5, 0.9]  # options none, p1, b2
    Y = model(X)
    idx = Y[:, np.asarray(model.output_meta["quantity"]) == "index"]
    rem = element_removal(study, elements=["p1", "b2"])
    assert np.allclose(idx[0], rem.nominal_score, rtol=1e-12)
    assert np.allclose(idx[1], rem.score[0], rtol=1e-12)
    assert np.allclose(idx[2], rem.score[1], rtol=1e-12)
    with pytest.raises(ClusterModelError, match="'zz' are not"):
        weight_model(study, study.spec, triggers={"exclude": ["none", "zz"]})


def test_rank_range_equals_the_enumerated_combinations(study):
    triggers = {"normalisation": ("minmax", "rank"), "aggregation": ("arithmetic", "geometric"), "exclude": ("none", "p3")}
    spec = study.spec.replace(normalised_range=AUDIT_RANGE)
    preset = AuditPreset(spec=spec, triggers=triggers, distribution="uniform", delta=1e-9, dropped={}, rank_changes=0)
    res = rank_uncertainty(study, preset, n_samples=3000, level=0.9999, rng=4)
    ranks = []
    for norm, agg, exc in itertools.product(*triggers.values()):
        s = spec.replace(normalisation=norm, aggregation=agg)
        y = compute_index(study, spec=s).values if exc == "none" else element_removal(study, s, elements=[exc]).score[0]
        ranks.append(scipy.stats.rankdata(-y, method="ordinal"))
    ranks = np.array(ranks)
    assert np.array_equal(res.low, ranks.min(axis=0))
    assert np.array_equal(res.high, ranks.max(axis=0))
    assert np.array_equal(res.nominal, ranks[0])


def test_the_preset_of_a_study_and_of_the_paper(study):
    p = audit_preset(study)
    assert p.triggers["missing"][0] == study.spec.missing and set(p.triggers["normalisation"]) == {"minmax", "rank"}
    assert "normalisation=zscore" in p.dropped  # z-scores cannot feed the geometric alternative
    assert p.triggers["exclude"] == ("none", "p1", "p2", "p3") and p.rank_changes == 0
    assert p.distribution == "uniform" and p.delta == 0.25
    paper = audit_preset(cm.load_paper())
    assert paper.triggers["aggregation"][0] == "equation1" and len(paper.triggers["exclude"]) == 5
    assert set(paper.to_dataframe()["factor"]) == {"missing", "normalisation", "aggregation", "exclude", "weights"}


def test_audit_results_show_themselves(study):
    """Every audit result prints in a few short lines, shows as HTML in a notebook and exports to pandas and xarray."""
    from clustermodel.coherence import statistical_coherence
    from clustermodel.compare import compare_variants, outranking, unit_profile
    from clustermodel.datastats import data_availability, indicator_statistics
    from clustermodel.importance import optimise_weights, weight_importance

    preset = audit_preset(study)
    results = [
        preset,
        rank_uncertainty(study, preset, n_samples=50, rng=0),
        data_availability(study),
        indicator_statistics(study),
        statistical_coherence(study),
        weight_importance(study, n_resamples=0),
        optimise_weights(study),
        element_removal(study),
        compare_variants(study, {"a": study.spec, "b": {"normalisation": "rank"}}),
        outranking(study),
        unit_profile(study),
    ]
    for r in results:
        text = repr(r)
        assert 1 <= len(text.splitlines()) <= 12 and max(map(len, text.splitlines())) <= 140, type(r).__name__
        assert "<table" in r._repr_html_()
        assert len(r.to_frame()) > 0 and len(r.to_xarray().data_vars) > 0


def test_rank_intervals_name_the_units_when_the_study_has_names():
    from matplotlib.text import Text

    from clustermodel import plots
    from clustermodel.data import load_paper

    paper = load_paper()
    res = rank_uncertainty(paper, audit_preset(paper, paper.spec.replace(negative="zero")), n_samples=40, rng=1)
    names = dict(zip(paper.clusters["cluster"].values.tolist(), paper.clusters["name"].values.tolist()))
    assert res.names == tuple(names[u] for u in res.units)
    labels = [t.get_text() for t in plots.rank_intervals(res).axes[0].get_yticklabels()]
    assert len(labels) == 25 and all(": " in lab for lab in labels)
    assert "names" not in res.to_dict()  # the JSON keeps its schema: ids and ranks
