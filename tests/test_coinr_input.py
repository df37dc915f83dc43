"""COINr's own input format (issue 20): an iData / iMeta pair, as COINr's new_coin() takes it, loads as a study
with the same numbers as the same study written in clustermodel's formats, and runs from the command line."""

from __future__ import annotations

import numpy as np
import pytest

from clustermodel import InputError, compute_index, load_study
from clustermodel.cli import main
from clustermodel.structure import load_structure

IMETA = """Level,iCode,iName,Direction,Weight,Parent,Type,Unit,Target
1,gdp,GDP per head,1,1,Econ,Indicator,USD,NA
1,trade,Trade openness,1,2,Econ,Indicator,% GDP,NA
1,co2,CO2 emissions,-1,1,Env,Indicator,t per head,NA
1,green,Green space,1,1,Env,Indicator,%,NA
2,Econ,Economy,1,2,Index,Aggregate,NA,NA
2,Env,Environment,1,1,Index,Aggregate,NA,NA
3,Index,Sustainable prosperity,1,1,NA,Aggregate,NA,NA
NA,GDPgroup,Income group,NA,NA,NA,Group,NA,NA
NA,Population,Population,NA,NA,NA,Denominator,people,NA
NA,Note,Note,NA,NA,NA,Other,NA,NA
"""
IDATA = """uCode,uName,GDPgroup,Population,Note,gdp,trade,co2,green
AUT,Austria,HI,9000000,x,52,105,7.1,40
BEL,Belgium,HI,11500000,y,50,160,8.0,NA
CZE,Czechia,UMI,10700000,z,27,145,9.3,35
DNK,Denmark,HI,5800000,NA,61,110,5.6,42
EST,Estonia,UMI,1300000,w,28,150,10.5,51
"""
# the same study in clustermodel's own formats
STRUCTURE = """node,parent,weight,direction,unit,label
Index,,,,,Sustainable prosperity
Econ,Index,2,,,Economy
Env,Index,1,,,Environment
gdp,Econ,1,1,USD,GDP per head
trade,Econ,2,1,% GDP,Trade openness
co2,Env,1,-1,t per head,CO2 emissions
green,Env,1,1,%,Green space
"""
UNITS = """no,name,GDPgroup,gdp,trade,co2,green
AUT,Austria,HI,52,105,7.1,40
BEL,Belgium,HI,50,160,8.0,
CZE,Czechia,UMI,27,145,9.3,35
DNK,Denmark,HI,61,110,5.6,42
EST,Estonia,UMI,28,150,10.5,51
"""


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, text in {"iMeta.csv": IMETA, "iData.csv": IDATA, "structure.csv": STRUCTURE, "units.csv": UNITS}.items():
        (tmp_path / name).write_text(text)
        out[name] = tmp_path / name
    return out


def test_an_imeta_table_is_a_structure(files):
    tree = load_structure(files["iMeta.csv"])
    ours = load_structure(files["structure.csv"])
    assert set(tree.nodes) == set(ours.nodes)
    mine, theirs = tree.to_frame(), ours.to_frame()
    for v in ours.nodes:
        assert mine.loc[v, "parent"] == theirs.loc[v, "parent"] or (v == "Index" and mine.loc[v, "parent"] != mine.loc[v, "parent"])
    assert tree.root == "Index" and list(tree.leaves) == ["gdp", "trade", "co2", "green"]
    np.testing.assert_allclose(tree.effective_weights(), ours.effective_weights(), rtol=1e-15)
    frame = tree.to_frame()
    assert frame.loc["co2", "direction"] == -1 and frame.loc["trade", "unit"] == "% GDP"
    assert dict(zip(tree.nodes, tree.labels))["Env"] == "Environment"


def test_a_coinr_pair_scores_as_the_same_study_in_our_formats(files):
    coinr = load_study(files["iData.csv"], structure=files["iMeta.csv"], group_column="GDPgroup")
    ours = load_study(files["units.csv"], structure=files["structure.csv"], group_column="GDPgroup")
    assert list(coinr.clusters["name"].values) == ["Austria", "Belgium", "Czechia", "Denmark", "Estonia"]
    a, b = compute_index(coinr), compute_index(ours)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-15)
    # and by hand for Austria: min-max over the sample (co2 reversed), arithmetic means, Econ 2/3 and Env 1/3;
    # Belgium's missing green space leaves Env as co2 alone under the default available-case rule
    gdp, trade = (52 - 27) / (61 - 27), (105 - 105) / (160 - 105)
    co2, green = (10.5 - 7.1) / (10.5 - 5.6), (40 - 35) / (51 - 35)
    econ, env = (gdp + 2 * trade) / 3, (co2 + green) / 2
    assert float(a.sel(cluster="AUT")) == pytest.approx(2 / 3 * econ + 1 / 3 * env, rel=1e-12)


def test_the_command_line_runs_a_coinr_pair(files, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["report", "--units", str(files["iData.csv"]), "--structure", str(files["iMeta.csv"]), "--group-column", "GDPgroup",
               "--only", "scores", "--out", str(out)])
    assert rc == 0
    md = (out / "scores.md").read_text(encoding="utf-8")
    assert "| Econ | Economy |" in md and "Austria" in md


def test_panel_data_and_unknown_types_are_refused_with_the_fix(files, tmp_path, capsys):
    panel = tmp_path / "panel.csv"
    panel.write_text("uCode,Time,gdp,trade,co2,green\nAUT,2019,1,2,3,4\nAUT,2020,1,2,3,4\nBEL,2019,2,3,4,5\n")
    with pytest.raises(InputError, match="panel data .* 2 periods: 2019, 2020.*keep the rows of one Time") as exc:
        load_study(panel, structure=files["iMeta.csv"])
    assert exc.value.column == "Time"
    bad = tmp_path / "badmeta.csv"
    bad.write_text(IMETA.replace("Denominator", "Denom"))
    with pytest.raises(InputError, match="Type 'Denom' must be one of") as exc:
        load_structure(bad)
    assert exc.value.line == 10
    assert main(["index", "--units", str(panel), "--structure", str(files["iMeta.csv"])]) == 2
    err = capsys.readouterr().err
    assert "panel.csv" in err and "Traceback" not in err
