"""`clustermodel report` on studies shaped unlike the paper's: every stage that can run does, the others are named
with their reason, every stage records the same spec, and no paper-only word reaches the report."""

from __future__ import annotations

import json
import re

import pytest
from conftest import DATA

from clustermodel.cli import main

EXAMPLE = DATA / "examples"
HIER = EXAMPLE / "hierarchy"

SMALL = """
order = ["scores", "reproduction", "sobol", "bootstrap", "correlation"]
[scores]
n_draws = 50
[sobol]
n = 64
replicates = 3
n_equation1 = 64
convergence_levels = 1
[bootstrap]
n_resamples = 99
concentration_sensitivity = [10.0]
[correlation]
n_resamples = 99
"""

#: Words that belong to the paper's study only (the example's own names say "… cluster": table rows are data).
PAPER_WORDS = [r"Table [456]\b", "3/14/8/0", "Moscow", "Kaluga", "19 regions", "25 clusters", r"industr(y|ies)\b", "Figure 13", r"clusters?\b"]

FLAT = ["--clusters", str(EXAMPLE / "clusters.csv"), "--weights", str(EXAMPLE / "weights.csv"), "--id-column", "id"]
SHAPES = {
    "user example (regions, groups)": FLAT + ["--regions", str(EXAMPLE / "regions.csv"), "--group-column", "sector", "--region-column", "area"],
    "no regions": FLAT + ["--group-column", "sector"],
    "hierarchy, no groups": ["--clusters", str(HIER / "cities.csv"), "--structure", str(HIER / "structure.csv"), "--spec", str(HIER / "spec.toml"), "--id-column", "city"],
}
EXPECT = {
    "user example (regions, groups)": ({"scores", "sobol", "bootstrap", "correlation"}, {"reproduction"}),
    "no regions": ({"scores", "sobol", "bootstrap"}, {"reproduction", "correlation"}),
    "hierarchy, no groups": ({"scores", "sobol", "bootstrap"}, {"reproduction", "correlation"}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    cfg = root / "small.toml"
    cfg.write_text(SMALL)
    out = {}
    for name, args in SHAPES.items():
        folder = root / re.sub(r"\W+", "_", name)
        rc = main(["report", *args, "--config", str(cfg), "--out", str(folder)])
        assert rc == 0, name
        out[name] = folder
    return out


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_stages_that_can_run_did_and_the_others_are_named(runs, shape):
    manifest = json.loads((runs[shape] / "manifest.json").read_text())
    ran, skipped = EXPECT[shape]
    assert set(manifest["stages"]) == ran
    assert set(manifest["skipped"]) == skipped and all(manifest["skipped"].values())
    report = (runs[shape] / "report.md").read_text()
    assert "## Analyses not run" in report
    for stage in skipped:
        assert manifest["skipped"][stage] in report


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_stage_records_the_same_spec(runs, shape):
    specs = json.loads((runs[shape] / "manifest.json").read_text())["specs"]
    assert len({json.dumps(s, sort_keys=True) for s in specs.values()}) == 1, specs


@pytest.mark.parametrize("shape", list(SHAPES))
def test_no_paper_only_word_in_a_users_report(runs, shape):
    text = "\n".join(ln for ln in (runs[shape] / "report.md").read_text().splitlines() if not ln.startswith("|"))
    text = re.sub(r"`[^`]*`", "", text)  # record keys (`pearson:cluster`) are stable identifiers, not words
    text = re.sub(r"wild cluster bootstrap", "", text, flags=re.IGNORECASE)  # the statistical method's name
    found = [m.group(0) for w in PAPER_WORDS for m in re.finditer(rf"\b{w}", text, flags=re.IGNORECASE)]
    assert not found, found


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_users_files_call_a_unit_a_unit(runs, shape):
    # the estimators' `cluster` key is the paper's word: any other study's CSV columns, JSON keys and NetCDF
    # dimensions say `unit` (issue 22.3); values such as the data bootstrap's kind `cluster_bootstrap` are codes
    import pandas as pd
    import xarray as xr

    folder = runs[shape]

    def keys(obj):
        if isinstance(obj, dict):
            return set(obj) | set().union(*(keys(v) for v in obj.values()))
        if isinstance(obj, list):
            return set().union(*(keys(v) for v in obj)) if obj else set()
        return set()

    for path in folder.glob("*.csv"):
        assert "cluster" not in pd.read_csv(path, nrows=0).columns, path.name
    for path in folder.glob("*.json"):
        assert "cluster" not in keys(json.loads(path.read_text(encoding="utf-8"))), path.name
    for path in folder.glob("*.nc"):
        if path.name == "correlation.nc":  # its `unit` variable already names each test's unit of inference
            continue
        with xr.open_dataset(path) as ds:
            assert "cluster" not in ds.variables and "cluster" not in ds.sizes, path.name
            assert not [a for a in ds.attrs if "cluster" in a.replace("clustermodel", "")], path.name
    assert "unit" in pd.read_csv(folder / "sobol.csv", nrows=0).columns
    with xr.open_dataset(folder / "scores.nc") as ds:
        assert "unit" in ds.sizes


def test_nouns_from_the_config_name_the_units(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL.replace('order = ["scores", "reproduction", "sobol", "bootstrap", "correlation"]', 'order = ["scores"]') + '\n[study]\nunit_noun = "city"\n')
    assert main(["report", *SHAPES["hierarchy, no groups"], "--config", str(cfg), "--out", str(tmp_path / "o")]) == 0
    text = (tmp_path / "o" / "report.md").read_text()
    assert "48 cities" in text and " units" not in text


def test_a_hierarchy_report_shows_every_level(runs):
    data = json.loads((runs["hierarchy, no groups"] / "scores.json").read_text())
    assert set(data["nodes"]) == {"economy", "society", "trade", "investment", "talent", "connectivity", "environment"}
    assert data["construction"]["treated_indicators"] and data["construction"]["imputed"]
    sobol = json.loads((runs["hierarchy, no groups"] / "sobol.json").read_text())
    assert len(sobol["factors"]) == 21  # every weighted node: 2 sub-indices, 5 pillars, 14 indicators


def test_an_invented_study_shows_its_names_labels_and_units_and_no_scenario_machinery(tmp_path):
    """Issue 22's new user: a country table with a `country` name column (--name-column), `--units` (the option's
    name for any study), a structure file with labels and units, no regions and no groups."""
    rows = ["code,country,gdp,trade,co2"] + [f"K{i},Land {i},{10 + 3 * i},{(7 * i) % 11 + 1},{(5 * i) % 13 + 2}" for i in range(12)]
    (tmp_path / "units.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "structure.csv").write_text(
        "node,parent,weight,direction,label,unit\n"
        "index,,,,Prosperity index,\n"
        "economy,index,2,,Economy,\n"
        "gdp,economy,1,,Output per head,USD per head\n"
        "trade,economy,1,,Openness to trade,% of GDP\n"
        "co2,index,1,-1,Emissions,t per head\n"
    )
    cfg = tmp_path / "small.toml"
    cfg.write_text("[sobol]\nn = 64\nreplicates = 3\n[scores]\nn_draws = 50\n")
    out = tmp_path / "out"
    rc = main(["report", "--units", str(tmp_path / "units.csv"), "--structure", str(tmp_path / "structure.csv"), "--id-column", "code",
               "--name-column", "country", "--config", str(cfg), "--only", "scores", "sobol", "--out", str(out)])
    assert rc == 0
    scores_md = (out / "scores.md").read_text(encoding="utf-8")
    assert "| Node | Label | Unit |" in scores_md and "| gdp | Output per head | USD per head |" in scores_md
    header = (out / "scores.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:2] == ["id", "name"] and "group" not in header and "region" not in header
    assert "Land 3" in (out / "scores.csv").read_text(encoding="utf-8")
    sobol_md = (out / "sobol.md").read_text(encoding="utf-8")
    assert "nominal scenario" not in sobol_md and "P(scenario kept)" not in sobol_md and "| K3 | Land 3 |" in sobol_md
    assert "scenario kept" not in " ".join(json.loads((out / "sobol.json").read_text())["notes"])
    assert "scenario" not in (out / "sobol.csv").read_text(encoding="utf-8").splitlines()[0].split(",")


# --- the identifier column of a table of one's own ------------------------------------------------------------------


def _flat(tmp_path, header, rows):
    units = tmp_path / "u.csv"
    units.write_text(header + "\n" + "\n".join(rows) + "\n")
    weights = tmp_path / "w.csv"
    weights.write_text("indicator,weight\na,0.5\nb,0.5\n")
    return units, weights


def test_the_first_column_identifies_the_units_when_the_table_has_no_no_column(tmp_path):
    from clustermodel.data import load_study

    units, weights = _flat(tmp_path, "code,a,b", ["FR,1,2", "DE,2,1", "IT,3,3"])
    assert [str(u) for u in load_study(units, weights).clusters["cluster"].values] == ["FR", "DE", "IT"]
    units, weights = _flat(tmp_path, "name,no,a,b", ["x,7,1,2", "y,8,2,1", "z,9,3,3"])  # the paper's `no` wins
    assert [int(u) for u in load_study(units, weights).clusters["cluster"].values] == [7, 8, 9]


def test_a_first_column_that_is_an_indicator_is_refused_with_the_fix(tmp_path, capsys):
    units, weights = _flat(tmp_path, "a,b", ["1,2", "2,1"])
    assert main(["index", "--units", str(units), "--weights", str(weights)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "column 'a'" in err[0] and "is an indicator of the index" in err[0] and "--id-column" in err[0]
