"""The package version, in one place below every module that records it (results, manifests, ``--version``).

It must equal ``[project] version`` in pyproject.toml (tests/test_packaging.py checks that they agree).
"""

__version__ = "0.1.0"
