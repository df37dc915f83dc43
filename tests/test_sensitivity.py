"""Tests of clustermodel.sobol and clustermodel.sensitivity: oracles (Ishigami, G, SALib), calibration, streaming,\nthe degenerate case, seeds, validation, reporting, CLI."""

import copy
import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import xarray as xr

from clustermodel import SCENARIOS, ClusterModelError, IndexSpec, PAPER_SPEC
from clustermodel.cli import main
from clustermodel.scenarios import evaluate
from clustermodel.nouns import Nouns
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
from clustermodel.sobol import EVENTS_NEEDED, G_FUNCTION_A, g_function, g_function_indices, g_function_problem

QUADRATIC = PAPER_SPEC.replace(aggregation="quadratic")


def _salib_analyze(problem, y, n_resamples, seed):
    from SALib.analyze import sobol as salib_sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return salib_sobol.analyze(problem, y, calc_second_order=False, num_resamples=n_resamples, seed=seed)


# --- oracle 1: the Ishigami function's analytic indices -------------------------------------


def test_ishigami_analytic_indices():
    # 10 designs of N = 2^11. Each replicate interval holds its analytic value about 95 % of the time
    # (benchmarks/bench_sobol_coverage.py), so fewer than 4 of 6 inside has a probability below 1 %.
    exact = ishigami_indices()
    res = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=2**11, rng=20261129)
    inside = 0
    for key in ("S1", "ST"):
        est, lo, hi = getattr(res, key)[0], getattr(res, f"{key}_low")[0], getattr(res, f"{key}_high")[0]
        np.testing.assert_allclose(est, exact[key], atol=0.01)
        inside += int(np.sum((lo <= exact[key]) & (exact[key] <= hi)))
        assert np.all(hi - lo < 0.02)
    assert inside >= 4
    assert res.factors == ("x1", "x2", "x3") and res.n == 2**11 and res.replicates == 10
    assert res.method == "replicate" and res.model_runs == 10 * 2**11 * 5


