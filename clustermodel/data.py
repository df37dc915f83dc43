"""Stage 0: read indicator tables into labelled xarray objects.

Inputs are CSV (or Excel) files: a unit table (clusters), an optional region
table and a weights table. Every cell is checked; bad content raises
:class:`~clustermodel.InputError` naming the file, the line and the column.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from clustermodel._display import Display, names
from clustermodel._errors import ClusterModelError, ClusterModelWarning, InputError
from clustermodel._validation import SQUARE_RATIO_LIMIT
from clustermodel.spec import IndexSpec
from clustermodel.paper import paper_data_dir
from clustermodel.structure import Structure, load_structure
from clustermodel._tables import (  # noqa: F401  (re-exported: data.read_table, data.MISSING_TOKENS)
    MISSING_TOKENS,
    _header_line,
    _line,
    _numeric,
    _require,
    read_table,
)
from clustermodel._io import PathLike

if TYPE_CHECKING:
    from clustermodel.nouns import Nouns

__all__ = [
    "Study",
    "load_study",
    "load_paper",
    "read_table",
    "load_weights",
    "load_spec",
    "paper_data_dir",
    "example_path",
    "MISSING_TOKENS",
]


#: Relative tolerance within which weights summing to one are accepted as is.
WEIGHT_SUM_EXACT = 1e-9
#: Weights whose sum is within this distance of one are renormalised with a
#: warning (the rounding of a published table); further away they are rejected.
WEIGHT_SUM_TOLERANCE = 0.01


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_INT64 = (-(2**63), 2**63 - 1)
























def _check_weighted_indicators(weights, weights_path, df, table_path, *, lines=None):
    """Every indicator named in a weights file must be a column of the table it weights."""
    for i, name in enumerate(str(v) for v in weights["indicator"].values):
        if name not in df.columns:
            raise InputError(
                f"weight for unknown indicator {name!r}: {table_path} has no column {name!r} (its columns are "
                f"{', '.join(repr(c) for c in df.columns)}); remove the row from the weights file or add the "
                "column to the table",
                file=weights_path,
                line=i + 2 if lines is None else lines[i],
                column="indicator",
            )






def _unique_labels(df, column, path):
    values = list(df[column])
    seen = {}
    for i, v in enumerate(values):
        if v == "":
            raise InputError("empty identifier; every row needs one", file=path, line=_line(df, i), column=column)
        if v in seen:
            raise InputError(
                f"duplicate identifier {v!r} (first on line {_line(df, seen[v])}); identifiers must be unique",
                file=path,
                line=_line(df, i),
                column=column,
            )
        seen[v] = i
    return values


def _labels(values):
    """Integer labels when every identifier is an integer that int64 holds and that reads back the same, else strings.

    ``007`` or ``+7`` stay strings (they would not round-trip), and so do identifiers too long for int64
    (a 23-digit code): numpy would otherwise store Python integers in an object array.
    """
    values = list(values)
    if all(re.fullmatch(r"-?[0-9]+", v) for v in values):
        ints = [int(v) for v in values]
        if [str(i) for i in ints] == values and all(_INT64[0] <= i <= _INT64[1] for i in ints):
            return np.array(ints, dtype=np.int64)
    return np.array(values, dtype=object).astype(str)


def _check_indicators(values, names, path, labels, unit, *, lines=None):
    lines = list(range(2, len(labels) + 2)) if lines is None else lines
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
            line=lines[i],
        )
    _check_square_overflow(values, names, path, lines)
    _warn_degenerate(values, names, path, lines, unit)


def _check_square_overflow(values, names, path, lines):
    """Refuse a value whose ratio to the column's positive values overflows when squared.

    Under ``negative='keep'`` (as the paper computed Table 6) a value is divided by the
    positive maximum of its reference set and squared; the smallest positive value of the column bounds
    that maximum from below, whatever the reference set, so this check holds for every spec.
    """
    for j, name in enumerate(names):
        col = values[:, j]
        positive = col[col > 0]
        if positive.size == 0:
            continue  # no positive maximum: the column contributes 0 everywhere
        with np.errstate(over="ignore"):
            ratio = np.abs(col) / positive.min()
        bad = np.flatnonzero(ratio > SQUARE_RATIO_LIMIT)
        bad = [i for i in bad if col[i] < 0]
        if bad:
            i = bad[0]
            raise InputError(
                f"{float(col[i]):g} is {float(ratio[i]):.3g} times the column's smallest positive value "
                f"({float(positive.min()):g}); "
                "divided by a reference maximum and squared (negative='keep', the formula as printed) it "
                "overflows to an infinite index: check the value (a missing-value code? write it as an empty cell)",
                file=path,
                line=lines[i],
                column=name,
            )


def _warn_degenerate(values, names, path, lines, unit):
    """Warn about a study in which the index cannot tell the units apart."""
    n = values.shape[0]
    if n == 1:
        warnings.warn(
            f"{path}: a single {unit} (line {lines[0]}): normalised by its own values it scores the attainable "
            f"maximum whatever the data, and no rank, scenario or sensitivity can be compared; add the other "
            f"{unit}s",
            ClusterModelWarning,
            stacklevel=4,
        )
        return
    complete = ~np.isnan(values).any(axis=0)
    constant = [j for j in range(values.shape[1]) if complete[j] and np.all(values[:, j] == values[0, j])]
    if len(constant) == values.shape[1]:
        warnings.warn(
            f"{path}: every indicator takes the same value in every row: every {unit} gets the same index and rank 1, "
            "and no analysis can tell the units apart; check the table",
            ClusterModelWarning,
            stacklevel=4,
        )
        return
    for j in (j for j in constant if values[0, j] != 0):  # a zero column has its own warning
        warnings.warn(
            f"{path}: column '{names[j]}': indicator takes the same value ({values[0, j]:g}) in every row; it raises "
            f"every index alike and does not distinguish the {unit}s",
            ClusterModelWarning,
            stacklevel=4,
        )


def _sum_text(total: float) -> str:
    """A weight sum with as many digits as it takes to differ from one ('1' for 0.9999999 reads as a contradiction)."""
    for digits in range(6, 18):
        text = f"{total:.{digits}g}"
        if float(text) != 1.0:
            return text
    return repr(float(total))


def _read_weights(path, *, name: str = "weights"):
    """:func:`load_weights`, plus what the study records: the SHA-256 of the bytes read and each weight's line."""
    path = Path(path)
    df = read_table(path)
    _require(df, ["indicator", "weight"], path, fix="a weights table has the header 'indicator,weight'")
    labels = _unique_labels(df, "indicator", path)
    w = _numeric(df, "weight", path)
    for i, v in enumerate(w):
        if np.isnan(v):
            raise InputError("weight is missing; every indicator needs a weight", file=path, line=_line(df, i), column="weight")
        if v < 0:
            raise InputError(f"negative weight {float(v)!r}; weights must be >= 0", file=path, line=_line(df, i), column="weight")
    total = w.sum()
    if total <= 0:
        raise InputError("the weights sum to zero; at least one must be positive", file=path, column="weight")
    # the relative slack keeps a typed sum of exactly 0.99 or 1.01 (0.010000000000000009 in binary) renormalised
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE * (1 + 1e-9):
        raise InputError(
            f"the weights sum to {_sum_text(total)}, not 1; they are rejected (only a rounding difference of up to "
            f"{WEIGHT_SUM_TOLERANCE} is renormalised): fix the weights so that they sum to one",
            file=path,
            column="weight",
        )
    if abs(total - 1) > WEIGHT_SUM_EXACT:
        warnings.warn(
            f"{path}: column 'weight': weights sum to {_sum_text(total)}, not exactly one; renormalised to sum to one",
            ClusterModelWarning,
            stacklevel=3,
        )
        w = w / total
    da = xr.DataArray(
        w,
        dims=["indicator"],
        coords={"indicator": labels},
        name=name,
        attrs={"source": str(path)},
    )
    return da, df.attrs["sha256"], [_line(df, i) for i in range(len(df))]


