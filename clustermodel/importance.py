"""Weights against importance: how much each child of an aggregate actually drives it, and the weights that make
the drive match the intent.

A nominal weight says how much a child *should* count; its importance is how much of its parent's variation across
units it explains. The two differ whenever the children are correlated or differ in spread (Paruolo, Saisana &
Saltelli 2013). For every aggregate and each of its children x, with y the aggregate's score across units:

- the **linear importance** r²(x, y), Pearson's squared correlation;
- the **correlation ratio** (first-order sensitivity index) S = V[E(y | x)] / V(y), with E(y | x) estimated by a
  penalised cubic regression spline (a P-spline: scipy's B-spline basis on equally spaced knots, a second-order
  difference penalty, the penalty chosen by generalised cross-validation; Eilers & Marx 1996). A smoother fitted
  to n points explains some noise too, so S is reported bias-adjusted the way R² is:
  S_adj = 1 - [RSS / (n - edf)] / [TSS / (n - 1)], edf the trace of the smoother; the unadjusted ratio
  var(fitted) / var(y) is kept beside it. Its uncertainty is a bootstrap over units (BCa up to
  :data:`BCA_MAX_UNITS` units, percentile above) with the penalty held at the full-sample choice, so the interval
  leaves out the variability of the choice of penalty. It undercovers at the sizes of most indices: in a
  simulation (y = sin 2 pi x + noise, true S = 2/3, 200 data sets each) nominal 90 % intervals covered 82 % of
  the time at n = 30 and 60 and 87 % at n = 200 (``tests/test_importance.py`` repeats a smaller version). Read it
  as a lower bound on the uncertainty;
- each child's **share** of its siblings' total importance, beside its nominal weight within the parent.

:func:`optimise_weights` finds the weights of one aggregate's children whose importance shares match a target
(the nominal weights by default: "the weights that do what the nominal weights say"; Becker, Saisana, Paruolo &
Vandecasteele 2017; COINr ``get_opt_weights``), minimising the sum of squared differences between shares and
target with L-BFGS-B over log-weights (its gradient by central differences, the 2(k - 1) + 1 points of a step
evaluated as one batch). Its convergence is reported, and the optimised weights come back as a
:class:`~clustermodel.structure.Structure` that can be written as a structure file.

Numbers and codes only; :mod:`clustermodel.reporting.audit` narrates them.

References
----------
Paruolo, P., Saisana, M. and Saltelli, A. (2013). Ratings and rankings: voodoo or science? *Journal of the Royal
Statistical Society A* 176(3), 609-634. https://doi.org/10.1111/j.1467-985X.2012.01059.x

Becker, W., Saisana, M., Paruolo, P. and Vandecasteele, I. (2017). Weights and importance in composite indicators:
closing the gap. *Ecological Indicators* 80, 12-22. https://doi.org/10.1016/j.ecolind.2017.03.056

Eilers, P. H. C. and Marx, B. D. (1996). Flexible smoothing with B-splines and penalties. *Statistical Science*
11(2), 89-121. https://doi.org/10.1214/ss/1038425655
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.optimize
import xarray as xr
from scipy.interpolate import BSpline

from clustermodel._display import ResultDisplay, fmt
from clustermodel._errors import ClusterModelError
from clustermodel._nodes import node_table
from clustermodel._validation import check_number
from clustermodel.index import compute_scores

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import DataLike, RNGLike
    from clustermodel.spec import IndexSpec

__all__ = ["MEASURES", "CorrelationRatio", "correlation_ratio", "ImportanceResult", "weight_importance", "OptimisedWeights", "optimise_weights"]

#: Importance measures of :func:`optimise_weights`.
MEASURES = {
    "pearson": "Pearson's r squared of child and parent (linear importance)",
    "correlation_ratio": "the bias-adjusted correlation ratio S_adj of a P-spline fit (first-order, non-linear)",
}

#: Fewest units with which a correlation ratio is estimated.
MIN_UNITS = 8

#: Step in log-weight of the central differences that give the optimiser its gradient.
STEP = 1e-6

#: Largest number of units with a BCa interval (its jackknife costs n fits); above it, the percentile interval.
BCA_MAX_UNITS = 500

_LAMBDAS = np.logspace(-8, 8, 33)


def _basis(x: np.ndarray, n_segments: int) -> np.ndarray:
    """Cubic B-spline basis on ``n_segments`` equal segments spanning x (n x (n_segments + 3))."""
    lo, hi = float(x.min()), float(x.max())
    h = (hi - lo) / n_segments
    t = lo + h * np.arange(-3, n_segments + 4)
    xc = np.clip(x, lo, hi - 1e-12 * max(1.0, abs(hi)) if hi > lo else hi)
    return BSpline.design_matrix(xc, t, 3).toarray()


def _penalty(k: int) -> np.ndarray:
    D = np.diff(np.eye(k), n=2, axis=0)
    return D.T @ D


def _segments(n_unique: int) -> int:
    return int(min(20, max(3, n_unique // 4)))


@dataclass(frozen=True)
class CorrelationRatio:
    """One correlation ratio: ``adjusted`` (S_adj), ``raw`` (var(fitted)/var(y)), ``edf``, ``lam`` (the GCV
    penalty), ``n`` and ``code`` (``'ok'``, ``'too_few_units'``, ``'constant'``)."""

    adjusted: float
    raw: float
    edf: float
    lam: float
    n: int
    code: str


def _fit(B, P, y, lam, w=None):
    """Penalised fit(s): B (n, k), y (n,), w None or (R, n) resample counts; returns fitted (R, n), edf (R,)."""
    if w is None:
        G, b = (B.T @ B)[None], (y @ B)[None]
    else:
        BB = (B[:, :, None] * B[:, None, :]).reshape(B.shape[0], -1)
        G = (w @ BB).reshape(w.shape[0], B.shape[1], B.shape[1])
        b = (w * y) @ B
    A = G + lam * P
    coef = np.linalg.solve(A, b[..., None])[..., 0]
    edf = np.trace(np.linalg.solve(A, G), axis1=-2, axis2=-1)
    return coef @ B.T, edf


def _ratio_stats(y, fitted, edf, w=None):
    """S_adj and S_raw of fits; w None (the sample) or (R, n) resample counts."""
    if w is None:
        w = np.ones((1, y.size))
    n = w.sum(axis=1)
    my = (w * y).sum(axis=1) / n
    tss = (w * (y - my[:, None]) ** 2).sum(axis=1)
    rss = (w * (y - fitted) ** 2).sum(axis=1)
    mf = (w * fitted).sum(axis=1) / n
    vf = (w * (fitted - mf[:, None]) ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        adj = 1.0 - (rss / (n - edf)) / (tss / (n - 1))
        raw = vf / tss
    return adj, raw


def _prepare(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ClusterModelError(f"`x` and `y` must be 1-d arrays of the same length; got shapes {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def _select(x, y):
    """Basis, penalty and GCV choice of the penalty for finite x, y; None when it cannot be estimated."""
    n = x.size
    if n < MIN_UNITS:
        return None, "too_few_units"
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None, "constant"
    B = _basis(x, _segments(np.unique(x).size))
    P = _penalty(B.shape[1])
    G, b, yy = B.T @ B, B.T @ y, float(y @ y)
    scale = np.trace(G) / np.trace(P)
    best = None
    for lam in _LAMBDAS * scale:  # GCV from k x k algebra: RSS = y'y - 2 a'b + a'Ga
        A = G + lam * P
        a = np.linalg.solve(A, b)
        edf = float(np.trace(np.linalg.solve(A, G)))
        rss = max(yy - 2 * a @ b + a @ G @ a, 0.0)
        gcv = n * rss / max(n - edf, 1e-9) ** 2
        if best is None or gcv < best[0]:
            best = (gcv, lam, B @ a, edf)
    return (B, P, best), "ok"


def correlation_ratio(x, y) -> CorrelationRatio:
    """The first-order correlation ratio V[E(y|x)]/V(y) of one pair, by a GCV-penalised cubic P-spline.

    Parameters
    ----------
    x, y : array_like (n,)
        NaN in either drops the unit.

    Returns
    -------
    CorrelationRatio

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random(400)
    >>> res = correlation_ratio(x, np.sin(2 * np.pi * x) + rng.normal(scale=0.5, size=400))
    >>> round(res.adjusted, 1)  # the truth: 0.5 / (0.5 + 0.25) = 0.67; Pearson's r^2 would be about 0.5
    0.7
    """
    x, y = _prepare(x, y)
    sel, code = _select(x, y)
    nan = float("nan")
    if sel is None:
        return CorrelationRatio(nan, nan, nan, nan, int(x.size), code)
    B, P, (_, lam, fitted, edf) = sel
    adj, raw = _ratio_stats(y, fitted[None, :], np.array([edf]))
    return CorrelationRatio(float(adj[0]), float(raw[0]), edf, float(lam), int(x.size), "ok")


def _bootstrap_ratio(x, y, n_resamples, rng, level):
    """BCa interval of S_adj over resampled units (:func:`scipy.stats.bootstrap`), the penalty and the basis held
    at the full sample's; a resample is a vector of counts on the original units, so every fit is k x k algebra."""
    import scipy.stats

    sel, code = _select(x, y)
    if sel is None:
        return None
    B, P, (_, lam, _, _) = sel
    n = x.size

    def statistic(idx, axis=-1):
        idx = np.asarray(idx)
        flat = idx.reshape(-1, idx.shape[-1])
        w = np.zeros((flat.shape[0], n))
        np.add.at(w, (np.arange(flat.shape[0])[:, None], flat), 1.0)
        out = np.empty(flat.shape[0])
        for lo in range(0, flat.shape[0], 256):  # bounded memory: (256, n, k) at most
            fitted, edf = _fit(B, P, y, lam, w[lo : lo + 256])
            out[lo : lo + 256] = _ratio_stats(y, fitted, edf, w[lo : lo + 256])[0]
        return out.reshape(idx.shape[:-1])

    method = "BCa" if n <= BCA_MAX_UNITS else "percentile"
    res = scipy.stats.bootstrap(
        (np.arange(n),), statistic, vectorized=True, n_resamples=n_resamples, confidence_level=level, method=method, rng=rng
    )
    return np.array([res.confidence_interval.low, res.confidence_interval.high])


