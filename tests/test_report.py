import json
import tomllib

import pytest
from conftest import DATA, ROOT

from clustermodel.cli import main
from clustermodel.report import run_study

EXAMPLE = DATA / "examples"


def small_config():
    """The analyses config with every sample size shrunk so that a full run stays quick."""
    with open(ROOT / "analyses" / "config.toml", "rb") as fh:
        config = tomllib.load(fh)
    for section in config.values():
        if isinstance(section, dict):
            for key in ("n", "n_equation1", "n_draws", "n_resamples"):
                if key in section:
                    section[key] = 256 if key.startswith("n_eq") or key == "n" else min(section[key], 99)
            if "concentration_sensitivity" in section:
                section["concentration_sensitivity"] = section["concentration_sensitivity"][:2]
    return config


def dump_toml(config) -> str:
    """Serialise the flat two-level config back to TOML (test helper)."""

    def value(v):
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)

    lines = [f"{k} = {value(v)}" for k, v in config.items() if not isinstance(v, dict)]
    for name, section in config.items():
        if isinstance(section, dict):
            lines += ["", f"[{name}]"] + [f"{k} = {value(v)}" for k, v in section.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, paper):
    config = small_config()
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    run_study(paper, config, a, progress=None)
    run_study(paper, config, b, progress=None)
    return a, b


def test_same_seed_same_bytes_except_the_untracked_run_time(two_runs):
    a, b = two_runs
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {"report.md", "report.html", "manifest.json", "run.json", "figure13.png"} <= set(names)
    for name in names:
        if name not in {"run.json", "manifest.json"}:  # run.json: the time of the run (not tracked in reports/)
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    ma.pop("checkout"), mb.pop("checkout")  # a file edited between the two runs would show (bytes: test_determinism)
    assert ma == mb
    manifest = ma
    assert set(manifest["inputs"]) == {"data/clusters.csv", "data/structure.csv", "data/spec.toml", "data/regions.csv", "data/indicators.csv"}
    assert "created" not in manifest and "created" in json.loads((a / "run.json").read_text())


def test_manifest_records_python_platform_dependencies_and_checkout(two_runs):
    import platform

    import numpy
    import scipy

    manifest = json.loads((two_runs[0] / "manifest.json").read_text())
    env = manifest["environment"]
    assert env["python"] == platform.python_version() and env["platform"] == platform.platform()
    assert env["packages"]["numpy"] == numpy.__version__ and env["packages"]["scipy"] == scipy.__version__
    assert {"pandas", "xarray", "statsmodels", "salib", "matplotlib", "netcdf4", "markdown", "tqdm"} <= set(env["packages"])
    assert "pytest" not in env["packages"]  # test tools do not touch a result
    checkout = manifest["checkout"]  # the tests run from a git checkout
    assert len(checkout["commit"]) == 40 and isinstance(checkout["modified"], bool)
    assert checkout["modified"] == bool(checkout["modified_paths"])


