"""The bad-input catalogue (docs/bad_inputs.md): every entry through the Python API and the CLI.

Each entry asserts the message (it names the file, line and column, or the
argument, and the fix). Through the CLI every error is exactly one stderr line
starting ``clustermodel: error:`` with exit status 2, and a failing run leaves
its ``--out`` folder exactly as it was.
"""

import json
import os
import warnings

import numpy as np
import pytest

from clustermodel import ClusterModelError, ClusterModelWarning, IndexSpec, InputError, sensitivity
from clustermodel._io import SIGNIFICANT_DIGITS, staged_outputs, write_text
from clustermodel._validation import as_rng
from clustermodel.cli import main
from clustermodel.data import load_study, load_weights
from clustermodel.index import compute_index

CLUSTERS = """
no,name,group,region,a,b
1,Alpha,G1,North,1.5,20
2,Beta,G1,South,3,10
3,Gamma,G2,North,2,5
"""
WEIGHTS = "indicator,weight\na,0.4\nb,0.6\n"
REGIONS = "region,r1,r2\nNorth,1,2\nSouth,3,-4\n"


@pytest.fixture
def files(write_csv):
    """Write the valid tables, optionally replacing some of them; returns name -> path."""

    def _files(**texts):
        base = {"clusters": CLUSTERS, "weights": WEIGHTS, "regions": REGIONS}
        base.update(texts)
        return {k: write_csv(f"{k}.csv", v) for k, v in base.items()}

    return _files


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))} if folder.exists() else None