def test_ishigami_analytic_values_from_the_literature():
    # Saltelli et al. (2008, Global Sensitivity Analysis: The Primer, p. 179) for a = 7, b = 0.1
    exact = ishigami_indices()
    np.testing.assert_allclose(exact["S1"], [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(exact["ST"], [0.5576, 0.4424, 0.2437], atol=1e-4)


def test_g_function_analytic_values():
    # Independent of the closed form: E[g | x_j] = g_j(x_j) because every other factor has mean 1, so
    # V_j = Var(g_j(x_j)), integrated numerically on a fine midpoint grid.
    ex = g_function_indices()
    x = (np.arange(200_000) + 0.5) / 200_000
    a = np.array(G_FUNCTION_A)
    gj = (np.abs(4 * x[:, None] - 2) + a) / (1 + a)
    vj = gj.var(axis=0)
    v = np.prod(1 + vj) - 1
    np.testing.assert_allclose(ex["S1"], vj / v, rtol=1e-8)
    np.testing.assert_allclose(ex["ST"], vj * np.prod(1 + vj) / (1 + vj) / v, rtol=1e-8)
    assert np.all(ex["ST"] >= ex["S1"]) and ex["ST"].sum() > 1
    # a large Monte Carlo check of the variance formula
    X = np.random.default_rng(0).random((400_000, 8))
    assert np.var(g_function(X)) == pytest.approx(ex["variance"], rel=0.01)
    res = sobol_indices(g_function, g_function_problem(), n=2**10, rng=3)
    np.testing.assert_allclose(res.S1[0], ex["S1"], atol=0.02)
    np.testing.assert_allclose(res.ST[0], ex["ST"], atol=0.02)


def _salib_design_and_analysis(problem, model, n, g_design, g_resample, n_resamples):
    from SALib.sample import sobol as salib_sample

    X = salib_sample.sample(problem, n, calc_second_order=False, seed=g_design)
    y = model(X)
    return X, y, _salib_analyze(problem, y, n_resamples, g_resample)


def test_bootstrap_method_is_salibs_including_its_half_widths():
    # method='bootstrap' spawns two streams from rng: the design (SALib's sample with that generator)
    # and the resamples (SALib's analyze with that generator); both are SALib's own.
    res = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=512, rng=7, method="bootstrap", n_resamples=60, chunk_size=64)
    g_design, g_resample = np.random.default_rng(7).spawn(2)
    X, y, ref = _salib_design_and_analysis(ISHIGAMI_PROBLEM, ishigami, 512, g_design, g_resample, 60)
    for key in ("S1", "ST"):
        np.testing.assert_allclose(getattr(res, key)[0], ref[key], rtol=0, atol=1e-12)
        np.testing.assert_allclose(getattr(res, f"{key}_conf")[0], ref[f"{key}_conf"], rtol=0, atol=1e-12)
    # the in-memory analysis of the same outputs with an integer seed: SALib's analyze(seed=11)
    ours = sobol_analyze(ISHIGAMI_PROBLEM, y, method="bootstrap", rng=11, n_resamples=60)
    ref = _salib_analyze(ISHIGAMI_PROBLEM, y, 60, 11)
    for key in ("S1", "ST"):
        np.testing.assert_allclose(getattr(ours, key)[0], ref[key], rtol=0, atol=1e-12)
        np.testing.assert_allclose(getattr(ours, f"{key}_conf")[0], ref[f"{key}_conf"], rtol=0, atol=1e-12)
    assert res.S1_resamples.shape == (60, 1, 3) and res.replicates == 1


def test_each_replicate_is_salibs_estimate_on_its_design():
    res = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=256, replicates=4, rng=5)
    for r, g in enumerate(np.random.default_rng(5).spawn(4)):
        _, _, ref = _salib_design_and_analysis(ISHIGAMI_PROBLEM, ishigami, 256, g, 1, 2)
        np.testing.assert_allclose(res.S1_replicates[r, 0], ref["S1"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(res.ST_replicates[r, 0], ref["ST"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.S1, res.S1_replicates.mean(axis=0), rtol=0, atol=1e-15)
    half = scipy.stats.t.ppf(0.975, 3) * res.ST_replicates.std(axis=0, ddof=1) / 2
    np.testing.assert_allclose(res.ST_high - res.ST, half, rtol=1e-12)
    np.testing.assert_allclose(res.ST_conf, half, rtol=1e-12)


def test_design_is_salibs_and_extensible():
    from SALib.sample import sobol as salib_sample

    X = sobol_sample(ISHIGAMI_PROBLEM, 64, rng=99)
    ref = salib_sample.sample(ISHIGAMI_PROBLEM, 64, calc_second_order=False, seed=np.random.default_rng(99))
    np.testing.assert_array_equal(X, ref)
    np.testing.assert_array_equal(X[: 16 * 5], sobol_sample(ISHIGAMI_PROBLEM, 16, rng=99))
    reps = sobol_sample(ISHIGAMI_PROBLEM, 64, replicates=3, seed=99)  # SALib's name for rng
    assert reps.shape == (3, 64 * 5, 3)
    for r, g in enumerate(np.random.default_rng(99).spawn(3)):
        np.testing.assert_array_equal(reps[r], salib_sample.sample(ISHIGAMI_PROBLEM, 64, calc_second_order=False, seed=g))
    assert not np.array_equal(reps[0], reps[1])


def test_analyze_in_memory_equals_the_streamed_run():
    res = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=128, replicates=5, rng=8, chunk_size=16)
    Y = ishigami(sobol_sample(ISHIGAMI_PROBLEM, 128, replicates=5, rng=8))
    mem = sobol_analyze(ISHIGAMI_PROBLEM, Y)
    for key in ("S1", "S1_low", "ST", "ST_high", "output_mean", "output_std", "output_low"):
        np.testing.assert_allclose(getattr(mem, key), getattr(res, key), rtol=0, atol=1e-12)


def test_convergence_levels_end_at_the_main_estimate():
    res = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=1024, rng=3, convergence_levels=4, chunk_size=64)
    conv = res.convergence
    assert conv["n"] == [128, 256, 512, 1024]
    np.testing.assert_array_equal(conv["S1"][-1], res.S1)
    np.testing.assert_array_equal(conv["ST_high"][-1], res.ST_high)
    # each level is the analysis of the prefixes of the designs
    Y = ishigami(sobol_sample(ISHIGAMI_PROBLEM, 1024, replicates=10, rng=3))
    small = sobol_analyze(ISHIGAMI_PROBLEM, Y[:, : 256 * 5])
    np.testing.assert_allclose(conv["S1"][1], small.S1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(conv["ST_low"][1], small.ST_low, rtol=0, atol=1e-12)
    widths = [np.max(conv["ST_high"][i] - conv["ST_low"][i]) for i in range(4)]
    assert widths[-1] < widths[0]
    boot = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=256, rng=3, method="bootstrap", n_resamples=20, convergence_levels=2)
    g_design, g_resample = np.random.default_rng(3).spawn(2)
    y = ishigami(sobol_sample(ISHIGAMI_PROBLEM, 256, rng=g_design))
    prefix = _salib_analyze(ISHIGAMI_PROBLEM, y[: 128 * 5], 20, g_resample)
    np.testing.assert_allclose(boot.convergence["S1"][0, 0], prefix["S1"], rtol=0, atol=1e-12)


# --- streaming: chunks, schedulers, memory ----------------------------------------------------------


def _reference_indices(Y, d):
    """SALib's estimator written out directly on one design's full output matrix (rows, K)."""
    n = Y.shape[0] // (d + 2)
    Z = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    Z = Z.reshape(n, d + 2, -1)
    A, B, AB = Z[:, 0], Z[:, d + 1], Z[:, 1 : d + 1]
    V = np.var(np.concatenate([A, B]), axis=0)
    S1 = np.mean(B[:, None, :] * (AB - A[:, None, :]), axis=0) / V
    ST = 0.5 * np.mean((A[:, None, :] - AB) ** 2, axis=0) / V
    return S1.T, ST.T


def _many_outputs(X):
    y = ishigami(X)
    return np.column_stack([y, 100.0 + y**2, np.exp(X[:, 0] / 4), X @ np.array([1.0, -2.0, 0.5]), 1e6 + np.sin(X[:, 2])])


@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_streamed_equals_unchunked_to_1e_12(chunk_size):
    kw = dict(n=128, replicates=3, rng=21, convergence_levels=3)
    one = sobol_indices(_many_outputs, ISHIGAMI_PROBLEM, chunk_size=128, **kw)
    many = sobol_indices(_many_outputs, ISHIGAMI_PROBLEM, chunk_size=chunk_size, **kw)
    assert one.chunk_size == 128 and many.chunk_size == chunk_size
    for key in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "S1_replicates", "output_mean", "output_std"):
        np.testing.assert_allclose(getattr(many, key), getattr(one, key), rtol=0, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(many.convergence["ST"], one.convergence["ST"], rtol=0, atol=1e-12)
    # and both equal the estimator written out on each design's whole output matrix
    Y = _many_outputs(sobol_sample(ISHIGAMI_PROBLEM, 128, replicates=3, rng=21).reshape(-1, 3)).reshape(3, 128 * 5, -1)
    for r in range(3):
        S1, ST = _reference_indices(Y[r], 3)
        np.testing.assert_allclose(many.S1_replicates[r], S1, rtol=0, atol=1e-12)
        np.testing.assert_allclose(many.ST_replicates[r], ST, rtol=0, atol=1e-12)


def test_bootstrap_streamed_equals_unchunked():
    kw = dict(n=128, rng=4, method="bootstrap", n_resamples=30)
    one = sobol_indices(_many_outputs, ISHIGAMI_PROBLEM, chunk_size=128, **kw)
    many = sobol_indices(_many_outputs, ISHIGAMI_PROBLEM, chunk_size=5, **kw)
    for key in ("S1", "S1_low", "ST_high", "S1_conf", "S1_resamples", "ST_resamples"):
        np.testing.assert_allclose(getattr(many, key), getattr(one, key), rtol=0, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("method", ["replicate", "bootstrap"])
def test_a_chunk_summed_in_sub_blocks_equals_one_block(monkeypatch, method):
    """A chunk is run and summed a cache-sized block of design rows at a time (sums.SUB_BLOCK_BYTES); with the
    blocks forced to their smallest (10 design rows for D = 3) the estimates, intervals, resampled indices and the
    quantile rows' output summaries equal the one-block run to rounding."""
    import clustermodel.sobol.sums as sums

    kw = dict(n=128, rng=8, chunk_size=64, convergence_levels=2)
    kw.update(replicates=3) if method == "replicate" else kw.update(method="bootstrap", n_resamples=20)
    one = sobol_indices(_many_outputs, ISHIGAMI_PROBLEM, **kw)
    monkeypatch.setattr(sums, "SUB_BLOCK_BYTES", 1)
    assert sums._sub_blocks(0, 64, 3, 5) == [(a, min(a + 10, 64)) for a in range(0, 64, 10)]
    split = sobol_indices(_many_outputs, ISHIGAMI_PROBLEM, **kw)
    keys = ["S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "output_mean", "output_std", "output_low", "output_high"]
    keys += ["S1_replicates"] if method == "replicate" else ["S1_resamples", "ST_resamples"]
    for key in keys:
        np.testing.assert_allclose(getattr(split, key), getattr(one, key), rtol=0, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(split.convergence["ST"], one.convergence["ST"], rtol=0, atol=1e-12)


def test_local_cluster_gives_identical_results():
    distributed = pytest.importorskip("distributed")
    kw = dict(n=64, replicates=4, rng=9, chunk_size=16, convergence_levels=2, progress=False)
    local = sobol_indices(_many_outputs, ISHIGAMI_PROBLEM, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            remote = sobol_indices(_many_outputs, ISHIGAMI_PROBLEM, client=client, **kw)
            by_address = sobol_indices(_many_outputs, ISHIGAMI_PROBLEM, client=cluster.scheduler_address, **kw)
    for key in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "S1_replicates", "output_mean", "output_low"):
        np.testing.assert_array_equal(getattr(remote, key), getattr(local, key), err_msg=key)
        np.testing.assert_array_equal(getattr(by_address, key), getattr(local, key), err_msg=key)
    np.testing.assert_array_equal(remote.convergence["S1"], local.convergence["S1"])


def test_unreachable_scheduler_is_one_line(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("clustermodel._dask.CONNECT_TIMEOUT", "1s")
    with pytest.raises(ClusterModelError, match=r"^`client`: cannot reach the dask scheduler at 'tcp://127.0.0.1:9'"):
        sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=16, rng=1, client="tcp://127.0.0.1:9")


def test_chunk_size_follows_the_memory_budget():
    def wide(X):
        return np.repeat(_many_outputs(X), 100, axis=1)  # 500 outputs

    big = sobol_indices(wide, ISHIGAMI_PROBLEM, n=2**12, replicates=2, rng=1, memory_limit="1GiB")
    small = sobol_indices(wide, ISHIGAMI_PROBLEM, n=2**12, replicates=2, rng=1, memory_limit=100 * 2**20)
    assert small.chunk_size < big.chunk_size
    assert small.memory_estimate <= 100 * 2**20 < big.memory_estimate
    np.testing.assert_allclose(small.S1, big.S1, rtol=0, atol=1e-12)


def test_memory_estimate_does_not_grow_with_n():
    from clustermodel.sobol.engine import _plan

    kw = dict(d=20, k=5000, replicates=10, levels=1, n_resamples=0, workers=2, per_row=8 * 5000, model_fixed=0, limit=2**40, chunk_size=256)
    assert _plan(n=2**12, **kw)[1] == _plan(n=2**20, **kw)[1]  # (a bounded prefix is kept for quantiles)
    boot = dict(kw, n_resamples=100, replicates=1)  # the bootstrap keeps SALib's N x n_resamples draw
    assert _plan(n=2**20, **boot)[1] > _plan(n=2**12, **boot)[1]


def test_over_budget_is_one_line_naming_the_option():
    model = lambda X: np.repeat(ishigami(X)[:, None], 2000, axis=1)  # noqa: E731
    with pytest.raises(ClusterModelError) as exc:
        sobol_indices(model, ISHIGAMI_PROBLEM, n=64, replicates=2, rng=1, memory_limit="20MB")
    msg = str(exc.value)
    assert "\n" not in msg and "`memory_limit`" in msg and "memory_limit='" in msg
    with pytest.raises(ClusterModelError) as exc:
        sobol_indices(model, ISHIGAMI_PROBLEM, n=4096, replicates=2, rng=1, memory_limit="150MB", chunk_size=4096)
    msg = str(exc.value)
    assert "\n" not in msg and "`chunk_size` <=" in msg and "`memory_limit` is 143.05 MiB" in msg


def test_progress_bar_is_silent_without_a_terminal(capsys):
    res = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=1, progress=True, convergence_levels=2, chunk_size=8)
    assert res.convergence["n"] == [32, 64]
    assert capsys.readouterr().err == ""  # standard error is captured here, not a terminal


def test_progress_bar_on_a_terminal(monkeypatch, capsys):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=1, chunk_size=8)
    assert "sobol" in capsys.readouterr().err
    sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=1, chunk_size=8, progress=False)
    assert capsys.readouterr().err == ""


# --- calibration: the coverage study in small ---------------------------------------------------


def test_replicate_intervals_are_calibrated_and_the_bootstraps_are_not():
    # A fast version of benchmarks/bench_sobol_coverage.py: 30 seeds x (Ishigami 6 + G 16) indices.
    # Replicate intervals (8 designs of N = 256): nominal 95 %; the pooled coverage of 660 index-seed
    # pairs must lie in [0.88, 0.99] (the benchmark: 0.96-0.98 over 200 seeds). Bootstrap intervals (one
    # design of 2048 rows): they cover nearly always because they are several times wider than the
    # seed-to-seed spread of the estimate they belong to.
    cover = {"replicate": [], "bootstrap": []}
    boot_width_over_spread = []
    for f, problem, exact in (
        (ishigami, ISHIGAMI_PROBLEM, ishigami_indices()),
        (g_function, g_function_problem(), g_function_indices()),
    ):
        est, width = [], []
        for seed in range(30):
            runs = {
                "replicate": sobol_indices(f, problem, n=256, replicates=8, rng=seed, progress=False),
                "bootstrap": sobol_indices(f, problem, n=2048, method="bootstrap", n_resamples=50, rng=seed, progress=False),
            }
            for m, r in runs.items():
                for key in ("S1", "ST"):
                    lo, hi = getattr(r, f"{key}_low")[0], getattr(r, f"{key}_high")[0]
                    cover[m] += list((lo <= exact[key]) & (exact[key] <= hi))
            b = runs["bootstrap"]
            est.append(np.concatenate([b.S1[0], b.ST[0]]))
            width.append(np.concatenate([b.S1_high[0] - b.S1_low[0], b.ST_high[0] - b.ST_low[0]]))
        spread = 2 * 1.96 * np.std(est, axis=0, ddof=1)
        boot_width_over_spread += list(np.mean(width, axis=0) / spread)
    rep, boot = np.mean(cover["replicate"]), np.mean(cover["bootstrap"])
    assert 0.88 <= rep <= 0.99, rep
    assert boot >= 0.97, boot
    assert np.median(boot_width_over_spread) > 2.5, np.median(boot_width_over_spread)


# --- outputs that need care ---------------------------------------------------------------------


def test_near_constant_output_is_constant_not_noise():
    # sqrt of a sum of weights that sum to one: 1 up to rounding (spread ~1e-16)
    def model(X):
        w = X / X.sum(axis=1, keepdims=True)
        return np.column_stack([np.sqrt(w.sum(axis=1)), ishigami(X), 1e-100 * X[:, 0]])

    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[1.0, 2.0]] * 3}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sobol_indices(model, problem, n=256, rng=1)
    assert res.constant.tolist() == [True, False, False]  # a tiny but real variation is not rounding
    for key in ("S1", "ST", "S1_low", "S1_high", "ST_low", "ST_high"):
        assert np.all(getattr(res, key)[0] == 0), key
    assert res.ST[2, 0] > 0.9 and np.all(res.ST[2, 1:] == 0)
    assert any("up to rounding" in t and "y0" in t for t in res.notes)


