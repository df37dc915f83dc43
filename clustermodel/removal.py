"""Removing elements: how far each indicator or aggregate moves the ranks when it is left out.

For every element (an indicator, a pillar, a sub-index: any node but the index) the index is recomputed with that
element's weight set to zero, so its siblings' weights are renormalised within their parent (the structure's
weights are relative within each parent), and every unit's rank is compared with its nominal rank (COINr
``remove_elements``; the question of Schlossarek, Syrovátka & Vencálek 2019). An element that is its parent's only
child takes its parent with it (the parent would otherwise have nothing to aggregate), up to the first ancestor
with another child; ``removed`` lists every node set to zero.

Numbers and codes only; :mod:`clustermodel.reporting.audit` narrates them.

References
----------
Schlossarek, M., Syrovátka, M. and Vencálek, O. (2019). The importance of variables in composite indices: a
contribution to the methodology and application to development indices. *Social Indicators Research* 145,
1125-1160. https://doi.org/10.1007/s11205-019-02125-7
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._display import ResultDisplay, fmt
from clustermodel._errors import ClusterModelError
from clustermodel.index import _py, compute_scores, construct, rank, resolve

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import DataLike
    from clustermodel.spec import IndexSpec

__all__ = ["RemovalResult", "element_removal", "removed_nodes"]


def removed_nodes(structure, node: str) -> tuple:
    """The nodes whose weight is zero when ``node`` is removed: ``node``, and each ancestor of which it is (through
    the chain) the only child, up to but not including the first ancestor with other children."""
    out = [node]
    v = node
    while True:
        p = structure.parent(v)
        if p is None or p == structure.root:
            break
        if len(structure.children(p)) > 1:
            break
        out.append(p)
        v = p
    if structure.parent(out[-1]) == structure.root and len(structure.children(structure.root)) == 1:
        raise ClusterModelError(f"removing {node!r} leaves the index with nothing to aggregate")
    return tuple(out)


def _removable(structure, node) -> bool:
    try:
        removed_nodes(structure, node)
        return True
    except ClusterModelError:
        return False


@dataclass(frozen=True, repr=False)
class RemovalResult(ResultDisplay):
    """Ranks and scores of the index with each element left out.

    Attributes
    ----------
    unit_dim : str
    units : tuple
    elements : tuple of str
        The elements removed one at a time.
    levels : tuple of int
        Level of each element (1 = indicator).
    removed : tuple of tuple of str
        Every node set to zero for each element (see :func:`removed_nodes`).
    nominal_score, nominal_rank : ndarray (n_units,)
    score, rank : ndarray (n_elements, n_units)
        The index and its rank (1 = best; tied units share a rank, as :func:`clustermodel.index.rank`) without the
        element.
    spec : dict
    """

    unit_dim: str
    units: tuple
    elements: tuple
    levels: tuple
    removed: tuple
    nominal_score: np.ndarray
    nominal_rank: np.ndarray
    score: np.ndarray
    rank: np.ndarray
    spec: dict

    @property
    def rank_change(self) -> np.ndarray:
        """Rank without the element minus the nominal rank (positive: the unit falls)."""
        return self.rank - self.nominal_rank[None, :]

    @property
    def mean_abs_shift(self) -> np.ndarray:
        """Mean over units of |rank change|, per element."""
        return np.abs(self.rank_change).mean(axis=1)

    @property
    def max_abs_shift(self) -> np.ndarray:
        return np.abs(self.rank_change).max(axis=1)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per element: level, nodes removed, mean and largest |rank change|, the unit that moves most."""
        import pandas as pd

        rc = self.rank_change
        most = np.abs(rc).argmax(axis=1)
        return pd.DataFrame(
            {
                "level": self.levels,
                "removed": [" ".join(r) for r in self.removed],
                "mean_abs_rank_shift": self.mean_abs_shift,
                "max_abs_rank_shift": self.max_abs_shift,
                "most_moved": [self.units[k] for k in most],
                "most_moved_change": rc[np.arange(len(most)), most],
            },
            index=pd.Index(self.elements, name="element"),
        )

    def unit_frame(self) -> pd.DataFrame:
        """Units x elements: each unit's rank change when the element is left out."""
        import pandas as pd

        return pd.DataFrame(self.rank_change.T, index=pd.Index(self.units, name=self.unit_dim), columns=list(self.elements))

    def to_dataset(self) -> xr.Dataset:
        dims = ("element", self.unit_dim)
        return xr.Dataset(
            {
                "score": (dims, self.score),
                "rank": (dims, self.rank),
                "nominal_score": ((self.unit_dim,), self.nominal_score),
                "nominal_rank": ((self.unit_dim,), self.nominal_rank),
            },
            coords={"element": list(self.elements), self.unit_dim: list(self.units), "level": ("element", list(self.levels))},
        )

    def to_dict(self) -> dict:
        return {
            "spec": self.spec,
            "elements": [
                {"element": e, "level": lv, "removed": list(r), "mean_abs_rank_shift": float(m), "max_abs_rank_shift": int(x)}
                for e, lv, r, m, x in zip(self.elements, self.levels, self.removed, self.mean_abs_shift, self.max_abs_shift)
            ],
        }

    def _display_(self):
        k = int(np.argmax(self.mean_abs_shift))
        return (
            f"removal of {len(self.elements)} elements, {len(self.units)} units",
            [("largest mean |rank shift|", f"{self.elements[k]}: {fmt(float(self.mean_abs_shift[k]), 2)}")],
        )


