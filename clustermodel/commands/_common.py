"""Arguments shared by the subcommands: the data files and the spec."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from clustermodel._errors import ClusterModelError, InputError
from clustermodel._io import json_text
from clustermodel._validation import SEED_MAX, check_seed
from clustermodel.spec import (
    AGGREGATIONS,
    MISSING_POLICIES,
    NEGATIVE_POLICIES,
    NORMALISATIONS,
    REFERENCE_SETS,
    IMPUTE_REFERENCE_SETS,
    TRANSFORMS,
    TREATMENTS,
    IndexSpec,
)

__all__ = [
    "add_data_arguments",
    "add_spec_arguments",
    "load_from_args",
    "spec_from_args",
    "emit_json",
    "json_text",
    "add_output_arguments",
    "add_quiet_argument",
    "quiet",
    "add_threshold_arguments",
    "seed_option",
    "memory_option",
    "threshold_option",
    "output_folder",
    "input_file",
    "check_comparable",
    "add_config_argument",
    "base_config",
    "config_from_args",
    "run_stage_command",
]

#: Column options of the unit table: option -> (argparse attribute, default column, coordinate it becomes).
COLUMN_OPTIONS = {
    "--id-column": ("id_column", None, None),
    "--name-column": ("name_column", "name", "name"),
    "--group-column": ("group_column", "group", "group"),
    "--region-column": ("region_column", "region", "region"),
}


def seed_option(text: str) -> int:
    """argparse type of ``--seed``: an integer from 0 to 2**64 - 1, checked before any computing."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None  # argparse's own wording
    try:
        return check_seed(value)
    except ClusterModelError:
        raise argparse.ArgumentTypeError(
            f"the seed must be non-negative and at most {SEED_MAX} (2**64 - 1), got {value}"
        ) from None


def output_folder(text: str) -> Path:
    """argparse type of ``--out``: a folder path, never the empty string (which would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; name an output folder, e.g. --out reports")
    return Path(text)


def input_file(text: str) -> Path:
    """argparse type of an input file option: a path, never the empty string."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give the path of a file")
    return Path(text)


def add_data_arguments(parser):
    g = parser.add_argument_group("data (default: the paper's Tables 4-6, structure and spec in data/)")
    # --units is the name for any study; --clusters (the paper's noun) stays as its alias
    g.add_argument("--units", "--clusters", dest="clusters", type=input_file, help="unit table (CSV or Excel): id column, one column per indicator (and denominator); --clusters is the same option")
    g.add_argument("--weights", type=input_file, help="flat weights table with columns indicator,weight (a one-level structure)")
    g.add_argument("--structure", type=input_file, help="structure file: node,parent,weight,direction,denominator,unit,target (docs/structure.md)")
    g.add_argument("--spec", type=input_file, help="TOML file with the study's construction choices (its top level or a [spec] table)")
    g.add_argument("--regions", type=input_file, help="table of higher-level units: a 'region' column and their indicators")
    g.add_argument("--region-weights", type=input_file, help="weights of the regional indicators (default: equal)")
    # Column options default to None so that a column named on the command line must exist (the defaults are
    # used only if the table has them).
    g.add_argument("--id-column", default=None, help="identifier column of the unit table (default: no if the table has one, else uCode for a COINr table, else the first column)")
    g.add_argument("--name-column", default=None, help="column of the units' display names, shown beside the ids in tables and figures (default: name, if the table has one)")
    g.add_argument("--group-column", default=None, help="group column of the unit table (default: group, if the table has one)")
    g.add_argument("--region-column", default=None, help="higher-level-unit column of the unit table (default: region, if the table has one)")


def _bool(text):
    t = str(text).strip().lower()
    if t in ("true", "yes", "1", "on"):
        return True
    if t in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _transform(text):
    from clustermodel.spec import parse_transform

    try:
        parse_transform(str(text).strip())
    except ClusterModelError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("`transform` ", "")) from None
    return str(text).strip()


