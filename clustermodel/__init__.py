"""clustermodel: the cluster internationalization index, reproduced and stress-tested.

The pipeline, one module per stage:

- :mod:`clustermodel.data` reads indicator tables into xarray (``Study``);
- :mod:`clustermodel.normalise` divides by reference-set maxima;
- :mod:`clustermodel.aggregate` weights and aggregates (vectorised over weights);
- :mod:`clustermodel.index` is the labelled index function ``compute_index``;
- :mod:`clustermodel.scenarios` scores a whole study and sorts clusters into
  the four scenarios (``evaluate``);
- :mod:`clustermodel.reproduction` compares with the paper's Tables 5-6;
- :mod:`clustermodel.sensitivity` Sobol' indices over weights and method choices;
- :mod:`clustermodel.bootstrap` expert-panel and cluster bootstraps;
- :mod:`clustermodel.relationship` tests of the cluster-region relationship;
- :mod:`clustermodel.workflow` runs each analysis and writes its outputs;
- :mod:`clustermodel.report` assembles report.md/html and manifest.json.
"""

from clustermodel._errors import ClusterModelError, ClusterModelWarning, InputError
from clustermodel.spec import PAPER_SPEC, SCENARIOS, IndexSpec, ScenarioThresholds

__version__ = "0.1.0"

__all__ = [
    "ClusterModelError",
    "ClusterModelWarning",
    "InputError",
    "IndexSpec",
    "PAPER_SPEC",
    "ScenarioThresholds",
    "SCENARIOS",
    "__version__",
]
