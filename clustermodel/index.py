"""Stage 3: the internationalization index as a pure, labelled function.

:func:`compute_index` composes :mod:`clustermodel.normalise` and
:mod:`clustermodel.aggregate` on labelled data. Weights may carry any batch
dimensions besides ``indicator`` (``draw``, ``sample`` …); the whole batch is
scored in one vectorised call.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.stats
import xarray as xr

from clustermodel._errors import ClusterModelError
from clustermodel._validation import check_squares_finite
from clustermodel.aggregate import aggregate_array, attainable_maximum
from clustermodel.normalise import normalise_array
from clustermodel.spec import IndexSpec

__all__ = ["compute_index", "as_weights", "group_codes", "unit_dim", "rank", "index_maximum"]


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


def as_weights(weights, indicators: xr.DataArray) -> xr.DataArray:
    """Coerce ``weights`` to a DataArray aligned exactly with the indicators.

    Accepts a DataArray with an ``indicator`` dim, a mapping indicator -> weight,
    or an array whose last axis follows the indicator order.
    """
    labels = list(indicators["indicator"].values)
    if isinstance(weights, Mapping):
        weights = xr.DataArray(
            [weights[k] for k in weights], dims=["indicator"], coords={"indicator": list(weights)}
        )
    if not isinstance(weights, xr.DataArray):
        arr = np.asarray(weights, dtype=float)
        if arr.ndim == 0 or arr.shape[-1] != len(labels):
            raise ClusterModelError(
                f"`weights` must have {len(labels)} entries along its last axis (one per indicator: "
                f"{', '.join(labels)}); got shape {arr.shape}"
            )
        dims = [f"batch_{k}" for k in range(arr.ndim - 1)] + ["indicator"]
        return xr.DataArray(arr, dims=dims, coords={"indicator": labels})  # already in the data's order
    if "indicator" not in weights.dims:
        raise ClusterModelError("`weights` needs an 'indicator' dimension")
    wl = [str(v) for v in weights["indicator"].values] if "indicator" in weights.coords else labels
    unknown = [v for v in wl if v not in labels]
    lacking = [v for v in labels if v not in wl]
    if unknown or lacking:
        parts = []
        if unknown:
            parts.append(f"weights name indicator(s) the data lacks: {', '.join(unknown)}")
        if lacking:
            parts.append(f"no weight for indicator(s): {', '.join(lacking)}")
        raise ClusterModelError("; ".join(parts) + f"; the data's indicators are {', '.join(labels)}")
    if "indicator" not in weights.coords:
        weights = weights.assign_coords(indicator=labels)
    if wl == labels and weights.dims[-1] == "indicator":
        return weights  # aligned already: skip the (comparatively slow) label lookup
    return weights.sel(indicator=labels).transpose(..., "indicator")


def group_codes(indicators: xr.DataArray, spec: IndexSpec) -> np.ndarray | None:
    """Integer reference-set code of every unit under ``spec.reference``."""
    if spec.reference == "sample":
        return None
    dim = unit_dim(indicators)
    if "group" not in indicators.coords:
        raise ClusterModelError(
            "reference='group' needs a 'group' column (industry group) in the unit table; "
            "add one or use reference='sample'"
        )
    _, codes = np.unique(indicators["group"].values, return_inverse=True)
    return codes.reshape(indicators.sizes[dim])


def compute_index(indicators: xr.DataArray, weights, spec: IndexSpec | None = None) -> xr.DataArray:
    """Internationalization index of every unit for one or many weight vectors.

    Parameters
    ----------
    indicators : xarray.DataArray, dims (unit, 'indicator')
        Indicator values, NaN = missing; a ``group`` coordinate on the unit
        dim is needed when ``spec.reference == 'group'``.
    weights : DataArray, mapping or array
        Weights with an ``indicator`` dim plus any batch dims (see
        :func:`as_weights`). Weights need not sum to one: under 'quadratic'
        scaling every weight by c scales the index by sqrt(c).
    spec : IndexSpec, optional
        The modelling choices; the default reproduces Table 5.

    Returns
    -------
    xarray.DataArray
        Dims ``(*weight batch dims, unit)``, ``attrs`` holding the spec.

    Examples
    --------
    >>> import xarray as xr
    >>> x = xr.DataArray([[1.0, 4.0], [2.0, 2.0]], dims=("cluster", "indicator"),
    ...                  coords={"indicator": ["a", "b"]})
    >>> compute_index(x, [0.5, 0.5], IndexSpec(reference="sample")).round(3).values.tolist()
    [1.118, 1.118]
    """
    spec = IndexSpec() if spec is None else spec
    dim = unit_dim(indicators)
    w = as_weights(weights, indicators)
    x = indicators.transpose(dim, "indicator").values
    if spec.negative == "error" and np.any(x < 0):
        i, j = np.argwhere(x < 0)[0]
        raise ClusterModelError(
            f"`indicators` holds a negative value {float(x[i, j])!r} ({dim} {indicators[dim].values[i].item()!r}, indicator "
            f"{str(indicators['indicator'].values[j])!r}) that negative='error' cannot score; fix the value or "
            "choose negative='zero' (a deficit counts as zero) or negative='square' (the formula as printed)"
        )
    normalised, present = normalise_array(x, group_codes=group_codes(indicators, spec), negative=spec.negative)
    if spec.weights != "arithmetic":
        check_squares_finite(x, normalised, indicators, dim)  # issue 15: -1e200 under 'square' is an error, not inf
    values = aggregate_array(normalised, present, w.values, placement=spec.weights, missing=spec.missing)
    batch = [d for d in w.dims if d != "indicator"]
    coords = {k: v for k, v in indicators.coords.items() if k != "indicator" and dim in v.dims}
    coords.update({k: w.coords[k] for k in w.coords if k != "indicator" and set(w.coords[k].dims) <= set(batch)})
    return xr.DataArray(
        values,
        dims=[*batch, dim],
        coords=coords,
        name="index",
        attrs={**{f"spec_{k}": v for k, v in spec.to_dict().items()}},
    )


def index_maximum(weights, indicators: xr.DataArray, spec: IndexSpec) -> xr.DataArray:
    """Attainable maximum of the index (a unit holding every maximum), per weight vector."""
    w = as_weights(weights, indicators)
    return xr.DataArray(attainable_maximum(w.values, spec.weights), dims=[d for d in w.dims if d != "indicator"])


def rank(index: xr.DataArray, dim: str | None = None) -> xr.DataArray:
    """Ordinal ranks along ``dim``: 1 = highest index.

    Ties are broken by table order (the earlier unit gets the better rank), so
    the ranks are always a permutation of 1..n. NaN ranks last.
    """
    dim = dim or index.dims[-1]
    axis = index.get_axis_num(dim)
    vals = np.where(np.isnan(index.values), -np.inf, index.values)
    ranks = scipy.stats.rankdata(-vals, method="ordinal", axis=axis)
    return index.copy(data=ranks.astype(np.int64)).rename("rank")
