"""Variance-based (Sobol') sensitivity indices of any vectorised model, as a streaming reduction.

The estimator, for any ``Y = model(X)`` that maps rows of factors to rows of
outputs and a SALib-style ``problem`` dict:

- :func:`sobol_indices` samples, evaluates the model chunk by chunk and returns a
  :class:`SobolIndicesResult` (first-order S1 and total ST indices of every output
  with respect to every factor, with confidence intervals);
- :func:`sobol_sample` draws the Saltelli design(s); :func:`sobol_analyze`
  estimates the indices from model outputs held in memory;
- test functions with analytic indices: :func:`ishigami`, :func:`g_function`.

Two interval methods (``method=``):

- ``'replicate'`` (default): R independent scrambled Sobol' designs (randomised
  quasi-Monte Carlo); the indices are averaged over the replicates and the
  interval comes from their spread, with the t quantile on R - 1 degrees of
  freedom;
- ``'bootstrap'``: one design and a percentile bootstrap over its rows, exactly
  as ``SALib.analyze.sobol.analyze`` resamples them (kept for comparison; it
  treats a quasi-random design as an i.i.d. sample and is badly calibrated, see
  ``docs/sensitivity.md``).

Both are reductions: each chunk of model runs (the A, B and AB_j rows of a range
of design rows) is evaluated and folded into running sums per output and factor,
so memory does not grow with N. Chunks are scheduled with dask (the local
threaded scheduler, or a ``dask.distributed`` client). This module returns
numbers; the sentences about them live in :mod:`clustermodel.reporting.sobol`.

The package, one job a file, each importing only those above it:

- :mod:`~clustermodel.sobol.constants`: options, defaults and the engine's sizes;
- :mod:`~clustermodel.sobol.result`: :class:`SobolIndicesResult`;
- :mod:`~clustermodel.sobol._checks`: validation of a problem, N, a seed, a method;
- :mod:`~clustermodel.sobol.design`: the scrambled designs and :func:`sobol_sample`;
- :mod:`~clustermodel.sobol.sums`: per-chunk sums of the outputs and their combination;
- :mod:`~clustermodel.sobol.estimators`: from sums to indices, intervals and diagnostics;
- :mod:`~clustermodel.sobol.engine`: pilot, memory plan, chunks, execution on dask;
- :mod:`~clustermodel.sobol.indices`: :func:`sobol_indices` and :func:`sobol_analyze`;
- :mod:`~clustermodel.sobol.analytic`: Ishigami and G-function test cases with known indices.
"""

from __future__ import annotations

from clustermodel.sobol.constants import (  # noqa: F401
    CONSTANT_RTOL,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_REPLICATES,
    EVENTS_NEEDED,
    METHODS,
)
from clustermodel.sobol.result import (  # noqa: F401
    SobolIndicesResult,
)
from clustermodel.sobol.design import (  # noqa: F401
    sobol_sample,
)
from clustermodel.sobol.indices import (  # noqa: F401
    sobol_analyze,
    sobol_indices,
)
from clustermodel.sobol.analytic import (  # noqa: F401
    G_FUNCTION_A,
    ISHIGAMI_PROBLEM,
    g_function,
    g_function_indices,
    g_function_problem,
    ishigami,
    ishigami_indices,
)

__all__ = [
    "SobolIndicesResult",
    "METHODS",
    "DEFAULT_REPLICATES",
    "DEFAULT_MEMORY_LIMIT",
    "EVENTS_NEEDED",
    "CONSTANT_RTOL",
    "sobol_sample",
    "sobol_analyze",
    "sobol_indices",
    "ishigami",
    "ishigami_indices",
    "ISHIGAMI_PROBLEM",
    "g_function",
    "g_function_indices",
    "g_function_problem",
]
