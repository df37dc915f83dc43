"""The long stages' progress bars (clustermodel._dask.progress_bar)."""

from __future__ import annotations

import warnings


def test_the_progress_bar_needs_no_ipywidgets(monkeypatch):
    """In a notebook without ipywidgets, tqdm.auto warns "IProgress not found" on every run: the engines' bar is
    tqdm's text bar unless ipywidgets can be imported (issue 22.5); progress=False disables it."""
    import importlib.util

    import tqdm.std

    from clustermodel._dask import progress_bar

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with progress_bar(total=3, desc="sobol", progress=True) as bar:
            assert type(bar) is tqdm.std.tqdm
            bar.update(3)
    with progress_bar(total=3, desc="sobol", progress=False) as bar:
        assert bar.disable


def test_quiet_commands_say_nothing_but_their_result(tmp_path, capsys):
    """-q/--quiet: no stage lines and no progress bars; the report's closing line and the files stay the same."""
    from clustermodel.cli import main

    cfg = tmp_path / "small.toml"
    cfg.write_text("[sobol]\nn = 64\nreplicates = 2\nn_equation1 = 64\nconvergence_levels = 1\n")
    assert main(["report", "--config", str(cfg), "--only", "scores", "sobol", "--out", str(tmp_path / "loud")]) == 0
    loud = capsys.readouterr()
    assert "[clustermodel] sobol …" in loud.err and "[clustermodel] sobol …" not in loud.out  # stage lines are not data
    assert loud.out.startswith("[clustermodel] 2 analyses written")
    assert main(["report", "-q", "--config", str(cfg), "--only", "scores", "sobol", "--out", str(tmp_path / "quiet")]) == 0
    quiet = capsys.readouterr()
    assert "[clustermodel] sobol …" not in quiet.out and "analyses written" in quiet.out and quiet.err == ""
    assert (tmp_path / "quiet" / "sobol.json").read_bytes() == (tmp_path / "loud" / "sobol.json").read_bytes()
    assert main(["sobol", "-q", "--n", "64", "--replicates", "2"]) == 0
    assert capsys.readouterr().err == ""
