"""Hostile unit names through every writer (issue 24 D and 1): no live spreadsheet formula in any CSV, no shifted
Markdown table column, no raw HTML or ``javascript:`` link in report.md or report.html."""

from __future__ import annotations

import json
import csv
import re
from pathlib import Path

import pytest
from conftest import DATA
from test_report import dump_toml, small_config

from clustermodel._errors import ClusterModelError
from clustermodel._io import FORMULA_START
from clustermodel.cli import main

EXAMPLE = DATA / "examples"

HOSTILE = {
    "Harbour logistics cluster": '=HYPERLINK("http://x.example","click")',
    "Rail systems cluster": "+1+1",
    "Port services cluster": "@SUM(A1)",
}
MARKUP = 'Evil | <img src=x onerror=alert(2)> [click](javascript:alert(1))'


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    text = (EXAMPLE / "clusters.csv").read_text()
    lines = text.splitlines()
    header = lines[0].split(",")
    name_at = header.index("name")
    rows = [next(csv.reader([ln])) for ln in lines[1:]]
    for i, row in enumerate(rows):
        if i < 3:
            row[name_at] = list(HOSTILE.values())[i]
        elif i == 3:
            row[name_at] = MARKUP
        elif i == 4:
            row[name_at] = "\tTabbed -cmd"
    units = tmp / "units.csv"
    with units.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    cfg = tmp / "small.toml"
    cfg.write_text(dump_toml(small_config()))
    out = tmp / "out"
    rc = main([
        "report", "--clusters", str(units), "--weights", str(EXAMPLE / "weights.csv"),
        "--regions", str(EXAMPLE / "regions.csv"), "--id-column", "id", "--group-column", "sector",
        "--region-column", "area", "--out", str(out), "--config", str(cfg),
    ])
    assert rc == 0
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_no_csv_cell_is_a_live_formula(hostile_run):
    csvs = sorted(hostile_run.glob("*.csv"))
    assert {"scores.csv", "bootstrap.csv"} <= {p.name for p in csvs}
    seen = set()
    for path in csvs:
        with path.open(newline="", encoding="utf-8") as fh:
            for r, row in enumerate(csv.reader(fh)):
                for c, cell in enumerate(row):
                    if cell.startswith(FORMULA_START):
                        assert _is_number(cell), f"{path.name} row {r} column {c}: live formula {cell!r}"
                    if cell.lstrip("'") in HOSTILE.values():
                        seen.add((path.name, cell))
    # the names arrive, neutralised: in scores.csv and bootstrap.csv at least
    assert ("scores.csv", "'" + HOSTILE["Harbour logistics cluster"]) in seen
    assert any(name == "bootstrap.csv" for name, _ in seen) or "name" not in (hostile_run / "bootstrap.csv").read_text()


def test_numbers_stay_numbers_in_the_csvs(hostile_run):
    import pandas as pd

    scores = pd.read_csv(hostile_run / "scores.csv")
    numeric = scores.select_dtypes("number")
    assert numeric.shape[1] >= 2  # index, rank, … still parse as numbers
    assert not any(str(v).startswith("'") for v in numeric.to_numpy().ravel())


def _tables(md: str):
    """Each Markdown table as its lines (header first)."""
    block = []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            block.append(line)
        elif block:
            yield block
            block = []


def _cells(line: str) -> int:
    return len(re.sub(r"\\\|", "", line).strip().strip("|").split("|"))


@pytest.mark.parametrize("name", ["report.md", "bootstrap.md", "sobol.md", "scores.md", "correlation.md"])
def test_no_markdown_table_row_has_shifted_columns(hostile_run, name):
    path = hostile_run / name
    if not path.exists():
        pytest.skip(f"{name} not written by this run")
    for table in _tables(path.read_text()):
        width = _cells(table[0])
        for line in table[1:]:
            assert _cells(line) == width, f"{name}: {line!r} has {_cells(line)} cells, the header {width}"


@pytest.mark.parametrize("name", ["report.md", "report.html", "scores.md", "bootstrap.md", "sobol.md"])
def test_no_raw_html_or_script_link_in_markdown_or_html(hostile_run, name):
    path = hostile_run / name
    if not path.exists():
        pytest.skip(f"{name} not written by this run")
    text = path.read_text()
    assert "<img src=x" not in text  # arrives as &lt;img … (text), never as a tag
    assert 'href="javascript:' not in text and "href='javascript:" not in text
    if name.endswith(".md"):  # the brackets are escaped, so Markdown never makes a link of it
        assert not re.search(r"(?<!\\)\]\(javascript:", text)


# --- the unit's key in written files -------------------------------------------------------------------------------


def test_unit_key_renames_the_unit_in_every_writer_and_nothing_else(tmp_path):
    import pandas as pd
    import xarray as xr

    from clustermodel._io import json_text, unit_key, write_csv, write_json, write_netcdf

    frame = pd.DataFrame({"cluster": ["a", "b"], "x": [1.0, 2.0]})
    indexed = frame.set_index("cluster")
    records = {"thresholds": {"cluster": 0.25, "region": 0.5}, "rows": [{"cluster": "a", "kind": "cluster_bootstrap"}]}
    ds = xr.Dataset({"v": ("cluster", [1.0, 2.0])}, coords={"cluster": ["a", "b"]}, attrs={"threshold_cluster": 0.25, "clustermodel_version": "x"})
    clash = pd.DataFrame({"cluster": ["a"], "unit": ["kg"]})  # a name already taken is left alone
    with unit_key("unit"):
        write_csv(tmp_path / "a.csv", frame)
        write_csv(tmp_path / "b.csv", indexed)
        write_csv(tmp_path / "c.csv", clash)
        write_json(tmp_path / "a.json", records)
        write_netcdf(tmp_path / "a.nc", ds)
        inside = json_text(records)
    assert (tmp_path / "a.csv").read_text().splitlines()[0] == "unit,x"
    assert (tmp_path / "b.csv").read_text().splitlines()[0] == "unit,x"
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == "cluster,unit"
    back = json.loads((tmp_path / "a.json").read_text())
    assert back == {"thresholds": {"unit": 0.25, "region": 0.5}, "rows": [{"unit": "a", "kind": "cluster_bootstrap"}]}
    assert json.loads(inside) == back
    with xr.open_dataset(tmp_path / "a.nc") as got:
        assert list(got.sizes) == ["unit"] and list(got["unit"].values) == ["a", "b"]
        assert got.attrs["threshold_unit"] == 0.25 and "threshold_cluster" not in got.attrs
    # outside the block (the API's own exporters, the paper's report) the estimators' key is kept
    assert list(frame.columns) == ["cluster", "x"] and "cluster" in json.loads(json_text(records))["thresholds"]
    write_csv(tmp_path / "d.csv", frame)
    assert (tmp_path / "d.csv").read_text().startswith("cluster,")
    with pytest.raises(ClusterModelError, match="`key` must be an identifier"):
        with unit_key("a unit"):
            pass
