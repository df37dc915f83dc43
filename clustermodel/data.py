"""Stage 0: read indicator tables into labelled xarray objects.

Inputs are CSV (or Excel) files: a unit table (clusters), an optional region
table and a weights table. Every cell is checked; bad content raises
:class:`~clustermodel.InputError` naming the file, the line and the column.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike

from clustermodel._errors import ClusterModelError, ClusterModelWarning, InputError
from clustermodel._io import PathLike

__all__ = [
    "Study",
    "load_study",
    "load_paper",
    "read_table",
    "load_weights",
    "paper_data_dir",
    "MISSING_TOKENS",
]

#: Cell contents read as a missing value (besides an empty cell).
MISSING_TOKENS = frozenset({"", "n/a", "na", "nan", "NA", "N/A", "NaN"})

#: Relative tolerance within which weights summing to one are accepted as is.
WEIGHT_SUM_EXACT = 1e-9
#: Weights whose sum is within this distance of one are renormalised with a
#: warning (the rounding of a published table); further away they are rejected.
WEIGHT_SUM_TOLERANCE = 0.01


def paper_data_dir() -> Path:
    """The folder holding the paper's tables: the repository's ``data/``, shipped inside the package.

    An installed clustermodel reads it through :mod:`importlib.resources`; a checkout reads the repository's
    own ``data/`` (see :mod:`clustermodel._resources`).

    Raises
    ------
    ClusterModelError
        If the installation lacks its data files.

    Examples
    --------
    >>> sorted(p.name for p in paper_data_dir().glob("*.csv"))[:2]
    ['clusters.csv', 'indicators.csv']
    """
    from clustermodel._resources import resource

    return resource("data")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_table(path: PathLike) -> pd.DataFrame:
    """Read a CSV or Excel file as strings, one row per data line.

    Raises
    ------
    InputError
        If the file does not exist, cannot be parsed or holds no data row.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found; check the path", file=path)
    try:
        if path.suffix.lower() in {".xlsx", ".xlsm", ".xls"}:
            df = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty; it needs a header line and at least one data line", file=path) from None
    except ImportError as exc:
        raise InputError(f"cannot read Excel files: {exc}; install clustermodel[excel]", file=path) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot be parsed as a table ({exc}); save it as UTF-8 CSV", file=path) from None
    if df.empty:
        raise InputError("the file has a header but no data line", file=path)
    df.columns = [str(c).strip() for c in df.columns]
    dup = [c for c in df.columns if list(df.columns).count(c) > 1]
    if dup:
        raise InputError(f"column name {dup[0]!r} appears more than once; rename one", file=path, line=1)
    return df.apply(lambda s: s.str.strip())


def _require(df, columns, path, *, fix: str = "add it to the header line"):
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"required column(s) {', '.join(repr(m) for m in missing)} not found; the header has "
            f"{', '.join(repr(c) for c in df.columns)}: {fix}",
            file=path,
            line=1,
        )


def _check_weighted_indicators(weights, weights_path, df, table_path):
    """Every indicator named in a weights file must be a column of the table it weights."""
    for i, name in enumerate(str(v) for v in weights["indicator"].values):
        if name not in df.columns:
            raise InputError(
                f"weight for unknown indicator {name!r}: {table_path} has no column {name!r} (its columns are "
                f"{', '.join(repr(c) for c in df.columns)}); remove the row from the weights file or add the "
                "column to the table",
                file=weights_path,
                line=i + 2,
                column="indicator",
            )


def _numeric(df, column, path) -> np.ndarray:
    out = np.empty(len(df))
    for i, cell in enumerate(df[column]):
        if cell in MISSING_TOKENS:
            out[i] = np.nan
            continue
        try:
            value = float(cell)
        except ValueError:
            hint = (
                "use a decimal point, not a comma"
                if "," in cell and cell.replace(",", "", 1).replace("-", "", 1).isdigit()
                else "write a number, or leave the cell empty for a missing value"
            )
            raise InputError(f"{cell!r} is not a number; {hint}", file=path, line=i + 2, column=column) from None
        if not math.isfinite(value):
            raise InputError(f"{cell!r} is not a finite number", file=path, line=i + 2, column=column)
        out[i] = value
    return out


