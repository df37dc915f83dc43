import json

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from clustermodel.reproduction import PAPER_COUNTS, feasible_thresholds, published_tolerance, reproduce
from clustermodel.spec import IndexSpec, PAPER_SPEC, ScenarioThresholds

NOT_REPRODUCED = {8, 14}


@pytest.fixture(scope="module")
def result(paper):
    return reproduce(paper)


def test_tolerance_is_half_the_published_rounding(paper):
    assert published_tolerance(paper.clusters["published_index"].values) == 0.05
    assert published_tolerance(paper.regions["published_index"].values) == 0.005


def test_group_reference_is_selected_and_counts_reported(result):
    assert result.spec == PAPER_SPEC.replace(reference="group", aggregation="equation1", missing="zero", negative="keep")
    assert result.reference_search["clusters"] == {"reference=sample": 1, "reference=group": 23}
    assert result.reference_search["regions"]["negative=keep"] == 19
    assert result.reference_search["regions"]["negative=zero"] < 19


def test_clusters_row_by_row_against_the_csv(result):
    published = pd.read_csv(DATA / "clusters.csv").set_index("no")["published_index"]
    for row in result.clusters:
        ok = abs(row["computed"] - published[row["no"]]) <= 0.05 + 1e-12
        assert row["reproduced"] == ok
        if row["no"] in NOT_REPRODUCED:
            assert not ok and row["explanation"]
        else:
            assert ok, row


def test_regions_row_by_row(result):
    published = pd.read_csv(DATA / "regions.csv").set_index("region")["published_index"]
    for row in result.regions:
        assert abs(row["computed"] - published[row["region"]]) <= 0.005 + 1e-12, row
        assert row["reproduced"]


def test_non_reproducing_rows_are_explained(result):
    rows = {r["no"]: r for r in result.clusters}
    # cluster 8 would need the group's maximum of international members (3, held by cluster 9)
    members = next(t for t in rows[8]["terms"] if t["indicator"] == "international_members")
    assert members["normalised"] == pytest.approx(2 / 3)
    lo, hi = members["reproduces_if_normalised_in"]
    assert lo > 0.95 and hi == 1.0
    # cluster 14 reproduces if either of its two group-maximum indicators is dropped
    assert "dropping publications" in rows[14]["explanation"]
    assert "dropping joint_rd_expenditure" in rows[14]["explanation"]


def test_scenarios_match_figure13(result):
    assert result.scenario_counts == PAPER_COUNTS
    assert result.published_scenario_counts == PAPER_COUNTS
    supported = {r["region"] for r in result.clusters if r["scenario"] == "supported"}
    assert supported == {"Kaluga region", "Moscow"}
    assert sorted(r["no"] for r in result.clusters if r["scenario"] == "supported") == [10, 15, 22]


def test_default_thresholds_lie_in_the_feasible_boxes(result):
    for src in ("computed", "published"):
        box = result.feasible[src][0]
        assert box["cluster"][0] < 0.5 <= box["cluster"][1]
        assert box["region"][0] < 0.5 <= box["region"][1]


def test_thresholds_outside_the_box_break_the_counts(paper):
    r = reproduce(paper, thresholds=ScenarioThresholds(cluster=0.6, region=0.5))
    assert r.scenario_counts != PAPER_COUNTS


def test_feasible_thresholds_small_case():
    boxes = feasible_thresholds([1, 3], [1, 3], 4, 4, ["A", "B"], counts={"supported": 1, "lonely": 0, "potential": 1, "late": 0}, supported_regions=("B",))
    assert boxes == [{"cluster": [0.25, 0.75], "region": [0.25, 0.75]}]


def test_json_has_the_documented_keys(result):
    d = json.loads(result.to_json())
    assert {"no", "name", "group", "region", "published", "computed", "reproduced", "scenario"} <= set(d["clusters"][0])
    assert {"region", "published", "computed", "reproduced"} <= set(d["regions"][0])
    assert set(d["scenario_counts"]) == {"supported", "lonely", "potential", "late"}
    assert d["thresholds"] == {"cluster": pytest.approx(1.0), "region": pytest.approx(1.0)}


def test_sample_reference_forced_reproduces_almost_nothing(paper):
    r = reproduce(paper, PAPER_SPEC.replace(reference="sample"))
    assert r.n_reproduced["clusters"] == 1
    assert np.isclose(r.threshold_values["cluster"], 1.0)


def test_tolerance_of_values_python_prints_in_exponent_notation():
    # repr(0.00005) is '5e-05': five decimals, not zero (the tolerance used to come out as 0.5)
    assert published_tolerance([0.00005, 1.2]) == pytest.approx(5e-6)
    assert published_tolerance([1e16]) == 0.5