def test_rare_events_get_a_note_with_the_n_they_need():
    def model(X):
        y = ishigami(X)
        return np.column_stack([(y > 14.5).astype(float), (y > 5).astype(float)])

    res = sobol_indices(model, ISHIGAMI_PROBLEM, n=256, replicates=4, rng=2)
    assert res.binary.tolist() == [True, True]
    assert res.rare.tolist() == [True, False]
    p = res.events[0] / (2 * 256 * 4)
    assert 0 < res.events[0] < EVENTS_NEEDED <= res.events[1]
    assert res.n_needed[0] >= EVENTS_NEEDED / (2 * 4 * p) / 2 and res.n_needed[0] & (res.n_needed[0] - 1) == 0
    note = next(t for t in res.notes if t.startswith("Rare events"))
    assert f"y0 ({res.events[0]} events, N ≥ {res.n_needed[0]})" in note


def test_an_output_flat_in_some_designs_averages_the_others():
    # 0/1 output that flips in a handful of runs: some designs see no flip over A and B
    model = lambda X: (ishigami(X) > 17.5).astype(float)[:, None]  # noqa: E731
    res = sobol_indices(model, ISHIGAMI_PROBLEM, n=64, replicates=10, rng=3)
    assert 0 < res.informative[0] < 10 or res.flat_ab[0] or res.constant[0]
    if res.informative[0] < 2 and not res.constant[0]:
        assert np.all(res.S1_low[0] == 0) and np.all(res.S1_high[0] == 1)  # nothing known
    assert not np.isnan(res.S1).any() and not np.isnan(res.S1_low).any()


