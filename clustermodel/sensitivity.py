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
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.special
import xarray as xr

from clustermodel._display import ResultDisplay, fmt
from clustermodel._errors import ClusterModelError
from clustermodel._validation import check_number
from clustermodel.index import rank_values
from clustermodel.scenarios import pearson
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
if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

    from clustermodel._typing import RNGLike
    from clustermodel.data import Study
    from clustermodel.nouns import Nouns

from clustermodel.spec import (
    AGGREGATIONS,
    PARAMETRISED_AGGREGATIONS,
    MISSING_POLICIES,
    NORMALISATIONS,
    REFERENCE_SETS,
    IMPUTE_REFERENCE_SETS,
    SCENARIOS,
    TREATMENTS,
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
    "trigger_options",
    "weights_from_unit",
]


# --------------------------------------------------------------------------------------------
# The clustermodel model: expert weights (and spec choices) -> scores, ranks and conclusions
# --------------------------------------------------------------------------------------------

#: How the independent uniform inputs become weights on the simplex of each parent.
WEIGHT_DISTRIBUTIONS = {
    "dirichlet": (
        "within each parent, w = g / sum(g) with independent g_j = Gamma(kappa * alpha_j) quantile of u_j: exactly "
        "Dirichlet(kappa * alpha) over the parent's children, centred on the nominal weights alpha (normalised within "
        "the parent); larger concentration kappa = less spread"
    ),
    "uniform": (
        "w proportional to alpha_j * (1 + delta * (2 u_j - 1)): independent relative perturbations of up to "
        "+/- delta around the nominal weights, renormalised within each parent"
    ),
}

#: Default options of each spec field used as a trigger factor (a study-specific subset is chosen by
#: :func:`trigger_options`; pass explicit options as a mapping field -> options).
TRIGGER_OPTIONS = {
    "denominate": (True, False),
    "missing": tuple(MISSING_POLICIES),
    "treatment": tuple(TREATMENTS),
    "transform": ("log", "log1", "none"),  # Box-Cox needs its order: give it explicitly, e.g. boxcox:0.5
    "normalisation": tuple(n for n in NORMALISATIONS if n != "dist2ref"),  # dist2ref needs its reference unit: name it
    "reference": tuple(REFERENCE_SETS),
    "impute_reference": tuple(IMPUTE_REFERENCE_SETS),
    "negative": ("keep", "zero"),
    # genmean needs its order; Copeland costs n^2 comparisons per run: both only when named explicitly
    "aggregation": tuple(a for a in AGGREGATIONS if a not in PARAMETRISED_AGGREGATIONS and a != "copeland"),
}

#: The outputs analysed in one run, and what each means.
OUTPUT_QUANTITIES = {
    "index": "the unit's index",
    "rank": "the unit's rank among all units (1 = highest)",
    "node_score": "the unit's score on an aggregate below the index (a pillar, a sub-index)",
    "node_rank": "the unit's rank on an aggregate below the index",
    "scenario_kept": "1 if the unit stays in its nominal scenario, else 0",
    "scenario_count": "number of units in the scenario",
    "counts_kept": "1 if all four scenario counts equal the nominal counts, else 0",
    "mean_rank_shift": "mean absolute rank shift against the nominal ranking (Saisana et al. 2005)",
    "correlation": "Pearson r between the unit index and its higher-level unit's index",
}


def _unit_open(u):
    """Clip uniform inputs into the open interval (0, 1) so that quantile functions stay finite."""
    return np.clip(u, np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0))


