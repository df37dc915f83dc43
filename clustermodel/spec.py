"""The frozen specification of every modelling choice behind the index.

The paper (Section 4.1.2, Equation 1) leaves several choices implicit. Each is a
field of :class:`IndexSpec`; the default reproduces the paper's Table 5 and
Table 6 (see ``clustermodel.reproduce``). :class:`ScenarioThresholds` holds the
rule that splits clusters into the four scenarios of Figure 13.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from clustermodel._errors import ClusterModelError

__all__ = [
    "IndexSpec",
    "ScenarioThresholds",
    "REFERENCE_SETS",
    "WEIGHT_PLACEMENTS",
    "MISSING_POLICIES",
    "NEGATIVE_POLICIES",
    "SCENARIOS",
]

#: Normalisation reference sets: the maximum of each indicator is taken over
#: the whole sample, or within each industry group.
REFERENCE_SETS = {
    "sample": "maximum over the whole sample",
    "group": "maximum within each industry group (Section 4.1.2: 'broken down by industrial affiliation')",
}

#: Where the weights act.
WEIGHT_PLACEMENTS = {
    "equation1": "Equation 1 as printed: sqrt(sum_j (a_j x_ij / max_i a_j x_ij)^2); positive weights cancel",
    "quadratic": "weights after normalisation: sqrt(sum_j a_j (x_ij / max_i x_ij)^2)",
    "arithmetic": "weighted arithmetic mean of the normalised values: sum_j a_j x_ij / max_i x_ij",
}

#: What a missing indicator value does.
MISSING_POLICIES = {
    "zero": "a missing value contributes nothing (the paper's implicit choice)",
    "rescale": "the index is computed over the available indicators and rescaled to the full weight total",
}

#: What a negative indicator value does.
NEGATIVE_POLICIES = {
    "square": "kept as printed: divided by a positive maximum and squared, so a deficit adds a positive term",
    "zero": "a negative value is treated as zero (a deficit earns nothing)",
    "error": "a negative value is rejected",
}

#: Scenario labels in a fixed order; integer codes index into this tuple.
SCENARIOS = ("supported", "lonely", "potential", "late")


def _check(value, name, registry):
    if value not in registry:
        raise ClusterModelError(
            f"`{name}` must be one of {', '.join(repr(k) for k in registry)}; got {value!r}"
        )


@dataclass(frozen=True)
class IndexSpec:
    """Every modelling choice of the internationalization index.

    Parameters
    ----------
    reference : {'group', 'sample'}
        Set over which each indicator's maximum is taken. ``'group'`` (within
        industry group) reproduces Table 5; regions have no groups and are
        always normalised over the whole sample.
    weights : {'equation1', 'quadratic', 'arithmetic'}
        Where the weights act. ``'equation1'`` is the formula as printed, in
        which every positive weight cancels (a zero weight drops its
        indicator); ``'quadratic'`` applies the weights after normalisation;
        ``'arithmetic'`` is a weighted arithmetic mean.
    missing : {'zero', 'rescale'}
        Treatment of missing values.
    negative : {'square', 'zero', 'error'}
        Treatment of negative values (Table 6's trade deficits).

    Notes
    -----
    An indicator whose maximum in a reference set is zero or negative (or that
    is missing for every unit of the set) contributes 0 for that set, never NaN.
    """

    reference: str = "group"
    weights: str = "equation1"
    missing: str = "zero"
    negative: str = "square"

    def __post_init__(self):
        _check(self.reference, "reference", REFERENCE_SETS)
        _check(self.weights, "weights", WEIGHT_PLACEMENTS)
        _check(self.missing, "missing", MISSING_POLICIES)
        _check(self.negative, "negative", NEGATIVE_POLICIES)

    def replace(self, **changes) -> "IndexSpec":
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """One line per choice, in words."""
        return "\n".join(
            [
                f"reference set: {self.reference} ({REFERENCE_SETS[self.reference]})",
                f"weights: {self.weights} ({WEIGHT_PLACEMENTS[self.weights]})",
                f"missing values: {self.missing} ({MISSING_POLICIES[self.missing]})",
                f"negative values: {self.negative} ({NEGATIVE_POLICIES[self.negative]})",
            ]
        )

    @classmethod
    def from_dict(cls, d: dict) -> "IndexSpec":
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ClusterModelError(
                f"unknown spec field(s) {sorted(unknown)}; valid fields are "
                f"{[f.name for f in dataclasses.fields(cls)]}"
            )
        return cls(**d)


@dataclass(frozen=True)
class ScenarioThresholds:
    """Where 'high' starts on each axis of Figure 13.

    The paper states no thresholds. They are expressed as a fraction of the
    index's attainable maximum (the score of a unit that holds the maximum of
    every indicator: sqrt(m) under Equation 1, sqrt(sum of weights) under the
    quadratic variant, the sum of weights under the arithmetic one), so the
    same rule transfers to every spec variant. A unit is 'high' when its index
    is at least ``fraction * attainable maximum``.

    The default 0.5 on both axes (the middle of the attainable range) splits
    the published values into the paper's counts (3 supported, 14 lonely,
    8 potential, 0 late); ``clustermodel.reproduce`` reports the whole interval
    of fractions that does so.
    """

    cluster: float = 0.5
    region: float = 0.5

    def __post_init__(self):
        for name in ("cluster", "region"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not (0 < float(v) <= 1):
                raise ClusterModelError(
                    f"`{name}` threshold must be a fraction of the attainable maximum in (0, 1], got {v!r}"
                )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