def test_constant_output_gives_zero_and_note():
    def model(X):
        return np.column_stack([ishigami(X), np.full(len(X), 3.0)])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sobol_indices(model, ISHIGAMI_PROBLEM, n=64, rng=1, output_names=["y", "c"])
    assert np.all(res.S1[1] == 0) and np.all(res.ST_high[1] == 0) and res.constant.tolist() == [False, True]
    assert any("same value in every model run" in t and "c" in t for t in res.notes)
    assert np.any(res.S1[0] != 0)


def test_the_estimator_returns_note_codes_and_reporting_words_them(paper):
    """Numbers below, words above: weight_sensitivity records what its notes must say as codes with their numbers
    (the counts as a dict, the trigger options as lists); the sentences come from reporting.sobol.result_notes, one
    or more per code, in order, and the JSON carries both."""
    from clustermodel.reporting.sobol import result_notes

    res = weight_sensitivity(paper, QUADRATIC.replace(reference="sample"), n=64, replicates=2, rng=3, triggers=["negative"], progress=False)
    codes = dict(res.note_codes)
    assert list(codes)[:1] == ["independent_uniforms"] and "trigger_factors" in codes
    assert codes["trigger_factors"]["options"] == {"negative": list(res.triggers["negative"])} and len(res.triggers["negative"]) >= 2
    counts = codes["spec_moves_paper_counts"]["counts"]  # reference = sample moves the paper's counts
    assert all(isinstance(v, int) for v in counts.values()) and counts != codes["spec_moves_paper_counts"]["paper"]
    assert any(f"{counts['lonely']} lonely" in t for t in res.notes) and not any("{'" in t for t in res.notes)
    assert res.notes == tuple(result_notes(res)) and len(res.notes) >= len(res.note_codes) - 1
    d = res.to_dict()
    assert d["notes"] == list(res.notes) and [c for c, _ in d["note_codes"]] == [c for c, _ in res.note_codes]
    eq1 = weight_sensitivity(paper, PAPER_SPEC, n=64, replicates=2, rng=3, progress=False)
    assert "equation1_weights_inert" in dict(eq1.note_codes)
    assert any("do not depend on the weights" in t for t in eq1.notes)
    bad = dataclasses.replace(res, note_codes=(("no_such_code", {}),))
    with pytest.raises(ValueError, match="no_such_code"):
        bad.notes


# --- oracle 2: SALib's own analyze on the paper's data ---------------------------------------


