"""The structure file: a tree of any depth read from CSV, every error located by file, line and column."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA

from clustermodel import IndexSpec, InputError
from clustermodel.cli import main
from clustermodel.data import load_study
from clustermodel.index import compute_index, compute_scores
from clustermodel.structure import Structure, load_structure

UNITS = "id,a,b,c,pop\nu1,1,10,3,100\nu2,2,5,1,200\nu3,4,0,2,50\n"
GOOD = "node,parent,weight,direction,denominator,unit,target\nindex,,,,,,\np1,index,1,,,,\np2,index,3,,,,\na,p1,1,1,pop,,\nb,p1,1,-1,,,\nc,p2,1,,,,\n"


@pytest.fixture
def write(tmp_path):
    def _write(name, text):
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write


def test_a_good_structure_loads_with_levels_and_effective_weights(write):
    s = load_structure(write("s.csv", GOOD))
    assert s.root == "index" and s.leaves == ("a", "b", "c") and s.n_levels == 3
    assert s.attribute("directions") == (1, -1, 1)
    assert s.attribute("denominators") == ("pop", None, None)
    np.testing.assert_allclose(s.effective_weights(), [0.125, 0.125, 0.75])
    frame = s.to_frame()
    assert frame.loc["p2", "weight_in_parent"] == pytest.approx(0.75)


def test_a_one_level_structure_file_equals_the_flat_weights_file(write):
    flat = write("w.csv", "indicator,weight\na,0.2\nb,0.3\nc,0.5\n")
    tree = write("s.csv", "node,parent,weight\ntotal,,\na,total,2\nb,total,3\nc,total,5\n")
    units = write("u.csv", UNITS)
    one = load_study(units, flat, id_column="id")
    two = load_study(units, structure=tree, id_column="id")
    for spec in (IndexSpec(), IndexSpec(aggregation="geometric", normalisation="rank")):
        np.testing.assert_allclose(compute_index(one, spec=spec).values, compute_index(two, spec=spec).values, rtol=1e-15)


def test_paper_structure_matches_table_4(paper):
    """data/structure.csv carries Table 4's weights (data/weights.csv, as printed)."""
    from clustermodel.data import load_weights

    w = load_weights(DATA / "weights.csv")
    assert dict(zip(paper.structure.leaves, paper.structure.attribute("weights"))) == dict(zip(w["indicator"].values, w.values))


@pytest.mark.parametrize(
    "text, line, column, problem",
    [
        ("node,parent,weight\nindex,,\na,index,1\na,index,2\n", 4, "node", "duplicate node 'a' (first at row 2)"),
        ("node,parent,weight\nindex,,\na,index,1\nb,pillar,1\n", 4, "parent", "parent 'pillar' of node 'b' is not a node of the structure (an orphan)"),
        ("node,parent,weight\nindex,,\np,q,1\nq,p,1\na,index,1\n", 3, "parent", "the parents form a cycle (p -> q -> p)"),
        ("node,parent,weight\nindex,,\na,index,1\nb,,1\n", 4, "parent", "more than one root ('index', 'b')"),
        ("node,parent,weight\nindex,,\np,index,1\na,p,0\nb,p,0\n", 3, "weight", "the weights of the children of 'p' sum to 0"),
        ("node,parent,weight\nindex,,\na,index,-1\n", 3, "weight", "negative weight -1 for node 'a'"),
        ("node,parent,weight\nindex,,\na,index,\n", 3, "weight", "weight of node 'a' is missing"),
        ("node,parent,weight,direction\nindex,,,\na,index,1,2\n", 3, "direction", "direction '2' must be 1 (more is better) or -1"),
        ("node,parent,weight,direction\nindex,,,\np,index,1,-1\na,p,1,\n", 3, "direction", "node 'p' is an aggregate; direction applies to indicators only"),
        ("node,parent,weight\nindex,,\n", 2, "node", "the index 'index' has no children"),
    ],
)
def test_structure_errors_name_file_line_and_column(write, text, line, column, problem):
    path = write("s.csv", text)
    with pytest.raises(InputError) as e:
        load_structure(path)
    assert (e.value.file, e.value.line, e.value.column) == (str(path), line, column)
    assert problem in e.value.problem


def test_unknown_structure_column_lists_the_valid_ones(write):
    path = write("s.csv", "node,parent,weigth\nindex,,\na,index,1\n")
    with pytest.raises(InputError, match="unknown column\\(s\\) 'weigth'; a structure file has the columns node, parent, weight"):
        load_structure(path)


