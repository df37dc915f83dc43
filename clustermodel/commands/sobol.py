"""`clustermodel sobol`: Sobol' sensitivity of scores, ranks and conclusions to the weights (and method choices).

Argparse only: the options fill the config's ``[sobol]`` table and the report's Sobol' stage
(:func:`clustermodel.workflow.run_sobol`) runs, so the files equal the report's for the same settings.
"""

from __future__ import annotations

from clustermodel.commands._common import (
    add_config_argument,
    add_data_arguments,
    add_output_arguments,
    add_spec_arguments,
    add_threshold_arguments,
    memory_option,
    run_stage_command,
    seed_option,
)
from clustermodel.config import DEFAULTS
from clustermodel.spec import IndexSpec

#: Every default of this command is the [sobol] table's default (clustermodel.config.SCHEMA), one for all entry points.
D = DEFAULTS["sobol"]

__all__ = ["NAME", "HELP", "add_arguments", "run", "OPTIONS"]

NAME = "sobol"
HELP = "Sobol' sensitivity of every unit's index, rank and scenario and of the scenario counts to the weights (and method choices)"

#: config key of [sobol] -> argparse attribute.
OPTIONS = {
    "n": "n",
    "replicates": "replicates",
    "method": "method",
    "seed": "seed",
    "check_seed": "check_seed",
    "distribution": "distribution",
    "concentration": "concentration",
    "delta": "delta",
    "triggers": "triggers",
    "preset": "preset",
    "n_resamples": "n_resamples",
    "confidence_level": "confidence_level",
    "convergence_levels": "convergence",
    "n_equation1": "n_equation1",
    "memory_limit": "memory_limit",
    "chunk_size": "chunk_size",
    "scheduler": "scheduler",
}


def add_arguments(parser):
    from clustermodel.sensitivity import TRIGGER_OPTIONS, WEIGHT_DISTRIBUTIONS  # only for this command's options
    from clustermodel.sobol import DEFAULT_REPLICATES, METHODS

    add_data_arguments(parser)
    add_spec_arguments(parser)
    add_config_argument(parser)
    g = parser.add_argument_group("Sobol' design (an option not given takes the config's value; defaults: config [sobol])")
    g.add_argument("--n", type=int, default=None, help=f"base sample size N of each design, a power of two; the model runs replicates*N*(D+2) times (default {D['n']})")
    g.add_argument("--replicates", type=int, default=None, help=f"independent scrambled Sobol' designs whose spread gives the intervals (method 'replicate', default {DEFAULT_REPLICATES})")
    g.add_argument("--method", choices=list(METHODS), default=None, help="intervals from the spread over independent designs ('replicate', calibrated; the default) or SALib's bootstrap over one design's rows ('bootstrap', too wide for smooth outputs)")
    g.add_argument("--seed", type=seed_option, default=None, help=f"random seed (non-negative integer; default {D['seed']}); the same seed gives identical indices")
    g.add_argument("--check-seed", type=seed_option, default=None, help="seed of the second run compared with the first's intervals (default: --seed + 1)")
    g.add_argument("--distribution", choices=list(WEIGHT_DISTRIBUTIONS), default=None, help=f"how weights are drawn: 'dirichlet' = Dirichlet(concentration * published weights) via normalised Gamma draws; 'uniform' = published weights times 1 +/- delta, renormalised (default {D['distribution']})")
    g.add_argument("--concentration", type=float, default=None, help=f"Dirichlet concentration kappa; larger = weights closer to the nominal ones (default {D['concentration']:g})")
    g.add_argument("--delta", type=float, default=None, help=f"largest relative perturbation of the uniform distribution, in (0, 1) (default {D['delta']:g})")
    g.add_argument("--triggers", nargs="*", choices=[f for f in IndexSpec.fields() if f != "min_coverage"] + ["exclude"], default=None, metavar="FIELD", help=f"spec fields added as discrete trigger factors in a second run, sobol_triggers.* (default none; options: {'; '.join(f'{k}: {list(v)}' for k, v in TRIGGER_OPTIONS.items())}; exclude: none or each child of the index left out)")
    g.add_argument("--preset", choices=["none", "audit"], default=None, help="'audit': also run the JRC's standard uncertainty set (imputation, normalisation, aggregation, one child of the index left out, weights uniform ±25%%) with every unit's median rank and 5-95%% interval, sobol_audit.*")
    g.add_argument("--n-resamples", type=int, default=None, help=f"bootstrap resamples (method 'bootstrap' only, default {D['n_resamples']})")
    g.add_argument("--confidence-level", type=float, default=None, help=f"confidence level of the intervals (default {D['confidence_level']:g})")
    g.add_argument("--convergence", type=int, default=None, metavar="L", help=f"also estimate at N/2^(L-1), ..., N/2, N to show convergence (default {D['convergence_levels']}: N only)")
    g.add_argument("--n-equation1", type=int, default=None, help=f"N of the run under Equation 1 as printed, which shows that its weights cancel (default {D['n_equation1']})")
    add_threshold_arguments(g)
    e = parser.add_argument_group("memory and scheduling")
    e.add_argument("--memory-limit", type=memory_option, default=None, metavar="SIZE", help="memory budget of each run, e.g. 4GiB (default: a quarter of the memory available, at least 512MiB); the chunk size is chosen to fit")
    e.add_argument("--chunk-size", type=int, default=None, metavar="ROWS", help="design rows per chunk of model runs (default: the largest that fits the memory budget)")
    e.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run the chunks on a dask.distributed scheduler, e.g. tcp://10.0.0.1:8786 (default: local threads)")
    add_output_arguments(parser)


def _one_design_for_the_bootstrap(table, args):
    """--method bootstrap resamples one design: a config's replicates (the paper's 10) belong to the other method."""
    if args.method == "bootstrap" and args.replicates is None:
        table["replicates"] = None


def run(args) -> int:
    return run_stage_command(
        args, "sobol", OPTIONS, comparable="Sobol' indices of ranks, scenarios and the unit-region correlation", adjust=_one_design_for_the_bootstrap
    )
