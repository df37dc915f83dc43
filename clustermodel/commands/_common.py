"""Arguments shared by the subcommands: the data files and the spec."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from clustermodel.data import load_paper, load_study
from clustermodel.spec import MISSING_POLICIES, NEGATIVE_POLICIES, REFERENCE_SETS, WEIGHT_PLACEMENTS, IndexSpec

__all__ = ["add_data_arguments", "add_spec_arguments", "load_from_args", "spec_from_args", "emit_json", "add_output_arguments", "add_threshold_arguments", "thresholds_from_args"]


def add_data_arguments(parser):
    g = parser.add_argument_group("data (default: the paper's Tables 4-6 in data/)")
    g.add_argument("--clusters", type=Path, help="unit table (CSV or Excel): id column, one column per indicator")
    g.add_argument("--weights", type=Path, help="weights table with columns indicator,weight")
    g.add_argument("--regions", type=Path, help="region table: a 'region' column and the regional indicators")
    g.add_argument("--region-weights", type=Path, help="weights of the regional indicators (default: equal)")
    g.add_argument("--id-column", default="no", help="identifier column of the unit table (default: no)")
    g.add_argument("--group-column", default="group", help="industry-group column (default: group)")
    g.add_argument("--region-column", default="region", help="region column of the unit table (default: region)")


def add_spec_arguments(parser, *, default: IndexSpec | None = None):
    d = default or IndexSpec()
    g = parser.add_argument_group("index spec (every choice the paper leaves implicit)")
    g.add_argument("--reference", choices=list(REFERENCE_SETS), default=d.reference, help=f"normalisation reference set (default: {d.reference})")
    g.add_argument("--placement", choices=list(WEIGHT_PLACEMENTS), default=d.weights, help=f"where the weights act (default: {d.weights}; 'equation1' = as printed, weights cancel)")
    g.add_argument("--missing", choices=list(MISSING_POLICIES), default=d.missing, help=f"missing values (default: {d.missing})")
    g.add_argument("--negative", choices=list(NEGATIVE_POLICIES), default=d.negative, help=f"negative values (default: {d.negative})")


def add_threshold_arguments(parser):
    """--cluster-threshold / --region-threshold: 'high' from this fraction of the attainable maximum."""
    for axis in ("cluster", "region"):
        parser.add_argument(
            f"--{axis}-threshold",
            type=float,
            default=0.5,
            help=f"{axis} 'high' threshold as a fraction of the attainable maximum (default 0.5; see docs/method.md)",
        )


def thresholds_from_args(args):
    from clustermodel.spec import ScenarioThresholds

    return ScenarioThresholds(cluster=args.cluster_threshold, region=args.region_threshold)


def add_output_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the machine-readable result on standard output")
    parser.add_argument("--out", type=Path, default=None, help="folder to write tables, figures and NetCDF into (e.g. reports)")


def spec_from_args(args) -> IndexSpec:
    return IndexSpec(reference=args.reference, weights=args.placement, missing=args.missing, negative=args.negative)


def load_from_args(args):
    if args.clusters is None and args.weights is None and args.regions is None:
        return load_paper()
    if args.clusters is None or args.weights is None:
        from clustermodel._errors import ClusterModelError

        raise ClusterModelError("give both --clusters and --weights for your own data (or neither for the paper's)")
    return load_study(
        args.clusters,
        args.weights,
        regions=args.regions,
        region_weights=args.region_weights,
        id_column=args.id_column,
        group_column=args.group_column,
        region_column=args.region_column,
    )


def emit_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
