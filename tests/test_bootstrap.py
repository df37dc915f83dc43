"""Tests of clustermodel.bootstrap against independent calculations.

Every expert table in this file is SYNTHETIC, written for the tests; the
paper publishes only the panel mean of its five experts.
"""

import json
import warnings

import numpy as np
import pytest
import scipy.stats
import xarray as xr

from clustermodel import ClusterModelError, ClusterModelWarning, InputError
from clustermodel.bootstrap import (
    DEFAULT_CONCENTRATION,
    _cluster_statistics,
    check_experts,
    cluster_bootstrap,
    draw_panels,
    load_experts,
    percentile_interval,
    weight_bootstrap,
)
from clustermodel.cli import main
from clustermodel.index import compute_index
from clustermodel.reproduce import PAPER_COUNTS
from clustermodel.scenarios import evaluate
from clustermodel.spec import SCENARIOS, IndexSpec, PAPER_SPEC

QUAD = PAPER_SPEC.replace(aggregation="quadratic")
IND = ["international_members", "export_volume", "publications", "joint_rd_expenditure"]
HEADER = "expert," + ",".join(IND) + "\n"


def expert_csv(write_csv, rows, name="experts.csv"):
    """A synthetic expert table (test data only)."""
    body = "".join(f"synthetic_{i},{','.join(str(v) for v in r)}\n" for i, r in enumerate(rows))
    return write_csv(name, HEADER + body)


def weights(values):
    return xr.DataArray(np.asarray(values, float), dims=["indicator"], coords={"indicator": IND})


# ------------------------------------------------------------------ Dirichlet oracle


@pytest.mark.parametrize("kappa,size", [(20.0, 5), (6.0, 2)])
def test_parametric_panel_mean_has_dirichlet_mean_and_variance(kappa, size):
    a = np.array([0.21, 0.31, 0.22, 0.26])
    n = 40_000
    w = draw_panels(weights(a), mode="parametric", concentration=kappa, panel_size=size, n_resamples=n, rng=7).values
    assert w.shape == (n, 4)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # Theory: one expert ~ Dirichlet(kappa*a): E = a, Var = a(1-a)/(kappa+1), Cov = -a_i a_j/(kappa+1);
    # the mean of `size` independent experts divides the (co)variances by `size`.
    var = a * (1 - a) / ((kappa + 1) * size)
    cov = -np.outer(a, a) / ((kappa + 1) * size)
    np.fill_diagonal(cov, var)
    # tolerance: 5 standard errors of each estimator (the SE of a sample variance from the 4th moment)
    se_mean = np.sqrt(var / n)
    assert np.all(np.abs(w.mean(axis=0) - a) < 5 * se_mean)
    c = w - w.mean(axis=0)
    s2 = (c**2).sum(axis=0) / (n - 1)
    m4 = (c**4).mean(axis=0)
    se_var = np.sqrt((m4 - s2**2) / n)
    assert np.all(np.abs(s2 - var) < 5 * se_var)
    emp_cov = np.cov(w, rowvar=False)
    prod = c[:, :, None] * c[:, None, :]
    se_cov = prod.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(emp_cov - cov) < 5 * se_cov + 1e-15)


def test_single_expert_marginal_is_beta_percentiles(paper):
    # panel of one: each weight is Beta(kappa a_j, kappa (1 - a_j)); compare the 5 and 95 % percentiles
    n, kappa = 20_000, DEFAULT_CONCENTRATION
    r = weight_bootstrap(paper, QUAD, panel_size=1, n_resamples=n, rng=3)
    a = paper.weights.values / paper.weights.values.sum()
    table = r.weight_table()
    for j, name in enumerate(IND):
        dist = scipy.stats.beta(kappa * a[j], kappa * (1 - a[j]))
        for p, key in [(0.05, "low"), (0.5, "median"), (0.95, "high")]:
            q = dist.ppf(p)
            se = np.sqrt(p * (1 - p) / n) / dist.pdf(q)  # asymptotic SE of a sample quantile
            assert abs(table[name][key] - q) < 5 * se, (name, key)


# ------------------------------------------------------------------ percentile interval


