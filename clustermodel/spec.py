"""The frozen specification of every construction choice behind a composite index.

Every step of building an index — denomination, the data-availability screen,
missing values, outlier treatment, normalisation, aggregation at each level —
is one field of :class:`IndexSpec`, applied in that order by
:func:`clustermodel.index.construct`. Because every choice is a field, every
choice can be a Sobol' trigger factor and a bootstrap axis.

The defaults are the general-purpose choices a methodologist expects of a new
index (min-max normalisation over the whole sample, available-case arithmetic
means, no treatment; COINr's defaults). The paper's study is one configuration,
:data:`PAPER_SPEC`, which reproduces its Tables 5 and 6 (see
``clustermodel.reproduction`` and ``docs/method.md``).

:class:`ScenarioThresholds` holds the rule that splits units into the four
scenarios of the paper's Figure 13.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

from clustermodel._errors import ClusterModelError

__all__ = [
    "IndexSpec",
    "PAPER_SPEC",
    "weight_robustness_spec",
    "ScenarioThresholds",
    "NORMALISATIONS",
    "REFERENCE_SETS",
    "IMPUTE_REFERENCE_SETS",
    "AGGREGATIONS",
    "parse_aggregation",
    "parse_transform",
    "MISSING_POLICIES",
    "NEGATIVE_POLICIES",
    "TREATMENTS",
    "TRANSFORMS",
    "SCENARIOS",
]

#: Normalisers; each honours the indicator's direction (see clustermodel.normalise).
NORMALISATIONS = {
    "max": "ratio to the reference set's maximum, x / max; lower-is-better indicators are first reflected within "
    "the set, (max + min - x) / max",
    "minmax": "(x - min) / (max - min) in [0, 1]; (max - x) / (max - min) for lower-is-better indicators",
    "zscore": "(x - mean) / standard deviation (n - 1 denominator), sign flipped for lower-is-better indicators",
    "rank": "percentile rank in [0, 1]: (average rank - 1) / (number observed - 1), best = 1",
    "prank": "percentile rank in [0, 1] with ties at their lowest rank: (min rank - 1) / (number observed - 1), "
    "best = 1 (COINr's n_prank)",
    "borda": "Borda score: how many units of the reference set the unit beats, (min rank - 1) in 0 .. n - 1 "
    "(COINr's n_borda)",
    "target": "distance to the structure's target, (x - min) / (target - min), capped at 1 (unless target_cap = "
    "false); "
    "(max - x) / (max - target) for lower-is-better indicators",
    "goalposts": "(x - lower) / (upper - lower) between the structure's goalposts, truncated to [0, 1]; "
    "(upper - x) / (upper - lower) for lower-is-better indicators",
    "dist2ref": "distance to a reference unit (reference_unit), (x - min) / (x_ref - min): the reference unit scores "
    "1 and a better unit above 1, uncapped (COINr's n_dist2ref); (max - x) / (max - x_ref) for lower-is-better "
    "indicators",
}

#: Sets over which a normaliser's statistics (max, min, mean, sd, ranks) and group imputation are taken.
REFERENCE_SETS = {
    "sample": "the whole sample",
    "group": "each unit's group",
}

#: Whose values fill a missing cell (``missing`` = mean or median): the normalisation's set, or one of its own, so
#: that COINr's usual chain — impute with the group mean, normalise over the whole sample — can be written.
IMPUTE_REFERENCE_SETS = {
    "same": "the normalisation's reference set (`reference`)",
    **REFERENCE_SETS,
}

#: Aggregators of the children of one node; a level may use its own.
AGGREGATIONS = {
    "equation1": "Equation 1 as printed: sqrt(sum_j (a_j x_j / max a_j x_j)^2) = sqrt(sum_j [a_j > 0] x_j^2); "
    "positive weights cancel",
    "quadratic": "weights after normalisation: sqrt(sum_j w_j x_j^2) (a weighted quadratic mean)",
    "arithmetic": "weighted arithmetic mean sum_j w_j x_j",
    "geometric": "weighted geometric mean prod_j x_j^w_j; a zero child gives 0, a negative child is an error",
    "harmonic": "weighted harmonic mean 1 / sum_j (w_j / x_j); a zero child gives 0, a negative child is an error",
    "copeland": "Copeland's pairwise majority rule (non-compensatory): a unit beats another when the children it "
    "scores higher on weigh more than those it scores lower on; its score is the share of the other units it beats, "
    "ties counting a half, in [0, 1] (COINr's a_copeland score is 2 (n - 1) times this minus (n - 1)); costs n^2 "
    "comparisons per weight vector",
    "genmean": "generalised (power) mean of order p, (sum_j w_j x_j^p)^(1/p), written genmean:p (e.g. genmean:0.5); "
    "p = 1 is arithmetic, 2 quadratic, -1 harmonic, p -> 0 geometric; values must be >= 0 and, for p < 0, a zero "
    "child gives 0 (COINr's a_genmean)",
}

#: Aggregators written with a parameter, ``name:value`` (the generalised mean's order).
PARAMETRISED_AGGREGATIONS = ("genmean",)


def _parse_parametrised(name, field: str, registry: dict, parametrised: tuple, *, zero: str | None, example: str):
    """``'base:p'`` -> ``('base', p)`` for a method of ``parametrised``, any other name of ``registry`` -> ``(name,
    None)``; ``zero`` is the message for p = 0 when 0 is not allowed (None: it is)."""
    if isinstance(name, str) and ":" in name:
        base, _, text = name.partition(":")
        if base not in parametrised:
            _check(name, field, registry)
        try:
            order = float(text)
        except ValueError:
            order = math.nan
        if not math.isfinite(order) or (zero is not None and order == 0):
            what = "a finite number" + (" other than 0 (" + zero + ")" if zero is not None else "")
            raise ClusterModelError(f"`{field}` {name!r}: the order must be {what}, e.g. {example}")
        return base, order
    _check(name, field, registry)
    if name in parametrised:
        raise ClusterModelError(f"`{field}` {name!r} needs its order: write {name}:p, e.g. {example}")
    return name, None


def parse_aggregation(name) -> tuple[str, float | None]:
    """``'genmean:0.5'`` -> ``('genmean', 0.5)``; any other aggregation name -> ``(name, None)``.

    Raises
    ------
    ClusterModelError
        For an unknown name, a generalised mean without its order, or an order that is 0 (the geometric mean's
        limit: write 'geometric'), infinite or not a number.
    """
    return _parse_parametrised(
        name, "aggregation", AGGREGATIONS, PARAMETRISED_AGGREGATIONS,
        zero="the generalised mean's limit at 0 is the geometric mean: write 'geometric'", example="genmean:0.5",
    )


def parse_transform(name) -> tuple[str, float | None]:
    """``'boxcox:0.5'`` -> ``('boxcox', 0.5)``; any other transform name -> ``(name, None)``.

    Raises
    ------
    ClusterModelError
        For an unknown name, a Box-Cox transform without its order, or an order that is not a finite number.
    """
    return _parse_parametrised(name, "transform", TRANSFORMS, PARAMETRISED_TRANSFORMS, zero=None, example="boxcox:0.5")


def _canonical(parse, name) -> str:
    base, order = parse(name)
    return base if order is None else f"{base}:{order!r}"


def _canonical_aggregation(name) -> str:
    return _canonical(parse_aggregation, name)

#: What a missing indicator value does.
MISSING_POLICIES = {
    "zero": "a missing value is scored as 0 after normalisation and keeps its weight",
    "rescale": "available-case: each aggregate is taken over its observed children, their weights renormalised",
    "mean": "imputed with the mean of the unit's reference set (group or sample) before treatment",
    "median": "imputed with the median of the unit's reference set (group or sample) before treatment",
}

#: What a negative raw indicator value means.
NEGATIVE_POLICIES = {
    "keep": "kept with its sign: the Euclidean aggregators (equation1, quadratic) square it, so a deficit adds like "
    "a surplus; the arithmetic mean subtracts it; geometric and harmonic means reject it",
    "zero": "a negative value is set to zero before normalisation (a deficit earns nothing)",
    "error": "a negative value is rejected",
}

#: Outlier treatments (the JRC/COINr two-stage rule).
TREATMENTS = {
    "none": "no treatment",
    "winsorise": "an indicator with |skew| > skew_threshold and kurtosis > kurtosis_threshold is winsorised one point "
    "at a time (on the side of its skew) up to winsor_max points; if that does not bring it within both limits it is "
    "log-transformed instead, log(x - min + 0.01 (max - min))",
}

#: What treats an indicator that winsorising ``winsor_max`` points does not bring within both limits (COINr's ``f2``);
#: applied to its untreated values.
TRANSFORMS = {
    "log": "log(x - min + a) with a = 0.01 (max - min) for a positive skew, -log(max + a - x) for a negative one "
    "(COINr's log_CT_plus)",
    "log1": "log(x - min + 1) whatever the skew (the COIN Tool's log, COINr's log_CT_orig); its effect depends on the "
    "indicator's units",
    "boxcox": "Box-Cox of order p of the values shifted to start at 1, ((x - min + 1)^p - 1) / p, and log(x - min + 1) "
    "at p = 0; written boxcox:p (COINr's boxcox with makepos); p < 1 reduces a positive skew, p > 1 a negative one",
    "loggii": "log((max - 1)(x - min) / (max - min) + 1): the values mapped onto [1, max] before the log, so the "
    "result spans [0, log max] (COINr's log_GII, from the UNDP's Gender Inequality Index); needs max > 1",
    "none": "no second step: the indicator keeps its values winsorised up to winsor_max points although they are "
    "still beyond the limits",
}

#: Transforms written with a parameter, ``name:value`` (the Box-Cox order).
PARAMETRISED_TRANSFORMS = ("boxcox",)

#: Scenario labels in a fixed order; integer codes index into this tuple.
SCENARIOS = ("supported", "lonely", "potential", "late")

_RENAMED = {"square": "keep"}


def _check(value, name, registry):
    if value not in registry:
        hint = f" ('{value}' is now called '{_RENAMED[value]}')" if value in _RENAMED else ""
        raise ClusterModelError(f"`{name}` must be one of {', '.join(repr(k) for k in registry)}; got {value!r}{hint}")


def _number(value, name, *, low, high, low_open=False, integer=False):
    bad = isinstance(value, bool) or not isinstance(value, numbers.Real)
    if integer:
        bad = bad or not isinstance(value, numbers.Integral)
    if not bad:
        v = float(value)
        bad = not math.isfinite(v) or v < low or v > high or (low_open and v == low)
    if bad:
        kind = "an integer" if integer else "a number"
        lo = "(" if low_open else "["
        raise ClusterModelError(f"`{name}` must be {kind} in {lo}{low:g}, {high:g}]; got {value!r}")
    return int(value) if integer else float(value)


@dataclass(frozen=True)
class IndexSpec:
    """Every construction choice of a composite index, in the order they are applied.

    Parameters
    ----------
    denominate : bool
        Divide each indicator by its structure ``denominator`` column (a no-op
        for indicators without one).
    min_coverage : float in [0, 1]
        Data-availability screen: units observed on fewer than this share of
        the indicators are excluded (and listed in the result). 0 keeps all.
    missing : {'zero', 'rescale', 'mean', 'median'}
        See :data:`MISSING_POLICIES`.
    treatment : {'none', 'winsorise'}
        Outlier treatment, see :data:`TREATMENTS`.
    winsor_max : int
        Most points winsorised per indicator before ``transform`` is used instead.
    skew_threshold, kurtosis_threshold : float
        The treatment rule: |skew| > 2 and (excess) kurtosis > 3.5 by default.
    transform : str
        What treats an indicator that winsorising does not bring within the limits, see :data:`TRANSFORMS`
        (default ``'log'``; ``'boxcox:p'`` for a Box-Cox transform of order p).
    normalisation : str
        See :data:`NORMALISATIONS`.
    reference : {'sample', 'group'}
        Set over which the normaliser's statistics are taken (and the imputation's, unless ``impute_reference``
        names its own); ``'group'`` needs a group column.
    impute_reference : {'same', 'sample', 'group'}
        Set whose mean or median fills a missing cell (``missing`` = mean or median): ``'same'`` (default) is
        ``reference``; COINr's ASEM example imputes with the group mean (``'group'``) and normalises over the sample.
    negative : {'keep', 'zero', 'error'}
        See :data:`NEGATIVE_POLICIES`.
    normalised_range : (lower, upper)
        The scale ``minmax`` and ``rank`` map onto (default [0, 1]; COINr's ``n_minmax(l_u)``); [1, 100] keeps a
        geometric or harmonic mean away from the zero that the worst unit on any indicator would give it.
    reference_unit : str, optional
        The id of the unit ``normalisation = 'dist2ref'`` measures every unit against (COINr's ``iref``); required
        by that method and ignored by the others. Its values are the full sample's: a data-bootstrap resample that
        does not draw it still scores against them.
    target_cap : bool
        ``normalisation = 'target'`` scores a unit beyond its indicator's target 1 (default, the JRC's
        distance-to-target); false keeps its score above 1, as COINr's ``n_dist2targ`` does by default
        (``cap_max = FALSE``), so surpassing the target still counts.
    aggregation : str or tuple of str
        One aggregator (:data:`AGGREGATIONS`) for every level, or one per
        aggregation level from the lowest (level 2: the parents of indicators)
        to the index.

    Notes
    -----
    Weights are relative within their parent: every aggregator except
    ``'equation1'`` normalises the weights of one node's children to sum to
    one, so scaling all weights of a parent changes nothing.
    """

    denominate: bool = True
    min_coverage: float = 0.0
    missing: str = "rescale"
    treatment: str = "none"
    winsor_max: int = 5
    skew_threshold: float = 2.0
    kurtosis_threshold: float = 3.5
    transform: str = "log"
    normalisation: str = "minmax"
    reference: str = "sample"
    impute_reference: str = "same"
    negative: str = "keep"
    normalised_range: tuple = (0.0, 1.0)
    target_cap: bool = True
    reference_unit: str | None = None
    aggregation: str | tuple = "arithmetic"

    def __post_init__(self):
        if not isinstance(self.denominate, bool):
            raise ClusterModelError(f"`denominate` must be true or false; got {self.denominate!r}")
        object.__setattr__(self, "min_coverage", _number(self.min_coverage, "min_coverage", low=0, high=1))
        _check(self.missing, "missing", MISSING_POLICIES)
        _check(self.treatment, "treatment", TREATMENTS)
        object.__setattr__(self, "winsor_max", _number(self.winsor_max, "winsor_max", low=0, high=10**9, integer=True))
        for name in ("skew_threshold", "kurtosis_threshold"):
            object.__setattr__(self, name, _number(getattr(self, name), name, low=0, high=math.inf, low_open=True))
        object.__setattr__(self, "transform", _canonical(parse_transform, self.transform))
        _check(self.normalisation, "normalisation", NORMALISATIONS)
        _check(self.reference, "reference", REFERENCE_SETS)
        _check(self.impute_reference, "impute_reference", IMPUTE_REFERENCE_SETS)
        _check(self.negative, "negative", NEGATIVE_POLICIES)
        r = self.normalised_range
        if not isinstance(r, (list, tuple)) or len(r) != 2:
            raise ClusterModelError(f"`normalised_range` must be two numbers [lower, upper], e.g. [1, 100]; got {r!r}")
        lo = _number(r[0], "normalised_range[0]", low=-1e12, high=1e12)
        hi = _number(r[1], "normalised_range[1]", low=-1e12, high=1e12)
        if not lo < hi:
            raise ClusterModelError(f"`normalised_range` must have lower < upper; got {list(r)!r}")
        object.__setattr__(self, "normalised_range", (lo, hi))
        if not isinstance(self.target_cap, bool):
            raise ClusterModelError(f"`target_cap` must be true or false; got {self.target_cap!r}")
        if self.reference_unit is not None:
            if isinstance(self.reference_unit, bool) or not isinstance(self.reference_unit, (str, numbers.Integral)):
                raise ClusterModelError(f"`reference_unit` must be a unit's id (text), got {self.reference_unit!r}")
            object.__setattr__(self, "reference_unit", str(self.reference_unit))
        if self.normalisation == "dist2ref":
            if self.reference_unit is None:
                raise ClusterModelError(
                    "normalisation='dist2ref' scores every unit against a reference unit: name it with "
                    "reference_unit = '<unit id>' in the spec (--reference-unit on the command line)"
                )
            if self.reference != "sample":
                raise ClusterModelError(
                    "normalisation='dist2ref' compares every unit with one reference unit, which belongs to one group: "
                    "use reference='sample'"
                )
        agg = self.aggregation
        if isinstance(agg, list):
            agg = tuple(agg)
        if isinstance(agg, tuple):
            if not agg:
                raise ClusterModelError("`aggregation` must name at least one aggregator")
            agg = tuple(_canonical_aggregation(a) for a in agg)
            if len(set(agg)) == 1:
                agg = agg[0]
        else:
            agg = _canonical_aggregation(agg)
        object.__setattr__(self, "aggregation", agg)

    def aggregation_at(self, level: int, n_levels: int) -> str:
        """Aggregator of aggregation level ``level`` (2 = parents of indicators) in a structure of ``n_levels``."""
        if isinstance(self.aggregation, str):
            return self.aggregation
        if len(self.aggregation) != n_levels - 1:
            raise ClusterModelError(
                f"`aggregation` lists {len(self.aggregation)} aggregators but the structure has {n_levels - 1} "
                f"aggregation level(s); give one aggregator per level from the indicators' parents up to the index, "
                "or a single name for all"
            )
        return self.aggregation[level - 2]

    @property
    def imputation_reference(self) -> str:
        """The set imputation draws on: ``impute_reference``, or ``reference`` when that is ``'same'``."""
        return self.reference if self.impute_reference == "same" else self.impute_reference

    @property
    def top_aggregation(self) -> str:
        return self.aggregation if isinstance(self.aggregation, str) else self.aggregation[-1]

    @property
    def aggregation_label(self) -> str:
        """The aggregation in words: one name, or one per level from the indicators' parents up, joined by ' / '.

        >>> IndexSpec(aggregation=("arithmetic", "geometric")).aggregation_label
        'arithmetic / geometric'
        """
        return self.aggregation if isinstance(self.aggregation, str) else " / ".join(self.aggregation)

    def replace(self, **changes: Any) -> IndexSpec:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def changed(self) -> dict:
        """The fields that differ from :class:`IndexSpec`'s defaults, in field order."""
        default = IndexSpec()
        return {f: getattr(self, f) for f in self.fields() if getattr(self, f) != getattr(default, f)}

    def __repr__(self) -> str:
        """The fields that differ from the defaults: ``eval(repr(spec)) == spec``.

        >>> IndexSpec(normalisation="zscore", aggregation=("arithmetic", "geometric"))
        IndexSpec(normalisation='zscore', aggregation=('arithmetic', 'geometric'))
        """
        return f"IndexSpec({', '.join(f'{k}={v!r}' for k, v in self.changed().items())})"

    def _repr_html_(self) -> str:
        """A notebook table: every choice, its value, and whether it is the default."""
        from html import escape

        changed = self.changed()
        rows = "".join(
            f"<tr><td><code>{escape(k)}</code></td><td>{'<b>' if k in changed else ''}{escape(repr(getattr(self, k)))}"
            f"{'</b>' if k in changed else ''}</td><td>{'' if k in changed else 'default'}</td></tr>"
            for k in self.fields()
        )
        return f"<table><caption>IndexSpec ({len(changed)} of {len(self.fields())} choices changed)</caption>{rows}</table>"

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if isinstance(d["aggregation"], tuple):
            d["aggregation"] = list(d["aggregation"])
        d["normalised_range"] = list(d["normalised_range"])
        return d

    def to_attrs(self, prefix: str = "spec_") -> dict:
        """NetCDF-safe attributes, one per field that is set (booleans as 0/1, per-level aggregators joined by ' / ';
        an unset optional field such as ``reference_unit`` has no attribute, NetCDF having no null)."""
        out = {}
        for k, v in self.to_dict().items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = int(v)
            elif isinstance(v, list) and all(isinstance(x, str) for x in v):
                v = " / ".join(v)
            out[f"{prefix}{k}"] = v
        return out

    def describe(self) -> str:
        """One line per choice, in words."""
        agg = self.aggregation_label
        aggs = [self.aggregation] if isinstance(self.aggregation, str) else list(dict.fromkeys(self.aggregation))
        lines = [
            f"denomination: {'by the structure' if self.denominate else 'none'}",
            f"data-availability screen: {'none' if self.min_coverage == 0 else f'at least {self.min_coverage:.0%} observed'}",
            f"missing values: {self.missing} ({MISSING_POLICIES[self.missing]})"
            + (f", from {REFERENCE_SETS[self.imputation_reference]}" if self.missing in ("mean", "median") and self.impute_reference != "same" else ""),
            f"outliers: {self.treatment}"
            + (
                f" (|skew| > {self.skew_threshold:g} and kurtosis > {self.kurtosis_threshold:g}, up to "
                f"{self.winsor_max} points, else {self.transform})"
                if self.treatment != "none"
                else ""
            ),
            f"normalisation: {self.normalisation} ({NORMALISATIONS[self.normalisation]})"
            + (f", mapped onto [{self.normalised_range[0]:g}, {self.normalised_range[1]:g}]" if self.normalisation in ("minmax", "rank") and self.normalised_range != (0.0, 1.0) else "")
            + (", not capped: a unit beyond the target scores above 1" if self.normalisation == "target" and not self.target_cap else "")
            + (f", reference unit {self.reference_unit}" if self.normalisation == "dist2ref" else ""),
            f"reference set: {self.reference} ({REFERENCE_SETS[self.reference]})",
            f"negative values: {self.negative} ({NEGATIVE_POLICIES[self.negative]})",
            f"aggregation: {agg} (" + "; ".join(f"{a}: {AGGREGATIONS[a]}" for a in aggs) + ")",
        ]
        return "\n".join(lines)

    @classmethod
    def fields(cls) -> tuple:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, d: dict, *, where: str = "spec") -> "IndexSpec":
        """Build from a mapping (a config table); unknown keys are errors that list the valid ones."""
        unknown = sorted(set(d) - set(cls.fields()))
        if unknown:
            raise ClusterModelError(
                f"{where}: unknown spec field(s) {', '.join(map(repr, unknown))}; valid fields are "
                f"{', '.join(cls.fields())}"
            )
        try:
            return cls(**d)
        except ClusterModelError as exc:
            raise ClusterModelError(f"{where}: {exc}") from None


