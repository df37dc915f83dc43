"""Stage 0b: the structure of an index — a tree of indicators, pillars, sub-indices and the index.

A structure file (CSV or Excel) has one row per node, like COINr's ``iMeta``::

    node,parent,weight,direction,denominator,unit,target
    index,,,,,,
    economy,index,2,,,,
    gdp_pc,economy,1,1,,USD,
    unemployment,economy,1,-1,,%,

Indicators are the leaves (nodes nobody names as parent) and must be columns
of the unit table; every other node is an aggregate. Weights are relative
*within their parent*: any non-negative numbers, normalised over the parent's
children by every weighted mean. ``direction`` (+1 more is better, -1 less is
better) applies to indicators. ``denominator`` names a column of the unit
table to divide the indicator by; ``target``, ``goalpost_lower`` and
``goalpost_upper`` feed the ``target`` and ``goalposts`` normalisers.

The flat ``indicator,weight`` file is the one-level structure of
:meth:`Structure.flat`. The level of a leaf is 1; the level of an aggregate is
one more than the highest level of its children (COINr's numbering), so the
index is the top level.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._display import ResultDisplay, names
from clustermodel._errors import ClusterModelError, InputError

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import ArrayLike, PathLike

__all__ = ["Structure", "load_structure", "is_coinr_meta", "STRUCTURE_COLUMNS", "COINR_META_COLUMNS", "ROOT"]

#: Columns a structure file may have (``node`` and ``parent`` are required).
STRUCTURE_COLUMNS = (
    "node",
    "parent",
    "weight",
    "direction",
    "denominator",
    "unit",
    "target",
    "goalpost_lower",
    "goalpost_upper",
    "label",
)

#: Name of the root of a one-level structure built from a flat weights table.
ROOT = "index"


def _nan_tuple(values, n):
    return tuple(float("nan") if v is None else float(v) for v in (values if values is not None else [None] * n))


@dataclass(frozen=True, eq=False, repr=False)
class Structure(ResultDisplay):
    """A tree of nodes with relative weights; indicators are the leaves.

    Parameters
    ----------
    nodes : sequence of str
        Node names, unique.
    parents : sequence of str or None
        Parent of every node; exactly one node (the index) has ``None``.
    weights : sequence of float
        Weight of every node relative to its siblings (the root's is ignored).
    directions : sequence of int, optional
        +1 or -1 for every node (aggregates must be +1); default all +1.
    denominators, units, labels : sequence of str or None, optional
    targets, goalpost_lower, goalpost_upper : sequence of float, optional
        NaN where not given.
    source : str, optional
        The file the structure was read from.

    Examples
    --------
    >>> s = Structure(["index", "p1", "a", "b", "c"], [None, "index", "p1", "p1", "index"], [1, 1, 1, 3, 1])
    >>> s.leaves, s.n_levels, s.level("p1")
    (('a', 'b', 'c'), 3, 2)
    >>> s.effective_weights().round(3).tolist()
    [0.125, 0.375, 0.5]
    """

    # Any sequences are accepted; __post_init__ stores tuples.
    nodes: Sequence[str]
    parents: Sequence[str | None]
    weights: Sequence[float]
    directions: Sequence[int] = ()
    denominators: Sequence[str | None] = ()
    units: Sequence[str | None] = ()
    targets: Sequence[float] = ()
    goalpost_lower: Sequence[float] = ()
    goalpost_upper: Sequence[float] = ()
    labels: Sequence[str | None] = ()
    source: str | None = None

    #: SHA-256 of the bytes of the structure file (None when built in memory).
    sha256 = None

    def __post_init__(self):
        n = len(self.nodes)
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("nodes", tuple(str(v) for v in self.nodes))
        set_("parents", tuple(None if p is None or (isinstance(p, float) and math.isnan(p)) or p == "" else str(p) for p in self.parents))
        set_("weights", tuple(float(w) for w in self.weights))
        set_("directions", tuple(int(d) for d in self.directions) if len(self.directions) else (1,) * n)
        for name in ("denominators", "units", "labels"):
            vals = getattr(self, name)
            set_(name, tuple(None if v in (None, "") else str(v) for v in vals) if len(vals) else (None,) * n)
        for name in ("targets", "goalpost_lower", "goalpost_upper"):
            vals = getattr(self, name)
            set_(name, _nan_tuple(vals, n) if len(vals) else (float("nan"),) * n)
        for name in ("parents", "weights", "directions", "denominators", "units", "targets", "goalpost_lower", "goalpost_upper", "labels"):
            if len(getattr(self, name)) != n:
                raise ClusterModelError(f"`{name}` has {len(getattr(self, name))} entries for {n} nodes; give one per node")
        self._validate()

    # ------------------------------------------------------------------ validation
    def _where(self, i, column):
        """InputError location of node ``i``: the file's line when read from a file."""
        line = None if self._lines is None else self._lines[i]
        return {"file": self.source, "line": line, "column": column}

    def _fail(self, problem, i=None, column=None):
        if self.source is not None:
            raise InputError(problem, **(self._where(i, column) if i is not None else {"file": self.source, "column": column}))
        raise ClusterModelError(problem)

    def _validate(self):
        object.__setattr__(self, "_lines", getattr(self, "_lines", None))
        nodes, parents = self.nodes, self.parents
        seen = {}
        for i, v in enumerate(nodes):
            if not v.strip():
                self._fail("empty node name; every row needs one", i, "node")
            if v in seen:
                self._fail(f"duplicate node {v!r} (first at row {seen[v] + 1}); node names must be unique", i, "node")
            seen[v] = i
        roots = [i for i, p in enumerate(parents) if p is None]
        if not roots:
            self._fail("no root: exactly one node (the index) must have an empty parent")
        if len(roots) > 1:
            names = ", ".join(repr(nodes[i]) for i in roots)
            self._fail(f"more than one root ({names}): exactly one node, the index, has an empty parent; give the others a parent", roots[1], "parent")
        for i, p in enumerate(parents):
            if p is not None and p not in seen:
                self._fail(f"parent {p!r} of node {nodes[i]!r} is not a node of the structure (an orphan); add a row for {p!r} or fix the name", i, "parent")
            if p == nodes[i]:
                self._fail(f"node {nodes[i]!r} is its own parent (a cycle)", i, "parent")
        # cycles: every node must reach the root
        for i in range(len(nodes)):
            path, j = [nodes[i]], i
            while parents[j] is not None:
                j = seen[parents[j]]
                if nodes[j] in path:
                    cycle = " -> ".join(path[path.index(nodes[j]):] + [nodes[j]])
                    self._fail(f"the parents form a cycle ({cycle}); every node must lead up to the index", i, "parent")
                path.append(nodes[j])
        root = roots[0]
        children = {v: [] for v in nodes}
        for i, p in enumerate(parents):
            if p is not None:
                children[p].append(i)
        if not children[nodes[root]]:
            self._fail(f"the index {nodes[root]!r} has no children; add indicators (rows whose parent is {nodes[root]!r})", root, "node")
        for i, (w, p) in enumerate(zip(self.weights, parents)):
            if p is None:
                continue
            if not math.isfinite(w):
                self._fail(f"weight of node {nodes[i]!r} is missing or not finite; every node but the index needs a weight", i, "weight")
            if w < 0:
                self._fail(f"negative weight {w:g} for node {nodes[i]!r}; weights must be >= 0", i, "weight")
        for v, kids in children.items():
            if kids and sum(self.weights[k] for k in kids) <= 0:
                self._fail(f"the weights of the children of {v!r} sum to 0; give at least one of them a positive weight", seen[v], "weight")
            if kids and not math.isfinite(sum(self.weights[k] for k in kids)):
                big = max(kids, key=lambda k: self.weights[k])
                self._fail(
                    f"the weights of the children of {v!r} sum to more than the largest float ({sys.float_info.max:.3g}); "
                    "only their ratios matter: divide them all by the same number (e.g. their largest)", big, "weight"
                )
        for i, d in enumerate(self.directions):
            if d not in (1, -1):
                self._fail(f"direction {d!r} of node {nodes[i]!r} must be 1 (more is better) or -1 (less is better)", i, "direction")
            if children[nodes[i]] and d != 1:
                self._fail(f"node {nodes[i]!r} is an aggregate; direction applies to indicators only (leave it empty)", i, "direction")
            if children[nodes[i]] and self.denominators[i] is not None:
                self._fail(f"node {nodes[i]!r} is an aggregate; denominator applies to indicators only (leave it empty)", i, "denominator")
        for i in range(len(nodes)):
            lo, hi = self.goalpost_lower[i], self.goalpost_upper[i]
            if math.isnan(lo) != math.isnan(hi):
                self._fail(f"node {nodes[i]!r} has only one goalpost; give both goalpost_lower and goalpost_upper or neither", i, "goalpost_upper" if math.isnan(hi) else "goalpost_lower")
            if not math.isnan(lo) and not lo < hi:
                self._fail(f"goalposts of node {nodes[i]!r} must satisfy goalpost_lower < goalpost_upper; got {lo:g} and {hi:g}", i, "goalpost_upper")
        # derived, in a fixed order
        level = {}

        def lev(k):
            if k not in level:
                level[k] = 1 + max((lev(c) for c in children[nodes[k]]), default=0)
            return level[k]

        for k in range(len(nodes)):
            lev(k)
        object.__setattr__(self, "_children", {v: tuple(nodes[c] for c in kids) for v, kids in children.items()})
        object.__setattr__(self, "_level", {nodes[k]: lv for k, lv in level.items()})
        object.__setattr__(self, "_index", seen)
        object.__setattr__(self, "_root", nodes[root])

    # ------------------------------------------------------------------ derived views
    @property
    def root(self) -> str:
        """The index: the one node without a parent."""
        return self._root

    @property
    def leaves(self) -> tuple:
        """Indicators, in table order."""
        return tuple(v for v in self.nodes if not self._children[v])

    @property
    def aggregates(self) -> tuple:
        """Aggregates ordered bottom-up: every node after all of its children (the index last)."""
        return tuple(sorted((v for v in self.nodes if self._children[v]), key=lambda v: (self._level[v], self._index[v])))

    @property
    def weighted(self) -> tuple:
        """Nodes that carry a weight (every node but the root), in table order: the order of weight vectors."""
        return tuple(v for v in self.nodes if v != self._root)

    @property
    def n_levels(self) -> int:
        return self._level[self._root]

    def level(self, node: str) -> int:
        """1 for indicators; 1 + the highest level of the children otherwise."""
        return self._level[self._node(node)]

    def children(self, node: str) -> tuple:
        return self._children[self._node(node)]

    def parent(self, node: str) -> str | None:
        return self.parents[self._index[self._node(node)]]

    def _node(self, node):
        if node not in self._index:
            raise ClusterModelError(f"{node!r} is not a node of the structure; nodes are {', '.join(self.nodes)}")
        return node

    def attribute(self, name: str, nodes: Sequence[str] | None = None) -> tuple:
        """A per-node column (``'directions'``, ``'targets'`` …) for ``nodes`` (default: the leaves)."""
        nodes = self.leaves if nodes is None else nodes
        col = getattr(self, name)
        return tuple(col[self._index[v]] for v in nodes)

    def node_labels(self) -> dict:
        """Node -> its ``label`` for every node that has one (what figures and tables show instead of the code)."""
        return {v: str(lab) for v, lab in zip(self.nodes, self.labels or ()) if isinstance(lab, str) and lab.strip()}

    @property
    def is_flat(self) -> bool:
        return self.n_levels == 2 and all(self.parents[self._index[v]] == self._root for v in self.leaves)

    # ------------------------------------------------------------------ weights
    def weight_array(self) -> np.ndarray:
        """The structure's weights over :attr:`weighted` as a plain array (a copy)."""
        if "_wa" not in self.__dict__:
            object.__setattr__(self, "_wa", np.array([self.weights[self._index[v]] for v in self.weighted]))
        return self._wa.copy()

    def weight_vector(self) -> xr.DataArray:
        """The structure's weights over :attr:`weighted`, dim ``node``."""
        if "_wv" not in self.__dict__:
            object.__setattr__(
                self,
                "_wv",
                xr.DataArray(
                    np.array([self.weights[self._index[v]] for v in self.weighted]),
                    dims=["node"],
                    coords={"node": list(self.weighted)},
                    name="weights",
                ),
            )
        return self._wv.copy()

    def parent_codes(self) -> np.ndarray:
        """Position (among :attr:`aggregates`) of the parent of every weighted node."""
        pos = {v: k for k, v in enumerate(self.aggregates)}
        return np.array([pos[self.parent(v)] for v in self.weighted], dtype=np.intp)

    def normalise_weights(self, weights: ArrayLike) -> np.ndarray:
        """Weights (..., K) over :attr:`weighted`, rescaled to sum to one within each parent.

        Raises
        ------
        ClusterModelError
            If a weight is negative or not finite, or a parent's children all weigh 0.
        """
        w = self._check_weights(weights)
        codes = self.parent_codes()
        onehot = (codes[:, None] == np.arange(len(self.aggregates))).astype(float)  # (K, P)
        with np.errstate(over="ignore"):
            totals = w @ onehot  # (..., P)
        if not np.all(np.isfinite(totals)):
            bad = self.aggregates[int(np.argwhere(~np.isfinite(totals))[0][-1])]
            raise ClusterModelError(
                f"`weights`: the weights of the children of {bad!r} sum to more than the largest float; only their ratios "
                "matter: divide them all by the same number (e.g. their largest)"
            )
        if np.any(totals <= 0):
            bad = self.aggregates[int(np.argwhere(totals <= 0)[0][-1])]
            raise ClusterModelError(f"`weights`: the children of {bad!r} all have weight 0 in at least one weight vector; give one a positive weight")
        return w / totals[..., codes]

    def _check_weights(self, weights) -> np.ndarray:
        w = np.asarray(weights, dtype=float)
        k = len(self.weighted)
        if w.ndim < 1 or w.shape[-1] != k:
            raise ClusterModelError(
                f"`weights` must have {k} entries along its last axis (one per weighted node: {', '.join(self.weighted)}); got shape {w.shape}"
            )
        if not np.all(np.isfinite(w)):
            raise ClusterModelError("`weights` contains NaN or infinite values; every weight must be a finite number")
        if np.any(w < 0):
            raise ClusterModelError(f"`weights` contains a negative weight ({float(w.min())!r}); weights must be >= 0")
        return w

    def effective_weights(self, weights: ArrayLike | None = None) -> np.ndarray:
        """Weight of every indicator in the index: the product of normalised weights along its path, shape (..., m).

        This is the share of the index an indicator carries under a linear
        (arithmetic) aggregation at every level; the report shows it beside the
        relative weights.
        """
        w = self.normalise_weights(self.weight_vector().values if weights is None else weights)
        pos = {v: k for k, v in enumerate(self.weighted)}
        out = []
        for leaf in self.leaves:
            e = np.ones(w.shape[:-1])
            v = leaf
            while v != self._root:
                e = e * w[..., pos[v]]
                v = self.parent(v)
            out.append(e)
        return np.stack(out, axis=-1)

    def with_weights(self, weights: Mapping[str, float] | ArrayLike) -> Structure:
        """Copy with new weights over :attr:`weighted` (a mapping node -> weight or a vector)."""
        if isinstance(weights, dict):
            unknown = [k for k in weights if k not in self.weighted]
            if unknown:
                raise ClusterModelError(f"`weights` names node(s) that carry no weight: {', '.join(map(str, unknown))}")
            new = list(self.weights)
            for k, v in weights.items():
                new[self._index[k]] = float(v)
        else:
            vec = self._check_weights(weights)
            if vec.ndim != 1:
                raise ClusterModelError("`weights` must be one vector here")
            new = list(self.weights)
            for v, x in zip(self.weighted, vec):
                new[self._index[v]] = float(x)
        s = dataclasses.replace(self, weights=tuple(new))
        object.__setattr__(s, "_lines", self._lines)
        return s

    # ------------------------------------------------------------------ construction
    @classmethod
    def flat(
        cls,
        weights: xr.DataArray | Mapping[str, float],
        *,
        root: str = ROOT,
        directions: Mapping[str, int] | None = None,
        source: PathLike | None = None,
    ) -> Structure:
        """One-level structure from indicator weights (a DataArray with dim ``indicator`` or a mapping)."""
        if isinstance(weights, xr.DataArray):
            names = [str(v) for v in weights["indicator"].values]
            values = [float(v) for v in weights.values]
            source = source or weights.attrs.get("source")
        else:
            names, values = [str(k) for k in weights], [float(v) for v in weights.values()]
        if root in names:
            root = root + "_"
        dirs = [1] + [int((directions or {}).get(v, 1)) for v in names]
        return cls([root, *names], [None] + [root] * len(names), [float("nan"), *values], directions=dirs, source=None if source is None else str(source))

    def to_frame(self) -> pd.DataFrame:
        """One row per node: the structure file's columns plus ``level``, ``weight_in_parent`` and ``effective_weight``
        (the product of the normalised weights on the node's path to the index: an aggregate's is the sum of its
        indicators', the index's is 1)."""
        import pandas as pd

        eff = dict(zip(self.leaves, self.effective_weights()))
        norm = dict(zip(self.weighted, self.normalise_weights(self.weight_vector().values)))
        for v in reversed(self.nodes):  # an aggregate's effective weight: the product on its path, its leaves' sum
            if v not in eff:
                path, u = 1.0, v
                while u != self._root:
                    path *= norm[u]
                    u = self.parent(u)
                eff[v] = path

        def text(values):  # a missing name is NaN, as pandas shows missing text under every version
            return [np.nan if v is None else v for v in values]

        return pd.DataFrame(
            {
                "node": self.nodes,
                "parent": text(self.parents),
                "level": [self._level[v] for v in self.nodes],
                "weight": self.weights,
                "weight_in_parent": [norm.get(v, np.nan) for v in self.nodes],
                "effective_weight": [eff.get(v, np.nan) for v in self.nodes],
                "direction": self.directions,
                "denominator": text(self.denominators),
                "unit": text(self.units),
                "target": self.targets,
                "goalpost_lower": self.goalpost_lower,
                "goalpost_upper": self.goalpost_upper,
            }
        ).set_index("node")

    def to_dict(self) -> dict:
        """JSON-ready description (for results and the manifest)."""
        rows = []
        for i, v in enumerate(self.nodes):
            row = {"node": v, "parent": self.parents[i], "level": self._level[v]}
            if self.parents[i] is not None:
                row["weight"] = self.weights[i]
            if not self._children[v]:
                row["direction"] = self.directions[i]
                for name, key in (("denominators", "denominator"), ("units", "unit")):
                    if getattr(self, name)[i] is not None:
                        row[key] = getattr(self, name)[i]
                for name, key in (("targets", "target"), ("goalpost_lower", "goalpost_lower"), ("goalpost_upper", "goalpost_upper")):
                    if not math.isnan(getattr(self, name)[i]):
                        row[key] = getattr(self, name)[i]
            rows.append(row)
        return {"root": self._root, "levels": self.n_levels, "nodes": rows}

    def check_columns(self, columns: Iterable[str], table_path: PathLike | None = None) -> None:
        """Every indicator and denominator must be a column of the unit table."""
        columns = list(columns)
        for v in self.leaves:
            if v not in columns:
                aggregate_hint = " (a node without children is an indicator; if it is meant as a pillar, give it children)"
                self._fail(
                    f"indicator {v!r} is not a column of the unit table{'' if table_path is None else f' {table_path}'}"
                    f"{aggregate_hint}; its columns are {', '.join(map(repr, columns))}",
                    self._index[v],
                    "node",
                )
        for v in self.aggregates:
            if v != self.root and v in columns:
                child = next(i for i, p in enumerate(self.parents) if p == v)
                self._fail(
                    f"node {v!r} is a column of the unit table{'' if table_path is None else f' {table_path}'} but has "
                    f"children (this row names it as the parent of {self.nodes[child]!r}), so its data would leave the "
                    f"index: an indicator cannot be a parent; fix this row's parent, or rename the aggregate",
                    child,
                    "parent",
                )
        for v, d in zip(self.nodes, self.denominators):
            if d is not None and d not in columns:
                self._fail(
                    f"denominator {d!r} of indicator {v!r} is not a column of the unit table"
                    f"{'' if table_path is None else f' {table_path}'}; its columns are {', '.join(map(repr, columns))}",
                    self._index[v],
                    "denominator",
                )

    def file_frame(self) -> pd.DataFrame:
        """The structure as a structure file holds it: the columns of :data:`STRUCTURE_COLUMNS` that carry a
        value, one row per node, so that ``load_structure`` of its CSV gives this structure back."""
        import pandas as pd

        cols = {
            "node": self.nodes,
            "parent": self.parents,
            "weight": self.weights,
            "direction": self.directions,
            "denominator": self.denominators,
            "unit": self.units,
            "target": self.targets,
            "goalpost_lower": self.goalpost_lower,
            "goalpost_upper": self.goalpost_upper,
            "label": self.labels,
        }
        cells = {}
        for name, values in cols.items():
            values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]
            if name == "direction" and all(v == 1 for v in values):
                continue
            if name in ("node", "parent", "weight") or any(v is not None for v in values):
                cells[name] = ["" if v is None else v for v in values]
        cells["weight"] = ["" if v == "" else repr(float(v)) for v in cells["weight"]]
        return pd.DataFrame(cells)

    def to_dataframe(self) -> pd.DataFrame:
        """The same as :meth:`to_frame`."""
        return self.to_frame()

    def to_dataset(self) -> xr.Dataset:
        """:meth:`to_frame` as an :class:`xarray.Dataset` along ``node``, with the root and source in ``attrs``."""
        df = self.to_frame()
        for col in ("parent", "denominator", "unit"):  # text columns: '' where empty, so that NetCDF can hold them
            df[col] = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in df[col]]
        ds = xr.Dataset.from_dataframe(df)
        ds = ds.assign_coords(node=[str(v) for v in ds["node"].values])
        ds.attrs.update({"root": self._root, "levels": self.n_levels, "source": self.source or ""})
        return ds

    def _display_(self) -> tuple[str, list]:
        k = len(self.aggregates)
        head = f"{len(self.leaves)} indicators, {k} aggregate{'s' if k != 1 else ''}, {self.n_levels} levels, root {self._root!r}"
        rows = []
        for lv in range(self.n_levels, 0, -1):
            at = [v for v in self.nodes if self._level[v] == lv]
            rows.append((f"level {lv}", names(at, 6)))
        if self.source:
            rows.append(("source", self.source))
        return head, rows


