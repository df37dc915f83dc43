#!/usr/bin/env python3
"""Coverage study: do the Sobol' intervals cover the true indices as often as they claim?

Smooth outputs: the Ishigami function (3 factors) and the Sobol' G-function (8 factors,
a = 0, 0.5, 3, 9, 99, 99, 99, 99), whose S1 and ST are known analytically. For each of
``--seeds`` independent seeds and each base size N:

- ``replicate`` (the default method): R = ``--replicates`` scrambled designs of N rows,
  mean +/- t(R-1) sd / sqrt(R);
- ``bootstrap`` (SALib's): one design of ``--bootstrap-factor`` x N rows (a budget as close to
  R x N as a power of two allows), percentile interval over ``--n-resamples`` resamples.

For every index it records whether the nominal 95 % interval holds the analytic value, the
interval's width, and the spread of the point estimates over seeds (the width a calibrated
interval would have: 2 x 1.96 x sd over seeds).

0/1 outputs: thresholded Ishigami outputs 1[f(x) > c] with event probabilities from about 0.2
down to 0.001; their true indices come from one very large run of the replicate estimator
(``--reference-log2n``, ``--reference-replicates``), whose own interval is printed. Coverage
is reported against the expected number of events per design, 2 N p.

Prints tables and, with ``--json FILE``, writes every number. Usage::

    python benchmarks/bench_sobol_coverage.py [--seeds 200] [--log2n 8 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from clustermodel.sobol import (  # noqa: E402
    ISHIGAMI_PROBLEM,
    g_function,
    g_function_indices,
    g_function_problem,
    ishigami,
    ishigami_indices,
    sobol_indices,
)

#: Thresholds of the 0/1 outputs (Ishigami values range over about [-10.7, 17.9]).
THRESHOLDS = (8.0, 12.0, 14.0, 15.5, 16.5)


def _thresholded(X):
    y = ishigami(X)
    return np.column_stack([(y > c).astype(float) for c in THRESHOLDS])


def _run(f, problem, method, n, seed, args):
    if method == "replicate":
        return sobol_indices(f, problem, n=n, replicates=args.replicates, rng=seed, progress=False)
    return sobol_indices(
        f, problem, n=n * args.bootstrap_factor, method="bootstrap", n_resamples=args.n_resamples, rng=seed, progress=False
    )


def smooth_study(args) -> list:
    rows = []
    cases = [
        ("ishigami", ishigami, ISHIGAMI_PROBLEM, ishigami_indices()),
        ("g_function", g_function, g_function_problem(), g_function_indices()),
    ]
    for name, f, problem, exact in cases:
        for log2n in args.log2n:
            n = 2**log2n
            for method in ("replicate", "bootstrap"):
                t0 = time.perf_counter()
                est = {"S1": [], "ST": []}
                lo = {"S1": [], "ST": []}
                hi = {"S1": [], "ST": []}
                for seed in range(args.seeds):
                    r = _run(f, problem, method, n, seed, args)
                    for key in ("S1", "ST"):
                        est[key].append(getattr(r, key)[0])
                        lo[key].append(getattr(r, f"{key}_low")[0])
                        hi[key].append(getattr(r, f"{key}_high")[0])
                row = {
                    "function": name,
                    "method": method,
                    "n": n if method == "replicate" else n * args.bootstrap_factor,
                    "replicates": args.replicates if method == "replicate" else 1,
                    "model_runs": (args.replicates * n if method == "replicate" else n * args.bootstrap_factor) * (len(problem["names"]) + 2),
                    "seconds": time.perf_counter() - t0,
                }
                for key in ("S1", "ST"):
                    e, l_, h = np.array(est[key]), np.array(lo[key]), np.array(hi[key])
                    inside = (l_ <= exact[key]) & (exact[key] <= h)
                    width = h - l_
                    ideal = 2 * 1.959964 * e.std(axis=0, ddof=1)  # width of a calibrated interval
                    row[key] = {
                        "coverage": inside.mean(axis=0).tolist(),
                        "mean_width": width.mean(axis=0).tolist(),
                        "width_over_true_spread": (width.mean(axis=0) / np.where(ideal > 0, ideal, np.nan)).tolist(),
                        "bias": (e.mean(axis=0) - exact[key]).tolist(),
                        "sd_over_seeds": e.std(axis=0, ddof=1).tolist(),
                    }
                row["pooled_coverage"] = float(np.mean(row["S1"]["coverage"] + row["ST"]["coverage"]))
                rows.append(row)
                print(
                    f"{name:10s} {method:9s} N = {row['n']:6d} x {row['replicates']:2d}  pooled coverage "
                    f"{row['pooled_coverage']:.3f}  S1 cov {np.round(row['S1']['coverage'], 2).tolist()}  "
                    f"ST cov {np.round(row['ST']['coverage'], 2).tolist()}  ({row['seconds']:.0f} s)",
                    flush=True,
                )
    return rows


def width_ratios(rows, factor) -> list:
    """Bootstrap width / replicate width, and each method's width / the true spread, per case."""
    out = []
    for rep in (r for r in rows if r["method"] == "replicate"):
        boot = next(
            r for r in rows if r["method"] == "bootstrap" and r["function"] == rep["function"] and r["n"] == rep["n"] * factor
        )
        ratio = []
        over_b, over_r = [], []
        for key in ("S1", "ST"):
            wb, wr = np.array(boot[key]["mean_width"]), np.array(rep[key]["mean_width"])
            ok = wr > 1e-12
            ratio += list(wb[ok] / wr[ok])
            over_b += [x for x in boot[key]["width_over_true_spread"] if x == x]
            over_r += [x for x in rep[key]["width_over_true_spread"] if x == x]
        out.append(
            {
                "function": rep["function"],
                "n_replicate": rep["n"],
                "n_bootstrap": boot["n"],
                "bootstrap_over_replicate_width": {"median": float(np.median(ratio)), "min": float(np.min(ratio)), "max": float(np.max(ratio))},
                "bootstrap_width_over_true_spread": {"median": float(np.median(over_b)), "min": float(np.min(over_b)), "max": float(np.max(over_b))},
                "replicate_width_over_true_spread": {"median": float(np.median(over_r)), "min": float(np.min(over_r)), "max": float(np.max(over_r))},
            }
        )
    return out