def _gamma_quantiles(U, shape):
    """``scipy.stats.gamma.ppf(U, shape)`` for U in the open interval (0, 1), each distinct value of a column computed
    once.

    The quantile function (an inverse incomplete gamma function) is the weight model's most expensive step, and
    a Saltelli design repeats every value of a column in D + 1 of its D + 2 rows (A_i in A and every AB_ij but one,
    B_i in B and AB_ij), so computing each distinct value once does a fraction 2 / (D + 2) of the work. It is
    ``scipy.special.gammaincinv(shape, U)``, the function ``gamma.ppf`` evaluates inside the interval, called
    directly: the distribution's argument checks cost more than the quantiles of a small block of runs, and the
    result is the same to the last bit (tested).
    """
    U = np.asarray(U, dtype=float)
    shape = np.broadcast_to(np.asarray(shape, dtype=float), U.shape[-1:])
    flat = U.reshape(-1, U.shape[-1])
    if flat.shape[0] < 64:  # a few rows (one weight vector at a time): sorting out the repeats costs more than it saves
        return scipy.special.gammaincinv(shape, U)
    out = np.empty_like(flat)
    for j in range(flat.shape[1]):
        values, inverse = np.unique(flat[:, j], return_inverse=True)
        out[:, j] = scipy.special.gammaincinv(shape[j], values)[inverse.reshape(-1)]
    return out.reshape(U.shape)


def weights_from_unit(U, nominal, *, parents=None, distribution: str = "dirichlet", concentration: float = 50.0, delta: float = 0.25) -> np.ndarray:
    """Map independent uniform inputs onto weight vectors on the simplex of every parent.

    Parameters
    ----------
    U : array_like, shape (..., K)
        Independent uniform [0, 1) inputs, one per weighted node.
    nominal : array_like, shape (K,)
        Nominal weights (normalised within each parent here).
    parents : array_like of int, shape (K,), optional
        Parent code of every weighted node (``Structure.parent_codes()``);
        default: one parent (a one-level structure).
    distribution : {'dirichlet', 'uniform'}
        See :data:`WEIGHT_DISTRIBUTIONS`.
    concentration : float
        Dirichlet concentration kappa > 0 (``'dirichlet'`` only). The
        variance of w_j is alpha_j (1 - alpha_j) / (kappa + 1).
    delta : float
        Largest relative perturbation, 0 < delta < 1 (``'uniform'`` only).

    Returns
    -------
    ndarray, shape (..., K), summing to one within every parent.

    Notes
    -----
    Sobol' indices assume independent inputs, but weights summing to one are
    dependent. The inputs are therefore independent (one uniform per node)
    and the dependence is created inside the model by the normalisation
    within each parent. Independent Gamma(kappa alpha_j, 1) variables divided
    by their sum are Dirichlet(kappa alpha) distributed, with mean alpha.
    """
    U = _unit_open(np.asarray(U, dtype=float))
    a = np.asarray(nominal, dtype=float)
    codes = np.zeros(a.shape[-1], dtype=np.intp) if parents is None else np.asarray(parents, dtype=np.intp)
    onehot = (codes[:, None] == np.arange(codes.max() + 1)).astype(float)
    a = a / (a @ onehot)[codes]
    if distribution == "dirichlet":
        g = _gamma_quantiles(U, concentration * a)
    elif distribution == "uniform":
        g = a * (1.0 + delta * (2.0 * U - 1.0))
    else:
        raise ClusterModelError(f"`distribution` must be one of {', '.join(map(repr, WEIGHT_DISTRIBUTIONS))}; got {distribution!r}")
    return g / (g @ onehot)[..., codes]


