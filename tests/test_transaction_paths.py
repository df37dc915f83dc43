"""No file outside ``--out`` is ever touched (issue 24 A), and a half-published folder is repaired by the next command
of any kind (issue 24 C).

``manifest.json`` and the publish journal are files anyone can edit; ``reports/manifest.json`` is committed, so a
crafted one arrives with a clone. Each case plants a victim file outside the output folder (or behind a symbolic
link inside it), names it in a manifest or a journal, runs a command into the folder, and checks that the run is
refused with one line (exit 2), that the victim is intact, and that nothing in the folder changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from clustermodel._transaction import JOURNAL, STAGING_PREFIX, finish_interrupted, published
from clustermodel.cli import main
from clustermodel._errors import ClusterModelError

QUICK = 'order = ["scores"]\n[scores]\nn_draws = 20\n'


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder`` (links as their target text, never followed) and its content hash."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@pytest.fixture
def setting(tmp_path):
    """An output folder holding an earlier quick report, a victim file and a victim folder outside it, and a
    symbolic link inside the output folder pointing at the victim folder."""
    cfg = tmp_path / "quick.toml"
    cfg.write_text(QUICK)
    out = tmp_path / "out"
    assert main(["report", "--config", str(cfg), "--out", str(out)]) == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("precious")
    (outside / "sub").mkdir()
    (outside / "sub" / "inner.txt").write_text("also precious")
    (out / "link").symlink_to(outside, target_is_directory=True)
    (out / "filelink").symlink_to(victim)
    return {"cfg": cfg, "out": out, "outside": outside, "victim": victim}


def _manifest_naming(out: Path, name: str) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["outputs"][name] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(manifest))


def _refused(setting, capsys, argv) -> str:
    out, outside = setting["out"], setting["outside"]
    before_out, before_outside = snapshot(out), snapshot(outside)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert snapshot(outside) == before_outside, "a file outside --out was touched"
    assert setting["victim"].read_text() == "precious"
    assert snapshot(out) == before_out, "the output folder changed although the run was refused"
    lines = [ln for ln in err.splitlines() if ln.startswith("clustermodel: error:")]
    assert len(lines) == 1 and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("how", ["absolute", "dotdot", "through-symlink", "symlink-itself", "backslash", "hidden"])
def test_a_manifest_naming_a_path_outside_out_is_refused(setting, capsys, how):
    out, victim = setting["out"], setting["victim"]
    name = {
        "absolute": str(victim),
        "dotdot": f"../{victim.parent.name}/{victim.name}",
        "through-symlink": "link/victim.txt",
        "symlink-itself": "filelink",
        "backslash": "..\\outside\\victim.txt",
        "hidden": ".git",
    }[how]
    _manifest_naming(out, name)
    line = _refused(setting, capsys, ["report", "--config", str(setting["cfg"]), "--out", str(out)])
    assert "manifest.json lists" in line and "Nothing was changed" in line


def test_a_manifest_that_is_a_symbolic_link_is_refused(setting, capsys):
    out = setting["out"]
    real = setting["outside"] / "manifest.json"
    (out / "manifest.json").replace(real)
    (out / "manifest.json").symlink_to(real)
    line = _refused(setting, capsys, ["report", "--config", str(setting["cfg"]), "--out", str(out)])
    assert "symbolic link" in line


def _plant_journal(out: Path, journal: dict, stage: str = STAGING_PREFIX + "abc123") -> None:
    (out / stage).mkdir(exist_ok=True)
    (out / JOURNAL).write_text(json.dumps(journal))


@pytest.mark.parametrize("command", ["report", "index"])
@pytest.mark.parametrize(
    "how",
    ["delete-absolute", "delete-dotdot", "delete-through-symlink", "stage-outside", "stage-absolute", "move-into-symlink",
     "not-a-journal"],
)
def test_a_journal_naming_a_path_outside_out_is_refused_by_every_command(setting, capsys, how, command):
    out, victim, outside = setting["out"], setting["victim"], setting["outside"]
    stage = STAGING_PREFIX + "abc123"
    journal = {"stage": stage, "move": [], "delete": []}
    if how == "delete-absolute":
        journal["delete"] = [str(victim)]
    elif how == "delete-dotdot":
        journal["delete"] = ["../outside/victim.txt"]
    elif how == "delete-through-symlink":
        journal["delete"] = ["link/sub/inner.txt"]
    elif how == "stage-outside":
        journal["stage"] = "../outside"  # rmtree of the 'staging folder' would remove the victim folder
    elif how == "stage-absolute":
        journal["stage"] = str(outside)
    elif how == "move-into-symlink":
        (out / stage).mkdir()
        (out / stage / "link").mkdir()
        (out / stage / "link" / "victim.txt").write_text("overwritten")
        journal["move"] = ["link/victim.txt"]
    elif how == "not-a-journal":
        journal = ["/etc/passwd"]
    _plant_journal(out, journal, stage)
    argv = ["report", "--config", str(setting["cfg"]), "--out", str(out)]
    if command == "index":
        argv = ["index", "--out", str(out)]
    line = _refused(setting, capsys, argv)
    assert JOURNAL in line and "Nothing was changed" in line


def test_a_staging_folder_that_is_a_link_is_left_alone(setting):
    out, outside = setting["out"], setting["outside"]
    (out / (STAGING_PREFIX + "evil")).symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    assert main(["report", "--config", str(setting["cfg"]), "--out", str(out)]) == 0
    assert snapshot(outside) == before
    assert (out / (STAGING_PREFIX + "evil")).is_symlink()


def test_a_planted_link_under_the_journal_s_temporary_name_is_not_written_through(setting):
    out, victim = setting["out"], setting["victim"]
    (out / (JOURNAL + ".tmp")).symlink_to(victim)
    assert main(["report", "--config", str(setting["cfg"]), "--out", str(out)]) == 0
    assert victim.read_text() == "precious"
    assert not (out / (JOURNAL + ".tmp")).exists()


def test_a_genuine_previous_manifest_still_replaces_the_previous_run(setting):
    # The checks refuse only what is unsafe: a report over a report still removes the outputs it no longer writes.
    out = setting["out"]
    (out / "stale.md").write_text("old")
    _manifest_naming(out, "stale.md")
    assert main(["report", "--config", str(setting["cfg"]), "--out", str(out)]) == 0
    assert not (out / "stale.md").exists()
    assert setting["victim"].read_text() == "precious"


def _half_published(out: Path) -> dict:
    """A folder as a run killed after the journal was written and a few files were moved leaves it."""
    stage = STAGING_PREFIX + "killed1"
    names = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("."))
    (out / stage).mkdir()
    for name in names:
        (out / stage / name).write_text(f"new {name}")
    moved = names[:2]
    for name in moved:
        os.replace(out / stage / name, out / name)
    (out / JOURNAL).write_text(json.dumps({"stage": stage, "move": names, "delete": []}))
    return {name: f"new {name}" for name in names}


@pytest.mark.parametrize("command", ["index", "failing-report", "sobol-bad-option"])
def test_a_half_published_folder_is_completed_by_the_next_command_of_any_kind(setting, tmp_path, capsys, command):
    out = setting["out"]
    expected = _half_published(out)
    if command == "index":
        argv = ["index", "--out", str(out)]
    elif command == "failing-report":
        bad = tmp_path / "bad.toml"
        bad.write_text('order = ["no-such-stage"]\n')
        argv = ["report", "--config", str(bad), "--out", str(out)]
    else:
        argv = ["sobol", "--n", "-3", "--out", str(out)]
    main(argv)
    assert "completed the publication of an interrupted run" in capsys.readouterr().err
    for name, text in expected.items():
        if name in {"scores.csv", "scores.json", "scores.md", "index.json", "index.md", "manifest.json", "run.json"} and command == "index":
            continue  # index may have rewritten its own files since
        assert (out / name).read_text() == text
    assert not (out / JOURNAL).exists()
    assert not list(out.glob(STAGING_PREFIX + "*"))


def test_finish_interrupted_is_a_no_op_on_a_clean_or_missing_folder(tmp_path):
    assert finish_interrupted(tmp_path / "missing") == []
    assert not (tmp_path / "missing").exists()
    (tmp_path / "clean").mkdir()
    assert finish_interrupted(tmp_path / "clean") == []


def test_single_commands_never_delete(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    (out / "manifest.json").write_text(json.dumps({"outputs": {"mine.txt": "x"}}))
    with published(out, replace_previous=False) as stage:
        (stage / "new.txt").write_text("new")
    assert (out / "mine.txt").read_text() == "mine" and (out / "new.txt").read_text() == "new"


def test_an_unsafe_manifest_raises_the_package_error(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"outputs": {"/etc/passwd": "x"}}))
    with pytest.raises(ClusterModelError, match="absolute path"):
        with published(out, replace_previous=True):
            pass
