"""The chunked run: a pilot chunk, the chunk plan within the memory budget, execution on dask, and the fold of the
chunks into running summaries."""

from __future__ import annotations

import math
import tracemalloc

from clustermodel._display import format_bytes
from clustermodel._dask import client_iv, memory_limit_iv, one_blas_thread, progress_bar, workers as dask_workers
from clustermodel._errors import ClusterModelError
from clustermodel._validation import check_choice, check_positive_int
from clustermodel.bootstrap.constants import DEFAULT_BINS, QUANTILES, _CHUNK_MARGIN, _CHUNK_TARGET, _MIN_BINS, _OVERHEAD, _PILOT, _REBIN_CELLS
from clustermodel.bootstrap.summaries import _Running


# --------------------------------------------------------------------------- chunks, memory and scheduling


def _size(b: float) -> str:
    return format_bytes(b).replace(" ", "")


def _pilot(fn, ctx, running, n_resamples) -> tuple:
    """(bytes per resample, bytes per chunk) of evaluating and folding one chunk, traced with tracemalloc.

    Each pilot chunk is folded into empty statistics; the re-binning a later
    chunk may need (bounded by :data:`_REBIN_CELLS`) is added to the per-chunk bytes.
    """
    sizes = sorted({min(s, n_resamples) for s in _PILOT})
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    peaks = []
    try:
        for b in sizes:
            running.reset()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            running.fold(fn(ctx, 0, b))
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
    finally:
        if not tracing:
            tracemalloc.stop()
        running.reset()
    cells = [st["hist"].counts.size for st in running.s.values() if "hist" in st]
    rebin = 32.0 * min(_REBIN_CELLS, max(cells, default=0))  # the re-binning temporaries of a later chunk
    if len(sizes) == 1:
        return peaks[0] / sizes[0], rebin
    slope = max((peaks[-1] - peaks[0]) / (sizes[-1] - sizes[0]), peaks[-1] / sizes[-1] / 4, 8.0)
    return slope, max(0.0, peaks[-1] - slope * sizes[-1]) + rebin


