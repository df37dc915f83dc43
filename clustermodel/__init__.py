"""clustermodel: build, reproduce and stress-test a composite index.

``import clustermodel as cm`` gives one name per task (``docs/tutorial.md`` walks through them):

==========================  ==================================================================================
Data                        ``load_paper``, ``load_study``, ``load_structure``, ``load_spec``, ``Study``,
                            ``Structure``, ``IndexSpec``, ``PAPER_SPEC``, ``ScenarioThresholds``,
                            ``example_path`` (the shipped example data)
Index                       ``construct`` (steps 1-4 and their log), ``compute_scores`` (every node),
                            ``compute_index`` (the index), ``evaluate`` (index, ranks, scenarios)
Comparison with a paper     ``reproduce``
Robustness                  ``weight_sensitivity`` (Sobol' over weights and spec choices), ``sobol_indices``
                            (the generic estimator), ``weight_bootstrap``, ``cluster_bootstrap``
Relationship                ``relationship_analysis``
Audit                       ``data_availability``, ``indicator_statistics``, ``statistical_coherence``,
                            ``weight_importance``, ``optimise_weights``, ``element_removal``, ``compare_variants``,
                            ``outranking``, ``unit_profile``, ``audit_preset``, ``rank_uncertainty``
Everything at once          ``run_report`` (every analysis into one report folder), ``load_config``
Constants and errors        ``SCENARIOS``, ``ClusterModelError``, ``InputError``, ``ClusterModelWarning``
==========================  ==================================================================================

Every result has a short ``repr``, an HTML summary in a notebook, ``to_xarray()`` and ``to_frame()``.

The modules, one per pipeline stage: :mod:`clustermodel.data` (tables into xarray), :mod:`~clustermodel.structure`,
:mod:`~clustermodel.spec`, :mod:`~clustermodel.normalise`, :mod:`~clustermodel.aggregate`,
:mod:`~clustermodel.index`, :mod:`~clustermodel.scenarios`, :mod:`~clustermodel.reproduction` (Tables 5-6),
:mod:`~clustermodel.sensitivity` and :mod:`~clustermodel.sobol`, :mod:`~clustermodel.bootstrap`,
:mod:`~clustermodel.relationship`, :mod:`~clustermodel.workflow` and :mod:`~clustermodel.report` (the report).

The names are imported when first used (PEP 562), so ``import clustermodel`` stays fast and never imports
matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from clustermodel._errors import ClusterModelError, ClusterModelWarning, InputError
from clustermodel.spec import PAPER_SPEC, SCENARIOS, IndexSpec, ScenarioThresholds

from clustermodel._version import __version__

#: Public name -> (module, attribute): imported on first access by :func:`__getattr__`.
_LAZY = {
    "load_paper": ("clustermodel.data", "load_paper"),
    "example_path": ("clustermodel.data", "example_path"),
    "load_study": ("clustermodel.data", "load_study"),
    "load_spec": ("clustermodel.data", "load_spec"),
    "Study": ("clustermodel.data", "Study"),
    "load_structure": ("clustermodel.structure", "load_structure"),
    "Structure": ("clustermodel.structure", "Structure"),
    "construct": ("clustermodel.index", "construct"),
    "compute_scores": ("clustermodel.index", "compute_scores"),
    "compute_index": ("clustermodel.index", "compute_index"),
    "evaluate": ("clustermodel.scenarios", "evaluate"),
    "reproduce": ("clustermodel.reproduction", "reproduce"),
    "weight_sensitivity": ("clustermodel.sensitivity", "weight_sensitivity"),
    "sobol_indices": ("clustermodel.sobol", "sobol_indices"),
    "weight_bootstrap": ("clustermodel.bootstrap", "weight_bootstrap"),
    "cluster_bootstrap": ("clustermodel.bootstrap", "cluster_bootstrap"),
    "relationship_analysis": ("clustermodel.relationship", "relationship_analysis"),
    "data_availability": ("clustermodel.datastats", "data_availability"),
    "indicator_statistics": ("clustermodel.datastats", "indicator_statistics"),
    "statistical_coherence": ("clustermodel.coherence", "statistical_coherence"),
    "weight_importance": ("clustermodel.importance", "weight_importance"),
    "optimise_weights": ("clustermodel.importance", "optimise_weights"),
    "element_removal": ("clustermodel.removal", "element_removal"),
    "compare_variants": ("clustermodel.compare", "compare_variants"),
    "outranking": ("clustermodel.compare", "outranking"),
    "unit_profile": ("clustermodel.compare", "unit_profile"),
    "audit_preset": ("clustermodel.uncertainty", "audit_preset"),
    "rank_uncertainty": ("clustermodel.uncertainty", "rank_uncertainty"),
    "run_report": ("clustermodel.report", "run_study"),
    "load_config": ("clustermodel.config", "load_config"),
}

__all__ = [
    # data, structure and spec
    "load_paper",
    "example_path",
    "load_study",
    "load_structure",
    "load_spec",
    "Study",
    "Structure",
    "IndexSpec",
    "PAPER_SPEC",
    "ScenarioThresholds",
    "SCENARIOS",
    # the index
    "construct",
    "compute_scores",
    "compute_index",
    "evaluate",
    # analyses
    "reproduce",
    "weight_sensitivity",
    "sobol_indices",
    "weight_bootstrap",
    "cluster_bootstrap",
    "relationship_analysis",
    # the audit (docs/audit.md)
    "data_availability",
    "indicator_statistics",
    "statistical_coherence",
    "weight_importance",
    "optimise_weights",
    "element_removal",
    "compare_variants",
    "outranking",
    "unit_profile",
    "audit_preset",
    "rank_uncertainty",
    # everything at once
    "run_report",
    "load_config",
    # errors
    "ClusterModelError",
    "ClusterModelWarning",
    "InputError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access (PEP 562) and keep it."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'clustermodel' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names only (``dir(cm)`` and tab completion show the API, not ``Any`` or ``importlib``)."""
    return sorted(__all__)


if TYPE_CHECKING:  # static type checkers see the lazy names as ordinary imports
    from clustermodel.bootstrap import cluster_bootstrap, weight_bootstrap
    from clustermodel.config import load_config
    from clustermodel.data import Study, load_paper, load_spec, load_study
    from clustermodel.index import compute_index, compute_scores, construct
    from clustermodel.relationship import relationship_analysis
    from clustermodel.report import run_study as run_report
    from clustermodel.reproduction import reproduce
    from clustermodel.scenarios import evaluate
    from clustermodel.sensitivity import weight_sensitivity
    from clustermodel.sobol import sobol_indices
    from clustermodel.structure import Structure, load_structure
