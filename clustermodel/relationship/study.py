"""The study-level analysis: the value sources of a Study, the primary test and its sensitivity analyses, the
conclusion, fragility, and :func:`relationship_analysis`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from clustermodel._background import compute
from clustermodel._display import ResultDisplay, fmt, narrate
from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_choice, check_positive_int
from clustermodel.diagnostics import CoverageResult, InfluenceSplit, bootstrap_coverage, bootstrap_split
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import ArrayLike, RNGLike
    from clustermodel.data import Study
    from clustermodel.nouns import Nouns
from clustermodel.relationship.design import PRIMARY_GROUP_TEST, PRIMARY_TEST, SOURCES
from clustermodel.relationship._checks import _check_bound, _check_relationship, _check_resampling, region_values_of_clusters
from clustermodel.relationship.correlation import CORRELATIONS, _batch_size
from clustermodel.relationship.groups import industry_tests, scenario_table
from clustermodel.relationship.interval import equivalence_test, index_definition_sensitivity, infer_decimals, influence, rounding_range
from clustermodel.relationship.power import adjust_pvalues, power_min_correlation
from clustermodel.relationship.regression import clustered_ols, random_intercept_model, weighted_region_regression
from clustermodel.relationship.resampling import _on_last, _permutation, _region_means, cluster_level_tests, region_block_tests, region_level_tests
from clustermodel.relationship.results import EquivalenceResult, IndexSensitivityResult, RoundingRangeResult, TestResult, _descriptor


# --------------------------------------------------------------------------- study level
@dataclass(frozen=True)
class _Source:
    """The values one analysis runs on."""

    name: str
    cluster_index: np.ndarray
    region_index_of_cluster: np.ndarray
    region_names: np.ndarray
    region_values: np.ndarray
    cluster_threshold: float
    region_threshold: float


def _study_regions(study):
    if study.regions is None or "region" not in study.clusters.coords:
        raise ClusterModelError("the study has no region table or no region column; load it with `regions=`")
    return study.cluster_regions().astype(str), study.regions["region"].values.astype(str)


def _thresholds(study, spec, thresholds):
    from clustermodel.scenarios import StudyModel

    model = StudyModel(study, spec, thresholds=thresholds)
    top = float(model.outputs(model.nominal_weights[None, :])["maximum"][0])
    return thresholds.cluster * top, model.region_threshold


def _computed_values(study, spec):
    from clustermodel.index import compute_index
    from clustermodel.scenarios import region_index

    ci = compute_index(study, spec=spec).values
    ri = region_index(study, spec).values
    return ci, ri


def index_values(study, spec: IndexSpec | None = None) -> tuple:
    """(unit index, higher-level index of every unit) of ``study`` under ``spec``: an alternative for
    :func:`index_definition_sensitivity` or ``relationship_analysis(alternatives=…)``."""
    spec = study.spec if spec is None else spec
    cluster_regions, region_names = _study_regions(study)
    ci, ri = _computed_values(study, spec)
    return ci, region_values_of_clusters(cluster_regions, region_names, ri)


def _source_values(study, source, spec, thresholds):
    cluster_regions, region_names = _study_regions(study)
    if source == "published":
        if "published_index" not in study.clusters or "published_index" not in study.regions:
            raise ClusterModelError(
                "the study has no published index in the cluster or region table; use source='computed' (--source computed)"
            )
        ci = study.clusters["published_index"].values.astype(float)
        ri = study.regions["published_index"].values.astype(float)
        for vals, what in ((ci, "cluster"), (ri, "region")):
            if not np.all(np.isfinite(vals)):
                raise ClusterModelError(f"the published {what} index has missing values; use source='computed' (--source computed)")
    else:
        ci, ri = _computed_values(study, spec)
    roc = region_values_of_clusters(cluster_regions, region_names, ri)
    c_thr, r_thr = _thresholds(study, spec, thresholds)
    return _Source(source, ci, roc, region_names, ri, c_thr, r_thr)


@dataclass(frozen=True)
class NegativePolicySensitivity:
    """The relationship under two treatments of negative values in the higher-level index.

    Attributes
    ----------
    policies : tuple of str
        ``('keep', 'zero')``: a negative value kept (the Euclidean
        aggregators square it, so it raises the index), or counted as zero.
    negative_indicators : tuple of str
        Higher-level indicators holding a negative value.
    region_index : dict policy -> ndarray (region,)
    region_names : ndarray
    correlations : dict policy -> dict
        Unit-level Pearson, Spearman and Kendall; the primary r with its
        permutation p-value; the block permutation p-value of the unit-level r.
    scenario_counts : dict policy -> dict
    clusters : list of dict
        One row per unit whose higher-level index differs between the
        policies: higher-level unit, index and scenario under each policy, changed.
    region_threshold : float
    """

    policies: tuple
    region_index: dict
    region_names: np.ndarray
    correlations: dict
    scenario_counts: dict
    clusters: list
    region_threshold: float
    negative_indicators: tuple = ()

    @property
    def changed_clusters(self) -> list:
        return [r["cluster"] for r in self.clusters if r["scenario_changed"]]

    def to_dict(self) -> dict:
        return {
            "policies": list(self.policies),
            "negative_indicators": list(self.negative_indicators),
            "region_threshold": self.region_threshold,
            "regions": [
                {"region": str(r), **{f"index_{p}": float(self.region_index[p][i]) for p in self.policies}}
                for i, r in enumerate(self.region_names)
                if not np.isclose(self.region_index[self.policies[0]][i], self.region_index[self.policies[1]][i])
            ],
            "correlations": self.correlations,
            "scenario_counts": self.scenario_counts,
            "clusters": self.clusters,
        }


def negative_policy_sensitivity(study, spec: IndexSpec | None = None, *, thresholds: ScenarioThresholds | None = None, n_resamples: int = 9999, rng=None) -> NegativePolicySensitivity:
    """Recompute the higher-level index with the alternative treatment of negative values.

    Both policies are scored with :func:`clustermodel.scenarios.evaluate`. For
    each: the correlations, the scenario counts and every affected unit's
    scenario.

    Parameters
    ----------
    study : Study
    spec : IndexSpec, optional
        Other choices (default: the paper's). Its ``negative`` field is
        overridden by each policy in turn.
    thresholds : ScenarioThresholds, optional
    n_resamples : int
        Permutations for the two p-values per policy.
    rng : numpy Generator, int or None

    Returns
    -------
    NegativePolicySensitivity
    """
    from clustermodel.scenarios import evaluate

    spec = study.spec if spec is None else spec
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=99)
    cluster_regions, region_names = _study_regions(study)
    region_values_of_clusters(cluster_regions, region_names, np.zeros(region_names.size))
    policies = ("keep", "zero")
    rngs = as_rng(rng).spawn(len(policies))
    evs, corr, counts = {}, {}, {}
    for p, r in zip(policies, rngs):
        ev = evaluate(study, spec.replace(negative=p), thresholds=thresholds)
        evs[p] = ev
        x, y = ev.cluster_index.values, ev.region_index_of_cluster.values
        r1, r2 = r.spawn(2)
        region = region_level_tests(x, y, cluster_regions, methods=("pearson",), n_resamples=n_resamples, confidence_level=0.95, rng=r1)[0]
        block_stat = CORRELATIONS["pearson"]
        _, _, codes, _, values = _check_relationship(x, y, cluster_regions)
        _, block_p, _, _ = _permutation((values,), _on_last(lambda rv: block_stat(x, rv[..., codes])), n_resamples=n_resamples, rng=r2, batch=_batch_size(x.size))
        corr[p] = {
            **{m: float(CORRELATIONS[m](x, y)) for m in CORRELATIONS},
            "region_pearson": region.statistic,
            "region_pearson_p": region.pvalue,
            "block_pearson_p": block_p,
        }
        counts[p] = {s: int(v) for s, v in zip(SCENARIOS, ev.scenario_counts.values)}
    a, b = policies
    ra, rb = evs[a].region_index_of_cluster.values, evs[b].region_index_of_cluster.values
    sa, sb = evs[a].scenario_labels(), evs[b].scenario_labels()
    rows = []
    for i, c in enumerate(study.clusters["cluster"].values):
        if np.isclose(ra[i], rb[i]):
            continue
        rows.append(
            {
                "cluster": c.item() if hasattr(c, "item") else c,
                "region": str(cluster_regions[i]),
                f"region_index_{a}": float(ra[i]),
                f"region_index_{b}": float(rb[i]),
                f"scenario_{a}": str(sa[i]),
                f"scenario_{b}": str(sb[i]),
                "scenario_changed": bool(sa[i] != sb[i]),
            }
        )
    ind = study.regions["indicators"]
    neg = ind.where(ind < 0).count(dim=[d for d in ind.dims if d != "indicator"])
    return NegativePolicySensitivity(
        policies=policies,
        region_index={p: evs[p].region_index.values for p in policies},
        region_names=region_names,
        correlations=corr,
        scenario_counts=counts,
        clusters=rows,
        region_threshold=float(evs[a].region_threshold),
        negative_indicators=tuple(str(k) for k, v in zip(neg["indicator"].values, neg.values) if v > 0),
    )


def _role(test: str) -> str:
    if test in (PRIMARY_TEST, PRIMARY_GROUP_TEST):
        return "primary"
    if test.startswith("tost:"):
        return "equivalence"
    if test.startswith("power:"):
        return "planning"
    if test.endswith(":cluster"):
        return "naive"
    return "sensitivity"


def _conclusion(primary: TestResult, eq: EquivalenceResult | None, alpha: float) -> str:
    """'association', 'equivalence', 'association_within_bound' or 'inconclusive', read off the intervals."""
    if primary.ci_low is not None and primary.ci_high is not None:
        assoc = primary.ci_low > 0 or primary.ci_high < 0
    else:
        assoc = primary.pvalue is not None and primary.pvalue < alpha
    equiv = eq is not None and eq.equivalent
    if assoc and equiv:
        return "association_within_bound"
    return "association" if assoc else ("equivalence" if equiv else "inconclusive")


@dataclass(frozen=True)
class Fragility:
    """How far the primary result rests on its most influential higher-level unit.

    Attributes
    ----------
    without_most : TestResult
        The primary test (permutation p and BCa interval) with the most
        influential higher-level unit's units removed.
    split : InfluenceSplit
        The primary bootstrap distribution of r split by whether that unit was drawn.
    coverage : CoverageResult or None
        Double-bootstrap coverage of the primary BCa interval when the observed
        pairs are the population (None when ``coverage_samples=0``).
    """

    without_most: TestResult
    split: InfluenceSplit
    coverage: CoverageResult | None

    def to_dict(self) -> dict:
        return {
            "without_most": self.without_most.to_dict(),
            "split": self.split.to_dict(),
            "coverage": None if self.coverage is None else self.coverage.to_dict(),
        }


def fragility(cluster_index, region_index, regions, most_influential: str, *, n_resamples: int = 9999, confidence_level: float = 0.95, coverage_samples: int = 1000, rng=None) -> Fragility:
    """The primary test without one higher-level unit, the bootstrap split by it, and the interval's coverage.

    Parameters
    ----------
    cluster_index, region_index, regions : array_like (n,)
    most_influential : str
        The higher-level unit to remove (:attr:`InfluenceResult.most_influential`).
    n_resamples, confidence_level : as for :func:`region_level_tests`
    coverage_samples : int
        Outer samples of the coverage check (0: no check).
    rng : numpy Generator, int or None
    """
    return _fragility(cluster_index, region_index, regions, most_influential, n_resamples, confidence_level, coverage_samples, as_rng(rng).spawn(3))


def _fragility(cluster_index, region_index, regions, most_influential, n_resamples, confidence_level, coverage_samples, r) -> Fragility:
    """:func:`fragility` with its three streams ``r`` already spawned."""
    x, y, codes, names, values = _check_relationship(cluster_index, region_index, regions)
    k = np.flatnonzero(names == str(most_influential))
    if k.size != 1:
        raise ClusterModelError(f"`most_influential` must be one of the higher-level units {names.tolist()}, got {most_influential!r}")
    k = int(k[0])
    keep = codes != k
    without = region_level_tests(x[keep], y[keep], np.asarray(regions)[keep], methods=("pearson",), n_resamples=n_resamples, confidence_level=confidence_level, rng=r[0])[0]
    xm = _region_means(x, codes, names.size)
    split = bootstrap_split(xm, values, k, n_resamples=n_resamples, rng=r[1])
    cov = None
    if coverage_samples:
        cov = bootstrap_coverage(xm, values, n_outer=coverage_samples, n_inner=min(n_resamples, 1999), confidence_level=confidence_level, rng=r[2])
    return Fragility(without_most=without, split=split, coverage=cov)


@dataclass(frozen=True, repr=False)
class RelationshipResult(ResultDisplay):
    """Every test of the relationship and of the group effect, with the numbers that qualify them.

    Attributes
    ----------
    tests : tuple of TestResult
        All rows, each with ``source``, ``role`` and (primary rows only)
        ``family`` and Holm-adjusted ``p_adjusted``.
    sources : dict name -> dict
        The values analysed per source: ``cluster_index``, ``region_index_of_cluster``,
        ``region_mean_cluster_index``, thresholds, scenario labels.
    ols : dict source -> ClusteredOLSResult
    scenario_tables : dict source -> dict level -> ScenarioTable
    sensitivity : NegativePolicySensitivity or None
    power : dict n -> smallest detectable r (80 % power, alpha 0.05, two-sided)
    clusters, cluster_names, cluster_regions, groups, region_names : arrays (labels)
    spec, thresholds : the choices used
    n_resamples, confidence_level : resampling options
    seed : int or None
    primary : str
        :data:`PRIMARY_TEST`.
    equivalence : dict source -> EquivalenceResult
    equivalence_bound : float
    influence : dict source -> InfluenceResult
    fragility : dict source -> Fragility
        How far the primary result rests on one higher-level unit and whether
        its interval covers in this design.
    mc_error : dict source -> dict
        Monte Carlo standard deviations of the wild cluster bootstrap's p-value
        and interval end points (``pvalue``, ``ci_low``, ``ci_high``), from
        ``replicates`` reruns with independent streams (what another seed moves them by).
    models : dict source -> dict kind -> ModelResult
    conclusions : dict source -> str
        Read off the primary interval and the equivalence test: ``association``
        (the interval excludes 0), ``equivalence`` (TOST rejects ``|rho| >=
        bound``), ``association_within_bound`` (both) or ``inconclusive``.
    rounding : RoundingRangeResult or None
        For the published values.
    index_sensitivity : IndexSensitivityResult or None
    skipped : tuple of dict
        Analyses that could not run: ``analysis``, ``source``, ``level`` and a
        ``reason`` code (``empty_margin``, ``fisher_z_undefined``,
        ``too_few_units``, ``fit_failed``, ``needs_computed_values``,
        ``no_groups``), with the numbers behind it (``n``, ``r``, ``side``,
        ``detail``).
    unused_regions : tuple of str
        Higher-level units without a unit (they do not enter).
    notes : tuple of str
    """

    tests: tuple
    sources: dict
    ols: dict
    scenario_tables: dict
    sensitivity: NegativePolicySensitivity | None
    power: dict
    clusters: np.ndarray
    cluster_names: np.ndarray
    cluster_regions: np.ndarray
    groups: np.ndarray
    region_names: np.ndarray
    spec: IndexSpec
    thresholds: ScenarioThresholds
    n_resamples: int
    confidence_level: float
    seed: int | None
    primary: str = PRIMARY_TEST
    equivalence: dict = field(default_factory=dict)
    equivalence_bound: float = 0.3
    influence: dict = field(default_factory=dict)
    fragility: dict = field(default_factory=dict)
    mc_error: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    conclusions: dict = field(default_factory=dict)
    rounding: RoundingRangeResult | None = None
    index_sensitivity: IndexSensitivityResult | None = None
    skipped: tuple = ()
    unused_regions: tuple = ()
    notes: tuple = ()

    def get(self, test: str, source: str | None = None) -> TestResult:
        """The test named ``test`` (for ``source``, default: the first source analysed)."""
        source = source or next(iter(self.sources))
        for t in self.tests:
            if t.test == test and (t.source == source or t.source is None):
                return t
        raise ClusterModelError(
            f"no test {test!r} for source {source!r}; available: {sorted({t.test for t in self.tests})}"
        )

    def _display_(self) -> tuple[str, list]:
        head = f"{len(self.clusters)} units in {len(set(map(str, self.cluster_regions)))} higher-level units, {len(self.tests)} tests"
        rows: list = []
        for src in self.sources:
            try:
                t = self.get(self.primary, src)
            except ClusterModelError:
                continue
            ci = f" [{fmt(t.ci_low)}, {fmt(t.ci_high)}]" if t.ci_low is not None and t.ci_high is not None else ""
            rows.append(
                (f"{src}: {self.primary}", f"r = {fmt(t.statistic)}{ci}, p = {fmt(t.pvalue)}, n = {t.n}: {self.conclusions.get(src, 'n/a')}")
            )
        rows.append(("resampling", f"{self.n_resamples} resamples, confidence level {self.confidence_level:g}, seed {self.seed}"))
        if self.skipped:
            rows.append(("skipped", len(self.skipped)))
        rows.append(("tables", "to_frame(): one row per test; summary(): the report"))
        return head, rows

    def to_records(self) -> list[dict]:
        """One dict per row: test, statistic, pvalue, ci_low, ci_high, n, unit, method, source, role, …"""
        return [t.to_dict() for t in self.tests]

    def to_dict(self) -> dict:
        return {
            "primary": self.primary,
            "primary_group_test": PRIMARY_GROUP_TEST,
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "n_resamples": self.n_resamples,
            "confidence_level": self.confidence_level,
            "seed": self.seed,
            "equivalence_bound": self.equivalence_bound,
            "conclusions": dict(self.conclusions),
            "records": self.to_records(),
            "equivalence": {s: e.to_dict() for s, e in self.equivalence.items()},
            "influence": {s: i.to_dict() for s, i in self.influence.items()},
            "fragility": {s: f.to_dict() for s, f in self.fragility.items()},
            "mc_error": dict(self.mc_error),
            "wild_cluster_bootstrap": {s: o.wild.to_dict() for s, o in self.ols.items()},
            "models": {s: {k: m.to_dict() for k, m in d.items()} for s, d in self.models.items()},
            "rounding": None if self.rounding is None else self.rounding.to_dict(),
            "index_sensitivity": None if self.index_sensitivity is None else self.index_sensitivity.to_dict(),
            "scenario_tables": {s: {u: t.to_dict() for u, t in d.items()} for s, d in self.scenario_tables.items()},
            "power_min_correlation": {str(k): v for k, v in self.power.items()},
            "negative_policy_sensitivity": None if self.sensitivity is None else self.sensitivity.to_dict(),
            "skipped": [dict(s) for s in self.skipped],
            "unused_regions": list(self.unused_regions),
            "notes": list(self.notes),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per test (:meth:`to_records`)."""
        import pandas as pd

        return pd.DataFrame(self.to_records())

    _narrator_ = "clustermodel.reporting.relationship:markdown"

    def summary(self, *, nouns: Nouns | None = None) -> str:
        """Markdown, from :func:`clustermodel.reporting.relationship.markdown` (the paper's nouns by default)."""
        from clustermodel.nouns import PAPER_NOUNS

        return narrate(self, nouns=nouns or PAPER_NOUNS)

    def to_dataset(self) -> xr.Dataset:
        """Tests along ``test_row`` (NaN = not applicable), values along ``source`` x ``cluster``,
        influence along ``source`` x ``higher_unit``; resampling draws only when they were kept."""
        from clustermodel._version import __version__

        recs = self.to_records()
        nan = lambda v: np.nan if v is None else float(v)  # noqa: E731
        srcs = list(self.sources)
        col = lambda key: ("test_row", [nan(r[key]) for r in recs])  # noqa: E731
        ds = xr.Dataset(
            {
                **{k: col(k) for k in ("statistic", "pvalue", "p_adjusted", "pvalue_parametric", "ci_low", "ci_high", "effect", "effect_low", "effect_high")},
                "n": ("test_row", [r["n"] for r in recs]),
                "primary": ("test_row", np.array([r["primary"] for r in recs], dtype=np.int8)),
                "cluster_index": (("source", "cluster"), np.stack([self.sources[s]["cluster_index"] for s in srcs])),
                "region_index_of_cluster": (("source", "cluster"), np.stack([self.sources[s]["region_index_of_cluster"] for s in srcs])),
                "cluster_scenario": (("source", "cluster"), np.stack([np.asarray(self.sources[s]["scenario"], dtype=str) for s in srcs])),
                "power_min_correlation": ("n_pairs", [self.power[k] for k in self.power]),
            },
            coords={
                "test": ("test_row", [r["test"] for r in recs]),
                "test_source": ("test_row", [r["source"] or "" for r in recs]),
                "unit": ("test_row", [r["unit"] for r in recs]),
                "role": ("test_row", [r["role"] for r in recs]),
                "family": ("test_row", [r["family"] or "" for r in recs]),
                "effect_name": ("test_row", [r["effect_name"] or "" for r in recs]),
                "method": ("test_row", [r["method"] for r in recs]),
                "source": srcs,
                "cluster": self.clusters,
                "name": ("cluster", self.cluster_names.astype(str)),
                "cluster_region": ("cluster", self.cluster_regions.astype(str)),
                "group": ("cluster", self.groups.astype(str)),
                "n_pairs": list(self.power),
            },
        )
        if self.influence:
            inf_src = [s for s in srcs if s in self.influence]
            frames = {s: self.influence[s].to_dataframe() for s in inf_src}
            for key in ("r_without", "dfbeta", "dfbetas", "cooks_distance", "r_units_without", "dfbeta_units", "cooks_distance_units"):
                ds[f"influence_{key}"] = (("influence_source", "higher_unit"), np.stack([frames[s][key].to_numpy(dtype=float) for s in inf_src]))
            ds = ds.assign_coords(influence_source=inf_src, higher_unit=self.influence[inf_src[0]].names.astype(str))
        if self.equivalence:
            eq_src = list(self.equivalence)
            ds["tost_pvalue"] = ("equivalence_source", [self.equivalence[s].pvalue for s in eq_src])
            ds = ds.assign_coords(equivalence_source=eq_src)
        if self.index_sensitivity is not None:
            isens = self.index_sensitivity
            ds["r_region_mean_by_definition"] = ("definition", isens.r_region_mean)
            ds["r_cluster_by_definition"] = ("definition", isens.r_cluster)
            ds = ds.assign_coords(definition=list(isens.labels))
        if self.rounding is not None:
            names = list(self.rounding.statistics)
            qs = ["rounded", "low", "high", "low_linear", "high_linear"]
            ds["rounding_range"] = (("rounding_statistic", "rounding_quantity"), [[self.rounding.statistics[k][q] for q in qs] for k in names])
            ds = ds.assign_coords(rounding_statistic=names, rounding_quantity=qs)
        draws = [t.draws for t in self.tests]
        if any(d for d in draws):
            for kind in ("null", "bootstrap"):
                arrs = [np.asarray((d or {}).get(kind, []), dtype=float).ravel() for d in draws]
                size = max(a.size for a in arrs)
                if size:
                    ds[f"draws_{kind}"] = (("test_row", f"draw_{kind}"), np.stack([np.pad(a, (0, size - a.size), constant_values=np.nan) for a in arrs]))
        if self.sensitivity is not None:
            sens = self.sensitivity
            ds["region_index_by_negative_policy"] = (
                ("negative_policy", "region"),
                np.stack([sens.region_index[p] for p in sens.policies]),
            )
            ds = ds.assign_coords(negative_policy=list(sens.policies), region=sens.region_names.astype(str))
            ds["scenario_counts_by_negative_policy"] = (
                ("negative_policy", "scenario"),
                np.array([[sens.scenario_counts[p][s] for s in SCENARIOS] for p in sens.policies]),
            )
            ds = ds.assign_coords(scenario=list(SCENARIOS))
        ds["p_adjusted"].attrs["description"] = "Holm-adjusted within `family` (the primary tests of the study's claims)"
        ds.attrs.update(self.spec.to_attrs())
        ds.attrs.update({f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()})
        ds.attrs.update(
            {
                "seed": "none" if self.seed is None else int(self.seed),
                "n_resamples": int(self.n_resamples),
                "confidence_level": float(self.confidence_level),
                "primary_test": self.primary,
                "primary_group_test": PRIMARY_GROUP_TEST,
                "equivalence_bound": float(self.equivalence_bound),
                "clustermodel_version": __version__,
            }
        )
        for s, c in self.conclusions.items():
            ds.attrs[f"conclusion_{s}"] = c
        return ds


def _high_flags(src: _Source, codes, n_groups):
    ch = src.cluster_index >= src.cluster_threshold
    rh = src.region_index_of_cluster >= src.region_threshold
    means = _region_means(src.cluster_index, codes, n_groups)
    region_vals = np.zeros(n_groups)
    region_vals[codes] = src.region_index_of_cluster
    return ch, rh, means >= src.cluster_threshold, region_vals >= src.region_threshold


def _alternatives(alternatives, n):
    """{label: (cluster index, higher-level index of each unit or None)} from the caller's mapping."""
    out = {}
    for label, value in dict(alternatives).items():
        if isinstance(value, tuple) and len(value) == 2:
            ci, ri = np.asarray(value[0], dtype=float), np.asarray(value[1], dtype=float)
        else:
            ci, ri = np.asarray(value, dtype=float), None
        if ci.shape != (n,) or (ri is not None and ri.shape != (n,)):
            raise ClusterModelError(
                f"alternative {label!r} must give one index value per cluster ({n}), or a pair (cluster index, "
                "regional index of each cluster)"
            )
        out[str(label)] = (ci, ri)
    return out


def relationship_analysis(
    study: Study,
    spec: IndexSpec | None = None,
    *,
    source: str = "both",
    thresholds: ScenarioThresholds | None = None,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    equivalence_bound: float = 0.3,
    wild_weights: str = "auto",
    alternatives: Mapping[str, ArrayLike | tuple[ArrayLike, ArrayLike]] | None = None,
    rounding: Literal["auto"] | tuple[int, int] | None = "auto",
    coverage_samples: int = 1000,
    keep_draws: bool = False,
    rng: RNGLike = None,
) -> RelationshipResult:
    """Every test of the relationship between the unit index and the higher-level index, and of the group effect.

    For each value source: the primary test (:data:`PRIMARY_TEST`, one pair
    per higher-level unit) with its BCa interval, the TOST equivalence test
    against ``|rho| >= equivalence_bound`` and the conclusion read off both;
    the influence of every higher-level unit; as sensitivity analyses the
    rank correlations, the block permutation / cluster bootstrap, the OLS
    with a wild cluster bootstrap p (CR1 kept as a reference), a
    random-intercept model and a weighted higher-level regression, Fisher's
    test of the scenario table; the naive unit-level tests for comparison;
    Kruskal–Wallis and ANOVA by group with effect sizes. Only the primary
    tests of the study's claims (the relationship, and the group effect
    under whole-sample normalisation) form a Holm family. For computed values
    also the sensitivity to the treatment of negative values; for published
    values the range of r over the rounding of the printed values; for
    ``alternatives`` r under each alternative index definition.

    Parameters
    ----------
    study : Study
        Needs a region table (and the published indices for ``source='published'``).
    spec : IndexSpec, optional
        Spec of the recomputed index (default: the paper's).
    source : {'both', 'computed', 'published'}
    thresholds : ScenarioThresholds, optional
    n_resamples : int
        Permutations and bootstrap resamples for every test (at least 99).
    confidence_level : float
    equivalence_bound : float in (0, 1)
        Bound on |rho| of the equivalence test (default 0.3).
    wild_weights : {'auto', 'rademacher', 'webb'}
        See :func:`wild_cluster_bootstrap`.
    alternatives : mapping label -> array (n,) or (array (n,), array (n,)), optional
        Alternative unit indices (optionally with their higher-level index of
        every unit), e.g. from :func:`index_values` under other specs.
    rounding : 'auto', (int, int) or None
        Decimals of the published unit and higher-level indices: inferred
        from the values (``'auto'``), given, or no rounding analysis.
    coverage_samples : int
        Outer samples of the double-bootstrap coverage check of the primary
        BCa interval (:func:`fragility`; 0 skips it).
    keep_draws : bool
        Keep the permutation and bootstrap distributions (larger outputs).
    rng : numpy Generator, int or None
        Independent streams are spawned for every test in a fixed order, so
        the same seed gives the same p-values and intervals.

    Returns
    -------
    RelationshipResult

    Raises
    ------
    ClusterModelError
        For a constant index, fewer than three regions, a cluster whose
        region is not in the region table, a missing published index, or a
        bad option.

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> res = relationship_analysis(load_paper(), source="computed", n_resamples=199, rng=1)
    >>> res.get("pearson:region_mean").n
    19
    """
    spec = study.spec if spec is None else spec
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    check_choice(source, "source", ("both", *SOURCES))
    check_choice(wild_weights, "wild_weights", ("auto", "rademacher", "webb"))
    n_resamples, confidence_level = _check_resampling(n_resamples, confidence_level)
    equivalence_bound = _check_bound(equivalence_bound)
    if not (rounding is None or rounding == "auto" or (isinstance(rounding, (tuple, list)) and len(rounding) == 2)):
        raise ClusterModelError(f"`rounding` must be 'auto', a pair (cluster decimals, region decimals) or None, got {rounding!r}")
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    rng = as_rng(rng)
    alpha = round(1 - confidence_level, 12)
    names = list(SOURCES) if source == "both" else [source]
    data = {s: _source_values(study, s, spec, thresholds) for s in names}
    cluster_regions, _ = _study_regions(study)
    alts = _alternatives(alternatives, cluster_regions.size) if alternatives else {}
    groups = study.clusters["group"].values.astype(str) if study.has_groups else None
    region_names, codes = np.unique(cluster_regions, return_inverse=True)
    G = region_names.size
    tests, sources, ols, tables, skipped = [], {}, {}, {}, []
    equivalence, infl, models, conclusions = {}, {}, {}, {}
    streams = rng.spawn(len(names) + 1)
    extra = rng.spawn(2)  # rounding, fragility
    fragile_streams = dict(zip(names, extra[1].spawn(len(names))))
    fragile, mc_error, checks = {}, {}, {}
    for s, stream in zip(names, streams):
        src = data[s]
        x, y = src.cluster_index, src.region_index_of_cluster
        r = stream.spawn(4)
        r_wild = stream.spawn(1)[0]
        kw = dict(n_resamples=n_resamples, confidence_level=confidence_level, keep_draws=keep_draws)
        ols[s] = clustered_ols(x, y, cluster_regions, weights=wild_weights, rng=r_wild, **kw)
        if G >= 4:
            infl[s] = influence(x, y, cluster_regions)
        # the fragility checks and the wild bootstrap's reruns are the longest simulations and depend on nothing
        # below: in a report they run in a child process while the other tests go on (same streams, same numbers)
        frag_streams = fragile_streams[s].spawn(3) if G >= 5 else None
        checks[s] = compute(
            _simulation_checks, x, y, cluster_regions, infl[s].most_influential if G >= 5 else None, ols[s], n_resamples,
            confidence_level, coverage_samples, wild_weights, frag_streams, fragile_streams[s].spawn(MC_REPLICATES - 1),
            what=f"fragility and Monte Carlo error of the {s} relationship",
        )
        rel = []
        rel += region_level_tests(x, y, cluster_regions, rng=r[0], **kw)
        rel += region_block_tests(x, y, cluster_regions, rng=r[1], **kw)
        rel.append(ols[s].to_record())
        models[s] = {}
        for kind, fn in (("random_intercept", random_intercept_model), ("weighted_region_mean", weighted_region_regression)):
            try:
                models[s][kind] = fn(x, y, cluster_regions, confidence_level=confidence_level)
            except (np.linalg.LinAlgError, ValueError) as exc:
                skipped.append({"analysis": kind, "source": s, "level": "region", "reason": "fit_failed", "detail": str(exc).split("\n")[0]})
                continue
            rel.append(models[s][kind].to_record())
        rel += cluster_level_tests(x, y, cluster_regions, rng=r[2], **kw)
        ch, rh, ch_region, rh_region = _high_flags(src, codes, G)
        tables[s] = {}
        for unit, c_high, r_high in (("cluster", ch, rh), ("region", ch_region, rh_region)):
            try:
                tables[s][unit] = scenario_table(c_high, r_high, unit=unit, confidence_level=confidence_level)
            except ClusterModelError as exc:  # an empty margin: record it, keep the other tests
                side = "cluster" if (c_high.all() or not c_high.any()) else "region"
                skipped.append({"analysis": "fisher", "source": s, "level": unit, "reason": "empty_margin", "side": side, "detail": str(exc)})
                continue
            rel.append(tables[s][unit].to_record())
        prim = next(t for t in rel if t.test == PRIMARY_TEST)
        eq = None
        if G >= 4 and abs(prim.statistic) < 1:
            eq = equivalence[s] = equivalence_test(prim.statistic, G, bound=equivalence_bound, alpha=alpha)
            rel.append(eq.to_record())
        else:
            skipped.append({"analysis": "equivalence", "source": s, "level": "region", "reason": "fisher_z_undefined", "n": int(G), "r": float(prim.statistic)})
        conclusions[s] = _conclusion(prim, eq, alpha)
        if G < 4:
            skipped.append({"analysis": "influence", "source": s, "level": "region", "reason": "too_few_units", "n": int(G)})
        ind = []
        if groups is not None and np.unique(groups).size < 2:
            skipped.append({"analysis": "group_tests", "source": s, "level": "group", "reason": "too_few_groups", "n": int(np.unique(groups).size)})
        elif groups is not None:
            # the published unit index was normalised within groups; recomputed values under both reference sets
            refs = ("group", "sample") if s == "computed" else ("group",)
            for ref, g in zip(refs, r[3].spawn(len(refs))):
                vals = x if s == "published" else _computed_values(study, spec.replace(reference=ref))[0]
                ind += industry_tests(vals, groups, reference=ref, n_resamples=n_resamples, confidence_level=confidence_level, rng=g)
        rows = [t.replace(source=s, role=_role(t.test), primary=_role(t.test) == "primary") for t in rel + ind]
        tests += _adjust_primary(rows, family=f"claims/{s}")
        sources[s] = {
            "cluster_index": x,
            "region_index_of_cluster": y,
            "region_mean_cluster_index": _region_means(x, codes, G),
            "cluster_threshold": src.cluster_threshold,
            "region_threshold": src.region_threshold,
            "scenario": np.asarray(SCENARIOS, dtype=object)[np.where(ch, np.where(rh, 0, 1), np.where(rh, 3, 2))],
        }
    sizes = sorted({int(cluster_regions.size), int(G)}, reverse=True)
    power = {n_: power_min_correlation(n_) for n_ in sizes if n_ >= 4}
    for n_ in sizes:
        if n_ < 4:
            skipped.append({"analysis": "power", "source": None, "level": "cluster" if n_ == cluster_regions.size else "region", "reason": "fisher_z_undefined", "n": int(n_)})
    for n_, r_ in power.items():
        tests.append(
            TestResult(
                test=f"power:min_r_n{n_}",
                statistic=r_,
                pvalue=None,
                ci_low=None,
                ci_high=None,
                n=n_,
                unit="cluster" if n_ == cluster_regions.size else "region",
                method=_descriptor(quantity="min_abs_r", power=0.8, alpha=0.05, approximation="fisher_z"),
                role="planning",
            )
        )
    sens = None
    if "computed" in names:
        sens = negative_policy_sensitivity(study, spec, thresholds=thresholds, n_resamples=n_resamples, rng=streams[-1])
    else:
        skipped.append({"analysis": "negative_policy", "source": None, "level": None, "reason": "needs_computed_values"})
    if groups is None:
        skipped.append({"analysis": "group_tests", "source": None, "level": "cluster", "reason": "no_groups"})
    rounding_res = None
    if "published" in names and rounding is not None:
        pub = data["published"]
        dec = (infer_decimals(pub.cluster_index), infer_decimals(pub.region_values)) if rounding == "auto" else tuple(int(d) for d in rounding)
        rounding_res = rounding_range(pub.cluster_index, pub.region_index_of_cluster, cluster_regions, cluster_decimals=dec[0], region_decimals=dec[1], rng=extra[0])
    isens = None
    if alts:
        base = data[names[0]]
        labels = [f"analysed ({names[0]})"] + list(alts)
        X = np.stack([base.cluster_index] + [a[0] for a in alts.values()])
        Y = np.stack([base.region_index_of_cluster] + [a[1] if a[1] is not None else base.region_index_of_cluster for a in alts.values()])
        isens = index_definition_sensitivity(X, None, cluster_regions, labels=labels, region_indices=Y)
    for s in names:
        frag, mc_error[s] = checks[s].result()
        if frag is not None:
            fragile[s] = frag
    unused = tuple(sorted(set(study.regions["region"].values.astype(str)) - set(region_names)))
    return RelationshipResult(
        tests=tuple(tests),
        sources=sources,
        ols=ols,
        scenario_tables=tables,
        sensitivity=sens,
        power=power,
        clusters=study.clusters["cluster"].values,
        cluster_names=study.clusters["name"].values if "name" in study.clusters.coords else study.clusters["cluster"].values.astype(str),
        cluster_regions=cluster_regions,
        groups=groups if groups is not None else np.full(cluster_regions.size, ""),
        region_names=region_names,
        spec=spec,
        thresholds=thresholds,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        seed=seed,
        equivalence=equivalence,
        equivalence_bound=equivalence_bound,
        influence=infl,
        fragility=fragile,
        mc_error=mc_error,
        models=models,
        conclusions=conclusions,
        rounding=rounding_res,
        index_sensitivity=isens,
        skipped=tuple(skipped),
        unused_regions=unused,
    )


#: Reruns of the wild cluster bootstrap that estimate its Monte Carlo error.
MC_REPLICATES = 10


def _simulation_checks(x, y, regions, most_influential, first, n_resamples, confidence_level, coverage_samples, weights, fragility_streams, mc_streams):
    """(:func:`fragility` without ``most_influential`` or None when it is None, :func:`_wild_mc_error`), each on its
    own pre-spawned streams."""
    frag = None
    if most_influential is not None:
        frag = _fragility(x, y, regions, most_influential, n_resamples, confidence_level, coverage_samples, fragility_streams)
    mc = _wild_mc_error(x, y, regions, first, n_resamples=n_resamples, confidence_level=confidence_level, weights=weights, streams=mc_streams)
    return frag, mc


def _wild_mc_error(x, y, regions, first, *, n_resamples, confidence_level, weights, streams) -> dict:
    """Standard deviations of the wild bootstrap's p and end points over reruns, one per stream of ``streams``
    (``MC_REPLICATES - 1`` of them)."""
    w = first.wild
    if w.enumerated:  # every sign vector: no Monte Carlo error
        return {"replicates": 0, "pvalue": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    runs = [clustered_ols(x, y, regions, confidence_level=confidence_level, n_resamples=n_resamples, weights=weights, rng=g) for g in streams]
    out = {"replicates": MC_REPLICATES}
    for key in ("pvalue", "ci_low", "ci_high"):
        vals = np.array([getattr(first, key)] + [getattr(r, key) for r in runs], dtype=float)
        out[key] = float(np.std(vals, ddof=1)) if np.all(np.isfinite(vals)) else None
    return out


def _adjust_primary(rows, *, family):
    """Holm within the family of primary tests; other rows keep ``p_adjusted = None``."""
    idx = [i for i, t in enumerate(rows) if t.role == "primary" and t.pvalue is not None]
    adj = adjust_pvalues([rows[i].pvalue for i in idx], method="holm")
    rows = list(rows)
    for i, a in zip(idx, adj):
        rows[i] = rows[i].replace(family=family, p_adjusted=float(a))
    return rows