def _plan(*, what, n_resamples, workers, state, kept, per_resample, per_chunk, limit, chunk_size, block, parts_fix):
    """Resamples per chunk and the estimated peak memory; a one-line error naming the option that fixes an excess.

    ``state`` is the running statistics, ``kept`` the bytes kept per resample
    (exact values, requested draws); ``parts_fix`` maps each fixed part to the
    option that shrinks it.
    """
    margin = _CHUNK_MARGIN
    fixed = state + kept * n_resamples + _OVERHEAD

    def need(b):
        return fixed + min(workers, math.ceil(n_resamples / b)) * margin * (per_chunk + per_resample * b)

    if chunk_size is not None:
        b = min(check_positive_int(chunk_size, "chunk_size"), n_resamples)
        if need(b) > limit:
            room = (limit - fixed) / (workers * margin) - per_chunk
            fit = int(room // per_resample) if room > 0 else 0
            hint = f"chunk_size <= {fit}" if fit >= 1 else f"memory_limit='{_size(1.25 * need(1))}'"
            raise ClusterModelError(
                f"the {what} would need about {_size(need(b))} with chunk_size={b} ({min(workers, math.ceil(n_resamples / b))} "
                f"chunk(s) at once) but `memory_limit` is {_size(limit)}; use {hint}"
            )
        return b, need(b)
    if need(1) > limit:
        parts = {"state": state, "kept": kept * n_resamples, "chunk": workers * margin * (per_chunk + per_resample), "overhead": _OVERHEAD}
        parts_fix = {**parts_fix, "overhead": ("dask's bookkeeping and the result assembly", "")}
        big = max(parts, key=parts.get)
        raise ClusterModelError(
            f"the {what} needs at least {_size(need(1))} ({parts_fix[big][0]}: {_size(parts[big])}) but `memory_limit` "
            f"is {_size(limit)}; pass memory_limit='{_size(1.25 * need(1))}'{parts_fix[big][1]}"
        )
    hi = max(1, math.ceil(n_resamples / workers), 1)
    hi = min(hi, max(1, int((_CHUNK_TARGET - per_chunk) // per_resample)))
    lo = 1
    while lo < hi:  # the largest chunk that fits (need is increasing in b)
        mid = (lo + hi + 1) // 2
        if need(mid) <= limit:
            lo = mid
        else:
            hi = mid - 1
    b = lo
    if b >= block:
        b -= b % block
    return b, need(b)


def _execute(fn, ctx, ranges, fold, *, client, workers, progress, desc):
    """Evaluate ``fn(ctx, lo, hi)`` for every range with dask and fold the results in range order.

    Locally the chunks run in waves of ``workers`` on dask's threaded
    scheduler; with a ``dask.distributed`` client at most ``workers`` chunks
    are in flight. Either way at most ``workers`` chunk results exist at once
    and the fold order is the range order, so the result does not depend on
    the scheduler.
    """
    with progress_bar(total=len(ranges), desc=desc, progress=progress) as bar:
        if client is None:
            import dask

            with one_blas_thread():
                for s in range(0, len(ranges), workers):
                    tasks = [dask.delayed(fn, pure=False)(ctx, lo, hi) for lo, hi in ranges[s : s + workers]]
                    for res in dask.compute(*tasks, scheduler="threads", num_workers=workers):
                        fold(res)
                        bar.update(1)
            return
        shared = client.scatter(ctx, broadcast=True, hash=False)
        pending = {}
        nxt = 0
        for i, (lo, hi) in enumerate(ranges):
            pending[i] = client.submit(fn, shared, lo, hi, pure=False)
            while len(pending) >= workers or (i == len(ranges) - 1 and pending):
                fold(pending.pop(nxt).result())
                nxt += 1
                bar.update(1)


def _ranges(n: int, b: int) -> list:
    return [(s, min(s + b, n)) for s in range(0, n, b)]


def _stream(fn, ctx, outputs, *, what, n_resamples, memory_limit, chunk_size, client, progress, parts_fix):
    """Plan, run and fold every chunk; returns (running statistics, streaming record)."""
    limit = memory_limit_iv(memory_limit)
    client, owned = client_iv(client)
    try:
        workers = dask_workers(client)
        kept = sum(o.bytes_per_draw() for o in outputs if o.exact or o.keep)
        if kept * n_resamples + _OVERHEAD > limit and kept * n_resamples > _OVERHEAD:  # before allocating them
            need = kept * n_resamples + _OVERHEAD
            raise ClusterModelError(
                f"the {what} needs at least {_size(need)} ({parts_fix['kept'][0]}: {_size(kept * n_resamples)}) but "
                f"`memory_limit` is {_size(limit)}; pass memory_limit='{_size(1.25 * need)}'{parts_fix['kept'][1]}"
            )
        running = _Running(outputs, n_resamples)
        state = running.nbytes()
        per_resample, per_chunk = _pilot(fn, ctx, running, n_resamples)
        block = ctx.sampler.block
        b, need = _plan(
            what=what, n_resamples=n_resamples, workers=workers, state=state, kept=kept, per_resample=per_resample,
            per_chunk=per_chunk, limit=limit, chunk_size=chunk_size, block=block, parts_fix=parts_fix,
        )
        ranges = _ranges(n_resamples, b)
        _execute(fn, ctx, ranges, running.fold, client=client, workers=min(workers, len(ranges)), progress=progress, desc=what)
    finally:
        if owned:
            client.close()
    record = {
        "chunk_size": b,
        "n_chunks": len(ranges),
        "workers": workers,
        "scheduler": "threads" if client is None else "distributed",
        "memory_limit": limit,
        "memory_estimate": int(need),
        "bytes_per_resample": float(per_resample),
    }
    return running, record


def _bins_for(outputs_of_bins, limit, bins):
    """Largest bins (a power of two, at most ``bins``) whose histograms fit in half the budget, else None."""
    b = bins
    while b >= _MIN_BINS:
        if outputs_of_bins(b) <= limit / 2:
            return b
        b //= 2
    return None


def _check_quantiles(quantiles) -> str:
    return check_choice(quantiles, "quantiles", list(QUANTILES))


def _plan_outputs(outputs, *, n_resamples, limit, quantiles, bins, what):
    """Decide which real outputs keep their values (exact percentiles) and how many bins the histograms get."""
    bins = DEFAULT_BINS if bins is None else check_positive_int(bins, "bins", minimum=_MIN_BINS)
    real = sorted((o for o in outputs if o.kind == "real"), key=lambda o: o.size)
    budget = limit / 4
    used = 0.0
    for o in real:
        need = 8.0 * o.size * n_resamples
        if quantiles == "exact" or (quantiles == "auto" and (o.keep or used + need <= budget)):
            o.exact = True
            used += 0 if o.keep else need
        else:
            o.exact = False
    if quantiles == "exact" and used > budget * 2:
        raise ClusterModelError(
            f"quantiles='exact' keeps every value of the {what} ({_size(used)}) but `memory_limit` is {_size(limit)}; "
            f"use quantiles='auto' or memory_limit='{_size(4 * used)}'"
        )

    def hist_bytes(b):
        total = 0
        for o in outputs:
            if o.kind == "real" and not o.exact:
                total += 4 * o.size * b
            elif o.kind == "int":
                total += 4 * o.size * min(o.bins or b, 4 * b)
        return total

    chosen = _bins_for(hist_bytes, limit, bins)
    if chosen is None:
        raise ClusterModelError(
            f"the running statistics of the {what} need at least {_size(hist_bytes(_MIN_BINS))} for {_MIN_BINS}-bin "
            f"histograms but `memory_limit` is {_size(limit)}; pass memory_limit='{_size(2.5 * hist_bytes(_MIN_BINS))}' "
            "or fewer `nodes`"
        )
    for o in outputs:
        if o.kind == "real":
            o.bins = chosen
        elif o.kind == "int":
            o.bins = min(o.bins or chosen, 4 * chosen)
    return chosen


