"""Statistical coherence of an index: correlations within and between levels, their flags, Cronbach's alpha and
principal components of every aggregate's children.

An auditor's first questions about a composite index (OECD/JRC Handbook 2008, step 4; COINr's ``get_corr``,
``get_corr_flags``, ``get_cronbach``, ``get_PCA``) are answered here with numbers and codes only; the report
layer (:mod:`clustermodel.reporting.audit`) narrates them.

- :func:`correlations`: the correlation of every pair of nodes (indicators, pillars, sub-indices, the index)
  across units, Pearson or Spearman, each pair over the units where both are observed ("pairwise complete",
  R's ``use = "pairwise.complete.obs"``), with the number of units and a two-sided p-value.
- :func:`correlation_flags`: ``collinear`` sibling pairs (|r| > 0.9), ``negative`` sibling pairs (r < 0), and
  nodes ``weak_with_parent`` (r with their parent < 0.3).
- :func:`cronbach_alpha`: alpha of the children of every aggregate, over the units observed on all of them
  (complete cases).
- :func:`principal_components`: PCA of the standardised children of every aggregate (the eigen-decomposition of
  their correlation matrix over complete cases): the first component's share of the variance, its loadings and
  the number of eigenvalues above 1 (Kaiser's rule).
- :func:`statistical_coherence`: all four under one spec.

Indicators enter with their normalised values (each indicator's direction applied, so "more is better"
throughout) or, with ``values='raw'``, their raw values times their direction; aggregates enter with their scores.

References
----------
OECD/JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User Guide*. OECD Publishing.
https://doi.org/10.1787/9789264043466-en

Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. *Psychometrika* 16, 297-334.
https://doi.org/10.1007/BF02310555

Becker, W., Caperna, G., Del Sorbo, M., Norlén, H., Papadimitriou, E. and Saisana, M. (2022). COINr: an R
package for developing composite indicators. *Journal of Open Source Software* 7(78), 4567.
https://doi.org/10.21105/joss.04567
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.stats
import xarray as xr

from clustermodel._display import ResultDisplay, fmt
from clustermodel._errors import ClusterModelError
from clustermodel._nodes import NodeTable, node_table
from clustermodel._validation import check_number

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import DataLike
    from clustermodel.spec import IndexSpec

__all__ = [
    "CORRELATION_METHODS",
    "FLAG_KINDS",
    "RELATIONS",
    "CorrelationResult",
    "CorrelationFlags",
    "CronbachResult",
    "PCAResult",
    "CoherenceResult",
    "correlations",
    "correlation_flags",
    "cronbach_alpha",
    "principal_components",
    "statistical_coherence",
    "pairwise_correlation",
]

#: Correlation coefficients.
CORRELATION_METHODS = {
    "pearson": "Pearson's product-moment r",
    "spearman": "Spearman's rho: Pearson's r of the ranks (ties share their average rank)",
}

#: Codes of :func:`correlation_flags`.
FLAG_KINDS = {
    "collinear": "two children of the same parent with |r| above the collinearity threshold",
    "negative": "two children of the same parent with r below the negative threshold",
    "weak_with_parent": "a node whose r with its own parent is below the weak threshold",
}

#: How two nodes of one structure are related (the ``relation`` column of :meth:`CorrelationResult.to_frame`).
RELATIONS = ("self", "siblings", "child_parent", "descendant_ancestor", "other")

#: Fewest units on which a correlation, an alpha or a PCA is computed.
MIN_UNITS = 3


# ---------------------------------------------------------------------------------------------- correlation core
def _ranks(x: np.ndarray) -> np.ndarray:
    return scipy.stats.rankdata(x, axis=0)


def _corr_complete(X: np.ndarray) -> np.ndarray:
    """Pearson r of the columns of a NaN-free X; NaN where a column is constant."""
    Xc = X - X.mean(axis=0)
    ss = np.sqrt((Xc**2).sum(axis=0))
    const = np.ptp(X, axis=0) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        R = (Xc.T @ Xc) / np.outer(ss, ss)
    R[const, :] = np.nan
    R[:, const] = np.nan
    np.fill_diagonal(R, np.where(const, np.nan, 1.0))
    return np.clip(R, -1.0, 1.0)


def pairwise_correlation(X, *, method: str = "pearson") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correlation matrix of the columns of ``X``, each pair over the rows where both are finite.

    Parameters
    ----------
    X : array_like (n, p)
        NaN marks a missing value.
    method : {'pearson', 'spearman'}
        Spearman ranks each pair's complete rows afresh (as R's ``cor(..., use = "pairwise.complete.obs")``).

    Returns
    -------
    r, n, p_value : ndarray (p, p)
        The coefficient (NaN where fewer than 3 rows are shared or a column is constant on them), the rows shared
        by each pair, and the two-sided p-value of r = 0 from Student's t with n - 2 degrees of freedom.

    Examples
    --------
    >>> r, n, p = pairwise_correlation([[1, 2], [2, 4.5], [3, 5], [4, np.nan]])
    >>> round(float(r[0, 1]), 4), int(n[0, 1])
    (0.9333, 3)
    """
    if method not in CORRELATION_METHODS:
        raise ClusterModelError(f"`method` must be one of {', '.join(map(repr, CORRELATION_METHODS))}; got {method!r}")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ClusterModelError(f"`X` must be a 2-d array (units, variables); got shape {X.shape}")
    ok = np.isfinite(X)
    N = ok.T.astype(np.int64) @ ok.astype(np.int64)
    p = X.shape[1]
    if method == "pearson":  # pandas' pairwise-complete Pearson (its nancorr), the library way; NaN where constant
        import pandas as pd

        R = np.clip(pd.DataFrame(np.where(ok, X, np.nan)).corr(method="pearson", min_periods=MIN_UNITS).to_numpy(copy=True), -1.0, 1.0)
        # pandas gives NaN for a constant column (its diagonal too) and for pairs sharing fewer than 3 rows
        return R, N, _p_values(R, N)
    R = np.full((p, p), np.nan)
    full = np.flatnonzero(ok.all(axis=0))
    if full.size:
        sub = X[:, full]
        if method == "spearman":
            sub = _ranks(sub)
        R[np.ix_(full, full)] = _corr_complete(sub) if X.shape[0] >= MIN_UNITS else np.nan
    partial = np.flatnonzero(~ok.all(axis=0))
    for i in partial:
        for j in range(p):
            if j in partial and j < i:
                continue
            m = ok[:, i] & ok[:, j]
            if m.sum() < MIN_UNITS:
                R[i, j] = R[j, i] = np.nan
                continue
            pair = X[m][:, [i, j]]
            if method == "spearman":
                pair = _ranks(pair)
            R[i, j] = R[j, i] = _corr_complete(pair)[0, 1] if i != j else _corr_complete(pair[:, :1])[0, 0]
    R[N < MIN_UNITS] = np.nan
    return R, N, _p_values(R, N)