def weight_problem(factors, triggers=()) -> dict:
    """SALib problem: one uniform [0, 1) input per weighted node, then one per trigger."""
    names = [str(i) for i in factors] + [str(t) for t in triggers]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def trigger_options(study, triggers, spec: IndexSpec | None = None, *, dropped: dict | None = None) -> dict:
    """Trigger field -> options, validated against the spec and the study.

    ``triggers`` is a sequence of spec fields (each gets the options of
    :data:`TRIGGER_OPTIONS` that this study can use under ``spec``: an
    option that cannot be computed, such as a geometric mean of negative
    values, is left out and recorded in ``dropped``) or a mapping field ->
    explicit options. Every field of :class:`IndexSpec` but ``min_coverage``
    (which changes the set of units) can be a trigger.
    """
    if isinstance(triggers, str):
        triggers = [triggers]
    if not isinstance(triggers, dict):
        triggers = list(triggers or ())
        if len(set(triggers)) != len(triggers):
            raise ClusterModelError(f"`triggers` lists a factor twice: {list(triggers)}")
        triggers = {t: None for t in triggers}
    allowed = [f for f in IndexSpec.fields() if f != "min_coverage"] + [EXCLUDE]
    out = {}
    for t, opts in triggers.items():
        if t == EXCLUDE:
            out[t] = _exclude_options(study.structure, opts)
            continue
        if t not in allowed:
            extra = " (it changes the set of units, which Sobol' outputs cannot follow)" if t == "min_coverage" else ""
            raise ClusterModelError(f"`triggers` entries must be spec fields among {', '.join(map(repr, allowed))}; got {t!r}{extra}")
        if opts is None:
            if t not in TRIGGER_OPTIONS:
                raise ClusterModelError(f"trigger {t!r} has no default options; give them explicitly, e.g. {{{t!r}: [...]}}")
            opts = list(TRIGGER_OPTIONS[t])
            if t == "reference" and not study.has_groups:
                opts = ["sample"]
            if t == "normalisation":
                s = study.structure
                if any(math.isnan(v) for v in s.attribute("targets")):
                    opts.remove("target")
                if any(math.isnan(v) for v in s.attribute("goalpost_lower")):
                    opts.remove("goalposts")
            if t == "denominate" and all(d is None for d in study.structure.attribute("denominators")):
                opts = [True]
            if spec is not None:
                opts = [o for o in opts if _computes(study, spec, t, o, dropped)]
        opts = tuple(opts)
        if len(opts) < 2:
            raise ClusterModelError(f"trigger {t!r} has fewer than two options for this study ({list(opts)}); drop it")
        for o in opts:
            IndexSpec().replace(**{t: o})  # every option must be a valid value of the field
        out[t] = opts
    return {t: out[t] for t in (*IndexSpec.fields(), EXCLUDE) if t in out}


#: The trigger that leaves one element out: options ``"none"`` and node names (weight 0, siblings renormalised).
EXCLUDE = "exclude"


def _exclude_options(structure, opts) -> tuple:
    """Options of the ``exclude`` trigger: ``"none"`` then nodes below the index (default: the index's children)."""
    from clustermodel.removal import removed_nodes

    if opts is None:
        opts = ["none", *structure.children(structure.root)]
    opts = tuple(str(o) for o in opts)
    bad = [o for o in opts if o != "none" and o not in structure.weighted]
    if bad:
        raise ClusterModelError(
            f"trigger 'exclude' options must be 'none' or nodes below the index; {', '.join(map(repr, bad))} are not "
            f"(nodes: {', '.join(structure.weighted)})"
        )
    if len(set(opts)) < 2:
        raise ClusterModelError(f"trigger 'exclude' has fewer than two options ({list(opts)}); drop it")
    for o in opts:
        if o != "none":
            removed_nodes(structure, o)  # refuses an element whose removal leaves nothing to aggregate
    return opts


def _computes(study, spec, field, option, dropped) -> bool:
    """Whether ``spec`` with ``field = option`` builds on this study (the reason recorded in ``dropped`` if not)."""
    from clustermodel.scenarios import StudyModel

    try:
        model = StudyModel(study, spec.replace(**{field: option}))
        model.outputs(model.nominal_weights[None, :])
    except ClusterModelError as exc:
        if dropped is not None:
            dropped[f"{field}={option}"] = str(exc)
        return False
    return True


#: Model runs evaluated together inside a chunk (a few MB of outputs at thousands of units).
BLOCK_ROWS = 128