def _aggregation(text):
    from clustermodel.spec import parse_aggregation

    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    bad = []
    for p in parts:
        try:
            parse_aggregation(p)
        except ClusterModelError:
            bad.append(p)
    if not parts or bad:
        raise argparse.ArgumentTypeError(
            f"invalid aggregation {text!r}: give one of {', '.join(AGGREGATIONS)} (genmean with its order, e.g. "
            "genmean:0.5), or a comma-separated list with one per level from the indicators' parents up to the index"
        )
    return parts[0] if len(parts) == 1 else tuple(parts)


def add_spec_arguments(parser):
    """One option per IndexSpec field; each defaults to the study's spec (the paper's for the paper's data)."""
    g = parser.add_argument_group("index spec (default: the study's spec; docs/method.md)")
    g.add_argument("--denominate", type=_bool, default=None, metavar="true|false", help="divide indicators by their structure denominator")
    g.add_argument("--min-coverage", type=float, default=None, help="exclude units observed on less than this share of indicators (0-1)")
    g.add_argument("--missing", choices=list(MISSING_POLICIES), default=None, help="missing values: " + ", ".join(MISSING_POLICIES))
    g.add_argument("--treatment", choices=list(TREATMENTS), default=None, help="outlier treatment: " + ", ".join(TREATMENTS))
    g.add_argument("--winsor-max", type=int, default=None, help="most points winsorised per indicator before --transform is used instead")
    g.add_argument("--transform", type=_transform, default=None, metavar="NAME",
                   help="what treats an indicator winsorising does not fix: " + ", ".join(TRANSFORMS) + " (boxcox:p, e.g. boxcox:0.5)")
    g.add_argument("--normalisation", choices=list(NORMALISATIONS), default=None, help="normaliser: " + ", ".join(NORMALISATIONS))
    g.add_argument("--reference", choices=list(REFERENCE_SETS), default=None, help="normalisation reference set: sample or group")
    g.add_argument("--reference-unit", default=None, metavar="ID", help="the unit --normalisation dist2ref measures every unit against")
    g.add_argument("--impute-reference", choices=list(IMPUTE_REFERENCE_SETS), default=None, help="set whose mean or median fills a missing cell: same (the --reference set), sample or group")
    g.add_argument("--negative", choices=list(NEGATIVE_POLICIES), default=None, help="negative values: " + ", ".join(NEGATIVE_POLICIES))
    g.add_argument("--aggregation", type=_aggregation, default=None, metavar="NAME[,NAME…]",
                   help="aggregator for every level, or one per level bottom-up: " + ", ".join(AGGREGATIONS))


_SPEC_OPTIONS = ("denominate", "min_coverage", "missing", "treatment", "winsor_max", "transform", "normalisation", "reference", "reference_unit", "impute_reference", "negative", "aggregation")


def spec_from_args(args, study) -> IndexSpec:
    """The study's spec with every spec option given on the command line applied."""
    changes = {k: getattr(args, k) for k in _SPEC_OPTIONS if getattr(args, k, None) is not None}
    return IndexSpec.from_dict({**study.spec.to_dict(), **changes}, where="command-line spec options")