@pytest.mark.parametrize("triggers", [(), ("reference", "negative")])
def test_paper_weights_equal_salib_analyze(paper, triggers):
    res = weight_sensitivity(paper, QUADRATIC, n=256, rng=5, method="bootstrap", n_resamples=50, triggers=triggers)
    model, problem = weight_model(paper, QUADRATIC, triggers=triggers)
    g_design, g_resample = np.random.default_rng(5).spawn(2)
    X = sobol_sample(problem, 256, rng=g_design)
    Y = model(X)
    assert Y.shape == (256 * (problem["num_vars"] + 2), len(res.outputs))
    compared = 0
    for k in range(Y.shape[1]):
        if np.ptp(Y[:, k]) == 0:
            assert np.all(res.indices.S1[k] == 0) and np.all(res.indices.ST[k] == 0)
            continue
        ref = _salib_analyze(problem, Y[:, k], 50, copy.deepcopy(g_resample))
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
    model, problem = weight_model(paper, QUADRATIC, triggers=("aggregation",))
    assert problem["names"][-1] == "aggregation"
    u = np.full((3, 5), 0.5)
    u[:, -1] = [0.1, 0.5, 0.9]  # equation1, quadratic, arithmetic
    Y = model(u)
    W = weights_from_unit(u[:, :4], paper.weights.values)
    assert model.trigger_options["aggregation"] == ("equation1", "quadratic", "arithmetic")  # geometric/harmonic cannot take Table 6's deficits
    for row, aggregation in enumerate(model.trigger_options["aggregation"]):
        ev = evaluate(paper, QUADRATIC.replace(aggregation=aggregation), weights=W[row])
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


def test_gamma_quantiles_are_scipys_gamma_ppf_to_the_bit():
    from clustermodel.sensitivity import _gamma_quantiles

    rng = np.random.default_rng(4)
    shape = np.array([0.3, 2.0, 12.5, 40.0])
    few = rng.random((5, 4))  # the direct path
    repeated = np.repeat(rng.random((40, 4)), 6, axis=0)  # the distinct-values path (a Saltelli design repeats values)
    repeated[:, 2] = np.clip(repeated[:, 2], 1e-300, 1 - 1e-16)
    for U in (few, repeated, np.array([[np.nextafter(0.0, 1.0), 0.5, np.nextafter(1.0, 0.0), 1e-9]])):
        np.testing.assert_array_equal(_gamma_quantiles(U, shape), scipy.stats.gamma.ppf(U, shape))


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


# --- reproducibility and seeds -------------------------------------------------------------------


def test_same_seed_bit_identical(paper):
    a = weight_sensitivity(paper, QUADRATIC, n=128, rng=42)
    with pytest.warns(DeprecationWarning, match="pass the same value as rng="):
        b = weight_sensitivity(paper, QUADRATIC, n=128, seed=42, chunk_size=16)  # the deprecated name, other chunks
    with pytest.raises(ClusterModelError, match="not both"), pytest.warns(DeprecationWarning):
        weight_sensitivity(paper, QUADRATIC, n=128, seed=42, rng=42)
    for key in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"):
        np.testing.assert_allclose(getattr(a.indices, key), getattr(b.indices, key), rtol=0, atol=1e-12)
    c = weight_sensitivity(paper, QUADRATIC, n=128, rng=42)
    assert a.to_json() == c.to_json()
    d = weight_sensitivity(paper, QUADRATIC, n=128, rng=np.random.default_rng(42))
    assert np.array_equal(a.indices.ST, d.indices.ST)
    e = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=np.random.SeedSequence(42))
    assert np.array_equal(e.S1, sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=42).S1)
    assert a.seed == 42 and a.indices.entropy == "42" and d.seed is None


def test_seed_without_rng_is_recorded_and_repeatable():
    a = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64)
    again = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=np.random.SeedSequence(int(a.entropy)))
    assert a.seed is None and np.array_equal(a.S1, again.S1)
    # what a run records of its seed is _validation.seed_record's rule: a SeedSequence of an integer is that seed
    # (the same stream as the integer), a spawned one records no bare seed (its key is in the entropy)
    assert again.seed == int(a.entropy)
    five = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=5)
    assert five.seed == 5 and np.array_equal(five.S1, sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=np.random.SeedSequence(5)).S1)
    child = np.random.SeedSequence(5).spawn(2)[1]
    spawned = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=64, rng=child)
    assert spawned.seed is None and "spawn_key=(1,)" in spawned.entropy


def test_different_seeds_agree_within_intervals(paper):
    a = weight_sensitivity(paper, QUADRATIC, n=256, rng=1).indices
    b = weight_sensitivity(paper, QUADRATIC, n=256, rng=2).indices
    ok = a.estimable & b.estimable & ~a.rare & ~b.rare & ~a.constant
    assert ok.sum() > 40
    for key in ("S1", "ST"):
        lo_a, hi_a = getattr(a, f"{key}_low")[ok], getattr(a, f"{key}_high")[ok]
        lo_b, hi_b = getattr(b, f"{key}_low")[ok], getattr(b, f"{key}_high")[ok]
        overlap = (lo_a <= hi_b) & (lo_b <= hi_a)
        assert overlap.mean() >= 0.9, (key, overlap.mean())
        # two independent estimates: with calibrated 95 % intervals about 83 % of the second run's
        # estimates fall inside the first run's intervals
        inside = (getattr(b, key)[ok] >= lo_a) & (getattr(b, key)[ok] <= hi_a)
        assert 0.6 <= inside.mean() <= 0.97, (key, inside.mean())


# --- results ------------------------------------------------------------------------------------


def test_result_exports(paper, tmp_path):
    res = weight_sensitivity(paper, QUADRATIC, n=64, replicates=3, rng=3, convergence_levels=2)
    recs = res.to_records()
    assert len(recs) == 82 * 4
    assert {"S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"} <= set(recs[0])
    d = json.loads(res.to_json())
    assert d["n"] == 64 and d["replicates"] == 3 and d["method"] == "replicate" and d["model_runs"] == 3 * 64 * 6
    assert d["seed"] == 3 and d["spec"]["aggregation"] == "quadratic" and d["notes"]
    assert [c["n"] for c in d["convergence"]["median_interval_width"]] == [32, 64]
    assert len(d["convergence"]["records"]) == 2 * 7 * 4  # N levels x study-level outputs x factors
    ds = res.to_dataset()
    assert ds["ST"].dims == ("output", "factor") and ds.attrs["spec_aggregation"] == "quadratic"
    assert ds["S1_replicates"].dims == ("replicate", "output", "factor") and ds.attrs["method"] == "replicate"
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
    assert "SobolResult" in repr(res) and "replicates=3" in repr(res.indices)


