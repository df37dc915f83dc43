"""The entry points: :func:`sobol_indices` (design, model runs and estimators in one call) and :func:`sobol_analyze`
(SALib's analyze on given outputs)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from clustermodel._dask import client_iv, memory_limit_iv, workers as dask_workers
from clustermodel._errors import ClusterModelError
from clustermodel._validation import check_positive_int, check_probability

if TYPE_CHECKING:
    from distributed import Client
    from numpy.typing import ArrayLike

    from clustermodel._typing import RNGLike
from clustermodel.sobol._checks import _entropy, _method_iv, _n_iv, _problem_iv, _rng_iv
from clustermodel.sobol.constants import CONSTANT_RTOL, EVENTS_NEEDED, _PILOT_ROWS, _QUANTILE_ROWS
from clustermodel.sobol.design import _Designs
from clustermodel.sobol.engine import _chunks, _pilot, _plan, _run_graph
from clustermodel.sobol.estimators import _diagnostics, _finalise
from clustermodel.sobol.result import SobolIndicesResult
from clustermodel.sobol.sums import _as_outputs, _block_stats, _chunk_task, _combine, _mode


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
    >>> from clustermodel.sobol import ISHIGAMI_PROBLEM, ishigami, ishigami_indices
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


