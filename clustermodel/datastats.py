"""The data before the index: availability per unit and per indicator, and a statistics table per indicator.

An auditor looks at the data before the scores (OECD/JRC Handbook 2008, steps 3-4; COINr's ``get_data_avail`` and
``get_stats``). Numbers and codes only; :mod:`clustermodel.reporting.audit` narrates them.

- :func:`data_availability`: for every unit (before the availability screen) the share of indicators observed,
  overall and within every aggregate, and whether ``spec.min_coverage`` screens it out; for every indicator the
  share of units observing it.
- :func:`indicator_statistics`: per indicator, at one stage of the construction (``'raw'``: after denomination,
  before imputation and treatment, in the indicator's own units; ``'normalised'``: the values that enter the
  aggregation), n, share missing, min, max, mean, median, sd, bias-adjusted skewness and excess kurtosis (the
  estimators of :func:`clustermodel.treat.skew_kurtosis`, as the treatment rule uses them), share of zeros,
  number and share of distinct values, the number of Tukey outliers (beyond 1.5 interquartile ranges of the
  quartiles), and :data:`STAT_FLAGS`.

References
----------
OECD/JRC (2008). *Handbook on Constructing Composite Indicators*. https://doi.org/10.1787/9789264043466-en

Tukey, J. W. (1977). *Exploratory Data Analysis*. Addison-Wesley (the 1.5 IQR fences).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from clustermodel._display import ResultDisplay, fmt
from clustermodel._errors import ClusterModelError
from clustermodel._validation import check_number
from clustermodel.index import _py, construct, resolve
from clustermodel.treat import skew_kurtosis

if TYPE_CHECKING:
    import pandas as pd

    from clustermodel._typing import DataLike
    from clustermodel.spec import IndexSpec

__all__ = ["STAT_FLAGS", "STAGES", "AvailabilityResult", "IndicatorStats", "data_availability", "indicator_statistics"]

#: Stages at which :func:`indicator_statistics` reads the indicators.
STAGES = {
    "raw": "after denomination, before imputation and treatment (the indicator's own units)",
    "normalised": "the normalised values that enter the aggregation (after imputation and treatment)",
}

#: Codes of the per-indicator flags and the default threshold of each.
STAT_FLAGS = {
    "skew_kurtosis": "|skewness| above `skew` and excess kurtosis above `kurtosis` (the JRC's outlier rule)",
    "low_availability": "share of units observed below `availability`",
    "many_zeros": "share of zeros (among observed values) above `zeros`",
    "few_unique": "share of distinct values (among observed values) below `unique`",
    "low_variance": "coefficient of variation |sd / mean| below `cv` (or sd = 0)",
}

DEFAULT_THRESHOLDS = {"skew": 2.0, "kurtosis": 3.5, "availability": 0.65, "zeros": 0.5, "unique": 0.5, "cv": 0.01}


@dataclass(frozen=True, repr=False)
class AvailabilityResult(ResultDisplay):
    """Which cells are observed, before imputation and before the availability screen.

    Attributes
    ----------
    unit_dim : str
    units : tuple
        Every unit of the table (the screen not yet applied).
    indicators : tuple of str
    observed : ndarray of bool (n_units, n_indicators)
    aggregates : tuple of str
        Every aggregate, in structure order.
    by_aggregate : ndarray (n_units, n_aggregates)
        Share of the aggregate's indicators (its leaves) each unit observes.
    min_coverage : float
        The spec's screen; ``screened`` marks the units it excludes.
    screened : ndarray of bool (n_units,)
    """

    unit_dim: str
    units: tuple
    indicators: tuple
    observed: np.ndarray
    aggregates: tuple
    by_aggregate: np.ndarray
    min_coverage: float
    screened: np.ndarray

    @property
    def unit_share(self) -> np.ndarray:
        """Share of indicators observed, per unit."""
        return self.observed.mean(axis=1)

    @property
    def indicator_share(self) -> np.ndarray:
        """Share of units observed, per indicator."""
        return self.observed.mean(axis=0)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per unit: indicators observed, their share, the share within every aggregate, screened."""
        import pandas as pd

        df = pd.DataFrame(self.by_aggregate, index=pd.Index(self.units, name=self.unit_dim), columns=[f"share[{a}]" for a in self.aggregates])
        df.insert(0, "n_observed", self.observed.sum(axis=1))
        df.insert(1, "share", self.unit_share)
        df["screened"] = self.screened
        return df

    def indicator_frame(self) -> pd.DataFrame:
        """One row per indicator: units observed and their share."""
        import pandas as pd

        return pd.DataFrame(
            {"n_observed": self.observed.sum(axis=0), "share": self.indicator_share},
            index=pd.Index(self.indicators, name="indicator"),
        )

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset(
            {
                "observed": ((self.unit_dim, "indicator"), self.observed),
                "share_by_aggregate": ((self.unit_dim, "aggregate"), self.by_aggregate),
                "screened": ((self.unit_dim,), self.screened),
            },
            coords={self.unit_dim: list(self.units), "indicator": list(self.indicators), "aggregate": list(self.aggregates)},
            attrs={"min_coverage": self.min_coverage},
        )

    def to_dict(self) -> dict:
        return {
            "min_coverage": self.min_coverage,
            "n_units": len(self.units),
            "n_cells": int(self.observed.size),
            "share_observed": float(self.observed.mean()),
            "units": [
                {"id": _py(u), "share": float(s), "screened": bool(x)}
                for u, s, x in zip(self.units, self.unit_share, self.screened)
            ],
            "indicators": {v: float(s) for v, s in zip(self.indicators, self.indicator_share)},
        }

    def _display_(self):
        return (
            f"data availability of {len(self.units)} units x {len(self.indicators)} indicators",
            [("cells observed", fmt(float(self.observed.mean()))), ("screened out", int(self.screened.sum()))],
        )


