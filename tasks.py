#!/usr/bin/env python3
"""One-command entry points that set themselves up on a fresh machine.

    python3 tasks.py report   # main job: every analysis on the paper's data -> reports/
    python3 tasks.py test     # the test suite (what CI runs)

Each creates ./.venv (if missing), installs clustermodel with its test extra
into it, then runs. Only a Python >= 3.11 with venv and pip is needed.
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


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"clustermodel needs Python >= 3.11; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    if not STAMP.exists() or STAMP.read_bytes() != pyproject:
        print("installing clustermodel and its dependencies into .venv …", flush=True)
        subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
        STAMP.write_bytes(pyproject)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"report", "test", "setup"}:
        print(__doc__)
        return 2
    setup()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.setdefault("HYPOTHESIS_PROFILE", "ci")  # the documented CI profile (tests/conftest.py, docs/testing.md)
    if argv[0] == "setup":
        return 0
    if argv[0] == "test":
        return subprocess.run([str(PY), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env).returncode
    return subprocess.run([str(PY), str(ROOT / "analyses" / "run_all.py"), *argv[1:]], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
