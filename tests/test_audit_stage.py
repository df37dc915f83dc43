"""The audit stage end to end on a study not shaped like the paper: every table and figure written, the numbers in
its CSVs equal to the estimators', the config checked, names escaped."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from audit_helpers import make_study

from clustermodel._errors import ClusterModelError
from clustermodel.config import DEFAULTS, validate_config
from clustermodel.removal import element_removal
from clustermodel.structure import load_structure
from clustermodel.workflow import run_audit


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    study = make_study(seed=21, n=40, missing_cells=[(1, 2), (4, 6)])
    out = tmp_path_factory.mktemp("audit")
    config = validate_config({"audit": {"n_resamples": 50}})
    return study, out, run_audit(study, config, out)


def test_every_output_is_written(audited):
    _, out, data = audited
    for name in ("audit.md", "audit.json", "audit_statistics.csv", "audit_availability.csv", "audit_correlations.csv", "audit_flags.csv",
                 "audit_aggregates.csv", "audit_importance.csv", "audit_removal.csv", "audit_removal_units.csv", "audit_variants.csv",
                 "audit_profiles.csv", "audit_optimised_structure.csv", "audit_correlation.png", "audit_distributions.png"):
        assert (out / name).stat().st_size > 0, name
    md = (out / "audit.md").read_text()
    for heading in ("## The data before the index", "## Statistical coherence", "## Weights against importance", "## Removing elements", "## Variants compared", "## Strengths and weaknesses"):
        assert heading in md
    assert data["findings"] and data["headlines"]
    assert json.loads((out / "audit.json").read_text())["removal"]["elements"][0]["element"] == "p1"


def test_the_csvs_hold_the_estimators_numbers(audited):
    study, out, _ = audited
    rem = pd.read_csv(out / "audit_removal.csv", index_col="element")
    res = element_removal(study)
    assert np.allclose(rem.loc[list(res.elements), "mean_abs_rank_shift"], res.mean_abs_shift)
    s = load_structure(out / "audit_optimised_structure.csv")
    assert s.nodes == study.structure.nodes
    opt = json.loads((out / "audit.json").read_text())["optimised_weights"]
    w = s.normalise_weights(s.weight_array())
    assert w[: 3] == pytest.approx(opt["weights"], rel=1e-9)


def test_the_audit_config_is_checked():
    assert DEFAULTS["audit"]["method"] == "pearson"
    with pytest.raises(ClusterModelError, match=r"\[audit\] variants.rk: .*normalisation"):
        validate_config({"audit": {"variants": {"rk": {"normalisation": "rnk"}}}})
    with pytest.raises(ClusterModelError, match=r"\[audit\] method must be one of"):
        validate_config({"audit": {"method": "kendall"}})


def test_named_variants_and_hostile_names(tmp_path):
    study = make_study(seed=22, n=30)
    ids = list(study.clusters["cluster"].values)
    ids[0] = "A|B <img src=x onerror=alert(1)>"
    study = study.__class__(**{**study.__dict__, "clusters": study.clusters.assign_coords(cluster=ids)})
    config = validate_config({"audit": {"n_resamples": 0, "variants": {"ranks": {"normalisation": "rank"}}}})
    data = run_audit(study, config, tmp_path)
    md = (tmp_path / "audit.md").read_text()
    assert "<img" not in md and "A\\|B" in md
    assert [v["name"] for v in data["variants"]["variants"]] == ["nominal", "ranks"]


def test_the_audit_preset_in_the_sobol_stage(tmp_path):
    from clustermodel.workflow import run_sobol

    study = make_study(seed=23, n=20)
    config = validate_config({"sobol": {"preset": "audit", "n": 64, "replicates": 2, "uncertainty_samples": 200}})
    data = run_sobol(study, config, tmp_path)
    assert any(f.startswith("**Standard uncertainty set**") for f in data["findings"])
    ranks = pd.read_csv(tmp_path / "sobol_audit_ranks.csv", index_col="id")
    assert (ranks["rank_low"] <= ranks["median_rank"]).all() and (ranks["median_rank"] <= ranks["rank_high"]).all()
    md = (tmp_path / "sobol_audit.md").read_text()
    assert "## The standard uncertainty set (audit preset)" in md and "exclude" in md
    js = json.loads((tmp_path / "sobol_audit.json").read_text())
    assert js["preset"]["plausibility"] == "each option of a factor equally likely"
    with pytest.raises(ClusterModelError, match="preset must be one of"):
        validate_config({"sobol": {"preset": "jrc"}})