def test_summary_speaks_the_studys_nouns(paper):
    from clustermodel.reporting.sobol import findings

    res = weight_sensitivity(paper, QUADRATIC, n=64, replicates=2, rng=3)
    nouns = Nouns(unit="country", higher="continent")
    md = res.summary(nouns=nouns)
    assert "| country | name |" in md and "Country–continent correlation" in md
    for name in res.cluster_names.values():  # the units' own names are data
        md = md.replace(name, "")
    assert "cluster" not in md.lower()
    assert "Table 4" not in md and "3/14/8/0" not in md
    text = " ".join(findings(res, nouns=nouns))
    assert "cluster" not in text.lower() and "Table 4" not in text
    paper_md = res.summary()
    assert "| cluster | name |" in paper_md  # the paper's study keeps its words


def test_the_weights_finding_names_the_factors_furthest_from_their_weight(tmp_path):
    # 12 indicators: listing every one would bury the finding; the six furthest from their nominal weight are named.
    from clustermodel.data import load_study
    from clustermodel.reporting.sobol import LIST_FACTORS, findings

    rng = np.random.default_rng(5)
    names = [f"x{j}" for j in range(12)]
    rows = "".join(f"u{i}," + ",".join(f"{v:.3f}" for v in rng.gamma(2.0, 1.0, 12)) + "\n" for i in range(15))
    (tmp_path / "u.csv").write_text("id," + ",".join(names) + "\n" + rows)
    (tmp_path / "w.csv").write_text("indicator,weight\n" + "".join(f"{n},{(1 + j % 3) / 24!r}\n" for j, n in enumerate(names)))
    study = load_study(tmp_path / "u.csv", tmp_path / "w.csv", id_column="id")
    res = weight_sensitivity(study, n=16, replicates=2, rng=1, progress=False)
    text = findings(res, nouns=Nouns())[0]
    listed = [n for n in names if f"{n} " in text]
    assert len(listed) == LIST_FACTORS and f"the {LIST_FACTORS} of 12 indicators furthest from their nominal weight" in text
    gap = {w["indicator"]: abs(w["linear_importance_share"] - w["effective_weight"]) for w in res.importance}
    assert min(gap[n] for n in listed) >= max(gap[n] for n in names if n not in listed)


def test_in_a_hierarchy_importance_is_compared_with_the_effective_weight(tmp_path):
    # an importance share is a share of the whole index, so a nested indicator's comparison is with the product of
    # the weights down its path (0.75 x 0.5 = 0.375 for a), not with its weight within its pillar (0.5)
    from clustermodel.data import load_study
    from clustermodel.reporting.sobol import findings

    rng = np.random.default_rng(6)
    rows = "".join(f"u{i}," + ",".join(f"{v:.3f}" for v in rng.gamma(2.0, 1.0, 4)) + "\n" for i in range(12))
    (tmp_path / "u.csv").write_text("id,a,b,c,d\n" + rows)
    (tmp_path / "s.csv").write_text("node,parent,weight\nindex,,\np1,index,3\np2,index,1\na,p1,1\nb,p1,1\nc,p2,1\nd,p2,1\n")
    study = load_study(tmp_path / "u.csv", structure=tmp_path / "s.csv", id_column="id")
    res = weight_sensitivity(study, n=16, replicates=2, rng=1, progress=False)
    text = findings(res, nouns=Nouns())[0]
    assert "effective weight vs squared-correlation importance share" in text
    share = {w["indicator"]: w["linear_importance_share"] for w in res.importance}
    assert f"a 0.38 vs {share['a']:.2f}" in text and f"c 0.12 vs {share['c']:.2f}" in text


def test_a_large_study_without_scenarios_lists_its_least_stable_ranks(tmp_path, monkeypatch):
    # beyond MAX_UNITS_LISTED the table keeps the units whose 5-95 % rank interval is widest (a study without
    # higher-level units has no scenario to lose, so the scenario rule would pick units in table order)
    from clustermodel.data import load_study
    from clustermodel.reporting import sobol as report

    monkeypatch.setattr(report, "MAX_UNITS_LISTED", 5)
    rng = np.random.default_rng(7)
    rows = "".join(f"u{i:02d}," + ",".join(f"{v:.3f}" for v in rng.gamma(2.0, 1.0, 4)) + "\n" for i in range(20))
    (tmp_path / "u.csv").write_text("id,a,b,c,d\n" + rows)
    (tmp_path / "w.csv").write_text("indicator,weight\na,0.4\nb,0.3\nc,0.2\nd,0.1\n")
    study = load_study(tmp_path / "u.csv", tmp_path / "w.csv", id_column="id")
    res = weight_sensitivity(study, n=32, replicates=2, rng=2, progress=False)
    md = report.markdown(res, nouns=Nouns())
    assert "The 5 of 20 units with the widest 5–95 % rank interval are listed" in md and "scenario" not in md.lower()
    out = {r["output"]: r for r in res.output_table()}
    width = {u: out[f"rank[{u}]"]["q95"] - out[f"rank[{u}]"]["q05"] for u in res.cluster_names}
    listed = [u for u in width if f"| {u} |" in md]
    assert len(listed) == 5 and min(width[u] for u in listed) >= max(w for u, w in width.items() if u not in listed)