def weight_robustness_spec(spec: IndexSpec) -> IndexSpec:
    """The spec under which weight robustness (Sobol' over weights, the expert bootstrap) is measured.

    Under Equation 1 as printed every positive weight cancels, so no weight
    can move any output; those stages then use the quadratic aggregation
    (weights after normalisation), and every report says so beside the
    number. Any other spec is used as it is.
    """
    if spec.aggregation == "equation1":
        return spec.replace(aggregation="quadratic")
    return spec


#: The paper's choices (Section 4.1.2, Equation 1): ratio to the maximum within each industry group,
#: Equation 1 as printed, a missing value contributes zero, a negative value is kept (and squared).
PAPER_SPEC = IndexSpec(missing="zero", normalisation="max", reference="group", negative="keep", aggregation="equation1")


@dataclass(frozen=True)
class ScenarioThresholds:
    """Where 'high' starts on each axis of the paper's Figure 13.

    The paper states no thresholds. They are expressed as a fraction of the
    index's attainable maximum (the score of a virtual unit at the top of the
    normalised scale on every indicator: sqrt(m) under Equation 1, 1 under the
    weighted means with a bounded normaliser), so the same rule transfers to
    every spec. A unit is 'high' when its index is at least
    ``fraction * attainable maximum``.

    The default 0.5 on both axes (the middle of the attainable range) splits
    the paper's published values into its counts (3 supported, 14 lonely,
    8 potential, 0 late); ``clustermodel.reproduction`` reports the whole interval
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
