"""A wheel that runs anywhere (issue 14): built from the sources, installed into a fresh venv outside the
checkout, run from another folder; the files it ships are exactly the repository's, once.

The fresh venv gets clustermodel from the wheel alone (``pip install --no-deps``); its third-party
dependencies come from the running environment through a ``.pth`` line naming that environment's
site-packages, so the test needs no download and takes seconds. A ``.pth`` path line adds the folder but does
not run the ``.pth`` files inside it, so an editable clustermodel installed there stays invisible: the test
checks that ``clustermodel`` is imported from the fresh venv.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT
from test_report import dump_toml, small_config

from clustermodel._resources import RESOURCE_DIR

#: The repository files the wheel must ship (setup.py's SHIPPED globs, spelled out).
SHIPPED = sorted(
    p.relative_to(ROOT).as_posix()
    for pattern in ("data/*.csv", "data/*.toml", "data/*.md", "data/examples/*.csv", "data/examples/*.md",
                    "data/examples/hierarchy/*.csv", "data/examples/hierarchy/*.toml", "analyses/config.toml")
    for p in ROOT.glob(pattern)
)


def _source_files():
    """The files of the source tree a build may see: tracked or new, never ignored ones (.venv, build/)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    )
    return [f for f in out.stdout.decode().split("\0") if f and (ROOT / f).is_file()]


def _run(args, *, cwd, env, timeout=600):
    run = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"{' '.join(map(str, args))}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build the wheel from a copy of the sources (a stale build/ in the checkout cannot leak into it)."""
    tmp = tmp_path_factory.mktemp("build")
    src = tmp / "src"
    for rel in _source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp / "dist"), str(src)], cwd=tmp, env=os.environ)
    (whl,) = (tmp / "dist").glob("clustermodel-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh venv, outside the checkout, holding the wheel; returns (bin folder, environment for runs)."""
    tmp = tmp_path_factory.mktemp("venv")
    env_dir = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], cwd=tmp, env=os.environ)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp, env=os.environ).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_clustermodel_test_dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--quiet", str(wheel)], cwd=tmp, env=os.environ)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env.update(MPLBACKEND="Agg", PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}")
    return bindir, env


def test_wheel_ships_the_data_and_config_once_with_the_repository_bytes(wheel):
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n[len(f"clustermodel/{RESOURCE_DIR}/"):]: zf.read(n) for n in zf.namelist() if n.startswith(f"clustermodel/{RESOURCE_DIR}/")}
        names = zf.namelist()
    assert sorted(shipped) == SHIPPED
    assert {"data/clusters.csv", "data/structure.csv", "data/spec.toml", "data/regions.csv", "data/indicators.csv", "analyses/config.toml"} <= set(shipped)
    for rel, content in shipped.items():
        assert content == (ROOT / rel).read_bytes(), rel
    assert "clustermodel/py.typed" in names
    assert not any(n.startswith(("tests/", "analyses/", "data/", "benchmarks/")) for n in names)


def test_installed_wheel_runs_from_another_folder(venv, tmp_path):
    bindir, env = venv
    where = tmp_path / "elsewhere"
    where.mkdir()
    python = str(bindir / ("python.exe" if os.name == "nt" else "python"))
    probe = _run([python, "-c", "import clustermodel, json, sys; print(json.dumps([clustermodel.__file__, sys.path]))"], cwd=where, env=env)
    module_file, path = json.loads(probe.stdout)
    assert Path(module_file).is_relative_to(bindir.parent), module_file  # the wheel's copy, not the checkout's
    assert not any(p and Path(p).resolve() == ROOT for p in path), path  # the checkout is not importable

    # reproduce --json: the paper's data from the package, the same result as the checkout's
    out = _run([str(bindir / "clustermodel"), "reproduce", "--json"], cwd=where, env=env).stdout
    here = _run([sys.executable, "-m", "clustermodel", "reproduce", "--json"], cwd=ROOT, env=None).stdout  # the checkout's
    assert json.loads(out) == json.loads(here) and json.loads(out)["clusters"]

    # report with a small config (the default config is the shipped analyses/config.toml)
    cfg = where / "small.toml"
    cfg.write_text(dump_toml(small_config()))
    _run([str(bindir / "clustermodel"), "report", "--out", "out", "--config", str(cfg)], cwd=where, env=env)
    report = where / "out"
    assert (report / "report.md").is_file() and (report / "report.html").is_file()
    manifest = json.loads((report / "manifest.json").read_text())
    assert set(manifest["inputs"]) == {"data/clusters.csv", "data/structure.csv", "data/spec.toml", "data/regions.csv", "data/indicators.csv"}
    assert manifest["checkout"] is None  # an installed package: its version identifies the code
    assert "23 of 25 cluster rows" in (report / "report.md").read_text()

    default = _run([python, "-c", "from clustermodel.config import paper_config_path; print(paper_config_path())"], cwd=where, env=env)
    shipped_config = Path(default.stdout.strip())
    assert shipped_config.is_relative_to(bindir.parent)
    assert shipped_config.read_bytes() == (ROOT / "analyses" / "config.toml").read_bytes()


def test_checkout_reads_its_own_data_folder():
    from clustermodel._resources import resource_root
    from clustermodel.data import paper_data_dir

    assert resource_root() == ROOT  # no clustermodel/_data/ in a checkout: nothing to drift
    assert paper_data_dir() == ROOT / "data"
    assert not (ROOT / "clustermodel" / RESOURCE_DIR).exists()


def test_no_test_skips_a_broken_import_of_our_own_modules():
    offenders = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in (ROOT / "tests").rglob("*.py")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "importorskip" in line and "clustermodel" in line and p.name != "test_packaging.py"
    ]
    assert not offenders, offenders


@pytest.mark.parametrize("module", ["clustermodel.data", "clustermodel._io", "clustermodel.reproduction"])
def test_public_functions_are_fully_annotated(module):
    """py.typed promises type hints: every public function (and method) of these modules annotates every
    parameter and its return value."""
    import importlib
    import inspect

    mod = importlib.import_module(module)
    missing = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        funcs = [(name, obj)] if inspect.isfunction(obj) else []
        if inspect.isclass(obj) and obj.__module__ == module:
            funcs += [(f"{name}.{n}", f) for n, f in vars(obj).items() if inspect.isfunction(f) and not n.startswith("_")]
            funcs += [(f"{name}.{n}", p.fget) for n, p in vars(obj).items() if isinstance(p, property) and not n.startswith("_")]
        for qual, f in funcs:
            sig = inspect.signature(f)
            missing += [f"{qual}({p})" for p in sig.parameters.values() if p.annotation is inspect.Parameter.empty and p.name not in {"self", "cls"}]
            if sig.return_annotation is inspect.Signature.empty:
                missing.append(f"{qual} -> ?")
    assert not missing, missing


def test_the_one_version_agrees_with_pyproject():
    import tomllib

    import clustermodel
    from clustermodel._version import __version__

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    assert clustermodel.__version__ is __version__
    assert __version__ == project["version"]