@dataclass(frozen=True, repr=False)
class IndicatorStats(ResultDisplay):
    """Statistics of every indicator at one stage.

    Attributes
    ----------
    stage : str
        A key of :data:`STAGES`.
    records : tuple of dict
        One per indicator, in structure order: ``indicator``, ``n``, ``missing_share``, ``min``, ``max``, ``mean``,
        ``median``, ``sd``, ``skew``, ``kurtosis``, ``zeros_share``, ``n_unique``, ``unique_share``,
        ``n_outliers`` and ``flags`` (a list of :data:`STAT_FLAGS` codes).
    thresholds : dict
    """

    stage: str
    records: tuple
    thresholds: dict

    def flagged(self, flag: str) -> tuple:
        if flag not in STAT_FLAGS:
            raise ClusterModelError(f"`flag` must be one of {', '.join(map(repr, STAT_FLAGS))}; got {flag!r}")
        return tuple(r["indicator"] for r in self.records if flag in r["flags"])

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        rows = [{**r, "flags": " ".join(r["flags"])} for r in self.records]
        return pd.DataFrame(rows).set_index("indicator")

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset.from_dataframe(self.to_dataframe())

    def to_dict(self) -> dict:
        return {"stage": self.stage, "thresholds": dict(self.thresholds), "indicators": [dict(r) for r in self.records]}

    def _display_(self):
        n_flag = sum(1 for r in self.records if r["flags"])
        return f"statistics of {len(self.records)} indicators ({self.stage})", [("flagged", n_flag)]



def data_availability(data: DataLike, spec: IndexSpec | None = None) -> AvailabilityResult:
    """Observed cells of every unit and indicator, before imputation and before the screen.

    A cell is observed when the indicator's value is finite and, for a denominated indicator, its denominator is
    too (the cell that enters the construction). ``by_aggregate`` is the share of each aggregate's leaves a unit
    observes (COINr's ``get_data_avail``, by level).

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
        Default the study's; only its ``min_coverage`` is used.

    Returns
    -------
    AvailabilityResult
    """
    _, _, structure, spec, _ = resolve(data, None, spec, None)
    c = construct(data, spec.replace(min_coverage=0.0), warn=False)  # raw cells are those before imputation
    observed = np.isfinite(c.raw)
    leaves = list(structure.leaves)
    aggs = tuple(structure.aggregates)
    by = np.empty((observed.shape[0], len(aggs)))
    for k, a in enumerate(aggs):
        cols = [leaves.index(v) for v in _leaves_under(structure, a)]
        by[:, k] = observed[:, cols].mean(axis=1)
    share = observed.mean(axis=1)
    return AvailabilityResult(
        unit_dim=c.unit_dim,
        units=tuple(_py(u) for u in c.units),
        indicators=tuple(leaves),
        observed=observed,
        aggregates=aggs,
        by_aggregate=by,
        min_coverage=float(spec.min_coverage),
        screened=share < spec.min_coverage - 1e-12,
    )


