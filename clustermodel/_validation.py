"""Small argument checks shared by the analysis modules."""

from __future__ import annotations

import numbers

import numpy as np

from clustermodel._display import format_bytes
from clustermodel._errors import ClusterModelError

__all__ = [
    "as_rng",
    "check_positive_int",
    "check_probability",
    "check_choice",
    "check_seed",
    "seed_record",
    "check_number",
    "config_number",
    "check_fits_memory",
    "check_squares_finite",
    "SEED_MAX",
    "SQUARE_RATIO_LIMIT",
]

#: Largest seed: numpy takes any non-negative integer, but a seed is stored in the NetCDF outputs as uint64.
SEED_MAX = 2**64 - 1
#: Largest |value / reference maximum| whose square, summed over up to 10^6 indicators, stays finite
#: (sqrt(float max / 10^6), about 1.3e151). Beyond it a value is a code, not a measurement.
SQUARE_RATIO_LIMIT = float(np.sqrt(np.finfo(float).max / 1e6))


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


def seed_record(rng) -> tuple[int | None, tuple[int, ...]]:
    """What a result can record of ``rng`` so that a reader can repeat the run: ``(seed, spawn_key)``.

    An integer seed is ``(seed, ())``; a ``numpy.random.SeedSequence`` with an integer entropy is that entropy and
    its spawn key (``SeedSequence(s).spawn(k)[i]`` is ``(s, (i,))``, the stream ``default_rng(s).spawn(k)[i]``
    draws); anything else, a Generator included (its state may have been consumed), is ``(None, ())``.
    """
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        return int(rng), ()
    if isinstance(rng, np.random.SeedSequence) and isinstance(rng.entropy, numbers.Integral):
        return int(rng.entropy), tuple(int(k) for k in rng.spawn_key)
    return None, ()


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


def check_seed(value, name: str = "seed") -> int:
    """A seed as every output can record it: an integer from 0 to :data:`SEED_MAX` (not a bool, not 1.5).

    Raises
    ------
    ClusterModelError
        Naming ``name`` (an argument, an option or a config key) and the valid range.
    """
    return check_number(value, name, kind="int", minimum=0, maximum=SEED_MAX, what="an integer seed")


def check_number(
    value,
    name: str,
    *,
    kind: str = "float",
    minimum=None,
    maximum=None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
    what: str | None = None,
):
    """Validate one number and return it as ``int`` (``kind='int'``) or ``float``.

    ``bool`` is never a number here, an ``int`` is never a float that merely looks whole (``1.5`` is not
    silently 1), and NaN or infinity is never a float. Bounds are inclusive unless made exclusive.

    Parameters
    ----------
    value
        The value to check.
    name : str
        How the message names it: ```n_resamples```, ``--seed``, ``config.toml: [scores] n_draws`` …
    kind : {'int', 'float'}
    minimum, maximum : number, optional
    what : str, optional
        What the value is, for the message (``"an integer seed"``); by default "an integer" / "a number".

    Raises
    ------
    ClusterModelError
        ``<name> must be an integer from 1 to ..., got 0`` and the like.

    Examples
    --------
    >>> check_number(3, "`n_draws`", kind="int", minimum=1)
    3
    >>> check_number(0, "`n_draws`", kind="int", minimum=1)
    Traceback (most recent call last):
    ...
    clustermodel._errors.ClusterModelError: `n_draws` must be an integer >= 1, got 0
    """
    noun = what or ("an integer" if kind == "int" else "a number")
    if minimum is not None and maximum is not None and (exclusive_minimum or exclusive_maximum):
        wanted = f"{noun} in {'(' if exclusive_minimum else '['}{minimum}, {maximum}{')' if exclusive_maximum else ']'}"
    elif minimum is not None and maximum is not None:
        wanted = f"{noun} from {minimum} to {maximum}"
    elif minimum is not None:
        wanted = f"{noun} {'>' if exclusive_minimum else '>='} {minimum}"
    elif maximum is not None:
        wanted = f"{noun} {'<' if exclusive_maximum else '<='} {maximum}"
    else:
        wanted = noun
    shown = f"{type(value).__name__} {value!r}" if not isinstance(value, (numbers.Number, str)) or isinstance(value, bool) else repr(value)
    if isinstance(value, (bool, np.bool_)):
        raise ClusterModelError(f"{name} must be {wanted}, got {shown}")
    if kind == "int":
        if not isinstance(value, numbers.Integral):
            raise ClusterModelError(f"{name} must be {wanted}, got {shown}")
        value = int(value)
    else:
        if not isinstance(value, numbers.Real):
            raise ClusterModelError(f"{name} must be {wanted}, got {shown}")
        value = float(value)
        if not np.isfinite(value):
            raise ClusterModelError(f"{name} must be {wanted}, got {shown}")
    low = minimum is not None and (value <= minimum if exclusive_minimum else value < minimum)
    high = maximum is not None and (value >= maximum if exclusive_maximum else value > maximum)
    if low or high:
        raise ClusterModelError(f"{name} must be {wanted}, got {value!r}")
    return value


