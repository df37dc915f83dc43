"""Nominal index, rank and scenario of every cluster; whether the weights matter at all.

Writes reports/scores.{md,json,csv} and reports/scores_scenarios.png.
"""

from clustermodel.data import load_paper
from clustermodel.workflow import run_scores


def main(config: dict, reports) -> dict:
    return run_scores(load_paper(), config, reports)


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