def _p_values(R, N):
    """Two-sided p of r = 0 from Student's t with n - 2 degrees of freedom (0 on the diagonal)."""
    R = np.clip(R, -1.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = N - 2.0
        t = R * np.sqrt(df / np.clip(1.0 - R**2, 1e-300, None))
        P = 2.0 * scipy.stats.t.sf(np.abs(t), np.where(df > 0, df, 1.0))
    P = np.where(np.isfinite(R), np.where(np.abs(R) >= 1.0, 0.0, P), np.nan)
    np.fill_diagonal(P, np.where(np.isfinite(np.diag(R)), 0.0, np.nan))
    return P


def _check_method(method):
    if method not in CORRELATION_METHODS:
        raise ClusterModelError(
            f"`method` must be one of {', '.join(map(repr, CORRELATION_METHODS))}; got {method!r}"
        )
    return method


def _table(data, spec, values, table) -> NodeTable:
    if table is not None:
        if not isinstance(table, NodeTable):
            raise ClusterModelError(f"`table` must be a NodeTable from clustermodel._nodes.node_table, got {type(table).__name__}")
        return table
    return node_table(data, spec, values=values)


def _ancestors(structure, v):
    out = []
    p = structure.parent(v)
    while p is not None:
        out.append(p)
        p = structure.parent(p)
    return out


def _relation(structure, a, b) -> str:
    if a == b:
        return "self"
    pa, pb = structure.parent(a), structure.parent(b)
    if pa is not None and pa == pb:
        return "siblings"
    if pa == b or pb == a:
        return "child_parent"
    if b in _ancestors(structure, a) or a in _ancestors(structure, b):
        return "descendant_ancestor"
    return "other"


# ---------------------------------------------------------------------------------------------- results
@dataclass(frozen=True, repr=False)
class CorrelationResult(ResultDisplay):
    """Correlation of every pair of nodes across units.

    Attributes
    ----------
    method : str
        ``'pearson'`` or ``'spearman'``.
    values : str
        What the indicators' columns held (``'normalised'`` or ``'raw'``).
    nodes : tuple of str
        Every node, in structure order.
    levels : tuple of int
        Level of every node (1 = indicator; the index is the top level).
    parents : tuple of str or None
    r : ndarray (p, p)
        The coefficient; NaN where undefined (a constant node, fewer than 3 shared units).
    n : ndarray of int (p, p)
        Units observed on both nodes.
    p_value : ndarray (p, p)
        Two-sided p-value of r = 0 (Student's t, n - 2 degrees of freedom).
    root : str
    """

    method: str
    values: str
    nodes: tuple
    levels: tuple
    parents: tuple
    r: np.ndarray
    n: np.ndarray
    p_value: np.ndarray
    root: str
    relations: tuple = field(default=(), repr=False)

    def _pos(self, node):
        try:
            return self.nodes.index(node)
        except ValueError:
            raise ClusterModelError(f"{node!r} is not a node of this result; nodes are {', '.join(self.nodes)}") from None

    def get(self, a: str, b: str) -> float:
        """r of nodes ``a`` and ``b``."""
        return float(self.r[self._pos(a), self._pos(b)])

    def matrix(self, rows: int | None = 1, cols: int | None = None) -> pd.DataFrame:
        """The r of the nodes of level ``rows`` (default the indicators) against those of level ``cols`` (default
        the same level); ``None`` for every node."""
        import pandas as pd

        def pick(level):
            if level is None:
                return list(range(len(self.nodes)))
            sel = [k for k, lv in enumerate(self.levels) if lv == level]
            if not sel:
                raise ClusterModelError(f"no node at level {level}; the levels are 1 to {max(self.levels)}")
            return sel

        ri = pick(rows)
        ci = ri if cols is None and rows is not None else pick(cols)
        return pd.DataFrame(self.r[np.ix_(ri, ci)], index=[self.nodes[k] for k in ri], columns=[self.nodes[k] for k in ci])

    def with_parent(self) -> pd.DataFrame:
        """One row per node but the index: its r with its parent and with the index."""
        import pandas as pd

        root = self._pos(self.root)
        rows = []
        for k, v in enumerate(self.nodes):
            if self.parents[k] is None:
                continue
            rows.append(
                {
                    "node": v,
                    "level": self.levels[k],
                    "parent": self.parents[k],
                    "r_parent": float(self.r[k, self._pos(self.parents[k])]),
                    "r_index": float(self.r[k, root]),
                    "n": int(self.n[k, self._pos(self.parents[k])]),
                }
            )
        return pd.DataFrame(rows).set_index("node")

    def to_dataframe(self) -> pd.DataFrame:
        """One row per pair of distinct nodes (each pair once): levels, relation, r, n, p-value."""
        import pandas as pd

        i, j = np.triu_indices(len(self.nodes), k=1)
        rel = self.relations or ()
        relation = [rel[a][b] if rel else "" for a, b in zip(i, j)]
        return pd.DataFrame(
            {
                "node_a": [self.nodes[a] for a in i],
                "node_b": [self.nodes[b] for b in j],
                "level_a": [self.levels[a] for a in i],
                "level_b": [self.levels[b] for b in j],
                "relation": relation,
                "r": self.r[i, j],
                "n": self.n[i, j],
                "p_value": self.p_value[i, j],
            }
        )

    def to_dataset(self) -> xr.Dataset:
        """Dims ``node`` and ``node_b``: ``r``, ``n``, ``p_value``; ``level`` and ``parent`` on ``node``."""
        coords = {
            "node": list(self.nodes),
            "node_b": list(self.nodes),
            "level": ("node", list(self.levels)),
            "parent": ("node", ["" if p is None else p for p in self.parents]),
        }
        dims = ("node", "node_b")
        ds = xr.Dataset({"r": (dims, self.r), "n": (dims, self.n), "p_value": (dims, self.p_value)}, coords=coords)
        ds.attrs.update({"method": self.method, "values": self.values, "root": self.root})
        return ds

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "values": self.values,
            "nodes": list(self.nodes),
            "levels": list(self.levels),
            "r": self.r.tolist(),
            "n": self.n.tolist(),
        }

    def _display_(self):
        p = len(self.nodes)
        off = self.r[~np.eye(p, dtype=bool)]
        head = f"{self.method} correlations of {p} nodes ({self.values} indicator values)"
        return head, [("levels", max(self.levels)), ("median r", fmt(float(np.nanmedian(off)) if np.isfinite(off).any() else None))]


