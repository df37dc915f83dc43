"""Tables and group tests: the scenario table with its exact test, and the industry (group) tests with effect
sizes."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.optimize
import scipy.stats

from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_choice, check_positive_int, check_probability
from clustermodel.diagnostics import eta_squared_null_mean, omega_squared
from clustermodel.relationship._checks import _as_1d, _check_varies
from clustermodel.relationship.correlation import _batch_size
from clustermodel.relationship.resampling import _permutation
from clustermodel.relationship.results import ScenarioTable, TestResult, _descriptor
from clustermodel._io import finite_or_none

# --------------------------------------------------------------------------- tables and groups
def scenario_table(cluster_high, region_high, *, unit: str = "cluster", confidence_level: float = 0.95) -> ScenarioTable:
    """2 x 2 table of high/low unit x high/low higher-level unit and Fisher's exact test.

    Parameters
    ----------
    cluster_high, region_high : array_like of bool (n,)
        Per row, whether the unit side and the higher-level side are 'high'.
    unit : {'cluster', 'region'}
        What one row of the inputs is (for the record only).
    confidence_level : float

    Returns
    -------
    ScenarioTable

    References
    ----------
    Fisher, R. A. (1922). On the interpretation of chi-square from contingency
    tables, and the calculation of P. JRSS 85(1), 87-94. https://doi.org/10.2307/2340521
    """
    check_choice(unit, "unit", ("cluster", "region"))
    confidence_level = check_probability(confidence_level, "confidence_level")
    ch = np.asarray(cluster_high, dtype=bool)
    rh = np.asarray(region_high, dtype=bool)
    if ch.shape != rh.shape or ch.ndim != 1:
        raise ClusterModelError(f"`cluster_high` and `region_high` must be 1-D of one length, got {ch.shape} and {rh.shape}")
    table = np.array([[np.sum(ch & rh), np.sum(ch & ~rh)], [np.sum(~ch & rh), np.sum(~ch & ~rh)]], dtype=np.int64)
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        side = "cluster" if (table.sum(axis=1) == 0).any() else "region"
        raise ClusterModelError(
            f"every {unit} is on the same side of the {side} threshold ({table.tolist()}); the 2x2 table has an "
            "empty margin and Fisher's test is undefined; change the thresholds"
        )
    res = scipy.stats.fisher_exact(table, alternative="two-sided")
    note = None
    if (table == 0).any():
        a, b, c, d = (table + 0.5).ravel()
        odds = (a * d) / (b * c)
        note = "a zero cell: the odds ratio is the Haldane-Anscombe estimate (0.5 added to every cell)"
    else:
        odds = float(res.statistic)
    ci = scipy.stats.contingency.odds_ratio(table, kind="conditional").confidence_interval(confidence_level)
    low, high = finite_or_none(ci.low), finite_or_none(ci.high)
    if high is None or low is None or low == 0:
        note = (note + "; " if note else "") + "the exact interval is unbounded on one side"
        low = None if low == 0 else low
    return ScenarioTable(
        table=table,
        odds_ratio=float(odds),
        ci_low=low,
        ci_high=high,
        pvalue=float(res.pvalue),
        n=int(ch.size),
        unit=unit,
        confidence_level=confidence_level,
        note=note,
    )


def _eta2_interval(f_stat, df1, df2, n, confidence_level):
    """eta^2 = SS_between / SS_total with the noncentral-F interval (statsmodels), clipped to [0, 1]."""
    from statsmodels.stats.oneway import confint_effectsize_oneway

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(divide="ignore", invalid="ignore"):
            ci = confint_effectsize_oneway(f_stat, (df1, df2), alpha=1 - confidence_level, nobs=n).eta2
    return float(np.clip(ci[0], 0, 1)), float(np.clip(ci[1], 0, 1))


def industry_tests(cluster_index, groups, *, reference: str | None = None, n_resamples: int = 9999, confidence_level: float = 0.95, rng=None) -> list[TestResult]:
    """Kruskal–Wallis and one-way ANOVA of the unit index by group, with effect sizes.

    The p-values are permutation p-values (unit indices permuted among
    groups, ``permutation_type='independent'``, upper tail), valid for
    groups of a few units; the asymptotic p-values (chi-square for
    Kruskal–Wallis, F for ANOVA) are ``pvalue_parametric``. Effect sizes:
    ``eta2`` (SS_between / SS_total) for ANOVA with the noncentral-F interval
    (Steiger 2004, statsmodels ``confint_effectsize_oneway``), and
    ``eta2_H = (H - k + 1) / (n - k)`` for Kruskal–Wallis (point estimate,
    unclipped: it is negative when H falls below its null expectation k - 1).
    Because eta² is biased upwards (its mean under no effect is
    ``(k - 1)/(n - 1)``, kept as ``effect_null``), the ANOVA row also carries
    omega² (``effect_adjusted``), which is close to unbiased.

    Parameters
    ----------
    cluster_index : array_like (n,)
    groups : array_like (n,)
        Group of every unit; at least two groups, one of them with two or more units.
    reference : str, optional
        The normalisation reference set the index was computed with (appended
        to the test name, e.g. ``'kruskal:reference=group'``).
    n_resamples : int
    confidence_level : float
        Of the eta^2 interval.
    rng : numpy Generator, int or None

    Returns
    -------
    list of TestResult (Kruskal–Wallis, ANOVA), unit ``'cluster'``

    Notes
    -----
    Under within-group normalisation (``reference='group'``) every group holds
    the maximum of every indicator, so differences in *level* between groups
    are attenuated by construction (each group's leaders are pulled to the same
    maximum; levels below them can still differ); ``reference='sample'`` keeps them.

    References
    ----------
    Kruskal, W. H., & Wallis, W. A. (1952). Use of ranks in one-criterion
    variance analysis. JASA 47(260), 583-621. https://doi.org/10.1080/01621459.1952.10483441
    Steiger, J. H. (2004). Beyond the F test: effect size confidence intervals
    and tests of close fit in the analysis of variance and contrast analysis.
    Psychological Methods 9(2), 164-182. https://doi.org/10.1037/1082-989X.9.2.164
    Tomczak, M., & Tomczak, E. (2014). The need to report effect size estimates
    revisited. Trends in Sport Sciences 1(21), 19-25.
    """
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=99)
    confidence_level = check_probability(confidence_level, "confidence_level")
    x = _as_1d(cluster_index, "cluster_index")
    g = np.asarray(groups, dtype=object)
    if g.shape != x.shape:
        raise ClusterModelError(f"`groups` must have one label per cluster ({x.size}), got shape {g.shape}")
    names, codes = np.unique(g.astype(str), return_inverse=True)
    sizes = np.bincount(codes)
    if names.size < 2:
        raise ClusterModelError(f"`groups` holds only {names.size} group; a test across groups needs two or more")
    if sizes.max() < 2:
        raise ClusterModelError("every group holds a single cluster; there is no within-group variation to test against")
    _check_varies(x, "cluster_index", "cluster")
    samples = [x[codes == k] for k in range(names.size)]
    rngs = as_rng(rng).spawn(2)
    suffix = "" if reference is None else f":reference={reference}"
    k, n = names.size, x.size
    kw = scipy.stats.kruskal(*samples)
    an = scipy.stats.f_oneway(*samples)
    eta2 = float(an.statistic * (k - 1) / (an.statistic * (k - 1) + (n - k)))
    e_lo, e_hi = _eta2_interval(float(an.statistic), k - 1, n - k, n, confidence_level)
    eta2_h = float((kw.statistic - k + 1) / (n - k))  # unclipped: negative when H < k - 1
    omega2 = omega_squared(float(an.statistic), k - 1, n - k)
    eta2_null = eta_squared_null_mean(k, n)
    batch = _batch_size(n)
    out = []
    for j, (name, func, asym, effect) in enumerate(
        [
            ("kruskal", lambda *s, axis: scipy.stats.kruskal(*s, axis=axis).statistic, kw, ("eta2_H", eta2_h, None, None, None, None, None)),
            ("anova", lambda *s, axis: scipy.stats.f_oneway(*s, axis=axis).statistic, an, ("eta2", eta2, e_lo, e_hi, "omega2", omega2, eta2_null)),
        ]
    ):
        _, p, exact, _ = _permutation(samples, func, n_resamples=n_resamples, rng=rngs[j], batch=batch, alternative="greater", permutation_type="independent")
        out.append(
            TestResult(
                test=f"{name}{suffix}",
                statistic=float(asym.statistic),
                pvalue=p,
                ci_low=None,
                ci_high=None,
                n=n,
                unit="cluster",
                method=_descriptor(
                    p=f"permutation:labels:{'exact' if exact else n_resamples}:upper",
                    parametric="chi2" if name == "kruskal" else "f",
                    groups=f"{k}:" + ",".join(str(s) for s in sizes),
                    reference=reference,
                ),
                pvalue_parametric=float(asym.pvalue),
                effect_name=effect[0],
                effect=effect[1],
                effect_low=effect[2],
                effect_high=effect[3],
                effect_adjusted_name=effect[4],
                effect_adjusted=effect[5],
                effect_null=effect[6],
            )
        )
    return out


