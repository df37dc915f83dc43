"""Small argument checks shared by the analysis modules."""

from __future__ import annotations

import numbers

import numpy as np

from clustermodel._errors import ClusterModelError

__all__ = ["as_rng", "check_positive_int", "check_probability", "check_choice"]


def as_rng(rng, *, name: str = "rng") -> np.random.Generator:
    """Normalise ``rng`` (Generator, int seed or None) into a Generator."""
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        raise ClusterModelError(
            f"`{name}` must be a numpy Generator, a non-negative integer seed or None, "
            f"not {type(rng).__name__} {rng!r}; pass e.g. {name}=12345"
        )
    if isinstance(rng, numbers.Integral) and rng < 0:
        raise ClusterModelError(f"`{name}` seed must be non-negative, got {rng}")
    return np.random.default_rng(rng)


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ClusterModelError(f"`{name}` must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ClusterModelError(f"`{name}` must be at least {minimum}, got {value}")
    return int(value)


def check_probability(value, name: str, *, open_interval: bool = True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ClusterModelError(f"`{name}` must be a number, got {value!r}") from None
    ok = 0 < v < 1 if open_interval else 0 <= v <= 1
    if not ok:
        bounds = "(0, 1)" if open_interval else "[0, 1]"
        raise ClusterModelError(f"`{name}` must lie in {bounds}, got {value!r}")
    return v


def check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ClusterModelError(
            f"`{name}` must be one of {', '.join(repr(c) for c in choices)}; got {value!r}"
        )
    return value
