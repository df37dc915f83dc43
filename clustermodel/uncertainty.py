"""The JRC's standard uncertainty set as one preset, and the distribution of every unit's rank under it.

An index audit varies the construction choices together and reports each unit's median rank with its 5-95 %
interval (Saisana, Saltelli & Tarantola 2005; the JRC's audits; COINr ``get_sensitivity`` and
``plot_uncertainty``). :func:`audit_preset` writes that set down for a study, every alternative named:

- **imputation**: available-case aggregation (no imputation, ``missing = "rescale"``), the mean, the median;
- **normalisation**: min-max, z-score, percentile rank;
- **aggregation**: arithmetic and geometric means at every level;
- **weights**: each weight times 1 ± 25 %, uniformly (:data:`AUDIT_DELTA`), renormalised within its parent;
- **leaving one element out**: none, or one child of the index (a pillar; an indicator of a one-level index).

Each option of a factor is equally plausible (each trigger's uniform input picks one option with probability
1/k), and the study's own choice is always among them. Min-max and rank are mapped onto [1, 100]
(:data:`AUDIT_RANGE`, COINr's usual scale) in every run, so that a geometric mean is defined for every unit (on
[0, 1] the worst unit on any indicator would score 0 and tie with every other such unit); arithmetic means rank
units the same on either scale, and the result says how many nominal ranks the change of scale moves. A
normaliser that cannot feed one of the aggregations on this study (z-scores are negative, a geometric mean is
not defined for them) is left out, with the reason.

:func:`rank_uncertainty` runs the preset (or any trigger set) by plain Monte Carlo and summarises each unit's rank;
the Sobol' indices of the same factors come from :func:`clustermodel.sensitivity.weight_sensitivity` with the same
triggers. Numbers and codes only; :mod:`clustermodel.reporting.sobol` narrates them.

References
----------
Saisana, M., Saltelli, A. and Tarantola, S. (2005). Uncertainty and sensitivity analysis techniques as tools for the
quality assessment of composite indicators. *Journal of the Royal Statistical Society A* 168(2), 307-323.
https://doi.org/10.1111/j.1467-985X.2005.00350.x
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._display import ResultDisplay, fmt
from clustermodel._errors import ClusterModelError
from clustermodel._validation import check_number
from clustermodel.index import _py, compute_index, construct, rank
from clustermodel.sensitivity import EXCLUDE, weight_model

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import RNGLike
    from clustermodel.data import Study
    from clustermodel.spec import IndexSpec, ScenarioThresholds

__all__ = ["AUDIT_DELTA", "AUDIT_RANGE", "AUDIT_FACTORS", "AuditPreset", "audit_preset", "RankUncertainty", "rank_uncertainty"]

#: Largest relative change of a weight in the preset.
AUDIT_DELTA = 0.25
#: The scale of min-max and rank in every run of the preset.
AUDIT_RANGE = (1.0, 100.0)
#: The preset's factors and their candidate options (the study's own choice is added first).
AUDIT_FACTORS = {
    "missing": ("rescale", "mean", "median"),
    "normalisation": ("minmax", "zscore", "rank"),
    "aggregation": ("arithmetic", "geometric"),
}


@dataclass(frozen=True, repr=False)
class AuditPreset(ResultDisplay):
    """The standard uncertainty set for one study.

    Attributes
    ----------
    spec : IndexSpec
        The nominal spec of the analysis: the study's, min-max and rank mapped onto :data:`AUDIT_RANGE`.
    triggers : dict
        Factor -> options (spec fields and ``exclude``), each option equally plausible.
    distribution, delta : str, float
        The weights' distribution (``'uniform'``, ± ``delta``).
    dropped : dict
        ``factor=option`` -> why it was left out.
    rank_changes : int
        Units whose nominal rank differs between the study's spec and :attr:`spec` (the change of scale).
    """

    spec: object
    triggers: dict
    distribution: str
    delta: float
    dropped: dict
    rank_changes: int

    def to_dict(self) -> dict:
        return {
            "spec": self.spec.to_dict(),
            "triggers": {k: [list(o) if isinstance(o, tuple) else o for o in v] for k, v in self.triggers.items()},
            "weights": {"distribution": self.distribution, "delta": self.delta},
            "plausibility": "each option of a factor equally likely",
            "dropped": dict(self.dropped),
            "rank_changes": self.rank_changes,
        }

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        rows = [{"factor": k, "option": str(o), "plausibility": 1 / len(v)} for k, v in self.triggers.items() for o in v]
        rows.append({"factor": "weights", "option": f"{self.distribution} ±{self.delta:g}", "plausibility": 1.0})
        return pd.DataFrame(rows)

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset.from_dataframe(self.to_dataframe())

    def _display_(self):
        return "the audit's uncertainty set", [(k, ", ".join(map(str, v))) for k, v in self.triggers.items()]


def _unique(items):
    out = []
    for v in items:
        if v not in out:
            out.append(v)
    return out


def audit_preset(study: Study, spec: IndexSpec | None = None) -> AuditPreset:
    """The standard set of uncertainty factors for ``study`` (see the module docstring).

    Parameters
    ----------
    study : Study
    spec : IndexSpec, optional
        Default the study's.

    Returns
    -------
    AuditPreset
    """
    spec = study.spec if spec is None else spec
    base = spec.replace(normalised_range=AUDIT_RANGE) if spec.normalised_range == (0.0, 1.0) else spec
    dropped = {}

    def computes(s, label):
        try:
            compute_index(study, spec=s, construction=construct(study, s, warn=False))
            return True
        except ClusterModelError as exc:
            dropped[label] = str(exc)
            return False

    triggers = {}
    miss = [o for o in _unique([spec.missing, *AUDIT_FACTORS["missing"]]) if o == spec.missing or computes(base.replace(missing=o), f"missing={o}")]
    aggs = _unique([spec.aggregation, *AUDIT_FACTORS["aggregation"]])
    norms = []
    for o in _unique([spec.normalisation, *AUDIT_FACTORS["normalisation"]]):
        ok = all(computes(base.replace(normalisation=o, aggregation=a), f"normalisation={o}") for a in aggs)
        if ok or o == spec.normalisation:
            norms.append(o)
        if not ok and o == spec.normalisation:  # the study's own normaliser cannot feed an alternative aggregation
            aggs = [a for a in aggs if computes(base.replace(aggregation=a), f"aggregation={a}")]
    for field, opts in (("missing", miss), ("normalisation", norms), ("aggregation", aggs)):
        if len(opts) > 1:
            triggers[field] = tuple(opts)
    root_kids = study.structure.children(study.structure.root)
    if len(root_kids) > 1:
        triggers[EXCLUDE] = ("none", *root_kids)
    nominal = rank(compute_index(study, spec=spec, construction=construct(study, spec, warn=False))).values
    moved = rank(compute_index(study, spec=base, construction=construct(study, base, warn=False))).values
    return AuditPreset(
        spec=base,
        triggers=triggers,
        distribution="uniform",
        delta=AUDIT_DELTA,
        dropped={k: v for k, v in dropped.items() if not any(k == f"{f}={o}" for f, opts in triggers.items() for o in opts)},
        rank_changes=int(np.sum(nominal != moved)),
    )


@dataclass(frozen=True, repr=False)
class RankUncertainty(ResultDisplay):
    """Each unit's rank over a Monte Carlo sample of the uncertainty factors.

    Attributes
    ----------
    units : tuple
    nominal, median, low, high, mean : ndarray (n_units,)
        Nominal rank (under the analysis's nominal spec and weights), median, the ``(1 - level)/2`` and
        ``(1 + level)/2`` quantiles and the mean of the rank over the sample.
    level : float
    n_samples : int
    triggers : dict
    seed : int or None
    names : tuple
        The units' names in the order of ``units`` (empty when the study has none), for figures.
    """

    units: tuple
    nominal: np.ndarray
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    mean: np.ndarray
    level: float
    n_samples: int
    triggers: dict
    seed: object = None
    names: tuple = ()

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {"nominal_rank": self.nominal, "median_rank": self.median, "rank_low": self.low, "rank_high": self.high, "mean_rank": self.mean},
            index=pd.Index(self.units, name="unit"),
        )

    def to_dataset(self) -> xr.Dataset:
        ds = xr.Dataset.from_dataframe(self.to_dataframe())
        ds.attrs.update({"level": self.level, "n_samples": self.n_samples})
        return ds

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "n_samples": self.n_samples,
            "seed": self.seed,
            "units": [
                {"id": u, "nominal": int(a), "median": float(b), "low": float(c), "high": float(d)}
                for u, a, b, c, d in zip(self.units, self.nominal, self.median, self.low, self.high)
            ],
        }

    def _display_(self):
        w = self.high - self.low
        k = int(np.argmax(w))
        return f"rank uncertainty of {len(self.units)} units over {self.n_samples} runs", [("widest", f"{self.units[k]}: {fmt(self.low[k], 0)}-{fmt(self.high[k], 0)}")]


def rank_uncertainty(study: Study, preset: AuditPreset | None = None, *, n_samples: int = 2000, level: float = 0.90, rng: RNGLike = None, thresholds: ScenarioThresholds | None = None) -> RankUncertainty:
    """Distribution of every unit's rank when the preset's factors vary together (plain Monte Carlo).

    Parameters
    ----------
    study : Study
    preset : AuditPreset, optional
        Default :func:`audit_preset` of the study.
    n_samples : int
        Model runs (each an independent draw of every factor).
    level : float
        Central probability of the interval (0.90: the 5th to the 95th percentile).
    rng : int or Generator, optional

    Returns
    -------
    RankUncertainty
    """
    n_samples = check_number(n_samples, "`n_samples`", kind="int", minimum=2)
    level = check_number(level, "`level`", minimum=0, maximum=1, exclusive_minimum=True, exclusive_maximum=True)
    preset = audit_preset(study) if preset is None else preset
    seed = rng if isinstance(rng, (int, np.integer)) else None
    rng = np.random.default_rng(rng)
    model, problem = weight_model(study, preset.spec, distribution=preset.distribution, delta=preset.delta, triggers=preset.triggers, thresholds=thresholds)
    X = rng.random((n_samples, problem["num_vars"]))
    q = np.asarray(model.output_meta["quantity"]) == "rank"
    n_out = q.size
    block = max(1, int(2**25 // (8 * n_out)))  # rows per call: ~32 MB of outputs, of which only the ranks are kept
    R = np.concatenate([model(X[lo : lo + block])[:, q] for lo in range(0, n_samples, block)])
    a = (1 - level) / 2
    lo, med, hi = np.quantile(R, [a, 0.5, 1 - a], axis=0, method="inverted_cdf")
    units = tuple(_py(u) for u in model.clusters)
    kept = study.clusters.sel(cluster=model.clusters)
    names = tuple(str(v) for v in kept["name"].values) if "name" in kept.coords else ()
    return RankUncertainty(
        units=units,
        names=names,
        nominal=np.asarray(model.nominal_rank, dtype=int),
        median=med,
        low=lo,
        high=hi,
        mean=R.mean(axis=0),
        level=level,
        n_samples=n_samples,
        triggers=dict(preset.triggers),
        seed=seed,
    )
