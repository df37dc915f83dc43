"""`report` as one transaction: a failed, interrupted, killed, out-of-disk or concurrent run never damages or mixes
the output folder (issue 15)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, ROOT

from clustermodel.cli import main
from clustermodel.data import load_study

EXAMPLE = DATA / "examples"
QUICK = 'order = ["scores", "reproduction"]\n[scores]\nn_draws = 20\n'
#: Long enough (several seconds) to be interrupted in the middle.
SLOW = """
order = ["scores", "reproduction", "sobol", "bootstrap", "correlation"]
[study]
unit_noun = "cluster"
[scores]
n_draws = 20
[sobol]
n = 512
replicates = 10
n_equation1 = 64
convergence_levels = 1
[bootstrap]
n_resamples = 2000
[correlation]
n_resamples = 999
"""


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def previous(tmp_path):
    """A folder holding an earlier report (of the quick config) and a file of the user's own."""
    cfg = tmp_path / "quick.toml"
    cfg.write_text(QUICK)
    out = tmp_path / "out"
    assert main(["report", "--config", str(cfg), "--out", str(out)]) == 0
    (out / "my_notes.txt").write_text("mine")
    return out


def test_a_failure_in_the_last_stage_leaves_the_folder_as_it_was(previous, tmp_path, monkeypatch, capsys):
    from clustermodel import workflow

    before = snapshot(previous)

    def broken(study, config, out):
        (Path(out) / "correlation.md").write_text("half")
        raise OSError(errno.EIO, "disk hiccup", str(Path(out) / "correlation.json"))

    monkeypatch.setitem(workflow.STAGES, "correlation", broken)
    cfg = tmp_path / "c.toml"
    cfg.write_text(QUICK.replace('"reproduction"]', '"reproduction", "correlation"]'))
    assert main(["report", "--config", str(cfg), "--out", str(previous)]) == 2
    assert snapshot(previous) == before
    assert not list(previous.glob(".clustermodel-*"))


