"""The loaders as properties: what is written is what is read, and a bad cell is always located."""

import contextlib
import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import HEAVY_SETTINGS, indicator_tables, non_numeric_cells, weight_vectors

from clustermodel import ClusterModelWarning, InputError
from clustermodel.cli import main
from clustermodel.data import WEIGHT_SUM_EXACT, WEIGHT_SUM_TOLERANCE, load_study, load_weights
from clustermodel.index import compute_index


def _cell(v, token):
    return token if np.isnan(v) else repr(float(v))


def _write_tables(folder, x, w, *, missing_token=""):
    names = list(x["indicator"].values)
    lines = [",".join(["no", "group", *names])]
    for i in range(x.sizes["cluster"]):
        cells = [_cell(v, missing_token) for v in x.values[i]]
        lines.append(",".join([str(x["cluster"].values[i]), str(x["group"].values[i]), *cells]))
    c = Path(folder) / "clusters.csv"
    c.write_text("\n".join(lines) + "\n")
    wf = Path(folder) / "weights.csv"
    wf.write_text("indicator,weight\n" + "".join(f"{n},{float(v)!r}\n" for n, v in zip(names, w)))
    return c, wf


def _unit_weights(m):
    return weight_vectors(m, min_value=0.01, max_value=1.0).map(lambda w: w / w.sum())


@HEAVY_SETTINGS
@given(indicator_tables(), st.sampled_from(["", "n/a", "NA", "nan"]), st.data())
def test_a_written_table_is_read_back_exactly_or_rejected_for_the_documented_reason(x, token, data):
    """Round trip through CSV: values (NaN = missing), identifiers and groups come back bit for bit.
    A column missing everywhere, or a row without any value, is rejected with its location; a
    column that is zero everywhere is accepted with a warning naming it."""
    w = data.draw(_unit_weights(x.sizes["indicator"]))
    names = list(x["indicator"].values)
    all_missing = [n for j, n in enumerate(names) if np.isnan(x.values[:, j]).all()]
    empty_rows = np.flatnonzero(np.isnan(x.values).all(axis=1))
    zero = [n for j, n in enumerate(names) if not all_missing and np.nanmax(np.abs(x.values[:, j])) == 0]
    with tempfile.TemporaryDirectory() as d:
        c, wf = _write_tables(d, x, w, missing_token=token)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if all_missing or len(empty_rows):
                with pytest.raises(InputError) as e:
                    load_study(c, wf)
                assert e.value.file == str(c)
                if all_missing:
                    assert e.value.column == all_missing[0] and "missing for every row" in str(e.value)
                else:
                    assert e.value.line == empty_rows[0] + 2 and "has no indicator value at all" in str(e.value)
                return
            study = load_study(c, wf)
        got = study.indicators
        np.testing.assert_array_equal(got.values, x.values)
        assert got["cluster"].values.tolist() == x["cluster"].values.tolist()
        assert got["group"].values.tolist() == x["group"].values.tolist()
        assert got["indicator"].values.tolist() == names
        np.testing.assert_array_equal(study.weights.values, w)
        warned = [str(m.message) for m in caught if issubclass(m.category, ClusterModelWarning)]
        zero_warnings = [m for m in warned if "zero for every row" in m]
        assert len(zero_warnings) == len(zero)
        for name, msg in zip(zero, zero_warnings):
            assert f"column '{name}'" in msg and str(c) in msg
        np.testing.assert_array_equal(compute_index(got, study.weights).values, compute_index(x, w).values)


@HEAVY_SETTINGS
@given(indicator_tables(missing=False, zero_columns=False), non_numeric_cells, st.data())
def test_a_non_numeric_cell_is_located_by_file_line_and_column_in_the_api_and_the_cli(x, text, data):
    w = data.draw(_unit_weights(x.sizes["indicator"]))
    i = data.draw(st.integers(0, x.sizes["cluster"] - 1), label="row")
    j = data.draw(st.integers(0, x.sizes["indicator"] - 1), label="column")
    name = str(x["indicator"].values[j])
    with tempfile.TemporaryDirectory() as d:
        c, wf = _write_tables(d, x, w)
        lines = c.read_text().splitlines()
        cells = lines[i + 1].split(",")
        cells[2 + j] = text
        lines[i + 1] = ",".join(cells)
        c.write_text("\n".join(lines) + "\n")
        with pytest.raises(InputError) as e:
            load_study(c, wf)
        assert (e.value.file, e.value.line, e.value.column) == (str(c), i + 2, name)
        assert f"{text.strip()!r} is not a number" in str(e.value)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert main(["reproduce", "--clusters", str(c), "--weights", str(wf)]) == 2
        out = err.getvalue().splitlines()
        assert len(out) == 1
        assert out[0] == f"clustermodel: error: {e.value}"


sums = st.one_of(
    st.just(1.0),
    st.floats(1 - WEIGHT_SUM_TOLERANCE, 1 + WEIGHT_SUM_TOLERANCE),
    st.floats(0.05, 5.0),
)


@given(st.integers(1, 6).flatmap(lambda m: weight_vectors(m, min_value=0.01, max_value=1.0)), sums)
def test_weights_are_kept_renormalised_with_a_warning_or_rejected_by_their_sum(w, target):
    w = w / w.sum() * target
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "w.csv"
        p.write_text("indicator,weight\n" + "".join(f"i{k},{float(v)!r}\n" for k, v in enumerate(w)))
        total = np.array([float(v) for v in w]).sum()  # what the loader sums: repr round-trips exactly
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if abs(total - 1) > WEIGHT_SUM_TOLERANCE * (1 + 1e-9):
                with pytest.raises(InputError, match=f"sum to {total:.6g}, not 1; they are rejected"):
                    load_weights(p)
                return
            got = load_weights(p).values
        msgs = [str(m.message) for m in caught if issubclass(m.category, ClusterModelWarning)]
        if abs(total - 1) > WEIGHT_SUM_EXACT:
            assert len(msgs) == 1 and "renormalised to sum to one" in msgs[0] and str(p) in msgs[0]
            assert got.sum() == pytest.approx(1.0, abs=1e-12)
            np.testing.assert_allclose(got, w / total, rtol=1e-15)
        else:
            assert msgs == []
            np.testing.assert_array_equal(got, w)
