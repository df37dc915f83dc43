"""Every node's value for every unit, as the audit modules read it: one table, indicators and aggregates alike.

The audit estimators (:mod:`~clustermodel.coherence`, :mod:`~clustermodel.importance`,
:mod:`~clustermodel.removal`) all start from the same thing, COINr's "Aggregated" data set: a units x nodes
matrix holding each indicator's value and each aggregate's score under one spec. :func:`node_table` builds it
once with the package's construction (:func:`~clustermodel.index.construct`,
:func:`~clustermodel.index.compute_scores`); nothing here is new arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clustermodel._errors import ClusterModelError
from clustermodel.index import Construction, compute_scores, construct, resolve
from clustermodel.spec import IndexSpec
from clustermodel.structure import Structure

__all__ = ["NodeTable", "node_table", "VALUES", "check_values"]

#: What an indicator's column holds in the table.
VALUES = {
    "normalised": "the normalised value (after imputation and treatment; each indicator's direction applied)",
    "raw": "the raw value after denomination, times the indicator's direction (+1 or -1), so that more is better",
}


def check_values(values: str) -> str:
    if values not in VALUES:
        raise ClusterModelError(f"`values` must be one of {', '.join(map(repr, VALUES))}; got {values!r}")
    return values


@dataclass(frozen=True)
class NodeTable:
    """Unit x node values under one spec.

    Attributes
    ----------
    construction : Construction
    structure : Structure
    spec : IndexSpec
    values_kind : str
        ``'normalised'`` or ``'raw'`` (see :data:`VALUES`); aggregates are always their scores.
    nodes : tuple of str
        Every node in structure order.
    values : ndarray (n, len(nodes))
        NaN where an indicator's cell is missing (not observed and not imputed) or an aggregate has no score.
    """

    construction: Construction
    structure: Structure
    spec: IndexSpec
    values_kind: str
    nodes: tuple
    values: np.ndarray

    @property
    def units(self) -> np.ndarray:
        return self.construction.units

    @property
    def unit_dim(self) -> str:
        return self.construction.unit_dim

    def column(self, node: str) -> np.ndarray:
        return self.values[:, self.nodes.index(node)]

    def columns(self, nodes) -> np.ndarray:
        pos = [self.nodes.index(v) for v in nodes]
        return self.values[:, pos]


def node_table(data, spec: IndexSpec | None = None, *, values: str = "normalised", construction: Construction | None = None) -> NodeTable:
    """Every node's value for every unit kept by the screen.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
        Default the study's.
    values : {'normalised', 'raw'}
        What the indicators' columns hold (:data:`VALUES`).
    construction : Construction, optional
        A ready :func:`~clustermodel.index.construct` of ``data`` under ``spec``.
    """
    check_values(values)
    if spec is not None and not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec or None, got {type(spec).__name__}")
    _, _, structure, spec, _ = resolve(data, None, spec, None)
    c = construction if construction is not None else construct(data, spec, warn=False)
    nodes = tuple(structure.nodes)
    scores = compute_scores(data, spec=spec, nodes=list(nodes), construction=c).transpose(c.unit_dim, "node").values.copy()
    leaves = list(structure.leaves)
    cols = [nodes.index(v) for v in leaves]
    if values == "normalised":
        leaf_values = np.where(c.present, c.normalised, np.nan)
    else:
        directions = np.asarray(structure.attribute("directions"), dtype=float)
        leaf_values = np.where(np.isfinite(c.raw), c.raw, np.nan) * directions
    scores[:, cols] = leaf_values
    return NodeTable(construction=c, structure=structure, spec=spec, values_kind=values, nodes=nodes, values=scores)
