"""Tests of clustermodel.sensitivity: oracles (Ishigami, SALib), the degenerate case, seeds, validation, CLI."""

import json
import warnings

import numpy as np
import pytest
import scipy.stats
import xarray as xr

from clustermodel import SCENARIOS, ClusterModelError, IndexSpec, PAPER_SPEC
from clustermodel.cli import main
from clustermodel.scenarios import evaluate
from clustermodel.sensitivity import (
    ISHIGAMI_PROBLEM,
    TRIGGER_OPTIONS,
    ishigami,
    ishigami_indices,
    sobol_analyze,
    sobol_indices,
    sobol_sample,
    weight_model,
    weight_sensitivity,
    weights_from_unit,
)

QUADRATIC = PAPER_SPEC.replace(aggregation="quadratic")


def _salib_analyze(problem, y, n_resamples, seed):
    from SALib.analyze import sobol as salib_sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return salib_sobol.analyze(problem, y, calc_second_order=False, num_resamples=n_resamples, seed=seed)


# --- oracle 1: the Ishigami function's analytic indices -------------------------------------


def test_ishigami_analytic_indices():
    # N = 2^13 scrambled Sobol' points: over seeds 1..8 the largest error of any index was 0.006 and
    # the bootstrap intervals are about 0.04 wide, so 0.02 is > 3x the observed error and the
    # analytic value must lie inside the reported 95 % interval.
    exact = ishigami_indices()
    res = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=2**13, rng=20261129, n_resamples=100)
    for key in ("S1", "ST"):
        est, lo, hi = getattr(res, key)[0], getattr(res, f"{key}_low")[0], getattr(res, f"{key}_high")[0]
        np.testing.assert_allclose(est, exact[key], atol=0.02)
        assert np.all((lo <= exact[key]) & (exact[key] <= hi)), (key, lo, exact[key], hi)
    assert res.factors == ("x1", "x2", "x3") and res.n == 2**13


