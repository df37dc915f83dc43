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

from clustermodel import PAPER_SPEC, ClusterModelError, ClusterModelWarning, IndexSpec, InputError, sensitivity
from clustermodel._io import SIGNIFICANT_DIGITS, staged_outputs, write_text
from clustermodel._validation import as_rng
from clustermodel.cli import main
from clustermodel.data import load_study, load_weights, read_table
from clustermodel.index import compute_index

CLUSTERS = """
no,name,group,region,a,b
1,Alpha,G1,North,1.5,20
2,Beta,G1,South,3,10
3,Gamma,G1,North,2,5
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
        f"{f['clusters']}, line 1: required column(s) 'code' not found; the header has 'id', 'name', 'group', "
        "'region', 'a', 'b': add the identifier column or name it with `id_column` (--id-column)"
    )
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"], id_column="code")
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f) + ["--id-column", "code"], msg)
    # without a `no` column the first column identifies the units, and naming it is the same
    assert load_study(f["clusters"], f["weights"]).indicators.sizes["cluster"] == 3
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
    f = files(clusters=CLUSTERS.replace("Gamma,G1,North", "Gamma,G1,Nort"))
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
    msg = f"{f['weights']}: column 'weight': weights sum to 0.99, not exactly one; renormalised to sum to one"
    with pytest.warns(ClusterModelWarning) as rec:
        study = load_study(f["clusters"], f["weights"])
    assert [str(r.message) for r in rec] == [msg]
    np.testing.assert_allclose(study.weights.values, [0.4 / 0.99, 0.59 / 0.99], rtol=1e-15)
    code, err, before, after = cli(*data_args(f), "--aggregation", "quadratic")
    assert code == 0
    assert err == [f"clustermodel: warning: {msg}"]
    assert set(after) == {"index.md", "index.json", "index.csv"}
    written = json.loads(after["index.json"])
    # written at the stated precision of every output file (clustermodel._io.SIGNIFICANT_DIGITS)
    assert written["effective_weights"] == pytest.approx({"a": 0.4 / 0.99, "b": 0.59 / 0.99}, rel=0.5 * 10 ** (1 - SIGNIFICANT_DIGITS))


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


def test_api_weights_are_relative_within_their_parent(paper):
    """compute_index takes weights as relative: c*w gives the same index under every aggregation, with no
    warning (a structure's weights are any non-negative numbers, normalised within each parent)."""
    for agg in ("quadratic", "arithmetic", "geometric"):
        spec = PAPER_SPEC.replace(aggregation=agg)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            doubled = compute_index(paper.indicators, 2 * paper.weights, spec).values
        np.testing.assert_allclose(doubled, compute_index(paper.indicators, paper.weights, spec).values, rtol=1e-13)


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
    idx = compute_index(study.indicators, study.weights, PAPER_SPEC.replace(reference="sample")).values
    np.testing.assert_allclose(idx, [1.0, 0.5, 0.25])  # finite: the zero column contributes 0, never NaN
    code, err, _, after = cli(*data_args(f))
    assert code == 0 and err == [f"clustermodel: warning: {msg}"]
    assert set(after) == {"index.md", "index.json", "index.csv"}


# --- 11. negative indicator values under a policy that cannot score them ---------------------------


def test_negative_value_under_negative_error(files, cli):
    f = files(clusters=CLUSTERS.replace("3,10", "3,-10"))
    study = load_study(f["clusters"], f["weights"])  # negative values are data, not a file error
    msg = (
        "`indicators` holds a negative value -10.0 (cluster 2, indicator 'b') that negative='error' cannot "
        "score; fix the value or choose negative='zero' (a deficit counts as zero) or negative='keep' "
        "(the formula as printed)"
    )
    msg = f"{f['clusters']}, line 3, column 'b': {msg}"  # the cell: the table records each unit's line
    with pytest.raises(ClusterModelError) as e:
        compute_index(study.indicators, study.weights, PAPER_SPEC.replace(negative="error"))
    assert str(e.value) == msg
    assert_cli_error(cli, [*data_args(f), "--negative", "error"], msg)
    # the record is by label, so a selection of the units keeps the right line
    with pytest.raises(ClusterModelError) as e:
        compute_index(study.indicators.isel(cluster=[1, 0]), study.weights, PAPER_SPEC.replace(negative="error"))
    assert str(e.value) == msg
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


def test_sobol_constant_output_cli(tmp_path, capsys):
    """Under Equation 1 as printed every output is constant in the weights: exit 0, all zeros, the note in JSON."""
    import json

    assert main(["sobol", "--aggregation", "equation1", "--n", "64", "--n-equation1", "64", "--json", "--out", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["equation1_all_zero"] is True
    d = json.loads((tmp_path / "sobol_equation1.json").read_text())
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


# --- 17. duplicate column names --------------------------------------------------------------------


def test_duplicate_column_names(files, cli):
    f = files(clusters=CLUSTERS.replace("region,a,b", "region,a,b,a").replace(",20\n", ",20,7\n").replace(",10\n", ",10,8\n").replace(",5\n", ",5,9\n"))
    msg = f"{f['clusters']}, line 1: columns 5 and 7 of the header are both named 'a'; rename one of them (every column needs its own name)"
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg  # names both columns, never pandas' renamed 'a.1'
    assert_cli_error(cli, data_args(f), msg)


def test_duplicate_column_names_in_a_workbook(tmp_path, files, cli):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.append(["no", "a", "b", "a"])
    wb.active.append([1, 1, 2, 3])
    wb.save(tmp_path / "c.xlsx")
    msg = f"{tmp_path / 'c.xlsx'}, line 1: columns B and D of the header are both named 'a'; rename one of them (every column needs its own name)"
    with pytest.raises(InputError) as e:
        read_table(tmp_path / "c.xlsx")
    assert str(e.value) == msg
    assert_cli_error(cli, ["index", "--clusters", tmp_path / "c.xlsx", "--weights", files()["weights"]], msg)


# --- 18. an Excel formula without a saved result -----------------------------------------------------


def _workbook(path, rows):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


@pytest.mark.parametrize("whole_column", [False, True])
def test_excel_formula_without_a_saved_result(tmp_path, files, cli, whole_column):
    """openpyxl and pandas write formulas without their result: refused, naming the cells, never read as missing."""
    b = ["=20", "=D3*2", "=5"] if whole_column else [20, "=D3*2", 5]
    xlsx = _workbook(
        tmp_path / "c.xlsx",
        [["no", "name", "group", "a", "b"], [1, "Alpha", "G1", 1.5, b[0]], [2, "Beta", "G1", 3, b[1]], [3, "Gamma", "G1", 2, b[2]]],
    )
    first, others = ("E2", "; so do E3, E4") if whole_column else ("E3", "")
    formula = "=20" if whole_column else "=D3*2"
    msg = (
        f"{xlsx}, line {first[1:]}, column 'b': cell {first} holds a formula ({formula}) whose result was never saved"
        f"{others}: clustermodel reads the values a spreadsheet saved, not formulas; open the file in Excel or "
        "LibreOffice and save it (which stores the results), or replace the formulas by their values"
    )
    with pytest.raises(InputError) as e:
        load_study(xlsx, files()["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, ["index", "--clusters", xlsx, "--weights", files()["weights"]], msg)


def test_excel_rows_are_lines_and_blank_rows_are_skipped(tmp_path, files):
    xlsx = _workbook(tmp_path / "c.xlsx", [["no", "a", "b"], [1, 1.5, 20], [None, None, None], [2, "x", 3]])
    with pytest.raises(InputError) as e:
        load_study(xlsx, files()["weights"])
    assert (e.value.line, e.value.column) == (4, "a")  # the spreadsheet's row


# --- 19./20. group labels differing only in case or spacing; one-unit groups ---------------------------


def test_group_labels_differing_only_in_case_or_spacing_warn(files, cli):
    f = files(clusters=CLUSTERS.replace("Beta,G1", "Beta,g1 ").replace("Gamma,G1", "Gamma,G1"))
    variants = (
        f"{f['clusters']}: column 'group': labels 'G1' (line 2) and 'g1' (line 3) differ only in case or spacing and "
        "are read as 2 different groups; write them the same way if they are one group"
    )
    single = (
        f"{f['clusters']}: column 'group': group 'g1' (line 3) holds a single cluster: normalised within its group "
        "(reference='group', the paper's choice) such a unit is its own maximum on every indicator it reports; check the "
        "label, or normalise over the whole sample (reference='sample', --reference sample)"
    )
    with pytest.warns(ClusterModelWarning) as rec:
        load_study(f["clusters"], f["weights"])
    assert [str(r.message) for r in rec] == [variants, single]
    code, err, _, _ = cli(*data_args(f))
    assert code == 0 and err == [f"clustermodel: warning: {variants}", f"clustermodel: warning: {single}"]


def test_one_unit_groups_warn(files, cli):
    f = files(clusters=CLUSTERS.replace("Gamma,G1", "Gamma,G2"))
    msg = (
        f"{f['clusters']}: column 'group': group 'G2' (line 4) holds a single cluster: normalised within its group "
        "(reference='group', the paper's choice) such a unit is its own maximum on every indicator it reports; check the "
        "label, or normalise over the whole sample (reference='sample', --reference sample)"
    )
    with pytest.warns(ClusterModelWarning) as rec:
        study = load_study(f["clusters"], f["weights"])
    assert [str(r.message) for r in rec] == [msg]
    assert compute_index(study.indicators, study.weights, PAPER_SPEC).values[2] == pytest.approx(np.sqrt(2))  # its own maximum
    code, err, _, _ = cli(*data_args(f))
    assert code == 0 and err == [f"clustermodel: warning: {msg}"]


# --- 21. a column option naming no column --------------------------------------------------------------


@pytest.mark.parametrize("command", ["index", "report"])
@pytest.mark.parametrize("option", ["--group-column", "--region-column"])
def test_column_option_naming_no_column(files, cli, command, option):
    f = files()
    msg = (
        f"{f['clusters']}, line 1: {option} 'nosuch' names no column of the table; the header has 'no', 'name', "
        f"'group', 'region', 'a', 'b': name an existing column, or leave out {option} (`{option[2:].replace('-', '_')}`)"
    )
    args = [command, "--clusters", f["clusters"], "--weights", f["weights"], option, "nosuch"]
    assert_cli_error(cli, args, msg)  # report used to exit 0, normalising over the whole sample


def test_column_option_without_own_data(cli):
    msg = (
        "--group-column names a column of your own unit table; give --units and --weights or --structure as well "
        "(the paper's tables have fixed columns)"
    )
    assert_cli_error(cli, ["index", "--group-column", "sector"], msg)


# --- 22. numbers in the report config --------------------------------------------------------------------


@pytest.mark.parametrize(
    "section, line, problem",
    [
        ("scores", "n_draws = 0", "n_draws must be an integer >= 1, got 0"),
        ("scores", "n_draws = -1", "n_draws must be an integer >= 1, got -1"),
        ("scores", "seed = -1", f"seed must be an integer seed from 0 to {2**64 - 1}, got -1"),
        ("bootstrap", "seed = -1", f"seed must be an integer seed from 0 to {2**64 - 1}, got -1"),
        ("scores", "seed = 1.5", f"seed must be an integer seed from 0 to {2**64 - 1}, got 1.5"),
        ("bootstrap", "confidence_level = 1.0", "confidence_level must be a number in (0, 1), got 1.0"),
    ],
)
def test_config_numbers_are_checked_before_any_stage(tmp_path, cli, section, line, problem):
    import tomllib

    from clustermodel.config import validate_config

    config = tmp_path / "config.toml"
    config.write_text(f"[{section}]\n{line}\n")
    msg = f"{config}: [{section}] {problem}"
    with pytest.raises(ClusterModelError) as e:
        validate_config(tomllib.loads(config.read_text()), config)
    assert str(e.value) == msg
    assert_cli_error(cli, ["report", "--config", config], msg)


def test_config_number_helper():
    from clustermodel._validation import check_number, config_number

    assert config_number({}, "scores", "n_draws", kind="int", minimum=1) is None  # absent: the default applies
    assert config_number({"sobol": {"check_seed": 7}}, "sobol", "check_seed") == 7
    with pytest.raises(ClusterModelError, match=r"^c.toml: \[sobol\] check_seed must be an integer seed from 0 to"):
        config_number({"sobol": {"check_seed": True}}, "sobol", "check_seed", source="c.toml")
    with pytest.raises(ClusterModelError, match=r"^c.toml: \[scores\] must be a table of settings, got 3$"):
        config_number({"scores": 3}, "scores", "seed", source="c.toml")
    with pytest.raises(ClusterModelError, match=r"^`x` must be a number > 0, got nan$"):
        check_number(float("nan"), "`x`", minimum=0, exclusive_minimum=True)


# --- 23. a seed beyond 64 bits ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["sobol", "bootstrap", "correlate"])
def test_seed_beyond_64_bits(cli, command):
    from clustermodel._validation import check_seed

    assert check_seed(2**64 - 1) == 2**64 - 1
    with pytest.raises(ClusterModelError, match=rf"^`seed` must be an integer seed from 0 to {2**64 - 1}, got {2**64}$"):
        check_seed(2**64, "`seed`")
    assert_cli_error(
        cli,
        [command, "--seed", str(2**64)],
        f"argument --seed: the seed must be non-negative and at most {2**64 - 1} (2**64 - 1), got {2**64} "
        f"(run 'clustermodel {command} --help' for the options)",
    )


# --- 24. a Sobol' N too large for the machine ---------------------------------------------------------------


def test_sobol_n_too_large_for_memory(cli, monkeypatch):
    import clustermodel._validation as v

    monkeypatch.setattr(v, "physical_memory", lambda: 8 * 10**9)
    with pytest.raises(ClusterModelError) as e:
        v.check_fits_memory(1e13, "--n", 2**40, detail="why", largest=2**20)
    assert str(e.value) == "--n 1099511627776 would need about 9.09 TiB of memory (why), more than this machine's 7.45 GiB: choose a smaller --n (at most 1048576 here)"
    msg = (
        "`n` = 1099511627776 is beyond what a Sobol' analysis can run (1.1e+12 rows per design, each evaluated D + 2 "
        "times); choose a power of two up to 67108864 (2**26): N = 1024 to 16384 gives indices to about 0.01"
    )
    assert_cli_error(cli, ["sobol", "--n", str(2**40)], msg)


# --- 25. identifiers too long for int64 ---------------------------------------------------------------------


def test_long_numeric_identifiers_stay_strings(files, cli, capsys):
    f = files()
    assert load_study(f["clusters"], f["weights"]).indicators["cluster"].dtype == np.int64
    f = files(clusters=CLUSTERS.replace("1,Alpha", "12345678901234567890123,Alpha"))
    study = load_study(f["clusters"], f["weights"])
    assert study.indicators["cluster"].values.tolist() == ["12345678901234567890123", "2", "3"]
    assert main([*map(str, data_args(f)), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["units"][0]["unit"] == "12345678901234567890123"


# --- 26.-29. how a cell is read: thousands separators, missing tokens, underscores -------------------------


@pytest.mark.parametrize(
    "cell, hint",
    [
        ('"1,205"', "'1,205' is not a number; write 1205 if the comma separates thousands, or 1.205 if it is a decimal comma"),
        ('"1,205,000"', "'1,205,000' is not a number; remove the thousands separators: write 1205000"),
        ('"1,205.5"', "'1,205.5' is not a number; remove the thousands separators: write 1205.5"),
        ('"1.205,5"', "'1.205,5' is not a number; write 1205.5: a decimal point, and no thousands separator"),
        ("1 205", "'1 205' is not a number; remove the thousands separators: write 1205"),
    ],
)
def test_thousands_separator_cell(files, cli, cell, hint):
    f = files(clusters=CLUSTERS.replace("1.5,20", f"{cell},20"))
    msg = f"{f['clusters']}, line 2, column 'a': {hint}"
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


@pytest.mark.parametrize("token", ["nan", "NaN", "NAN", "Nan", "na", "NA", "Na", "n/a", "N/A", "N/a", ""])
def test_missing_tokens_in_any_case(files, cli, token):
    f = files(clusters=CLUSTERS.replace("3,10", f"{token},10"))
    study = load_study(f["clusters"], f["weights"])
    assert np.isnan(study.indicators.values[1, 0]) and np.isfinite(study.indicators.values[0, 0])
    code, err, _, after = cli(*data_args(f))
    assert code == 0 and err == []


@pytest.mark.parametrize(
    "cell, hint",
    [
        ("1_20.5", "remove the underscore: a number is written with the digits 0-9, a sign, a decimal point and an exponent only"),
        ("\u0661\u0662", "write a number, or leave the cell empty for a missing value"),  # Arabic-Indic digits: float() takes them
        ("0x1A", "write a number, or leave the cell empty for a missing value"),
    ],
)
def test_underscore_in_a_number(files, cli, cell, hint):
    f = files(clusters=CLUSTERS.replace("1.5,20", f"{cell},20"))
    msg = f"{f['clusters']}, line 2, column 'a': {cell!r} is not a number; {hint}"
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg  # Python's float('1_20.5') is 120.5
    assert_cli_error(cli, data_args(f), msg)


@pytest.mark.parametrize("cell", ["inf", "-Infinity", "1e999"])
def test_infinite_cells_stay_rejected(files, cli, cell):
    f = files(clusters=CLUSTERS.replace("1.5,20", f"{cell},20"))
    msg = f"{f['clusters']}, line 2, column 'a': {cell!r} is not a finite number"
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


# --- 30. the delimiter ------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_semicolon_and_tab_delimited_files_are_read(files, cli, delimiter):
    comma = load_study(files()["clusters"], files()["weights"])
    f = files(clusters=CLUSTERS.replace(",", delimiter), weights=WEIGHTS.replace(",", delimiter))
    study = load_study(f["clusters"], f["weights"])
    np.testing.assert_array_equal(study.indicators.values, comma.indicators.values)
    assert study.indicators["group"].values.tolist() == ["G1", "G1", "G1"]
    code, err, _, after = cli(*data_args(f))
    assert code == 0 and err == [] and set(after) == {"index.md", "index.json", "index.csv"}


def test_semicolon_file_with_decimal_commas(files, cli):
    """The delimiter comes from the header; a decimal comma in the data still gets its hint."""
    f = files(clusters=CLUSTERS.replace(",", ";").replace("1.5", "1,5"))
    msg = f"{f['clusters']}, line 2, column 'a': '1,5' is not a number; use a decimal point, not a comma"
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


def test_space_separated_header_gets_a_hint(files, cli):
    f = files(clusters=CLUSTERS.replace(",", " "))
    msg = (
        f"{f['clusters']}, line 1: required column(s) 'no' not found; the header has 'no name group region a b' "
        "(one column only: are the columns separated by spaces? save the file as CSV with commas): add the "
        "identifier column or name it with `id_column` (--id-column)"
    )
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


def test_line_with_more_cells_than_the_header(files, cli):
    f = files(clusters=CLUSTERS.replace("3,10", "3,10,4"))
    msg = (
        f"{f['clusters']}, line 3: the line has 7 cells but the header has 6; quote a cell that contains the "
        'delimiter (comma), e.g. "1,205", or remove the extra cells'
    )
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)
    # empty trailing cells (a spreadsheet's export) are not extra cells
    assert load_study(files(clusters=CLUSTERS.replace("3,10", "3,10,,"))["clusters"], f["weights"]).indicators.shape == (3, 2)


def test_unclosed_quote(files, cli):
    f = files(clusters=CLUSTERS.replace("2,Beta", '2,"Beta'))
    msg = (
        f"{f['clusters']}, line 3: cannot be parsed as CSV (unexpected end of data); a quote that opens a cell must "
        'close it, and a quote inside a quoted cell is written twice ("")'
    )
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


# --- 31. line numbers after a blank line or a multi-line cell -------------------------------------------------


@pytest.mark.parametrize(
    "text, line",
    [
        (CLUSTERS.lstrip().replace("2,Beta", "\n2,Beta"), 4),  # a blank line before the record
        (CLUSTERS.lstrip().replace("1,Alpha", '1,"Alpha\nthe first"'), 4),  # a quoted cell spanning two lines
        ("\n\n" + CLUSTERS.lstrip().replace("\n", "\r\n"), 5),  # blank lines before the header, CRLF
        (CLUSTERS.lstrip().replace("2,Beta", ",,,,,\n2,Beta"), 4),  # a line of delimiters only
    ],
)
def test_line_numbers_after_blank_lines_and_multiline_cells(files, cli, text, line):
    f = files()
    f["clusters"].write_text(text.replace("3,10", "3,x"), newline="")  # as is: leading blank lines kept
    msg = f"{f['clusters']}, line {line}, column 'b': 'x' is not a number; write a number, or leave the cell empty for a missing value"
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)


def test_duplicate_identifier_lines_after_a_blank_line(files):
    f = files(clusters=CLUSTERS.replace("2,Beta", "\n1,Beta"))
    with pytest.raises(InputError, match=r", line 4, column 'no': duplicate identifier '1' \(first on line 2\)"):
        load_study(f["clusters"], f["weights"])


# --- 32. a value whose square overflows ---------------------------------------------------------------------


def test_value_whose_square_overflows(files, cli):
    f = files(clusters=CLUSTERS.replace("3,10", "3,-1e200"))
    msg = (
        f"{f['clusters']}, line 3, column 'b': -1e+200 is 2e+199 times the column's smallest positive value (5); "
        "divided by a reference maximum and squared (negative='keep', the formula as printed) it overflows to an "
        "infinite index: check the value (a missing-value code? write it as an empty cell)"
    )
    with pytest.raises(InputError) as e:
        load_study(f["clusters"], f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, data_args(f), msg)
    # built in memory, compute_index names the unit and the indicator instead of returning inf
    study = load_study(files()["clusters"], f["weights"])
    x = study.indicators.copy()
    x[1, 1] = -1e200
    with pytest.raises(ClusterModelError, match=r"^`indicators` holds -1e\+200 \(cluster 2, indicator 'b'\), 5e\+198 times its reference maximum: squared, it overflows"):
        compute_index(x, study.weights, PAPER_SPEC)
    assert np.isfinite(compute_index(x, study.weights, PAPER_SPEC.replace(negative="zero")).values).all()


# --- 33. JSON output is always JSON ----------------------------------------------------------------------------


def test_json_output_is_always_valid_json(capsys, monkeypatch):
    from clustermodel.commands import _common
    from clustermodel.commands import index as index_command

    text = _common.json_text({"a": float("inf"), "b": [float("nan"), np.float64(-np.inf), np.int64(3)], "c": 1.5})
    assert json.loads(text) == {"a": None, "b": [None, None, 3], "c": 1.5}
    assert "Infinity" not in text and "NaN" not in text
    real = index_command._table

    def with_infinity(study, spec):
        table = real(study, spec)
        table["units"][0]["index"] = float("inf")
        return table

    monkeypatch.setattr(index_command, "_table", with_infinity)
    assert main(["index", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))["units"][0]["index"] is None


# --- 34. the manifest hashes the bytes read --------------------------------------------------------------------


def test_manifest_hashes_the_bytes_read(tmp_path, files):
    """A pipe (`<(cat file)`) is hashed by what was read from it, and two inputs named alike keep both hashes."""
    import hashlib

    from clustermodel.report import write_manifest

    f = files()
    (tmp_path / "w").mkdir()
    (tmp_path / "r").mkdir()
    weights = tmp_path / "w" / "table.csv"
    regions = tmp_path / "r" / "table.csv"
    weights.write_text(WEIGHTS)
    regions.write_text(REGIONS)
    read, write = os.pipe()
    os.write(write, f["clusters"].read_bytes())
    os.close(write)
    try:
        study = load_study(f"/dev/fd/{read}", weights, regions=regions)
    finally:
        os.close(read)
    sha = {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in (("c", f["clusters"]), ("w", weights), ("r", regions))}
    assert study.sources == {f"/dev/fd/{read}": sha["c"], str(weights): sha["w"], str(regions): sha["r"]}
    out = tmp_path / "out"
    out.mkdir()
    manifest = json.loads(write_manifest(out, study=study, config={}, stages=[], root=tmp_path / "elsewhere").read_text())
    assert manifest["inputs"] == study.sources  # paths as given: no hash dropped, none of an empty read


def test_manifest_from_the_report_command(tmp_path, files, capsys):
    import hashlib

    f = files()
    config = tmp_path / "config.toml"
    config.write_text("[scores]\nn_draws = 10\n")
    read, write = os.pipe()
    os.write(write, f["weights"].read_bytes())
    os.close(write)
    try:
        code = main(["report", "--config", str(config), "--only", "scores", "--clusters", str(f["clusters"]),
                     "--weights", f"/dev/fd/{read}", "--out", str(tmp_path / "out")])
    finally:
        os.close(read)
    assert code == 0
    inputs = json.loads((tmp_path / "out" / "manifest.json").read_text())["inputs"]
    assert inputs[f"/dev/fd/{read}"] == hashlib.sha256(WEIGHTS.encode()).hexdigest()


# --- 35. an empty output path -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["index", "report"])
def test_empty_output_path(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    assert main([command, "--out", ""]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"clustermodel: error: argument --out: an empty path; name an output folder, e.g. --out reports "
        f"(run 'clustermodel {command} --help' for the options)"
    ]
    assert list(tmp_path.iterdir()) == []  # nothing written into the current folder


# --- 36. a full disk ------------------------------------------------------------------------------------------


def test_full_disk_names_the_file(tmp_path, cli, monkeypatch):
    import errno
    import pathlib

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    api = tmp_path / "api"
    with pytest.raises(ClusterModelError) as e:
        write_text(api / "index.md", "x")
    assert str(e.value) == f"cannot write {api / 'index.md'}: No space left on device; free some space or choose another --out"
    assert list(api.iterdir()) == []  # no temporary file left
    reports = tmp_path / "reports"  # the cli fixture's folder, holding a previous index.md
    code, err, before, after = cli("index", out=reports)
    assert code == 2 and after == before
    # the file is named where it would have been published, not inside the private staging folder
    assert err == [
        f"clustermodel: error: cannot write {reports / 'index.md'}: No space left on device; free some space or choose "
        f"another --out; {reports} is as it was"
    ]


# --- 37. degenerate studies ------------------------------------------------------------------------------------


def test_degenerate_studies(files, write_csv, cli):
    one = {"clusters": write_csv("one.csv", "no,group,a,b\n1,G1,1.5,20\n"), "weights": files()["weights"]}
    msg_one = (
        f"{one['clusters']}: a single cluster (line 2): normalised by its own values it scores the attainable maximum "
        "whatever the data, and no rank, scenario or sensitivity can be compared; add the other clusters"
    )
    with pytest.warns(ClusterModelWarning) as rec:
        load_study(one["clusters"], one["weights"])
    assert [str(r.message) for r in rec] == [msg_one]
    equal = {"clusters": write_csv("equal.csv", "no,group,a,b\n1,G1,1,1\n2,G1,1,1\n3,G1,1,1\n"), "weights": one["weights"]}
    msg_equal = (
        f"{equal['clusters']}: every indicator takes the same value in every row: every cluster gets the same index and rank 1, "
        "and no analysis can tell the units apart; check the table"
    )
    with pytest.warns(ClusterModelWarning) as rec:
        load_study(equal["clusters"], equal["weights"])
    assert [str(r.message) for r in rec] == [msg_equal]
    for f, warning, error in [
        (one, msg_one, f"{one['clusters']} holds a single cluster: with nothing to compare it with, Sobol' indices of "
         "ranks, scenarios and the unit-region correlation cannot be computed; add the other clusters"),
        (equal, msg_equal, f"every indicator of {equal['clusters']} takes the same value for every cluster: every "
         "cluster gets the same index under any weights, so Sobol' indices of ranks, scenarios and the "
         "unit-region correlation cannot be computed; check the table"),
    ]:
        code, err, before, after = cli("sobol", "--clusters", f["clusters"], "--weights", f["weights"])
        assert code == 2 and after == before
        assert err == [f"clustermodel: warning: {warning}", f"clustermodel: error: {error}"]  # not "`Y` holds NaN"
        code, err, before, after = cli("report", "--clusters", f["clusters"], "--weights", f["weights"])
        assert code == 2 and after == before and err[-1].startswith("clustermodel: error: ") and "a report" in err[-1]


# --- 36. an input that is not a UTF-8 table ------------------------------------------------------------


def test_input_that_is_not_a_utf8_table(tmp_path, files, cli):
    f = files()
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("no,name,a,b\n1,Alpha,1,2\n2,Bet\xe4,3,4\n".encode("latin-1"))
    msg = f"{latin1}, line 3: is not UTF-8 text (byte 0xe4); save it as UTF-8 CSV"
    with pytest.raises(InputError) as e:
        read_table(latin1)
    assert str(e.value) == msg
    assert_cli_error(cli, ["index", "--clusters", latin1, "--weights", f["weights"]], msg)
    msg = f"{tmp_path}: is a folder, not a file; give the path of the table"
    with pytest.raises(InputError) as e:
        load_study(tmp_path, f["weights"])
    assert str(e.value) == msg
    assert_cli_error(cli, ["index", "--clusters", tmp_path, "--weights", f["weights"]], msg)


def test_read_table_records_lines_hash_and_delimiter(write_csv):
    import hashlib

    p = write_csv("t.csv", "a;b\n\n1;2\n3;\"x\ny\"\n5;6\n")
    df = read_table(p)
    assert df.index.name == "line" and df.index.tolist() == [3, 4, 6]
    assert df.attrs == {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "header_line": 1, "delimiter": ";"}
    assert df["b"].tolist() == ["2", "x\ny", "6"]
    w = write_csv("w.csv", "indicator,weight\n\na,0.5\nb,0.5\nc,0\n")
    with pytest.raises(InputError, match=r"w.csv, line 5, column 'indicator': weight for unknown indicator 'c'"):
        load_study(write_csv("c.csv", "no,a,b\n1,1,2\n2,2,1\n"), w)


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
    defined = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        defined |= set(re.findall(r"^def (test_[a-z0-9_]+)", path.read_text(), flags=re.M))
    assert named <= defined, sorted(named - defined)


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
