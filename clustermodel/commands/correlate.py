"""`clustermodel correlate`: tests of the unit–region relationship and of the group effect.

Argparse only: the options fill the config's ``[correlation]`` table and the report's correlation stage
(:func:`clustermodel.workflow.run_correlation`) runs, so the files equal the report's for the same settings.
"""

from __future__ import annotations

from clustermodel.commands._common import (
    add_config_argument,
    add_data_arguments,
    add_output_arguments,
    add_spec_arguments,
    add_threshold_arguments,
    run_stage_command,
    seed_option,
)
from clustermodel.config import DEFAULTS

__all__ = ["NAME", "HELP", "add_arguments", "run", "OPTIONS"]

NAME = "correlate"
HELP = (
    "test the correlation of the unit and higher-level indices (the higher-level unit as the unit of inference), "
    "the scenario table and the group effect"
)

#: Every default of this command is the [correlation] table's default (clustermodel.config.SCHEMA).
D = DEFAULTS["correlation"]

#: config key of [correlation] -> argparse attribute.
OPTIONS = {
    "source": "source",
    "seed": "seed",
    "n_resamples": "n_resamples",
    "confidence_level": "confidence_level",
    "equivalence_bound": "equivalence_bound",
    "keep_draws": "keep_draws",
}


def add_arguments(parser):
    add_data_arguments(parser)
    add_spec_arguments(parser)
    add_config_argument(parser)
    g = parser.add_argument_group("tests (an option not given takes the config's value; defaults: config [correlation])")
    g.add_argument(
        "--source",
        choices=["both", "computed", "published"],
        default=None,
        help=f"values to test: the recomputed index, the published values (a published_index column in both tables), or "
        f"both (default {D['source']}; computed only where nothing is published)",
    )
    g.add_argument("--seed", type=seed_option, default=None, help=f"seed of the permutations and bootstrap resamples (default {D['seed']})")
    g.add_argument("--n-resamples", type=int, default=None, help=f"permutations and bootstrap resamples per test (default {D['n_resamples']})")
    g.add_argument("--confidence-level", type=float, default=None, help=f"level of the BCa intervals (default {D['confidence_level']:g})")
    g.add_argument("--equivalence-bound", type=float, default=None, help=f"|r| below which the correlation counts as negligible in the equivalence test (default {D['equivalence_bound']:g})")
    g.add_argument("--keep-draws", action="store_const", const=True, default=None, help="keep every resample's statistic in correlation.nc")
    add_threshold_arguments(g)
    add_output_arguments(parser)


def run(args) -> int:
    return run_stage_command(args, "correlation", OPTIONS)
