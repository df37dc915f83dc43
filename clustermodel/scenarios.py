"""Stage 6: the study-level model — scores, ranks, and (with a second index) the four scenarios.

:class:`StudyModel` is the one function every robustness analysis perturbs:
prepared once for a study and a spec, it maps any batch of weight vectors
(over the structure's weighted nodes) to every output — the index and any
node's scores, ranks, the attainable maximum and, when the study has a
second, higher-level index (regions in the paper), each unit's scenario, the
scenario counts and the correlation of the two indices — in one vectorised
call. :func:`evaluate` wraps it in labelled xarray objects.

The paper's Figure 13 scenarios: supported = high unit in a high region,
lonely = high unit in a low region, potential = low/low, late = low unit in a
high region; 'high' means at least a fraction (:class:`ScenarioThresholds`)
of the attainable maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._display import ResultDisplay, fmt
from clustermodel._errors import ClusterModelError
from clustermodel.aggregate import aggregate_tree
from clustermodel.index import TOP_UNIT, as_weights, compute_index, construct, index_maximum, rank, rank_values
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds
from clustermodel.structure import Structure

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import WeightsLike
    from clustermodel.data import Study

__all__ = ["Evaluation", "StudyModel", "evaluate", "classify", "pearson", "region_spec", "region_index", "SCENARIOS"]


def classify(cluster_high, region_high) -> np.ndarray:
    """Scenario codes (indices into :data:`SCENARIOS`) from the two 'high' flags.

    supported = high/high, lonely = high unit in a low region,
    potential = low/low, late = low unit in a high region.
    """
    cluster_high = np.asarray(cluster_high, dtype=bool)
    region_high = np.asarray(region_high, dtype=bool)
    return np.where(cluster_high, np.where(region_high, 0, 1), np.where(region_high, 3, 2)).astype(np.int8)


def pearson(x, y, axis: int = -1) -> np.ndarray:
    """Pearson correlation along ``axis``, broadcasting; NaN where a side is constant."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xc = x - x.mean(axis=axis, keepdims=True)
    yc = y - y.mean(axis=axis, keepdims=True)
    num = (xc * yc).sum(axis=axis)
    den = np.sqrt((xc**2).sum(axis=axis) * (yc**2).sum(axis=axis))
    # a constant side is tested exactly: its centred values need not be exactly 0 (7669.99 - mean != 0)
    ok = (den > 0) & (np.ptp(x, axis=axis) > 0) & (np.ptp(y, axis=axis) > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def region_spec(spec: IndexSpec) -> IndexSpec:
    """The spec of the higher-level (regional) index: the units' spec over the whole sample.

    Higher-level units have no groups, no denominators and no screen; a
    normaliser that needs the structure's targets or goalposts (which a
    regional table has none of), or a reference unit (``dist2ref``: the unit is
    not a region), becomes min-max.
    """
    changes = {"reference": "sample", "min_coverage": 0.0}
    if spec.normalisation in ("target", "goalposts", "dist2ref"):
        changes["normalisation"] = "minmax"
        changes["reference_unit"] = None
    if not isinstance(spec.aggregation, str):
        changes["aggregation"] = spec.top_aggregation
    return spec.replace(**changes)


def region_index(study, spec: IndexSpec) -> xr.DataArray:
    """The higher-level index of every region under :func:`region_spec`."""
    return compute_index(study.regions["indicators"], study.region_weights, region_spec(spec))


class StudyModel:
    """A study prepared under one spec: any batch of weight vectors -> every output.

    Parameters
    ----------
    study : Study
    spec : IndexSpec, optional
        Default: the study's spec.
    thresholds : ScenarioThresholds, optional
        Used when the study has a region table.
    nodes : sequence of str, optional
        Nodes besides the index whose scores :meth:`outputs` returns.

    Notes
    -----
    Everything that does not depend on the weights (construction steps 1-4,
    the regional index and its threshold) is computed once here; each call
    then costs one aggregation of the structure for the whole batch.
    """

    def __init__(self, study, spec: IndexSpec | None = None, *, thresholds: ScenarioThresholds | None = None, nodes=()):
        self.study = study
        self.spec = study.spec if spec is None else spec
        if not isinstance(self.spec, IndexSpec):
            raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(self.spec).__name__}")
        self.thresholds = ScenarioThresholds() if thresholds is None else thresholds
        self.structure: Structure = study.structure
        self.construction = construct(study, self.spec, warn=False)
        self.nodes = tuple(nodes)
        c = self.construction
        self._values = np.vstack([c.normalised, c.top[None, :]])  # the virtual top unit last
        self._present = np.vstack([c.present, np.ones((1, c.present.shape[1]), dtype=bool)])
        self._labels = [u.item() if hasattr(u, "item") else u for u in c.units] + [TOP_UNIT]
        self.has_regions = bool(study.has_regions)
        if self.has_regions:
            rspec = region_spec(self.spec)
            ri = compute_index(study.regions["indicators"], study.region_weights, rspec)
            self.region_index = ri
            kept = np.isin(study.clusters["cluster"].values, c.units)
            self.region_index_of_unit = ri.values[study.region_of_cluster_index()[kept]].astype(float)
            self.region_maximum = float(index_maximum(study.regions["indicators"], study.region_weights, rspec))
            self.region_threshold = self.thresholds.region * self.region_maximum
            self.region_high = self.region_index_of_unit >= self.region_threshold

    @property
    def units(self) -> np.ndarray:
        return self.construction.units

    @property
    def nominal_weights(self) -> np.ndarray:
        return self.structure.weight_vector().values

    def weights(self, weights=None) -> xr.DataArray:
        """Weights in the model's layout (*batch, node), validated."""
        return as_weights(weights, self.structure)

    def scores(self, W, nodes=None) -> dict:
        """Scores (B, n + 1) of ``nodes`` (default: the index) for weights W (B, K); the last column is the top unit."""
        W = np.asarray(W, dtype=float)
        keep = [self.structure.root, *(nodes or ())]
        return aggregate_tree(
            self._values,
            self._present,
            W,
            structure=self.structure,
            aggregation_at=lambda lv: self.spec.aggregation_at(lv, self.structure.n_levels),
            missing=self.spec.missing,
            keep=keep,
            unit_labels=self._labels,
        )

    def outputs(self, W, *, nominal=None) -> dict:
        """Every output for weight vectors W, shape (B, K) over ``structure.weighted``.

        Returns
        -------
        dict of ndarray
            ``index`` (B, n), ``rank`` (B, n) float, ``maximum`` (B,), and for
            each extra node ``score[<node>]`` (B, n). With a region table also
            ``scenario`` (B, n) codes, ``scenario_count`` (B, 4) and
            ``correlation`` (B,). With ``nominal`` (a previous ``outputs`` of
            one vector) also ``scenario_kept``, ``counts_kept`` and
            ``mean_rank_shift`` (the mean absolute rank shift, Saisana et al. 2005).
        """
        W = np.atleast_2d(np.asarray(W, dtype=float))
        res = self.scores(W, self.nodes)
        full = res[self.structure.root]
        ci, top = full[..., :-1], full[..., -1]
        ranks = rank_values(ci, dtype=float)
        out = {"index": ci, "rank": ranks, "maximum": top}
        for v in self.nodes:
            out[f"score[{v}]"] = res[v][..., :-1]
        if self.has_regions:
            codes = classify(ci >= (self.thresholds.cluster * top)[..., None], np.broadcast_to(self.region_high, ci.shape))
            out["scenario"] = codes
            out["scenario_count"] = np.stack([(codes == k).sum(axis=-1) for k in range(len(SCENARIOS))], axis=-1).astype(float)
            out["correlation"] = pearson(ci, self.region_index_of_unit, axis=-1)
        if nominal is not None:
            out["mean_rank_shift"] = np.abs(ranks - nominal["rank"][0]).mean(axis=-1)
            if self.has_regions:
                out["scenario_kept"] = (out["scenario"] == nominal["scenario"][0]).astype(float)
                out["counts_kept"] = np.all(out["scenario_count"] == nominal["scenario_count"][0], axis=-1).astype(float)
        return out


