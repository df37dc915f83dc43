"""Argument normalisation (``_validation``), the spec (``spec``) and atomic output (``_io``) as properties."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import specs

from clustermodel import ClusterModelError, IndexSpec, ScenarioThresholds
from clustermodel._io import atomic_path, write_text
from clustermodel._validation import as_rng, check_positive_int, check_probability
from clustermodel.spec import AGGREGATIONS, MISSING_POLICIES, NEGATIVE_POLICIES, NORMALISATIONS, REFERENCE_SETS, TREATMENTS


@given(st.integers(0, 2**64))
def test_an_integer_seed_gives_numpys_stream_and_a_generator_passes_through(seed):
    a = as_rng(seed).random(3)
    np.testing.assert_array_equal(a, np.random.default_rng(seed).random(3))
    g = np.random.default_rng(seed)
    assert as_rng(g) is g


bad_seeds = st.one_of(
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.booleans(),
    st.integers(max_value=-1),
    st.lists(st.integers(0, 9), max_size=2),
    st.just(np.random.RandomState(0)),
)


@given(bad_seeds, st.sampled_from(["rng", "seed"]))
def test_a_seed_of_the_wrong_type_is_rejected_naming_the_argument(bad, name):
    with pytest.raises(ClusterModelError, match=f"`{name}`"):
        as_rng(bad, name=name)


@given(st.one_of(st.integers(), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3)), st.integers(0, 5))
def test_check_positive_int(value, minimum):
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if ok:
        assert check_positive_int(value, "n", minimum=minimum) == value
    else:
        with pytest.raises(ClusterModelError, match="`n`"):
            check_positive_int(value, "n", minimum=minimum)


@given(st.one_of(st.floats(allow_nan=True), st.text(max_size=3)), st.booleans())
def test_check_probability(value, open_interval):
    try:
        v = float(value)
    except ValueError:
        v = None
    ok = v is not None and ((0 < v < 1) if open_interval else (0 <= v <= 1))
    if ok:
        assert check_probability(value, "confidence_level", open_interval=open_interval) == v
    else:
        with pytest.raises(ClusterModelError, match="`confidence_level`"):
            check_probability(value, "confidence_level", open_interval=open_interval)


class _Boom(Exception):
    pass


@given(st.binary(max_size=64), st.binary(max_size=64), st.booleans())
def test_atomic_output_is_all_or_nothing(old, new, fail):
    """A write that fails leaves the previous file (or no file) and no temporary file behind."""
    with tempfile.TemporaryDirectory() as d:
        target = Path(d) / "out" / "table.md"
        target.parent.mkdir()
        target.write_bytes(old)
        try:
            with atomic_path(target) as tmp:
                Path(tmp).write_bytes(new[: len(new) // 2])
                if fail:
                    raise _Boom
                Path(tmp).write_bytes(new)
        except _Boom:
            pass
        assert target.read_bytes() == (old if fail else new)
        assert [p.name for p in target.parent.iterdir()] == ["table.md"]
        write_text(target, "x")
        assert target.read_text() == "x"


@given(specs())
def test_a_spec_round_trips_through_its_dict(spec):
    assert IndexSpec.from_dict(spec.to_dict()) == spec
    assert spec.replace() == spec and hash(spec.replace()) == hash(spec)
    text = spec.describe()
    for field in ("missing", "treatment", "normalisation", "reference", "negative", "aggregation"):
        value = getattr(spec, field)
        assert all(v in text for v in ([value] if isinstance(value, str) else value))


@given(st.sampled_from(["reference", "aggregation", "missing", "negative", "normalisation", "treatment"]), st.text(max_size=10))
def test_an_unknown_spec_option_is_rejected_listing_the_valid_ones(field, value):
    valid = {"reference": REFERENCE_SETS, "aggregation": AGGREGATIONS, "missing": MISSING_POLICIES, "negative": NEGATIVE_POLICIES,
             "normalisation": NORMALISATIONS, "treatment": TREATMENTS}[field]
    if value in valid:
        assert getattr(IndexSpec(**{field: value}), field) == value
        return
    with pytest.raises(ClusterModelError) as e:
        IndexSpec(**{field: value})
    assert str(e.value).startswith(f"`{field}` must be one of ") and all(repr(k) in str(e.value) for k in valid)


@given(st.one_of(st.floats(allow_nan=True), st.integers(-2, 2), st.booleans(), st.text(max_size=2)))
def test_thresholds_accept_exactly_fractions_in_the_half_open_unit_interval(value):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1
    if ok:
        assert ScenarioThresholds(cluster=value).cluster == value
    else:
        with pytest.raises(ClusterModelError, match="`cluster` threshold must be a fraction"):
            ScenarioThresholds(cluster=value)
