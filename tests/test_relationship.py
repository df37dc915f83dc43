"""Tests of clustermodel.relationship against independent computations.

Reference values come from scipy's and statsmodels' own functions on the same
data, from explicit enumeration of every permutation, from the explicitly
expanded bootstrap sample, or from hand derivations written out in comments.
"""

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import statsmodels.api as sm

from clustermodel import ClusterModelError
from clustermodel.cli import main
from clustermodel.relationship import (
    PRIMARY_GROUP_TEST,
    PRIMARY_TEST,
    adjust_pvalues,
    cluster_level_tests,
    clustered_ols,
    industry_tests,
    negative_policy_sensitivity,
    power_min_correlation,
    region_block_tests,
    region_level_tests,
    region_values_of_clusters,
    relationship_analysis,
    scenario_table,
    weighted_correlation,
)
from clustermodel.reporting.nouns import PAPER_NOUNS
from clustermodel.reporting.relationship import markdown
from clustermodel.reproduce import PAPER_COUNTS
from clustermodel.scenarios import evaluate
from clustermodel.spec import IndexSpec

# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def paper_xy(paper):
    ev = evaluate(paper)
    return ev.cluster_index.values, ev.region_index_of_cluster.values, paper.cluster_regions().astype(str)


@pytest.fixture(scope="module")
def small_result(paper):
    return relationship_analysis(paper, source="both", n_resamples=199, rng=7)


def _scipy_two_sided(null, observed):
    """scipy's exact two-sided p (twice the smaller tail), recomputed here from an enumerated null."""
    null = np.asarray(null)
    eps = 1e-14 * max(1.0, abs(observed))
    less = np.mean(null <= observed + eps)
    greater = np.mean(null >= observed - eps)
    return min(1.0, 2 * min(less, greater))


# ----------------------------------------------------------------- coefficients


@pytest.mark.parametrize("method,ref", [("pearson", scipy.stats.pearsonr), ("spearman", scipy.stats.spearmanr), ("kendall", scipy.stats.kendalltau)])
def test_weighted_coefficient_equals_scipy_on_expanded_sample(method, ref):
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=9), 1)  # rounding makes ties, as in the published tables
    y = np.repeat([0.2, 0.5, 0.5, 0.9], [3, 2, 2, 2])  # shared regional values
    w = np.array([0, 2, 1, 3, 1, 0, 2, 1, 1])
    got = weighted_correlation(x, y, w, method=method)
    want = ref(np.repeat(x, w), np.repeat(y, w)).statistic
    assert got == pytest.approx(want, abs=1e-12)
    assert weighted_correlation(x, y, method=method) == pytest.approx(ref(x, y).statistic, abs=1e-12)


def test_weighted_coefficient_is_batched():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(5, 8)), rng.normal(size=8)
    got = weighted_correlation(x, y, method="kendall")
    assert got.shape == (5,)
    assert got == pytest.approx([scipy.stats.kendalltau(row, y).statistic for row in x], abs=1e-12)


def test_hand_computed_small_example():
    # x = 1..4, y = (1, 3, 2, 4): deviations (-1.5, -.5, .5, 1.5) and (-1.5, .5, -.5, 1.5),
    # sum of products 4, sums of squares 5 and 5 -> r = 0.8; the data are ranks, so rho = 0.8;
    # 5 concordant and 1 discordant pair -> tau = 4/6.
    # Exact permutation p: only the identity (r = 1) and the three adjacent swaps (r = 0.8) reach 0.8,
    # so P(null >= 0.8) = 4/24 and P(null <= 0.8) = 23/24; two-sided p = 2 * 4/24 = 1/3.
    x, y = [1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]
    res = {r.test.split(":")[0]: r for r in cluster_level_tests(x, y, n_resamples=99, rng=0)}
    assert res["pearson"].statistic == pytest.approx(0.8)
    assert res["spearman"].statistic == pytest.approx(0.8)
    assert res["kendall"].statistic == pytest.approx(4 / 6)
    assert res["pearson"].pvalue == pytest.approx(1 / 3)
    assert "exact" in res["pearson"].method
    # four points: many bootstrap resamples are constant, the BCa interval is undefined -> None with a note, never NaN
    for r in res.values():
        d = r.to_dict()
        assert all(v is None or math.isfinite(v) for v in (d["ci_low"], d["ci_high"]))
        if d["ci_low"] is None:
            assert "BCa interval undefined" in r.note


