"""Stage 6: variance-based (Sobol') sensitivity of the index, its ranks and its conclusions.

Two layers:

- a generic estimator, :func:`sobol_indices` (sample, evaluate, analyse) and
  its parts :func:`sobol_sample` and :func:`sobol_analyze`, for any vectorised
  model ``Y = model(X)`` and a SALib-style ``problem`` dict. It computes the
  same first-order (Saltelli et al. 2010) and total (Jansen 1999) estimators as
  ``SALib.analyze.sobol.analyze`` with ``calc_second_order=False``, but for
  every output column at once, with the bootstrap as matrix products;
- :func:`weight_sensitivity`, the clustermodel model: the four expert weights
  (mapped onto the simplex inside the model so that Sobol's independent-input
  assumption holds) and optionally the spec's discrete choices as trigger
  factors, acting on every cluster's index, rank and scenario, the scenario
  counts, the mean absolute rank shift and the cluster-region correlation.
  It returns a frozen :class:`SobolResult`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import scipy.stats
import xarray as xr

from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_positive_int, check_probability
from clustermodel.scenarios import pearson
from clustermodel.spec import (
    AGGREGATIONS,
    MISSING_POLICIES,
    NORMALISATIONS,
    REFERENCE_SETS,
    SCENARIOS,
    TREATMENTS,
    IndexSpec,
    ScenarioThresholds,
)

__all__ = [
    "SobolIndicesResult",
    "sobol_sample",
    "sobol_analyze",
    "sobol_indices",
    "ishigami",
    "ishigami_indices",
    "ISHIGAMI_PROBLEM",
    "WEIGHT_DISTRIBUTIONS",
    "TRIGGER_OPTIONS",
    "OUTPUT_QUANTITIES",
    "SobolResult",
    "weight_sensitivity",
    "weight_problem",
    "weight_model",
    "trigger_options",
    "weights_from_unit",
]

#: Below this variance (of outputs scaled to unit variance) SALib sets an index to 0; so do we.
_EPS = np.finfo(float).eps
#: A 0/1 output that changes in fewer A/B runs than this is flagged as a rare flip in the notes.
_RARE_FLIPS = 20
#: Memory budget (bytes) of one bootstrap feature array; outputs are processed in blocks of this size.
_BLOCK_BYTES = 32 * 2**20


# --------------------------------------------------------------------------------------------
# Generic estimator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SobolIndicesResult:
    """First-order and total Sobol' indices of every output with respect to every factor.

    Attributes
    ----------
    S1, ST : ndarray, shape (n_outputs, n_factors)
        Point estimates (Saltelli et al. 2010 first order, Jansen total),
        identical to SALib's ``analyze(..., calc_second_order=False)``.
    S1_low, S1_high, ST_low, ST_high : ndarray, shape (n_outputs, n_factors)
        Percentile bootstrap confidence interval at ``confidence_level``.
    S1_conf, ST_conf : ndarray, shape (n_outputs, n_factors)
        SALib's normal-approximation half-width ``z * sd(bootstrap)``, for
        comparison with SALib output (not an interval by itself).
    S1_resamples, ST_resamples : ndarray, shape (n_resamples, n_outputs, n_factors)
        The bootstrap distribution.
    factors, outputs : tuple of str
        Factor names (from ``problem['names']``) and output names.
    n : int
        Base sample size N; the model was evaluated ``N * (D + 2)`` times.
    n_resamples : int
    confidence_level : float
    sample_seed, resample_seed : int
        The integer seeds passed to ``SALib.sample.sobol.sample`` and to
        ``numpy.random.default_rng`` for the bootstrap indices (identical to
        SALib's ``analyze(seed=resample_seed)``), derived from ``rng``.
    constant : ndarray of bool, shape (n_outputs,)
        Outputs that take one value in every model run: they depend on no
        factor, and every index is exactly 0.
    flat_ab : ndarray of bool, shape (n_outputs,)
        Outputs that vary, but not over the A and B matrices; SALib sets
        their indices to 0 and so does this function (a note says so).
    output_mean, output_std, output_low, output_high : ndarray, shape (n_outputs,)
        Mean, standard deviation, 5 % and 95 % quantiles of each output over
        the 2N runs of the A and B matrices (an uncertainty analysis).
    convergence : dict or None
        ``{"n": [...], "S1": (L, K, D), "S1_low": …, "ST_high": …}`` for
        the increasing base sample sizes of a convergence study.
    notes : tuple of str
    """

    S1: np.ndarray
    S1_low: np.ndarray
    S1_high: np.ndarray
    S1_conf: np.ndarray
    ST: np.ndarray
    ST_low: np.ndarray
    ST_high: np.ndarray
    ST_conf: np.ndarray
    S1_resamples: np.ndarray
    ST_resamples: np.ndarray
    factors: tuple
    outputs: tuple
    n: int
    n_resamples: int
    confidence_level: float
    sample_seed: int | None
    resample_seed: int | None
    constant: np.ndarray
    flat_ab: np.ndarray
    output_mean: np.ndarray
    output_std: np.ndarray
    output_low: np.ndarray
    output_high: np.ndarray
    convergence: dict | None = None
    notes: tuple = ()

    def to_dataset(self) -> xr.Dataset:
        """Indices as an xarray Dataset with dims ``(output, factor)``."""
        dims = ("output", "factor")
        data = {k: (dims, getattr(self, k)) for k in ("S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low", "ST_high", "ST_conf")}
        data["constant"] = ("output", self.constant)
        data["output_mean"] = ("output", self.output_mean)
        data["output_std"] = ("output", self.output_std)
        data["output_low"] = ("output", self.output_low)
        data["output_high"] = ("output", self.output_high)
        if self.convergence is not None:
            for k in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"):
                data[f"convergence_{k}"] = (("n_base",) + dims, self.convergence[k])
        coords = {"output": list(self.outputs), "factor": list(self.factors)}
        if self.convergence is not None:
            coords["n_base"] = list(self.convergence["n"])
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update(_run_attrs(self))
        return ds

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

    def summary(self) -> str:
        """Markdown table of the indices with their intervals."""
        pct = f"{self.confidence_level:.0%}"
        lines = [
            f"Sobol' indices, N = {self.n} (model runs: {self.n * (len(self.factors) + 2)}), "
            f"{self.n_resamples} bootstrap resamples, {pct} percentile intervals.",
            "",
            "| output | factor | S1 | S1 interval | ST | ST interval |",
            "|---|---|---:|---|---:|---|",
        ]
        for r in self.to_records():
            lines.append(
                f"| {r['output']} | {r['factor']} | {r['S1']:.3f} | [{r['S1_low']:.3f}, {r['S1_high']:.3f}] | "
                f"{r['ST']:.3f} | [{r['ST_low']:.3f}, {r['ST_high']:.3f}] |"
            )
        if self.notes:
            lines += ["", *[f"- {t}" for t in self.notes]]
        return "\n".join(lines) + "\n"


def _run_attrs(res: SobolIndicesResult) -> dict:
    from clustermodel import __version__

    return {
        "n": res.n,
        "n_resamples": res.n_resamples,
        "confidence_level": res.confidence_level,
        "sample_seed": -1 if res.sample_seed is None else res.sample_seed,
        "resample_seed": -1 if res.resample_seed is None else res.resample_seed,
        "estimators": "S1: Saltelli et al. (2010); ST: Jansen (1999); as SALib.analyze.sobol.analyze",
        "interval": "percentile bootstrap over the N rows of the Saltelli design",
        "clustermodel_version": __version__,
        "notes": "\n".join(res.notes),
    }


def _problem_iv(problem) -> tuple[list, int]:
    if not isinstance(problem, dict):
        raise ClusterModelError(
            f"`problem` must be a SALib-style dict with 'num_vars', 'names' and 'bounds', got {type(problem).__name__}"
        )
    missing = [k for k in ("num_vars", "names", "bounds") if k not in problem]
    if missing:
        raise ClusterModelError(f"`problem` lacks the key(s) {missing}; give 'num_vars', 'names' and 'bounds'")
    if problem.get("groups") is not None:
        raise ClusterModelError("`problem` with 'groups' is not supported; give one factor per variable")
    names = list(problem["names"])
    d = problem["num_vars"]
    if not isinstance(d, numbers.Integral) or isinstance(d, bool) or d < 1 or d != len(names) or len(problem["bounds"]) != d:
        raise ClusterModelError(
            f"`problem`: 'num_vars' ({d!r}) must be a positive integer equal to the number of 'names' "
            f"({len(names)}) and of 'bounds' ({len(problem['bounds'])})"
        )
    if len(set(names)) != len(names):
        raise ClusterModelError(f"`problem`: factor names must be unique, got {names}")
    return names, int(d)


def _n_iv(n, name: str = "n") -> int:
    n = check_positive_int(n, name, minimum=2)
    if n & (n - 1):
        lo = 1 << (n.bit_length() - 1)
        raise ClusterModelError(
            f"`{name}` must be a power of two (a Sobol' sequence is balanced only at powers of two), "
            f"got {n}; use {lo} or {2 * lo}"
        )
    return n


def _seed_iv(seed, name: str) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 1:
        raise ClusterModelError(
            f"`{name}` must be a positive integer (SALib treats 0 and None as 'use the global random state'), "
            f"got {seed!r}"
        )
    return int(seed)


def _derive_seeds(rng) -> tuple[int, int]:
    """Two positive integer seeds from ``rng`` (SALib falls back to global state on 0/None)."""
    gen = as_rng(rng)
    s = gen.integers(1, 2**63 - 1, size=2, dtype=np.int64)
    return int(s[0]), int(s[1])


def sobol_sample(problem, n, *, rng=None):
    """Saltelli design on a scrambled Sobol' sequence, by ``SALib.sample.sobol.sample``.

    Parameters
    ----------
    problem : dict
        SALib problem: ``num_vars``, ``names``, ``bounds`` (uniform factors).
    n : int
        Base sample size N, a power of two.
    rng : int, numpy.random.Generator or None
        An int is used directly as SALib's ``seed`` (it must be positive:
        SALib treats 0 like None, i.e. the global random state). A Generator or
        None first draws a positive integer seed from it.

    Returns
    -------
    X : ndarray, shape (N * (D + 2), D)
        Rows ``A_i, AB_i1, …, AB_iD, B_i`` for i = 1..N (no second-order rows).
    seed : int
        The integer seed given to SALib.

    Notes
    -----
    For one seed, the first ``n' * (D + 2)`` rows of a design of size ``n``
    are the design of size ``n'`` (the Sobol' sequence is extensible); the
    convergence study uses this to evaluate the model once.
    """
    from SALib.sample import sobol as salib_sobol

    _problem_iv(problem)
    n = _n_iv(n)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        seed = _seed_iv(rng, "rng")
    else:
        seed = _derive_seeds(rng)[0]
    X = salib_sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    return X, seed


def _bootstrap_counts(r: np.ndarray) -> np.ndarray:
    """(R, N) matrix: how often each of the N rows appears in each resample (columns of ``r``)."""
    n, n_res = r.shape
    flat = (r.T + np.arange(n_res)[:, None] * n).ravel()
    return np.bincount(flat, minlength=n * n_res).reshape(n_res, n).astype(float)


def _analyze_core(Y: np.ndarray, d: int, r: np.ndarray, confidence_level: float):
    """Point estimates and bootstrap of all outputs at once. ``Y``: (N*(D+2), K)."""
    rows, k = Y.shape
    n = rows // (d + 2)
    constant = np.ptp(Y, axis=0) == 0
    mean = Y.mean(axis=0)
    std = Y.std(axis=0)
    Yn = (Y - mean) / np.where(constant, 1.0, std)  # as SALib: centre and scale by the sd of all runs
    Yr = Yn.reshape(n, d + 2, k)
    A = Yr[:, 0, :]
    B = Yr[:, d + 1, :]
    AB = Yr[:, 1 : d + 1, :]  # (N, D, K)
    y = np.concatenate([A, B], axis=0)
    flat_ab = (np.ptp(y, axis=0) <= _EPS) & ~constant
    var = np.var(y, axis=0)
    ok = (var > _EPS) & ~flat_ab & ~constant  # (K,)
    safe = np.where(ok, var, 1.0)
    S1 = np.where(ok, np.mean(B[:, None, :] * (AB - A[:, None, :]), axis=0) / safe, 0.0).T  # (K, D)
    ST = np.where(ok, 0.5 * np.mean((A[:, None, :] - AB) ** 2, axis=0) / safe, 0.0).T

    # Bootstrap: every resample statistic is a mean over resampled rows, i.e. counts @ features / N.
    counts = _bootstrap_counts(r)  # (R, N)
    n_res = counts.shape[0]
    S1b = np.zeros((n_res, k, d))
    STb = np.zeros((n_res, k, d))
    block = max(1, _BLOCK_BYTES // (n * 8))  # outputs per block: one (N, block) feature array at a time
    for lo in range(0, k, block):
        sl = slice(lo, min(k, lo + block))
        a, b = A[:, sl], B[:, sl]
        ma, mb = counts @ a / n, counts @ b / n  # (R, Kb) resample means
        ma2, mb2 = counts @ (a * a) / n, counts @ (b * b) / n
        vb = 0.5 * (ma2 + mb2) - (0.5 * (ma + mb)) ** 2  # variance of the resampled A and B values
        okb = (vb > _EPS) & ok[sl][None, :]
        sb = np.where(okb, vb, 1.0)
        for j in range(d):
            abj = AB[:, j, sl]
            S1b[:, sl, j] = np.where(okb, (counts @ (b * (abj - a)) / n) / sb, 0.0)
            STb[:, sl, j] = np.where(okb, (counts @ (0.5 * (a - abj) ** 2) / n) / sb, 0.0)
    alpha = 1 - confidence_level
    z = scipy.stats.norm.ppf(0.5 + confidence_level / 2)
    S1_low, S1_high = np.quantile(S1b, [alpha / 2, 1 - alpha / 2], axis=0)
    ST_low, ST_high = np.quantile(STb, [alpha / 2, 1 - alpha / 2], axis=0)
    okk = ok[:, None]
    yab = np.concatenate([Y[:: d + 2], Y[d + 1 :: d + 2]])
    return {
        "S1": S1,
        "ST": ST,
        "S1_low": np.where(okk, S1_low, 0.0),
        "S1_high": np.where(okk, S1_high, 0.0),
        "ST_low": np.where(okk, ST_low, 0.0),
        "ST_high": np.where(okk, ST_high, 0.0),
        "S1_conf": np.where(okk, z * S1b.std(axis=0, ddof=1), 0.0),
        "ST_conf": np.where(okk, z * STb.std(axis=0, ddof=1), 0.0),
        "S1_resamples": S1b,
        "ST_resamples": STb,
        "constant": constant,
        "flat_ab": flat_ab,
        "output_mean": yab.mean(axis=0),
        "output_std": yab.std(axis=0),
        "output_low": np.quantile(yab, 0.05, axis=0),
        "output_high": np.quantile(yab, 0.95, axis=0),
    }


def _as_outputs(Y, rows: int, output_names):
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != rows:
        raise ClusterModelError(
            f"`Y` (the model output) must have shape ({rows},) or ({rows}, n_outputs): one row per sample row; "
            f"got shape {Y.shape}"
        )
    Y = Y.astype(float)
    if not np.all(np.isfinite(Y)):
        bad = np.argwhere(~np.isfinite(Y))[0]
        raise ClusterModelError(
            f"`Y` holds NaN or infinite values (first at row {bad[0]}, output {bad[1]}); the model must return a "
            "finite number for every sample"
        )
    if output_names is None:
        output_names = [f"y{k}" for k in range(Y.shape[1])] if Y.shape[1] > 1 else ["y"]
    output_names = [str(o) for o in output_names]
    if len(output_names) != Y.shape[1]:
        raise ClusterModelError(f"`output_names` has {len(output_names)} names for {Y.shape[1]} outputs")
    return Y, output_names


def _notes_for(constant, flat_ab, outputs) -> list:
    notes = []
    const = [o for o, c in zip(outputs, constant) if c]
    if const:
        shown = ", ".join(const[:8]) + (f" and {len(const) - 8} more" if len(const) > 8 else "")
        notes.append(
            f"{len(const)} of {len(outputs)} output(s) take the same value in every model run ({shown}): they do "
            "not depend on any factor, so S1 = ST = 0 exactly for them (SALib would divide by a zero variance)."
        )
    flat = [o for o, c in zip(outputs, flat_ab) if c]
    if flat:
        shown = ", ".join(flat[:8]) + (f" and {len(flat) - 8} more" if len(flat) > 8 else "")
        notes.append(
            f"{len(flat)} output(s) vary only in the cross-sampled runs, not over the A and B matrices ({shown}); "
            "their variance estimate is 0 and their indices are set to 0 as SALib does: increase N to estimate them."
        )
    return notes


def sobol_analyze(problem, Y, *, n_resamples: int = 100, confidence_level: float = 0.95, rng=None, output_names=None):
    """First-order and total Sobol' indices of every output column from a Saltelli design.

    Parameters
    ----------
    problem : dict
        The SALib problem the design was drawn for.
    Y : array_like, shape (N * (D + 2),) or (N * (D + 2), K)
        Model outputs, one row per row of :func:`sobol_sample`'s design
        (``calc_second_order=False`` layout).
    n_resamples : int, default 100
        Bootstrap resamples of the N design rows.
    confidence_level : float, default 0.95
    rng : int, numpy.random.Generator or None
        Source of the bootstrap row indices, drawn as
        ``rng.integers(N, size=(N, n_resamples))``: with an int seed ``s > 0``
        these are exactly the resamples of SALib's ``analyze(..., seed=s)``.
    output_names : sequence of str, optional

    Returns
    -------
    SobolIndicesResult

    Notes
    -----
    As in SALib, each output is first centred and scaled by the mean and
    standard deviation of all its runs. With ``A``, ``B`` and ``AB_j`` the
    outputs of the three kinds of rows and ``V`` the variance of the ``A``
    and ``B`` values together,

    .. math:: S_j = \\frac{\\overline{B (AB_j - A)}}{V}, \\qquad
              S_{Tj} = \\frac{\\overline{(A - AB_j)^2}}{2V}

    (Saltelli et al. 2010, Table 2 (b) and (f)). An output with the same value
    in every run depends on no factor: its indices are exactly 0 and a note
    says so, where SALib would divide by a zero variance. Each bootstrap
    statistic is a mean over resampled rows, so all resamples of all outputs
    are computed as one matrix product of the (resample x row) count matrix
    with the per-row terms. Intervals are percentile bootstrap intervals;
    ``S1_conf``/``ST_conf`` reproduce SALib's half-width ``z * sd``.

    References
    ----------
    Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. and Tarantola, S. (2010).
    Variance based sensitivity analysis of model output. Design and estimator for the total
    sensitivity index. Computer Physics Communications 181(2), 259-270.
    https://doi.org/10.1016/j.cpc.2009.09.018

    Jansen, M. J. W. (1999). Analysis of variance designs for model output. Computer Physics
    Communications 117(1-2), 35-43. https://doi.org/10.1016/S0010-4655(98)00154-4

    Herman, J. and Usher, W. (2017). SALib: An open-source Python library for sensitivity
    analysis. Journal of Open Source Software 2(9), 97. https://doi.org/10.21105/joss.00097
    """
    names, d = _problem_iv(problem)
    n_resamples = check_positive_int(n_resamples, "n_resamples", minimum=2)
    confidence_level = check_probability(confidence_level, "confidence_level")
    Yarr = np.asarray(Y)
    rows = Yarr.shape[0] if Yarr.ndim else 0
    if rows == 0 or rows % (d + 2):
        raise ClusterModelError(
            f"`Y` has {rows} rows, not a multiple of D + 2 = {d + 2}; pass the outputs of a sobol_sample design "
            "(calc_second_order=False)"
        )
    n = rows // (d + 2)
    if n < 2:
        raise ClusterModelError(f"`Y` holds N = {n} design row(s); at least 2 are needed")
    Yarr, outputs = _as_outputs(Yarr, rows, output_names)
    resample_seed = None
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        resample_seed = _seed_iv(rng, "rng")
    gen = as_rng(rng)
    r = gen.integers(n, size=(n, n_resamples))
    core = _analyze_core(Yarr, d, r, confidence_level)
    return SobolIndicesResult(
        **{k: v for k, v in core.items()},
        factors=tuple(names),
        outputs=tuple(outputs),
        n=n,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        sample_seed=None,
        resample_seed=resample_seed,
        notes=tuple(_notes_for(core["constant"], core["flat_ab"], outputs)),
    )


def _progress(total, enabled, desc):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, leave=False, unit="step")


def sobol_indices(
    model,
    problem,
    *,
    n: int = 1024,
    rng=None,
    n_resamples: int = 100,
    confidence_level: float = 0.95,
    output_names=None,
    convergence_levels: int = 1,
    chunk_rows: int = 2**16,
    progress: bool = False,
):
    """Sample, evaluate a vectorised model once, and estimate S1 and ST of all its outputs.

    Parameters
    ----------
    model : callable
        ``model(X)`` with ``X`` of shape (rows, D) returns shape (rows,) or
        (rows, K): one call scores a whole block of rows.
    problem : dict
        SALib problem (``num_vars``, ``names``, ``bounds``).
    n : int, default 1024
        Base sample size N, a power of two; the model runs ``N * (D + 2)`` times.
    rng : int, numpy.random.Generator or None
        Normalised once with ``numpy.random.default_rng``; two positive integer
        seeds are drawn from it, one for SALib's scrambled Sobol' sequence and
        one for the bootstrap (both stored in the result, so the run can be
        repeated with SALib itself).
    n_resamples : int, default 100
    confidence_level : float, default 0.95
    output_names : sequence of str, optional
    convergence_levels : int, default 1
        With L > 1, also estimate the indices at N / 2^(L-1), …, N / 2, N
        from prefixes of the same design (one model evaluation) and store
        them in ``result.convergence``.
    chunk_rows : int, default 65536
        The model is called on blocks of at most this many rows.
    progress : bool, default False
        Show a progress bar (tqdm) on standard error.

    Returns
    -------
    SobolIndicesResult

    Raises
    ------
    ClusterModelError
        If ``n`` is not a power of two, the model returns the wrong shape or a
        non-finite value, or an option is out of range.

    References
    ----------
    Saltelli et al. (2010), https://doi.org/10.1016/j.cpc.2009.09.018;
    Sobol', I. M. (2001), https://doi.org/10.1016/S0378-4754(00)00270-6.

    Examples
    --------
    >>> r = sobol_indices(ishigami, ISHIGAMI_PROBLEM, n=2**12, rng=1, n_resamples=50)
    >>> np.round(r.S1[0], 2).tolist(), np.round(ishigami_indices()["S1"], 2).tolist()
    ([0.31, 0.44, -0.01], [0.31, 0.44, 0.0])
    """
    names, d = _problem_iv(problem)
    n = _n_iv(n)
    levels = check_positive_int(convergence_levels, "convergence_levels")
    if n >> (levels - 1) < 2:
        raise ClusterModelError(
            f"`convergence_levels` = {levels} would go below N = 2 from n = {n}; use at most {n.bit_length() - 1}"
        )
    chunk_rows = check_positive_int(chunk_rows, "chunk_rows")
    if not callable(model):
        raise ClusterModelError(f"`model` must be callable as model(X), got {type(model).__name__}")
    sample_seed, resample_seed = _derive_seeds(rng)
    X, _ = sobol_sample(problem, n, rng=sample_seed)
    rows = X.shape[0]
    chunks = list(range(0, rows, chunk_rows))
    with _progress(len(chunks) + levels, progress, "sobol") as bar:
        parts = []
        for lo in chunks:
            parts.append(np.asarray(model(X[lo : lo + chunk_rows])))
            bar.update(1)
        Y = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        Y, outputs = _as_outputs(Y, rows, output_names)
        conv = None
        if levels > 1:
            sizes = [n >> (levels - 1 - i) for i in range(levels)]
            runs = []
            for m in sizes[:-1]:
                runs.append(sobol_analyze(problem, Y[: m * (d + 2)], n_resamples=n_resamples, confidence_level=confidence_level, rng=resample_seed, output_names=outputs))
                bar.update(1)
        res = sobol_analyze(problem, Y, n_resamples=n_resamples, confidence_level=confidence_level, rng=resample_seed, output_names=outputs)
        bar.update(1)
    if levels > 1:
        runs.append(res)
        conv = {"n": sizes}
        for k in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"):
            conv[k] = np.stack([getattr(x, k) for x in runs])
    return dataclasses.replace(res, sample_seed=sample_seed, resample_seed=resample_seed, convergence=conv)


# Ishigami test function ---------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# The clustermodel model: expert weights (and spec choices) -> scores, ranks and conclusions
# --------------------------------------------------------------------------------------------

#: How the independent uniform inputs become weights on the simplex of each parent.
WEIGHT_DISTRIBUTIONS = {
    "dirichlet": (
        "within each parent, w = g / sum(g) with independent g_j = Gamma(kappa * alpha_j) quantile of u_j: exactly "
        "Dirichlet(kappa * alpha) over the parent's children, centred on the nominal weights alpha (normalised within "
        "the parent); larger concentration kappa = less spread"
    ),
    "uniform": (
        "w proportional to alpha_j * (1 + delta * (2 u_j - 1)): independent relative perturbations of up to "
        "+/- delta around the nominal weights, renormalised within each parent"
    ),
}

#: Default options of each spec field used as a trigger factor (a study-specific subset is chosen by
#: :func:`trigger_options`; pass explicit options as a mapping field -> options).
TRIGGER_OPTIONS = {
    "denominate": (True, False),
    "missing": tuple(MISSING_POLICIES),
    "treatment": tuple(TREATMENTS),
    "normalisation": tuple(NORMALISATIONS),
    "reference": tuple(REFERENCE_SETS),
    "negative": ("keep", "zero"),
    "aggregation": tuple(AGGREGATIONS),
}

#: The outputs analysed in one run, and what each means.
OUTPUT_QUANTITIES = {
    "index": "the unit's index",
    "rank": "the unit's rank among all units (1 = highest)",
    "node_score": "the unit's score on an aggregate below the index (a pillar, a sub-index)",
    "node_rank": "the unit's rank on an aggregate below the index",
    "scenario_kept": "1 if the unit stays in its nominal scenario, else 0",
    "scenario_count": "number of units in the scenario",
    "counts_kept": "1 if all four scenario counts equal the nominal counts, else 0",
    "mean_rank_shift": "mean absolute rank shift against the nominal ranking (Saisana et al. 2005)",
    "correlation": "Pearson r between the unit index and its higher-level unit's index",
}


def _unit_open(u):
    """Clip uniform inputs into the open interval (0, 1) so that quantile functions stay finite."""
    return np.clip(u, np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0))


def weights_from_unit(U, nominal, *, parents=None, distribution: str = "dirichlet", concentration: float = 50.0, delta: float = 0.25) -> np.ndarray:
    """Map independent uniform inputs onto weight vectors on the simplex of every parent.

    Parameters
    ----------
    U : array_like, shape (..., K)
        Independent uniform [0, 1) inputs, one per weighted node.
    nominal : array_like, shape (K,)
        Nominal weights (normalised within each parent here).
    parents : array_like of int, shape (K,), optional
        Parent code of every weighted node (``Structure.parent_codes()``);
        default: one parent (a one-level structure).
    distribution : {'dirichlet', 'uniform'}
        See :data:`WEIGHT_DISTRIBUTIONS`.
    concentration : float
        Dirichlet concentration kappa > 0 (``'dirichlet'`` only). The
        variance of w_j is alpha_j (1 - alpha_j) / (kappa + 1).
    delta : float
        Largest relative perturbation, 0 < delta < 1 (``'uniform'`` only).

    Returns
    -------
    ndarray, shape (..., K), summing to one within every parent.

    Notes
    -----
    Sobol' indices assume independent inputs, but weights summing to one are
    dependent. The inputs are therefore independent (one uniform per node)
    and the dependence is created inside the model by the normalisation
    within each parent. Independent Gamma(kappa alpha_j, 1) variables divided
    by their sum are Dirichlet(kappa alpha) distributed, with mean alpha.
    """
    U = _unit_open(np.asarray(U, dtype=float))
    a = np.asarray(nominal, dtype=float)
    codes = np.zeros(a.shape[-1], dtype=np.intp) if parents is None else np.asarray(parents, dtype=np.intp)
    onehot = (codes[:, None] == np.arange(codes.max() + 1)).astype(float)
    a = a / (a @ onehot)[codes]
    if distribution == "dirichlet":
        g = scipy.stats.gamma.ppf(U, concentration * a)
    elif distribution == "uniform":
        g = a * (1.0 + delta * (2.0 * U - 1.0))
    else:
        raise ClusterModelError(f"`distribution` must be one of {', '.join(map(repr, WEIGHT_DISTRIBUTIONS))}; got {distribution!r}")
    return g / (g @ onehot)[..., codes]


def weight_problem(factors, triggers=()) -> dict:
    """SALib problem: one uniform [0, 1) input per weighted node, then one per trigger."""
    names = [str(i) for i in factors] + [str(t) for t in triggers]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def trigger_options(study, triggers) -> dict:
    """Trigger field -> options, validated against the spec and the study.

    ``triggers`` is a sequence of spec fields (each gets the options of
    :data:`TRIGGER_OPTIONS` that this study can use) or a mapping field ->
    explicit options. Every field of :class:`IndexSpec` but ``min_coverage``
    (which changes the set of units) can be a trigger.
    """
    if isinstance(triggers, str):
        triggers = [triggers]
    if not isinstance(triggers, dict):
        triggers = list(triggers or ())
        if len(set(triggers)) != len(triggers):
            raise ClusterModelError(f"`triggers` lists a factor twice: {list(triggers)}")
        triggers = {t: None for t in triggers}
    allowed = [f for f in IndexSpec.fields() if f != "min_coverage"]
    out = {}
    for t, opts in triggers.items():
        if t not in allowed:
            extra = " (it changes the set of units, which Sobol' outputs cannot follow)" if t == "min_coverage" else ""
            raise ClusterModelError(f"`triggers` entries must be spec fields among {', '.join(map(repr, allowed))}; got {t!r}{extra}")
        if opts is None:
            if t not in TRIGGER_OPTIONS:
                raise ClusterModelError(f"trigger {t!r} has no default options; give them explicitly, e.g. {{{t!r}: [...]}}")
            opts = list(TRIGGER_OPTIONS[t])
            if t == "reference" and not study.has_groups:
                opts = ["sample"]
            if t == "normalisation":
                s = study.structure
                if any(math.isnan(v) for v in s.attribute("targets")):
                    opts.remove("target")
                if any(math.isnan(v) for v in s.attribute("goalpost_lower")):
                    opts.remove("goalposts")
            if t == "denominate" and all(d is None for d in study.structure.attribute("denominators")):
                opts = [True]
        opts = tuple(opts)
        if len(opts) < 2:
            raise ClusterModelError(f"trigger {t!r} has fewer than two options for this study ({list(opts)}); drop it")
        for o in opts:
            IndexSpec().replace(**{t: o})  # every option must be a valid value of the field
        out[t] = opts
    return {t: out[t] for t in IndexSpec.fields() if t in out}


class _WeightModel:
    """Vectorised model X -> every output, for one study and a base spec (a thin layer over StudyModel)."""

    def __init__(self, study, spec, thresholds, distribution, concentration, delta, triggers):
        from clustermodel.scenarios import StudyModel

        self.study = study
        self.spec = spec
        self.thresholds = thresholds
        self.distribution = distribution
        self.concentration = concentration
        self.delta = delta
        self.trigger_options = dict(triggers)
        self.triggers = tuple(triggers)
        self.structure = study.structure
        self.labels = list(self.structure.weighted)
        self.parents = self.structure.parent_codes()
        self.nominal_weights = self.structure.normalise_weights(self.structure.weight_vector().values)
        self.m = len(self.labels)
        self.node_outputs = tuple(v for v in self.structure.aggregates if v != self.structure.root)
        self._models = {}
        base = self._model(spec)
        self.clusters = base.units
        self.has_regions = base.has_regions
        nominal = base.outputs(self.nominal_weights[None, :])
        self._nominal = nominal
        self.nominal_rank = nominal["rank"][0]
        self.nominal_index = nominal["index"][0]
        self.nominal_node = {v: nominal[f"score[{v}]"][0] for v in self.node_outputs}
        if self.has_regions:
            self.nominal_codes = nominal["scenario"][0]
            self.nominal_counts = nominal["scenario_count"][0]
            self.nominal_correlation = float(nominal["correlation"][0])
        for combo in self._all_combos():  # fail now, with the option named, not half-way through the sample
            try:
                self._model(self._spec_of(combo)).outputs(self.nominal_weights[None, :])
            except ClusterModelError as exc:
                raise ClusterModelError(
                    f"trigger option combination {dict(zip(self.triggers, combo))} cannot be computed on this study: {exc}"
                ) from None
        self.output_meta = self._output_meta()

    def _all_combos(self):
        import itertools

        return list(itertools.product(*(self.trigger_options[t] for t in self.triggers))) if self.triggers else []

    def _spec_of(self, combo):
        return self.spec.replace(**dict(zip(self.triggers, combo)))

    def _model(self, spec):
        from clustermodel.scenarios import StudyModel

        key = spec
        if key not in self._models:
            self._models[key] = StudyModel(self.study, spec, thresholds=self.thresholds, nodes=self.node_outputs)
        return self._models[key]

    def _outputs_raw(self, W, spec):
        m = self._model(spec)
        out = m.outputs(W, nominal=self._nominal)
        for v in self.node_outputs:
            sc = out[f"score[{v}]"]
            out[f"rank[{v}]"] = scipy.stats.rankdata(-np.where(np.isnan(sc), -np.inf, sc), method="ordinal", axis=-1).astype(float)
        return out

    def _output_meta(self):
        quantity, cluster, scenario, node, names = [], [], [], [], []

        def add(q, c=None, s=None, v=None, name=None):
            quantity.append(q)
            cluster.append(c)
            scenario.append(s)
            node.append(v)
            names.append(name)

        qs = ("index", "rank", "scenario_kept") if self.has_regions else ("index", "rank")
        for q in qs:
            for c in self.clusters:
                add(q, c.item() if hasattr(c, "item") else c, name=f"{q}[{c}]")
        for v in self.node_outputs:
            for q in ("node_score", "node_rank"):
                for c in self.clusters:
                    add(q, c.item() if hasattr(c, "item") else c, v=v, name=f"{q}[{v}][{c}]")
        if self.has_regions:
            for s in SCENARIOS:
                add("scenario_count", s=s, name=f"scenario_count[{s}]")
            add("counts_kept", name="counts_kept")
        add("mean_rank_shift", name="mean_rank_shift")
        if self.has_regions:
            add("correlation", name="correlation")
        return {"quantity": quantity, "cluster": cluster, "scenario": scenario, "node": node, "name": names}

    def nominal_values(self) -> np.ndarray:
        n = len(self.clusters)
        parts = [self.nominal_index, self.nominal_rank]
        if self.has_regions:
            parts.append(np.ones(n))
        for v in self.node_outputs:
            sc = self.nominal_node[v]
            parts += [sc, scipy.stats.rankdata(-np.where(np.isnan(sc), -np.inf, sc), method="ordinal").astype(float)]
        if self.has_regions:
            parts += [self.nominal_counts, [1.0]]
        parts.append([0.0])
        if self.has_regions:
            parts.append([self.nominal_correlation])
        return np.concatenate(parts)

    def _stack(self, out) -> np.ndarray:
        cols = [out["index"], out["rank"]]
        if self.has_regions:
            cols.append(out["scenario_kept"])
        for v in self.node_outputs:
            cols += [out[f"score[{v}]"], out[f"rank[{v}]"]]
        if self.has_regions:
            cols += [out["scenario_count"], out["counts_kept"][:, None]]
        cols.append(out["mean_rank_shift"][:, None])
        if self.has_regions:
            cols.append(out["correlation"][:, None])
        return np.concatenate(cols, axis=1)

    def trigger_specs(self, X) -> np.ndarray:
        """Integer option index of every trigger factor, shape (rows, n_triggers)."""
        cols = []
        for t, col in zip(self.triggers, X[:, self.m :].T):
            k = len(self.trigger_options[t])
            cols.append(np.minimum((np.asarray(col) * k).astype(np.intp), k - 1))
        return np.column_stack(cols) if cols else np.zeros((X.shape[0], 0), dtype=np.intp)

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        W = weights_from_unit(
            X[:, : self.m], self.nominal_weights, parents=self.parents, distribution=self.distribution,
            concentration=self.concentration, delta=self.delta,
        )
        if not self.triggers:
            return self._stack(self._outputs_raw(W, self.spec))
        codes = self.trigger_specs(X)
        combos, inverse = np.unique(codes, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        Y = np.empty((X.shape[0], len(self.output_meta["name"])))
        for c, combo in enumerate(combos):  # one vectorised call per distinct spec, not per row
            rows = np.flatnonzero(inverse == c)
            spec = self._spec_of(self.trigger_options[t][o] for t, o in zip(self.triggers, combo))
            Y[rows] = self._stack(self._outputs_raw(W[rows], spec))
        return Y

    def importance(self):
        """Paruolo et al. (2013): linear first-order importance of each indicator in the nominal index.

        Returns the squared correlation of every indicator's normalised value
        with the nominal index across units, and the indicators' effective
        weights (products of the normalised weights down the tree).
        """
        c = self._model(self.spec).construction
        r = pearson(c.normalised.T, self.nominal_index[None, :], axis=-1)
        s = np.where(np.isnan(r), 0.0, r**2)
        if AGGREGATIONS and self.spec.top_aggregation == "equation1":
            eff = (self.structure.effective_weights() > 0).astype(float)
        else:
            eff = self.structure.effective_weights()
        return s, eff / eff.sum()


def weight_model(
    study,
    spec: IndexSpec | None = None,
    *,
    distribution: str = "dirichlet",
    concentration: float = 50.0,
    delta: float = 0.25,
    triggers=(),
    thresholds: ScenarioThresholds | None = None,
):
    """The vectorised model behind :func:`weight_sensitivity`, for use with SALib or any sampler.

    Returns
    -------
    model : callable
        ``model(X)`` maps rows of independent uniform inputs (one per
        weighted node of the structure, then one per trigger) to every
        output, shape (rows, n_outputs); ``model.output_meta['name']`` names
        the columns.
    problem : dict
        The matching SALib problem (all inputs uniform on [0, 1]).

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> from clustermodel.spec import PAPER_SPEC
    >>> model, problem = weight_model(load_paper(), PAPER_SPEC.replace(aggregation="quadratic"))
    >>> model(np.full((2, problem["num_vars"]), 0.5)).shape
    (2, 82)
    """
    spec, thresholds, concentration, delta, triggers = _weight_sensitivity_iv(
        study, spec, distribution, concentration, delta, triggers, thresholds
    )
    model = _WeightModel(study, spec, thresholds, distribution, concentration, delta, triggers)
    return model, weight_problem(model.labels, model.triggers)


def _positive_float(value, name):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ClusterModelError(f"`{name}` must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ClusterModelError(f"`{name}` must be a positive finite number, got {value!r}")
    return v


def _weight_sensitivity_iv(study, spec, distribution, concentration, delta, triggers, thresholds):
    spec = study.spec if spec is None else spec
    if not isinstance(spec, IndexSpec):
        raise ClusterModelError(f"`spec` must be an IndexSpec, got {type(spec).__name__}")
    thresholds = ScenarioThresholds() if thresholds is None else thresholds
    if distribution not in WEIGHT_DISTRIBUTIONS:
        raise ClusterModelError(f"`distribution` must be one of {', '.join(map(repr, WEIGHT_DISTRIBUTIONS))}; got {distribution!r}")
    concentration = _positive_float(concentration, "concentration")
    delta = _positive_float(delta, "delta")
    if delta >= 1:
        raise ClusterModelError(f"`delta` must lie in (0, 1) so that every perturbed weight stays positive, got {delta!r}")
    triggers = trigger_options(study, triggers)
    w = study.structure.weight_vector()
    if distribution == "dirichlet" and np.any(w.values <= 0):
        zero = [str(v) for v, x in zip(w["node"].values, w.values) if x <= 0]
        raise ClusterModelError(
            f"the Dirichlet weight distribution needs positive nominal weights; {', '.join(zero)} has weight 0: "
            "use distribution='uniform' or drop the node"
        )
    return spec, thresholds, concentration, delta, triggers


@dataclass(frozen=True)
class SobolResult:
    """Sobol' sensitivity of a study's scores, ranks and conclusions to the weights (and spec choices).

    Attributes
    ----------
    indices : SobolIndicesResult
        The indices with dims (output, factor), intervals and bootstrap draws.
    quantity, cluster, scenario : tuple
        Per output: its quantity (a key of :data:`OUTPUT_QUANTITIES`), the
        cluster it belongs to (or None) and the scenario (or None).
    nominal : ndarray, shape (n_outputs,)
        Each output at the published weights under ``spec``.
    factor_kind : tuple of {'weight', 'trigger'}
    nominal_weights : dict
        Indicator -> published weight.
    importance : list of dict
        Per indicator: nominal weight, effective weight share under the
        spec's placement, the linear first-order importance of the indicator
        in the nominal index across clusters (Paruolo et al. 2013), and the
        weight factor's mean S1/ST over the cluster indices and its S1/ST on
        the mean rank shift.
    spec : IndexSpec
    thresholds : ScenarioThresholds
    distribution : dict
        ``name``, its parameter and description.
    triggers : dict
        Trigger factor -> the options it chooses between (in order).
    seed : int or None
        The user's integer seed, if one was given.
    cluster_names : dict
        Cluster label -> name.
    nominal_scenario : dict
        Cluster label -> its scenario at the published weights.
    notes : tuple of str
    """

    indices: SobolIndicesResult
    quantity: tuple
    cluster: tuple
    scenario: tuple
    nominal: np.ndarray
    factor_kind: tuple
    nominal_weights: dict
    importance: list
    spec: IndexSpec
    thresholds: ScenarioThresholds
    distribution: dict
    triggers: dict
    seed: int | None
    cluster_names: dict = field(default_factory=dict)
    nominal_scenario: dict = field(default_factory=dict)
    notes: tuple = ()

    @property
    def outputs(self) -> tuple:
        return self.indices.outputs

    @property
    def factors(self) -> tuple:
        return self.indices.factors

    def _where(self, quantity):
        return [k for k, q in enumerate(self.quantity) if q == quantity]

    def to_records(self) -> list:
        """One record per (output, factor): labels, S1, S1_low, S1_high, ST, ST_low, ST_high, SALib half-widths."""
        ix = self.indices
        recs = []
        for k, o in enumerate(ix.outputs):
            for j, f in enumerate(ix.factors):
                recs.append(
                    {
                        "output": o,
                        "quantity": self.quantity[k],
                        "cluster": self.cluster[k],
                        "scenario": self.scenario[k],
                        "factor": f,
                        "factor_kind": self.factor_kind[j],
                        "S1": float(ix.S1[k, j]),
                        "S1_low": float(ix.S1_low[k, j]),
                        "S1_high": float(ix.S1_high[k, j]),
                        "ST": float(ix.ST[k, j]),
                        "ST_low": float(ix.ST_low[k, j]),
                        "ST_high": float(ix.ST_high[k, j]),
                        "S1_conf": float(ix.S1_conf[k, j]),
                        "ST_conf": float(ix.ST_conf[k, j]),
                    }
                )
        return recs

    def output_table(self) -> list:
        """Per output: nominal value and its distribution over the A and B runs."""
        ix = self.indices
        return [
            {
                "output": o,
                "quantity": self.quantity[k],
                "cluster": self.cluster[k],
                "scenario": self.scenario[k],
                "nominal": float(self.nominal[k]),
                "mean": float(ix.output_mean[k]),
                "std": float(ix.output_std[k]),
                "q05": float(ix.output_low[k]),
                "q95": float(ix.output_high[k]),
                "constant": bool(ix.constant[k]),
            }
            for k, o in enumerate(ix.outputs)
        ]

    def convergence_table(self) -> dict | None:
        """The convergence study: the study-level outputs' indices at every N, and median interval widths.

        Returns ``{"records": [...], "median_interval_width": [...]}``: one record per
        (N, study-level output, factor) with S1, ST and their intervals, and per N the median
        width of the S1 and ST intervals over all outputs that are not constant.
        """
        c = self.indices.convergence
        if c is None:
            return None
        ix = self.indices
        study_level = [k for k, cl in enumerate(self.cluster) if cl is None]
        varying = ~ix.constant
        recs, widths = [], []
        for i, n in enumerate(c["n"]):
            for k in study_level:
                for j, f in enumerate(ix.factors):
                    rec = {"n": int(n), "output": ix.outputs[k], "factor": f}
                    rec.update({key: float(c[key][i, k, j]) for key in ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high")})
                    recs.append(rec)
            w1 = (c["S1_high"][i] - c["S1_low"][i])[varying]
            wt = (c["ST_high"][i] - c["ST_low"][i])[varying]
            widths.append(
                {
                    "n": int(n),
                    "S1": float(np.median(w1)) if w1.size else 0.0,
                    "ST": float(np.median(wt)) if wt.size else 0.0,
                }
            )
        return {"records": recs, "median_interval_width": widths}

    def to_dict(self) -> dict:
        ix = self.indices
        return {
            "n": ix.n,
            "seed": self.seed,
            "sample_seed": ix.sample_seed,
            "resample_seed": ix.resample_seed,
            "n_resamples": ix.n_resamples,
            "confidence_level": ix.confidence_level,
            "model_runs": ix.n * (len(ix.factors) + 2),
            "spec": self.spec.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "distribution": self.distribution,
            "triggers": {k: list(v) for k, v in self.triggers.items()},
            "factors": [{"factor": f, "kind": kd, "nominal_weight": self.nominal_weights.get(f)} for f, kd in zip(ix.factors, self.factor_kind)],
            "records": self.to_records(),
            "outputs": self.output_table(),
            "weights_vs_importance": self.importance,
            "convergence": self.convergence_table(),
            "notes": list(self.notes),
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), ensure_ascii=False, **kwargs)

    def to_dataframe(self):
        """The records as a pandas DataFrame indexed by (output, factor)."""
        import pandas as pd

        return pd.DataFrame(self.to_records()).set_index(["output", "factor"])

    def to_dataset(self) -> xr.Dataset:
        """xarray Dataset (output x factor), with output/factor metadata and the run in ``attrs``."""
        ds = self.indices.to_dataset()
        ds = ds.assign_coords(
            quantity=("output", list(self.quantity)),
            cluster=("output", [("" if c is None else str(c)) for c in self.cluster]),
            scenario=("output", ["" if s is None else s for s in self.scenario]),
            factor_kind=("factor", list(self.factor_kind)),
            nominal_weight=("factor", [self.nominal_weights.get(f, np.nan) for f in self.factors]),
        )
        ds["nominal"] = ("output", np.asarray(self.nominal, dtype=float))
        imp = self.importance
        ind = [r["indicator"] for r in imp]
        for key in ("nominal_weight", "effective_weight", "linear_importance", "linear_importance_share", "mean_index_S1", "mean_index_ST", "rank_shift_S1", "rank_shift_ST"):
            ds[f"importance_{key}"] = ("indicator", [r[key] for r in imp])
        ds = ds.assign_coords(indicator=ind)
        ds.attrs.update(self.spec.to_attrs())
        ds.attrs.update({f"threshold_{k}": v for k, v in self.thresholds.to_dict().items()})
        ds.attrs.update({f"distribution_{k}": v for k, v in self.distribution.items()})
        ds.attrs["triggers"] = ", ".join(self.triggers) or "none"
        ds.attrs["seed"] = -1 if self.seed is None else self.seed
        ds.attrs["notes"] = "\n".join(self.notes)
        ds.attrs["cluster_coord"] = "cluster label of the output, -1 for study-level outputs"
        return ds

    def summary(self) -> str:
        """Markdown report: run, weights vs importance, conclusions, the indices of the study-level outputs."""
        ix = self.indices
        pct = f"{ix.confidence_level:.0%}"
        dist = self.distribution
        par = ", ".join(f"{k} = {v}" for k, v in dist.items() if k not in ("name", "description"))
        lines = [
            "## Sobol' sensitivity to the expert weights" + (" and the method choices" if self.triggers else ""),
            "",
            f"Spec `{self.spec.to_dict()}`; weights drawn as **{dist['name']}** ({par}): {dist['description']}.",
            f"Trigger factors: {', '.join(f'{k} ∈ {list(v)}' for k, v in self.triggers.items()) or 'none'}.",
            f"N = {ix.n} (power of two; {ix.n * (len(ix.factors) + 2)} model runs), seed {self.seed} "
            f"(SALib sample seed {ix.sample_seed}, bootstrap seed {ix.resample_seed}), {ix.n_resamples} bootstrap "
            f"resamples, {pct} percentile intervals. S1 = first-order index (Saltelli et al. 2010), ST = total index "
            "(Jansen 1999).",
            "",
            "### Weights against importance",
            "",
            "Nominal weight beside the indicator's effective share in the formula, its linear first-order importance "
            "in the nominal index across clusters (Paruolo, Saisana & Saltelli 2013; squared Pearson r, and as a share "
            "of the total) and the Sobol' indices of the weight's own uncertainty.",
            "",
            "| indicator | nominal weight | effective share | importance r² | importance share | mean S1 (index) | mean ST (index) | S1 (rank shift) | ST (rank shift) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.importance:
            lines.append(
                f"| {r['indicator']} | {r['nominal_weight']:.3f} | {r['effective_weight']:.3f} | {r['linear_importance']:.3f} | "
                f"{r['linear_importance_share']:.3f} | {r['mean_index_S1']:.3f} | {r['mean_index_ST']:.3f} | "
                f"{r['rank_shift_S1']:.3f} | {r['rank_shift_ST']:.3f} |"
            )
        out = {r["output"]: r for r in self.output_table()}
        counts = {s: out[f"scenario_count[{s}]"] for s in SCENARIOS}
        lines += [
            "",
            "### Do the conclusions survive?",
            "",
            "- Nominal scenario counts: " + ", ".join(f"{s} {int(counts[s]['nominal'])}" for s in SCENARIOS) + "; "
            f"all four counts unchanged in **{out['counts_kept']['mean']:.1%}** of the weight draws.",
            "- Count ranges (5–95 %): " + ", ".join(f"{s} {counts[s]['q05']:.0f}–{counts[s]['q95']:.0f}" for s in SCENARIOS) + ".",
            f"- Mean absolute rank shift against the nominal ranking: mean {out['mean_rank_shift']['mean']:.2f}, "
            f"95th percentile {out['mean_rank_shift']['q95']:.2f} places.",
            f"- Cluster–region correlation: nominal {out['correlation']['nominal']:.3f}, 5–95 % "
            f"[{out['correlation']['q05']:.3f}, {out['correlation']['q95']:.3f}].",
            "",
            "| cluster | name | nominal rank | rank 5–95 % | nominal scenario | P(scenario kept) |",
            "|---:|---|---:|---|---|---:|",
        ]
        for c in self.cluster_names:
            rk = out[f"rank[{c}]"]
            kept = out[f"scenario_kept[{c}]"]
            lines.append(
                f"| {c} | {self.cluster_names[c]} | {int(rk['nominal'])} | {rk['q05']:.0f}–{rk['q95']:.0f} | "
                f"{self.nominal_scenario.get(c, '?')} | {kept['mean']:.1%} |"
            )
        lines += [
            "",
            "### Indices of the study-level outputs",
            "",
            "| output | factor | S1 | S1 interval | ST | ST interval |",
            "|---|---|---:|---|---:|---|",
        ]
        study_level = [k for k, c in enumerate(self.cluster) if c is None]
        for k in study_level:
            for j, f in enumerate(ix.factors):
                lines.append(
                    f"| {ix.outputs[k]} | {f} | {ix.S1[k, j]:.3f} | [{ix.S1_low[k, j]:.3f}, {ix.S1_high[k, j]:.3f}] | "
                    f"{ix.ST[k, j]:.3f} | [{ix.ST_low[k, j]:.3f}, {ix.ST_high[k, j]:.3f}] |"
                )
        lines += ["", "### Total indices of each cluster's index, rank and scenario (ST per factor)", ""]
        lines.append("| cluster | output | " + " | ".join(ix.factors) + " |")
        lines.append("|---:|---|" + "---:|" * len(ix.factors))
        for c in self.cluster_names:
            for q in ("index", "rank", "scenario_kept"):
                k = ix.outputs.index(f"{q}[{c}]")
                lines.append(f"| {c} | {q} | " + " | ".join(f"{v:.3f}" for v in ix.ST[k]) + " |")
        conv = self.convergence_table()
        if conv:
            ns = [w["n"] for w in conv["median_interval_width"]]
            lines += [
                "",
                "### Convergence",
                "",
                "Median width of the intervals over all non-constant outputs: "
                + ", ".join(f"N = {w['n']}: S1 {w['S1']:.3f}, ST {w['ST']:.3f}" for w in conv["median_interval_width"])
                + ". Total indices of the conclusion outputs at each N:",
                "",
                "| output | factor | " + " | ".join(f"ST at N = {n}" for n in ns) + " |",
                "|---|---|" + "---|" * len(ns),
            ]
            by = {(r["output"], r["factor"], r["n"]): r for r in conv["records"]}
            for o in ("mean_rank_shift", "correlation", "counts_kept"):
                for f in ix.factors:
                    cells = [by[(o, f, n)] for n in ns]
                    lines.append(
                        f"| {o} | {f} | " + " | ".join(f"{r['ST']:.3f} [{r['ST_low']:.3f}, {r['ST_high']:.3f}]" for r in cells) + " |"
                    )
        if self.notes:
            lines += ["", "### Notes", "", *[f"- {t}" for t in self.notes]]
        return "\n".join(lines) + "\n"


def weight_sensitivity(
    study,
    spec: IndexSpec | None = None,
    *,
    n: int = 4096,
    rng=None,
    distribution: str = "dirichlet",
    concentration: float = 50.0,
    delta: float = 0.25,
    triggers=(),
    thresholds: ScenarioThresholds | None = None,
    n_resamples: int = 100,
    confidence_level: float = 0.95,
    convergence_levels: int = 1,
    progress: bool = False,
) -> SobolResult:
    """Sobol' sensitivity of every score, rank and conclusion to the expert weights.

    Parameters
    ----------
    study : clustermodel.data.Study
        Units, their structure (the nominal weights) and optionally a region table.
    spec : IndexSpec, optional
        Base spec; default the study's. Under ``aggregation='equation1'``
        (the paper's formula as printed) the weights cancel and every weight
        index is 0, which this function reports as a finding.
    n : int, default 4096
        Base sample size N, a power of two; the model runs N (D + 2) times
        for D factors.
    rng : int, numpy.random.Generator or None
        Seed or generator (normalised once); the SALib sample seed and the
        bootstrap seed are drawn from it and reported.
    distribution : {'dirichlet', 'uniform'}, default 'dirichlet'
        How the independent uniform inputs map onto the simplex
        (:data:`WEIGHT_DISTRIBUTIONS`, :func:`weights_from_unit`).
    concentration : float, default 50
        Dirichlet concentration kappa: w ~ Dirichlet(kappa * published weights).
    delta : float, default 0.25
        Largest relative perturbation of the ``'uniform'`` distribution.
    triggers : sequence of str, optional
        Spec fields added as discrete trigger factors (a uniform input split
        into equal parts, one per option): any field of :class:`IndexSpec`
        but ``min_coverage``, with the options of :func:`trigger_options`, or
        a mapping field -> options.
    thresholds : ScenarioThresholds, optional
    n_resamples : int, default 100
    confidence_level : float, default 0.95
    convergence_levels : int, default 1
        L > 1 also estimates the indices at N / 2^(L-1), …, N / 2, N.
    progress : bool, default False
        Show a progress bar.

    Returns
    -------
    SobolResult

    Raises
    ------
    ClusterModelError
        On an invalid option (named in the message).

    Notes
    -----
    The outputs, all estimated in one run from one vectorised evaluation
    (:data:`OUTPUT_QUANTITIES`): every cluster's index, rank and whether it
    keeps its nominal scenario (0/1), the four scenario counts, whether all
    counts are unchanged (0/1), the mean absolute rank shift against the
    nominal ranking (Saisana et al. 2005) and the cluster-region correlation.
    Ranks, counts and 0/1 indicators are discrete; variance-based indices
    remain well defined for them (the share of the variance of a rank or of
    the probability of a flip that each factor explains).

    An output that is the same in every model run (for instance everything
    under Equation 1 as printed, where alpha_j x_ij / max_i(alpha_j x_ij) =
    x_ij / max_i x_ij) has all indices exactly 0 and is listed in the notes.

    References
    ----------
    Saisana, M., Saltelli, A. and Tarantola, S. (2005). Uncertainty and sensitivity analysis
    techniques as tools for the quality assessment of composite indicators. Journal of the Royal
    Statistical Society A 168(2), 307-323. https://doi.org/10.1111/j.1467-985X.2005.00350.x

    Paruolo, P., Saisana, M. and Saltelli, A. (2013). Ratings and rankings: voodoo or science?
    Journal of the Royal Statistical Society A 176(3), 609-634.
    https://doi.org/10.1111/j.1467-985X.2012.01059.x

    Saltelli et al. (2010), https://doi.org/10.1016/j.cpc.2009.09.018.

    Examples
    --------
    >>> from clustermodel.data import load_paper
    >>> from clustermodel.spec import PAPER_SPEC
    >>> res = weight_sensitivity(load_paper(), PAPER_SPEC.replace(aggregation="quadratic"), n=256, rng=1, n_resamples=20)
    >>> res.indices.S1.shape
    (82, 4)
    """
    model, problem = weight_model(
        study, spec, distribution=distribution, concentration=concentration, delta=delta, triggers=triggers, thresholds=thresholds
    )
    spec, thresholds, triggers = model.spec, model.thresholds, model.triggers
    concentration, delta = model.concentration, model.delta
    n = _n_iv(n)
    user_seed = int(rng) if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)) else None
    gen = as_rng(rng)
    meta = model.output_meta
    ix = sobol_indices(
        model,
        problem,
        n=n,
        rng=gen,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        output_names=meta["name"],
        convergence_levels=convergence_levels,
        progress=progress,
    )
    m = model.m
    factor_kind = tuple(["weight"] * m + ["trigger"] * len(triggers))
    nominal_w = {lab: float(w) for lab, w in zip(model.labels, model.nominal_weights)}

    # Weights against importance (Paruolo et al. 2013), per indicator
    lin, eff_share = model.importance()
    share = lin / lin.sum() if lin.sum() > 0 else np.zeros_like(lin)
    idx_rows = [k for k, q in enumerate(meta["quantity"]) if q == "index"]
    shift = meta["name"].index("mean_rank_shift")
    importance = []
    for j, lab in enumerate(model.structure.leaves):
        f = model.labels.index(lab)
        importance.append(
            {
                "indicator": lab,
                "nominal_weight": nominal_w[lab],
                "effective_weight": float(eff_share[j]),
                "linear_importance": float(lin[j]),
                "linear_importance_share": float(share[j]),
                "mean_index_S1": float(ix.S1[idx_rows, f].mean()),
                "mean_index_ST": float(ix.ST[idx_rows, f].mean()),
                "rank_shift_S1": float(ix.S1[shift, f]),
                "rank_shift_ST": float(ix.ST[shift, f]),
            }
        )

    dist = {"name": distribution}
    if distribution == "dirichlet":
        dist["concentration"] = concentration
    else:
        dist["delta"] = delta
    dist["description"] = WEIGHT_DISTRIBUTIONS[distribution]

    notes = [
        "Factors are independent uniform inputs: one per indicator weight, mapped onto the simplex inside the model "
        f"({WEIGHT_DISTRIBUTIONS[distribution]}), so Sobol's independence assumption holds although the weights "
        "sum to one. A weight factor's index measures the influence of that indicator's raw (pre-normalisation) "
        "draw, which acts on every weight through the normalisation.",
    ]
    weight_cols = ix.ST[:, :m]
    weights_inert = bool(np.all(ix.S1[:, :m] == 0) and np.all(weight_cols == 0))
    if spec.top_aggregation == "equation1" and "aggregation" not in triggers:
        if weights_inert:
            notes.append(
                "Under Equation 1 as printed the outputs do not depend on the weights: every weight index is exactly 0. "
                "Why: alpha_j x_ij / max_i(alpha_j x_ij) = x_ij / max_i x_ij for any alpha_j > 0, so a positive weight "
                "cancels between numerator and maximum and Table 4's weights cannot move any score, rank or scenario. "
                "This is a property of the printed formula, not of the sample; use aggregation 'quadratic' or "
                "'arithmetic' for weights that act."
            )
        else:
            notes.append(
                "Under Equation 1 as printed positive weights cancel; the weight factors matter here only through "
                "other factors or because some sampled weight underflowed to 0 (which drops its indicator)."
            )
    if ix.constant.all() and not (spec.top_aggregation == "equation1" and "aggregation" not in triggers):
        notes.append("Every output is constant over the sample: no factor has any influence on this study under this spec.")
    notes += list(ix.notes)
    flips = {
        o: min(p, 1 - p) * 2 * ix.n
        for o, q, p, c in zip(ix.outputs, meta["quantity"], ix.output_mean, ix.constant)
        if q in ("scenario_kept", "counts_kept") and not c
    }
    rare = [f"{o} ({v:.0f})" for o, v in flips.items() if v < _RARE_FLIPS]
    if rare:
        notes.append(
            f"Rare flips: {', '.join(rare)} changed in fewer than {_RARE_FLIPS} of the {2 * ix.n} A and B runs (count in "
            "brackets). Their variance rests on a handful of runs, so their indices are unreliable (a total index can "
            "exceed 1); read them as 'almost never flips' and increase N to estimate them."
        )
    notes.append(
        "Ranks, scenario counts and the 0/1 outputs (scenario kept, counts kept) are discrete; variance-based indices "
        "remain well defined for them and give the share of the variance of a rank, or of a flip probability, that "
        "each factor explains. A 0/1 output that rarely flips has a small variance and wide intervals."
    )
    nominal_counts = {s: int(c) for s, c in zip(SCENARIOS, model.nominal_counts)} if model.has_regions else None
    from clustermodel.reproduce import PAPER_COUNTS

    if model.has_regions and nominal_counts != PAPER_COUNTS and study.spec.normalisation == "max":
        notes.append(
            f"At the published weights this spec gives scenario counts {nominal_counts}, not the paper's {PAPER_COUNTS}: "
            "the spec change alone moves the conclusion before any weight varies; 'kept' outputs compare with this "
            "spec's own nominal result."
        )
    if triggers:
        notes.append(
            "Trigger factors split their uniform input into equal parts, one per option, in the order "
            + "; ".join(f"{t}: {list(model.trigger_options[t])}" for t in triggers)
            + ". The nominal point is the base spec at the published weights."
            + (
                " Index values under different aggregations are on different scales (a sum versus a square root), so "
                "the aggregation trigger's influence on the index values includes that change of scale; ranks and "
                "scenarios are comparable across aggregations."
                if "aggregation" in triggers
                else ""
            )
        )
    kept = study.clusters.sel(cluster=model.clusters)
    names = kept["name"].values if "name" in kept.coords else model.clusters
    cluster_names = {c.item(): str(nm) for c, nm in zip(model.clusters, names)}
    nominal_scenario = (
        {c.item(): SCENARIOS[int(code)] for c, code in zip(model.clusters, model.nominal_codes)} if model.has_regions else {}
    )
    return SobolResult(
        indices=ix,
        quantity=tuple(meta["quantity"]),
        cluster=tuple(meta["cluster"]),
        scenario=tuple(meta["scenario"]),
        nominal=model.nominal_values(),
        factor_kind=factor_kind,
        nominal_weights=nominal_w,
        importance=importance,
        spec=spec,
        thresholds=thresholds,
        distribution=dist,
        triggers=dict(model.trigger_options),
        seed=user_seed,
        cluster_names=cluster_names,
        nominal_scenario=nominal_scenario,
        notes=tuple(notes),
    )