def threshold_option(text: str) -> float:
    """argparse type of ``--cluster-threshold`` / ``--region-threshold``: a number in (0, 1], checked when the
    command line is read, so the message names the option (never a config file the value was merged into)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not (0 < value <= 1):  # also refuses nan
        raise argparse.ArgumentTypeError(f"a fraction of the attainable maximum in (0, 1] is needed, got {text!r}")
    return value


def memory_option(text: str) -> str:
    """argparse type of ``--memory-limit``: a size such as 2GiB or a number of bytes, checked when read."""
    from clustermodel._dask import memory_limit_iv

    try:
        memory_limit_iv(text, 0)
    except ClusterModelError:
        raise argparse.ArgumentTypeError(f"a size such as 512MiB or 2GiB, or a positive number of bytes, is needed; got {text!r}") from None
    return text


def say_memory_budget(args) -> None:
    """Say on standard error which memory budget a streamed analysis gets when --memory-limit was not given (the
    default follows the machine, so a run elsewhere may chunk differently); like the progress bars, only on a
    terminal and never under --json."""
    if getattr(args, "memory_limit", None) is None and not quiet(args) and sys.stderr.isatty():
        from dask.utils import format_bytes

        from clustermodel._dask import MEMORY_SHARE, default_memory_limit

        print(f"clustermodel: memory budget {format_bytes(default_memory_limit())} ({MEMORY_SHARE:.0%} of the memory available; "
              "--memory-limit to set it)", file=sys.stderr)


def add_threshold_arguments(parser):
    """--cluster-threshold / --region-threshold: 'high' from this fraction of the attainable maximum (not given: the
    config's [scenarios], whose default is 0.5)."""
    from clustermodel.config import DEFAULTS

    for axis in ("cluster", "region"):
        default = DEFAULTS["scenarios"][f"{axis}_threshold"]
        parser.add_argument(
            f"--{axis}-threshold",
            type=threshold_option,
            default=None,
            help=f"{axis} 'high' threshold as a fraction of the attainable maximum (default: the config's, {default:g}; see docs/method.md)",
        )


def add_quiet_argument(parser):
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bars or stage lines on standard error (errors and warnings still show)")


def quiet(args) -> bool:
    """Whether a command keeps standard error free of progress: --quiet, or --json (its standard output is data)."""
    return bool(getattr(args, "quiet", False) or getattr(args, "json", False))


def add_output_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the machine-readable result on standard output")
    add_quiet_argument(parser)
    parser.add_argument("--out", type=output_folder, default=None, help="folder to write tables, figures and NetCDF into (e.g. reports)")


def load_from_args(args):
    """The study the data options name (the paper's without them).

    A column option given on the command line must name a column of the unit table: ``--group-column
    nosuch`` is an error, not a silent fall back to normalising over the whole sample.
    """
    from clustermodel.data import load_paper, load_spec, load_study

    given = {opt: getattr(args, attr, None) for opt, (attr, _, _) in COLUMN_OPTIONS.items()}
    given = {opt: v for opt, v in given.items() if v is not None}
    own = any(getattr(args, k, None) is not None for k in ("clusters", "weights", "structure", "regions"))
    if not own:
        if given:
            opt = next(iter(given))
            raise ClusterModelError(
                f"{opt} names a column of your own unit table; give --units and --weights or --structure as well "
                "(the paper's tables have fixed columns)"
            )
        study = load_paper()
        if getattr(args, "spec", None) is not None:
            study = study.replace(spec=load_spec(args.spec))
        return study
    if args.clusters is None or (args.weights is None) == (args.structure is None):
        raise ClusterModelError(
            "for your own data give --units and exactly one of --weights (flat) or --structure (a hierarchy); "
            "give none of them for the paper's data"
        )
    column = {attr: getattr(args, attr) for attr, _, _ in COLUMN_OPTIONS.values() if getattr(args, attr, None) is not None}
    study = load_study(
        args.clusters,
        args.weights,
        structure=args.structure,
        spec=args.spec,
        regions=args.regions,
        region_weights=args.region_weights,
        **column,
    )
    ds = study.clusters
    for opt, value in given.items():
        coord = COLUMN_OPTIONS[opt][2]
        if coord is not None and coord not in ds.coords:
            header = ds.attrs.get("columns")
            has = f"; the header has {', '.join(repr(c) for c in header)}" if header else ""
            raise InputError(
                f"{opt} {value!r} names no column of the table{has}: name an existing column, or leave out {opt}",
                file=args.clusters,
                line=ds.attrs.get("header_line", 1),
            )
    return study


def check_comparable(study, analysis: str) -> None:
    """Refuse, before any computing, a study whose index cannot differ between its units.

    A single unit, or indicators that each take one value for every unit, give every unit the same
    index under any weights: ranks, Sobol' indices and correlations are then undefined (Sobol' would
    otherwise stop on a NaN correlation after its model runs).
    """
    ind = study.indicators
    dim = next(d for d in ind.dims if d != "indicator")
    x = ind.transpose(dim, "indicator").values
    source = ind.attrs.get("source") or study.clusters.attrs.get("source", "the unit table")
    if x.shape[0] < 2:
        raise ClusterModelError(
            f"{source} holds a single {dim}: with nothing to compare it with, {analysis} cannot be computed; "
            f"add the other {dim}s"
        )
    if not np.isnan(x).any() and np.all(x == x[0]):
        raise ClusterModelError(
            f"every indicator of {source} takes the same value for every {dim}: every {dim} gets the same index "
            f"under any weights, so {analysis} cannot be computed; check the table"
        )


def emit_json(obj) -> None:
    """Print ``obj`` as the files are written (:func:`clustermodel._io.json_text`): what ``--json`` prints equals what
    ``--out`` writes."""
    sys.stdout.write(json_text(obj))


def add_config_argument(parser):
    parser.add_argument(
        "--config",
        type=input_file,
        default=None,
        help="TOML analysis config: seeds, sample sizes, [spec], [study] nouns (docs/config.md). Default: the paper's "
        "analyses/config.toml for the paper's data, the built-in defaults for your own; an option given here overrides it",
    )


def base_config(args, study) -> tuple[dict, object]:
    """The config a command starts from, and where it came from: ``--config``; else the paper's own
    (analyses/config.toml) for the paper's data; else the built-in defaults."""
    from clustermodel.config import load_config, paper_config_path, validate_config

    if getattr(args, "config", None) is not None:
        return load_config(args.config), args.config
    if getattr(study, "paper", False):
        path = paper_config_path()
        return load_config(path), path
    return validate_config({}), None


def config_from_args(args, study, table: str | None = None, options: dict | None = None) -> tuple[dict, object]:
    """:func:`base_config` with every option given on the command line applied: the spec options to ``[spec]``,
    the thresholds to ``[scenarios]``, and ``options`` (config key -> argparse attribute) to ``[table]``.

    An option not given is None and leaves the config's value (one default per setting: the config schema's)."""
    config, source = base_config(args, study)
    for k in _SPEC_OPTIONS:
        if getattr(args, k, None) is not None:
            config["spec"][k] = getattr(args, k)
    for axis in ("cluster", "region"):
        value = getattr(args, f"{axis}_threshold", None)
        if value is not None:
            config["scenarios"][f"{axis}_threshold"] = value
    from clustermodel.config import check_setting

    for key, attr in (options or {}).items():
        value = getattr(args, attr, None)
        if value is not None:  # checked here, so that a bad value is named as the option, never as the config file
            value = str(value) if isinstance(value, Path) else value
            config[table][key] = check_setting(table, key, value, f"--{attr.replace('_', '-')}")
    if quiet(args):  # no progress bar in any stage that draws one
        for settings in config.values():
            if isinstance(settings, dict) and "progress" in settings:
                settings["progress"] = False
    return config, source


def run_stage_command(args, stage: str, options: dict, *, comparable: str | None = None, adjust=None) -> int:
    """What ``clustermodel sobol`` / ``bootstrap`` / ``correlate`` / ``reproduce`` do: the report's runner of that one
    stage (:func:`clustermodel.report.run_analysis`) on the config the options give; with ``--out`` its files are
    published there (the report's files, byte for byte), and its Markdown (or with ``--json`` its JSON) is printed
    when no ``--out`` is given (``--json`` prints always). ``adjust(table, args)`` may change the stage's table after
    the options are applied."""
    from clustermodel.report import run_analysis

    study = load_from_args(args)
    if comparable is not None:
        check_comparable(study, comparable)
    config, source = config_from_args(args, study, stage, options)
    if adjust is not None:  # a command's own rule between two of its options
        adjust(config[stage], args)
    if "memory_limit" in config[stage] and config[stage]["memory_limit"] is None:
        say_memory_budget(args)
    say = None if quiet(args) else (lambda line: print(line, file=sys.stderr))
    result = run_analysis(study, config, stage, args.out, progress=say, config_source=source)
    if args.json:
        sys.stdout.write(result.json)
    elif args.out is None:
        print(result.markdown, end="")
    return 0
