"""Tests of the cluster-region relationship and of the industry effect.

Writes reports/correlation.{md,json,nc,png}.
"""

from clustermodel.data import load_paper
from clustermodel.workflow import run_correlation


def main(config: dict, reports) -> dict:
    return run_correlation(load_paper(), config, reports)


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
