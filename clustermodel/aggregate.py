"""Stage 5: weight and aggregate, node by node up the structure.

Every aggregator is a weighted quasi-arithmetic mean ``F⁻¹(Σ_c w_c F(x_c))``
over the children c of one node, with the children's weights normalised to
sum to one within the node (OECD/JRC *Handbook*, 2008, section 6; COINr's
``a_amean``, ``a_gmean``, ``a_hmean``):

==============  ==================  =====================  ================================================
aggregation     F(x)                F⁻¹(s)                 weights
==============  ==================  =====================  ================================================
``arithmetic``  x                   s                      normalised within the node
``quadratic``   x²                  √s                     normalised within the node
``geometric``   log x               exp s                  normalised within the node
``harmonic``    1/x                 1/s                    normalised within the node
``equation1``   x²                  √s                     1 for every positive weight (they cancel, as printed)
==============  ==================  =====================  ================================================

``equation1`` is the paper's Equation 1 as printed, a Euclidean norm rather
than a mean: its attainable maximum is √(number of children). The geometric
and harmonic means are defined on positive values: a child scoring exactly 0
makes the node 0 (the limit of both means), and a negative child is an error
naming the node and the unit — choose a normaliser whose scale is positive
(``minmax``, ``rank``, ``goalposts``) or another aggregator.

Missing children: under ``missing='rescale'`` (available-case) a node is the
mean over its observed children, their weights renormalised; a node with no
observed child is missing (NaN) at its parent. Otherwise a missing leaf was
already scored 0 (``'zero'``) or imputed (``'mean'``, ``'median'``).

The core is vectorised over any batch of weight vectors (leading dimensions of
``weights``) and any leading batch dimensions of the data; with one data set
and many weight vectors, a node of indicators costs one matrix product.
"""

from __future__ import annotations

import numpy as np

from clustermodel._errors import ClusterModelError
from clustermodel.spec import AGGREGATIONS

__all__ = ["AGGREGATORS", "aggregate_tree", "aggregate_array", "attainable_maximum", "check_weights", "effective_weights"]


def _identity(x):
    return x


def _log(x):
    return np.log(np.where(x > 0, x, 1.0))


def _inv(x):
    return 1.0 / np.where(x != 0, x, 1.0)


#: aggregation -> (F, F⁻¹, positive values only, weights cancel)
AGGREGATORS = {
    "arithmetic": (_identity, _identity, False, False),
    "quadratic": (np.square, np.sqrt, False, False),
    "geometric": (_log, np.exp, True, False),
    "harmonic": (_inv, _inv, True, False),
    "equation1": (np.square, np.sqrt, False, True),
}
assert set(AGGREGATORS) == set(AGGREGATIONS)


def check_weights(weights, *, name: str = "weights") -> np.ndarray:
    """Validate an array of weight vectors (last axis = weighted node)."""
    w = np.asarray(weights, dtype=float)
    if w.ndim < 1 or w.shape[-1] == 0:
        raise ClusterModelError(f"`{name}` must have an indicator axis with at least one entry")
    if not np.all(np.isfinite(w)):
        raise ClusterModelError(f"`{name}` contains NaN or infinite values; every weight must be a finite number")
    if np.any(w < 0):
        raise ClusterModelError(f"`{name}` contains a negative weight ({float(w.min())!r}); weights must be >= 0")
    if np.any(w.sum(axis=-1) <= 0):
        raise ClusterModelError(f"`{name}`: at least one weight of every weight vector must be positive")
    return w


def effective_weights(weights, aggregation: str) -> np.ndarray:
    """Weights of one node's children as they enter its sum: normalised, or 0/1 under ``'equation1'``.

    Under Equation 1 as printed, ``a_j x_ij / max_i(a_j x_ij)`` equals
    ``x_ij / max_i x_ij`` for every ``a_j > 0``: the weight cancels, and only
    whether it is zero (the indicator is dropped) survives.
    """
    w = np.asarray(weights, dtype=float)
    if AGGREGATORS[aggregation][3]:
        return (w > 0).astype(float)
    return w / w.sum(axis=-1, keepdims=True)


def attainable_maximum(weights, aggregation: str) -> np.ndarray:
    """Score of a node whose children all score 1; shape ``weights.shape[:-1]``."""
    e = effective_weights(weights, aggregation).sum(axis=-1)
    return np.sqrt(e) if aggregation == "equation1" else np.ones_like(e)


def _wsum(a, w):
    """Σ_c a[..., n, c] w[..., c] with broadcasting of the leading dimensions -> (..., n)."""
    c = a.shape[-1]
    if a.ndim == 2:  # one data set, any batch of weights: one matrix product
        flat = w.reshape(-1, c)
        return (a @ flat.T).T.reshape(*w.shape[:-1], a.shape[0])
    return np.matmul(a, w[..., :, None])[..., 0]