def _pearson_r2_columns(X, Y):
    """r² of every column of ``X`` (n, k) with every row of ``Y`` (B, n), pairwise complete: (B, k).

    NaN below 3 complete pairs or where a side is constant over them. One call gives the optimiser's loss and its
    gradient for a whole batch of candidate weights.
    """
    if np.isfinite(X).all() and np.isfinite(Y).all():  # no pair to leave out: one matrix product
        xc, yc = X - X.mean(axis=0), Y - Y.mean(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = (yc @ xc) ** 2 / (np.einsum("nk,nk->k", xc, xc)[None, :] * np.einsum("bn,bn->b", yc, yc)[:, None])
        constant = (np.ptp(X, axis=0) == 0)[None, :] | (np.ptp(Y, axis=1) == 0)[:, None]
        return np.where((X.shape[0] >= 3) & ~constant, r2, np.nan)
    m = np.isfinite(X)[None, :, :] & np.isfinite(Y)[:, :, None]  # (B, n, k)
    x = np.where(m, X[None, :, :], 0.0)
    y = np.where(m, Y[:, :, None], 0.0)
    cnt = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = np.where(m, x - x.sum(axis=1, keepdims=True) / cnt[:, None, :], 0.0)
        yc = np.where(m, y - y.sum(axis=1, keepdims=True) / cnt[:, None, :], 0.0)
        r2 = np.einsum("bnk,bnk->bk", xc, yc) ** 2 / (np.einsum("bnk,bnk->bk", xc, xc) * np.einsum("bnk,bnk->bk", yc, yc))
    constant = np.zeros(cnt.shape, dtype=bool)
    for v in (x, y):  # a side constant over the complete pairs is tested exactly, not by a variance near 0
        constant |= np.where(m, v, np.inf).min(axis=1) == np.where(m, v, -np.inf).max(axis=1)
    return np.where((cnt >= 3) & ~constant, r2, np.nan)


@dataclass(frozen=True, repr=False)
class ImportanceResult(ResultDisplay):
    """Importance of every child in its parent.

    Attributes
    ----------
    records : tuple of dict
        One per (parent, child): ``parent``, ``child``, ``level`` (of the child), ``n``, ``weight`` (nominal,
        within the parent; equal among the positive ones where the parent's aggregation is Equation 1, which
        cancels them), ``r2`` (linear importance), ``S`` (bias-adjusted correlation ratio), ``S_raw``,
        ``S_low`` / ``S_high`` (bootstrap interval), ``edf``, ``interval`` (its method), ``code``, ``share_r2`` and ``share_S``
        (the child's share of its siblings' importance; negative S_adj counts as 0).
    confidence_level : float
    n_resamples : int
    spec : dict
    """

    records: tuple
    confidence_level: float
    n_resamples: int
    spec: dict

    def of(self, parent: str) -> tuple:
        out = tuple(r for r in self.records if r["parent"] == parent)
        if not out:
            raise ClusterModelError(f"{parent!r} is not an aggregate of this result; they are {', '.join(dict.fromkeys(r['parent'] for r in self.records))}")
        return out

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(list(self.records)).set_index(["parent", "child"])

    def to_dataset(self) -> xr.Dataset:
        df = self.to_dataframe().reset_index()
        df.index = [f"{p}/{c}" for p, c in zip(df["parent"], df["child"])]
        return xr.Dataset.from_dataframe(df.rename_axis("pair"))

    def to_dict(self) -> dict:
        return {"confidence_level": self.confidence_level, "n_resamples": self.n_resamples, "spec": self.spec, "pairs": [dict(r) for r in self.records]}

    def largest_gap(self) -> dict | None:
        """The pair whose correlation-ratio share is furthest from its nominal weight."""
        ok = [r for r in self.records if np.isfinite(r["share_S"])]
        return max(ok, key=lambda r: abs(r["share_S"] - r["weight"])) if ok else None

    def _display_(self):
        g = self.largest_gap()
        facts = [("pairs", len(self.records))]
        if g:
            facts.append(("largest gap", f"{g['child']} in {g['parent']}: weight {fmt(g['weight'])}, share {fmt(g['share_S'])}"))
        return "weights against importance", facts


def weight_importance(data: DataLike, spec: IndexSpec | None = None, *, n_resamples: int = 200, confidence_level: float = 0.95, rng: RNGLike = None, values: str = "normalised") -> ImportanceResult:
    """Linear and non-linear importance of every child in its parent, beside its nominal weight.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
    n_resamples : int
        Bootstrap resamples of units for the interval of S (0: no interval).
    confidence_level : float
    rng : int or numpy.random.Generator, optional
    values : {'normalised', 'raw'}
        The indicators' values (aggregates are always their scores).

    Returns
    -------
    ImportanceResult
    """
    n_resamples = check_number(n_resamples, "`n_resamples`", kind="int", minimum=0)
    level = check_number(confidence_level, "`confidence_level`", minimum=0, maximum=1, exclusive_minimum=True, exclusive_maximum=True)
    rng = np.random.default_rng(rng)
    t = node_table(data, spec, values=values)
    s = t.structure
    w_in = dict(zip(s.weighted, s.normalise_weights(s.weight_array())))
    recs = []
    for parent in s.aggregates:
        kids = s.children(parent)
        if len(kids) < 2:
            continue
        if t.spec.aggregation_at(s.level(parent), s.n_levels) == "equation1":  # its positive weights cancel: equal
            pos = np.array([w_in[c] > 0 for c in kids], dtype=float)
            w_in.update({c: float(x / pos.sum()) for c, x in zip(kids, pos)})
        y = t.column(parent)
        rows = []
        for c in kids:
            x = t.column(c)
            cr = correlation_ratio(x, y)
            lo = hi = float("nan")
            if n_resamples and cr.code == "ok":
                xs, ys = _prepare(x, y)
                lo, hi = (float(v) for v in _bootstrap_ratio(xs, ys, n_resamples, rng, level))
            rows.append(
                {
                    "parent": parent,
                    "child": c,
                    "level": s.level(c),
                    "n": cr.n,
                    "weight": float(w_in[c]),
                    "r2": float(_pearson_r2_columns(x[:, None], y[None, :])[0, 0]),
                    "S": cr.adjusted,
                    "S_raw": cr.raw,
                    "S_low": lo,
                    "S_high": hi,
                    "edf": cr.edf,
                    "interval": ("BCa" if cr.n <= BCA_MAX_UNITS else "percentile") if np.isfinite(lo) else "",
                    "code": cr.code,
                }
            )
        for key, share in (("r2", "share_r2"), ("S", "share_S")):
            v = np.array([max(r[key], 0.0) if np.isfinite(r[key]) else np.nan for r in rows])
            tot = np.nansum(v)
            for r, x in zip(rows, v):
                r[share] = float(x / tot) if tot > 0 and np.isfinite(x) else float("nan")
        recs += rows
    return ImportanceResult(records=tuple(recs), confidence_level=level, n_resamples=n_resamples, spec=t.spec.to_dict())


@dataclass(frozen=True, repr=False)
class OptimisedWeights(ResultDisplay):
    """Weights of one aggregate's children whose importance shares match a target.

    Attributes
    ----------
    node : str
    children : tuple of str
    measure : str
        A key of :data:`MEASURES`.
    target : ndarray
        Target shares (sum 1).
    nominal_weights, weights : ndarray
        Within the parent (sum 1): as given, and optimised.
    nominal_shares, shares : ndarray
        Importance shares at the nominal and at the optimised weights.
    nominal_loss, loss : float
        Sum of squared differences between shares and target.
    success : bool
    n_iterations, n_evaluations : int
    message : str
    structure : Structure
        The study's structure with the optimised weights (write it with ``structure.file_frame().to_csv``).
    """

    node: str
    children: tuple
    measure: str
    target: np.ndarray
    nominal_weights: np.ndarray
    weights: np.ndarray
    nominal_shares: np.ndarray
    shares: np.ndarray
    nominal_loss: float
    loss: float
    success: bool
    n_iterations: int
    n_evaluations: int
    message: str
    structure: object

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "target": self.target,
                "nominal_weight": self.nominal_weights,
                "nominal_share": self.nominal_shares,
                "optimised_weight": self.weights,
                "optimised_share": self.shares,
            },
            index=pd.Index(self.children, name="child"),
        )

    def to_dataset(self) -> xr.Dataset:
        ds = xr.Dataset.from_dataframe(self.to_dataframe())
        ds.attrs.update({"node": self.node, "measure": self.measure, "loss": self.loss, "success": int(self.success)})
        return ds

    def to_dict(self) -> dict:
        return {
            "node": self.node,
            "measure": self.measure,
            "children": list(self.children),
            "target": self.target.tolist(),
            "nominal_weights": self.nominal_weights.tolist(),
            "weights": self.weights.tolist(),
            "nominal_shares": self.nominal_shares.tolist(),
            "shares": self.shares.tolist(),
            "nominal_loss": self.nominal_loss,
            "loss": self.loss,
            "success": self.success,
            "n_iterations": self.n_iterations,
            "n_evaluations": self.n_evaluations,
            "message": self.message,
        }

    def _display_(self):
        return (
            f"weights of {self.node!r} optimised for {self.measure} importance",
            [("loss", f"{fmt(self.nominal_loss, 4)} -> {fmt(self.loss, 4)}"), ("converged", self.success)]
            + [(c, f"{fmt(a)} -> {fmt(b)}") for c, a, b in zip(self.children, self.nominal_weights, self.weights)][:6],
        )


