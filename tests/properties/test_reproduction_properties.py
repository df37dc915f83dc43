"""The reproduction machinery as properties: tolerances, threshold boxes and row verdicts."""

import decimal

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import HEAVY_SETTINGS, specs, studies

from clustermodel import SCENARIOS
from clustermodel.index import compute_index
from clustermodel.reproduction import feasible_thresholds, published_tolerance, reproduce
from clustermodel.scenarios import classify, region_index


@given(st.lists(st.tuples(st.integers(-10**6, 10**6), st.integers(0, 8)), min_size=1, max_size=10))
def test_tolerance_is_half_a_unit_of_the_finest_published_decimal(cells):
    """Values printed with d decimals (0.06, 1.5, 7611.71, 0.00005 …) give 0.5 * 10**-max(d)."""
    values = [float(decimal.Decimal(k).scaleb(-d)) for k, d in cells]
    finest = max(max(-decimal.Decimal(repr(v)).normalize().as_tuple().exponent, 0) for v in values)
    # the decimals are those of the printed value, independent of how Python reprs it (1e-05)
    for (k, d), v in zip(cells, values):
        assert decimal.Decimal(repr(v)) == decimal.Decimal(k).scaleb(-d)
    assert published_tolerance(values) == pytest.approx(0.5 * 10.0**-finest, rel=1e-12)


unit_values = st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0, 1.3]), min_size=1, max_size=8)


@given(unit_values, st.data())
def test_threshold_boxes_are_exactly_the_fractions_that_give_the_counts(c_values, data):
    n = len(c_values)
    r_values = data.draw(st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.8, 1.0]), min_size=n, max_size=n), label="region values")
    regions = data.draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=n, max_size=n), label="regions")
    fc = data.draw(st.floats(0.01, 1.0), label="cluster fraction")
    fr = data.draw(st.floats(0.01, 1.0), label="region fraction")
    c, r = np.array(c_values), np.array(r_values)
    codes = classify(c >= fc, r >= fr)
    counts = {s: int((codes == k).sum()) for k, s in enumerate(SCENARIOS)}
    boxes = feasible_thresholds(c, r, 1.0, 1.0, regions, counts=counts, supported_regions=("A", "B", "C"))
    # complete: the fractions that produced the counts lie in a box …
    assert any(b["cluster"][0] < fc <= b["cluster"][1] and b["region"][0] < fr <= b["region"][1] for b in boxes)
    # … and sound: every fraction of every box gives the counts
    for b in boxes:
        for f_c, f_r in [(b["cluster"][1], b["region"][1]), (np.nextafter(b["cluster"][0], np.inf), np.nextafter(b["region"][0], np.inf))]:
            got = classify(c >= f_c, r >= f_r)
            assert [int((got == k).sum()) for k in range(4)] == [counts[s] for s in SCENARIOS]
    # the supported-region rule removes exactly the boxes with a supported unit elsewhere
    only_a = feasible_thresholds(c, r, 1.0, 1.0, regions, counts=counts, supported_regions=("A",))
    for b in boxes:
        supported = classify(c >= b["cluster"][1], r >= b["region"][1]) == 0
        assert (b in only_a) == bool(np.all(np.array(regions)[supported] == "A"))


def _publish(study, spec, decimals):
    ci = compute_index(study.indicators, study.weights, spec).values
    ri = region_index(study, spec).values
    clusters = study.clusters.assign(published_index=("cluster", np.round(ci, decimals)))
    regions = study.regions.assign(published_index=("region", np.round(ri, decimals + 1)))
    return type(study)(clusters=clusters, weights=study.weights, regions=regions, region_weights=study.region_weights)


@HEAVY_SETTINGS
@given(studies(), specs(missing="zero"), st.integers(1, 3), st.data())
def test_rows_published_as_rounded_computed_values_all_reproduce_and_a_moved_row_does_not(study, spec, decimals, data):
    published = _publish(study, spec, decimals)
    result = reproduce(published, spec)
    assert result.n_reproduced == {"clusters": study.indicators.sizes["cluster"], "regions": study.regions.sizes["region"]}
    assert all(r["explanation"] is None for r in result.clusters)
    i = data.draw(st.integers(0, study.indicators.sizes["cluster"] - 1), label="moved row")
    tol = result.tolerance["clusters"]
    finest = round(-np.log10(2 * tol))
    pub = published.clusters["published_index"].values.copy()
    pub[i] = round(pub[i] + 4 * tol, finest)  # four tolerances away, printed to the same decimals
    moved = type(study)(
        clusters=published.clusters.assign(published_index=("cluster", pub)),
        weights=study.weights,
        regions=published.regions,
        region_weights=study.region_weights,
    )
    again = reproduce(moved, spec)
    assume(again.tolerance == result.tolerance)  # the move did not drop the finest printed decimal (0.8 -> 1.0)
    assert [r["reproduced"] for r in again.clusters] == [k != i for k in range(len(pub))]
