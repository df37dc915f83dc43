"""`clustermodel sobol`: Sobol' sensitivity of scores, ranks and conclusions to the expert weights."""

from __future__ import annotations

from clustermodel._io import staged_outputs
from clustermodel.commands._common import (
    quiet,
    add_data_arguments,
    add_output_arguments,
    add_spec_arguments,
    add_threshold_arguments,
    check_comparable,
    emit_json,
    load_from_args,
    memory_option,
    say_memory_budget,
    seed_option,
    spec_from_args,
    thresholds_from_args,
)
from clustermodel.config import DEFAULTS
from clustermodel.spec import IndexSpec, weight_robustness_spec

#: Every default of this command is the [sobol] table's default (clustermodel.config.SCHEMA), one for all entry points.
D = DEFAULTS["sobol"]

__all__ = ["NAME", "HELP", "add_arguments", "run"]

NAME = "sobol"
HELP = "Sobol' sensitivity of every cluster's index, rank and scenario and of the scenario counts to the expert weights (and method choices)"


def add_arguments(parser):
    from clustermodel.sensitivity import TRIGGER_OPTIONS, WEIGHT_DISTRIBUTIONS  # only for this command's options
    from clustermodel.sobol import DEFAULT_REPLICATES, METHODS

    add_data_arguments(parser)
    add_spec_arguments(parser)
    g = parser.add_argument_group("Sobol' design")
    g.add_argument("--n", type=int, default=D["n"], help=f"base sample size N of each design, a power of two; the model runs replicates*N*(D+2) times (default {D['n']})")
    g.add_argument("--replicates", type=int, default=D["replicates"], help=f"independent scrambled Sobol' designs whose spread gives the intervals (method 'replicate', default {DEFAULT_REPLICATES})")
    g.add_argument("--method", choices=list(METHODS), default=D["method"], help="intervals from the spread over independent designs ('replicate', calibrated) or SALib's bootstrap over one design's rows ('bootstrap', too wide for smooth outputs)")
    g.add_argument("--seed", type=seed_option, default=D["seed"], help=f"random seed (non-negative integer; default {D['seed']}, the report's); the same seed gives identical indices")
    g.add_argument("--distribution", choices=list(WEIGHT_DISTRIBUTIONS), default=D["distribution"], help="how weights are drawn: 'dirichlet' = Dirichlet(concentration * published weights) via normalised Gamma draws; 'uniform' = published weights times 1 +/- delta, renormalised (default dirichlet)")
    g.add_argument("--concentration", type=float, default=D["concentration"], help=f"Dirichlet concentration kappa; larger = weights closer to the nominal ones (default {D['concentration']:g})")
    g.add_argument("--delta", type=float, default=D["delta"], help=f"largest relative perturbation of the uniform distribution, in (0, 1) (default {D['delta']:g})")
    g.add_argument("--triggers", nargs="*", choices=[f for f in IndexSpec.fields() if f != "min_coverage"] + ["exclude"], default=[], metavar="FIELD", help=f"spec fields added as discrete trigger factors (default options: {'; '.join(f'{k}: {list(v)}' for k, v in TRIGGER_OPTIONS.items())}; exclude: none or each child of the index left out)")
    g.add_argument("--preset", choices=["none", "audit"], default=D["preset"], help="'audit': the JRC's standard uncertainty set as the factors (imputation, normalisation, aggregation, one child of the index left out, weights uniform ±25%%); replaces --triggers, --distribution and --delta")
    g.add_argument("--n-resamples", type=int, default=D["n_resamples"], help=f"bootstrap resamples (method 'bootstrap' only, default {D['n_resamples']})")
    g.add_argument("--confidence-level", type=float, default=D["confidence_level"], help=f"confidence level of the intervals (default {D['confidence_level']:g})")
    g.add_argument("--convergence", type=int, default=D["convergence_levels"], metavar="L", help="also estimate at N/2^(L-1), ..., N/2, N to show convergence (default 1: N only)")
    add_threshold_arguments(g)
    e = parser.add_argument_group("memory and scheduling")
    e.add_argument("--memory-limit", type=memory_option, default=None, metavar="SIZE", help="memory budget of the analysis, e.g. 4GiB (default: a quarter of the memory available, at least 512MiB); the chunk size is chosen to fit")
    e.add_argument("--chunk-size", type=int, default=None, metavar="ROWS", help="design rows per chunk of model runs (default: the largest that fits the memory budget)")
    e.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run the chunks on a dask.distributed scheduler, e.g. tcp://10.0.0.1:8786 (default: local threads)")
    add_output_arguments(parser)


def _weight_spec(args, study):
    """The study's spec with the command-line options; Equation 1 (weights cancel) becomes the quadratic form
    unless --aggregation equation1 was asked for explicitly."""
    spec = spec_from_args(args, study)
    return spec if args.aggregation is not None else weight_robustness_spec(spec)


def run(args) -> int:
    from clustermodel.reporting.sobol import write_outputs
    from clustermodel.sensitivity import weight_sensitivity

    study = load_from_args(args)
    check_comparable(study, "Sobol' indices of ranks, scenarios and the cluster-region correlation")
    spec, triggers, distribution, delta = _weight_spec(args, study), args.triggers, args.distribution, args.delta
    if args.preset == "audit":
        from clustermodel.uncertainty import audit_preset

        preset = audit_preset(study, spec_from_args(args, study))
        spec, triggers, distribution, delta = preset.spec, preset.triggers, preset.distribution, preset.delta
    say_memory_budget(args)
    result = weight_sensitivity(
        study,
        spec,
        n=args.n,
        replicates=args.replicates,
        method=args.method,
        rng=args.seed,
        distribution=distribution,
        concentration=args.concentration,
        delta=delta,
        triggers=triggers,
        thresholds=thresholds_from_args(args),
        n_resamples=args.n_resamples,
        confidence_level=args.confidence_level,
        convergence_levels=args.convergence,
        chunk_size=args.chunk_size,
        memory_limit=args.memory_limit,
        client=args.scheduler,
        progress=not quiet(args),
    )
    if args.out is not None:
        with staged_outputs(args.out) as out:  # every file or none
            write_outputs(result, out, nouns=study.nouns)
    if args.json:
        emit_json(result.to_dict())
    elif args.out is None:
        print(result.summary(), end="")
    return 0
