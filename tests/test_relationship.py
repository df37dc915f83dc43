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
from clustermodel.nouns import PAPER_NOUNS
from clustermodel.reporting.relationship import markdown
from clustermodel.reproduction import PAPER_COUNTS
from clustermodel.scenarios import evaluate
from clustermodel.spec import IndexSpec, PAPER_SPEC

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
    x = evaluate(paper, PAPER_SPEC.replace(reference="sample")).cluster_index.values
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
    assert "attenuated by construction" in small_result.summary()
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
        ev = evaluate(paper, PAPER_SPEC.replace(negative=policy))
        assert sens.scenario_counts[policy] == dict(zip(ev.scenario_counts["scenario"].values, ev.scenario_counts.values.tolist()))
        assert sens.correlations[policy]["pearson"] == pytest.approx(float(ev.correlation))
        labels = ev.scenario_labels()
        pos = {c: i for i, c in enumerate(paper.clusters["cluster"].values)}
        for row in sens.clusters:
            assert row[f"scenario_{policy}"] == labels[pos[row["cluster"]]]
    for row in sens.clusters:
        assert row["scenario_changed"] == (row["scenario_keep"] != row["scenario_zero"])
    assert "negative=keep" in markdown(relationship_analysis(paper, source="computed", n_resamples=99, rng=1), nouns=PAPER_NOUNS)
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
    # three regions, every region above a low region threshold: the Fisher tables have an empty margin and
    # three regions are too few for the power formula; both are reported as not run, the other tests still run
    c = write_csv("c.csv", "no,group,region,a,b\n1,g1,N,1,2\n2,g1,N,2,1\n3,g2,S,3,3\n4,g2,E,1,1\n5,g2,E,2,2\n")
    w = write_csv("w.csv", "indicator,weight\na,0.5\nb,0.5\n")
    r = write_csv("r.csv", "region,x,y\nN,1,2\nS,2,1\nE,3,3\n")
    args = ["correlate", "--clusters", str(c), "--weights", str(w), "--regions", str(r), "--source", "computed", "--n-resamples", "99"]
    args += ["--region-threshold", "0.1"]
    assert main(args + ["--json"]) == 0
    recs = json.loads(capsys.readouterr().out)["records"]  # the whole result, as correlation.json holds it
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
    d = json.loads(capsys.readouterr().out)  # the whole result (correlation.json), not only its records
    assert {"records", "findings", "models", "spec", "seed"} <= set(d)
    recs = d["records"]
    assert isinstance(recs, list) and recs
    for r in recs:
        assert {"test", "statistic", "pvalue", "ci_low", "ci_high", "n", "unit", "method"} <= set(r)
        assert r["unit"] in {"cluster", "region"}
    assert {r["source"] for r in recs if r["source"]} == {"computed"}


