"""Shared hypothesis strategies: realistic indicator tables, weights and specs.

The tables look like the paper's Table 5: a handful of units in a few industry
groups (some of them groups of one), indicator columns whose magnitudes span
several orders (counts in the thousands, volumes in billions written with one
or two decimals, R&D spending below one), printed zeros, missing cells (NaN)
and, sometimes, a column that is zero for every unit. Negative values only
come from the dedicated ``negative=True`` tables (Table 6's trade deficits).
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr
from hypothesis import settings
from hypothesis import strategies as st

from clustermodel.spec import NEGATIVE_POLICIES, PAPER_SPEC, REFERENCE_SETS

__all__ = [
    "HEAVY_SETTINGS",
    "indicator_tables",
    "weight_vectors",
    "weight_batches",
    "specs",
    "non_numeric_cells",
    "studies",
]

#: Settings for properties whose every example is expensive (a whole study through ``evaluate`` or
#: ``reproduce``, files written and read, a CLI run): a quarter of the active profile's examples keeps the
#: suite within its budget (about two minutes under the ci profile on a 2-core machine).
HEAVY_SETTINGS = settings(max_examples=max(10, settings.default.max_examples // 4))

# Decimal exponents of a column's magnitude: 10**-3 (0.00x bln) to 10**3 (thousands of publications).
_EXPONENTS = st.integers(min_value=-3, max_value=3)


@functools.lru_cache(maxsize=None)
def _ints(lo: int, hi: int, size: int = 0):
    """Cached strategies (building and validating a new one per draw costs more than the draw)."""
    element = st.integers(lo, hi)
    return element if size == 0 else st.lists(element, min_size=size, max_size=size)


_KINDS = st.sampled_from(["decimal", "count", "zero"])
_KINDS_NO_ZERO = st.sampled_from(["decimal", "count"])


@st.composite
def indicator_tables(
    draw,
    *,
    min_units: int = 1,
    max_units: int = 8,
    min_indicators: int = 1,
    max_indicators: int = 5,
    max_groups: int = 4,
    missing: bool = True,
    zero_columns: bool = True,
    negative: bool = False,
    dim: str = "cluster",
) -> xr.DataArray:
    """An indicator table as the package reads it: DataArray (unit, indicator) with a ``group`` coord.

    Parameters
    ----------
    missing : bool
        Allow NaN cells (in half of the tables, about one cell in five; a whole row or column may be missing).
    zero_columns : bool
        Allow a column that is zero for every unit.
    negative : bool
        Allow negative values (every column may hold them).
    """
    n = draw(_ints(min_units, max_units))
    m = draw(_ints(min_indicators, max_indicators))
    columns = []
    for _ in range(m):
        kind = draw(_KINDS if zero_columns else _KINDS_NO_ZERO)
        if kind == "zero":
            col = np.zeros(n)
        elif kind == "count":  # integer counts (members, publications)
            col = np.array(draw(_ints(-300 if negative else 0, 3000, n)), dtype=float)
        else:  # printed decimals: an integer mantissa times a power of ten (72.4, 1.2, 0.2)
            e = draw(_EXPONENTS)
            col = np.array(draw(_ints(-10_000 if negative else 0, 10_000, n)), dtype=float) * 10.0**e
        columns.append(col)
    values = np.array(columns, dtype=float).T.reshape(n, m)
    if missing and draw(st.booleans()):  # complete tables are common too (and cheaper to draw)
        mask = np.array(draw(_ints(0, 4, n * m))).reshape(n, m) == 4
        values[mask] = np.nan
    # group codes: the number of groups is drawn first, so that groups of one are common
    n_groups = draw(_ints(1, min(n, max_groups)))
    codes = draw(_ints(0, n_groups - 1, n))
    return xr.DataArray(
        values,
        dims=(dim, "indicator"),
        coords={
            dim: np.arange(1, n + 1),
            "indicator": [f"ind{j}" for j in range(m)],
            "group": (dim, np.array([f"g{c}" for c in codes], dtype=object).astype(str)),
        },
        name="indicators",
    )


@functools.lru_cache(maxsize=None)
def weight_vectors(m: int, *, min_value: float = 1e-3, max_value: float = 1e3, allow_zero: bool = False):
    """A weight vector of length ``m`` as a float array.

    Positive weights span six orders of magnitude (their sum is not one: the
    index functions take weights as given). ``allow_zero`` sets some weights to
    exactly zero but keeps at least one positive.
    """
    positive = st.floats(min_value=min_value, max_value=max_value, allow_nan=False, allow_infinity=False)
    element = st.one_of(st.just(0.0), positive) if allow_zero else positive
    return st.lists(element, min_size=m, max_size=m).filter(lambda w: sum(w) > 0).map(np.array)


@functools.lru_cache(maxsize=None)
def weight_batches(m: int, *, max_batch: int = 6, allow_zero: bool = False):
    """A (k, m) array of weight vectors."""
    return st.lists(weight_vectors(m, allow_zero=allow_zero), min_size=1, max_size=max_batch).map(np.stack)


@functools.lru_cache(maxsize=None)
def specs(**fixed):
    """The paper's family of specs: ratio to the maximum with each of its options (the Euclidean and
    arithmetic aggregations, missing as zero or available-case, negatives kept or zeroed); keyword
    arguments pin or widen fields."""
    fields = {
        "reference": st.sampled_from(sorted(REFERENCE_SETS)),
        "aggregation": st.sampled_from(["arithmetic", "equation1", "quadratic"]),
        "missing": st.sampled_from(["rescale", "zero"]),
        "negative": st.sampled_from(sorted(set(NEGATIVE_POLICIES) - {"error"})),
    }
    for k, v in fixed.items():
        fields[k] = v if isinstance(v, st.SearchStrategy) else st.just(v)
    return st.builds(PAPER_SPEC.replace, **fields)


def _not_a_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return True
    return False


#: Cell text that is not a number and not a missing-value token (what a typo looks like).
non_numeric_cells = st.text(
    alphabet=st.characters(codec="ascii", categories=["L", "N", "P", "S"], exclude_characters=',"'),
    min_size=1,
    max_size=8,
).filter(lambda s: s.strip() != "" and s.strip().lower() not in {"n/a", "na", "nan"} and _not_a_number(s))


@st.composite
def studies(draw, *, max_units: int = 8, max_regions: int = 4, max_indicators: int = 4):
    """A whole study like the paper's: clusters in groups and regions, a region table with
    deficits (negative values), expert weights summing to one and equal region weights.

    Every unit has at least one observed indicator (the loader rejects empty rows) and every
    weight is positive, so no index is NaN.
    """
    from clustermodel.data import Study

    x = draw(indicator_tables(min_units=2, max_units=max_units, max_indicators=max_indicators))
    present = ~np.isnan(x.values)
    x.values[~present.any(axis=1), 0] = 0.0
    n, m = x.shape
    r = draw(indicator_tables(min_units=1, max_units=max_regions, max_indicators=max_indicators, negative=True, missing=False, dim="region"))
    region_names = np.array([f"R{k}" for k in range(r.sizes["region"])])
    r = r.drop_vars("group").assign_coords(region=region_names)
    region_of = np.array(draw(st.lists(st.sampled_from(list(region_names)), min_size=n, max_size=n)))
    w = draw(weight_vectors(m, min_value=0.01, max_value=1.0))
    w = w / w.sum()
    clusters = xr.Dataset({"indicators": x}).assign_coords(region=("cluster", region_of))
    weights = xr.DataArray(w, dims="indicator", coords={"indicator": x["indicator"].values}, name="weights")
    mr = r.sizes["indicator"]
    region_weights = xr.DataArray(np.full(mr, 1.0 / mr), dims="indicator", coords={"indicator": r["indicator"].values})
    return Study(clusters=clusters, weights=weights, regions=xr.Dataset({"indicators": r}), region_weights=region_weights, spec=PAPER_SPEC)
