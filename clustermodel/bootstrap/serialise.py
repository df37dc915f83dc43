"""Summaries as JSON and NetCDF attributes, and small helpers shared by both estimators (reference counts, output
nodes, unit coordinates)."""

from __future__ import annotations

import json
import numbers

import numpy as np
import xarray as xr

from clustermodel._errors import ClusterModelError
from clustermodel.aggregate import aggregator
from clustermodel.spec import SCENARIOS, IndexSpec
from clustermodel._io import finite_or_none


# --------------------------------------------------------------------------- summaries to JSON


def _attr_value(v):
    if v is None:
        return "none"
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    return v


def _stat(ds: xr.Dataset, prefix: str, nominal=None, sel=None) -> dict:
    """A scalar output's summary as JSON: nominal, median, interval, mean, sd, min, max, bias."""
    def get(k):
        if f"{prefix}_{k}" not in ds:
            return None
        v = ds[f"{prefix}_{k}"]
        return v.sel(sel) if sel else v

    nominal = finite_or_none(get("nominal") if nominal is None else nominal)
    lo, hi = finite_or_none(get("low")), finite_or_none(get("high"))
    mean = finite_or_none(get("mean"))
    n_undefined = get("n_undefined")
    return {
        "nominal": nominal,
        "median": finite_or_none(get("median")),
        "low": lo,
        "high": hi,
        "mean": mean,
        "sd": finite_or_none(get("sd")),
        "min": finite_or_none(get("min")),
        "max": finite_or_none(get("max")),
        "bias": None if mean is None or nominal is None else mean - nominal,
        "nominal_in_interval": None if lo is None or hi is None or nominal is None else bool(lo <= nominal <= hi),
        "n_undefined": 0 if n_undefined is None else int(n_undefined),
        "percentile_error": finite_or_none(get("error")),
    }


_SUMMARY_KEYS = ("mean", "sd", "min", "max", "median", "low", "high", "error")


def _entries(prefix: str, summary: dict, dims: list, keys=_SUMMARY_KEYS) -> dict:
    """The summary's variables ``<prefix>_<key>``, to add to a dataset in one ``update``."""
    return {f"{prefix}_{k}": (dims, np.asarray(summary[k])) for k in keys if k in summary}


def _count_tables(summary, n_units: int):
    """(distribution over counts 0..n per scenario (scenario, count), most common joint vectors) from an int output."""
    o, k, counts = summary["hist"]
    dist = np.zeros((len(SCENARIOS), n_units + 1))
    total = counts.sum(axis=-1)
    for s in range(len(SCENARIOS)):
        if total[s] == 0:
            continue
        values = (o[s] + np.arange(counts.shape[-1])) << max(int(k[s]), 0)  # a bin's lowest count (exact when k == 0)
        ok = (values >= 0) & (values <= n_units) & (counts[s] > 0)
        np.add.at(dist[s], values[ok], counts[s][ok] / total[s])
    joint = summary.get("joint")
    return dist, joint


def _joint_records(joint, n_draws, top=5):
    if joint is None:
        return None
    items = sorted(joint.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [{"counts": {s: int(v) for s, v in zip(SCENARIOS, vec)}, "probability": c / n_draws} for vec, c in items]


def _counts_summary(ds: xr.Dataset, prefix: str = "scenario_count") -> dict:
    """The scenario counts of a result as JSON."""
    scen = list(SCENARIOS)
    out = {
        "nominal": {s: int(v) for s, v in zip(scen, ds[f"{prefix}_nominal"].values)},
        "median": {s: float(v) for s, v in zip(scen, ds[f"{prefix}_median"].values)},
        "low": {s: float(v) for s, v in zip(scen, ds[f"{prefix}_low"].values)},
        "high": {s: float(v) for s, v in zip(scen, ds[f"{prefix}_high"].values)},
        "mean": {s: float(v) for s, v in zip(scen, ds[f"{prefix}_mean"].values)},
        "min": {s: int(v) for s, v in zip(scen, ds[f"{prefix}_min"].values)},
        "max": {s: int(v) for s, v in zip(scen, ds[f"{prefix}_max"].values)},
        "distribution": {
            s: {int(c): float(p) for c, p in enumerate(ds[f"{prefix}_distribution"].values[k]) if p > 0} for k, s in enumerate(scen)
        },
        "p_nominal_counts": float(ds["p_nominal_counts"]),
        "reference_counts": None,
        "p_reference_counts": None,
    }
    out["most_common"] = json.loads(ds.attrs.get("joint_counts", "null"))
    n = float(sum(out["nominal"].values()))
    out["mean_share"] = {s: out["mean"][s] / n if n else None for s in scen}
    if "p_reference_counts" in ds:
        out["reference_counts"] = {s: int(v) for s, v in zip(scen, ds["reference_counts"].values)}
        out["p_reference_counts"] = float(ds["p_reference_counts"])
    return out


def _reference_iv(reference_counts):
    if reference_counts is None:
        return None
    if not isinstance(reference_counts, dict) or set(reference_counts) != set(SCENARIOS):
        raise ClusterModelError(
            f"`reference_counts` must map every scenario ({', '.join(SCENARIOS)}) to a count, got {reference_counts!r}"
        )
    vals = []
    for s in SCENARIOS:
        v = reference_counts[s]
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ClusterModelError(f"`reference_counts`[{s!r}] must be a non-negative integer, got {v!r}")
        vals.append(int(v))
    return np.array(vals, np.int64)


#: Streaming diagnostics measured by tracing the pilot chunk: kept on the result, left out of its files
#: (they vary by a few bytes between runs, and the files are byte-deterministic).
_MEASURED = ("memory_estimate", "bytes_per_resample")


def _record(streaming: dict) -> dict:
    return {k: v for k, v in streaming.items() if k not in _MEASURED}


def _weights_cancel(spec: IndexSpec, structure) -> bool:
    """True when every aggregation level's aggregator ignores positive weights (Equation 1 as printed)."""
    levels = sorted({structure.level(v) for v in structure.aggregates})
    return all(aggregator(spec.aggregation_at(lv, structure.n_levels))[4] for lv in levels)


def _output_nodes(structure, nodes) -> list:
    """The aggregate nodes besides the index whose scores and ranks are summarised."""
    others = [v for v in structure.aggregates if v != structure.root]
    if nodes is None:
        return [v for v in structure.nodes if v in others]
    if isinstance(nodes, str):
        nodes = [nodes]
    out = []
    for v in nodes:
        structure._node(v)
        if v == structure.root:
            continue
        if v not in others:
            raise ClusterModelError(
                f"`nodes`: {v!r} is an indicator; its normalised values do not depend on the weights. Name aggregates: "
                f"{', '.join(others) or '(the structure has none besides the index)'}"
            )
        if v not in out:
            out.append(v)
    return out


def _unit_coords(construction) -> dict:
    dim = "cluster"
    coords = {dim: construction.units}
    for k, v in construction.coords.items():
        if k in ("name", "group", "region") and len(v.dims) == 1:
            coords[k] = (dim, np.asarray(v.values).astype(str))
    return coords


