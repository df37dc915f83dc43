"""Planning and multiplicity: the smallest correlation detectable with a given power, and p-value adjustment."""

from __future__ import annotations


import numpy as np
import scipy.optimize
import scipy.stats

from clustermodel._errors import ClusterModelError
from clustermodel._validation import check_choice, check_positive_int, check_probability

def power_min_correlation(n, *, alpha: float = 0.05, power: float = 0.8, alternative: str = "two-sided") -> float:
    """Smallest population correlation a test of rho = 0 detects with the given power.

    Uses Fisher's z: ``atanh(r)`` is approximately normal with standard error
    ``1/sqrt(n - 3)``, so

        r_min = tanh((z_{1 - alpha/2} + z_{power}) / sqrt(n - 3))

    (``z_{1-alpha}`` for a one-sided test). A planning number: conclusions are
    read off the confidence interval and the equivalence test.

    Parameters
    ----------
    n : int
        Number of independent pairs (at least 4).
    alpha, power : float
    alternative : {'two-sided', 'one-sided'}

    Returns
    -------
    float

    References
    ----------
    Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences,
    2nd ed., ch. 3. https://doi.org/10.4324/9780203771587

    Examples
    --------
    >>> round(power_min_correlation(25), 3)
    0.535
    """
    n = check_positive_int(n, "n", minimum=4)
    alpha = check_probability(alpha, "alpha")
    power = check_probability(power, "power")
    check_choice(alternative, "alternative", ("two-sided", "one-sided"))
    za = scipy.stats.norm.ppf(1 - alpha / 2 if alternative == "two-sided" else 1 - alpha)
    zb = scipy.stats.norm.ppf(power)
    return float(np.tanh((za + zb) / np.sqrt(n - 3)))


def adjust_pvalues(pvalues, *, method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values; Holm by default (computed here; other methods via statsmodels ``multipletests``).

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70. https://www.jstor.org/stable/4615733
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):
        raise ClusterModelError("`pvalues` must be a 1-D sequence of numbers in [0, 1]")
    if p.size == 0:
        return p
    if method == "holm":  # step-down: sorted p_(i) times (m - i), running maximum, capped at 1
        order = np.argsort(p, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate(p[order] * (p.size - np.arange(p.size))))
        out = np.empty_like(p)
        out[order] = adj
        return out
    from statsmodels.stats.multitest import multipletests

    return multipletests(p, method=method)[1]


