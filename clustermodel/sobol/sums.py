"""Per-chunk sums of the model's outputs over the A, B and cross-sampled runs, and how chunks combine."""

from __future__ import annotations

import numpy as np

from clustermodel._errors import ClusterModelError


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
    # counts summed as int32 (exact below 2**31 runs per block, and about twice as fast as the default int64)
    ones_ab = ones[:, 0, :].sum(axis=0, dtype=np.int32) + ones[:, d + 1, :].sum(axis=0, dtype=np.int32)
    ones_all = is_one.sum(axis=0, dtype=np.int32)
    del is_one, ones
    zeros_all = (flat == 0).sum(axis=0, dtype=np.int32)
    if mode is None:
        off_ab = np.zeros(k)
    else:
        off_ab = ((Yb[:, 0, :] != mode).sum(axis=0, dtype=np.int32) + (Yb[:, d + 1, :] != mode).sum(axis=0, dtype=np.int32)).astype(float)
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


def _fold(out, p):
    """Add chunk statistics ``p`` into ``out`` in place (``out`` must own its arrays); returns ``out``."""
    for key in _SUM_KEYS:
        out[key] += p[key]
    for key in _MIN_KEYS:
        np.minimum(out[key], p[key], out=out[key])
    for key in _MAX_KEYS:
        np.maximum(out[key], p[key], out=out[key])
    out["binary"] &= p["binary"]
    if p.get("boot"):
        boot = out.setdefault("boot", {})
        for lvl, bs in p["boot"].items():
            if lvl in boot:
                for k, v in bs.items():
                    boot[lvl][k] += v
            else:
                boot[lvl] = {k: v.copy() for k, v in bs.items()}
    if p.get("keep"):
        out["keep"] = list(out.get("keep", [])) + list(p["keep"])
    return out


def _combine(*parts):
    """Fold chunk statistics (in the given order) into a new set, leaving the parts as they are."""
    out = {key: (value.copy() if isinstance(value, np.ndarray) else value) for key, value in parts[0].items() if key not in ("boot", "keep")}
    boot = {lvl: {k: v.copy() for k, v in bs.items()} for lvl, bs in parts[0].get("boot", {}).items()}
    if boot:
        out["boot"] = boot
    if parts[0].get("keep"):
        out["keep"] = list(parts[0]["keep"])
    for p in parts[1:]:
        _fold(out, p)
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


#: A chunk's design rows are run and summed this many output bytes at a time: the model's outputs and the sums'
#: temporaries then stay in the processor's cache and in memory the allocator reuses, instead of a fresh
#: chunk-sized array per pass (the passes were bound by memory traffic and page faults at thousands of outputs).
SUB_BLOCK_BYTES = 8 * 2**20


def _sub_blocks(lo, hi, d, k):
    """[lo, hi) split into runs of design rows whose outputs take about SUB_BLOCK_BYTES each, but never fewer rows
    than make the block twice the size of its own sums (K x (14 + 3D) numbers against K x (D + 2) a row): with
    thousands of outputs and many factors a block of one row would sum into more memory than it holds. (At 2000
    units x 30 factors both give 8 rows; 16 made the sums' passes 30-50 % slower, out of cache.)"""
    by_bytes = SUB_BLOCK_BYTES // (8 * (d + 2) * max(k, 1))
    by_sums = 2 * -(-(14 + 3 * d) // (d + 2))
    step = max(1, by_bytes, by_sums)
    return [(a, min(a + step, hi)) for a in range(lo, hi, step)]


def _chunk_task(model, designs, r, lo, hi, k, shift, boot, keep_rows, mode=None):
    """The sums of design ``r``'s rows lo..hi-1, run and summed a cache-sized block of rows at a time."""
    total = None
    for a, b in _sub_blocks(lo, hi, designs.d, k):
        X = designs.rows(r, a, b)
        Y = _evaluate(model, X, k, f"design {r}, rows {a}..{b - 1}")
        del X
        sub_boot = [(lvl, cnt[:, a - lo : b - lo]) for lvl, cnt in boot]
        keep = max(0, min(b, lo + keep_rows) - a)
        st = _block_stats(Y.reshape(b - a, designs.d + 2, k), shift, sub_boot, keep, mode)
        del Y
        total = st if total is None else _fold(total, st)  # a running total: one block's sums held at a time
        del st
    return total


