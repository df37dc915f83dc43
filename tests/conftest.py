import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def paper():
    from clustermodel.data import load_paper

    return load_paper()


@pytest.fixture
def write_csv(tmp_path):
    """Write a CSV from a string and return its path."""

    def _write(name, text):
        p = tmp_path / name
        p.write_text(text.lstrip("\n"), encoding="utf-8")
        return p

    return _write