def _records_frame(records, index=None):
    import pandas as pd

    df = pd.DataFrame(list(records))
    return df.set_index(index) if index and len(df) else df


@dataclass(frozen=True, repr=False)
class CorrelationFlags(ResultDisplay):
    """Pairs and nodes an auditor looks at first.

    Attributes
    ----------
    records : tuple of dict
        One per flag: ``kind`` (a :data:`FLAG_KINDS` code), ``node``, ``other`` (the sibling, or the parent for
        ``weak_with_parent``), ``parent`` (the group), ``level`` (of ``node``), ``r`` and ``n``.
    thresholds : dict
        ``collinear``, ``negative`` and ``weak`` as used.
    method : str
    """

    records: tuple
    thresholds: dict
    method: str

    def of_kind(self, kind: str) -> tuple:
        if kind not in FLAG_KINDS:
            raise ClusterModelError(f"`kind` must be one of {', '.join(map(repr, FLAG_KINDS))}; got {kind!r}")
        return tuple(r for r in self.records if r["kind"] == kind)

    def counts(self) -> dict:
        return {k: len(self.of_kind(k)) for k in FLAG_KINDS}

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        cols = ["kind", "node", "other", "parent", "level", "r", "n"]
        return pd.DataFrame(list(self.records), columns=cols)

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset.from_dataframe(self.to_dataframe().rename_axis("flag"))

    def to_dict(self) -> dict:
        return {"method": self.method, "thresholds": dict(self.thresholds), "flags": [dict(r) for r in self.records]}

    def _display_(self):
        c = self.counts()
        return f"{len(self.records)} correlation flags", [(k, v) for k, v in c.items()]