def test_cli_writes_reports(tmp_path, capsys):
    assert main(["correlate", "--n-resamples", "99", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"correlation.md", "correlation.json", "correlation.nc", "correlation.csv", "correlation.png"}
    assert "| Source | Test |" in (tmp_path / "correlation.md").read_text()


def test_cli_error_is_one_line(capsys):
    assert main(["correlate", "--n-resamples", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`n_resamples` must be at least 99" in err[0]


# ----------------------------------------------------------------- memory-bounded statistics (issue 13)


def _midranks_by_comparison(v, w):
    # the definition: weight strictly below plus (weight tied + 1) / 2
    less = (v[None, :] < v[:, None]) * w[None, :]
    equal = (v[None, :] == v[:, None]) * w[None, :]
    return less.sum(1) + (equal.sum(1) + 1) / 2


def test_sorted_midranks_equal_the_definition_and_scipy():
    from clustermodel.relationship.correlation import _midranks

    rng = np.random.default_rng(30)
    v = np.round(rng.normal(size=40), 1)  # many ties
    w = rng.integers(0, 4, size=(6, 40)).astype(float)
    got = _midranks(np.broadcast_to(v, w.shape), w)  # shared values: one sort
    for row, wr in zip(got, w):
        np.testing.assert_array_equal(row, _midranks_by_comparison(v, wr))
        keep = wr > 0
        # on the expanded sample the midranks are scipy's average ranks
        ranks = scipy.stats.rankdata(np.repeat(v, wr.astype(int)))
        np.testing.assert_allclose(row[keep], ranks[np.cumsum(wr.astype(int))[keep] - 1], rtol=0, atol=1e-12)
    vv = np.round(rng.normal(size=(6, 40)), 1)  # values differing per row
    for row, vr, wr in zip(_midranks(vv, w), vv, w):
        np.testing.assert_array_equal(row, _midranks_by_comparison(vr, wr))


def test_kendall_above_the_direct_limit_equals_scipy_on_the_expanded_sample():
    from clustermodel.relationship import KENDALL_DIRECT_MAX

    rng = np.random.default_rng(31)
    n = KENDALL_DIRECT_MAX + 72
    x = np.round(rng.normal(size=n), 1)
    y = np.repeat(rng.normal(size=20), n // 20)
    w = rng.integers(0, 3, size=(3, n)).astype(float)
    got = weighted_correlation(x, y, w, method="kendall")
    want = [scipy.stats.kendalltau(np.repeat(x, r.astype(int)), np.repeat(y, r.astype(int))).statistic for r in w]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # non-integer weights: the double sum of tau-b written out here
    wf = rng.uniform(0.5, 2.0, size=n)
    sx, sy = np.sign(x[:, None] - x[None, :]), np.sign(y[:, None] - y[None, :])
    ww = wf[:, None] * wf[None, :]
    want = (ww * sx * sy).sum() / np.sqrt((ww * sx * sx).sum() * (ww * sy * sy).sum())
    assert weighted_correlation(x, y, wf, method="kendall") == pytest.approx(want, abs=1e-12)


def _synthetic(n_units, n_regions, seed, effect=0.0):
    rng = np.random.default_rng(seed)
    regions = np.array([f"h{k:03d}" for k in rng.integers(0, n_regions, size=n_units)])
    regions[:n_regions] = [f"h{k:03d}" for k in range(n_regions)]  # every region used
    names, codes = np.unique(regions, return_inverse=True)
    values = rng.gamma(2.0, 0.3, size=names.size)
    y = values[codes]
    x = effect * y + rng.normal(size=n_units) + 0.5 * rng.normal(size=names.size)[codes]
    return x, y, regions


def test_resampling_memory_is_bounded_for_many_units():
    import tracemalloc

    # 2000 units in 50 regions: the mid-rank comparison of the old code alone would need
    # 99 x 2000 x 2000 x 8 bytes = 3.2 GB; the sorted ranks and the bincount block counts stay linear
    x, y, regions = _synthetic(2000, 50, 32)
    tracemalloc.start()
    block = region_block_tests(x, y, regions, methods=("spearman",), n_resamples=99, rng=1)[0]
    naive = cluster_level_tests(x, y, regions, methods=("spearman",), n_resamples=99, rng=2)[0]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 400 * 2**20
    assert block.statistic == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
    assert naive.ci_low < naive.statistic < naive.ci_high


# ----------------------------------------------------------------- wild cluster bootstrap (issue 12)


def _small_clustered(seed=40, G=6):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 4, size=G)
    codes = np.repeat(np.arange(G), sizes)
    xg = rng.normal(size=G)
    xg[0] = 3.0  # one high-leverage cluster, as in the paper
    x = xg[codes]
    y = 0.3 * x + rng.normal(size=G)[codes] + rng.normal(size=codes.size)
    return y, x, np.array([f"c{k}" for k in codes])


def _refit_wild_p(y, x, groups, signs, null=0.0):
    """p-value of the restricted wild cluster bootstrap by explicit refits with statsmodels (CR1 t)."""
    names, codes = np.unique(groups, return_inverse=True)
    X = sm.add_constant(x)
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": codes})
    t = (fit.params[1] - null) / fit.bse[1]
    intercept = np.mean(y - null * x)
    u = y - intercept - null * x  # residuals with the null imposed
    tstar = []
    for v in signs:
        ystar = intercept + null * x + u * v[codes]
        f = sm.OLS(ystar, X).fit(cov_type="cluster", cov_kwds={"groups": codes})
        tstar.append((f.params[1] - null) / f.bse[1])
    tstar = np.array(tstar)
    return float(np.mean(np.abs(tstar) >= abs(t) - 1e-9)), t, tstar


def test_wild_bootstrap_enumeration_equals_explicit_refits():
    from clustermodel.relationship import wild_cluster_bootstrap

    y, x, groups = _small_clustered()
    res = wild_cluster_bootstrap(y, x, groups, n_resamples=999, keep_draws=True, rng=0)
    assert res.enumerated and res.weights == "rademacher" and res.n_resamples == 2**5
    every = np.array(list(itertools.product([-1.0, 1.0], repeat=6)))  # all 64 sign vectors
    p, t, tstar = _refit_wild_p(y, x, groups, every)
    assert res.pvalue == pytest.approx(p, abs=1e-12)
    assert res.statistic == pytest.approx(t, rel=1e-10)
    # the 32 enumerated |t*| are the 64 refits' |t*| without the mirror images
    np.testing.assert_allclose(np.sort(np.abs(res.draws)), np.sort(np.abs(tstar))[::2], rtol=1e-9)
    # CR1 as statsmodels computes it
    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="cluster", cov_kwds={"groups": np.unique(groups, return_inverse=True)[1]}, use_t=True)
    assert res.se_cr1 == pytest.approx(fit.bse[1], rel=1e-10)
    assert res.pvalue_cr1 == pytest.approx(fit.pvalues[1], rel=1e-10)


def test_wild_bootstrap_interval_is_the_set_of_null_values_not_rejected():
    from clustermodel.relationship import wild_cluster_bootstrap

    y, x, groups = _small_clustered(seed=41)
    res = wild_cluster_bootstrap(y, x, groups, n_resamples=999, confidence_level=0.9, rng=0)
    every = np.array(list(itertools.product([-1.0, 1.0], repeat=6)))
    assert res.ci_low < res.estimate < res.ci_high
    for end, outward in ((res.ci_low, -1), (res.ci_high, 1)):
        eps = 1e-6 * max(1.0, abs(end))
        assert _refit_wild_p(y, x, groups, every, null=end - outward * eps)[0] >= 0.1  # just inside: not rejected
        assert _refit_wild_p(y, x, groups, every, null=end + outward * eps)[0] < 0.1  # just outside: rejected


def test_wild_bootstrap_matches_wildboottest_with_the_same_weights():
    wbt = pytest.importorskip("wildboottest.wildboottest")
    from clustermodel.relationship.wild import _wild_moments, _wild_parts, _wild_t

    rng = np.random.default_rng(42)
    G = 19
    codes = np.repeat(np.arange(G), rng.integers(1, 4, size=G))
    x = rng.gamma(2.0, 0.3, size=G)[codes]
    y = rng.normal(size=G)[codes] + rng.normal(size=codes.size)
    webb = np.array([-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)])
    V = webb[rng.integers(0, 6, size=(G, 500))]
    X = np.column_stack([np.ones_like(x), x])
    boot = wbt.WildboottestCL(X=X, Y=y, cluster=codes, R=np.array([0.0, 1.0]), B=500, seed=1, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.v, boot.B = V, V.shape[1]  # the same weights on both sides
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    parts = _wild_parts(y, x, codes, G)
    mine = _wild_t(_wild_moments(parts, V), 0.0, parts.ssc)
    np.testing.assert_allclose(mine, boot.t_boot, rtol=1e-9, atol=1e-12)
    assert (parts.estimate / parts.se) == pytest.approx(float(np.squeeze(boot.t_stat)), rel=1e-10)


def test_wild_bootstrap_weights_and_reproducibility():
    from clustermodel.relationship import wild_cluster_bootstrap

    x, y, regions = _synthetic(60, 20, 43)
    a = wild_cluster_bootstrap(x, y, regions, n_resamples=999, rng=5, keep_draws=True)
    b = wild_cluster_bootstrap(x, y, regions, n_resamples=999, rng=5)
    assert not a.enumerated and a.weights == "webb" and a.n_resamples == 999  # 2**20 > 999
    assert a.pvalue == b.pvalue and a.ci_low == b.ci_low
    few = wild_cluster_bootstrap(x[:30], y[:30], regions[:30], n_resamples=99, weights="rademacher", rng=5)
    assert few.weights == "rademacher" and not few.enumerated
    # 'auto' enumerates exactly when 2**G <= n_resamples
    x8, y8, r8 = _synthetic(30, 8, 44)
    assert wild_cluster_bootstrap(x8, y8, r8, n_resamples=256, rng=0).enumerated
    assert not wild_cluster_bootstrap(x8, y8, r8, n_resamples=255, rng=0).enumerated


def test_wild_bootstrap_has_nominal_size_in_the_paper_design(paper):
    # the paper's 19 regions with their cluster counts and the observed regional index, y simulated
    # under no effect (intra-region correlation 0.5): the wild bootstrap's size is within [0.03, 0.07],
    # the CR1 t test's is far above 0.05 (benchmarks/bench_wild_size.py runs more simulations)
    from clustermodel.relationship import clustered_size_simulation

    ev = evaluate(paper)
    names, codes = np.unique(paper.cluster_regions().astype(str), return_inverse=True)
    values = np.zeros(names.size)
    values[codes] = ev.region_index_of_cluster.values
    res = clustered_size_simulation(values, np.bincount(codes), n_sim=1500, n_resamples=199, icc=0.5, rng=2026)
    assert 0.03 <= res["size_wild"] <= 0.07
    assert res["size_cr1"] > 0.10


def test_clustered_ols_reports_the_wild_p(paper_xy):
    from clustermodel.relationship import wild_cluster_bootstrap

    x, y, regions = paper_xy
    res = clustered_ols(x, y, regions, n_resamples=499, rng=3)
    zx, zy = (y - y.mean()) / y.std(ddof=1), (x - x.mean()) / x.std(ddof=1)
    wild = wild_cluster_bootstrap(zy, zx, regions, n_resamples=499, rng=3)
    assert res.pvalue == wild.pvalue and (res.ci_low, res.ci_high) == (wild.ci_low, wild.ci_high)
    rec = res.to_record()
    assert rec.test == "ols:wild_cluster" and rec.pvalue == res.pvalue and rec.pvalue_parametric == res.pvalue_cr1
    assert rec.effect == pytest.approx(res.slope**2)


# ----------------------------------------------------------------- equivalence, effect sizes


def test_equivalence_test_by_hand():
    from clustermodel.relationship import equivalence_test

    r, n, bound = 0.156, 19, 0.3
    z, se = math.atanh(r), 1 / math.sqrt(n - 3)
    p_upper = scipy.stats.norm.cdf((z - math.atanh(bound)) / se)  # H0: rho >= 0.3
    p_lower = 1 - scipy.stats.norm.cdf((z + math.atanh(bound)) / se)  # H0: rho <= -0.3
    res = equivalence_test(r, n, bound=bound)
    assert res.pvalue == pytest.approx(max(p_upper, p_lower), rel=1e-12)
    assert not res.equivalent
    # equivalence <=> the 90 % Fisher-z interval lies inside (-bound, bound)
    assert (res.ci_low, res.ci_high) == pytest.approx((math.tanh(z - 1.6448536 * se), math.tanh(z + 1.6448536 * se)), rel=1e-7)
    # the smallest bound these data call equivalent is where the TOST p equals alpha
    assert equivalence_test(r, n, bound=res.min_bound).pvalue == pytest.approx(0.05, rel=1e-9)
    big = equivalence_test(0.02, 2000, bound=0.1)
    assert big.equivalent and -0.1 < big.ci_low < big.ci_high < 0.1


def test_primary_conclusion_reads_the_intervals(small_result):
    eq = small_result.equivalence["computed"]
    prim = small_result.get(PRIMARY_TEST, "computed")
    assert eq.r == prim.statistic and eq.n == 19 and eq.bound == 0.3
    assert prim.ci_low < 0 < prim.ci_high and not eq.equivalent
    assert small_result.conclusions == {"computed": "inconclusive", "published": "inconclusive"}
    assert small_result.get("tost:region_mean", "computed").pvalue == eq.pvalue


def test_effect_sizes_by_hand(paper):
    x = evaluate(paper, PAPER_SPEC.replace(reference="sample")).cluster_index.values
    groups = paper.clusters["group"].values
    kw, an = industry_tests(x, groups, reference="sample", n_resamples=99, rng=1)
    labels = pd.unique(groups)
    ss_between = sum((groups == g).sum() * (x[groups == g].mean() - x.mean()) ** 2 for g in labels)
    ss_total = ((x - x.mean()) ** 2).sum()
    assert an.effect_name == "eta2" and an.effect == pytest.approx(ss_between / ss_total, rel=1e-10)
    # the interval's ends are the eta2 = lambda / (lambda + n) of the noncentrality parameters at which
    # the observed F sits at the 97.5 % and 2.5 % points of the noncentral F (0 when F is too small)
    k, n = len(labels), x.size
    for end, q in ((an.effect_low, 0.975), (an.effect_high, 0.025)):
        if end == 0:
            assert scipy.stats.f.cdf(an.statistic, k - 1, n - k) < q
            continue
        lam = end * n / (1 - end)
        assert scipy.stats.ncf.cdf(an.statistic, k - 1, n - k, lam) == pytest.approx(q, abs=1e-4)
    assert kw.effect_name == "eta2_H" and kw.effect == pytest.approx((kw.statistic - k + 1) / (n - k))  # unclipped
    # omega squared from the sums of squares (Hays), and the null mean of eta² from the Beta law
    ms_within = (ss_total - ss_between) / (n - k)
    assert an.effect_adjusted_name == "omega2"
    assert an.effect_adjusted == pytest.approx((ss_between - (k - 1) * ms_within) / (ss_total + ms_within), rel=1e-10)
    assert an.effect_null == pytest.approx(scipy.stats.beta((k - 1) / 2, (n - k) / 2).mean())
    # r squared of a correlation and its interval: the squared interval (0 when the interval holds 0)
    r = region_level_tests(*_xy_regions(paper), methods=("pearson",), n_resamples=199, rng=1)[0]
    assert r.effect == pytest.approx(r.statistic**2)
    assert (r.effect_low, r.effect_high) == pytest.approx((0.0, max(r.ci_low**2, r.ci_high**2)))


def _xy_regions(paper):
    ev = evaluate(paper)
    return ev.cluster_index.values, ev.region_index_of_cluster.values, paper.cluster_regions().astype(str)


# ----------------------------------------------------------------- influence


def test_influence_by_explicit_deletion(paper_xy):
    from clustermodel.relationship import influence

    x, y, regions = paper_xy
    inf = influence(x, y, regions)
    df = pd.DataFrame({"x": x, "y": y, "region": regions})
    means = df.groupby("region").agg(x=("x", "mean"), y=("y", "first"))
    zx, zy = (y - y.mean()) / y.std(ddof=1), (x - x.mean()) / x.std(ddof=1)
    X = sm.add_constant(zx)
    full = sm.OLS(zy, X).fit()
    # hand Cook's distance of the region-level regression: D_i = e_i^2 h_i / (p s^2 (1 - h_i)^2)
    zm = ((means["x"] - means["x"].mean()) / means["x"].std(ddof=1)).to_numpy()
    zv = ((means["y"] - means["y"].mean()) / means["y"].std(ddof=1)).to_numpy()
    Xr = np.column_stack([np.ones(len(zv)), zv])
    H = Xr @ np.linalg.inv(Xr.T @ Xr) @ Xr.T
    e = zm - H @ zm
    s2 = e @ e / (len(zv) - 2)
    cooks = e**2 * np.diag(H) / (2 * s2 * (1 - np.diag(H)) ** 2)
    for k, name in enumerate(inf.names):
        rest = means.drop(index=name)
        assert inf.r_without[k] == pytest.approx(np.corrcoef(rest["x"], rest["y"])[0, 1], abs=1e-12)
        keep = regions != name
        assert inf.r_units_without[k] == pytest.approx(np.corrcoef(x[keep], y[keep])[0, 1], abs=1e-12)
        refit = sm.OLS(zy[keep], X[keep]).fit()
        d = full.params - refit.params
        assert inf.dfbeta_units[k] == pytest.approx(d[1], abs=1e-12)
        assert inf.cooks_distance_units[k] == pytest.approx(d @ (X.T @ X) @ d / (2 * full.scale), rel=1e-10)
        assert inf.cooks_distance[k] == pytest.approx(cooks[means.index.get_loc(name)], rel=1e-10)
    k = int(np.argmax(np.abs(inf.r_without - inf.r)))
    assert inf.most_influential == inf.names[k] and inf.r_without_most == inf.r_without[k]
    assert inf.r == pytest.approx(np.corrcoef(means["x"], means["y"])[0, 1])
    # on the paper's data that is the region with regional index 2.0 (found from the data, not named in the code)
    assert means.loc[inf.most_influential, "y"] == means["y"].max()


def test_influence_follows_the_data_not_a_name():
    from clustermodel.relationship import influence

    x, y, regions = _synthetic(80, 12, 45, effect=0.5)
    names = np.unique(regions)
    target = names[3]
    y = np.where(regions == target, y + 5.0, y)  # one extreme higher-level unit
    x = np.where(regions == target, x + 8.0, x)
    assert influence(x, y, regions).most_influential == target
    relabel = {n: f"zz{i}" for i, n in enumerate(names[::-1])}
    assert influence(x, y, [relabel[r] for r in regions]).most_influential == relabel[target]


# ----------------------------------------------------------------- models


def test_random_intercept_on_a_balanced_design_equals_the_regression_of_means():
    from clustermodel.relationship import random_intercept_model

    # balanced (3 units per higher-level unit), regressor constant within: the GLS slope and its standard
    # error equal those of OLS on the higher-level means (while the variance estimate is off the boundary)
    rng = np.random.default_rng(46)
    G = 15
    codes = np.repeat(np.arange(G), 3)
    xg = rng.normal(size=G)
    y = 0.4 * xg[codes] + rng.normal(size=G)[codes] + 0.5 * rng.normal(size=codes.size)
    regions = np.array([f"g{k:02d}" for k in codes])
    res = random_intercept_model(y, xg[codes], regions)
    zx = (xg[codes] - xg[codes].mean()) / xg[codes].std(ddof=1)
    zy = (y - y.mean()) / y.std(ddof=1)
    means = pd.Series(zy).groupby(codes).mean().values
    ols = sm.OLS(means, sm.add_constant(zx[::3])).fit()
    assert not res.boundary and res.converged
    assert res.slope == pytest.approx(ols.params[1], rel=1e-5)
    # REML on balanced data gives sigma_a^2 + sigma^2 / m = the residual variance of the regression of means
    assert res.se == pytest.approx(ols.bse[1], rel=1e-4)


def test_weighted_region_regression_by_hand(paper_xy):
    from clustermodel.relationship import weighted_region_regression

    x, y, regions = paper_xy
    res = weighted_region_regression(x, y, regions)
    # the slope equals the unit-level OLS slope of the z-scores, i.e. the unit-level r
    assert res.slope == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    zx, zy = (y - y.mean()) / y.std(ddof=1), (x - x.mean()) / x.std(ddof=1)
    df = pd.DataFrame({"zx": zx, "zy": zy, "r": regions}).groupby("r").agg(zx=("zx", "first"), zy=("zy", "mean"), w=("zy", "size"))
    X = np.column_stack([np.ones(len(df)), df["zx"]])
    W = np.diag(df["w"].to_numpy(float))
    beta = np.linalg.solve(X.T @ W @ X, X.T @ W @ df["zy"].to_numpy())
    e = df["zy"].to_numpy() - X @ beta
    s2 = e @ W @ e / (len(df) - 2)
    assert res.se == pytest.approx(math.sqrt(s2 * np.linalg.inv(X.T @ W @ X)[1, 1]), rel=1e-10)
    assert res.df == len(df) - 2 == 17


# ----------------------------------------------------------------- index definition, rounding


def test_index_definition_sensitivity_is_batched_and_matches_one_at_a_time(paper):
    from clustermodel.relationship import index_definition_sensitivity, index_values

    specs = {"eq1": PAPER_SPEC, "quadratic": PAPER_SPEC.replace(aggregation="quadratic"), "zero": PAPER_SPEC.replace(negative="zero"), "sample": PAPER_SPEC.replace(reference="sample")}
    vals = {k: index_values(paper, s) for k, s in specs.items()}
    regions = paper.cluster_regions().astype(str)
    res = index_definition_sensitivity(np.stack([v[0] for v in vals.values()]), None, regions, labels=list(vals), region_indices=np.stack([v[1] for v in vals.values()]))
    for k, (ci, ri) in enumerate(vals.values()):
        df = pd.DataFrame({"x": ci, "y": ri, "r": regions}).groupby("r").agg(x=("x", "mean"), y=("y", "first"))
        assert res.r_region_mean[k] == pytest.approx(np.corrcoef(df["x"], df["y"])[0, 1], abs=1e-12)
        assert res.r_cluster[k] == pytest.approx(np.corrcoef(ci, ri)[0, 1], abs=1e-12)
    with pytest.raises(ClusterModelError, match="give the higher-level index: `region_index`"):
        index_definition_sensitivity(np.stack([v[0] for v in vals.values()]), None, regions)
    with pytest.raises(ClusterModelError, match="`labels` must name every one of the 4 alternatives"):
        index_definition_sensitivity(np.stack([v[0] for v in vals.values()]), vals["eq1"][1], regions, labels=["a"])


def test_rounding_range_contains_every_rounding_consistent_sample():
    from clustermodel.relationship import infer_decimals, rounding_range

    # 4 regions with one unit each: 8 values in a box; the optimum is checked against 4**8 grid points
    # (every corner and the two interior quartiles of each side) and 20000 random points
    x = np.array([0.3, 1.1, 0.8, 1.4])
    y = np.array([0.12, 0.47, 0.95, 0.66])
    regions = list("ABCD")
    assert (infer_decimals(x), infer_decimals(y)) == (1, 2)
    res = rounding_range(x, y, regions, cluster_decimals=1, region_decimals=2, rng=0)
    got = res.statistics[PRIMARY_TEST]
    steps = np.array([-1.0, -1 / 3, 1 / 3, 1.0])
    grid = np.array(list(itertools.product(steps, repeat=8)))
    rng = np.random.default_rng(47)
    pts = np.vstack([grid, rng.uniform(-1, 1, size=(20000, 8))])
    xs, ys = x + 0.05 * pts[:, :4], y + 0.005 * pts[:, 4:]
    r = weighted_correlation(xs, ys)
    assert got["low"] <= r.min() + 1e-12 and got["high"] >= r.max() - 1e-12
    assert got["high"] - r.max() < 2e-3 and r.min() - got["low"] < 2e-3  # and it is attained, not just a bound
    assert got["rounded"] == pytest.approx(np.corrcoef(x, y)[0, 1])


def test_rounding_range_on_the_published_values(small_result, paper):
    rr = small_result.rounding
    assert (rr.decimals_unit, rr.decimals_higher) == (1, 2)  # Table 5 and Table 6
    for name in (PRIMARY_TEST, "pearson:cluster"):
        s = rr.statistics[name]
        assert s["low"] < s["rounded"] < s["high"]
        assert s["rounded"] == pytest.approx(small_result.get(name, "published").statistic, abs=1e-12)


# ----------------------------------------------------------------- outputs and report words


def test_outputs_are_summaries_unless_draws_are_asked_for(paper):
    lean = relationship_analysis(paper, source="computed", n_resamples=199, rng=1)
    full = relationship_analysis(paper, source="computed", n_resamples=199, rng=1, keep_draws=True)
    assert lean.to_records() == full.to_records()
    assert not any(k.startswith("draws_") for k in lean.to_dataset().data_vars)
    ds = full.to_dataset()
    assert ds["draws_null"].sizes["draw_null"] == 199 and ds["draws_bootstrap"].sizes["draw_bootstrap"] == 199
    assert "draws" not in json.dumps(full.to_dict())


def _neutral_study(write_csv, n_units=30, n_regions=8, seed=48):
    from clustermodel.data import load_study

    rng = np.random.default_rng(seed)
    region = [f"R{k}" for k in rng.integers(0, n_regions, size=n_units)]
    region[:n_regions] = [f"R{k}" for k in range(n_regions)]
    rows = ["id,bloc,continent,a,b,c"] + [
        f"{i + 1},B{i % 3},{region[i]},{rng.gamma(2):.3f},{rng.gamma(2):.3f},{rng.gamma(2):.3f}" for i in range(n_units)
    ]
    units = write_csv("units.csv", "\n".join(rows) + "\n")
    weights = write_csv("weights.csv", "indicator,weight\na,0.4\nb,0.3\nc,0.3\n")
    higher = write_csv("higher.csv", "region,p,q\n" + "".join(f"R{k},{rng.gamma(2):.3f},{rng.normal():.3f}\n" for k in range(n_regions)))
    return load_study(units, weights, regions=higher, id_column="id", group_column="bloc", region_column="continent")


def test_report_speaks_the_study_nouns(write_csv):
    import re

    from clustermodel.nouns import Nouns
    from clustermodel.reporting.relationship import findings

    study = _neutral_study(write_csv)
    res = relationship_analysis(study, IndexSpec(normalisation="max", aggregation="quadratic"), source="computed", n_resamples=99, rng=3)
    nouns = Nouns(unit="country", group="bloc", higher="continent")
    text = markdown(res, nouns=nouns)
    found = findings(res, nouns=nouns)
    prose = re.sub(r"`[^`]*`", "", text + "\n".join(found)).replace("wild cluster bootstrap", "")
    for word in (r"\bclusters?\b", r"\bregions?\b", r"industr", r"Moscow", r"Table \d", r"\b19\b", r"3/14/8/0", r"trade"):
        assert not re.search(word, prose), word
    assert "continents" in text and "countries" in text and "bloc" in text
    # the section leads with the interval and the equivalence test, then the most influential continent
    lead = text.index("### What the interval says")
    assert lead < text.index("equivalence test") < text.index("### Influence") < text.index("### All tests")
    assert f"**{res.influence['computed'].most_influential}**" in text
    # every finding names its analysis (an identifier in backticks) and the values/spec it comes from
    for f in found:
        assert re.search(r"`[a-z_]+(:[\w=]+)?`", f) and ("computed values" in f or "published values" in f), f
    assert "equivalence" in found[0] and "interval" in found[0]
    assert res.influence["computed"].most_influential in found[1]


def test_paper_findings_name_the_influential_region_and_the_wild_p(small_result):
    from clustermodel.reporting.relationship import findings

    found = findings(small_result, nouns=PAPER_NOUNS)
    assert found[0].startswith("**Cluster–region relationship** (primary analysis `pearson:region_mean`, computed values, spec missing=zero, normalisation=max, reference=group")
    # with 19 regions no sample could pass the equivalence test: its p-value is no finding
    assert "could not succeed with 19 regions" in found[0] and "BCa interval" in found[0] and "not equivalent" not in found[0]
    inf = small_result.influence["computed"]
    assert f"without it r = {inf.r_without_most:.3f}" in found[1] and "leverage" in found[1]
    assert "wild cluster bootstrap p" in found[2] and "CR1" in found[2]
    assert "Rounding" in found[3] and "published values" in found[3]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"equivalence_bound": 1.5}, "`equivalence_bound` must lie in \\(0, 1\\)"),
        ({"equivalence_bound": "wide"}, "`equivalence_bound` must be a number"),
        ({"wild_weights": "mammen"}, "`wild_weights` must be one of"),
        ({"rounding": "yes"}, "`rounding` must be 'auto', a pair"),
        ({"alternatives": {"short": np.ones(3)}}, "alternative 'short' must give one index value per cluster \\(25\\)"),
    ],
)
def test_new_option_messages(paper, kwargs, match):
    with pytest.raises(ClusterModelError, match=match):
        relationship_analysis(paper, **{"n_resamples": 99, **kwargs})


