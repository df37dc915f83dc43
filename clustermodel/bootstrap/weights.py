"""The expert-panel (weight) bootstrap: :func:`weight_bootstrap` and :class:`WeightBootstrapResult`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._version import __version__
from clustermodel._dask import memory_limit_iv
from clustermodel._display import ResultDisplay, names
from clustermodel._typing import PathLike, RNGLike
from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_positive_int, check_probability, seed_record
from clustermodel.index import rank_values
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds

if TYPE_CHECKING:
    from clustermodel.data import Study
from clustermodel.bootstrap.constants import DEFAULT_CONCENTRATION, ZERO_SPREAD_RTOL, _PERCENTILE_METHOD
from clustermodel.bootstrap.engine import _check_quantiles, _plan_outputs, _stream
from clustermodel.bootstrap.panels import _nominal_shares, _panel_design, _root_seed
from clustermodel.bootstrap.percentiles import _tails
from clustermodel.bootstrap.serialise import _attr_value, _count_tables, _counts_summary, _entries, _joint_records, _output_nodes, _record, _reference_iv, _stat, _unit_coords, _weights_cancel
from clustermodel.bootstrap.summaries import _Output, _integer_bins
from clustermodel._io import finite_or_none


# --------------------------------------------------------------------------- weight bootstrap


@dataclass(frozen=True, repr=False)
class WeightBootstrapResult(ResultDisplay):
    """Distribution of every unit's scores, ranks and scenario over expert panels, as running summaries.

    Attributes
    ----------
    summary : xarray.Dataset
        Every summary. Per unit and output node (dims ``cluster``, ``node``;
        the index first, then every pillar / sub-index): ``score_nominal``,
        ``score_mean``, ``score_sd``, ``score_min``, ``score_max``,
        ``score_median``, ``score_low``, ``score_high``, ``score_error``
        (bound on the percentile error, 0 where exact), and the same for
        ``rank_*`` (integer ranks, 1 = highest). Per output node:
        ``rank_exact`` (every rank percentile exact), ``mean_rank_shift_*``
        (the mean absolute rank shift of Saisana et al. 2005, over units).
        Per weighted node (dim ``weight_node``, coordinate ``parent``):
        ``weight_centre`` (nominal panel weights), ``weight_study`` (the
        study's weights normalised within the parent) and ``weight_*``. With a
        higher-level index: ``scenario_nominal`` (cluster),
        ``scenario_probability`` (cluster, scenario), ``scenario_count_*``
        (scenario), ``scenario_count_distribution`` (scenario, count),
        ``correlation_*``, ``p_nominal_counts`` and, with reference counts,
        ``reference_counts`` and ``p_reference_counts``. Always
        ``p_zero_weight`` (the share of panels in which some weight is 0).
    draws : xarray.Dataset or None
        Every panel's weights and outputs (dim ``draw``), only with ``keep_draws=True``.
    spec, thresholds : the choices used
    mode : {'parametric', 'nonparametric'}
    panel_size : int
    concentration : float or None
        kappa (parametric mode only).
    n_experts : int or None
    experts_source : str or None
        The expert table's file (nonparametric mode only).
    expert_columns : {'nodes', 'indicators'} or None
        Whether the expert table weighs every node or only the indicators (the
        aggregates' weights then stay nominal).
    confidence_level : float
    seed : int or None
        The integer seed (or a SeedSequence's entropy) the run was given, else None.
    spawn_key : tuple of int
        The spawn key of that SeedSequence: ``(k,)`` for the k-th stream spawned from ``seed``; empty for a plain seed.
    n_resamples : int
    zero_spread : bool
        True when no unit's index varies over the panels beyond rounding (:data:`ZERO_SPREAD_RTOL`).
    weights_cancel : bool
        True when the spec's aggregation ignores positive weights at every
        level (``'equation1'`` as printed): only a zero weight can move anything.
    centre_differs : bool
        True when the panels' centre (the expert table's mean) differs from the
        study's weights by more than 0.005 on some node.
    has_regions : bool
    streaming : dict
        Chunk size, number of chunks, workers, scheduler, memory limit and
        estimate, bins, and which outputs have exact percentiles.
    """

    summary: xr.Dataset
    draws: xr.Dataset | None
    spec: IndexSpec
    thresholds: ScenarioThresholds
    mode: str
    panel_size: int
    concentration: float | None
    n_experts: int | None
    experts_source: str | None
    expert_columns: str | None
    confidence_level: float
    seed: int | None
    n_resamples: int
    zero_spread: bool
    weights_cancel: bool
    centre_differs: bool
    has_regions: bool
    streaming: dict = field(default_factory=dict)
    spawn_key: tuple[int, ...] = ()

    def _display_(self) -> tuple[str, list]:
        head = f"Expert-panel bootstrap: {self.n_resamples} panels, {self.summary.sizes['cluster']} units x {len(self.nodes)} node(s)"
        rows = [
            ("panels", self.mode_description),
            ("spec", f"aggregation={self.spec.aggregation}, normalisation={self.spec.normalisation}"),
            ("nodes", names(self.nodes)),
            ("weights cancel", self.weights_cancel),
            ("zero spread", self.zero_spread),
            ("draws", "kept (to_xarray())" if self.draws is not None else "summaries only"),
            ("tables", "to_frame(node): one row per unit; to_xarray(): every summary"),
        ]
        return head, rows

    @property
    def nodes(self) -> list:
        """The output nodes: the index first, then the other aggregates."""
        return [str(v) for v in self.summary["node"].values]

    @property
    def index_node(self) -> str:
        return self.nodes[0]

    @property
    def mode_description(self) -> str:
        """A short label of how the panels were drawn (for figure titles)."""
        if self.mode == "parametric":
            return f"parametric, κ={self.concentration:g}, panels of {self.panel_size}"
        return f"nonparametric, {self.panel_size} of {self.n_experts} experts per panel"

    @property
    def index_spread(self) -> xr.DataArray:
        """max - min of every unit's index over the panels."""
        s = self.summary.sel(node=self.index_node)
        return (s["score_max"] - s["score_min"]).rename("index_spread")

    def scenario_probabilities(self) -> xr.DataArray:
        """P(scenario) per unit, dims (cluster, scenario); rows sum to one."""
        self._need_regions("scenario probabilities")
        return self.summary["scenario_probability"]

    def _need_regions(self, what):
        if not self.has_regions:
            raise ClusterModelError(f"this study has no higher-level index, so no {what}")

    def node_table(self, node: str | None = None) -> xr.Dataset:
        """Per-unit summary of one output node (default the index) with the variables named ``index_*``/``rank_*``."""
        node = self.index_node if node is None else node
        if node not in self.nodes:
            raise ClusterModelError(f"`node` {node!r} is not an output node; output nodes are {', '.join(self.nodes)}")
        s = self.summary.sel(node=node, drop=True)
        out = xr.Dataset(coords={k: v for k, v in s.coords.items() if v.dims == ("cluster",)})
        new = {f"index_{q}": s[f"score_{q}"] for q in ("nominal", "median", "low", "high", "mean", "sd", "min", "max", "error")}
        new["index_spread"] = s["score_max"] - s["score_min"]
        new.update({f"rank_{q}": s[f"rank_{q}"] for q in ("nominal", "median", "low", "high", "mean", "sd", "min", "max")})
        if self.has_regions and node == self.index_node:
            new["scenario_nominal"] = self.summary["scenario_nominal"]
            new["scenario_probability"] = self.summary["scenario_probability"]
        out.update(new)  # one merge, not one per variable
        return out

    def cluster_table(self) -> xr.Dataset:
        """Per-unit summary of the index: nominal, median and interval of index and rank, scenario probabilities."""
        return self.node_table(self.index_node)

    def to_dataframe(self, node: str | None = None):
        """The per-unit table of a node as a pandas DataFrame, one column per scenario probability."""
        t = self.node_table(node)
        p = t.get("scenario_probability")
        df = t.drop_vars(["scenario_probability"], errors="ignore").drop_dims("scenario", errors="ignore").to_dataframe()
        if p is not None:
            for k, s in enumerate(p["scenario"].values):
                df[f"p_{s}"] = p.values[:, k]
            df["scenario_nominal"] = [SCENARIOS[int(c)] for c in df["scenario_nominal"]]
        return df

    def weight_table(self) -> dict:
        """Per weighted node: parent, centre, study weight, mean, sd, median, interval, min, max of the panel weights."""
        s = self.summary
        out = {}
        for j, v in enumerate(s["weight_node"].values):
            out[str(v)] = {
                "parent": str(s["parent"].values[j]),
                "centre": float(s["weight_centre"].values[j]),
                "study": float(s["weight_study"].values[j]),
                **{q: finite_or_none(s[f"weight_{q}"].values[j]) for q in ("mean", "sd", "median", "low", "high", "min", "max")},
            }
            if out[str(v)]["sd"] is None:
                out[str(v)]["sd"] = 0.0
        return out

    def study_summary(self) -> dict:
        """Study-level summaries: largest index spread, mean rank shift per node, correlation and scenario counts."""
        s = self.summary
        out = {
            "max_index_spread": finite_or_none(self.index_spread.max()),
            "mean_rank_shift": {v: _stat(s, "mean_rank_shift", nominal=0.0, sel={"node": v}) for v in self.nodes},
            "p_zero_weight": float(s["p_zero_weight"]),
        }
        if self.has_regions:
            out["correlation"] = _stat(s, "correlation")
            out["scenario_counts"] = _counts_summary(s)
        return out

    def to_dict(self) -> dict:
        s = self.summary
        units = []
        coords = {k: s[k].values for k in ("name", "group", "region") if k in s.coords}
        nodes, index_node = self.nodes, self.index_node
        stats = ("nominal", "median", "low", "high", "mean", "sd", "min", "max")
        # every (statistic, node) column as a numpy array once, not one xarray selection per unit
        col = {(f, v): s[f].sel(node=v).values for v in nodes for f in (f"{k}_{q}" for k in ("score", "rank") for q in stats)}
        for i, u in enumerate(s["cluster"].values):
            rec = {"id": u.item() if hasattr(u, "item") else u}
            for k, vals in coords.items():
                rec[k] = str(vals[i])
            for v in nodes:
                node = {}
                first = v == index_node  # the index in full; the other nodes' medians and intervals
                for q in stats[: 8 if first else 4]:
                    node[f"score_{q}"] = finite_or_none(col[f"score_{q}", v][i])
                for q in stats[: 8 if first else 4]:
                    x = col[f"rank_{q}", v][i]
                    node[f"rank_{q}"] = int(x) if q in ("nominal", "min", "max") else finite_or_none(x)
                if first:
                    rec.update({k.replace("score_", "index_"): val for k, val in node.items()})
                else:
                    rec.setdefault("nodes", {})[v] = node
            if self.has_regions:
                rec["scenario_nominal"] = SCENARIOS[int(s["scenario_nominal"].values[i])]
                rec["scenario_probabilities"] = {sc: float(p) for sc, p in zip(SCENARIOS, s["scenario_probability"].values[i])}
            units.append(rec)
        return {
            "kind": "weight_bootstrap",
            "mode": self.mode,
            "panel_size": self.panel_size,
            "concentration": self.concentration,
            "n_experts": self.n_experts,
            "experts_source": self.experts_source,
            "expert_columns": self.expert_columns,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "spawn_key": list(self.spawn_key),
            "confidence_level": self.confidence_level,
            "percentiles": list(_tails(self.confidence_level)),
            "percentile_method": _PERCENTILE_METHOD,
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "zero_spread": self.zero_spread,
            "weights_cancel": self.weights_cancel,
            "centre_differs": self.centre_differs,
            "has_regions": self.has_regions,
            "nodes": self.nodes,
            "weights": self.weight_table(),
            "units": units,
            "study": self.study_summary(),
            "streaming": _record(self.streaming),
            "version": __version__,
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataset(self) -> xr.Dataset:
        """The summaries and, if the run kept them (``keep_draws=True``), every panel.

        ``attrs`` hold the spec, thresholds, mode, panel size, concentration,
        seed, confidence level, percentile method, streaming record and package version.
        """
        ds = self.summary.copy()
        if self.draws is not None:
            ds = ds.merge(self.draws)
        for v in ds.data_vars.values():
            v.attrs = {}
        if "scenario_nominal" in ds:
            ds["scenario_nominal"].attrs["codes"] = ", ".join(f"{i}={s}" for i, s in enumerate(SCENARIOS))
        joint = self.summary.attrs.get("joint_counts")
        ds.attrs = {
            "title": "clustermodel weight bootstrap (expert panels)",
            **self.spec.to_attrs(),
            **{f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()},
            "mode": self.mode,
            "panel_size": self.panel_size,
            "concentration": _attr_value(self.concentration),
            "n_experts": _attr_value(self.n_experts),
            "experts_source": _attr_value(self.experts_source),
            "expert_columns": _attr_value(self.expert_columns),
            "n_resamples": self.n_resamples,
            "seed": _attr_value(self.seed),
            "spawn_key": " ".join(map(str, self.spawn_key)),
            "confidence_level": self.confidence_level,
            "percentile_method": _PERCENTILE_METHOD,
            "zero_spread": int(self.zero_spread),
            "weights_cancel": int(self.weights_cancel),
            "centre_differs": int(self.centre_differs),
            **({"joint_counts": joint} if joint else {}),
            **{f"streaming_{k}": _attr_value(v) for k, v in _record(self.streaming).items() if not isinstance(v, (dict, list))},
            "clustermodel_version": __version__,
        }
        return ds


class _WeightTask:
    """Everything a chunk of the weight bootstrap needs (picklable, shared by every chunk)."""

    def __init__(self, model, sampler, nodes, nominal, nominal_rank, reference):
        self.model = model
        self.sampler = sampler
        self.nodes = list(nodes)
        self.nominal = nominal
        self.nominal_rank = nominal_rank
        self.reference = reference


def _weight_outputs(task: _WeightTask, W: np.ndarray) -> dict:
    """Every output of the weight bootstrap for panel weights W (B, K)."""
    out = task.model.outputs(W, nominal=task.nominal)
    scores = np.stack([out["index"]] + [out[f"score[{v}]"] for v in task.nodes], axis=-1)  # (B, n, P)
    ranks = np.empty(scores.shape, np.int32)
    ranks[..., 0] = out["rank"]
    ranks[..., 1:] = rank_values(scores[..., 1:], axis=-2, dtype=np.int32)  # every other node, one call
    res = {
        "weights": W,
        "score": scores,
        "rank": ranks,
        "mean_rank_shift": np.abs(ranks - task.nominal_rank).mean(axis=1),
        "zero_weight": (W == 0).any(axis=-1),
    }
    if task.model.has_regions:
        counts = out["scenario_count"].astype(np.int64)
        res["scenario"] = out["scenario"]
        res["scenario_count"] = counts
        res["correlation"] = out["correlation"]
        res["counts_kept"] = out["counts_kept"].astype(bool)
        if task.reference is not None:
            res["reference_kept"] = np.all(counts == task.reference, axis=-1)
    return res


def _weight_chunk(task: _WeightTask, lo: int, hi: int) -> dict:
    return _weight_outputs(task, task.sampler.rows(lo, hi))


def weight_bootstrap(
    study: Study,
    spec: IndexSpec | None = None,
    *,
    mode: str | None = None,
    experts: PathLike | xr.DataArray | None = None,
    panel_size: int | None = None,
    concentration: float = DEFAULT_CONCENTRATION,
    n_resamples: int = 10_000,
    thresholds: ScenarioThresholds | None = None,
    confidence_level: float = 0.90,
    nodes: list[str] | None = None,
    reference_counts: dict | None = None,
    keep_draws: bool = False,
    quantiles: str = "auto",
    bins: int | None = None,
    chunk_size: int | None = None,
    memory_limit: int | str | None = None,
    client: object = None,
    progress: bool = True,
    rng: RNGLike = None,
) -> WeightBootstrapResult:
    """Bootstrap the expert panel behind the weights of every level: score, rank and scenario uncertainty.

    Parameters
    ----------
    study : clustermodel.data.Study
        Any study: units and a structure. Scenarios and the correlation of the
        two indices are added when it has a higher-level (region) table.
    spec : IndexSpec, optional
        Default: the study's spec. Under ``aggregation='equation1'`` every
        positive weight cancels: ``weights_cancel`` is then True and the panels
        show zero spread unless a panel weight is exactly 0.
    mode : {'parametric', 'nonparametric'}, optional
        Default: 'nonparametric' if ``experts`` is given, else 'parametric'.
    experts : path or DataArray (expert, node), optional
        Your own expert table (see :func:`load_experts`): weights for every
        weighted node, or only for the indicators (the aggregates' weights then
        stay nominal).
    panel_size : int, optional
        Experts per panel; default 5 (parametric) or the number of experts in
        the table (nonparametric).
    concentration : float
        Dirichlet kappa of the parametric mode, the same within every parent.
    n_resamples : int
        Number of panels (default 10 000).
    thresholds : ScenarioThresholds, optional
        Fractions of the attainable maximum, applied per panel.
    confidence_level : float
        Of the percentile intervals; 0.90 gives the 5-95 % interval.
    nodes : sequence of str, optional
        Aggregates besides the index whose scores and ranks are summarised;
        default every pillar and sub-index; ``()`` for the index only.
    reference_counts : dict, optional
        Scenario counts to compare every panel's counts with (e.g. the
        published ones); the share of panels matching them is reported.
    keep_draws : bool
        Keep every panel's weights and outputs (``draws``; memory grows with
        ``n_resamples``). Default: summaries only.
    quantiles : {'auto', 'exact', 'histogram'}
        How percentiles of scores and weights are obtained (see Notes).
    bins : int, optional
        Histogram bins per unit and real-valued output (default
        :data:`DEFAULT_BINS`, fewer if the memory budget requires); ranks get
        up to ``4 * bins``.
    chunk_size : int, optional
        Panels per chunk; default the largest that fits ``memory_limit``.
    memory_limit : int or str, optional
        Memory budget (bytes or a size such as ``'2GiB'``; default a quarter of the memory available to this process,
        at least 512 MiB: :func:`clustermodel._dask.default_memory_limit`).
        The need is estimated before the first chunk (a traced pilot chunk);
        if it cannot be met a one-line :class:`ClusterModelError` names the
        option that fixes it.
    client : dask.distributed.Client or str, optional
        Run the chunks on a ``dask.distributed`` cluster (a Client or a
        scheduler address). Default: dask's local threaded scheduler.
    progress : bool
        A progress bar (tqdm) when standard error is a terminal.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    WeightBootstrapResult

    Raises
    ------
    ClusterModelError
        For a bad mode, concentration, panel size, node or expert table (a
        parent's weights not summing to one, a negative weight, a column the
        data lacks), or a memory budget the run cannot meet.

    Notes
    -----
    Only the panel-mean weights vary; the data, the normalisation, the
    higher-level index and its threshold are fixed. Panels are evaluated in
    chunks by :class:`clustermodel.scenarios.StudyModel` and folded into
    running statistics: category counts (scenario probabilities), exact
    integer sums and per-unit histograms of ranks (exact percentiles while a
    unit's ranks span at most the histogram's bins), minimum, maximum and sums
    shifted by the nominal value (mean and sd to rounding), and per-unit
    values (``quantiles='exact'``, or ``'auto'`` while they fit in a quarter of
    the budget) or histograms on aligned power-of-two grids (``'histogram'``):
    then each percentile is within ``score_error`` (half a bin width, at most
    range / (0.75 bins - 1)) of numpy's. Ranks are competition ranks (exactly tied units share one).
    The panels are drawn in fixed blocks, each from its own stream spawned
    from ``rng``, so the result does not depend on ``chunk_size`` or the scheduler.

    References
    ----------
    .. [1] Efron, B. and Tibshirani, R. J. (1993). An Introduction to the
       Bootstrap. Chapman & Hall. https://doi.org/10.1201/9780429246593
    .. [2] Saisana, M., Saltelli, A. and Tarantola, S. (2005). Uncertainty and
       sensitivity analysis techniques as tools for the quality assessment of
       composite indicators. JRSS A 168(2), 307-323.
       https://doi.org/10.1111/j.1467-985X.2005.00350.x

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> r = weight_bootstrap(load_paper(), IndexSpec(aggregation="quadratic"), n_resamples=200, rng=1, progress=False)
    >>> r.zero_spread
    False
    """
    from clustermodel.scenarios import StudyModel

    spec = study.spec if spec is None else spec
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    cl = check_probability(confidence_level, "confidence_level")
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    if n_resamples >= 2**31:
        raise ClusterModelError(f"`n_resamples` must be below 2**31, got {n_resamples}")
    quantiles = _check_quantiles(quantiles)
    reference = _reference_iv(reference_counts)
    if mode is None:
        mode = "parametric" if experts is None else "nonparametric"
    structure = study.structure
    out_nodes = _output_nodes(structure, nodes)
    seed, spawn_key = seed_record(rng)
    gen = as_rng(rng)
    design = _panel_design(structure, mode=mode, experts=experts, panel_size=panel_size, concentration=concentration, root=_root_seed(gen))
    limit = memory_limit_iv(memory_limit)

    model = StudyModel(study, spec, thresholds=thresholds, nodes=out_nodes)
    c = model.construction
    n = len(c.units)
    nominal = model.outputs(design.centre[None, :])
    nominal_scores = np.stack([nominal["index"][0]] + [nominal[f"score[{v}]"][0] for v in out_nodes], axis=-1)
    nominal_ranks = np.empty(nominal_scores.shape, np.int32)
    nominal_ranks[:, 0] = nominal["rank"][0]
    nominal_ranks[:, 1:] = rank_values(nominal_scores[:, 1:], axis=0, dtype=np.int32)
    task = _WeightTask(model, design.sampler, out_nodes, nominal, nominal_ranks, reference)

    K, P = len(structure.weighted), 1 + len(out_nodes)
    regions = model.has_regions
    outputs = [
        _Output("weights", "real", (K,), centre=design.centre, keep=keep_draws),
        _Output("score", "real", (n, P), centre=nominal_scores, keep=keep_draws),
        _Output("rank", "int", (n, P), centre=nominal_ranks, bins=_integer_bins(n), keep=keep_draws, draw_dtype=np.int32),
        _Output("mean_rank_shift", "real", (P,), centre=np.zeros(P), keep=keep_draws),
        _Output("zero_weight", "flag", (), keep=keep_draws, draw_dtype=bool),
    ]
    if regions:
        nominal_counts = nominal["scenario_count"][0].astype(np.int64)
        outputs += [
            _Output("scenario", "cat", (n,), categories=len(SCENARIOS), keep=keep_draws, draw_dtype=np.int8),
            _Output("scenario_count", "int", (len(SCENARIOS),), centre=nominal_counts, bins=_integer_bins(n + 1), keep=keep_draws,
                    joint=True, distribution=True, draw_dtype=np.int32),
            _Output("correlation", "real", (), centre=np.atleast_1d(np.nan_to_num(nominal["correlation"])), keep=keep_draws),
            _Output("counts_kept", "flag", (), keep=keep_draws, draw_dtype=bool),
        ]
        if reference is not None:
            outputs.append(_Output("reference_kept", "flag", (), keep=keep_draws, draw_dtype=bool))
    chosen_bins = _plan_outputs(outputs, n_resamples=n_resamples, limit=limit, quantiles=quantiles, bins=bins, what="weight bootstrap")
    running, record = _stream(
        _weight_chunk, task, outputs, what="weight bootstrap", n_resamples=n_resamples, memory_limit=limit,
        chunk_size=chunk_size, client=client, progress=progress,
        parts_fix={
            "state": ("the running statistics", " or fewer `nodes`, or quantiles='histogram'"),
            "kept": ("the values kept for exact percentiles and draws", " or keep_draws=False, or quantiles='histogram'"),
            "chunk": ("one panel per worker", ""),
        },
    )
    record["bins"] = chosen_bins
    record["quantiles"] = {o.name: "exact" if o.exact else "histogram" for o in outputs if o.kind == "real"}

    # ---- assemble the summaries
    node_coords = {"node": [structure.root, *out_nodes], "level": ("node", [structure.level(v) for v in [structure.root, *out_nodes]])}
    ucoords = _unit_coords(c)
    # (variables added in batches: each single assignment to a Dataset is a merge of the whole dataset)
    ds = xr.Dataset(coords={**ucoords, **node_coords})
    sc = running.summary("score", cl)
    rk = running.summary("rank", cl)
    new = {"score_nominal": (("cluster", "node"), nominal_scores), **_entries("score", sc, ["cluster", "node"])}
    new["score_n_undefined"] = (("cluster", "node"), n_resamples - sc["count"])
    new["rank_nominal"] = (("cluster", "node"), nominal_ranks)
    new.update(_entries("rank", rk, ["cluster", "node"]))
    for k in ("rank_min", "rank_max"):
        new[k] = (new[k][0], new[k][1].astype(np.int32))
    new["rank_exact"] = ("node", (rk["error"] == 0).all(axis=0))
    new.update(_entries("mean_rank_shift", running.summary("mean_rank_shift", cl), ["node"]))
    ds.update(new)
    wt = running.summary("weights", cl)
    ds = ds.assign_coords(weight_node=list(structure.weighted), parent=("weight_node", [structure.parent(v) for v in structure.weighted]))
    new = {"weight_centre": ("weight_node", design.centre), "weight_study": ("weight_node", _nominal_shares(structure))}
    new.update(_entries("weight", wt, ["weight_node"]))
    new["p_zero_weight"] = float(running.summary("zero_weight", cl)["probability"])
    ds.update(new)
    if regions:
        ds = ds.assign_coords(scenario=list(SCENARIOS))
        new = {
            "scenario_nominal": ("cluster", nominal["scenario"][0].astype(np.int8)),
            "scenario_probability": (("cluster", "scenario"), running.summary("scenario", cl)["probability"]),
        }
        cs = running.summary("scenario_count", cl)
        new["scenario_count_nominal"] = ("scenario", nominal_counts)
        new.update(_entries("scenario_count", cs, ["scenario"]))
        dist, joint = _count_tables(cs, n)
        new["scenario_count_distribution"] = (("scenario", "count"), dist)
        ds.attrs["joint_counts"] = json.dumps(_joint_records(joint, n_resamples))
        co = running.summary("correlation", cl)
        new["correlation_nominal"] = float(nominal["correlation"][0])
        new.update(_entries("correlation", co, []))
        new["correlation_n_undefined"] = n_resamples - int(co["count"])
        new["p_nominal_counts"] = float(running.summary("counts_kept", cl)["probability"])
        if reference is not None:
            new["reference_counts"] = ("scenario", reference)
            new["p_reference_counts"] = float(running.summary("reference_kept", cl)["probability"])
        ds.update(new)

    # zero to rounding: batched matrix products may differ in the last bit between batch shapes
    top, bottom = ds["score_max"].isel(node=0).values, ds["score_min"].isel(node=0).values
    scale = np.nan_to_num(np.maximum(np.abs(top), np.abs(bottom)))
    zero = bool(np.all(np.nan_to_num(top - bottom) <= ZERO_SPREAD_RTOL * scale))
    study_w = _nominal_shares(structure)
    draws = _weight_draws(running, outputs, ds, structure) if keep_draws else None
    return WeightBootstrapResult(
        summary=ds,
        draws=draws,
        spec=spec,
        thresholds=thresholds,
        mode=design.mode,
        panel_size=design.panel_size,
        concentration=design.concentration,
        n_experts=design.n_experts,
        experts_source=design.experts_source,
        expert_columns=design.expert_columns,
        confidence_level=cl,
        seed=seed,
        spawn_key=spawn_key,
        n_resamples=n_resamples,
        zero_spread=zero,
        weights_cancel=_weights_cancel(spec, structure),
        centre_differs=bool(np.max(np.abs(study_w - design.centre)) > 0.005),
        has_regions=regions,
        streaming=record,
    )


def _weight_draws(running, outputs, ds, structure) -> xr.Dataset:
    dims = {
        "weights": ["draw", "weight_node"],
        "score": ["draw", "cluster", "node"],
        "rank": ["draw", "cluster", "node"],
        "mean_rank_shift": ["draw", "node"],
        "zero_weight": ["draw"],
        "scenario": ["draw", "cluster"],
        "scenario_count": ["draw", "scenario"],
        "correlation": ["draw"],
        "counts_kept": ["draw"],
        "reference_kept": ["draw"],
    }
    names = {"weights": "panel_weights", "score": "score_draws", "rank": "rank_draws", "mean_rank_shift": "mean_rank_shift_draws",
             "scenario": "scenario_draws", "scenario_count": "scenario_count_draws", "correlation": "correlation_draws"}
    out = xr.Dataset()
    for o in outputs:
        d = running.draws(o.name)
        if d is not None:
            out[names.get(o.name, o.name)] = (dims[o.name], d)
    return out


