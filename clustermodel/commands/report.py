"""`clustermodel report`: every analysis on the paper's data or your own, one report."""

from __future__ import annotations

from pathlib import Path

from clustermodel.commands._common import (
    add_quiet_argument,
    _SPEC_OPTIONS,
    add_data_arguments,
    add_spec_arguments,
    add_threshold_arguments,
    check_comparable,
    input_file,
    load_from_args,
    output_folder,
)
from clustermodel.config import STAGES, load_config, paper_config_path, validate_config

NAME = "report"
HELP = "run every analysis on a study and write report.md, report.html, manifest.json and all tables and figures"


def add_arguments(parser):
    add_data_arguments(parser)
    add_spec_arguments(parser)
    add_threshold_arguments(parser, default=None)
    parser.add_argument(
        "--config",
        type=input_file,
        default=None,
        help="TOML analysis config: seeds, sample sizes, [spec], [study] nouns (docs/config.md). Default: the paper's "
        "analyses/config.toml for the paper's data, the built-in defaults for your own",
    )
    parser.add_argument(
        "--preset",
        choices=["none", "audit"],
        default=None,
        help="'audit': add the JRC's standard uncertainty set to the Sobol' stage (imputation, normalisation, aggregation, "
        "leaving one pillar out, weights ±25%%) with every unit's median rank and 5-95%% interval (config [sobol] preset)",
    )
    parser.add_argument("--only", nargs="+", choices=list(STAGES), default=None, metavar="STAGE", help=f"run only these stages, among {', '.join(STAGES)}")
    parser.add_argument("--out", type=output_folder, default=Path("reports"), help="output folder (default: reports)")
    add_quiet_argument(parser)


def _config(args, own_data: bool) -> tuple[dict, object]:
    if args.config is not None:
        return load_config(args.config), args.config
    if not own_data:
        path = paper_config_path()
        return load_config(path), path
    return validate_config({}), None


def run(args) -> int:
    from clustermodel.report import run_study

    study = load_from_args(args)
    config, source = _config(args, own_data=not getattr(study, "paper", False))
    for k in _SPEC_OPTIONS:  # command-line spec options override the config's [spec]
        if getattr(args, k, None) is not None:
            config["spec"][k] = getattr(args, k)
    for axis in ("cluster", "region"):
        value = getattr(args, f"{axis}_threshold", None)
        if value is not None:
            config["scenarios"][f"{axis}_threshold"] = value
    if args.preset is not None:
        config["sobol"]["preset"] = args.preset
    check_comparable(study, "a report (ranks, Sobol' indices, correlations)")
    if args.quiet:  # no stage lines and no progress bars (the bootstrap's; the Sobol' stage shows none); the closing line stays
        config["bootstrap"]["progress"] = False
    summary = run_study(study, config, args.out, stages=args.only, config_source=source, progress=None if args.quiet else print)
    skipped = f"; skipped: {', '.join(summary.skipped)}" if summary.skipped else ""
    print(f"[clustermodel] {len(summary.done)} analyses written to {args.out}/ (report.md, report.html, manifest.json){skipped}")
    return 0