def test_a_full_disk_names_the_file_and_leaves_the_folder_as_it_was(previous, tmp_path, monkeypatch, capsys):
    import clustermodel._io as io

    before = snapshot(previous)
    real = io.write_text
    calls = {"n": 0}

    def full(path, text):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, text)

    monkeypatch.setattr(io, "write_text", full)
    for mod in ("clustermodel.workflow", "clustermodel.report"):
        monkeypatch.setattr(sys.modules[mod], "write_text", full, raising=False)
    cfg = tmp_path / "q.toml"
    cfg.write_text(QUICK)
    assert main(["report", "--config", str(cfg), "--out", str(previous)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {previous / 'construction.json'}: No space left on device; free some space" in err
    assert snapshot(previous) == before


def test_outputs_of_an_earlier_run_that_this_run_does_not_write_are_removed(previous, tmp_path):
    assert (previous / "reproduction.md").exists()
    cfg = tmp_path / "s.toml"
    cfg.write_text('order = ["scores"]\n[scores]\nn_draws = 20\n')
    assert main(["report", "--config", str(cfg), "--out", str(previous)]) == 0
    names = {p.name for p in previous.iterdir()}
    assert "reproduction.md" not in names and "figure13.png" not in names
    assert "my_notes.txt" in names  # a file of the user's own is left alone
    manifest = json.loads((previous / "manifest.json").read_text())
    assert manifest["stages"] == ["scores"]
    assert set(manifest["outputs"]) | set(manifest["unhashed_outputs"]) | {"manifest.json"} == names - {"my_notes.txt"}


def test_an_input_inside_the_output_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "scores.csv").write_bytes((EXAMPLE / "clusters.csv").read_bytes())
    args = ["report", "--clusters", str(out / "scores.csv"), "--weights", str(EXAMPLE / "weights.csv"), "--id-column", "id", "--out", str(out)]
    assert main(args) == 2
    assert "is inside the output folder" in capsys.readouterr().err
    assert (out / "scores.csv").read_bytes() == (EXAMPLE / "clusters.csv").read_bytes()


def _start(out: Path, cfg: Path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "clustermodel", "report", "--config", str(cfg), "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interactive_signals)


def _interactive_signals() -> None:
    # A shell without job control starts background jobs with SIGINT ignored, and Python then keeps ignoring it;
    # the run under test is meant to see Ctrl-C as a user at a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_stage(proc, out: Path, pattern: str = ".clustermodel-staging-*/sobol*") -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        if list(out.glob(pattern)):
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {proc.communicate()[1]}")
        time.sleep(0.05)
    proc.kill()
    proc.communicate()
    pytest.fail("the run never reached the stage")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_leaves_the_folder_as_it_was(previous, tmp_path, sig, code):
    before = snapshot(previous)
    cfg = tmp_path / "slow.toml"
    cfg.write_text(SLOW)
    proc = _start(previous, cfg)
    _wait_for_stage(proc, previous, ".clustermodel-staging-*/scores.json")
    proc.send_signal(sig)
    proc.communicate(timeout=120)  # also closes the pipes
    assert proc.returncode == code
    assert snapshot(previous) == before
    assert not list(previous.glob(".clustermodel-*"))


@pytest.mark.parametrize("kind, code", [("KeyboardInterrupt", 130), ("_Terminated", 143)])
def test_an_interrupt_whose_exception_was_swallowed_still_publishes_nothing(previous, monkeypatch, kind, code):
    # A signal handler's exception is lost when it lands in code that swallows it (a __del__, a weakref callback);
    # the handler records the interrupt first, and the run stops at the next stage or before publishing.
    from clustermodel import cli, workflow
    from clustermodel._transaction import record_interrupt

    before = snapshot(previous)
    scores = workflow.STAGES["scores"]

    def swallowed(*args, **kwargs):
        out = scores(*args, **kwargs)
        record_interrupt(KeyboardInterrupt if kind == "KeyboardInterrupt" else cli._Terminated)  # ... and no raise
        return out

    monkeypatch.setitem(workflow.STAGES, "scores", swallowed)
    cfg = previous.parent / "s.toml"
    cfg.write_text('order = ["scores", "reproduction"]\n[scores]\nn_draws = 20\n')
    assert main(["report", "--config", str(cfg), "--out", str(previous)]) == code
    assert snapshot(previous) == before
    assert not list(previous.glob(".clustermodel-*"))


def test_a_killed_run_is_cleaned_up_by_the_next_run(previous, tmp_path):
    from clustermodel._transaction import locked, recover

    before = snapshot(previous)
    cfg = tmp_path / "slow.toml"
    cfg.write_text(SLOW)
    proc = _start(previous, cfg)
    _wait_for_stage(proc, previous, ".clustermodel-staging-*/scores.json")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert list(previous.glob(".clustermodel-staging-*"))  # the kill left its staging folder
    with locked(previous):  # what the next run does first
        assert any("killed" in line for line in recover(previous))
    assert snapshot(previous) == before


def test_a_second_run_on_the_same_folder_is_refused(previous, tmp_path, capsys):
    cfg = tmp_path / "slow.toml"
    cfg.write_text(SLOW)
    proc = _start(previous, cfg)
    try:
        _wait_for_stage(proc, previous, ".clustermodel-staging-*/scores.json")
        quick = tmp_path / "q.toml"
        quick.write_text(QUICK)
        assert main(["report", "--config", str(quick), "--out", str(previous)]) == 2
        assert "another clustermodel run is writing into" in capsys.readouterr().err
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)


def test_hostile_names_are_escaped_in_markdown_and_html(tmp_path):
    text = (EXAMPLE / "clusters.csv").read_text()
    text = text.replace("Harbour logistics cluster", '"Harbour | <script>alert(1)</script> & <img src=x onerror=alert(2)>"')
    units = tmp_path / "units.csv"
    units.write_text(text)
    out = tmp_path / "out"
    cfg = tmp_path / "s.toml"
    cfg.write_text('order = ["scores"]\n[scores]\nn_draws = 20\n')
    assert main(["report", "--clusters", str(units), "--weights", str(EXAMPLE / "weights.csv"), "--id-column", "id", "--config", str(cfg), "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    header = next(ln for ln in md.splitlines() if ln.startswith("| rank |"))
    for row in (ln for ln in md.splitlines() if ln.startswith("| ") and "Harbour" in ln):
        assert row.replace("\\|", "").count("|") == header.count("|")
    html = (out / "report.html").read_text()
    assert "<script>" not in html and "<img src=x" not in html
    assert load_study(units, EXAMPLE / "weights.csv", id_column="id").clusters["name"].values[0].startswith("Harbour |")