def _unique_labels(df, column, path):
    values = list(df[column])
    seen = {}
    for i, v in enumerate(values):
        if v == "":
            raise InputError("empty identifier; every row needs one", file=path, line=i + 2, column=column)
        if v in seen:
            raise InputError(
                f"duplicate identifier {v!r} (first on line {seen[v] + 2}); identifiers must be unique",
                file=path,
                line=i + 2,
                column=column,
            )
        seen[v] = i
    return values


def _labels(values):
    """Integer labels when every identifier is an integer, else strings."""
    try:
        ints = [int(v) for v in values]
        if [str(i) for i in ints] == list(values):
            return np.array(ints)
    except ValueError:
        pass
    return np.array(values, dtype=object).astype(str)


def _check_indicators(values, names, path, labels, unit):
    for j, name in enumerate(names):
        col = values[:, j]
        if np.all(np.isnan(col)):
            raise InputError(
                "indicator is missing for every row; drop the column (and its weight) or supply values",
                file=path,
                column=name,
            )
        if np.nanmax(np.abs(col)) == 0:
            warnings.warn(
                f"{path}: column '{name}': indicator is zero for every row and contributes nothing to any index; "
                "check the column, or drop it and its weight",
                ClusterModelWarning,
                stacklevel=3,
            )
    empty_rows = np.all(np.isnan(values), axis=1)
    if empty_rows.any():
        i = int(np.argmax(empty_rows))
        raise InputError(
            f"{unit} {labels[i]!r} has no indicator value at all; remove the row or supply values",
            file=path,
            line=i + 2,
        )


def load_weights(path: PathLike, *, name: str = "weights") -> xr.DataArray:
    """Read a two-column table ``indicator, weight``.

    Weights must be non-negative. If they sum to one within 1e-9 they are used
    as they are; within 0.01 (the rounding of a published table) they are
    renormalised with a :class:`ClusterModelWarning`; otherwise rejected.
    """
    path = Path(path)
    df = read_table(path)
    _require(df, ["indicator", "weight"], path, fix="a weights table has the header 'indicator,weight'")
    labels = _unique_labels(df, "indicator", path)
    w = _numeric(df, "weight", path)
    for i, v in enumerate(w):
        if np.isnan(v):
            raise InputError("weight is missing; every indicator needs a weight", file=path, line=i + 2, column="weight")
        if v < 0:
            raise InputError(f"negative weight {float(v)!r}; weights must be >= 0", file=path, line=i + 2, column="weight")
    total = w.sum()
    if total <= 0:
        raise InputError("the weights sum to zero; at least one must be positive", file=path, column="weight")
    # the relative slack keeps a typed sum of exactly 0.99 or 1.01 (0.010000000000000009 in binary) renormalised
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE * (1 + 1e-9):
        raise InputError(
            f"the weights sum to {total:.6g}, not 1; they are rejected (only a rounding difference of up to "
            f"{WEIGHT_SUM_TOLERANCE} is renormalised): fix the weights so that they sum to one",
            file=path,
            column="weight",
        )
    if abs(total - 1) > WEIGHT_SUM_EXACT:
        warnings.warn(
            f"{path}: column 'weight': weights sum to {total:.6g}; renormalised to sum to one",
            ClusterModelWarning,
            stacklevel=2,
        )
        w = w / total
    return xr.DataArray(
        w,
        dims=["indicator"],
        coords={"indicator": labels},
        name=name,
        attrs={"source": str(path)},
    )


