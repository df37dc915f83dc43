"""Build step that puts the paper's data and the default config into the wheel (everything else is in pyproject.toml).

The files stay once in git, where a reader looks for them (``data/``, ``analyses/config.toml``); ``build_py``
copies them into ``clustermodel/_data/`` of the wheel under the same relative paths, and the package reads them
through importlib.resources (``clustermodel/_resources.py``, docs/packaging.md). An editable install copies
nothing: it reads the checkout's own files.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

#: Repository files shipped in the wheel, as globs relative to the repository root.
SHIPPED = [
    "data/*.csv",
    "data/*.toml",
    "data/*.md",
    "data/examples/*.csv",
    "data/examples/*.md",
    "data/examples/hierarchy/*.csv",
    "data/examples/hierarchy/*.toml",
    "analyses/config.toml",
]


def shipped_files():
    """The repository files to ship, as paths relative to the repository root (sorted, so builds are stable)."""
    return sorted({p.relative_to(ROOT).as_posix() for pattern in SHIPPED for p in ROOT.glob(pattern) if p.is_file()})


class BuildWithData(build_py):
    """``build_py`` that also copies the shipped repository files into ``clustermodel/_data/``."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's data/ directly
        for rel in shipped_files():
            target = Path(self.build_lib) / "clustermodel" / "_data" / rel
            self.mkpath(str(target.parent))
            self.copy_file(str(ROOT / rel), str(target))

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [str(Path(self.build_lib) / "clustermodel" / "_data" / rel) for rel in shipped_files()]


setup(cmdclass={"build_py": BuildWithData})