def _negative_error(node, values, present, w, unit_labels, aggregation):
    bad = (values < 0) & present
    bad = bad.reshape(-1, bad.shape[-2], bad.shape[-1])
    i = int(np.flatnonzero(bad.any(axis=(0, 2)))[0])
    unit = unit_labels[i] if unit_labels is not None else f"at position {i}"
    raise ClusterModelError(
        f"node {node!r}: the {aggregation} mean is defined on positive values, but a child scores "
        f"{float(np.min(np.where(bad, values, 0)))!r} for unit {unit!r}; choose a normalisation whose scale is "
        "positive (minmax, rank, goalposts, max with negative='zero') or aggregation='arithmetic'"
    )


def _node(values, present, w, aggregation, missing, node, unit_labels):
    """One node from its children: values/present (..., n, c), raw weights (..., c)."""
    F, Finv, positive_only, cancels = AGGREGATORS[aggregation]
    e = (w > 0).astype(float) if cancels else w / w.sum(axis=-1, keepdims=True)
    if positive_only and np.any((values < 0) & present):
        _negative_error(node, values, present, w, unit_labels, aggregation)
    pf = present.astype(float)
    num = _wsum(np.where(present, F(values), 0.0), e)
    if missing == "rescale":
        den = _wsum(pf, e)
        total = e.sum(axis=-1)[..., None]
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(den > 0, num * (total / np.where(den > 0, den, 1.0)), np.nan)
    else:
        s = num
    with np.errstate(invalid="ignore", over="ignore"):
        out = Finv(s)
    if positive_only:
        zero_hit = _wsum((present & (values == 0)).astype(float), (e > 0).astype(float)) > 0
        out = np.where(zero_hit, 0.0, out)
    return out


def aggregate_tree(leaves, present, weights, *, structure, aggregation_at, missing: str = "zero", keep=None, unit_labels=None):
    """Scores of every aggregate node (and any requested leaf) for a batch of weight vectors.

    Parameters
    ----------
    leaves : ndarray, shape (*D, n, m)
        Normalised indicator values in ``structure.leaves`` order (0 where missing).
    present : ndarray of bool, shape (*D, n, m)
    weights : ndarray, shape (*B, K)
        Raw weights over ``structure.weighted``; normalised within each parent here.
    structure : Structure
    aggregation_at : callable level -> aggregation name
    missing : str
        ``'rescale'`` aggregates over observed children; anything else scores
        every cell as given (missing cells were filled before).
    keep : collection of node names, optional
        Nodes whose scores are returned (default: every aggregate). Scores of
        other nodes are freed as soon as their parent is computed.
    unit_labels : sequence, optional
        Unit names for error messages.

    Returns
    -------
    scores : dict node -> ndarray, shape broadcast(*B, *D) + (n,)
        NaN where a node has no observed child under ``'rescale'``.
    """
    w = np.asarray(weights, dtype=float)
    if missing != "rescale":
        present = np.ones_like(present, dtype=bool)
    keep = set(structure.aggregates if keep is None else keep)
    pos_w = {v: k for k, v in enumerate(structure.weighted)}
    pos_leaf = {v: k for k, v in enumerate(structure.leaves)}
    values, pres = {}, {}
    remaining = {v: len(structure.children(v)) for v in structure.aggregates}
    for node in structure.aggregates:
        kids = structure.children(node)
        if all(k in pos_leaf for k in kids):
            idx = [pos_leaf[k] for k in kids]
            v = leaves[..., idx]
            p = present[..., idx]
        else:
            cols = [values[k] if k in values else leaves[..., pos_leaf[k]] for k in kids]
            shape = np.broadcast_shapes(*(c.shape for c in cols))
            v = np.stack([np.broadcast_to(c, shape) for c in cols], axis=-1)
            p = np.stack([pres[k] if k in pres else present[..., pos_leaf[k]] for k in kids], axis=-1)
        pres[node] = p.any(axis=-1)
        values[node] = _node(v, p, w[..., [pos_w[k] for k in kids]], aggregation_at(structure.level(node)), missing, node, unit_labels)
        for k in kids:
            if k in values and k not in keep:
                del values[k]
    return {k: v for k, v in values.items() if k in keep}


def aggregate_array(normalised, present, weights, *, aggregation: str = "equation1", missing: str = "zero"):
    """One-level aggregation of normalised values, shape (..., n, m), with weights (..., m) -> (..., n).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.5], [0.0, 1.0]])
    >>> aggregate_array(x, np.ones_like(x, bool), [0.5, 0.5], aggregation="arithmetic").tolist()
    [0.75, 0.5]
    """
    from clustermodel.structure import Structure

    w = check_weights(weights)
    m = w.shape[-1]
    s = Structure(["__index__", *[f"i{j}" for j in range(m)]], [None] + ["__index__"] * m, [np.nan] + [1.0] * m)
    normalised = np.asarray(normalised, dtype=float)
    out = aggregate_tree(
        normalised,
        np.asarray(present, dtype=bool),
        w,
        structure=s,
        aggregation_at=lambda level: aggregation,
        missing=missing,
    )
    return out["__index__"]