@dataclass(frozen=True, repr=False)
class Evaluation(ResultDisplay):
    """Every output of the study model for one spec and a batch of weights.

    Attributes
    ----------
    cluster_index : DataArray (*batch, cluster)
    cluster_rank : DataArray (*batch, cluster), 1 = highest, exactly tied units share a rank
    attainable_maximum : DataArray (*batch,)
    region_index : DataArray (region,) or None
    region_index_of_cluster : DataArray (cluster,) or None, the index of each unit's region
    cluster_threshold, region_threshold : DataArray (*batch,) / scalar, absolute thresholds (None without regions)
    scenario : DataArray (*batch, cluster) of codes into ``SCENARIOS`` (None without regions)
    scenario_counts : DataArray (*batch, scenario) (None without regions)
    correlation : DataArray (*batch,), Pearson r of the unit index and its region's index (None without regions)
    spec, thresholds : the choices used
    """

    cluster_index: xr.DataArray
    cluster_rank: xr.DataArray
    attainable_maximum: xr.DataArray
    region_index: xr.DataArray | None
    region_index_of_cluster: xr.DataArray | None
    cluster_threshold: xr.DataArray | None
    region_threshold: xr.DataArray | None
    scenario: xr.DataArray | None
    scenario_counts: xr.DataArray | None
    correlation: xr.DataArray | None
    spec: IndexSpec
    thresholds: ScenarioThresholds

    def scenario_labels(self) -> np.ndarray:
        if self.scenario is None:
            raise ClusterModelError("this study has no region table, so no scenarios")
        return np.asarray(SCENARIOS, dtype=object)[self.scenario.values]

    def to_dataset(self) -> xr.Dataset:
        """Every output as an :class:`xarray.Dataset`; the spec, thresholds and scenario codes in ``attrs``.

        The unit's scenario code is ``cluster_scenario`` and its region ``cluster_region`` (the names
        ``scenario`` and ``region`` are the dimensions of the scenario counts and of the regional index).
        """
        from clustermodel._version import __version__

        fields = ["cluster_index", "cluster_rank", "attainable_maximum", "region_index", "region_index_of_cluster",
                  "cluster_threshold", "region_threshold", "scenario", "scenario_counts", "correlation"]
        data = {}
        for k in fields:
            v = getattr(self, k)
            if v is None:
                continue
            if "region" in v.coords and "cluster" in v.dims and "region" not in v.dims:
                v = v.rename({"region": "cluster_region"})
            data["cluster_scenario" if k == "scenario" else k] = v
        ds = xr.Dataset(data)
        ds.attrs.update(self.spec.to_attrs())
        ds.attrs.update({f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()})
        ds.attrs["scenario_codes"] = ", ".join(f"{i}={s}" for i, s in enumerate(SCENARIOS))
        ds.attrs["clustermodel_version"] = __version__
        return ds

    def to_dataframe(self) -> pd.DataFrame:
        """One row per unit (and weight vector): index, rank, the region's index and the scenario by name."""
        ds = self.to_dataset()
        keep = [k for k in ("cluster_index", "cluster_rank", "region_index_of_cluster", "cluster_scenario") if k in ds]
        df = ds[keep].to_dataframe()
        if "cluster_scenario" in df:
            df["cluster_scenario"] = np.asarray(SCENARIOS, dtype=object)[df["cluster_scenario"].to_numpy(dtype=int)]
        return df.rename(columns={"cluster_index": "index", "cluster_rank": "rank", "cluster_scenario": "scenario"})

    def _display_(self) -> tuple[str, list]:
        ci = self.cluster_index
        unit = ci.dims[-1]
        batch = [d for d in ci.dims if d != unit]
        n_vectors = int(np.prod([ci.sizes[d] for d in batch])) if batch else 1
        head = f"{ci.sizes[unit]} units, {n_vectors} weight vector{'s' if n_vectors != 1 else ''}, aggregation {self.spec.aggregation!r}"
        rows: list = [("index", f"{fmt(float(ci.min()))} to {fmt(float(ci.max()))} (attainable maximum {fmt(float(self.attainable_maximum.max()))})")]
        if not batch:
            top = ci.sortby(self.cluster_rank).isel({unit: slice(0, 3)})
            label = top["name"].values if "name" in top.coords else top[unit].values
            rows.append(("highest", ", ".join(f"{lab} ({fmt(float(v))})" for lab, v in zip(label, top.values))))
        if self.scenario_counts is not None:
            if batch:
                rows.append(("scenario counts", f"per weight vector: {', '.join(SCENARIOS)}"))
            else:
                rows.append(("scenario counts", ", ".join(f"{s} {int(c)}" for s, c in zip(SCENARIOS, self.scenario_counts.values))))
                rows.append(("correlation with the region index", fmt(float(self.correlation))))
        return head, rows