#: COINr's iMeta columns -> the structure file's (``Level`` is implied by the tree; ``Type`` selects the rows).
COINR_META_COLUMNS = {
    "iCode": "node",
    "Parent": "parent",
    "Weight": "weight",
    "Direction": "direction",
    "Unit": "unit",
    "Target": "target",
    "iName": "label",
}
#: iMeta types: the rows that build the index, and those that describe other columns of iData (ignored here).
COINR_INDEX_TYPES = ("Indicator", "Aggregate")
COINR_OTHER_TYPES = ("Group", "Denominator", "Other")


def is_coinr_meta(columns) -> bool:
    """Whether a table's header is COINr's ``iMeta`` (``iCode``, ``Parent`` and ``Type``), not a structure file."""
    return {"iCode", "Parent", "Type"} <= set(columns)


def _from_coinr_meta(df, path: Path):
    """A COINr ``iMeta`` table as a structure-file table: the Indicator and Aggregate rows, columns renamed, R's
    ``NA`` as an empty cell; the row numbers stay those of the file, so every later message names its line."""
    from clustermodel._tables import _line

    for i, kind in enumerate(df["Type"]):
        if kind not in COINR_INDEX_TYPES + COINR_OTHER_TYPES:
            raise InputError(
                f"COINr iMeta Type {kind!r} must be one of {', '.join(COINR_INDEX_TYPES + COINR_OTHER_TYPES)}",
                file=path, line=_line(df, i), column="Type",
            )
    rows = df[df["Type"].isin(COINR_INDEX_TYPES)]
    out = rows[[c for c in COINR_META_COLUMNS if c in rows.columns]].rename(columns=COINR_META_COLUMNS)
    out = out.mask(out.isin(["NA", "NaN"]), "")
    out.attrs = dict(df.attrs)
    return out