def element_removal(data: DataLike, spec: IndexSpec | None = None, *, elements: list[str] | None = None, level: int | None = None) -> RemovalResult:
    """The index without each element in turn (weight zero, siblings renormalised).

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
        Default the study's.
    elements : sequence of str, optional
        Nodes to remove; default every node but the index (or those of ``level``).
    level : int, optional
        Remove only the nodes of this level (1 = indicators).

    By default an element whose removal would leave the index with nothing to aggregate (the index's only child,
    and the chain of only children below it) is not removed; naming it in ``elements`` is an error.

    Returns
    -------
    RemovalResult
    """
    _, _, structure, spec, _ = resolve(data, None, spec, None)
    if elements is None:
        elements = [v for v in structure.weighted if (level is None or structure.level(v) == level) and _removable(structure, v)]
        if not elements:
            raise ClusterModelError(f"`level`: no node at level {level}; the levels below the index are 1 to {structure.n_levels - 1}")
    else:
        elements = list(elements)
        unknown = [v for v in elements if v not in structure.weighted]
        if unknown:
            raise ClusterModelError(
                f"`elements`: {', '.join(map(repr, unknown))} are not nodes below the index; valid: {', '.join(structure.weighted)}"
            )
    c = construct(data, spec, warn=False)
    w0 = structure.weight_array()
    pos = {v: k for k, v in enumerate(structure.weighted)}
    removed = []
    W = np.repeat(w0[None, :], len(elements) + 1, axis=0)
    for e, v in enumerate(elements):
        gone = removed_nodes(structure, v)
        removed.append(gone)
        W[e + 1, pos[gone[-1]]] = 0.0  # the highest node removed: its subtree leaves with it
    s = compute_scores(data, weights=W, spec=spec, nodes="index", construction=c).isel(node=0)
    r = rank(s, c.unit_dim).values
    s = s.values
    return RemovalResult(
        unit_dim=c.unit_dim,
        units=tuple(_py(u) for u in c.units),
        elements=tuple(elements),
        levels=tuple(structure.level(v) for v in elements),
        removed=tuple(removed),
        nominal_score=s[0],
        nominal_rank=r[0],
        score=s[1:],
        rank=r[1:],
        spec=spec.to_dict(),
    )
