"""Data tables against independent computations: scipy's bias-adjusted moments, numpy's quantiles, the cells of
the input table counted directly, and flags planted in the data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from audit_helpers import make_study

from clustermodel._errors import ClusterModelError
from clustermodel.datastats import data_availability, indicator_statistics
from clustermodel.spec import IndexSpec

MISSING = [(0, 0), (3, 4), (7, 4), (11, 6), (11, 7), (11, 5), (11, 0), (11, 1)]


@pytest.fixture(scope="module")
def study():
    return make_study(missing_cells=MISSING, spec=IndexSpec(missing="rescale", min_coverage=0.5))


def test_availability_counts_the_cells_of_the_table(study):
    X = study.clusters["indicators"].values
    res = data_availability(study)
    assert np.array_equal(res.observed, np.isfinite(X))
    assert res.unit_share[11] == pytest.approx(3 / 8)
    assert res.screened.tolist() == [i == 11 for i in range(30)]  # 3 of 8 < min_coverage 0.5
    # by aggregate: the share of each pillar's indicators unit 11 observes
    by = dict(zip(res.aggregates, res.by_aggregate[11]))
    assert by["p1"] == pytest.approx(np.isfinite(X[11, :3]).mean())
    assert by["p3"] == pytest.approx(np.isfinite(X[11, 6:]).mean())
    assert by["index"] == pytest.approx(3 / 8)
    assert res.indicator_share[4] == pytest.approx(28 / 30)
    df = res.to_dataframe()
    assert df.loc["U11", "screened"] and df["n_observed"].sum() == np.isfinite(X).sum()


def test_statistics_match_scipy_and_numpy(study):
    res = indicator_statistics(study, stage="raw")
    X = study.clusters["indicators"].values[[i for i in range(30) if i != 11]]  # the screened unit left out
    for j, r in enumerate(res.records):
        v = X[:, j][np.isfinite(X[:, j])]
        assert r["n"] == v.size
        assert r["skew"] == pytest.approx(scipy.stats.skew(v, bias=False), rel=1e-10)
        assert r["kurtosis"] == pytest.approx(scipy.stats.kurtosis(v, bias=False), rel=1e-10)
        assert r["sd"] == pytest.approx(np.std(v, ddof=1))
        assert r["median"] == pytest.approx(np.median(v))
        q1, q3 = np.percentile(v, [25, 75])
        assert r["n_outliers"] == int(((v < q1 - 1.5 * (q3 - q1)) | (v > q3 + 1.5 * (q3 - q1))).sum())
        assert r["missing_share"] == pytest.approx(1 - v.size / 29)


def test_flags_find_what_was_planted():
    rng = np.random.default_rng(1)
    X = rng.normal(10, 2, size=(40, 8))
    X[:, 0] = np.exp(rng.normal(size=40) * 1.5)  # heavy right tail
    X[:, 1] = np.where(rng.random(40) < 0.7, 0.0, rng.random(40))  # mostly zeros, few unique
    X[:, 2] = 1000 + rng.normal(size=40) * 1e-3  # almost constant
    X[:25, 3] = np.nan  # available on 15 of 40
    res = indicator_statistics(make_study(X, spec=IndexSpec(missing="rescale")), stage="raw")
    assert "a1" in res.flagged("skew_kurtosis")
    assert set(res.flagged("many_zeros")) == {"a2"} and "a2" in res.flagged("few_unique")
    assert res.flagged("low_variance") == ("a3",)
    assert res.flagged("low_availability") == ("b1",)
    with pytest.raises(ClusterModelError, match="`flag` must be one of"):
        res.flagged("odd")


def test_normalised_stage_and_errors(study):
    res = indicator_statistics(study, stage="normalised")
    assert all(0 <= r["min"] and r["max"] <= 1 for r in res.records)  # the default min-max scale
    with pytest.raises(ClusterModelError, match="`stage` must be one of"):
        indicator_statistics(study, stage="treated")
    with pytest.raises(ClusterModelError, match="unknown threshold"):
        indicator_statistics(study, skw=1)
    assert "flags" in res.to_dataframe().columns and res.to_dict()["stage"] == "normalised"
