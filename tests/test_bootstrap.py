"""Tests of clustermodel.bootstrap against independent calculations.

Every expert table in this file is SYNTHETIC, written for the tests; the
paper publishes only the panel mean of its five experts. Oracles are computed
here independently of the streaming code: numpy percentiles and moments of the
kept draws, the labelled index API (`compute_scores`, `evaluate`) one weight
vector at a time, Dirichlet and binomial distributions, hand-counted scenarios.
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
    check_experts,
    cluster_bootstrap,
    draw_panels,
    load_experts,
    percentile_interval,
    weight_bootstrap,
)
from clustermodel.bootstrap.summaries import _Hist
from clustermodel.bootstrap.units import _cluster_statistics
from clustermodel.cli import main
from clustermodel.index import compute_index, compute_scores
from clustermodel.reproduction import PAPER_COUNTS
from clustermodel.scenarios import evaluate
from clustermodel.spec import SCENARIOS, PAPER_SPEC

QUAD = PAPER_SPEC.replace(aggregation="quadratic")
IND = ["international_members", "export_volume", "publications", "joint_rd_expenditure"]
HEADER = "expert," + ",".join(IND) + "\n"
HIER = "data/examples/hierarchy/"
FAST = dict(progress=False)


def expert_csv(write_csv, rows, name="experts.csv", header=HEADER):
    """A synthetic expert table (test data only)."""
    body = "".join(f"synthetic_{i},{','.join(str(v) for v in r)}\n" for i, r in enumerate(rows))
    return write_csv(name, header + body)


def weights(values):
    return xr.DataArray(np.asarray(values, float), dims=["indicator"], coords={"indicator": IND})


@pytest.fixture(scope="module")
def hierarchy():
    """The shipped three-level example: cities, no regions, lower-is-better indicators, missing cells."""
    from pathlib import Path

    from clustermodel.data import load_study

    root = Path(__file__).resolve().parent.parent / HIER
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterModelWarning)  # the example's screened unit and imputed cells
        return load_study(root / "cities.csv", structure=root / "structure.csv", spec=root / "spec.toml", id_column="city")


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


def test_hierarchical_panels_are_dirichlet_within_each_parent(hierarchy):
    # every parent's children: shares a = structure weights / their sum; one expert ~ Dirichlet(kappa a) within the
    # parent, independently across parents: each child's mean a_j, variance a_j(1-a_j)/((kappa+1) size), and the
    # children of one parent sum to one in every panel
    s = hierarchy.structure
    n, kappa, size = 20_000, 10.0, 3
    w = draw_panels(hierarchy, concentration=kappa, panel_size=size, n_resamples=n, rng=5)
    raw = {v: float(wt) for v, wt in zip(s.nodes, s.weights) if v != s.root}
    parents = {v: s.parent(v) for v in raw}
    for p in set(parents.values()):
        kids = [v for v in raw if parents[v] == p]
        total = sum(raw[v] for v in kids)
        np.testing.assert_allclose(w.sel(node=kids).sum("node").values, 1.0, atol=1e-12)
        for v in kids:
            a = raw[v] / total
            x = w.sel(node=v).values
            sd = np.sqrt(a * (1 - a) / ((kappa + 1) * size))
            assert abs(x.mean() - a) < 5 * sd / np.sqrt(n) + 1e-15, v
            if a < 1:
                assert abs(x.std(ddof=1) / sd - 1) < 0.05, v
    # independence across parents: two children of different parents are uncorrelated
    r = np.corrcoef(w.sel(node="economy").values, w.sel(node="exports").values)[0, 1]
    assert abs(r) < 5 / np.sqrt(n)


def test_single_expert_marginal_is_beta_percentiles(paper):
    # panel of one: each weight is Beta(kappa a_j, kappa (1 - a_j)); compare the 5 and 95 % percentiles
    n, kappa = 20_000, DEFAULT_CONCENTRATION
    r = weight_bootstrap(paper, QUAD, panel_size=1, n_resamples=n, rng=3, **FAST)
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


# ------------------------------------------------------------------ the streaming histogram


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 1001])
def test_integer_histogram_percentiles_equal_numpy_exactly(n):
    rng = np.random.default_rng(n)
    x = rng.integers(1, 40, size=(n, 6)).astype(float)
    x[:, 5] = 17  # a constant unit
    h = _Hist(6, 64, 0, True)
    h.add(x)
    pct = [50.0, 5.0, 95.0, 2.5, 97.5, 0.0, 100.0, 33.3]
    np.testing.assert_array_equal(h.percentiles(pct), np.percentile(x, pct, axis=0))
    assert h.exact().all() and (h.error() == 0).all()


def test_histogram_is_independent_of_the_chunking():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0.5, 0.01, size=(500, 4)), rng.normal(0.5, 0.3, size=(500, 4))])  # the range grows
    x[::7, 2] = np.nan
    whole = _Hist(4, 32, -45, False)
    whole.add(x)
    for size in (1, 13, 250):
        parts = _Hist(4, 32, -45, False)
        for s in range(0, len(x), size):
            parts.add(x[s : s + size])
        np.testing.assert_array_equal(parts.counts, whole.counts)
        np.testing.assert_array_equal(parts.o, whole.o)
        np.testing.assert_array_equal(parts.k, whole.k)
    assert whole.counts.sum(axis=1).tolist() == [1000, 1000, 1000 - len(range(0, 1000, 7)), 1000]


def test_histogram_percentiles_within_their_bound():
    # a coarse histogram (16 bins) of real values, and integers spanning more ranks than bins
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=(4000, 5))
    h = _Hist(5, 16, -40, False)
    h.add(x)
    pct = [50.0, 5.0, 95.0]
    err = np.abs(h.percentiles(pct) - np.nanpercentile(x, pct, axis=0))
    bound = h.error()
    assert np.all(err <= bound + 1e-12)
    # the documented bound: half a bin width, and a bin is narrower than 2 * range / (bins - bins // 4 - 1)
    assert np.all(bound <= (x.max(axis=0) - x.min(axis=0)) / (16 - 4 - 1))
    assert err.max() > 0  # the test would notice a histogram that is exact by accident
    r = rng.integers(1, 500, size=(3000, 3)).astype(float)
    hr = _Hist(3, 64, 0, True)
    hr.add(r)
    assert not hr.exact().any()
    assert np.all(np.abs(hr.percentiles(pct) - np.percentile(r, pct, axis=0)) <= hr.error() + 1e-12)


# ------------------------------------------------------------------ summaries against the kept draws


def test_summaries_equal_numpy_on_the_draws(paper):
    r = weight_bootstrap(paper, QUAD, n_resamples=700, rng=8, keep_draws=True, **FAST)
    d, s = r.draws, r.summary
    scores = d["score_draws"].values  # (draw, cluster, node)
    ranks = d["rank_draws"].values
    for q, key in [(50, "median"), (5, "low"), (95, "high")]:
        np.testing.assert_array_equal(s[f"score_{key}"].values, np.percentile(scores, q, axis=0))
        np.testing.assert_array_equal(s[f"rank_{key}"].values, np.percentile(ranks, q, axis=0))
    for key, f in [("mean", np.mean), ("min", np.min), ("max", np.max)]:
        np.testing.assert_allclose(s[f"score_{key}"].values, f(scores, axis=0), rtol=1e-12)
        np.testing.assert_allclose(s[f"rank_{key}"].values, f(ranks, axis=0), rtol=1e-12)
    np.testing.assert_allclose(s["score_sd"].values, scores.std(axis=0, ddof=1), rtol=1e-9, atol=1e-15)
    # scenario probabilities and counts: hand counts over the draws
    codes = d["scenario_draws"].values
    p = np.stack([(codes == k).mean(axis=0) for k in range(4)], axis=-1)
    np.testing.assert_array_equal(s["scenario_probability"].values, p)
    counts = np.stack([(codes == k).sum(axis=1) for k in range(4)], axis=-1)
    np.testing.assert_array_equal(d["scenario_count_draws"].values, counts)
    nominal = s["scenario_count_nominal"].values
    assert float(s["p_nominal_counts"]) == np.all(counts == nominal, axis=1).mean()
    dist = s["scenario_count_distribution"].values
    for k in range(4):
        np.testing.assert_allclose(dist[k], np.bincount(counts[:, k], minlength=26) / 700)
    # every panel's scores are the index of its weights (labelled API, one call)
    w = d["panel_weights"].values
    np.testing.assert_allclose(scores[:, :, 0], compute_index(paper, w, QUAD).values, rtol=1e-12)
    # mean absolute rank shift (Saisana et al. 2005) by hand
    shift = np.abs(ranks[:, :, 0] - s["rank_nominal"].values[:, 0]).mean(axis=1)
    np.testing.assert_allclose(d["mean_rank_shift_draws"].values[:, 0], shift)


def test_chunked_equals_unchunked_and_same_seed(paper):
    one = weight_bootstrap(paper, QUAD, n_resamples=600, rng=4, chunk_size=600, **FAST)
    many = weight_bootstrap(paper, QUAD, n_resamples=600, rng=4, chunk_size=37, **FAST)
    again = weight_bootstrap(paper, QUAD, n_resamples=600, rng=np.random.default_rng(4), chunk_size=37, **FAST)
    assert one.streaming["n_chunks"] == 1 and many.streaming["n_chunks"] == 17
    xr.testing.assert_identical(many.summary, again.summary)
    for v in one.summary.data_vars:
        a, b = one.summary[v].values, many.summary[v].values
        if a.dtype.kind == "f" and (v.endswith("_mean") or v.endswith("_sd")):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=v)  # sums in another order
        else:
            np.testing.assert_array_equal(a, b, err_msg=v)  # counts, extremes, percentiles: exact
    other = weight_bootstrap(paper, QUAD, n_resamples=600, rng=5, **FAST)
    assert not np.array_equal(other.summary["score_median"].values, one.summary["score_median"].values)


def test_a_result_records_the_seed_and_spawn_key_it_ran_on(paper):
    """The seed a reader needs to repeat a run: an integer seed as given; a spawned SeedSequence as its root seed and
    spawn key, whose stream is the one default_rng(seed).spawn gives; a Generator (state unknown) as None."""
    plain = weight_bootstrap(paper, QUAD, n_resamples=50, rng=4, **FAST)
    assert (plain.seed, plain.spawn_key) == (4, ()) and plain.to_dict()["spawn_key"] == []
    child = np.random.SeedSequence(4).spawn(3)[2]
    spawned = weight_bootstrap(paper, QUAD, n_resamples=50, rng=child, **FAST)
    assert (spawned.seed, spawned.spawn_key) == (4, (2,))
    same = weight_bootstrap(paper, QUAD, n_resamples=50, rng=np.random.default_rng(4).spawn(3)[2], **FAST)
    xr.testing.assert_identical(spawned.summary, same.summary)
    assert (same.seed, same.spawn_key) == (None, ())
    data = cluster_bootstrap(paper, QUAD, n_resamples=20, rng=child, **FAST)
    assert (data.seed, data.spawn_key) == (4, (2,)) and data.to_dataset().attrs["spawn_key"] == "2"


def test_histogram_mode_is_chunk_independent_and_within_its_bound(hierarchy):
    exact = weight_bootstrap(hierarchy, n_resamples=500, rng=6, keep_draws=True, quantiles="exact", **FAST)
    a = weight_bootstrap(hierarchy, n_resamples=500, rng=6, quantiles="histogram", bins=64, **FAST)
    b = weight_bootstrap(hierarchy, n_resamples=500, rng=6, quantiles="histogram", bins=64, chunk_size=23, **FAST)
    assert a.streaming["quantiles"]["score"] == "histogram" and exact.streaming["quantiles"]["score"] == "exact"
    for key in ("median", "low", "high", "error"):
        np.testing.assert_array_equal(a.summary[f"score_{key}"].values, b.summary[f"score_{key}"].values)
    draws = exact.draws["score_draws"].values
    for q, key in [(50, "median"), (5, "low"), (95, "high")]:
        err = np.abs(a.summary[f"score_{key}"].values - np.percentile(draws, q, axis=0))
        assert np.all(err <= a.summary["score_error"].values + 1e-12)
        np.testing.assert_array_equal(exact.summary[f"score_{key}"].values, np.percentile(draws, q, axis=0))
    assert float(a.summary["score_error"].max()) > 0
    # ranks: 48 cities <= 4 * 64 bins, so the rank table is exact in both
    np.testing.assert_array_equal(a.summary["rank_high"].values, exact.summary["rank_high"].values)
    assert bool(a.summary["rank_exact"].all())


def test_local_cluster_gives_identical_results(paper):
    distributed = pytest.importorskip("distributed")
    local = weight_bootstrap(paper, QUAD, n_resamples=400, rng=9, chunk_size=50, **FAST)
    local_data = cluster_bootstrap(paper, QUAD, n_resamples=200, rng=9, chunk_size=40, **FAST)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc:
        with distributed.Client(lc) as client:
            remote = weight_bootstrap(paper, QUAD, n_resamples=400, rng=9, chunk_size=50, client=client, **FAST)
            remote_data = cluster_bootstrap(paper, QUAD, n_resamples=200, rng=9, chunk_size=40, client=client, **FAST)
    assert remote.streaming["scheduler"] == "distributed" and local.streaming["scheduler"] == "threads"
    xr.testing.assert_identical(local.summary, remote.summary)
    xr.testing.assert_identical(local_data.summary, remote_data.summary)


# ------------------------------------------------------------------ memory budget


def test_memory_budget_errors_name_the_option(paper):
    with pytest.raises(ClusterModelError) as e:
        weight_bootstrap(paper, QUAD, n_resamples=100, memory_limit="4MB", **FAST)
    msg = str(e.value)
    assert "\n" not in msg and "`memory_limit` is 3.81MiB" in msg and "pass memory_limit='" in msg
    with pytest.raises(ClusterModelError, match=r"with chunk_size=2000 .* use chunk_size <= \d+$"):
        weight_bootstrap(paper, QUAD, n_resamples=2000, chunk_size=2000, memory_limit="48MiB", **FAST)
    with pytest.raises(ClusterModelError, match=r"values kept for exact percentiles and draws.*or keep_draws=False"):
        weight_bootstrap(paper, QUAD, n_resamples=200_000, keep_draws=True, memory_limit="64MiB", **FAST)
    with pytest.raises(ClusterModelError, match=r"quantiles='exact' keeps every value .* use quantiles='auto'"):
        weight_bootstrap(paper, QUAD, n_resamples=2_000_000, quantiles="exact", memory_limit="64MiB", **FAST)
    with pytest.raises(ClusterModelError, match=r"`memory_limit` must be a number of bytes or a size such as '512MiB'"):
        weight_bootstrap(paper, QUAD, n_resamples=10, memory_limit="lots", **FAST)
    with pytest.raises(ClusterModelError, match=r"`client` must be a dask.distributed Client or a scheduler address"):
        weight_bootstrap(paper, QUAD, n_resamples=10, client=3, **FAST)


def test_large_runs_keep_only_summaries(paper):
    r = weight_bootstrap(paper, QUAD, n_resamples=5000, rng=1, **FAST)
    ds = r.to_dataset()
    assert "draw" not in ds.dims and r.draws is None
    assert ds.sizes["cluster"] == 25 and ds.attrs["n_resamples"] == 5000
    k = weight_bootstrap(paper, QUAD, n_resamples=50, rng=1, keep_draws=True, **FAST).to_dataset()
    assert k.sizes["draw"] == 50 and "panel_weights" in k


# ------------------------------------------------------------------ nonparametric oracle


def test_nonparametric_matches_binomial_oracle(paper, write_csv):
    # synthetic experts A, A, B; a panel of 3 holds K ~ Binomial(3, 1/3) copies of B and
    # weights ((3 - K) A + K B) / 3, so every quantity is a function of K with known probabilities
    A = [0.55, 0.15, 0.15, 0.15]
    B = [0.05, 0.15, 0.15, 0.65]
    path = expert_csv(write_csv, [A, A, B])
    n = 20_000
    r = weight_bootstrap(paper, QUAD, experts=path, n_resamples=n, rng=11, **FAST)
    assert r.mode == "nonparametric" and r.panel_size == 3 and r.n_experts == 3 and r.expert_columns == "nodes"
    assert r.experts_source.endswith("experts.csv")
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
        r1 = weight_bootstrap(paper, QUAD, experts=one, n_resamples=200, rng=0, **FAST)
    same = expert_csv(write_csv, [[0.4, 0.2, 0.2, 0.2]] * 4, "same.csv")
    r2 = weight_bootstrap(paper, QUAD, experts=same, n_resamples=200, rng=0, panel_size=5, **FAST)
    for r in (r1, r2):
        assert r.zero_spread and not r.weights_cancel
        assert float(r.index_spread.max()) == 0.0
        t = r.cluster_table()
        np.testing.assert_array_equal(t["rank_low"], t["rank_high"])
        assert (t["index_sd"].values == 0).all()
    assert r2.centre_differs and not r1.centre_differs


@pytest.mark.filterwarnings("ignore:.*imputed with the mean:clustermodel._errors.ClusterModelWarning")
def test_hierarchical_expert_tables(hierarchy, write_csv):
    s = hierarchy.structure
    leaves, weighted = list(s.leaves), list(s.weighted)

    def shares(rng):
        # one synthetic expert: random weights normalised within every parent
        w = rng.uniform(0.5, 2.0, size=len(weighted))
        for p in set(s.parent(v) for v in weighted):
            kids = [j for j, v in enumerate(weighted) if s.parent(v) == p]
            w[kids] /= w[kids].sum()
        return w

    g = np.random.default_rng(0)
    table = np.array([shares(g) for _ in range(4)])
    full = expert_csv(write_csv, table.round(12).tolist(), "all.csv", header="expert," + ",".join(weighted) + "\n")
    r = weight_bootstrap(hierarchy, experts=full, n_resamples=300, rng=1, keep_draws=True, **FAST)
    assert r.expert_columns == "nodes"
    w = r.draws["panel_weights"]
    # every panel is the mean of 4 of the table's rows: its scores are those of that weight vector
    np.testing.assert_allclose(
        r.draws["score_draws"].values[:7], compute_scores(hierarchy, w.values[:7], nodes=r.nodes).values, rtol=1e-12
    )
    # only the indicators' weights: the aggregates keep their nominal shares in every panel
    cols = [weighted.index(v) for v in leaves]
    only = expert_csv(write_csv, table[:, cols].round(12).tolist(), "ind.csv", header="expert," + ",".join(leaves) + "\n")
    r2 = weight_bootstrap(hierarchy, experts=only, n_resamples=200, rng=1, keep_draws=True, **FAST)
    assert r2.expert_columns == "indicators"
    nominal = s.normalise_weights(s.weight_array())
    aggs = [j for j, v in enumerate(weighted) if v not in leaves]
    np.testing.assert_allclose(r2.draws["panel_weights"].values[:, aggs], np.broadcast_to(nominal[aggs], (200, len(aggs))))
    # a parent's weights that do not sum to one are named with the parent
    bad = table.copy()
    bad[1, weighted.index("exports")] += 0.5
    path = expert_csv(write_csv, bad.round(12).tolist(), "bad.csv", header="expert," + ",".join(weighted) + "\n")
    with pytest.raises(InputError, match=r"bad\.csv, line 3: expert 'synthetic_1': the weights in columns exports, "
                                         r"export_partners, tariff_barriers \(the children of 'trade'\) sum to 1\.5"):
        load_experts(path, hierarchy)
    # a table weighing some aggregates but not all
    part = expert_csv(write_csv, [[0.5, 0.5]], "part.csv", header="expert,economy,society\n")
    with pytest.raises(InputError, match=r"no column for weighted node\(s\) 'trade'"):
        load_experts(part, hierarchy)


# ------------------------------------------------------------------ any study: a hierarchy without regions


@pytest.mark.filterwarnings("ignore:.*imputed with the mean:clustermodel._errors.ClusterModelWarning")
def test_hierarchy_without_regions(hierarchy):
    r = weight_bootstrap(hierarchy, n_resamples=400, rng=2, keep_draws=True, **FAST)
    s = hierarchy.structure
    assert not r.has_regions and r.nodes[0] == s.root
    assert set(r.nodes) == set(s.aggregates)
    assert "scenario_probability" not in r.summary and "correlation_median" not in r.summary
    # nominal scores and ranks of every node: the labelled API at the structure's weights
    nominal = compute_scores(hierarchy, nodes=r.nodes)
    np.testing.assert_allclose(r.summary["score_nominal"].values, nominal.values, rtol=1e-12)
    ranks = scipy.stats.rankdata(-nominal.values, method="ordinal", axis=0)
    np.testing.assert_array_equal(r.summary["rank_nominal"].values, ranks)
    # every panel: compute_scores of its weights (independent path, all nodes at once)
    w = r.draws["panel_weights"].values
    np.testing.assert_allclose(r.draws["score_draws"].values, compute_scores(hierarchy, w, nodes=r.nodes).values, rtol=1e-12)
    d = r.to_dict()
    json.dumps(d)
    assert "scenario_counts" not in d["study"] and set(d["study"]["mean_rank_shift"]) == set(r.nodes)
    assert set(d["units"][0]["nodes"]) == set(r.nodes[1:])
    with pytest.raises(ClusterModelError, match="no higher-level index"):
        r.scenario_probabilities()
    c = cluster_bootstrap(hierarchy, n_resamples=150, rng=3, **FAST)
    cd = c.to_dict()
    assert not c.has_regions and "correlation" not in cd and set(cd["mean_score"]) == set(r.nodes)
    assert cd["mean_index"]["nominal"] == pytest.approx(float(compute_scores(hierarchy, nodes="index").mean()))
    with pytest.raises(ClusterModelError, match="`nodes`: 'exports' is an indicator"):
        weight_bootstrap(hierarchy, n_resamples=10, nodes=["exports"], **FAST)
    only = weight_bootstrap(hierarchy, n_resamples=20, nodes=(), rng=1, **FAST)
    assert only.nodes == [s.root]


# ------------------------------------------------------------------ equation 1 vs quadratic


def test_equation1_zero_spread_flags(paper):
    r = weight_bootstrap(paper, PAPER_SPEC, n_resamples=500, rng=5, reference_counts=PAPER_COUNTS, **FAST)
    assert r.zero_spread and r.weights_cancel
    assert float(r.index_spread.max()) == 0.0
    d = r.to_dict()
    assert d["zero_spread"] is True and d["weights_cancel"] is True
    # every panel reproduces the published counts under the printed formula
    sc = d["study"]["scenario_counts"]
    assert sc["p_reference_counts"] == 1.0 and sc["nominal"] == PAPER_COUNTS and sc["p_nominal_counts"] == 1.0
    # whatever the chunks (batches of other shapes may round the last bit differently)
    assert weight_bootstrap(paper, PAPER_SPEC, n_resamples=300, rng=6, chunk_size=7, **FAST).zero_spread


def test_quadratic_shows_spread(paper):
    r = weight_bootstrap(paper, QUAD, n_resamples=500, rng=5, **FAST)
    assert not r.zero_spread and not r.weights_cancel
    assert float(r.index_spread.max()) > 0.05
    t = r.cluster_table()
    assert np.any(t["rank_high"] > t["rank_low"])


def test_equation1_spread_only_from_dropped_indicators(paper, write_csv):
    # a synthetic expert who drops two indicators: a panel of only that expert drops them from the index
    path = expert_csv(write_csv, [[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    r = weight_bootstrap(paper, PAPER_SPEC, experts=path, n_resamples=300, rng=2, keep_draws=True, **FAST)
    assert r.weights_cancel and not r.zero_spread
    zero = (r.draws["panel_weights"].values == 0).any(axis=1)
    assert float(r.summary["p_zero_weight"]) == zero.mean() > 0
    kept = r.draws["score_draws"].values[~zero, :, 0]  # every indicator kept: the nominal index (to rounding)
    np.testing.assert_allclose(kept, np.broadcast_to(r.summary["score_nominal"].values[:, 0], kept.shape), rtol=1e-14)


def test_reference_counts_oracle(paper):
    r = weight_bootstrap(paper, QUAD, n_resamples=800, rng=12, reference_counts=PAPER_COUNTS, keep_draws=True, **FAST)
    counts = r.draws["scenario_count_draws"].values
    target = np.array([PAPER_COUNTS[s] for s in SCENARIOS])
    assert float(r.summary["p_reference_counts"]) == np.all(counts == target, axis=1).mean()
    with pytest.raises(ClusterModelError, match="`reference_counts` must map every scenario"):
        weight_bootstrap(paper, QUAD, n_resamples=10, reference_counts={"supported": 3}, **FAST)


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


def test_cluster_bootstrap_against_its_draws(paper):
    r = cluster_bootstrap(paper, QUAD, n_resamples=300, rng=3, keep_draws=True, reference_counts=PAPER_COUNTS, **FAST)
    small = cluster_bootstrap(paper, QUAD, n_resamples=300, rng=3, chunk_size=7, reference_counts=PAPER_COUNTS, **FAST)
    xr.testing.assert_allclose(r.summary, small.summary, rtol=1e-12)
    pos = r.draws["positions"].values
    # the positions are resamples with replacement; every statistic recomputed one resample at a time
    stats = _cluster_statistics(paper, QUAD, r.thresholds, pos)
    np.testing.assert_allclose(r.draws["correlation_draws"].values, stats["correlation"], rtol=1e-12)
    for q, key in [(50, "median"), (5, "low"), (95, "high")]:
        assert float(r.summary[f"correlation_{key}"]) == np.percentile(stats["correlation"], q)
        np.testing.assert_array_equal(r.summary[f"scenario_count_{key}"].values, np.percentile(stats["scenario_counts"], q, axis=0))
    d = r.to_dict()
    assert d["correlation"]["nominal"] == pytest.approx(float(evaluate(paper, QUAD).correlation))
    target = np.array([PAPER_COUNTS[s] for s in SCENARIOS])
    assert d["scenario_counts"]["p_reference_counts"] == np.all(stats["scenario_counts"] == target, axis=1).mean()
    assert d["maxima_changed"]["p_any"] == (stats["maxima_changed"] > 0).mean() > 0.5  # resamples often lack a group's leader
    f = cluster_bootstrap(paper, QUAD, n_resamples=300, rng=3, maxima="fixed", keep_draws=True, **FAST)
    np.testing.assert_array_equal(f.draws["positions"].values, pos)
    assert f.to_dict()["maxima_changed"]["p_any"] == 0.0
    json.dumps(d)
    assert r.to_dataset().sizes["resample"] == 300
    assert "resample" not in small.to_dataset().dims  # summaries only by default


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
    np.testing.assert_allclose(e.sum("node"), 1.0)


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
    with pytest.raises(ClusterModelError, match="indicator 'b' is not in the data; the data's indicators are a, c"):
        check_experts(good, ["a", "c"])
    with pytest.raises(ClusterModelError, match="dims"):
        check_experts(np.ones((2, 2)))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(mode="nonparametric"), "needs `experts`"),
        (dict(mode="bogus"), "`mode` must be one of"),
        (dict(concentration=0.0), "`concentration` must be a number > 0"),
        (dict(concentration=float("nan")), "`concentration` must be a number > 0"),
        (dict(concentration="20"), "`concentration` must be a number > 0"),
        (dict(panel_size=0), "`panel_size` must be at least 1"),
        (dict(n_resamples=0), "`n_resamples` must be at least 1"),
        (dict(confidence_level=1.5), "`confidence_level` must lie in"),
        (dict(rng=-1), "`rng` seed must be non-negative"),
        (dict(quantiles="approx"), "`quantiles` must be one of 'auto', 'exact', 'histogram'"),
        (dict(bins=8), "`bins` must be at least 64"),
        (dict(chunk_size=0), "`chunk_size` must be at least 1"),
        (dict(memory_limit=-5), "`memory_limit` must be positive"),
        (dict(nodes=["nowhere"]), "'nowhere' is not a node of the structure"),
    ],
)
def test_weight_bootstrap_rejects_bad_options(paper, kwargs, match):
    with pytest.raises(ClusterModelError, match=match):
        weight_bootstrap(paper, QUAD, **{"n_resamples": 10, **FAST, **kwargs})


def test_experts_with_parametric_mode_rejected(paper, write_csv):
    p = expert_csv(write_csv, [[0.25] * 4])
    with pytest.raises(ClusterModelError, match="use mode='nonparametric'"):
        weight_bootstrap(paper, QUAD, mode="parametric", experts=p, n_resamples=10, **FAST)


def test_small_concentration_warns(paper):
    with pytest.warns(ClusterModelWarning, match="U-shaped"):
        weight_bootstrap(paper, QUAD, concentration=2.0, n_resamples=10, rng=0, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weight_bootstrap(paper, QUAD, n_resamples=10, rng=0, **FAST)


@pytest.mark.filterwarnings("ignore:.*a single cluster:clustermodel._errors.ClusterModelWarning")
def test_flat_study_without_regions_runs(write_csv):
    from clustermodel.data import load_study

    c = write_csv("c.csv", "no,a,b\n1,1,2\n2,3,1\n3,2,2\n")
    w = write_csv("w.csv", "indicator,weight\na,0.5\nb,0.5\n")
    study = load_study(c, w)
    r = weight_bootstrap(study, n_resamples=50, rng=1, **FAST)  # the study's own spec (the defaults)
    assert not r.has_regions and r.summary.sizes["cluster"] == 3
    cb = cluster_bootstrap(study, n_resamples=50, rng=1, **FAST)
    assert cb.n_units == 3 and not cb.has_regions
    one = load_study(write_csv("one.csv", "no,a,b\n1,1,2\n"), w)
    with pytest.raises(ClusterModelError, match="needs at least 2 units, the study has 1"):
        cluster_bootstrap(one, n_resamples=10, **FAST)


def test_cluster_bootstrap_rejects_bad_options(paper):
    with pytest.raises(ClusterModelError, match="`maxima` must be one of"):
        cluster_bootstrap(paper, n_resamples=10, maxima="none", **FAST)
    with pytest.raises(ClusterModelError, match="`n_resamples` must be at least 1"):
        cluster_bootstrap(paper, n_resamples=0, **FAST)
    with pytest.raises(ClusterModelError, match="give `chunk_size` or its former name `batch_size`, not both"):
        cluster_bootstrap(paper, n_resamples=10, batch_size=5, chunk_size=5, **FAST)


# ------------------------------------------------------------------ narration (reporting.bootstrap) and the stage


def test_reporting_words_fit_the_study(paper, hierarchy):
    from clustermodel.reporting.bootstrap import findings, markdown, reference_counts_for
    from clustermodel.nouns import PAPER_NOUNS, Nouns

    assert reference_counts_for(paper) == PAPER_COUNTS and reference_counts_for(hierarchy) is None
    eq1 = weight_bootstrap(paper, PAPER_SPEC, n_resamples=100, rng=1, reference_counts=PAPER_COUNTS, **FAST)
    text = markdown(eq1, nouns=PAPER_NOUNS, reference_label="the paper's counts")
    assert "Zero spread" in text and "zero: the weights have no effect" in text and "the paper's counts 3/14/8/0" in text
    nouns = Nouns(unit="city", higher="country")
    wb = weight_bootstrap(hierarchy, n_resamples=100, rng=1, **FAST)
    cb = cluster_bootstrap(hierarchy, n_resamples=60, rng=1, **FAST)
    bundle = {"weight": wb, "data": {"resample": cb}, "skipped": {"scenarios": "no_higher_level"}, "seed": 1, "n_resamples": 100}
    text = markdown(bundle, nouns=nouns) + " ".join(findings(bundle, nouns=nouns))
    for word in ("Table 4", "3/14/8/0", "25 clusters", "industry", "paper", "cluster", "P(nominal counts)"):
        assert word not in text, word
    assert "cities" in text and "no country table" in text and "`economy`" in text


def test_run_bootstrap_on_a_study_without_regions(hierarchy, tmp_path):
    from clustermodel.workflow import run_bootstrap

    config = {"bootstrap": {"seed": 3, "n_resamples": 120, "concentration_sensitivity": [10.0], "progress": False}}
    data = run_bootstrap(hierarchy, config, tmp_path)
    assert "skipped" in data and "scenarios" in data["skipped"] and data["weight_bootstrap"]["has_regions"] is False
    assert data["equation1"] is None and len(data["concentration_sensitivity"]) == 1
    assert {p.name for p in tmp_path.iterdir()} == {"bootstrap.md", "bootstrap.json", "bootstrap.nc", "bootstrap.csv", "bootstrap_data.nc", "bootstrap_ranks.png"}
    # the missing scenarios are named once in bootstrap.md (and once in the report's "Analyses not run"), not as a finding
    assert len(data["findings"]) == 2 and not any("scenario" in f.lower() for f in data["findings"])
    md = (tmp_path / "bootstrap.md").read_text(encoding="utf-8")
    assert md.count("no higher-level unit table") == 1 and "nominal scenario" not in md
    with xr.open_dataset(tmp_path / "bootstrap.nc") as ds:
        assert "draw" not in ds.dims and ds.sizes["node"] == len(hierarchy.structure.aggregates)


@pytest.mark.filterwarnings("ignore:.*a single cluster:clustermodel._errors.ClusterModelWarning")
def test_run_bootstrap_reports_why_nothing_ran(write_csv, tmp_path):
    from clustermodel.data import load_study
    from clustermodel.workflow import run_bootstrap

    one = load_study(write_csv("one.csv", "no,a,b\n1,1,2\n"), write_csv("w.csv", "indicator,weight\na,0.5\nb,0.5\n"))
    out = run_bootstrap(one, {"bootstrap": {"n_resamples": 10}}, tmp_path / "x")
    assert out == {"skipped": "the study has fewer than two units: there is nothing to rank or to resample"}  # a user study: generic nouns


# ------------------------------------------------------------------ CLI


def test_cli_json_keys(capsys):
    assert main(["bootstrap", "--json", "--n-resamples", "200", "--seed", "1", "--data-bootstrap"]) == 0
    d = json.loads(capsys.readouterr().out)
    w = d["weight_bootstrap"]
    assert w["mode"] == "parametric" and w["spec"]["aggregation"] == "quadratic" and w["n_resamples"] == 200
    rec = w["units"][0]
    for key in ["index_median", "index_low", "index_high", "rank_median", "rank_low", "rank_high", "scenario_probabilities"]:
        assert key in rec
    assert {"correlation", "scenario_counts"} <= set(w["study"])
    assert w["study"]["scenario_counts"]["reference_counts"] == PAPER_COUNTS  # the paper's own data
    assert set(d["data_bootstrap"]) == {"resample", "fixed"}  # a bare --data-bootstrap runs both rules, as the report
    assert d["data_bootstrap"]["resample"]["n_resamples"] == 200 and "correlation" in d["data_bootstrap"]["resample"]
    assert any("P(paper's counts)" in f for f in d["findings"])


def test_cli_same_seed_same_output(capsys):
    main(["bootstrap", "--json", "--n-resamples", "100", "--seed", "5", "--chunk-size", "7"])
    a = capsys.readouterr().out
    main(["bootstrap", "--json", "--n-resamples", "100", "--seed", "5", "--chunk-size", "7"])
    assert capsys.readouterr().out == a


def test_cli_writes_reports(tmp_path, capsys):
    assert main(["bootstrap", "--n-resamples", "100", "--seed", "1", "--data-bootstrap", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {
        "bootstrap.md",
        "bootstrap.json",
        "bootstrap.csv",
        "bootstrap.nc",
        "bootstrap_data.nc",
        "bootstrap_ranks.png",
        "bootstrap_scenarios.png",
    }


def test_cli_equation1_says_zero_spread(capsys):
    assert main(["bootstrap", "--aggregation", "equation1", "--n-resamples", "50", "--seed", "1"]) == 0
    assert "Zero spread" in capsys.readouterr().out


def test_cli_memory_limit_is_one_line(capsys):
    assert main(["bootstrap", "--n-resamples", "50", "--memory-limit", "1MB"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "memory_limit=" in err[0]


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
    assert d["mode"] == "nonparametric" and d["n_experts"] == 3 and d["experts_source"].endswith("experts.csv")
