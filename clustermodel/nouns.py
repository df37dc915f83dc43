"""The nouns a report uses for the units of a study.

The paper's study speaks of clusters, industry groups and regions; a user's
study speaks of units, groups and higher-level units, or of whatever nouns the
user sets in the config (``[study] unit_noun = "country"``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from clustermodel._errors import ClusterModelError

__all__ = ["Nouns", "PAPER_NOUNS"]


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


@dataclass(frozen=True)
class Nouns:
    """Singular and plural nouns for the three kinds of entity a study can have.

    Parameters
    ----------
    unit, group, higher : str
        What one scored unit, one group (the normalisation reference set) and
        one higher-level unit (the second index: regions in the paper) are called.
    units, groups, highers : str, optional
        Plurals; formed by English rules when not given.
    """

    unit: str = "unit"
    group: str = "group"
    higher: str = "higher-level unit"
    units: str = ""
    groups: str = ""
    highers: str = ""

    def __post_init__(self):
        for name in ("unit", "group", "higher"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ClusterModelError(f"`{name}` noun must be a non-empty string, got {value!r}")
            plural = getattr(self, name + "s") or _plural(value.strip())
            object.__setattr__(self, name, value.strip())
            object.__setattr__(self, name + "s", plural)

    @classmethod
    def from_config(cls, cfg: dict) -> "Nouns":
        """From a ``[study]`` config table: ``unit_noun``, ``group_noun``, ``higher_noun`` (+ ``*_plural``)."""
        kw = {}
        for name in ("unit", "group", "higher"):
            if f"{name}_noun" in cfg:
                kw[name] = cfg[f"{name}_noun"]
            if f"{name}_noun_plural" in cfg:
                kw[name + "s"] = cfg[f"{name}_noun_plural"]
        return cls(**kw)

    def count(self, n: int, which: str = "unit") -> str:
        """``'19 regions'``, ``'1 region'``."""
        return f"{n} {getattr(self, which) if n == 1 else getattr(self, which + 's')}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: The paper's words.
PAPER_NOUNS = Nouns(unit="cluster", group="industry group", higher="region")