def load_weights(path: PathLike, *, name: str = "weights") -> xr.DataArray:
    """Read a two-column table ``indicator, weight``.

    Weights must be non-negative. If they sum to one within 1e-9 they are used
    as they are; within 0.01 (the rounding of a published table) they are
    renormalised with a :class:`ClusterModelWarning`; otherwise rejected.
    """
    return _read_weights(path, name=name)[0]


@dataclass(frozen=True, repr=False)
class Study(Display):
    """The data of one study: units, their structure and spec, and optionally a second (higher-level) index.

    Attributes
    ----------
    clusters : xarray.Dataset
        ``indicators`` (cluster, indicator), optionally ``denominators``
        (cluster, denominator) and ``published_index`` (cluster); coordinates
        ``name``, ``group`` and ``region`` on ``cluster`` where given. (The
        unit dimension keeps the paper's name; a report calls the units by
        the study's nouns.)
    weights : xarray.DataArray
        Weight of every indicator, dim ``indicator``: the weights file of a
        one-level study, or the effective weights (product of the relative
        weights down the tree) of a hierarchy.
    regions : xarray.Dataset or None
        ``indicators`` (region, indicator) of the higher-level units and
        optionally ``published_index``.
    region_weights : xarray.DataArray or None
        Weights of the regional indicators (equal unless given).
    sources : dict
        Input file path -> SHA-256 of its bytes.
    structure : Structure, optional
        The index's tree; default the one-level structure of ``weights``.
    spec : IndexSpec, optional
        The study's construction choices (the paper's: ``PAPER_SPEC``);
        default ``IndexSpec()``.
    nouns : Nouns, optional
        What a report calls the units, groups and higher-level units (the
        paper's: clusters, industry groups, regions); default generic.
    paper : bool
        True only for the paper's own study (:func:`load_paper`): reports then
        compare with its published counts and tables.
    """

    clusters: xr.Dataset
    weights: xr.DataArray
    regions: xr.Dataset | None = None
    region_weights: xr.DataArray | None = None
    sources: dict = field(default_factory=dict)
    # None in the constructor means the default named above; after construction each is always set.
    structure: Structure = None  # type: ignore[assignment]
    spec: IndexSpec = None  # type: ignore[assignment]
    nouns: Nouns = None  # type: ignore[assignment]
    paper: bool = False

    def __post_init__(self):
        from clustermodel.nouns import Nouns

        if self.structure is None:
            object.__setattr__(self, "structure", Structure.flat(self.weights))
        if self.spec is None:
            object.__setattr__(self, "spec", IndexSpec())
        if self.nouns is None:
            object.__setattr__(self, "nouns", Nouns())

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

    def replace(self, **changes: Any) -> Study:
        """Copy with some fields changed (e.g. ``spec=``)."""
        return dataclasses.replace(self, **changes)

    def subset(self, positions: ArrayLike) -> Study:
        """Study restricted to (or resampled at) the given cluster positions."""
        return self.replace(clusters=self.clusters.isel(cluster=np.asarray(positions)))

    def _display_(self) -> tuple[str, list]:
        nouns = self.nouns
        n = self.clusters.sizes["cluster"]
        st = self.structure
        head = f"{n} {nouns.units if n != 1 else nouns.unit}, {len(st.leaves)} indicators, {st.n_levels} levels"
        rows: list = [("indicators", names(st.leaves))]
        if self.has_groups:
            groups = list(dict.fromkeys(str(g) for g in self.clusters["group"].values))
            rows.append((nouns.groups, f"{len(groups)}: {names(groups, 4)}"))
        if self.regions is not None:
            rows.append((nouns.highers, f"{self.regions.sizes['region']}, {len(self.region_weights)} indicators"))
        if "published_index" in self.clusters:
            rows.append(("published index", "yes"))
        default = IndexSpec().to_dict()
        changed = {k: v for k, v in self.spec.to_dict().items() if v != default[k] or k == "aggregation"}
        rows.append(("spec", ", ".join(f"{k}={' / '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in changed.items())))
        rows.append(("sources", names([Path(p).name for p in self.sources], 4)))
        return head, rows


def _indicator_meta(meta_path, table):
    if meta_path is None or not Path(meta_path).exists():
        return {}, {}
    df = read_table(meta_path)
    _require(df, ["table", "indicator", "label", "unit"], Path(meta_path))
    df = df[df["table"] == table]
    return dict(zip(df["indicator"], df["unit"])), dict(zip(df["indicator"], df["label"]))


def _check_group_labels(df, column, path, unit):
    """Warn about group labels that differ only in case or spacing, and about one-unit groups."""
    first_line = {}
    for i, v in enumerate(df[column]):
        first_line.setdefault(v, _line(df, i))
    spellings = {}
    for v in first_line:
        spellings.setdefault(" ".join(v.split()).casefold(), []).append(v)
    for variants in spellings.values():
        if len(variants) > 1:
            named = " and ".join(f"{v!r} (line {first_line[v]})" for v in variants)
            warnings.warn(
                f"{path}: column '{column}': labels {named} differ only in case or spacing and are read as "
                f"{len(variants)} different groups; write them the same way if they are one group",
                ClusterModelWarning,
                stacklevel=4,
            )
    counts = df[column].value_counts(sort=False)
    single = [v for v in first_line if counts[v] == 1]
    if single and len(first_line) > 1:
        shown = ", ".join(f"{v!r} (line {first_line[v]})" for v in single[:5])
        shown += f" and {len(single) - 5} more" if len(single) > 5 else ""
        warnings.warn(
            f"{path}: column '{column}': "
            + (f"group {shown} holds a single {unit}" if len(single) == 1 else f"groups {shown} each hold a single {unit}")
            + ": normalised within its group "
            "(reference='group', the paper's choice) such a unit is its own maximum on every indicator it reports; "
            "check the label, or normalise over the whole sample (reference='sample', --reference sample)",
            ClusterModelWarning,
            stacklevel=4,
        )


def _unit_dataset(df, path, *, dim, id_column, indicators, meta_path, table, extra_coords):
    labels = _unique_labels(df, id_column, path)
    values = np.column_stack([_numeric(df, c, path) for c in indicators])
    lines = [_line(df, i) for i in range(len(df))]
    _check_indicators(values, indicators, path, labels, dim, lines=lines)
    units, long_names = _indicator_meta(meta_path, table)
    coords = {dim: _labels(labels), "indicator": list(indicators)}
    for cname, col in extra_coords.items():
        if col in df.columns:
            for i, v in enumerate(df[col]):
                if v == "":
                    raise InputError(f"empty {cname}; every row needs one", file=path, line=lines[i], column=col)
            if cname == "group":
                _check_group_labels(df, col, path, dim)
            coords[cname] = (dim, np.array(list(df[col]), dtype=object).astype(str))
    ds = xr.Dataset(
        {"indicators": ((dim, "indicator"), values)},
        coords=coords,
        attrs={
            "source": str(path),
            "sha256": df.attrs.get("sha256") or _sha256(path),
            "columns": list(df.columns),  # the header as read, for messages about column options
            "header_line": _header_line(df),
        },
    )
    ds["indicator"].attrs["units"] = [units.get(i, "unknown") for i in indicators]
    ds["indicator"].attrs["long_names"] = [long_names.get(i, i) for i in indicators]
    ds["indicators"].attrs["description"] = f"{table} indicator values as read from {Path(path).name}; NaN = missing"
    # where each unit's row is, so that an error found later in a cell (a negative value, a zero denominator) names
    # the file, line and column; by label, so the record stays right for any selection of the units
    ds["indicators"].attrs.update(source=str(path), line_labels=[str(v) for v in labels], lines=[int(n) for n in lines])
    return ds


def load_spec(path: PathLike) -> IndexSpec:
    """Read an :class:`IndexSpec` from a TOML file (its top level, or its ``[spec]`` table).

    Raises
    ------
    InputError
        For a file that is not TOML, an unknown key (the message lists the
        valid ones) or a bad value.
    """
    return _read_spec(path)[0]


def _read_spec(path):
    path = Path(path)
    if not path.exists():
        raise InputError("file not found; check the path", file=path)
    data = path.read_bytes()
    try:
        d = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML ({exc})", file=path) from None
    d = d.get("spec", d)
    try:
        return IndexSpec.from_dict(d, where="spec"), hashlib.sha256(data).hexdigest()
    except ClusterModelError as exc:
        raise InputError(str(exc), file=path) from None


def _denominators(df, structure, path, dim):
    names = [d for d in dict.fromkeys(structure.attribute("denominators")) if d is not None]
    if not names:
        return None
    values = np.column_stack([_numeric(df, c, path) for c in names])
    return xr.DataArray(values, dims=(dim, "denominator"), coords={"denominator": names}, name="denominators")


def _coinr_data(df, path, id_column, name_column):
    """COINr's iData conventions for a unit table: ``uCode`` / ``uName`` as the default id and name columns, ``NA``
    as an empty cell, one ``Time`` period only."""
    if "uCode" not in df.columns:
        return df, id_column, name_column
    if id_column is None and "no" not in df.columns:
        id_column = "uCode"
    if name_column == "name" and "name" not in df.columns and "uName" in df.columns:
        name_column = "uName"
    if "Time" in df.columns and df["Time"].nunique() > 1:
        periods = sorted(df["Time"].unique())
        raise InputError(
            f"the table holds panel data (COINr's Time column has {len(periods)} periods: {', '.join(periods[:5])}"
            f"{' …' if len(periods) > 5 else ''}); clustermodel builds one period at a time: keep the rows of one Time "
            "value (e.g. the latest) in a table of its own",
            file=path,
            line=df.attrs.get("header_line", 1),
            column="Time",
        )
    out = df.mask(df.isin(["NA"]), "")
    out.attrs = dict(df.attrs)
    return out, id_column, name_column


def _default_id_column(df, tree, path) -> str:
    """``no`` if the table has it (the paper's), else its first column, unless that column is data of the index."""
    if "no" in df.columns:
        return "no"
    first = str(df.columns[0])
    data = set(tree.leaves) | {d for d in tree.denominators if d}
    if first in data:
        raise InputError(
            f"the first column {first!r} is an indicator of the index, so it cannot identify the units; name the "
            "identifier column with --id-column (`id_column`), or put it first",
            file=path,
            line=df.attrs.get("header_line", 1),
            column=first,
        )
    return first


def load_study(
    clusters: PathLike,
    weights: PathLike | None = None,
    *,
    structure: PathLike | None = None,
    spec: PathLike | IndexSpec | None = None,
    regions: PathLike | None = None,
    region_weights: PathLike | None = None,
    id_column: str | None = None,
    name_column: str = "name",
    group_column: str | None = None,
    region_column: str | None = None,
    published_column: str = "published_index",
    indicator_meta: PathLike | None = None,
) -> Study:
    """Load a study from files.

    Parameters
    ----------
    clusters : path
        One row per unit: an identifier column, one column per indicator (and
        per denominator) named as in the weights or structure file, and
        optionally name, group, region and published-index columns.
    weights : path, optional
        ``indicator, weight`` table: a one-level structure. Give this or ``structure``.
    structure : path, optional
        Structure file (``node, parent, weight, direction, denominator, unit,
        target``; see ``docs/structure.md``): a hierarchy of any depth.
    spec : path or IndexSpec, optional
        The study's construction choices (a TOML file or an IndexSpec);
        default ``IndexSpec()``.
    regions : path, optional
        One row per higher-level unit (region): a ``region`` column, numeric
        indicator columns and optionally the published index. Every region
        named in the unit table must appear here.
    region_weights : path, optional
        Weights of the regional indicators; equal weights by default.
    id_column : str, optional
        The identifier column. Default: ``no`` if the table has one (the paper's), else COINr's ``uCode``, else the
        table's first column, which must then not be an indicator or denominator of the structure (name it otherwise).
    name_column, published_column : str
        Column names in the unit table. A COINr ``iData`` table is read as it is:
        with the default names, ``uCode`` is the identifier and ``uName`` the name when the table has no ``no`` /
        ``name`` column, R's ``NA`` is an empty cell, and a ``Time`` column must hold one period (COINr's panel
        data, several rows per unit, is refused with the fix); with ``structure`` a COINr ``iMeta`` table.
    group_column, region_column : str, optional
        Group and higher-level-unit columns. By default ``'group'`` and
        ``'region'`` are used when present; a column named explicitly must exist.
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
    if (weights is None) == (structure is None):
        raise ClusterModelError("give exactly one of `weights` (a flat indicator,weight file) and `structure` (a structure file)")
    df = read_table(clusters)
    df, id_column, name_column = _coinr_data(df, clusters, id_column, name_column)
    if id_column is not None or ("no" not in df.columns and len(df.columns) < 2):  # one column: no identifier and data
        _require(df, [id_column or "no"], clusters, fix="add the identifier column or name it with `id_column` (--id-column)")
    for given, option in ((group_column, "group_column"), (region_column, "region_column")):
        if given is not None and given not in df.columns:
            flag = "--" + option.replace("_", "-")
            raise InputError(
                f"{flag} {given!r} names no column of the table; the header has "
                f"{', '.join(repr(c) for c in df.columns)}: name an existing column, or leave out {flag} (`{option}`)",
                file=clusters,
                line=df.attrs.get("header_line", 1),
            )
    group_column = "group" if group_column is None else group_column
    region_column = "region" if region_column is None else region_column
    sources = {}
    if structure is not None:
        tree = load_structure(structure)
        tree.check_columns(df.columns, clusters)
        eff = tree.effective_weights()
        w = xr.DataArray(eff, dims=["indicator"], coords={"indicator": list(tree.leaves)}, name="weights", attrs={"source": str(structure)})
        sources[str(structure)] = tree.sha256
    else:
        w, w_sha, w_lines = _read_weights(weights)
        _check_weighted_indicators(w, Path(weights), df, clusters, lines=w_lines)
        tree = Structure.flat(w, source=str(weights))
        sources[str(weights)] = w_sha
    if isinstance(spec, IndexSpec) or spec is None:
        study_spec = spec
    else:
        study_spec, sources[str(spec)] = _read_spec(spec)
    indicators = list(tree.leaves)
    if id_column is None:
        id_column = _default_id_column(df, tree, clusters)
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
    den = _denominators(df, tree, clusters, "cluster")
    if den is not None:
        ds["denominators"] = den
    if published_column in df.columns:
        ds["published_index"] = ("cluster", _numeric(df, published_column, clusters))
    sources = {str(clusters): ds.attrs["sha256"], **sources}  # hashes of the bytes read

    rds = rw = None
    if regions is not None:
        regions = Path(regions)
        rdf = read_table(regions)
        _require(rdf, ["region"], regions, fix="name the column of region names 'region'")
        if region_weights is not None:
            rw, rw_sha, rw_lines = _read_weights(region_weights, name="region_weights")
            rind = [str(v) for v in rw["indicator"].values]
            _check_weighted_indicators(rw, Path(region_weights), rdf, regions, lines=rw_lines)
        else:
            rind = [c for c in rdf.columns if c not in ("region", published_column)]
            if not rind:
                raise InputError("no indicator column besides 'region'", file=regions, line=_header_line(rdf))
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
            sources[str(region_weights)] = rw_sha
        if region_column not in df.columns:
            raise InputError(
                f"a regions table was given but the cluster table has no {region_column!r} column",
                file=clusters,
                line=_header_line(df),
            )
        known = set(rds["region"].values)
        for i, r in enumerate(df[region_column]):
            if r not in known:
                raise InputError(
                    f"region {r!r} is not in the regions table {regions}; use one of: {', '.join(sorted(known))}",
                    file=clusters,
                    line=_line(df, i),
                    column=region_column,
                )
    if indicator_meta is not None:
        sources[str(indicator_meta)] = _sha256(Path(indicator_meta))
    return Study(clusters=ds, weights=w, regions=rds, region_weights=rw, sources=sources, structure=tree, spec=study_spec)


def example_path(relative: str = "") -> Path:
    """A file or folder of the example data shipped with clustermodel (``data/examples/`` of the repository), from
    any working directory and in an installed wheel.

    Examples
    --------
    >>> example_path("hierarchy/cities.csv").name
    'cities.csv'
    >>> sorted(p.name for p in example_path("hierarchy").glob("*.toml"))
    ['spec.toml']
    """
    from clustermodel._resources import resource

    return resource(Path("data", "examples", relative).as_posix())


def load_paper() -> Study:
    """The paper's study: Table 5 (clusters), Table 6 (regions), Table 4 (weights) as a structure, and its spec.

    The structure (``data/structure.csv``) is Table 4's weights as a one-level
    tree; the spec (``data/spec.toml``) is :data:`clustermodel.spec.PAPER_SPEC`.
    """
    from clustermodel.nouns import PAPER_NOUNS

    d = paper_data_dir()
    study = load_study(
        d / "clusters.csv",
        structure=d / "structure.csv",
        spec=d / "spec.toml",
        regions=d / "regions.csv",
        indicator_meta=d / "indicators.csv",
    )
    return study.replace(nouns=PAPER_NOUNS, paper=True)
