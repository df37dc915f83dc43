"""Benchmark: scoring 10^5 weight vectors in one vectorised call vs one call per vector.

Both sides run in this process on the same weights; the script checks they agree
and prints the speed ratio (the baseline is measured in the same run, so the
ratio is meaningful on a shared, noisy machine).

    .venv/bin/python benchmarks/bench_index.py [--n 100000] [--loop-sample 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from clustermodel import IndexSpec, PAPER_SPEC
from clustermodel.data import load_paper
from clustermodel.index import compute_index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="weight vectors in the batch")
    ap.add_argument("--loop-sample", type=int, default=2_000, help="vectors timed one by one (extrapolated to --n)")
    args = ap.parse_args()
    study = load_paper()
    spec = PAPER_SPEC.replace(aggregation="quadratic")
    w = np.random.default_rng(0).dirichlet(50 * study.weights.values, size=args.n)

    t0 = time.perf_counter()
    batch = compute_index(study.indicators, w, spec).values
    t_batch = time.perf_counter() - t0

    k = min(args.loop_sample, args.n)
    t0 = time.perf_counter()
    loop = np.stack([compute_index(study.indicators, w[i], spec).values for i in range(k)])
    t_loop = (time.perf_counter() - t0) * args.n / k

    err = float(np.max(np.abs(batch[:k] - loop)))
    print(f"vectorised: {args.n} weight vectors x 25 clusters in {t_batch:.3f} s")
    print(f"loop (one call per vector, {k} timed, extrapolated to {args.n}): {t_loop:.1f} s")
    print(f"max |difference| = {err:.2e}")
    print(f"speed ratio (loop / vectorised): {t_loop / t_batch:.0f}x")
    if err > 1e-12:
        raise SystemExit("batched and one-by-one results differ")


if __name__ == "__main__":
    main()
