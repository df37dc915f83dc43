"""The analysis' fixed design: the value sources, the primary tests (chosen before the first report) and the
roles of the rows of a result."""

from __future__ import annotations

#: Value sources: the published indices as printed, or the index recomputed under a spec.
SOURCES = ("computed", "published")

#: The primary test of the relationship (chosen when the analysis was written,
#: before its first report; not pre-registered): Pearson's r of the mean
#: unit index of each higher-level unit with its higher-level index.
PRIMARY_TEST = "pearson:region_mean"

#: The primary test of a group effect (chosen after the first results had been
#: published; not pre-registered): Kruskal-Wallis on the index
#: normalised over the whole sample (within-group normalisation attenuates level
#: differences between groups by construction).
PRIMARY_GROUP_TEST = "kruskal:reference=sample"

#: Roles of the rows of a :class:`RelationshipResult`. ``primary``: the
#: test a claim is read off (Holm-adjusted within the family of claims);
#: ``equivalence``: the TOST read beside the primary interval; ``sensitivity``:
#: other designs of the same hypothesis (unadjusted, not confirmatory);
#: ``naive``: designs that ignore the shared higher-level value, for comparison
#: only; ``planning``: not a test (smallest detectable effect).
ROLES = ("primary", "equivalence", "sensitivity", "naive", "planning")
