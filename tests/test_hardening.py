"""Silent wrong numbers refused, and failures of the machine told in one line (issue 24 B, E)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA

from clustermodel._errors import ClusterModelError
from clustermodel.cli import main
from clustermodel.data import load_study
from clustermodel.structure import load_structure

HIER = DATA / "examples" / "hierarchy"


def _structure_with(tmp_path: Path, edit) -> Path:
    lines = (HIER / "structure.csv").read_text().splitlines()
    path = tmp_path / "structure.csv"
    path.write_text("\n".join(edit(lines)) + "\n")
    return path


def test_sibling_weights_whose_sum_overflows_are_refused_with_the_row(tmp_path):
    def huge(lines):
        out = []
        for ln in lines:
            cells = ln.split(",")
            if cells[1] == "openness":  # economy and society: 1e308 each, a sum of inf
                cells[2] = "1e308"
            out.append(",".join(cells))
        return out

    path = _structure_with(tmp_path, huge)
    with pytest.raises(ClusterModelError) as e:
        load_structure(path)
    msg = str(e.value)
    assert "largest float" in msg and "ratios" in msg and str(path) in msg and "weight" in msg


def test_sibling_weights_near_the_largest_float_still_give_the_right_numbers(tmp_path):
    # 1e307 and 2/3 of it do not overflow: the effective weights equal those of 3 : 2 (the ratios are all that count)
    def large(lines):
        out = []
        for ln in lines:
            cells = ln.split(",")
            if cells[0] == "economy":
                cells[2] = "3e307"
            if cells[0] == "society":
                cells[2] = "2e307"
            out.append(",".join(cells))
        return out

    big = load_structure(_structure_with(tmp_path, large))
    ref = load_structure(HIER / "structure.csv")
    np.testing.assert_allclose(big.effective_weights(), ref.effective_weights(), rtol=1e-12)


def test_weight_vectors_whose_sum_overflows_are_refused():
    s = load_structure(HIER / "structure.csv")
    w = s.weight_array()
    w[:] = 1e308
    with pytest.raises(ClusterModelError, match="largest float"):
        s.normalise_weights(w)


def test_a_data_column_made_a_parent_is_refused_with_the_row(tmp_path):
    # A plausible typo: an indicator's code in another indicator's parent cell makes the first a pillar, and its data
    # would silently leave the index.
    lines = (HIER / "structure.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [ln.split(",") for ln in lines[1:]]
    at = header.index("denominator")
    leaves = [r[0] for r in rows if not any(o[1] == r[0] for o in rows) and not r[at]]
    first, second = leaves[0], leaves[1]
    for r in rows:
        if r[0] == second:
            r[1] = first
    path = tmp_path / "structure.csv"
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n")
    with pytest.raises(ClusterModelError) as e:
        load_study(HIER / "cities.csv", structure=path, id_column="city")
    msg = str(e.value)
    assert f"node {first!r} is a column of the unit table" in msg and "cannot be a parent" in msg
    line = 2 + [r[0] for r in rows].index(second)
    assert f"line {line}" in msg or f":{line}" in msg, msg


def test_out_of_memory_is_one_line_and_leaves_out_as_it_was(tmp_path, monkeypatch, capsys):
    from clustermodel import workflow

    cfg = tmp_path / "q.toml"
    cfg.write_text('order = ["scores"]\n[scores]\nn_draws = 20\n')
    out = tmp_path / "out"
    assert main(["report", "--config", str(cfg), "--out", str(out)]) == 0
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}

    def hungry(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setitem(workflow.STAGES, "scores", hungry)
    capsys.readouterr()
    assert main(["report", "--config", str(cfg), "--out", str(out)]) == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("[clustermodel] ")]  # not the stage lines
    assert len(err) == 1 and err[0].startswith("clustermodel: error: out of memory") and "as it was" in err[0]
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()} == before


# --- F: messages that name the right thing -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["report", "sobol", "bootstrap"])
def test_a_bad_threshold_option_is_blamed_on_the_option_not_the_config(tmp_path, capsys, command):
    code = main([command, "--cluster-threshold", "nan", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "argument --cluster-threshold" in err[0] and "'nan'" in err[0] and "config" not in err[0]
    assert not (tmp_path / "out").exists()


def test_a_memory_limit_that_is_no_size_fails_before_any_work(tmp_path, capsys):
    assert main(["sobol", "--memory-limit", "lots", "--out", str(tmp_path / "o")]) == 2
    assert "argument --memory-limit" in capsys.readouterr().err
    config = tmp_path / "c.toml"
    config.write_text('[sobol]\nmemory_limit = "lots"\n')
    # before: accepted, and only a Sobol' stage (not run here) would have failed, naming neither file nor key
    assert main(["report", "--config", str(config), "--only", "scores", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"clustermodel: error: {config}: [sobol] memory_limit must be a size such as \"1 GiB\" or a positive number of bytes, got 'lots'"]


def test_a_renormalised_weight_sum_is_never_printed_as_one(tmp_path):
    from clustermodel._errors import ClusterModelWarning
    from clustermodel.data import load_weights

    path = tmp_path / "w.csv"
    path.write_text("indicator,weight\na,0.4999999\nb,0.5\n")
    with pytest.warns(ClusterModelWarning) as rec:
        w = load_weights(path)
    assert [str(r.message) for r in rec] == [f"{path}: column 'weight': weights sum to 0.9999999, not exactly one; renormalised to sum to one"]
    assert w.values.sum() == pytest.approx(1, abs=1e-15)


def test_another_librarys_warning_is_one_line_with_its_origin(capsys):
    import warnings

    from clustermodel.cli import run_guarded

    def noisy():
        with np.errstate(over="warn"):
            np.float64(1e308) * np.float64(10)
        warnings.warn("a message\nover two lines", UserWarning)
        return 0

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert run_guarded(noisy) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0].startswith("clustermodel: warning: RuntimeWarning: overflow encountered") and err[0].endswith(")")
    assert err[1].startswith("clustermodel: warning: UserWarning: a message over two lines (at test_hardening.py:")


def test_a_zero_denominator_names_the_file_line_and_column(tmp_path, capsys):
    lines = (HIER / "cities.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")  # the third city, line 4 of the file
    cells[header.index("population")] = "0"
    lines[3] = ",".join(cells)
    table = tmp_path / "cities.csv"
    table.write_text("\n".join(lines) + "\n")
    args = ["index", "--clusters", str(table), "--structure", str(HIER / "structure.csv"), "--spec", str(HIER / "spec.toml"), "--id-column", "city"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"clustermodel: error: {table}, line 4, column 'population': denominator 'population' is 0.0 for unit 'C03'")
