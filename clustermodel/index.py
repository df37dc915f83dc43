"""The index model: construction steps 1-5 composed on labelled data, batched over weights.

:func:`construct` applies the construction steps that do not depend on the
weights — denomination (:mod:`~clustermodel.denominate`), the availability
screen and imputation (:mod:`~clustermodel.impute`), outlier treatment
(:mod:`~clustermodel.treat`), normalisation (:mod:`~clustermodel.normalise`) —
and records what each did in a :class:`Construction`. :func:`compute_scores`
then aggregates up the structure (:mod:`~clustermodel.aggregate`) for one or
any batch of weight vectors (leading dimensions of ``weights``) in one
vectorised call, returning the score of every requested node of every unit.
:func:`compute_index` is the index alone.

Data may be a :class:`~clustermodel.data.Study`, an ``xarray.Dataset`` with
``indicators`` (unit, indicator) and optionally ``denominators`` (unit,
denominator), or a bare indicators ``DataArray``; a ``group`` coordinate on
the unit dimension defines the groups of ``reference='group'``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._display import ResultDisplay, names
from clustermodel._errors import CellError, ClusterModelError, ClusterModelWarning, InputError
from clustermodel._validation import check_squares_finite
from clustermodel.aggregate import aggregate_tree
from clustermodel.denominate import denominate_array
from clustermodel.impute import coverage, impute_array
from clustermodel.normalise import normalise_array, scale_top
from clustermodel.spec import IndexSpec
from clustermodel.structure import Structure
from clustermodel.treat import TreatmentLog, treat_array, treatment_log

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import DataLike, WeightsLike

__all__ = [
    "Construction",
    "construct",
    "construct_arrays",
    "compute_scores",
    "compute_index",
    "index_maximum",
    "as_weights",
    "resolve",
    "group_codes",
    "unit_dim",
    "rank",
    "TOP_UNIT",
]

#: Label of the virtual unit that is best on every indicator (its index is the attainable maximum).
TOP_UNIT = "(attainable maximum)"

#: Working memory per chunk of weight vectors in :func:`compute_scores`.
DEFAULT_CHUNK_BYTES = 256 * 2**20


def unit_dim(indicators: xr.DataArray) -> str:
    """The dimension of ``indicators`` that is not ``indicator``."""
    if not isinstance(indicators, xr.DataArray):
        raise ClusterModelError(f"`indicators` must be an xarray.DataArray, got {type(indicators).__name__}")
    dims = [d for d in indicators.dims if d != "indicator"]
    if "indicator" not in indicators.dims or len(dims) != 1:
        raise ClusterModelError(
            f"`indicators` must have dims (unit, 'indicator'), e.g. ('cluster', 'indicator'); got {indicators.dims}"
        )
    return dims[0]


def _unpack(data):
    """(indicators, denominators or None, structure or None, spec or None) of any accepted data."""
    from clustermodel.data import Study

    if isinstance(data, Study):
        ds = data.clusters
        return ds["indicators"], ds.get("denominators"), data.structure, data.spec
    if isinstance(data, xr.Dataset):
        if "indicators" not in data:
            raise ClusterModelError("`data` is a Dataset without an 'indicators' variable (unit, indicator)")
        return data["indicators"], data.get("denominators"), None, None
    if isinstance(data, xr.DataArray):
        return data, None, None, None
    raise ClusterModelError(
        f"`data` must be a Study, an xarray Dataset with 'indicators' or an indicators DataArray; got {type(data).__name__}"
    )


def group_codes(indicators: xr.DataArray, spec: IndexSpec, *, step: str = "normalise") -> np.ndarray | None:
    """Integer reference-set code of every unit under ``spec.reference`` (``step='impute'``: the imputation's set,
    :attr:`IndexSpec.imputation_reference`)."""
    field = "reference" if step == "normalise" else "impute_reference"
    if (spec.reference if step == "normalise" else spec.imputation_reference) == "sample":
        return None
    dim = unit_dim(indicators)
    if "group" not in indicators.coords:
        raise ClusterModelError(
            f"{field}='group' needs a 'group' column in the unit table; add one (--group-column) or use "
            f"{field}='sample'"
        )
    _, codes = np.unique(indicators["group"].values, return_inverse=True)
    return codes.reshape(indicators.sizes[dim])


def resolve(data, weights=None, spec=None, structure=None):
    """Work out (indicators, denominators, structure, spec, weight DataArray over ``node``) from any call form.

    ``weights`` may be a :class:`Structure`, a DataArray with a ``node`` or
    ``indicator`` dim plus batch dims (nodes not named keep the structure's
    weight), a mapping node -> weight, or an array whose last axis follows the
    structure's weighted nodes (or, for a one-level structure, the indicators).
    """
    ind, den, s_struct, s_spec = _unpack(data)
    if isinstance(weights, Structure):
        structure, weights = weights, None
    if structure is None:
        structure = s_struct
    if structure is None:
        if weights is None:
            raise ClusterModelError("no structure: pass `weights` (one per indicator) or a `structure`")
        flat = _flat_weights(weights, ind)
        from clustermodel.aggregate import check_weights

        check_weights(np.asarray(weights.values if isinstance(weights, xr.DataArray) else list(flat.values()) if isinstance(weights, Mapping) else weights, dtype=float))
        labels = [str(v) for v in ind["indicator"].values]
        unknown = [k for k in flat if k not in labels]
        lacking = [k for k in labels if k not in flat]
        if unknown or lacking:
            parts = []
            if unknown:
                parts.append(f"weights name indicator(s) the data lacks: {', '.join(unknown)}")
            if lacking:
                parts.append(f"no weight for indicator(s): {', '.join(lacking)}")
            raise ClusterModelError("; ".join(parts) + f"; the data's indicators are {', '.join(labels)}")
        structure = Structure.flat(flat)
        if not isinstance(weights, (xr.DataArray, Mapping)) and np.ndim(weights) == 1:
            weights = None
    spec = s_spec if spec is None and s_spec is not None else (IndexSpec() if spec is None else spec)
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    return ind, den, structure, spec, _weights_array(weights, structure)


def _flat_weights(weights, ind):
    labels = [str(v) for v in ind["indicator"].values]
    if isinstance(weights, Mapping):
        return dict(weights)
    if isinstance(weights, xr.DataArray):
        if "indicator" not in weights.dims:
            raise ClusterModelError("`weights` needs an 'indicator' dimension when no structure is given")
        first = weights.isel({d: 0 for d in weights.dims if d != "indicator"})
        names = [str(v) for v in first["indicator"].values] if "indicator" in first.coords else labels
        return dict(zip(names, (float(v) for v in first.values)))
    arr = np.asarray(weights, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] != len(labels):
        raise ClusterModelError(
            f"`weights` must have {len(labels)} entries along its last axis (one per indicator: "
            f"{', '.join(labels)}); got shape {arr.shape}"
        )
    return dict(zip(labels, arr.reshape(-1, len(labels))[0]))


def _weights_array(weights, structure: Structure):
    """(W (*batch, K) ndarray, batch dim names, batch coords): the fast path of :func:`as_weights`."""
    if weights is None or isinstance(weights, Structure):
        s = structure if weights is None else weights
        return s.weight_array(), [], {}
    if not isinstance(weights, (xr.DataArray, Mapping)):
        arr = np.asarray(weights, dtype=float)
        if arr.ndim >= 1 and arr.shape[-1] == len(structure.weighted):
            structure.normalise_weights(arr)
            return arr, [f"batch_{k}" for k in range(arr.ndim - 1)], {}
    w = as_weights(weights, structure)
    batch = [d for d in w.dims if d != "node"]
    coords = {k: w.coords[k] for k in w.coords if k != "node" and set(w.coords[k].dims) <= set(batch)}
    return w.values, batch, coords


def as_weights(weights, structure: Structure) -> xr.DataArray:
    """Weights as a DataArray (*batch, node) over ``structure.weighted``, validated."""
    base = structure.weight_vector()
    names = list(structure.weighted)
    if weights is None:
        return base
    if isinstance(weights, Structure):
        return weights.weight_vector()
    if isinstance(weights, Mapping):
        weights = xr.DataArray([float(v) for v in weights.values()], dims=["node"], coords={"node": [str(k) for k in weights]})
    if isinstance(weights, xr.DataArray):
        if "indicator" in weights.dims:
            weights = weights.rename({"indicator": "node"})
        if "node" not in weights.dims:
            raise ClusterModelError("`weights` needs a 'node' (or 'indicator') dimension")
        given = [str(v) for v in weights["node"].values] if "node" in weights.coords else names[: weights.sizes["node"]]
        unknown = [v for v in given if v not in names]
        if unknown:
            raise ClusterModelError(
                f"weights name node(s) the structure lacks: {', '.join(unknown)}; the weighted nodes are {', '.join(names)}"
            )
        weights = weights.assign_coords(node=given)
        if given != names:
            lacking = [v for v in names if v not in given]
            if lacking and structure.is_flat:
                raise ClusterModelError(
                    f"no weight for indicator(s): {', '.join(lacking)}; the data's indicators are {', '.join(names)}"
                )
            full = base.broadcast_like(weights.isel(node=0, drop=True)).copy()
            full = full.transpose(..., "node")
            full.loc[{"node": given}] = weights.transpose(..., "node").values
            weights = full
        out = weights.transpose(..., "node")
    else:
        arr = np.asarray(weights, dtype=float)
        if arr.ndim == 0:
            raise ClusterModelError("`weights` must be an array of weight vectors, not a scalar")
        if arr.shape[-1] == len(names):
            dims = [f"batch_{k}" for k in range(arr.ndim - 1)] + ["node"]
            out = xr.DataArray(arr, dims=dims, coords={"node": names})
        elif arr.shape[-1] == len(structure.leaves):
            full = np.broadcast_to(base.values, arr.shape[:-1] + (len(names),)).copy()
            pos = [names.index(v) for v in structure.leaves]
            full[..., pos] = arr
            dims = [f"batch_{k}" for k in range(arr.ndim - 1)] + ["node"]
            out = xr.DataArray(full, dims=dims, coords={"node": names})
        else:
            raise ClusterModelError(
                f"`weights` must have {len(names)} entries along its last axis (one per weighted node: "
                f"{', '.join(names)}) or {len(structure.leaves)} (one per indicator); got shape {arr.shape}"
            )
    structure.normalise_weights(out.values)  # validates: finite, >= 0, a positive weight in every parent
    return out


@dataclass(frozen=True, repr=False)
class Construction(ResultDisplay):
    """The data after every construction step that does not depend on the weights.

    Attributes
    ----------
    spec : IndexSpec
    structure : Structure
    unit_dim : str
    units : ndarray
        Labels of the units kept (after the availability screen).
    excluded : tuple of (label, coverage)
        Units removed by ``spec.min_coverage``.
    raw : ndarray (n, m)
        Indicator values after denomination (leaves in structure order).
    normalised : ndarray (n, m)
        Normalised values, 0 where missing.
    present : ndarray of bool (n, m)
        Observed (or imputed) cells.
    top : ndarray (m,)
        Top of each indicator's normalised scale (see :func:`~clustermodel.normalise.scale_top`).
    imputed : tuple of (unit, indicator, value)
        Cells filled by ``missing='mean'``/``'median'``.
    missing_cells : tuple of (unit, indicator)
        Cells missing after imputation (scored as 0 or skipped by available-case aggregation).
    treatment : TreatmentLog or None
    coords : dict
        Unit coordinates (name, group, region …) of the kept units.
    reference_values : ndarray (m,) or None
        ``normalisation = 'dist2ref'``: the reference unit's values every unit is measured against.
    """

    spec: IndexSpec
    structure: Structure
    unit_dim: str
    units: np.ndarray
    excluded: tuple
    raw: np.ndarray
    normalised: np.ndarray
    present: np.ndarray
    top: np.ndarray
    imputed: tuple = ()
    missing_cells: tuple = ()
    treatment: TreatmentLog | None = None
    coords: dict = field(default_factory=dict)
    reference_values: np.ndarray | None = None

    def treated_cells(self) -> list:
        """One record per treated cell: indicator, unit, method, and the value ``before`` and ``after`` treatment."""
        if self.treatment is None:
            return []
        out = []
        for j, leaf in enumerate(self.structure.leaves):
            values = self.treatment.values[j] if self.treatment.values else [(None, None)] * len(self.treatment.cells[j])
            for i, (before, after) in zip(self.treatment.cells[j], values):
                out.append({
                    "indicator": leaf, self.unit_dim: _py(self.units[i]), "method": self.treatment.method[j],
                    "before": before, "after": after,
                })
        return out

    def to_dataset(self) -> xr.Dataset:
        """Every cell, dims (unit, ``indicator``): ``raw`` (after denomination), ``normalised``, ``present``,
        ``imputed`` and ``treated`` flags, and per indicator ``top`` (the top of its normalised scale);
        the spec in ``attrs``."""
        from clustermodel._version import __version__

        dim, leaves = self.unit_dim, list(self.structure.leaves)
        row = {_py(u): i for i, u in enumerate(self.units)}
        col = {v: j for j, v in enumerate(leaves)}
        imputed = np.zeros(self.normalised.shape, dtype=bool)
        for u, v, _ in self.imputed:
            imputed[row[u], col[v]] = True
        treated = np.zeros_like(imputed)
        for rec in self.treated_cells():
            treated[row[rec[dim]], col[rec["indicator"]]] = True
        cells = (dim, "indicator")
        ds = xr.Dataset(
            {
                "raw": (cells, self.raw),
                "normalised": (cells, self.normalised),
                "present": (cells, self.present),
                "imputed": (cells, imputed),
                "treated": (cells, treated),
                "top": ("indicator", self.top),
            },
            coords={dim: self.units, "indicator": leaves, **self.coords},
        )
        ds.attrs.update(self.spec.to_attrs())
        ds.attrs["excluded"] = ", ".join(str(u) for u, _ in self.excluded)
        ds.attrs["clustermodel_version"] = __version__
        return ds

    def to_dataframe(self) -> pd.DataFrame:
        """:meth:`to_dataset` as a tidy table, one row per (unit, indicator)."""
        return self.to_dataset().to_dataframe()

    def _display_(self) -> tuple[str, list]:
        n, m = self.normalised.shape
        head = f"{n} units x {m} indicators, {self.spec.normalisation} normalisation over the {self.spec.reference}"
        rows: list = []
        if self.excluded:
            rows.append(("excluded by the screen", f"{len(self.excluded)}: {names([u for u, _ in self.excluded])}"))
        rows.append(("missing cells", len(self.missing_cells)))
        if self.imputed:
            rows.append((f"imputed ({self.spec.missing})", len(self.imputed)))
        if self.treatment is not None:
            treated = [leaf for j, leaf in enumerate(self.structure.leaves) if self.treatment.method[j] != "none"]
            rows.append(("treated indicators", names(treated) if treated else "none"))
        rows.append(("log", "construction.log(): every excluded, imputed, missing and treated cell"))
        return head, rows

    def log(self) -> dict:
        """JSON-ready record of what every step did."""
        t = self.treatment
        return {
            "spec": self.spec.to_dict(),
            "excluded": [{self.unit_dim: _py(u), "coverage": c} for u, c in self.excluded],
            "imputed": [{self.unit_dim: _py(u), "indicator": j, "value": v} for u, j, v in self.imputed],
            "missing": [{self.unit_dim: _py(u), "indicator": j} for u, j in self.missing_cells],
            "treated_indicators": []
            if t is None
            else [
                {
                    "indicator": leaf,
                    "method": t.method[j],
                    "winsorised_high": t.n_high[j],
                    "winsorised_low": t.n_low[j],
                    "skew_before": t.skew_before[j],
                    "kurtosis_before": t.kurtosis_before[j],
                    "skew_after": t.skew_after[j],
                    "kurtosis_after": t.kurtosis_after[j],
                }
                for j, leaf in enumerate(self.structure.leaves)
                if t.method[j] != "none"
            ],
            "treated_cells": self.treated_cells(),
        }


def _py(v):
    return v.item() if hasattr(v, "item") else v


#: ``impute_codes`` not given: imputation draws on the normalisation's reference set.
_SAME_SET = object()


def construct_arrays(x, *, structure: Structure, spec: IndexSpec, denominators=None, denominator_names=(), group_codes=None, unit_labels=None, impute_codes=_SAME_SET, reference_values=None):
    """Steps 1-4 on plain arrays (leading batch dimensions allowed; no screen).

    Parameters
    ----------
    x : ndarray, shape (..., n, m)
        Raw values of ``structure.leaves``.
    denominators : ndarray, shape (..., n, k), optional
        Columns named ``denominator_names``.
    group_codes : ndarray of int, shape (..., n), optional
        Reference-set codes of the normalisation (``None`` for the whole sample).
    impute_codes : ndarray of int or None, optional
        Reference-set codes of the imputation (default: ``group_codes``; ``None`` for the whole sample).
    reference_values : ndarray, shape (..., m), optional
        ``normalisation = 'dist2ref'``: the reference unit's values after imputation and treatment (the data
        bootstrap passes the full sample's); by default its row of ``x``, found by ``spec.reference_unit`` among
        ``unit_labels``.

    Returns
    -------
    dict with ``raw``, ``normalised``, ``present``, ``top``, ``imputed`` (mask)
    and ``treatment`` (per-indicator info of :func:`~clustermodel.treat.treat_array`, or None).
    """
    x = np.asarray(x, dtype=float)
    leaves = structure.leaves
    if spec.denominate:
        dnames = structure.attribute("denominators")
        if any(d is not None for d in dnames):
            names = list(denominator_names)
            which = [names.index(d) if d is not None else -1 for d in dnames]
            x = denominate_array(x, denominators, which, unit_labels=unit_labels, indicator_labels=leaves, denominator_labels=names)
    raw = x
    imputed = np.zeros(x.shape, dtype=bool)
    if spec.missing in ("mean", "median"):
        x, imputed = impute_array(x, method=spec.missing, group_codes=group_codes if impute_codes is _SAME_SET else impute_codes)
    info = None
    before_treatment = x
    if spec.treatment == "winsorise":
        x, info = treat_array(
            x, winsor_max=spec.winsor_max, skew_threshold=spec.skew_threshold, kurtosis_threshold=spec.kurtosis_threshold, transform=spec.transform
        )
    if spec.normalisation != "dist2ref":
        reference_values = None  # only dist2ref measures against a unit
    elif reference_values is None:
        reference_values = _reference_row(x, spec.reference_unit, unit_labels, leaves)
    normalised, present = normalise_array(
        x,
        method=spec.normalisation,
        directions=structure.attribute("directions"),
        group_codes=group_codes,
        negative=spec.negative,
        targets=structure.attribute("targets"),
        goalpost_lower=structure.attribute("goalpost_lower"),
        goalpost_upper=structure.attribute("goalpost_upper"),
        normalised_range=spec.normalised_range,
        target_cap=spec.target_cap,
        reference_values=reference_values,
    )
    if not np.all(np.isfinite(normalised)):
        i, j = np.argwhere(~np.isfinite(normalised).reshape(-1, *normalised.shape[-2:]).all(axis=0))[0]
        unit = unit_labels[i] if unit_labels is not None else f"position {i}"
        raise ClusterModelError(
            f"indicator {leaves[j]!r} of unit {unit!r} does not normalise to a finite number (value "
            f"{float(x.reshape(-1, *x.shape[-2:])[0, i, j])!r}); check the cell"
        )
    top = scale_top(spec.normalisation, normalised, present, spec.normalised_range, spec.target_cap)
    return {
        "raw": raw, "x": x, "normalised": normalised, "present": present, "top": top, "imputed": imputed, "treatment": info,
        "before_treatment": before_treatment, "reference_values": reference_values,
    }


def _reference_row(x, unit, unit_labels, leaves) -> np.ndarray:
    """The values (..., m) of the unit ``dist2ref`` measures against: its row of ``x``, or a message naming the fix."""
    labels = [str(v) for v in (unit_labels if unit_labels is not None else ())]
    if unit not in labels:
        shown = ", ".join(labels[:5]) + (", …" if len(labels) > 5 else "")
        raise ClusterModelError(
            f"reference_unit {unit!r} is not among the units scored ({shown or 'no unit labels given'}); name one of "
            "them (a unit screened out by min_coverage cannot be the reference)"
        )
    row = x[..., labels.index(unit), :]
    bad = np.flatnonzero(np.isnan(row.reshape(-1, row.shape[-1])).any(axis=0))
    if bad.size:
        raise ClusterModelError(
            f"reference_unit {unit!r} has no value for indicator {leaves[int(bad[0])]!r}, so no unit's distance to it "
            "can be measured; impute it (missing = 'mean' or 'median') or choose another reference unit"
        )
    return row


def construct(
    data: DataLike,
    spec: IndexSpec | None = None,
    *,
    structure: Structure | None = None,
    weights: WeightsLike = None,
    warn: bool = True,
) -> Construction:
    """Apply the weight-independent construction steps of ``spec`` to ``data``.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
        Default: the study's spec, else ``IndexSpec()``.
    structure : Structure, optional
        Default: the study's structure, else a one-level structure from ``weights``.
    warn : bool
        Emit a :class:`ClusterModelWarning` when cells are imputed or units screened out.

    Returns
    -------
    Construction
    """
    ind, den, structure, spec, _ = resolve(data, weights, spec, structure)
    return _construct(ind, den, structure, spec, warn=warn)


def _located_cell(exc, ind, labels) -> ClusterModelError:
    """``exc`` (a :class:`CellError`) as an :class:`InputError` naming the file, line and column of the cell, when the
    indicators record the table they were read from (``source``, and each unit's line by its label); else as is."""
    source, lines = ind.attrs.get("source"), ind.attrs.get("lines")
    by_label = dict(zip(ind.attrs.get("line_labels", ()), lines or ()))
    line = by_label.get(str(_py(labels[exc.position])))
    if source is None or line is None:
        return exc
    return InputError(exc.problem, file=source, line=int(line), column=exc.column)


def _construct(ind, den, structure, spec, *, warn=False) -> Construction:
    dim = unit_dim(ind)
    leaves = list(structure.leaves)
    have = [str(i) for i in ind.indexes["indicator"]] if "indicator" in ind.indexes else [str(i) for i in ind["indicator"].values]
    missing_leaves = [v for v in leaves if v not in have]
    if missing_leaves:
        raise ClusterModelError(
            f"the structure's indicator(s) {', '.join(map(repr, missing_leaves))} are not in the data; the data's "
            f"indicators are {', '.join(map(str, ind['indicator'].values))}"
        )
    if have != leaves:
        ind = ind.sel(indicator=leaves)
    if ind.dims != (dim, "indicator"):
        ind = ind.transpose(dim, "indicator")
    x = ind.values.astype(float)
    labels = np.asarray(ind.indexes[dim]) if dim in ind.indexes else np.arange(ind.shape[0])
    # the availability screen, before anything else is computed
    cov = coverage(x)
    keep = cov >= spec.min_coverage - 1e-12
    excluded = tuple((_py(labels[i]), float(cov[i])) for i in np.flatnonzero(~keep))
    if not keep.any():
        raise ClusterModelError(
            f"the availability screen min_coverage={spec.min_coverage:g} excludes every unit (best coverage "
            f"{cov.max():.0%}); lower min_coverage"
        )
    if excluded and warn:
        warnings.warn(
            f"{len(excluded)} unit(s) observed on less than {spec.min_coverage:.0%} of the indicators were excluded by "
            f"the availability screen: {', '.join(str(u) for u, _ in excluded[:10])}{' …' if len(excluded) > 10 else ''}",
            ClusterModelWarning,
            stacklevel=2,
        )
    if not keep.all():
        ind = ind.isel({dim: np.flatnonzero(keep)})
        x = x[keep]
        labels = labels[keep]
        den = None if den is None else den.isel({dim: np.flatnonzero(keep)})
    d = None if den is None else den.transpose(dim, ...)
    if spec.negative == "error" and np.any(x < 0):
        i, j = np.argwhere(x < 0)[0]
        raise _located_cell(
            CellError(
                f"`indicators` holds a negative value {float(x[i, j])!r} ({dim} {_py(labels[i])!r}, indicator "
                f"{leaves[j]!r}) that negative='error' cannot score; fix the value or choose negative='zero' "
                "(a deficit counts as zero) or negative='keep' (the formula as printed)",
                position=int(i),
                column=leaves[j],
            ),
            ind,
            labels,
        )
    codes = group_codes(ind, spec)
    fill_codes = group_codes(ind, spec, step="impute") if spec.missing in ("mean", "median") else codes
    try:
        arrs = construct_arrays(
            x,
            structure=structure,
            spec=spec,
            denominators=None if d is None else d.values,
            denominator_names=() if d is None else [str(v) for v in d[d.dims[1]].values],
            group_codes=codes,
            impute_codes=fill_codes,
            unit_labels=[_py(v) for v in labels],
        )
    except CellError as exc:  # a bad cell found by an array function: name the file, line and column
        raise _located_cell(exc, ind, labels) from None
    aggs = [spec.aggregation] if isinstance(spec.aggregation, str) else list(spec.aggregation)
    if any(a in ("equation1", "quadratic") for a in aggs):
        check_squares_finite(arrs["x"], arrs["normalised"], ind, dim)  # -1e200 under negative='keep' is an error, not inf
    imputed = tuple(
        (_py(labels[i]), leaves[j], float(arrs["before_treatment"][i, j])) for i, j in zip(*np.nonzero(arrs["imputed"]))
    )
    missing_cells = tuple((_py(labels[i]), leaves[j]) for i, j in zip(*np.nonzero(~arrs["present"])))
    if imputed and warn:
        warnings.warn(
            f"{len(imputed)} missing cell(s) imputed with the {spec.missing} of their "
            f"{'group' if spec.imputation_reference == 'group' else 'sample'}; the list is in the construction log "
            "(Construction.imputed, construction.json in a report)",
            ClusterModelWarning,
            stacklevel=2,
        )
    tlog = None if arrs["treatment"] is None else treatment_log(arrs["before_treatment"], arrs["x"], arrs["treatment"], spec.transform)
    coords = {k: v for k, v in ind.coords.items() if k not in ("indicator",) and dim in v.dims}
    return Construction(
        spec=spec,
        structure=structure,
        unit_dim=dim,
        units=labels,
        excluded=excluded,
        raw=arrs["raw"],
        normalised=arrs["normalised"],
        present=arrs["present"],
        top=arrs["top"],
        imputed=imputed,
        missing_cells=missing_cells,
        treatment=tlog,
        coords=coords,
        reference_values=arrs["reference_values"],
    )


def _chunks(n_rows, bytes_per_row, budget):
    size = max(1, int(budget // max(bytes_per_row, 1)))
    return [slice(s, min(s + size, n_rows)) for s in range(0, n_rows, size)] or [slice(0, 0)]


def compute_scores(
    data: DataLike,
    weights: WeightsLike = None,
    spec: IndexSpec | None = None,
    *,
    structure: Structure | None = None,
    nodes: str | int | Sequence[str] | None = None,
    construction: Construction | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> xr.DataArray:
    """Score of every node of every unit, for one or a batch of weight vectors.

    Parameters
    ----------
    data : Study, Dataset or DataArray
        See the module docstring.
    weights : optional
        Weight vectors with any batch dims (see :func:`resolve`); default the structure's.
    spec : IndexSpec, optional
    structure : Structure, optional
    nodes : str or sequence of str, optional
        Nodes to return: default every node (indicators give their
        normalised values); ``'index'`` or the root's name for the index only;
        an int ``k`` for the nodes of level k.
    construction : Construction, optional
        A ready :func:`construct` result (skips steps 1-4).
    chunk_bytes : int
        Working memory per chunk of weight vectors (the batch is processed in
        chunks; the result is allocated once).

    Returns
    -------
    xarray.DataArray, dims (*weight batch dims, unit, node)
        Coordinates ``level`` and ``parent`` on ``node``; ``attrs`` hold the spec.

    Examples
    --------
    >>> import xarray as xr
    >>> from clustermodel.spec import IndexSpec
    >>> x = xr.DataArray([[1.0, 4.0], [2.0, 2.0]], dims=("unit", "indicator"), coords={"indicator": ["a", "b"]})
    >>> s = compute_scores(x, {"a": 1, "b": 1}, IndexSpec(normalisation="max"))
    >>> s.sel(node="index").values.tolist()
    [0.75, 0.75]
    """
    ind, den, structure, spec, (Wb, batch, bcoords) = resolve(data, weights, spec, structure)
    c = construction if construction is not None else _construct(ind, den, structure, spec, warn=True)
    want = _select_nodes(structure, nodes)
    bshape = Wb.shape[:-1]
    W = Wb.reshape(-1, Wb.shape[-1])
    n = len(c.units)
    leaves = list(structure.leaves)
    out = np.empty((W.shape[0], n, len(want)))
    keep_agg = [v for v in want if v not in leaves]
    per_row = n * 8 * (len(keep_agg) + max(len(structure.children(v)) for v in structure.aggregates) + 4)
    for sl in _chunks(W.shape[0], per_row, chunk_bytes):
        res = aggregate_tree(
            c.normalised,
            c.present,
            W[sl],
            structure=structure,
            aggregation_at=lambda lv: spec.aggregation_at(lv, structure.n_levels),
            missing=spec.missing,
            keep=keep_agg,
            unit_labels=[_py(u) for u in c.units],
        )
        for k, v in enumerate(want):
            if v in res:
                out[sl, :, k] = res[v]
            else:
                j = leaves.index(v)
                out[sl, :, k] = np.where(c.present[:, j] | (spec.missing != "rescale"), c.normalised[:, j], np.nan)
    coords = dict(c.coords)
    coords.update(bcoords)
    coords["node"] = want
    coords["level"] = ("node", [structure.level(v) for v in want])
    return xr.DataArray(
        out.reshape(*bshape, n, len(want)),
        dims=[*batch, c.unit_dim, "node"],
        coords=coords,
        name="score",
        attrs=spec.to_attrs(),
    )


def _select_nodes(structure, nodes):
    if nodes is None:
        return list(structure.nodes)
    if isinstance(nodes, str):
        return [structure.root] if nodes in ("index", structure.root) else [structure._node(nodes)]
    if isinstance(nodes, (int, np.integer)):
        sel = [v for v in structure.nodes if structure.level(v) == int(nodes)]
        if not sel:
            raise ClusterModelError(f"`nodes`: the structure has levels 1 to {structure.n_levels}, not {nodes}")
        return sel
    return [structure._node(v) for v in nodes]


def compute_index(
    data: DataLike,
    weights: WeightsLike = None,
    spec: IndexSpec | None = None,
    *,
    structure: Structure | None = None,
    construction: Construction | None = None,
) -> xr.DataArray:
    """The index (the structure's root) of every unit, for one or a batch of weight vectors.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    weights : optional
        Weights with any batch dims (see :func:`resolve`); weights are
        relative within their parent.
    spec : IndexSpec, optional
        Default: the study's spec, else ``IndexSpec()``; the paper's choices
        are :data:`clustermodel.spec.PAPER_SPEC`.

    Returns
    -------
    xarray.DataArray
        Dims ``(*weight batch dims, unit)``, ``attrs`` holding the spec.

    Examples
    --------
    >>> import xarray as xr
    >>> from clustermodel.spec import PAPER_SPEC
    >>> x = xr.DataArray([[1.0, 4.0], [2.0, 2.0]], dims=("cluster", "indicator"),
    ...                  coords={"indicator": ["a", "b"]})
    >>> compute_index(x, [0.5, 0.5], PAPER_SPEC.replace(reference="sample")).round(3).values.tolist()
    [1.118, 1.118]
    """
    s = compute_scores(data, weights, spec, structure=structure, nodes="index", construction=construction)
    return s.isel(node=0, drop=True).drop_vars("level", errors="ignore").rename("index")


def index_maximum(data, weights=None, spec: IndexSpec | None = None, *, structure: Structure | None = None, construction=None) -> xr.DataArray:
    """Attainable maximum of the index — the score of a virtual unit at the top of every indicator's scale.

    Under Equation 1 as printed this is sqrt(number of indicators with a
    positive weight); under the weighted means with a bounded normaliser it is 1.
    """
    ind, den, structure, spec, (Wb, batch, bcoords) = resolve(data, weights, spec, structure)
    c = construction if construction is not None else _construct(ind, den, structure, spec, warn=False)
    W = Wb.reshape(-1, Wb.shape[-1])
    res = aggregate_tree(
        c.top[None, :],
        np.ones((1, len(c.top)), dtype=bool),
        W,
        structure=structure,
        aggregation_at=lambda lv: spec.aggregation_at(lv, structure.n_levels),
        missing="zero",
        keep=[structure.root],
        unit_labels=[TOP_UNIT],
    )[structure.root][:, 0]
    return xr.DataArray(res.reshape(Wb.shape[:-1]), dims=batch, coords=bcoords, name="attainable_maximum")


def rank_values(values, axis: int = -1, dtype=np.int64) -> np.ndarray:
    """Ranks along ``axis``: 1 = highest value; exactly equal values share the best rank of their group and the next
    value skips (competition ranking, "1224": ``scipy.stats.rankdata(-v, method="min")``, COINr's
    ``ties.method = "min"``); NaN ranks after every value, all NaN together.

    A tie is exact equality: units that the data cannot order (say, several at exactly 0 under a geometric mean) get
    one rank instead of an order taken from the table. numpy's vectorised (unstable) sort is enough, since tied
    values get the same rank whatever their order; the group pass runs only for rows that hold a tie.
    """
    v = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    n = v.shape[-1]
    key = -v.reshape(-1, n)  # ascending key: highest value first; numpy sorts NaN after +inf (the key of -inf)
    order = np.argsort(key, axis=-1)
    s = key[np.arange(key.shape[0])[:, None], order]  # (fancy indexing: 4x faster than take_along_axis here)
    same = s[:, 1:] == s[:, :-1]
    if np.isnan(s[:, -1]).any():  # NaN sorts last: only rows ending in NaN can hold NaN, which ties with NaN
        same |= np.isnan(s[:, 1:]) & np.isnan(s[:, :-1])
    positions = np.arange(1, n + 1, dtype=dtype)
    out = np.empty(key.shape, dtype=dtype)
    np.put_along_axis(out, order, positions[None, :], axis=-1)
    tied = np.flatnonzero(same.any(axis=1))
    if tied.size:  # within a run of equal sorted keys every position takes the run's first
        starts = np.where(np.concatenate([np.ones((tied.size, 1), bool), ~same[tied]], axis=1), positions, 0)
        rows = np.empty((tied.size, n), dtype=dtype)
        np.put_along_axis(rows, order[tied], np.maximum.accumulate(starts, axis=1), axis=-1)
        out[tied] = rows
    return np.moveaxis(out.reshape(v.shape), -1, axis)


def rank(index: xr.DataArray, dim: str | None = None) -> xr.DataArray:
    """Ranks along ``dim``: 1 = highest index; equal values share a rank (:func:`rank_values`); NaN ranks last."""
    dim = dim or index.dims[-1]
    return index.copy(data=rank_values(index.values, axis=index.get_axis_num(dim))).rename("rank")
