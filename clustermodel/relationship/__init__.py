"""Stage 6: inference on the relationship between a unit-level index and a higher-level index.

A study scores units (the paper's 25 clusters) that sit inside higher-level
units (its 19 regions); the higher-level index takes one value per
higher-level unit, so the units of one higher-level unit are not independent
observations of it. This module tests whether the two indices are
associated, and whether the unit index differs between groups, with the
higher-level unit as the unit of inference.

Array functions (plain arrays and labels in, result objects out):

- correlations: :func:`region_level_tests` (the primary design: one pair per
  higher-level unit), :func:`region_block_tests`, :func:`cluster_level_tests`;
- regression: :func:`wild_cluster_bootstrap`, :func:`clustered_ols`,
  :func:`random_intercept_model`, :func:`weighted_region_regression`;
- reading the interval: :func:`equivalence_test`, :func:`influence`,
  :func:`rounding_range`, :func:`index_definition_sensitivity`;
- tables and groups: :func:`scenario_table`, :func:`industry_tests`;
- :func:`power_min_correlation`, :func:`adjust_pvalues`,
  :func:`clustered_size_simulation` (calibration of the clustered p-values).

:func:`relationship_analysis` runs them on a :class:`~clustermodel.data.Study`.
Results hold numbers and identifiers only; :mod:`clustermodel.reporting.relationship`
turns them into prose with the study's own nouns.

Memory is bounded: permutation and bootstrap statistics are evaluated in
chunks of resamples sized from :data:`MEMORY_BUDGET`, ranks come from one
sort per resample (never a units x units comparison per resample), and
Kendall's tau for more than :data:`KENDALL_DIRECT_MAX` units uses scipy's
O(n log n) algorithm one resample at a time. Results keep summaries; the
resampling distributions are kept only with ``keep_draws=True``.

The package, one job per module, each importing only those above it (and nothing the package's face):

- :mod:`~clustermodel.relationship.design`: the value sources, the primary tests, the roles of a result's rows;
- :mod:`~clustermodel.relationship.correlation`: weighted Pearson, Spearman and Kendall kernels over a batch;
- :mod:`~clustermodel.relationship.results`: the frozen result classes;
- :mod:`~clustermodel.relationship._checks`: input validation shared by the tests;
- :mod:`~clustermodel.relationship.resampling`: permutation and BCa tests at each level of the design;
- :mod:`~clustermodel.relationship.wild`: the wild cluster bootstrap;
- :mod:`~clustermodel.relationship.regression`: clustered OLS, its simulated size, mixed and weighted models;
- :mod:`~clustermodel.relationship.interval`: equivalence, influence, index definition, rounding;
- :mod:`~clustermodel.relationship.groups`: the scenario table and the group (industry) tests;
- :mod:`~clustermodel.relationship.power`: the smallest detectable effect and p-value adjustment;
- :mod:`~clustermodel.relationship.study`: the study-level analysis, :func:`relationship_analysis`.
"""

from __future__ import annotations

from clustermodel.relationship.design import (  # noqa: F401
    PRIMARY_GROUP_TEST,
    PRIMARY_TEST,
    ROLES,
    SOURCES,
)
from clustermodel.relationship.correlation import (  # noqa: F401
    CORRELATIONS,
    KENDALL_DIRECT_MAX,
    MEMORY_BUDGET,
    weighted_correlation,
)
from clustermodel.relationship.results import (  # noqa: F401
    ClusteredOLSResult,
    EquivalenceResult,
    IndexSensitivityResult,
    InfluenceResult,
    ModelResult,
    RoundingRangeResult,
    ScenarioTable,
    TestResult,
    WildBootstrapResult,
)
from clustermodel.relationship._checks import (  # noqa: F401
    region_values_of_clusters,
)
from clustermodel.relationship.resampling import (  # noqa: F401
    cluster_level_tests,
    region_block_tests,
    region_level_tests,
)
from clustermodel.relationship.wild import (  # noqa: F401
    wild_cluster_bootstrap,
)
from clustermodel.relationship.regression import (  # noqa: F401
    clustered_ols,
    clustered_size_simulation,
    random_intercept_model,
    weighted_region_regression,
)
from clustermodel.relationship.interval import (  # noqa: F401
    equivalence_test,
    index_definition_sensitivity,
    infer_decimals,
    influence,
    rounding_range,
)
from clustermodel.relationship.groups import (  # noqa: F401
    industry_tests,
    scenario_table,
)
from clustermodel.relationship.power import (  # noqa: F401
    adjust_pvalues,
    power_min_correlation,
)
from clustermodel.relationship.study import (  # noqa: F401
    Fragility,
    NegativePolicySensitivity,
    RelationshipResult,
    fragility,
    index_values,
    negative_policy_sensitivity,
    relationship_analysis,
)

__all__ = [
    "CORRELATIONS",
    "SOURCES",
    "PRIMARY_TEST",
    "PRIMARY_GROUP_TEST",
    "ROLES",
    "MEMORY_BUDGET",
    "KENDALL_DIRECT_MAX",
    "TestResult",
    "WildBootstrapResult",
    "ClusteredOLSResult",
    "ModelResult",
    "EquivalenceResult",
    "InfluenceResult",
    "IndexSensitivityResult",
    "RoundingRangeResult",
    "ScenarioTable",
    "NegativePolicySensitivity",
    "RelationshipResult",
    "weighted_correlation",
    "region_values_of_clusters",
    "cluster_level_tests",
    "region_level_tests",
    "region_block_tests",
    "wild_cluster_bootstrap",
    "clustered_ols",
    "random_intercept_model",
    "weighted_region_regression",
    "equivalence_test",
    "influence",
    "index_definition_sensitivity",
    "rounding_range",
    "infer_decimals",
    "scenario_table",
    "industry_tests",
    "power_min_correlation",
    "adjust_pvalues",
    "clustered_size_simulation",
    "index_values",
    "negative_policy_sensitivity",
    "relationship_analysis",
    "fragility",
    "Fragility",
]
