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
"""

from __future__ import annotations

import copy
import math
import numbers
import threading
import tracemalloc
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.stats
import xarray as xr

from clustermodel._dask import client_iv, memory_limit_iv, one_blas_thread, workers as dask_workers
from clustermodel._display import ResultDisplay, fmt, names
from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_choice, check_positive_int, check_probability

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client
    from numpy.typing import ArrayLike

    from clustermodel._typing import RNGLike

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


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class SobolIndicesResult(ResultDisplay):
    """First-order and total Sobol' indices of every output with respect to every factor.

    Attributes
    ----------
    S1, ST : ndarray, shape (n_outputs, n_factors)
        Point estimates: first order (Saltelli et al. 2010) and total (Jansen 1999). With
        ``method='replicate'`` the mean over the replicates; with ``'bootstrap'`` the estimate
        on the one design, identical to SALib's ``analyze(..., calc_second_order=False)``.
    S1_low, S1_high, ST_low, ST_high : ndarray, shape (n_outputs, n_factors)
        Confidence interval at ``confidence_level``: mean +/- t(R - 1) * sd / sqrt(R) over the
        replicates, or the bootstrap percentile interval. [0, 0] for a constant output; [0, 1]
        (nothing known) for an output too flat to estimate (fewer than two informative
        replicates).
    S1_conf, ST_conf : ndarray, shape (n_outputs, n_factors)
        Half-width of the interval (replicate), or SALib's normal half-width ``z * sd`` of
        the bootstrap distribution (bootstrap; not an interval by itself).
    S1_replicates, ST_replicates : ndarray, shape (replicates, n_outputs, n_factors)
        Each replicate's estimate (NaN where that replicate's A and B runs do not vary).
    S1_resamples, ST_resamples : ndarray, shape (n_resamples, n_outputs, n_factors) or None
        The bootstrap distribution (bootstrap method only).
    factors, outputs : tuple of str
    method : {'replicate', 'bootstrap'}
    n : int
        Base sample size N of each design (a power of two).
    replicates : int
        Number of independent designs R (1 for the bootstrap). The model ran
        ``model_runs = R * N * (D + 2)`` times.
    n_resamples : int
        Bootstrap resamples (0 for the replicate method).
    confidence_level : float
    seed : int or None
        The integer seed, if one was given.
    entropy : str
        Entropy of the root ``numpy.random.SeedSequence`` (as a string), from which every
        stream was spawned: ``rng=numpy.random.SeedSequence(int(entropy))`` repeats the run.
    constant : ndarray of bool, shape (n_outputs,)
        Outputs constant up to rounding over all runs (spread <= ``CONSTANT_RTOL`` x
        magnitude): S1 = ST = 0 exactly.
    flat_ab : ndarray of bool, shape (n_outputs,)
        Outputs that vary, but not over the A and B runs of any design: no estimate.
    informative : ndarray of int, shape (n_outputs,)
        Replicates whose A and B runs vary (the ones the estimate averages).
    binary : ndarray of bool, shape (n_outputs,)
        Outputs that only take the values 0 and 1.
    events : ndarray of int, shape (n_outputs,)
        For a 0/1 output, how often its rarer value occurred over the A and B runs of all designs;
        for any other output that left its most common value (in the pilot rows) in fewer than
        ``events_needed`` of those runs, how many runs it left it in.
    events_needed : int
        Events (over the A and B runs of all designs) below which a 0/1 output counts as rare
        (:data:`EVENTS_NEEDED`).
    n_needed : ndarray of int, shape (n_outputs,)
        For a rare 0/1 output, the base sample size per design (a power of two) that would give it
        ``events_needed`` events with the same number of designs; 0 otherwise.
    output_mean, output_std : ndarray, shape (n_outputs,)
        Mean and standard deviation of each output over the A and B runs of all designs.
    output_low, output_high : ndarray, shape (n_outputs,)
        5 % and 95 % quantiles over the A and B runs of the first ``quantile_rows`` rows of the
        first design (a balanced prefix of a scrambled Sobol' sequence).
    quantile_rows : int
    convergence : dict or None
        ``{"n": [...], "S1": (L, K, D), "S1_low": ..., "ST_high": ...}`` at N / 2^(L-1), ..., N.
    chunk_size : int
        Design rows per chunk (each chunk runs the model on chunk_size * (D + 2) rows).
    memory_estimate : int
        Estimated peak memory of the analysis in bytes.
    """

    S1: np.ndarray
    S1_low: np.ndarray
    S1_high: np.ndarray
    S1_conf: np.ndarray
    ST: np.ndarray
    ST_low: np.ndarray
    ST_high: np.ndarray
    ST_conf: np.ndarray
    S1_replicates: np.ndarray
    ST_replicates: np.ndarray
    S1_resamples: np.ndarray | None
    ST_resamples: np.ndarray | None
    factors: tuple
    outputs: tuple
    method: str
    n: int
    replicates: int
    n_resamples: int
    confidence_level: float
    seed: int | None
    entropy: str
    constant: np.ndarray
    flat_ab: np.ndarray
    informative: np.ndarray
    binary: np.ndarray
    events: np.ndarray
    events_needed: int
    n_needed: np.ndarray
    output_mean: np.ndarray
    output_std: np.ndarray
    output_low: np.ndarray
    output_high: np.ndarray
    quantile_rows: int
    convergence: dict | None = None
    chunk_size: int = 0
    memory_estimate: int = 0

    _narrator_ = "clustermodel.reporting.sobol:indices_markdown"

    @property
    def model_runs(self) -> int:
        """Model evaluations: replicates x N x (D + 2)."""
        return self.replicates * self.n * (len(self.factors) + 2)

    @property
    def rare(self) -> np.ndarray:
        """Outputs that change in fewer than ``events_needed`` of all A and B runs (0/1 or not; bool, per output)."""
        return self.n_needed > 0

    @property
    def estimable(self) -> np.ndarray:
        """Outputs with an interval: constant ones, or with at least two informative replicates."""
        need = 2 if self.method == "replicate" else 1
        return self.constant | (self.informative >= need)

    @property
    def notes(self) -> tuple:
        """Sentences on constant, flat and rare outputs (written by :mod:`clustermodel.reporting.sobol`)."""
        from clustermodel._display import call_narrator

        return tuple(call_narrator("clustermodel.reporting.sobol:index_notes", self))

    def _display_(self) -> tuple[str, list]:
        k, d = self.S1.shape
        head = f"{k} output{'s' if k != 1 else ''} x {d} factor{'s' if d != 1 else ''}, method {self.method!r}"
        rows: list = [
            ("design", f"N={self.n}, replicates={self.replicates}, {self.model_runs} model runs"),
            ("factors", names(self.factors)),
        ]
        varying = ~self.constant
        if varying.any() and d:
            mean_st = self.ST[varying].mean(axis=0)
            order = np.argsort(-mean_st, kind="stable")[:3]
            rows.append(("largest mean ST", ", ".join(f"{self.factors[j]} {fmt(mean_st[j])}" for j in order)))
        rows.append(("constant outputs", int(self.constant.sum())))
        if self.rare.any():
            rows.append(("rare 0/1 outputs", int(self.rare.sum())))
        rows.append(("tables", "to_frame(): S1, ST and their intervals per (output, factor)"))
        return head, rows

    def to_dataset(self) -> xr.Dataset:
        """Indices as an xarray Dataset with dims ``(output, factor)`` (and ``replicate``, ``resample``)."""
        dims = ("output", "factor")
        data = {k: (dims, getattr(self, k)) for k in ("S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low", "ST_high", "ST_conf")}
        data["S1_replicates"] = (("replicate",) + dims, self.S1_replicates)
        data["ST_replicates"] = (("replicate",) + dims, self.ST_replicates)
        for name in ("constant", "flat_ab", "informative", "binary", "events", "n_needed", "output_mean", "output_std", "output_low", "output_high"):
            data[name] = ("output", getattr(self, name))
        if self.convergence is not None:
            for k in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"):
                data[f"convergence_{k}"] = (("n_base",) + dims, self.convergence[k])
        coords = {"output": list(self.outputs), "factor": list(self.factors), "replicate": np.arange(self.replicates)}
        if self.convergence is not None:
            coords["n_base"] = list(self.convergence["n"])
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update(self.run_attrs())
        return ds

    def run_attrs(self) -> dict:
        """How the indices were computed (for NetCDF attributes and JSON)."""
        from clustermodel._version import __version__

        return {
            "method": self.method,
            "n": self.n,
            "replicates": self.replicates,
            "model_runs": self.model_runs,
            "n_resamples": self.n_resamples,
            "confidence_level": self.confidence_level,
            "seed": -1 if self.seed is None else self.seed,
            "entropy": self.entropy,
            "estimators": "S1: Saltelli et al. (2010); ST: Jansen (1999); each design as SALib.analyze.sobol.analyze",
            "interval": _INTERVALS[self.method],
            "constant_rtol": CONSTANT_RTOL,
            "events_needed": self.events_needed,
            "chunk_size": self.chunk_size,
            "clustermodel_version": __version__,
        }

    def to_records(self) -> list:
        """One dict per (output, factor)."""
        out = []
        for k, o in enumerate(self.outputs):
            for j, f in enumerate(self.factors):
                rec = {"output": o, "factor": f}
                for key in ("S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low", "ST_high", "ST_conf"):
                    rec[key] = float(getattr(self, key)[k, j])
                out.append(rec)
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """The records as a pandas DataFrame indexed by (output, factor)."""
        import pandas as pd

        return pd.DataFrame(self.to_records()).set_index(["output", "factor"])

    def summary(self) -> str:
        """Markdown table of the indices with their intervals (:func:`clustermodel.reporting.sobol.indices_markdown`)."""
        from clustermodel._display import narrate

        return narrate(self)


#: What the interval of each method is (a label for attributes, not prose for reports).
_INTERVALS = {
    "replicate": "mean +/- t(R-1) sd/sqrt(R) over R independent scrambled Sobol' designs",
    "bootstrap": "percentile bootstrap over the N rows of one Saltelli design (as SALib)",
}


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _problem_iv(problem):
    """Names, D, lower and upper bounds of a SALib problem (uniform factors only)."""
    if not isinstance(problem, dict):
        raise ClusterModelError(
            f"`problem` must be a SALib-style dict with 'num_vars', 'names' and 'bounds', got {type(problem).__name__}"
        )
    missing = [k for k in ("num_vars", "names", "bounds") if k not in problem]
    if missing:
        raise ClusterModelError(f"`problem` lacks the key(s) {missing}; give 'num_vars', 'names' and 'bounds'")
    if problem.get("groups") is not None:
        raise ClusterModelError("`problem` with 'groups' is not supported; give one factor per variable")
    dists = problem.get("dists")
    if dists is not None and any(str(x) != "unif" for x in dists):
        raise ClusterModelError(
            "`problem` 'dists' other than 'unif' are not supported; map uniform factors onto your distribution "
            "inside the model (e.g. with its quantile function)"
        )
    names = [str(x) for x in problem["names"]]
    d = problem["num_vars"]
    if not isinstance(d, numbers.Integral) or isinstance(d, bool) or d < 1 or d != len(names) or len(problem["bounds"]) != d:
        raise ClusterModelError(
            f"`problem`: 'num_vars' ({d!r}) must be a positive integer equal to the number of 'names' "
            f"({len(names)}) and of 'bounds' ({len(problem['bounds'])})"
        )
    if len(set(names)) != len(names):
        raise ClusterModelError(f"`problem`: factor names must be unique, got {names}")
    try:
        bounds = np.asarray(problem["bounds"], dtype=float).reshape(d, 2)
    except (TypeError, ValueError):
        raise ClusterModelError(f"`problem` 'bounds' must be {d} pairs [low, high] of numbers, got {problem['bounds']!r}") from None
    lower, upper = bounds[:, 0], bounds[:, 1]
    if not (np.all(np.isfinite(bounds)) and np.all(lower < upper)):
        bad = [names[j] for j in range(d) if not (np.isfinite(bounds[j]).all() and lower[j] < upper[j])]
        raise ClusterModelError(f"`problem` 'bounds' must be finite with low < high; not so for {bad}")
    return names, int(d), lower, upper


#: Largest base sample size N per design: 2**26 = 67 million rows per design is already days of model runs for any
#: study, and a larger N would only build an unbounded schedule of chunks.
MAX_N = 2**26


def _n_iv(n, name: str = "n") -> int:
    n = check_positive_int(n, name, minimum=2)
    if n > MAX_N:
        raise ClusterModelError(
            f"`{name}` = {n} is beyond what a Sobol' analysis can run ({n:.3g} rows per design, each evaluated D + 2 "
            f"times); choose a power of two up to {MAX_N} (2**26): N = 1024 to 16384 gives indices to about 0.01"
        )
    if n & (n - 1):
        lo = 1 << (n.bit_length() - 1)
        raise ClusterModelError(
            f"`{name}` must be a power of two (a Sobol' sequence is balanced only at powers of two), "
            f"got {n}; use {lo} or {2 * lo}"
        )
    return n


def _rng_iv(rng, seed):
    """``rng`` or its SALib alias ``seed`` -> (Generator, the integer seed if one was given)."""
    if seed is not None and rng is not None:
        raise ClusterModelError("pass either `rng` or `seed` (SALib's name for it), not both")
    name, value = ("seed", seed) if seed is not None else ("rng", rng)
    gen = as_rng(value, name=name)
    user = int(value) if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) else None
    return gen, user


def _entropy(gen: np.random.Generator) -> str:
    seq = getattr(gen.bit_generator, "seed_seq", None)
    if seq is None or not hasattr(seq, "entropy"):
        return ""
    key = tuple(getattr(seq, "spawn_key", ()))
    return str(seq.entropy) + (f" spawn_key={key}" if key else "")


def _method_iv(method, replicates, n_resamples):
    method = check_choice(method, "method", METHODS)
    if method == "replicate":
        replicates = DEFAULT_REPLICATES if replicates is None else check_positive_int(replicates, "replicates", minimum=2)
        return method, replicates, 0
    if replicates not in (None, 1):
        raise ClusterModelError(
            f"`replicates` = {replicates!r} applies to method='replicate'; the bootstrap resamples one design "
            "(leave `replicates` unset, or use method='replicate')"
        )
    return method, 1, check_positive_int(n_resamples, "n_resamples", minimum=2)


def _bytes(b: float) -> str:
    from dask.utils import format_bytes

    return format_bytes(int(b))


# --------------------------------------------------------------------------------------------
# The design
# --------------------------------------------------------------------------------------------


class _Designs:
    """R scrambled Sobol' engines of dimension 2D; rows of any range of any design on demand.

    Replicate r's design is SALib's ``sample(problem, N, calc_second_order=False,
    seed=stream_r)`` for the r-th stream spawned from the generator, built without SALib's
    Python loop: a range of rows is the engine fast-forwarded to its start.
    """

    def __init__(self, d, lower, upper, streams):
        from scipy.stats import qmc

        self.d = d
        self.lower = np.concatenate([lower, lower])
        self.width = np.concatenate([upper - lower, upper - lower])
        self.engines = [qmc.Sobol(d=2 * d, scramble=True, rng=s) for s in streams]

    @property
    def replicates(self) -> int:
        return len(self.engines)

    def base(self, r, lo, hi) -> np.ndarray:
        """Scaled base points ``[A | B]`` of rows ``lo..hi-1`` of design ``r``, shape (hi - lo, 2D)."""
        eng = copy.deepcopy(self.engines[r])
        if lo:
            eng.fast_forward(lo)
        # A chunk ends where the design does not (the design as a whole is a power of two): scipy's
        # balance warning does not apply. The lock keeps threads from interleaving warning filters.
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The balance properties of Sobol' points", category=UserWarning)
            pts = eng.random(hi - lo)
        np.multiply(pts, self.width, out=pts)  # SALib's scale_samples, same operations
        np.add(pts, self.lower, out=pts)
        return pts

    def rows(self, r, lo, hi) -> np.ndarray:
        """Saltelli rows ``A_i, AB_i1, ..., AB_iD, B_i`` for i in lo..hi-1, shape ((hi-lo)(D+2), D)."""
        d = self.d
        pts = self.base(r, lo, hi)
        a, b = pts[:, :d], pts[:, d:]
        x = np.repeat(a[:, None, :], d + 2, axis=1)
        j = np.arange(d)
        x[:, 1 + j, j] = b
        x[:, d + 1, :] = b
        return x.reshape(-1, d)


def sobol_sample(problem, n, *, replicates=None, rng=None, seed=None) -> np.ndarray:
    """Saltelli design(s) on scrambled Sobol' sequences (``calc_second_order=False`` layout).

    Parameters
    ----------
    problem : dict
        SALib problem: ``num_vars``, ``names``, ``bounds`` (uniform factors).
    n : int
        Base sample size N of each design, a power of two.
    replicates : int, optional
        None: one design drawn from ``rng`` itself. R: R independent designs, one per stream of
        ``rng.spawn(R)`` -- the designs :func:`sobol_indices` evaluates for the same ``rng``.
    rng : numpy.random.Generator, int or None
        Normalised once with :func:`numpy.random.default_rng`.
    seed : numpy.random.Generator, int or None
        SALib's name for ``rng``; give one or the other.

    Returns
    -------
    ndarray
        Shape (N (D + 2), D) for one design, (R, N (D + 2), D) for R designs. Row blocks
        ``A_i, AB_i1, ..., AB_iD, B_i``.

    Notes
    -----
    One design equals ``SALib.sample.sobol.sample(problem, N, calc_second_order=False,
    seed=g)`` for the same generator ``g`` (tested). SALib hands an *integer* seed to scipy's
    legacy ``seed=`` path, which draws the scramble from a ``RandomState``: to repeat a design
    with SALib pass ``seed=numpy.random.default_rng(s)`` rather than ``seed=s``. The first
    n' (D + 2) rows of a design of size N are the design of size n' (the sequence is
    extensible); the convergence study uses this.

    References
    ----------
    Sobol', I. M. (2001). Global sensitivity indices for nonlinear mathematical models and their
    Monte Carlo estimates. Mathematics and Computers in Simulation 55(1-3), 271-280.
    https://doi.org/10.1016/S0378-4754(00)00270-6

    Examples
    --------
    >>> sobol_sample(ISHIGAMI_PROBLEM, 8, rng=1).shape
    (40, 3)
    >>> sobol_sample(ISHIGAMI_PROBLEM, 8, replicates=4, rng=1).shape
    (4, 40, 3)
    """
    _, d, lower, upper = _problem_iv(problem)
    n = _n_iv(n)
    gen, _ = _rng_iv(rng, seed)
    if replicates is None:
        return _Designs(d, lower, upper, [gen]).rows(0, 0, n)
    replicates = check_positive_int(replicates, "replicates")
    designs = _Designs(d, lower, upper, gen.spawn(replicates))
    return np.stack([designs.rows(r, 0, n) for r in range(replicates)])


# --------------------------------------------------------------------------------------------
# Per-chunk statistics and their combination
# --------------------------------------------------------------------------------------------

# Keys of the chunk statistics and how two chunks combine.
_SUM_KEYS = ("count", "sum_all", "sum2_all", "sA", "sB", "sAA", "sBB", "ones_all", "ones_ab", "off_ab", "sD", "sBD", "sDD")
_MIN_KEYS = ("min_all", "min_ab")
_MAX_KEYS = ("max_all", "max_ab")


def _einsum_cols(a, b):
    """Column sums of a * b without the temporary product."""
    return np.einsum("ij,ij->j", a, b)


def _mode(Y):
    """The most common value of every column of the pilot outputs (the reference a rare change is counted from)."""
    out = np.empty(Y.shape[1])
    for j in range(Y.shape[1]):
        vals, counts = np.unique(Y[:, j], return_counts=True)
        out[j] = vals[np.argmax(counts)]
    return out


def _block_stats(Yb, shift, boot=(), keep_rows=0, mode=None):
    """Sums of one block of runs. ``Yb``: (c, D + 2, K) outputs of c design rows.

    ``boot``: sequence of (level, counts) with counts (n_resamples, c), the rows' multiplicities
    in each resample of that convergence level. ``keep_rows``: A and B values of the first
    ``keep_rows`` rows are kept for the quantiles. ``mode``: (K,) reference values; A and B runs
    that differ from them are counted (``off_ab``), so outputs that rarely change are found.
    """
    c, dp2, k = Yb.shape
    d = dp2 - 2
    flat = Yb.reshape(c * dp2, k)
    is_one = flat == 1
    ones = is_one.reshape(c, dp2, k)
    ones_ab = ones[:, 0, :].sum(axis=0) + ones[:, d + 1, :].sum(axis=0)
    ones_all = is_one.sum(axis=0)
    del is_one, ones
    zeros_all = (flat == 0).sum(axis=0)
    if mode is None:
        off_ab = np.zeros(k)
    else:
        off_ab = ((Yb[:, 0, :] != mode).sum(axis=0) + (Yb[:, d + 1, :] != mode).sum(axis=0)).astype(float)
    # slot-major copy of the shifted outputs: Z[0] = A, Z[1 + j] = AB_j, Z[D + 1] = B, each contiguous
    Z = np.empty((dp2, c, k))
    np.subtract(Yb.transpose(1, 0, 2), shift, out=Z)
    A, B = Z[0], Z[d + 1]
    st = {
        "count": np.array([c]),
        "min_all": flat.min(axis=0),
        "max_all": flat.max(axis=0),
        "ones_all": ones_all.astype(float),
        "ones_ab": ones_ab.astype(float),
        "off_ab": off_ab,
        "binary": (ones_all + zeros_all) == c * dp2,
        "sum_all": Z.sum(axis=(0, 1)),
        "sum2_all": np.einsum("sik,sik->k", Z, Z),
        "sA": A.sum(axis=0),
        "sB": B.sum(axis=0),
        "sAA": _einsum_cols(A, A),
        "sBB": _einsum_cols(B, B),
        "min_ab": np.minimum(A.min(axis=0), B.min(axis=0)),
        "max_ab": np.maximum(A.max(axis=0), B.max(axis=0)),
    }
    diff = Z[1 : d + 1]
    diff -= A  # AB_j - A, in place: (D, c, K)
    st["sD"] = diff.sum(axis=1).T
    st["sBD"] = np.einsum("jik,ik->kj", diff, B)
    st["sDD"] = np.einsum("jik,jik->kj", diff, diff)
    if boot:
        # Every resampled statistic is a count-weighted sum over rows: one matrix product of the
        # (resample x row) counts with the row features [A + B, A^2 + B^2, AB_j - A, B (AB_j - A), (AB_j - A)^2].
        feats = np.empty((c, 2 + 3 * d, k))
        np.add(A, B, out=feats[:, 0])
        np.multiply(A, A, out=feats[:, 1])
        feats[:, 1] += B * B
        dT = diff.transpose(1, 0, 2)  # (c, D, K) view
        feats[:, 2 : 2 + d] = dT
        np.multiply(dT, B[:, None, :], out=feats[:, 2 + d : 2 + 2 * d])
        np.multiply(dT, dT, out=feats[:, 2 + 2 * d :])
        flat_feats = feats.reshape(c, -1)
        bsum = {}
        for lvl, cnt in boot:
            prod = (np.asarray(cnt, dtype=float) @ flat_feats).reshape(-1, 2 + 3 * d, k)
            bsum[lvl] = {
                "bAB": prod[:, 0],
                "bAABB": prod[:, 1],
                "bD": prod[:, 2 : 2 + d].transpose(0, 2, 1),  # (R, K, D)
                "bBD": prod[:, 2 + d : 2 + 2 * d].transpose(0, 2, 1),
                "bDD": prod[:, 2 + 2 * d :].transpose(0, 2, 1),
            }
        del feats, flat_feats
        st["boot"] = bsum
    if keep_rows:
        st["keep"] = [np.concatenate([Yb[:keep_rows, 0, :], Yb[:keep_rows, d + 1, :]])]
    # min_ab/max_ab are of shifted values: only their difference is used (the flat-over-A-and-B test)
    return st


def _combine(*parts):
    """Fold chunk statistics (in the given order)."""
    out = {key: (value.copy() if isinstance(value, np.ndarray) else value) for key, value in parts[0].items() if key not in ("boot", "keep")}
    boot = {lvl: {k: v.copy() for k, v in bs.items()} for lvl, bs in parts[0].get("boot", {}).items()}
    keep = list(parts[0].get("keep", []))
    for p in parts[1:]:
        for key in _SUM_KEYS:
            out[key] += p[key]
        for key in _MIN_KEYS:
            np.minimum(out[key], p[key], out=out[key])
        for key in _MAX_KEYS:
            np.maximum(out[key], p[key], out=out[key])
        out["binary"] &= p["binary"]
        for lvl, bs in p.get("boot", {}).items():
            if lvl in boot:
                for k, v in bs.items():
                    boot[lvl][k] += v
            else:
                boot[lvl] = {k: v.copy() for k, v in bs.items()}
        keep += p.get("keep", [])
    if boot:
        out["boot"] = boot
    if keep:
        out["keep"] = keep
    return out


def _as_outputs(Y, rows, k, where):
    """Validate one block of model outputs: (rows, K) float64, finite."""
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != rows or (k is not None and Y.shape[1] != k):
        want = f"({rows}, {k})" if k is not None else f"({rows},) or ({rows}, n_outputs)"
        raise ClusterModelError(
            f"`model` must return shape {want}: one row per input row and the same outputs every call; "
            f"got shape {Y.shape} {where}"
        )
    if Y.dtype != np.float64:
        try:
            Y = Y.astype(np.float64)
        except (TypeError, ValueError):
            raise ClusterModelError(f"`model` must return numbers, got dtype {Y.dtype} {where}") from None
    if not np.all(np.isfinite(Y)):
        bad = np.argwhere(~np.isfinite(Y))[0]
        raise ClusterModelError(
            f"`model` returned NaN or infinite values (first at row {bad[0]}, output {bad[1]}, {where}); "
            "it must return a finite number for every sample"
        )
    return Y


def _evaluate(model, X, k, where):
    """Run the model on one block of rows."""
    return _as_outputs(model(X), X.shape[0], k, where)


def _chunk_task(model, designs, r, lo, hi, k, shift, boot, keep_rows, mode=None):
    X = designs.rows(r, lo, hi)
    Y = _evaluate(model, X, k, f"design {r}, rows {lo}..{hi - 1}")
    del X
    return _block_stats(Y.reshape(hi - lo, designs.d + 2, k), shift, boot, keep_rows, mode)


# --------------------------------------------------------------------------------------------
# From sums to indices
# --------------------------------------------------------------------------------------------


def _moments(st, d):
    """Per-output scale quantities of one design's sums (shifted outputs)."""
    n = float(st["count"][0])
    m_all = st["sum_all"] / (n * (d + 2))
    var_all = np.maximum(st["sum2_all"] / (n * (d + 2)) - m_all**2, 0.0)
    mean_ab = (st["sA"] + st["sB"]) / (2 * n)
    var_ab = np.maximum((st["sAA"] + st["sBB"]) / (2 * n) - mean_ab**2, 0.0)
    return n, m_all, var_all, var_ab


def _design_indices(st, d, constant):
    """S1, ST (K, D) and the 'varies over A and B' flag (K,) of one design, as SALib computes them.

    SALib standardises by the mean and sd of all runs; S1 = mean(B (AB_j - A)) / V and
    ST = mean((A - AB_j)^2) / (2V), V the variance of the A and B values. In sums of
    shifted outputs y' = y - shift: mean((B - m)(AB_j - A)) = (sBD - m sD) / N.
    """
    n, m_all, var_all, var_ab = _moments(st, d)
    sd_all = np.sqrt(var_all)
    flat = (st["max_ab"] - st["min_ab"]) <= _EPS * sd_all  # SALib: ptp of the standardised A, B <= eps
    ok = (var_ab > _EPS * var_all) & ~flat & ~constant
    safe = np.where(ok, var_ab, 1.0)[:, None]
    s1 = (st["sBD"] - m_all[:, None] * st["sD"]) / n / safe
    st_ = 0.5 * st["sDD"] / n / safe
    s1 = np.where(ok[:, None], s1, 0.0)
    st_ = np.where(ok[:, None], st_, 0.0)
    return s1, st_, ok, flat


def _replicate_interval(s1_r, st_r, ok_r, constant, confidence_level):
    """Mean over informative replicates and the t interval of their spread."""
    w = ok_r[:, :, None]
    cnt = ok_r.sum(axis=0)  # (K,)
    c3 = np.maximum(cnt, 1)[:, None]
    out = {}
    q = 0.5 + confidence_level / 2
    tq = np.where(cnt >= 2, scipy.stats.t.ppf(q, np.maximum(cnt - 1, 1)), 0.0)[:, None]
    estimable = (cnt >= 2)[:, None]
    for key, x in (("S1", s1_r), ("ST", st_r)):
        mean = np.where(w, x, 0.0).sum(axis=0) / c3
        var = np.where(w, (x - mean) ** 2, 0.0).sum(axis=0) / np.maximum(c3 - 1, 1)
        half = tq * np.sqrt(var / c3)
        low, high = mean - half, mean + half
        # Too few informative replicates: nothing is known beyond S in [0, 1].
        low = np.where(estimable, low, 0.0)
        high = np.where(estimable, high, 1.0)
        half = np.where(estimable, half, 0.5)
        zero = constant[:, None]
        out[key] = np.where(zero, 0.0, mean)
        out[f"{key}_low"] = np.where(zero, 0.0, low)
        out[f"{key}_high"] = np.where(zero, 0.0, high)
        out[f"{key}_conf"] = np.where(zero, 0.0, half)
    return out


def _bootstrap_interval(st, boot, d, constant, confidence_level, s1, st_, ok):
    """Percentile interval and SALib's half-width from the resampled sums of one design."""
    n, m_all, var_all, _ = _moments(st, d)
    mb = boot["bAB"] / (2 * n)
    vb = boot["bAABB"] / (2 * n) - mb**2  # (R, K)
    okb = (vb > _EPS * var_all) & ok[None, :]
    sb = np.where(okb, vb, 1.0)[:, :, None]
    S1b = np.where(okb[:, :, None], (boot["bBD"] - m_all[None, :, None] * boot["bD"]) / n / sb, 0.0)
    STb = np.where(okb[:, :, None], 0.5 * boot["bDD"] / n / sb, 0.0)
    alpha = 1 - confidence_level
    z = scipy.stats.norm.ppf(0.5 + confidence_level / 2)
    out = {"S1": s1, "ST": st_, "S1_resamples": S1b, "ST_resamples": STb}
    okk = ok[:, None]
    for key, b in (("S1", S1b), ("ST", STb)):
        lo, hi = np.quantile(b, [alpha / 2, 1 - alpha / 2], axis=0)
        out[f"{key}_low"] = np.where(okk, lo, 0.0)
        out[f"{key}_high"] = np.where(okk, hi, np.where(constant[:, None], 0.0, 1.0))  # [0, 1]: not estimable
        out[f"{key}_conf"] = np.where(okk, z * b.std(axis=0, ddof=1), 0.0)
    return out


def _finalise(level_stats, shift, d, method, confidence_level, constant_rtol):
    """Indices at each convergence level. ``level_stats[l][r]``: sums of design r up to level l."""
    total = _combine(*level_stats[-1])
    spread = total["max_all"] - total["min_all"]
    scale = np.maximum(np.abs(total["max_all"]), np.abs(total["min_all"]))
    constant = spread <= constant_rtol * scale
    runs = []
    for per_design in level_stats:
        est = [_design_indices(st, d, constant) for st in per_design]
        s1_r = np.stack([e[0] for e in est])
        st_r = np.stack([e[1] for e in est])
        ok_r = np.stack([e[2] for e in est])
        flat_r = np.stack([e[3] for e in est])
        if method == "replicate":
            out = _replicate_interval(s1_r, st_r, ok_r, constant, confidence_level)
        else:
            out = _bootstrap_interval(per_design[0], per_design[0]["boot_level"], d, constant, confidence_level, s1_r[0], st_r[0], ok_r[0])
        out["S1_replicates"] = np.where(ok_r[:, :, None] | constant[None, :, None], s1_r, np.nan)
        out["ST_replicates"] = np.where(ok_r[:, :, None] | constant[None, :, None], st_r, np.nan)
        out["informative"] = ok_r.sum(axis=0)
        out["flat_ab"] = flat_r.all(axis=0) & ~constant
        runs.append(out)
    return runs, total, constant


def _diagnostics(total, constant, n, replicates, d, shift):
    """Uncertainty of the outputs, 0/1 outputs and their events."""
    m = float(total["count"][0])  # design rows over all designs
    mean_ab = (total["sA"] + total["sB"]) / (2 * m)
    var_ab = np.maximum((total["sAA"] + total["sBB"]) / (2 * m) - mean_ab**2, 0.0)
    binary = total["binary"] & ~constant
    runs_ab = 2 * m
    events = np.where(binary, np.minimum(total["ones_ab"], runs_ab - total["ones_ab"]), 0).astype(np.int64)
    runs_all = m * (d + 2)
    p_all = np.minimum(total["ones_all"], runs_all - total["ones_all"]) / runs_all  # all rows share the marginal law
    # an output of any kind that leaves its most common (pilot) value in few A and B runs: a rare change
    off = total["off_ab"]
    changes = ~binary & ~constant & (off < EVENTS_NEEDED)
    events = np.where(changes, off, events).astype(np.int64)
    p_all = np.where(changes, off / runs_ab, p_all)
    rare = (binary | changes) & (events < EVENTS_NEEDED)
    with np.errstate(divide="ignore"):
        want = np.where(p_all > 0, EVENTS_NEEDED / (2 * replicates * np.maximum(p_all, 1e-300)), np.inf)
    n_needed = np.zeros(len(constant), dtype=np.int64)
    for k in np.flatnonzero(rare):
        w = want[k]
        n_needed[k] = 2 * n * 64 if not np.isfinite(w) else max(2 * n, 1 << max(1, math.ceil(math.log2(max(w, 2)))))
    keep = np.concatenate(total.get("keep", [np.empty((0, len(constant)))]), axis=0)
    if keep.shape[0]:
        low, high = np.quantile(keep, [0.05, 0.95], axis=0)
    else:
        low = high = mean_ab + shift
    std = np.where(constant, 0.0, np.sqrt(var_ab))
    return {
        "binary": total["binary"] & ~constant,
        "events": events,
        "n_needed": n_needed,
        "output_mean": mean_ab + shift,
        "output_std": std,
        "output_low": low,
        "output_high": high,
    }


# --------------------------------------------------------------------------------------------
# Planning: pilot run, memory estimate, chunks
# --------------------------------------------------------------------------------------------


def _pilot(model, designs, n):
    """Run the model on the first rows of design 0: outputs K, the shift, the mode, bytes per model row.

    Memory is traced with :mod:`tracemalloc` (numpy reports its buffers to it) at two sizes,
    so a per-call constant and a per-row cost can be told apart.
    """
    d = designs.d
    small, large = (min(p, n) for p in _PILOT_ROWS)
    X = designs.rows(0, 0, small)
    Y = _evaluate(model, X, None, "design 0, pilot rows")  # warm-up (caches), shapes
    k = Y.shape[1]
    shift = Y.mean(axis=0)
    mode = _mode(Y)
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    peaks = []
    try:
        for rows in (small, large):
            X = designs.rows(0, 0, rows)
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            Yp = _evaluate(model, X, k, "design 0, pilot rows")
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
            del Yp
    finally:
        if not tracing:
            tracemalloc.stop()
    rows_small, rows_large = small * (d + 2), large * (d + 2)
    slope = (peaks[1] - peaks[0]) / (rows_large - rows_small) if rows_large > rows_small else peaks[1] / rows_large
    per_row = max(slope, peaks[1] / rows_large / 4, 8.0 * k)
    fixed = max(0.0, peaks[1] - per_row * rows_large)
    return k, shift, mode, per_row, fixed


def _plan(*, n, d, k, replicates, levels, n_resamples, workers, per_row, model_fixed, limit, chunk_size):
    """Chunk size (design rows), estimated peak memory, quantile rows and the reduction's fan-in.

    Raises a one-line :class:`ClusterModelError` naming the option that fixes it when the
    budget cannot be met.
    """
    f8 = 8.0
    stats = f8 * k * (14 + 3 * d)  # one chunk's (or design's) sums
    boot_stats = f8 * n_resamples * k * (2 + 3 * d) if n_resamples else 0.0
    result = stats + levels * boot_stats  # what one chunk hands to the reduction
    split = _SPLIT_EVERY if result <= 16 * 2**20 else 2  # fewer results waiting when each is large
    q_rows = min(n, _QUANTILE_ROWS)
    while q_rows > 64 and 16.0 * q_rows * k > limit / 8:
        q_rows //= 2
    sums = replicates * levels * stats + 6 * f8 * replicates * levels * k * d  # running sums, final arrays
    boot = (
        levels * (levels + 1) / 2 * boot_stats  # resampled sums per level
        + (n * n_resamples * (f8 + 2) if n_resamples else 0.0)  # SALib's row draws and the counts
        + 2 * levels * n_resamples * k * d * f8  # resampled indices
    )
    waiting = 2 * split * workers * result  # chunk results waiting in the reduction tree
    fixed = sums + boot + waiting + 16.0 * q_rows * k + 32 * 2**20  # + quantile rows, dask's bookkeeping
    per_design_row = (
        (d + 2) * (d * f8 + per_row)  # the chunk's inputs and the model's memory per run (its outputs included)
        + (d + 2) * k * (f8 + 2)  # the shifted copy of the outputs, and 0/1 tests
        + 4 * f8 * k  # sums of squares and small temporaries
        + ((n_resamples + (2 + 3 * d) * k) * f8 if n_resamples else 0.0)  # counts as floats, the row features
    )
    per_chunk_fixed = model_fixed + result

    def need(c):
        return fixed + workers * (per_chunk_fixed + c * per_design_row)

    if chunk_size is not None:
        c = min(chunk_size, n)
        if need(c) > limit:
            fit = int((limit - fixed - workers * per_chunk_fixed) // (workers * per_design_row))
            hint = f"`chunk_size` <= {fit}" if fit >= 1 else "a larger `memory_limit`"
            raise ClusterModelError(
                f"the Sobol' analysis would need about {_bytes(need(c))} with chunk_size={c} ({workers} chunk(s) at "
                f"once) but `memory_limit` is {_bytes(limit)}; use {hint}"
            )
        return c, need(c), q_rows, split
    # the largest power of two that fits, but small enough that every worker gets chunks to run
    c = 1 << max(0, (n).bit_length() - 1)
    while c > _MIN_CHUNK and (n // c) * replicates < 4 * workers:
        c //= 2
    while c > 1 and need(c) > limit:
        c //= 2
    if need(c) > limit:
        bootstrap_part = boot + (waiting if boot_stats > stats else 0.0) + workers * levels * boot_stats
        parts = {
            "the model runs of one design row per worker": workers * (model_fixed + stats + per_design_row),
            "the running sums of every design and convergence level": sums + (0.0 if boot_stats > stats else waiting),
            "the bootstrap's resampled sums and row draws": bootstrap_part,
            "the reduction's fixed overhead": 16.0 * q_rows * k + 32 * 2**20,
        }
        big = max(parts, key=parts.get)
        fix = {
            "the running sums of every design and convergence level": " or fewer `replicates` or `convergence_levels`",
            "the bootstrap's resampled sums and row draws": " or fewer `n_resamples` (or method='replicate')",
        }.get(big, "")
        raise ClusterModelError(
            f"the Sobol' analysis needs at least {_bytes(need(1))} (the largest part: {big}) but `memory_limit` is "
            f"{_bytes(limit)}; pass memory_limit='{_bytes(1.25 * need(1)).replace(' ', '')}'{fix}"
        )
    return c, need(c), q_rows, split


def _chunks(n, levels, chunk):
    """(segment, lo, hi) ranges: segment s covers rows n/2^(L-1-s) .. of the convergence levels."""
    sizes = [n >> (levels - 1 - i) for i in range(levels)]
    out = []
    lo = 0
    for s, top in enumerate(sizes):
        while lo < top:
            hi = min(lo + chunk, top)
            out.append((s, lo, hi))
            lo = hi
    return sizes, out


def _run_graph(groups, chunk_key, n_chunks, client, progress):
    """Compute the group totals (a list of Delayed) locally or on a distributed client, with a progress bar."""
    import dask
    from tqdm.auto import tqdm

    disable = True if not progress else None  # None: shown only when standard error is a terminal
    with tqdm(total=n_chunks, disable=disable, desc="sobol", unit="chunk", leave=False) as bar:
        if client is None:
            from dask.callbacks import Callback

            def posttask(key, result, dsk, state, worker_id):
                if isinstance(key, tuple) and key[0] == chunk_key:
                    bar.update(1)

            with Callback(posttask=posttask), one_blas_thread():
                return list(dask.compute(*groups, scheduler="threads"))
        from distributed import as_completed

        futures = client.compute(groups)
        per_group = n_chunks / max(len(futures), 1)
        for _ in as_completed(futures):
            bar.update(per_group)
        return client.gather(futures)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def sobol_indices(
    model: Callable[[np.ndarray], ArrayLike],
    problem: Mapping[str, Any],
    *,
    n: int = 1024,
    replicates: int | None = None,
    method: str = "replicate",
    n_resamples: int = 100,
    confidence_level: float = 0.95,
    rng: RNGLike = None,
    seed: RNGLike = None,
    output_names: Sequence[str] | None = None,
    convergence_levels: int = 1,
    chunk_size: int | None = None,
    memory_limit: int | str | None = None,
    client: Client | str | None = None,
    progress: bool = True,
) -> SobolIndicesResult:
    """First-order and total Sobol' indices of every output of a vectorised model, streamed in chunks.

    Parameters
    ----------
    model : callable
        ``model(X)`` with ``X`` of shape (rows, D) returns shape (rows,) or (rows, K). It is
        called on blocks of rows (possibly in several threads or on other machines at once), so
        it must be a pure function of its rows; for a ``dask.distributed`` client it must
        pickle.
    problem : dict
        SALib problem (``num_vars``, ``names``, ``bounds``; uniform factors).
    n : int, default 1024
        Base sample size N of each design, a power of two.
    replicates : int, optional
        Number R of independent scrambled designs of the replicate method (default
        :data:`DEFAULT_REPLICATES` = 10, at least 2). The model runs ``R * N * (D + 2)`` times:
        the budget is N per design times R designs.
    method : {'replicate', 'bootstrap'}, default 'replicate'
        ``'replicate'``: indices averaged over R designs, interval mean +/- t(R - 1) sd / sqrt(R).
        ``'bootstrap'``: one design of N rows, percentile bootstrap over its rows with SALib's
        resamples (for comparison with SALib; badly calibrated, see Notes).
    n_resamples : int, default 100
        Bootstrap resamples (``method='bootstrap'`` only).
    confidence_level : float, default 0.95
    rng : numpy.random.Generator, int or None
        Normalised once with :func:`numpy.random.default_rng`; the designs (and the bootstrap's
        resamples) use independent streams from ``rng.spawn``. The same seed gives identical
        results whatever the chunk size or scheduler.
    seed : numpy.random.Generator, int or None
        SALib's name for ``rng``; give one or the other.
    output_names : sequence of str, optional
    convergence_levels : int, default 1
        With L > 1, also estimate every index at N / 2^(L-1), ..., N / 2, N from prefixes of the
        same designs (one model evaluation) and store them in ``result.convergence``.
    chunk_size : int, optional
        Design rows per chunk (each chunk runs the model on chunk_size * (D + 2) rows). Default:
        the largest power of two that keeps the estimated memory within ``memory_limit``.
    memory_limit : int or str, optional
        Memory budget of the analysis (bytes, or a size such as ``'4GiB'``), on top of what the
        process already holds (Python, the imported libraries, the study). The need is estimated
        before the first chunk (from a pilot run of the model traced with :mod:`tracemalloc`); if
        it cannot be met a :class:`ClusterModelError` says which option fixes it.
    client : dask.distributed.Client or str, optional
        Run the chunks on a ``dask.distributed`` cluster (a Client or a scheduler address such as
        ``'tcp://10.0.0.1:8786'``). Default: dask's local threaded scheduler.
    progress : bool, default True
        Show a progress bar (tqdm, on standard error) when standard error is a terminal;
        ``False`` never shows one.

    Returns
    -------
    SobolIndicesResult

    Raises
    ------
    ClusterModelError
        If ``n`` is not a power of two, an option is out of range, the model returns the wrong
        shape or a non-finite value, or the memory budget cannot be met (naming the option that
        fixes it).

    Notes
    -----
    Each design is SALib's Saltelli design (``calc_second_order=False``) on a scrambled Sobol'
    sequence, and each design's indices are SALib's: the outputs centred and scaled by the mean
    and sd of all its runs, S1_j = mean(B (AB_j - A)) / V (Saltelli et al. 2010) and
    ST_j = mean((A - AB_j)^2) / (2V) (Jansen 1999), V the variance of the A and B values. Every
    term is a sum over design rows, so each chunk of rows is reduced to sums per output and
    factor (of A, B, A^2, B^2, AB_j - A, B (AB_j - A), (A - AB_j)^2 and of all runs) and the
    sums of all chunks are added: memory is O(outputs x factors x replicates) plus one chunk per
    worker, whatever N. Outputs are shifted by a pilot mean before summing, so the sums do not
    cancel. The bootstrap's resampled statistics are sums too (weighted by how often each row
    is drawn), so it streams as well, but it keeps SALib's (N x n_resamples) draw of row indices
    (9 N n_resamples bytes at its peak) and its resampled sums (8 n_resamples K (2 + 3D) bytes).

    **Calibration** (``benchmarks/bench_sobol_coverage.py``, 200 seeds of Ishigami and the
    G-function, N = 256 and 1024 per design): the nominal 95 % replicate intervals held the
    analytic indices 95.8-96.9 % of the time (every single index 93-100 %), about 1.1 times the
    width of the actual seed-to-seed spread (the t quantile). SALib's bootstrap intervals on one
    design of 8N rows covered 98-100 % because they were 2.8-14.6 times (median over indices)
    wider than the spread of the estimate they belong to. For 0/1 outputs with few events both
    are too narrow (coverage 50-88 % below about 300 events over all A and B runs; see
    :data:`EVENTS_NEEDED`), which the rare-event diagnostics (``events``, ``n_needed``) flag. An
    output constant up to rounding (:data:`CONSTANT_RTOL`) gets S1 = ST = 0 exactly with the
    interval [0, 0].

    References
    ----------
    Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. and Tarantola, S. (2010).
    Variance based sensitivity analysis of model output. Design and estimator for the total
    sensitivity index. Computer Physics Communications 181(2), 259-270.
    https://doi.org/10.1016/j.cpc.2009.09.018

    Jansen, M. J. W. (1999). Analysis of variance designs for model output. Computer Physics
    Communications 117(1-2), 35-43. https://doi.org/10.1016/S0010-4655(98)00154-4

    Owen, A. B. (1997). Scrambled net variance for integrals of smooth functions. Annals of
    Statistics 25(4), 1541-1562. https://doi.org/10.1214/aos/1031594731

    Owen, A. B. (2025). Error estimation for quasi-Monte Carlo. arXiv:2501.00150.
    https://arxiv.org/abs/2501.00150

    Examples
    --------
    >>> r = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=1024, rng=1)
    >>> exact = ishigami_indices()["S1"]
    >>> bool(np.all((r.S1_low[0] - 0.01 <= exact) & (exact <= r.S1_high[0] + 0.01)))
    True
    >>> r.model_runs  # 10 designs x N x (D + 2)
    51200
    """
    names, d, lower, upper = _problem_iv(problem)
    n = _n_iv(n)
    method, replicates, n_resamples = _method_iv(method, replicates, n_resamples)
    confidence_level = check_probability(confidence_level, "confidence_level")
    levels = check_positive_int(convergence_levels, "convergence_levels")
    if n >> (levels - 1) < 2:
        raise ClusterModelError(
            f"`convergence_levels` = {levels} would go below N = 2 from n = {n}; use at most {n.bit_length() - 1}"
        )
    if chunk_size is not None:
        chunk_size = check_positive_int(chunk_size, "chunk_size")
    limit = memory_limit_iv(memory_limit)
    if not callable(model):
        raise ClusterModelError(f"`model` must be callable as model(X), got {type(model).__name__}")
    gen, user_seed = _rng_iv(rng, seed)
    return _run(
        model, names, d, lower, upper, n=n, method=method, replicates=replicates, n_resamples=n_resamples,
        confidence_level=confidence_level, gen=gen, user_seed=user_seed, output_names=output_names,
        levels=levels, chunk_size=chunk_size, limit=limit, client=client, progress=progress,
    )


def _streams(gen, method, replicates):
    """Design streams and the bootstrap's resample stream, spawned from one generator."""
    if method == "replicate":
        return gen.spawn(replicates), None
    design, resample = gen.spawn(2)
    return [design], resample


def _run(model, names, d, lower, upper, *, n, method, replicates, n_resamples, confidence_level, gen, user_seed,
         output_names, levels, chunk_size, limit, client, progress):
    import dask

    entropy = _entropy(gen)
    streams, resample_stream = _streams(gen, method, replicates)
    designs = _Designs(d, lower, upper, streams)
    k, shift, mode, per_row, model_fixed = _pilot(model, designs, n)
    outputs = _output_names_iv(output_names, k)
    client, owned = client_iv(client)
    try:
        workers = dask_workers(client)
        chunk, estimate, q_rows, split = _plan(
            n=n, d=d, k=k, replicates=replicates, levels=levels, n_resamples=n_resamples, workers=workers,
            per_row=per_row, model_fixed=model_fixed, limit=limit, chunk_size=chunk_size,
        )
        sizes, ranges = _chunks(n, levels, chunk)
        counts = _bootstrap_counts(resample_stream, sizes, n_resamples) if method == "bootstrap" else None
        token = uuid.uuid4().hex[:12]
        chunk_key = f"sobol-chunk-{token}"
        model_d = dask.delayed(model, name=f"sobol-model-{token}")
        designs_d = dask.delayed(designs, name=f"sobol-designs-{token}")
        task = dask.delayed(_chunk_task, pure=True)
        combine = dask.delayed(_combine, pure=True)
        groups, group_index = [], []
        i = 0
        for r in range(replicates):
            for s in range(levels):
                parts = []
                for seg, lo, hi in ranges:
                    if seg != s:
                        continue
                    boot = [(lvl, counts[lvl][:, lo:hi]) for lvl in range(s, levels)] if counts is not None else ()
                    keep = max(0, min(hi, q_rows) - lo) if r == 0 else 0
                    parts.append(task(model_d, designs_d, r, lo, hi, k, shift, boot, keep, mode, dask_key_name=(chunk_key, i)))
                    i += 1
                depth = 0
                while len(parts) > 1:
                    parts = [
                        combine(*parts[a : a + split], dask_key_name=(f"sobol-combine-{token}", r, s, depth, a))
                        for a in range(0, len(parts), split)
                    ]
                    depth += 1
                groups.append(parts[0])
                group_index.append((r, s))
        totals = _run_graph(groups, chunk_key, i, client, progress)
    finally:
        if owned:
            client.close()
    seg_stats = {key: t for key, t in zip(group_index, totals)}
    # Level l holds the sums of segments 0..l (rows 0 .. N/2^(L-1-l)); fold them in order.
    level_stats = []
    for lvl in range(levels):
        per_design = []
        for r in range(replicates):
            st = _combine(*[seg_stats[(r, s)] for s in range(lvl + 1)])
            if method == "bootstrap":
                st["boot_level"] = st["boot"][lvl]
            per_design.append(st)
        level_stats.append(per_design)
    runs, total, constant = _finalise(level_stats, shift, d, method, confidence_level, CONSTANT_RTOL)
    diag = _diagnostics(total, constant, n, replicates, d, shift)
    main = runs[-1]
    conv = None
    if levels > 1:
        conv = {"n": sizes}
        for key in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"):
            conv[key] = np.stack([run[key] for run in runs])
    return _result(
        main,
        factors=tuple(names),
        outputs=tuple(outputs),
        method=method,
        n=n,
        replicates=replicates,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        seed=user_seed,
        entropy=entropy,
        constant=constant,
        quantile_rows=min(n, q_rows),
        convergence=conv,
        chunk_size=chunk,
        memory_estimate=int(estimate),
        **diag,
    )


def _result(main: dict, **fields) -> SobolIndicesResult:
    """The result from one run's estimates (``_finalise``) and the run's description."""
    keys = ("S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low", "ST_high", "ST_conf", "S1_replicates", "ST_replicates", "flat_ab", "informative")
    return SobolIndicesResult(
        **{k: main[k] for k in keys},
        S1_resamples=main.get("S1_resamples"),
        ST_resamples=main.get("ST_resamples"),
        events_needed=EVENTS_NEEDED,
        **fields,
    )


def _bootstrap_counts(stream, sizes, n_resamples):
    """Per convergence level, the (n_resamples, N_l) multiplicity of each row in each resample.

    The row indices are SALib's: ``default_rng(seed).integers(N, size=(N, n_resamples))``.
    """
    out = []
    for size in sizes:
        g = copy.deepcopy(stream)  # every level draws from the same stream, as SALib does for each prefix
        r = g.integers(size, size=(size, n_resamples))
        flat = (r.T + np.arange(n_resamples)[:, None] * size).ravel()
        del r
        out.append(np.bincount(flat, minlength=size * n_resamples).reshape(n_resamples, size).astype(np.uint8))
    return out


def _output_names_iv(output_names, k):
    if output_names is None:
        return [f"y{j}" for j in range(k)] if k > 1 else ["y"]
    names = [str(o) for o in output_names]
    if len(names) != k:
        raise ClusterModelError(f"`output_names` has {len(names)} names for {k} outputs")
    return names


def sobol_analyze(
    problem,
    Y,
    *,
    method: str = "replicate",
    n_resamples: int = 100,
    confidence_level: float = 0.95,
    rng=None,
    seed=None,
    output_names=None,
) -> SobolIndicesResult:
    """Sobol' indices of model outputs already in memory, from the design(s) of :func:`sobol_sample`.

    Parameters
    ----------
    problem : dict
        The SALib problem the design(s) were drawn for.
    Y : array_like
        ``method='replicate'``: shape (R, N (D + 2)) or (R, N (D + 2), K), the outputs of
        ``sobol_sample(problem, N, replicates=R, ...)``. ``method='bootstrap'``: shape
        (N (D + 2),) or (N (D + 2), K), the outputs of one design.
    method : {'replicate', 'bootstrap'}, default 'replicate'
    n_resamples : int, default 100
        Bootstrap resamples (bootstrap only).
    confidence_level : float, default 0.95
    rng, seed : numpy.random.Generator, int or None
        Source of the bootstrap row indices, drawn as ``rng.integers(N, size=(N, n_resamples))``:
        with the same integer or generator these are the resamples of SALib's
        ``analyze(..., seed=...)``. Unused by the replicate method.
    output_names : sequence of str, optional

    Returns
    -------
    SobolIndicesResult

    Notes
    -----
    The same estimator as :func:`sobol_indices`, on one chunk holding every run. See there for
    the formulas and the references.
    """
    names, d, _, _ = _problem_iv(problem)
    method, _, n_resamples = _method_iv(method, None, n_resamples)
    confidence_level = check_probability(confidence_level, "confidence_level")
    Yarr = np.asarray(Y)
    if method == "replicate":
        if Yarr.ndim not in (2, 3):
            raise ClusterModelError(
                f"`Y` for method='replicate' must have shape (replicates, rows) or (replicates, rows, outputs), got "
                f"{Yarr.shape}; for one design use method='bootstrap'"
            )
        if Yarr.shape[0] < 2:
            raise ClusterModelError(f"`Y` holds {Yarr.shape[0]} design(s); the replicate method needs at least 2")
        blocks = [Yarr[r] for r in range(Yarr.shape[0])]
    else:
        if Yarr.ndim not in (1, 2):
            raise ClusterModelError(
                f"`Y` for method='bootstrap' must have shape (rows,) or (rows, outputs), got {Yarr.shape}"
            )
        blocks = [Yarr]
    rows = blocks[0].shape[0]
    if rows == 0 or rows % (d + 2):
        raise ClusterModelError(
            f"`Y` has {rows} rows per design, not a multiple of D + 2 = {d + 2}; pass the outputs of a sobol_sample "
            "design (calc_second_order=False)"
        )
    n = _n_iv(rows // (d + 2), "N (rows of Y / (D + 2))")
    gen, user_seed = _rng_iv(rng, seed)
    mats = [_as_outputs(b, rows, None, f"(design {r})") for r, b in enumerate(blocks)]
    k = mats[0].shape[1]
    if any(m.shape[1] != k for m in mats):
        raise ClusterModelError("`Y`: every design must have the same number of outputs")
    outputs = _output_names_iv(output_names, k)
    small = min(_PILOT_ROWS[0], n)
    shift = mats[0][: small * (d + 2)].mean(axis=0)
    mode = _mode(mats[0][: small * (d + 2)])
    counts = _bootstrap_counts(gen, [n], n_resamples) if method == "bootstrap" else None
    per_design = []
    q_rows = min(n, _QUANTILE_ROWS)
    for r, m in enumerate(mats):
        boot = [(0, counts[0])] if counts is not None else ()
        st = _block_stats(m.reshape(n, d + 2, k), shift, boot, q_rows if r == 0 else 0, mode)
        if counts is not None:
            st["boot_level"] = st["boot"][0]
        per_design.append(st)
    runs, total, constant = _finalise([per_design], shift, d, method, confidence_level, CONSTANT_RTOL)
    diag = _diagnostics(total, constant, n, len(mats), d, shift)
    main = runs[0]
    return _result(
        main,
        factors=tuple(names),
        outputs=tuple(outputs),
        method=method,
        n=n,
        replicates=len(mats),
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        seed=user_seed,
        entropy=_entropy(gen),
        constant=constant,
        quantile_rows=q_rows,
        chunk_size=n,
        **diag,
    )


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