@dataclass(frozen=True, repr=False)
class CronbachResult(ResultDisplay):
    """Cronbach's alpha of the children of every aggregate.

    Attributes
    ----------
    records : tuple of dict
        One per aggregate: ``node``, ``level``, ``k`` (children), ``n_complete`` (units observed on every child),
        ``alpha`` (NaN when undefined) and ``code``: ``'ok'``, ``'single_child'``, ``'too_few_units'`` or
        ``'zero_variance'``.
    values : str
    """

    records: tuple
    values: str

    def alpha(self, node: str) -> float:
        for r in self.records:
            if r["node"] == node:
                return r["alpha"]
        raise ClusterModelError(f"{node!r} is not an aggregate of this result; they are {', '.join(r['node'] for r in self.records)}")

    def to_dataframe(self) -> pd.DataFrame:
        return _records_frame(self.records, "node")

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset.from_dataframe(self.to_dataframe())

    def to_dict(self) -> dict:
        return {"values": self.values, "rule": "complete cases", "aggregates": [dict(r) for r in self.records]}

    def _display_(self):
        ok = [r for r in self.records if r["code"] == "ok"]
        return f"Cronbach's alpha of {len(ok)} aggregates", [(r["node"], fmt(r["alpha"])) for r in ok[:6]]


@dataclass(frozen=True, repr=False)
class PCAResult(ResultDisplay):
    """Principal components of the standardised children of every aggregate.

    Attributes
    ----------
    records : tuple of dict
        One per aggregate: ``node``, ``level``, ``k``, ``n_complete``, ``eigenvalues`` (of the children's
        correlation matrix, descending), ``first_share`` (the first eigenvalue over k: its share of the
        variance), ``n_above_one`` (eigenvalues above 1), ``weights`` (the first eigenvector, child -> entry,
        signed so that the entries sum to a non-negative number; COINr's PCA weights), ``loadings`` (the
        eigenvector times the square root of its eigenvalue: each child's correlation with the component) and
        ``code`` (``'ok'``, ``'single_child'``, ``'too_few_units'``, ``'zero_variance'``).
    values : str
    """

    records: tuple
    values: str

    def record(self, node: str) -> dict:
        for r in self.records:
            if r["node"] == node:
                return r
        raise ClusterModelError(f"{node!r} is not an aggregate of this result; they are {', '.join(r['node'] for r in self.records)}")

    def to_dataframe(self) -> pd.DataFrame:
        """One row per aggregate (no eigenvector columns; see :meth:`loadings_frame`)."""
        keep = ["node", "level", "k", "n_complete", "first_share", "n_above_one", "code"]
        return _records_frame([{k: r[k] for k in keep} for r in self.records], "node")

    def loadings_frame(self) -> pd.DataFrame:
        """One row per (aggregate, child): the first component's weight and loading."""
        import pandas as pd

        rows = [
            {"node": r["node"], "child": c, "weight": r["weights"].get(c, np.nan), "loading": r["loadings"].get(c, np.nan)}
            for r in self.records
            for c in r["loadings"]
        ]
        return pd.DataFrame(rows, columns=["node", "child", "weight", "loading"])

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset.from_dataframe(self.to_dataframe())

    def to_dict(self) -> dict:
        return {"values": self.values, "rule": "complete cases, standardised", "aggregates": [dict(r) for r in self.records]}

    def _display_(self):
        ok = [r for r in self.records if r["code"] == "ok"]
        return f"PCA of {len(ok)} aggregates", [(r["node"], f"first component {fmt(r['first_share'])}") for r in ok[:6]]


