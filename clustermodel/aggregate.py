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
``genmean:p``   x^p                 s^(1/p)                normalised within the node
``equation1``   x²                  √s                     1 for every positive weight (they cancel, as printed)
==============  ==================  =====================  ================================================

``copeland`` is not a mean: a unit's score is the share of the other units it
beats in a weighted pairwise majority vote over the node's children (unit i
beats j when Σ_c w_c sign(x_ic − x_jc) > 0; a sum within 1e-12 of 0 is a tie,
counting a half). Only the order of the children's scores matters, so no
compensation between them is possible (Munda & Nardo 2009; COINr's
``a_copeland``, whose score is ``2 (n − 1) s − (n − 1)`` of ours, s). Under
``missing='rescale'`` two units are compared on the children both have.

``equation1`` is the paper's Equation 1 as printed, a Euclidean norm rather
than a mean: its attainable maximum is √(number of children). The geometric
and harmonic means are defined on positive values: a child scoring exactly 0
makes the node 0 (the limit of both means), and a negative child is an error
naming the node and the unit — choose a normaliser whose scale is positive
(``minmax``, ``rank``, ``goalposts``) or another aggregator. The generalised
mean of order p (``genmean:p``, COINr's ``a_genmean``) takes values >= 0 for any
p; for p < 0 a zero child makes the node 0, as for the harmonic mean.

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
import functools

from clustermodel.spec import AGGREGATIONS, PARAMETRISED_AGGREGATIONS, parse_aggregation

__all__ = ["AGGREGATORS", "aggregator", "aggregate_tree", "aggregate_array", "attainable_maximum", "check_weights", "effective_weights"]


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
    "copeland": (None, None, False, False),  # pairwise, not a quasi-arithmetic mean: _copeland
}
assert set(AGGREGATORS) | set(PARAMETRISED_AGGREGATIONS) == set(AGGREGATIONS)


def _power(x, p):
    # x >= 0 here (negatives are refused first); 0^p for p < 0 is replaced by the zero rule, so 1 stands in. A tiny
    # positive child under p < 0 overflows to inf, whose root is 0: the node's limit as that child goes to 0.
    with np.errstate(over="ignore"):
        return np.power(np.where(x > 0, x, 0.0 if p > 0 else 1.0), p)


def _root(s, p):
    with np.errstate(over="ignore", divide="ignore"):
        return np.power(np.where(s > 0, s, 0.0 if p > 0 else 1.0), 1.0 / p)


@functools.lru_cache(maxsize=64)
def aggregator(name: str) -> tuple:
    """``(F, F⁻¹, negatives refused, a zero child gives 0, weights cancel)`` of an aggregation name.

    The names of :data:`AGGREGATORS` and ``genmean:p``, the generalised mean of order p
    (:func:`clustermodel.spec.parse_aggregation`).
    """
    base, order = parse_aggregation(name)
    if order is None:
        F, Finv, positive, cancels = AGGREGATORS[base]
        return F, Finv, positive, positive, cancels
    return functools.partial(_power, p=order), functools.partial(_root, p=order), True, order < 0, False


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
    if aggregator(aggregation)[4]:
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


def _negative_error(node, values, present, unit_labels, aggregation):
    bad = (values < 0) & present
    bad = bad.reshape(-1, bad.shape[-1])
    i = int(np.flatnonzero(bad.any(axis=0))[0])
    unit = unit_labels[i] if unit_labels is not None else f"at position {i}"
    raise ClusterModelError(
        f"node {node!r}: the {aggregation} mean is defined on positive values, but a child scores "
        f"{float(np.min(np.where(bad, values.reshape(bad.shape), 0)))!r} for unit {unit!r}; choose a normalisation "
        "whose scale is positive (minmax, rank, goalposts, max with negative='zero') or aggregation='arithmetic'"
    )


#: ``den`` of a node whose children every unit observes (missing='rescale'): the observed weight is the total weight,
#: the rescaling factor total / den is 1, and neither den nor the division is computed (in floating point that
#: factor came out within an ulp of 1, so such scores can move in their last bit; one pass and one matrix product
#: fewer per node).
_ALL_OBSERVED = object()


