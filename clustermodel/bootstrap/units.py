"""The unit (data) bootstrap: :func:`cluster_bootstrap` and :class:`ClusterBootstrapResult`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._version import __version__
from clustermodel._dask import memory_limit_iv
from clustermodel._display import ResultDisplay, names
from clustermodel._typing import RNGLike
from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_choice, check_positive_int, check_probability, seed_record
from clustermodel.aggregate import aggregate_tree
from clustermodel.scenarios import classify, pearson
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds

if TYPE_CHECKING:
    from clustermodel.data import Study
from clustermodel.bootstrap.constants import MAXIMA, _PERCENTILE_METHOD
from clustermodel.bootstrap.engine import _check_quantiles, _plan_outputs, _stream
from clustermodel.bootstrap.panels import _Positions, _root_seed
from clustermodel.bootstrap.percentiles import _tails
from clustermodel.bootstrap.serialise import _attr_value, _count_tables, _counts_summary, _entries, _joint_records, _output_nodes, _record, _reference_iv, _stat
from clustermodel.bootstrap.summaries import _Output, _integer_bins
from clustermodel._io import finite_or_none


# --------------------------------------------------------------------------- cluster bootstrap


@dataclass(frozen=True, repr=False)
class ClusterBootstrapResult(ResultDisplay):
    """Distribution of sample-dependent study statistics over unit resamples, as running summaries.

    Attributes
    ----------
    summary : xarray.Dataset
        Per output node (dim ``node``, the index first): ``mean_score_*``, the
        mean score over the resampled units. ``maxima_changed_*`` (the share of
        resampled cells whose normalised value differs from the full sample's:
        a reference statistic such as a group's maximum changed) and
        ``p_maxima_changed``. With a higher-level index: ``correlation_*``,
        ``scenario_count_*`` and ``scenario_share_*`` (scenario),
        ``scenario_count_distribution``, ``p_nominal_counts`` and, with
        reference counts, ``p_reference_counts``. Every ``*_nominal`` is the
        statistic on the original sample.
    draws : xarray.Dataset or None
        Every resample's positions and statistics (dim ``resample``), only
        with ``keep_draws=True``.
    maxima : {'resample', 'fixed'}
    spec, thresholds, confidence_level, seed, spawn_key, n_resamples
    n_units : int
    has_regions : bool
    streaming : dict
    """

    summary: xr.Dataset
    draws: xr.Dataset | None
    spec: IndexSpec
    thresholds: ScenarioThresholds
    confidence_level: float
    seed: int | None
    n_resamples: int
    n_units: int
    maxima: str
    has_regions: bool
    streaming: dict = field(default_factory=dict)
    spawn_key: tuple[int, ...] = ()

    def _display_(self) -> tuple[str, list]:
        head = f"Unit (data) bootstrap: {self.n_resamples} resamples of {self.n_units} units"
        rows = [
            ("maxima", self.maxima),
            ("spec", f"aggregation={self.spec.aggregation}, normalisation={self.spec.normalisation}"),
            ("nodes", names(self.nodes)),
            ("draws", "kept (to_xarray())" if self.draws is not None else "summaries only"),
            ("tables", "to_frame(): one row per summary statistic; to_xarray(): every summary"),
        ]
        return head, rows

    def to_dataframe(self):
        """The summaries as a table: one row per (node, statistic) where they have those dimensions, else one row."""
        return self.summary.to_dataframe() if self.summary.dims else self.summary.to_pandas().to_frame().T

    @property
    def nodes(self) -> list:
        return [str(v) for v in self.summary["node"].values]

    def to_dict(self) -> dict:
        s = self.summary
        out = {
            "kind": "cluster_bootstrap",
            "n_resamples": self.n_resamples,
            "n_units": self.n_units,
            "seed": self.seed,
            "spawn_key": list(self.spawn_key),
            "confidence_level": self.confidence_level,
            "percentiles": list(_tails(self.confidence_level)),
            "percentile_method": _PERCENTILE_METHOD,
            "maxima": self.maxima,
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "has_regions": self.has_regions,
            "nodes": self.nodes,
            "mean_index": _stat(s, "mean_score", sel={"node": self.nodes[0]}),
            "mean_score": {v: _stat(s, "mean_score", sel={"node": v}) for v in self.nodes},
            "maxima_changed": {
                "p_any": float(s["p_maxima_changed"]),
                "mean_share_of_cells": finite_or_none(s["maxima_changed_mean"]),
            },
            "streaming": _record(self.streaming),
            "version": __version__,
        }
        if self.has_regions:
            out["correlation"] = _stat(s, "correlation")
            out["scenario_counts"] = _counts_summary(s)
            out["scenario_shares"] = {
                sc: {q: finite_or_none(s[f"scenario_share_{q}"].values[k]) for q in ("nominal", "median", "low", "high")}
                for k, sc in enumerate(SCENARIOS)
            }
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataset(self) -> xr.Dataset:
        """The summaries and, if the run kept them (``keep_draws=True``), every resample."""
        ds = self.summary.copy()
        if self.draws is not None:
            ds = ds.merge(self.draws)
        for v in ds.data_vars.values():
            v.attrs = {}
        joint = self.summary.attrs.get("joint_counts")
        ds.attrs = {
            "title": "clustermodel cluster (data) bootstrap",
            **self.spec.to_attrs(),
            **{f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()},
            "n_resamples": self.n_resamples,
            "n_units": self.n_units,
            "maxima": self.maxima,
            "seed": _attr_value(self.seed),
            "spawn_key": " ".join(map(str, self.spawn_key)),
            "confidence_level": self.confidence_level,
            "percentile_method": _PERCENTILE_METHOD,
            **({"joint_counts": joint} if joint else {}),
            **{f"streaming_{k}": _attr_value(v) for k, v in _record(self.streaming).items() if not isinstance(v, (dict, list))},
            "clustermodel_version": __version__,
        }
        return ds


def _cluster_statistics(study, spec, thresholds, positions, maxima="resample", *, model=None, nodes=()):
    """Study statistics for a batch of resamples given as positions (B, n); vectorised over B.

    The construction steps that depend on the sample (imputation, treatment,
    the normaliser's reference statistics) are redone inside every resample
    unless ``maxima == 'fixed'``. Returns ``mean_index`` (B,), ``mean_score``
    (B, 1 + len(nodes)), ``maxima_changed`` (B,) and, with a region table,
    ``correlation`` (B,) and ``scenario_counts`` (B, 4).
    """
    from clustermodel.index import construct_arrays
    from clustermodel.scenarios import StudyModel

    model = StudyModel(study, spec, thresholds=thresholds) if model is None else model
    c = model.construction
    tree = study.structure
    W = tree.weight_vector().values
    keep = [tree.root, *nodes]
    agg = dict(structure=tree, aggregation_at=lambda lv: spec.aggregation_at(lv, tree.n_levels), missing=spec.missing, keep=keep)
    positions = np.asarray(positions)
    B = positions.shape[0]
    if maxima == "fixed":
        res = aggregate_tree(np.vstack([c.normalised, c.top[None]]), np.vstack([c.present, np.ones_like(c.top, bool)[None]]), W, **agg)
        full = {v: res[v][:-1][positions] for v in keep}
        top = np.full(B, res[tree.root][-1])
        changed = np.zeros(B)
    else:
        kept = study.clusters.sel(cluster=c.units)
        den = kept.get("denominators")
        codes = fill_codes = None
        if "group" in kept.coords and "group" in (spec.reference, spec.imputation_reference):
            _, group = np.unique(kept["group"].values, return_inverse=True)
            codes = group[positions] if spec.reference == "group" else None
            fill_codes = group[positions] if spec.imputation_reference == "group" else None
        arrs = construct_arrays(
            c.raw[positions] if den is None else kept["indicators"].sel(indicator=list(tree.leaves)).values[positions],
            structure=tree,
            spec=spec.replace(denominate=spec.denominate and den is not None),
            denominators=None if den is None else den.values[positions],
            denominator_names=() if den is None else [str(v) for v in den["denominator"].values],
            group_codes=codes,
            impute_codes=fill_codes,
            reference_values=c.reference_values,  # dist2ref: the full sample's reference unit, drawn or not
        )
        full = aggregate_tree(arrs["normalised"], arrs["present"], W, **agg)
        # the virtual top unit of each resample, aggregated on its own (no copy of the units with a row appended)
        tops = arrs["top"][:, None, :]
        top = aggregate_tree(tops, np.ones(tops.shape, bool), W, **agg)[tree.root][:, 0]
        # a cell changed when it is not np.isclose(..., rtol=1e-12, atol=0) to its nominal value, written out (the
        # same test on finite values, without isclose's extra passes)
        nominal = c.normalised[positions]
        moved = np.abs(arrs["normalised"] - nominal) > 1e-12 * np.abs(nominal)
        moved &= arrs["present"]
        changed = moved.mean(axis=(-2, -1))
        del arrs, nominal, moved
    ci = full[tree.root]
    # the mean over the units that have a score (as numpy's nanmean, without its warning: this runs in worker
    # threads, where warnings.catch_warnings is not safe); NaN where a node is missing in every drawn unit
    means = []
    for v in keep:
        ok = ~np.isnan(full[v])
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append(np.where(ok, full[v], 0.0).sum(axis=-1) / ok.sum(axis=-1))
    means = np.stack(means, axis=-1)
    out = {"mean_index": means[:, 0], "mean_score": means, "maxima_changed": changed}
    if model.has_regions:
        roc = model.region_index_of_unit[positions]
        sc = classify(ci >= thresholds.cluster * top[:, None], roc >= model.region_threshold)
        out["scenario_counts"] = np.stack([(sc == k).sum(axis=-1) for k in range(len(SCENARIOS))], axis=-1)
        out["correlation"] = pearson(ci, roc, axis=-1)
    return out


class _ClusterTask:
    """Everything a chunk of the cluster bootstrap needs (picklable, shared by every chunk)."""

    def __init__(self, study, spec, thresholds, model, sampler, maxima, nodes, nominal_counts, reference, keep_positions):
        self.study, self.spec, self.thresholds, self.model = study, spec, thresholds, model
        self.sampler, self.maxima, self.nodes = sampler, maxima, list(nodes)
        self.nominal_counts, self.reference, self.keep_positions = nominal_counts, reference, keep_positions


def _cluster_chunk(task: _ClusterTask, lo: int, hi: int) -> dict:
    positions = task.sampler.rows(lo, hi)
    st = _cluster_statistics(task.study, task.spec, task.thresholds, positions, task.maxima, model=task.model, nodes=task.nodes)
    res = {
        "mean_score": st["mean_score"],
        "maxima_changed": st["maxima_changed"],
        "maxima_changed_any": st["maxima_changed"] > 0,
    }
    if task.keep_positions:
        res["positions"] = positions.astype(np.int32)
    if task.model.has_regions:
        counts = st["scenario_counts"].astype(np.int64)
        res["scenario_count"] = counts
        res["correlation"] = st["correlation"]
        res["counts_kept"] = np.all(counts == task.nominal_counts, axis=-1)
        if task.reference is not None:
            res["reference_kept"] = np.all(counts == task.reference, axis=-1)
    return res


def cluster_bootstrap(
    study: Study,
    spec: IndexSpec | None = None,
    *,
    n_resamples: int = 10_000,
    thresholds: ScenarioThresholds | None = None,
    confidence_level: float = 0.90,
    maxima: str = "resample",
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
    batch_size: int | None = None,
) -> ClusterBootstrapResult:
    """Resample the units with replacement and recompute the sample-dependent study statistics.

    Parameters
    ----------
    study : clustermodel.data.Study
        Any study with at least two units; the correlation of the two indices
        and the scenario counts are added when it has a higher-level table.
    spec : IndexSpec, optional
        Default: the study's spec.
    n_resamples : int
        Number of resamples (each of the same size as the sample).
    thresholds : ScenarioThresholds, optional
    confidence_level : float
        Of the percentile intervals (0.90 = 5-95 %).
    maxima : {'resample', 'fixed'}
        ``'resample'`` (default) redoes the sample-dependent construction steps
        (the normaliser's reference statistics such as a group's maximum,
        imputation, treatment) within every resample, as the study would have
        had it sampled those units; ``'fixed'`` keeps the full sample's, so
        every unit keeps its scores and only the composition varies.
    nodes : sequence of str, optional
        Aggregates besides the index whose mean score is summarised; default
        every pillar and sub-index.
    reference_counts : dict, optional
        Scenario counts to compare every resample's counts with.
    keep_draws : bool
        Keep every resample's positions and statistics (memory grows with
        ``n_resamples``). Default: summaries only.
    quantiles, bins, chunk_size, memory_limit, client, progress
        As in :func:`weight_bootstrap`.
    rng : numpy.random.Generator, int or None
    batch_size : int, optional
        The former name of ``chunk_size``.

    Returns
    -------
    ClusterBootstrapResult

    Notes
    -----
    The weights stay at the study's, so this is separate from the weight
    bootstrap. Every resampled unit keeps its higher-level unit and that
    unit's index (the higher-level table is not resampled). With
    ``reference='group'`` a resample that lacks a group's leader on an
    indicator rescales that group; the share of cells whose normalised value
    changed is reported (``maxima_changed``). Duplicated units count once per
    draw. The bootstrap is known to be unreliable for statistics driven by a
    sample maximum (Bickel and Freedman 1981). Chunks of resamples are
    constructed and aggregated by :func:`clustermodel.index.construct_arrays`
    and :func:`clustermodel.aggregate.aggregate_tree` in vectorised batches
    and folded into running statistics, as in :func:`weight_bootstrap`.

    References
    ----------
    .. [1] Efron, B. (1979). Bootstrap methods: another look at the jackknife.
       Annals of Statistics 7(1), 1-26. https://doi.org/10.1214/aos/1176344552
    .. [2] Davison, A. C. and Hinkley, D. V. (1997). Bootstrap Methods and
       their Application. Cambridge University Press.
       https://doi.org/10.1017/CBO9780511802843
    .. [3] Bickel, P. J. and Freedman, D. A. (1981). Some asymptotic theory
       for the bootstrap. Annals of Statistics 9(6), 1196-1217.
       https://doi.org/10.1214/aos/1176345637

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> r = cluster_bootstrap(load_paper(), n_resamples=100, rng=1, progress=False)
    >>> r.n_resamples
    100
    """
    from clustermodel.scenarios import StudyModel

    spec = study.spec if spec is None else spec
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    if batch_size is not None:
        if chunk_size is not None:
            raise ClusterModelError("give `chunk_size` or its former name `batch_size`, not both")
        chunk_size = check_positive_int(batch_size, "batch_size")
    cl = check_probability(confidence_level, "confidence_level")
    maxima = check_choice(maxima, "maxima", list(MAXIMA))
    quantiles = _check_quantiles(quantiles)
    reference = _reference_iv(reference_counts)
    out_nodes = _output_nodes(study.structure, nodes)
    seed, spawn_key = seed_record(rng)
    gen = as_rng(rng)
    limit = memory_limit_iv(memory_limit)
    model = StudyModel(study, spec, thresholds=thresholds)
    n = len(model.units)
    if n < 2:
        raise ClusterModelError(f"the cluster bootstrap needs at least 2 units, the study has {n}")
    sampler = _Positions(_root_seed(gen), n)
    nominal = _cluster_statistics(study, spec, thresholds, np.arange(n)[None, :], model=model, nodes=out_nodes)
    regions = model.has_regions
    nominal_counts = nominal["scenario_counts"][0].astype(np.int64) if regions else None
    task = _ClusterTask(study, spec, thresholds, model, sampler, maxima, out_nodes, nominal_counts, reference, keep_draws)
    P = 1 + len(out_nodes)
    outputs = [
        _Output("mean_score", "real", (P,), centre=nominal["mean_score"][0], keep=keep_draws),
        _Output("maxima_changed", "real", (), centre=np.zeros(1), keep=keep_draws),
        _Output("maxima_changed_any", "flag", (), keep=keep_draws, draw_dtype=bool),
    ]
    if keep_draws:
        outputs.append(_Output("positions", "draw", (n,), keep=True, draw_dtype=np.int32))
    if regions:
        outputs += [
            _Output("scenario_count", "int", (len(SCENARIOS),), centre=nominal_counts, bins=_integer_bins(n + 1), keep=keep_draws,
                    joint=True, distribution=True, draw_dtype=np.int32),
            _Output("correlation", "real", (), centre=np.atleast_1d(np.nan_to_num(nominal["correlation"])), keep=keep_draws),
            _Output("counts_kept", "flag", (), keep=keep_draws, draw_dtype=bool),
        ]
        if reference is not None:
            outputs.append(_Output("reference_kept", "flag", (), keep=keep_draws, draw_dtype=bool))
    chosen_bins = _plan_outputs(outputs, n_resamples=n_resamples, limit=limit, quantiles=quantiles, bins=bins, what="cluster bootstrap")
    running, record = _stream(
        _cluster_chunk, task, outputs, what="cluster bootstrap", n_resamples=n_resamples, memory_limit=limit,
        chunk_size=chunk_size, client=client, progress=progress,
        parts_fix={
            "state": ("the running statistics", " or fewer `nodes`"),
            "kept": ("the draws kept", " or keep_draws=False"),
            "chunk": ("one resample per worker", ""),
        },
    )
    record["bins"] = chosen_bins
    record["quantiles"] = {o.name: "exact" if o.exact else "histogram" for o in outputs if o.kind == "real"}

    # (variables added in batches: each single assignment to a Dataset is a merge of the whole dataset)
    ds = xr.Dataset(coords={"node": [study.structure.root, *out_nodes]})
    ms = running.summary("mean_score", cl)
    new = {"mean_score_nominal": ("node", nominal["mean_score"][0]), **_entries("mean_score", ms, ["node"])}
    new["mean_score_n_undefined"] = ("node", n_resamples - ms["count"])
    new["maxima_changed_nominal"] = 0.0
    new.update(_entries("maxima_changed", running.summary("maxima_changed", cl), []))
    new["p_maxima_changed"] = float(running.summary("maxima_changed_any", cl)["probability"])
    ds.update(new)
    if regions:
        ds = ds.assign_coords(scenario=list(SCENARIOS))
        cs = running.summary("scenario_count", cl)
        new = {"scenario_count_nominal": ("scenario", nominal_counts), **_entries("scenario_count", cs, ["scenario"])}
        ds.update(new)
        ds.update({f"scenario_share_{q}": ds[f"scenario_count_{q}"] / n for q in ("nominal", "median", "low", "high", "mean")})
        dist, joint = _count_tables(cs, n)
        new = {"scenario_count_distribution": (("scenario", "count"), dist)}
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
    draws = None
    if keep_draws:
        dims = {"mean_score": ["resample", "node"], "maxima_changed": ["resample"], "maxima_changed_any": ["resample"],
                "positions": ["resample", "slot"], "scenario_count": ["resample", "scenario"], "correlation": ["resample"],
                "counts_kept": ["resample"], "reference_kept": ["resample"]}
        draws = xr.Dataset()
        for o in outputs:
            d = running.draws(o.name)
            if d is not None:
                draws[o.name if o.name in ("positions",) else f"{o.name}_draws"] = (dims[o.name], d)
    return ClusterBootstrapResult(
        summary=ds,
        draws=draws,
        spec=spec,
        thresholds=thresholds,
        confidence_level=cl,
        seed=seed,
        spawn_key=spawn_key,
        n_resamples=n_resamples,
        n_units=n,
        maxima=maxima,
        has_regions=regions,
        streaming=record,
    )