@pytest.fixture
def cli(tmp_path, capsys):
    """Run the CLI with ``--out`` pointing at a reports folder that already holds a previous output."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "index.md").write_text("previous run\n")

    def _run(*args, out=reports):
        before = _snapshot(out)
        code = main([*map(str, args), "--out", str(out)])
        captured = capsys.readouterr()
        return code, captured.err.splitlines(), before, _snapshot(out)

    return _run


def assert_cli_error(cli, args, message, **kw):
    code, err, before, after = cli(*args, **kw)
    assert code == 2
    assert len(err) == 1, err
    assert err[0] == f"clustermodel: error: {message}"
    assert after == before  # nothing new, nothing half-written, nothing replaced


def data_args(f, regions=False):
    args = ["index", "--clusters", f["clusters"], "--weights", f["weights"]]
    return args + (["--regions", f["regions"]] if regions else [])


# --- 1. a non-numeric cell -------------------------------------------------------------------------


def test_non_numeric_cell(files, cli):
    f = files(clusters=CLUSTERS.replace("3,10", "3,1O"))
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    msg = f"{f['clusters']}, line 3, column 'b': '1O' is not a number; write a number, or leave the cell empty for a missing value"
    assert str(e.value) == msg
    assert (e.value.file, e.value.line, e.value.column) == (str(f["clusters"]), 3, "b")
    assert_cli_error(cli, data_args(f), msg)


def test_decimal_comma_cell(files, cli):
    f = files(clusters=CLUSTERS.replace("1.5,20", '"1,5",20'))
    msg = f"{f['clusters']}, line 2, column 'a': '1,5' is not a number; use a decimal point, not a comma"
    with pytest.raises(InputError, match="decimal point"):
        load_study(f["clusters"], f["weights"])
    assert_cli_error(cli, data_args(f), msg)


# --- 2. an empty file ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "the file is empty; it needs a header line and at least one data line"),
        ("no,name,group,region,a,b\n", "the file has a header but no data line"),
    ],
)
def test_empty_file(files, cli, text, problem):
    f = files(clusters=text)
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == f"{f['clusters']}: {problem}"
    assert_cli_error(cli, data_args(f), f"{f['clusters']}: {problem}")


def test_empty_weights_file(files, cli):
    f = files(weights="")
    msg = f"{f['weights']}: the file is empty; it needs a header line and at least one data line"
    with pytest.raises(InputError, match="the file is empty"):
        load_weights(f["weights"])
    assert_cli_error(cli, data_args(f), msg)


# --- 3. a missing required column ------------------------------------------------------------------


def test_missing_identifier_column(files, cli):
    f = files(clusters=CLUSTERS.replace("no,name", "id,name"))
    msg = (
        f"{f['clusters']}, line 1: required column(s) 'no' not found; the header has 'id', 'name', 'group', "
        "'region', 'a', 'b': add the identifier column or name it with `id_column` (--id-column)"
    )
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)
    # the advertised fix works
    assert load_study(f["clusters"], f["weights"], id_column="id").indicators.sizes["cluster"] == 3


def test_missing_weight_column(files, cli):
    f = files(weights="indicator,weigth\na,0.4\nb,0.6\n")
    msg = (
        f"{f['weights']}, line 1: required column(s) 'weight' not found; the header has 'indicator', 'weigth': "
        "a weights table has the header 'indicator,weight'"
    )
    with pytest.raises(InputError) as e:
        load_weights(f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


def test_region_table_without_region_column(files, cli):
    f = files(regions=REGIONS.replace("region,", "area,"))
    msg = f"{f['regions']}, line 1: required column(s) 'region' not found; the header has 'area', 'r1', 'r2': name the column of region names 'region'"
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"], regions=f["regions"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f, regions=True), msg)


# --- 4. duplicate cluster identifiers --------------------------------------------------------------


def test_duplicate_identifiers(files, cli):
    f = files(clusters=CLUSTERS.replace("3,Gamma", "1,Gamma"))
    msg = f"{f['clusters']}, line 4, column 'no': duplicate identifier '1' (first on line 2); identifiers must be unique"
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


# --- 5. a cluster whose region is not in the region table ------------------------------------------


def test_unknown_region(files, cli):
    f = files(clusters=CLUSTERS.replace("G2,North", "G2,Nort"))
    msg = (
        f"{f['clusters']}, line 4, column 'region': region 'Nort' is not in the regions table {f['regions']}; "
        "use one of: North, South"
    )
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"], regions=f["regions"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f, regions=True), msg)


# --- 6. weights that do not sum to one -------------------------------------------------------------


def test_weights_off_by_rounding_are_renormalised_with_a_warning(files, cli):
    f = files(weights="indicator,weight\na,0.4\nb,0.59\n")
    msg = f"{f['weights']}: column 'weight': weights sum to 0.99; renormalised to sum to one"
    with pytest.warns(ClusterModelWarning) as rec:
        study = load_study(f["clusters"], f["weights"])
    assert [str(r.message) for r in rec] == [msg]
    np.testing.assert_allclose(study.weights.values, [0.4 / 0.99, 0.59 / 0.99], rtol=1e-15)
    code, err, before, after = cli(*data_args(f), "--placement", "quadratic")
    assert code == 0
    assert err == [f"clustermodel: warning: {msg}"]
    assert set(after) == {"index.md", "index.json"}
    written = json.loads(after["index.json"])
    # written at the stated precision of every output file (clustermodel._io.SIGNIFICANT_DIGITS)
    assert written["weights"] == pytest.approx({"a": 0.4 / 0.99, "b": 0.59 / 0.99}, rel=0.5 * 10 ** (1 - SIGNIFICANT_DIGITS))


def test_weights_far_from_one_are_rejected(files, cli):
    f = files(weights="indicator,weight\na,0.4\nb,0.8\n")
    msg = (
        f"{f['weights']}, column 'weight': the weights sum to 1.2, not 1; they are rejected (only a rounding "
        "difference of up to 0.01 is renormalised): fix the weights so that they sum to one"
    )
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


def test_api_weights_are_used_as_given(paper):
    """compute_index takes weights at face value: under 'quadratic' weights c*w give sqrt(c) times the
    index, no renormalisation and no warning (scenario thresholds scale with the weights too)."""
    spec = IndexSpec(weights="quadratic")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doubled = compute_index(paper.indicators, 2 * paper.weights, spec).values
    np.testing.assert_allclose(doubled, np.sqrt(2) * compute_index(paper.indicators, paper.weights, spec).values, rtol=1e-13)


# --- 7. a negative weight --------------------------------------------------------------------------


def test_negative_weight(files, cli, paper):
    f = files(weights="indicator,weight\na,1.2\nb,-0.2\n")
    msg = f"{f['weights']}, line 3, column 'weight': negative weight -0.2; weights must be >= 0"
    with pytest.raises(InputError) as e:
        load_weights(f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)
    with pytest.raises(ClusterModelError, match=r"^`weights` contains a negative weight \(-0.5\); weights must be >= 0$"):
        compute_index(paper.indicators, [0.5, 0.5, 0.5, -0.5])


# --- 8. a weight for an unknown indicator ----------------------------------------------------------


def test_weight_for_unknown_indicator(files, cli, paper):
    f = files(weights="indicator,weight\na,0.4\nb,0.3\nc,0.3\n")
    msg = (
        f"{f['weights']}, line 4, column 'indicator': weight for unknown indicator 'c': {f['clusters']} has no "
        "column 'c' (its columns are 'no', 'name', 'group', 'region', 'a', 'b'); remove the row from the weights "
        "file or add the column to the table"
    )
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)
    w = {**dict(zip(paper.weights["indicator"].values, paper.weights.values)), "patents": 0.1}
    with pytest.raises(ClusterModelError, match=r"^weights name indicator\(s\) the data lacks: patents; the data's indicators are "):
        compute_index(paper.indicators, w)


# --- 9. an indicator missing everywhere ------------------------------------------------------------


def test_indicator_missing_everywhere(files, cli):
    f = files(clusters=CLUSTERS.replace("1.5,20", ",20").replace("3,10", "n/a,10").replace("2,5", ",5"))
    msg = f"{f['clusters']}, column 'a': indicator is missing for every row; drop the column (and its weight) or supply values"
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


# --- 10. an indicator zero everywhere --------------------------------------------------------------


def test_indicator_zero_everywhere_is_accepted_with_a_warning(files, cli):
    f = files(clusters=CLUSTERS.replace("1.5,20", "0,20").replace("3,10", "0,10").replace("2,5", "0.0,5"))
    msg = (
        f"{f['clusters']}: column 'a': indicator is zero for every row and contributes nothing to any index; "
        "check the column, or drop it and its weight"
    )
    with pytest.warns(ClusterModelWarning) as rec:
        study = load_study(f["clusters"], f["weights"])
    assert [str(r.message) for r in rec] == [msg]
    idx = compute_index(study.indicators, study.weights, IndexSpec(reference="sample")).values
    np.testing.assert_allclose(idx, [1.0, 0.5, 0.25])  # finite: the zero column contributes 0, never NaN
    code, err, _, after = cli(*data_args(f))
    assert code == 0 and err == [f"clustermodel: warning: {msg}"]
    assert set(after) == {"index.md", "index.json"}


# --- 11. negative indicator values under a policy that cannot score them ---------------------------


def test_negative_value_under_negative_error(files, cli):
    f = files(clusters=CLUSTERS.replace("3,10", "3,-10"))
    study = load_study(f["clusters"], f["weights"])  # negative values are data, not a file error
    msg = (
        "`indicators` holds a negative value -10.0 (cluster 2, indicator 'b') that negative='error' cannot "
        "score; fix the value or choose negative='zero' (a deficit counts as zero) or negative='square' "
        "(the formula as printed)"
    )
    with pytest.raises(ClusterModelError) as e:
        compute_index(study.indicators, study.weights, IndexSpec(negative="error"))
    assert str(e.value) == msg
    assert_cli_error(cli, [*data_args(f), "--negative", "error"], msg)
    # the suggested policies score it
    assert main([*map(str, data_args(f)), "--negative", "zero", "--json"]) == 0


# --- 12./13. Sobol: N not a power of two, a constant output (clustermodel.sensitivity) ---------------

PROBLEM = {"num_vars": 2, "names": ["x1", "x2"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}


def _additive(X):
    return (X[:, 0] + 2 * X[:, 1])[:, None]


def test_sobol_n_not_a_power_of_two_api():
    with pytest.raises(ClusterModelError, match=r"`n`.*power of two"):
        sensitivity.sobol_indices(_additive, PROBLEM, n=1000, rng=1)


def test_sobol_n_not_a_power_of_two_cli(cli):
    code, err, before, after = cli("sobol", "--n", "1000")
    assert code == 2 and len(err) == 1 and err[0].startswith("clustermodel: error:") and "power of two" in err[0]
    assert after == before


def test_sobol_constant_output_api():
    """A constant output does not depend on any factor: S1 = ST = 0 exactly, with a note saying why (issue 3),
    never NaN, never a ZeroDivision warning from SALib's formulas."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sensitivity.sobol_indices(lambda X: np.ones((len(X), 1)), PROBLEM, n=64, rng=1)
    for key in ("S1", "ST", "S1_low", "S1_high", "ST_low", "ST_high"):
        assert np.all(np.asarray(getattr(res, key)) == 0), key
    assert any("same value in every model run" in n and "S1 = ST = 0 exactly" in n for n in res.notes)


