"""Test functions with analytic indices: Ishigami and Sobol's G function."""

from __future__ import annotations

import math

import numpy as np


# --------------------------------------------------------------------------------------------
# Test functions with analytic indices
# --------------------------------------------------------------------------------------------

#: Problem of the Ishigami function: three factors uniform on [-pi, pi].
ISHIGAMI_PROBLEM = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3}


def ishigami(X, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Ishigami function ``sin x1 + a sin^2 x2 + b x3^4 sin x1``, row-wise (vectorised).

    References
    ----------
    Ishigami, T. and Homma, T. (1990). An importance quantification technique in uncertainty
    analysis for computer models. Proc. ISUMA '90, 398-403. https://doi.org/10.1109/ISUMA.1990.151285
    """
    X = np.asarray(X, dtype=float)
    return np.sin(X[..., 0]) + a * np.sin(X[..., 1]) ** 2 + b * X[..., 2] ** 4 * np.sin(X[..., 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> dict:
    """Analytic first-order and total indices of :func:`ishigami` (factors uniform on [-pi, pi])."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": np.array([v1, v2, 0.0]) / v, "ST": np.array([v1 + v13, v2, v13]) / v, "variance": v}


#: Coefficients of the G-function used here: two important, two moderate and four nearly inert factors.
G_FUNCTION_A = (0.0, 0.5, 3.0, 9.0, 99.0, 99.0, 99.0, 99.0)


def g_function_problem(a=G_FUNCTION_A) -> dict:
    """Problem of the Sobol' G-function: one factor per coefficient, uniform on [0, 1]."""
    d = len(a)
    return {"num_vars": d, "names": [f"x{j + 1}" for j in range(d)], "bounds": [[0.0, 1.0]] * d}


def g_function(X, a=G_FUNCTION_A) -> np.ndarray:
    """Sobol' G-function ``prod_j (|4 x_j - 2| + a_j) / (1 + a_j)`` on [0, 1]^D, row-wise.

    References
    ----------
    Saltelli, A. and Sobol', I. M. (1995). About the use of rank transformation in sensitivity
    analysis of model output. Reliability Engineering & System Safety 50(3), 225-239.
    https://doi.org/10.1016/0951-8320(95)00099-2
    """
    X = np.asarray(X, dtype=float)
    a = np.asarray(a, dtype=float)
    return np.prod((np.abs(4.0 * X - 2.0) + a) / (1.0 + a), axis=-1)


def g_function_indices(a=G_FUNCTION_A) -> dict:
    """Analytic indices of :func:`g_function`.

    With V_j = 1 / (3 (1 + a_j)^2): V = prod_j (1 + V_j) - 1, S_j = V_j / V and
    ST_j = V_j prod_{i != j} (1 + V_i) / V (Saltelli & Sobol' 1995).
    """
    a = np.asarray(a, dtype=float)
    vj = 1.0 / (3.0 * (1.0 + a) ** 2)
    v = np.prod(1.0 + vj) - 1.0
    st = vj * np.prod(1.0 + vj) / (1.0 + vj) / v
    return {"S1": vj / v, "ST": st, "variance": v}
