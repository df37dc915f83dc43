"""Tables 5 and 6 row by row, the scenario thresholds and the Figure 13 replica.

Writes reports/reproduction.{md,json,nc} and reports/figure13.png.
"""

from clustermodel.data import load_paper
from clustermodel.workflow import run_reproduction


def main(config: dict, reports) -> dict:
    return run_reproduction(load_paper(), config, reports)


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
