#!/usr/bin/env python3
"""Benchmark: clustermodel's vectorised Sobol' run against straightforward SALib usage.

On the paper's data (placement 'quadratic', Dirichlet weights, 82 outputs, 4 factors) and on one
identical Saltelli design of N = 2**14 base rows (98 304 model runs) with 100 bootstrap resamples:

- straightforward SALib usage: the model applied row by row (one call per design row), then
  ``SALib.analyze.sobol.analyze`` once per output column, with the same bootstrap seed;
- clustermodel: the model applied to all rows in one vectorised call, then
  ``clustermodel.sensitivity.sobol_analyze`` for all outputs at once (bootstrap included).

Checks that the point estimates agree to 1e-10 (and SALib's half-widths to 1e-8), then prints the
timings and the speed ratio. The target is a ratio of at least 25. Exit status 1 if the estimates
disagree. Usage::

    python benchmarks/bench_sobol.py [--log2n 14] [--n-resamples 100] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
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
from clustermodel.scenarios import evaluate  # noqa: E402
from clustermodel.sensitivity import sobol_analyze, sobol_sample, weight_model, weights_from_unit  # noqa: E402

SAMPLE_SEED = 20261129
RESAMPLE_SEED = 20261130


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log2n", type=int, default=14, help="N = 2**log2n base rows (default 14)")
    parser.add_argument("--n-resamples", type=int, default=100, help="bootstrap resamples (default 100)")
    parser.add_argument("--evaluate-rows", type=int, default=200, help="rows on which to time the labelled evaluate() per row, for an extrapolated figure (0 = skip)")
    parser.add_argument("--json", type=Path, default=None, help="also write the timings to this JSON file")
    args = parser.parse_args(argv)
    show = sys.stderr.isatty()

    study = load_paper()
    spec = PAPER_SPEC.replace(aggregation="quadratic")
    model, problem = weight_model(study, spec)
    n = 2**args.log2n
    X, _ = sobol_sample(problem, n, rng=SAMPLE_SEED)
    names = model.output_meta["name"]
    print(f"design: N = {n}, D = {problem['num_vars']}, {X.shape[0]} model runs, {len(names)} outputs, "
          f"{args.n_resamples} bootstrap resamples (same samples and resample seed for both)", flush=True)

    # --- clustermodel: one vectorised model call, one analysis of all outputs ---------------------
    t0 = time.perf_counter()
    Y = model(X)
    t1 = time.perf_counter()
    ours = sobol_analyze(problem, Y, n_resamples=args.n_resamples, rng=RESAMPLE_SEED, output_names=names)
    t2 = time.perf_counter()
    fast_model, fast_analysis = t1 - t0, t2 - t1

    # --- straightforward SALib usage: model row by row, analyze once per output -------------------
    from SALib.analyze import sobol as salib_sobol

    t3 = time.perf_counter()
    Y_rows = np.empty_like(Y)
    for i in tqdm(range(X.shape[0]), desc="baseline: model row by row", disable=not show, mininterval=0.5):
        Y_rows[i] = model(X[i : i + 1])[0]
    t4 = time.perf_counter()
    ref = []
    n_warnings = 0
    for k in tqdm(range(Y_rows.shape[1]), desc="baseline: SALib analyze per output", disable=not show):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ref.append(salib_sobol.analyze(problem, Y_rows[:, k], calc_second_order=False, num_resamples=args.n_resamples, seed=RESAMPLE_SEED))
        n_warnings += len(caught)
    t5 = time.perf_counter()
    slow_model, slow_analysis = t4 - t3, t5 - t4

    # --- agreement --------------------------------------------------------------------------------
    y_diff = float(np.max(np.abs(Y - Y_rows)))
    s1_ref = np.array([r["S1"] for r in ref])
    st_ref = np.array([r["ST"] for r in ref])
    s1c_ref = np.array([r["S1_conf"] for r in ref])
    stc_ref = np.array([r["ST_conf"] for r in ref])
    d_s1 = float(np.nanmax(np.abs(ours.S1 - s1_ref)))
    d_st = float(np.nanmax(np.abs(ours.ST - st_ref)))
    d_conf = float(max(np.nanmax(np.abs(ours.S1_conf - s1c_ref)), np.nanmax(np.abs(ours.ST_conf - stc_ref))))
    salib_nan = int(np.isnan(s1_ref).sum() + np.isnan(st_ref).sum())
    agree = d_s1 <= 1e-10 and d_st <= 1e-10 and d_conf <= 1e-8 and salib_nan == 0

    fast, slow = fast_model + fast_analysis, slow_model + slow_analysis
    ratio = slow / fast
    result = {
        "n": n,
        "model_runs": int(X.shape[0]),
        "outputs": len(names),
        "n_resamples": args.n_resamples,
        "seconds": {
            "clustermodel_model_vectorised": fast_model,
            "clustermodel_analysis_all_outputs": fast_analysis,
            "salib_model_row_by_row": slow_model,
            "salib_analyze_per_output": slow_analysis,
        },
        "ratio_total": ratio,
        "ratio_model": slow_model / fast_model,
        "ratio_analysis": slow_analysis / fast_analysis,
        "max_abs_diff": {"Y": y_diff, "S1": d_s1, "ST": d_st, "conf_half_width": d_conf},
        "constant_outputs": int(ours.constant.sum()),
        "salib_warnings": n_warnings,
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
    }

    if args.evaluate_rows > 0:
        rows = min(args.evaluate_rows, X.shape[0])
        W = weights_from_unit(X[:rows], study.weights.values)
        t6 = time.perf_counter()
        for i in range(rows):
            evaluate(study, spec, weights=W[i])
        per_row = (time.perf_counter() - t6) / rows
        result["labelled_evaluate_per_row_seconds"] = per_row
        result["labelled_evaluate_all_rows_extrapolated_seconds"] = per_row * X.shape[0]

    print()
    print(f"clustermodel   model (one vectorised call)      {fast_model:9.3f} s")
    print(f"clustermodel   analysis (all outputs at once)   {fast_analysis:9.3f} s")
    print(f"SALib usage    model (row by row)               {slow_model:9.3f} s")
    print(f"SALib usage    analyze (once per output)        {slow_analysis:9.3f} s")
    print(f"speed ratio    model {result['ratio_model']:.1f}x, analysis {result['ratio_analysis']:.1f}x, "
          f"total {ratio:.1f}x (target >= 25x: {'met' if ratio >= 25 else 'NOT met'})")
    print(f"agreement      max |dS1| = {d_s1:.2e}, max |dST| = {d_st:.2e} (required <= 1e-10), "
          f"max |d half-width| = {d_conf:.2e}, max |dY| = {y_diff:.2e}: {'OK' if agree else 'FAILED'}")
    print(f"               {result['constant_outputs']} constant output(s): SALib emitted {n_warnings} warning(s) "
          "on them and on the resamples; clustermodel reports exact zeros and a note")
    if "labelled_evaluate_per_row_seconds" in result:
        print(f"for scale      the labelled evaluate() row by row would take about "
              f"{result['labelled_evaluate_all_rows_extrapolated_seconds']:.0f} s for all rows "
              f"(timed on {min(args.evaluate_rows, X.shape[0])} rows)")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