def test_wild_and_simulation_messages():
    from clustermodel.relationship import clustered_size_simulation, equivalence_test, wild_cluster_bootstrap

    with pytest.raises(ClusterModelError, match="`groups` holds 2 cluster\\(s\\); the wild cluster bootstrap needs at least three"):
        wild_cluster_bootstrap([1.0, 2, 3, 4], [0.1, 0.2, 0.3, 0.5], list("AABB"))
    with pytest.raises(ClusterModelError, match="`weights` must be one of"):
        wild_cluster_bootstrap([1.0, 2, 3, 4], [0.1, 0.2, 0.3, 0.5], list("ABCD"), weights="normal")
    with pytest.raises(ClusterModelError, match="`icc` must lie in \\[0, 1\\)"):
        clustered_size_simulation([0.1, 0.5, 0.9], [1, 2, 1], icc=1.0)
    with pytest.raises(ClusterModelError, match="`cluster_counts` must hold one positive integer"):
        clustered_size_simulation([0.1, 0.5, 0.9], [1, 0, 1])
    with pytest.raises(ClusterModelError, match="`r` must lie strictly between -1 and 1"):
        equivalence_test(1.0, 19)


def test_equivalence_bound_attainable_with_n_pairs():
    from clustermodel.relationship import equivalence_test

    # at r = 0 the 90 % Fisher-z interval is +/- tanh(1.645 / sqrt(n - 3)): 19 pairs cannot establish |r| < 0.3
    res = equivalence_test(0.0, 19, bound=0.3)
    assert res.attainable_bound == pytest.approx(math.tanh(scipy.stats.norm.ppf(0.95) / 4))
    assert res.attainable_bound > 0.3 and not res.equivalent
    assert equivalence_test(0.0, 19, bound=res.attainable_bound * 1.001).equivalent


