#!/usr/bin/env python3
"""Benchmark: clustermodel's streamed Sobol' analysis against SALib, fair and row-wise.

On the paper's data (aggregation 'quadratic', Dirichlet weights, 82 outputs, 4 factors), one identical
Saltelli design of N = 2**14 rows (98 304 model runs) and 100 bootstrap resamples:

- **fair SALib workflow**: ``SALib.sample.sobol.sample`` (the same generator, so the same design),
  the vectorised model in one call, ``SALib.analyze.sobol.analyze(calc_second_order=False)`` once per
  output with the same resample generator;
- **row-wise SALib usage**: the same, but the model applied row by row (one call per design row);
- **clustermodel**: ``sobol_indices(model, problem, method='bootstrap', ...)``, which draws the
  design, runs the model chunk by chunk and reduces all outputs at once (the whole pipeline).

Also times the default replicate method on the same budget (8 designs of N / 8 rows).

Checks that the point estimates agree with SALib to 1e-10 and SALib's half-widths to 1e-8, then
prints the timings and both speed ratios. Exit status 1 if the estimates disagree. Usage::

    python benchmarks/bench_sobol.py [--log2n 14] [--n-resamples 100] [--row-wise-rows R] [--json FILE]

``--row-wise-rows R`` times the row-by-row model on its first R rows only and extrapolates (the
full row-wise run takes about a minute).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from clustermodel import IndexSpec, PAPER_SPEC  # noqa: E402
from clustermodel.data import load_paper  # noqa: E402
from clustermodel.sensitivity import weight_model  # noqa: E402
from clustermodel.sobol import sobol_indices  # noqa: E402

SEED = 20261129


def _salib_analyze_all(problem, Y, n_resamples, resample_gen, show, processes=None):
    """SALib's analyze once per output; with ``processes``, SALib's own multi-process mode (``parallel=True``)."""
    from SALib.analyze import sobol as salib_sobol

    extra = {} if processes is None else {"parallel": True, "n_processors": processes}

    ref = []
    n_warnings = 0
    for k in tqdm(range(Y.shape[1]), desc="SALib analyze per output", disable=not show):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ref.append(
                salib_sobol.analyze(
                    problem, Y[:, k], calc_second_order=False, num_resamples=n_resamples, seed=copy.deepcopy(resample_gen), **extra
                )
            )
        n_warnings += len(caught)
    return ref, n_warnings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log2n", type=int, default=14, help="N = 2**log2n base rows (default 14)")
    parser.add_argument("--n-resamples", type=int, default=100, help="bootstrap resamples (default 100)")
    parser.add_argument("--row-wise-rows", type=int, default=0, help="time the row-by-row model on this many rows and extrapolate (0 = all rows)")
    parser.add_argument("--json", type=Path, default=None, help="also write the timings to this JSON file")
    parser.add_argument("--repeats", type=int, default=3, help="time clustermodel and SALib's analyze this many times each (min and median quoted)")
    args = parser.parse_args(argv)
    show = sys.stderr.isatty()
    from SALib.sample import sobol as salib_sample

    study = load_paper()
    model, problem = weight_model(study, PAPER_SPEC.replace(aggregation="quadratic"))
    names = model.output_meta["name"]
    n = 2**args.log2n
    g_design, g_resample = np.random.default_rng(SEED).spawn(2)  # the streams sobol_indices(rng=SEED) uses
    model(np.full((4, problem["num_vars"]), 0.5))  # warm the model's caches for every contender
    # and each contender's own imports and first-call set-up, on a tiny design, so that neither pays for them
    # in its timing (the first call of either spends ~0.5 s importing scipy.stats.qmc, dask, ...)
    sobol_indices(model, problem, n=8, method="bootstrap", n_resamples=4, rng=SEED, progress=False)
    _salib_analyze_all(problem, model(salib_sample.sample(problem, 8, calc_second_order=False, seed=1))[:, :2], 4, 1, False)

    # --- clustermodel: the whole pipeline (design, model in chunks, all outputs at once) ---------------
    ours_times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ours = sobol_indices(model, problem, n=n, method="bootstrap", n_resamples=args.n_resamples, rng=SEED,
                             output_names=names, progress=show)
        ours_times.append(time.perf_counter() - t0)
    ours_s = float(np.min(ours_times))
    t0 = time.perf_counter()
    rep = sobol_indices(model, problem, n=n // 8, replicates=8, rng=SEED, output_names=names, progress=show)
    rep_s = time.perf_counter() - t0
    print(f"design: N = {n}, D = {problem['num_vars']}, {ours.model_runs} model runs, {len(names)} outputs, "
          f"{args.n_resamples} bootstrap resamples (identical design and resamples for every contender)", flush=True)

    # --- fair SALib workflow: SALib's sampler, the vectorised model, analyze once per output ----------
    t0 = time.perf_counter()
    X = salib_sample.sample(problem, n, calc_second_order=False, seed=copy.deepcopy(g_design))
    t1 = time.perf_counter()
    Y = model(X)
    t2 = time.perf_counter()
    analyze_times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        ref, n_warnings = _salib_analyze_all(problem, Y, args.n_resamples, g_resample, show)
        analyze_times.append(time.perf_counter() - t)
    salib_sample_s, model_vec_s, salib_analyze_s = t1 - t0, t2 - t1, float(np.min(analyze_times))
    fair_s = salib_sample_s + model_vec_s + salib_analyze_s
    # the same with SALib's own multi-process analysis on every core (what a user with several cores would turn on)
    cores = os.cpu_count() or 1
    parallel_times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        _salib_analyze_all(problem, Y, args.n_resamples, g_resample, show, processes=cores)
        parallel_times.append(time.perf_counter() - t)
    salib_parallel_s = salib_sample_s + model_vec_s + float(np.min(parallel_times))

    # --- row-wise SALib usage: the model row by row ----------------------------------------------------
    rows = X.shape[0] if args.row_wise_rows <= 0 else min(args.row_wise_rows, X.shape[0])
    t4 = time.perf_counter()
    Y_rows = np.empty((rows, Y.shape[1]))
    for i in tqdm(range(rows), desc="model row by row", disable=not show, mininterval=0.5):
        Y_rows[i] = model(X[i : i + 1])[0]
    model_rows_s = (time.perf_counter() - t4) * X.shape[0] / rows
    row_wise_s = salib_sample_s + model_rows_s + salib_analyze_s

    # --- agreement ----------------------------------------------------------------------------------
    y_diff = float(np.max(np.abs(Y[:rows] - Y_rows)))
    s1_ref = np.array([r["S1"] for r in ref])
    st_ref = np.array([r["ST"] for r in ref])
    conf_ref = np.array([np.r_[r["S1_conf"], r["ST_conf"]] for r in ref])
    varying = ~ours.constant  # SALib divides constant outputs by a zero or rounding-noise variance
    d_s1 = float(np.nanmax(np.abs(ours.S1 - s1_ref)[varying]))
    d_st = float(np.nanmax(np.abs(ours.ST - st_ref)[varying]))
    d_conf = float(np.nanmax(np.abs(np.concatenate([ours.S1_conf, ours.ST_conf], axis=1) - conf_ref)[varying]))
    agree = d_s1 <= 1e-10 and d_st <= 1e-10 and d_conf <= 1e-8 and y_diff <= 1e-12  # one BLAS call vs many: last-bit rounding

    result = {
        "n": n,
        "model_runs": int(X.shape[0]),
        "outputs": len(names),
        "n_resamples": args.n_resamples,
        "seconds": {
            "clustermodel_bootstrap_pipeline": ours_s,
            "clustermodel_replicate_8_designs_same_budget": rep_s,
            "salib_sample": salib_sample_s,
            "model_vectorised": model_vec_s,
            "model_row_by_row": model_rows_s,
            "salib_analyze_per_output": salib_analyze_s,
            "fair_salib_total": fair_s,
            "salib_parallel_total": salib_parallel_s,
            "repeats": {"clustermodel": ours_times, "salib_analyze": analyze_times, "salib_analyze_parallel": parallel_times},
            "row_wise_salib_total": row_wise_s,
        },
        "row_wise_rows_timed": rows,
        "ratio_fair": fair_s / ours_s,
        "ratio_salib_parallel": salib_parallel_s / ours_s,
        "ratio_fair_median": (salib_sample_s + model_vec_s + float(np.median(analyze_times))) / float(np.median(ours_times)),
        "cores": cores,
        "ratio_row_wise": row_wise_s / ours_s,
        "ratio_fair_replicate": fair_s / rep_s,
        "chunk_size": ours.chunk_size,
        "max_abs_diff": {"Y": y_diff, "S1": d_s1, "ST": d_st, "conf_half_width": d_conf},
        "constant_outputs": int(ours.constant.sum()),
        "salib_warnings": n_warnings,
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
    }
    extrapolated = " (extrapolated)" if rows < X.shape[0] else ""
    print()
    print(f"clustermodel   bootstrap, whole pipeline            {ours_s:9.3f} s  (chunk {ours.chunk_size} rows)")
    print(f"clustermodel   replicate, 8 designs of N/8          {rep_s:9.3f} s")
    print(f"SALib          sample                               {salib_sample_s:9.3f} s")
    print(f"               model, one vectorised call           {model_vec_s:9.3f} s")
    print(f"               model, row by row{extrapolated:17s}   {model_rows_s:9.3f} s")
    print(f"               analyze once per output              {salib_analyze_s:9.3f} s")
    print(f"speed ratio    fair SALib workflow / clustermodel: {result['ratio_fair']:.1f}x "
          f"(target >= 30x: {'met' if result['ratio_fair'] >= 30 else 'NOT met'}); replicate method: {result['ratio_fair_replicate']:.1f}x")
    print(f"               analyze per output, parallel=True on {cores} cores {salib_parallel_s - salib_sample_s - model_vec_s:9.3f} s")
    print(f"speed ratio    SALib parallel=True ({cores} cores) / clustermodel: {result['ratio_salib_parallel']:.1f}x (the fair baseline)")
    print(f"               medians over {args.repeats} repeats: single-process SALib / clustermodel {result['ratio_fair_median']:.1f}x")
    print(f"speed ratio    row-wise SALib usage / clustermodel: {result['ratio_row_wise']:.1f}x")
    print(f"agreement      max |dS1| = {d_s1:.2e}, max |dST| = {d_st:.2e} (required <= 1e-10), "
          f"max |d half-width| = {d_conf:.2e}, max |dY| = {y_diff:.2e}: {'OK' if agree else 'FAILED'}")
    print(f"               {result['constant_outputs']} constant output(s) left out of the comparison: SALib emitted "
          f"{n_warnings} warning(s); clustermodel reports exact zeros and a note")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