# ----------------------------------------------------------------- cluster and region level


def test_cluster_level_matches_parametric(paper_xy):
    x, y, regions = paper_xy
    for r in cluster_level_tests(x, y, regions, n_resamples=1999, rng=11):
        name = r.test.split(":")[0]
        ref = {"pearson": scipy.stats.pearsonr, "spearman": scipy.stats.spearmanr, "kendall": scipy.stats.kendalltau}[name](x, y)
        assert r.statistic == pytest.approx(ref.statistic, abs=1e-12)
        assert r.pvalue_parametric == pytest.approx(ref.pvalue, abs=1e-12)
        # permutation and parametric p agree within Monte Carlo error (sd <= 0.011 at 1999 resamples) + approximation
        assert abs(r.pvalue - ref.pvalue) < 0.06
        assert r.ci_low < r.statistic < r.ci_high
        assert r.n == 25 and r.unit == "cluster"


def test_region_level_uses_region_means(paper_xy):
    x, y, regions = paper_xy
    df = pd.DataFrame({"x": x, "y": y, "region": regions}).groupby("region").agg(x=("x", "mean"), y=("y", "first"))
    res = region_level_tests(x, y, regions, methods=("pearson",), n_resamples=1999, rng=5)[0]
    ref = scipy.stats.pearsonr(df["x"], df["y"])
    assert res.n == len(df) == 19 and res.unit == "region"
    assert res.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert abs(res.pvalue - ref.pvalue) < 0.06


def test_region_block_permutation_equals_enumeration():
    # 4 regions, 7 clusters: 24 permutations of the regional values among regions, enumerated here
    x = np.array([0.3, 1.2, 0.9, 1.5, 0.4, 1.1, 0.2])
    regions = np.array(["C", "A", "B", "A", "C", "D", "C"])  # unsorted on purpose
    value = {"A": 0.1, "B": 0.7, "C": 0.5, "D": 1.3}
    y = np.array([value[r] for r in regions])
    res = region_block_tests(x, y, regions, methods=("pearson", "kendall"), n_resamples=99, rng=1)
    names = sorted(value)
    for r, stat in zip(res, (lambda a, b: np.corrcoef(a, b)[0, 1], lambda a, b: scipy.stats.kendalltau(a, b).statistic)):
        null = []
        for perm in itertools.permutations([value[k] for k in names]):
            new = dict(zip(names, perm))
            null.append(stat(x, np.array([new[g] for g in regions])))
        assert r.statistic == pytest.approx(stat(x, y))
        assert r.pvalue == pytest.approx(_scipy_two_sided(null, stat(x, y)), abs=1e-12)
        assert r.n == 4 and r.unit == "region"


def test_region_block_with_one_cluster_per_region_is_the_pairings_test():
    x = np.array([0.3, 1.2, 0.9, 1.5, 0.4])
    y = np.array([0.1, 0.7, 0.5, 1.3, 0.2])
    regions = list("ABCDE")
    block = region_block_tests(x, y, regions, methods=("spearman",), n_resamples=199, rng=2)[0]
    plain = cluster_level_tests(x, y, regions, methods=("spearman",), n_resamples=199, rng=3)[0]
    # both exact (5! = 120 <= 199): identical p whatever the seeds
    assert block.pvalue == pytest.approx(plain.pvalue, abs=1e-12)
    assert block.statistic == pytest.approx(plain.statistic)


def test_cluster_bootstrap_resamples_whole_regions(paper_xy):
    x, y, regions = paper_xy
    r = region_block_tests(x, y, regions, methods=("pearson",), n_resamples=999, rng=9)[0]
    naive = cluster_level_tests(x, y, regions, methods=("pearson",), n_resamples=999, rng=9)[0]
    assert r.ci_low < r.statistic < r.ci_high
    assert r.statistic == pytest.approx(naive.statistic)
    assert "ci=bca:999:whole_higher_units" in r.method  # a descriptor, worded by the report layer


# ----------------------------------------------------------------- clustered OLS