@dataclass(frozen=True, repr=False)
class CoherenceResult(ResultDisplay):
    """Correlations, their flags, Cronbach's alpha and PCA under one spec (:func:`statistical_coherence`).

    Attributes
    ----------
    correlations : CorrelationResult
    flags : CorrelationFlags
    cronbach : CronbachResult
    pca : PCAResult
    spec : dict
        The spec the values were computed under.
    n_units : int
    """

    correlations: CorrelationResult
    flags: CorrelationFlags
    cronbach: CronbachResult
    pca: PCAResult
    spec: dict
    n_units: int

    def to_dataframe(self) -> pd.DataFrame:
        """One row per aggregate: k, alpha, first component share, components above 1, flags among its children."""
        df = self.cronbach.to_dataframe()[["level", "k", "n_complete", "alpha"]].copy()
        pca = self.pca.to_dataframe()
        df["first_share"] = pca["first_share"]
        df["n_above_one"] = pca["n_above_one"]
        for kind in FLAG_KINDS:
            df[kind] = [sum(1 for r in self.flags.of_kind(kind) if r["parent"] == v) for v in df.index]
        return df

    def to_dataset(self) -> xr.Dataset:
        ds = self.correlations.to_dataset()
        ds.attrs["spec"] = str(self.spec)
        return ds

    def to_dict(self) -> dict:
        return {
            "spec": self.spec,
            "n_units": self.n_units,
            "correlations": self.correlations.to_dict(),
            "flags": self.flags.to_dict(),
            "cronbach": self.cronbach.to_dict(),
            "pca": self.pca.to_dict(),
        }

    def _display_(self):
        c = self.flags.counts()
        return (
            f"coherence of {len(self.correlations.nodes)} nodes over {self.n_units} units ({self.correlations.method})",
            [("flags", ", ".join(f"{k} {v}" for k, v in c.items()))] + self.cronbach._display_()[1][:4],
        )


# ---------------------------------------------------------------------------------------------- estimators
def correlations(data: DataLike | None = None, spec: IndexSpec | None = None, *, method: str = "pearson", values: str = "normalised", table: NodeTable | None = None) -> CorrelationResult:
    """Correlation of every pair of nodes (indicators and aggregates) across units.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
        Default the study's.
    method : {'pearson', 'spearman'}
    values : {'normalised', 'raw'}
        The indicators' values: normalised (directions applied), or raw times direction.
    table : NodeTable, optional
        A ready :func:`clustermodel._nodes.node_table` (then ``data``, ``spec`` and ``values`` are not used).

    Returns
    -------
    CorrelationResult

    Examples
    --------
    >>> import clustermodel as cm
    >>> res = correlations(cm.load_paper())
    >>> res.matrix(1).shape
    (4, 4)
    """
    _check_method(method)
    t = _table(data, spec, values, table)
    s = t.structure
    R, N, P = pairwise_correlation(t.values, method=method)
    nodes = t.nodes
    rel = tuple(tuple(_relation(s, a, b) for b in nodes) for a in nodes)
    return CorrelationResult(
        method=method,
        values=t.values_kind,
        nodes=nodes,
        levels=tuple(s.level(v) for v in nodes),
        parents=tuple(s.parent(v) for v in nodes),
        r=R,
        n=N,
        p_value=P,
        root=s.root,
        relations=rel,
    )