class _WeightModel:
    """Vectorised model X -> every output, for one study and a base spec (a thin layer over StudyModel)."""

    def __init__(self, study, spec, thresholds, distribution, concentration, delta, triggers, dropped=None):
        self.study = study
        #: default trigger options left out because they cannot be computed on this study, with the reason
        self.dropped_options = dict(dropped or {})
        self.spec = spec
        self.thresholds = thresholds
        self.distribution = distribution
        self.concentration = concentration
        self.delta = delta
        self.trigger_options = dict(triggers)
        self.triggers = tuple(triggers)
        self.structure = study.structure
        self.labels = list(self.structure.weighted)
        self.parents = self.structure.parent_codes()
        self.nominal_weights = self.structure.normalise_weights(self.structure.weight_vector().values)
        self.m = len(self.labels)
        self.node_outputs = tuple(v for v in self.structure.aggregates if v != self.structure.root)
        self._models = {}
        base = self._model(spec)
        self.clusters = base.units
        self.has_regions = base.has_regions
        nominal = base.outputs(self.nominal_weights[None, :])
        self._nominal = nominal
        self.nominal_rank = nominal["rank"][0]
        self.nominal_index = nominal["index"][0]
        self.nominal_node = {v: nominal[f"score[{v}]"][0] for v in self.node_outputs}
        if self.has_regions:
            self.nominal_codes = nominal["scenario"][0]
            self.nominal_counts = nominal["scenario_count"][0]
            self.nominal_correlation = float(nominal["correlation"][0])
        for combo in self._all_combos():  # fail now, with the option named, not half-way through the sample
            try:
                self._model(self._spec_of(combo)).outputs(self.nominal_weights[None, :])
            except ClusterModelError as exc:
                raise ClusterModelError(
                    f"trigger option combination {dict(zip(self.triggers, combo))} cannot be computed on this study: {exc}"
                ) from None
        self.output_meta = self._output_meta()

    def _all_combos(self):
        import itertools

        return list(itertools.product(*(self.trigger_options[t] for t in self.triggers))) if self.triggers else []

    def _spec_of(self, combo):
        return self.spec.replace(**{t: o for t, o in zip(self.triggers, combo) if t != EXCLUDE})

    def _exclude(self, W, X):
        """Weights with the element each row's ``exclude`` option names set to 0 (renormalised within parents)."""
        from clustermodel.removal import removed_nodes

        k = self.triggers.index(EXCLUDE)
        opts = self.trigger_options[EXCLUDE]
        codes = self.trigger_specs(X)[:, k]
        W = W.copy()
        pos = {v: j for j, v in enumerate(self.labels)}
        for c, o in enumerate(opts):
            if o == "none":
                continue
            W[codes == c, pos[removed_nodes(self.structure, o)[-1]]] = 0.0
        return self.structure.normalise_weights(W)

    def _model(self, spec):
        from clustermodel.scenarios import StudyModel

        key = spec
        if key not in self._models:
            self._models[key] = StudyModel(self.study, spec, thresholds=self.thresholds, nodes=self.node_outputs)
        return self._models[key]

    def _outputs_raw(self, W, spec):
        m = self._model(spec)
        out = m.outputs(W, nominal=self._nominal)
        for v in self.node_outputs:
            sc = out[f"score[{v}]"]
            out[f"rank[{v}]"] = rank_values(sc, dtype=float)
        return out

    def _output_meta(self):
        quantity, cluster, scenario, node, names = [], [], [], [], []

        def add(q, c=None, s=None, v=None, name=None):
            quantity.append(q)
            cluster.append(c)
            scenario.append(s)
            node.append(v)
            names.append(name)

        qs = ("index", "rank", "scenario_kept") if self.has_regions else ("index", "rank")
        for q in qs:
            for c in self.clusters:
                add(q, c.item() if hasattr(c, "item") else c, name=f"{q}[{c}]")
        for v in self.node_outputs:
            for q in ("node_score", "node_rank"):
                for c in self.clusters:
                    add(q, c.item() if hasattr(c, "item") else c, v=v, name=f"{q}[{v}][{c}]")
        if self.has_regions:
            for s in SCENARIOS:
                add("scenario_count", s=s, name=f"scenario_count[{s}]")
            add("counts_kept", name="counts_kept")
        add("mean_rank_shift", name="mean_rank_shift")
        if self.has_regions:
            add("correlation", name="correlation")
        return {"quantity": quantity, "cluster": cluster, "scenario": scenario, "node": node, "name": names}

    def nominal_values(self) -> np.ndarray:
        n = len(self.clusters)
        parts = [self.nominal_index, self.nominal_rank]
        if self.has_regions:
            parts.append(np.ones(n))
        for v in self.node_outputs:
            sc = self.nominal_node[v]
            parts += [sc, rank_values(sc, dtype=float)]
        if self.has_regions:
            parts += [self.nominal_counts, [1.0]]
        parts.append([0.0])
        if self.has_regions:
            parts.append([self.nominal_correlation])
        return np.concatenate(parts)

    def _stack(self, out) -> np.ndarray:
        cols = [out["index"], out["rank"]]
        if self.has_regions:
            cols.append(out["scenario_kept"])
        for v in self.node_outputs:
            cols += [out[f"score[{v}]"], out[f"rank[{v}]"]]
        if self.has_regions:
            cols += [out["scenario_count"], out["counts_kept"][:, None]]
        cols.append(out["mean_rank_shift"][:, None])
        if self.has_regions:
            cols.append(out["correlation"][:, None])
        return np.concatenate(cols, axis=1)

    def trigger_specs(self, X) -> np.ndarray:
        """Integer option index of every trigger factor, shape (rows, n_triggers)."""
        cols = []
        for t, col in zip(self.triggers, X[:, self.m :].T):
            k = len(self.trigger_options[t])
            cols.append(np.minimum((np.asarray(col) * k).astype(np.intp), k - 1))
        return np.column_stack(cols) if cols else np.zeros((X.shape[0], 0), dtype=np.intp)

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        W = weights_from_unit(
            X[:, : self.m], self.nominal_weights, parents=self.parents, distribution=self.distribution,
            concentration=self.concentration, delta=self.delta,
        )
        if not self.triggers:
            return self._blocked(W, self.spec)
        if EXCLUDE in self.triggers:
            W = self._exclude(W, X)
        codes = self.trigger_specs(X)
        # one integer per combination of options (mixed radix, first trigger most significant: the order of
        # np.unique(codes, axis=0), which sorts rows through a slow structured view)
        radix = tuple(len(self.trigger_options[t]) for t in self.triggers)
        keys, inverse = np.unique(np.ravel_multi_index(tuple(codes.T), radix), return_inverse=True)
        combos = np.column_stack(np.unravel_index(keys, radix))
        inverse = inverse.reshape(-1)
        Y = np.empty((X.shape[0], len(self.output_meta["name"])))
        for c, combo in enumerate(combos):  # one vectorised call per distinct spec, not per row
            rows = np.flatnonzero(inverse == c)
            spec = self._spec_of(self.trigger_options[t][o] for t, o in zip(self.triggers, combo))
            Y[rows] = self._blocked(W[rows], spec)
        return Y

    def _blocked(self, W, spec) -> np.ndarray:
        """The stacked outputs of weight rows W, computed BLOCK_ROWS rows at a time into one array: every pass over a
        block (aggregation, ranks, stacking) stays in cache, which a whole chunk of runs does not (5x on the ranks
        of 2000 units)."""
        Y = None
        for lo in range(0, W.shape[0], BLOCK_ROWS):
            part = self._stack(self._outputs_raw(W[lo : lo + BLOCK_ROWS], spec))
            if Y is None:
                Y = np.empty((W.shape[0], part.shape[1]))
            Y[lo : lo + BLOCK_ROWS] = part
        return Y

    def importance(self):
        """Paruolo et al. (2013): linear first-order importance of each indicator in the nominal index.

        Returns the squared correlation of every indicator's normalised value
        with the nominal index across units, and the indicators' effective
        weights (products of the normalised weights down the tree).
        """
        c = self._model(self.spec).construction
        r = pearson(c.normalised.T, self.nominal_index[None, :], axis=-1)
        s = np.where(np.isnan(r), 0.0, r**2)
        if AGGREGATIONS and self.spec.top_aggregation == "equation1":
            eff = (self.structure.effective_weights() > 0).astype(float)
        else:
            eff = self.structure.effective_weights()
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
        weighted node of the structure, then one per trigger) to every
        output, shape (rows, n_outputs); ``model.output_meta['name']`` names
        the columns.
    problem : dict
        The matching SALib problem (all inputs uniform on [0, 1]).

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> from clustermodel.spec import PAPER_SPEC
    >>> model, problem = weight_model(load_paper(), PAPER_SPEC.replace(aggregation="quadratic"))
    >>> model(np.full((2, problem["num_vars"]), 0.5)).shape
    (2, 82)
    """
    spec, thresholds, concentration, delta, triggers, dropped = _weight_sensitivity_iv(
        study, spec, distribution, concentration, delta, triggers, thresholds
    )
    model = _WeightModel(study, spec, thresholds, distribution, concentration, delta, triggers, dropped)
    return model, weight_problem(model.labels, model.triggers)


def _weight_sensitivity_iv(study, spec, distribution, concentration, delta, triggers, thresholds):
    spec = study.spec if spec is None else spec
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    if distribution not in WEIGHT_DISTRIBUTIONS:
        raise ClusterModelError(f"`distribution` must be one of {', '.join(map(repr, WEIGHT_DISTRIBUTIONS))}; got {distribution!r}")
    concentration = check_number(concentration, "`concentration`", minimum=0, exclusive_minimum=True)
    # (0, 1): every perturbed weight stays positive
    delta = check_number(delta, "`delta`", minimum=0, maximum=1, exclusive_minimum=True, exclusive_maximum=True)
    dropped = {}
    triggers = trigger_options(study, triggers, spec, dropped=dropped)
    w = study.structure.weight_vector()
    if distribution == "dirichlet" and np.any(w.values <= 0):
        zero = [str(v) for v, x in zip(w["node"].values, w.values) if x <= 0]
        raise ClusterModelError(
            f"the Dirichlet weight distribution needs positive nominal weights; {', '.join(zero)} has weight 0: "
            "use distribution='uniform' or drop the node"
        )
    return spec, thresholds, concentration, delta, triggers, dropped


@dataclass(frozen=True, repr=False)
class SobolResult(ResultDisplay):
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
        spec's aggregation, the linear first-order importance of the indicator
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
    note_codes : tuple of (str, dict)
        What the run's notes must say, as machine-readable codes with their numbers (``"equation1_weights_inert"``,
        ``"spec_moves_paper_counts"`` with the counts, ...); :attr:`notes` words them.
    nouns : clustermodel.nouns.Nouns or None
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
    note_codes: tuple = ()
    nouns: Nouns | None = None

    @property
    def notes(self) -> tuple:
        """The notes as sentences (written by :func:`clustermodel.reporting.sobol.result_notes` from :attr:`note_codes`)."""
        from clustermodel._display import call_narrator

        return tuple(call_narrator("clustermodel.reporting.sobol:result_notes", self))

    def _display_(self) -> tuple[str, list]:
        ix = self.indices
        head = f"{len(ix.outputs)} outputs x {len(ix.factors)} factors, aggregation {self.spec.aggregation!r}"
        rows: list = [("design", f"method {ix.method!r}, N={ix.n}, replicates={ix.replicates}, {ix.model_runs} model runs")]
        rows.append(("weights", f"{self.distribution['name']}" + "".join(f", {k} {v:g}" for k, v in self.distribution.items() if k in ("concentration", "delta"))))
        if self.triggers:
            rows.append(("triggers", ", ".join(self.triggers)))
        imp = sorted(self.importance, key=lambda r: -r["mean_index_ST"])[:3]
        if imp:
            rows.append(("mean ST on the index", ", ".join(f"{r['indicator']} {fmt(r['mean_index_ST'])}" for r in imp)))
        if "mean_rank_shift" in ix.outputs:
            k = ix.outputs.index("mean_rank_shift")
            j = int(np.argmax(ix.ST[k]))
            rows.append(("ST on the mean rank shift", f"largest: {ix.factors[j]} {fmt(ix.ST[k, j])}"))
        rows.append(("constant outputs", f"{int(ix.constant.sum())} of {len(ix.outputs)}"))
        rows.append(("tables", "to_frame(): S1, ST and their intervals per (output, factor); summary(): the report"))
        return head, rows

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

    def to_dict(self, records: bool = True) -> dict:
        """Everything as plain data; ``records=False`` leaves out the per-(output, factor) records (the summary a file
        writer keeps, without building 120 000 dicts at 2000 units only to drop them)."""
        ix = self.indices
        d = {
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
        }
        if records:
            d["records"] = self.to_records()
        d.update(outputs=self.output_table(), weights_vs_importance=self.importance, convergence=self.convergence_table(), notes=list(self.notes), note_codes=[[c, p] for c, p in self.note_codes])
        return d

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataframe(self) -> pd.DataFrame:
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
        ds.attrs.update(self.spec.to_attrs())
        ds.attrs.update({f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()})
        ds.attrs.update({f"distribution_{k}": v for k, v in self.distribution.items()})
        ds.attrs["triggers"] = ", ".join(self.triggers) or "none"
        ds.attrs["seed"] = -1 if self.seed is None else self.seed
        ds.attrs["notes"] = "\n".join(self.notes)
        ds.attrs["cluster_coord"] = "cluster label of the output, -1 for study-level outputs"
        return ds

    _narrator_ = "clustermodel.reporting.sobol:markdown"

    def summary(self, *, nouns: Nouns | None = None) -> str:
        """Markdown report (:func:`clustermodel.reporting.sobol.markdown`) with the study's nouns."""
        from clustermodel._display import narrate
        from clustermodel.nouns import PAPER_NOUNS

        return narrate(self, nouns=nouns or self.nouns or PAPER_NOUNS)


