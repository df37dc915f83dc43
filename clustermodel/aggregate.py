"""Stage 2: weight and aggregate the normalised indicators into the index.

The core is one broadcasting matrix product, so any number of weight vectors
(leading batch dimensions of ``weights``) is scored in one call.
"""

from __future__ import annotations

import numpy as np

from clustermodel._errors import ClusterModelError

__all__ = ["aggregate_array", "attainable_maximum", "check_weights", "effective_weights"]


def check_weights(weights, *, name: str = "weights") -> np.ndarray:
    """Validate an array of weight vectors (last axis = indicator)."""
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


def effective_weights(weights, placement: str) -> np.ndarray:
    """Weights as they enter the sum of squares (or the sum, for 'arithmetic').

    Under Equation 1 as printed, ``a_j x_ij / max_i(a_j x_ij)`` equals
    ``x_ij / max_i x_ij`` for every ``a_j > 0``: the weight cancels, and only
    whether it is zero (the indicator is dropped) survives.
    """
    w = np.asarray(weights, dtype=float)
    if placement == "equation1":
        return (w > 0).astype(float)
    return w


def attainable_maximum(weights, placement: str) -> np.ndarray:
    """Index of a unit holding the maximum of every indicator; shape ``weights.shape[:-1]``."""
    e = effective_weights(weights, placement).sum(axis=-1)
    return e if placement == "arithmetic" else np.sqrt(e)


def aggregate_array(normalised, present, weights, *, placement: str = "equation1", missing: str = "zero"):
    """Aggregate normalised values into the index.

    Parameters
    ----------
    normalised, present : ndarray, shape (..., n, m)
        Output of :func:`clustermodel.normalise.normalise_array`.
    weights : ndarray, shape (..., m)
        One or many weight vectors; leading dimensions broadcast against the
        leading dimensions of ``normalised`` and come first in the result.
    placement : {'equation1', 'quadratic', 'arithmetic'}
    missing : {'zero', 'rescale'}
        ``'rescale'`` multiplies a unit's sum by (total weight)/(weight of its
        observed indicators); a unit with no observed indicator gets NaN.

    Returns
    -------
    ndarray, shape (..., n)
    """
    w = check_weights(weights)
    e = effective_weights(w, placement)[..., :, None]  # (..., m, 1)
    terms = normalised if placement == "arithmetic" else normalised**2
    total = np.matmul(terms, e)[..., 0]  # (..., n)
    if missing == "rescale":
        observed = np.matmul(present.astype(float), e)[..., 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.where(observed > 0, total * (e.sum(axis=-2) / np.where(observed > 0, observed, 1.0)), np.nan)
    elif missing != "zero":
        raise ClusterModelError(f"`missing` must be 'zero' or 'rescale', got {missing!r}")
    if placement == "arithmetic":
        return total
    # negative arithmetic sums cannot occur here: terms are squares
    return np.sqrt(total)
