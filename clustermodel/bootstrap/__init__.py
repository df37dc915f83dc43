"""Bootstrap uncertainty of scores, ranks and scenarios: over the expert weights and over the units.

Two separate questions are answered here and kept apart:

1. **Weight bootstrap** (:func:`weight_bootstrap`): had another panel of
   experts been asked, how would every unit's index, every pillar's score,
   their ranks and (with a higher-level index) the scenarios change? The data
   stay fixed; only the panel-mean weights of every level vary.

   - ``mode='parametric'``: each expert's weights are drawn, within each
     parent of the structure, from a Dirichlet distribution centred on the
     nominal weights (normalised within the parent) with concentration
     ``kappa``; a panel is the mean of ``panel_size`` experts. The draws are a
     stated model of expert disagreement, not data.
   - ``mode='nonparametric'``: a user's own expert table (:func:`load_experts`)
     is resampled with replacement and each panel's weights are the mean of
     its experts (Efron 1979).

2. **Cluster (data) bootstrap** (:func:`cluster_bootstrap`): how much do the
   study-level statistics that depend on the sample (the mean score of the
   index and of every pillar, and with a higher-level index the correlation of
   the two indices and the scenario counts) move when the units are resampled
   with replacement? The construction steps that depend on the sample (the
   normaliser's reference statistics, imputation, treatment) are redone in
   every resample unless ``maxima='fixed'``.

Both are **streaming reductions**: the resamples are evaluated in chunks
(scheduled by dask: the local threaded scheduler, or a ``dask.distributed``
client), and each chunk is folded into running statistics — counts per
category, per-unit histograms of ranks and of scores on aligned power-of-two
grids, minimum, maximum and shifted sums of values and squares — so memory
does not grow with ``n_resamples``. Percentiles of ranks are exact whenever
the rank histogram has one bin per rank (always when the study has at most
``4 * bins`` units); percentiles of real-valued outputs are exact (the values
are kept) when every value fits in a quarter of the memory budget, and
otherwise come from a histogram whose per-unit error bound is reported. The
draws are made in fixed blocks of resamples, each from its own random stream,
so the numbers do not depend on the chunk size or the scheduler.

This module returns numbers; :mod:`clustermodel.reporting.bootstrap` words them.
All intervals are equal-tailed percentile intervals computed as numpy's
default (``'linear'``, Hyndman and Fan type 7) quantile method does.

The package, one job a file, each importing only those above it:

- :mod:`~clustermodel.bootstrap.constants`: the options, their defaults and the engine's memory constants;
- :mod:`~clustermodel.bootstrap.experts`: reading and checking an expert weight table;
- :mod:`~clustermodel.bootstrap.panels`: random draws in fixed blocks, panel designs, :func:`draw_panels`;
- :mod:`~clustermodel.bootstrap.percentiles`: :func:`percentile_interval`;
- :mod:`~clustermodel.bootstrap.summaries`: running summaries (histograms, sums, extremes, exact percentiles);
- :mod:`~clustermodel.bootstrap.engine`: the chunked run within the memory budget (pilot, plan, dask, fold);
- :mod:`~clustermodel.bootstrap.serialise`: summaries as JSON / NetCDF attributes and shared helpers;
- :mod:`~clustermodel.bootstrap.weights`: :func:`weight_bootstrap` and its result;
- :mod:`~clustermodel.bootstrap.units`: :func:`cluster_bootstrap` and its result.
"""

from __future__ import annotations

from clustermodel.bootstrap.constants import (  # noqa: F401
    DEFAULT_BINS,
    DEFAULT_CONCENTRATION,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_PANEL_SIZE,
    MAXIMA,
    MODES,
    QUANTILES,
    ROW_SUM_TOLERANCE,
    ZERO_SPREAD_RTOL,
)
from clustermodel.bootstrap.experts import (  # noqa: F401
    check_experts,
    load_experts,
)
from clustermodel.bootstrap.panels import (  # noqa: F401
    draw_panels,
)
from clustermodel.bootstrap.percentiles import (  # noqa: F401
    percentile_interval,
)
from clustermodel.bootstrap.weights import (  # noqa: F401
    WeightBootstrapResult,
    weight_bootstrap,
)
from clustermodel.bootstrap.units import (  # noqa: F401
    ClusterBootstrapResult,
    cluster_bootstrap,
)

__all__ = [
    "MODES",
    "MAXIMA",
    "QUANTILES",
    "DEFAULT_CONCENTRATION",
    "DEFAULT_PANEL_SIZE",
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_BINS",
    "ROW_SUM_TOLERANCE",
    "ZERO_SPREAD_RTOL",
    "load_experts",
    "check_experts",
    "draw_panels",
    "weight_bootstrap",
    "cluster_bootstrap",
    "percentile_interval",
    "WeightBootstrapResult",
    "ClusterBootstrapResult",
]