def evaluate(
    study: Study,
    spec: IndexSpec | None = None,
    *,
    weights: WeightsLike = None,
    thresholds: ScenarioThresholds | None = None,
) -> Evaluation:
    """Score a study under ``spec`` for one or a batch of weight vectors.

    Parameters
    ----------
    study : clustermodel.data.Study
        Scenarios and the correlation need a region table.
    spec : IndexSpec, optional
        Default: the study's spec.
    weights : optional
        Weights with any batch dims (over the structure's nodes, or the
        indicators; default the study's).
    thresholds : ScenarioThresholds, optional
        Fractions of the attainable maximum (default 0.5 on both axes).

    Returns
    -------
    Evaluation
    """
    model = StudyModel(study, spec, thresholds=thresholds)
    w = model.weights(study.structure.weight_vector() if weights is None else weights)
    batch = [d for d in w.dims if d != "node"]
    bshape = tuple(w.sizes[d] for d in batch)
    out = model.outputs(w.values.reshape(-1, w.sizes["node"]))
    c = model.construction
    dim = "cluster"
    coords = {k: v for k, v in c.coords.items()}
    coords[dim] = c.units
    bcoords = {k: w.coords[k] for k in w.coords if k != "node" and set(w.coords[k].dims) <= set(batch)}

    def unit_array(a, name, dtype=None):
        a = a.reshape(*bshape, len(c.units))
        return xr.DataArray(a if dtype is None else a.astype(dtype), dims=[*batch, dim], coords={**coords, **bcoords}, name=name)

    ci = unit_array(out["index"], "index")
    ci.attrs.update(model.spec.to_attrs())
    maximum = xr.DataArray(out["maximum"].reshape(bshape), dims=batch, coords=bcoords, name="attainable_maximum")
    kw = dict(region_index=None, region_index_of_cluster=None, cluster_threshold=None, region_threshold=None,
              scenario=None, scenario_counts=None, correlation=None)
    if model.has_regions:
        kw["region_index"] = model.region_index
        kw["region_index_of_cluster"] = xr.DataArray(model.region_index_of_unit, dims=[dim], coords={dim: c.units}, name="region_index_of_cluster")
        kw["cluster_threshold"] = (model.thresholds.cluster * maximum).rename("cluster_threshold")
        kw["region_threshold"] = xr.DataArray(model.region_threshold, name="region_threshold")
        kw["scenario"] = unit_array(out["scenario"], "scenario", np.int8)
        kw["scenario_counts"] = xr.DataArray(
            out["scenario_count"].astype(np.int64).reshape(*bshape, len(SCENARIOS)),
            dims=[*batch, "scenario"],
            coords={**bcoords, "scenario": list(SCENARIOS)},
            name="scenario_counts",
        )
        kw["correlation"] = xr.DataArray(out["correlation"].reshape(bshape), dims=batch, coords=bcoords, name="correlation")
    return Evaluation(
        cluster_index=ci,
        cluster_rank=rank(ci, dim),
        attainable_maximum=maximum,
        spec=model.spec,
        thresholds=model.thresholds,
        **kw,
    )