def test_fragility_recomputes_the_primary_test_without_the_most_influential_region(paper_xy):
    from clustermodel.relationship import fragility, influence

    x, y, regions = paper_xy
    inf = influence(x, y, regions)
    f = fragility(x, y, regions, inf.most_influential, n_resamples=499, coverage_samples=50, rng=3)
    keep = regions != inf.most_influential
    names = np.unique(regions[keep])
    means = np.array([x[keep][regions[keep] == g].mean() for g in names])
    values = np.array([y[keep][regions[keep] == g][0] for g in names])
    assert f.without_most.statistic == pytest.approx(scipy.stats.pearsonr(means, values).statistic, rel=1e-12)
    assert f.without_most.statistic == pytest.approx(inf.r_without_most, rel=1e-12)
    assert f.without_most.n == len(names) and f.without_most.ci_low < f.without_most.statistic < f.without_most.ci_high
    assert 0 < f.split.share_without < 1 and f.coverage.n_outer == 50
    with pytest.raises(ClusterModelError, match="most_influential"):
        fragility(x, y, regions, "Atlantis", n_resamples=99, coverage_samples=0)


def test_leverage_is_the_hat_value_of_the_region_regression(paper_xy):
    from clustermodel.relationship import influence

    x, y, regions = paper_xy
    inf = influence(x, y, regions)
    names = np.unique(regions)
    v = np.array([y[regions == g][0] for g in names])
    z = (v - v.mean()) / v.std(ddof=1)
    closed = 1 / len(v) + (z - z.mean()) ** 2 / ((z - z.mean()) ** 2).sum()  # simple regression's hat values
    assert inf.leverage == pytest.approx(closed, rel=1e-10)
    assert inf.leverage.sum() == pytest.approx(2.0)