def test_a_leaf_the_unit_table_lacks_is_named_with_its_line(write):
    units = write("u.csv", UNITS)
    tree = write("s.csv", "node,parent,weight\nindex,,\na,index,1\npillar,index,1\n")
    with pytest.raises(InputError) as e:
        load_study(units, structure=tree, id_column="id")
    assert (e.value.line, e.value.column) == (4, "node")
    assert "indicator 'pillar' is not a column of the unit table" in e.value.problem
    assert "a node without children is an indicator" in e.value.problem


def test_an_unknown_denominator_is_named(write):
    units = write("u.csv", UNITS)
    tree = write("s.csv", "node,parent,weight,denominator\nindex,,,\na,index,1,gdp\n")
    with pytest.raises(InputError, match="denominator 'gdp' of indicator 'a' is not a column of the unit table"):
        load_study(units, structure=tree, id_column="id")


def test_structure_errors_through_the_cli_are_one_line(write, capsys):
    units = write("u.csv", UNITS)
    tree = write("s.csv", "node,parent,weight\nindex,,\na,index,1\nb,pillar,1\n")
    assert main(["index", "--clusters", str(units), "--structure", str(tree), "--id-column", "id"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"clustermodel: error: {tree}, line 4, column 'parent': parent 'pillar' of node 'b' is not a node of the structure (an orphan); add a row for 'pillar' or fix the name"]


def test_give_weights_or_structure_not_both(write):
    units = write("u.csv", UNITS)
    with pytest.raises(Exception, match="exactly one of `weights`"):
        load_study(units, id_column="id")


def test_denominated_hierarchy_through_the_loader(write):
    study = load_study(write("u.csv", UNITS), structure=write("s.csv", GOOD), id_column="id")
    assert list(study.clusters["denominators"]["denominator"].values) == ["pop"]
    s = compute_scores(study, spec=IndexSpec(normalisation="minmax"))
    per_capita = np.array([1 / 100, 2 / 200, 4 / 50])  # 0.01, 0.01, 0.08
    np.testing.assert_allclose(s.sel(node="a").values, (per_capita - per_capita.min()) / np.ptp(per_capita))
    np.testing.assert_allclose(s.sel(node="b").values, [0.0, 0.5, 1.0])  # lower is better: (10 - b) / 10


def test_the_shipped_hierarchical_example_runs_through_index(capsys):
    ex = DATA / "examples" / "hierarchy"
    args = ["index", "--clusters", str(ex / "cities.csv"), "--structure", str(ex / "structure.csv"), "--spec", str(ex / "spec.toml"), "--id-column", "city", "--json"]
    assert main(args) == 0
    import json

    out = capsys.readouterr()
    d = json.loads(out.out)
    assert d["structure"]["levels"] == 4 and len(d["units"]) == 48
    assert set(d["units"][0]["nodes"]) == {"economy", "society", "trade", "investment", "talent", "connectivity", "environment"}
    assert d["construction"]["imputed"] and d["construction"]["treated_indicators"]
    assert "imputed with the mean" in out.err


def test_structure_round_trips_through_its_dict():
    s = Structure(["i", "p", "a", "b"], [None, "i", "p", "p"], [np.nan, 1, 2, 3], directions=[1, 1, -1, 1])
    d = s.to_dict()
    assert d["levels"] == 3 and d["nodes"][2] == {"node": "a", "parent": "p", "level": 1, "weight": 2.0, "direction": -1}


def test_effective_weight_of_every_node():
    """Issue 21.16: an aggregate's effective weight is the product on its path, equal to the sum of its leaves'."""
    from clustermodel.structure import load_structure
    from conftest import ROOT

    s = load_structure(ROOT / "data" / "examples" / "hierarchy" / "structure.csv")
    df = s.to_frame()
    assert df.loc[s.root, "effective_weight"] == 1.0
    for v in s.aggregates:
        leaves = [x for x in s.leaves if v in _ancestors_of(s, x)]
        assert df.loc[v, "effective_weight"] == pytest.approx(df.loc[leaves, "effective_weight"].sum(), rel=1e-12)


def _ancestors_of(s, v):
    out = [v]
    while s.parent(v) is not None:
        v = s.parent(v)
        out.append(v)
    return out
