"""Nominal index, rank and scenario of every cluster; whether the weights matter at all.

Run alone (python3 analyses/scores.py), this stage writes a report of its own into reports/single/scores/;
`python3 tasks.py report` (analyses/run_all.py) runs every stage into reports/ as one transaction.
"""

import sys

from _common import CONFIG_PATH, REPORTS, ROOT


def main() -> int:
    from clustermodel.cli import run_guarded
    from clustermodel.config import load_config
    from clustermodel.data import load_paper
    from clustermodel.report import run_study

    out = REPORTS / "single" / "scores"
    return run_guarded(lambda: run_study(load_paper(), load_config(CONFIG_PATH), out, stages=["scores"], config_source=CONFIG_PATH, root=ROOT) and 0)


if __name__ == "__main__":
    sys.exit(main())