def test_estimator_modules_hold_no_prose():
    # Estimator modules return numbers; sentences and Markdown live in clustermodel.reporting.sobol.
    import inspect

    import clustermodel.sobol as sobol

    src = "".join(p.read_text(encoding="utf-8") for p in Path(sobol.__file__).parent.glob("*.py"))
    assert "| output |" not in src and "### " not in src and "notes.append" not in src
    src = inspect.getsource(__import__("clustermodel.sensitivity", fromlist=["SobolResult"]).SobolResult)
    assert "lines.append" not in src and "|---" not in src
    import clustermodel.workflow as workflow

    src = inspect.getsource(workflow.run_sobol)
    assert '"**' not in src and "findings(" in src
    assert "clustermodel.commands" not in inspect.getsource(workflow.run_sobol)


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
        ({"concentration": 0}, "`concentration` must be a number > 0"),
        ({"delta": 1.5, "distribution": "uniform"}, "`delta` must be a number in (0, 1)"),
        ({"triggers": ["weights"]}, "`triggers` entries must be spec fields among"),
        ({"triggers": ["reference", "reference"]}, "`triggers` lists a factor twice"),
        ({"method": "jackknife"}, "`method` must be one of 'replicate', 'bootstrap'"),
        ({"replicates": 1}, "`replicates` must be at least 2"),
        ({"replicates": 4, "method": "bootstrap"}, "`replicates` = 4 applies to method='replicate'"),
        ({"n_resamples": 1, "method": "bootstrap"}, "`n_resamples` must be at least 2"),
        ({"confidence_level": 1.2}, "`confidence_level` must lie in (0, 1)"),
        ({"convergence_levels": 9, "n": 64}, "`convergence_levels` = 9"),
        ({"chunk_size": 0}, "`chunk_size` must be at least 1"),
        ({"memory_limit": "lots"}, "`memory_limit` must be a number of bytes or a size such as"),
        ({"memory_limit": -1}, "`memory_limit` must be positive"),
        ({"client": 3}, "`client` must be a dask.distributed Client or a scheduler address"),
    ],
)
def test_weight_sensitivity_validation(paper, kwargs, message):
    kw = {"n": 64, "rng": 1, "replicates": 2, **kwargs}
    if kw.get("method") == "bootstrap" and "replicates" not in kwargs:
        kw.pop("replicates")
    with pytest.raises(ClusterModelError) as exc:
        weight_sensitivity(paper, QUADRATIC, **kw)
    assert message in str(exc.value)


def test_power_of_two_everywhere(capsys):
    for call in (
        lambda: sobol_sample(ISHIGAMI_PROBLEM, 100, rng=1),
        lambda: sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=100, rng=1),
        lambda: sobol_analyze(ISHIGAMI_PROBLEM, np.zeros((2, 100 * 5))),
    ):
        with pytest.raises(ClusterModelError, match=r"must be a power of two .* got 100; use 64 or 128"):
            call()


def test_analyze_validation():
    X = sobol_sample(ISHIGAMI_PROBLEM, 16, rng=1)
    y = ishigami(X)
    with pytest.raises(ClusterModelError, match="not a multiple of D"):
        sobol_analyze(ISHIGAMI_PROBLEM, y[:-1], method="bootstrap")
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(ClusterModelError, match="NaN or infinite"):
        sobol_analyze(ISHIGAMI_PROBLEM, bad, method="bootstrap")
    with pytest.raises(ClusterModelError, match="`problem` lacks"):
        sobol_analyze({"num_vars": 3}, y)
    with pytest.raises(ClusterModelError, match="for one design use method='bootstrap'"):
        sobol_analyze(ISHIGAMI_PROBLEM, y)
    with pytest.raises(ClusterModelError, match="the replicate method needs at least 2"):
        sobol_analyze(ISHIGAMI_PROBLEM, y[None, :])
    # a seed of 0 is a seed like any other (SALib's analyze would silently use the global state)
    a = sobol_analyze(ISHIGAMI_PROBLEM, y, method="bootstrap", rng=0, n_resamples=10)
    b = sobol_analyze(ISHIGAMI_PROBLEM, y, method="bootstrap", seed=0, n_resamples=10)
    assert np.array_equal(a.S1_low, b.S1_low)
    with pytest.raises(ClusterModelError, match="`model` must be callable"):
        sobol_indices("ishigami", ISHIGAMI_PROBLEM, n=16)
    with pytest.raises(ClusterModelError, match="must return shape"):
        sobol_indices(lambda X: np.ones((len(X), 2, 2)), ISHIGAMI_PROBLEM, n=16)
    with pytest.raises(ClusterModelError, match="'dists' other than 'unif'"):
        sobol_indices(ishigami, {**ISHIGAMI_PROBLEM, "dists": ["norm"] * 3}, n=16)
    with pytest.raises(ClusterModelError, match="NaN or infinite values .*design"):
        sobol_indices(lambda X: np.where(X[:, 0] > 3.1, np.nan, 1.0), ISHIGAMI_PROBLEM, n=256, rng=1)


