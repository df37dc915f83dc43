import json

import pytest

from clustermodel.cli import main


def test_reproduce_json(capsys):
    assert main(["reproduce", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["scenario_counts"] == {"supported": 3, "lonely": 14, "potential": 8, "late": 0}
    assert len(d["clusters"]) == 25 and len(d["regions"]) == 19


def test_reproduce_writes_reports(tmp_path, capsys):
    assert main(["reproduce", "--out", str(tmp_path)]) == 0
    # the report's reproduction stage, file for file
    assert {p.name for p in tmp_path.iterdir()} == {
        "reproduction.md", "reproduction.json", "reproduction.nc", "reproduction_clusters.csv", "reproduction_regions.csv", "figure13.png"
    }


def test_bad_input_one_line_exit_2(write_csv, capsys):
    c = write_csv("c.csv", "no,a,b\n1,1,2\n2,oops,3\n")
    w = write_csv("w.csv", "indicator,weight\na,0.5\nb,0.5\n")
    r = write_csv("r.csv", "region,x\nN,1\n")
    assert main(["reproduce", "--clusters", str(c), "--weights", str(w), "--regions", str(r)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("clustermodel: error:") and "line 3" in err[0] and "column 'a'" in err[0]


def test_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["reproduce", "--out", str(blocker / "sub")]) == 2
    assert "cannot create output folder" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "reproduce" in capsys.readouterr().out


def test_help_lists_reproduce(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "reproduce" in capsys.readouterr().out


def test_index_command_json_matches_compute_index(paper, capsys):
    from clustermodel import PAPER_SPEC
    from clustermodel.index import compute_index

    assert main(["index", "--aggregation", "quadratic", "--reference", "sample", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    want = compute_index(paper.indicators, paper.weights, PAPER_SPEC.replace(aggregation="quadratic", reference="sample")).values
    # printed as index.json is written: at the stated precision (clustermodel._io.SIGNIFICANT_DIGITS)
    assert [r["index"] for r in d["units"]] == pytest.approx(want.tolist(), rel=1e-9)
    assert sorted(r["rank"] for r in d["units"]) == list(range(1, 26))


def test_index_command_writes_both_files(tmp_path, capsys):
    assert main(["index", "--out", str(tmp_path / "new")]) == 0
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["index.csv", "index.json", "index.md"]
    import pandas as pd

    frame = pd.read_csv(tmp_path / "new" / "index.csv")
    table = json.loads((tmp_path / "new" / "index.json").read_text())
    assert len(frame) == len(table["units"]) == 25 and list(frame["rank"]) == [u["rank"] for u in table["units"]]
    assert frame["index"].tolist() == pytest.approx([u["index"] for u in table["units"]])


def test_failed_reproduce_leaves_the_out_folder_as_it_was(tmp_path, monkeypatch, capsys):
    import clustermodel.plots
    from clustermodel import ClusterModelError

    (tmp_path / "reproduction.md").write_text("old")

    def broken(result, path, **kw):
        raise ClusterModelError("figure failed")

    monkeypatch.setattr(clustermodel.plots, "figure13", broken)
    assert main(["reproduce", "--out", str(tmp_path)]) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["reproduction.md"]
    assert (tmp_path / "reproduction.md").read_text() == "old"


def test_usage_errors_are_one_line(capsys):
    assert main(["reproduce", "--cluster-threshold", "abc"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["clustermodel: error: argument --cluster-threshold: invalid float value: 'abc' (run 'clustermodel reproduce --help' for the options)"]


def test_the_top_level_help_imports_no_heavy_library():
    """`clustermodel --help` builds only the list of commands: no estimator, hence no scipy.stats, matplotlib,
    xarray, pandas or dask (they cost about a second and a half of start-up); one command's parser needs only its own."""
    import subprocess
    import sys

    code = (
        "import sys; from clustermodel.cli import build_parser; build_parser('{}'); "
        "print(sorted(m for m in ('scipy.stats', 'matplotlib', 'xarray', 'pandas', 'dask') if m in sys.modules))"
    )
    top = subprocess.run([sys.executable, "-c", code.format("")], capture_output=True, text=True, check=True)
    assert top.stdout.strip() == "[]", top.stdout + top.stderr
    one = subprocess.run([sys.executable, "-c", code.format("report")], capture_output=True, text=True, check=True)
    assert one.stdout.strip() == "[]", one.stdout + one.stderr