def test_ishigami_analytic_values_from_the_literature():
    # Saltelli et al. (2008, Global Sensitivity Analysis: The Primer, p. 179) for a = 7, b = 0.1
    exact = ishigami_indices()
    np.testing.assert_allclose(exact["S1"], [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(exact["ST"], [0.5576, 0.4424, 0.2437], atol=1e-4)


def test_ishigami_matches_salib_including_bootstrap():
    X, seed = sobol_sample(ISHIGAMI_PROBLEM, 512, rng=7)
    y = ishigami(X)
    ours = sobol_analyze(ISHIGAMI_PROBLEM, y, rng=11, n_resamples=60)
    ref = _salib_analyze(ISHIGAMI_PROBLEM, y, 60, 11)
    for key in ("S1", "ST"):
        np.testing.assert_allclose(getattr(ours, key)[0], ref[key], rtol=0, atol=1e-10)
        # same bootstrap resamples as SALib (same seed), so even SALib's half-width agrees
        np.testing.assert_allclose(getattr(ours, f"{key}_conf")[0], ref[f"{key}_conf"], rtol=0, atol=1e-8)


def test_design_is_salibs_and_extensible():
    from SALib.sample import sobol as salib_sample

    X, seed = sobol_sample(ISHIGAMI_PROBLEM, 64, rng=99)
    assert seed == 99
    np.testing.assert_array_equal(X, salib_sample.sample(ISHIGAMI_PROBLEM, 64, calc_second_order=False, seed=99))
    X_small, _ = sobol_sample(ISHIGAMI_PROBLEM, 16, rng=99)
    np.testing.assert_array_equal(X[: 16 * 5], X_small)


def test_convergence_levels_end_at_the_main_estimate():
    res = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=1024, rng=3, n_resamples=30, convergence_levels=4)
    conv = res.convergence
    assert conv["n"] == [128, 256, 512, 1024]
    np.testing.assert_array_equal(conv["S1"][-1], res.S1)
    np.testing.assert_array_equal(conv["ST_high"][-1], res.ST_high)
    # each level is the analysis of the prefix of the design
    X, _ = sobol_sample(ISHIGAMI_PROBLEM, 1024, rng=res.sample_seed)
    small = sobol_analyze(ISHIGAMI_PROBLEM, ishigami(X[: 256 * 5]), rng=res.resample_seed, n_resamples=30)
    np.testing.assert_array_equal(conv["S1"][1], small.S1)
    widths = [np.max(conv["ST_high"][i] - conv["ST_low"][i]) for i in range(4)]
    assert widths[-1] < widths[0]


# --- oracle 2: SALib's own analyze on the paper's data ---------------------------------------


@pytest.mark.parametrize("triggers", [(), ("reference", "negative")])
def test_paper_weights_equal_salib_analyze(paper, triggers):
    res = weight_sensitivity(paper, QUADRATIC, n=256, rng=5, n_resamples=50, triggers=triggers)
    model, problem = weight_model(paper, QUADRATIC, triggers=triggers)
    X, _ = sobol_sample(problem, 256, rng=res.indices.sample_seed)
    Y = model(X)
    assert Y.shape == (256 * (problem["num_vars"] + 2), len(res.outputs))
    compared = 0
    for k in range(Y.shape[1]):
        if np.ptp(Y[:, k]) == 0:
            assert np.all(res.indices.S1[k] == 0) and np.all(res.indices.ST[k] == 0)
            continue
        ref = _salib_analyze(problem, Y[:, k], 50, res.indices.resample_seed)
        np.testing.assert_allclose(res.indices.S1[k], ref["S1"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.indices.ST[k], ref["ST"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.indices.S1_conf[k], ref["S1_conf"], rtol=0, atol=1e-8)
        compared += 1
    assert compared >= 50


def test_weight_model_agrees_with_evaluate(paper):
    model, problem = weight_model(paper, QUADRATIC)
    U = np.random.default_rng(0).random((40, problem["num_vars"]))
    Y = model(U)
    W = weights_from_unit(U, paper.weights.values)
    ev = evaluate(paper, QUADRATIC, weights=W)
    names = model.output_meta["name"]
    n = paper.clusters.sizes["cluster"]
    np.testing.assert_allclose(Y[:, :n], ev.cluster_index.values, rtol=1e-13)
    np.testing.assert_array_equal(Y[:, n : 2 * n], ev.cluster_rank.values)
    nominal = evaluate(paper, QUADRATIC)
    np.testing.assert_array_equal(Y[:, 2 * n : 3 * n], ev.scenario.values == nominal.scenario.values)
    np.testing.assert_array_equal(Y[:, 3 * n : 3 * n + 4], ev.scenario_counts.values)
    np.testing.assert_allclose(Y[:, names.index("correlation")], ev.correlation.values, rtol=1e-12)
    shift = np.abs(ev.cluster_rank.values - nominal.cluster_rank.values).mean(axis=1)
    np.testing.assert_allclose(Y[:, names.index("mean_rank_shift")], shift)


def test_triggers_switch_the_spec(paper):
    model, problem = weight_model(paper, QUADRATIC, triggers=("placement",))
    assert problem["names"][-1] == "placement"
    u = np.full((3, 5), 0.5)
    u[:, -1] = [0.1, 0.5, 0.9]  # equation1, quadratic, arithmetic
    Y = model(u)
    W = weights_from_unit(u[:, :4], paper.weights.values)
    for row, placement in enumerate(TRIGGER_OPTIONS["placement"]):
        ev = evaluate(paper, QUADRATIC.replace(aggregation=placement), weights=W[row])
        np.testing.assert_allclose(Y[row, :25], ev.cluster_index.values, rtol=1e-13)


# --- weights on the simplex --------------------------------------------------------------------


def test_gamma_mapping_is_dirichlet():
    alpha = np.array([0.21, 0.31, 0.22, 0.26])
    kappa = 20.0
    U = np.random.default_rng(1).random((100_000, 4))
    W = weights_from_unit(U, alpha, distribution="dirichlet", concentration=kappa)
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    np.testing.assert_allclose(W.mean(axis=0), alpha, atol=3e-3)
    np.testing.assert_allclose(W.var(axis=0), alpha * (1 - alpha) / (kappa + 1), rtol=0.03)
    # marginal of a Dirichlet is Beta(kappa a_j, kappa (1 - a_j))
    ks = scipy.stats.kstest(W[:, 1], scipy.stats.beta(kappa * alpha[1], kappa * (1 - alpha[1])).cdf)
    assert ks.pvalue > 0.001


def test_uniform_mapping_bounds():
    alpha = np.array([0.21, 0.31, 0.22, 0.26])
    U = np.random.default_rng(2).random((10_000, 4))
    W = weights_from_unit(U, alpha, distribution="uniform", delta=0.2)
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    raw = alpha * (1 + 0.2 * (2 * U - 1))
    np.testing.assert_allclose(W, raw / raw.sum(axis=1, keepdims=True))
    assert np.all(W > 0)


# --- the degenerate case: Equation 1 as printed -------------------------------------------------


def test_equation1_is_a_finding_not_a_crash(paper):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = weight_sensitivity(paper, PAPER_SPEC, n=256, rng=1, n_resamples=20)
    ix = res.indices
    for key in ("S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low", "ST_high", "ST_conf"):
        arr = getattr(ix, key)
        assert not np.isnan(arr).any()
        assert np.all(arr == 0), key
    assert ix.constant.all()
    text = " ".join(res.notes)
    assert "do not depend on the weights" in text and "cancels" in text
    assert all(r["mean_index_S1"] == 0 for r in res.importance)
    # the nominal weights still sit beside the measured importance (Paruolo et al.)
    assert [r["nominal_weight"] for r in res.importance] == [0.21, 0.31, 0.22, 0.26]
    assert all(r["effective_weight"] == 0.25 for r in res.importance)


def test_constant_output_gives_zero_and_note():
    def model(X):
        return np.column_stack([ishigami(X), np.full(len(X), 3.0)])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sobol_indices(model, ISHIGAMI_PROBLEM, n=64, rng=1, n_resamples=20, output_names=["y", "c"])
    assert np.all(res.S1[1] == 0) and np.all(res.ST_high[1] == 0) and res.constant.tolist() == [False, True]
    assert any("same value in every model run" in t and "c" in t for t in res.notes)
    assert np.any(res.S1[0] != 0)


# --- reproducibility ----------------------------------------------------------------------------


def test_same_seed_bit_identical(paper):
    a = weight_sensitivity(paper, QUADRATIC, n=128, rng=42, n_resamples=30)
    b = weight_sensitivity(paper, QUADRATIC, n=128, rng=42, n_resamples=30)
    for key in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "S1_resamples"):
        assert np.array_equal(getattr(a.indices, key), getattr(b.indices, key))
    assert a.to_json() == b.to_json()
    c = weight_sensitivity(paper, QUADRATIC, n=128, rng=np.random.default_rng(42), n_resamples=30)
    assert np.array_equal(a.indices.ST, c.indices.ST)


def test_different_seeds_agree_within_intervals(paper):
    a = weight_sensitivity(paper, QUADRATIC, n=512, rng=1).indices
    b = weight_sensitivity(paper, QUADRATIC, n=512, rng=2).indices
    assert a.sample_seed != b.sample_seed
    for key in ("S1", "ST"):
        lo_a, hi_a = getattr(a, f"{key}_low"), getattr(a, f"{key}_high")
        lo_b, hi_b = getattr(b, f"{key}_low"), getattr(b, f"{key}_high")
        assert np.all((lo_a <= hi_b) & (lo_b <= hi_a)), key  # every pair of intervals overlaps
        inside = (getattr(b, key) >= lo_a) & (getattr(b, key) <= hi_a)
        assert inside.mean() >= 0.9, (key, inside.mean())  # 95 % intervals


# --- results ------------------------------------------------------------------------------------


def test_result_exports(paper, tmp_path):
    res = weight_sensitivity(paper, QUADRATIC, n=64, rng=3, n_resamples=10, convergence_levels=2)
    recs = res.to_records()
    assert len(recs) == 82 * 4
    assert {"S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"} <= set(recs[0])
    d = json.loads(res.to_json())
    assert d["n"] == 64 and d["seed"] == 3 and d["spec"]["weights"] == "quadratic" and d["notes"]
    assert [c["n"] for c in d["convergence"]["median_interval_width"]] == [32, 64]
    assert len(d["convergence"]["records"]) == 2 * 7 * 4  # N levels x study-level outputs x factors
    ds = res.to_dataset()
    assert ds["ST"].dims == ("output", "factor") and ds.attrs["spec_weights"] == "quadratic"
    path = tmp_path / "s.nc"
    ds.to_netcdf(path)
    back = xr.open_dataset(path)
    np.testing.assert_array_equal(back["S1"].values, res.indices.S1)
    back.close()
    assert res.to_dataframe().shape[0] == 82 * 4
    md = res.summary()
    assert "Weights against importance" in md and "Do the conclusions survive?" in md
    quantities = set(res.quantity)
    assert quantities == {"index", "rank", "scenario_kept", "scenario_count", "counts_kept", "mean_rank_shift", "correlation"}
    assert [s for s in res.scenario if s] == list(SCENARIOS)


# --- validation messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 1000}, "`n` must be a power of two"),
        ({"n": 1}, "`n` must be at least 2"),
        ({"n": 64.0}, "`n` must be an integer"),
        ({"rng": "abc"}, "`rng` must be a numpy Generator"),
        ({"rng": -3}, "`rng` seed must be non-negative"),
        ({"distribution": "beta"}, "`distribution` must be one of"),
        ({"concentration": 0}, "`concentration` must be a positive"),
        ({"delta": 1.5, "distribution": "uniform"}, "`delta` must lie in (0, 1)"),
        ({"triggers": ["weights"]}, "`triggers` entries must be among"),
        ({"triggers": ["reference", "reference"]}, "`triggers` lists a factor twice"),
        ({"n_resamples": 1}, "`n_resamples` must be at least 2"),
        ({"confidence_level": 1.2}, "`confidence_level` must lie in (0, 1)"),
        ({"convergence_levels": 9, "n": 64}, "`convergence_levels` = 9"),
    ],
)
def test_weight_sensitivity_validation(paper, kwargs, message):
    kw = {"n": 64, "rng": 1, "n_resamples": 10, **kwargs}
    with pytest.raises(ClusterModelError) as exc:
        weight_sensitivity(paper, QUADRATIC, **kw)
    assert message in str(exc.value)