def test_percentile_interval_known_values():
    # 0, 1, ..., 100: the linear (type 7) percentile p of this sample is exactly p
    med, lo, hi = percentile_interval(np.arange(101.0))
    assert (med, lo, hi) == (50.0, 5.0, 95.0)
    med, lo, hi = percentile_interval(np.arange(101.0), 0.5)
    assert (lo, hi) == (25.0, 75.0)


def test_percentile_interval_matches_numpy_and_ignores_nan():
    x = np.random.default_rng(0).normal(size=(999, 3))
    med, lo, hi = percentile_interval(x, 0.9)
    np.testing.assert_array_equal(lo, np.percentile(x, 5, axis=0))
    np.testing.assert_array_equal(hi, np.percentile(x, 95, axis=0))
    np.testing.assert_array_equal(med, np.median(x, axis=0))
    y = np.concatenate([x[:, 0], [np.nan]])
    assert percentile_interval(y)[1] == np.percentile(x[:, 0], 5)


def test_percentile_interval_of_normal_sample_near_quantiles():
    n = 50_000
    x = np.random.default_rng(1).normal(size=n)
    _, lo, hi = percentile_interval(x, 0.9)
    q = scipy.stats.norm.ppf(0.95)
    se = np.sqrt(0.05 * 0.95 / n) / scipy.stats.norm.pdf(q)
    assert abs(lo + q) < 5 * se and abs(hi - q) < 5 * se


# ------------------------------------------------------------------ nonparametric oracle