@dataclass(frozen=True)
class Study:
    """The data of one study: units (clusters), their regions and the weights.

    Attributes
    ----------
    clusters : xarray.Dataset
        ``indicators`` (cluster, indicator) and, where given, ``published_index``
        (cluster); coordinates ``name``, ``group`` and ``region`` on ``cluster``.
    weights : xarray.DataArray
        Expert weights, dim ``indicator``, aligned with the cluster indicators.
    regions : xarray.Dataset or None
        ``indicators`` (region, indicator) and optionally ``published_index``.
    region_weights : xarray.DataArray or None
        Weights of the regional indicators (equal weights unless given; under
        Equation 1 as printed they cancel anyway).
    sources : dict
        Input file path -> SHA-256 of its bytes.
    """

    clusters: xr.Dataset
    weights: xr.DataArray
    regions: xr.Dataset | None = None
    region_weights: xr.DataArray | None = None
    sources: dict = field(default_factory=dict)

    @property
    def indicators(self) -> xr.DataArray:
        return self.clusters["indicators"]

    @property
    def has_groups(self) -> bool:
        return "group" in self.clusters.coords

    @property
    def has_regions(self) -> bool:
        return self.regions is not None and "region" in self.clusters.coords

    def cluster_regions(self) -> np.ndarray:
        """Region of every cluster, in cluster order."""
        if "region" not in self.clusters.coords:
            raise ClusterModelError("this study has no region column; pass `region_column` when loading")
        return self.clusters["region"].values

    def region_of_cluster_index(self) -> np.ndarray:
        """Position in ``regions`` of every cluster's region."""
        if not self.has_regions:
            raise ClusterModelError("this study has no region table; pass a regions file")
        pos = {r: i for i, r in enumerate(self.regions["region"].values)}
        return np.array([pos[r] for r in self.cluster_regions()], dtype=np.intp)

    def subset(self, positions: ArrayLike) -> Study:
        """Study restricted to (or resampled at) the given cluster positions."""
        return Study(
            clusters=self.clusters.isel(cluster=np.asarray(positions)),
            weights=self.weights,
            regions=self.regions,
            region_weights=self.region_weights,
            sources=self.sources,
        )


def _indicator_meta(meta_path, table):
    if meta_path is None or not Path(meta_path).exists():
        return {}, {}
    df = read_table(meta_path)
    _require(df, ["table", "indicator", "label", "unit"], Path(meta_path))
    df = df[df["table"] == table]
    return dict(zip(df["indicator"], df["unit"])), dict(zip(df["indicator"], df["label"]))


def _unit_dataset(df, path, *, dim, id_column, indicators, meta_path, table, extra_coords):
    labels = _unique_labels(df, id_column, path)
    values = np.column_stack([_numeric(df, c, path) for c in indicators])
    _check_indicators(values, indicators, path, labels, dim)
    units, long_names = _indicator_meta(meta_path, table)
    coords = {dim: _labels(labels), "indicator": list(indicators)}
    for cname, col in extra_coords.items():
        if col in df.columns:
            for i, v in enumerate(df[col]):
                if v == "":
                    raise InputError(f"empty {cname}; every row needs one", file=path, line=i + 2, column=col)
            coords[cname] = (dim, np.array(list(df[col]), dtype=object).astype(str))
    ds = xr.Dataset(
        {"indicators": ((dim, "indicator"), values)},
        coords=coords,
        attrs={"source": str(path), "sha256": _sha256(path)},
    )
    ds["indicator"].attrs["units"] = [units.get(i, "unknown") for i in indicators]
    ds["indicator"].attrs["long_names"] = [long_names.get(i, i) for i in indicators]
    ds["indicators"].attrs["description"] = f"{table} indicator values as read from {Path(path).name}; NaN = missing"
    return ds