def load_structure(path: PathLike) -> Structure:
    """Read a structure file (CSV or Excel), one row per node; see the module docstring and ``docs/structure.md``.

    A COINr ``iMeta`` table (columns ``iCode``, ``Parent``, ``Type``, ...) is read as one: its Indicator and Aggregate
    rows are the nodes (``iName`` the label), its Group, Denominator and Other rows are left out (name a group column
    with ``group_column``; COINr does not tie a denominator to an indicator in iMeta).

    Raises
    ------
    InputError
        Naming the file, line and column of: an unknown column, a missing
        ``node``/``parent`` column, a duplicate or empty node, an orphan
        (unknown parent), a cycle, several roots, a weight that is missing,
        negative or not a number, a parent whose children's weights sum to 0,
        a direction other than 1 or -1, a goalpost pair out of order.
    """
    from clustermodel._tables import _header_line, _line, _numeric, _require, read_table

    path = Path(path)
    df = read_table(path)
    if is_coinr_meta(df.columns):
        df = _from_coinr_meta(df, path)
    unknown = [c for c in df.columns if c not in STRUCTURE_COLUMNS]
    if unknown:
        raise InputError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; a structure file has the columns "
            f"{', '.join(STRUCTURE_COLUMNS)} (node and parent required)",
            file=path,
            line=_header_line(df),
        )
    _require(df, ["node", "parent"], path, fix="a structure file has one row per node with at least 'node,parent,weight'")
    n = len(df)
    lines = [_line(df, i) for i in range(n)]
    col = lambda c: list(df[c]) if c in df.columns else [""] * n  # noqa: E731

    def numbers(c):
        return _numeric(df, c, path) if c in df.columns else np.full(n, np.nan)

    weights = numbers("weight")
    directions = []
    for i, d in enumerate(col("direction")):
        if d in ("", None):
            directions.append(1)
            continue
        try:
            value = float(d)
        except ValueError:
            value = None
        if value not in (1.0, -1.0):
            raise InputError(f"direction {d!r} must be 1 (more is better) or -1 (less is better)", file=path, line=lines[i], column="direction")
        directions.append(int(value))
    s = Structure.__new__(Structure)
    object.__setattr__(s, "_lines", lines)
    Structure.__init__(
        s,
        nodes=col("node"),
        parents=col("parent"),
        weights=[np.nan if (p == "" and np.isnan(w)) else w for p, w in zip(col("parent"), weights)],
        directions=directions,
        denominators=col("denominator"),
        units=col("unit"),
        targets=numbers("target"),
        goalpost_lower=numbers("goalpost_lower"),
        goalpost_upper=numbers("goalpost_upper"),
        labels=col("label"),
        source=str(path),
    )
    object.__setattr__(s, "sha256", df.attrs.get("sha256"))
    return s
