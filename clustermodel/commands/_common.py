"""Arguments shared by the subcommands: the data files and the spec."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clustermodel.data import load_paper, load_spec, load_study
from clustermodel.spec import (
    AGGREGATIONS,
    MISSING_POLICIES,
    NEGATIVE_POLICIES,
    NORMALISATIONS,
    REFERENCE_SETS,
    TREATMENTS,
    IndexSpec,
)

__all__ = ["add_data_arguments", "add_spec_arguments", "load_from_args", "spec_from_args", "emit_json", "add_output_arguments", "add_threshold_arguments", "thresholds_from_args"]


def add_data_arguments(parser):
    g = parser.add_argument_group("data (default: the paper's Tables 4-6, structure and spec in data/)")
    g.add_argument("--clusters", type=Path, help="unit table (CSV or Excel): id column, one column per indicator (and denominator)")
    g.add_argument("--weights", type=Path, help="flat weights table with columns indicator,weight (a one-level structure)")
    g.add_argument("--structure", type=Path, help="structure file: node,parent,weight,direction,denominator,unit,target (docs/structure.md)")
    g.add_argument("--spec", type=Path, help="TOML file with the study's construction choices (its top level or a [spec] table)")
    g.add_argument("--regions", type=Path, help="table of higher-level units: a 'region' column and their indicators")
    g.add_argument("--region-weights", type=Path, help="weights of the regional indicators (default: equal)")
    g.add_argument("--id-column", default="no", help="identifier column of the unit table (default: no)")
    g.add_argument("--group-column", default=None, help="group column of the unit table (default: 'group' when present)")
    g.add_argument("--region-column", default=None, help="higher-level-unit column of the unit table (default: 'region' when present)")


def _bool(text):
    t = str(text).strip().lower()
    if t in ("true", "yes", "1", "on"):
        return True
    if t in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _aggregation(text):
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    bad = [p for p in parts if p not in AGGREGATIONS]
    if not parts or bad:
        raise argparse.ArgumentTypeError(
            f"invalid aggregation {text!r}: give one of {', '.join(AGGREGATIONS)}, or a comma-separated list with one per "
            "level from the indicators' parents up to the index"
        )
    return parts[0] if len(parts) == 1 else tuple(parts)


def add_spec_arguments(parser):
    """One option per IndexSpec field; each defaults to the study's spec (the paper's for the paper's data)."""
    g = parser.add_argument_group("index spec (default: the study's spec; docs/method.md)")
    g.add_argument("--denominate", type=_bool, default=None, metavar="true|false", help="divide indicators by their structure denominator")
    g.add_argument("--min-coverage", type=float, default=None, help="exclude units observed on less than this share of indicators (0-1)")
    g.add_argument("--missing", choices=list(MISSING_POLICIES), default=None, help="missing values: " + ", ".join(MISSING_POLICIES))
    g.add_argument("--treatment", choices=list(TREATMENTS), default=None, help="outlier treatment: " + ", ".join(TREATMENTS))
    g.add_argument("--winsor-max", type=int, default=None, help="most points winsorised per indicator before the log transform")
    g.add_argument("--normalisation", choices=list(NORMALISATIONS), default=None, help="normaliser: " + ", ".join(NORMALISATIONS))
    g.add_argument("--reference", choices=list(REFERENCE_SETS), default=None, help="normalisation reference set: sample or group")
    g.add_argument("--negative", choices=list(NEGATIVE_POLICIES), default=None, help="negative values: " + ", ".join(NEGATIVE_POLICIES))
    g.add_argument("--aggregation", type=_aggregation, default=None, metavar="NAME[,NAME…]",
                   help="aggregator for every level, or one per level bottom-up: " + ", ".join(AGGREGATIONS))


_SPEC_OPTIONS = ("denominate", "min_coverage", "missing", "treatment", "winsor_max", "normalisation", "reference", "negative", "aggregation")


def spec_from_args(args, study) -> IndexSpec:
    """The study's spec with every spec option given on the command line applied."""
    changes = {k: getattr(args, k) for k in _SPEC_OPTIONS if getattr(args, k, None) is not None}
    return IndexSpec.from_dict({**study.spec.to_dict(), **changes}, where="command-line spec options")


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


def load_from_args(args):
    own = any(getattr(args, k, None) is not None for k in ("clusters", "weights", "structure", "regions"))
    if not own:
        study = load_paper()
        if getattr(args, "spec", None) is not None:
            study = study.replace(spec=load_spec(args.spec))
        return study
    from clustermodel._errors import ClusterModelError

    if args.clusters is None or (args.weights is None) == (args.structure is None):
        raise ClusterModelError(
            "for your own data give --clusters and exactly one of --weights (flat) or --structure (a hierarchy); "
            "give none of them for the paper's data"
        )
    kw = {}
    if args.group_column is not None:
        kw["group_column"] = args.group_column
    if args.region_column is not None:
        kw["region_column"] = args.region_column
    return load_study(
        args.clusters,
        args.weights,
        structure=args.structure,
        spec=args.spec,
        regions=args.regions,
        region_weights=args.region_weights,
        id_column=args.id_column,
        **kw,
    )


def emit_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