def binary_study(args) -> dict:
    t0 = time.perf_counter()
    ref = sobol_indices(
        _thresholded, ISHIGAMI_PROBLEM, n=2**args.reference_log2n, replicates=args.reference_replicates, rng=987654321,
        memory_limit="2GiB", progress=True,
    )
    p = ref.output_mean
    print(
        f"reference run: N = {ref.n} x {ref.replicates} designs ({ref.model_runs} runs, {time.perf_counter() - t0:.0f} s); "
        f"event probabilities {np.round(p, 4).tolist()}; largest interval half-width S1 "
        f"{ref.S1_conf.max():.4f}, ST {ref.ST_conf.max():.4f}",
        flush=True,
    )
    out = {
        "thresholds": list(THRESHOLDS),
        "p": p.tolist(),
        "reference": {"n": ref.n, "replicates": ref.replicates, "S1": ref.S1.tolist(), "ST": ref.ST.tolist(),
                      "S1_half_width": ref.S1_conf.tolist(), "ST_half_width": ref.ST_conf.tolist()},
        "runs": [],
    }
    for log2n in args.binary_log2n:
        n = 2**log2n
        for method in ("replicate", "bootstrap"):
            inside, events, estimable = [], [], []
            for seed in range(args.seeds):
                r = _run(_thresholded, ISHIGAMI_PROBLEM, method, n, seed, args)
                cov = [
                    (getattr(r, f"{key}_low") <= getattr(ref, key)) & (getattr(ref, key) <= getattr(r, f"{key}_high"))
                    for key in ("S1", "ST")
                ]
                inside.append(np.concatenate(cov, axis=1))  # (outputs, 2D)
                events.append(r.events / r.replicates)
                estimable.append(r.estimable)
            inside = np.array(inside)  # (seeds, outputs, 2D)
            nn = n if method == "replicate" else n * args.bootstrap_factor
            row = {
                "method": method,
                "n": nn,
                "replicates": args.replicates if method == "replicate" else 1,
                "expected_events_per_design": (2 * nn * np.minimum(p, 1 - p)).tolist(),
                "mean_events_per_design": np.mean(events, axis=0).tolist(),
                "coverage": inside.mean(axis=(0, 2)).tolist(),
                "estimable_share": np.mean(estimable, axis=0).tolist(),
            }
            out["runs"].append(row)
            print(
                f"0/1 outputs {method:9s} N = {nn:6d}: events per design {np.round(row['expected_events_per_design'], 1).tolist()}  "
                f"coverage {np.round(row['coverage'], 2).tolist()}",
                flush=True,
            )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200, help="independent seeds per case (default 200)")
    parser.add_argument("--log2n", type=int, nargs="+", default=[8, 10], help="N = 2**log2n per design (default 8 10)")
    parser.add_argument("--replicates", type=int, default=10, help="designs of the replicate method (default 10)")
    parser.add_argument("--bootstrap-factor", type=int, default=8, help="the bootstrap's one design has this x N rows (default 8)")
    parser.add_argument("--n-resamples", type=int, default=100, help="bootstrap resamples (default 100)")
    parser.add_argument("--binary-log2n", type=int, nargs="*", default=[8, 10, 12], help="N of the 0/1 study (default 8 10 12)")
    parser.add_argument("--reference-log2n", type=int, default=18, help="N of the 0/1 reference run (default 18)")
    parser.add_argument("--reference-replicates", type=int, default=64, help="designs of the 0/1 reference run (default 64)")
    parser.add_argument("--json", type=Path, default=None, help="write every number to this JSON file")
    args = parser.parse_args(argv)

    smooth = smooth_study(args)
    ratios = width_ratios(smooth, args.bootstrap_factor)
    for r in ratios:
        print(
            f"{r['function']:10s} N = {r['n_replicate']} x {args.replicates} vs one design of {r['n_bootstrap']}: bootstrap width / "
            f"replicate width median {r['bootstrap_over_replicate_width']['median']:.1f} "
            f"({r['bootstrap_over_replicate_width']['min']:.1f}-{r['bootstrap_over_replicate_width']['max']:.1f}); "
            f"bootstrap width / true spread median {r['bootstrap_width_over_true_spread']['median']:.1f} "
            f"({r['bootstrap_width_over_true_spread']['min']:.1f}-{r['bootstrap_width_over_true_spread']['max']:.1f}); "
            f"replicate width / true spread median {r['replicate_width_over_true_spread']['median']:.2f}"
        )
    binary = binary_study(args) if args.binary_log2n else None
    rep = [r["pooled_coverage"] for r in smooth if r["method"] == "replicate"]
    ok = all(0.90 <= c <= 0.99 for c in rep)
    print(f"replicate intervals, smooth outputs: pooled coverage {min(rep):.3f}-{max(rep):.3f} (required 0.90-0.99): {'OK' if ok else 'FAILED'}")
    if args.json is not None:
        args.json.write_text(json.dumps({"seeds": args.seeds, "smooth": smooth, "width_ratios": ratios, "binary": binary}, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
