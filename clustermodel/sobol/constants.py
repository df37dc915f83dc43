"""The Sobol' estimators' options and defaults (interval methods, replicates, the constant-output tolerance, events
needed for a 0/1 output) and the engine's sizes."""

from __future__ import annotations

import threading

import numpy as np


#: Interval methods: the default first.
METHODS = ("replicate", "bootstrap")
#: Independent scrambled designs of the replicate method unless ``replicates=`` says otherwise.
DEFAULT_REPLICATES = 10
#: Kept for code that imported it (the budget before it followed the machine). Unless ``memory_limit=`` says otherwise
#: an analysis takes a share of this machine's memory (:func:`clustermodel._dask.default_memory_limit`).
DEFAULT_MEMORY_LIMIT = 2**30
#: An output whose spread over all runs is at most this fraction of its magnitude is constant
#: up to rounding: its indices are 0 exactly.
CONSTANT_RTOL = 1e-12
#: A 0/1 output needs at least this many events (runs with its rarer value) among the A and B runs of all
#: designs for its intervals to reach their nominal coverage. Measured (benchmarks/bench_sobol_coverage.py,
#: thresholded Ishigami outputs, 200 seeds), alike for both methods: 270-7200 events 94-99 %, 68-160 events
#: 78-88 %, 24-45 events 56-66 %, fewer than 12 about 50 %.
EVENTS_NEEDED = 300
#: Below this variance (of outputs scaled to unit variance) SALib sets an index to 0; so do we.
_EPS = np.finfo(float).eps
#: The first rows of each design also give the pilot run (shift, shapes, memory per row).
_PILOT_ROWS = (4, 16)
#: Chunk results combined per task in the reduction tree.
_SPLIT_EVERY = 8
_WARNINGS_LOCK = threading.Lock()
#: Chunks are not split below this many design rows to give every worker something to do.
_MIN_CHUNK = 256
#: Quantiles of each output come from the A and B runs of at most this many rows of the first design.
_QUANTILE_ROWS = 2048