def _leaves_under(structure, node):
    kids = structure.children(node)
    if not kids:
        return [node]
    out = []
    for k in kids:
        out += _leaves_under(structure, k)
    return out


def _stats_of(x: np.ndarray) -> dict:
    """Statistics of one indicator's values (NaN = missing)."""
    n_all = x.size
    v = x[np.isfinite(x)]
    n = v.size
    nan = float("nan")
    if n == 0:
        return dict(n=0, missing_share=1.0, min=nan, max=nan, mean=nan, median=nan, sd=nan, skew=nan, kurtosis=nan,
                    zeros_share=nan, n_unique=0, unique_share=nan, n_outliers=0)
    q1, q3 = np.percentile(v, [25, 75])
    iqr = q3 - q1
    g1, g2 = skew_kurtosis(v[:, None])
    return dict(
        n=int(n),
        missing_share=float(1 - n / n_all),
        min=float(v.min()),
        max=float(v.max()),
        mean=float(v.mean()),
        median=float(np.median(v)),
        sd=float(v.std(ddof=1)) if n > 1 else nan,
        skew=float(g1[0]),
        kurtosis=float(g2[0]),
        zeros_share=float(np.mean(v == 0)),
        n_unique=int(np.unique(v).size),
        unique_share=float(np.unique(v).size / n),
        n_outliers=int(np.sum((v < q1 - 1.5 * iqr) | (v > q3 + 1.5 * iqr))),
    )


def _flags(s: dict, t: dict) -> list:
    out = []
    if np.isfinite(s["skew"]) and abs(s["skew"]) > t["skew"] and s["kurtosis"] > t["kurtosis"]:
        out.append("skew_kurtosis")
    if 1 - s["missing_share"] < t["availability"]:
        out.append("low_availability")
    if np.isfinite(s["zeros_share"]) and s["zeros_share"] > t["zeros"]:
        out.append("many_zeros")
    if np.isfinite(s["unique_share"]) and s["unique_share"] < t["unique"]:
        out.append("few_unique")
    sd, mean = s["sd"], s["mean"]
    if s["n"] > 1 and (sd == 0 or (mean != 0 and abs(sd / mean) < t["cv"])):
        out.append("low_variance")
    return out


def indicator_statistics(data: DataLike, spec: IndexSpec | None = None, *, stage: str = "raw", **thresholds: float) -> IndicatorStats:
    """A statistics table of every indicator (COINr ``get_stats``), with flags.

    Parameters
    ----------
    data : Study, Dataset or DataArray
    spec : IndexSpec, optional
        Default the study's. Units screened out by ``min_coverage`` are left out.
    stage : {'raw', 'normalised'}
        See :data:`STAGES`. Raw values are the denominated indicator before imputation and treatment; normalised
        values have missing cells as missing (not as the 0 they score).
    skew, kurtosis, availability, zeros, unique, cv : float, optional
        Thresholds of :data:`STAT_FLAGS` (defaults :data:`DEFAULT_THRESHOLDS`: 2, 3.5, 0.65, 0.5, 0.5, 0.01).

    Returns
    -------
    IndicatorStats
    """
    if stage not in STAGES:
        raise ClusterModelError(f"`stage` must be one of {', '.join(map(repr, STAGES))}; got {stage!r}")
    bad = [k for k in thresholds if k not in DEFAULT_THRESHOLDS]
    if bad:
        raise ClusterModelError(f"unknown threshold {', '.join(map(repr, bad))}; valid: {', '.join(DEFAULT_THRESHOLDS)}")
    t = dict(DEFAULT_THRESHOLDS)
    for k, v in thresholds.items():
        t[k] = check_number(v, f"`{k}`", minimum=0.0)
    c = construct(data, spec, warn=False)
    X = c.raw if stage == "raw" else np.where(c.present, c.normalised, np.nan)
    X = np.where(np.isfinite(X), X, np.nan)
    recs = []
    for j, v in enumerate(c.structure.leaves):
        s = _stats_of(X[:, j])
        recs.append({"indicator": v, **s, "flags": _flags(s, t)})
    return IndicatorStats(stage=stage, records=tuple(recs), thresholds=t)