def optimise_weights(
    data: DataLike,
    spec: IndexSpec | None = None,
    *,
    node: str | None = None,
    target: dict | list | None = None,
    measure: str = "pearson",
    max_evaluations: int | None = None,
    tolerance: float = 1e-8,
) -> OptimisedWeights:
    """Weights of ``node``'s children whose importance shares in ``node`` match ``target``.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
    node : str, optional
        The aggregate whose children's weights are optimised; default the index.
    target : mapping child -> share or sequence, optional
        Target importance shares (rescaled to sum 1); default the nominal weights within ``node``.
    measure : {'pearson', 'correlation_ratio'}
        See :data:`MEASURES`. For the correlation ratio each child's penalty is held at its choice under the
        nominal weights, so that the loss is a smooth function of the weights.
    max_evaluations : int, optional
        Loss evaluations allowed (default 400 per child); each step of the optimiser costs 2(k - 1) + 1 of them
        (the loss and its central-difference gradient, evaluated as one batch).
    tolerance : float
        L-BFGS-B's ``gtol`` (largest gradient component at convergence); its ``ftol`` is the square.

    Returns
    -------
    OptimisedWeights
    """
    if measure not in MEASURES:
        raise ClusterModelError(f"`measure` must be one of {', '.join(map(repr, MEASURES))}; got {measure!r}")
    t = node_table(data, spec)
    s, c = t.structure, t.construction
    node = s.root if node is None else node
    if node not in s.aggregates:
        raise ClusterModelError(f"`node` must be an aggregate of the structure; got {node!r}; aggregates: {', '.join(s.aggregates)}")
    kids = tuple(s.children(node))
    if len(kids) < 2:
        raise ClusterModelError(f"`node` {node!r} has one child: there is no weight to optimise")
    pos = [s.weighted.index(k) for k in kids]
    w0 = s.weight_array()
    nominal = w0[pos] / w0[pos].sum()
    if target is None:
        tgt = nominal.copy()
    else:
        if isinstance(target, dict):
            unknown = [k for k in target if k not in kids]
            missing = [k for k in kids if k not in target]
            if unknown or missing:
                raise ClusterModelError(f"`target` must name every child of {node!r} ({', '.join(kids)}); unknown {unknown}, missing {missing}")
            tgt = np.array([float(target[k]) for k in kids])
        else:
            tgt = np.asarray(target, dtype=float)
            if tgt.shape != (len(kids),):
                raise ClusterModelError(f"`target` must have one share per child of {node!r} ({len(kids)}); got shape {tgt.shape}")
        if not np.all(np.isfinite(tgt)) or np.any(tgt < 0) or tgt.sum() <= 0:
            raise ClusterModelError("`target` must be non-negative finite shares with a positive sum")
        tgt = tgt / tgt.sum()
    X = t.columns(kids)
    lams = None
    if measure == "correlation_ratio":
        y0 = t.column(node)
        lams = []
        for j in range(len(kids)):
            xs, ys = _prepare(X[:, j], y0)
            sel, code = _select(xs, ys)
            if sel is None:
                raise ClusterModelError(f"the correlation ratio of {kids[j]!r} in {node!r} cannot be estimated ({code})")
            lams.append(sel)

    def full_scores(W):
        out = []
        for w in np.atleast_2d(W):
            full = w0.copy()
            full[pos] = w
            out.append(compute_scores(data, weights=full, spec=t.spec, nodes=[node], construction=c).values[:, 0])
        return np.array(out)

    # the node from its children's scores alone (they do not depend on these weights): one aggregation of a whole
    # batch of weight vectors instead of the whole tree per vector; checked against the whole tree at the nominal weights
    from clustermodel.aggregate import aggregate_array

    agg = t.spec.aggregation_at(s.level(node), s.n_levels)
    present = np.isfinite(X) if t.spec.missing == "rescale" else np.ones(X.shape, dtype=bool)
    values = np.where(np.isfinite(X), X, 0.0)

    def node_scores(W):  # (B, k) weights within the node -> (B, n)
        return aggregate_array(values, present, np.atleast_2d(W), aggregation=agg, missing=t.spec.missing)

    if not np.allclose(node_scores(nominal), full_scores(nominal), rtol=1e-10, atol=1e-12, equal_nan=True):
        node_scores = full_scores  # noqa: F811 (a child's value is not what the aggregation reads, e.g. normalised NaN)

    def shares(W):  # (B, k) -> (B, k)
        Y = node_scores(W)
        if measure == "pearson":
            v = _pearson_r2_columns(X, Y)
        else:
            v = np.empty((len(Y), len(kids)))
            for b, y in enumerate(Y):
                for j, (B, P, (_, lam, _, _)) in enumerate(lams):
                    xs, ys = _prepare(X[:, j], y)
                    fitted, edf = _fit(B, P, ys, lam)
                    v[b, j] = float(_ratio_stats(ys, fitted, edf)[0][0])
        v = np.where(np.isfinite(v), np.clip(v, 0.0, None), 0.0)
        total = v.sum(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, v / np.where(total > 0, total, 1.0), np.nan)

    evaluations = 0

    def losses(Theta):  # (B, k - 1) log-weight ratios to the first child -> (B,)
        nonlocal evaluations
        Theta = np.atleast_2d(Theta)
        evaluations += len(Theta)
        w = np.exp(np.concatenate([np.zeros((len(Theta), 1)), Theta], axis=1))
        sh = shares(w / w.sum(axis=1, keepdims=True))
        return np.where(np.all(np.isfinite(sh), axis=1), np.sum((sh - tgt) ** 2, axis=1), 1e6)

    def loss_and_gradient(theta):
        # central differences in one batched evaluation of 2(k - 1) + 1 points (the loss is smooth in the log-weights)
        d = theta.size
        steps = STEP * np.eye(d)
        f = losses(np.vstack([theta, theta + steps, theta - steps]))
        return float(f[0]), (f[1 : d + 1] - f[d + 1 :]) / (2 * STEP)

    theta0 = np.log(np.clip(nominal[1:], 1e-12, None) / max(nominal[0], 1e-12))
    budget = int(max_evaluations or 400 * len(kids))
    res = scipy.optimize.minimize(
        loss_and_gradient, theta0, jac=True, method="L-BFGS-B",
        options={"maxfun": max(2, budget // (2 * len(theta0) + 1)), "maxiter": budget, "gtol": tolerance, "ftol": tolerance**2},
    )
    iterations = int(res.nit)
    w = np.exp(np.concatenate([[0.0], res.x]))
    w = w / w.sum()
    new = w0.copy()
    new[pos] = w * w0[pos].sum()  # same total as before, so the other levels' numbers are untouched
    sh_nom, sh_opt = shares(nominal)[0], shares(w)[0]
    return OptimisedWeights(
        node=node,
        children=kids,
        measure=measure,
        target=tgt,
        nominal_weights=nominal,
        weights=w,
        nominal_shares=sh_nom,
        shares=sh_opt,
        nominal_loss=float(np.sum((sh_nom - tgt) ** 2)),
        loss=float(np.sum((sh_opt - tgt) ** 2)),
        success=bool(res.success),
        n_iterations=iterations,
        n_evaluations=evaluations,
        message=str(res.message),
        structure=s.with_weights(dict(zip(s.weighted, new))),
    )
