"""Stage 6: variance-based (Sobol') sensitivity of the index, its ranks and its conclusions.

Two layers:

- the generic estimator lives in :mod:`clustermodel.sobol` (:func:`sobol_indices`,
  :func:`sobol_sample`, :func:`sobol_analyze`, the Ishigami and G test functions); its
  names are re-exported here so that ``from clustermodel.sensitivity import sobol_indices``
  keeps working;
- :func:`weight_sensitivity`, the clustermodel model: the expert weights
  (mapped onto the simplex inside the model so that Sobol's independent-input
  assumption holds) and optionally the spec's discrete choices as trigger
  factors, acting on every unit's index, rank and scenario, the scenario
  counts, the mean absolute rank shift and the unit-region correlation.
  It returns a frozen :class:`SobolResult`; :mod:`clustermodel.reporting.sobol`
  narrates it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.stats
import xarray as xr

from clustermodel._errors import ClusterModelError
from clustermodel.aggregate import aggregate_array, attainable_maximum, effective_weights
from clustermodel.index import as_weights, group_codes
from clustermodel.normalise import normalise_array
from clustermodel.scenarios import classify, evaluate, pearson
from clustermodel.sobol import (
    ISHIGAMI_PROBLEM,
    SobolIndicesResult,
    g_function,
    g_function_indices,
    g_function_problem,
    ishigami,
    ishigami_indices,
    sobol_analyze,
    sobol_indices,
    sobol_sample,
)
from clustermodel.spec import (
    MISSING_POLICIES,
    REFERENCE_SETS,
    SCENARIOS,
    WEIGHT_PLACEMENTS,
    IndexSpec,
    ScenarioThresholds,
)

__all__ = [
    "SobolIndicesResult",
    "sobol_sample",
    "sobol_analyze",
    "sobol_indices",
    "ishigami",
    "ishigami_indices",
    "ISHIGAMI_PROBLEM",
    "g_function",
    "g_function_indices",
    "g_function_problem",
    "WEIGHT_DISTRIBUTIONS",
    "TRIGGER_OPTIONS",
    "OUTPUT_QUANTITIES",
    "SobolResult",
    "weight_sensitivity",
    "weight_problem",
    "weight_model",
    "weights_from_unit",
]


# --------------------------------------------------------------------------------------------
# The clustermodel model: expert weights (and spec choices) -> scores, ranks and conclusions
# --------------------------------------------------------------------------------------------

#: How the independent uniform inputs become weights on the simplex.
WEIGHT_DISTRIBUTIONS = {
    "dirichlet": (
        "w = g / sum(g) with independent g_j = Gamma(kappa * alpha_j) quantile of u_j: exactly "
        "Dirichlet(kappa * alpha), centred on the published weights alpha; larger concentration kappa = less spread"
    ),
    "uniform": (
        "w proportional to alpha_j * (1 + delta * (2 u_j - 1)): independent relative perturbations of up to "
        "+/- delta around the published weights, renormalised to sum to one"
    ),
}

#: Options each trigger factor chooses between (negative='error' rejects data, so it is not an option).
TRIGGER_OPTIONS = {
    "reference": tuple(REFERENCE_SETS),
    "placement": tuple(WEIGHT_PLACEMENTS),
    "missing": tuple(MISSING_POLICIES),
    "negative": ("square", "zero"),
}
_TRIGGER_FIELD = {"reference": "reference", "placement": "weights", "missing": "missing", "negative": "negative"}

#: The outputs analysed in one run, and what each means.
OUTPUT_QUANTITIES = {
    "index": "the cluster's internationalization index",
    "rank": "the cluster's rank among all clusters (1 = highest)",
    "scenario_kept": "1 if the cluster stays in its nominal Figure 13 scenario, else 0",
    "scenario_count": "number of clusters in the scenario",
    "counts_kept": "1 if all four scenario counts equal the nominal counts, else 0",
    "mean_rank_shift": "mean absolute rank shift against the nominal ranking (Saisana et al. 2005)",
    "correlation": "Pearson r between the cluster index and its region's index",
}


def _unit_open(u):
    """Clip uniform inputs into the open interval (0, 1) so that quantile functions stay finite."""
    return np.clip(u, np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0))


def weights_from_unit(U, nominal, *, distribution: str = "dirichlet", concentration: float = 50.0, delta: float = 0.25) -> np.ndarray:
    """Map independent uniform inputs onto weight vectors on the simplex.

    Parameters
    ----------
    U : array_like, shape (..., m)
        Independent uniform [0, 1) inputs, one per indicator.
    nominal : array_like, shape (m,)
        Published weights (normalised to sum to one here).
    distribution : {'dirichlet', 'uniform'}
        See :data:`WEIGHT_DISTRIBUTIONS`.
    concentration : float
        Dirichlet concentration kappa > 0 (``'dirichlet'`` only). The
        variance of w_j is alpha_j (1 - alpha_j) / (kappa + 1).
    delta : float
        Largest relative perturbation, 0 < delta < 1 (``'uniform'`` only).

    Returns
    -------
    ndarray, shape (..., m), every row summing to one.

    Notes
    -----
    Sobol' indices assume independent inputs, but weights summing to one are
    dependent. The inputs are therefore independent (one uniform per
    indicator) and the dependence is created inside the model by the
    normalisation. Independent Gamma(kappa alpha_j, 1) variables divided by
    their sum are Dirichlet(kappa alpha) distributed, with mean alpha.
    """
    U = _unit_open(np.asarray(U, dtype=float))
    a = np.asarray(nominal, dtype=float)
    a = a / a.sum()
    if distribution == "dirichlet":
        g = scipy.stats.gamma.ppf(U, concentration * a)
    elif distribution == "uniform":
        g = a * (1.0 + delta * (2.0 * U - 1.0))
    else:
        raise ClusterModelError(f"`distribution` must be one of {', '.join(map(repr, WEIGHT_DISTRIBUTIONS))}; got {distribution!r}")
    return g / g.sum(axis=-1, keepdims=True)


def weight_problem(indicators, triggers=()) -> dict:
    """SALib problem: one uniform [0, 1) input per indicator weight, then one per trigger."""
    names = [str(i) for i in indicators] + [str(t) for t in triggers]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


class _WeightModel:
    """Vectorised model X -> every output, for one study and a base spec."""

    def __init__(self, study, spec, thresholds, distribution, concentration, delta, triggers):
        self.study = study
        self.spec = spec
        self.thresholds = thresholds
        self.distribution = distribution
        self.concentration = concentration
        self.delta = delta
        self.triggers = tuple(triggers)
        self.labels = [str(v) for v in study.indicators["indicator"].values]
        self.nominal_weights = as_weights(study.weights, study.indicators).values.astype(float)
        self.m = len(self.labels)
        self.clusters = study.clusters["cluster"].values
        self._prepared = {}
        nominal = self._outputs_raw(self.nominal_weights[None, :], spec, nominal=True)
        self.nominal_rank = nominal["rank"][0]
        self.nominal_codes = nominal["scenario"][0]
        self.nominal_counts = nominal["scenario_count"][0]
        self.nominal_index = nominal["index"][0]
        self.nominal_correlation = float(nominal["correlation"][0])
        self.output_meta = self._output_meta()

    def _prep(self, spec):
        key = (spec.reference, spec.weights, spec.missing, spec.negative)
        if key not in self._prepared:
            ev = evaluate(self.study, spec, weights=self.nominal_weights, thresholds=self.thresholds)
            roc = ev.region_index_of_cluster.values.astype(float)
            r_high = roc >= float(ev.region_threshold)
            x = self.study.indicators.transpose("cluster", "indicator").values
            normalised, present = normalise_array(x, group_codes=group_codes(self.study.indicators, spec), negative=spec.negative)
            self._prepared[key] = (normalised, present, roc, r_high)
        return self._prepared[key]

    def _outputs_raw(self, W, spec, nominal=False):
        normalised, present, roc, r_high = self._prep(spec)
        ci = aggregate_array(normalised, present, W, placement=spec.weights, missing=spec.missing)  # (n, clusters)
        vals = np.where(np.isnan(ci), -np.inf, ci)
        ranks = scipy.stats.rankdata(-vals, method="ordinal", axis=-1).astype(float)
        c_thr = self.thresholds.cluster * attainable_maximum(W, spec.weights)
        codes = classify(ci >= c_thr[:, None], np.broadcast_to(r_high, ci.shape))
        counts = np.stack([(codes == k).sum(axis=-1) for k in range(len(SCENARIOS))], axis=-1).astype(float)
        out = {"index": ci, "rank": ranks, "scenario": codes, "scenario_count": counts, "correlation": pearson(ci, roc, axis=-1)}
        if not nominal:
            out["scenario_kept"] = (codes == self.nominal_codes).astype(float)
            out["counts_kept"] = np.all(counts == self.nominal_counts, axis=-1).astype(float)
            out["mean_rank_shift"] = np.abs(ranks - self.nominal_rank).mean(axis=-1)
        return out

    def _output_meta(self):
        quantity, cluster, scenario, names = [], [], [], []
        for q in ("index", "rank", "scenario_kept"):
            for c in self.clusters:
                quantity.append(q)
                cluster.append(c.item())
                scenario.append(None)
                names.append(f"{q}[{c}]")
        for s in SCENARIOS:
            quantity.append("scenario_count")
            cluster.append(None)
            scenario.append(s)
            names.append(f"scenario_count[{s}]")
        for q in ("counts_kept", "mean_rank_shift", "correlation"):
            quantity.append(q)
            cluster.append(None)
            scenario.append(None)
            names.append(q)
        return {"quantity": quantity, "cluster": cluster, "scenario": scenario, "name": names}

    def nominal_values(self) -> np.ndarray:
        return np.concatenate(
            [self.nominal_index, self.nominal_rank, np.ones(len(self.clusters)), self.nominal_counts, [1.0, 0.0, self.nominal_correlation]]
        )

    def _stack(self, out) -> np.ndarray:
        return np.column_stack(
            [out["index"], out["rank"], out["scenario_kept"], out["scenario_count"], out["counts_kept"], out["mean_rank_shift"], out["correlation"]]
        )

    def trigger_specs(self, X) -> np.ndarray:
        """Integer option index of every trigger factor, shape (rows, n_triggers)."""
        cols = []
        for t, col in zip(self.triggers, X[:, self.m :].T):
            k = len(TRIGGER_OPTIONS[t])
            cols.append(np.minimum((np.asarray(col) * k).astype(np.intp), k - 1))
        return np.column_stack(cols) if cols else np.zeros((X.shape[0], 0), dtype=np.intp)

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        W = weights_from_unit(X[:, : self.m], self.nominal_weights, distribution=self.distribution, concentration=self.concentration, delta=self.delta)
        if not self.triggers:
            return self._stack(self._outputs_raw(W, self.spec))
        codes = self.trigger_specs(X)
        combos, inverse = np.unique(codes, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        Y = np.empty((X.shape[0], len(self.output_meta["name"])))
        for c, combo in enumerate(combos):
            rows = np.flatnonzero(inverse == c)
            spec = self.spec.replace(**{_TRIGGER_FIELD[t]: TRIGGER_OPTIONS[t][o] for t, o in zip(self.triggers, combo)})
            Y[rows] = self._stack(self._outputs_raw(W[rows], spec))
        return Y

    def importance(self):
        """Paruolo et al. (2013): linear first-order importance of each indicator in the nominal index."""
        normalised, _, _, _ = self._prep(self.spec)
        y = self.nominal_index
        r = pearson(normalised.T, y[None, :], axis=-1)
        s = np.where(np.isnan(r), 0.0, r**2)
        eff = effective_weights(self.nominal_weights, self.spec.weights)
        return s, eff / eff.sum()


def weight_model(
    study,
    spec: IndexSpec | None = None,
    *,
    distribution: str = "dirichlet",
    concentration: float = 50.0,
    delta: float = 0.25,
    triggers=(),
    thresholds: ScenarioThresholds | None = None,
):
    """The vectorised model behind :func:`weight_sensitivity`, for use with SALib or any sampler.

    Returns
    -------
    model : callable
        ``model(X)`` maps rows of independent uniform inputs (one per
        indicator weight, then one per trigger) to every output, shape
        (rows, n_outputs); ``model.output_meta['name']`` names the columns.
    problem : dict
        The matching SALib problem (all inputs uniform on [0, 1]).

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> model, problem = weight_model(load_paper())
    >>> model(np.full((2, problem["num_vars"]), 0.5)).shape
    (2, 82)
    """
    spec, thresholds, concentration, delta, triggers = _weight_sensitivity_iv(
        study, spec, distribution, concentration, delta, triggers, thresholds
    )
    model = _WeightModel(study, spec, thresholds, distribution, concentration, delta, triggers)
    return model, weight_problem(model.labels, triggers)


def _positive_float(value, name):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ClusterModelError(f"`{name}` must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ClusterModelError(f"`{name}` must be a positive finite number, got {value!r}")
    return v


def _weight_sensitivity_iv(study, spec, distribution, concentration, delta, triggers, thresholds):
    if getattr(study, "regions", None) is None or not study.has_regions:
        raise ClusterModelError("`study` needs a region table (scenarios and the correlation use the regional index)")
    spec = IndexSpec(weights="quadratic") if spec is None else spec
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    if distribution not in WEIGHT_DISTRIBUTIONS:
        raise ClusterModelError(f"`distribution` must be one of {', '.join(map(repr, WEIGHT_DISTRIBUTIONS))}; got {distribution!r}")
    concentration = _positive_float(concentration, "concentration")
    delta = _positive_float(delta, "delta")
    if delta >= 1:
        raise ClusterModelError(f"`delta` must lie in (0, 1) so that every perturbed weight stays positive, got {delta!r}")
    if isinstance(triggers, str):
        triggers = [triggers]
    triggers = tuple(triggers or ())
    for t in triggers:
        if t not in TRIGGER_OPTIONS:
            raise ClusterModelError(f"`triggers` entries must be among {', '.join(map(repr, TRIGGER_OPTIONS))}; got {t!r}")
    if len(set(triggers)) != len(triggers):
        raise ClusterModelError(f"`triggers` lists a factor twice: {list(triggers)}")
    triggers = tuple(t for t in TRIGGER_OPTIONS if t in triggers)
    w = as_weights(study.weights, study.indicators).values
    if distribution == "dirichlet" and np.any(w <= 0):
        zero = [str(v) for v, x in zip(study.indicators["indicator"].values, w) if x <= 0]
        raise ClusterModelError(
            f"the Dirichlet weight distribution needs positive published weights; {', '.join(zero)} has weight 0: "
            "use distribution='uniform' or drop the indicator"
        )
    return spec, thresholds, concentration, delta, triggers


@dataclass(frozen=True)
class SobolResult:
    """Sobol' sensitivity of a study's scores, ranks and conclusions to the weights (and spec choices).

    Attributes
    ----------
    indices : SobolIndicesResult
        The indices with dims (output, factor), intervals and bootstrap draws.
    quantity, cluster, scenario : tuple
        Per output: its quantity (a key of :data:`OUTPUT_QUANTITIES`), the
        cluster it belongs to (or None) and the scenario (or None).
    nominal : ndarray, shape (n_outputs,)
        Each output at the published weights under ``spec``.
    factor_kind : tuple of {'weight', 'trigger'}
    nominal_weights : dict
        Indicator -> published weight.
    importance : list of dict
        Per indicator: nominal weight, effective weight share under the
        spec's placement, the linear first-order importance of the indicator
        in the nominal index across clusters (Paruolo et al. 2013), and the
        weight factor's mean S1/ST over the cluster indices and its S1/ST on
        the mean rank shift.
    spec : IndexSpec
    thresholds : ScenarioThresholds
    distribution : dict
        ``name``, its parameter and description.
    triggers : dict
        Trigger factor -> the options it chooses between (in order).
    seed : int or None
        The user's integer seed, if one was given.
    cluster_names : dict
        Cluster label -> name.
    nominal_scenario : dict
        Cluster label -> its scenario at the published weights.
    notes : tuple of str
    nouns : clustermodel.reporting.nouns.Nouns or None
        The study's nouns, used by :meth:`summary` (None: the paper's).
    """

    indices: SobolIndicesResult
    quantity: tuple
    cluster: tuple
    scenario: tuple
    nominal: np.ndarray
    factor_kind: tuple
    nominal_weights: dict
    importance: list
    spec: IndexSpec
    thresholds: ScenarioThresholds
    distribution: dict
    triggers: dict
    seed: int | None
    cluster_names: dict = field(default_factory=dict)
    nominal_scenario: dict = field(default_factory=dict)
    notes: tuple = ()
    nouns: object = None

    def __repr__(self) -> str:
        ix = self.indices
        return (
            f"<SobolResult: {len(ix.outputs)} outputs x {len(ix.factors)} factors ({', '.join(ix.factors)}), "
            f"placement {self.spec.weights!r}, method={ix.method!r}, N={ix.n} x {ix.replicates} design(s), "
            f"{ix.model_runs} model runs>"
        )

    @property
    def outputs(self) -> tuple:
        return self.indices.outputs

    @property
    def factors(self) -> tuple:
        return self.indices.factors

    def _where(self, quantity):
        return [k for k, q in enumerate(self.quantity) if q == quantity]

    def to_records(self) -> list:
        """One record per (output, factor): labels, S1, S1_low, S1_high, ST, ST_low, ST_high, SALib half-widths."""
        ix = self.indices
        recs = []
        for k, o in enumerate(ix.outputs):
            for j, f in enumerate(ix.factors):
                recs.append(
                    {
                        "output": o,
                        "quantity": self.quantity[k],
                        "cluster": self.cluster[k],
                        "scenario": self.scenario[k],
                        "factor": f,
                        "factor_kind": self.factor_kind[j],
                        "S1": float(ix.S1[k, j]),
                        "S1_low": float(ix.S1_low[k, j]),
                        "S1_high": float(ix.S1_high[k, j]),
                        "ST": float(ix.ST[k, j]),
                        "ST_low": float(ix.ST_low[k, j]),
                        "ST_high": float(ix.ST_high[k, j]),
                        "S1_conf": float(ix.S1_conf[k, j]),
                        "ST_conf": float(ix.ST_conf[k, j]),
                    }
                )
        return recs

    def output_table(self) -> list:
        """Per output: nominal value and its distribution over the A and B runs."""
        ix = self.indices
        return [
            {
                "output": o,
                "quantity": self.quantity[k],
                "cluster": self.cluster[k],
                "scenario": self.scenario[k],
                "nominal": float(self.nominal[k]),
                "mean": float(ix.output_mean[k]),
                "std": float(ix.output_std[k]),
                "q05": float(ix.output_low[k]),
                "q95": float(ix.output_high[k]),
                "constant": bool(ix.constant[k]),
            }
            for k, o in enumerate(ix.outputs)
        ]

    def convergence_table(self) -> dict | None:
        """The convergence study: the study-level outputs' indices at every N, and median interval widths.

        Returns ``{"records": [...], "median_interval_width": [...]}``: one record per
        (N, study-level output, factor) with S1, ST and their intervals, and per N the median
        width of the S1 and ST intervals over all outputs that are not constant.
        """
        c = self.indices.convergence
        if c is None:
            return None
        ix = self.indices
        study_level = [k for k, cl in enumerate(self.cluster) if cl is None]
        varying = ~ix.constant
        recs, widths = [], []
        for i, n in enumerate(c["n"]):
            for k in study_level:
                for j, f in enumerate(ix.factors):
                    rec = {"n": int(n), "output": ix.outputs[k], "factor": f}
                    rec.update({key: float(c[key][i, k, j]) for key in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high")})
                    recs.append(rec)
            w1 = (c["S1_high"][i] - c["S1_low"][i])[varying]
            wt = (c["ST_high"][i] - c["ST_low"][i])[varying]
            widths.append(
                {
                    "n": int(n),
                    "S1": float(np.median(w1)) if w1.size else 0.0,
                    "ST": float(np.median(wt)) if wt.size else 0.0,
                }
            )
        return {"records": recs, "median_interval_width": widths}

    def to_dict(self) -> dict:
        ix = self.indices
        return {
            "n": ix.n,
            "replicates": ix.replicates,
            "method": ix.method,
            "seed": self.seed,
            "entropy": ix.entropy,
            "n_resamples": ix.n_resamples,
            "confidence_level": ix.confidence_level,
            "interval": ix.run_attrs()["interval"],
            "model_runs": ix.model_runs,
            "chunk_size": ix.chunk_size,
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "distribution": self.distribution,
            "triggers": {k: list(v) for k, v in self.triggers.items()},
            "factors": [{"factor": f, "kind": kd, "nominal_weight": self.nominal_weights.get(f)} for f, kd in zip(ix.factors, self.factor_kind)],
            "records": self.to_records(),
            "outputs": self.output_table(),
            "weights_vs_importance": self.importance,
            "convergence": self.convergence_table(),
            "notes": list(self.notes),
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataframe(self):
        """The records as a pandas DataFrame indexed by (output, factor)."""
        import pandas as pd

        return pd.DataFrame(self.to_records()).set_index(["output", "factor"])

    def to_dataset(self) -> xr.Dataset:
        """xarray Dataset (output x factor), with output/factor metadata and the run in ``attrs``."""
        ds = self.indices.to_dataset()
        ds = ds.assign_coords(
            quantity=("output", list(self.quantity)),
            cluster=("output", [("" if c is None else str(c)) for c in self.cluster]),
            scenario=("output", ["" if s is None else s for s in self.scenario]),
            factor_kind=("factor", list(self.factor_kind)),
            nominal_weight=("factor", [self.nominal_weights.get(f, np.nan) for f in self.factors]),
        )
        ds["nominal"] = ("output", np.asarray(self.nominal, dtype=float))
        imp = self.importance
        ind = [r["indicator"] for r in imp]
        for key in ("nominal_weight", "effective_weight", "linear_importance", "linear_importance_share", "mean_index_S1", "mean_index_ST", "rank_shift_S1", "rank_shift_ST"):
            ds[f"importance_{key}"] = ("indicator", [r[key] for r in imp])
        ds = ds.assign_coords(indicator=ind)
        ds.attrs.update({f"spec_{k}": v for k, v in self.spec.to_dict().items()})
        ds.attrs.update({f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()})
        ds.attrs.update({f"distribution_{k}": v for k, v in self.distribution.items()})
        ds.attrs["triggers"] = ", ".join(self.triggers) or "none"
        ds.attrs["seed"] = -1 if self.seed is None else self.seed
        ds.attrs["notes"] = "\n".join(self.notes)
        ds.attrs["cluster_coord"] = "cluster label of the output, -1 for study-level outputs"
        return ds

    def summary(self, *, nouns=None) -> str:
        """Markdown report (:func:`clustermodel.reporting.sobol.markdown`) with the study's nouns."""
        from clustermodel.reporting.nouns import PAPER_NOUNS
        from clustermodel.reporting.sobol import markdown

        return markdown(self, nouns=nouns or self.nouns or PAPER_NOUNS)


