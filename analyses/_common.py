"""Shared plumbing for the analysis scripts: the config and the output folder."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / "analyses" / "config.toml"
REPORTS = ROOT / "reports"
DATA = ROOT / "data"


def load_config() -> dict:
    with open(CONFIG_PATH, "rb") as fh:
        return tomllib.load(fh)


def run_script(main) -> None:
    """Run one analysis script's ``main(config, reports)`` from the command line."""
    from clustermodel.cli import run_guarded

    sys.exit(run_guarded(lambda: main(load_config(), REPORTS) and 0))
