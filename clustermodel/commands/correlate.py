"""`clustermodel correlate`: tests of the cluster–region relationship and of the industry effect."""

from __future__ import annotations

from clustermodel._io import ensure_dir, staged_outputs, write_json, write_netcdf, write_text
from clustermodel.commands._common import (
    add_data_arguments,
    add_output_arguments,
    add_spec_arguments,
    add_threshold_arguments,
    emit_json,
    load_from_args,
    seed_option,
    spec_from_args,
    thresholds_from_args,
)
from clustermodel.config import DEFAULTS

NAME = "correlate"
HELP = (
    "test the correlation of the cluster and regional indices (region as the unit of inference), "
    "the scenario table and the industry effect"
)


#: Every default of this command is the [correlation] table's default (clustermodel.config.SCHEMA).
D = DEFAULTS["correlation"]


def add_arguments(parser):
    add_data_arguments(parser)
    add_spec_arguments(parser)
    parser.add_argument(
        "--source",
        choices=["both", "computed", "published"],
        default=D["source"],
        help="values to test: the recomputed index, the published Tables 5-6, or both (default: both)",
    )
    parser.add_argument("--seed", type=seed_option, default=D["seed"], help=f"seed of the permutations and bootstrap resamples (default {D['seed']})")
    parser.add_argument("--n-resamples", type=int, default=D["n_resamples"], help=f"permutations and bootstrap resamples per test (default {D['n_resamples']})")
    parser.add_argument("--confidence-level", type=float, default=D["confidence_level"], help=f"level of the BCa intervals (default {D['confidence_level']:g})")
    add_threshold_arguments(parser)
    add_output_arguments(parser)


def write_reports(result, out, *, stem: str = "correlation", extra: dict | None = None, nouns=None):
    """Write <stem>.md, <stem>.json (the result, plus ``extra`` keys), <stem>.nc and <stem>.png into ``out``
    (the figure worded in ``nouns``)."""
    from clustermodel.plots import correlation_figure

    out = ensure_dir(out)
    write_text(out / f"{stem}.md", result.summary())
    write_json(out / f"{stem}.json", {**result.to_dict(), **(extra or {})})
    write_netcdf(out / f"{stem}.nc", result.to_dataset())
    correlation_figure(result, out / f"{stem}.png", nouns=nouns)


def run(args) -> int:
    from clustermodel.relationship import relationship_analysis

    if args.seed is not None and args.seed < 0:
        from clustermodel._errors import ClusterModelError

        raise ClusterModelError(f"`--seed` must be non-negative, got {args.seed}")
    study = load_from_args(args)
    result = relationship_analysis(
        study,
        spec_from_args(args, study),
        source=args.source,
        thresholds=thresholds_from_args(args),
        n_resamples=args.n_resamples,
        confidence_level=args.confidence_level,
        rng=args.seed,
    )
    if args.out is not None:
        with staged_outputs(args.out) as out:  # every file or none
            write_reports(result, out, nouns=study.nouns)
    if args.json:
        emit_json(result.to_records())
    elif args.out is None:
        print(result.summary(), end="")
    return 0
