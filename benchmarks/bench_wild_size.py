"""Benchmark: size of the clustered p-values in the paper's design, wild cluster bootstrap vs CR1.

The design is the paper's: its 19 regions with their cluster counts (from
data/clusters.csv) and the observed regional index (recomputed, Table 6) as the
regressor; the cluster index is simulated under no effect as
``sqrt(icc) a_region + sqrt(1 - icc) e_cluster``. Each simulated data set is
tested at nominal 5 % with the restricted wild cluster bootstrap (the p-value
the relationship stage reports) and with the CR1 t test (G - 1 df). The script
prints the rejection rates with their Monte Carlo standard errors and exits
non-zero when the wild bootstrap's size leaves [0.03, 0.07].

    .venv/bin/python benchmarks/bench_wild_size.py [--n-sim 4000] [--n-resamples 999] [--seed 2026]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from clustermodel.data import load_paper
from clustermodel.relationship import clustered_size_simulation
from clustermodel.scenarios import evaluate


def paper_design():
    study = load_paper()
    ev = evaluate(study)
    names, codes = np.unique(study.cluster_regions().astype(str), return_inverse=True)
    values = np.zeros(names.size)
    values[codes] = ev.region_index_of_cluster.values
    return names, values, np.bincount(codes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sim", type=int, default=4000, help="simulated data sets per setting")
    ap.add_argument("--n-resamples", type=int, default=999, help="wild bootstrap samples per data set")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--icc", type=float, nargs="+", default=[0.0, 0.5, 0.9], help="intra-region correlations to simulate")
    args = ap.parse_args()
    names, values, counts = paper_design()
    print(f"design: {names.size} regions, {counts.sum()} clusters, cluster counts {sorted(counts.tolist(), reverse=True)}")
    print(f"regressor: observed regional index, max {values.max():.2f} ({names[np.argmax(values)]}), median {np.median(values):.2f}")
    print(f"{args.n_sim} simulated data sets per row, {args.n_resamples} wild bootstrap samples each, nominal alpha 0.05\n")
    print(f"{'icc':>5} | {'wild (Webb) size':>18} | {'CR1 t size':>14} | time")
    print("------|--------------------|----------------|------")
    ok = True
    for k, icc in enumerate(args.icc):
        t = time.perf_counter()
        res = clustered_size_simulation(values, counts, n_sim=args.n_sim, n_resamples=args.n_resamples, icc=icc, rng=args.seed + k)
        dt = time.perf_counter() - t
        print(
            f"{icc:>5.2f} | {res['size_wild']:.4f} ± {res['mcse_wild']:.4f}   | {res['size_cr1']:.4f} ± {res['mcse_cr1']:.4f} | {dt:.1f} s"
        )
        ok &= 0.03 <= res["size_wild"] <= 0.07
    if not ok:
        raise SystemExit("the wild cluster bootstrap's size left [0.03, 0.07]")


if __name__ == "__main__":
    main()