def weight_sensitivity(
    study,
    spec: IndexSpec | None = None,
    *,
    n: int = 1024,
    replicates: int | None = None,
    method: str = "replicate",
    rng=None,
    seed=None,
    distribution: str = "dirichlet",
    concentration: float = 50.0,
    delta: float = 0.25,
    triggers=(),
    thresholds: ScenarioThresholds | None = None,
    n_resamples: int = 100,
    confidence_level: float = 0.95,
    convergence_levels: int = 1,
    chunk_size: int | None = None,
    memory_limit=None,
    client=None,
    progress: bool = True,
) -> SobolResult:
    """Sobol' sensitivity of every score, rank and conclusion to the expert weights.

    Parameters
    ----------
    study : clustermodel.data.Study
        Clusters, regions and the published weights (the nominal point).
    spec : IndexSpec, optional
        Base spec. Default ``IndexSpec(weights='quadratic')``: under
        ``'equation1'`` (the formula as printed) the weights cancel and every
        weight index is 0, which this function reports as a finding.
    n : int, default 1024
        Base sample size N of each design, a power of two.
    replicates : int, optional
        Independent scrambled designs of the replicate method (default 10); the model
        runs replicates x N x (D + 2) times for D factors.
    method : {'replicate', 'bootstrap'}, default 'replicate'
        How intervals are estimated (:func:`clustermodel.sobol.sobol_indices`): the spread
        over independent designs (calibrated), or SALib's bootstrap over the rows of one
        design (for comparison; too wide for smooth outputs).
    rng : int, numpy.random.Generator or None
        Seed or generator, normalised once; the designs use independent streams spawned
        from it. ``seed`` is accepted as SALib's name for it.
    distribution : {'dirichlet', 'uniform'}, default 'dirichlet'
        How the independent uniform inputs map onto the simplex
        (:data:`WEIGHT_DISTRIBUTIONS`, :func:`weights_from_unit`).
    concentration : float, default 50
        Dirichlet concentration kappa: w ~ Dirichlet(kappa * published weights).
    delta : float, default 0.25
        Largest relative perturbation of the ``'uniform'`` distribution.
    triggers : sequence of str, optional
        Spec fields added as discrete trigger factors (a uniform input split
        into equal parts, one per option): any of ``'reference'``,
        ``'placement'``, ``'missing'``, ``'negative'`` (:data:`TRIGGER_OPTIONS`).
    thresholds : ScenarioThresholds, optional
    n_resamples : int, default 100
        Bootstrap resamples (``method='bootstrap'`` only).
    confidence_level : float, default 0.95
    convergence_levels : int, default 1
        L > 1 also estimates the indices at N / 2^(L-1), …, N / 2, N.
    chunk_size, memory_limit, client, progress
        How the model runs are chunked and scheduled (dask; memory budget, default
        1 GiB; a ``dask.distributed`` client or scheduler address; a progress bar on a
        terminal): see :func:`clustermodel.sobol.sobol_indices`.

    Returns
    -------
    SobolResult

    Raises
    ------
    ClusterModelError
        On an invalid option (named in the message).

    Notes
    -----
    The outputs, all estimated in one run from one vectorised evaluation
    (:data:`OUTPUT_QUANTITIES`): every cluster's index, rank and whether it
    keeps its nominal scenario (0/1), the four scenario counts, whether all
    counts are unchanged (0/1), the mean absolute rank shift against the
    nominal ranking (Saisana et al. 2005) and the cluster-region correlation.
    Ranks, counts and 0/1 indicators are discrete; variance-based indices
    remain well defined for them (the share of the variance of a rank or of
    the probability of a flip that each factor explains).

    An output that is the same in every model run (for instance everything
    under Equation 1 as printed, where alpha_j x_ij / max_i(alpha_j x_ij) =
    x_ij / max_i x_ij) has all indices exactly 0 and is listed in the notes.

    References
    ----------
    Saisana, M., Saltelli, A. and Tarantola, S. (2005). Uncertainty and sensitivity analysis
    techniques as tools for the quality assessment of composite indicators. Journal of the Royal
    Statistical Society A 168(2), 307-323. https://doi.org/10.1111/j.1467-985X.2005.00350.x

    Paruolo, P., Saisana, M. and Saltelli, A. (2013). Ratings and rankings: voodoo or science?
    Journal of the Royal Statistical Society A 176(3), 609-634.
    https://doi.org/10.1111/j.1467-985X.2012.01059.x

    Saltelli et al. (2010), https://doi.org/10.1016/j.cpc.2009.09.018.

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> res = weight_sensitivity(load_paper(), n=256, rng=1)
    >>> res.indices.S1.shape
    (82, 4)
    """
    model, problem = weight_model(
        study, spec, distribution=distribution, concentration=concentration, delta=delta, triggers=triggers, thresholds=thresholds
    )
    spec, thresholds, triggers = model.spec, model.thresholds, model.triggers
    concentration, delta = model.concentration, model.delta
    meta = model.output_meta
    ix = sobol_indices(
        model,
        problem,
        n=n,
        replicates=replicates,
        method=method,
        rng=rng,
        seed=seed,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        output_names=meta["name"],
        convergence_levels=convergence_levels,
        chunk_size=chunk_size,
        memory_limit=memory_limit,
        client=client,
        progress=progress,
    )
    m = model.m
    factor_kind = tuple(["weight"] * m + ["trigger"] * len(triggers))
    nominal_w = {lab: float(w) for lab, w in zip(model.labels, model.nominal_weights)}

    # Weights against importance (Paruolo et al. 2013)
    lin, eff_share = model.importance()
    share = lin / lin.sum() if lin.sum() > 0 else np.zeros_like(lin)
    idx_rows = [k for k, q in enumerate(meta["quantity"]) if q == "index"]
    shift = meta["name"].index("mean_rank_shift")
    importance = [
        {
            "indicator": lab,
            "nominal_weight": nominal_w[lab],
            "effective_weight": float(eff_share[j]),
            "linear_importance": float(lin[j]),
            "linear_importance_share": float(share[j]),
            "mean_index_S1": float(ix.S1[idx_rows, j].mean()),
            "mean_index_ST": float(ix.ST[idx_rows, j].mean()),
            "rank_shift_S1": float(ix.S1[shift, j]),
            "rank_shift_ST": float(ix.ST[shift, j]),
        }
        for j, lab in enumerate(model.labels)
    ]

    dist = {"name": distribution}
    if distribution == "dirichlet":
        dist["concentration"] = concentration
    else:
        dist["delta"] = delta
    dist["description"] = WEIGHT_DISTRIBUTIONS[distribution]

    notes = [
        "Factors are independent uniform inputs: one per indicator weight, mapped onto the simplex inside the model "
        f"({WEIGHT_DISTRIBUTIONS[distribution]}), so Sobol's independence assumption holds although the weights "
        "sum to one. A weight factor's index measures the influence of that indicator's raw (pre-normalisation) "
        "draw, which acts on every weight through the normalisation.",
    ]
    weight_cols = ix.ST[:, :m]
    weights_inert = bool(np.all(ix.S1[:, :m] == 0) and np.all(weight_cols == 0))
    if spec.weights == "equation1" and "placement" not in triggers:
        if weights_inert:
            notes.append(
                "Under Equation 1 as printed the outputs do not depend on the weights: every weight index is exactly 0. "
                "Why: alpha_j x_ij / max_i(alpha_j x_ij) = x_ij / max_i x_ij for any alpha_j > 0, so a positive weight "
                "cancels between numerator and maximum and Table 4's weights cannot move any score, rank or scenario. "
                "This is a property of the printed formula, not of the sample; use placement 'quadratic' or "
                "'arithmetic' for weights that act."
            )
        else:
            notes.append(
                "Under Equation 1 as printed positive weights cancel; the weight factors matter here only through "
                "other factors or because some sampled weight underflowed to 0 (which drops its indicator)."
            )
    if ix.constant.all() and not (spec.weights == "equation1" and "placement" not in triggers):
        notes.append("Every output is constant over the sample: no factor has any influence on this study under this spec.")
    notes += list(ix.notes)
    notes.append(
        "Ranks, scenario counts and the 0/1 outputs (scenario kept, counts kept) are discrete; variance-based indices "
        "remain well defined for them and give the share of the variance of a rank, or of a flip probability, that "
        "each factor explains. A 0/1 output that rarely flips rests on few events (see the rare-events note, if any)."
    )
    nominal_counts = {s: int(c) for s, c in zip(SCENARIOS, model.nominal_counts)}
    from clustermodel.reproduce import PAPER_COUNTS

    if nominal_counts != PAPER_COUNTS:
        notes.append(
            f"At the published weights this spec gives scenario counts {nominal_counts}, not the paper's {PAPER_COUNTS}: "
            "the spec change alone moves the conclusion before any weight varies; 'kept' outputs compare with this "
            "spec's own nominal result."
        )
    if triggers:
        notes.append(
            "Trigger factors split their uniform input into equal parts, one per option, in the order "
            + "; ".join(f"{t}: {list(TRIGGER_OPTIONS[t])}" for t in triggers)
            + ". The nominal point is the base spec at the published weights."
            + (
                " Index values under different placements are on different scales (a sum versus a square root), so "
                "the placement trigger's influence on the index values includes that change of scale; ranks and "
                "scenarios are comparable across placements."
                if "placement" in triggers
                else ""
            )
        )
    names = study.clusters["name"].values if "name" in study.clusters.coords else model.clusters
    cluster_names = {c.item(): str(nm) for c, nm in zip(model.clusters, names)}
    nominal_scenario = {c.item(): SCENARIOS[int(code)] for c, code in zip(model.clusters, model.nominal_codes)}
    return SobolResult(
        indices=ix,
        quantity=tuple(meta["quantity"]),
        cluster=tuple(meta["cluster"]),
        scenario=tuple(meta["scenario"]),
        nominal=model.nominal_values(),
        factor_kind=factor_kind,
        nominal_weights=nominal_w,
        importance=importance,
        spec=spec,
        thresholds=thresholds,
        distribution=dist,
        triggers={t: TRIGGER_OPTIONS[t] for t in triggers},
        seed=ix.seed,
        cluster_names=cluster_names,
        nominal_scenario=nominal_scenario,
        notes=tuple(notes),
        nouns=getattr(study, "nouns", None),
    )
