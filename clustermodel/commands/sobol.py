"""`clustermodel sobol`: Sobol' sensitivity of scores, ranks and conclusions to the expert weights."""

from __future__ import annotations

import sys

from clustermodel._io import ensure_dir, staged_outputs, write_json, write_netcdf, write_text
from clustermodel.commands._common import (
    add_data_arguments,
    add_output_arguments,
    add_spec_arguments,
    add_threshold_arguments,
    check_comparable,
    emit_json,
    load_from_args,
    seed_option,
    spec_from_args,
    thresholds_from_args,
)
from clustermodel.sensitivity import TRIGGER_OPTIONS, WEIGHT_DISTRIBUTIONS, weight_sensitivity
from clustermodel.spec import IndexSpec, weight_robustness_spec

__all__ = ["NAME", "HELP", "add_arguments", "run", "write_outputs"]

NAME = "sobol"
HELP = "Sobol' sensitivity of every cluster's index, rank and scenario and of the scenario counts to the expert weights (and method choices)"


def add_arguments(parser):
    add_data_arguments(parser)
    add_spec_arguments(parser)
    g = parser.add_argument_group("Sobol' design")
    g.add_argument("--n", type=int, default=4096, help="base sample size N, a power of two; the model runs N*(D+2) times (default 4096)")
    g.add_argument("--seed", type=seed_option, default=None, help="random seed (non-negative integer); the same seed gives identical indices")
    g.add_argument("--distribution", choices=list(WEIGHT_DISTRIBUTIONS), default="dirichlet", help="how weights are drawn: 'dirichlet' = Dirichlet(concentration * published weights) via normalised Gamma draws; 'uniform' = published weights times 1 +/- delta, renormalised (default dirichlet)")
    g.add_argument("--concentration", type=float, default=50.0, help="Dirichlet concentration kappa; larger = weights closer to Table 4 (default 50)")
    g.add_argument("--delta", type=float, default=0.25, help="largest relative perturbation of the uniform distribution, in (0, 1) (default 0.25)")
    g.add_argument("--triggers", nargs="*", choices=[f for f in IndexSpec.fields() if f != "min_coverage"], default=[], metavar="FIELD", help=f"spec fields added as discrete trigger factors (default options: {'; '.join(f'{k}: {list(v)}' for k, v in TRIGGER_OPTIONS.items())})")
    g.add_argument("--n-resamples", type=int, default=100, help="bootstrap resamples for the intervals (default 100)")
    g.add_argument("--confidence-level", type=float, default=0.95, help="confidence level of the intervals (default 0.95)")
    g.add_argument("--convergence", type=int, default=1, metavar="L", help="also estimate at N/2^(L-1), ..., N/2, N to show convergence (default 1: N only)")
    add_threshold_arguments(g)
    add_output_arguments(parser)


def write_outputs(result, out, *, stem: str = "sobol", figures: bool = True, extra: dict | None = None, nouns=None) -> list:
    """Write ``<stem>.json``, ``<stem>.md``, ``<stem>.nc`` and (optionally) the figures into ``out``.

    Figures: ``<stem>_bars.png`` (per-cluster S1/ST with intervals), ``<stem>_heatmap.png`` (ST,
    clusters x factors) and, with a convergence study, ``<stem>_convergence.png``; ``nouns`` (a
    :class:`~clustermodel.reporting.nouns.Nouns`) words their axes and titles.
    """
    out = ensure_dir(out)
    written = [
        write_json(out / f"{stem}.json", {**result.to_dict(), **(extra or {})}),
        write_text(out / f"{stem}.md", result.summary()),
        write_netcdf(out / f"{stem}.nc", result.to_dataset()),
    ]
    if figures:
        from clustermodel.plots import sobol_bars, sobol_convergence, sobol_heatmap

        written.append(sobol_bars(result, out / f"{stem}_bars.png", nouns=nouns))
        written.append(sobol_heatmap(result, out / f"{stem}_heatmap.png", nouns=nouns))
        if result.indices.convergence is not None:
            written.append(sobol_convergence(result, out / f"{stem}_convergence.png", nouns=nouns))
    return written


def _check_design_size(args, study) -> None:
    """Refuse an --n whose model runs cannot fit in memory, before any computing (--n 2**40 would
    otherwise run until the operating system kills it)."""
    from clustermodel._validation import check_fits_memory

    if not isinstance(args.n, int) or args.n < 2:
        return  # weight_sensitivity names the problem
    units = study.indicators.sizes["cluster"]
    d = study.indicators.sizes["indicator"] + len(args.triggers)  # factors: the weights and the triggers
    outputs = 3 * units + 7  # index, rank and scenario flag per cluster; counts and summaries

    def need(n):  # the sample (D columns) and the outputs of every model run, as float64, twice over
        return 2 * 8 * n * (d + 2) * (d + outputs)

    check_fits_memory(
        need(args.n),
        "--n",
        args.n,
        detail=f"N*(D+2) = {args.n * (d + 2):.3g} model runs with D = {d} factors, {outputs} outputs each",
        largest=_largest_fitting(need),
    )


def _largest_fitting(need):
    from clustermodel._validation import physical_memory

    memory = physical_memory()
    if memory is None or need(2) > memory:
        return None
    n = 2
    while need(2 * n) <= memory:
        n *= 2
    return n


def _weight_spec(args, study):
    """The study's spec with the command-line options; Equation 1 (weights cancel) becomes the quadratic form
    unless --aggregation equation1 was asked for explicitly."""
    spec = spec_from_args(args, study)
    return spec if args.aggregation is not None else weight_robustness_spec(spec)


def run(args) -> int:
    study = load_from_args(args)
    check_comparable(study, "Sobol' indices of ranks, scenarios and the cluster-region correlation")
    _check_design_size(args, study)
    result = weight_sensitivity(
        study,
        _weight_spec(args, study),
        n=args.n,
        rng=args.seed,
        distribution=args.distribution,
        concentration=args.concentration,
        delta=args.delta,
        triggers=args.triggers,
        thresholds=thresholds_from_args(args),
        n_resamples=args.n_resamples,
        confidence_level=args.confidence_level,
        convergence_levels=args.convergence,
        progress=sys.stderr.isatty() and not args.json,
    )
    if args.out is not None:
        from clustermodel.reporting.nouns import PAPER_NOUNS

        with staged_outputs(args.out) as out:  # every file or none
            write_outputs(result, out, nouns=getattr(study, "nouns", None) or PAPER_NOUNS)
    if args.json:
        emit_json(result.to_dict())
    elif args.out is None:
        print(result.summary(), end="")
    return 0
