"""IndexSpec: how a spec shows itself."""

from __future__ import annotations

from clustermodel.spec import IndexSpec


def test_a_spec_shows_what_it_changes_and_rebuilds_from_its_repr():
    from clustermodel import PAPER_SPEC

    spec = IndexSpec(normalisation="zscore", aggregation=("arithmetic", "geometric"), normalised_range=(1.0, 100.0))
    assert repr(IndexSpec()) == "IndexSpec()"
    for s in (spec, PAPER_SPEC, IndexSpec()):
        assert eval(repr(s), {"IndexSpec": IndexSpec}) == s
    assert "reference" not in repr(spec)
    html = PAPER_SPEC._repr_html_()
    assert html.count("<tr>") == len(IndexSpec.fields()) and f"{len(PAPER_SPEC.changed())} of" in html