def test_clustered_ols_slope_is_pearson_and_se_is_cr1(paper_xy):
    x, y, regions = paper_xy
    res = clustered_ols(x, y, regions)
    assert res.slope == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    # CR1 sandwich by hand
    X = np.column_stack([np.ones_like(y), (y - y.mean()) / y.std(ddof=1)])
    z = (x - x.mean()) / x.std(ddof=1)
    beta = np.linalg.lstsq(X, z, rcond=None)[0]
    u = z - X @ beta
    bread = np.linalg.inv(X.T @ X)
    meat = sum(np.outer(X[regions == g].T @ u[regions == g], X[regions == g].T @ u[regions == g]) for g in np.unique(regions))
    n, k, g = len(x), 2, len(np.unique(regions))
    cov = g / (g - 1) * (n - 1) / (n - k) * bread @ meat @ bread
    assert res.se == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-10)
    assert res.df == g - 1 == 18
    # CR1 is kept as the reference p; the reported p is the wild cluster bootstrap's (tested below)
    assert res.pvalue_cr1 == pytest.approx(2 * scipy.stats.t.sf(abs(res.slope / res.se), g - 1), rel=1e-10)
    half = scipy.stats.t.ppf(0.975, g - 1) * res.se
    assert (res.ci_low_cr1, res.ci_high_cr1) == pytest.approx((res.slope - half, res.slope + half), rel=1e-10)
    assert res.pvalue == res.wild.pvalue and res.wild.se_cr1 == pytest.approx(res.se, rel=1e-10)
    # the fitted line on the original scale passes through the means
    assert res.fitted(y.mean()) == pytest.approx(x.mean())


def test_clustered_ols_one_cluster_per_region_equals_plain_ols_hc1():
    rng = np.random.default_rng(12)
    y = rng.normal(size=15)
    x = 0.5 * y + rng.normal(size=15)
    res = clustered_ols(x, y, [f"r{i}" for i in range(15)])
    zx, zy = (y - y.mean()) / y.std(ddof=1), (x - x.mean()) / x.std(ddof=1)
    plain = sm.OLS(zy, sm.add_constant(zx)).fit()
    hc1 = sm.OLS(zy, sm.add_constant(zx)).fit(cov_type="HC1")
    assert res.slope == pytest.approx(plain.params[1], rel=1e-12)
    assert res.se == pytest.approx(hc1.bse[1], rel=1e-10)


# ----------------------------------------------------------------- scenario table


def test_scenario_table_counts_and_fisher(paper, small_result):
    tab = small_result.scenario_tables["computed"]["cluster"]
    assert tab.counts == PAPER_COUNTS
    ev = evaluate(paper)
    labels = list(ev.scenario_labels())
    a, b = labels.count("supported"), labels.count("lonely")
    c, d = labels.count("late"), labels.count("potential")
    assert tab.table.tolist() == [[a, b], [c, d]]
    # Fisher's two-sided p from the hypergeometric law of the top-left cell, summed by hand
    hyper = scipy.stats.hypergeom(a + b + c + d, a + c, a + b)
    support = np.arange(max(0, (a + b) - (b + d)), min(a + b, a + c) + 1)
    probs = hyper.pmf(support)
    assert tab.pvalue == pytest.approx(probs[probs <= hyper.pmf(a) * (1 + 1e-7)].sum(), rel=1e-9)
    assert tab.ci_high is None and "unbounded" in tab.note  # late = 0: a zero cell


def test_scenario_table_without_zero_cell():
    ch = np.array([1, 1, 1, 0, 0, 1, 0, 0, 1, 0], bool)
    rh = np.array([1, 1, 0, 0, 0, 0, 1, 0, 1, 1], bool)
    tab = scenario_table(ch, rh)
    assert tab.table.tolist() == [[3, 2], [2, 3]]
    assert tab.odds_ratio == pytest.approx(9 / 4)
    assert tab.pvalue == pytest.approx(scipy.stats.fisher_exact([[3, 2], [2, 3]]).pvalue)
    assert tab.ci_low < tab.odds_ratio < tab.ci_high and tab.note is None


def test_scenario_table_empty_margin():
    with pytest.raises(ClusterModelError, match="same side of the cluster threshold"):
        scenario_table(np.ones(5, bool), np.array([1, 0, 1, 0, 1], bool))


# ----------------------------------------------------------------- industry


