"""`clustermodel bootstrap`: how uncertain are scores, ranks and scenarios over expert panels (and over units)?

Numbers from :mod:`clustermodel.bootstrap`, words from :mod:`clustermodel.reporting.bootstrap`.
"""

from __future__ import annotations

import argparse

from clustermodel._io import staged_outputs, write_json, write_netcdf, write_text
from clustermodel.commands._common import (
    quiet,
    add_data_arguments,
    add_output_arguments,
    add_spec_arguments,
    add_threshold_arguments,
    emit_json,
    load_from_args,
    memory_option,
    say_memory_budget,
    seed_option,
    spec_from_args,
    thresholds_from_args,
)
from clustermodel.config import DEFAULTS
from clustermodel.spec import weight_robustness_spec

#: Every default of this command is the [bootstrap] table's default (clustermodel.config.SCHEMA).
D = DEFAULTS["bootstrap"]

__all__ = ["NAME", "HELP", "add_arguments", "run"]

NAME = "bootstrap"
HELP = "bootstrap the expert panel behind the weights (and optionally the units): score, rank and scenario uncertainty"

#: This command defaults to weights that act ('quadratic'): under Equation 1 as printed they cancel.


def add_arguments(parser):
    from clustermodel.bootstrap import DEFAULT_PANEL_SIZE, MAXIMA, MODES, QUANTILES  # only for this command's options

    add_data_arguments(parser)
    add_spec_arguments(parser)
    g = parser.add_argument_group("weight bootstrap (expert panels; the data stay fixed)")
    g.add_argument(
        "--mode",
        choices=list(MODES),
        default=None,
        help="'parametric': Dirichlet draws centred on the published weights (the paper's case: only the mean is "
        "published); 'nonparametric': resample the experts of --experts (default: nonparametric if --experts is "
        "given, else parametric)",
    )
    g.add_argument("--experts", default=None, help="expert table CSV: expert,<one weight column per indicator>; each row sums to one")
    g.add_argument(
        "--panel-size",
        type=int,
        default=None,
        help=f"experts per panel (default: {DEFAULT_PANEL_SIZE} for parametric, the number of experts for nonparametric)",
    )
    g.add_argument(
        "--concentration",
        type=float,
        default=D["concentration"],
        help=f"Dirichlet concentration kappa of one expert around the means (default {D['concentration']:g}: "
        "an expert's weight has sd about 0.1)",
    )
    g.add_argument("--n-resamples", type=int, default=D["n_resamples"], help=f"number of panels / resamples (default {D['n_resamples']})")
    g.add_argument(
        "--nodes",
        nargs="*",
        default=None,
        metavar="NODE",
        help="aggregates besides the index whose scores and ranks are summarised (default: every pillar and sub-index; "
        "give the option with no name for the index only)",
    )
    g.add_argument("--seed", type=seed_option, default=D["seed"], help=f"random seed (default {D['seed']}, the report's: the same seed gives the same numbers)")
    g.add_argument("--confidence-level", type=float, default=D["confidence_level"], help=f"of the percentile intervals (default {D['confidence_level']:g})")
    add_threshold_arguments(g)
    d = parser.add_argument_group("data bootstrap (units resampled; weights fixed) — reported separately")
    d.add_argument("--data-bootstrap", action="store_true", help="also resample the units with replacement (higher-level units intact)")
    d.add_argument(
        "--maxima",
        choices=list(MAXIMA),
        default="resample",
        help="data bootstrap: redo the sample-dependent construction steps (e.g. group maxima) in every resample "
        "(default) or keep the full sample's",
    )
    s = parser.add_argument_group("scale: chunks of resamples scheduled by dask, summaries streamed")
    s.add_argument("--memory-limit", type=memory_option, default=None, help="memory budget, e.g. 2GiB (default: a quarter of the memory available, at least 512MiB); the need is estimated first")
    s.add_argument("--chunk-size", type=int, default=None, help="resamples per chunk (default: the largest within --memory-limit)")
    s.add_argument("--scheduler", default=None, help="address of a dask.distributed scheduler, e.g. tcp://10.0.0.1:8786 (default: local threads)")
    s.add_argument("--quantiles", choices=list(QUANTILES), default=D["quantiles"], help="percentiles of scores: exact (values kept), histogram, or auto (exact while they fit)")
    s.add_argument("--keep-draws", action="store_true", help="write every draw to bootstrap.nc (large for big studies; default: summaries)")
    add_output_arguments(parser)


def _weight_spec(args, study):
    """The study's spec with the command-line options; Equation 1 (weights cancel) becomes the quadratic form
    unless --aggregation equation1 was asked for explicitly."""
    spec = spec_from_args(args, study)
    return spec if args.aggregation is not None else weight_robustness_spec(spec)


def run(args: argparse.Namespace) -> int:
    from clustermodel.bootstrap import cluster_bootstrap, weight_bootstrap

    import numpy as np

    from clustermodel._validation import as_rng
    from clustermodel.reporting.bootstrap import figure_titles, findings, markdown, reference_counts_for

    study = load_from_args(args)
    spec = _weight_spec(args, study)
    thr = thresholds_from_args(args)
    nouns = study.nouns
    reference = reference_counts_for(study) if study.has_regions else None
    label = "the paper's counts" if reference is not None else None
    as_rng(args.seed, name="--seed")  # validated here, so a bad seed is named as the option
    weight_rng, data_rng = np.random.SeedSequence(args.seed).spawn(2)  # each result records (seed, spawn key)
    scale = dict(
        memory_limit=args.memory_limit,
        chunk_size=args.chunk_size,
        client=args.scheduler,
        quantiles=args.quantiles,
        keep_draws=args.keep_draws,
        progress=not quiet(args),
        reference_counts=reference,
        n_resamples=args.n_resamples,
        thresholds=thr,
        confidence_level=args.confidence_level,
        nodes=args.nodes,
    )
    say_memory_budget(args)
    wb = weight_bootstrap(
        study,
        spec,
        mode=args.mode,
        experts=args.experts,
        panel_size=args.panel_size,
        concentration=args.concentration,
        rng=weight_rng,
        **scale,
    )
    cb = None
    if args.data_bootstrap:
        cb = cluster_bootstrap(study, spec, maxima=args.maxima, rng=data_rng, **scale)
    bundle = {"weight": wb, "data": {} if cb is None else {args.maxima: cb}}
    summary = markdown(wb, nouns=nouns, reference_label=label) + ("" if cb is None else "\n" + markdown(cb, nouns=nouns, reference_label=label))
    payload = {
        "weight_bootstrap": wb.to_dict(),
        "data_bootstrap": None if cb is None else cb.to_dict(),
        "findings": findings(bundle, nouns=nouns, reference_label=label),
    }
    if args.out is not None:
        from clustermodel.plots import rank_uncertainty, scenario_stability

        titles = figure_titles(wb, nouns)
        with staged_outputs(args.out) as out:  # every file or none
            write_text(out / "bootstrap.md", summary)
            write_json(out / "bootstrap.json", payload)
            write_netcdf(out / "bootstrap.nc", wb.to_dataset(), compress=True)
            if cb is not None:
                write_netcdf(out / "bootstrap_data.nc", cb.to_dataset(), compress=True)
            rank_uncertainty(wb, out / "bootstrap_ranks.png", title=titles["ranks"], nouns=study.nouns)
            if wb.has_regions:
                scenario_stability(wb, out / "bootstrap_scenarios.png", title=titles["scenarios"], nouns=study.nouns)
    if args.json:
        emit_json(payload)
    elif args.out is None:
        print(summary, end="")
    return 0

