"""Stage 4: the study-level model: cluster and regional indices, ranks and the
four scenarios of Figure 13.

:func:`evaluate` is the function every robustness analysis perturbs: it takes
a study, a spec, thresholds and any batch of weight vectors and returns every
output (index, rank, scenario, scenario counts, cluster-region correlation) for
the whole batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from clustermodel.index import as_weights, compute_index, index_maximum, rank
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds

__all__ = ["Evaluation", "evaluate", "classify", "pearson", "SCENARIOS"]


def classify(cluster_high, region_high) -> np.ndarray:
    """Scenario codes (indices into :data:`SCENARIOS`) from the two 'high' flags.

    supported = high/high, lonely = high cluster in a low region,
    potential = low/low, late = low cluster in a high region.
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


@dataclass(frozen=True)
class Evaluation:
    """Every output of the study model for one spec and a batch of weights.

    Attributes
    ----------
    cluster_index : DataArray (*batch, cluster)
    cluster_rank : DataArray (*batch, cluster), 1 = highest, ties by table order
    region_index : DataArray (region,)
    region_index_of_cluster : DataArray (cluster,), the index of each cluster's region
    cluster_threshold, region_threshold : DataArray (*batch,) / scalar, absolute thresholds
    scenario : DataArray (*batch, cluster) of codes into ``SCENARIOS``
    scenario_counts : DataArray (*batch, scenario)
    correlation : DataArray (*batch,), Pearson r of cluster index and its region's index
    spec, thresholds : the choices used
    """

    cluster_index: xr.DataArray
    cluster_rank: xr.DataArray
    region_index: xr.DataArray
    region_index_of_cluster: xr.DataArray
    cluster_threshold: xr.DataArray
    region_threshold: xr.DataArray
    scenario: xr.DataArray
    scenario_counts: xr.DataArray
    correlation: xr.DataArray
    spec: IndexSpec
    thresholds: ScenarioThresholds

    def scenario_labels(self) -> np.ndarray:
        return np.asarray(SCENARIOS, dtype=object)[self.scenario.values]

    def to_dataset(self) -> xr.Dataset:
        ds = xr.Dataset(
            {
                "cluster_index": self.cluster_index,
                "cluster_rank": self.cluster_rank,
                "region_index": self.region_index,
                "region_index_of_cluster": self.region_index_of_cluster,
                "cluster_threshold": self.cluster_threshold,
                "region_threshold": self.region_threshold,
                "scenario": self.scenario,
                "scenario_counts": self.scenario_counts,
                "correlation": self.correlation,
            }
        )
        ds.attrs.update({f"spec_{k}": v for k, v in self.spec.to_dict().items()})
        ds.attrs.update({f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()})
        ds.attrs["scenario_codes"] = ", ".join(f"{i}={s}" for i, s in enumerate(SCENARIOS))
        return ds


def region_index(study, spec: IndexSpec) -> xr.DataArray:
    """Regional index: same formula, whole-sample reference (regions have no groups)."""
    return compute_index(study.regions["indicators"], study.region_weights, spec.replace(reference="sample"))


def evaluate(study, spec: IndexSpec | None = None, *, weights=None, thresholds: ScenarioThresholds | None = None) -> Evaluation:
    """Score a study under ``spec`` for one or a batch of weight vectors.

    Parameters
    ----------
    study : clustermodel.data.Study
        Must have a region table for scenarios and the correlation.
    spec : IndexSpec, optional
    weights : optional
        Cluster-indicator weights with any batch dims (default: the study's).
    thresholds : ScenarioThresholds, optional
        Fractions of the attainable maximum (default 0.5 on both axes).

    Returns
    -------
    Evaluation
    """
    spec = IndexSpec() if spec is None else spec
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    w = as_weights(study.weights if weights is None else weights, study.indicators)
    ci = compute_index(study.indicators, w, spec)
    ri = region_index(study, spec)
    roc = xr.DataArray(
        ri.values[study.region_of_cluster_index()],
        dims=["cluster"],
        coords={"cluster": study.clusters["cluster"]},
        name="region_index_of_cluster",
    )
    c_thr = thresholds.cluster * index_maximum(w, study.indicators, spec)
    r_thr = thresholds.region * index_maximum(study.region_weights, study.regions["indicators"], spec)
    c_high = ci.values >= c_thr.values[..., None]
    r_high = roc.values >= float(r_thr)
    codes = classify(c_high, np.broadcast_to(r_high, c_high.shape))
    scen = ci.copy(data=codes).rename("scenario")
    counts = np.stack([(codes == k).sum(axis=-1) for k in range(len(SCENARIOS))], axis=-1)
    batch = list(ci.dims[:-1])
    counts = xr.DataArray(
        counts,
        dims=[*batch, "scenario"],
        coords={**{k: v for k, v in ci.coords.items() if set(v.dims) <= set(batch)}, "scenario": list(SCENARIOS)},
        name="scenario_counts",
    )
    corr = xr.DataArray(pearson(ci.values, roc.values), dims=batch, name="correlation")
    return Evaluation(
        cluster_index=ci,
        cluster_rank=rank(ci, "cluster"),
        region_index=ri,
        region_index_of_cluster=roc,
        cluster_threshold=c_thr.rename("cluster_threshold"),
        region_threshold=r_thr.rename("region_threshold"),
        scenario=scen,
        scenario_counts=counts,
        correlation=corr,
        spec=spec,
        thresholds=thresholds,
    )