def test_analyze_validation():
    X, _ = sobol_sample(ISHIGAMI_PROBLEM, 16, rng=1)
    y = ishigami(X)
    with pytest.raises(ClusterModelError, match="not a multiple of D"):
        sobol_analyze(ISHIGAMI_PROBLEM, y[:-1])
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(ClusterModelError, match="NaN or infinite"):
        sobol_analyze(ISHIGAMI_PROBLEM, bad)
    with pytest.raises(ClusterModelError, match="`problem` lacks"):
        sobol_analyze({"num_vars": 3}, y)
    with pytest.raises(ClusterModelError, match="positive integer"):
        sobol_analyze(ISHIGAMI_PROBLEM, y, rng=0)  # SALib would silently use the global state
    with pytest.raises(ClusterModelError, match="`model` must be callable"):
        sobol_indices("ishigami", ISHIGAMI_PROBLEM, n=16)
    with pytest.raises(ClusterModelError, match="must have shape"):
        sobol_indices(lambda X: np.ones((len(X), 2, 2)), ISHIGAMI_PROBLEM, n=16)


def test_dirichlet_needs_positive_weights(paper):
    import dataclasses

    w = paper.weights.copy(data=[0.0, 0.5, 0.25, 0.25])
    study = dataclasses.replace(paper, aggregation=w)
    with pytest.raises(ClusterModelError, match="international_members has weight 0"):
        weight_sensitivity(study, QUADRATIC, n=16)
    res = weight_sensitivity(study, QUADRATIC, n=16, rng=1, distribution="uniform", n_resamples=5)
    assert np.all(res.indices.ST[:, 0] == 0)  # a zero weight stays zero: that factor is inert


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_json(capsys):
    assert main(["sobol", "--n", "64", "--seed", "1", "--n-resamples", "10", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {"n", "seed", "spec", "notes", "records"} <= set(d)
    assert d["n"] == 64 and d["seed"] == 1 and d["spec"]["weights"] == "quadratic"
    rec = d["records"][0]
    assert {"output", "factor", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"} <= set(rec)
    assert len(d["records"]) == 82 * 4


def test_cli_equation1_json(capsys):
    assert main(["sobol", "--placement", "equation1", "--n", "64", "--seed", "1", "--n-resamples", "10", "--json"]) == 0
    captured = capsys.readouterr()
    d = json.loads(captured.out)
    assert all(r["S1"] == 0 and r["ST"] == 0 for r in d["records"])
    assert any("do not depend on the weights" in t for t in d["notes"])
    assert captured.err == ""


def test_cli_triggers_and_out(tmp_path, capsys):
    code = main(["sobol", "--n", "32", "--seed", "2", "--n-resamples", "5", "--triggers", "negative", "--out", str(tmp_path)])
    assert code == 0
    assert {p.name for p in tmp_path.iterdir()} == {"sobol.json", "sobol.md", "sobol.nc", "sobol_bars.png", "sobol_heatmap.png"}
    d = json.loads((tmp_path / "sobol.json").read_text())
    assert d["factors"][-1] == {"factor": "negative", "kind": "trigger", "nominal_weight": None}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--n", "1000"], "`n` must be a power of two"),
        (["--seed", "-1"], "seed must be non-negative"),
        (["--distribution", "uniform", "--delta", "2"], "`delta` must lie in (0, 1)"),
        (["--concentration", "-1"], "`concentration` must be a positive"),
    ],
)
def test_cli_bad_values_exit_2(argv, message, capsys):
    assert main(["sobol", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("clustermodel: error:") and message in err[0]


def test_cli_unparsable_argument_exit_2(capsys):
    assert main(["sobol", "--seed", "abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("clustermodel: error:") and "invalid int value" in err[0]


# --- properties ---------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=15, deadline=None)
@given(
    beta=st.lists(st.floats(0.2, 3.0), min_size=2, max_size=4),
    seed=st.integers(1, 2**31),
)
def test_linear_model_indices_property(beta, seed):
    # y = sum_j beta_j x_j with independent uniform x_j: S1_j = ST_j = beta_j^2 / sum(beta^2)
    beta = np.asarray(beta)
    problem = {"num_vars": len(beta), "names": [f"x{j}" for j in range(len(beta))], "bounds": [[0, 1]] * len(beta)}
    res = sobol_indices(lambda X: X @ beta, problem, n=1024, rng=seed, n_resamples=10)
    exact = beta**2 / np.sum(beta**2)
    # at N = 1024 the scrambled-Sobol' error of these estimators is below 0.02 for additive models
    np.testing.assert_allclose(res.S1[0], exact, atol=0.05)
    np.testing.assert_allclose(res.ST[0], exact, atol=0.05)


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(1e-3, 1e3), shift=st.floats(-1e3, 1e3), seed=st.integers(1, 2**31))
def test_affine_invariance_and_batching_property(scale, shift, seed):
    X, _ = sobol_sample(ISHIGAMI_PROBLEM, 64, rng=seed)
    y = ishigami(X)
    both = sobol_analyze(ISHIGAMI_PROBLEM, np.column_stack([y, scale * y + shift]), rng=seed, n_resamples=20)
    alone = sobol_analyze(ISHIGAMI_PROBLEM, y, rng=seed, n_resamples=20)
    # analysing many outputs at once gives what analysing each alone gives (up to the summation
    # order numpy picks for a different array width)
    np.testing.assert_allclose(both.S1[0], alone.S1[0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(both.ST_high[0], alone.ST_high[0], rtol=0, atol=1e-13)
    # indices are invariant to an affine change of the output's units
    for key in ("S1", "ST", "S1_low", "ST_high"):
        np.testing.assert_allclose(getattr(both, key)[1], getattr(both, key)[0], atol=1e-9)


def test_progress_bar_runs(capsys):
    res = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=1, n_resamples=5, progress=True, convergence_levels=2)
    assert res.convergence["n"] == [32, 64]


def test_rare_flips_are_flagged(paper):
    res = weight_sensitivity(paper, QUADRATIC, n=256, rng=4, n_resamples=10)
    ix = res.indices
    flagged = [t for t in res.notes if t.startswith("Rare flips")]
    kept = [k for k, q in enumerate(res.quantity) if q == "scenario_kept" and not ix.constant[k]]
    rare = [ix.outputs[k] for k in kept if min(ix.output_mean[k], 1 - ix.output_mean[k]) * 2 * ix.n < 20]
    assert rare, "this seed and N give at least one rarely flipping cluster"
    assert flagged and all(f"{o} (" in flagged[0] for o in rare)


def test_benchmark_script_agrees_with_salib(tmp_path, capsys):
    # smoke test of benchmarks/bench_sobol.py at a small N: its exit status checks the 1e-10 agreement
    # with SALib's row-by-row usage (timings are printed, never asserted)
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_sobol.py"
    spec = importlib.util.spec_from_file_location("bench_sobol", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    assert bench.main(["--log2n", "6", "--n-resamples", "10", "--evaluate-rows", "0", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["max_abs_diff"]["S1"] <= 1e-10 and d["max_abs_diff"]["ST"] <= 1e-10
    assert "speed ratio" in capsys.readouterr().out
