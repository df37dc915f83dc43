"""Bad inputs of the audit, the audit preset and normalised_range (docs/bad_inputs.md rows 64-80): each gets one
clear error naming the file, table and key or the argument, or a stated skip — never a traceback or a wrong number."""

from __future__ import annotations

import numpy as np
import pytest
from audit_helpers import make_study

from clustermodel._errors import ClusterModelError
from clustermodel.coherence import statistical_coherence
from clustermodel.config import load_config, validate_config
from clustermodel.datastats import indicator_statistics
from clustermodel.importance import optimise_weights, weight_importance
from clustermodel.removal import element_removal
from clustermodel.sensitivity import weight_model
from clustermodel.spec import IndexSpec
from clustermodel.workflow import run_audit


def _config(tmp_path, text):
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_audit_variant_with_unknown_field(tmp_path):
    p = _config(tmp_path, "[audit.variants.mine]\nnormalization = 'rank'\n")
    with pytest.raises(ClusterModelError, match=r"config.toml: \[audit\] variants.mine: unknown spec field 'normalization'"):
        load_config(p)


def test_audit_target_with_negative_share(tmp_path):
    p = _config(tmp_path, "[audit.optimise_target]\np1 = -0.5\n")
    with pytest.raises(ClusterModelError, match=r"config.toml: \[audit\] optimise_target.p1"):
        load_config(p)


def test_sobol_preset_unknown(tmp_path):
    p = _config(tmp_path, "[sobol]\npreset = 'jrc'\n")
    with pytest.raises(ClusterModelError, match=r"config.toml: \[sobol\] preset must be one of 'none', 'audit'"):
        load_config(p)


@pytest.mark.parametrize(
    "value, match",
    [((3, 1), "lower < upper"), ((1,), "two numbers"), (("a", 2), r"normalised_range\[0\]"), ((0, float("inf")), r"normalised_range\[1\]")],
)
def test_normalised_range_is_checked(value, match):
    with pytest.raises(ClusterModelError, match=match):
        IndexSpec(normalised_range=value)


def test_uncomputable_variant_is_named_and_the_stage_runs(tmp_path):
    study = make_study(seed=40, n=25)
    config = validate_config({"audit": {"n_resamples": 0, "variants": {"zgeo": {"normalisation": "zscore", "aggregation": "geometric"}, "ranks": {"normalisation": "rank"}}}})
    data = run_audit(study, config, tmp_path)
    assert "zgeo" in data["variants_dropped"] and "geometric mean" in data["variants_dropped"]["zgeo"]
    assert "`zgeo`" in (tmp_path / "audit.md").read_text()


def test_optimise_node_that_cannot_be_optimised(tmp_path):
    study = make_study(seed=41, n=25)
    data = run_audit(study, validate_config({"audit": {"n_resamples": 0, "optimise_node": "a1"}}), tmp_path)
    assert data["optimised_weights"] is None and "`a1` is not an aggregate" in data["optimise_skipped"]
    assert "Weight optimisation did not run" in (tmp_path / "audit.md").read_text()


def test_optimise_target_naming_a_non_child(tmp_path):
    study = make_study(seed=42, n=25)
    data = run_audit(study, validate_config({"audit": {"n_resamples": 0, "optimise_target": {"p1": 1, "zz": 2}}}), tmp_path)
    assert data["optimised_weights"] is None and "`target` must name every child" in data["optimise_skipped"]


def test_exclude_trigger_with_unknown_node():
    with pytest.raises(ClusterModelError, match=r"trigger 'exclude' options must be 'none' or nodes below the index; 'zz'"):
        weight_model(make_study(seed=43), triggers={"exclude": ["none", "zz"]})


def test_audit_of_too_few_units(tmp_path):
    X = np.arange(16.0).reshape(2, 8) + 1
    assert "fewer than 3" in run_audit(make_study(X), validate_config({}), tmp_path)["skipped"]


def test_constant_indicator_in_the_audit():
    X = make_study(seed=44).clusters["indicators"].values.copy()
    X[:, 3] = 5.0
    study = make_study(X)
    assert "low_variance" in indicator_statistics(study).records[3]["flags"]
    res = statistical_coherence(study)
    assert np.isnan(res.correlations.get("b1", "p2"))
    assert {r["node"]: r["code"] for r in res.cronbach.records}["p2"] == "zero_variance"


def test_single_child_aggregate_in_the_audit():
    study = make_study(seed=45, pillars={"p1": ["a1", "a2"], "p2": ["b1"]})
    res = statistical_coherence(study)
    assert {r["node"]: r["code"] for r in res.cronbach.records}["p2"] == "single_child"
    assert all(r["parent"] != "p2" for r in weight_importance(study, n_resamples=0).records)


def test_removing_the_only_child_of_the_index():
    study = make_study(seed=46, pillars={"p1": ["a1", "a2"]})
    with pytest.raises(ClusterModelError, match="leaves the index with nothing to aggregate"):
        element_removal(study, elements=["p1"])


def test_correlation_ratio_optimisation_on_too_few_units():
    study = make_study(seed=47, n=6)
    with pytest.raises(ClusterModelError, match=r"correlation ratio of 'p1' in 'index' cannot be estimated \(too_few_units\)"):
        optimise_weights(study, measure="correlation_ratio")


def test_a_geometric_mean_that_sends_units_to_zero_is_named(tmp_path):
    """Issue 22.1: min-max + geometric sets the worst unit on any indicator to exactly 0; the scores stage warns,
    names the units and their zero indicators, and points to normalised_range."""
    import warnings

    from clustermodel._errors import ClusterModelWarning
    from clustermodel.workflow import run_scores

    study = make_study(seed=48, spec=IndexSpec(aggregation="geometric", missing="rescale"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = run_scores(study, validate_config({"scores": {"n_draws": 20}}), tmp_path)
    zeros = data["zero_index"]
    assert zeros and all(z["zero_indicators"] for z in zeros)
    assert all(u["index"] == 0 for u in data["units"] if u["id"] in {z["id"] for z in zeros})
    assert any(issubclass(w.category, ClusterModelWarning) and "normalised_range" in str(w.message) for w in caught)
    assert any("score exactly 0" in f for f in data["findings"])
    fixed = run_scores(make_study(seed=48, spec=IndexSpec(aggregation="geometric", missing="rescale", normalised_range=(1, 100))), validate_config({"scores": {"n_draws": 20}}), tmp_path / "b")
    assert fixed["zero_index"] == []
