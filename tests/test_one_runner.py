"""One runner per analysis: a subcommand runs the report's stage, so both write byte-identical files.

``clustermodel sobol`` / ``bootstrap`` / ``correlate`` / ``reproduce`` are argparse only: their options fill the config
and :func:`clustermodel.report.run_analysis` runs the same stage runner as ``clustermodel report``.
"""

from __future__ import annotations

import pytest

from clustermodel.cli import main

SMALL = """
[sobol]
n = 64
replicates = 2
n_equation1 = 64
convergence_levels = 2
triggers = ["negative"]
[bootstrap]
n_resamples = 120
concentration_sensitivity = [10.0]
[correlation]
n_resamples = 99
"""


@pytest.mark.parametrize(
    "command, stage",
    [("sobol", "sobol"), ("bootstrap", "bootstrap"), ("correlate", "correlation"), ("reproduce", "reproduction")],
)
def test_a_subcommand_writes_the_reports_files_byte_for_byte(tmp_path, capsys, command, stage):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    alone, report = tmp_path / "alone", tmp_path / "report"
    assert main([command, "-q", "--config", str(cfg), "--out", str(alone)]) == 0
    assert main(["report", "-q", "--config", str(cfg), "--only", stage, "--out", str(report)]) == 0
    files = sorted(p.name for p in alone.iterdir())
    assert files and f"{stage}.md" in files and f"{stage}.json" in files
    report_files = {p.name for p in report.iterdir()} - {"report.md", "report.html", "manifest.json", "run.json"}
    assert set(files) == report_files  # the same files ...
    for name in files:  # ... with the same bytes (figures and NetCDF included)
        assert (alone / name).read_bytes() == (report / name).read_bytes(), name


def test_an_option_given_overrides_the_config_and_is_printed_as_the_stage_wrote_it(tmp_path, capsys):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    assert main(["correlate", "-q", "--config", str(cfg), "--seed", "5", "--json", "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert printed == (tmp_path / "o" / "correlation.json").read_text()
    assert '"seed": 5' in printed
    assert main(["correlate", "-q", "--config", str(cfg), "--seed", "5"]) == 0  # no --out: the Markdown, nothing kept
    assert capsys.readouterr().out == (tmp_path / "o" / "correlation.md").read_text()


def test_a_stage_that_cannot_run_is_one_line(tmp_path, capsys):
    units = tmp_path / "u.csv"
    units.write_text("code,a,b\nA,1,2\nB,2,1\nC,3,3\n")
    weights = tmp_path / "w.csv"
    weights.write_text("indicator,weight\na,0.5\nb,0.5\n")
    code = main(["correlate", "--units", str(units), "--weights", str(weights), "--id-column", "code", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("clustermodel: error: correlate cannot run on this study: no higher-level index")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