def test_industry_tests_match_scipy(paper):
    x = evaluate(paper, IndexSpec(reference="sample")).cluster_index.values
    groups = paper.clusters["group"].values
    samples = [x[groups == g] for g in pd.unique(groups)]
    kw, an = industry_tests(x, groups, reference="sample", n_resamples=199, rng=1)
    assert kw.test == "kruskal:reference=sample" and an.test == "anova:reference=sample"
    assert kw.statistic == pytest.approx(scipy.stats.kruskal(*samples).statistic)
    assert kw.pvalue_parametric == pytest.approx(scipy.stats.kruskal(*samples).pvalue)
    assert an.statistic == pytest.approx(scipy.stats.f_oneway(*samples).statistic)


def test_industry_permutation_p_close_to_f_test():
    rng = np.random.default_rng(21)
    x = rng.normal(size=90) + np.repeat([0.0, 0.2, 0.4], 30)
    groups = np.repeat(["a", "b", "c"], 30)
    kw, an = industry_tests(x, groups, n_resamples=2999, rng=4)
    assert abs(an.pvalue - an.pvalue_parametric) < 0.04
    assert abs(kw.pvalue - kw.pvalue_parametric) < 0.04


def test_industry_under_both_reference_sets(small_result):
    group_rows = lambda src: {t.test for t in small_result.tests if t.source == src and t.test.startswith(("kruskal", "anova"))}  # noqa: E731
    computed, published = group_rows("computed"), group_rows("published")
    assert computed == {"kruskal:reference=group", "anova:reference=group", "kruskal:reference=sample", "anova:reference=sample"}
    assert published == {"kruskal:reference=group", "anova:reference=group"}
    assert "removed by construction" in small_result.summary()
    assert small_result.summary() == markdown(small_result, nouns=PAPER_NOUNS)


# ----------------------------------------------------------------- power, multiplicity


def test_power_formula_by_hand_and_statsmodels():
    from statsmodels.stats.power import NormalIndPower

    # Fisher z: atanh(r) ~ N(atanh(rho), 1/(n-3)); z_.975 = 1.959964, z_.8 = 0.841621
    assert power_min_correlation(25) == pytest.approx(math.tanh((1.959964 + 0.841621) / math.sqrt(22)), abs=1e-6)
    for n in (25, 19):
        es = NormalIndPower().solve_power(effect_size=None, nobs1=n - 3, alpha=0.05, power=0.8, ratio=0)
        # statsmodels also counts the (negligible) rejections in the wrong tail, hence a 1e-5 tolerance
        assert power_min_correlation(n) == pytest.approx(math.tanh(es), rel=1e-5)
    assert power_min_correlation(19) > power_min_correlation(25)


def test_power_by_simulation():
    rho, n, reps = power_min_correlation(25), 25, 4000
    rng = np.random.default_rng(8)
    z1, z2 = rng.normal(size=(2, reps, n))
    x, y = z1, rho * z1 + math.sqrt(1 - rho**2) * z2
    r = weighted_correlation(x, y)
    t = r * np.sqrt((n - 2) / (1 - r**2))
    rejected = 2 * scipy.stats.t.sf(np.abs(t), n - 2) < 0.05
    assert abs(rejected.mean() - 0.8) < 0.03  # Fisher z approximation + Monte Carlo sd 0.006


