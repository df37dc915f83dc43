"""`clustermodel reproduce`: the published tables row by row and the scenarios (the paper's Tables 5-6, Figure 13).

Argparse only: the report's reproduction stage (:func:`clustermodel.workflow.run_reproduction`) runs, so the files
equal the report's for the same settings.
"""

from __future__ import annotations

from clustermodel.commands._common import (
    add_config_argument,
    add_data_arguments,
    add_output_arguments,
    add_threshold_arguments,
    run_stage_command,
)

__all__ = ["NAME", "HELP", "add_arguments", "run", "OPTIONS"]

NAME = "reproduce"
HELP = "compare the recomputed index with the published Tables 5 and 6 and classify the four scenarios"

#: config key of [reproduction] -> argparse attribute.
OPTIONS = {"reference": "reference"}


def add_arguments(parser):
    add_data_arguments(parser)
    add_config_argument(parser)
    parser.add_argument("--reference", choices=["auto", "sample", "group"], default=None, help="force a reference set (default auto: the one that reproduces most rows)")
    add_threshold_arguments(parser)
    add_output_arguments(parser)


def run(args) -> int:
    return run_stage_command(args, "reproduction", OPTIONS)