def test_monte_carlo_error_of_the_bca_end_points_matches_their_spread_over_seeds(paper_xy):
    x, y, regions = paper_xy
    runs = [region_level_tests(x, y, regions, methods=("pearson",), n_resamples=1999, rng=s)[0] for s in range(40)]
    lows = np.array([t.ci_low for t in runs])
    highs = np.array([t.ci_high for t in runs])
    se_low = np.median([t.ci_low_mcse for t in runs])
    se_high = np.median([t.ci_high_mcse for t in runs])
    # 40 seeds: the sd itself is known to about 11 %; the order-statistic estimate leaves out the error of z0
    assert se_low == pytest.approx(lows.std(ddof=1), rel=0.4)
    assert se_high == pytest.approx(highs.std(ddof=1), rel=0.4)


def test_wild_bootstrap_monte_carlo_error_is_the_spread_over_reruns(small_result, paper_xy):
    m = small_result.mc_error["computed"]
    assert m["replicates"] == 10 and all(m[k] > 0 for k in ("pvalue", "ci_low", "ci_high"))
    # an independent estimate: reruns with other seeds spread by about as much (10 values: the sd known to ~25 %)
    x, y, regions = paper_xy
    lows = [clustered_ols(x, y, regions, n_resamples=199, rng=100 + k).ci_low for k in range(20)]
    assert m["ci_low"] == pytest.approx(np.std(lows, ddof=1), rel=0.6)
    assert "Monte Carlo error, the standard deviation over 10 runs" in small_result.summary()