def correlation_flags(result: CorrelationResult, *, collinear: float = 0.9, negative: float = 0.0, weak: float = 0.3) -> CorrelationFlags:
    """Collinear and negatively correlated siblings, and nodes weakly correlated with their parent.

    Parameters
    ----------
    result : CorrelationResult
    collinear : float in (0, 1]
        Two children of one parent with |r| above it are ``collinear`` (COINr ``get_corr_flags``' 0.9).
    negative : float in [-1, 1)
        Two children of one parent with r below it are ``negative``.
    weak : float in [-1, 1]
        A node whose r with its own parent is below it is ``weak_with_parent``.

    Returns
    -------
    CorrelationFlags
    """
    if not isinstance(result, CorrelationResult):
        raise ClusterModelError(f"`result` must be a CorrelationResult (from correlations()), got {type(result).__name__}")
    collinear = check_number(collinear, "`collinear`", minimum=0.0, maximum=1.0, exclusive_minimum=True)
    negative = check_number(negative, "`negative`", minimum=-1.0, maximum=1.0, exclusive_maximum=True)
    weak = check_number(weak, "`weak`", minimum=-1.0, maximum=1.0)
    nodes, R, N = result.nodes, result.r, result.n
    pos = {v: k for k, v in enumerate(nodes)}
    recs = []
    groups: dict = {}
    for k, p in enumerate(result.parents):
        if p is not None:
            groups.setdefault(p, []).append(k)
    for parent, kids in groups.items():
        for a in range(len(kids)):
            for b in range(a + 1, len(kids)):
                i, j = kids[a], kids[b]
                r = R[i, j]
                if not np.isfinite(r):
                    continue
                base = {"node": nodes[i], "other": nodes[j], "parent": parent, "level": result.levels[i], "r": float(r), "n": int(N[i, j])}
                if abs(r) > collinear:
                    recs.append({"kind": "collinear", **base})
                if r < negative:
                    recs.append({"kind": "negative", **base})
        for i in kids:
            r = R[i, pos[parent]]
            if np.isfinite(r) and r < weak:
                recs.append(
                    {"kind": "weak_with_parent", "node": nodes[i], "other": parent, "parent": parent, "level": result.levels[i], "r": float(r), "n": int(N[i, pos[parent]])}
                )
    order = {k: n for n, k in enumerate(FLAG_KINDS)}
    recs.sort(key=lambda r: (order[r["kind"]], -abs(r["r"]) if r["kind"] == "collinear" else r["r"]))
    return CorrelationFlags(records=tuple(recs), thresholds={"collinear": collinear, "negative": negative, "weak": weak}, method=result.method)


def _groups(t: NodeTable):
    s = t.structure
    for v in s.aggregates:
        kids = list(s.children(v))
        X = t.columns(kids)
        complete = np.isfinite(X).all(axis=1)
        yield v, s.level(v), kids, X[complete]


def _alpha(X: np.ndarray) -> tuple[float, str]:
    k = X.shape[1]
    if k < 2:
        return float("nan"), "single_child"
    if X.shape[0] < MIN_UNITS:
        return float("nan"), "too_few_units"
    item_var = X.var(axis=0, ddof=1)
    total_var = X.sum(axis=1).var(ddof=1)
    if total_var <= 0 or np.any(np.ptp(X, axis=0) == 0):
        return float("nan"), "zero_variance"
    return float(k / (k - 1) * (1.0 - item_var.sum() / total_var)), "ok"


