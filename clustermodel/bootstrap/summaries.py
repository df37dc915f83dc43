"""Running summaries of a stream of resamples: per-unit histograms, sums, extremes and exact percentiles while the
values fit."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

from clustermodel.bootstrap.constants import _JOINT_LIMIT, _ONE, _PERCENTILE_CELLS, _PERCENTILE_METHOD, _REBIN_CELLS
from clustermodel.bootstrap.percentiles import _lerp, _order_positions, _tails


# --------------------------------------------------------------------------- streaming statistics


class _Hist:
    """Per-unit histograms on aligned power-of-two grids.

    Unit u's bins have width ``w_u = 2**(k_u + e0)`` and bin j covers
    ``[(o_u + j) w_u, (o_u + j + 1) w_u)``. With ``a`` and ``b`` the bins (at
    width w) of the unit's smallest and largest value over every resample
    seen, the window starts at ``o = floor(a / q) q`` (``q = bins // 4``: it
    moves in quarter-histogram steps, so a growing range seldom forces a
    re-bin) and ``k_u`` is the smallest k >= 0 with ``b - o < bins``. Both are
    functions of the unit's range alone, and a re-bin is exact (a bin of width
    w lies inside one bin of width 2w), so the histogram after any sequence
    of chunks equals the histogram of all the values at once: it does not
    depend on the chunking. A window needs at most ``range / w + q`` bins, so
    ``w < 2 range / (bins - q - 1)``.
    """

    def __init__(self, units: int, bins: int, e0: int, integer: bool):
        self.bins, self.e0, self.integer = int(bins), int(e0), bool(integer)
        self.q = max(1, self.bins // 4)
        self.k = np.full(units, -1, np.int64)  # -1: no value yet
        self.o = np.zeros(units, np.int64)
        self.mn = np.full(units, np.inf)
        self.mx = np.full(units, -np.inf)
        self.counts = np.zeros((units, self.bins), np.int32)

    @property
    def nbytes(self) -> int:
        return self.counts.nbytes + 4 * self.k.nbytes

    def _index(self, x, k):
        return np.floor(np.ldexp(x, -(k + self.e0))).astype(np.int64)

    def _start(self, mn, k):
        return np.floor_divide(self._index(mn, k), self.q) * self.q

    def _fit(self, mn, mx, k):
        k = np.maximum(k, 0)
        span = mx - mn
        with np.errstate(divide="ignore"):
            guess = np.where(span > 0, np.frexp(span / self.bins)[1] - 1 - self.e0, 0)  # a lower bound
        k = np.maximum(k, guess)
        big = np.maximum(np.abs(mn), np.abs(mx))
        while True:
            with np.errstate(over="ignore", invalid="ignore"):
                bad = (self._index(mx, k) - self._start(mn, k) >= self.bins) | (np.ldexp(big, -(k + self.e0)) >= 2.0**52)
            if not bad.any():
                return k
            k = k + bad

    def add(self, x: np.ndarray) -> None:
        """Fold values ``x`` (B, units); NaN is not counted."""
        fin = np.isfinite(x)
        dense = bool(fin.all())
        if dense:
            u = np.arange(x.shape[1])
            xs, fs = x, None
            mn = np.minimum(self.mn, x.min(axis=0))
            mx = np.maximum(self.mx, x.max(axis=0))
        else:
            has = fin.any(axis=0)
            if not has.any():
                return
            u = np.flatnonzero(has)
            xs = x[:, u]
            fs = fin[:, u]
            mn = np.minimum(self.mn[u], np.where(fs, xs, np.inf).min(axis=0))
            mx = np.maximum(self.mx[u], np.where(fs, xs, -np.inf).max(axis=0))
        k_old, o_old = self.k[u], self.o[u]
        changed = (mn != self.mn[u]) | (mx != self.mx[u])
        k_new, o_new = k_old.copy(), o_old.copy()
        c = np.flatnonzero(changed)
        if c.size:
            k_new[c] = self._fit(mn[c], mx[c], k_old[c])
            o_new[c] = self._start(mn[c], k_new[c])
        moved = c[(k_old[c] >= 0) & ((k_new[c] != k_old[c]) | (o_new[c] != o_old[c]))]
        step = max(1, _REBIN_CELLS // self.bins)  # in blocks of units: temporaries stay small
        for s in range(0, moved.size, step):
            m = moved[s : s + step]
            rows = u[m]
            # a bin's new position is non-decreasing along the row, so merged bins are sums of runs
            new = ((o_old[m][:, None] + np.arange(self.bins)) >> (k_new[m] - k_old[m])[:, None]) - o_new[m][:, None]
            new = np.clip(new, 0, self.bins - 1)  # only empty bins fall outside the new window; clipping keeps the order
            key = (np.arange(rows.size)[:, None] * self.bins + new).ravel()
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            out = np.zeros(rows.size * self.bins, np.int32)
            out[key[starts]] = np.add.reduceat(self.counts[rows].ravel(), starts)
            self.counts[rows] = out.reshape(rows.size, self.bins)
        self.k[u], self.o[u], self.mn[u], self.mx[u] = k_new, o_new, mn, mx
        if self.integer and self.e0 == 0 and not (k_new > 0).any():
            idx = xs.astype(np.int64) if dense else np.where(fs, xs, mn).astype(np.int64)
        else:
            idx = self._index(xs if dense else np.where(fs, xs, mn), k_new)
        # unit-major order: the increments of one unit are adjacent in memory
        flat = (idx - o_new).T + (u * self.bins)[:, None]
        np.add.at(self.counts.reshape(-1), flat.ravel() if dense else flat[fs.T], _ONE)  # a typed 1: numpy's fast path

    def width(self) -> np.ndarray:
        """Bin width of every unit (NaN before any value)."""
        return np.where(self.k >= 0, np.ldexp(1.0, np.maximum(self.k, 0) + self.e0), np.nan)

    def exact(self) -> np.ndarray:
        """True where every bin holds a single value (integer data in unit-width bins, or one distinct value)."""
        one = self.mn == self.mx
        return one | ((self.k == 0) & self.integer & (self.e0 == 0)) | (self.k < 0)

    def error(self) -> np.ndarray:
        """Bound on the error of every percentile: half a bin width (0 where exact)."""
        return np.where(self.exact(), 0.0, self.width() / 2)

    def percentiles(self, percents) -> np.ndarray:
        """Percentiles (len(percents), units) as numpy's 'linear' method gives them from the binned values.

        A value is read as its bin's midpoint clamped to the exact minimum and
        maximum (its lowest integer for unit-width integer bins), so each
        order statistic, and the interpolation between two, is within half a
        bin width of numpy's.
        """
        qs = np.true_divide(np.asarray(percents, float), 100)
        units = self.counts.shape[0]
        out = np.full((len(qs), units), np.nan)
        step = max(1, 2**22 // self.bins)
        for s in range(0, units, step):
            c = self.counts[s : s + step].astype(np.int64)
            n = c.sum(axis=1)
            cum = np.cumsum(c, axis=1)
            ok = n > 0
            k = np.maximum(self.k[s : s + step], 0)
            o = self.o[s : s + step]
            mn, mx = self.mn[s : s + step], self.mx[s : s + step]
            exact_int = self.integer & (self.k[s : s + step] == 0) & (self.e0 == 0)

            def value(r):
                b = np.argmax(cum > r[:, None], axis=1)
                lowest = np.ldexp((o + b).astype(float), k + self.e0)
                mid = np.ldexp((o + b).astype(float) + 0.5, k + self.e0)
                return np.where(exact_int, lowest, np.clip(mid, mn, mx))

            for i, q in enumerate(qs):
                prev, nxt, gamma = _order_positions(n, q)
                v = _lerp(value(prev), value(nxt), gamma)
                out[i, s : s + step] = np.where(ok, v, np.nan)
        return out


@dataclass
class _Output:
    """One output of a chunk: its name, kind and per-resample shape, and how it is summarised.

    Kinds: ``'real'`` (sums, extremes, percentiles), ``'int'`` (integers in a
    small range: exact sums, histogram percentiles, optional distribution),
    ``'cat'`` (codes 0..categories-1: counts), ``'flag'`` (0/1: a count),
    ``'draw'`` (only kept, with ``keep=True``).
    """

    name: str
    kind: str
    shape: tuple
    centre: np.ndarray | None = None
    categories: int = 0
    bins: int = 0
    exact: bool = False
    keep: bool = False
    joint: bool = False
    distribution: bool = False
    draw_dtype: object = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def bytes_per_draw(self) -> int:
        return self.size * np.dtype(self.draw_dtype or (np.float64 if self.kind == "real" else np.int32)).itemsize


def _integer_bins(values: int) -> int:
    """Bins that hold any range of ``values`` consecutive integers at unit width (see :class:`_Hist`)."""
    return math.ceil(4 * (values - 1) / 3) + 2


def _e0(centre) -> int:
    """Base-width exponent of a real output: about 1e-12 of its nominal magnitude."""
    c = np.asarray(centre, float)
    c = c[np.isfinite(c)]
    scale = float(np.max(np.abs(c))) if c.size and np.max(np.abs(c)) > 0 else 1.0
    return int(np.frexp(scale)[1]) - 40


class _Running:
    """Running statistics of every output: what each chunk folds into.

    Values kept for exact percentiles or as draws go into arrays of
    ``n_resamples`` rows allocated once (pages are touched as they fill).
    """

    def __init__(self, outputs, n_resamples: int):
        self.outputs = {o.name: o for o in outputs}
        self.n_resamples = int(n_resamples)
        self.reset()

    def reset(self):
        self.n = 0
        self.s = {}
        for o in self.outputs.values():
            u = o.size
            st = {}
            if o.kind in ("real", "int"):
                st["centre"] = np.zeros(u) if o.centre is None else np.nan_to_num(np.asarray(o.centre, float).reshape(u))
                if o.kind == "int":
                    st["centre"] = np.round(st["centre"]).astype(np.int64)
                dt = float if o.kind == "real" else np.int64
                st["s1"], st["s2"] = np.zeros(u, dt), np.zeros(u, dt)
                st["count"] = np.zeros(u, np.int64)
                st["mn"], st["mx"] = np.full(u, np.inf), np.full(u, -np.inf)
                if o.kind == "int" or not o.exact:
                    st["hist"] = _Hist(u, o.bins, 0 if o.kind == "int" else _e0(st["centre"]), o.kind == "int")
            elif o.kind == "cat":
                st["counts"] = np.zeros((u, o.categories), np.int64)
            elif o.kind == "flag":
                st["count"] = np.zeros(u, np.int64)
            if o.exact or o.keep:
                dt = o.draw_dtype or (np.float64 if o.kind == "real" else np.int32)
                st["draws"] = np.empty((self.n_resamples, *o.shape), dt)
            if o.joint:
                st["joint"] = Counter()
            self.s[o.name] = st

    def nbytes(self) -> int:
        """Bytes of the running statistics (the kept values are counted per resample by the planner)."""
        total = 0
        for st in self.s.values():
            for k, v in st.items():
                total += v.nbytes if isinstance(v, (np.ndarray, _Hist)) and k != "draws" else 0
        return total

    def fold(self, chunk: dict) -> None:
        b = None
        for name, o in self.outputs.items():
            x = np.asarray(chunk[name])
            b = x.shape[0]
            st = self.s[name]
            flat = x.reshape(b, o.size)
            if o.kind in ("real", "int"):
                fin = np.isfinite(flat) if o.kind == "real" else np.ones(flat.shape, bool)
                d = np.where(fin, flat - st["centre"], 0)
                st["s1"] += d.sum(axis=0)
                st["s2"] += (d * d).sum(axis=0)
                st["count"] += fin.sum(axis=0)
                st["mn"] = np.minimum(st["mn"], np.where(fin, flat, np.inf).min(axis=0))
                st["mx"] = np.maximum(st["mx"], np.where(fin, flat, -np.inf).max(axis=0))
                if "hist" in st:
                    st["hist"].add(flat.astype(float) if o.kind == "int" else flat)
            elif o.kind == "cat":
                codes = flat.astype(np.int64) + np.arange(o.size) * o.categories
                st["counts"] += np.bincount(codes.ravel(), minlength=o.size * o.categories).reshape(o.size, o.categories)
            elif o.kind == "flag":
                st["count"] += flat.astype(bool).sum(axis=0)
            if "draws" in st:
                st["draws"][self.n : self.n + b] = x
            if o.joint and st["joint"] is not None:
                st["joint"].update(map(tuple, flat.astype(np.int64).tolist()))
                if len(st["joint"]) > _JOINT_LIMIT:
                    st["joint"] = None
        self.n += b or 0

    def draws(self, name) -> np.ndarray | None:
        st = self.s[name]
        return st["draws"][: self.n] if "draws" in st else None

    def summary(self, name, confidence_level) -> dict:
        """Summaries of one output, each an array of the output's per-resample shape."""
        o = self.outputs[name]
        st = self.s[name]
        shape = o.shape
        r = lambda a: np.asarray(a).reshape(shape)  # noqa: E731
        if o.kind == "cat":
            return {"probability": (st["counts"] / max(self.n, 1)).reshape(*shape, o.categories), "counts": st["counts"].reshape(*shape, o.categories)}
        if o.kind == "flag":
            return {"probability": r(st["count"] / max(self.n, 1)), "count": r(st["count"])}
        n = st["count"]
        s1 = st["s1"].astype(float)
        s2 = st["s2"].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = st["centre"] + s1 / n
            var = np.where(n > 1, (s2 - s1 * s1 / n) / (n - 1), np.nan)
        sd = np.sqrt(np.maximum(var, 0.0))
        sd = np.where(n > 1, sd, np.nan)
        percents = _tails(confidence_level)
        if o.exact:
            med, lo, hi = _exact_percentiles(self.draws(name).reshape(self.n, o.size), percents)
            error = np.zeros(o.size)
        else:
            h = st["hist"]
            med, lo, hi = h.percentiles(percents)
            error = h.error()
        out = {
            "count": r(n),
            "mean": r(np.where(n > 0, mean, np.nan)),
            "sd": r(sd),
            "min": r(np.where(n > 0, st["mn"], np.nan)),
            "max": r(np.where(n > 0, st["mx"], np.nan)),
            "median": r(med),
            "low": r(lo),
            "high": r(hi),
            "error": r(error),
        }
        if o.distribution and "hist" in st:
            h = st["hist"]
            out["hist"] = (h.o.reshape(shape), h.k.reshape(shape), h.counts.reshape(*shape, h.bins))
        if o.joint:
            out["joint"] = st["joint"]
        return out


def _exact_percentiles(values: np.ndarray, percents) -> np.ndarray:
    """numpy's percentiles of every column, in blocks of columns (the copies numpy makes stay small).

    Columns without NaN use :func:`numpy.percentile` (vectorised), the others
    :func:`numpy.nanpercentile` (a loop over columns); both give numpy's values.
    """
    n, u = values.shape
    out = np.full((len(percents), u), np.nan)
    step = max(1, _PERCENTILE_CELLS // max(n, 1))
    for s in range(0, u, step):
        v = values[:, s : s + step].astype(float)
        nan = np.isnan(v).any(axis=0)
        block = out[:, s : s + step]
        if (~nan).any():
            block[:, ~nan] = np.percentile(v[:, ~nan], list(percents), axis=0, method=_PERCENTILE_METHOD)
        if nan.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column gives NaN
                block[:, nan] = np.nanpercentile(v[:, nan], list(percents), axis=0, method=_PERCENTILE_METHOD)
    return out


