"""Planning the run: a pilot chunk, the memory estimate, the chunks and their execution on dask."""

from __future__ import annotations

import tracemalloc

from clustermodel._dask import one_blas_thread, progress_bar
from clustermodel._errors import ClusterModelError
from clustermodel._display import format_bytes
from clustermodel.sobol.constants import _MIN_CHUNK, _PILOT_ROWS, _QUANTILE_ROWS, _SPLIT_EVERY
from clustermodel.sobol.sums import _evaluate, _mode


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
                f"the Sobol' analysis would need about {format_bytes(need(c))} with chunk_size={c} ({workers} chunk(s) at "
                f"once) but `memory_limit` is {format_bytes(limit)}; use {hint}"
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
            f"the Sobol' analysis needs at least {format_bytes(need(1))} (the largest part: {big}) but `memory_limit` is "
            f"{format_bytes(limit)}; pass memory_limit='{format_bytes(1.25 * need(1)).replace(' ', '')}'{fix}"
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

    with progress_bar(total=n_chunks, desc="sobol", progress=progress) as bar:
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


