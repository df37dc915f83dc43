"""`clustermodel bootstrap`: how uncertain are scores, ranks and scenarios over expert panels (and over units)?

Numbers from :mod:`clustermodel.bootstrap`, words from :mod:`clustermodel.reporting.bootstrap`.
"""

from __future__ import annotations


from clustermodel.commands._common import (
    add_config_argument,
    add_data_arguments,
    add_output_arguments,
    add_spec_arguments,
    add_threshold_arguments,
    memory_option,
    run_stage_command,
    seed_option,
)
from clustermodel.config import DEFAULTS

#: Every default of this command is the [bootstrap] table's default (clustermodel.config.SCHEMA).
D = DEFAULTS["bootstrap"]

__all__ = ["NAME", "HELP", "add_arguments", "run", "OPTIONS"]

NAME = "bootstrap"
HELP = "bootstrap the expert panel behind the weights (and the units): score, rank and scenario uncertainty"

#: config key of [bootstrap] -> argparse attribute.
OPTIONS = {
    "mode": "mode",
    "experts": "experts",
    "panel_size": "panel_size",
    "concentration": "concentration",
    "concentration_sensitivity": "concentration_sensitivity",
    "n_resamples": "n_resamples",
    "nodes": "nodes",
    "seed": "seed",
    "confidence_level": "confidence_level",
    "data_bootstrap": "data_bootstrap",
    "memory_limit": "memory_limit",
    "chunk_size": "chunk_size",
    "scheduler": "scheduler",
    "quantiles": "quantiles",
    "keep_draws": "keep_draws",
}


def add_arguments(parser):
    from clustermodel.bootstrap import DEFAULT_PANEL_SIZE, MAXIMA, MODES, QUANTILES  # only for this command's options

    add_data_arguments(parser)
    add_spec_arguments(parser)
    add_config_argument(parser)
    g = parser.add_argument_group("weight bootstrap (expert panels; the data stay fixed; an option not given takes the config's value)")
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
        default=None,
        help=f"Dirichlet concentration kappa of one expert around the means (default {D['concentration']:g}: "
        "an expert's weight has sd about 0.1)",
    )
    g.add_argument(
        "--concentration-sensitivity",
        type=float,
        nargs="*",
        default=None,
        metavar="KAPPA",
        help="also bootstrap at each of these concentrations and tabulate how rank and scenario uncertainty follow kappa "
        "(parametric panels; default: none)",
    )
    g.add_argument("--n-resamples", type=int, default=None, help=f"number of panels / resamples (default {D['n_resamples']})")
    g.add_argument(
        "--nodes",
        nargs="*",
        default=None,
        metavar="NODE",
        help="aggregates besides the index whose scores and ranks are summarised (default: every pillar and sub-index; "
        "give the option with no name for the index only)",
    )
    g.add_argument("--seed", type=seed_option, default=None, help=f"random seed (default {D['seed']}, the report's: the same seed gives the same numbers)")
    g.add_argument("--confidence-level", type=float, default=None, help=f"of the percentile intervals (default {D['confidence_level']:g})")
    add_threshold_arguments(g)
    d = parser.add_argument_group("data bootstrap (units resampled; weights fixed) — reported separately")
    d.add_argument(
        "--data-bootstrap",
        nargs="?",
        const="both",
        choices=["both", *MAXIMA, "none"],
        default=None,
        help="resample the units with replacement (higher-level units intact), redoing the sample-dependent construction "
        "steps (e.g. group maxima) in every resample ('resample'), keeping the full sample's ('fixed'), or both, each "
        f"reported separately (default {D['data_bootstrap']}; 'none': no data bootstrap)",
    )
    d.add_argument("--maxima", choices=list(MAXIMA), default=None, help="the same as --data-bootstrap RULE (one rule only)")
    s = parser.add_argument_group("scale: chunks of resamples scheduled by dask, summaries streamed")
    s.add_argument("--memory-limit", type=memory_option, default=None, help="memory budget, e.g. 2GiB (default: a quarter of the memory available, at least 512MiB); the need is estimated first")
    s.add_argument("--chunk-size", type=int, default=None, help="resamples per chunk (default: the largest within --memory-limit)")
    s.add_argument("--scheduler", default=None, help="address of a dask.distributed scheduler, e.g. tcp://10.0.0.1:8786 (default: local threads)")
    s.add_argument("--quantiles", choices=list(QUANTILES), default=None, help="percentiles of scores: exact (values kept), histogram, or auto (exact while they fit)")
    s.add_argument("--keep-draws", action="store_const", const=True, default=None, help="write every draw to bootstrap.nc and bootstrap_data.nc (large for big studies; default: summaries)")
    add_output_arguments(parser)


def _data_bootstrap(args):
    """--maxima (kept for the command lines written before --data-bootstrap took a value) names the one rule."""
    if args.maxima is not None:
        if args.data_bootstrap not in (None, "both", args.maxima):
            from clustermodel._errors import ClusterModelError

            raise ClusterModelError(f"--maxima {args.maxima} contradicts --data-bootstrap {args.data_bootstrap}; give one of them")
        args.data_bootstrap = args.maxima
    return args


def run(args) -> int:
    return run_stage_command(_data_bootstrap(args), "bootstrap", OPTIONS, comparable="a bootstrap of ranks and scenarios")
