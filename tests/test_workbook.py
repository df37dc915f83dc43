"""report.xlsx: every CSV table of a run as a sheet, cell for cell (COINr's export_to_excel)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clustermodel.cli import main
from clustermodel.workbook import sheet_names, write_workbook

pytest.importorskip("openpyxl")


def test_every_csv_is_a_sheet_with_the_same_cells(tmp_path):
    cfg = tmp_path / "small.toml"
    cfg.write_text('order = ["scores", "audit"]\n[scores]\nn_draws = 20\n[audit]\nn_resamples = 0\n')
    out = tmp_path / "out"
    assert main(["report", "-q", "--config", str(cfg), "--excel", "--out", str(out)]) == 0
    book = pd.read_excel(out / "report.xlsx", sheet_name=None, keep_default_na=False, na_values=[""])
    csvs = sorted(out.glob("*.csv"))
    assert len(csvs) > 5 and list(book) == ["contents", *[sheet_names([p.stem for p in csvs])[p.stem] for p in csvs]]
    names = sheet_names([p.stem for p in csvs])
    for p in csvs:
        want = pd.read_csv(p, keep_default_na=False, na_values=[""])
        got = book[names[p.stem]]
        assert list(got.columns) == list(want.columns), p.name
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=p.name)
    contents = book["contents"].set_index("file")
    assert contents.loc["scores.csv", "rows"] == len(pd.read_csv(out / "scores.csv"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert "report.xlsx" not in manifest["outputs"] and "report.xlsx" in manifest["unhashed_outputs"]  # listed, not hashed


def test_sheet_names_fit_excel_and_stay_unique():
    stems = ["a" * 40, "a" * 40 + "b", "Contents", "x"]
    names = sheet_names(stems)
    assert all(len(n) <= 31 for n in names.values())
    assert len({n.lower() for n in names.values()} | {"contents"}) == len(stems) + 1
    assert names["x"] == "x"


def test_a_folder_without_tables_is_one_clear_error(tmp_path):
    from clustermodel import ClusterModelError

    with pytest.raises(ClusterModelError, match="holds no CSV table"):
        write_workbook(tmp_path, tmp_path / "r.xlsx")