def test_nonparametric_matches_binomial_oracle(paper, write_csv):
    # synthetic experts A, A, B; a panel of 3 holds K ~ Binomial(3, 1/3) copies of B and
    # weights ((3 - K) A + K B) / 3, so every quantity is a function of K with known probabilities
    A = [0.55, 0.15, 0.15, 0.15]
    B = [0.05, 0.15, 0.15, 0.65]
    path = expert_csv(write_csv, [A, A, B])
    n = 20_000
    r = weight_bootstrap(paper, QUAD, experts=path, n_resamples=n, rng=11)
    assert r.mode == "nonparametric" and r.panel_size == 3 and r.n_experts == 3
    assert "resampled 3 of 3 experts" in r.mode_description
    wk = np.array([((3 - k) * np.array(A) + k * np.array(B)) / 3 for k in range(4)])
    idx = compute_index(paper.indicators, wk, QUAD).values  # (K, cluster)
    pmf = scipy.stats.binom.pmf(np.arange(4), 3, 1 / 3)
    # quantiles of K: 5 % -> 0, 50 % -> 1, 95 % -> 2 (cdf 0.296, 0.741, 0.963); the index is monotone in K
    assert scipy.stats.binom.ppf([0.05, 0.5, 0.95], 3, 1 / 3).tolist() == [0, 1, 2]
    t = r.cluster_table()
    np.testing.assert_allclose(t["index_median"].values, idx[1], rtol=1e-12)
    np.testing.assert_allclose(t["index_low"].values, np.minimum(idx[0], idx[2]), rtol=1e-12)
    np.testing.assert_allclose(t["index_high"].values, np.maximum(idx[0], idx[2]), rtol=1e-12)
    # scenario probabilities: sum of the binomial pmf over the K giving each scenario
    codes = evaluate(paper, QUAD, weights=wk).scenario.values  # (K, cluster)
    exact = np.stack([(pmf[:, None] * (codes == s)).sum(axis=0) for s in range(4)], axis=-1)
    assert np.any((exact > 0.05) & (exact < 0.95)), "the oracle must move some cluster between scenarios"
    p = t["scenario_probability"].values
    se = np.sqrt(np.clip(exact * (1 - exact), 0, None) / n)
    assert np.all(np.abs(p - exact) <= 5 * se + 1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_nonparametric_single_or_identical_experts_give_zero_spread(paper, write_csv):
    one = expert_csv(write_csv, [[0.21, 0.31, 0.22, 0.26]], "one.csv")
    with pytest.warns(ClusterModelWarning, match="single expert"):
        r1 = weight_bootstrap(paper, QUAD, experts=one, n_resamples=200, rng=0)
    same = expert_csv(write_csv, [[0.4, 0.2, 0.2, 0.2]] * 4, "same.csv")
    r2 = weight_bootstrap(paper, QUAD, experts=same, n_resamples=200, rng=0, panel_size=5)
    for r in (r1, r2):
        assert r.zero_spread
        assert float(r.index_spread.max()) == 0.0
        assert r.notes[0].startswith("Zero spread")
        t = r.cluster_table()
        np.testing.assert_array_equal(t["rank_low"], t["rank_high"])
    assert any("differ from the study's weights" in n for n in r2.notes)


# ------------------------------------------------------------------ equation 1 vs quadratic


def test_equation1_zero_spread_with_note(paper):
    r = weight_bootstrap(paper, PAPER_SPEC.replace(aggregation="equation1"), n_resamples=500, rng=5)
    assert r.zero_spread
    assert float(r.index_spread.max()) == 0.0
    assert "cancel" in r.notes[0] and "Zero spread" in r.notes[0]
    assert "Zero spread" in r.summary() and "zero: the weights have no effect" in r.summary()
    d = r.to_dict()
    assert d["zero_spread"] is True
    # every panel reproduces the paper's counts under the printed formula
    assert d["study"]["scenario_counts"]["p_paper_counts"] == 1.0
    assert d["study"]["scenario_counts"]["nominal"] == PAPER_COUNTS


def test_quadratic_shows_spread(paper):
    r = weight_bootstrap(paper, QUAD, n_resamples=500, rng=5)
    assert not r.zero_spread
    assert float(r.index_spread.max()) > 0.05
    t = r.cluster_table()
    assert np.any(t["rank_high"] > t["rank_low"])
    assert not any("Zero spread" in n for n in r.notes)
    # the per-draw threshold is 0.5 * sqrt(sum of the panel's weights) = 0.5
    assert "parametric" in r.mode_description and "κ=20" in r.mode_description and "panels of 5" in r.mode_description


def test_equation1_spread_only_from_dropped_indicators(paper, write_csv):
    # a synthetic expert who drops an indicator: a panel of only that expert drops it from the index
    path = expert_csv(write_csv, [[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    r = weight_bootstrap(paper, PAPER_SPEC.replace(aggregation="equation1"), experts=path, n_resamples=300, rng=2)
    assert not r.zero_spread
    assert "exactly zero" in r.notes[0]


# ------------------------------------------------------------------ reproducibility and outputs


def test_same_seed_identical_results(paper):
    a = weight_bootstrap(paper, QUAD, n_resamples=300, rng=123)
    b = weight_bootstrap(paper, QUAD, n_resamples=300, rng=123)
    c = weight_bootstrap(paper, QUAD, n_resamples=300, rng=124)
    xr.testing.assert_identical(a.cluster_index, b.cluster_index)
    assert a.to_dict() == b.to_dict()
    assert not np.array_equal(a.weights.values, c.weights.values)
    g = np.random.default_rng(123)
    d = weight_bootstrap(paper, QUAD, n_resamples=300, rng=g)
    np.testing.assert_array_equal(a.weights.values, d.weights.values)
    x = cluster_bootstrap(paper, QUAD, n_resamples=200, rng=9)
    y = cluster_bootstrap(paper, QUAD, n_resamples=200, rng=9)
    assert x.to_dict() == y.to_dict()


def test_result_shapes_and_summary_outputs(paper, tmp_path):
    r = weight_bootstrap(paper, QUAD, n_resamples=100, rng=1)
    assert r.cluster_index.dims == ("draw", "cluster") and r.cluster_index.shape == (100, 25)
    assert r.scenario_counts.sum("scenario").values.tolist() == [25] * 100
    d = json.loads(json.dumps(r.to_dict()))
    rec = d["clusters"][0]
    for key in ["index_median", "index_low", "index_high", "rank_median", "rank_low", "rank_high", "scenario_probabilities"]:
        assert key in rec
    assert set(rec["scenario_probabilities"]) == set(SCENARIOS)
    assert rec["index_low"] <= rec["index_median"] <= rec["index_high"]
    ds = r.to_dataset()
    assert ds.attrs["mode"] == "parametric" and ds.attrs["seed"] == 1 and ds.attrs["spec_weights"] == "quadratic"
    assert ds["scenario_probability"].dims == ("cluster", "scenario")
    ds.to_netcdf(tmp_path / "b.nc")
    back = xr.open_dataset(tmp_path / "b.nc")
    np.testing.assert_allclose(back["cluster_index"].values, r.cluster_index.values)
    back.close()
    assert "| Rank | No. |" in r.summary()


def test_rank_summary_is_consistent_with_ranks(paper):
    r = weight_bootstrap(paper, QUAD, n_resamples=400, rng=4)
    ranks = r.cluster_rank.values
    assert np.all(np.sort(ranks, axis=1) == np.arange(1, 26))
    t = r.cluster_table()
    np.testing.assert_array_equal(t["rank_median"].values, np.median(ranks, axis=0))


# ------------------------------------------------------------------ cluster (data) bootstrap


def test_cluster_statistics_match_subset_and_evaluate(paper):
    rng = np.random.default_rng(0)
    positions = rng.integers(0, 25, size=(6, 25))
    for spec in (QUAD, PAPER_SPEC, PAPER_SPEC.replace(reference="sample", aggregation="quadratic", missing="rescale")):
        got = _cluster_statistics(paper, spec, evaluate(paper, spec).thresholds, positions)
        for b, pos in enumerate(positions):
            ev = evaluate(paper.subset(pos), spec)  # independent: one resample at a time via the labelled API
            np.testing.assert_allclose(got["correlation"][b], float(ev.correlation), rtol=1e-12)
            np.testing.assert_array_equal(got["scenario_counts"][b], ev.scenario_counts.values)
            np.testing.assert_allclose(got["mean_index"][b], float(ev.cluster_index.mean()), rtol=1e-12)


def test_cluster_statistics_identity_and_fixed_maxima(paper):
    ident = np.arange(25)[None, :]
    ev = evaluate(paper, QUAD)
    got = _cluster_statistics(paper, QUAD, ev.thresholds, ident)
    assert got["maxima_changed"][0] == 0.0
    np.testing.assert_allclose(got["correlation"][0], float(ev.correlation))
    pos = np.random.default_rng(1).integers(0, 25, size=(3, 25))
    fixed = _cluster_statistics(paper, QUAD, ev.thresholds, pos, "fixed")
    np.testing.assert_allclose(fixed["mean_index"], ev.cluster_index.values[pos].mean(axis=1))


def test_cluster_bootstrap_results(paper):
    r = cluster_bootstrap(paper, QUAD, n_resamples=500, rng=3)
    small = cluster_bootstrap(paper, QUAD, n_resamples=500, rng=3, batch_size=7)
    np.testing.assert_array_equal(r.correlation.values, small.correlation.values)
    d = r.to_dict()
    assert d["correlation"]["nominal"] == pytest.approx(float(evaluate(paper, QUAD).correlation))
    assert 0 <= d["scenario_counts"]["p_paper_counts"] <= 1
    assert r.scenario_counts.sum("scenario").values.tolist() == [25] * 500
    assert d["maxima_changed"]["p_any"] > 0.5  # resamples often lack a group's leader
    assert any("recomputed within every resample" in n for n in r.notes)
    f = cluster_bootstrap(paper, QUAD, n_resamples=500, rng=3, maxima="fixed")
    np.testing.assert_array_equal(f.positions.values, r.positions.values)
    assert any("maxima='fixed'" in n for n in f.notes)
    assert "Cluster (data) bootstrap" in r.summary()
    json.dumps(d)
    r.to_dataset()


# ------------------------------------------------------------------ bad input


def test_row_not_summing_to_one(write_csv):
    p = expert_csv(write_csv, [[0.25, 0.25, 0.25, 0.25], [0.5, 0.3, 0.2, 0.2]])
    with pytest.raises(InputError) as e:
        load_experts(p, IND)
    msg = str(e.value)
    assert "experts.csv" in msg and "line 3" in msg and "sum to 1.2" in msg and "synthetic_1" in msg


def test_row_nearly_one_is_renormalised_with_warning(write_csv):
    p = expert_csv(write_csv, [[0.25, 0.25, 0.25, 0.255]])
    with pytest.warns(ClusterModelWarning, match="renormalised"):
        e = load_experts(p, IND)
    np.testing.assert_allclose(e.sum("indicator"), 1.0)


def test_negative_weight(write_csv):
    p = expert_csv(write_csv, [[0.25, 0.25, 0.25, 0.25], [0.6, -0.1, 0.25, 0.25]])
    with pytest.raises(InputError, match=r"experts\.csv, line 3, column 'export_volume': negative weight"):
        load_experts(p, IND)


def test_unknown_indicator_lists_known(write_csv):
    p = write_csv("experts.csv", "expert,international_members,export_volume,publications,patents\nE,0.25,0.25,0.25,0.25\n")
    with pytest.raises(InputError) as e:
        load_experts(p, IND)
    msg = str(e.value)
    assert "line 1" in msg and "column 'patents'" in msg and "not in the data" in msg
    assert all(i in msg for i in IND)


def test_missing_indicator_column(write_csv):
    p = write_csv("experts.csv", "expert,international_members,export_volume,publications\nE,0.3,0.4,0.3\n")
    with pytest.raises(InputError, match=r"line 1: no column for indicator\(s\) 'joint_rd_expenditure'"):
        load_experts(p, IND)


def test_missing_expert_column_and_cells(write_csv):
    p = write_csv("e1.csv", ",".join(IND) + "\n0.25,0.25,0.25,0.25\n")
    with pytest.raises(InputError, match=r"e1\.csv, line 1: required column\(s\) 'expert'"):
        load_experts(p)
    p = expert_csv(write_csv, [[0.25, "", 0.25, 0.5]], "e2.csv")
    with pytest.raises(InputError, match=r"e2\.csv, line 2, column 'export_volume': weight is missing"):
        load_experts(p, IND)
    p = expert_csv(write_csv, [[0.25, "x", 0.25, 0.5]], "e3.csv")
    with pytest.raises(InputError, match=r"e3\.csv, line 2, column 'export_volume': 'x' is not a number"):
        load_experts(p, IND)


def test_in_memory_expert_table_checks():
    good = xr.DataArray([[0.5, 0.5]], dims=["expert", "indicator"], coords={"expert": ["E"], "indicator": ["a", "b"]})
    assert check_experts(good, ["a", "b"]).shape == (1, 2)
    with pytest.raises(ClusterModelError, match="negative weight"):
        check_experts(good.copy(data=[[1.5, -0.5]]))
    with pytest.raises(ClusterModelError, match="sum to 0.8"):
        check_experts(good.copy(data=[[0.4, 0.4]]))
    with pytest.raises(ClusterModelError, match="lacks: b.*indicators are a, c"):
        check_experts(good, ["a", "c"])
    with pytest.raises(ClusterModelError, match="dims"):
        check_experts(np.ones((2, 2)))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(mode="nonparametric"), "needs `experts`"),
        (dict(mode="bogus"), "`mode` must be one of"),
        (dict(concentration=0.0), "`concentration` must be a positive"),
        (dict(concentration=float("nan")), "`concentration` must be a positive"),
        (dict(concentration="20"), "`concentration` must be a positive"),
        (dict(panel_size=0), "`panel_size` must be at least 1"),
        (dict(n_resamples=0), "`n_resamples` must be at least 1"),
        (dict(confidence_level=1.5), "`confidence_level` must lie in"),
        (dict(rng=-1), "`rng` seed must be non-negative"),
    ],
)
def test_weight_bootstrap_rejects_bad_options(paper, kwargs, match):
    with pytest.raises(ClusterModelError, match=match):
        weight_bootstrap(paper, QUAD, **{"n_resamples": 10, **kwargs})


def test_experts_with_parametric_mode_rejected(paper, write_csv):
    p = expert_csv(write_csv, [[0.25] * 4])
    with pytest.raises(ClusterModelError, match="use mode='nonparametric'"):
        weight_bootstrap(paper, QUAD, mode="parametric", experts=p, n_resamples=10)


def test_small_concentration_warns(paper):
    with pytest.warns(ClusterModelWarning, match="U-shaped"):
        weight_bootstrap(paper, QUAD, concentration=2.0, n_resamples=10, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weight_bootstrap(paper, QUAD, n_resamples=10, rng=0)


def test_study_without_regions_rejected(write_csv):
    from clustermodel.data import load_study

    c = write_csv("c.csv", "no,a,b\n1,1,2\n2,3,1\n")
    w = write_csv("w.csv", "indicator,weight\na,0.5\nb,0.5\n")
    study = load_study(c, w)
    with pytest.raises(ClusterModelError, match="needs a region table"):
        weight_bootstrap(study, QUAD, n_resamples=10)
    with pytest.raises(ClusterModelError, match="needs a region table"):
        cluster_bootstrap(study, QUAD, n_resamples=10)


def test_cluster_bootstrap_rejects_bad_options(paper):
    with pytest.raises(ClusterModelError, match="`maxima` must be one of"):
        cluster_bootstrap(paper, n_resamples=10, maxima="none")
    with pytest.raises(ClusterModelError, match="`n_resamples` must be at least 1"):
        cluster_bootstrap(paper, n_resamples=0)


# ------------------------------------------------------------------ CLI


def test_cli_json_keys(capsys):
    assert main(["bootstrap", "--json", "--n-resamples", "200", "--seed", "1", "--data-bootstrap"]) == 0
    d = json.loads(capsys.readouterr().out)
    w = d["weight_bootstrap"]
    assert w["mode"] == "parametric" and w["spec"]["weights"] == "quadratic" and w["n_resamples"] == 200
    rec = w["clusters"][0]
    for key in ["index_median", "index_low", "index_high", "rank_median", "rank_low", "rank_high", "scenario_probabilities"]:
        assert key in rec
    assert {"correlation", "scenario_counts"} <= set(w["study"])
    assert "p_paper_counts" in w["study"]["scenario_counts"]
    assert d["data_bootstrap"]["n_resamples"] == 200 and "correlation" in d["data_bootstrap"]


def test_cli_same_seed_same_output(capsys):
    main(["bootstrap", "--json", "--n-resamples", "100", "--seed", "5"])
    a = capsys.readouterr().out
    main(["bootstrap", "--json", "--n-resamples", "100", "--seed", "5"])
    assert capsys.readouterr().out == a


def test_cli_writes_reports(tmp_path, capsys):
    assert main(["bootstrap", "--n-resamples", "100", "--seed", "1", "--data-bootstrap", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {
        "bootstrap.md",
        "bootstrap.json",
        "bootstrap.nc",
        "bootstrap_data.nc",
        "bootstrap_ranks.png",
        "bootstrap_scenarios.png",
    }


def test_cli_equation1_says_zero_spread(capsys):
    assert main(["bootstrap", "--placement", "equation1", "--n-resamples", "50", "--seed", "1"]) == 0
    assert "Zero spread" in capsys.readouterr().out


def test_cli_bad_expert_file_exit_2(write_csv, capsys):
    p = expert_csv(write_csv, [[0.5, 0.5, 0.5, 0.5]])
    assert main(["bootstrap", "--experts", str(p), "--n-resamples", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("clustermodel: error:") and "line 2" in err[0] and "experts.csv" in err[0]


def test_cli_nonparametric_without_experts_exit_2(capsys):
    assert main(["bootstrap", "--mode", "nonparametric", "--n-resamples", "10"]) == 2
    assert "needs `experts`" in capsys.readouterr().err


def test_cli_nonparametric_with_experts(write_csv, capsys):
    p = expert_csv(write_csv, [[0.3, 0.3, 0.2, 0.2], [0.1, 0.4, 0.2, 0.3], [0.2, 0.2, 0.3, 0.3]])
    assert main(["bootstrap", "--experts", str(p), "--n-resamples", "100", "--seed", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["weight_bootstrap"]
    assert d["mode"] == "nonparametric" and d["n_experts"] == 3 and "experts.csv" in d["mode_description"]