def weight_sensitivity(
    study: Study,
    spec: IndexSpec | None = None,
    *,
    n: int = 1024,
    replicates: int | None = None,
    method: str = "replicate",
    rng: RNGLike = None,
    distribution: str = "dirichlet",
    concentration: float = 50.0,
    delta: float = 0.25,
    triggers: Sequence[str] | Mapping[str, Sequence[Any]] = (),
    thresholds: ScenarioThresholds | None = None,
    n_resamples: int = 100,
    confidence_level: float = 0.95,
    convergence_levels: int = 1,
    chunk_size: int | None = None,
    memory_limit: int | str | None = None,
    client: Client | str | None = None,
    progress: bool = True,
    seed: RNGLike = None,
) -> SobolResult:
    """Sobol' sensitivity of every score, rank and conclusion to the expert weights.

    Parameters
    ----------
    study : clustermodel.data.Study
        Units, their structure (the nominal weights) and optionally a region table.
    spec : IndexSpec, optional
        Base spec; default the study's. Under ``aggregation='equation1'``
        (the paper's formula as printed) the weights cancel and every weight
        index is 0, which this function reports as a finding.
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
        from it. (``seed=`` is still accepted, with a ``DeprecationWarning``: ``rng`` is the one
        name, as in scipy.)
    distribution : {'dirichlet', 'uniform'}, default 'dirichlet'
        How the independent uniform inputs map onto the simplex
        (:data:`WEIGHT_DISTRIBUTIONS`, :func:`weights_from_unit`).
    concentration : float, default 50
        Dirichlet concentration kappa: w ~ Dirichlet(kappa * published weights).
    delta : float, default 0.25
        Largest relative perturbation of the ``'uniform'`` distribution.
    triggers : sequence of str, optional
        Spec fields added as discrete trigger factors (a uniform input split
        into equal parts, one per option): any field of :class:`IndexSpec`
        but ``min_coverage``, with the options of :func:`trigger_options`, or
        a mapping field -> options.
    thresholds : ScenarioThresholds, optional
    n_resamples : int, default 100
        Bootstrap resamples (``method='bootstrap'`` only).
    confidence_level : float, default 0.95
    convergence_levels : int, default 1
        L > 1 also estimates the indices at N / 2^(L-1), …, N / 2, N.
    chunk_size, memory_limit, client, progress
        How the model runs are chunked and scheduled (dask; memory budget, default a
        quarter of the memory available; a ``dask.distributed`` client or scheduler address; a progress bar on a
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
    >>> from clustermodel.spec import PAPER_SPEC
    >>> res = weight_sensitivity(load_paper(), PAPER_SPEC.replace(aggregation="quadratic"), n=256, rng=1)
    >>> res.indices.S1.shape
    (82, 4)
    """
    if seed is not None:
        warnings.warn("weight_sensitivity(seed=...) is deprecated; pass the same value as rng=", DeprecationWarning, stacklevel=2)
        if rng is not None:
            raise ClusterModelError("pass `rng` only (`seed` is its deprecated name), not both")
        rng, seed = seed, None
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

    # Weights against importance (Paruolo et al. 2013), per indicator
    lin, eff_share = model.importance()
    share = lin / lin.sum() if lin.sum() > 0 else np.zeros_like(lin)
    idx_rows = [k for k, q in enumerate(meta["quantity"]) if q == "index"]
    shift = meta["name"].index("mean_rank_shift")
    importance = []
    for j, lab in enumerate(model.structure.leaves):
        f = model.labels.index(lab)
        importance.append(
            {
                "indicator": lab,
                "nominal_weight": nominal_w[lab],
                "effective_weight": float(eff_share[j]),
                "linear_importance": float(lin[j]),
                "linear_importance_share": float(share[j]),
                "mean_index_S1": float(ix.S1[idx_rows, f].mean()),
                "mean_index_ST": float(ix.ST[idx_rows, f].mean()),
                "rank_shift_S1": float(ix.S1[shift, f]),
                "rank_shift_ST": float(ix.ST[shift, f]),
            }
        )

    dist = {"name": distribution}
    if distribution == "dirichlet":
        dist["concentration"] = concentration
    else:
        dist["delta"] = delta
    dist["description"] = WEIGHT_DISTRIBUTIONS[distribution]

    # what the report must say about this run, as codes and numbers; reporting/sobol.py:result_notes words them
    codes: list[tuple[str, dict]] = [("independent_uniforms", {"distribution": distribution})]
    weight_cols = ix.ST[:, :m]
    weights_inert = bool(np.all(ix.S1[:, :m] == 0) and np.all(weight_cols == 0))
    equation1 = spec.top_aggregation == "equation1" and "aggregation" not in triggers
    if equation1:
        codes.append(("equation1_weights_inert" if weights_inert else "equation1_weights_cancel", {}))
    if ix.constant.all() and not equation1:
        codes.append(("every_output_constant", {}))
    codes += [("index_notes", {}), ("discrete_outputs", {"scenarios": bool(model.has_regions)})]
    nominal_counts = {s: int(c) for s, c in zip(SCENARIOS, model.nominal_counts)} if model.has_regions else None
    from clustermodel.paper import PAPER_COUNTS

    if model.has_regions and nominal_counts != PAPER_COUNTS and study.spec.normalisation == "max":
        codes.append(("spec_moves_paper_counts", {"counts": nominal_counts, "paper": dict(PAPER_COUNTS)}))
    for option, why in model.dropped_options.items():
        codes.append(("trigger_option_dropped", {"option": option, "reason": why}))
    if triggers:
        codes.append(("trigger_factors", {"options": {t: list(model.trigger_options[t]) for t in triggers}}))
    kept = study.clusters.sel(cluster=model.clusters)
    names = kept["name"].values if "name" in kept.coords else model.clusters
    item = lambda c: c.item() if hasattr(c, "item") else c  # noqa: E731
    cluster_names = {item(c): str(nm) for c, nm in zip(model.clusters, names)}
    nominal_scenario = (
        {item(c): SCENARIOS[int(code)] for c, code in zip(model.clusters, model.nominal_codes)} if model.has_regions else {}
    )
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
        triggers=dict(model.trigger_options),
        seed=ix.seed,
        cluster_names=cluster_names,
        nominal_scenario=nominal_scenario,
        note_codes=tuple(codes),
        nouns=getattr(study, "nouns", None),
    )