def load_study(
    clusters: PathLike,
    weights: PathLike,
    *,
    regions: PathLike | None = None,
    region_weights: PathLike | None = None,
    id_column: str = "no",
    name_column: str = "name",
    group_column: str = "group",
    region_column: str = "region",
    published_column: str = "published_index",
    indicator_meta: PathLike | None = None,
) -> Study:
    """Load a study from files.

    Parameters
    ----------
    clusters : path
        One row per unit (cluster): an identifier column, one column per
        indicator named as in the weights file, and optionally name, group,
        region and published-index columns.
    weights : path
        ``indicator, weight`` table; its indicators select the unit columns.
    regions : path, optional
        One row per region: a ``region`` column, numeric indicator columns and
        optionally the published index. Every region named in the cluster table
        must appear here.
    region_weights : path, optional
        Weights of the regional indicators; equal weights by default.
    id_column, name_column, group_column, region_column, published_column : str
        Column names in the cluster table. Only ``id_column`` is required.
    indicator_meta : path, optional
        ``table, indicator, label, unit`` table attaching units to the data.

    Returns
    -------
    Study

    Raises
    ------
    InputError
        With file, line and column, for any bad cell or inconsistency.
    """
    clusters = Path(clusters)
    w = load_weights(weights)
    df = read_table(clusters)
    indicators = [str(v) for v in w["indicator"].values]
    _require(df, [id_column], clusters, fix="add the identifier column or name it with `id_column` (--id-column)")
    _check_weighted_indicators(w, Path(weights), df, clusters)
    ds = _unit_dataset(
        df,
        clusters,
        dim="cluster",
        id_column=id_column,
        indicators=indicators,
        meta_path=indicator_meta,
        table="clusters",
        extra_coords={"name": name_column, "group": group_column, "region": region_column},
    )
    if published_column in df.columns:
        ds["published_index"] = ("cluster", _numeric(df, published_column, clusters))
    sources = {str(clusters): ds.attrs["sha256"], str(weights): _sha256(Path(weights))}

    rds = rw = None
    if regions is not None:
        regions = Path(regions)
        rdf = read_table(regions)
        _require(rdf, ["region"], regions, fix="name the column of region names 'region'")
        if region_weights is not None:
            rw = load_weights(region_weights, name="region_weights")
            rind = [str(v) for v in rw["indicator"].values]
            _check_weighted_indicators(rw, Path(region_weights), rdf, regions)
        else:
            rind = [c for c in rdf.columns if c not in ("region", published_column)]
            if not rind:
                raise InputError("no indicator column besides 'region'", file=regions, line=1)
            rw = xr.DataArray(
                np.full(len(rind), 1.0 / len(rind)),
                dims=["indicator"],
                coords={"indicator": rind},
                name="region_weights",
                attrs={"source": "equal weights (no region weights file given)"},
            )
        rds = _unit_dataset(
            rdf,
            regions,
            dim="region",
            id_column="region",
            indicators=rind,
            meta_path=indicator_meta,
            table="regions",
            extra_coords={},
        )
        rds = rds.assign_coords(region=rds["region"].values.astype(str))
        if published_column in rdf.columns:
            rds["published_index"] = ("region", _numeric(rdf, published_column, regions))
        sources[str(regions)] = rds.attrs["sha256"]
        if region_weights is not None:
            sources[str(region_weights)] = _sha256(Path(region_weights))
        if region_column not in df.columns:
            raise InputError(
                f"a regions table was given but the cluster table has no {region_column!r} column",
                file=clusters,
                line=1,
            )
        known = set(rds["region"].values)
        for i, r in enumerate(df[region_column]):
            if r not in known:
                raise InputError(
                    f"region {r!r} is not in the regions table {regions}; use one of: {', '.join(sorted(known))}",
                    file=clusters,
                    line=i + 2,
                    column=region_column,
                )
    if indicator_meta is not None:
        sources[str(indicator_meta)] = _sha256(Path(indicator_meta))
    return Study(clusters=ds, weights=w, regions=rds, region_weights=rw, sources=sources)


def load_paper() -> Study:
    """The paper's data: Table 5 (clusters), Table 6 (regions), Table 4 (weights)."""
    d = paper_data_dir()
    return load_study(
        d / "clusters.csv",
        d / "weights.csv",
        regions=d / "regions.csv",
        indicator_meta=d / "indicators.csv",
    )