def cronbach_alpha(data: DataLike | None = None, spec: IndexSpec | None = None, *, values: str = "normalised", table: NodeTable | None = None) -> CronbachResult:
    """Cronbach's alpha of the children of every aggregate, over complete cases.

    alpha = k / (k - 1) * (1 - sum_i var(x_i) / var(sum_i x_i)) over the k children x_i of an aggregate and the
    units observed on every one of them (variances with the n - 1 denominator).

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
    values : {'normalised', 'raw'}
    table : NodeTable, optional

    Returns
    -------
    CronbachResult
        ``alpha`` is NaN, with a code saying why, for an aggregate with one child, fewer than 3 complete units or a
        constant child.

    References
    ----------
    Cronbach (1951), https://doi.org/10.1007/BF02310555
    """
    t = _table(data, spec, values, table)
    recs = []
    for v, level, kids, X in _groups(t):
        a, code = _alpha(X)
        recs.append({"node": v, "level": level, "k": len(kids), "n_complete": int(X.shape[0]), "alpha": a, "code": code})
    return CronbachResult(records=tuple(recs), values=t.values_kind)


def _pca(X: np.ndarray, kids) -> dict:
    k = X.shape[1]
    nan = float("nan")
    empty = {"eigenvalues": [], "first_share": nan, "n_above_one": 0, "weights": {}, "loadings": {}}
    if k < 2:
        return {**empty, "code": "single_child"}
    if X.shape[0] < MIN_UNITS:
        return {**empty, "code": "too_few_units"}
    sd = X.std(axis=0, ddof=1)
    if np.any(np.ptp(X, axis=0) == 0):
        return {**empty, "code": "zero_variance"}
    Z = (X - X.mean(axis=0)) / sd
    C = (Z.T @ Z) / (X.shape[0] - 1)
    lam, vec = np.linalg.eigh(C)
    order = np.argsort(lam)[::-1]
    lam, vec = np.clip(lam[order], 0.0, None), vec[:, order]
    v1 = vec[:, 0] * (1.0 if vec[:, 0].sum() >= 0 else -1.0)
    return {
        "eigenvalues": [float(x) for x in lam],
        "first_share": float(lam[0] / lam.sum()),
        "n_above_one": int(np.sum(lam > 1.0 + 1e-12)),
        "weights": {c: float(w) for c, w in zip(kids, v1)},
        "loadings": {c: float(w * np.sqrt(lam[0])) for c, w in zip(kids, v1)},
        "code": "ok",
    }


def principal_components(data: DataLike | None = None, spec: IndexSpec | None = None, *, values: str = "normalised", table: NodeTable | None = None) -> PCAResult:
    """PCA of the standardised children of every aggregate, over complete cases.

    The children are centred and scaled to unit variance (n - 1 denominator; R's ``prcomp(scale = TRUE)``, as
    COINr's ``get_PCA``), and their correlation matrix decomposed: its eigenvalues sum to k, the first one over k
    is the share of the children's variance the first component carries.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
    values : {'normalised', 'raw'}
    table : NodeTable, optional

    Returns
    -------
    PCAResult
    """
    t = _table(data, spec, values, table)
    recs = []
    for v, level, kids, X in _groups(t):
        recs.append({"node": v, "level": level, "k": len(kids), "n_complete": int(X.shape[0]), **_pca(X, kids)})
    return PCAResult(records=tuple(recs), values=t.values_kind)


def statistical_coherence(
    data: DataLike,
    spec: IndexSpec | None = None,
    *,
    method: str = "pearson",
    values: str = "normalised",
    collinear: float = 0.9,
    negative: float = 0.0,
    weak: float = 0.3,
    table: NodeTable | None = None,
) -> CoherenceResult:
    """Correlations, flags, Cronbach's alpha and PCA of an index under one spec.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
        Default the study's.
    method : {'pearson', 'spearman'}
        Of the correlations (alpha and PCA use covariances and Pearson correlations).
    values : {'normalised', 'raw'}
    collinear, negative, weak : float
        Thresholds of :func:`correlation_flags`.
    table : NodeTable, optional

    Returns
    -------
    CoherenceResult

    Examples
    --------
    >>> import clustermodel as cm
    >>> res = statistical_coherence(cm.load_paper())
    >>> res.cronbach.records[0]["k"]
    4
    """
    _check_method(method)
    t = _table(data, spec, values, table)
    corr = correlations(method=method, table=t)
    return CoherenceResult(
        correlations=corr,
        flags=correlation_flags(corr, collinear=collinear, negative=negative, weak=weak),
        cronbach=cronbach_alpha(table=t),
        pca=principal_components(table=t),
        spec=t.spec.to_dict(),
        n_units=len(t.units),
    )
