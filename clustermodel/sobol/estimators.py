"""From the sums to the indices: first-order (Saltelli 2010) and total (Jansen 1999) estimators, replicate and
bootstrap intervals, and the diagnostics of constant, flat and rare outputs."""

from __future__ import annotations

import math

import numpy as np
import scipy.stats

from clustermodel.sobol.constants import EVENTS_NEEDED, _EPS
from clustermodel.sobol.sums import _combine


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


