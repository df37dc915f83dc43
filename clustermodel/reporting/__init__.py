"""The report layer: turns estimator results into prose, tables and figures.

Estimator modules (:mod:`clustermodel.sensitivity`, :mod:`clustermodel.bootstrap`,
:mod:`clustermodel.relationship`, …) return frozen result objects and know
nothing of Markdown or files. Each module here narrates one stage's results:

- ``markdown(result, *, nouns) -> str``: the stage's section of the report;
- ``findings(result, *, nouns) -> list[str]``: the findings in brief that open
  the stage's section, each naming the analysis and spec it comes from;
- ``conclusions(result, *, nouns) -> list[str]``: the stage's one or two
  conclusions for the top of the report (one number, one interval, one link).

Words come from :class:`clustermodel.nouns.Nouns`, so a report about
countries speaks of countries, and the paper's own names appear only in the
paper's study.
"""