def _finish(num, den, total, zero_hit, Finv):
    if den is _ALL_OBSERVED:
        if np.any(np.asarray(total) <= 0):  # no weight at all: the node is undefined, as when nothing is observed
            num = np.where(np.asarray(total) > 0, num, np.nan)
    elif den is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            num = np.where(den > 0, num * (total / np.where(den > 0, den, 1.0)), np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        out = Finv(num)
    return out if zero_hit is None else np.where(zero_hit, 0.0, out)


#: Pairwise comparisons (weight vectors x units x units) evaluated at once by the Copeland rule (~64 MB of float64).
_COPELAND_BLOCK = 2**23


def _copeland(children, present, e, rescale):
    """Copeland shares of a node: ``children`` c arrays (*B, *D, n) or (*D, n), ``present`` c arrays (*D, n),
    normalised weights ``e`` (*B, c) -> (*B, *D, n). Weight vectors are taken in blocks so that no more than
    :data:`_COPELAND_BLOCK` pairwise comparisons are held at once."""
    batch = e.shape[:-1]
    full = np.broadcast_shapes(batch + (1,) * np.ndim(present[0]), *(np.shape(v) for v in children))
    n = full[-1]
    if n == 1:  # no one to beat: the unit is unbeaten (the virtual top unit of the attainable maximum scores 1)
        return np.ones(full)
    nb = int(np.prod(batch, dtype=np.int64))
    kids = [np.broadcast_to(v, full).reshape(nb, -1, n) for v in children]
    pres = [np.broadcast_to(p, full[len(batch):]).reshape(-1, n) for p in present]
    ew = e.reshape(nb, -1)
    nd = kids[0].shape[1]
    out = np.empty((nb, nd, n))
    step = max(1, _COPELAND_BLOCK // max(1, nd * n * n))
    off_diagonal = ~np.eye(n, dtype=bool)
    for lo in range(0, nb, step):
        hi = min(nb, lo + step)
        vote = np.zeros((hi - lo, nd, n, n))
        compared = np.zeros((hi - lo, nd, n, n)) if rescale else None
        for k, (v, p) in enumerate(zip(kids, pres)):
            wk = ew[lo:hi, k][:, None, None, None]
            sign = np.sign(v[lo:hi, :, :, None] - v[lo:hi, :, None, :])
            if rescale:
                both = p[:, :, None] & p[:, None, :]
                sign = np.where(both, sign, 0.0)
                compared += wk * both
            vote += wk * sign
        tol = 1e-12 * ew[lo:hi].sum(axis=-1)[:, None, None, None]
        outcome = np.where(vote > tol, 1.0, np.where(vote < -tol, 0.0, 0.5))
        valid = off_diagonal if compared is None else (compared > 0) & off_diagonal
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo:hi] = np.where(valid, outcome, 0.0).sum(axis=-1) / np.broadcast_to(valid, outcome.shape).sum(axis=-1)
    return out.reshape(full)


def _node_block(values, present, w, aggregation, missing, node, unit_labels):
    """A node whose children are all indicators: values/present (*D, n, c) batch-free, weights (*B, c)."""
    if aggregation == "copeland":
        c = values.shape[-1]
        return _node_list([values[..., k] for k in range(c)], [present[..., k] for k in range(c)], w, aggregation, missing, node, unit_labels)
    F, Finv, positive_only, zero_rule, cancels = aggregator(aggregation)
    e = (w > 0).astype(float) if cancels else w / w.sum(axis=-1, keepdims=True)
    observed = bool(present.all())
    rescale = missing == "rescale" and not observed
    if positive_only and np.any((values < 0) & present):
        _negative_error(node, np.moveaxis(values, -1, 0), np.moveaxis(present, -1, 0), unit_labels, aggregation)
    fv = F(values)
    num = _wsum(np.where(present, fv, 0.0) if rescale else fv, e)
    den = _wsum(present.astype(float), e) if rescale else (_ALL_OBSERVED if missing == "rescale" else None)
    zero_hit = _wsum((present & (values == 0)).astype(float), (e > 0).astype(float)) > 0 if zero_rule else None
    return _finish(num, den, e.sum(axis=-1)[..., None], zero_hit, Finv)


def _node_list(children, present, w, aggregation, missing, node, unit_labels):
    """A node from a list of child score arrays (*B, *D, n) or (*D, n), presence (*D, n), weights (*B, c).

    The children stay separate arrays (a loop over the node's children, never over the batch), so no
    (batch, unit, child) array is built.
    """
    if aggregation == "copeland":
        return _copeland(children, present, w / w.sum(axis=-1, keepdims=True), missing == "rescale")
    F, Finv, positive_only, zero_rule, cancels = aggregator(aggregation)
    e = (w > 0).astype(float) if cancels else w / w.sum(axis=-1, keepdims=True)
    observed = all(bool(np.all(p)) for p in present)
    rescale = missing == "rescale" and not observed
    num = den = zero_hit = None
    with np.errstate(invalid="ignore"):
        for k, (v, p) in enumerate(zip(children, present)):
            ek = e[..., k, None] if e.ndim > 1 else e[k]
            if positive_only and np.any((v < 0) & p):
                _negative_error(node, v, p, unit_labels, aggregation)
            fv = F(v)
            if rescale:
                fv = np.where(p, fv, 0.0)
                d = ek * p
                den = d if den is None else den + d
            t = ek * fv
            num = t if num is None else num + t
            if zero_rule:
                z = (ek > 0) & (v == 0) & p
                zero_hit = z if zero_hit is None else zero_hit | z
    if missing == "rescale" and observed:
        den = _ALL_OBSERVED
    return _finish(num, den, e.sum(axis=-1)[..., None] if e.ndim > 1 else e.sum(), zero_hit, Finv)


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
    for node in structure.aggregates:
        kids = structure.children(node)
        wk = w[..., [pos_w[k] for k in kids]]
        agg = aggregation_at(structure.level(node))
        if all(k in pos_leaf for k in kids):
            idx = [pos_leaf[k] for k in kids]
            # all the leaves in order (every one-level index) need no copy of the data when it is C-contiguous; any
            # other selection is a C-contiguous copy, so the matrix products see one memory layout (their rounding
            # can depend on it)
            if idx == list(range(leaves.shape[-1])):
                p, block = np.ascontiguousarray(present), np.ascontiguousarray(leaves)
            else:
                p, block = present[..., idx], leaves[..., idx]
            values[node] = _node_block(block, p, wk, agg, missing, node, unit_labels)
            pres[node] = p.any(axis=-1)
        else:
            cols = [values[k] if k in values else leaves[..., pos_leaf[k]] for k in kids]
            pcols = [pres[k] if k in pres else present[..., pos_leaf[k]] for k in kids]
            values[node] = _node_list(cols, pcols, wk, agg, missing, node, unit_labels)
            pres[node] = np.logical_or.reduce(pcols)
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
