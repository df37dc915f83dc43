"""Sobol' sensitivity of the scores, ranks and conclusions to the expert weights (and the method choices).

Writes into reports/:

- sobol.json, sobol.md, sobol.nc, sobol_bars.png, sobol_heatmap.png: the four Table 4 weights drawn from
  Dirichlet(concentration x published weights) under the [sobol] placement, with a convergence study;
- sobol_triggers.*: the same plus the spec's discrete choices as trigger factors;
- sobol_equation1.json/.md/.nc: Equation 1 as printed, where the weights cancel (the degenerate finding);
- sobol_seed_check.json: a second seed's estimates against the first run's intervals.
"""

from clustermodel.data import load_paper
from clustermodel.workflow import run_sobol


def main(config: dict, reports) -> dict:
    return run_sobol(load_paper(), config, reports)


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