def test_small_config_round_trips(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(dump_toml(small_config()))
    with open(cfg, "rb") as fh:
        assert tomllib.load(fh) == small_config()


def test_report_opens_with_a_few_short_conclusions_and_one_figure(two_runs):
    import re

    tmp_path = two_runs[0]
    text = (tmp_path / "report.md").read_text()
    top = text.split("## Conclusions")[1].split("## Contents")[0]
    items = re.findall(r"^\d+\. (.*)$", top, flags=re.M)
    assert 4 <= len(items) <= 7
    for item in items:  # one or two sentences, each with a link to its section's file
        assert re.search(r"\]\([a-z0-9_]+\.md\)$", item), item
        assert len(item.split()) <= 90, item
        assert "{" not in item and "'supported'" not in item  # no Python dicts
    assert "weights cancel" in top and "Table 5 in 23 of 25 rows" in top and "knife edge" in top
    assert len(re.findall(r"^!\[", top, flags=re.M)) == 1  # one headline figure
    # the detailed findings open each section, under its own heading
    brief = text.split('<a id="reproduction"></a>')[1].split("### In brief")[1].split("\n## ")[0]
    assert "23 of 25 cluster rows" in brief and "(figure13.png)" in brief
    assert "<table>" in (tmp_path / "report.html").read_text()
    # the headlines sit beside, never over, a stage's machine-readable conclusion codes
    rel = json.loads((tmp_path / "correlation.json").read_text())
    assert set(rel["conclusions"].values()) <= {"association", "equivalence", "association_within_bound", "inconclusive"}
    assert rel["headlines"] and all(isinstance(h, str) for h in rel["headlines"])


def test_example_dataset_end_to_end_through_the_cli(tmp_path, capsys):
    cfg = tmp_path / "small.toml"
    cfg.write_text(dump_toml(small_config()))
    rc = main([
        "report", "--clusters", str(EXAMPLE / "clusters.csv"), "--weights", str(EXAMPLE / "weights.csv"),
        "--regions", str(EXAMPLE / "regions.csv"), "--id-column", "id", "--group-column", "sector",
        "--region-column", "area", "--out", str(tmp_path / "out"), "--config", str(cfg),
    ])
    tmp_path = tmp_path / "out"
    assert rc == 0, capsys.readouterr().err
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert [u["id"] for u in scores["units"]][:3] == ["A1", "A2", "A3"]
    assert sum(scores["scenario_counts"].values()) == 10
    assert not (tmp_path / "reproduction.json").exists()  # no published values to compare with
    assert (tmp_path / "report.md").exists() and (tmp_path / "manifest.json").exists()


def test_example_dataset_from_excel(tmp_path):
    import pandas as pd

    pytest.importorskip("openpyxl")  # the optional `excel` extra (also in `test`): a third-party reader, not ours
    xlsx = tmp_path / "clusters.xlsx"
    pd.read_csv(EXAMPLE / "clusters.csv", dtype=str, keep_default_na=False).to_excel(xlsx, index=False)
    rc = main([
        "report", "--clusters", str(xlsx), "--weights", str(EXAMPLE / "weights.csv"), "--regions",
        str(EXAMPLE / "regions.csv"), "--id-column", "id", "--group-column", "sector", "--region-column", "area",
        "--only", "scores", "--out", str(tmp_path / "out"),
    ])
    assert rc == 0
    assert json.loads((tmp_path / "out" / "scores.json").read_text())["units"][1]["id"] == "A2"


def test_user_data_missing_mapped_column_is_named(tmp_path, capsys):
    rc = main([
        "report", "--clusters", str(EXAMPLE / "clusters.csv"), "--weights", str(EXAMPLE / "weights.csv"),
        "--regions", str(EXAMPLE / "regions.csv"), "--id-column", "id", "--region-column", "region",
        "--out", str(tmp_path),
    ])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--region-column 'region' names no column" in err


def test_every_analysis_has_csv_and_netcdf(two_runs):
    names = {p.name for p in two_runs[0].iterdir()}
    for stage in ("scores", "reproduction", "sobol", "bootstrap", "correlation"):
        assert any(n.startswith(stage) and n.endswith(".csv") for n in names), stage
        assert any(n.startswith(stage) and n.endswith(".nc") for n in names), stage
    manifest = json.loads((two_runs[0] / "manifest.json").read_text())
    assert manifest["specs"]["sobol"]["aggregation"] == "quadratic"
    assert manifest["specs"]["reproduction"]["aggregation"] == "equation1"
    assert all(len(h) == 64 for h in manifest["outputs"].values())


def test_every_link_and_image_in_the_report_exists(two_runs):
    import re

    text = (two_runs[0] / "report.md").read_text()
    targets = set(re.findall(r"\]\(([^)#]+)\)", text))
    assert targets, "the report links nothing"
    missing = [t for t in targets if not (two_runs[0] / t).exists()]
    assert not missing


def test_stage_headings_are_nested_under_their_section():
    from clustermodel.report import _nest_headings

    body = "# A\ntext\n## B\n#not a heading\n"
    assert _nest_headings(body, top=3) == "### A\ntext\n#### B\n#not a heading"


def test_two_runs_in_separate_processes_give_the_same_bytes(tmp_path):
    """Issue 14: every file a reviewer diffs is byte-identical between two processes — different hash seeds (any
    set-order dependence shows) and BLAS thread counts. Only run.json (the time of the run) and the untracked
    full-precision NetCDF files are left out. Different BLAS kernels and SIMD levels (another machine) were
    checked by hand: docs/packaging.md."""
    import os
    import subprocess
    import sys

    cfg = tmp_path / "small.toml"
    cfg.write_text(dump_toml(small_config()))
    base = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "clustermodel", "report", "--config", str(cfg), "--out", name],
            cwd=tmp_path, env={**base, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, env in {"a": {"PYTHONHASHSEED": "1"}, "b": {"PYTHONHASHSEED": "2", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}}.items()
    }
    for name, proc in runs.items():
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"run {name}: {err}"
    a, b = tmp_path / "a", tmp_path / "b"
    names = sorted(p.name for p in a.iterdir() if p.name != "run.json" and p.suffix != ".nc")
    assert names == sorted(p.name for p in b.iterdir() if p.name != "run.json" and p.suffix != ".nc")
    assert {"manifest.json", "report.md", "scores.csv", "sobol.json", "correlation.png"} <= set(names)
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert not differ, differ


def test_a_study_without_higher_level_units_gets_the_rank_plot_as_headline(tmp_path):
    from clustermodel.report import write_report

    (tmp_path / "bootstrap.json").write_text(json.dumps({"findings": ["f. [bootstrap](bootstrap.md)"], "headlines": ["**h.** [bootstrap](bootstrap.md)"]}))
    (tmp_path / "bootstrap.md").write_text("## Bootstrap\n")
    (tmp_path / "bootstrap_ranks.png").write_bytes(b"")
    text = write_report(tmp_path, ["bootstrap"]).read_text()
    top = text.split("## Conclusions")[1].split("## Contents")[0]
    assert "1. **h.** [bootstrap](bootstrap.md)" in top and "![bootstrap_ranks.png](bootstrap_ranks.png)" in top