def test_dirichlet_needs_positive_weights(paper):
    import dataclasses

    w = paper.weights.copy(data=[0.0, 0.5, 0.25, 0.25])
    from clustermodel.structure import Structure

    study = dataclasses.replace(paper, weights=w, structure=Structure.flat(w))
    with pytest.raises(ClusterModelError, match="international_members has weight 0"):
        weight_sensitivity(study, QUADRATIC, n=16)
    res = weight_sensitivity(study, QUADRATIC, n=16, rng=1, distribution="uniform", replicates=2)
    assert np.all(res.indices.ST[:, 0] == 0)  # a zero weight stays zero: that factor is inert


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_json(tmp_path, capsys):
    assert main(["sobol", "--n", "64", "--replicates", "3", "--seed", "1", "--json", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert printed == (tmp_path / "sobol.json").read_text()  # --json prints the stage's JSON, the report's file
    d = json.loads(printed)
    assert {"n", "seed", "spec", "notes", "replicates", "method", "full_resolution", "seed_check"} <= set(d)
    assert d["n"] == 64 and d["replicates"] == 3 and d["seed"] == 1 and d["spec"]["aggregation"] == "quadratic"
    import pandas as pd

    records = pd.read_csv(tmp_path / "sobol.csv")  # every (output, factor) record, once, at full resolution in sobol.nc
    assert {"output", "factor", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"} <= set(records.columns)
    assert len(records) == 82 * 4


def test_cli_bootstrap_and_scheduling_options(capsys):
    argv = ["sobol", "--n", "64", "--seed", "1", "--method", "bootstrap", "--n-resamples", "10", "--chunk-size", "16",
            "--memory-limit", "2GiB", "--json"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["method"] == "bootstrap" and d["replicates"] == 1 and d["chunk_size"] == 16 and d["n_resamples"] == 10


def test_cli_equation1_json(tmp_path, capsys):
    """Equation 1 as printed cancels every weight: the weight run is made under the quadratic form, and a run under
    Equation 1 itself shows all indices at zero (sobol_equation1.*), as in the report."""
    argv = ["sobol", "--aggregation", "equation1", "--n", "64", "--n-equation1", "64", "--replicates", "2", "--seed", "1"]
    assert main([*argv, "--json", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    d = json.loads(captured.out)
    assert d["equation1_all_zero"] is True and d["spec"]["aggregation"] == "quadratic"
    eq1 = json.loads((tmp_path / "sobol_equation1.json").read_text())
    assert eq1["spec"]["aggregation"] == "equation1"
    assert any("do not depend on the weights" in t for t in eq1["notes"])
    assert captured.err == ""


def test_cli_triggers_and_out(tmp_path, capsys):
    code = main(["sobol", "--n", "32", "--replicates", "2", "--seed", "2", "--triggers", "negative", "--out", str(tmp_path)])
    assert code == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"sobol.json", "sobol.md", "sobol.nc", "sobol.csv", "sobol_bars.png", "sobol_heatmap.png", "sobol_seed_check.json"} <= names
    assert {"sobol_triggers.json", "sobol_triggers.md", "sobol_triggers.nc"} <= names  # the triggers' own run
    d = json.loads((tmp_path / "sobol_triggers.json").read_text())
    assert d["factors"][-1] == {"factor": "negative", "kind": "trigger", "nominal_weight": None}
    # the summary names the full-resolution file instead of holding a third copy of every record
    assert "records" not in d and d["full_resolution"]["file"] == "sobol_triggers.nc"
    import xarray as xr

    with xr.open_dataset(tmp_path / "sobol_triggers.nc") as ds:
        assert ds["ST"].shape == (len(d["outputs"]), len(d["factors"]))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--n", "1000"], "--n must be a power of two"),
        (["--seed", "-1"], "seed must be non-negative"),
        (["--distribution", "uniform", "--delta", "2"], "--delta must be a number in (0, 1)"),
        (["--concentration", "-1"], "--concentration must be a number > 0"),
        (["--replicates", "1"], "--replicates must be an integer >= 2"),
        (["--n", "64", "--memory-limit", "1MB"], "`memory_limit` is"),
        (["--n", "64", "--memory-limit", "big"], "argument --memory-limit: a size such as 512MiB"),  # read with the command line
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
    res = sobol_indices(lambda X: X @ beta, problem, n=256, rng=seed)
    exact = beta**2 / np.sum(beta**2)
    # 10 designs of N = 256: the error of these estimators is below 0.01 for additive models
    np.testing.assert_allclose(res.S1[0], exact, atol=0.03)
    np.testing.assert_allclose(res.ST[0], exact, atol=0.03)


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(1e-3, 1e3), shift=st.floats(-1e3, 1e3), seed=st.integers(1, 2**31))
def test_affine_invariance_and_batching_property(scale, shift, seed):
    Y = ishigami(sobol_sample(ISHIGAMI_PROBLEM, 64, replicates=3, rng=seed))
    both = sobol_analyze(ISHIGAMI_PROBLEM, np.stack([Y, scale * Y + shift], axis=-1))
    alone = sobol_analyze(ISHIGAMI_PROBLEM, Y)
    # analysing many outputs at once gives what analysing each alone gives
    np.testing.assert_allclose(both.S1[0], alone.S1[0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(both.ST_high[0], alone.ST_high[0], rtol=0, atol=1e-13)
    # indices are invariant to an affine change of the output's units
    for key in ("S1", "ST", "S1_low", "ST_high"):
        np.testing.assert_allclose(getattr(both, key)[1], getattr(both, key)[0], atol=1e-9)


def test_rare_flips_are_flagged(paper):
    res = weight_sensitivity(paper, QUADRATIC, n=256, replicates=4, rng=4)
    ix = res.indices
    kept = [k for k, q in enumerate(res.quantity) if q == "scenario_kept" and not ix.constant[k]]
    rare = [ix.outputs[k] for k in kept if 0 < ix.events[k] < EVENTS_NEEDED]
    assert rare, "this seed and N give at least one rarely flipping cluster"
    note = next(t for t in res.notes if t.startswith("Rare events"))
    listed = [o for o, r in zip(ix.outputs, ix.rare) if r][:8]  # the note lists the first eight
    assert all(f"{o} (" in note for o in listed)
    assert int(ix.rare.sum()) >= len(rare)


def test_rare_changes_of_any_output_are_counted_from_the_most_common_value():
    # a count output that leaves its usual value 3 in a few known A and B runs, beside a smooth output
    R, N, D = 3, 64, 3
    Y = ishigami(sobol_sample(ISHIGAMI_PROBLEM, N, replicates=R, rng=5))  # (R, N (D + 2))
    count = np.full_like(Y, 3.0)
    blocks = count.reshape(R, N, D + 2)
    blocks[0, 10, 0] = blocks[1, 20, D + 1] = blocks[2, 30, 0] = 4.0  # three A/B runs changed
    blocks[1, 5, 1] = 5.0  # a cross-sampled run: not an A or B run
    res = sobol_analyze(ISHIGAMI_PROBLEM, np.stack([Y, count], axis=-1))
    assert res.events.tolist() == [0, 3]
    assert res.rare.tolist() == [False, True]
    assert res.n_needed[1] > N


def test_benchmark_script_agrees_with_salib(tmp_path, capsys):
    # smoke test of benchmarks/bench_sobol.py at a small N: its exit status checks the 1e-10 agreement
    # with SALib (timings are printed, never asserted)
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_sobol.py"
    spec = importlib.util.spec_from_file_location("bench_sobol", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    assert bench.main(["--log2n", "6", "--n-resamples", "10", "--row-wise-rows", "64", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["max_abs_diff"]["S1"] <= 1e-10 and d["max_abs_diff"]["ST"] <= 1e-10
    text = capsys.readouterr().out
    assert "fair" in text and "row-wise" in text
