"""Shared paths of the analysis scripts: the config and the output folder."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / "analyses" / "config.toml"
REPORTS = ROOT / "reports"
DATA = ROOT / "data"
