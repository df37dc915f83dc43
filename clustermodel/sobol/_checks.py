"""Validation of a problem, a sample size, a seed and an interval method."""

from __future__ import annotations

import numbers

import numpy as np

from clustermodel._errors import ClusterModelError
from clustermodel._validation import as_rng, check_choice, check_positive_int, seed_record
from clustermodel.sobol.constants import DEFAULT_REPLICATES, METHODS


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
    seed, spawn_key = seed_record(value)  # the one rule for what a result records of its seed
    return gen, (seed if not spawn_key else None)  # a spawned stream is recorded with its key by _entropy


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




