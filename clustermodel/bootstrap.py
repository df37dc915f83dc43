"""Bootstrap uncertainty of ranks and scenarios: over the expert weights and over the clusters.

Table 4's weights are the mean of five cluster managers' estimates (the note
under Table 4). Two separate questions are answered here and kept apart:

1. **Weight bootstrap** (:func:`weight_bootstrap`, dim ``draw``): had another
   panel of experts been asked, how would every cluster's index, rank and
   scenario change? The data (clusters, regions, normalisation maxima) stay
   fixed; only the panel-mean weight vector varies.

   - ``mode='nonparametric'``: a user's own expert table (experts x
     indicators, each row summing to one, read by :func:`load_experts`) is
     resampled with replacement and each panel's weights are the mean of its
     experts (Efron 1979).
   - ``mode='parametric'``: the paper publishes only the mean, so expert weight
     vectors are drawn from a Dirichlet distribution centred on the published
     means with concentration ``kappa`` and averaged ``panel_size`` (default 5)
     per panel. Nothing here invents expert rows: the draws are a stated model
     of expert disagreement, not data.

2. **Cluster (data) bootstrap** (:func:`cluster_bootstrap`, dim ``resample``):
   how much do the study-level statistics that depend on the sample (the
   cluster-region correlation, the scenario counts and shares, the mean index)
   move when the 25 clusters are resampled with replacement? Each resampled
   cluster keeps its own region; the region table is never resampled, so the
   regional index is fixed. Because the index normalises by the maximum of
   each indicator in the reference set, a resample recomputes those maxima:
   a resample without a group's leader rescales that whole group. The result
   reports how often that happens.

All intervals are percentile intervals computed with numpy's default
(``'linear'``, Hyndman and Fan type 7) quantile method.
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from clustermodel import __version__
from clustermodel._errors import ClusterModelError, ClusterModelWarning, InputError
from clustermodel._validation import as_rng, check_choice, check_positive_int, check_probability
from clustermodel.aggregate import aggregate_tree
from clustermodel.reproduce import PAPER_COUNTS
from clustermodel.scenarios import classify, evaluate, pearson, region_index
from clustermodel.spec import SCENARIOS, IndexSpec, ScenarioThresholds

__all__ = [
    "MODES",
    "DEFAULT_CONCENTRATION",
    "DEFAULT_PANEL_SIZE",
    "ROW_SUM_TOLERANCE",
    "load_experts",
    "check_experts",
    "draw_panels",
    "weight_bootstrap",
    "cluster_bootstrap",
    "percentile_interval",
    "MAXIMA",
    "WeightBootstrapResult",
    "ClusterBootstrapResult",
]

#: The two ways of drawing expert panels.
MODES = {
    "parametric": "expert weight vectors drawn from a Dirichlet centred on the published panel means",
    "nonparametric": "experts of a supplied expert table resampled with replacement",
}

#: Default Dirichlet concentration kappa (sum of the Dirichlet parameters).
#: One expert's weight for indicator j then has standard deviation
#: sqrt(a_j (1 - a_j) / (kappa + 1)), i.e. 0.089-0.101 for Table 4's means
#: (0.21-0.31): experts typically disagree by about +-0.1 on a weight of 0.2-0.3
#: (a coefficient of variation of about one third), while the chance that an
#: expert reverses the published ordering of two indicators stays well below
#: one half. It is a modelling assumption, not an estimate: the paper gives
#: no individual estimates. Vary it (``concentration=``) to see how the
#: conclusions depend on it.
DEFAULT_CONCENTRATION = 20.0

#: Panel size of the paper (the note under Table 4: five cluster managers).
DEFAULT_PANEL_SIZE = 5

#: Expert rows whose weights sum to within this distance of one are accepted
#: (renormalised, with a warning, if not within 1e-9); further away they are
#: rejected. 0.01 admits weights written with two decimals.
ROW_SUM_TOLERANCE = 0.01
_ROW_SUM_EXACT = 1e-9

_PERCENTILE_METHOD = "linear"


# --------------------------------------------------------------------------- inputs


def _known_indicators(indicators):
    if indicators is None:
        return None
    if hasattr(indicators, "indicators") and hasattr(indicators, "clusters"):  # a Study
        indicators = indicators.indicators
    if isinstance(indicators, xr.DataArray):
        return [str(v) for v in indicators["indicator"].values]
    return [str(v) for v in indicators]


def load_experts(path, indicators=None) -> xr.DataArray:
    """Read an expert table: one row per expert, one weight column per indicator.

    Parameters
    ----------
    path : path
        CSV (or Excel) with a header ``expert,<indicator>,<indicator>,...``.
        Every weight must be a non-negative number and every row must sum to
        one within :data:`ROW_SUM_TOLERANCE` (a row within the tolerance but
        not exactly one is renormalised with a warning).
    indicators : Study, DataArray or sequence of str, optional
        The indicators of the data. If given, every indicator column must be
        one of them and every one of them must have a column; the result is
        ordered like them.

    Returns
    -------
    xarray.DataArray
        Dims ``(expert, indicator)``, ``attrs['source']`` = the path.

    Raises
    ------
    InputError
        Naming the file, the line and the column: a missing ``expert``
        column, an indicator column the data lacks (with the list of known
        indicators), an indicator of the data without a column, a missing,
        non-numeric or negative weight, or a row not summing to one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "experts.csv"
    >>> _ = p.write_text("expert,a,b\\nE1,0.4,0.6\\nE2,0.5,0.5\\n")
    >>> load_experts(p).sum("indicator").values.tolist()
    [1.0, 1.0]
    """
    from clustermodel.data import _line, _numeric, _require, _unique_labels, read_table

    path = Path(path)
    df = read_table(path)
    _require(df, ["expert"], path)
    columns = [c for c in df.columns if c != "expert"]
    if not columns:
        raise InputError("no indicator column besides 'expert'; add one weight column per indicator", file=path, line=1)
    known = _known_indicators(indicators)
    if known is not None:
        for c in columns:
            if c not in known:
                raise InputError(
                    f"indicator {c!r} is not in the data; the data's indicators are {', '.join(known)}",
                    file=path,
                    line=1,
                    column=c,
                )
        lacking = [k for k in known if k not in columns]
        if lacking:
            raise InputError(
                f"no column for indicator(s) {', '.join(repr(k) for k in lacking)}; the expert table needs one "
                f"weight column per indicator of the data ({', '.join(known)}); give 0 for an indicator an expert "
                "would drop",
                file=path,
                line=1,
            )
        columns = known
    labels = _unique_labels(df, "expert", path)
    w = np.column_stack([_numeric(df, c, path) for c in columns])
    for i in range(w.shape[0]):
        for j, c in enumerate(columns):
            if np.isnan(w[i, j]):
                raise InputError("weight is missing; every expert needs a weight for every indicator (0 to drop it)", file=path, line=_line(df, i), column=c)
            if w[i, j] < 0:
                raise InputError(f"negative weight {w[i, j]!r}; weights must be >= 0", file=path, line=_line(df, i), column=c)
    totals = w.sum(axis=1)
    for i, t in enumerate(totals):
        if abs(t - 1) > ROW_SUM_TOLERANCE:
            raise InputError(
                f"expert {labels[i]!r}: the weights in columns {', '.join(columns)} sum to {t:.6g}, not 1 "
                f"(tolerance {ROW_SUM_TOLERANCE}); fix the row so that it sums to one",
                file=path,
                line=_line(df, i),
            )
    off = np.abs(totals - 1) > _ROW_SUM_EXACT
    if off.any():
        i = int(np.argmax(off))
        warnings.warn(
            f"{path}: line {_line(df, i)}: {int(off.sum())} expert row(s) sum to within {ROW_SUM_TOLERANCE} of one "
            f"but not exactly (first: {totals[i]:.6g}); renormalised to sum to one",
            ClusterModelWarning,
            stacklevel=2,
        )
        w = w / totals[:, None]
    return xr.DataArray(
        w,
        dims=["expert", "indicator"],
        coords={"expert": np.array(labels, dtype=object).astype(str), "indicator": list(columns)},
        name="expert_weights",
        attrs={"source": str(path)},
    )


def check_experts(experts, indicators=None) -> xr.DataArray:
    """Validate an in-memory expert table (dims ``expert``, ``indicator``).

    The same rules as :func:`load_experts` (non-negative, finite, every row
    summing to one within :data:`ROW_SUM_TOLERANCE`, indicators matching the
    data's); the messages name the expert and the indicator.
    """
    if isinstance(experts, (str, Path)):
        return load_experts(experts, indicators)
    if not isinstance(experts, xr.DataArray) or set(experts.dims) != {"expert", "indicator"}:
        raise ClusterModelError(
            "`experts` must be a path to an expert table or a DataArray with dims ('expert', 'indicator'); "
            f"got {type(experts).__name__}"
            + (f" with dims {experts.dims}" if isinstance(experts, xr.DataArray) else "")
        )
    experts = experts.transpose("expert", "indicator")
    if experts.sizes["expert"] == 0:
        raise ClusterModelError("`experts` has no expert row; supply at least one")
    cols = [str(v) for v in experts["indicator"].values] if "indicator" in experts.coords else None
    if cols is None:
        raise ClusterModelError("`experts` needs an 'indicator' coordinate naming the indicators")
    known = _known_indicators(indicators)
    if known is not None:
        unknown = [c for c in cols if c not in known]
        if unknown:
            raise ClusterModelError(
                f"`experts` names indicator(s) the data lacks: {', '.join(unknown)}; the data's indicators are "
                f"{', '.join(known)}"
            )
        lacking = [k for k in known if k not in cols]
        if lacking:
            raise ClusterModelError(
                f"`experts` has no weight for indicator(s) {', '.join(lacking)}; give every expert a weight for "
                f"every indicator of the data ({', '.join(known)}), 0 to drop one"
            )
        experts = experts.sel(indicator=known)
        cols = known
    w = np.asarray(experts.values, dtype=float)
    names = [str(v) for v in experts["expert"].values] if "expert" in experts.coords else [str(i) for i in range(w.shape[0])]
    bad = np.argwhere(~np.isfinite(w))
    if bad.size:
        i, j = bad[0]
        raise ClusterModelError(f"`experts`: expert {names[i]!r}, indicator {cols[j]!r}: weight is missing or not finite")
    bad = np.argwhere(w < 0)
    if bad.size:
        i, j = bad[0]
        raise ClusterModelError(
            f"`experts`: expert {names[i]!r}, indicator {cols[j]!r}: negative weight {w[i, j]!r}; weights must be >= 0"
        )
    totals = w.sum(axis=1)
    far = np.abs(totals - 1) > ROW_SUM_TOLERANCE
    if far.any():
        i = int(np.argmax(far))
        raise ClusterModelError(
            f"`experts`: the weights of expert {names[i]!r} sum to {totals[i]:.6g}, not 1 (tolerance "
            f"{ROW_SUM_TOLERANCE}); every expert row must sum to one"
        )
    if np.any(np.abs(totals - 1) > _ROW_SUM_EXACT):
        warnings.warn("`experts`: rows summing to nearly one were renormalised", ClusterModelWarning, stacklevel=2)
        w = w / totals[:, None]
    return experts.copy(data=w)


def _check_concentration(concentration) -> float:
    if isinstance(concentration, (bool, np.bool_)) or not isinstance(concentration, numbers.Real):
        raise ClusterModelError(f"`concentration` must be a positive number, got {concentration!r}")
    k = float(concentration)
    if not math.isfinite(k) or k <= 0:
        raise ClusterModelError(
            f"`concentration` must be a positive finite number (the Dirichlet's kappa, e.g. {DEFAULT_CONCENTRATION:g}), "
            f"got {concentration!r}"
        )
    return k


def _centre(weights) -> np.ndarray:
    a = np.asarray(weights, dtype=float)
    if a.ndim != 1 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ClusterModelError(
            "the parametric bootstrap needs a single vector of strictly positive weights to centre the Dirichlet "
            f"on; got {a!r}. A zero weight drops its indicator: remove that indicator from the data instead"
        )
    return a / a.sum()


# --------------------------------------------------------------------------- panels


_NEEDS_EXPERTS = (
    "mode='nonparametric' needs `experts` (an expert table: expert,<indicator columns>); the paper publishes "
    "only the panel mean, so use mode='parametric' for the paper's data"
)


def _warn_small_parameter(kappa, alpha):
    if kappa * alpha.min() < 1:
        warnings.warn(
            f"`concentration`={kappa:g} gives a Dirichlet parameter {kappa * alpha.min():.3g} < 1: single experts "
            "would often put almost no weight on an indicator (a U-shaped marginal); is such disagreement intended?",
            ClusterModelWarning,
            stacklevel=3,
        )


def _dirichlet_panels(gen, alpha, kappa, size, n):
    """Panel means of ``size`` Dirichlet(kappa*alpha) experts, (n, m), rows summing to one."""
    panel = gen.dirichlet(kappa * alpha, size=(n, size)).mean(axis=1)
    return panel / panel.sum(axis=-1, keepdims=True)


def _resampled_panels(gen, table, size, n):
    """Panel means of ``size`` experts drawn with replacement from ``table`` (N, m)."""
    idx = gen.integers(0, table.shape[0], size=(n, size))
    panel = table[idx].mean(axis=1)
    return panel / panel.sum(axis=-1, keepdims=True)


def draw_panels(
    weights=None,
    *,
    mode: str = "parametric",
    experts=None,
    panel_size: int | None = None,
    concentration: float = DEFAULT_CONCENTRATION,
    n_resamples: int = 10_000,
    rng=None,
) -> xr.DataArray:
    """Draw ``n_resamples`` expert panels and return each panel's mean weight vector.

    Parameters
    ----------
    weights : DataArray (indicator,), optional
        The published panel means (Table 4) on which the parametric Dirichlet
        is centred. Required for ``mode='parametric'``.
    mode : {'parametric', 'nonparametric'}
        ``'parametric'``: every expert's weight vector is a draw from
        ``Dirichlet(concentration * weights / sum(weights))``.
        ``'nonparametric'``: experts are drawn with replacement from
        ``experts``.
    experts : DataArray (expert, indicator) or path, optional
        The expert table (required for ``mode='nonparametric'``).
    panel_size : int, optional
        Experts per panel. Default: 5 (the paper's panel) for the parametric
        mode, the number of experts in the table for the nonparametric one
        (the ordinary bootstrap resample size).
    concentration : float
        Dirichlet concentration kappa (parametric mode only); default
        :data:`DEFAULT_CONCENTRATION`.
    n_resamples : int
        Number of panels.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    xarray.DataArray
        Dims ``(draw, indicator)``; every row sums to one. ``attrs`` record the
        mode, panel size and concentration.

    Notes
    -----
    If one expert's vector is Dirichlet(kappa * a) with sum(a) = 1, its weight
    j has mean a_j and variance a_j (1 - a_j) / (kappa + 1); the mean of a
    panel of k independent experts has mean a_j and variance
    a_j (1 - a_j) / ((kappa + 1) k). (The panel mean is not itself Dirichlet.)
    All panels are drawn in one vectorised call.

    References
    ----------
    .. [1] Kotz, S., Balakrishnan, N. and Johnson, N. L. (2000). Continuous
       Multivariate Distributions, Vol. 1, ch. 49 (Dirichlet).
       https://doi.org/10.1002/0471722065
    .. [2] Efron, B. (1979). Bootstrap methods: another look at the jackknife.
       Annals of Statistics 7(1), 1-26. https://doi.org/10.1214/aos/1176344552

    Examples
    --------
    >>> import xarray as xr
    >>> w = xr.DataArray([0.5, 0.5], dims="indicator", coords={"indicator": ["a", "b"]})
    >>> draw_panels(w, n_resamples=3, rng=1).sizes["draw"]
    3
    """
    mode = check_choice(mode, "mode", list(MODES))
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    gen = as_rng(rng)
    if mode == "parametric":
        if experts is not None:
            raise ClusterModelError(
                "`experts` was given but `mode` is 'parametric'; use mode='nonparametric' to resample your experts"
            )
        if weights is None:
            raise ClusterModelError("`weights` (the published panel means) are needed for mode='parametric'")
        k = _check_concentration(concentration)
        w = weights if isinstance(weights, xr.DataArray) else xr.DataArray(np.asarray(weights, float), dims=["indicator"])
        if w.dims != ("indicator",):
            raise ClusterModelError(f"`weights` must be one vector with dim 'indicator', got dims {w.dims}")
        alpha = _centre(w.values)
        size = DEFAULT_PANEL_SIZE if panel_size is None else check_positive_int(panel_size, "panel_size")
        _warn_small_parameter(k, alpha)
        panel = _dirichlet_panels(gen, alpha, k, size, n_resamples)
        coords = {"indicator": w["indicator"].values} if "indicator" in w.coords else {}
        attrs = {"mode": mode, "panel_size": size, "concentration": k}
    else:
        if experts is None:
            raise ClusterModelError(_NEEDS_EXPERTS)
        e = check_experts(experts, None if weights is None else _known_indicators(weights))
        size = e.sizes["expert"] if panel_size is None else check_positive_int(panel_size, "panel_size")
        panel = _resampled_panels(gen, e.values, size, n_resamples)
        coords = {"indicator": e["indicator"].values}
        attrs = {"mode": mode, "panel_size": size, "n_experts": e.sizes["expert"], "experts_source": e.attrs.get("source", "in memory")}
    return xr.DataArray(panel, dims=["draw", "indicator"], coords=coords, name="panel_weights", attrs=attrs)


# --------------------------------------------------------------------------- summaries


def percentile_interval(sample, confidence_level: float = 0.90, *, axis: int = 0):
    """Equal-tailed percentile interval and median along ``axis``.

    Uses :func:`numpy.percentile` with its default ``'linear'`` method (type 7
    of Hyndman and Fan 1996), NaN-aware. For ``confidence_level=0.90`` the
    interval runs from the 5th to the 95th percentile.

    Returns
    -------
    median, low, high : ndarray

    References
    ----------
    .. [1] Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical
       packages. The American Statistician 50(4), 361-365.
       https://doi.org/10.1080/00031305.1996.10473566

    Examples
    --------
    >>> [float(v) for v in percentile_interval([1.0, 2.0, 3.0, 4.0, 5.0])]
    [3.0, 1.2, 4.8]
    """
    cl = check_probability(confidence_level, "confidence_level")
    tail = round(50.0 * (1.0 - cl), 10)  # 5.0, not 4.999999999999999, for cl = 0.9
    q = [50.0, tail, 100.0 - tail]
    x = np.asarray(sample, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN slice gives NaN, which is what we want
        med, lo, hi = np.nanpercentile(x, q, axis=axis, method=_PERCENTILE_METHOD)
    return med, lo, hi


def _count_distribution(counts: np.ndarray) -> dict:
    """{scenario: {count: probability}} over draws, counts (draw, scenario)."""
    out = {}
    for k, s in enumerate(SCENARIOS):
        values, freq = np.unique(counts[:, k], return_counts=True)
        out[s] = {int(v): float(f / counts.shape[0]) for v, f in zip(values, freq)}
    return out


def _joint_counts(counts: np.ndarray, top: int = 5) -> list:
    rows, freq = np.unique(counts, axis=0, return_counts=True)
    order = np.lexsort((np.arange(len(freq)), -freq))[:top]
    return [
        {"counts": {s: int(v) for s, v in zip(SCENARIOS, rows[i])}, "probability": float(freq[i] / counts.shape[0])}
        for i in order
    ]


def _counts_summary(counts: np.ndarray, cl: float, nominal: np.ndarray) -> dict:
    med, lo, hi = percentile_interval(counts, cl, axis=0)
    target = np.array([PAPER_COUNTS[s] for s in SCENARIOS])
    return {
        "nominal": {s: int(v) for s, v in zip(SCENARIOS, nominal)},
        "median": {s: float(v) for s, v in zip(SCENARIOS, med)},
        "low": {s: float(v) for s, v in zip(SCENARIOS, lo)},
        "high": {s: float(v) for s, v in zip(SCENARIOS, hi)},
        "mean_share": {s: float(v) for s, v in zip(SCENARIOS, counts.mean(axis=0) / counts.sum(axis=1).mean())},
        "distribution": _count_distribution(counts),
        "most_common": _joint_counts(counts),
        "paper_counts": dict(PAPER_COUNTS),
        "p_paper_counts": float(np.all(counts == target, axis=1).mean()),
    }


def _stat(values: np.ndarray, cl: float, nominal: float) -> dict:
    med, lo, hi = percentile_interval(values, cl)
    finite = np.isfinite(values)
    return {
        "nominal": _num(nominal),
        "median": _num(med),
        "low": _num(lo),
        "high": _num(hi),
        "mean": _num(values[finite].mean()) if finite.any() else None,
        "sd": _num(values[finite].std(ddof=1)) if finite.sum() > 1 else None,
        "bias": _num(values[finite].mean() - nominal) if finite.any() and math.isfinite(nominal) else None,
        "nominal_in_interval": bool(lo <= nominal <= hi) if math.isfinite(lo) and math.isfinite(nominal) else None,
        "n_undefined": int((~finite).sum()),
    }


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _fmt(x, digits=3):
    return "–" if x is None else f"{x:.{digits}f}"


def _attr_value(v):
    if v is None:
        return "none"
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    return v


def _seed_of(rng):
    return int(rng) if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) else None


# --------------------------------------------------------------------------- weight bootstrap


@dataclass(frozen=True)
class WeightBootstrapResult:
    """Distribution of every cluster's index, rank and scenario over expert panels.

    Attributes
    ----------
    weights : DataArray (draw, indicator)
        The panel-mean weight vector of every draw.
    cluster_index, cluster_rank : DataArray (draw, cluster)
        Index and rank (1 = highest) of every cluster under every panel.
    scenario : DataArray (draw, cluster)
        Scenario codes (indices into ``SCENARIOS``).
    scenario_counts : DataArray (draw, scenario)
    correlation : DataArray (draw,)
        Pearson r between the cluster index and its region's index.
    nominal : clustermodel.scenarios.Evaluation
        The model at the centre weights (Table 4 for the parametric mode, the
        mean of the expert table for the nonparametric one).
    spec, thresholds : the choices used
    mode : {'parametric', 'nonparametric'}
    mode_description : str
        In words, e.g. ``'parametric: Dirichlet centred on Table 4 means,
        kappa=20, panels of 5'``.
    panel_size : int
    concentration : float or None
        kappa (parametric mode only).
    n_experts : int or None
        Size of the expert table (nonparametric mode only).
    confidence_level : float
        Of the equal-tailed percentile intervals (0.90 = 5th to 95th percentile).
    seed : int, str or None
        The integer seed, if ``rng`` was one (a caller that spawned the
        generator from a seed may record a description such as
        ``'42 (spawned stream 0)'``).
    zero_spread : bool
        True when no cluster's index varies at all over the draws.
    notes : list of str
    """

    weights: xr.DataArray
    cluster_index: xr.DataArray
    cluster_rank: xr.DataArray
    scenario: xr.DataArray
    scenario_counts: xr.DataArray
    correlation: xr.DataArray
    nominal: object
    spec: IndexSpec
    thresholds: ScenarioThresholds
    mode: str
    mode_description: str
    panel_size: int
    concentration: float | None
    n_experts: int | None
    confidence_level: float
    seed: int | str | None
    zero_spread: bool
    notes: list = field(default_factory=list)

    @property
    def n_resamples(self) -> int:
        return int(self.weights.sizes["draw"])

    @property
    def index_spread(self) -> xr.DataArray:
        """max - min of every cluster's index over the draws."""
        return self.cluster_index.max("draw") - self.cluster_index.min("draw")

    def scenario_probabilities(self) -> xr.DataArray:
        """P(scenario) per cluster, dims (cluster, scenario); rows sum to one."""
        codes = self.scenario.transpose("draw", "cluster").values
        p = np.stack([(codes == k).mean(axis=0) for k in range(len(SCENARIOS))], axis=-1)
        return xr.DataArray(
            p,
            dims=["cluster", "scenario"],
            coords={**{k: v for k, v in self.cluster_index.coords.items() if v.dims == ("cluster",)}, "scenario": list(SCENARIOS)},
            name="scenario_probability",
        )

    def cluster_table(self) -> xr.Dataset:
        """Per-cluster summary: nominal, median and interval of index and rank, scenario probabilities."""
        cl = self.confidence_level
        imed, ilo, ihi = percentile_interval(self.cluster_index.transpose("draw", "cluster").values, cl)
        rmed, rlo, rhi = percentile_interval(self.cluster_rank.transpose("draw", "cluster").values, cl)
        coords = {k: v for k, v in self.cluster_index.coords.items() if v.dims == ("cluster",)}
        dims = ["cluster"]
        return xr.Dataset(
            {
                "index_nominal": (dims, self.nominal.cluster_index.values),
                "index_median": (dims, imed),
                "index_low": (dims, ilo),
                "index_high": (dims, ihi),
                "index_spread": (dims, self.index_spread.values),
                "rank_nominal": (dims, self.nominal.cluster_rank.values),
                "rank_median": (dims, rmed),
                "rank_low": (dims, rlo),
                "rank_high": (dims, rhi),
                "scenario_nominal": (dims, self.nominal.scenario.values),
                "scenario_probability": self.scenario_probabilities(),
            },
            coords=coords,
        )

    def to_dataframe(self):
        """The per-cluster table as a pandas DataFrame, one column per scenario probability."""
        t = self.cluster_table()
        p = t["scenario_probability"]
        df = t.drop_vars("scenario_probability").drop_dims("scenario", errors="ignore").to_dataframe()
        for k, s in enumerate(p["scenario"].values):
            df[f"p_{s}"] = p.values[:, k]
        df["scenario_nominal"] = [SCENARIOS[int(c)] for c in df["scenario_nominal"]]
        return df

    def weight_table(self) -> dict:
        cl = self.confidence_level
        med, lo, hi = percentile_interval(self.weights.values, cl)
        w = self.weights.values
        return {
            str(ind): {
                "centre": float(self.nominal_weights[j]),
                "mean": float(w[:, j].mean()),
                "sd": float(w[:, j].std(ddof=1)) if w.shape[0] > 1 else 0.0,
                "median": float(med[j]),
                "low": float(lo[j]),
                "high": float(hi[j]),
            }
            for j, ind in enumerate(self.weights["indicator"].values)
        }

    @property
    def nominal_weights(self) -> np.ndarray:
        return np.asarray(self.weights.attrs["centre"], dtype=float)

    def study_summary(self) -> dict:
        cl = self.confidence_level
        return {
            "correlation": _stat(self.correlation.values, cl, float(self.nominal.correlation)),
            "scenario_counts": _counts_summary(
                self.scenario_counts.transpose("draw", "scenario").values, cl, self.nominal.scenario_counts.values
            ),
            "max_index_spread": float(self.index_spread.max()),
        }

    def to_dict(self) -> dict:
        t = self.cluster_table()
        clusters = []
        for i, no in enumerate(t["cluster"].values):
            rec = {"no": no.item() if hasattr(no, "item") else no}
            for c in ("name", "group", "region"):
                if c in t.coords:
                    rec[c] = str(t[c].values[i])
            rec.update(
                {
                    "index_nominal": float(t["index_nominal"].values[i]),
                    "index_median": float(t["index_median"].values[i]),
                    "index_low": float(t["index_low"].values[i]),
                    "index_high": float(t["index_high"].values[i]),
                    "rank_nominal": int(t["rank_nominal"].values[i]),
                    "rank_median": float(t["rank_median"].values[i]),
                    "rank_low": float(t["rank_low"].values[i]),
                    "rank_high": float(t["rank_high"].values[i]),
                    "scenario_nominal": SCENARIOS[int(t["scenario_nominal"].values[i])],
                    "scenario_probabilities": {
                        s: float(p) for s, p in zip(SCENARIOS, t["scenario_probability"].values[i])
                    },
                }
            )
            clusters.append(rec)
        return {
            "kind": "weight bootstrap (expert panels; data fixed)",
            "mode": self.mode,
            "mode_description": self.mode_description,
            "panel_size": self.panel_size,
            "concentration": self.concentration,
            "n_experts": self.n_experts,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "confidence_level": self.confidence_level,
            "interval": f"equal-tailed percentile interval, numpy '{_PERCENTILE_METHOD}' method "
            f"({100 * (1 - self.confidence_level) / 2:g}th to {100 * (1 + self.confidence_level) / 2:g}th percentile)",
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "zero_spread": self.zero_spread,
            "weights": self.weight_table(),
            "clusters": clusters,
            "study": self.study_summary(),
            "notes": list(self.notes),
            "version": __version__,
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataset(self, *, draws: bool = True) -> xr.Dataset:
        """Summaries (per cluster, per scenario) and, with ``draws=True``, every draw.

        ``attrs`` hold the spec, thresholds, mode, panel size, concentration,
        seed, confidence level, percentile method, package version and notes.
        """
        ds = self.cluster_table()
        ds["weights_centre"] = ("indicator", self.nominal_weights)
        ds = ds.assign_coords(indicator=self.weights["indicator"].values)
        if draws:
            ds["panel_weights"] = self.weights.drop_attrs() if hasattr(self.weights, "drop_attrs") else self.weights
            ds["cluster_index"] = self.cluster_index.transpose("draw", "cluster")
            ds["cluster_rank"] = self.cluster_rank.transpose("draw", "cluster").astype(np.int16)
            ds["scenario"] = self.scenario.transpose("draw", "cluster").astype(np.int8)
            ds["scenario_counts"] = self.scenario_counts.transpose("draw", "scenario").astype(np.int16)
            ds["correlation"] = self.correlation
        for v in ds.data_vars.values():
            v.attrs = {}
        ds["scenario_nominal"].attrs["codes"] = ", ".join(f"{i}={s}" for i, s in enumerate(SCENARIOS))
        ds.attrs = {
            "title": "clustermodel weight bootstrap (expert panels)",
            **self.spec.to_attrs(),
            **{f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()},
            "mode": self.mode,
            "mode_description": self.mode_description,
            "panel_size": self.panel_size,
            "concentration": _attr_value(self.concentration),
            "n_experts": _attr_value(self.n_experts),
            "n_resamples": self.n_resamples,
            "seed": _attr_value(self.seed),
            "confidence_level": self.confidence_level,
            "percentile_method": _PERCENTILE_METHOD,
            "zero_spread": int(self.zero_spread),
            "p_paper_counts": self.study_summary()["scenario_counts"]["p_paper_counts"],
            "clustermodel_version": __version__,
            "notes": "\n".join(self.notes),
        }
        return ds

    def summary(self) -> str:
        """Markdown: the mode, the study-level distributions and the per-cluster table."""
        d = self.to_dict()
        st = d["study"]
        lo_p, hi_p = 100 * (1 - self.confidence_level) / 2, 100 * (1 + self.confidence_level) / 2
        c = st["correlation"]
        sc = st["scenario_counts"]
        lines = [
            "## Weight bootstrap: expert panels (data fixed)",
            "",
            f"- Mode: **{self.mode_description}**.",
            f"- {self.n_resamples} panels, seed {self.seed}; spec `{self.spec.to_dict()}`; thresholds "
            f"{self.thresholds.cluster:g} / {self.thresholds.region:g} of the attainable maximum.",
            f"- Intervals: {d['interval']}.",
            f"- Largest spread (max − min over panels) of any cluster's index: {st['max_index_spread']:.3g}"
            + (" — **zero: the weights have no effect**." if self.zero_spread else "."),
            f"- Cluster–region correlation: nominal {_fmt(c['nominal'])}, median {_fmt(c['median'])}, "
            f"{lo_p:g}–{hi_p:g} %: [{_fmt(c['low'])}, {_fmt(c['high'])}].",
            f"- Scenario counts at the centre weights: {sc['nominal']}; the paper's counts {sc['paper_counts']} "
            f"hold in **{100 * sc['p_paper_counts']:.1f} %** of panels.",
            "",
            "| Indicator | Centre | Panel mean | Panel sd | "
            f"{lo_p:g} % | {hi_p:g} % |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for k, v in d["weights"].items():
            lines.append(f"| {k} | {v['centre']:.3f} | {v['mean']:.3f} | {v['sd']:.3f} | {v['low']:.3f} | {v['high']:.3f} |")
        lines += ["", "Scenario counts over panels:", "", f"| Scenario | Nominal | Median | {lo_p:g} % | {hi_p:g} % | Mean share |", "|---|---:|---:|---:|---:|---:|"]
        for s in SCENARIOS:
            lines.append(
                f"| {s} | {sc['nominal'][s]} | {sc['median'][s]:g} | {sc['low'][s]:g} | {sc['high'][s]:g} | "
                f"{sc['mean_share'][s]:.3f} |"
            )
        lines += ["", "Most frequent count vectors (supported/lonely/potential/late):", ""]
        for m in sc["most_common"]:
            lines.append(f"- {'/'.join(str(m['counts'][s]) for s in SCENARIOS)}: {100 * m['probability']:.1f} %")
        lines += [
            "",
            "### Clusters (sorted by nominal rank)",
            "",
            f"| Rank | No. | Cluster | Index | Median [{lo_p:g}, {hi_p:g}] | Rank median [{lo_p:g}, {hi_p:g}] | Nominal scenario | "
            + " | ".join(f"P({s})" for s in SCENARIOS)
            + " |",
            "|---:|---:|---|---:|---|---|---|" + "---:|" * len(SCENARIOS),
        ]
        for r in sorted(d["clusters"], key=lambda r: r["rank_nominal"]):
            name = r.get("name", "")
            lines.append(
                f"| {r['rank_nominal']} | {r['no']} | {name} | {r['index_nominal']:.3f} | "
                f"{r['index_median']:.3f} [{r['index_low']:.3f}, {r['index_high']:.3f}] | "
                f"{r['rank_median']:g} [{r['rank_low']:g}, {r['rank_high']:g}] | {r['scenario_nominal']} | "
                + " | ".join(f"{r['scenario_probabilities'][s]:.3f}" for s in SCENARIOS)
                + " |"
            )
        if self.notes:
            lines += ["", "### Notes", ""] + [f"- {t}" for t in self.notes]
        return "\n".join(lines) + "\n"


def weight_bootstrap(
    study,
    spec: IndexSpec | None = None,
    *,
    mode: str | None = None,
    experts=None,
    panel_size: int | None = None,
    concentration: float = DEFAULT_CONCENTRATION,
    n_resamples: int = 10_000,
    thresholds: ScenarioThresholds | None = None,
    confidence_level: float = 0.90,
    rng=None,
) -> WeightBootstrapResult:
    """Bootstrap the expert panel behind the weights; report index, rank and scenario uncertainty.

    Parameters
    ----------
    study : clustermodel.data.Study
        Needs a region table (scenarios and the correlation).
    spec : IndexSpec, optional
        The index spec. Under ``weights='equation1'`` (the default, as printed)
        every positive weight cancels, so the bootstrap shows zero spread and
        says so; use ``IndexSpec(weights='quadratic')`` for weights that act.
    mode : {'parametric', 'nonparametric'}, optional
        Default: 'nonparametric' if ``experts`` is given, else 'parametric'.
    experts : path or DataArray (expert, indicator), optional
        Your own expert table (see :func:`load_experts`); needed for the
        nonparametric mode.
    panel_size : int, optional
        Experts per panel; default 5 (parametric) or the number of experts in
        the table (nonparametric).
    concentration : float
        Dirichlet kappa of the parametric mode; default
        :data:`DEFAULT_CONCENTRATION` (its rationale is documented there).
    n_resamples : int
        Number of panels (default 10 000), evaluated in one vectorised call.
    thresholds : ScenarioThresholds, optional
        Fractions of the attainable maximum. The cluster threshold is applied
        per panel (``fraction * attainable maximum`` of that panel's weights,
        e.g. 0.5 sqrt(sum of weights) under 'quadratic').
    confidence_level : float
        Of the percentile intervals; 0.90 gives the 5-95 % interval.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    WeightBootstrapResult

    Raises
    ------
    ClusterModelError
        For a bad mode, concentration, panel size or expert table (an expert
        row not summing to one, a negative weight, an indicator the data lacks).

    Notes
    -----
    Only the panel-mean weight vector varies; the indicators, the
    normalisation maxima, the region index and the region threshold are fixed.
    Ranks are ordinal (ties by table order), so rank medians and percentiles
    may fall between integers under the linear percentile method.

    References
    ----------
    .. [1] Efron, B. and Tibshirani, R. J. (1993). An Introduction to the
       Bootstrap. Chapman & Hall. https://doi.org/10.1201/9780429246593
    .. [2] Saisana, M., Saltelli, A. and Tarantola, S. (2005). Uncertainty and
       sensitivity analysis techniques as tools for the quality assessment of
       composite indicators. JRSS A 168(2), 307-323.
       https://doi.org/10.1111/j.1467-985X.2005.00350.x

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> r = weight_bootstrap(load_paper(), IndexSpec(weights="quadratic"), n_resamples=200, rng=1)
    >>> r.zero_spread
    False
    """
    spec = study.spec if spec is None else spec
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    cl = check_probability(confidence_level, "confidence_level")
    if mode is None:
        mode = "parametric" if experts is None else "nonparametric"
    mode = check_choice(mode, "mode", list(MODES))
    if not study.has_regions:
        raise ClusterModelError(
            "the weight bootstrap needs a region table (scenarios and the cluster-region correlation); "
            "pass a regions file (--regions) with a region column in the cluster table"
        )
    seed = _seed_of(rng)
    gen = as_rng(rng)
    labels = [str(v) for v in study.indicators["indicator"].values]
    notes = []
    n_experts = None
    if mode == "nonparametric":
        if experts is None:
            raise ClusterModelError(_NEEDS_EXPERTS)
        e = check_experts(experts, study.indicators)
        n_experts = e.sizes["expert"]
        if n_experts < 2:
            warnings.warn(
                "the expert table has a single expert: resampling it cannot show any spread", ClusterModelWarning, stacklevel=2
            )
        centre = e.values.mean(axis=0)
        size = n_experts if panel_size is None else check_positive_int(panel_size, "panel_size")
        n_resamples = check_positive_int(n_resamples, "n_resamples")
        panels = _resampled_panels(gen, e.values, size, n_resamples)
        kappa = None
        source = e.attrs.get("source", "an in-memory table")
        description = f"nonparametric: resampled {size} of {n_experts} experts with replacement from {source}"
        study_w = study.weights.values
        if np.max(np.abs(study_w - centre)) > 0.005:
            notes.append(
                f"The expert table's mean weights ({', '.join(f'{v:.3f}' for v in centre)}) differ from the study's "
                f"weights ({', '.join(f'{v:.3f}' for v in study_w)}); the nominal ranks and scenarios use the "
                "expert table's mean."
            )
    else:
        if experts is not None:
            raise ClusterModelError(
                "`experts` was given but `mode` is 'parametric'; use mode='nonparametric' to resample your experts"
            )
        centre = _centre(study.weights.values)
        kappa = _check_concentration(concentration)
        size = DEFAULT_PANEL_SIZE if panel_size is None else check_positive_int(panel_size, "panel_size")
        n_resamples = check_positive_int(n_resamples, "n_resamples")
        _warn_small_parameter(kappa, centre)
        panels = _dirichlet_panels(gen, centre, kappa, size, n_resamples)
        source = Path(str(study.weights.attrs.get("source", "the study's weights"))).name
        description = (
            f"parametric: Dirichlet centred on the published panel means ({source}; Table 4 for the paper's data), "
            f"κ={kappa:g}, panels of {size}"
        )
        notes.append(
            "The paper publishes only the panel mean of its five experts; the parametric mode draws each expert's "
            f"weight vector from Dirichlet(κ·a) with κ={kappa:g} — a stated model of expert disagreement, not "
            "elicited data (one expert's weight j has sd sqrt(a_j(1−a_j)/(κ+1)): "
            + ", ".join(f"{lab} {math.sqrt(a * (1 - a) / (kappa + 1)):.3f}" for lab, a in zip(labels, centre))
            + ")."
        )
    panels = xr.DataArray(
        panels, dims=["draw", "indicator"], coords={"indicator": labels}, name="panel_weights", attrs={"centre": centre.tolist()}
    )

    ev = evaluate(study, spec, weights=panels, thresholds=thresholds)
    nominal = evaluate(study, spec, weights=xr.DataArray(centre, dims=["indicator"], coords={"indicator": labels}), thresholds=thresholds)
    spread = float((ev.cluster_index.max("draw") - ev.cluster_index.min("draw")).max())
    zero = spread == 0.0
    if spec.top_aggregation == "equation1":
        if zero:
            notes.insert(
                0,
                "Zero spread: under Equation 1 as printed each weight multiplies both the value and the maximum it is "
                "divided by (a_j x_ij / max_i a_j x_ij), so every positive weight cancels. Every panel gives the same "
                "index, rank and scenario for every cluster; the experts' weights cannot matter. Use "
                "weights='quadratic' (weights applied after normalisation) to see their effect.",
            )
        else:
            notes.insert(
                0,
                "Under Equation 1 as printed positive weights cancel; the spread seen here comes only from panels in "
                "which an indicator's mean weight is exactly zero, so that indicator is dropped.",
            )
    elif zero:
        notes.insert(0, "Zero spread: every panel gave the same index for every cluster (the panels' weights do not vary).")
    nominal_counts = {s_: int(v) for s_, v in zip(SCENARIOS, nominal.scenario_counts.values)}
    if nominal_counts != PAPER_COUNTS:
        notes.append(
            f"At the centre weights this spec already gives the counts {nominal_counts}, not the paper's "
            f"{PAPER_COUNTS}; the probability of the paper's counts therefore measures how often a panel moves the "
            "classification onto the paper's, not whether the paper's result is stable."
        )
    notes.append(
        "The data are fixed in this bootstrap (same clusters, same normalisation maxima, same region index); "
        "see the cluster (data) bootstrap for sampling uncertainty."
    )
    return WeightBootstrapResult(
        weights=panels,
        cluster_index=ev.cluster_index,
        cluster_rank=ev.cluster_rank,
        scenario=ev.scenario,
        scenario_counts=ev.scenario_counts,
        correlation=ev.correlation,
        nominal=nominal,
        spec=spec,
        thresholds=thresholds,
        mode=mode,
        mode_description=description,
        panel_size=size,
        concentration=kappa,
        n_experts=n_experts,
        confidence_level=cl,
        seed=seed,
        zero_spread=zero,
        notes=notes,
    )


# --------------------------------------------------------------------------- cluster bootstrap


@dataclass(frozen=True)
class ClusterBootstrapResult:
    """Distribution of sample-dependent study statistics over cluster resamples.

    Attributes
    ----------
    positions : DataArray (resample, slot)
        Positions (0-based, table order) of the clusters drawn into each
        resample.
    correlation : DataArray (resample,)
        Cluster-region Pearson r in each resample (NaN if undefined).
    scenario_counts : DataArray (resample, scenario)
    mean_index : DataArray (resample,)
        Mean cluster index of each resample.
    maxima_changed : DataArray (resample,)
        Share of the resampled (cluster, indicator) cells whose normalisation
        maximum differs from the full sample's (a group's leader left out).
    nominal : dict
        The statistics on the original sample.
    maxima : {'resample', 'fixed'}
        Whether the normalisation maxima were recomputed in each resample.
    spec, thresholds, confidence_level, seed, notes
    """

    positions: xr.DataArray
    correlation: xr.DataArray
    scenario_counts: xr.DataArray
    mean_index: xr.DataArray
    maxima_changed: xr.DataArray
    nominal: dict
    spec: IndexSpec
    thresholds: ScenarioThresholds
    confidence_level: float
    seed: int | str | None
    maxima: str = "resample"
    notes: list = field(default_factory=list)

    @property
    def n_resamples(self) -> int:
        return int(self.positions.sizes["resample"])

    def to_dict(self) -> dict:
        cl = self.confidence_level
        counts = self.scenario_counts.values
        n = counts.sum(axis=1)
        shares = counts / n[:, None]
        smed, slo, shi = percentile_interval(shares, cl)
        mc = self.maxima_changed.values
        return {
            "kind": "cluster (data) bootstrap: clusters resampled with replacement, regions intact, weights fixed",
            "n_resamples": self.n_resamples,
            "n_clusters": int(self.positions.sizes["slot"]),
            "seed": self.seed,
            "confidence_level": cl,
            "interval": f"equal-tailed percentile interval, numpy '{_PERCENTILE_METHOD}' method",
            "maxima": self.maxima,
            "maxima_description": MAXIMA[self.maxima],
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "correlation": _stat(self.correlation.values, cl, self.nominal["correlation"]),
            "mean_index": _stat(self.mean_index.values, cl, self.nominal["mean_index"]),
            "scenario_counts": _counts_summary(counts, cl, np.array([self.nominal["scenario_counts"][s] for s in SCENARIOS])),
            "scenario_shares": {
                s: {"nominal": self.nominal["scenario_counts"][s] / int(self.positions.sizes["slot"]), "median": float(smed[k]), "low": float(slo[k]), "high": float(shi[k])}
                for k, s in enumerate(SCENARIOS)
            },
            "maxima_changed": {
                "p_any": float((mc > 0).mean()),
                "mean_share_of_cells": float(mc.mean()),
            },
            "notes": list(self.notes),
            "version": __version__,
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataset(self) -> xr.Dataset:
        ds = xr.Dataset(
            {
                "positions": self.positions.astype(np.int16),
                "correlation": self.correlation,
                "scenario_counts": self.scenario_counts.astype(np.int16),
                "mean_index": self.mean_index,
                "maxima_changed": self.maxima_changed,
            }
        )
        for v in ds.data_vars.values():
            v.attrs = {}
        ds.attrs = {
            "title": "clustermodel cluster (data) bootstrap",
            **self.spec.to_attrs(),
            **{f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()},
            "n_resamples": self.n_resamples,
            "maxima": self.maxima,
            "seed": _attr_value(self.seed),
            "confidence_level": self.confidence_level,
            "percentile_method": _PERCENTILE_METHOD,
            "nominal_correlation": float(self.nominal["correlation"]),
            "nominal_mean_index": float(self.nominal["mean_index"]),
            "clustermodel_version": __version__,
            "notes": "\n".join(self.notes),
        }
        return ds

    def summary(self) -> str:
        d = self.to_dict()
        lo_p, hi_p = 100 * (1 - self.confidence_level) / 2, 100 * (1 + self.confidence_level) / 2
        c, m, sc = d["correlation"], d["mean_index"], d["scenario_counts"]
        lines = [
            "## Cluster (data) bootstrap: clusters resampled, weights fixed",
            "",
            f"- {self.n_resamples} resamples of {d['n_clusters']} clusters with replacement (regions intact), seed "
            f"{self.seed}; spec `{self.spec.to_dict()}`; normalisation maxima: **{self.maxima}** — "
            f"{MAXIMA[self.maxima]}.",
            f"- Cluster–region correlation: nominal {_fmt(c['nominal'])}, median {_fmt(c['median'])}, "
            f"{lo_p:g}–{hi_p:g} %: [{_fmt(c['low'])}, {_fmt(c['high'])}], bootstrap bias {_fmt(c['bias'])}"
            + (f" (undefined in {c['n_undefined']} resamples)" if c["n_undefined"] else "")
            + ".",
            f"- Mean cluster index: nominal {_fmt(m['nominal'])}, median {_fmt(m['median'])}, "
            f"[{_fmt(m['low'])}, {_fmt(m['high'])}], bootstrap bias {_fmt(m['bias'])}"
            + ("" if m["nominal_in_interval"] in (True, None) else " — **the nominal value lies outside the interval**")
            + ".",
            f"- The paper's counts {sc['paper_counts']} hold in {100 * sc['p_paper_counts']:.1f} % of resamples.",
            (
                "- Normalisation maxima changed"
                if self.maxima == "resample"
                else "- Not applied here (maxima fixed), but recomputing the maxima would change them"
            )
            + f" in {100 * d['maxima_changed']['p_any']:.1f} % of resamples "
            f"(on average {100 * d['maxima_changed']['mean_share_of_cells']:.1f} % of the cells).",
            "",
            f"| Scenario | Nominal share | Median share | {lo_p:g} % | {hi_p:g} % | Count median [{lo_p:g}, {hi_p:g}] |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for s in SCENARIOS:
            sh = d["scenario_shares"][s]
            lines.append(
                f"| {s} | {sh['nominal']:.3f} | {sh['median']:.3f} | {sh['low']:.3f} | {sh['high']:.3f} | "
                f"{sc['median'][s]:g} [{sc['low'][s]:g}, {sc['high'][s]:g}] |"
            )
        if self.notes:
            lines += ["", "### Notes", ""] + [f"- {t}" for t in self.notes]
        return "\n".join(lines) + "\n"


#: How the cluster bootstrap treats the normalisation maxima.
MAXIMA = {
    "resample": "maxima recomputed within every resample (the index as the study would have computed it)",
    "fixed": "maxima of the full sample kept: only the composition of the sample varies",
}


def _cluster_statistics(study, spec, thresholds, positions, maxima="resample"):
    """Study statistics for a batch of resamples given as positions (B, n); vectorised over B.

    The construction steps that depend on the sample (imputation, treatment,
    the normaliser's reference statistics) are redone inside every resample
    unless ``maxima == 'fixed'``.
    """
    from clustermodel.index import construct_arrays
    from clustermodel.scenarios import StudyModel

    model = StudyModel(study, spec, thresholds=thresholds)
    c = model.construction
    tree = study.structure
    W = tree.weight_vector().values
    n_all = len(c.units)
    roc_all = model.region_index_of_unit
    agg = dict(structure=tree, aggregation_at=lambda lv: spec.aggregation_at(lv, tree.n_levels), missing=spec.missing, keep=[tree.root])
    if maxima == "fixed":
        full = aggregate_tree(np.vstack([c.normalised, c.top[None]]), np.vstack([c.present, np.ones_like(c.top, bool)[None]]), W, **agg)[tree.root]
        ci = full[:-1][positions]
        top = np.full(positions.shape[0], full[-1])
        changed = np.zeros(positions.shape[0])
    else:
        kept = study.clusters.sel(cluster=c.units)
        den = kept.get("denominators")
        codes = None
        if spec.reference == "group":
            _, codes = np.unique(kept["group"].values, return_inverse=True)
            codes = codes[positions]
        arrs = construct_arrays(
            c.raw[positions] if den is None else kept["indicators"].sel(indicator=list(tree.leaves)).values[positions],
            structure=tree,
            spec=spec.replace(denominate=spec.denominate and den is not None),
            denominators=None if den is None else den.values[positions],
            denominator_names=() if den is None else [str(v) for v in den["denominator"].values],
            group_codes=codes,
        )
        B = positions.shape[0]
        vals = np.concatenate([arrs["normalised"], arrs["top"][:, None, :]], axis=1)
        pres = np.concatenate([arrs["present"], np.ones((B, 1, vals.shape[-1]), bool)], axis=1)
        full = aggregate_tree(vals, pres, W, **agg)[tree.root]
        ci, top = full[:, :-1], full[:, -1]
        changed = (~np.isclose(arrs["normalised"], c.normalised[positions], rtol=1e-12, atol=0) & arrs["present"]).mean(axis=(-2, -1))
    roc = roc_all[positions]
    sc = classify(ci >= thresholds.cluster * top[:, None], roc >= model.region_threshold)
    counts = np.stack([(sc == k).sum(axis=-1) for k in range(len(SCENARIOS))], axis=-1)
    del n_all
    return {
        "correlation": pearson(ci, roc, axis=-1),
        "scenario_counts": counts,
        "mean_index": np.nanmean(ci, axis=-1) if spec.missing == "rescale" else ci.mean(axis=-1),
        "maxima_changed": changed,
    }


def cluster_bootstrap(
    study,
    spec: IndexSpec | None = None,
    *,
    n_resamples: int = 10_000,
    thresholds: ScenarioThresholds | None = None,
    confidence_level: float = 0.90,
    maxima: str = "resample",
    batch_size: int = 2000,
    rng=None,
) -> ClusterBootstrapResult:
    """Resample the clusters with replacement and recompute the sample-dependent statistics.

    Parameters
    ----------
    study : clustermodel.data.Study
        Needs a region table.
    spec : IndexSpec, optional
    n_resamples : int
        Number of resamples (each of the same size as the sample).
    thresholds : ScenarioThresholds, optional
    confidence_level : float
        Of the percentile intervals (0.90 = 5-95 %).
    maxima : {'resample', 'fixed'}
        ``'resample'`` (default) recomputes the normalisation maxima within
        every resample, as the study would have had it sampled those clusters;
        ``'fixed'`` keeps the full sample's maxima, so every cluster keeps its
        index and only the composition of the sample varies. Comparing the two
        separates the effect of the maxima from that of the composition.
    batch_size : int
        Resamples normalised per vectorised call (bounds memory; the result
        does not depend on it).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    ClusterBootstrapResult

    Notes
    -----
    Weights stay at the study's (Table 4), so this is separate from the weight
    bootstrap. Every resampled cluster keeps its region and its region's index
    (the region table is not resampled). The normalisation maxima are
    recomputed in each resample, as the index would be if the study had
    sampled those clusters: with ``reference='group'`` a resample that lacks a
    group's leader on an indicator rescales that group, and a cluster drawn
    alone in its group scores 1 on each of its positive indicators. The share
    of cells whose maximum changed is reported (``maxima_changed``). Duplicated
    clusters count once per draw in the correlation and the counts. The whole
    batch of resamples is normalised in vectorised calls of ``batch_size``.

    References
    ----------
    .. [1] Efron, B. (1979). Bootstrap methods: another look at the jackknife.
       Annals of Statistics 7(1), 1-26. https://doi.org/10.1214/aos/1176344552
    .. [2] Davison, A. C. and Hinkley, D. V. (1997). Bootstrap Methods and
       their Application. Cambridge University Press.
       https://doi.org/10.1017/CBO9780511802843
    .. [3] Bickel, P. J. and Freedman, D. A. (1981). Some asymptotic theory
       for the bootstrap. Annals of Statistics 9(6), 1196-1217 (the bootstrap
       of a sample maximum is inconsistent).
       https://doi.org/10.1214/aos/1176345637

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> r = cluster_bootstrap(load_paper(), n_resamples=100, rng=1)
    >>> r.correlation.sizes["resample"]
    100
    """
    spec = study.spec if spec is None else spec
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    batch_size = check_positive_int(batch_size, "batch_size")
    cl = check_probability(confidence_level, "confidence_level")
    maxima = check_choice(maxima, "maxima", list(MAXIMA))
    if not study.has_regions:
        raise ClusterModelError("the cluster bootstrap needs a region table (the correlation and the scenarios)")
    seed = _seed_of(rng)
    gen = as_rng(rng)
    n = study.indicators.sizes["cluster"]
    if n < 2:
        raise ClusterModelError(f"the cluster bootstrap needs at least 2 clusters, the study has {n}")
    positions = gen.integers(0, n, size=(n_resamples, n))
    parts = [
        _cluster_statistics(study, spec, thresholds, positions[s : s + batch_size], maxima)
        for s in range(0, n_resamples, batch_size)
    ]
    stats = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    nominal_stats = _cluster_statistics(study, spec, thresholds, np.arange(n)[None, :])
    nominal = {
        "correlation": float(nominal_stats["correlation"][0]),
        "mean_index": float(nominal_stats["mean_index"][0]),
        "scenario_counts": {s: int(v) for s, v in zip(SCENARIOS, nominal_stats["scenario_counts"][0])},
    }
    notes = [
        "Clusters are resampled with replacement; each keeps its region, and the region table (and so the region "
        "index and threshold) is not resampled. The weights stay at the study's (Table 4).",
    ]
    if maxima == "resample":
        mc = stats["maxima_changed"]
        notes.append(
            "The normalisation maxima are recomputed within every resample"
            + (" and industry group" if spec.reference == "group" else "")
            + f": in {100 * (mc > 0).mean():.1f} % of resamples at least one maximum differs from the full sample's "
            f"(on average {100 * mc.mean():.1f} % of the cells). A resample holds about 63 % distinct clusters, so "
            "leaders are often missing and the other clusters' normalised values rise: the bootstrap distribution of "
            "a max-normalised statistic is shifted (see `bias`), and the bootstrap is known to be unreliable for "
            "statistics driven by a sample maximum (Bickel and Freedman 1981). Compare maxima='fixed', which keeps "
            "the full sample's maxima and varies only the composition."
        )
    else:
        notes.append(
            "The normalisation maxima are those of the full sample (maxima='fixed'): every cluster keeps its index "
            "and only the composition of the sample varies."
        )
    notes.append(
        "Percentile intervals from a bootstrap of 25 units are rough; duplicated clusters count once per draw in "
        "the correlation and the counts."
    )
    undefined = int(np.isnan(stats["correlation"]).sum())
    if undefined:
        notes.append(f"The correlation is undefined (a constant side) in {undefined} resamples; they are left out of its interval.")
    r = xr.DataArray
    return ClusterBootstrapResult(
        positions=r(positions, dims=["resample", "slot"], name="positions"),
        correlation=r(stats["correlation"], dims=["resample"], name="correlation"),
        scenario_counts=r(stats["scenario_counts"], dims=["resample", "scenario"], coords={"scenario": list(SCENARIOS)}, name="scenario_counts"),
        mean_index=r(stats["mean_index"], dims=["resample"], name="mean_index"),
        maxima_changed=r(stats["maxima_changed"], dims=["resample"], name="maxima_changed"),
        nominal=nominal,
        spec=spec,
        thresholds=thresholds,
        confidence_level=cl,
        seed=seed,
        maxima=maxima,
        notes=notes,
    )
