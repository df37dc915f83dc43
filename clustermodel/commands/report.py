"""`clustermodel report`: every analysis on the paper's data or your own, one report."""

from __future__ import annotations

import sys
from pathlib import Path

from clustermodel.commands._common import (
    add_config_argument,
    add_data_arguments,
    add_quiet_argument,
    add_spec_arguments,
    add_threshold_arguments,
    check_comparable,
    config_from_args,
    load_from_args,
    output_folder,
)
from clustermodel.config import STAGES

NAME = "report"
HELP = "run every analysis on a study and write report.md, report.html, manifest.json and all tables and figures"


def add_arguments(parser):
    add_data_arguments(parser)
    add_spec_arguments(parser)
    add_threshold_arguments(parser)
    add_config_argument(parser)
    parser.add_argument(
        "--preset",
        choices=["none", "audit"],
        default=None,
        help="'audit': add the JRC's standard uncertainty set to the Sobol' stage (imputation, normalisation, aggregation, "
        "leaving one pillar out, weights ±25%%) with every unit's median rank and 5-95%% interval (config [sobol] preset)",
    )
    parser.add_argument("--only", nargs="+", choices=list(STAGES), default=None, metavar="STAGE", help=f"run only these stages, among {', '.join(STAGES)}")
    parser.add_argument("--out", type=output_folder, default=Path("reports"), help="output folder (default: reports)")
    parser.add_argument("--excel", action="store_true", help="also write report.xlsx: every table of the run as a sheet (needs openpyxl: the excel extra)")
    add_quiet_argument(parser)


def run(args) -> int:
    from clustermodel.report import run_study

    study = load_from_args(args)
    config, source = config_from_args(args, study)  # command-line spec options and thresholds override the config
    if args.preset is not None:
        config["sobol"]["preset"] = args.preset
    check_comparable(study, "a report (ranks, Sobol' indices, correlations)")
    say = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))  # stage lines are not data
    summary = run_study(study, config, args.out, stages=args.only, config_source=source, progress=say, excel=args.excel)
    skipped = f"; skipped: {', '.join(summary.skipped)}" if summary.skipped else ""
    print(f"[clustermodel] {len(summary.done)} analyses written to {args.out}/ (report.md, report.html, manifest.json){skipped}")
    return 0