def config_number(config: dict, section: str, key: str, *, source=None, **bounds):
    """Check ``config[section][key]`` (if present) with :func:`check_number`; the message names the key.

    Returns the checked value, or ``None`` when the key is absent (the caller keeps its default).

    Examples
    --------
    >>> config_number({"scores": {"n_draws": 0}}, "scores", "n_draws", source="config.toml", kind="int", minimum=1)
    Traceback (most recent call last):
    ...
    clustermodel._errors.ClusterModelError: config.toml: [scores] n_draws must be an integer >= 1, got 0
    """
    table = config.get(section, {})
    if not isinstance(table, dict):
        where = f"{source}: " if source else ""
        raise ClusterModelError(f"{where}[{section}] must be a table of settings, got {table!r}")
    if key not in table:
        return None
    name = f"{source}: [{section}] {key}" if source else f"[{section}] {key}"
    if key == "seed" or key.endswith("_seed"):
        bounds.setdefault("kind", "int")
        bounds.setdefault("minimum", 0)
        bounds.setdefault("maximum", SEED_MAX)
        bounds.setdefault("what", "an integer seed")
    return check_number(table[key], name, **bounds)


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine, or None when the system does not say."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def check_fits_memory(nbytes: float, name: str, value, *, detail: str, largest=None) -> None:
    """Refuse a size whose arrays cannot fit in this machine's memory, before any computing.

    Parameters
    ----------
    nbytes : float
        Estimated bytes the run needs at ``value``.
    name : str
        The option or argument to change (``--n``).
    detail : str
        How the estimate arises (``"N*(D+2) = 6.6e+12 model runs of 25 clusters"``).
    largest : optional
        The largest value that would fit, to suggest.
    """
    memory = physical_memory()
    if memory is None or nbytes <= memory:
        return
    suggestion = f" (at most {largest} here)" if largest is not None else ""
    raise ClusterModelError(
        f"{name} {value} would need about {format_bytes(nbytes)} of memory ({detail}), more than this machine's "
        f"{format_bytes(memory)}: choose a smaller {name}{suggestion}"
    )


def check_squares_finite(x, normalised, indicators, dim: str) -> None:
    """Refuse a normalised value whose square overflows (a value far beyond its reference maximum).

    ``x`` and ``normalised`` are (unit, indicator) arrays, ``indicators`` the labelled data they came
    from. The loader refuses such values in files with their line (:mod:`clustermodel.data`); this
    catches data built in memory, naming the unit and the indicator, instead of an infinite index.
    """
    big = np.abs(normalised) > SQUARE_RATIO_LIMIT
    if big.any():
        i, j = np.argwhere(big)[0][-2:]
        raise ClusterModelError(
            f"`indicators` holds {float(x[i, j]):g} ({dim} {indicators[dim].values[i].item()!r}, indicator "
            f"{str(indicators['indicator'].values[j])!r}), {abs(float(normalised[i, j])):.3g} times its reference "
            "maximum: squared, it overflows to an infinite index; fix the value (a missing-value code? use NaN) "
            "or choose negative='zero' or aggregation='arithmetic'"
        )
