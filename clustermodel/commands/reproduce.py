"""`clustermodel reproduce`: Tables 5-6 row by row and the Figure 13 scenarios."""

from __future__ import annotations

from clustermodel._io import staged_outputs, write_json, write_text
from clustermodel.commands._common import (
    add_data_arguments,
    add_output_arguments,
    add_threshold_arguments,
    emit_json,
    load_from_args,
    thresholds_from_args,
)

NAME = "reproduce"
HELP = "compare the recomputed index with the published Tables 5 and 6 and classify the four scenarios"


def add_arguments(parser):
    add_data_arguments(parser)
    parser.add_argument("--reference", choices=["sample", "group"], default=None, help="force a reference set (default: the one that reproduces most rows)")
    add_threshold_arguments(parser)
    add_output_arguments(parser)


def run(args) -> int:
    from clustermodel.reproduction import reproduce

    study = load_from_args(args)
    spec = None if args.reference is None else study.spec.replace(reference=args.reference)
    thr = thresholds_from_args(args)
    result = reproduce(study, spec, thresholds=thr)
    if args.out is not None:
        from clustermodel.plots import figure13

        with staged_outputs(args.out) as out:  # all three files or none
            write_text(out / "reproduction.md", result.summary())
            write_json(out / "reproduction.json", result.to_dict())
            figure13(result, out / "figure13.png", nouns=study.nouns)
    if args.json:
        emit_json(result.to_dict())
    elif args.out is None:
        print(result.summary(), end="")
    return 0
