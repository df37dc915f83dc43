#!/usr/bin/env python3
"""One-command entry points that set themselves up on a fresh machine.

    python3 tasks.py report   # main job: every analysis on the paper's data -> reports/
    python3 tasks.py test     # the test suite (what CI runs)
    python3 tasks.py setup    # only create/update .venv
    python3 tasks.py lock     # refresh requirements-lock.txt (maintainers; docs/packaging.md)

Each creates ./.venv (if missing), installs the pinned versions of
requirements-lock.txt (hash-checked) and clustermodel itself into it, then
runs. Only a Python >= 3.11 with venv and pip is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed-pyproject"
LOCK = ROOT / "requirements-lock.txt"
#: uv resolves the lock file (`tasks.py lock`) and the declared minimum versions (.ci/min-versions).
UV_VERSION = "0.13.9"
#: How requirements-lock.txt is made: every dependency with the test and excel extras, for every platform,
#: one version set wherever the Python versions allow it, with hashes. Python 3.11 is the oldest supported.
LOCK_COMMAND = [
    "pip", "compile", "pyproject.toml", "--extra", "test", "--extra", "excel", "--universal",
    "--fork-strategy", "fewest", "--python-version", "3.11", "--generate-hashes", "--quiet", "-o", LOCK.name,
]


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"clustermodel needs Python >= 3.11; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = (ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes()
    if not STAMP.exists() or STAMP.read_bytes() != stamp:
        print("installing the pinned dependencies (requirements-lock.txt) and clustermodel into .venv …", flush=True)
        pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=True)
        subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)  # everything it needs is pinned above
        STAMP.write_bytes(stamp)


def lock() -> int:
    """Re-resolve requirements-lock.txt to the newest versions pyproject.toml allows (then run the tests)."""
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"uv=={UV_VERSION}"], check=True)
    uv = VENV / ("Scripts/uv.exe" if os.name == "nt" else "bin/uv")
    return subprocess.run([str(uv), *LOCK_COMMAND], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"report", "test", "setup", "lock"}:
        print(__doc__)
        return 2
    setup()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.setdefault("HYPOTHESIS_PROFILE", "ci")  # the documented CI profile (tests/conftest.py, docs/testing.md)
    if argv[0] == "setup":
        return 0
    if argv[0] == "lock":
        return lock()
    if argv[0] == "test":
        return subprocess.run([str(PY), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env).returncode
    return subprocess.run([str(PY), str(ROOT / "analyses" / "run_all.py"), *argv[1:]], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
