"""The bootstrap's options and their defaults (modes, reference statistics, quantile methods, panel size and
concentration, tolerances) and the memory constants of its chunked engine."""

from __future__ import annotations

import numpy as np


#: The two ways of drawing expert panels: Dirichlet draws around the nominal weights, or a resampled expert table.
MODES = ("parametric", "nonparametric")

#: How the cluster bootstrap treats the sample-dependent construction steps (the normaliser's reference
#: statistics, imputation, treatment): redone in every resample, or kept at the full sample's.
MAXIMA = ("resample", "fixed")

#: How percentiles of real-valued outputs are obtained: ``'exact'`` keeps every value, ``'histogram'``
#: reads them off a per-unit histogram (error bound reported), ``'auto'`` keeps the values that fit in a
#: quarter of the memory budget.
QUANTILES = ("auto", "exact", "histogram")

#: Default Dirichlet concentration kappa (sum of the Dirichlet parameters within one parent).
#: One expert's weight for a node with nominal share a then has standard deviation
#: sqrt(a (1 - a) / (kappa + 1)), i.e. 0.089-0.101 for shares of 0.21-0.31: experts typically disagree
#: by about +-0.1 on a weight of 0.2-0.3 (a coefficient of variation of about one third). It is a
#: modelling assumption, not an estimate; vary it (``concentration=``) to see how the conclusions
#: depend on it.
DEFAULT_CONCENTRATION = 20.0

#: Default number of experts per panel (the paper's panel: five cluster managers).
DEFAULT_PANEL_SIZE = 5

#: Expert rows whose weights (within each parent) sum to within this distance of one are accepted
#: (renormalised, with a warning, if not within 1e-9); further away they are rejected. 0.01 admits
#: weights written with two decimals.
ROW_SUM_TOLERANCE = 0.01
_ROW_SUM_EXACT = 1e-9

#: A unit's index "does not vary" when max - min over the panels is at most this fraction of its magnitude
#: (the batched model may differ in the last bit between batch shapes).
ZERO_SPREAD_RTOL = 1e-12

#: Kept for code that imported it: the smallest default budget. Unless ``memory_limit=`` says otherwise a bootstrap
#: takes a share of this machine's memory (:func:`clustermodel._dask.default_memory_limit`).
DEFAULT_MEMORY_LIMIT = 512 * 2**20

#: Histogram bins per unit and real-valued output (rank histograms have up to 4 times as many).
DEFAULT_BINS = 1024

_PERCENTILE_METHOD = "linear"
#: Fewest histogram bins the memory planner may fall back to.
_MIN_BINS = 64
#: Random numbers per block of resamples: a block is the unit of the random streams.
_BLOCK_ELEMENTS = 2**18
_MAX_BLOCK = 256
#: Distinct scenario-count vectors tracked exactly; beyond this the joint distribution is not reported.
_JOINT_LIMIT = 10_000
#: Working memory of dask's bookkeeping and the result assembly, counted in every estimate.
_OVERHEAD = 16 * 2**20
#: Pilot chunk sizes (resamples) whose traced peak memory gives the memory per resample.
_PILOT = (1, 3)
_ONE = np.ones(1, np.int32)
#: Values copied at once when exact percentiles are computed.
_PERCENTILE_CELLS = 2**21
#: Histogram cells re-binned at once when a unit's range grows.
_REBIN_CELLS = 2**18
#: Working memory of one default chunk: larger chunks are no faster, only hungrier.
_CHUNK_TARGET = 64 * 2**20
#: Safety factor on a chunk's traced memory (tracemalloc sees what is allocated; the allocator keeps some freed
#: blocks of the worker threads, see benchmarks/bench_bootstrap.py for resident memory against the estimate).
_CHUNK_MARGIN = 1.5