def test_sobol_constant_output_cli(capsys):
    """Under Equation 1 as printed every output is constant in the weights: exit 0, all zeros, the note in JSON."""
    import json

    assert main(["sobol", "--placement", "equation1", "--n", "64", "--n-resamples", "10", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert all(r["S1"] == 0 and r["ST"] == 0 for r in d["records"])
    assert any("do not depend on" in n for n in d["notes"])


# --- 14. a seed of the wrong type ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", 1.5, True, [1, 2]])
def test_seed_of_the_wrong_type_api(bad):
    with pytest.raises(ClusterModelError) as e:
        as_rng(bad)
    assert str(e.value) == (
        f"`rng` must be a numpy Generator, a non-negative integer seed or None, not {type(bad).__name__} {bad!r}; "
        "pass e.g. rng=12345"
    )


def test_negative_seed_api():
    with pytest.raises(ClusterModelError, match=r"^`rng` seed must be non-negative, got -1$"):
        as_rng(-1)


@pytest.mark.parametrize("command", ["sobol", "bootstrap"])
def test_seed_of_the_wrong_type_cli(cli, command):
    code, err, before, after = cli(command, "--seed", "abc")
    assert code == 2 and len(err) == 1
    assert err[0].startswith("clustermodel: error: argument --seed") and "'abc'" in err[0]
    assert after == before


def test_cli_usage_errors_are_one_line(cli):
    assert_cli_error(
        cli,
        ["reproduce", "--cluster-threshold", "half"],
        "argument --cluster-threshold: invalid float value: 'half' (run 'clustermodel reproduce --help' for the options)",
    )


# --- 15. an output path that cannot be written -----------------------------------------------------


def test_output_below_a_file(tmp_path, cli):
    blocker = tmp_path / "reports.txt"
    blocker.write_text("not a folder")
    target = blocker / "sub"
    msg = f"cannot create output folder {target}: Not a directory; choose a writable --out"
    with pytest.raises(ClusterModelError) as e:
        write_text(target / "index.md", "x")
    assert str(e.value) == msg
    code, err, _, _ = cli("index", out=target)
    assert code == 2 and err == [f"clustermodel: error: {msg}"]
    assert blocker.read_text() == "not a folder"


def test_output_onto_an_existing_folder(tmp_path):
    (tmp_path / "index.md").mkdir()
    with pytest.raises(ClusterModelError) as e:
        write_text(tmp_path / "index.md", "x")
    assert str(e.value) == f"cannot write {tmp_path / 'index.md'}: Is a directory; choose another output path"
    assert [p.name for p in tmp_path.iterdir()] == ["index.md"]  # no temporary file left


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_output_folder(tmp_path, cli):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, err, _, _ = cli("index", out=ro)
        assert code == 2 and err == [f"clustermodel: error: output folder {ro} is not writable; choose a writable --out"]
    finally:
        ro.chmod(0o700)


def test_a_run_failing_while_writing_leaves_nothing(tmp_path):
    """All or nothing: outputs written before the failure are not published."""
    out = tmp_path / "reports"
    out.mkdir()
    (out / "old.md").write_text("old")
    with pytest.raises(ClusterModelError, match="figure failed"):
        with staged_outputs(out) as stage:
            write_text(stage / "table.md", "new")
            write_text(stage / "old.md", "new")
            raise ClusterModelError("figure failed")
    assert _snapshot(out) == {"old.md": b"old"}
    fresh = tmp_path / "fresh"
    with pytest.raises(ClusterModelError):
        with staged_outputs(fresh) as stage:
            write_text(stage / "table.md", "new")
            raise ClusterModelError("boom")
    assert not fresh.exists()  # a folder the failed run created is removed again


def test_no_output_folder_is_created_by_a_run_that_fails_on_its_input(files, tmp_path, capsys):
    f = files(clusters=CLUSTERS.replace("3,10", "3,x"))
    out = tmp_path / "not-yet"
    assert main([*map(str, data_args(f)), "--out", str(out)]) == 2
    assert not out.exists()


def test_catalogue_document_lists_every_test():
    """docs/bad_inputs.md names a test for every entry and every such test exists here."""
    import re

    from conftest import ROOT

    text = (ROOT / "docs" / "bad_inputs.md").read_text()

    rows = [line for line in text.splitlines() if re.match(r"\| \d+[a-z]? \|", line)]
    assert len(rows) >= 15
    named = set()
    for row in rows:
        tests = re.findall(r"`(test_[a-z0-9_]+)`", row.rstrip(" |").rsplit("|", 1)[-1])
        assert tests, row  # every entry names its test(s)
        named |= set(tests)
    assert named <= set(globals()), sorted(named - set(globals()))


def test_outputs_get_ordinary_permissions(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); the published file gets the umask's mode."""
    mask = os.umask(0o022)
    try:
        p = write_text(tmp_path / "table.md", "x")
        assert (p.stat().st_mode & 0o777) == 0o644
        p.chmod(0o640)
        write_text(p, "y")
        assert (p.stat().st_mode & 0o777) == 0o640  # a replaced file keeps its mode
    finally:
        os.umask(mask)