def test_holm_by_hand_and_in_result(small_result):
    # sorted 0.01, 0.03, 0.04 -> 3*0.01 = 0.03, 2*0.03 = 0.06, max(0.06, 1*0.04) = 0.06
    assert adjust_pvalues([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    from statsmodels.stats.multitest import multipletests

    families = {t.family for t in small_result.tests if t.family}
    assert families == {"claims/computed", "claims/published"}
    for fam in families:
        rows = [t for t in small_result.tests if t.family == fam]
        assert all(t.role == "primary" and t.primary for t in rows)
        want = multipletests([t.pvalue for t in rows], method="holm")[1]
        assert [t.p_adjusted for t in rows] == pytest.approx(list(want))
    # computed values: the relationship and the group effect (whole-sample normalisation); published: the relationship
    assert {t.test for t in small_result.tests if t.family == "claims/computed"} == {PRIMARY_TEST, PRIMARY_GROUP_TEST}
    assert {t.test for t in small_result.tests if t.family == "claims/published"} == {PRIMARY_TEST}
    # every other row is labelled and not adjusted
    for t in small_result.tests:
        if t.role != "primary":
            assert t.p_adjusted is None and t.family is None
    roles = {t.test: t.role for t in small_result.tests}
    assert roles["pearson:cluster"] == roles["kendall:cluster"] == "naive"
    assert roles["pearson:region_block"] == roles["ols:wild_cluster"] == roles["mixedlm:random_intercept"] == "sensitivity"
    assert roles["tost:region_mean"] == "equivalence" and roles["power:min_r_n19"] == "planning"


# ----------------------------------------------------------------- the study-level analysis


def test_primary_and_records(small_result):
    recs = small_result.to_records()
    primary = [r for r in recs if r["primary"]]
    assert {r["source"] for r in primary} == {"computed", "published"}
    assert all(r["test"] == PRIMARY_TEST and r["unit"] == "region" and r["n"] == 19 for r in primary if r["test"] != PRIMARY_GROUP_TEST)
    assert [r["source"] for r in primary if r["test"] == PRIMARY_GROUP_TEST] == ["computed"]
    for r in recs:
        assert {"test", "statistic", "pvalue", "ci_low", "ci_high", "n", "unit", "method", "source", "p_adjusted"} <= set(r)
    json.dumps(small_result.to_dict(), allow_nan=False)  # no NaN or infinity anywhere
    text = small_result.summary()
    assert "Primary analysis" in text and "not independent" in text
    assert small_result.to_dataset().attrs["seed"] == 7


def test_same_seed_same_results(paper):
    a = relationship_analysis(paper, source="computed", n_resamples=199, rng=123).to_records()
    b = relationship_analysis(paper, source="computed", n_resamples=199, rng=123).to_records()
    c = relationship_analysis(paper, source="computed", n_resamples=199, rng=124).to_records()
    assert a == b
    assert [r["pvalue"] for r in a] != [r["pvalue"] for r in c]


def test_published_and_computed_values(small_result, paper):
    pub = small_result.sources["published"]
    assert np.array_equal(pub["cluster_index"], paper.clusters["published_index"].values)
    ref = scipy.stats.pearsonr(pub["cluster_index"], pub["region_index_of_cluster"])
    assert small_result.get("pearson:cluster", "published").statistic == pytest.approx(ref.statistic)


def test_negative_policy_sensitivity(paper):
    sens = negative_policy_sensitivity(paper, n_resamples=99, rng=1)
    deficit = paper.regions["indicators"].sel(indicator="trade_surplus_per_capita").values < 0
    deficit_regions = set(paper.regions["region"].values[deficit])
    assert {r["region"] for r in sens.clusters} == deficit_regions & set(paper.cluster_regions())
    for policy in sens.policies:
        ev = evaluate(paper, IndexSpec(negative=policy))
        assert sens.scenario_counts[policy] == dict(zip(ev.scenario_counts["scenario"].values, ev.scenario_counts.values.tolist()))
        assert sens.correlations[policy]["pearson"] == pytest.approx(float(ev.correlation))
        labels = ev.scenario_labels()
        pos = {c: i for i, c in enumerate(paper.clusters["cluster"].values)}
        for row in sens.clusters:
            assert row[f"scenario_{policy}"] == labels[pos[row["cluster"]]]
    for row in sens.clusters:
        assert row["scenario_changed"] == (row["scenario_square"] != row["scenario_zero"])
    assert "negative=square" in markdown(relationship_analysis(paper, source="computed", n_resamples=99, rng=1), nouns=PAPER_NOUNS)
    assert sens.negative_indicators == ("trade_surplus_per_capita",)


# ----------------------------------------------------------------- degenerate input


def test_constant_index_message():
    with pytest.raises(ClusterModelError, match="`cluster_index` is constant .* a correlation is undefined"):
        region_level_tests([1.0] * 6, [0.1, 0.1, 0.5, 0.7, 0.9, 0.3], list("AABCDE"), n_resamples=99)
    with pytest.raises(ClusterModelError, match="`region_index` is constant"):
        clustered_ols([1.0, 2, 3, 4], [0.5] * 4, list("ABCD"))
    with pytest.raises(ClusterModelError, match="`cluster_index` is constant"):
        industry_tests([2.0] * 6, list("aabbcc"), n_resamples=99)


def test_constant_region_means_message():
    with pytest.raises(ClusterModelError, match="constant"):
        region_level_tests([1.0, 3.0, 2.0, 2.0, 2.0], [0.1, 0.1, 0.5, 0.7, 0.9], list("AABCD"), n_resamples=99)


def test_fewer_than_three_regions():
    with pytest.raises(ClusterModelError, match="2 distinct region.*at least three regions"):
        region_block_tests([1.0, 2.0, 3.0, 4.0], [0.1, 0.1, 0.5, 0.5], list("AABB"), n_resamples=99)


def test_region_value_differs_within_region():
    with pytest.raises(ClusterModelError, match="differs between clusters of region 'A'"):
        clustered_ols([1.0, 2, 3, 4], [0.1, 0.2, 0.5, 0.7], list("AABC"))


def test_unknown_region_is_named(paper):
    with pytest.raises(ClusterModelError, match="'Atlantis' .* not in the region table"):
        region_values_of_clusters(["Moscow", "Atlantis"], ["Moscow"], [2.0])
    bad = paper.clusters.assign_coords(region=("cluster", np.where(paper.clusters["cluster"].values == 3, "Ulianovsk", paper.cluster_regions())))
    study = type(paper)(clusters=bad, weights=paper.weights, regions=paper.regions, region_weights=paper.region_weights)
    with pytest.raises(ClusterModelError, match="'Ulianovsk'"):
        relationship_analysis(study, n_resamples=99, rng=0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n_resamples": 10}, "`n_resamples` must be at least 99"),
        ({"confidence_level": 1.5}, "`confidence_level` must lie in"),
        ({"source": "paper"}, "`source` must be one of"),
        ({"rng": -1}, "`rng` seed must be non-negative"),
    ],
)
def test_option_messages(paper, kwargs, match):
    with pytest.raises(ClusterModelError, match=match):
        relationship_analysis(paper, **{"n_resamples": 99, **kwargs})


def test_small_study_reports_what_it_cannot_test(write_csv, capsys):
    # three regions, every region below the region threshold: the Fisher tables have an empty margin and
    # three regions are too few for the power formula; both become notes, the other tests still run
    c = write_csv("c.csv", "no,group,region,a,b\n1,g1,N,1,2\n2,g1,N,2,1\n3,g2,S,3,3\n4,g2,E,1,1\n5,g2,E,2,2\n")
    w = write_csv("w.csv", "indicator,weight\na,0.5\nb,0.5\n")
    r = write_csv("r.csv", "region,x,y\nN,1,2\nS,2,1\nE,3,3\n")
    args = ["correlate", "--clusters", str(c), "--weights", str(w), "--regions", str(r), "--source", "computed", "--n-resamples", "99"]
    assert main(args + ["--json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    tests = {x["test"] for x in recs}
    assert "pearson:region_mean" in tests and not any(t.startswith("fisher") for t in tests)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "no Fisher test" in out and "No power calculation" in out


def test_mismatched_lengths():
    with pytest.raises(ClusterModelError, match="one entry per cluster"):
        region_level_tests([1.0, 2.0, 3.0], [0.1, 0.2], list("ABC"), n_resamples=99)


def test_power_rejects_tiny_n():
    with pytest.raises(ClusterModelError, match="`n` must be at least 4"):
        power_min_correlation(3)


# ----------------------------------------------------------------- CLI


def test_cli_json_records(capsys):
    assert main(["correlate", "--json", "--source", "computed", "--n-resamples", "99", "--seed", "3"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert isinstance(recs, list) and recs
    for r in recs:
        assert {"test", "statistic", "pvalue", "ci_low", "ci_high", "n", "unit", "method"} <= set(r)
        assert r["unit"] in {"cluster", "region"}
    assert {r["source"] for r in recs if r["source"]} == {"computed"}


def test_cli_writes_reports(tmp_path, capsys):
    assert main(["correlate", "--n-resamples", "99", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"correlation.md", "correlation.json", "correlation.nc", "correlation.png"}
    assert "| Source | Test |" in (tmp_path / "correlation.md").read_text()


def test_cli_error_is_one_line(capsys):
    assert main(["correlate", "--n-resamples", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`n_resamples` must be at least 99" in err[0]
